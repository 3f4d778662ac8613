//! Test support: a real Stepwise server on a TCP port (the router of `stepwise-server` over a
//! fresh SQLite store, a manual clock), a patient with a pairing code made through its API,
//! and a count of the uploads it received.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde_json::{Value, json};
use stepwise_server::clock::ManualClock;
use stepwise_server::{AppState, Config, app};
use stepwise_store::NewUser;
use stepwise_testkit::{Backend, TestDb, fresh_store, unique_name};
use stepwise_wearables::records::{Activity, MinuteRecord};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const PASSWORD: &str = "walk-a-little-further";

/// The server's "now".
pub fn server_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap()
}

/// A Stepwise server whose listener can be stopped and started again on the same port.
pub struct Server {
    pub db: TestDb,
    pub state: AppState,
    pub addr: SocketAddr,
    /// POST /api/v1/samples requests received.
    pub uploads: Arc<AtomicU64>,
    running: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
}

async fn count_uploads(
    axum::extract::State(count): axum::extract::State<Arc<AtomicU64>>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().path() == "/api/v1/samples" {
        count.fetch_add(1, Ordering::SeqCst);
    }
    next.run(request).await
}

impl Server {
    /// A fresh server, listening.
    pub async fn start() -> Server {
        let db = fresh_store(Backend::Sqlite).await;
        let clock = Arc::new(ManualClock::new(server_now()));
        let state = AppState::new(db.store.clone(), clock, Config::default());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut server = Server {
            db,
            state,
            addr,
            uploads: Arc::new(AtomicU64::new(0)),
            running: None,
        };
        server.serve(listener);
        server
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn serve(&mut self, listener: TcpListener) {
        let router = app(self.state.clone()).layer(middleware::from_fn_with_state(
            self.uploads.clone(),
            count_uploads,
        ));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        self.running = Some((stop, task));
    }

    /// Stops listening (connections are refused) until [`Server::resume`].
    pub async fn pause(&mut self) {
        if let Some((stop, task)) = self.running.take() {
            let _ = stop.send(());
            task.await.unwrap();
        }
    }

    /// Listens again on the same address.
    pub async fn resume(&mut self) {
        let listener = TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }

    /// Creates a clinic, a therapist and a patient through the API; returns the patient's
    /// id and a fresh pairing code.
    pub async fn patient_with_code(&self) -> (i64, String) {
        let hash = stepwise_server::auth::hash_password(PASSWORD).unwrap();
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
                server_now(),
            )
            .await
            .unwrap();
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
        let patient_id = self.accept(&invite, &patient_email).await;
        let patient = self.login(&patient_email).await;
        let code = patient.post("/me/pairing-codes", json!({})).await;
        (patient_id, code["code"].as_str().unwrap().to_string())
    }

    async fn accept(&self, invite: &Value, email: &str) -> i64 {
        let answer: Value = reqwest::Client::new()
            .post(format!("{}/api/v1/invites/accept", self.url()))
            .json(&json!({"code": invite["code"], "email": email, "display_name": "Someone", "password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("accept: {answer}"))
    }

    async fn login(&self, email: &str) -> Session {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        let answer: Value = client
            .post(format!("{}/api/v1/auth/login", self.url()))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Session {
            client,
            base: self.url(),
            csrf: answer["csrf_token"]
                .as_str()
                .unwrap_or_else(|| panic!("login: {answer}"))
                .to_string(),
        }
    }

    /// Every minute sample the server holds for the patient.
    pub async fn samples(&self, patient_id: i64) -> Vec<stepwise_store::StepSample> {
        self.db
            .store
            .step_samples(
                patient_id,
                server_now() - TimeDelta::days(100),
                server_now() + TimeDelta::days(1),
            )
            .await
            .unwrap()
    }

    /// Every sleep episode the server holds for the patient.
    pub async fn episodes(&self, patient_id: i64) -> Vec<stepwise_store::SleepEpisode> {
        self.db
            .store
            .sleep_episodes(
                patient_id,
                server_now() - TimeDelta::days(100),
                server_now() + TimeDelta::days(1),
            )
            .await
            .unwrap()
    }

    pub fn upload_count(&self) -> u64 {
        self.uploads.load(Ordering::SeqCst)
    }
}

struct Session {
    client: reqwest::Client,
    base: String,
    csrf: String,
}

impl Session {
    async fn post(&self, path: &str, body: Value) -> Value {
        let answer = self
            .client
            .post(format!("{}/api/v1{path}", self.base))
            .header("x-csrf-token", &self.csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
        answer.json().await.unwrap()
    }
}

/// A fresh directory for an outbox, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        let dir = std::env::temp_dir().join(unique_name("stepwise_collector"));
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `count` consecutive minutes from `start`, walking with steps 60 + i % 40.
pub fn walking(start: DateTime<Utc>, count: i64) -> Vec<MinuteRecord> {
    (0..count)
        .map(|i| MinuteRecord {
            minute: start + TimeDelta::minutes(i),
            steps: 60 + u16::try_from(i % 40).unwrap(),
            heart_rate: if i % 3 == 0 { Some(100) } else { None },
            activity: Activity::Walking,
        })
        .collect()
}

/// `count` consecutive minutes from `start` of one activity, no steps.
pub fn minutes_of(start: DateTime<Utc>, count: i64, activity: Activity) -> Vec<MinuteRecord> {
    (0..count)
        .map(|i| MinuteRecord {
            minute: start + TimeDelta::minutes(i),
            steps: 0,
            heart_rate: None,
            activity,
        })
        .collect()
}
