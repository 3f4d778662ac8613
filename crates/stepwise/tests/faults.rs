//! Faults, through the real `stepwise serve` on SQLite and on PostgreSQL: the server killed
//! with SIGKILL in the middle of a band upload and in the middle of the weekly review job, then
//! started again on the same database; and slow clients holding many connections open.
//!
//! The kills are placed by what the server itself logs: with `sqlx::query=debug` it writes a
//! line after each statement it ran, so the test kills it right after the Nth statement of the
//! upload's transaction (or the Nth review saved), before the transaction could commit.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde_json::{Value, json};
use stepwise_store::{
    Id, NewDevice, NewInvite, NewSession, NewUser, PatientInvite, PlanChangeSource, ReminderKind,
    Role, Store,
};
use stepwise_testkit::{Backend, backend_tests, fresh_store};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;

use common::serve::{Served, serve};

backend_tests!(
    a_kill_mid_upload_loses_nothing_and_the_retry_doubles_nothing,
    a_kill_mid_weekly_job_reviews_every_patient_once,
    slow_clients_cannot_take_every_connection,
);

/// A password hash nobody logs in with (the accounts here are only data).
const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$YmVuY2hzYWx0MTIzNDU2$wQhTo3PyKmZzWyIfGgJ4SXtCixUaE0nRj6a9d4Yxr0E";

/// Every statement the server runs is logged (after it ran), so a test can kill it at a
/// chosen point of a transaction.
const STATEMENT_LOG: &str = "info,sqlx::query=debug";

/// The most minutes one upload may hold (`MAX_STEP_SAMPLES`): about two weeks.
const MINUTES: usize = 20_000;

/// A running server whose standard error is read line by line in the background (so its
/// pipe never fills); every line goes to `lines`.
struct Server {
    served: Served,
    lines: mpsc::UnboundedReceiver<String>,
}

impl Server {
    async fn start(database: &str, log: &str, extra: &[&str]) -> Server {
        let mut served = serve(database, extra, &[("STEPWISE_LOG", log)]).await;
        let (tx, lines) = mpsc::unbounded_channel();
        let mut rest = std::mem::replace(
            &mut served.rest,
            tokio::io::BufReader::new(empty_stderr().await).lines(),
        );
        tokio::spawn(async move {
            while let Ok(Some(line)) = rest.next_line().await {
                if tx.send(line).is_err() {
                    // Nobody listens any more: keep draining.
                    while let Ok(Some(_)) = rest.next_line().await {}
                    return;
                }
            }
        });
        Server { served, lines }
    }

    fn url(&self) -> &str {
        &self.served.url
    }

    fn addr(&self) -> String {
        self.served.url.trim_start_matches("http://").to_string()
    }

    /// Waits (up to `within`) for the `n`th log line containing `needle`.
    async fn wait_for(&mut self, needle: &str, n: usize, within: Duration) {
        let mut seen = 0;
        let deadline = tokio::time::Instant::now() + within;
        while seen < n {
            let line = tokio::time::timeout_at(deadline, self.lines.recv())
                .await
                .unwrap_or_else(|_| panic!("no {n} log lines with {needle:?} (saw {seen})"))
                .unwrap_or_else(|| panic!("the server stopped after {seen} of {needle:?}"));
            if line.contains(needle) {
                seen += 1;
            }
        }
    }

    /// SIGKILL, and waits for the process to be gone.
    async fn kill(mut self) {
        self.served.child.start_kill().expect("SIGKILL");
        self.served.child.wait().await.expect("the killed server");
    }
}

/// The standard error of a process that has already ended (a placeholder for the one taken).
async fn empty_stderr() -> tokio::process::ChildStderr {
    let mut child = tokio::process::Command::new("true")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("running true");
    let stderr = child.stderr.take().expect("piped");
    let _ = child.wait().await;
    stderr
}

/// A clinic with one therapist, made straight in the store at `now`; (clinic, therapist).
async fn clinic(store: &dyn Store, now: DateTime<Utc>) -> (Id, Id) {
    let user = |email: &str| NewUser {
        email: email.into(),
        display_name: email.into(),
        password_hash: HASH.into(),
    };
    let (clinic, admin) = store
        .create_clinic("Faults clinic", user("admin@faults.example"), now)
        .await
        .expect("a clinic");
    store
        .create_invite(
            NewInvite {
                code_hash: "therapist".into(),
                clinic_id: clinic.id,
                role: Role::Therapist,
                created_by: admin.id,
                expires_at: now + TimeDelta::days(1),
                patient: None,
            },
            now,
        )
        .await
        .expect("an invite");
    let therapist = store
        .accept_invite("therapist", user("t@faults.example"), now)
        .await
        .expect("the therapist");
    (clinic.id, therapist.id)
}

/// Patient `n` of the clinic, joined at `joined`.
async fn patient(
    store: &dyn Store,
    (clinic, therapist): (Id, Id),
    n: usize,
    joined: DateTime<Utc>,
) -> Id {
    let code = format!("invite-{n}");
    store
        .create_invite(
            NewInvite {
                code_hash: code.clone(),
                clinic_id: clinic,
                role: Role::Patient,
                created_by: therapist,
                expires_at: joined + TimeDelta::days(1),
                patient: Some(PatientInvite {
                    therapist_id: therapist,
                    timezone: "Europe/London".into(),
                }),
            },
            joined,
        )
        .await
        .expect("a patient invite");
    store
        .accept_invite(
            &code,
            NewUser {
                email: format!("p{n}@faults.example"),
                display_name: format!("Patient {n}"),
                password_hash: HASH.into(),
            },
            joined,
        )
        .await
        .expect("a patient")
        .id
}

/// Pairs a band to the patient at `now`; (device id, upload token).
async fn band(store: &dyn Store, patient_id: Id, n: usize, now: DateTime<Utc>) -> (Id, String) {
    let code = format!("pair-{n}");
    store
        .create_pairing_code(patient_id, &code, now + TimeDelta::hours(1))
        .await
        .expect("a pairing code");
    let token = format!(
        "faults-upload-token-{n}-{}",
        stepwise_testkit::unique_name("t")
    );
    let device = store
        .pair_device(
            &code,
            NewDevice {
                kind: "mi-band-4".into(),
                address: format!("C8:0F:10:00:00:{n:02X}"),
                name: "Mi Smart Band 4".into(),
            },
            &stepwise_server::auth::hash_token(&token),
            now,
        )
        .await
        .expect("a band");
    (device.id, token)
}

/// The upload: [`MINUTES`] single minute samples with heart rates, ending before `now`
/// (about 1.3 MB of JSON), and the total of its steps.
fn upload_body(now: DateTime<Utc>, seed: i64) -> (Vec<u8>, i64) {
    let end = now.duration_trunc(TimeDelta::minutes(1)).unwrap() - TimeDelta::minutes(5);
    let start = end - TimeDelta::minutes(MINUTES as i64);
    let mut total = 0;
    let steps: Vec<Value> = (0..MINUTES as i64)
        .map(|i| {
            let count = (i * 7 + seed) % 120;
            total += count;
            json!({"minute": start + TimeDelta::minutes(i), "steps": count,
                   "heart_rate": 60 + (i + seed) % 40})
        })
        .collect();
    (serde_json::to_vec(&json!({"steps": steps})).unwrap(), total)
}

/// The request line and headers of an upload of `len` bytes.
fn upload_head(addr: &str, token: &str, len: usize) -> String {
    format!(
        "POST /api/v1/samples HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
    )
}

/// What one band's rows add up to, read straight from the tables and the per-day totals:
/// (minute rows, their steps, minutes in the day totals, steps in the day totals).
async fn stored(store: &dyn Store, patient_id: Id, now: DateTime<Utc>) -> (usize, i64, i64, i64) {
    let minutes = store
        .step_samples(
            patient_id,
            now - TimeDelta::days(30),
            now + TimeDelta::days(1),
        )
        .await
        .expect("reading minutes");
    let days = store
        .band_days(
            patient_id,
            (now - TimeDelta::days(30)).date_naive(),
            (now + TimeDelta::days(1)).date_naive(),
        )
        .await
        .expect("reading day totals");
    (
        minutes.len(),
        minutes.iter().map(|m| m.steps).sum(),
        days.iter().map(|d| d.minutes_with_data).sum(),
        days.iter().map(|d| d.steps).sum(),
    )
}

/// Where in an upload the server is killed.
#[derive(Debug, Clone, Copy)]
enum KillPoint {
    /// Half the body sent: the request is still being read.
    BodyInFlight,
    /// The whole body sent, killed right after the server ran the `n`th multi-row insert of
    /// the upload's transaction (of 40), before it could commit.
    InTransaction(usize),
    /// The server answered 200: the upload committed; the collector retries anyway (it may
    /// not have read the answer).
    AfterCommit,
}

async fn a_kill_mid_upload_loses_nothing_and_the_retry_doubles_nothing(backend: Backend) {
    let db = fresh_store(backend).await;
    let store = db.store.as_ref();
    let now = Utc::now();
    let owners = clinic(store, now - TimeDelta::days(40)).await;
    let points = [
        KillPoint::BodyInFlight,
        KillPoint::InTransaction(1),
        KillPoint::InTransaction(20),
        KillPoint::AfterCommit,
    ];
    let mut attempts = Vec::new();
    for (n, point) in points.into_iter().enumerate() {
        let patient_id = patient(store, owners, n, now - TimeDelta::days(40)).await;
        let (_, token) = band(store, patient_id, n, now).await;
        let (body, total) = upload_body(now, n as i64);
        attempts.push((point, patient_id, token, body, total));
    }

    let mut rolled_back = 0;
    for (point, patient_id, token, body, total) in &attempts {
        let mut server = Server::start(&db.url, STATEMENT_LOG, &[]).await;
        let addr = server.addr();
        let mut conn = TcpStream::connect(&addr).await.expect("connecting");
        conn.write_all(upload_head(&addr, token, body.len()).as_bytes())
            .await
            .unwrap();
        match point {
            KillPoint::BodyInFlight => {
                conn.write_all(&body[..body.len() / 2]).await.unwrap();
                conn.flush().await.unwrap();
                tokio::time::sleep(Duration::from_millis(200)).await;
                server.kill().await;
            }
            KillPoint::InTransaction(n) => {
                conn.write_all(body).await.unwrap();
                server
                    .wait_for("INSERT INTO step_samples", *n, Duration::from_secs(30))
                    .await;
                server.kill().await;
            }
            KillPoint::AfterCommit => {
                conn.write_all(body).await.unwrap();
                let mut answer = String::new();
                conn.read_to_string(&mut answer).await.expect("the answer");
                assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
                server.kill().await;
            }
        }
        drop(conn);
        // Nothing half-stored: all the batch or none of it, rows and day totals alike.
        let after_kill = stored(store, *patient_id, now).await;
        match point {
            KillPoint::BodyInFlight => assert_eq!(after_kill, (0, 0, 0, 0), "{point:?}"),
            KillPoint::AfterCommit => assert_eq!(
                after_kill,
                (MINUTES, *total, MINUTES as i64, *total),
                "{point:?}"
            ),
            KillPoint::InTransaction(_) => {
                assert!(
                    after_kill == (0, 0, 0, 0)
                        || after_kill == (MINUTES, *total, MINUTES as i64, *total),
                    "{point:?}: a part of the upload was kept: {after_kill:?}"
                );
                rolled_back += usize::from(after_kill.0 == 0);
            }
        }
    }
    // At least one kill landed inside the upload's transaction (a statement of it had run)
    // and the restarted server holds nothing of it.
    assert!(rolled_back > 0, "every kill came after the commit");

    // Restarted on the same database, the collector sends each batch again (twice): exactly
    // the batch, once, whatever the kill interrupted.
    let server = Server::start(&db.url, "warn", &[]).await;
    let client = reqwest::Client::new();
    for (point, patient_id, token, body, total) in &attempts {
        for retry in 0..2 {
            let answer = client
                .post(format!("{}/api/v1/samples", server.url()))
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
                .expect("the retry");
            assert_eq!(answer.status(), 200, "{point:?} retry {retry}");
            let summary: Value = answer.json().await.unwrap();
            assert_eq!(summary["steps"], MINUTES, "{point:?} retry {retry}");
            assert_eq!(
                stored(store, *patient_id, now).await,
                (MINUTES, *total, MINUTES as i64, *total),
                "{point:?} retry {retry}: lost or doubled"
            );
        }
    }
    server.kill().await;
}

/// Patients in the weekly job test.
const PATIENTS: usize = 120;

async fn a_kill_mid_weekly_job_reviews_every_patient_once(backend: Backend) {
    let db = fresh_store(backend).await;
    let store: Arc<dyn Store> = db.store.clone();
    let now = Utc::now();
    let joined = now - TimeDelta::days(17);
    let owners = clinic(store.as_ref(), joined - TimeDelta::hours(1)).await;
    let tz = chrono_tz::Europe::London;
    let last_week = stepwise_care::calendar::last_complete_week(tz, now);
    let due = stepwise_server::weekly::due_weeks(tz, joined, None, now);
    assert!(due.len() >= 2, "{due:?}");

    // Every patient walked three times in the last complete week and answered the two-hour
    // checks; every fourth reported pain at the alert level (the review escalates).
    let seeded: Vec<Id> = futures_like_join(
        (0..PATIENTS)
            .map(|n| {
                let store = store.clone();
                async move {
                    let id = patient(store.as_ref(), owners, n, joined).await;
                    let monday = stepwise_care::calendar::week_bounds(tz, last_week).0;
                    for day in 0..3 {
                        let started = monday + TimeDelta::days(day * 2) + TimeDelta::hours(10);
                        let (walk, _) = store
                            .record_session(
                                id,
                                NewSession {
                                    client_id: format!("walk-{day}"),
                                    started_at: started,
                                    ended_at: started + TimeDelta::minutes(20),
                                    walked_s: 1200,
                                    bouts: 1,
                                    pain_before: Some(2),
                                    pain_during_max: Some(3),
                                    effort: Some(4),
                                    rest_type: None,
                                    notes: None,
                                },
                                started + TimeDelta::minutes(21),
                            )
                            .await
                            .expect("a walk");
                        let pain = if n % 4 == 0 && day == 2 { 9 } else { 2 };
                        store
                            .answer_two_hour_check(id, walk.id, pain, started + TimeDelta::hours(3))
                            .await
                            .expect("a two-hour answer");
                    }
                    id
                }
            })
            .collect(),
    )
    .await;

    // The job runs as the server starts; it is killed after a third of the reviews are saved.
    let mut server = Server::start(&db.url, STATEMENT_LOG, &[]).await;
    server
        .wait_for(
            "INSERT INTO reviews",
            PATIENTS * due.len() / 3,
            Duration::from_secs(60),
        )
        .await;
    server.kill().await;
    let mut reviewed_before = 0;
    for id in &seeded {
        reviewed_before += store.review_outcomes(*id).await.unwrap().len();
    }
    assert!(
        reviewed_before < PATIENTS * due.len(),
        "the job had finished before the kill"
    );

    // Started again, the job finishes the run.
    let mut server = Server::start(&db.url, "info", &[]).await;
    server
        .wait_for("weekly reviews", 1, Duration::from_secs(60))
        .await;
    server.kill().await;

    let mut plan_changes = 0;
    for id in &seeded {
        let reviews = store.reviews(*id).await.unwrap();
        let weeks: Vec<_> = reviews.iter().map(|r| r.week_start).collect();
        assert_eq!(
            weeks, due,
            "patient {id}: one review per week, none missing"
        );
        // The plan was changed once per review that changed it, in order.
        let history: Vec<_> = store
            .plan_history(*id)
            .await
            .unwrap()
            .into_iter()
            .filter(|c| c.source == PlanChangeSource::Review)
            .collect();
        let changing: Vec<_> = reviews
            .iter()
            .filter(|r| r.applied && r.output.interval_s != r.output.previous_interval_s)
            .collect();
        assert_eq!(history.len(), changing.len(), "patient {id}: {history:?}");
        for (change, review) in history.iter().zip(&changing) {
            assert_eq!(change.review_id, Some(review.id), "patient {id}");
            assert_eq!(
                (change.from_interval_s, change.to_interval_s),
                (review.output.previous_interval_s, review.output.interval_s)
            );
        }
        plan_changes += history.len();
        let patient = store.patient(*id).await.unwrap();
        let last = reviews.last().unwrap();
        assert_eq!(
            patient.plan.interval_s, last.output.interval_s,
            "patient {id}"
        );
        let escalated = reviews
            .iter()
            .filter(|r| r.output.decision == stepwise_engine::Decision::Escalate)
            .count();
        assert_eq!(patient.frozen, escalated > 0, "patient {id}");

        // The news of the last week's review reached the patient once, and each escalation
        // the therapist once: none lost between the review and its reminders, none doubled.
        let reminders = store
            .patient_reminders(*id, now - TimeDelta::days(40), now + TimeDelta::days(40))
            .await
            .unwrap();
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for r in &reminders {
            *kinds.entry(r.kind.as_str()).or_default() += 1;
        }
        let count = |kind: ReminderKind| kinds.get(kind.as_str()).copied().unwrap_or(0);
        assert_eq!(
            count(ReminderKind::PlanChange),
            1,
            "patient {id}: {kinds:?}"
        );
        assert_eq!(
            count(ReminderKind::Escalation),
            escalated,
            "patient {id}: {kinds:?}"
        );
    }
    // Three answered walks within limits advance the plan; a red flag regresses it.
    assert!(plan_changes >= PATIENTS, "{plan_changes} plan changes");
}

/// Runs the futures eight at a time; their results in order.
async fn futures_like_join<F: std::future::Future<Output = Id> + Send + 'static>(
    futures: Vec<F>,
) -> Vec<Id> {
    let mut results = Vec::with_capacity(futures.len());
    let mut pending = futures.into_iter();
    loop {
        let batch: Vec<_> = pending.by_ref().take(8).map(tokio::spawn).collect();
        if batch.is_empty() {
            return results;
        }
        for task in batch {
            results.push(task.await.expect("seeding"));
        }
    }
}

/// The limit on all connections holds too: with every connection the server allows taken by
/// two clients, a third is told at once to come back (503, `Retry-After`), and is answered as
/// soon as connections close. (The database plays no part: SQLite only.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_refuses_connections_over_its_total_at_once() {
    let db = fresh_store(Backend::Sqlite).await;
    let server = Server::start_limited(
        &db.url,
        256,
        &[
            "--max-connections",
            "20",
            "--max-connections-per-client",
            "16",
        ],
    )
    .await;
    let addr: std::net::SocketAddr = server.addr().parse().unwrap();
    let half_headers = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nX-Slow: ");
    let open = |from: &'static str, n: usize| {
        let head = half_headers.clone();
        async move {
            let mut held = Vec::new();
            for _ in 0..n {
                let socket = TcpSocket::new_v4().unwrap();
                socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
                let mut conn = socket.connect(addr).await.unwrap();
                conn.write_all(head.as_bytes()).await.unwrap();
                held.push(conn);
            }
            held
        }
    };
    // 16 from one client (its own limit), 4 from another: 20 in all.
    let first = open("127.0.0.2", 16).await;
    let second = open("127.0.0.4", 4).await;
    // A connection from a third client: its answer, having sent a request or not (the answer
    // over a limit comes without reading one; a request it did not read may turn the close
    // into a reset, so the refusal is read without sending one).
    let third = |send: bool| async move {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.3:0".parse().unwrap()).unwrap();
        let mut conn = socket.connect(addr).await?;
        if send {
            conn.write_all(
                format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await?;
        }
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(10), conn.read_to_string(&mut answer))
            .await
            .expect("an answer at once")?;
        Ok::<_, std::io::Error>(answer)
    };
    let refused = third(false).await.unwrap();
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(
        refused.to_lowercase().contains("retry-after: 1"),
        "{refused}"
    );
    assert!(refused.contains("\"error\""), "a JSON error: {refused}");

    // The second client leaves: the third is answered.
    drop(second);
    let mut answer = Ok(String::new());
    for _ in 0..50 {
        answer = third(true).await;
        if answer.as_ref().is_ok_and(|a| a.starts_with("HTTP/1.1 200")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let answer = answer.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(first);
    server.kill().await;
}

/// Slow connections from one client in the test below.
const SLOW: usize = 300;

async fn slow_clients_cannot_take_every_connection(backend: Backend) {
    let db = fresh_store(backend).await;
    // The server may hold 256 file descriptors (a small `ulimit -n`): without a limit on
    // connections, 300 slow ones take them all and nobody else is even accepted until the
    // read timeouts (30 s for headers, 60 s for a body) cut them off.
    let server = Server::start_limited(&db.url, 256, &["--max-connections-per-client", "64"]).await;
    let addr: std::net::SocketAddr = server.addr().parse().unwrap();

    // One client (127.0.0.2) opens 300 connections: half send half their headers, half send
    // their headers and then trickle a body.
    let mut slow = Vec::with_capacity(SLOW);
    for i in 0..SLOW {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        let mut conn = socket.connect(addr).await.expect("a slow connection");
        let head = if i % 2 == 0 {
            format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nX-Slow: ")
        } else {
            format!(
                "POST /api/v1/samples HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer x\r\n\
                 Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{{\"steps\":["
            )
        };
        conn.write_all(head.as_bytes()).await.unwrap();
        slow.push(conn);
    }
    let trickle = tokio::spawn(async move {
        loop {
            for conn in slow.iter_mut().skip(1).step_by(2) {
                let _ = conn.write_all(b" ").await;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });

    // Over its limit the slow client is told so at once; its other connections stay open.
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    let mut refused = socket.connect(addr).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(10), refused.read_to_string(&mut answer))
        .await
        .expect("an answer over the limit")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.to_lowercase().contains("retry-after: 1"), "{answer}");

    // Anyone else is answered, well within the read timeouts, again and again.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    for _ in 0..20 {
        let health = client
            .get(format!("{}/healthz", server.url()))
            .send()
            .await
            .expect("an answer while the slow client holds its connections");
        assert_eq!(health.status(), 200);
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.3:0".parse().unwrap()).unwrap();
        let mut other = socket.connect(addr).await.unwrap();
        other
            .write_all(
                format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await
            .unwrap();
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(10), other.read_to_string(&mut answer))
            .await
            .expect("an answer from another address")
            .unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
    trickle.abort();
    server.kill().await;
}

impl Server {
    /// [`Server::start`] with the server's open files limited to `files` (`ulimit -n`).
    async fn start_limited(database: &str, files: u32, extra: &[&str]) -> Server {
        let mut child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -n {files} && exec \"$0\" \"$@\""))
            .arg(common::serve::STEPWISE)
            .args(["serve", "--database", database, "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("STEPWISE_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("starting stepwise serve");
        let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let mut said = String::new();
        let url = loop {
            let Some(line) = lines.next_line().await.expect("reading stderr") else {
                panic!("stepwise serve stopped before listening:\n{said}");
            };
            said.push_str(&line);
            said.push('\n');
            if let Some(rest) = line.strip_prefix("Stepwise is listening on ") {
                break rest.split_whitespace().next().unwrap().to_string();
            }
        };
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = tx.send(line);
            }
        });
        Server {
            served: Served {
                child,
                url,
                metrics: None,
                stderr: said,
                rest: tokio::io::BufReader::new(empty_stderr().await).lines(),
            },
            lines: rx,
        }
    }
}
