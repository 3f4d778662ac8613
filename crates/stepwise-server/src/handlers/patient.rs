//! The patient's own API: today's plan, logging a walk, the two-hour check, flares, history,
//! and pairing a band. Every handler works on the caller's own record only.

use crate::json::{Path, Query};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use stepwise_store::{
    NewFlare, NewSession, Patient, RestType, ReviewRecord, SessionRecord, WalkingPlan,
};
use utoipa::{IntoParams, ToSchema};

use crate::access::own_patient;
use crate::api;
use crate::auth::{AuthUser, hash_code, new_code};
use crate::error::{ApiError, ApiResult, ErrorBody, answers};
use crate::json::Body;
use crate::reminders::{self, Check};
use crate::safety::{self, SafetyAdvice};
use crate::state::AppState;
use crate::validate;
use crate::validate::parse_zone;
use stepwise_care::calendar::{day_start, local_day, monday_of, week_bounds};
use stepwise_care::words::{Explained, in_words};
use stepwise_engine::Reader;
use stepwise_engine::checks::{CHECK_LISTED_FOR, TWO_HOUR_CHECK_OPENS};

/// How late a walk may be logged (an offline phone catches up).
pub const MAX_LOG_DELAY: TimeDelta = TimeDelta::days(14);
/// The longest walk session accepted.
pub const MAX_SESSION: TimeDelta = TimeDelta::hours(6);
/// A logged walk can be corrected or withdrawn by its patient for this long after it was
/// logged (a slip of the finger is noticed the same day), and not after its week has ended.
pub const CORRECTION_WINDOW: TimeDelta = TimeDelta::hours(6);
/// How far back walks may lie whose next-morning check is still listed: it opens the day
/// after the walk and stays listed [`CHECK_LISTED_FOR`].
const MORNING_CHECK_LISTED_FOR: TimeDelta = TimeDelta::hours(72);

/// Today's page: the plan, this week so far, and checks waiting for an answer.
#[derive(Serialize, ToSchema)]
pub struct Today {
    plan: api::Plan,
    timezone: String,
    today: NaiveDate,
    week_start: NaiveDate,
    sessions_this_week: usize,
    sessions_per_week: i64,
    /// Walks whose two-hour check is open now.
    checks_due: Vec<api::Session>,
    /// Walks whose next-morning check is open now (this morning's, and yesterday's still).
    morning_checks_due: Vec<api::Session>,
    /// An escalation is open: the therapist will look before the plan changes.
    frozen: bool,
    last_review: Option<api::ReviewOutcome>,
    /// The last walk logged, while it can still be corrected or withdrawn.
    last_walk: Option<MySession>,
    /// Messages from the care team the patient has not read (`/app/messages`).
    unread_messages: i64,
}

/// `GET /api/v1/me/today`
#[utoipa::path(
    get,
    path = "/me/today",
    tag = "patient",
    summary = "Today's plan, this week so far, two-hour checks due",
    responses(
        (status = 200, description = "Today", body = Today),
        answers::Common,
    ),
)]
pub async fn today(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> ApiResult<Json<Today>> {
    let patient = own_patient(&state, &user).await?;
    let tz = parse_zone("timezone", &patient.timezone)?;
    let now = state.clock.now();
    let today = local_day(tz, now);
    let week_start = monday_of(today);
    let (start, end) = week_bounds(tz, week_start);
    let week = state.store.sessions_between(patient.id, start, end).await?;
    let recent = state
        .store
        .sessions_between(
            patient.id,
            now - MORNING_CHECK_LISTED_FOR - MAX_SESSION,
            now,
        )
        .await?;
    let checks_due = recent
        .iter()
        .filter(|s| {
            let opens = s.logged.ended_at + TWO_HOUR_CHECK_OPENS;
            s.pain_after_2h.is_none() && opens <= now && now < opens + CHECK_LISTED_FOR
        })
        .cloned()
        .map(api::Session::from)
        .collect();
    let morning_checks_due = recent
        .iter()
        .filter(|s| {
            let opens = stepwise_care::reminders::next_morning_opens(tz, s);
            s.pain_next_morning.is_none() && opens <= now && now < opens + CHECK_LISTED_FOR
        })
        .cloned()
        .map(api::Session::from)
        .collect();
    let last_review = state
        .store
        .review_outcomes(patient.id)
        .await?
        .pop()
        .map(api::ReviewOutcome::from);
    let last_walk = recent
        .iter()
        .max_by_key(|s| (s.created_at, s.id))
        .map(|s| my_session(tz, s.clone(), now))
        .filter(|s| s.correctable_until.is_some());
    let unread_messages = state.store.thread(patient.id, user.id, 0).await?.unread;
    Ok(Json(Today {
        unread_messages,
        plan: api::Plan(patient.plan),
        timezone: patient.timezone,
        today,
        week_start,
        sessions_this_week: week.iter().filter(|s| s.logged.walked_s > 0).count(),
        sessions_per_week: patient.plan.sessions_per_week,
        checks_due,
        morning_checks_due,
        frozen: patient.frozen,
        last_review,
        last_walk,
    }))
}

/// A walk as the patient's app sends it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogWalk {
    client_id: String,
    started_at: DateTime<Utc>,
    ended_at: DateTime<Utc>,
    walked_s: i64,
    #[serde(default)]
    bouts: Option<i64>,
    pain_before: Option<i64>,
    pain_during_max: Option<i64>,
    effort: Option<i64>,
    rest_type: Option<api::RestType>,
    notes: Option<String>,
}

impl LogWalk {
    fn validate(self, now: DateTime<Utc>) -> ApiResult<NewSession> {
        validate::client_id("client_id", &self.client_id)?;
        // The start first: a walk starting in the future is wrong at its start, whatever
        // its end says (an end before it would otherwise be blamed).
        validate::not_future("started_at", self.started_at, now)?;
        validate::not_future("ended_at", self.ended_at, now)?;
        validate::not_older_than("started_at", self.started_at, now, MAX_LOG_DELAY)?;
        let duration = self.ended_at - self.started_at;
        if duration <= TimeDelta::zero() || duration > MAX_SESSION {
            return Err(ApiError::invalid(
                "ended_at",
                format!(
                    "the walk lasts {} minutes from started_at to ended_at",
                    duration.num_minutes()
                ),
                "after started_at, at most 6 hours later",
            ));
        }
        validate::in_range("walked_s", self.walked_s, 0..=duration.num_seconds())?;
        let bouts = self.bouts.unwrap_or(1);
        // Bouts walked: none (a walk cut short) up to the most a plan may prescribe.
        validate::in_range("bouts", bouts, 0..=WalkingPlan::max_bouts())?;
        validate::score("pain_before", self.pain_before)?;
        validate::score("pain_during_max", self.pain_during_max)?;
        validate::score("effort", self.effort)?;
        if let Some(notes) = &self.notes {
            validate::text("notes", notes, 2000)?;
        }
        Ok(NewSession {
            client_id: self.client_id,
            started_at: self.started_at,
            ended_at: self.ended_at,
            walked_s: self.walked_s,
            bouts,
            pain_before: self.pain_before,
            pain_during_max: self.pain_during_max,
            effort: self.effort,
            rest_type: self.rest_type.map(RestType::from),
            notes: self.notes,
        })
    }
}

/// `POST /api/v1/me/sessions` — 201 when stored, 200 when this walk was already logged.
#[utoipa::path(
    post,
    path = "/me/sessions",
    tag = "patient",
    summary = "Log a walk (idempotent on client_id)",
    request_body(content = LogWalk, example = json!({"client_id": "0f8c2a6e-5b1d-4c3e-9a7f-2d4e6b8a1c3f", "started_at": "2026-11-08T10:00:00Z", "ended_at": "2026-11-08T10:20:00Z", "walked_s": 1080, "bouts": 2, "pain_before": 2, "pain_during_max": 3, "effort": 4, "rest_type": "sit", "notes": "Windy along the canal; rested on the bench."})),
    responses(
        (status = 200, description = "Already logged; with `safety` (SafetyAdvice) when the report carried red-flag pain", body = WithAdvice<api::Session>),
        (status = 201, description = "Stored; with `safety` (SafetyAdvice) when the report carried red-flag pain", body = WithAdvice<api::Session>),
        (status = 409, description = "Conflicts with what is stored", body = ErrorBody),
        answers::LoggedIn,
        answers::Invalid,
        answers::Body,
    ),
)]
pub async fn log_walk(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Body(req): Body<LogWalk>,
) -> ApiResult<(StatusCode, Json<WithAdvice<api::Session>>)> {
    let patient = own_patient(&state, &user).await?;
    let now = state.clock.now();
    let session = req.validate(now)?;
    let (record, created) = state.store.record_session(patient.id, session, now).await?;
    if record.withdrawn_at.is_some() {
        // A late retry of a walk its patient withdrew since: nothing more to do.
        return Ok((
            StatusCode::OK,
            Json(WithAdvice {
                record: record.into(),
                safety: None,
            }),
        ));
    }
    // Also on a retry: scheduling is idempotent, and completes a first try cut short.
    reminders::after_walk(state.store.as_ref(), &patient, &record, now).await?;
    let pains = [record.logged.pain_before, record.logged.pain_during_max];
    let safety = red_flag_after_walk(&state, &patient, &record, pains, now).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(WithAdvice {
            record: record.into(),
            safety,
        }),
    ))
}

/// A stored report, and the safety advice when it carried red-flag pain.
#[derive(Serialize, ToSchema)]
pub struct WithAdvice<T> {
    /// What was stored.
    #[serde(flatten)]
    record: T,
    /// Present only when a pain in the report reached the patient's alert level: read it at
    /// once (the escalation is open and the therapist alerted).
    #[serde(skip_serializing_if = "Option::is_none")]
    safety: Option<SafetyAdvice>,
}

/// After a walk or its check: on red-flag pain the week escalates now and the therapist is
/// alerted (`safety::after_walk`); the patient gets the advice.
async fn red_flag_after_walk(
    state: &AppState,
    patient: &Patient,
    session: &SessionRecord,
    pains: impl IntoIterator<Item = Option<i64>>,
    now: DateTime<Utc>,
) -> ApiResult<Option<SafetyAdvice>> {
    let found = safety::after_walk(state.store.as_ref(), patient, session, pains, now).await?;
    advice(state, patient, found).await
}

/// The safety advice for a red flag found, with the clinic's contact.
async fn advice(
    state: &AppState,
    patient: &Patient,
    found: Option<safety::RedFlag>,
) -> ApiResult<Option<SafetyAdvice>> {
    let Some(found) = found else {
        return Ok(None);
    };
    let clinic = state.store.clinic(patient.clinic_id).await?;
    Ok(Some(safety::advice(found.pain, found.alert_level, &clinic)))
}

/// A date range in the patient's local calendar, both ends included; either end may be left
/// out for the endpoint's default.
#[derive(Deserialize, Default, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DateRange {
    /// The first local date (the operation says its default).
    from: Option<NaiveDate>,
    /// The last local date (the operation says its default).
    to: Option<NaiveDate>,
}

/// Longest range one request may ask for, days.
pub const MAX_RANGE_DAYS: u64 = 366;

impl DateRange {
    /// The dates asked for, else `to = default_to` and a range of `default_days` ending there;
    /// refused when `from` is after `to` or the range is longer than [`MAX_RANGE_DAYS`].
    pub fn dates(
        &self,
        default_to: NaiveDate,
        default_days: u64,
    ) -> ApiResult<(NaiveDate, NaiveDate)> {
        let to = validate::date("to", self.to.unwrap_or(default_to))?;
        let from = match self.from {
            Some(from) => validate::date("from", from)?,
            None => to - Days::new(default_days - 1),
        };
        if from > to {
            return Err(ApiError::invalid(
                "from",
                format!("from {from} is after to {to}"),
                "a date on or before `to`",
            ));
        }
        if (to - from).num_days() >= MAX_RANGE_DAYS as i64 {
            return Err(ApiError::invalid(
                "from",
                format!("{from}..{to} is longer than {MAX_RANGE_DAYS} days"),
                format!("at most {MAX_RANGE_DAYS} days"),
            ));
        }
        Ok((from, to))
    }

    /// The instants `[start of from, end of to)` in `tz`; default the last 28 days.
    pub fn bounds(
        &self,
        tz: chrono_tz::Tz,
        now: DateTime<Utc>,
    ) -> ApiResult<(DateTime<Utc>, DateTime<Utc>)> {
        let (from, to) = self.dates(local_day(tz, now), 28)?;
        Ok((day_start(tz, from), day_start(tz, to + Days::new(1))))
    }
}

/// `GET /api/v1/me/sessions?from&to`
#[utoipa::path(
    get,
    path = "/me/sessions",
    tag = "patient",
    summary = "The patient's walks in a date range (local dates, default last 28 days)",
    params(
        DateRange,
    ),
    responses(
        (status = 200, description = "Walks", body = Vec<MySession>),
        answers::Common,
    ),
)]
pub async fn my_sessions(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Query(range): Query<DateRange>,
) -> ApiResult<Json<Vec<MySession>>> {
    let patient = own_patient(&state, &user).await?;
    let tz = parse_zone("timezone", &patient.timezone)?;
    let now = state.clock.now();
    let (from, to) = range.bounds(tz, now)?;
    let sessions = state.store.sessions_between(patient.id, from, to).await?;
    Ok(Json(
        sessions
            .into_iter()
            .map(|record| my_session(tz, record, now))
            .collect(),
    ))
}

/// A walk with the times its patient needs: when each check opens, and until when it can be
/// corrected or withdrawn (`None` once it cannot).
fn my_session(tz: chrono_tz::Tz, record: SessionRecord, now: DateTime<Utc>) -> MySession {
    let until = correctable_until(tz, &record);
    MySession {
        two_hour_check_opens_at: record.logged.ended_at + TWO_HOUR_CHECK_OPENS,
        next_morning_check_opens_at: stepwise_care::reminders::next_morning_opens(tz, &record),
        correctable_until: (now < until).then_some(until),
        record: record.into(),
    }
}

/// A walk can be changed for [`CORRECTION_WINDOW`] after it was logged, and never after its
/// week has ended (the weekly review has it from then on).
fn correctable_until(tz: chrono_tz::Tz, walk: &SessionRecord) -> DateTime<Utc> {
    let week = monday_of(local_day(tz, walk.logged.started_at));
    let (_, week_end) = week_bounds(tz, week);
    (walk.created_at + CORRECTION_WINDOW).min(week_end)
}

/// The figures of a logged walk, corrected: the same fields as when it was logged, except
/// its client id and times, which stay.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectWalk {
    walked_s: i64,
    #[serde(default)]
    bouts: Option<i64>,
    pain_before: Option<i64>,
    pain_during_max: Option<i64>,
    effort: Option<i64>,
    rest_type: Option<api::RestType>,
    notes: Option<String>,
}

/// The walk `session_id`, if its patient may still change it at `now`: `409` once
/// [`CORRECTION_WINDOW`] has passed or its week has ended.
async fn changeable_walk(
    state: &AppState,
    patient: &Patient,
    session_id: i64,
    now: DateTime<Utc>,
) -> ApiResult<SessionRecord> {
    let tz = parse_zone("timezone", &patient.timezone)?;
    let session = state.store.session(patient.id, session_id).await?;
    if now >= correctable_until(tz, &session) {
        return Err(ApiError::Conflict(format!(
            "this walk can no longer be changed: a walk can be corrected or withdrawn for {} \
             hours after it was logged, and not after its week has ended; ask your therapist",
            CORRECTION_WINDOW.num_hours()
        )));
    }
    Ok(session)
}

/// `PUT /api/v1/me/sessions/{id}` — correct a walk logged in the last few hours: its figures
/// become these (validated as when logging), the change is kept with what it was before.
/// The same correction again changes nothing.
#[utoipa::path(
    put,
    path = "/me/sessions/{session_id}",
    tag = "patient",
    summary = "Correct a walk logged in the last 6 hours (until its week ends); the change is kept",
    params(
        ("session_id" = i64, Path, description = "the walk's id"),
    ),
    request_body(content = CorrectWalk, example = json!({"walked_s": 1140, "bouts": 2, "pain_before": 2, "pain_during_max": 4, "effort": 5, "rest_type": "bend_forward", "notes": "Forgot the second bout at first."})),
    responses(
        (status = 200, description = "Corrected (the same correction again changes nothing); with `safety` when a corrected pain is a red flag", body = WithAdvice<api::Session>),
        (status = 409, description = "The walk can no longer be changed (6 hours after it was logged, or its week has ended)", body = ErrorBody),
        answers::Common,
        answers::Body,
    ),
)]
pub async fn correct_walk(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(session_id): Path<i64>,
    Body(req): Body<CorrectWalk>,
) -> ApiResult<Json<WithAdvice<api::Session>>> {
    let patient = own_patient(&state, &user).await?;
    let now = state.clock.now();
    let stored = changeable_walk(&state, &patient, session_id, now).await?;
    let corrected = LogWalk {
        client_id: stored.logged.client_id,
        started_at: stored.logged.started_at,
        ended_at: stored.logged.ended_at,
        walked_s: req.walked_s,
        bouts: req.bouts,
        pain_before: req.pain_before,
        pain_during_max: req.pain_during_max,
        effort: req.effort,
        rest_type: req.rest_type,
        notes: req.notes,
    }
    .validate(now)?;
    let record = state
        .store
        .correct_session(patient.id, session_id, &corrected, user.id, now)
        .await?;
    // A corrected pain can be a red flag too: answered at once, as when logged.
    let pains = [record.logged.pain_before, record.logged.pain_during_max];
    let safety = red_flag_after_walk(&state, &patient, &record, pains, now).await?;
    Ok(Json(WithAdvice {
        record: record.into(),
        safety,
    }))
}

/// A body with no fields: `{}`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoFields {}

/// `POST /api/v1/me/sessions/{id}/withdraw` — withdraw a walk logged in the last few hours
/// (logged by mistake, or twice): it counts nowhere from now on, its checks are not asked,
/// and the change is kept with the walk as it was. The body is `{}`: a field in it is a
/// client's mistake (a correction sent to the wrong place), refused before anything changes.
#[utoipa::path(
    post,
    path = "/me/sessions/{session_id}/withdraw",
    tag = "patient",
    summary = "Withdraw a walk logged in the last 6 hours (until its week ends): it counts nowhere, its checks are not asked; the change is kept",
    params(
        ("session_id" = i64, Path, description = "the walk's id"),
    ),
    request_body(content = NoFields, example = json!({})),
    responses(
        (status = 200, description = "Withdrawn", body = api::SessionChange),
        (status = 400, description = "The request is malformed", body = ErrorBody),
        (status = 404, description = "No such walk, or already withdrawn", body = ErrorBody),
        (status = 409, description = "The walk can no longer be changed", body = ErrorBody),
        (status = 422, description = "A field, path or query parameter is missing, unknown, of the wrong type or out of range (`field` names it)", body = ErrorBody),
        answers::LoggedIn,
        answers::Body,
    ),
)]
pub async fn withdraw_walk(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(session_id): Path<i64>,
    Body(NoFields {}): Body<NoFields>,
) -> ApiResult<Json<api::SessionChange>> {
    let patient = own_patient(&state, &user).await?;
    let now = state.clock.now();
    changeable_walk(&state, &patient, session_id, now).await?;
    let change = state
        .store
        .withdraw_session(patient.id, session_id, user.id, now)
        .await?;
    reminders::after_withdrawal(state.store.as_ref(), session_id, now).await?;
    Ok(Json(change.into()))
}

/// A walk as its patient sees it: the record, and when each of its checks opens (a page shows
/// "opens at 14:35" rather than offering an answer the server would refuse).
#[derive(Serialize, ToSchema)]
pub struct MySession {
    #[serde(flatten)]
    record: api::Session,
    /// The two-hour check can be answered from this instant on.
    two_hour_check_opens_at: DateTime<Utc>,
    /// The next-morning check can be answered from this instant on.
    next_morning_check_opens_at: DateTime<Utc>,
    /// Until when its patient can correct or withdraw it; absent once they cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    correctable_until: Option<DateTime<Utc>>,
}

/// The answer to "how is your pain now?".
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TwoHourAnswer {
    pain_after_2h: i64,
}

/// `POST /api/v1/me/sessions/{id}/two-hour-check`
#[utoipa::path(
    post,
    path = "/me/sessions/{session_id}/two-hour-check",
    tag = "patient",
    summary = "Answer the two-hour pain check",
    params(
        ("session_id" = i64, Path, description = "the walk's id"),
    ),
    request_body(content = TwoHourAnswer, example = json!({"pain_after_2h": 3})),
    responses(
        (status = 200, description = "Answered; with `safety` (SafetyAdvice) when the report carried red-flag pain", body = WithAdvice<api::Session>),
        (status = 409, description = "Conflicts with what is stored", body = ErrorBody),
        answers::Common,
        answers::Body,
    ),
)]
pub async fn answer_check(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(session_id): Path<i64>,
    Body(req): Body<TwoHourAnswer>,
) -> ApiResult<Json<WithAdvice<api::Session>>> {
    let patient = own_patient(&state, &user).await?;
    validate::score("pain_after_2h", Some(req.pain_after_2h))?;
    let now = state.clock.now();
    let session = state.store.session(patient.id, session_id).await?;
    let opens = session.logged.ended_at + TWO_HOUR_CHECK_OPENS;
    if session.pain_after_2h.is_none() && now < opens {
        return Err(ApiError::Conflict(format!(
            "the two-hour check for this walk opens at {}",
            opens.to_rfc3339()
        )));
    }
    let answered = state
        .store
        .answer_two_hour_check(patient.id, session_id, req.pain_after_2h, now)
        .await?;
    reminders::after_answer(state.store.as_ref(), session_id, Check::TwoHour, now).await?;
    let safety =
        red_flag_after_walk(&state, &patient, &answered, [answered.pain_after_2h], now).await?;
    Ok(Json(WithAdvice {
        record: answered.into(),
        safety,
    }))
}

/// The answer to "how is your pain this morning?".
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NextMorningAnswer {
    pain_next_morning: i64,
}

/// `POST /api/v1/me/sessions/{id}/next-morning-check` — the morning after a walk (engine
/// contract version 2): opens at 04:00 local the day after; a later answer is kept with its
/// time; the same answer again is accepted, a different one is `409`.
#[utoipa::path(
    post,
    path = "/me/sessions/{session_id}/next-morning-check",
    tag = "patient",
    summary = "Answer a walk's next-morning check: how is your pain this morning? Opens at 04:00 local the day after the walk (409 before); a later answer is kept with its time; idempotent (the same answer again 200, a different one 409)",
    params(
        ("session_id" = i64, Path, description = "the walk's id"),
    ),
    request_body(content = NextMorningAnswer, example = json!({"pain_next_morning": 2})),
    responses(
        (status = 200, description = "Answered; with `safety` (SafetyAdvice) when the report carried red-flag pain", body = WithAdvice<api::Session>),
        (status = 409, description = "Conflicts with what is stored", body = ErrorBody),
        answers::Common,
        answers::Body,
    ),
)]
pub async fn answer_next_morning(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(session_id): Path<i64>,
    Body(req): Body<NextMorningAnswer>,
) -> ApiResult<Json<WithAdvice<api::Session>>> {
    let patient = own_patient(&state, &user).await?;
    validate::score("pain_next_morning", Some(req.pain_next_morning))?;
    let now = state.clock.now();
    let tz = parse_zone("timezone", &patient.timezone)?;
    let session = state.store.session(patient.id, session_id).await?;
    let opens = stepwise_care::reminders::next_morning_opens(tz, &session);
    if session.pain_next_morning.is_none() && now < opens {
        return Err(ApiError::Conflict(format!(
            "the next-morning check for this walk opens on {} at {}",
            opens.with_timezone(&tz).format("%a %-d %b"),
            opens.with_timezone(&tz).format("%H:%M")
        )));
    }
    let answered = state
        .store
        .answer_next_morning_check(patient.id, session_id, req.pain_next_morning, now)
        .await?;
    reminders::after_answer(state.store.as_ref(), session_id, Check::NextMorning, now).await?;
    let safety = red_flag_after_walk(
        &state,
        &patient,
        &answered,
        [answered.pain_next_morning],
        now,
    )
    .await?;
    Ok(Json(WithAdvice {
        record: answered.into(),
        safety,
    }))
}

/// A flare as the patient reports it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportFlare {
    client_id: String,
    started_at: DateTime<Utc>,
    pain: i64,
    notes: Option<String>,
}

/// `POST /api/v1/me/flares` — 201 when stored, 200 when already reported.
#[utoipa::path(
    post,
    path = "/me/flares",
    tag = "patient",
    summary = "Report a flare (idempotent on client_id)",
    request_body(content = ReportFlare, example = json!({"client_id": "flare-2026-11-08-0715", "started_at": "2026-11-08T07:15:00Z", "pain": 6, "notes": "Woke with a stiff lower back."})),
    responses(
        (status = 200, description = "Already reported; with `safety` (SafetyAdvice) when the report carried red-flag pain", body = WithAdvice<api::Flare>),
        (status = 201, description = "Stored; with `safety` (SafetyAdvice) when the report carried red-flag pain", body = WithAdvice<api::Flare>),
        (status = 409, description = "Conflicts with what is stored", body = ErrorBody),
        answers::Common,
        answers::Body,
    ),
)]
pub async fn report_flare(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Body(req): Body<ReportFlare>,
) -> ApiResult<(StatusCode, Json<WithAdvice<api::Flare>>)> {
    let patient = own_patient(&state, &user).await?;
    let now = state.clock.now();
    validate::client_id("client_id", &req.client_id)?;
    validate::not_future("started_at", req.started_at, now)?;
    validate::not_older_than("started_at", req.started_at, now, MAX_LOG_DELAY)?;
    validate::score("pain", Some(req.pain))?;
    if let Some(notes) = &req.notes {
        validate::text("notes", notes, 2000)?;
    }
    let flare = NewFlare {
        client_id: req.client_id,
        started_at: req.started_at,
        pain: req.pain,
        notes: req.notes,
    };
    let (record, created) = state.store.report_flare(patient.id, flare, now).await?;
    // Every flare alerts the therapist at once; that alert is also the red-flag alert.
    reminders::after_flare(state.store.as_ref(), &patient, &record, now).await?;
    let found = safety::after_flare(state.store.as_ref(), &patient, &record, now).await?;
    let safety = advice(&state, &patient, found).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(WithAdvice {
            record: record.into(),
            safety,
        }),
    ))
}

/// The plan over time and every weekly decision with its reasons.
#[derive(Serialize, ToSchema)]
pub struct History {
    patient: api::Patient,
    plan_changes: Vec<api::PlanChange>,
    reviews: Vec<api::Review>,
}

/// `GET /api/v1/me/history`
#[utoipa::path(
    get,
    path = "/me/history",
    tag = "patient",
    summary = "Plan changes and weekly decisions with reasons",
    responses(
        (status = 200, description = "History", body = History),
        answers::Common,
    ),
)]
pub async fn history(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> ApiResult<Json<History>> {
    let patient = own_patient(&state, &user).await?;
    let reviews: Vec<Explained<ReviewRecord>> = state
        .store
        .reviews(patient.id)
        .await?
        .into_iter()
        .map(|r| Explained::stored(r, Reader::Patient))
        .collect();
    // A change a review made gives that review's reasons in the patient's words too (the
    // stored reason is the engine's message, kept for the record).
    let mut plan_changes = state.store.plan_history(patient.id).await?;
    for change in &mut plan_changes {
        if let Some(review) = reviews
            .iter()
            .find(|r| Some(r.inner.id) == change.review_id)
        {
            change.reason = in_words(&review.reason_texts);
        }
    }
    Ok(Json(History {
        patient: patient.into(),
        plan_changes: plan_changes
            .into_iter()
            .map(api::PlanChange::from)
            .collect(),
        reviews: reviews.into_iter().map(api::Review::from).collect(),
    }))
}

/// A one-time code for `stepwise band pair`.
#[derive(Serialize, ToSchema)]
pub struct PairingCode {
    code: String,
    expires_at: DateTime<Utc>,
}

/// `POST /api/v1/me/pairing-codes`
#[utoipa::path(
    post,
    path = "/me/pairing-codes",
    tag = "patient",
    summary = "A one-time code for `stepwise band pair`",
    responses(
        (status = 201, description = "Code", body = PairingCode),
        answers::Common,
    ),
)]
pub async fn pairing_code(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> ApiResult<(StatusCode, Json<PairingCode>)> {
    let patient = own_patient(&state, &user).await?;
    let code = new_code(2)?;
    let expires_at = state.clock.now() + state.config.pairing_ttl;
    state
        .store
        .create_pairing_code(patient.id, &hash_code(&code), expires_at)
        .await?;
    Ok((StatusCode::CREATED, Json(PairingCode { code, expires_at })))
}

/// `GET /api/v1/me/devices`
#[utoipa::path(
    get,
    path = "/me/devices",
    tag = "patient",
    summary = "The patient's paired bands",
    responses(
        (status = 200, description = "The patient's bands, removed ones included (with revoked_at)", body = Vec<api::Device>),
        answers::Common,
    ),
)]
pub async fn my_devices(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> ApiResult<Json<Vec<api::Device>>> {
    let patient = own_patient(&state, &user).await?;
    let devices = state.store.devices(patient.id).await?;
    Ok(Json(devices.into_iter().map(api::Device::from).collect()))
}

/// `DELETE /api/v1/me/devices/{device_id}` — removes one of the patient's bands: its
/// collector's token stops working at once; what it uploaded stays. Answers the band as it is
/// now; removing it again changes nothing.
#[utoipa::path(
    delete,
    path = "/me/devices/{device_id}",
    tag = "patient",
    summary = "Remove one of the patient's bands",
    description = "Its collector's upload token stops working at once; what it uploaded stays. Removing it again changes nothing.",
    params(
        ("device_id" = i64, Path, description = "The band's id"),
    ),
    responses(
        (status = 200, description = "The band, now removed", body = api::Device),
        (status = 401, description = "Not logged in, or the login has expired", body = ErrorBody),
        (status = 403, description = "Not a patient, or a write without the CSRF token", body = ErrorBody),
        (status = 404, description = "The patient has no such band", body = ErrorBody),
        answers::Invalid,
    ),
)]
pub async fn remove_my_device(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(device_id): Path<i64>,
) -> ApiResult<Json<api::Device>> {
    let patient = own_patient(&state, &user).await?;
    let device = state
        .store
        .revoke_device(patient.id, device_id, state.clock.now())
        .await?;
    Ok(Json(device.into()))
}
