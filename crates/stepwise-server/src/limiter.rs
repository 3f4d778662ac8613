//! Limits on repeated failures (logins, codes, e-mails asked for): a key that failed too often
//! waits before it may try again.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

/// Counts failed attempts per key and refuses further attempts for a while after
/// `max_failures` of them (default [`LoginLimiter::MAX_FAILURES`]) within
/// [`LoginLimiter::WINDOW`]. Kept in memory: each server instance counts its own.
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, Vec<DateTime<Utc>>>>,
    max_failures: usize,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        LoginLimiter::with_max(Self::MAX_FAILURES)
    }
}

impl LoginLimiter {
    /// Failed attempts allowed within the window, by default.
    pub const MAX_FAILURES: usize = 5;
    /// Failed logins one client may make within the window, whatever the addresses tried.
    pub const MAX_CLIENT_FAILURES: usize = 20;
    /// The window, and how long a blocked key waits at most.
    pub const WINDOW: TimeDelta = TimeDelta::minutes(15);

    /// A limiter allowing `max_failures` failed attempts per key within the window.
    pub fn with_max(max_failures: usize) -> Self {
        LoginLimiter {
            failures: Mutex::default(),
            max_failures,
        }
    }

    /// `Err(seconds to wait)` when `key` is blocked at `now`.
    pub fn check(&self, key: &str, now: DateTime<Utc>) -> Result<(), u64> {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let Some(list) = failures.get_mut(key) else {
            return Ok(());
        };
        list.retain(|at| *at > now - Self::WINDOW);
        if list.len() < self.max_failures {
            return Ok(());
        }
        let oldest = list.iter().min().copied().unwrap_or(now);
        let wait = (oldest + Self::WINDOW - now).num_seconds().max(1);
        Err(wait as u64)
    }

    /// Counts a failed attempt.
    pub fn failed(&self, key: &str, now: DateTime<Utc>) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        // Bound memory: forget stale keys when the map grows.
        if failures.len() > 10_000 {
            failures.retain(|_, list| list.iter().any(|at| *at > now - Self::WINDOW));
        }
        failures.entry(key.to_string()).or_default().push(now);
    }

    /// Forgets failures after a successful login.
    pub fn succeeded(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_blocks_after_five_failures_for_the_window() {
        let limiter = LoginLimiter::default();
        let t0 = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        for i in 0..5 {
            assert!(limiter.check("a@b", t0 + TimeDelta::seconds(i)).is_ok());
            limiter.failed("a@b", t0 + TimeDelta::seconds(i));
        }
        assert_eq!(limiter.check("a@b", t0 + TimeDelta::seconds(10)), Err(890));
        assert!(limiter.check("c@d", t0).is_ok());
        assert!(limiter.check("a@b", t0 + TimeDelta::minutes(16)).is_ok());
        limiter.succeeded("a@b");
        assert!(limiter.check("a@b", t0 + TimeDelta::seconds(11)).is_ok());
    }
}
