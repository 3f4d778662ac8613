//! Talking to the Stepwise server: exchanging a pairing code for an upload token, and sending
//! the outbox's unconfirmed rows (`POST /api/v1/samples`).
//!
//! Uploads go oldest first, at most [`MAX_MINUTES_PER_UPLOAD`] minutes (as runs of consecutive
//! minutes) plus the episodes that start before the last of them. Rows are marked uploaded
//! only after a 2xx answer; the server replaces a repeated minute or episode, so sending a
//! batch twice (an answer lost on the way back) changes nothing.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use serde_json::Value;

use stepwise_wearables::records::MAX_STEPS_PER_MINUTE;

use crate::outbox::{Outbox, OutboxError, PairedDevice, Pending, StoredMinute, Waiting};
use crate::secret::Secret;

/// Most minutes in one upload (a week; the server takes up to 20,000).
pub const MAX_MINUTES_PER_UPLOAD: usize = 10_080;
/// Most sleep episodes in one upload (the server's limit).
pub const MAX_EPISODES_PER_UPLOAD: usize = 2_000;
/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// An upload or pairing that did not go through.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// No answer from the server; for uploads the data stays in the outbox.
    #[error(
        "the server at {url} is unreachable ({detail}): {} wait in the outbox and go with the next sync",
        waiting_text(.waiting)
    )]
    Unreachable {
        /// The server.
        url: String,
        /// Why (connection refused, timeout, …).
        detail: String,
        /// What waits.
        waiting: Waiting,
    },
    /// 401: the token is not (or no longer) valid; the server's reason when it gave one
    /// (the band was removed, or its token expired).
    #[error("the upload token was refused: {0}")]
    TokenRefused(String),
    /// 422 (or 4xx) on an upload: the server's message.
    #[error("the server refused the upload: {0}")]
    Rejected(String),
    /// Another status.
    #[error("the server at {url} answered {status}: {message}")]
    Server {
        /// The server.
        url: String,
        /// The HTTP status.
        status: u16,
        /// Its message, if any.
        message: String,
    },
    /// The outbox could not be read or updated.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
}

impl UploadError {
    /// True when the server could not be reached (the data waits; not the band's fault).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, UploadError::Unreachable { .. })
    }
}

/// A pairing code that the server did not exchange.
#[derive(Debug, thiserror::Error)]
pub enum PairError {
    /// No answer from the server.
    #[error("the server at {url} is unreachable ({detail}): nothing was paired")]
    Unreachable {
        /// The server.
        url: String,
        /// Why.
        detail: String,
    },
    /// The server refused the code (unknown, used, expired): its message.
    #[error("the server refused the pairing code: {0}")]
    CodeRefused(String),
    /// Another answer.
    #[error("the server at {url} answered {status}: {message}")]
    Server {
        /// The server.
        url: String,
        /// The HTTP status.
        status: u16,
        /// Its message.
        message: String,
    },
}

/// What an upload pass sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadReport {
    /// Minutes confirmed by the server.
    pub minutes: u64,
    /// Episodes confirmed.
    pub episodes: u64,
    /// Requests sent.
    pub uploads: u32,
    /// What still waits afterwards.
    pub waiting: Waiting,
    /// Whether the upload token was renewed.
    pub token: TokenRenewal,
}

/// The upload token's renewal in an upload pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TokenRenewal {
    /// The server did not ask for it.
    #[default]
    NotDue,
    /// The server asked for a new token and the collector got and kept it.
    Renewed,
    /// The server asked, and the renewal failed (the reason): the uploaded data stays
    /// uploaded, the current token keeps working, and the next sync asks again.
    Failed(String),
}

/// What the server said of an accepted upload that matters here.
struct Accepted {
    /// The token nears its expiry: renew it.
    renew_token: bool,
}

/// The server's answer to a pairing.
#[derive(Debug, Clone)]
pub struct ServerPairing {
    /// The upload token (shown once by the server).
    pub token: Secret,
    /// The server's device id.
    pub device_id: Option<i64>,
}

/// An HTTP client for Stepwise servers.
#[derive(Debug, Clone)]
pub struct Uploader {
    client: reqwest::Client,
}

#[derive(Serialize)]
struct Run {
    start: DateTime<Utc>,
    steps: Vec<u32>,
    heart_rate: Option<Vec<Option<u8>>>,
    /// The steps were spread over these minutes, not seen in each (sent only when true).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    estimated: bool,
}

#[derive(Serialize)]
struct Episode<'a> {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    stage: &'a str,
}

#[derive(Serialize)]
struct Body<'a> {
    runs: Vec<Run>,
    sleep: Vec<Episode<'a>>,
    /// An imported device's uploads name it (they go with the import pairing's token).
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<Source<'a>>,
}

#[derive(Serialize)]
struct Source<'a> {
    kind: &'a str,
    address: &'a str,
    name: &'a str,
}

impl Uploader {
    /// A client (native TLS for https servers).
    pub fn new() -> Result<Uploader, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("stepwise-collector/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Uploader { client })
    }

    /// Exchanges a patient's one-time pairing code for this band's upload token.
    pub async fn pair(
        &self,
        server_url: &str,
        code: &str,
        kind: &str,
        address: &str,
        name: &str,
    ) -> Result<ServerPairing, PairError> {
        let url = endpoint(server_url, "devices/pair");
        let body = serde_json::json!({
            "code": code,
            "device": {"kind": kind, "address": address, "name": name},
        });
        let answer = self
            .client
            .post(&url)
            .json(&body)
            .send()
            .await
            .map_err(|e| PairError::Unreachable {
                url: server_url.to_string(),
                detail: describe(e),
            })?;
        let status = answer.status();
        let json: Value = answer.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            let token = json["token"]
                .as_str()
                .ok_or_else(|| PairError::Server {
                    url: server_url.to_string(),
                    status: status.as_u16(),
                    message: "the answer holds no token (is this a Stepwise server?)".into(),
                })?
                .to_string();
            return Ok(ServerPairing {
                token: Secret::new(token),
                device_id: json["device"]["id"].as_i64(),
            });
        }
        match status.as_u16() {
            404 | 410 | 422 => Err(PairError::CodeRefused(server_message(&json, status))),
            _ => Err(PairError::Server {
                url: server_url.to_string(),
                status: status.as_u16(),
                message: server_message(&json, status),
            }),
        }
    }

    /// Sends everything of `device` the server has not confirmed, oldest first. Unreachable
    /// → [`UploadError::Unreachable`] with what waits; what went before stays confirmed.
    pub async fn upload(
        &self,
        outbox: &Outbox,
        device: &PairedDevice,
    ) -> Result<UploadReport, UploadError> {
        // An imported device uploads with its import pairing's token, naming itself.
        let sender = match device.importer_id {
            Some(importer) => outbox.device_by_id(importer).await?,
            None => device.clone(),
        };
        let source = device.importer_id.map(|_| Source {
            kind: &device.kind,
            address: &device.address,
            name: &device.name,
        });
        let mut report = UploadReport::default();
        let mut renew = false;
        loop {
            let pending = outbox
                .pending(device.id, MAX_MINUTES_PER_UPLOAD, MAX_EPISODES_PER_UPLOAD)
                .await?;
            if pending.is_empty() {
                break;
            }
            match self.send(&sender, &pending, &source).await {
                Ok(accepted) => renew |= accepted.renew_token,
                Err(err) => {
                    return Err(match err {
                        UploadError::Unreachable { url, detail, .. } => UploadError::Unreachable {
                            url,
                            detail,
                            waiting: outbox.waiting(device.id).await?,
                        },
                        other => other,
                    });
                }
            }
            outbox.mark_uploaded(device.id, &pending).await?;
            report.minutes += pending.minutes.len() as u64;
            report.episodes += pending.episodes.len() as u64;
            report.uploads += 1;
        }
        report.waiting = outbox.waiting(device.id).await?;
        if renew {
            report.token = match self.renew(&sender).await {
                Ok(token) => {
                    outbox.replace_token(sender.id, &token).await?;
                    TokenRenewal::Renewed
                }
                Err(err) => {
                    tracing::warn!(device = device.id, "{err}");
                    TokenRenewal::Failed(err.to_string())
                }
            };
        }
        Ok(report)
    }

    /// A new upload token for `device` (`POST /api/v1/devices/token`), asked for when the
    /// server says the current one nears its expiry. Until the new one is first used the
    /// server keeps the old one, so an answer lost here costs nothing: the next sync renews
    /// again.
    async fn renew(&self, device: &PairedDevice) -> Result<Secret, UploadError> {
        let answer = self
            .client
            .post(endpoint(&device.server_url, "devices/token"))
            .bearer_auth(device.token.expose())
            .send()
            .await
            .map_err(|e| unreachable(device, e))?;
        let status = answer.status();
        let json: Value = answer.json().await.unwrap_or(Value::Null);
        match json["token"].as_str() {
            Some(token) if status.is_success() => Ok(Secret::new(token.to_string())),
            _ => Err(UploadError::Server {
                url: device.server_url.clone(),
                status: status.as_u16(),
                message: format!(
                    "renewing the upload token: {}",
                    server_message(&json, status)
                ),
            }),
        }
    }

    async fn send(
        &self,
        device: &PairedDevice,
        pending: &Pending,
        source: &Option<Source<'_>>,
    ) -> Result<Accepted, UploadError> {
        let body = Body {
            source: source.as_ref().map(|s| Source {
                kind: s.kind,
                address: s.address,
                name: s.name,
            }),
            runs: runs(&pending.minutes),
            sleep: pending
                .episodes
                .iter()
                .map(|e| Episode {
                    start: e.start,
                    end: e.end,
                    stage: e.stage.as_str(),
                })
                .collect(),
        };
        let answer = self
            .client
            .post(endpoint(&device.server_url, "samples"))
            .bearer_auth(device.token.expose())
            .json(&body)
            .send()
            .await
            .map_err(|e| unreachable(device, e))?;
        let status = answer.status();
        let json: Value = answer.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(Accepted {
                renew_token: json["renew_token"].as_bool().unwrap_or(false),
            });
        }
        Err(match status.as_u16() {
            401 => UploadError::TokenRefused(match json["error"].as_str() {
                Some(reason) if reason != "log in first" => reason.to_string(),
                _ => "pair the band again (`stepwise band pair`)".to_string(),
            }),
            400 | 413 | 422 => UploadError::Rejected(server_message(&json, status)),
            502..=504 => UploadError::Unreachable {
                url: device.server_url.clone(),
                detail: format!("its proxy answered {status}"),
                waiting: Waiting::default(),
            },
            _ => UploadError::Server {
                url: device.server_url.clone(),
                status: status.as_u16(),
                message: server_message(&json, status),
            },
        })
    }
}

/// Groups minutes (sorted) into runs of consecutive minutes, estimated or not.
fn runs(minutes: &[StoredMinute]) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    let mut rates: Vec<Vec<Option<u8>>> = Vec::new();
    for m in minutes {
        let steps = m.steps.min(MAX_STEPS_PER_MINUTE);
        match runs.last_mut() {
            Some(run)
                if run.start + TimeDelta::minutes(run.steps.len() as i64) == m.minute
                    && run.estimated == m.estimated =>
            {
                run.steps.push(steps);
                if let Some(r) = rates.last_mut() {
                    r.push(m.heart_rate);
                }
            }
            _ => {
                runs.push(Run {
                    start: m.minute,
                    steps: vec![steps],
                    heart_rate: None,
                    estimated: m.estimated,
                });
                rates.push(vec![m.heart_rate]);
            }
        }
    }
    for (run, rates) in runs.iter_mut().zip(rates) {
        if rates.iter().any(Option::is_some) {
            run.heart_rate = Some(rates);
        }
    }
    runs
}

/// `<server>/api/v1/<path>`.
fn endpoint(server_url: &str, path: &str) -> String {
    format!("{}/api/v1/{path}", server_url.trim_end_matches('/'))
}

/// The server's error text, with the field and what is allowed when given.
fn server_message(json: &Value, status: reqwest::StatusCode) -> String {
    let Some(error) = json["error"].as_str() else {
        return format!("HTTP {status}");
    };
    match (json["field"].as_str(), json["allowed"].as_str()) {
        (Some(field), Some(allowed)) => format!("{field}: {error} (allowed: {allowed})"),
        (Some(field), None) => format!("{field}: {error}"),
        _ => error.to_string(),
    }
}

/// `device`'s server did not answer (what waits is filled in by the caller).
fn unreachable(device: &PairedDevice, err: reqwest::Error) -> UploadError {
    UploadError::Unreachable {
        url: device.server_url.clone(),
        detail: describe(err),
        waiting: Waiting::default(),
    }
}

/// A transport error, briefly (never the request, which may carry the token).
fn describe(err: reqwest::Error) -> String {
    if err.is_timeout() {
        return "no answer in time".into();
    }
    if err.is_connect() {
        let mut source = std::error::Error::source(&err);
        let mut last = None;
        while let Some(s) = source {
            last = Some(s.to_string());
            source = s.source();
        }
        return last.unwrap_or_else(|| "connection failed".into());
    }
    err.without_url().to_string()
}

/// "10,080 minutes and 3 sleep episodes".
fn waiting_text(waiting: &Waiting) -> String {
    let minutes = format!(
        "{} minute{}",
        thousands(waiting.minutes),
        if waiting.minutes == 1 { "" } else { "s" }
    );
    match waiting.episodes {
        0 => minutes,
        1 => format!("{minutes} and 1 sleep episode"),
        n => format!("{minutes} and {} sleep episodes", thousands(n)),
    }
}

/// 10080 → "10,080".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minute(m: i64, steps: u32, hr: Option<u8>) -> StoredMinute {
        StoredMinute {
            minute: DateTime::from_timestamp(1_700_000_040 + m * 60, 0).unwrap(),
            steps,
            heart_rate: hr,
            estimated: false,
        }
    }

    #[test]
    fn estimated_minutes_go_in_runs_of_their_own() {
        let mut spread = minute(2, 40, None);
        spread.estimated = true;
        let runs = runs(&[minute(0, 10, None), minute(1, 20, None), spread]);
        assert_eq!(runs.len(), 2);
        assert!(!runs[0].estimated && runs[1].estimated);
        let body = serde_json::to_value(&runs[1]).expect("json");
        assert_eq!(body["estimated"], true);
        assert!(
            serde_json::to_value(&runs[0])
                .expect("json")
                .get("estimated")
                .is_none()
        );
    }

    #[test]
    fn consecutive_minutes_make_one_run_and_a_gap_starts_another() {
        let runs = runs(&[
            minute(0, 10, None),
            minute(1, 20, Some(90)),
            minute(2, 400, None),
            minute(5, 7, None),
        ]);
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].steps, vec![10, 20, 300]);
        assert_eq!(runs[0].heart_rate, Some(vec![None, Some(90), None]));
        assert_eq!(runs[1].steps, vec![7]);
        assert_eq!(runs[1].heart_rate, None);
    }

    #[test]
    fn numbers_read_like_prose() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(10_080), "10,080");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(
            waiting_text(&Waiting {
                minutes: 10_080,
                episodes: 0
            }),
            "10,080 minutes"
        );
    }

    #[test]
    fn endpoints_ignore_a_trailing_slash() {
        assert_eq!(
            endpoint("https://x.example/", "samples"),
            "https://x.example/api/v1/samples"
        );
    }
}
