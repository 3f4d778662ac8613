//! Items as an instrument publishes them, the kinds of answer they take, and the answers a
//! patient sends back.

use serde::{Deserialize, Serialize};

/// One question of an instrument, in the instrument's own words.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Item {
    /// Stable identifier of the item within its instrument; the key of its answer, and the
    /// FHIR `QuestionnaireResponse.item.linkId`.
    pub link_id: &'static str,
    /// Text the instrument shows before this item when the item opens a group of questions
    /// (for example KOOS, JR.'s "What amount of knee pain have you experienced the last week
    /// during the following activities?"); `None` when the item continues a group.
    pub preamble: Option<&'static str>,
    /// The item's wording.
    pub text: &'static str,
    /// What kind of answer the item takes.
    pub answer: AnswerKind,
    /// Whether every response must answer this item.
    pub required: bool,
}

/// The kind of answer an item takes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerKind {
    /// One of the listed choices; the answer is the choice's value.
    Choice(&'static [Choice]),
    /// A whole number from `min` to `max` inclusive, on a scale whose ends are labelled.
    Integer {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
        /// The instrument's label for `min`.
        low_label: &'static str,
        /// The instrument's label for `max`.
        high_label: &'static str,
    },
    /// Free text, not blank, of at most `max_chars` characters (Unicode scalar values).
    Text {
        /// Most characters allowed.
        max_chars: usize,
    },
}

/// One answer option of a choice item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Choice {
    /// The value the instrument's scoring gives this option.
    pub value: i64,
    /// The option's wording.
    pub label: &'static str,
}

/// A patient's answer to one item.
///
/// In JSON an answer is a bare number or a bare string, so a whole response reads
/// `{"rating_1": 4, "activity_1": "Climbing stairs"}`. A number with a fraction or outside the
/// 64-bit range is not an answer and fails to deserialize.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Answer {
    /// The value of a choice, or a number on an integer scale.
    Integer(i64),
    /// Free text.
    Text(String),
}

impl Answer {
    /// The kind of answer, as error messages name it.
    pub(crate) fn kind_name(&self) -> &'static str {
        match self {
            Answer::Integer(_) => "a number",
            Answer::Text(_) => "text",
        }
    }
}

impl AnswerKind {
    /// The kind of answer this item needs, as error messages name it.
    pub(crate) fn expected_name(&self) -> &'static str {
        match self {
            AnswerKind::Choice(_) => "one of its answer values",
            AnswerKind::Integer { .. } => "a whole number",
            AnswerKind::Text { .. } => "text",
        }
    }
}
