//! `stepwise band replay`'s inputs: arbitrary btsnoop logs (behind a valid header, so records,
//! ACL fragments and ATT are reached) and arbitrary JSON-lines transcripts (behind a valid
//! Huami or InfiniTime header), replayed through the machines. Never a panic: a named error or
//! a report.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use stepwise_wearables::btsnoop;
use stepwise_wearables::replay::{self, Header, Start, Transcript};

const HEADERS: [&str; 3] = [
    r#"{"device":"mi-band-4","key":null,"zone":"Europe/Berlin","now":"2026-11-20T08:00:00Z","since":"2026-11-19T08:00:00Z","start":"fetch"}"#,
    r#"{"device":"mi-band-2","key":"000102030405060708090a0b0c0d0e0f","zone":"UTC","now":"2026-11-20T08:00:00Z","since":null,"start":"connect"}"#,
    r#"{"device":"infinitime","key":null,"zone":"Europe/Berlin","now":"2026-11-20T08:00:00Z","since":null,"start":"connect"}"#,
];

fuzz_target!(|input: (u8, Vec<u8>)| {
    let (which, body) = input;
    if which % 2 == 0 {
        let mut log = b"btsnoop\0".to_vec();
        log.extend_from_slice(&1u32.to_be_bytes());
        log.extend_from_slice(&1002u32.to_be_bytes());
        log.extend_from_slice(&body);
        if let Ok(parsed) = btsnoop::parse(&log, &HashMap::new()) {
            let header = Header {
                device: if which % 4 == 0 {
                    "mi-band-5"
                } else {
                    "mi-band-2"
                }
                .into(),
                key: None,
                zone: "UTC".into(),
                now: parsed.first.unwrap_or_default(),
                since: None,
                start: Start::Connect,
            };
            if let Ok(t) = Transcript::from_events(header, parsed.events) {
                let _ = replay::replay(&t);
            }
        }
    } else if let Ok(text) = std::str::from_utf8(&body) {
        let header = HEADERS[usize::from(which / 2) % HEADERS.len()];
        if let Ok(t) = Transcript::parse(&format!("{header}\n{text}")) {
            let _ = replay::replay(&t);
        }
    }
});
