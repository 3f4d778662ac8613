//! What a reader is shown, made from stored records and engine output: today, a weekly
//! review with its reasons in the reader's words (the patient's in the app and their
//! notifications, the care team's on staff pages and in reports). The words themselves live
//! in the engine (`stepwise_engine::reasons`), made from each reason's code and figures.

use serde::Serialize;
use stepwise_engine::{Reader, Review, Said, explain};

use crate::records::ReviewRecord;

/// `inner` (a stored review or an engine output) with `reason_texts`: its reasons, in the
/// same order, in the words for one reader.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explained<T> {
    /// The review, as stored or made.
    #[serde(flatten)]
    pub inner: T,
    /// Each reason's code and its words for the reader.
    pub reason_texts: Vec<Said>,
}

impl Explained<ReviewRecord> {
    /// A stored review with its reasons in `reader`'s words.
    pub fn stored(review: ReviewRecord, reader: Reader) -> Self {
        let reason_texts = reason_texts(&review, reader);
        Explained {
            inner: review,
            reason_texts,
        }
    }
}

/// A stored review's reasons in `reader`'s words.
pub fn reason_texts(review: &ReviewRecord, reader: Reader) -> Vec<Said> {
    explain(
        &review.rules,
        &review.evidence,
        &review.history,
        &review.output,
        reader,
    )
}

/// Reasons as one paragraph (each text is a sentence).
pub fn in_words(said: &[Said]) -> String {
    said.iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// An engine output made just now from `rules`, `week` and `history`, for the care team.
pub fn for_therapist(
    output: Review,
    rules: &stepwise_engine::Rules,
    week: &stepwise_engine::WeekEvidence,
    history: &[stepwise_engine::Decision],
) -> Explained<Review> {
    let reason_texts = explain(rules, week, history, &output, Reader::Therapist);
    Explained {
        inner: output,
        reason_texts,
    }
}
