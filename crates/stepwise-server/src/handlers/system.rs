//! Health check, the OpenAPI document and its offline docs page.

use std::sync::LazyLock;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use stepwise_engine::rules::{self, PLAN_FIELDS, RULE_FIELDS};

use utoipa::OpenApi as _;

use crate::api::FieldTables;
use crate::error::ErrorBody;
use crate::handlers::{account, collector, patient, recovery, reminders};
use crate::state::AppState;

/// The operations of `/api/v1` whose description is generated: each handler's
/// `#[utoipa::path]` attribute (method, path, parameters, answers) and the Rust types it takes
/// and returns (`utoipa::ToSchema`), so a field added to an API type is documented with it.
#[derive(utoipa::OpenApi)]
#[openapi(
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
        rules_schema,
    ),
    components(schemas(ErrorBody))
)]
pub struct Generated;

/// The operations still described by hand in `openapi.json`, with the document's frame (info,
/// servers, security schemes). An operation is in exactly one of the two: a test checks it.
pub const HAND_WRITTEN: &str = include_str!("../../openapi.json");

/// The OpenAPI 3.1 description of `/api/v1`: [`HAND_WRITTEN`] with the [`Generated`]
/// operations and schemas added, and the schemas of the rules' and the plan's fields filled in
/// from the engine's field tables. A test checks that it and the route table list the same
/// routes.
pub static OPENAPI: LazyLock<String> = LazyLock::new(|| {
    let mut document: Value = match serde_json::from_str(HAND_WRITTEN) {
        Ok(document) => document,
        Err(err) => panic!("openapi.json is not JSON: {err}"),
    };
    add_generated(&mut document, generated());
    fill_fields(&mut document);
    document.to_string()
});

/// The [`Generated`] part of the document, as JSON.
pub fn generated() -> Value {
    match serde_json::to_value(Generated::openapi()) {
        Ok(generated) => generated,
        Err(err) => panic!("the generated OpenAPI does not serialize: {err}"),
    }
}

/// Adds the generated operations and component schemas to the hand-written document.
fn add_generated(document: &mut Value, generated: Value) {
    if let Some(Value::Object(paths)) = generated.get("paths") {
        for (path, operations) in paths {
            if let Value::Object(operations) = operations {
                for (method, operation) in operations {
                    document["paths"][path][method] = operation.clone();
                }
            }
        }
    }
    if let Some(Value::Object(schemas)) = generated.pointer("/components/schemas") {
        for (name, schema) in schemas {
            document["components"]["schemas"][name] = schema.clone();
        }
    }
}

/// Replaces every schema marked `"x-fields"` with the JSON Schema of a field table, keeping the
/// schema's other keys: `rules` (any subset of the rules' fields), `plan` (every plan field),
/// `plan-patch` (any subset of them). Properties and `required` names the schema lists itself
/// (an override's `reason`) are added to the table's.
fn fill_fields(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(which) = map.remove("x-fields") {
                let mut schema = match which.as_str() {
                    Some("rules") => rules::json_schema(RULE_FIELDS, false),
                    Some("plan") => rules::json_schema(PLAN_FIELDS, true),
                    Some("plan-patch") => rules::json_schema(PLAN_FIELDS, false),
                    _ => panic!("openapi.json: unknown x-fields {which}"),
                };
                for (key, own) in std::mem::take(map) {
                    match (key.as_str(), own, schema.get_mut(&key)) {
                        ("properties", Value::Object(own), Some(Value::Object(table))) => {
                            table.extend(own);
                        }
                        ("required", Value::Array(own), Some(Value::Array(table))) => {
                            table.extend(own);
                        }
                        (_, own, _) => {
                            schema[key.as_str()] = own;
                        }
                    }
                }
                *map = match schema {
                    Value::Object(schema) => schema,
                    _ => Map::new(),
                };
            }
            map.values_mut().for_each(fill_fields);
        }
        Value::Array(items) => items.iter_mut().for_each(fill_fields),
        _ => {}
    }
}

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
