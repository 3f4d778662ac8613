//! Stepwise's wearable protocols, without I/O: what to write to a band, how to read its
//! answers, and how to turn them into minute steps and sleep episodes in UTC.
//!
//! Nothing here touches Bluetooth, reads the clock or sleeps. The collector (the btleplug
//! shell) connects to a device, asks a protocol machine what to do next ([`Request`]), does
//! it over the air, and feeds every notification or read value back in. The machines hand
//! out events carrying normalised [`records`]. That keeps every rule — authentication, fetch
//! rounds, rolling counters, time zones and DST, midnight resets — testable with plain bytes.
//!
//! Modules:
//! - [`gatt`]: UUIDs of every service and characteristic used, and the standard Battery and
//!   Device Information decoders.
//! - [`records`]: the normalised output (minute records, activities, sleep episodes).
//! - [`device`]: the registry of devices: which one a scan result is, how a sync of each
//!   starts, the events every sync reports.
//! - [`huami`]: Xiaomi Mi Band 2–6 and Amazfit Bip: authentication and history fetch.
//! - [`infinitime`]: PineTime watches running InfiniTime: today's step count into deltas.
//! - [`pams`]: the Bluetooth SIG Physical Activity Monitor Service (step-counter sessions).
//! - [`replay`]: recorded conversations replayed through the machines, offline;
//!   [`btsnoop`] reads Android's HCI snoop logs into them.
//!
//! `docs/wearables.md` describes the supported devices and the normalisation for users.
#![warn(missing_docs)]

pub mod btsnoop;
mod bytes;
pub mod device;
mod error;
pub mod gatt;
pub mod huami;
pub mod infinitime;
pub mod pams;
pub mod position;
pub mod records;
pub mod replay;

pub use error::DecodeError;
pub use uuid::Uuid;

/// A device's protocol machine, sans IO: the collector's Bluetooth shell and `stepwise band
/// replay` drive every device through this. Loop: perform every [`Protocol::poll_request`],
/// hand out every [`Protocol::poll_event`], stop when [`Protocol::is_finished`], else feed the
/// next notification (or a requested read's value) back in. An error ends the machine.
pub trait Protocol {
    /// What it reports (rounds, batches, sessions, …).
    type Event;
    /// How it fails.
    type Error: std::error::Error;
    /// The next thing to do over the air.
    fn poll_request(&mut self) -> Option<Request>;
    /// A notification or indication arrived.
    fn handle_notification(
        &mut self,
        characteristic: Uuid,
        value: &[u8],
    ) -> Result<(), Self::Error>;
    /// The value of a [`Request::Read`].
    fn handle_read(&mut self, characteristic: Uuid, value: &[u8]) -> Result<(), Self::Error>;
    /// The next event.
    fn poll_event(&mut self) -> Option<Self::Event>;
    /// Nothing more to do.
    fn is_finished(&self) -> bool;
}

/// A boxed machine (such as [`device::Machine`]) is driven like the machine inside.
impl<P: Protocol + ?Sized> Protocol for Box<P> {
    type Event = P::Event;
    type Error = P::Error;
    fn poll_request(&mut self) -> Option<Request> {
        (**self).poll_request()
    }
    fn handle_notification(&mut self, characteristic: Uuid, value: &[u8]) -> Result<(), P::Error> {
        (**self).handle_notification(characteristic, value)
    }
    fn handle_read(&mut self, characteristic: Uuid, value: &[u8]) -> Result<(), P::Error> {
        (**self).handle_read(characteristic, value)
    }
    fn poll_event(&mut self) -> Option<P::Event> {
        (**self).poll_event()
    }
    fn is_finished(&self) -> bool {
        (**self).is_finished()
    }
}

/// What a protocol machine wants done over the air; the shell does it and feeds results back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Enable notifications (or indications) on a characteristic.
    Subscribe {
        /// The service holding the characteristic.
        service: Uuid,
        /// The characteristic to subscribe to.
        characteristic: Uuid,
    },
    /// Write a value.
    Write {
        /// The service holding the characteristic.
        service: Uuid,
        /// The characteristic to write.
        characteristic: Uuid,
        /// The bytes to write.
        value: Vec<u8>,
        /// Write with response (a GATT write request) rather than a write command.
        with_response: bool,
    },
    /// Read a value; answer with `handle_read`.
    Read {
        /// The service holding the characteristic.
        service: Uuid,
        /// The characteristic to read.
        characteristic: Uuid,
    },
}
