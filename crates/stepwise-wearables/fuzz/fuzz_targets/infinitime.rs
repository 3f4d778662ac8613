//! InfiniTime decoders, the step counter fed arbitrary observations and a sync fed an
//! arbitrary read: never a panic, every delta's minutes add up to its steps, and a sync either
//! fails or gives exactly one event.
#![no_main]

use chrono::{DateTime, TimeDelta, Utc};
use libfuzzer_sys::fuzz_target;
use stepwise_wearables::Protocol;
use stepwise_wearables::infinitime::{
    STEP_COUNT, StepCounter, Sync, decode_current_time, decode_step_count, encode_current_time,
};

fuzz_target!(|input: (Vec<u8>, Vec<(u32, i32)>)| {
    let (bytes, observations) = input;
    let _ = decode_step_count(&bytes);
    if let Ok(local) = decode_current_time(&bytes) {
        assert_eq!(decode_current_time(&encode_current_time(local)), Ok(local));
    }
    let start = DateTime::<Utc>::from_timestamp(1_792_000_000, 0).unwrap_or_default();
    let mut sync = Sync::new(chrono_tz::Europe::Berlin, None, start);
    while sync.poll_request().is_some() {}
    match sync.handle_read(STEP_COUNT, &bytes) {
        Ok(()) => assert!(sync.poll_event().is_some()),
        Err(_) => assert!(sync.poll_event().is_none()),
    }
    assert!(sync.is_finished());
    let mut counter = StepCounter::new(chrono_tz::Europe::Berlin, None);
    for (count, seconds) in observations {
        let at = start + TimeDelta::seconds(i64::from(seconds));
        if let Some(delta) = counter.observe(count, at) {
            assert!(delta.steps <= count);
            let spread: u64 = delta.minutes().iter().map(|&(_, s)| u64::from(s)).sum();
            assert_eq!(spread, u64::from(delta.steps));
        }
    }
});
