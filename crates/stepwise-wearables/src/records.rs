//! The normalised output of every protocol: one [`MinuteRecord`] per minute (UTC, whole
//! minutes) and [`SleepEpisode`]s derived from runs of sleep minutes.
//!
//! Devices disagree on everything else (local time, offsets, record sizes, kinds); by the
//! time data leaves this crate it is minutes in UTC with steps, an optional heart rate and an
//! [`Activity`].

use chrono::{DateTime, TimeDelta, Timelike, Utc};

/// `at` with seconds and below dropped.
pub(crate) fn whole_minute(at: DateTime<Utc>) -> DateTime<Utc> {
    let seconds = at.timestamp().rem_euclid(60);
    at.checked_sub_signed(TimeDelta::seconds(seconds))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(at)
}

/// Most steps anyone takes in one minute (the fastest running cadence is about 200): the
/// server refuses more, a collector caps a spread count at it, an import leaves out a minute
/// over it.
pub const MAX_STEPS_PER_MINUTE: u32 = 300;

/// How old data the server still accepts (bands keep a few weeks at most): older minutes and
/// episodes are refused by the server, given up by the collector and left out of an import.
pub const ACCEPTED_AGE: TimeDelta = TimeDelta::days(90);

/// The years every date Stepwise takes lies in (UTC): the server's API dates, a band's clock,
/// an export's records. Clinical dates are recent, a device whose clock was reset writes
/// 1970, and the bound keeps date arithmetic far from the calendar's limits.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// Longest span steps are spread over: a week of minutes.
pub const MAX_SPREAD_MINUTES: i64 = 7 * 24 * 60;

/// `steps` spread evenly over the whole minutes of (since, until], the remainder going to the
/// last minutes; every minute of the span is listed, also those whose share is 0. The span
/// runs from the minute holding `since` to the minute holding `until`, except that an `until`
/// on a minute boundary ends it at the minute before (10:00:00–10:05:00 is 10:00–10:04). With
/// `since` not before `until`, everything goes to until's minute; a span longer than
/// [`MAX_SPREAD_MINUTES`] is cut to its last week.
pub(crate) fn spread_steps(
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    steps: u32,
) -> Vec<(DateTime<Utc>, u32)> {
    let last = whole_minute(until);
    let first = if since < until {
        whole_minute(since)
    } else {
        last
    };
    let last = if since < until && last == until && first < last {
        last.checked_sub_signed(TimeDelta::minutes(1))
            .unwrap_or(last)
    } else {
        last
    };
    let span = (last - first)
        .num_minutes()
        .clamp(0, MAX_SPREAD_MINUTES - 1)
        + 1;
    let Ok(count) = u32::try_from(span) else {
        return vec![(last, steps)];
    };
    let share = steps / count;
    let extra = steps % count;
    (0..count)
        .filter_map(|i| {
            // Counted from the end: the last `extra` minutes get one step more.
            let from_end = count - 1 - i;
            let minute = last.checked_sub_signed(TimeDelta::minutes(i64::from(from_end)))?;
            Some((minute, share + u32::from(from_end < extra)))
        })
        .collect()
}

/// What the wearer was doing in a minute, as far as the device knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Activity {
    /// Walking (or any ordinary movement the device counted as activity).
    Walking,
    /// Running.
    Running,
    /// Cycling.
    Cycling,
    /// Worn, no particular activity (also: "same as before" with nothing before).
    Other,
    /// The device was not being worn.
    NotWorn,
    /// The device was charging.
    Charging,
    /// Light sleep.
    LightSleep,
    /// Deep sleep.
    DeepSleep,
    /// REM sleep.
    RemSleep,
    /// Asleep, stage unknown (an export that records only "asleep").
    Asleep,
    /// Awake; part of a night only when between sleep minutes (see [`sleep_episodes`]).
    Awake,
    /// A kind this crate does not know; the device's raw kind byte.
    Unknown(u8),
}

impl Activity {
    /// True for light, deep, REM and unstaged sleep. [`Activity::Awake`] is false here: an awake minute
    /// counts as part of a night only inside a sleep run, which [`sleep_episodes`] decides
    /// from its neighbours.
    pub fn is_sleep(self) -> bool {
        matches!(
            self,
            Activity::LightSleep | Activity::DeepSleep | Activity::RemSleep | Activity::Asleep
        )
    }

    /// A stable lower-case name: `walking`, `running`, `cycling`, `other`, `not-worn`,
    /// `charging`, `light-sleep`, `deep-sleep`, `rem-sleep`, `asleep`, `awake`, `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Activity::Walking => "walking",
            Activity::Running => "running",
            Activity::Cycling => "cycling",
            Activity::Other => "other",
            Activity::NotWorn => "not-worn",
            Activity::Charging => "charging",
            Activity::LightSleep => "light-sleep",
            Activity::DeepSleep => "deep-sleep",
            Activity::RemSleep => "rem-sleep",
            Activity::Asleep => "asleep",
            Activity::Awake => "awake",
            Activity::Unknown(_) => "unknown",
        }
    }

    /// The sleep stage this minute belongs to, if it can be part of a night at all.
    fn stage(self) -> Option<SleepStage> {
        match self {
            Activity::LightSleep => Some(SleepStage::Light),
            Activity::DeepSleep => Some(SleepStage::Deep),
            Activity::RemSleep => Some(SleepStage::Rem),
            Activity::Asleep => Some(SleepStage::Asleep),
            Activity::Awake => Some(SleepStage::Awake),
            _ => None,
        }
    }
}

/// One minute of data from a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinuteRecord {
    /// The minute's start, in UTC, on a whole minute.
    pub minute: DateTime<Utc>,
    /// Steps counted in the minute.
    pub steps: u16,
    /// Heart rate in beats per minute; `None` unless the device gave a value in 10–250.
    pub heart_rate: Option<u8>,
    /// What the wearer was doing.
    pub activity: Activity,
}

/// A sleep stage, as the server names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SleepStage {
    /// Light sleep.
    Light,
    /// Deep sleep.
    Deep,
    /// REM sleep.
    Rem,
    /// Awake during the night.
    Awake,
    /// Asleep, stage unknown (an export that records only "asleep"; no band protocol here
    /// gives it).
    Asleep,
}

impl SleepStage {
    /// Every stage.
    pub const ALL: [SleepStage; 5] = [
        SleepStage::Light,
        SleepStage::Deep,
        SleepStage::Rem,
        SleepStage::Awake,
        SleepStage::Asleep,
    ];

    /// The server's name: `light`, `deep`, `rem`, `awake` or `asleep`.
    pub fn as_str(self) -> &'static str {
        match self {
            SleepStage::Light => "light",
            SleepStage::Deep => "deep",
            SleepStage::Rem => "rem",
            SleepStage::Awake => "awake",
            SleepStage::Asleep => "asleep",
        }
    }
}

/// A stretch of one sleep stage: `[start, end)` in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SleepEpisode {
    /// First minute of the stage.
    pub start: DateTime<Utc>,
    /// The minute after the last one.
    pub end: DateTime<Utc>,
    /// The stage.
    pub stage: SleepStage,
}

/// Longest run of awake minutes that still belongs to a night (a longer one ends it).
pub const MAX_AWAKE_GAP_MINUTES: usize = 60;

/// Episodes from consecutive minute records: each maximal run of one sleep stage becomes an
/// episode [first minute, last minute + 1 min). Awake minutes count only between sleep minutes
/// of the same night (a gap of ≤ 60 awake minutes); a missing minute (non-consecutive records)
/// ends a run. Input must be sorted by minute; unsorted input → sorted internally, never panic.
pub fn sleep_episodes(records: &[MinuteRecord]) -> Vec<SleepEpisode> {
    let sorted;
    let records = if records.is_sorted_by_key(|r| r.minute) {
        records
    } else {
        let mut copy = records.to_vec();
        copy.sort_by_key(|r| r.minute);
        sorted = copy;
        &sorted
    };
    let mut episodes = Vec::new();
    // A block: consecutive minutes that are all sleep or awake, with nothing else between.
    let mut block: Vec<(DateTime<Utc>, SleepStage)> = Vec::new();
    let mut previous: Option<DateTime<Utc>> = None;
    for record in records {
        let consecutive = previous
            .and_then(|p| p.checked_add_signed(TimeDelta::minutes(1)))
            .is_some_and(|next| next == record.minute);
        if !consecutive {
            night_episodes(&block, &mut episodes);
            block.clear();
        }
        previous = Some(record.minute);
        match record.activity.stage() {
            Some(stage) => block.push((record.minute, stage)),
            None => {
                night_episodes(&block, &mut episodes);
                block.clear();
            }
        }
    }
    night_episodes(&block, &mut episodes);
    episodes
}

/// Appends the episodes of one block of consecutive sleep/awake minutes: awake minutes at
/// either end are dropped (not yet asleep, or up for the day), and an awake run longer than
/// [`MAX_AWAKE_GAP_MINUTES`] splits the block into two nights without it.
fn night_episodes(block: &[(DateTime<Utc>, SleepStage)], out: &mut Vec<SleepEpisode>) {
    let asleep = |&(_, stage): &(DateTime<Utc>, SleepStage)| stage != SleepStage::Awake;
    let (Some(first), Some(last)) = (
        block.iter().position(asleep),
        block.iter().rposition(asleep),
    ) else {
        return;
    };
    let Some(night) = block.get(first..=last) else {
        return;
    };
    let mut i = 0;
    while let Some(&(start, stage)) = night.get(i) {
        let run = night
            .get(i..)
            .unwrap_or_default()
            .iter()
            .take_while(|(_, s)| *s == stage)
            .count();
        let long_awake = stage == SleepStage::Awake && run > MAX_AWAKE_GAP_MINUTES;
        if !long_awake {
            let last_minute = night.get(i + run - 1).map_or(start, |&(m, _)| m);
            if let Some(end) = last_minute.checked_add_signed(TimeDelta::minutes(1)) {
                out.push(SleepEpisode { start, end, stage });
            }
        }
        i += run;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 22, 0, 0).unwrap()
    }

    /// Consecutive minutes from t0 with the given activities.
    fn minutes(activities: &[(Activity, usize)]) -> Vec<MinuteRecord> {
        activities
            .iter()
            .flat_map(|&(a, n)| std::iter::repeat_n(a, n))
            .enumerate()
            .map(|(i, activity)| MinuteRecord {
                minute: t0() + TimeDelta::minutes(i as i64),
                steps: 0,
                heart_rate: None,
                activity,
            })
            .collect()
    }

    fn ep(from_min: i64, to_min: i64, stage: SleepStage) -> SleepEpisode {
        SleepEpisode {
            start: t0() + TimeDelta::minutes(from_min),
            end: t0() + TimeDelta::minutes(to_min),
            stage,
        }
    }

    use Activity::*;

    #[test]
    fn runs_of_one_stage_become_episodes() {
        let r = minutes(&[
            (Walking, 3),
            (LightSleep, 10),
            (DeepSleep, 5),
            (RemSleep, 2),
            (LightSleep, 1),
            (Other, 1),
        ]);
        assert_eq!(
            sleep_episodes(&r),
            vec![
                ep(3, 13, SleepStage::Light),
                ep(13, 18, SleepStage::Deep),
                ep(18, 20, SleepStage::Rem),
                ep(20, 21, SleepStage::Light),
            ]
        );
    }

    #[test]
    fn awake_counts_only_between_sleep_of_one_night() {
        let r = minutes(&[
            (Awake, 5),
            (LightSleep, 10),
            (Awake, 60),
            (DeepSleep, 10),
            (Awake, 61),
            (LightSleep, 3),
            (Awake, 4),
        ]);
        assert_eq!(
            sleep_episodes(&r),
            vec![
                ep(5, 15, SleepStage::Light),
                ep(15, 75, SleepStage::Awake),
                ep(75, 85, SleepStage::Deep),
                ep(146, 149, SleepStage::Light),
            ]
        );
        assert!(sleep_episodes(&minutes(&[(Awake, 30)])).is_empty());
        assert!(sleep_episodes(&[]).is_empty());
    }

    #[test]
    fn a_missing_minute_or_other_activity_ends_a_run() {
        let mut r = minutes(&[(LightSleep, 10), (Awake, 2), (LightSleep, 10)]);
        r.remove(4); // minute 4 missing
        assert_eq!(
            sleep_episodes(&r),
            vec![
                ep(0, 4, SleepStage::Light),
                ep(5, 10, SleepStage::Light),
                ep(10, 12, SleepStage::Awake),
                ep(12, 22, SleepStage::Light),
            ]
        );
        // Awake next to a gap is not between sleep minutes of one run.
        let mut r = minutes(&[(LightSleep, 5), (Awake, 5), (LightSleep, 5)]);
        r.remove(7);
        assert_eq!(
            sleep_episodes(&r),
            vec![ep(0, 5, SleepStage::Light), ep(10, 15, SleepStage::Light)]
        );
        let r = minutes(&[(LightSleep, 5), (NotWorn, 1), (Awake, 2), (LightSleep, 5)]);
        assert_eq!(
            sleep_episodes(&r),
            vec![ep(0, 5, SleepStage::Light), ep(8, 13, SleepStage::Light)]
        );
        let r = minutes(&[(DeepSleep, 2), (Unknown(7), 1), (DeepSleep, 2)]);
        assert_eq!(
            sleep_episodes(&r),
            vec![ep(0, 2, SleepStage::Deep), ep(3, 5, SleepStage::Deep)]
        );
    }

    #[test]
    fn unsorted_and_duplicate_input_is_sorted_not_a_panic() {
        let mut r = minutes(&[(LightSleep, 4), (DeepSleep, 4)]);
        r.reverse();
        assert_eq!(
            sleep_episodes(&r),
            vec![ep(0, 4, SleepStage::Light), ep(4, 8, SleepStage::Deep)]
        );
        let mut r = minutes(&[(LightSleep, 4)]);
        r.push(r[3]);
        // A repeated minute is not the next minute: the run ends there.
        assert_eq!(
            sleep_episodes(&r),
            vec![ep(0, 4, SleepStage::Light), ep(3, 4, SleepStage::Light)]
        );
    }

    #[test]
    fn the_last_representable_minute_does_not_overflow() {
        let r = [MinuteRecord {
            minute: DateTime::<Utc>::MAX_UTC,
            steps: 0,
            heart_rate: None,
            activity: LightSleep,
        }];
        assert!(sleep_episodes(&r).is_empty());
    }

    #[test]
    fn names_are_the_servers() {
        assert_eq!(SleepStage::Rem.as_str(), "rem");
        assert_eq!(SleepStage::Awake.as_str(), "awake");
        assert_eq!(Activity::NotWorn.as_str(), "not-worn");
        assert_eq!(Activity::Unknown(13).as_str(), "unknown");
        assert!(RemSleep.is_sleep() && !Awake.is_sleep() && !Walking.is_sleep());
    }
}
