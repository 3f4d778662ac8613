//! Fitbit in Google Takeout, read from zips built of the text fixtures in
//! `tests/fixtures/fitbit/` (their provenance and truths are in its README.md).

use std::collections::BTreeMap;
use std::io::{Cursor, Write};
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use stepwise_imports::archive::{Archive, Limits};
use stepwise_imports::{Export, Format, Source, fitbit};
use stepwise_wearables::records::SleepStage;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fitbit");
const OLD: &str = "Takeout/Fitbit/Global Export Data/";
const PROFILE: &str = "Takeout/Fitbit/Your Profile/Profile.csv";
const NEW: &str = "Takeout/Google Health/";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(FIXTURES).join(name)).unwrap()
}

fn zip_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in files {
            zip.start_file(name.as_str(), options).unwrap();
            zip.write_all(data).unwrap();
        }
        zip.finish().unwrap();
    }
    out.into_inner()
}

fn read(files: &[(String, Vec<u8>)]) -> Result<Export, String> {
    let mut archive = Archive::new(Cursor::new(zip_of(files)), Limits::default()).unwrap();
    let mut last = (0, 0);
    let result = fitbit::read(&mut archive, &mut |done, total| last = (done, total));
    if result.is_ok() {
        assert_eq!(last.0, last.1, "progress ends at the total");
    }
    result.map_err(|e| e.to_string())
}

fn file(path: &str, fixture_name: &str) -> (String, Vec<u8>) {
    (path.to_string(), fixture(fixture_name))
}

fn old_layout() -> Vec<(String, Vec<u8>)> {
    vec![
        file(PROFILE, "Profile.csv"),
        file(
            &format!("{OLD}steps-2024-03-30.json"),
            "steps-2024-03-30.json",
        ),
        file(
            &format!("{OLD}steps-2024-03-31.json"),
            "steps-2024-03-31.json",
        ),
        file(
            &format!("{OLD}sleep-2024-03-30.json"),
            "sleep-2024-03-30.json",
        ),
        // Other Takeout files are ignored.
        (
            "Takeout/Fitbit/Global Export Data/heart_rate-2024-03-30.json".into(),
            b"[]".to_vec(),
        ),
    ]
}

fn new_layout() -> Vec<(String, Vec<u8>)> {
    vec![
        file(
            &format!("{NEW}Physical Activity_GoogleData/steps_2026-10-01.csv"),
            "steps_2026-10-01.csv",
        ),
        file(
            &format!("{NEW}Health Fitness Data_GoogleData/UserSleepStages_2026-10-01.csv"),
            "UserSleepStages_2026-10-01.csv",
        ),
    ]
}

/// Steps per UTC day.
fn steps_by_day(export: &Export, name: &str) -> BTreeMap<NaiveDate, u32> {
    let source = export
        .sources
        .iter()
        .find(|s| s.source.name == name)
        .unwrap();
    let mut days = BTreeMap::new();
    for m in &source.minutes {
        assert!(!m.estimated);
        *days.entry(m.minute.date_naive()).or_insert(0) += m.steps;
    }
    days
}

/// (asleep, awake) minutes per UTC day, from the episodes cut at midnight.
fn sleep_by_day(export: &Export, name: &str) -> BTreeMap<NaiveDate, (i64, i64)> {
    let source = export
        .sources
        .iter()
        .find(|s| s.source.name == name)
        .unwrap();
    let mut days = BTreeMap::new();
    for e in &source.sleep {
        let mut at = e.start;
        while at < e.end {
            let entry = days.entry(at.date_naive()).or_insert((0, 0));
            if e.stage == SleepStage::Awake {
                entry.1 += 1;
            } else {
                entry.0 += 1;
            }
            at += chrono::TimeDelta::minutes(1);
        }
    }
    days
}

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn utc(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

#[test]
fn the_json_layout_gives_utc_minutes_and_converted_sleep() {
    let export = read(&old_layout()).unwrap();
    assert_eq!(export.format, Format::FitbitTakeout);
    assert_eq!(export.sources.len(), 1);
    let source = &export.sources[0];
    assert_eq!(source.source.name, "Fitbit");
    assert_eq!(
        source.source.identity,
        Source::derived_identity(&["fitbit-takeout", "ABC123"])
    );
    assert_eq!(
        steps_by_day(&export, "Fitbit"),
        BTreeMap::from([(day("2024-03-30"), 270), (day("2024-03-31"), 5067)])
    );
    assert_eq!(source.minutes.len(), 6);
    assert_eq!(source.minutes[0].minute, utc("2024-03-30T10:00:00Z"));
    assert_eq!(
        sleep_by_day(&export, "Fitbit"),
        BTreeMap::from([
            (day("2024-03-30"), (108, 2)),
            (day("2024-03-31"), (90, 5)),
            (day("2024-04-10"), (90, 2)),
        ])
    );
    let stages: Vec<(DateTime<Utc>, DateTime<Utc>, SleepStage)> = source
        .sleep
        .iter()
        .map(|e| (e.start, e.end, e.stage))
        .collect();
    use SleepStage::*;
    assert_eq!(
        stages,
        vec![
            (
                utc("2024-03-30T22:10:00Z"),
                utc("2024-03-30T22:40:00Z"),
                Light
            ),
            (
                utc("2024-03-30T22:40:00Z"),
                utc("2024-03-30T23:10:00Z"),
                Deep
            ),
            (
                utc("2024-03-30T23:10:00Z"),
                utc("2024-03-30T23:12:00Z"),
                Awake
            ),
            (
                utc("2024-03-30T23:12:00Z"),
                utc("2024-03-30T23:30:00Z"),
                Deep
            ),
            (
                utc("2024-03-30T23:30:00Z"),
                utc("2024-03-30T23:50:00Z"),
                Rem
            ),
            (
                utc("2024-03-30T23:50:00Z"),
                utc("2024-03-31T01:00:00Z"),
                Light
            ),
            (
                utc("2024-03-31T01:00:00Z"),
                utc("2024-03-31T01:05:00Z"),
                Awake
            ),
            (
                utc("2024-03-31T01:05:00Z"),
                utc("2024-03-31T01:35:00Z"),
                Light
            ),
            (
                utc("2024-04-10T20:00:00Z"),
                utc("2024-04-10T21:00:00Z"),
                Asleep
            ),
            (
                utc("2024-04-10T21:00:00Z"),
                utc("2024-04-10T21:02:00Z"),
                Awake
            ),
            (
                utc("2024-04-10T21:02:00Z"),
                utc("2024-04-10T21:32:00Z"),
                Asleep
            ),
        ]
    );
}

#[test]
fn the_csv_layout_gives_a_source_per_data_source_and_utc_sleep() {
    let export = read(&new_layout()).unwrap();
    let names: Vec<&str> = export
        .sources
        .iter()
        .map(|s| s.source.name.as_str())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert_eq!(
        steps_by_day(&export, "Charge 6"),
        BTreeMap::from([(day("2026-10-01"), 184), (day("2026-10-02"), 20)])
    );
    assert_eq!(
        steps_by_day(&export, "Phone Health Kit"),
        BTreeMap::from([(day("2026-10-01"), 51), (day("2026-10-02"), 3)])
    );
    assert_eq!(
        sleep_by_day(&export, "Fitbit"),
        BTreeMap::from([(day("2026-10-01"), (198, 0)), (day("2026-10-02"), (217, 5))])
    );
    let charge = export
        .sources
        .iter()
        .find(|s| s.source.name == "Charge 6")
        .unwrap();
    assert_eq!(
        charge.source.identity,
        Source::derived_identity(&["fitbit-takeout", "fitbit", "Charge 6"])
    );
}

#[test]
fn both_layouts_together_do_not_count_the_same_span_twice() {
    let mut files = old_layout();
    // The newer layout repeating a minute of the older one's span, and one after it.
    files.push((
        format!("{NEW}Physical Activity_GoogleData/steps_2024-03-01.csv"),
        b"timestamp,steps,data source\n2024-03-30T10:00:00Z,100,Charge 6\n\
          2024-04-02T08:00:00Z,30,Charge 6\n"
            .to_vec(),
    ));
    let export = read(&files).unwrap();
    assert_eq!(
        steps_by_day(&export, "Fitbit"),
        BTreeMap::from([(day("2024-03-30"), 270), (day("2024-03-31"), 5067)])
    );
    assert_eq!(
        steps_by_day(&export, "Charge 6"),
        BTreeMap::from([(day("2024-04-02"), 30)])
    );
}

#[test]
fn an_explicit_zone_replaces_the_profile() {
    let files: Vec<_> = old_layout()
        .into_iter()
        .filter(|(name, _)| name != PROFILE)
        .collect();
    let mut archive = Archive::new(Cursor::new(zip_of(&files)), Limits::default()).unwrap();
    let export =
        fitbit::read_with_zone(&mut archive, chrono_tz::Europe::Berlin, &mut |_, _| {}).unwrap();
    assert_eq!(
        sleep_by_day(&export, "Fitbit").get(&day("2024-04-10")),
        Some(&(90, 2))
    );
    // Without a profile there is no account id.
    assert_eq!(
        export.sources[0].source.identity,
        Source::derived_identity(&["fitbit-takeout", "fitbit"])
    );
}

#[test]
fn a_takeout_without_fitbit_steps_or_sleep_is_refused() {
    let files = vec![
        file(PROFILE, "Profile.csv"),
        (
            "Takeout/Fit/All Sessions/2024-03-30T10_00_00Z_WALKING.json".into(),
            b"{}".to_vec(),
        ),
    ];
    assert_eq!(
        read(&files).unwrap_err(),
        "this file is not an export Stepwise reads: the Takeout archive has no Fitbit minute \
         steps or sleep (Global Export Data/steps-*.json or sleep-*.json, Physical \
         Activity_GoogleData/steps_*.csv, Health Fitness Data_GoogleData/UserSleepStages_*.csv): \
         export Fitbit with all its data"
    );
}

#[test]
fn malformed_json_names_the_file() {
    let mut files = old_layout();
    files.push(file(
        &format!("{OLD}steps-2024-04-01.json"),
        "steps-truncated.json",
    ));
    assert_eq!(
        read(&files).unwrap_err(),
        "Takeout/Fitbit/Global Export Data/steps-2024-04-01.json: is not the JSON Fitbit \
         writes: EOF while parsing a value at line 2 column 43"
    );
}

#[test]
fn a_bad_date_time_names_the_file_and_the_value() {
    let files = vec![file(
        &format!("{OLD}steps-2024-03-30.json"),
        "steps-bad-datetime.json",
    )];
    assert_eq!(
        read(&files).unwrap_err(),
        "Takeout/Fitbit/Global Export Data/steps-2024-03-30.json: dateTime \"2024-03-30 \
         10:01\" is not MM/DD/YY HH:MM:SS"
    );
}

#[test]
fn a_date_before_2000_fails_the_file() {
    let files = vec![file(
        &format!("{OLD}steps-1999-12-31.json"),
        "steps-1999.json",
    )];
    assert_eq!(
        read(&files).unwrap_err(),
        "Takeout/Fitbit/Global Export Data/steps-1999-12-31.json: date \"12/31/99 23:59:00\" \
         is outside 2000–2100"
    );
}

#[test]
fn sleep_without_a_profile_zone_is_refused() {
    let without_profile: Vec<_> = old_layout()
        .into_iter()
        .filter(|(name, _)| name != PROFILE)
        .collect();
    assert_eq!(
        read(&without_profile).unwrap_err(),
        "the Takeout archive: has Fitbit sleep in local time but no Your Profile/Profile.csv \
         with the time zone to convert it: export Fitbit with your profile, or give the time \
         zone"
    );
    let mut empty_zone = without_profile.clone();
    empty_zone.push(file(PROFILE, "Profile-no-timezone.csv"));
    assert_eq!(
        read(&empty_zone).unwrap_err(),
        "Takeout/Fitbit/Your Profile/Profile.csv: has no timezone: it is needed to convert \
         Fitbit sleep times to UTC"
    );
    let mut unknown = without_profile;
    unknown.push((
        PROFILE.into(),
        b"id,timezone\nX,Mars/Olympus_Mons\n".to_vec(),
    ));
    assert_eq!(
        read(&unknown).unwrap_err(),
        "Takeout/Fitbit/Your Profile/Profile.csv: timezone \"Mars/Olympus_Mons\" is not a \
         known IANA time zone"
    );
}

#[test]
fn steps_alone_need_no_profile() {
    let files = vec![file(
        &format!("{OLD}steps-2024-03-30.json"),
        "steps-2024-03-30.json",
    )];
    let export = read(&files).unwrap();
    assert_eq!(
        steps_by_day(&export, "Fitbit"),
        BTreeMap::from([(day("2024-03-30"), 270), (day("2024-03-31"), 60)])
    );
}

#[test]
fn a_bad_csv_timestamp_and_stage_are_named() {
    let files = vec![(
        format!("{NEW}Physical Activity_GoogleData/steps_2026-10-01.csv"),
        b"timestamp,steps,data source\n2026-10-01 06:15:00,84,Charge 6\n".to_vec(),
    )];
    assert_eq!(
        read(&files).unwrap_err(),
        "Takeout/Google Health/Physical Activity_GoogleData/steps_2026-10-01.csv: line 2: \
         timestamp \"2026-10-01 06:15:00\" is not an ISO 8601 time with a zone"
    );
    let files = vec![(
        format!("{NEW}Physical Activity_GoogleData/steps_2026-10-01.csv"),
        b"time,count\n".to_vec(),
    )];
    assert_eq!(
        read(&files).unwrap_err(),
        "Takeout/Google Health/Physical Activity_GoogleData/steps_2026-10-01.csv: has no \
         \"timestamp\" column"
    );
}

#[test]
fn garbage_never_panics() {
    let inputs: [&[u8]; 8] = [
        b"",
        b"{}",
        b"[1,2,3]",
        b"[{\"dateTime\": 5, \"value\": \"1\"}]",
        b"[{\"dateTime\": \"13/45/24 99:99:99\", \"value\": \"1\"}]",
        b"[{\"dateTime\": \"01/01/24 00:00:00\", \"value\": \"-1\"}]",
        b"[{\"startTime\": \"2024-01-01T00:00:00\", \"levels\": {\"data\": [{\"dateTime\": \"2024-01-01T00:00:00\", \"level\": \"deep\", \"seconds\": -5}]}}]",
        b"\xff\xfe\x00garbage",
    ];
    for input in inputs {
        for name in [
            format!("{OLD}steps-2024-01-01.json"),
            format!("{OLD}sleep-2024-01-01.json"),
            format!("{NEW}Physical Activity_GoogleData/steps_2024-01-01.csv"),
            format!("{NEW}Health Fitness Data_GoogleData/UserSleepStages_2024-01-01.csv"),
        ] {
            let files = vec![file(PROFILE, "Profile.csv"), (name, input.to_vec())];
            let _ = read(&files);
        }
    }
}

#[test]
fn a_profile_with_a_byte_order_mark_is_read() {
    let mut files: Vec<_> = old_layout()
        .into_iter()
        .filter(|(name, _)| name != PROFILE)
        .collect();
    let mut profile = b"\xEF\xBB\xBF".to_vec();
    profile.extend(fixture("Profile.csv"));
    files.push((PROFILE.into(), profile));
    let export = read(&files).unwrap();
    assert_eq!(
        export.sources[0].source.identity,
        Source::derived_identity(&["fitbit-takeout", "ABC123"])
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Arbitrary bytes in any file this reader opens fail cleanly or read; never a panic.
    #[test]
    fn arbitrary_files_never_panic(
        bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
        kind in 0usize..4,
    ) {
        let name = [
            format!("{OLD}steps-2024-01-01.json"),
            format!("{OLD}sleep-2024-01-01.json"),
            format!("{NEW}Physical Activity_GoogleData/steps_2024-01-01.csv"),
            format!("{NEW}Health Fitness Data_GoogleData/UserSleepStages_2024-01-01.csv"),
        ][kind].clone();
        let _ = read(&[file(PROFILE, "Profile.csv"), (name, bytes)]);
    }
}
