//! The outbox's guarantees: a round and its cursor in one transaction, upserts that duplicate
//! nothing, InfiniTime deltas that add up, sleep episodes keyed by their start.

mod common;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use common::{TempDir, minutes_of, walking};
use sqlx::Connection;
use stepwise_collector::outbox::{NewPairing, Outbox, PairedDevice};
use stepwise_collector::secret::{HuamiKey, Secret};
use stepwise_wearables::device::Position;
use stepwise_wearables::infinitime::Observation;
use stepwise_wearables::records::{Activity, SleepStage};

fn at(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, h, m, 0).unwrap()
}

async fn paired(dir: &TempDir) -> (Outbox, PairedDevice) {
    let outbox = Outbox::open(&dir.0).await.unwrap();
    let device = outbox
        .pair(
            NewPairing {
                address: "C8:0F:10:00:00:05".into(),
                kind: "mi-band-5".into(),
                name: "Mi Smart Band 5".into(),
                server_url: "http://127.0.0.1:9".into(),
                token: Secret::new("token-123"),
                huami_key: Some(HuamiKey([0x11; 16])),
                zone: "Europe/Berlin".parse().unwrap(),
            },
            at(16, 8, 0),
        )
        .await
        .unwrap();
    (outbox, device)
}

#[tokio::test]
async fn a_pairing_is_stored_with_its_secrets_in_a_private_file() {
    let dir = TempDir::new();
    let (outbox, device) = paired(&dir).await;
    let again = outbox.device("c8:0f:10:00:00:05").await.unwrap().unwrap();
    assert_eq!(again.id, device.id);
    assert_eq!(again.token.expose(), "token-123");
    assert_eq!(again.huami_key, Some(HuamiKey([0x11; 16])));
    assert_eq!(again.zone.name(), "Europe/Berlin");
    assert_eq!(again.position, None);
    assert!(!format!("{again:?}").contains("token-123"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(outbox.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
}

#[tokio::test]
async fn a_round_moves_the_cursor_with_its_minutes() {
    let dir = TempDir::new();
    let (outbox, device) = paired(&dir).await;
    let round = walking(at(16, 9, 0), 120);
    let stored = outbox
        .store_round(device.id, &round, Some(&Position::at(at(16, 11, 0))))
        .await
        .unwrap();
    assert_eq!(stored.minutes, 120);
    assert_eq!(
        stored.steps,
        round.iter().map(|r| u64::from(r.steps)).sum::<u64>()
    );
    let device = outbox.device(&device.address).await.unwrap().unwrap();
    assert_eq!(device.position, Some(Position::at(at(16, 11, 0))));
    assert_eq!(
        outbox
            .minutes(device.id, at(16, 0, 0), at(17, 0, 0))
            .await
            .unwrap(),
        round
    );
}

#[tokio::test]
async fn a_round_that_fails_to_store_leaves_the_cursor_where_it_was() {
    let dir = TempDir::new();
    let (outbox, device) = paired(&dir).await;
    outbox
        .store_round(
            device.id,
            &walking(at(16, 9, 0), 10),
            Some(&Position::at(at(16, 9, 10))),
        )
        .await
        .unwrap();
    // Make the database refuse one minute of the next round, half-way through it.
    let url = format!("sqlite:{}", outbox.path().display());
    let mut raw = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let refused = at(16, 9, 10) + TimeDelta::minutes(700);
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE TRIGGER refuse BEFORE INSERT ON minutes WHEN NEW.minute = {} \
         BEGIN SELECT RAISE(ABORT, 'disk full'); END",
        refused.timestamp()
    )))
    .execute(&mut raw)
    .await
    .unwrap();
    raw.close().await.unwrap();

    let result = outbox
        .store_round(
            device.id,
            &walking(at(16, 9, 10), 1000),
            Some(&Position::at(at(16, 9, 10) + TimeDelta::minutes(1000))),
        )
        .await;
    assert!(result.is_err());
    let device = outbox.device(&device.address).await.unwrap().unwrap();
    assert_eq!(
        device.position,
        Some(Position::at(at(16, 9, 10))),
        "the position stayed"
    );
    assert_eq!(
        outbox
            .minutes(device.id, at(16, 0, 0), at(18, 0, 0))
            .await
            .unwrap()
            .len(),
        10,
        "none of the failed round's minutes were kept"
    );
}

#[tokio::test]
async fn storing_the_same_minutes_again_duplicates_nothing() {
    let dir = TempDir::new();
    let (outbox, device) = paired(&dir).await;
    let round = walking(at(16, 9, 0), 60);
    outbox.store_round(device.id, &round, None).await.unwrap();
    let pending = outbox.pending(device.id, 10_080, 2_000).await.unwrap();
    assert_eq!(pending.minutes.len(), 60);
    outbox.mark_uploaded(device.id, &pending).await.unwrap();
    assert_eq!(outbox.waiting(device.id).await.unwrap().minutes, 0);

    let again = outbox.store_round(device.id, &round, None).await.unwrap();
    assert_eq!(again.minutes, 0, "nothing new");
    assert_eq!(outbox.waiting(device.id).await.unwrap().minutes, 0);

    let mut changed = round.clone();
    changed[5].steps += 1;
    let stored = outbox.store_round(device.id, &changed, None).await.unwrap();
    assert_eq!(stored.minutes, 1);
    let pending = outbox.pending(device.id, 10_080, 2_000).await.unwrap();
    assert_eq!(pending.minutes.len(), 1);
    assert_eq!(pending.minutes[0].minute, round[5].minute);
    assert_eq!(pending.minutes[0].steps, u32::from(round[5].steps) + 1);
}

#[tokio::test]
async fn infinitime_deltas_add_to_their_minutes() {
    let dir = TempDir::new();
    let (outbox, device) = paired(&dir).await;
    let minute = at(16, 9, 0);
    outbox
        .add_steps(
            device.id,
            &[(minute, 30)],
            false,
            &Observation {
                count: 30,
                at: minute + TimeDelta::seconds(40),
            }
            .position(),
        )
        .await
        .unwrap();
    let pending = outbox.pending(device.id, 10_080, 2_000).await.unwrap();
    outbox.mark_uploaded(device.id, &pending).await.unwrap();
    outbox
        .add_steps(
            device.id,
            &[(minute, 12), (minute + TimeDelta::minutes(1), 5)],
            true,
            &Observation {
                count: 47,
                at: minute + TimeDelta::seconds(70),
            }
            .position(),
        )
        .await
        .unwrap();
    let stored = outbox
        .minutes(device.id, minute, minute + TimeDelta::minutes(5))
        .await
        .unwrap();
    assert_eq!(
        stored.iter().map(|r| r.steps).collect::<Vec<_>>(),
        vec![42, 5]
    );
    let pending = outbox.pending(device.id, 10_080, 2_000).await.unwrap();
    assert_eq!(pending.minutes.len(), 2, "the grown minute goes again");
    // Steps spread over two minutes are estimates, and a minute that received some stays so.
    assert!(pending.minutes.iter().all(|m| m.estimated));
    let device = outbox.device(&device.address).await.unwrap().unwrap();
    assert_eq!(
        device
            .position
            .as_ref()
            .and_then(Observation::from_position),
        Some(Observation {
            count: 47,
            at: minute + TimeDelta::seconds(70)
        })
    );
}

#[tokio::test]
async fn a_night_synced_in_two_parts_is_one_set_of_episodes() {
    let dir = TempDir::new();
    let (outbox, device) = paired(&dir).await;
    // 22:00–23:00 light, 23:00–00:30 deep, then (next sync) 00:30–01:00 deep, 01:00-02:00 rem.
    let mut first = minutes_of(at(16, 21, 0), 60, Activity::Other);
    first.extend(minutes_of(at(16, 22, 0), 60, Activity::LightSleep));
    first.extend(minutes_of(at(16, 23, 0), 90, Activity::DeepSleep));
    let stored = outbox.store_round(device.id, &first, None).await.unwrap();
    assert_eq!(stored.episodes, 2);
    let episodes = outbox.episodes(device.id).await.unwrap();
    assert_eq!(episodes.len(), 2);
    assert_eq!(episodes[1].stage, SleepStage::Deep);
    assert_eq!(episodes[1].end, at(17, 0, 30));
    let pending = outbox.pending(device.id, 10_080, 2_000).await.unwrap();
    assert_eq!(pending.episodes.len(), 2);
    outbox.mark_uploaded(device.id, &pending).await.unwrap();

    let mut second = minutes_of(at(17, 0, 30), 30, Activity::DeepSleep);
    second.extend(minutes_of(at(17, 1, 0), 60, Activity::RemSleep));
    second.extend(minutes_of(at(17, 2, 0), 5, Activity::Walking));
    outbox.store_round(device.id, &second, None).await.unwrap();
    let episodes = outbox.episodes(device.id).await.unwrap();
    assert_eq!(
        episodes
            .iter()
            .map(|e| (e.start, e.end, e.stage))
            .collect::<Vec<_>>(),
        vec![
            (at(16, 22, 0), at(16, 23, 0), SleepStage::Light),
            (at(16, 23, 0), at(17, 1, 0), SleepStage::Deep),
            (at(17, 1, 0), at(17, 2, 0), SleepStage::Rem),
        ],
        "the open deep episode grew under the same start"
    );
    let pending = outbox.pending(device.id, 10_080, 2_000).await.unwrap();
    assert_eq!(
        pending.episodes.iter().map(|e| e.start).collect::<Vec<_>>(),
        vec![at(16, 23, 0), at(17, 1, 0)],
        "the grown and the new episode go; the unchanged one does not"
    );
}

#[tokio::test]
async fn pending_takes_the_oldest_minutes_and_the_episodes_before_them() {
    let dir = TempDir::new();
    let (outbox, device) = paired(&dir).await;
    let mut records = minutes_of(at(16, 0, 0), 60, Activity::LightSleep);
    records.extend(walking(at(16, 1, 0), 600));
    records.extend(minutes_of(at(16, 11, 0), 60, Activity::DeepSleep));
    outbox.store_round(device.id, &records, None).await.unwrap();
    let first = outbox.pending(device.id, 300, 2_000).await.unwrap();
    assert_eq!(first.minutes.len(), 300);
    assert_eq!(first.minutes[0].minute, at(16, 0, 0));
    assert_eq!(
        first.episodes.iter().map(|e| e.start).collect::<Vec<_>>(),
        vec![at(16, 0, 0)],
        "the later episode waits for its minutes"
    );
    outbox.mark_uploaded(device.id, &first).await.unwrap();
    let rest = outbox.pending(device.id, 10_080, 2_000).await.unwrap();
    assert_eq!(rest.minutes.len(), 720 - 300);
    assert_eq!(
        rest.episodes.iter().map(|e| e.start).collect::<Vec<_>>(),
        vec![at(16, 11, 0)]
    );
}

#[tokio::test]
async fn rows_older_than_the_cutoff_are_given_up_not_sent() {
    let dir = TempDir::new();
    let (outbox, device) = paired(&dir).await;
    let mut records = minutes_of(at(16, 0, 0), 30, Activity::DeepSleep);
    records.extend(walking(at(16, 0, 30), 30));
    outbox.store_round(device.id, &records, None).await.unwrap();
    let expired = outbox.expire(device.id, at(16, 0, 40)).await.unwrap();
    assert_eq!((expired.minutes, expired.episodes), (40, 1));
    let pending = outbox.pending(device.id, 10_080, 2_000).await.unwrap();
    assert_eq!(pending.minutes.len(), 20);
    assert_eq!(pending.minutes[0].minute, at(16, 0, 40));
    assert!(pending.episodes.is_empty());
}

#[tokio::test]
async fn a_minute_that_grew_during_an_upload_is_sent_again() {
    let dir = TempDir::new();
    let (outbox, device) = paired(&dir).await;
    let minute = at(16, 9, 0);
    let seen = |count, seconds| Observation {
        count,
        at: minute + TimeDelta::seconds(seconds),
    };
    outbox
        .add_steps(
            device.id,
            &[(minute, 30), (minute + TimeDelta::minutes(1), 4)],
            true,
            &seen(34, 70).position(),
        )
        .await
        .unwrap();
    let sent = outbox.pending(device.id, 10_080, 2_000).await.unwrap();
    // Steps arrive while the upload is on its way.
    outbox
        .add_steps(device.id, &[(minute, 5)], false, &seen(39, 80).position())
        .await
        .unwrap();
    outbox.mark_uploaded(device.id, &sent).await.unwrap();
    let pending = outbox.pending(device.id, 10_080, 2_000).await.unwrap();
    assert_eq!(pending.minutes.len(), 1);
    assert_eq!(
        (pending.minutes[0].minute, pending.minutes[0].steps),
        (minute, 35)
    );
}

#[tokio::test]
async fn an_outbox_from_before_positions_keeps_its_cursors() {
    // An outbox written by an earlier collector: a Huami cursor and an InfiniTime observation
    // in their own columns, before migration 0003. Opening it moves both into positions.
    let dir = TempDir::new();
    let (outbox, band) = paired(&dir).await;
    let url = format!("sqlite:{}", outbox.path().display());
    outbox.close().await;
    let mut raw = sqlx::SqliteConnection::connect(&url).await.unwrap();
    for statement in [
        "DELETE FROM _sqlx_migrations WHERE version = 3",
        "ALTER TABLE devices DROP COLUMN position",
        "UPDATE devices SET sync_cursor = 1763283600",
        "INSERT INTO devices (address, kind, name, server_url, token, zone, paired_at, \
         infinitime_count, infinitime_at) VALUES ('D4:22:CD:00:11:02', 'infinitime', \
         'InfiniTime', 'http://127.0.0.1:9', 't', 'Europe/Berlin', 1763280000, 5000, 1763283000)",
    ] {
        sqlx::query(statement).execute(&mut raw).await.unwrap();
    }
    raw.close().await.unwrap();
    let outbox = Outbox::open(&dir.0).await.unwrap();
    let band = outbox.device(&band.address).await.unwrap().unwrap();
    assert_eq!(
        band.position.as_ref().and_then(Position::instant),
        DateTime::from_timestamp(1_763_283_600, 0)
    );
    let watch = outbox.device("D4:22:CD:00:11:02").await.unwrap().unwrap();
    assert_eq!(
        watch.position.as_ref().and_then(Observation::from_position),
        Some(Observation {
            count: 5000,
            at: DateTime::from_timestamp(1_763_283_000, 0).unwrap()
        })
    );
}
