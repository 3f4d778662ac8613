//! What an operator watches: counters and histograms in the Prometheus text format, served
//! by [`metrics_routes`](crate::handlers::system::metrics_routes) on an address of its own (`stepwise serve --metrics-listen`), never beside
//! the app, so patients' browsers and the internet cannot read it.
//!
//! Every figure is named here once: requests by route and status with their latency, uploads
//! from bands, reminder deliveries and the reminder queue, and the weekly review job. No
//! label carries a patient, a user or an e-mail: routes are their templates
//! (`/api/v1/patients/{id}`), never the path asked for.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use stepwise_store::{IngestSummary, ReminderQueue};

use crate::reminders::DeliverySummary;
use crate::weekly::RunSummary;

/// Upper bounds of the request latency buckets, seconds.
const REQUEST_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// Upper bounds of the weekly job's duration buckets, seconds.
const JOB_BUCKETS: [f64; 10] = [0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0];

/// A request's labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    /// The route's template, or `unmatched`.
    route: String,
    status: u16,
}

/// A latency's labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

/// One label: what happened.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: &'static str,
}

/// One label: a reminder's place in the queue.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueState {
    state: &'static str,
}

/// The server's metrics; one set per [`AppState`](crate::AppState).
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Family<RouteLabels, Histogram, fn() -> Histogram>,
    uploads: Counter,
    uploaded_minutes: Counter,
    uploaded_sleep_episodes: Counter,
    reminders: Family<Outcome, Counter>,
    reminder_queue: Family<QueueState, Gauge>,
    weekly_runs: Counter,
    weekly_reviews: Family<Outcome, Counter>,
    weekly_seconds: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("stepwise");
        let metrics = Metrics {
            requests: Family::default(),
            request_seconds: Family::new_with_constructor(|| Histogram::new(REQUEST_BUCKETS)),
            uploads: Counter::default(),
            uploaded_minutes: Counter::default(),
            uploaded_sleep_episodes: Counter::default(),
            reminders: Family::default(),
            reminder_queue: Family::default(),
            weekly_runs: Counter::default(),
            weekly_reviews: Family::default(),
            weekly_seconds: Histogram::new(JOB_BUCKETS),
            registry: Registry::default(),
        };
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            metrics.requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template",
            metrics.request_seconds.clone(),
        );
        registry.register(
            "band_uploads",
            "Band data uploads accepted (POST /api/v1/samples; refusals are in \
             stepwise_http_requests_total with their status)",
            metrics.uploads.clone(),
        );
        registry.register(
            "band_uploaded_minutes",
            "Minute step samples written by accepted uploads (new or replaced)",
            metrics.uploaded_minutes.clone(),
        );
        registry.register(
            "band_uploaded_sleep_episodes",
            "Sleep episodes written by accepted uploads (new or replaced)",
            metrics.uploaded_sleep_episodes.clone(),
        );
        registry.register(
            "reminders",
            "Reminders this instance finished trying: sent, retrying, closed (failed for good, \
             expired, cancelled or nowhere to go) or lost_lease (finished by another instance)",
            metrics.reminders.clone(),
        );
        registry.register(
            "reminder_queue",
            "Unfinished reminders in the database when scraped: due (waiting to be sent), \
             sending (held by an instance) and scheduled (later)",
            metrics.reminder_queue.clone(),
        );
        registry.register(
            "weekly_job_runs",
            "Runs of the weekly review job",
            metrics.weekly_runs.clone(),
        );
        registry.register(
            "weekly_reviews",
            "Weekly reviews made by the job (reviewed) or that failed (failed)",
            metrics.weekly_reviews.clone(),
        );
        registry.register(
            "weekly_job_duration_seconds",
            "Time one run of the weekly review job took",
            metrics.weekly_seconds.clone(),
        );
        // Every outcome is reported from the start (at 0), so alerts on one never see a gap.
        metrics.reminders_delivered(&DeliverySummary::default());
        Metrics {
            registry,
            ..metrics
        }
    }
}

/// A round's figures under their label values.
fn reminder_outcomes(summary: &DeliverySummary) -> [(&'static str, usize); 4] {
    [
        ("sent", summary.sent),
        ("retrying", summary.retrying),
        ("closed", summary.closed),
        ("lost_lease", summary.lost_lease),
    ]
}

impl Metrics {
    /// Counts one answered request.
    pub fn request(&self, method: &str, route: &str, status: StatusCode, took: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_string(),
                route: route.to_string(),
                status: status.as_u16(),
            })
            .inc();
        self.request_seconds
            .get_or_create(&RouteLabels {
                method: method.to_string(),
                route: route.to_string(),
            })
            .observe(took.as_secs_f64());
    }

    /// Counts an accepted upload and what it wrote.
    pub fn upload_accepted(&self, summary: &IngestSummary) {
        self.uploads.inc();
        self.uploaded_minutes.inc_by(summary.steps);
        self.uploaded_sleep_episodes.inc_by(summary.sleep);
    }

    /// Counts what one round of the reminder scheduler finished.
    pub fn reminders_delivered(&self, summary: &DeliverySummary) {
        for (outcome, count) in reminder_outcomes(summary) {
            self.reminders
                .get_or_create(&Outcome { outcome })
                .inc_by(count as u64);
        }
    }

    /// Records one run of the weekly review job.
    pub fn weekly_run(&self, summary: &RunSummary, took: Duration) {
        self.weekly_runs.inc();
        self.weekly_seconds.observe(took.as_secs_f64());
        for (outcome, count) in [("reviewed", summary.reviewed), ("failed", summary.failed)] {
            self.weekly_reviews
                .get_or_create(&Outcome { outcome })
                .inc_by(count as u64);
        }
    }

    /// The text exposition, with the reminder queue as it stands.
    pub fn render(&self, queue: ReminderQueue) -> String {
        for (state, count) in [
            ("due", queue.due),
            ("sending", queue.sending),
            ("scheduled", queue.scheduled),
        ] {
            self.reminder_queue
                .get_or_create(&QueueState { state })
                .set(count);
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

/// Middleware: times and counts every request under its route template.
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = request.method().as_str().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_string();
    let response = next.run(request).await;
    metrics.request(&method, &route, response.status(), started.elapsed());
    response
}
