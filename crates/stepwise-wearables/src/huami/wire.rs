//! Huami byte layouts: the fetch request and answer, and minute records (see the layouts in
//! the [module docs](super)).

use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, Offset, TimeDelta, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;

use super::Model;
use crate::DecodeError;
use crate::records::{Activity, MinuteRecord, whole_minute};

/// Seconds in one unit of the band's time-zone byte.
const TZ_UNIT_SECONDS: i32 = 15 * 60;

/// A local time in `zone` and that instant's UTC offset in 15-minute units (DST included).
fn local_with_offset(at: DateTime<Utc>, zone: Tz) -> (DateTime<Tz>, u8) {
    let local = at.with_timezone(&zone);
    let offset = local
        .offset()
        .fix()
        .local_minus_utc()
        .div_euclid(TZ_UNIT_SECONDS);
    let tz = i8::try_from(offset).unwrap_or(if offset < 0 { i8::MIN } else { i8::MAX });
    (local, tz.to_le_bytes()[0])
}

/// Year (u16 LE, clamped to 0–65535: no band stores such data), month, day, hour, minute.
fn date_minute(local: &DateTime<Tz>) -> [u8; 6] {
    let year = u16::try_from(local.year().max(0)).unwrap_or(u16::MAX);
    let [y0, y1] = year.to_le_bytes();
    let byte = |v: u32| u8::try_from(v).unwrap_or(u8::MAX);
    [
        y0,
        y1,
        byte(local.month()),
        byte(local.day()),
        byte(local.hour()),
        byte(local.minute()),
    ]
}

/// The fetch request for data from `from` (10 bytes): `01 01`, then `from` in the local time
/// of `zone` (year u16, month, day, hour, minute), `00` for the seconds, and that instant's
/// UTC offset in 15-minute units.
pub fn encode_fetch_start(from: DateTime<Utc>, zone: Tz) -> [u8; 10] {
    let (local, tz) = local_with_offset(from, zone);
    let [y0, y1, month, day, hour, minute] = date_minute(&local);
    [0x01, 0x01, y0, y1, month, day, hour, minute, 0x00, tz]
}

/// The band's clock value for Current Time (11 bytes): `now` in the local time of `zone`
/// (year u16, month, day, hour, minute, second), the day of the week (1 Monday … 7 Sunday),
/// `00 00`, then the UTC offset in 15-minute units.
pub fn encode_current_time(now: DateTime<Utc>, zone: Tz) -> [u8; 11] {
    let (local, tz) = local_with_offset(now, zone);
    let [y0, y1, month, day, hour, minute] = date_minute(&local);
    let second = u8::try_from(local.second().min(59)).unwrap_or(0);
    let weekday = u8::try_from(local.weekday().number_from_monday()).unwrap_or(1);
    [
        y0, y1, month, day, hour, minute, second, weekday, 0x00, 0x00, tz,
    ]
}

/// The band's answer to a fetch request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchAnswer {
    /// Minute samples (records) the band will send (0: nothing newer).
    pub samples: u32,
    /// The first record's minute, in UTC (seconds dropped).
    pub start: DateTime<Utc>,
}

/// Decodes the answer to a fetch request: exactly 15 bytes, `10 01 01 <samples u32> <year u16>
/// <month> <day> <hour> <minute> <second> <tz i8>`, the start in the band's local time with
/// its UTC offset in 15-minute units.
pub fn decode_fetch_answer(value: &[u8]) -> Result<FetchAnswer, DecodeError> {
    const WHAT: &str = "Huami fetch answer";
    DecodeError::check_len(WHAT, value, 15)?;
    let mut r = crate::bytes::Reader::new(WHAT, value);
    let header = r.array::<3>()?;
    match header {
        [0x10, 0x01, 0x01] => {}
        [0x10, 0x01, status] => {
            return Err(DecodeError::invalid(
                WHAT,
                format!("the band refused the fetch (status {status:#04x})"),
            ));
        }
        other => {
            return Err(DecodeError::invalid(
                WHAT,
                format!("expected it to start 10 01 01, got {other:02x?}"),
            ));
        }
    }
    let samples = r.u32()?;
    let year = r.u16()?;
    let [month, day, hour, minute, second] = r.array()?;
    let tz = r.i8()?;
    r.finish()?;
    let local = NaiveDate::from_ymd_opt(i32::from(year), u32::from(month), u32::from(day))
        .and_then(|d| d.and_hms_opt(u32::from(hour), u32::from(minute), u32::from(second)))
        .ok_or_else(|| {
            DecodeError::invalid(
                WHAT,
                format!(
                    "start {year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02} is not a valid date and time"
                ),
            )
        })?;
    let offset = FixedOffset::east_opt(i32::from(tz) * TZ_UNIT_SECONDS).ok_or_else(|| {
        DecodeError::invalid(
            WHAT,
            format!("time-zone offset {tz} × 15 min is out of range"),
        )
    })?;
    let start = offset
        .from_local_datetime(&local)
        .single()
        .map(|t| whole_minute(t.with_timezone(&Utc)))
        .ok_or_else(|| DecodeError::invalid(WHAT, "start is out of range"))?;
    Ok(FetchAnswer { samples, start })
}

/// Decodes one round's records: minute `i` is `start + i` minutes (`start` taken to the whole
/// minute). `bytes` must be a whole number of [`Model::record_size`] records.
pub fn decode_records(
    model: Model,
    start: DateTime<Utc>,
    bytes: &[u8],
) -> Result<Vec<MinuteRecord>, DecodeError> {
    decode_records_after(model, start, None, bytes).map(|(records, _)| records)
}

/// [`decode_records`], where `previous` is the kind-derived activity of the minute before
/// `start` (for kinds 0 and 10, "same as before"). Also returns the last minute's
/// kind-derived activity, to carry into the next round. Bytes after the first four of a
/// record (Mi Band 5 and 6) are ignored.
pub(crate) fn decode_records_after(
    model: Model,
    start: DateTime<Utc>,
    mut previous: Option<Activity>,
    bytes: &[u8],
) -> Result<(Vec<MinuteRecord>, Option<Activity>), DecodeError> {
    const WHAT: &str = "Huami minute records";
    let size = model.record_size();
    if !bytes.len().is_multiple_of(size) {
        return Err(DecodeError::invalid(
            WHAT,
            format!(
                "{} bytes is not a whole number of {size}-byte records",
                bytes.len()
            ),
        ));
    }
    let start = whole_minute(start);
    let mut records = Vec::with_capacity(bytes.len() / size);
    for (i, record) in bytes.chunks_exact(size).enumerate() {
        let minute = i64::try_from(i)
            .ok()
            .and_then(|i| start.checked_add_signed(TimeDelta::try_minutes(i)?))
            .ok_or_else(|| DecodeError::invalid(WHAT, format!("minute {i} is out of range")))?;
        let (&kind, rest) = record.split_first().ok_or(DecodeError::Truncated {
            what: WHAT,
            expected: size,
            got: record.len(),
        })?;
        let [_intensity, steps, heart_rate] = match rest.get(..3) {
            Some(&[a, b, c]) => [a, b, c],
            _ => {
                return Err(DecodeError::Truncated {
                    what: WHAT,
                    expected: size,
                    got: record.len(),
                });
            }
        };
        let activity = kind_activity(kind, previous);
        previous = Some(activity);
        records.push(MinuteRecord {
            minute,
            steps: u16::from(steps),
            heart_rate: (10..=250).contains(&heart_rate).then_some(heart_rate),
            activity,
        });
    }
    Ok((records, previous))
}

/// The activity a kind byte stands for (its low nibble); kinds 0 and 10 repeat `previous`.
/// Gadgetbridge keeps the same byte (`RAW_KIND`) for these bands, so an import reads it here.
pub fn kind_activity(kind: u8, previous: Option<Activity>) -> Activity {
    match kind & 0x0f {
        1 => Activity::Walking,
        2 => Activity::Running,
        3 => Activity::NotWorn,
        4 => Activity::Cycling,
        6 => Activity::Charging,
        9 => Activity::LightSleep,
        11 => Activity::DeepSleep,
        12 => Activity::Awake,
        0 | 10 => previous.unwrap_or(Activity::Other),
        _ => Activity::Unknown(kind),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Berlin;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    #[test]
    fn fetch_start_is_local_time_with_that_instants_offset() {
        // 2026-10-25 00:30 UTC = 02:30 CEST (+2 h) and 01:30 UTC = 02:30 CET (+1 h): the same
        // local time twice, told apart by the offset byte.
        assert_eq!(
            encode_fetch_start(utc(2026, 10, 25, 0, 30), Berlin),
            [0x01, 0x01, 0xea, 0x07, 10, 25, 2, 30, 0, 8]
        );
        assert_eq!(
            encode_fetch_start(utc(2026, 10, 25, 1, 30), Berlin),
            [0x01, 0x01, 0xea, 0x07, 10, 25, 2, 30, 0, 4]
        );
        assert_eq!(
            encode_fetch_start(utc(2026, 1, 2, 3, 4), chrono_tz::America::St_Johns),
            [0x01, 0x01, 0xea, 0x07, 1, 1, 23, 34, 0, 0xf2] // −3:30 = −14 units
        );
        // Far-off years are clamped, never a panic.
        let far = DateTime::<Utc>::MAX_UTC;
        assert_eq!(encode_fetch_start(far, Berlin)[2..4], [0xff, 0xff]);
        assert_eq!(
            encode_fetch_start(DateTime::<Utc>::MIN_UTC, Berlin)[2..4],
            [0, 0]
        );
    }

    #[test]
    fn current_time_is_local_time_weekday_and_offset() {
        // Sunday 2026-11-29 17:05:09 UTC = 18:05:09 CET (+1 h = 4 quarter hours).
        let now = Utc.with_ymd_and_hms(2026, 11, 29, 17, 5, 9).unwrap();
        assert_eq!(
            encode_current_time(now, Berlin),
            [0xea, 0x07, 11, 29, 18, 5, 9, 7, 0, 0, 4]
        );
        // Monday in summer: +2 h.
        let now = Utc.with_ymd_and_hms(2026, 6, 29, 6, 0, 0).unwrap();
        assert_eq!(encode_current_time(now, Berlin)[7], 1);
        assert_eq!(encode_current_time(now, Berlin)[10], 8);
    }

    #[test]
    fn fetch_answer_gives_the_start_in_utc() {
        let answer = [
            0x10, 0x01, 0x01, 0x40, 0x01, 0, 0, 0xea, 0x07, 10, 25, 2, 30, 17, 4,
        ];
        assert_eq!(
            decode_fetch_answer(&answer),
            Ok(FetchAnswer {
                samples: 320,
                start: utc(2026, 10, 25, 1, 30)
            })
        );
        assert_eq!(
            decode_fetch_answer(&answer[..14]),
            Err(DecodeError::Truncated {
                what: "Huami fetch answer",
                expected: 15,
                got: 14
            })
        );
        let mut long = answer.to_vec();
        long.push(0);
        assert!(matches!(
            decode_fetch_answer(&long),
            Err(DecodeError::TooLong { .. })
        ));
        let mut bad = answer;
        bad[9] = 13; // month 13
        assert!(
            decode_fetch_answer(&bad)
                .unwrap_err()
                .to_string()
                .contains("not a valid date")
        );
        let mut bad = answer;
        bad[14] = 0x7f; // +31 h 45 min
        assert!(
            decode_fetch_answer(&bad)
                .unwrap_err()
                .to_string()
                .contains("offset")
        );
        let mut bad = answer;
        bad[2] = 0x02;
        assert!(
            decode_fetch_answer(&bad)
                .unwrap_err()
                .to_string()
                .contains("refused")
        );
        let mut bad = answer;
        bad[0] = 0x11;
        assert!(decode_fetch_answer(&bad).is_err());
    }

    #[test]
    fn four_byte_records() {
        let start = utc(2026, 11, 20, 22, 0);
        let bytes = [
            0x00, 0, 0, 0xff, // same as before, none before: Other, HR 0xFF → None
            0x01, 40, 80, 95, // walking
            0x0a, 10, 20, 9, // same as before: walking; HR 9 → None
            0x12, 50, 160, 250, // kind 2 in the low nibble: running; HR 250 kept
            0x09, 0, 0, 10, // light sleep; HR 10 kept
            0x00, 0, 0, 251, // same: light sleep; HR 251 → None
            0x0b, 0, 0, 55, // deep sleep
            0x0c, 0, 0, 60, // awake
            0x03, 0, 0, 0, // not worn
            0x04, 0, 30, 0, // cycling
            0x06, 0, 0, 0, // charging
            0x07, 0, 0, 0, // unknown kind 7
            0x0a, 0, 0, 0, // same as an unknown kind
        ];
        let records = decode_records(Model::MiBand3, start, &bytes).unwrap();
        let activities: Vec<Activity> = records.iter().map(|r| r.activity).collect();
        use Activity::*;
        assert_eq!(
            activities,
            [
                Other,
                Walking,
                Walking,
                Running,
                LightSleep,
                LightSleep,
                DeepSleep,
                Awake,
                NotWorn,
                Cycling,
                Charging,
                Unknown(7),
                Unknown(7)
            ]
        );
        let hr: Vec<Option<u8>> = records.iter().take(6).map(|r| r.heart_rate).collect();
        assert_eq!(hr, [None, Some(95), None, Some(250), Some(10), None]);
        assert_eq!(records[3].steps, 160);
        assert_eq!(records[12].minute, start + TimeDelta::minutes(12));
        assert!(decode_records(Model::MiBand3, start, &bytes[..5]).is_err());
        assert_eq!(decode_records(Model::MiBand3, start, &[]), Ok(vec![]));
    }

    #[test]
    fn eight_byte_records_ignore_the_extra_bytes() {
        let start = utc(2026, 11, 21, 1, 0);
        let bytes = [
            0x09, 0, 0, 58, 0, 1, 0, 0, // light
            0x09, 0, 0, 57, 0, 1, 0, 3, // light, whatever the last byte says
            0x00, 0, 0, 57, 0, 1, 0, 0, // same as before: light
            0x0b, 0, 0, 50, 0, 1, 2, 1, // deep
            0x01, 5, 30, 90, 0, 0, 0, 7, // walking
        ];
        let records = decode_records(Model::MiBand5, start, &bytes).unwrap();
        let activities: Vec<Activity> = records.iter().map(|r| r.activity).collect();
        use Activity::*;
        assert_eq!(
            activities,
            [LightSleep, LightSleep, LightSleep, DeepSleep, Walking]
        );
        assert_eq!(records[4].steps, 30);
        let err = decode_records(Model::MiBand5, start, &bytes[..12]).unwrap_err();
        assert!(
            err.to_string()
                .contains("12 bytes is not a whole number of 8-byte records")
        );
        // The same first 8 bytes are two 4-byte minutes on a Mi Band 4.
        assert_eq!(
            decode_records(Model::MiBand4, start, &bytes[..8])
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn records_past_the_last_representable_minute_are_an_error() {
        let last = whole_minute(DateTime::<Utc>::MAX_UTC);
        assert!(decode_records(Model::MiBand2, last, &[1, 0, 0, 0]).is_ok());
        assert!(decode_records(Model::MiBand2, last, &[1, 0, 0, 0, 1, 0, 0, 0]).is_err());
    }
}
