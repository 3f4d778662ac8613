//! Walks, their changes and flares as the API shows them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stepwise_store as store;
use utoipa::ToSchema;

/// How the patient rested between bouts (separates neurogenic from vascular claudication).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RestType {
    /// Sat down.
    Sit,
    /// Bent forward (flexion), e.g. leaning on a trolley.
    BendForward,
    /// Stood still.
    StandStill,
}

impl From<store::RestType> for RestType {
    fn from(rest: store::RestType) -> Self {
        match rest {
            store::RestType::Sit => RestType::Sit,
            store::RestType::BendForward => RestType::BendForward,
            store::RestType::StandStill => RestType::StandStill,
        }
    }
}

impl From<RestType> for store::RestType {
    fn from(rest: RestType) -> Self {
        match rest {
            RestType::Sit => store::RestType::Sit,
            RestType::BendForward => store::RestType::BendForward,
            RestType::StandStill => store::RestType::StandStill,
        }
    }
}

/// A walk as it was logged.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Walk {
    /// The phone's id for the walk: logging the same walk twice stores it once.
    pub client_id: String,
    /// Start of the walk.
    pub started_at: DateTime<Utc>,
    /// End of the walk.
    pub ended_at: DateTime<Utc>,
    /// Time actually walked, seconds.
    pub walked_s: i64,
    /// Bouts walked.
    pub bouts: i64,
    /// Pain before, 0–10.
    pub pain_before: Option<i64>,
    /// Highest pain during, 0–10.
    pub pain_during_max: Option<i64>,
    /// Effort, Borg CR10 (0–10).
    pub effort: Option<i64>,
    /// How the patient rested between bouts.
    pub rest_type: Option<RestType>,
    /// The patient's notes.
    pub notes: Option<String>,
}

impl From<store::NewSession> for Walk {
    fn from(walk: store::NewSession) -> Self {
        Walk {
            client_id: walk.client_id,
            started_at: walk.started_at,
            ended_at: walk.ended_at,
            walked_s: walk.walked_s,
            bouts: walk.bouts,
            pain_before: walk.pain_before,
            pain_during_max: walk.pain_during_max,
            effort: walk.effort,
            rest_type: walk.rest_type.map(RestType::from),
            notes: walk.notes,
        }
    }
}

/// A stored walk with its checks' answers once given.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Session {
    /// The walk's id.
    pub id: i64,
    /// The patient.
    pub patient_id: i64,
    /// What was logged.
    #[serde(flatten)]
    pub logged: Walk,
    /// Pain two hours after, 0–10, once answered.
    pub pain_after_2h: Option<i64>,
    /// When the two-hour answer came.
    pub answered_at: Option<DateTime<Utc>>,
    /// Pain on waking the morning after, 0–10, once answered.
    pub pain_next_morning: Option<i64>,
    /// When the next-morning answer came.
    pub next_morning_answered_at: Option<DateTime<Utc>>,
    /// When the walk was logged.
    pub created_at: DateTime<Utc>,
    /// When it was withdrawn (it then counts nowhere).
    pub withdrawn_at: Option<DateTime<Utc>>,
}

impl From<store::SessionRecord> for Session {
    fn from(session: store::SessionRecord) -> Self {
        Session {
            id: session.id,
            patient_id: session.patient_id,
            logged: session.logged.into(),
            pain_after_2h: session.pain_after_2h,
            answered_at: session.answered_at,
            pain_next_morning: session.pain_next_morning,
            next_morning_answered_at: session.next_morning_answered_at,
            created_at: session.created_at,
            withdrawn_at: session.withdrawn_at,
        }
    }
}

/// What happened to a logged walk.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionChangeKind {
    /// Its figures were corrected.
    Corrected,
    /// It was withdrawn: it no longer counts anywhere.
    Withdrawn,
}

/// One change to a logged walk, kept for the record.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionChange {
    /// The change's id.
    pub id: i64,
    /// The walk.
    pub session_id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who (the patient, or staff).
    pub by_user: i64,
    /// Corrected or withdrawn.
    pub action: SessionChangeKind,
    /// The walk as logged before the change.
    pub before: Walk,
    /// The walk after a correction; null after a withdrawal.
    pub after: Option<Walk>,
}

impl From<store::SessionChange> for SessionChange {
    fn from(change: store::SessionChange) -> Self {
        SessionChange {
            id: change.id,
            session_id: change.session_id,
            at: change.at,
            by_user: change.by_user,
            action: match change.action {
                store::SessionChangeKind::Corrected => SessionChangeKind::Corrected,
                store::SessionChangeKind::Withdrawn => SessionChangeKind::Withdrawn,
            },
            before: change.before.into(),
            after: change.after.map(Walk::from),
        }
    }
}

/// A flare the patient reported.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Flare {
    /// The flare's id.
    pub id: i64,
    /// The patient.
    pub patient_id: i64,
    /// The phone's id for the report: reporting it twice stores it once.
    pub client_id: String,
    /// When the flare began.
    pub started_at: DateTime<Utc>,
    /// Pain, 0–10.
    pub pain: i64,
    /// The patient's notes.
    pub notes: Option<String>,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
}

impl From<store::FlareRecord> for Flare {
    fn from(flare: store::FlareRecord) -> Self {
        Flare {
            id: flare.id,
            patient_id: flare.patient_id,
            client_id: flare.reported.client_id,
            started_at: flare.reported.started_at,
            pain: flare.reported.pain,
            notes: flare.reported.notes,
            created_at: flare.created_at,
        }
    }
}
