//! Simulated wearables (the peripheral side of each protocol) and the GATT services they
//! share (Battery, Device Information).

pub mod common;
pub mod infinitime;
pub mod miband;
pub mod pams;

pub use common::{DeviceInformation, uuid16};
pub use infinitime::InfiniTime;
pub use miband::{MiBand, MiBandFaults, MiBandOptions, RecordSize};
pub use pams::{PamsDevice, PamsSession};
