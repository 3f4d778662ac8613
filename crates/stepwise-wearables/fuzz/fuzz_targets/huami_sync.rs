//! The Huami sync after authentication, fed notifications: arbitrary bytes on any
//! characteristic, mixed with well-formed fetch answers, data packets with the right counter
//! and end markers (so that whole rounds happen). Never a panic; every batch is increasing
//! minutes from the cursor and before its `next_since`; cursors only move forward.
#![no_main]

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use stepwise_wearables::Protocol;
use stepwise_wearables::huami::{ACTIVITY_DATA, AUTH, Config, Event, FETCH_CONTROL, Model, Sync};
use stepwise_wearables::records::sleep_episodes;

/// A well-formed fetch answer built from fuzz bytes: a number of minute samples, a start on
/// 2026-10-24/25 (around the end of summer time in Berlin) and an offset of -4 h … +4 h.
fn fetch_answer(value: &[u8]) -> Vec<u8> {
    let byte = |i: usize| value.get(i).copied().unwrap_or(0);
    let samples = u32::from(u16::from_le_bytes([byte(0), byte(1)]) % 2048);
    let mut answer = vec![0x10, 0x01, 0x01];
    answer.extend_from_slice(&samples.to_le_bytes());
    answer.extend_from_slice(&2026u16.to_le_bytes());
    answer.extend_from_slice(&[
        10,
        24 + byte(2) % 2,
        byte(3) % 24,
        byte(4) % 60,
        byte(5) % 60,
        (i8::try_from(byte(6) % 33).unwrap_or(0) - 16).to_le_bytes()[0],
    ]);
    answer
}

fuzz_target!(|input: (u8, u8, Vec<(u8, Vec<u8>)>)| {
    let (which_model, rounds, notifications) = input;
    let model = match which_model % 3 {
        0 => Model::MiBand5,
        1 => Model::MiBand4,
        _ => Model::MiBand2,
    };
    let since = DateTime::<Utc>::from_timestamp(1_792_000_000, 0).unwrap_or_default();
    let mut config = Config::new(model, [7; 16], since, chrono_tz::Europe::Berlin);
    config.max_rounds = u32::from(rounds % 8);
    config.keep_on_band = rounds % 2 == 0;
    let mut sync = Sync::new(config);
    let (crypt, _) = model.auth_flags();
    let mut challenge = vec![0x10, crypt | 0x02, 0x01];
    challenge.extend_from_slice(&[3; 16]);
    if sync.handle_notification(AUTH, &challenge).is_err()
        || sync
            .handle_notification(AUTH, &[0x10, crypt | 0x03, 0x01])
            .is_err()
    {
        panic!("authentication failed");
    }
    let mut cursor = since;
    let mut counter = 0u8;
    for (which, value) in notifications {
        let _ = match which % 6 {
            0 => sync.handle_notification(AUTH, &value),
            1 => sync.handle_notification(FETCH_CONTROL, &value),
            2 => sync.handle_notification(ACTIVITY_DATA, &value),
            3 => {
                counter = 0;
                sync.handle_notification(FETCH_CONTROL, &fetch_answer(&value))
            }
            4 => {
                let mut packet = vec![counter];
                // Whole packets of any length a link allows (up to MTU 517).
                packet.extend(value.iter().take(513));
                counter = counter.wrapping_add(1);
                sync.handle_notification(ACTIVITY_DATA, &packet)
            }
            5 if value.first() == Some(&1) => {
                sync.handle_notification(FETCH_CONTROL, &[0x10, 0x01, 0x02])
            }
            5 if value.first() == Some(&2) => {
                sync.handle_notification(FETCH_CONTROL, &[0x10, 0x02, 0x04])
            }
            _ => sync.handle_notification(FETCH_CONTROL, &[0x10, 0x02, 0x01]),
        };
        while sync.poll_request().is_some() {}
        while let Some(event) = sync.poll_event() {
            if let Event::Batch {
                records,
                next_since,
            } = event
            {
                assert!(next_since > cursor);
                assert!(records.windows(2).all(|w| w[0].minute < w[1].minute));
                assert!(
                    records
                        .iter()
                        .all(|r| r.minute >= cursor && r.minute < next_since)
                );
                let _ = sleep_episodes(&records);
                cursor = next_since;
            }
        }
        if sync.is_finished() {
            break;
        }
    }
});
