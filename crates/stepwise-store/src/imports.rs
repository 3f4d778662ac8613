//! Imports of phone exports: the devices they name, and the uploads read in the background.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;

use crate::StoreResult;
use crate::bands::device_from;
use crate::db::SqlStore;
use crate::model::{Device, Id, ImportRecord, ImportState, NewDevice, NewImport};
use crate::values::{Cells, parse_name, secs};

/// The columns of an import.
const IMPORT_COLUMNS: &str = "id, patient_id, uploaded_by, file_name, size_bytes, state, \
     progress, format, summary, error, created_at, updated_at, finished_at";

/// How an import ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportEnd {
    /// Stored: the summary as JSON text.
    Done(String),
    /// Nothing stored: why, in one line.
    Failed(String),
}

/// Imports (a part of [`Store`](crate::Store)).
#[async_trait]
pub trait ImportStore: Send + Sync {
    /// The device of `patient_id` an export's source stores into: the patient's device with
    /// the same address (case-insensitive) that is not removed — a band paired over Bluetooth
    /// too — or else a new imported device whose token is `token_hash` (of a token never
    /// shown), expired at once.
    async fn import_device(
        &self,
        patient_id: Id,
        device: NewDevice,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Device>;

    /// Records an upload about to be read (state `reading`, progress 0).
    async fn create_import(
        &self,
        upload: NewImport,
        now: DateTime<Utc>,
    ) -> StoreResult<ImportRecord>;

    /// Moves an unfinished import to `state` and `progress` (0–100); the format once known.
    async fn set_import_progress(
        &self,
        id: Id,
        state: ImportState,
        progress: i64,
        format: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Finishes an import, done or failed.
    async fn finish_import(&self, id: Id, end: ImportEnd, now: DateTime<Utc>) -> StoreResult<()>;

    /// One import of a patient; `NotFound` if it is another patient's.
    async fn import(&self, patient_id: Id, id: Id) -> StoreResult<ImportRecord>;

    /// A patient's imports, newest first, at most `limit`.
    async fn imports(&self, patient_id: Id, limit: i64) -> StoreResult<Vec<ImportRecord>>;
}

#[async_trait]
impl ImportStore for SqlStore {
    async fn import_device(
        &self,
        patient_id: Id,
        device: NewDevice,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Device> {
        let mut tx = self.begin().await?;
        let existing = sqlx::query(concat!(
            "SELECT ",
            crate::bands::device_columns!(),
            " FROM devices WHERE patient_id = $1 AND upper(address) = upper($2) \
             AND revoked_at IS NULL ORDER BY paired_at DESC, id DESC LIMIT 1"
        ))
        .bind(patient_id)
        .bind(device.address.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let row = match existing {
            Some(row) => row,
            None => {
                sqlx::query(concat!(
                    "INSERT INTO devices (patient_id, kind, address, name, token_hash, \
                     paired_at, token_expires_at, imported) \
                     VALUES ($1, $2, $3, $4, $5, $6, $6, 1) RETURNING ",
                    crate::bands::device_columns!()
                ))
                .bind(patient_id)
                .bind(device.kind.as_str())
                .bind(device.address.as_str())
                .bind(device.name.as_str())
                .bind(token_hash)
                .bind(secs(now))
                .fetch_one(&mut *tx)
                .await?
            }
        };
        let found = device_from(&row)?;
        tx.commit().await?;
        Ok(found)
    }

    async fn create_import(
        &self,
        upload: NewImport,
        now: DateTime<Utc>,
    ) -> StoreResult<ImportRecord> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO imports (patient_id, uploaded_by, file_name, size_bytes, state, \
             progress, created_at, updated_at) VALUES ($1, $2, $3, $4, 'reading', 0, $5, $5) \
             RETURNING {IMPORT_COLUMNS}"
        )))
        .bind(upload.patient_id)
        .bind(upload.uploaded_by)
        .bind(upload.file_name.as_str())
        .bind(upload.size_bytes)
        .bind(secs(now))
        .fetch_one(&self.writer)
        .await?;
        import_from(&row)
    }

    async fn set_import_progress(
        &self,
        id: Id,
        state: ImportState,
        progress: i64,
        format: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE imports SET state = $2, progress = $3, format = COALESCE($4, format), \
             updated_at = $5 WHERE id = $1 AND finished_at IS NULL",
        )
        .bind(id)
        .bind(state.as_str())
        .bind(progress.clamp(0, 100))
        .bind(format)
        .bind(secs(now))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn finish_import(&self, id: Id, end: ImportEnd, now: DateTime<Utc>) -> StoreResult<()> {
        let (state, summary, error) = match &end {
            ImportEnd::Done(summary) => (ImportState::Done, Some(summary.as_str()), None),
            ImportEnd::Failed(error) => (ImportState::Failed, None, Some(error.as_str())),
        };
        sqlx::query(
            "UPDATE imports SET state = $2, progress = 100, summary = $3, error = $4, \
             updated_at = $5, finished_at = $5 WHERE id = $1 AND finished_at IS NULL",
        )
        .bind(id)
        .bind(state.as_str())
        .bind(summary)
        .bind(error)
        .bind(secs(now))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn import(&self, patient_id: Id, id: Id) -> StoreResult<ImportRecord> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {IMPORT_COLUMNS} FROM imports WHERE id = $1 AND patient_id = $2"
        )))
        .bind(id)
        .bind(patient_id)
        .fetch_one(&self.pool)
        .await?;
        import_from(&row)
    }

    async fn imports(&self, patient_id: Id, limit: i64) -> StoreResult<Vec<ImportRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {IMPORT_COLUMNS} FROM imports WHERE patient_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2"
        )))
        .bind(patient_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(import_from).collect()
    }
}

fn import_from(row: &AnyRow) -> StoreResult<ImportRecord> {
    Ok(ImportRecord {
        id: row.int("id")?,
        upload: NewImport {
            patient_id: row.int("patient_id")?,
            uploaded_by: row.int("uploaded_by")?,
            file_name: row.text("file_name")?,
            size_bytes: row.int("size_bytes")?,
        },
        state: parse_name("import state", &row.text("state")?, ImportState::parse)?,
        progress: row.int("progress")?,
        format: row.opt_text("format")?,
        summary: row.opt_text("summary")?,
        error: row.opt_text("error")?,
        created_at: row.instant("created_at")?,
        updated_at: row.instant("updated_at")?,
        finished_at: row.opt_instant("finished_at")?,
    })
}
