//! The care team's work with a patient (`docs/care-team.md`): the message thread between the
//! patient and their care team, clinician notes, and the time log with its timer.
//!
//! A patient reads and writes only their own thread (`/me/messages`); staff reach a patient's
//! thread, notes and time log through [`staff_patient`], which checks the clinic and the
//! therapist and audits every read and write, refusals included. A new message is pushed to
//! the other side: the patient's therapist when the patient writes, the patient when the care
//! team does.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use stepwise_care::calendar::local_day;
use stepwise_care::reminders::message_notice;
use stepwise_care::team::{ENTRY_MINUTES, MAX_ACTIVITY_CHARS, MAX_MESSAGE_CHARS, MAX_NOTE_CHARS};
use stepwise_store::{self as store, Patient, User};
use utoipa::IntoParams;

use crate::access::{own_patient, staff_patient};
use crate::api::team as api;
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult, ErrorBody, answers};
use crate::json::{Body, Path, Query};
use crate::state::AppState;
use crate::validate::{self, parse_zone};

/// How many of a thread's latest messages a read returns.
pub const THREAD_LENGTH: i64 = 200;
/// How many of a patient's latest notes a read returns.
pub const NOTES_LISTED: i64 = 100;

fn created(new: bool) -> StatusCode {
    if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

// --- messages ---

/// Stores `req` in `patient`'s thread as written by `author`, and tells the other side.
async fn post(
    state: &AppState,
    patient: &Patient,
    author: &User,
    req: api::NewMessage,
) -> ApiResult<(StatusCode, Json<api::Message>)> {
    validate::client_id("client_id", &req.client_id)?;
    validate::required_text("body", &req.body, MAX_MESSAGE_CHARS)?;
    let now = state.clock.now();
    let (message, new) = state
        .store
        .post_message(
            store::NewMessage {
                patient_id: patient.id,
                author_id: author.id,
                body: req.body.trim().to_string(),
                client_id: req.client_id,
            },
            now,
        )
        .await?;
    if new {
        let tz = parse_zone("timezone", &patient.timezone)?;
        let settings = state.store.reminder_settings(patient.id).await?;
        let notice = message_notice(tz, patient, &settings, &message);
        state.store.schedule_reminders(&[notice], now).await?;
    }
    Ok((
        created(new),
        Json(api::Message::for_reader(message, author.id)),
    ))
}

async fn thread(state: &AppState, patient_id: i64, reader: i64) -> ApiResult<Json<api::Thread>> {
    let thread = state
        .store
        .thread(patient_id, reader, THREAD_LENGTH)
        .await?;
    Ok(Json(api::Thread::for_reader(thread, reader)))
}

async fn read(
    state: &AppState,
    patient_id: i64,
    reader: i64,
    req: api::ReadUpTo,
) -> ApiResult<Json<api::Unread>> {
    validate::in_range("up_to", req.up_to, 0..=i64::MAX)?;
    let unread = state
        .store
        .mark_read(patient_id, reader, req.up_to, state.clock.now())
        .await?;
    Ok(Json(api::Unread { unread }))
}

/// `GET /api/v1/me/messages`
#[utoipa::path(
    get,
    path = "/me/messages",
    tag = "patient",
    summary = "The patient's thread with their care team: the latest 200 messages and how many are unread",
    responses(
        (status = 200, description = "The thread", body = api::Thread),
        answers::LoggedIn,
    ),
)]
pub async fn my_thread(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> ApiResult<Json<api::Thread>> {
    let patient = own_patient(&state, &user).await?;
    thread(&state, patient.id, user.id).await
}

/// `POST /api/v1/me/messages` — 201 when stored, 200 when already posted.
#[utoipa::path(
    post,
    path = "/me/messages",
    tag = "patient",
    summary = "Write to the care team (idempotent on client_id); the therapist gets a push",
    request_body(content = api::NewMessage, example = json!({"client_id": "msg-2026-11-08-0715", "body": "My knee was sore after yesterday's walk."})),
    responses(
        (status = 200, description = "Already posted", body = api::Message),
        (status = 201, description = "Posted", body = api::Message),
        (status = 409, description = "client_id already used for a different message", body = ErrorBody),
        answers::LoggedIn,
        answers::Invalid,
        answers::Body,
    ),
)]
pub async fn write_mine(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Body(req): Body<api::NewMessage>,
) -> ApiResult<(StatusCode, Json<api::Message>)> {
    let patient = own_patient(&state, &user).await?;
    post(&state, &patient, &user, req).await
}

/// `PUT /api/v1/me/messages/read`
#[utoipa::path(
    put,
    path = "/me/messages/read",
    tag = "patient",
    summary = "Mark the patient's thread read up to a message",
    request_body(content = api::ReadUpTo, example = json!({"up_to": 12})),
    responses(
        (status = 200, description = "Messages left unread", body = api::Unread),
        answers::LoggedIn,
        answers::Invalid,
        answers::Body,
    ),
)]
pub async fn read_mine(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Body(req): Body<api::ReadUpTo>,
) -> ApiResult<Json<api::Unread>> {
    let patient = own_patient(&state, &user).await?;
    read(&state, patient.id, user.id, req).await
}

/// `GET /api/v1/patients/{id}/messages`
#[utoipa::path(
    get,
    path = "/patients/{id}/messages",
    tag = "care team",
    summary = "A patient's thread with the care team, and how many messages the caller has not read",
    params(("id" = i64, Path, description = "The patient's id")),
    responses(
        (status = 200, description = "The thread", body = api::Thread),
        answers::Common,
    ),
)]
pub async fn patient_thread(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<api::Thread>> {
    let patient = staff_patient(&state, &user, id, "read patient.messages").await?;
    thread(&state, patient.id, user.id).await
}

/// `POST /api/v1/patients/{id}/messages` — 201 when stored, 200 when already posted.
#[utoipa::path(
    post,
    path = "/patients/{id}/messages",
    tag = "care team",
    summary = "Write to a patient (idempotent on client_id); the patient gets a push",
    params(("id" = i64, Path, description = "The patient's id")),
    request_body(content = api::NewMessage, example = json!({"client_id": "msg-2026-11-08-0930", "body": "Walk half your interval today and tell me how it feels."})),
    responses(
        (status = 200, description = "Already posted", body = api::Message),
        (status = 201, description = "Posted", body = api::Message),
        (status = 409, description = "client_id already used for a different message", body = ErrorBody),
        answers::Common,
        answers::Body,
    ),
)]
pub async fn write_to_patient(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    Body(req): Body<api::NewMessage>,
) -> ApiResult<(StatusCode, Json<api::Message>)> {
    let patient = staff_patient(&state, &user, id, "write patient.messages").await?;
    post(&state, &patient, &user, req).await
}

/// `PUT /api/v1/patients/{id}/messages/read`
#[utoipa::path(
    put,
    path = "/patients/{id}/messages/read",
    tag = "care team",
    summary = "Mark a patient's thread read by the caller up to a message",
    params(("id" = i64, Path, description = "The patient's id")),
    request_body(content = api::ReadUpTo, example = json!({"up_to": 12})),
    responses(
        (status = 200, description = "Messages left unread for the caller", body = api::Unread),
        answers::Common,
        answers::Body,
    ),
)]
pub async fn read_patient_thread(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    Body(req): Body<api::ReadUpTo>,
) -> ApiResult<Json<api::Unread>> {
    let patient = staff_patient(&state, &user, id, "read patient.messages").await?;
    read(&state, patient.id, user.id, req).await
}

// --- notes ---

/// `GET /api/v1/patients/{id}/notes`
#[utoipa::path(
    get,
    path = "/patients/{id}/notes",
    tag = "care team",
    summary = "Clinician notes on a patient, newest first (at most 100); patients never see them",
    params(("id" = i64, Path, description = "The patient's id")),
    responses(
        (status = 200, description = "The notes", body = Vec<api::Note>),
        answers::Common,
    ),
)]
pub async fn notes(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<api::Note>>> {
    let patient = staff_patient(&state, &user, id, "read patient.notes").await?;
    let notes = state.store.notes(patient.id, NOTES_LISTED).await?;
    Ok(Json(notes.into_iter().map(api::Note::from).collect()))
}

/// `POST /api/v1/patients/{id}/notes` — 201 when stored, 200 when already added.
#[utoipa::path(
    post,
    path = "/patients/{id}/notes",
    tag = "care team",
    summary = "Add a clinician note on a patient (idempotent on client_id)",
    params(("id" = i64, Path, description = "The patient's id")),
    request_body(content = api::NewNote, example = json!({"client_id": "note-2026-11-08-1", "body": "Walks best in the morning; knee stiff after sitting."})),
    responses(
        (status = 200, description = "Already added", body = api::Note),
        (status = 201, description = "Added", body = api::Note),
        (status = 409, description = "client_id already used for a different note", body = ErrorBody),
        answers::Common,
        answers::Body,
    ),
)]
pub async fn add_note(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    Body(req): Body<api::NewNote>,
) -> ApiResult<(StatusCode, Json<api::Note>)> {
    let patient = staff_patient(&state, &user, id, "write patient.notes").await?;
    validate::client_id("client_id", &req.client_id)?;
    validate::required_text("body", &req.body, MAX_NOTE_CHARS)?;
    let (note, new) = state
        .store
        .add_note(
            store::NewNote {
                patient_id: patient.id,
                author_id: user.id,
                body: req.body.trim().to_string(),
                client_id: req.client_id,
            },
            state.clock.now(),
        )
        .await?;
    let mut note = api::Note::from(note);
    note.author.role = user.role;
    Ok((created(new), Json(note)))
}

// --- time log ---

/// Which month of the time log to list.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MonthQuery {
    /// A calendar month, `YYYY-MM` (default: the patient's current month).
    pub month: Option<String>,
}

fn activity(text: &str) -> ApiResult<String> {
    validate::required_text("activity", text, MAX_ACTIVITY_CHARS)?;
    Ok(text.trim().to_string())
}

fn minutes(value: i64) -> ApiResult<i64> {
    validate::in_range("minutes", value, ENTRY_MINUTES)?;
    Ok(value)
}

/// `GET /api/v1/patients/{id}/time?month=YYYY-MM`
#[utoipa::path(
    get,
    path = "/patients/{id}/time",
    tag = "care team",
    summary = "A patient's time log for one calendar month (running timers included)",
    params(("id" = i64, Path, description = "The patient's id"), MonthQuery),
    responses(
        (status = 200, description = "The month's entries by date", body = Vec<api::TimeEntry>),
        answers::Common,
    ),
)]
pub async fn time_log(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    Query(query): Query<MonthQuery>,
) -> ApiResult<Json<Vec<api::TimeEntry>>> {
    let patient = staff_patient(&state, &user, id, "read patient.time").await?;
    let tz = parse_zone("timezone", &patient.timezone)?;
    let (from, to) = validate::month_or_current(
        "month",
        query.month.as_deref(),
        local_day(tz, state.clock.now()),
    )?;
    let entries = state.store.time_entries(patient.id, from, to).await?;
    Ok(Json(
        entries.into_iter().map(api::TimeEntry::from).collect(),
    ))
}

/// `POST /api/v1/patients/{id}/time` — 201 when stored, 200 when already recorded.
#[utoipa::path(
    post,
    path = "/patients/{id}/time",
    tag = "care team",
    summary = "Record minutes of work on a patient's care by hand (idempotent on client_id)",
    params(("id" = i64, Path, description = "The patient's id")),
    request_body(content = api::NewTimeEntry, example = json!({"client_id": "time-2026-11-08-1", "performed_on": "2026-11-08", "minutes": 12, "activity": "Reviewed the week's walks and called about the flare", "live": "call"})),
    responses(
        (status = 200, description = "Already recorded", body = api::TimeEntry),
        (status = 201, description = "Recorded", body = api::TimeEntry),
        (status = 409, description = "client_id already used for a different entry", body = ErrorBody),
        answers::Common,
        answers::Body,
    ),
)]
pub async fn add_time(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    Body(req): Body<api::NewTimeEntry>,
) -> ApiResult<(StatusCode, Json<api::TimeEntry>)> {
    let patient = staff_patient(&state, &user, id, "write patient.time").await?;
    validate::client_id("client_id", &req.client_id)?;
    let now = state.clock.now();
    let today = local_day(parse_zone("timezone", &patient.timezone)?, now);
    validate::date("performed_on", req.performed_on)?;
    if req.performed_on > today {
        return Err(ApiError::invalid(
            "performed_on",
            format!(
                "performed_on {} is after today ({today}) in the patient's zone",
                req.performed_on
            ),
            format!("a date no later than {today}"),
        ));
    }
    let entry = store::NewTimeEntry {
        patient_id: patient.id,
        clinician_id: user.id,
        performed_on: req.performed_on,
        minutes: minutes(req.minutes)?,
        activity: activity(&req.activity)?,
        live: req.live,
        client_id: req.client_id,
    };
    let (entry, new) = state.store.add_time_entry(entry, now).await?;
    Ok((created(new), Json(entry.into())))
}

/// `POST /api/v1/patients/{id}/time/timer` — 201 when started, 200 when already running.
#[utoipa::path(
    post,
    path = "/patients/{id}/time/timer",
    tag = "care team",
    summary = "Start the caller's timer on a patient (one per clinician and patient)",
    params(("id" = i64, Path, description = "The patient's id")),
    responses(
        (status = 200, description = "Already running", body = api::TimeEntry),
        (status = 201, description = "Started", body = api::TimeEntry),
        answers::Common,
    ),
)]
pub async fn start_timer(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
) -> ApiResult<(StatusCode, Json<api::TimeEntry>)> {
    let patient = staff_patient(&state, &user, id, "write patient.time").await?;
    let now = state.clock.now();
    let today = local_day(parse_zone("timezone", &patient.timezone)?, now);
    let (timer, new) = state
        .store
        .start_timer(patient.id, user.id, today, now)
        .await?;
    Ok((created(new), Json(timer.into())))
}

/// `POST /api/v1/patients/{id}/time/timer/stop`
#[utoipa::path(
    post,
    path = "/patients/{id}/time/timer/stop",
    tag = "care team",
    summary = "Stop the caller's timer on a patient: it becomes an entry of its minutes (rounded to the nearest, at least 1) or of the minutes given",
    params(("id" = i64, Path, description = "The patient's id")),
    request_body(content = api::StopTimer, example = json!({"activity": "Video call: reviewed pain after walks", "live": "video", "minutes": 14})),
    responses(
        (status = 200, description = "Recorded", body = api::TimeEntry),
        answers::Common,
        answers::Body,
    ),
)]
pub async fn stop_timer(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    Body(req): Body<api::StopTimer>,
) -> ApiResult<Json<api::TimeEntry>> {
    let patient = staff_patient(&state, &user, id, "write patient.time").await?;
    let activity = activity(&req.activity)?;
    let running = state
        .store
        .running_timer(patient.id, user.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let ran = match running.started_at {
        Some(started) => {
            let secs = (state.clock.now() - started).num_seconds().max(0);
            ((secs + 30) / 60).max(1)
        }
        None => 1,
    };
    let minutes = match req.minutes {
        Some(given) => minutes(given)?,
        None if ENTRY_MINUTES.contains(&ran) => ran,
        None => {
            return Err(ApiError::invalid(
                "minutes",
                format!(
                    "the timer ran {ran} minutes, more than one entry holds; give the minutes \
                     the work took"
                ),
                format!("{}–{} minutes", ENTRY_MINUTES.start(), ENTRY_MINUTES.end()),
            ));
        }
    };
    let entry = state
        .store
        .stop_timer(patient.id, user.id, minutes, &activity, req.live)
        .await?;
    Ok(Json(entry.into()))
}

/// `DELETE /api/v1/patients/{id}/time/timer`
#[utoipa::path(
    delete,
    path = "/patients/{id}/time/timer",
    tag = "care team",
    summary = "Drop the caller's running timer on a patient without recording it",
    params(("id" = i64, Path, description = "The patient's id")),
    responses(
        (status = 204, description = "Dropped"),
        answers::Common,
    ),
)]
pub async fn cancel_timer(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let patient = staff_patient(&state, &user, id, "write patient.time").await?;
    state.store.cancel_timer(patient.id, user.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
