//! The PAMS fetch against a hand-driven device.

use chrono::{TimeDelta, TimeZone};

use super::*;
use crate::pams::{
    SessionDescriptor, encode_get_ended_session_data, encode_session_descriptor,
    encode_step_counter_summary, segment,
};

fn utc(d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, h, mi, s).unwrap()
}

fn requests(sync: &mut Sync) -> Vec<Request> {
    std::iter::from_fn(|| sync.poll_request()).collect()
}

fn events(sync: &mut Sync) -> Vec<Event> {
    std::iter::from_fn(|| sync.poll_event()).collect()
}

fn write(value: &[u8]) -> Request {
    Request::Write {
        service: SERVICE,
        characteristic: CONTROL_POINT,
        value: value.to_vec(),
        with_response: true,
    }
}

/// A fetch that has read the features and asked for the session list (checked).
fn listing(since: DateTime<Utc>) -> Sync {
    let mut sync = Sync::new(since);
    assert_eq!(
        requests(&mut sync),
        [Request::Read {
            service: SERVICE,
            characteristic: FEATURES
        }]
    );
    sync.handle_read(FEATURES, &[0x10, 0, 0, 0]).unwrap();
    assert_eq!(sync.features(), Some(0x10));
    let subscribe = |characteristic| Request::Subscribe {
        service: SERVICE,
        characteristic,
    };
    assert_eq!(
        requests(&mut sync),
        [
            subscribe(CONTROL_POINT),
            subscribe(SESSION_DESCRIPTOR),
            subscribe(STEP_COUNTER_SUMMARY),
            write(&[0x01]),
        ]
    );
    sync
}

fn session(id: u16, start: DateTime<Utc>, minutes: Option<i64>) -> SessionDescriptor {
    SessionDescriptor {
        session_id: id,
        sub_session_id: None,
        start,
        start_offset_min: 60,
        end: minutes.map(|m| (start + TimeDelta::minutes(m), 60)),
        deleted: false,
    }
}

fn list(sync: &mut Sync, descriptors: &[SessionDescriptor]) -> Result<(), Error> {
    for d in descriptors {
        sync.handle_notification(SESSION_DESCRIPTOR, &encode_session_descriptor(d))?;
    }
    let count = descriptors.len() as u16;
    let [c0, c1] = count.to_le_bytes();
    sync.handle_notification(CONTROL_POINT, &[0xfc, c0, c1])
}

/// One-minute summaries of `steps` (normal walking), sub-session 1, from sequence 0.
fn summaries(session: u16, steps: &[u32]) -> Vec<StepCounterSummary> {
    steps
        .iter()
        .enumerate()
        .map(|(i, &s)| StepCounterSummary {
            session_id: session,
            sub_session_id: 1,
            relative_time_s: 60 * (i as u32 + 1),
            sequence: i as u32,
            normal_walking_steps: Some(s),
            intensity_steps: None,
            floor_steps: None,
            distance_dm: Some(7 * s),
            worn_duration_s: Some(60),
        })
        .collect()
}

/// Indicates the records, segmented with 19-byte payloads, then `FA <count>`.
fn send(sync: &mut Sync, records: &[StepCounterSummary]) -> Result<(), Error> {
    for record in records {
        for s in segment(&encode_step_counter_summary(record), 19) {
            sync.handle_notification(STEP_COUNTER_SUMMARY, &s)?;
        }
    }
    let mut done = vec![0xfa];
    done.extend_from_slice(&(records.len() as u32).to_le_bytes());
    sync.handle_notification(CONTROL_POINT, &done)
}

fn info(d: &SessionDescriptor) -> SessionInfo {
    SessionInfo {
        session_id: d.session_id,
        start: d.start,
        ended: d.end.is_some(),
    }
}

#[test]
fn ended_sessions_since_the_cursor_are_fetched_oldest_first() {
    let since = utc(20, 0, 0, 0);
    let mut sync = listing(since);
    let old = session(1, utc(19, 9, 0, 0), Some(30));
    let later = session(3, utc(21, 9, 0, 0), Some(3));
    let first = session(2, utc(20, 9, 0, 0), Some(2));
    let running = session(4, utc(21, 18, 0, 0), None);
    let deleted = SessionDescriptor {
        deleted: true,
        ..session(5, utc(20, 12, 0, 0), Some(5))
    };
    let sub = SessionDescriptor {
        sub_session_id: Some(1),
        ..first
    };
    list(&mut sync, &[old, later, first, running, deleted, sub]).unwrap();
    assert_eq!(
        events(&mut sync),
        [Event::Sessions(vec![
            info(&old),
            info(&later),
            info(&first),
            info(&running)
        ])]
    );
    assert_eq!(
        requests(&mut sync),
        [write(&encode_get_ended_session_data(2))]
    );
    send(&mut sync, &summaries(2, &[30, 45])).unwrap();
    let minute = |m| MinuteRecord {
        minute: utc(20, 9, m, 0),
        steps: [30, 45][m as usize],
        heart_rate: None,
        activity: Activity::Walking,
    };
    assert_eq!(
        events(&mut sync),
        [Event::Session {
            info: info(&first),
            records: vec![minute(0), minute(1)]
        }]
    );
    assert_eq!(
        requests(&mut sync),
        [write(&[0x03, 3, 0, 0xff, 0xff, 0x04])]
    );
    send(&mut sync, &summaries(3, &[0, 12, 0])).unwrap();
    let events = events(&mut sync);
    let Event::Session { records, .. } = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(
        records
            .iter()
            .map(|r| (r.steps, r.activity))
            .collect::<Vec<_>>(),
        [
            (0, Activity::Other),
            (12, Activity::Walking),
            (0, Activity::Other)
        ]
    );
    // The later session started last: the next fetch starts a second after it.
    let Event::Session { info: last, .. } = &events[0] else {
        unreachable!()
    };
    assert_eq!(
        events[1],
        Event::Finished {
            sessions: 2,
            next_since: Some(last.start.max(info(&first).start) + chrono::TimeDelta::seconds(1))
        }
    );
    assert!(sync.is_finished());
    assert_eq!(requests(&mut sync), []);
}

#[test]
fn intervals_off_the_minute_grid_are_spread_over_their_minutes() {
    let start = utc(20, 9, 0, 30);
    let mut sync = listing(utc(20, 0, 0, 0));
    let d = session(7, start, Some(5));
    list(&mut sync, &[d]).unwrap();
    events(&mut sync);
    requests(&mut sync);
    // 09:00:30–09:02:30 with 10 steps (minutes 09:00, 09:01, 09:02), then 09:02:30–09:02:50
    // with 5 intensity and 1 floor step.
    let records = [
        StepCounterSummary {
            relative_time_s: 120,
            ..summaries(7, &[10])[0]
        },
        StepCounterSummary {
            relative_time_s: 140,
            sequence: 1,
            normal_walking_steps: None,
            intensity_steps: Some(5),
            floor_steps: Some(1),
            ..summaries(7, &[0])[0]
        },
    ];
    send(&mut sync, &records).unwrap();
    let events = events(&mut sync);
    let Event::Session { records, .. } = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(
        records
            .iter()
            .map(|r| (r.minute, r.steps))
            .collect::<Vec<_>>(),
        [
            (utc(20, 9, 0, 0), 3),
            (utc(20, 9, 1, 0), 3),
            (utc(20, 9, 2, 0), 4 + 6)
        ]
    );
}

#[test]
fn no_sessions_and_sessions_without_data() {
    let mut sync = listing(utc(20, 0, 0, 0));
    sync.handle_notification(CONTROL_POINT, &[0xff, 0x85])
        .unwrap();
    assert_eq!(
        events(&mut sync),
        [
            Event::Sessions(vec![]),
            Event::Finished {
                sessions: 0,
                next_since: None
            }
        ]
    );
    assert!(sync.is_finished());

    let mut sync = listing(utc(20, 0, 0, 0));
    let d_start = utc(20, 9, 0, 0);
    let d = session(1, d_start, Some(5));
    list(&mut sync, &[d]).unwrap();
    events(&mut sync);
    sync.handle_notification(CONTROL_POINT, &[0xfd, 0x84])
        .unwrap();
    assert_eq!(
        events(&mut sync),
        [
            Event::Session {
                info: info(&d),
                records: vec![]
            },
            Event::Finished {
                sessions: 1,
                next_since: Some(d_start + chrono::TimeDelta::seconds(1))
            }
        ]
    );
}

#[test]
fn control_point_errors_end_the_fetch() {
    let mut sync = listing(utc(20, 0, 0, 0));
    let err = sync
        .handle_notification(CONTROL_POINT, &[0xff, 0x90])
        .unwrap_err();
    assert_eq!(
        err,
        Error::ControlPoint {
            op: 1,
            result: 0x90
        }
    );
    assert!(sync.is_finished());

    let mut sync = listing(utc(20, 0, 0, 0));
    list(&mut sync, &[session(1, utc(20, 9, 0, 0), Some(5))]).unwrap();
    let err = sync
        .handle_notification(CONTROL_POINT, &[0xfd, 0x83])
        .unwrap_err();
    assert_eq!(
        err,
        Error::ControlPoint {
            op: 3,
            result: 0x83
        }
    );
    assert!(err.to_string().contains("0x03"));
    assert_eq!(requests(&mut sync), []);
}

#[test]
fn a_lost_summary_keeps_nothing_from_the_session() {
    let mut sync = listing(utc(20, 0, 0, 0));
    list(&mut sync, &[session(1, utc(20, 9, 0, 0), Some(5))]).unwrap();
    events(&mut sync);
    let mut records = summaries(1, &[1, 2, 3]);
    records.remove(1);
    assert_eq!(
        send(&mut sync, &records),
        Err(Error::SequenceGap {
            expected: 1,
            got: 2
        })
    );
    assert_eq!(events(&mut sync), []);
    assert!(sync.is_finished());
}

#[test]
fn segments_out_of_order_or_without_a_first_are_errors() {
    let record = encode_step_counter_summary(&summaries(1, &[5])[0]);
    let segments = segment(&record, 6);
    assert!(segments.len() >= 3);

    let mut sync = listing(utc(20, 0, 0, 0));
    list(&mut sync, &[session(1, utc(20, 9, 0, 0), Some(5))]).unwrap();
    sync.handle_notification(STEP_COUNTER_SUMMARY, &segments[0])
        .unwrap();
    let err = sync
        .handle_notification(STEP_COUNTER_SUMMARY, &segments[2])
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("segment 2 arrived where segment 1"),
        "{err}"
    );

    let mut sync = listing(utc(20, 0, 0, 0));
    list(&mut sync, &[session(1, utc(20, 9, 0, 0), Some(5))]).unwrap();
    let err = sync
        .handle_notification(STEP_COUNTER_SUMMARY, &segments[1])
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("without the record's first segment"),
        "{err}"
    );
    assert!(sync.is_finished());
}

#[test]
fn counts_must_match_what_was_sent() {
    let mut sync = listing(utc(20, 0, 0, 0));
    let d_start = utc(20, 9, 0, 0);
    let d = session(1, d_start, Some(5));
    sync.handle_notification(SESSION_DESCRIPTOR, &encode_session_descriptor(&d))
        .unwrap();
    assert_eq!(
        sync.handle_notification(CONTROL_POINT, &[0xfc, 2, 0]),
        Err(Error::CountMismatch {
            what: "session descriptors",
            expected: 2,
            got: 1
        })
    );

    let mut sync = listing(utc(20, 0, 0, 0));
    list(&mut sync, &[d]).unwrap();
    for s in segment(&encode_step_counter_summary(&summaries(1, &[5])[0]), 19) {
        sync.handle_notification(STEP_COUNTER_SUMMARY, &s).unwrap();
    }
    assert_eq!(
        sync.handle_notification(CONTROL_POINT, &[0xfa, 3, 0, 0, 0]),
        Err(Error::CountMismatch {
            what: "step summaries",
            expected: 3,
            got: 1
        })
    );

    // A record cut off before the end.
    let mut sync = listing(utc(20, 0, 0, 0));
    list(&mut sync, &[d]).unwrap();
    let segments = segment(&encode_step_counter_summary(&summaries(1, &[5])[0]), 6);
    sync.handle_notification(STEP_COUNTER_SUMMARY, &segments[0])
        .unwrap();
    let err = sync
        .handle_notification(CONTROL_POINT, &[0xfa, 0, 0, 0, 0])
        .unwrap_err();
    assert!(err.to_string().contains("cut off"), "{err}");
}

#[test]
fn summaries_must_belong_to_the_session_and_move_forward() {
    let d_start = utc(20, 9, 0, 0);
    let d = session(1, d_start, Some(5));
    let mut sync = listing(utc(20, 0, 0, 0));
    list(&mut sync, &[d]).unwrap();
    assert!(matches!(
        send(&mut sync, &summaries(9, &[5])),
        Err(Error::Unexpected { .. })
    ));

    let mut sync = listing(utc(20, 0, 0, 0));
    list(&mut sync, &[d]).unwrap();
    let mut records = summaries(1, &[5, 6]);
    records[1].relative_time_s = 30;
    let err = send(&mut sync, &records).unwrap_err();
    assert!(err.to_string().contains("went back"), "{err}");

    let mut sync = listing(utc(20, 0, 0, 0));
    list(&mut sync, &[d]).unwrap();
    let mut records = summaries(1, &[5]);
    records[0].relative_time_s = MAX_SESSION_SECONDS + 1;
    let err = send(&mut sync, &records).unwrap_err();
    assert!(err.to_string().contains("longest session"), "{err}");
}

#[test]
fn features_and_out_of_place_messages() {
    let mut sync = Sync::new(utc(20, 0, 0, 0));
    assert!(matches!(
        sync.handle_read(FEATURES, &[1, 2, 3]),
        Err(Error::Decode(DecodeError::Truncated { .. }))
    ));
    let mut sync = Sync::new(utc(20, 0, 0, 0));
    assert!(matches!(
        sync.handle_read(FEATURES, &[0; 9]),
        Err(Error::Decode(DecodeError::TooLong { .. }))
    ));
    let mut sync = Sync::new(utc(20, 0, 0, 0));
    assert!(sync.handle_read(FEATURES, &[0; 8]).is_ok());
    let mut sync = Sync::new(utc(20, 0, 0, 0));
    let err = sync
        .handle_notification(CONTROL_POINT, &[0xfc, 0, 0])
        .unwrap_err();
    assert!(
        err.to_string().contains("while reading the features"),
        "{err}"
    );
    let mut sync = listing(utc(20, 0, 0, 0));
    assert!(matches!(
        sync.handle_read(FEATURES, &[0; 4]),
        Err(Error::Unexpected { .. })
    ));
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arbitrary_indications_never_panic(
            notes in proptest::collection::vec((0u8..4, proptest::collection::vec(any::<u8>(), 0..24)), 0..40)
        ) {
            let mut sync = listing(utc(20, 0, 0, 0));
            for (which, value) in notes {
                let ch = [CONTROL_POINT, SESSION_DESCRIPTOR, STEP_COUNTER_SUMMARY, FEATURES][usize::from(which)];
                let _ = if which == 3 {
                    sync.handle_read(ch, &value)
                } else {
                    sync.handle_notification(ch, &value)
                };
                while sync.poll_request().is_some() {}
                while sync.poll_event().is_some() {}
            }
        }

        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = crate::pams::decode_step_counter_summary(&bytes);
            let _ = crate::pams::decode_session_descriptor(&bytes);
            let _ = crate::pams::decode_control_point_response(&bytes);
            let _ = crate::pams::Reassembler::new().push(&bytes);
        }
    }
}
