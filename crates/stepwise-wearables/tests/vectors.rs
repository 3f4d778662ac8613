//! Conformance vectors: conversations recorded from real bands and watches by people outside
//! this project (`tests/fixtures/wearables/*/SOURCES.md` names each source), replayed through
//! the protocol machines. Every write the machine makes must equal the recorded client's, and
//! the outcome must be what the source says (the `expect` block on line 1 of each transcript).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use stepwise_wearables::btsnoop;
use stepwise_wearables::replay::{self, Header, Start, Transcript};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/wearables")
}

fn transcripts(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("fixture folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_recorded_transcript_replays_as_its_source_says() {
    let mut replayed = 0;
    for dir in ["huami", "infinitime"] {
        for file in transcripts(&fixtures().join(dir)) {
            let text = std::fs::read_to_string(&file).expect("readable");
            let first: Value =
                serde_json::from_str(text.lines().next().expect("line 1")).expect("line 1 is JSON");
            let expect = &first["expect"];
            let transcript = Transcript::parse(&text).expect("a valid transcript");
            let report = replay::replay(&transcript).expect("replayable");
            let name = file.display();
            assert!(report.agree, "{name}: {report:#?}");
            assert_eq!(
                report.samples_announced,
                expect["samples_announced"].as_u64(),
                "{name}"
            );
            assert_eq!(
                Some(report.records_received),
                expect["records_received"].as_u64(),
                "{name}"
            );
            assert_eq!(
                Some(report.complete),
                expect["complete"].as_bool(),
                "{name}"
            );
            assert_eq!(report.error.as_deref(), expect["error"].as_str(), "{name}");
            replayed += 1;
        }
    }
    assert!(replayed >= 4, "only {replayed} transcripts");
}

#[test]
fn the_962_sample_answer_is_a_count_of_minutes() {
    // Gadgetbridge's log of a Mi Band 2: 962 samples announced, one 17-byte packet logged
    // (four 4-byte minutes) before the log was cut: listed, but not complete.
    let text =
        std::fs::read_to_string(fixtures().join("huami/mi-band-2-gadgetbridge-fetch-962.jsonl"))
            .expect("readable");
    let report = replay::replay(&Transcript::parse(&text).expect("valid")).expect("replayable");
    assert_eq!(report.samples_announced, Some(962));
    assert_eq!(report.minutes.len(), 4);
    assert!(report.minutes.iter().all(|m| !m.complete));
    assert_eq!(
        report.minutes[0].minute.to_rfc3339(),
        "2018-06-22T01:47:00+00:00",
        "21:47 at UTC−4, as the band answered"
    );
}

#[test]
fn infinitime_counts_from_the_previous_day_and_corrupt_readings_add_no_steps() {
    // InfiniTime issue #1270: the previous day's 13,660 until 09:29, then 0, then 1,150.
    let text =
        std::fs::read_to_string(fixtures().join("infinitime/late-reset.jsonl")).expect("readable");
    let report = replay::replay(&Transcript::parse(&text).expect("valid")).expect("replayable");
    let steps: u32 = report.minutes.iter().map(|m| m.steps).sum();
    assert_eq!(steps, 1150, "only the new day's steps");
    // Issue #1789: 536,876,864 seen twice.
    let text = std::fs::read_to_string(fixtures().join("infinitime/corrupt-reading.jsonl"))
        .expect("readable");
    let report = replay::replay(&Transcript::parse(&text).expect("valid")).expect("replayable");
    assert_eq!(report.minutes.iter().map(|m| m.steps).sum::<u32>(), 0);
}

#[test]
fn the_recorded_mi_band_2_pairing_replays_from_its_btsnoop_log() {
    let bytes = std::fs::read(fixtures().join("btsnoop/miband2-mifit-pairing-2018.btsnoop"))
        .expect("readable");
    let log = btsnoop::parse(&bytes, &HashMap::new()).expect("a btsnoop log");
    // The log's own discovery names the auth and fetch-control handles.
    assert_eq!(
        log.handles.get(&0x0054).map(|u| u.to_string()).as_deref(),
        Some("00000009-0000-3512-2118-0009af100700")
    );
    assert_eq!(
        log.handles.get(&0x0041).map(|u| u.to_string()).as_deref(),
        Some("00000004-0000-3512-2118-0009af100700")
    );
    let header = Header {
        device: "mi-band-2".into(),
        key: None, // written in clear in the log: the replay takes it from there
        zone: "Etc/GMT-2".into(),
        now: log.first.expect("a first packet"),
        since: None,
        start: Start::Connect,
    };
    let transcript = Transcript::from_events(header, log.events).expect("valid");
    let report = replay::replay(&transcript).expect("replayable");
    assert!(report.agree, "{report:#?}");
    assert_eq!(report.writes.len(), 4, "set key, ask, answer, clock");
    // A truncated log is a named error, never a panic.
    for cut in [20, 100, bytes.len() / 2, bytes.len() - 3] {
        match btsnoop::parse(&bytes[..cut], &HashMap::new()) {
            Ok(_) => {}
            Err(err) => assert!(err.to_string().contains("truncated"), "{err}"),
        }
    }
}

#[test]
fn a_recorded_mi_band_4_challenge_and_success_authenticate_the_machine() {
    // Gadgetbridge issue #1536: a Mi Band 4 answered the encrypted-auth request with
    // `10 82 01` + 16 random bytes, and the right answer with `10 83 01`. The machine, in its
    // own flow (Gadgetbridge's `82 00 02 01 00`), takes those recorded answers.
    use stepwise_wearables::{Protocol, Request, huami};
    let text = std::fs::read_to_string(
        fixtures().join("huami/answers/mi-band-4-encrypted-auth-gb1536.json"),
    )
    .expect("fixture");
    let vector: Value = serde_json::from_str(&text).expect("JSON");
    let answer = |name: &str| -> Vec<u8> {
        let h = vector["band_answers"][name].as_str().expect("hex");
        (0..h.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&h[i..i + 2], 16).expect("hex digit"))
            .collect()
    };
    let challenge = answer("challenge");
    assert_eq!(challenge.len(), 3 + 16);
    let key = [0x5a; 16];
    let now = chrono::DateTime::parse_from_rfc3339("2019-07-16T12:00:00Z")
        .expect("time")
        .to_utc();
    let mut config = huami::Config::new(
        huami::Model::MiBand4,
        key,
        now - chrono::TimeDelta::hours(1),
        chrono_tz::UTC,
    );
    config.clock = Some(now);
    let mut sync = huami::Sync::new(config);
    let writes = |sync: &mut huami::Sync| -> Vec<Vec<u8>> {
        std::iter::from_fn(|| sync.poll_request())
            .filter_map(|r| match r {
                Request::Write {
                    characteristic,
                    value,
                    ..
                } if characteristic == huami::AUTH => Some(value),
                _ => None,
            })
            .collect()
    };
    assert_eq!(writes(&mut sync), [vec![0x82, 0x00, 0x02, 0x01, 0x00]]);
    sync.handle_notification(huami::AUTH, &challenge)
        .expect("the recorded challenge is understood");
    let answered = writes(&mut sync);
    assert_eq!(answered.len(), 1);
    assert_eq!(answered[0][..2], [0x83, 0x00]);
    assert_eq!(
        answered[0].len(),
        2 + 16,
        "the random, encrypted with the key"
    );
    sync.handle_notification(huami::AUTH, &answer("success"))
        .expect("the recorded success is understood");
    assert_eq!(sync.poll_event(), Some(huami::Event::Authenticated));
}

#[test]
fn unreadable_transcripts_name_the_line() {
    let err = Transcript::parse("").unwrap_err();
    assert_eq!(err.line, 1);
    let err = Transcript::parse("{\"device\":\"mi-band-9\",\"key\":null,\"zone\":\"UTC\",\"now\":\"2026-01-01T00:00:00Z\",\"since\":null,\"start\":\"fetch\"}").unwrap_err();
    assert!(err.message.contains("mi-band-9"), "{err}");
    let header = "{\"device\":\"mi-band-4\",\"key\":null,\"zone\":\"UTC\",\"now\":\"2026-01-01T00:00:00Z\",\"since\":null,\"start\":\"fetch\"}";
    let err = Transcript::parse(&format!(
        "{header}\n{{\"from\":\"band\",\"op\":\"notify\",\"char\":\"00000004-0000-3512-2118-0009af100700\",\"hex\":\"1g\"}}"
    ))
    .unwrap_err();
    assert_eq!(err.line, 2);
    assert!(err.message.contains("hex"), "{err}");
    let err = Transcript::parse(&format!("{header}\n{{\"from\":\"band\"")).unwrap_err();
    assert_eq!(err.line, 2);
}

#[test]
fn recorded_mi_band_5_records_are_eight_bytes_each() {
    // satcar77/miband4 issue #57: a Mi Band 5's 17-byte notifications, read by a 4-byte parser,
    // gave alternating nonsense minutes; as 8-byte records they are one minute each.
    let text = std::fs::read_to_string(fixtures().join("huami/records/mi-band-5-satcar77-57.json"))
        .expect("fixture");
    let vector: Value = serde_json::from_str(&text).expect("JSON");
    let bytes: Vec<u8> = vector["record_hex"]
        .as_array()
        .expect("records")
        .iter()
        .flat_map(|h| {
            let h = h.as_str().expect("hex");
            (0..h.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&h[i..i + 2], 16).expect("hex digit"))
                .collect::<Vec<_>>()
        })
        .collect();
    let kind = stepwise_wearables::device::DeviceKind::from_kind(
        vector["device"].as_str().expect("device"),
    );
    let Some(stepwise_wearables::device::DeviceKind::Huami(model)) = kind else {
        panic!("a Huami band: {kind:?}");
    };
    assert_eq!(
        Some(model.record_size() as u64),
        vector["expect"]["record_size"].as_u64()
    );
    let start = chrono::DateTime::parse_from_rfc3339("2021-12-05T22:00:00Z")
        .expect("time")
        .to_utc();
    let records = stepwise_wearables::huami::decode_records(model, start, &bytes).expect("decoded");
    assert_eq!(
        Some(records.len() as u64),
        vector["expect"]["minutes"].as_u64()
    );
    // Kind 0xf3 (low nibble 3): not worn; heart rate 0xff: none; the extra bytes are ignored.
    assert!(records.iter().all(
        |r| r.activity == stepwise_wearables::records::Activity::NotWorn
            && r.heart_rate.is_none()
            && r.steps == 0
    ));
}
