//! Gadgetbridge: arbitrary bytes as the database file (SQLite opens a path, so the input is
//! written to a file of this process's own first) — an error or an export, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stepwise_imports::gadgetbridge;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!(
        "stepwise-imports-fuzz-gadgetbridge-{}.sqlite",
        std::process::id()
    ));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let _ = gadgetbridge::read(&path);
    let _ = std::fs::remove_file(&path);
});
