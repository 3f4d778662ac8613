//! Imports of phone exports through the API, in process, against SQLite and PostgreSQL: an
//! upload read in the background to its summary, stored once however often it comes, a bad
//! file failing with one line and storing nothing, the care team uploading for a patient, the
//! size limit, and an import pairing's uploads landing on the paired band of the same
//! address.

mod common;

use std::io::Write;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Utc};
use common::*;
use serde_json::{Value, json};
use stepwise_server::Config;
use stepwise_server::state::ImportConfig;
use stepwise_testkit::{Backend, backend_tests};

backend_tests!(
    an_apple_health_export_is_read_to_its_truth_and_stored_once,
    a_fitbit_takeout_is_read_to_its_truth,
    a_gadgetbridge_database_is_read_to_its_truth,
    a_bad_file_fails_with_one_line_and_stores_nothing,
    the_care_team_uploads_for_a_patient_and_no_one_else_sees_it,
    an_upload_over_the_limit_is_refused,
    an_import_pairing_stores_each_source_under_its_device,
);

/// The Apple Health fixture of `stepwise-imports` (its README gives the truth).
const APPLE_EXPORT: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../stepwise-imports/tests/fixtures/apple_health/export.xml"
));

/// The day after the fixture's last day.
fn after_the_apple_fixture() -> DateTime<Utc> {
    utc(2026, 3, 5, 12, 0)
}

/// `files` zipped, as the Health app's export.zip holds them.
fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in files {
        zip.start_file(*name, options).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap();
    out.into_inner()
}

struct World {
    app: TestApp,
    therapist: Auth,
    patient: Auth,
    patient_id: i64,
}

async fn world(backend: Backend, now: DateTime<Utc>, config: Config) -> World {
    let app = TestApp::with_config(backend, now, config).await;
    let admin = app
        .clinic("Riverside Physio", "admin@riverside.example")
        .await;
    let therapist = app.therapist(&admin, "tess@riverside.example").await;
    let patient = app
        .patient(&admin, id(&therapist), "UTC", "pat@example.org")
        .await;
    let patient_id = id(&patient);
    World {
        app,
        therapist,
        patient,
        patient_id,
    }
}

/// Uploads `bytes` as `name` to `path`; returns the import as first answered.
async fn upload(w: &World, path: &str, auth: &Auth, name: &str, bytes: Vec<u8>) -> Value {
    w.app
        .raw(
            Method::POST,
            &format!("{path}?file_name={name}"),
            auth,
            Some(bytes),
            "application/octet-stream",
        )
        .await
        .expect(StatusCode::ACCEPTED)
}

/// Asks for the import at `path` until it is done or failed.
async fn finished(w: &World, path: &str, auth: &Auth) -> Value {
    for _ in 0..400 {
        let import = w.app.get(path, auth).await.expect(StatusCode::OK);
        if import["state"] == "done" || import["state"] == "failed" {
            return import;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the import at {path} did not finish in 10 s");
}

/// The patient's band days from `from` to `to` (local dates), as the care team's timeline
/// shows them.
async fn timeline_days(w: &World, from: &str, to: &str) -> Value {
    w.app
        .get(
            &format!(
                "/api/v1/patients/{}/timeline?from={from}&to={to}",
                w.patient_id
            ),
            &w.therapist,
        )
        .await
        .expect(StatusCode::OK)["band_days"]
        .clone()
}

/// The patient's band days of 1–5 March 2026 as (date, steps, sleep minutes).
async fn band_days(w: &World) -> Vec<(String, i64, i64)> {
    timeline_days(w, "2026-03-01", "2026-03-05")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["date"].as_str().unwrap().to_string(),
                d["steps"].as_i64().unwrap(),
                d["sleep_min"].as_i64().unwrap(),
            )
        })
        .collect()
}

async fn an_apple_health_export_is_read_to_its_truth_and_stored_once(backend: Backend) {
    let w = world(backend, after_the_apple_fixture(), Config::default()).await;
    let zip = zip_of(&[("apple_health_export/export.xml", APPLE_EXPORT)]);
    let first = upload(
        &w,
        "/api/v1/me/imports",
        &w.patient,
        "export.zip",
        zip.clone(),
    )
    .await;
    assert_eq!(first["state"], "reading");
    assert_eq!(first["file_name"], "export.zip");
    assert_eq!(first["size_bytes"], zip.len());
    let path = format!("/api/v1/me/imports/{}", first["id"]);
    let done = finished(&w, &path, &w.patient).await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["format"], "apple-health");
    let summary = &done["summary"];
    // The fixture's truth (crates/stepwise-imports/tests/fixtures/apple_health/README.md):
    // steps per UTC day 1096, 57, 30; 480 minutes asleep; never the 6,736 of every record.
    assert_eq!(summary["steps"], 1096 + 57 + 30, "{summary}");
    assert_eq!(summary["sleep_minutes"], 480, "{summary}");
    assert_eq!(summary["first_day"], "2026-03-02");
    assert_eq!(summary["last_day"], "2026-03-04");
    assert_eq!(summary["left_out"]["minutes_too_old"], 0);
    // The patient's days (zone UTC): the steps per day, the night on the morning it ends.
    let days = band_days(&w).await;
    assert_eq!(
        days,
        vec![
            ("2026-03-02".to_string(), 1096, 0),
            ("2026-03-03".to_string(), 57, 480),
            ("2026-03-04".to_string(), 30, 0),
        ]
    );
    let devices = w
        .app
        .get("/api/v1/me/devices", &w.patient)
        .await
        .expect(StatusCode::OK);
    let devices = devices.as_array().unwrap().clone();
    assert!(
        devices
            .iter()
            .all(|d| d["imported"] == true && d["kind"] == "apple-health")
    );
    // The same export again (the bare export.xml this time): nothing new, nothing doubled.
    let again = upload(
        &w,
        "/api/v1/me/imports",
        &w.patient,
        "export.xml",
        APPLE_EXPORT.to_vec(),
    )
    .await;
    let again = finished(
        &w,
        &format!("/api/v1/me/imports/{}", again["id"]),
        &w.patient,
    )
    .await;
    assert_eq!(again["state"], "done", "{again}");
    assert_eq!(band_days(&w).await, days);
    let devices_again = w
        .app
        .get("/api/v1/me/devices", &w.patient)
        .await
        .expect(StatusCode::OK);
    assert_eq!(devices_again.as_array().unwrap().len(), devices.len());
    let list = w
        .app
        .get("/api/v1/me/imports", &w.patient)
        .await
        .expect(StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["id"], again["id"]);
}

/// A fixture file of `stepwise-imports`.
fn fixture(path: &str) -> Vec<u8> {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../stepwise-imports/tests/fixtures/"
    );
    std::fs::read(format!("{dir}{path}")).unwrap()
}

async fn a_fitbit_takeout_is_read_to_its_truth(backend: Backend) {
    let w = world(backend, utc(2024, 4, 11, 12, 0), Config::default()).await;
    let old = "Takeout/Fitbit/Global Export Data/";
    let files = [
        (
            "Takeout/Fitbit/Your Profile/Profile.csv".to_string(),
            fixture("fitbit/Profile.csv"),
        ),
        (
            format!("{old}steps-2024-03-30.json"),
            fixture("fitbit/steps-2024-03-30.json"),
        ),
        (
            format!("{old}steps-2024-03-31.json"),
            fixture("fitbit/steps-2024-03-31.json"),
        ),
        (
            format!("{old}sleep-2024-03-30.json"),
            fixture("fitbit/sleep-2024-03-30.json"),
        ),
    ];
    let files: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(name, data)| (name.as_str(), data.as_slice()))
        .collect();
    let first = upload(
        &w,
        "/api/v1/me/imports",
        &w.patient,
        "takeout.zip",
        zip_of(&files),
    )
    .await;
    let done = finished(
        &w,
        &format!("/api/v1/me/imports/{}", first["id"]),
        &w.patient,
    )
    .await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["format"], "fitbit-takeout");
    // The fixture's truth (crates/stepwise-imports/tests/fixtures/fitbit/README.md): 270 steps
    // on 30 March, 67 on the 31st once the minute of 5,000 steps is left out; 108 + 90 + 90
    // minutes asleep.
    assert_eq!(
        done["summary"]["left_out"]["minutes_implausible"], 1,
        "{done}"
    );
    assert_eq!(done["summary"]["sleep_minutes"], 288, "{done}");
    let days = timeline_days(&w, "2024-03-29", "2024-04-11").await;
    let days = days.as_array().unwrap();
    let steps: Vec<(&str, i64)> = days
        .iter()
        .filter(|d| d["steps"].as_i64().unwrap() > 0)
        .map(|d| (d["date"].as_str().unwrap(), d["steps"].as_i64().unwrap()))
        .collect();
    assert_eq!(steps, vec![("2024-03-30", 270), ("2024-03-31", 67)]);
    let asleep: i64 = days.iter().map(|d| d["sleep_min"].as_i64().unwrap()).sum();
    assert_eq!(asleep, 288);
}

async fn a_gadgetbridge_database_is_read_to_its_truth(backend: Backend) {
    let w = world(backend, utc(2026, 11, 23, 12, 0), Config::default()).await;
    // The database file Gadgetbridge exports, made from the fixture's SQL.
    let dir = std::env::temp_dir().join(stepwise_testkit::unique_name("gadgetbridge"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("Gadgetbridge");
    let sql = String::from_utf8(fixture("gadgetbridge/gadgetbridge.sql")).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(&sql).unwrap();
    conn.close().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let first = upload(&w, "/api/v1/me/imports", &w.patient, "Gadgetbridge", bytes).await;
    let done = finished(
        &w,
        &format!("/api/v1/me/imports/{}", first["id"]),
        &w.patient,
    )
    .await;
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["format"], "gadgetbridge");
    // The fixture's truth (crates/stepwise-imports/tests/fixtures/gadgetbridge/README.md),
    // summed over its seven devices per UTC day.
    let days = timeline_days(&w, "2026-11-19", "2026-11-23").await;
    let steps: Vec<(&str, i64)> = days
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["steps"].as_i64().unwrap() > 0)
        .map(|d| (d["date"].as_str().unwrap(), d["steps"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        steps,
        vec![
            ("2026-11-20", 500 + 12 + 300 + 75),
            ("2026-11-21", 20 + 100 + 112 + 66),
            ("2026-11-22", 16),
        ]
    );
    let devices = w
        .app
        .get("/api/v1/me/devices", &w.patient)
        .await
        .expect(StatusCode::OK);
    assert_eq!(devices.as_array().unwrap().len(), 7, "{devices}");
}

async fn a_bad_file_fails_with_one_line_and_stores_nothing(backend: Backend) {
    let w = world(backend, after_the_apple_fixture(), Config::default()).await;
    let truncated = {
        let mut zip = zip_of(&[("apple_health_export/export.xml", APPLE_EXPORT)]);
        zip.truncate(zip.len() / 2);
        zip
    };
    let cut_xml = APPLE_EXPORT[..APPLE_EXPORT.len() / 2].to_vec();
    for (name, bytes, says) in [
        (
            "notes.txt",
            b"my walks this week".to_vec(),
            "this file is not an export Stepwise reads",
        ),
        (
            "export.zip",
            truncated,
            "the archive is damaged or truncated",
        ),
        ("export.xml", cut_xml, "export.xml"),
    ] {
        let first = upload(&w, "/api/v1/me/imports", &w.patient, name, bytes).await;
        let path = format!("/api/v1/me/imports/{}", first["id"]);
        let failed = finished(&w, &path, &w.patient).await;
        assert_eq!(failed["state"], "failed", "{failed}");
        let error = failed["error"].as_str().unwrap();
        assert!(error.starts_with(says), "{name}: {error}");
        assert!(!error.contains('\n'), "one line: {error}");
        assert_eq!(failed["summary"], Value::Null);
    }
    assert_eq!(band_days(&w).await, vec![]);
    let devices = w
        .app
        .get("/api/v1/me/devices", &w.patient)
        .await
        .expect(StatusCode::OK);
    assert_eq!(devices, json!([]));
    // An empty upload and a missing name are refused at once.
    let empty = w
        .app
        .raw(
            Method::POST,
            "/api/v1/me/imports?file_name=x.zip",
            &w.patient,
            Some(Vec::new()),
            "application/octet-stream",
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(empty["field"], "body");
    let unnamed = w
        .app
        .raw(
            Method::POST,
            "/api/v1/me/imports",
            &w.patient,
            Some(b"x".to_vec()),
            "application/octet-stream",
        )
        .await;
    assert_eq!(
        unnamed.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unnamed.body
    );
    assert!(
        unnamed.body["error"]
            .as_str()
            .unwrap()
            .contains("file_name")
    );
}

async fn the_care_team_uploads_for_a_patient_and_no_one_else_sees_it(backend: Backend) {
    let w = world(backend, after_the_apple_fixture(), Config::default()).await;
    let first = upload(
        &w,
        &format!("/api/v1/patients/{}/imports", w.patient_id),
        &w.therapist,
        "export.xml",
        APPLE_EXPORT.to_vec(),
    )
    .await;
    assert_eq!(first["uploaded_by"], id(&w.therapist));
    let path = format!("/api/v1/patients/{}/imports/{}", w.patient_id, first["id"]);
    let done = finished(&w, &path, &w.therapist).await;
    assert_eq!(done["state"], "done", "{done}");
    // The patient sees it among their own imports.
    let mine = w
        .app
        .get(&format!("/api/v1/me/imports/{}", first["id"]), &w.patient)
        .await
        .expect(StatusCode::OK);
    assert_eq!(mine["summary"], done["summary"]);
    // Another patient does not, nor a patient through the care team's path.
    let other = w
        .app
        .patient(&w.therapist, id(&w.therapist), "UTC", "other@example.org")
        .await;
    w.app
        .get(&format!("/api/v1/me/imports/{}", first["id"]), &other)
        .await
        .expect(StatusCode::NOT_FOUND);
    w.app
        .get(&path, &w.patient)
        .await
        .expect(StatusCode::FORBIDDEN);
    // The care team's reads and the upload are audited.
    let admin = w.app.login("admin@riverside.example", PASSWORD).await;
    let audit = w
        .app
        .get(&format!("/api/v1/patients/{}/audit", w.patient_id), &admin)
        .await
        .expect(StatusCode::OK);
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"write patient.imports"), "{actions:?}");
    assert!(actions.contains(&"read patient.imports"), "{actions:?}");
}

async fn an_upload_over_the_limit_is_refused(backend: Backend) {
    let config = Config {
        imports: ImportConfig {
            max_upload_bytes: 1000,
            ..ImportConfig::default()
        },
        ..Config::default()
    };
    let w = world(backend, after_the_apple_fixture(), config).await;
    let refused = w
        .app
        .raw(
            Method::POST,
            "/api/v1/me/imports?file_name=export.xml",
            &w.patient,
            Some(APPLE_EXPORT.to_vec()),
            "application/octet-stream",
        )
        .await
        .expect(StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        refused["error"].as_str().unwrap().contains("1000 bytes"),
        "{refused}"
    );
    let list = w
        .app
        .get("/api/v1/me/imports", &w.patient)
        .await
        .expect(StatusCode::OK);
    assert_eq!(list, json!([]));
}

async fn an_import_pairing_stores_each_source_under_its_device(backend: Backend) {
    let now = utc(2026, 11, 3, 12, 0);
    let w = world(backend, now, Config::default()).await;
    // The patient's Mi Band 3 is paired over Bluetooth (address C8:0F:10:00:00:01).
    let band = w.app.pair_band(&w.patient).await;
    let code = w
        .app
        .post("/api/v1/me/pairing-codes", &w.patient, json!({}))
        .await
        .expect(StatusCode::CREATED);
    let paired = w
        .app
        .post(
            "/api/v1/devices/pair",
            &Auth::None,
            json!({"code": code["code"], "device": {"kind": "phone-import",
                   "address": "7d9c0b1e-35f4-4d7a-9c61-3f1f0e2a4b5c", "name": "Imports"}}),
        )
        .await
        .expect(StatusCode::CREATED);
    let importer = Auth::Device(paired["token"].as_str().unwrap().to_string());
    let minutes = json!([{"start": "2026-11-02T09:00:00Z", "steps": [80, 90, 100]}]);
    // An import pairing names the source of each upload; a band does not.
    let unnamed = w
        .app
        .post("/api/v1/samples", &importer, json!({"runs": minutes}))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unnamed["field"], "source");
    let named_by_band = w
        .app
        .post(
            "/api/v1/samples",
            &band,
            json!({"runs": minutes, "source": {"kind": "gadgetbridge",
                   "address": "C8:0F:10:00:00:01", "name": "Mi Band 3"}}),
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(named_by_band["field"], "source");
    let bad_kind = w
        .app
        .post(
            "/api/v1/samples",
            &importer,
            json!({"runs": minutes, "source": {"kind": "mi-band-3",
                   "address": "C8:0F:10:00:00:01", "name": "Mi Band 3"}}),
        )
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_kind["field"], "source.kind");
    // The Gadgetbridge export's Mi Band 3 (lower case) lands on the paired band; a night too.
    let night =
        json!([{"start": "2026-11-01T23:00:00Z", "end": "2026-11-02T06:00:00Z", "stage": "light"}]);
    for (auth, imported) in [(&importer, true), (&band, false), (&importer, true)] {
        let mut body = json!({"runs": minutes, "sleep": night});
        if imported {
            body["source"] = json!({"kind": "gadgetbridge", "address": "c8:0f:10:00:00:01", "name": "Mi Band 3"});
        }
        w.app
            .post("/api/v1/samples", auth, body)
            .await
            .expect(StatusCode::OK);
    }
    // Imported, synced, imported again: one band, each minute and the night once.
    let days = timeline_days(&w, "2026-11-02", "2026-11-02").await;
    assert_eq!(
        days,
        json!([{"date": "2026-11-02", "steps": 270, "minutes_with_data": 3, "sleep_min": 420}])
    );
    let devices = w
        .app
        .get("/api/v1/me/devices", &w.patient)
        .await
        .expect(StatusCode::OK);
    let kinds: Vec<&str> = devices
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["mi-band-3", "phone-import"]);
    // A source the patient has no band for becomes an imported device.
    w.app
        .post(
            "/api/v1/samples",
            &importer,
            json!({"runs": minutes, "source": {"kind": "apple-health",
                   "address": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "name": "Apple Watch"}}),
        )
        .await
        .expect(StatusCode::OK);
    let devices = w
        .app
        .get("/api/v1/me/devices", &w.patient)
        .await
        .expect(StatusCode::OK);
    let watch = devices
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "Apple Watch")
        .expect("the watch")
        .clone();
    assert_eq!(watch["imported"], true);
    // The watch slept within the band's night: the night counts once (the union of both).
    w.app
        .post(
            "/api/v1/samples",
            &importer,
            json!({"sleep": [{"start": "2026-11-01T23:30:00Z", "end": "2026-11-02T05:30:00Z", "stage": "light"}],
                   "source": {"kind": "apple-health",
                   "address": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "name": "Apple Watch"}}),
        )
        .await
        .expect(StatusCode::OK);
    let days = timeline_days(&w, "2026-11-02", "2026-11-02").await;
    assert_eq!(days[0]["sleep_min"], 420, "{days}");
}
