//! Stepwise's band collector: reads minute steps, heart rate and sleep from consumer Bluetooth
//! wearables (Huami Mi Band 2–6 and Amazfit Bip, PineTime with InfiniTime, devices with the
//! Bluetooth Physical Activity Monitor Service) and uploads them to a Stepwise server.
//!
//! The protocols themselves live, without I/O, in `stepwise-wearables`; this crate is the
//! shell around them:
//! - [`ble`]: btleplug (BlueZ over D-Bus on Linux): adapter, scan, connect, drive a machine.
//! - [`outbox`]: the local SQLite file where data waits until the server confirms it.
//! - [`upload`]: the server's pairing and upload API.
//! - [`sync`], [`pair`], [`watch`], [`import`]: what `stepwise band sync|pair|watch|import` do
//!   (an import needs no Bluetooth: it reads a phone's export, `stepwise-imports`).
//! - [`clock`], [`progress`], [`secret`]: the clock, progress on stderr, secrets kept out of logs.
//! - [`trace`]: a live sync written down as a replayable transcript (`band sync --trace`).

pub mod ble;
pub mod clock;
pub mod error;
pub mod import;
pub mod outbox;
pub mod pair;
pub mod progress;
pub mod secret;
pub mod sync;
pub mod trace;
pub mod upload;
pub mod watch;

pub use clock::Clock;
pub use error::{Error, Result};
pub use outbox::Outbox;
pub use sync::Collector;
pub use upload::Uploader;
