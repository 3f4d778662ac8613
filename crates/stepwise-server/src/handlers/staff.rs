//! The care team's API: the patient list (escalations first), a patient's timeline, rules
//! (versioned, validated as the engine validates them), baseline, plan override, weekly
//! reviews and escalation acknowledgement. Every handler reaches the patient through
//! [`staff_patient`], which checks access and writes the audit entry.

use crate::json::{Path, Query};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use stepwise_engine::Rules;
use stepwise_engine::baseline::{DEFAULT_SHARE_PCT, baseline_interval};
use stepwise_engine::rules::PLAN_FIELDS;
use stepwise_store::{PlanChangeSource, PlanOverride, Role, WalkingPlan};
use utoipa::ToSchema;

use crate::access::{check_staff_access, require_role, staff_patient};
use crate::api;
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult, answers};
use crate::handlers::patient::DateRange;
use crate::handlers::patient::MAX_LOG_DELAY;
use crate::json::{Body, parse};
use crate::report::load;
use crate::state::AppState;
use crate::validate;
use crate::validate::parse_zone;
use crate::weekly::{replay, review_week};
use stepwise_care::calendar::{last_complete_week, local_day, monday_of};
use stepwise_care::report::{Attention, attention};
use stepwise_care::words::Explained;
use stepwise_engine::{Reader, spoken_duration};

/// One row of the patient list.
#[derive(Serialize, ToSchema)]
pub struct PatientSummary {
    patient: api::Patient,
    /// The newest weekly review's outcome.
    last_review: Option<api::ReviewOutcome>,
    /// An escalation waiting for acknowledgement.
    open_escalation: Option<i64>,
    /// What needs a look over the last [`LIST_WINDOW_DAYS`] days, most urgent first, in
    /// words (the report's attention items).
    attention: Vec<Attention>,
    /// Messages in the patient's thread the caller has not read.
    unread_messages: i64,
}

/// Days the patient list's attention items look back, today included.
pub const LIST_WINDOW_DAYS: u64 = 30;

/// `GET /api/v1/patients` — a therapist's own patients, or every patient of a clinic admin's
/// clinic; most urgent attention first (the ranking of [`attention`]), then by name.
#[utoipa::path(
    get,
    path = "/patients",
    tag = "care team",
    summary = "Patients visible to the caller, ranked by attention (most urgent first), each with its attention items in words",
    responses(
        (status = 200, description = "Patients: {patient, last_review, open_escalation, attention[Attention], unread_messages}", body = Vec<PatientSummary>),
        answers::Common,
    ),
)]
pub async fn list(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> ApiResult<Json<Vec<PatientSummary>>> {
    require_role(
        &user,
        &[Role::Therapist, Role::ClinicAdmin],
        "this is for the care team",
    )?;
    let patients = state.store.clinic_patients(user.clinic_id).await?;
    let unread = state
        .store
        .unread_by_patient(user.id, user.clinic_id)
        .await?;
    let now = state.clock.now();
    let mut rows = Vec::new();
    for patient in patients {
        if check_staff_access(&user, &patient).is_err() {
            continue;
        }
        let reviews = state.store.review_outcomes(patient.id).await?;
        let open_escalation = reviews
            .iter()
            .rev()
            .find(|r| r.output.needs_therapist() && r.acknowledged_at.is_none())
            .map(|r| r.id);
        let tz = parse_zone("timezone", &patient.timezone)?;
        let today = local_day(tz, now);
        let window = (attention::window_from(today, LIST_WINDOW_DAYS), today);
        let report = load(
            state.store.as_ref(),
            patient.clone(),
            tz,
            window,
            now,
            false,
        )
        .await?;
        let unread_messages = unread
            .iter()
            .find(|(id, _)| *id == patient.id)
            .map_or(0, |(_, n)| *n);
        rows.push(PatientSummary {
            unread_messages,
            patient: patient.into(),
            last_review: reviews.last().cloned().map(api::ReviewOutcome::from),
            open_escalation,
            attention: report.attention,
        });
    }
    rows.sort_by(|a, b| {
        attention::compare(&a.attention, &b.attention)
            .then_with(|| a.patient.display_name.cmp(&b.patient.display_name))
    });
    // An audit entry for each patient listed: the list shows names, plans and decisions.
    for row in &rows {
        state
            .audit(&user, "read patient.list", Some(row.patient.id))
            .await?;
    }
    Ok(Json(rows))
}

/// A patient with their rules and plan history.
#[derive(Serialize, ToSchema)]
pub struct PatientDetail {
    patient: api::Patient,
    rules: api::RulesVersion,
    plan_changes: Vec<api::PlanChange>,
}

/// `GET /api/v1/patients/{id}`
#[utoipa::path(
    get,
    path = "/patients/{id}",
    tag = "care team",
    summary = "A patient with rules and plan history",
    params(
        ("id" = i64, Path, description = "patient (user) id"),
    ),
    responses(
        (status = 200, description = "Patient", body = PatientDetail),
        answers::Common,
    ),
)]
pub async fn detail(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<PatientDetail>> {
    let patient = staff_patient(&state, &user, id, "read patient").await?;
    let rules = state.store.current_rules(patient.id).await?;
    let plan_changes = state.store.plan_history(patient.id).await?;
    Ok(Json(PatientDetail {
        patient: patient.into(),
        rules: rules.into(),
        plan_changes: plan_changes
            .into_iter()
            .map(api::PlanChange::from)
            .collect(),
    }))
}

/// Everything that happened in a date range.
#[derive(Serialize, ToSchema)]
pub struct Timeline {
    patient: api::Patient,
    from: NaiveDate,
    to: NaiveDate,
    sessions: Vec<api::Session>,
    flares: Vec<api::Flare>,
    band_days: Vec<api::BandDay>,
    reviews: Vec<api::Review>,
    plan_changes: Vec<api::PlanChange>,
    /// Walks the patient corrected or withdrew in the range: what each was before and after.
    walk_changes: Vec<api::SessionChange>,
}

/// `GET /api/v1/patients/{id}/timeline?from&to` — local dates, default the last 28 days.
#[utoipa::path(
    get,
    path = "/patients/{id}/timeline",
    tag = "care team",
    summary = "Sessions, flares, band data per local day, reviews and plan changes in a date range",
    params(
        ("id" = i64, Path, description = "patient (user) id"),
        DateRange,
    ),
    responses(
        (status = 200, description = "Timeline", body = Timeline),
        answers::Common,
    ),
)]
pub async fn timeline(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    Query(range): Query<DateRange>,
) -> ApiResult<Json<Timeline>> {
    let patient = staff_patient(&state, &user, id, "read patient.timeline").await?;
    let tz = parse_zone("timezone", &patient.timezone)?;
    let (start, end) = range.bounds(tz, state.clock.now())?;
    let store = &state.store;
    let sessions = store.sessions_between(patient.id, start, end).await?;
    let flares = store.flares_between(patient.id, start, end).await?;
    let from = local_day(tz, start);
    let to = local_day(tz, end) - chrono::Days::new(1);
    let band_days = store.band_days(patient.id, from, to).await?;
    let walk_changes = store.session_changes(patient.id, start, end).await?;
    let reviews = store
        .reviews(patient.id)
        .await?
        .into_iter()
        .filter(|r| (from - chrono::Days::new(6)..=to).contains(&r.week_start))
        .map(|r| Explained::stored(r, Reader::Therapist).into())
        .collect();
    let plan_changes = store
        .plan_history(patient.id)
        .await?
        .into_iter()
        .filter(|c| (start..end).contains(&c.at))
        .map(api::PlanChange::from)
        .collect();
    Ok(Json(Timeline {
        band_days: band_days.into_iter().map(api::BandDay::from).collect(),
        patient: patient.into(),
        from,
        to,
        sessions: sessions.into_iter().map(api::Session::from).collect(),
        flares: flares.into_iter().map(api::Flare::from).collect(),
        reviews,
        plan_changes,
        walk_changes: walk_changes
            .into_iter()
            .map(api::SessionChange::from)
            .collect(),
    }))
}

/// The rules in force and every earlier version.
#[derive(Serialize, ToSchema)]
pub struct RulesView {
    current: api::RulesVersion,
    history: Vec<api::RulesVersion>,
}

/// `GET /api/v1/patients/{id}/rules`
#[utoipa::path(
    get,
    path = "/patients/{id}/rules",
    tag = "care team",
    summary = "Rules in force and their versions",
    params(
        ("id" = i64, Path, description = "patient (user) id"),
    ),
    responses(
        (status = 200, description = "Rules", body = RulesView),
        answers::Common,
    ),
)]
pub async fn rules(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<RulesView>> {
    let patient = staff_patient(&state, &user, id, "read patient.rules").await?;
    let history = state.store.rules_history(patient.id).await?;
    let current = history.last().cloned().ok_or(ApiError::NotFound)?;
    Ok(Json(RulesView {
        current: current.into(),
        history: history.into_iter().map(api::RulesVersion::from).collect(),
    }))
}

/// `PUT /api/v1/patients/{id}/rules` — the body names the fields to change (any subset of the
/// rules); the rest keep their current values. Saved as a new version.
#[utoipa::path(
    put,
    path = "/patients/{id}/rules",
    tag = "care team",
    summary = "Change some rules; saved as a new version (validated as the engine validates)",
    params(
        ("id" = i64, Path, description = "patient (user) id"),
    ),
    request_body(content = api::RulesPatch, example = api::rules_example),
    responses(
        (status = 201, description = "New version", body = api::RulesVersion),
        answers::Common,
        answers::Body,
    ),
)]
pub async fn save_rules(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    Body(changes): Body<serde_json::Map<String, serde_json::Value>>,
) -> ApiResult<(StatusCode, Json<api::RulesVersion>)> {
    let patient = staff_patient(&state, &user, id, "write patient.rules").await?;
    let current = state.store.current_rules(patient.id).await?;
    let rules = merge_rules(&current.rules, changes, "")?;
    let saved = state
        .store
        .save_rules(patient.id, &rules, user.id, state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json(saved.into())))
}

/// Edited rules to try: the fields to change (as for `PUT …/rules`) and how many recent
/// reviewed weeks to replay.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    #[schema(value_type = api::RulesPatch)]
    rules: serde_json::Map<String, serde_json::Value>,
    weeks: Option<i64>,
}

/// The edited rules and the recent weeks replayed under them.
#[derive(Serialize, ToSchema)]
pub struct RulesPreview {
    rules: api::Rules,
    weeks: Vec<api::ReplayedWeek>,
}

/// Weeks a preview replays unless asked otherwise.
pub const PREVIEW_WEEKS: i64 = 8;

/// `POST /api/v1/patients/{id}/rules/preview` — what the last weeks' reviews would have
/// decided under the edited rules (the same engine function as the weekly review). Saves
/// nothing.
#[utoipa::path(
    post,
    path = "/patients/{id}/rules/preview",
    tag = "care team",
    summary = "Replay the last weeks' reviews under edited rules (the weekly review's engine function); saves nothing",
    params(
        ("id" = i64, Path, description = "patient (user) id"),
    ),
    request_body(content = PreviewRequest, example = json!({"rules": api::rules_example(), "weeks": 8})),
    responses(
        (status = 200, description = "The edited rules and, per week, what was decided and what would be", body = RulesPreview),
        answers::Common,
        answers::Body,
    ),
)]
pub async fn preview_rules(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    Body(req): Body<PreviewRequest>,
) -> ApiResult<Json<RulesPreview>> {
    let patient = staff_patient(&state, &user, id, "read patient.rules.preview").await?;
    let weeks = req.weeks.unwrap_or(PREVIEW_WEEKS);
    validate::in_range("weeks", weeks, 1..=52)?;
    let current = state.store.current_rules(patient.id).await?;
    let rules = merge_rules(&current.rules, req.rules, "rules.")?;
    let reviews = state.store.reviews(patient.id).await?;
    let recent = &reviews[reviews.len().saturating_sub(weeks as usize)..];
    let weeks = replay(&rules, recent, patient.plan.sessions_per_week)?;
    Ok(Json(RulesPreview {
        rules: api::Rules(rules),
        weeks: weeks.into_iter().map(api::ReplayedWeek::from).collect(),
    }))
}

/// Applies a partial rules object over `current`, refusing unknown fields and invalid values
/// with the engine's own messages.
///
/// `prefix` is where the changes sit in the request body (`""` when the body is the changes,
/// `"rules."` when they are its `rules`): a field at fault is named by its path in the body.
pub fn merge_rules(
    current: &Rules,
    changes: serde_json::Map<String, serde_json::Value>,
    prefix: &str,
) -> ApiResult<Rules> {
    let mut merged = match serde_json::to_value(current) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => {
            return Err(ApiError::Internal(
                "rules did not serialise to an object".into(),
            ));
        }
    };
    merged.extend(changes);
    let bytes =
        serde_json::to_vec(&merged).map_err(|e| ApiError::Internal(format!("rules merge: {e}")))?;
    let in_body = |err: ApiError| match err {
        ApiError::Invalid {
            field,
            message,
            allowed,
        } => ApiError::Invalid {
            field: format!("{prefix}{}", field.strip_prefix("rules.").unwrap_or(&field)),
            message,
            allowed,
        },
        other => other,
    };
    let rules: Rules = parse(&bytes).map_err(in_body)?;
    rules.validate().map_err(|err| in_body(err.into()))?;
    Ok(rules)
}

/// Tolerance walks for the baseline.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BaselineRequest {
    tolerance_walks_s: Vec<i64>,
    share_pct: Option<i64>,
}

/// `POST /api/v1/patients/{id}/baseline` — the starting interval from tolerance walks.
#[utoipa::path(
    post,
    path = "/patients/{id}/baseline",
    tag = "care team",
    summary = "Set the starting interval from at least three tolerance walks",
    params(
        ("id" = i64, Path, description = "patient (user) id"),
    ),
    request_body(content = BaselineRequest, example = json!({"tolerance_walks_s": [540, 600, 660], "share_pct": 80})),
    responses(
        (status = 201, description = "Plan change"),
        answers::Common,
        answers::Body,
    ),
)]
pub async fn baseline(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    Body(req): Body<BaselineRequest>,
) -> ApiResult<(StatusCode, Json<api::PlanChange>)> {
    let patient = staff_patient(&state, &user, id, "write patient.baseline").await?;
    let share = req.share_pct.unwrap_or(DEFAULT_SHARE_PCT);
    let interval = baseline_interval(&req.tolerance_walks_s, share).map_err(|err| {
        use stepwise_engine::baseline::BaselineError as E;
        let (field, allowed) = match err {
            E::ShareOutOfRange(_) => ("share_pct", "50..=100".to_string()),
            E::TooFewWalks { .. } => (
                "tolerance_walks_s",
                "at least 3 tolerance walks, seconds each".to_string(),
            ),
            E::NotPositive { index, .. } => {
                return ApiError::invalid(
                    format!("tolerance_walks_s[{index}]"),
                    err.to_string(),
                    "a positive number of seconds",
                );
            }
        };
        ApiError::invalid(field, err.to_string(), allowed)
    })?;
    let rules = state.store.current_rules(patient.id).await?.rules;
    let clamped = interval.clamp(rules.min_interval_s, rules.max_interval_s);
    let mean = req.tolerance_walks_s.iter().sum::<i64>() / req.tolerance_walks_s.len() as i64;
    // The patient reads this in their plan history: durations as people say them.
    let mut reason = format!(
        "Baseline: {share}% of your average tolerance walk of {} from {} walks",
        spoken_duration(mean),
        req.tolerance_walks_s.len()
    );
    if clamped != interval {
        reason.push_str(&format!(
            " ({}), kept within your limits of {} to {}",
            spoken_duration(interval),
            spoken_duration(rules.min_interval_s),
            spoken_duration(rules.max_interval_s)
        ));
    }
    let change = PlanOverride {
        plan: WalkingPlan {
            interval_s: clamped,
            ..patient.plan
        },
        source: PlanChangeSource::Baseline,
        reason,
        by_user: user.id,
    };
    let saved = state
        .store
        .change_plan(patient.id, change, state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json(saved.into())))
}

/// A therapist's override of the plan: any of the plan's fields, and why (its schema is the
/// plan's field table with the reason added).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideRequest {
    interval_s: Option<i64>,
    bouts: Option<i64>,
    rest_s: Option<i64>,
    sessions_per_week: Option<i64>,
    reason: String,
}

/// The longest reason for an override, characters.
pub const MAX_OVERRIDE_REASON: usize = 500;

impl utoipa::PartialSchema for OverrideRequest {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let mut schema = stepwise_engine::rules::json_schema(PLAN_FIELDS, false);
        schema["properties"]["reason"] = serde_json::json!({
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_OVERRIDE_REASON,
            "description": "Why, in words the patient reads in their plan history",
        });
        schema["required"] = serde_json::json!(["reason"]);
        api::schema_of(schema)
    }
}
impl ToSchema for OverrideRequest {}

/// An override as the OpenAPI document shows it: every plan field, and a reason.
fn override_example() -> serde_json::Value {
    let mut example = api::plan_example();
    example["reason"] = "Reviewed at the visit: the plan as the defaults set it.".into();
    example
}

/// `POST /api/v1/patients/{id}/plan` — change the plan by hand, with a reason.
#[utoipa::path(
    post,
    path = "/patients/{id}/plan",
    tag = "care team",
    summary = "Override the plan with a reason",
    params(
        ("id" = i64, Path, description = "patient (user) id"),
    ),
    request_body(content = OverrideRequest, example = override_example),
    responses(
        (status = 201, description = "Plan change"),
        answers::Common,
        answers::Body,
    ),
)]
pub async fn override_plan(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    Body(req): Body<OverrideRequest>,
) -> ApiResult<(StatusCode, Json<api::PlanChange>)> {
    let patient = staff_patient(&state, &user, id, "write patient.plan").await?;
    validate::required_text("reason", &req.reason, MAX_OVERRIDE_REASON)?;
    let rules = state.store.current_rules(patient.id).await?.rules;
    let plan = WalkingPlan {
        interval_s: req.interval_s.unwrap_or(patient.plan.interval_s),
        bouts: req.bouts.unwrap_or(patient.plan.bouts),
        rest_s: req.rest_s.unwrap_or(patient.plan.rest_s),
        sessions_per_week: req
            .sessions_per_week
            .unwrap_or(patient.plan.sessions_per_week),
    };
    plan.validate_as("", &rules)?;
    let change = PlanOverride {
        plan,
        source: PlanChangeSource::Override,
        reason: req.reason.trim().to_string(),
        by_user: user.id,
    };
    let saved = state
        .store
        .change_plan(patient.id, change, state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, Json(saved.into())))
}

/// `GET /api/v1/patients/{id}/reviews`
#[utoipa::path(
    get,
    path = "/patients/{id}/reviews",
    tag = "care team",
    summary = "Weekly reviews, oldest first",
    params(
        ("id" = i64, Path, description = "patient (user) id"),
    ),
    responses(
        (status = 200, description = "Reviews", body = Vec<api::Review>),
        answers::Common,
    ),
)]
pub async fn reviews(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<api::Review>>> {
    let patient = staff_patient(&state, &user, id, "read patient.reviews").await?;
    let reviews = state.store.reviews(patient.id).await?;
    Ok(Json(
        reviews
            .into_iter()
            .map(|r| Explained::stored(r, Reader::Therapist).into())
            .collect(),
    ))
}

/// Which week to review.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunReview {
    /// Monday of a completed week; default the most recent completed week.
    week_start: Option<NaiveDate>,
}

/// `POST /api/v1/patients/{id}/reviews` — run the weekly review for a completed week now
/// (the server also runs it on its own when each week ends). 201 when made, 200 when the week
/// was already reviewed.
#[utoipa::path(
    post,
    path = "/patients/{id}/reviews",
    tag = "care team",
    summary = "Run the weekly review for a completed week (default: the last one)",
    params(
        ("id" = i64, Path, description = "patient (user) id"),
    ),
    request_body(content = RunReview, example = json!({"week_start": "2026-11-02"})),
    responses(
        (status = 200, description = "Already reviewed", body = api::Review),
        (status = 201, description = "Made", body = api::Review),
        answers::Common,
        answers::Body,
    ),
)]
pub async fn run_review(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    Body(req): Body<RunReview>,
) -> ApiResult<(StatusCode, Json<api::Review>)> {
    let patient = staff_patient(&state, &user, id, "write patient.review").await?;
    let tz = parse_zone("timezone", &patient.timezone)?;
    let now = state.clock.now();
    let week = match req.week_start {
        Some(week) => {
            validate::date("week_start", week)?;
            // A week asked for that ended before any walk of the patient can lie (walks are
            // logged up to MAX_LOG_DELAY late, so up to that long before joining) has nothing
            // to review (the default, the last completed week, is what the weekly job reviews).
            let joined = local_day(tz, patient.created_at);
            let earliest = joined - chrono::Days::new(MAX_LOG_DELAY.num_days() as u64);
            if week + chrono::Days::new(7) <= earliest {
                return Err(ApiError::invalid(
                    "week_start",
                    format!(
                        "the week of {week} ended before the patient joined on {joined} (and \
                         before any walk logged then can lie)"
                    ),
                    format!(
                        "a completed week from the week of {} on",
                        monday_of(earliest)
                    ),
                ));
            }
            week
        }
        None => last_complete_week(tz, now),
    };
    let (review, created) = review_week(state.store.as_ref(), patient.id, week, now).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(Explained::stored(review, Reader::Therapist).into()),
    ))
}

/// The longest acknowledgement note, characters.
pub const MAX_ACKNOWLEDGEMENT_NOTE: usize = 1000;

/// An acknowledgement: the therapist's note of what they did or decided.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Acknowledgement {
    note: String,
}

/// `POST /api/v1/patients/{id}/reviews/{review_id}/acknowledge` — lift an escalation's freeze,
/// with a note (required: a red flag handled without a word in the record is not handled
/// for the next clinician who reads it).
#[utoipa::path(
    post,
    path = "/patients/{id}/reviews/{review_id}/acknowledge",
    tag = "care team",
    summary = "Acknowledge an escalation with a note and lift the freeze",
    params(
        ("id" = i64, Path, description = "patient (user) id"),
        ("review_id" = i64, Path, description = "the review's id"),
    ),
    request_body(content = Acknowledgement, example = json!({"note": "Called the patient; pain settled with rest. Plan unchanged."})),
    responses(
        (status = 200, description = "Acknowledged", body = api::Review),
        answers::Common,
        answers::Body,
    ),
)]
pub async fn acknowledge(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((id, review_id)): Path<(i64, i64)>,
    Body(req): Body<Acknowledgement>,
) -> ApiResult<Json<api::Review>> {
    let patient = staff_patient(&state, &user, id, "write patient.acknowledge").await?;
    validate::required_text("note", &req.note, MAX_ACKNOWLEDGEMENT_NOTE)?;
    let review = state
        .store
        .acknowledge_escalation(
            patient.id,
            review_id,
            user.id,
            req.note.trim(),
            state.clock.now(),
        )
        .await?;
    Ok(Json(Explained::stored(review, Reader::Therapist).into()))
}

/// `GET /api/v1/patients/{id}/audit` — who read or changed this patient's data (clinic admins).
#[utoipa::path(
    get,
    path = "/patients/{id}/audit",
    tag = "care team",
    summary = "Who read or changed this patient's data (clinic admins)",
    params(
        ("id" = i64, Path, description = "patient (user) id"),
    ),
    responses(
        (status = 200, description = "Audit entries", body = Vec<api::AuditEntry>),
        answers::Common,
    ),
)]
pub async fn audit_log(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<api::AuditEntry>>> {
    require_role(
        &user,
        &[Role::ClinicAdmin],
        "only a clinic admin reads the audit log",
    )?;
    let patient = staff_patient(&state, &user, id, "read patient.audit").await?;
    let entries = state.store.audit_log(patient.id).await?;
    Ok(Json(
        entries.into_iter().map(api::AuditEntry::from).collect(),
    ))
}

/// `GET /api/v1/patients/{id}/devices` — the patient's bands, removed ones included.
#[utoipa::path(
    get,
    path = "/patients/{id}/devices",
    tag = "staff",
    summary = "A patient's bands, for their care team",
    params(
        ("id" = i64, Path, description = "The patient's id"),
    ),
    responses(
        (status = 200, description = "The patient's bands, removed ones included", body = Vec<api::Device>),
        answers::Common,
    ),
)]
pub async fn devices(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<api::Device>>> {
    let patient = staff_patient(&state, &user, id, "read patient.devices").await?;
    let devices = state.store.devices(patient.id).await?;
    Ok(Json(devices.into_iter().map(api::Device::from).collect()))
}

/// `DELETE /api/v1/patients/{id}/devices/{device_id}` — removes a patient's band (lost, given
/// away, or paired by mistake): its collector's token stops working at once; its data stays.
#[utoipa::path(
    delete,
    path = "/patients/{id}/devices/{device_id}",
    tag = "staff",
    summary = "Remove a patient's band (lost, given away, paired by mistake)",
    description = "Its collector's upload token stops working at once; its data stays.",
    params(
        ("id" = i64, Path, description = "The patient's id"),
        ("device_id" = i64, Path, description = "The band's id"),
    ),
    responses(
        (status = 200, description = "The band, now removed", body = api::Device),
        answers::Common,
    ),
)]
pub async fn remove_device(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((id, device_id)): Path<(i64, i64)>,
) -> ApiResult<Json<api::Device>> {
    let patient = staff_patient(&state, &user, id, "write patient.devices").await?;
    let device = state
        .store
        .revoke_device(patient.id, device_id, state.clock.now())
        .await?;
    Ok(Json(device.into()))
}
