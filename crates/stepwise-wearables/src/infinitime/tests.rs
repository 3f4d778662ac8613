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
