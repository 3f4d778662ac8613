//! The pre-visit report against a hand-computed fixture, on SQLite and PostgreSQL: four weeks
//! in London (5 Oct – 1 Nov 2026) with missed two-hour checks, one flare and one regress.
//!
//! The fixture, and the figures worked out by hand:
//! - Plan: 5 sessions a week, interval 300 s. Walks at 10:00 UTC, 20 minutes each.
//!   - Week of 5 Oct: Mon, Wed, Fri, Sat; all checks answered (2) → advance 300 → 330 s.
//!   - Week of 12 Oct: Mon, Wed, Fri; Wed and Fri answered 6 and 7 → regress 330 → 264 s.
//!   - Week of 19 Oct: Mon, Tue, Thu, Sat; Tue and Sat unanswered → hold. A flare on 22 Oct.
//!   - Week of 26 Oct: Mon, Wed, Fri, Sun; all answered → advance 264 → 290 s (decided on
//!     2 Nov, after the window, so the window's interval ends at 264 s).
//! - Done 15 of 20 prescribed (75%, not adherent); weeks 4/5, 3/5, 4/5, 4/5.
//! - Two-hour checks: 13 of 15 answered.
//! - The band saw the walks of the first two weeks and of 26 and 28 Oct (90 steps/min): 9 of
//!   15 verified, 6 without band data. Sleep: 420 min ending 6 and 7 Oct, 360 min ending 27
//!   and 28 Oct. Days with band data: 9 walking days + 6 Oct + 27 Oct = 11.
//! - Weekly mean pain two hours after: 2.0, 5.0, 2.0, 2.0 (before: 2.0 every week).
//! - Steps: first week 1,800/day, last week 1,800/day (no change). Sleep: 420 → 360 min/night
//!   (−60, flagged).
//! - Attention, most urgent first: 1 flare; 2 walks over the pain limits (14 and 16 Oct); 2 of
//!   15 checks unanswered; 15 of 20 sessions (75%) below 80%; no band data for 4 days (since
//!   28 Oct); sleep fell by 60 min a night.

mod common;

use axum::http::{Method, StatusCode};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use common::*;
use serde_json::{Value, json};
use stepwise_testkit::{Backend, backend_tests};

backend_tests!(
    report_matches_the_hand_computed_fixture,
    clinic_view_lists_upcoming_visits_by_attention,
    pre_visit_list_judges_only_what_is_due_and_keeps_acknowledged_escalations,
    patient_list_ranks_by_attention
);

struct Fixture {
    app: TestApp,
    admin: Auth,
    therapist: Auth,
    patient: Auth,
    id: i64,
}

/// 10:00 UTC on a day of October (or November for day > 31).
fn at10(day: u32) -> DateTime<Utc> {
    if day > 31 {
        utc(2026, 11, day - 31, 10, 0)
    } else {
        utc(2026, 10, day, 10, 0)
    }
}

fn walking(start: DateTime<Utc>, minutes: i64) -> Vec<Value> {
    (0..minutes)
        .map(|i| json!({"minute": start + TimeDelta::minutes(i), "steps": 90}))
        .collect()
}

async fn fixture(backend: Backend) -> Fixture {
    let app = TestApp::new(backend, utc(2026, 10, 5, 7, 0)).await;
    let admin = app
        .clinic("Riverside Physio", "admin@riverside.example")
        .await;
    let therapist = app.therapist(&admin, "tess@riverside.example").await;
    let patient = app
        .patient(&admin, id(&therapist), "Europe/London", "pat@example.org")
        .await;
    let id = id(&patient);
    let mut f = Fixture {
        app,
        admin,
        therapist,
        patient,
        id,
    };
    let band = f.app.pair_band(&f.patient).await;

    // (days of October, pain two hours after: None = unanswered)
    let weeks: [&[(u32, Option<i64>)]; 4] = [
        &[(5, Some(2)), (7, Some(2)), (9, Some(2)), (10, Some(2))],
        &[(12, Some(2)), (14, Some(6)), (16, Some(7))],
        &[(19, Some(2)), (20, None), (22, Some(2)), (24, None)],
        &[(26, Some(2)), (28, Some(2)), (30, Some(2)), (32, Some(2))],
    ];
    let band_walks = [5, 7, 9, 10, 12, 14, 16, 26, 28];
    for (week, walks) in weeks.iter().enumerate() {
        // Logins last a week: log in afresh each week.
        f.app
            .clock
            .set(at10(5 + 7 * week as u32) - TimeDelta::hours(2));
        f.patient = f.app.login("pat@example.org", PASSWORD).await;
        f.therapist = f.app.login("tess@riverside.example", PASSWORD).await;
        for &(day, after) in *walks {
            let start = at10(day);
            let session = f.app.walk(&f.patient, start, 20, 2, 3).await;
            if let Some(pain) = after {
                f.app
                    .answer(&f.patient, session, start + TimeDelta::minutes(20), pain)
                    .await;
            }
            if week == 2 && day == 22 {
                f.app
                    .post("/api/v1/me/flares", &f.patient, json!({"client_id": "flare-1", "started_at": start + TimeDelta::hours(2), "pain": 7, "notes": "knee <swollen> & hot"}))
                    .await
                    .expect(StatusCode::CREATED);
            }
        }
        let mut steps = Vec::new();
        for &(day, _) in *walks {
            if band_walks.contains(&day) {
                steps.extend(walking(at10(day), 20));
            }
        }
        let sleep: Vec<Value> = match week {
            0 => vec![
                json!({"start": "2026-10-05T23:00:00Z", "end": "2026-10-06T06:00:00Z", "stage": "light"}),
                json!({"start": "2026-10-06T23:00:00Z", "end": "2026-10-07T06:00:00Z", "stage": "deep"}),
            ],
            3 => vec![
                json!({"start": "2026-10-27T00:00:00Z", "end": "2026-10-27T06:00:00Z", "stage": "light"}),
                json!({"start": "2026-10-28T00:00:00Z", "end": "2026-10-28T06:00:00Z", "stage": "rem"}),
            ],
            _ => vec![],
        };
        // A collector sends nothing when the band had nothing (an empty upload is refused).
        if !steps.is_empty() || !sleep.is_empty() {
            f.app
                .post(
                    "/api/v1/samples",
                    &band,
                    json!({"steps": steps, "sleep": sleep}),
                )
                .await
                .expect(StatusCode::OK);
        }
        // The week ends: Monday 00:30 UTC is 01:30 (BST) or 00:30 (GMT) in London.
        f.app
            .clock
            .set(at10(12 + 7 * week as u32) - TimeDelta::minutes(570));
        stepwise_server::weekly::run_due_reviews(f.app.db.store.as_ref(), f.app.now())
            .await
            .unwrap();
    }
    f.admin = f.app.login("admin@riverside.example", PASSWORD).await;
    f.therapist = f.app.login("tess@riverside.example", PASSWORD).await;
    let outcomes = [
        ("oswestry", 40.0, "2026-10-05"),
        ("six_minute_walk", 300.0, "2026-10-05"),
        ("oswestry", 32.0, "2026-11-01"),
        ("six_minute_walk", 345.0, "2026-11-01"),
    ];
    for (kind, value, day) in outcomes {
        f.app
            .post(
                &format!("/api/v1/patients/{}/outcomes", f.id),
                &f.therapist,
                json!({"kind": kind, "value": value, "measured_on": day}),
            )
            .await
            .expect(StatusCode::CREATED);
    }
    f.app
        .put(
            &format!("/api/v1/patients/{}/next-visit", f.id),
            &f.therapist,
            json!({"next_visit": "2026-11-02"}),
        )
        .await
        .expect(StatusCode::NO_CONTENT);
    f
}

async fn report_matches_the_hand_computed_fixture(backend: Backend) {
    let f = fixture(backend).await;
    let path = format!(
        "/api/v1/patients/{}/report?from=2026-10-05&to=2026-11-01",
        f.id
    );
    let r = f.app.get(&path, &f.therapist).await.expect(StatusCode::OK);

    assert_eq!(r["from"], "2026-10-05");
    assert_eq!(r["to"], "2026-11-01");
    let weeks: Vec<(u64, u64)> = r["adherence"]["weeks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["done"].as_u64().unwrap(),
                w["prescribed"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(weeks, [(4, 5), (3, 5), (4, 5), (4, 5)]);
    assert_eq!(r["adherence"]["done"], 15);
    assert_eq!(r["adherence"]["prescribed"], 20);
    assert_eq!(r["adherence"]["share"], 0.75);
    assert_eq!(r["adherence"]["adherent"], false);
    assert_eq!(
        r["two_hour_checks"],
        json!({"walks": 15, "answered": 13, "missed": 2, "waiting": 0, "share": 13.0 / 15.0})
    );
    assert_eq!(
        r["verification"],
        json!({"walks": 15, "verified": 9, "not_verified": 0, "no_data": 6, "share": 0.6})
    );
    assert_eq!(
        r["band_data_periods"],
        json!([{"from": "2026-10-05", "to": "2026-11-01", "days": 11}])
    );
    let after: Vec<f64> = r["pain_weeks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["mean_after_2h"].as_f64().unwrap())
        .collect();
    assert_eq!(after, [2.0, 5.0, 2.0, 2.0]);
    let before: Vec<f64> = r["pain_weeks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["mean_before"].as_f64().unwrap())
        .collect();
    assert_eq!(before, [2.0, 2.0, 2.0, 2.0]);
    assert_eq!(r["flares"].as_array().unwrap().len(), 1);
    assert_eq!(r["interval"]["start_s"], 300);
    assert_eq!(r["interval"]["end_s"], 264);
    let changes: Vec<(i64, i64)> = r["interval"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["from_interval_s"].as_i64().unwrap(),
                c["to_interval_s"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(changes, [(300, 330), (330, 264)]);
    let decisions: Vec<(&str, &str, i64)> = r["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["week_start"].as_str().unwrap(),
                d["decision"].as_str().unwrap(),
                d["interval_s"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        decisions,
        [
            ("2026-10-05", "advance", 330),
            ("2026-10-12", "regress", 264),
            ("2026-10-19", "hold", 264),
            ("2026-10-26", "advance", 290)
        ]
    );
    assert_eq!(r["steps_trend"]["first_week_mean"], 1800.0);
    assert_eq!(r["steps_trend"]["last_week_mean"], 1800.0);
    assert_eq!(r["steps_trend"]["flagged"], false);
    assert_eq!(r["sleep_trend"]["first_week_mean"], 420.0);
    assert_eq!(r["sleep_trend"]["last_week_mean"], 360.0);
    assert_eq!(r["sleep_trend"]["change"], -60.0);
    assert_eq!(r["sleep_trend"]["flagged"], true);
    assert_eq!(r["open_escalations"], json!([]));
    let outcomes: Vec<(&str, f64)> = r["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["kind"].as_str().unwrap(), o["change"].as_f64().unwrap()))
        .collect();
    assert_eq!(outcomes, [("oswestry", -8.0), ("six_minute_walk", 45.0)]);
    let attention: Vec<&str> = r["attention"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        attention,
        [
            "flares",
            "pain_limit_breaches",
            "missed_two_hour_checks",
            "low_adherence",
            "band_silence",
            "falling_sleep",
        ]
    );
    let messages: Vec<&str> = r["attention"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        [
            // 12:00 UTC on 22 Oct is 13:00 in London (summer time).
            "1 flare reported, the latest Thu 22 Oct 13:00 (pain 7/10)",
            "2 walks over the pain limits (during above 5, or two hours after above 5), the latest on Fri 16 Oct",
            "2 of 15 two-hour pain checks were not answered",
            "15 of 20 prescribed sessions done in the complete weeks (75%), below 80%",
            "No band data for 4 days (the last on Wed 28 Oct)",
            "Sleep fell by 60 min a night",
        ]
    );
    assert_eq!(
        r["summary"],
        "From 5 Oct 2026 to 1 Nov 2026, pat did 15 of 20 prescribed walks (75%). The band confirmed 9 of 15 walks. \
         13 of 15 two-hour pain checks were answered. The walking interval went from 5 min to 4 min 24 s. 6 items need attention."
    );

    // The default window is the 30 days before the visit on 2 November.
    let default = f
        .app
        .get(&format!("/api/v1/patients/{}/report", f.id), &f.therapist)
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        (default["from"].as_str(), default["to"].as_str()),
        (Some("2026-10-03"), Some("2026-11-01"))
    );
    // 3 and 4 October come before the patient joined: nothing was prescribed for them.
    assert_eq!(default["adherence"]["weeks"][0]["days_in_window"], 0);
    assert_eq!(default["adherence"]["prescribed"], 20);

    // Exports: CSV rows, SVG charts, the printable page, the FHIR bundle; each audited.
    let q = "?from=2026-10-05&to=2026-11-01";
    let sessions = f
        .app
        .raw(
            Method::GET,
            &format!("/api/v1/patients/{}/report/sessions.csv{q}", f.id),
            &f.therapist,
            None,
            "",
        )
        .await;
    assert_eq!(sessions.status, StatusCode::OK);
    assert_eq!(sessions.headers["content-type"], "text/csv; charset=utf-8");
    for name in ["interval.svg", "pain.svg", "steps.svg", "sleep.svg"] {
        let svg = f
            .app
            .raw(
                Method::GET,
                &format!("/api/v1/patients/{}/report/charts/{name}{q}", f.id),
                &f.therapist,
                None,
                "",
            )
            .await;
        assert_eq!(svg.status, StatusCode::OK, "{name}");
        assert_eq!(svg.headers["content-type"], "image/svg+xml");
    }
    let page = f
        .app
        .raw(
            Method::GET,
            &format!("/clinic/patients/{}/report{q}", f.id),
            &f.therapist,
            None,
            "",
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    // A page with patient data is never kept by a browser or a proxy, as the API is not.
    assert_eq!(page.headers["cache-control"], "no-store");
    let fhir = f
        .app
        .get(
            &format!("/api/v1/patients/{}/report/fhir{q}", f.id),
            &f.therapist,
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(fhir["resourceType"], "Bundle");
    assert_eq!(fhir["type"], "collection");

    // The one band, paired over Bluetooth, gave every day with band data: 9 days of walks
    // (their minutes) and 2 more with only a night (6 and 27 October).
    let devices = r["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 1, "{devices:?}");
    assert_eq!(devices[0]["imported"], false);
    let band = devices[0]["id"].as_i64().unwrap();
    let device_days = r["device_days"].as_array().unwrap();
    assert_eq!(device_days.len(), 11);
    assert!(device_days.iter().all(|d| d["device_id"] == band));
    let sleep_only: Vec<&str> = device_days
        .iter()
        .filter(|d| d["steps"] == false)
        .map(|d| d["date"].as_str().unwrap())
        .collect();
    assert_eq!(sleep_only, ["2026-10-06", "2026-10-27"]);
    // Each complete week's moderate-to-vigorous activity: the logged walks, band or not.
    let walked = |week: &str| -> i64 {
        let monday = NaiveDate::parse_from_str(week, "%Y-%m-%d").unwrap();
        r["walks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| {
                let day =
                    NaiveDate::parse_from_str(w["day"].as_str().unwrap(), "%Y-%m-%d").unwrap();
                day >= monday && (day - monday).num_days() < 7
            })
            .map(|w| w["walked_s"].as_i64().unwrap())
            .sum()
    };
    let activity: Vec<(&str, u64, i64, usize)> = r["activity_weeks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["week_start"].as_str().unwrap(),
                w["active_days"].as_u64().unwrap(),
                w["walked_s"].as_i64().unwrap(),
                w["sessions"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(
        activity,
        [
            ("2026-10-05", 4, walked("2026-10-05"), 4),
            ("2026-10-12", 3, walked("2026-10-12"), 3),
            ("2026-10-19", 4, walked("2026-10-19"), 4),
            ("2026-10-26", 4, walked("2026-10-26"), 4),
        ]
    );
    // In the bundle: one Device, named by the steps of every day with minutes.
    let resources: Vec<&Value> = fhir["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .collect();
    let band_id = band.to_string();
    let device_url = fhir["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["resource"]["resourceType"] == "Device"
                && e["resource"]["identifier"][0]["value"].as_str() == Some(band_id.as_str())
        })
        .map(|e| e["fullUrl"].clone())
        .expect("the band's Device");
    let steps: Vec<&&Value> = resources
        .iter()
        .filter(|o| o["code"]["coding"][0]["code"] == "41950-7")
        .collect();
    assert_eq!(steps.len(), 9);
    assert!(steps.iter().all(|o| o["device"]["reference"] == device_url));
    assert_eq!(
        resources
            .iter()
            .filter(|o| o["code"]["coding"][0]["code"] == "82290-8")
            .count(),
        4
    );
    let missing = f
        .app
        .get(
            &format!("/api/v1/patients/{}/report/other.csv", f.id),
            &f.therapist,
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let log = f
        .app
        .get(&format!("/api/v1/patients/{}/audit", f.id), &f.admin)
        .await
        .expect(StatusCode::OK);
    let actions: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "read patient.report",
        "export patient.sessions.csv",
        "export patient.fhir",
    ] {
        assert!(
            actions.contains(&action),
            "{action} not audited: {actions:?}"
        );
    }
    // Bad input.
    let e = f
        .app
        .get(
            &format!(
                "/api/v1/patients/{}/report?from=2026-11-01&to=2026-10-01",
                f.id
            ),
            &f.therapist,
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "from");
    let e = f
        .app
        .post(
            &format!("/api/v1/patients/{}/outcomes", f.id),
            &f.therapist,
            json!({"kind": "oswestry", "value": 140, "measured_on": "2026-10-05"}),
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "value");
    let e = f
        .app
        .post(
            &format!("/api/v1/patients/{}/outcomes", f.id),
            &f.therapist,
            json!({"kind": "grip_strength", "value": 14, "measured_on": "2026-10-05"}),
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "kind");
}

async fn clinic_view_lists_upcoming_visits_by_attention(backend: Backend) {
    let f = fixture(backend).await;
    // A second patient with a visit, no data, no escalation; a third without a visit.
    let calm = f
        .app
        .patient(
            &f.admin,
            id(&f.therapist),
            "Europe/London",
            "calm@example.org",
        )
        .await;
    f.app
        .patient(
            &f.admin,
            id(&f.therapist),
            "Europe/London",
            "novisit@example.org",
        )
        .await;
    let therapist = f.app.login("tess@riverside.example", PASSWORD).await;
    f.app
        .put(
            &format!("/api/v1/patients/{}/next-visit", id(&calm)),
            &therapist,
            json!({"next_visit": "2026-11-05"}),
        )
        .await
        .expect(StatusCode::NO_CONTENT);
    let rows = f
        .app
        .get("/api/v1/clinic/visits", &therapist)
        .await
        .expect(StatusCode::OK);
    let names: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["display_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["pat", "calm"]);
    assert_eq!(rows[0]["next_visit"], "2026-11-02");
    assert_eq!(rows[0]["sessions_done"], 15);
    assert_eq!(rows[0]["band_data_days"], 11);
    let e = f
        .app
        .get("/api/v1/clinic/visits?within_days=999", &therapist)
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "within_days");
}

/// The pre-visit list (and the report it comes from): a check not yet due is not missed, an
/// acknowledged escalation in the period stays in view with its note, and the week in progress
/// raises no adherence item. London, November (GMT): a patient who walked five times in each
/// of the weeks of 2 and 9 Nov (red-flag pain on Tue 10 Nov, acknowledged with a note), and
/// once so far in the week of 16 Nov — an hour ago, its check not open yet.
async fn pre_visit_list_judges_only_what_is_due_and_keeps_acknowledged_escalations(
    backend: Backend,
) {
    let app = TestApp::new(backend, utc(2026, 11, 2, 7, 0)).await;
    let admin = app
        .clinic("Riverside Physio", "admin@riverside.example")
        .await;
    let therapist = app.therapist(&admin, "tess@riverside.example").await;
    let patient = app
        .patient(&admin, id(&therapist), "Europe/London", "pat@example.org")
        .await;
    let pid = id(&patient);
    for (week, days) in [(2u32, [2u32, 3, 4, 5, 6]), (9, [9, 10, 11, 12, 13])] {
        // Logins last a week: log in afresh each week.
        app.clock.set(utc(2026, 11, week, 8, 0));
        let patient = app.login("pat@example.org", PASSWORD).await;
        for day in days {
            let start = utc(2026, 11, day, 10, 0);
            // Red-flag pain during the walk of Tue 10 Nov: the week escalates at once.
            let during = if day == 10 { 9 } else { 3 };
            let session = app.walk(&patient, start, 20, 2, during).await;
            app.answer(&patient, session, start + TimeDelta::minutes(20), 2)
                .await;
        }
    }
    app.clock.set(utc(2026, 11, 16, 8, 0));
    let patient = app.login("pat@example.org", PASSWORD).await;
    let therapist = app.login("tess@riverside.example", PASSWORD).await;
    let reviews = app
        .get(&format!("/api/v1/patients/{pid}/reviews"), &therapist)
        .await
        .expect(StatusCode::OK);
    let escalation = reviews
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["output"]["decision"] == "escalate")
        .expect("the red flag escalated")
        .clone();
    assert_eq!(escalation["week_start"], "2026-11-09");
    app.clock.set(utc(2026, 11, 16, 9, 30));
    app.post(
        &format!(
            "/api/v1/patients/{pid}/reviews/{}/acknowledge",
            escalation["id"]
        ),
        &therapist,
        json!({"note": "Phoned: a stumble on the stairs, settled with rest <b>& ice</b>"}),
    )
    .await
    .expect(StatusCode::OK);
    // Wed 18 Nov: a walk ended an hour ago, its two-hour check not open yet.
    app.walk(&patient, utc(2026, 11, 18, 10, 40), 20, 2, 3)
        .await;
    app.clock.set(utc(2026, 11, 18, 12, 0));
    app.put(
        &format!("/api/v1/patients/{pid}/next-visit"),
        &therapist,
        json!({"next_visit": "2026-11-20"}),
    )
    .await
    .expect(StatusCode::NO_CONTENT);

    let rows = app
        .get("/api/v1/clinic/visits", &therapist)
        .await
        .expect(StatusCode::OK);
    let row = &rows[0];
    assert_eq!(row["patient_id"], pid);
    let codes: Vec<&str> = row["attention"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_str().unwrap())
        .collect();
    // The red-flag walk is over the pain limit; nothing is missed (the new check is not due);
    // 1 walk so far this week is not judged; the acknowledged escalation is still there.
    assert_eq!(
        codes,
        ["pain_limit_breaches", "acknowledged_escalation"],
        "{row}"
    );
    assert_eq!(
        row["attention"][1]["message"],
        "Escalation in the week of 9 Nov — acknowledged Mon 16 Nov 09:30: “Phoned: a stumble on the stairs, settled with rest <b>& ice</b>”"
    );
    assert_eq!(row["attention"][1]["level"], "note");
    assert_eq!(row["attention"][1]["title"], "Escalation acknowledged");
    assert_eq!(row["open_escalations"], 0);

    let report = app
        .get(&format!("/api/v1/patients/{pid}/report"), &therapist)
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        report["two_hour_checks"],
        json!({"walks": 11, "answered": 10, "missed": 0, "waiting": 1, "share": 1.0})
    );
    let weeks: Vec<(bool, u64, u64)> = report["adherence"]["weeks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["prescribed"].as_u64() > Some(0))
        .map(|w| {
            (
                w["complete"].as_bool().unwrap(),
                w["done"].as_u64().unwrap(),
                w["prescribed"].as_u64().unwrap(),
            )
        })
        .collect();
    // The week of 16 Nov so far: 1 of 2 (Mon to Wed) — shown, not judged.
    assert_eq!(weeks, [(true, 5, 5), (true, 5, 5), (false, 1, 2)]);
    let decision = report["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["decision"] == "escalate")
        .unwrap();
    assert_eq!(
        decision["acknowledgement_note"],
        "Phoned: a stumble on the stairs, settled with rest <b>& ice</b>"
    );

    // The printable report says it in words and local time.
    let store = app.db.store.as_ref();
    let tz = chrono_tz::Europe::London;
    let from = chrono::NaiveDate::from_ymd_opt(2026, 10, 20).unwrap();
    let to = chrono::NaiveDate::from_ymd_opt(2026, 11, 18).unwrap();
    let loaded = stepwise_server::report::load(
        store,
        store.patient(pid).await.unwrap(),
        tz,
        (from, to),
        app.now(),
        false,
    )
    .await
    .unwrap();
    let page = stepwise_server::report::page::render(&loaded);
    assert!(page.contains("Escalate — therapist to review"), "{page}");
    assert!(
        page.contains("<strong>Escalation acknowledged:</strong> Escalation in the week of 9 Nov"),
        "{page}"
    );
    assert!(
        page.contains(
            "Acknowledged Mon 16 Nov 09:30: “Phoned: a stumble on the stairs, settled with rest \
             &lt;b&gt;&amp; ice&lt;/b&gt;”"
        ),
        "the note's markup is shown as text: {page}"
    );
    assert!(page.contains("(so far)"));
    assert!(!page.contains("UTC"), "times are local: {page}");
}

/// The patient list: one ranking with the pre-visit list, every row with its reasons in words.
async fn patient_list_ranks_by_attention(backend: Backend) {
    let f = fixture(backend).await;
    // Three more patients: one escalated (red-flag pain), one with a flare, one calm.
    let mut people = Vec::new();
    for email in ["esc@example.org", "flare@example.org", "calm@example.org"] {
        let p = f
            .app
            .patient(&f.admin, id(&f.therapist), "Europe/London", email)
            .await;
        people.push(p);
    }
    f.app
        .walk(&people[0], utc(2026, 11, 2, 10, 0), 20, 2, 9)
        .await;
    f.app
        .post(
            "/api/v1/me/flares",
            &people[1],
            json!({"client_id": "f-2", "started_at": utc(2026, 11, 2, 9, 0), "pain": 6}),
        )
        .await
        .expect(StatusCode::CREATED);
    let therapist = f.app.login("tess@riverside.example", PASSWORD).await;
    let rows = f
        .app
        .get("/api/v1/patients", &therapist)
        .await
        .expect(StatusCode::OK);
    let list: Vec<(&str, Vec<&str>)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["patient"]["display_name"].as_str().unwrap(),
                r["attention"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a["code"].as_str().unwrap())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        list,
        [
            ("esc", vec!["open_escalation", "pain_limit_breaches"]),
            // pat: the fixture's month, its flare the most urgent item.
            (
                "pat",
                vec![
                    "flares",
                    "pain_limit_breaches",
                    "missed_two_hour_checks",
                    "low_adherence",
                    "band_silence",
                    "falling_sleep"
                ]
            ),
            ("flare", vec!["flares"]),
            ("calm", vec![]),
        ],
        "{rows}"
    );
    assert!(
        rows[0]["attention"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("Escalation waiting for acknowledgement")
    );
}
