//! Web Push and reminders over HTTP: the server's public key, each user's browser
//! subscriptions, a patient's upcoming reminders and settings, and the therapist's view of a
//! patient's reminders (were the two-hour checks answered?) and their part of the settings.

use std::collections::HashMap;

use crate::json::{Path, Query};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc, Weekday};
use serde::{Deserialize, Serialize};
use stepwise_store::{
    ClockTime, NewPushSubscription, Patient, PushSubscription, QuietHours, ReminderSettings,
};
use utoipa::ToSchema;

use crate::access::{own_patient, staff_patient};
use crate::api::{self, MEDICATION_LEAD_MIN, TWO_HOUR_WINDOW_MIN};
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult, ErrorBody, answers};
use crate::handlers::patient::DateRange;
use crate::json::Body;
use crate::state::AppState;
use crate::validate;
use crate::validate::parse_zone;

/// The server's VAPID public key.
#[derive(Serialize, ToSchema)]
pub struct PushKey {
    /// Base64url, uncompressed P-256 point: `PushManager.subscribe`'s
    /// `applicationServerKey`.
    public_key: String,
}

/// `GET /api/v1/push/key` (public: browsers need it before they subscribe)
#[utoipa::path(
    get,
    path = "/push/key",
    tag = "reminders",
    summary = "The server's VAPID public key (applicationServerKey for PushManager.subscribe); public",
    responses(
        (status = 200, description = "Key", body = PushKey),
    ),
    security(),
)]
pub async fn key(State(state): State<AppState>) -> ApiResult<Json<PushKey>> {
    let pusher = state.pusher().await?;
    Ok(Json(PushKey {
        public_key: pusher.public_key().to_string(),
    }))
}

/// The keys of a browser's `PushSubscription.toJSON()`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionKeys {
    /// Base64url of the browser's uncompressed P-256 public key (65 bytes, first 0x04).
    p256dh: String,
    /// Base64url of the 16-byte auth secret.
    auth: String,
}

/// A browser's `PushSubscription.toJSON()`, with a label for the user.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Subscribe {
    /// The https URL of an allowed push service (`STEPWISE_PUSH_HOSTS`; by default FCM,
    /// Mozilla, Windows and Apple push).
    endpoint: String,
    /// The browser's keys.
    keys: SubscriptionKeys,
    /// Browsers send it; the server does not use it.
    #[serde(default, rename = "expirationTime")]
    _expiration_time: Option<serde_json::Value>,
    /// A name the user recognises (default "Browser").
    label: Option<String>,
}

/// Longest endpoint URL accepted.
pub const MAX_ENDPOINT_LEN: usize = 2048;

/// Most browsers one user can have reminders on in.
pub const MAX_SUBSCRIPTIONS: usize = 10;

/// A stored subscription as its owner sees it (the keys stay in the store).
#[derive(Serialize, ToSchema)]
pub struct SubscriptionView {
    id: i64,
    endpoint: String,
    label: String,
    created_at: DateTime<Utc>,
    last_delivered_at: Option<DateTime<Utc>>,
}

impl From<PushSubscription> for SubscriptionView {
    fn from(s: PushSubscription) -> Self {
        SubscriptionView {
            id: s.id,
            endpoint: s.subscription.endpoint,
            label: s.subscription.label,
            created_at: s.created_at,
            last_delivered_at: s.last_delivered_at,
        }
    }
}

fn key_bytes(field: &str, value: &str, len: usize, what: &str) -> ApiResult<()> {
    match URL_SAFE_NO_PAD.decode(value.trim_end_matches('=')) {
        Ok(bytes) if bytes.len() == len && (len != 65 || bytes[0] == 4) => Ok(()),
        _ => Err(ApiError::invalid(
            field,
            format!("{field} is not {what}"),
            format!("base64url of {len} bytes"),
        )),
    }
}

/// `POST /api/v1/push/subscriptions` — 201 when new, 200 when this browser was already
/// subscribed.
#[utoipa::path(
    post,
    path = "/push/subscriptions",
    tag = "reminders",
    summary = "Subscribe this browser to reminders (the same endpoint again updates it and answers 200)",
    request_body(content = Subscribe, example = json!({"endpoint": "https://fcm.googleapis.com/fcm/send/dGVzdC1lbmRwb2ludA:APA91bExample", "keys": {"p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM", "auth": "tBHItJI5svbpez7KI4CCXg"}, "expirationTime": null, "label": "Phone"})),
    responses(
        (status = 200, description = "Already subscribed; updated", body = SubscriptionView),
        (status = 201, description = "Subscribed", body = SubscriptionView),
        (status = 409, description = "Reminders are already on in 10 browsers of this user", body = ErrorBody),
        answers::Common,
        answers::Body,
    ),
)]
pub async fn subscribe(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Body(req): Body<Subscribe>,
) -> ApiResult<(StatusCode, Json<SubscriptionView>)> {
    validate::text("endpoint", &req.endpoint, MAX_ENDPOINT_LEN)?;
    let pusher = state.pusher().await?;
    pusher.check_endpoint(&req.endpoint).map_err(|why| {
        ApiError::invalid(
            "endpoint",
            why,
            "an https URL of an allowed push service (STEPWISE_PUSH_HOSTS)",
        )
    })?;
    key_bytes("keys.p256dh", &req.keys.p256dh, 65, "a P-256 public key")?;
    key_bytes("keys.auth", &req.keys.auth, 16, "a 16-byte auth secret")?;
    let label = req.label.unwrap_or_else(|| "Browser".into());
    validate::required_text("label", &label, 100)?;
    let mine = state.store.push_subscriptions(user.id).await?;
    if mine.len() >= MAX_SUBSCRIPTIONS
        && !mine.iter().any(|s| s.subscription.endpoint == req.endpoint)
    {
        return Err(ApiError::Conflict(format!(
            "reminders are on in {MAX_SUBSCRIPTIONS} browsers already: turn them off in one first"
        )));
    }
    let (stored, created) = state
        .store
        .save_push_subscription(
            user.id,
            NewPushSubscription {
                endpoint: req.endpoint,
                p256dh: req.keys.p256dh,
                auth: req.keys.auth,
                label,
            },
            state.clock.now(),
        )
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(stored.into())))
}

/// `GET /api/v1/push/subscriptions` — the caller's browsers.
#[utoipa::path(
    get,
    path = "/push/subscriptions",
    tag = "reminders",
    summary = "The caller's browsers subscribed to reminders (any logged-in user)",
    responses(
        (status = 200, description = "Subscriptions", body = Vec<SubscriptionView>),
        answers::Common,
    ),
)]
pub async fn subscriptions(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> ApiResult<Json<Vec<SubscriptionView>>> {
    let all = state.store.push_subscriptions(user.id).await?;
    Ok(Json(all.into_iter().map(Into::into).collect()))
}

/// `DELETE /api/v1/push/subscriptions/{id}`
#[utoipa::path(
    delete,
    path = "/push/subscriptions/{id}",
    tag = "reminders",
    summary = "Unsubscribe one of the caller's browsers; another user's subscription is 404",
    params(
        ("id" = i64, Path, description = "subscription id"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        answers::Common,
    ),
)]
pub async fn unsubscribe(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    state.store.delete_push_subscription(user.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A reminder as its recipient or a therapist sees it.
#[derive(Serialize, ToSchema)]
pub struct ReminderView {
    #[serde(flatten)]
    reminder: api::Reminder,
    /// For two-hour checks: whether the walk's check has been answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    answered: Option<bool>,
}

/// How far ahead a patient's reminder list looks.
pub const UPCOMING: TimeDelta = TimeDelta::days(2);

/// `GET /api/v1/me/reminders` — the patient's reminders from a day ago to two days ahead.
#[utoipa::path(
    get,
    path = "/me/reminders",
    tag = "reminders",
    summary = "The patient's own reminders, due from a day ago to two days ahead",
    responses(
        (status = 200, description = "Reminders", body = Vec<api::Reminder>),
        answers::Common,
    ),
)]
pub async fn my_reminders(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> ApiResult<Json<Vec<api::Reminder>>> {
    let patient = own_patient(&state, &user).await?;
    let now = state.clock.now();
    let reminders = state
        .store
        .patient_reminders(patient.id, now - TimeDelta::days(1), now + UPCOMING)
        .await?
        .into_iter()
        .filter(|r| r.recipient_id == patient.id)
        .map(api::Reminder::from)
        .collect();
    Ok(Json(reminders))
}

/// `GET /api/v1/me/reminder-settings`
#[utoipa::path(
    get,
    path = "/me/reminder-settings",
    tag = "reminders",
    summary = "The patient's reminder settings (the defaults when never saved)",
    responses(
        (status = 200, description = "Settings", body = api::ReminderSettings),
        answers::Common,
    ),
)]
pub async fn my_settings(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> ApiResult<Json<api::ReminderSettings>> {
    let patient = own_patient(&state, &user).await?;
    Ok(Json(
        state.store.reminder_settings(patient.id).await?.into(),
    ))
}

/// The settings a patient chooses.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatientSettings {
    session_reminders: bool,
    #[schema(value_type = Vec<api::ClockTimeText>)]
    session_times: Vec<ClockTime>,
    #[schema(value_type = Vec<api::WeekdayName>)]
    session_days: Vec<Weekday>,
    #[serde(deserialize_with = "crate::json::nullable")]
    quiet_hours: Option<api::QuietHours>,
    /// The next-morning check on or off; left out, it stays as it is.
    #[serde(default)]
    next_morning_checks: Option<bool>,
}

/// Most session reminder times a day.
pub const MAX_SESSION_TIMES: usize = 6;

/// `PUT /api/v1/me/reminder-settings` — replaces the patient's part; pending session
/// reminders are planned again from the new settings.
#[utoipa::path(
    put,
    path = "/me/reminder-settings",
    tag = "reminders",
    summary = "Replace the patient's part of the reminder settings; pending session and medication reminders are planned again",
    request_body(content = PatientSettings, example = json!({"session_reminders": true, "session_times": ["08:30", "17:45"], "session_days": ["Mon", "Wed", "Fri"], "quiet_hours": {"start": "22:00", "end": "07:00"}, "next_morning_checks": true})),
    responses(
        (status = 200, description = "Saved settings", body = api::ReminderSettings),
        answers::Common,
        answers::Body,
    ),
)]
pub async fn save_my_settings(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Body(req): Body<PatientSettings>,
) -> ApiResult<Json<api::ReminderSettings>> {
    let patient = own_patient(&state, &user).await?;
    let mut times = req.session_times;
    times.sort();
    times.dedup();
    if times.len() > MAX_SESSION_TIMES {
        return Err(ApiError::invalid(
            "session_times",
            format!("{} different times", times.len()),
            format!("at most {MAX_SESSION_TIMES} times a day"),
        ));
    }
    let mut days = req.session_days;
    days.sort_by_key(Weekday::num_days_from_monday);
    days.dedup();
    let current = state.store.reminder_settings(patient.id).await?;
    let settings = ReminderSettings {
        session_reminders: req.session_reminders,
        session_times: times,
        session_days: days,
        quiet_hours: req.quiet_hours.map(QuietHours::from),
        next_morning_checks: req
            .next_morning_checks
            .unwrap_or(current.next_morning_checks),
        ..current
    };
    save(&state, &patient, settings).await
}

/// `GET /api/v1/patients/{id}/reminders?from&to` — the patient's reminders due in the range
/// (default the last 28 days), with whether each two-hour check was answered.
#[utoipa::path(
    get,
    path = "/patients/{id}/reminders",
    tag = "reminders",
    summary = "The patient's reminders due in a date range (default the last 28 days), with whether each two-hour check was answered",
    params(
        ("id" = i64, Path, description = "patient (user) id"),
        DateRange,
    ),
    responses(
        (status = 200, description = "Reminders", body = Vec<ReminderView>),
        answers::Common,
    ),
)]
pub async fn patient_reminders(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    Query(range): Query<DateRange>,
) -> ApiResult<Json<Vec<ReminderView>>> {
    let patient = staff_patient(&state, &user, id, "read patient.reminders").await?;
    let tz = parse_zone("timezone", &patient.timezone)?;
    let (from, to) = range.bounds(tz, state.clock.now())?;
    let reminders = state.store.patient_reminders(patient.id, from, to).await?;
    // Walks up to the window's length before the range can have checks due inside it.
    let answered: HashMap<i64, bool> = state
        .store
        .sessions_between(patient.id, from - TimeDelta::days(1), to)
        .await?
        .into_iter()
        .map(|s| (s.id, s.pain_after_2h.is_some()))
        .collect();
    let views = reminders
        .into_iter()
        .map(|reminder| {
            let answered = match (reminder.kind.is_two_hour(), reminder.session_id) {
                (true, Some(session)) => Some(answered.get(&session).copied().unwrap_or(false)),
                _ => None,
            };
            ReminderView {
                reminder: reminder.into(),
                answered,
            }
        })
        .collect();
    Ok(Json(views))
}

/// The settings a therapist sets.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TherapistSettings {
    /// Minutes before each walk time to remind about medication; `null` for none.
    #[serde(deserialize_with = "crate::json::nullable")]
    #[schema(schema_with = api::medication_lead_schema)]
    medication_lead_min: Option<i64>,
    /// Minutes after a walk ends that its two-hour check stays open for reminders.
    #[schema(schema_with = api::two_hour_window_schema)]
    two_hour_window_min: i64,
}

/// `PUT /api/v1/patients/{id}/reminder-settings` — the patient's therapist or a clinic admin.
#[utoipa::path(
    put,
    path = "/patients/{id}/reminder-settings",
    tag = "reminders",
    summary = "Set the therapist's part of the reminder settings (medication reminder lead, two-hour window)",
    params(
        ("id" = i64, Path, description = "patient (user) id"),
    ),
    request_body(content = TherapistSettings, example = json!({"medication_lead_min": 30, "two_hour_window_min": 180})),
    responses(
        (status = 200, description = "Saved settings", body = api::ReminderSettings),
        answers::Common,
        answers::Body,
    ),
)]
pub async fn save_patient_settings(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    Body(req): Body<TherapistSettings>,
) -> ApiResult<Json<api::ReminderSettings>> {
    let patient = staff_patient(&state, &user, id, "write patient.reminder_settings").await?;
    if let Some(lead) = req.medication_lead_min {
        validate::in_range("medication_lead_min", lead, MEDICATION_LEAD_MIN)?;
    }
    validate::in_range(
        "two_hour_window_min",
        req.two_hour_window_min,
        TWO_HOUR_WINDOW_MIN,
    )?;
    let current = state.store.reminder_settings(patient.id).await?;
    let settings = ReminderSettings {
        medication_lead_min: req.medication_lead_min,
        two_hour_window_min: req.two_hour_window_min,
        ..current
    };
    save(&state, &patient, settings).await
}

/// Saves the settings and plans the patient's next reminders from them at once.
async fn save(
    state: &AppState,
    patient: &Patient,
    settings: ReminderSettings,
) -> ApiResult<Json<api::ReminderSettings>> {
    let now = state.clock.now();
    state
        .store
        .save_reminder_settings(patient.id, &settings, now)
        .await?;
    crate::reminders::plan_patient(state.store.as_ref(), patient, &settings, now).await?;
    Ok(Json(settings.into()))
}
