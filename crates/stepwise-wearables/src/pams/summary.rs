//! Step Counter Activity Summary Data records (layout in the [module docs](super)).

use crate::DecodeError;
use crate::bytes::Reader;

const NORMAL_WALKING: u8 = 0x01;
const INTENSITY: u8 = 0x02;
const FLOOR: u8 = 0x04;
const DISTANCE: u8 = 0x08;
const WORN_DURATION: u8 = 0x10;
const RESERVED: u8 = 0xe0;

/// Largest value of a u24 field.
const U24_MAX: u32 = 0x00ff_ffff;

/// One Step Counter Activity Summary Data record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepCounterSummary {
    /// The session it belongs to.
    pub session_id: u16,
    /// The sub-session it belongs to.
    pub sub_session_id: u16,
    /// End of the interval it covers, in seconds since the session's start.
    pub relative_time_s: u32,
    /// Its place in the session's records (0, 1, 2, …).
    pub sequence: u32,
    /// Steps at normal walking pace.
    pub normal_walking_steps: Option<u32>,
    /// Steps at higher intensity (brisk walking, running).
    pub intensity_steps: Option<u32>,
    /// Steps climbing floors.
    pub floor_steps: Option<u32>,
    /// Distance in decimetres.
    pub distance_dm: Option<u32>,
    /// Seconds the device was worn.
    pub worn_duration_s: Option<u32>,
}

impl StepCounterSummary {
    /// All steps of the interval: normal walking + intensity + floor steps (absent ones count
    /// as 0).
    pub fn total_steps(&self) -> u32 {
        [
            self.normal_walking_steps,
            self.intensity_steps,
            self.floor_steps,
        ]
        .into_iter()
        .flatten()
        .fold(0u32, u32::saturating_add)
    }
}

/// Decodes a reassembled record (segment headers removed). The length must match the flags
/// exactly; reserved flag bits must be 0.
pub fn decode_step_counter_summary(record: &[u8]) -> Result<StepCounterSummary, DecodeError> {
    const WHAT: &str = "PAMS step counter summary";
    let mut r = Reader::new(WHAT, record);
    let [flags] = r.array()?;
    if flags & RESERVED != 0 {
        return Err(DecodeError::invalid(
            WHAT,
            format!("reserved flag bits set ({flags:#04x})"),
        ));
    }
    let expected = 13 + 3 * usize::try_from(flags.count_ones()).unwrap_or(0);
    if record.len() < expected {
        return Err(DecodeError::Truncated {
            what: WHAT,
            expected,
            got: record.len(),
        });
    }
    let session_id = r.u16()?;
    let sub_session_id = r.u16()?;
    let relative_time_s = r.u32()?;
    let sequence = r.u32()?;
    let mut field = |bit: u8| -> Result<Option<u32>, DecodeError> {
        if flags & bit == 0 {
            return Ok(None);
        }
        let [a, b, c] = r.array()?;
        Ok(Some(u32::from_le_bytes([a, b, c, 0])))
    };
    let summary = StepCounterSummary {
        session_id,
        sub_session_id,
        relative_time_s,
        sequence,
        normal_walking_steps: field(NORMAL_WALKING)?,
        intensity_steps: field(INTENSITY)?,
        floor_steps: field(FLOOR)?,
        distance_dm: field(DISTANCE)?,
        worn_duration_s: field(WORN_DURATION)?,
    };
    r.finish()?;
    Ok(summary)
}

/// Encodes a record (without segment headers), flags from the fields present; values above
/// the u24 range are written as its largest value. For simulators and tests.
pub fn encode_step_counter_summary(summary: &StepCounterSummary) -> Vec<u8> {
    let fields = [
        (NORMAL_WALKING, summary.normal_walking_steps),
        (INTENSITY, summary.intensity_steps),
        (FLOOR, summary.floor_steps),
        (DISTANCE, summary.distance_dm),
        (WORN_DURATION, summary.worn_duration_s),
    ];
    let flags = fields
        .iter()
        .filter(|(_, v)| v.is_some())
        .fold(0, |f, (bit, _)| f | bit);
    let mut out = vec![flags];
    out.extend_from_slice(&summary.session_id.to_le_bytes());
    out.extend_from_slice(&summary.sub_session_id.to_le_bytes());
    out.extend_from_slice(&summary.relative_time_s.to_le_bytes());
    out.extend_from_slice(&summary.sequence.to_le_bytes());
    for value in fields.iter().filter_map(|(_, v)| *v) {
        out.extend_from_slice(&value.min(U24_MAX).to_le_bytes()[..3]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_with_every_field() {
        let record = [
            0x1f, // all five fields
            0x07, 0x00, // session 7
            0x01, 0x00, // sub-session 1
            0x3c, 0x00, 0x00, 0x00, // 60 s
            0x02, 0x00, 0x00, 0x00, // sequence 2
            0x50, 0x00, 0x00, // 80 normal
            0x0a, 0x00, 0x00, // 10 intensity
            0x04, 0x00, 0x00, // 4 floor
            0x10, 0x27, 0x00, // 1000.0 m
            0x3c, 0x00, 0x00, // worn 60 s
        ];
        let summary = decode_step_counter_summary(&record).unwrap();
        assert_eq!(
            summary,
            StepCounterSummary {
                session_id: 7,
                sub_session_id: 1,
                relative_time_s: 60,
                sequence: 2,
                normal_walking_steps: Some(80),
                intensity_steps: Some(10),
                floor_steps: Some(4),
                distance_dm: Some(10_000),
                worn_duration_s: Some(60),
            }
        );
        assert_eq!(summary.total_steps(), 94);
        assert_eq!(encode_step_counter_summary(&summary), record);
    }

    #[test]
    fn optional_fields_follow_the_flags() {
        let summary = StepCounterSummary {
            session_id: 1,
            sub_session_id: 0,
            relative_time_s: 120,
            sequence: 0,
            normal_walking_steps: None,
            intensity_steps: Some(0xff_ffff),
            floor_steps: None,
            distance_dm: None,
            worn_duration_s: Some(5),
        };
        let bytes = encode_step_counter_summary(&summary);
        assert_eq!(bytes[0], 0x12);
        assert_eq!(bytes.len(), 19);
        assert_eq!(decode_step_counter_summary(&bytes), Ok(summary));
        let bare = StepCounterSummary {
            intensity_steps: None,
            worn_duration_s: None,
            ..summary
        };
        assert_eq!(bare.total_steps(), 0);
        assert_eq!(encode_step_counter_summary(&bare).len(), 13);
    }

    #[test]
    fn wrong_lengths_and_reserved_flags_are_errors() {
        let summary = StepCounterSummary {
            session_id: 1,
            sub_session_id: 0,
            relative_time_s: 60,
            sequence: 0,
            normal_walking_steps: Some(12),
            intensity_steps: None,
            floor_steps: None,
            distance_dm: None,
            worn_duration_s: None,
        };
        let bytes = encode_step_counter_summary(&summary);
        assert_eq!(
            decode_step_counter_summary(&bytes[..15]),
            Err(DecodeError::Truncated {
                what: "PAMS step counter summary",
                expected: 16,
                got: 15
            })
        );
        let mut long = bytes.clone();
        long.push(0);
        assert!(matches!(
            decode_step_counter_summary(&long),
            Err(DecodeError::TooLong { .. })
        ));
        let mut reserved = bytes;
        reserved[0] |= 0x20;
        assert!(
            decode_step_counter_summary(&reserved)
                .unwrap_err()
                .to_string()
                .contains("reserved")
        );
        assert!(decode_step_counter_summary(&[]).is_err());
    }
}
