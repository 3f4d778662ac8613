//! The uploader against a real Stepwise server on a TCP port: pairing, uploads that arrive
//! once, a server that is down and then up again, and the 401 and 422 answers.

mod common;

use chrono::TimeDelta;
use common::{Server, TempDir, minutes_of, server_now, walking};
use stepwise_collector::outbox::{NewPairing, Outbox, PairedDevice};
use stepwise_collector::secret::{HuamiKey, Secret};
use stepwise_collector::upload::{PairError, TokenRenewal, UploadError, Uploader};
use stepwise_wearables::records::Activity;

const ADDRESS: &str = "C8:0F:10:00:00:05";

/// Pairs through the server's API with the uploader and stores the pairing.
async fn pair(server: &Server, dir: &TempDir) -> (Outbox, PairedDevice, i64) {
    let (patient_id, code) = server.patient_with_code().await;
    let (outbox, device, _) = pair_with_code(server, dir, &code).await;
    (outbox, device, patient_id)
}

/// Exchanges `code` with the uploader and stores the pairing; also the server's device id.
async fn pair_with_code(server: &Server, dir: &TempDir, code: &str) -> (Outbox, PairedDevice, i64) {
    let uploader = Uploader::new().unwrap();
    let paired = uploader
        .pair(&server.url(), code, "mi-band-5", ADDRESS, "Mi Smart Band 5")
        .await
        .unwrap();
    let server_id = paired.device_id.expect("the server's device id");
    let (outbox, device) = keep_pairing(dir, server.url(), paired.token).await;
    (outbox, device, server_id)
}

/// Stores the band's pairing with `server_url` and `token` in a new outbox in `dir`.
async fn keep_pairing(dir: &TempDir, server_url: String, token: Secret) -> (Outbox, PairedDevice) {
    let outbox = Outbox::open(&dir.0).await.unwrap();
    let device = outbox
        .pair(
            NewPairing {
                address: ADDRESS.into(),
                kind: "mi-band-5".into(),
                name: "Mi Smart Band 5".into(),
                server_url,
                token,
                huami_key: Some(HuamiKey([0x11; 16])),
                zone: "Europe/Berlin".parse().unwrap(),
            },
            server_now(),
        )
        .await
        .unwrap();
    (outbox, device)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pairing_code_works_once() {
    let server = Server::start().await;
    let (_, code) = server.patient_with_code().await;
    let uploader = Uploader::new().unwrap();
    uploader
        .pair(
            &server.url(),
            &code,
            "infinitime",
            "AA:BB:CC:DD:EE:01",
            "InfiniTime",
        )
        .await
        .unwrap();
    let again = uploader
        .pair(
            &server.url(),
            &code,
            "infinitime",
            "AA:BB:CC:DD:EE:01",
            "InfiniTime",
        )
        .await
        .unwrap_err();
    assert!(matches!(again, PairError::CodeRefused(_)), "{again}");
    assert!(again.to_string().contains("already used"), "{again}");
    let unknown = uploader
        .pair(
            &server.url(),
            "NOPE-NOPE",
            "pams",
            "AA:BB:CC:DD:EE:02",
            "PAMS",
        )
        .await
        .unwrap_err();
    assert!(unknown.to_string().contains("not known"), "{unknown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_days_arrive_once_in_two_uploads() {
    let server = Server::start().await;
    let dir = TempDir::new();
    let (outbox, device, patient_id) = pair(&server, &dir).await;
    let start = server_now() - TimeDelta::days(8);
    let mut records = walking(start, 8 * 1440 - 120);
    records.extend(minutes_of(
        start + TimeDelta::minutes(8 * 1440 - 120),
        90,
        Activity::LightSleep,
    ));
    outbox.store_round(device.id, &records, None).await.unwrap();
    let uploader = Uploader::new().unwrap();

    let report = uploader.upload(&outbox, &device).await.unwrap();
    assert_eq!(report.minutes, 8 * 1440 - 30);
    assert_eq!(report.episodes, 1);
    assert_eq!(report.uploads, 2, "at most 10,080 minutes an upload");
    assert_eq!(report.waiting.minutes, 0);
    assert_eq!(server.upload_count(), 2);
    let samples = server.samples(patient_id).await;
    assert_eq!(samples.len(), 8 * 1440 - 30);
    assert_eq!(samples[0].minute, start);
    assert_eq!(samples[0].steps, 60);
    assert_eq!(samples[0].heart_rate, Some(100));
    assert_eq!(samples[1].heart_rate, None);
    assert_eq!(server.episodes(patient_id).await.len(), 1);

    let nothing = uploader.upload(&outbox, &device).await.unwrap();
    assert_eq!((nothing.minutes, nothing.uploads), (0, 0));
    assert_eq!(server.upload_count(), 2, "nothing is sent twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_down_gets_everything_once_when_it_is_back() {
    let mut server = Server::start().await;
    let dir = TempDir::new();
    let (outbox, device, patient_id) = pair(&server, &dir).await;
    let start = server_now() - TimeDelta::days(3);
    outbox
        .store_round(device.id, &walking(start, 3 * 1440), None)
        .await
        .unwrap();
    let uploader = Uploader::new().unwrap();

    server.stop().await;
    let err = uploader.upload(&outbox, &device).await.unwrap_err();
    assert!(err.is_unreachable(), "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("the server at {} is unreachable (", server.url())),
        "{text}"
    );
    assert!(
        text.ends_with("4,320 minutes wait in the outbox and go with the next sync"),
        "{text}"
    );
    assert_eq!(outbox.waiting(device.id).await.unwrap().minutes, 4320);

    server.restart().await;
    let report = uploader.upload(&outbox, &device).await.unwrap();
    assert_eq!(report.minutes, 4320);
    assert_eq!(server.upload_count(), 1);
    assert_eq!(server.samples(patient_id).await.len(), 4320);
    assert_eq!(uploader.upload(&outbox, &device).await.unwrap().uploads, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_says_pair_again_and_keeps_the_data() {
    let server = Server::start().await;
    let dir = TempDir::new();
    let (outbox, mut device, _) = pair(&server, &dir).await;
    outbox
        .store_round(
            device.id,
            &walking(server_now() - TimeDelta::hours(2), 60),
            None,
        )
        .await
        .unwrap();
    device.token = Secret::new("not-the-token");
    let err = Uploader::new()
        .unwrap()
        .upload(&outbox, &device)
        .await
        .unwrap_err();
    assert!(matches!(err, UploadError::TokenRefused(_)), "{err}");
    assert_eq!(
        err.to_string(),
        "the upload token was refused: pair the band again (`stepwise band pair`)"
    );
    assert_eq!(outbox.waiting(device.id).await.unwrap().minutes, 60);
}

/// The server says when a token nears its expiry; the collector then gets a new one and keeps
/// it, the old one working until the new one is first used. A token left to expire, and a
/// band the patient removed, are refused with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_collector_renews_its_token_before_it_expires() {
    let server = Server::start().await;
    let dir = TempDir::new();
    let (outbox, device, patient_id) = pair(&server, &dir).await;
    let uploader = Uploader::new().unwrap();
    let ago = |server: &Server, minutes| server.state.clock.now() - TimeDelta::minutes(minutes);
    outbox
        .store_round(device.id, &walking(ago(&server, 60), 30), None)
        .await
        .unwrap();
    let report = uploader.upload(&outbox, &device).await.unwrap();
    assert_eq!(
        report.token,
        TokenRenewal::NotDue,
        "a fresh token is not renewed"
    );

    // 61 days on, less than 30 days are left: the accepted upload asks for a new token.
    server.clock.advance(TimeDelta::days(61));
    outbox
        .store_round(device.id, &walking(ago(&server, 180), 30), None)
        .await
        .unwrap();
    let report = uploader.upload(&outbox, &device).await.unwrap();
    assert_eq!((report.minutes, report.token), (30, TokenRenewal::Renewed));
    let renewed = outbox.device_by_id(device.id).await.unwrap();
    assert_ne!(renewed.token.expose(), device.token.expose());
    // The old token works until the new one is used...
    outbox
        .store_round(device.id, &walking(ago(&server, 120), 10), None)
        .await
        .unwrap();
    assert_eq!(uploader.upload(&outbox, &device).await.unwrap().minutes, 10);
    outbox
        .store_round(device.id, &walking(ago(&server, 100), 10), None)
        .await
        .unwrap();
    let report = uploader.upload(&outbox, &renewed).await.unwrap();
    assert_eq!((report.minutes, report.token), (10, TokenRenewal::NotDue));
    // ...and not after.
    outbox
        .store_round(device.id, &walking(ago(&server, 80), 5), None)
        .await
        .unwrap();
    let err = uploader.upload(&outbox, &device).await.unwrap_err();
    assert!(matches!(err, UploadError::TokenRefused(_)), "{err}");
    assert_eq!(server.samples(patient_id).await.len(), 80);

    // Left unrenewed for its whole lifetime (90 days), the token expires.
    server.clock.advance(TimeDelta::days(91));
    let err = uploader.upload(&outbox, &renewed).await.unwrap_err();
    assert!(
        err.to_string().contains("upload token expired on")
            && err.to_string().contains("pair the band again"),
        "{err}"
    );
    assert_eq!(outbox.waiting(device.id).await.unwrap().minutes, 5);
}

/// A renewal that fails after the upload went through does not undo the upload: the sync
/// succeeds, says the token was not renewed and why, and keeps the current token for the next
/// sync to try again. (A server that accepts samples, asks for renewal, and fails it, as one
/// restarting behind its proxy would.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_renewal_keeps_the_upload_and_the_token() {
    use axum::Json;
    use axum::http::StatusCode;
    use axum::routing::post;
    let server = axum::Router::new()
        .route(
            "/api/v1/samples",
            post(|| async { Json(serde_json::json!({"renew_token": true})) }),
        )
        .route(
            "/api/v1/devices/token",
            post(|| async {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(serde_json::json!({"error": "the server is restarting"})),
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, server).await });
    let dir = TempDir::new();
    let (outbox, device) = keep_pairing(&dir, url, Secret::new("the-token")).await;
    outbox
        .store_round(
            device.id,
            &walking(server_now() - TimeDelta::hours(1), 20),
            None,
        )
        .await
        .unwrap();
    let report = Uploader::new()
        .unwrap()
        .upload(&outbox, &device)
        .await
        .unwrap();
    assert_eq!((report.minutes, report.waiting.minutes), (20, 0));
    assert_eq!(
        report.token,
        TokenRenewal::Failed(
            "the server at {URL} answered 503: renewing the upload token: the server is \
             restarting"
                .replace("{URL}", &device.server_url)
        )
    );
    let kept = outbox.device_by_id(device.id).await.unwrap();
    assert_eq!(kept.token.expose(), "the-token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_band_the_patient_removed_is_refused_with_the_reason() {
    let server = Server::start().await;
    let patient = server.patient().await;
    let code = patient.pairing_code().await;
    let dir = TempDir::new();
    let (outbox, device, server_id) = pair_with_code(&server, &dir, &code).await;
    let uploader = Uploader::new().unwrap();
    let removed = patient
        .session
        .delete(&format!("/me/devices/{server_id}"))
        .await;
    assert_eq!(removed["revoked_at"], "2026-11-20T12:00:00Z");
    outbox
        .store_round(
            device.id,
            &walking(server_now() - TimeDelta::hours(2), 60),
            None,
        )
        .await
        .unwrap();
    let err = uploader.upload(&outbox, &device).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "the upload token was refused: this band was removed from the patient's account on \
         2026-11-20: pair the band again (`stepwise band pair`)"
    );
    assert_eq!(outbox.waiting(device.id).await.unwrap().minutes, 60);
    assert!(server.samples(patient.id).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_upload_shows_the_servers_message() {
    let server = Server::start().await;
    let dir = TempDir::new();
    let (outbox, device, patient_id) = pair(&server, &dir).await;
    // Older than the server keeps (90 days).
    outbox
        .store_round(
            device.id,
            &walking(server_now() - TimeDelta::days(100), 10),
            None,
        )
        .await
        .unwrap();
    let err = Uploader::new()
        .unwrap()
        .upload(&outbox, &device)
        .await
        .unwrap_err();
    assert!(matches!(err, UploadError::Rejected(_)), "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with("the server refused the upload: runs[0].start:"),
        "{text}"
    );
    assert_eq!(outbox.waiting(device.id).await.unwrap().minutes, 10);
    assert!(server.samples(patient_id).await.is_empty());
}
