//! A device speaking the Bluetooth SIG Physical Activity Monitor Service (0x183E), peripheral
//! side, with one ended session per walking bout.
//!
//! It follows the wire layout written in `stepwise-wearables`' `pams` module doc (our reading
//! of PAMS 1.0; no shipping device is known), implemented here independently:
//! - FEATURES 0x2B3B (read): u32 feature bits, `04 00 00 00` here (step counter summary).
//! - CONTROL_POINT 0x2B43 (write + indicate):
//!   `01` Enquire Sessions → one SESSION_DESCRIPTOR indication per session, then
//!   `FC <count u16>`; no sessions: `FF 85`.
//!   `03 <session u16> <sub-session u16> <type u8>` Get Ended Session Data → the session's
//!   STEP_COUNTER_SUMMARY records, then `FA <count u32>`; errors `FD <code>`: `81` unknown
//!   session, `82` sub-session other than 0 or FFFF, `83` still running, `84` no data, `86` a
//!   type other than 4 (step counter), `89` malformed request.
//!   `02` (sub-sessions) → `FE 80`; `04`, `05`, `06` and anything else → `FD 80`.
//! - SESSION_DESCRIPTOR 0x2B45 (indicate): `flags u8` (bit 0 session, bit 1 running),
//!   `session id u16, start u32 (s since 2000-01-01 UTC), start offset i16 (min)`, and for an
//!   ended session `end u32, end offset i16`.
//! - STEP_COUNTER_SUMMARY 0x2B40 (indicate): one record per minute of the session:
//!   `flags 01, session id u16, sub-session 0 u16, relative time u32 (end of the minute, s
//!   since the session's start), sequence u32 (0, 1, …), normal walking steps u24`, split into
//!   segments of at most `segment_payload` bytes, each with a 1-byte header: `0x80` first,
//!   `0x40` last, bits 0–5 the segment number within the record (0, 1, …).
//!   Each segment is one activity-data indication.

use std::any::Any;

use chrono::{DateTime, Duration, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

use super::common::{self, DeviceInformation};
use crate::peripheral::{AttError, CharacteristicSpec, Flag, Link, Peripheral, ServiceSpec};
use crate::wearer::Walk;

/// Physical Activity Monitor Service.
pub const SERVICE: Uuid = Uuid::from_u128(0x0000183e_0000_1000_8000_00805f9b34fb);
/// PAM Features.
pub const FEATURES: Uuid = Uuid::from_u128(0x00002b3b_0000_1000_8000_00805f9b34fb);
/// Step Counter Activity Summary Data.
pub const STEP_COUNTER_SUMMARY: Uuid = Uuid::from_u128(0x00002b40_0000_1000_8000_00805f9b34fb);
/// PAM Control Point.
pub const CONTROL_POINT: Uuid = Uuid::from_u128(0x00002b43_0000_1000_8000_00805f9b34fb);
/// PAM Session Descriptor.
pub const SESSION_DESCRIPTOR: Uuid = Uuid::from_u128(0x00002b45_0000_1000_8000_00805f9b34fb);

/// One session the device holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PamsSession {
    /// Its id (1, 2, …).
    pub id: u16,
    /// When it started.
    pub start: DateTime<Utc>,
    /// Steps per minute from `start`; the session ends after the last one.
    pub steps_per_minute: Vec<u32>,
    /// Still running (no end; its data cannot be fetched).
    pub running: bool,
}

/// The simulated PAMS device.
#[derive(Debug, Clone)]
pub struct PamsDevice {
    name: String,
    zone: Tz,
    sessions: Vec<PamsSession>,
    segment_payload: usize,
    battery: u8,
    info: DeviceInformation,
}

/// Seconds from 1970 to 2000-01-01 00:00:00 UTC (the PAMS base time epoch).
const EPOCH_2000: i64 = 946_684_800;

impl PamsDevice {
    /// A device named "PAMS Step Monitor" with one ended session per walk (ids from 1), its
    /// clock in `zone` (for the descriptors' offsets).
    pub fn new(zone: Tz, walks: &[Walk]) -> PamsDevice {
        let sessions = walks
            .iter()
            .enumerate()
            .map(|(i, w)| PamsSession {
                id: (i + 1) as u16,
                start: w.start,
                steps_per_minute: w.steps_per_minute.iter().map(|&s| u32::from(s)).collect(),
                running: false,
            })
            .collect();
        PamsDevice {
            name: "PAMS Step Monitor".into(),
            zone,
            sessions,
            segment_payload: 19,
            battery: 64,
            info: DeviceInformation {
                manufacturer: "Stepwise Test Devices".into(),
                model: "PAMS-1".into(),
                serial: "PAMS0001".into(),
                firmware: "1.0.0".into(),
                software: "1.0.0".into(),
            },
        }
    }

    /// The same device with records split into segments of at most `bytes` (1–19) after the
    /// header, to exercise reassembly.
    pub fn with_segment_payload(mut self, bytes: usize) -> PamsDevice {
        self.segment_payload = bytes.clamp(1, 19);
        self
    }

    /// Starts a running session at `start` (listed, but its data cannot be fetched).
    pub fn start_session(&mut self, start: DateTime<Utc>) -> u16 {
        let id = self.sessions.iter().map(|s| s.id).max().unwrap_or(0) + 1;
        self.sessions.push(PamsSession {
            id,
            start,
            steps_per_minute: Vec::new(),
            running: true,
        });
        id
    }

    /// The sessions the device holds.
    pub fn sessions(&self) -> &[PamsSession] {
        &self.sessions
    }

    fn base_time(&self, t: DateTime<Utc>) -> ([u8; 4], [u8; 2]) {
        let secs = (t.timestamp() - EPOCH_2000).clamp(0, i64::from(u32::MAX)) as u32;
        let offset = self.zone.offset_from_utc_datetime(&t.naive_utc()).fix();
        let minutes = (offset.local_minus_utc() / 60) as i16;
        (secs.to_le_bytes(), minutes.to_le_bytes())
    }

    fn enquire_sessions(&self, link: &mut Link<'_>) {
        if self.sessions.is_empty() {
            link.notify(CONTROL_POINT, vec![0xFF, 0x85]);
            return;
        }
        for s in &self.sessions {
            let mut d = vec![if s.running { 0x03 } else { 0x01 }];
            d.extend_from_slice(&s.id.to_le_bytes());
            let (base, off) = self.base_time(s.start);
            d.extend_from_slice(&base);
            d.extend_from_slice(&off);
            if !s.running {
                let end = s.start + Duration::minutes(s.steps_per_minute.len() as i64);
                let (base, off) = self.base_time(end);
                d.extend_from_slice(&base);
                d.extend_from_slice(&off);
            }
            link.notify(SESSION_DESCRIPTOR, d);
        }
        let mut done = vec![0xFC];
        done.extend_from_slice(&(self.sessions.len() as u16).to_le_bytes());
        link.notify(CONTROL_POINT, done);
    }

    fn get_session_data(&self, request: &[u8], link: &mut Link<'_>) {
        let fail = |link: &mut Link<'_>, code: u8| link.notify(CONTROL_POINT, vec![0xFD, code]);
        let [_, i0, i1, s0, s1, data_type] = *request else {
            return fail(link, 0x89);
        };
        let id = u16::from_le_bytes([i0, i1]);
        let sub = u16::from_le_bytes([s0, s1]);
        if data_type != 4 {
            return fail(link, 0x86);
        }
        let Some(session) = self.sessions.iter().find(|s| s.id == id) else {
            return fail(link, 0x81);
        };
        if sub != 0 && sub != 0xFFFF {
            return fail(link, 0x82);
        }
        if session.running {
            return fail(link, 0x83);
        }
        if session.steps_per_minute.is_empty() {
            return fail(link, 0x84);
        }
        for (i, &steps) in session.steps_per_minute.iter().enumerate() {
            let mut r = vec![0x01];
            r.extend_from_slice(&session.id.to_le_bytes());
            r.extend_from_slice(&0u16.to_le_bytes());
            r.extend_from_slice(&(((i + 1) * 60) as u32).to_le_bytes());
            r.extend_from_slice(&(i as u32).to_le_bytes());
            r.extend_from_slice(&steps.min(0xFF_FFFF).to_le_bytes()[..3]);
            let parts: Vec<&[u8]> = r.chunks(self.segment_payload).collect();
            let last = parts.len() - 1;
            for (n, part) in parts.iter().enumerate() {
                let mut header = (n % 64) as u8;
                if n == 0 {
                    header |= 0x80;
                }
                if n == last {
                    header |= 0x40;
                }
                let mut seg = vec![header];
                seg.extend_from_slice(part);
                link.notify_data(STEP_COUNTER_SUMMARY, seg);
            }
        }
        let mut done = vec![0xFA];
        done.extend_from_slice(&(session.steps_per_minute.len() as u32).to_le_bytes());
        link.notify(CONTROL_POINT, done);
    }
}

impl Peripheral for PamsDevice {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn advertised_services(&self) -> Vec<Uuid> {
        vec![SERVICE]
    }

    fn services(&self) -> Vec<ServiceSpec> {
        vec![
            ServiceSpec {
                uuid: SERVICE,
                characteristics: vec![
                    CharacteristicSpec::new(FEATURES, &[Flag::Read]),
                    CharacteristicSpec::new(STEP_COUNTER_SUMMARY, &[Flag::Indicate]),
                    CharacteristicSpec::new(CONTROL_POINT, &[Flag::Write, Flag::Indicate]),
                    CharacteristicSpec::new(SESSION_DESCRIPTOR, &[Flag::Indicate]),
                ],
            },
            common::battery_service(),
            common::device_information_service(),
        ]
    }

    fn on_read(&mut self, characteristic: Uuid, _link: &mut Link<'_>) -> Result<Vec<u8>, AttError> {
        if characteristic == FEATURES {
            Ok(vec![0x04, 0x00, 0x00, 0x00])
        } else {
            common::read_standard(characteristic, self.battery, &self.info)
        }
    }

    fn on_write(
        &mut self,
        characteristic: Uuid,
        value: &[u8],
        link: &mut Link<'_>,
    ) -> Result<(), AttError> {
        if characteristic != CONTROL_POINT {
            return Err(AttError::WRITE_NOT_PERMITTED);
        }
        match value.first() {
            Some(0x01) => self.enquire_sessions(link),
            Some(0x03) => self.get_session_data(value, link),
            Some(0x02) => link.notify(CONTROL_POINT, vec![0xFE, 0x80]),
            Some(_) => link.notify(CONTROL_POINT, vec![0xFD, 0x80]),
            None => return Err(AttError::INVALID_LENGTH),
        }
        Ok(())
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peripheral::{Action, Counters};

    fn walk() -> Walk {
        Walk {
            start: Utc
                .with_ymd_and_hms(2026, 6, 1, 8, 0, 0)
                .single()
                .expect("valid"),
            steps_per_minute: vec![90, 100, 110],
        }
    }

    fn write(dev: &mut PamsDevice, value: &[u8]) -> Vec<(Uuid, Vec<u8>)> {
        let mut counters = Counters::default();
        let mut link = Link::new(1, &mut counters);
        dev.on_write(CONTROL_POINT, value, &mut link)
            .expect("accepted");
        link.take_actions()
            .into_iter()
            .filter_map(|a| match a {
                Action::Notify {
                    characteristic,
                    value,
                    ..
                } => Some((characteristic, value)),
                Action::DropLink => None,
            })
            .collect()
    }

    #[test]
    fn sessions_are_listed_with_utc_base_times_and_offsets() {
        let mut dev = PamsDevice::new(chrono_tz::Europe::Berlin, &[walk()]);
        dev.start_session(walk().start + Duration::hours(2));
        let out = write(&mut dev, &[0x01]);
        assert_eq!(out.len(), 3);
        let d = &out[0].1;
        assert_eq!(d[0], 0x01);
        assert_eq!(u16::from_le_bytes([d[1], d[2]]), 1);
        let start = u32::from_le_bytes([d[3], d[4], d[5], d[6]]) as i64 + EPOCH_2000;
        assert_eq!(start, walk().start.timestamp());
        assert_eq!(i16::from_le_bytes([d[7], d[8]]), 120);
        let end = u32::from_le_bytes([d[9], d[10], d[11], d[12]]) as i64 + EPOCH_2000;
        assert_eq!(end - start, 180);
        assert_eq!(out[1].1.len(), 9);
        assert_eq!(out[1].1[0], 0x03);
        assert_eq!(out[2], (CONTROL_POINT, vec![0xFC, 2, 0]));
    }

    #[test]
    fn session_data_is_segmented_and_counted() {
        let mut dev = PamsDevice::new(chrono_tz::Europe::Berlin, &[walk()]).with_segment_payload(7);
        let out = write(&mut dev, &[0x03, 1, 0, 0xFF, 0xFF, 4]);
        let segs: Vec<&Vec<u8>> = out
            .iter()
            .filter(|(c, _)| *c == STEP_COUNTER_SUMMARY)
            .map(|(_, v)| v)
            .collect();
        // 16-byte records in 7-byte pieces: 3 segments each.
        assert_eq!(segs.len(), 9);
        assert_eq!(
            segs[..3].iter().map(|s| s[0]).collect::<Vec<_>>(),
            [0x80, 0x01, 0x42]
        );
        let record: Vec<u8> = segs[3..6].iter().flat_map(|s| s[1..].to_vec()).collect();
        assert_eq!(record[0], 0x01);
        assert_eq!(u32::from_le_bytes(record[5..9].try_into().expect("4")), 120);
        assert_eq!(u32::from_le_bytes(record[9..13].try_into().expect("4")), 1);
        assert_eq!(record[13..16], [100, 0, 0]);
        assert_eq!(out.last(), Some(&(CONTROL_POINT, vec![0xFA, 3, 0, 0, 0])));
    }

    #[test]
    fn errors_name_what_is_wrong() {
        let mut dev = PamsDevice::new(chrono_tz::Europe::Berlin, &[walk()]);
        let running = dev.start_session(walk().start + Duration::hours(2));
        assert_eq!(
            write(&mut dev, &[0x03, 9, 0, 0xFF, 0xFF, 4]),
            [(CONTROL_POINT, vec![0xFD, 0x81])]
        );
        assert_eq!(
            write(&mut dev, &[0x03, 1, 0, 0xFF, 0xFF, 6]),
            [(CONTROL_POINT, vec![0xFD, 0x86])]
        );
        let r = running.to_le_bytes();
        assert_eq!(
            write(&mut dev, &[0x03, r[0], r[1], 0xFF, 0xFF, 4]),
            [(CONTROL_POINT, vec![0xFD, 0x83])]
        );
        assert_eq!(
            write(&mut dev, &[0x03, 1]),
            [(CONTROL_POINT, vec![0xFD, 0x89])]
        );
        let mut empty = PamsDevice::new(chrono_tz::Europe::Berlin, &[]);
        assert_eq!(
            write(&mut empty, &[0x01]),
            [(CONTROL_POINT, vec![0xFF, 0x85])]
        );
    }
}
