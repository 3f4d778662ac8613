//! Weekly reviews, plan changes and rules versions as the API shows them. The engine's own
//! objects inside a review (its evidence and output) are the engine contract's, word for word
//! (`docs/engine-review.md`), and are described there.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use stepwise_engine::{Decision, ReasonCode, Said, WeekEvidence};
use stepwise_store as store;
use utoipa::ToSchema;

use super::fields::Rules;
use stepwise_care::words::Explained;

/// One reason of a decision in the words of one reader.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReasonText {
    /// The reason's stable code (the engine contract's `reasons[].code`).
    #[schema(value_type = String)]
    pub code: ReasonCode,
    /// Its words for the reader: the patient's on their own pages, the care team's on staff
    /// routes.
    pub text: String,
}

impl From<Said> for ReasonText {
    fn from(said: Said) -> Self {
        ReasonText {
            code: said.code,
            text: said.text,
        }
    }
}

/// A weekly review: what the engine was given and decided, and its reasons in words.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Review {
    /// The review's id.
    pub id: i64,
    /// The patient.
    pub patient_id: i64,
    /// Monday of the reviewed week, in the patient's zone.
    pub week_start: NaiveDate,
    /// The version of the patient's rules used.
    pub rules_version: i64,
    /// The rules used.
    pub rules: Rules,
    /// The week's evidence as given to the engine (the contract's `week`).
    #[schema(value_type = Object)]
    pub evidence: WeekEvidence,
    /// Earlier decisions given to the engine, oldest first.
    #[schema(value_type = Vec<String>)]
    pub history: Vec<Decision>,
    /// The engine's output: `decision`, `interval_s`, `previous_interval_s`, `change_pct`,
    /// `reasons[{code, message}]`.
    #[schema(value_type = Object)]
    pub output: stepwise_engine::Review,
    /// Whether the decision changed the plan (not while an escalation is open).
    pub applied: bool,
    /// When the review ran.
    pub created_at: DateTime<Utc>,
    /// For escalations: when a therapist acknowledged it.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// For escalations: who acknowledged it.
    pub acknowledged_by: Option<i64>,
    /// For escalations: the therapist's note with the acknowledgement.
    pub acknowledgement_note: Option<String>,
    /// The output's reasons, in order, in the reader's words.
    pub reason_texts: Vec<ReasonText>,
}

impl From<Explained<store::ReviewRecord>> for Review {
    fn from(review: Explained<store::ReviewRecord>) -> Self {
        Review::new(review.inner, review.reason_texts)
    }
}

impl Review {
    /// A stored review with its reasons in a reader's words.
    pub fn new(review: store::ReviewRecord, reason_texts: Vec<Said>) -> Self {
        Review {
            id: review.id,
            patient_id: review.patient_id,
            week_start: review.week_start,
            rules_version: review.rules_version,
            rules: Rules(review.rules),
            evidence: review.evidence,
            history: review.history,
            output: review.output,
            applied: review.applied,
            created_at: review.created_at,
            acknowledged_at: review.acknowledged_at,
            acknowledged_by: review.acknowledged_by,
            acknowledgement_note: review.acknowledgement_note,
            reason_texts: reason_texts.into_iter().map(ReasonText::from).collect(),
        }
    }
}

/// A weekly review's outcome without its inputs.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewOutcome {
    /// The review's id.
    pub id: i64,
    /// Monday of the reviewed week.
    pub week_start: NaiveDate,
    /// The engine's output (the contract's, word for word).
    #[schema(value_type = Object)]
    pub output: stepwise_engine::Review,
    /// Whether the decision changed the plan.
    pub applied: bool,
    /// For escalations: when a therapist acknowledged it.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// For escalations: the therapist's note with the acknowledgement.
    pub acknowledgement_note: Option<String>,
}

impl From<store::ReviewOutcome> for ReviewOutcome {
    fn from(outcome: store::ReviewOutcome) -> Self {
        ReviewOutcome {
            id: outcome.id,
            week_start: outcome.week_start,
            output: outcome.output,
            applied: outcome.applied,
            acknowledged_at: outcome.acknowledged_at,
            acknowledgement_note: outcome.acknowledgement_note,
        }
    }
}

/// What changed the plan.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanChangeSource {
    /// A weekly review decided it.
    Review,
    /// A therapist overrode the plan.
    Override,
    /// A therapist set the baseline from tolerance walks.
    Baseline,
}

/// One entry of the plan's history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanChange {
    /// The entry's id.
    pub id: i64,
    /// When it changed.
    pub at: DateTime<Utc>,
    /// Interval before, seconds.
    pub from_interval_s: i64,
    /// Interval after, seconds.
    pub to_interval_s: i64,
    /// What changed it.
    pub source: PlanChangeSource,
    /// Why, in plain words.
    pub reason: String,
    /// The review that decided it (for changes by a review).
    pub review_id: Option<i64>,
    /// The therapist who changed it (overrides and baselines).
    pub by_user: Option<i64>,
}

impl From<store::PlanChange> for PlanChange {
    fn from(change: store::PlanChange) -> Self {
        PlanChange {
            id: change.id,
            at: change.at,
            from_interval_s: change.from_interval_s,
            to_interval_s: change.to_interval_s,
            source: match change.source {
                store::PlanChangeSource::Review => PlanChangeSource::Review,
                store::PlanChangeSource::Override => PlanChangeSource::Override,
                store::PlanChangeSource::Baseline => PlanChangeSource::Baseline,
            },
            reason: change.reason,
            review_id: change.review_id,
            by_user: change.by_user,
        }
    }
}

/// One version of a patient's rules.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RulesVersion {
    /// 1 for the clinic's defaults, then one more per edit.
    pub version: i64,
    /// The rules.
    pub rules: Rules,
    /// When this version was saved.
    pub created_at: DateTime<Utc>,
    /// Who saved it (null for the clinic's defaults copied at sign-up).
    pub created_by: Option<i64>,
}

impl From<store::RulesVersion> for RulesVersion {
    fn from(version: store::RulesVersion) -> Self {
        RulesVersion {
            version: version.version,
            rules: Rules(version.rules),
            created_at: version.created_at,
            created_by: version.created_by,
        }
    }
}

/// An engine decision with its reasons in the care team's words.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Decided {
    /// `advance`, `hold`, `regress` or `escalate`.
    #[schema(value_type = String)]
    pub decision: Decision,
    /// The interval decided, seconds.
    pub interval_s: i64,
    /// The interval before, seconds.
    pub previous_interval_s: i64,
    /// The change in percent, one decimal place.
    pub change_pct: f64,
    /// The engine contract's reasons (`{code, message}`), the deciding ones first.
    #[schema(value_type = Vec<Object>)]
    pub reasons: Vec<stepwise_engine::Reason>,
    /// The same reasons, in order, in the care team's words.
    pub reason_texts: Vec<ReasonText>,
}

impl From<Explained<stepwise_engine::Review>> for Decided {
    fn from(explained: Explained<stepwise_engine::Review>) -> Self {
        let output = explained.inner;
        Decided {
            decision: output.decision,
            interval_s: output.interval_s,
            previous_interval_s: output.previous_interval_s,
            change_pct: output.change_pct,
            reasons: output.reasons,
            reason_texts: explained
                .reason_texts
                .into_iter()
                .map(ReasonText::from)
                .collect(),
        }
    }
}

/// One week of a rules preview: what the review decided then, and what it would decide under
/// the edited rules.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReplayedWeek {
    /// Monday of the week.
    pub week_start: NaiveDate,
    /// The stored review's decision.
    pub was: Decided,
    /// The same evidence under the edited rules.
    pub would_be: Decided,
}

impl From<crate::weekly::ReplayedWeek> for ReplayedWeek {
    fn from(week: crate::weekly::ReplayedWeek) -> Self {
        ReplayedWeek {
            week_start: week.week_start,
            was: week.was.into(),
            would_be: week.would_be.into(),
        }
    }
}
