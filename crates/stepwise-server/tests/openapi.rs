//! The generated OpenAPI document and the route table describe the same API: every documented operation is
//! routed, and every routed path is documented.

mod common;

use axum::http::{Method, StatusCode, header};
use common::*;
use serde_json::{Value, json};
use stepwise_testkit::{Backend, backend_tests};

fn document() -> Value {
    serde_json::from_str(&stepwise_server::handlers::system::OPENAPI).expect("openapi.json parses")
}

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let app = TestApp::new(Backend::Sqlite, utc(2026, 11, 2, 7, 0)).await;
    let doc = document();
    let base = doc["servers"][0]["url"].as_str().unwrap();
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            let concrete = path
                .split('/')
                .map(|seg| if seg.starts_with('{') { "1" } else { seg })
                .collect::<Vec<_>>()
                .join("/");
            let method: Method = method.to_uppercase().parse().unwrap();
            let body = (method != Method::GET).then(|| json!({}));
            let answer = app
                .call(
                    method.clone(),
                    &format!("{base}{concrete}"),
                    &Auth::None,
                    body,
                )
                .await;
            assert_ne!(
                answer.body["error"].as_str(),
                Some("no such endpoint: the API is described at /api/docs"),
                "{method} {path} is documented but not routed"
            );
            checked += 1;
        }
    }
    assert!(checked >= 25, "only {checked} operations documented");
    // An undocumented path gets the router's own answer.
    let none = app.get("/api/v1/nothing-here", &Auth::None).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
}

/// Operations need the login (cookie and CSRF token) unless they say otherwise: the public
/// ones say none, the collector's the band's token.
#[test]
fn security_is_the_login_unless_an_operation_says_otherwise() {
    let doc = document();
    assert_eq!(doc["security"], json!([{"session": [], "csrf": []}]));
    assert_eq!(doc["paths"]["/auth/login"]["post"]["security"], json!([]));
    assert_eq!(doc["paths"]["/rules/schema"]["get"]["security"], json!([]));
    assert_eq!(
        doc["paths"]["/samples"]["post"]["security"],
        json!([{"deviceToken": []}])
    );
    assert!(doc["paths"]["/me/today"]["get"].get("security").is_none());
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["session"]["name"], "stepwise_session");
    assert_eq!(schemes["csrf"]["in"], "header");
}

#[test]
fn every_routed_path_is_documented() {
    let doc = document();
    let documented: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    let source = include_str!("../src/lib.rs");
    let routed: Vec<&str> = source
        .split(".route(")
        .skip(1)
        .filter_map(|rest| rest.trim_start().strip_prefix('"')?.split('"').next())
        .filter(|path| {
            path.starts_with('/')
                && !path.starts_with("/api/")
                && !path.starts_with("/clinic/patients/")
                && *path != "/healthz"
        })
        .collect();
    assert_eq!(routed.len(), 78, "{routed:?}");
    for path in routed {
        assert!(
            documented.iter().any(|d| d.as_str() == path),
            "{path} is routed but missing from the OpenAPI document"
        );
    }
}

#[tokio::test]
async fn docs_page_and_document_are_served() {
    let app = TestApp::new(Backend::Sqlite, utc(2026, 11, 2, 7, 0)).await;
    let doc = app
        .get("/api/openapi.json", &Auth::None)
        .await
        .expect(StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let page = app
        .raw(Method::GET, "/api/docs", &Auth::None, None, "")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let script = app
        .raw(Method::GET, "/api/docs.js", &Auth::None, None, "")
        .await;
    assert_eq!(script.status, StatusCode::OK);
    let health = app
        .get("/healthz", &Auth::None)
        .await
        .expect(StatusCode::OK);
    assert_eq!(health["status"], "ok");
}

/// The rules' and the plan's fields are described once, in the engine's tables: the served
/// document's schemas, the schema endpoint and the validation all say what the table says.
#[tokio::test]
async fn rule_and_plan_fields_come_from_the_engine_tables() {
    use stepwise_engine::rules::{PLAN_FIELDS, RULE_FIELDS};
    let app = TestApp::new(Backend::Sqlite, utc(2026, 11, 2, 7, 0)).await;
    let doc = app
        .get("/api/openapi.json", &Auth::None)
        .await
        .expect(StatusCode::OK);
    let patch = &doc["components"]["schemas"]["RulesPatch"];
    assert_eq!(patch["additionalProperties"], false);
    assert_eq!(
        patch["properties"].as_object().unwrap().len(),
        RULE_FIELDS.len()
    );
    for field in RULE_FIELDS {
        let property = &patch["properties"][field.name];
        match field.widest() {
            Some(range) => {
                assert_eq!(property["minimum"], *range.start(), "{}", field.name);
                assert_eq!(property["maximum"], *range.end(), "{}", field.name);
            }
            None => assert_eq!(property["type"], "boolean", "{}", field.name),
        }
    }
    let body = &doc["paths"]["/clinic/defaults"]["put"]["requestBody"]["content"]["application/json"]
        ["schema"];
    let defaults = referenced(&doc, &resolve(&doc, body)["properties"]["plan"]);
    let required: Vec<&str> = defaults["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let names: Vec<&str> = PLAN_FIELDS.iter().map(|f| f.name).collect();
    assert_eq!(required, names);
    assert_eq!(defaults["properties"]["rest_s"]["maximum"], 3600);
    let overriding = resolve(
        &doc,
        &doc["paths"]["/patients/{id}/plan"]["post"]["requestBody"]["content"]["application/json"]
            ["schema"],
    );
    assert_eq!(overriding["required"], json!(["reason"]));
    assert_eq!(overriding["properties"]["bouts"]["maximum"], 20);
    assert_eq!(overriding["properties"]["reason"]["maxLength"], 500);

    let schema = app
        .get("/api/v1/rules/schema", &Auth::None)
        .await
        .expect(StatusCode::OK);
    assert_eq!(schema["rules"].as_array().unwrap().len(), RULE_FIELDS.len());
    assert_eq!(schema["plan"].as_array().unwrap().len(), PLAN_FIELDS.len());
    let increase = &schema["rules"][0];
    assert_eq!(increase["name"], "increase_pct");
    assert_eq!(
        (
            increase["minimum"].as_i64(),
            increase["maximum"].as_i64(),
            increase["default"].as_i64()
        ),
        (Some(10), Some(20), Some(10))
    );
    assert_eq!(increase["unit"], "%");
    assert_eq!(increase["label"], "Weekly increase");
}

backend_tests!(
    every_answer_of_every_operation_is_documented,
    a_walk_starting_in_the_future_is_refused_naming_started_at,
);

/// The documented answers of one operation: status → the `application/json` schema, if any.
fn documented<'a>(
    doc: &'a Value,
    path: &str,
    method: &Method,
) -> &'a serde_json::Map<String, Value> {
    doc["paths"][path][method.as_str().to_lowercase()]["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("{method} {path} documents no responses"))
}

/// A schema with its `$ref` followed (one level: the document's refs point into components).
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r
                .strip_prefix("#/components/schemas/")
                .expect("a local ref");
            &doc["components"]["schemas"][name]
        }
        None => schema,
    }
}

/// The schema a property refers to, directly or as the non-null choice of an optional one.
fn referenced<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    let choices = schema["oneOf"].as_array().into_iter().flatten();
    match std::iter::once(schema)
        .chain(choices)
        .find(|s| s.get("$ref").is_some())
    {
        Some(with_ref) => resolve(doc, with_ref),
        None => schema,
    }
}

/// One request of the documented-answers check: URL, who sends it, the body and its content
/// type, and what it tries.
type Probe<'a> = (
    String,
    &'a Auth,
    Option<(Vec<u8>, &'static str)>,
    &'static str,
);

/// A validator of `schema` (a documented answer's schema, whose `$ref`s point into the
/// document's components), as JSON Schema 2020-12.
fn validator_for(doc: &Value, schema: &Value) -> jsonschema::Validator {
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": doc["components"],
        "allOf": [schema],
    });
    jsonschema::draft202012::new(&root)
        .unwrap_or_else(|err| panic!("a documented schema does not compile: {err}: {schema}"))
}

/// The JSON type of a value, as a JSON schema names it.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Whether `value` has a type `schema` allows at its top level (no `type`: anything).
fn type_allows(schema: &Value, value: &Value) -> bool {
    let actual = json_type(value);
    let allows = |t: &str| t == actual || (t == "number" && actual == "integer");
    match &schema["type"] {
        Value::String(t) => allows(t),
        Value::Array(ts) => ts.iter().any(|t| t.as_str().is_some_and(allows)),
        _ => true,
    }
}

/// Every operation is called with what a client may get wrong — no login, the wrong role, no
/// CSRF token, a body not declared as JSON, malformed JSON, an empty object, a body over the
/// limit, path parameters that are not numbers or name nothing, an unknown query parameter —
/// and, as a patient and as a therapist, with real ids. Every status answered must be
/// documented for that operation with a JSON body the document describes (errors as
/// `{error, field, allowed}`), and a success's body must be of its documented type.
async fn every_answer_of_every_operation_is_documented(backend: Backend) {
    let app = TestApp::new(backend, utc(2026, 11, 2, 7, 0)).await;
    let admin = app
        .clinic("Riverside Physio", "admin@riverside.example")
        .await;
    let therapist = app.therapist(&admin, "tess@riverside.example").await;
    let patient = app
        .patient(&admin, id(&therapist), "Europe/London", "pat@example.org")
        .await;
    let patient_id = id(&patient);
    let mut walk = 0;
    for day in [0, 2, 4] {
        let start = utc(2026, 11, 2, 9, 0) + chrono::TimeDelta::days(day);
        walk = app.walk(&patient, start, 20, 2, 3).await;
        app.answer(&patient, walk, start + chrono::TimeDelta::minutes(20), 2)
            .await;
    }
    app.clock.set(utc(2026, 11, 9, 0, 30));
    let review = app
        .post(
            &format!("/api/v1/patients/{patient_id}/reviews"),
            &therapist,
            json!({}),
        )
        .await
        .expect(StatusCode::CREATED);
    let review_id = review["id"].as_i64().unwrap();
    let band = app.pair_band(&patient).await;
    let device_id = app
        .get("/api/v1/me/devices", &patient)
        .await
        .expect(StatusCode::OK)[0]["id"]
        .to_string();
    let import_id = app
        .raw(
            Method::POST,
            "/api/v1/me/imports?file_name=notes.txt",
            &patient,
            Some(b"not an export".to_vec()),
            "application/octet-stream",
        )
        .await
        .expect(StatusCode::ACCEPTED)["id"]
        .to_string();
    let schedule = app
        .post(
            &format!("/api/v1/patients/{patient_id}/questionnaire-schedules"),
            &therapist,
            json!({"client_id": "probe", "instrument": "psfs", "timing": "start"}),
        )
        .await
        .expect(StatusCode::CREATED);
    let schedule_id = schedule["id"].to_string();
    let request_id = app
        .get("/api/v1/me/questionnaires", &patient)
        .await
        .expect(StatusCode::OK)["open"][0]["id"]
        .to_string();
    let walk = walk.to_string();
    let (patient_id, review_id, therapist_id) = (
        patient_id.to_string(),
        review_id.to_string(),
        id(&therapist).to_string(),
    );

    let doc = document();
    let base = doc["servers"][0]["url"].as_str().unwrap().to_string();
    let Auth::User(therapist_login) = &therapist else {
        unreachable!()
    };
    let no_csrf = Auth::CookieOnly(therapist_login.clone());
    let mut wrong = Vec::new();
    let mut validators: std::collections::HashMap<String, jsonschema::Validator> =
        std::collections::HashMap::new();
    let mut calls = 0;
    // Logging out ends the probes' sessions: it goes last.
    let mut operations: Vec<(&String, &String, &Value)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .iter()
                .map(move |(m, op)| (path, m, op))
        })
        .collect();
    operations.sort_by_key(|(path, _, _)| path.as_str() == "/auth/logout");
    let mut succeeded = std::collections::BTreeSet::new();
    {
        for (path, method, op) in operations.iter().copied() {
            let method: Method = method.to_uppercase().parse().unwrap();
            let answers = documented(&doc, path, &method);
            let concrete = |fill: &dyn Fn(&str) -> String| {
                let mut out = String::new();
                for seg in path.split('/').skip(1) {
                    out.push('/');
                    match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                        Some(name) => out.push_str(&fill(name)),
                        None => out.push_str(seg),
                    }
                }
                format!("{base}{out}")
            };
            let real = |name: &str| -> String {
                match (name, path.as_str()) {
                    ("id", p) if p.starts_with("/clinic/therapists/") => therapist_id.clone(),
                    ("id", _) => patient_id.clone(),
                    ("session_id", _) => walk.clone(),
                    ("review_id", _) => review_id.clone(),
                    ("device_id", _) => device_id.clone(),
                    ("import_id", _) => import_id.clone(),
                    ("schedule_id", _) => schedule_id.clone(),
                    ("request_id", _) => request_id.clone(),
                    ("instrument", _) => "psfs".into(),
                    ("chart", _) => "pain.svg".into(),
                    ("table", _) => "sessions.csv".into(),
                    (other, _) => panic!("{method} {path}: no value for {{{other}}}"),
                }
            };
            let writes = method != Method::GET;
            let json_body = |b: &str| Some((b.as_bytes().to_vec(), "application/json"));
            let mut probes: Vec<Probe> = Vec::new();
            let url = concrete(&real);
            let empty = if writes { json_body("{}") } else { None };
            probes.push((url.clone(), &Auth::None, empty.clone(), "no login"));
            probes.push((url.clone(), &patient, empty.clone(), "as the patient"));
            probes.push((url.clone(), &therapist, empty.clone(), "as the therapist"));
            probes.push((url.clone(), &admin, empty.clone(), "as the clinic admin"));
            if path == "/samples" {
                probes.push((url.clone(), &band, empty.clone(), "as the band"));
            }
            if writes {
                probes.push((
                    url.clone(),
                    &no_csrf,
                    empty.clone(),
                    "without the CSRF token",
                ));
                for who in [&patient, &therapist] {
                    probes.push((
                        url.clone(),
                        who,
                        Some((b"{}".to_vec(), "text/plain")),
                        "a body not declared as JSON",
                    ));
                    probes.push((url.clone(), who, json_body("{"), "malformed JSON"));
                    probes.push((url.clone(), who, json_body("[]"), "a JSON array"));
                    let large = format!("{{\"notes\": \"{}\"}}", "x".repeat(70 * 1024));
                    probes.push((
                        url.clone(),
                        who,
                        Some((large.into_bytes(), "application/json")),
                        "a body over 64 KiB",
                    ));
                }
            }
            if path.contains('{') {
                for who in [&patient, &therapist] {
                    let bad = concrete(&|_| "abc".into());
                    probes.push((bad, who, empty.clone(), "path parameters not numbers"));
                    let none = concrete(&|name| match name {
                        "chart" | "table" => "nothing".into(),
                        _ => "987654".into(),
                    });
                    probes.push((none, who, empty.clone(), "path parameters naming nothing"));
                }
            }
            if op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"))
            {
                for who in [&patient, &therapist] {
                    probes.push((
                        format!("{url}?colour=red"),
                        who,
                        empty.clone(),
                        "an unknown query parameter",
                    ));
                    probes.push((
                        format!("{url}?from=abc"),
                        who,
                        empty.clone(),
                        "a query parameter of the wrong type",
                    ));
                }
            }
            for (url, auth, body, what) in probes {
                let (bytes, content_type) = match body {
                    Some((b, ct)) => (Some(b), ct),
                    None => (None, "application/json"),
                };
                let answer = app
                    .raw(method.clone(), &url, auth, bytes, content_type)
                    .await;
                calls += 1;
                if answer.status.is_success() {
                    succeeded.insert(format!("{method} {path}"));
                }
                let status = answer.status.as_u16().to_string();
                let Some(described) = answers.get(&status) else {
                    wrong.push(format!(
                        "{method} {path} ({what}): {status} is not documented ({})",
                        answer.body
                    ));
                    continue;
                };
                let mime = answer
                    .headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(|v| v.split(';').next().unwrap_or("").trim().to_string());
                let Some(mime) = mime else {
                    continue;
                };
                let Some(content) = described["content"].get(&mime) else {
                    wrong.push(format!(
                        "{method} {path} ({what}): {status} answers {mime}, not documented"
                    ));
                    continue;
                };
                if !(mime == "application/json" || mime.ends_with("+json")) {
                    continue;
                }
                let Some(schema) = content.get("schema") else {
                    wrong.push(format!(
                        "{method} {path} ({what}): {status} answers JSON, documented without a schema"
                    ));
                    continue;
                };
                // The whole schema, nested objects and arrays included, by a JSON Schema
                // validator; each (operation, status) compiled once.
                let key = format!("{method} {path} {status}");
                let validator = validators
                    .entry(key)
                    .or_insert_with(|| validator_for(&doc, schema));
                let errors: Vec<String> = validator
                    .iter_errors(&answer.body)
                    .take(3)
                    .map(|e| format!("{} at {}", e, e.instance_path()))
                    .collect();
                if !errors.is_empty() {
                    wrong.push(format!(
                        "{method} {path} ({what}): {status} answers what its schema does not \
                         describe: {}",
                        errors.join("; ")
                    ));
                }
                let schema = resolve(&doc, schema);
                if !type_allows(schema, &answer.body) {
                    wrong.push(format!(
                        "{method} {path} ({what}): {status} answers a JSON {}, documented as {}",
                        json_type(&answer.body),
                        schema["type"]
                    ));
                }
                if answer.status.is_client_error() && !schema.to_string().contains("\"error\"") {
                    wrong.push(format!(
                        "{method} {path} ({what}): {status} is documented without the error schema"
                    ));
                }
            }
        }
    }
    assert!(calls > 300, "only {calls} calls made");
    assert!(
        wrong.is_empty(),
        "{} undocumented answers:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    // The probes with real ids reached the handlers: every read answered someone.
    for (path, method, _) in &operations {
        let op = format!("{} {path}", method.to_uppercase());
        assert!(
            method.as_str() != "get" || succeeded.contains(&op),
            "{op} never succeeded: the check did not reach it"
        );
    }
}

/// A walk whose start is in the future is refused naming `started_at` — the field at fault —
/// not `ended_at`.
async fn a_walk_starting_in_the_future_is_refused_naming_started_at(backend: Backend) {
    let app = TestApp::new(backend, utc(2026, 11, 2, 7, 0)).await;
    let admin = app
        .clinic("Riverside Physio", "admin@riverside.example")
        .await;
    let therapist = app.therapist(&admin, "tess@riverside.example").await;
    let patient = app
        .patient(&admin, id(&therapist), "Europe/London", "pat@example.org")
        .await;
    let refused = app
        .post(
            "/api/v1/me/sessions",
            &patient,
            json!({"client_id": "tomorrow", "started_at": "2026-11-03T09:00:00Z",
                   "ended_at": "2026-11-02T06:50:00Z", "walked_s": 600}),
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused["field"], "started_at", "{refused}");
    // Both in the future: the start is named, as it is the first instant wrong.
    let refused = app
        .post(
            "/api/v1/me/sessions",
            &patient,
            json!({"client_id": "tomorrow", "started_at": "2026-11-03T09:00:00Z",
                   "ended_at": "2026-11-03T09:20:00Z", "walked_s": 600}),
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused["field"], "started_at", "{refused}");
    // A start in the past with an end in the future names the end, as before.
    let refused = app
        .post(
            "/api/v1/me/sessions",
            &patient,
            json!({"client_id": "tomorrow", "started_at": "2026-11-02T06:50:00Z",
                   "ended_at": "2026-11-02T08:00:00Z", "walked_s": 600}),
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused["field"], "ended_at", "{refused}");
}
