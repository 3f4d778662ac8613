//! Web Push delivery tests against a real push service, and push endpoints that misbehave.
//!
//! [`PushService`] runs the npm package `web-push-testing` (pinned in `tests/push/package.json`
//! and installed by `scripts/push-service`) as a child process: a push service that checks the
//! VAPID `Authorization` header (`vapid t=JWT, k=KEY`, ES256 against the subscription's
//! application server key) and decrypts `aes128gcm` (or legacy `aesgcm`) payloads, keeping the
//! plaintexts for [`PushService::notifications`]. Its routes, all `POST`:
//!
//! * `/status` answers `200 OK`.
//! * `/subscribe` takes `{"userVisibleOnly":"true","applicationServerKey":"<base64url P-256
//!   public key>"}` (`userVisibleOnly` is the *string* `"true"` or `"false"`; a JSON boolean is
//!   refused) and answers `{"data":{"endpoint":"http://localhost:PORT/notify/<clientHash>",
//!   "keys":{"p256dh":"<base64url>","auth":"<base64url>"},"clientHash":"<64 hex digits>"}}`.
//! * `/notify/<clientHash>` is the endpoint: `201` (empty body) once the message is verified and
//!   decrypted; `400` `{"error":{"message":...}}` for a bad signature, key, TTL or ciphertext or
//!   an unknown client; `410` `{"reason":"Push subscription has unsubscribed or expired."}` once
//!   expired. It reads the body only with `Content-Type: application/octet-stream` and needs a
//!   `TTL` header.
//! * `/expire-subscription/<clientHash>` answers `200`; later notifications get `410`.
//! * `/get-notifications` takes `{"clientHash":"..."}` and answers
//!   `{"data":{"messages":["<plaintext>", ...]}}` in arrival order.
//!
//! The service keeps everything in memory, so every test starts its own (on its own port).
//!
//! [`FaultyEndpoint`] is a push endpoint on 127.0.0.1 that fails a set number of times before
//! forwarding to a real endpoint, or that never answers at all.

use std::io::{Read, Seek, SeekFrom};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use tokio::sync::watch;

/// How long [`PushService::start`] waits for the service to answer.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(15);

/// Ports tried before [`PushService::start`] gives up (another process may take a port between
/// choosing it and the service binding it).
const START_ATTEMPTS: usize = 5;

/// Loaded before the server script: the service exits when its standard input closes, i.e. when
/// the test process is gone, even if it was killed before dropping the [`PushService`].
const EXIT_WITH_PARENT: &str =
    "data:text/javascript,process.stdin.on('end',()=>process.exit(0));process.stdin.resume();";

/// The `web-push-testing` server script: `STEPWISE_PUSH_SERVICE`, else the copy that
/// `scripts/push-service` installs in this repository; panics with instructions when neither is
/// there (tests never skip).
fn server_script() -> PathBuf {
    if let Some(path) = std::env::var_os("STEPWISE_PUSH_SERVICE").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "STEPWISE_PUSH_SERVICE names {}, which is not a file. Run scripts/test, or: \
             export STEPWISE_PUSH_SERVICE=\"$(scripts/push-service)\"",
            path.display()
        );
        return path;
    }
    let installed = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/push/node_modules/web-push-testing/src/bin/server.js");
    if installed.is_file() {
        return installed.canonicalize().unwrap_or(installed);
    }
    panic!(
        "STEPWISE_PUSH_SERVICE is not set and web-push-testing is not installed in tests/push: \
         the push delivery tests run against a real push service. Run scripts/test, or: \
         export STEPWISE_PUSH_SERVICE=\"$(scripts/push-service)\""
    )
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("binding 127.0.0.1:0 to find a free port")
        .port()
}

/// The last `lines` lines of the file at `path` (at most its last 16 KiB).
fn tail(path: &Path, lines: usize) -> String {
    let Ok(mut file) = std::fs::File::open(path) else {
        return format!("(no log at {})", path.display());
    };
    let len = file.metadata().map_or(0, |m| m.len());
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(16 * 1024)));
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A client for talking to test servers on this machine: never through a proxy.
fn local_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("building an HTTP client")
}

/// A running `web-push-testing` push service, all its own; stopped (and its log deleted) when
/// dropped.
///
/// Started as `node --import <exit-with-parent hook> $STEPWISE_PUSH_SERVICE PORT` (the package's
/// `src/bin/server.js` takes the port as its only argument; its `web-push-testing start` CLI is
/// not used, as it detaches and keeps a pid file in the working directory). The service listens on
/// every interface (Node's default) and names itself `localhost` in the endpoints it hands out.
pub struct PushService {
    child: Child,
    port: u16,
    dir: PathBuf,
    client: reqwest::Client,
}

/// A subscription made at a [`PushService`]: what a browser's `PushSubscription.toJSON()` gives
/// the application server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestSubscription {
    /// Where to send messages: `http://localhost:PORT/notify/<client_hash>` as the service
    /// reports it (host `localhost`, not `127.0.0.1`).
    pub endpoint: String,
    /// The client's P-256 public key (uncompressed point, base64url without padding).
    pub p256dh: String,
    /// The client's 16-byte authentication secret (base64url without padding).
    pub auth: String,
    /// The service's name for this client (64 hex digits), for
    /// [`PushService::notifications`] and [`PushService::expire`].
    pub client_hash: String,
}

impl TestSubscription {
    /// The same subscription with its endpoint replaced, e.g. by a [`FaultyEndpoint`] in front of
    /// the real one, or by [`PushService::notify_url`] for a `127.0.0.1` address.
    pub fn with_endpoint(&self, endpoint: String) -> TestSubscription {
        TestSubscription {
            endpoint,
            ..self.clone()
        }
    }
}

#[derive(Deserialize)]
struct Data<T> {
    data: T,
}

#[derive(Deserialize)]
struct SubscribeData {
    endpoint: String,
    keys: SubscribeKeys,
    #[serde(rename = "clientHash")]
    client_hash: String,
}

#[derive(Deserialize)]
struct SubscribeKeys {
    p256dh: String,
    auth: String,
}

#[derive(Deserialize)]
struct NotificationsData {
    messages: Vec<String>,
}

/// Why one start attempt failed.
enum StartFailure {
    /// The port was taken after all: try another.
    PortTaken,
    /// Anything else: give up with this message.
    Fatal(String),
}

impl PushService {
    /// Starts a fresh push service on a free port of this machine and waits (up to 15 s) until
    /// it answers. Panics, with the end of its log, when it cannot be started.
    pub async fn start() -> PushService {
        let script = server_script();
        let client = local_client();
        let dir = std::env::temp_dir().join(crate::unique_name("stepwise_push"));
        std::fs::create_dir_all(&dir).expect("temporary directory for the push service");
        let log = dir.join("web-push-testing.log");
        for _ in 0..START_ATTEMPTS {
            let port = free_port();
            let file = std::fs::File::create(&log).expect("push service log file");
            let child = Command::new("node")
                .arg("--import")
                .arg(EXIT_WITH_PARENT)
                .arg(&script)
                .arg(port.to_string())
                .current_dir(&dir)
                .stdin(Stdio::piped())
                .stdout(file.try_clone().expect("push service log file"))
                .stderr(file)
                .spawn()
                .unwrap_or_else(|e| {
                    let _ = std::fs::remove_dir_all(&dir);
                    panic!(
                        "cannot run `node` for the push service ({e}): install Node.js 20 or \
                         later, then run scripts/push-service"
                    )
                });
            let mut service = PushService {
                child,
                port,
                dir: dir.clone(),
                client: client.clone(),
            };
            match service.wait_until_ready(&log).await {
                Ok(()) => return service,
                Err(StartFailure::PortTaken) => {
                    // Dropping `service` kills the child and deletes the directory; make it anew.
                    drop(service);
                    std::fs::create_dir_all(&dir)
                        .expect("temporary directory for the push service");
                }
                Err(StartFailure::Fatal(why)) => {
                    let log_tail = tail(&log, 40);
                    drop(service);
                    panic!(
                        "the push service ({}) did not start: {why}\n--- its log ---\n{log_tail}",
                        script.display()
                    );
                }
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        panic!("the push service did not start: {START_ATTEMPTS} ports in a row were taken")
    }

    /// Waits until the child has announced its port (so that the answer to `/status` is its own,
    /// not another process's on a port it failed to take) and answers `/status`.
    async fn wait_until_ready(&mut self, log: &Path) -> Result<(), StartFailure> {
        let announcement = format!("Server running on port {}", self.port);
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    let text = std::fs::read_to_string(log).unwrap_or_default();
                    return Err(if text.contains("EADDRINUSE") {
                        StartFailure::PortTaken
                    } else {
                        StartFailure::Fatal(format!("node exited ({status})"))
                    });
                }
                Ok(None) => {}
                Err(e) => return Err(StartFailure::Fatal(format!("waiting for node: {e}"))),
            }
            let announced = std::fs::read_to_string(log)
                .map(|text| text.contains(&announcement))
                .unwrap_or(false);
            if announced {
                let answer = self
                    .client
                    .post(format!("{}/status", self.base_url()))
                    .timeout(Duration::from_millis(500))
                    .send()
                    .await;
                if matches!(&answer, Ok(r) if r.status() == StatusCode::OK) {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                return Err(StartFailure::Fatal(format!(
                    "no answer to POST /status on port {} within {STARTUP_TIMEOUT:?}",
                    self.port
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port the service listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The endpoint of the subscription `client_hash`, addressed by IP:
    /// `http://127.0.0.1:PORT/notify/<client_hash>` (the service itself hands out `localhost`).
    pub fn notify_url(&self, client_hash: &str) -> String {
        format!("{}/notify/{client_hash}", self.base_url())
    }

    /// Everything the service has printed so far (it logs why it refused a message, e.g.
    /// `JsonWebTokenError: invalid signature`).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("web-push-testing.log")).unwrap_or_default()
    }

    /// POSTs `body` as JSON to `path` and returns the status and the body.
    async fn post(&self, path: &str, body: Option<serde_json::Value>) -> (StatusCode, String) {
        let url = format!("{}{path}", self.base_url());
        let mut request = self.client.post(&url).timeout(Duration::from_secs(10));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap_or_else(|e| {
            panic!("POST {url}: {e}\n--- push service log ---\n{}", self.log())
        });
        let status = response.status();
        let text = response
            .text()
            .await
            .unwrap_or_else(|e| panic!("reading the answer to POST {url}: {e}"));
        (status, text)
    }

    /// Subscribes a new client whose messages must be signed with the VAPID key pair whose public
    /// key is `application_server_key` (an uncompressed P-256 point, base64url without padding).
    /// Panics when the service refuses (e.g. an invalid key).
    pub async fn subscribe(&self, application_server_key: &str) -> TestSubscription {
        let (status, body) = self
            .post(
                "/subscribe",
                Some(serde_json::json!({
                    "userVisibleOnly": "true",
                    "applicationServerKey": application_server_key,
                })),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "POST /subscribe answered {status}: {body}"
        );
        let Data { data } = serde_json::from_str::<Data<SubscribeData>>(&body)
            .unwrap_or_else(|e| panic!("unexpected answer to POST /subscribe ({e}): {body}"));
        TestSubscription {
            endpoint: data.endpoint,
            p256dh: data.keys.p256dh,
            auth: data.keys.auth,
            client_hash: data.client_hash,
        }
    }

    /// The messages the subscription `client_hash` has received so far, decrypted, oldest first:
    /// each parsed as JSON when it is JSON, else as a JSON string. Panics for an unknown client.
    pub async fn notifications(&self, client_hash: &str) -> Vec<serde_json::Value> {
        let (status, body) = self
            .post(
                "/get-notifications",
                Some(serde_json::json!({ "clientHash": client_hash })),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "POST /get-notifications answered {status}: {body}"
        );
        let Data { data } =
            serde_json::from_str::<Data<NotificationsData>>(&body).unwrap_or_else(|e| {
                panic!("unexpected answer to POST /get-notifications ({e}): {body}")
            });
        data.messages
            .into_iter()
            .map(|text| serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)))
            .collect()
    }

    /// Expires the subscription `client_hash`: from now on its endpoint answers `410 Gone`.
    /// Panics for an unknown client.
    pub async fn expire(&self, client_hash: &str) {
        let (status, body) = self
            .post(&format!("/expire-subscription/{client_hash}"), None)
            .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "POST /expire-subscription/{client_hash} answered {status}: {body}"
        );
    }
}

impl Drop for PushService {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What a [`FaultyEndpoint`] does with a request.
enum Behaviour {
    FailThenForward {
        failures: usize,
        status: StatusCode,
        retry_after: Option<HeaderValue>,
        upstream: String,
    },
    NeverAnswer,
}

struct Shared {
    behaviour: Behaviour,
    requests: AtomicUsize,
    forwarded: Mutex<Vec<u16>>,
    client: reqwest::Client,
    shutdown: watch::Receiver<bool>,
}

/// A push endpoint on `127.0.0.1` that misbehaves, served by a task on the current tokio runtime
/// (either flavour) until it is dropped.
///
/// Every request counts, whatever its method and path.
pub struct FaultyEndpoint {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
}

impl FaultyEndpoint {
    /// Answers the first `failures` requests with `status` (and `Retry-After: retry_after` when
    /// given; the body is drained first), then forwards each later one to `upstream_endpoint`
    /// (e.g. a [`TestSubscription`]'s endpoint): same method, same body bytes, same headers except
    /// `Host`, `Content-Length` and the hop-by-hop `Connection` and `Transfer-Encoding`, which the
    /// forwarding client sets anew. It relays the upstream's status, `Content-Type` and body, and
    /// records the status ([`Self::forwarded_statuses`]). When the upstream cannot be reached it
    /// answers `502` and records nothing.
    ///
    /// Panics outside a tokio runtime, or for an invalid status or `Retry-After` value.
    pub fn fail_then_forward(
        failures: usize,
        status: u16,
        retry_after: Option<&str>,
        upstream_endpoint: &str,
    ) -> FaultyEndpoint {
        let status = StatusCode::from_u16(status)
            .unwrap_or_else(|e| panic!("FaultyEndpoint: invalid status {status}: {e}"));
        let retry_after = retry_after.map(|value| {
            HeaderValue::from_str(value)
                .unwrap_or_else(|e| panic!("FaultyEndpoint: invalid Retry-After {value:?}: {e}"))
        });
        Self::serve(Behaviour::FailThenForward {
            failures,
            status,
            retry_after,
            upstream: upstream_endpoint.to_owned(),
        })
    }

    /// Accepts connections and reads each request (headers and body) but never answers, holding
    /// the connection open until the client gives up or the endpoint is dropped.
    ///
    /// Panics outside a tokio runtime.
    pub fn never_answer() -> FaultyEndpoint {
        Self::serve(Behaviour::NeverAnswer)
    }

    fn serve(behaviour: Behaviour) -> FaultyEndpoint {
        let runtime = tokio::runtime::Handle::try_current().unwrap_or_else(|_| {
            panic!("FaultyEndpoint must be made inside a tokio runtime (e.g. in a #[tokio::test])")
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("FaultyEndpoint: binding 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("FaultyEndpoint: non-blocking listener");
        let addr = listener
            .local_addr()
            .expect("FaultyEndpoint: local address");
        let (shutdown, shutdown_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            behaviour,
            requests: AtomicUsize::new(0),
            forwarded: Mutex::new(Vec::new()),
            client: local_client(),
            shutdown: shutdown_rx.clone(),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener)
                .expect("FaultyEndpoint: registering the listener");
            let mut stop = shutdown_rx;
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|stopped| *stopped).await;
                })
                .await;
        });
        FaultyEndpoint {
            addr,
            shared,
            shutdown,
        }
    }

    /// Its URL, to use as a subscription's endpoint: `http://127.0.0.1:PORT/push/faulty`.
    pub fn endpoint(&self) -> String {
        format!("http://{}/push/faulty", self.addr)
    }

    /// How many requests it has received so far (answered, forwarded or left hanging).
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// The upstream's statuses for the requests forwarded so far, in order.
    pub fn forwarded_statuses(&self) -> Vec<u16> {
        self.shared
            .forwarded
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

impl Drop for FaultyEndpoint {
    fn drop(&mut self) {
        // Stops accepting, releases the requests left hanging and closes idle connections.
        self.shutdown.send_replace(true);
    }
}

fn respond(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let index = shared.requests.fetch_add(1, Ordering::SeqCst);
    let (parts, body) = request.into_parts();
    let body: Bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(e) => return respond(StatusCode::BAD_REQUEST, format!("reading the body: {e}")),
    };
    match &shared.behaviour {
        Behaviour::NeverAnswer => {
            let mut stop = shared.shutdown.clone();
            let _ = stop.wait_for(|stopped| *stopped).await;
            respond(StatusCode::SERVICE_UNAVAILABLE, "shutting down")
        }
        Behaviour::FailThenForward {
            failures,
            status,
            retry_after,
            ..
        } if index < *failures => {
            let mut response = respond(*status, "FaultyEndpoint: failing on purpose");
            if let Some(value) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, value.clone());
            }
            response
        }
        Behaviour::FailThenForward { upstream, .. } => {
            let mut headers = parts.headers;
            for name in [
                header::HOST,
                header::CONTENT_LENGTH,
                header::CONNECTION,
                header::TRANSFER_ENCODING,
            ] {
                headers.remove(name);
            }
            let answer = shared
                .client
                .request(parts.method, upstream)
                .headers(headers)
                .body(body)
                .send()
                .await;
            let answer = match answer {
                Ok(answer) => answer,
                Err(e) => {
                    return respond(
                        StatusCode::BAD_GATEWAY,
                        format!("FaultyEndpoint: forwarding to {upstream} failed: {e}"),
                    );
                }
            };
            let status = answer.status();
            let content_type = answer.headers().get(header::CONTENT_TYPE).cloned();
            let bytes = answer.bytes().await.unwrap_or_default();
            shared
                .forwarded
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(status.as_u16());
            let mut response = respond(status, bytes);
            if let Some(value) = content_type {
                response.headers_mut().insert(header::CONTENT_TYPE, value);
            }
            response
        }
    }
}
