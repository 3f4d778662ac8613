//! One sync of one paired band: connect, read what is new with the band's protocol, store it
//! in the outbox as it comes, disconnect, then upload.
//!
//! Nothing here is per device: the registry (`stepwise_wearables::device`) starts the
//! device's machine from its stored position, and its events say what to store.
//! - Huami: rounds from the band's position (or `--since` the first time, else seven days
//!   back); each complete round is stored with its position in one transaction.
//! - InfiniTime: sets the watch's clock to local time in the band's zone, reads today's step
//!   count; the steps since the last observation are stored with the new observation.
//! - PAMS: each ended session's minutes are stored; the position moves past the latest
//!   session once all are stored.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use stepwise_wearables::device::{DeviceKind, Event, Start, StartError};
use stepwise_wearables::infinitime;
use stepwise_wearables::records::ACCEPTED_AGE;

use crate::ble::{Bluetooth, Flow, Link};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::outbox::{Outbox, PairedDevice, Stored};
use crate::progress::Progress;
use crate::upload::{UploadError, UploadReport, Uploader};

/// Oldest data worth uploading: the server refuses minutes older than [`ACCEPTED_AGE`] (a
/// day of margin for clocks that disagree).
pub const MAX_UPLOAD_AGE: TimeDelta = TimeDelta::days(ACCEPTED_AGE.num_days() - 1);
/// How long a scan for a paired band lasts at most.
pub const DEFAULT_SCAN_TIME: Duration = Duration::from_secs(10);

/// How a sync runs.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// First minute wanted when the band has no cursor yet (default: seven days back).
    pub since: Option<DateTime<Utc>>,
    /// How long to scan for the band.
    pub scan_time: Duration,
    /// Write the conversation with the band to this transcript (`stepwise band replay`'s
    /// format, keys masked).
    pub trace: Option<std::path::PathBuf>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            since: None,
            scan_time: DEFAULT_SCAN_TIME,
            trace: None,
        }
    }
}

/// What was read from a band.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BandReport {
    /// What the outbox gained.
    pub stored: Stored,
    /// Huami: all data fetched (false when the round limit ran out: sync again).
    pub caught_up: bool,
    /// Fetch rounds (Huami) or sessions (PAMS) stored.
    pub rounds: u32,
}

/// The outcome of one band's sync.
#[derive(Debug)]
pub struct SyncReport {
    /// The band.
    pub device: PairedDevice,
    /// What the Bluetooth part stored (complete rounds count even when it failed later).
    pub band: BandReport,
    /// Why the Bluetooth part failed, if it did.
    pub band_error: Option<Error>,
    /// The upload that followed (always attempted: complete rounds are stored even when the
    /// band's part failed).
    pub upload: Result<UploadReport, UploadError>,
    /// Time taken, Bluetooth and upload.
    pub took: Duration,
}

impl SyncReport {
    /// True when both parts went through (an unreachable server is not a failure: the data
    /// waits in the outbox).
    pub fn succeeded(&self) -> bool {
        self.band_error.is_none()
            && match &self.upload {
                Ok(_) => true,
                Err(err) => err.is_unreachable(),
            }
    }
}

/// The collector: Bluetooth, the outbox, the server client and the clock.
pub struct Collector {
    /// The adapter.
    pub bluetooth: Bluetooth,
    /// The outbox.
    pub outbox: Outbox,
    /// The server client.
    pub uploader: Uploader,
    /// Now.
    pub clock: Clock,
}

impl Collector {
    /// Syncs one band, then uploads (also after a failed Bluetooth part: what was stored goes).
    pub async fn sync_device(
        &self,
        device: &PairedDevice,
        options: &SyncOptions,
        progress: &mut dyn Progress,
    ) -> SyncReport {
        let started = Instant::now();
        let mut band = BandReport::default();
        let outcome = self.read_band(device, options, progress, &mut band).await;
        progress.finish();
        if outcome.is_ok() {
            // Best effort: the sync time is informational.
            if let Err(err) = self.outbox.mark_synced(device.id, self.clock.now()).await {
                tracing::warn!(%err, "noting the sync time");
            }
        }
        let upload = self.upload(device).await;
        SyncReport {
            device: device.clone(),
            band,
            band_error: outcome.err(),
            upload,
            took: started.elapsed(),
        }
    }

    /// Uploads what waits for `device`, first giving up on rows older than the server keeps
    /// (logged as a warning).
    pub async fn upload(&self, device: &PairedDevice) -> Result<UploadReport, UploadError> {
        let cutoff = self.clock.now() - MAX_UPLOAD_AGE;
        let expired = self.outbox.expire(device.id, cutoff).await?;
        if expired.minutes > 0 || expired.episodes > 0 {
            tracing::warn!(
                band = %device.name,
                minutes = expired.minutes,
                episodes = expired.episodes,
                "data older than the server accepts (89 days) was given up"
            );
        }
        self.uploader.upload(&self.outbox, device).await
    }

    /// The Bluetooth part of a sync: what is new on the band goes into the outbox; `report`
    /// counts it as it goes (so a failure keeps the count of what was stored before).
    /// Every kind runs the same way: the registry starts its machine, the link drives it,
    /// and each event is stored as it comes.
    pub async fn read_band(
        &self,
        device: &PairedDevice,
        options: &SyncOptions,
        progress: &mut dyn Progress,
        report: &mut BandReport,
    ) -> Result<()> {
        let kind = device_kind(device)?;
        let start = self.start(device, options);
        let mut machine = kind.start(&start).map_err(|err| match err {
            StartError::KeyNeeded(_) => Error::KeyNeeded(device.name.clone()),
        })?;
        progress.message(&format!("looking for {} ({})", device.name, device.address));
        let found = self
            .bluetooth
            .find(&device.address, kind.as_str(), options.scan_time)
            .await?;
        progress.message(&format!("connecting to {} ({})", found.name, found.address));
        let mut link = self.bluetooth.connect(&found).await?;
        if let Some(path) = &options.trace {
            let trace = crate::trace::Trace::create(path, self.clock).map_err(|e| {
                Error::Trace(format!("cannot write the trace {}: {e}", path.display()))
            })?;
            trace.header(kind.as_str(), device.zone.name(), kind.history_from(&start));
            link.trace_to(std::sync::Arc::new(trace));
        }
        let result = link
            .drive(&mut machine, async |event| {
                self.take(device, event, progress, report).await?;
                Ok(Flow::Continue)
            })
            .await;
        link.disconnect().await;
        result
    }

    /// What a sync of `device` starts from: its key, its stored position, `--since`, now.
    fn start(&self, device: &PairedDevice, options: &SyncOptions) -> Start {
        Start {
            key: device.huami_key.map(|key| key.0),
            position: device.position.clone(),
            since: options.since,
            zone: device.zone,
            now: self.clock.now(),
        }
    }

    /// Stores (or shows) one event of a device's sync.
    pub(crate) async fn take(
        &self,
        device: &PairedDevice,
        event: Event,
        progress: &mut dyn Progress,
        report: &mut BandReport,
    ) -> Result<()> {
        match event {
            Event::Note(note) => progress.message(&note),
            Event::Round { from, samples } => progress.round(from, samples),
            Event::Progress { received, samples } => progress.minutes(received, samples),
            Event::Records { records, position } => {
                report.stored += self
                    .outbox
                    .store_round(device.id, &records, position.as_ref())
                    .await?;
                report.rounds += 1;
            }
            Event::Steps {
                minutes,
                estimated,
                position,
            } => {
                report.stored += self
                    .outbox
                    .add_steps(device.id, &minutes, estimated, &position)
                    .await?;
                report.rounds += 1;
            }
            Event::Finished {
                caught_up,
                position,
            } => {
                // Only once everything before it is stored: an interrupted sync starts over.
                if let Some(position) = position {
                    self.outbox.set_position(device.id, &position).await?;
                }
                report.caught_up = caught_up;
            }
        }
        Ok(())
    }
}

/// The registry's kind for a paired device.
pub(crate) fn device_kind(device: &PairedDevice) -> Result<DeviceKind> {
    DeviceKind::from_kind(&device.kind).ok_or_else(|| Error::UnknownKind(device.kind.clone()))
}

/// Writes local time (in `zone`) to the watch's Current Time characteristic.
pub(crate) async fn set_watch_clock(
    link: &Link,
    zone: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> Result<()> {
    let local = now.with_timezone(&zone).naive_local();
    link.write(
        infinitime::CURRENT_TIME_SERVICE,
        infinitime::CURRENT_TIME,
        &infinitime::encode_current_time(local),
        true,
    )
    .await
}
