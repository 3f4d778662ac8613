//! KOOS, JR. (Knee injury and Osteoarthritis Outcome Score for Joint Replacement): the one
//! home of its wording, answer values, conversion table, licence and scoring.
//!
//! Seven items of the full KOOS — one on stiffness, four on pain, two on function in daily
//! living — each answered None (0) to Extreme (4). The seven answers are summed (0–28) and the
//! sum converted to an interval score from 0 (total knee disability) to 100 (perfect knee
//! health) with the developers' table, [`INTERVAL_SCORE`] (Lyman S, Lee YY, Franklin PD, Li W,
//! Cross MB, Padgett DE. Validation of the KOOS, JR: a short-form knee arthroplasty outcomes
//! survey. Clin Orthop Relat Res 2016, doi:10.1007/s11999-016-4719-1; Hospital for Special
//! Surgery).
//!
//! The table is for complete responses, and so a response with any item unanswered is refused
//! rather than prorated. HSS asks that the survey not be altered without the developer's
//! written permission: the wording below is the survey's, unaltered.

use crate::definition::Definition;
use crate::instrument::{Direction, Licence, Loinc, ScoreRange};
use crate::item::{AnswerKind, Choice, Item};
use crate::scored::{Answered, ScoreError, Scored};

/// The answer options of every item, with the values the scoring gives them.
pub const CHOICES: [Choice; 5] = [
    Choice {
        value: 0,
        label: "None",
    },
    Choice {
        value: 1,
        label: "Mild",
    },
    Choice {
        value: 2,
        label: "Moderate",
    },
    Choice {
        value: 3,
        label: "Severe",
    },
    Choice {
        value: 4,
        label: "Extreme",
    },
];

const SEVERITY: AnswerKind = AnswerKind::Choice(&CHOICES);

/// The survey's introduction to its stiffness item.
pub const STIFFNESS_PREAMBLE: &str = "The following question concerns the amount of joint \
stiffness you have experienced during the last week in your knee. Stiffness is a sensation of \
restriction or slowness in the ease with which you move your knee joint.";

/// The survey's introduction to its pain items.
pub const PAIN_PREAMBLE: &str =
    "What amount of knee pain have you experienced the last week during the following activities?";

/// The survey's introduction to its function items.
pub const FUNCTION_PREAMBLE: &str = "The following questions concern your physical function. \
By this we mean your ability to move around and to look after yourself. For each of the \
following activities please indicate the degree of difficulty you have experienced in the \
last week due to your knee.";

/// One severity item; every KOOS, JR. item is required.
const fn item(link_id: &'static str, preamble: Option<&'static str>, text: &'static str) -> Item {
    Item {
        link_id,
        preamble,
        text,
        answer: SEVERITY,
        required: true,
    }
}

/// The seven items, in the survey's order.
pub const ITEMS: [Item; 7] = [
    item(
        "stiffness_morning",
        Some(STIFFNESS_PREAMBLE),
        "How severe is your knee stiffness after first wakening in the morning?",
    ),
    item(
        "pain_twisting",
        Some(PAIN_PREAMBLE),
        "Twisting/pivoting on your knee",
    ),
    item("pain_straightening", None, "Straightening knee fully"),
    item("pain_stairs", None, "Going up or down stairs"),
    item("pain_standing", None, "Standing upright"),
    item(
        "function_rising",
        Some(FUNCTION_PREAMBLE),
        "Rising from sitting",
    ),
    item(
        "function_bending",
        None,
        "Bending to floor/pick up an object",
    ),
];

/// The interval score (0–100) of each raw summed score 0–28, index = raw score, as the
/// developers publish it (Lyman et al. 2016; HSS KOOS, JR. scoring).
pub const INTERVAL_SCORE: [f64; 29] = [
    100.000, 91.975, 84.600, 79.914, 76.332, 73.342, 70.704, 68.284, 65.994, 63.776, 61.583,
    59.381, 57.140, 54.840, 52.465, 50.012, 47.487, 44.905, 42.281, 39.625, 36.931, 34.174, 31.307,
    28.251, 24.875, 20.941, 15.939, 8.291, 0.000,
];

/// The interval score of a raw summed score, or `None` outside 0–28 (for a raw score a
/// therapist transcribes from paper).
pub fn interval_score(raw: u32) -> Option<f64> {
    INTERVAL_SCORE.get(usize::try_from(raw).ok()?).copied()
}

/// The line shown with the survey: who developed it and on what terms it is used.
pub const NOTICE: &str = "KOOS, JR. was developed at Hospital for Special Surgery (Stephen \
Lyman, PhD). It is nonproprietary and free to use, and is shown here unaltered.";

pub(crate) const DEFINITION: Definition = Definition {
    title: "Knee injury and Osteoarthritis Outcome Score for Joint Replacement (KOOS, JR.)",
    instructions: None,
    items: &ITEMS,
    recall_period: "the last week",
    range: ScoreRange {
        min: 0.0,
        max: 100.0,
        unit: "{score}",
    },
    direction: Direction::HigherIsBetter,
    mid: None,
    licence: Licence {
        owner: "Hospital for Special Surgery, New York (developer: Stephen Lyman, PhD)",
        terms: "\"These instruments are nonproprietary and free to use. Do not alter the \
                surveys without written permission from their developer, Stephen Lyman, PhD.\"",
        url: "https://hss.edu/hoos-jr-koos-jr-outcomes-surveys.asp",
        notice: NOTICE,
    },
    loinc: Loinc {
        questionnaire: None,
        score: None,
    },
    rules: no_rules,
    scorer: interval,
};

/// KOOS, JR. has no rule across items beyond every item being answered.
fn no_rules(_: &Answered) -> Vec<ScoreError> {
    Vec::new()
}

/// Sums the seven answers and converts the sum.
fn interval(answers: &Answered) -> Scored {
    let raw: i64 = ITEMS
        .iter()
        .filter_map(|item| answers.integer(item.link_id))
        .sum();
    // Every answer was checked to be a value of `CHOICES` (0–4), so the sum is 0–28; the
    // clamp only keeps the table look-up total.
    let index = usize::try_from(raw)
        .unwrap_or(0)
        .min(INTERVAL_SCORE.len() - 1);
    Scored {
        instrument: crate::instrument::Instrument::KoosJr,
        value: INTERVAL_SCORE[index],
        raw: Some(index as f64),
        subscores: Vec::new(),
        category: None,
        answered: answers.count(),
    }
}
