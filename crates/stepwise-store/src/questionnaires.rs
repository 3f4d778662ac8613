//! Questionnaires patients fill in: the schedules a clinician sets, the questionnaires asked of
//! a patient, and the scored responses.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use stepwise_care::questionnaires::{Answer, Instrument};

use crate::db::SqlStore;
use crate::model::{
    Id, NewRequest, NewResponse, NewSchedule, QuestionnaireRequest, RequestState, ResponseRecord,
    Schedule, SubscoreValue, Timing,
};
use crate::values::{Cells, corrupt, day_text, parse_day, parse_name, secs, to_json};
use crate::{StoreError, StoreResult};

/// A schedule's columns, with its author's name (`s` schedules, `u` users).
const SCHEDULE_COLUMNS: &str = "s.id, s.patient_id, s.instrument, s.timing, s.number, \
     s.starts_on, s.set_by, u.display_name, s.client_id, s.created_at, s.stopped_at";
/// A request's columns.
const REQUEST_COLUMNS: &str =
    "id, patient_id, instrument, schedule_id, due_on, reason, state, created_at";
/// A response's columns.
const RESPONSE_COLUMNS: &str = "id, patient_id, instrument, request_id, answers, score, \
     raw_score, subscores, category, client_id, answered_at";

/// Questionnaire schedules, the questionnaires asked and their responses (a part of
/// [`Store`](crate::Store)).
#[async_trait]
pub trait QuestionnaireStore: Send + Sync {
    /// Stores a schedule. Returns it and whether it is new: the same clinician's client id
    /// again with the same patient, instrument and timing is the stored schedule (`false`),
    /// with anything else a `Conflict`.
    async fn add_schedule(
        &self,
        schedule: NewSchedule,
        now: DateTime<Utc>,
    ) -> StoreResult<(Schedule, bool)>;

    /// A patient's schedules, active and stopped, oldest first.
    async fn schedules(&self, patient_id: Id) -> StoreResult<Vec<Schedule>>;

    /// Every active schedule of every patient, by patient then id (the planner's input).
    async fn active_schedules(&self) -> StoreResult<Vec<Schedule>>;

    /// Stops a patient's schedule and expires its open questionnaires; stopping a stopped
    /// schedule changes nothing. `NotFound` when the patient has no such schedule.
    async fn stop_schedule(
        &self,
        patient_id: Id,
        schedule_id: Id,
        now: DateTime<Utc>,
    ) -> StoreResult<Schedule>;

    /// Asks the questionnaires in `new` (one per schedule and date: those already asked are
    /// skipped) and expires the open ones in `expire`, in one transaction. Returns the
    /// questionnaires newly asked.
    async fn add_requests(
        &self,
        new: &[NewRequest],
        expire: &[Id],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<QuestionnaireRequest>>;

    /// A patient's questionnaires, every state, by due date then id.
    async fn requests(&self, patient_id: Id) -> StoreResult<Vec<QuestionnaireRequest>>;

    /// One of a patient's questionnaires; `NotFound` when it is not theirs.
    async fn request(&self, patient_id: Id, request_id: Id) -> StoreResult<QuestionnaireRequest>;

    /// Stores a scored response and marks its questionnaire answered. Returns it and whether
    /// it is new: the patient's client id again with the same questionnaire and answers is the
    /// stored response (`false`); the client id used for anything else, or a questionnaire that
    /// is no longer open, is a `Conflict`.
    async fn record_response(
        &self,
        response: NewResponse,
        now: DateTime<Utc>,
    ) -> StoreResult<(ResponseRecord, bool)>;

    /// A patient's responses, oldest first.
    async fn responses(&self, patient_id: Id) -> StoreResult<Vec<ResponseRecord>>;
}

#[async_trait]
impl QuestionnaireStore for SqlStore {
    async fn add_schedule(
        &self,
        schedule: NewSchedule,
        now: DateTime<Utc>,
    ) -> StoreResult<(Schedule, bool)> {
        let mut tx = self.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO questionnaire_schedules (patient_id, instrument, timing, number, \
             starts_on, set_by, client_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (set_by, client_id) DO NOTHING RETURNING id",
        )
        .bind(schedule.patient_id)
        .bind(schedule.instrument.as_str())
        .bind(schedule.timing.as_str())
        .bind(schedule.timing.number())
        .bind(day_text(schedule.starts_on))
        .bind(schedule.set_by)
        .bind(schedule.client_id.as_str())
        .bind(secs(now))
        .fetch_optional(&mut *tx)
        .await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SCHEDULE_COLUMNS} FROM questionnaire_schedules s \
             JOIN users u ON u.id = s.set_by WHERE s.set_by = $1 AND s.client_id = $2"
        )))
        .bind(schedule.set_by)
        .bind(schedule.client_id.as_str())
        .fetch_one(&mut *tx)
        .await?;
        let stored = schedule_from(&row)?;
        let same = stored.patient_id == schedule.patient_id
            && stored.instrument == schedule.instrument
            && stored.timing == schedule.timing;
        if inserted.is_none() && !same {
            return Err(StoreError::Conflict(format!(
                "client_id {:?} was already used for a different schedule",
                schedule.client_id
            )));
        }
        tx.commit().await?;
        Ok((stored, inserted.is_some()))
    }

    async fn schedules(&self, patient_id: Id) -> StoreResult<Vec<Schedule>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SCHEDULE_COLUMNS} FROM questionnaire_schedules s \
             JOIN users u ON u.id = s.set_by WHERE s.patient_id = $1 ORDER BY s.id"
        )))
        .bind(patient_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(schedule_from).collect()
    }

    async fn active_schedules(&self) -> StoreResult<Vec<Schedule>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SCHEDULE_COLUMNS} FROM questionnaire_schedules s \
             JOIN users u ON u.id = s.set_by WHERE s.stopped_at IS NULL \
             ORDER BY s.patient_id, s.id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(schedule_from).collect()
    }

    async fn stop_schedule(
        &self,
        patient_id: Id,
        schedule_id: Id,
        now: DateTime<Utc>,
    ) -> StoreResult<Schedule> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE questionnaire_schedules SET stopped_at = $3 \
             WHERE id = $1 AND patient_id = $2 AND stopped_at IS NULL",
        )
        .bind(schedule_id)
        .bind(patient_id)
        .bind(secs(now))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE questionnaire_requests SET state = 'expired' \
             WHERE schedule_id = $1 AND patient_id = $2 AND state = 'open'",
        )
        .bind(schedule_id)
        .bind(patient_id)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SCHEDULE_COLUMNS} FROM questionnaire_schedules s \
             JOIN users u ON u.id = s.set_by WHERE s.id = $1 AND s.patient_id = $2"
        )))
        .bind(schedule_id)
        .bind(patient_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let stopped = schedule_from(&row)?;
        tx.commit().await?;
        Ok(stopped)
    }

    async fn add_requests(
        &self,
        new: &[NewRequest],
        expire: &[Id],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<QuestionnaireRequest>> {
        if new.is_empty() && expire.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin().await?;
        for id in expire {
            sqlx::query(
                "UPDATE questionnaire_requests SET state = 'expired' \
                 WHERE id = $1 AND state = 'open'",
            )
            .bind(*id)
            .execute(&mut *tx)
            .await?;
        }
        let mut added = Vec::new();
        for request in new {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO questionnaire_requests (patient_id, instrument, schedule_id, due_on, \
                 reason, state, created_at) VALUES ($1, $2, $3, $4, $5, 'open', $6) \
                 ON CONFLICT (schedule_id, due_on) DO NOTHING RETURNING {REQUEST_COLUMNS}"
            )))
            .bind(request.patient_id)
            .bind(request.instrument.as_str())
            .bind(request.schedule_id)
            .bind(day_text(request.due_on))
            .bind(request.reason.as_str())
            .bind(secs(now))
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = row {
                added.push(request_from(&row)?);
            }
        }
        tx.commit().await?;
        Ok(added)
    }

    async fn requests(&self, patient_id: Id) -> StoreResult<Vec<QuestionnaireRequest>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {REQUEST_COLUMNS} FROM questionnaire_requests WHERE patient_id = $1 \
             ORDER BY due_on, id"
        )))
        .bind(patient_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(request_from).collect()
    }

    async fn request(&self, patient_id: Id, request_id: Id) -> StoreResult<QuestionnaireRequest> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {REQUEST_COLUMNS} FROM questionnaire_requests WHERE id = $1 AND patient_id = $2"
        )))
        .bind(request_id)
        .bind(patient_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        request_from(&row)
    }

    async fn record_response(
        &self,
        response: NewResponse,
        now: DateTime<Utc>,
    ) -> StoreResult<(ResponseRecord, bool)> {
        let mut tx = self.begin().await?;
        let stored = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RESPONSE_COLUMNS} FROM questionnaire_responses \
             WHERE patient_id = $1 AND client_id = $2"
        )))
        .bind(response.patient_id)
        .bind(response.client_id.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = stored {
            let stored = response_from(&row)?;
            if stored.request_id != response.request_id || stored.answers != response.answers {
                return Err(StoreError::Conflict(format!(
                    "client_id {:?} was already used for a different response",
                    response.client_id
                )));
            }
            tx.commit().await?;
            return Ok((stored, false));
        }
        // Only an open questionnaire takes answers; marking it answered first also makes two
        // submits at once with different client ids store one response.
        let opened = sqlx::query(
            "UPDATE questionnaire_requests SET state = 'answered' \
             WHERE id = $1 AND patient_id = $2 AND state = 'open'",
        )
        .bind(response.request_id)
        .bind(response.patient_id)
        .execute(&mut *tx)
        .await?;
        if opened.rows_affected() == 0 {
            let state: Option<String> = sqlx::query_scalar(
                "SELECT state FROM questionnaire_requests WHERE id = $1 AND patient_id = $2",
            )
            .bind(response.request_id)
            .bind(response.patient_id)
            .fetch_optional(&mut *tx)
            .await?;
            return Err(match state.as_deref() {
                None => StoreError::NotFound,
                Some("answered") => {
                    StoreError::Conflict("this questionnaire was already answered".into())
                }
                Some(_) => StoreError::Conflict(
                    "this questionnaire is no longer open: it was replaced or has expired".into(),
                ),
            });
        }
        let subscores: Vec<SubscoreValue> = response
            .scored
            .subscores
            .iter()
            .map(|s| SubscoreValue {
                name: s.name.to_string(),
                value: s.value,
            })
            .collect();
        // A raw score is bound only when there is one: PostgreSQL fixes a prepared statement's
        // parameter types on first use, and a NULL bound as a float is sent as another type,
        // so one statement cannot take both (the column is left out, NULL, instead).
        let (raw_column, raw_value) = match response.scored.raw {
            Some(_) => (", raw_score", ", $10"),
            None => ("", ""),
        };
        let insert = format!(
            "INSERT INTO questionnaire_responses (patient_id, instrument, request_id, answers, \
             score, subscores, category, client_id, answered_at{raw_column}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9{raw_value}) RETURNING {RESPONSE_COLUMNS}"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(insert))
            .bind(response.patient_id)
            .bind(response.instrument.as_str())
            .bind(response.request_id)
            .bind(to_json(&response.answers)?)
            .bind(response.scored.value)
            .bind(to_json(&subscores)?)
            .bind(response.scored.category)
            .bind(response.client_id.as_str())
            .bind(secs(now));
        if let Some(raw) = response.scored.raw {
            query = query.bind(raw);
        }
        let row = query.fetch_one(&mut *tx).await.map_err(|err| {
            crate::db::conflict_on_unique(err, "this questionnaire was already answered")
        })?;
        let stored = response_from(&row)?;
        tx.commit().await?;
        Ok((stored, true))
    }

    async fn responses(&self, patient_id: Id) -> StoreResult<Vec<ResponseRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RESPONSE_COLUMNS} FROM questionnaire_responses WHERE patient_id = $1 \
             ORDER BY answered_at, id"
        )))
        .bind(patient_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(response_from).collect()
    }
}

fn instrument(row: &AnyRow) -> StoreResult<Instrument> {
    parse_name("instrument", &row.text("instrument")?, Instrument::parse)
}

fn schedule_from(row: &AnyRow) -> StoreResult<Schedule> {
    let timing = row.text("timing")?;
    let number = row.opt_int("number")?;
    Ok(Schedule {
        id: row.int("id")?,
        patient_id: row.int("patient_id")?,
        instrument: instrument(row)?,
        timing: Timing::from_parts(&timing, number)
            .ok_or_else(|| corrupt(format!("timing {timing:?} {number:?}")))?,
        set_by: row.int("set_by")?,
        set_by_name: row.text("display_name")?,
        starts_on: parse_day(&row.text("starts_on")?)?,
        created_at: row.instant("created_at")?,
        stopped_at: row.opt_instant("stopped_at")?,
    })
}

fn request_from(row: &AnyRow) -> StoreResult<QuestionnaireRequest> {
    Ok(QuestionnaireRequest {
        id: row.int("id")?,
        patient_id: row.int("patient_id")?,
        instrument: instrument(row)?,
        schedule_id: row.int("schedule_id")?,
        due_on: parse_day(&row.text("due_on")?)?,
        reason: row.text("reason")?,
        state: parse_name("request state", &row.text("state")?, RequestState::parse)?,
        created_at: row.instant("created_at")?,
    })
}

fn response_from(row: &AnyRow) -> StoreResult<ResponseRecord> {
    let answers: BTreeMap<String, Answer> = row.json("answers")?;
    Ok(ResponseRecord {
        id: row.int("id")?,
        patient_id: row.int("patient_id")?,
        request_id: row.int("request_id")?,
        instrument: instrument(row)?,
        answers,
        value: row.float("score")?,
        raw: row.opt_float("raw_score")?,
        subscores: row.json("subscores")?,
        category: row.opt_text("category")?,
        answered_at: row.instant("answered_at")?,
    })
}
