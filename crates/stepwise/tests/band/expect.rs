//! What the server should hold, worked out from the scripted wearer's own log (never from
//! what the collector printed): minute samples, sleep episodes and per-day totals.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use stepwise_fakebluez::wearer::{NO_HEART_RATE, SimMinute, kind};
use stepwise_store::{BandDay, SleepEpisode, SleepStage, StepSample};

/// Whether the band stores REM (8-byte records) or folds it into light sleep (4-byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Records {
    /// Mi Band 2/3, Amazfit Bip.
    Four,
    /// Mi Band 4/5/6.
    Eight,
}

/// The minute samples the wearer's minutes should become.
pub fn samples(minutes: &[SimMinute]) -> Vec<StepSample> {
    minutes
        .iter()
        .map(|m| StepSample {
            minute: m.minute,
            steps: i64::from(m.steps),
            heart_rate: (m.heart_rate != NO_HEART_RATE).then_some(i64::from(m.heart_rate)),
            estimated: false,
        })
        .collect()
}

/// The stage the collector reads from a minute: no band's bytes say REM with a public source,
/// so a simulated REM minute arrives as light sleep, whatever the record size.
fn stage(m: &SimMinute, _records: Records) -> Option<SleepStage> {
    match m.kind {
        kind::LIGHT_SLEEP => Some(SleepStage::Light),
        kind::DEEP_SLEEP => Some(SleepStage::Deep),
        kind::AWAKE => Some(SleepStage::Awake),
        _ => None,
    }
}

/// The sleep episodes of consecutive minutes: each run of one stage, inside a night (awake
/// minutes before the first or after the last sleep minute of a night are not part of it).
/// The scripted wearer is never awake for more than a few minutes inside a night.
pub fn episodes(minutes: &[SimMinute], records: Records) -> Vec<SleepEpisode> {
    let mut out = Vec::new();
    let mut night: Vec<(DateTime<Utc>, SleepStage)> = Vec::new();
    let mut close = |night: &mut Vec<(DateTime<Utc>, SleepStage)>| {
        while night.last().is_some_and(|(_, s)| *s == SleepStage::Awake) {
            night.pop();
        }
        let first_asleep = night
            .iter()
            .position(|(_, s)| *s != SleepStage::Awake)
            .unwrap_or(night.len());
        let mut runs: Vec<SleepEpisode> = Vec::new();
        for &(minute, stage) in &night[first_asleep..] {
            match runs.last_mut() {
                Some(run) if run.stage == stage && run.end == minute => {
                    run.end = minute + TimeDelta::minutes(1);
                }
                _ => runs.push(SleepEpisode {
                    start: minute,
                    end: minute + TimeDelta::minutes(1),
                    stage,
                }),
            }
        }
        out.extend(runs);
        night.clear();
    };
    let mut previous: Option<DateTime<Utc>> = None;
    for m in minutes {
        if previous.is_some_and(|p| p + TimeDelta::minutes(1) != m.minute) {
            close(&mut night);
        }
        previous = Some(m.minute);
        match stage(m, records) {
            Some(stage) => night.push((m.minute, stage)),
            None => close(&mut night),
        }
    }
    close(&mut night);
    out
}

/// Per local day in `zone`: steps and minutes of `minutes`, and the minutes asleep in the
/// `episodes` that end that day (a night belongs to the morning after it).
pub fn band_days(minutes: &[SimMinute], episodes: &[SleepEpisode], zone: Tz) -> Vec<BandDay> {
    let mut days: BTreeMap<NaiveDate, BandDay> = BTreeMap::new();
    for m in minutes {
        let d = day(&mut days, m.minute.with_timezone(&zone).date_naive());
        d.steps += i64::from(m.steps);
        d.minutes_with_data += 1;
    }
    for e in episodes.iter().filter(|e| e.stage != SleepStage::Awake) {
        // The end instant itself belongs to the day it falls in.
        let d = day(&mut days, e.end.with_timezone(&zone).date_naive());
        d.sleep_min += (e.end - e.start).num_minutes();
    }
    days.into_values().collect()
}

fn day(days: &mut BTreeMap<NaiveDate, BandDay>, date: NaiveDate) -> &mut BandDay {
    days.entry(date).or_insert_with(|| BandDay {
        date,
        ..BandDay::default()
    })
}

/// Minutes asleep per stage (light, deep, REM) in `episodes`.
pub fn asleep_by_stage(episodes: &[SleepEpisode]) -> [i64; 3] {
    let mut out = [0; 3];
    for e in episodes {
        let slot = match e.stage {
            SleepStage::Light => 0,
            SleepStage::Deep => 1,
            SleepStage::Rem => 2,
            _ => continue,
        };
        out[slot] += (e.end - e.start).num_minutes();
    }
    out
}
