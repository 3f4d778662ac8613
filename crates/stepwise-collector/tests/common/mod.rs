//! Test support: a real Stepwise server on a TCP port (`stepwise_testkit::server`, a manual
//! clock) that counts the uploads it receives, a patient with a pairing code made through its
//! API, and minute records to upload.

#![allow(dead_code)]

use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use stepwise_testkit::server::TestServer;
use stepwise_testkit::unique_name;
use stepwise_wearables::records::{Activity, MinuteRecord};

/// The server's "now".
pub fn server_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap()
}

/// A [`TestServer`] (its router only) that counts the uploads it receives; it derefs to the
/// [`TestServer`] (`url`, `stop`, `restart`, `samples`, `episodes`...).
pub struct Server {
    server: TestServer,
    /// POST /api/v1/samples requests received.
    uploads: Arc<AtomicU64>,
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
    /// A fresh server whose clock shows [`server_now`], listening.
    pub async fn start() -> Server {
        let uploads = Arc::new(AtomicU64::new(0));
        let counter = uploads.clone();
        let server = TestServer::start_wrapped(server_now(), move |router| {
            router.layer(middleware::from_fn_with_state(
                counter.clone(),
                count_uploads,
            ))
        })
        .await;
        Server { server, uploads }
    }

    /// Creates a clinic, a therapist and a patient through the API; returns the patient's
    /// id and a fresh pairing code.
    pub async fn patient_with_code(&self) -> (i64, String) {
        let patient = self.server.patient().await;
        (patient.id, patient.pairing_code().await)
    }

    /// POST /api/v1/samples requests received so far.
    pub fn upload_count(&self) -> u64 {
        self.uploads.load(Ordering::SeqCst)
    }
}

impl Deref for Server {
    type Target = TestServer;

    fn deref(&self) -> &TestServer {
        &self.server
    }
}

impl DerefMut for Server {
    fn deref_mut(&mut self) -> &mut TestServer {
        &mut self.server
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
