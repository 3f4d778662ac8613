//! Reminders delivered by Web Push to a real push service (npm `web-push-testing`, which
//! checks the VAPID signature and decrypts every message), on SQLite and PostgreSQL. The
//! clock is the test's: the scheduler is driven pass by pass, nothing sleeps.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use common::{Auth, TestApp, id};
use serde_json::{Value, json};
use stepwise_server::Config;
use stepwise_server::push::PushConfig;
use stepwise_server::reminders::{DeliverySummary, ReminderConfig, Scheduler, plan_all};
use stepwise_store::{ReminderKind, ReminderState};
use stepwise_testkit::push::{FaultyEndpoint, PushService, TestSubscription};
use stepwise_testkit::{Backend, backend_tests};

/// Settings that let the server post to the local push service.
fn config(send_timeout: Duration) -> Config {
    Config {
        push: PushConfig {
            allowed_hosts: vec!["localhost".into(), "127.0.0.1".into()],
            send_timeout,
            ..PushConfig::default()
        },
        ..Config::default()
    }
}

fn local(tz: Tz, date: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    tz.from_local_datetime(&date.and_time(NaiveTime::from_hms_opt(h, m, 0).unwrap()))
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

/// A clinic, a therapist and one patient in `zone`, with the app served, and a push service
/// with one browser subscribed there under the server's key (not yet registered with the
/// server).
struct World {
    app: TestApp,
    therapist: Auth,
    patient: Auth,
    scheduler: Scheduler,
    service: PushService,
    sub: TestSubscription,
}

impl World {
    async fn new(backend: Backend, now: DateTime<Utc>, zone: &str, timeout: Duration) -> World {
        let app = TestApp::with_config(backend, now, config(timeout)).await;
        let admin = app.clinic("Riverside", "admin@riverside.test").await;
        let therapist = app.therapist(&admin, "tess@riverside.test").await;
        let patient = app
            .patient(&therapist, id(&therapist), zone, "pat@riverside.test")
            .await;
        let pusher = app.state.pusher().await.unwrap();
        let scheduler = Scheduler::new(
            app.db.store.clone(),
            pusher,
            ReminderConfig::default(),
            "test-instance".into(),
        );
        let service = PushService::start().await;
        let key = app.state.pusher().await.unwrap().public_key().to_string();
        let sub = service.subscribe(&key).await;
        World {
            app,
            therapist,
            patient,
            scheduler,
            service,
            sub,
        }
    }

    /// A patient in Berlin on Wednesday 10 June 2026, 08:00 local.
    async fn berlin(backend: Backend, timeout: Duration) -> World {
        let at = local(berlin(), june_10(), 8, 0);
        World::new(backend, at, "Europe/Berlin", timeout).await
    }

    /// Subscribes `who` through the API with a subscription of the push service (or another
    /// endpoint with its keys).
    async fn subscribe(&self, who: &Auth, sub: &TestSubscription) -> Value {
        self.app
            .post(
                "/api/v1/push/subscriptions",
                who,
                json!({
                    "endpoint": sub.endpoint,
                    "expirationTime": null,
                    "keys": {"p256dh": sub.p256dh, "auth": sub.auth},
                    "label": "Test phone"
                }),
            )
            .await
            .expect(StatusCode::CREATED)
    }

    async fn public_key(&self) -> String {
        let key = self
            .app
            .get("/api/v1/push/key", &Auth::None)
            .await
            .expect(StatusCode::OK);
        key["public_key"].as_str().unwrap().to_string()
    }

    /// The patient logs a walk from 09:30 to 10:00 local on 10 June; returns its id.
    async fn walk(&self) -> i64 {
        let start = local(berlin(), june_10(), 9, 30);
        self.app.walk(&self.patient, start, 30, 3, 4).await
    }

    /// One scheduler pass at the clock's time.
    async fn deliver(&self) -> DeliverySummary {
        self.scheduler.deliver_due(self.app.now()).await.unwrap()
    }

    /// The therapist's view of the patient's reminders.
    async fn reminders(&self) -> Vec<Value> {
        let path = format!("/api/v1/patients/{}/reminders", id(&self.patient));
        let list = self
            .app
            .get(&path, &self.therapist)
            .await
            .expect(StatusCode::OK);
        list.as_array().unwrap().clone()
    }
}

fn berlin() -> Tz {
    "Europe/Berlin".parse().unwrap()
}

fn june_10() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 10).unwrap()
}

/// The acceptance case: a walk logged at 10:00 local is asked about at 12:00 local, the
/// decrypted notification names the walk, and after the answer nothing more arrives.
async fn walk_at_ten_is_pushed_at_noon_and_not_after_the_answer(backend: Backend) {
    let (day, tz) = (june_10(), berlin());
    let w = World::berlin(backend, Duration::from_secs(5)).await;
    let (service, sub) = (&w.service, &w.sub);
    w.subscribe(&w.patient, sub).await;

    let walk = w.walk().await;
    w.app.clock.set(local(tz, day, 11, 59));
    assert_eq!(w.deliver().await.claimed, 0);
    assert!(service.notifications(&sub.client_hash).await.is_empty());

    w.app.clock.set(local(tz, day, 12, 0));
    let pass = w.deliver().await;
    assert_eq!((pass.claimed, pass.sent), (1, 1), "{pass:?}");
    let got = service.notifications(&sub.client_hash).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["kind"], "two_hour_check");
    assert_eq!(got[0]["session_id"], walk);
    assert_eq!(got[0]["url"], format!("/app/checks/{walk}"));
    assert_eq!(got[0]["title"], "How is your pain now?");
    assert!(
        got[0]["body"]
            .as_str()
            .unwrap()
            .contains("your walk at 09:30 (30 minutes walked)"),
        "{}",
        got[0]["body"]
    );

    w.app.clock.set(local(tz, day, 12, 10));
    w.app
        .post(
            &format!("/api/v1/me/sessions/{walk}/two-hour-check"),
            &w.patient,
            json!({"pain_after_2h": 3}),
        )
        .await
        .expect(StatusCode::OK);
    for (h, m) in [(13, 0), (14, 0), (18, 0)] {
        w.app.clock.set(local(tz, day, h, m));
        assert_eq!(w.deliver().await.claimed, 0);
    }
    assert_eq!(service.notifications(&sub.client_hash).await.len(), 1);

    let reminders = w.reminders().await;
    let state_of = |kind: &str| {
        reminders
            .iter()
            .find(|r| r["kind"] == kind)
            .map(|r| (r["state"].clone(), r["answered"].clone()))
            .unwrap()
    };
    assert_eq!(state_of("two_hour_check"), (json!("sent"), json!(true)));
    assert_eq!(
        state_of("two_hour_follow_up"),
        (json!("cancelled"), json!(true))
    );
    // The delivery log has the attempt, with the push service's status.
    let store = &w.app.db.store;
    let first = reminders
        .iter()
        .find(|r| r["kind"] == "two_hour_check")
        .unwrap();
    let log = store
        .deliveries(first["id"].as_i64().unwrap())
        .await
        .unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].status, Some(201));
    assert_eq!(log[0].endpoint_host, "localhost");
}

/// Unanswered: the check at 12:00, one follow-up at 13:00, then nothing; the window closes.
async fn unanswered_check_gets_one_follow_up(backend: Backend) {
    let (day, tz) = (june_10(), berlin());
    let w = World::berlin(backend, Duration::from_secs(5)).await;
    let (service, sub) = (&w.service, &w.sub);
    w.subscribe(&w.patient, sub).await;
    let walk = w.walk().await;
    // The same walk uploaded again (a retry) schedules nothing twice.
    let again = w
        .app
        .post(
            "/api/v1/me/sessions",
            &w.patient,
            json!({
                "client_id": format!("walk-{}", local(tz, day, 9, 30).timestamp()),
                "started_at": local(tz, day, 9, 30), "ended_at": local(tz, day, 10, 0),
                "walked_s": 1800, "bouts": 2, "pain_before": 3, "pain_during_max": 4,
                "effort": 4, "rest_type": "sit"
            }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(again["id"], walk);
    for (h, m, want) in [(12, 0, 1), (12, 30, 1), (13, 0, 2), (14, 0, 2), (23, 0, 2)] {
        w.app.clock.set(local(tz, day, h, m));
        w.deliver().await;
        let got = service.notifications(&sub.client_hash).await;
        assert_eq!(got.len(), want, "at {h}:{m:02}: {got:?}");
    }
    let got = service.notifications(&sub.client_hash).await;
    assert_eq!(got[1]["kind"], "two_hour_follow_up");
    assert_eq!(got[1]["session_id"], walk);
    let reminders = w.reminders().await;
    assert_eq!(reminders.len(), 2);
    assert!(
        reminders
            .iter()
            .all(|r| r["state"] == "sent" && r["answered"] == false)
    );
}

/// A push service that says the subscription is gone (410): the subscription is deleted and
/// the reminder has nowhere left to go.
async fn expired_subscription_is_deleted(backend: Backend) {
    let (day, tz) = (june_10(), berlin());
    let w = World::berlin(backend, Duration::from_secs(5)).await;
    let (service, sub) = (&w.service, &w.sub);
    w.subscribe(&w.patient, sub).await;
    service.expire(&sub.client_hash).await;
    w.walk().await;
    w.app.clock.set(local(tz, day, 12, 0));
    let pass = w.deliver().await;
    assert_eq!(
        (pass.claimed, pass.sent, pass.closed),
        (1, 0, 1),
        "{pass:?}"
    );
    let mine = w
        .app
        .get("/api/v1/push/subscriptions", &w.patient)
        .await
        .expect(StatusCode::OK);
    assert_eq!(mine, json!([]));
    let reminders = w.reminders().await;
    let check = reminders
        .iter()
        .find(|r| r["kind"] == "two_hour_check")
        .unwrap();
    assert_eq!(check["state"], "undeliverable");
    assert!(
        check["last_error"].as_str().unwrap().contains("410"),
        "{check}"
    );
    // The follow-up finds no browser at all.
    w.app.clock.set(local(tz, day, 13, 0));
    w.deliver().await;
    let follow_up = w
        .app
        .db
        .store
        .reminder(check["id"].as_i64().unwrap() + 1)
        .await
        .unwrap();
    assert_eq!(follow_up.kind, ReminderKind::TwoHourFollowUp);
    assert_eq!(follow_up.state, ReminderState::Undeliverable);
    assert_eq!(
        follow_up.last_error.as_deref(),
        Some("no browser of the recipient has reminders turned on")
    );
}

/// 500, 500, then 201: retried with exponential backoff and delivered exactly once.
async fn server_errors_are_retried_and_delivered_once(backend: Backend) {
    let (day, tz) = (june_10(), berlin());
    let w = World::berlin(backend, Duration::from_secs(5)).await;
    let (service, sub) = (&w.service, &w.sub);
    let faulty = FaultyEndpoint::fail_then_forward(2, 500, None, &sub.endpoint);
    w.subscribe(&w.patient, &sub.with_endpoint(faulty.endpoint()))
        .await;
    w.walk().await;

    let due = local(tz, day, 12, 0);
    w.app.clock.set(due);
    assert_eq!(w.deliver().await.retrying, 1);
    let check = w.app.db.store.reminder(1).await.unwrap();
    assert_eq!(check.state, ReminderState::Pending);
    assert_eq!(check.next_attempt_at, due + TimeDelta::seconds(30));
    assert!(check.last_error.unwrap().contains("answered 500"));

    // Not before the backoff has passed.
    w.app.clock.set(due + TimeDelta::seconds(29));
    assert_eq!(w.deliver().await.claimed, 0);
    w.app.clock.set(due + TimeDelta::seconds(30));
    assert_eq!(w.deliver().await.retrying, 1);
    let check = w.app.db.store.reminder(1).await.unwrap();
    assert_eq!(check.next_attempt_at, due + TimeDelta::seconds(90));

    w.app.clock.set(due + TimeDelta::seconds(90));
    assert_eq!(w.deliver().await.sent, 1);
    assert_eq!(faulty.requests(), 3);
    assert_eq!(service.notifications(&sub.client_hash).await.len(), 1);
    let statuses: Vec<_> = w
        .app
        .db
        .store
        .deliveries(1)
        .await
        .unwrap()
        .iter()
        .map(|d| d.status)
        .collect();
    assert_eq!(statuses, vec![Some(500), Some(500), Some(201)]);
    let check = w.app.db.store.reminder(1).await.unwrap();
    assert_eq!((check.state, check.attempts), (ReminderState::Sent, 3));
}

/// 429 with `Retry-After: 600`: the next attempt waits the ten minutes asked for.
async fn retry_after_is_honoured(backend: Backend) {
    let (day, tz) = (june_10(), berlin());
    let w = World::berlin(backend, Duration::from_secs(5)).await;
    let (service, sub) = (&w.service, &w.sub);
    let faulty = FaultyEndpoint::fail_then_forward(1, 429, Some("600"), &sub.endpoint);
    w.subscribe(&w.patient, &sub.with_endpoint(faulty.endpoint()))
        .await;
    w.walk().await;
    let due = local(tz, day, 12, 0);
    w.app.clock.set(due);
    w.deliver().await;
    let check = w.app.db.store.reminder(1).await.unwrap();
    assert_eq!(check.next_attempt_at, due + TimeDelta::seconds(600));
    w.app.clock.set(due + TimeDelta::seconds(599));
    assert_eq!(w.deliver().await.claimed, 0);
    w.app.clock.set(due + TimeDelta::seconds(600));
    assert_eq!(w.deliver().await.sent, 1);
    assert_eq!(service.notifications(&sub.client_hash).await.len(), 1);
}

/// A push service that never answers: each attempt times out, is logged and retried, and
/// after the last attempt the reminder fails with the reason.
async fn silent_push_service_times_out_and_is_retried(backend: Backend) {
    let (day, tz) = (june_10(), berlin());
    let w = World::berlin(backend, Duration::from_millis(300)).await;
    let sub = &w.sub;
    let silent = FaultyEndpoint::never_answer();
    w.subscribe(&w.patient, &sub.with_endpoint(silent.endpoint()))
        .await;
    w.walk().await;
    let mut at = local(tz, day, 12, 0);
    for attempt in 1..=5 {
        w.app.clock.set(at);
        let pass = w.deliver().await;
        assert_eq!(pass.claimed, 1, "attempt {attempt}: {pass:?}");
        assert_eq!(silent.requests(), attempt);
        let check = w.app.db.store.reminder(1).await.unwrap();
        assert!(
            check
                .last_error
                .as_deref()
                .unwrap()
                .contains("did not answer within 300 ms"),
            "{check:?}"
        );
        if attempt < 5 {
            assert_eq!(check.state, ReminderState::Pending);
            at = check.next_attempt_at;
        } else {
            assert_eq!(check.state, ReminderState::Failed);
            assert!(
                check
                    .last_error
                    .unwrap()
                    .starts_with("gave up after 5 attempts")
            );
        }
    }
    // Backoff doubled: 30 s, 60 s, 120 s, 240 s after the due instant.
    assert_eq!(
        at,
        local(tz, day, 12, 0) + TimeDelta::seconds(30 + 60 + 120 + 240)
    );
    let log = w.app.db.store.deliveries(1).await.unwrap();
    assert_eq!(log.len(), 5);
    assert!(
        log.iter()
            .all(|d| d.status.is_none() && d.duration_ms >= 300)
    );
}

/// A 07:30 session reminder fires at 07:30 local on the day before, the day of and the day
/// after each DST change, in Berlin and in New York.
async fn session_reminders_at_0730_local_across_dst(backend: Backend) {
    for (zone, change) in [
        (
            "Europe/Berlin",
            NaiveDate::from_ymd_opt(2026, 3, 29).unwrap(),
        ),
        (
            "Europe/Berlin",
            NaiveDate::from_ymd_opt(2026, 10, 25).unwrap(),
        ),
        (
            "America/New_York",
            NaiveDate::from_ymd_opt(2026, 3, 8).unwrap(),
        ),
        (
            "America/New_York",
            NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
        ),
    ] {
        let tz: Tz = zone.parse().unwrap();
        let first = change - Days::new(1);
        let w = World::new(
            backend,
            local(tz, first - Days::new(1), 12, 0),
            zone,
            Duration::from_secs(5),
        )
        .await;
        let (service, sub) = (&w.service, &w.sub);
        w.subscribe(&w.patient, sub).await;
        w.app
            .put(
                "/api/v1/me/reminder-settings",
                &w.patient,
                json!({
                    "session_reminders": true,
                    "session_times": ["07:30"],
                    "session_days": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
                    "quiet_hours": {"start": "22:00", "end": "07:00"}
                }),
            )
            .await
            .expect(StatusCode::OK);
        let mut expected = 0;
        for date in [first, change, change + Days::new(1)] {
            // The scheduler plans every minute; here once before each morning.
            w.app.clock.set(local(tz, date, 0, 0) - TimeDelta::hours(1));
            plan_all(w.app.db.store.as_ref(), w.app.now())
                .await
                .unwrap();
            w.app.clock.set(local(tz, date, 7, 29));
            w.deliver().await;
            assert_eq!(
                service.notifications(&sub.client_hash).await.len(),
                expected,
                "{zone} {date} 07:29"
            );
            w.app.clock.set(local(tz, date, 7, 30));
            assert_eq!(w.deliver().await.sent, 1, "{zone} {date} 07:30");
            expected += 1;
            let got = service.notifications(&sub.client_hash).await;
            assert_eq!(got.len(), expected, "{zone} {date}");
            assert_eq!(got[expected - 1]["kind"], "session");
        }
        let mine = w
            .app
            .get("/api/v1/me/reminders", &w.patient)
            .await
            .expect(StatusCode::OK);
        for r in mine
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["state"] == "sent")
        {
            let due: DateTime<Utc> = serde_json::from_value(r["due_at"].clone()).unwrap();
            assert_eq!(
                due.with_timezone(&tz).format("%H:%M").to_string(),
                "07:30",
                "{zone}"
            );
        }
    }
}

/// Subscriptions: validated, idempotent per browser, listed and deleted by their owner only;
/// the key is public.
async fn subscriptions_are_checked_and_owned(backend: Backend) {
    let w = World::berlin(backend, Duration::from_secs(5)).await;
    let key = w.public_key().await;
    assert_eq!(key.len(), 87, "65 bytes in base64url");
    let sub = &w.sub;
    let body = |endpoint: &str, p256dh: &str, auth: &str| json!({"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}});
    for (bad, field) in [
        (
            body("https://evil.example/push", &sub.p256dh, &sub.auth),
            "endpoint",
        ),
        (
            body("http://fcm.googleapis.com/x", &sub.p256dh, &sub.auth),
            "endpoint",
        ),
        (body(&sub.endpoint, "AAAA", &sub.auth), "keys.p256dh"),
        (body(&sub.endpoint, &sub.p256dh, "AAAA"), "keys.auth"),
    ] {
        let answer = w
            .app
            .post("/api/v1/push/subscriptions", &w.patient, bad)
            .await
            .expect(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(answer["field"], field, "{answer}");
    }
    let unknown = json!({"endpoint": sub.endpoint, "keys": {"p256dh": sub.p256dh, "auth": sub.auth}, "colour": "red"});
    let answer = w
        .app
        .post("/api/v1/push/subscriptions", &w.patient, unknown)
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["field"], "colour");
    let created = w.subscribe(&w.patient, sub).await;
    assert_eq!(created["label"], "Test phone");
    let again = w
        .app
        .post(
            "/api/v1/push/subscriptions",
            &w.patient,
            body(&sub.endpoint, &sub.p256dh, &sub.auth),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(again["id"], created["id"]);
    let path = format!("/api/v1/push/subscriptions/{}", created["id"]);
    w.app
        .delete(&path, &w.therapist)
        .await
        .expect(StatusCode::NOT_FOUND);
    if let Auth::User(login) = &w.patient {
        w.app
            .delete(&path, &Auth::CookieOnly(login.clone()))
            .await
            .expect(StatusCode::FORBIDDEN);
    }
    w.app
        .get("/api/v1/push/subscriptions", &Auth::None)
        .await
        .expect(StatusCode::UNAUTHORIZED);
    w.app
        .delete(&path, &w.patient)
        .await
        .expect(StatusCode::NO_CONTENT);
    let mine = w
        .app
        .get("/api/v1/push/subscriptions", &w.patient)
        .await
        .expect(StatusCode::OK);
    assert_eq!(mine, json!([]));

    // At most ten browsers per user; a browser already subscribed may always come again.
    let nth = |n: usize| body(&format!("{}-{n}", sub.endpoint), &sub.p256dh, &sub.auth);
    for n in 0..10 {
        w.app
            .post("/api/v1/push/subscriptions", &w.patient, nth(n))
            .await
            .expect(StatusCode::CREATED);
    }
    let full = w
        .app
        .post("/api/v1/push/subscriptions", &w.patient, nth(10))
        .await
        .expect(StatusCode::CONFLICT);
    assert!(
        full["error"].as_str().unwrap().contains("10 browsers"),
        "{full}"
    );
    w.app
        .post("/api/v1/push/subscriptions", &w.patient, nth(3))
        .await
        .expect(StatusCode::OK);
}

/// A flare reaches the therapist's browser; settings are validated.
async fn flare_escalates_to_the_therapist(backend: Backend) {
    let (day, tz) = (june_10(), berlin());
    let w = World::berlin(backend, Duration::from_secs(5)).await;
    let (service, sub) = (&w.service, &w.sub);
    w.subscribe(&w.therapist, sub).await;
    w.app
        .post(
            "/api/v1/me/flares",
            &w.patient,
            json!({"client_id": "flare-1", "started_at": local(tz, day, 7, 15), "pain": 8}),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(w.deliver().await.sent, 1);
    let got = service.notifications(&sub.client_hash).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["kind"], "escalation");
    assert_eq!(got[0]["title"], "pat reported a flare");
    assert_eq!(
        got[0]["body"],
        "Pain 8/10 since Wed 10 Jun 07:15 (patient's time)."
    );
    // The patient's own list leaves out messages to the therapist.
    let mine = w
        .app
        .get("/api/v1/me/reminders", &w.patient)
        .await
        .expect(StatusCode::OK);
    assert_eq!(mine, json!([]));

    let path = format!("/api/v1/patients/{}/reminder-settings", id(&w.patient));
    let bad = w
        .app
        .put(
            &path,
            &w.therapist,
            json!({"medication_lead_min": 5, "two_hour_window_min": 240}),
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad["field"], "medication_lead_min");
    w.app
        .put(
            &path,
            &w.patient,
            json!({"medication_lead_min": 45, "two_hour_window_min": 240}),
        )
        .await
        .expect(StatusCode::FORBIDDEN);
    let saved = w
        .app
        .put(
            &path,
            &w.therapist,
            json!({"medication_lead_min": 45, "two_hour_window_min": 300}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(saved["medication_lead_min"], 45);
    let bad = w
        .app
        .put(
            "/api/v1/me/reminder-settings",
            &w.patient,
            json!({"session_reminders": true, "session_times": ["7:30pm"], "session_days": [], "quiet_hours": null}),
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad["field"], "session_times[0]", "{bad}");
}

backend_tests!(
    walk_at_ten_is_pushed_at_noon_and_not_after_the_answer,
    unanswered_check_gets_one_follow_up,
    expired_subscription_is_deleted,
    server_errors_are_retried_and_delivered_once,
    retry_after_is_honoured,
    silent_push_service_times_out_and_is_retried,
    session_reminders_at_0730_local_across_dst,
    subscriptions_are_checked_and_owned,
    flare_escalates_to_the_therapist,
    a_red_flag_walk_escalates_at_once,
    a_red_flag_check_answer_escalates_at_once,
    a_red_flag_flare_escalates_at_once,
);

/// How a red flag is reported in the scenarios below.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RedFlag {
    Walk,
    CheckAnswer,
    Flare,
}

/// A red flag must not wait for Monday: the request that carries pain at the alert level (8)
/// opens exactly one escalation (the week reviewed now: escalate, plan frozen), sends one
/// alert to the therapist's browser through the real push service, and answers with safety
/// advice and the clinic's phone. Further red flags that week open nothing more, and the
/// weekly job on Monday reviews the week no second time.
async fn red_flag_escalates_at_once(backend: Backend, how: RedFlag) {
    let (day, tz) = (june_10(), berlin());
    let w = World::berlin(backend, Duration::from_secs(5)).await;
    w.subscribe(&w.therapist, &w.sub).await;
    let clinic = w
        .app
        .get("/api/v1/clinic", &w.therapist)
        .await
        .expect(StatusCode::OK);
    w.app
        .db
        .store
        .set_safety_contact(
            clinic["id"].as_i64().unwrap(),
            &stepwise_store::SafetyContact {
                phone: Some("+49 30 1234 5678".into()),
                text: None,
            },
        )
        .await
        .unwrap();
    let patient_id = id(&w.patient);
    let start = local(tz, day, 7, 0);
    let end = start + TimeDelta::minutes(20);
    let during = if how == RedFlag::Walk { 9 } else { 3 };
    w.app.clock.set(end + TimeDelta::minutes(1));
    let walk = w
        .app
        .post(
            "/api/v1/me/sessions",
            &w.patient,
            json!({"client_id": "walk-1", "started_at": start, "ended_at": end,
                   "walked_s": 1200, "bouts": 1, "pain_before": 2, "pain_during_max": during,
                   "effort": 4, "rest_type": "sit"}),
        )
        .await
        .expect(StatusCode::CREATED);
    let answer = match how {
        RedFlag::Walk => walk.clone(),
        RedFlag::CheckAnswer => {
            assert!(
                walk.get("safety").is_none(),
                "no advice without a red flag: {walk}"
            );
            w.app.clock.set(end + TimeDelta::minutes(110));
            w.app
                .post(
                    &format!("/api/v1/me/sessions/{}/two-hour-check", walk["id"]),
                    &w.patient,
                    json!({"pain_after_2h": 9}),
                )
                .await
                .expect(StatusCode::OK)
        }
        RedFlag::Flare => {
            w.app.clock.set(local(tz, day, 18, 0));
            w.app
                .post(
                    "/api/v1/me/flares",
                    &w.patient,
                    json!({"client_id": "flare-1", "started_at": local(tz, day, 17, 30), "pain": 9}),
                )
                .await
                .expect(StatusCode::CREATED)
        }
    };
    let safety = &answer["safety"];
    assert_eq!(safety["pain"], 9, "{answer}");
    assert_eq!(safety["alert_level"], 8);
    assert_eq!(safety["phone"], "+49 30 1234 5678");
    assert!(
        safety["urgent"]
            .as_str()
            .unwrap()
            .contains("emergency number")
    );
    assert!(
        safety["care_team"]
            .as_str()
            .unwrap()
            .contains("has been told")
    );

    // Exactly one escalation, opened in that request, for the week of 8 June; plan frozen.
    let reviews_path = format!("/api/v1/patients/{patient_id}/reviews");
    let reviews = w
        .app
        .get(&reviews_path, &w.therapist)
        .await
        .expect(StatusCode::OK);
    let reviews = reviews.as_array().unwrap();
    assert_eq!(reviews.len(), 1, "{reviews:?}");
    assert_eq!(reviews[0]["week_start"], "2026-06-08");
    assert_eq!(reviews[0]["output"]["decision"], "escalate");
    assert_eq!(reviews[0]["output"]["reasons"][0]["code"], "red_flag_pain");
    assert!(reviews[0]["acknowledged_at"].is_null());
    let today = w
        .app
        .get("/api/v1/me/today", &w.patient)
        .await
        .expect(StatusCode::OK);
    assert_eq!(today["frozen"], true);

    // One alert reaches the therapist's browser.
    assert_eq!(w.deliver().await.sent, 1);
    let got = w.service.notifications(&w.sub.client_hash).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["kind"], "escalation");
    let title = got[0]["title"].as_str().unwrap();
    match how {
        RedFlag::Flare => assert_eq!(title, "pat reported a flare"),
        _ => assert_eq!(title, "pat reported pain 9/10"),
    }

    // The same report again (a retry) and another red flag that week open nothing more.
    w.app
        .post(
            "/api/v1/me/flares",
            &w.patient,
            json!({"client_id": "flare-2", "started_at": w.app.now() - TimeDelta::minutes(5), "pain": 8}),
        )
        .await
        .expect(StatusCode::CREATED);
    let reviews = w
        .app
        .get(&reviews_path, &w.therapist)
        .await
        .expect(StatusCode::OK);
    assert_eq!(reviews.as_array().unwrap().len(), 1);

    // The therapist acknowledges; a red flag later that week opens the escalation again.
    let review_id = reviews[0]["id"].as_i64().unwrap();
    w.app
        .post(
            &format!("{reviews_path}/{review_id}/acknowledge"),
            &w.therapist,
            json!({"note": "Phoned the patient"}),
        )
        .await
        .expect(StatusCode::OK);
    let today = w
        .app
        .get("/api/v1/me/today", &w.patient)
        .await
        .expect(StatusCode::OK);
    assert_eq!(today["frozen"], false);
    let again = w
        .app
        .post(
            "/api/v1/me/flares",
            &w.patient,
            json!({"client_id": "flare-3", "started_at": w.app.now() - TimeDelta::minutes(1), "pain": 10}),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(again["safety"]["pain"], 10);
    let reviews = w
        .app
        .get(&reviews_path, &w.therapist)
        .await
        .expect(StatusCode::OK);
    assert_eq!(reviews.as_array().unwrap().len(), 1);
    assert!(reviews[0]["acknowledged_at"].is_null(), "{reviews}");
    let today = w
        .app
        .get("/api/v1/me/today", &w.patient)
        .await
        .expect(StatusCode::OK);
    assert_eq!(today["frozen"], true);

    // Monday: the weekly job finds the week reviewed.
    w.app.clock.set(local(tz, june_10() + Days::new(5), 0, 30));
    stepwise_server::weekly::run_due_reviews(w.app.db.store.as_ref(), w.app.now())
        .await
        .unwrap();
    let reviews = w
        .app
        .get(&reviews_path, &w.therapist)
        .await
        .expect(StatusCode::OK);
    let weeks: Vec<&Value> = reviews
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["week_start"])
        .collect();
    assert_eq!(
        weeks.iter().filter(|w| **w == "2026-06-08").count(),
        1,
        "{weeks:?}"
    );
}

async fn a_red_flag_walk_escalates_at_once(backend: Backend) {
    red_flag_escalates_at_once(backend, RedFlag::Walk).await;
}

async fn a_red_flag_check_answer_escalates_at_once(backend: Backend) {
    red_flag_escalates_at_once(backend, RedFlag::CheckAnswer).await;
}

async fn a_red_flag_flare_escalates_at_once(backend: Backend) {
    red_flag_escalates_at_once(backend, RedFlag::Flare).await;
}
