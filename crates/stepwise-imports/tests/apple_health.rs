//! Apple Health's export.xml against the fixtures in `tests/fixtures/apple_health/` (see the
//! README there for what each reproduces and the truth written down for it).

use std::collections::BTreeMap;
use std::io::{BufReader, Cursor, Read, Write};
use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use stepwise_imports::apple_health;
use stepwise_imports::{Export, Format, Minute, Options, Source, read_export};
use stepwise_wearables::records::{SleepEpisode, SleepStage};

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/apple_health")
        .join(name)
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap()
}

fn read_bytes(bytes: &[u8]) -> Result<Export, String> {
    let mut reader = BufReader::new(Cursor::new(bytes.to_vec()));
    apple_health::read(&mut reader, &mut |_| {}).map_err(|e| e.to_string())
}

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn day(y: i32, mo: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, mo, d).unwrap()
}

/// Steps per UTC day over all sources.
fn steps_per_day(export: &Export) -> BTreeMap<NaiveDate, u64> {
    let mut days = BTreeMap::new();
    for source in &export.sources {
        for minute in &source.minutes {
            *days.entry(minute.minute.date_naive()).or_default() += u64::from(minute.steps);
        }
    }
    days.retain(|_, steps| *steps > 0);
    days
}

/// Minutes asleep (light, deep, REM) and awake per UTC day over all sources.
fn sleep_per_day(export: &Export) -> BTreeMap<(NaiveDate, bool), i64> {
    let mut days = BTreeMap::new();
    for source in &export.sources {
        for episode in &source.sleep {
            let mut minute = episode.start;
            while minute < episode.end {
                let asleep = episode.stage != SleepStage::Awake;
                *days.entry((minute.date_naive(), asleep)).or_default() += 1;
                minute += TimeDelta::minutes(1);
            }
        }
    }
    days
}

const WATCH: &str = "Anna’s Apple Watch";
const PHONE: &str = "Anna’s iPhone";

fn source<'a>(export: &'a Export, name: &str) -> &'a stepwise_imports::SourceData {
    export
        .sources
        .iter()
        .find(|s| s.source.name == name)
        .unwrap_or_else(|| panic!("no source {name}"))
}

#[test]
fn the_fixture_gives_the_truth_written_down() {
    let export = read_bytes(&fixture("export.xml")).unwrap();
    assert_eq!(export.format, Format::AppleHealth);
    let names: Vec<&str> = export
        .sources
        .iter()
        .map(|s| s.source.name.as_str())
        .collect();
    // "Health" typed steps in by hand: not read. "Pillow" lost its only night to the watch.
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&WATCH) && names.contains(&PHONE));
    assert_eq!(
        source(&export, WATCH).source,
        Source {
            identity: Source::derived_identity(&["apple-health", WATCH]),
            name: WATCH.into()
        }
    );

    // Steps per UTC day: the truth, not the sum of all records (6736).
    assert_eq!(
        steps_per_day(&export),
        BTreeMap::from([
            (day(2026, 3, 2), 1096),
            (day(2026, 3, 3), 57),
            (day(2026, 3, 4), 30)
        ])
    );

    let watch = source(&export, WATCH);
    let minute = |m: &[Minute], t: DateTime<Utc>| m.iter().find(|x| x.minute == t).copied();
    let exact = |t, steps| Minute {
        minute: t,
        steps,
        heart_rate: None,
        estimated: false,
    };
    let spread = |t, steps| Minute {
        minute: t,
        steps,
        heart_rate: None,
        estimated: true,
    };
    // 08:00:10–08:00:50 +0100: inside one minute.
    assert_eq!(
        minute(&watch.minutes, at(2026, 3, 2, 7, 0)),
        Some(exact(at(2026, 3, 2, 7, 0), 40))
    );
    // 08:01:00–08:02:00: exactly a minute.
    assert_eq!(
        minute(&watch.minutes, at(2026, 3, 2, 7, 1)),
        Some(exact(at(2026, 3, 2, 7, 1), 100))
    );
    // 08:02–08:06: four minutes, spread and estimated.
    for m in 2..6 {
        assert_eq!(
            minute(&watch.minutes, at(2026, 3, 2, 7, m)),
            Some(spread(at(2026, 3, 2, 7, m), 100))
        );
    }
    // 08:06:30–08:07:20: 50 s across two clock minutes, whole to the one holding its middle.
    assert_eq!(
        minute(&watch.minutes, at(2026, 3, 2, 7, 6)),
        Some(exact(at(2026, 3, 2, 7, 6), 55))
    );
    // The iPhone lost 07:00–07:59 UTC to the watch (500 < 595 steps).
    let phone = source(&export, PHONE);
    assert!(
        phone
            .minutes
            .iter()
            .all(|m| m.minute.date_naive() != day(2026, 3, 2) || m.minute.hour_of_day() != 7)
    );
    // 13:15–13:18 +0100 on the iPhone: 301 over three minutes, the remainder last.
    assert_eq!(
        phone
            .minutes
            .iter()
            .filter(|m| m.minute.date_naive() == day(2026, 3, 2))
            .copied()
            .collect::<Vec<_>>(),
        vec![
            spread(at(2026, 3, 2, 12, 15), 100),
            spread(at(2026, 3, 2, 12, 16), 100),
            spread(at(2026, 3, 2, 12, 17), 101),
        ]
    );
    // The watch lost 12:00–12:59 UTC to the iPhone but keeps its heart rate there.
    assert_eq!(
        minute(&watch.minutes, at(2026, 3, 2, 12, 30)),
        Some(Minute {
            minute: at(2026, 3, 2, 12, 30),
            steps: 0,
            heart_rate: Some(88),
            estimated: false
        })
    );
    // Zero-length record: that minute, exact. A -0500 record lands on the next UTC day.
    assert_eq!(
        minute(&phone.minutes, at(2026, 3, 3, 8, 0)),
        Some(exact(at(2026, 3, 3, 8, 0), 12))
    );
    assert_eq!(
        minute(&watch.minutes, at(2026, 3, 4, 1, 30)),
        Some(exact(at(2026, 3, 4, 1, 30), 30))
    );
    // The 1970 record is skipped.
    assert!(watch.minutes.iter().all(|m| m.minute.timestamp() > 0));

    // Sleep: the watch's night (in bed ignored, the trailing awake dropped), the iPhone's nap;
    // Pillow's overlapping night (fewer minutes asleep) is not kept.
    let ep = |start, end, stage| SleepEpisode { start, end, stage };
    assert_eq!(
        watch.sleep,
        vec![
            ep(
                at(2026, 3, 2, 22, 0),
                at(2026, 3, 3, 0, 0),
                SleepStage::Light
            ),
            ep(at(2026, 3, 3, 0, 0), at(2026, 3, 3, 1, 0), SleepStage::Deep),
            ep(
                at(2026, 3, 3, 1, 0),
                at(2026, 3, 3, 1, 10),
                SleepStage::Awake
            ),
            ep(at(2026, 3, 3, 1, 10), at(2026, 3, 3, 2, 0), SleepStage::Rem),
            ep(
                at(2026, 3, 3, 2, 0),
                at(2026, 3, 3, 5, 30),
                SleepStage::Light
            ),
        ]
    );
    assert_eq!(
        phone.sleep,
        vec![ep(
            at(2026, 3, 3, 13, 0),
            at(2026, 3, 3, 13, 40),
            SleepStage::Asleep
        )]
    );
    assert_eq!(
        sleep_per_day(&export),
        BTreeMap::from([
            ((day(2026, 3, 2), true), 120),
            ((day(2026, 3, 3), true), 360),
            ((day(2026, 3, 3), false), 10),
        ])
    );
    for s in &export.sources {
        assert!(s.minutes.is_sorted_by_key(|m| m.minute));
        assert!(s.minutes.windows(2).all(|w| w[0].minute < w[1].minute));
        assert!(s.sleep.windows(2).all(|w| w[0].end <= w[1].start));
    }
}

trait HourOfDay {
    fn hour_of_day(&self) -> u32;
}

impl HourOfDay for DateTime<Utc> {
    fn hour_of_day(&self) -> u32 {
        chrono::Timelike::hour(self)
    }
}

#[test]
fn the_zip_from_the_health_app_is_read() {
    let dir = std::env::temp_dir().join(format!("stepwise-apple-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("export.zip");
    {
        let file = std::fs::File::create(&path).unwrap();
        let mut zip = zip::ZipWriter::new(file);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("apple_health_export/export_cda.xml", options)
            .unwrap();
        zip.write_all(&fixture("export_cda.xml")).unwrap();
        zip.start_file("apple_health_export/export.xml", options)
            .unwrap();
        zip.write_all(&fixture("export.xml")).unwrap();
        zip.start_file(
            "apple_health_export/workout-routes/route_2026-03-04_5.00pm.gpx",
            options,
        )
        .unwrap();
        zip.write_all(b"<gpx/>").unwrap();
        zip.finish().unwrap();
    }
    let mut seen = Vec::new();
    let export = read_export(
        &path,
        &Options {
            limits: Default::default(),
            scratch: &dir,
        },
        &mut |p| seen.push(p),
    )
    .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(steps_per_day(&export).values().sum::<u64>(), 1096 + 57 + 30);
    let last = seen.last().unwrap();
    assert_eq!(last.done, fixture("export.xml").len() as u64);
    assert_eq!(last.total, last.done);
}

fn error_of(bytes: &[u8]) -> String {
    read_bytes(bytes).unwrap_err()
}

#[test]
fn a_file_that_is_not_a_health_export_is_named() {
    assert_eq!(
        error_of(&fixture("not_health.xhtml")),
        "this file is not an export Stepwise reads: the XML file's root element is <html>, not \
         Apple Health's <HealthData> (send export.zip or its export.xml)"
    );
    assert_eq!(
        error_of(&fixture("export_cda.xml")),
        "this file is not an export Stepwise reads: the XML file's root element is \
         <ClinicalDocument>, not Apple Health's <HealthData> (send export.zip or its export.xml)"
    );
    assert_eq!(
        error_of(b"<?xml version=\"1.0\"?>\n"),
        "this file is not an export Stepwise reads: the file holds no XML element, so no Apple \
         Health <HealthData>"
    );
}

#[test]
fn a_truncated_file_fails_whole() {
    let whole = fixture("export.xml");
    // Cut between two records: well-formed so far, but </HealthData> never comes.
    let between = String::from_utf8(whole.clone()).unwrap();
    let cut = between
        .find(" <Record type=\"HKQuantityTypeIdentifierStepCount\" sourceName=\"Health\"")
        .unwrap();
    assert_eq!(
        error_of(&whole[..cut]),
        format!(
            "export.xml: the file ends at byte {cut} before </HealthData>: it is cut off (export \
             it again)"
        )
    );
    // Cut inside a tag.
    let inside = cut + 40;
    let err = error_of(&whole[..inside]);
    assert!(
        err.starts_with("export.xml: not well-formed XML at byte ")
            && err.ends_with("(the file is damaged or cut off; export it again)"),
        "{err}"
    );
    assert!(!err.contains('\n'));
    // Every cut fails, none panics or returns part of the data.
    for len in (0..whole.len()).step_by(97) {
        assert!(read_bytes(&whole[..len]).is_err(), "cut at {len}");
    }
}

#[test]
fn a_bad_date_fails_naming_the_record_and_the_value() {
    assert_eq!(
        error_of(&fixture("bad_date.xml")),
        "export.xml: a HKQuantityTypeIdentifierStepCount record at byte 819 has startDate \
         \"2026-03-02T09:00:00Z\", not a date like 2023-05-01 08:15:00 +0200"
    );
}

#[test]
fn a_negative_or_nan_step_count_fails() {
    assert_eq!(
        error_of(&fixture("negative_steps.xml")),
        "export.xml: a HKQuantityTypeIdentifierStepCount record at byte 819 has value \"-20\", \
         not a step count (0 to 1000000)"
    );
    assert_eq!(
        error_of(&fixture("nan_steps.xml")),
        "export.xml: a HKQuantityTypeIdentifierStepCount record at byte 819 has value \"NaN\", \
         not a step count (0 to 1000000)"
    );
}

#[test]
fn entities_are_never_expanded() {
    assert_eq!(
        error_of(&fixture("billion_laughs.xml")),
        "export.xml: its DOCTYPE declares entities (<!ENTITY ...>), which Apple's export never \
         does; the file is not read"
    );
    // An entity no DTD declares, in an attribute read: an error, not expanded.
    let text = String::from_utf8(fixture("bad_date.xml"))
        .unwrap()
        .replace("2026-03-02T09:00:00Z", "2026-03-02 09:00:00 +0000")
        .replace(
            "sourceName=\"Sam’s iPhone\" unit=\"count\" creationDate=\"2026-03-02 09",
            "sourceName=\"&lol9;\" unit=\"count\" creationDate=\"2026-03-02 09",
        );
    let err = error_of(text.as_bytes());
    assert!(
        err.starts_with(
            "export.xml: a HKQuantityTypeIdentifierStepCount record at byte 819 has an unreadable \
             sourceName: "
        ),
        "{err}"
    );
}

#[test]
fn values_out_of_range_are_skipped_by_the_documented_rules() {
    let head = r#"<?xml version="1.0" encoding="UTF-8"?>
<HealthData locale="en_GB">
"#;
    let record = |kind: &str, start: &str, end: &str, value: &str| {
        format!(
            " <Record type=\"{kind}\" sourceName=\"Watch\" startDate=\"{start}\" endDate=\"{end}\" value=\"{value}\"/>\n"
        )
    };
    let mut xml = head.to_string();
    // A heart rate of 5 and one of 300: skipped.
    xml += &record(
        "HKQuantityTypeIdentifierHeartRate",
        "2026-03-02 09:00:00 +0000",
        "2026-03-02 09:00:00 +0000",
        "5",
    );
    xml += &record(
        "HKQuantityTypeIdentifierHeartRate",
        "2026-03-02 09:01:00 +0000",
        "2026-03-02 09:01:00 +0000",
        "300",
    );
    // Steps over more than a day: skipped. Steps in 2101: skipped.
    xml += &record(
        "HKQuantityTypeIdentifierStepCount",
        "2026-03-01 00:00:00 +0000",
        "2026-03-02 00:00:01 +0000",
        "9000",
    );
    xml += &record(
        "HKQuantityTypeIdentifierStepCount",
        "2101-01-01 00:00:00 +0000",
        "2101-01-01 00:00:30 +0000",
        "9",
    );
    // A sleep value this reader does not know, and in bed: no sleep.
    xml += &record(
        "HKCategoryTypeIdentifierSleepAnalysis",
        "2026-03-02 00:00:00 +0000",
        "2026-03-02 06:00:00 +0000",
        "HKCategoryValueSleepAnalysisDreaming",
    );
    xml += &record(
        "HKCategoryTypeIdentifierSleepAnalysis",
        "2026-03-02 00:00:00 +0000",
        "2026-03-02 06:00:00 +0000",
        "HKCategoryValueSleepAnalysisInBed",
    );
    // A whole day (1440 minutes) is still spread.
    xml += &record(
        "HKQuantityTypeIdentifierStepCount",
        "2026-03-03 00:00:00 +0000",
        "2026-03-04 00:00:00 +0000",
        "2880",
    );
    xml += "</HealthData>\n";
    let export = read_bytes(xml.as_bytes()).unwrap();
    assert_eq!(export.sources.len(), 1);
    let watch = &export.sources[0];
    assert!(watch.sleep.is_empty());
    assert_eq!(watch.minutes.len(), 1440);
    assert!(
        watch
            .minutes
            .iter()
            .all(|m| m.steps == 2 && m.estimated && m.heart_rate.is_none())
    );
    assert_eq!(watch.minutes[0].minute, at(2026, 3, 3, 0, 0));

    // A record ending before it starts, a step count in km: the file fails.
    let bad = format!(
        "{head}{}</HealthData>",
        record(
            "HKQuantityTypeIdentifierStepCount",
            "2026-03-02 09:00:00 +0000",
            "2026-03-02 08:00:00 +0000",
            "9"
        )
    );
    assert_eq!(
        error_of(bad.as_bytes()),
        "export.xml: a HKQuantityTypeIdentifierStepCount record at byte 68 ends before it starts"
    );
    let km = format!(
        "{head} <Record type=\"HKQuantityTypeIdentifierStepCount\" unit=\"km\" sourceName=\"W\" startDate=\"2026-03-02 08:00:00 +0000\" endDate=\"2026-03-02 08:00:00 +0000\" value=\"1\"/></HealthData>"
    );
    assert_eq!(
        error_of(km.as_bytes()),
        "export.xml: a HKQuantityTypeIdentifierStepCount record at byte 68 has unit \"km\", not count"
    );
}

#[test]
fn the_night_goes_to_the_source_asleep_longest() {
    let head = "<HealthData locale=\"en_GB\">\n";
    let sleep = |source: &str, start: &str, end: &str, value: &str| {
        format!(
            " <Record type=\"HKCategoryTypeIdentifierSleepAnalysis\" sourceName=\"{source}\" startDate=\"2026-03-0{start} +0000\" endDate=\"2026-03-0{end} +0000\" value=\"HKCategoryValueSleepAnalysis{value}\"/>\n"
        )
    };
    let mut xml = head.to_string();
    // Night 1: ring 7 h, watch 6 h 50 → ring. Night 2: only the watch.
    xml += &sleep("Ring", "1 23:00:00", "2 06:00:00", "AsleepUnspecified");
    xml += &sleep("Watch", "1 23:10:00", "2 06:00:00", "AsleepCore");
    xml += &sleep("Watch", "2 23:00:00", "3 05:00:00", "AsleepDeep");
    xml += "</HealthData>";
    let export = read_bytes(xml.as_bytes()).unwrap();
    let ring = source(&export, "Ring");
    let watch = source(&export, "Watch");
    assert_eq!(
        ring.sleep,
        vec![SleepEpisode {
            start: at(2026, 3, 1, 23, 0),
            end: at(2026, 3, 2, 6, 0),
            stage: SleepStage::Asleep
        }]
    );
    assert_eq!(
        watch.sleep,
        vec![SleepEpisode {
            start: at(2026, 3, 2, 23, 0),
            end: at(2026, 3, 3, 5, 0),
            stage: SleepStage::Deep
        }]
    );
}

/// Generates an export of `days` days: per day `per_day` one-minute step records of 10 steps
/// on the watch from 08:00 UTC, an iPhone record of the same minutes (fewer steps, so it loses
/// every hour), and a night of 4 stages; without holding the text.
struct Generated {
    days: u32,
    per_day: u32,
    day: u32,
    item: u32,
    pending: Vec<u8>,
    offset: usize,
    done: bool,
}

impl Generated {
    fn new(days: u32, per_day: u32) -> Self {
        let mut head = Vec::new();
        head.extend_from_slice(
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE HealthData [\n<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary)*)>\n]>\n<HealthData locale=\"en_US\">\n <ExportDate value=\"2026-01-01 00:00:00 +0000\"/>\n",
        );
        Generated {
            days,
            per_day,
            day: 0,
            item: 0,
            pending: head,
            offset: 0,
            done: false,
        }
    }

    fn refill(&mut self) {
        self.pending.clear();
        self.offset = 0;
        if self.day >= self.days {
            if !self.done {
                self.pending.extend_from_slice(b"</HealthData>\n");
                self.done = true;
            }
            return;
        }
        let base = Utc.with_ymd_and_hms(2025, 1, 1, 8, 0, 0).unwrap()
            + TimeDelta::days(i64::from(self.day));
        let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S +0000").to_string();
        if self.item < self.per_day {
            let start = base + TimeDelta::minutes(i64::from(self.item));
            let end = start + TimeDelta::seconds(59);
            write!(
                self.pending,
                " <Record type=\"HKQuantityTypeIdentifierStepCount\" sourceName=\"Watch\" sourceVersion=\"10.3\" device=\"&lt;&lt;HKDevice: 0x1&gt;, name:Apple Watch, manufacturer:Apple Inc., model:Watch, hardware:Watch6,1, software:10.3&gt;\" unit=\"count\" creationDate=\"{}\" startDate=\"{}\" endDate=\"{}\" value=\"10\"/>\n <Record type=\"HKQuantityTypeIdentifierStepCount\" sourceName=\"iPhone\" unit=\"count\" startDate=\"{}\" endDate=\"{}\" value=\"7\"/>\n",
                fmt(end),
                fmt(start),
                fmt(end),
                fmt(start),
                fmt(end)
            )
            .unwrap();
            self.item += 1;
        } else {
            let night = base + TimeDelta::hours(14);
            for (i, stage) in ["AsleepCore", "AsleepDeep", "AsleepREM", "AsleepCore"]
                .iter()
                .enumerate()
            {
                let start = night + TimeDelta::minutes(i as i64 * 90);
                let end = start + TimeDelta::minutes(90);
                writeln!(
                    self.pending,
                    " <Record type=\"HKCategoryTypeIdentifierSleepAnalysis\" sourceName=\"Watch\" startDate=\"{}\" endDate=\"{}\" value=\"HKCategoryValueSleepAnalysis{stage}\"/>",
                    fmt(start),
                    fmt(end)
                )
                .unwrap();
            }
            self.item = 0;
            self.day += 1;
        }
    }
}

impl Read for Generated {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.offset >= self.pending.len() {
            self.refill();
        }
        let rest = &self.pending[self.offset..];
        let n = rest.len().min(out.len());
        out[..n].copy_from_slice(&rest[..n]);
        self.offset += n;
        Ok(n)
    }
}

fn check_generated(days: u32, per_day: u32) {
    let mut reader = BufReader::with_capacity(1 << 16, Generated::new(days, per_day));
    let mut calls = 0u32;
    let export = apple_health::read(&mut reader, &mut |_| calls += 1).unwrap();
    let watch = source(&export, "Watch");
    assert_eq!(
        watch.minutes.len() as u64,
        u64::from(days) * u64::from(per_day)
    );
    let totals = steps_per_day(&export);
    assert_eq!(totals.len() as u32, days);
    assert!(totals.values().all(|&s| s == u64::from(per_day) * 10));
    // The iPhone lost every hour: no minutes, so it is left out.
    assert_eq!(export.sources.len(), 1);
    let asleep: i64 = watch
        .sleep
        .iter()
        .map(|e| (e.end - e.start).num_minutes())
        .sum();
    assert_eq!(asleep, i64::from(days) * 360);
    assert!(calls >= 1);
}

#[test]
fn fifty_thousand_records_read_quickly() {
    // 100 days × 250 minutes × 2 sources = 50,000 step records, and 400 sleep records.
    check_generated(100, 250);
}

#[test]
fn a_repeated_record_counts_once_and_nothing_may_follow_the_root() {
    let record = " <Record type=\"HKQuantityTypeIdentifierStepCount\" sourceName=\"Band app\" unit=\"count\" startDate=\"2026-03-02 09:00:00 +0000\" endDate=\"2026-03-02 09:00:40 +0000\" value=\"25\"/>\n";
    let xml = format!("<HealthData locale=\"en_GB\">\n{record}{record}</HealthData>\n");
    let export = read_bytes(xml.as_bytes()).unwrap();
    assert_eq!(
        steps_per_day(&export),
        BTreeMap::from([(day(2026, 3, 2), 25)])
    );
    let twice = format!("{xml}<HealthData>{record}</HealthData>");
    assert_eq!(
        error_of(twice.as_bytes()),
        format!(
            "export.xml: an element follows </HealthData> at byte {}: the file is damaged",
            xml.len()
        )
    );
}

#[test]
fn a_byte_order_mark_is_accepted() {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(&fixture("export.xml"));
    let export = read_bytes(&bytes).unwrap();
    assert_eq!(steps_per_day(&export).values().sum::<u64>(), 1096 + 57 + 30);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Damaged files: bytes changed anywhere never panic, and every error is one line.
    #[test]
    fn damaged_files_never_panic(
        changes in proptest::collection::vec((0usize..12_400, proptest::prelude::any::<u8>()), 1..8),
        cut in 0usize..12_400,
    ) {
        let mut bytes = fixture("export.xml");
        for (at, byte) in changes {
            if let Some(b) = bytes.get_mut(at) {
                *b = byte;
            }
        }
        if cut < bytes.len() / 2 {
            bytes.truncate(bytes.len() - cut);
        }
        if let Err(err) = read_bytes(&bytes) {
            proptest::prop_assert!(!err.contains('\n'), "{}", err);
        }
    }
}

/// `<HealthData><Record type="aaaa…` without end.
struct Endless {
    head: &'static [u8],
    sent: usize,
}

impl Read for Endless {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let rest = self.head.get(self.sent..).unwrap_or_default();
        let n = if rest.is_empty() {
            out.fill(b'a');
            out.len()
        } else {
            let n = rest.len().min(out.len());
            out[..n].copy_from_slice(&rest[..n]);
            n
        };
        self.sent += n;
        Ok(n)
    }
}

#[test]
fn an_endless_attribute_stops_at_the_limit() {
    let mut reader = BufReader::with_capacity(
        1 << 16,
        Endless {
            head: b"<HealthData locale=\"en\">\n <Record type=\"",
            sent: 0,
        },
    );
    let err = apple_health::read(&mut reader, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("export.xml: not well-formed XML at byte ")
            && err.contains("one element or text runs past 67108864 bytes"),
        "{err}"
    );
}
