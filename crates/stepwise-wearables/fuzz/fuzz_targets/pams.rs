//! PAMS: the reassembler, summary, control point and descriptor decoders, and the fetch fed
//! arbitrary indications — never a panic; what decodes encodes back the same.
#![no_main]

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use stepwise_wearables::Protocol;
use stepwise_wearables::pams::{
    CONTROL_POINT, FEATURES, Reassembler, SESSION_DESCRIPTOR, STEP_COUNTER_SUMMARY, Sync,
    decode_control_point_response, decode_session_descriptor, decode_step_counter_summary,
    encode_session_descriptor, encode_step_counter_summary,
};

fuzz_target!(|input: (Vec<Vec<u8>>, Vec<(u8, Vec<u8>)>)| {
    let (segments, indications) = input;
    let mut reassembler = Reassembler::new();
    for segment in &segments {
        let _ = decode_control_point_response(segment);
        if let Ok(d) = decode_session_descriptor(segment) {
            assert_eq!(encode_session_descriptor(&d), *segment);
        }
        if let Ok(Some(record)) = reassembler.push(segment)
            && let Ok(summary) = decode_step_counter_summary(&record)
        {
            assert_eq!(encode_step_counter_summary(&summary), record);
        }
    }
    let since = DateTime::<Utc>::from_timestamp(1_792_000_000, 0).unwrap_or_default();
    let mut sync = Sync::new(since);
    if sync.handle_read(FEATURES, &[0, 0, 0, 0]).is_err() {
        panic!("features refused");
    }
    for (which, value) in indications {
        let characteristic =
            [CONTROL_POINT, SESSION_DESCRIPTOR, STEP_COUNTER_SUMMARY][usize::from(which % 3)];
        let _ = sync.handle_notification(characteristic, &value);
        while sync.poll_request().is_some() {}
        while sync.poll_event().is_some() {}
        if sync.is_finished() {
            break;
        }
    }
});
