//! An uploaded file: arbitrary bytes through `read_export`, the dispatch by content (SQLite,
//! zip, XML) and whichever reader that picks — an error or an export, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stepwise_imports::archive::Limits;
use stepwise_imports::{Options, read_export};

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!(
        "stepwise-imports-fuzz-archive-{}",
        std::process::id()
    ));
    let scratch = dir.join("scratch");
    if std::fs::create_dir_all(&scratch).is_err() {
        return;
    }
    let path = dir.join("upload");
    if std::fs::write(&path, data).is_ok() {
        let options = Options {
            limits: Limits {
                max_entry_bytes: 64 << 20,
                max_total_bytes: 128 << 20,
                ..Limits::default()
            },
            scratch: &scratch,
        };
        let _ = read_export(&path, &options, &mut |_| {});
    }
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(scratch.join("gadgetbridge.sqlite"));
});
