//! `stepwise demo` from the outside: the real binary on a free port, logged into over HTTP as
//! the therapist and as patients, showing the history the demo promises; Ctrl-C (SIGINT)
//! stops it and deletes its temporary database.

mod common;

use std::path::PathBuf;

use common::demo::Demo;
use serde_json::{Value, json};

const PASSWORD: &str = "demo-password";
const PATIENTS: [&str; 5] = [
    "Margaret Hughes",
    "Jonas Weber",
    "Priya Shah",
    "Robert Miller",
    "Aisha Okafor",
];

async fn login(demo: &Demo, email: &str) -> reqwest::Client {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let res = client
        .post(format!("{}/api/v1/auth/login", demo.url))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "logging in as {email}");
    client
}

async fn get(demo: &Demo, client: &reqwest::Client, path: &str) -> Value {
    let res = client
        .get(format!("{}{path}", demo.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "GET {path}");
    res.json().await.unwrap()
}

fn decisions(reviews: &Value) -> Vec<&str> {
    reviews
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["output"]["decision"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_serves_a_clinic_with_weeks_of_history_and_cleans_up() {
    let mut demo = Demo::start();
    for expected in [
        "admin@demo.stepwise",
        "therapist@demo.stepwise",
        "margaret@demo.stepwise",
        PASSWORD,
        "DEMO DATA ONLY",
    ] {
        assert!(
            demo.stdout.contains(expected),
            "{expected} in\n{}",
            demo.stdout
        );
    }
    let database = demo
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Database: "))
        .and_then(|l| l.split(" (temporary").next())
        .map(PathBuf::from)
        .expect("the database is printed");
    assert!(
        database.exists(),
        "{} exists while serving",
        database.display()
    );

    // The therapist's list: every demo patient, one escalated and frozen.
    let therapist = login(&demo, "therapist@demo.stepwise").await;
    let list = get(&demo, &therapist, "/api/v1/patients").await;
    let rows = list.as_array().unwrap();
    let id_of = |name: &str| {
        rows.iter()
            .find(|r| r["patient"]["display_name"] == name)
            .unwrap_or_else(|| panic!("{name} is listed: {list}"))["patient"]["id"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(rows.len(), PATIENTS.len(), "{list}");
    for name in PATIENTS {
        id_of(name);
    }
    let escalated: Vec<&Value> = rows
        .iter()
        .filter(|r| !r["open_escalation"].is_null())
        .collect();
    assert_eq!(escalated.len(), 1, "one open escalation: {list}");
    assert_eq!(escalated[0]["patient"]["display_name"], "Robert Miller");
    assert_eq!(escalated[0]["patient"]["frozen"], true);

    // The steady patient's own history: eight weeks of reviews with reasons, the plan grown.
    let margaret = login(&demo, "margaret@demo.stepwise").await;
    let history = get(&demo, &margaret, "/api/v1/me/history").await;
    let reviews = history["reviews"].as_array().unwrap();
    assert!(reviews.len() >= 7, "{} reviews", reviews.len());
    for review in reviews {
        assert!(
            !review["output"]["reasons"].as_array().unwrap().is_empty(),
            "every review has reasons: {review}"
        );
    }
    assert!(
        decisions(&history["reviews"])
            .iter()
            .filter(|d| **d == "advance")
            .count()
            >= 6,
        "{:?}",
        decisions(&history["reviews"])
    );
    let changes = history["plan_changes"].as_array().unwrap();
    assert!(!changes.is_empty(), "the plan changed: {history}");
    assert!(history["patient"]["plan"]["interval_s"].as_i64().unwrap() > 300);

    // Her timeline as the therapist sees it: walks, band days with steps and sleep.
    let id = id_of("Margaret Hughes");
    let timeline = get(
        &demo,
        &therapist,
        &format!("/api/v1/patients/{id}/timeline"),
    )
    .await;
    let band_days = timeline["band_days"].as_array().unwrap();
    assert!(band_days.len() >= 20, "{} band days", band_days.len());
    let days_over = |field: &str, min: i64| {
        band_days
            .iter()
            .filter(|d| d[field].as_i64().unwrap() > min)
            .count()
    };
    assert!(
        days_over("steps", 2000) >= 20,
        "days of steps: {band_days:?}"
    );
    assert!(days_over("sleep_min", 300) >= 20, "nights: {band_days:?}");
    assert!(timeline["sessions"].as_array().unwrap().len() >= 10);
    // Her walks are confirmed by the band.
    let verified = reviews
        .iter()
        .flat_map(|r| r["evidence"]["sessions"].as_array().unwrap())
        .filter(|s| s["verified"] == true)
        .count();
    assert!(verified >= 30, "{verified} verified walks");

    // The flare patient stepped back; the one who misses checks mostly held.
    let jonas = id_of("Jonas Weber");
    let reviews = get(
        &demo,
        &therapist,
        &format!("/api/v1/patients/{jonas}/reviews"),
    )
    .await;
    assert!(
        decisions(&reviews).contains(&"regress"),
        "{:?}",
        decisions(&reviews)
    );
    let priya = id_of("Priya Shah");
    let reviews = get(
        &demo,
        &therapist,
        &format!("/api/v1/patients/{priya}/reviews"),
    )
    .await;
    let holds = decisions(&reviews).iter().filter(|d| **d == "hold").count();
    assert!(holds >= 4, "{:?}", decisions(&reviews));

    // The clinic's visit view has patients coming in; the app is served.
    let visits = get(&demo, &therapist, "/api/v1/clinic/visits").await;
    assert!(!visits.as_array().unwrap().is_empty(), "{visits}");
    let app = reqwest::get(format!("{}/app", demo.url)).await.unwrap();
    assert_eq!(app.status(), 200);

    // Ctrl-C stops the demo and deletes its temporary database.
    let status = demo.interrupt().expect("the demo stops on Ctrl-C");
    assert!(status.success(), "{status:?}");
    assert!(
        !database.exists(),
        "{} is deleted on Ctrl-C",
        database.display()
    );
    assert!(!database.parent().unwrap().exists());
}
