//! The band's side of the Huami protocol, driven byte by byte.

use super::*;
use crate::peripheral::{Action, Counters};
use chrono_tz::Europe::Berlin;

const KEY: [u8; 16] = *b"0123456789abcdef";

fn minutes(from: DateTime<Utc>, n: i64) -> Vec<SimMinute> {
    (0..n)
        .map(|i| SimMinute {
            minute: from + Duration::minutes(i),
            kind: kind::WALKING,
            steps: (i % 100) as u8,
            heart_rate: 80,
            rem: false,
        })
        .collect()
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .expect("valid")
}

/// Writes and returns what the band queued.
fn write(band: &mut MiBand, connection: u32, ch: Uuid, value: &[u8]) -> Vec<Action> {
    let mut counters = Counters::default();
    let mut link = Link::new(connection, &mut counters);
    band.on_write(ch, value, &mut link).expect("write accepted");
    link.take_actions()
}

fn values(actions: &[Action]) -> Vec<(Uuid, Vec<u8>)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Notify {
                characteristic,
                value,
                ..
            } => Some((*characteristic, value.clone())),
            Action::DropLink => None,
        })
        .collect()
}

fn authenticate(band: &mut MiBand, key: &[u8; 16]) -> Vec<u8> {
    let a = values(&write(band, 1, AUTH, &[0x02, 0x00]));
    assert_eq!(a[0].1[..3], [0x10, 0x02, 0x01]);
    let random: [u8; 16] = a[0].1[3..19].try_into().expect("16 random bytes");
    let mut answer = vec![0x03, 0x00];
    answer.extend_from_slice(&encrypt(key, &random));
    values(&write(band, 1, AUTH, &answer))[0].1.clone()
}

fn fetch_start(local: &[u8; 6], tz: i8) -> Vec<u8> {
    let mut v = vec![0x01, 0x01];
    v.extend_from_slice(local);
    v.push(0); // seconds
    v.push(tz as u8);
    v
}

#[test]
fn right_key_authenticates_wrong_key_is_refused() {
    let mut band = MiBand::mi_band_5(KEY, Berlin, vec![]);
    // A Mi Smart Band answers a wrong key with 08, in the plain flow as in the encrypted one.
    assert_eq!(
        authenticate(&mut band, b"fedcba9876543210"),
        [0x10, 0x03, 0x08]
    );
    assert!(!band.authenticated());
    assert_eq!(authenticate(&mut band, &KEY), [0x10, 0x03, 0x01]);
    assert!(band.authenticated());
}

#[test]
fn fetch_before_auth_is_refused() {
    let mut band = MiBand::mi_band_5(KEY, Berlin, minutes(utc(2026, 1, 1, 0, 0), 10));
    let a = values(&write(
        &mut band,
        1,
        FETCH_CONTROL,
        &fetch_start(&[0xEA, 0x07, 1, 1, 0, 0], 4),
    ));
    assert_eq!(a, vec![(FETCH_CONTROL, vec![0x10, 0x01, 0x04])]);
}

#[test]
fn fetch_start_is_answered_in_the_bands_zone_across_dst() {
    // Stored from 2026-03-29 01:30 UTC (03:30 CEST, just after Berlin's spring change at
    // 01:00 UTC).
    let first = utc(2026, 3, 29, 1, 30);
    let mut band = MiBand::mi_band_5(KEY, Berlin, minutes(first, 100));
    authenticate(&mut band, &KEY);
    // Asked in London's time: 2026-03-28 23:00 GMT (offset 0), before any data.
    let a = values(&write(
        &mut band,
        1,
        FETCH_CONTROL,
        &fetch_start(&[0xEA, 0x07, 3, 28, 23, 0], 0),
    ));
    let v = &a[0].1;
    assert_eq!(v[..3], [0x10, 0x01, 0x01]);
    // 100 minute samples (not bytes).
    assert_eq!(u32::from_le_bytes(v[3..7].try_into().expect("4")), 100);
    // 01:30 UTC is 03:30 CEST (+2 h = 8 quarter hours).
    assert_eq!(v[7..], [0xEA, 0x07, 3, 29, 3, 30, 0, 8]);
}

#[test]
fn a_round_sends_counted_chunks_then_the_end_marker() {
    let first = utc(2026, 1, 10, 12, 0);
    let mut band = MiBand::mi_band_5(KEY, Berlin, minutes(first, 10));
    authenticate(&mut band, &KEY);
    // 13:00 CET (+1 h) = 12:00 UTC.
    write(
        &mut band,
        1,
        FETCH_CONTROL,
        &fetch_start(&[0xEA, 0x07, 1, 10, 13, 0], 4),
    );
    let actions = write(&mut band, 1, FETCH_CONTROL, &[0x02]);
    let v = values(&actions);
    let data: Vec<&Vec<u8>> = v
        .iter()
        .filter(|(c, _)| *c == ACTIVITY_DATA)
        .map(|(_, d)| d)
        .collect();
    // 10 eight-byte records at MTU 23: two whole records per 17-byte notification.
    assert_eq!(data.len(), 5);
    assert!(data.iter().all(|d| d.len() == 17));
    assert_eq!(
        data.iter().map(|d| d[0]).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4]
    );
    assert_eq!(data.iter().map(|d| d.len() - 1).sum::<usize>(), 80);
    assert_eq!(data[0][1..9], [kind::WALKING, 10, 0, 80, 0, 0, 0, 0]);
    assert_eq!(v.last(), Some(&(FETCH_CONTROL, vec![0x10, 0x02, 0x01])));
    // Nothing after the last minute: count 0.
    let a = values(&write(
        &mut band,
        1,
        FETCH_CONTROL,
        &fetch_start(&[0xEA, 0x07, 1, 10, 13, 10], 4),
    ));
    assert_eq!(a[0].1[3..7], [0, 0, 0, 0]);
}

#[test]
fn partial_rounds_and_delete_on_ack() {
    let first = utc(2026, 1, 10, 12, 0);
    let mut band = MiBand::new(
        "Mi Band 3",
        RecordSize::Four,
        KEY,
        Berlin,
        minutes(first, 10),
    )
    .with_options(MiBandOptions {
        max_minutes_per_round: Some(4),
        delete_on_ack: true,
    });
    authenticate(&mut band, &KEY);
    let a = values(&write(
        &mut band,
        1,
        FETCH_CONTROL,
        &fetch_start(&[0xEA, 0x07, 1, 10, 13, 0], 4),
    ));
    assert_eq!(u32::from_le_bytes(a[0].1[3..7].try_into().expect("4")), 4);
    write(&mut band, 1, FETCH_CONTROL, &[0x02]);
    let mut counters = Counters::default();
    let mut link = Link::new(1, &mut counters);
    band.on_write(FETCH_CONTROL, &[0x03], &mut link)
        .expect("ack");
    assert_eq!(counters.acks, 1);
    assert_eq!(band.stored_minutes().len(), 6);
    assert_eq!(
        band.stored_minutes()[0].minute,
        first + Duration::minutes(4)
    );
}

#[test]
fn injected_disconnect_and_counter_gap() {
    let first = utc(2026, 1, 10, 12, 0);
    let mut band = MiBand::mi_band_5(KEY, Berlin, minutes(first, 10)).with_faults(MiBandFaults {
        disconnect_at_notification: Some((2, 3)),
        counter_gap_at: Some((1, 2)),
        no_data_at: None,
    });
    authenticate(&mut band, &KEY);
    write(
        &mut band,
        1,
        FETCH_CONTROL,
        &fetch_start(&[0xEA, 0x07, 1, 10, 13, 0], 4),
    );
    let v = values(&write(&mut band, 1, FETCH_CONTROL, &[0x02]));
    let counters: Vec<u8> = v
        .iter()
        .filter(|(c, _)| *c == ACTIVITY_DATA)
        .map(|(_, d)| d[0])
        .collect();
    assert_eq!(counters, [0, 1, 3, 4, 5]);

    band.on_connect(&mut Link::new(2, &mut Counters::default()));
    let mut key_answer = Vec::new();
    key_answer.extend(authenticate(&mut band, &KEY));
    assert_eq!(key_answer, [0x10, 0x03, 0x01]);
    let mut counters_2 = Counters::default();
    let mut link = Link::new(2, &mut counters_2);
    band.on_write(
        FETCH_CONTROL,
        &fetch_start(&[0xEA, 0x07, 1, 10, 13, 0], 4),
        &mut link,
    )
    .expect("start");
    band.on_write(FETCH_CONTROL, &[0x02], &mut link)
        .expect("send");
    let actions = link.take_actions();
    let data = actions
        .iter()
        .filter(|a| matches!(a, Action::Notify { data: true, .. }))
        .count();
    assert_eq!(data, 3);
    assert_eq!(actions.last(), Some(&Action::DropLink));
}

#[test]
fn notifications_fill_the_mtu_with_whole_records() {
    let first = utc(2026, 1, 10, 12, 0);
    let mut band = MiBand::mi_band_4(KEY, Berlin, minutes(first, 130));
    authenticate(&mut band, &KEY);
    write(
        &mut band,
        1,
        FETCH_CONTROL,
        &fetch_start(&[0xEA, 0x07, 1, 10, 13, 0], 4),
    );
    let mut counters = Counters::default();
    let mut link = Link::new(1, &mut counters).with_mtu(247);
    band.on_write(FETCH_CONTROL, &[0x02], &mut link)
        .expect("start");
    let lengths: Vec<usize> = values(&link.take_actions())
        .iter()
        .filter(|(c, _)| *c == ACTIVITY_DATA)
        .map(|(_, d)| d.len())
        .collect();
    // 1 counter byte + 60 four-byte records = 241 bytes, as a Mi Band 4 sends over BlueZ.
    assert_eq!(lengths, [241, 241, 41]);
}

#[test]
fn the_encrypted_auth_variant_and_the_no_data_answer() {
    let mut band = MiBand::mi_band_4(KEY, Berlin, minutes(utc(2026, 1, 10, 12, 0), 5)).with_faults(
        MiBandFaults {
            no_data_at: Some((1, 0)),
            ..MiBandFaults::default()
        },
    );
    let a = values(&write(&mut band, 1, AUTH, &[0x82, 0x00, 0x02, 0x01, 0x00]));
    assert_eq!(a[0].1[..3], [0x10, 0x82, 0x01]);
    let random: [u8; 16] = a[0].1[3..19].try_into().expect("16 random bytes");
    let mut answer = vec![0x83, 0x00];
    answer.extend_from_slice(&encrypt(&KEY, &random));
    assert_eq!(
        values(&write(&mut band, 1, AUTH, &answer))[0].1,
        [0x10, 0x83, 0x01]
    );
    let start = fetch_start(&[0xEA, 0x07, 1, 10, 13, 0], 4);
    assert_eq!(
        values(&write(&mut band, 1, FETCH_CONTROL, &start))[0].1,
        [0x10, 0x01, 0x02]
    );
    assert_eq!(
        values(&write(&mut band, 1, FETCH_CONTROL, &[0x02]))[0].1,
        [0x10, 0x02, 0x04]
    );
    assert_eq!(
        values(&write(&mut band, 1, FETCH_CONTROL, &start))[0].1[..7],
        [0x10, 0x01, 0x01, 5, 0, 0, 0]
    );
    // The old 9-byte request is refused.
    assert_eq!(
        values(&write(&mut band, 1, FETCH_CONTROL, &start[..9]))[0].1,
        [0x10, 0x01, 0x04]
    );
}
