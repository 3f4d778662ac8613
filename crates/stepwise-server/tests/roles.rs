//! The role matrix: every endpoint, tried as every role — own and other patient, own and other
//! clinic, anonymous, and a collector token — on SQLite and PostgreSQL. Each cell names the
//! status that must come back; a 2xx where the table says 401/403/404 is a leak.

mod common;

use axum::http::{Method, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
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
        (Kind::Public, _) => ok,
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
        (Kind::Staff | Kind::AdminOnly, PatientA | PatientB) => S::FORBIDDEN,
        // Another therapist's patient, as another clinic's: trying ids tells nothing.
        (Kind::Staff, TherapistB) => S::NOT_FOUND,
        // Another clinic's staff do not learn that the patient exists.
        (Kind::Staff | Kind::AdminOnly, OtherAdmin | OtherTherapist) => S::NOT_FOUND,
        (Kind::AnyStaff, TherapistA | TherapistB | Admin | OtherAdmin | OtherTherapist) => ok,
        (Kind::AnyStaff, PatientA | PatientB) => S::FORBIDDEN,
        (Kind::AnyAdmin, Admin | OtherAdmin) => ok,
        (Kind::AnyAdmin, _) => S::FORBIDDEN,
        (Kind::AnyUser, _) => ok,
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    /// Anyone, logged in or not (the push key).
    Public,
    /// A patient's own data (`/me/...`).
    OwnPatient,
    /// Patient A's data, for their care team.
    Staff,
    /// Patient A's data, for the clinic admin only.
    AdminOnly,
    /// Any care-team member, about their own clinic.
    AnyStaff,
    /// Any clinic admin, about their own clinic.
    AnyAdmin,
    /// Any logged-in user, about their own account (`/me`, their push subscriptions).
    AnyUser,
    /// A collector's upload.
    Collector,
}

/// A browser's `PushSubscription.toJSON()` on an allowed push host (FCM), unique per `tag`.
/// The server checks only the keys' lengths and the public key's `0x04` prefix.
fn subscription(tag: &str) -> Value {
    let mut p256dh = [7u8; 65];
    p256dh[0] = 4;
    json!({
        "endpoint": format!("https://fcm.googleapis.com/fcm/send/{tag}"),
        "keys": {"p256dh": URL_SAFE_NO_PAD.encode(p256dh), "auth": URL_SAFE_NO_PAD.encode([9u8; 16])},
        "expirationTime": null,
        "label": format!("{tag}'s browser"),
    })
}

async fn role_matrix(backend: Backend) {
    let w = world(backend).await;
    let p = w.patient_a;
    let now = w.app.now();
    let walk = |client_id: &str| json!({"client_id": client_id, "started_at": now - TimeDelta::minutes(40), "ended_at": now - TimeDelta::minutes(20), "walked_s": 1200, "pain_before": 2});
    // Patient A's phone: only patient A may delete it (tried by everyone after the matrix).
    let phone_a = w
        .app
        .post(
            "/api/v1/push/subscriptions",
            w.auth(PatientA),
            subscription("patient-a-phone"),
        )
        .await
        .expect(StatusCode::CREATED)["id"]
        .as_i64()
        .unwrap();
    // Patient A's questionnaires: one asked at once (answered below), one schedule to stop.
    let schedules = format!("/api/v1/patients/{p}/questionnaire-schedules");
    w.app
        .post(
            &schedules,
            w.auth(TherapistA),
            json!({"client_id": "roles-start", "instrument": "psfs", "timing": "start"}),
        )
        .await
        .expect(StatusCode::CREATED);
    let to_stop = w
        .app
        .post(
            &schedules,
            w.auth(TherapistA),
            json!({"client_id": "roles-every", "instrument": "koos_jr", "timing": "every_weeks", "weeks": 4}),
        )
        .await
        .expect(StatusCode::CREATED)["id"]
        .as_i64()
        .unwrap();
    let asked_a = w
        .app
        .get("/api/v1/me/questionnaires", w.auth(PatientA))
        .await
        .expect(StatusCode::OK)["open"][0]["id"]
        .as_i64()
        .unwrap();
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
            "/api/v1/me/reminders".into(),
            None,
            Kind::OwnPatient,
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/api/v1/me/reminder-settings".into(),
            None,
            Kind::OwnPatient,
            StatusCode::OK,
        ),
        (
            Method::PUT,
            "/api/v1/me/reminder-settings".into(),
            Some(json!({
                "session_reminders": true,
                "session_times": ["09:30", "18:00"],
                "session_days": ["Mon", "Wed", "Fri"],
                "quiet_hours": {"start": "22:00", "end": "07:00"},
            })),
            Kind::OwnPatient,
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/api/v1/push/key".into(),
            None,
            Kind::Public,
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/api/v1/rules/schema".into(),
            None,
            Kind::Public,
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/api/v1/push/subscriptions".into(),
            None,
            Kind::AnyUser,
            StatusCode::OK,
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
            "/api/v1/clinic".into(),
            None,
            Kind::AnyStaff,
            StatusCode::OK,
        ),
        (
            Method::PUT,
            "/api/v1/clinic/defaults".into(),
            Some(json!({"rules": {"increase_pct": 12}})),
            Kind::AnyAdmin,
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/api/v1/auth/csrf".into(),
            None,
            Kind::AnyUser,
            StatusCode::OK,
        ),
        (
            Method::POST,
            format!("/api/v1/patients/{p}/rules/preview"),
            Some(json!({"rules": {"increase_pct": 15}})),
            Kind::Staff,
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
            Some(json!({"note": "Seen"})),
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
            format!("/api/v1/patients/{p}/reminders"),
            None,
            Kind::Staff,
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/api/v1/patients/{p}/reminders?from=2026-10-26&to=2026-11-02"),
            None,
            Kind::Staff,
            StatusCode::OK,
        ),
        (
            Method::PUT,
            format!("/api/v1/patients/{p}/reminder-settings"),
            Some(json!({"medication_lead_min": 30, "two_hour_window_min": 240})),
            Kind::Staff,
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
        (
            Method::GET,
            format!("/api/v1/patients/{p}/devices"),
            None,
            Kind::Staff,
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/api/v1/me/imports".into(),
            None,
            Kind::OwnPatient,
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/api/v1/me/imports?file_name=notes.json".into(),
            Some(json!({"not": "an export"})),
            Kind::OwnPatient,
            StatusCode::ACCEPTED,
        ),
        (
            Method::GET,
            format!("/api/v1/patients/{p}/imports"),
            None,
            Kind::Staff,
            StatusCode::OK,
        ),
        (
            Method::POST,
            format!("/api/v1/patients/{p}/imports?file_name=notes.json"),
            Some(json!({"not": "an export"})),
            Kind::Staff,
            StatusCode::ACCEPTED,
        ),
        (
            Method::GET,
            "/api/v1/questionnaires".into(),
            None,
            Kind::AnyUser,
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/api/v1/questionnaires/koos_jr".into(),
            None,
            Kind::AnyUser,
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/api/v1/me/questionnaires".into(),
            None,
            Kind::OwnPatient,
            StatusCode::OK,
        ),
        (
            Method::GET,
            schedules.clone(),
            None,
            Kind::Staff,
            StatusCode::OK,
        ),
        (
            Method::DELETE,
            format!("{schedules}/{to_stop}"),
            None,
            Kind::Staff,
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/api/v1/patients/{p}/questionnaires"),
            None,
            Kind::Staff,
            StatusCode::OK,
        ),
        // The care team's work: the thread, notes, the time log and its timer (in this order
        // for each actor: the timer is started, stopped, then there is none to drop).
        (
            Method::GET,
            "/api/v1/me/messages".into(),
            None,
            Kind::OwnPatient,
            StatusCode::OK,
        ),
        (
            Method::POST,
            "/api/v1/me/messages".into(),
            Some(json!({"client_id": "m1", "body": "Hello"})),
            Kind::OwnPatient,
            StatusCode::CREATED,
        ),
        (
            Method::PUT,
            "/api/v1/me/messages/read".into(),
            Some(json!({"up_to": 0})),
            Kind::OwnPatient,
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/api/v1/patients/{p}/messages"),
            None,
            Kind::Staff,
            StatusCode::OK,
        ),
        (
            Method::POST,
            format!("/api/v1/patients/{p}/messages"),
            Some(json!({"client_id": "m1", "body": "Hello"})),
            Kind::Staff,
            StatusCode::CREATED,
        ),
        (
            Method::PUT,
            format!("/api/v1/patients/{p}/messages/read"),
            Some(json!({"up_to": 0})),
            Kind::Staff,
            StatusCode::OK,
        ),
        (
            Method::GET,
            format!("/api/v1/patients/{p}/notes"),
            None,
            Kind::Staff,
            StatusCode::OK,
        ),
        (
            Method::POST,
            format!("/api/v1/patients/{p}/notes"),
            Some(json!({"client_id": "n1", "body": "Note"})),
            Kind::Staff,
            StatusCode::CREATED,
        ),
        (
            Method::GET,
            format!("/api/v1/patients/{p}/time?month=2026-11"),
            None,
            Kind::Staff,
            StatusCode::OK,
        ),
        (
            Method::POST,
            format!("/api/v1/patients/{p}/time"),
            Some(
                json!({"client_id": "t1", "performed_on": "2026-11-02", "minutes": 5, "activity": "Review"}),
            ),
            Kind::Staff,
            StatusCode::CREATED,
        ),
        (
            Method::POST,
            format!("/api/v1/patients/{p}/time/timer"),
            None,
            Kind::Staff,
            StatusCode::CREATED,
        ),
        (
            Method::POST,
            format!("/api/v1/patients/{p}/time/timer/stop"),
            Some(json!({"activity": "Call", "live": "call", "minutes": 3})),
            Kind::Staff,
            StatusCode::OK,
        ),
        (
            Method::DELETE,
            format!("/api/v1/patients/{p}/time/timer"),
            None,
            Kind::Staff,
            StatusCode::NOT_FOUND,
        ),
        (
            Method::GET,
            format!("/api/v1/patients/{p}/rtm?month=2026-11"),
            None,
            Kind::Staff,
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/api/v1/clinic/rtm".into(),
            None,
            Kind::AnyStaff,
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/api/v1/clinic/rtm.csv?month=2026-11".into(),
            None,
            Kind::AnyStaff,
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
        // A schedule set by each actor: the care team's only.
        let set = w
            .app
            .post(
                &schedules,
                w.auth(actor),
                json!({"client_id": format!("roles-{actor:?}"), "instrument": "psfs", "timing": "before_visit", "days": 2}),
            )
            .await;
        rows.push((
            actor,
            Method::POST,
            schedules.clone(),
            expect(actor, Kind::Staff, StatusCode::CREATED),
            set.status,
            set.body,
        ));
        // Patient A's questionnaire, answered by each actor: only patient A finds it (201,
        // the only answer stored).
        let path = format!("/api/v1/me/questionnaires/{asked_a}/response");
        let answer = w
            .app
            .post(
                &path,
                w.auth(actor),
                json!({"client_id": format!("roles-{actor:?}"), "answers": {"activity_1": "Stairs", "rating_1": 4}}),
            )
            .await;
        let want = match actor {
            PatientA => StatusCode::CREATED,
            PatientB => StatusCode::NOT_FOUND,
            other => expect(other, Kind::OwnPatient, StatusCode::CREATED),
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
        // Each user subscribes a browser of their own: 201, the same endpoint again 200, and
        // deletes it: 204.
        let body = subscription(&format!("{actor:?}"));
        let first = w
            .app
            .post("/api/v1/push/subscriptions", w.auth(actor), body.clone())
            .await;
        let own = first.body["id"].as_i64().unwrap_or(phone_a);
        rows.push((
            actor,
            Method::POST,
            "/api/v1/push/subscriptions".into(),
            expect(actor, Kind::AnyUser, StatusCode::CREATED),
            first.status,
            first.body,
        ));
        let again = w
            .app
            .post("/api/v1/push/subscriptions", w.auth(actor), body)
            .await;
        rows.push((
            actor,
            Method::POST,
            "/api/v1/push/subscriptions (again)".into(),
            expect(actor, Kind::AnyUser, StatusCode::OK),
            again.status,
            again.body,
        ));
        let path = format!("/api/v1/push/subscriptions/{own}");
        let gone = w.app.delete(&path, w.auth(actor)).await;
        rows.push((
            actor,
            Method::DELETE,
            path,
            expect(actor, Kind::AnyUser, StatusCode::NO_CONTENT),
            gone.status,
            gone.body,
        ));
    }
    // Patient A's phone, deleted by everyone else (it must survive), then by patient A.
    let path = format!("/api/v1/push/subscriptions/{phone_a}");
    for actor in ACTORS
        .into_iter()
        .filter(|a| *a != PatientA)
        .chain([PatientA])
    {
        let answer = w.app.delete(&path, w.auth(actor)).await;
        let ok = if actor == PatientA {
            StatusCode::NO_CONTENT
        } else {
            StatusCode::NOT_FOUND
        };
        rows.push((
            actor,
            Method::DELETE,
            path.clone(),
            expect(actor, Kind::AnyUser, ok),
            answer.status,
            answer.body,
        ));
    }
    let again = w.app.delete(&path, w.auth(PatientA)).await;
    rows.push((
        PatientA,
        Method::DELETE,
        format!("{path} (again)"),
        StatusCode::NOT_FOUND,
        again.status,
        again.body,
    ));
    // The public endpoints whose credential is in the body (a code, a password): with wrong
    // ones, every actor gets the same answer — a login or a band token opens nothing more.
    let session_path = format!("/api/v1/me/sessions/{}", w.session_a);
    for (tries, actor) in ACTORS.into_iter().enumerate() {
        // Guessing codes is limited per client (all actors here share one): five wrong codes
        // answer 422 naming the field, the rest 429.
        let guessed = if tries < 5 {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        let public: [(Method, String, Option<Value>, StatusCode); 6] = [
            (
                Method::POST,
                "/api/v1/auth/login".into(),
                Some(
                    json!({"email": format!("nobody-{actor:?}@example.org"), "password": "not-the-password"}),
                ),
                StatusCode::UNAUTHORIZED,
            ),
            (
                Method::POST,
                "/api/v1/auth/password-reset".into(),
                Some(json!({"code": "ABCD-EFGH-JKLM", "password": "a-new-password-1"})),
                guessed,
            ),
            (
                Method::POST,
                "/api/v1/auth/password-reset/email".into(),
                Some(json!({"email": format!("nobody-{actor:?}@example.org")})),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (
                Method::GET,
                // Which ways back in this server offers (e-mail or not): the same for all.
                "/api/v1/auth/recovery".into(),
                None,
                StatusCode::OK,
            ),
            (
                Method::POST,
                "/api/v1/devices/pair".into(),
                Some(
                    json!({"code": "ABCD-EFGH", "device": {"kind": "mi-band-5", "address": "C8:0F:10:00:00:09", "name": "Mi Band 5"}}),
                ),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                Method::POST,
                "/api/v1/invites/accept".into(),
                Some(
                    json!({"code": "ABCD-EFGH-JKLM", "email": format!("new-{actor:?}@example.org"), "display_name": "New", "password": "a-new-password-1"}),
                ),
                guessed,
            ),
        ];
        for (method, path, body, want) in public {
            let got = w.app.call(method.clone(), &path, w.auth(actor), body).await;
            rows.push((actor, method, path, want, got.status, got.body));
        }
        let safety = w
            .app
            .put(
                "/api/v1/clinic/safety-contact",
                w.auth(actor),
                json!({"phone": "+44 20 7946 0000", "text": ""}),
            )
            .await;
        rows.push((
            actor,
            Method::PUT,
            "/api/v1/clinic/safety-contact".into(),
            expect(actor, Kind::AnyAdmin, StatusCode::OK),
            safety.status,
            safety.body,
        ));
        let path = format!(
            "/api/v1/clinic/therapists/{}/password-reset",
            id(w.auth(TherapistA))
        );
        let reset = w.app.post(&path, w.auth(actor), json!({})).await;
        let want = match actor {
            // Another clinic's therapist, for its admin: as if they did not exist.
            OtherAdmin => StatusCode::NOT_FOUND,
            other => expect(other, Kind::AnyAdmin, StatusCode::CREATED),
        };
        rows.push((actor, Method::POST, path, want, reset.status, reset.body));
        let path = format!("/api/v1/patients/{p}/password-reset");
        let reset = w.app.post(&path, w.auth(actor), json!({})).await;
        let want = expect(actor, Kind::Staff, StatusCode::CREATED);
        rows.push((actor, Method::POST, path, want, reset.status, reset.body));
        // Patient A's walk, corrected and its next-morning check answered by each actor: only
        // patient A finds it (the check opens the next morning: 409 until then).
        let corrected = w
            .app
            .put(
                &session_path,
                w.auth(actor),
                json!({"walked_s": 1200, "pain_before": 2, "pain_during_max": 3}),
            )
            .await;
        let want = match actor {
            PatientB => StatusCode::NOT_FOUND,
            other => expect(other, Kind::OwnPatient, StatusCode::OK),
        };
        rows.push((
            actor,
            Method::PUT,
            session_path.clone(),
            want,
            corrected.status,
            corrected.body,
        ));
        let path = format!("{session_path}/next-morning-check");
        let morning = w
            .app
            .post(&path, w.auth(actor), json!({"pain_next_morning": 2}))
            .await;
        let want = match actor {
            PatientB => StatusCode::NOT_FOUND,
            other => expect(other, Kind::OwnPatient, StatusCode::CONFLICT),
        };
        rows.push((
            actor,
            Method::POST,
            path,
            want,
            morning.status,
            morning.body,
        ));
    }
    // Patient A's walk withdrawn: by everyone else (it must stay), then by patient A.
    let path = format!("{session_path}/withdraw");
    for actor in ACTORS
        .into_iter()
        .filter(|a| *a != PatientA)
        .chain([PatientA])
    {
        let answer = w.app.post(&path, w.auth(actor), json!({})).await;
        let want = match actor {
            PatientB => StatusCode::NOT_FOUND,
            other => expect(other, Kind::OwnPatient, StatusCode::OK),
        };
        rows.push((
            actor,
            Method::POST,
            path.clone(),
            want,
            answer.status,
            answer.body,
        ));
    }
    // One of patient A's imports: patient A and their care team read it, no one else.
    let import_a = w
        .app
        .get("/api/v1/me/imports", w.auth(PatientA))
        .await
        .expect(StatusCode::OK)[0]["id"]
        .as_i64()
        .unwrap();
    for actor in ACTORS {
        for (path, want) in [
            (
                format!("/api/v1/me/imports/{import_a}"),
                match actor {
                    PatientB => StatusCode::NOT_FOUND,
                    other => expect(other, Kind::OwnPatient, StatusCode::OK),
                },
            ),
            (
                format!("/api/v1/patients/{p}/imports/{import_a}"),
                expect(actor, Kind::Staff, StatusCode::OK),
            ),
        ] {
            let answer = w.app.get(&path, w.auth(actor)).await;
            rows.push((actor, Method::GET, path, want, answer.status, answer.body));
        }
    }
    // Patient A's band: everyone tries to renew its token (only the band itself may), then to
    // remove it, as the patient and as staff; the care team and patient A may.
    let band_a = w
        .app
        .get("/api/v1/me/devices", w.auth(PatientA))
        .await
        .expect(StatusCode::OK)[0]["id"]
        .as_i64()
        .unwrap();
    for actor in ACTORS {
        let renewed = w
            .app
            .post("/api/v1/devices/token", w.auth(actor), json!({}))
            .await;
        rows.push((
            actor,
            Method::POST,
            "/api/v1/devices/token".into(),
            expect(actor, Kind::Collector, StatusCode::OK),
            renewed.status,
            renewed.body,
        ));
    }
    for actor in ACTORS.into_iter().filter(|a| *a != PatientA) {
        let path = format!("/api/v1/me/devices/{band_a}");
        let answer = w.app.delete(&path, w.auth(actor)).await;
        let want = match actor {
            PatientB => StatusCode::NOT_FOUND,
            other => expect(other, Kind::OwnPatient, StatusCode::OK),
        };
        rows.push((
            actor,
            Method::DELETE,
            path,
            want,
            answer.status,
            answer.body,
        ));
    }
    for actor in ACTORS {
        let path = format!("/api/v1/patients/{p}/devices/{band_a}");
        let answer = w.app.delete(&path, w.auth(actor)).await;
        let want = expect(actor, Kind::Staff, StatusCode::OK);
        rows.push((
            actor,
            Method::DELETE,
            path,
            want,
            answer.status,
            answer.body,
        ));
    }
    let path = format!("/api/v1/me/devices/{band_a}");
    let removed = w.app.delete(&path, w.auth(PatientA)).await;
    rows.push((
        PatientA,
        Method::DELETE,
        path,
        StatusCode::OK,
        removed.status,
        removed.body,
    ));
    // Removed, the band's token opens nothing.
    let upload = w
        .app
        .post(
            "/api/v1/samples",
            w.auth(DeviceA),
            json!({"steps": [{"minute": "2026-11-02T09:00:00Z", "steps": 80}]}),
        )
        .await;
    rows.push((
        DeviceA,
        Method::POST,
        "/api/v1/samples (band removed)".into(),
        StatusCode::UNAUTHORIZED,
        upload.status,
        upload.body,
    ));
    // Last, since it ends each actor's login: logging out (no login, or a band token: 401).
    for actor in ACTORS {
        let answer = w
            .app
            .post("/api/v1/auth/logout", w.auth(actor), json!({}))
            .await;
        let want = expect(actor, Kind::AnyUser, StatusCode::NO_CONTENT);
        rows.push((
            actor,
            Method::POST,
            "/api/v1/auth/logout".into(),
            want,
            answer.status,
            answer.body,
        ));
    }
    table.clear();
    // The matrix covers the whole API: every operation the OpenAPI document describes was tried by
    // every actor (a new endpoint without its row fails here).
    let tried: Vec<(Method, String)> = rows
        .iter()
        .map(|(_, method, path, ..)| {
            let path = path.split(" (").next().unwrap().split('?').next().unwrap();
            (method.clone(), path.to_string())
        })
        .collect();
    let missing = untried_operations(&tried);
    assert!(
        missing.is_empty(),
        "the role matrix does not try: {missing:?}"
    );
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
    assert!(rows.len() >= 9 * 67);
}

/// The documented operations (`METHOD /path/{param}`) none of `tried` (method, concrete
/// `/api/v1/...` path) matches, each tried by every actor.
fn untried_operations(tried: &[(Method, String)]) -> Vec<String> {
    let doc: Value = serde_json::from_str(&stepwise_server::handlers::system::OPENAPI).unwrap();
    let base = doc["servers"][0]["url"].as_str().unwrap();
    let matches = |template: &str, path: &str| {
        let (t, p): (Vec<&str>, Vec<&str>) =
            (template.split('/').collect(), path.split('/').collect());
        t.len() == p.len()
            && t.iter()
                .zip(&p)
                .all(|(t, p)| t == p || (t.starts_with('{') && !p.is_empty()))
    };
    let mut missing = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            let method: Method = method.to_uppercase().parse().unwrap();
            let template = format!("{base}{path}");
            let by = tried
                .iter()
                .filter(|(m, p)| *m == method && matches(&template, p))
                .count();
            if by < ACTORS.len() {
                missing.push(format!("{method} {path} (tried {by} times)"));
            }
        }
    }
    missing
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

    // Push subscriptions: each user sees only their own browsers, and cannot delete another's.
    let mut subscribed = Vec::new();
    for actor in [PatientA, PatientB, TherapistA] {
        let stored = w
            .app
            .post(
                "/api/v1/push/subscriptions",
                w.auth(actor),
                subscription(&format!("list-{actor:?}")),
            )
            .await
            .expect(StatusCode::CREATED);
        assert!(stored.get("keys").is_none() && stored.get("p256dh").is_none());
        subscribed.push((actor, stored["id"].as_i64().unwrap()));
    }
    let endpoints = |v: Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s["endpoint"].as_str().unwrap().to_string())
            .collect()
    };
    for (actor, _) in &subscribed {
        let own = w
            .app
            .get("/api/v1/push/subscriptions", w.auth(*actor))
            .await
            .expect(StatusCode::OK);
        assert_eq!(
            endpoints(own),
            [format!(
                "https://fcm.googleapis.com/fcm/send/list-{actor:?}"
            )],
            "{actor:?}"
        );
    }
    let admins = w
        .app
        .get("/api/v1/push/subscriptions", w.auth(Admin))
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        admins,
        json!([]),
        "an admin does not see the clinic's browsers"
    );
    let (_, phone_a) = subscribed[0];
    for actor in [PatientB, TherapistA, Admin] {
        w.app
            .delete(
                &format!("/api/v1/push/subscriptions/{phone_a}"),
                w.auth(actor),
            )
            .await
            .expect(StatusCode::NOT_FOUND);
    }
    let still = w
        .app
        .get("/api/v1/push/subscriptions", w.auth(PatientA))
        .await
        .expect(StatusCode::OK);
    assert_eq!(still[0]["id"], phone_a);
    // Subscribing is a write: the session cookie alone (no CSRF token) is refused.
    let Auth::User(login) = w.auth(PatientB).clone() else {
        unreachable!()
    };
    w.app
        .post(
            "/api/v1/push/subscriptions",
            &Auth::CookieOnly(login),
            subscription("no-csrf"),
        )
        .await
        .expect(StatusCode::FORBIDDEN);

    // Reminders: patient A's walk has its two-hour check; patient A's flare an escalation to
    // therapist A. Patient A sees only reminders addressed to them, patient B none of A's.
    let p = w.patient_a;
    w.app
        .post(
            "/api/v1/me/flares",
            w.auth(PatientA),
            json!({"client_id": "flare-lists", "started_at": w.app.now(), "pain": 7}),
        )
        .await
        .expect(StatusCode::CREATED);
    let mine = w
        .app
        .get("/api/v1/me/reminders", w.auth(PatientA))
        .await
        .expect(StatusCode::OK);
    let mine = mine.as_array().unwrap();
    assert!(
        mine.iter()
            .any(|r| r["kind"] == "two_hour_check" && r["session_id"] == w.session_a),
        "{mine:?}"
    );
    assert!(
        mine.iter()
            .all(|r| r["recipient_id"] == p && r["patient_id"] == p),
        "{mine:?}"
    );
    let theirs = w
        .app
        .get("/api/v1/me/reminders", w.auth(PatientB))
        .await
        .expect(StatusCode::OK);
    assert!(
        theirs
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["patient_id"] != p),
        "{theirs}"
    );
    // The care team sees every reminder about the patient, and only about that patient.
    let staff = w
        .app
        .get(
            &format!("/api/v1/patients/{p}/reminders"),
            w.auth(TherapistA),
        )
        .await
        .expect(StatusCode::OK);
    let staff = staff.as_array().unwrap();
    assert!(staff.iter().all(|r| r["patient_id"] == p), "{staff:?}");
    assert!(
        staff.iter().any(|r| r["kind"] == "escalation"
            && r["recipient_id"] == id(w.auth(TherapistA))
            && r.get("answered").is_none()),
        "{staff:?}"
    );
    assert!(
        staff
            .iter()
            .any(|r| r["kind"] == "two_hour_check" && r["answered"] == false),
        "{staff:?}"
    );
}
