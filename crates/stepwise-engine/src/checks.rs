//! The clinical timings of the pain checks: when after a walk a patient is asked how their
//! pain is, and how long the question stays open. The reminder planner, the patient's pages,
//! the report and the FHIR export all read them from here.
//!
//! The pain-monitoring model behind the review asks twice: two hours after the walk (the
//! "two-hour rule") and the next morning (the 24-hour response).

use chrono::{NaiveTime, TimeDelta};

/// Minutes from a walk's end to its two-hour check.
const TWO_HOURS_MIN: i64 = 120;
/// How early the two-hour check may be answered, minutes: an answer given as the reminder
/// arrives counts.
const ANSWER_EARLY_MIN: i64 = 15;

/// The two-hour check is due this long after the walk ends.
pub const TWO_HOUR_CHECK: TimeDelta = TimeDelta::minutes(TWO_HOURS_MIN);

/// The two-hour check opens this long after the walk ends (a quarter of an hour before it is
/// due).
pub const TWO_HOUR_CHECK_OPENS: TimeDelta = TimeDelta::minutes(TWO_HOURS_MIN - ANSWER_EARLY_MIN);

/// An open check is listed for the patient this long; later answers are still accepted (and
/// their `answered_at` shows how late they came).
pub const CHECK_LISTED_FOR: TimeDelta = TimeDelta::hours(24);

/// When the next-morning question is sent if the patient has no quiet hours: 08:00 local.
pub const NEXT_MORNING_DEFAULT: NaiveTime = match NaiveTime::from_hms_opt(8, 0, 0) {
    Some(time) => time,
    None => panic!("08:00 is a time"),
};

/// The next-morning check can be answered from this local time on the day after the walk
/// (early risers answer before the question is sent); later answers are kept with their time.
pub const NEXT_MORNING_OPENS: NaiveTime = match NaiveTime::from_hms_opt(4, 0, 0) {
    Some(time) => time,
    None => panic!("04:00 is a time"),
};

/// How long the next-morning question stays worth sending.
pub const NEXT_MORNING_LIFE: TimeDelta = TimeDelta::hours(10);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_hour_check_opens_a_quarter_of_an_hour_before_it_is_due() {
        assert_eq!(TWO_HOUR_CHECK, TimeDelta::hours(2));
        assert_eq!(
            TWO_HOUR_CHECK - TWO_HOUR_CHECK_OPENS,
            TimeDelta::minutes(15)
        );
    }
}
