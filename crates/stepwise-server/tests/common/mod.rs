//! In-process harness for the API suites: the real router over a real store (SQLite or
//! PostgreSQL), a manual clock, and a small world of clinics, staff and patients created
//! through the API itself.

#![allow(dead_code)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use stepwise_server::clock::{Clock, ManualClock};
use stepwise_server::{AppState, Config, app};
use stepwise_store::NewUser;
use stepwise_testkit::{Backend, TestDb, fresh_store};
use tower::ServiceExt;

/// How a request authenticates.
#[derive(Clone, Debug)]
pub enum Auth {
    /// No credentials.
    None,
    /// A logged-in user: session cookie plus CSRF token on writes.
    User(Login),
    /// The session cookie without the CSRF header.
    CookieOnly(Login),
    /// A collector's bearer token.
    Device(String),
}

/// A logged-in user.
#[derive(Clone, Debug)]
pub struct Login {
    pub id: i64,
    pub cookie: String,
    pub csrf: String,
}

/// An answer: status, headers and JSON body (Null when empty or not JSON), and the body as
/// text (CSV, SVG).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    /// Panics with the body unless the status is `want`.
    #[track_caller]
    pub fn expect(self, want: StatusCode) -> Value {
        assert_eq!(self.status, want, "body: {}", self.body);
        self.body
    }
}

pub struct TestApp {
    pub db: TestDb,
    pub clock: Arc<ManualClock>,
    pub state: AppState,
    pub router: Router,
}

pub fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

impl TestApp {
    pub async fn new(backend: Backend, now: DateTime<Utc>) -> TestApp {
        TestApp::with_config(backend, now, Config::default()).await
    }

    /// As [`TestApp::new`], with server settings of the test's choosing.
    pub async fn with_config(backend: Backend, now: DateTime<Utc>, config: Config) -> TestApp {
        let db = fresh_store(backend).await;
        let clock = Arc::new(ManualClock::new(now));
        let state = AppState::new(db.store.clone(), clock.clone(), config);
        let router = app(state.clone());
        TestApp {
            db,
            clock,
            state,
            router,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Sends a request with a JSON body (or none).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        auth: &Auth,
        body: Option<Value>,
    ) -> Answer {
        let bytes = body.map(|b| serde_json::to_vec(&b).unwrap());
        self.raw(method, path, auth, bytes, "application/json")
            .await
    }

    /// Sends raw bytes with a content type.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        auth: &Auth,
        body: Option<Vec<u8>>,
        content_type: &str,
    ) -> Answer {
        self.raw_from(None, method, path, auth, body, content_type)
            .await
    }

    /// POSTs JSON as a client at `ip` (the address the server sees, as `serve` gives it).
    pub async fn post_from(&self, ip: [u8; 4], path: &str, auth: &Auth, body: Value) -> Answer {
        let bytes = serde_json::to_vec(&body).unwrap();
        self.raw_from(
            Some(std::net::SocketAddr::from((ip, 40000))),
            Method::POST,
            path,
            auth,
            Some(bytes),
            "application/json",
        )
        .await
    }

    async fn raw_from(
        &self,
        client: Option<std::net::SocketAddr>,
        method: Method,
        path: &str,
        auth: &Auth,
        body: Option<Vec<u8>>,
        content_type: &str,
    ) -> Answer {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(addr) = client {
            req = req.extension(axum::extract::ConnectInfo(addr));
        }
        match auth {
            Auth::None => {}
            Auth::User(login) => {
                req = req
                    .header(header::COOKIE, &login.cookie)
                    .header("x-csrf-token", &login.csrf);
            }
            Auth::CookieOnly(login) => req = req.header(header::COOKIE, &login.cookie),
            Auth::Device(token) => {
                req = req.header(header::AUTHORIZATION, format!("Bearer {token}"))
            }
        }
        let req = match body {
            Some(bytes) => req
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(bytes)),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&self, path: &str, auth: &Auth) -> Answer {
        self.call(Method::GET, path, auth, None).await
    }

    pub async fn post(&self, path: &str, auth: &Auth, body: Value) -> Answer {
        self.call(Method::POST, path, auth, Some(body)).await
    }

    pub async fn delete(&self, path: &str, auth: &Auth) -> Answer {
        self.call(Method::DELETE, path, auth, None).await
    }

    pub async fn put(&self, path: &str, auth: &Auth, body: Value) -> Answer {
        self.call(Method::PUT, path, auth, Some(body)).await
    }

    /// Logs in through the API.
    pub async fn login(&self, email: &str, password: &str) -> Auth {
        let answer = self
            .post(
                "/api/v1/auth/login",
                &Auth::None,
                json!({"email": email, "password": password}),
            )
            .await;
        let cookie = answer
            .headers
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap().to_string());
        let body = answer.expect(StatusCode::OK);
        Auth::User(Login {
            id: body["user"]["id"].as_i64().unwrap(),
            cookie: cookie.expect("login sets a cookie"),
            csrf: body["csrf_token"].as_str().unwrap().to_string(),
        })
    }

    /// Creates a clinic and its admin the way `stepwise admin create-clinic` does, and logs in.
    pub async fn clinic(&self, name: &str, admin_email: &str) -> Auth {
        let hash = stepwise_server::auth::hash_password(PASSWORD).unwrap();
        self.db
            .store
            .create_clinic(
                name,
                NewUser {
                    email: admin_email.to_string(),
                    display_name: format!("{name} admin"),
                    password_hash: hash,
                },
                self.now(),
            )
            .await
            .unwrap();
        self.login(admin_email, PASSWORD).await
    }

    /// Invites and signs up a therapist through the API, and logs them in.
    pub async fn therapist(&self, admin: &Auth, email: &str) -> Auth {
        let invite = self
            .post("/api/v1/invites", admin, json!({"role": "therapist"}))
            .await
            .expect(StatusCode::CREATED);
        self.accept(&invite, email).await
    }

    /// Invites and signs up a patient of `therapist` in `timezone`, and logs them in.
    pub async fn patient(
        &self,
        inviter: &Auth,
        therapist_id: i64,
        timezone: &str,
        email: &str,
    ) -> Auth {
        let invite = self
            .post(
                "/api/v1/invites",
                inviter,
                json!({"role": "patient", "therapist_id": therapist_id, "timezone": timezone}),
            )
            .await
            .expect(StatusCode::CREATED);
        self.accept(&invite, email).await
    }

    async fn accept(&self, invite: &Value, email: &str) -> Auth {
        self.post(
            "/api/v1/invites/accept",
            &Auth::None,
            json!({"code": invite["code"], "email": email, "display_name": email.split('@').next().unwrap(), "password": PASSWORD}),
        )
        .await
        .expect(StatusCode::CREATED);
        self.login(email, PASSWORD).await
    }

    /// Pairs a band for a patient through the API; returns the device token.
    pub async fn pair_band(&self, patient: &Auth) -> Auth {
        let code = self
            .post("/api/v1/me/pairing-codes", patient, json!({}))
            .await
            .expect(StatusCode::CREATED);
        let paired = self
            .post(
                "/api/v1/devices/pair",
                &Auth::None,
                json!({"code": code["code"], "device": {"kind": "mi-band-3", "address": "C8:0F:10:00:00:01", "name": "Mi Band 3"}}),
            )
            .await
            .expect(StatusCode::CREATED);
        Auth::Device(paired["token"].as_str().unwrap().to_string())
    }

    /// Logs a walk at `start` lasting `minutes`, with pain before and during; moves the clock
    /// to just after the walk. Returns the session id.
    pub async fn walk(
        &self,
        patient: &Auth,
        start: DateTime<Utc>,
        minutes: i64,
        pain_before: i64,
        pain_during: i64,
    ) -> i64 {
        let end = start + TimeDelta::minutes(minutes);
        self.clock.set(end + TimeDelta::minutes(1));
        let body = self
            .post(
                "/api/v1/me/sessions",
                patient,
                json!({
                    "client_id": format!("walk-{}", start.timestamp()),
                    "started_at": start, "ended_at": end, "walked_s": minutes * 60,
                    "bouts": 2, "pain_before": pain_before, "pain_during_max": pain_during,
                    "effort": 4, "rest_type": "sit"
                }),
            )
            .await
            .expect(StatusCode::CREATED);
        body["id"].as_i64().unwrap()
    }

    /// Answers the two-hour check of a walk two hours after it ended.
    pub async fn answer(&self, patient: &Auth, session_id: i64, ended: DateTime<Utc>, pain: i64) {
        self.clock.set(ended + TimeDelta::hours(2));
        self.post(
            &format!("/api/v1/me/sessions/{session_id}/two-hour-check"),
            patient,
            json!({"pain_after_2h": pain}),
        )
        .await
        .expect(StatusCode::OK);
    }
}

/// Every test user's password.
pub const PASSWORD: &str = "walk-a-little-further";

/// The id behind an Auth.
pub fn id(auth: &Auth) -> i64 {
    match auth {
        Auth::User(l) | Auth::CookieOnly(l) => l.id,
        _ => panic!("not a user"),
    }
}
