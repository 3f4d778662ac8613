//! The Stepwise web backend: the JSON API under `/api/v1`, accounts and roles, and the weekly
//! review job. Handlers hold no SQL (that is `stepwise-store`) and no clinical rules (that is
//! `stepwise-engine`); they check who is asking, validate, call the store and the engine.
//!
//! [`app`] builds the router so tests can drive it in process; [`serve`] runs it on a socket
//! with the weekly review job beside it.
#![warn(missing_docs)]

pub mod access;
pub mod api;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod error;
pub mod handlers;
pub mod imports;
pub mod jobs;
pub mod json;
pub mod limiter;
pub mod links;
pub mod mail;
pub mod metrics;
pub mod push;
pub mod reminders;
pub mod report;
pub mod safety;
pub mod state;
pub mod validate;
pub mod web;
pub mod weekly;

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, header};
use axum::routing::{delete, get, post, put};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::error::ApiError;
use crate::handlers::imports as imports_api;
use crate::handlers::reminders as push_api;
use crate::handlers::report as reports;
use crate::handlers::{
    account, collector, patient, questionnaires, recovery, rtm, staff, system, team,
};
use crate::json::{BODY_LIMIT, BodyLimit, SAMPLES_BODY_LIMIT};
pub use crate::state::{AppState, Config, ConnectionLimits, ReadTimeouts};

/// The route table. Every route of `/api/v1` is described in the generated OpenAPI document
/// (`handlers::system::ApiDoc`; a test checks both name the same routes).
pub fn app(state: AppState) -> Router {
    let api = Router::new()
        .route("/auth/login", post(account::login))
        .route("/auth/logout", post(account::logout))
        .route("/auth/csrf", get(account::csrf))
        .route("/auth/recovery", get(recovery::options))
        .route("/auth/password-reset", post(recovery::reset))
        .route("/auth/password-reset/email", post(recovery::reset_by_email))
        .route("/me", get(account::me))
        .route("/invites", post(account::create_invite))
        .route("/invites/accept", post(account::accept_invite))
        .route("/clinic", get(account::clinic))
        .route("/clinic/defaults", put(account::set_clinic_defaults))
        .route("/clinic/safety-contact", put(account::set_safety_contact))
        .route("/clinic/therapists", get(account::therapists))
        .route(
            "/clinic/therapists/{id}/password-reset",
            post(recovery::create_for_therapist),
        )
        .route("/me/today", get(patient::today))
        .route(
            "/me/sessions",
            get(patient::my_sessions).post(patient::log_walk),
        )
        .route("/me/sessions/{session_id}", put(patient::correct_walk))
        .route(
            "/me/sessions/{session_id}/withdraw",
            post(patient::withdraw_walk),
        )
        .route(
            "/me/sessions/{session_id}/two-hour-check",
            post(patient::answer_check),
        )
        .route(
            "/me/sessions/{session_id}/next-morning-check",
            post(patient::answer_next_morning),
        )
        .route("/me/flares", post(patient::report_flare))
        .route("/me/history", get(patient::history))
        .route("/me/pairing-codes", post(patient::pairing_code))
        .route("/me/devices", get(patient::my_devices))
        .route("/me/devices/{device_id}", delete(patient::remove_my_device))
        .route(
            "/me/imports",
            get(imports_api::my_imports).post(imports_api::upload_mine),
        )
        .route("/me/imports/{import_id}", get(imports_api::my_import))
        .route("/me/messages", get(team::my_thread).post(team::write_mine))
        .route("/me/messages/read", put(team::read_mine))
        .route("/me/questionnaires", get(questionnaires::mine))
        .route(
            "/me/questionnaires/{request_id}/response",
            post(questionnaires::answer),
        )
        .route("/questionnaires", get(questionnaires::definitions))
        .route(
            "/questionnaires/{instrument}",
            get(questionnaires::definition),
        )
        .route(
            "/patients/{id}/questionnaire-schedules",
            get(questionnaires::schedules).post(questionnaires::add_schedule),
        )
        .route(
            "/patients/{id}/questionnaire-schedules/{schedule_id}",
            delete(questionnaires::stop_schedule),
        )
        .route(
            "/patients/{id}/questionnaires",
            get(questionnaires::patient_questionnaires),
        )
        .route("/me/reminders", get(push_api::my_reminders))
        .route(
            "/me/reminder-settings",
            get(push_api::my_settings).put(push_api::save_my_settings),
        )
        .route("/push/key", get(push_api::key))
        .route(
            "/push/subscriptions",
            get(push_api::subscriptions).post(push_api::subscribe),
        )
        .route("/push/subscriptions/{id}", delete(push_api::unsubscribe))
        .route("/patients", get(staff::list))
        .route("/patients/{id}", get(staff::detail))
        .route("/patients/{id}/timeline", get(staff::timeline))
        .route(
            "/patients/{id}/rules",
            get(staff::rules).put(staff::save_rules),
        )
        .route("/patients/{id}/rules/preview", post(staff::preview_rules))
        .route("/rules/schema", get(system::rules_schema))
        .route("/patients/{id}/baseline", post(staff::baseline))
        .route("/patients/{id}/plan", post(staff::override_plan))
        .route(
            "/patients/{id}/reviews",
            get(staff::reviews).post(staff::run_review),
        )
        .route(
            "/patients/{id}/reviews/{review_id}/acknowledge",
            post(staff::acknowledge),
        )
        .route("/patients/{id}/audit", get(staff::audit_log))
        .route("/patients/{id}/devices", get(staff::devices))
        .route(
            "/patients/{id}/devices/{device_id}",
            delete(staff::remove_device),
        )
        .route(
            "/patients/{id}/imports",
            get(imports_api::patient_imports).post(imports_api::upload_for_patient),
        )
        .route(
            "/patients/{id}/imports/{import_id}",
            get(imports_api::patient_import),
        )
        .route(
            "/patients/{id}/messages",
            get(team::patient_thread).post(team::write_to_patient),
        )
        .route(
            "/patients/{id}/messages/read",
            put(team::read_patient_thread),
        )
        .route(
            "/patients/{id}/notes",
            get(team::notes).post(team::add_note),
        )
        .route(
            "/patients/{id}/time",
            get(team::time_log).post(team::add_time),
        )
        .route(
            "/patients/{id}/time/timer",
            post(team::start_timer).delete(team::cancel_timer),
        )
        .route("/patients/{id}/time/timer/stop", post(team::stop_timer))
        .route(
            "/patients/{id}/password-reset",
            post(recovery::create_for_patient),
        )
        .route("/patients/{id}/reminders", get(push_api::patient_reminders))
        .route(
            "/patients/{id}/reminder-settings",
            put(push_api::save_patient_settings),
        )
        .route("/patients/{id}/report", get(reports::report_json))
        .route("/patients/{id}/report/charts/{chart}", get(reports::chart))
        .route("/patients/{id}/report/fhir", get(reports::fhir_bundle))
        .route("/patients/{id}/report/{table}", get(reports::table))
        .route("/patients/{id}/next-visit", put(reports::set_next_visit))
        .route(
            "/patients/{id}/outcomes",
            get(reports::outcomes).post(reports::add_outcome),
        )
        .route("/clinic/visits", get(reports::clinic_visits))
        .route("/clinic/rtm", get(rtm::clinic_rtm))
        .route("/clinic/rtm.csv", get(rtm::clinic_rtm_csv))
        .route("/patients/{id}/rtm", get(rtm::patient_rtm))
        .route("/devices/pair", post(collector::pair))
        .route("/devices/token", post(collector::renew))
        .merge(
            // Uploads of a week of minute samples need a larger body than the rest of the API.
            Router::new()
                .route("/samples", post(collector::upload))
                .layer(DefaultBodyLimit::max(SAMPLES_BODY_LIMIT))
                .layer(axum::middleware::from_fn(json::read_whole_body))
                .layer(axum::Extension(BodyLimit(SAMPLES_BODY_LIMIT))),
        )
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));

    Router::new()
        .route("/healthz", get(system::healthz))
        .route("/api/openapi.json", get(system::openapi))
        .route("/api/docs", get(system::docs))
        .route("/api/docs.js", get(system::docs_script))
        .route("/api/docs.css", get(system::docs_style))
        .nest("/api/v1", api)
        .merge(pages())
        .merge(web::routes())
        .fallback(|| async { ApiError::NoRoute })
        .method_not_allowed_fallback(|| async { ApiError::NoRoute })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            audit::Sink {
                store: state.store.clone(),
                clock: state.clock.clone(),
            },
            audit::record,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::track,
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("content-security-policy"),
            HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'"),
        ))
        // gzip for clients that ask (Accept-Encoding), with Vary: Accept-Encoding: pages,
        // scripts, styles, JSON, CSV and SVG; not images already compressed, nor tiny bodies.
        .layer(tower_http::compression::CompressionLayer::new())
        .with_state(state)
}

/// Server-rendered pages (not part of the JSON API).
/// Pages the server renders with patient data in them: never kept by a browser or a proxy.
fn pages() -> Router<AppState> {
    Router::new()
        .route("/clinic/patients/{id}/report", get(reports::report_page))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}

/// How often the weekly review job looks for weeks that have ended.
pub const REVIEW_JOB_PERIOD: Duration = Duration::from_secs(60);

/// Serves the app on `listener` until `shutdown` completes, running the weekly review job
/// every [`REVIEW_JOB_PERIOD`] and the reminder scheduler ([`jobs`]). The VAPID
/// keys are loaded (generated and stored on the first start) before the first request.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    state.pusher().await.map_err(std::io::Error::other)?;
    let scheduler = tokio::spawn(jobs::reminders(state.clone()));
    let job = tokio::spawn(jobs::weekly_reviews(state.clone(), REVIEW_JOB_PERIOD));
    let timeouts = state.config.read_timeouts;
    let limits = state.config.connection_limits;
    let router = app(state).layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
        timeouts.body,
    ));
    serve_connections(listener, router, timeouts, limits, shutdown).await;
    job.abort();
    scheduler.abort();
    Ok(())
}

/// How long graceful shutdown waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The answer to a connection over a [`ConnectionLimits`] limit, written without reading its
/// request.
const TOO_MANY_CONNECTIONS: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
    content-type: application/json\r\nretry-after: 1\r\nconnection: close\r\n\
    content-length: 64\r\n\r\n\
    {\"error\":\"too many connections at once: try again in a moment\"}\n";

/// Open connections, in all and per client address.
#[derive(Default)]
struct OpenConnections {
    total: usize,
    per_client: std::collections::HashMap<std::net::IpAddr, usize>,
}

/// One connection counted in [`OpenConnections`]; uncounted when dropped.
struct Counted {
    open: std::sync::Arc<std::sync::Mutex<OpenConnections>>,
    client: std::net::IpAddr,
}

impl Counted {
    /// Counts a connection from `client`, or `None` when it would go over a limit.
    fn admit(
        open: &std::sync::Arc<std::sync::Mutex<OpenConnections>>,
        client: std::net::IpAddr,
        limits: ConnectionLimits,
    ) -> Option<Counted> {
        let mut counts = open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let from_client = counts.per_client.get(&client).copied().unwrap_or(0);
        if counts.total >= limits.total || from_client >= limits.per_client {
            return None;
        }
        counts.total += 1;
        counts.per_client.insert(client, from_client + 1);
        Some(Counted {
            open: open.clone(),
            client,
        })
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut counts = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        counts.total -= 1;
        if let Some(n) = counts.per_client.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                counts.per_client.remove(&self.client);
            }
        }
    }
}

/// Accepts connections until `shutdown`, each served by hyper with a deadline for its request
/// headers (a client sending half its headers is disconnected) and the client's address in
/// each request (`ConnectInfo`); then waits for requests in flight, up to
/// [`SHUTDOWN_GRACE`]. A connection over one of `limits` is answered 503 and closed at once.
async fn serve_connections(
    listener: tokio::net::TcpListener,
    router: Router,
    timeouts: ReadTimeouts,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use tower::ServiceExt;

    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.headers);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let open = std::sync::Arc::new(std::sync::Mutex::new(OpenConnections::default()));
    loop {
        let (stream, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    // Out of file descriptors and the like: wait a little, keep serving.
                    tracing::warn!(error = %err, "accepting a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(counted) = Counted::admit(&open, addr.ip(), limits) else {
            // Never waits for the client: a full send buffer just loses the answer.
            let _ = stream.try_write(TOO_MANY_CONNECTIONS);
            tracing::debug!(client = %addr.ip(), "connection over the limits refused");
            continue;
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: axum::http::Request<_>| {
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(addr));
            router.clone().oneshot(request.map(axum::body::Body::new))
        });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _counted = counted;
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "connection ended");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight at shutdown were cut off");
    }
}
