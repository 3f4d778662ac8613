//! Stepwise's readers of the exports patients already have on their phones: a Gadgetbridge
//! database, Apple Health's "Export All Health Data", and Fitbit's data in Google Takeout.
//!
//! Nothing here opens a network connection, reads the clock or writes anywhere except a
//! scratch directory handed in (a database packed in a zip has to be a file for SQLite). Each
//! reader turns an export into [`Export`]: per source device, minute steps and sleep episodes
//! in UTC, using the same [`records`](stepwise_wearables::records) the Bluetooth protocols
//! produce. What each value of each format means, and where that is written down, is in
//! `docs/imports.md`.
//!
//! Modules:
//! - [`archive`]: reading a zip with limits (entries, sizes, compression ratio).
//! - [`gadgetbridge`]: Gadgetbridge's SQLite database, opened read-only and untrusted.
//! - [`apple_health`]: Apple Health's `export.xml`, streamed.
//! - [`fitbit`]: Fitbit's minute steps and sleep in Google Takeout (JSON and CSV).
//! - [`window`]: what of an export the server takes, and its summary for people.
#![warn(missing_docs)]

pub mod apple_health;
pub mod archive;
mod error;
pub mod fitbit;
pub mod gadgetbridge;
mod model;
mod read;
pub mod window;

pub use error::{ImportError, ImportResult};
pub use model::{
    END_SECOND, Export, FIRST_SECOND, Format, IMPORTER_KIND, Minute, Source, SourceData, YEARS,
    in_years, minutes_from_samples,
};
pub use read::{Options, Progress, read_export};
