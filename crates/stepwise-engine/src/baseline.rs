//! The starting interval from tolerance walks.
//!
//! In week one the patient walks to tolerance three or four times (a walk ends when pain rises
//! two points or more, swelling appears, or pain lasts about two hours). The programme starts at
//! a therapist-set share of their mean — 80% by default — so the first weeks sit safely below
//! what provoked symptoms.

use std::ops::RangeInclusive;

/// Tolerance walks needed before a baseline can be set.
pub const MIN_TOLERANCE_WALKS: usize = 3;
/// Default share of the mean tolerance walk, percent.
pub const DEFAULT_SHARE_PCT: i64 = 80;
/// Allowed share of the mean tolerance walk, percent.
pub const SHARE_PCT: RangeInclusive<i64> = 50..=100;

/// Why a baseline could not be set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BaselineError {
    /// Fewer than [`MIN_TOLERANCE_WALKS`] walks.
    #[error(
        "a baseline needs at least {MIN_TOLERANCE_WALKS} tolerance walks; {given} given — record {} more",
        MIN_TOLERANCE_WALKS - given
    )]
    TooFewWalks {
        /// How many were given.
        given: usize,
    },
    /// A walk that is not a positive number of seconds.
    #[error("tolerance_walks_s[{index}] = {value} must be a positive number of seconds")]
    NotPositive {
        /// Position of the walk in the list.
        index: usize,
        /// The value given.
        value: i64,
    },
    /// A share outside [`SHARE_PCT`].
    #[error("share_pct = {0} is outside 50..=100")]
    ShareOutOfRange(i64),
}

/// The starting interval, seconds: `share_pct`% of the mean tolerance walk, rounded to the
/// nearest second (halves up).
pub fn baseline_interval(tolerance_walks_s: &[i64], share_pct: i64) -> Result<i64, BaselineError> {
    if !SHARE_PCT.contains(&share_pct) {
        return Err(BaselineError::ShareOutOfRange(share_pct));
    }
    if tolerance_walks_s.len() < MIN_TOLERANCE_WALKS {
        return Err(BaselineError::TooFewWalks {
            given: tolerance_walks_s.len(),
        });
    }
    if let Some((index, &value)) = tolerance_walks_s.iter().enumerate().find(|(_, w)| **w <= 0) {
        return Err(BaselineError::NotPositive { index, value });
    }
    let n = tolerance_walks_s.len() as i128;
    let sum: i128 = tolerance_walks_s.iter().map(|&w| i128::from(w)).sum();
    // round(sum * share / (100 n)) without floating point: add half the divisor first.
    let divisor = 100 * n;
    let rounded = (sum * i128::from(share_pct) + divisor / 2) / divisor;
    Ok(i64::try_from(rounded).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eighty_percent_of_the_mean() {
        // mean 500 s → 400 s
        assert_eq!(
            baseline_interval(&[450, 500, 550], DEFAULT_SHARE_PCT),
            Ok(400)
        );
    }

    #[test]
    fn rounds_to_the_nearest_second() {
        // mean 301.25, 80% = 241.0; mean 100.333.., 50% = 50.1666 → 50
        assert_eq!(baseline_interval(&[300, 301, 302, 302], 80), Ok(241));
        assert_eq!(baseline_interval(&[100, 100, 101], 50), Ok(50));
        // 100% of mean 100.5 → 101 (half up)
        assert_eq!(baseline_interval(&[100, 101, 100, 101], 100), Ok(101));
    }

    #[test]
    fn two_walks_are_not_enough() {
        let err = baseline_interval(&[600, 600], 80).unwrap_err();
        assert_eq!(err, BaselineError::TooFewWalks { given: 2 });
        assert_eq!(
            err.to_string(),
            "a baseline needs at least 3 tolerance walks; 2 given — record 1 more"
        );
    }

    #[test]
    fn share_outside_fifty_to_hundred_is_refused() {
        assert_eq!(
            baseline_interval(&[600, 600, 600], 40),
            Err(BaselineError::ShareOutOfRange(40))
        );
        assert_eq!(
            baseline_interval(&[600, 600, 600], 101),
            Err(BaselineError::ShareOutOfRange(101))
        );
    }

    #[test]
    fn zero_length_walk_is_refused() {
        assert_eq!(
            baseline_interval(&[600, 0, 600], 80),
            Err(BaselineError::NotPositive { index: 1, value: 0 })
        );
    }
}
