//! What of an export the server takes, and a summary of it for people.
//!
//! The server accepts data from the last [`ACCEPTED_AGE`] only, no minute over
//! [`MAX_STEPS_PER_MINUTE`], and nights of at most a day. An import keeps what the server
//! takes and counts what it leaves out, so the summary can say so, instead of the whole
//! import being refused for one old night.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use stepwise_wearables::records::{ACCEPTED_AGE, MAX_STEPS_PER_MINUTE, SleepStage};

use crate::model::Export;

/// How far inside the server's window an import stays, so a minute at its edge is not
/// refused by the time it is uploaded.
pub const WINDOW_MARGIN: TimeDelta = TimeDelta::days(1);

/// Longest sleep episode the server takes.
pub const MAX_EPISODE: TimeDelta = TimeDelta::hours(24);

/// What an import left out, and why.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LeftOut {
    /// The first instant kept: older data is left out.
    pub kept_from: Option<DateTime<Utc>>,
    /// Minutes older than the window.
    pub minutes_too_old: u64,
    /// Their steps.
    pub steps_too_old: u64,
    /// Minutes after the moment of the import.
    pub minutes_in_future: u64,
    /// Minutes with more steps than anyone takes in a minute.
    pub minutes_implausible: u64,
    /// Sleep episodes older than the window, in the future, or longer than a day.
    pub episodes: u64,
}

impl LeftOut {
    /// True when nothing was left out.
    pub fn is_empty(&self) -> bool {
        self.minutes_too_old == 0
            && self.minutes_in_future == 0
            && self.minutes_implausible == 0
            && self.episodes == 0
    }
}

/// Keeps of `export` what the server takes at `now`: minutes and episodes from the last
/// [`ACCEPTED_AGE`] less [`WINDOW_MARGIN`], not after `now`, no minute over
/// [`MAX_STEPS_PER_MINUTE`] and no episode over [`MAX_EPISODE`]. Sources left with nothing
/// are dropped.
pub fn keep_accepted(mut export: Export, now: DateTime<Utc>) -> (Export, LeftOut) {
    let from = now - ACCEPTED_AGE + WINDOW_MARGIN;
    let mut left = LeftOut {
        kept_from: Some(from),
        ..LeftOut::default()
    };
    for source in &mut export.sources {
        source.minutes.retain(|m| {
            if m.minute < from {
                left.minutes_too_old += 1;
                left.steps_too_old += u64::from(m.steps);
                false
            } else if m.minute > now {
                left.minutes_in_future += 1;
                false
            } else if m.steps > MAX_STEPS_PER_MINUTE {
                left.minutes_implausible += 1;
                false
            } else {
                true
            }
        });
        source.sleep.retain(|e| {
            let keep = e.start >= from
                && e.end <= now
                && e.end > e.start
                && e.end - e.start <= MAX_EPISODE;
            if !keep {
                left.episodes += 1;
            }
            keep
        });
    }
    export
        .sources
        .retain(|s| !s.minutes.is_empty() || !s.sleep.is_empty());
    (export, left)
}

/// What an export holds, for people: counted the way the server counts a day (where two
/// sources have the same minute, the higher step count), in the patient's zone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Summary {
    /// Which export it was (`Format::as_str`).
    pub format: String,
    /// Its name as people know the app (`Format::title`: "Apple Health").
    pub format_title: String,
    /// The devices with data, by name.
    pub devices: Vec<String>,
    /// Local days with at least one minute.
    pub days: u64,
    /// Minutes with data.
    pub minutes: u64,
    /// Their steps.
    pub steps: u64,
    /// Nights: local days on which a sleep episode (not awake) ends.
    pub nights: u64,
    /// Minutes asleep (awake stretches excluded), a night two sources recorded counted once.
    pub sleep_minutes: u64,
    /// The first local day with data.
    pub first_day: Option<NaiveDate>,
    /// The last local day with data.
    pub last_day: Option<NaiveDate>,
}

/// The summary of `export` in `zone`.
pub fn summarize(export: &Export, zone: Tz) -> Summary {
    let mut by_minute: BTreeMap<DateTime<Utc>, u32> = BTreeMap::new();
    for source in &export.sources {
        for m in &source.minutes {
            let steps = by_minute.entry(m.minute).or_insert(0);
            *steps = (*steps).max(m.steps);
        }
    }
    let local = |at: DateTime<Utc>| at.with_timezone(&zone).date_naive();
    let days: BTreeSet<NaiveDate> = by_minute.keys().map(|&m| local(m)).collect();
    // Asleep as the server counts it: the union of every source's episodes, so a night two
    // devices recorded counts once.
    let mut asleep: Vec<(DateTime<Utc>, DateTime<Utc>)> = export
        .sources
        .iter()
        .flat_map(|source| &source.sleep)
        .filter(|e| e.stage != SleepStage::Awake)
        .map(|e| (e.start, e.end))
        .collect();
    asleep.sort();
    let nights: BTreeSet<NaiveDate> = asleep.iter().map(|&(_, end)| local(end)).collect();
    let mut sleep_minutes = 0;
    let mut covered_until: Option<DateTime<Utc>> = None;
    for (start, end) in asleep {
        let from = covered_until.map_or(start, |until| until.max(start));
        if end > from {
            sleep_minutes += u64::try_from((end - from).num_minutes()).unwrap_or(0);
        }
        covered_until = Some(covered_until.map_or(end, |until| until.max(end)));
    }
    let all_days: BTreeSet<NaiveDate> = days.union(&nights).copied().collect();
    let mut devices: Vec<String> = export
        .sources
        .iter()
        .map(|s| s.source.name.clone())
        .collect();
    devices.sort();
    devices.dedup();
    Summary {
        format: export.format.as_str().to_string(),
        format_title: export.format.title().to_string(),
        devices,
        days: days.len() as u64,
        minutes: by_minute.len() as u64,
        steps: by_minute.values().map(|&s| u64::from(s)).sum(),
        nights: nights.len() as u64,
        sleep_minutes,
        first_day: all_days.first().copied(),
        last_day: all_days.last().copied(),
    }
}

#[cfg(test)]
mod tests {
    use stepwise_wearables::records::SleepEpisode;

    use super::*;
    use crate::model::{Format, Minute, Source, SourceData};

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn minute(text: &str, steps: u32) -> Minute {
        Minute {
            minute: at(text),
            steps,
            heart_rate: None,
            estimated: false,
        }
    }

    fn export(sources: Vec<SourceData>) -> Export {
        Export {
            format: Format::AppleHealth,
            sources,
        }
    }

    fn source(name: &str, minutes: Vec<Minute>, sleep: Vec<SleepEpisode>) -> SourceData {
        SourceData {
            source: Source {
                identity: name.to_string(),
                name: name.to_string(),
            },
            minutes,
            sleep,
        }
    }

    #[test]
    fn only_the_window_the_server_takes_is_kept() {
        let now = at("2026-12-01T12:00:00Z");
        let night = |start: &str, end: &str| SleepEpisode {
            start: at(start),
            end: at(end),
            stage: SleepStage::Light,
        };
        let (kept, left) = keep_accepted(
            export(vec![
                source(
                    "watch",
                    vec![
                        minute("2026-08-01T10:00:00Z", 40),
                        minute("2026-11-30T10:00:00Z", 50),
                        minute("2026-11-30T10:01:00Z", 400),
                        minute("2026-12-01T12:01:00Z", 5),
                    ],
                    vec![
                        night("2026-11-29T23:00:00Z", "2026-11-30T06:00:00Z"),
                        night("2026-08-01T23:00:00Z", "2026-08-02T06:00:00Z"),
                        night("2026-11-20T00:00:00Z", "2026-11-21T06:00:00Z"),
                    ],
                ),
                source("old", vec![minute("2025-01-01T00:00:00Z", 1)], vec![]),
            ]),
            now,
        );
        assert_eq!(kept.sources.len(), 1);
        assert_eq!(
            kept.sources[0].minutes,
            vec![minute("2026-11-30T10:00:00Z", 50)]
        );
        assert_eq!(kept.sources[0].sleep.len(), 1);
        assert_eq!(left.minutes_too_old, 2);
        assert_eq!(left.steps_too_old, 41);
        assert_eq!(left.minutes_implausible, 1);
        assert_eq!(left.minutes_in_future, 1);
        assert_eq!(left.episodes, 2);
        assert_eq!(left.kept_from, Some(at("2026-09-03T12:00:00Z")));
    }

    #[test]
    fn a_summary_counts_a_minute_of_two_sources_once() {
        let zone: Tz = "Europe/Berlin".parse().unwrap();
        let summary = summarize(
            &export(vec![
                source(
                    "watch",
                    vec![
                        minute("2026-11-30T10:00:00Z", 50),
                        minute("2026-11-30T23:30:00Z", 7),
                    ],
                    vec![SleepEpisode {
                        start: at("2026-11-30T23:00:00Z"),
                        end: at("2026-12-01T05:00:00Z"),
                        stage: SleepStage::Deep,
                    }],
                ),
                source(
                    "phone",
                    vec![minute("2026-11-30T10:00:00Z", 60)],
                    // The same night, within the watch's: counted once.
                    vec![SleepEpisode {
                        start: at("2026-12-01T00:00:00Z"),
                        end: at("2026-12-01T04:00:00Z"),
                        stage: SleepStage::Light,
                    }],
                ),
            ]),
            zone,
        );
        assert_eq!(summary.minutes, 2);
        assert_eq!(summary.steps, 67);
        // 23:30 UTC is already 1 December in Berlin.
        assert_eq!(summary.days, 2);
        assert_eq!(summary.nights, 1);
        assert_eq!(summary.sleep_minutes, 360);
        assert_eq!(
            summary.devices,
            vec!["phone".to_string(), "watch".to_string()]
        );
        assert_eq!(summary.first_day, NaiveDate::from_ymd_opt(2026, 11, 30));
        assert_eq!(summary.last_day, NaiveDate::from_ymd_opt(2026, 12, 1));
    }
}
