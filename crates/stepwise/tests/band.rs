//! The band collector end to end through btleplug: the real `stepwise band` binary talks to
//! simulated bands on a fake BlueZ (a private D-Bus, `stepwise-fakebluez`) and uploads to a
//! real Stepwise server on a TCP port. What the server holds is compared with the scripted
//! wearer's own log.
//!
//! Needs Debian's `dbus-daemon` (scripts/test installs it).

mod common;

mod band {
    pub mod collector;
    pub mod expect;
}

use band::collector::{Collector, Finished};
use band::expect::{self, Records};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use common::demo::Demo;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use stepwise_fakebluez::sim::{
    InfiniTime, MiBand, MiBandFaults, MiBandOptions, PamsDevice, RecordSize,
};
use stepwise_fakebluez::wearer::{Wearer, WearerLog};
use stepwise_fakebluez::{Bus, DeviceSpec, FakeBluez, LinkModel, Scenario};
use stepwise_store::BandDay;
use stepwise_testkit::server::{Session, TestServer};

const MI_BAND_5: &str = "E1:5B:9A:3C:42:01";
const MI_BAND_3: &str = "E1:5B:9A:3C:42:03";
const MI_BAND_4: &str = "E1:5B:9A:3C:42:04";
const INFINITIME: &str = "D4:22:CD:00:11:02";
const PAMS: &str = "C8:3A:35:00:00:03";
/// The auth key the simulated Mi Band 5 holds.
const KEY: [u8; 16] = [
    0x5b, 0x7b, 0x7c, 0x8d, 0x9e, 0xaf, 0xc0, 0xd1, 0xe2, 0xf3, 0x04, 0x15, 0x26, 0x37, 0x48, 0x59,
];

fn berlin() -> Tz {
    chrono_tz::Europe::Berlin
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .expect("a valid instant")
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a valid date")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The server's (and the collector's) "now" in the fixed-date tests.
fn now() -> DateTime<Utc> {
    utc(2026, 11, 20, 12, 0)
}

/// `days` days of the scripted wearer in Berlin from local midnight of `first`.
fn wearer(first: NaiveDate, days: u32, seed: u64) -> WearerLog {
    Wearer::generate(berlin(), first, days, seed, None)
}

fn start_fake(bus: &Bus, devices: Vec<DeviceSpec>) -> FakeBluez {
    FakeBluez::start(bus, Scenario::new(devices)).expect("starting the fake BlueZ")
}

fn start_bus() -> Bus {
    Bus::start().expect("starting a private dbus-daemon (Debian package dbus-daemon)")
}

/// Everything the server holds for one patient (as its API's store sees it).
#[derive(Debug, PartialEq)]
struct Held {
    samples: Vec<stepwise_store::StepSample>,
    episodes: Vec<stepwise_store::SleepEpisode>,
    days: Vec<stepwise_store::BandDay>,
}

async fn held(server: &TestServer, patient_id: i64) -> Held {
    Held {
        samples: server.samples(patient_id).await,
        episodes: server.episodes(patient_id).await,
        days: server
            .band_days(patient_id, date(2026, 1, 1), date(2026, 12, 31))
            .await,
    }
}

/// The server holds exactly the wearer's minutes, sleep and per-day totals.
async fn assert_holds_the_wearers_data(
    server: &TestServer,
    patient_id: i64,
    log: &WearerLog,
    records: Records,
) -> Held {
    let held = held(server, patient_id).await;
    let expected_samples = expect::samples(&log.minutes);
    assert_eq!(
        held.samples.len(),
        expected_samples.len(),
        "one sample per minute the wearer lived"
    );
    if let Some((got, want)) = held
        .samples
        .iter()
        .zip(&expected_samples)
        .find(|(g, w)| g != w)
    {
        panic!("the server's minute {got:?} differs from the wearer's {want:?}");
    }
    let expected_episodes = expect::episodes(&log.minutes, records);
    assert_eq!(held.episodes, expected_episodes, "sleep episodes");
    let sleep = log.sleep_minutes();
    let by_stage = expect::asleep_by_stage(&held.episodes);
    // REM is never read from a band (docs/wearables.md): the wearer's REM arrives as light.
    assert_eq!(
        by_stage,
        [(sleep.light + sleep.rem) as i64, sleep.deep as i64, 0],
        "minutes of light (REM included) and deep sleep"
    );
    let expected_days = expect::band_days(&log.minutes, &expected_episodes, berlin());
    assert_eq!(
        held.days, expected_days,
        "per local day: steps, minutes, sleep"
    );
    for (day, steps) in log.daily_steps(berlin()) {
        let got = held.days.iter().find(|d| d.date == day).map(|d| d.steps);
        assert_eq!(got, Some(steps as i64), "steps on {day}");
    }
    held
}

/// `stepwise band pair` with the band's address (so the scan stops as soon as it is seen).
async fn pair(
    band: &Collector,
    server: &str,
    code: &str,
    address: &str,
    key: Option<[u8; 16]>,
) -> Finished {
    let key = key.map(|k| hex(&k));
    let mut args = vec![
        "pair",
        "--server",
        server,
        "--code",
        code,
        "--address",
        address,
    ];
    if let Some(key) = &key {
        args.extend(["--key", key.as_str()]);
    }
    band.run(&args).await
}

/// A simulated Mi Band 5 holding `log` (with these firmware options).
fn mi_band_5(log: &WearerLog, options: MiBandOptions) -> DeviceSpec {
    DeviceSpec::new(
        MI_BAND_5,
        MiBand::mi_band_5(KEY, berlin(), log.minutes.clone()).with_options(options),
    )
    .random_address()
}

fn data_notifications(fake: &FakeBluez, address: &str) -> u64 {
    fake.stats(address).expect("stats").data_notifications
}

/// A week of a Mi Band 4 (4-byte records, the encrypted auth variant) reaches the server the
/// same whether the link settles on MTU 23 (20-byte notifications) or 247 (241-byte ones, as a
/// real Mi Band 4 sends over BlueZ).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mi_band_4_week_syncs_alike_at_mtu_23_and_247() {
    let log = wearer(date(2026, 11, 13), 7, 23);
    let mut held_by_mtu = Vec::new();
    for (mtu, longest) in [(23, 17), (247, 241)] {
        let bus = start_bus();
        let band = MiBand::mi_band_4(KEY, berlin(), log.minutes.clone());
        let fake = FakeBluez::start(
            &bus,
            Scenario {
                link: LinkModel {
                    mtu,
                    ..LinkModel::default()
                },
                ..Scenario::new(vec![DeviceSpec::new(MI_BAND_4, band).random_address()])
            },
        )
        .expect("starting the fake BlueZ");
        let server = TestServer::start(now()).await;
        let patient = server.patient().await;
        let collector = Collector::new(&bus, "Europe/Berlin", Some(now()));
        let code = patient.pairing_code().await;
        pair(&collector, &server.url(), &code, MI_BAND_4, Some(KEY))
            .await
            .expect_success("pair");
        let trace =
            std::env::temp_dir().join(format!("stepwise-trace-{}-{mtu}.jsonl", std::process::id()));
        let trace_arg = trace.to_str().expect("a UTF-8 path");
        collector
            .run(&["sync", "--since", "2026-11-13", "--trace", trace_arg])
            .await
            .expect_success("the sync");
        let held = assert_holds_the_wearers_data(&server, patient.id, &log, Records::Four).await;
        // The trace replays offline through the same machine and agrees with the live sync.
        let replayed = collector
            .run(&["replay", trace_arg])
            .await
            .expect_success("replaying the trace");
        let report: serde_json::Value =
            serde_json::from_str(replayed.stdout.trim()).expect("one JSON object");
        assert_eq!(report["agree"], true, "{}", replayed.stdout);
        assert_eq!(
            report["records_received"],
            log.minutes.len(),
            "at MTU {mtu}"
        );
        let text = std::fs::read_to_string(&trace).expect("the trace");
        assert!(
            !text.contains(&KEY.iter().map(|b| format!("{b:02x}")).collect::<String>()),
            "the key never reaches a trace"
        );
        let _ = std::fs::remove_file(&trace);
        let stats = fake.stats(MI_BAND_4).expect("stats");
        assert_eq!(stats.longest_notification, longest, "at MTU {mtu}");
        assert_eq!(
            stats.refused_writes, 0,
            "every write of the type the band declares"
        );
        assert_eq!(
            stats.current_time_writes.len(),
            1,
            "the sync sets the band's clock (pairing only checks the key)"
        );
        held_by_mtu.push(held);
    }
    assert_eq!(held_by_mtu[0], held_by_mtu[1]);
}

/// Issue 5, step 1: a week of Mi Band 5 minutes (8-byte records, REM sleep) paired with its
/// key and synced: the server holds exactly the wearer's week; a second sync changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_week_of_mi_band_5_minutes_and_sleep_reaches_the_server_once() {
    let log = wearer(date(2026, 11, 13), 7, 5);
    let bus = start_bus();
    let fake = start_fake(&bus, vec![mi_band_5(&log, MiBandOptions::default())]);
    let server = TestServer::start(now()).await;
    let patient = server.patient().await;
    let band = Collector::new(&bus, "Europe/Berlin", Some(now()));
    let code = patient.pairing_code().await;
    let paired = pair(&band, &server.url(), &code, MI_BAND_5, Some(KEY))
        .await
        .expect_success("pair");
    assert!(
        paired
            .stdout
            .contains("Paired Mi Smart Band 5 (mi-band-5, E1:5B:9A:3C:42:01)"),
        "{paired}"
    );
    band.run(&["sync", "--since", "2026-11-13"])
        .await
        .expect_success("the first sync");
    let first = assert_holds_the_wearers_data(&server, patient.id, &log, Records::Eight).await;
    let sent = data_notifications(&fake, MI_BAND_5);

    band.run(&["sync"]).await.expect_success("the second sync");
    assert_eq!(
        held(&server, patient.id).await,
        first,
        "a second sync changes nothing on the server"
    );
    assert_eq!(
        data_notifications(&fake, MI_BAND_5),
        sent,
        "the second sync fetched nothing again: it went on from the band's cursor"
    );
    let devices = server.device_ids(patient.id).await;
    assert_eq!(devices.len(), 1);
    let (rows, episodes) = server.device_rows(devices[0]).await;
    assert_eq!(rows.len(), log.minutes.len(), "no minute row twice");
    assert_eq!(episodes.len(), first.episodes.len(), "no episode row twice");
}

/// The same with a 4-byte-record band (Mi Band 3) paired without a key: the collector gives
/// it a new key, and REM folds into light sleep.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_week_of_mi_band_3_minutes_reaches_the_server_once_with_a_new_key() {
    let log = wearer(date(2026, 11, 13), 7, 3);
    let factory_key = [0x33; 16];
    let bus = start_bus();
    let fake = start_fake(
        &bus,
        vec![
            DeviceSpec::new(
                MI_BAND_3,
                MiBand::new(
                    "Mi Band 3",
                    RecordSize::Four,
                    factory_key,
                    berlin(),
                    log.minutes.clone(),
                ),
            )
            .random_address(),
        ],
    );
    let server = TestServer::start(now()).await;
    let patient = server.patient().await;
    let band = Collector::new(&bus, "Europe/Berlin", Some(now()));
    let code = patient.pairing_code().await;
    let paired = pair(&band, &server.url(), &code, MI_BAND_3, None)
        .await
        .expect_success("pair");
    assert!(
        paired.stdout.contains("(mi-band-3, E1:5B:9A:3C:42:03)")
            && paired
                .stdout
                .contains("A new auth key was written to the band"),
        "{paired}"
    );
    let key = fake
        .with_peripheral::<MiBand, _>(MI_BAND_3, |b, _| b.key())
        .expect("the band");
    assert_ne!(key, factory_key, "the band holds the collector's new key");

    band.run(&["sync", "--since", "2026-11-13"])
        .await
        .expect_success("the first sync");
    let first = assert_holds_the_wearers_data(&server, patient.id, &log, Records::Four).await;
    band.run(&["sync"]).await.expect_success("the second sync");
    assert_eq!(held(&server, patient.id).await, first, "nothing changes");
}

/// Issue 5, step 2: the link dropped at every tenth data notification of a one-day fetch (in
/// rounds of four hours, so some rounds are complete when it drops). Each time: the sync
/// fails saying so, the server holds exactly the complete rounds, and the next sync leaves it
/// holding what an undisturbed sync gives, each row once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_lost_at_any_point_of_a_fetch_loses_and_duplicates_nothing() {
    const ROUND_MINUTES: usize = 240;
    // 240 minutes × 8 bytes, two whole records per notification at the default MTU 23.
    const ROUND_NOTIFICATIONS: u64 = (ROUND_MINUTES as u64).div_ceil(2);
    let log = wearer(date(2026, 11, 19), 1, 11);
    let options = MiBandOptions {
        max_minutes_per_round: Some(ROUND_MINUTES),
        delete_on_ack: false,
    };
    let bus = start_bus();
    let fake = start_fake(&bus, vec![mi_band_5(&log, options)]);
    let server = TestServer::start(now()).await;
    let patient = server.patient().await;
    let expected_samples = expect::samples(&log.minutes);
    let expected_episodes = expect::episodes(&log.minutes, Records::Eight);

    // An undisturbed sync first: what every disturbed one must end up with.
    let undisturbed = Collector::new(&bus, "Europe/Berlin", Some(now()));
    pair(
        &undisturbed,
        &server.url(),
        &patient.pairing_code().await,
        MI_BAND_5,
        Some(KEY),
    )
    .await
    .expect_success("pair");
    let before = data_notifications(&fake, MI_BAND_5);
    undisturbed
        .run(&["sync", "--since", "2026-11-19"])
        .await
        .expect_success("the undisturbed sync");
    let total = data_notifications(&fake, MI_BAND_5) - before;
    assert_eq!(total, 6 * ROUND_NOTIFICATIONS, "six rounds of four hours");
    let baseline = server
        .device_rows(
            *server
                .device_ids(patient.id)
                .await
                .last()
                .expect("a device"),
        )
        .await;
    assert_eq!(baseline.0, expected_samples, "the undisturbed sync");
    assert_eq!(
        baseline.1, expected_episodes,
        "the undisturbed sync's sleep"
    );

    for at in (0..total).step_by(10) {
        let band = Collector::new(&bus, "Europe/Berlin", Some(now()));
        pair(
            &band,
            &server.url(),
            &patient.pairing_code().await,
            MI_BAND_5,
            Some(KEY),
        )
        .await
        .expect_success("pair");
        let device = *server
            .device_ids(patient.id)
            .await
            .last()
            .expect("a device");
        let next_connection = fake.stats(MI_BAND_5).expect("stats").connections + 1;
        fake.with_peripheral::<MiBand, _>(MI_BAND_5, |b, _| {
            b.set_faults(MiBandFaults {
                disconnect_at_notification: Some((next_connection, at)),
                counter_gap_at: None,
                ..MiBandFaults::default()
            })
        })
        .expect("the band");

        let cut = band
            .run(&["sync", "--since", "2026-11-19"])
            .await
            .expect_failure(&format!("a sync losing the link at notification {at}"));
        assert!(
            cut.stderr.contains("the band disconnected during the sync")
                && cut.stderr.contains("run `stepwise band sync` again"),
            "link lost at {at}: {cut}"
        );
        let complete_rounds = (at / ROUND_NOTIFICATIONS) as usize;
        let (rows, _) = server.device_rows(device).await;
        assert_eq!(
            rows,
            expected_samples[..complete_rounds * ROUND_MINUTES],
            "link lost at {at}: the server holds exactly the {complete_rounds} complete rounds"
        );

        fake.with_peripheral::<MiBand, _>(MI_BAND_5, |b, _| b.set_faults(MiBandFaults::default()))
            .expect("the band");
        band.run(&["sync"])
            .await
            .expect_success(&format!("the sync after losing the link at {at}"));
        let rows = server.device_rows(device).await;
        assert!(
            rows == baseline,
            "link lost at {at}: after the next sync the server holds {} minutes and {} episodes, \
             the undisturbed sync {} and {}",
            rows.0.len(),
            rows.1.len(),
            baseline.0.len(),
            baseline.1.len()
        );
    }
}

/// Issue 5, step 3: a wrong key pairs nothing (nothing stored, nothing uploaded, the code
/// unspent); the same code then pairs with the right key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_pairs_nothing_and_leaves_the_code_usable() {
    let log = wearer(date(2026, 11, 19), 1, 13);
    let bus = start_bus();
    let fake = start_fake(&bus, vec![mi_band_5(&log, MiBandOptions::default())]);
    let server = TestServer::start(now()).await;
    let patient = server.patient().await;
    let band = Collector::new(&bus, "Europe/Berlin", Some(now()));
    let code = patient.pairing_code().await;
    let mut wrong = KEY;
    wrong[0] ^= 0xFF;

    let refused = pair(&band, &server.url(), &code, MI_BAND_5, Some(wrong))
        .await
        .expect_failure("pairing with a wrong key");
    assert!(refused.stderr.contains("wrong key"), "{refused}");
    assert!(
        server.device_ids(patient.id).await.is_empty(),
        "no device on the server"
    );
    let sync = band
        .run(&["sync", "--since", "2026-11-19"])
        .await
        .expect_failure("a sync with nothing paired");
    assert!(sync.stderr.contains("no band is paired yet"), "{sync}");
    assert_eq!(
        data_notifications(&fake, MI_BAND_5),
        0,
        "nothing was fetched"
    );
    assert!(
        server.samples(patient.id).await.is_empty(),
        "nothing uploaded"
    );

    pair(&band, &server.url(), &code, MI_BAND_5, Some(KEY))
        .await
        .expect_success("pairing with the right key and the same code");
    assert_eq!(server.device_ids(patient.id).await.len(), 1);
    band.run(&["sync", "--since", "2026-11-19"])
        .await
        .expect_success("sync");
    assert_holds_the_wearers_data(&server, patient.id, &log, Records::Eight).await;
}

/// Issue 5, step 4: a lost packet (a gap in the rolling counter) in the third round: the
/// sync fails, nothing of that round reaches the server, and the next sync completes with
/// every minute once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counter_gap_keeps_nothing_of_the_torn_round() {
    const ROUND_MINUTES: usize = 360;
    const ROUND_NOTIFICATIONS: u64 = (ROUND_MINUTES as u64).div_ceil(2);
    let log = wearer(date(2026, 11, 18), 2, 17);
    let options = MiBandOptions {
        max_minutes_per_round: Some(ROUND_MINUTES),
        delete_on_ack: false,
    };
    let bus = start_bus();
    let fake = start_fake(&bus, vec![mi_band_5(&log, options)]);
    let server = TestServer::start(now()).await;
    let patient = server.patient().await;
    let band = Collector::new(&bus, "Europe/Berlin", Some(now()));
    pair(
        &band,
        &server.url(),
        &patient.pairing_code().await,
        MI_BAND_5,
        Some(KEY),
    )
    .await
    .expect_success("pair");
    let next_connection = fake.stats(MI_BAND_5).expect("stats").connections + 1;
    fake.with_peripheral::<MiBand, _>(MI_BAND_5, |b, _| {
        b.set_faults(MiBandFaults {
            disconnect_at_notification: None,
            counter_gap_at: Some((next_connection, 2 * ROUND_NOTIFICATIONS + 50)),
            ..MiBandFaults::default()
        })
    })
    .expect("the band");

    let torn = band
        .run(&["sync", "--since", "2026-11-18"])
        .await
        .expect_failure("a sync with a lost packet");
    assert!(
        torn.stderr.contains("a data packet was lost") && torn.stderr.contains("sync again"),
        "{torn}"
    );
    let expected = expect::samples(&log.minutes);
    assert_eq!(
        server.samples(patient.id).await,
        expected[..2 * ROUND_MINUTES],
        "the two complete rounds, nothing of the torn third"
    );

    fake.with_peripheral::<MiBand, _>(MI_BAND_5, |b, _| b.set_faults(MiBandFaults::default()))
        .expect("the band");
    band.run(&["sync"]).await.expect_success("the next sync");
    assert_holds_the_wearers_data(&server, patient.id, &log, Records::Eight).await;
    let (rows, _) = server
        .device_rows(server.device_ids(patient.id).await[0])
        .await;
    assert_eq!(rows.len(), log.minutes.len(), "every minute once");
}

/// Issue 5, step 5: a week in Berlin across the night the clocks go back (2026-10-25, 25
/// hours long), fetched in rounds that start on both sides of the change: per local day the
/// totals equal the wearer's, and every minute sits at its own instant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_week_across_the_autumn_clock_change_keeps_every_minute_in_place() {
    let now = utc(2026, 10, 29, 6, 0);
    let log = wearer(date(2026, 10, 22), 7, 19);
    let options = MiBandOptions {
        max_minutes_per_round: Some(1000),
        delete_on_ack: false,
    };
    let bus = start_bus();
    let _fake = start_fake(&bus, vec![mi_band_5(&log, options)]);
    let server = TestServer::start(now).await;
    let patient = server.patient().await;
    let band = Collector::new(&bus, "Europe/Berlin", Some(now));
    pair(
        &band,
        &server.url(),
        &patient.pairing_code().await,
        MI_BAND_5,
        Some(KEY),
    )
    .await
    .expect_success("pair");
    band.run(&["sync", "--since", "2026-10-22"])
        .await
        .expect_success("sync");
    let held = assert_holds_the_wearers_data(&server, patient.id, &log, Records::Eight).await;
    let long_day = held
        .days
        .iter()
        .find(|d| d.date == date(2026, 10, 25))
        .expect("the day of the change");
    assert_eq!(long_day.minutes_with_data, 25 * 60, "the day has 25 hours");
    // 02:00–03:00 happened twice: once at 00:00–01:00 UTC, once at 01:00–02:00 UTC.
    let twice: Vec<_> = held
        .samples
        .iter()
        .filter(|s| (utc(2026, 10, 25, 0, 0)..utc(2026, 10, 25, 2, 0)).contains(&s.minute))
        .collect();
    assert_eq!(twice.len(), 120);
}

/// Issue 5, step 6: the server is down during a sync: the band's part succeeds, the data
/// waits in the outbox with a clear message; once the server is back, the next sync uploads
/// everything exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_waits_in_the_outbox_while_the_server_is_down() {
    let log = wearer(date(2026, 11, 17), 3, 23);
    let bus = start_bus();
    let fake = start_fake(&bus, vec![mi_band_5(&log, MiBandOptions::default())]);
    let mut server = TestServer::start(now()).await;
    let patient = server.patient().await;
    let band = Collector::new(&bus, "Europe/Berlin", Some(now()));
    pair(
        &band,
        &server.url(),
        &patient.pairing_code().await,
        MI_BAND_5,
        Some(KEY),
    )
    .await
    .expect_success("pair");

    server.stop().await;
    let offline = band
        .run(&["sync", "--since", "2026-11-17"])
        .await
        .expect_success("a sync while the server is down (the data waits)");
    assert!(
        offline.stderr.contains("is unreachable")
            && offline
                .stderr
                .contains("wait in the outbox and go with the next sync"),
        "{offline}"
    );
    assert!(offline.stdout.contains("uploaded: none"), "{offline}");
    assert!(server.samples(patient.id).await.is_empty());
    let fetched = data_notifications(&fake, MI_BAND_5);
    assert!(fetched > 0, "the band's part ran");

    server.restart().await;
    band.run(&["sync"]).await.expect_success("the sync after");
    assert_eq!(
        data_notifications(&fake, MI_BAND_5),
        fetched,
        "nothing was fetched twice"
    );
    assert_holds_the_wearers_data(&server, patient.id, &log, Records::Eight).await;
    let (rows, episodes) = server
        .device_rows(server.device_ids(patient.id).await[0])
        .await;
    assert_eq!(rows.len(), log.minutes.len(), "every minute once");
    assert_eq!(
        episodes,
        expect::episodes(&log.minutes, Records::Eight),
        "every episode once"
    );
}

/// Sets the simulated watch's step count (subscribers are notified).
fn walk_to(fake: &FakeBluez, count: u32) {
    fake.with_peripheral::<InfiniTime, _>(INFINITIME, |w, link| w.set_step_count(count, link))
        .expect("the watch");
}

/// Waits (up to `limit`) until `done` holds, checking every 100 ms.
async fn eventually<F: Future<Output = bool>>(
    what: &str,
    limit: Duration,
    mut done: impl FnMut() -> F,
) {
    let deadline = Instant::now() + limit;
    while !done().await {
        assert!(
            Instant::now() < deadline,
            "{what}: not within {} s",
            limit.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A fake BlueZ with `watch`, a server with a patient, and a collector in Berlin (its clock
/// from `clock`) that has paired the watch to the patient.
async fn paired_watch(
    watch: InfiniTime,
    clock: DateTime<Utc>,
) -> (
    Bus,
    FakeBluez,
    TestServer,
    stepwise_testkit::server::Patient,
    Collector,
) {
    let bus = start_bus();
    let fake = start_fake(
        &bus,
        vec![DeviceSpec::new(INFINITIME, watch).random_address()],
    );
    let server = TestServer::start(now()).await;
    let patient = server.patient().await;
    let band = Collector::new(&bus, "Europe/Berlin", Some(clock));
    pair(
        &band,
        &server.url(),
        &patient.pairing_code().await,
        INFINITIME,
        None,
    )
    .await
    .expect_success("pair");
    (bus, fake, server, patient, band)
}

/// The server's band steps per local day, `from` to `to`.
async fn steps_per_day(
    server: &TestServer,
    patient_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<(NaiveDate, i64)> {
    let days = server.band_days(patient_id, from, to).await;
    days.iter().map(|d| (d.date, d.steps)).collect()
}

async fn steps_on_server(server: &TestServer, patient_id: i64) -> i64 {
    server
        .samples(patient_id)
        .await
        .iter()
        .map(|s| s.steps)
        .sum()
}

/// A Current Time value written to the watch: its local date and time.
fn written_time(value: &[u8]) -> chrono::NaiveDateTime {
    assert_eq!(value.len(), 10, "Current Time is 10 bytes: {value:?}");
    date(
        i32::from(u16::from_le_bytes([value[0], value[1]])),
        u32::from(value[2]),
        u32::from(value[3]),
    )
    .and_hms_opt(
        u32::from(value[4]),
        u32::from(value[5]),
        u32::from(value[6]),
    )
    .expect("a valid time")
}

/// InfiniTime issue #1270: after midnight a watch kept reporting the previous day's count
/// (13,660) until 09:29, when it restarted from 0. Synced in between, that count is the old
/// day's, not that many new steps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_infinitime_that_resets_late_counts_the_old_day_once() {
    // Berlin is UTC+1 in November: 23:40 local on the 19th.
    let (_bus, fake, server, patient, mut band) = paired_watch(
        InfiniTime::new().resetting_late(),
        utc(2026, 11, 19, 22, 40),
    )
    .await;
    let watch = |f: &dyn Fn(&mut InfiniTime, &mut stepwise_fakebluez::peripheral::Link<'_>)| {
        fake.with_peripheral::<InfiniTime, _>(INFINITIME, |w, link| f(w, link))
            .expect("the watch")
    };
    watch(&|w, link| w.walk(5_000, link));
    band.run(&["sync"]).await.expect_success("the first sync");
    assert_eq!(
        band.recorded_step_count().await,
        Some(5_000),
        "the baseline"
    );

    watch(&|w, link| w.walk(250, link));
    band.set_clock(utc(2026, 11, 19, 22, 55));
    band.run(&["sync"])
        .await
        .expect_success("the sync before midnight");
    assert_eq!(steps_on_server(&server, patient.id).await, 250);

    // Midnight passes; at 08:00 the watch still shows yesterday's 5,250.
    watch(&|w, link| w.midnight(link));
    band.set_clock(utc(2026, 11, 20, 7, 0));
    band.run(&["sync"])
        .await
        .expect_success("the sync before the watch reset");
    assert_eq!(
        steps_on_server(&server, patient.id).await,
        250,
        "the old day's count is not counted again on the new day"
    );

    // The wearer walks: the watch resets and counts 300.
    watch(&|w, link| w.walk(300, link));
    band.set_clock(utc(2026, 11, 20, 8, 40));
    band.run(&["sync"])
        .await
        .expect_success("the sync after the watch reset");
    assert_eq!(
        steps_per_day(&server, patient.id, date(2026, 11, 19), date(2026, 11, 20)).await,
        [(date(2026, 11, 19), 250), (date(2026, 11, 20), 300)],
        "250 steps before midnight, 300 after the late reset; 5,250 never counted twice"
    );
    let samples = server.samples(patient.id).await;
    assert!(
        samples
            .iter()
            .filter(|s| s.minute >= utc(2026, 11, 20, 7, 0))
            .all(|s| s.estimated),
        "steps spread over the 100 minutes between the syncs are estimates: {samples:?}"
    );
}

/// Issue 5, step 7: `stepwise band watch` stays connected to an InfiniTime watch across a
/// local midnight (the count resets) and a reboot (count 0, link lost): the server's steps
/// per local day are exactly what the test walked after the first count (a baseline), the
/// watch's clock was set, and Ctrl-C stops the watch cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watching_an_infinitime_across_midnight_and_a_reboot_counts_every_step_once() {
    // The collector's clock starts this long before midnight in Berlin (23:00 UTC).
    const BEFORE_MIDNIGHT: Duration = Duration::from_secs(25);
    let midnight = utc(2026, 11, 19, 23, 0);
    let start = midnight - chrono::TimeDelta::seconds(BEFORE_MIDNIGHT.as_secs() as i64);
    let (_bus, fake, server, patient, band) = paired_watch(InfiniTime::new(), start).await;
    walk_to(&fake, 5000); // Earlier today, before the collector saw the watch.

    // The collector's clock shows `start` when it is created: after `spawned`, before the
    // first count is recorded.
    let spawned = Instant::now();
    let watch = band.spawn(&["watch", "--upload-every", "1s", "--seconds", "5"]);
    let limit = Duration::from_secs(20);
    eventually("the first count is recorded", limit, || async {
        band.recorded_step_count().await == Some(5000)
    })
    .await;
    let clock_running = Instant::now();
    walk_to(&fake, 5100);
    eventually("100 steps uploaded", limit, || async {
        steps_on_server(&server, patient.id).await == 100
    })
    .await;
    walk_to(&fake, 5250);
    eventually("250 steps uploaded", limit, || async {
        steps_on_server(&server, patient.id).await == 250
    })
    .await;
    assert!(
        spawned.elapsed() < BEFORE_MIDNIGHT,
        "the steps before midnight arrived too late for this test to mean anything"
    );

    // Past midnight on the collector's clock, the watch (its clock a little behind) starts
    // the day at 0.
    let past_midnight = BEFORE_MIDNIGHT + Duration::from_secs(2);
    tokio::time::sleep(past_midnight.saturating_sub(clock_running.elapsed())).await;
    walk_to(&fake, 0);
    walk_to(&fake, 80);
    walk_to(&fake, 200);
    eventually("200 steps after midnight uploaded", limit, || async {
        steps_on_server(&server, patient.id).await == 450
    })
    .await;

    // A reboot: the link drops, the count restarts at 0, and the watch counts 30 steps
    // before the collector is back.
    fake.with_peripheral::<InfiniTime, _>(INFINITIME, |w, link| w.reboot(link))
        .expect("the watch");
    walk_to(&fake, 30);
    eventually("the collector reconnects", limit, || async {
        let stats = fake.stats(INFINITIME).expect("stats");
        stats.connections >= 3 && stats.connected
    })
    .await;
    eventually("the 30 steps after the reboot uploaded", limit, || async {
        steps_on_server(&server, patient.id).await == 480
    })
    .await;
    walk_to(&fake, 90);
    eventually("60 more steps uploaded", limit, || async {
        steps_on_server(&server, patient.id).await == 540
    })
    .await;

    // A corrupt reading, as a real watch sent (InfiniTime issue #1789): ignored, and the last
    // good count stays the one the next count is compared with.
    walk_to(&fake, stepwise_fakebluez::sim::infinitime::CORRUPT_READING);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(steps_on_server(&server, patient.id).await, 540);
    assert_eq!(band.recorded_step_count().await, Some(90));
    walk_to(&fake, 90);

    watch.interrupt();
    let stopped = tokio::task::spawn_blocking(move || watch.wait(Duration::from_secs(20)))
        .await
        .expect("waiting for watch");
    assert!(
        stopped.status.success(),
        "watch stops cleanly on Ctrl-C: {stopped}"
    );

    assert_eq!(
        steps_per_day(&server, patient.id, date(2026, 11, 19), date(2026, 11, 20)).await,
        [(date(2026, 11, 19), 250), (date(2026, 11, 20), 290)],
        "steps per local day: 250 before midnight; 200, then 90 after the reboot"
    );
    let samples = server.samples(patient.id).await;
    assert!(
        samples
            .iter()
            .all(|s| (start - chrono::TimeDelta::minutes(1)
                ..midnight + chrono::TimeDelta::minutes(2))
                .contains(&s.minute)),
        "every step sits in the minutes the watch was worn: {samples:?}"
    );

    let writes = fake.stats(INFINITIME).expect("stats").current_time_writes;
    assert!(
        writes.len() >= 3,
        "the clock is set on pairing and on each connection"
    );
    let local = |t: DateTime<Utc>| t.with_timezone(&berlin()).naive_local();
    let first_watch_write = written_time(&writes[1]);
    assert!(
        (local(start) - chrono::TimeDelta::seconds(1)..local(midnight))
            .contains(&first_watch_write),
        "the watch's clock set to Berlin time just before midnight: {first_watch_write}"
    );
    let after_reboot = written_time(writes.last().expect("a write"));
    assert!(
        (local(midnight)..local(midnight) + chrono::TimeDelta::minutes(1)).contains(&after_reboot),
        "after the reboot the clock is set again, past midnight: {after_reboot}"
    );
}

/// Issue 5, step 8: a PAMS device's ended sessions (one per walk of the wearer) synced: the
/// server's steps are the sessions' steps, minute by minute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pams_sessions_arrive_as_their_steps() {
    let log = wearer(date(2026, 11, 16), 3, 29);
    assert!(log.walks().len() >= 6, "a few walks to fetch");
    let bus = start_bus();
    let _fake = start_fake(
        &bus,
        vec![DeviceSpec::new(
            PAMS,
            PamsDevice::new(berlin(), log.walks()).with_segment_payload(7),
        )],
    );
    let server = TestServer::start(now()).await;
    let patient = server.patient().await;
    let band = Collector::new(&bus, "Europe/Berlin", Some(now()));
    let paired = pair(
        &band,
        &server.url(),
        &patient.pairing_code().await,
        PAMS,
        None,
    )
    .await
    .expect_success("pair");
    assert!(
        paired.stdout.contains("(pams, C8:3A:35:00:00:03)"),
        "{paired}"
    );
    band.run(&["sync", "--since", "2026-11-16"])
        .await
        .expect_success("sync");

    let expected: Vec<(DateTime<Utc>, i64)> = log
        .walks()
        .iter()
        .flat_map(|w| {
            w.steps_per_minute
                .iter()
                .enumerate()
                .map(|(i, &s)| (w.start + chrono::TimeDelta::minutes(i as i64), i64::from(s)))
        })
        .collect();
    let held: Vec<(DateTime<Utc>, i64)> = server
        .samples(patient.id)
        .await
        .iter()
        .map(|s| (s.minute, s.steps))
        .collect();
    assert_eq!(held, expected, "every session minute with its steps");
    let walked: u64 = log.walks().iter().map(|w| w.steps()).sum();
    assert_eq!(steps_on_server(&server, patient.id).await, walked as i64);

    band.run(&["sync"]).await.expect_success("the second sync");
    assert_eq!(server.samples(patient.id).await.len(), expected.len());
}

/// Issue 5, "done when" (1): `stepwise band scan` lists the three simulated devices with
/// kind, name, address and signal, strongest first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_lists_the_three_simulated_devices() {
    let log = wearer(date(2026, 11, 19), 1, 31);
    let bus = start_bus();
    let _fake = start_fake(
        &bus,
        vec![
            DeviceSpec::new(INFINITIME, InfiniTime::new())
                .random_address()
                .with_rssi(-64),
            mi_band_5(&log, MiBandOptions::default()).with_rssi(-48),
            DeviceSpec::new(PAMS, PamsDevice::new(berlin(), log.walks())).with_rssi(-71),
        ],
    );
    let band = Collector::new(&bus, "Europe/Berlin", None);
    let scan = band
        .run(&["scan", "--seconds", "2"])
        .await
        .expect_success("scan");
    let rows: Vec<Vec<&str>> = scan
        .stdout
        .lines()
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(
        rows,
        [
            vec!["KIND", "NAME", "ADDRESS", "SIGNAL"],
            vec!["mi-band-5", "Mi Smart Band 5", MI_BAND_5, "-48 dBm"],
            vec!["infinitime", "InfiniTime", INFINITIME, "-64 dBm"],
            vec!["pams (experimental)", "PAMS Step Monitor", PAMS, "-71 dBm"],
        ],
        "{scan}"
    );
}

fn band_days_of(timeline: &serde_json::Value) -> BTreeMap<NaiveDate, BandDay> {
    serde_json::from_value::<Vec<BandDay>>(timeline["band_days"].clone())
        .expect("band days in the timeline")
        .into_iter()
        .map(|d| (d.date, d))
        .collect()
}

/// Issue 5, "done when" (2): `pair` + `sync` put a week of a simulated Mi Band's data into
/// the server the README starts (`stepwise demo`), for a demo patient logged in with her
/// password who made the pairing code herself. The week is one before her demo band's first
/// day (the server keeps the higher count where two bands counted the same minute, so only
/// then do the totals simply add up): each day's totals grow by exactly the wearer's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pair_and_sync_put_a_week_into_the_readme_demo_server() {
    const PASSWORD: &str = "demo-password";
    let london = chrono_tz::Europe::London;
    let mut demo = Demo::start();
    let therapist = Session::login(&demo.url, "therapist@demo.stepwise", PASSWORD).await;
    let patients = therapist.get("/patients").await;
    let aisha = patients
        .as_array()
        .expect("a list")
        .iter()
        .find(|r| r["patient"]["display_name"] == "Aisha Okafor")
        .and_then(|r| r["patient"]["id"].as_i64())
        .unwrap_or_else(|| panic!("Aisha is a demo patient: {patients}"));
    let today = Utc::now().with_timezone(&london).date_naive();
    let timeline = format!(
        "/patients/{aisha}/timeline?from={}&to={today}",
        today - chrono::Days::new(80)
    );
    let before = band_days_of(&therapist.get(&timeline).await);
    let her_band_from = *before.keys().next().expect("Aisha's demo band has data");
    let first = her_band_from - chrono::Days::new(8);
    assert!(today - first < chrono::TimeDelta::days(80), "{first}");
    let log = Wearer::generate(london, first, 7, 37, None);

    let bus = start_bus();
    let _fake = start_fake(
        &bus,
        vec![
            DeviceSpec::new(
                MI_BAND_5,
                MiBand::mi_band_5(KEY, london, log.minutes.clone()),
            )
            .random_address(),
        ],
    );
    let patient = Session::login(&demo.url, "aisha@demo.stepwise", PASSWORD).await;
    let code = patient
        .post("/me/pairing-codes", serde_json::json!({}))
        .await;
    let code = code["code"].as_str().expect("a pairing code");
    let band = Collector::new(&bus, "Europe/London", None);
    let key = hex(&KEY);
    // As the README has it, without --address: the only supported band nearby.
    band.run(&[
        "pair",
        "--server",
        &demo.url,
        "--code",
        code,
        "--key",
        &key,
        "--seconds",
        "3",
    ])
    .await
    .expect_success("pair");
    band.run(&["sync", "--since", &first.to_string()])
        .await
        .expect_success("sync");

    let after = band_days_of(&therapist.get(&timeline).await);
    let expected: BTreeMap<NaiveDate, BandDay> = expect::band_days(
        &log.minutes,
        &expect::episodes(&log.minutes, Records::Eight),
        london,
    )
    .into_iter()
    .map(|d| (d.date, d))
    .collect();
    assert!(expected.len() >= 7);
    let dates: BTreeSet<NaiveDate> = after.keys().chain(before.keys()).copied().collect();
    for day in dates.into_iter().chain(expected.keys().copied()) {
        let of = |days: &BTreeMap<NaiveDate, BandDay>| {
            days.get(&day).cloned().unwrap_or(BandDay {
                date: day,
                ..BandDay::default()
            })
        };
        let (b, a, w) = (of(&before), of(&after), of(&expected));
        assert_eq!(
            (
                a.steps - b.steps,
                a.minutes_with_data - b.minutes_with_data,
                a.sleep_min - b.sleep_min
            ),
            (w.steps, w.minutes_with_data, w.sleep_min),
            "{day}: steps, minutes and sleep grew by the wearer's"
        );
    }
    let status = demo.interrupt().expect("the demo stops on Ctrl-C");
    assert!(status.success(), "{status:?}");
}

/// An import in the same data directory (`stepwise band import`) adds an import pairing and
/// the devices the export names: `band sync` still reads only the band, and says nothing of
/// them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_in_the_same_data_directory_leaves_the_band_sync_alone() {
    let log = wearer(date(2026, 11, 13), 7, 5);
    let bus = start_bus();
    let _fake = start_fake(&bus, vec![mi_band_5(&log, MiBandOptions::default())]);
    let server = TestServer::start(now()).await;
    let patient = server.patient().await;
    let band = Collector::new(&bus, "Europe/Berlin", Some(now()));
    let code = patient.pairing_code().await;
    pair(&band, &server.url(), &code, MI_BAND_5, Some(KEY))
        .await
        .expect_success("pair");
    // A Gadgetbridge database of other bands (crates/stepwise-imports' fixture).
    let file = std::env::temp_dir().join(stepwise_testkit::unique_name("Gadgetbridge"));
    let sql = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../stepwise-imports/tests/fixtures/gadgetbridge/gadgetbridge.sql"
    ))
    .expect("the fixture");
    let conn = rusqlite::Connection::open(&file).expect("a database file");
    conn.execute_batch(&sql).expect("the fixture's SQL");
    conn.close().expect("closing");
    let code = patient.pairing_code().await;
    let imported = band
        .run(&[
            "import",
            "--server",
            &server.url(),
            "--code",
            &code,
            file.to_str().expect("a path"),
        ])
        .await
        .expect_success("the import");
    let _ = std::fs::remove_file(&file);
    assert!(
        imported.stdout.starts_with("gadgetbridge export"),
        "{imported}"
    );
    let synced = band
        .run(&["sync", "--since", "2026-11-13"])
        .await
        .expect_success("the sync after an import");
    assert!(
        synced.stdout.starts_with("Mi Smart Band 5 (mi-band-5, "),
        "{synced}"
    );
    assert!(!synced.stdout.contains("gadgetbridge"), "{synced}");
    assert!(!synced.stdout.contains("phone-import"), "{synced}");
    // Asked for by address, a device found in an import is named, not read.
    let refused = band
        .run(&["sync", "--address", "AA:BB:CC:DD:EE:01"])
        .await
        .expect_failure("a sync of an imported device");
    assert!(
        refused.stderr.contains("came from an import, not a band"),
        "{refused}"
    );
}
