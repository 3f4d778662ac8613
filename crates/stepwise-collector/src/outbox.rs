//! The outbox: the collector's local SQLite file (`<data dir>/collector.sqlite`, created 0600
//! because it holds upload tokens and band keys). It owns the paired devices, every minute and
//! sleep episode read from a band until the server has confirmed it, and each band's sync
//! cursor.
//!
//! Guarantees:
//! - A fetch round's minutes, the episodes derived from them and the moved cursor are written
//!   in ONE transaction: the cursor never passes data that is not stored.
//! - Storing the same minutes again duplicates nothing (upsert by device and minute); a minute
//!   whose values changed is sent again.
//! - InfiniTime step deltas ADD to a minute and mark it for sending again.
//! - Rows are marked uploaded only after the server confirmed them, and only if they did not
//!   change meanwhile.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool, Transaction};
use stepwise_wearables::device::Position;
use stepwise_wearables::records::{
    Activity, MinuteRecord, SleepEpisode, SleepStage, sleep_episodes,
};

use crate::secret::{HuamiKey, Secret};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The outbox's file name inside the data directory.
pub const FILE_NAME: &str = "collector.sqlite";

/// How far before a round's earliest new minute sleep episodes are derived again (a night that
/// began before the round can still grow).
pub const SLEEP_LOOKBACK: TimeDelta = TimeDelta::hours(36);

/// Rows bound per INSERT statement (6 values each; SQLite allows 32,766).
const ROWS_PER_INSERT: usize = 500;

/// An outbox failure.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The file or its directory could not be created or opened.
    #[error("cannot open the outbox {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// SQLite refused.
    #[error("the outbox database: {0}")]
    Database(#[from] sqlx::Error),
    /// Its migrations could not be applied.
    #[error("the outbox database could not be prepared: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value that makes no sense (edited by hand?).
    #[error("the outbox holds an invalid {what}: {detail}")]
    Corrupt {
        /// Which value.
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
}

/// An outbox result.
pub type OutboxResult<T> = Result<T, OutboxError>;

/// A band paired with a server, as stored.
#[derive(Debug, Clone)]
pub struct PairedDevice {
    /// The outbox's id for it.
    pub id: i64,
    /// Its Bluetooth address (`AA:BB:CC:DD:EE:FF`).
    pub address: String,
    /// The server's device kind (`DeviceKind::as_str`, e.g. `mi-band-5`).
    pub kind: String,
    /// Its name, as advertised when paired.
    pub name: String,
    /// The Stepwise server it uploads to.
    pub server_url: String,
    /// The upload token.
    pub token: Secret,
    /// The Huami auth key (Huami bands only).
    pub huami_key: Option<HuamiKey>,
    /// The zone the band's clock is set to.
    pub zone: Tz,
    /// Where the next sync starts, as the device's protocol wrote it (opaque here).
    pub position: Option<Position>,
    /// When it was paired.
    pub paired_at: DateTime<Utc>,
    /// When it last synced.
    pub last_sync_at: Option<DateTime<Utc>>,
    /// A device found in an import and not paired here: the import pairing whose token its
    /// uploads use (they name this device as their source).
    pub importer_id: Option<i64>,
}

impl PairedDevice {
    /// A band this data directory talks to over Bluetooth: not the import pairing
    /// ([`IMPORTER_KIND`](stepwise_imports::IMPORTER_KIND)) nor a device found in an import.
    pub fn is_band(&self) -> bool {
        self.importer_id.is_none() && self.kind != stepwise_imports::IMPORTER_KIND
    }
}

/// What `stepwise band pair` stores.
#[derive(Debug, Clone)]
pub struct NewPairing {
    /// Bluetooth address.
    pub address: String,
    /// Server device kind.
    pub kind: String,
    /// Advertised name.
    pub name: String,
    /// The server.
    pub server_url: String,
    /// The upload token the server issued.
    pub token: Secret,
    /// Huami only: the auth key.
    pub huami_key: Option<HuamiKey>,
    /// The band's zone.
    pub zone: Tz,
}

/// What one stored round added.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stored {
    /// Minutes written (new, or changed).
    pub minutes: u64,
    /// Their steps (InfiniTime: the steps added).
    pub steps: u64,
    /// Sleep episodes written (new, or changed: e.g. a night that grew).
    pub episodes: u64,
    /// Minutes asleep in those episodes (awake stretches excluded).
    pub sleep_minutes: u64,
}

impl std::ops::AddAssign for Stored {
    fn add_assign(&mut self, other: Stored) {
        self.minutes += other.minutes;
        self.steps += other.steps;
        self.episodes += other.episodes;
        self.sleep_minutes += other.sleep_minutes;
    }
}

/// One stored minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredMinute {
    /// The minute (UTC, whole minute).
    pub minute: DateTime<Utc>,
    /// Steps in it.
    pub steps: u32,
    /// Heart rate, when measured.
    pub heart_rate: Option<u8>,
    /// The steps were spread over this minute (a watch's count change over a longer span),
    /// not seen in it.
    pub estimated: bool,
}

/// What waits for the server: a slice of the oldest unconfirmed rows.
#[derive(Debug, Clone, Default)]
pub struct Pending {
    /// Minutes, oldest first.
    pub minutes: Vec<StoredMinute>,
    /// Sleep episodes, oldest first.
    pub episodes: Vec<SleepEpisode>,
}

impl Pending {
    /// Nothing to send.
    pub fn is_empty(&self) -> bool {
        self.minutes.is_empty() && self.episodes.is_empty()
    }
}

/// How much waits for the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Waiting {
    /// Minutes not yet confirmed.
    pub minutes: u64,
    /// Sleep episodes not yet confirmed.
    pub episodes: u64,
}

/// The outbox.
#[derive(Debug, Clone)]
pub struct Outbox {
    pool: SqlitePool,
    path: PathBuf,
}

impl Outbox {
    /// Opens (creating if missing: directory 0700, file 0600) `<dir>/collector.sqlite`.
    pub async fn open(dir: &Path) -> OutboxResult<Outbox> {
        let path = dir.join(FILE_NAME);
        let io = |source| OutboxError::Open {
            path: path.clone(),
            source,
        };
        create_private_dir(dir).map_err(io)?;
        create_private_file(&path).map_err(io)?;
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(5))
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Outbox { pool, path })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn begin(&self) -> OutboxResult<Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// Stores a pairing. Pairing a band again replaces its server, token, key, name and zone;
    /// its stored data stays (and is sent again when the server changed).
    pub async fn pair(&self, new: NewPairing, now: DateTime<Utc>) -> OutboxResult<PairedDevice> {
        let mut tx = self.begin().await?;
        let old: Option<(i64, String)> =
            sqlx::query_as("SELECT id, server_url FROM devices WHERE address = ?")
                .bind(&new.address)
                .fetch_optional(&mut *tx)
                .await?;
        let key = new.huami_key.map(|k| k.0.to_vec());
        let id =
            match old {
                Some((id, server_url)) => {
                    sqlx::query(
                        "UPDATE devices SET kind = ?, name = ?, server_url = ?, token = ?, \
                     huami_key = ?, zone = ?, paired_at = ? WHERE id = ?",
                    )
                    .bind(&new.kind)
                    .bind(&new.name)
                    .bind(&new.server_url)
                    .bind(new.token.expose())
                    .bind(key)
                    .bind(new.zone.name())
                    .bind(now.timestamp())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    if server_url != new.server_url {
                        sqlx::query("UPDATE minutes SET uploaded = 0 WHERE device_id = ?")
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query("UPDATE sleep_episodes SET uploaded = 0 WHERE device_id = ?")
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    id
                }
                None => sqlx::query_scalar(
                    "INSERT INTO devices (address, kind, name, server_url, token, huami_key, zone, \
                 paired_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                )
                .bind(&new.address)
                .bind(&new.kind)
                .bind(&new.name)
                .bind(&new.server_url)
                .bind(new.token.expose())
                .bind(key)
                .bind(new.zone.name())
                .bind(now.timestamp())
                .fetch_one(&mut *tx)
                .await?,
            };
        tx.commit().await?;
        self.device_by_id(id).await
    }

    /// Keeps the upload token the server gave the band on renewal (the old one is kept by
    /// the server until this one is first used).
    pub async fn replace_token(&self, device_id: i64, token: &Secret) -> OutboxResult<()> {
        sqlx::query("UPDATE devices SET token = ? WHERE id = ?")
            .bind(token.expose())
            .bind(device_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every paired band, in pairing order.
    pub async fn devices(&self) -> OutboxResult<Vec<PairedDevice>> {
        let rows = sqlx::query("SELECT * FROM devices ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(device_from_row).collect()
    }

    /// The paired band with this address (case-insensitive).
    pub async fn device(&self, address: &str) -> OutboxResult<Option<PairedDevice>> {
        let row = sqlx::query("SELECT * FROM devices WHERE upper(address) = upper(?)")
            .bind(address)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(device_from_row).transpose()
    }

    /// One paired band, by the outbox's id.
    pub async fn device_by_id(&self, id: i64) -> OutboxResult<PairedDevice> {
        let row = sqlx::query("SELECT * FROM devices WHERE id = ?")
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        device_from_row(&row)
    }

    /// Stores one complete round of a band's minutes and moves its position, in one
    /// transaction; then derives the sleep episodes around the new minutes (from
    /// [`SLEEP_LOOKBACK`] before the earliest) and upserts them keyed by start.
    pub async fn store_round(
        &self,
        device_id: i64,
        records: &[MinuteRecord],
        position: Option<&Position>,
    ) -> OutboxResult<Stored> {
        let mut tx = self.begin().await?;
        let mut stored = Stored::default();
        for chunk in records.chunks(ROWS_PER_INSERT) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO minutes (device_id, minute, steps, heart_rate, activity, uploaded) ",
            );
            insert.push_values(chunk, |mut row, r| {
                row.push_bind(device_id)
                    .push_bind(r.minute.timestamp())
                    .push_bind(i64::from(r.steps))
                    .push_bind(r.heart_rate.map(i64::from))
                    .push_bind(activity_code(r.activity))
                    .push_bind(0_i64);
            });
            insert.push(
                " ON CONFLICT (device_id, minute) DO UPDATE SET steps = excluded.steps, \
                 heart_rate = excluded.heart_rate, activity = excluded.activity, uploaded = 0 \
                 WHERE steps IS NOT excluded.steps OR heart_rate IS NOT excluded.heart_rate \
                 OR activity IS NOT excluded.activity",
            );
            stored.minutes += insert.build().execute(&mut *tx).await?.rows_affected();
        }
        stored.steps = records.iter().map(|r| u64::from(r.steps)).sum();
        if let Some(position) = position {
            set_position(&mut tx, device_id, position).await?;
        }
        if let Some(earliest) = records.iter().map(|r| r.minute).min() {
            let (episodes, minutes) = derive_sleep(&mut tx, device_id, earliest).await?;
            stored.episodes = episodes;
            stored.sleep_minutes = minutes;
        }
        tx.commit().await?;
        Ok(stored)
    }

    /// Moves a band's position on its own (e.g. once every PAMS session is stored).
    pub async fn set_position(&self, device_id: i64, position: &Position) -> OutboxResult<()> {
        let mut tx = self.begin().await?;
        set_position(&mut tx, device_id, position).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds InfiniTime step deltas to their minutes (marking them for sending again) and
    /// records the position they lead to, in one transaction.
    /// `estimated`: the steps were spread over the minutes, not seen in each; a minute that
    /// ever held estimated steps stays estimated.
    pub async fn add_steps(
        &self,
        device_id: i64,
        minutes: &[(DateTime<Utc>, u32)],
        estimated: bool,
        position: &Position,
    ) -> OutboxResult<Stored> {
        let mut tx = self.begin().await?;
        let mut stored = Stored::default();
        for &(minute, steps) in minutes {
            sqlx::query(
                "INSERT INTO minutes \
                 (device_id, minute, steps, heart_rate, activity, uploaded, estimated) \
                 VALUES (?, ?, ?, NULL, ?, 0, ?) ON CONFLICT (device_id, minute) DO UPDATE SET \
                 steps = steps + excluded.steps, uploaded = 0, \
                 estimated = MAX(estimated, excluded.estimated)",
            )
            .bind(device_id)
            .bind(minute.timestamp())
            .bind(i64::from(steps))
            .bind(activity_code(if steps > 0 {
                Activity::Walking
            } else {
                Activity::Other
            }))
            .bind(i64::from(estimated))
            .execute(&mut *tx)
            .await?;
            stored.minutes += 1;
            stored.steps += u64::from(steps);
        }
        set_position(&mut tx, device_id, position).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// The device an import stores `source`'s data under: the band of that address when one is
    /// paired here (its data goes with its own token), else a device of the import pairing
    /// `importer` (added the first time, renamed when the export names it anew).
    pub async fn import_source(
        &self,
        importer: &PairedDevice,
        kind: &str,
        address: &str,
        name: &str,
        now: DateTime<Utc>,
    ) -> OutboxResult<PairedDevice> {
        if let Some(paired) = self.device(address).await?
            && paired.importer_id.is_none()
            && paired.id != importer.id
        {
            return Ok(paired);
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO devices (address, kind, name, server_url, token, zone, paired_at, \
             importer_id) VALUES (?, ?, ?, ?, '', ?, ?, ?) ON CONFLICT (address) DO UPDATE SET \
             name = excluded.name, server_url = excluded.server_url, \
             importer_id = excluded.importer_id RETURNING id",
        )
        .bind(address)
        .bind(kind)
        .bind(name)
        .bind(&importer.server_url)
        .bind(importer.zone.name())
        .bind(now.timestamp())
        .bind(importer.id)
        .fetch_one(&self.pool)
        .await?;
        self.device_by_id(id).await
    }

    /// Stores an import's minutes and sleep episodes of one device in one transaction: a
    /// minute or episode already stored with the same values is left as it is (and not sent
    /// again); a changed one replaces it and goes again. A minute's activity, when a band
    /// stored it, is kept.
    pub async fn store_import(
        &self,
        device_id: i64,
        minutes: &[StoredMinute],
        episodes: &[SleepEpisode],
    ) -> OutboxResult<Stored> {
        let mut tx = self.begin().await?;
        let mut stored = Stored::default();
        for chunk in minutes.chunks(ROWS_PER_INSERT) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO minutes \
                 (device_id, minute, steps, heart_rate, activity, uploaded, estimated) ",
            );
            insert.push_values(chunk, |mut row, m| {
                row.push_bind(device_id)
                    .push_bind(m.minute.timestamp())
                    .push_bind(i64::from(m.steps))
                    .push_bind(m.heart_rate.map(i64::from))
                    .push_bind(activity_code(if m.steps > 0 {
                        Activity::Walking
                    } else {
                        Activity::Other
                    }))
                    .push_bind(0_i64)
                    .push_bind(i64::from(m.estimated));
            });
            insert.push(
                " ON CONFLICT (device_id, minute) DO UPDATE SET steps = excluded.steps, \
                 heart_rate = excluded.heart_rate, estimated = excluded.estimated, uploaded = 0 \
                 WHERE steps IS NOT excluded.steps OR heart_rate IS NOT excluded.heart_rate \
                 OR estimated IS NOT excluded.estimated",
            );
            stored.minutes += insert.build().execute(&mut *tx).await?.rows_affected();
        }
        stored.steps = minutes.iter().map(|m| u64::from(m.steps)).sum();
        for e in episodes {
            let written = upsert_episode(&mut tx, device_id, e).await?;
            stored.episodes += written;
            if written > 0 && e.stage != SleepStage::Awake {
                stored.sleep_minutes += u64::try_from((e.end - e.start).num_minutes()).unwrap_or(0);
            }
        }
        tx.commit().await?;
        Ok(stored)
    }

    /// Notes that a band synced at `now`.
    pub async fn mark_synced(&self, device_id: i64, now: DateTime<Utc>) -> OutboxResult<()> {
        sqlx::query("UPDATE devices SET last_sync_at = ? WHERE id = ?")
            .bind(now.timestamp())
            .bind(device_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The oldest unconfirmed rows of a band: at most `max_minutes` minutes, and the episodes
    /// that start before the last of them (all of them when no minute is left behind), at most
    /// `max_episodes`.
    pub async fn pending(
        &self,
        device_id: i64,
        max_minutes: usize,
        max_episodes: usize,
    ) -> OutboxResult<Pending> {
        let rows = sqlx::query(
            "SELECT minute, steps, heart_rate, estimated FROM minutes \
             WHERE device_id = ? AND uploaded = 0 ORDER BY minute LIMIT ?",
        )
        .bind(device_id)
        .bind(i64::try_from(max_minutes + 1).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        let mut minutes = rows
            .iter()
            .map(|row| {
                Ok(StoredMinute {
                    minute: instant("minute", row.try_get("minute")?)?,
                    steps: u32::try_from(row.try_get::<i64, _>("steps")?).unwrap_or(0),
                    heart_rate: row
                        .try_get::<Option<i64>, _>("heart_rate")?
                        .and_then(|hr| u8::try_from(hr).ok()),
                    estimated: row.try_get::<i64, _>("estimated")? != 0,
                })
            })
            .collect::<OutboxResult<Vec<_>>>()?;
        let more_minutes = minutes.len() > max_minutes;
        minutes.truncate(max_minutes);
        let episode_limit = match (more_minutes, minutes.last()) {
            (true, Some(last)) => last.minute.timestamp(),
            _ => i64::MAX,
        };
        let rows = sqlx::query(
            "SELECT start, end, stage FROM sleep_episodes WHERE device_id = ? AND uploaded = 0 \
             AND start <= ? ORDER BY start LIMIT ?",
        )
        .bind(device_id)
        .bind(episode_limit)
        .bind(i64::try_from(max_episodes).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        let episodes = rows
            .iter()
            .map(|row| {
                Ok(SleepEpisode {
                    start: instant("episode start", row.try_get("start")?)?,
                    end: instant("episode end", row.try_get("end")?)?,
                    stage: stage_from_str(row.try_get("stage")?)?,
                })
            })
            .collect::<OutboxResult<Vec<_>>>()?;
        Ok(Pending { minutes, episodes })
    }

    /// Marks what the server confirmed as uploaded — each row only if it still holds the
    /// values that were sent (a minute that grew meanwhile goes again).
    pub async fn mark_uploaded(&self, device_id: i64, sent: &Pending) -> OutboxResult<()> {
        let mut tx = self.begin().await?;
        for chunk in sent.minutes.chunks(ROWS_PER_INSERT) {
            let mut update = QueryBuilder::<Sqlite>::new(
                "UPDATE minutes SET uploaded = 1 FROM (SELECT NULL AS minute, NULL AS steps, \
                 NULL AS heart_rate WHERE 0 UNION ALL ",
            );
            update.push_values(chunk, |mut row, m| {
                row.push_bind(m.minute.timestamp())
                    .push_bind(i64::from(m.steps))
                    .push_bind(m.heart_rate.map(i64::from));
            });
            update.push(") AS sent WHERE minutes.device_id = ");
            update.push_bind(device_id);
            update.push(
                " AND minutes.minute = sent.minute AND minutes.steps = sent.steps \
                 AND minutes.heart_rate IS sent.heart_rate",
            );
            update.build().execute(&mut *tx).await?;
        }
        for e in &sent.episodes {
            sqlx::query(
                "UPDATE sleep_episodes SET uploaded = 1 WHERE device_id = ? AND start = ? \
                 AND end = ? AND stage = ?",
            )
            .bind(device_id)
            .bind(e.start.timestamp())
            .bind(e.end.timestamp())
            .bind(e.stage.as_str())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Gives up on unconfirmed rows from before `cutoff` (the server refuses data older than
    /// 90 days: they would block every later upload). Returns how many minutes and episodes
    /// were given up; they stay in the file, marked `uploaded = 2`.
    pub async fn expire(&self, device_id: i64, cutoff: DateTime<Utc>) -> OutboxResult<Waiting> {
        let mut tx = self.begin().await?;
        let minutes = sqlx::query(
            "UPDATE minutes SET uploaded = 2 WHERE device_id = ? AND uploaded = 0 AND minute < ?",
        )
        .bind(device_id)
        .bind(cutoff.timestamp())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let episodes = sqlx::query(
            "UPDATE sleep_episodes SET uploaded = 2 WHERE device_id = ? AND uploaded = 0 \
             AND start < ?",
        )
        .bind(device_id)
        .bind(cutoff.timestamp())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(Waiting { minutes, episodes })
    }

    /// How much of a band's data waits for the server.
    pub async fn waiting(&self, device_id: i64) -> OutboxResult<Waiting> {
        let (minutes, episodes): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM minutes WHERE device_id = ?1 AND uploaded = 0), \
                    (SELECT count(*) FROM sleep_episodes WHERE device_id = ?1 AND uploaded = 0)",
        )
        .bind(device_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(Waiting {
            minutes: u64::try_from(minutes).unwrap_or(0),
            episodes: u64::try_from(episodes).unwrap_or(0),
        })
    }

    /// A band's stored minutes in `[from, to)`, oldest first (for reports and tests).
    pub async fn minutes(
        &self,
        device_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> OutboxResult<Vec<MinuteRecord>> {
        let rows = sqlx::query(
            "SELECT minute, steps, heart_rate, activity FROM minutes \
             WHERE device_id = ? AND minute >= ? AND minute < ? ORDER BY minute",
        )
        .bind(device_id)
        .bind(from.timestamp())
        .bind(to.timestamp())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(record_from_row).collect()
    }

    /// A band's stored sleep episodes, oldest first.
    pub async fn episodes(&self, device_id: i64) -> OutboxResult<Vec<SleepEpisode>> {
        let rows = sqlx::query(
            "SELECT start, end, stage FROM sleep_episodes WHERE device_id = ? ORDER BY start",
        )
        .bind(device_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SleepEpisode {
                    start: instant("episode start", row.try_get("start")?)?,
                    end: instant("episode end", row.try_get("end")?)?,
                    stage: stage_from_str(row.try_get("stage")?)?,
                })
            })
            .collect()
    }

    /// Closes the file.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Stores a sleep episode keyed by its start; one stored with the same values is left as it
/// is (and not sent again). Returns the rows written (0 or 1).
async fn upsert_episode(
    tx: &mut Transaction<'static, Sqlite>,
    device_id: i64,
    episode: &SleepEpisode,
) -> OutboxResult<u64> {
    Ok(sqlx::query(
        "INSERT INTO sleep_episodes (device_id, start, end, stage, uploaded) \
         VALUES (?, ?, ?, ?, 0) ON CONFLICT (device_id, start) DO UPDATE SET \
         end = excluded.end, stage = excluded.stage, uploaded = 0 \
         WHERE end IS NOT excluded.end OR stage IS NOT excluded.stage",
    )
    .bind(device_id)
    .bind(episode.start.timestamp())
    .bind(episode.end.timestamp())
    .bind(episode.stage.as_str())
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

async fn set_position(
    tx: &mut Transaction<'static, Sqlite>,
    device_id: i64,
    position: &Position,
) -> OutboxResult<()> {
    sqlx::query("UPDATE devices SET position = ? WHERE id = ?")
        .bind(&position.0)
        .bind(device_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Derives the episodes of the stored minutes from [`SLEEP_LOOKBACK`] before `earliest_new`
/// on and upserts them; returns how many were new or changed, and their minutes asleep.
async fn derive_sleep(
    tx: &mut Transaction<'static, Sqlite>,
    device_id: i64,
    earliest_new: DateTime<Utc>,
) -> OutboxResult<(u64, u64)> {
    let window_start = earliest_new - SLEEP_LOOKBACK;
    let rows = sqlx::query(
        "SELECT minute, steps, heart_rate, activity FROM minutes \
         WHERE device_id = ? AND minute >= ? ORDER BY minute",
    )
    .bind(device_id)
    .bind(window_start.timestamp())
    .fetch_all(&mut **tx)
    .await?;
    let records = rows
        .iter()
        .map(record_from_row)
        .collect::<OutboxResult<Vec<_>>>()?;
    let (mut changed, mut asleep) = (0, 0);
    for episode in sleep_episodes(&records) {
        // A run cut by the window's edge was derived whole by an earlier round.
        if episode.start <= window_start {
            continue;
        }
        let written = upsert_episode(tx, device_id, &episode).await?;
        if written > 0 {
            changed += 1;
            if episode.stage != SleepStage::Awake {
                asleep += u64::try_from((episode.end - episode.start).num_minutes()).unwrap_or(0);
            }
        }
    }
    Ok((changed, asleep))
}

fn record_from_row(row: &sqlx::sqlite::SqliteRow) -> OutboxResult<MinuteRecord> {
    Ok(MinuteRecord {
        minute: instant("minute", row.try_get("minute")?)?,
        steps: u16::try_from(row.try_get::<i64, _>("steps")?).unwrap_or(u16::MAX),
        heart_rate: row
            .try_get::<Option<i64>, _>("heart_rate")?
            .and_then(|hr| u8::try_from(hr).ok()),
        activity: activity_from_code(row.try_get("activity")?),
    })
}

fn device_from_row(row: &sqlx::sqlite::SqliteRow) -> OutboxResult<PairedDevice> {
    let zone: String = row.try_get("zone")?;
    let zone = Tz::from_str(&zone).map_err(|_| OutboxError::Corrupt {
        what: "time zone",
        detail: zone.clone(),
    })?;
    let huami_key = row
        .try_get::<Option<Vec<u8>>, _>("huami_key")?
        .map(|bytes| {
            <[u8; 16]>::try_from(bytes.as_slice())
                .map(HuamiKey)
                .map_err(|_| OutboxError::Corrupt {
                    what: "Huami key",
                    detail: format!("{} bytes instead of 16", bytes.len()),
                })
        })
        .transpose()?;
    Ok(PairedDevice {
        id: row.try_get("id")?,
        address: row.try_get("address")?,
        kind: row.try_get("kind")?,
        name: row.try_get("name")?,
        server_url: row.try_get("server_url")?,
        token: Secret::new(row.try_get::<String, _>("token")?),
        huami_key,
        zone,
        position: row.try_get::<Option<String>, _>("position")?.map(Position),
        paired_at: instant("pairing time", row.try_get("paired_at")?)?,
        importer_id: row.try_get("importer_id")?,
        last_sync_at: row
            .try_get::<Option<i64>, _>("last_sync_at")?
            .map(|c| instant("last sync", c))
            .transpose()?,
    })
}

fn instant(what: &'static str, seconds: i64) -> OutboxResult<DateTime<Utc>> {
    DateTime::from_timestamp(seconds, 0).ok_or(OutboxError::Corrupt {
        what,
        detail: format!("{seconds} is not an instant"),
    })
}

fn stage_from_str(stage: String) -> OutboxResult<SleepStage> {
    SleepStage::ALL
        .into_iter()
        .find(|s| s.as_str() == stage)
        .ok_or(OutboxError::Corrupt {
            what: "sleep stage",
            detail: stage,
        })
}

/// The outbox's own code for an activity (stable: it is stored).
fn activity_code(activity: Activity) -> i64 {
    match activity {
        Activity::Walking => 1,
        Activity::Running => 2,
        Activity::Cycling => 3,
        Activity::Other => 4,
        Activity::NotWorn => 5,
        Activity::Charging => 6,
        Activity::LightSleep => 7,
        Activity::DeepSleep => 8,
        Activity::RemSleep => 9,
        Activity::Awake => 10,
        Activity::Asleep => 11,
        Activity::Unknown(code) => 256 + i64::from(code),
    }
}

fn activity_from_code(code: i64) -> Activity {
    match code {
        1 => Activity::Walking,
        2 => Activity::Running,
        3 => Activity::Cycling,
        5 => Activity::NotWorn,
        6 => Activity::Charging,
        7 => Activity::LightSleep,
        8 => Activity::DeepSleep,
        9 => Activity::RemSleep,
        10 => Activity::Awake,
        11 => Activity::Asleep,
        256..=511 => Activity::Unknown(u8::try_from(code - 256).unwrap_or(0)),
        _ => Activity::Other,
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn create_private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    // A file made by an older version or by hand: tighten it too.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn create_private_file(path: &Path) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_codes_round_trip() {
        for a in [
            Activity::Walking,
            Activity::Running,
            Activity::Cycling,
            Activity::Other,
            Activity::NotWorn,
            Activity::Charging,
            Activity::LightSleep,
            Activity::DeepSleep,
            Activity::RemSleep,
            Activity::Asleep,
            Activity::Awake,
            Activity::Unknown(0),
            Activity::Unknown(255),
        ] {
            assert_eq!(activity_from_code(activity_code(a)), a);
        }
    }
}
