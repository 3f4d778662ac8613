//! Fitbit in Google Takeout: the first byte picks which Takeout file the rest of the input is,
//! packed into a zip beside a profile; the whole input is also tried as a zip of its own — an
//! error or an export, never a panic.
#![no_main]

use std::io::{Cursor, Write};

use libfuzzer_sys::fuzz_target;
use stepwise_imports::archive::{Archive, Limits};
use stepwise_imports::fitbit;

const PROFILE: &str = "Takeout/Fitbit/Your Profile/Profile.csv";
const PROFILE_CSV: &[u8] = include_bytes!("../../tests/fixtures/fitbit/Profile.csv");

/// Where the rest of the input goes, by the first byte.
const PATHS: [&str; 6] = [
    "Takeout/Fitbit/Global Export Data/steps-2024-03-30.json",
    "Takeout/Fitbit/Global Export Data/sleep-2024-03-30.json",
    "Takeout/Google Health/Physical Activity_GoogleData/steps_2026-10-01.csv",
    "Takeout/Google Health/Health Fitness Data_GoogleData/UserSleepStages_2026-10-01.csv",
    PROFILE,
    "Takeout/Fitbit/Global Export Data/steps-2024-03-31.json",
];

fn zip_of(files: &[(&str, &[u8])]) -> Option<Vec<u8>> {
    let mut out = Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in files {
        zip.start_file(*name, options).ok()?;
        zip.write_all(data).ok()?;
    }
    zip.finish().ok()?;
    Some(out.into_inner())
}

fn read(bytes: Vec<u8>) {
    if let Ok(mut archive) = Archive::new(Cursor::new(bytes), Limits::default()) {
        let _ = fitbit::read(&mut archive, &mut |_, _| {});
    }
}

fuzz_target!(|data: &[u8]| {
    if let Some((&which, rest)) = data.split_first() {
        let path = PATHS[usize::from(which) % PATHS.len()];
        let files: Vec<(&str, &[u8])> = if path == PROFILE {
            vec![
                (PROFILE, rest),
                (
                    PATHS[1],
                    include_bytes!("../../tests/fixtures/fitbit/sleep-2024-03-30.json"),
                ),
            ]
        } else {
            vec![(PROFILE, PROFILE_CSV), (path, rest)]
        };
        if let Some(bytes) = zip_of(&files) {
            read(bytes);
        }
    }
    read(data.to_vec());
});
