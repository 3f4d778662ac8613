//! A scripted person wearing a band: deterministic days of sleep (≈23:00–07:00 local, with
//! light, deep, REM and awake phases), sitting, walking bouts (60–130 steps a minute, heart
//! rate 90–130), a morning shower (band off) and some evenings on the charger.
//!
//! Everything comes from the seed: each local day draws from its own generator (seed and
//! date), so the same seed gives the same minutes, and cutting the log at `until` does not
//! change the minutes before it.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::rng::Rng;

/// Huami activity kinds the wearer produces (the low nibble of a record's first byte).
pub mod kind {
    /// Activity: walking, or sitting with (almost) no steps.
    pub const WALKING: u8 = 1;
    /// The band is not on the wrist.
    pub const NOT_WORN: u8 = 3;
    /// The band is charging.
    pub const CHARGING: u8 = 6;
    /// Light sleep (REM when the minute's `rem` is set).
    pub const LIGHT_SLEEP: u8 = 9;
    /// Deep sleep.
    pub const DEEP_SLEEP: u8 = 11;
    /// Awake during the night.
    pub const AWAKE: u8 = 12;
}

/// No heart-rate reading.
pub const NO_HEART_RATE: u8 = 0xFF;

/// One minute of the wearer's life, as a band stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimMinute {
    /// The minute's start (whole minute, UTC).
    pub minute: DateTime<Utc>,
    /// Huami kind code (see [`kind`]).
    pub kind: u8,
    /// Steps in this minute.
    pub steps: u8,
    /// Beats per minute, or [`NO_HEART_RATE`].
    pub heart_rate: u8,
    /// REM sleep (only with [`kind::LIGHT_SLEEP`]).
    pub rem: bool,
}

/// A walking bout: consecutive minutes of walking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walk {
    /// First minute (UTC).
    pub start: DateTime<Utc>,
    /// Steps in each minute from `start`.
    pub steps_per_minute: Vec<u8>,
}

impl Walk {
    /// All steps of the bout.
    pub fn steps(&self) -> u64 {
        self.steps_per_minute.iter().map(|&s| u64::from(s)).sum()
    }

    /// The end of the bout (exclusive).
    pub fn end(&self) -> DateTime<Utc> {
        self.start + Duration::minutes(self.steps_per_minute.len() as i64)
    }
}

/// Minutes of each sleep stage over the whole log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SleepMinutes {
    /// Light sleep (not REM).
    pub light: u64,
    /// Deep sleep.
    pub deep: u64,
    /// REM sleep.
    pub rem: u64,
    /// Awake minutes inside a night.
    pub awake: u64,
}

impl SleepMinutes {
    /// Light + deep + REM.
    pub fn asleep(&self) -> u64 {
        self.light + self.deep + self.rem
    }
}

/// What [`Wearer::generate`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WearerLog {
    /// Every minute, in order, without gaps.
    pub minutes: Vec<SimMinute>,
    walks: Vec<Walk>,
}

impl WearerLog {
    /// Steps per local date in `zone`.
    pub fn daily_steps(&self, zone: Tz) -> BTreeMap<NaiveDate, u64> {
        let mut out = BTreeMap::new();
        for m in &self.minutes {
            *out.entry(m.minute.with_timezone(&zone).date_naive())
                .or_insert(0) += u64::from(m.steps);
        }
        out
    }

    /// All steps.
    pub fn total_steps(&self) -> u64 {
        self.minutes.iter().map(|m| u64::from(m.steps)).sum()
    }

    /// Minutes per sleep stage.
    pub fn sleep_minutes(&self) -> SleepMinutes {
        let mut s = SleepMinutes::default();
        for m in &self.minutes {
            match (m.kind, m.rem) {
                (kind::LIGHT_SLEEP, true) => s.rem += 1,
                (kind::LIGHT_SLEEP, false) => s.light += 1,
                (kind::DEEP_SLEEP, _) => s.deep += 1,
                (kind::AWAKE, _) => s.awake += 1,
                _ => {}
            }
        }
        s
    }

    /// The walking bouts (for PAMS sessions), in order.
    pub fn walks(&self) -> &[Walk] {
        &self.walks
    }
}

/// The scripted person.
#[derive(Debug, Clone, Copy)]
pub struct Wearer;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Light,
    Deep,
    Rem,
    Awake,
}

#[derive(Debug, Clone)]
enum Activity {
    Night(Vec<Stage>),
    Walk(Vec<u8>),
    NotWorn,
    Charging,
}

#[derive(Debug, Clone)]
struct Segment {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    activity: Activity,
}

/// The UTC instant of a local time, skipping forward over a DST gap.
fn instant(zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let mut t = local;
    for _ in 0..4 {
        if let Some(x) = zone.from_local_datetime(&t).earliest() {
            return x.with_timezone(&Utc);
        }
        t += Duration::minutes(30);
    }
    Utc.from_utc_datetime(&local)
}

fn at(date: NaiveDate, minutes_after_midnight: i64) -> NaiveDateTime {
    date.and_time(NaiveTime::MIN) + Duration::minutes(minutes_after_midnight)
}

fn night_stages(rng: &mut Rng, len: usize) -> Vec<Stage> {
    let mut out = Vec::with_capacity(len);
    let falling_asleep = rng.range(5, 15) as usize;
    out.extend(std::iter::repeat_n(Stage::Light, falling_asleep));
    let mut cycle = 0i64;
    while out.len() < len {
        let deep = (35 - 8 * cycle).max(5);
        let rem = (10 + 5 * cycle).min(30);
        let parts = [
            (Stage::Deep, rng.range(deep - 5, deep + 5)),
            (Stage::Light, rng.range(10, 25)),
            (Stage::Rem, rng.range(rem - 5, rem + 5)),
            (Stage::Light, rng.range(5, 15)),
        ];
        for (stage, n) in parts {
            out.extend(std::iter::repeat_n(stage, n.max(1) as usize));
        }
        if rng.chance(35) {
            out.extend(std::iter::repeat_n(Stage::Awake, rng.range(1, 6) as usize));
        }
        cycle += 1;
    }
    out.truncate(len);
    out
}

/// Bedtime of `date` (evening), minutes after its local midnight.
fn bedtime(seed: u64, date: NaiveDate) -> i64 {
    let mut rng = day_rng(seed, date, 1);
    22 * 60 + 30 + rng.range(0, 60)
}

/// Wake time of `date` (morning), minutes after its local midnight.
fn wake_time(seed: u64, date: NaiveDate) -> i64 {
    let mut rng = day_rng(seed, date, 2);
    6 * 60 + 30 + rng.range(0, 60)
}

fn day_rng(seed: u64, date: NaiveDate, stream: u64) -> Rng {
    let day = date.to_epoch_days() as u64;
    let mut r = Rng(seed
        ^ day.wrapping_mul(0xA24B_AED4_963E_E407)
        ^ stream.wrapping_mul(0x9FB2_1C65_1E98_DF25));
    r.next();
    r
}

fn segments_of_day(seed: u64, zone: Tz, date: NaiveDate) -> Vec<Segment> {
    let mut out = Vec::new();
    let next = date.succ_opt().unwrap_or(date);
    // The night from this evening to tomorrow morning.
    let bed = instant(zone, at(date, bedtime(seed, date)));
    let wake = instant(zone, at(next, wake_time(seed, next)));
    let len = (wake - bed).num_minutes().max(0) as usize;
    let mut rng = day_rng(seed, date, 3);
    out.push(Segment {
        start: bed,
        end: wake,
        activity: Activity::Night(night_stages(&mut rng, len)),
    });
    // Shower after getting up.
    let up = wake_time(seed, date);
    let shower = up + rng.range(10, 30);
    out.push(Segment {
        start: instant(zone, at(date, shower)),
        end: instant(zone, at(date, shower + rng.range(15, 25))),
        activity: Activity::NotWorn,
    });
    // Walking bouts between 08:00 and 20:30, apart from each other.
    let bouts = rng.range(2, 4);
    let mut taken: Vec<(i64, i64)> = Vec::new();
    for _ in 0..bouts {
        for _attempt in 0..10 {
            let len = rng.range(10, 45);
            let start = rng.range(8 * 60, 20 * 60 + 30 - len);
            if taken
                .iter()
                .any(|&(s, e)| start < e + 20 && s < start + len + 20)
            {
                continue;
            }
            taken.push((start, start + len));
            let cadence = rng.range(75, 115);
            let steps = (0..len)
                .map(|_| (cadence + rng.range(-15, 15)).clamp(60, 130) as u8)
                .collect();
            out.push(Segment {
                start: instant(zone, at(date, start)),
                end: instant(zone, at(date, start + len)),
                activity: Activity::Walk(steps),
            });
            break;
        }
    }
    // Every third evening or so on the charger, unless it would cut into a walk.
    if rng.chance(35) {
        let start = rng.range(20 * 60 + 40, 21 * 60 + 30);
        let end = start + rng.range(45, 75);
        if taken.iter().all(|&(_, e)| e <= start) {
            out.push(Segment {
                start: instant(zone, at(date, start)),
                end: instant(zone, at(date, end)),
                activity: Activity::Charging,
            });
        }
    }
    out
}

impl Wearer {
    /// Every minute from local midnight of `first_day` (in `zone`) for `days` days, before
    /// `until` when given. The night before `first_day` is included, so the log starts asleep.
    pub fn generate(
        zone: Tz,
        first_day: NaiveDate,
        days: u32,
        seed: u64,
        until: Option<DateTime<Utc>>,
    ) -> WearerLog {
        let start = instant(zone, at(first_day, 0));
        let last_day = first_day + Duration::days(i64::from(days));
        let mut end = instant(zone, at(last_day, 0));
        if let Some(u) = until {
            end = end.min(u);
        }
        let mut segments = Vec::new();
        let mut day = first_day.pred_opt().unwrap_or(first_day);
        while day < last_day {
            segments.extend(segments_of_day(seed, zone, day));
            day = day.succ_opt().unwrap_or(last_day);
        }
        segments.sort_by_key(|s| s.start);

        let mut minutes = Vec::new();
        let mut walks: Vec<Walk> = Vec::new();
        let mut rng = Rng(seed ^ 0x5EED);
        let mut t = start;
        while t < end {
            let seg = segments.iter().find(|s| s.start <= t && t < s.end);
            let offset = seg
                .map(|s| (t - s.start).num_minutes() as usize)
                .unwrap_or(0);
            let m = match seg.map(|s| &s.activity) {
                Some(Activity::Night(stages)) => {
                    let stage = stages.get(offset).copied().unwrap_or(Stage::Light);
                    let (kind, hr) = match stage {
                        Stage::Light | Stage::Rem => (kind::LIGHT_SLEEP, rng.range(50, 62)),
                        Stage::Deep => (kind::DEEP_SLEEP, rng.range(46, 56)),
                        Stage::Awake => (kind::AWAKE, rng.range(60, 72)),
                    };
                    SimMinute {
                        minute: t,
                        kind,
                        steps: 0,
                        heart_rate: hr as u8,
                        rem: stage == Stage::Rem,
                    }
                }
                Some(Activity::Walk(steps)) => {
                    let s = steps.get(offset).copied().unwrap_or(0);
                    match walks.last_mut() {
                        Some(w) if w.end() == t => w.steps_per_minute.push(s),
                        _ => walks.push(Walk {
                            start: t,
                            steps_per_minute: vec![s],
                        }),
                    }
                    SimMinute {
                        minute: t,
                        kind: kind::WALKING,
                        steps: s,
                        heart_rate: rng.range(90, 130) as u8,
                        rem: false,
                    }
                }
                Some(Activity::NotWorn) => SimMinute {
                    minute: t,
                    kind: kind::NOT_WORN,
                    steps: 0,
                    heart_rate: NO_HEART_RATE,
                    rem: false,
                },
                Some(Activity::Charging) => SimMinute {
                    minute: t,
                    kind: kind::CHARGING,
                    steps: 0,
                    heart_rate: NO_HEART_RATE,
                    rem: false,
                },
                None => {
                    // Sitting; now and then a few steps around the house.
                    let steps = if rng.chance(12) { rng.range(1, 25) } else { 0 };
                    SimMinute {
                        minute: t,
                        kind: kind::WALKING,
                        steps: steps as u8,
                        heart_rate: rng.range(60, 85) as u8,
                        rem: false,
                    }
                }
            };
            minutes.push(m);
            t += Duration::minutes(1);
        }
        WearerLog { minutes, walks }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;

    fn week() -> WearerLog {
        let first = NaiveDate::from_ymd_opt(2026, 3, 25).expect("date");
        Wearer::generate(chrono_tz::Europe::Berlin, first, 7, 42, None)
    }

    #[test]
    fn same_seed_same_log_other_seed_other_log() {
        let first = NaiveDate::from_ymd_opt(2026, 3, 25).expect("date");
        let a = Wearer::generate(chrono_tz::Europe::Berlin, first, 3, 7, None);
        let b = Wearer::generate(chrono_tz::Europe::Berlin, first, 3, 7, None);
        let c = Wearer::generate(chrono_tz::Europe::Berlin, first, 3, 8, None);
        assert_eq!(a, b);
        assert_ne!(a.minutes, c.minutes);
    }

    #[test]
    fn every_minute_once_across_a_dst_change() {
        // Berlin springs forward on 2026-03-29: that local day has 23 hours.
        let log = week();
        assert_eq!(log.minutes.len(), 7 * 1440 - 60);
        for pair in log.minutes.windows(2) {
            assert_eq!(pair[1].minute - pair[0].minute, Duration::minutes(1));
        }
        assert_eq!(log.minutes[0].minute.second(), 0);
    }

    #[test]
    fn totals_are_consistent() {
        let log = week();
        let daily = log.daily_steps(chrono_tz::Europe::Berlin);
        assert_eq!(daily.len(), 7);
        assert_eq!(daily.values().sum::<u64>(), log.total_steps());
        let walked: u64 = log.walks().iter().map(Walk::steps).sum();
        assert!(walked <= log.total_steps());
        for (day, steps) in &daily {
            assert!(
                (2_000..=25_000).contains(steps),
                "{day}: {steps} steps is not a plausible day"
            );
        }
        for w in log.walks() {
            assert!(w.steps_per_minute.iter().all(|s| (60..=130).contains(s)));
        }
        let sleep = log.sleep_minutes();
        let per_night = sleep.asleep() / 7;
        assert!((360..=540).contains(&per_night), "{sleep:?}");
        assert!(sleep.deep > 0 && sleep.rem > 0 && sleep.light > 0);
        let counted = log
            .minutes
            .iter()
            .filter(|m| matches!(m.kind, kind::LIGHT_SLEEP | kind::DEEP_SLEEP))
            .count() as u64;
        assert_eq!(counted, sleep.asleep());
    }

    #[test]
    fn nights_are_at_night_and_walks_by_day() {
        let zone = chrono_tz::Europe::Berlin;
        let log = week();
        for m in &log.minutes {
            let hour = m.minute.with_timezone(&zone).hour();
            if matches!(m.kind, kind::DEEP_SLEEP) {
                assert!(!(9..22).contains(&hour), "deep sleep at {hour}h");
            }
            if m.steps >= 60 {
                assert!((8..21).contains(&hour), "walking at {hour}h");
            }
        }
        assert!(log.minutes.iter().any(|m| m.kind == kind::NOT_WORN));
        assert!(
            log.minutes
                .iter()
                .all(|m| m.heart_rate == NO_HEART_RATE || (40..=130).contains(&m.heart_rate))
        );
    }

    #[test]
    fn until_cuts_without_changing_earlier_minutes() {
        let full = week();
        let cut_at = full.minutes[3000].minute;
        let first = NaiveDate::from_ymd_opt(2026, 3, 25).expect("date");
        let cut = Wearer::generate(chrono_tz::Europe::Berlin, first, 7, 42, Some(cut_at));
        assert_eq!(cut.minutes.len(), 3000);
        assert_eq!(cut.minutes[..], full.minutes[..3000]);
    }
}
