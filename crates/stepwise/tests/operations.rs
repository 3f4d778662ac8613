//! What an operator sees of a running `stepwise serve`: Prometheus metrics on their own
//! address, counted after a short scenario through the real binary, and JSON log lines.

mod common;

use std::collections::BTreeMap;

use chrono::{DurationRound, TimeDelta, Utc};
use serde_json::{Value, json};
use stepwise_testkit::server::Session;

use common::serve::{pair_band, serve, stepwise};

const ADMIN_PASSWORD: &str = "admin-password-1";
const PASSWORD: &str = "a-long-password-1";

/// The samples of a Prometheus text exposition: `name{labels}` → value.
fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("a sample line");
            (series.to_string(), value.parse().expect("a number"))
        })
        .collect()
}

fn metric(metrics: &BTreeMap<String, f64>, series: &str) -> f64 {
    *metrics
        .get(series)
        .unwrap_or_else(|| panic!("no {series} in the metrics: {metrics:#?}"))
}

async fn accept(url: &str, code: &Value, email: &str) -> i64 {
    let answer: Value = reqwest::Client::new()
        .post(format!("{url}/api/v1/invites/accept"))
        .json(
            &json!({"code": code, "email": email, "display_name": "Someone",
                      "password": PASSWORD}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["id"].as_i64().unwrap_or_else(|| panic!("{answer}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_a_short_scenario_and_logs_are_json() {
    let dir = std::env::temp_dir().join(stepwise_testkit::unique_name("stepwise_ops"));
    std::fs::create_dir_all(&dir).unwrap();
    let database = format!("sqlite:{}", dir.join("stepwise.db").display());
    stepwise(
        &[
            "admin",
            "create-clinic",
            "--database",
            &database,
            "--name",
            "Riverside Physio",
            "--admin-email",
            "admin@riverside.example",
            "--admin-name",
            "Ana Admin",
        ],
        &[("STEPWISE_ADMIN_PASSWORD", ADMIN_PASSWORD)],
    )
    .await;
    let served = serve(
        &database,
        &["--metrics-listen", "127.0.0.1:0"],
        &[("STEPWISE_LOG_FORMAT", "json")],
    )
    .await;
    let url = served.url.clone();

    // Every log line before the address is one JSON object; the start is among them.
    let logged: Vec<Value> = served
        .stderr
        .lines()
        .filter(|line| !line.starts_with("Stepwise is listening") && !line.starts_with("Metrics"))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    assert!(
        logged
            .iter()
            .any(|l| l["level"] == "INFO" && l["fields"]["message"] == "Stepwise serving"),
        "{logged:#?}"
    );

    // The scenario: three logins, two walks, a band paired, two uploads and a refused one,
    // a page that does not exist.
    let admin = Session::login(&url, "admin@riverside.example", ADMIN_PASSWORD).await;
    let code = admin.post("/invites", json!({"role": "therapist"})).await;
    accept(&url, &code["code"], "tess@riverside.example").await;
    let tess = Session::login(&url, "tess@riverside.example", PASSWORD).await;
    let code = tess
        .post(
            "/invites",
            json!({"role": "patient", "timezone": "Europe/London"}),
        )
        .await;
    let patient_id = accept(&url, &code["code"], "pat@example.org").await;
    let pat = Session::login(&url, "pat@example.org", PASSWORD).await;
    let now = Utc::now();
    for (i, ended) in [40, 30].into_iter().enumerate() {
        let ended = now - TimeDelta::minutes(ended);
        pat.post(
            "/me/sessions",
            json!({"client_id": format!("walk-{i}"), "started_at": ended - TimeDelta::minutes(20),
                   "ended_at": ended, "walked_s": 1200, "bouts": 1, "pain_before": 2,
                   "pain_during_max": 3, "effort": 4, "rest_type": "sit"}),
        )
        .await;
    }
    let pairing = pat.post("/me/pairing-codes", json!({})).await;
    let token = pair_band(&url, &pairing["code"], "C8:0F:10:00:00:02").await;
    let client = reqwest::Client::new();
    let hour_ago = now.duration_trunc(TimeDelta::hours(1)).unwrap() - TimeDelta::hours(3);
    for (hour, expected) in [(0, 200), (1, 200), (-24 * 400, 422)] {
        let answer = client
            .post(format!("{url}/api/v1/samples"))
            .bearer_auth(&token)
            .json(
                &json!({"runs": [{"start": hour_ago + TimeDelta::hours(hour),
                                    "steps": vec![50; 60]}]}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(
            answer.status(),
            expected,
            "{}",
            answer.text().await.unwrap()
        );
    }
    let missing = client
        .get(format!("{url}/no-such-page"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    // The app's own address does not serve the metrics.
    let hidden = client.get(format!("{url}/metrics")).send().await.unwrap();
    assert_eq!(hidden.status(), 404);
    let pending = tess
        .get(&format!(
            "/patients/{patient_id}/reminders?from={}&to={}",
            (now - TimeDelta::days(2)).date_naive(),
            (now + TimeDelta::days(3)).date_naive()
        ))
        .await
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["state"] == "pending")
        .count();
    assert!(pending > 0, "the walks scheduled no two-hour checks");

    let scrape = client
        .get(served.metrics.as_deref().expect("the metrics address"))
        .send()
        .await
        .unwrap();
    assert_eq!(scrape.status(), 200);
    assert!(
        scrape.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let metrics = parse_metrics(&scrape.text().await.unwrap());
    let requests = |method: &str, route: &str, status: u16| {
        metric(
            &metrics,
            &format!(
                "stepwise_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}}"
            ),
        )
    };
    assert_eq!(requests("POST", "/api/v1/auth/login", 200), 3.0);
    assert_eq!(requests("POST", "/api/v1/me/sessions", 201), 2.0);
    assert_eq!(requests("POST", "/api/v1/samples", 200), 2.0);
    assert_eq!(requests("POST", "/api/v1/samples", 422), 1.0);
    assert_eq!(requests("GET", "unmatched", 404), 2.0);
    assert_eq!(
        metric(
            &metrics,
            "stepwise_http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/samples\"}"
        ),
        3.0
    );
    assert_eq!(metric(&metrics, "stepwise_band_uploads_total"), 2.0);
    assert_eq!(
        metric(&metrics, "stepwise_band_uploaded_minutes_total"),
        120.0
    );
    let queued = metric(&metrics, "stepwise_reminder_queue{state=\"scheduled\"}")
        + metric(&metrics, "stepwise_reminder_queue{state=\"due\"}")
        + metric(&metrics, "stepwise_reminder_queue{state=\"sending\"}");
    assert_eq!(queued, pending as f64);
    // The weekly job runs once when the server starts.
    assert!(metric(&metrics, "stepwise_weekly_job_runs_total") >= 1.0);
    assert!(metric(&metrics, "stepwise_weekly_job_duration_seconds_count") >= 1.0);
    // No label names a person.
    let text = format!("{metrics:?}");
    assert!(!text.contains("pat@example.org") && !text.contains(&format!("/{patient_id}/")));

    // SIGTERM (systemd's and docker's stop) ends the server cleanly.
    let mut served = served;
    let pid = served.child.id().expect("the server's pid").to_string();
    let sent = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(sent.success());
    let status = tokio::time::timeout(std::time::Duration::from_secs(20), served.child.wait())
        .await
        .expect("the server stops within 20 s of SIGTERM")
        .unwrap();
    assert!(
        status.success(),
        "stepwise serve exited with {status} on SIGTERM"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
