//! Questionnaires as the API shows them: the instruments' definitions a form is rendered from,
//! the schedules a clinician sets, the questionnaires asked of a patient and their scored
//! responses. The instruments' facts come from `stepwise-outcomes`; nothing here restates them.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use stepwise_care::questionnaires::{
    Answer, Instrument, QuestionnaireRequest, QuestionnaireSeries, RequestState, ResponseRecord,
    Schedule as ScheduleRecord, SubscoreValue,
};
use stepwise_outcomes::{AnswerKind, Item};
use stepwise_store::Id;
use utoipa::ToSchema;

/// An instrument as a form renders it: its items, answer options, scale anchors and the
/// licence notice to show.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Definition {
    /// The instrument's name in URLs and JSON: `psfs` or `koos_jr`.
    pub instrument: String,
    /// Its title.
    pub title: &'static str,
    /// Instructions shown before the first item, when the instrument has them.
    pub instructions: Option<&'static str>,
    /// Instructions for a follow-up that rates the activities named the first time (PSFS).
    pub follow_up_instructions: Option<&'static str>,
    /// The period the questions ask about ("today", "the last week").
    pub recall_period: &'static str,
    /// Lowest possible score.
    pub min: f64,
    /// Highest possible score.
    pub max: f64,
    /// Unit of the score (UCUM).
    pub unit: &'static str,
    /// `higher_is_better` or `higher_is_worse`.
    pub direction: String,
    /// The minimal important difference, when the instrument has a verified one.
    pub mid: Option<f64>,
    /// What kind of threshold the MID is, and its source.
    pub mid_basis: Option<String>,
    /// The licence: who owns the instrument, on what terms, and the notice to show.
    pub licence: Licence,
    /// The items, in order.
    pub items: Vec<DefinitionItem>,
}

/// The terms an instrument is used on.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Licence {
    /// Who holds the rights or developed it.
    pub owner: &'static str,
    /// The terms, summarised.
    pub terms: &'static str,
    /// Where the terms are published.
    pub url: &'static str,
    /// The line shown with the questionnaire and its results.
    pub notice: &'static str,
}

/// One item of a form.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DefinitionItem {
    /// The item's id: the key of its answer.
    pub link_id: &'static str,
    /// Text shown before it when it opens a group of questions.
    pub preamble: Option<&'static str>,
    /// Its wording.
    pub text: &'static str,
    /// Whether every response must answer it.
    pub required: bool,
    /// `choice`, `integer` or `text`.
    pub kind: &'static str,
    /// The options of a `choice` item.
    pub choices: Vec<DefinitionChoice>,
    /// Smallest value of an `integer` item.
    pub min: Option<i64>,
    /// Largest value of an `integer` item.
    pub max: Option<i64>,
    /// The label of the scale's low end (`integer`).
    pub low_label: Option<&'static str>,
    /// The label of the scale's high end (`integer`).
    pub high_label: Option<&'static str>,
    /// Most characters of a `text` answer.
    pub max_chars: Option<usize>,
}

/// One option of a choice item.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DefinitionChoice {
    /// The value sent as the answer.
    pub value: i64,
    /// Its wording.
    pub label: &'static str,
}

impl Definition {
    /// The definition of `instrument`.
    pub fn of(instrument: Instrument) -> Definition {
        let range = instrument.range();
        let mid = instrument.mid();
        let licence = instrument.licence();
        Definition {
            instrument: instrument.as_str().into(),
            title: instrument.title(),
            instructions: instrument.instructions(),
            follow_up_instructions: match instrument {
                Instrument::Psfs => Some(stepwise_outcomes::psfs::FOLLOW_UP_INSTRUCTIONS),
                Instrument::KoosJr => None,
            },
            recall_period: instrument.recall_period(),
            min: range.min,
            max: range.max,
            unit: range.unit,
            direction: name_of(&instrument.direction()),
            mid: mid.map(|m| m.value),
            mid_basis: mid.map(|m| format!("{} ({})", m.basis, m.source)),
            licence: Licence {
                owner: licence.owner,
                terms: licence.terms,
                url: licence.url,
                notice: licence.notice,
            },
            items: instrument.items().iter().map(DefinitionItem::of).collect(),
        }
    }
}

impl DefinitionItem {
    fn of(item: &Item) -> DefinitionItem {
        let mut out = DefinitionItem {
            link_id: item.link_id,
            preamble: item.preamble,
            text: item.text,
            required: item.required,
            kind: "text",
            choices: Vec::new(),
            min: None,
            max: None,
            low_label: None,
            high_label: None,
            max_chars: None,
        };
        match item.answer {
            AnswerKind::Choice(choices) => {
                out.kind = "choice";
                out.choices = choices
                    .iter()
                    .map(|c| DefinitionChoice {
                        value: c.value,
                        label: c.label,
                    })
                    .collect();
            }
            AnswerKind::Integer {
                min,
                max,
                low_label,
                high_label,
            } => {
                out.kind = "integer";
                out.min = Some(min);
                out.max = Some(max);
                out.low_label = Some(low_label);
                out.high_label = Some(high_label);
            }
            AnswerKind::Text { max_chars } => out.max_chars = Some(max_chars),
        }
        out
    }
}

/// The serde name of a unit enum (`higher_is_better`).
fn name_of<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => String::new(),
    }
}

/// A schedule to set.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSchedule {
    /// The clinician's id for it (1–64 letters, digits, `-`, `_`): the same id again is the
    /// same schedule.
    pub client_id: String,
    /// `psfs` or `koos_jr`.
    pub instrument: String,
    /// `start` (once, today), `every_weeks` (every `weeks` weeks from today) or
    /// `before_visit` (`days` days before each planned visit).
    pub timing: String,
    /// Weeks between questionnaires, 1–52 (`every_weeks` only).
    pub weeks: Option<i64>,
    /// Days before each visit, 0–28 (`before_visit` only).
    pub days: Option<i64>,
}

/// Who set a schedule.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SetBy {
    /// Their user id.
    pub id: Id,
    /// Their name.
    pub name: String,
}

/// A schedule.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Schedule {
    /// The schedule's id.
    pub id: Id,
    /// Whose.
    pub patient_id: Id,
    /// `psfs` or `koos_jr`.
    pub instrument: String,
    /// The instrument's title.
    pub title: &'static str,
    /// `start`, `every_weeks` or `before_visit`.
    pub timing: &'static str,
    /// Weeks between questionnaires (`every_weeks`).
    pub weeks: Option<i64>,
    /// Days before each visit (`before_visit`).
    pub days: Option<i64>,
    /// When, in words ("every 4 weeks").
    pub words: String,
    /// The patient's local date it was set on.
    pub starts_on: NaiveDate,
    /// Who set it.
    pub set_by: SetBy,
    /// When it was set.
    pub created_at: DateTime<Utc>,
    /// Whether it still asks.
    pub active: bool,
    /// When it was stopped.
    pub stopped_at: Option<DateTime<Utc>>,
}

impl From<ScheduleRecord> for Schedule {
    fn from(s: ScheduleRecord) -> Schedule {
        let number = s.timing.number();
        let is_weeks = matches!(
            s.timing,
            stepwise_care::questionnaires::Timing::EveryWeeks { .. }
        );
        Schedule {
            id: s.id,
            patient_id: s.patient_id,
            instrument: s.instrument.as_str().into(),
            title: s.instrument.title(),
            timing: s.timing.as_str(),
            weeks: number.filter(|_| is_weeks),
            days: number.filter(|_| !is_weeks),
            words: s.timing.words(),
            starts_on: s.starts_on,
            set_by: SetBy {
                id: s.set_by,
                name: s.set_by_name.clone(),
            },
            created_at: s.created_at,
            active: s.active(),
            stopped_at: s.stopped_at,
        }
    }
}

/// A questionnaire asked of a patient.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Request {
    /// Its id: answer it at `/me/questionnaires/{id}/response`.
    pub id: Id,
    /// `psfs` or `koos_jr`.
    pub instrument: String,
    /// The instrument's title.
    pub title: &'static str,
    /// The patient's local date it is due on.
    pub due_on: NaiveDate,
    /// Why it is asked, in words.
    pub reason: String,
    /// `open`, `answered` or `expired`.
    pub state: RequestState,
    /// When it was asked.
    pub created_at: DateTime<Utc>,
}

impl From<QuestionnaireRequest> for Request {
    fn from(r: QuestionnaireRequest) -> Request {
        Request {
            id: r.id,
            instrument: r.instrument.as_str().into(),
            title: r.instrument.title(),
            due_on: r.due_on,
            reason: r.reason,
            state: r.state,
            created_at: r.created_at,
        }
    }
}

/// An open questionnaire as the patient's page shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OpenRequest {
    /// The questionnaire.
    #[serde(flatten)]
    pub request: Request,
    /// Answers filled in before the patient starts: a PSFS follow-up rates the activities
    /// named the first time (`activity_1` → "Climbing stairs").
    pub prefill: BTreeMap<String, String>,
}

/// A patient's questionnaires: the open ones, and each instrument's scores so far.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyQuestionnaires {
    /// Questionnaires waiting for answers, by due date.
    pub open: Vec<OpenRequest>,
    /// Each instrument's scores against the first.
    pub series: Vec<QuestionnaireSeries>,
}

/// A patient's questionnaires as their care team sees them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PatientQuestionnaires {
    /// Every questionnaire asked, by due date.
    pub requests: Vec<Request>,
    /// Each instrument's scores against the first, with the MID.
    pub series: Vec<QuestionnaireSeries>,
}

/// A patient's answers to a questionnaire.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewResponse {
    /// The patient's id for it (1–64 letters, digits, `-`, `_`): a retried submit with the
    /// same id stores once.
    pub client_id: String,
    /// The answers by item `link_id`: a whole number for a choice or a scale, text for a
    /// text item, e.g. `{"activity_1": "Climbing stairs", "rating_1": 4}`.
    #[schema(value_type = Object)]
    pub answers: BTreeMap<String, serde_json::Value>,
}

/// A stored, scored response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Response {
    /// Its id.
    pub id: Id,
    /// The questionnaire answered.
    pub request_id: Id,
    /// `psfs` or `koos_jr`.
    pub instrument: String,
    /// The score, in the instrument's unit.
    pub score: f64,
    /// The raw score before conversion (KOOS, JR.'s sum of 0–28), where there is one.
    pub raw: Option<f64>,
    /// Named parts of the score (PSFS: each activity's rating).
    #[schema(value_type = Vec<Object>)]
    pub subscores: Vec<SubscoreValue>,
    /// A category the instrument assigns, where it defines one.
    pub category: Option<String>,
    /// The answers as stored.
    #[schema(value_type = Object)]
    pub answers: BTreeMap<String, Answer>,
    /// When it was answered.
    pub answered_at: DateTime<Utc>,
}

impl From<ResponseRecord> for Response {
    fn from(r: ResponseRecord) -> Response {
        Response {
            id: r.id,
            request_id: r.request_id,
            instrument: r.instrument.as_str().into(),
            score: r.value,
            raw: r.raw,
            subscores: r.subscores,
            category: r.category,
            answers: r.answers,
            answered_at: r.answered_at,
        }
    }
}
