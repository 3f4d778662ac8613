//! Weekly reviews and their escalations, the next visit, and outcome measures.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::any::AnyRow;
use stepwise_engine::Decision;

use crate::db::{Key, On, SqlStore, Tx, insert_once};
use crate::model::NewReminder;
use crate::model::{
    Id, NewOutcome, NewReview, OutcomeKind, OutcomeRecord, PlanChangeSource, ReviewOutcome,
    ReviewRecord,
};
use crate::patients::{insert_plan_change, lock_patient};
use crate::reminders::insert_reminder;
use crate::values::{Cells, corrupt, day_text, parse_day, secs, to_json};
use crate::{StoreError, StoreResult};

/// The columns of a review.
macro_rules! review_columns {
    () => {
        "id, patient_id, week_start, rules_version, rules, evidence, history, output, applied, \
         created_at, acknowledged_at, acknowledged_by, acknowledgement_note"
    };
}

/// Weekly reviews, escalations, visits and outcome measures (a part of
/// [`Store`](crate::Store)).
#[async_trait]
pub trait ReviewStore: Send + Sync {
    /// Sets or clears the patient's next visit.
    async fn set_next_visit(&self, patient_id: Id, visit: Option<NaiveDate>) -> StoreResult<()>;

    /// Records an outcome measure.
    async fn add_outcome(
        &self,
        patient_id: Id,
        outcome: NewOutcome,
        by_user: Id,
        now: DateTime<Utc>,
    ) -> StoreResult<OutcomeRecord>;

    /// A patient's outcome measures, by date measured.
    async fn outcomes(&self, patient_id: Id) -> StoreResult<Vec<OutcomeRecord>>;

    /// Stores a weekly review and, when applied, the new plan and its history entry, and the
    /// freeze for an escalation — one transaction. Idempotent on patient + week: a second
    /// call for a reviewed week changes nothing and returns the stored review (`false`).
    async fn save_review(
        &self,
        patient_id: Id,
        review: NewReview,
        now: DateTime<Utc>,
    ) -> StoreResult<(ReviewRecord, bool)>;

    /// [`ReviewStore::save_review`] that also schedules, in the same transaction, the reminders
    /// `notify` makes of the review when this call stored it (its news to the patient, an
    /// escalation's alert to the therapist): a crash never leaves a review without them, and
    /// a repeat for a reviewed week schedules nothing.
    async fn save_review_notifying(
        &self,
        patient_id: Id,
        review: NewReview,
        now: DateTime<Utc>,
        notify: &(dyn for<'r> Fn(&'r ReviewRecord) -> Vec<NewReminder> + Send + Sync),
    ) -> StoreResult<(ReviewRecord, bool)>;

    /// A patient's reviews, oldest week first.
    async fn reviews(&self, patient_id: Id) -> StoreResult<Vec<ReviewRecord>>;

    /// The reviews a report on `first_week..=last_week` (Mondays) shows: the weeks in that
    /// range, and every escalation of any week that no therapist has acknowledged yet; oldest
    /// week first. A report reads these instead of all of a patient's weeks.
    async fn reviews_for_report(
        &self,
        patient_id: Id,
        first_week: NaiveDate,
        last_week: NaiveDate,
    ) -> StoreResult<Vec<ReviewRecord>>;

    /// A patient's review outcomes without their inputs, oldest week first.
    async fn review_outcomes(&self, patient_id: Id) -> StoreResult<Vec<ReviewOutcome>>;

    /// Acknowledges an escalation review with the therapist's note and lifts the freeze.
    /// `NotFound` when the review is not an escalation of this patient; acknowledging twice
    /// keeps the first (and its note). Reopening clears the acknowledgement and its note.
    async fn acknowledge_escalation(
        &self,
        patient_id: Id,
        review_id: Id,
        by_user: Id,
        note: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<ReviewRecord>;

    /// Opens an acknowledged escalation review again and freezes the plan: a new red flag in
    /// a week whose escalation a therapist already acknowledged. The earlier acknowledgement
    /// is returned in the record (as it was) and then cleared in the store. `NotFound` when
    /// the review is not an escalation of this patient.
    async fn reopen_escalation(&self, patient_id: Id, review_id: Id) -> StoreResult<ReviewRecord>;
}

#[async_trait]
impl ReviewStore for SqlStore {
    async fn set_next_visit(&self, patient_id: Id, visit: Option<NaiveDate>) -> StoreResult<()> {
        let done = sqlx::query("UPDATE patients SET next_visit = $2 WHERE user_id = $1")
            .bind(patient_id)
            .bind(visit.map(day_text))
            .execute(&self.writer)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn add_outcome(
        &self,
        patient_id: Id,
        outcome: NewOutcome,
        by_user: Id,
        now: DateTime<Utc>,
    ) -> StoreResult<OutcomeRecord> {
        let row = sqlx::query(
            "INSERT INTO outcome_measures \
             (patient_id, kind, value, measured_on, entered_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             RETURNING id, patient_id, kind, value, measured_on, entered_by, created_at",
        )
        .bind(patient_id)
        .bind(outcome.kind.as_str())
        .bind(outcome.value)
        .bind(day_text(outcome.measured_on))
        .bind(by_user)
        .bind(secs(now))
        .fetch_one(&self.writer)
        .await?;
        outcome_from(&row)
    }

    async fn outcomes(&self, patient_id: Id) -> StoreResult<Vec<OutcomeRecord>> {
        let rows = sqlx::query(
            "SELECT id, patient_id, kind, value, measured_on, entered_by, created_at \
             FROM outcome_measures WHERE patient_id = $1 ORDER BY measured_on, id",
        )
        .bind(patient_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(outcome_from).collect()
    }

    async fn save_review(
        &self,
        patient_id: Id,
        review: NewReview,
        now: DateTime<Utc>,
    ) -> StoreResult<(ReviewRecord, bool)> {
        self.save_review_notifying(patient_id, review, now, &|_| Vec::new())
            .await
    }

    async fn save_review_notifying(
        &self,
        patient_id: Id,
        review: NewReview,
        now: DateTime<Utc>,
        notify: &(dyn for<'r> Fn(&'r ReviewRecord) -> Vec<NewReminder> + Send + Sync),
    ) -> StoreResult<(ReviewRecord, bool)> {
        let week_start = day_text(review.week_start);
        let mut tx = self.begin().await?;
        // The unique (patient, week) decides which of two racing saves wins; the
        // loser inserts nothing and so applies nothing.
        let insert = sqlx::query(concat!(
            "INSERT INTO reviews (patient_id, week_start, rules_version, rules, \
             evidence, history, output, decision, applied, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (patient_id, week_start) DO NOTHING RETURNING ",
            review_columns!()
        ))
        .bind(patient_id)
        .bind(week_start.as_str())
        .bind(review.rules_version)
        .bind(to_json(&review.rules)?)
        .bind(to_json(&review.evidence)?)
        .bind(to_json(&review.history)?)
        .bind(to_json(&review.output)?)
        .bind(review.output.decision.as_str())
        .bind(review.applied)
        .bind(secs(now));
        let stored = sqlx::query(concat!(
            "SELECT ",
            review_columns!(),
            " FROM reviews WHERE patient_id = $1 AND week_start = $2"
        ))
        .bind(patient_id)
        .bind(week_start.as_str());
        let key = Key {
            client_id: &week_start,
            what: "review",
        };
        // A reviewed week keeps its review, whatever this one says: nothing else happens.
        let (saved, new) = insert_once(
            On::Tx(&mut tx),
            insert,
            stored,
            review_from,
            key,
            |stored| std::future::ready(Ok((stored, true))),
        )
        .await?;
        if !new {
            return Ok((saved, false));
        }
        if saved.applied {
            let current = lock_patient(&mut tx, patient_id).await?;
            let output = &saved.output;
            if output.interval_s != current {
                sqlx::query("UPDATE patients SET interval_s = $1 WHERE user_id = $2")
                    .bind(output.interval_s)
                    .bind(patient_id)
                    .execute(&mut *tx)
                    .await?;
                let reason = stepwise_engine::reason_messages(&output.reasons);
                insert_plan_change(
                    &mut tx,
                    patient_id,
                    now,
                    (current, output.interval_s),
                    PlanChangeSource::Review,
                    &reason,
                    (Some(saved.id), None),
                )
                .await?;
            }
            if output.decision == Decision::Escalate {
                sqlx::query("UPDATE patients SET frozen = $1 WHERE user_id = $2")
                    .bind(true)
                    .bind(patient_id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        for reminder in notify(&saved) {
            insert_reminder(&mut tx, &reminder, now).await?;
        }
        tx.commit().await?;
        Ok((saved, true))
    }

    async fn reviews(&self, patient_id: Id) -> StoreResult<Vec<ReviewRecord>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            review_columns!(),
            " FROM reviews WHERE patient_id = $1 ORDER BY week_start, id"
        ))
        .bind(patient_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(review_from).collect()
    }

    async fn reviews_for_report(
        &self,
        patient_id: Id,
        first_week: NaiveDate,
        last_week: NaiveDate,
    ) -> StoreResult<Vec<ReviewRecord>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            review_columns!(),
            " FROM reviews WHERE patient_id = $1 \
              AND ((week_start >= $2 AND week_start <= $3) \
                   OR (decision = $4 AND acknowledged_at IS NULL)) \
              ORDER BY week_start, id"
        ))
        .bind(patient_id)
        .bind(day_text(first_week))
        .bind(day_text(last_week))
        .bind(Decision::Escalate.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(review_from).collect()
    }

    async fn review_outcomes(&self, patient_id: Id) -> StoreResult<Vec<ReviewOutcome>> {
        let rows = sqlx::query(
            "SELECT id, week_start, output, applied, acknowledged_at, acknowledgement_note \
             FROM reviews \
             WHERE patient_id = $1 ORDER BY week_start, id",
        )
        .bind(patient_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(review_outcome_from).collect()
    }

    async fn acknowledge_escalation(
        &self,
        patient_id: Id,
        review_id: Id,
        by_user: Id,
        note: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<ReviewRecord> {
        let mut tx = self.begin().await?;
        let acknowledged = sqlx::query(
            "UPDATE reviews SET acknowledged_at = $1, acknowledged_by = $2, \
             acknowledgement_note = $5 \
             WHERE id = $3 AND patient_id = $4 AND decision = $6 \
             AND acknowledged_at IS NULL",
        )
        .bind(secs(now))
        .bind(by_user)
        .bind(review_id)
        .bind(patient_id)
        .bind(note)
        .bind(Decision::Escalate.as_str())
        .execute(&mut *tx)
        .await?;
        // Only the first acknowledgement lifts the freeze: repeating an old one
        // must not lift a freeze a later escalation set.
        if acknowledged.rows_affected() > 0 {
            sqlx::query("UPDATE patients SET frozen = $1 WHERE user_id = $2")
                .bind(false)
                .bind(patient_id)
                .execute(&mut *tx)
                .await?;
        }
        let review = escalation_review(&mut tx, patient_id, review_id).await?;
        tx.commit().await?;
        Ok(review)
    }

    async fn reopen_escalation(&self, patient_id: Id, review_id: Id) -> StoreResult<ReviewRecord> {
        let mut tx = self.begin().await?;
        let review = escalation_review(&mut tx, patient_id, review_id).await?;
        sqlx::query(
            "UPDATE reviews SET acknowledged_at = NULL, acknowledged_by = NULL, \
             acknowledgement_note = NULL WHERE id = $1",
        )
        .bind(review_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE patients SET frozen = $1 WHERE user_id = $2")
            .bind(true)
            .bind(patient_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(review)
    }
}

/// A patient's escalation review; `NotFound` for any other review.
async fn escalation_review(
    tx: &mut Tx,
    patient_id: Id,
    review_id: Id,
) -> StoreResult<ReviewRecord> {
    let row = sqlx::query(concat!(
        "SELECT ",
        review_columns!(),
        " FROM reviews WHERE id = $1 AND patient_id = $2 AND decision = $3"
    ))
    .bind(review_id)
    .bind(patient_id)
    .bind(Decision::Escalate.as_str())
    .fetch_one(&mut **tx)
    .await?;
    review_from(&row)
}

fn review_from(row: &AnyRow) -> StoreResult<ReviewRecord> {
    Ok(ReviewRecord {
        id: row.int("id")?,
        patient_id: row.int("patient_id")?,
        week_start: parse_day(&row.text("week_start")?)?,
        rules_version: row.int("rules_version")?,
        rules: row.json("rules")?,
        evidence: row.json("evidence")?,
        history: row.json("history")?,
        output: row.json("output")?,
        applied: row.flag("applied")?,
        created_at: row.instant("created_at")?,
        acknowledged_at: row.opt_instant("acknowledged_at")?,
        acknowledged_by: row.opt_int("acknowledged_by")?,
        acknowledgement_note: row.opt_text("acknowledgement_note")?,
    })
}

fn review_outcome_from(row: &AnyRow) -> StoreResult<ReviewOutcome> {
    Ok(ReviewOutcome {
        id: row.int("id")?,
        week_start: parse_day(&row.text("week_start")?)?,
        output: row.json("output")?,
        applied: row.flag("applied")?,
        acknowledged_at: row.opt_instant("acknowledged_at")?,
        acknowledgement_note: row.opt_text("acknowledgement_note")?,
    })
}

fn outcome_from(row: &AnyRow) -> StoreResult<OutcomeRecord> {
    let kind = row.text("kind")?;
    Ok(OutcomeRecord {
        id: row.int("id")?,
        patient_id: row.int("patient_id")?,
        measure: NewOutcome {
            kind: OutcomeKind::parse(&kind)
                .ok_or_else(|| corrupt(format!("outcome kind {kind:?}")))?,
            value: row.float("value")?,
            measured_on: parse_day(&row.text("measured_on")?)?,
        },
        entered_by: row.int("entered_by")?,
        created_at: row.instant("created_at")?,
    })
}
