//! The band collector end to end through btleplug: the real `stepwise band` binary talks to
//! simulated bands on a fake BlueZ (a private D-Bus, `stepwise-fakebluez`) and uploads to a
//! real Stepwise server on a TCP port. What the server holds is compared with the scripted
//! wearer's own log.
//!
//! Needs Debian's `dbus-daemon` (scripts/test installs it).

mod band {
    pub mod collector;
    pub mod expect;
    pub mod server;
}

use band::collector::{Collector, Finished};
use band::expect::{self, Records};
use band::server::TestServer;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use stepwise_fakebluez::sim::{MiBand, MiBandFaults, MiBandOptions, RecordSize};
use stepwise_fakebluez::wearer::{Wearer, WearerLog};
use stepwise_fakebluez::{Bus, DeviceSpec, FakeBluez, Scenario};

const MI_BAND_5: &str = "E1:5B:9A:3C:42:01";
const MI_BAND_3: &str = "E1:5B:9A:3C:42:03";
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
    match records {
        Records::Eight => assert_eq!(
            by_stage,
            [sleep.light as i64, sleep.deep as i64, sleep.rem as i64],
            "minutes of light, deep and REM sleep"
        ),
        Records::Four => assert_eq!(
            by_stage,
            [(sleep.light + sleep.rem) as i64, sleep.deep as i64, 0],
            "minutes of light (REM included) and deep sleep"
        ),
    }
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
    // 240 minutes × 8 bytes in notifications of 19 payload bytes.
    const ROUND_NOTIFICATIONS: u64 = (ROUND_MINUTES as u64 * 8).div_ceil(19);
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
    assert!(
        refused.stderr.contains("the band refused the key"),
        "{refused}"
    );
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
    const ROUND_NOTIFICATIONS: u64 = (ROUND_MINUTES as u64 * 8).div_ceil(19);
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
