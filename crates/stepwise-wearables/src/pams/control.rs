//! PAMS control point requests and responses, and session descriptors (layouts in the
//! [module docs](super)).

use chrono::{DateTime, TimeDelta, Utc};

use crate::DecodeError;
use crate::bytes::Reader;

/// The Enquire Sessions request (`01`).
pub const ENQUIRE_SESSIONS: [u8; 1] = [0x01];
/// Get Ended Session Data's op code.
const GET_ENDED_SESSION_DATA: u8 = 0x03;
/// "All sub-sessions" in a Get Ended Session Data request.
const ALL_SUB_SESSIONS: u16 = 0xffff;
/// The data type of Step Counter Activity Summary Data in a Get Ended Session Data request.
pub const DATA_TYPE_STEP_COUNTER_SUMMARY: u8 = 0x04;

/// The Get Ended Session Data request for the step counter summaries of every sub-session of
/// `session_id`: `03 <id u16> FF FF 04`.
pub fn encode_get_ended_session_data(session_id: u16) -> [u8; 6] {
    let [s0, s1] = session_id.to_le_bytes();
    let [a0, a1] = ALL_SUB_SESSIONS.to_le_bytes();
    [
        GET_ENDED_SESSION_DATA,
        s0,
        s1,
        a0,
        a1,
        DATA_TYPE_STEP_COUNTER_SUMMARY,
    ]
}

/// A response indicated on the control point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlPointResponse {
    /// `FC <count u16>`: Enquire Sessions succeeded; `count` descriptors were sent.
    SessionsListed {
        /// Descriptors sent.
        count: u16,
    },
    /// `FF <error>`: Enquire Sessions failed.
    SessionsFailed {
        /// The error code.
        error: u8,
    },
    /// `FB <count u16>`: Enquire Sub-Sessions succeeded.
    SubSessionsListed {
        /// Descriptors sent.
        count: u16,
    },
    /// `FE <error>`: Enquire Sub-Sessions failed.
    SubSessionsFailed {
        /// The error code.
        error: u8,
    },
    /// `FA <count u32>`: Get Ended Session Data succeeded; `count` records were sent.
    DataSent {
        /// Records sent.
        count: u32,
    },
    /// `FD <error>`: Get Ended Session Data failed.
    DataFailed {
        /// The error code.
        error: u8,
    },
}

/// Error code: no data available.
pub(crate) const ERROR_NO_DATA: u8 = 0x84;
/// Error code: no sessions available.
pub(crate) const ERROR_NO_SESSIONS: u8 = 0x85;

/// Decodes a control point response (exact lengths: 3 bytes for `FC`/`FB`, 5 for `FA`, 2 for
/// the failures).
pub fn decode_control_point_response(value: &[u8]) -> Result<ControlPointResponse, DecodeError> {
    const WHAT: &str = "PAMS control point response";
    let Some((&op, rest)) = value.split_first() else {
        return Err(DecodeError::Truncated {
            what: WHAT,
            expected: 2,
            got: 0,
        });
    };
    let length = match op {
        0xfc | 0xfb => 3,
        0xfa => 5,
        0xfd..=0xff => 2,
        other => {
            return Err(DecodeError::invalid(
                WHAT,
                format!("unknown response op code {other:#04x}"),
            ));
        }
    };
    DecodeError::check_len(WHAT, value, length)?;
    let mut r = Reader::new(WHAT, rest);
    Ok(match op {
        0xfc => ControlPointResponse::SessionsListed { count: r.u16()? },
        0xfb => ControlPointResponse::SubSessionsListed { count: r.u16()? },
        0xfa => ControlPointResponse::DataSent { count: r.u32()? },
        0xff => ControlPointResponse::SessionsFailed {
            error: r.array::<1>()?[0],
        },
        0xfe => ControlPointResponse::SubSessionsFailed {
            error: r.array::<1>()?[0],
        },
        _ => ControlPointResponse::DataFailed {
            error: r.array::<1>()?[0],
        },
    })
}

/// A session or sub-session, as the device describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionDescriptor {
    /// The session.
    pub session_id: u16,
    /// The sub-session, when this describes one.
    pub sub_session_id: Option<u16>,
    /// When it started.
    pub start: DateTime<Utc>,
    /// The device's UTC offset at the start, in minutes.
    pub start_offset_min: i16,
    /// When it ended and the offset then (minutes); `None` while it runs.
    pub end: Option<(DateTime<Utc>, i16)>,
    /// It was deleted.
    pub deleted: bool,
}

const DESCRIBES_SESSION: u8 = 0x01;
const RUNNING: u8 = 0x02;
const DELETED: u8 = 0x04;

/// Seconds from 1970-01-01 to 2000-01-01, the epoch of PAMS base times.
const EPOCH_2000: i64 = 946_684_800;

fn base_time(seconds: u32) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(EPOCH_2000 + i64::from(seconds), 0)
}

/// Decodes a session descriptor; its length must match its flags exactly.
pub fn decode_session_descriptor(value: &[u8]) -> Result<SessionDescriptor, DecodeError> {
    const WHAT: &str = "PAMS session descriptor";
    let mut r = Reader::new(WHAT, value);
    let [flags] = r.array()?;
    if flags & !(DESCRIBES_SESSION | RUNNING | DELETED) != 0 {
        return Err(DecodeError::invalid(
            WHAT,
            format!("reserved flag bits set ({flags:#04x})"),
        ));
    }
    let is_session = flags & DESCRIBES_SESSION != 0;
    let running = flags & RUNNING != 0;
    let expected = 3 + usize::from(!is_session) * 2 + 6 + usize::from(!running) * 6;
    DecodeError::check_len(WHAT, value, expected)?;
    let session_id = r.u16()?;
    let sub_session_id = if is_session { None } else { Some(r.u16()?) };
    let time = |seconds: u32| {
        base_time(seconds).ok_or_else(|| DecodeError::invalid(WHAT, "base time out of range"))
    };
    let start = time(r.u32()?)?;
    let start_offset_min = i16::from_le_bytes(r.array()?);
    let end = if running {
        None
    } else {
        let end = time(r.u32()?)?;
        Some((end, i16::from_le_bytes(r.array()?)))
    };
    r.finish()?;
    Ok(SessionDescriptor {
        session_id,
        sub_session_id,
        start,
        start_offset_min,
        end,
        deleted: flags & DELETED != 0,
    })
}

/// Encodes a descriptor (for simulators and tests). Times before 2000 or after 2136 are
/// written as the nearest representable one.
pub fn encode_session_descriptor(descriptor: &SessionDescriptor) -> Vec<u8> {
    let seconds =
        |t: DateTime<Utc>| u32::try_from((t.timestamp() - EPOCH_2000).max(0)).unwrap_or(u32::MAX);
    let mut flags = 0;
    if descriptor.sub_session_id.is_none() {
        flags |= DESCRIBES_SESSION;
    }
    if descriptor.end.is_none() {
        flags |= RUNNING;
    }
    if descriptor.deleted {
        flags |= DELETED;
    }
    let mut out = vec![flags];
    out.extend_from_slice(&descriptor.session_id.to_le_bytes());
    if let Some(sub) = descriptor.sub_session_id {
        out.extend_from_slice(&sub.to_le_bytes());
    }
    out.extend_from_slice(&seconds(descriptor.start).to_le_bytes());
    out.extend_from_slice(&descriptor.start_offset_min.to_le_bytes());
    if let Some((end, offset)) = descriptor.end {
        out.extend_from_slice(&seconds(end).to_le_bytes());
        out.extend_from_slice(&offset.to_le_bytes());
    }
    out
}

/// Whole seconds as a time delta (for relative timestamps).
pub(crate) fn seconds(s: u32) -> TimeDelta {
    TimeDelta::seconds(i64::from(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn get_ended_session_data_asks_for_all_sub_sessions_step_summaries() {
        assert_eq!(
            encode_get_ended_session_data(0x0102),
            [0x03, 0x02, 0x01, 0xff, 0xff, 0x04]
        );
    }

    #[test]
    fn control_point_responses() {
        assert_eq!(
            decode_control_point_response(&[0xfc, 3, 0]),
            Ok(ControlPointResponse::SessionsListed { count: 3 })
        );
        assert_eq!(
            decode_control_point_response(&[0xfa, 0x10, 0x27, 0, 0]),
            Ok(ControlPointResponse::DataSent { count: 10_000 })
        );
        assert_eq!(
            decode_control_point_response(&[0xfd, 0x83]),
            Ok(ControlPointResponse::DataFailed { error: 0x83 })
        );
        assert_eq!(
            decode_control_point_response(&[0xff, 0x85]),
            Ok(ControlPointResponse::SessionsFailed { error: 0x85 })
        );
        assert_eq!(
            decode_control_point_response(&[0xfb, 1, 0]),
            Ok(ControlPointResponse::SubSessionsListed { count: 1 })
        );
        assert_eq!(
            decode_control_point_response(&[0xfe, 0x81]),
            Ok(ControlPointResponse::SubSessionsFailed { error: 0x81 })
        );
        assert!(matches!(
            decode_control_point_response(&[0xfa, 1, 0]),
            Err(DecodeError::Truncated { .. })
        ));
        assert!(matches!(
            decode_control_point_response(&[0xfc, 1, 0, 0]),
            Err(DecodeError::TooLong { .. })
        ));
        assert!(decode_control_point_response(&[0x10, 1, 1]).is_err());
        assert!(decode_control_point_response(&[]).is_err());
    }

    #[test]
    fn session_descriptors() {
        let start = Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap();
        let end = start + TimeDelta::minutes(45);
        let ended = SessionDescriptor {
            session_id: 4,
            sub_session_id: None,
            start,
            start_offset_min: 60,
            end: Some((end, 60)),
            deleted: false,
        };
        let bytes = encode_session_descriptor(&ended);
        // 2026-11-20 09:00 UTC is 848,480,400 s after 2000-01-01.
        assert_eq!(
            bytes,
            [
                0x01, 4, 0, 0x90, 0xc8, 0x92, 0x32, 60, 0, 0x1c, 0xd3, 0x92, 0x32, 60, 0
            ]
        );
        assert_eq!(decode_session_descriptor(&bytes), Ok(ended));
        let running_sub = SessionDescriptor {
            sub_session_id: Some(2),
            end: None,
            start_offset_min: -300,
            ..ended
        };
        let bytes = encode_session_descriptor(&running_sub);
        assert_eq!(bytes.len(), 11);
        assert_eq!(bytes[0], 0x02);
        assert_eq!(decode_session_descriptor(&bytes), Ok(running_sub));
        let deleted = SessionDescriptor {
            deleted: true,
            ..ended
        };
        assert_eq!(
            decode_session_descriptor(&encode_session_descriptor(&deleted)),
            Ok(deleted)
        );
    }

    #[test]
    fn malformed_descriptors_are_errors() {
        assert!(matches!(
            decode_session_descriptor(&[0x01, 4, 0, 1, 2]),
            Err(DecodeError::Truncated { .. })
        ));
        assert!(matches!(
            decode_session_descriptor(&[0x03, 4, 0, 1, 2, 3, 4, 5, 6, 7]),
            Err(DecodeError::TooLong { .. })
        ));
        assert!(
            decode_session_descriptor(&[0x09, 4, 0, 1, 2, 3, 4, 5, 6])
                .unwrap_err()
                .to_string()
                .contains("reserved")
        );
        assert!(decode_session_descriptor(&[]).is_err());
    }
}
