//! `day`: one simulated day of a clinic network on one server, as fast as the server takes it.
//!
//! Every patient's band uploads the last hour's 60 minutes of steps once an hour; each patient
//! logs one walk, gets its two-hour reminder and answers the check; the reminders due that day
//! (walk reminders, two-hour checks, next-morning checks, the plan-change news) go out by Web
//! Push to a local receiver; and, the day being a Monday, the weekly review job reviews every
//! patient's last week as the server starts.
//!
//! The server is `stepwise_server::serve` — the function `stepwise serve` runs — in a child
//! process of its own (this binary's hidden `day-server` command), so that its CPU time, read
//! from `/proc/<pid>/stat`, is the server's alone. The one difference from `stepwise serve` is
//! the clock: `stepwise serve` reads the wall clock, the child a manual clock that the driver
//! moves forward one simulated hour per round (an RFC 3339 instant per line on its standard
//! input), so that a day's requests, reminders and weekly review take minutes, not a day. On
//! PostgreSQL the database's CPU (the postmaster and every process it started) is measured as
//! well and counted: it runs on the same two cores.
//!
//! The figures: the server CPU for the simulated day (start and weekly review, the 24 rounds,
//! and the timers of an otherwise idle day — the weekly job's and the reminder planner's
//! every-minute runs and the scheduler's polls — measured idle over two windows, the lower
//! rate scaled to the hours the compressed run did not cover, the rest counted once as work
//! the rounds left behind) as a share of two cores over 86,400 s; request latency per kind;
//! errors (any answer other than 2xx, or no answer).
//!
//! Seeding (not measured) goes straight to the store: the clinic, the patients with a paired
//! band, a login and a browser each, and last week's walks with their answers and band minutes.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveTime, TimeDelta, TimeZone, Utc};
use futures::StreamExt;
use serde_json::json;
use stepwise_server::auth::hash_token;
use stepwise_server::clock::ManualClock;
use stepwise_server::push::{PushConfig, generate_vapid_keys};
use stepwise_server::{AppState, Config};
use stepwise_store::{
    ClockTime, Id, NewPushSubscription, NewSession, ReminderSettings, SampleBatch, StepSample,
    Store,
};
use stepwise_testkit::{Backend, fresh_store};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

/// The simulated day: Monday 30 November 2026, 00:00 in Europe/London (UTC in winter).
fn day_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap()
}

/// When the patients joined: the Monday before, so that one week is due for review.
fn joined() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 6, 0, 0).unwrap()
}

/// Targets from the hardening plan.
const TARGET_CORE_SHARE_PERCENT: f64 = 10.0;
const TARGET_P99_MS: f64 = 100.0;
/// Cores the share is of.
const CORES: f64 = 2.0;
/// Seconds in the day the share is of.
const DAY_SECONDS: f64 = 86_400.0;
/// Patients seeded at the same time.
const SEED_CONCURRENCY: usize = 8;
/// `/proc/<pid>/stat` counts CPU time in USER_HZ ticks, fixed at 100 per second on Linux.
const TICKS_PER_SECOND: f64 = 100.0;

/// What the benchmark is asked to do.
#[derive(Debug, Clone, Copy)]
pub struct DayOptions {
    /// Patients, each with a band, a login and a browser.
    pub patients: u32,
    /// Simulated hours (24: the whole day).
    pub hours: u32,
    /// Requests in flight at once when the rounds run as fast as the server takes them
    /// (`hour_secs` 0).
    pub concurrency: usize,
    /// Wall seconds per simulated hour: each request is sent at its own time in the hour,
    /// scaled to this, whether or not earlier ones have been answered (0: as fast as the
    /// server takes them, `concurrency` at a time).
    pub hour_secs: f64,
    /// Seconds the idle server is watched to measure its timers.
    pub idle_secs: u64,
}

/// The hour patient `n` walks (local = UTC on this day). With fewer hours, walks fall early
/// enough that their checks are answered within the run.
fn walk_hour(n: u32, hours: u32) -> u32 {
    if hours >= 22 {
        7 + n % 12
    } else {
        n % hours.saturating_sub(2).max(1)
    }
}

/// The round (simulated hour) in which patient `n` answers the two-hour check: the round after
/// the reminder fell due (the walk ends at :30, the reminder comes at :30 two hours later).
fn check_hour(n: u32, hours: u32) -> u32 {
    walk_hour(n, hours) + 2
}

/// One request of the day.
#[derive(Debug, Clone, Copy)]
enum Request {
    /// The band's minutes of `hour`: 60 samples.
    Upload { n: u32, hour: u32 },
    /// The walk, logged when it ended (in `hour`).
    Walk { n: u32, hour: u32 },
    /// "How is your pain now?", answered.
    Check { n: u32, session: Id },
}

impl Request {
    fn kind(&self) -> Kind {
        match self {
            Request::Upload { .. } => Kind::Upload,
            Request::Walk { .. } => Kind::Walk,
            Request::Check { .. } => Kind::Check,
        }
    }
}

/// Request kinds, as reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    Upload,
    Walk,
    Check,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Upload => "POST /samples (60 min)",
            Kind::Walk => "POST /me/sessions",
            Kind::Check => "POST …/two-hour-check",
        }
    }
}

/// What one request did.
struct Outcome {
    kind: Kind,
    latency: Duration,
    /// `None` when it succeeded; otherwise what went wrong.
    error: Option<String>,
    /// For a walk: the stored session's id.
    session: Option<Id>,
    n: u32,
    /// When it was due to be sent.
    sent: Instant,
}

/// Runs the day on `backend` and prints the figures.
pub async fn day(backend: Backend, options: DayOptions) -> anyhow::Result<()> {
    let DayOptions {
        patients,
        hours,
        concurrency,
        hour_secs,
        idle_secs,
    } = options;
    if hour_secs > 0.0 {
        println!(
            "day on {backend:?}: {patients} patients, {hours} simulated hours of {hour_secs} s \
             each, every request sent at its time in the hour (at most {PACED_IN_FLIGHT} in \
             flight)"
        );
    } else {
        println!(
            "day on {backend:?}: {patients} patients, {hours} simulated hours as fast as the \
             server answers, {concurrency} requests in flight"
        );
    }
    let db = fresh_store(backend).await;

    // The push service the patients' browsers are registered at: it accepts everything.
    let pushed = Arc::new(AtomicUsize::new(0));
    let seen = pushed.clone();
    let receiver = Router::new().route(
        "/push/{n}",
        post(move || {
            let seen = seen.clone();
            async move {
                seen.fetch_add(1, Ordering::Relaxed);
                StatusCode::CREATED
            }
        }),
    );
    let receiver_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let receiver_addr = receiver_listener.local_addr()?;
    tokio::spawn(async move { axum::serve(receiver_listener, receiver).await });

    // Seeding, straight to the store through a connection of its own, closed before the day.
    let seeding = Instant::now();
    {
        let store = stepwise_store::connect(&db.url).await?;
        seed(store.as_ref(), patients, hours, receiver_addr).await?;
    }
    println!(
        "  seeded {patients} patients in {:.0} s (straight to the store: clinic, patient, band \
         paired, login, browser, walk reminder time; last week's 5 walks answered, with band \
         minutes)",
        seeding.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;

    // The server, its clock at Monday 00:00:30.
    let mut server = DayServer::start(&db.url, day_start() + TimeDelta::seconds(30)).await?;
    let database = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(postmaster_pid()?),
    };
    let cpu = |server: &DayServer| -> anyhow::Result<(f64, f64)> {
        let app = process_cpu(server.pid)?.0;
        let db = match database {
            Some(pid) => database_cpu(pid)?,
            None => 0.0,
        };
        Ok((app, db))
    };
    // The server's CPU so far is its start; the database's is counted from here.
    let db_before = cpu(&server)?.1;
    let started = Instant::now();

    // Monday 00:00: the weekly job reviews every patient's last week as the server starts.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let reviewed = loop {
        let text = client
            .get(format!("{}/metrics", server.metrics))
            .send()
            .await?
            .text()
            .await?;
        if metric(&text, "stepwise_weekly_job_runs_total").unwrap_or(0.0) >= 1.0 {
            break metric_sum(&text, "stepwise_weekly_reviews_total");
        }
        ensure!(
            started.elapsed() < Duration::from_secs(1800),
            "the weekly review job did not finish a run in 30 minutes"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let review_wall = started.elapsed().as_secs_f64();
    let (app_review, db_review) = cpu(&server)?;
    let db_review = db_review - db_before;
    println!(
        "  server start + Monday's weekly review: {reviewed:.0} reviews in {review_wall:.1} s, \
         server CPU {app_review:.1} s{}",
        db_note(database, db_review)
    );

    // The 24 hourly rounds.
    let rounds_started = Instant::now();
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut sessions: HashMap<u32, Id> = HashMap::new();
    for hour in 0..hours {
        // The clock at the end of the hour: the band's minutes of the hour are all past.
        server
            .set_clock(day_start() + TimeDelta::hours(i64::from(hour) + 1))
            .await?;
        let round = round_requests(patients, hours, hour, &sessions);
        let round_outcomes = if hour_secs > 0.0 {
            paced_round(&client, &server.url, round, hours, hour_secs).await?
        } else {
            futures::stream::iter(round)
                .map(|(_, request)| send(&client, &server.url, request, hours, Instant::now()))
                .buffer_unordered(concurrency)
                .collect()
                .await
        };
        for o in &round_outcomes {
            if let Some(id) = o.session {
                sessions.insert(o.n, id);
            }
        }
        let errors = round_outcomes.iter().filter(|o| o.error.is_some()).count();
        eprintln!(
            "  hour {hour:>2}: {} requests, {errors} errors, {:.0} s so far, {} pushes",
            round_outcomes.len(),
            rounds_started.elapsed().as_secs_f64(),
            pushed.load(Ordering::Relaxed)
        );
        outcomes.extend(round_outcomes);
    }
    // The reminders the last hours made due still go out.
    let mut last = pushed.load(Ordering::Relaxed);
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let now = pushed.load(Ordering::Relaxed);
        if now == last {
            break;
        }
        last = now;
    }
    let rounds_wall = rounds_started.elapsed().as_secs_f64();
    let (app_day, db_day) = cpu(&server)?;
    let (app_rounds, db_rounds) = (app_day - app_review, db_day - db_before - db_review);

    // The rest of the day: the server's timers with nothing to do, scaled up.
    // Two windows: the lower rate is the timers' (scaled to the rest of the day); what the
    // other window spent above it is work the day left behind (PostgreSQL's autovacuum of the
    // day's rows, a WAL checkpoint), counted once.
    let idle_started = Instant::now();
    let mut windows = Vec::new();
    let mut before = app_day + db_day;
    for _ in 0..2 {
        let window = Instant::now();
        tokio::time::sleep(Duration::from_secs(idle_secs)).await;
        let (app, db) = cpu(&server)?;
        windows.push(((app + db - before), window.elapsed().as_secs_f64()));
        before = app + db;
    }
    let idle_wall = idle_started.elapsed().as_secs_f64();
    let idle_cpu: f64 = windows.iter().map(|(cpu, _)| cpu).sum();
    let idle_rate = windows
        .iter()
        .map(|(cpu, wall)| cpu / wall)
        .fold(f64::INFINITY, f64::min);
    let left_behind = (idle_cpu - idle_rate * idle_wall).max(0.0);
    let covered = started.elapsed().as_secs_f64() - idle_wall;
    let idle_rest = idle_rate * (DAY_SECONDS - covered).max(0.0);
    server.stop().await;
    drop(db);

    // The figures.
    let total_cpu = app_review + db_review + app_rounds + db_rounds + left_behind + idle_rest;
    let share = 100.0 * total_cpu / (DAY_SECONDS * CORES);
    let errors: Vec<&Outcome> = outcomes.iter().filter(|o| o.error.is_some()).collect();
    println!(
        "  {hours} hourly rounds: {} requests in {rounds_wall:.0} s ({:.0} requests/s), server CPU \
         {app_rounds:.1} s{}; {} reminders pushed",
        outcomes.len(),
        outcomes.len() as f64 / rounds_wall,
        db_note(database, db_rounds),
        pushed.load(Ordering::Relaxed)
    );
    println!(
        "  idle, two windows of {idle_secs} s: {:.3} and {:.3} CPU s per s (app and database); \
         timers at the lower rate x {:.0} s of the day not simulated = {idle_rest:.1} s; work \
         left behind by the rounds {left_behind:.1} s",
        windows[0].0 / windows[0].1,
        windows[1].0 / windows[1].1,
        (DAY_SECONDS - covered).max(0.0)
    );
    println!(
        "  {:<26} {:>8} {:>7} {:>9} {:>9} {:>9}",
        "request", "count", "errors", "p50 ms", "p99 ms", "max ms"
    );
    let mut kinds: Vec<Kind> = outcomes.iter().map(|o| o.kind).collect();
    kinds.sort();
    kinds.dedup();
    let mut all: Vec<f64> = outcomes.iter().map(|o| ms(o.latency)).collect();
    for kind in kinds {
        let of_kind: Vec<&Outcome> = outcomes.iter().filter(|o| o.kind == kind).collect();
        let mut latencies: Vec<f64> = of_kind.iter().map(|o| ms(o.latency)).collect();
        print_row(
            kind.label(),
            &mut latencies,
            of_kind.iter().filter(|o| o.error.is_some()).count(),
        );
    }
    print_row("all", &mut all, errors.len());
    // The slowest requests, with when they were sent: a tail that gathers at one time points
    // at a job of the server's that ran then.
    let mut slowest: Vec<&Outcome> = outcomes.iter().collect();
    slowest.sort_by_key(|o| std::cmp::Reverse(o.latency));
    for o in slowest.iter().take(5) {
        println!(
            "    slow: {:?} of patient {} sent {:.1} s into the rounds: {:.0} ms",
            o.kind,
            o.n,
            o.sent
                .saturating_duration_since(rounds_started)
                .as_secs_f64(),
            ms(o.latency)
        );
    }
    for o in errors.iter().take(5) {
        println!(
            "    error: {:?} of patient {}: {}",
            o.kind,
            o.n,
            o.error.as_deref().unwrap_or_default()
        );
    }
    let p99 = percentile(&all, 0.99);
    let scale = if hours < 24 {
        format!(" (only {hours} of 24 hours simulated)")
    } else {
        String::new()
    };
    println!(
        "  server CPU for the day: {total_cpu:.0} s{scale} = {share:.2}% of {CORES:.0} cores \
         over 86,400 s (review {:.0} s + rounds {:.0} s + left behind {left_behind:.0} s + \
         idle timers {idle_rest:.0} s)",
        app_review + db_review,
        app_rounds + db_rounds
    );
    let verdict = |ok: bool| if ok { "PASS" } else { "FAIL" };
    println!(
        "  targets: CPU {share:.2}% < {TARGET_CORE_SHARE_PERCENT}% of two cores: {}; p99 \
         {p99:.1} ms < {TARGET_P99_MS} ms: {}; errors {} = 0: {}; wall {:.0} s",
        verdict(share < TARGET_CORE_SHARE_PERCENT),
        verdict(p99 < TARGET_P99_MS),
        errors.len(),
        verdict(errors.is_empty()),
        started.elapsed().as_secs_f64()
    );
    // The targets are figures of the machine; an error is a fault of the server.
    ensure!(
        errors.is_empty(),
        "{} requests failed on {backend:?}",
        errors.len()
    );
    Ok(())
}

fn db_note(database: Option<u32>, seconds: f64) -> String {
    match database {
        Some(_) => format!(" + PostgreSQL {seconds:.1} s"),
        None => String::new(),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The `q` quantile of `sorted` (nearest rank), 0 when empty.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn print_row(label: &str, latencies: &mut [f64], errors: usize) {
    latencies.sort_by(f64::total_cmp);
    println!(
        "  {label:<26} {:>8} {errors:>7} {:>9.1} {:>9.1} {:>9.1}",
        latencies.len(),
        percentile(latencies, 0.5),
        percentile(latencies, 0.99),
        latencies.last().copied().unwrap_or(0.0)
    );
}

/// The round's requests in order, each with its time as a share of the hour (0 to 1): the
/// uploads spread over the hour, walks among the first half, check answers among the second
/// (their reminders, due as the hour began, have mostly gone out by then).
fn round_requests(
    patients: u32,
    hours: u32,
    hour: u32,
    sessions: &HashMap<u32, Id>,
) -> Vec<(f64, Request)> {
    let total = u64::from(patients.max(1));
    let mut keyed: Vec<(u64, Request)> = Vec::new();
    // Uploads in a scrambled order of patients (a multiplier prime to any count up to 10^9).
    for i in 0..patients {
        let n = ((u64::from(i) * 7_919 + u64::from(hour) * 104_729) % total) as u32;
        keyed.push((2 * u64::from(i) * 1000 + 1, Request::Upload { n, hour }));
    }
    let walkers: Vec<u32> = (0..patients)
        .filter(|&n| walk_hour(n, hours) == hour)
        .collect();
    for (i, &n) in walkers.iter().enumerate() {
        let at = (i as u64 * total * 1000) / walkers.len() as u64;
        keyed.push((at, Request::Walk { n, hour }));
    }
    let checkers: Vec<(u32, Id)> = (0..patients)
        .filter(|&n| check_hour(n, hours) == hour)
        .filter_map(|n| sessions.get(&n).map(|&id| (n, id)))
        .collect();
    for (i, &(n, session)) in checkers.iter().enumerate() {
        let at = total * 1000 + (i as u64 * total * 1000) / checkers.len() as u64;
        keyed.push((at, Request::Check { n, session }));
    }
    keyed.sort_by_key(|(at, _)| *at);
    let span = (2 * total * 1000) as f64;
    keyed
        .into_iter()
        .map(|(at, r)| (at as f64 / span, r))
        .collect()
}

/// Requests a paced round lets wait for an answer at once: below the server's limit of
/// connections from one client address, which the benchmark's client is.
const PACED_IN_FLIGHT: usize = 100;

/// One round with every request sent at its time in the hour (`hour_secs` wall seconds long),
/// answered or not the ones before: the latency counts from that time, so a request that had
/// to wait for a free connection counts its wait too. Returns once every request is answered
/// and the hour's time is over.
async fn paced_round(
    client: &reqwest::Client,
    url: &str,
    round: Vec<(f64, Request)>,
    hours: u32,
    hour_secs: f64,
) -> anyhow::Result<Vec<Outcome>> {
    let started = tokio::time::Instant::now();
    let slots = Arc::new(tokio::sync::Semaphore::new(PACED_IN_FLIGHT));
    let mut sent = tokio::task::JoinSet::new();
    for (at, request) in round {
        let due = started + Duration::from_secs_f64(at * hour_secs);
        tokio::time::sleep_until(due).await;
        let (client, url, slots) = (client.clone(), url.to_string(), slots.clone());
        sent.spawn(async move {
            let _slot = slots.acquire_owned().await;
            send(&client, &url, request, hours, due.into_std()).await
        });
    }
    let mut outcomes = Vec::new();
    while let Some(outcome) = sent.join_next().await {
        outcomes.push(outcome.context("a request's task")?);
    }
    tokio::time::sleep_until(started + Duration::from_secs_f64(hour_secs)).await;
    Ok(outcomes)
}

/// Minute `m` (0–59) of `hour` for patient `n`: walking during the walk, light activity by
/// day, nothing at night.
fn steps_at(n: u32, hours: u32, hour: u32, m: u32) -> i64 {
    if hour == walk_hour(n, hours) && (5..30).contains(&m) {
        i64::from(95 + m % 7)
    } else if (7..22).contains(&hour) {
        i64::from((m * 13 + n) % 40)
    } else {
        0
    }
}

/// Sends `request` and times it from `started` (when it was due).
async fn send(
    client: &reqwest::Client,
    url: &str,
    request: Request,
    hours: u32,
    started: Instant,
) -> Outcome {
    let kind = request.kind();
    let (n, result) = match request {
        Request::Upload { n, hour } => (n, upload(client, url, n, hours, hour).await),
        Request::Walk { n, hour } => (n, walk(client, url, n, hour).await),
        Request::Check { n, session } => (n, check(client, url, n, session).await),
    };
    let latency = started.elapsed();
    match result {
        Ok(session) => Outcome {
            kind,
            latency,
            error: None,
            session,
            n,
            sent: started,
        },
        Err(err) => Outcome {
            kind,
            latency,
            error: Some(format!("{err:#}")),
            session: None,
            n,
            sent: started,
        },
    }
}

/// The answer's body when it is 2xx, otherwise an error with it.
async fn answer(res: reqwest::Response) -> anyhow::Result<serde_json::Value> {
    let status = res.status();
    let bytes = res.bytes().await?;
    if !status.is_success() {
        bail!("{status}: {}", String::from_utf8_lossy(&bytes));
    }
    Ok(serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
}

/// The band's 60 minutes of `hour`, as one run, with the patient's band token.
async fn upload(
    client: &reqwest::Client,
    url: &str,
    n: u32,
    hours: u32,
    hour: u32,
) -> anyhow::Result<Option<Id>> {
    let steps: Vec<i64> = (0..60).map(|m| steps_at(n, hours, hour, m)).collect();
    let heart_rate: Vec<Option<i64>> = steps
        .iter()
        .map(|&s| (s > 0).then_some(60 + s / 3))
        .collect();
    let start = day_start() + TimeDelta::hours(i64::from(hour));
    let res = client
        .post(format!("{url}/api/v1/samples"))
        .bearer_auth(format!("token-{n}"))
        .json(&json!({"runs": [{"start": start, "steps": steps, "heart_rate": heart_rate}]}))
        .send()
        .await?;
    answer(res).await?;
    Ok(None)
}

/// The patient's walk of `hour`, 25 minutes from :05, logged as the patient's app does.
async fn walk(
    client: &reqwest::Client,
    url: &str,
    n: u32,
    hour: u32,
) -> anyhow::Result<Option<Id>> {
    let start = day_start() + TimeDelta::hours(i64::from(hour)) + TimeDelta::minutes(5);
    let res = logged_in(client.post(format!("{url}/api/v1/me/sessions")), n)
        .json(&json!({
            "client_id": format!("walk-{n}"),
            "started_at": start,
            "ended_at": start + TimeDelta::minutes(25),
            "walked_s": 1200,
            "bouts": 2,
            "pain_before": 2,
            "pain_during_max": 3,
            "effort": 4,
        }))
        .send()
        .await?;
    let body = answer(res).await?;
    let id = body["id"]
        .as_i64()
        .with_context(|| format!("no session id in {body}"))?;
    Ok(Some(id))
}

/// The answer to the walk's two-hour check.
async fn check(
    client: &reqwest::Client,
    url: &str,
    n: u32,
    session: Id,
) -> anyhow::Result<Option<Id>> {
    let res = logged_in(
        client.post(format!("{url}/api/v1/me/sessions/{session}/two-hour-check")),
        n,
    )
    .json(&json!({"pain_after_2h": 2}))
    .send()
    .await?;
    answer(res).await?;
    Ok(None)
}

/// Patient `n`'s login cookie and CSRF token (seeded).
fn logged_in(request: reqwest::RequestBuilder, n: u32) -> reqwest::RequestBuilder {
    request
        .header(
            reqwest::header::COOKIE,
            format!("{}=session-{n}", stepwise_server::auth::SESSION_COOKIE),
        )
        .header(stepwise_server::auth::CSRF_HEADER, format!("csrf-{n}"))
}

// --- seeding ---

/// The clinic and its patients, straight to the store.
async fn seed(
    store: &dyn Store,
    patients: u32,
    hours: u32,
    receiver: SocketAddr,
) -> anyhow::Result<()> {
    let clinic = crate::clinic(store, joined()).await?;
    let browser = generate_vapid_keys(joined()).map_err(anyhow::Error::msg)?;
    let auth = URL_SAFE_NO_PAD.encode([9u8; 16]);
    let started = Instant::now();
    let mut seeded = futures::stream::iter(0..patients)
        .map(|n| {
            seed_patient(
                store,
                clinic,
                n,
                hours,
                &browser.public_key,
                &auth,
                receiver,
            )
        })
        .buffer_unordered(SEED_CONCURRENCY);
    let mut done = 0u32;
    while let Some(result) = seeded.next().await {
        result?;
        done += 1;
        if done.is_multiple_of(1000) {
            eprintln!(
                "  seeded {done} patients ({:.0} s)",
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

/// One patient: band paired (token `token-N`), logged in (cookie `session-N`, CSRF `csrf-N`),
/// one browser subscribed at the receiver, a walk reminder at their walking hour, and last
/// week's five walks with answers and the band's minutes of each; Sunday's walk still owes its
/// next-morning check, due this Monday morning.
async fn seed_patient(
    store: &dyn Store,
    clinic: (Id, Id),
    n: u32,
    hours: u32,
    p256dh: &str,
    auth: &str,
    receiver: SocketAddr,
) -> anyhow::Result<()> {
    let at = joined();
    let (patient, device) = crate::patient_with_band(store, clinic, n, at).await?;
    store
        .create_auth_session(
            &hash_token(&format!("session-{n}")),
            patient,
            &format!("csrf-{n}"),
            at,
            at + TimeDelta::days(30),
        )
        .await?;
    store
        .save_push_subscription(
            patient,
            NewPushSubscription {
                endpoint: format!("http://{receiver}/push/{n}"),
                p256dh: p256dh.to_string(),
                auth: auth.to_string(),
                label: "Phone".into(),
            },
            at,
        )
        .await?;
    let walk_time = NaiveTime::from_hms_opt(walk_hour(n, hours), 0, 0).context("time")?;
    store
        .save_reminder_settings(
            patient,
            &ReminderSettings {
                session_times: vec![ClockTime(walk_time)],
                ..ReminderSettings::default()
            },
            at,
        )
        .await?;
    let mut steps = Vec::new();
    let mut sunday = None;
    for d in [0i64, 1, 3, 4, 6] {
        let start = at + TimeDelta::days(d) + TimeDelta::hours(3);
        steps.extend((0..22).map(|m| StepSample {
            minute: start + TimeDelta::minutes(m),
            steps: 95,
            heart_rate: Some(98),
            estimated: false,
        }));
        let (session, _) = store
            .record_session(
                patient,
                NewSession {
                    client_id: format!("w{d}"),
                    started_at: start,
                    ended_at: start + TimeDelta::minutes(21),
                    walked_s: 1200,
                    bouts: 2,
                    pain_before: Some(2),
                    pain_during_max: Some(3),
                    effort: Some(4),
                    rest_type: None,
                    notes: None,
                },
                start + TimeDelta::minutes(22),
            )
            .await?;
        let answered = store
            .answer_two_hour_check(patient, session.id, 2, start + TimeDelta::hours(2))
            .await?;
        if d == 6 {
            sunday = Some(answered);
        }
    }
    let batch = SampleBatch {
        steps,
        sleep: vec![],
    };
    let days = stepwise_care::calendar::days_touched(chrono_tz::Europe::London, &batch);
    store.ingest_samples(device, &batch, &days).await?;
    if let Some(sunday) = sunday {
        let record = store.patient(patient).await?;
        stepwise_server::reminders::after_walk(store, &record, &sunday, sunday.logged.ended_at)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    }
    Ok(())
}

// --- the server ---

/// `stepwise_server::serve` in a child process (this binary's `day-server`), with a manual
/// clock moved through its standard input.
struct DayServer {
    child: Child,
    stdin: ChildStdin,
    answers: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    pid: u32,
    /// `http://127.0.0.1:PORT` of the app.
    url: String,
    /// `http://127.0.0.1:PORT` of its metrics.
    metrics: String,
}

impl DayServer {
    async fn start(database: &str, at: DateTime<Utc>) -> anyhow::Result<DayServer> {
        let mut child = Command::new(std::env::current_exe()?)
            .args([
                "day-server",
                "--database",
                database,
                "--start",
                &at.to_rfc3339(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting the day server")?;
        let pid = child.id().context("the day server's pid")?;
        let stdin = child.stdin.take().context("stdin")?;
        let mut answers = BufReader::new(child.stdout.take().context("stdout")?).lines();
        let line = answers
            .next_line()
            .await?
            .context("the day server stopped before listening")?;
        let mut words = line.split_whitespace();
        let (Some("app"), Some(app), Some("metrics"), Some(metrics)) =
            (words.next(), words.next(), words.next(), words.next())
        else {
            bail!("the day server said {line:?}");
        };
        Ok(DayServer {
            child,
            stdin,
            answers,
            pid,
            url: format!("http://{app}"),
            metrics: format!("http://{metrics}"),
        })
    }

    /// Moves the server's clock to `at`; returns once it has.
    async fn set_clock(&mut self, at: DateTime<Utc>) -> anyhow::Result<()> {
        self.stdin
            .write_all(format!("{}\n", at.to_rfc3339()).as_bytes())
            .await?;
        self.stdin.flush().await?;
        let answer = self.answers.next_line().await?;
        ensure!(
            answer.as_deref() == Some("ok"),
            "the day server answered {answer:?}"
        );
        Ok(())
    }

    async fn stop(mut self) {
        drop(self.stdin);
        if tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

/// The hidden `day-server` command: `stepwise_server::serve` as `stepwise serve` runs it
/// (push to loopback allowed, for the receiver), with a manual clock standing at `start` and
/// moved to each RFC 3339 instant read from standard input ("ok" answers each). Prints
/// `app ADDR metrics ADDR` once listening; stops at the end of its input.
pub async fn day_server(database: &str, start: &str) -> anyhow::Result<()> {
    let start: DateTime<Utc> = start.parse().context("--start")?;
    let store = stepwise_store::connect(database).await?;
    let clock = Arc::new(ManualClock::new(start));
    let config = Config {
        push: PushConfig {
            allowed_hosts: vec!["127.0.0.1".into()],
            ..PushConfig::default()
        },
        ..Config::default()
    };
    let state = AppState::new(store, clock.clone(), config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let metrics_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let metrics = stepwise_server::handlers::system::metrics_routes(state.clone());
    {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "app {} metrics {}",
            listener.local_addr()?,
            metrics_listener.local_addr()?
        )?;
        out.flush()?;
    }
    tokio::spawn(async move { axum::serve(metrics_listener, metrics).await });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            let Ok(at) = line.trim().parse::<DateTime<Utc>>() else {
                break;
            };
            clock.set(at);
            let mut out = std::io::stdout().lock();
            if writeln!(out, "ok").and_then(|()| out.flush()).is_err() {
                break;
            }
        }
        let _ = stop.send(());
    });
    stepwise_server::serve(listener, state, async {
        let _ = stopped.await;
    })
    .await?;
    Ok(())
}

// --- CPU and metrics ---

/// A process's own CPU seconds (user + system, all threads) and those of its waited-for
/// children, from `/proc/<pid>/stat`.
fn process_cpu(pid: u32) -> anyhow::Result<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    let fields = stat_fields(&stat)?;
    let tick = |i: usize| -> anyhow::Result<f64> {
        Ok(fields
            .get(i)
            .context("a short /proc stat line")?
            .parse::<f64>()?
            / TICKS_PER_SECOND)
    };
    // After the command's closing parenthesis: state is field 3, utime 14, stime 15, cutime
    // 16, cstime 17 (proc(5)); `fields[0]` is field 3.
    Ok((tick(11)? + tick(12)?, tick(13)? + tick(14)?))
}

/// The fields of a `/proc/<pid>/stat` line after the command name.
fn stat_fields(stat: &str) -> anyhow::Result<Vec<&str>> {
    let rest = stat
        .rsplit_once(')')
        .context("a /proc stat line without a command")?
        .1;
    Ok(rest.split_whitespace().collect())
}

/// The throwaway PostgreSQL's postmaster (from `$STEPWISE_PG_DIR/data/postmaster.pid`).
fn postmaster_pid() -> anyhow::Result<u32> {
    let dir = std::env::var("STEPWISE_PG_DIR")
        .context("STEPWISE_PG_DIR is not set: run through scripts/bench")?;
    let text = std::fs::read_to_string(format!("{dir}/data/postmaster.pid"))?;
    Ok(text
        .lines()
        .next()
        .context("an empty postmaster.pid")?
        .trim()
        .parse()?)
}

/// The CPU seconds of the PostgreSQL cluster: the postmaster, its ended children (backends
/// and workers it has reaped) and its live children.
fn database_cpu(postmaster: u32) -> anyhow::Result<f64> {
    let (own, reaped) = process_cpu(postmaster)?;
    let mut total = own + reaped;
    for entry in std::fs::read_dir("/proc")? {
        let Ok(entry) = entry else { continue };
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Ok(fields) = stat_fields(&stat) else {
            continue;
        };
        if fields.get(1).and_then(|p| p.parse::<u32>().ok()) == Some(postmaster)
            && let Ok((cpu, _)) = process_cpu(pid)
        {
            total += cpu;
        }
    }
    Ok(total)
}

/// The value of an unlabelled metric in a Prometheus text exposition.
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
}

/// The sum of a metric over all its labels.
fn metric_sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<f64>().ok()))
        .sum()
}
