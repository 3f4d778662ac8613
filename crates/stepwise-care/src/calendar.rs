//! Local calendars: a patient's weeks and days in their IANA time zone, DST included. Pure
//! functions over instants; nothing here reads the clock.
//!
//! A patient's week runs from Monday 00:00 local time to the next Monday 00:00 local time, so
//! a week that crosses a DST change is 167 or 169 hours long. Where local midnight does not
//! exist (zones that change clocks at midnight), the day starts at the first local instant
//! that does.

use crate::records::{LocalDay, SampleBatch};
use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc,
};
use chrono_tz::Tz;

/// The first instant of `date` in `tz`.
pub fn day_start(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    local_instant(tz, date, NaiveTime::MIN)
}

/// The instant the clocks of `tz` read `time` on `date`. A time the clocks skip (the spring
/// DST gap) is the first existing time after it; a time they read twice (autumn) is the
/// first reading.
pub fn local_instant(tz: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    // Walk forward through a DST gap (at most a few hours) to the first existing local time.
    for minutes in (0..=24 * 60).step_by(15) {
        let local = date.and_time(time) + TimeDelta::minutes(minutes);
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(earliest, _) => return earliest.with_timezone(&Utc),
            LocalResult::None => continue,
        }
    }
    // Unreachable for real zones; fall back to the UTC reading of the local time.
    date.and_time(time).and_utc()
}

/// The local calendar day of `at` in `tz`.
pub fn local_day(tz: Tz, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// Monday of the local week containing `date`.
pub fn monday_of(date: NaiveDate) -> NaiveDate {
    date - Days::new(u64::from(date.weekday().num_days_from_monday()))
}

/// The instants bounding the week that starts on `monday`: `[start, end)`.
pub fn week_bounds(tz: Tz, monday: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    (day_start(tz, monday), day_start(tz, monday + Days::new(7)))
}

/// Monday of the most recent week that has fully ended at `now` in `tz`.
pub fn last_complete_week(tz: Tz, now: DateTime<Utc>) -> NaiveDate {
    monday_of(local_day(tz, now)) - Days::new(7)
}

/// The local days `[from, to]` (both included) with their bounds, oldest first.
pub fn days_between(tz: Tz, from: NaiveDate, to: NaiveDate) -> Vec<LocalDay> {
    from.iter_days()
        .take_while(|date| *date <= to)
        .map(|date| LocalDay {
            date,
            start: day_start(tz, date),
            end: day_start(tz, date + Days::new(1)),
        })
        .collect()
}

/// The local days a batch of band data touches, with their bounds: the days of its minutes
/// and the days its sleep episodes end on (a night belongs to the morning after).
pub fn days_touched(tz: Tz, batch: &SampleBatch) -> Vec<LocalDay> {
    let mut days: Vec<LocalDay> = Vec::new();
    let instants = batch
        .steps
        .iter()
        .map(|s| s.minute)
        .chain(batch.sleep.iter().map(|e| e.end));
    for at in instants {
        // Uploads come in runs of minutes: most instants fall in a day already found, which
        // spares a time-zone lookup per minute.
        if days.iter().rev().any(|d| (d.start..d.end).contains(&at)) {
            continue;
        }
        let date = local_day(tz, at);
        days.push(LocalDay {
            date,
            start: day_start(tz, date),
            end: day_start(tz, date + Days::new(1)),
        });
    }
    days.sort_by_key(|d| d.date);
    days
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{SleepEpisode, SleepStage, StepSample};

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn berlin_week_across_autumn_change_is_169_hours() {
        // DST ended on Sunday 2026-10-25 in Europe/Berlin.
        let (start, end) = week_bounds(chrono_tz::Europe::Berlin, date(2026, 10, 19));
        assert_eq!(start, utc(2026, 10, 18, 22, 0));
        assert_eq!(end, utc(2026, 10, 25, 23, 0));
        assert_eq!((end - start).num_hours(), 169);
    }

    #[test]
    fn new_york_week_across_spring_change_is_167_hours() {
        // DST began on Sunday 2026-03-08 in America/New_York.
        let (start, end) = week_bounds(chrono_tz::America::New_York, date(2026, 3, 2));
        assert_eq!(start, utc(2026, 3, 2, 5, 0));
        assert_eq!(end, utc(2026, 3, 9, 4, 0));
        assert_eq!((end - start).num_hours(), 167);
    }

    #[test]
    fn missing_midnight_starts_the_day_at_the_first_real_instant() {
        // America/Santiago skips 00:00-01:00 when DST begins (2026-09-06).
        let start = day_start(chrono_tz::America::Santiago, date(2026, 9, 6));
        assert_eq!(
            start.with_timezone(&chrono_tz::America::Santiago).time(),
            NaiveTime::from_hms_opt(1, 0, 0).unwrap()
        );
    }

    #[test]
    fn last_complete_week_is_the_week_before_this_one() {
        let tz = chrono_tz::Pacific::Auckland;
        // Monday 2026-11-23 00:30 in Auckland is still Sunday 11:30 UTC.
        let now = utc(2026, 11, 22, 11, 30);
        assert_eq!(last_complete_week(tz, now), date(2026, 11, 16));
        assert_eq!(last_complete_week(chrono_tz::UTC, now), date(2026, 11, 9));
    }

    #[test]
    fn a_batch_touches_the_local_days_of_its_minutes_and_of_its_sleep_ends() {
        let tz = chrono_tz::America::New_York; // UTC-5 in November
        let minute = |at| StepSample {
            minute: at,
            steps: 10,
            heart_rate: None,
            estimated: false,
        };
        let batch = SampleBatch {
            steps: vec![
                minute(utc(2026, 11, 17, 4, 59)), // 16th local
                minute(utc(2026, 11, 17, 5, 0)),  // 17th local
                minute(utc(2026, 11, 17, 5, 1)),
            ],
            sleep: vec![SleepEpisode {
                start: utc(2026, 11, 18, 4, 0),
                end: utc(2026, 11, 18, 11, 0), // 18th local
                stage: SleepStage::Light,
            }],
        };
        let days = days_touched(tz, &batch);
        let dates: Vec<NaiveDate> = days.iter().map(|d| d.date).collect();
        assert_eq!(
            dates,
            [date(2026, 11, 16), date(2026, 11, 17), date(2026, 11, 18)]
        );
        assert_eq!(days[1].start, utc(2026, 11, 17, 5, 0));
        assert_eq!(days[1].end, utc(2026, 11, 18, 5, 0));
    }
}
