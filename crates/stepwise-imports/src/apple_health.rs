//! Apple Health's "Export All Health Data": `export.xml`, streamed.
//!
//! The file is one `<HealthData>` element after an XML declaration and an internal DTD; its
//! children are `<ExportDate>`, `<Me>`, and then hundreds of thousands of `<Record>`s (each a
//! HealthKit sample: `type`, `sourceName`, `device`, `unit`, `startDate`, `endDate`, `value`,
//! optional `<MetadataEntry>` children), `<Correlation>`s, `<Workout>`s and
//! `<ActivitySummary>`s. Only three record types are read:
//!
//! - [`STEP_COUNT`]: steps over `[startDate, endDate]`. A record of at most a minute goes whole
//!   to the clock minute holding its middle (not estimated); a longer one is spread evenly over
//!   the clock minutes it touches and marked estimated; one longer than a day is skipped.
//! - [`SLEEP_ANALYSIS`]: sleep stages over `[startDate, endDate)` (core → light, deep → deep,
//!   REM → rem, awake → awake, asleep with no stage → light; in bed is not sleep).
//! - [`HEART_RATE`]: a heart rate in beats per minute at `startDate` (10–250 kept).
//!
//! Every source (`sourceName`) becomes one [`SourceData`]. Where sources overlap, one is kept:
//! per UTC hour the source with the most steps keeps its minutes (the others keep only their
//! heart rates); per night the source with the most minutes asleep keeps its sleep. Records
//! typed in by hand (`HKWasUserEntered` = 1) are not read, nor records nested in a
//! `<Correlation>` (the export repeats them at the top level).
//!
//! The reader never holds the document: it walks the XML events with one reused buffer and adds
//! each record into per-minute maps. It never expands entities a DTD declares (a DTD that
//! declares any is refused); only XML's own `&lt;` `&gt;` `&amp;` `&quot;` `&apos;` and
//! character references are resolved in attribute values. `docs/imports.md` cites where each
//! fact comes from.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{self, BufRead, Read};

use chrono::{DateTime, Utc};
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use stepwise_wearables::records::{
    Activity, MAX_AWAKE_GAP_MINUTES, MinuteRecord, SleepEpisode, SleepStage, sleep_episodes,
};

use crate::error::{ImportError, ImportResult};
use crate::model::{Export, Format, Minute, Source, SourceData};

/// The name errors give the file.
pub const FILE: &str = "export.xml";
/// The record type of step counts.
pub const STEP_COUNT: &str = "HKQuantityTypeIdentifierStepCount";
/// The record type of sleep stages.
pub const SLEEP_ANALYSIS: &str = "HKCategoryTypeIdentifierSleepAnalysis";
/// The record type of heart rates.
pub const HEART_RATE: &str = "HKQuantityTypeIdentifierHeartRate";
/// Longest one element (a start tag with its attributes, a text, the DTD) may be: 64 MiB.
/// Apple's largest elements are a few KB; a longer one is a damaged or hostile file, and
/// refusing it keeps memory bounded.
pub const MAX_EVENT_BYTES: u64 = 64 << 20;
/// Longest span of one step or sleep record that is read: a day. A longer record cannot be
/// placed in minutes meaningfully and is skipped.
pub const MAX_RECORD_MINUTES: i64 = 24 * 60;
/// Most steps one record may hold; more is not a step count and fails the file.
pub const MAX_STEPS_PER_RECORD: f64 = 1_000_000.0;
/// How often progress is reported: every MiB read.
const PROGRESS_EVERY: u64 = 1 << 20;

/// True for the entry of `export.zip` that holds the records: `apple_health_export/export.xml`
/// as the Health app writes it (also inside another folder, when the patient zipped the
/// unpacked folder again), or a lone `export.xml`. `export_cda.xml` (a clinical document of the
/// same data) is not it, nor macOS's `__MACOSX/` copies.
pub fn is_export_xml(name: &str) -> bool {
    (name == "export.xml" || name.ends_with("apple_health_export/export.xml"))
        && !name.starts_with("__MACOSX/")
}

/// Reads `export.xml` from `reader`, calling `progress` with the bytes read so far (every MiB,
/// and once at the end).
pub fn read(reader: &mut dyn BufRead, progress: &mut dyn FnMut(u64)) -> ImportResult<Export> {
    let mut xml = Reader::from_reader(Counted {
        inner: reader,
        total: 0,
        event_start: 0,
    });
    let decoder = xml.decoder();
    let mut buf = Vec::with_capacity(8 << 10);
    let mut data = Data::default();
    let mut depth: usize = 0;
    let mut root_seen = false;
    let mut root_closed = false;
    let mut pending: Option<Sample> = None;
    let mut reported = 0u64;
    loop {
        let position = xml.buffer_position();
        xml.get_mut().event_start = xml.get_ref().total;
        let event = match xml.read_event_into(&mut buf) {
            Ok(event) => event,
            Err(err) => {
                return Err(malformed(format!(
                    "not well-formed XML at byte {}: {} (the file is damaged or cut off; \
                     export it again)",
                    xml.error_position(),
                    one_line(&err.to_string())
                )));
            }
        };
        match event {
            Event::DocType(dtd) if dtd.windows(8).any(|w| w == b"<!ENTITY") => {
                return Err(malformed(
                    "its DOCTYPE declares entities (<!ENTITY ...>), which Apple's export never \
                     does; the file is not read",
                ));
            }
            Event::Start(ref element) | Event::Empty(ref element) => {
                let empty = matches!(event, Event::Empty(_));
                let name = element.name();
                if !root_seen {
                    if name.as_ref() != b"HealthData" {
                        return Err(ImportError::NotAnExport(format!(
                            "the XML file's root element is <{}>, not Apple Health's \
                             <HealthData> (send export.zip or its export.xml)",
                            shorten(&String::from_utf8_lossy(name.as_ref()))
                        )));
                    }
                    root_seen = true;
                    root_closed = empty;
                } else if root_closed {
                    return Err(malformed(format!(
                        "an element follows </HealthData> at byte {position}: the file is \
                         damaged"
                    )));
                } else if depth == 1 && name.as_ref() == b"Record" {
                    let sample = parse_record(element, decoder, position)?;
                    if empty {
                        if let Some(sample) = sample {
                            data.add(sample);
                        }
                    } else {
                        pending = sample;
                    }
                } else if depth == 2
                    && name.as_ref() == b"MetadataEntry"
                    && let Some(sample) = pending.as_mut()
                    && was_user_entered(element, decoder, position)?
                {
                    sample.user_entered = true;
                }
                if !empty {
                    depth = depth.saturating_add(1);
                }
            }
            Event::End(ref element) => {
                depth = depth.saturating_sub(1);
                if depth == 1
                    && element.name().as_ref() == b"Record"
                    && let Some(sample) = pending.take()
                {
                    data.add(sample);
                }
                if depth == 0 && root_seen {
                    root_closed = true;
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
        let done = xml.get_ref().total;
        if done.saturating_sub(reported) >= PROGRESS_EVERY {
            progress(done);
            reported = done;
        }
    }
    progress(xml.get_ref().total);
    if !root_seen {
        return Err(ImportError::NotAnExport(
            "the file holds no XML element, so no Apple Health <HealthData>".into(),
        ));
    }
    if !root_closed {
        return Err(malformed(format!(
            "the file ends at byte {} before </HealthData>: it is cut off (export it again)",
            xml.get_ref().total
        )));
    }
    Ok(data.finish())
}

/// An [`ImportError::Malformed`] of `export.xml`.
fn malformed(detail: impl Into<String>) -> ImportError {
    ImportError::malformed(FILE, detail)
}

/// `text` with line breaks and other control characters as spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `text` cut to 60 characters, on one line, for an error message.
fn shorten(text: &str) -> String {
    let one_line = one_line(text);
    if one_line.chars().count() > 60 {
        let cut: String = one_line.chars().take(57).collect();
        format!("{cut}...")
    } else {
        one_line
    }
}

/// The reader under the XML parser: counts the bytes consumed (for progress) and refuses an
/// element longer than [`MAX_EVENT_BYTES`], so one endless tag or text cannot fill memory.
struct Counted<'r> {
    inner: &'r mut dyn BufRead,
    total: u64,
    event_start: u64,
}

impl Counted<'_> {
    fn check(&self) -> io::Result<()> {
        if self.total.saturating_sub(self.event_start) > MAX_EVENT_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("one element or text runs past {MAX_EVENT_BYTES} bytes"),
            ));
        }
        Ok(())
    }
}

impl Read for Counted<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.check()?;
        let n = self.inner.read(out)?;
        self.total = self.total.saturating_add(n as u64);
        Ok(n)
    }
}

impl BufRead for Counted<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.check()?;
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.inner.consume(amount);
        self.total = self.total.saturating_add(amount as u64);
    }
}

/// What a record says, for the three types read.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Value {
    Steps(u32),
    Sleep(Option<Stage>),
    HeartRate(Option<u8>),
}

/// A sleep value, ranked: where a source's records overlap in a minute, the higher rank wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Awake = 0,
    /// Asleep, stage unknown.
    Unspecified = 1,
    Core = 2,
    Rem = 3,
    Deep = 4,
}

impl Stage {
    fn activity(self) -> Activity {
        match self {
            Stage::Awake => Activity::Awake,
            Stage::Unspecified => Activity::Asleep,
            Stage::Core => Activity::LightSleep,
            Stage::Rem => Activity::RemSleep,
            Stage::Deep => Activity::DeepSleep,
        }
    }
}

/// One record of a type read.
#[derive(Debug, Clone)]
struct Sample {
    source: String,
    /// Unix seconds.
    start: i64,
    /// Unix seconds.
    end: i64,
    value: Value,
    user_entered: bool,
}

/// The attributes of a `<Record>` this reader looks at, still escaped.
#[derive(Default)]
struct RawRecord<'a> {
    kind: Option<quick_xml::events::attributes::Attribute<'a>>,
    source: Option<quick_xml::events::attributes::Attribute<'a>>,
    unit: Option<quick_xml::events::attributes::Attribute<'a>>,
    start: Option<quick_xml::events::attributes::Attribute<'a>>,
    end: Option<quick_xml::events::attributes::Attribute<'a>>,
    value: Option<quick_xml::events::attributes::Attribute<'a>>,
}

/// The sample a top-level `<Record>` holds, if it is of a type read; an error for a record of
/// those types that breaks the format.
fn parse_record(
    element: &BytesStart<'_>,
    decoder: quick_xml::encoding::Decoder,
    position: u64,
) -> ImportResult<Option<Sample>> {
    let mut raw = RawRecord::default();
    for attribute in element.attributes() {
        let attribute = attribute.map_err(|err| {
            malformed(format!(
                "a <Record> at byte {position} has broken attributes: {}",
                one_line(&err.to_string())
            ))
        })?;
        let slot = match attribute.key.as_ref() {
            b"type" => &mut raw.kind,
            b"sourceName" => &mut raw.source,
            b"unit" => &mut raw.unit,
            b"startDate" => &mut raw.start,
            b"endDate" => &mut raw.end,
            b"value" => &mut raw.value,
            _ => continue,
        };
        *slot = Some(attribute);
    }
    let text = |attribute: &Option<quick_xml::events::attributes::Attribute<'_>>,
                kind: &str,
                name: &str|
     -> ImportResult<Option<String>> {
        let Some(attribute) = attribute else {
            return Ok(None);
        };
        attribute
            .decode_and_unescape_value(decoder)
            .map(|value| Some(value.into_owned()))
            .map_err(|err| {
                malformed(format!(
                    "a {kind} record at byte {position} has an unreadable {name}: {}",
                    one_line(&err.to_string())
                ))
            })
    };
    let kind = match raw.kind.as_ref().map(|a| a.value.as_ref()) {
        Some(b"HKQuantityTypeIdentifierStepCount") => STEP_COUNT,
        Some(b"HKCategoryTypeIdentifierSleepAnalysis") => SLEEP_ANALYSIS,
        Some(b"HKQuantityTypeIdentifierHeartRate") => HEART_RATE,
        Some(_) => return Ok(None),
        None => {
            return Err(malformed(format!(
                "a <Record> at byte {position} has no type"
            )));
        }
    };
    let required = |attribute: &Option<quick_xml::events::attributes::Attribute<'_>>,
                    name: &str|
     -> ImportResult<String> {
        text(attribute, kind, name)?
            .ok_or_else(|| malformed(format!("a {kind} record at byte {position} has no {name}")))
    };
    let source = required(&raw.source, "sourceName")?;
    let start = parse_date(
        &required(&raw.start, "startDate")?,
        kind,
        "startDate",
        position,
    )?;
    let end = parse_date(&required(&raw.end, "endDate")?, kind, "endDate", position)?;
    if end < start {
        return Err(malformed(format!(
            "a {kind} record at byte {position} ends before it starts"
        )));
    }
    let value = required(&raw.value, "value")?;
    let unit = text(&raw.unit, kind, "unit")?;
    let value = match kind {
        STEP_COUNT => {
            if unit.as_deref().is_some_and(|unit| unit != "count") {
                return Err(malformed(format!(
                    "a {kind} record at byte {position} has unit \"{}\", not count",
                    shorten(unit.as_deref().unwrap_or_default())
                )));
            }
            Value::Steps(parse_steps(&value).ok_or_else(|| {
                malformed(format!(
                    "a {kind} record at byte {position} has value \"{}\", not a step count \
                     (0 to {MAX_STEPS_PER_RECORD})",
                    shorten(&value)
                ))
            })?)
        }
        SLEEP_ANALYSIS => Value::Sleep(match value.as_str() {
            "HKCategoryValueSleepAnalysisAsleepCore" => Some(Stage::Core),
            "HKCategoryValueSleepAnalysisAsleepDeep" => Some(Stage::Deep),
            "HKCategoryValueSleepAnalysisAsleepREM" => Some(Stage::Rem),
            "HKCategoryValueSleepAnalysisAwake" => Some(Stage::Awake),
            "HKCategoryValueSleepAnalysisAsleepUnspecified"
            | "HKCategoryValueSleepAnalysisAsleep" => Some(Stage::Unspecified),
            // In bed is not sleep; a value a later iOS adds is not known here.
            _ => None,
        }),
        _ => {
            if unit.as_deref().is_some_and(|unit| unit != "count/min") {
                return Err(malformed(format!(
                    "a {kind} record at byte {position} has unit \"{}\", not count/min",
                    shorten(unit.as_deref().unwrap_or_default())
                )));
            }
            let bpm: f64 = value.trim().parse().map_err(|_| {
                malformed(format!(
                    "a {kind} record at byte {position} has value \"{}\", not a number",
                    shorten(&value)
                ))
            })?;
            let bpm = bpm.round();
            Value::HeartRate((10.0..=250.0).contains(&bpm).then_some(bpm as u8))
        }
    };
    Ok(Some(Sample {
        source,
        start,
        end,
        value,
        user_entered: false,
    }))
}

/// True for `<MetadataEntry key="HKWasUserEntered" value="1"/>`.
fn was_user_entered(
    element: &BytesStart<'_>,
    decoder: quick_xml::encoding::Decoder,
    position: u64,
) -> ImportResult<bool> {
    let mut key = false;
    let mut yes = false;
    for attribute in element.attributes() {
        let attribute = attribute.map_err(|err| {
            malformed(format!(
                "a <MetadataEntry> at byte {position} has broken attributes: {}",
                one_line(&err.to_string())
            ))
        })?;
        match attribute.key.as_ref() {
            b"key" => key = attribute.value.as_ref() == b"HKWasUserEntered",
            b"value" => {
                let value = attribute
                    .decode_and_unescape_value(decoder)
                    .map_err(|err| {
                        malformed(format!(
                            "a <MetadataEntry> at byte {position} has an unreadable value: {}",
                            one_line(&err.to_string())
                        ))
                    })?;
                yes = value.trim() == "1";
            }
            _ => {}
        }
    }
    Ok(key && yes)
}

/// Steps from a record's value: a finite number from 0 to [`MAX_STEPS_PER_RECORD`], rounded.
fn parse_steps(value: &str) -> Option<u32> {
    let steps: f64 = value.trim().parse().ok()?;
    if !steps.is_finite() || !(0.0..=MAX_STEPS_PER_RECORD).contains(&steps) {
        return None;
    }
    Some(steps.round() as u32)
}

/// A date as the export writes it, `2023-05-01 08:15:00 +0200`, as Unix seconds.
fn parse_date(text: &str, kind: &str, name: &str, position: u64) -> ImportResult<i64> {
    DateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S %z")
        .map(|date| date.timestamp())
        .map_err(|_| {
            malformed(format!(
                "a {kind} record at byte {position} has {name} \"{}\", not a date like \
                 2023-05-01 08:15:00 +0200",
                shorten(text)
            ))
        })
}

/// True if Unix seconds `at` lies in [`crate::YEARS`] (records outside are skipped: a phone
/// whose clock was reset writes 1970 dates).
fn year_ok(at: i64) -> bool {
    (crate::FIRST_SECOND..crate::END_SECOND).contains(&at)
}

/// `a / 60` rounded up.
fn ceil_minutes(a: i64) -> i64 {
    -((-a).div_euclid(60))
}

/// What one source has so far.
#[derive(Default)]
struct SourceMinutes {
    /// Minute (Unix minutes) → (steps, heart rate, estimated).
    minutes: BTreeMap<i64, (u32, Option<u8>, bool)>,
    /// Minute (Unix minutes) → the highest-ranked sleep value of the minute.
    sleep: BTreeMap<i64, Stage>,
    /// The step records added: (start, end, steps). A record repeated exactly counts once.
    step_records: HashSet<(i64, i64, u32)>,
}

impl SourceMinutes {
    fn add_steps(&mut self, minute: i64, steps: u32, estimated: bool) {
        let entry = self.minutes.entry(minute).or_insert((0, None, estimated));
        entry.0 = entry.0.saturating_add(steps);
        entry.2 &= estimated;
    }

    fn add_heart_rate(&mut self, minute: i64, bpm: u8) {
        let entry = self.minutes.entry(minute).or_insert((0, None, false));
        entry.1 = entry.1.max(Some(bpm));
    }
}

/// Everything read so far, by source name.
#[derive(Default)]
struct Data {
    sources: HashMap<String, SourceMinutes>,
}

impl Data {
    fn add(&mut self, sample: Sample) {
        if sample.user_entered || !year_ok(sample.start) || !year_ok(sample.end) {
            return;
        }
        let span_seconds = sample.end.saturating_sub(sample.start);
        if span_seconds > MAX_RECORD_MINUTES * 60 {
            return;
        }
        match sample.value {
            Value::Steps(steps) => {
                let source = self.sources.entry(sample.source).or_default();
                if !source
                    .step_records
                    .insert((sample.start, sample.end, steps))
                {
                    return;
                }
                if span_seconds <= 60 {
                    let middle = sample.start + span_seconds / 2;
                    source.add_steps(middle.div_euclid(60), steps, false);
                } else {
                    let first = sample.start.div_euclid(60);
                    let last = ceil_minutes(sample.end) - 1;
                    let count = (last - first + 1).max(1);
                    let Ok(count) = u32::try_from(count) else {
                        return;
                    };
                    let share = steps / count;
                    let extra = steps % count;
                    for i in 0..count {
                        let from_end = count - 1 - i;
                        let steps = share + u32::from(from_end < extra);
                        source.add_steps(first + i64::from(i), steps, true);
                    }
                }
            }
            Value::Sleep(Some(stage)) => {
                let source = self.sources.entry(sample.source).or_default();
                // The minutes whose middle lies in [start, end).
                let first = ceil_minutes(sample.start - 30);
                let last = ceil_minutes(sample.end - 30) - 1;
                for minute in first..=last {
                    let entry = source.sleep.entry(minute).or_insert(stage);
                    *entry = (*entry).max(stage);
                }
            }
            Value::HeartRate(Some(bpm)) => {
                let source = self.sources.entry(sample.source).or_default();
                source.add_heart_rate(sample.start.div_euclid(60), bpm);
            }
            Value::Sleep(None) | Value::HeartRate(None) => {}
        }
    }

    /// One source per hour of steps and per night of sleep; the export.
    fn finish(self) -> Export {
        let mut names: Vec<String> = self.sources.keys().cloned().collect();
        names.sort();
        let mut sources: Vec<SourceMinutes> = Vec::with_capacity(names.len());
        let mut map = self.sources;
        for name in &names {
            sources.push(map.remove(name).unwrap_or_default());
        }
        choose_step_hours(&mut sources);
        let sleep = choose_nights(&sources);
        let mut out: Vec<SourceData> = names
            .iter()
            .zip(sources)
            .zip(sleep)
            .filter_map(|((name, source), sleep)| {
                let minutes: Vec<Minute> = source
                    .minutes
                    .into_iter()
                    .filter_map(|(minute, (steps, heart_rate, estimated))| {
                        Some(Minute {
                            minute: DateTime::from_timestamp(minute.checked_mul(60)?, 0)?,
                            steps,
                            heart_rate,
                            estimated,
                        })
                    })
                    .collect();
                if minutes.is_empty() && sleep.is_empty() {
                    return None;
                }
                Some(SourceData {
                    source: Source {
                        identity: Source::derived_identity(&["apple-health", name]),
                        name: name.clone(),
                    },
                    minutes,
                    sleep,
                })
            })
            .collect();
        out.sort_by(|a, b| a.source.cmp(&b.source));
        Export {
            format: Format::AppleHealth,
            sources: out,
        }
    }
}

/// Per UTC hour, the source with the most steps (then the most exact minutes, then the first
/// name) keeps its minutes; every other source's minutes of the hour keep only their heart
/// rate (steps 0), or go if they have none. `sources` are by name.
fn choose_step_hours(sources: &mut [SourceMinutes]) {
    if sources.len() < 2 {
        return;
    }
    // Hour → per source (steps, exact minutes).
    let mut hours: BTreeMap<i64, Vec<(usize, u64, u64)>> = BTreeMap::new();
    for (index, source) in sources.iter().enumerate() {
        let mut current: Option<(i64, u64, u64)> = None;
        for (&minute, &(steps, _, estimated)) in &source.minutes {
            let hour = minute.div_euclid(60);
            match current.as_mut() {
                Some((h, total, exact)) if *h == hour => {
                    *total += u64::from(steps);
                    *exact += u64::from(!estimated && steps > 0);
                }
                _ => {
                    if let Some((h, total, exact)) = current.take() {
                        hours.entry(h).or_default().push((index, total, exact));
                    }
                    current = Some((hour, u64::from(steps), u64::from(!estimated && steps > 0)));
                }
            }
        }
        if let Some((h, total, exact)) = current {
            hours.entry(h).or_default().push((index, total, exact));
        }
    }
    for (hour, candidates) in hours {
        if candidates.len() < 2 {
            continue;
        }
        let Some(&(winner, _, _)) = candidates
            .iter()
            .max_by_key(|&&(index, total, exact)| (total, exact, Reverse(index)))
        else {
            continue;
        };
        for &(index, _, _) in &candidates {
            if index == winner {
                continue;
            }
            let Some(source) = sources.get_mut(index) else {
                continue;
            };
            let from = hour.saturating_mul(60);
            let until = from.saturating_add(60);
            let losing: Vec<i64> = source.minutes.range(from..until).map(|(&m, _)| m).collect();
            for minute in losing {
                match source.minutes.get_mut(&minute) {
                    Some(entry) if entry.1.is_some() => {
                        entry.0 = 0;
                        entry.2 = false;
                    }
                    _ => {
                        source.minutes.remove(&minute);
                    }
                }
            }
        }
    }
}

/// A source's sleep episodes grouped into nights: episodes less than
/// [`MAX_AWAKE_GAP_MINUTES`] apart belong to one.
struct Night {
    source: usize,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    asleep_minutes: i64,
    episodes: Vec<SleepEpisode>,
}

/// Each source's sleep episodes, keeping per night (a group of overlapping nights of several
/// sources) only the source with the most minutes asleep (then the first name).
fn choose_nights(sources: &[SourceMinutes]) -> Vec<Vec<SleepEpisode>> {
    let mut nights: Vec<Night> = Vec::new();
    for (index, source) in sources.iter().enumerate() {
        let records: Vec<MinuteRecord> = source
            .sleep
            .iter()
            .filter_map(|(&minute, &stage)| {
                Some(MinuteRecord {
                    minute: DateTime::from_timestamp(minute.checked_mul(60)?, 0)?,
                    steps: 0,
                    heart_rate: None,
                    activity: stage.activity(),
                })
            })
            .collect();
        let gap = chrono::TimeDelta::minutes(MAX_AWAKE_GAP_MINUTES as i64);
        for episode in sleep_episodes(&records) {
            let minutes = (episode.end - episode.start).num_minutes();
            let asleep = if episode.stage == SleepStage::Awake {
                0
            } else {
                minutes
            };
            match nights.last_mut() {
                Some(night) if night.source == index && episode.start - night.end <= gap => {
                    night.end = night.end.max(episode.end);
                    night.asleep_minutes += asleep;
                    night.episodes.push(episode);
                }
                _ => nights.push(Night {
                    source: index,
                    start: episode.start,
                    end: episode.end,
                    asleep_minutes: asleep,
                    episodes: vec![episode],
                }),
            }
        }
    }
    nights.sort_by_key(|night| (night.start, night.source));
    let mut out: Vec<Vec<SleepEpisode>> = sources.iter().map(|_| Vec::new()).collect();
    let mut i = 0;
    while i < nights.len() {
        // A group: nights overlapping one another, transitively.
        let mut group_end = nights.get(i).map(|n| n.end);
        let mut j = i + 1;
        while let (Some(next), Some(end)) = (nights.get(j), group_end) {
            if next.start >= end {
                break;
            }
            group_end = Some(end.max(next.end));
            j += 1;
        }
        let group = nights.get(i..j).unwrap_or_default();
        let mut asleep: BTreeMap<usize, i64> = BTreeMap::new();
        for night in group {
            *asleep.entry(night.source).or_default() += night.asleep_minutes;
        }
        let winner = asleep
            .iter()
            .max_by_key(|&(&source, &minutes)| (minutes, Reverse(source)))
            .map(|(&source, _)| source);
        for night in group {
            if Some(night.source) == winner
                && let Some(episodes) = out.get_mut(night.source)
            {
                episodes.extend(night.episodes.iter().copied());
            }
        }
        i = j;
    }
    for episodes in &mut out {
        episodes.sort_by_key(|e| e.start);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_entries_are_recognised() {
        assert!(is_export_xml("apple_health_export/export.xml"));
        assert!(is_export_xml("export.xml"));
        assert!(is_export_xml("Downloads/apple_health_export/export.xml"));
        assert!(!is_export_xml("Takeout/Other/export.xml"));
        assert!(!is_export_xml("apple_health_export/export_cda.xml"));
        assert!(!is_export_xml("__MACOSX/apple_health_export/export.xml"));
        assert!(!is_export_xml(
            "apple_health_export/workout-routes/route_1.gpx"
        ));
    }

    #[test]
    fn step_values() {
        assert_eq!(parse_steps("12"), Some(12));
        assert_eq!(parse_steps("12.6"), Some(13));
        assert_eq!(parse_steps("-1"), None);
        assert_eq!(parse_steps("NaN"), None);
        assert_eq!(parse_steps("inf"), None);
        assert_eq!(parse_steps("1e7"), None);
        assert_eq!(parse_steps(""), None);
    }

    #[test]
    fn minutes_round_up() {
        assert_eq!(ceil_minutes(0), 0);
        assert_eq!(ceil_minutes(1), 1);
        assert_eq!(ceil_minutes(60), 1);
        assert_eq!(ceil_minutes(-30), 0);
        assert_eq!(ceil_minutes(-61), -1);
    }

    #[test]
    fn stages_rank() {
        assert!(Stage::Deep > Stage::Rem && Stage::Rem > Stage::Core);
        assert!(Stage::Core > Stage::Unspecified && Stage::Unspecified > Stage::Awake);
    }
}
