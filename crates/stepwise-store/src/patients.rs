//! Patients, their walking plan and its history, and their rules versions.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use stepwise_engine::Rules;

use crate::StoreResult;
use crate::db::{SqlStore, Tx};
use crate::model::{
    Id, Patient, PlanChange, PlanChangeSource, PlanOverride, RulesVersion, WalkingPlan,
};
use crate::values::{Cells, parse_day, parse_name, secs, to_json};

/// Patients joined with their user row (`patients p JOIN users u`).
macro_rules! patient_columns {
    () => {
        "p.user_id AS id, u.clinic_id, p.therapist_id, u.display_name, p.timezone, \
         p.interval_s, p.bouts, p.rest_s, p.sessions_per_week, p.frozen, p.created_at, \
         p.next_visit"
    };
}

/// The columns of a plan history entry.
macro_rules! plan_change_columns {
    () => {
        "id, at, from_interval_s, to_interval_s, source, reason, review_id, by_user"
    };
}

/// The columns of a rules version.
macro_rules! rules_version_columns {
    () => {
        "version, rules, created_at, created_by"
    };
}

/// Patients, plans and rules (a part of [`Store`](crate::Store)).
#[async_trait]
pub trait PatientStore: Send + Sync {
    /// A patient by user id.
    async fn patient(&self, patient_id: Id) -> StoreResult<Patient>;

    /// Every patient of a clinic.
    async fn clinic_patients(&self, clinic_id: Id) -> StoreResult<Vec<Patient>>;

    /// Every patient (for the weekly review job).
    async fn all_patients(&self) -> StoreResult<Vec<Patient>>;

    /// The plan's history, oldest first.
    async fn plan_history(&self, patient_id: Id) -> StoreResult<Vec<PlanChange>>;

    /// A therapist's change of the plan, recorded in its history.
    async fn change_plan(
        &self,
        patient_id: Id,
        change: PlanOverride,
        now: DateTime<Utc>,
    ) -> StoreResult<PlanChange>;

    /// The rules in force (highest version).
    async fn current_rules(&self, patient_id: Id) -> StoreResult<RulesVersion>;

    /// Every rules version, oldest first.
    async fn rules_history(&self, patient_id: Id) -> StoreResult<Vec<RulesVersion>>;

    /// Saves a new rules version (validated by the caller) and returns it.
    async fn save_rules(
        &self,
        patient_id: Id,
        rules: &Rules,
        by_user: Id,
        now: DateTime<Utc>,
    ) -> StoreResult<RulesVersion>;
}

#[async_trait]
impl PatientStore for SqlStore {
    async fn patient(&self, patient_id: Id) -> StoreResult<Patient> {
        let row = sqlx::query(concat!(
            "SELECT ",
            patient_columns!(),
            " FROM patients p JOIN users u ON u.id = p.user_id WHERE p.user_id = $1"
        ))
        .bind(patient_id)
        .fetch_one(&self.pool)
        .await?;
        patient_from(&row)
    }

    async fn clinic_patients(&self, clinic_id: Id) -> StoreResult<Vec<Patient>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            patient_columns!(),
            " FROM patients p JOIN users u ON u.id = p.user_id \
             WHERE u.clinic_id = $1 ORDER BY u.display_name, p.user_id"
        ))
        .bind(clinic_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(patient_from).collect()
    }

    async fn all_patients(&self) -> StoreResult<Vec<Patient>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            patient_columns!(),
            " FROM patients p JOIN users u ON u.id = p.user_id ORDER BY p.user_id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(patient_from).collect()
    }

    async fn plan_history(&self, patient_id: Id) -> StoreResult<Vec<PlanChange>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            plan_change_columns!(),
            " FROM plan_changes WHERE patient_id = $1 ORDER BY at, id"
        ))
        .bind(patient_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(plan_change_from).collect()
    }

    async fn change_plan(
        &self,
        patient_id: Id,
        change: PlanOverride,
        now: DateTime<Utc>,
    ) -> StoreResult<PlanChange> {
        let plan = change.plan;
        let mut tx = self.begin().await?;
        let from_interval_s = lock_patient(&mut tx, patient_id).await?;
        sqlx::query(
            "UPDATE patients SET interval_s = $1, bouts = $2, rest_s = $3, \
             sessions_per_week = $4 WHERE user_id = $5",
        )
        .bind(plan.interval_s)
        .bind(plan.bouts)
        .bind(plan.rest_s)
        .bind(plan.sessions_per_week)
        .bind(patient_id)
        .execute(&mut *tx)
        .await?;
        let entry = insert_plan_change(
            &mut tx,
            patient_id,
            now,
            (from_interval_s, plan.interval_s),
            change.source,
            &change.reason,
            (None, Some(change.by_user)),
        )
        .await?;
        tx.commit().await?;
        Ok(entry)
    }

    async fn current_rules(&self, patient_id: Id) -> StoreResult<RulesVersion> {
        let row = sqlx::query(concat!(
            "SELECT ",
            rules_version_columns!(),
            " FROM rules_versions WHERE patient_id = $1 \
             ORDER BY version DESC LIMIT 1"
        ))
        .bind(patient_id)
        .fetch_one(&self.pool)
        .await?;
        rules_version_from(&row)
    }

    async fn rules_history(&self, patient_id: Id) -> StoreResult<Vec<RulesVersion>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            rules_version_columns!(),
            " FROM rules_versions WHERE patient_id = $1 ORDER BY version"
        ))
        .bind(patient_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rules_version_from).collect()
    }

    async fn save_rules(
        &self,
        patient_id: Id,
        rules: &Rules,
        by_user: Id,
        now: DateTime<Utc>,
    ) -> StoreResult<RulesVersion> {
        let mut tx = self.begin().await?;
        // Serialises concurrent saves for the patient, so versions never collide.
        lock_patient(&mut tx, patient_id).await?;
        let row = sqlx::query(concat!(
            "INSERT INTO rules_versions (patient_id, version, rules, created_at, \
             created_by) \
             SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4 \
             FROM rules_versions WHERE patient_id = $1 RETURNING ",
            rules_version_columns!()
        ))
        .bind(patient_id)
        .bind(to_json(rules)?)
        .bind(secs(now))
        .bind(by_user)
        .fetch_one(&mut *tx)
        .await?;
        let saved = rules_version_from(&row)?;
        tx.commit().await?;
        Ok(saved)
    }
}

/// Locks the patient's row for the rest of the transaction and returns the
/// interval in force (`NotFound` for an unknown patient).
pub(crate) async fn lock_patient(tx: &mut Tx, patient_id: Id) -> StoreResult<i64> {
    let row = sqlx::query(
        "UPDATE patients SET interval_s = interval_s WHERE user_id = $1 \
         RETURNING interval_s",
    )
    .bind(patient_id)
    .fetch_one(&mut **tx)
    .await?;
    row.int("interval_s")
}

pub(crate) async fn insert_plan_change(
    tx: &mut Tx,
    patient_id: Id,
    at: DateTime<Utc>,
    (from_interval_s, to_interval_s): (i64, i64),
    source: PlanChangeSource,
    reason: &str,
    (review_id, by_user): (Option<Id>, Option<Id>),
) -> StoreResult<PlanChange> {
    let row = sqlx::query(concat!(
        "INSERT INTO plan_changes (patient_id, at, from_interval_s, \
         to_interval_s, source, reason, review_id, by_user) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ",
        plan_change_columns!()
    ))
    .bind(patient_id)
    .bind(secs(at))
    .bind(from_interval_s)
    .bind(to_interval_s)
    .bind(source.as_str())
    .bind(reason)
    .bind(review_id)
    .bind(by_user)
    .fetch_one(&mut **tx)
    .await?;
    plan_change_from(&row)
}

fn patient_from(row: &AnyRow) -> StoreResult<Patient> {
    Ok(Patient {
        id: row.int("id")?,
        clinic_id: row.int("clinic_id")?,
        therapist_id: row.int("therapist_id")?,
        display_name: row.text("display_name")?,
        timezone: row.text("timezone")?,
        plan: WalkingPlan {
            interval_s: row.int("interval_s")?,
            bouts: row.int("bouts")?,
            rest_s: row.int("rest_s")?,
            sessions_per_week: row.int("sessions_per_week")?,
        },
        frozen: row.flag("frozen")?,
        created_at: row.instant("created_at")?,
        next_visit: row
            .opt_text("next_visit")?
            .as_deref()
            .map(parse_day)
            .transpose()?,
    })
}

fn plan_change_from(row: &AnyRow) -> StoreResult<PlanChange> {
    Ok(PlanChange {
        id: row.int("id")?,
        at: row.instant("at")?,
        from_interval_s: row.int("from_interval_s")?,
        to_interval_s: row.int("to_interval_s")?,
        source: parse_name(
            "plan change source",
            &row.text("source")?,
            PlanChangeSource::parse,
        )?,
        reason: row.text("reason")?,
        review_id: row.opt_int("review_id")?,
        by_user: row.opt_int("by_user")?,
    })
}

fn rules_version_from(row: &AnyRow) -> StoreResult<RulesVersion> {
    Ok(RulesVersion {
        version: row.int("version")?,
        rules: row.json("rules")?,
        created_at: row.instant("created_at")?,
        created_by: row.opt_int("created_by")?,
    })
}
