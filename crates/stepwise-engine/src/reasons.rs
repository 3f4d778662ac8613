//! Every reason a weekly review gives, with the figures behind it, and its words for each
//! reader — written once here.
//!
//! A [`Finding`] is one condition the review found (its [`ReasonCode`] and the days, pains and
//! limits that made it apply). It is said three ways:
//!
//! - [`Finding::message`]: the contract's `message` (`docs/engine-review.md`). Programs outside
//!   replay `stepwise engine review` and compare it, so its wording never changes.
//! - [`Finding::for_patient`]: what the patient reads in the app and in a notification — no
//!   seconds, no "sessions", no codes; durations as people say them.
//! - [`Finding::for_therapist`]: what the care team reads — short, clinical, exact figures.
//!
//! Stored reviews keep the rules, the evidence and the history they were made from, so their
//! words are made again from those ([`explain`](crate::explain::explain)), not stored.

use chrono::NaiveDate;

use crate::decision::ReasonCode;

/// One condition a review found, with its figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// Pain at or above the alert level.
    RedFlagPain {
        /// The highest such pain.
        pain: i64,
        /// The day it was reported.
        day: NaiveDate,
        /// The alert level (`escalate_pain`).
        alert_level: i64,
        /// The interval after the review, seconds.
        interval_s: i64,
    },
    /// This week would regress, and last week regressed.
    RepeatedRegress,
    /// Enough breaches to step back.
    RepeatedBreaches {
        /// Sessions that breached.
        sessions: usize,
        /// Flares reported (each one breach).
        flares: usize,
        /// Breaches that mean a step back (`regress_after_breaches`).
        needed: i64,
        /// How far the interval steps back, percent.
        pct: i64,
    },
    /// Pain two hours after over its maximum.
    PainAfter2hOverMax {
        /// The maximum.
        max: i64,
        /// The sessions' days.
        days: Vec<NaiveDate>,
    },
    /// Pain two hours after rose too far above pain before.
    PainAfter2hRiseOverMax {
        /// The allowed rise.
        max: i64,
        /// The sessions' days.
        days: Vec<NaiveDate>,
    },
    /// Pain during the walk over its maximum.
    PainDuringOverMax {
        /// The maximum.
        max: i64,
        /// The sessions' days.
        days: Vec<NaiveDate>,
    },
    /// Pain the next morning rose too far above pain before.
    PainNextMorningRiseOverMax {
        /// The allowed rise.
        max: i64,
        /// The sessions' days.
        days: Vec<NaiveDate>,
    },
    /// Pain the next morning above its maximum.
    PainNextMorningOverMax {
        /// The maximum.
        max: i64,
        /// The sessions' days.
        days: Vec<NaiveDate>,
    },
    /// Flares reported this week.
    FlareReported {
        /// The flares' days.
        days: Vec<NaiveDate>,
        /// The highest flare pain.
        worst: i64,
    },
    /// Two-hour checks not answered.
    MissingPainAfter2h {
        /// The sessions' days.
        days: Vec<NaiveDate>,
    },
    /// Required next-morning checks not answered.
    MissingPainNextMorning {
        /// The sessions' days.
        days: Vec<NaiveDate>,
    },
    /// Fewer counted sessions than needed for an advance.
    TooFewSessions {
        /// Sessions that counted.
        counted: usize,
        /// Sessions needed (`min_sessions`).
        needed: i64,
        /// Whether only band-confirmed sessions count.
        verified_only: bool,
    },
    /// Sessions the band did not confirm, which the rules require.
    UnverifiedSessions {
        /// The sessions' days.
        days: Vec<NaiveDate>,
    },
    /// Effort above its maximum.
    EffortOverMax {
        /// The maximum.
        max: i64,
        /// The sessions' days.
        days: Vec<NaiveDate>,
    },
    /// The interval is at its ceiling.
    AtMaxInterval {
        /// The ceiling, seconds.
        max_interval_s: i64,
    },
    /// Every session's two-hour pain within limits.
    WithinLimits {
        /// Sessions in the week.
        sessions: usize,
    },
}

impl Finding {
    /// The stable code.
    pub fn code(&self) -> ReasonCode {
        match self {
            Finding::RedFlagPain { .. } => ReasonCode::RedFlagPain,
            Finding::RepeatedRegress => ReasonCode::RepeatedRegress,
            Finding::RepeatedBreaches { .. } => ReasonCode::RepeatedBreaches,
            Finding::PainAfter2hOverMax { .. } => ReasonCode::PainAfter2hOverMax,
            Finding::PainAfter2hRiseOverMax { .. } => ReasonCode::PainAfter2hRiseOverMax,
            Finding::PainDuringOverMax { .. } => ReasonCode::PainDuringOverMax,
            Finding::PainNextMorningRiseOverMax { .. } => ReasonCode::PainNextMorningRiseOverMax,
            Finding::PainNextMorningOverMax { .. } => ReasonCode::PainNextMorningOverMax,
            Finding::FlareReported { .. } => ReasonCode::FlareReported,
            Finding::MissingPainAfter2h { .. } => ReasonCode::MissingPainAfter2h,
            Finding::MissingPainNextMorning { .. } => ReasonCode::MissingPainNextMorning,
            Finding::TooFewSessions { .. } => ReasonCode::TooFewSessions,
            Finding::UnverifiedSessions { .. } => ReasonCode::UnverifiedSessions,
            Finding::EffortOverMax { .. } => ReasonCode::EffortOverMax,
            Finding::AtMaxInterval { .. } => ReasonCode::AtMaxInterval,
            Finding::WithinLimits { .. } => ReasonCode::WithinLimits,
        }
    }

    /// The contract's `message`, word for word (programs outside compare it).
    pub fn message(&self) -> String {
        match self {
            Finding::RedFlagPain {
                pain,
                day,
                alert_level,
                interval_s,
            } => format!(
                "Pain of {pain}/10 was reported on {} (the alert level is {alert_level}): the \
                 walking interval goes down to {interval_s} s and your therapist will look at your \
                 plan before it changes again",
                day_name(*day)
            ),
            Finding::RepeatedRegress => "The interval already went down last week and pain went \
                over the limits again this week: your therapist will look at your plan"
                .to_string(),
            Finding::RepeatedBreaches {
                sessions,
                flares,
                needed,
                pct,
            } => format!(
                "{} went over the pain limits this week ({needed} or more means a step back): the \
                 walking interval goes down by {pct}%",
                breach_count(*sessions, *flares, "session", "sessions")
            ),
            Finding::PainAfter2hOverMax { max, days } => format!(
                "Pain two hours after the walk was above {max}/10 on {}",
                list(days)
            ),
            Finding::PainAfter2hRiseOverMax { max, days } => format!(
                "Pain two hours after the walk was more than {} above your pain before it on {}",
                count(*max as usize, "point", "points"),
                list(days)
            ),
            Finding::PainDuringOverMax { max, days } => {
                format!("Pain during the walk went above {max}/10 on {}", list(days))
            }
            Finding::PainNextMorningRiseOverMax { max, days } => format!(
                "Pain the morning after the walk was more than {} above your pain before it on {}",
                count(*max as usize, "point", "points"),
                list(days)
            ),
            Finding::PainNextMorningOverMax { max, days } => format!(
                "Pain the morning after the walk went above {max}/10 on {}",
                list(days)
            ),
            Finding::FlareReported { days, worst } => format!(
                "You reported {} on {} (pain up to {worst}/10): after a flare the walk does not \
                 get longer that week",
                flares(days.len()),
                list(days)
            ),
            Finding::MissingPainAfter2h { days } => format!(
                "The two-hour pain check was not answered on {}: without it the walk cannot \
                 safely get longer",
                list(days)
            ),
            Finding::MissingPainNextMorning { days } => format!(
                "The next-morning pain check was not answered on {}: without it the walk cannot \
                 safely get longer",
                list(days)
            ),
            Finding::TooFewSessions {
                counted,
                needed,
                verified_only,
            } => format!(
                "{counted} of the {needed} {} needed for a longer walk were done",
                if *verified_only {
                    "band-confirmed sessions"
                } else {
                    "sessions"
                }
            ),
            Finding::UnverifiedSessions { days } => format!(
                "The band did not confirm the walk on {}, so {} not count this week",
                list(days),
                if days.len() == 1 {
                    "it does"
                } else {
                    "they do"
                }
            ),
            Finding::EffortOverMax { max, days } => format!(
                "The walk felt harder than {max}/10 on {}: it gets longer once walks feel easier",
                list(days)
            ),
            Finding::AtMaxInterval { max_interval_s } => {
                format!("The walking interval is already at its ceiling of {max_interval_s} s")
            }
            Finding::WithinLimits { sessions } => {
                format!(
                    "{sessions} of {sessions} sessions reported pain two hours after within limits"
                )
            }
        }
    }

    /// What the patient reads: plain, durations spoken, no codes, "walks" not "sessions".
    pub fn for_patient(&self) -> String {
        match self {
            Finding::RedFlagPain {
                pain,
                day,
                alert_level,
                interval_s,
            } => format!(
                "You reported pain of {pain} out of 10 on {} — at or above {alert_level}, the \
                 level your therapist asked to hear about. Your walk goes down to {}, and your \
                 therapist will look at your plan before it changes again.",
                day_name(*day),
                spoken_duration(*interval_s)
            ),
            Finding::RepeatedRegress => "Your walk was already made shorter last week, and the \
                pain went over your limits again this week, so your therapist will look at your \
                plan."
                .to_string(),
            Finding::RepeatedBreaches {
                sessions,
                flares,
                needed,
                pct,
            } => format!(
                "{} this week went over your pain limits ({needed} or more means a step back), so \
                 your walk gets {pct}% shorter. A shorter walk for a while is part of the plan.",
                capitalise(&breach_count(*sessions, *flares, "walk", "walks"))
            ),
            Finding::PainAfter2hOverMax { max, days } => format!(
                "Two hours after walking, your pain was above {max} out of 10 on {}.",
                list(days)
            ),
            Finding::PainAfter2hRiseOverMax { max, days } => format!(
                "Two hours after walking, your pain was more than {} higher than before the walk \
                 on {}.",
                count(*max as usize, "point", "points"),
                list(days)
            ),
            Finding::PainDuringOverMax { max, days } => format!(
                "While walking, your pain went above {max} out of 10 on {}.",
                list(days)
            ),
            Finding::PainNextMorningRiseOverMax { max, days } => format!(
                "The morning after walking, your pain was more than {} higher than before the \
                 walk on {}.",
                count(*max as usize, "point", "points"),
                list(days)
            ),
            Finding::PainNextMorningOverMax { max, days } => format!(
                "The morning after walking, your pain was above {max} out of 10 on {}.",
                list(days)
            ),
            Finding::FlareReported { days, worst } => format!(
                "You reported {} on {} (pain up to {worst} out of 10). After a flare your walk \
                 stays the same length that week.",
                flares(days.len()),
                list(days)
            ),
            Finding::MissingPainAfter2h { days } => format!(
                "The two-hour pain check was not answered on {}. Your walk only gets longer when \
                 we know how you felt afterwards.",
                list(days)
            ),
            Finding::MissingPainNextMorning { days } => format!(
                "The next-morning pain check was not answered on {}. Your walk only gets longer \
                 when we know how you felt the next day.",
                list(days)
            ),
            Finding::TooFewSessions {
                counted,
                needed,
                verified_only,
            } => format!(
                "You did {counted} of the {needed} {} needed before your walk gets longer.",
                if *verified_only {
                    "walks confirmed by your band"
                } else {
                    "walks"
                }
            ),
            Finding::UnverifiedSessions { days } => format!(
                "Your band did not confirm the walk on {}, so {} not count this week.",
                list(days),
                if days.len() == 1 {
                    "it does"
                } else {
                    "they do"
                }
            ),
            Finding::EffortOverMax { max, days } => format!(
                "The walk felt harder than {max} out of 10 on {}. It gets longer once walks feel \
                 easier.",
                list(days)
            ),
            Finding::AtMaxInterval { max_interval_s } => format!(
                "Your walk is already at the longest your therapist set ({}).",
                spoken_duration(*max_interval_s)
            ),
            Finding::WithinLimits { sessions } => match sessions {
                1 => "Two hours after your walk, your pain was within your limits.".to_string(),
                2 => "Two hours after both walks, your pain was within your limits.".to_string(),
                n => format!(
                    "Two hours after each of your {n} walks, your pain was within your limits."
                ),
            },
        }
    }

    /// What the care team reads: short, with the exact figures and limits.
    pub fn for_therapist(&self) -> String {
        match self {
            Finding::RedFlagPain {
                pain,
                day,
                alert_level,
                interval_s,
            } => format!(
                "Red flag: pain {pain}/10 on {} (alert level {alert_level}). Interval cut to {}; \
                 automatic changes paused until acknowledged.",
                day_name(*day),
                exact_duration(*interval_s)
            ),
            Finding::RepeatedRegress => "Second step back in a row (last week regressed): \
                escalated for review."
                .to_string(),
            Finding::RepeatedBreaches {
                sessions,
                flares,
                needed,
                pct,
            } => format!(
                "{} over the pain limits (regress at {needed}): interval −{pct}%.",
                capitalise(&breach_count(*sessions, *flares, "session", "sessions"))
            ),
            Finding::PainAfter2hOverMax { max, days } => {
                format!("2-h pain above {max}/10 on {}.", list(days))
            }
            Finding::PainAfter2hRiseOverMax { max, days } => format!(
                "2-h pain rose more than {max} above pain before on {}.",
                list(days)
            ),
            Finding::PainDuringOverMax { max, days } => {
                format!("Pain during above {max}/10 on {}.", list(days))
            }
            Finding::PainNextMorningRiseOverMax { max, days } => format!(
                "Next-morning pain rose more than {max} above pain before on {}.",
                list(days)
            ),
            Finding::PainNextMorningOverMax { max, days } => {
                format!("Next-morning pain above {max}/10 on {}.", list(days))
            }
            Finding::FlareReported { days, worst } => format!(
                "{} reported ({}; worst {worst}/10): no advance this week.",
                capitalise(&flares(days.len())),
                list(days)
            ),
            Finding::MissingPainAfter2h { days } => format!(
                "2-h check unanswered on {}: no advance without it.",
                list(days)
            ),
            Finding::MissingPainNextMorning { days } => format!(
                "Required next-morning check unanswered on {}: no advance without it.",
                list(days)
            ),
            Finding::TooFewSessions {
                counted,
                needed,
                verified_only,
            } => format!(
                "{counted} of {needed} {} needed for an advance.",
                if *verified_only {
                    "band-verified sessions"
                } else {
                    "sessions"
                }
            ),
            Finding::UnverifiedSessions { days } => format!(
                "Not verified by the band on {} (verification required): not counted.",
                list(days)
            ),
            Finding::EffortOverMax { max, days } => {
                format!("Effort above {max}/10 on {}: held.", list(days))
            }
            Finding::AtMaxInterval { max_interval_s } => format!(
                "At the interval ceiling ({}).",
                exact_duration(*max_interval_s)
            ),
            Finding::WithinLimits { sessions } => {
                format!("{sessions}/{sessions} sessions: 2-h pain within limits.")
            }
        }
    }
}

/// A duration as people say it: "45 seconds", "1 minute", "7 minutes", "about 6½ minutes"
/// (to the nearest half minute). The web app's `Stepwise.duration` follows the same rule.
pub fn spoken_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    if s < 30 {
        return if s == 1 {
            "1 second".to_string()
        } else {
            format!("{s} seconds")
        };
    }
    let halves = (s + 15) / 30;
    let whole = halves / 2;
    let number = format!(
        "{}{}",
        if whole > 0 {
            whole.to_string()
        } else {
            String::new()
        },
        if halves % 2 == 1 { "½" } else { "" }
    );
    let about = if halves * 30 == s { "" } else { "about " };
    let unit = if halves <= 2 { "minute" } else { "minutes" };
    format!("{about}{number} {unit}")
}

/// A duration exactly, for the care team: "45 s", "7 min", "10 min 42 s".
pub fn exact_duration(seconds: i64) -> String {
    match (seconds / 60, seconds % 60) {
        (0, s) => format!("{s} s"),
        (m, 0) => format!("{m} min"),
        (m, s) => format!("{m} min {s} s"),
    }
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn flares(n: usize) -> String {
    if n == 1 { "a flare" } else { "flares" }.to_string()
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// "N sessions", or with flares "N sessions and M flares" (each flare is a breach).
fn breach_count(sessions: usize, flares: usize, one: &str, many: &str) -> String {
    match flares {
        0 => count(sessions, one, many),
        _ if sessions == 0 => count(flares, "flare", "flares"),
        _ => format!(
            "{} and {}",
            count(sessions, one, many),
            count(flares, "flare", "flares")
        ),
    }
}

fn day_name(day: NaiveDate) -> String {
    day.format("%a %-d %b").to_string()
}

/// Days as "Mon 16 Nov, Wed 18 Nov and Fri 20 Nov".
fn list(days: &[NaiveDate]) -> String {
    let names: Vec<String> = days.iter().copied().map(day_name).collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_said_as_people_say_them() {
        assert_eq!(spoken_duration(1), "1 second");
        assert_eq!(spoken_duration(20), "20 seconds");
        assert_eq!(spoken_duration(30), "½ minute");
        assert_eq!(spoken_duration(60), "1 minute");
        assert_eq!(spoken_duration(386), "about 6½ minutes");
        assert_eq!(spoken_duration(420), "7 minutes");
        assert_eq!(spoken_duration(642), "about 10½ minutes");
        assert_eq!(exact_duration(642), "10 min 42 s");
        assert_eq!(exact_duration(600), "10 min");
        assert_eq!(exact_duration(45), "45 s");
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    #[test]
    fn patient_words_have_no_seconds_sessions_or_codes() {
        let all = [
            Finding::RedFlagPain {
                pain: 9,
                day: day(17),
                alert_level: 8,
                interval_s: 386,
            },
            Finding::RepeatedRegress,
            Finding::RepeatedBreaches {
                sessions: 2,
                flares: 1,
                needed: 2,
                pct: 20,
            },
            Finding::PainAfter2hOverMax {
                max: 5,
                days: vec![day(16), day(18)],
            },
            Finding::PainAfter2hRiseOverMax {
                max: 2,
                days: vec![day(16)],
            },
            Finding::PainDuringOverMax {
                max: 5,
                days: vec![day(16)],
            },
            Finding::PainNextMorningRiseOverMax {
                max: 2,
                days: vec![day(16)],
            },
            Finding::PainNextMorningOverMax {
                max: 6,
                days: vec![day(17)],
            },
            Finding::FlareReported {
                days: vec![day(19)],
                worst: 7,
            },
            Finding::MissingPainAfter2h {
                days: vec![day(16), day(17), day(18)],
            },
            Finding::MissingPainNextMorning {
                days: vec![day(16)],
            },
            Finding::TooFewSessions {
                counted: 2,
                needed: 3,
                verified_only: true,
            },
            Finding::UnverifiedSessions {
                days: vec![day(16)],
            },
            Finding::EffortOverMax {
                max: 6,
                days: vec![day(16)],
            },
            Finding::AtMaxInterval {
                max_interval_s: 1800,
            },
            Finding::WithinLimits { sessions: 4 },
        ];
        for finding in &all {
            let text = finding.for_patient();
            let code = serde_json::to_value(finding.code()).unwrap();
            for word in [" s ", " s)", " s.", "session", code.as_str().unwrap()] {
                assert!(!text.contains(word), "{word:?} in {text:?}");
            }
            assert!(text.ends_with('.'), "{text:?}");
            assert!(!finding.for_therapist().is_empty());
        }
        assert_eq!(
            all[0].for_patient(),
            "You reported pain of 9 out of 10 on Tue 17 Nov — at or above 8, the level your \
             therapist asked to hear about. Your walk goes down to about 6½ minutes, and your \
             therapist will look at your plan before it changes again."
        );
        assert_eq!(
            all[2].for_therapist(),
            "2 sessions and 1 flare over the pain limits (regress at 2): interval −20%."
        );
    }
}
