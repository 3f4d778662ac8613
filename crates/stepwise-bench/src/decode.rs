//! `decode`: how fast `stepwise-wearables` turns band bytes into minute records and sleep
//! episodes, without Bluetooth: synthetic 7- and 30-day Huami streams driven through
//! `huami::Sync` (authentication, day-long fetch rounds, counters, records, `sleep_episodes`),
//! InfiniTime step counts through a `StepCounter` (observations/s), and PAMS sessions through
//! `pams::Sync` (segmented step summaries/s). Every input is built before the clock starts;
//! each figure is the median of a few repetitions on one core.

use std::time::Instant;

use anyhow::{Context, bail};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use stepwise_wearables::Protocol;
use stepwise_wearables::huami::{self, Model};
use stepwise_wearables::infinitime::StepCounter;
use stepwise_wearables::pams::{self, SessionDescriptor, StepCounterSummary};
use stepwise_wearables::records::sleep_episodes;

/// Repetitions of each measurement; the median is printed.
const REPETITIONS: usize = 5;
/// Minutes per Huami fetch round (a band may answer part of the data per round).
const ROUND_MINUTES: usize = 1440;

pub fn decode() -> anyhow::Result<()> {
    println!("decode: wearable bytes to minute records, median of {REPETITIONS} runs, one core");
    let start = Utc
        .with_ymd_and_hms(2026, 10, 1, 0, 0, 0)
        .single()
        .context("start")?;
    for (days, model) in [
        (7, Model::MiBand3),
        (30, Model::MiBand3),
        (30, Model::MiBand5),
    ] {
        let band = HuamiStream::new(model, start, days);
        let (rate, episodes) = median_rate(band.minutes, || band.sync())?;
        line(
            &format!("huami {days} days, {}-byte records", model.record_size()),
            rate,
            "records/s",
            &format!(
                "{} minutes, {} notifications, {episodes} sleep episodes",
                band.minutes, band.notifications
            ),
        );
    }
    let observations = infinitime_observations(start, 7);
    let (rate, deltas) = median_rate(observations.len(), || {
        let mut counter = StepCounter::new(chrono_tz::Europe::Berlin, None);
        let mut deltas = 0;
        for &(count, at) in &observations {
            if let Some(delta) = counter.observe(count, at) {
                deltas += delta.minutes().len();
            }
        }
        Ok(deltas)
    })?;
    line(
        "infinitime step counts",
        rate,
        "observations/s",
        &format!(
            "{} observations over 7 days, {deltas} minutes with steps",
            observations.len()
        ),
    );
    let device = PamsDevice::new(start, 30);
    let (rate, minutes) = median_rate(device.summaries, || device.fetch())?;
    line(
        "pams step summaries",
        rate,
        "summaries/s",
        &format!(
            "{} one-minute summaries in 30 sessions, {minutes} minute records",
            device.summaries
        ),
    );
    Ok(())
}

fn line(label: &str, rate: f64, unit: &str, detail: &str) {
    println!("  {label:<32} {rate:>12.0} {unit:<15} ({detail})");
}

/// Runs `work` a few times; the median of `items` per second, and what the last run returned.
fn median_rate(
    items: usize,
    mut work: impl FnMut() -> anyhow::Result<usize>,
) -> anyhow::Result<(f64, usize)> {
    let mut rates = Vec::with_capacity(REPETITIONS);
    let mut out = 0;
    for _ in 0..REPETITIONS {
        let started = Instant::now();
        out = work()?;
        rates.push(items as f64 / started.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    Ok((rates[rates.len() / 2], out))
}

/// What a band would send for `days` of minutes: fetch answers and activity-data packets.
struct HuamiStream {
    model: Model,
    start: DateTime<Utc>,
    /// Per round: the fetch answer and the data notifications.
    rounds: Vec<(Vec<u8>, Vec<Vec<u8>>)>,
    minutes: usize,
    notifications: usize,
}

impl HuamiStream {
    fn new(model: Model, start: DateTime<Utc>, days: usize) -> HuamiStream {
        let minutes = days * 1440;
        let size = model.record_size();
        let bytes: Vec<u8> = (0..minutes).flat_map(|m| minute_record(m, size)).collect();
        let mut rounds = Vec::new();
        for (r, chunk) in bytes.chunks(ROUND_MINUTES * size).enumerate() {
            let round_start = start + TimeDelta::minutes((r * ROUND_MINUTES) as i64);
            let mut answer = vec![0x10, 0x01, 0x01];
            answer.extend_from_slice(&((chunk.len() / size) as u32).to_le_bytes());
            let request = huami::encode_fetch_start(round_start, chrono_tz::Europe::Berlin);
            answer.extend_from_slice(&request[2..8]);
            answer.push(0);
            answer.push(request[9]);
            let packets: Vec<Vec<u8>> = chunk
                // Whole records in 20-byte notifications (the default MTU 23).
                .chunks(16)
                .enumerate()
                .map(|(i, payload)| {
                    let mut packet = vec![i as u8];
                    packet.extend_from_slice(payload);
                    packet
                })
                .collect();
            rounds.push((answer, packets));
        }
        let notifications = rounds.iter().map(|(_, p)| p.len()).sum();
        HuamiStream {
            model,
            start,
            rounds,
            minutes,
            notifications,
        }
    }

    /// One whole sync; returns the number of sleep episodes.
    fn sync(&self) -> anyhow::Result<usize> {
        let config = huami::Config::new(self.model, [7; 16], self.start, chrono_tz::Europe::Berlin);
        let mut sync = huami::Sync::new(config);
        let (crypt, _) = self.model.auth_flags();
        let mut challenge = vec![0x10, crypt | 0x02, 0x01];
        challenge.extend_from_slice(&[3; 16]);
        sync.handle_notification(huami::AUTH, &challenge)?;
        sync.handle_notification(huami::AUTH, &[0x10, crypt | 0x03, 0x01])?;
        let mut records = Vec::with_capacity(self.minutes);
        let mut drain = |sync: &mut huami::Sync| {
            while sync.poll_request().is_some() {}
            while let Some(event) = sync.poll_event() {
                if let huami::Event::Batch { records: batch, .. } = event {
                    records.extend(batch);
                }
            }
        };
        for (answer, packets) in &self.rounds {
            sync.handle_notification(huami::FETCH_CONTROL, answer)?;
            for packet in packets {
                sync.handle_notification(huami::ACTIVITY_DATA, packet)?;
            }
            sync.handle_notification(huami::FETCH_CONTROL, &[0x10, 0x02, 0x01])?;
            drain(&mut sync);
        }
        let mut caught_up = vec![0x10, 0x01, 0x01, 0, 0, 0, 0];
        caught_up.extend_from_slice(&[0xea, 0x07, 11, 1, 0, 0, 0, 4]);
        sync.handle_notification(huami::FETCH_CONTROL, &caught_up)?;
        drain(&mut sync);
        if !sync.is_finished() || records.len() != self.minutes {
            bail!(
                "huami sync gave {} of {} minutes",
                records.len(),
                self.minutes
            );
        }
        Ok(sleep_episodes(&records).len())
    }
}

/// Minute `m` of a plausible day: asleep 23:00–07:00 (light, deep, REM, a few awake minutes),
/// walks at 09:00 and 18:00, light activity otherwise.
fn minute_record(m: usize, size: usize) -> Vec<u8> {
    let of_day = m % 1440;
    let (kind, steps, hr, rem) = match of_day {
        0..=419 | 1380..=1439 => match of_day % 90 {
            0..=2 => (12, 0, 62, 0),
            3..=40 => (9, 0, 55, 0),
            41..=70 => (11, 0, 50, 0),
            _ => (9, 0, 54, 1),
        },
        540..=570 | 1080..=1110 => (1, 95 + (m % 7) as u8, 105, 0),
        _ => (1, ((m * 13) % 40) as u8, 75, 0),
    };
    let mut record = vec![kind, 20, steps, hr];
    if size == 8 {
        record.extend_from_slice(&[0, u8::from(kind == 9 || kind == 11), 0, rem]);
    }
    record
}

/// Step counts read every 10 s over `days` days: rising through each day, back to 0 at
/// local midnight.
fn infinitime_observations(start: DateTime<Utc>, days: i64) -> Vec<(u32, DateTime<Utc>)> {
    let zone = chrono_tz::Europe::Berlin;
    let mut out = Vec::new();
    let mut count = 0u32;
    let mut day = None;
    for i in 0..days * 8640 {
        let at = start + TimeDelta::seconds(10 * i);
        let local_day = at.with_timezone(&zone).date_naive();
        if day != Some(local_day) {
            day = Some(local_day);
            count = 0;
        }
        count += ((i * 7) % 23) as u32 / 10;
        out.push((count, at));
    }
    out
}

/// A PAMS device with one ended session a day, each a day of one-minute step summaries.
struct PamsDevice {
    start: DateTime<Utc>,
    descriptors: Vec<Vec<u8>>,
    /// Per session: the segmented summaries and the final control point response.
    sessions: Vec<(Vec<Vec<u8>>, Vec<u8>)>,
    summaries: usize,
}

impl PamsDevice {
    fn new(start: DateTime<Utc>, days: u16) -> PamsDevice {
        let mut descriptors = Vec::new();
        let mut sessions = Vec::new();
        let mut summaries = 0;
        for d in 0..days {
            let session_start = start + TimeDelta::days(i64::from(d));
            descriptors.push(pams::encode_session_descriptor(&SessionDescriptor {
                session_id: d + 1,
                sub_session_id: None,
                start: session_start,
                start_offset_min: 60,
                end: Some((session_start + TimeDelta::days(1), 60)),
                deleted: false,
            }));
            let segments: Vec<Vec<u8>> = (0..1440u32)
                .flat_map(|m| {
                    let summary = StepCounterSummary {
                        session_id: d + 1,
                        sub_session_id: 1,
                        relative_time_s: 60 * (m + 1),
                        sequence: m,
                        normal_walking_steps: Some((m * 13) % 40),
                        intensity_steps: Some(m % 3),
                        floor_steps: None,
                        distance_dm: Some(m),
                        worn_duration_s: Some(60),
                    };
                    pams::segment(&pams::encode_step_counter_summary(&summary), 19)
                })
                .collect();
            let mut done = vec![0xfa];
            done.extend_from_slice(&1440u32.to_le_bytes());
            sessions.push((segments, done));
            summaries += 1440;
        }
        PamsDevice {
            start,
            descriptors,
            sessions,
            summaries,
        }
    }

    /// One whole fetch; returns the number of minute records.
    fn fetch(&self) -> anyhow::Result<usize> {
        let mut sync = pams::Sync::new(self.start);
        sync.handle_read(pams::FEATURES, &[0, 0, 0, 0])?;
        for descriptor in &self.descriptors {
            sync.handle_notification(pams::SESSION_DESCRIPTOR, descriptor)?;
        }
        let count = (self.descriptors.len() as u16).to_le_bytes();
        sync.handle_notification(pams::CONTROL_POINT, &[0xfc, count[0], count[1]])?;
        let mut minutes = 0;
        for (segments, done) in &self.sessions {
            for segment in segments {
                sync.handle_notification(pams::STEP_COUNTER_SUMMARY, segment)?;
            }
            sync.handle_notification(pams::CONTROL_POINT, done)?;
            while sync.poll_request().is_some() {}
            while let Some(event) = sync.poll_event() {
                if let pams::Event::Session { records, .. } = event {
                    minutes += records.len();
                }
            }
        }
        if !sync.is_finished() || minutes != self.summaries {
            bail!("pams fetch gave {minutes} of {} minutes", self.summaries);
        }
        Ok(minutes)
    }
}
