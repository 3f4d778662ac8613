//! `stepwise band import FILE`: a phone's export (Gadgetbridge, Apple Health, Fitbit in Google
//! Takeout; `stepwise-imports` reads them) through the outbox and the upload path a Bluetooth
//! sync uses. No Bluetooth is needed.
//!
//! The first import of a data directory pairs it for imports with a pairing code (`--server
//! URL --code CODE`): the server issues an upload token for an import pairing
//! ([`IMPORTER_KIND`]). Each device the export names becomes a device of the outbox that
//! uploads with that token and names itself as the source, so the server stores it under the
//! patient's band of the same address or a device of its own. A device the export names that
//! is paired here over Bluetooth (the same address) takes the data itself, with its own token.
//!
//! The file is read whole before anything is stored, so a bad file stores nothing. Only what
//! the server accepts is kept ([`keep_accepted`]); the report says what was left out. The
//! outbox leaves alone what it already holds with the same values, so importing the same
//! export again sends nothing.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono_tz::Tz;
use stepwise_imports::window::{LeftOut, Summary, keep_accepted, summarize};
use stepwise_imports::{Export, IMPORTER_KIND, Options, Progress as Read, read_export};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::outbox::{NewPairing, Outbox, PairedDevice, Stored, StoredMinute};
use crate::progress::Progress;
use crate::upload::{UploadError, UploadReport, Uploader};

/// What to import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The export.
    pub file: PathBuf,
    /// Pair this data directory for imports first: the server and the patient's pairing code.
    pub pair: Option<(String, String)>,
    /// The patient's zone (the summary's days; the import pairing keeps it).
    pub zone: Tz,
}

/// What one device of the export gave.
#[derive(Debug)]
pub struct SourceReport {
    /// The outbox's device (a band paired here, or an imported device).
    pub device: PairedDevice,
    /// What the outbox gained.
    pub stored: Stored,
    /// The upload that followed.
    pub upload: std::result::Result<UploadReport, UploadError>,
}

/// What an import did.
#[derive(Debug)]
pub struct ImportReport {
    /// The export, as kept, counted in the zone.
    pub summary: Summary,
    /// What was left out, and why.
    pub left_out: LeftOut,
    /// Per device.
    pub sources: Vec<SourceReport>,
    /// The import pairing used (paired by this run when `--server` and `--code` were given).
    pub importer: PairedDevice,
    /// Time taken.
    pub took: Duration,
}

impl ImportReport {
    /// True when every upload went through (an unreachable server is not a failure: the data
    /// waits in the outbox for the next import or sync).
    pub fn succeeded(&self) -> bool {
        self.sources.iter().all(|s| match &s.upload {
            Ok(_) => true,
            Err(err) => err.is_unreachable(),
        })
    }
}

/// Reads the export, pairs for imports when asked, stores and uploads.
pub async fn import(
    outbox: &Outbox,
    uploader: &Uploader,
    clock: &Clock,
    options: &ImportOptions,
    progress: &mut dyn Progress,
) -> Result<ImportReport> {
    let started = Instant::now();
    // The pairing a run without --server uses must exist before the file is read.
    let existing = importer(outbox).await?;
    if options.pair.is_none() && existing.is_none() {
        return Err(Error::NotPairedForImports);
    }
    progress.message(&format!("reading {}", options.file.display()));
    let export = read(options.file.clone(), progress).await?;
    let (export, left_out) = keep_accepted(export, clock.now());
    let summary = summarize(&export, options.zone);
    let importer = match (&options.pair, existing) {
        (Some((server, code)), existing) => {
            pair(
                outbox,
                uploader,
                clock,
                server,
                code,
                existing,
                options.zone,
                progress,
            )
            .await?
        }
        (None, Some(existing)) => existing,
        (None, None) => return Err(Error::NotPairedForImports),
    };
    let mut sources = Vec::new();
    for data in &export.sources {
        let device = outbox
            .import_source(
                &importer,
                export.format.as_str(),
                &data.source.identity,
                &data.source.name,
                clock.now(),
            )
            .await?;
        let minutes: Vec<StoredMinute> = data
            .minutes
            .iter()
            .map(|m| StoredMinute {
                minute: m.minute,
                steps: m.steps,
                heart_rate: m.heart_rate,
                estimated: m.estimated,
            })
            .collect();
        let stored = outbox
            .store_import(device.id, &minutes, &data.sleep)
            .await?;
        progress.message(&format!("uploading {}", device.name));
        let upload = uploader.upload(outbox, &device).await;
        sources.push(SourceReport {
            device,
            stored,
            upload,
        });
    }
    // What an earlier import left waiting (its server was unreachable) goes now.
    for device in outbox.devices().await? {
        let earlier = device.importer_id == Some(importer.id)
            && !sources.iter().any(|s| s.device.id == device.id);
        if earlier && outbox.waiting(device.id).await? != Default::default() {
            let upload = uploader.upload(outbox, &device).await;
            sources.push(SourceReport {
                device,
                stored: Stored::default(),
                upload,
            });
        }
    }
    progress.finish();
    Ok(ImportReport {
        summary,
        left_out,
        sources,
        importer,
        took: started.elapsed(),
    })
}

/// The import pairing of this data directory, if any.
async fn importer(outbox: &Outbox) -> Result<Option<PairedDevice>> {
    Ok(outbox
        .devices()
        .await?
        .into_iter()
        .find(|d| d.kind == IMPORTER_KIND))
}

/// Reads the export on a blocking thread, its progress on `progress`.
async fn read(file: PathBuf, progress: &mut dyn Progress) -> Result<Export> {
    let (tx, mut rx) = tokio::sync::watch::channel((0u64, 0u64));
    let scratch = std::env::temp_dir().join(format!("stepwise-import-{}", hex::encode(random()?)));
    let reading = tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&scratch).map_err(|source| stepwise_imports::ImportError::Io {
            file: scratch.display().to_string(),
            source,
        })?;
        let options = Options {
            limits: Default::default(),
            scratch: &scratch,
        };
        let result = read_export(&file, &options, &mut |Read { done, total }| {
            let _ = tx.send((done, total));
        });
        let _ = std::fs::remove_dir_all(&scratch);
        result
    });
    tokio::pin!(reading);
    loop {
        tokio::select! {
            done = &mut reading => {
                return match done {
                    Ok(result) => Ok(result?),
                    Err(err) => Err(Error::System(format!("reading the export stopped: {err}"))),
                };
            }
            changed = rx.changed() => {
                if changed.is_ok() {
                    let (done, total) = *rx.borrow_and_update();
                    progress.bytes(done, total);
                }
            }
        }
    }
}

/// Exchanges the pairing code for an import pairing's token and keeps it (replacing an
/// earlier import pairing's token, whose address it reuses).
#[allow(clippy::too_many_arguments)]
async fn pair(
    outbox: &Outbox,
    uploader: &Uploader,
    clock: &Clock,
    server: &str,
    code: &str,
    existing: Option<PairedDevice>,
    zone: Tz,
    progress: &mut dyn Progress,
) -> Result<PairedDevice> {
    let address = match existing {
        Some(existing) => existing.address,
        None => uuid::Builder::from_random_bytes(random()?)
            .into_uuid()
            .to_string(),
    };
    let name = "Imports from a phone export".to_string();
    progress.message("exchanging the pairing code");
    let paired = uploader
        .pair(server, code, IMPORTER_KIND, &address, &name)
        .await?;
    Ok(outbox
        .pair(
            NewPairing {
                address,
                kind: IMPORTER_KIND.to_string(),
                name,
                server_url: server.trim_end_matches('/').to_string(),
                token: paired.token,
                huami_key: None,
                zone,
            },
            clock.now(),
        )
        .await?)
}

/// 16 random bytes.
fn random() -> Result<[u8; 16]> {
    let mut bytes = [0; 16];
    getrandom::fill(&mut bytes).map_err(|e| Error::System(format!("no randomness: {e}")))?;
    Ok(bytes)
}
