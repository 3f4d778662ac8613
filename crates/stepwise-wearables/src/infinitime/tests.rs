//! InfiniTime: byte layouts and the step counter's rules.

use chrono_tz::Europe::Berlin;

use super::*;

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

#[test]
fn step_count_is_exactly_four_bytes() {
    assert_eq!(decode_step_count(&[0x10, 0x27, 0, 0]), Ok(10_000));
    assert_eq!(decode_step_count(&[0xff; 4]), Ok(u32::MAX));
    assert_eq!(
        decode_step_count(&[1, 2, 3]),
        Err(DecodeError::Truncated {
            what: "InfiniTime step count",
            expected: 4,
            got: 3
        })
    );
    assert!(matches!(
        decode_step_count(&[1, 2, 3, 4, 5]),
        Err(DecodeError::TooLong { .. })
    ));
}

#[test]
fn current_time_round_trips() {
    // Sunday 25 October 2026, 02:30:15.
    let local = NaiveDate::from_ymd_opt(2026, 10, 25)
        .unwrap()
        .and_hms_opt(2, 30, 15)
        .unwrap();
    let bytes = encode_current_time(local);
    assert_eq!(bytes, [0xea, 0x07, 10, 25, 2, 30, 15, 7, 0, 1]);
    assert_eq!(decode_current_time(&bytes), Ok(local));
    let monday = NaiveDate::from_ymd_opt(2026, 11, 23)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    assert_eq!(encode_current_time(monday)[7], 1);
}

#[test]
fn malformed_current_time_is_an_error() {
    let good = [0xea, 0x07, 10, 25, 2, 30, 15, 7, 0, 1];
    assert!(matches!(
        decode_current_time(&good[..9]),
        Err(DecodeError::Truncated { .. })
    ));
    for (index, value, message) in [
        (2, 13, "not a valid date"),
        (3, 32, "not a valid date"),
        (4, 24, "not a valid date"),
        (6, 60, "not a valid date"),
        (7, 8, "day of week 8"),
    ] {
        let mut bad = good;
        bad[index] = value;
        let err = decode_current_time(&bad).unwrap_err().to_string();
        assert!(err.contains(message), "{err}");
    }
    let err = decode_current_time(&[0, 0, 1, 1, 0, 0, 0, 0, 0, 0]).unwrap_err();
    assert!(err.to_string().contains("year is 0"));
}

#[test]
fn the_first_observation_is_only_a_baseline() {
    let mut counter = StepCounter::new(Berlin, None);
    assert_eq!(counter.observe(5000, utc(2026, 11, 20, 12, 0, 0)), None);
    assert_eq!(
        counter.last(),
        Some(Observation {
            count: 5000,
            at: utc(2026, 11, 20, 12, 0, 0)
        })
    );
}

#[test]
fn counts_on_the_same_day_give_differences() {
    let start = Observation {
        count: 100,
        at: utc(2026, 11, 20, 9, 0, 0),
    };
    let mut counter = StepCounter::new(Berlin, Some(start));
    let at = utc(2026, 11, 20, 9, 5, 0);
    assert_eq!(
        counter.observe(160, at),
        Some(StepDelta {
            since: start.at,
            until: at,
            steps: 60,
            kind: DeltaKind::Counted
        })
    );
    // No change: no delta, but the last observation moves on.
    let later = utc(2026, 11, 20, 9, 10, 0);
    assert_eq!(counter.observe(160, later), None);
    assert_eq!(counter.last().map(|o| o.at), Some(later));
}

#[test]
fn a_later_local_date_is_a_midnight_reset() {
    // 22:50 UTC is 23:50 in Berlin; 23:10 UTC is 00:10 the next day.
    let mut counter = StepCounter::new(
        Berlin,
        Some(Observation {
            count: 9000,
            at: utc(2026, 11, 20, 22, 50, 0),
        }),
    );
    let at = utc(2026, 11, 20, 23, 10, 0);
    assert_eq!(
        counter.observe(40, at),
        Some(StepDelta {
            since: utc(2026, 11, 20, 23, 0, 0), // local midnight
            until: at,
            steps: 40,
            kind: DeltaKind::AfterMidnightReset
        })
    );
    // Days later: the steps since that day's midnight.
    let at = utc(2026, 11, 23, 8, 0, 0);
    assert_eq!(
        counter.observe(700, at).map(|d| (d.since, d.kind)),
        Some((utc(2026, 11, 22, 23, 0, 0), DeltaKind::AfterMidnightReset))
    );
    // A reset seen with 0 steps yet: nothing to report.
    let mut counter = StepCounter::new(
        Berlin,
        Some(Observation {
            count: 9000,
            at: utc(2026, 11, 20, 22, 50, 0),
        }),
    );
    assert_eq!(counter.observe(0, utc(2026, 11, 20, 23, 0, 30)), None);
    assert_eq!(counter.last().map(|o| o.count), Some(0));
}

#[test]
fn a_count_read_just_after_our_midnight_before_the_watch_reset_counts_nothing_twice() {
    // Berlin's midnight is 23:00 UTC. The watch's clock is a few seconds behind ours: just
    // after our midnight it still shows yesterday's 5250.
    let mut counter = StepCounter::new(
        Berlin,
        Some(Observation {
            count: 5250,
            at: utc(2026, 11, 19, 22, 59, 50),
        }),
    );
    assert_eq!(counter.observe(5250, utc(2026, 11, 19, 23, 0, 5)), None);
    assert_eq!(
        counter.observe(5260, utc(2026, 11, 19, 23, 0, 8)),
        Some(StepDelta {
            since: utc(2026, 11, 19, 23, 0, 5),
            until: utc(2026, 11, 19, 23, 0, 8),
            steps: 10,
            kind: DeltaKind::Counted
        })
    );
    // Then the watch's midnight: its reset looks like a reboot; the steps after it count.
    assert_eq!(counter.observe(0, utc(2026, 11, 19, 23, 0, 12)), None);
    assert_eq!(
        counter
            .observe(80, utc(2026, 11, 19, 23, 0, 40))
            .map(|d| (d.steps, d.kind)),
        Some((80, DeltaKind::Counted))
    );
}

#[test]
fn a_watch_that_reset_a_little_early_is_not_counted_twice() {
    // The watch's clock is ahead: it reset at 23:59:30 our time, seen as a reboot, and had
    // counted 10 steps by our midnight; at 00:00:30 it shows 25.
    let mut counter = StepCounter::new(
        Berlin,
        Some(Observation {
            count: 10,
            at: utc(2026, 11, 19, 22, 59, 55),
        }),
    );
    assert_eq!(
        counter
            .observe(25, utc(2026, 11, 19, 23, 0, 30))
            .map(|d| (d.steps, d.kind)),
        Some((15, DeltaKind::Counted))
    );
}

#[test]
fn more_steps_than_anyone_walks_since_midnight_are_the_old_days() {
    // Last seen an hour before midnight; ten minutes after it the watch still shows the old
    // day's count plus a few: 9000 steps cannot have been walked in ten minutes.
    let mut counter = StepCounter::new(
        Berlin,
        Some(Observation {
            count: 8990,
            at: utc(2026, 11, 19, 22, 0, 0),
        }),
    );
    assert_eq!(
        counter
            .observe(9000, utc(2026, 11, 19, 23, 10, 0))
            .map(|d| (d.steps, d.kind)),
        Some((10, DeltaKind::Counted))
    );
    // The same count in the next afternoon may still be the old day's (a watch that has not
    // reset yet): only the difference is counted, never the old day's steps again.
    let mut counter = StepCounter::new(
        Berlin,
        Some(Observation {
            count: 8990,
            at: utc(2026, 11, 19, 22, 0, 0),
        }),
    );
    assert_eq!(
        counter
            .observe(9000, utc(2026, 11, 20, 15, 0, 0))
            .map(|d| (d.steps, d.kind)),
        Some((10, DeltaKind::Counted))
    );
}

#[test]
fn a_lower_count_on_the_same_day_is_a_reboot() {
    let last = Observation {
        count: 4000,
        at: utc(2026, 11, 20, 10, 0, 0),
    };
    let mut counter = StepCounter::new(Berlin, Some(last));
    let at = utc(2026, 11, 20, 10, 30, 0);
    assert_eq!(
        counter.observe(120, at),
        Some(StepDelta {
            since: last.at,
            until: at,
            steps: 120,
            kind: DeltaKind::AfterReboot
        })
    );
    // After the reboot counting goes on from the new count.
    assert_eq!(
        counter
            .observe(150, utc(2026, 11, 20, 10, 31, 0))
            .map(|d| (d.steps, d.kind)),
        Some((30, DeltaKind::Counted))
    );
}

#[test]
fn an_observation_from_before_the_last_is_ignored() {
    let last = Observation {
        count: 4000,
        at: utc(2026, 11, 20, 10, 0, 0),
    };
    let mut counter = StepCounter::new(Berlin, Some(last));
    assert_eq!(counter.observe(4100, utc(2026, 11, 20, 9, 59, 0)), None);
    assert_eq!(counter.observe(3000, utc(2026, 11, 19, 10, 0, 0)), None);
    assert_eq!(counter.last(), Some(last));
    assert_eq!(
        counter
            .observe(4010, utc(2026, 11, 20, 10, 1, 0))
            .map(|d| d.steps),
        Some(10)
    );
}

#[test]
fn midnight_follows_summer_time() {
    // In summer Berlin's midnight is 22:00 UTC.
    let mut counter = StepCounter::new(
        Berlin,
        Some(Observation {
            count: 10,
            at: utc(2026, 7, 1, 21, 0, 0),
        }),
    );
    assert_eq!(
        counter
            .observe(5, utc(2026, 7, 1, 22, 30, 0))
            .map(|d| (d.since, d.kind)),
        Some((utc(2026, 7, 1, 22, 0, 0), DeltaKind::AfterMidnightReset))
    );
}

#[test]
fn minutes_spread_evenly_with_the_remainder_last() {
    let delta = StepDelta {
        since: utc(2026, 11, 20, 10, 0, 0),
        until: utc(2026, 11, 20, 10, 5, 0),
        steps: 52,
        kind: DeltaKind::Counted,
    };
    let m = |min| utc(2026, 11, 20, 10, min, 0);
    assert_eq!(
        delta.minutes(),
        [(m(0), 10), (m(1), 10), (m(2), 10), (m(3), 11), (m(4), 11)]
    );
    // Within one minute: all in until's minute.
    let delta = StepDelta {
        since: utc(2026, 11, 20, 10, 3, 5),
        until: utc(2026, 11, 20, 10, 3, 50),
        steps: 7,
        kind: DeltaKind::Counted,
    };
    assert_eq!(delta.minutes(), [(m(3), 7)]);
    // Partial minutes at both ends count as minutes; fewer steps than minutes.
    let delta = StepDelta {
        since: utc(2026, 11, 20, 10, 0, 30),
        until: utc(2026, 11, 20, 10, 4, 10),
        steps: 3,
        kind: DeltaKind::AfterReboot,
    };
    assert_eq!(delta.minutes(), [(m(2), 1), (m(3), 1), (m(4), 1)]);
    assert_eq!(delta.minutes().iter().map(|(_, s)| s).sum::<u32>(), 3);
    let none = StepDelta { steps: 0, ..delta };
    assert!(none.minutes().is_empty());
    // Backwards or enormous spans never panic and still sum to the steps.
    let backwards = StepDelta {
        since: delta.until,
        until: delta.since,
        ..delta
    };
    assert_eq!(backwards.minutes(), [(m(0), 3)]);
    let huge = StepDelta {
        since: DateTime::<Utc>::MIN_UTC,
        until: DateTime::<Utc>::MAX_UTC,
        steps: u32::MAX,
        kind: DeltaKind::Counted,
    };
    let minutes = huge.minutes();
    assert_eq!(minutes.len(), MAX_SPREAD_MINUTES as usize);
    assert_eq!(
        minutes.iter().map(|&(_, s)| u64::from(s)).sum::<u64>(),
        u64::from(u32::MAX)
    );
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..16)) {
            let _ = decode_step_count(&bytes);
            let _ = decode_current_time(&bytes);
        }

        #[test]
        fn deltas_never_exceed_what_the_counts_allow(
            steps in proptest::collection::vec((0u32..20_000, 0i64..50_000), 1..50)
        ) {
            let t0 = utc(2026, 10, 24, 0, 0, 0);
            let mut counter = StepCounter::new(Berlin, None);
            for (count, second) in steps {
                let at = t0 + TimeDelta::seconds(second);
                if let Some(delta) = counter.observe(count, at) {
                    prop_assert!(delta.steps <= count);
                    prop_assert!(delta.since <= delta.until);
                    let spread: u64 = delta.minutes().iter().map(|&(_, s)| u64::from(s)).sum();
                    prop_assert_eq!(spread, u64::from(delta.steps));
                }
            }
        }
    }
}

#[test]
fn a_corrupt_reading_adds_nothing_and_the_last_good_count_stays() {
    // InfiniTime issue #1789: a watch reported 536,876,864 steps.
    let mut counter = StepCounter::new(
        Berlin,
        Some(Observation {
            count: 4000,
            at: utc(2026, 11, 20, 10, 0, 0),
        }),
    );
    assert_eq!(
        counter.observe(536_876_864, utc(2026, 11, 20, 11, 0, 0)),
        None
    );
    assert_eq!(
        counter.last(),
        Some(Observation {
            count: 4000,
            at: utc(2026, 11, 20, 10, 0, 0)
        })
    );
    // The next good count is a difference from the last good one.
    assert_eq!(
        counter
            .observe(4500, utc(2026, 11, 20, 12, 0, 0))
            .map(|d| (d.steps, d.kind)),
        Some((500, DeltaKind::Counted))
    );
}

#[test]
fn a_watch_still_showing_yesterdays_count_in_the_morning_counts_it_once() {
    // InfiniTime issue #1270: the previous day's 13,660 was still reported at 06:29 and until
    // 09:29, then 0, then the new day's steps.
    let mut counter = StepCounter::new(
        Berlin,
        Some(Observation {
            count: 13_500,
            at: utc(2026, 11, 19, 21, 0, 0),
        }),
    );
    let morning: Vec<Option<u32>> = [
        (13_660, utc(2026, 11, 20, 5, 29, 59)),
        (13_660, utc(2026, 11, 20, 7, 59, 59)),
        (0, utc(2026, 11, 20, 8, 29, 59)),
        (1_150, utc(2026, 11, 20, 15, 0, 0)),
    ]
    .into_iter()
    .map(|(count, at)| counter.observe(count, at).map(|d| d.steps))
    .collect();
    // 160 steps taken late yesterday (the count went up from 13,500), nothing twice, then the
    // new day's 1,150.
    assert_eq!(morning, [Some(160), None, None, Some(1_150)]);
}

#[test]
fn an_observation_round_trips_through_its_position() {
    let seen = Observation {
        count: 13_660,
        at: utc(2022, 12, 14, 6, 29, 59),
    };
    assert_eq!(Observation::from_position(&seen.position()), Some(seen));
    let other = crate::position::Position("1790000040".into());
    assert_eq!(Observation::from_position(&other), None);
}

#[test]
fn a_sync_sets_the_clock_reads_the_count_and_continues_from_the_last_observation() {
    use crate::{Protocol, Request};
    let last = Observation {
        count: 1_000,
        at: utc(2026, 3, 10, 8, 0, 0),
    };
    let now = utc(2026, 3, 10, 8, 2, 30);
    let mut sync = Sync::new(Berlin, Some(last), now);
    let Some(Request::Write {
        characteristic,
        value,
        with_response: true,
        ..
    }) = sync.poll_request()
    else {
        panic!("the clock is written first, with response")
    };
    assert_eq!(characteristic, CURRENT_TIME);
    // Local time: 09:02:30 in Berlin (UTC+1 in March before the switch).
    assert_eq!(
        decode_current_time(&value).unwrap(),
        NaiveDate::from_ymd_opt(2026, 3, 10)
            .unwrap()
            .and_hms_opt(9, 2, 30)
            .unwrap()
    );
    assert!(matches!(
        sync.poll_request(),
        Some(Request::Read { characteristic, .. }) if characteristic == STEP_COUNT
    ));
    assert_eq!(sync.poll_request(), None);
    assert!(!sync.is_finished());
    sync.handle_read(STEP_COUNT, &1_090u32.to_le_bytes())
        .unwrap();
    let Some(Event::Steps {
        minutes,
        estimated,
        position,
    }) = sync.poll_event()
    else {
        panic!("a count gives steps")
    };
    assert_eq!(minutes.iter().map(|m| m.1).sum::<u32>(), 90);
    assert!(estimated, "90 steps spread over three minutes");
    assert_eq!(
        Observation::from_position(&position),
        Some(Observation {
            count: 1_090,
            at: now
        })
    );
    assert!(sync.is_finished());
}

#[test]
fn a_sync_of_a_truncated_count_is_a_named_error() {
    use crate::Protocol;
    let mut sync = Sync::new(Berlin, None, utc(2026, 3, 10, 8, 0, 0));
    let err = sync.handle_read(STEP_COUNT, &[1, 2, 3]).unwrap_err();
    assert!(err.to_string().contains("step count"), "{err}");
    assert!(sync.is_finished());
    assert_eq!(sync.poll_event(), None);
}
