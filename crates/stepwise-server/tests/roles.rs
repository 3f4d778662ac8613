//! The role matrix: every endpoint, tried as every role — own and other patient, own and other
//! clinic, anonymous, and a collector token — on SQLite and PostgreSQL. Each cell names the
//! status that must come back; a 2xx where the table says 401/403/404 is a leak.

mod common;

use axum::http::{Method, StatusCode};
use chrono::TimeDelta;
use common::*;
use serde_json::{Value, json};
use stepwise_testkit::{Backend, backend_tests};

backend_tests!(role_matrix, lists_show_only_what_each_role_may_see);

/// Who is asking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Actor {
    Anonymous,
    /// Patient A, whose data the staff endpoints target.
    PatientA,
    /// Another patient of the same clinic (therapist B's).
    PatientB,
    /// Patient A's therapist.
    TherapistA,
    /// A therapist of the same clinic, not patient A's.
    TherapistB,
    /// The clinic's admin.
    Admin,
    /// Another clinic's admin.
    OtherAdmin,
    /// Another clinic's therapist.
    OtherTherapist,
    /// Patient A's band's upload token.
    DeviceA,
}

use Actor::*;

const ACTORS: [Actor; 9] = [
    Anonymous,
    PatientA,
    PatientB,
    TherapistA,
    TherapistB,
    Admin,
    OtherAdmin,
    OtherTherapist,
    DeviceA,
];

struct World {
    app: TestApp,
    auth: Vec<(Actor, Auth)>,
    patient_a: i64,
    session_a: i64,
}

impl World {
    fn auth(&self, actor: Actor) -> &Auth {
        &self.auth.iter().find(|(a, _)| *a == actor).unwrap().1
    }
}

async fn world(backend: Backend) -> World {
    let app = TestApp::new(backend, utc(2026, 11, 2, 7, 0)).await;
    let admin = app
        .clinic("Riverside Physio", "admin@riverside.example")
        .await;
    let therapist_a = app.therapist(&admin, "ta@riverside.example").await;
    let therapist_b = app.therapist(&admin, "tb@riverside.example").await;
    let patient_a = app
        .patient(&admin, id(&therapist_a), "Europe/London", "pa@example.org")
        .await;
    let patient_b = app
        .patient(
            &therapist_b,
            id(&therapist_b),
            "Europe/Paris",
            "pb@example.org",
        )
        .await;
    let other_admin = app.clinic("Hilltop Clinic", "admin@hilltop.example").await;
    let other_therapist = app.therapist(&other_admin, "t@hilltop.example").await;
    let device_a = app.pair_band(&patient_a).await;
    let session_a = app.walk(&patient_a, utc(2026, 11, 2, 8, 0), 20, 2, 3).await;
    app.clock.set(utc(2026, 11, 2, 10, 30));
    World {
        patient_a: id(&patient_a),
        session_a,
        auth: vec![
            (Anonymous, Auth::None),
            (PatientA, patient_a),
            (PatientB, patient_b),
            (TherapistA, therapist_a),
            (TherapistB, therapist_b),
            (Admin, admin),
            (OtherAdmin, other_admin),
            (OtherTherapist, other_therapist),
            (DeviceA, device_a),
        ],
        app,
    }
}

/// Expected statuses: `ok` for the actors allowed, the table's rule for everyone else.
fn expect(actor: Actor, kind: Kind, ok: StatusCode) -> StatusCode {
    use StatusCode as S;
    match (kind, actor) {
        (_, Anonymous) => S::UNAUTHORIZED,
        // A band token is not a login, and a login is not a band token.
        (Kind::Collector, DeviceA) => ok,
        (Kind::Collector, _) => S::UNAUTHORIZED,
        (_, DeviceA) => S::UNAUTHORIZED,
        (Kind::OwnPatient, PatientA | PatientB) => ok,
        (Kind::OwnPatient, _) => S::FORBIDDEN,
        (Kind::Staff, TherapistA | Admin) => ok,
        (Kind::AdminOnly, Admin) => ok,
        // The role is checked before the patient is looked up: a 403 reveals nothing.
        (Kind::AdminOnly, TherapistA | TherapistB | OtherTherapist) => S::FORBIDDEN,
        (Kind::Staff | Kind::AdminOnly, PatientA | PatientB | TherapistB) => S::FORBIDDEN,
        // Another clinic's staff do not learn that the patient exists.
        (Kind::Staff | Kind::AdminOnly, OtherAdmin | OtherTherapist) => S::NOT_FOUND,
        (Kind::AnyStaff, TherapistA | TherapistB | Admin | OtherAdmin | OtherTherapist) => ok,
        (Kind::AnyStaff, PatientA | PatientB) => S::FORBIDDEN,
        (Kind::AnyUser, _) => ok,
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    /// A patient's own data (`/me/...`).
    OwnPatient,
    /// Patient A's data, for their care team.
    Staff,
    /// Patient A's data, for the clinic admin only.
    AdminOnly,
    /// Any care-team member, about their own clinic.
    AnyStaff,
    /// Any logged-in user.
    AnyUser,
    /// A collector's upload.
    Collector,
}

async fn role_matrix(backend: Backend) {
    let w = world(backend).await;
    let p = w.patient_a;
    let now = w.app.now();
    let walk = |client_id: &str| json!({"client_id": client_id, "started_at": now - TimeDelta::minutes(40), "ended_at": now - TimeDelta::minutes(20), "walked_s": 1200, "pain_before": 2});
    // (method, path, body, kind, status for allowed actors)
    let mut table: Vec<(Method, String, Option<Value>, Kind, StatusCode)> = vec![
        (
            Method::GET,
            "/api/v1/me".into(),
            None,
            Kind::AnyUser,
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/api/v1/me/today".into(),
            None,
            Kind::OwnPatient,
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/api/v1/me/sessions".into(),
            None,
            Kind::OwnPatient,
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/api/v1/me/history".into(),
            None,
            Kind::OwnPatient,
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/api/v1/me/devices".into(),
            None,
            Kind::OwnPatient,
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/api/v1/me/pairing-codes".into(),
            Some(json!({})),
            Kind::OwnPatient,
            StatusCode::CREATED,
        ),
        (
            Method::POST,
            "/api/v1/me/flares".into(),
            Some(json!({"client_id": "f1", "started_at": now, "pain": 6})),
            Kind::OwnPatient,
            StatusCode::CREATED,
        ),
        (
            Method::GET,
            "/api/v1/clinic/therapists".into(),
            None,
            Kind::AnyStaff,
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/api/v1/patients".into(),
            None,
            Kind::AnyStaff,
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/api/v1/patients/{p}"),
            None,
            Kind::Staff,
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/api/v1/patients/{p}/timeline"),
            None,
            Kind::Staff,
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/api/v1/patients/{p}/rules"),
            None,
            Kind::Staff,
            StatusCode::OK,
        ),
        (
            Method::PUT,
            format!("/api/v1/patients/{p}/rules"),
            Some(json!({"increase_pct": 12})),
            Kind::Staff,
            StatusCode::CREATED,
        ),
        (
            Method::POST,
            format!("/api/v1/patients/{p}/baseline"),
            Some(json!({"tolerance_walks_s": [500, 500, 500]})),
            Kind::Staff,
            StatusCode::CREATED,
        ),
        (
            Method::POST,
            format!("/api/v1/patients/{p}/plan"),
            Some(json!({"interval_s": 400, "reason": "check"})),
            Kind::Staff,
            StatusCode::CREATED,
        ),
        (
            Method::GET,
            format!("/api/v1/patients/{p}/reviews"),
            None,
            Kind::Staff,
            StatusCode::OK,
        ),
        (
            Method::POST,
            format!("/api/v1/patients/{p}/reviews/999999/acknowledge"),
            Some(json!({})),
            Kind::Staff,
            StatusCode::NOT_FOUND,
        ),
        (
            Method::GET,
            format!("/api/v1/patients/{p}/audit"),
            None,
            Kind::AdminOnly,
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/api/v1/patients/{p}/report"),
            None,
            Kind::Staff,
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/api/v1/patients/{p}/report/charts/interval.svg"),
            None,
            Kind::Staff,
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/api/v1/patients/{p}/report/charts/pain.svg"),
            None,
            Kind::Staff,
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/api/v1/patients/{p}/report/charts/steps.svg"),
            None,
            Kind::Staff,
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/api/v1/patients/{p}/report/charts/sleep.svg"),
            None,
            Kind::Staff,
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/api/v1/patients/{p}/report/sessions.csv"),
            None,
            Kind::Staff,
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/api/v1/patients/{p}/report/daily.csv"),
            None,
            Kind::Staff,
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/api/v1/patients/{p}/report/decisions.csv"),
            None,
            Kind::Staff,
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/api/v1/patients/{p}/report/fhir"),
            None,
            Kind::Staff,
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/clinic/patients/{p}/report"),
            None,
            Kind::Staff,
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/api/v1/patients/{p}/outcomes"),
            None,
            Kind::Staff,
            StatusCode::OK,
        ),
        (
            Method::POST,
            format!("/api/v1/patients/{p}/outcomes"),
            Some(json!({"kind": "timed_up_and_go", "value": 11.5, "measured_on": "2026-11-01"})),
            Kind::Staff,
            StatusCode::CREATED,
        ),
        (
            Method::PUT,
            format!("/api/v1/patients/{p}/next-visit"),
            Some(json!({"next_visit": "2026-11-20"})),
            Kind::Staff,
            StatusCode::NO_CONTENT,
        ),
        (
            Method::GET,
            "/api/v1/clinic/visits".into(),
            None,
            Kind::AnyStaff,
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/api/v1/samples".into(),
            Some(json!({"steps": [{"minute": "2026-11-02T08:00:00Z", "steps": 80}]})),
            Kind::Collector,
            StatusCode::OK,
        ),
    ];
    let mut rows = Vec::new();
    for actor in ACTORS {
        for (method, path, body, kind, ok) in &table {
            let want = expect(actor, *kind, *ok);
            let got = w
                .app
                .call(method.clone(), path, w.auth(actor), body.clone())
                .await;
            rows.push((
                actor,
                method.clone(),
                path.clone(),
                want,
                got.status,
                got.body,
            ));
        }
        // Writes whose success status differs by call (201 first, 200 after) get their own ids.
        let log = w
            .app
            .post(
                "/api/v1/me/sessions",
                w.auth(actor),
                walk(&format!("walk-{actor:?}")),
            )
            .await;
        rows.push((
            actor,
            Method::POST,
            "/api/v1/me/sessions".into(),
            expect(actor, Kind::OwnPatient, StatusCode::CREATED),
            log.status,
            log.body,
        ));
        // Patient A's walk, answered by each actor: only patient A finds it.
        let path = format!("/api/v1/me/sessions/{}/two-hour-check", w.session_a);
        let answer = w
            .app
            .post(&path, w.auth(actor), json!({"pain_after_2h": 2}))
            .await;
        let want = match actor {
            PatientA => StatusCode::OK,
            PatientB => StatusCode::NOT_FOUND,
            other => expect(other, Kind::OwnPatient, StatusCode::OK),
        };
        rows.push((actor, Method::POST, path, want, answer.status, answer.body));
        // Weekly review runs: a completed week exists (the one before patient A joined).
        let review = w
            .app
            .post(
                &format!("/api/v1/patients/{p}/reviews"),
                w.auth(actor),
                json!({}),
            )
            .await;
        let ok = if actor == TherapistA {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        rows.push((
            actor,
            Method::POST,
            format!("/api/v1/patients/{p}/reviews"),
            expect(actor, Kind::Staff, ok),
            review.status,
            review.body,
        ));
        // Invites: staff may invite patients for a therapist of their clinic.
        let invite = w
            .app
            .post(
                "/api/v1/invites",
                w.auth(actor),
                json!({"role": "patient", "timezone": "Europe/London"}),
            )
            .await;
        let want = match actor {
            TherapistA | TherapistB | OtherTherapist => StatusCode::CREATED,
            Admin | OtherAdmin => StatusCode::UNPROCESSABLE_ENTITY, // must name the therapist
            other => expect(other, Kind::AnyStaff, StatusCode::CREATED),
        };
        rows.push((
            actor,
            Method::POST,
            "/api/v1/invites".into(),
            want,
            invite.status,
            invite.body,
        ));
        let therapist_invite = w
            .app
            .post(
                "/api/v1/invites",
                w.auth(actor),
                json!({"role": "therapist"}),
            )
            .await;
        let want = match actor {
            Admin | OtherAdmin => StatusCode::CREATED,
            TherapistA | TherapistB | OtherTherapist => StatusCode::FORBIDDEN,
            other => expect(other, Kind::AnyStaff, StatusCode::CREATED),
        };
        rows.push((
            actor,
            Method::POST,
            "/api/v1/invites (therapist)".into(),
            want,
            therapist_invite.status,
            therapist_invite.body,
        ));
    }
    table.clear();
    let wrong: Vec<String> = rows
        .iter()
        .filter(|(_, _, _, want, got, _)| want != got)
        .map(|(actor, method, path, want, got, body)| {
            format!("{actor:?} {method} {path}: want {want}, got {got} {body}")
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {} cells wrong:\n{}",
        wrong.len(),
        rows.len(),
        wrong.join("\n")
    );
    assert!(rows.len() >= 9 * 34);
}

async fn lists_show_only_what_each_role_may_see(backend: Backend) {
    let w = world(backend).await;
    let names = |v: Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|row| row["patient"]["display_name"].as_str().unwrap().to_string())
            .collect()
    };
    let list = |actor| w.app.get("/api/v1/patients", w.auth(actor));
    assert_eq!(names(list(TherapistA).await.expect(StatusCode::OK)), ["pa"]);
    assert_eq!(names(list(TherapistB).await.expect(StatusCode::OK)), ["pb"]);
    assert_eq!(
        names(list(Admin).await.expect(StatusCode::OK)),
        ["pa", "pb"]
    );
    assert!(names(list(OtherAdmin).await.expect(StatusCode::OK)).is_empty());
    // Patient B's own views never contain patient A's walk.
    let sessions = w
        .app
        .get("/api/v1/me/sessions", w.auth(PatientB))
        .await
        .expect(StatusCode::OK);
    assert_eq!(sessions, json!([]));
    // A band token cannot read anything.
    w.app
        .get("/api/v1/me/today", w.auth(DeviceA))
        .await
        .expect(StatusCode::UNAUTHORIZED);
    // Another clinic's admin cannot invite a patient for this clinic's therapist.
    let therapist_a = id(w.auth(TherapistA));
    let e = w
        .app
        .post(
            "/api/v1/invites",
            w.auth(OtherAdmin),
            json!({"role": "patient", "therapist_id": therapist_a, "timezone": "Europe/London"}),
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "therapist_id");
}
