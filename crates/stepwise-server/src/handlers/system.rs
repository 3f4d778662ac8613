//! Health check, the OpenAPI document and its offline docs page.

use std::sync::LazyLock;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi as _};

use crate::api::FieldTables;
use crate::auth::{CSRF_HEADER, SESSION_COOKIE};
use crate::error::ErrorBody;
use crate::handlers::{
    account, collector, imports, patient, questionnaires, recovery, reminders, report, rtm, staff,
    team,
};
use crate::state::AppState;

/// The OpenAPI 3.1 description of `/api/v1`, generated: each handler's `#[utoipa::path]`
/// attribute (method, path, parameters, answers) with the Rust types it takes and returns
/// (`utoipa::ToSchema`, the API types of [`crate::api`]), so that a field added to a type is
/// documented with it. The rules' and the plan's schemas come from the engine's field tables.
/// A test checks that the route table and this list name the same routes.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Stepwise API",
        version = "1",
        description = "JSON API of Stepwise. Log in at /auth/login: the response sets an HttpOnly \
            session cookie and returns a csrf_token that every write must send as X-CSRF-Token. \
            Collectors use Authorization: Bearer <device token>. Errors are {error, field, \
            allowed}."
    ),
    servers((url = "/api/v1")),
    // Unless an operation says otherwise: the login's cookie, with the CSRF token on writes.
    security(("session" = [], "csrf" = [])),
    paths(
        account::login,
        account::logout,
        account::csrf,
        account::me,
        account::create_invite,
        account::accept_invite,
        account::clinic,
        account::set_clinic_defaults,
        account::therapists,
        account::set_safety_contact,
        recovery::options,
        recovery::reset,
        recovery::reset_by_email,
        recovery::create_for_therapist,
        recovery::create_for_patient,
        collector::pair,
        collector::upload,
        collector::renew,
        reminders::my_reminders,
        reminders::my_settings,
        reminders::save_my_settings,
        reminders::key,
        reminders::subscriptions,
        reminders::subscribe,
        reminders::unsubscribe,
        reminders::patient_reminders,
        reminders::save_patient_settings,
        patient::today,
        patient::my_sessions,
        patient::log_walk,
        patient::correct_walk,
        patient::withdraw_walk,
        patient::answer_check,
        patient::answer_next_morning,
        patient::report_flare,
        patient::history,
        patient::pairing_code,
        patient::my_devices,
        patient::remove_my_device,
        imports::upload_mine,
        imports::my_imports,
        imports::my_import,
        imports::upload_for_patient,
        imports::patient_imports,
        imports::patient_import,
        team::my_thread,
        team::write_mine,
        team::read_mine,
        team::patient_thread,
        team::write_to_patient,
        team::read_patient_thread,
        team::notes,
        team::add_note,
        team::time_log,
        team::add_time,
        team::start_timer,
        team::stop_timer,
        team::cancel_timer,
        questionnaires::definitions,
        questionnaires::definition,
        questionnaires::add_schedule,
        questionnaires::schedules,
        questionnaires::stop_schedule,
        questionnaires::patient_questionnaires,
        questionnaires::mine,
        questionnaires::answer,
        rules_schema,
        staff::list,
        staff::detail,
        staff::timeline,
        staff::rules,
        staff::save_rules,
        staff::preview_rules,
        staff::baseline,
        staff::override_plan,
        staff::reviews,
        staff::run_review,
        staff::acknowledge,
        staff::audit_log,
        staff::devices,
        staff::remove_device,
        report::report_json,
        report::chart,
        report::fhir_bundle,
        report::table,
        report::set_next_visit,
        report::outcomes,
        report::add_outcome,
        report::clinic_visits,
        rtm::patient_rtm,
        rtm::clinic_rtm,
        rtm::clinic_rtm_csv,
    ),
    components(schemas(ErrorBody)),
    modifiers(&SecuritySchemes)
)]
pub struct ApiDoc;

/// The three ways a request proves who sends it: the login's cookie, the CSRF token that
/// writes with it carry, and a band's upload token.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(SESSION_COOKIE))),
        );
        components.add_security_scheme(
            "csrf",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new(CSRF_HEADER))),
        );
        components.add_security_scheme(
            "deviceToken",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The document as served at `/api/openapi.json`.
pub static OPENAPI: LazyLock<String> = LazyLock::new(|| match ApiDoc::openapi().to_json() {
    Ok(json) => json,
    Err(err) => panic!("the OpenAPI document does not serialize: {err}"),
});

/// `GET /healthz` — 200 when the database answers.
pub async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.count_users().await {
        Ok(_) => Json(json!({"status": "ok"})).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "health check: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "error": "database unavailable"})),
            )
                .into_response()
        }
    }
}

/// `GET /api/openapi.json`
pub async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        OPENAPI.as_str(),
    )
        .into_response()
}

/// `GET /api/v1/rules/schema` — every rules and plan field with its range, unit, default and
/// label: the forms of the care team's pages are built from it. Public: it describes the
/// product, not a patient.
#[utoipa::path(
    get,
    path = "/rules/schema",
    tag = "care team",
    summary = "Every field of the progression rules and the walking plan: range, unit, default and a plain-language label (the table validation and the forms use); public",
    responses(
        (status = 200, description = "The rules' and the plan's fields, in the order they are checked and shown", body = FieldTables),
    ),
    security(),
)]
pub async fn rules_schema() -> Json<FieldTables> {
    Json(FieldTables::of_engine())
}

/// `GET /api/docs` — renders the OpenAPI document in the browser with no external scripts.
pub async fn docs() -> Html<&'static str> {
    Html(include_str!("../../static/api-docs.html"))
}

/// `GET /api/docs.js` — the docs page's script (a file of its own: the CSP forbids inline
/// scripts).
pub async fn docs_script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../../static/api-docs.js"),
    )
        .into_response()
}

/// `GET /api/docs.css` — the docs page's styles (a file of its own: the CSP forbids inline
/// styles).
pub async fn docs_style() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../static/api-docs.css"),
    )
        .into_response()
}

/// The metrics listener's routes: `GET /metrics` only (its own port: see `stepwise serve
/// --metrics-listen`).
pub fn metrics_routes(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
}

async fn scrape(State(state): State<AppState>) -> Response {
    let queue = match state.store.reminder_queue(state.clock.now()).await {
        Ok(queue) => queue,
        Err(err) => {
            tracing::error!(error = %err, "reading the reminder queue for /metrics");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        state.metrics.render(queue),
    )
        .into_response()
}
