//! Fitbit's data in Google Takeout: minute steps and sleep stages, in two layouts.
//!
//! - The older layout (also Fitbit's own account export before the move to Google):
//!   `Global Export Data/steps-YYYY-MM-DD.json`, a JSON array of `{"dateTime": "MM/DD/YY
//!   HH:MM:SS", "value": "N"}` per minute, times in UTC; and `sleep-YYYY-MM-DD.json`, an array
//!   of sleep logs whose `startTime` and `levels` times are the device's local time, converted
//!   with the time zone of `Your Profile/Profile.csv` (or one given to [`read_with_zone`]).
//! - The newer layout: `Physical Activity_GoogleData/steps_YYYY-MM-DD.csv` (`timestamp,steps,
//!   data source`, ISO 8601 times with a zone) and `Health Fitness Data_GoogleData/
//!   UserSleepStages_*.csv` (stage rows with `+0000` times).
//!
//! Which file says what, with its source, is in `docs/imports.md` ("Fitbit").

use std::collections::{BTreeMap, HashMap};
use std::io::{BufReader, Read, Seek};

use chrono::{
    DateTime, Datelike, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc, offset::LocalResult,
};
use chrono_tz::Tz;
use serde::Deserialize;
use serde::de::{self, Deserializer as _, SeqAccess, Visitor};
use stepwise_wearables::records::{SleepEpisode, SleepStage};

use crate::archive::{Archive, Entry};
use crate::error::{ImportError, ImportResult};
use crate::model::{Export, Format, Minute, Source, SourceData};

/// The name of the source for the older layout's steps and for all sleep.
const DEVICE_NAME: &str = "Fitbit";

/// True for an entry of a Takeout archive that holds Fitbit data: under a `Fitbit/` folder,
/// or under `Google Health/`, the name newer Takeout archives give the same folder.
pub fn is_takeout_entry(name: &str) -> bool {
    name.contains("Fitbit/") || name.contains("Google Health/")
}

/// Reads the Fitbit minute steps and sleep of a Takeout archive, calling `progress` with the
/// bytes read so far and the bytes to read. Sleep logs in local time are converted with the
/// `timezone` of `Your Profile/Profile.csv`.
pub fn read<R: Read + Seek>(
    archive: &mut Archive<R>,
    progress: &mut dyn FnMut(u64, u64),
) -> ImportResult<Export> {
    read_inner(archive, None, progress)
}

/// Like [`read`], but sleep logs in local time are converted with `zone` whatever the
/// profile says (for an export without a profile, or a patient who moved).
pub fn read_with_zone<R: Read + Seek>(
    archive: &mut Archive<R>,
    zone: Tz,
    progress: &mut dyn FnMut(u64, u64),
) -> ImportResult<Export> {
    read_inner(archive, Some(zone), progress)
}

/// What an entry of the archive is to this reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Profile,
    StepsJson,
    SleepJson,
    StepsCsv,
    SleepStagesCsv,
}

/// The kind of the entry called `name`, if this reader reads it.
fn classify(name: &str) -> Option<Kind> {
    if !is_takeout_entry(name) || name.contains("__MACOSX/") {
        return None;
    }
    let base = name.rsplit('/').next().unwrap_or(name);
    let dated = |prefix: &str, suffix: &str| {
        base.strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(suffix))
            .is_some_and(is_iso_date)
    };
    if dated("steps-", ".json") {
        Some(Kind::StepsJson)
    } else if dated("sleep-", ".json") {
        Some(Kind::SleepJson)
    } else if dated("steps_", ".csv") && name.contains("Physical Activity_GoogleData/") {
        Some(Kind::StepsCsv)
    } else if base.starts_with("UserSleepStages_")
        && base.ends_with(".csv")
        && name.contains("Health Fitness Data_GoogleData/")
    {
        Some(Kind::SleepStagesCsv)
    } else if base == "Profile.csv" && name.contains("Your Profile/") {
        Some(Kind::Profile)
    } else {
        None
    }
}

/// `YYYY-MM-DD` as digits.
fn is_iso_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        })
}

/// The account's profile, as far as this reader needs it.
#[derive(Debug, Default)]
struct Profile {
    file: String,
    zone: Option<String>,
    account: Option<String>,
}

/// A reader counting bytes for the progress callback.
struct Counting<'a, R> {
    inner: R,
    before: u64,
    read: u64,
    reported: u64,
    total: u64,
    progress: &'a mut dyn FnMut(u64, u64),
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read = self.read.saturating_add(n as u64);
        if self.read.saturating_sub(self.reported) >= 1 << 20 {
            self.reported = self.read;
            (self.progress)(self.before.saturating_add(self.read), self.total);
        }
        Ok(n)
    }
}

/// Stage rows of the newer layout by sleep id: (start, end, stage).
type StageRows = BTreeMap<String, Vec<(DateTime<Utc>, DateTime<Utc>, SleepStage)>>;

/// Everything read so far.
#[derive(Default)]
struct Collected {
    /// Older layout: steps by UTC minute (Unix minutes).
    json_steps: BTreeMap<i64, u32>,
    /// Newer layout: steps by data source, then by exact timestamp (Unix milliseconds).
    csv_steps: BTreeMap<String, HashMap<i64, u32>>,
    /// Sleep logs of the older layout, each as (start, log id, minutes by stage).
    json_sleep: Vec<SleepLogMinutes>,
    /// Stage rows of the newer layout, by sleep id.
    csv_stages: StageRows,
}

/// One sleep log turned into minutes.
struct SleepLogMinutes {
    start: DateTime<Utc>,
    id: String,
    minutes: BTreeMap<i64, SleepStage>,
}

fn read_inner<R: Read + Seek>(
    archive: &mut Archive<R>,
    zone: Option<Tz>,
    progress: &mut dyn FnMut(u64, u64),
) -> ImportResult<Export> {
    let mut entries: Vec<(Kind, Entry)> = archive
        .entries()
        .into_iter()
        .filter_map(|e| classify(&e.name).map(|k| (k, e)))
        .collect();
    entries.sort_by(|a, b| (a.0, &a.1.name).cmp(&(b.0, &b.1.name)));
    let has = |kind: Kind| entries.iter().any(|(k, _)| *k == kind);
    let data_kinds = [
        Kind::StepsJson,
        Kind::SleepJson,
        Kind::StepsCsv,
        Kind::SleepStagesCsv,
    ];
    if !data_kinds.into_iter().any(has) {
        return Err(ImportError::NotAnExport(
            "the Takeout archive has no Fitbit minute steps or sleep (Global Export \
             Data/steps-*.json or sleep-*.json, Physical Activity_GoogleData/steps_*.csv, \
             Health Fitness Data_GoogleData/UserSleepStages_*.csv): export Fitbit with all \
             its data"
                .into(),
        ));
    }
    let total: u64 = entries.iter().map(|(_, e)| e.size).sum();
    let mut done = 0u64;
    progress(0, total);

    // The profile first: the zone is needed before any sleep log.
    let mut profile = Profile::default();
    if let Some((_, entry)) = entries.iter().find(|(k, _)| *k == Kind::Profile) {
        profile = archive.read_entry(&entry.name, |r| read_profile(&entry.name, r))?;
        done = done.saturating_add(entry.size);
        progress(done, total);
    }
    let zone = match zone {
        Some(zone) => Some(zone),
        None if has(Kind::SleepJson) => Some(profile_zone(&profile)?),
        None => None,
    };

    let mut collected = Collected::default();
    for (kind, entry) in entries.iter().filter(|(k, _)| *k != Kind::Profile) {
        let name = entry.name.as_str();
        let before = done;
        archive.read_entry(name, |reader| {
            let mut counting = Counting {
                inner: reader,
                before,
                read: 0,
                reported: 0,
                total,
                progress: &mut *progress,
            };
            let reader = BufReader::with_capacity(1 << 16, &mut counting);
            match kind {
                Kind::StepsJson => read_steps_json(name, reader, &mut collected.json_steps),
                Kind::SleepJson => match zone {
                    Some(zone) => read_sleep_json(name, reader, zone, &mut collected.json_sleep),
                    None => Ok(()),
                },
                Kind::StepsCsv => read_steps_csv(name, reader, &mut collected.csv_steps),
                Kind::SleepStagesCsv => {
                    read_sleep_stages_csv(name, reader, &mut collected.csv_stages)
                }
                Kind::Profile => Ok(()),
            }
        })?;
        done = done.saturating_add(entry.size);
        progress(done, total);
    }
    Ok(assemble(collected, profile.account.as_deref()))
}

/// The profile's zone, or why there is none.
fn profile_zone(profile: &Profile) -> ImportResult<Tz> {
    if profile.file.is_empty() {
        return Err(ImportError::malformed(
            "the Takeout archive",
            "has Fitbit sleep in local time but no Your Profile/Profile.csv with the time zone \
             to convert it: export Fitbit with your profile, or give the time zone",
        ));
    }
    let Some(name) = profile.zone.as_deref().filter(|z| !z.is_empty()) else {
        return Err(ImportError::malformed(
            &profile.file,
            "has no timezone: it is needed to convert Fitbit sleep times to UTC",
        ));
    };
    name.parse::<Tz>().map_err(|_| {
        ImportError::malformed(
            &profile.file,
            format!("timezone \"{name}\" is not a known IANA time zone"),
        )
    })
}

/// `Your Profile/Profile.csv`: a header and one row; `timezone` and `id` are kept.
fn read_profile(file: &str, reader: &mut dyn Read) -> ImportResult<Profile> {
    let mut csv = Csv::open(file, BufReader::new(reader))?;
    let mut profile = Profile {
        file: file.to_string(),
        ..Profile::default()
    };
    let mut row = csv::StringRecord::new();
    if csv.next(&mut row)? {
        let cell = |i: Option<usize>| {
            i.and_then(|i| row.get(i))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        profile.zone = cell(csv.column("timezone"));
        profile.account = cell(csv.column("id"));
    }
    Ok(profile)
}

/// A date inside the accepted years, or the error naming `file` and `text`.
fn check_year(file: &str, text: &str, at: DateTime<Utc>) -> ImportResult<DateTime<Utc>> {
    if crate::YEARS.contains(&at.year()) {
        Ok(at)
    } else {
        Err(ImportError::malformed(
            file,
            format!(
                "date \"{text}\" is outside {}–{}",
                crate::YEARS.start(),
                crate::YEARS.end()
            ),
        ))
    }
}

/// Unix minute of `at` (seconds dropped).
fn unix_minute(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(60)
}

/// The instant of a Unix minute.
fn from_unix_minute(minute: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(minute.checked_mul(60)?, 0)
}

// ---------------------------------------------------------------------------------------
// Steps, older layout

/// One row of `steps-*.json`.
#[derive(Deserialize)]
struct StepsRow {
    #[serde(rename = "dateTime")]
    date_time: String,
    value: serde_json::Value,
}

/// Streams the array of a `steps-*.json` through `on_row`, stopping at its first error.
struct StepsArray<'a> {
    on_row: &'a mut dyn FnMut(StepsRow) -> ImportResult<()>,
    failure: &'a mut Option<ImportError>,
}

impl<'de> Visitor<'de> for StepsArray<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of {\"dateTime\", \"value\"} objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(row) = seq.next_element::<StepsRow>()? {
            if let Err(err) = (self.on_row)(row) {
                *self.failure = Some(err);
                return Err(de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

/// A count from a JSON string (`"12"`) or number (`12`).
fn json_count(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::String(s) => s.trim().parse().ok(),
        serde_json::Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// `steps-*.json`: minute steps, `dateTime` in UTC (`MM/DD/YY HH:MM:SS`). A minute listed
/// twice keeps its larger count.
fn read_steps_json(
    file: &str,
    reader: impl Read,
    steps: &mut BTreeMap<i64, u32>,
) -> ImportResult<()> {
    let mut on_row = |row: StepsRow| -> ImportResult<()> {
        let at = NaiveDateTime::parse_from_str(row.date_time.trim(), "%m/%d/%y %H:%M:%S")
            .map_err(|_| {
                ImportError::malformed(
                    file,
                    format!("dateTime \"{}\" is not MM/DD/YY HH:MM:SS", row.date_time),
                )
            })?
            .and_utc();
        let at = check_year(file, &row.date_time, at)?;
        let count = json_count(&row.value).ok_or_else(|| {
            ImportError::malformed(
                file,
                format!(
                    "value {} at \"{}\" is not a whole number of steps",
                    row.value, row.date_time
                ),
            )
        })?;
        if let Ok(count) = u32::try_from(count) {
            let entry = steps.entry(unix_minute(at)).or_insert(0);
            *entry = (*entry).max(count);
        }
        Ok(())
    };
    let mut failure = None;
    let mut de = serde_json::Deserializer::from_reader(reader);
    let result = de
        .deserialize_seq(StepsArray {
            on_row: &mut on_row,
            failure: &mut failure,
        })
        .and_then(|()| de.end());
    if let Some(err) = failure {
        return Err(err);
    }
    result.map_err(|err| json_error(file, &err))
}

/// A JSON error as one line naming the file.
fn json_error(file: &str, err: &serde_json::Error) -> ImportError {
    if err.is_io() {
        ImportError::Archive(format!("cannot read {file}: {err}"))
    } else {
        ImportError::malformed(file, format!("is not the JSON Fitbit writes: {err}"))
    }
}

// ---------------------------------------------------------------------------------------
// Steps, newer layout

/// `steps_*.csv`: `timestamp,steps,data source`, the timestamp with its zone. Rows are kept
/// by data source and exact timestamp; a timestamp listed twice for one source keeps its
/// larger count.
fn read_steps_csv(
    file: &str,
    reader: impl Read,
    steps: &mut BTreeMap<String, HashMap<i64, u32>>,
) -> ImportResult<()> {
    let mut csv = Csv::open(file, reader)?;
    let time_col = csv.required("timestamp")?;
    let steps_col = csv.required("steps")?;
    let source_col = csv.column("data source");
    let mut record = csv::StringRecord::new();
    while csv.next(&mut record)? {
        let line = record.position().map_or(0, |p| p.line());
        let text = record.get(time_col).unwrap_or("").trim();
        let at = parse_zoned(text).ok_or_else(|| {
            ImportError::malformed(
                file,
                format!("line {line}: timestamp \"{text}\" is not an ISO 8601 time with a zone"),
            )
        })?;
        let at = check_year(file, text, at)?;
        let value = record.get(steps_col).unwrap_or("").trim();
        let count = parse_count(value).ok_or_else(|| {
            ImportError::malformed(
                file,
                format!("line {line}: steps \"{value}\" is not a whole number"),
            )
        })?;
        let Ok(count) = u32::try_from(count) else {
            continue;
        };
        let source = source_col
            .and_then(|i| record.get(i))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or(DEVICE_NAME);
        let by_time = match steps.get_mut(source) {
            Some(by_time) => by_time,
            None => steps.entry(source.to_string()).or_default(),
        };
        let entry = by_time.entry(at.timestamp_millis()).or_insert(0);
        *entry = (*entry).max(count);
    }
    Ok(())
}

/// A CSV file of the export, its header row read: columns are found by name.
struct Csv<'a, R: Read> {
    file: &'a str,
    reader: csv::Reader<R>,
    headers: csv::StringRecord,
}

impl<'a, R: Read> Csv<'a, R> {
    /// Opens `reader` (rows may differ in length) and reads its header row.
    fn open(file: &'a str, reader: R) -> ImportResult<Self> {
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
        let headers = reader.headers().map_err(|e| bad_csv(file, e))?.clone();
        Ok(Csv {
            file,
            reader,
            headers,
        })
    }

    /// The column called `name`, if there is one.
    fn column(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| header_is(h, name))
    }

    /// The column called `name`; a file without it fails.
    fn required(&self, name: &str) -> ImportResult<usize> {
        self.column(name)
            .ok_or_else(|| ImportError::malformed(self.file, format!("has no \"{name}\" column")))
    }

    /// The next row into `record`; false at the end.
    fn next(&mut self, record: &mut csv::StringRecord) -> ImportResult<bool> {
        self.reader
            .read_record(record)
            .map_err(|e| bad_csv(self.file, e))
    }
}

/// A CSV that cannot be read.
fn bad_csv(file: &str, err: csv::Error) -> ImportError {
    ImportError::malformed(file, format!("is not a readable CSV: {err}"))
}

/// True when the CSV header `header` is `name` (case, blanks and a byte-order mark aside).
fn header_is(header: &str, name: &str) -> bool {
    header
        .trim_start_matches('\u{feff}')
        .trim()
        .eq_ignore_ascii_case(name)
}

/// A whole, non-negative number (`12`, or `12.0` as some CSV writers put it).
fn parse_count(text: &str) -> Option<u64> {
    if let Ok(n) = text.parse::<u64>() {
        return Some(n);
    }
    let f: f64 = text.parse().ok()?;
    (f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f < 4.0e9).then_some(f as u64)
}

/// An ISO 8601 time with a zone (`2024-05-01T07:00:00Z`, `2025-12-03 21:12:30+0000`).
fn parse_zoned(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    ["%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%.f%z"]
        .iter()
        .find_map(|format| DateTime::parse_from_str(text, format).ok())
        .map(|at| at.with_timezone(&Utc))
}

// ---------------------------------------------------------------------------------------
// Sleep, older layout

/// One sleep log of `sleep-*.json`.
#[derive(Deserialize)]
struct SleepLog {
    #[serde(rename = "logId", default)]
    log_id: Option<serde_json::Value>,
    #[serde(rename = "startTime")]
    start_time: String,
    #[serde(default)]
    levels: Option<Levels>,
}

#[derive(Deserialize)]
struct Levels {
    #[serde(default)]
    data: Vec<Level>,
    #[serde(rename = "shortData", default)]
    short_data: Vec<Level>,
}

#[derive(Deserialize)]
struct Level {
    #[serde(rename = "dateTime")]
    date_time: String,
    level: String,
    seconds: i64,
}

/// A Fitbit sleep level as a stage: stages logs (deep, light, rem, wake) and classic logs
/// (asleep, restless, awake; asleep has no stage).
fn stage_of(level: &str) -> Option<SleepStage> {
    match level {
        "deep" => Some(SleepStage::Deep),
        "light" => Some(SleepStage::Light),
        "asleep" => Some(SleepStage::Asleep),
        "rem" => Some(SleepStage::Rem),
        "wake" | "awake" | "restless" => Some(SleepStage::Awake),
        _ => None,
    }
}

/// A local time read in the ISO form Fitbit writes (`2018-02-28T23:20:00.000`).
fn parse_local(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
}

/// A local time in `zone` as UTC: a time that occurs twice (the hour repeated when clocks go
/// back) is its first occurrence; a time that does not occur (the hour skipped when clocks go
/// forward) is read with the offset in force before the change.
pub fn local_to_utc(zone: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(at) => Some(at.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Some(a.min(b).with_timezone(&Utc)),
        LocalResult::None => {
            let before = local.checked_sub_signed(TimeDelta::hours(3))?;
            let offset = zone.from_local_datetime(&before).earliest()?.offset().fix();
            offset
                .from_local_datetime(&local)
                .single()
                .map(|at| at.with_timezone(&Utc))
        }
    }
}

/// The Unix minute at or after `at`: a minute belongs to the stage in force at its first
/// second.
fn ceil_minute(at: DateTime<Utc>) -> i64 {
    let seconds = at.timestamp();
    let minute = seconds.div_euclid(60);
    if seconds.rem_euclid(60) == 0 && at.timestamp_subsec_nanos() == 0 {
        minute
    } else {
        minute.saturating_add(1)
    }
}

/// Marks the minutes of [start, end) with `stage` (a minute whose first second is inside).
fn mark(
    minutes: &mut BTreeMap<i64, SleepStage>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    stage: SleepStage,
) {
    for minute in ceil_minute(start)..ceil_minute(end) {
        minutes.insert(minute, stage);
    }
}

/// Awake minutes before the first and after the last sleep minute are in bed, not sleep.
fn trim_awake(minutes: &mut BTreeMap<i64, SleepStage>) {
    while let Some(entry) = minutes.first_entry() {
        if *entry.get() != SleepStage::Awake {
            break;
        }
        entry.remove();
    }
    while let Some(entry) = minutes.last_entry() {
        if *entry.get() != SleepStage::Awake {
            break;
        }
        entry.remove();
    }
}

/// Longest level segment accepted: a day.
const MAX_SEGMENT_SECONDS: i64 = 24 * 60 * 60;

/// `sleep-*.json`: sleep logs in the device's local time, converted with `zone`.
fn read_sleep_json(
    file: &str,
    reader: impl Read,
    zone: Tz,
    logs: &mut Vec<SleepLogMinutes>,
) -> ImportResult<()> {
    let parsed: Vec<SleepLog> =
        serde_json::from_reader(reader).map_err(|err| json_error(file, &err))?;
    for log in parsed {
        let start = to_utc(file, "startTime", &log.start_time, zone)?;
        let id = match &log.log_id {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => format!("{file}:{}", log.start_time),
        };
        let Some(levels) = log.levels else {
            continue;
        };
        let mut minutes = BTreeMap::new();
        for (list, segments) in [("data", &levels.data), ("shortData", &levels.short_data)] {
            for segment in segments {
                let stage = stage_of(&segment.level).ok_or_else(|| {
                    ImportError::malformed(
                        file,
                        format!(
                            "levels.{list} level \"{}\" at \"{}\" is none of deep, light, rem, \
                             wake, asleep, restless, awake",
                            segment.level, segment.date_time
                        ),
                    )
                })?;
                if !(0..=MAX_SEGMENT_SECONDS).contains(&segment.seconds) {
                    return Err(ImportError::malformed(
                        file,
                        format!(
                            "levels.{list} seconds {} at \"{}\" is not within a day",
                            segment.seconds, segment.date_time
                        ),
                    ));
                }
                let from = to_utc(file, "dateTime", &segment.date_time, zone)?;
                let Some(to) = from.checked_add_signed(TimeDelta::seconds(segment.seconds)) else {
                    continue;
                };
                // Short wakes (levels.shortData) override the long stages they fall in.
                mark(&mut minutes, from, to, stage);
            }
        }
        trim_awake(&mut minutes);
        if !minutes.is_empty() {
            logs.push(SleepLogMinutes { start, id, minutes });
        }
    }
    Ok(())
}

/// A local time of a sleep log, checked and converted.
fn to_utc(file: &str, field: &str, text: &str, zone: Tz) -> ImportResult<DateTime<Utc>> {
    let bad = || {
        ImportError::malformed(
            file,
            format!("{field} \"{text}\" is not a local time like 2024-01-31T23:30:00.000"),
        )
    };
    let local = parse_local(text).ok_or_else(bad)?;
    let at = local_to_utc(zone, local).ok_or_else(bad)?;
    check_year(file, text, at)
}

// ---------------------------------------------------------------------------------------
// Sleep, newer layout

/// `UserSleepStages_*.csv`: one row per stage, `sleep_stage_start`/`sleep_stage_end` with
/// their offset (`+0000`), `sleep_stage_type` LIGHT, DEEP, REM or AWAKE.
fn read_sleep_stages_csv(
    file: &str,
    reader: impl Read,
    stages: &mut StageRows,
) -> ImportResult<()> {
    let mut csv = Csv::open(file, reader)?;
    let id_col = csv.required("sleep_id")?;
    let type_col = csv.required("sleep_stage_type")?;
    let start_col = csv.required("sleep_stage_start")?;
    let end_col = csv.required("sleep_stage_end")?;
    let mut record = csv::StringRecord::new();
    while csv.next(&mut record)? {
        let line = record.position().map_or(0, |p| p.line());
        let time = |col: usize, name: &str| -> ImportResult<DateTime<Utc>> {
            let text = record.get(col).unwrap_or("").trim();
            let at = parse_zoned(text).ok_or_else(|| {
                ImportError::malformed(
                    file,
                    format!("line {line}: {name} \"{text}\" is not a time with its offset"),
                )
            })?;
            check_year(file, text, at)
        };
        let start = time(start_col, "sleep_stage_start")?;
        let end = time(end_col, "sleep_stage_end")?;
        let kind = record
            .get(type_col)
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        // Unknown types (e.g. an unspecified stage) are skipped.
        let Some(stage) = stage_of(&kind) else {
            continue;
        };
        if end <= start || (end - start).num_seconds() > MAX_SEGMENT_SECONDS {
            return Err(ImportError::malformed(
                file,
                format!("line {line}: the stage ends before it starts or lasts over a day"),
            ));
        }
        let id = record.get(id_col).unwrap_or("").trim().to_string();
        stages.entry(id).or_default().push((start, end, stage));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Putting it together

/// Sources from what was read. Where both layouts have steps, the newer layout's rows inside
/// the span of the older layout's minutes are dropped (the same steps, exported twice); the
/// same for sleep.
fn assemble(collected: Collected, account: Option<&str>) -> Export {
    let account = account.unwrap_or("fitbit");
    let mut sources: Vec<SourceData> = Vec::new();

    // Sleep: logs of the older layout, then the newer layout's outside their span.
    let mut logs = collected.json_sleep;
    let json_span = span(logs.iter().flat_map(|l| {
        [
            l.minutes.keys().next().copied(),
            l.minutes.keys().next_back().copied(),
        ]
    }));
    for (id, rows) in collected.csv_stages {
        let mut minutes = BTreeMap::new();
        let mut sorted = rows;
        sorted.sort_by_key(|r| (r.0, r.1));
        for (start, end, stage) in &sorted {
            mark(&mut minutes, *start, *end, *stage);
        }
        trim_awake(&mut minutes);
        let (Some(&first), Some(&last)) = (minutes.keys().next(), minutes.keys().next_back())
        else {
            continue;
        };
        if json_span.is_some_and(|(lo, hi)| first <= hi && last >= lo) {
            continue;
        }
        let Some(start) = from_unix_minute(first) else {
            continue;
        };
        logs.push(SleepLogMinutes { start, id, minutes });
    }
    logs.sort_by(|a, b| (a.start, &a.id).cmp(&(b.start, &b.id)));
    logs.dedup_by(|b, a| a.id == b.id);
    let mut night: BTreeMap<i64, SleepStage> = BTreeMap::new();
    for log in logs {
        for (minute, stage) in log.minutes {
            night.entry(minute).or_insert(stage);
        }
    }
    let sleep = episodes(&night);

    // Steps of the older layout, with the sleep, under the device.
    let steps_span = span(
        [
            collected.json_steps.keys().next().copied(),
            collected.json_steps.keys().next_back().copied(),
        ]
        .into_iter(),
    );
    let minutes = minutes_of(collected.json_steps.into_iter());
    let device_identity = Source::derived_identity(&["fitbit-takeout", account]);
    let mut device = SourceData {
        source: Source {
            identity: device_identity,
            name: DEVICE_NAME.to_string(),
        },
        minutes,
        sleep,
    };

    // Steps of the newer layout, by data source.
    for (name, by_time) in collected.csv_steps {
        let mut by_minute: BTreeMap<i64, u32> = BTreeMap::new();
        for (millis, count) in by_time {
            let minute = millis.div_euclid(60_000);
            if steps_span.is_some_and(|(lo, hi)| (lo..=hi).contains(&minute)) {
                continue;
            }
            let entry = by_minute.entry(minute).or_insert(0);
            *entry = entry.saturating_add(count);
        }
        let minutes = minutes_of(by_minute.into_iter());
        if name == DEVICE_NAME {
            let mut merged: BTreeMap<i64, Minute> = device
                .minutes
                .drain(..)
                .map(|m| (unix_minute(m.minute), m))
                .collect();
            for m in minutes {
                merged.entry(unix_minute(m.minute)).or_insert(m);
            }
            device.minutes = merged.into_values().collect();
            continue;
        }
        sources.push(SourceData {
            source: Source {
                identity: Source::derived_identity(&["fitbit-takeout", account, &name]),
                name,
            },
            minutes,
            sleep: Vec::new(),
        });
    }
    sources.push(device);
    sources.retain(|s| !s.minutes.is_empty() || !s.sleep.is_empty());
    sources.sort_by(|a, b| a.source.cmp(&b.source));
    Export {
        format: Format::FitbitTakeout,
        sources,
    }
}

/// The lowest and highest of some minutes.
fn span(minutes: impl Iterator<Item = Option<i64>>) -> Option<(i64, i64)> {
    minutes.flatten().fold(None, |acc, m| match acc {
        None => Some((m, m)),
        Some((lo, hi)) => Some((lo.min(m), hi.max(m))),
    })
}

/// Minutes with steps (a minute of 0 steps is left out), exact (not estimated).
fn minutes_of(steps: impl Iterator<Item = (i64, u32)>) -> Vec<Minute> {
    steps
        .filter(|&(_, count)| count > 0)
        .filter_map(|(minute, steps)| {
            Some(Minute {
                minute: from_unix_minute(minute)?,
                steps,
                heart_rate: None,
                estimated: false,
            })
        })
        .collect()
}

/// Runs of consecutive minutes of one stage as episodes.
fn episodes(night: &BTreeMap<i64, SleepStage>) -> Vec<SleepEpisode> {
    let mut out = Vec::new();
    let mut run: Option<(i64, i64, SleepStage)> = None;
    for (&minute, &stage) in night {
        run = match run {
            Some((first, last, s)) if s == stage && last.checked_add(1) == Some(minute) => {
                Some((first, minute, s))
            }
            Some(done) => {
                push_episode(&mut out, done);
                Some((minute, minute, stage))
            }
            None => Some((minute, minute, stage)),
        };
    }
    if let Some(done) = run {
        push_episode(&mut out, done);
    }
    out
}

fn push_episode(out: &mut Vec<SleepEpisode>, (first, last, stage): (i64, i64, SleepStage)) {
    if let (Some(start), Some(end)) = (
        from_unix_minute(first),
        last.checked_add(1).and_then(from_unix_minute),
    ) {
        out.push(SleepEpisode { start, end, stage });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(text: &str) -> NaiveDateTime {
        parse_local(text).unwrap()
    }

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn local_times_around_daylight_saving_are_deterministic() {
        let berlin = chrono_tz::Europe::Berlin;
        // Spring forward, 2024-03-31 02:00 -> 03:00: 02:30 does not exist and is read with
        // the offset before the change (+01:00).
        assert_eq!(
            local_to_utc(berlin, local("2024-03-31T02:30:00.000")),
            Some(utc("2024-03-31T01:30:00Z"))
        );
        assert_eq!(
            local_to_utc(berlin, local("2024-03-31T03:00:00")),
            Some(utc("2024-03-31T01:00:00Z"))
        );
        // Fall back, 2024-10-27 03:00 -> 02:00: 02:30 happens twice; the first is taken.
        assert_eq!(
            local_to_utc(berlin, local("2024-10-27 02:30:00")),
            Some(utc("2024-10-27T00:30:00Z"))
        );
    }

    #[test]
    fn a_minute_has_the_stage_in_force_at_its_first_second() {
        let mut minutes = BTreeMap::new();
        mark(
            &mut minutes,
            utc("2024-01-01T00:00:30Z"),
            utc("2024-01-01T00:03:00Z"),
            SleepStage::Deep,
        );
        assert_eq!(minutes.len(), 2);
        assert_eq!(
            minutes.keys().next().copied(),
            Some(unix_minute(utc("2024-01-01T00:01:00Z")))
        );
    }

    #[test]
    fn entries_are_classified_by_name() {
        assert_eq!(
            classify("Takeout/Fitbit/Global Export Data/steps-2024-01-01.json"),
            Some(Kind::StepsJson)
        );
        assert_eq!(
            classify(
                "Takeout/Google Health/Physical Activity_GoogleData/Steps/steps_2026-09-01.csv"
            ),
            Some(Kind::StepsCsv)
        );
        assert_eq!(
            classify("Takeout/Fitbit/Global Export Data/sedentary_minutes-2024-01-01.json"),
            None
        );
        assert_eq!(
            classify("Takeout/Fitbit/Global Export Data/steps-2024-01.json"),
            None
        );
        assert_eq!(classify("Other/steps-2024-01-01.json"), None);
    }
}
