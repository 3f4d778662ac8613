//! The D-Bus face of the fake: `org.bluez.Adapter1`, `Device1`, `GattService1` and
//! `GattCharacteristic1`, with the properties and methods bluez-async (btleplug) uses.
//! Each object is a thin handle; the behaviour lives in `core`. The device's link life
//! (appear, connect, disconnect, forget) is here too: it is what exports and removes them.

use std::collections::HashMap;
use std::sync::Arc;

use uuid::Uuid;
use zbus::interface;
use zbus::zvariant::{ObjectPath, OwnedObjectPath, OwnedValue};

use tokio::sync::mpsc::unbounded_channel;
use zbus::zvariant::Value;

use super::core::{
    ADAPTER_IFACE, ADAPTER_PATH, CHAR_IFACE, Core, DEVICE_IFACE, DeviceCore, GattChar,
    emit_changed, lock, pump,
};
use crate::error::BluezError;
use crate::peripheral::{AttError, Flag, Link};

/// BlueZ's own modalias (Linux Foundation / BlueZ 5.x); bluez-async requires it on adapters.
const ADAPTER_MODALIAS: &str = "usb:v1D6Bp0246d0552";

fn object_path(path: &str) -> OwnedObjectPath {
    // Paths are built from validated addresses and fixed prefixes; fall back to "/" rather
    // than panic if one ever is not valid.
    ObjectPath::try_from(path)
        .map(OwnedObjectPath::from)
        .unwrap_or_else(|_| OwnedObjectPath::from(ObjectPath::from_static_str_unchecked("/")))
}

/// `org.bluez.Adapter1` at `/org/bluez/hci0`.
pub(crate) struct AdapterIface {
    pub core: Arc<Core>,
}

#[interface(name = "org.bluez.Adapter1", introspection_docs = false)]
impl AdapterIface {
    async fn start_discovery(&self) -> Result<(), BluezError> {
        let generation = {
            let mut a = lock(&self.core.adapter);
            if !a.powered {
                return Err(BluezError::NotReady("Resource Not Ready".into()));
            }
            if a.discovering {
                return Ok(());
            }
            a.discovering = true;
            a.discovery_generation += 1;
            a.discovery_generation
        };
        let conn = self.core.conn()?.clone();
        let mut props = HashMap::new();
        props.insert("Discovering", true.into());
        emit_changed(&conn, ADAPTER_PATH, ADAPTER_IFACE, props).await?;
        advertise_all(&self.core).await?;
        // Keep "advertising" while discovering, as real devices do (about once a second).
        let core = self.core.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
                {
                    let a = lock(&core.adapter);
                    if !a.discovering || a.discovery_generation != generation {
                        break;
                    }
                }
                if advertise_all(&core).await.is_err() {
                    break;
                }
            }
        });
        Ok(())
    }

    async fn stop_discovery(&self) -> Result<(), BluezError> {
        {
            let mut a = lock(&self.core.adapter);
            if !a.discovering {
                return Err(BluezError::Failed("No discovery started".into()));
            }
            a.discovering = false;
        }
        let mut props = HashMap::new();
        props.insert("Discovering", false.into());
        emit_changed(self.core.conn()?, ADAPTER_PATH, ADAPTER_IFACE, props).await?;
        Ok(())
    }

    async fn set_discovery_filter(
        &self,
        filter: HashMap<String, OwnedValue>,
    ) -> Result<(), BluezError> {
        let mut uuids = Vec::new();
        if let Some(v) = filter.get("UUIDs") {
            let list: Vec<String> = v
                .try_clone()
                .ok()
                .and_then(|v| Vec::<String>::try_from(v).ok())
                .ok_or_else(|| BluezError::InvalidArguments("UUIDs must be as".into()))?;
            for s in list {
                let u = Uuid::parse_str(&s)
                    .map_err(|_| BluezError::InvalidArguments(format!("bad UUID {s}")))?;
                uuids.push(u);
            }
        }
        lock(&self.core.adapter).filter_uuids = uuids;
        Ok(())
    }

    async fn get_discovery_filters(&self) -> Vec<String> {
        [
            "UUIDs",
            "RSSI",
            "Pathloss",
            "Transport",
            "DuplicateData",
            "Discoverable",
            "Pattern",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    async fn remove_device(&self, device: ObjectPath<'_>) -> Result<(), BluezError> {
        let dev = self
            .core
            .devices
            .iter()
            .find(|d| d.path == device.as_str())
            .ok_or_else(|| BluezError::DoesNotExist("Does Not Exist".into()))?;
        if !lock(&dev.state).exported {
            return Err(BluezError::DoesNotExist("Does Not Exist".into()));
        }
        dev.forget(&self.core).await
    }

    #[zbus(property)]
    fn address(&self) -> String {
        self.core.adapter_address.clone()
    }
    #[zbus(property)]
    fn address_type(&self) -> String {
        "public".into()
    }
    #[zbus(property)]
    fn name(&self) -> String {
        "stepwise-fake".into()
    }
    #[zbus(property)]
    fn alias(&self) -> String {
        "stepwise-fake".into()
    }
    #[zbus(property)]
    fn class(&self) -> u32 {
        0
    }
    #[zbus(property)]
    fn modalias(&self) -> String {
        ADAPTER_MODALIAS.into()
    }
    #[zbus(property)]
    fn powered(&self) -> bool {
        self.core.powered()
    }
    #[zbus(property)]
    async fn set_powered(&mut self, on: bool) -> zbus::fdo::Result<()> {
        let mut a = lock(&self.core.adapter);
        if on && a.blocked {
            return Err(zbus::fdo::Error::Failed(
                "Failed to set mode: Blocked through rfkill (0x12)".into(),
            ));
        }
        a.powered = on;
        if !on {
            a.discovering = false;
        }
        Ok(())
    }
    #[zbus(property)]
    fn power_state(&self) -> String {
        let a = lock(&self.core.adapter);
        match (a.powered, a.blocked) {
            (true, _) => "on".into(),
            (false, true) => "off-blocked".into(),
            (false, false) => "off".into(),
        }
    }
    #[zbus(property)]
    fn discoverable(&self) -> bool {
        false
    }
    #[zbus(property)]
    fn discoverable_timeout(&self) -> u32 {
        180
    }
    #[zbus(property)]
    fn pairable(&self) -> bool {
        true
    }
    #[zbus(property)]
    fn pairable_timeout(&self) -> u32 {
        0
    }
    #[zbus(property)]
    fn discovering(&self) -> bool {
        lock(&self.core.adapter).discovering
    }
    #[zbus(property, name = "UUIDs")]
    fn uuids(&self) -> Vec<String> {
        vec![
            "00001800-0000-1000-8000-00805f9b34fb".into(),
            "00001801-0000-1000-8000-00805f9b34fb".into(),
        ]
    }
}

/// Exports (or re-announces) every in-range device that matches the discovery filter.
async fn advertise_all(core: &Arc<Core>) -> Result<(), BluezError> {
    let filter = lock(&core.adapter).filter_uuids.clone();
    for dev in &core.devices {
        let matches = filter.is_empty() || dev.advertised.iter().any(|u| filter.contains(u));
        if matches {
            dev.advertise(core).await?;
        }
    }
    Ok(())
}

/// `org.bluez.Device1` at `/org/bluez/hci0/dev_XX_…`.
pub(crate) struct DeviceIface {
    pub core: Arc<Core>,
    pub dev: Arc<DeviceCore>,
}

#[interface(name = "org.bluez.Device1", introspection_docs = false)]
impl DeviceIface {
    async fn connect(&self) -> Result<(), BluezError> {
        self.dev.connect(&self.core).await
    }

    async fn disconnect(&self) -> Result<(), BluezError> {
        self.dev.end_link(&self.core, None).await;
        Ok(())
    }

    async fn pair(&self) -> Result<(), BluezError> {
        self.dev.connect(&self.core).await?;
        lock(&self.dev.state).paired = true;
        let mut props = HashMap::new();
        props.insert("Paired", true.into());
        props.insert("Bonded", true.into());
        emit_changed(
            self.core.conn()?,
            &self.dev.path,
            "org.bluez.Device1",
            props,
        )
        .await?;
        Ok(())
    }

    async fn cancel_pairing(&self) -> Result<(), BluezError> {
        Err(BluezError::DoesNotExist("No pairing in progress".into()))
    }

    async fn connect_profile(&self, _uuid: String) -> Result<(), BluezError> {
        Err(BluezError::NotSupported("Not Supported".into()))
    }

    async fn disconnect_profile(&self, _uuid: String) -> Result<(), BluezError> {
        Err(BluezError::NotSupported("Not Supported".into()))
    }

    #[zbus(property)]
    fn address(&self) -> String {
        self.dev.address.clone()
    }
    #[zbus(property)]
    fn address_type(&self) -> String {
        self.dev.address_type.into()
    }
    #[zbus(property)]
    fn name(&self) -> String {
        self.dev.name.clone()
    }
    #[zbus(property)]
    fn alias(&self) -> String {
        self.dev.name.clone()
    }
    #[zbus(property)]
    fn paired(&self) -> bool {
        lock(&self.dev.state).paired
    }
    #[zbus(property)]
    fn bonded(&self) -> bool {
        lock(&self.dev.state).paired
    }
    #[zbus(property)]
    fn trusted(&self) -> bool {
        lock(&self.dev.state).trusted
    }
    #[zbus(property)]
    async fn set_trusted(&mut self, trusted: bool) {
        lock(&self.dev.state).trusted = trusted;
    }
    #[zbus(property)]
    fn blocked(&self) -> bool {
        false
    }
    #[zbus(property)]
    fn legacy_pairing(&self) -> bool {
        false
    }
    #[zbus(property, name = "RSSI")]
    fn rssi(&self) -> i16 {
        self.dev.rssi
    }
    #[zbus(property)]
    fn connected(&self) -> bool {
        lock(&self.dev.state).connected
    }
    #[zbus(property, name = "UUIDs")]
    fn uuids(&self) -> Vec<String> {
        self.dev.uuids()
    }
    #[zbus(property)]
    fn adapter(&self) -> OwnedObjectPath {
        object_path(ADAPTER_PATH)
    }
    #[zbus(property)]
    fn services_resolved(&self) -> bool {
        lock(&self.dev.state).services_resolved
    }
    #[zbus(property)]
    fn wake_allowed(&self) -> bool {
        false
    }
}

/// `org.bluez.GattService1` at `…/serviceXXXX`.
pub(crate) struct ServiceIface {
    pub uuid: Uuid,
    pub device_path: String,
    pub handle: u16,
}

#[interface(name = "org.bluez.GattService1", introspection_docs = false)]
impl ServiceIface {
    #[zbus(property, name = "UUID")]
    fn uuid(&self) -> String {
        self.uuid.to_string()
    }
    #[zbus(property)]
    fn primary(&self) -> bool {
        true
    }
    #[zbus(property)]
    fn device(&self) -> OwnedObjectPath {
        object_path(&self.device_path)
    }
    #[zbus(property)]
    fn includes(&self) -> Vec<OwnedObjectPath> {
        Vec::new()
    }
    #[zbus(property)]
    fn handle(&self) -> u16 {
        self.handle
    }
}

/// `org.bluez.GattCharacteristic1` at `…/serviceXXXX/charYYYY`.
pub(crate) struct CharIface {
    pub core: Arc<Core>,
    pub dev: Arc<DeviceCore>,
    pub ch: GattChar,
}

impl CharIface {
    fn check_connected(&self) -> Result<(), BluezError> {
        if lock(&self.dev.state).connected {
            Ok(())
        } else {
            Err(BluezError::NotConnected("Not Connected".into()))
        }
    }

    async fn set_notifying(&self, on: bool) -> Result<(), BluezError> {
        let mut props = HashMap::new();
        props.insert("Notifying", on.into());
        emit_changed(self.core.conn()?, &self.ch.path, CHAR_IFACE, props).await?;
        Ok(())
    }
}

fn att_failed(e: AttError) -> BluezError {
    BluezError::Failed(format!("Operation failed with ATT error: 0x{:02x}", e.0))
}

#[interface(name = "org.bluez.GattCharacteristic1", introspection_docs = false)]
impl CharIface {
    async fn read_value(
        &self,
        _options: HashMap<String, OwnedValue>,
    ) -> Result<Vec<u8>, BluezError> {
        self.check_connected()?;
        if !self.ch.spec.has(Flag::Read) {
            return Err(BluezError::NotPermitted("Read not permitted".into()));
        }
        let uuid = self.ch.spec.uuid;
        let value = self
            .dev
            .with_sim(|p, link: &mut Link<'_>| p.on_read(uuid, link))
            .map_err(att_failed)?;
        lock(&self.dev.state).values.insert(uuid, value.clone());
        Ok(value)
    }

    async fn write_value(
        &self,
        value: Vec<u8>,
        options: HashMap<String, OwnedValue>,
    ) -> Result<(), BluezError> {
        self.check_connected()?;
        // As BlueZ decides: "request" needs the write property, "command" the
        // write-without-response property; without a type, whichever the characteristic has.
        let kind = options
            .get("type")
            .and_then(|v| <&str>::try_from(v).ok().map(str::to_owned));
        let allowed = match kind.as_deref() {
            Some("request") | Some("reliable") => self.ch.spec.has(Flag::Write),
            Some("command") => self.ch.spec.has(Flag::WriteWithoutResponse),
            Some(_) => return Err(BluezError::InvalidArguments("Invalid arguments".into())),
            None => self.ch.spec.has(Flag::Write) || self.ch.spec.has(Flag::WriteWithoutResponse),
        };
        if !allowed {
            lock(&self.dev.state).refused_writes += 1;
            return Err(BluezError::NotPermitted("Write not permitted".into()));
        }
        // A write command is one packet: at most MTU − 3 bytes.
        if kind.as_deref() == Some("command") && value.len() > usize::from(self.dev.mtu) - 3 {
            return Err(BluezError::InvalidArguments(
                "Invalid Attribute Value Length".into(),
            ));
        }
        let uuid = self.ch.spec.uuid;
        self.dev
            .with_sim(|p, link: &mut Link<'_>| p.on_write(uuid, &value, link))
            .map_err(att_failed)
    }

    async fn start_notify(&self) -> Result<(), BluezError> {
        self.check_connected()?;
        if !self.ch.spec.has(Flag::Notify) && !self.ch.spec.has(Flag::Indicate) {
            return Err(BluezError::NotSupported(
                "Operation is not supported".into(),
            ));
        }
        let uuid = self.ch.spec.uuid;
        let newly = lock(&self.dev.state).notifying.insert(uuid);
        if newly {
            self.set_notifying(true).await?;
            self.dev.with_sim(|p, link| p.on_subscribe(uuid, link));
        }
        Ok(())
    }

    async fn stop_notify(&self) -> Result<(), BluezError> {
        let uuid = self.ch.spec.uuid;
        let was = lock(&self.dev.state).notifying.remove(&uuid);
        if was {
            self.set_notifying(false).await?;
            self.dev.with_sim(|p, _| p.on_unsubscribe(uuid));
        }
        Ok(())
    }

    async fn confirm(&self) -> Result<(), BluezError> {
        Ok(())
    }

    #[zbus(property, name = "UUID")]
    fn uuid(&self) -> String {
        self.ch.spec.uuid.to_string()
    }
    #[zbus(property)]
    fn service(&self) -> OwnedObjectPath {
        object_path(&self.ch.service_path)
    }
    #[zbus(property)]
    fn value(&self) -> Vec<u8> {
        lock(&self.dev.state)
            .values
            .get(&self.ch.spec.uuid)
            .cloned()
            .unwrap_or_default()
    }
    #[zbus(property)]
    fn notifying(&self) -> bool {
        lock(&self.dev.state).notifying.contains(&self.ch.spec.uuid)
    }
    #[zbus(property)]
    fn flags(&self) -> Vec<String> {
        self.ch
            .spec
            .flags
            .iter()
            .map(|f| f.as_str().to_string())
            .collect()
    }
    #[zbus(property)]
    fn handle(&self) -> u16 {
        self.ch.handle
    }
    #[zbus(property, name = "MTU")]
    fn mtu(&self) -> u16 {
        self.dev.mtu
    }
}

/// The link's life as D-Bus objects: a device appears to a scan, connects (its GATT table
/// exported), disconnects (the table removed) and is forgotten.
impl DeviceCore {
    /// Makes the device visible to a scan (exports Device1), or re-announces its RSSI.
    pub async fn advertise(self: &Arc<Self>, core: &Arc<Core>) -> Result<(), BluezError> {
        let conn = core.conn()?.clone();
        let export = {
            let mut st = lock(&self.state);
            if !st.in_range {
                return Ok(());
            }
            let export = !st.exported;
            st.exported = true;
            export
        };
        if export {
            let iface = DeviceIface {
                core: core.clone(),
                dev: self.clone(),
            };
            conn.object_server().at(self.path.as_str(), iface).await?;
        } else {
            let mut props = HashMap::new();
            props.insert("RSSI", Value::from(self.rssi));
            emit_changed(&conn, &self.path, DEVICE_IFACE, props).await?;
        }
        Ok(())
    }

    /// BlueZ's `Device1.Connect`: waits the link model's delay, then connects, exports the
    /// GATT table and reports `ServicesResolved`.
    pub async fn connect(self: &Arc<Self>, core: &Arc<Core>) -> Result<(), BluezError> {
        let _guard = self.link_lock.lock().await;
        if !core.powered() {
            return Err(BluezError::NotReady("Resource Not Ready".into()));
        }
        {
            let st = lock(&self.state);
            if st.connected {
                return Ok(());
            }
            if !st.in_range {
                return Err(BluezError::Failed("Page Timeout".into()));
            }
        }
        if !core.link.connect.is_zero() {
            tokio::time::sleep(core.link.connect).await;
        }
        let conn = core.conn()?.clone();
        let (tx, rx) = unbounded_channel();
        let number = {
            let mut st = lock(&self.state);
            st.connected = true;
            st.connection += 1;
            st.sender = Some(tx);
            st.notifying.clear();
            st.values.clear();
            st.connection
        };
        tokio::spawn(pump(core.clone(), self.clone(), number, rx));
        let mut props = HashMap::new();
        props.insert("Connected", Value::from(true));
        emit_changed(&conn, &self.path, DEVICE_IFACE, props).await?;

        let server = conn.object_server();
        for service in &self.gatt {
            server
                .at(
                    service.path.as_str(),
                    ServiceIface {
                        uuid: service.uuid,
                        device_path: self.path.clone(),
                        handle: service.handle,
                    },
                )
                .await?;
            for ch in &service.chars {
                server
                    .at(
                        ch.path.as_str(),
                        CharIface {
                            core: core.clone(),
                            dev: self.clone(),
                            ch: ch.clone(),
                        },
                    )
                    .await?;
            }
        }
        self.with_sim(|p, link| p.on_connect(link));
        {
            let mut st = lock(&self.state);
            st.services_resolved = true;
            st.ever_resolved = true;
        }
        let mut props = HashMap::new();
        props.insert("UUIDs", Value::from(self.uuids()));
        props.insert("ServicesResolved", Value::from(true));
        emit_changed(&conn, &self.path, DEVICE_IFACE, props).await?;
        tracing::debug!(address = %self.address, connection = number, "connected");
        Ok(())
    }

    /// Ends the link (central's `Disconnect`, an injected loss, or the simulator dropping
    /// it). With `only`, ends it only if that connection is still the current one.
    pub async fn end_link(self: &Arc<Self>, core: &Arc<Core>, only: Option<u32>) {
        let _guard = self.link_lock.lock().await;
        {
            let mut st = lock(&self.state);
            if !st.connected || only.is_some_and(|n| n != st.connection) {
                return;
            }
            st.connected = false;
            st.services_resolved = false;
            st.sender = None;
            st.notifying.clear();
        }
        lock(&self.sim).peripheral.on_disconnect();
        let Ok(conn) = core.conn().cloned() else {
            return;
        };
        let mut props = HashMap::new();
        props.insert("ServicesResolved", Value::from(false));
        let _ = emit_changed(&conn, &self.path, DEVICE_IFACE, props).await;
        let mut props = HashMap::new();
        props.insert("Connected", Value::from(false));
        let _ = emit_changed(&conn, &self.path, DEVICE_IFACE, props).await;
        let server = conn.object_server();
        for service in &self.gatt {
            for ch in &service.chars {
                let _ = server.remove::<CharIface, _>(ch.path.as_str()).await;
            }
            let _ = server
                .remove::<ServiceIface, _>(service.path.as_str())
                .await;
        }
        tracing::debug!(address = %self.address, "disconnected");
    }

    /// Removes the device object (Adapter1.RemoveDevice); a later scan finds it again.
    pub async fn forget(self: &Arc<Self>, core: &Arc<Core>) -> Result<(), BluezError> {
        self.end_link(core, None).await;
        let exported = std::mem::replace(&mut lock(&self.state).exported, false);
        if exported {
            core.conn()?
                .object_server()
                .remove::<DeviceIface, _>(self.path.as_str())
                .await?;
        }
        Ok(())
    }
}
