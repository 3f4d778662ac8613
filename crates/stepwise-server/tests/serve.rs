//! The real server on a socket (port 0), with its weekly job beside it, shut down cleanly.

mod common;

use std::sync::Arc;

use common::{PASSWORD, utc};
use serde_json::{Value, json};
use stepwise_server::clock::ManualClock;
use stepwise_server::{AppState, Config, serve};
use stepwise_testkit::{Backend, fresh_store};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_over_tcp_and_shuts_down_cleanly() {
    let db = fresh_store(Backend::Sqlite).await;
    let clock = Arc::new(ManualClock::new(utc(2026, 11, 2, 7, 0)));
    let hash = stepwise_server::auth::hash_password(PASSWORD).unwrap();
    db.store
        .create_clinic(
            "Riverside Physio",
            stepwise_store::NewUser {
                email: "admin@riverside.example".into(),
                display_name: "Admin".into(),
                password_hash: hash,
            },
            utc(2026, 11, 2, 7, 0),
        )
        .await
        .unwrap();
    let state = AppState::new(db.store.clone(), clock, Config::default());
    // Bound before the server starts: requests wait in the backlog, nothing sleeps.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, state, async {
        let _ = stopped.await;
    }));

    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let health: Value = client
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health, json!({"status": "ok"}));
    let login = client
        .post(format!("http://{addr}/api/v1/auth/login"))
        .json(&json!({"email": "admin@riverside.example", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let me: Value = client
        .get(format!("http://{addr}/api/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"]["role"], "clinic_admin");
    assert_eq!(
        client
            .get(format!("http://{addr}/api/v1/no-such-thing"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // Pages, scripts, styles, JSON and SVG go gzip-compressed to a client that asks, and as
    // they are to one that does not.
    for path in [
        "/app/today",
        "/common.js",
        "/app.css",
        "/api/openapi.json",
        "/icons/icon.svg",
    ] {
        let url = format!("http://{addr}{path}");
        let plain = client.get(&url).send().await.unwrap();
        assert_eq!(plain.headers().get("content-encoding"), None, "{path}");
        let plain = plain.bytes().await.unwrap();
        let zipped = client
            .get(&url)
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(zipped.status(), 200, "{path}");
        assert_eq!(zipped.headers()["content-encoding"], "gzip", "{path}");
        assert!(
            zipped.headers()["vary"]
                .to_str()
                .unwrap()
                .to_ascii_lowercase()
                .contains("accept-encoding"),
            "{path}"
        );
        let zipped = zipped.bytes().await.unwrap();
        assert_eq!(zipped[..2], [0x1f, 0x8b], "{path}: a gzip stream");
        assert!(
            zipped.len() < plain.len(),
            "{path}: {} ≥ {}",
            zipped.len(),
            plain.len()
        );
    }

    stop.send(()).unwrap();
    server
        .await
        .unwrap()
        .expect("the server stops without error");
    assert!(
        client
            .get(format!("http://{addr}/healthz"))
            .send()
            .await
            .is_err(),
        "nothing listens after shutdown"
    );
}

/// A client that sends half its headers, or half its body, is cut off at the read timeouts
/// instead of holding a connection open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_is_cut_off_at_the_read_timeouts() {
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let db = fresh_store(Backend::Sqlite).await;
    let clock = Arc::new(ManualClock::new(utc(2026, 11, 2, 7, 0)));
    let config = Config {
        read_timeouts: stepwise_server::ReadTimeouts {
            headers: Duration::from_secs(1),
            body: Duration::from_secs(1),
        },
        ..Config::default()
    };
    let state = AppState::new(db.store.clone(), clock, config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, state, async {
        let _ = stopped.await;
    }));

    // Half the headers, then silence: the server closes the connection.
    let mut half = tokio::net::TcpStream::connect(addr).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: stepwise\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), half.read_to_end(&mut answer))
        .await
        .expect("the server closes a connection whose headers never end")
        .ok();
    assert!(started.elapsed() < Duration::from_secs(10));

    // Whole headers, half the body: refused in the JSON shape once the body timeout passes.
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: stepwise\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"email\": ",
    )
    .await
    .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut answer))
        .await
        .expect("the server answers a body that never ends")
        .ok();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("not received in full in time"), "{answer}");

    // The server still serves everyone else.
    let health = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
