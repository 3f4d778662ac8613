//! Web Push: the server's VAPID keys, the hosts it will post to, and one delivery.
//!
//! A notification is encrypted for the browser (RFC 8291, `aes128gcm`) and signed with the
//! server's VAPID key (RFC 8292) by the `web-push` crate; [`Pusher::send`] posts it to the
//! browser's push service with reqwest, under a timeout, and classifies the answer:
//! 2xx delivered, 404/410 gone (the subscription is deleted), 429/5xx and timeouts retryable
//! (with the service's `Retry-After`), anything else rejected.
//!
//! Push endpoints come from browsers, so they are untrusted URLs: the server only posts to
//! hosts on an allow-list (by default the major browsers' push services), only over HTTPS
//! (plain HTTP only to an allowed loopback host, for tests), and never follows redirects.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use openssl::bn::BigNumContext;
use openssl::ec::{EcGroup, EcKey, PointConversionForm};
use openssl::nid::Nid;
use stepwise_store::{DeliveryOutcome, NewPushSubscription, VapidKeys};
use web_push::{
    ContentEncoding, PartialVapidSignatureBuilder, SubscriptionInfo, Urgency,
    VapidSignatureBuilder, WebPushMessage, WebPushMessageBuilder,
};

/// The push services of the major browsers: Chrome and other Chromium browsers (FCM),
/// Firefox (Mozilla autopush), Edge (Windows Push Notification Services) and Safari (Apple).
pub const DEFAULT_PUSH_HOSTS: &[&str] = &[
    "fcm.googleapis.com",
    "*.push.services.mozilla.com",
    "*.notify.windows.com",
    "*.push.apple.com",
];

/// The largest payload a push service must accept after encryption (RFC 8291: 4096 bytes
/// of record, of which 3052 are left for plaintext with `aes128gcm`).
pub const MAX_PAYLOAD: usize = 3052;

/// How Web Push is set up.
#[derive(Debug, Clone)]
pub struct PushConfig {
    /// The VAPID `sub` claim: how a push service can reach the operator (`mailto:` or
    /// `https:`).
    pub subject: String,
    /// Host patterns the server will post to: `host`, `host:port` or `*.domain`.
    pub allowed_hosts: Vec<String>,
    /// The longest one send may take, connection to response.
    pub send_timeout: Duration,
}

impl Default for PushConfig {
    fn default() -> Self {
        PushConfig {
            subject: "mailto:admin@stepwise.invalid".into(),
            allowed_hosts: DEFAULT_PUSH_HOSTS.iter().map(|h| h.to_string()).collect(),
            send_timeout: Duration::from_secs(10),
        }
    }
}

/// A new P-256 key pair for VAPID.
pub fn generate_vapid_keys(now: DateTime<Utc>) -> Result<VapidKeys, String> {
    let fail = |err: openssl::error::ErrorStack| format!("generating the VAPID key: {err}");
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).map_err(fail)?;
    let key = EcKey::generate(&group).map_err(fail)?;
    let private = key.private_key().to_vec_padded(32).map_err(fail)?;
    let mut ctx = BigNumContext::new().map_err(fail)?;
    let public = key
        .public_key()
        .to_bytes(&group, PointConversionForm::UNCOMPRESSED, &mut ctx)
        .map_err(fail)?;
    Ok(VapidKeys {
        private_key: URL_SAFE_NO_PAD.encode(private),
        public_key: URL_SAFE_NO_PAD.encode(public),
        created_at: now,
    })
}

/// How soon and how loudly a push service should deliver a notification.
#[derive(Debug, Clone)]
pub struct Notice {
    /// The plaintext (JSON) the service worker receives.
    pub payload: Vec<u8>,
    /// How long the push service keeps it for an offline browser, seconds.
    pub ttl: u32,
    /// `very-low`, `low`, `normal` or `high`.
    pub urgency: Urgency,
    /// A newer notice with the same topic replaces an undelivered older one.
    pub topic: Option<String>,
}

/// How one send ended.
#[derive(Debug, Clone)]
pub struct SendReport {
    /// The push service's HTTP status, when it answered.
    pub status: Option<u16>,
    /// What it means for the subscription and the reminder.
    pub outcome: DeliveryOutcome,
    /// What went wrong, in a sentence.
    pub error: Option<String>,
    /// How long to wait before trying again, as the service asked.
    pub retry_after: Option<Duration>,
    /// How long the send took.
    pub elapsed: Duration,
}

/// Sends notifications with the server's VAPID key.
pub struct Pusher {
    vapid: PartialVapidSignatureBuilder,
    public_key: String,
    subject: String,
    hosts: Vec<HostRule>,
    timeout: Duration,
    client: reqwest::Client,
}

impl Pusher {
    /// A sender for `keys` under `config`.
    pub fn new(keys: &VapidKeys, config: &PushConfig) -> Result<Pusher, String> {
        let vapid = VapidSignatureBuilder::from_base64_no_sub(&keys.private_key)
            .map_err(|err| format!("the stored VAPID private key is unusable: {err}"))?;
        let public_key = URL_SAFE_NO_PAD.encode(vapid.get_public_key());
        if public_key != keys.public_key {
            return Err("the stored VAPID public key does not match its private key".into());
        }
        if !(config.subject.starts_with("mailto:") || config.subject.starts_with("https:")) {
            return Err(format!(
                "push subject {:?} must be a mailto: or https: URL",
                config.subject
            ));
        }
        let hosts = config
            .allowed_hosts
            .iter()
            .map(|pattern| HostRule::parse(pattern))
            .collect::<Result<Vec<_>, _>>()?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|err| format!("building the push HTTP client: {err}"))?;
        Ok(Pusher {
            vapid,
            public_key,
            subject: config.subject.clone(),
            hosts,
            timeout: config.send_timeout,
            client,
        })
    }

    /// The public key browsers subscribe with (base64url, uncompressed P-256 point).
    pub fn public_key(&self) -> &str {
        &self.public_key
    }

    /// The endpoint's host when the server may post to it, else why not.
    pub fn check_endpoint(&self, endpoint: &str) -> Result<String, String> {
        let url = url::Url::parse(endpoint).map_err(|err| format!("not a URL: {err}"))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(format!(
                "{}: endpoints are not allowed; use https",
                url.scheme()
            ));
        }
        let host = url
            .host_str()
            .ok_or("the URL has no host")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let port = url.port_or_known_default();
        let loopback = matches!(host.as_str(), "localhost" | "127.0.0.1" | "::1");
        if url.scheme() == "http" && !loopback {
            return Err("http: endpoints are not allowed; use https".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("endpoints must not carry credentials".into());
        }
        if self.hosts.iter().any(|rule| rule.matches(&host, port)) {
            Ok(host)
        } else {
            Err(format!("{host} is not an allowed push service"))
        }
    }

    /// Encrypts and signs `notice` for one browser: the cryptographic work of a send.
    pub fn seal(
        &self,
        subscription: &NewPushSubscription,
        notice: &Notice,
    ) -> Result<WebPushMessage, String> {
        if notice.payload.len() > MAX_PAYLOAD {
            return Err(format!(
                "the payload is {} bytes; push services accept at most {MAX_PAYLOAD}",
                notice.payload.len()
            ));
        }
        let info = SubscriptionInfo::new(
            subscription.endpoint.as_str(),
            subscription.p256dh.as_str(),
            subscription.auth.as_str(),
        );
        let mut signature = self.vapid.clone().add_sub_info(&info);
        signature.add_claim("sub", self.subject.as_str());
        let signature = signature
            .build()
            .map_err(|err| format!("signing for the push service: {err}"))?;
        let mut builder = WebPushMessageBuilder::new(&info);
        builder.set_payload(ContentEncoding::Aes128Gcm, &notice.payload);
        builder.set_ttl(notice.ttl);
        builder.set_urgency(notice.urgency);
        if let Some(topic) = &notice.topic {
            builder.set_topic(topic.clone());
        }
        builder.set_vapid_signature(signature);
        builder
            .build()
            .map_err(|err| format!("encrypting for the browser: {err}"))
    }

    /// Sends `notice` to one browser, within the configured timeout.
    pub async fn send(&self, subscription: &NewPushSubscription, notice: &Notice) -> SendReport {
        let started = Instant::now();
        let report = |status, outcome, error: Option<String>, retry_after| SendReport {
            status,
            outcome,
            error,
            retry_after,
            elapsed: started.elapsed(),
        };
        if let Err(why) = self.check_endpoint(&subscription.endpoint) {
            return report(None, DeliveryOutcome::Rejected, Some(why), None);
        }
        let message = match self.seal(subscription, notice) {
            Ok(message) => message,
            Err(why) => return report(None, DeliveryOutcome::Rejected, Some(why), None),
        };
        let request = self.request(message);
        match tokio::time::timeout(self.timeout, self.post(request)).await {
            Err(_) => report(
                None,
                DeliveryOutcome::Retryable,
                Some(format!(
                    "the push service did not answer within {} ms",
                    self.timeout.as_millis()
                )),
                None,
            ),
            // Without the URL: an endpoint is a capability, never logged or shown.
            Ok(Err(err)) => report(
                None,
                DeliveryOutcome::Retryable,
                Some(format!(
                    "could not reach the push service: {}",
                    err.without_url()
                )),
                None,
            ),
            Ok(Ok((status, retry_after, body))) => {
                let (outcome, error) = classify(status, &body);
                report(Some(status), outcome, error, retry_after)
            }
        }
    }

    /// The HTTP request for a sealed message.
    fn request(&self, message: WebPushMessage) -> reqwest::RequestBuilder {
        let request = web_push::request_builder::build_request::<Vec<u8>>(message);
        let mut builder = self.client.post(request.uri().to_string());
        for (name, value) in request.headers() {
            builder = builder.header(name.as_str(), value.as_bytes());
        }
        builder.body(request.into_body())
    }

    async fn post(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(u16, Option<Duration>, String), reqwest::Error> {
        let response = request.send().await?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, Utc::now()));
        let body = response.text().await.unwrap_or_default();
        Ok((status, retry_after, body))
    }
}

/// What a push service's status means.
fn classify(status: u16, body: &str) -> (DeliveryOutcome, Option<String>) {
    let detail = || {
        let text: String = body.trim().chars().take(200).collect();
        if text.is_empty() {
            format!("the push service answered {status}")
        } else {
            format!("the push service answered {status}: {text}")
        }
    };
    match status {
        200..=299 => (DeliveryOutcome::Delivered, None),
        404 | 410 => (DeliveryOutcome::Gone, Some(detail())),
        429 | 500..=599 => (DeliveryOutcome::Retryable, Some(detail())),
        _ => (DeliveryOutcome::Rejected, Some(detail())),
    }
}

/// A `Retry-After` value: delay-seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (at.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

/// One allowed host pattern.
#[derive(Debug, Clone)]
struct HostRule {
    /// `example.com`, or `.example.com` for any subdomain.
    host: String,
    wildcard: bool,
    port: Option<u16>,
}

impl HostRule {
    fn parse(pattern: &str) -> Result<HostRule, String> {
        let pattern = pattern.trim().to_ascii_lowercase();
        let bad = || format!("push host {pattern:?} is not host, host:port or *.domain");
        let (host, port) = match pattern.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') => (
                host.to_string(),
                Some(port.parse::<u16>().map_err(|_| bad())?),
            ),
            _ => (pattern.clone(), None),
        };
        let (host, wildcard) = match host.strip_prefix("*.") {
            Some(domain) => (format!(".{domain}"), true),
            None => (host, false),
        };
        if host.trim_start_matches('.').is_empty() || host.contains('*') || host.contains('/') {
            return Err(bad());
        }
        Ok(HostRule {
            host,
            wildcard,
            port,
        })
    }

    fn matches(&self, host: &str, port: Option<u16>) -> bool {
        let host_ok = if self.wildcard {
            host.ends_with(&self.host)
        } else {
            host == self.host
        };
        host_ok && self.port.is_none_or(|p| Some(p) == port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pusher(hosts: &[&str]) -> Pusher {
        let keys = generate_vapid_keys(Utc::now()).unwrap();
        let config = PushConfig {
            allowed_hosts: hosts.iter().map(|h| h.to_string()).collect(),
            ..PushConfig::default()
        };
        Pusher::new(&keys, &config).unwrap()
    }

    #[test]
    fn generated_keys_round_trip() {
        let keys = generate_vapid_keys(Utc::now()).unwrap();
        let pusher = Pusher::new(&keys, &PushConfig::default()).unwrap();
        assert_eq!(pusher.public_key(), keys.public_key);
        assert_eq!(URL_SAFE_NO_PAD.decode(&keys.public_key).unwrap().len(), 65);
    }

    #[test]
    fn only_allowed_hosts_over_https() {
        let p = pusher(&["fcm.googleapis.com", "*.push.apple.com", "127.0.0.1:8090"]);
        assert!(
            p.check_endpoint("https://fcm.googleapis.com/fcm/send/x")
                .is_ok()
        );
        assert!(p.check_endpoint("https://web.push.apple.com/abc").is_ok());
        assert!(p.check_endpoint("http://127.0.0.1:8090/notify/x").is_ok());
        for (bad, why) in [
            ("http://fcm.googleapis.com/x", "use https"),
            ("https://evil.example/x", "not an allowed push service"),
            ("https://push.apple.com.evil.example/x", "not an allowed"),
            ("https://push.apple.com/x", "not an allowed"),
            ("http://127.0.0.1:5432/x", "not an allowed"),
            ("https://user:pw@fcm.googleapis.com/x", "credentials"),
            ("file:///etc/passwd", "not allowed"),
            ("not a url", "not a URL"),
        ] {
            let err = p.check_endpoint(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn statuses_classified() {
        assert_eq!(classify(201, "").0, DeliveryOutcome::Delivered);
        assert_eq!(classify(410, "").0, DeliveryOutcome::Gone);
        assert_eq!(classify(404, "").0, DeliveryOutcome::Gone);
        assert_eq!(classify(429, "").0, DeliveryOutcome::Retryable);
        assert_eq!(classify(503, "").0, DeliveryOutcome::Retryable);
        let (outcome, error) = classify(400, "bad signature");
        assert_eq!(outcome, DeliveryOutcome::Rejected);
        assert_eq!(
            error.unwrap(),
            "the push service answered 400: bad signature"
        );
    }

    #[test]
    fn retry_after_in_seconds_or_a_date() {
        let now = DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Mon, 23 Nov 2026 10:01:30 GMT", now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn oversized_payloads_refused_before_sending() {
        let p = pusher(&["fcm.googleapis.com"]);
        let keys = generate_vapid_keys(Utc::now()).unwrap();
        let sub = NewPushSubscription {
            endpoint: "https://fcm.googleapis.com/fcm/send/x".into(),
            p256dh: keys.public_key,
            auth: URL_SAFE_NO_PAD.encode([7u8; 16]),
            label: "test".into(),
        };
        let notice = Notice {
            payload: vec![b'a'; MAX_PAYLOAD + 1],
            ttl: 60,
            urgency: Urgency::Normal,
            topic: None,
        };
        assert!(p.seal(&sub, &notice).unwrap_err().contains("at most 3052"));
        let notice = Notice {
            payload: b"{}".to_vec(),
            ..notice
        };
        assert!(p.seal(&sub, &notice).is_ok());
    }
}
