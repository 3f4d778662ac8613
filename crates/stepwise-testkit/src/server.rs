//! A real Stepwise server for end-to-end tests: the `stepwise-server` router on a TCP port of
//! 127.0.0.1 over a fresh SQLite store, with a manual clock. It can be stopped and started
//! again on the same port (for tests of an unreachable server). Clinics, therapists, patients
//! and pairing codes are made through its HTTP API, as the app makes them.
//!
//! Only built with the `server` feature, so that suites which need no server (the store's)
//! do not build one.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde_json::{Value, json};
use sqlx::Row;
use stepwise_server::clock::ManualClock;
use stepwise_server::{AppState, Config, app, serve};
use stepwise_store::{BandDay, NewUser, SleepEpisode, SleepStage, StepSample};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::{Backend, TestDb, fresh_store, unique_name};

/// The password of every account [`TestServer::patient`] makes.
pub const PASSWORD: &str = "walk-a-little-further";

/// Wraps the server's router, e.g. in a middleware that counts requests.
type Wrap = Arc<dyn Fn(Router) -> Router + Send + Sync>;

/// The server, listening unless [`TestServer::stop`] was called.
pub struct TestServer {
    /// Its store.
    pub db: TestDb,
    /// Its state (store, clock, configuration).
    pub state: AppState,
    /// Its clock, to move.
    pub clock: Arc<ManualClock>,
    addr: SocketAddr,
    /// `None`: the whole server (`stepwise_server::serve`, background jobs included);
    /// `Some`: only its router, wrapped.
    wrap: Option<Wrap>,
    running: Option<(oneshot::Sender<()>, JoinHandle<std::io::Result<()>>)>,
}

/// A patient of a fresh test clinic, logged in.
pub struct Patient {
    /// The patient's id on the server.
    pub id: i64,
    /// The patient's login e-mail (the password is [`PASSWORD`]).
    pub email: String,
    /// The patient's browser session.
    pub session: Session,
}

impl TestServer {
    /// A fresh server whose clock shows `now`, listening on 127.0.0.1 (any free port): the
    /// router and its background jobs, as `stepwise serve` runs them.
    pub async fn start(now: DateTime<Utc>) -> TestServer {
        TestServer::launch(Backend::Sqlite, now, None).await
    }

    /// As [`TestServer::start`], on a fresh database of `backend`.
    pub async fn start_on(backend: Backend, now: DateTime<Utc>) -> TestServer {
        TestServer::launch(backend, now, None).await
    }

    /// A fresh server whose clock shows `now` serving only its router (no background jobs),
    /// passed through `wrap` first, e.g. to add a middleware that counts requests.
    pub async fn start_wrapped(
        now: DateTime<Utc>,
        wrap: impl Fn(Router) -> Router + Send + Sync + 'static,
    ) -> TestServer {
        TestServer::launch(Backend::Sqlite, now, Some(Arc::new(wrap))).await
    }

    async fn launch(backend: Backend, now: DateTime<Utc>, wrap: Option<Wrap>) -> TestServer {
        let db = fresh_store(backend).await;
        let clock = Arc::new(ManualClock::new(now));
        let state = AppState::new(db.store.clone(), clock.clone(), Config::default());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding");
        let addr = listener.local_addr().expect("the bound address");
        let mut server = TestServer {
            db,
            state,
            clock,
            addr,
            wrap,
            running: None,
        };
        server.serve(listener);
        server
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn serve(&mut self, listener: TcpListener) {
        let (stop, stopped) = oneshot::channel::<()>();
        let stopped = async {
            let _ = stopped.await;
        };
        let task = match &self.wrap {
            None => tokio::spawn(serve(listener, self.state.clone(), stopped)),
            Some(wrap) => {
                let router = wrap(app(self.state.clone()));
                tokio::spawn(async move {
                    axum::serve(listener, router)
                        .with_graceful_shutdown(stopped)
                        .await
                })
            }
        };
        self.running = Some((stop, task));
    }

    /// Stops listening: connections are refused until [`TestServer::restart`].
    pub async fn stop(&mut self) {
        if let Some((stop, task)) = self.running.take() {
            let _ = stop.send(());
            task.await
                .expect("the server task")
                .expect("the server stops cleanly");
        }
    }

    /// Listens again on the same port.
    pub async fn restart(&mut self) {
        let listener = TcpListener::bind(self.addr).await.expect("binding again");
        self.serve(listener);
    }

    /// A new clinic with a therapist and one patient in Europe/Berlin, made through the API.
    pub async fn patient(&self) -> Patient {
        let hash = stepwise_server::auth::hash_password(PASSWORD).expect("hashing");
        let admin_email = format!("{}@clinic.example", unique_name("admin"));
        self.db
            .store
            .create_clinic(
                "Riverside Physio",
                NewUser {
                    email: admin_email.clone(),
                    display_name: "Admin".into(),
                    password_hash: hash,
                },
                self.state.clock.now(),
            )
            .await
            .expect("creating the clinic");
        let admin = self.login(&admin_email).await;
        let invite = admin.post("/invites", json!({"role": "therapist"})).await;
        let therapist_email = format!("{}@clinic.example", unique_name("t"));
        self.accept(&invite, &therapist_email).await;
        let therapist = self.login(&therapist_email).await;
        let invite = therapist
            .post(
                "/invites",
                json!({"role": "patient", "timezone": "Europe/Berlin"}),
            )
            .await;
        let patient_email = format!("{}@home.example", unique_name("p"));
        let id = self.accept(&invite, &patient_email).await;
        Patient {
            id,
            session: self.login(&patient_email).await,
            email: patient_email,
        }
    }

    async fn accept(&self, invite: &Value, email: &str) -> i64 {
        let answer: Value = reqwest::Client::new()
            .post(format!("{}/api/v1/invites/accept", self.url()))
            .json(&json!({"code": invite["code"], "email": email,
                          "display_name": "Someone", "password": PASSWORD}))
            .send()
            .await
            .expect("accepting an invite")
            .json()
            .await
            .expect("the answer");
        answer["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("accepting an invite: {answer}"))
    }

    async fn login(&self, email: &str) -> Session {
        Session::login(&self.url(), email, PASSWORD).await
    }

    /// Every minute sample the server holds for the patient (all its bands) from 100 days
    /// before the server's "now" to a day after.
    pub async fn samples(&self, patient_id: i64) -> Vec<StepSample> {
        let now = self.state.clock.now();
        self.db
            .store
            .step_samples(
                patient_id,
                now - TimeDelta::days(100),
                now + TimeDelta::days(1),
            )
            .await
            .expect("reading samples")
    }

    /// Every sleep episode the server holds for the patient, in the window of
    /// [`TestServer::samples`].
    pub async fn episodes(&self, patient_id: i64) -> Vec<SleepEpisode> {
        let now = self.state.clock.now();
        self.db
            .store
            .sleep_episodes(
                patient_id,
                now - TimeDelta::days(100),
                now + TimeDelta::days(1),
            )
            .await
            .expect("reading episodes")
    }

    /// The patient's per-day totals in `[from, to]`.
    pub async fn band_days(&self, patient_id: i64, from: NaiveDate, to: NaiveDate) -> Vec<BandDay> {
        self.db
            .store
            .band_days(patient_id, from, to)
            .await
            .expect("reading band days")
    }

    /// The server's ids of the patient's bands, in pairing order.
    pub async fn device_ids(&self, patient_id: i64) -> Vec<i64> {
        let mut ids: Vec<i64> = self
            .db
            .store
            .devices(patient_id)
            .await
            .expect("reading devices")
            .iter()
            .map(|d| d.id)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// The rows one band put on the server: its minute samples and its sleep episodes, read
    /// straight from the tables (a duplicate would show here).
    pub async fn device_rows(&self, device_id: i64) -> (Vec<StepSample>, Vec<SleepEpisode>) {
        let pool = sqlx::SqlitePool::connect(&self.db.url)
            .await
            .expect("opening the server's database");
        let minutes = sqlx::query(
            "SELECT minute, steps, heart_rate FROM step_samples WHERE device_id = ? \
             ORDER BY minute",
        )
        .bind(device_id)
        .fetch_all(&pool)
        .await
        .expect("reading step_samples")
        .iter()
        .map(|row| StepSample {
            minute: DateTime::from_timestamp(row.get("minute"), 0).expect("a minute"),
            steps: row.get("steps"),
            heart_rate: row.get("heart_rate"),
            estimated: false,
        })
        .collect();
        let episodes = sqlx::query(
            "SELECT start_at, end_at, stage FROM sleep_episodes WHERE device_id = ? \
             ORDER BY start_at",
        )
        .bind(device_id)
        .fetch_all(&pool)
        .await
        .expect("reading sleep_episodes")
        .iter()
        .map(|row| SleepEpisode {
            start: DateTime::from_timestamp(row.get("start_at"), 0).expect("a start"),
            end: DateTime::from_timestamp(row.get("end_at"), 0).expect("an end"),
            stage: SleepStage::parse(row.get("stage")).expect("a stage"),
        })
        .collect();
        pool.close().await;
        (minutes, episodes)
    }
}

impl Patient {
    /// A fresh one-time pairing code from the patient's "Pair a band" page.
    pub async fn pairing_code(&self) -> String {
        let code = self.session.post("/me/pairing-codes", json!({})).await;
        code["code"]
            .as_str()
            .unwrap_or_else(|| panic!("a pairing code: {code}"))
            .to_string()
    }
}

/// A logged-in browser session: cookies and the CSRF token.
pub struct Session {
    client: reqwest::Client,
    base: String,
    csrf: String,
}

impl Session {
    /// Logs in at `base` (the server's URL), expecting success.
    pub async fn login(base: &str, email: &str, password: &str) -> Session {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .expect("an HTTP client");
        let answer = client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("logging in");
        assert_eq!(answer.status(), 200, "logging in as {email}");
        let answer: Value = answer.json().await.expect("the login answer");
        Session {
            client,
            base: base.to_string(),
            csrf: answer["csrf_token"]
                .as_str()
                .unwrap_or_else(|| panic!("login: {answer}"))
                .to_string(),
        }
    }

    /// `POST /api/v1{path}`, expecting success.
    pub async fn post(&self, path: &str, body: Value) -> Value {
        let answer = self
            .client
            .post(format!("{}/api/v1{path}", self.base))
            .header("x-csrf-token", &self.csrf)
            .json(&body)
            .send()
            .await
            .expect("a POST");
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
        answer.json().await.expect("a JSON answer")
    }

    /// `DELETE /api/v1{path}`, expecting success.
    pub async fn delete(&self, path: &str) -> Value {
        let answer = self
            .client
            .delete(format!("{}/api/v1{path}", self.base))
            .header("x-csrf-token", &self.csrf)
            .send()
            .await
            .expect("a DELETE");
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
        answer.json().await.expect("a JSON answer")
    }

    /// `GET /api/v1{path}`, expecting success.
    pub async fn get(&self, path: &str) -> Value {
        let answer = self
            .client
            .get(format!("{}/api/v1{path}", self.base))
            .send()
            .await
            .expect("a GET");
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
        answer.json().await.expect("a JSON answer")
    }
}
