//! `stepwise admin backup` while a server takes band uploads, then `stepwise admin restore`
//! into a fresh `stepwise serve`: every upload the server had acknowledged before the backup
//! began is in the restored database, and every upload in it is whole (no hour half there).

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DurationRound, TimeDelta, Utc};
use serde_json::{Value, json};
use stepwise_testkit::server::{PASSWORD, Session, TestServer};
use tokio::process::Command;
use tokio::sync::Mutex;

use common::serve::{STEPWISE, pair_band, serve, stepwise};

/// One hour of minute steps from the band: every minute of hour `hour` counts `hour + 1`.
fn hour_of_steps(start: chrono::DateTime<Utc>, hour: i64) -> Value {
    json!({"runs": [{
        "start": start + TimeDelta::hours(hour),
        "steps": vec![hour + 1; 60],
    }]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_while_bands_upload_restores_into_a_fresh_server_with_nothing_lost() {
    let now = Utc::now().duration_trunc(TimeDelta::hours(1)).unwrap();
    let server = TestServer::start(now).await;
    let patient = server.patient().await;
    let code = json!(patient.pairing_code().await);
    let token = pair_band(&server.url(), &code, "C8:0F:10:00:00:01").await;

    // The band uploads hour after hour (the 80 days before now) until told to stop; each
    // hour is recorded once the server has acknowledged it.
    let first_hour = now - TimeDelta::days(80);
    let acknowledged = Arc::new(Mutex::new(Vec::<i64>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let uploader = {
        let (acknowledged, stop, url) = (acknowledged.clone(), stop.clone(), server.url());
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            for hour in 0..24 * 79 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let answer = client
                    .post(format!("{url}/api/v1/samples"))
                    .bearer_auth(&token)
                    .json(&hour_of_steps(first_hour, hour))
                    .send()
                    .await
                    .expect("uploading");
                assert_eq!(answer.status(), 200, "{}", answer.text().await.unwrap());
                acknowledged.lock().await.push(hour);
            }
        })
    };
    while acknowledged.lock().await.len() < 40 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }

    let dir = std::env::temp_dir().join(stepwise_testkit::unique_name("stepwise_backup"));
    std::fs::create_dir_all(&dir).unwrap();
    let backup_file = dir.join("stepwise-backup.db");
    let before_backup = acknowledged.lock().await.clone();
    let said = stepwise(
        &[
            "admin",
            "backup",
            backup_file.to_str().unwrap(),
            "--database",
            &server.db.url,
        ],
        &[],
    )
    .await;
    assert!(said.starts_with("Backed up "), "{said}");
    // Uploads went on during the backup and go on after it.
    let during = acknowledged.lock().await.len();
    while acknowledged.lock().await.len() < during + 20 && !uploader.is_finished() {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    stop.store(true, Ordering::Relaxed);
    uploader.await.unwrap();
    let total = acknowledged.lock().await.len();

    // A backup is never overwritten.
    let again = Command::new(STEPWISE)
        .args(["admin", "backup", backup_file.to_str().unwrap()])
        .args(["--database", &server.db.url])
        .output()
        .await
        .unwrap();
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("never overwrites"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    let restored = format!("sqlite:{}", dir.join("restored.db").display());
    let said = stepwise(
        &[
            "admin",
            "restore",
            backup_file.to_str().unwrap(),
            "--database",
            &restored,
        ],
        &[],
    )
    .await;
    assert!(said.starts_with("Restored "), "{said}");

    // A fresh server runs on the restored database; the patient logs in and is at home.
    let mut restored_server = serve(&restored, &[], &[]).await;
    let session = Session::login(&restored_server.url, &patient.email, PASSWORD).await;
    let me = session.get("/me").await;
    assert_eq!(me["user"]["id"], patient.id, "{me}");

    let store = stepwise_store::connect(&restored).await.unwrap();
    let minutes = store
        .step_samples(patient.id, first_hour, now)
        .await
        .unwrap();
    let mut per_hour = std::collections::BTreeMap::<i64, Vec<i64>>::new();
    for sample in &minutes {
        let hour = (sample.minute - first_hour).num_hours();
        per_hour.entry(hour).or_default().push(sample.steps);
    }
    for hour in &before_backup {
        assert_eq!(
            per_hour.get(hour).map(Vec::len),
            Some(60),
            "hour {hour}, acknowledged before the backup began, is not whole in the restore"
        );
    }
    for (hour, steps) in &per_hour {
        assert_eq!(steps, &vec![hour + 1; 60], "hour {hour} is torn or wrong");
    }
    assert!(per_hour.len() >= before_backup.len() && per_hour.len() <= total);
    println!(
        "{} hours acknowledged before the backup, {} in it, {total} uploaded in all",
        before_backup.len(),
        per_hour.len()
    );

    // Restoring over an existing database needs --replace, and keeps the old file beside.
    restored_server.child.kill().await.unwrap();
    let refused = Command::new(STEPWISE)
        .args(["admin", "restore", backup_file.to_str().unwrap()])
        .args(["--database", &restored])
        .output()
        .await
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--replace"));
    stepwise(
        &[
            "admin",
            "restore",
            backup_file.to_str().unwrap(),
            "--database",
            &restored,
            "--replace",
        ],
        &[],
    )
    .await;
    let kept: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".before-restore-"))
        .collect();
    assert!(!kept.is_empty(), "the replaced database was not kept");

    let _ = std::fs::remove_dir_all(Path::new(&dir));
}
