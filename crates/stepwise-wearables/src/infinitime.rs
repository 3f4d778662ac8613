//! PineTime watches running InfiniTime: today's running step count turned into step deltas,
//! and the watch's clock.
//!
//! InfiniTime keeps no step history reachable over Bluetooth and no sleep data: only today's
//! count, which resets to 0 at local midnight and on every reboot. A collector that stays
//! connected (or reads now and then) feeds each count it sees to a [`StepCounter`], which
//! turns count changes into [`StepDelta`]s without inventing or losing steps.
//!
//! # Wire layout
//!
//! - Motion service [`MOTION_SERVICE`], step count [`STEP_COUNT`]: READ and NOTIFY, exactly
//!   4 bytes, u32 little-endian, today's steps. (The raw-motion characteristic beside it is
//!   never subscribed: it keeps the accelerometer awake and drains the battery.)
//! - Current Time service [`CURRENT_TIME_SERVICE`], [`CURRENT_TIME`]: 10 bytes, year u16 LE,
//!   month, day, hours, minutes, seconds, day of week (1 = Monday … 7 = Sunday, 0 = unknown),
//!   fractions of a second in 1/256, adjust reason (bit 0: set manually). Written to set the
//!   watch's clock to local time; the watch has no notion of time zones.

use chrono::{
    DateTime, Datelike, Days, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;
use uuid::Uuid;

pub use crate::records::MAX_SPREAD_MINUTES;
use crate::records::{MAX_STEPS_PER_MINUTE, spread_steps};
use crate::{DecodeError, gatt};

/// InfiniTime's Motion service.
pub const MOTION_SERVICE: Uuid = gatt::INFINITIME_MOTION_SERVICE;
/// Today's step count (READ + NOTIFY, u32 LE).
pub const STEP_COUNT: Uuid = gatt::INFINITIME_STEP_COUNT;
/// Current Time Service (0x1805).
pub const CURRENT_TIME_SERVICE: Uuid = gatt::CURRENT_TIME_SERVICE;
/// Current Time (0x2A2B).
pub const CURRENT_TIME: Uuid = gatt::CURRENT_TIME;

/// Decodes a step count value: exactly 4 bytes, u32 little-endian.
pub fn decode_step_count(value: &[u8]) -> Result<u32, DecodeError> {
    DecodeError::check_len("InfiniTime step count", value, 4)?;
    let mut r = crate::bytes::Reader::new("InfiniTime step count", value);
    r.u32()
}

/// The Current Time value that sets the watch's clock to `local`: year u16, month, day, hour,
/// minute, second, weekday (1 = Monday … 7 = Sunday), fractions256 = 0, adjust reason = 1
/// (manual). A year outside 0–65535 is written as 0 ("unknown").
pub fn encode_current_time(local: NaiveDateTime) -> [u8; 10] {
    let year = u16::try_from(local.year()).unwrap_or(0);
    let [y0, y1] = year.to_le_bytes();
    let byte = |v: u32| u8::try_from(v).unwrap_or(0);
    [
        y0,
        y1,
        byte(local.month()),
        byte(local.day()),
        byte(local.hour()),
        byte(local.minute()),
        byte(local.second().min(59)),
        byte(local.weekday().number_from_monday()),
        0,
        1,
    ]
}

/// Decodes a Current Time value (exactly 10 bytes) into the watch's local date and time.
/// The day of week must be 0 (unknown) to 7; it is not compared with the date. Fractions and
/// the adjust reason are ignored.
pub fn decode_current_time(value: &[u8]) -> Result<NaiveDateTime, DecodeError> {
    const WHAT: &str = "current time";
    DecodeError::check_len(WHAT, value, 10)?;
    let mut r = crate::bytes::Reader::new(WHAT, value);
    let year = r.u16()?;
    let [
        month,
        day,
        hour,
        minute,
        second,
        weekday,
        _fractions,
        _reason,
    ] = r.array()?;
    if year == 0 {
        return Err(DecodeError::invalid(WHAT, "the year is 0 (unknown)"));
    }
    if weekday > 7 {
        return Err(DecodeError::invalid(
            WHAT,
            format!("day of week {weekday} is not 0–7"),
        ));
    }
    NaiveDate::from_ymd_opt(i32::from(year), u32::from(month), u32::from(day))
        .and_then(|d| d.and_hms_opt(u32::from(hour), u32::from(minute), u32::from(second)))
        .ok_or_else(|| {
            DecodeError::invalid(
                WHAT,
                format!(
                    "{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02} is not a valid date and time"
                ),
            )
        })
}

/// The most steps anyone can take from `since` to `at`: [`MAX_STEPS_PER_MINUTE`] for every
/// started minute (at least one).
fn walkable(since: DateTime<Utc>, at: DateTime<Utc>) -> u32 {
    let seconds = u64::try_from((at - since).num_seconds()).unwrap_or(0);
    let steps = seconds
        .div_ceil(60)
        .max(1)
        .saturating_mul(u64::from(MAX_STEPS_PER_MINUTE));
    u32::try_from(steps).unwrap_or(u32::MAX)
}

/// A step count seen at an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observation {
    /// Today's count on the watch.
    pub count: u32,
    /// When it was seen.
    pub at: DateTime<Utc>,
}

impl Observation {
    /// As a sync position: `count@unix-seconds`.
    pub fn position(&self) -> crate::position::Position {
        crate::position::Position(format!("{}@{}", self.count, self.at.timestamp()))
    }

    /// The observation a position made by [`Observation::position`] holds; `None` for any
    /// other text.
    pub fn from_position(position: &crate::position::Position) -> Option<Observation> {
        let (count, at) = position.0.split_once('@')?;
        Some(Observation {
            count: count.parse().ok()?,
            at: DateTime::from_timestamp(at.parse().ok()?, 0)?,
        })
    }
}

/// Why a delta is what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeltaKind {
    /// The count went up on the same local day (or across midnight, before the watch reset).
    Counted,
    /// A later local day: the watch reset at midnight; the count is the steps since then.
    AfterMidnightReset,
    /// The count went down on the same day: the watch rebooted; the count is the steps since.
    AfterReboot,
}

/// Steps taken between two observations (or since midnight or a reboot).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepDelta {
    /// The earliest instant the steps can have been taken.
    pub since: DateTime<Utc>,
    /// When they had been counted.
    pub until: DateTime<Utc>,
    /// How many.
    pub steps: u32,
    /// Why.
    pub kind: DeltaKind,
}

impl StepDelta {
    /// The steps spread evenly over the whole minutes of (since, until] (remainder to the last
    /// minutes), all in until's minute when both fall in one minute; sums to `steps`.
    ///
    /// The minutes run from the one holding `since` to the one holding `until`, except that an
    /// `until` exactly on a minute boundary closes the span at the minute before it (10:00:00
    /// to 10:05:00 is the five minutes 10:00–10:04). Minutes whose share is 0 are left out
    /// (nothing is known about them). A span longer than [`MAX_SPREAD_MINUTES`] is cut to its
    /// last week. (A [`StepCounter`] never makes a delta longer than a local day.)
    pub fn minutes(&self) -> Vec<(DateTime<Utc>, u32)> {
        if self.steps == 0 {
            return Vec::new();
        }
        let mut minutes = spread_steps(self.since, self.until, self.steps);
        minutes.retain(|&(_, steps)| steps > 0);
        minutes
    }
}

/// Turns today's running count into deltas. The watch resets the count to 0 at local midnight
/// (in `zone`) and on reboot. Rules: first observation ever → baseline, no delta (when those
/// steps happened is unknown: none are invented); same local date and count ≥ last → delta
/// count − last (0 → None); a later local date → AfterMidnightReset, delta = count (steps since
/// midnight), unless the watch has not reset yet (see below); same date and count < last →
/// AfterReboot, delta = count; an observation earlier than the last (clock skew) → ignored,
/// None.
///
/// The watch resets at its own midnight, or (before InfiniTime 1.16) only on its next motion,
/// hours later. A count on the next local date that did not go down is therefore taken as the
/// old day's count still running (Counted, delta count − last); its reset, seen later, is a
/// lower count on the same day (AfterReboot).
///
/// A reboot's steps are spread from the last observation, but never before that day's local
/// midnight (the count restarts daily, so they were taken today).
///
/// A count that would add more steps than [`MAX_STEPS_PER_MINUTE`] allows in the time they
/// span is a corrupt reading: it is ignored and the last good count stays the baseline.
#[derive(Clone, Debug)]
pub struct StepCounter {
    zone: Tz,
    last: Option<Observation>,
}

impl StepCounter {
    /// A counter for a watch in `zone`, continuing from `last` (stored from an earlier run).
    pub fn new(zone: Tz, last: Option<Observation>) -> Self {
        StepCounter { zone, last }
    }

    /// Feeds one observed count; returns the steps it adds, if any.
    pub fn observe(&mut self, count: u32, at: DateTime<Utc>) -> Option<StepDelta> {
        let Some(last) = self.last else {
            self.last = Some(Observation { count, at });
            return None;
        };
        if at < last.at {
            return None;
        }
        let day = at.with_timezone(&self.zone).date_naive();
        let last_day = last.at.with_timezone(&self.zone).date_naive();
        let midnight = self.start_of_day(day);
        let reset = day > last_day && !self.not_reset_yet(last, count, day);
        let (since, steps, kind) = if reset {
            let since = midnight.map_or(last.at, |m| m.max(last.at));
            (since, count, DeltaKind::AfterMidnightReset)
        } else if count >= last.count {
            (last.at, count - last.count, DeltaKind::Counted)
        } else {
            let since = midnight.map_or(last.at, |m| m.max(last.at));
            (since, count, DeltaKind::AfterReboot)
        };
        if steps > walkable(since, at) {
            // More than anyone can walk in that time: a corrupt reading (a watch once reported
            // 536,876,864, InfiniTime issue #1789). Ignored; the last good count stays.
            return None;
        }
        self.last = Some(Observation { count, at });
        (steps > 0).then_some(StepDelta {
            since,
            until: at,
            steps,
            kind,
        })
    }

    /// Whether a count seen on a later local day than `last` is still the old day's count:
    /// whenever it did not go down. A watch may keep the old day's count for hours after
    /// midnight (InfiniTime before 1.16 reset it only on its next motion: issue #1270 shows
    /// the previous day's 13,660 until 09:29), and taking it for the new day's count would
    /// count the old day's steps again. A real reset followed by more steps than the old
    /// day's last count, all before the first reading of the day, is then undercounted: only
    /// the difference is recorded. Steps are never invented.
    /// Only the day right after `last` is read so: days later the watch has surely moved.
    fn not_reset_yet(&self, last: Observation, count: u32, day: NaiveDate) -> bool {
        let last_day = last.at.with_timezone(&self.zone).date_naive();
        count >= last.count && last_day.succ_opt() == Some(day)
    }

    /// The last observation taken into account (store it to continue later).
    pub fn last(&self) -> Option<Observation> {
        self.last
    }

    /// The first instant of local date `day` (the earliest, when midnight is repeated; the
    /// first existing minute, when a DST jump skips midnight).
    fn start_of_day(&self, day: NaiveDate) -> Option<DateTime<Utc>> {
        let midnight = day.and_hms_opt(0, 0, 0)?;
        (0..=180)
            .step_by(15)
            .find_map(|m| {
                let local = midnight.checked_add_signed(TimeDelta::minutes(m))?;
                self.zone.from_local_datetime(&local).earliest()
            })
            .map(|t| t.with_timezone(&Utc))
            .or_else(|| {
                // Only for dates at the ends of chrono's range.
                let next = day.checked_add_days(Days::new(1))?;
                self.zone
                    .from_local_datetime(&next.and_hms_opt(0, 0, 0)?)
                    .earliest()
                    .map(|t| t.with_timezone(&Utc))
            })
    }
}

/// What a [`Sync`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The count was read: the steps it adds (none for a first reading, a corrupt one or an
    /// unchanged count) and the observation to continue from. Add the steps to their minutes
    /// and store the position in one transaction.
    Steps {
        /// Steps per minute, oldest first.
        minutes: Vec<(DateTime<Utc>, u32)>,
        /// The steps were spread over several minutes: estimates, not seen in each minute.
        estimated: bool,
        /// Where the next reading continues from ([`Observation::position`]).
        position: crate::position::Position,
    },
}

/// One sync of an InfiniTime watch, sans IO: set its clock to local time, read today's
/// count, turn it into steps with a [`StepCounter`] continuing from the last observation.
#[derive(Debug)]
pub struct Sync {
    counter: StepCounter,
    now: DateTime<Utc>,
    requests: std::collections::VecDeque<crate::Request>,
    events: std::collections::VecDeque<Event>,
    finished: bool,
}

impl Sync {
    /// A sync at `now` of a watch in `zone`, continuing from `last` (none: this reading is
    /// the baseline). Its two requests (the clock write, the count read) are ready at once.
    pub fn new(zone: Tz, last: Option<Observation>, now: DateTime<Utc>) -> Self {
        let local = now.with_timezone(&zone).naive_local();
        let requests = [
            crate::Request::Write {
                service: CURRENT_TIME_SERVICE,
                characteristic: CURRENT_TIME,
                value: encode_current_time(local).to_vec(),
                with_response: true,
            },
            crate::Request::Read {
                service: MOTION_SERVICE,
                characteristic: STEP_COUNT,
            },
        ];
        Sync {
            counter: StepCounter::new(zone, last),
            now,
            requests: requests.into(),
            events: Default::default(),
            finished: false,
        }
    }

    /// Feeds one count seen at `now`: the event it gives. Used for the read and for every
    /// notification of a watch that stays connected.
    pub fn observe(&mut self, count: u32, now: DateTime<Utc>) -> Event {
        let minutes = self
            .counter
            .observe(count, now)
            .map(|delta| delta.minutes())
            .unwrap_or_default();
        let last = self
            .counter
            .last()
            .unwrap_or(Observation { count, at: now });
        Event::Steps {
            // Steps spread over several minutes were seen somewhere in the span, not in each.
            estimated: minutes.len() > 1,
            minutes,
            position: last.position(),
        }
    }
}

impl crate::Protocol for Sync {
    type Event = Event;
    type Error = DecodeError;

    fn poll_request(&mut self) -> Option<crate::Request> {
        self.requests.pop_front()
    }

    /// Notifications are not asked for: ignored.
    fn handle_notification(&mut self, _: Uuid, _: &[u8]) -> Result<(), DecodeError> {
        Ok(())
    }

    fn handle_read(&mut self, characteristic: Uuid, value: &[u8]) -> Result<(), DecodeError> {
        if characteristic != STEP_COUNT || self.finished {
            return Ok(());
        }
        self.finished = true;
        let count = decode_step_count(value)?;
        let event = self.observe(count, self.now);
        self.events.push_back(event);
        Ok(())
    }

    fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn is_finished(&self) -> bool {
        self.finished && self.events.is_empty()
    }
}

#[cfg(test)]
mod tests;
