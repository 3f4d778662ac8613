//! The API end to end, in process, against SQLite and PostgreSQL: patient weeks ending in each
//! decision, band data, idempotency, concurrency, DST weeks, bad input, CSRF, rate limiting,
//! escalation freeze and acknowledgement, audit.

mod common;

use axum::http::{Method, StatusCode, header};
use chrono::{DateTime, TimeDelta, Utc};
use common::*;
use serde_json::{Value, json};
use stepwise_testkit::{Backend, backend_tests};

backend_tests!(
    clean_week_advances,
    a_flare_in_the_week_holds_it,
    one_breach_holds,
    unanswered_check_holds,
    two_breaches_regress,
    red_flag_escalates_and_freezes_until_acknowledged,
    a_red_flag_first_thing_on_monday_leaves_no_week_unreviewed,
    review_twice_changes_nothing,
    weekly_job_reviews_at_local_monday_midnight,
    band_minutes_verify_walks,
    sample_uploads_are_idempotent,
    runs_upload_consecutive_minutes_compactly,
    concurrent_uploads_store_every_minute_once,
    berlin_autumn_week_keeps_sunday_night_walk,
    new_york_spring_week_moves_monday_walk_to_next_week,
    bad_walk_bodies_are_refused_and_nothing_is_written,
    bad_sample_batches_are_refused_whole,
    body_limits_are_enforced,
    writes_need_the_csrf_token,
    failed_logins_are_rate_limited,
    logging_the_same_walk_twice_stores_it_once,
    every_date_is_bounded_and_refused_in_the_json_shape,
    path_and_query_refusals_are_json_naming_the_parameter,
    unknown_fields_and_unknown_devices_are_refused,
    a_walk_is_corrected_or_withdrawn_for_a_few_hours_with_the_record_kept,
    two_hour_check_opens_after_the_walk,
    the_next_morning_check_after_quiet_hours_across_dst_counts_once,
    rules_are_versioned_and_validated,
    baseline_from_tolerance_walks,
    staff_reads_are_audited,
    invites_are_single_use,
    the_care_team_hands_over_a_password_reset_code,
    a_forgotten_password_is_reset_by_email,
    a_clinic_admin_hands_a_therapist_a_reset_code,
    invites_are_emailed_when_asked,
    rules_preview_replays_recent_weeks,
    clinic_defaults_shape_new_patients,
    the_clinic_admin_sets_the_safety_contact,
    a_session_can_recover_its_csrf_token,
    a_catch_up_tells_the_patient_once,
);

/// Monday 2 November 2026, 07:00 UTC (London is on UTC in November).
fn monday() -> DateTime<Utc> {
    utc(2026, 11, 2, 7, 0)
}

struct Week {
    app: TestApp,
    therapist: Auth,
    patient: Auth,
    patient_id: i64,
}

async fn setup(backend: Backend, timezone: &str, joined: DateTime<Utc>) -> Week {
    let app = TestApp::new(backend, joined).await;
    let admin = app
        .clinic("Riverside Physio", "admin@riverside.example")
        .await;
    let therapist = app.therapist(&admin, "tess@riverside.example").await;
    let patient = app
        .patient(&admin, id(&therapist), timezone, "pat@example.org")
        .await;
    let patient_id = id(&patient);
    Week {
        app,
        therapist,
        patient,
        patient_id,
    }
}

/// One walk: day offset from Monday, pain before, during, two hours after (None = unanswered).
type Walk = (i64, i64, i64, Option<i64>);

/// Walks the given sessions in the week of `monday()`, each at 09:00 for 20 minutes.
async fn walk_week(w: &Week, walks: &[Walk]) {
    for &(day, before, during, after) in walks {
        let start = utc(2026, 11, 2, 9, 0) + TimeDelta::days(day);
        let session = w.app.walk(&w.patient, start, 20, before, during).await;
        if let Some(pain) = after {
            w.app
                .answer(&w.patient, session, start + TimeDelta::minutes(20), pain)
                .await;
        }
    }
}

/// Runs the review of the week of `monday()` as the therapist, on the following Monday.
async fn review(w: &Week) -> Value {
    w.app.clock.set(utc(2026, 11, 9, 0, 30));
    w.app
        .post(
            &format!("/api/v1/patients/{}/reviews", w.patient_id),
            &w.therapist,
            json!({}),
        )
        .await
        .expect(StatusCode::CREATED)
}

/// Comfortable 20-minute walks at each start (pain 2 before, 3 during), each two-hour check
/// answered with 2.
async fn easy_walks(w: &Week, starts: &[DateTime<Utc>]) {
    for &start in starts {
        let s = w.app.walk(&w.patient, start, 20, 2, 3).await;
        w.app
            .answer(&w.patient, s, start + TimeDelta::minutes(20), 2)
            .await;
    }
}

/// Asks, as the therapist, for the review of the week starting on `monday`.
async fn review_of(w: &Week, monday: &str) -> Answer {
    w.app
        .post(
            &format!("/api/v1/patients/{}/reviews", w.patient_id),
            &w.therapist,
            json!({ "week_start": monday }),
        )
        .await
}

fn codes(review: &Value) -> Vec<&str> {
    review["output"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect()
}

async fn plan_interval(w: &Week) -> i64 {
    w.app
        .get("/api/v1/me/today", &w.patient)
        .await
        .expect(StatusCode::OK)["plan"]["interval_s"]
        .as_i64()
        .unwrap()
}

const EASY: [Walk; 4] = [
    (0, 2, 3, Some(2)),
    (2, 2, 3, Some(3)),
    (4, 2, 4, Some(2)),
    (5, 1, 3, Some(2)),
];

async fn clean_week_advances(backend: Backend) {
    let w = setup(backend, "Europe/London", monday()).await;
    assert_eq!(plan_interval(&w).await, 300);
    walk_week(&w, &EASY).await;
    let r = review(&w).await;
    assert_eq!(r["week_start"], "2026-11-02");
    assert_eq!(r["output"]["decision"], "advance");
    assert_eq!(r["output"]["interval_s"], 330);
    assert_eq!(codes(&r), ["within_limits"]);
    assert_eq!(r["applied"], true);
    assert_eq!(plan_interval(&w).await, 330);
    let history = w
        .app
        .get("/api/v1/me/history", &w.patient)
        .await
        .expect(StatusCode::OK);
    let change = &history["plan_changes"][0];
    assert_eq!(change["from_interval_s"], 300);
    assert_eq!(change["to_interval_s"], 330);
    assert_eq!(change["source"], "review");
    // The patient reads the review's reasons in their own words, here too.
    assert_eq!(
        change["reason"],
        "Two hours after each of your 4 walks, your pain was within your limits."
    );
}

/// Contract version 2: the week's flares reach the engine, each a breach. A flare the Sunday
/// before the week does not count for it.
async fn a_flare_in_the_week_holds_it(backend: Backend) {
    let w = setup(backend, "Europe/London", monday()).await;
    walk_week(&w, &EASY).await;
    w.app.clock.set(utc(2026, 11, 4, 19, 0));
    for (client_id, started_at, pain) in [
        ("flare-before", utc(2026, 11, 1, 20, 0), 5),
        ("flare-wednesday", utc(2026, 11, 4, 18, 30), 6),
    ] {
        w.app
            .post(
                "/api/v1/me/flares",
                &w.patient,
                json!({"client_id": client_id, "started_at": started_at, "pain": pain}),
            )
            .await
            .expect(StatusCode::CREATED);
    }
    let r = review(&w).await;
    assert_eq!(r["output"]["decision"], "hold", "{r}");
    assert_eq!(codes(&r), ["flare_reported"]);
    assert_eq!(
        r["evidence"]["flares"],
        json!([{"day": "2026-11-04", "pain": 6}])
    );
    assert!(
        r["output"]["reasons"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("You reported a flare on Wed 4 Nov (pain up to 6/10)")
    );
    // Each reader gets the reason in their own words, made from the same figures.
    assert_eq!(
        r["reason_texts"],
        json!([{"code": "flare_reported",
                "text": "A flare reported (Wed 4 Nov; worst 6/10): no advance this week."}])
    );
    let history = w
        .app
        .get("/api/v1/me/history", &w.patient)
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        history["reviews"][0]["reason_texts"],
        json!([{"code": "flare_reported",
                "text": "You reported a flare on Wed 4 Nov (pain up to 6 out of 10). After a \
                         flare your walk stays the same length that week."}])
    );
    assert_eq!(plan_interval(&w).await, 300);
}

async fn one_breach_holds(backend: Backend) {
    let w = setup(backend, "Europe/London", monday()).await;
    let mut walks = EASY;
    walks[1].3 = Some(6); // above the two-hour maximum of 5
    walk_week(&w, &walks).await;
    let r = review(&w).await;
    assert_eq!(r["output"]["decision"], "hold");
    assert_eq!(
        codes(&r),
        ["pain_after_2h_over_max", "pain_after_2h_rise_over_max"]
    );
    assert_eq!(plan_interval(&w).await, 300);
}

async fn unanswered_check_holds(backend: Backend) {
    let w = setup(backend, "Europe/London", monday()).await;
    let mut walks = EASY;
    walks[3].3 = None;
    walk_week(&w, &walks).await;
    let r = review(&w).await;
    assert_eq!(r["output"]["decision"], "hold");
    assert_eq!(codes(&r), ["missing_pain_after_2h"]);
    assert!(r["evidence"]["sessions"][3]["pain_after_2h"].is_null());
}

async fn two_breaches_regress(backend: Backend) {
    let w = setup(backend, "Europe/London", monday()).await;
    let mut walks = EASY;
    walks[0].2 = 6; // pain during over 5
    walks[2].2 = 7;
    walk_week(&w, &walks).await;
    let r = review(&w).await;
    assert_eq!(r["output"]["decision"], "regress");
    assert_eq!(r["output"]["interval_s"], 240);
    assert_eq!(codes(&r), ["repeated_breaches", "pain_during_over_max"]);
    assert_eq!(plan_interval(&w).await, 240);
}

async fn red_flag_escalates_and_freezes_until_acknowledged(backend: Backend) {
    let w = setup(backend, "Europe/London", monday()).await;
    let mut walks = EASY;
    walks[2].2 = 8; // red-flag pain during
    walk_week(&w, &walks).await;
    // The red flag escalated the week at once, when the walk was logged (contract version 2,
    // "Immediate safety"): the review asked for on Monday is that one, stored already.
    w.app.clock.set(utc(2026, 11, 9, 0, 30));
    let r = review_of(&w, "2026-11-02").await.expect(StatusCode::OK);
    assert_eq!(r["created_at"], "2026-11-06T09:21:00Z");
    assert_eq!(r["output"]["decision"], "escalate");
    assert_eq!(r["output"]["interval_s"], 240);
    assert_eq!(plan_interval(&w).await, 240);
    let today = w
        .app
        .get("/api/v1/me/today", &w.patient)
        .await
        .expect(StatusCode::OK);
    assert_eq!(today["frozen"], true);

    // The therapist's list shows the escalation first.
    let list = w
        .app
        .get("/api/v1/patients", &w.therapist)
        .await
        .expect(StatusCode::OK);
    assert_eq!(list[0]["open_escalation"], r["id"]);

    // A clean week while frozen is reviewed but not applied. (Logins last a week: log in again.)
    let patient = w.app.login("pat@example.org", PASSWORD).await;
    let therapist = w.app.login("tess@riverside.example", PASSWORD).await;
    let w = Week {
        patient,
        therapist,
        ..w
    };
    let next_week = [7, 9, 11].map(|day| utc(2026, 11, 2, 9, 0) + TimeDelta::days(day));
    easy_walks(&w, &next_week).await;
    w.app.clock.set(utc(2026, 11, 16, 0, 10));
    let frozen = review_of(&w, "2026-11-09")
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(frozen["output"]["decision"], "advance");
    assert_eq!(frozen["applied"], false);
    assert_eq!(plan_interval(&w).await, 240);

    // Acknowledging lifts the freeze, with a note; acknowledging a non-escalation is not
    // found.
    w.app
        .post(
            &format!(
                "/api/v1/patients/{}/reviews/{}/acknowledge",
                w.patient_id, frozen["id"]
            ),
            &w.therapist,
            json!({"note": "Seen"}),
        )
        .await
        .expect(StatusCode::NOT_FOUND);
    let ack_path = format!(
        "/api/v1/patients/{}/reviews/{}/acknowledge",
        w.patient_id, r["id"]
    );
    // The note is required, has a length limit, and unknown fields are refused.
    for (body, field) in [
        (json!({}), None),
        (json!({"note": "  "}), Some("note")),
        (json!({"note": "x".repeat(1001)}), Some("note")),
        (json!({"note": "Seen", "urgent": true}), None),
    ] {
        let refused = w
            .app
            .post(&ack_path, &w.therapist, body.clone())
            .await
            .expect(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused["error"].is_string(), "{body}: {refused}");
        if let Some(field) = field {
            assert_eq!(refused["field"], field, "{body}: {refused}");
            assert!(refused["allowed"].is_string(), "{refused}");
        }
    }
    let today = w
        .app
        .get("/api/v1/me/today", &w.patient)
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        today["frozen"], true,
        "a refused acknowledgement changes nothing"
    );
    let acked = w
        .app
        .post(
            &ack_path,
            &w.therapist,
            json!({"note": "  Phoned: pain settled with rest  "}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(acked["acknowledged_by"], id(&w.therapist));
    assert_eq!(
        acked["acknowledgement_note"],
        "Phoned: pain settled with rest"
    );
    let today = w
        .app
        .get("/api/v1/me/today", &w.patient)
        .await
        .expect(StatusCode::OK);
    assert_eq!(today["frozen"], false);
}

async fn review_twice_changes_nothing(backend: Backend) {
    let w = setup(backend, "Europe/London", monday()).await;
    walk_week(&w, &EASY).await;
    let first = review(&w).await;
    let again = review_of(&w, "2026-11-02").await.expect(StatusCode::OK);
    assert_eq!(again["id"], first["id"]);
    let summary = stepwise_server::weekly::run_due_reviews(w.app.db.store.as_ref(), w.app.now())
        .await
        .unwrap();
    assert_eq!(summary.reviewed, 0);
    assert_eq!(plan_interval(&w).await, 330);
    let history = w
        .app
        .get("/api/v1/me/history", &w.patient)
        .await
        .expect(StatusCode::OK);
    assert_eq!(history["plan_changes"].as_array().unwrap().len(), 1);
    assert_eq!(history["reviews"].as_array().unwrap().len(), 1);
}

async fn weekly_job_reviews_at_local_monday_midnight(backend: Backend) {
    // Auckland is UTC+13 in November: its Monday starts on Sunday 11:00 UTC.
    let w = setup(backend, "Pacific/Auckland", utc(2026, 11, 1, 12, 0)).await;
    // 09:00 local = 20:00 UTC the day before
    let walks = [0, 2, 4].map(|day| utc(2026, 11, 1, 20, 0) + TimeDelta::days(day));
    easy_walks(&w, &walks).await;
    let store = w.app.db.store.as_ref();
    let run = |at| stepwise_server::weekly::run_due_reviews(store, at);
    // Sunday 23:59 local: the week has not ended.
    let before = run(utc(2026, 11, 8, 10, 59)).await.unwrap();
    assert_eq!(before.reviewed, 0);
    // Monday 00:00 local.
    let at = run(utc(2026, 11, 8, 11, 0)).await.unwrap();
    assert_eq!((at.patients, at.reviewed, at.failed), (1, 1, 0));
    let again = run(utc(2026, 11, 8, 11, 1)).await.unwrap();
    assert_eq!(again.reviewed, 0);
    w.app.clock.set(utc(2026, 11, 8, 11, 2));
    let reviews = w
        .app
        .get(
            &format!("/api/v1/patients/{}/reviews", w.patient_id),
            &w.therapist,
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(reviews.as_array().unwrap().len(), 1);
    assert_eq!(reviews[0]["week_start"], "2026-11-02");
    assert_eq!(reviews[0]["output"]["decision"], "advance");
}

/// Minute samples of a walk: `cadence` steps a minute for `minutes` minutes from `start`.
fn walking(start: DateTime<Utc>, minutes: i64, cadence: i64) -> Vec<Value> {
    (0..minutes)
        .map(|i| json!({"minute": start + TimeDelta::minutes(i), "steps": cadence, "heart_rate": 95}))
        .collect()
}

async fn band_minutes_verify_walks(backend: Backend) {
    let w = setup(backend, "Europe/London", monday()).await;
    let band = w.app.pair_band(&w.patient).await;
    w.app
        .put(
            &format!("/api/v1/patients/{}/rules", w.patient_id),
            &w.therapist,
            json!({"require_verified": true}),
        )
        .await
        .expect(StatusCode::CREATED);
    walk_week(&w, &EASY).await;
    // The band saw the first two walks; it was worn but still during the third.
    let mut steps = walking(utc(2026, 11, 2, 9, 0), 20, 85);
    steps.extend(walking(utc(2026, 11, 4, 9, 0), 20, 90));
    steps.extend(walking(utc(2026, 11, 6, 9, 0), 20, 5));
    // The fourth walk's steps arrive only spread over its minutes (a watch's count change
    // over the span, marked estimated): not walking the band saw, so no band data for it.
    let spread = json!({
        "start": utc(2026, 11, 7, 9, 0),
        "steps": vec![90; 20],
        "estimated": true,
    });
    w.app
        .post(
            "/api/v1/samples",
            &band,
            json!({"steps": steps, "runs": [spread]}),
        )
        .await
        .expect(StatusCode::OK);
    let r = review(&w).await;
    let verified: Vec<&Value> = r["evidence"]["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["verified"])
        .collect();
    assert_eq!(
        verified,
        [&json!(true), &json!(true), &json!(false), &Value::Null]
    );
    assert_eq!(r["output"]["decision"], "hold");
    assert_eq!(
        codes(&r),
        ["too_few_sessions", "unverified_sessions", "within_limits"]
    );
}

async fn sample_uploads_are_idempotent(backend: Backend) {
    let w = setup(backend, "Europe/London", monday()).await;
    let band = w.app.pair_band(&w.patient).await;
    let batch = json!({
        "steps": walking(utc(2026, 11, 2, 6, 0), 30, 100),
        "sleep": [{"start": "2026-11-01T23:00:00Z", "end": "2026-11-02T06:00:00Z", "stage": "light"}]
    });
    let first = w
        .app
        .post("/api/v1/samples", &band, batch.clone())
        .await
        .expect(StatusCode::OK);
    let paired = w.app.now();
    assert_eq!(
        first,
        json!({"steps": 30, "sleep": 1, "renew_token": false,
               "token_expires_at": paired + chrono::TimeDelta::days(90)})
    );
    w.app
        .post("/api/v1/samples", &band, batch)
        .await
        .expect(StatusCode::OK);
    let days = band_days(&w).await;
    assert_eq!(
        days,
        json!([{"date": "2026-11-02", "steps": 3000, "minutes_with_data": 30, "sleep_min": 420}])
    );
    // A later upload of the same minutes replaces them (the band refined its count).
    w.app
        .post(
            "/api/v1/samples",
            &band,
            json!({"steps": walking(utc(2026, 11, 2, 6, 0), 10, 50)}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(band_days(&w).await[0]["steps"], 2500);
}

async fn runs_upload_consecutive_minutes_compactly(backend: Backend) {
    let w = setup(backend, "Europe/London", monday()).await;
    let band = w.app.pair_band(&w.patient).await;
    let upload = json!({"runs": [{
        "start": "2026-11-02T06:00:00Z",
        "steps": vec![100; 30],
        "heart_rate": (0..30).map(|i| if i % 2 == 0 { json!(90) } else { Value::Null }).collect::<Vec<_>>()
    }]});
    let stored = w
        .app
        .post("/api/v1/samples", &band, upload.clone())
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        (&stored["steps"], &stored["sleep"]),
        (&json!(30), &json!(0))
    );
    w.app
        .post("/api/v1/samples", &band, upload)
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        band_days(&w).await,
        json!([{"date": "2026-11-02", "steps": 3000, "minutes_with_data": 30, "sleep_min": 0}])
    );
    let bad = |run: Value| w.app.post("/api/v1/samples", &band, json!({"runs": [run]}));
    let e = bad(json!({"start": "2026-11-02T06:00:00Z", "steps": [1, 2], "heart_rate": [80]}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "runs[0].heart_rate");
    let e = bad(json!({"start": "2026-11-02T06:00:30Z", "steps": [1]}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "runs[0].start");
    let e = bad(json!({"start": "2026-11-02T06:00:00Z", "steps": [1, 400]}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "runs[0].steps[1]");
    // A misspelt key is refused, not ignored.
    let e = w
        .app
        .post("/api/v1/samples", &band, json!({"step": []}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("unknown field `step`"),
        "{e}"
    );
    assert_eq!(
        band_days(&w).await[0]["steps"],
        3000,
        "refused uploads change nothing"
    );
}

async fn band_days(w: &Week) -> Value {
    w.app
        .get(
            &format!(
                "/api/v1/patients/{}/timeline?from=2026-11-01&to=2026-11-02",
                w.patient_id
            ),
            &w.therapist,
        )
        .await
        .expect(StatusCode::OK)["band_days"]
        .clone()
}

async fn concurrent_uploads_store_every_minute_once(backend: Backend) {
    let w = setup(backend, "Europe/London", monday()).await;
    let band = w.app.pair_band(&w.patient).await;
    w.app.clock.set(utc(2026, 11, 2, 12, 0));
    // Eight collectors' retries of overlapping hours of the same morning, all at once.
    let uploads = (0..8).map(|i| {
        let start = utc(2026, 11, 2, 5, 0) + TimeDelta::minutes(15 * i);
        let body = json!({"steps": walking(start, 60, 10)});
        let app = &w.app;
        let band = band.clone();
        async move { app.post("/api/v1/samples", &band, body).await.status }
    });
    let statuses = futures::future::join_all(uploads).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    // 05:00 to 07:45: 165 distinct minutes of 10 steps.
    let days = band_days(&w).await;
    assert_eq!(days[0]["minutes_with_data"], 165);
    assert_eq!(days[0]["steps"], 1650);
}

async fn berlin_autumn_week_keeps_sunday_night_walk(backend: Backend) {
    // Europe/Berlin leaves summer time on Sunday 25 October 2026 at 03:00 local.
    let w = setup(backend, "Europe/Berlin", utc(2026, 10, 19, 5, 0)).await;
    let walks = [
        utc(2026, 10, 19, 7, 0),   // Mon 09:00 CEST
        utc(2026, 10, 21, 7, 0),   // Wed 09:00 CEST
        utc(2026, 10, 25, 22, 30), // Sun 23:30 CET: still this week (a fixed +2 h would lose it)
        utc(2026, 10, 25, 23, 30), // Mon 26 Oct 00:30 CET: next week
    ];
    easy_walks(&w, &walks).await;
    let r = review_of(&w, "2026-10-19")
        .await
        .expect(StatusCode::CREATED);
    let days: Vec<&str> = r["evidence"]["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["day"].as_str().unwrap())
        .collect();
    assert_eq!(days, ["2026-10-19", "2026-10-21", "2026-10-25"]);
    assert_eq!(r["output"]["decision"], "advance");
}

async fn new_york_spring_week_moves_monday_walk_to_next_week(backend: Backend) {
    // America/New_York starts summer time on Sunday 8 March 2026 at 02:00 local.
    let w = setup(backend, "America/New_York", utc(2026, 3, 2, 10, 0)).await;
    let walks = [
        utc(2026, 3, 2, 14, 0), // Mon 09:00 EST
        utc(2026, 3, 4, 14, 0), // Wed 09:00 EST
        utc(2026, 3, 6, 14, 0), // Fri 09:00 EST
        utc(2026, 3, 9, 4, 15), // Mon 9 Mar 00:15 EDT: next week (a fixed -5 h would keep it)
    ];
    easy_walks(&w, &walks).await;
    let r = review_of(&w, "2026-03-02")
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(r["evidence"]["sessions"].as_array().unwrap().len(), 3);
    // The week of 9 March has not ended yet at this clock.
    let early = review_of(&w, "2026-03-09")
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(early["field"], "week_start");
}

fn a_walk(now: DateTime<Utc>) -> Value {
    json!({
        "client_id": "w-1", "started_at": now - TimeDelta::minutes(30),
        "ended_at": now - TimeDelta::minutes(10), "walked_s": 900,
        "pain_before": 2, "pain_during_max": 3, "effort": 4
    })
}

async fn bad_walk_bodies_are_refused_and_nothing_is_written(backend: Backend) {
    let w = setup(backend, "Europe/London", monday()).await;
    let now = w.app.now();
    let post = |body: Value| w.app.post("/api/v1/me/sessions", &w.patient, body);

    let mut over = a_walk(now);
    over["pain_before"] = json!(11);
    let e = post(over).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "pain_before");
    assert_eq!(e["allowed"], "0..=10");
    assert_eq!(e["error"], "pain_before = 11 is outside 0..=10");

    let mut negative = a_walk(now);
    negative["effort"] = json!(-1);
    assert_eq!(
        post(negative)
            .await
            .expect(StatusCode::UNPROCESSABLE_ENTITY)["field"],
        "effort"
    );

    let mut typo = a_walk(now);
    typo["pain_durng_max"] = json!(3);
    let e = post(typo).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("unknown field `pain_durng_max`"),
        "{e}"
    );

    let mut missing = a_walk(now);
    missing.as_object_mut().unwrap().remove("walked_s");
    assert_eq!(
        post(missing).await.expect(StatusCode::UNPROCESSABLE_ENTITY)["field"],
        "walked_s"
    );

    let mut wrong_type = a_walk(now);
    wrong_type["pain_before"] = json!("two");
    assert_eq!(
        post(wrong_type)
            .await
            .expect(StatusCode::UNPROCESSABLE_ENTITY)["field"],
        "pain_before"
    );

    let mut future = a_walk(now);
    future["started_at"] = json!(now + TimeDelta::minutes(40));
    future["ended_at"] = json!(now + TimeDelta::minutes(60));
    let e = post(future).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "started_at");
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("ahead of the server clock"),
        "{e}"
    );

    let mut too_long = a_walk(now);
    too_long["walked_s"] = json!(5000);
    assert_eq!(
        post(too_long)
            .await
            .expect(StatusCode::UNPROCESSABLE_ENTITY)["field"],
        "walked_s"
    );

    let mut backwards = a_walk(now);
    backwards["ended_at"] = json!(now - TimeDelta::minutes(40));
    assert_eq!(
        post(backwards)
            .await
            .expect(StatusCode::UNPROCESSABLE_ENTITY)["field"],
        "ended_at"
    );

    let mut bad_id = a_walk(now);
    bad_id["client_id"] = json!("has spaces/and slashes");
    assert_eq!(
        post(bad_id).await.expect(StatusCode::UNPROCESSABLE_ENTITY)["field"],
        "client_id"
    );

    let malformed = w
        .app
        .raw(
            Method::POST,
            "/api/v1/me/sessions",
            &w.patient,
            Some(b"{\"client_id\": \"w-1\",".to_vec()),
            "application/json",
        )
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert!(
        malformed.body["error"]
            .as_str()
            .unwrap()
            .starts_with("the body is not valid JSON")
    );

    let not_json = w
        .app
        .raw(
            Method::POST,
            "/api/v1/me/sessions",
            &w.patient,
            Some(b"pain=3".to_vec()),
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(not_json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let sessions = w
        .app
        .get("/api/v1/me/sessions", &w.patient)
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        sessions,
        json!([]),
        "nothing may be written by refused requests"
    );
    // And the same walk, well-formed, is accepted.
    post(a_walk(now)).await.expect(StatusCode::CREATED);
}

async fn bad_sample_batches_are_refused_whole(backend: Backend) {
    let w = setup(backend, "Europe/London", monday()).await;
    let band = w.app.pair_band(&w.patient).await;
    let mut steps = walking(utc(2026, 11, 2, 6, 0), 30, 100);
    steps[17]["minute"] = json!("2026-11-02T06:17:30Z");
    let e = w
        .app
        .post("/api/v1/samples", &band, json!({"steps": steps}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "steps[17].minute");

    // Nothing to store, or a field nobody knows: refused, naming it.
    for (body, field) in [
        (json!([]), "steps"),
        (json!({}), "steps"),
        (json!({"steps": []}), "steps"),
        (
            json!({"steps": [{"minute": "2026-11-02T06:00:00Z", "steps": 5, "cadence": 90}]}),
            "steps[0].cadence",
        ),
        (
            json!({"sleep": [{"start": "2026-11-02T00:00:00Z", "end": "2026-11-02T06:00:00Z",
                              "stage": "deep", "score": 80}]}),
            "sleep[0].score",
        ),
    ] {
        let e = w
            .app
            .post("/api/v1/samples", &band, body.clone())
            .await
            .expect(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e["field"], field, "{body}: {e}");
    }

    let mut steps = walking(utc(2026, 11, 2, 6, 0), 30, 100);
    steps[3]["steps"] = json!(-4);
    let e = w
        .app
        .post("/api/v1/samples", &band, json!({"steps": steps}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "steps[3].steps");
    assert_eq!(e["allowed"], "0..=300");

    let future = walking(w.app.now() + TimeDelta::hours(2), 1, 100);
    let e = w
        .app
        .post("/api/v1/samples", &band, json!({"steps": future}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("ahead of the server clock")
    );

    let truncated = w
        .app
        .raw(
            Method::POST,
            "/api/v1/samples",
            &band,
            Some(br#"{"steps": [{"minute": "2026-11-02T06:00:00Z", "ste"#.to_vec()),
            "application/json",
        )
        .await;
    assert_eq!(truncated.status, StatusCode::BAD_REQUEST);

    let sleep = json!({"sleep": [{"start": "2026-11-02T06:00:00Z", "end": "2026-11-02T05:00:00Z", "stage": "deep"}]});
    assert_eq!(
        w.app
            .post("/api/v1/samples", &band, sleep)
            .await
            .expect(StatusCode::UNPROCESSABLE_ENTITY)["field"],
        "sleep[0].end"
    );

    assert_eq!(
        band_days(&w).await,
        json!([]),
        "refused batches leave nothing behind"
    );
}

async fn body_limits_are_enforced(backend: Backend) {
    let w = setup(backend, "Europe/London", monday()).await;
    let mut walk = a_walk(w.app.now());
    walk["notes"] = json!("x".repeat(70 * 1024));
    let e = w
        .app
        .post("/api/v1/me/sessions", &w.patient, walk)
        .await
        .expect(StatusCode::PAYLOAD_TOO_LARGE);
    assert!(e["error"].as_str().unwrap().contains("65536 bytes"), "{e}");
    // A week of minute samples (far above the default limit) fits the upload route.
    let band = w.app.pair_band(&w.patient).await;
    let week = walking(utc(2026, 10, 26, 0, 0), 7 * 1440, 3);
    w.app
        .post("/api/v1/samples", &band, json!({"steps": week}))
        .await
        .expect(StatusCode::OK);
    let huge = vec![b' '; 5 * 1024 * 1024];
    let answer = w
        .app
        .raw(
            Method::POST,
            "/api/v1/samples",
            &band,
            Some(huge),
            "application/json",
        )
        .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
}

async fn writes_need_the_csrf_token(backend: Backend) {
    let w = setup(backend, "Europe/London", monday()).await;
    let Auth::User(login) = &w.patient else {
        unreachable!()
    };
    let cookie_only = Auth::CookieOnly(login.clone());
    let e = w
        .app
        .post("/api/v1/me/sessions", &cookie_only, a_walk(w.app.now()))
        .await
        .expect(StatusCode::FORBIDDEN);
    assert!(e["error"].as_str().unwrap().contains("X-CSRF-Token"));
    w.app
        .get("/api/v1/me/today", &cookie_only)
        .await
        .expect(StatusCode::OK);
    let mut wrong = login.clone();
    wrong.csrf = "guess".into();
    w.app
        .post(
            "/api/v1/me/sessions",
            &Auth::User(wrong),
            a_walk(w.app.now()),
        )
        .await
        .expect(StatusCode::FORBIDDEN);
    // Logging out ends the session.
    w.app
        .post("/api/v1/auth/logout", &w.patient, json!({}))
        .await
        .expect(StatusCode::NO_CONTENT);
    w.app
        .get("/api/v1/me/today", &w.patient)
        .await
        .expect(StatusCode::UNAUTHORIZED);
}

async fn failed_logins_are_rate_limited(backend: Backend) {
    let w = setup(backend, "Europe/London", monday()).await;
    let login = |password: &'static str| {
        w.app.post(
            "/api/v1/auth/login",
            &Auth::None,
            json!({"email": "pat@example.org", "password": password}),
        )
    };
    for _ in 0..5 {
        login("wrong password!")
            .await
            .expect(StatusCode::UNAUTHORIZED);
    }
    let blocked = login(PASSWORD).await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(blocked.headers["retry-after"], "900");
    w.app.clock.advance(TimeDelta::minutes(16));
    login(PASSWORD).await.expect(StatusCode::OK);

    // Someone else's wrong passwords never lock the owner out: the limit is per client.
    let from = |ip: [u8; 4], email: &str, password: &str| {
        w.app.post_from(
            ip,
            "/api/v1/auth/login",
            &Auth::None,
            json!({"email": email, "password": password}),
        )
    };
    let attacker = [203, 0, 113, 9];
    for _ in 0..5 {
        from(attacker, "pat@example.org", "wrong password!")
            .await
            .expect(StatusCode::UNAUTHORIZED);
    }
    from(attacker, "pat@example.org", PASSWORD)
        .await
        .expect(StatusCode::TOO_MANY_REQUESTS);
    from([198, 51, 100, 7], "pat@example.org", PASSWORD)
        .await
        .expect(StatusCode::OK);
    // One client trying many addresses is slowed too: 20 failures in all.
    for i in 0..15 {
        from(
            attacker,
            &format!("guess{i}@example.org"),
            "wrong password!",
        )
        .await
        .expect(StatusCode::UNAUTHORIZED);
    }
    from(attacker, "tess@example.org", PASSWORD)
        .await
        .expect(StatusCode::TOO_MANY_REQUESTS);
    // Unknown addresses answer like wrong passwords.
    w.app
        .post(
            "/api/v1/auth/login",
            &Auth::None,
            json!({"email": "nobody@example.org", "password": PASSWORD}),
        )
        .await
        .expect(StatusCode::UNAUTHORIZED);
}

async fn every_date_is_bounded_and_refused_in_the_json_shape(backend: Backend) {
    let w = setup(backend, "Europe/London", monday()).await;
    let p = format!("/api/v1/patients/{}", w.patient_id);
    let refused = |answer: Answer, field: &str| {
        let e = answer.expect(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e["field"], field, "{e}");
        assert_eq!(e["allowed"], "2000-01-01..=2100-12-31", "{e}");
    };
    // Dates asked for, at the calendar's ends (they once closed the connection unanswered).
    for (who, path) in [
        (&w.therapist, format!("{p}/timeline")),
        (&w.therapist, format!("{p}/reminders")),
        (&w.therapist, format!("{p}/report")),
        (&w.therapist, format!("{p}/report/sessions.csv")),
        (&w.therapist, format!("{p}/report/fhir")),
        (&w.patient, "/api/v1/me/sessions".to_string()),
    ] {
        for (query, field) in [
            ("to=%2B262142-12-31", "to"),
            ("from=-262143-01-01&to=2026-11-01", "from"),
            ("to=1999-12-31", "to"),
        ] {
            refused(w.app.get(&format!("{path}?{query}"), who).await, field);
        }
    }
    // Dates stored: a review's week, the next visit, an outcome's day.
    for week in ["-262143-01-01", "1900-01-01"] {
        refused(
            w.app
                .post(
                    &format!("{p}/reviews"),
                    &w.therapist,
                    json!({"week_start": week}),
                )
                .await,
            "week_start",
        );
    }
    let e = w
        .app
        .post(
            &format!("{p}/reviews"),
            &w.therapist,
            json!({"week_start": "2026-10-05"}),
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "week_start");
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("before the patient joined"),
        "{e}"
    );
    refused(
        w.app
            .put(
                &format!("{p}/next-visit"),
                &w.therapist,
                json!({"next_visit": "-262143-01-01"}),
            )
            .await,
        "next_visit",
    );
    refused(
        w.app
            .post(
                &format!("{p}/outcomes"),
                &w.therapist,
                json!({"kind": "oswestry", "value": 40, "measured_on": "0001-01-01"}),
            )
            .await,
        "measured_on",
    );
    // Nothing was stored, and every report still answers.
    let reviews = w
        .app
        .get(&format!("{p}/reviews"), &w.therapist)
        .await
        .expect(StatusCode::OK);
    assert_eq!(reviews, json!([]));
    let outcomes = w
        .app
        .get(&format!("{p}/outcomes"), &w.therapist)
        .await
        .expect(StatusCode::OK);
    assert_eq!(outcomes, json!([]));
    w.app
        .get(&format!("{p}/report"), &w.therapist)
        .await
        .expect(StatusCode::OK);
}

async fn path_and_query_refusals_are_json_naming_the_parameter(backend: Backend) {
    let w = setup(backend, "Europe/London", monday()).await;
    let p = format!("/api/v1/patients/{}", w.patient_id);
    let refused = |answer: Answer| {
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{:?}",
            answer.body
        );
        assert!(
            answer.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        answer.body
    };
    let e = refused(w.app.get("/api/v1/patients/abc", &w.therapist).await);
    assert_eq!(e["field"], "id");
    assert_eq!(e["allowed"], "a whole number");
    let e = refused(
        w.app
            .post(
                &format!("{p}/reviews/xyz/acknowledge"),
                &w.therapist,
                json!({"note": "n"}),
            )
            .await,
    );
    assert_eq!(e["field"], "review_id");
    let e = refused(
        w.app
            .get(&format!("{p}/timeline?from=abc"), &w.therapist)
            .await,
    );
    assert_eq!(e["field"], "from");
    let e = refused(
        w.app
            .get(&format!("{p}/timeline?colour=red"), &w.therapist)
            .await,
    );
    assert_eq!(e["field"], "colour");
    let e = refused(
        w.app
            .get("/api/v1/me/sessions?to=2026-13-01", &w.patient)
            .await,
    );
    assert_eq!(e["field"], "to");
}

async fn unknown_fields_and_unknown_devices_are_refused(backend: Backend) {
    let w = setup(backend, "Europe/London", monday()).await;
    let code = w
        .app
        .post("/api/v1/me/pairing-codes", &w.patient, json!({}))
        .await
        .expect(StatusCode::CREATED);
    let pair = |device: Value| {
        w.app.post(
            "/api/v1/devices/pair",
            &Auth::None,
            json!({"code": code["code"], "device": device}),
        )
    };
    for (device, field) in [
        (
            json!({"kind": "toaster", "address": "C8:0F:10:00:00:01", "name": "Band"}),
            "device.kind",
        ),
        (
            json!({"kind": "mi-band-3", "address": "<script>", "name": "Band"}),
            "device.address",
        ),
        (
            json!({"kind": "mi-band-3", "address": "C8:0F:10:00:00:01", "name": "Band",
                   "colour": "red"}),
            "device.colour",
        ),
    ] {
        let e = pair(device).await.expect(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e["field"], field, "{e}");
    }
    // Nothing was paired, and the code still works.
    let paired = w
        .app
        .get("/api/v1/me/devices", &w.patient)
        .await
        .expect(StatusCode::OK);
    assert_eq!(paired, json!([]));
    pair(json!({"kind": "infinitime", "address": "F4:8B:32:00:00:01", "name": "PineTime"}))
        .await
        .expect(StatusCode::CREATED);

    let e = w
        .app
        .post(
            &format!("/api/v1/patients/{}/outcomes", w.patient_id),
            &w.therapist,
            json!({"kind": "oswestry", "value": 40, "measured_on": "2026-11-01", "by": "me"}),
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "by");
}

async fn logging_the_same_walk_twice_stores_it_once(backend: Backend) {
    let w = setup(backend, "Europe/London", monday()).await;
    let walk = a_walk(w.app.now());
    let first = w
        .app
        .post("/api/v1/me/sessions", &w.patient, walk.clone())
        .await
        .expect(StatusCode::CREATED);
    let again = w
        .app
        .post("/api/v1/me/sessions", &w.patient, walk.clone())
        .await
        .expect(StatusCode::OK);
    assert_eq!(first["id"], again["id"]);
    let mut different = walk;
    different["pain_before"] = json!(5);
    w.app
        .post("/api/v1/me/sessions", &w.patient, different)
        .await
        .expect(StatusCode::CONFLICT);
    let all = w
        .app
        .get("/api/v1/me/sessions", &w.patient)
        .await
        .expect(StatusCode::OK);
    assert_eq!(all.as_array().unwrap().len(), 1);
}

async fn a_walk_is_corrected_or_withdrawn_for_a_few_hours_with_the_record_kept(backend: Backend) {
    let w = setup(backend, "Europe/London", monday()).await;
    let logged = a_walk(w.app.now());
    let walk = w
        .app
        .post("/api/v1/me/sessions", &w.patient, logged.clone())
        .await
        .expect(StatusCode::CREATED);
    let id = walk["id"].as_i64().unwrap();
    let path = format!("/api/v1/me/sessions/{id}");
    let correction = json!({
        "walked_s": 900, "pain_before": 2, "pain_during_max": 5, "effort": 4
    });

    // Today offers it for correction, until six hours after it was logged.
    let today = w
        .app
        .get("/api/v1/me/today", &w.patient)
        .await
        .expect(StatusCode::OK);
    assert_eq!(today["last_walk"]["id"], id);
    assert_eq!(
        today["last_walk"]["correctable_until"],
        "2026-11-02T13:00:00Z"
    );

    // Bad corrections are refused in the usual shape, and change nothing.
    let mut over = correction.clone();
    over["pain_during_max"] = json!(11);
    let e = w
        .app
        .put(&path, &w.patient, over)
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "pain_during_max");
    let mut moved = correction.clone();
    moved["started_at"] = json!("2026-11-02T05:00:00Z");
    let e = w
        .app
        .put(&path, &w.patient, moved)
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(e["error"].as_str().unwrap().contains("started_at"), "{e}");

    // Corrected: the figures change, the record keeps what it was.
    let fixed = w
        .app
        .put(&path, &w.patient, correction.clone())
        .await
        .expect(StatusCode::OK);
    assert_eq!(fixed["pain_during_max"], 5);
    assert_eq!(fixed["client_id"], "w-1");
    assert!(fixed.get("safety").is_none());
    // The same correction again (a retry) keeps no second record.
    w.app
        .put(&path, &w.patient, correction.clone())
        .await
        .expect(StatusCode::OK);
    // A corrected pain at the alert level is answered at once, as when logged.
    let mut red = correction.clone();
    red["pain_during_max"] = json!(9);
    let flagged = w
        .app
        .put(&path, &w.patient, red)
        .await
        .expect(StatusCode::OK);
    assert_eq!(flagged["safety"]["pain"], 9, "{flagged}");

    // Withdrawn: it counts nowhere, its checks are not asked, a retried upload stays out.
    let change = w
        .app
        .post(&format!("{path}/withdraw"), &w.patient, json!({}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(change["action"], "withdrawn");
    assert_eq!(change["before"]["pain_during_max"], 9);
    w.app
        .post(&format!("{path}/withdraw"), &w.patient, json!({}))
        .await
        .expect(StatusCode::NOT_FOUND);
    w.app
        .post("/api/v1/me/sessions", &w.patient, logged)
        .await
        .expect(StatusCode::OK);
    let mine = w
        .app
        .get("/api/v1/me/sessions", &w.patient)
        .await
        .expect(StatusCode::OK);
    assert_eq!(mine, json!([]));
    let today = w
        .app
        .get("/api/v1/me/today", &w.patient)
        .await
        .expect(StatusCode::OK);
    assert_eq!(today["sessions_this_week"], 0);
    assert!(today["last_walk"].is_null());
    let pending: Vec<Value> = w
        .app
        .get("/api/v1/me/reminders", &w.patient)
        .await
        .expect(StatusCode::OK)
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["session_id"] == id && r["state"] == "pending")
        .cloned()
        .collect();
    assert_eq!(
        pending,
        Vec::<Value>::new(),
        "no check is asked about a withdrawn walk"
    );

    // The care team sees every change: what, when, by whom.
    let timeline = w
        .app
        .get(
            &format!("/api/v1/patients/{}/timeline", w.patient_id),
            &w.therapist,
        )
        .await
        .expect(StatusCode::OK);
    let changes = timeline["walk_changes"].as_array().unwrap();
    let actions: Vec<&str> = changes
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["corrected", "corrected", "withdrawn"]);
    assert_eq!(changes[0]["before"]["pain_during_max"], 3);
    assert_eq!(changes[0]["after"]["pain_during_max"], 5);
    assert_eq!(changes[0]["by_user"], w.patient_id);

    // After six hours a walk can no longer be changed.
    let late = w
        .app
        .post(
            "/api/v1/me/sessions",
            &w.patient,
            json!({
                "client_id": "w-2", "started_at": w.app.now() - TimeDelta::minutes(30),
                "ended_at": w.app.now() - TimeDelta::minutes(10), "walked_s": 900,
                "pain_before": 2, "pain_during_max": 3
            }),
        )
        .await
        .expect(StatusCode::CREATED);
    w.app.clock.set(w.app.now() + TimeDelta::hours(6));
    let e = w
        .app
        .put(
            &format!("/api/v1/me/sessions/{}", late["id"]),
            &w.patient,
            correction,
        )
        .await
        .expect(StatusCode::CONFLICT);
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("can no longer be changed"),
        "{e}"
    );
}

async fn two_hour_check_opens_after_the_walk(backend: Backend) {
    let w = setup(backend, "Europe/London", monday()).await;
    let start = utc(2026, 11, 2, 9, 0);
    let id = w.app.walk(&w.patient, start, 20, 2, 3).await;
    let path = format!("/api/v1/me/sessions/{id}/two-hour-check");
    let e = w
        .app
        .post(&path, &w.patient, json!({"pain_after_2h": 3}))
        .await
        .expect(StatusCode::CONFLICT);
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("opens at 2026-11-02T11:05:00"),
        "{e}"
    );
    w.app.clock.set(utc(2026, 11, 2, 11, 20));
    let today = w
        .app
        .get("/api/v1/me/today", &w.patient)
        .await
        .expect(StatusCode::OK);
    assert_eq!(today["checks_due"][0]["id"], id);
    let e = w
        .app
        .post(&path, &w.patient, json!({"pain_after_2h": 12}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "pain_after_2h");
    w.app
        .post(&path, &w.patient, json!({"pain_after_2h": 3}))
        .await
        .expect(StatusCode::OK);
    // The same answer again is fine; a different one is a conflict.
    w.app
        .post(&path, &w.patient, json!({"pain_after_2h": 3}))
        .await
        .expect(StatusCode::OK);
    w.app
        .post(&path, &w.patient, json!({"pain_after_2h": 4}))
        .await
        .expect(StatusCode::CONFLICT);
    let today = w
        .app
        .get("/api/v1/me/today", &w.patient)
        .await
        .expect(StatusCode::OK);
    assert_eq!(today["checks_due"], json!([]));
}

async fn rules_are_versioned_and_validated(backend: Backend) {
    let w = setup(backend, "Europe/London", monday()).await;
    let path = format!("/api/v1/patients/{}/rules", w.patient_id);
    let v1 = w.app.get(&path, &w.therapist).await.expect(StatusCode::OK);
    assert_eq!(v1["current"]["version"], 1);
    assert_eq!(v1["current"]["rules"]["increase_pct"], 10);
    let e = w
        .app
        .put(&path, &w.therapist, json!({"increase_pct": 25}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["error"], "rules.increase_pct = 25 is outside 10..=20");
    assert_eq!(e["allowed"], "10..=20");
    let e = w
        .app
        .put(&path, &w.therapist, json!({"increase_pc": 15}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("unknown field `increase_pc`")
    );
    let v2 = w
        .app
        .put(
            &path,
            &w.therapist,
            json!({"increase_pct": 15, "pain_after_2h_rise_max": 0}),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["rules"]["increase_pct"], 15);
    assert_eq!(
        v2["rules"]["regress_pct"], 20,
        "unnamed fields keep their values"
    );
    assert_eq!(v2["created_by"], id(&w.therapist));
    // The next review uses the new version.
    walk_week(
        &w,
        &[(0, 2, 3, Some(2)), (2, 2, 3, Some(2)), (4, 2, 3, Some(2))],
    )
    .await;
    let r = review(&w).await;
    assert_eq!(r["rules_version"], 2);
    assert_eq!(r["output"]["interval_s"], 345);
}

async fn baseline_from_tolerance_walks(backend: Backend) {
    let w = setup(backend, "Europe/London", monday()).await;
    let path = format!("/api/v1/patients/{}/baseline", w.patient_id);
    let e = w
        .app
        .post(
            &path,
            &w.therapist,
            json!({"tolerance_walks_s": [600, 660]}),
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "tolerance_walks_s");
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("at least 3 tolerance walks")
    );
    let change = w
        .app
        .post(
            &path,
            &w.therapist,
            json!({"tolerance_walks_s": [600, 660, 540]}),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(change["to_interval_s"], 480);
    assert_eq!(change["source"], "baseline");
    // The patient reads the reason in their plan history: no seconds.
    assert_eq!(
        change["reason"],
        "Baseline: 80% of your average tolerance walk of 10 minutes from 3 walks"
    );
    assert_eq!(plan_interval(&w).await, 480);
    let o = w
        .app
        .post(
            &format!("/api/v1/patients/{}/plan", w.patient_id),
            &w.therapist,
            json!({"interval_s": 420, "reason": "Knee swelling after the weekend"}),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(
        (o["from_interval_s"].as_i64(), o["to_interval_s"].as_i64()),
        (Some(480), Some(420))
    );
    let e = w
        .app
        .post(
            &format!("/api/v1/patients/{}/plan", w.patient_id),
            &w.therapist,
            json!({"interval_s": 9000, "reason": "x"}),
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["allowed"], "60..=3600");
}

/// Every staff read and write of a patient's data is in the patient's audit log with how it
/// ended: done, refused (not the caller's to see) or invalid (nothing changed). List reads
/// name each patient listed.
async fn staff_reads_are_audited(backend: Backend) {
    let w = setup(backend, "Europe/London", monday()).await;
    let p = w.patient_id;
    w.app
        .get(&format!("/api/v1/patients/{p}/timeline"), &w.therapist)
        .await
        .expect(StatusCode::OK);
    w.app
        .get("/api/v1/patients", &w.therapist)
        .await
        .expect(StatusCode::OK);
    // A write refused by validation is logged as invalid, not as a write.
    w.app
        .put(
            &format!("/api/v1/patients/{p}/next-visit"),
            &w.therapist,
            json!({"next_visit": "1900-01-01"}),
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    let admin = w.app.login("admin@riverside.example", PASSWORD).await;
    // Another therapist of the clinic: the patient is not theirs (as if it did not exist),
    // and the attempt is logged as refused.
    let other = w.app.therapist(&admin, "olga@riverside.example").await;
    w.app
        .get(&format!("/api/v1/patients/{p}/timeline"), &other)
        .await
        .expect(StatusCode::NOT_FOUND);
    let audit_path = format!("/api/v1/patients/{p}/audit");
    w.app.get(&audit_path, &admin).await.expect(StatusCode::OK);
    // The log is written once each answer is known: this read lists the one before.
    let log = w.app.get(&audit_path, &admin).await.expect(StatusCode::OK);
    let entries: Vec<(i64, &str, &str)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["actor_id"].as_i64().unwrap(),
                e["action"].as_str().unwrap(),
                e["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    let therapist = id(&w.therapist);
    assert_eq!(
        entries,
        [
            (therapist, "read patient.timeline", "done"),
            (therapist, "read patient.list", "done"),
            (therapist, "write patient.next_visit", "invalid"),
            (id(&other), "read patient.timeline", "refused"),
            (id(&admin), "read patient.audit", "done"),
        ]
    );
    // The therapist may not read the audit log.
    w.app
        .get(&audit_path, &w.therapist)
        .await
        .expect(StatusCode::FORBIDDEN);
}

async fn invites_are_single_use(backend: Backend) {
    let w = setup(backend, "Europe/London", monday()).await;
    let admin = w.app.login("admin@riverside.example", PASSWORD).await;
    let invite = w
        .app
        .post("/api/v1/invites", &admin, json!({"role": "therapist"}))
        .await
        .expect(StatusCode::CREATED);
    let accept = |email: &str| {
        w.app.post(
            "/api/v1/invites/accept",
            &Auth::None,
            json!({"code": invite["code"], "email": email, "display_name": "Theo", "password": PASSWORD}),
        )
    };
    let e = accept("tess@riverside.example")
        .await
        .expect(StatusCode::CONFLICT);
    assert!(e["error"].as_str().unwrap().contains("e-mail"), "{e}");
    // What is handed over: the link to the join page with the code in its fragment, and
    // that link as a QR code.
    let code = invite["code"].as_str().unwrap();
    assert_eq!(
        invite["link"],
        format!("http://localhost/app/join#code={code}")
    );
    assert!(invite["qr_svg"].as_str().unwrap().starts_with("<?xml"));
    accept("theo@riverside.example")
        .await
        .expect(StatusCode::CREATED);
    accept("theo2@riverside.example")
        .await
        .expect(StatusCode::GONE);
    let e = w
        .app
        .post("/api/v1/invites/accept", &Auth::None, json!({"code": "AAAA-BBBB-CCCC", "email": "x@example.org", "display_name": "X", "password": PASSWORD}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "code");
    let e = w
        .app
        .post("/api/v1/invites", &admin, json!({"role": "patient", "therapist_id": id(&w.therapist), "timezone": "Mars/Olympus"}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "timezone");
    let short = w
        .app
        .post("/api/v1/invites/accept", &Auth::None, json!({"code": "x", "email": "y@example.org", "display_name": "Y", "password": "short"}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(short["field"], "password");
}

async fn the_care_team_hands_over_a_password_reset_code(backend: Backend) {
    let w = setup(backend, "Europe/London", monday()).await;
    let path = format!("/api/v1/patients/{}/password-reset", w.patient_id);
    // Only the patient's care team: not the patient, not another therapist.
    w.app
        .post(&path, &w.patient, json!({}))
        .await
        .expect(StatusCode::FORBIDDEN);
    let admin = w.app.login("admin@riverside.example", PASSWORD).await;
    let other = w.app.therapist(&admin, "olga@riverside.example").await;
    w.app
        .post(&path, &other, json!({}))
        .await
        .expect(StatusCode::NOT_FOUND);
    let first = w
        .app
        .post(&path, &w.therapist, json!({}))
        .await
        .expect(StatusCode::CREATED);
    let reset = w
        .app
        .post(&path, &w.therapist, json!({}))
        .await
        .expect(StatusCode::CREATED);
    let code = reset["code"].as_str().unwrap();
    assert_eq!(
        reset["link"],
        format!("http://localhost/app/reset#code={code}")
    );
    assert!(reset["qr_svg"].as_str().unwrap().contains("<svg"));
    let new_password = "a new password for the patient";
    let use_code = |code: &Value, password: &str| {
        w.app.post(
            "/api/v1/auth/password-reset",
            &Auth::None,
            json!({"code": code, "password": password}),
        )
    };
    // A newer code voided the first; a short password is refused before the code is used.
    use_code(&first["code"], new_password)
        .await
        .expect(StatusCode::GONE);
    let short = use_code(&reset["code"], "short")
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(short["field"], "password");
    let unknown = use_code(&json!("AAAA-BBBB-CCCC"), new_password)
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown["field"], "code");
    w.app
        .get("/api/v1/me", &w.patient)
        .await
        .expect(StatusCode::OK);
    use_code(&reset["code"], new_password)
        .await
        .expect(StatusCode::NO_CONTENT);
    // Signed out everywhere; the old password no longer works, the new one does; once only.
    w.app
        .get("/api/v1/me", &w.patient)
        .await
        .expect(StatusCode::UNAUTHORIZED);
    w.app
        .post(
            "/api/v1/auth/login",
            &Auth::None,
            json!({"email": "pat@example.org", "password": PASSWORD}),
        )
        .await
        .expect(StatusCode::UNAUTHORIZED);
    w.app.login("pat@example.org", new_password).await;
    use_code(&reset["code"], "yet another password")
        .await
        .expect(StatusCode::GONE);
    let audit = w
        .app
        .get(&format!("/api/v1/patients/{}/audit", w.patient_id), &admin)
        .await
        .expect(StatusCode::OK);
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "write patient.password-reset"
                && e["actor_id"] == json!(id(&w.therapist))),
        "{audit}"
    );
    // Wrong codes from one client are limited: after five, even a right one waits.
    let fresh = w
        .app
        .post(&path, &w.therapist, json!({}))
        .await
        .expect(StatusCode::CREATED);
    // (Three wrong or used codes were tried above.)
    for _ in 0..2 {
        use_code(&json!("AAAA-BBBB-CCCC"), new_password)
            .await
            .expect(StatusCode::UNPROCESSABLE_ENTITY);
    }
    let limited = use_code(&fresh["code"], new_password)
        .await
        .expect(StatusCode::TOO_MANY_REQUESTS);
    assert!(
        limited["error"].as_str().unwrap().contains("try again"),
        "{limited}"
    );
}

/// A server that sends e-mail through `smtp` and is reached at https://stepwise.clinic.example.
async fn mailing_app(backend: Backend, smtp: &stepwise_testkit::smtp::SmtpServer) -> TestApp {
    let config = stepwise_server::Config {
        public_url: Some("https://stepwise.clinic.example".into()),
        mailer: Some(
            stepwise_server::mail::Mailer::new(&smtp.url(), "Stepwise <stepwise@clinic.example>")
                .expect("a mailer"),
        ),
        ..stepwise_server::Config::default()
    };
    TestApp::with_config(backend, monday(), config).await
}

/// The code in the link `…{page}#code=CODE` of an e-mail.
fn code_in(message: &str, page: &str) -> String {
    let link = format!("https://stepwise.clinic.example{page}#code=");
    let start = message
        .find(&link)
        .unwrap_or_else(|| panic!("no {link} in {message}"))
        + link.len();
    message[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

async fn a_forgotten_password_is_reset_by_email(backend: Backend) {
    // Without an SMTP server there is no e-mail, and the pages know it.
    let plain = TestApp::new(backend, monday()).await;
    let options = plain
        .get("/api/v1/auth/recovery", &Auth::None)
        .await
        .expect(StatusCode::OK);
    assert_eq!(options, json!({"by_email": false}));
    plain
        .post(
            "/api/v1/auth/password-reset/email",
            &Auth::None,
            json!({"email": "pat@example.org"}),
        )
        .await
        .expect(StatusCode::SERVICE_UNAVAILABLE);

    let smtp = stepwise_testkit::smtp::SmtpServer::start();
    let app = mailing_app(backend, &smtp).await;
    let admin = app
        .clinic("Riverside Physio", "admin@riverside.example")
        .await;
    let tess = app.therapist(&admin, "tess@riverside.example").await;
    let pat = app
        .patient(&admin, id(&tess), "Europe/London", "pat@example.org")
        .await;
    let options = app
        .get("/api/v1/auth/recovery", &Auth::None)
        .await
        .expect(StatusCode::OK);
    assert_eq!(options, json!({"by_email": true}));
    let ask = |email: &str| {
        app.post(
            "/api/v1/auth/password-reset/email",
            &Auth::None,
            json!({"email": email}),
        )
    };
    // An address without an account is answered the same, and gets nothing.
    ask("nobody@example.org").await.expect(StatusCode::ACCEPTED);
    ask("Pat@Example.org").await.expect(StatusCode::ACCEPTED);
    let messages = smtp.wait_for(1).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(smtp.messages().len(), 1, "{messages:?}");
    let message = &messages[0];
    assert_eq!(message.to, "pat@example.org");
    assert_eq!(message.subject, "Choose a new Stepwise password");
    assert_eq!(message.from, "Stepwise <stepwise@clinic.example>");
    let code = code_in(&message.body, "/app/reset");
    assert!(
        message.body.contains(&format!("enter this code: {code}")),
        "{message:?}"
    );
    let bad = ask("not an address")
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad["field"], "email");

    app.post(
        "/api/v1/auth/password-reset",
        &Auth::None,
        json!({"code": code, "password": "the e-mailed new password"}),
    )
    .await
    .expect(StatusCode::NO_CONTENT);
    app.get("/api/v1/me", &pat)
        .await
        .expect(StatusCode::UNAUTHORIZED);
    app.login("pat@example.org", "the e-mailed new password")
        .await;

    // At most five asks per client (and per address) in a quarter of an hour; two were above.
    for _ in 0..3 {
        ask("pat@example.org").await.expect(StatusCode::ACCEPTED);
    }
    ask("pat@example.org")
        .await
        .expect(StatusCode::TOO_MANY_REQUESTS);
}

async fn a_clinic_admin_hands_a_therapist_a_reset_code(backend: Backend) {
    let w = setup(backend, "Europe/London", monday()).await;
    let admin = w.app.login("admin@riverside.example", PASSWORD).await;
    let path = |id: i64| format!("/api/v1/clinic/therapists/{id}/password-reset");
    // Only clinic admins; only therapists of their clinic (others are not found).
    w.app
        .post(&path(id(&w.therapist)), &w.therapist, json!({}))
        .await
        .expect(StatusCode::FORBIDDEN);
    w.app
        .post(&path(w.patient_id), &admin, json!({}))
        .await
        .expect(StatusCode::NOT_FOUND);
    let other = w
        .app
        .clinic("Hillside Physio", "admin@hillside.example")
        .await;
    w.app
        .post(&path(id(&w.therapist)), &other, json!({}))
        .await
        .expect(StatusCode::NOT_FOUND);
    let reset = w
        .app
        .post(&path(id(&w.therapist)), &admin, json!({}))
        .await
        .expect(StatusCode::CREATED);
    assert!(reset["link"].as_str().unwrap().contains("/app/reset#code="));
    w.app
        .post(
            "/api/v1/auth/password-reset",
            &Auth::None,
            json!({"code": reset["code"], "password": "the therapist's new password"}),
        )
        .await
        .expect(StatusCode::NO_CONTENT);
    w.app
        .login("tess@riverside.example", "the therapist's new password")
        .await;
}

async fn invites_are_emailed_when_asked(backend: Backend) {
    let plain = TestApp::new(backend, monday()).await;
    let admin = plain
        .clinic("Riverside Physio", "admin@riverside.example")
        .await;
    let refused = plain
        .post(
            "/api/v1/invites",
            &admin,
            json!({"role": "therapist", "email": "theo@riverside.example"}),
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused["field"], "email");

    let smtp = stepwise_testkit::smtp::SmtpServer::start();
    let app = mailing_app(backend, &smtp).await;
    let admin = app
        .clinic("Riverside Physio", "admin@riverside.example")
        .await;
    let invite = app
        .post(
            "/api/v1/invites",
            &admin,
            json!({"role": "therapist", "email": "theo@riverside.example"}),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(invite["emailed_to"], "theo@riverside.example");
    assert_eq!(
        invite["link"],
        format!(
            "https://stepwise.clinic.example/app/join#code={}",
            invite["code"].as_str().unwrap()
        )
    );
    let messages = smtp.wait_for(1).await;
    let message = &messages[0];
    assert_eq!(message.to, "theo@riverside.example");
    assert_eq!(message.subject, "Riverside Physio invites you to Stepwise");
    let code = code_in(&message.body, "/app/join");
    assert_eq!(code, invite["code"].as_str().unwrap());
    app.post(
        "/api/v1/invites/accept",
        &Auth::None,
        json!({"code": code, "email": "theo@riverside.example", "display_name": "Theo", "password": PASSWORD}),
    )
    .await
    .expect(StatusCode::CREATED);
}

async fn rules_preview_replays_recent_weeks(backend: Backend) {
    let w = setup(backend, "Europe/London", monday()).await;
    walk_week(&w, &EASY).await;
    let stored = review(&w).await;
    assert_eq!(stored["output"]["decision"], "advance");
    let path = format!("/api/v1/patients/{}/rules/preview", w.patient_id);
    let preview = |body: Value| w.app.post(&path, &w.therapist, body);

    // The same rules replay to the same decision: the same engine function.
    let same = preview(json!({"rules": {}})).await.expect(StatusCode::OK);
    assert_eq!(same["weeks"].as_array().unwrap().len(), 1);
    assert_eq!(same["weeks"][0]["week_start"], "2026-11-02");
    // Both sides carry the reasons in the care team's words, as the stored review does.
    let mut expected = stored["output"].clone();
    expected["reason_texts"] = stored["reason_texts"].clone();
    assert_eq!(same["weeks"][0]["was"], expected);
    assert_eq!(same["weeks"][0]["would_be"], expected);

    // Stricter: one walk's pain during (4) breaches a maximum of 3, so the week holds.
    let strict = preview(json!({"rules": {"pain_during_max": 3}}))
        .await
        .expect(StatusCode::OK);
    let would_be = &strict["weeks"][0]["would_be"];
    assert_eq!(would_be["decision"], "hold");
    assert_eq!(would_be["interval_s"], 300);
    assert_eq!(strict["rules"]["pain_during_max"], 3);
    // Bolder: a 20% step.
    let bold = preview(json!({"rules": {"increase_pct": 20}, "weeks": 4}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(bold["weeks"][0]["would_be"]["interval_s"], 360);

    // Refused with the engine's own words; nothing is saved either way.
    let bad = preview(json!({"rules": {"increase_pct": 25}}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad["error"], "rules.increase_pct = 25 is outside 10..=20");
    let bad = preview(json!({"rules": {}, "weeks": 0}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad["field"], "weeks");
    let rules = w
        .app
        .get(
            &format!("/api/v1/patients/{}/rules", w.patient_id),
            &w.therapist,
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(rules["current"]["version"], 1);
    w.app
        .post(&path, &w.patient, json!({"rules": {}}))
        .await
        .expect(StatusCode::FORBIDDEN);
}

async fn clinic_defaults_shape_new_patients(backend: Backend) {
    let app = TestApp::new(backend, monday()).await;
    let admin = app
        .clinic("Riverside Physio", "admin@riverside.example")
        .await;
    let therapist = app.therapist(&admin, "tess@riverside.example").await;
    let clinic = app
        .get("/api/v1/clinic", &therapist)
        .await
        .expect(StatusCode::OK);
    assert_eq!(clinic["name"], "Riverside Physio");
    assert_eq!(clinic["default_plan"]["interval_s"], 300);

    let defaults = json!({
        "rules": {"increase_pct": 15},
        "plan": {"interval_s": 240, "bouts": 2, "rest_s": 60, "sessions_per_week": 4}
    });
    app.put("/api/v1/clinic/defaults", &therapist, defaults.clone())
        .await
        .expect(StatusCode::FORBIDDEN);
    let bad = json!({"plan": {"interval_s": 30, "bouts": 2, "rest_s": 60, "sessions_per_week": 4}});
    let answer = app
        .put("/api/v1/clinic/defaults", &admin, bad)
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["field"], "plan.interval_s");
    let saved = app
        .put("/api/v1/clinic/defaults", &admin, defaults)
        .await
        .expect(StatusCode::OK);
    assert_eq!(saved["default_rules"]["increase_pct"], 15);

    let patient = app
        .patient(&admin, id(&therapist), "Europe/London", "pat@example.org")
        .await;
    let today = app
        .get("/api/v1/me/today", &patient)
        .await
        .expect(StatusCode::OK);
    assert_eq!(today["plan"]["interval_s"], 240);
    assert_eq!(today["plan"]["sessions_per_week"], 4);
    let rules = app
        .get(
            &format!("/api/v1/patients/{}/rules", id(&patient)),
            &therapist,
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(rules["current"]["rules"]["increase_pct"], 15);
}

async fn a_session_can_recover_its_csrf_token(backend: Backend) {
    let w = setup(backend, "Europe/London", monday()).await;
    let Auth::User(login) = &w.patient else {
        panic!("a logged-in patient")
    };
    let token = w
        .app
        .get("/api/v1/auth/csrf", &Auth::CookieOnly(login.clone()))
        .await
        .expect(StatusCode::OK);
    assert_eq!(token["csrf_token"], login.csrf);
    w.app
        .get("/api/v1/auth/csrf", &Auth::None)
        .await
        .expect(StatusCode::UNAUTHORIZED);
}

/// After downtime the weekly job reviews the missed weeks; the patient hears about the latest
/// one only, not once per week.
async fn a_catch_up_tells_the_patient_once(backend: Backend) {
    let w = setup(backend, "Europe/London", monday()).await;
    walk_week(&w, &EASY).await;
    // Monday 23 November: the weeks of 2, 9 and 16 November have all ended.
    let at = utc(2026, 11, 23, 8, 0);
    let summary = stepwise_server::weekly::run_due_reviews(w.app.db.store.as_ref(), at)
        .await
        .unwrap();
    assert_eq!(summary.reviewed, 3);
    w.app.clock.set(at);
    // Three weeks on, the therapist's week-long login has ended.
    let therapist = w.app.login("tess@riverside.example", PASSWORD).await;
    let path = format!(
        "/api/v1/patients/{}/reminders?from=2026-11-01&to=2026-11-30",
        w.patient_id
    );
    let reminders = w.app.get(&path, &therapist).await.expect(StatusCode::OK);
    let news: Vec<&Value> = reminders
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "plan_change")
        .collect();
    assert_eq!(news.len(), 1, "{reminders}");
    // The week of 16 November had no walks: it holds, and says so.
    assert_eq!(
        news[0]["message"]["title"],
        "Your walking plan stays the same"
    );
}

/// The clinic's contact in the safety advice: set by its admin, validated, cleared by empty
/// fields (back to the default wording), refused to anyone else.
async fn the_clinic_admin_sets_the_safety_contact(backend: Backend) {
    let app = TestApp::new(backend, monday()).await;
    let admin = app
        .clinic("Riverside Physio", "admin@riverside.example")
        .await;
    let therapist = app.therapist(&admin, "tess@riverside.example").await;
    let clinic = app
        .get("/api/v1/clinic", &admin)
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        clinic["safety_contact"],
        json!({"phone": null, "text": null})
    );
    let saved = app
        .put(
            "/api/v1/clinic/safety-contact",
            &admin,
            json!({"phone": " +44 20 7946 0000 ", "text": "Call us 8:00-18:00, Mon-Fri."}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        saved["safety_contact"],
        json!({"phone": "+44 20 7946 0000", "text": "Call us 8:00-18:00, Mon-Fri."})
    );
    let bad = app
        .put(
            "/api/v1/clinic/safety-contact",
            &admin,
            json!({"phone": "call me"}),
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad["field"], "phone");
    let bad = app
        .put("/api/v1/clinic/safety-contact", &admin, json!({"fax": "1"}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad["error"].as_str().unwrap().contains("fax"), "{bad}");
    app.put(
        "/api/v1/clinic/safety-contact",
        &therapist,
        json!({"phone": "1"}),
    )
    .await
    .expect(StatusCode::FORBIDDEN);
    let cleared = app
        .put(
            "/api/v1/clinic/safety-contact",
            &admin,
            json!({"phone": "", "text": null}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        cleared["safety_contact"],
        json!({"phone": null, "text": null})
    );
}

/// A red flag reviews its week at once; a completed week the job has not reviewed yet (the
/// red flag came in the first minute of Monday) is reviewed first, not skipped for good.
async fn a_red_flag_first_thing_on_monday_leaves_no_week_unreviewed(backend: Backend) {
    let w = setup(backend, "Europe/London", monday()).await;
    walk_week(&w, &EASY).await;
    let start = utc(2026, 11, 9, 0, 0);
    w.app.walk(&w.patient, start, 5, 2, 9).await;
    let reviews = w
        .app
        .get(
            &format!("/api/v1/patients/{}/reviews", w.patient_id),
            &w.therapist,
        )
        .await
        .expect(StatusCode::OK);
    let weeks: Vec<(&str, &str)> = reviews
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["week_start"].as_str().unwrap(),
                r["output"]["decision"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        weeks,
        [("2026-11-02", "advance"), ("2026-11-09", "escalate")]
    );
}

/// The next-morning check (engine contract version 2), in Berlin across the autumn clock
/// change: asked when the patient's quiet hours end (07:30 local, 06:30 UTC on Sunday 25
/// October, the first morning of CET), not answerable before 04:00 that morning, answered
/// once, listed on today's page while open, and counted by the weekly review.
async fn the_next_morning_check_after_quiet_hours_across_dst_counts_once(backend: Backend) {
    let joined = utc(2026, 10, 19, 7, 0);
    let w = setup(backend, "Europe/Berlin", joined).await;
    w.app
        .put(
            "/api/v1/me/reminder-settings",
            &w.patient,
            json!({"session_reminders": false, "session_times": [], "session_days": [],
                   "quiet_hours": {"start": "22:00", "end": "07:30"}}),
        )
        .await
        .expect(StatusCode::OK);
    // Three comfortable walks; the Saturday one ends at 18:20 CEST, the evening before DST ends.
    let starts = [
        utc(2026, 10, 20, 16, 0),
        utc(2026, 10, 22, 16, 0),
        utc(2026, 10, 24, 16, 0),
    ];
    let mut walks = Vec::new();
    for start in starts {
        let id = w.app.walk(&w.patient, start, 20, 2, 3).await;
        w.app
            .answer(&w.patient, id, start + TimeDelta::minutes(20), 2)
            .await;
        walks.push(id);
    }
    let saturday = walks[2];
    let reminders = w
        .app
        .get(
            &format!(
                "/api/v1/patients/{}/reminders?from=2026-10-24&to=2026-10-26",
                w.patient_id
            ),
            &w.therapist,
        )
        .await
        .expect(StatusCode::OK);
    let morning: Vec<&Value> = reminders
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "next_morning_check" && r["session_id"] == saturday)
        .collect();
    assert_eq!(morning.len(), 1, "{reminders}");
    assert_eq!(morning[0]["due_at"], "2026-10-25T06:30:00Z");
    assert_eq!(morning[0]["state"], "pending");

    let path = format!("/api/v1/me/sessions/{saturday}/next-morning-check");
    // Saturday night: too early.
    w.app.clock.set(utc(2026, 10, 24, 22, 0));
    let early = w
        .app
        .post(&path, &w.patient, json!({"pain_next_morning": 3}))
        .await
        .expect(StatusCode::CONFLICT);
    assert!(
        early["error"]
            .as_str()
            .unwrap()
            .contains("opens on Sun 25 Oct at 04:00"),
        "{early}"
    );
    // Sunday 07:40 CET: listed on today's page, answered (a rise of 3 over pain before 2).
    w.app.clock.set(utc(2026, 10, 25, 6, 40));
    let today = w
        .app
        .get("/api/v1/me/today", &w.patient)
        .await
        .expect(StatusCode::OK);
    let due: Vec<&Value> = today["morning_checks_due"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["id"])
        .collect();
    assert_eq!(due, [&json!(saturday)], "{today}");
    let answered = w
        .app
        .post(&path, &w.patient, json!({"pain_next_morning": 5}))
        .await
        .expect(StatusCode::OK);
    assert_eq!(answered["pain_next_morning"], 5);
    assert_eq!(answered["next_morning_answered_at"], "2026-10-25T06:40:00Z");
    assert!(answered.get("safety").is_none());
    // Once: the same answer again is fine, another is a conflict; the question is withdrawn.
    w.app
        .post(&path, &w.patient, json!({"pain_next_morning": 5}))
        .await
        .expect(StatusCode::OK);
    w.app
        .post(&path, &w.patient, json!({"pain_next_morning": 2}))
        .await
        .expect(StatusCode::CONFLICT);
    let bad = w
        .app
        .post(&path, &w.patient, json!({"pain_next_morning": 11}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad["field"], "pain_next_morning");
    let reminders = w
        .app
        .get(
            &format!(
                "/api/v1/patients/{}/reminders?from=2026-10-24&to=2026-10-26",
                w.patient_id
            ),
            &w.therapist,
        )
        .await
        .expect(StatusCode::OK);
    let states: Vec<&Value> = reminders
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "next_morning_check" && r["session_id"] == saturday)
        .map(|r| &r["state"])
        .collect();
    assert_eq!(states, [&json!("cancelled")]);

    // The weekly review counts it: a rise of 3 by the next morning breaches (allowed 2).
    w.app.clock.set(utc(2026, 10, 26, 0, 30));
    let r = review_of(&w, "2026-10-19")
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(r["output"]["decision"], "hold", "{r}");
    assert_eq!(codes(&r), ["pain_next_morning_rise_over_max"]);
    assert_eq!(r["evidence"]["sessions"][2]["pain_next_morning"], 5);
    assert!(
        r["evidence"]["sessions"][0]
            .get("pain_next_morning")
            .is_none()
    );
}
