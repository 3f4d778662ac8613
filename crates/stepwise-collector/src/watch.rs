//! `stepwise band watch`: keeps every paired band synced until stopped.
//!
//! Huami bands and PAMS devices are synced every `every` (connect, fetch, disconnect,
//! upload). An InfiniTime watch stays connected with its step count subscribed: each change
//! becomes a delta in the outbox at once, uploaded at most every `upload_every`. A failed
//! session (out of range, link lost) is retried with a growing pause (5 s doubling to 5
//! minutes). Stopping (Ctrl-C) disconnects what is connected.

use std::time::{Duration, Instant};

use stepwise_wearables::device::Event;
use stepwise_wearables::infinitime;
use tokio::sync::watch;

use crate::ble::Flow;
use crate::error::{Error, Result};
use crate::outbox::PairedDevice;
use crate::progress::Quiet;
use crate::sync::{BandReport, Collector, SyncOptions};
use crate::upload::{UploadError, thousands};

/// The first pause after a failed session.
const FIRST_BACKOFF: Duration = Duration::from_secs(5);
/// The longest pause.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// How the watch runs.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Pause between syncs of a Huami band or PAMS device.
    pub every: Duration,
    /// Most time live InfiniTime steps wait before they are uploaded.
    pub upload_every: Duration,
    /// How long a scan for a band lasts.
    pub scan_time: Duration,
}

/// Something the watch reports, for the command to print.
#[derive(Debug)]
pub enum WatchEvent<'a> {
    /// A band's sync (or a live InfiniTime stretch) stored and uploaded this much.
    Synced {
        /// The band.
        device: &'a PairedDevice,
        /// What the outbox gained.
        stored: crate::outbox::Stored,
        /// What went to the server (or why not).
        upload: &'a std::result::Result<crate::upload::UploadReport, UploadError>,
    },
    /// A session failed; the next try is after `retry_in`.
    Failed {
        /// The band.
        device: &'a PairedDevice,
        /// Why.
        error: &'a Error,
        /// Pause before the next try.
        retry_in: Duration,
    },
}

impl Collector {
    /// Watches `devices` until `stop` turns true.
    pub async fn watch(
        &self,
        devices: &[PairedDevice],
        options: &WatchOptions,
        stop: watch::Receiver<bool>,
        report: &(dyn Fn(WatchEvent<'_>) + Sync),
    ) {
        let loops = devices
            .iter()
            .map(|device| self.watch_device(device, options, stop.clone(), report));
        futures::future::join_all(loops).await;
        self.bluetooth.disconnect_all().await;
    }

    async fn watch_device(
        &self,
        device: &PairedDevice,
        options: &WatchOptions,
        mut stop: watch::Receiver<bool>,
        report: &(dyn Fn(WatchEvent<'_>) + Sync),
    ) {
        let mut backoff = FIRST_BACKOFF;
        let mut device = device.clone();
        while !*stop.borrow() {
            // The cursor and InfiniTime observation move with every session.
            if let Ok(Some(fresh)) = self.outbox.device(&device.address).await {
                device = fresh;
            }
            let session = self.watch_session(&device, options, stop.clone(), report);
            let outcome = tokio::select! {
                outcome = session => outcome,
                _ = stop.changed() => break,
            };
            let pause = match outcome {
                Ok(()) => {
                    backoff = FIRST_BACKOFF;
                    options.every
                }
                Err(error) => {
                    report(WatchEvent::Failed {
                        device: &device,
                        error: &error,
                        retry_in: backoff,
                    });
                    let pause = backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    pause
                }
            };
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                _ = stop.changed() => break,
            }
        }
    }

    /// One session: a sync, or (InfiniTime) a live connection until the link drops.
    async fn watch_session(
        &self,
        device: &PairedDevice,
        options: &WatchOptions,
        stop: watch::Receiver<bool>,
        report: &(dyn Fn(WatchEvent<'_>) + Sync),
    ) -> Result<()> {
        let sync_options = SyncOptions {
            since: None,
            scan_time: options.scan_time,
            trace: None,
        };
        if crate::sync::device_kind(device)?.stays_connected() {
            return self.live_infinitime(device, options, stop, report).await;
        }
        let sync = self.sync_device(device, &sync_options, &mut Quiet).await;
        report(WatchEvent::Synced {
            device,
            stored: sync.band.stored,
            upload: &sync.upload,
        });
        match sync.band_error {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }

    /// Stays connected to an InfiniTime watch: every step count change is stored at once.
    async fn live_infinitime(
        &self,
        device: &PairedDevice,
        options: &WatchOptions,
        mut stop: watch::Receiver<bool>,
        report: &(dyn Fn(WatchEvent<'_>) + Sync),
    ) -> Result<()> {
        let found = self
            .bluetooth
            .find(&device.address, "infinitime", options.scan_time)
            .await?;
        let mut link = self.bluetooth.connect(&found).await?;
        let mut machine = infinitime::Sync::new(
            device.zone,
            device
                .position
                .as_ref()
                .and_then(infinitime::Observation::from_position),
            self.clock.now(),
        );
        let live = async {
            // The same first reading as a sync (clock, count), then every notified count.
            // Subscribed first, so no change between the read and the subscription is lost.
            link.subscribe(infinitime::MOTION_SERVICE, infinitime::STEP_COUNT)
                .await?;
            let mut band = BandReport::default();
            link.drive(&mut machine, async |event: infinitime::Event| {
                self.take(device, event.into(), &mut Quiet, &mut band)
                    .await?;
                Ok(Flow::Continue)
            })
            .await?;
            let mut stored = band.stored;
            let mut last_upload: Option<Instant> = None;
            loop {
                if last_upload.is_none_or(|t| t.elapsed() >= options.upload_every) {
                    let upload = self.upload(device).await;
                    let quiet = stored.minutes == 0
                        && upload
                            .as_ref()
                            .is_ok_and(|u| u.minutes == 0 && u.episodes == 0);
                    if !quiet {
                        report(WatchEvent::Synced {
                            device,
                            stored,
                            upload: &upload,
                        });
                    }
                    if let Err(err) = upload
                        && !err.is_unreachable()
                    {
                        return Err(Error::Upload(err));
                    }
                    stored = Default::default();
                    last_upload = Some(Instant::now());
                }
                let waited = tokio::select! {
                    n = link.next_notification(Some(options.upload_every), "waiting for steps") => n,
                    _ = stop.changed() => return Ok(()),
                };
                let count = match waited {
                    Ok(n) if n.uuid == infinitime::STEP_COUNT => {
                        infinitime::decode_step_count(&n.value)?
                    }
                    Ok(_) => continue,
                    // A quiet watch is normal: read the count (which also proves the link).
                    Err(Error::Silent { .. }) => infinitime::decode_step_count(
                        &link
                            .read(infinitime::MOTION_SERVICE, infinitime::STEP_COUNT)
                            .await?,
                    )?,
                    Err(other) => return Err(other),
                };
                let event: Event = machine.observe(count, self.clock.now()).into();
                let mut band = BandReport::default();
                self.take(device, event, &mut Quiet, &mut band).await?;
                stored += band.stored;
            }
        };
        let outcome: Result<()> = live.await;
        link.disconnect().await;
        // Whatever arrived before a link loss goes now.
        if outcome.is_err() {
            let upload = self.upload(device).await;
            report(WatchEvent::Synced {
                device,
                stored: Default::default(),
                upload: &upload,
            });
        }
        outcome
    }
}

/// "340 steps in 12 minutes stored".
pub fn describe_stored(stored: &crate::outbox::Stored) -> String {
    let mut text = format!(
        "{} steps in {} minutes stored",
        thousands(stored.steps),
        thousands(stored.minutes)
    );
    if stored.episodes > 0 {
        text.push_str(&format!(
            ", {} sleep episodes ({:.1} h asleep)",
            stored.episodes,
            stored.sleep_minutes as f64 / 60.0
        ));
    }
    text
}
