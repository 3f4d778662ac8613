//! `push`: reminders delivered per second by the server (`stepwise_server::serve`, as
//! `stepwise serve` runs it: the scheduler claims, encrypts, signs, posts and logs) to a
//! local push receiver that answers 201, beside the rate of the encryption and signing alone
//! (`Pusher::seal`, one core) measured in the same run.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{TimeDelta, Utc};
use stepwise_server::clock::SystemClock;
use stepwise_server::push::{Notice, PushConfig, Pusher, generate_vapid_keys};
use stepwise_server::reminders::ReminderConfig;
use stepwise_server::{AppState, Config};
use stepwise_store::{
    NewPushSubscription, NewReminder, ReminderKind, ReminderMessage, ReminderState,
};
use stepwise_testkit::{Backend, fresh_store};
use web_push::Urgency;

/// Patients the reminders are spread over, one browser each.
const PATIENTS: u32 = 50;

/// What the receiver saw: how many, the first and the last arrival.
#[derive(Default)]
struct Arrivals {
    count: usize,
    first: Option<Instant>,
    last: Option<Instant>,
}

pub async fn push(backend: Backend, reminders: u32) -> anyhow::Result<()> {
    println!("push on {backend:?}: {reminders} reminders to {PATIENTS} browsers");
    let db = fresh_store(backend).await;
    let store = db.store.clone();
    let now = Utc::now();

    // The receiver: a push service that accepts everything.
    let arrivals = Arc::new(Mutex::new(Arrivals::default()));
    let seen = arrivals.clone();
    let receiver = Router::new().route(
        "/push/{n}",
        post(move || {
            let seen = seen.clone();
            async move {
                let mut a = seen.lock().unwrap_or_else(|e| e.into_inner());
                let at = Instant::now();
                a.count += 1;
                a.first.get_or_insert(at);
                a.last = Some(at);
                StatusCode::CREATED
            }
        }),
    );
    let receiver_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let receiver_addr = receiver_listener.local_addr()?;
    tokio::spawn(async move { axum::serve(receiver_listener, receiver).await });

    // Patients, each with one browser at the receiver, and the reminders, all due.
    let clinic = crate::clinic(store.as_ref(), now).await?;
    let browser = generate_vapid_keys(now).map_err(anyhow::Error::msg)?;
    let auth = URL_SAFE_NO_PAD.encode([9u8; 16]);
    let mut patients = Vec::new();
    for n in 0..PATIENTS {
        let (patient, _) = crate::patient_with_band(store.as_ref(), clinic, n, now).await?;
        store
            .save_push_subscription(
                patient,
                NewPushSubscription {
                    endpoint: format!("http://{receiver_addr}/push/{n}"),
                    p256dh: browser.public_key.clone(),
                    auth: auth.clone(),
                    label: "Bench".into(),
                },
                now,
            )
            .await?;
        patients.push(patient);
    }
    let due: Vec<NewReminder> = (0..reminders)
        .map(|n| {
            let patient = patients[n as usize % patients.len()];
            NewReminder {
                kind: ReminderKind::PlanChange,
                recipient_id: patient,
                patient_id: patient,
                session_id: None,
                dedupe_key: format!("bench:{n}"),
                due_at: now - TimeDelta::seconds(1),
                expires_at: Some(now + TimeDelta::hours(1)),
                message: ReminderMessage {
                    title: "Your walking plan stays the same".into(),
                    body: "Each walk stays at 6 min. Why: pain two hours after your walks \
                           stayed within your limits, but you did 3 of 5 walks."
                        .into(),
                    url: "/app/reminders".into(),
                },
            }
        })
        .collect();
    for chunk in due.chunks(1000) {
        store.schedule_reminders(chunk, now).await?;
    }

    // The server, as `stepwise serve` runs it.
    let config = Config {
        push: PushConfig {
            allowed_hosts: vec!["127.0.0.1".into()],
            ..PushConfig::default()
        },
        reminders: ReminderConfig {
            poll: Duration::from_millis(10),
            ..ReminderConfig::default()
        },
        ..Config::default()
    };
    let state = AppState::new(store.clone(), Arc::new(SystemClock), config.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let server = tokio::spawn(stepwise_server::serve(listener, state.clone(), async {
        let _ = stopped.await;
    }));
    loop {
        let count = arrivals.lock().unwrap_or_else(|e| e.into_inner()).count;
        if count >= reminders as usize {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "only {count} of {reminders} reminders arrived in 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let arrived = started.elapsed().as_secs_f64();
    // Then until every reminder is finished and logged in the database.
    loop {
        let mut sent = 0;
        for &patient in &patients {
            let all = store
                .patient_reminders(
                    patient,
                    now - TimeDelta::hours(1),
                    now + TimeDelta::hours(1),
                )
                .await?;
            sent += all
                .iter()
                .filter(|r| r.state == ReminderState::Sent)
                .count();
        }
        if sent == reminders as usize {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "only {sent} of {reminders} reminders marked sent in 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let wall = started.elapsed().as_secs_f64();
    let _ = stop.send(());
    let _ = server.await;
    let (count, first, last) = {
        let a = arrivals.lock().unwrap_or_else(|e| e.into_inner());
        (a.count, a.first, a.last)
    };
    anyhow::ensure!(
        count == reminders as usize,
        "{count} arrivals for {reminders} reminders"
    );
    let span = match (first, last) {
        (Some(f), Some(l)) => (l - f).as_secs_f64().max(1e-9),
        _ => anyhow::bail!("nothing arrived"),
    };
    let delivered = f64::from(reminders - 1) / span;

    // The encryption and signing alone, same payloads, one core.
    let pusher = state.pusher().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let crypto = seal_rate(
        &pusher,
        &browser.public_key,
        &auth,
        receiver_addr,
        reminders,
    )?;
    println!(
        "  delivered: {delivered:.0} reminders/s (first to last arrival at the receiver); \
         {arrived:.2} s from server start to the last arrival, {wall:.2} s until all \
         {reminders} were marked sent and logged ({:.0}/s overall)",
        f64::from(reminders) / wall
    );
    println!("  crypto only (encrypt + VAPID sign, one core): {crypto:.0} messages/s");
    println!(
        "  delivery rate is {:.2}x the crypto-only rate (target: >= 1,000/s and within 3x, \
         i.e. >= 0.33x)",
        delivered / crypto
    );
    Ok(())
}

/// Messages sealed per second on one core.
fn seal_rate(
    pusher: &Pusher,
    p256dh: &str,
    auth: &str,
    receiver: std::net::SocketAddr,
    messages: u32,
) -> anyhow::Result<f64> {
    let subscription = NewPushSubscription {
        endpoint: format!("http://{receiver}/push/0"),
        p256dh: p256dh.to_string(),
        auth: auth.to_string(),
        label: "Bench".into(),
    };
    let payload = serde_json::json!({
        "reminder_id": 1, "kind": "plan_change",
        "title": "Your walking plan stays the same",
        "body": "Each walk stays at 6 min. Why: pain two hours after your walks stayed within \
                 your limits, but you did 3 of 5 walks.",
        "url": "/app/reminders", "session_id": null
    });
    let notice = Notice {
        payload: payload.to_string().into_bytes(),
        ttl: 3600,
        urgency: Urgency::Low,
        topic: Some("reminder-1".into()),
    };
    let started = Instant::now();
    for _ in 0..messages {
        std::hint::black_box(
            pusher
                .seal(&subscription, &notice)
                .map_err(anyhow::Error::msg)?,
        );
    }
    Ok(f64::from(messages) / started.elapsed().as_secs_f64())
}
