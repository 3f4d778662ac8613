//! Wrist bands: pairing, device tokens, and the data they upload — minute samples, sleep
//! episodes and the per-day totals kept from them.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use crate::StoreResult;
use crate::db::{Dialect, SqlStore, conflict_on_unique, unclaimable};
use crate::model::{
    BandDay, DEVICE_TOKEN_LIFETIME, Device, DeviceDay, Id, IngestSummary, LocalDay, NewDevice,
    SampleBatch, SleepEpisode, SleepStage, StepSample,
};
use crate::values::{Cells, day_text, parse_day, parse_name, secs};

/// The columns of a device.
macro_rules! device_columns {
    () => {
        "id, patient_id, kind, address, name, paired_at, token_expires_at, revoked_at, \
         last_seen_at, imported"
    };
}
pub(crate) use device_columns;

/// Bands and their data (a part of [`Store`](crate::Store)).
#[async_trait]
pub trait BandStore: Send + Sync {
    /// Stores a one-time pairing code (hashed) for a patient.
    async fn create_pairing_code(
        &self,
        patient_id: Id,
        code_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Uses a pairing code once: registers the device with its upload token (hashed), valid
    /// for [`DEVICE_TOKEN_LIFETIME`]; an earlier pairing of the same band (address) for the
    /// same patient is revoked.
    /// `NotFound` for an unknown code, `Gone` when used or expired.
    async fn pair_device(
        &self,
        code_hash: &str,
        device: NewDevice,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Device>;

    /// The device an upload token belongs to — its current token, or the one its last
    /// renewal replaced while the new one is still unused — revoked and expired ones too (the
    /// caller refuses those with a reason). Records the contact (`last_seen_at`); the current
    /// token's first use retires the previous one.
    async fn authenticate_device(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Device>;

    /// Gives a device a new upload token valid for [`DEVICE_TOKEN_LIFETIME`] from `now`,
    /// presented with its current or previous token. `NotFound` when revoked or neither
    /// matches.
    async fn renew_device_token(
        &self,
        device_id: Id,
        presented_hash: &str,
        new_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Device>;

    /// Removes a patient's device: its tokens stop working, its data stays. Revoking again
    /// keeps the first time. `NotFound` when the patient has no such device.
    async fn revoke_device(
        &self,
        patient_id: Id,
        device_id: Id,
        now: DateTime<Utc>,
    ) -> StoreResult<Device>;

    /// A patient's devices.
    async fn devices(&self, patient_id: Id) -> StoreResult<Vec<Device>>;

    /// Stores a batch of samples from one device, all or nothing, and recomputes the device's
    /// patient's [`BandDay`] totals of the local `days` the batch touches, in the same
    /// transaction.
    async fn ingest_samples(
        &self,
        device_id: Id,
        batch: &SampleBatch,
        days: &[LocalDay],
    ) -> StoreResult<IngestSummary>;

    /// Band data per local day in `[from, to]`, by date; days without data are absent.
    async fn band_days(
        &self,
        patient_id: Id,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<BandDay>>;

    /// Which of the patient's devices contributed to each of `days` (the patient's local days,
    /// as [`ingest_samples`](Self::ingest_samples) takes them): minutes in `[start, end)`, and
    /// sleep (not awake) in episodes ending in it — what that day's [`BandDay`] is made of.
    /// By date, then device; a device that contributed nothing to a day is absent for it.
    async fn device_days(&self, patient_id: Id, days: &[LocalDay]) -> StoreResult<Vec<DeviceDay>>;

    /// Minute samples of all the patient's devices in `[from, to)`, by minute. Where two
    /// devices reported the same minute, the higher step count is kept.
    async fn step_samples(
        &self,
        patient_id: Id,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<StepSample>>;

    /// [`step_samples`](Self::step_samples) in any of `windows` (each `[from, to)`), by
    /// minute, each minute once: the minutes of several walks in one query. No windows, no
    /// minutes.
    async fn step_samples_in(
        &self,
        patient_id: Id,
        windows: &[(DateTime<Utc>, DateTime<Utc>)],
    ) -> StoreResult<Vec<StepSample>>;

    /// Sleep episodes of all the patient's devices starting in `[from, to)`, by start.
    async fn sleep_episodes(
        &self,
        patient_id: Id,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<SleepEpisode>>;
}

#[async_trait]
impl BandStore for SqlStore {
    async fn create_pairing_code(
        &self,
        patient_id: Id,
        code_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO pairing_codes (code_hash, patient_id, expires_at) \
             VALUES ($1, $2, $3)",
        )
        .bind(code_hash)
        .bind(patient_id)
        .bind(secs(expires_at))
        .execute(&self.writer)
        .await
        .map_err(|err| conflict_on_unique(err, "pairing code already exists"))?;
        Ok(())
    }

    async fn pair_device(
        &self,
        code_hash: &str,
        device: NewDevice,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Device> {
        let mut tx = self.begin().await?;
        let claimed = sqlx::query(
            "UPDATE pairing_codes SET used_at = $1 \
             WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $1 \
             RETURNING patient_id",
        )
        .bind(secs(now))
        .bind(code_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(code) = claimed else {
            return Err(unclaimable(
                &mut tx,
                "SELECT code_hash FROM pairing_codes WHERE code_hash = $1",
                code_hash,
            )
            .await);
        };
        // Pairing a band again replaces its token: the old pairing is revoked.
        sqlx::query(
            "UPDATE devices SET revoked_at = $1, previous_token_hash = NULL \
             WHERE patient_id = $2 AND address = $3 AND revoked_at IS NULL",
        )
        .bind(secs(now))
        .bind(code.int("patient_id")?)
        .bind(device.address.as_str())
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(concat!(
            "INSERT INTO devices (patient_id, kind, address, name, token_hash, \
             paired_at, token_expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             RETURNING ",
            device_columns!()
        ))
        .bind(code.int("patient_id")?)
        .bind(device.kind.as_str())
        .bind(device.address.as_str())
        .bind(device.name.as_str())
        .bind(token_hash)
        .bind(secs(now))
        .bind(secs(now + DEVICE_TOKEN_LIFETIME))
        .fetch_one(&mut *tx)
        .await
        .map_err(|err| conflict_on_unique(err, "device token already in use"))?;
        let paired = device_from(&row)?;
        tx.commit().await?;
        Ok(paired)
    }

    async fn authenticate_device(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Device> {
        // The current token retires the one it replaced on its first use.
        let row = sqlx::query(concat!(
            "UPDATE devices SET last_seen_at = $2, previous_token_hash = \
             CASE WHEN token_hash = $1 THEN NULL ELSE previous_token_hash END \
             WHERE token_hash = $1 OR previous_token_hash = $1 RETURNING ",
            device_columns!()
        ))
        .bind(token_hash)
        .bind(secs(now))
        .fetch_one(&self.writer)
        .await?;
        device_from(&row)
    }

    async fn renew_device_token(
        &self,
        device_id: Id,
        presented_hash: &str,
        new_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Device> {
        // Presented with the current token, that token becomes the previous one;
        // presented with the previous one (the last renewal's answer was lost),
        // only the current one is replaced.
        let row = sqlx::query(concat!(
            "UPDATE devices SET previous_token_hash = CASE WHEN token_hash = $2 \
             THEN token_hash ELSE previous_token_hash END, token_hash = $3, \
             token_expires_at = $4 \
             WHERE id = $1 AND revoked_at IS NULL \
             AND (token_hash = $2 OR previous_token_hash = $2) RETURNING ",
            device_columns!()
        ))
        .bind(device_id)
        .bind(presented_hash)
        .bind(new_hash)
        .bind(secs(now + DEVICE_TOKEN_LIFETIME))
        .fetch_one(&self.writer)
        .await
        .map_err(|err| conflict_on_unique(err, "device token already in use"))?;
        device_from(&row)
    }

    async fn revoke_device(
        &self,
        patient_id: Id,
        device_id: Id,
        now: DateTime<Utc>,
    ) -> StoreResult<Device> {
        let row = sqlx::query(concat!(
            "UPDATE devices SET revoked_at = COALESCE(revoked_at, $3), \
             previous_token_hash = NULL \
             WHERE id = $1 AND patient_id = $2 RETURNING ",
            device_columns!()
        ))
        .bind(device_id)
        .bind(patient_id)
        .bind(secs(now))
        .fetch_one(&self.writer)
        .await?;
        device_from(&row)
    }

    async fn devices(&self, patient_id: Id) -> StoreResult<Vec<Device>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            device_columns!(),
            " FROM devices WHERE patient_id = $1 ORDER BY paired_at, id"
        ))
        .bind(patient_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(device_from).collect()
    }

    async fn ingest_samples(
        &self,
        device_id: Id,
        batch: &SampleBatch,
        days: &[LocalDay],
    ) -> StoreResult<IngestSummary> {
        let steps = step_rows(&batch.steps);
        let sleep = sleep_rows(&batch.sleep);
        if steps.is_empty() && sleep.is_empty() {
            return Ok(IngestSummary { steps: 0, sleep: 0 });
        }
        let mut tx = self.begin().await?;
        for chunk in steps.chunks(INGEST_CHUNK) {
            let sql = step_upsert_sql(chunk.len(), self.dialect);
            let mut query = sqlx::query(sql);
            for &(minute, steps, heart_rate, estimated) in chunk {
                query = query
                    .bind(device_id)
                    .bind(minute)
                    .bind(steps)
                    .bind(heart_rate)
                    .bind(estimated);
            }
            query.execute(&mut *tx).await?;
        }
        for chunk in sleep.chunks(INGEST_CHUNK) {
            let sql = sleep_upsert_sql(chunk.len(), self.dialect);
            let mut query = sqlx::query(sql);
            for &(start, end, stage) in chunk {
                query = query.bind(device_id).bind(start).bind(end).bind(stage);
            }
            query.execute(&mut *tx).await?;
        }
        if !days.is_empty() {
            let patient_id: Id = sqlx::query_scalar(self.dialect.device_patient_locked())
                .bind(device_id)
                .fetch_one(&mut *tx)
                .await?;
            for day in days {
                sqlx::query(BAND_DAY_UPSERT)
                    .bind(patient_id)
                    .bind(day_text(day.date))
                    .bind(secs(day.start))
                    .bind(secs(day.end))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(IngestSummary {
            steps: steps.len() as u64,
            sleep: sleep.len() as u64,
        })
    }

    async fn band_days(
        &self,
        patient_id: Id,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<BandDay>> {
        let rows = sqlx::query(
            "SELECT day, steps, minutes_with_data, sleep_min FROM band_days \
             WHERE patient_id = $1 AND day >= $2 AND day <= $3 ORDER BY day",
        )
        .bind(patient_id)
        .bind(day_text(from))
        .bind(day_text(to))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(band_day_from).collect()
    }

    async fn device_days(&self, patient_id: Id, days: &[LocalDay]) -> StoreResult<Vec<DeviceDay>> {
        let mut found = Vec::new();
        for chunk in days.chunks(DAYS_PER_QUERY) {
            // Per day, each device with an existence check of its minutes (a range read of the
            // (device, minute) key) and of its sleep ending that day.
            let reads: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let (from, to) = (2 * i + 2, 2 * i + 3);
                    format!(
                        "SELECT CAST({i} AS BIGINT) AS day_index, d.id AS device_id, \
                         CASE WHEN EXISTS (SELECT 1 FROM step_samples s \
                           WHERE s.device_id = d.id AND s.minute >= ${from} \
                           AND s.minute < ${to}) THEN 1 ELSE 0 END AS steps, \
                         CASE WHEN EXISTS (SELECT 1 FROM sleep_episodes e \
                           WHERE e.device_id = d.id AND e.stage <> 'awake' \
                           AND e.end_at >= ${from} AND e.end_at < ${to}) THEN 1 ELSE 0 END \
                           AS sleep \
                         FROM devices d WHERE d.patient_id = $1"
                    )
                })
                .collect();
            let sql = format!(
                "SELECT day_index, device_id, steps, sleep FROM ({}) AS c \
                 WHERE steps = 1 OR sleep = 1 ORDER BY day_index, device_id",
                reads.join(" UNION ALL ")
            );
            // The text holds only placeholders and the chunk's own indices; every value is bound.
            let mut query = sqlx::query(AssertSqlSafe(sql)).bind(patient_id);
            for day in chunk {
                query = query.bind(secs(day.start)).bind(secs(day.end));
            }
            for row in query.fetch_all(&self.pool).await? {
                let index = usize::try_from(row.int("day_index")?).unwrap_or(usize::MAX);
                let Some(day) = chunk.get(index) else {
                    continue;
                };
                found.push(DeviceDay {
                    date: day.date,
                    device_id: row.int("device_id")?,
                    steps: row.flag("steps")?,
                    sleep: row.flag("sleep")?,
                });
            }
        }
        found.sort_by_key(|d| (d.date, d.device_id));
        Ok(found)
    }

    async fn step_samples(
        &self,
        patient_id: Id,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<StepSample>> {
        self.step_samples_in(patient_id, &[(from, to)]).await
    }

    async fn step_samples_in(
        &self,
        patient_id: Id,
        windows: &[(DateTime<Utc>, DateTime<Utc>)],
    ) -> StoreResult<Vec<StepSample>> {
        let windows = disjoint(windows);
        let mut samples = Vec::new();
        // Disjoint windows in order, a bounded number per query: the results follow each
        // other in minute order.
        for chunk in windows.chunks(WINDOWS_PER_QUERY) {
            // One range read of the (device, minute) key per window, the windows' rows
            // appended: a plan no database can turn into a scan of all the minutes.
            let reads: Vec<String> = (0..chunk.len())
                .map(|i| {
                    format!(
                        "SELECT s.minute AS minute, s.steps AS steps, \
                         s.heart_rate AS heart_rate, s.estimated AS estimated \
                         FROM devices d JOIN step_samples s ON s.device_id = d.id \
                         WHERE d.patient_id = $1 AND s.minute >= ${} AND s.minute < ${}",
                        2 * i + 2,
                        2 * i + 3
                    )
                })
                .collect();
            let sql = format!(
                "SELECT minute, MAX(steps) AS steps, MAX(heart_rate) AS heart_rate, \
                 MIN(estimated) AS estimated FROM ({}) AS m \
                 GROUP BY minute ORDER BY minute",
                reads.join(" UNION ALL ")
            );
            // The text holds only placeholders; every value is bound.
            let mut query = sqlx::query(AssertSqlSafe(sql)).bind(patient_id);
            for (from, to) in chunk {
                query = query.bind(secs(*from)).bind(secs(*to));
            }
            for row in query.fetch_all(&self.pool).await? {
                samples.push(step_sample_from(&row)?);
            }
        }
        Ok(samples)
    }

    async fn sleep_episodes(
        &self,
        patient_id: Id,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<SleepEpisode>> {
        let rows = sqlx::query(
            "SELECT e.start_at, e.end_at, e.stage \
             FROM devices d JOIN sleep_episodes e ON e.device_id = d.id \
             WHERE d.patient_id = $1 AND e.start_at >= $2 AND e.start_at < $3 \
             ORDER BY e.start_at, e.device_id",
        )
        .bind(patient_id)
        .bind(secs(from))
        .bind(secs(to))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(sleep_episode_from).collect()
    }
}

/// Time windows per query of [`BandStore::step_samples_in`]: one `SELECT` and two parameters
/// each, well within both databases' limits (SQLite's is 500 `SELECT`s in one compound).
const WINDOWS_PER_QUERY: usize = 100;

/// Days per query of [`BandStore::device_days`]: one `SELECT` and two parameters each.
const DAYS_PER_QUERY: usize = 100;

/// `windows` sorted, empty ones dropped, overlapping and touching ones joined.
fn disjoint(windows: &[(DateTime<Utc>, DateTime<Utc>)]) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut sorted: Vec<_> = windows
        .iter()
        .copied()
        .filter(|(from, to)| from < to)
        .collect();
    sorted.sort();
    let mut joined: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::with_capacity(sorted.len());
    for (from, to) in sorted {
        match joined.last_mut() {
            Some(last) if from <= last.1 => last.1 = last.1.max(to),
            _ => joined.push((from, to)),
        }
    }
    joined
}

pub(crate) fn device_from(row: &AnyRow) -> StoreResult<Device> {
    Ok(Device {
        id: row.int("id")?,
        patient_id: row.int("patient_id")?,
        kind: row.text("kind")?,
        address: row.text("address")?,
        name: row.text("name")?,
        paired_at: row.instant("paired_at")?,
        token_expires_at: row.instant("token_expires_at")?,
        revoked_at: row.opt_instant("revoked_at")?,
        last_seen_at: row.opt_instant("last_seen_at")?,
        imported: row.flag("imported")?,
    })
}

fn band_day_from(row: &AnyRow) -> StoreResult<BandDay> {
    Ok(BandDay {
        date: parse_day(&row.text("day")?)?,
        steps: row.int("steps")?,
        minutes_with_data: row.int("minutes_with_data")?,
        sleep_min: row.int("sleep_min")?,
    })
}

fn step_sample_from(row: &AnyRow) -> StoreResult<StepSample> {
    Ok(StepSample {
        minute: row.instant("minute")?,
        steps: row.int("steps")?,
        heart_rate: row.opt_int("heart_rate")?,
        estimated: row.int("estimated")? != 0,
    })
}

fn sleep_episode_from(row: &AnyRow) -> StoreResult<SleepEpisode> {
    Ok(SleepEpisode {
        start: row.instant("start_at")?,
        end: row.instant("end_at")?,
        stage: parse_name("sleep stage", &row.text("stage")?, SleepStage::parse)?,
    })
}

/// Recomputes one patient-day of `band_days` from the minute samples (the higher count where
/// two devices reported a minute) and the sleep episodes ending that day: the minutes asleep
/// of the union of every device's episodes, so a band and a watch recording the same night
/// count it once, and a nap one of them recorded still counts. `$1` patient, `$2` date,
/// `$3`/`$4` the day's bounds in unix seconds. (`WHERE true` lets SQLite tell the upsert's
/// `ON CONFLICT` from a join's `ON`.)
const BAND_DAY_UPSERT: &str = "INSERT INTO band_days \
     (patient_id, day, steps, minutes_with_data, sleep_min) \
     SELECT $1, $2, COALESCE(CAST(SUM(m.steps) AS BIGINT), 0), COUNT(m.steps), \
     COALESCE((SELECT CAST(SUM((island_end - island_start) / 60) AS BIGINT) FROM \
       (SELECT MIN(st) AS island_start, MAX(en) AS island_end FROM \
         (SELECT st, en, SUM(starts) OVER (ORDER BY st, en ROWS UNBOUNDED PRECEDING) AS island \
          FROM (SELECT st, en, CASE WHEN st <= MAX(en) OVER (ORDER BY st, en \
                  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) THEN 0 ELSE 1 END AS starts \
                FROM (SELECT e.start_at AS st, e.end_at AS en FROM devices d \
                      JOIN sleep_episodes e ON e.device_id = d.id \
                      WHERE d.patient_id = $1 AND e.stage <> 'awake' \
                      AND e.end_at >= $3 AND e.end_at < $4) asleep) marked) numbered \
        GROUP BY island) islands), 0) \
     FROM (SELECT MAX(s.steps) AS steps FROM devices d \
       JOIN step_samples s ON s.device_id = d.id \
       WHERE d.patient_id = $1 AND s.minute >= $3 AND s.minute < $4 GROUP BY s.minute) m \
     WHERE true \
     ON CONFLICT (patient_id, day) DO UPDATE SET steps = excluded.steps, \
     minutes_with_data = excluded.minutes_with_data, sleep_min = excluded.sleep_min";

/// Rows per multi-row `INSERT` of an ingest (4 or 5 parameters a row).
const INGEST_CHUNK: usize = 500;

/// A batch's minute samples as rows `(minute, steps, heart_rate, estimated)`, by minute, one per minute
/// (the last of repeats wins, as a later upload would). PostgreSQL refuses an upsert that
/// touches the same row twice, and a fixed order keeps concurrent ingests from deadlocking.
fn step_rows(samples: &[StepSample]) -> Vec<StepRow> {
    let mut rows: Vec<StepRow> = samples
        .iter()
        .map(|sample| {
            (
                secs(sample.minute),
                sample.steps,
                sample.heart_rate,
                i64::from(sample.estimated),
            )
        })
        .collect();
    // A stable sort keeps repeats in upload order; keep the last of each minute. Uploads
    // usually arrive sorted, which makes this a single pass.
    rows.sort_by_key(|row| row.0);
    let mut last_wins: Vec<StepRow> = Vec::with_capacity(rows.len());
    for row in rows {
        match last_wins.last_mut() {
            Some(previous) if previous.0 == row.0 => *previous = row,
            _ => last_wins.push(row),
        }
    }
    last_wins
}

/// A minute sample row: `(minute, steps, heart_rate, estimated 0/1)`.
type StepRow = (i64, i64, Option<i64>, i64);

/// A batch's sleep episodes as rows `(start, end, stage)`, by start, one per start.
fn sleep_rows(episodes: &[SleepEpisode]) -> Vec<(i64, i64, &'static str)> {
    let by_start: BTreeMap<i64, (i64, &'static str)> = episodes
        .iter()
        .map(|episode| {
            (
                secs(episode.start),
                (secs(episode.end), episode.stage.as_str()),
            )
        })
        .collect();
    by_start
        .into_iter()
        .map(|(start, (end, stage))| (start, end, stage))
        .collect()
}

/// `head (p, p, p, p), (p, p, p, p), … tail` for `rows` rows of four parameters.
fn upsert_sql(head: &str, rows: usize, columns: usize, tail: &str, dialect: Dialect) -> Arc<str> {
    let mut sql = String::with_capacity(head.len() + tail.len() + rows * 36);
    sql.push_str(head);
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            dialect.push_placeholder(&mut sql, row * columns + column + 1);
        }
        sql.push(')');
    }
    sql.push_str(tail);
    sql.into()
}

/// The statement text for a chunk of `rows` rows; full chunks share one cached text per
/// dialect (and so one prepared statement per connection).
fn chunk_sql(
    cache: &[OnceLock<Arc<str>>; 2],
    (head, tail): (&str, &str),
    rows: usize,
    columns: usize,
    dialect: Dialect,
) -> sqlx::AssertSqlSafe<Arc<str>> {
    let sql = if rows == INGEST_CHUNK {
        cache[dialect as usize]
            .get_or_init(|| upsert_sql(head, rows, columns, tail, dialect))
            .clone()
    } else {
        upsert_sql(head, rows, columns, tail, dialect)
    };
    // Built only from the constants here and parameter numbers: nothing from a caller.
    sqlx::AssertSqlSafe(sql)
}

/// Upsert of `rows` minute samples `(device, minute, steps, heart_rate, estimated)`.
fn step_upsert_sql(rows: usize, dialect: Dialect) -> sqlx::AssertSqlSafe<Arc<str>> {
    static FULL: [OnceLock<Arc<str>>; 2] = [OnceLock::new(), OnceLock::new()];
    let sql = (
        "INSERT INTO step_samples (device_id, minute, steps, heart_rate, estimated) VALUES ",
        " ON CONFLICT (device_id, minute) DO UPDATE \
         SET steps = excluded.steps, heart_rate = excluded.heart_rate, \
         estimated = excluded.estimated",
    );
    chunk_sql(&FULL, sql, rows, 5, dialect)
}

/// Upsert of `rows` sleep episodes `(device, start, end, stage)`.
fn sleep_upsert_sql(rows: usize, dialect: Dialect) -> sqlx::AssertSqlSafe<Arc<str>> {
    static FULL: [OnceLock<Arc<str>>; 2] = [OnceLock::new(), OnceLock::new()];
    let sql = (
        "INSERT INTO sleep_episodes (device_id, start_at, end_at, stage) VALUES ",
        " ON CONFLICT (device_id, start_at) DO UPDATE \
         SET end_at = excluded.end_at, stage = excluded.stage",
    );
    chunk_sql(&FULL, sql, rows, 4, dialect)
}
