//! What scoring returns: a [`Scored`] result or a [`ScoreError`] naming the item, and the
//! read-only view of a response that instrument modules score.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::instrument::Instrument;
use crate::item::{Answer, Choice};

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

/// The answers of a response, as instrument rules and scorers read them.
pub(crate) struct Answered<'a> {
    answers: &'a BTreeMap<String, Answer>,
}

impl<'a> Answered<'a> {
    pub(crate) fn new(answers: &'a BTreeMap<String, Answer>) -> Answered<'a> {
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
