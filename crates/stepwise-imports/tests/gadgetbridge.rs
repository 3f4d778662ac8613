//! The Gadgetbridge reader against databases built from the SQL in
//! `tests/fixtures/gadgetbridge/` (whose README states the truth checked here).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use rusqlite::Connection;
use stepwise_imports::gadgetbridge;
use stepwise_imports::{Export, Format, SourceData};
use stepwise_wearables::records::SleepStage;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gadgetbridge");

/// A directory of its own for one test.
fn scratch(test: &str) -> PathBuf {
    // Cargo's directory for integration tests' files, inside the target directory.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "stepwise-gadgetbridge-{}-{test}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fixture_sql(name: &str) -> String {
    std::fs::read_to_string(Path::new(FIXTURES).join(name)).unwrap()
}

/// A database file named `Gadgetbridge` in `dir` from `sql`.
fn database(dir: &Path, sql: &str) -> PathBuf {
    let path = dir.join("Gadgetbridge");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(sql).unwrap();
    conn.close().unwrap();
    path
}

fn source<'a>(export: &'a Export, identity: &str) -> &'a SourceData {
    export
        .sources
        .iter()
        .find(|s| s.source.identity == identity)
        .unwrap_or_else(|| panic!("no source {identity} in {:?}", export.sources))
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// Steps per UTC day.
fn steps_by_day(data: &SourceData) -> BTreeMap<NaiveDate, u32> {
    let mut days = BTreeMap::new();
    for m in &data.minutes {
        *days.entry(m.minute.date_naive()).or_insert(0) += m.steps;
    }
    days.retain(|_, steps| *steps > 0);
    days
}

/// Minutes asleep (light, deep, REM; not awake) per UTC day.
fn sleep_by_day(data: &SourceData) -> BTreeMap<NaiveDate, i64> {
    let mut days = BTreeMap::new();
    for e in &data.sleep {
        if e.stage == SleepStage::Awake {
            continue;
        }
        let mut at = e.start;
        while at < e.end {
            *days.entry(at.date_naive()).or_insert(0) += 1;
            at += TimeDelta::minutes(1);
        }
    }
    days
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[test]
fn the_fixture_reads_to_its_truth() {
    let dir = scratch("truth");
    let path = database(&dir, &fixture_sql("gadgetbridge.sql"));
    let export = gadgetbridge::read(&path).unwrap();
    assert_eq!(export.format, Format::Gadgetbridge);
    let identities: Vec<&str> = export
        .sources
        .iter()
        .map(|s| s.source.identity.as_str())
        .collect();
    let bangle = stepwise_imports::Source::derived_identity(&["gadgetbridge", "bangle-5f2a"]);
    let mut expected = vec![
        "AA:BB:CC:DD:EE:01",
        "C1:C2:C3:C4:C5:C6",
        "D1:D2:D3:D4:D5:D6",
        "E1:E2:E3:E4:E5:E6",
        "A0:B0:C0:D0:E0:F0",
        "B0:B1:B2:B3:B4:B5",
        bangle.as_str(),
    ];
    expected.sort();
    // The unused band (F1:…) has no samples and is left out.
    assert_eq!(identities, expected);

    // Mi Band 5 (Huami kinds).
    let mi5 = source(&export, "AA:BB:CC:DD:EE:01");
    assert_eq!(mi5.source.name, "Mi Band 5");
    assert_eq!(
        steps_by_day(mi5),
        BTreeMap::from([(day("2026-11-20"), 500), (day("2026-11-21"), 20)])
    );
    assert_eq!(
        sleep_by_day(mi5),
        BTreeMap::from([(day("2026-11-20"), 60), (day("2026-11-21"), 30)])
    );
    let stages: Vec<(DateTime<Utc>, DateTime<Utc>, SleepStage)> = mi5
        .sleep
        .iter()
        .map(|e| (e.start, e.end, e.stage))
        .collect();
    assert_eq!(
        stages,
        vec![
            (
                utc("2026-11-20T23:00:00Z"),
                utc("2026-11-20T23:30:00Z"),
                SleepStage::Light
            ),
            (
                utc("2026-11-20T23:30:00Z"),
                utc("2026-11-21T00:00:00Z"),
                SleepStage::Deep
            ),
            (
                utc("2026-11-21T00:00:00Z"),
                utc("2026-11-21T00:10:00Z"),
                SleepStage::Awake
            ),
            (
                utc("2026-11-21T00:10:00Z"),
                utc("2026-11-21T00:40:00Z"),
                SleepStage::Light
            ),
        ]
    );
    let first = mi5.minutes.first().unwrap();
    assert_eq!(first.minute, utc("2026-11-20T10:00:00Z"));
    assert_eq!(
        (first.steps, first.heart_rate, first.estimated),
        (50, Some(90), false)
    );
    // Heart rate 255 and 0 are "no value"; the minute with nothing is left out.
    assert!(mi5.minutes.iter().all(|m| m.heart_rate != Some(255)));
    assert!(
        !mi5.minutes
            .iter()
            .any(|m| m.minute == utc("2026-11-20T10:10:00Z"))
    );

    // Mi Band 1 (its own kinds).
    let mi1 = source(&export, "E1:E2:E3:E4:E5:E6");
    assert_eq!(steps_by_day(mi1), BTreeMap::from([(day("2026-11-20"), 12)]));
    assert_eq!(sleep_by_day(mi1), BTreeMap::from([(day("2026-11-20"), 10)]));
    assert_eq!(
        mi1.sleep.iter().map(|e| e.stage).collect::<Vec<_>>(),
        vec![SleepStage::Light, SleepStage::Deep]
    );

    // Amazfit GTR 4 (Zepp OS): the alias is its name.
    let gtr = source(&export, "C1:C2:C3:C4:C5:C6");
    assert_eq!(gtr.source.name, "My watch");
    assert_eq!(
        steps_by_day(gtr),
        BTreeMap::from([(day("2026-11-21"), 100)])
    );
    assert_eq!(sleep_by_day(gtr), BTreeMap::from([(day("2026-11-21"), 15)]));
    assert_eq!(
        gtr.sleep
            .iter()
            .map(|e| (e.start, e.stage))
            .collect::<Vec<_>>(),
        vec![
            (utc("2026-11-21T07:00:00Z"), SleepStage::Rem),
            (utc("2026-11-21T07:05:00Z"), SleepStage::Deep),
            (utc("2026-11-21T07:10:00Z"), SleepStage::Light),
        ]
    );

    // PineTime: steps since the previous row, spread and estimated.
    let pine = source(&export, "D1:D2:D3:D4:D5:D6");
    assert_eq!(pine.source.name, "InfiniTime");
    assert_eq!(
        steps_by_day(pine),
        BTreeMap::from([(day("2026-11-21"), 112)])
    );
    assert!(pine.sleep.is_empty());
    let at = |s: &str| pine.minutes.iter().find(|m| m.minute == utc(s)).copied();
    let m = at("2026-11-21T12:01:00Z").unwrap();
    assert_eq!((m.steps, m.estimated), (10, true));
    // 12:10 has 10 spread steps and the 5 of a row inside the same minute: not estimated.
    let m = at("2026-11-21T12:10:00Z").unwrap();
    assert_eq!((m.steps, m.estimated), (15, false));
    // 7 steps after 140 minutes: spread over the last hour, 1 each in its last 7 minutes.
    assert!(at("2026-11-21T14:23:00Z").is_none());
    assert_eq!(at("2026-11-21T14:24:00Z").unwrap().steps, 1);
    assert_eq!(at("2026-11-21T14:30:00Z").unwrap().steps, 1);
    assert_eq!(at("2026-11-21T12:00:00Z").unwrap().heart_rate, Some(72));

    // Bangle.js: a record every 10 minutes, with sleep kinds.
    let bj = source(&export, &bangle);
    assert_eq!(bj.source.name, "Bangle.js 5f2a");
    assert_eq!(
        steps_by_day(bj),
        BTreeMap::from([(day("2026-11-21"), 66), (day("2026-11-22"), 16)])
    );
    assert_eq!(sleep_by_day(bj), BTreeMap::from([(day("2026-11-22"), 20)]));
    assert!(bj.minutes.iter().all(|m| m.estimated));

    // Xiaomi Smart Band 8: sleep from its sessions and stages.
    let xi = source(&export, "A0:B0:C0:D0:E0:F0");
    assert_eq!(steps_by_day(xi), BTreeMap::from([(day("2026-11-20"), 300)]));
    assert_eq!(
        sleep_by_day(xi),
        BTreeMap::from([(day("2026-11-20"), 75), (day("2026-11-21"), 395)])
    );
    assert_eq!(
        xi.sleep
            .iter()
            .map(|e| (e.start, e.end, e.stage))
            .collect::<Vec<_>>(),
        vec![
            (
                utc("2026-11-20T22:45:00Z"),
                utc("2026-11-20T23:45:00Z"),
                SleepStage::Light
            ),
            (
                utc("2026-11-20T23:45:00Z"),
                utc("2026-11-21T01:00:00Z"),
                SleepStage::Deep
            ),
            (
                utc("2026-11-21T01:00:00Z"),
                utc("2026-11-21T01:30:00Z"),
                SleepStage::Rem
            ),
            (
                utc("2026-11-21T01:30:00Z"),
                utc("2026-11-21T01:40:00Z"),
                SleepStage::Awake
            ),
            (
                utc("2026-11-21T01:40:00Z"),
                utc("2026-11-21T06:00:00Z"),
                SleepStage::Light
            ),
            (
                utc("2026-11-21T14:00:00Z"),
                utc("2026-11-21T14:45:00Z"),
                SleepStage::Asleep
            ),
        ]
    );

    // HUAWEI Band 6: minute step records and sleep intervals, each stored twice.
    let hw = source(&export, "B0:B1:B2:B3:B4:B5");
    assert_eq!(steps_by_day(hw), BTreeMap::from([(day("2026-11-20"), 75)]));
    assert_eq!(
        sleep_by_day(hw),
        BTreeMap::from([(day("2026-11-20"), 60), (day("2026-11-21"), 75)])
    );
    assert_eq!(
        hw.sleep
            .iter()
            .map(|e| (e.start, e.end, e.stage))
            .collect::<Vec<_>>(),
        vec![
            (
                utc("2026-11-20T23:00:00Z"),
                utc("2026-11-21T00:30:00Z"),
                SleepStage::Light
            ),
            (
                utc("2026-11-21T00:30:00Z"),
                utc("2026-11-21T01:15:00Z"),
                SleepStage::Deep
            ),
        ]
    );
    assert_eq!(
        hw.minutes
            .iter()
            .map(|m| (m.steps, m.heart_rate, m.estimated))
            .collect::<Vec<_>>(),
        vec![
            (40, Some(85), false),
            (35, None, false),
            (0, Some(90), false)
        ]
    );

    // Every source: minutes sorted, once each, on whole minutes; sleep sorted, not overlapping.
    for s in &export.sources {
        assert!(s.minutes.windows(2).all(|w| w[0].minute < w[1].minute));
        assert!(s.minutes.iter().all(|m| m.minute.timestamp() % 60 == 0));
        assert!(s.sleep.windows(2).all(|w| w[0].end <= w[1].start));
    }
    // Nothing was written next to the database.
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(files.len(), 1);
}

#[test]
fn an_old_schema_without_type_name_is_read_by_the_numeric_type() {
    let dir = scratch("old");
    let path = database(&dir, &fixture_sql("old-schema.sql"));
    let export = gadgetbridge::read(&path).unwrap();
    let mi1 = source(&export, "88:0F:10:00:00:01");
    assert_eq!(mi1.source.name, "MI");
    assert!(mi1.minutes.is_empty());
    assert_eq!(sleep_by_day(mi1), BTreeMap::from([(day("2019-03-01"), 3)]));
    let mi2 = source(&export, "C8:0F:10:00:00:02");
    assert_eq!(steps_by_day(mi2), BTreeMap::from([(day("2019-03-01"), 90)]));
    assert!(mi2.sleep.is_empty());
}

#[test]
fn one_address_in_two_cases_is_one_source() {
    let dir = scratch("cases");
    let sql = fixture_sql("old-schema.sql")
        + "INSERT INTO DEVICE VALUES (3,'MI Band 2 again','Xiaomi','c8:0f:10:00:00:02',11,NULL);\
           INSERT INTO MI_BAND_ACTIVITY_SAMPLE VALUES (1551564000,3,1,0,7,1,0);";
    let path = database(&dir, &sql);
    let export = gadgetbridge::read(&path).unwrap();
    assert_eq!(export.sources.len(), 2);
    let mi2 = source(&export, "C8:0F:10:00:00:02");
    assert_eq!(mi2.source.name, "MI Band 2");
    assert_eq!(
        steps_by_day(mi2),
        BTreeMap::from([(day("2019-03-01"), 90), (day("2019-03-02"), 7)])
    );
}

#[test]
fn a_path_with_uri_characters_opens() {
    let dir = scratch("uri").join("50% of a?b#c d");
    std::fs::create_dir_all(&dir).unwrap();
    let path = database(&dir, &fixture_sql("old-schema.sql"));
    let export = gadgetbridge::read(&path).unwrap();
    assert_eq!(export.sources.len(), 2);
}

#[test]
fn a_database_in_wal_mode_copied_alone_reads() {
    let dir = scratch("wal");
    let source_dir = dir.join("phone");
    std::fs::create_dir_all(&source_dir).unwrap();
    let original = source_dir.join("Gadgetbridge");
    let conn = Connection::open(&original).unwrap();
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
        .unwrap();
    conn.execute_batch(&fixture_sql("old-schema.sql")).unwrap();
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    // The export is the main file only, copied while the app still has it open.
    let copy = dir.join("Gadgetbridge");
    std::fs::copy(&original, &copy).unwrap();
    drop(conn);
    let export = gadgetbridge::read(&copy).unwrap();
    assert_eq!(export.sources.len(), 2);
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n.ends_with("-wal") || n.ends_with("-shm")),
        "{names:?}"
    );
}

/// Damaged copies of the fixture (bytes overwritten here and there) fail or read, but never
/// panic.
#[test]
fn damaged_databases_never_panic() {
    let dir = scratch("damaged");
    let path = database(&dir, &fixture_sql("gadgetbridge.sql"));
    let good = std::fs::read(&path).unwrap();
    let mut state = 0x2545_f491_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut failed = 0;
    for round in 0..150 {
        let mut bytes = good.clone();
        for _ in 0..(1 + round % 8) {
            let at = (next() % bytes.len() as u64) as usize;
            bytes[at] = (next() & 0xff) as u8;
        }
        let damaged = dir.join(format!("damaged-{round}"));
        std::fs::write(&damaged, &bytes).unwrap();
        if gadgetbridge::read(&damaged).is_err() {
            failed += 1;
        }
    }
    // Most damage is found (SQLite's quick check); some lands in unused bytes or in values.
    assert!(failed > 50, "{failed}");
}

#[test]
fn a_zipped_export_is_read_through_read_export() {
    use std::io::Write;
    let dir = scratch("zip");
    let path = database(&dir, &fixture_sql("gadgetbridge.sql"));
    let zip_path = dir.join("gadgetbridge.zip");
    {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("database/Gadgetbridge", options).unwrap();
        zip.write_all(&std::fs::read(&path).unwrap()).unwrap();
        zip.finish().unwrap();
    }
    let unpack = dir.join("scratch");
    std::fs::create_dir_all(&unpack).unwrap();
    let options = stepwise_imports::Options {
        limits: Default::default(),
        scratch: &unpack,
    };
    let export = stepwise_imports::read_export(&zip_path, &options, &mut |_| {}).unwrap();
    assert_eq!(export, gadgetbridge::read(&path).unwrap());
}

/// The error message of reading `sql` (after the fixture's own SQL when `with_fixture`).
fn error_of(test: &str, sql: &str, with_fixture: bool) -> String {
    let dir = scratch(test);
    let mut all = String::new();
    if with_fixture {
        all.push_str(&fixture_sql("gadgetbridge.sql"));
    }
    all.push_str(sql);
    let path = database(&dir, &all);
    gadgetbridge::read(&path).unwrap_err().to_string()
}

#[test]
fn a_text_file_is_not_a_database() {
    let dir = scratch("text");
    let path = dir.join("Gadgetbridge");
    std::fs::write(&path, "date,steps\n2026-11-20,5000\n".repeat(20)).unwrap();
    assert_eq!(
        gadgetbridge::read(&path).unwrap_err().to_string(),
        "Gadgetbridge: is not an SQLite database (a Gadgetbridge export is one)"
    );
}

#[test]
fn a_truncated_database_is_refused() {
    let dir = scratch("truncated");
    let path = database(&dir, &fixture_sql("gadgetbridge.sql"));
    let bytes = std::fs::read(&path).unwrap();
    let half = bytes.len() / 2;
    std::fs::write(&path, &bytes[..half]).unwrap();
    assert_eq!(
        gadgetbridge::read(&path).unwrap_err().to_string(),
        format!(
            "Gadgetbridge: the database is truncated: {half} bytes of the {} it should have \
             (copy the export again)",
            bytes.len()
        )
    );
}

#[test]
fn a_damaged_database_is_refused() {
    let dir = scratch("damaged-page");
    let path = database(&dir, &fixture_sql("gadgetbridge.sql"));
    let mut bytes = std::fs::read(&path).unwrap();
    // Garbage over the second page (the first holds the schema).
    let page = usize::from(u16::from_be_bytes([bytes[16], bytes[17]]));
    for b in &mut bytes[page..2 * page] {
        *b = 0x5a;
    }
    std::fs::write(&path, &bytes).unwrap();
    let err = gadgetbridge::read(&path).unwrap_err().to_string();
    assert!(
        err.starts_with("Gadgetbridge: the database is damaged (")
            && err.ends_with("); copy the export again"),
        "{err}"
    );
    assert!(!err.contains('\n'), "{err}");
}

#[test]
fn a_trigger_is_refused() {
    let err = error_of(
        "trigger",
        "CREATE TRIGGER sneaky AFTER INSERT ON DEVICE BEGIN DELETE FROM DEVICE; END;",
        true,
    );
    assert_eq!(
        err,
        "Gadgetbridge: the database holds a trigger (sneaky); a Gadgetbridge export has none"
    );
}

#[test]
fn a_view_named_like_a_sample_table_is_refused() {
    let err = error_of(
        "view",
        "CREATE TABLE DEVICE (_id INTEGER PRIMARY KEY, NAME TEXT, IDENTIFIER TEXT);\
         CREATE TABLE T (x INTEGER);\
         CREATE VIEW XIAOMI_ACTIVITY_SAMPLE AS SELECT x AS TIMESTAMP FROM T;",
        false,
    );
    assert_eq!(
        err,
        "Gadgetbridge: XIAOMI_ACTIVITY_SAMPLE is a view, not a table; a Gadgetbridge export \
         has none"
    );
}

#[test]
fn an_unexpected_schema_is_named() {
    let err = error_of(
        "schema",
        "CREATE TABLE contacts (name TEXT, phone TEXT);",
        false,
    );
    assert_eq!(
        err,
        "Gadgetbridge: an unexpected schema: no DEVICE table or none of the activity tables \
         Stepwise reads (MI_BAND_ACTIVITY_SAMPLE, HUAMI_EXTENDED_ACTIVITY_SAMPLE, \
         XIAOMI_ACTIVITY_SAMPLE, PINE_TIME_ACTIVITY_SAMPLE, BANGLE_JSACTIVITY_SAMPLE, \
         HUAWEI_ACTIVITY_SAMPLE)"
    );
}

#[test]
fn a_missing_column_is_named() {
    let err = error_of(
        "column",
        "CREATE TABLE DEVICE (_id INTEGER PRIMARY KEY, NAME TEXT, IDENTIFIER TEXT);\
         CREATE TABLE MI_BAND_ACTIVITY_SAMPLE (TIMESTAMP INTEGER, DEVICE_ID INTEGER, \
         STEPS INTEGER, HEART_RATE INTEGER);",
        false,
    );
    assert_eq!(
        err,
        "Gadgetbridge: table MI_BAND_ACTIVITY_SAMPLE has no column RAW_KIND"
    );
}

#[test]
fn a_timestamp_out_of_range_fails_the_file() {
    let err = error_of(
        "range",
        "INSERT INTO MI_BAND_ACTIVITY_SAMPLE VALUES (86400,1,1,0,10,1,80);",
        true,
    );
    assert_eq!(
        err,
        "Gadgetbridge: table MI_BAND_ACTIVITY_SAMPLE: device 1 has a sample at 86400 seconds \
         since 1970, outside 2000–2100 (the band's clock was wrong)"
    );
    let err = error_of(
        "range-late",
        "INSERT INTO PINE_TIME_ACTIVITY_SAMPLE VALUES (4133980800,3,1,0,5,0);",
        true,
    );
    assert!(
        err.contains("device 3 has a sample at 4133980800 seconds"),
        "{err}"
    );
}

#[test]
fn a_value_that_is_not_a_number_is_named() {
    let err = error_of(
        "text-value",
        "INSERT INTO MI_BAND_ACTIVITY_SAMPLE VALUES (1795000000,1,1,0,'many',1,80);",
        true,
    );
    assert_eq!(
        err,
        "Gadgetbridge: table MI_BAND_ACTIVITY_SAMPLE, column STEPS: a value that is not a \
         whole number"
    );
}
