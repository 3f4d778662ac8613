//! Huami record decoding and sleep episodes: never a panic, and what decodes is consecutive
//! minutes whose episodes lie inside them.
#![no_main]

use chrono::{DateTime, TimeDelta, Utc};
use libfuzzer_sys::fuzz_target;
use stepwise_wearables::huami::{Model, decode_fetch_answer, decode_records};
use stepwise_wearables::records::sleep_episodes;

const MODELS: [Model; 6] = [
    Model::MiBand2,
    Model::MiBand3,
    Model::MiBand4,
    Model::MiBand5,
    Model::MiBand6,
    Model::AmazfitBip,
];

fuzz_target!(|input: (u8, i64, Vec<u8>)| {
    let (model, seconds, bytes) = input;
    let model = MODELS[usize::from(model) % MODELS.len()];
    let _ = decode_fetch_answer(&bytes);
    let start = DateTime::<Utc>::from_timestamp(seconds % 20_000_000_000, 0)
        .unwrap_or(DateTime::UNIX_EPOCH);
    let Ok(records) = decode_records(model, start, &bytes) else {
        return;
    };
    assert_eq!(records.len(), bytes.len() / model.record_size());
    assert!(
        records
            .windows(2)
            .all(|w| w[1].minute - w[0].minute == TimeDelta::minutes(1))
    );
    let episodes = sleep_episodes(&records);
    for e in &episodes {
        assert!(e.start < e.end);
        assert!(records.first().is_some_and(|r| r.minute <= e.start));
        assert!(
            records
                .last()
                .is_some_and(|r| e.end <= r.minute + TimeDelta::minutes(1))
        );
    }
    assert!(episodes.windows(2).all(|w| w[0].end <= w[1].start));
});
