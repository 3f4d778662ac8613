//! A Huami band (Mi Band 2–6, Amazfit Bip), peripheral side: authentication, the minute
//! history fetch, Battery and Device Information.
//!
//! # Wire protocol (as the band answers it)
//! Characteristics, with the properties a recorded Mi Band 2 declares (its own GATT
//! discovery, `tests/fixtures/wearables/btsnoop/`): AUTH `00000009-0000-3512-2118-0009af100700`
//! in service FEE1 (read, write without response, notify); FETCH_CONTROL `…0004…` (write
//! without response, notify), ACTIVITY_DATA `…0005…` (notify) and Current Time 0x2A2B (read,
//! write, notify) in service FEE0. A write of a type the characteristic does not declare is
//! refused by the fake BlueZ. Notifications only reach a central that subscribed.
//! - AUTH `01 <flags> <key>` (18 bytes): a band without encrypted auth (Mi Band 2/3, Bip)
//!   takes the new key and answers `10 01 01`; newer bands refuse with `10 01 04`.
//! - AUTH `02 <flags>`, or on Mi Smart Band 4/5/6 also `82 <flags> 02 01 00`: answers
//!   `10 <op> 01 <16 random bytes>` (`op` echoes the request's first byte).
//! - AUTH `03 <flags> <16 bytes>` (or `83 …`): `10 <op> 01` when the bytes are
//!   AES-128-ECB(key, random), else `10 <op> 08` on Mi Smart Band 4/5/6 and `10 <op> 04` on
//!   older bands (also when no random number was asked for).
//! - FETCH_CONTROL before authentication: `10 <op> 04`.
//! - FETCH_CONTROL `01 01 <year u16> <month> <day> <hour> <minute> <second> <tz i8>`
//!   (exactly 10 bytes): the start in local time with its offset in 15-minute units. The band
//!   converts it to UTC, takes its first stored minute at or after it, and answers
//!   `10 01 01 <samples u32> <year u16> <month> <day> <hour> <minute> <second> <tz i8>`: the
//!   number of minute records (at most `max_minutes_per_round`) and that minute in the band's
//!   own zone with the band's offset at that minute. Nothing stored from there: 0 samples and
//!   the requested time echoed. With the `no_data_at` fault: `10 01 02`. Any other length:
//!   `10 01 04`.
//! - FETCH_CONTROL `02`: the records as ACTIVITY_DATA notifications (1 rolling counter byte,
//!   0 at the start of every round, then as many whole records as the link's MTU allows:
//!   4 records of 4 bytes at MTU 23, 60 at MTU 247), then `10 02 01` on FETCH_CONTROL. No fetch
//!   pending: `10 02 04`.
//! - FETCH_CONTROL `03` (ack): counted; with `delete_on_ack`, deletes the last round's minutes.
//! - Current Time: an 11-byte write is recorded in the counters; other lengths are refused
//!   with ATT error 0x0D (invalid attribute value length).
//!
//! Records: `kind, intensity, steps, heart_rate`, and with 8-byte records `0, sleep flag,
//! deep flag, rem flag` (bytes the collector ignores).
//!
//! Faults, by connection number (1-based) and data-notification index within that connection
//! (0-based, counting every round of the connection): `disconnect_at_notification` drops the
//! link instead of sending that notification; `counter_gap_at` skips one counter value there;
//! `no_data_at` (connection, fetch request 0-based) answers `10 01 02` to that request.

use std::any::Any;

use aes::Aes128;
use aes::cipher::{BlockEncrypt, KeyInit};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

use super::common::{self, DeviceInformation};
use crate::peripheral::{AttError, CharacteristicSpec, Flag, Link, Peripheral, ServiceSpec};
use crate::rng::Rng;
use crate::wearer::{SimMinute, kind};

/// Service FEE0 (fetch control, activity data; advertised).
pub const SERVICE_FEE0: Uuid = Uuid::from_u128(0x0000fee0_0000_1000_8000_00805f9b34fb);
/// Service FEE1 (auth).
pub const SERVICE_FEE1: Uuid = Uuid::from_u128(0x0000fee1_0000_1000_8000_00805f9b34fb);
/// Auth characteristic.
pub const AUTH: Uuid = Uuid::from_u128(0x00000009_0000_3512_2118_0009af100700);
/// Fetch control characteristic.
pub const FETCH_CONTROL: Uuid = Uuid::from_u128(0x00000004_0000_3512_2118_0009af100700);
/// Activity data characteristic.
pub const ACTIVITY_DATA: Uuid = Uuid::from_u128(0x00000005_0000_3512_2118_0009af100700);
/// Current Time (0x2A2B), in FEE0 on these bands.
pub const CURRENT_TIME: Uuid = Uuid::from_u128(0x00002a2b_0000_1000_8000_00805f9b34fb);

/// How many bytes a band stores per minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordSize {
    /// `kind, intensity, steps, heart_rate` (Mi Band 2/3, Amazfit Bip).
    Four,
    /// Four more: `unknown, sleep, deep, rem` (Mi Band 4/5/6).
    Eight,
}

impl RecordSize {
    /// Bytes per record.
    pub fn bytes(self) -> usize {
        match self {
            RecordSize::Four => 4,
            RecordSize::Eight => 8,
        }
    }
}

/// Firmware behaviour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MiBandOptions {
    /// Answer at most this many minutes per fetch round (None: everything).
    pub max_minutes_per_round: Option<usize>,
    /// Newer firmware: the ack `03` deletes what the last round sent.
    pub delete_on_ack: bool,
}

/// Faults to inject, by (connection 1-based, data-notification index 0-based).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MiBandFaults {
    /// Drop the link instead of sending this data notification.
    pub disconnect_at_notification: Option<(u32, u64)>,
    /// Skip one rolling-counter value at this data notification.
    pub counter_gap_at: Option<(u32, u64)>,
    /// Answer `10 01 02` to this fetch request (connection, request 0-based).
    pub no_data_at: Option<(u32, u32)>,
}

/// A fetch round the band has announced or sent: `count` minutes from `first`.
#[derive(Debug, Clone, Copy)]
struct Round {
    first: DateTime<Utc>,
    count: usize,
}

/// The simulated band.
#[derive(Debug, Clone)]
pub struct MiBand {
    name: String,
    record_size: RecordSize,
    /// Mi Smart Band 4/5/6: the encrypted-auth variant (`82`/`83`) and `08` for a wrong key.
    encrypted_auth: bool,
    key: [u8; 16],
    zone: Tz,
    stored: Vec<SimMinute>,
    options: MiBandOptions,
    faults: MiBandFaults,
    battery: u8,
    info: DeviceInformation,
    rng: Rng,
    // Per connection:
    challenge: Option<[u8; 16]>,
    authenticated: bool,
    pending: Option<Round>,
    last_sent: Option<Round>,
    data_index: u64,
    fetch_requests: u32,
    counter_skew: u8,
    /// Random numbers to hand out as the next challenges, before the RNG's.
    challenges: std::collections::VecDeque<[u8; 16]>,
    /// Recorded record bytes to send for these minutes instead of the encoded ones.
    raw: std::collections::BTreeMap<DateTime<Utc>, Vec<u8>>,
}

impl MiBand {
    /// A band called `name` storing `minutes` (sorted or not), clock set to `zone`.
    pub fn new(
        name: impl Into<String>,
        record_size: RecordSize,
        key: [u8; 16],
        zone: Tz,
        minutes: Vec<SimMinute>,
    ) -> MiBand {
        let name = name.into();
        let mut stored = minutes;
        stored.sort_by_key(|m| m.minute);
        stored.dedup_by_key(|m| m.minute);
        let seed = key
            .iter()
            .fold(0u64, |a, &b| a.rotate_left(8) ^ u64::from(b));
        MiBand {
            info: DeviceInformation {
                manufacturer: "Anhui Huami Information Technology Co.,Ltd.".into(),
                model: name.clone(),
                serial: "0000000000".into(),
                firmware: "1.0.2.58".into(),
                software: "V1.0.2.58".into(),
            },
            encrypted_auth: name.to_ascii_lowercase().starts_with("mi smart band"),
            name,
            record_size,
            key,
            zone,
            stored,
            options: MiBandOptions::default(),
            faults: MiBandFaults::default(),
            battery: 73,
            rng: Rng(seed),
            challenge: None,
            authenticated: false,
            pending: None,
            last_sent: None,
            data_index: 0,
            fetch_requests: 0,
            counter_skew: 0,
            challenges: std::collections::VecDeque::new(),
            raw: std::collections::BTreeMap::new(),
        }
    }

    /// The same band handing out `random` as its next authentication challenge (to replay a
    /// recording: the band's random number is then the recorded one).
    pub fn with_challenge(mut self, random: [u8; 16]) -> MiBand {
        self.challenges.push_back(random);
        self
    }

    /// The same band holding these recorded record bytes from `first` on, one record per
    /// minute (`record_size` bytes each): they are sent exactly as recorded.
    pub fn with_recorded_records(mut self, first: DateTime<Utc>, bytes: &[u8]) -> MiBand {
        let size = self.record_size.bytes();
        for (i, record) in bytes.chunks_exact(size).enumerate() {
            let minute = first + Duration::minutes(i as i64);
            if !self.stored.iter().any(|m| m.minute == minute) {
                self.stored.push(SimMinute {
                    minute,
                    kind: record[0],
                    steps: record[2],
                    heart_rate: record[3],
                    rem: false,
                });
            }
            self.raw.insert(minute, record.to_vec());
        }
        self.stored.sort_by_key(|m| m.minute);
        self
    }

    /// A "Mi Smart Band 4" (4-byte records, encrypted auth).
    pub fn mi_band_4(key: [u8; 16], zone: Tz, minutes: Vec<SimMinute>) -> MiBand {
        MiBand::new("Mi Smart Band 4", RecordSize::Four, key, zone, minutes)
    }

    /// A "Mi Smart Band 5" (8-byte records).
    pub fn mi_band_5(key: [u8; 16], zone: Tz, minutes: Vec<SimMinute>) -> MiBand {
        MiBand::new("Mi Smart Band 5", RecordSize::Eight, key, zone, minutes)
    }

    /// The same band with these firmware options.
    pub fn with_options(mut self, options: MiBandOptions) -> MiBand {
        self.options = options;
        self
    }

    /// The same band with these faults.
    pub fn with_faults(mut self, faults: MiBandFaults) -> MiBand {
        self.faults = faults;
        self
    }

    /// Replaces the faults (e.g. for the next connection).
    pub fn set_faults(&mut self, faults: MiBandFaults) {
        self.faults = faults;
    }

    /// Replaces the firmware options.
    pub fn set_options(&mut self, options: MiBandOptions) {
        self.options = options;
    }

    /// The minutes still stored on the band.
    pub fn stored_minutes(&self) -> &[SimMinute] {
        &self.stored
    }

    /// The band keeps recording: appends minutes after the last stored one.
    pub fn record(&mut self, minutes: &[SimMinute]) {
        let last = self.stored.last().map(|m| m.minute);
        self.stored
            .extend(minutes.iter().filter(|m| last.is_none_or(|l| m.minute > l)));
    }

    /// The key the band holds.
    pub fn key(&self) -> [u8; 16] {
        self.key
    }

    /// Whether the current connection has authenticated.
    pub fn authenticated(&self) -> bool {
        self.authenticated
    }

    fn on_auth(&mut self, value: &[u8], link: &mut Link<'_>) {
        let encrypted = self.encrypted_auth;
        let answer = match value {
            [0x01, _, key @ ..] if key.len() == 16 => {
                if !encrypted {
                    self.key.copy_from_slice(key);
                    vec![0x10, 0x01, 0x01]
                } else {
                    vec![0x10, 0x01, 0x04]
                }
            }
            [0x02, _] | [0x82, _, 0x02, 0x01, 0x00] if value[0] == 0x02 || encrypted => {
                let mut random = [0u8; 16];
                for chunk in random.chunks_mut(8) {
                    let n = self.rng.next().to_le_bytes();
                    chunk.copy_from_slice(&n[..chunk.len()]);
                }
                if let Some(recorded) = self.challenges.pop_front() {
                    random = recorded;
                }
                self.challenge = Some(random);
                let mut a = vec![0x10, value[0], 0x01];
                a.extend_from_slice(&random);
                a
            }
            [op @ (0x03 | 0x83), _, answer @ ..]
                if answer.len() == 16 && (*op == 0x03 || encrypted) =>
            {
                let ok = self
                    .challenge
                    .take()
                    .is_some_and(|random| encrypt(&self.key, &random)[..] == answer[..]);
                self.authenticated = ok;
                let refused = if encrypted { 0x08 } else { 0x04 };
                vec![0x10, *op, if ok { 0x01 } else { refused }]
            }
            [op, ..] => vec![0x10, *op, 0x04],
            [] => return,
        };
        link.notify(AUTH, answer);
    }

    fn on_fetch_control(&mut self, value: &[u8], link: &mut Link<'_>) {
        let Some(&op) = value.first() else {
            return;
        };
        if !self.authenticated {
            link.notify(FETCH_CONTROL, vec![0x10, op, 0x04]);
            return;
        }
        match op {
            0x01 => {
                let here = Some((link.connection(), self.fetch_requests));
                self.fetch_requests += 1;
                let answer = if self.faults.no_data_at == here {
                    self.pending = None;
                    vec![0x10, 0x01, 0x02]
                } else {
                    self.answer_fetch_start(value)
                };
                link.notify(FETCH_CONTROL, answer);
            }
            0x02 => self.send_round(link),
            0x03 => {
                link.counters().acks += 1;
                if let Some(round) = self.last_sent.take()
                    && self.options.delete_on_ack
                {
                    let end = round.first + Duration::minutes(round.count as i64);
                    self.stored
                        .retain(|m| m.minute < round.first || m.minute >= end);
                }
            }
            other => link.notify(FETCH_CONTROL, vec![0x10, other, 0x04]),
        }
    }

    fn answer_fetch_start(&mut self, value: &[u8]) -> Vec<u8> {
        let Some(since) = parse_fetch_start(value) else {
            return vec![0x10, 0x01, 0x04];
        };
        let first = self.stored.partition_point(|m| m.minute < since);
        let mut count = 0usize;
        let limit = self.options.max_minutes_per_round.unwrap_or(usize::MAX);
        while first + count < self.stored.len()
            && count < limit
            && self.stored[first + count].minute
                == self.stored[first].minute + Duration::minutes(count as i64)
        {
            count += 1;
        }
        let mut a = vec![0x10, 0x01, 0x01];
        a.extend_from_slice(&(count as u32).to_le_bytes());
        if count == 0 {
            self.pending = None;
            // Echo the requested start (date, time, seconds, offset).
            a.extend_from_slice(value.get(2..10).unwrap_or(&[0; 8]));
            return a;
        }
        let start = self.stored[first].minute;
        self.pending = Some(Round {
            first: start,
            count,
        });
        let local = start.with_timezone(&self.zone);
        let offset = local.offset().fix().local_minus_utc() / 900;
        a.extend_from_slice(&(local.year() as u16).to_le_bytes());
        a.extend_from_slice(&[
            local.month() as u8,
            local.day() as u8,
            local.hour() as u8,
            local.minute() as u8,
            local.second() as u8,
            offset as i8 as u8,
        ]);
        a
    }

    fn send_round(&mut self, link: &mut Link<'_>) {
        let Some(round) = self.pending.take() else {
            link.notify(FETCH_CONTROL, vec![0x10, 0x02, 0x04]);
            return;
        };
        let first = self.stored.partition_point(|m| m.minute < round.first);
        let end = (first + round.count).min(self.stored.len());
        let mut bytes = Vec::with_capacity((end - first) * self.record_size.bytes());
        for m in &self.stored[first..end] {
            match self.raw.get(&m.minute) {
                Some(recorded) => bytes.extend_from_slice(recorded),
                None => encode_record(m, self.record_size, &mut bytes),
            }
        }
        let connection = link.connection();
        self.counter_skew = 0;
        // Whole records after the counter byte, as many as the MTU allows.
        let size = self.record_size.bytes();
        let per_notification = ((link.max_notification() - 1) / size).max(1) * size;
        for (k, chunk) in bytes.chunks(per_notification).enumerate() {
            let here = Some((connection, self.data_index));
            if self.faults.disconnect_at_notification == here {
                link.drop_link();
                return;
            }
            if self.faults.counter_gap_at == here {
                self.counter_skew = self.counter_skew.wrapping_add(1);
            }
            let counter = (k as u8).wrapping_add(self.counter_skew);
            let mut n = Vec::with_capacity(chunk.len() + 1);
            n.push(counter);
            n.extend_from_slice(chunk);
            link.notify_data(ACTIVITY_DATA, n);
            self.data_index += 1;
        }
        link.notify(FETCH_CONTROL, vec![0x10, 0x02, 0x01]);
        self.last_sent = Some(round);
    }
}

fn encrypt(key: &[u8; 16], block: &[u8; 16]) -> [u8; 16] {
    let cipher = Aes128::new(&(*key).into());
    let mut b = (*block).into();
    cipher.encrypt_block(&mut b);
    b.into()
}

/// `01 01 <year u16> <month> <day> <hour> <minute> <second> <tz i8>` → the UTC instant.
fn parse_fetch_start(value: &[u8]) -> Option<DateTime<Utc>> {
    let [0x01, 0x01, y0, y1, month, day, hour, minute, _second, tz] = *value else {
        return None;
    };
    let year = i32::from(u16::from_le_bytes([y0, y1]));
    let local = NaiveDate::from_ymd_opt(year, u32::from(month), u32::from(day))?.and_hms_opt(
        u32::from(hour),
        u32::from(minute),
        0,
    )?;
    let utc = local - Duration::minutes(i64::from(tz as i8) * 15);
    Some(Utc.from_utc_datetime(&utc))
}

fn encode_record(m: &SimMinute, size: RecordSize, out: &mut Vec<u8>) {
    let sleep = matches!(m.kind, kind::LIGHT_SLEEP | kind::DEEP_SLEEP);
    let intensity = if sleep {
        2
    } else {
        m.steps.saturating_mul(2).saturating_add(10)
    };
    out.extend_from_slice(&[m.kind, intensity, m.steps, m.heart_rate]);
    if size == RecordSize::Eight {
        out.extend_from_slice(&[
            0,
            u8::from(sleep),
            u8::from(m.kind == kind::DEEP_SLEEP),
            u8::from(m.rem),
        ]);
    }
}

impl Peripheral for MiBand {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn advertised_services(&self) -> Vec<Uuid> {
        vec![SERVICE_FEE0]
    }

    fn services(&self) -> Vec<ServiceSpec> {
        vec![
            ServiceSpec {
                uuid: SERVICE_FEE0,
                characteristics: vec![
                    CharacteristicSpec::new(CURRENT_TIME, &[Flag::Read, Flag::Write, Flag::Notify]),
                    CharacteristicSpec::new(
                        FETCH_CONTROL,
                        &[Flag::WriteWithoutResponse, Flag::Notify],
                    ),
                    CharacteristicSpec::new(ACTIVITY_DATA, &[Flag::Notify]),
                ],
            },
            ServiceSpec {
                uuid: SERVICE_FEE1,
                characteristics: vec![CharacteristicSpec::new(
                    AUTH,
                    &[Flag::Read, Flag::WriteWithoutResponse, Flag::Notify],
                )],
            },
            common::battery_service(),
            common::device_information_service(),
        ]
    }

    fn on_connect(&mut self, _link: &mut Link<'_>) {
        self.challenge = None;
        self.authenticated = false;
        self.pending = None;
        self.last_sent = None;
        self.data_index = 0;
        self.fetch_requests = 0;
    }

    fn on_disconnect(&mut self) {
        self.authenticated = false;
        self.pending = None;
    }

    fn on_read(&mut self, characteristic: Uuid, _link: &mut Link<'_>) -> Result<Vec<u8>, AttError> {
        common::read_standard(characteristic, self.battery, &self.info)
    }

    fn on_write(
        &mut self,
        characteristic: Uuid,
        value: &[u8],
        link: &mut Link<'_>,
    ) -> Result<(), AttError> {
        if characteristic == AUTH {
            self.on_auth(value, link);
        } else if characteristic == CURRENT_TIME {
            if value.len() != 11 {
                return Err(AttError(0x0D));
            }
            link.counters().current_time_writes.push(value.to_vec());
        } else if characteristic == FETCH_CONTROL {
            self.on_fetch_control(value, link);
        } else {
            return Err(AttError::WRITE_NOT_PERMITTED);
        }
        Ok(())
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

#[cfg(test)]
mod tests;
