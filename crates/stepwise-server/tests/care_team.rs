//! The care team's work with a patient, through the API on SQLite and PostgreSQL: messages
//! both ways with Web Push to a real push service (npm `web-push-testing`, which checks the
//! VAPID signature and decrypts what arrives), unread counts, audited staff reads, notes, the
//! time log and its timer; and the remote-monitoring evidence of hand-computed months.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use common::{Auth, TestApp, date, id, utc};
use serde_json::{Value, json};
use stepwise_server::Config;
use stepwise_server::push::PushConfig;
use stepwise_server::reminders::{ReminderConfig, Scheduler};
use stepwise_testkit::push::PushService;
use stepwise_testkit::{Backend, backend_tests};

backend_tests!(
    messages_flow_both_ways_with_push_and_unread_counts,
    notes_and_the_time_log_with_its_timer,
    rtm_months_meet_the_thresholds_computed_by_hand,
);

/// A clinic with a therapist (Tess) and a patient (Pat, in New York), served with pushes
/// allowed to the local push service.
struct World {
    app: TestApp,
    admin: Auth,
    therapist: Auth,
    patient: Auth,
}

async fn world(backend: Backend, now: DateTime<Utc>) -> World {
    let config = Config {
        push: PushConfig {
            allowed_hosts: vec!["localhost".into(), "127.0.0.1".into()],
            send_timeout: Duration::from_secs(5),
            ..PushConfig::default()
        },
        ..Config::default()
    };
    let app = TestApp::with_config(backend, now, config).await;
    let admin = app.clinic("Riverside", "admin@riverside.test").await;
    let therapist = app.therapist(&admin, "tess@riverside.test").await;
    let patient = app
        .patient(
            &therapist,
            id(&therapist),
            "America/New_York",
            "pat@riverside.test",
        )
        .await;
    World {
        app,
        admin,
        therapist,
        patient,
    }
}

fn path(patient: &Auth, rest: &str) -> String {
    format!("/api/v1/patients/{}/{rest}", id(patient))
}

async fn subscribe(app: &TestApp, who: &Auth, service: &PushService) -> String {
    let key = app.state.pusher().await.unwrap().public_key().to_string();
    let sub = service.subscribe(&key).await;
    app.post(
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
    .expect(StatusCode::CREATED);
    sub.client_hash
}

async fn messages_flow_both_ways_with_push_and_unread_counts(backend: Backend) {
    let w = world(backend, utc(2026, 6, 10, 14, 0)).await;
    let other = w
        .app
        .patient(
            &w.therapist,
            id(&w.therapist),
            "Europe/London",
            "olu@riverside.test",
        )
        .await;
    let service = PushService::start().await;
    let to_therapist = subscribe(&w.app, &w.therapist, &service).await;
    let to_patient = subscribe(&w.app, &w.patient, &service).await;
    let scheduler = Scheduler::new(
        w.app.db.store.clone(),
        w.app.state.pusher().await.unwrap(),
        ReminderConfig::default(),
        "test-instance".into(),
    );

    // The patient writes; a retry is the same message and pushes nothing more.
    let body = json!({"client_id": "m-1", "body": "My knee was sore after yesterday's walk."});
    let first = w
        .app
        .post("/api/v1/me/messages", &w.patient, body.clone())
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(first["mine"], true);
    assert_eq!(first["author"]["role"], "patient");
    let again = w
        .app
        .post("/api/v1/me/messages", &w.patient, body)
        .await
        .expect(StatusCode::OK);
    assert_eq!(again["id"], first["id"]);
    let pass = scheduler.deliver_due(w.app.now()).await.unwrap();
    assert_eq!((pass.claimed, pass.sent), (1, 1), "{pass:?}");
    let got = service.notifications(&to_therapist).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["kind"], "message");
    assert_eq!(got[0]["title"], "New message from pat");
    assert_eq!(
        got[0]["url"],
        format!("/app/patient/{}#messages", id(&w.patient))
    );
    // The text is not in the notification: it may be read on a locked screen.
    assert!(!got[0].to_string().contains("knee"), "{}", got[0]);
    assert!(service.notifications(&to_patient).await.is_empty());

    // The therapist sees one unread, in the list and in the thread; reading it is audited.
    let list = w
        .app
        .get("/api/v1/patients", &w.therapist)
        .await
        .expect(StatusCode::OK);
    let unread_of = |list: &Value, patient: &Auth| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|row| row["patient"]["id"] == id(patient))
            .unwrap()["unread_messages"]
            .clone()
    };
    assert_eq!(unread_of(&list, &w.patient), 1);
    assert_eq!(unread_of(&list, &other), 0);
    let thread = w
        .app
        .get(&path(&w.patient, "messages"), &w.therapist)
        .await
        .expect(StatusCode::OK);
    assert_eq!(thread["unread"], 1);
    assert_eq!(thread["messages"][0]["mine"], false);
    let left = w
        .app
        .put(
            &path(&w.patient, "messages/read"),
            &w.therapist,
            json!({"up_to": first["id"]}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(left, json!({"unread": 0}));
    let audit = w
        .app
        .get(&path(&w.patient, "audit"), &w.admin)
        .await
        .expect(StatusCode::OK);
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor_id"] == id(&w.therapist))
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"read patient.messages"), "{actions:?}");

    // The therapist answers: the patient gets the push, and one unread.
    w.app.clock.advance(TimeDelta::minutes(5));
    w.app
        .post(
            &path(&w.patient, "messages"),
            &w.therapist,
            json!({"client_id": "r-1", "body": "Rest it today; walk half the interval tomorrow."}),
        )
        .await
        .expect(StatusCode::CREATED);
    let pass = scheduler.deliver_due(w.app.now()).await.unwrap();
    assert_eq!((pass.claimed, pass.sent), (1, 1), "{pass:?}");
    let got = service.notifications(&to_patient).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["title"], "New message from tess");
    assert_eq!(got[0]["url"], "/app/messages");
    assert_eq!(service.notifications(&to_therapist).await.len(), 1);
    let mine = w
        .app
        .get("/api/v1/me/messages", &w.patient)
        .await
        .expect(StatusCode::OK);
    assert_eq!(mine["unread"], 1);
    assert_eq!(mine["messages"].as_array().unwrap().len(), 2);
    assert_eq!(mine["messages"][1]["author"]["name"], "tess");
    let last = mine["messages"][1]["id"].clone();
    w.app
        .put(
            "/api/v1/me/messages/read",
            &w.patient,
            json!({"up_to": last}),
        )
        .await
        .expect(StatusCode::OK);
    let mine = w
        .app
        .get("/api/v1/me/messages", &w.patient)
        .await
        .expect(StatusCode::OK);
    assert_eq!(mine["unread"], 0);

    // The admin, who has read nothing, has both unread; the other patient sees an empty thread.
    let thread = w
        .app
        .get(&path(&w.patient, "messages"), &w.admin)
        .await
        .expect(StatusCode::OK);
    assert_eq!(thread["unread"], 2);
    let theirs = w
        .app
        .get("/api/v1/me/messages", &other)
        .await
        .expect(StatusCode::OK);
    assert_eq!(theirs["messages"], json!([]));

    // Bad input names the field and stores nothing.
    let err = w
        .app
        .post(
            "/api/v1/me/messages",
            &w.patient,
            json!({"client_id": "m-2", "body": "   "}),
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["field"], "body");
    let long = "x".repeat(2001);
    let err = w
        .app
        .post(
            "/api/v1/me/messages",
            &w.patient,
            json!({"client_id": "m-3", "body": long}),
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["field"], "body");
    let err = w
        .app
        .post(
            "/api/v1/me/messages",
            &w.patient,
            json!({"client_id": "m-1", "body": "Different text"}),
        )
        .await
        .expect(StatusCode::CONFLICT);
    assert!(err["error"].as_str().unwrap().contains("m-1"), "{err}");
    let mine = w
        .app
        .get("/api/v1/me/messages", &w.patient)
        .await
        .expect(StatusCode::OK);
    assert_eq!(mine["messages"].as_array().unwrap().len(), 2);
}

async fn notes_and_the_time_log_with_its_timer(backend: Backend) {
    let w = world(backend, utc(2026, 6, 10, 14, 0)).await;
    let note = w
        .app
        .post(
            &path(&w.patient, "notes"),
            &w.therapist,
            json!({"client_id": "n-1", "body": "Walks best in the morning."}),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(note["author"]["name"], "tess");
    let notes = w
        .app
        .get(&path(&w.patient, "notes"), &w.admin)
        .await
        .expect(StatusCode::OK);
    assert_eq!(notes.as_array().unwrap().len(), 1);

    // The timer: started, started again (the same), stopped after 20 min 40 s → 21 minutes.
    let timer = w
        .app
        .post(&path(&w.patient, "time/timer"), &w.therapist, json!({}))
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(timer["running"], true);
    assert_eq!(timer["performed_on"], "2026-06-10");
    w.app
        .post(&path(&w.patient, "time/timer"), &w.therapist, json!({}))
        .await
        .expect(StatusCode::OK);
    w.app.clock.advance(TimeDelta::seconds(20 * 60 + 40));
    let err = w
        .app
        .post(
            &path(&w.patient, "time/timer/stop"),
            &w.therapist,
            json!({"activity": " ", "live": "call"}),
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["field"], "activity");
    let stopped = w
        .app
        .post(
            &path(&w.patient, "time/timer/stop"),
            &w.therapist,
            json!({"activity": "Phone call about the sore knee", "live": "call"}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(stopped["minutes"], 21);
    assert_eq!(stopped["live"], "call");
    assert_eq!(stopped["running"], false);
    w.app
        .post(
            &path(&w.patient, "time/timer/stop"),
            &w.therapist,
            json!({"activity": "again"}),
        )
        .await
        .expect(StatusCode::NOT_FOUND);

    // By hand; a retry is the same entry; bad minutes and a future date are refused by name.
    let entry = json!({"client_id": "t-1", "performed_on": "2026-06-09", "minutes": 8,
                       "activity": "Reviewed the week's walks", "live": null});
    w.app
        .post(&path(&w.patient, "time"), &w.admin, entry.clone())
        .await
        .expect(StatusCode::CREATED);
    w.app
        .post(&path(&w.patient, "time"), &w.admin, entry)
        .await
        .expect(StatusCode::OK);
    for (body, field) in [
        (
            json!({"client_id": "t-2", "performed_on": "2026-06-09", "minutes": 0, "activity": "x"}),
            "minutes",
        ),
        (
            json!({"client_id": "t-3", "performed_on": "2026-06-09", "minutes": 601, "activity": "x"}),
            "minutes",
        ),
        (
            json!({"client_id": "t-4", "performed_on": "2026-06-11", "minutes": 5, "activity": "x"}),
            "performed_on",
        ),
        (
            json!({"client_id": "t-5", "performed_on": "2026-06-09", "minutes": 5, "activity": "x", "live": "letter"}),
            "live",
        ),
    ] {
        let err = w
            .app
            .post(&path(&w.patient, "time"), &w.admin, body)
            .await
            .expect(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            err["field"].as_str().unwrap_or_default().contains(field),
            "{err}"
        );
    }
    let june = w
        .app
        .get(&path(&w.patient, "time?month=2026-06"), &w.therapist)
        .await
        .expect(StatusCode::OK);
    let minutes: Vec<i64> = june
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["minutes"].as_i64().unwrap())
        .collect();
    assert_eq!(minutes, [8, 21]);
    let err = w
        .app
        .get(&path(&w.patient, "time?month=2026-13"), &w.therapist)
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["field"], "month");
}

/// Uploads one band minute (50 steps) at 16:00 UTC, noon in New York, on each of `days`.
async fn band_minutes(app: &TestApp, band: &Auth, days: &[NaiveDate]) {
    let steps: Vec<Value> = days
        .iter()
        .map(|d| json!({"minute": format!("{d}T16:00:00Z"), "steps": 50}))
        .collect();
    app.post("/api/v1/samples", band, json!({"steps": steps}))
        .await
        .expect(StatusCode::OK);
}

fn days(first: NaiveDate, count: u64) -> Vec<NaiveDate> {
    (0..count).map(|n| first + Days::new(n)).collect()
}

async fn time(w: &World, who: &Auth, client_id: &str, on: &str, minutes: i64, live: Value) {
    w.app
        .post(
            &path(&w.patient, "time"),
            who,
            json!({"client_id": client_id, "performed_on": on, "minutes": minutes,
                   "activity": "Reviewed walks and pain", "live": live}),
        )
        .await
        .expect(StatusCode::CREATED);
}

async fn month(w: &World, month: &str) -> Value {
    w.app
        .get(
            &path(&w.patient, &format!("rtm?month={month}")),
            &w.therapist,
        )
        .await
        .expect(StatusCode::OK)
}

fn why(month: &Value, code: &str) -> String {
    month["evidence"]["management"]["codes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == code)
        .unwrap()["why"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Hand-computed months. Monitoring starts on the first day with band data, 2 March 2026, so
/// the 30-day periods are 2–31 March, 1–30 April and 1–30 May.
/// - March: band data on 2–16 March (15 days) → 98985; 19 minutes (12 Tess + 7 the admin)
///   with a call on 5 March → 98979, and 1 short of 20 for 98980.
/// - April: band data on 1–16 April (16 days) → 98977; 20 minutes with a video call → 98980,
///   not 98979.
/// - May (today is 20 May): no band data yet, so no device code; 25 minutes but no live
///   conversation → no management code.
async fn rtm_months_meet_the_thresholds_computed_by_hand(backend: Backend) {
    let w = world(backend, utc(2026, 5, 20, 15, 0)).await;
    let before = month(&w, "2026-03").await;
    assert_eq!(before["evidence"], Value::Null);
    assert!(
        before["not_started"]
            .as_str()
            .unwrap()
            .contains("no band data")
    );

    let band = w.app.pair_band(&w.patient).await;
    band_minutes(&w.app, &band, &days(date(2026, 3, 2), 15)).await;
    band_minutes(&w.app, &band, &days(date(2026, 4, 1), 16)).await;
    time(&w, &w.therapist, "mar-1", "2026-03-05", 12, json!("call")).await;
    time(&w, &w.admin, "mar-2", "2026-03-20", 7, Value::Null).await;
    time(&w, &w.therapist, "apr-1", "2026-04-08", 20, json!("video")).await;
    time(&w, &w.therapist, "may-1", "2026-05-04", 25, Value::Null).await;
    // Outside every month asked about: 31 May is after today; 1 February before monitoring.
    time(&w, &w.therapist, "feb-1", "2026-02-27", 30, json!("call")).await;

    let march = month(&w, "2026-03").await;
    assert_eq!(march["codes_met"], json!(["98985", "98979"]));
    let period = &march["evidence"]["periods"][0];
    assert_eq!(
        (
            &period["first_day"],
            &period["last_day"],
            &period["days_with_data"]
        ),
        (&json!("2026-03-02"), &json!("2026-03-31"), &json!(15))
    );
    assert_eq!(march["evidence"]["management"]["total_minutes"], 19);
    assert_eq!(why(&march, "98980"), "19 minutes: 1 short of 20 for 98980");
    let clinicians: Vec<(&str, i64)> = march["evidence"]["management"]["clinicians"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["clinician_name"].as_str().unwrap(),
                c["minutes"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(clinicians.len(), 2);
    assert_eq!(clinicians[0].1, 12);
    assert_eq!(clinicians[1].1, 7);

    let april = month(&w, "2026-04").await;
    assert_eq!(april["codes_met"], json!(["98977", "98980"]));
    assert_eq!(april["evidence"]["periods"][0]["days_with_data"], 16);

    let may = month(&w, "2026-05").await;
    assert_eq!(may["codes_met"], json!([]));
    assert_eq!(may["evidence"]["periods"][0]["progress"], "in_progress");
    assert_eq!(
        why(&may, "98980"),
        "25 minutes, but no live conversation this month"
    );

    // The clinic's month lists the patient; its CSV starts with the notice and carries the
    // evidence rows.
    let clinic = w
        .app
        .get("/api/v1/clinic/rtm?month=2026-04", &w.admin)
        .await
        .expect(StatusCode::OK);
    assert!(
        clinic["notice"]
            .as_str()
            .unwrap()
            .contains("not billing advice")
    );
    assert_eq!(
        clinic["patients"][0]["codes_met"],
        json!(["98977", "98980"])
    );
    let answer = w
        .app
        .raw(
            axum::http::Method::GET,
            "/api/v1/clinic/rtm.csv?month=2026-04",
            &w.admin,
            None,
            "",
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers["content-type"], "text/csv; charset=utf-8");
    let csv = answer.text;
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("patient_id,patient,month,record,code,met"),
        "{csv}"
    );
    assert!(lines[1].contains(",notice,"), "{csv}");
    assert!(
        lines.iter().any(
            |l| l.contains("device_period,98977,true,,2026-04-01,2026-04-30,,16")
                && l.contains("Days with data: 2026-04-01 2026-04-02")
                && l.ends_with("2026-04-15 2026-04-16")
        ),
        "{csv}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("time_entry") && l.contains("2026-04-08,,20,tess,video")),
        "{csv}"
    );
    // A therapist of another clinic does not learn of the patient; bad months name the field.
    let err = w
        .app
        .get("/api/v1/clinic/rtm?month=April", &w.therapist)
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["field"], "month");
}
