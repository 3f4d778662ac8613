//! The clinic's pre-visit report: JSON, SVG charts, CSV tables, the FHIR bundle, the printable
//! page; the clinic's visit list; outcome measures and the next visit date. Staff only; every
//! read and export is audited through [`staff_patient`].

use crate::json::{Path, Query};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use futures::{StreamExt, stream};
use serde::{Deserialize, Serialize};
use std::ops::RangeInclusive;
use stepwise_store::{Patient, Role, Store};
use utoipa::{IntoParams, ToSchema};

use crate::access::{check_staff_access, require_role, staff_patient};
use crate::api;
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult, answers};
use crate::handlers::patient::DateRange;
use crate::json::Body;
use crate::report::{charts, csv, fhir, load, page};
use crate::state::AppState;
use crate::validate;
use crate::validate::parse_zone;
use stepwise_care::calendar::local_day;
use stepwise_care::report::{Report, attention};

/// Days a report covers by default: the 30 days before the visit.
pub const DEFAULT_WINDOW_DAYS: u64 = 30;
/// The window a report covers: as asked, or the 30 days before the next visit (up to today),
/// or the 30 days up to today.
pub fn window(
    patient: &Patient,
    tz: Tz,
    now: DateTime<Utc>,
    asked: &DateRange,
) -> ApiResult<(NaiveDate, NaiveDate)> {
    let today = local_day(tz, now);
    let default_to = match patient.next_visit {
        Some(visit) if visit > today => today,
        Some(visit) => visit - Days::new(1),
        None => today,
    };
    asked.dates(default_to, DEFAULT_WINDOW_DAYS)
}

/// Loads a patient's report for a staff member, auditing `action`.
async fn report_for(
    state: &AppState,
    user: &stepwise_store::User,
    id: i64,
    asked: &DateRange,
    action: &str,
) -> ApiResult<Report> {
    let patient = staff_patient(state, user, id, action).await?;
    let tz = parse_zone("timezone", &patient.timezone)?;
    let now = state.clock.now();
    let range = window(&patient, tz, now, asked)?;
    Ok(load(state.store.as_ref(), patient, tz, range, now, true).await?)
}

/// `GET /api/v1/patients/{id}/report?from&to`
#[utoipa::path(
    get,
    path = "/patients/{id}/report",
    tag = "reports",
    summary = "The pre-visit report (JSON): summary, attention items, adherence, verification, band-data days per 30 days, two-hour checks, pain, interval, decisions, steps and sleep trends, escalations, outcome measures",
    params(
        ("id" = i64, Path, description = "patient (user) id"),
        DateRange,
    ),
    responses(
        (status = 200, description = "Report", body = Report),
        answers::Common,
    ),
)]
pub async fn report_json(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    Query(asked): Query<DateRange>,
) -> ApiResult<Json<Report>> {
    Ok(Json(
        report_for(&state, &user, id, &asked, "read patient.report").await?,
    ))
}

pub(crate) fn download(content_type: &'static str, filename: String, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// A report's drawing or table: its name in the URL and what makes it.
pub type Part = (&'static str, fn(&Report) -> String);

/// The report's charts.
pub const CHARTS: &[Part] = &[
    ("interval.svg", charts::interval_chart),
    ("pain.svg", charts::pain_chart),
    ("steps.svg", charts::steps_chart),
    ("sleep.svg", charts::sleep_chart),
    ("questionnaire-psfs.svg", |r| {
        charts::questionnaire_chart(r, stepwise_outcomes::Instrument::Psfs)
    }),
    ("questionnaire-koos_jr.svg", |r| {
        charts::questionnaire_chart(r, stepwise_outcomes::Instrument::KoosJr)
    }),
];

/// The report's tables.
pub const TABLES: &[Part] = &[
    ("sessions.csv", csv::sessions_csv),
    ("daily.csv", csv::daily_csv),
    ("decisions.csv", csv::decisions_csv),
    ("questionnaires.csv", csv::questionnaires_csv),
];

/// The names of `parts` as a schema.
fn names_of(parts: &[Part]) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    api::names_schema(parts.iter().map(|(name, _)| *name))
}

fn chart_names() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    names_of(CHARTS)
}

fn table_names() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    names_of(TABLES)
}

/// A chart of a patient's report.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ChartPath {
    /// The patient (user) id.
    id: i64,
    /// Which chart.
    #[param(schema_with = chart_names)]
    chart: String,
}

/// A table of a patient's report.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TablePath {
    /// The patient (user) id.
    id: i64,
    /// Which table.
    #[param(schema_with = table_names)]
    table: String,
}

/// `GET /api/v1/patients/{id}/report/charts/{chart}` — one of [`CHARTS`].
#[utoipa::path(
    get,
    path = "/patients/{id}/report/charts/{chart}",
    tag = "reports",
    summary = "A report chart as SVG with a text alternative",
    params(
        ChartPath,
        DateRange,
    ),
    responses(
        (status = 200, description = "SVG", body = String, content_type = "image/svg+xml"),
        answers::Common,
    ),
)]
pub async fn chart(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(ChartPath { id, chart }): Path<ChartPath>,
    Query(asked): Query<DateRange>,
) -> ApiResult<Response> {
    let Some((_, draw)) = CHARTS.iter().find(|(name, _)| *name == chart) else {
        return Err(ApiError::NotFound);
    };
    let report = report_for(&state, &user, id, &asked, "read patient.report").await?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], draw(&report)).into_response())
}

/// `GET /api/v1/patients/{id}/report/{table}` — one of [`TABLES`].
#[utoipa::path(
    get,
    path = "/patients/{id}/report/{table}",
    tag = "reports",
    summary = "A report table as CSV",
    params(
        TablePath,
        DateRange,
    ),
    responses(
        (status = 200, description = "CSV", body = String, content_type = "text/csv"),
        answers::Common,
    ),
)]
pub async fn table(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(TablePath { id, table }): Path<TablePath>,
    Query(asked): Query<DateRange>,
) -> ApiResult<Response> {
    let Some((_, write)) = TABLES.iter().find(|(name, _)| *name == table) else {
        return Err(ApiError::NotFound);
    };
    let action = format!("export patient.{table}");
    let report = report_for(&state, &user, id, &asked, &action).await?;
    let filename = format!("stepwise-{id}-{}-{}-{table}", report.from, report.to);
    Ok(download(
        "text/csv; charset=utf-8",
        filename,
        write(&report),
    ))
}

/// `GET /api/v1/patients/{id}/report/fhir` — a FHIR R4 `Bundle` of type `collection`.
#[utoipa::path(
    get,
    path = "/patients/{id}/report/fhir",
    tag = "reports",
    summary = "The report as a FHIR R4 Bundle (collection): Patient, daily steps and sleep, pain scores, exercise sessions, CarePlan and Goal",
    params(
        ("id" = i64, Path, description = "patient (user) id"),
        DateRange,
    ),
    responses(
        (status = 200, description = "FHIR bundle", body = api::FhirBundle, content_type = "application/fhir+json"),
        answers::Common,
    ),
)]
pub async fn fhir_bundle(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    Query(asked): Query<DateRange>,
) -> ApiResult<Response> {
    let report = report_for(&state, &user, id, &asked, "export patient.fhir").await?;
    let filename = format!("stepwise-{id}-{}-{}.fhir.json", report.from, report.to);
    let body = serde_json::to_string_pretty(&fhir::bundle(&report))
        .map_err(|e| ApiError::Internal(format!("fhir: {e}")))?;
    Ok(download("application/fhir+json", filename, body))
}

/// `GET /patients/{id}/report` — the printable page.
pub async fn report_page(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    Query(asked): Query<DateRange>,
) -> ApiResult<Html<String>> {
    let report = report_for(&state, &user, id, &asked, "read patient.report").await?;
    Ok(Html(page::render(&report)))
}

/// The next visit.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NextVisit {
    /// A local date, or null to clear.
    #[serde(deserialize_with = "crate::json::nullable")]
    next_visit: Option<NaiveDate>,
}

/// `PUT /api/v1/patients/{id}/next-visit`
#[utoipa::path(
    put,
    path = "/patients/{id}/next-visit",
    tag = "reports",
    summary = "Set or clear the next visit date",
    params(
        ("id" = i64, Path, description = "patient (user) id"),
    ),
    request_body(content = NextVisit, example = json!({"next_visit": "2026-11-20"})),
    responses(
        (status = 204, description = "Saved"),
        answers::Common,
        answers::Body,
    ),
)]
pub async fn set_next_visit(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    Body(req): Body<NextVisit>,
) -> ApiResult<StatusCode> {
    let patient = staff_patient(&state, &user, id, "write patient.next_visit").await?;
    let next_visit = req
        .next_visit
        .map(|d| validate::date("next_visit", d))
        .transpose()?;
    state.store.set_next_visit(patient.id, next_visit).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/patients/{id}/outcomes`
#[utoipa::path(
    get,
    path = "/patients/{id}/outcomes",
    tag = "reports",
    summary = "Outcome measures",
    params(
        ("id" = i64, Path, description = "patient (user) id"),
    ),
    responses(
        (status = 200, description = "Outcome measures", body = Vec<api::Outcome>),
        answers::Common,
    ),
)]
pub async fn outcomes(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<api::Outcome>>> {
    let patient = staff_patient(&state, &user, id, "read patient.outcomes").await?;
    let outcomes = state.store.outcomes(patient.id).await?;
    Ok(Json(outcomes.into_iter().map(api::Outcome::from).collect()))
}

/// `POST /api/v1/patients/{id}/outcomes` — Oswestry (%), NDI (0–50), six-minute walk (m),
/// timed up-and-go (s).
#[utoipa::path(
    post,
    path = "/patients/{id}/outcomes",
    tag = "reports",
    summary = "Record an outcome measure: oswestry (%), ndi (0-50), six_minute_walk (m), timed_up_and_go (s)",
    params(
        ("id" = i64, Path, description = "patient (user) id"),
    ),
    request_body(content = api::NewOutcome, example = json!({"kind": "oswestry", "value": 34, "measured_on": "2026-11-05"})),
    responses(
        (status = 201, description = "Stored", body = api::Outcome),
        answers::Common,
        answers::Body,
    ),
)]
pub async fn add_outcome(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
    Body(req): Body<api::NewOutcome>,
) -> ApiResult<(StatusCode, Json<api::Outcome>)> {
    let patient = staff_patient(&state, &user, id, "write patient.outcomes").await?;
    let (low, high) = req.kind.range();
    if !(low..=high).contains(&req.value) {
        return Err(ApiError::invalid(
            "value",
            format!(
                "{} = {} is outside {low}..={high}",
                req.kind.as_str(),
                req.value
            ),
            format!("{low}..={high} {}", req.kind.unit()),
        ));
    }
    let tz = parse_zone("timezone", &patient.timezone)?;
    let now = state.clock.now();
    validate::date("measured_on", req.measured_on)?;
    if req.measured_on > local_day(tz, now) {
        return Err(ApiError::invalid(
            "measured_on",
            format!("{} is in the future", req.measured_on),
            "today or an earlier date",
        ));
    }
    let saved = state
        .store
        .add_outcome(patient.id, req.into(), user.id, now)
        .await?;
    Ok((StatusCode::CREATED, Json(saved.into())))
}

/// Reports made at once for the clinic view.
const VISIT_CONCURRENCY: usize = 8;

/// One patient's row of the clinic view.
async fn visit_row(
    store: &dyn Store,
    patient: Patient,
    tz: Tz,
    visit: NaiveDate,
    now: DateTime<Utc>,
) -> ApiResult<VisitRow> {
    let range = window(&patient, tz, now, &DateRange::default())?;
    let therapist_id = patient.therapist_id;
    let report = load(store, patient, tz, range, now, false).await?;
    Ok(VisitRow {
        patient_id: report.patient.id,
        display_name: report.patient.display_name.clone(),
        therapist_id,
        next_visit: visit,
        from: report.from,
        to: report.to,
        adherence_share: report.adherence.share,
        sessions_done: report.adherence.done,
        sessions_prescribed: report.adherence.prescribed,
        checks_answered_share: report.two_hour_checks.share,
        band_data_days: report.band_data_periods.last().map_or(0, |p| p.days),
        interval_start_s: report.interval.start_s,
        interval_end_s: report.interval.end_s,
        open_escalations: report.open_escalations.len(),
        attention: report.attention,
        summary: report.summary,
    })
}

/// Which visits the clinic view lists.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Upcoming {
    /// Visits from today up to this many days ahead (default 14).
    #[param(schema_with = within_days_schema)]
    within_days: Option<u64>,
}

/// How far ahead the clinic view may look, days.
pub const WITHIN_DAYS: RangeInclusive<u64> = 0..=366;
/// How far ahead it looks unless asked, days.
pub const DEFAULT_WITHIN_DAYS: u64 = 14;

fn within_days_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    api::schema_of(serde_json::json!({
        "type": "integer",
        "minimum": WITHIN_DAYS.start(),
        "maximum": WITHIN_DAYS.end(),
        "default": DEFAULT_WITHIN_DAYS,
    }))
}

/// One patient in the clinic view.
#[derive(Serialize, ToSchema)]
pub struct VisitRow {
    patient_id: i64,
    display_name: String,
    therapist_id: i64,
    next_visit: NaiveDate,
    from: NaiveDate,
    to: NaiveDate,
    adherence_share: Option<f64>,
    sessions_done: u32,
    sessions_prescribed: u32,
    checks_answered_share: Option<f64>,
    band_data_days: u32,
    interval_start_s: i64,
    interval_end_s: i64,
    open_escalations: usize,
    attention: Vec<stepwise_care::report::Attention>,
    summary: String,
}

/// `GET /api/v1/clinic/visits?within_days=14` — the patients the caller may see with a visit
/// coming up, most urgent attention first (the ranking of [`attention`]), with headline
/// figures (walk verification, which reads the band's minutes inside each walk, is left to the
/// full report).
#[utoipa::path(
    get,
    path = "/clinic/visits",
    tag = "reports",
    summary = "Patients with a visit coming up, ranked by attention (most urgent first) as the patient list is, with headline figures",
    params(
        Upcoming,
    ),
    responses(
        (status = 200, description = "Visit list", body = Vec<VisitRow>),
        answers::Common,
    ),
)]
pub async fn clinic_visits(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Query(upcoming): Query<Upcoming>,
) -> ApiResult<Json<Vec<VisitRow>>> {
    require_role(
        &user,
        &[Role::Therapist, Role::ClinicAdmin],
        "this is for the care team",
    )?;
    let within = upcoming.within_days.unwrap_or(DEFAULT_WITHIN_DAYS);
    if !WITHIN_DAYS.contains(&within) {
        let allowed = format!("{}..={}", WITHIN_DAYS.start(), WITHIN_DAYS.end());
        return Err(ApiError::invalid(
            "within_days",
            format!("within_days = {within} is outside {allowed}"),
            allowed,
        ));
    }
    let now = state.clock.now();
    let mut pending = Vec::new();
    for patient in state.store.clinic_patients(user.clinic_id).await? {
        if check_staff_access(&user, &patient).is_err() {
            continue;
        }
        let tz = parse_zone("timezone", &patient.timezone)?;
        let today = local_day(tz, now);
        if let Some(visit) = patient
            .next_visit
            .filter(|v| *v >= today && *v <= today + Days::new(within))
        {
            pending.push(visit_row(state.store.as_ref(), patient, tz, visit, now));
        }
    }
    // Reports are read-only and independent: several at once keep the database busy.
    let mut rows = stream::iter(pending)
        .buffer_unordered(VISIT_CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<ApiResult<Vec<VisitRow>>>()?;
    // The one attention ranking (stepwise_care::report::attention), then the earlier visit, then the name.
    rows.sort_by(|a, b| {
        attention::compare(&a.attention, &b.attention)
            .then_with(|| (a.next_visit, &a.display_name).cmp(&(b.next_visit, &b.display_name)))
    });
    // An audit entry for each patient listed.
    for row in &rows {
        state
            .audit(&user, "read clinic.visits", Some(row.patient_id))
            .await?;
    }
    Ok(Json(rows))
}
