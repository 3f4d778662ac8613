//! The fake's state and the BlueZ behaviour behind the D-Bus glue: discovery, connecting,
//! GATT export on connect, link teardown, and the per-connection notification pump.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use uuid::Uuid;
use zbus::Connection;
use zbus::zvariant::Value;

use crate::error::BluezError;
use crate::peripheral::{Action, CharacteristicSpec, Counters, Link, LinkModel, Peripheral};

pub(crate) const ADAPTER_PATH: &str = "/org/bluez/hci0";
pub(crate) const DEVICE_IFACE: &str = "org.bluez.Device1";
pub(crate) const ADAPTER_IFACE: &str = "org.bluez.Adapter1";
pub(crate) const CHAR_IFACE: &str = "org.bluez.GattCharacteristic1";

/// Locks a std mutex, recovering the data if a panicking thread poisoned it (a test's panic
/// must not turn every later call into a second panic).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Adapter state.
#[derive(Debug)]
pub(crate) struct AdapterState {
    pub powered: bool,
    /// Powered off and refusing to power on (rfkill): the "Bluetooth off" scenario.
    pub blocked: bool,
    pub discovering: bool,
    pub filter_uuids: Vec<Uuid>,
    /// Bumped on each StartDiscovery so an old advertiser task stops.
    pub discovery_generation: u64,
}

/// Everything the fake knows, shared by the D-Bus objects and the test-side API.
pub(crate) struct Core {
    pub connection: OnceLock<Connection>,
    pub adapter_address: String,
    pub adapter: Mutex<AdapterState>,
    pub devices: Vec<Arc<DeviceCore>>,
    pub link: LinkModel,
}

impl Core {
    pub fn conn(&self) -> Result<&Connection, BluezError> {
        self.connection
            .get()
            .ok_or_else(|| BluezError::Failed("the fake is not running".into()))
    }

    pub fn device(&self, address: &str) -> Option<&Arc<DeviceCore>> {
        self.devices
            .iter()
            .find(|d| d.address.eq_ignore_ascii_case(address))
    }

    pub fn powered(&self) -> bool {
        lock(&self.adapter).powered
    }
}

/// One GATT object as exported on each connection.
#[derive(Debug, Clone)]
pub(crate) struct GattChar {
    pub spec: CharacteristicSpec,
    pub path: String,
    pub service_path: String,
    pub handle: u16,
}

/// One exported service.
#[derive(Debug, Clone)]
pub(crate) struct GattService {
    pub uuid: Uuid,
    pub path: String,
    pub handle: u16,
    pub chars: Vec<GattChar>,
}

/// The simulator and its counters, locked together (lock before `DeviceCore::state`).
pub(crate) struct Sim {
    pub peripheral: Box<dyn Peripheral>,
    pub counters: Counters,
}

/// Link-level state of a device.
#[derive(Debug, Default)]
pub(crate) struct DeviceState {
    pub in_range: bool,
    pub exported: bool,
    pub connected: bool,
    pub services_resolved: bool,
    pub ever_resolved: bool,
    pub paired: bool,
    pub trusted: bool,
    pub connection: u32,
    pub sender: Option<UnboundedSender<Action>>,
    pub notifying: HashSet<Uuid>,
    pub values: HashMap<Uuid, Vec<u8>>,
    pub data_notifications: u64,
    pub notifications: u64,
    /// Writes refused because the characteristic lacks the write type asked for.
    pub refused_writes: u32,
    /// The longest activity-data notification value sent, in bytes.
    pub longest_notification: usize,
}

/// One simulated device.
pub(crate) struct DeviceCore {
    pub address: String,
    pub address_type: &'static str,
    pub path: String,
    pub rssi: i16,
    pub name: String,
    pub advertised: Vec<Uuid>,
    pub gatt: Vec<GattService>,
    /// The ATT MTU of every link to it.
    pub mtu: u16,
    /// Serialises connect and teardown, so a reconnect never meets half-removed objects.
    pub link_lock: tokio::sync::Mutex<()>,
    pub state: Mutex<DeviceState>,
    pub sim: Mutex<Sim>,
}

impl DeviceCore {
    pub fn new(
        address: String,
        address_type: &'static str,
        rssi: i16,
        in_range: bool,
        mtu: u16,
        peripheral: Box<dyn Peripheral>,
    ) -> DeviceCore {
        let path = format!("{ADAPTER_PATH}/dev_{}", address.replace(':', "_"));
        let mut handle: u16 = 1;
        let mut gatt = Vec::new();
        for service in peripheral.services() {
            let service_handle = handle;
            let service_path = format!("{path}/service{service_handle:04x}");
            handle = handle.saturating_add(1);
            let mut chars = Vec::new();
            for spec in service.characteristics {
                let char_handle = handle;
                // Declaration + value, and a CCCD when it can notify or indicate.
                let cccd = spec.flags.iter().any(|f| {
                    matches!(
                        f,
                        crate::peripheral::Flag::Notify | crate::peripheral::Flag::Indicate
                    )
                });
                handle = handle.saturating_add(if cccd { 3 } else { 2 });
                chars.push(GattChar {
                    path: format!("{service_path}/char{char_handle:04x}"),
                    service_path: service_path.clone(),
                    handle: char_handle,
                    spec,
                });
            }
            gatt.push(GattService {
                uuid: service.uuid,
                path: service_path,
                handle: service_handle,
                chars,
            });
        }
        DeviceCore {
            name: peripheral.name(),
            advertised: peripheral.advertised_services(),
            address,
            address_type,
            path,
            rssi,
            gatt,
            mtu,
            link_lock: tokio::sync::Mutex::new(()),
            state: Mutex::new(DeviceState {
                in_range,
                ..DeviceState::default()
            }),
            sim: Mutex::new(Sim {
                peripheral,
                counters: Counters::default(),
            }),
        }
    }

    pub fn char_path(&self, uuid: Uuid) -> Option<&str> {
        self.gatt
            .iter()
            .flat_map(|s| s.chars.iter())
            .find(|c| c.spec.uuid == uuid)
            .map(|c| c.path.as_str())
    }

    /// UUIDs as BlueZ lists them: advertised ones, plus the GATT services once resolved.
    pub fn uuids(&self) -> Vec<String> {
        let mut out: Vec<String> = self.advertised.iter().map(Uuid::to_string).collect();
        if lock(&self.state).ever_resolved {
            for s in &self.gatt {
                let u = s.uuid.to_string();
                if !out.contains(&u) {
                    out.push(u);
                }
            }
        }
        out
    }

    /// Runs a simulator callback and forwards what it queued to the current connection.
    pub fn with_sim<R>(&self, f: impl FnOnce(&mut dyn Peripheral, &mut Link<'_>) -> R) -> R {
        let connection = lock(&self.state).connection;
        let mut sim = lock(&self.sim);
        let Sim {
            peripheral,
            counters,
        } = &mut *sim;
        let mut link = Link::new(connection, counters).with_mtu(self.mtu);
        let out = f(peripheral.as_mut(), &mut link);
        let actions = link.take_actions();
        drop(sim);
        self.forward(actions);
        out
    }

    fn forward(&self, actions: Vec<Action>) {
        if actions.is_empty() {
            return;
        }
        let st = lock(&self.state);
        if let Some(tx) = &st.sender {
            for a in actions {
                // A closed channel means the link just ended: the actions die with it.
                let _ = tx.send(a);
            }
        }
    }
}

/// Sends a connection's queued actions in order, pacing activity data.
pub(crate) async fn pump(
    core: Arc<Core>,
    dev: Arc<DeviceCore>,
    number: u32,
    mut rx: UnboundedReceiver<Action>,
) {
    let Ok(conn) = core.conn().cloned() else {
        return;
    };
    let pace = core.link.per_notification;
    // Data notifications go out on a fixed schedule, one per `pace`, so a burst keeps the
    // model's rate exactly even though the timer wakes up late by up to a millisecond.
    let mut slot: Option<tokio::time::Instant> = None;
    while let Some(action) = rx.recv().await {
        match action {
            Action::Notify {
                characteristic,
                mut value,
                data,
            } => {
                if data && !pace.is_zero() {
                    let now = tokio::time::Instant::now();
                    let next = match slot {
                        // Still inside a burst: the slot after the previous one.
                        Some(s) if s + pace >= now => s + pace,
                        // Idle since: a full interval from now.
                        _ => now + pace,
                    };
                    slot = Some(next);
                    tokio::time::sleep_until(next).await;
                }
                let Some(path) = dev.char_path(characteristic) else {
                    tracing::warn!(%characteristic, "notification on an unknown characteristic");
                    continue;
                };
                {
                    let mut st = lock(&dev.state);
                    if !st.connected || st.connection != number {
                        break;
                    }
                    if !st.notifying.contains(&characteristic) {
                        // Nobody enabled the CCCD: a real peripheral would not send it.
                        continue;
                    }
                    // A notification carries at most MTU − 3 bytes; the rest never arrives.
                    value.truncate(usize::from(dev.mtu) - 3);
                    if data {
                        st.longest_notification = st.longest_notification.max(value.len());
                    }
                    st.values.insert(characteristic, value.clone());
                    st.notifications += 1;
                    if data {
                        st.data_notifications += 1;
                    }
                }
                let mut props = HashMap::new();
                props.insert("Value", Value::from(value));
                if let Err(e) = emit_changed(&conn, path, CHAR_IFACE, props).await {
                    tracing::warn!("notification not sent: {e}");
                }
            }
            Action::DropLink => {
                let (core, dev) = (core.clone(), dev.clone());
                tokio::spawn(async move { dev.end_link(&core, Some(number)).await });
                break;
            }
        }
    }
}

/// Emits `org.freedesktop.DBus.Properties.PropertiesChanged` for `interface` at `path`.
pub(crate) async fn emit_changed(
    conn: &Connection,
    path: &str,
    interface: &str,
    changed: HashMap<&str, Value<'_>>,
) -> zbus::Result<()> {
    conn.emit_signal(
        None::<&str>,
        path,
        "org.freedesktop.DBus.Properties",
        "PropertiesChanged",
        &(interface, changed, Vec::<String>::new()),
    )
    .await
}
