//! The Bluetooth SIG Physical Activity Monitor Service (PAMS, 0x183E): fetch the step counts
//! of every ended session, sans IO.
//!
//! No shipping consumer device is known to implement PAMS; Stepwise supports it as the
//! standards path and tests it against a simulator written from this page. The characteristic
//! numbers and the Step Counter Activity Summary layout below follow the published
//! specification (PAMS 1.0). **The segment header bits, the control-point responses, the
//! session descriptor and the meaning of a summary's interval are our reading; not confirmed
//! against a shipping device.** A simulator must implement exactly what is written here.
//!
//! # Wire layout
//!
//! All values little-endian. Characteristics (all in [`SERVICE`]): [`FEATURES`] (read),
//! [`CONTROL_POINT`] (write with response + indicate), [`SESSION_DESCRIPTOR`] (indicate),
//! [`STEP_COUNTER_SUMMARY`] (indicate).
//!
//! **Features** (read): at least 4 bytes, the first 4 a u32 of feature bits (at most 8 bytes
//! accepted). Stepwise reads it to confirm the device speaks PAMS; no bit is required.
//!
//! **Control point requests** (written with response):
//! - `01` — Enquire Sessions.
//! - `03 <session id u16> <sub-session id u16> <data type u8>` — Get Ended Session Data.
//!   Stepwise always asks for sub-session `FF FF` (all sub-sessions of the session) and data
//!   type `04` (Step Counter Activity Summary Data). Data types: 0 general activity
//!   instantaneous, 1 general activity summary, 2 cardiorespiratory instantaneous,
//!   3 cardiorespiratory summary, 4 step counter summary, 5 sleep instantaneous, 6 sleep
//!   summary.
//! - (Not sent by Stepwise: `02` Enquire Sub-Sessions, `04` Start, `05` Stop, `06` Delete
//!   Ended Session.)
//!
//! **Control point responses** (indicated on the control point, after the data they answer):
//! - `FC <count u16>` — Enquire Sessions succeeded; `count` session descriptors were sent.
//! - `FF <error u8>` — Enquire Sessions failed.
//! - `FB <count u16>` / `FE <error u8>` — Enquire Sub-Sessions succeeded / failed.
//! - `FA <count u32>` — Get Ended Session Data succeeded; `count` summary records were sent.
//! - `FD <error u8>` — Get Ended Session Data failed.
//!
//! Error codes: `80` op code not supported, `81` invalid session id, `82` invalid sub-session
//! id, `83` session still running, `84` no data available, `85` no sessions available,
//! `86` invalid type, `87` no session running, `88` nothing to stop, `89` undefined value,
//! `90` operation failed. Stepwise reads `FF 85` as "no sessions" and `FD 84` as "the session
//! has no step data"; any other error ends the fetch with [`Error::ControlPoint`].
//!
//! **Session descriptor** (one indication per session, not segmented):
//! `flags u8, session id u16`, then
//! - with flag bit 0 set (it describes a session): `start base time u32, start offset i16`,
//!   and unless flag bit 1 (running) is set: `end base time u32, end offset i16`;
//! - with flag bit 0 clear (a sub-session): `sub-session id u16, start base time u32, start
//!   offset i16`, and unless running: `end base time u32, end offset i16`.
//!
//! Flag bit 2: the session was deleted. Other flag bits must be 0. A base time is seconds
//! since 2000-01-01 00:00:00 UTC; the offset is the device's local UTC offset in minutes at
//! that instant (kept for reference; times are already UTC). Sub-session descriptors and
//! deleted sessions are skipped.
//!
//! **Segmentation**: every indication of Step Counter Activity Summary Data carries one
//! segment: a 1-byte header, then part of a record. Header bit 7 (`0x80`): first segment of a
//! record; bit 6 (`0x40`): last segment; bits 0–5: a rolling segment number, 0 on a record's
//! first segment and one more (modulo 64) on each following one. A record that fits one
//! indication has header `C0`. See [`Reassembler`] and [`segment`].
//!
//! **Step Counter Activity Summary Data** (a reassembled record, headers removed):
//! `flags u8, session id u16, sub-session id u16, relative timestamp u32 (s), sequence
//! number u32`, then by flag, in this order, u24 each: `0x01` normal walking steps, `0x02`
//! intensity steps, `0x04` floor steps, `0x08` distance (decimetres), `0x10` worn duration
//! (s). Flag bits 5–7 must be 0.
//!
//! Our reading of a session's summaries: records come in sequence-number order, the first
//! numbered 0, each one more than the last; each covers the interval from the previous
//! record's relative timestamp (0 for the first) to its own, in seconds since the session's
//! start; its steps are the steps counted in that interval. Relative timestamps never go
//! down, and a session is at most [`MAX_SESSION_SECONDS`] long.
//!
//! # The fetch
//!
//! 1. Read FEATURES.
//! 2. Subscribe to CONTROL_POINT, SESSION_DESCRIPTOR and STEP_COUNTER_SUMMARY.
//! 3. Write `01`; collect descriptors until `FC <count>` (the count must match).
//!    [`Event::Sessions`] lists them.
//! 4. For each ended session that started at or after `since`, oldest first: write
//!    `03 <id> FF FF 04`; collect records until `FA <count>` (the count must match); report
//!    [`Event::Session`] with minute records: the steps of each interval (normal walking +
//!    intensity + floor steps) spread evenly over its minutes, every minute of the session
//!    listed.
//! 5. [`Event::Finished`].

mod control;
mod segment;
mod summary;
mod sync;

use uuid::Uuid;

use crate::gatt;

pub use control::{
    ControlPointResponse, DATA_TYPE_STEP_COUNTER_SUMMARY, ENQUIRE_SESSIONS, SessionDescriptor,
    decode_control_point_response, decode_session_descriptor, encode_get_ended_session_data,
    encode_session_descriptor,
};
pub use segment::{MAX_RECORD_BYTES, Reassembler, segment};
pub use summary::{StepCounterSummary, decode_step_counter_summary, encode_step_counter_summary};
pub use sync::{Error, Event, MAX_SESSION_SECONDS, SessionInfo, Sync};

/// Physical Activity Monitor Service (0x183E).
pub const SERVICE: Uuid = gatt::PAMS_SERVICE;
/// Physical Activity Monitor Features (0x2B3B).
pub const FEATURES: Uuid = gatt::PAMS_FEATURES;
/// General Activity Instantaneous Data (0x2B3C).
pub const GENERAL_ACTIVITY_INSTANTANEOUS: Uuid = gatt::PAMS_GENERAL_ACTIVITY_INSTANTANEOUS;
/// General Activity Summary Data (0x2B3D).
pub const GENERAL_ACTIVITY_SUMMARY: Uuid = gatt::PAMS_GENERAL_ACTIVITY_SUMMARY;
/// CardioRespiratory Activity Instantaneous Data (0x2B3E).
pub const CARDIORESPIRATORY_INSTANTANEOUS: Uuid = gatt::PAMS_CARDIORESPIRATORY_INSTANTANEOUS;
/// CardioRespiratory Activity Summary Data (0x2B3F).
pub const CARDIORESPIRATORY_SUMMARY: Uuid = gatt::PAMS_CARDIORESPIRATORY_SUMMARY;
/// Step Counter Activity Summary Data (0x2B40).
pub const STEP_COUNTER_SUMMARY: Uuid = gatt::PAMS_STEP_COUNTER_SUMMARY;
/// Sleep Activity Instantaneous Data (0x2B41).
pub const SLEEP_INSTANTANEOUS: Uuid = gatt::PAMS_SLEEP_INSTANTANEOUS;
/// Sleep Activity Summary Data (0x2B42).
pub const SLEEP_SUMMARY: Uuid = gatt::PAMS_SLEEP_SUMMARY;
/// Physical Activity Monitor Control Point (0x2B43).
pub const CONTROL_POINT: Uuid = gatt::PAMS_CONTROL_POINT;
/// Activity Current Session (0x2B44).
pub const CURRENT_SESSION: Uuid = gatt::PAMS_CURRENT_SESSION;
/// Physical Activity Session Descriptor (0x2B45).
pub const SESSION_DESCRIPTOR: Uuid = gatt::PAMS_SESSION_DESCRIPTOR;
