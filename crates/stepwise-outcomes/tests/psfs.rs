//! The Patient-Specific Functional Scale scored by the rule printed on its form:
//! "Total score = sum of the activity scores/number of activities", with its minimum
//! detectable change of 2 points for the average score (Stratford et al., Physiotherapy
//! Canada 1995;47:258-263, as reproduced on the PSFS form).

use std::collections::BTreeMap;

use stepwise_outcomes::psfs::{ACTIVITIES, ACTIVITY_MAX_CHARS};
use stepwise_outcomes::{
    Answer, AnswerKind, Change, Instrument, ScoreError, Subscore, check, score,
};

/// A response naming and rating one activity per rating given.
fn response(ratings: &[i64]) -> BTreeMap<String, Answer> {
    let mut answers = BTreeMap::new();
    for (&(name, rating), &value) in ACTIVITIES.iter().zip(ratings) {
        answers.insert(
            name.to_string(),
            Answer::Text(format!("Activity for {rating}")),
        );
        answers.insert(rating.to_string(), Answer::Integer(value));
    }
    answers
}

#[test]
fn the_score_is_the_mean_of_the_ratings() {
    // Three activities rated 3, 5 and 7: (3 + 5 + 7) / 3 = 5.
    let scored = score(Instrument::Psfs, &response(&[3, 5, 7])).unwrap();
    assert_eq!(scored.value, 5.0);
    assert_eq!(scored.raw, None);
    assert_eq!(scored.answered, 6);
    assert_eq!(
        scored.subscores,
        [
            Subscore {
                name: "rating_1",
                value: 3.0
            },
            Subscore {
                name: "rating_2",
                value: 5.0
            },
            Subscore {
                name: "rating_3",
                value: 7.0
            },
        ]
    );
}

#[test]
fn a_mean_that_is_not_whole_is_kept_exact() {
    // 4 + 4 + 5 = 13 over 3 activities.
    let scored = score(Instrument::Psfs, &response(&[4, 4, 5])).unwrap();
    assert_eq!(scored.value, 13.0 / 3.0);
}

#[test]
fn one_activity_is_enough() {
    let scored = score(Instrument::Psfs, &response(&[6])).unwrap();
    assert_eq!(scored.value, 6.0);
}

#[test]
fn all_minimum_and_all_maximum() {
    assert_eq!(
        score(Instrument::Psfs, &response(&[0; 5])).unwrap().value,
        0.0
    );
    assert_eq!(
        score(Instrument::Psfs, &response(&[10; 5])).unwrap().value,
        10.0
    );
}

#[test]
fn activities_need_not_be_consecutive() {
    let mut answers = response(&[2]);
    answers.insert("activity_4".into(), Answer::Text("Gardening".into()));
    answers.insert("rating_4".into(), Answer::Integer(6));
    assert_eq!(score(Instrument::Psfs, &answers).unwrap().value, 4.0);
}

#[test]
fn an_empty_response_is_missing_the_first_activity() {
    assert_eq!(
        check(Instrument::Psfs, &BTreeMap::new()),
        [
            ScoreError::Missing {
                link_id: "activity_1"
            },
            ScoreError::Missing {
                link_id: "rating_1"
            },
        ]
    );
}

#[test]
fn a_named_activity_without_a_rating_is_refused() {
    let mut answers = response(&[5]);
    answers.insert("activity_2".into(), Answer::Text("Walking the dog".into()));
    let error = score(Instrument::Psfs, &answers).unwrap_err();
    assert_eq!(
        error,
        ScoreError::Unpaired {
            link_id: "rating_2",
            partner: "activity_2"
        }
    );
    assert_eq!(
        error.to_string(),
        "rating_2 is missing: it must be answered because activity_2 is"
    );
}

#[test]
fn a_rating_without_an_activity_is_refused() {
    let mut answers = response(&[5]);
    answers.insert("rating_3".into(), Answer::Integer(4));
    assert_eq!(
        score(Instrument::Psfs, &answers),
        Err(ScoreError::Unpaired {
            link_id: "activity_3",
            partner: "rating_3"
        })
    );
}

#[test]
fn a_rating_outside_0_to_10_is_refused() {
    let mut answers = response(&[5, 5]);
    answers.insert("rating_2".into(), Answer::Integer(11));
    let error = score(Instrument::Psfs, &answers).unwrap_err();
    assert_eq!(error.to_string(), "rating_2 = 11 is outside 0..=10");
    answers.insert("rating_2".into(), Answer::Integer(i64::MIN));
    assert!(matches!(
        score(Instrument::Psfs, &answers),
        Err(ScoreError::OutOfRange {
            link_id: "rating_2",
            ..
        })
    ));
}

#[test]
fn activity_names_are_checked() {
    let mut answers = response(&[5]);
    answers.insert("activity_1".into(), Answer::Text("   ".into()));
    assert_eq!(
        score(Instrument::Psfs, &answers),
        Err(ScoreError::Blank {
            link_id: "activity_1"
        })
    );
    // Characters, not bytes: the longest allowed name in a non-Latin script still fits.
    answers.insert(
        "activity_1".into(),
        Answer::Text("ö".repeat(ACTIVITY_MAX_CHARS)),
    );
    assert!(score(Instrument::Psfs, &answers).is_ok());
    answers.insert(
        "activity_1".into(),
        Answer::Text("x".repeat(ACTIVITY_MAX_CHARS + 1)),
    );
    assert_eq!(
        score(Instrument::Psfs, &answers),
        Err(ScoreError::TooLong {
            link_id: "activity_1",
            chars: ACTIVITY_MAX_CHARS + 1,
            max: ACTIVITY_MAX_CHARS
        })
    );
    answers.insert("activity_1".into(), Answer::Integer(3));
    assert_eq!(
        score(Instrument::Psfs, &answers),
        Err(ScoreError::WrongKind {
            link_id: "activity_1",
            expected: "text",
            found: "a number"
        })
    );
}

#[test]
fn an_unknown_item_is_refused_and_its_name_cut_short() {
    let mut answers = response(&[5]);
    answers.insert("activity_6".into(), Answer::Text("Running".into()));
    assert_eq!(
        score(Instrument::Psfs, &answers),
        Err(ScoreError::UnknownItem {
            link_id: "activity_6".into()
        })
    );
    let mut answers = response(&[5]);
    answers.insert("k".repeat(10_000), Answer::Integer(1));
    let error = score(Instrument::Psfs, &answers).unwrap_err();
    assert_eq!(error.link_id().len(), 64);
}

#[test]
fn the_scale_labels_are_the_forms() {
    let rating = Instrument::Psfs.item("rating_1").unwrap();
    assert_eq!(
        rating.answer,
        AnswerKind::Integer {
            min: 0,
            max: 10,
            low_label: "Unable to perform activity",
            high_label: "Able to perform activity at the same level as before injury or problem",
        }
    );
}

#[test]
fn a_change_of_two_points_is_important() {
    let psfs = Instrument::Psfs;
    assert_eq!(psfs.mid().map(|mid| mid.value), Some(2.0));
    // From 13/3 to 19/3 is exactly the MID, despite floating point.
    assert_eq!(psfs.change(13.0 / 3.0, 19.0 / 3.0), Some(Change::Better));
    assert_eq!(psfs.change(5.0, 3.0), Some(Change::Worse));
    assert_eq!(psfs.change(5.0, 6.5), Some(Change::WithinMid));
    assert_eq!(psfs.change(5.0, f64::NAN), None);
}
