//! The audit log: who did what to which patient's record, and when.

use async_trait::async_trait;
use sqlx::any::AnyRow;

use crate::StoreResult;
use crate::db::SqlStore;
use crate::model::{AuditEntry, AuditOutcome, Id};
use crate::values::{Cells, corrupt, secs};

/// The audit log (a part of [`Store`](crate::Store)).
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends entries to the audit log, all or none.
    async fn audit(&self, entries: &[AuditEntry]) -> StoreResult<()>;

    /// Audit entries about one patient, oldest first.
    async fn audit_log(&self, patient_id: Id) -> StoreResult<Vec<AuditEntry>>;
}

#[async_trait]
impl AuditStore for SqlStore {
    async fn audit(&self, entries: &[AuditEntry]) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        for entry in entries {
            sqlx::query(
                "INSERT INTO audit_log (at, actor_id, action, patient_id, clinic_id, \
                 outcome) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(secs(entry.at))
            .bind(entry.actor_id)
            .bind(entry.action.as_str())
            .bind(entry.patient_id)
            .bind(entry.clinic_id)
            .bind(entry.outcome.map(AuditOutcome::as_str))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn audit_log(&self, patient_id: Id) -> StoreResult<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT at, actor_id, action, patient_id, clinic_id, outcome \
             FROM audit_log WHERE patient_id = $1 ORDER BY at, id",
        )
        .bind(patient_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(audit_from).collect()
    }
}

fn audit_from(row: &AnyRow) -> StoreResult<AuditEntry> {
    Ok(AuditEntry {
        at: row.instant("at")?,
        actor_id: row.int("actor_id")?,
        action: row.text("action")?,
        patient_id: row.opt_int("patient_id")?,
        clinic_id: row.int("clinic_id")?,
        outcome: match row.opt_text("outcome")? {
            None => None,
            Some(text) => Some(
                AuditOutcome::parse(&text).ok_or_else(|| corrupt(format!("outcome: {text:?}")))?,
            ),
        },
    })
}
