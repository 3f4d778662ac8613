//! `stepwise band pair`: find the band, prove we can talk to it (a Huami band authenticates
//! with its key), and only then exchange the patient's one-time code for an upload token and
//! store the pairing. A wrong key stores nothing and leaves the code unused.

use std::time::Duration;

use chrono_tz::Tz;
use stepwise_wearables::device::DeviceKind;
use stepwise_wearables::huami::{self, Model};
use stepwise_wearables::pams;

use crate::ble::{Flow, Link};
use crate::error::{Error, Result};
use crate::outbox::{NewPairing, PairedDevice};
use crate::progress::Progress;
use crate::secret::HuamiKey;
use crate::sync::{Collector, set_watch_clock};

/// What to pair.
#[derive(Debug, Clone)]
pub struct PairOptions {
    /// The Stepwise server.
    pub server_url: String,
    /// The patient's one-time pairing code.
    pub code: String,
    /// A Huami band's auth key (required for Mi Band 4 and later; for a Mi Band 2/3 or Bip
    /// without one, a new key is generated and written to the band).
    pub key: Option<[u8; 16]>,
    /// The band's address (else: the only supported band nearby).
    pub address: Option<String>,
    /// The zone the band's clock is set to.
    pub zone: Tz,
    /// How long to scan.
    pub scan_time: Duration,
}

/// A stored pairing.
#[derive(Debug, Clone)]
pub struct Pairing {
    /// The band as stored.
    pub device: PairedDevice,
    /// The server's id for it.
    pub server_device_id: Option<i64>,
    /// True when a new key was written to the band (Mi Band 2/3, Bip).
    pub key_written: bool,
}

impl Collector {
    /// Pairs a band: scan, connect, check, exchange the code, store.
    pub async fn pair(
        &self,
        options: &PairOptions,
        progress: &mut dyn Progress,
    ) -> Result<Pairing> {
        let found = match &options.address {
            Some(address) => {
                self.bluetooth
                    .find(address, "supported band", options.scan_time)
                    .await?
            }
            None => self.bluetooth.find_only(options.scan_time).await?,
        };
        let (key, set_key) = match (found.kind, options.key) {
            (DeviceKind::Huami(_), Some(key)) => (Some(key), false),
            (DeviceKind::Huami(Model::MiBand2 | Model::MiBand3 | Model::AmazfitBip), None) => {
                (Some(new_key()?), true)
            }
            (DeviceKind::Huami(_), None) => return Err(Error::KeyNeeded(found.name.clone())),
            (_, _) => (None, false),
        };
        progress.message(&format!(
            "connecting to {} ({}, {})",
            found.name,
            found.kind.as_str(),
            found.address
        ));
        let mut link = self.bluetooth.connect(&found).await?;
        let checked = match (found.kind, key) {
            (DeviceKind::Huami(model), Some(key)) => {
                self.authenticate(&mut link, model, key, set_key, options.zone)
                    .await
            }
            (DeviceKind::InfiniTime, _) => {
                set_watch_clock(&link, options.zone, self.clock.now()).await
            }
            (DeviceKind::Pams, _) => link.require(pams::SERVICE, pams::CONTROL_POINT),
            (DeviceKind::Huami(_), None) => Err(Error::KeyNeeded(found.name.clone())),
        };
        link.disconnect().await;
        checked?;
        progress.message("the band answered; exchanging the pairing code");
        let server = self
            .uploader
            .pair(
                &options.server_url,
                &options.code,
                found.kind.as_str(),
                &found.address,
                &found.name,
            )
            .await?;
        let device = self
            .outbox
            .pair(
                NewPairing {
                    address: found.address.clone(),
                    kind: found.kind.as_str().to_string(),
                    name: found.name.clone(),
                    server_url: options.server_url.trim_end_matches('/').to_string(),
                    token: server.token,
                    huami_key: key.map(HuamiKey),
                    zone: options.zone,
                },
                self.clock.now(),
            )
            .await?;
        Ok(Pairing {
            device,
            server_device_id: server.device_id,
            key_written: set_key,
        })
    }

    /// Runs a Huami sync only as far as authentication.
    async fn authenticate(
        &self,
        link: &mut Link,
        model: Model,
        key: [u8; 16],
        set_key: bool,
        zone: Tz,
    ) -> Result<()> {
        let mut config = huami::Config::new(model, key, self.clock.now(), zone);
        config.set_key = set_key;
        let mut machine = huami::Sync::new(config);
        let mut authenticated = false;
        link.drive(&mut machine, async |event| {
            Ok(match event {
                huami::Event::Authenticated => {
                    authenticated = true;
                    Flow::Stop
                }
                _ => Flow::Continue,
            })
        })
        .await?;
        if authenticated {
            Ok(())
        } else {
            Err(Error::Huami(huami::Error::Unexpected {
                what: "the band finished without authenticating".into(),
            }))
        }
    }
}

/// A fresh random 16-byte key.
fn new_key() -> Result<[u8; 16]> {
    let mut key = [0; 16];
    getrandom::fill(&mut key).map_err(|e| Error::Ble(format!("no randomness for a key: {e}")))?;
    Ok(key)
}
