//! Progression rules (set per patient by the therapist) and the walking plan, with the allowed
//! range of every field. Validation names the offending field and what is allowed, in the form
//! `rules.increase_pct = 25 is outside 10..=20`.

use std::fmt;
use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

/// The therapist's progression rules for one patient.
///
/// Every field has a default (the values of the review contract); a JSON object may omit any
/// of them. Fields are plain integers so that out-of-range input can be reported precisely by
/// [`Rules::validate`] instead of failing to parse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rules {
    /// Weekly raise of the interval, in percent, when the week is clean (10..=20).
    pub increase_pct: i64,
    /// Step back, in percent, after repeated breaches (5..=50).
    pub regress_pct: i64,
    /// Highest acceptable pain during the walk, NRS 0–10.
    pub pain_during_max: i64,
    /// Highest acceptable pain two hours after the walk, NRS 0–10.
    pub pain_after_2h_max: i64,
    /// How far pain two hours after may exceed pain before (0 = the strict two-hour rule).
    pub pain_after_2h_rise_max: i64,
    /// Sessions a week needed before an advance (1..=14).
    pub min_sessions: i64,
    /// Breached sessions in a week that trigger a regress (1..=14).
    pub regress_after_breaches: i64,
    /// Any reported pain at or above this asks for a therapist (1..=10).
    pub escalate_pain: i64,
    /// Floor of the walking interval, seconds (1..=14400).
    pub min_interval_s: i64,
    /// Ceiling of the walking interval, seconds (1..=14400, at least the floor).
    pub max_interval_s: i64,
    /// Only wearable-verified sessions count toward `min_sessions`.
    pub require_verified: bool,
    /// How far pain the next morning may exceed pain before the walk (the 24-hour response of
    /// the pain-monitoring model), NRS points. Contract version 2.
    pub pain_next_morning_rise_max: i64,
    /// A session without a next-morning answer cannot count as tolerated. Contract version 2.
    pub require_next_morning: bool,
    /// Highest effort (Borg CR10) at which the interval may still rise. Contract version 2.
    pub effort_max: i64,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            increase_pct: 10,
            regress_pct: 20,
            pain_during_max: 5,
            pain_after_2h_max: 5,
            pain_after_2h_rise_max: 2,
            min_sessions: 3,
            regress_after_breaches: 2,
            escalate_pain: 8,
            min_interval_s: 60,
            max_interval_s: 3600,
            require_verified: false,
            pain_next_morning_rise_max: 2,
            require_next_morning: false,
            effort_max: 10,
        }
    }
}

/// Allowed range of [`Rules::increase_pct`].
pub const INCREASE_PCT: RangeInclusive<i64> = 10..=20;
/// Allowed range of [`Rules::regress_pct`].
pub const REGRESS_PCT: RangeInclusive<i64> = 5..=50;
/// Allowed range of any pain or effort score (NRS 0–10, Borg CR10).
pub const SCORE: RangeInclusive<i64> = 0..=10;
/// Allowed range of session counts per week.
pub const SESSIONS_PER_WEEK: RangeInclusive<i64> = 1..=14;
/// Allowed range of [`Rules::escalate_pain`].
pub const ESCALATE_PAIN: RangeInclusive<i64> = 1..=10;
/// Allowed range of the interval floor and ceiling, seconds (four hours at most).
pub const INTERVAL_S: RangeInclusive<i64> = 1..=14_400;

impl Rules {
    /// Checks every field against its allowed range; the first offending field is reported.
    pub fn validate(&self) -> Result<(), InvalidField> {
        check("rules.increase_pct", self.increase_pct, INCREASE_PCT)?;
        check("rules.regress_pct", self.regress_pct, REGRESS_PCT)?;
        check("rules.pain_during_max", self.pain_during_max, SCORE)?;
        check("rules.pain_after_2h_max", self.pain_after_2h_max, SCORE)?;
        check(
            "rules.pain_after_2h_rise_max",
            self.pain_after_2h_rise_max,
            SCORE,
        )?;
        check("rules.min_sessions", self.min_sessions, SESSIONS_PER_WEEK)?;
        check(
            "rules.regress_after_breaches",
            self.regress_after_breaches,
            SESSIONS_PER_WEEK,
        )?;
        check("rules.escalate_pain", self.escalate_pain, ESCALATE_PAIN)?;
        check(
            "rules.pain_next_morning_rise_max",
            self.pain_next_morning_rise_max,
            SCORE,
        )?;
        check("rules.effort_max", self.effort_max, SCORE)?;
        check("rules.min_interval_s", self.min_interval_s, INTERVAL_S)?;
        check(
            "rules.max_interval_s",
            self.max_interval_s,
            self.min_interval_s..=*INTERVAL_S.end(),
        )?;
        Ok(())
    }

    /// The red-flag test: the highest of `pains` that is at or above [`Rules::escalate_pain`],
    /// if any. One function for the weekly review and for the server's immediate check when a
    /// patient logs a walk, answers a check or reports a flare.
    pub fn red_flag(&self, pains: impl IntoIterator<Item = i64>) -> Option<i64> {
        pains.into_iter().filter(|&p| p >= self.escalate_pain).max()
    }

    /// The interval range these rules allow, `min_interval_s..=max_interval_s`.
    pub fn interval_range(&self) -> RangeInclusive<i64> {
        self.min_interval_s..=self.max_interval_s
    }
}

/// The walking plan in force: one bout's length and how many sessions a week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Current walking interval (one bout), seconds; within the rules' floor and ceiling.
    pub interval_s: i64,
    /// Prescribed sessions a week (1..=14).
    pub sessions_per_week: i64,
}

impl Plan {
    /// Checks the plan against its own ranges and the rules' interval floor and ceiling.
    pub fn validate(&self, rules: &Rules) -> Result<(), InvalidField> {
        check("plan.interval_s", self.interval_s, rules.interval_range())?;
        check(
            "plan.sessions_per_week",
            self.sessions_per_week,
            SESSIONS_PER_WEEK,
        )
    }
}

/// A field outside its allowed range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} = {value} is outside {}..={}", allowed.start(), allowed.end())]
pub struct InvalidField {
    /// Dotted path of the field, e.g. `rules.increase_pct` or `week.sessions[2].pain_before`.
    pub field: String,
    /// The value given.
    pub value: i64,
    /// The inclusive range allowed.
    pub allowed: RangeInclusive<i64>,
}

impl InvalidField {
    /// The allowed range as text, e.g. `10..=20`.
    pub fn allowed_text(&self) -> String {
        format!("{}..={}", self.allowed.start(), self.allowed.end())
    }
}

/// Checks `value` against `allowed`, naming `field` when it is outside.
pub fn check(
    field: impl fmt::Display,
    value: i64,
    allowed: RangeInclusive<i64>,
) -> Result<(), InvalidField> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(InvalidField {
            field: field.to_string(),
            value,
            allowed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Rules::default().validate().unwrap();
    }

    #[test]
    fn increase_over_twenty_names_the_field_and_range() {
        let rules = Rules {
            increase_pct: 25,
            ..Rules::default()
        };
        let err = rules.validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "rules.increase_pct = 25 is outside 10..=20"
        );
    }

    #[test]
    fn ceiling_below_floor_is_rejected() {
        let rules = Rules {
            min_interval_s: 600,
            max_interval_s: 300,
            ..Rules::default()
        };
        assert_eq!(
            rules.validate().unwrap_err().to_string(),
            "rules.max_interval_s = 300 is outside 600..=14400"
        );
    }

    #[test]
    fn plan_outside_rules_interval_is_rejected() {
        let plan = Plan {
            interval_s: 30,
            sessions_per_week: 5,
        };
        assert_eq!(
            plan.validate(&Rules::default()).unwrap_err().to_string(),
            "plan.interval_s = 30 is outside 60..=3600"
        );
    }
}
