//! Checking a patient's answers against an instrument and scoring them.
//!
//! [`check`] lists every problem with a response, in the instrument's item order, so a form
//! can mark them all; [`score`] refuses with the first of them or returns the [`Scored`]
//! result. Both are total: any map of answers, however malformed, gets an answer.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::instrument::{Direction, Instrument};
use crate::item::{Answer, AnswerKind, Choice, Item};

/// The longest unknown `link_id` an error repeats; longer ones are cut, so an error message
/// stays short whatever a client sends.
const ECHO_MAX_CHARS: usize = 64;

/// A scored response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scored {
    /// The instrument scored.
    pub instrument: Instrument,
    /// The instrument's score, in [`Instrument::range`]'s unit: what graphs, CSV and the
    /// score Observation carry.
    pub value: f64,
    /// The raw score before conversion, where the instrument converts one (KOOS, JR.'s summed
    /// 0–28); `None` where the score is not a conversion.
    pub raw: Option<f64>,
    /// Named parts of the score (PSFS: each activity's rating), in item order.
    pub subscores: Vec<Subscore>,
    /// A category the instrument assigns to the score, where it defines one.
    pub category: Option<&'static str>,
    /// How many items were answered.
    pub answered: usize,
}

/// A named part of a score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Subscore {
    /// The part's name: the `link_id` of the item it comes from, or a name the instrument
    /// defines.
    pub name: &'static str,
    /// Its value.
    pub value: f64,
}

/// Why a response cannot be scored, naming the item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScoreError {
    /// The response answers an item the instrument does not have.
    #[error("{link_id:?} is not an item of this questionnaire")]
    UnknownItem {
        /// The unknown key as sent, cut to 64 characters.
        link_id: String,
    },
    /// A required item has no answer.
    #[error("{link_id} is missing: every response must answer it")]
    Missing {
        /// The unanswered item.
        link_id: &'static str,
    },
    /// An item that goes with another is unanswered while the other is answered (a PSFS
    /// activity named but not rated, or rated but not named).
    #[error("{link_id} is missing: it must be answered because {partner} is")]
    Unpaired {
        /// The unanswered item.
        link_id: &'static str,
        /// The answered item it goes with.
        partner: &'static str,
    },
    /// An answer of the wrong kind: text for a number or a number for text.
    #[error("{link_id} needs {expected}, not {found}")]
    WrongKind {
        /// The item.
        link_id: &'static str,
        /// What it takes.
        expected: &'static str,
        /// What was sent.
        found: &'static str,
    },
    /// A number outside an integer item's scale.
    #[error("{link_id} = {value} is outside {min}..={max}")]
    OutOfRange {
        /// The item.
        link_id: &'static str,
        /// The value sent.
        value: i64,
        /// Smallest allowed.
        min: i64,
        /// Largest allowed.
        max: i64,
    },
    /// A number that is not one of a choice item's values.
    #[error("{link_id} = {value} is not one of its answers ({})", values(choices))]
    NotAChoice {
        /// The item.
        link_id: &'static str,
        /// The value sent.
        value: i64,
        /// The item's choices.
        choices: &'static [Choice],
    },
    /// Text that is empty or only whitespace.
    #[error("{link_id} is blank")]
    Blank {
        /// The item.
        link_id: &'static str,
    },
    /// Text longer than the item allows.
    #[error("{link_id} has {chars} characters; at most {max} are allowed")]
    TooLong {
        /// The item.
        link_id: &'static str,
        /// Characters sent.
        chars: usize,
        /// Most allowed.
        max: usize,
    },
}

impl ScoreError {
    /// The item the error is about (the unknown key, for [`ScoreError::UnknownItem`]).
    pub fn link_id(&self) -> &str {
        match self {
            ScoreError::UnknownItem { link_id } => link_id,
            ScoreError::Missing { link_id }
            | ScoreError::Unpaired { link_id, .. }
            | ScoreError::WrongKind { link_id, .. }
            | ScoreError::OutOfRange { link_id, .. }
            | ScoreError::NotAChoice { link_id, .. }
            | ScoreError::Blank { link_id }
            | ScoreError::TooLong { link_id, .. } => link_id,
        }
    }
}

/// The values of `choices`, as an error message lists them: `0, 1, 2, 3, 4`.
fn values(choices: &[Choice]) -> String {
    choices
        .iter()
        .map(|c| c.value.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every problem with `answers` for `instrument`: unknown items first (in key order), then
/// each item's problem in the instrument's order, then the instrument's own rules (PSFS
/// pairs). Empty when the response can be scored.
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

/// The answers of a response, as instrument rules and scorers read them.
pub(crate) struct Answered<'a> {
    answers: &'a BTreeMap<String, Answer>,
}

impl<'a> Answered<'a> {
    fn new(answers: &'a BTreeMap<String, Answer>) -> Answered<'a> {
        Answered { answers }
    }

    /// Whether the item has any answer.
    pub(crate) fn has(&self, link_id: &str) -> bool {
        self.answers.contains_key(link_id)
    }

    /// The item's number, when it was answered with one.
    pub(crate) fn integer(&self, link_id: &str) -> Option<i64> {
        match self.answers.get(link_id) {
            Some(Answer::Integer(value)) => Some(*value),
            _ => None,
        }
    }

    /// How many answers the response holds.
    pub(crate) fn count(&self) -> usize {
        self.answers.len()
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
