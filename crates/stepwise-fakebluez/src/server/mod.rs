//! The fake BlueZ daemon: the Rust API tests use ([`FakeBluez`], [`Scenario`],
//! [`DeviceSpec`]) and the runtime that serves `org.bluez` on a private bus.

mod core;
mod dbus;

use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};

use self::core::{AdapterState, Core, DeviceCore, lock};
use crate::bus::Bus;
use crate::error::Error;
use crate::peripheral::{Link, LinkModel, Peripheral};

/// The kind of Bluetooth address a device uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AddressType {
    /// A public (IEEE-assigned) address.
    #[default]
    Public,
    /// A random (static or private) address, as most bands use.
    Random,
}

impl AddressType {
    fn as_str(self) -> &'static str {
        match self {
            AddressType::Public => "public",
            AddressType::Random => "random",
        }
    }
}

/// One simulated device in a [`Scenario`].
pub struct DeviceSpec {
    /// `AA:BB:CC:DD:EE:FF` (upper or lower case).
    pub address: String,
    /// Public or random.
    pub address_type: AddressType,
    /// The signal strength a scan reports.
    pub rssi: i16,
    /// False: the device never appears in a scan (out of range).
    pub in_range: bool,
    /// The simulator.
    pub peripheral: Box<dyn Peripheral>,
}

impl std::fmt::Debug for DeviceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceSpec")
            .field("address", &self.address)
            .field("address_type", &self.address_type)
            .field("rssi", &self.rssi)
            .field("in_range", &self.in_range)
            .field("name", &self.peripheral.name())
            .finish()
    }
}

impl DeviceSpec {
    /// An in-range device with a public address and RSSI −60.
    pub fn new(address: impl Into<String>, peripheral: impl Peripheral) -> DeviceSpec {
        DeviceSpec {
            address: address.into(),
            address_type: AddressType::Public,
            rssi: -60,
            in_range: true,
            peripheral: Box::new(peripheral),
        }
    }

    /// The same device with a random address.
    pub fn random_address(mut self) -> DeviceSpec {
        self.address_type = AddressType::Random;
        self
    }

    /// The same device, out of range: a scan never finds it.
    pub fn out_of_range(mut self) -> DeviceSpec {
        self.in_range = false;
        self
    }

    /// The same device with another RSSI.
    pub fn with_rssi(mut self, rssi: i16) -> DeviceSpec {
        self.rssi = rssi;
        self
    }
}

/// What the fake serves: one adapter, its devices and the link model.
#[derive(Debug)]
pub struct Scenario {
    /// The adapter's address.
    pub adapter_address: String,
    /// False: the adapter is off and refuses to power on ("Bluetooth off", rfkill-blocked).
    pub powered: bool,
    /// The simulated devices.
    pub devices: Vec<DeviceSpec>,
    /// Connect delay and notification pacing.
    pub link: LinkModel,
}

impl Scenario {
    /// A powered adapter `00:1A:7D:DA:71:13` with these devices and an instant link.
    pub fn new(devices: Vec<DeviceSpec>) -> Scenario {
        Scenario {
            adapter_address: "00:1A:7D:DA:71:13".into(),
            powered: true,
            devices,
            link: LinkModel::default(),
        }
    }
}

/// What a device has seen, for assertions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceStats {
    /// Connections made so far.
    pub connections: u32,
    /// Whether a central is connected now.
    pub connected: bool,
    /// Activity-data notifications actually sent (all connections).
    pub data_notifications: u64,
    /// All notifications sent (data and protocol).
    pub notifications: u64,
    /// Acknowledgements received (Mi Band `03`).
    pub acks: u32,
    /// Raw Current Time writes, in order.
    pub current_time_writes: Vec<Vec<u8>>,
    /// Writes refused for a write type the characteristic does not declare.
    pub refused_writes: u32,
    /// The longest activity-data notification value sent, in bytes.
    pub longest_notification: usize,
}

/// A fake `org.bluez` on a private bus, on its own tokio runtime; stopped on drop.
pub struct FakeBluez {
    core: Arc<Core>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for FakeBluez {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeBluez")
            .field("adapter", &self.core.adapter_address)
            .field("devices", &self.core.devices.len())
            .finish()
    }
}

fn check_address(address: &str) -> Result<String, Error> {
    let parts: Vec<&str> = address.split(':').collect();
    let ok = parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()));
    if ok {
        Ok(address.to_ascii_uppercase())
    } else {
        Err(Error::Scenario(format!(
            "{address:?} is not a Bluetooth address like AA:BB:CC:DD:EE:FF"
        )))
    }
}

impl FakeBluez {
    /// Starts serving `scenario` on `bus`. Returns once `org.bluez` is owned and the adapter
    /// is exported, so a client may connect right away. Callable from sync or async code.
    pub fn start(bus: &Bus, scenario: Scenario) -> Result<FakeBluez, Error> {
        let adapter_address = check_address(&scenario.adapter_address)?;
        let mut devices = Vec::new();
        for spec in scenario.devices {
            let address = check_address(&spec.address)?;
            if devices
                .iter()
                .any(|d: &Arc<DeviceCore>| d.address == address)
            {
                return Err(Error::Scenario(format!(
                    "two devices have address {address}"
                )));
            }
            devices.push(Arc::new(DeviceCore::new(
                address,
                spec.address_type.as_str(),
                spec.rssi,
                spec.in_range,
                scenario.link.mtu.max(crate::peripheral::DEFAULT_MTU),
                spec.peripheral,
            )));
        }
        let core = Arc::new(Core {
            connection: OnceLock::new(),
            adapter_address,
            adapter: Mutex::new(AdapterState {
                powered: scenario.powered,
                blocked: !scenario.powered,
                discovering: false,
                filter_uuids: Vec::new(),
                discovery_generation: 0,
            }),
            devices,
            link: scenario.link,
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fakebluez")
            .enable_all()
            .build()
            .map_err(|e| Error::Bus {
                detail: format!("cannot start the fake's runtime: {e}"),
            })?;
        let fake = FakeBluez {
            core: core.clone(),
            runtime: Some(runtime),
        };
        let address = bus.address().to_owned();
        fake.run(async move {
            let connection = zbus::connection::Builder::address(address.as_str())?
                .serve_at("/", zbus::fdo::ObjectManager)?
                .serve_at(
                    self::core::ADAPTER_PATH,
                    dbus::AdapterIface { core: core.clone() },
                )?
                .name("org.bluez")?
                .build()
                .await?;
            let _ = core.connection.set(connection);
            Ok::<(), Error>(())
        })??;
        Ok(fake)
    }

    /// Runs a future on the fake's runtime and waits for it (from sync or async code: the
    /// runtime has its own threads).
    fn run<F>(&self, fut: F) -> Result<F::Output, Error>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let runtime = self.runtime.as_ref().ok_or(Error::Stopped)?;
        let (tx, rx) = std::sync::mpsc::channel();
        runtime.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv().map_err(|_| Error::Stopped)
    }

    fn device(&self, address: &str) -> Result<Arc<DeviceCore>, Error> {
        self.core
            .device(address)
            .cloned()
            .ok_or_else(|| Error::UnknownDevice(address.to_owned()))
    }

    /// The D-Bus object path of a device (`/org/bluez/hci0/dev_AA_BB_…`).
    pub fn device_path(&self, address: &str) -> Result<String, Error> {
        Ok(self.device(address)?.path.clone())
    }

    /// Counters of one device.
    pub fn stats(&self, address: &str) -> Result<DeviceStats, Error> {
        let dev = self.device(address)?;
        let counters = lock(&dev.sim).counters.clone();
        let st = lock(&dev.state);
        Ok(DeviceStats {
            connections: st.connection,
            connected: st.connected,
            data_notifications: st.data_notifications,
            notifications: st.notifications,
            acks: counters.acks,
            current_time_writes: counters.current_time_writes,
            refused_writes: st.refused_writes,
            longest_notification: st.longest_notification,
        })
    }

    /// Injects a link loss now (the central sees `Connected=false`). No-op when not connected.
    pub fn drop_link(&self, address: &str) -> Result<(), Error> {
        let dev = self.device(address)?;
        let core = self.core.clone();
        self.run(async move { dev.end_link(&core, None).await })
    }

    /// Moves a device into or out of range. Out of range also ends its link; in range makes
    /// the next scan (or the running one) find it.
    pub fn set_in_range(&self, address: &str, in_range: bool) -> Result<(), Error> {
        let dev = self.device(address)?;
        lock(&dev.state).in_range = in_range;
        if !in_range {
            self.drop_link(address)?;
        }
        Ok(())
    }

    /// Runs `f` on the simulator of `address`, typed as `P`, with a link context: what it
    /// queues (notifications, a link drop) goes to the current connection.
    pub fn with_peripheral<P: Peripheral, R>(
        &self,
        address: &str,
        f: impl FnOnce(&mut P, &mut Link<'_>) -> R,
    ) -> Result<R, Error> {
        let dev = self.device(address)?;
        dev.with_sim(|p, link| {
            p.as_any_mut()
                .downcast_mut::<P>()
                .map(|p| f(p, link))
                .ok_or_else(|| Error::WrongKind {
                    address: address.to_owned(),
                    wanted: std::any::type_name::<P>(),
                })
        })
    }
}

impl Drop for FakeBluez {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Works from inside an async test too (a plain drop would panic there).
            runtime.shutdown_background();
        }
    }
}
