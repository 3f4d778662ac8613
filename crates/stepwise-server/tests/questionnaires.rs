//! Questionnaires end to end through the API, on SQLite and PostgreSQL: a therapist schedules
//! them (at the start, every N weeks, before a visit), the planner asks them with a push, the
//! patient answers, the server scores — against the published examples the outcomes crate is
//! tested with (`crates/stepwise-outcomes/tests/psfs.rs`, `koos_jr.rs`) — and the report,
//! its chart and its CSV show the scores against the first with the MID.

mod common;

use axum::http::StatusCode;
use chrono::TimeDelta;
use common::*;
use serde_json::{Value, json};
use stepwise_server::reminders::plan_all;
use stepwise_testkit::{Backend, backend_tests};

backend_tests!(
    a_start_schedule_asks_at_once_with_a_push,
    every_n_weeks_asks_as_the_clock_moves,
    before_visit_asks_in_the_days_before_the_visit,
    scores_equal_the_published_examples,
    a_bad_answer_names_the_item_and_stores_nothing,
    a_retried_submit_stores_once,
    a_patient_cannot_answer_another_patients_questionnaire,
    a_psfs_follow_up_shows_the_first_activities,
    stopping_a_schedule_expires_its_questionnaire,
    the_report_charts_scores_against_the_first_with_the_mid,
    definitions_and_schedule_errors_name_the_field,
);

struct World {
    app: TestApp,
    therapist: Auth,
    patient: Auth,
    other: Auth,
    p: i64,
}

/// Monday 2 November 2026, 09:00 UTC (09:00 in London).
async fn world(backend: Backend) -> World {
    let app = TestApp::new(backend, utc(2026, 11, 2, 9, 0)).await;
    let admin = app
        .clinic("Riverside Physio", "admin@riverside.example")
        .await;
    let therapist = app.therapist(&admin, "t@riverside.example").await;
    let patient = app
        .patient(&therapist, id(&therapist), "Europe/London", "p@example.org")
        .await;
    let other = app
        .patient(&therapist, id(&therapist), "Europe/London", "q@example.org")
        .await;
    World {
        p: id(&patient),
        app,
        therapist,
        patient,
        other,
    }
}

impl World {
    async fn schedule(&self, body: Value) -> Value {
        self.app
            .post(
                &format!("/api/v1/patients/{}/questionnaire-schedules", self.p),
                &self.therapist,
                body,
            )
            .await
            .expect(StatusCode::CREATED)
    }

    async fn open(&self, who: &Auth) -> Vec<Value> {
        self.app
            .get("/api/v1/me/questionnaires", who)
            .await
            .expect(StatusCode::OK)["open"]
            .as_array()
            .unwrap()
            .clone()
    }

    async fn answer(&self, request: i64, client_id: &str, answers: Value) -> Answer {
        self.app
            .post(
                &format!("/api/v1/me/questionnaires/{request}/response"),
                &self.patient,
                json!({"client_id": client_id, "answers": answers}),
            )
            .await
    }

    async fn staff_view(&self) -> Value {
        self.app
            .get(
                &format!("/api/v1/patients/{}/questionnaires", self.p),
                &self.therapist,
            )
            .await
            .expect(StatusCode::OK)
    }

    async fn questionnaire_pushes(&self) -> Vec<Value> {
        self.app
            .get(
                &format!("/api/v1/patients/{}/reminders", self.p),
                &self.therapist,
            )
            .await
            .expect(StatusCode::OK)
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["kind"] == "questionnaire")
            .cloned()
            .collect()
    }

    /// Moves the clock on and logs everyone in again (a login idles out over days).
    async fn travel(&mut self, by: TimeDelta) {
        self.app.clock.advance(by);
        self.therapist = self.app.login("t@riverside.example", PASSWORD).await;
        self.patient = self.app.login("p@example.org", PASSWORD).await;
        self.other = self.app.login("q@example.org", PASSWORD).await;
    }

    async fn plan(&self) {
        plan_all(self.app.db.store.as_ref(), self.app.now())
            .await
            .unwrap();
    }
}

/// A chart or a table as text (200 expected).
async fn text(app: &TestApp, path: &str, auth: &Auth) -> String {
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;
    let Auth::User(login) = auth else {
        panic!("a login is needed")
    };
    let req = axum::http::Request::get(path)
        .header(axum::http::header::COOKIE, &login.cookie)
        .body(axum::body::Body::empty())
        .unwrap();
    let res = app.router.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// The PSFS example printed on its form's rule: three activities rated 3, 5 and 7 → 5.
fn psfs_example() -> Value {
    json!({
        "activity_1": "Climbing stairs", "rating_1": 3,
        "activity_2": "Walking to the shop", "rating_2": 5,
        "activity_3": "Gardening", "rating_3": 7,
    })
}

/// KOOS, JR.: Moderate, Moderate, Mild, Severe, Mild, Moderate, Severe → raw 14 → 52.465.
fn koos_example() -> Value {
    json!({
        "stiffness_morning": 2, "pain_twisting": 2, "pain_straightening": 1, "pain_stairs": 3,
        "pain_standing": 1, "function_rising": 2, "function_bending": 3,
    })
}

async fn a_start_schedule_asks_at_once_with_a_push(backend: Backend) {
    let w = world(backend).await;
    let schedule = w
        .schedule(json!({"client_id": "s1", "instrument": "psfs", "timing": "start"}))
        .await;
    assert_eq!(schedule["words"], "at the start");
    assert_eq!(schedule["active"], true);
    assert_eq!(schedule["starts_on"], "2026-11-02");
    let open = w.open(&w.patient).await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["instrument"], "psfs");
    assert_eq!(open[0]["due_on"], "2026-11-02");
    assert_eq!(open[0]["reason"], "at the start");
    let pushes = w.questionnaire_pushes().await;
    assert_eq!(pushes.len(), 1, "{pushes:?}");
    assert_eq!(
        pushes[0]["message"]["url"],
        format!("/app/questionnaires#request-{}", open[0]["id"])
    );
    // The planner asks nothing twice, and another patient is asked nothing.
    w.plan().await;
    assert_eq!(w.open(&w.patient).await.len(), 1);
    assert_eq!(w.questionnaire_pushes().await.len(), 1);
    assert!(w.open(&w.other).await.is_empty());
    // The same schedule again is the stored one (200), nothing more asked.
    let again = w
        .app
        .post(
            &format!("/api/v1/patients/{}/questionnaire-schedules", w.p),
            &w.therapist,
            json!({"client_id": "s1", "instrument": "psfs", "timing": "start"}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(again["id"], schedule["id"]);
    assert_eq!(w.open(&w.patient).await.len(), 1);
}

async fn every_n_weeks_asks_as_the_clock_moves(backend: Backend) {
    let mut w = world(backend).await;
    w.schedule(
        json!({"client_id": "s1", "instrument": "koos_jr", "timing": "every_weeks", "weeks": 2}),
    )
    .await;
    assert!(w.open(&w.patient).await.is_empty(), "not on the first day");
    w.travel(TimeDelta::days(13)).await;
    w.plan().await;
    assert!(w.open(&w.patient).await.is_empty(), "not before two weeks");
    w.travel(TimeDelta::days(1)).await;
    w.plan().await;
    let open = w.open(&w.patient).await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["due_on"], "2026-11-16");
    assert_eq!(open[0]["reason"], "every 2 weeks");
    assert_eq!(w.questionnaire_pushes().await.len(), 1);
    // Two weeks on, unanswered: the newer one replaces it.
    w.travel(TimeDelta::days(14)).await;
    w.plan().await;
    let open = w.open(&w.patient).await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["due_on"], "2026-11-30");
    let states: Vec<Value> = w.staff_view().await["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["state"].clone())
        .collect();
    assert_eq!(states, [json!("expired"), json!("open")]);
}

async fn before_visit_asks_in_the_days_before_the_visit(backend: Backend) {
    let mut w = world(backend).await;
    w.schedule(
        json!({"client_id": "s1", "instrument": "psfs", "timing": "before_visit", "days": 3}),
    )
    .await;
    w.plan().await;
    assert!(w.open(&w.patient).await.is_empty(), "no visit planned");
    w.app
        .put(
            &format!("/api/v1/patients/{}/next-visit", w.p),
            &w.therapist,
            json!({"next_visit": "2026-11-12"}),
        )
        .await
        .expect(StatusCode::NO_CONTENT);
    w.travel(TimeDelta::days(5)).await; // 7 Nov: five days before
    w.plan().await;
    assert!(w.open(&w.patient).await.is_empty());
    w.travel(TimeDelta::days(4)).await; // 11 Nov: the day before
    w.plan().await;
    let open = w.open(&w.patient).await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["due_on"], "2026-11-09");
    assert_eq!(open[0]["reason"], "before your visit on 12 November 2026");
    assert_eq!(w.questionnaire_pushes().await.len(), 1);
}

async fn scores_equal_the_published_examples(backend: Backend) {
    let w = world(backend).await;
    w.schedule(json!({"client_id": "s1", "instrument": "psfs", "timing": "start"}))
        .await;
    w.schedule(json!({"client_id": "s2", "instrument": "koos_jr", "timing": "start"}))
        .await;
    let open = w.open(&w.patient).await;
    let request = |name: &str| {
        open.iter().find(|r| r["instrument"] == name).unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let psfs = w
        .answer(request("psfs"), "r1", psfs_example())
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(psfs["score"], 5.0);
    assert_eq!(psfs["raw"], Value::Null);
    assert_eq!(
        psfs["subscores"][2],
        json!({"name": "rating_3", "value": 7.0})
    );
    let koos = w
        .answer(request("koos_jr"), "r2", koos_example())
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(koos["raw"], 14.0);
    assert_eq!(koos["score"], 52.465);
    // Both answered: nothing open; the scores are the patient's and their therapist's to see.
    assert!(w.open(&w.patient).await.is_empty());
    let mine = w
        .app
        .get("/api/v1/me/questionnaires", &w.patient)
        .await
        .expect(StatusCode::OK);
    assert_eq!(mine["series"][0]["points"][0]["value"], 5.0);
    assert_eq!(mine["series"][1]["points"][0]["value"], 52.465);
    let staff = w.staff_view().await;
    assert_eq!(staff["series"][0]["instrument"], "psfs");
    assert_eq!(staff["series"][0]["mid"], 2.0);
    assert_eq!(staff["series"][1]["mid"], Value::Null);
    assert_eq!(staff["series"][1]["points"][0]["answers"]["pain_stairs"], 3);
}

async fn a_bad_answer_names_the_item_and_stores_nothing(backend: Backend) {
    let w = world(backend).await;
    w.schedule(json!({"client_id": "s1", "instrument": "koos_jr", "timing": "start"}))
        .await;
    let request = w.open(&w.patient).await[0]["id"].as_i64().unwrap();
    let mut bad = koos_example();
    bad["pain_stairs"] = json!(5);
    let err = w
        .answer(request, "r1", bad)
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["field"], "answers.pain_stairs");
    assert!(
        err["allowed"].as_str().unwrap().contains("4 (Extreme)"),
        "{err}"
    );
    let mut missing = koos_example();
    missing.as_object_mut().unwrap().remove("function_rising");
    let err = w
        .answer(request, "r1", missing)
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["field"], "answers.function_rising");
    let mut fraction = koos_example();
    fraction["stiffness_morning"] = json!(1.5);
    let err = w
        .answer(request, "r1", fraction)
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["field"], "answers.stiffness_morning");
    let mut unknown = koos_example();
    unknown["pain_running"] = json!(1);
    let err = w
        .answer(request, "r1", unknown)
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["field"], "answers.pain_running");
    // Nothing stored: still open, no score.
    assert_eq!(w.open(&w.patient).await.len(), 1);
    assert!(
        w.staff_view().await["series"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

async fn a_retried_submit_stores_once(backend: Backend) {
    let w = world(backend).await;
    w.schedule(json!({"client_id": "s1", "instrument": "psfs", "timing": "start"}))
        .await;
    let request = w.open(&w.patient).await[0]["id"].as_i64().unwrap();
    let first = w
        .answer(request, "r1", psfs_example())
        .await
        .expect(StatusCode::CREATED);
    let again = w
        .answer(request, "r1", psfs_example())
        .await
        .expect(StatusCode::OK);
    assert_eq!(again["id"], first["id"]);
    // A second submit under another id, or other answers under the same id, conflict.
    w.answer(request, "r2", psfs_example())
        .await
        .expect(StatusCode::CONFLICT);
    let mut other = psfs_example();
    other["rating_1"] = json!(9);
    w.answer(request, "r1", other)
        .await
        .expect(StatusCode::CONFLICT);
    let staff = w.staff_view().await;
    assert_eq!(staff["series"][0]["points"].as_array().unwrap().len(), 1);
}

async fn a_patient_cannot_answer_another_patients_questionnaire(backend: Backend) {
    let w = world(backend).await;
    w.schedule(json!({"client_id": "s1", "instrument": "psfs", "timing": "start"}))
        .await;
    let request = w.open(&w.patient).await[0]["id"].as_i64().unwrap();
    w.app
        .post(
            &format!("/api/v1/me/questionnaires/{request}/response"),
            &w.other,
            json!({"client_id": "r1", "answers": psfs_example()}),
        )
        .await
        .expect(StatusCode::NOT_FOUND);
    // Staff answer nothing on a patient's behalf.
    w.app
        .post(
            &format!("/api/v1/me/questionnaires/{request}/response"),
            &w.therapist,
            json!({"client_id": "r1", "answers": psfs_example()}),
        )
        .await
        .expect(StatusCode::FORBIDDEN);
    assert_eq!(w.open(&w.patient).await.len(), 1);
}

async fn a_psfs_follow_up_shows_the_first_activities(backend: Backend) {
    let mut w = world(backend).await;
    w.schedule(json!({"client_id": "s1", "instrument": "psfs", "timing": "start"}))
        .await;
    w.schedule(
        json!({"client_id": "s2", "instrument": "psfs", "timing": "every_weeks", "weeks": 4}),
    )
    .await;
    let first = w.open(&w.patient).await;
    assert_eq!(first[0]["prefill"], json!({}));
    w.answer(first[0]["id"].as_i64().unwrap(), "r1", psfs_example())
        .await
        .expect(StatusCode::CREATED);
    w.travel(TimeDelta::weeks(4)).await;
    w.plan().await;
    let later = w.open(&w.patient).await;
    assert_eq!(later.len(), 1);
    assert_eq!(
        later[0]["prefill"],
        json!({"activity_1": "Climbing stairs", "activity_2": "Walking to the shop", "activity_3": "Gardening"})
    );
}

async fn stopping_a_schedule_expires_its_questionnaire(backend: Backend) {
    let w = world(backend).await;
    let s = w
        .schedule(json!({"client_id": "s1", "instrument": "psfs", "timing": "start"}))
        .await;
    let stopped = w
        .app
        .delete(
            &format!(
                "/api/v1/patients/{}/questionnaire-schedules/{}",
                w.p, s["id"]
            ),
            &w.therapist,
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(stopped["active"], false);
    assert!(w.open(&w.patient).await.is_empty());
    let list = w
        .app
        .get(
            &format!("/api/v1/patients/{}/questionnaire-schedules", w.p),
            &w.therapist,
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(list[0]["active"], false);
    w.app
        .delete(
            &format!("/api/v1/patients/{}/questionnaire-schedules/999999", w.p),
            &w.therapist,
        )
        .await
        .expect(StatusCode::NOT_FOUND);
}

async fn the_report_charts_scores_against_the_first_with_the_mid(backend: Backend) {
    let mut w = world(backend).await;
    w.schedule(json!({"client_id": "s1", "instrument": "psfs", "timing": "start"}))
        .await;
    w.schedule(
        json!({"client_id": "s2", "instrument": "psfs", "timing": "every_weeks", "weeks": 2}),
    )
    .await;
    w.schedule(json!({"client_id": "s3", "instrument": "koos_jr", "timing": "start"}))
        .await;
    let open = w.open(&w.patient).await;
    for r in &open {
        let answers = if r["instrument"] == "psfs" {
            psfs_example()
        } else {
            koos_example()
        };
        w.answer(r["id"].as_i64().unwrap(), &format!("r{}", r["id"]), answers)
            .await
            .expect(StatusCode::CREATED);
    }
    w.travel(TimeDelta::weeks(2)).await;
    w.plan().await;
    let later = w.open(&w.patient).await[0]["id"].as_i64().unwrap();
    w.answer(
        later,
        "r-later",
        json!({"activity_1": "Climbing stairs", "rating_1": 6, "activity_2": "Walking to the shop", "rating_2": 8, "activity_3": "Gardening", "rating_3": 7}),
    )
    .await
    .expect(StatusCode::CREATED);

    let report = w
        .app
        .get(&format!("/api/v1/patients/{}/report", w.p), &w.therapist)
        .await
        .expect(StatusCode::OK);
    let psfs = &report["questionnaires"][0];
    assert_eq!(psfs["instrument"], "psfs");
    assert_eq!(psfs["points"][1]["value"], 7.0);
    assert_eq!(psfs["points"][1]["change_from_first"], 2.0);
    assert_eq!(psfs["points"][1]["change"], "better");
    assert_eq!(
        psfs["points"][1]["answers"]["activity_1"],
        "Climbing stairs"
    );

    let chart = text(
        &w.app,
        &format!(
            "/api/v1/patients/{}/report/charts/questionnaire-psfs.svg",
            w.p
        ),
        &w.therapist,
    )
    .await;
    let svg = chart;
    assert!(svg.contains("Shaded: first score 5 ± MID 2"), "{svg}");
    assert!(
        svg.contains("better than the first by at least the MID"),
        "{svg}"
    );
    let koos = text(
        &w.app,
        &format!(
            "/api/v1/patients/{}/report/charts/questionnaire-koos_jr.svg",
            w.p
        ),
        &w.therapist,
    )
    .await;
    let svg = koos;
    assert!(svg.contains("No MID band"), "{svg}");
    assert!(
        svg.contains("no verified minimal important difference"),
        "{svg}"
    );

    let csv = text(
        &w.app,
        &format!("/api/v1/patients/{}/report/questionnaires.csv", w.p),
        &w.therapist,
    )
    .await;
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("response_id,instrument,day,answered_at,score,raw_score"));
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains(",koos_jr,") && l.contains(",52.465,14,")),
        "{csv}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(",psfs,") && l.contains(",7,,{score},2,2,better,")),
        "{csv}"
    );
}

async fn definitions_and_schedule_errors_name_the_field(backend: Backend) {
    let w = world(backend).await;
    let all = w
        .app
        .get("/api/v1/questionnaires", &w.patient)
        .await
        .expect(StatusCode::OK);
    assert_eq!(all.as_array().unwrap().len(), 2);
    let koos = w
        .app
        .get("/api/v1/questionnaires/koos_jr", &w.patient)
        .await
        .expect(StatusCode::OK);
    assert_eq!(koos["items"].as_array().unwrap().len(), 7);
    assert_eq!(koos["items"][0]["kind"], "choice");
    assert_eq!(koos["items"][0]["choices"][4]["label"], "Extreme");
    assert!(
        koos["licence"]["notice"]
            .as_str()
            .unwrap()
            .contains("Hospital for Special Surgery")
    );
    let psfs = w
        .app
        .get("/api/v1/questionnaires/psfs", &w.patient)
        .await
        .expect(StatusCode::OK);
    assert_eq!(psfs["items"][1]["kind"], "integer");
    assert_eq!(psfs["items"][1]["max"], 10);
    assert_eq!(psfs["mid"], 2.0);
    w.app
        .get("/api/v1/questionnaires/oswestry", &w.patient)
        .await
        .expect(StatusCode::NOT_FOUND);

    let path = format!("/api/v1/patients/{}/questionnaire-schedules", w.p);
    for (body, field) in [
        (
            json!({"client_id": "a", "instrument": "ndi", "timing": "start"}),
            "instrument",
        ),
        (
            json!({"client_id": "a", "instrument": "psfs", "timing": "monthly"}),
            "timing",
        ),
        (
            json!({"client_id": "a", "instrument": "psfs", "timing": "every_weeks"}),
            "weeks",
        ),
        (
            json!({"client_id": "a", "instrument": "psfs", "timing": "every_weeks", "weeks": 0}),
            "weeks",
        ),
        (
            json!({"client_id": "a", "instrument": "psfs", "timing": "before_visit", "days": 29}),
            "days",
        ),
        (
            json!({"client_id": "a", "instrument": "psfs", "timing": "start", "weeks": 2}),
            "weeks",
        ),
        (
            json!({"client_id": "a b", "instrument": "psfs", "timing": "start"}),
            "client_id",
        ),
    ] {
        let err = w
            .app
            .post(&path, &w.therapist, body.clone())
            .await
            .expect(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(err["field"], field, "{body}");
    }
    assert!(
        w.app
            .get(&path, &w.therapist)
            .await
            .expect(StatusCode::OK)
            .as_array()
            .unwrap()
            .is_empty()
    );
}
