//! Walks (logged sessions), their two-hour and next-morning checks, corrections and
//! withdrawals, and flares.

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use sqlx::any::AnyRow;

use crate::db::{Key, On, Query, SqlStore, Tx, insert_once};
use crate::model::{
    FlareRecord, Id, NewFlare, NewSession, RestType, SessionChange, SessionChangeKind,
    SessionRecord,
};
use crate::patients::lock_patient;
use crate::values::{Cells, parse_name, secs, to_json};
use crate::{StoreError, StoreResult};

/// The columns of a walk.
macro_rules! session_columns {
    () => {
        "id, patient_id, client_id, started_at, ended_at, walked_s, bouts, pain_before, \
         pain_during_max, effort, rest_type, notes, pain_after_2h, answered_at, \
         pain_next_morning, next_morning_answered_at, created_at, withdrawn_at"
    };
}

/// The columns of a flare.
macro_rules! flare_columns {
    () => {
        "id, patient_id, client_id, started_at, pain, notes, created_at"
    };
}

/// One walk of a patient (`$1` its id, `$2` the patient), unless it was withdrawn.
const LIVE_SESSION: &str = concat!(
    "SELECT ",
    session_columns!(),
    " FROM sessions WHERE id = $1 AND patient_id = $2 AND withdrawn_at IS NULL"
);

/// Walks, their checks and corrections, and flares (a part of [`Store`](crate::Store)).
#[async_trait]
pub trait WalkStore: Send + Sync {
    /// Logs a walk. Idempotent on the client id: the same walk again returns the stored one
    /// (`false` = it already existed); a different walk under the same id is a `Conflict`.
    async fn record_session(
        &self,
        patient_id: Id,
        session: NewSession,
        now: DateTime<Utc>,
    ) -> StoreResult<(SessionRecord, bool)>;

    /// One walk of a patient (`NotFound` when withdrawn).
    async fn session(&self, patient_id: Id, session_id: Id) -> StoreResult<SessionRecord>;

    /// Records the two-hour answer. The same answer again is accepted; a different one once
    /// answered is a `Conflict`.
    async fn answer_two_hour_check(
        &self,
        patient_id: Id,
        session_id: Id,
        pain_after_2h: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<SessionRecord>;

    /// Answers a walk's next-morning check ("how is your pain this morning?"), as the
    /// two-hour check: the same answer again returns the stored walk; a different one is
    /// `Conflict`.
    async fn answer_next_morning_check(
        &self,
        patient_id: Id,
        session_id: Id,
        pain_next_morning: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<SessionRecord>;

    /// Corrects a logged walk: its walked time, bouts, pains, effort, rest and notes become
    /// `corrected`'s (its client id and times stay), and the change is kept with the walk as
    /// it was. The same correction again changes nothing and keeps no second record.
    /// `NotFound` for an unknown or withdrawn walk.
    async fn correct_session(
        &self,
        patient_id: Id,
        session_id: Id,
        corrected: &NewSession,
        by_user: Id,
        now: DateTime<Utc>,
    ) -> StoreResult<SessionRecord>;

    /// Withdraws a logged walk: it no longer counts anywhere (it leaves every list of walks),
    /// and the change is kept with the walk as it was. `NotFound` for an unknown or already
    /// withdrawn walk.
    async fn withdraw_session(
        &self,
        patient_id: Id,
        session_id: Id,
        by_user: Id,
        now: DateTime<Utc>,
    ) -> StoreResult<SessionChange>;

    /// Every change to the patient's walks made in `[from, to)`, oldest first.
    async fn session_changes(
        &self,
        patient_id: Id,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<SessionChange>>;

    /// Walks that started in `[from, to)`, oldest first; withdrawn walks are left out.
    async fn sessions_between(
        &self,
        patient_id: Id,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<SessionRecord>>;

    /// Reports a flare, idempotent on the client id.
    async fn report_flare(
        &self,
        patient_id: Id,
        flare: NewFlare,
        now: DateTime<Utc>,
    ) -> StoreResult<(FlareRecord, bool)>;

    /// Flares that started in `[from, to)`, oldest first.
    async fn flares_between(
        &self,
        patient_id: Id,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<FlareRecord>>;
}

#[async_trait]
impl WalkStore for SqlStore {
    async fn record_session(
        &self,
        patient_id: Id,
        session: NewSession,
        now: DateTime<Utc>,
    ) -> StoreResult<(SessionRecord, bool)> {
        let session = stored_session(session);
        let insert = sqlx::query(concat!(
            "INSERT INTO sessions (patient_id, client_id, started_at, ended_at, walked_s, bouts, \
             pain_before, pain_during_max, effort, rest_type, notes, created_at) \
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
        .bind(secs(now));
        let stored = sqlx::query(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions WHERE patient_id = $1 AND client_id = $2"
        ))
        .bind(patient_id)
        .bind(session.client_id.as_str());
        let key = Key {
            client_id: &session.client_id,
            what: "walk",
        };
        insert_once(
            On::Store(self),
            insert,
            stored,
            session_from,
            key,
            |stored| async {
                // A retry of a walk corrected since is the same walk as first logged.
                if stored.logged == session {
                    return Ok((stored, true));
                }
                let earlier =
                    sqlx::query("SELECT before FROM session_changes WHERE session_id = $1")
                        .bind(stored.id)
                        .fetch_all(&self.pool)
                        .await?;
                let mut found = false;
                for row in &earlier {
                    found |= row.json::<NewSession>("before")? == session;
                }
                Ok((stored, found))
            },
        )
        .await
    }

    async fn session(&self, patient_id: Id, session_id: Id) -> StoreResult<SessionRecord> {
        let row = sqlx::query(LIVE_SESSION)
            .bind(session_id)
            .bind(patient_id)
            .fetch_one(&self.pool)
            .await?;
        session_from(&row)
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
        self.answer_check(
            answered,
            patient_id,
            session_id,
            pain_next_morning,
            now,
            |s| (s.pain_next_morning, "the next-morning check"),
        )
        .await
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
        lock_patient(&mut tx, patient_id).await?;
        let before = live_session(&mut tx, patient_id, session_id).await?;
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
        keep_change(
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
        lock_patient(&mut tx, patient_id).await?;
        let before = live_session(&mut tx, patient_id, session_id).await?;
        sqlx::query("UPDATE sessions SET withdrawn_at = $1 WHERE id = $2")
            .bind(secs(now))
            .bind(session_id)
            .execute(&mut *tx)
            .await?;
        let change = keep_change(
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
        let insert = sqlx::query(concat!(
            "INSERT INTO flares (patient_id, client_id, started_at, pain, notes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (patient_id, client_id) DO NOTHING RETURNING ",
            flare_columns!()
        ))
        .bind(patient_id)
        .bind(flare.client_id.as_str())
        .bind(secs(flare.started_at))
        .bind(flare.pain)
        .bind(flare.notes.as_deref())
        .bind(secs(now));
        let stored = sqlx::query(concat!(
            "SELECT ",
            flare_columns!(),
            " FROM flares WHERE patient_id = $1 AND client_id = $2"
        ))
        .bind(patient_id)
        .bind(flare.client_id.as_str());
        let key = Key {
            client_id: &flare.client_id,
            what: "flare",
        };
        insert_once(
            On::Store(self),
            insert,
            stored,
            flare_from,
            key,
            |stored| async {
                let same = stored.reported == flare;
                Ok((stored, same))
            },
        )
        .await
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
}

impl SqlStore {
    /// Answers a check of a walk once with `update` (which sets the answer where none
    /// is stored and returns the row): the same answer again returns the stored walk,
    /// a different one is a conflict. `stored` reads the answer and names the check.
    async fn answer_check<'q>(
        &self,
        update: Query<'q>,
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
}

/// A walk of the patient that was not withdrawn, read inside `tx`.
async fn live_session(tx: &mut Tx, patient_id: Id, session_id: Id) -> StoreResult<SessionRecord> {
    let row = sqlx::query(LIVE_SESSION)
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

/// A logged walk as it will read back: instants on whole seconds.
fn stored_session(session: NewSession) -> NewSession {
    NewSession {
        started_at: session.started_at.trunc_subsecs(0),
        ended_at: session.ended_at.trunc_subsecs(0),
        ..session
    }
}

/// A reported flare as it will read back: instants on whole seconds.
fn stored_flare(flare: NewFlare) -> NewFlare {
    NewFlare {
        started_at: flare.started_at.trunc_subsecs(0),
        ..flare
    }
}

fn session_from(row: &AnyRow) -> StoreResult<SessionRecord> {
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

fn session_change_from(row: &AnyRow) -> StoreResult<SessionChange> {
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

fn flare_from(row: &AnyRow) -> StoreResult<FlareRecord> {
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
