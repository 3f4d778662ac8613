//! The collector's clock: every "now" (the band's clock setting, InfiniTime observations, the
//! default first sync) comes from a [`Clock`], never from `Utc::now()` directly.

use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};

/// The environment variable that starts a [`Clock::Simulated`] (tests with simulated bands only).
pub const CLOCK_START_ENV: &str = "STEPWISE_BAND_CLOCK_START";

/// Where "now" comes from.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    /// The system clock.
    System,
    /// For tests with simulated bands only: starts at `start` when created and runs at real
    /// pace, so a test can cross a local midnight in seconds.
    Simulated {
        /// The instant the clock showed when it was created.
        start: DateTime<Utc>,
        /// When it was created.
        created: Instant,
    },
}

/// A `STEPWISE_BAND_CLOCK_START` that is not an RFC 3339 instant.
#[derive(Debug, thiserror::Error)]
#[error("{CLOCK_START_ENV}={value:?} is not an RFC 3339 instant (e.g. 2026-11-16T23:59:30Z)")]
pub struct BadClockStart {
    value: String,
}

impl Clock {
    /// A simulated clock showing `start` now.
    pub fn starting_at(start: DateTime<Utc>) -> Clock {
        Clock::Simulated {
            start,
            created: Instant::now(),
        }
    }

    /// The system clock, unless `STEPWISE_BAND_CLOCK_START` is set (simulated devices' tests).
    pub fn from_env() -> Result<Clock, BadClockStart> {
        match std::env::var(CLOCK_START_ENV) {
            Ok(value) if !value.trim().is_empty() => DateTime::parse_from_rfc3339(value.trim())
                .map(|start| Clock::starting_at(start.with_timezone(&Utc)))
                .map_err(|_| BadClockStart { value }),
            _ => Ok(Clock::System),
        }
    }

    /// Now.
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Simulated { start, created } => {
                *start + TimeDelta::from_std(created.elapsed()).unwrap_or(TimeDelta::zero())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_simulated_clock_starts_where_told_and_runs_forward() {
        let start = DateTime::parse_from_rfc3339("2026-11-16T23:59:30Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = Clock::starting_at(start);
        let a = clock.now();
        let b = clock.now();
        assert!(a >= start && a - start < TimeDelta::seconds(5), "{a}");
        assert!(b >= a);
    }
}
