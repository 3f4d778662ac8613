//! The crate's error type (for the Rust API) and the `org.bluez.Error.*` errors the fake
//! answers D-Bus calls with.

/// What can go wrong starting or driving the fake.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `dbus-daemon` is not installed.
    #[error(
        "dbus-daemon was not found: install Debian's dbus-daemon package (apt-get install dbus-daemon)"
    )]
    NoDaemon,
    /// The private bus could not be started.
    #[error("the private D-Bus could not be started: {detail}")]
    Bus {
        /// What failed.
        detail: String,
    },
    /// A D-Bus call or connection failed.
    #[error("D-Bus: {0}")]
    DBus(#[from] zbus::Error),
    /// The scenario is inconsistent (e.g. a malformed or duplicate address).
    #[error("invalid scenario: {0}")]
    Scenario(String),
    /// No device with this address is in the scenario.
    #[error("no simulated device has the address {0}")]
    UnknownDevice(String),
    /// The device exists but is not the simulator kind the caller asked for.
    #[error("the device {address} is not a {wanted}")]
    WrongKind {
        /// The device's address.
        address: String,
        /// The simulator type asked for.
        wanted: &'static str,
    },
    /// The fake's runtime has stopped.
    #[error("the fake BlueZ has stopped")]
    Stopped,
}

/// Errors named like BlueZ's (`org.bluez.Error.<Variant>`), so a client sees what it would
/// see from the real daemon.
#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org.bluez.Error")]
pub(crate) enum BluezError {
    /// A zbus-level failure.
    #[zbus(error)]
    ZBus(zbus::Error),
    /// Generic failure (BlueZ also reports ATT errors this way).
    Failed(String),
    /// The adapter is off.
    NotReady(String),
    /// The operation needs a connection.
    NotConnected(String),
    /// The characteristic does not allow this.
    NotPermitted(String),
    /// The characteristic does not support this.
    NotSupported(String),
    /// No such device.
    DoesNotExist(String),
    /// Malformed arguments.
    InvalidArguments(String),
    /// Discovery already stopped, etc.
    InProgress(String),
}
