//! Exports uploaded on the "Import from your phone" page (docs/imports.md): written to disk as
//! they arrive, then read in the background — progress in the `imports` table, so every
//! instance can show it — and stored per source device, as a collector's upload would be.
//!
//! Reading happens before anything is stored, so a bad file stores nothing. Only the window
//! the server accepts is kept ([`stepwise_imports::window`]); the summary says what was left
//! out. Storing the same export again changes nothing (minutes by device and minute, nights
//! by device and start), and a source that is a paired band (the same address) stores into
//! that band's device, so an import and a Bluetooth sync of one band never double a day.

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::body::Body;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use stepwise_care::calendar::days_touched;
use stepwise_imports::window::{LeftOut, Summary, keep_accepted, summarize};
use stepwise_imports::{Export, Options, Progress, read_export};
use stepwise_store::{
    Id, ImportEnd, ImportRecord, ImportState, NewDevice, SampleBatch, SleepEpisode, SleepStage,
    StepSample,
};
use tokio::io::AsyncWriteExt;
use utoipa::ToSchema;

use crate::auth::{hash_token, new_token};
use crate::error::{ApiError, ApiResult};
use crate::handlers::collector::{MAX_SLEEP_EPISODES, MAX_STEP_SAMPLES};
use crate::state::AppState;

/// What a finished import stored: the export counted in the patient's zone, and what was
/// left out. Kept as the import's summary (JSON) and answered as it is.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImportSummary {
    /// The export.
    #[serde(flatten)]
    pub summary: Summary,
    /// What was left out, and why.
    pub left_out: LeftOut,
}

/// How often reading progress is written to the database at most.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// How many exports one instance reads at once; more wait their turn (shown as reading at
/// 0%), so a burst of uploads cannot take every core from the API.
pub const READ_AT_ONCE: usize = 2;

static READING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(READ_AT_ONCE);

/// Reading is this share of the progress bar; storing the rest.
const READING_SHARE: u64 = 80;

/// Writes an upload's body to a new file in the imports directory, refusing it past
/// `max_bytes` (the file is removed then). Returns the file and its size.
pub async fn receive(state: &AppState, body: Body) -> ApiResult<(PathBuf, u64)> {
    let config = &state.config.imports;
    tokio::fs::create_dir_all(&config.dir)
        .await
        .map_err(|err| ApiError::Internal(format!("creating {}: {err}", config.dir.display())))?;
    let path = config.dir.join(format!("upload-{}", new_token()?));
    let written = write_body(&path, body, config.max_upload_bytes).await;
    match written {
        Ok(0) => {
            remove(&path).await;
            Err(ApiError::invalid(
                "body",
                "the upload is empty",
                "the export file as the request body",
            ))
        }
        Ok(size) => Ok((path, size)),
        Err(err) => {
            remove(&path).await;
            Err(err)
        }
    }
}

async fn write_body(path: &Path, body: Body, max_bytes: u64) -> ApiResult<u64> {
    let io = |err: std::io::Error| ApiError::Internal(format!("writing an upload: {err}"));
    let mut file = tokio::fs::File::create(path).await.map_err(io)?;
    let mut size: u64 = 0;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|err| ApiError::BadRequest(format!("the upload broke off: {err}")))?;
        size += chunk.len() as u64;
        if size > max_bytes {
            return Err(ApiError::TooLarge(
                usize::try_from(max_bytes).unwrap_or(usize::MAX),
            ));
        }
        file.write_all(&chunk).await.map_err(io)?;
    }
    file.flush().await.map_err(io)?;
    Ok(size)
}

async fn remove(path: &Path) {
    if let Err(err) = tokio::fs::remove_file(path).await
        && err.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), error = %err, "an uploaded export could not be removed");
    }
}

/// Reads and stores the upload at `path` in the background; the file is removed at the end.
pub fn start(state: AppState, import: ImportRecord, path: PathBuf, zone: Tz) {
    tokio::spawn(async move {
        let id = import.id;
        let end = match run(&state, &import, &path, zone).await {
            Ok(stored) => match serde_json::to_string(&stored) {
                Ok(json) => ImportEnd::Done(json),
                Err(err) => ImportEnd::Failed(format!("the summary could not be written: {err}")),
            },
            Err(message) => ImportEnd::Failed(message),
        };
        if let ImportEnd::Failed(message) = &end {
            tracing::info!(import = id, reason = %message, "an import failed");
        }
        if let Err(err) = state.store.finish_import(id, end, state.clock.now()).await {
            tracing::error!(import = id, error = %err, "an import's end could not be recorded");
        }
        remove(&path).await;
    });
}

/// Reads, keeps the window, stores; the error is the line the patient sees.
async fn run(
    state: &AppState,
    import: &ImportRecord,
    path: &Path,
    zone: Tz,
) -> Result<ImportSummary, String> {
    let export = read(state, import.id, path).await?;
    let now = state.clock.now();
    let (export, left_out) = keep_accepted(export, now);
    let summary = summarize(&export, zone);
    if export.sources.is_empty() {
        return Err(nothing_left(&left_out));
    }
    state
        .store
        .set_import_progress(
            import.id,
            ImportState::Storing,
            READING_SHARE as i64,
            Some(export.format.as_str()),
            now,
        )
        .await
        .map_err(|err| internal("recording progress", &err))?;
    store(state, import, &export, zone).await?;
    Ok(ImportSummary { summary, left_out })
}

fn internal(what: &str, err: &dyn std::fmt::Display) -> String {
    tracing::error!(error = %err, "import: {what}");
    format!("the server failed while {what}; nothing of it is lost on the phone: try again later")
}

/// The message for an export with nothing in the window.
fn nothing_left(left: &LeftOut) -> String {
    if left.minutes_too_old + left.episodes > 0 {
        "the export holds nothing from the last 89 days: the server keeps only recent data, so \
         export again after wearing the band"
            .into()
    } else {
        "the export holds no steps and no sleep".into()
    }
}

/// Reads the export on a blocking thread, writing its progress as it goes.
async fn read(state: &AppState, id: Id, path: &Path) -> Result<Export, String> {
    let _turn = READING
        .acquire()
        .await
        .map_err(|err| internal("waiting to read", &err))?;
    let scratch = tempdir_for(path).map_err(|err| internal("preparing to read", &err))?;
    let (progress_tx, mut progress_rx) = tokio::sync::watch::channel(0u64);
    let file = path.to_path_buf();
    let dir = scratch.clone();
    let reading = tokio::task::spawn_blocking(move || {
        let options = Options {
            limits: Default::default(),
            scratch: &dir,
        };
        let mut last = 0;
        read_export(&file, &options, &mut |Progress { done, total }| {
            let percent = done.saturating_mul(READING_SHARE) / total.max(1);
            if percent != last {
                last = percent;
                let _ = progress_tx.send(percent.min(READING_SHARE));
            }
        })
    });
    tokio::pin!(reading);
    let result = loop {
        tokio::select! {
            done = &mut reading => break done,
            _ = tokio::time::sleep(PROGRESS_EVERY) => {
                if progress_rx.has_changed().unwrap_or(false) {
                    let percent = *progress_rx.borrow_and_update();
                    let _ = state.store.set_import_progress(
                        id, ImportState::Reading, percent as i64, None, state.clock.now(),
                    ).await;
                }
            }
        }
    };
    let _ = tokio::fs::remove_dir_all(&scratch).await;
    match result {
        Ok(Ok(export)) => Ok(export),
        Ok(Err(err)) => Err(err.to_string()),
        Err(err) => Err(internal("reading the export", &err)),
    }
}

/// A private directory next to the upload for what reading unpacks.
fn tempdir_for(path: &Path) -> std::io::Result<PathBuf> {
    let dir = path.with_extension("unpacked");
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Stores every source's minutes and nights, in uploads of the collector's size.
async fn store(
    state: &AppState,
    import: &ImportRecord,
    export: &Export,
    zone: Tz,
) -> Result<(), String> {
    let patient_id = import.upload.patient_id;
    let total: usize = export
        .sources
        .iter()
        .map(|s| s.minutes.len() + s.sleep.len())
        .sum();
    let mut done = 0usize;
    for source in &export.sources {
        let never_shown = new_token().map_err(|err| internal("preparing a device", &err))?;
        let device = state
            .store
            .import_device(
                patient_id,
                NewDevice {
                    kind: export.format.as_str().to_string(),
                    address: source.source.identity.clone(),
                    name: source.source.name.clone(),
                },
                &hash_token(&never_shown),
                state.clock.now(),
            )
            .await
            .map_err(|err| internal("adding a device", &err))?;
        for batch in batches(source) {
            let days = days_touched(zone, &batch);
            state
                .store
                .ingest_samples(device.id, &batch, &days)
                .await
                .map_err(|err| internal("storing minutes", &err))?;
            done += batch.steps.len() + batch.sleep.len();
            let percent =
                READING_SHARE + (done as u64 * (100 - READING_SHARE)) / total.max(1) as u64;
            let _ = state
                .store
                .set_import_progress(
                    import.id,
                    ImportState::Storing,
                    percent.min(99) as i64,
                    None,
                    state.clock.now(),
                )
                .await;
        }
    }
    Ok(())
}

/// A source's data in batches the size the collector uploads.
fn batches(source: &stepwise_imports::SourceData) -> Vec<SampleBatch> {
    let mut out: Vec<SampleBatch> = source
        .minutes
        .chunks(MAX_STEP_SAMPLES)
        .map(|chunk| SampleBatch {
            steps: chunk.iter().map(step_sample).collect(),
            sleep: Vec::new(),
        })
        .collect();
    for (i, chunk) in source.sleep.chunks(MAX_SLEEP_EPISODES).enumerate() {
        let sleep = chunk.iter().map(|e| sleep_episode(*e)).collect();
        match out.get_mut(i) {
            Some(batch) => batch.sleep = sleep,
            None => out.push(SampleBatch {
                steps: Vec::new(),
                sleep,
            }),
        }
    }
    out
}

/// An imported minute as the store keeps it.
pub fn step_sample(m: &stepwise_imports::Minute) -> StepSample {
    StepSample {
        minute: m.minute,
        steps: i64::from(m.steps),
        heart_rate: m.heart_rate.map(i64::from),
        estimated: m.estimated,
    }
}

/// An episode of the records as the store keeps it.
pub fn sleep_episode(e: stepwise_wearables::records::SleepEpisode) -> SleepEpisode {
    use stepwise_wearables::records::SleepStage as Band;
    SleepEpisode {
        start: e.start,
        end: e.end,
        stage: match e.stage {
            Band::Light => SleepStage::Light,
            Band::Deep => SleepStage::Deep,
            Band::Rem => SleepStage::Rem,
            Band::Awake => SleepStage::Awake,
            Band::Asleep => SleepStage::Asleep,
        },
    }
}

/// An import that has not moved for this long stopped (its instance restarted): it is shown
/// as failed.
pub const STALLED_AFTER: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// True for an unfinished import whose progress stopped.
pub fn stalled(import: &ImportRecord, now: DateTime<Utc>) -> bool {
    !import.state.is_finished() && now - import.updated_at > STALLED_AFTER
}
