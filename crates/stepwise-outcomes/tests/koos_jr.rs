//! KOOS, JR. scored against the developers' conversion table and its missing-answer rule.
//!
//! The expected interval scores are entries of the raw-to-interval table of Lyman et al.,
//! "Validation of the KOOS, JR: a short-form knee arthroplasty outcomes survey", Clin Orthop
//! Relat Res 2016 (doi:10.1007/s11999-016-4719-1), as distributed by Hospital for Special
//! Surgery with the survey. `docs/outcomes.md` says how the table was checked.

use std::collections::BTreeMap;

use stepwise_outcomes::koos_jr::{self, INTERVAL_SCORE, ITEMS};
use stepwise_outcomes::{Answer, Instrument, ScoreError, score};

/// A response answering the seven items, in survey order, with these values.
fn response(values: [i64; 7]) -> BTreeMap<String, Answer> {
    ITEMS
        .iter()
        .zip(values)
        .map(|(item, value)| (item.link_id.to_string(), Answer::Integer(value)))
        .collect()
}

#[test]
fn all_none_is_perfect_knee_health() {
    let scored = score(Instrument::KoosJr, &response([0; 7])).unwrap();
    assert_eq!(scored.raw, Some(0.0));
    assert_eq!(scored.value, 100.0);
    assert_eq!(scored.answered, 7);
}

#[test]
fn all_extreme_is_total_knee_disability() {
    let scored = score(Instrument::KoosJr, &response([4; 7])).unwrap();
    assert_eq!(scored.raw, Some(28.0));
    assert_eq!(scored.value, 0.0);
}

#[test]
fn a_raw_score_of_seven_converts_to_68_284() {
    // Table entry for raw 7.
    let scored = score(Instrument::KoosJr, &response([1, 1, 1, 1, 1, 1, 1])).unwrap();
    assert_eq!(scored.raw, Some(7.0));
    assert_eq!(scored.value, 68.284);
}

#[test]
fn a_mixed_response_sums_before_converting() {
    // Moderate, Moderate, Mild, Severe, Mild, Moderate, Severe: raw 14, table entry 52.465.
    let scored = score(Instrument::KoosJr, &response([2, 2, 1, 3, 1, 2, 3])).unwrap();
    assert_eq!(scored.raw, Some(14.0));
    assert_eq!(scored.value, 52.465);
}

#[test]
fn table_entries_checked_by_value() {
    // Entries read from the published table.
    for (raw, expected) in [
        (0, 100.000),
        (1, 91.975),
        (2, 84.600),
        (5, 73.342),
        (10, 61.583),
        (15, 50.012),
        (20, 36.931),
        (25, 20.941),
        (27, 8.291),
        (28, 0.000),
    ] {
        assert_eq!(koos_jr::interval_score(raw), Some(expected), "raw {raw}");
    }
    assert_eq!(koos_jr::interval_score(29), None);
}

#[test]
fn the_table_falls_as_the_raw_score_rises() {
    assert!(INTERVAL_SCORE.windows(2).all(|pair| pair[0] > pair[1]));
    let range = Instrument::KoosJr.range();
    assert_eq!(INTERVAL_SCORE.first(), Some(&range.max));
    assert_eq!(INTERVAL_SCORE.last(), Some(&range.min));
}

#[test]
fn every_raw_score_reaches_its_table_entry() {
    // Fill answers up to each raw score and check the conversion through `score`.
    for raw in 0..=28 {
        let mut values = [0; 7];
        let mut left = raw;
        for value in &mut values {
            *value = left.min(4);
            left -= *value;
        }
        let scored = score(Instrument::KoosJr, &response(values)).unwrap();
        assert_eq!(scored.raw, Some(raw as f64));
        assert_eq!(scored.value, INTERVAL_SCORE[raw as usize]);
    }
}

#[test]
fn a_missing_item_is_refused_not_prorated() {
    let mut answers = response([1; 7]);
    answers.remove("pain_stairs");
    assert_eq!(
        score(Instrument::KoosJr, &answers),
        Err(ScoreError::Missing {
            link_id: "pain_stairs"
        })
    );
}

#[test]
fn an_answer_outside_none_to_extreme_is_refused() {
    let mut answers = response([1; 7]);
    answers.insert("function_bending".into(), Answer::Integer(5));
    let error = score(Instrument::KoosJr, &answers).unwrap_err();
    assert_eq!(error.link_id(), "function_bending");
    assert_eq!(
        error.to_string(),
        "function_bending = 5 is not one of its answers (0, 1, 2, 3, 4)"
    );
    answers.insert("function_bending".into(), Answer::Integer(-1));
    assert!(matches!(
        score(Instrument::KoosJr, &answers),
        Err(ScoreError::NotAChoice { value: -1, .. })
    ));
}

#[test]
fn an_unknown_item_is_refused() {
    let mut answers = response([0; 7]);
    answers.insert("pain_walking".into(), Answer::Integer(0));
    assert_eq!(
        score(Instrument::KoosJr, &answers),
        Err(ScoreError::UnknownItem {
            link_id: "pain_walking".into()
        })
    );
}

#[test]
fn text_for_a_severity_is_refused() {
    let mut answers = response([0; 7]);
    answers.insert("pain_twisting".into(), Answer::Text("Mild".into()));
    assert_eq!(
        score(Instrument::KoosJr, &answers),
        Err(ScoreError::WrongKind {
            link_id: "pain_twisting",
            expected: "one of its answer values",
            found: "text",
        })
    );
}

#[test]
fn the_survey_wording_is_the_published_one() {
    let texts: Vec<&str> = ITEMS.iter().map(|item| item.text).collect();
    assert_eq!(
        texts,
        [
            "How severe is your knee stiffness after first wakening in the morning?",
            "Twisting/pivoting on your knee",
            "Straightening knee fully",
            "Going up or down stairs",
            "Standing upright",
            "Rising from sitting",
            "Bending to floor/pick up an object",
        ]
    );
    let labels: Vec<&str> = koos_jr::CHOICES.iter().map(|c| c.label).collect();
    assert_eq!(labels, ["None", "Mild", "Moderate", "Severe", "Extreme"]);
    // Three groups open with the survey's own introductions.
    assert_eq!(ITEMS.iter().filter(|i| i.preamble.is_some()).count(), 3);
    assert!(ITEMS.iter().all(|item| item.required));
}
