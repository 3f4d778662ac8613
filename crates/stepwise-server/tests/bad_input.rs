//! The bad-input catalogue: every operation that takes a JSON body is sent its documented
//! example spoiled in each way a client (or an attacker) may spoil it, and must refuse it
//! with a JSON 4xx that names the field at fault, storing nothing.
//!
//! The mutations are generated from the served OpenAPI document (`/api/openapi.json`), so an
//! operation added later is covered as soon as it is documented:
//!
//! * **Examples.** Each operation's `requestBody.content["application/json"].example` is a
//!   valid body holding every documented property (so each is spoiled; [`NOT_IN_EXAMPLE`]
//!   lists the exceptions); an operation without one fails the catalogue. Examples suit the
//!   world this test builds: a clinic admin (user 1), a therapist (user 2) and their patient
//!   (user 3) in Europe/London, with walks in the week of 2026-11-02 (its review escalated by
//!   a red flag), a walk on the evening of 2026-11-08 (`{session_id}` of the next-morning
//!   check) and one at 05:00 on 2026-11-09 (`{session_id}` of the other walk operations),
//!   and the clock at **2026-11-09T08:00:00Z** while the catalogue runs. An example's
//!   instants therefore lie in the days before that (e.g. a walk on 2026-11-08), never
//!   relative to "now": a valid example stays valid. One-time codes cannot be static: the
//!   `code` of `/invites/accept`, `/auth/password-reset` and `/devices/pair` is replaced by a
//!   fresh code made through the API ([`live_code`]). Each operation is called as someone
//!   allowed to: the patient (`/me/…`, `/push/…`), the therapist (`/patients/…`), the clinic
//!   admin (`/clinic/…`, `/invites`), the band (`/samples`), or nobody (public ones).
//! * **Per field** (recursing into nested objects and the first item of arrays): a value of
//!   the wrong JSON type; for numbers, one below `minimum` and one above `maximum` (when
//!   documented), 1e300 and -1 (unless that is the value below a `minimum` of 0); for text, a NUL inside and 100,000 characters; for
//!   `format: date`/`date-time`, the calendar's extremes (`+262142-12-31`, `-262143-01-01`)
//!   and, for dates, 1900-01-01; each required property removed; an unknown property added
//!   (at the top level and in every nested object that documents `additionalProperties:
//!   false`).
//! * **Whole body**: invalid UTF-8 inside a JSON string, and 10,000 nested `[`.
//!
//! Each answer must be 400, 413 or 422 with a JSON `{error, …}` body. A per-field answer
//! must name the field by its exact path as the server writes it (`steps[0].minute`,
//! `device.kind`, `keys.auth`); only a 413 (the body is over the route's size limit before
//! any field is read) names none. And nothing may be stored: the row count of every table
//! ([`Snapshot`]) is the same before and after each refused request. Finally the unspoiled
//! example is sent and must succeed, which shows the refusals were the mutations' doing.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use serde_json::{Value, json};
use sqlx::{Connection, Row};
use stepwise_testkit::{Backend, backend_tests};

backend_tests!(every_spoiled_body_is_refused_naming_its_field_and_storing_nothing);

fn document() -> Value {
    serde_json::from_str(&stepwise_server::handlers::system::OPENAPI).expect("openapi.json parses")
}

/// Tables whose rows a refused request may legitimately change, with the reason. (The login
/// and one-time-code limiters count failures in memory, in no table.)
const SNAPSHOT_EXCLUDES: &[(&str, &str)] = &[
    // Every refused write is audited (who tried what, and why it was refused).
    ("audit_log", "refusals are audited"),
];

/// Mutations the server accepts although they look wrong, each with the reason it is right
/// to accept them: (method, path, field path, mutation, reason). None so far: every mutation
/// the document calls invalid is refused, and where the server took one the server or the
/// document was put right instead.
const ACCEPTED: &[(&str, &str, &str, &str, &str)] = &[];

/// Documented properties left out of an operation's example (so not spoiled), with why:
/// (method, path, field path, reason).
const NOT_IN_EXAMPLE: &[(&str, &str, &str, &str)] = &[
    (
        "POST",
        "/invites",
        "email",
        "e-mailing an invite needs a server that sends e-mail; the test server sends none (422)",
    ),
    (
        "POST",
        "/samples",
        "source",
        "only an import pairing names a source, and this catalogue uploads as a band (422); \
         tests/imports.rs refuses a missing, misplaced and wrong source",
    ),
    (
        "POST",
        "/patients/{id}/questionnaire-schedules",
        "days",
        "the example schedules every 4 weeks, which takes weeks, not days (422); \
         tests/questionnaires.rs refuses days out of range and days with another timing",
    ),
];

/// Operations whose unspoiled example does not succeed in this test's world, with why.
const EXAMPLE_NOT_REPLAYED: &[(&str, &str, &str)] = &[(
    "POST",
    "/auth/password-reset/email",
    "the test server sends no e-mail (503); tests/api.rs sends it with an SMTP server",
)];

/// The row count of every table: the "nothing stored" check.
struct Snapshot {
    conn: Conn,
    query: String,
    tables: Vec<String>,
}

enum Conn {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Snapshot {
    async fn open(url: &str) -> Snapshot {
        let (mut conn, list) = if url.starts_with("sqlite:") {
            (
                Conn::Sqlite(sqlx::SqliteConnection::connect(url).await.unwrap()),
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' ORDER BY name",
            )
        } else {
            (
                Conn::Postgres(sqlx::PgConnection::connect(url).await.unwrap()),
                "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() \
                 ORDER BY tablename",
            )
        };
        let names: Vec<String> = match &mut conn {
            Conn::Sqlite(c) => sqlx::query_scalar(list).fetch_all(c).await.unwrap(),
            Conn::Postgres(c) => sqlx::query_scalar(list).fetch_all(c).await.unwrap(),
        };
        let tables: Vec<String> = names
            .into_iter()
            .filter(|t| !SNAPSHOT_EXCLUDES.iter().any(|(x, _)| x == t))
            .collect();
        assert!(
            tables.len() > 10,
            "only {} tables: {tables:?}",
            tables.len()
        );
        let query = format!(
            "SELECT {}",
            tables
                .iter()
                .map(|t| format!("(SELECT count(*) FROM \"{t}\")"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        Snapshot {
            conn,
            query,
            tables,
        }
    }

    /// Table → rows.
    async fn take(&mut self) -> Vec<(String, i64)> {
        let q = sqlx::AssertSqlSafe(self.query.clone());
        let counts: Vec<i64> = match &mut self.conn {
            Conn::Sqlite(c) => {
                let row = sqlx::query(q).fetch_one(c).await.unwrap();
                (0..self.tables.len()).map(|i| row.get(i)).collect()
            }
            Conn::Postgres(c) => {
                let row = sqlx::query(q).fetch_one(c).await.unwrap();
                (0..self.tables.len()).map(|i| row.get(i)).collect()
            }
        };
        self.tables.iter().cloned().zip(counts).collect()
    }
}

/// One step of a path into a body.
#[derive(Clone, Debug)]
enum Seg {
    Key(String),
    Index(usize),
}

/// A path as the server names fields: `device.kind`, `steps[0].minute`.
fn render(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) if out.is_empty() => out.push_str(k),
            Seg::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn at_mut<'a>(value: &'a mut Value, path: &[Seg]) -> &'a mut Value {
    path.iter().fold(value, |v, seg| match seg {
        Seg::Key(k) => &mut v[k.as_str()],
        Seg::Index(i) => &mut v[*i],
    })
}

/// What a mutation does to the example.
enum Change {
    Set(Value),
    Remove,
    /// Replaces the whole body with these bytes.
    Bytes(Vec<u8>),
    /// None: the property is documented but missing from the example, so it would go
    /// unspoiled — a failure unless listed in [`NOT_IN_EXAMPLE`].
    NotInExample,
}

struct Mutation {
    /// The field path expected in the answer; `None` for whole-body mutations.
    field: Option<String>,
    what: String,
    path: Vec<Seg>,
    change: Change,
}

/// A schema with its `$ref` followed; an optional one (`oneOf` a schema and `null`, as the
/// generated document writes `Option<T>`) as the schema it allows besides `null`.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    if let Some(choices) = schema["oneOf"].as_array() {
        let not_null: Vec<&Value> = choices.iter().filter(|c| c["type"] != "null").collect();
        if let [only] = not_null[..] {
            return resolve(doc, only);
        }
    }
    match schema["$ref"].as_str() {
        Some(r) => &doc["components"]["schemas"][r.rsplit('/').next().unwrap()],
        None => schema,
    }
}

fn types(schema: &Value) -> Vec<&str> {
    match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

/// A value whose JSON type the schema does not allow, if the schema restricts types.
fn wrong_type(schema: &Value) -> Option<Value> {
    let ts = types(schema);
    if let Some(options) = schema["enum"].as_array() {
        let candidate = json!(7);
        return (!options.contains(&candidate)).then_some(candidate);
    }
    if ts.is_empty() {
        return None;
    }
    let allowed = |t: &str| ts.contains(&t) || (t == "integer" && ts.contains(&"number"));
    [
        ("string", json!("seven")),
        ("integer", json!(7)),
        ("boolean", json!(true)),
        ("array", json!([])),
        ("object", json!({})),
    ]
    .into_iter()
    .find(|(t, _)| !allowed(t))
    .map(|(_, v)| v)
}

/// The per-field mutations of `example` under `schema`, at `path`.
fn field_mutations(
    doc: &Value,
    schema: &Value,
    example: &Value,
    path: &[Seg],
    out: &mut Vec<Mutation>,
) {
    let schema = resolve(doc, schema);
    let name = render(path);
    let mut push = |what: String, change: Change| {
        out.push(Mutation {
            field: Some(name.clone()),
            what,
            path: path.to_vec(),
            change,
        })
    };
    if !path.is_empty() {
        if let Some(v) = wrong_type(schema) {
            push(format!("wrong type {v}"), Change::Set(v));
        }
        let ts = types(schema);
        if ts.contains(&"integer") || ts.contains(&"number") {
            if let Some(min) = schema["minimum"].as_f64() {
                push(
                    format!("below minimum {min}"),
                    Change::Set(json!(min as i64 - 1)),
                );
            }
            if let Some(max) = schema["maximum"].as_f64() {
                push(
                    format!("above maximum {max}"),
                    Change::Set(json!(max as i64 + 1)),
                );
            }
            push("1e300".into(), Change::Set(json!(1e300)));
            if schema["minimum"].as_f64() != Some(0.0) {
                push("negative".into(), Change::Set(json!(-1)));
            }
        }
        let is_text = ts.contains(&"string")
            || schema["enum"]
                .as_array()
                .is_some_and(|e| e.iter().any(Value::is_string));
        if is_text {
            let text = example.as_str().unwrap_or("walk");
            let mid = text
                .char_indices()
                .nth(text.chars().count() / 2)
                .map_or(0, |(i, _)| i);
            push(
                "a NUL inside".into(),
                Change::Set(json!(format!("{}\0{}", &text[..mid], &text[mid..]))),
            );
            push(
                "100,000 characters".into(),
                Change::Set(json!("x".repeat(100_000))),
            );
            match schema["format"].as_str() {
                Some("date") => {
                    for d in ["+262142-12-31", "-262143-01-01", "1900-01-01"] {
                        push(format!("date {d}"), Change::Set(json!(d)));
                    }
                }
                Some("date-time") => {
                    for d in ["+262142-12-31T23:59:59Z", "-262143-01-01T00:00:00Z"] {
                        push(format!("instant {d}"), Change::Set(json!(d)));
                    }
                }
                _ => {}
            }
        }
    }
    if let (Some(props), Some(obj)) = (schema["properties"].as_object(), example.as_object()) {
        for required in schema["required"].as_array().into_iter().flatten() {
            let key = required.as_str().unwrap();
            let mut p = path.to_vec();
            p.push(Seg::Key(key.into()));
            out.push(Mutation {
                field: Some(render(&p)),
                what: "required property removed".into(),
                path: p,
                change: Change::Remove,
            });
        }
        if path.is_empty() || schema["additionalProperties"] == json!(false) {
            let mut p = path.to_vec();
            p.push(Seg::Key("colour".into()));
            out.push(Mutation {
                field: Some(render(&p)),
                what: "unknown property".into(),
                path: p,
                change: Change::Set(json!("red")),
            });
        }
        for (key, sub) in props {
            let mut p = path.to_vec();
            p.push(Seg::Key(key.clone()));
            match obj.get(key) {
                Some(value) => field_mutations(doc, sub, value, &p, out),
                None => out.push(Mutation {
                    field: Some(render(&p)),
                    what: "not in the example".into(),
                    path: p,
                    change: Change::NotInExample,
                }),
            }
        }
    } else if path.is_empty() && example.is_object() {
        out.push(Mutation {
            field: Some("colour".into()),
            what: "unknown property".into(),
            path: vec![Seg::Key("colour".into())],
            change: Change::Set(json!("red")),
        });
    }
    if let (Some(items), Some(first)) = (schema.get("items"), example.get(0)) {
        let mut p = path.to_vec();
        p.push(Seg::Index(0));
        field_mutations(doc, items, first, &p, out);
    }
}

/// The first text value in a body, for the invalid UTF-8 mutation.
fn first_string(value: &Value, path: &mut Vec<Seg>) -> bool {
    match value {
        Value::String(_) => true,
        Value::Object(map) => map.iter().any(|(k, v)| {
            path.push(Seg::Key(k.clone()));
            let found = first_string(v, path);
            if !found {
                path.pop();
            }
            found
        }),
        Value::Array(items) => items.first().is_some_and(|v| {
            path.push(Seg::Index(0));
            let found = first_string(v, path);
            if !found {
                path.pop();
            }
            found
        }),
        _ => false,
    }
}

fn whole_body_mutations(example: &Value, out: &mut Vec<Mutation>) {
    const MARK: &str = "INVALID-UTF8-MARK";
    let mut body = example.clone();
    let mut path = Vec::new();
    if first_string(example, &mut path) {
        *at_mut(&mut body, &path) = json!(MARK);
    } else {
        body["note"] = json!(MARK);
    }
    let text = serde_json::to_string(&body).unwrap();
    let (before, after) = text.split_once(MARK).unwrap();
    let mut bytes = before.as_bytes().to_vec();
    bytes.extend_from_slice(b"ab\xff\xfe\xc3(cd");
    bytes.extend_from_slice(after.as_bytes());
    out.push(Mutation {
        field: None,
        what: "invalid UTF-8 in a string".into(),
        path: vec![],
        change: Change::Bytes(bytes),
    });
    out.push(Mutation {
        field: None,
        what: "10,000 nested arrays".into(),
        path: vec![],
        change: Change::Bytes("[".repeat(10_000).into_bytes()),
    });
}

/// A fresh one-time code for the operations whose `code` is a credential.
async fn live_code(
    app: &TestApp,
    path: &str,
    therapist: &Auth,
    patient: &Auth,
    admin: &Auth,
) -> Option<String> {
    let made = match path {
        "/invites/accept" => {
            app.post("/api/v1/invites", admin, json!({"role": "therapist"}))
                .await
        }
        "/auth/password-reset" => {
            app.post(
                &format!("/api/v1/patients/{}/password-reset", id(patient)),
                therapist,
                json!({}),
            )
            .await
        }
        "/devices/pair" => {
            app.post("/api/v1/me/pairing-codes", patient, json!({}))
                .await
        }
        _ => return None,
    };
    assert!(made.status.is_success(), "a code for {path}: {}", made.body);
    Some(made.body["code"].as_str().unwrap().to_string())
}

async fn every_spoiled_body_is_refused_naming_its_field_and_storing_nothing(backend: Backend) {
    let started = std::time::Instant::now();
    let app = TestApp::new(backend, utc(2026, 11, 2, 7, 0)).await;
    let admin0 = app
        .clinic("Riverside Physio", "admin@riverside.example")
        .await;
    let therapist0 = app.therapist(&admin0, "tess@riverside.example").await;
    let patient = app
        .patient(&admin0, id(&therapist0), "Europe/London", "pat@example.org")
        .await;
    assert_eq!(
        (id(&admin0), id(&therapist0), id(&patient)),
        (1, 2, 3),
        "the examples' ids"
    );
    let patient_id = id(&patient);
    // The third walk's pain is a red flag: the week is escalated, to be acknowledged.
    for (day, pain_during) in [(0, 3), (2, 3), (4, 8)] {
        let start = utc(2026, 11, 2, 9, 0) + chrono::TimeDelta::days(day);
        let walk = app.walk(&patient, start, 20, 2, pain_during).await;
        app.answer(&patient, walk, start + chrono::TimeDelta::minutes(20), 2)
            .await;
    }
    app.clock.set(utc(2026, 11, 9, 0, 30));
    let review = app
        .post(
            &format!("/api/v1/patients/{patient_id}/reviews"),
            &therapist0,
            json!({"week_start": "2026-11-02"}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(review["output"]["decision"], "escalate", "{review}");
    let review_id = review["id"].as_i64().unwrap();
    // Last evening's walk, for its next-morning check; this morning's, corrected, checked
    // and withdrawn.
    let evening_walk = app.walk(&patient, utc(2026, 11, 8, 17, 0), 20, 2, 3).await;
    let walk = app.walk(&patient, utc(2026, 11, 9, 5, 0), 20, 2, 3).await;
    let band = app.pair_band(&patient).await;
    // The server's Web Push key pair is made (and stored) on first use, by whichever request
    // comes first: made here, so that a refused subscription is not the first.
    app.get("/api/v1/push/key", &patient)
        .await
        .expect(StatusCode::OK);
    app.clock.set(utc(2026, 11, 9, 8, 0));
    // A week on, the logins have expired: log in again.
    let admin = app.login("admin@riverside.example", PASSWORD).await;
    let therapist = app.login("tess@riverside.example", PASSWORD).await;
    let patient = app.login("pat@example.org", PASSWORD).await;
    // A questionnaire asked of the patient, for `{request_id}`.
    app.post(
        &format!("/api/v1/patients/{patient_id}/questionnaire-schedules"),
        &therapist,
        json!({"client_id": "bad-input", "instrument": "psfs", "timing": "start"}),
    )
    .await
    .expect(StatusCode::CREATED);
    let request_id = app
        .get("/api/v1/me/questionnaires", &patient)
        .await
        .expect(StatusCode::OK)["open"][0]["id"]
        .as_i64()
        .unwrap();
    // The therapist's timer on the patient runs, for the example that stops it.
    app.post(
        &format!("/api/v1/patients/{patient_id}/time/timer"),
        &therapist,
        json!({}),
    )
    .await
    .expect(StatusCode::CREATED);

    let doc = document();
    let base = doc["servers"][0]["url"].as_str().unwrap().to_string();
    let mut operations: Vec<(String, String, Value)> = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            if op["requestBody"]["content"]
                .get("application/json")
                .is_some()
            {
                operations.push((path.clone(), method.clone(), op.clone()));
            }
        }
    }
    // What ends the walk or the patient's login goes last.
    let rank = |path: &str| match path {
        "/me/sessions/{session_id}/withdraw" => 1,
        "/auth/login" => 2,
        "/auth/password-reset" => 3,
        _ => 0,
    };
    operations.sort_by_key(|(path, _, _)| rank(path));
    assert!(
        operations.len() >= 26,
        "{} operations with a body",
        operations.len()
    );

    let mut snapshot = Snapshot::open(&app.db.url).await;
    let mut wrong = Vec::new();
    let (mut sent, mut replayed) = (0, 0);
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    for (path, method, op) in &operations {
        let content = &op["requestBody"]["content"]["application/json"];
        let Some(example) = content.get("example") else {
            wrong.push(format!(
                "{method} {path}: no example request body in the OpenAPI document"
            ));
            continue;
        };
        let mut example = example.clone();
        if let Some(code) = live_code(&app, path, &therapist, &patient, &admin).await {
            example["code"] = json!(code);
        }
        let who = if path.starts_with("/me/") || path.starts_with("/push/") {
            &patient
        } else if path.starts_with("/patients/") {
            &therapist
        } else if path.starts_with("/clinic/") || path == "/invites" {
            &admin
        } else if path == "/samples" {
            &band
        } else {
            &Auth::None
        };
        let url = format!(
            "{base}{}",
            path.replace("{id}", &patient_id.to_string())
                .replace(
                    "{session_id}",
                    &if path.ends_with("/next-morning-check") {
                        evening_walk
                    } else {
                        walk
                    }
                    .to_string()
                )
                .replace("{review_id}", &review_id.to_string())
                .replace("{request_id}", &request_id.to_string())
        );
        let method: Method = method.to_uppercase().parse().unwrap();
        let mut mutations = Vec::new();
        field_mutations(&doc, &content["schema"], &example, &[], &mut mutations);
        whole_body_mutations(&example, &mut mutations);
        // Between two spoiled bodies nothing else runs: one request's "after" is the next
        // one's "before".
        let mut last = None;
        for m in mutations {
            let bytes = match &m.change {
                Change::NotInExample => {
                    let field = m.field.as_deref().unwrap_or_default();
                    if !NOT_IN_EXAMPLE
                        .iter()
                        .any(|(nm, np, nf, _)| *nm == method.as_str() && np == path && *nf == field)
                    {
                        wrong.push(format!(
                            "{method} {path}: {field} is documented but not in the example, so \
                             nothing spoils it"
                        ));
                    }
                    continue;
                }
                Change::Bytes(b) => b.clone(),
                Change::Set(v) => {
                    let mut body = example.clone();
                    *at_mut(&mut body, &m.path) = v.clone();
                    serde_json::to_vec(&body).unwrap()
                }
                Change::Remove => {
                    let mut body = example.clone();
                    let (last, parent) = m.path.split_last().unwrap();
                    let Seg::Key(key) = last else { unreachable!() };
                    at_mut(&mut body, parent)
                        .as_object_mut()
                        .unwrap()
                        .remove(key);
                    serde_json::to_vec(&body).unwrap()
                }
            };
            let field = m.field.clone().unwrap_or_default();
            let allowed = ACCEPTED.iter().any(|(am, ap, af, aw, _)| {
                *am == method.as_str() && ap == path && *af == field && *aw == m.what
            });
            let before = match last.take() {
                Some(counts) => counts,
                None => snapshot.take().await,
            };
            let answer = app
                .raw(method.clone(), &url, who, Some(bytes), "application/json")
                .await;
            sent += 1;
            let kind = [
                "wrong type",
                "below minimum",
                "above maximum",
                "date",
                "instant",
            ]
            .into_iter()
            .find(|k| m.what.starts_with(k))
            .unwrap_or(&m.what);
            *kinds.entry(kind.to_string()).or_default() += 1;
            let after = snapshot.take().await;
            last = Some(after.clone());
            let label = format!("{method} {path} [{field}: {}]", m.what);
            if allowed && answer.status.is_success() {
                continue;
            }
            let status = answer.status.as_u16();
            if ![400, 413, 422].contains(&status) {
                wrong.push(format!("{label}: {status} {}", answer.body));
                continue;
            }
            if !answer.body["error"].is_string() {
                wrong.push(format!(
                    "{label}: {status} without a JSON error: {}",
                    answer.body
                ));
            }
            if let Some(want) = &m.field
                && status != 413
                && answer.body["field"].as_str() != Some(want.as_str())
            {
                wrong.push(format!(
                    "{label}: names {} ({})",
                    answer.body["field"], answer.body["error"]
                ));
            }
            if before != after {
                let changed: Vec<String> = before
                    .iter()
                    .zip(&after)
                    .filter(|(b, a)| b.1 != a.1)
                    .map(|(b, a)| format!("{} {} -> {}", b.0, b.1, a.1))
                    .collect();
                wrong.push(format!("{label}: stored something: {}", changed.join(", ")));
            }
        }
        let replay = EXAMPLE_NOT_REPLAYED
            .iter()
            .all(|(m, p, _)| !(*m == method.as_str() && p == path));
        if replay {
            let answer = app
                .call(method.clone(), &url, who, Some(example.clone()))
                .await;
            replayed += 1;
            if !answer.status.is_success() {
                wrong.push(format!(
                    "{method} {path}: the example is refused: {} {}",
                    answer.status, answer.body
                ));
            }
        }
    }
    eprintln!(
        "{backend:?}: {} operations, {sent} spoiled bodies, {replayed} examples replayed, {:?}",
        operations.len(),
        started.elapsed()
    );
    eprintln!("{kinds:?}");
    // The catalogue does not shrink unnoticed (it was 629 when written).
    assert!(sent >= 600, "only {sent} spoiled bodies sent");
    assert!(
        wrong.is_empty(),
        "{} failures:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
