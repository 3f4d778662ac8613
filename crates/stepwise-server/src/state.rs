//! What every handler shares: the store, the clock, the configuration and the login limiter.

use std::ops::Deref;
use std::sync::Arc;

use chrono::TimeDelta;
use stepwise_store::{AuditEntry, Id, Store, User};

use crate::auth::LoginLimiter;
use crate::clock::Clock;
use crate::error::ApiResult;

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
}

impl Default for Config {
    fn default() -> Self {
        Config {
            secure_cookies: false,
            session_ttl: TimeDelta::days(7),
            invite_ttl: TimeDelta::days(7),
            pairing_ttl: TimeDelta::minutes(15),
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
    /// Failed-login counter.
    pub login_limiter: LoginLimiter,
}

impl AppState {
    /// State over a store and a clock.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: Config) -> Self {
        AppState(Arc::new(Inner {
            store,
            clock,
            config,
            login_limiter: LoginLimiter::default(),
        }))
    }

    /// Records that `actor` did `action` to a patient's data.
    pub async fn audit(&self, actor: &User, action: &str, patient_id: Option<Id>) -> ApiResult<()> {
        self.store
            .audit(AuditEntry {
                at: self.clock.now(),
                actor_id: actor.id,
                action: action.to_string(),
                patient_id,
                clinic_id: actor.clinic_id,
            })
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
