//! What a weekly review answers: the [`Decision`], the new interval and every [`Reason`] that
//! applied, each with its stable [`ReasonCode`] (the contract's output, `docs/engine-review.md`).

use serde::{Deserialize, Serialize};

/// The outcome of a weekly review.
///
/// The variants are ordered from most protective to most aggressive, so `Escalate < Regress <
/// Hold < Advance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Regress protectively and stop automatic changes until a therapist acknowledges.
    Escalate,
    /// Step the interval back by `regress_pct`.
    Regress,
    /// Keep the interval.
    Hold,
    /// Raise the interval by `increase_pct`.
    Advance,
}

impl Decision {
    /// The stable lower-case name used in JSON and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Escalate => "escalate",
            Decision::Regress => "regress",
            Decision::Hold => "hold",
            Decision::Advance => "advance",
        }
    }
}

/// Stable codes for the conditions a review found. Programs match on these; people read the
/// message that comes with each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// Pain reached the red-flag level.
    RedFlagPain,
    /// This week would regress and last week already regressed.
    RepeatedRegress,
    /// Enough sessions breached to step back.
    RepeatedBreaches,
    /// Pain two hours after was over its maximum on some session.
    #[serde(rename = "pain_after_2h_over_max")]
    PainAfter2hOverMax,
    /// Pain two hours after rose too far above pain before on some session.
    #[serde(rename = "pain_after_2h_rise_over_max")]
    PainAfter2hRiseOverMax,
    /// Pain during the walk was over its maximum on some session.
    PainDuringOverMax,
    /// Some session's two-hour check was not answered.
    #[serde(rename = "missing_pain_after_2h")]
    MissingPainAfter2h,
    /// Fewer counted sessions than the rules need for an advance.
    TooFewSessions,
    /// Sessions not verified by the band, which the rules require.
    UnverifiedSessions,
    /// The interval is already at its ceiling.
    AtMaxInterval,
    /// Every session's two-hour pain was within limits.
    WithinLimits,
    /// Pain the next morning rose too far above pain before on some session (version 2).
    PainNextMorningRiseOverMax,
    /// Pain the next morning was above `pain_next_morning_max` on some session (version 2;
    /// never with the default maximum, 10).
    PainNextMorningOverMax,
    /// Some session's next-morning check was required and not answered (version 2).
    MissingPainNextMorning,
    /// The patient reported at least one flare this week (version 2).
    FlareReported,
    /// Some session's effort was above `effort_max` (version 2).
    EffortOverMax,
}

/// One condition that applied, with a message a patient can read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// Stable code.
    pub code: ReasonCode,
    /// Plain-language explanation.
    pub message: String,
}

/// The result of a weekly review, in the contract's output shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[must_use]
pub struct Review {
    /// What happens to the plan.
    pub decision: Decision,
    /// The new walking interval, seconds.
    pub interval_s: i64,
    /// The interval before this review, seconds.
    pub previous_interval_s: i64,
    /// Change of the interval in percent, one decimal place.
    pub change_pct: f64,
    /// Every condition that applied, the deciding ones first.
    pub reasons: Vec<Reason>,
}

impl Review {
    /// Whether the server must stop automatic changes until a therapist acknowledges.
    pub fn needs_therapist(&self) -> bool {
        self.decision == Decision::Escalate
    }
}

/// The reasons' messages in one line, separated by `; ` (for plan history, exports and
/// notifications).
pub fn reason_messages(reasons: &[Reason]) -> String {
    reasons
        .iter()
        .map(|reason| reason.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}
