//! Replays a recorded conversation with a band through the same protocol machine the
//! collector drives, offline: does the machine write what the recorded client wrote, and what
//! does it make of what the band sent? `stepwise band replay` prints the [`Report`];
//! `docs/wearables.md` documents the transcript format and the report.
//!
//! A transcript is JSON lines. Line 1 describes the recording ([`Header`]); every further
//! line is one GATT event in order ([`Event`]). Only writes to the characteristics a protocol
//! drives are compared (Huami: auth and fetch control; the clock write when the recording
//! holds one); a recording's other traffic (settings, heart rate, …) is skipped.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::device::{DEFAULT_HISTORY, DeviceKind};
use crate::records::{MinuteRecord, sleep_episodes};
use crate::{Protocol, Request, huami, infinitime};

/// Line 1 of a transcript.
#[derive(Debug, Clone, Deserialize)]
pub struct Header {
    /// The device kind as the server stores it (`mi-band-2` … `mi-band-6`, `amazfit-bip`,
    /// `infinitime`, `pams`).
    pub device: String,
    /// A Huami band's auth key (32 hex digits), if known; without it the 16 encrypted bytes
    /// of the auth answer cannot be compared (the first two bytes still are).
    pub key: Option<String>,
    /// The zone the band's clock is set to (IANA name).
    pub zone: String,
    /// When the recording was made (the machine's clock for clock writes).
    pub now: DateTime<Utc>,
    /// The first minute the client asked for (default: seven days before `now`).
    pub since: Option<DateTime<Utc>>,
    /// `connect` (from authentication) or `fetch` (already authenticated).
    pub start: Start,
}

/// Where a recording begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Start {
    /// From the beginning: authentication first.
    Connect,
    /// Already authenticated: the first fetch request.
    Fetch,
}

/// Who sent an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum From {
    /// The band (peripheral).
    Band,
    /// The client (central) that was recorded.
    Collector,
}

/// What an event was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// A notification (or indication) from the band.
    Notify,
    /// A read value from the band.
    Read,
    /// A write by the client.
    Write,
}

/// One recorded GATT event (lines 2…).
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    /// Who sent it.
    pub from: From,
    /// What it was.
    pub op: Op,
    /// The characteristic.
    #[serde(rename = "char")]
    pub characteristic: Uuid,
    /// The value, in hex.
    pub hex: String,
    /// Writes: with response (a write request) or not (a write command).
    pub response: Option<bool>,
    /// When it happened (InfiniTime counts become steps by time; optional otherwise).
    pub at: Option<DateTime<Utc>>,
    /// The value was masked (a key written in clear, in a `band sync --trace` transcript):
    /// its bytes are not the real ones.
    #[serde(default)]
    pub masked: bool,
}

/// A recording, read and checked.
#[derive(Debug, Clone)]
pub struct Transcript {
    /// Line 1.
    pub header: Header,
    /// The events, in order, with their bytes decoded.
    pub events: Vec<(Event, Vec<u8>)>,
}

/// Why a transcript could not be read (exit 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct InputError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl Transcript {
    /// A transcript from recorded events (a btsnoop log's, say), with the header given by the
    /// caller.
    pub fn from_events(
        header: Header,
        events: Vec<(Event, Vec<u8>)>,
    ) -> Result<Transcript, InputError> {
        check_header(&header, 1)?;
        Ok(Transcript { header, events })
    }

    /// Reads a JSON-lines transcript. Blank lines are skipped.
    pub fn parse(text: &str) -> Result<Transcript, InputError> {
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim()))
            .filter(|(_, l)| !l.is_empty());
        let (line, first) = lines.next().ok_or(InputError {
            line: 1,
            message: "the transcript is empty (line 1 must describe the recording)".into(),
        })?;
        let header: Header = serde_json::from_str(first).map_err(|e| InputError {
            line,
            message: format!("not a transcript header: {e}"),
        })?;
        check_header(&header, line)?;
        let mut events = Vec::new();
        for (line, text) in lines {
            let event: Event = serde_json::from_str(text).map_err(|e| InputError {
                line,
                message: format!("not a GATT event: {e}"),
            })?;
            let bytes = decode_hex(&event.hex).map_err(|message| InputError { line, message })?;
            let valid = matches!(
                (event.from, event.op),
                (From::Band, Op::Notify | Op::Read) | (From::Collector, Op::Write)
            );
            if !valid {
                return Err(InputError {
                    line,
                    message: format!(
                        "a {:?} cannot {:?} (the band notifies or is read, the collector writes)",
                        event.from, event.op
                    ),
                });
            }
            events.push((event, bytes));
        }
        Ok(Transcript { header, events })
    }
}

fn check_header(header: &Header, line: usize) -> Result<(), InputError> {
    if DeviceKind::from_kind(&header.device).is_none() {
        return Err(InputError {
            line,
            message: format!(
                "device {:?} is not a supported kind (one of: {})",
                header.device,
                DeviceKind::ALL.map(|k| k.as_str()).join(", ")
            ),
        });
    }
    header.zone.parse::<Tz>().map_err(|_| InputError {
        line,
        message: format!("zone {:?} is not an IANA time zone", header.zone),
    })?;
    if let Some(key) = &header.key {
        huami::parse_key(key).map_err(|e| InputError {
            line,
            message: format!("key: {e}"),
        })?;
    }
    Ok(())
}

fn decode_hex(hex: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = hex
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b':')
        .collect();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("hex {hex:?} has an odd number of digits"));
    }
    digits
        .chunks_exact(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(|| format!("hex {hex:?} is not hexadecimal"))
        })
        .collect()
}

/// One compared write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WriteCheck {
    /// The characteristic.
    #[serde(rename = "char")]
    pub characteristic: Uuid,
    /// What the recorded client wrote (hex; with `/response` or `/command`).
    pub expected: String,
    /// What the machine wrote (hex, same notation), or null when it wrote nothing there.
    pub got: Option<String>,
    /// Equal (an unknown key compares the first two bytes of the auth answer only).
    #[serde(rename = "match")]
    pub matches: bool,
}

/// One minute the machine made of the recording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Minute {
    /// The minute, UTC.
    pub minute: DateTime<Utc>,
    /// Steps.
    pub steps: u32,
    /// Heart rate, when valid.
    pub heart_rate: Option<u8>,
    /// The activity name (`walking`, `light-sleep`, … or `steps` for InfiniTime deltas).
    pub activity: String,
    /// False: from a round the band never finished (the collector would not store it).
    pub complete: bool,
}

/// One sleep episode from the complete minutes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sleep {
    /// First minute.
    pub start: DateTime<Utc>,
    /// The minute after the last.
    pub end: DateTime<Utc>,
    /// `light`, `deep`, `rem` or `awake`.
    pub stage: String,
}

/// What a replay found; printed as one JSON object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Every compared write matched and the machine raised no error.
    pub agree: bool,
    /// The compared writes, in order.
    pub writes: Vec<WriteCheck>,
    /// The minutes, oldest first.
    pub minutes: Vec<Minute>,
    /// Sleep episodes of the complete minutes.
    pub sleep: Vec<Sleep>,
    /// Minute samples the band announced, over all rounds (null: no announcement).
    pub samples_announced: Option<u64>,
    /// Minute records received (complete and not).
    pub records_received: u64,
    /// No announced round was left unfinished and no error stopped the machine.
    pub complete: bool,
    /// The machine's error, if it stopped on one.
    pub error: Option<String>,
}

fn shown(bytes: &[u8], response: bool) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}/{}", if response { "response" } else { "command" })
}

/// Replays `transcript`. PAMS recordings are refused (no device or recording exists).
pub fn replay(transcript: &Transcript) -> Result<Report, InputError> {
    let header = &transcript.header;
    let kind = DeviceKind::from_kind(&header.device).ok_or(InputError {
        line: 1,
        message: format!("device {:?} is not supported", header.device),
    })?;
    let zone: Tz = header.zone.parse().map_err(|_| InputError {
        line: 1,
        message: format!("zone {:?} is not an IANA time zone", header.zone),
    })?;
    match kind {
        DeviceKind::Huami(model) => Ok(replay_huami(transcript, model, zone)),
        DeviceKind::InfiniTime => replay_infinitime(transcript, zone),
        DeviceKind::Pams => Err(InputError {
            line: 1,
            message: "PAMS is experimental: no device or recording exists to replay".into(),
        }),
    }
}

fn replay_huami(transcript: &Transcript, model: huami::Model, zone: Tz) -> Report {
    let header = &transcript.header;
    let first_auth_write = transcript
        .events
        .iter()
        .find(|(e, _)| e.from == From::Collector && e.characteristic == huami::AUTH)
        .map(|(_, bytes)| bytes.as_slice());
    // A first pairing writes the key in clear (`01 00 <key>`): the recording gives it.
    let masked = transcript
        .events
        .iter()
        .any(|(e, _)| e.masked && e.characteristic == huami::AUTH);
    let recorded_key = first_auth_write
        .filter(|bytes| !masked && bytes.len() == 18 && bytes.first() == Some(&0x01))
        .and_then(|bytes| bytes.get(2..)?.try_into().ok());
    let key = header
        .key
        .as_deref()
        .and_then(|k| huami::parse_key(k).ok())
        .or(recorded_key);
    let since = header.since.unwrap_or(header.now - DEFAULT_HISTORY);
    let writes_to = |characteristic: Uuid, first: Option<u8>| {
        transcript.events.iter().any(|(e, bytes)| {
            e.from == From::Collector
                && e.characteristic == characteristic
                && first.is_none_or(|f| bytes.first() == Some(&f))
        })
    };
    let mut config = huami::Config::new(model, key.unwrap_or([0; 16]), since, zone);
    config.set_key = first_auth_write.is_some_and(|bytes| bytes.first() == Some(&0x01));
    config.keep_on_band = !writes_to(huami::FETCH_CONTROL, Some(0x03));
    let set_clock = writes_to(huami::CURRENT_TIME, None);
    if set_clock {
        config.clock = Some(header.now);
    }
    let compared = |c: Uuid| {
        c == huami::AUTH || c == huami::FETCH_CONTROL || (set_clock && c == huami::CURRENT_TIME)
    };
    let mut machine = match header.start {
        Start::Connect => huami::Sync::new(config),
        Start::Fetch => huami::Sync::authenticated(config),
    };
    let mut pending: VecDeque<(Uuid, Vec<u8>, bool)> = VecDeque::new();
    let mut writes = Vec::new();
    let mut minutes = Vec::new();
    let mut complete_records: Vec<MinuteRecord> = Vec::new();
    let mut samples_announced: Option<u64> = None;
    let mut error = None;
    let mut drain = |machine: &mut huami::Sync, pending: &mut VecDeque<_>| {
        while let Some(request) = machine.poll_request() {
            if let Request::Write {
                characteristic,
                value,
                with_response,
                ..
            } = request
            {
                pending.push_back((characteristic, value, with_response));
            }
        }
        while let Some(event) = machine.poll_event() {
            match event {
                huami::Event::RoundStarted { samples, .. } => {
                    *samples_announced.get_or_insert(0) += u64::from(samples);
                }
                huami::Event::Batch { records, .. } => complete_records.extend(records),
                _ => {}
            }
        }
    };
    drain(&mut machine, &mut pending);
    for (event, bytes) in &transcript.events {
        match event.from {
            From::Collector => {
                if !compared(event.characteristic) {
                    continue;
                }
                let response = event.response.unwrap_or(false);
                let expected = shown(bytes, response);
                let got = pending.pop_front();
                let matches = got.as_ref().is_some_and(|(c, value, r)| {
                    let same_length = value.len() == bytes.len();
                    // Without the key the encrypted 16 bytes cannot be known.
                    let unknown_answer = key.is_none()
                        && *c == huami::AUTH
                        && matches!(value.first(), Some(0x03 | 0x83))
                        && same_length;
                    // A clock write holds the moment it was made: compared by its length
                    // and its time-zone byte.
                    let clock = *c == huami::CURRENT_TIME && same_length;
                    let masked_key = event.masked && same_length;
                    *c == event.characteristic
                        && *r == response
                        && (value == bytes
                            || (masked_key && value.get(..2) == bytes.get(..2))
                            || (unknown_answer && value.get(..2) == bytes.get(..2))
                            || (clock && value.last() == bytes.last()))
                });
                writes.push(WriteCheck {
                    characteristic: event.characteristic,
                    expected,
                    got: got.map(|(_, value, r)| shown(&value, r)),
                    matches,
                });
            }
            From::Band => {
                let driven = [huami::AUTH, huami::FETCH_CONTROL, huami::ACTIVITY_DATA];
                if error.is_some() || !driven.contains(&event.characteristic) {
                    continue;
                }
                if let Err(e) = machine.handle_notification(event.characteristic, bytes) {
                    error = Some(e.to_string());
                }
                drain(&mut machine, &mut pending);
            }
        }
    }
    let partial = machine.partial_records();
    let sleep = episodes(&complete_records);
    let records_received = (complete_records.len() + partial.len()) as u64;
    minutes.extend(complete_records.iter().map(|r| minute(r, true)));
    minutes.extend(partial.iter().map(|r| minute(r, false)));
    let complete = !machine.round_in_progress() && error.is_none();
    Report {
        agree: error.is_none() && writes.iter().all(|w| w.matches),
        writes,
        minutes,
        sleep,
        samples_announced,
        records_received,
        complete,
        error,
    }
}

fn replay_infinitime(transcript: &Transcript, zone: Tz) -> Result<Report, InputError> {
    let mut counter = infinitime::StepCounter::new(zone, None);
    let mut minutes = Vec::new();
    let mut error = None;
    let mut readings = 0u64;
    for (i, (event, bytes)) in transcript.events.iter().enumerate() {
        if event.from != From::Band || event.characteristic != infinitime::STEP_COUNT {
            continue;
        }
        let at = event.at.ok_or(InputError {
            line: i + 2,
            message: "an InfiniTime step count needs \"at\": when it was seen".into(),
        })?;
        readings += 1;
        match infinitime::decode_step_count(bytes) {
            Ok(count) => {
                if let Some(delta) = counter.observe(count, at) {
                    minutes.extend(delta.minutes().into_iter().map(|(minute, steps)| Minute {
                        minute,
                        steps,
                        heart_rate: None,
                        activity: "steps".into(),
                        complete: true,
                    }));
                }
            }
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        }
    }
    Ok(Report {
        agree: error.is_none(),
        writes: Vec::new(),
        records_received: readings,
        minutes,
        sleep: Vec::new(),
        samples_announced: None,
        complete: error.is_none(),
        error,
    })
}

fn minute(record: &MinuteRecord, complete: bool) -> Minute {
    Minute {
        minute: record.minute,
        steps: u32::from(record.steps),
        heart_rate: record.heart_rate,
        activity: record.activity.as_str().to_string(),
        complete,
    }
}

fn episodes(records: &[MinuteRecord]) -> Vec<Sleep> {
    sleep_episodes(records)
        .into_iter()
        .map(|e| Sleep {
            start: e.start,
            end: e.end,
            stage: e.stage.as_str().to_string(),
        })
        .collect()
}
