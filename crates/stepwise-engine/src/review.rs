//! The weekly decision: advance, hold, regress or escalate, with every reason that applied.
//!
//! The rules, in the contract's words (`docs/engine-review.md`):
//!
//! A session **breaches** when pain two hours after is over its maximum, when pain two hours
//! after rose more than the allowed rise above pain before (both reported), or when pain during
//! the walk was over its maximum. A session **counts** toward `min_sessions` when it has walked
//! time and, if the rules require it, the band verified it. A session is **unknown** when its
//! two-hour check was not answered: absence of evidence is not evidence of tolerance.
//!
//! The first decision that applies wins: escalate (red-flag pain, or a regress right after a
//! regress), regress (enough breaches), hold (any breach, unknown session, too few sessions, or
//! already at the ceiling), advance.
//!
//! Contract version 2 adds the next morning, flares and effort: a session also breaches when
//! pain the next morning rose too far above pain before; each reported flare is one breach; a
//! session is also unknown when the rules require a next-morning answer and it is missing; a
//! session whose effort is above `effort_max` holds the week; next-morning and flare pains
//! count for the red flag. With none of these present, the decision is version 1's exactly.

use chrono::NaiveDate;

use crate::decision::{Decision, Reason, Review};
use crate::evidence::{FlareReport, SessionReport, WeekEvidence};
use crate::reasons::Finding;
use crate::rules::{InvalidField, Plan, Rules};

/// Reviews one patient-week. Validates every input first; an invalid field is an error that
/// names it and its allowed range. `history` lists earlier weekly decisions, oldest first.
pub fn review(
    rules: &Rules,
    plan: &Plan,
    week: &WeekEvidence,
    history: &[Decision],
) -> Result<Review, InvalidField> {
    rules.validate()?;
    plan.validate(rules)?;
    week.validate()?;
    Ok(decide(rules, plan, week, history))
}

/// What each session showed against the rules.
#[derive(Default)]
struct Findings<'a> {
    over_after_2h: Vec<&'a SessionReport>,
    rise_over: Vec<&'a SessionReport>,
    over_during: Vec<&'a SessionReport>,
    next_morning_rise_over: Vec<&'a SessionReport>,
    next_morning_over: Vec<&'a SessionReport>,
    unknown: Vec<&'a SessionReport>,
    missing_next_morning: Vec<&'a SessionReport>,
    effort_over: Vec<&'a SessionReport>,
    flares: Vec<&'a FlareReport>,
    unverified: Vec<&'a SessionReport>,
    /// The highest red-flag pain and the day it was reported.
    red_flag: Option<(i64, NaiveDate)>,
    /// Sessions that breached (a flare is a breach too: see [`Findings::breaches`]).
    breached: usize,
    counted: usize,
}

impl Findings<'_> {
    /// Breaches of the week: breached sessions and reported flares.
    fn breaches(&self) -> usize {
        self.breached + self.flares.len()
    }

    /// A pain at or above the alert level on `day`: kept when it is the highest so far.
    fn red_flag_at(&mut self, rules: &Rules, pains: impl IntoIterator<Item = i64>, day: NaiveDate) {
        if let Some(worst) = rules.red_flag(pains)
            && self.red_flag.is_none_or(|(p, _)| worst > p)
        {
            self.red_flag = Some((worst, day));
        }
    }
}

fn examine<'a>(rules: &Rules, week: &'a WeekEvidence) -> Findings<'a> {
    let mut found = Findings::default();
    for s in &week.sessions {
        let after_over = s.pain_after_2h.is_some_and(|p| p > rules.pain_after_2h_max);
        let rise_over = match (s.pain_before, s.pain_after_2h) {
            (Some(before), Some(after)) => after - before > rules.pain_after_2h_rise_max,
            _ => false,
        };
        let during_over = s.pain_during_max.is_some_and(|p| p > rules.pain_during_max);
        let next_morning_rise_over = match (s.pain_before, s.pain_next_morning) {
            (Some(before), Some(morning)) => morning - before > rules.pain_next_morning_rise_max,
            _ => false,
        };
        if next_morning_rise_over {
            found.next_morning_rise_over.push(s);
        }
        let next_morning_over = s
            .pain_next_morning
            .is_some_and(|p| p > rules.pain_next_morning_max);
        if next_morning_over {
            found.next_morning_over.push(s);
        }
        if rules.require_next_morning && s.pain_next_morning.is_none() {
            found.missing_next_morning.push(s);
        }
        if s.effort.is_some_and(|e| e > rules.effort_max) {
            found.effort_over.push(s);
        }
        if after_over {
            found.over_after_2h.push(s);
        }
        if rise_over {
            found.rise_over.push(s);
        }
        if during_over {
            found.over_during.push(s);
        }
        if after_over || rise_over || during_over || next_morning_rise_over || next_morning_over {
            found.breached += 1;
        }
        if s.pain_after_2h.is_none() {
            found.unknown.push(s);
        }
        if s.walked_s > 0 {
            if !rules.require_verified || s.verified == Some(true) {
                found.counted += 1;
            } else {
                found.unverified.push(s);
            }
        }
        found.red_flag_at(rules, s.reported_pains(), s.day);
    }
    for flare in &week.flares {
        found.flares.push(flare);
        found.red_flag_at(rules, [flare.pain], flare.day);
    }
    found
}

fn decide(rules: &Rules, plan: &Plan, week: &WeekEvidence, history: &[Decision]) -> Review {
    let (decision, interval_s, found) = findings(rules, plan.interval_s, week, history);
    Review {
        decision,
        interval_s,
        previous_interval_s: plan.interval_s,
        change_pct: change_pct(plan.interval_s, interval_s),
        reasons: found
            .iter()
            .map(|f| Reason {
                code: f.code(),
                message: f.message(),
            })
            .collect(),
    }
}

/// The decision, the new interval and every condition that applied (the deciding ones first)
/// for a week reviewed at `interval_s`. Inputs are already valid.
pub(crate) fn findings(
    rules: &Rules,
    interval_s: i64,
    week: &WeekEvidence,
    history: &[Decision],
) -> (Decision, i64, Vec<Finding>) {
    let found = examine(rules, week);
    let would_regress = found.breaches() as i64 >= rules.regress_after_breaches;
    let repeated_regress = would_regress && history.last() == Some(&Decision::Regress);
    let at_max = interval_s >= rules.max_interval_s;
    let too_few = (found.counted as i64) < rules.min_sessions;

    let decision = if found.red_flag.is_some() || repeated_regress {
        Decision::Escalate
    } else if would_regress {
        Decision::Regress
    } else if found.breaches() > 0
        || !found.unknown.is_empty()
        || !found.missing_next_morning.is_empty()
        || !found.effort_over.is_empty()
        || too_few
        || at_max
    {
        Decision::Hold
    } else {
        Decision::Advance
    };

    let new_interval_s = match decision {
        Decision::Escalate | Decision::Regress => rules
            .min_interval_s
            .max(scale(interval_s, 100 - rules.regress_pct)),
        Decision::Hold => interval_s,
        Decision::Advance => rules
            .max_interval_s
            .min(scale(interval_s, 100 + rules.increase_pct)),
    };

    let days = |sessions: &[&SessionReport]| sessions.iter().map(|s| s.day).collect::<Vec<_>>();
    let mut reasons = Vec::new();
    if let Some((pain, day)) = found.red_flag {
        reasons.push(Finding::RedFlagPain {
            pain,
            day,
            alert_level: rules.escalate_pain,
            interval_s: new_interval_s,
        });
    }
    if repeated_regress {
        reasons.push(Finding::RepeatedRegress);
    }
    if would_regress {
        reasons.push(Finding::RepeatedBreaches {
            sessions: found.breached,
            flares: found.flares.len(),
            needed: rules.regress_after_breaches,
            pct: rules.regress_pct,
        });
    }
    if !found.over_after_2h.is_empty() {
        reasons.push(Finding::PainAfter2hOverMax {
            max: rules.pain_after_2h_max,
            days: days(&found.over_after_2h),
        });
    }
    if !found.rise_over.is_empty() {
        reasons.push(Finding::PainAfter2hRiseOverMax {
            max: rules.pain_after_2h_rise_max,
            days: days(&found.rise_over),
        });
    }
    if !found.over_during.is_empty() {
        reasons.push(Finding::PainDuringOverMax {
            max: rules.pain_during_max,
            days: days(&found.over_during),
        });
    }
    if !found.next_morning_rise_over.is_empty() {
        reasons.push(Finding::PainNextMorningRiseOverMax {
            max: rules.pain_next_morning_rise_max,
            days: days(&found.next_morning_rise_over),
        });
    }
    if !found.next_morning_over.is_empty() {
        reasons.push(Finding::PainNextMorningOverMax {
            max: rules.pain_next_morning_max,
            days: days(&found.next_morning_over),
        });
    }
    if !found.flares.is_empty() {
        reasons.push(Finding::FlareReported {
            days: found.flares.iter().map(|f| f.day).collect(),
            worst: found.flares.iter().map(|f| f.pain).max().unwrap_or(0),
        });
    }
    if !found.unknown.is_empty() {
        reasons.push(Finding::MissingPainAfter2h {
            days: days(&found.unknown),
        });
    }
    if !found.missing_next_morning.is_empty() {
        reasons.push(Finding::MissingPainNextMorning {
            days: days(&found.missing_next_morning),
        });
    }
    if too_few {
        reasons.push(Finding::TooFewSessions {
            counted: found.counted,
            needed: rules.min_sessions,
            verified_only: rules.require_verified,
        });
    }
    if !found.unverified.is_empty() {
        reasons.push(Finding::UnverifiedSessions {
            days: days(&found.unverified),
        });
    }
    if !found.effort_over.is_empty() {
        reasons.push(Finding::EffortOverMax {
            max: rules.effort_max,
            days: days(&found.effort_over),
        });
    }
    if at_max {
        reasons.push(Finding::AtMaxInterval {
            max_interval_s: rules.max_interval_s,
        });
    }
    // Version 1's rule, with version 2's conditions added: for a week without next-morning
    // answers, flares or effort over the limit it is exactly version 1's.
    if found.breaches() == 0
        && found.unknown.is_empty()
        && found.missing_next_morning.is_empty()
        && found.effort_over.is_empty()
        && !week.sessions.is_empty()
    {
        reasons.push(Finding::WithinLimits {
            sessions: week.sessions.len(),
        });
    }
    (decision, new_interval_s, reasons)
}

/// `round(interval * pct / 100)`, to the nearest second, halves away from zero. Intervals are
/// positive, so adding half the divisor before dividing rounds halves up, i.e. away from zero.
fn scale(interval_s: i64, pct: i64) -> i64 {
    (interval_s * pct + 50) / 100
}

fn change_pct(from: i64, to: i64) -> f64 {
    let pct = (to - from) as f64 * 100.0 / from as f64;
    (pct * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_rounds_halves_away_from_zero() {
        assert_eq!(scale(605, 110), 666); // 665.5
        assert_eq!(scale(601, 110), 661); // 661.1
        assert_eq!(scale(625, 80), 500);
        assert_eq!(scale(63, 90), 57); // 56.7
        assert_eq!(scale(65, 90), 59); // 58.5
    }

    #[test]
    fn change_pct_has_one_decimal() {
        assert_eq!(change_pct(600, 660), 10.0);
        assert_eq!(change_pct(601, 661), 10.0);
        assert_eq!(change_pct(605, 666), 10.1);
        assert_eq!(change_pct(600, 480), -20.0);
    }

    #[test]
    fn decisions_order_from_protective_to_aggressive() {
        assert!(Decision::Escalate < Decision::Regress);
        assert!(Decision::Regress < Decision::Hold);
        assert!(Decision::Hold < Decision::Advance);
    }
}
