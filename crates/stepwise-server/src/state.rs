//! What every handler shares: the store, the clock, the configuration and the login limiter.

use std::ops::Deref;
use std::sync::Arc;

use chrono::TimeDelta;
use stepwise_store::{AuditEntry, Id, Store, User};

use crate::clock::Clock;
use crate::error::{ApiError, ApiResult};
use crate::limiter::LoginLimiter;
use crate::push::{PushConfig, Pusher, generate_vapid_keys};
use crate::reminders::ReminderConfig;

/// Settings of a running server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Mark the session cookie `Secure` (set this when serving over HTTPS).
    pub secure_cookies: bool,
    /// How long a login lasts.
    pub session_ttl: TimeDelta,
    /// How long an invite code works.
    pub invite_ttl: TimeDelta,
    /// How long a band pairing code works.
    pub pairing_ttl: TimeDelta,
    /// How long a password reset code works.
    pub reset_ttl: TimeDelta,
    /// The address people reach this server at (`https://stepwise.clinic.example`), for the
    /// links in invites, reset codes and e-mails; `None`: taken from each request's `Host`.
    pub public_url: Option<String>,
    /// Where e-mail goes out (`--smtp-url`); `None`: nothing is e-mailed.
    pub mailer: Option<crate::mail::Mailer>,
    /// Web Push: VAPID subject, allowed push hosts, send timeout.
    pub push: PushConfig,
    /// The reminder scheduler's pacing.
    pub reminders: ReminderConfig,
    /// How long a client may take to send a request's headers, and then its body, before the
    /// connection is closed (a slow client cannot hold connections open).
    pub read_timeouts: ReadTimeouts,
    /// How many connections may be open at once, in all and from one client address.
    pub connection_limits: ConnectionLimits,
    /// Exports uploaded on the patient's page: how large, and where they wait to be read.
    pub imports: ImportConfig,
}

/// Uploaded exports (docs/imports.md).
#[derive(Debug, Clone)]
pub struct ImportConfig {
    /// The largest upload taken (`--import-max-bytes`). Apple Health's `export.zip` of a few
    /// years is a few hundred MB.
    pub max_upload_bytes: u64,
    /// Where an upload is written while it is read (removed when done).
    pub dir: std::path::PathBuf,
}

/// Default for [`ImportConfig::max_upload_bytes`]: 1 GiB.
pub const DEFAULT_IMPORT_MAX_BYTES: u64 = 1 << 30;

impl Default for ImportConfig {
    fn default() -> Self {
        ImportConfig {
            max_upload_bytes: DEFAULT_IMPORT_MAX_BYTES,
            dir: std::env::temp_dir().join("stepwise-imports"),
        }
    }
}

/// How many connections the server keeps open at once. A connection over a limit is answered
/// `503 Service Unavailable` (with `Retry-After: 1`) and closed at once, without reading its
/// request: one client holding many slow connections cannot take the connections (nor the
/// file descriptors) everyone else needs.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Open connections in all. Keep it well below the process's file descriptor limit
    /// (`ulimit -n`, systemd's `LimitNOFILE`), which also covers database connections and
    /// files.
    pub total: usize,
    /// Open connections from one client address. Behind a reverse proxy on the same machine
    /// every connection comes from the proxy's address: this then bounds the proxy's
    /// connections (the proxy limits its own clients).
    pub per_client: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            total: 512,
            per_client: 128,
        }
    }
}

/// How long a client may take to send a request.
#[derive(Debug, Clone, Copy)]
pub struct ReadTimeouts {
    /// From the connection (or the previous response) to the end of the headers.
    pub headers: std::time::Duration,
    /// From the headers to the end of the body.
    pub body: std::time::Duration,
}

impl Default for ReadTimeouts {
    fn default() -> Self {
        ReadTimeouts {
            headers: std::time::Duration::from_secs(30),
            body: std::time::Duration::from_secs(60),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            secure_cookies: false,
            session_ttl: TimeDelta::days(7),
            invite_ttl: TimeDelta::days(7),
            pairing_ttl: TimeDelta::minutes(15),
            reset_ttl: TimeDelta::hours(24),
            public_url: None,
            mailer: None,
            push: PushConfig::default(),
            reminders: ReminderConfig::default(),
            read_timeouts: ReadTimeouts::default(),
            connection_limits: ConnectionLimits::default(),
            imports: ImportConfig::default(),
        }
    }
}

/// Shared state, cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// The contents of [`AppState`].
pub struct Inner {
    /// Where data lives.
    pub store: Arc<dyn Store>,
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
    /// Settings.
    pub config: Config,
    /// Failed logins per client and account (the owner on their own device is never
    /// blocked by someone else's attempts).
    pub login_limiter: LoginLimiter,
    /// Failed logins per client, whatever the accounts tried.
    pub login_client_limiter: LoginLimiter,
    /// Failed one-time code attempts (invites, password resets), per client address.
    pub code_limiter: LoginLimiter,
    /// Reset e-mails asked for, per client address and per e-mail address.
    pub mail_limiter: LoginLimiter,
    /// What `/metrics` reports.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The Web Push sender, made on first use from the stored VAPID keys.
    pusher: tokio::sync::OnceCell<Arc<Pusher>>,
}

impl AppState {
    /// State over a store and a clock.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: Config) -> Self {
        AppState(Arc::new(Inner {
            store,
            clock,
            config,
            login_limiter: LoginLimiter::default(),
            login_client_limiter: LoginLimiter::with_max(LoginLimiter::MAX_CLIENT_FAILURES),
            code_limiter: LoginLimiter::default(),
            mail_limiter: LoginLimiter::default(),
            metrics: Arc::default(),
            pusher: tokio::sync::OnceCell::new(),
        }))
    }

    /// The Web Push sender. The first call loads the VAPID key pair, generating and storing
    /// one when the database has none (instances starting together agree on the first).
    pub async fn pusher(&self) -> ApiResult<Arc<Pusher>> {
        self.pusher
            .get_or_try_init(|| async {
                let candidate =
                    generate_vapid_keys(self.clock.now()).map_err(ApiError::Internal)?;
                let keys = self.store.vapid_keys(candidate).await?;
                let pusher = Pusher::new(&keys, &self.config.push).map_err(ApiError::Internal)?;
                Ok(Arc::new(pusher))
            })
            .await
            .cloned()
    }

    /// Records that `actor` did `action` to a patient's data (`None`: to no one patient).
    /// Within a request the entry is written when the answer is known, with its outcome
    /// ([`crate::audit`]); in a background job at once.
    pub async fn audit(&self, actor: &User, action: &str, patient_id: Option<Id>) -> ApiResult<()> {
        if crate::audit::note(actor, action, patient_id) {
            return Ok(());
        }
        self.store
            .audit(&[AuditEntry {
                at: self.clock.now(),
                actor_id: actor.id,
                action: action.to_string(),
                patient_id,
                clinic_id: actor.clinic_id,
                outcome: None,
            }])
            .await?;
        Ok(())
    }
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
