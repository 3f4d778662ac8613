//! A stored review's reasons in words for its reader, made again from the evidence the review
//! was made from (the words are not stored: a better wording reaches old reviews too).

use serde::{Deserialize, Serialize};

use crate::decision::{Decision, ReasonCode, Review};
use crate::evidence::WeekEvidence;
use crate::rules::Rules;

/// Who reads a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reader {
    /// The patient.
    Patient,
    /// The care team.
    Therapist,
}

/// One reason in words for one reader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Said {
    /// The reason's stable code.
    pub code: ReasonCode,
    /// Its words for the reader.
    pub text: String,
}

/// A stored review's reasons in words for `reader`, made again from the rules, evidence and
/// history the review was made from. Each reason of `output` gets its words, in `output`'s
/// order; a reason the engine no longer finds in that evidence (an older engine made it)
/// keeps its stored message.
pub fn explain(
    rules: &Rules,
    week: &WeekEvidence,
    history: &[Decision],
    output: &Review,
    reader: Reader,
) -> Vec<Said> {
    let (_, _, found) = crate::review::findings(rules, output.previous_interval_s, week, history);
    output
        .reasons
        .iter()
        .map(|reason| {
            let text = found
                .iter()
                .find(|f| f.code() == reason.code)
                .map(|f| match reader {
                    Reader::Patient => f.for_patient(),
                    Reader::Therapist => f.for_therapist(),
                })
                .unwrap_or_else(|| reason.message.clone());
            Said {
                code: reason.code,
                text,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    #[test]
    fn a_stored_review_is_explained_in_its_own_order_for_each_reader() {
        use crate::evidence::{FlareReport, SessionReport};
        use crate::rules::Plan;
        let rules = Rules::default();
        let walk = |d, after| SessionReport {
            day: day(d),
            walked_s: 600,
            pain_before: Some(2),
            pain_during_max: Some(3),
            pain_after_2h: after,
            pain_next_morning: None,
            effort: Some(3),
            verified: None,
        };
        let week = WeekEvidence {
            sessions: vec![walk(16, Some(2)), walk(18, None)],
            flares: vec![FlareReport {
                day: day(19),
                pain: 6,
            }],
        };
        let plan = Plan {
            interval_s: 600,
            sessions_per_week: 3,
            ..Plan::default()
        };
        let mut output = crate::review::review(&rules, &plan, &week, &[]).unwrap();
        let codes: Vec<ReasonCode> = output.reasons.iter().map(|r| r.code).collect();
        let patient = explain(&rules, &week, &[], &output, Reader::Patient);
        assert_eq!(
            patient.iter().map(|s| s.code).collect::<Vec<_>>(),
            codes,
            "same reasons, same order"
        );
        assert_eq!(
            patient[0].text,
            "You reported a flare on Thu 19 Nov (pain up to 6 out of 10). After a flare your \
             walk stays the same length that week."
        );
        let staff = explain(&rules, &week, &[], &output, Reader::Therapist);
        assert_eq!(
            staff[1].text,
            "2-h check unanswered on Wed 18 Nov: no advance without it."
        );
        // A reason today's engine no longer finds in this evidence keeps its stored message.
        output.reasons.push(crate::decision::Reason {
            code: ReasonCode::AtMaxInterval,
            message: "stored words".to_string(),
        });
        let last = explain(&rules, &week, &[], &output, Reader::Patient);
        assert_eq!(last.last().unwrap().text, "stored words");
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }
}
