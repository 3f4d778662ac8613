//! The collector's errors: each message says what happened and what to do.

use stepwise_wearables::device::SyncError;
use stepwise_wearables::{DecodeError, huami, pams};

use crate::clock::BadClockStart;
use crate::outbox::OutboxError;
use crate::upload::{PairError, UploadError};

/// A collector failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The trace file could not be written.
    #[error("{0}")]
    Trace(String),
    /// D-Bus or BlueZ could not be reached.
    #[error("cannot reach BlueZ over D-Bus ({0}): is bluetoothd running?")]
    NoBluez(String),
    /// No adapter at all.
    #[error("no Bluetooth adapter found")]
    NoAdapter,
    /// The adapter is powered off.
    #[error("Bluetooth is off: turn it on (e.g. `bluetoothctl power on`) and try again")]
    BluetoothOff,
    /// The band was not seen during the scan.
    #[error(
        "no {what} with address {address} nearby: is it charged, in range, and not connected to a phone?"
    )]
    NotFound {
        /// What was looked for (a device kind, or "supported band").
        what: String,
        /// Its address.
        address: String,
    },
    /// No supported band at all was seen.
    #[error(
        "no supported band nearby (Mi Band 2–6, Amazfit Bip, PineTime with InfiniTime, PAMS devices): is it charged, in range, and not connected to a phone?"
    )]
    NoneNearby,
    /// Several supported bands were seen and none was chosen.
    #[error("several supported bands nearby ({0}): choose one with --address")]
    SeveralNearby(String),
    /// The address seen is not a supported band.
    #[error("{address} ({name}) is not a supported band")]
    Unsupported {
        /// Its address.
        address: String,
        /// Its advertised name.
        name: String,
    },
    /// Connecting took too long.
    #[error(
        "could not connect to {name} within {seconds} s: is it charged, in range, and not connected to a phone?"
    )]
    ConnectTimeout {
        /// The band.
        name: String,
        /// The limit.
        seconds: u64,
    },
    /// The link dropped in the middle.
    #[error(
        "the band disconnected during the sync ({0}): what arrived in complete rounds is kept; run `stepwise band sync` again"
    )]
    Disconnected(String),
    /// The band stopped answering.
    #[error(
        "the band sent nothing for {seconds} s ({doing}): what arrived in complete rounds is kept; run `stepwise band sync` again"
    )]
    Silent {
        /// How long it was silent.
        seconds: u64,
        /// What the collector waited for.
        doing: String,
    },
    /// The band lacks a characteristic its protocol needs.
    #[error(
        "the band has no characteristic {characteristic} in service {service}: is it the device it claims to be (firmware too old)?"
    )]
    MissingCharacteristic {
        /// The service.
        service: uuid::Uuid,
        /// The characteristic.
        characteristic: uuid::Uuid,
    },
    /// A Bluetooth operation failed.
    #[error("Bluetooth: {0}")]
    Ble(String),
    /// A Huami band's protocol failed (e.g. a wrong key).
    #[error(transparent)]
    Huami(#[from] huami::Error),
    /// A PAMS device's protocol failed.
    #[error(transparent)]
    Pams(#[from] pams::Error),
    /// A value from the band could not be decoded.
    #[error("the band sent a value that makes no sense: {0}")]
    Decode(#[from] DecodeError),
    /// A Mi Band 4 or later without its key.
    #[error(
        "a {0} only talks to apps that know its auth key: pass it with --key (32 hex digits; see docs/collector.md for how to get it)"
    )]
    KeyNeeded(String),
    /// A device kind the outbox holds that this version does not know.
    #[error("the outbox names a device kind this version does not know: {0}")]
    UnknownKind(String),
    /// `--address` names no paired band.
    #[error("no band with address {0} is paired: pair it first (`stepwise band pair`)")]
    NotPaired(String),
    /// Nothing paired yet.
    #[error(
        "no band is paired yet: pair one first (`stepwise band pair --server URL --code CODE`)"
    )]
    NothingPaired,
    /// An export could not be read (`stepwise band import`): nothing of it was stored.
    #[error("{0}")]
    Import(#[from] stepwise_imports::ImportError),
    /// `stepwise band import` on a data directory not paired for imports.
    #[error(
        "this data directory is not paired for imports yet: run `stepwise band import --server \
         URL --code CODE FILE` with a pairing code from the patient's \"Pair a band\" page"
    )]
    NotPairedForImports,
    /// The outbox failed.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// An upload failed.
    #[error(transparent)]
    Upload(#[from] UploadError),
    /// The server did not pair.
    #[error(transparent)]
    Pair(#[from] PairError),
    /// A bad test clock.
    #[error(transparent)]
    Clock(#[from] BadClockStart),
    /// This machine refused something an import needs (randomness, a thread).
    #[error("{0}")]
    System(String),
    /// The HTTP client could not be built.
    #[error("cannot prepare the HTTP client: {0}")]
    Http(String),
}

impl From<SyncError> for Error {
    fn from(err: SyncError) -> Error {
        match err {
            SyncError::Huami(err) => Error::Huami(err),
            SyncError::Pams(err) => Error::Pams(err),
            SyncError::Decode(err) => Error::Decode(err),
        }
    }
}

impl From<btleplug::Error> for Error {
    fn from(err: btleplug::Error) -> Error {
        match err {
            btleplug::Error::NotConnected => {
                Error::Disconnected("the link to the band is gone".into())
            }
            other => Error::Ble(other.to_string()),
        }
    }
}

/// A collector result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
