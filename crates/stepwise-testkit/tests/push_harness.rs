//! The push test harness itself: a real push service that verifies and decrypts what a real
//! Web Push sender (the `web-push` crate) sends, and endpoints that fail or hang on purpose.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openssl::bn::BigNumContext;
use openssl::ec::{EcGroup, EcKey, PointConversionForm};
use openssl::nid::Nid;
use stepwise_testkit::push::{FaultyEndpoint, PushService, TestSubscription};
use web_push::{
    ContentEncoding, SubscriptionInfo, VapidSignatureBuilder, WebPushMessageBuilder,
    request_builder,
};

/// A fresh VAPID key pair: (private scalar, uncompressed public point), both base64url without
/// padding.
fn vapid_keys() -> (String, String) {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("P-256");
    let key = EcKey::generate(&group).expect("generating a P-256 key");
    let private = key.private_key().to_vec_padded(32).expect("private scalar");
    let mut ctx = BigNumContext::new().expect("bignum context");
    let public = key
        .public_key()
        .to_bytes(&group, PointConversionForm::UNCOMPRESSED, &mut ctx)
        .expect("public point");
    let private = URL_SAFE_NO_PAD.encode(private);
    let public = URL_SAFE_NO_PAD.encode(public);
    // The web-push crate derives the same public key from the private one.
    let builder = VapidSignatureBuilder::from_base64_no_sub(&private).expect("VAPID private key");
    assert_eq!(URL_SAFE_NO_PAD.encode(builder.get_public_key()), public);
    (private, public)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("HTTP client")
}

/// Encrypts `payload` for `subscription` (aes128gcm), signs with the VAPID key, and POSTs it to
/// the subscription's endpoint; returns the status and the response's `Retry-After`.
async fn send(
    client: &reqwest::Client,
    vapid_private: &str,
    subscription: &TestSubscription,
    payload: &[u8],
) -> Result<(u16, Option<String>), reqwest::Error> {
    send_within(
        Duration::from_secs(10),
        client,
        vapid_private,
        subscription,
        payload,
    )
    .await
}

/// [`send`], giving up after `timeout`.
async fn send_within(
    timeout: Duration,
    client: &reqwest::Client,
    vapid_private: &str,
    subscription: &TestSubscription,
    payload: &[u8],
) -> Result<(u16, Option<String>), reqwest::Error> {
    let info = SubscriptionInfo::new(
        subscription.endpoint.as_str(),
        subscription.p256dh.as_str(),
        subscription.auth.as_str(),
    );
    let signature = VapidSignatureBuilder::from_base64_no_sub(vapid_private)
        .expect("VAPID private key")
        .add_sub_info(&info)
        .build()
        .expect("VAPID signature");
    let mut builder = WebPushMessageBuilder::new(&info);
    builder.set_ttl(60);
    builder.set_payload(ContentEncoding::Aes128Gcm, payload);
    builder.set_vapid_signature(signature);
    let request = request_builder::build_request::<Vec<u8>>(builder.build().expect("message"));
    let mut post = client.post(request.uri().to_string()).timeout(timeout);
    for (name, value) in request.headers() {
        if name.as_str() != "content-length" {
            post = post.header(name.as_str(), value.as_bytes());
        }
    }
    let response = post.body(request.into_body()).send().await?;
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().expect("ASCII Retry-After").to_owned());
    Ok((response.status().as_u16(), retry_after))
}

#[tokio::test]
async fn the_push_service_verifies_and_decrypts_a_real_message() {
    let service = PushService::start().await;
    let (private, public) = vapid_keys();
    let subscription = service.subscribe(&public).await;
    assert_eq!(
        subscription.endpoint,
        format!(
            "http://localhost:{}/notify/{}",
            service.port(),
            subscription.client_hash
        )
    );
    assert_eq!(subscription.client_hash.len(), 64);
    assert_eq!(
        URL_SAFE_NO_PAD.decode(&subscription.p256dh).unwrap().len(),
        65
    );
    assert_eq!(
        URL_SAFE_NO_PAD.decode(&subscription.auth).unwrap().len(),
        16
    );
    assert!(
        service
            .notifications(&subscription.client_hash)
            .await
            .is_empty()
    );

    let client = client();
    let message = br#"{"title":"Time to move","body":"3 exercises today"}"#;
    let status = send(&client, &private, &subscription, message)
        .await
        .unwrap();
    assert_eq!(status, (201, None), "log:\n{}", service.log());
    // By IP address as well as by the `localhost` the service hands out; plain text too.
    let by_ip = subscription.with_endpoint(service.notify_url(&subscription.client_hash));
    let status = send(&client, &private, &by_ip, b"plain words")
        .await
        .unwrap();
    assert_eq!(status.0, 201, "log:\n{}", service.log());

    assert_eq!(
        service.notifications(&subscription.client_hash).await,
        vec![
            serde_json::json!({"title": "Time to move", "body": "3 exercises today"}),
            serde_json::json!("plain words"),
        ]
    );

    // Signed with another key: refused, and nothing is delivered.
    let (other_private, _) = vapid_keys();
    let status = send(&client, &other_private, &subscription, b"forged")
        .await
        .unwrap();
    assert_eq!(status.0, 400);
    assert_eq!(
        service.notifications(&subscription.client_hash).await.len(),
        2
    );

    // Expired: 410 Gone.
    service.expire(&subscription.client_hash).await;
    let status = send(&client, &private, &subscription, b"too late")
        .await
        .unwrap();
    assert_eq!(status.0, 410);
    assert_eq!(
        service.notifications(&subscription.client_hash).await.len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_services_run_side_by_side() {
    let (first, second) = tokio::join!(PushService::start(), PushService::start());
    assert_ne!(first.port(), second.port());
    let (private, public) = vapid_keys();
    let a = first.subscribe(&public).await;
    let b = second.subscribe(&public).await;
    let client = client();
    assert_eq!(
        send(&client, &private, &a, b"\"to a\"").await.unwrap().0,
        201
    );
    assert_eq!(
        send(&client, &private, &b, b"\"to b\"").await.unwrap().0,
        201
    );
    assert_eq!(
        first.notifications(&a.client_hash).await,
        vec![serde_json::json!("to a")]
    );
    assert_eq!(
        second.notifications(&b.client_hash).await,
        vec![serde_json::json!("to b")]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_faulty_endpoint_fails_then_forwards_to_the_real_one() {
    let service = PushService::start().await;
    let (private, public) = vapid_keys();
    let subscription = service.subscribe(&public).await;
    let faulty = FaultyEndpoint::fail_then_forward(2, 500, Some("7"), &subscription.endpoint);
    assert!(faulty.endpoint().starts_with("http://127.0.0.1:"));
    let via_faulty = subscription.with_endpoint(faulty.endpoint());
    let client = client();

    let message = br#"{"reminder":1}"#;
    let first = send(&client, &private, &via_faulty, message).await.unwrap();
    let second = send(&client, &private, &via_faulty, message).await.unwrap();
    let third = send(&client, &private, &via_faulty, message).await.unwrap();
    assert_eq!(first, (500, Some("7".to_owned())));
    assert_eq!(second, (500, Some("7".to_owned())));
    assert_eq!(third, (201, None), "log:\n{}", service.log());
    assert_eq!(faulty.requests(), 3);
    assert_eq!(faulty.forwarded_statuses(), vec![201]);
    assert_eq!(
        service.notifications(&subscription.client_hash).await,
        vec![serde_json::json!({"reminder": 1})]
    );

    // The upstream's refusals are relayed too.
    service.expire(&subscription.client_hash).await;
    let fourth = send(&client, &private, &via_faulty, message).await.unwrap();
    assert_eq!(fourth.0, 410);
    assert_eq!(faulty.forwarded_statuses(), vec![201, 410]);
}

#[tokio::test]
async fn a_faulty_endpoint_without_retry_after_in_a_current_thread_runtime() {
    let service = PushService::start().await;
    let (private, public) = vapid_keys();
    let subscription = service.subscribe(&public).await;
    let faulty = FaultyEndpoint::fail_then_forward(1, 429, None, &subscription.endpoint);
    let via_faulty = subscription.with_endpoint(faulty.endpoint());
    let client = client();
    assert_eq!(
        send(&client, &private, &via_faulty, b"1").await.unwrap(),
        (429, None)
    );
    assert_eq!(
        send(&client, &private, &via_faulty, b"2").await.unwrap(),
        (201, None)
    );
    assert_eq!(
        service.notifications(&subscription.client_hash).await,
        vec![serde_json::json!(2)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_that_never_answers_times_the_sender_out() {
    let service = PushService::start().await;
    let (private, public) = vapid_keys();
    let subscription = service.subscribe(&public).await;
    let hanging = FaultyEndpoint::never_answer();
    let via_hanging = subscription.with_endpoint(hanging.endpoint());

    let started = std::time::Instant::now();
    let timeout = Duration::from_millis(300);
    let error = send_within(timeout, &client(), &private, &via_hanging, b"lost")
        .await
        .expect_err("the endpoint never answers");
    assert!(error.is_timeout(), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(hanging.requests(), 1);
    assert!(hanging.forwarded_statuses().is_empty());
    assert!(
        service
            .notifications(&subscription.client_hash)
            .await
            .is_empty()
    );
}
