//! The sync machine against a hand-driven band: every byte the band would send is written
//! out here.

use chrono::{TimeZone, Timelike};
use chrono_tz::Tz;

use super::*;
use crate::huami::{Model, encode_fetch_start};

const KEY: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
/// FIPS-197 appendix C.1: AES-128 of this block under KEY.
const RANDOM: [u8; 16] = [
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
];
const ENCRYPTED: [u8; 16] = [
    0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30, 0xd8, 0xcd, 0xb7, 0x80, 0x70, 0xb4, 0xc5, 0x5a,
];

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn config(model: Model, since: DateTime<Utc>, zone: Tz) -> Config {
    Config::new(model, KEY, since, zone)
}

fn requests(sync: &mut Sync) -> Vec<Request> {
    std::iter::from_fn(|| sync.poll_request()).collect()
}

fn events(sync: &mut Sync) -> Vec<Event> {
    std::iter::from_fn(|| sync.poll_event()).collect()
}

/// A write command (without response), as the bands declare AUTH and FETCH_CONTROL.
fn write(service: Uuid, characteristic: Uuid, value: &[u8]) -> Request {
    Request::Write {
        service,
        characteristic,
        value: value.to_vec(),
        with_response: false,
    }
}

/// The auth bytes per model, written out from the sources in `docs/wearables.md`:
/// (challenge request, challenge header, answer header, result header).
fn auth_bytes(model: Model) -> (Vec<u8>, [u8; 3], [u8; 2], [u8; 2]) {
    match model {
        Model::MiBand4 | Model::MiBand5 | Model::MiBand6 => (
            vec![0x82, 0x00, 0x02, 0x01, 0x00],
            [0x10, 0x82, 0x01],
            [0x83, 0x00],
            [0x10, 0x83],
        ),
        Model::MiBand2 | Model::MiBand3 | Model::AmazfitBip => (
            vec![0x02, 0x00],
            [0x10, 0x02, 0x01],
            [0x03, 0x00],
            [0x10, 0x03],
        ),
    }
}

fn fetch_request(from: DateTime<Utc>, zone: Tz) -> Request {
    write(SERVICE_FEE0, FETCH_CONTROL, &encode_fetch_start(from, zone))
}

/// `10 01 01 <samples> <start in zone's local time> <offset>`.
fn fetch_answer(samples: u32, start: DateTime<Utc>, zone: Tz) -> Vec<u8> {
    let mut answer = vec![0x10, 0x01, 0x01];
    answer.extend_from_slice(&samples.to_le_bytes());
    answer.extend_from_slice(&encode_fetch_start(start, zone)[2..8]);
    answer.push(17); // seconds: dropped
    answer.push(encode_fetch_start(start, zone)[9]);
    answer
}

/// A sync that has authenticated and written its first fetch request (checked).
fn authenticated(config: Config) -> Sync {
    let since = config.since;
    let zone = config.zone;
    let (ask, challenge_header, answer_header, result) = auth_bytes(config.model);
    let mut sync = Sync::new(config);
    assert_eq!(
        requests(&mut sync),
        [
            Request::Subscribe {
                service: SERVICE_FEE1,
                characteristic: AUTH
            },
            write(SERVICE_FEE1, AUTH, &ask),
        ]
    );
    let mut challenge = challenge_header.to_vec();
    challenge.extend_from_slice(&RANDOM);
    sync.handle_notification(AUTH, &challenge).unwrap();
    let mut answer = answer_header.to_vec();
    answer.extend_from_slice(&ENCRYPTED);
    assert_eq!(requests(&mut sync), [write(SERVICE_FEE1, AUTH, &answer)]);
    sync.handle_notification(AUTH, &[result[0], result[1], 0x01])
        .unwrap();
    assert_eq!(events(&mut sync), [Event::Authenticated]);
    assert_eq!(
        requests(&mut sync),
        [
            Request::Subscribe {
                service: SERVICE_FEE0,
                characteristic: FETCH_CONTROL
            },
            Request::Subscribe {
                service: SERVICE_FEE0,
                characteristic: ACTIVITY_DATA
            },
            fetch_request(whole_minute(since), zone),
        ]
    );
    sync
}

/// Payload bytes per notification in these tests: 19, so that records straddle notifications
/// (real bands send whole records; the machine must not depend on it).
const PAYLOAD: usize = 19;

/// Sends `bytes` as activity data (19 payload bytes per notification, counter from 0).
fn send_data(sync: &mut Sync, bytes: &[u8]) -> Result<(), Error> {
    for (i, chunk) in bytes.chunks(PAYLOAD).enumerate() {
        let mut value = vec![i as u8];
        value.extend_from_slice(chunk);
        sync.handle_notification(ACTIVITY_DATA, &value)?;
    }
    Ok(())
}

/// A whole round: answer, check the `02`, data, end.
fn round(
    sync: &mut Sync,
    start: DateTime<Utc>,
    zone: Tz,
    bytes: &[u8],
) -> Result<Vec<Event>, Error> {
    let samples = bytes.len() / sync.config.model.record_size();
    sync.handle_notification(FETCH_CONTROL, &fetch_answer(samples as u32, start, zone))?;
    assert_eq!(
        requests(sync),
        [write(SERVICE_FEE0, FETCH_CONTROL, &[0x02])]
    );
    send_data(sync, bytes)?;
    sync.handle_notification(FETCH_CONTROL, &[0x10, 0x02, 0x01])?;
    Ok(events(sync))
}

/// `n` walking minutes with `steps` steps and HR 80, 4-byte records.
fn walking(n: usize, steps: u8) -> Vec<u8> {
    [1, 20, steps, 80].repeat(n)
}

fn batches(events: &[Event]) -> Vec<(Vec<MinuteRecord>, DateTime<Utc>)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Batch {
                records,
                next_since,
            } => Some((records.clone(), *next_since)),
            _ => None,
        })
        .collect()
}

#[test]
fn auth_writes_the_key_first_when_asked() {
    let mut c = config(Model::MiBand2, utc(2026, 11, 20, 0, 0), chrono_tz::UTC);
    c.set_key = true;
    let mut sync = Sync::new(c);
    let mut set = vec![0x01, 0x00];
    set.extend_from_slice(&KEY);
    assert_eq!(
        requests(&mut sync),
        [
            Request::Subscribe {
                service: SERVICE_FEE1,
                characteristic: AUTH
            },
            write(SERVICE_FEE1, AUTH, &set),
        ]
    );
    sync.handle_notification(AUTH, &[0x10, 0x01, 0x01]).unwrap();
    assert_eq!(
        requests(&mut sync),
        [write(SERVICE_FEE1, AUTH, &[0x02, 0x00])]
    );
    let err = sync
        .handle_notification(AUTH, &[0x10, 0x03, 0x01])
        .unwrap_err();
    assert!(matches!(err, Error::Unexpected { .. }), "{err}");
    assert!(sync.is_finished());
}

#[test]
fn a_refused_key_is_wrong_key_and_ends_the_sync() {
    let mut sync = Sync::new(config(
        Model::MiBand5,
        utc(2026, 11, 20, 0, 0),
        chrono_tz::UTC,
    ));
    requests(&mut sync);
    let mut challenge = vec![0x10, 0x82, 0x01];
    challenge.extend_from_slice(&RANDOM);
    sync.handle_notification(AUTH, &challenge).unwrap();
    requests(&mut sync);
    let err = sync
        .handle_notification(AUTH, &[0x10, 0x83, 0x08])
        .unwrap_err();
    assert_eq!(err, Error::WrongKey);
    assert!(err.to_string().starts_with("wrong key"), "{err}");
    assert!(sync.is_finished());
    assert_eq!(requests(&mut sync), []);
    assert_eq!(events(&mut sync), []);
    // Anything after the end is unexpected, not a panic.
    assert!(matches!(
        sync.handle_notification(FETCH_CONTROL, &[0x10, 0x02, 0x01]),
        Err(Error::Unexpected { .. })
    ));
}

#[test]
fn a_short_challenge_is_a_decode_error() {
    let mut sync = Sync::new(config(
        Model::MiBand5,
        utc(2026, 11, 20, 0, 0),
        chrono_tz::UTC,
    ));
    let err = sync
        .handle_notification(AUTH, &[0x10, 0x82, 0x01, 1, 2, 3])
        .unwrap_err();
    assert_eq!(
        err,
        Error::Decode(DecodeError::Truncated {
            what: "Huami auth challenge",
            expected: 19,
            got: 6
        })
    );
}

#[test]
fn a_round_of_straddling_records_then_caught_up() {
    let zone = chrono_tz::Europe::London;
    let since = utc(2026, 11, 20, 8, 0) + TimeDelta::seconds(30);
    let mut sync = authenticated(config(Model::MiBand3, since, zone));
    // 10 minutes = 40 bytes: notifications of 19, 19 and 2 bytes, records straddling them.
    let start = utc(2026, 11, 20, 8, 5);
    let events = round(&mut sync, start, zone, &walking(10, 77)).unwrap();
    assert_eq!(
        events[..4],
        [
            Event::RoundStarted {
                from: start,
                samples: 10
            },
            Event::Progress {
                received: 4,
                samples: 10
            },
            Event::Progress {
                received: 9,
                samples: 10
            },
            Event::Progress {
                received: 10,
                samples: 10
            },
        ]
    );
    let batches = batches(&events);
    let (records, next) = &batches[0];
    assert_eq!(records.len(), 10);
    assert_eq!(*next, utc(2026, 11, 20, 8, 15));
    assert!(records.iter().enumerate().all(|(i, r)| r.minute
        == start + TimeDelta::minutes(i as i64)
        && r.steps == 77
        && r.heart_rate == Some(80)
        && r.activity == Activity::Walking));
    assert_eq!(sync.data_notifications(), 3);
    // Data kept on the band: no ack; the next round starts after the last minute.
    assert_eq!(requests(&mut sync), [fetch_request(*next, zone)]);
    sync.handle_notification(FETCH_CONTROL, &fetch_answer(0, *next, zone))
        .unwrap();
    assert_eq!(
        events_of(&mut sync),
        [Event::Finished {
            caught_up: true,
            rounds: 2
        }]
    );
    assert!(sync.is_finished());
}

fn events_of(sync: &mut Sync) -> Vec<Event> {
    events(sync)
}

#[test]
fn the_ack_is_sent_only_when_data_may_leave_the_band() {
    let zone = chrono_tz::UTC;
    let since = utc(2026, 11, 20, 8, 0);
    let mut c = config(Model::MiBand3, since, zone);
    c.keep_on_band = false;
    let mut sync = authenticated(c);
    round(&mut sync, since, zone, &walking(2, 1)).unwrap();
    assert_eq!(
        requests(&mut sync),
        [
            write(SERVICE_FEE0, FETCH_CONTROL, &[0x03]),
            fetch_request(since + TimeDelta::minutes(2), zone)
        ]
    );
}

#[test]
fn an_empty_first_round_is_caught_up_without_a_batch() {
    let zone = chrono_tz::Asia::Kolkata;
    let since = utc(2026, 11, 20, 8, 0);
    let mut sync = authenticated(config(Model::AmazfitBip, since, zone));
    sync.handle_notification(FETCH_CONTROL, &fetch_answer(0, since, zone))
        .unwrap();
    assert_eq!(
        events(&mut sync),
        [Event::Finished {
            caught_up: true,
            rounds: 1
        }]
    );
    assert_eq!(requests(&mut sync), []);
    assert!(sync.is_finished());
}

#[test]
fn a_counter_gap_keeps_nothing_from_the_round() {
    let zone = chrono_tz::UTC;
    let since = utc(2026, 11, 20, 8, 0);
    let mut sync = authenticated(config(Model::MiBand2, since, zone));
    sync.handle_notification(FETCH_CONTROL, &fetch_answer(19, since, zone))
        .unwrap();
    requests(&mut sync);
    let data = walking(19, 5);
    let mut first = vec![0];
    first.extend_from_slice(&data[..19]);
    sync.handle_notification(ACTIVITY_DATA, &first).unwrap();
    let mut third = vec![2];
    third.extend_from_slice(&data[19..38]);
    let err = sync.handle_notification(ACTIVITY_DATA, &third).unwrap_err();
    assert_eq!(
        err,
        Error::CounterGap {
            expected: 1,
            got: 2
        }
    );
    assert!(err.to_string().contains("nothing from this round was kept"));
    let events = events(&mut sync);
    assert!(batches(&events).is_empty(), "{events:?}");
    assert!(sync.is_finished());
    assert_eq!(requests(&mut sync), []);
}

#[test]
fn the_counter_rolls_over_after_255() {
    let zone = chrono_tz::UTC;
    let since = utc(2026, 11, 20, 0, 0);
    let mut sync = authenticated(config(Model::MiBand2, since, zone));
    // 300 notifications of 19 bytes = 5,700 bytes = 1,425 minutes.
    let data = walking(1425, 3);
    let events = round(&mut sync, since, zone, &data).unwrap();
    assert_eq!(sync.data_notifications(), 300);
    let batches = batches(&events);
    assert_eq!(batches[0].0.len(), 1425);
    assert_eq!(batches[0].1, since + TimeDelta::minutes(1425));
}

#[test]
fn byte_count_mismatches_are_errors() {
    let zone = chrono_tz::UTC;
    let since = utc(2026, 11, 20, 8, 0);
    // Fewer bytes than announced: 10 samples are 40 bytes.
    let mut sync = authenticated(config(Model::MiBand2, since, zone));
    sync.handle_notification(FETCH_CONTROL, &fetch_answer(10, since, zone))
        .unwrap();
    send_data(&mut sync, &walking(9, 1)).unwrap();
    let err = sync
        .handle_notification(FETCH_CONTROL, &[0x10, 0x02, 0x01])
        .unwrap_err();
    assert_eq!(
        err,
        Error::LengthMismatch {
            samples: 10,
            expected: 40,
            got: 36
        }
    );
    assert!(err.to_string().contains("10 minutes (40 bytes)"), "{err}");
    assert!(batches(&events(&mut sync)).is_empty());
    // More bytes than announced: an error as soon as they arrive.
    let mut sync = authenticated(config(Model::MiBand2, since, zone));
    sync.handle_notification(FETCH_CONTROL, &fetch_answer(2, since, zone))
        .unwrap();
    assert_eq!(
        send_data(&mut sync, &walking(3, 1)),
        Err(Error::LengthMismatch {
            samples: 2,
            expected: 8,
            got: 12
        })
    );
    // Part of a record at the end: 3 samples of 8 bytes announced, 20 bytes sent.
    let mut sync = authenticated(config(Model::MiBand5, since, zone));
    sync.handle_notification(FETCH_CONTROL, &fetch_answer(3, since, zone))
        .unwrap();
    send_data(&mut sync, &[1; 20]).unwrap();
    assert!(matches!(
        sync.handle_notification(FETCH_CONTROL, &[0x10, 0x02, 0x01]),
        Err(Error::LengthMismatch { expected: 24, .. })
    ));
    // A notification longer than the largest MTU allows.
    let mut sync = authenticated(config(Model::MiBand2, since, zone));
    sync.handle_notification(FETCH_CONTROL, &fetch_answer(500, since, zone))
        .unwrap();
    assert!(matches!(
        sync.handle_notification(ACTIVITY_DATA, &[0; MAX_NOTIFICATION + 1]),
        Err(Error::Decode(DecodeError::TooLong { .. }))
    ));
    // An empty one.
    let mut sync = authenticated(config(Model::MiBand2, since, zone));
    sync.handle_notification(FETCH_CONTROL, &fetch_answer(10, since, zone))
        .unwrap();
    assert!(matches!(
        sync.handle_notification(ACTIVITY_DATA, &[]),
        Err(Error::Decode(DecodeError::Truncated { .. }))
    ));
}

#[test]
fn long_notifications_of_whole_records_at_a_large_mtu() {
    // At MTU 247 a Mi Band 4 sends 1 counter byte + 60 four-byte records = 241 bytes.
    let zone = chrono_tz::UTC;
    let since = utc(2026, 11, 20, 8, 0);
    let mut sync = authenticated(config(Model::MiBand4, since, zone));
    sync.handle_notification(FETCH_CONTROL, &fetch_answer(130, since, zone))
        .unwrap();
    requests(&mut sync);
    let data = walking(130, 4);
    for (i, chunk) in data.chunks(240).enumerate() {
        let mut value = vec![i as u8];
        value.extend_from_slice(chunk);
        sync.handle_notification(ACTIVITY_DATA, &value).unwrap();
    }
    sync.handle_notification(FETCH_CONTROL, &[0x10, 0x02, 0x01])
        .unwrap();
    let events = events(&mut sync);
    assert_eq!(batches(&events)[0].0.len(), 130);
    assert_eq!(sync.data_notifications(), 3);
}

#[test]
fn the_other_answers_end_the_round_without_data() {
    let zone = chrono_tz::UTC;
    let since = utc(2026, 11, 20, 8, 0);
    // 10 01 02: nothing for this request now. Asked once more from the same minute; a second
    // 10 01 02 ends the sync, not caught up.
    let mut sync = authenticated(config(Model::MiBand4, since, zone));
    sync.handle_notification(FETCH_CONTROL, &[0x10, 0x01, 0x02])
        .unwrap();
    assert_eq!(requests(&mut sync), [fetch_request(since, zone)]);
    sync.handle_notification(FETCH_CONTROL, &[0x10, 0x01, 0x02])
        .unwrap();
    assert_eq!(
        events(&mut sync),
        [Event::Finished {
            caught_up: false,
            rounds: 2
        }]
    );
    assert!(sync.is_finished());
    // After the retry the band may answer normally.
    let mut sync = authenticated(config(Model::MiBand4, since, zone));
    sync.handle_notification(FETCH_CONTROL, &[0x10, 0x01, 0x02])
        .unwrap();
    requests(&mut sync);
    let after_retry = round(&mut sync, since, zone, &walking(5, 2)).unwrap();
    assert_eq!(batches(&after_retry)[0].0.len(), 5);
    // 10 02 04 after 02: no more activity fetch possible; anything half-received is dropped.
    let mut sync = authenticated(config(Model::MiBand4, since, zone));
    sync.handle_notification(FETCH_CONTROL, &fetch_answer(10, since, zone))
        .unwrap();
    requests(&mut sync);
    send_data(&mut sync, &walking(4, 1)).unwrap();
    sync.handle_notification(FETCH_CONTROL, &[0x10, 0x02, 0x04])
        .unwrap();
    let events = events(&mut sync);
    assert!(batches(&events).is_empty(), "{events:?}");
    assert_eq!(
        events.last(),
        Some(&Event::Finished {
            caught_up: false,
            rounds: 1
        })
    );
    assert!(sync.is_finished());
}

#[test]
fn the_clock_is_set_after_authentication_when_asked() {
    let zone = chrono_tz::Europe::Berlin;
    let since = utc(2026, 11, 20, 8, 0);
    let mut c = config(Model::MiBand2, since, zone);
    c.clock = Some(Utc.with_ymd_and_hms(2026, 11, 29, 17, 5, 9).unwrap());
    let mut sync = Sync::new(c);
    requests(&mut sync);
    let mut challenge = vec![0x10, 0x02, 0x01];
    challenge.extend_from_slice(&RANDOM);
    sync.handle_notification(AUTH, &challenge).unwrap();
    requests(&mut sync);
    sync.handle_notification(AUTH, &[0x10, 0x03, 0x01]).unwrap();
    assert_eq!(
        requests(&mut sync)[0],
        Request::Write {
            service: SERVICE_FEE0,
            characteristic: CURRENT_TIME,
            value: vec![0xea, 0x07, 11, 29, 18, 5, 9, 7, 0, 0, 4],
            with_response: true,
        }
    );
}

#[test]
fn eight_byte_records_from_a_mi_band_5() {
    let zone = chrono_tz::Europe::Paris;
    let since = utc(2026, 11, 20, 23, 0);
    let mut sync = authenticated(config(Model::MiBand5, since, zone));
    let data = [
        [0x09, 0, 0, 0xff, 0, 1, 0, 0],
        [0x09, 0, 0, 55, 0, 1, 0, 2],
        [0x0b, 0, 0, 52, 0, 1, 3, 0],
        [0x0c, 0, 0, 70, 0, 0, 0, 0],
        [0x01, 9, 60, 90, 0, 0, 0, 0],
    ]
    .concat();
    let events = round(&mut sync, since, zone, &data).unwrap();
    let (records, next) = &batches(&events)[0];
    use Activity::*;
    assert_eq!(
        records.iter().map(|r| r.activity).collect::<Vec<_>>(),
        [LightSleep, LightSleep, DeepSleep, Awake, Walking]
    );
    assert_eq!(records[0].heart_rate, None);
    assert_eq!(records[4].steps, 60);
    assert_eq!(*next, since + TimeDelta::minutes(5));
}

#[test]
fn a_round_across_the_end_of_summer_time_in_berlin() {
    // 2026-10-25: clocks go back from 03:00 CEST to 02:00 CET (01:00 UTC).
    let zone = chrono_tz::Europe::Berlin;
    let since = utc(2026, 10, 24, 23, 30); // 01:30 CEST
    let mut sync = authenticated(config(Model::MiBand3, since, zone));
    // Asked for 01:30 at +2 h:
    assert_eq!(
        encode_fetch_start(since, zone),
        [0x01, 0x01, 0xea, 0x07, 10, 25, 1, 30, 0, 8]
    );
    // The band answers 01:30 +2 h, then 180 minutes in real time: 23:30–02:29 UTC, local
    // 01:30–02:59 CEST, 02:00–02:59 CET again, 03:00–03:29 CET.
    let answer = [
        0x10, 0x01, 0x01, 0xb4, 0x00, 0, 0, 0xea, 0x07, 10, 25, 1, 30, 0, 8,
    ];
    sync.handle_notification(FETCH_CONTROL, &answer).unwrap();
    requests(&mut sync);
    send_data(&mut sync, &walking(180, 10)).unwrap();
    sync.handle_notification(FETCH_CONTROL, &[0x10, 0x02, 0x01])
        .unwrap();
    let events = events(&mut sync);
    assert_eq!(
        events[0],
        Event::RoundStarted {
            from: since,
            samples: 180
        }
    );
    let (records, next) = &batches(&events)[0];
    assert_eq!(records.len(), 180);
    assert!(
        records
            .windows(2)
            .all(|w| w[1].minute - w[0].minute == TimeDelta::minutes(1))
    );
    assert_eq!(records[179].minute, utc(2026, 10, 25, 2, 29));
    assert_eq!(*next, utc(2026, 10, 25, 2, 30));
    // The next round asks for 03:30 at +1 h.
    assert_eq!(
        requests(&mut sync),
        [write(
            SERVICE_FEE0,
            FETCH_CONTROL,
            &[0x01, 0x01, 0xea, 0x07, 10, 25, 3, 30, 0, 4]
        )]
    );
    // The band's answer in CET for the ambiguous 02:30 (the second one, 01:30 UTC) is read with
    // its own offset.
    let second_0230 = [
        0x10, 0x01, 0x01, 4, 0, 0, 0, 0xea, 0x07, 10, 25, 2, 30, 0, 4,
    ];
    assert_eq!(
        crate::huami::decode_fetch_answer(&second_0230).map(|a| a.start),
        Ok(utc(2026, 10, 25, 1, 30))
    );
}

#[test]
fn max_rounds_stops_a_band_that_always_has_more() {
    let zone = chrono_tz::UTC;
    let since = utc(2026, 11, 1, 0, 0);
    let mut c = config(Model::MiBand2, since, zone);
    c.max_rounds = 3;
    let mut sync = authenticated(c);
    let mut from = since;
    for _ in 0..3 {
        let events = round(&mut sync, from, zone, &walking(60, 1)).unwrap();
        from += TimeDelta::minutes(60);
        assert_eq!(batches(&events)[0].1, from);
        if !sync.is_finished() {
            assert_eq!(requests(&mut sync), [fetch_request(from, zone)]);
        } else {
            assert_eq!(
                events.last(),
                Some(&Event::Finished {
                    caught_up: false,
                    rounds: 3
                })
            );
        }
    }
    assert!(sync.is_finished());
    assert_eq!(requests(&mut sync), []);

    let mut c = config(Model::MiBand2, since, zone);
    c.max_rounds = 0;
    let mut sync = Sync::new(c);
    requests(&mut sync);
    let mut challenge = vec![0x10, 0x02, 0x01];
    challenge.extend_from_slice(&RANDOM);
    sync.handle_notification(AUTH, &challenge).unwrap();
    sync.handle_notification(AUTH, &[0x10, 0x03, 0x01]).unwrap();
    assert_eq!(
        events(&mut sync),
        [
            Event::Authenticated,
            Event::Finished {
                caught_up: false,
                rounds: 0
            }
        ]
    );
}

#[test]
fn a_band_that_answers_from_before_the_request_cannot_loop() {
    let zone = chrono_tz::UTC;
    let since = utc(2026, 11, 20, 8, 0);
    let mut sync = authenticated(config(Model::MiBand2, since, zone));
    round(&mut sync, since, zone, &walking(10, 1)).unwrap();
    let asked = since + TimeDelta::minutes(10);
    assert_eq!(requests(&mut sync), [fetch_request(asked, zone)]);
    // The band starts 5 minutes early and runs 3 minutes past the request: only those 3 are
    // new.
    let events = round(
        &mut sync,
        since + TimeDelta::minutes(5),
        zone,
        &walking(8, 2),
    )
    .unwrap();
    let (records, next) = &batches(&events)[0];
    assert_eq!(records.len(), 3);
    assert_eq!(records[0].minute, asked);
    assert_eq!(*next, asked + TimeDelta::minutes(3));
    requests(&mut sync);
    // Then it sends the same minutes again: no progress, an error instead of a loop.
    let err = round(&mut sync, since, zone, &walking(13, 2)).unwrap_err();
    assert_eq!(
        err,
        Error::NoProgress {
            asked: asked + TimeDelta::minutes(3),
            until: asked + TimeDelta::minutes(3)
        }
    );
    assert!(sync.is_finished());
}

#[test]
fn same_as_before_carries_into_a_contiguous_next_round() {
    let zone = chrono_tz::UTC;
    let since = utc(2026, 11, 20, 1, 0);
    let mut sync = authenticated(config(Model::MiBand2, since, zone));
    round(&mut sync, since, zone, &[0x0b, 0, 0, 0]).unwrap();
    requests(&mut sync);
    let events = round(
        &mut sync,
        since + TimeDelta::minutes(1),
        zone,
        &[0, 0, 0, 0],
    )
    .unwrap();
    assert_eq!(batches(&events)[0].0[0].activity, Activity::DeepSleep);
    requests(&mut sync);
    // After a gap there is nothing to repeat.
    let events = round(
        &mut sync,
        since + TimeDelta::minutes(5),
        zone,
        &[0, 0, 0, 0],
    )
    .unwrap();
    assert_eq!(batches(&events)[0].0[0].activity, Activity::Other);
}

#[test]
fn notifications_out_of_place_are_unexpected() {
    let zone = chrono_tz::UTC;
    let since = utc(2026, 11, 20, 8, 0);
    let mut sync = authenticated(config(Model::MiBand2, since, zone));
    let err = sync
        .handle_notification(ACTIVITY_DATA, &[0, 1, 2, 3, 4])
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("activity data notification [00, 01, 02, 03, 04] (5 bytes) while waiting for the answer to a fetch request"),
        "{err}"
    );
    let mut sync = authenticated(config(Model::MiBand2, since, zone));
    sync.handle_notification(FETCH_CONTROL, &fetch_answer(1, since, zone))
        .unwrap();
    assert!(matches!(
        sync.handle_notification(FETCH_CONTROL, &[0x10, 0x02, 0x09]),
        Err(Error::Unexpected { .. })
    ));
    let mut sync = Sync::new(config(Model::MiBand2, since, zone));
    assert!(matches!(
        sync.handle_notification(Uuid::nil(), &[]),
        Err(Error::Unexpected { .. })
    ));
}

#[test]
fn fetch_requests_drop_seconds() {
    let since = utc(2026, 11, 20, 8, 0).with_second(59).unwrap();
    let sync = authenticated(config(Model::MiBand2, since, chrono_tz::UTC));
    assert!(!sync.is_finished());
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arbitrary_notifications_after_auth_never_panic(
            notes in proptest::collection::vec((0u8..3, proptest::collection::vec(any::<u8>(), 0..300)), 0..40)
        ) {
            let mut sync = authenticated(config(Model::MiBand5, utc(2026, 11, 20, 8, 0), chrono_tz::Europe::Berlin));
            for (which, value) in notes {
                let ch = [AUTH, FETCH_CONTROL, ACTIVITY_DATA][usize::from(which)];
                let _ = sync.handle_notification(ch, &value);
                while sync.poll_request().is_some() {}
                while sync.poll_event().is_some() {}
            }
        }
    }
}
