//! Health check, the OpenAPI document and its offline docs page.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

use crate::state::AppState;

/// The OpenAPI 3.1 description of `/api/v1`, kept beside the route table (a test checks that
/// both list the same routes).
pub const OPENAPI: &str = include_str!("../../openapi.json");

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
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
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
