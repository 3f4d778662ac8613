//! Bands as the API shows them, and what collectors upload.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stepwise_store as store;
use utoipa::ToSchema;

/// A band paired to a patient.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Device {
    /// The band's id.
    pub id: i64,
    /// The patient whose data it uploads.
    pub patient_id: i64,
    /// The kind of band, e.g. `huami`, `infinitime`, `pams`.
    pub kind: String,
    /// Its Bluetooth address (or platform device id) as the collector reported it.
    pub address: String,
    /// Name shown in pages.
    pub name: String,
    /// When it was paired.
    pub paired_at: DateTime<Utc>,
    /// When its upload token stops working unless the collector renews it first.
    pub token_expires_at: DateTime<Utc>,
    /// When it was removed; its token no longer works.
    pub revoked_at: Option<DateTime<Utc>>,
    /// The last time its collector presented its token.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// Found in an imported export, not paired: it has no upload token.
    pub imported: bool,
}

impl From<store::Device> for Device {
    fn from(device: store::Device) -> Self {
        Device {
            id: device.id,
            patient_id: device.patient_id,
            kind: device.kind,
            address: device.address,
            name: device.name,
            paired_at: device.paired_at,
            token_expires_at: device.token_expires_at,
            revoked_at: device.revoked_at,
            last_seen_at: device.last_seen_at,
            imported: device.imported,
        }
    }
}

/// The band a collector pairs.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDevice {
    /// The kind of band (`stepwise band kinds`).
    pub kind: String,
    /// A Bluetooth address (AA:BB:CC:DD:EE:FF) or a platform's device UUID.
    pub address: String,
    /// Name shown in pages.
    pub name: String,
}

impl From<NewDevice> for store::NewDevice {
    fn from(device: NewDevice) -> Self {
        store::NewDevice {
            kind: device.kind,
            address: device.address,
            name: device.name,
        }
    }
}

/// Steps in one minute.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepSample {
    /// Start of the minute, on a whole minute.
    pub minute: DateTime<Utc>,
    /// Steps in that minute.
    pub steps: i64,
    /// Heart rate, beats per minute, when the band measured it.
    #[serde(default)]
    pub heart_rate: Option<i64>,
    /// The collector spread these steps over the minute (a count change over a longer span)
    /// rather than the band seeing them in it: walk verification leaves such minutes out.
    #[serde(default)]
    pub estimated: bool,
}

impl From<StepSample> for store::StepSample {
    fn from(sample: StepSample) -> Self {
        store::StepSample {
            minute: sample.minute,
            steps: sample.steps,
            heart_rate: sample.heart_rate,
            estimated: sample.estimated,
        }
    }
}

/// The stage of a sleep episode.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SleepStage {
    /// Light sleep.
    Light,
    /// Deep sleep.
    Deep,
    /// REM sleep.
    Rem,
    /// Awake during the night.
    Awake,
    /// Asleep, stage unknown.
    Asleep,
}

impl From<SleepStage> for store::SleepStage {
    fn from(stage: SleepStage) -> Self {
        match stage {
            SleepStage::Light => store::SleepStage::Light,
            SleepStage::Deep => store::SleepStage::Deep,
            SleepStage::Rem => store::SleepStage::Rem,
            SleepStage::Awake => store::SleepStage::Awake,
            SleepStage::Asleep => store::SleepStage::Asleep,
        }
    }
}

/// One sleep episode.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SleepEpisode {
    /// Start.
    pub start: DateTime<Utc>,
    /// End: after the start, at most 24 hours later.
    pub end: DateTime<Utc>,
    /// Stage.
    pub stage: SleepStage,
}

impl From<SleepEpisode> for store::SleepEpisode {
    fn from(episode: SleepEpisode) -> Self {
        store::SleepEpisode {
            start: episode.start,
            end: episode.end,
            stage: episode.stage.into(),
        }
    }
}

/// What an upload stored.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct IngestSummary {
    /// Minute samples written (new or replaced).
    pub steps: u64,
    /// Sleep episodes written (new or replaced).
    pub sleep: u64,
}

impl From<store::IngestSummary> for IngestSummary {
    fn from(summary: store::IngestSummary) -> Self {
        IngestSummary {
            steps: summary.steps,
            sleep: summary.sleep,
        }
    }
}

/// A patient's band data on one local day.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BandDay {
    /// The local date.
    pub date: chrono::NaiveDate,
    /// Steps counted that day (where two bands counted a minute, the higher count).
    pub steps: i64,
    /// Minutes the band reported that day.
    pub minutes_with_data: i64,
    /// Minutes asleep in episodes that ended that day (a night belongs to the morning after).
    pub sleep_min: i64,
}

impl From<store::BandDay> for BandDay {
    fn from(day: store::BandDay) -> Self {
        BandDay {
            date: day.date,
            steps: day.steps,
            minutes_with_data: day.minutes_with_data,
            sleep_min: day.sleep_min,
        }
    }
}
