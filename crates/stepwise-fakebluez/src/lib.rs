//! A fake BlueZ for tests: a private `dbus-daemon` ([`Bus`]), a Rust server of BlueZ's
//! D-Bus object model on it ([`FakeBluez`]), simulated wearables speaking the real wire
//! protocols from the peripheral side ([`sim`]), and a scripted person whose days fill them
//! with data ([`wearer`]).
//!
//! Test-only: the product never depends on this crate. A client under test (btleplug →
//! bluez-async → libdbus) runs in a child process whose `DBUS_SYSTEM_BUS_ADDRESS` is
//! [`Bus::address`]; no radio, no bluetoothd.

mod bus;
mod error;
mod handles;
pub mod peripheral;
mod rng;
mod server;
pub mod sim;
pub mod wearer;

pub use bus::Bus;
pub use error::Error;
pub use peripheral::{
    Action, AttError, CharacteristicSpec, Counters, Flag, Link, LinkModel, Peripheral, ServiceSpec,
};
pub use server::{AddressType, DeviceSpec, DeviceStats, FakeBluez, Scenario};
