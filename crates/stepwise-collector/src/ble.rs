//! The Bluetooth shell over btleplug (BlueZ on Linux): picking the adapter, scanning for
//! supported bands, connecting, and driving a sans-IO protocol machine from
//! `stepwise-wearables` — performing its [`Request`]s, feeding it notifications and read
//! results — with an inactivity timeout and disconnect detection.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::time::Duration;

use btleplug::api::{
    Central, CentralEvent, CentralState, Characteristic, Manager as _, Peripheral as _, ScanFilter,
    ValueNotification, WriteType,
};
use btleplug::platform::{Adapter, Manager, Peripheral, PeripheralId};
use futures::{Stream, StreamExt};
use stepwise_wearables::device::{DeviceKind, identify};
use stepwise_wearables::{Protocol, Request};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::error::{Error, Result};

/// How long connecting may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a band may stay silent while the collector waits for it.
pub const INACTIVITY_TIMEOUT: Duration = Duration::from_secs(20);

type Events = Pin<Box<dyn Stream<Item = CentralEvent> + Send>>;
type Notifications = Pin<Box<dyn Stream<Item = ValueNotification> + Send>>;

/// The Bluetooth adapter the collector uses.
pub struct Bluetooth {
    adapter: Adapter,
    /// One scan at a time (BlueZ merges discovery sessions; the watch runs several bands).
    scanning: Mutex<()>,
    /// Every band connected so far, for [`Bluetooth::disconnect_all`].
    connected: std::sync::Mutex<Vec<Peripheral>>,
}

/// A supported band seen in a scan.
#[derive(Debug, Clone)]
pub struct Found {
    /// What it is.
    pub kind: DeviceKind,
    /// Its advertised name (or its kind when it advertises none).
    pub name: String,
    /// Its address, `AA:BB:CC:DD:EE:FF`.
    pub address: String,
    /// Signal strength in dBm, when known.
    pub rssi: Option<i16>,
    peripheral: Peripheral,
}

/// What the shell does when a machine reports an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep driving.
    Continue,
    /// Stop now (the caller has what it needed, e.g. authentication only).
    Stop,
}

impl Bluetooth {
    /// The first powered adapter (errors: no BlueZ, no adapter, Bluetooth off).
    pub async fn open() -> Result<Bluetooth> {
        let manager = Manager::new()
            .await
            .map_err(|e| Error::NoBluez(e.to_string()))?;
        let adapters = manager
            .adapters()
            .await
            .map_err(|e| Error::NoBluez(e.to_string()))?;
        if adapters.is_empty() {
            return Err(Error::NoAdapter);
        }
        for adapter in adapters {
            if matches!(adapter.adapter_state().await, Ok(CentralState::PoweredOn)) {
                return Ok(Bluetooth {
                    adapter,
                    scanning: Mutex::new(()),
                    connected: std::sync::Mutex::new(Vec::new()),
                });
            }
        }
        Err(Error::BluetoothOff)
    }

    /// Every supported band seen within `duration`, strongest signal first.
    pub async fn scan(&self, duration: Duration) -> Result<Vec<Found>> {
        let mut seen = BTreeMap::new();
        self.discover(duration, |found| {
            seen.insert(found.address.clone(), found);
            false
        })
        .await?;
        let mut found: Vec<Found> = seen.into_values().collect();
        found.sort_by_key(|f| std::cmp::Reverse(f.rssi.unwrap_or(i16::MIN)));
        Ok(found)
    }

    /// The band with `address`, as soon as a scan sees it (`what` names it in the error).
    pub async fn find(&self, address: &str, what: &str, duration: Duration) -> Result<Found> {
        let mut hit = None;
        self.discover(duration, |found| {
            if found.address.eq_ignore_ascii_case(address) {
                hit = Some(found);
                true
            } else {
                false
            }
        })
        .await?;
        hit.ok_or_else(|| Error::NotFound {
            what: what.to_string(),
            address: address.to_uppercase(),
        })
    }

    /// The only supported band nearby (a scan of `duration`).
    pub async fn find_only(&self, duration: Duration) -> Result<Found> {
        let mut found = self.scan(duration).await?;
        match found.len() {
            0 => Err(Error::NoneNearby),
            1 => Ok(found.remove(0)),
            _ => Err(Error::SeveralNearby(
                found
                    .iter()
                    .map(|f| format!("{} {}", f.name, f.address))
                    .collect::<Vec<_>>()
                    .join(", "),
            )),
        }
    }

    /// Scans until `on_found` returns true or `duration` passes.
    async fn discover(
        &self,
        duration: Duration,
        mut on_found: impl FnMut(Found) -> bool,
    ) -> Result<()> {
        let _one_scan = self.scanning.lock().await;
        let mut events = self.adapter.events().await?;
        self.adapter.start_scan(ScanFilter::default()).await?;
        let deadline = tokio::time::Instant::now() + duration;
        let outcome = loop {
            let event = match tokio::time::timeout_at(deadline, events.next()).await {
                Err(_) | Ok(None) => break Ok(()),
                Ok(Some(event)) => event,
            };
            let id = match event {
                CentralEvent::DeviceDiscovered(id) | CentralEvent::DeviceUpdated(id) => id,
                CentralEvent::StateUpdate(CentralState::PoweredOff) => {
                    break Err(Error::BluetoothOff);
                }
                _ => continue,
            };
            if let Some(found) = self.supported(&id).await
                && on_found(found)
            {
                break Ok(());
            }
        };
        // A scan that cannot be stopped (adapter gone) must not hide the outcome.
        if let Err(err) = self.adapter.stop_scan().await {
            tracing::debug!(%err, "stopping the scan");
        }
        outcome
    }

    /// The peripheral as a supported band, if it is one and is in range now.
    async fn supported(&self, id: &PeripheralId) -> Option<Found> {
        let peripheral = self.adapter.peripheral(id).await.ok()?;
        let props = peripheral.properties().await.ok()??;
        // BlueZ lists cached devices too: only those heard in this scan have a signal.
        props.rssi?;
        let kind = identify(props.local_name.as_deref(), &props.services)?;
        Some(Found {
            name: props
                .local_name
                .clone()
                .unwrap_or_else(|| kind.as_str().to_string()),
            kind,
            address: peripheral.address().to_string(),
            rssi: props.rssi,
            peripheral,
        })
    }

    /// Connects to a band found by a scan and discovers its services.
    pub async fn connect(&self, found: &Found) -> Result<Link> {
        let events = self.adapter.events().await?;
        let peripheral = found.peripheral.clone();
        let connecting = async {
            peripheral.connect().await?;
            peripheral.discover_services().await?;
            Ok::<_, Error>(())
        };
        match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
            Ok(result) => result?,
            Err(_) => {
                let _ = peripheral.disconnect().await;
                return Err(Error::ConnectTimeout {
                    name: found.name.clone(),
                    seconds: CONNECT_TIMEOUT.as_secs(),
                });
            }
        }
        let notifications = peripheral.notifications().await?;
        if let Ok(mut connected) = self.connected.lock()
            && !connected.iter().any(|p| p.id() == peripheral.id())
        {
            connected.push(peripheral.clone());
        }
        Ok(Link {
            id: peripheral.id(),
            characteristics: peripheral.characteristics().into_iter().collect(),
            peripheral,
            events,
            notifications,
            inactivity: INACTIVITY_TIMEOUT,
            trace: None,
        })
    }
}

impl Bluetooth {
    /// Disconnects every band this collector connected that is still connected (on stop).
    pub async fn disconnect_all(&self) {
        let peripherals = match self.connected.lock() {
            Ok(connected) => connected.clone(),
            Err(_) => return,
        };
        for peripheral in peripherals {
            if peripheral.is_connected().await.unwrap_or(false)
                && let Err(err) = peripheral.disconnect().await
            {
                tracing::debug!(%err, "disconnecting on stop");
            }
        }
    }
}

/// A connection to a band.
pub struct Link {
    peripheral: Peripheral,
    id: PeripheralId,
    characteristics: Vec<Characteristic>,
    events: Events,
    notifications: Notifications,
    inactivity: Duration,
    trace: Option<std::sync::Arc<crate::trace::Trace>>,
}

impl Link {
    /// Writes every write, read and notification of this link to `trace`.
    pub fn trace_to(&mut self, trace: std::sync::Arc<crate::trace::Trace>) {
        self.trace = Some(trace);
    }

    /// Changes how long the band may stay silent.
    pub fn set_inactivity_timeout(&mut self, timeout: Duration) {
        self.inactivity = timeout;
    }

    fn characteristic(&self, service: Uuid, characteristic: Uuid) -> Result<&Characteristic> {
        self.characteristics
            .iter()
            .find(|c| c.service_uuid == service && c.uuid == characteristic)
            .ok_or(Error::MissingCharacteristic {
                service,
                characteristic,
            })
    }

    /// Checks that the band offers a characteristic (a clear error otherwise).
    pub fn require(&self, service: Uuid, characteristic: Uuid) -> Result<()> {
        self.characteristic(service, characteristic).map(|_| ())
    }

    /// Enables notifications (or indications).
    pub async fn subscribe(&self, service: Uuid, characteristic: Uuid) -> Result<()> {
        let c = self.characteristic(service, characteristic)?;
        self.guard(self.peripheral.subscribe(c)).await
    }

    /// Writes a value.
    pub async fn write(
        &self,
        service: Uuid,
        characteristic: Uuid,
        value: &[u8],
        with_response: bool,
    ) -> Result<()> {
        let c = self.characteristic(service, characteristic)?;
        if let Some(trace) = &self.trace {
            trace.write(characteristic, value, with_response);
        }
        let kind = if with_response {
            WriteType::WithResponse
        } else {
            WriteType::WithoutResponse
        };
        self.guard(self.peripheral.write(c, value, kind)).await
    }

    /// Reads a value.
    pub async fn read(&self, service: Uuid, characteristic: Uuid) -> Result<Vec<u8>> {
        let c = self.characteristic(service, characteristic)?;
        let value = self.guard(self.peripheral.read(c)).await?;
        if let Some(trace) = &self.trace {
            trace.band("read", characteristic, &value);
        }
        Ok(value)
    }

    /// A GATT operation, bounded by the inactivity timeout.
    async fn guard<T>(
        &self,
        op: impl Future<Output = std::result::Result<T, btleplug::Error>>,
    ) -> Result<T> {
        match tokio::time::timeout(self.inactivity, op).await {
            Ok(result) => result.map_err(|e| match e {
                btleplug::Error::NotConnected => {
                    Error::Disconnected("the link to the band is gone".into())
                }
                other => Error::Ble(other.to_string()),
            }),
            Err(_) => Err(Error::Silent {
                seconds: self.inactivity.as_secs(),
                doing: "waiting for a GATT operation".into(),
            }),
        }
    }

    /// Performs one request; a read's value is returned.
    pub async fn perform(&self, request: &Request) -> Result<Option<Vec<u8>>> {
        match request {
            Request::Subscribe {
                service,
                characteristic,
            } => self
                .subscribe(*service, *characteristic)
                .await
                .map(|()| None),
            Request::Write {
                service,
                characteristic,
                value,
                with_response,
            } => self
                .write(*service, *characteristic, value, *with_response)
                .await
                .map(|()| None),
            Request::Read {
                service,
                characteristic,
            } => self.read(*service, *characteristic).await.map(Some),
        }
    }

    /// The next notification; a disconnect or `timeout` of silence is an error (`doing` says
    /// what was awaited).
    pub async fn next_notification(
        &mut self,
        timeout: Option<Duration>,
        doing: &str,
    ) -> Result<ValueNotification> {
        let timeout = timeout.unwrap_or(self.inactivity);
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            tokio::select! {
                biased;
                n = self.notifications.next() => {
                    let n = n.ok_or_else(|| Error::Disconnected("the notification stream ended".into()))?;
                    if let Some(trace) = &self.trace {
                        trace.band("notify", n.uuid, &n.value);
                    }
                    return Ok(n);
                }
                e = self.events.next() => match e {
                    Some(CentralEvent::DeviceDisconnected(id)) if id == self.id => {
                        return Err(Error::Disconnected("the link was lost".into()));
                    }
                    Some(CentralEvent::StateUpdate(CentralState::PoweredOff)) => {
                        return Err(Error::Disconnected("Bluetooth was turned off".into()));
                    }
                    Some(_) => {}
                    None => return Err(Error::Disconnected("BlueZ stopped sending events".into())),
                },
                () = tokio::time::sleep_until(deadline) => {
                    return Err(Error::Silent { seconds: timeout.as_secs(), doing: doing.to_string() });
                }
            }
        }
    }

    /// Drives `machine` to its end (or until `on_event` says stop): requests are performed in
    /// order (the machines subscribe before they trigger), events go to `on_event`.
    pub async fn drive<M: Protocol>(
        &mut self,
        machine: &mut M,
        mut on_event: impl AsyncFnMut(M::Event) -> Result<Flow>,
    ) -> Result<()>
    where
        M::Error: Into<Error>,
    {
        loop {
            while let Some(request) = machine.poll_request() {
                if let Some(value) = self.perform(&request).await?
                    && let Request::Read { characteristic, .. } = request
                {
                    machine
                        .handle_read(characteristic, &value)
                        .map_err(Into::into)?;
                }
            }
            while let Some(event) = machine.poll_event() {
                if on_event(event).await? == Flow::Stop {
                    return Ok(());
                }
            }
            if machine.is_finished() {
                return Ok(());
            }
            let n = self
                .next_notification(None, "waiting for the band's next notification")
                .await?;
            machine
                .handle_notification(n.uuid, &n.value)
                .map_err(Into::into)?;
        }
    }

    /// Disconnects (errors are logged: the band may be gone already).
    pub async fn disconnect(self) {
        if let Err(err) = self.peripheral.disconnect().await {
            tracing::debug!(%err, "disconnecting");
        }
    }
}
