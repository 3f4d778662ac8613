//! The Patient-Specific Functional Scale (PSFS): the one home of its wording, scale, rules,
//! minimal important difference, licence and scoring.
//!
//! The patient names up to five activities they cannot do, or find hard, because of their
//! problem and rates each from 0 ("Unable to perform activity") to 10 ("Able to perform
//! activity at the same level as before injury or problem"). The score is the mean of the
//! ratings (Stratford, Gill, Westaway & Binkley, Physiotherapy Canada 1995;47:258–263).
//!
//! The published form is a script a clinician reads aloud. Stepwise's phone form addresses
//! the patient directly, and so [`INSTRUCTIONS`] and [`FOLLOW_UP_INSTRUCTIONS`] adapt that
//! script: second person instead of "I am going to ask you", "your problem" where the form
//! leaves a blank for the body part, and "up to five" activities where the script says
//! "up to three" but the form has five rows. The scale's two labels are the form's, verbatim.
//! `docs/outcomes.md` records the adaptation.
//!
//! Later responses should rate the activities named the first time; which activities those
//! were is the server's to keep (it holds the first response), not this crate's.

use crate::definition::Definition;
use crate::instrument::{Direction, Licence, Loinc, Mid, ScoreRange};
use crate::item::{AnswerKind, Item};
use crate::scored::{Answered, ScoreError, Scored, Subscore};

/// The most activities a patient names.
pub const MAX_ACTIVITIES: usize = 5;

/// The most characters an activity's name may have.
pub const ACTIVITY_MAX_CHARS: usize = 100;

/// Lowest rating: the form's label for 0.
pub const RATING_MIN: i64 = 0;
/// Highest rating: the form's label for 10.
pub const RATING_MAX: i64 = 10;

/// The form's label for [`RATING_MIN`], verbatim.
pub const UNABLE: &str = "Unable to perform activity";
/// The form's label for [`RATING_MAX`], verbatim.
pub const ABLE: &str = "Able to perform activity at the same level as before injury or problem";

/// Instructions for the first response, adapted from the form's initial-assessment script
/// (see the module documentation for what changed).
pub const INSTRUCTIONS: &str = "Identify up to five important activities that you are unable \
to do or are having difficulty with as a result of your problem. Today, are there any \
activities that you are unable to do or having difficulty with because of your problem? \
Rate each activity from 0 to 10.";

/// Instructions for later responses, adapted from the form's follow-up script; the server
/// shows them with the activities of the first response filled in.
pub const FOLLOW_UP_INSTRUCTIONS: &str = "When you were first assessed, you told us that you \
had difficulty with the activities below. Today, do you still have difficulty with them? \
Rate each activity from 0 to 10.";

/// The name and the rating item of each activity, in order: `activity_n` names it,
/// `rating_n` rates it.
pub const ACTIVITIES: [(&str, &str); MAX_ACTIVITIES] = [
    ("activity_1", "rating_1"),
    ("activity_2", "rating_2"),
    ("activity_3", "rating_3"),
    ("activity_4", "rating_4"),
    ("activity_5", "rating_5"),
];

const NAME: AnswerKind = AnswerKind::Text {
    max_chars: ACTIVITY_MAX_CHARS,
};

const RATING: AnswerKind = AnswerKind::Integer {
    min: RATING_MIN,
    max: RATING_MAX,
    low_label: UNABLE,
    high_label: ABLE,
};

/// Builds the name item and the rating item of activity `n` (1-based); the first activity
/// is required, the others optional.
const fn activity(n: usize, text: &'static str, rating_text: &'static str) -> [Item; 2] {
    let (name_id, rating_id) = ACTIVITIES[n - 1];
    let required = n == 1;
    [
        Item {
            link_id: name_id,
            preamble: None,
            text,
            answer: NAME,
            required,
        },
        Item {
            link_id: rating_id,
            preamble: None,
            text: rating_text,
            answer: RATING,
            required,
        },
    ]
}

const ACTIVITY_1: [Item; 2] = activity(1, "Activity 1", "Score (0-10) for activity 1");
const ACTIVITY_2: [Item; 2] = activity(2, "Activity 2", "Score (0-10) for activity 2");
const ACTIVITY_3: [Item; 2] = activity(3, "Activity 3", "Score (0-10) for activity 3");
const ACTIVITY_4: [Item; 2] = activity(4, "Activity 4", "Score (0-10) for activity 4");
const ACTIVITY_5: [Item; 2] = activity(5, "Activity 5", "Score (0-10) for activity 5");

/// The items: each activity's name followed by its rating.
pub const ITEMS: [Item; 2 * MAX_ACTIVITIES] = [
    ACTIVITY_1[0],
    ACTIVITY_1[1],
    ACTIVITY_2[0],
    ACTIVITY_2[1],
    ACTIVITY_3[0],
    ACTIVITY_3[1],
    ACTIVITY_4[0],
    ACTIVITY_4[1],
    ACTIVITY_5[0],
    ACTIVITY_5[1],
];

/// The developers' citation, as the form prints it; shown with the questionnaire.
pub const NOTICE: &str = "PSFS developed by: Stratford, P., Gill, C., Westaway, M., & \
Binkley, J. (1995). Assessing disability and change on individual patients: a report of a \
patient specific measure. Physiotherapy Canada, 47, 258-263.";

pub(crate) const DEFINITION: Definition = Definition {
    title: "Patient-Specific Functional Scale",
    instructions: Some(INSTRUCTIONS),
    items: &ITEMS,
    recall_period: "today",
    range: ScoreRange {
        min: RATING_MIN as f64,
        max: RATING_MAX as f64,
        unit: "{score}",
    },
    direction: Direction::HigherIsBetter,
    mid: Some(Mid {
        value: 2.0,
        basis: "minimum detectable change (90% confidence) of the average score; 3 points for \
                a single activity's score",
        source: "Stratford P, Gill C, Westaway M, Binkley J. Assessing disability and change \
                 on individual patients: a report of a patient specific measure. Physiotherapy \
                 Canada 1995;47:258-263, as printed on the PSFS form",
    }),
    licence: Licence {
        owner: "Paul Stratford, Chris Gill, Marjorie Westaway and Jill Binkley (authors, \
                Physiotherapy Canada 1995)",
        terms: "No licence, fee or registration is published for the PSFS; it is printed in \
                the literature and reproduced by clinics with the developers' citation. \
                Stepwise shows that citation with the form.",
        url: "https://www.precisionphysio.com.au/the-patient-specific-functional-scale/",
        notice: NOTICE,
    },
    loinc: Loinc {
        questionnaire: None,
        score: None,
    },
    rules: unpaired,
    scorer: mean_rating,
};

/// An activity named but not rated, or rated but not named. The first activity's halves are
/// required, so their absence is already reported as missing.
fn unpaired(answers: &Answered) -> Vec<ScoreError> {
    ACTIVITIES
        .iter()
        .skip(1)
        .filter_map(
            |&(name, rating)| match (answers.has(name), answers.has(rating)) {
                (true, false) => Some(ScoreError::Unpaired {
                    link_id: rating,
                    partner: name,
                }),
                (false, true) => Some(ScoreError::Unpaired {
                    link_id: name,
                    partner: rating,
                }),
                _ => None,
            },
        )
        .collect()
}

/// The mean of the ratings given; each rating is a subscore.
fn mean_rating(answers: &Answered) -> Scored {
    let subscores: Vec<Subscore> = ACTIVITIES
        .iter()
        .filter_map(|&(_, rating)| {
            answers.integer(rating).map(|value| Subscore {
                name: rating,
                value: value as f64,
            })
        })
        .collect();
    // At least one rating: `rating_1` is required and checked before scoring.
    let count = subscores.len().max(1) as f64;
    let value = subscores.iter().map(|s| s.value).sum::<f64>() / count;
    Scored {
        instrument: crate::instrument::Instrument::Psfs,
        value,
        raw: None,
        subscores,
        category: None,
        answered: answers.count(),
    }
}
