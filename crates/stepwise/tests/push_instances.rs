//! Several `stepwise serve` processes on one PostgreSQL share the reminders: each is sent
//! exactly once, and the claims of an instance killed with SIGKILL mid-batch are sent by
//! another once their lease runs out. The push service is npm `web-push-testing`, which
//! decrypts every message, so the test counts what really arrived.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use sqlx::Row;
use stepwise_server::push::generate_vapid_keys;
use stepwise_store::{
    NewInvite, NewPushSubscription, NewReminder, NewUser, PatientInvite, ReminderKind,
    ReminderMessage, Role, Store,
};
use stepwise_testkit::push::{PushService, TestSubscription};
use stepwise_testkit::{Backend, TestDb, fresh_store, unique_name};

const REMINDERS: usize = 1000;

/// One `stepwise serve` process, killed (SIGKILL) when dropped.
struct Instance {
    child: Child,
    log: PathBuf,
}

impl Instance {
    /// Starts one instance. A send that times out is retried, and the push service may have
    /// taken it all the same, so only a test that accepts at-least-once (the crash) uses a
    /// short timeout (the lease must exceed twice the timeout).
    fn start(db: &TestDb, name: &str, lease_secs: u32, timeout_ms: u32) -> Instance {
        let log = std::env::temp_dir().join(format!("{}.log", unique_name(name)));
        let child = Command::new(env!("CARGO_BIN_EXE_stepwise"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(["--database", &db.url])
            .args(["--push-hosts", "localhost,127.0.0.1"])
            .args(["--push-timeout-ms", &timeout_ms.to_string()])
            .args(["--reminder-lease-secs", &lease_secs.to_string()])
            .args(["--reminder-poll-ms", "20"])
            .env("STEPWISE_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("starting stepwise serve");
        Instance { child, log }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A patient with one browser subscribed at the push service, and `REMINDERS` reminders due.
async fn world(store: &Arc<dyn Store>, service: &PushService) -> TestSubscription {
    let now = Utc::now();
    let hash = "not-a-real-hash".to_string();
    let (clinic, admin) = store
        .create_clinic(
            "Harbour",
            NewUser {
                email: "admin@harbour.test".into(),
                display_name: "Admin".into(),
                password_hash: hash.clone(),
            },
            now,
        )
        .await
        .unwrap();
    let invite = |code: &str, role, patient| NewInvite {
        code_hash: code.into(),
        clinic_id: clinic.id,
        role,
        created_by: admin.id,
        expires_at: now + TimeDelta::days(1),
        patient,
    };
    store
        .create_invite(invite("t", Role::Therapist, None), now)
        .await
        .unwrap();
    let therapist = store
        .accept_invite(
            "t",
            NewUser {
                email: "t@harbour.test".into(),
                display_name: "T".into(),
                password_hash: hash.clone(),
            },
            now,
        )
        .await
        .unwrap();
    let patient_invite = PatientInvite {
        therapist_id: therapist.id,
        timezone: "Europe/Berlin".into(),
    };
    store
        .create_invite(invite("p", Role::Patient, Some(patient_invite)), now)
        .await
        .unwrap();
    let patient = store
        .accept_invite(
            "p",
            NewUser {
                email: "p@harbour.test".into(),
                display_name: "P".into(),
                password_hash: hash,
            },
            now,
        )
        .await
        .unwrap();
    // The instances find these keys stored, as on any start after the first.
    let keys = store
        .vapid_keys(generate_vapid_keys(now).unwrap())
        .await
        .unwrap();
    let sub = service.subscribe(&keys.public_key).await;
    store
        .save_push_subscription(
            patient.id,
            NewPushSubscription {
                endpoint: sub.endpoint.clone(),
                p256dh: sub.p256dh.clone(),
                auth: sub.auth.clone(),
                label: "Phone".into(),
            },
            now,
        )
        .await
        .unwrap();
    let reminders: Vec<NewReminder> = (0..REMINDERS)
        .map(|n| NewReminder {
            kind: ReminderKind::PlanChange,
            recipient_id: patient.id,
            patient_id: patient.id,
            session_id: None,
            dedupe_key: format!("load:{n}"),
            due_at: now - TimeDelta::minutes(1),
            expires_at: Some(now + TimeDelta::hours(1)),
            message: ReminderMessage {
                title: format!("Message {n}"),
                body: "Your walking plan stays the same.".into(),
                url: "/app/reminders".into(),
            },
        })
        .collect();
    assert_eq!(
        store.schedule_reminders(&reminders, now).await.unwrap(),
        REMINDERS as u64
    );
    sub
}

/// Reminders per state.
async fn states(url: &str) -> BTreeMap<String, i64> {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM reminders GROUP BY state")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    rows.iter()
        .map(|r| (r.get::<String, _>("state"), r.get::<i64, _>("n")))
        .collect()
}

fn count(states: &BTreeMap<String, i64>, state: &str) -> i64 {
    states.get(state).copied().unwrap_or(0)
}

/// Waits until every reminder is sent, or panics with the instances' logs.
async fn wait_all_sent(url: &str, instances: &[&Instance], within: Duration) {
    let started = Instant::now();
    loop {
        let now = states(url).await;
        if count(&now, "sent") == REMINDERS as i64 {
            return;
        }
        if started.elapsed() > within {
            let logs: Vec<String> = instances.iter().map(|i| i.log()).collect();
            panic!(
                "not all sent after {within:?}: {now:?}\nlogs:\n{}",
                logs.join("\n---\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Logged attempts that did not deliver: (reminder, outcome, error).
async fn failed_attempts(url: &str) -> Vec<(i64, String, Option<String>)> {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let rows = sqlx::query(
        "SELECT reminder_id, outcome, error FROM push_deliveries \
         WHERE outcome <> 'delivered' ORDER BY id LIMIT 20",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    rows.iter()
        .map(|r| (r.get("reminder_id"), r.get("outcome"), r.get("error")))
        .collect()
}

/// How many times each reminder arrived at the push service, by reminder id.
async fn arrivals(service: &PushService, sub: &TestSubscription) -> BTreeMap<i64, usize> {
    let mut seen = BTreeMap::new();
    for message in service.notifications(&sub.client_hash).await {
        let id = message["reminder_id"]
            .as_i64()
            .expect("reminder_id in payload");
        *seen.entry(id).or_insert(0) += 1;
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_send_each_reminder_exactly_once() {
    let db = fresh_store(Backend::Postgres).await;
    let service = PushService::start().await;
    let sub = world(&db.store, &service).await;
    let a = Instance::start(&db, "instance_a", 60, 10_000);
    let b = Instance::start(&db, "instance_b", 60, 10_000);
    wait_all_sent(&db.url, &[&a, &b], Duration::from_secs(180)).await;

    let seen = arrivals(&service, &sub).await;
    assert_eq!(seen.len(), REMINDERS, "every reminder arrived");
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n != 1).collect();
    assert!(
        twice.is_empty(),
        "arrived more than once: {twice:?}; attempts that were not deliveries: {:?}",
        failed_attempts(&db.url).await
    );

    // Both instances did part of the work, each under its own name.
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let workers: Vec<(String, i64)> = sqlx::query(
        "SELECT worker, COUNT(*) AS n FROM push_deliveries GROUP BY worker ORDER BY worker",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get("worker"), r.get("n")))
    .collect();
    pool.close().await;
    eprintln!("deliveries per instance: {workers:?}");
    assert_eq!(
        workers.iter().map(|(_, n)| n).sum::<i64>(),
        REMINDERS as i64
    );
    assert_eq!(workers.len(), 2, "both instances delivered: {workers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_instance_loses_no_reminder() {
    let db = fresh_store(Backend::Postgres).await;
    let service = PushService::start().await;
    let sub = world(&db.store, &service).await;
    let lease_secs = 3;
    let mut a = Instance::start(&db, "instance_a", lease_secs, 1_000);

    // Kill A with SIGKILL while it holds claims it has not finished.
    let started = Instant::now();
    let at_kill = loop {
        let now = states(&db.url).await;
        if count(&now, "sent") >= 100 && count(&now, "sending") > 0 {
            a.kill();
            break now;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "instance A never got going: {now:?}\n{}",
            a.log()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let stranded = states(&db.url).await;
    eprintln!("at the kill: {at_kill:?}; after it: {stranded:?}");
    assert!(count(&stranded, "sending") > 0, "A died holding claims");
    assert!(count(&stranded, "sent") < REMINDERS as i64);

    let b = Instance::start(&db, "instance_b", lease_secs, 1_000);
    wait_all_sent(&db.url, &[&a, &b], Duration::from_secs(180)).await;
    let seen = arrivals(&service, &sub).await;
    assert_eq!(seen.len(), REMINDERS, "no reminder was lost");
    // A reminder A sent but had not yet marked sent is sent again by B: at-least-once at
    // the crash, bounded by what A had claimed.
    let again = seen.values().filter(|n| **n > 1).count();
    eprintln!("sent twice after the crash: {again}");
    assert!(again <= count(&stranded, "sending") as usize);
}
