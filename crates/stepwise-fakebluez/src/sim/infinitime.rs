//! A PineTime running InfiniTime 1.15: Motion service step count (read + notify, u32 LE,
//! today's running count), Current Time service (read + write clock), Heart Rate, Battery and
//! Device Information. It advertises as the real watch does
//! (`src/components/ble/NimbleController.cpp`): Heart Rate (0x180D) and its DFU service, not
//! the Motion service, with the name "InfiniTime".
//!
//! Behaviour seen on real watches, for tests to reproduce: the count may stay at the previous
//! day's value for hours after midnight (issue #1270: 13,660 until 09:29), and a corrupt
//! reading of [`CORRUPT_READING`] has been reported (issue #1789).
//!
//! The test drives the count ([`InfiniTime::set_step_count`], or [`InfiniTime::walk`] for
//! steps taken), the watch's midnight ([`InfiniTime::midnight`]) and reboots
//! ([`InfiniTime::reboot`]: link lost, count back to 0). At midnight a watch made with
//! [`InfiniTime::resetting_late`] keeps the old day's count until its next steps, as the
//! watch in issue #1270 did; otherwise the count goes to 0 at once.

use std::any::Any;

use uuid::Uuid;

use super::common::{self, DeviceInformation, uuid16};
use crate::peripheral::{AttError, CharacteristicSpec, Flag, Link, Peripheral, ServiceSpec};

/// Motion service `00030000-78fc-48fe-8e23-433b3a1942d0`.
pub const MOTION_SERVICE: Uuid = Uuid::from_u128(0x00030000_78fc_48fe_8e23_433b3a1942d0);
/// Step count `00030001-…` (READ + NOTIFY, u32 LE).
pub const STEP_COUNT: Uuid = Uuid::from_u128(0x00030001_78fc_48fe_8e23_433b3a1942d0);
/// Raw motion `00030002-…` (3 × i16).
pub const RAW_MOTION: Uuid = Uuid::from_u128(0x00030002_78fc_48fe_8e23_433b3a1942d0);
/// The DFU service the watch advertises.
pub const DFU_SERVICE: Uuid = Uuid::from_u128(0x00001530_1212_efde_1523_785feabcd123);
/// Heart Rate service 0x180D (advertised).
pub const HEART_RATE_SERVICE: u16 = 0x180D;
/// Heart Rate Measurement 0x2A37.
pub const HEART_RATE_MEASUREMENT: u16 = 0x2A37;
/// A step count a real watch reported (InfiniTime issue #1789): 2^29 + 5,952.
pub const CORRUPT_READING: u32 = 536_876_864;
/// Current Time service 0x1805.
pub const CURRENT_TIME_SERVICE: u16 = 0x1805;
/// Current Time characteristic 0x2A2B.
pub const CURRENT_TIME: u16 = 0x2A2B;

/// The simulated watch.
#[derive(Debug, Clone)]
pub struct InfiniTime {
    steps: u32,
    battery: u8,
    clock: Vec<u8>,
    info: DeviceInformation,
    resets_late: bool,
    reset_pending: bool,
}

impl Default for InfiniTime {
    fn default() -> Self {
        InfiniTime::new()
    }
}

impl InfiniTime {
    /// A watch with 0 steps, battery 87 %, firmware 1.15.0.
    pub fn new() -> InfiniTime {
        InfiniTime {
            steps: 0,
            battery: 87,
            // 2020-01-01 00:00:00, Wednesday: the watch's clock before anyone sets it.
            clock: vec![0xE4, 0x07, 1, 1, 0, 0, 0, 3, 0, 0],
            info: DeviceInformation {
                manufacturer: "PINE64".into(),
                model: "PineTime".into(),
                serial: "0".into(),
                firmware: "1.15.0".into(),
                software: "InfiniTime".into(),
            },
            resets_late: false,
            reset_pending: false,
        }
    }

    /// A watch that, at midnight, keeps the old day's count until it next counts a step
    /// (InfiniTime issue #1270).
    pub fn resetting_late(mut self) -> InfiniTime {
        self.resets_late = true;
        self
    }

    /// The watch's clock passes midnight: the count restarts at 0 (notified), or, on a watch
    /// [`resetting_late`](InfiniTime::resetting_late), at its next steps.
    pub fn midnight(&mut self, link: &mut Link<'_>) {
        if self.resets_late {
            self.reset_pending = true;
        } else {
            self.set_step_count(0, link);
        }
    }

    /// The wearer takes `steps` steps: the count goes up (after a reset still pending from
    /// midnight) and subscribers are notified.
    pub fn walk(&mut self, steps: u32, link: &mut Link<'_>) {
        let from = if std::mem::take(&mut self.reset_pending) {
            0
        } else {
            self.steps
        };
        self.set_step_count(from.saturating_add(steps), link);
    }

    /// Today's count as the watch holds it.
    pub fn step_count(&self) -> u32 {
        self.steps
    }

    /// Sets the count; subscribers get a notification (an activity-data notification).
    pub fn set_step_count(&mut self, steps: u32, link: &mut Link<'_>) {
        self.steps = steps;
        link.notify_data(STEP_COUNT, steps.to_le_bytes().to_vec());
    }

    /// Reboots the watch: the link drops and the count restarts at 0.
    pub fn reboot(&mut self, link: &mut Link<'_>) {
        self.steps = 0;
        link.drop_link();
    }

    /// The last value written to Current Time (10 bytes), or the initial clock.
    pub fn clock(&self) -> &[u8] {
        &self.clock
    }

    /// Sets the battery level (0–100) and notifies subscribers.
    pub fn set_battery(&mut self, percent: u8, link: &mut Link<'_>) {
        self.battery = percent.min(100);
        link.notify(uuid16(common::BATTERY_LEVEL), vec![self.battery]);
    }
}

impl Peripheral for InfiniTime {
    fn name(&self) -> String {
        "InfiniTime".into()
    }

    fn advertised_services(&self) -> Vec<Uuid> {
        vec![uuid16(HEART_RATE_SERVICE), DFU_SERVICE]
    }

    fn services(&self) -> Vec<ServiceSpec> {
        vec![
            ServiceSpec {
                uuid: MOTION_SERVICE,
                characteristics: vec![
                    CharacteristicSpec::new(STEP_COUNT, &[Flag::Read, Flag::Notify]),
                    CharacteristicSpec::new(RAW_MOTION, &[Flag::Read, Flag::Notify]),
                ],
            },
            ServiceSpec {
                uuid: uuid16(CURRENT_TIME_SERVICE),
                characteristics: vec![CharacteristicSpec::new(
                    uuid16(CURRENT_TIME),
                    &[Flag::Read, Flag::Write],
                )],
            },
            ServiceSpec {
                uuid: uuid16(HEART_RATE_SERVICE),
                characteristics: vec![CharacteristicSpec::new(
                    uuid16(HEART_RATE_MEASUREMENT),
                    &[Flag::Notify],
                )],
            },
            common::battery_service(),
            common::device_information_service(),
        ]
    }

    fn on_read(&mut self, characteristic: Uuid, _link: &mut Link<'_>) -> Result<Vec<u8>, AttError> {
        if characteristic == STEP_COUNT {
            Ok(self.steps.to_le_bytes().to_vec())
        } else if characteristic == RAW_MOTION {
            // Lying still, face up: x = y = 0, z = 1 g.
            Ok([0i16, 0, 1024]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect())
        } else if characteristic == uuid16(CURRENT_TIME) {
            Ok(self.clock.clone())
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
        if characteristic != uuid16(CURRENT_TIME) {
            return Err(AttError::WRITE_NOT_PERMITTED);
        }
        link.counters().current_time_writes.push(value.to_vec());
        if value.len() != 10 {
            return Err(AttError::INVALID_LENGTH);
        }
        self.clock = value.to_vec();
        Ok(())
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
