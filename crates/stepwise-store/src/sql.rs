//! The one body of `impl Store`, shared by both backends.
//!
//! All SQL is written once, in the subset SQLite and PostgreSQL share: `$n` placeholders,
//! `INSERT … ON CONFLICT`, `RETURNING`, integers for instants and text for JSON and dates.
//! [`impl_store!`] stamps the trait implementation out for a backend type that has a `pool`
//! field and a `begin()` method (SQLite begins `IMMEDIATE`, so a transaction that reads before
//! it writes never fails to upgrade its lock). Row decoding, value conversions and the ingest
//! statements are ordinary functions below; only what must name the backend's types lives in
//! the macro.

use std::collections::BTreeMap;
use std::fmt::{Display, Write as _};
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::error::ErrorKind;
use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::model::{
    AuditEntry, AuditOutcome, BandDay, Clinic, Device, FlareRecord, NewFlare, NewOutcome,
    NewSession, OutcomeKind, OutcomeRecord, Patient, PlanChange, PlanChangeSource, RestType,
    ReviewOutcome, ReviewRecord, Role, RulesVersion, SafetyContact, SessionChange,
    SessionChangeKind, SessionRecord, SleepEpisode, SleepStage, StepSample, User, WalkingPlan,
};
use crate::{StoreError, StoreResult};

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) => match db.kind() {
                ErrorKind::UniqueViolation => {
                    StoreError::Conflict("a record with the same key already exists".into())
                }
                // A write that names a row that is not there (an unknown patient or device).
                ErrorKind::ForeignKeyViolation => StoreError::NotFound,
                _ => StoreError::Other(err.to_string()),
            },
            _ => StoreError::Other(err.to_string()),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        StoreError::Other(format!("migration failed: {err}"))
    }
}

/// Applies `migrator`'s migrations that the database lacks. A database that has a migration
/// this binary does not carry was upgraded by a newer Stepwise: that is refused with
/// [`StoreError::NewerDatabase`] before anything is changed.
pub(crate) async fn migrate<'a, A>(migrator: &sqlx::migrate::Migrator, pool: A) -> StoreResult<()>
where
    A: sqlx::Acquire<'a>,
    <A::Connection as std::ops::Deref>::Target: sqlx::migrate::Migrate,
{
    match migrator.run(pool).await {
        Ok(()) => Ok(()),
        Err(sqlx::migrate::MigrateError::VersionMissing(database)) => {
            Err(StoreError::NewerDatabase {
                database,
                binary: newest_migration(migrator),
            })
        }
        Err(err) => Err(err.into()),
    }
}

/// The newest migration `migrator` carries (0 when it has none).
pub(crate) fn newest_migration(migrator: &sqlx::migrate::Migrator) -> i64 {
    migrator.iter().map(|m| m.version).max().unwrap_or(0)
}

/// Maps a unique violation to `Conflict(message)`, anything else as usual.
pub(crate) fn conflict_on_unique(err: sqlx::Error, message: &str) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.kind() == ErrorKind::UniqueViolation => {
            StoreError::Conflict(message.to_string())
        }
        _ => err.into(),
    }
}

pub(crate) fn corrupt(what: impl Display) -> StoreError {
    StoreError::Other(format!("corrupt row: {what}"))
}

// --- values ---

/// An instant as stored: unix seconds.
pub(crate) fn secs(at: DateTime<Utc>) -> i64 {
    at.timestamp()
}

/// A stored instant back.
pub(crate) fn instant(secs: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0).ok_or_else(|| corrupt(format!("instant {secs}")))
}

/// A date as stored: `YYYY-MM-DD`.
pub(crate) fn day_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

fn parse_day(text: &str) -> StoreResult<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| corrupt(format!("date {text:?}")))
}

/// A value as stored JSON text.
pub(crate) fn to_json<T: Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|err| StoreError::Other(format!("encoding JSON: {err}")))
}

fn parse_name<T>(kind: &str, text: &str, parse: impl Fn(&str) -> Option<T>) -> StoreResult<T> {
    parse(text).ok_or_else(|| corrupt(format!("{kind} {text:?}")))
}

/// A logged walk as it will read back: instants on whole seconds.
pub(crate) fn stored_session(session: NewSession) -> NewSession {
    NewSession {
        started_at: session.started_at.trunc_subsecs(0),
        ended_at: session.ended_at.trunc_subsecs(0),
        ..session
    }
}

/// A reported flare as it will read back: instants on whole seconds.
pub(crate) fn stored_flare(flare: NewFlare) -> NewFlare {
    NewFlare {
        started_at: flare.started_at.trunc_subsecs(0),
        ..flare
    }
}

// --- rows ---

/// Typed access to a row's columns by name, for either backend's row type.
pub(crate) trait Cells {
    fn int(&self, column: &str) -> StoreResult<i64>;
    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>>;
    fn text(&self, column: &str) -> StoreResult<String>;
    fn opt_text(&self, column: &str) -> StoreResult<Option<String>>;
    fn flag(&self, column: &str) -> StoreResult<bool>;
    fn float(&self, column: &str) -> StoreResult<f64>;

    fn instant(&self, column: &str) -> StoreResult<DateTime<Utc>> {
        instant(self.int(column)?)
    }

    fn opt_instant(&self, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
        self.opt_int(column)?.map(instant).transpose()
    }

    fn json<T: DeserializeOwned>(&self, column: &str) -> StoreResult<T> {
        serde_json::from_str(&self.text(column)?).map_err(|err| corrupt(format!("{column}: {err}")))
    }

    fn opt_json<T: DeserializeOwned>(&self, column: &str) -> StoreResult<Option<T>> {
        self.opt_text(column)?
            .map(|text| {
                serde_json::from_str(&text).map_err(|err| corrupt(format!("{column}: {err}")))
            })
            .transpose()
    }
}

impl<R> Cells for R
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    i64: Type<R::Database> + for<'r> Decode<'r, R::Database>,
    String: Type<R::Database> + for<'r> Decode<'r, R::Database>,
    bool: Type<R::Database> + for<'r> Decode<'r, R::Database>,
    f64: Type<R::Database> + for<'r> Decode<'r, R::Database>,
{
    fn int(&self, column: &str) -> StoreResult<i64> {
        Ok(self.try_get(column)?)
    }

    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>> {
        Ok(self.try_get(column)?)
    }

    fn text(&self, column: &str) -> StoreResult<String> {
        Ok(self.try_get(column)?)
    }

    fn opt_text(&self, column: &str) -> StoreResult<Option<String>> {
        Ok(self.try_get(column)?)
    }

    fn flag(&self, column: &str) -> StoreResult<bool> {
        Ok(self.try_get(column)?)
    }

    fn float(&self, column: &str) -> StoreResult<f64> {
        Ok(self.try_get(column)?)
    }
}

// Column lists, as macros so that `concat!` can splice them into static SQL.

macro_rules! clinic_columns {
    () => {
        "id, name, default_rules, default_interval_s, default_bouts, default_rest_s, \
         default_sessions_per_week, safety_phone, safety_text"
    };
}

macro_rules! user_columns {
    () => {
        "id, clinic_id, role, email, display_name"
    };
}

/// Patients joined with their user row (`patients p JOIN users u`).
macro_rules! patient_columns {
    () => {
        "p.user_id AS id, u.clinic_id, p.therapist_id, u.display_name, p.timezone, \
         p.interval_s, p.bouts, p.rest_s, p.sessions_per_week, p.frozen, p.created_at, \
         p.next_visit"
    };
}

macro_rules! plan_change_columns {
    () => {
        "id, at, from_interval_s, to_interval_s, source, reason, review_id, by_user"
    };
}

macro_rules! rules_version_columns {
    () => {
        "version, rules, created_at, created_by"
    };
}

macro_rules! session_columns {
    () => {
        "id, patient_id, client_id, started_at, ended_at, walked_s, bouts, pain_before, \
         pain_during_max, effort, rest_type, notes, pain_after_2h, answered_at, \
         pain_next_morning, next_morning_answered_at, created_at, withdrawn_at"
    };
}

/// One walk of a patient (`$1` its id, `$2` the patient), unless it was withdrawn.
macro_rules! live_session_sql {
    () => {
        concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions WHERE id = $1 AND patient_id = $2 AND withdrawn_at IS NULL"
        )
    };
}

macro_rules! flare_columns {
    () => {
        "id, patient_id, client_id, started_at, pain, notes, created_at"
    };
}

macro_rules! device_columns {
    () => {
        "id, patient_id, kind, address, name, paired_at, token_expires_at, revoked_at, \
         last_seen_at"
    };
}

macro_rules! review_columns {
    () => {
        "id, patient_id, week_start, rules_version, rules, evidence, history, output, applied, \
         created_at, acknowledged_at, acknowledged_by, acknowledgement_note"
    };
}

macro_rules! audit_columns {
    () => {
        "at, actor_id, action, patient_id, clinic_id, outcome"
    };
}

pub(crate) use {
    audit_columns, clinic_columns, device_columns, flare_columns, live_session_sql,
    patient_columns, plan_change_columns, review_columns, rules_version_columns, session_columns,
    user_columns,
};

/// The clinic-default plan columns of a clinic row.
pub(crate) fn default_plan_from(row: &impl Cells) -> StoreResult<WalkingPlan> {
    Ok(WalkingPlan {
        interval_s: row.int("default_interval_s")?,
        bouts: row.int("default_bouts")?,
        rest_s: row.int("default_rest_s")?,
        sessions_per_week: row.int("default_sessions_per_week")?,
    })
}

pub(crate) fn clinic_from(row: &impl Cells) -> StoreResult<Clinic> {
    Ok(Clinic {
        id: row.int("id")?,
        name: row.text("name")?,
        default_rules: row.json("default_rules")?,
        default_plan: default_plan_from(row)?,
        safety_contact: SafetyContact {
            phone: row.opt_text("safety_phone")?,
            text: row.opt_text("safety_text")?,
        },
    })
}

pub(crate) fn user_from(row: &impl Cells) -> StoreResult<User> {
    Ok(User {
        id: row.int("id")?,
        clinic_id: row.int("clinic_id")?,
        role: parse_name("role", &row.text("role")?, Role::parse)?,
        email: row.text("email")?,
        display_name: row.text("display_name")?,
    })
}

pub(crate) fn patient_from(row: &impl Cells) -> StoreResult<Patient> {
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

/// The answer to a write keyed by a client id that found the id already stored: the stored
/// record when the write carried the same content (a retry: `false`, nothing new), else a
/// conflict that names what the id was used for.
pub(crate) fn retried<T>(
    stored: T,
    same: bool,
    client_id: &str,
    what: &str,
) -> StoreResult<(T, bool)> {
    if same {
        Ok((stored, false))
    } else {
        Err(StoreError::Conflict(format!(
            "client_id {client_id:?} was already used for a different {what}"
        )))
    }
}

pub(crate) fn band_day_from(row: &impl Cells) -> StoreResult<BandDay> {
    Ok(BandDay {
        date: parse_day(&row.text("day")?)?,
        steps: row.int("steps")?,
        minutes_with_data: row.int("minutes_with_data")?,
        sleep_min: row.int("sleep_min")?,
    })
}

pub(crate) fn outcome_from(row: &impl Cells) -> StoreResult<OutcomeRecord> {
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

/// Recomputes one patient-day of `band_days` from the minute samples (the higher count where
/// two bands reported a minute) and the sleep episodes ending that day. `$1` patient, `$2`
/// date, `$3`/`$4` the day's bounds in unix seconds. (`WHERE true` lets SQLite tell the
/// upsert's `ON CONFLICT` from a join's `ON`.)
pub(crate) const BAND_DAY_UPSERT: &str = "INSERT INTO band_days \
     (patient_id, day, steps, minutes_with_data, sleep_min) \
     SELECT $1, $2, COALESCE(CAST(SUM(m.steps) AS BIGINT), 0), COUNT(m.steps), \
     COALESCE((SELECT CAST(SUM((e.end_at - e.start_at) / 60) AS BIGINT) \
       FROM devices d JOIN sleep_episodes e ON e.device_id = d.id \
       WHERE d.patient_id = $1 AND e.stage <> 'awake' AND e.end_at >= $3 AND e.end_at < $4), 0) \
     FROM (SELECT MAX(s.steps) AS steps FROM devices d \
       JOIN step_samples s ON s.device_id = d.id \
       WHERE d.patient_id = $1 AND s.minute >= $3 AND s.minute < $4 GROUP BY s.minute) m \
     WHERE true \
     ON CONFLICT (patient_id, day) DO UPDATE SET steps = excluded.steps, \
     minutes_with_data = excluded.minutes_with_data, sleep_min = excluded.sleep_min";

pub(crate) fn plan_change_from(row: &impl Cells) -> StoreResult<PlanChange> {
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

pub(crate) fn rules_version_from(row: &impl Cells) -> StoreResult<RulesVersion> {
    Ok(RulesVersion {
        version: row.int("version")?,
        rules: row.json("rules")?,
        created_at: row.instant("created_at")?,
        created_by: row.opt_int("created_by")?,
    })
}

pub(crate) fn session_from(row: &impl Cells) -> StoreResult<SessionRecord> {
    let rest_type = match row.opt_text("rest_type")? {
        Some(name) => Some(parse_name("rest type", &name, RestType::parse)?),
        None => None,
    };
    Ok(SessionRecord {
        id: row.int("id")?,
        patient_id: row.int("patient_id")?,
        logged: NewSession {
            client_id: row.text("client_id")?,
            started_at: row.instant("started_at")?,
            ended_at: row.instant("ended_at")?,
            walked_s: row.int("walked_s")?,
            bouts: row.int("bouts")?,
            pain_before: row.opt_int("pain_before")?,
            pain_during_max: row.opt_int("pain_during_max")?,
            effort: row.opt_int("effort")?,
            rest_type,
            notes: row.opt_text("notes")?,
        },
        pain_after_2h: row.opt_int("pain_after_2h")?,
        answered_at: row.opt_instant("answered_at")?,
        pain_next_morning: row.opt_int("pain_next_morning")?,
        next_morning_answered_at: row.opt_instant("next_morning_answered_at")?,
        created_at: row.instant("created_at")?,
        withdrawn_at: row.opt_instant("withdrawn_at")?,
    })
}

pub(crate) fn session_change_from(row: &impl Cells) -> StoreResult<SessionChange> {
    Ok(SessionChange {
        id: row.int("id")?,
        session_id: row.int("session_id")?,
        at: row.instant("at")?,
        by_user: row.int("by_user")?,
        action: parse_name(
            "walk change",
            &row.text("action")?,
            SessionChangeKind::parse,
        )?,
        before: row.json("before")?,
        after: row.opt_json("after")?,
    })
}

pub(crate) fn flare_from(row: &impl Cells) -> StoreResult<FlareRecord> {
    Ok(FlareRecord {
        id: row.int("id")?,
        patient_id: row.int("patient_id")?,
        reported: NewFlare {
            client_id: row.text("client_id")?,
            started_at: row.instant("started_at")?,
            pain: row.int("pain")?,
            notes: row.opt_text("notes")?,
        },
        created_at: row.instant("created_at")?,
    })
}

pub(crate) fn device_from(row: &impl Cells) -> StoreResult<Device> {
    Ok(Device {
        id: row.int("id")?,
        patient_id: row.int("patient_id")?,
        kind: row.text("kind")?,
        address: row.text("address")?,
        name: row.text("name")?,
        paired_at: row.instant("paired_at")?,
        token_expires_at: row.instant("token_expires_at")?,
        revoked_at: row.opt_instant("revoked_at")?,
        last_seen_at: row.opt_instant("last_seen_at")?,
    })
}

pub(crate) fn step_sample_from(row: &impl Cells) -> StoreResult<StepSample> {
    Ok(StepSample {
        minute: row.instant("minute")?,
        steps: row.int("steps")?,
        heart_rate: row.opt_int("heart_rate")?,
        estimated: row.int("estimated")? != 0,
    })
}

pub(crate) fn sleep_episode_from(row: &impl Cells) -> StoreResult<SleepEpisode> {
    Ok(SleepEpisode {
        start: row.instant("start_at")?,
        end: row.instant("end_at")?,
        stage: parse_name("sleep stage", &row.text("stage")?, SleepStage::parse)?,
    })
}

pub(crate) fn review_from(row: &impl Cells) -> StoreResult<ReviewRecord> {
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

pub(crate) fn review_outcome_from(row: &impl Cells) -> StoreResult<ReviewOutcome> {
    Ok(ReviewOutcome {
        id: row.int("id")?,
        week_start: parse_day(&row.text("week_start")?)?,
        output: row.json("output")?,
        applied: row.flag("applied")?,
        acknowledged_at: row.opt_instant("acknowledged_at")?,
        acknowledgement_note: row.opt_text("acknowledgement_note")?,
    })
}

pub(crate) fn audit_from(row: &impl Cells) -> StoreResult<AuditEntry> {
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

// --- ingest ---

/// How a backend writes bind parameters in generated statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placeholders {
    /// `$1, $2, …` (PostgreSQL).
    Numbered,
    /// `?, ?, …` (SQLite: it resolves `$n` names by a linear scan per parameter, which makes
    /// long numbered lists quadratic).
    Positional,
}

/// Rows per multi-row `INSERT` of an ingest (4 or 5 parameters a row).
pub(crate) const INGEST_CHUNK: usize = 500;

/// A batch's minute samples as rows `(minute, steps, heart_rate, estimated)`, by minute, one per minute
/// (the last of repeats wins, as a later upload would). PostgreSQL refuses an upsert that
/// touches the same row twice, and a fixed order keeps concurrent ingests from deadlocking.
pub(crate) fn step_rows(samples: &[StepSample]) -> Vec<StepRow> {
    let mut rows: Vec<StepRow> = samples
        .iter()
        .map(|sample| {
            (
                secs(sample.minute),
                sample.steps,
                sample.heart_rate,
                i64::from(sample.estimated),
            )
        })
        .collect();
    // A stable sort keeps repeats in upload order; keep the last of each minute. Uploads
    // usually arrive sorted, which makes this a single pass.
    rows.sort_by_key(|row| row.0);
    let mut last_wins: Vec<StepRow> = Vec::with_capacity(rows.len());
    for row in rows {
        match last_wins.last_mut() {
            Some(previous) if previous.0 == row.0 => *previous = row,
            _ => last_wins.push(row),
        }
    }
    last_wins
}

/// A minute sample row: `(minute, steps, heart_rate, estimated 0/1)`.
pub(crate) type StepRow = (i64, i64, Option<i64>, i64);

/// A batch's sleep episodes as rows `(start, end, stage)`, by start, one per start.
pub(crate) fn sleep_rows(episodes: &[SleepEpisode]) -> Vec<(i64, i64, &'static str)> {
    let by_start: BTreeMap<i64, (i64, &'static str)> = episodes
        .iter()
        .map(|episode| {
            (
                secs(episode.start),
                (secs(episode.end), episode.stage.as_str()),
            )
        })
        .collect();
    by_start
        .into_iter()
        .map(|(start, (end, stage))| (start, end, stage))
        .collect()
}

/// `head (p, p, p, p), (p, p, p, p), … tail` for `rows` rows of four parameters.
fn upsert_sql(
    head: &str,
    rows: usize,
    columns: usize,
    tail: &str,
    style: Placeholders,
) -> Arc<str> {
    let mut sql = String::with_capacity(head.len() + tail.len() + rows * 36);
    sql.push_str(head);
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            match style {
                Placeholders::Numbered => {
                    // Writing to a String cannot fail.
                    let _ = write!(sql, "${}", row * columns + column + 1);
                }
                Placeholders::Positional => sql.push('?'),
            }
        }
        sql.push(')');
    }
    sql.push_str(tail);
    sql.into()
}

/// The statement text for a chunk of `rows` rows; full chunks share one cached text per
/// placeholder style (and so one prepared statement per connection).
fn chunk_sql(
    cache: &[OnceLock<Arc<str>>; 2],
    (head, tail): (&str, &str),
    rows: usize,
    columns: usize,
    style: Placeholders,
) -> sqlx::AssertSqlSafe<Arc<str>> {
    let sql = if rows == INGEST_CHUNK {
        cache[style as usize]
            .get_or_init(|| upsert_sql(head, rows, columns, tail, style))
            .clone()
    } else {
        upsert_sql(head, rows, columns, tail, style)
    };
    // Built only from the constants here and parameter numbers: nothing from a caller.
    sqlx::AssertSqlSafe(sql)
}

/// Upsert of `rows` minute samples `(device, minute, steps, heart_rate, estimated)`.
pub(crate) fn step_upsert_sql(rows: usize, style: Placeholders) -> sqlx::AssertSqlSafe<Arc<str>> {
    static FULL: [OnceLock<Arc<str>>; 2] = [OnceLock::new(), OnceLock::new()];
    let sql = (
        "INSERT INTO step_samples (device_id, minute, steps, heart_rate, estimated) VALUES ",
        " ON CONFLICT (device_id, minute) DO UPDATE \
         SET steps = excluded.steps, heart_rate = excluded.heart_rate, \
         estimated = excluded.estimated",
    );
    chunk_sql(&FULL, sql, rows, 5, style)
}

/// Upsert of `rows` sleep episodes `(device, start, end, stage)`.
pub(crate) fn sleep_upsert_sql(rows: usize, style: Placeholders) -> sqlx::AssertSqlSafe<Arc<str>> {
    static FULL: [OnceLock<Arc<str>>; 2] = [OnceLock::new(), OnceLock::new()];
    let sql = (
        "INSERT INTO sleep_episodes (device_id, start_at, end_at, stage) VALUES ",
        " ON CONFLICT (device_id, start_at) DO UPDATE \
         SET end_at = excluded.end_at, stage = excluded.stage",
    );
    chunk_sql(&FULL, sql, rows, 4, style)
}

/// Implements [`Store`](crate::Store) for `$store`: a struct with a `pool` field of the
/// backend's pool type for reads and a `writer` field for statements that write outside a
/// transaction, an `async fn begin(&self) -> StoreResult<Transaction<'static, $db>>` (on the
/// writer) and a `const PLACEHOLDERS: Placeholders` for generated statements.
macro_rules! impl_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use async_trait::async_trait;
            use chrono::{DateTime, NaiveDate, Utc};
            use sqlx::Transaction;
            use stepwise_engine::{Decision, Rules};

            use $crate::model::*;
            use $crate::sql::*;
            use $crate::{AuthSession, Credentials, Store, StoreError, StoreResult};

            type Tx = Transaction<'static, $db>;

            /// Helpers that run inside a transaction.
            impl $store {
                /// Answers a check of a walk once with `update` (which sets the answer where none
                /// is stored and returns the row): the same answer again returns the stored walk,
                /// a different one is a conflict. `stored` reads the answer and names the check.
                async fn answer_check<'q>(
                    &self,
                    update: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
                    patient_id: Id,
                    session_id: Id,
                    pain: i64,
                    now: DateTime<Utc>,
                    stored: impl Fn(&SessionRecord) -> (Option<i64>, &'static str),
                ) -> StoreResult<SessionRecord> {
                    let answered = update
                        .bind(pain)
                        .bind(secs(now))
                        .bind(session_id)
                        .bind(patient_id)
                        .fetch_optional(&self.writer)
                        .await?;
                    if let Some(row) = answered {
                        return session_from(&row);
                    }
                    let walk = self.session(patient_id, session_id).await?;
                    let (answer, check) = stored(&walk);
                    if answer != Some(pain) {
                        return Err(StoreError::Conflict(format!(
                            "{check} of this walk was already answered differently"
                        )));
                    }
                    Ok(walk)
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
                        " FROM reviews WHERE id = $1 AND patient_id = $2 \
                         AND decision = 'escalate'"
                    ))
                    .bind(review_id)
                    .bind(patient_id)
                    .fetch_one(&mut **tx)
                    .await?;
                    review_from(&row)
                }

                async fn insert_user(
                    tx: &mut Tx,
                    clinic_id: Id,
                    role: Role,
                    user: &NewUser,
                    now: DateTime<Utc>,
                ) -> StoreResult<User> {
                    let row = sqlx::query(concat!(
                        "INSERT INTO users (clinic_id, role, email, display_name, password_hash, \
                         created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
                        user_columns!()
                    ))
                    .bind(clinic_id)
                    .bind(role.as_str())
                    .bind(user.email.as_str())
                    .bind(user.display_name.as_str())
                    .bind(user.password_hash.as_str())
                    .bind(secs(now))
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(|err| conflict_on_unique(err, "e-mail already registered"))?;
                    user_from(&row)
                }

                /// A walk of the patient that was not withdrawn, read inside `tx`.
                async fn live_session(
                    tx: &mut Tx,
                    patient_id: Id,
                    session_id: Id,
                ) -> StoreResult<SessionRecord> {
                    let row = sqlx::query(live_session_sql!())
                    .bind(session_id)
                    .bind(patient_id)
                    .fetch_one(&mut **tx)
                    .await?;
                    session_from(&row)
                }

                /// Keeps one change to a walk for the record.
                async fn keep_change(
                    tx: &mut Tx,
                    session_id: Id,
                    by_user: Id,
                    now: DateTime<Utc>,
                    action: SessionChangeKind,
                    before: &NewSession,
                    after: Option<&NewSession>,
                ) -> StoreResult<SessionChange> {
                    let after = after.map(to_json).transpose()?;
                    let row = sqlx::query(
                        "INSERT INTO session_changes (session_id, at, by_user, action, before, \
                         after) VALUES ($1, $2, $3, $4, $5, $6) \
                         RETURNING id, session_id, at, by_user, action, before, after",
                    )
                    .bind(session_id)
                    .bind(secs(now))
                    .bind(by_user)
                    .bind(action.as_str())
                    .bind(to_json(before)?)
                    .bind(after)
                    .fetch_one(&mut **tx)
                    .await?;
                    session_change_from(&row)
                }

                /// Locks the patient's row for the rest of the transaction and returns the
                /// interval in force (`NotFound` for an unknown patient).
                async fn lock_patient(tx: &mut Tx, patient_id: Id) -> StoreResult<i64> {
                    let row = sqlx::query(
                        "UPDATE patients SET interval_s = interval_s WHERE user_id = $1 \
                         RETURNING interval_s",
                    )
                    .bind(patient_id)
                    .fetch_one(&mut **tx)
                    .await?;
                    row.int("interval_s")
                }

                /// Why a one-time code could not be claimed: `Gone` when it exists (used or
                /// expired), else `NotFound`.
                async fn unclaimable(
                    tx: &mut Tx,
                    exists_sql: &'static str,
                    code_hash: &str,
                ) -> StoreError {
                    match sqlx::query(exists_sql)
                        .bind(code_hash)
                        .fetch_optional(&mut **tx)
                        .await
                    {
                        Ok(Some(_)) => StoreError::Gone,
                        Ok(None) => StoreError::NotFound,
                        Err(err) => err.into(),
                    }
                }

                async fn insert_plan_change(
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
            }

            #[async_trait]
            impl Store for $store {
                // --- clinics and accounts ---

                async fn create_clinic(
                    &self,
                    name: &str,
                    admin: NewUser,
                    now: DateTime<Utc>,
                ) -> StoreResult<(Clinic, User)> {
                    let plan = WalkingPlan::default();
                    let mut tx = self.begin().await?;
                    let row = sqlx::query(concat!(
                        "INSERT INTO clinics (name, default_rules, default_interval_s, \
                         default_bouts, default_rest_s, default_sessions_per_week, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ",
                        clinic_columns!()
                    ))
                    .bind(name)
                    .bind(to_json(&Rules::default())?)
                    .bind(plan.interval_s)
                    .bind(plan.bouts)
                    .bind(plan.rest_s)
                    .bind(plan.sessions_per_week)
                    .bind(secs(now))
                    .fetch_one(&mut *tx)
                    .await?;
                    let clinic = clinic_from(&row)?;
                    let user =
                        Self::insert_user(&mut tx, clinic.id, Role::ClinicAdmin, &admin, now)
                            .await?;
                    tx.commit().await?;
                    Ok((clinic, user))
                }

                async fn clinic(&self, clinic_id: Id) -> StoreResult<Clinic> {
                    let row = sqlx::query(concat!(
                        "SELECT ",
                        clinic_columns!(),
                        " FROM clinics WHERE id = $1"
                    ))
                    .bind(clinic_id)
                    .fetch_one(&self.pool)
                    .await?;
                    clinic_from(&row)
                }

                async fn set_safety_contact(
                    &self,
                    clinic_id: Id,
                    contact: &SafetyContact,
                ) -> StoreResult<()> {
                    let done = sqlx::query(
                        "UPDATE clinics SET safety_phone = $1, safety_text = $2 WHERE id = $3",
                    )
                    .bind(contact.phone.as_deref())
                    .bind(contact.text.as_deref())
                    .bind(clinic_id)
                    .execute(&self.writer)
                    .await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    Ok(())
                }

                async fn set_clinic_defaults(
                    &self,
                    clinic_id: Id,
                    rules: &Rules,
                    plan: &WalkingPlan,
                ) -> StoreResult<()> {
                    let done = sqlx::query(
                        "UPDATE clinics SET default_rules = $1, default_interval_s = $2, \
                         default_bouts = $3, default_rest_s = $4, \
                         default_sessions_per_week = $5 WHERE id = $6",
                    )
                    .bind(to_json(rules)?)
                    .bind(plan.interval_s)
                    .bind(plan.bouts)
                    .bind(plan.rest_s)
                    .bind(plan.sessions_per_week)
                    .bind(clinic_id)
                    .execute(&self.writer)
                    .await?;
                    if done.rows_affected() == 0 {
                        return Err(StoreError::NotFound);
                    }
                    Ok(())
                }

                async fn count_users(&self) -> StoreResult<i64> {
                    let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
                        .fetch_one(&self.pool)
                        .await?;
                    row.int("n")
                }

                async fn user(&self, user_id: Id) -> StoreResult<User> {
                    let row = sqlx::query(concat!(
                        "SELECT ",
                        user_columns!(),
                        " FROM users WHERE id = $1"
                    ))
                    .bind(user_id)
                    .fetch_one(&self.pool)
                    .await?;
                    user_from(&row)
                }

                async fn credentials(&self, email: &str) -> StoreResult<Credentials> {
                    let row = sqlx::query(concat!(
                        "SELECT ",
                        user_columns!(),
                        ", password_hash FROM users WHERE email = $1"
                    ))
                    .bind(email)
                    .fetch_one(&self.pool)
                    .await?;
                    Ok(Credentials {
                        user: user_from(&row)?,
                        password_hash: row.text("password_hash")?,
                    })
                }

                async fn clinic_users(&self, clinic_id: Id, role: Role) -> StoreResult<Vec<User>> {
                    let rows = sqlx::query(concat!(
                        "SELECT ",
                        user_columns!(),
                        " FROM users WHERE clinic_id = $1 AND role = $2 \
                         ORDER BY display_name, id"
                    ))
                    .bind(clinic_id)
                    .bind(role.as_str())
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map(user_from).collect()
                }

                async fn create_invite(
                    &self,
                    invite: NewInvite,
                    now: DateTime<Utc>,
                ) -> StoreResult<()> {
                    if invite.role == Role::Patient && invite.patient.is_none() {
                        return Err(StoreError::Other(
                            "a patient invite needs a therapist and a time zone".into(),
                        ));
                    }
                    let patient = invite.patient.as_ref();
                    sqlx::query(
                        "INSERT INTO invites (code_hash, clinic_id, role, created_by, \
                         created_at, expires_at, therapist_id, timezone) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(invite.code_hash.as_str())
                    .bind(invite.clinic_id)
                    .bind(invite.role.as_str())
                    .bind(invite.created_by)
                    .bind(secs(now))
                    .bind(secs(invite.expires_at))
                    .bind(patient.map(|p| p.therapist_id))
                    .bind(patient.map(|p| p.timezone.as_str()))
                    .execute(&self.writer)
                    .await
                    .map_err(|err| conflict_on_unique(err, "invite code already exists"))?;
                    Ok(())
                }

                async fn accept_invite(
                    &self,
                    code_hash: &str,
                    user: NewUser,
                    now: DateTime<Utc>,
                ) -> StoreResult<User> {
                    let mut tx = self.begin().await?;
                    let claimed = sqlx::query(
                        "UPDATE invites SET used_at = $1 \
                         WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $1 \
                         RETURNING clinic_id, role, therapist_id, timezone",
                    )
                    .bind(secs(now))
                    .bind(code_hash)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(invite) = claimed else {
                        return Err(Self::unclaimable(
                            &mut tx,
                            "SELECT code_hash FROM invites WHERE code_hash = $1",
                            code_hash,
                        )
                        .await);
                    };
                    let clinic_id = invite.int("clinic_id")?;
                    let role = Role::parse(&invite.text("role")?)
                        .ok_or_else(|| StoreError::Other("invite with an unknown role".into()))?;
                    let created = Self::insert_user(&mut tx, clinic_id, role, &user, now).await?;
                    if role == Role::Patient {
                        let (Some(therapist_id), Some(timezone)) =
                            (invite.opt_int("therapist_id")?, invite.opt_text("timezone")?)
                        else {
                            return Err(StoreError::Other(
                                "patient invite without therapist or time zone".into(),
                            ));
                        };
                        let clinic = sqlx::query(concat!(
                            "SELECT ",
                            clinic_columns!(),
                            " FROM clinics WHERE id = $1"
                        ))
                        .bind(clinic_id)
                        .fetch_one(&mut *tx)
                        .await?;
                        let plan = default_plan_from(&clinic)?;
                        sqlx::query(
                            "INSERT INTO patients (user_id, therapist_id, timezone, interval_s, \
                             bouts, rest_s, sessions_per_week, frozen, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                        )
                        .bind(created.id)
                        .bind(therapist_id)
                        .bind(timezone)
                        .bind(plan.interval_s)
                        .bind(plan.bouts)
                        .bind(plan.rest_s)
                        .bind(plan.sessions_per_week)
                        .bind(false)
                        .bind(secs(now))
                        .execute(&mut *tx)
                        .await?;
                        sqlx::query(
                            "INSERT INTO rules_versions (patient_id, version, rules, created_at, \
                             created_by) VALUES ($1, 1, $2, $3, NULL)",
                        )
                        .bind(created.id)
                        .bind(clinic.text("default_rules")?)
                        .bind(secs(now))
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await?;
                    Ok(created)
                }

                async fn create_password_reset(
                    &self,
                    code_hash: &str,
                    user_id: Id,
                    created_by: Option<Id>,
                    now: DateTime<Utc>,
                    expires_at: DateTime<Utc>,
                ) -> StoreResult<()> {
                    let mut tx = self.begin().await?;
                    // A newer code voids the older ones: only the last one handed out works.
                    sqlx::query(
                        "UPDATE password_resets SET used_at = $1 \
                         WHERE user_id = $2 AND used_at IS NULL",
                    )
                    .bind(secs(now))
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO password_resets (code_hash, user_id, created_by, \
                         created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(code_hash)
                    .bind(user_id)
                    .bind(created_by)
                    .bind(secs(now))
                    .bind(secs(expires_at))
                    .execute(&mut *tx)
                    .await
                    .map_err(|err| conflict_on_unique(err, "reset code already exists"))?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn reset_password(
                    &self,
                    code_hash: &str,
                    password_hash: &str,
                    now: DateTime<Utc>,
                ) -> StoreResult<User> {
                    let mut tx = self.begin().await?;
                    let claimed = sqlx::query(
                        "UPDATE password_resets SET used_at = $1 \
                         WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $1 \
                         RETURNING user_id",
                    )
                    .bind(secs(now))
                    .bind(code_hash)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(claimed) = claimed else {
                        return Err(Self::unclaimable(
                            &mut tx,
                            "SELECT code_hash FROM password_resets WHERE code_hash = $1",
                            code_hash,
                        )
                        .await);
                    };
                    let user_id = claimed.int("user_id")?;
                    let row = sqlx::query(concat!(
                        "UPDATE users SET password_hash = $1 WHERE id = $2 RETURNING ",
                        user_columns!()
                    ))
                    .bind(password_hash)
                    .bind(user_id)
                    .fetch_one(&mut *tx)
                    .await?;
                    // Whoever knew the old password is signed out everywhere.
                    sqlx::query("DELETE FROM auth_sessions WHERE user_id = $1")
                        .bind(user_id)
                        .execute(&mut *tx)
                        .await?;
                    let user = user_from(&row)?;
                    tx.commit().await?;
                    Ok(user)
                }

                async fn create_auth_session(
                    &self,
                    token_hash: &str,
                    user_id: Id,
                    csrf_token: &str,
                    now: DateTime<Utc>,
                    expires_at: DateTime<Utc>,
                ) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO auth_sessions (token_hash, user_id, csrf_token, created_at, \
                         expires_at) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(token_hash)
                    .bind(user_id)
                    .bind(csrf_token)
                    .bind(secs(now))
                    .bind(secs(expires_at))
                    .execute(&self.writer)
                    .await?;
                    Ok(())
                }

                async fn auth_session(
                    &self,
                    token_hash: &str,
                    now: DateTime<Utc>,
                ) -> StoreResult<AuthSession> {
                    let row = sqlx::query(concat!(
                        "SELECT ",
                        user_columns!(),
                        ", a.csrf_token, a.expires_at FROM auth_sessions a \
                         JOIN users ON users.id = a.user_id \
                         WHERE a.token_hash = $1 AND a.expires_at > $2"
                    ))
                    .bind(token_hash)
                    .bind(secs(now))
                    .fetch_one(&self.pool)
                    .await?;
                    Ok(AuthSession {
                        user: user_from(&row)?,
                        csrf_token: row.text("csrf_token")?,
                        expires_at: row.instant("expires_at")?,
                    })
                }

                async fn delete_auth_session(&self, token_hash: &str) -> StoreResult<()> {
                    sqlx::query("DELETE FROM auth_sessions WHERE token_hash = $1")
                        .bind(token_hash)
                        .execute(&self.writer)
                        .await?;
                    Ok(())
                }

                // --- patients, plans, rules ---

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
                    let from_interval_s = Self::lock_patient(&mut tx, patient_id).await?;
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
                    let entry = Self::insert_plan_change(
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
                    Self::lock_patient(&mut tx, patient_id).await?;
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

                // --- walks and flares ---

                async fn record_session(
                    &self,
                    patient_id: Id,
                    session: NewSession,
                    now: DateTime<Utc>,
                ) -> StoreResult<(SessionRecord, bool)> {
                    let session = stored_session(session);
                    let inserted = sqlx::query(concat!(
                        "INSERT INTO sessions (patient_id, client_id, started_at, ended_at, \
                         walked_s, bouts, pain_before, pain_during_max, effort, rest_type, \
                         notes, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                         ON CONFLICT (patient_id, client_id) DO NOTHING RETURNING ",
                        session_columns!()
                    ))
                    .bind(patient_id)
                    .bind(session.client_id.as_str())
                    .bind(secs(session.started_at))
                    .bind(secs(session.ended_at))
                    .bind(session.walked_s)
                    .bind(session.bouts)
                    .bind(session.pain_before)
                    .bind(session.pain_during_max)
                    .bind(session.effort)
                    .bind(session.rest_type.map(RestType::as_str))
                    .bind(session.notes.as_deref())
                    .bind(secs(now))
                    .fetch_optional(&self.writer)
                    .await?;
                    if let Some(row) = inserted {
                        return Ok((session_from(&row)?, true));
                    }
                    let row = sqlx::query(concat!(
                        "SELECT ",
                        session_columns!(),
                        " FROM sessions WHERE patient_id = $1 AND client_id = $2"
                    ))
                    .bind(patient_id)
                    .bind(session.client_id.as_str())
                    .fetch_one(&self.pool)
                    .await?;
                    let stored = session_from(&row)?;
                    // A retry of a walk corrected since is the same walk as first logged.
                    let same = stored.logged == session || {
                        let earlier = sqlx::query(
                            "SELECT before FROM session_changes WHERE session_id = $1",
                        )
                        .bind(stored.id)
                        .fetch_all(&self.pool)
                        .await?;
                        let mut found = false;
                        for row in &earlier {
                            found |= row.json::<NewSession>("before")? == session;
                        }
                        found
                    };
                    retried(stored, same, &session.client_id, "walk")
                }

                async fn session(
                    &self,
                    patient_id: Id,
                    session_id: Id,
                ) -> StoreResult<SessionRecord> {
                    let row = sqlx::query(live_session_sql!())
                    .bind(session_id)
                    .bind(patient_id)
                    .fetch_one(&self.pool)
                    .await?;
                    session_from(&row)
                }

                async fn correct_session(
                    &self,
                    patient_id: Id,
                    session_id: Id,
                    corrected: &NewSession,
                    by_user: Id,
                    now: DateTime<Utc>,
                ) -> StoreResult<SessionRecord> {
                    let mut tx = self.begin().await?;
                    Self::lock_patient(&mut tx, patient_id).await?;
                    let before = Self::live_session(&mut tx, patient_id, session_id).await?;
                    let after = NewSession {
                        client_id: before.logged.client_id.clone(),
                        started_at: before.logged.started_at,
                        ended_at: before.logged.ended_at,
                        ..corrected.clone()
                    };
                    if after == before.logged {
                        return Ok(before);
                    }
                    let row = sqlx::query(concat!(
                        "UPDATE sessions SET walked_s = $1, bouts = $2, pain_before = $3, \
                         pain_during_max = $4, effort = $5, rest_type = $6, notes = $7 \
                         WHERE id = $8 RETURNING ",
                        session_columns!()
                    ))
                    .bind(after.walked_s)
                    .bind(after.bouts)
                    .bind(after.pain_before)
                    .bind(after.pain_during_max)
                    .bind(after.effort)
                    .bind(after.rest_type.map(RestType::as_str))
                    .bind(after.notes.as_deref())
                    .bind(session_id)
                    .fetch_one(&mut *tx)
                    .await?;
                    let saved = session_from(&row)?;
                    Self::keep_change(
                        &mut tx,
                        session_id,
                        by_user,
                        now,
                        SessionChangeKind::Corrected,
                        &before.logged,
                        Some(&saved.logged),
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(saved)
                }

                async fn withdraw_session(
                    &self,
                    patient_id: Id,
                    session_id: Id,
                    by_user: Id,
                    now: DateTime<Utc>,
                ) -> StoreResult<SessionChange> {
                    let mut tx = self.begin().await?;
                    Self::lock_patient(&mut tx, patient_id).await?;
                    let before = Self::live_session(&mut tx, patient_id, session_id).await?;
                    sqlx::query("UPDATE sessions SET withdrawn_at = $1 WHERE id = $2")
                        .bind(secs(now))
                        .bind(session_id)
                        .execute(&mut *tx)
                        .await?;
                    let change = Self::keep_change(
                        &mut tx,
                        session_id,
                        by_user,
                        now,
                        SessionChangeKind::Withdrawn,
                        &before.logged,
                        None,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(change)
                }

                async fn session_changes(
                    &self,
                    patient_id: Id,
                    from: DateTime<Utc>,
                    to: DateTime<Utc>,
                ) -> StoreResult<Vec<SessionChange>> {
                    let rows = sqlx::query(
                        "SELECT c.id, c.session_id, c.at, c.by_user, c.action, c.before, c.after \
                         FROM session_changes c JOIN sessions s ON s.id = c.session_id \
                         WHERE s.patient_id = $1 AND c.at >= $2 AND c.at < $3 \
                         ORDER BY c.at, c.id",
                    )
                    .bind(patient_id)
                    .bind(secs(from))
                    .bind(secs(to))
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map(session_change_from).collect()
                }

                async fn answer_two_hour_check(
                    &self,
                    patient_id: Id,
                    session_id: Id,
                    pain_after_2h: i64,
                    now: DateTime<Utc>,
                ) -> StoreResult<SessionRecord> {
                    let answered = sqlx::query(concat!(
                        "UPDATE sessions SET pain_after_2h = $1, answered_at = $2 \
                         WHERE id = $3 AND patient_id = $4 AND pain_after_2h IS NULL RETURNING ",
                        session_columns!()
                    ));
                    self.answer_check(answered, patient_id, session_id, pain_after_2h, now, |s| {
                        (s.pain_after_2h, "the two-hour check")
                    })
                    .await
                }

                async fn answer_next_morning_check(
                    &self,
                    patient_id: Id,
                    session_id: Id,
                    pain_next_morning: i64,
                    now: DateTime<Utc>,
                ) -> StoreResult<SessionRecord> {
                    let answered = sqlx::query(concat!(
                        "UPDATE sessions SET pain_next_morning = $1, next_morning_answered_at = $2 \
                         WHERE id = $3 AND patient_id = $4 AND pain_next_morning IS NULL \
                         RETURNING ",
                        session_columns!()
                    ));
                    self.answer_check(answered, patient_id, session_id, pain_next_morning, now, |s| {
                        (s.pain_next_morning, "the next-morning check")
                    })
                    .await
                }

                async fn sessions_between(
                    &self,
                    patient_id: Id,
                    from: DateTime<Utc>,
                    to: DateTime<Utc>,
                ) -> StoreResult<Vec<SessionRecord>> {
                    let rows = sqlx::query(concat!(
                        "SELECT ",
                        session_columns!(),
                        " FROM sessions WHERE patient_id = $1 AND started_at >= $2 \
                         AND started_at < $3 AND withdrawn_at IS NULL ORDER BY started_at, id"
                    ))
                    .bind(patient_id)
                    .bind(secs(from))
                    .bind(secs(to))
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map(session_from).collect()
                }

                async fn report_flare(
                    &self,
                    patient_id: Id,
                    flare: NewFlare,
                    now: DateTime<Utc>,
                ) -> StoreResult<(FlareRecord, bool)> {
                    let flare = stored_flare(flare);
                    let inserted = sqlx::query(concat!(
                        "INSERT INTO flares (patient_id, client_id, started_at, pain, notes, \
                         created_at) VALUES ($1, $2, $3, $4, $5, $6) \
                         ON CONFLICT (patient_id, client_id) DO NOTHING RETURNING ",
                        flare_columns!()
                    ))
                    .bind(patient_id)
                    .bind(flare.client_id.as_str())
                    .bind(secs(flare.started_at))
                    .bind(flare.pain)
                    .bind(flare.notes.as_deref())
                    .bind(secs(now))
                    .fetch_optional(&self.writer)
                    .await?;
                    if let Some(row) = inserted {
                        return Ok((flare_from(&row)?, true));
                    }
                    let row = sqlx::query(concat!(
                        "SELECT ",
                        flare_columns!(),
                        " FROM flares WHERE patient_id = $1 AND client_id = $2"
                    ))
                    .bind(patient_id)
                    .bind(flare.client_id.as_str())
                    .fetch_one(&self.pool)
                    .await?;
                    let stored = flare_from(&row)?;
                    let same = stored.reported == flare;
                    retried(stored, same, &flare.client_id, "flare")
                }

                async fn flares_between(
                    &self,
                    patient_id: Id,
                    from: DateTime<Utc>,
                    to: DateTime<Utc>,
                ) -> StoreResult<Vec<FlareRecord>> {
                    let rows = sqlx::query(concat!(
                        "SELECT ",
                        flare_columns!(),
                        " FROM flares WHERE patient_id = $1 AND started_at >= $2 \
                         AND started_at < $3 ORDER BY started_at, id"
                    ))
                    .bind(patient_id)
                    .bind(secs(from))
                    .bind(secs(to))
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map(flare_from).collect()
                }

                // --- bands ---

                async fn create_pairing_code(
                    &self,
                    patient_id: Id,
                    code_hash: &str,
                    expires_at: DateTime<Utc>,
                ) -> StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO pairing_codes (code_hash, patient_id, expires_at) \
                         VALUES ($1, $2, $3)",
                    )
                    .bind(code_hash)
                    .bind(patient_id)
                    .bind(secs(expires_at))
                    .execute(&self.writer)
                    .await
                    .map_err(|err| conflict_on_unique(err, "pairing code already exists"))?;
                    Ok(())
                }

                async fn pair_device(
                    &self,
                    code_hash: &str,
                    device: NewDevice,
                    token_hash: &str,
                    now: DateTime<Utc>,
                ) -> StoreResult<Device> {
                    let mut tx = self.begin().await?;
                    let claimed = sqlx::query(
                        "UPDATE pairing_codes SET used_at = $1 \
                         WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $1 \
                         RETURNING patient_id",
                    )
                    .bind(secs(now))
                    .bind(code_hash)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(code) = claimed else {
                        return Err(Self::unclaimable(
                            &mut tx,
                            "SELECT code_hash FROM pairing_codes WHERE code_hash = $1",
                            code_hash,
                        )
                        .await);
                    };
                    // Pairing a band again replaces its token: the old pairing is revoked.
                    sqlx::query(
                        "UPDATE devices SET revoked_at = $1, previous_token_hash = NULL \
                         WHERE patient_id = $2 AND address = $3 AND revoked_at IS NULL",
                    )
                    .bind(secs(now))
                    .bind(code.int("patient_id")?)
                    .bind(device.address.as_str())
                    .execute(&mut *tx)
                    .await?;
                    let row = sqlx::query(concat!(
                        "INSERT INTO devices (patient_id, kind, address, name, token_hash, \
                         paired_at, token_expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                         RETURNING ",
                        device_columns!()
                    ))
                    .bind(code.int("patient_id")?)
                    .bind(device.kind.as_str())
                    .bind(device.address.as_str())
                    .bind(device.name.as_str())
                    .bind(token_hash)
                    .bind(secs(now))
                    .bind(secs(now + DEVICE_TOKEN_LIFETIME))
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|err| conflict_on_unique(err, "device token already in use"))?;
                    let paired = device_from(&row)?;
                    tx.commit().await?;
                    Ok(paired)
                }

                async fn authenticate_device(
                    &self,
                    token_hash: &str,
                    now: DateTime<Utc>,
                ) -> StoreResult<Device> {
                    // The current token retires the one it replaced on its first use.
                    let row = sqlx::query(concat!(
                        "UPDATE devices SET last_seen_at = $2, previous_token_hash = \
                         CASE WHEN token_hash = $1 THEN NULL ELSE previous_token_hash END \
                         WHERE token_hash = $1 OR previous_token_hash = $1 RETURNING ",
                        device_columns!()
                    ))
                    .bind(token_hash)
                    .bind(secs(now))
                    .fetch_one(&self.writer)
                    .await?;
                    device_from(&row)
                }

                async fn renew_device_token(
                    &self,
                    device_id: Id,
                    presented_hash: &str,
                    new_hash: &str,
                    now: DateTime<Utc>,
                ) -> StoreResult<Device> {
                    // Presented with the current token, that token becomes the previous one;
                    // presented with the previous one (the last renewal's answer was lost),
                    // only the current one is replaced.
                    let row = sqlx::query(concat!(
                        "UPDATE devices SET previous_token_hash = CASE WHEN token_hash = $2 \
                         THEN token_hash ELSE previous_token_hash END, token_hash = $3, \
                         token_expires_at = $4 \
                         WHERE id = $1 AND revoked_at IS NULL \
                         AND (token_hash = $2 OR previous_token_hash = $2) RETURNING ",
                        device_columns!()
                    ))
                    .bind(device_id)
                    .bind(presented_hash)
                    .bind(new_hash)
                    .bind(secs(now + DEVICE_TOKEN_LIFETIME))
                    .fetch_one(&self.writer)
                    .await
                    .map_err(|err| conflict_on_unique(err, "device token already in use"))?;
                    device_from(&row)
                }

                async fn revoke_device(
                    &self,
                    patient_id: Id,
                    device_id: Id,
                    now: DateTime<Utc>,
                ) -> StoreResult<Device> {
                    let row = sqlx::query(concat!(
                        "UPDATE devices SET revoked_at = COALESCE(revoked_at, $3), \
                         previous_token_hash = NULL \
                         WHERE id = $1 AND patient_id = $2 RETURNING ",
                        device_columns!()
                    ))
                    .bind(device_id)
                    .bind(patient_id)
                    .bind(secs(now))
                    .fetch_one(&self.writer)
                    .await?;
                    device_from(&row)
                }

                async fn devices(&self, patient_id: Id) -> StoreResult<Vec<Device>> {
                    let rows = sqlx::query(concat!(
                        "SELECT ",
                        device_columns!(),
                        " FROM devices WHERE patient_id = $1 ORDER BY paired_at, id"
                    ))
                    .bind(patient_id)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map(device_from).collect()
                }

                async fn ingest_samples(
                    &self,
                    device_id: Id,
                    batch: &SampleBatch,
                    days: &[LocalDay],
                ) -> StoreResult<IngestSummary> {
                    let steps = step_rows(&batch.steps);
                    let sleep = sleep_rows(&batch.sleep);
                    if steps.is_empty() && sleep.is_empty() {
                        return Ok(IngestSummary { steps: 0, sleep: 0 });
                    }
                    let mut tx = self.begin().await?;
                    for chunk in steps.chunks(INGEST_CHUNK) {
                        let sql = step_upsert_sql(chunk.len(), Self::PLACEHOLDERS);
                        let mut query = sqlx::query(sql);
                        for &(minute, steps, heart_rate, estimated) in chunk {
                            query = query
                                .bind(device_id)
                                .bind(minute)
                                .bind(steps)
                                .bind(heart_rate)
                                .bind(estimated);
                        }
                        query.execute(&mut *tx).await?;
                    }
                    for chunk in sleep.chunks(INGEST_CHUNK) {
                        let sql = sleep_upsert_sql(chunk.len(), Self::PLACEHOLDERS);
                        let mut query = sqlx::query(sql);
                        for &(start, end, stage) in chunk {
                            query = query.bind(device_id).bind(start).bind(end).bind(stage);
                        }
                        query.execute(&mut *tx).await?;
                    }
                    if !days.is_empty() {
                        let patient_id: Id = sqlx::query_scalar(Self::DEVICE_PATIENT_LOCKED)
                            .bind(device_id)
                            .fetch_one(&mut *tx)
                            .await?;
                        for day in days {
                            sqlx::query(BAND_DAY_UPSERT)
                                .bind(patient_id)
                                .bind(day_text(day.date))
                                .bind(secs(day.start))
                                .bind(secs(day.end))
                                .execute(&mut *tx)
                                .await?;
                        }
                    }
                    tx.commit().await?;
                    Ok(IngestSummary {
                        steps: steps.len() as u64,
                        sleep: sleep.len() as u64,
                    })
                }

                async fn band_days(
                    &self,
                    patient_id: Id,
                    from: NaiveDate,
                    to: NaiveDate,
                ) -> StoreResult<Vec<BandDay>> {
                    let rows = sqlx::query(
                        "SELECT day, steps, minutes_with_data, sleep_min FROM band_days \
                         WHERE patient_id = $1 AND day >= $2 AND day <= $3 ORDER BY day",
                    )
                    .bind(patient_id)
                    .bind(day_text(from))
                    .bind(day_text(to))
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map(band_day_from).collect()
                }

                async fn set_next_visit(
                    &self,
                    patient_id: Id,
                    visit: Option<NaiveDate>,
                ) -> StoreResult<()> {
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

                async fn step_samples(
                    &self,
                    patient_id: Id,
                    from: DateTime<Utc>,
                    to: DateTime<Utc>,
                ) -> StoreResult<Vec<StepSample>> {
                    let rows = sqlx::query(
                        "SELECT s.minute AS minute, MAX(s.steps) AS steps, \
                         MAX(s.heart_rate) AS heart_rate, MIN(s.estimated) AS estimated \
                         FROM devices d JOIN step_samples s ON s.device_id = d.id \
                         WHERE d.patient_id = $1 AND s.minute >= $2 AND s.minute < $3 \
                         GROUP BY s.minute ORDER BY s.minute",
                    )
                    .bind(patient_id)
                    .bind(secs(from))
                    .bind(secs(to))
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map(step_sample_from).collect()
                }

                async fn sleep_episodes(
                    &self,
                    patient_id: Id,
                    from: DateTime<Utc>,
                    to: DateTime<Utc>,
                ) -> StoreResult<Vec<SleepEpisode>> {
                    let rows = sqlx::query(
                        "SELECT e.start_at, e.end_at, e.stage \
                         FROM devices d JOIN sleep_episodes e ON e.device_id = d.id \
                         WHERE d.patient_id = $1 AND e.start_at >= $2 AND e.start_at < $3 \
                         ORDER BY e.start_at, e.device_id",
                    )
                    .bind(patient_id)
                    .bind(secs(from))
                    .bind(secs(to))
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map(sleep_episode_from).collect()
                }

                // --- weekly reviews ---

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
                    notify: &(dyn for<'r> Fn(&'r ReviewRecord) -> Vec<$crate::NewReminder> + Send + Sync),
                ) -> StoreResult<(ReviewRecord, bool)> {
                    let week_start = day_text(review.week_start);
                    let mut tx = self.begin().await?;
                    // The unique (patient, week) decides which of two racing saves wins; the
                    // loser inserts nothing and so applies nothing.
                    let inserted = sqlx::query(concat!(
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
                    .bind(secs(now))
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(row) = inserted else {
                        let row = sqlx::query(concat!(
                            "SELECT ",
                            review_columns!(),
                            " FROM reviews WHERE patient_id = $1 AND week_start = $2"
                        ))
                        .bind(patient_id)
                        .bind(week_start.as_str())
                        .fetch_one(&mut *tx)
                        .await?;
                        return Ok((review_from(&row)?, false));
                    };
                    let saved = review_from(&row)?;
                    if saved.applied {
                        let current = Self::lock_patient(&mut tx, patient_id).await?;
                        let output = &saved.output;
                        if output.interval_s != current {
                            sqlx::query("UPDATE patients SET interval_s = $1 WHERE user_id = $2")
                                .bind(output.interval_s)
                                .bind(patient_id)
                                .execute(&mut *tx)
                                .await?;
                            let reason = stepwise_engine::reason_messages(&output.reasons);
                            Self::insert_plan_change(
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
                        Self::insert_reminder(&mut tx, &reminder, now).await?;
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

                async fn reopen_escalation(
                    &self,
                    patient_id: Id,
                    review_id: Id,
                ) -> StoreResult<ReviewRecord> {
                    let mut tx = self.begin().await?;
                    let review = Self::escalation_review(&mut tx, patient_id, review_id).await?;
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
                         WHERE id = $3 AND patient_id = $4 AND decision = 'escalate' \
                         AND acknowledged_at IS NULL",
                    )
                    .bind(secs(now))
                    .bind(by_user)
                    .bind(review_id)
                    .bind(patient_id)
                    .bind(note)
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
                    let review = Self::escalation_review(&mut tx, patient_id, review_id).await?;
                    tx.commit().await?;
                    Ok(review)
                }

                // --- audit ---

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
                    let rows = sqlx::query(concat!(
                        "SELECT ",
                        audit_columns!(),
                        " FROM audit_log WHERE patient_id = $1 ORDER BY at, id"
                    ))
                    .bind(patient_id)
                    .fetch_all(&self.pool)
                    .await?;
                    rows.iter().map(audit_from).collect()
                }
            }
        };
    };
}

pub(crate) use impl_store;
