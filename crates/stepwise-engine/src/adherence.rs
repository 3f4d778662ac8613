//! Adherence and verification maths for the clinic's reports and the weekly evidence.
//!
//! - [`Adherence`]: sessions done ÷ prescribed; a week is adherent at ≥ 80%, the threshold most
//!   exercise-adherence studies use in the absence of a gold standard.
//! - [`answered_share`]: the share of sessions whose two-hour check was answered.
//! - [`days_with_data`]: days with band data in a 30-day window, the figure remote-monitoring
//!   billing counts (16–30 days and 2–15 days per 30).
//! - [`verify_walk`]: whether the band's minute step counts confirm a logged walk.
//!
//! # Verification threshold
//!
//! A minute is a *walking minute* when the band counted at least [`WALKING_CADENCE`] = 60 steps
//! in it. A logged walk is *verified* when the minutes overlapping it (from its start to its
//! end) hold at least [`VERIFIED_SHARE_PCT`] = 50% as many walking minutes as the walk's
//! walked minutes (walked seconds ÷ 60, rounded up).
//!
//! Why these numbers: people with neurogenic claudication or knee osteoarthritis walk slowly,
//! often 70–100 steps a minute, well below the 100 steps/min of brisk walking, while moving
//! about the house rarely holds 60 steps in a full minute. Interval walks contain rests, and a
//! bout that straddles a minute boundary splits its steps across two band minutes, so half of
//! the walked minutes is a tolerant bar that a walk the band never saw cannot pass. When the
//! band has no minutes at all in the walk's window, the walk is [`Verification::NoData`] (the
//! band was off or not synced), not "unverified".

use std::collections::BTreeSet;

use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};

/// A week is adherent when at least this share (percent) of prescribed sessions were done.
pub const ADHERENT_PCT: u32 = 80;
/// Steps in one minute that make it a walking minute.
pub const WALKING_CADENCE: u32 = 60;
/// Share (percent) of the walked minutes that must be walking minutes on the band.
pub const VERIFIED_SHARE_PCT: u32 = 50;
/// Length of the window for [`days_with_data`], days.
pub const DATA_WINDOW_DAYS: u64 = 30;

/// Sessions done against sessions prescribed, for a week or any longer period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Adherence {
    /// Sessions with walked time.
    pub done: u32,
    /// Sessions prescribed.
    pub prescribed: u32,
}

impl Adherence {
    /// Done ÷ prescribed (may exceed 1.0 when the patient did extra); `None` when nothing was
    /// prescribed.
    pub fn share(self) -> Option<f64> {
        (self.prescribed > 0).then(|| f64::from(self.done) / f64::from(self.prescribed))
    }

    /// Whether at least [`ADHERENT_PCT`]% of the prescribed sessions were done. Integer maths, so
    /// 4 of 5 is exactly 80% and adherent.
    pub fn is_adherent(self) -> bool {
        u64::from(self.done) * 100 >= u64::from(self.prescribed) * u64::from(ADHERENT_PCT)
    }
}

impl std::ops::Add for Adherence {
    type Output = Adherence;
    fn add(self, other: Adherence) -> Adherence {
        Adherence {
            done: self.done + other.done,
            prescribed: self.prescribed + other.prescribed,
        }
    }
}

/// The share of sessions whose two-hour check was answered; `None` when there were none.
pub fn answered_share(answered: u32, sessions: u32) -> Option<f64> {
    (sessions > 0).then(|| f64::from(answered) / f64::from(sessions))
}

/// Distinct days with band data in the [`DATA_WINDOW_DAYS`]-day window that ends on (and
/// includes) `last_day`. Days outside the window are ignored; duplicates count once.
pub fn days_with_data(days: impl IntoIterator<Item = NaiveDate>, last_day: NaiveDate) -> u32 {
    let first_day = last_day
        .checked_sub_days(Days::new(DATA_WINDOW_DAYS - 1))
        .unwrap_or(NaiveDate::MIN);
    let distinct: BTreeSet<NaiveDate> = days
        .into_iter()
        .filter(|d| (first_day..=last_day).contains(d))
        .collect();
    distinct.len() as u32
}

/// Steps the band counted in one minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinuteSteps {
    /// Start of the minute, UTC.
    pub minute: DateTime<Utc>,
    /// Steps counted in that minute.
    pub steps: u32,
}

/// What the band says about a logged walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// Enough walking minutes in the walk's window.
    Verified,
    /// The band has data for the window but not enough walking in it.
    NotVerified,
    /// The band has no minutes in the walk's window.
    NoData,
}

impl Verification {
    /// As the engine's `verified` field: `Some(true)`, `Some(false)`, or `None` for no data.
    pub fn as_verified(self) -> Option<bool> {
        match self {
            Verification::Verified => Some(true),
            Verification::NotVerified => Some(false),
            Verification::NoData => None,
        }
    }
}

/// Checks a logged walk (`start`..`end`, `walked_s` seconds of walking) against the band's
/// minute step counts (any order, any range: minutes outside the walk are ignored). See the
/// module documentation for the threshold and why.
pub fn verify_walk(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    walked_s: i64,
    minutes: &[MinuteSteps],
) -> Verification {
    // A minute overlaps the walk when it starts before the walk ends and ends after it starts.
    let overlapping = minutes
        .iter()
        .filter(|m| m.minute < end && m.minute + TimeDelta::minutes(1) > start);
    let mut any = false;
    let mut walking: i64 = 0;
    for m in overlapping {
        any = true;
        if m.steps >= WALKING_CADENCE {
            walking += 1;
        }
    }
    if !any {
        return Verification::NoData;
    }
    let walked_minutes = (walked_s.max(1) + 59) / 60;
    if walking * 100 >= walked_minutes * i64::from(VERIFIED_SHARE_PCT) {
        Verification::Verified
    } else {
        Verification::NotVerified
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 16, h, m, 0).unwrap()
    }

    fn minutes(from: DateTime<Utc>, steps: &[u32]) -> Vec<MinuteSteps> {
        steps
            .iter()
            .enumerate()
            .map(|(i, &s)| MinuteSteps {
                minute: from + TimeDelta::minutes(i as i64),
                steps: s,
            })
            .collect()
    }

    #[test]
    fn four_of_five_is_adherent_three_is_not() {
        let a = |done| Adherence {
            done,
            prescribed: 5,
        };
        assert!(a(4).is_adherent());
        assert!(a(5).is_adherent());
        assert!(!a(3).is_adherent());
        assert_eq!(a(4).share(), Some(0.8));
        assert_eq!(a(0).share(), Some(0.0));
        let nothing = Adherence {
            done: 0,
            prescribed: 0,
        };
        assert_eq!(nothing.share(), None);
    }

    #[test]
    fn weeks_add_up() {
        let w1 = Adherence {
            done: 5,
            prescribed: 5,
        };
        let w2 = Adherence {
            done: 2,
            prescribed: 5,
        };
        assert_eq!((w1 + w2).share(), Some(0.7));
        assert!(!(w1 + w2).is_adherent());
    }

    #[test]
    fn answered_share_counts_answers() {
        assert_eq!(answered_share(3, 4), Some(0.75));
        assert_eq!(answered_share(0, 0), None);
    }

    #[test]
    fn days_with_data_counts_distinct_days_in_thirty() {
        let d = |day| NaiveDate::from_ymd_opt(2026, 11, day).unwrap();
        let last = d(30);
        // window is 1..=30 November
        let days = [
            d(1),
            d(1),
            d(2),
            d(30),
            NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
        ];
        assert_eq!(days_with_data(days, last), 3);
        assert_eq!(days_with_data([], last), 0);
    }

    #[test]
    fn a_band_walk_at_slow_cadence_verifies() {
        // 10 min walked in two 5-min bouts with a 3-min rest; 75 steps/min while walking.
        let band = minutes(
            at(9, 0),
            &[75, 75, 75, 75, 75, 10, 0, 5, 75, 75, 75, 75, 75],
        );
        assert_eq!(
            verify_walk(at(9, 0), at(9, 13), 600, &band),
            Verification::Verified
        );
    }

    #[test]
    fn pottering_does_not_verify() {
        let band = minutes(at(9, 0), &[30; 13]);
        assert_eq!(
            verify_walk(at(9, 0), at(9, 13), 600, &band),
            Verification::NotVerified
        );
    }

    #[test]
    fn half_the_walked_minutes_is_the_bar() {
        // 10 walked minutes need 5 walking minutes.
        let five = minutes(at(9, 0), &[80, 80, 80, 80, 80, 0, 0, 0, 0, 0]);
        let four = minutes(at(9, 0), &[80, 80, 80, 80, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            verify_walk(at(9, 0), at(9, 10), 600, &five),
            Verification::Verified
        );
        assert_eq!(
            verify_walk(at(9, 0), at(9, 10), 600, &four),
            Verification::NotVerified
        );
    }

    #[test]
    fn no_minutes_in_the_window_is_no_data() {
        let band = minutes(at(7, 0), &[100; 30]);
        assert_eq!(
            verify_walk(at(9, 0), at(9, 10), 600, &band),
            Verification::NoData
        );
        assert_eq!(Verification::NoData.as_verified(), None);
    }

    #[test]
    fn a_straddling_minute_counts() {
        // walk 09:00:30..09:02:30; minutes 09:00, 09:01, 09:02 all overlap it
        let band = minutes(at(9, 0), &[70, 0, 0]);
        let start = at(9, 0) + TimeDelta::seconds(30);
        assert_eq!(
            verify_walk(start, start + TimeDelta::minutes(2), 120, &band),
            Verification::Verified
        );
    }
}
