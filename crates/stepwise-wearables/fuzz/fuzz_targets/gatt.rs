//! Standard GATT decoders, device identification and key parsing: never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stepwise_wearables::Uuid;
use stepwise_wearables::device::identify;
use stepwise_wearables::gatt::{decode_battery_level, decode_dis_string};
use stepwise_wearables::huami::parse_key;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(level) = decode_battery_level(bytes) {
        assert!(level <= 100);
    }
    if let Ok(text) = decode_dis_string(bytes) {
        assert!(text.len() <= 64 && !text.ends_with('\0'));
    }
    let text = String::from_utf8_lossy(bytes);
    let _ = parse_key(&text);
    let services: Vec<Uuid> = bytes
        .chunks_exact(16)
        .filter_map(|c| Uuid::from_slice(c).ok())
        .collect();
    let _ = identify(Some(&text), &services);
    let _ = identify(None, &services);
});
