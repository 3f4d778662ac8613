//! What a simulated band is to the fake BlueZ: a GATT table plus callbacks, and an outbox
//! of notifications the fake sends in order, paced by a [`LinkModel`].
//!
//! Simulators are sans-IO: a callback never sleeps or touches D-Bus; it pushes
//! [`Action`]s into its [`Link`] and the fake's per-connection pump carries them out.

use std::any::Any;
use std::time::Duration;

use uuid::Uuid;

/// How the simulated radio link behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkModel {
    /// Sleep before each activity-data notification (e.g. 7.5 ms: one per connection event
    /// at the fastest BLE connection interval). Default zero.
    pub per_notification: Duration,
    /// Time `Connect()` takes before the device is connected. Default zero.
    pub connect: Duration,
    /// The ATT MTU the link settles on (23 by default; BlueZ proposes up to 517 and a band
    /// accepts what it can, e.g. 247). A notification carries at most `mtu - 3` bytes: the
    /// fake truncates longer ones, as a real link would.
    pub mtu: u16,
}

/// The default ATT MTU, and the smallest one.
pub const DEFAULT_MTU: u16 = 23;

impl Default for LinkModel {
    fn default() -> Self {
        LinkModel {
            per_notification: Duration::ZERO,
            connect: Duration::ZERO,
            mtu: DEFAULT_MTU,
        }
    }
}

/// GATT characteristic properties, spelled as BlueZ's `Flags` strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    /// `read`
    Read,
    /// `write`
    Write,
    /// `write-without-response`
    WriteWithoutResponse,
    /// `notify`
    Notify,
    /// `indicate`
    Indicate,
}

impl Flag {
    /// BlueZ's name for the flag.
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::Read => "read",
            Flag::Write => "write",
            Flag::WriteWithoutResponse => "write-without-response",
            Flag::Notify => "notify",
            Flag::Indicate => "indicate",
        }
    }
}

/// One characteristic a simulator declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CharacteristicSpec {
    /// Its UUID (unique within the device for our simulators).
    pub uuid: Uuid,
    /// What a client may do with it.
    pub flags: Vec<Flag>,
}

impl CharacteristicSpec {
    /// A characteristic with these flags.
    pub fn new(uuid: Uuid, flags: &[Flag]) -> Self {
        CharacteristicSpec {
            uuid,
            flags: flags.to_vec(),
        }
    }

    /// Whether `flag` is declared.
    pub fn has(&self, flag: Flag) -> bool {
        self.flags.contains(&flag)
    }
}

/// One primary service and its characteristics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    /// The service UUID.
    pub uuid: Uuid,
    /// Its characteristics, in handle order.
    pub characteristics: Vec<CharacteristicSpec>,
}

/// An ATT error a simulator answers a read or write with (BlueZ turns it into
/// `org.bluez.Error.Failed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttError(pub u8);

impl AttError {
    /// 0x03 Write Not Permitted.
    pub const WRITE_NOT_PERMITTED: AttError = AttError(0x03);
    /// 0x0D Invalid Attribute Value Length.
    pub const INVALID_LENGTH: AttError = AttError(0x0D);
    /// 0x0E Unlikely Error.
    pub const UNLIKELY: AttError = AttError(0x0E);
    /// 0x06 Request Not Supported.
    pub const NOT_SUPPORTED: AttError = AttError(0x06);
}

/// Something the pump does for a simulator, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send a value to subscribers of `characteristic` (dropped if nobody subscribed).
    Notify {
        /// The characteristic.
        characteristic: Uuid,
        /// The value.
        value: Vec<u8>,
        /// Activity data: paced by [`LinkModel::per_notification`] and counted in the stats.
        data: bool,
    },
    /// Drop the radio link (the central sees a disconnection).
    DropLink,
}

/// Counters a simulator keeps for the tests (see `FakeBluez::stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Acknowledgements the band received (Mi Band fetch ack `03`).
    pub acks: u32,
    /// Raw values written to the Current Time characteristic, in order.
    pub current_time_writes: Vec<Vec<u8>>,
}

/// A simulator's view of the current connection: where it pushes actions.
#[derive(Debug)]
pub struct Link<'a> {
    connection: u32,
    mtu: u16,
    actions: Vec<Action>,
    counters: &'a mut Counters,
}

impl<'a> Link<'a> {
    /// A link context for connection number `connection` (1-based), at the default MTU.
    pub fn new(connection: u32, counters: &'a mut Counters) -> Self {
        Link {
            connection,
            mtu: DEFAULT_MTU,
            actions: Vec::new(),
            counters,
        }
    }

    /// The same link at ATT MTU `mtu` (at least 23).
    pub fn with_mtu(mut self, mtu: u16) -> Self {
        self.mtu = mtu.max(DEFAULT_MTU);
        self
    }

    /// Most bytes one notification can carry on this link: MTU − 3.
    pub fn max_notification(&self) -> usize {
        usize::from(self.mtu) - 3
    }

    /// Which connection this is: 1 for the first connection to this device, then 2, …
    pub fn connection(&self) -> u32 {
        self.connection
    }

    /// Queues a protocol (control) notification: not paced, not counted as data.
    pub fn notify(&mut self, characteristic: Uuid, value: Vec<u8>) {
        self.actions.push(Action::Notify {
            characteristic,
            value,
            data: false,
        });
    }

    /// Queues an activity-data notification: paced by the link model and counted.
    pub fn notify_data(&mut self, characteristic: Uuid, value: Vec<u8>) {
        self.actions.push(Action::Notify {
            characteristic,
            value,
            data: true,
        });
    }

    /// Queues a link loss after everything queued before it.
    pub fn drop_link(&mut self) {
        self.actions.push(Action::DropLink);
    }

    /// The simulator's counters.
    pub fn counters(&mut self) -> &mut Counters {
        self.counters
    }

    /// The queued actions, leaving the link empty.
    pub fn take_actions(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.actions)
    }
}

/// A simulated peripheral: what it advertises, its GATT table, and how it reacts.
pub trait Peripheral: Any + Send {
    /// The advertised local name.
    fn name(&self) -> String;
    /// Service UUIDs in its advertisement.
    fn advertised_services(&self) -> Vec<Uuid>;
    /// Its GATT table (exported on each connection).
    fn services(&self) -> Vec<ServiceSpec>;
    /// A central connected (before services are resolved).
    fn on_connect(&mut self, _link: &mut Link<'_>) {}
    /// The link ended (either side, or an injected loss).
    fn on_disconnect(&mut self) {}
    /// A central read `characteristic`.
    fn on_read(&mut self, characteristic: Uuid, link: &mut Link<'_>) -> Result<Vec<u8>, AttError>;
    /// A central wrote `value` to `characteristic`.
    fn on_write(
        &mut self,
        characteristic: Uuid,
        value: &[u8],
        link: &mut Link<'_>,
    ) -> Result<(), AttError>;
    /// A central enabled notifications or indications on `characteristic`.
    fn on_subscribe(&mut self, _characteristic: Uuid, _link: &mut Link<'_>) {}
    /// A central disabled them.
    fn on_unsubscribe(&mut self, _characteristic: Uuid) {}
    /// For typed access from test handles.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}
