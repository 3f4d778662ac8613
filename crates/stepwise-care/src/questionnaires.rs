//! Questionnaires patients fill in on their phone (`docs/outcomes.md`), as plain records, and
//! the pure computations over them: which questionnaires are due ([`due_requests`]), the
//! activities a PSFS follow-up rates again ([`psfs_activities`]) and each instrument's scores
//! against the first one ([`series`]).
//!
//! The instruments themselves — items, answers, scoring, MID, licence — live in
//! `stepwise-outcomes`; this module only says when a patient is asked and what they answered.

use std::collections::{BTreeMap, HashSet};
use std::ops::RangeInclusive;

use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
pub use stepwise_outcomes::{Answer, Instrument, Scored};

use crate::calendar::local_day;
use crate::records::Id;

/// How many weeks apart an `every_weeks` schedule may ask.
pub const EVERY_WEEKS: RangeInclusive<i64> = 1..=52;
/// How many days before a visit a `before_visit` schedule may ask.
pub const DAYS_BEFORE_VISIT: RangeInclusive<i64> = 0..=28;
/// A questionnaire left unanswered this many days after its due date expires.
pub const OPEN_DAYS: u64 = 14;

/// When a schedule asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "timing", rename_all = "snake_case")]
pub enum Timing {
    /// Once, on the day the schedule is set.
    Start,
    /// Every `weeks` weeks after the day the schedule is set (not on that day itself: a
    /// `start` schedule asks then).
    EveryWeeks {
        /// Weeks between two questionnaires, within [`EVERY_WEEKS`].
        weeks: u32,
    },
    /// `days` days before each planned visit (the patient's next visit date).
    BeforeVisit {
        /// Days before the visit, within [`DAYS_BEFORE_VISIT`].
        days: u32,
    },
}

impl Timing {
    /// The names of the timings, as stored and in JSON.
    pub const NAMES: [&'static str; 3] = ["start", "every_weeks", "before_visit"];

    /// The stable name of the timing, as stored and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Timing::Start => Self::NAMES[0],
            Timing::EveryWeeks { .. } => Self::NAMES[1],
            Timing::BeforeVisit { .. } => Self::NAMES[2],
        }
    }

    /// Its number: the weeks or the days (`None` for `start`).
    pub fn number(self) -> Option<i64> {
        match self {
            Timing::Start => None,
            Timing::EveryWeeks { weeks } => Some(i64::from(weeks)),
            Timing::BeforeVisit { days } => Some(i64::from(days)),
        }
    }

    /// Builds a timing from its name and number as stored; `None` when they do not make one
    /// (an unknown name, a number missing, or outside its range).
    pub fn from_parts(name: &str, number: Option<i64>) -> Option<Timing> {
        let within = |range: RangeInclusive<i64>| {
            number
                .filter(|n| range.contains(n))
                .and_then(|n| u32::try_from(n).ok())
        };
        match name {
            "start" if number.is_none() => Some(Timing::Start),
            "every_weeks" => within(EVERY_WEEKS).map(|weeks| Timing::EveryWeeks { weeks }),
            "before_visit" => within(DAYS_BEFORE_VISIT).map(|days| Timing::BeforeVisit { days }),
            _ => None,
        }
    }

    /// In words, for pages and the reason of a request ("every 4 weeks").
    pub fn words(self) -> String {
        match self {
            Timing::Start => "at the start".into(),
            Timing::EveryWeeks { weeks: 1 } => "every week".into(),
            Timing::EveryWeeks { weeks } => format!("every {weeks} weeks"),
            Timing::BeforeVisit { days: 0 } => "on the day of each visit".into(),
            Timing::BeforeVisit { days: 1 } => "the day before each visit".into(),
            Timing::BeforeVisit { days } => format!("{days} days before each visit"),
        }
    }
}

/// A schedule about to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSchedule {
    /// Who is asked.
    pub patient_id: Id,
    /// What they are asked to fill in.
    pub instrument: Instrument,
    /// When.
    pub timing: Timing,
    /// The clinician who set it.
    pub set_by: Id,
    /// The patient's local date it was set on: `start` asks then, `every_weeks` counts from it.
    pub starts_on: NaiveDate,
    /// The clinician's id for it: the same id again is the same schedule.
    pub client_id: String,
}

/// A stored schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Row id.
    pub id: Id,
    /// Who is asked.
    pub patient_id: Id,
    /// What they are asked to fill in.
    pub instrument: Instrument,
    /// When.
    pub timing: Timing,
    /// The clinician who set it.
    pub set_by: Id,
    /// Their name.
    pub set_by_name: String,
    /// The patient's local date it was set on.
    pub starts_on: NaiveDate,
    /// When it was set.
    pub created_at: DateTime<Utc>,
    /// When it was stopped; `None` while it is active.
    pub stopped_at: Option<DateTime<Utc>>,
}

impl Schedule {
    /// Whether it still asks.
    pub fn active(&self) -> bool {
        self.stopped_at.is_none()
    }
}

/// Where a questionnaire asked of a patient is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RequestState {
    /// Waiting for the patient's answers.
    Open,
    /// Answered and scored.
    Answered,
    /// No longer asked: a newer one of its schedule replaced it, its schedule was stopped, or
    /// it stayed unanswered for [`OPEN_DAYS`] days.
    Expired,
}

impl RequestState {
    /// Every state.
    pub const ALL: [RequestState; 3] = [
        RequestState::Open,
        RequestState::Answered,
        RequestState::Expired,
    ];

    /// The stable name used in storage and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestState::Open => "open",
            RequestState::Answered => "answered",
            RequestState::Expired => "expired",
        }
    }

    /// Parses [`RequestState::as_str`]'s names.
    pub fn parse(name: &str) -> Option<RequestState> {
        RequestState::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// A questionnaire to ask of a patient, made by [`due_requests`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRequest {
    /// Who is asked.
    pub patient_id: Id,
    /// What to fill in.
    pub instrument: Instrument,
    /// The schedule that asks.
    pub schedule_id: Id,
    /// The patient's local date it is due on; a schedule asks once per date.
    pub due_on: NaiveDate,
    /// Why it is asked, in words ("every 4 weeks").
    pub reason: String,
}

/// A questionnaire asked of a patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuestionnaireRequest {
    /// Row id.
    pub id: Id,
    /// Who is asked.
    pub patient_id: Id,
    /// What to fill in.
    pub instrument: Instrument,
    /// The schedule that asked.
    pub schedule_id: Id,
    /// The patient's local date it is due on.
    pub due_on: NaiveDate,
    /// Why it is asked, in words.
    pub reason: String,
    /// Where it is.
    pub state: RequestState,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// A scored response about to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewResponse {
    /// Who answered.
    pub patient_id: Id,
    /// The questionnaire answered.
    pub request_id: Id,
    /// Its instrument.
    pub instrument: Instrument,
    /// The answers, by item `link_id`.
    pub answers: BTreeMap<String, Answer>,
    /// Their score, as `stepwise_outcomes::score` returned it.
    pub scored: Scored,
    /// The patient's id for it: a retried submit with the same id stores once.
    pub client_id: String,
}

/// A named part of a stored score (a PSFS activity's rating).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = report::Subscore))]
pub struct SubscoreValue {
    /// The part's name, e.g. `rating_1`.
    pub name: String,
    /// Its value.
    pub value: f64,
}

/// A stored, scored response.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseRecord {
    /// Row id.
    pub id: Id,
    /// Who answered.
    pub patient_id: Id,
    /// The questionnaire answered.
    pub request_id: Id,
    /// Its instrument.
    pub instrument: Instrument,
    /// The answers, by item `link_id`.
    pub answers: BTreeMap<String, Answer>,
    /// The score, in the instrument's unit.
    pub value: f64,
    /// The raw score before conversion, where the instrument converts one.
    pub raw: Option<f64>,
    /// Named parts of the score.
    pub subscores: Vec<SubscoreValue>,
    /// A category the instrument assigns, where it defines one.
    pub category: Option<String>,
    /// When it was answered.
    pub answered_at: DateTime<Utc>,
}

/// What the planner found: questionnaires to ask, and open ones to expire.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct RequestPlan {
    /// Questionnaires newly due.
    pub new: Vec<NewRequest>,
    /// Open questionnaires no longer asked (ids).
    pub expire: Vec<Id>,
}

/// The questionnaires due for one patient on their local date `today`, given their schedules,
/// their next visit and the questionnaires already asked.
///
/// - `start` asks once, on the day it was set;
/// - `every_weeks` asks on each multiple of its weeks after that day — only the latest one
///   reached, so a patient back after a long gap gets one questionnaire, not a backlog;
/// - `before_visit` asks from its days before `next_visit` up to the visit.
///
/// A schedule never asks twice for the same date. Open questionnaires expire when a newer one
/// of the same schedule is due, when their schedule is stopped, or [`OPEN_DAYS`] after their
/// due date.
pub fn due_requests(
    schedules: &[Schedule],
    next_visit: Option<NaiveDate>,
    past: &[QuestionnaireRequest],
    today: NaiveDate,
) -> RequestPlan {
    let asked: HashSet<(Id, NaiveDate)> = past.iter().map(|r| (r.schedule_id, r.due_on)).collect();
    let mut plan = RequestPlan::default();
    for schedule in schedules.iter().filter(|s| s.active()) {
        let Some(due_on) = due_on(schedule, next_visit, today) else {
            continue;
        };
        if asked.contains(&(schedule.id, due_on)) {
            continue;
        }
        let reason = match schedule.timing {
            Timing::BeforeVisit { .. } => match next_visit {
                Some(visit) => format!("before your visit on {}", visit.format("%-d %B %Y")),
                None => schedule.timing.words(),
            },
            timing => timing.words(),
        };
        plan.new.push(NewRequest {
            patient_id: schedule.patient_id,
            instrument: schedule.instrument,
            schedule_id: schedule.id,
            due_on,
            reason,
        });
    }
    let active: HashSet<Id> = schedules
        .iter()
        .filter(|s| s.active())
        .map(|s| s.id)
        .collect();
    for request in past.iter().filter(|r| r.state == RequestState::Open) {
        let superseded = plan
            .new
            .iter()
            .any(|n| n.schedule_id == request.schedule_id && n.due_on > request.due_on)
            || past.iter().any(|other| {
                other.schedule_id == request.schedule_id && other.due_on > request.due_on
            });
        let stale = request
            .due_on
            .checked_add_days(Days::new(OPEN_DAYS))
            .is_some_and(|last| last < today);
        if superseded || stale || !active.contains(&request.schedule_id) {
            plan.expire.push(request.id);
        }
    }
    plan
}

/// The date `schedule` asks for on `today`, if it asks.
fn due_on(
    schedule: &Schedule,
    next_visit: Option<NaiveDate>,
    today: NaiveDate,
) -> Option<NaiveDate> {
    match schedule.timing {
        Timing::Start => (today >= schedule.starts_on).then_some(schedule.starts_on),
        Timing::EveryWeeks { weeks } => {
            let period = i64::from(weeks) * 7;
            let elapsed = (today - schedule.starts_on).num_days();
            let periods = elapsed / period;
            (periods >= 1).then(|| {
                schedule
                    .starts_on
                    .checked_add_days(Days::new((periods * period) as u64))
            })?
        }
        Timing::BeforeVisit { days } => {
            let visit = next_visit?;
            let opens = visit.checked_sub_days(Days::new(u64::from(days)))?;
            (opens <= today && today <= visit && opens >= schedule.starts_on).then_some(opens)
        }
    }
}

/// The activities the patient named in their first PSFS response, by `link_id`
/// (`activity_1` → "Climbing stairs"): a later PSFS rates the same activities, so its form
/// shows them filled in. Empty before the first PSFS.
pub fn psfs_activities(responses: &[ResponseRecord]) -> BTreeMap<String, String> {
    responses
        .iter()
        .filter(|r| r.instrument == Instrument::Psfs)
        .min_by_key(|r| (r.answered_at, r.id))
        .map(|first| {
            first
                .answers
                .iter()
                .filter_map(|(link_id, answer)| match answer {
                    Answer::Text(text) => Some((link_id.clone(), text.clone())),
                    Answer::Integer(_) => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One scored response, as the report and its chart show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = report::QuestionnaireScore))]
pub struct ScorePoint {
    /// The response's id.
    pub response_id: Id,
    /// The questionnaire it answered.
    pub request_id: Id,
    /// The patient's local date it was answered on.
    pub day: NaiveDate,
    /// When it was answered.
    pub answered_at: DateTime<Utc>,
    /// The score, in the instrument's unit.
    pub value: f64,
    /// The raw score before conversion (KOOS, JR.'s sum), where there is one.
    pub raw: Option<f64>,
    /// Named parts of the score.
    pub subscores: Vec<SubscoreValue>,
    /// A category the instrument assigns, where it defines one.
    pub category: Option<String>,
    /// The score minus the first score.
    pub change_from_first: f64,
    /// How it compares with the first score against the MID (`better`, `worse`,
    /// `within_mid`); `None` when the instrument has no MID.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub change: Option<stepwise_outcomes::Change>,
    /// The answers, by item `link_id` (a number or a text each), for the FHIR
    /// QuestionnaireResponse.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub answers: BTreeMap<String, Answer>,
}

/// One instrument's scores over time, against the first.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = report::QuestionnaireSeries))]
pub struct QuestionnaireSeries {
    /// The instrument, e.g. `psfs`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub instrument: Instrument,
    /// Its title.
    pub title: &'static str,
    /// Unit of its score (UCUM).
    pub unit: &'static str,
    /// Lowest possible score.
    pub min: f64,
    /// Highest possible score.
    pub max: f64,
    /// Whether higher is better (`higher_is_better`) or worse.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub direction: stepwise_outcomes::Direction,
    /// The minimal important difference, when the instrument has a verified one: the chart's
    /// band is the first score ± this.
    pub mid: Option<f64>,
    /// What kind of threshold the MID is and where it is published.
    pub mid_basis: Option<String>,
    /// The licence notice to show with the results.
    pub notice: &'static str,
    /// Every score, oldest first; the first is the baseline.
    pub points: Vec<ScorePoint>,
}

impl QuestionnaireSeries {
    /// The first score (the baseline).
    pub fn first(&self) -> Option<&ScorePoint> {
        self.points.first()
    }

    /// The latest score.
    pub fn latest(&self) -> Option<&ScorePoint> {
        self.points.last()
    }
}

/// Each instrument's scores among `responses`, oldest first, against its first score; dates in
/// the patient's zone `tz`. Instruments without responses are left out.
pub fn series(tz: Tz, responses: &[ResponseRecord]) -> Vec<QuestionnaireSeries> {
    Instrument::ALL
        .into_iter()
        .filter_map(|instrument| {
            let mut mine: Vec<&ResponseRecord> = responses
                .iter()
                .filter(|r| r.instrument == instrument)
                .collect();
            mine.sort_by_key(|r| (r.answered_at, r.id));
            let first = mine.first()?.value;
            let range = instrument.range();
            let mid = instrument.mid();
            Some(QuestionnaireSeries {
                instrument,
                title: instrument.title(),
                unit: range.unit,
                min: range.min,
                max: range.max,
                direction: instrument.direction(),
                mid: mid.map(|m| m.value),
                mid_basis: mid.map(|m| format!("{} ({})", m.basis, m.source)),
                notice: instrument.licence().notice,
                points: mine
                    .into_iter()
                    .map(|r| ScorePoint {
                        response_id: r.id,
                        request_id: r.request_id,
                        day: local_day(tz, r.answered_at),
                        answered_at: r.answered_at,
                        value: r.value,
                        raw: r.raw,
                        subscores: r.subscores.clone(),
                        category: r.category.clone(),
                        change_from_first: r.value - first,
                        change: instrument.change(first, r.value),
                        answers: r.answers.clone(),
                    })
                    .collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, d).unwrap()
    }

    fn schedule(id: Id, timing: Timing, starts_on: NaiveDate) -> Schedule {
        Schedule {
            id,
            patient_id: 7,
            instrument: Instrument::Psfs,
            timing,
            set_by: 2,
            set_by_name: "Dr T".into(),
            starts_on,
            created_at: DateTime::from_timestamp(0, 0).unwrap(),
            stopped_at: None,
        }
    }

    fn asked(
        id: Id,
        schedule_id: Id,
        due_on: NaiveDate,
        state: RequestState,
    ) -> QuestionnaireRequest {
        QuestionnaireRequest {
            id,
            patient_id: 7,
            instrument: Instrument::Psfs,
            schedule_id,
            due_on,
            reason: String::new(),
            state,
            created_at: DateTime::from_timestamp(0, 0).unwrap(),
        }
    }

    #[test]
    fn start_asks_once_on_its_day() {
        let s = [schedule(1, Timing::Start, day(11, 2))];
        let plan = due_requests(&s, None, &[], day(11, 2));
        assert_eq!(plan.new.len(), 1);
        assert_eq!(plan.new[0].due_on, day(11, 2));
        assert_eq!(plan.new[0].reason, "at the start");
        let past = [asked(10, 1, day(11, 2), RequestState::Answered)];
        assert!(due_requests(&s, None, &past, day(11, 9)).new.is_empty());
    }

    #[test]
    fn every_weeks_asks_the_latest_multiple_only() {
        let s = [schedule(1, Timing::EveryWeeks { weeks: 2 }, day(11, 2))];
        assert!(due_requests(&s, None, &[], day(11, 15)).new.is_empty());
        let plan = due_requests(&s, None, &[], day(11, 16));
        assert_eq!(plan.new[0].due_on, day(11, 16));
        assert_eq!(plan.new[0].reason, "every 2 weeks");
        // Six weeks later with nothing asked: one questionnaire, for the latest date.
        let plan = due_requests(&s, None, &[], day(12, 17));
        assert_eq!(plan.new.len(), 1);
        assert_eq!(plan.new[0].due_on, day(12, 14));
        // The older open one expires when the newer one is due.
        let past = [asked(10, 1, day(11, 30), RequestState::Open)];
        let plan = due_requests(&s, None, &past, day(12, 14));
        assert_eq!(plan.new[0].due_on, day(12, 14));
        assert_eq!(plan.expire, vec![10]);
    }

    #[test]
    fn before_visit_asks_in_the_days_before_the_visit() {
        let s = [schedule(1, Timing::BeforeVisit { days: 3 }, day(11, 2))];
        assert!(
            due_requests(&s, Some(day(11, 20)), &[], day(11, 16))
                .new
                .is_empty()
        );
        let plan = due_requests(&s, Some(day(11, 20)), &[], day(11, 17));
        assert_eq!(plan.new[0].due_on, day(11, 17));
        assert_eq!(plan.new[0].reason, "before your visit on 20 November 2026");
        assert_eq!(
            due_requests(&s, Some(day(11, 20)), &[], day(11, 20))
                .new
                .len(),
            1
        );
        assert!(
            due_requests(&s, Some(day(11, 20)), &[], day(11, 21))
                .new
                .is_empty()
        );
        assert!(due_requests(&s, None, &[], day(11, 17)).new.is_empty());
    }

    #[test]
    fn stopped_schedules_ask_nothing_and_their_open_requests_expire() {
        let mut s = schedule(1, Timing::Start, day(11, 2));
        s.stopped_at = Some(DateTime::from_timestamp(1, 0).unwrap());
        let past = [asked(10, 1, day(11, 2), RequestState::Open)];
        let plan = due_requests(&[s], None, &past, day(11, 3));
        assert!(plan.new.is_empty());
        assert_eq!(plan.expire, vec![10]);
    }

    #[test]
    fn unanswered_requests_expire_after_open_days() {
        let s = [schedule(1, Timing::Start, day(11, 2))];
        let past = [asked(10, 1, day(11, 2), RequestState::Open)];
        assert!(due_requests(&s, None, &past, day(11, 16)).expire.is_empty());
        assert_eq!(due_requests(&s, None, &past, day(11, 17)).expire, vec![10]);
    }

    #[test]
    fn timings_round_trip_and_refuse_out_of_range_numbers() {
        for timing in [
            Timing::Start,
            Timing::EveryWeeks { weeks: 4 },
            Timing::BeforeVisit { days: 0 },
        ] {
            assert_eq!(
                Timing::from_parts(timing.as_str(), timing.number()),
                Some(timing)
            );
        }
        assert_eq!(Timing::from_parts("every_weeks", Some(0)), None);
        assert_eq!(Timing::from_parts("every_weeks", None), None);
        assert_eq!(Timing::from_parts("start", Some(1)), None);
        assert_eq!(Timing::from_parts("monthly", Some(1)), None);
    }

    fn response(id: Id, instrument: Instrument, at: i64, value: f64) -> ResponseRecord {
        let mut answers = BTreeMap::new();
        answers.insert("activity_1".into(), Answer::Text("Climbing stairs".into()));
        answers.insert("rating_1".into(), Answer::Integer(value as i64));
        ResponseRecord {
            id,
            patient_id: 7,
            request_id: id,
            instrument,
            answers,
            value,
            raw: None,
            subscores: vec![],
            category: None,
            answered_at: DateTime::from_timestamp(at, 0).unwrap(),
        }
    }

    #[test]
    fn series_compare_with_the_first_score_and_its_mid() {
        let responses = [
            response(2, Instrument::Psfs, 2_000_000, 6.0),
            response(1, Instrument::Psfs, 1_000_000, 3.0),
            response(3, Instrument::Psfs, 3_000_000, 4.0),
        ];
        let all = series(Tz::UTC, &responses);
        assert_eq!(all.len(), 1);
        let psfs = &all[0];
        assert_eq!(psfs.mid, Some(2.0));
        let values: Vec<f64> = psfs.points.iter().map(|p| p.value).collect();
        assert_eq!(values, vec![3.0, 6.0, 4.0]);
        assert_eq!(
            psfs.points[1].change,
            Some(stepwise_outcomes::Change::Better)
        );
        assert_eq!(
            psfs.points[2].change,
            Some(stepwise_outcomes::Change::WithinMid)
        );
        assert_eq!(psfs.points[2].change_from_first, 1.0);
        assert_eq!(
            psfs_activities(&responses)
                .get("activity_1")
                .map(String::as_str),
            Some("Climbing stairs")
        );
    }
}
