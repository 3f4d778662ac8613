//! Apple Health: arbitrary bytes as `export.xml`, streamed — an error or an export, never a
//! panic, and progress never past the bytes there are.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stepwise_imports::apple_health;

fuzz_target!(|data: &[u8]| {
    let mut reader = data;
    let mut last = 0u64;
    let _ = apple_health::read(&mut reader, &mut |done| last = last.max(done));
    assert!(
        last <= data.len() as u64,
        "progress {last} of {} bytes",
        data.len()
    );
});
