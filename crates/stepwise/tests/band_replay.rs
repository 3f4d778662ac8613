//! `stepwise band replay` as programs outside call it: one JSON object on stdout, exit 0 when
//! the recording agrees, 1 on a mismatch, 2 on unreadable input with a one-line error.

use std::path::PathBuf;
use std::process::Command;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/wearables")
}

fn replay(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_stepwise"))
        .args(["band", "replay"])
        .args(args)
        .output()
        .expect("stepwise runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every transcript (`.jsonl`) under the fixtures, in every folder.
fn every_transcript(dir: &std::path::Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("fixture folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            every_transcript(&path, found);
        } else if path.extension().is_some_and(|e| e == "jsonl") {
            found.push(path);
        }
    }
}

#[test]
fn every_recorded_transcript_in_the_fixtures_agrees() {
    let mut files = Vec::new();
    every_transcript(&fixtures(), &mut files);
    assert!(files.len() >= 6, "{files:?}");
    for file in files {
        let (code, stdout, stderr) = replay(&[file.to_str().expect("path")]);
        assert_eq!(code, 0, "{}: {stdout}{stderr}", file.display());
        let report: serde_json::Value =
            serde_json::from_str(stdout.trim()).expect("one JSON object");
        assert_eq!(report["agree"], true, "{}", file.display());
    }
}

#[test]
fn recorded_transcripts_and_the_btsnoop_log_agree() {
    let fetch = fixtures().join("huami/mi-band-2-gadgetbridge-fetch-962.jsonl");
    let (code, stdout, _) = replay(&[fetch.to_str().expect("path")]);
    assert_eq!(code, 0, "{stdout}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    assert_eq!(report["agree"], true);
    assert_eq!(report["samples_announced"], 962);
    assert_eq!(report["records_received"], 4);
    assert_eq!(report["complete"], false);
    assert_eq!(report["minutes"][0]["complete"], false);
    let log = fixtures().join("btsnoop/miband2-mifit-pairing-2018.btsnoop");
    let (code, stdout, stderr) = replay(&[
        log.to_str().expect("path"),
        "--device",
        "mi-band-2",
        "--zone",
        "Etc/GMT-2",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
}

#[test]
fn a_mismatch_exits_1_and_bad_input_exits_2() {
    let dir = std::env::temp_dir().join(format!("stepwise-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // The recorded fetch, claimed to come from a band in another zone: the request differs.
    let text =
        std::fs::read_to_string(fixtures().join("huami/mi-band-2-gadgetbridge-fetch-962.jsonl"))
            .expect("fixture");
    let moved = text.replacen("\"Etc/GMT+5\"", "\"Europe/Berlin\"", 1);
    let file = dir.join("moved.jsonl");
    std::fs::write(&file, moved).expect("write");
    let (code, stdout, _) = replay(&[file.to_str().expect("path")]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("\"match\":false"), "{stdout}");
    // Truncated JSON, a truncated btsnoop log, a missing file.
    let cut = dir.join("cut.jsonl");
    std::fs::write(&cut, &text[..text.len() / 2]).expect("write");
    let (code, stdout, stderr) = replay(&[cut.to_str().expect("path")]);
    assert_eq!((code, stdout.as_str()), (2, ""), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    let log = std::fs::read(fixtures().join("btsnoop/miband2-mifit-pairing-2018.btsnoop"))
        .expect("fixture");
    let short = dir.join("short.btsnoop");
    std::fs::write(&short, &log[..1000]).expect("write");
    let (code, _, stderr) = replay(&[short.to_str().expect("path"), "--device", "mi-band-2"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("truncated"), "{stderr}");
    let (code, _, stderr) = replay(&["/nonexistent/recording.jsonl"]);
    assert_eq!(code, 2, "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
