//! `openapi.json` and the route table describe the same API: every documented operation is
//! routed, and every routed path is documented.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use serde_json::{Value, json};
use stepwise_testkit::Backend;

fn document() -> Value {
    serde_json::from_str(stepwise_server::handlers::system::OPENAPI).expect("openapi.json parses")
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
    assert_eq!(routed.len(), 51, "{routed:?}");
    for path in routed {
        assert!(
            documented.iter().any(|d| d.as_str() == path),
            "{path} is routed but missing from openapi.json"
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
