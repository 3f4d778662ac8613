//! Questionnaires patients fill in (`docs/outcomes.md`): the instruments' forms, the schedules
//! a clinician sets, the questionnaires asked and the patient's answers, scored here with
//! `stepwise_outcomes::score`.
//!
//! Staff reach a patient's schedules and scores through [`staff_patient`], which checks the
//! clinic and the therapist and audits every read and write; a patient reads and answers only
//! their own questionnaires (`/me/questionnaires`). Setting a schedule asks what it asks today
//! at once (with its push); the reminder planner asks the rest as their dates come
//! ([`crate::reminders::ask_questionnaires`]).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use stepwise_care::calendar::local_day;
use stepwise_care::questionnaires::{
    DAYS_BEFORE_VISIT, EVERY_WEEKS, RequestState, Timing, psfs_activities, series,
};
use stepwise_outcomes::{Answer, AnswerKind, Instrument, ScoreError};
use stepwise_store as store;
use utoipa::IntoParams;

use crate::access::{own_patient, staff_patient};
use crate::api::questionnaires as api;
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult, ErrorBody, answers};
use crate::json::{Body, Path};
use crate::reminders::ask_questionnaires;
use crate::state::AppState;
use crate::validate::{self, parse_zone};

/// The most answers one response may carry (the longest instrument has ten items).
pub const MAX_ANSWERS: usize = 64;

fn created(new: bool) -> StatusCode {
    if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

/// The instruments' names, as errors list them.
fn instrument_names() -> String {
    Instrument::ALL
        .iter()
        .map(|i| i.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// An instrument named in a request body, or an error naming `field`.
fn instrument(field: &str, name: &str) -> ApiResult<Instrument> {
    Instrument::parse(name).ok_or_else(|| {
        ApiError::invalid(
            field,
            format!("{field} {:?} is not a questionnaire", clip(name)),
            format!("one of {}", instrument_names()),
        )
    })
}

/// At most 64 characters of what a client sent, for an error message.
fn clip(text: &str) -> String {
    text.chars().take(64).collect()
}

// --- definitions ---

/// An instrument named in the path.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct InstrumentPath {
    /// `psfs` or `koos_jr`.
    instrument: String,
}

/// `GET /api/v1/questionnaires`
#[utoipa::path(
    get,
    path = "/questionnaires",
    tag = "questionnaires",
    summary = "The questionnaires patients may be asked to fill in: items, answers, scale anchors, MID and licence notice",
    responses(
        (status = 200, description = "Every instrument's definition", body = Vec<api::Definition>),
        answers::LoggedIn,
    ),
)]
pub async fn definitions(AuthUser(_user): AuthUser) -> Json<Vec<api::Definition>> {
    Json(
        Instrument::ALL
            .into_iter()
            .map(api::Definition::of)
            .collect(),
    )
}

/// `GET /api/v1/questionnaires/{instrument}`
#[utoipa::path(
    get,
    path = "/questionnaires/{instrument}",
    tag = "questionnaires",
    summary = "One questionnaire's definition, for a form to render",
    params(InstrumentPath),
    responses(
        (status = 200, description = "The definition", body = api::Definition),
        answers::LoggedIn,
        answers::Missing,
        answers::Invalid,
    ),
)]
pub async fn definition(
    AuthUser(_user): AuthUser,
    Path(InstrumentPath { instrument }): Path<InstrumentPath>,
) -> ApiResult<Json<api::Definition>> {
    let instrument = Instrument::parse(&instrument).ok_or(ApiError::NotFound)?;
    Ok(Json(api::Definition::of(instrument)))
}

// --- schedules (staff) ---

/// The timing a schedule request names, or an error naming the field at fault.
fn timing(req: &api::NewSchedule) -> ApiResult<Timing> {
    let number = |field: &str, value: Option<i64>, range: std::ops::RangeInclusive<i64>| {
        let value = value.ok_or_else(|| {
            ApiError::invalid(
                field,
                format!("{field} is missing: timing {:?} needs it", req.timing),
                format!("{}..={}", range.start(), range.end()),
            )
        })?;
        validate::in_range(field, value, range)?;
        Ok::<u32, ApiError>(u32::try_from(value).unwrap_or_default())
    };
    let unused = |field: &str, value: Option<i64>| match value {
        Some(_) => Err(ApiError::invalid(
            field,
            format!("{field} does not apply to timing {:?}", clip(&req.timing)),
            "leave it out",
        )),
        None => Ok(()),
    };
    match req.timing.as_str() {
        "start" => {
            unused("weeks", req.weeks)?;
            unused("days", req.days)?;
            Ok(Timing::Start)
        }
        "every_weeks" => {
            unused("days", req.days)?;
            Ok(Timing::EveryWeeks {
                weeks: number("weeks", req.weeks, EVERY_WEEKS)?,
            })
        }
        "before_visit" => {
            unused("weeks", req.weeks)?;
            Ok(Timing::BeforeVisit {
                days: number("days", req.days, DAYS_BEFORE_VISIT)?,
            })
        }
        other => Err(ApiError::invalid(
            "timing",
            format!("timing {:?} is not a schedule", clip(other)),
            format!("one of {}", Timing::NAMES.join(", ")),
        )),
    }
}

/// `POST /api/v1/patients/{id}/questionnaire-schedules` — 201 when set, 200 when already set.
#[utoipa::path(
    post,
    path = "/patients/{id}/questionnaire-schedules",
    tag = "questionnaires",
    summary = "Schedule a questionnaire for a patient: at the start, every N weeks, or N days before each visit (idempotent on client_id). What is due today is asked at once, with a push",
    params(("id" = i64, Path, description = "The patient's id")),
    request_body(content = api::NewSchedule, example = json!({"client_id": "psfs-every-4", "instrument": "psfs", "timing": "every_weeks", "weeks": 4})),
    responses(
        (status = 200, description = "Already set", body = api::Schedule),
        (status = 201, description = "Set", body = api::Schedule),
        (status = 409, description = "client_id already used for a different schedule", body = ErrorBody),
        answers::Common,
        answers::Body,
    ),
)]
pub async fn add_schedule(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    Body(req): Body<api::NewSchedule>,
) -> ApiResult<(StatusCode, Json<api::Schedule>)> {
    let patient = staff_patient(&state, &user, id, "write patient.questionnaire_schedules").await?;
    validate::client_id("client_id", &req.client_id)?;
    let instrument = instrument("instrument", &req.instrument)?;
    let timing = timing(&req)?;
    let tz = parse_zone("timezone", &patient.timezone)?;
    let now = state.clock.now();
    let (schedule, new) = state
        .store
        .add_schedule(
            store::NewSchedule {
                patient_id: patient.id,
                instrument,
                timing,
                set_by: user.id,
                starts_on: local_day(tz, now),
                client_id: req.client_id,
            },
            now,
        )
        .await?;
    if new {
        ask_questionnaires(state.store.as_ref(), &patient, now).await?;
    }
    Ok((created(new), Json(schedule.into())))
}

/// `GET /api/v1/patients/{id}/questionnaire-schedules`
#[utoipa::path(
    get,
    path = "/patients/{id}/questionnaire-schedules",
    tag = "questionnaires",
    summary = "A patient's questionnaire schedules, active and stopped, oldest first",
    params(("id" = i64, Path, description = "The patient's id")),
    responses(
        (status = 200, description = "The schedules", body = Vec<api::Schedule>),
        answers::Common,
    ),
)]
pub async fn schedules(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<api::Schedule>>> {
    let patient = staff_patient(&state, &user, id, "read patient.questionnaire_schedules").await?;
    let schedules = state.store.schedules(patient.id).await?;
    Ok(Json(
        schedules.into_iter().map(api::Schedule::from).collect(),
    ))
}

/// `DELETE /api/v1/patients/{id}/questionnaire-schedules/{schedule_id}`
#[utoipa::path(
    delete,
    path = "/patients/{id}/questionnaire-schedules/{schedule_id}",
    tag = "questionnaires",
    summary = "Stop a questionnaire schedule: it asks nothing more and its open questionnaire expires (the answers given stay)",
    params(
        ("id" = i64, Path, description = "The patient's id"),
        ("schedule_id" = i64, Path, description = "The schedule's id"),
    ),
    responses(
        (status = 200, description = "Stopped (or already stopped)", body = api::Schedule),
        answers::Common,
    ),
)]
pub async fn stop_schedule(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((id, schedule_id)): Path<(i64, i64)>,
) -> ApiResult<Json<api::Schedule>> {
    let patient = staff_patient(&state, &user, id, "write patient.questionnaire_schedules").await?;
    let stopped = state
        .store
        .stop_schedule(patient.id, schedule_id, state.clock.now())
        .await?;
    Ok(Json(stopped.into()))
}

/// `GET /api/v1/patients/{id}/questionnaires`
#[utoipa::path(
    get,
    path = "/patients/{id}/questionnaires",
    tag = "questionnaires",
    summary = "A patient's questionnaires asked and each instrument's scores against the first, with its MID",
    params(("id" = i64, Path, description = "The patient's id")),
    responses(
        (status = 200, description = "Questionnaires and scores", body = api::PatientQuestionnaires),
        answers::Common,
    ),
)]
pub async fn patient_questionnaires(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<api::PatientQuestionnaires>> {
    let patient = staff_patient(&state, &user, id, "read patient.questionnaires").await?;
    let tz = parse_zone("timezone", &patient.timezone)?;
    let requests = state.store.requests(patient.id).await?;
    let responses = state.store.responses(patient.id).await?;
    Ok(Json(api::PatientQuestionnaires {
        requests: requests.into_iter().map(api::Request::from).collect(),
        series: series(tz, &responses),
    }))
}

// --- the patient's side ---

/// `GET /api/v1/me/questionnaires`
#[utoipa::path(
    get,
    path = "/me/questionnaires",
    tag = "patient",
    summary = "The patient's open questionnaires (a PSFS follow-up with the activities named the first time filled in) and their scores so far",
    responses(
        (status = 200, description = "Open questionnaires and scores", body = api::MyQuestionnaires),
        answers::LoggedIn,
    ),
)]
pub async fn mine(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> ApiResult<Json<api::MyQuestionnaires>> {
    let patient = own_patient(&state, &user).await?;
    let tz = parse_zone("timezone", &patient.timezone)?;
    let requests = state.store.requests(patient.id).await?;
    let responses = state.store.responses(patient.id).await?;
    let activities = psfs_activities(&responses);
    let open = requests
        .into_iter()
        .filter(|r| r.state == RequestState::Open)
        .map(|r| api::OpenRequest {
            prefill: match r.instrument {
                Instrument::Psfs => activities.clone(),
                Instrument::KoosJr => BTreeMap::new(),
            },
            request: r.into(),
        })
        .collect();
    Ok(Json(api::MyQuestionnaires {
        open,
        series: series(tz, &responses),
    }))
}

/// `POST /api/v1/me/questionnaires/{request_id}/response` — 201 when stored, 200 when already.
#[utoipa::path(
    post,
    path = "/me/questionnaires/{request_id}/response",
    tag = "patient",
    summary = "Answer an open questionnaire (idempotent on client_id): the server scores it; an answer that cannot be scored is refused naming the item (field answers.<link_id>) and nothing is stored",
    params(("request_id" = i64, Path, description = "The questionnaire's id")),
    request_body(content = api::NewResponse, example = json!({"client_id": "psfs-2026-11-02", "answers": {"activity_1": "Climbing stairs", "rating_1": 3, "activity_2": "Walking to the shop", "rating_2": 5, "activity_3": "Gardening", "rating_3": 7}})),
    responses(
        (status = 200, description = "Already answered with this client_id", body = api::Response),
        (status = 201, description = "Answered and scored", body = api::Response),
        (status = 409, description = "Already answered, no longer open, or client_id used for a different response", body = ErrorBody),
        answers::Common,
        answers::Body,
    ),
)]
pub async fn answer(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(request_id): Path<i64>,
    Body(req): Body<api::NewResponse>,
) -> ApiResult<(StatusCode, Json<api::Response>)> {
    let patient = own_patient(&state, &user).await?;
    validate::client_id("client_id", &req.client_id)?;
    let request = state.store.request(patient.id, request_id).await?;
    let answers = answers_of(request.instrument, req.answers)?;
    let scored = stepwise_outcomes::score(request.instrument, &answers)
        .map_err(|err| score_error(request.instrument, &err))?;
    let (response, new) = state
        .store
        .record_response(
            store::NewResponse {
                patient_id: patient.id,
                request_id: request.id,
                instrument: request.instrument,
                answers,
                scored,
                client_id: req.client_id,
            },
            state.clock.now(),
        )
        .await?;
    Ok((created(new), Json(response.into())))
}

/// The answers as the scoring takes them: a whole number or a text per item; anything else
/// (a fraction, `true`, a list) refused naming the item. Text is checked for control
/// characters here; its length and blankness by the instrument.
fn answers_of(
    instrument: Instrument,
    sent: BTreeMap<String, serde_json::Value>,
) -> ApiResult<BTreeMap<String, Answer>> {
    if sent.len() > MAX_ANSWERS {
        return Err(ApiError::invalid(
            "answers",
            format!("answers has {} entries", sent.len()),
            format!("one per item of the questionnaire, at most {MAX_ANSWERS}"),
        ));
    }
    let mut answers = BTreeMap::new();
    for (link_id, value) in sent {
        let field = format!("answers.{}", clip(&link_id));
        let answer = match value {
            serde_json::Value::Number(n) => n.as_i64().map(Answer::Integer),
            serde_json::Value::String(text) => Some(Answer::Text(text)),
            _ => None,
        };
        let Some(answer) = answer else {
            return Err(ApiError::invalid(
                &field,
                format!("{field} is neither a whole number nor text"),
                allowed(instrument, &link_id),
            ));
        };
        if let (Answer::Text(text), Some(item)) = (&answer, instrument.item(&link_id))
            && let AnswerKind::Text { max_chars } = item.answer
        {
            validate::text(&field, text, max_chars)?;
        }
        answers.insert(link_id, answer);
    }
    Ok(answers)
}

/// A scoring error as a 422 naming the item (`answers.<link_id>`) and what it allows.
fn score_error(instrument: Instrument, err: &ScoreError) -> ApiError {
    let link_id = err.link_id();
    ApiError::invalid(
        format!("answers.{link_id}"),
        err.to_string(),
        allowed(instrument, link_id),
    )
}

/// What an item accepts, in words; for an unknown key, the instrument's items.
fn allowed(instrument: Instrument, link_id: &str) -> String {
    match instrument.item(link_id).map(|item| item.answer) {
        Some(AnswerKind::Choice(choices)) => format!(
            "one of {}",
            choices
                .iter()
                .map(|c| format!("{} ({})", c.value, c.label))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Some(AnswerKind::Integer { min, max, .. }) => format!("a whole number from {min} to {max}"),
        Some(AnswerKind::Text { max_chars }) => format!("text of 1 to {max_chars} characters"),
        None => format!(
            "the items of {}: {}",
            instrument.as_str(),
            instrument
                .items()
                .iter()
                .map(|i| i.link_id)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
