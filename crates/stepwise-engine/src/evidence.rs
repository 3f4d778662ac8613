//! A week of walking as the engine sees it: one report per session, with the pain scores the
//! patient gave and whether the band confirmed the walk.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::rules::{InvalidField, SCORE, check};

/// One walking session's report.
///
/// Scores are `None` when the patient did not report them. `pain_after_2h` is the answer to
/// the two-hour check; `None` there makes the session *unknown*.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionReport {
    /// Local calendar day of the session, in the patient's time zone.
    pub day: NaiveDate,
    /// Time actually walked, seconds (rests not included).
    pub walked_s: i64,
    /// Pain before the walk, NRS 0–10.
    #[serde(default)]
    pub pain_before: Option<i64>,
    /// Highest pain during the walk, NRS 0–10.
    #[serde(default)]
    pub pain_during_max: Option<i64>,
    /// Pain two hours after the walk ended, NRS 0–10 (the two-hour check).
    #[serde(default)]
    pub pain_after_2h: Option<i64>,
    /// Pain on waking the morning after the walk, NRS 0–10 (the next-morning check; the
    /// 24-hour response). Contract version 2; left out of the JSON when not reported, so a
    /// version-1 week reads and writes exactly as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pain_next_morning: Option<i64>,
    /// Perceived effort, Borg CR10 (0–10).
    #[serde(default)]
    pub effort: Option<i64>,
    /// Whether the band's minute steps confirm the walk; `None` when there was no band data.
    #[serde(default)]
    pub verified: Option<bool>,
}

impl SessionReport {
    /// Every pain score the patient reported for this session (not effort).
    pub fn reported_pains(&self) -> impl Iterator<Item = i64> + '_ {
        [
            self.pain_before,
            self.pain_during_max,
            self.pain_after_2h,
            self.pain_next_morning,
        ]
        .into_iter()
        .flatten()
    }

    /// Checks every score against 0..=10 and `walked_s` against ≥ 0. The error names the field
    /// as `week.sessions[index].name`.
    pub fn validate(&self, index: usize) -> Result<(), InvalidField> {
        self.check_fields().map_err(|mut err| {
            err.field = format!("week.sessions[{index}].{}", err.field);
            err
        })
    }

    fn check_fields(&self) -> Result<(), InvalidField> {
        check("walked_s", self.walked_s, 0..=i64::MAX)?;
        let scores = [
            ("pain_before", self.pain_before),
            ("pain_during_max", self.pain_during_max),
            ("pain_after_2h", self.pain_after_2h),
            ("pain_next_morning", self.pain_next_morning),
            ("effort", self.effort),
        ];
        for (name, score) in scores {
            if let Some(value) = score {
                check(name, value, SCORE)?;
            }
        }
        Ok(())
    }
}

/// A flare the patient reported: a clear rise of pain outside a walk. Contract version 2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlareReport {
    /// Local calendar day the flare started, in the patient's time zone.
    pub day: NaiveDate,
    /// The flare's pain, NRS 0–10.
    pub pain: i64,
}

/// The evidence of one patient-week: its sessions and flares, in any order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeekEvidence {
    /// The week's sessions.
    pub sessions: Vec<SessionReport>,
    /// The flares reported in the week (contract version 2; none when left out).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flares: Vec<FlareReport>,
}

impl WeekEvidence {
    /// Checks every session (see [`SessionReport::validate`]) and every flare's pain.
    pub fn validate(&self) -> Result<(), InvalidField> {
        self.sessions
            .iter()
            .enumerate()
            .try_for_each(|(i, session)| session.validate(i))?;
        self.flares
            .iter()
            .enumerate()
            .try_for_each(|(i, flare)| check(format!("week.flares[{i}].pain"), flare.pain, SCORE))
    }
}
