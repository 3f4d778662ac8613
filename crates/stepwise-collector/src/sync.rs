//! One sync of one paired band: connect, read what is new with the band's protocol, store it
//! in the outbox round by round, disconnect, then upload.
//!
//! - Huami: `huami::Sync` from the band's cursor (or `--since` the first time, else seven
//!   days back); each complete round is stored with its cursor in one transaction.
//! - InfiniTime: sets the watch's clock to local time in the band's zone, reads today's step
//!   count and turns it into a delta since the last observation (`StepCounter`).
//! - PAMS: `pams::Sync`; each ended session's minutes are stored, and the cursor moves past the
//!   latest session once all are stored.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use stepwise_wearables::device::{DeviceKind, Position};
use stepwise_wearables::huami::{self, Model};
use stepwise_wearables::infinitime::{self, Observation, StepCounter};
use stepwise_wearables::pams;

use crate::ble::{Bluetooth, Flow, Link};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::outbox::{Outbox, PairedDevice, Stored};
use crate::progress::Progress;
use crate::upload::{UploadError, UploadReport, Uploader};

/// How far back the first sync of a band reads when `--since` is not given.
pub const DEFAULT_HISTORY: TimeDelta = TimeDelta::days(7);
/// Oldest data worth uploading: the server refuses minutes older than 90 days (a day of
/// margin for clocks that disagree).
pub const MAX_UPLOAD_AGE: TimeDelta = TimeDelta::days(89);
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

/// An InfiniTime watch's last observation, from its saved position.
pub(crate) fn last_observation(device: &PairedDevice) -> Option<Observation> {
    device
        .position
        .as_ref()
        .and_then(Observation::from_position)
}

/// The device kind a stored kind name stands for.
pub fn kind_from_str(kind: &str) -> Option<DeviceKind> {
    DeviceKind::from_kind(kind)
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
    pub async fn read_band(
        &self,
        device: &PairedDevice,
        options: &SyncOptions,
        progress: &mut dyn Progress,
        report: &mut BandReport,
    ) -> Result<()> {
        let kind =
            kind_from_str(&device.kind).ok_or_else(|| Error::UnknownKind(device.kind.clone()))?;
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
            let since = match kind {
                DeviceKind::InfiniTime => None,
                _ => Some(self.since(device, options)),
            };
            trace.header(kind.as_str(), device.zone.name(), since);
            link.trace_to(std::sync::Arc::new(trace));
        }
        let result = match kind {
            DeviceKind::Huami(model) => {
                self.fetch_huami(&mut link, device, model, options, progress, report)
                    .await
            }
            DeviceKind::InfiniTime => {
                let mut counter = StepCounter::new(device.zone, last_observation(device));
                self.read_infinitime(&link, device, &mut counter, report)
                    .await
            }
            DeviceKind::Pams => {
                self.fetch_pams(&mut link, device, options, progress, report)
                    .await
            }
        };
        link.disconnect().await;
        result
    }

    /// Where a band's history starts: its cursor, else `--since`, else seven days back.
    fn since(&self, device: &PairedDevice, options: &SyncOptions) -> DateTime<Utc> {
        device
            .position
            .as_ref()
            .and_then(Position::instant)
            .or(options.since)
            .unwrap_or_else(|| self.clock.now() - DEFAULT_HISTORY)
    }

    async fn fetch_huami(
        &self,
        link: &mut Link,
        device: &PairedDevice,
        model: Model,
        options: &SyncOptions,
        progress: &mut dyn Progress,
        report: &mut BandReport,
    ) -> Result<()> {
        let key = device
            .huami_key
            .ok_or_else(|| Error::KeyNeeded(device.name.clone()))?;
        let mut config = huami::Config::new(model, key.0, self.since(device, options), device.zone);
        config.clock = Some(self.clock.now());
        let mut machine = huami::Sync::new(config);
        let outbox = &self.outbox;
        link.drive(&mut machine, async |event| {
            match event {
                huami::Event::Authenticated => progress.message("authenticated"),
                huami::Event::RoundStarted { from, samples } => progress.round(from, samples),
                huami::Event::Progress { received, samples } => progress.minutes(received, samples),
                huami::Event::Batch {
                    records,
                    next_since,
                } => {
                    report.stored += outbox
                        .store_round(device.id, &records, Some(&Position::at(next_since)))
                        .await?;
                    report.rounds += 1;
                }
                huami::Event::Finished { caught_up, .. } => report.caught_up = caught_up,
            }
            Ok(Flow::Continue)
        })
        .await
    }

    /// Sets an InfiniTime watch's clock, reads its count and stores the delta.
    async fn read_infinitime(
        &self,
        link: &Link,
        device: &PairedDevice,
        counter: &mut StepCounter,
        report: &mut BandReport,
    ) -> Result<()> {
        set_watch_clock(link, device.zone, self.clock.now()).await?;
        let value = link
            .read(infinitime::MOTION_SERVICE, infinitime::STEP_COUNT)
            .await?;
        let count = infinitime::decode_step_count(&value)?;
        report.stored += self.observe_steps(device, counter, count).await?;
        report.caught_up = true;
        report.rounds += 1;
        Ok(())
    }

    /// Turns one step count into a delta and stores it with the observation.
    pub(crate) async fn observe_steps(
        &self,
        device: &PairedDevice,
        counter: &mut StepCounter,
        count: u32,
    ) -> Result<Stored> {
        let now = self.clock.now();
        let minutes = counter
            .observe(count, now)
            .map(|delta| delta.minutes())
            .unwrap_or_default();
        // Steps spread over several minutes are estimates: the watch saw them somewhere in
        // the span, not in each minute.
        let estimated = minutes.len() > 1;
        let last = counter.last().unwrap_or(Observation { count, at: now });
        Ok(self
            .outbox
            .add_steps(device.id, &minutes, estimated, &last.position())
            .await?)
    }

    async fn fetch_pams(
        &self,
        link: &mut Link,
        device: &PairedDevice,
        options: &SyncOptions,
        progress: &mut dyn Progress,
        report: &mut BandReport,
    ) -> Result<()> {
        let mut machine = pams::Sync::new(self.since(device, options));
        let mut latest: Option<DateTime<Utc>> = None;
        let outbox = &self.outbox;
        link.drive(&mut machine, async |event| {
            match event {
                pams::Event::Sessions(sessions) => progress.message(&format!(
                    "{} session{} on the device",
                    sessions.len(),
                    if sessions.len() == 1 { "" } else { "s" }
                )),
                pams::Event::Session { info, records } => {
                    report.stored += outbox.store_round(device.id, &records, None).await?;
                    report.rounds += 1;
                    latest = latest.max(Some(info.start));
                }
                pams::Event::Finished { .. } => report.caught_up = true,
            }
            Ok(Flow::Continue)
        })
        .await?;
        // Only once every session is stored: an interrupted fetch starts over (upserts).
        if let Some(latest) = latest {
            self.outbox
                .set_position(device.id, &Position::at(latest + TimeDelta::seconds(1)))
                .await?;
        }
        Ok(())
    }
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
