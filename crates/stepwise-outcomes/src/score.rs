//! Checking a patient's answers against an instrument, scoring them, and comparing scores.
//!
//! [`check`] lists every problem with a response (unknown keys first, then in the
//! instrument's item order), so a form can mark them all; [`score`] refuses with the first of them or returns the [`Scored`]
//! result. Both are total: any map of answers, however malformed, gets an answer.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::instrument::{Direction, Instrument};
use crate::item::{Answer, AnswerKind, Item};
use crate::scored::{Answered, ScoreError, Scored};

/// The longest unknown `link_id` an error repeats; longer ones are cut, so an error message
/// stays short whatever a client sends.
const ECHO_MAX_CHARS: usize = 64;

/// Every problem with `answers` for `instrument`: unknown items first (in key order), then
/// each item's problem in the instrument's order, then the instrument's own rules (PSFS
/// pairs). Empty when the response can be scored.
#[must_use]
pub fn check(instrument: Instrument, answers: &BTreeMap<String, Answer>) -> Vec<ScoreError> {
    let mut errors: Vec<ScoreError> = answers
        .keys()
        .filter(|key| instrument.item(key).is_none())
        .map(|key| ScoreError::UnknownItem {
            link_id: key.chars().take(ECHO_MAX_CHARS).collect(),
        })
        .collect();
    for item in instrument.items() {
        match answers.get(item.link_id) {
            Some(answer) => errors.extend(check_answer(item, answer)),
            None if item.required => errors.push(ScoreError::Missing {
                link_id: item.link_id,
            }),
            None => {}
        }
    }
    errors.extend((instrument.definition().rules)(&Answered::new(answers)));
    errors
}

/// Scores `answers` for `instrument`, or names the first problem [`check`] finds.
///
/// Missing answers follow each instrument's rule: KOOS, JR. refuses any missing item (its
/// conversion table is for complete responses); the PSFS scores the activities the patient
/// named and rated, at least one.
pub fn score(
    instrument: Instrument,
    answers: &BTreeMap<String, Answer>,
) -> Result<Scored, ScoreError> {
    match check(instrument, answers).into_iter().next() {
        Some(error) => Err(error),
        None => Ok((instrument.definition().scorer)(&Answered::new(answers))),
    }
}

/// The problem with one answer to one item, if any.
fn check_answer(item: &Item, answer: &Answer) -> Option<ScoreError> {
    let link_id = item.link_id;
    match (item.answer, answer) {
        (AnswerKind::Choice(choices), Answer::Integer(value)) => {
            let value = *value;
            (!choices.iter().any(|c| c.value == value)).then_some(ScoreError::NotAChoice {
                link_id,
                value,
                choices,
            })
        }
        (AnswerKind::Integer { min, max, .. }, Answer::Integer(value)) => {
            let value = *value;
            (!(min..=max).contains(&value)).then_some(ScoreError::OutOfRange {
                link_id,
                value,
                min,
                max,
            })
        }
        (AnswerKind::Text { max_chars }, Answer::Text(text)) => {
            let chars = text.chars().count();
            if text.trim().is_empty() {
                Some(ScoreError::Blank { link_id })
            } else if chars > max_chars {
                Some(ScoreError::TooLong {
                    link_id,
                    chars,
                    max: max_chars,
                })
            } else {
                None
            }
        }
        (kind, answer) => Some(ScoreError::WrongKind {
            link_id,
            expected: kind.expected_name(),
            found: answer.kind_name(),
        }),
    }
}

/// How a later score compares with the first, measured against the instrument's minimal
/// important difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Better than the first score by at least the MID.
    Better,
    /// Worse than the first score by at least the MID.
    Worse,
    /// Closer to the first score than the MID.
    WithinMid,
}

/// Scores closer than this count as equal when compared with a MID, so that a mean such as
/// 19/3 − 13/3 meets a MID of 2 despite floating-point rounding.
const COMPARE_TOLERANCE: f64 = 1e-9;

impl Instrument {
    /// How `latest` compares with `first` given this instrument's MID and direction;
    /// `None` when the instrument has no verified MID or either score is not a number.
    #[must_use]
    pub fn change(self, first: f64, latest: f64) -> Option<Change> {
        let mid = self.mid()?.value;
        if !first.is_finite() || !latest.is_finite() {
            return None;
        }
        let gain = match self.direction() {
            Direction::HigherIsBetter => latest - first,
            Direction::HigherIsWorse => first - latest,
        };
        Some(if gain >= mid - COMPARE_TOLERANCE {
            Change::Better
        } else if -gain >= mid - COMPARE_TOLERANCE {
            Change::Worse
        } else {
            Change::WithinMid
        })
    }
}
