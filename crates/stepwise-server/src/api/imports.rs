//! Imported exports as the API shows them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use stepwise_store::{ImportRecord, ImportState};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};

use super::fields::names_schema;

pub use crate::imports::ImportSummary;

/// The name of an import's state.
pub struct ImportStateName;

impl PartialSchema for ImportStateName {
    fn schema() -> RefOr<Schema> {
        names_schema(ImportState::ALL.iter().map(|s| s.as_str()))
    }
}
impl ToSchema for ImportStateName {}

/// An uploaded export and how its reading went.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Import {
    /// The import's id.
    pub id: i64,
    /// The patient whose data it is.
    pub patient_id: i64,
    /// Who uploaded it.
    pub uploaded_by: i64,
    /// The file's name as uploaded.
    pub file_name: String,
    /// Its size in bytes.
    pub size_bytes: i64,
    /// `reading`, then `storing`, then `done` or `failed`.
    #[schema(schema_with = ImportStateName::schema)]
    pub state: String,
    /// How far it has come, 0–100.
    pub progress: i64,
    /// Which export it was, once known: `gadgetbridge`, `apple-health`, `fitbit-takeout`.
    pub format: Option<String>,
    /// What was stored, once done.
    pub summary: Option<ImportSummary>,
    /// Why nothing was stored, when failed: one line for the person who uploaded it.
    pub error: Option<String>,
    /// When it was uploaded.
    pub created_at: DateTime<Utc>,
    /// When it was done or failed.
    pub finished_at: Option<DateTime<Utc>>,
}

impl Import {
    /// The record as shown at `now`: an unfinished import that stopped moving
    /// ([`crate::imports::STALLED_AFTER`]) shows as failed.
    pub fn at(record: ImportRecord, now: DateTime<Utc>) -> Import {
        let stalled = crate::imports::stalled(&record, now);
        let (state, error) = if stalled {
            (
                ImportState::Failed,
                Some(
                    "reading stopped before the end (the server restarted): upload the file again"
                        .to_string(),
                ),
            )
        } else {
            (record.state, record.error)
        };
        Import {
            id: record.id,
            patient_id: record.upload.patient_id,
            uploaded_by: record.upload.uploaded_by,
            file_name: record.upload.file_name,
            size_bytes: record.upload.size_bytes,
            state: state.as_str().to_string(),
            progress: record.progress,
            format: record.format,
            summary: record
                .summary
                .and_then(|json| serde_json::from_str(&json).ok()),
            error,
            created_at: record.created_at,
            finished_at: record.finished_at,
        }
    }
}
