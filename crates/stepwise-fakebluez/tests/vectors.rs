//! The simulators against recorded traffic: given the situation a recording was made in (the
//! band's key, its random number, its stored minutes, its zone), the simulated band must
//! answer the recorded client's writes with exactly the recorded bytes. The protocol machines
//! are checked against the same recordings (`stepwise-wearables/tests/vectors.rs`), so a
//! simulator and a machine can no longer share a misreading.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use stepwise_fakebluez::sim::miband::{
    ACTIVITY_DATA, AUTH, CURRENT_TIME, FETCH_CONTROL, MiBand, RecordSize,
};
use stepwise_fakebluez::{Action, Counters, Link, Peripheral};
use stepwise_wearables::btsnoop;
use stepwise_wearables::replay::{From, Transcript};
use uuid::Uuid;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/wearables")
}

/// Feeds the recorded writes to `band` in order and returns what it notified, per write,
/// next to what the recording holds after that write (on the band's protocol
/// characteristics).
fn replay_against(band: &mut MiBand, events: &[(stepwise_wearables::replay::Event, Vec<u8>)]) {
    let driven = [AUTH, FETCH_CONTROL, ACTIVITY_DATA];
    let mut recorded: Vec<(Uuid, Vec<u8>)> = Vec::new();
    let mut produced: Vec<(Uuid, Vec<u8>)> = Vec::new();
    for (event, bytes) in events {
        match event.from {
            From::Band if driven.contains(&event.characteristic) => {
                recorded.push((event.characteristic, bytes.clone()));
            }
            // The simulator speaks the protocol, not the vendor app's settings.
            From::Collector
                if [AUTH, FETCH_CONTROL, CURRENT_TIME].contains(&event.characteristic) =>
            {
                let mut counters = Counters::default();
                let mut link = Link::new(1, &mut counters);
                band.on_write(event.characteristic, bytes, &mut link)
                    .unwrap_or_else(|e| panic!("the band refused {bytes:02x?}: {e:?}"));
                produced.extend(link.take_actions().into_iter().filter_map(|a| match a {
                    Action::Notify {
                        characteristic,
                        value,
                        ..
                    } => Some((characteristic, value)),
                    Action::DropLink => None,
                }));
            }
            From::Band | From::Collector => {}
        }
    }
    // The recording may end before the band's last notifications (a cut log): compare what
    // it holds.
    assert!(
        produced.len() >= recorded.len(),
        "the band sent {} notifications, the recording {}",
        produced.len(),
        recorded.len()
    );
    for (i, (want, got)) in recorded.iter().zip(&produced).enumerate() {
        assert_eq!(got, want, "notification {i}");
    }
}

fn transcript(path: &str) -> Transcript {
    let text = std::fs::read_to_string(fixtures().join(path)).expect("fixture");
    Transcript::parse(&text).expect("a valid transcript")
}

/// The 16 random bytes the band sent in `10 02 01 <random>`.
fn recorded_challenge(t: &[(stepwise_wearables::replay::Event, Vec<u8>)]) -> [u8; 16] {
    t.iter()
        .find(|(e, b)| e.characteristic == AUTH && b.starts_with(&[0x10, 0x02, 0x01]))
        .and_then(|(_, b)| b.get(3..19)?.try_into().ok())
        .expect("a recorded challenge")
}

/// The key the recorded client wrote in clear (`01 00 <key>`).
fn recorded_key(t: &[(stepwise_wearables::replay::Event, Vec<u8>)]) -> [u8; 16] {
    t.iter()
        .find(|(e, b)| e.characteristic == AUTH && b.len() == 18 && b[0] == 0x01)
        .and_then(|(_, b)| b.get(2..)?.try_into().ok())
        .expect("a recorded key")
}

#[test]
fn a_simulated_mi_band_2_answers_the_recorded_pairing_byte_for_byte() {
    // Wireshark decode in zviryatko/notifymi, and the btsnoop log from creotiv/MiBand2.
    let from_text = transcript("huami/mi-band-2-mifit-auth-notifymi.jsonl").events;
    let bytes = std::fs::read(fixtures().join("btsnoop/miband2-mifit-pairing-2018.btsnoop"))
        .expect("fixture");
    let from_log = btsnoop::parse(&bytes, &HashMap::new())
        .expect("a btsnoop log")
        .events;
    for events in [from_text, from_log] {
        let key = recorded_key(&events);
        let mut band = MiBand::new(
            "MI Band 2",
            RecordSize::Four,
            [0; 16],
            chrono_tz::UTC,
            vec![],
        )
        .with_challenge(recorded_challenge(&events));
        replay_against(&mut band, &events);
        assert!(band.authenticated());
        assert_eq!(band.key(), key, "the band took the key the client set");
    }
}

/// The situation of a recorded fetch: the band's answer `10 01 01 <samples> <start> <tz>`
/// gives how many minutes it holds from when, in which zone (whole hours here).
fn recorded_fetch(
    events: &[(stepwise_wearables::replay::Event, Vec<u8>)],
) -> (u32, DateTime<Utc>, chrono_tz::Tz) {
    let answer = events
        .iter()
        .find(|(e, b)| e.characteristic == FETCH_CONTROL && b.starts_with(&[0x10, 0x01, 0x01]))
        .map(|(_, b)| b.clone())
        .expect("a recorded fetch answer");
    let samples = u32::from_le_bytes(answer[3..7].try_into().expect("4 bytes"));
    let year = i32::from(u16::from_le_bytes([answer[7], answer[8]]));
    let quarter_hours = i32::from(answer[14] as i8);
    assert_eq!(quarter_hours % 4, 0, "a whole-hour zone");
    let local = chrono::NaiveDate::from_ymd_opt(year, answer[9].into(), answer[10].into())
        .and_then(|d| d.and_hms_opt(answer[11].into(), answer[12].into(), answer[13].into()))
        .expect("a valid start");
    let start = local.and_utc() - chrono::TimeDelta::minutes(i64::from(quarter_hours) * 15);
    // Etc/GMT zones count the other way: UTC−4 is Etc/GMT+4.
    let zone = match -quarter_hours / 4 {
        0 => "Etc/UTC".to_string(),
        h => format!("Etc/GMT{h:+}"),
    };
    (samples, start, zone.parse().expect("an Etc zone"))
}

#[test]
fn simulated_bands_answer_every_recorded_fetch_with_the_recorded_bytes() {
    // Every recorded fetch (Gadgetbridge's Mi Band 2 with 962 samples, Amazfish's Mi Band 4
    // with 490 and Mi Band 3 with 6): the band holding that many minutes from that start, in
    // that zone, answers the recorded request with the recorded bytes, and its first data
    // packet carries the recorded records.
    let mut replayed = 0;
    for path in [
        "huami/mi-band-2-gadgetbridge-fetch-962.jsonl",
        "huami/mi-band-4-amazfish-fetch-490.jsonl",
        "huami/mi-band-3-amazfish-fetch-6.jsonl",
    ] {
        let t = transcript(path);
        let (samples, first, zone) = recorded_fetch(&t.events);
        let size = if t.header.device == "mi-band-5" || t.header.device == "mi-band-6" {
            8
        } else {
            4
        };
        let recorded: Vec<u8> = t
            .events
            .iter()
            .find(|(e, _)| e.characteristic == ACTIVITY_DATA)
            .map(|(_, b)| b[1..].to_vec())
            .unwrap_or_default();
        // Minutes the log does not show: any records will do, they are not compared.
        let mut records = recorded.clone();
        let filler: Vec<u8> = [0x01, 0x10, 0x05, 0xff].repeat(size / 4);
        records.extend(filler.repeat(samples as usize - recorded.len() / size));
        let record_size = if size == 8 {
            RecordSize::Eight
        } else {
            RecordSize::Four
        };
        let name = match t.header.device.as_str() {
            "mi-band-4" => "Mi Smart Band 4",
            "mi-band-3" => "Mi Band 3",
            _ => "MI Band 2",
        };
        let mut band = MiBand::new(name, record_size, [7; 16], zone, vec![])
            .with_recorded_records(first, &records);
        // Authenticate on this link first (the recordings start after that).
        let mut counters = Counters::default();
        let mut link = Link::new(1, &mut counters);
        band.on_write(AUTH, &[0x02, 0x00], &mut link).expect("ask");
        let challenge = match link.take_actions().first() {
            Some(Action::Notify { value, .. }) => value[3..19].to_vec(),
            other => panic!("{other:?}"),
        };
        let mut answer = vec![0x03, 0x00];
        answer.extend_from_slice(&aes_ecb(&[7; 16], &challenge));
        band.on_write(AUTH, &answer, &mut link).expect("answer");
        assert!(band.authenticated(), "{path}");
        replay_against(&mut band, &t.events);
        replayed += 1;
    }
    assert_eq!(replayed, 3);
}

fn aes_ecb(key: &[u8; 16], block: &[u8]) -> [u8; 16] {
    use aes::cipher::{BlockEncrypt, KeyInit};
    let cipher = aes::Aes128::new(&(*key).into());
    let mut b: [u8; 16] = block.try_into().expect("16 bytes");
    let mut ga = b.into();
    cipher.encrypt_block(&mut ga);
    b = ga.into();
    b
}

#[test]
fn a_simulated_infinitime_reads_back_every_recorded_count() {
    // InfiniTime issues #1270 (the previous day's count until 09:29) and #1789 (a corrupt
    // reading): the simulated watch, set to each recorded count, sends the recorded bytes.
    use stepwise_fakebluez::sim::infinitime::{InfiniTime, STEP_COUNT};
    let mut compared = 0;
    for path in [
        "infinitime/late-reset.jsonl",
        "infinitime/corrupt-reading.jsonl",
    ] {
        let t = transcript(path);
        let mut watch = InfiniTime::new();
        for (event, bytes) in &t.events {
            if event.characteristic != STEP_COUNT {
                continue;
            }
            let count = u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes"));
            let mut counters = Counters::default();
            let mut link = Link::new(1, &mut counters);
            watch.set_step_count(count, &mut link);
            let notified = link.take_actions();
            assert!(
                matches!(notified.first(), Some(Action::Notify { value, .. }) if value == bytes),
                "{path}: {notified:?}"
            );
            assert_eq!(
                watch.on_read(STEP_COUNT, &mut link).as_ref(),
                Ok(bytes),
                "{path}"
            );
            compared += 1;
        }
    }
    assert!(compared >= 20, "{compared} counts");
}

#[test]
fn a_simulated_mi_band_5_sends_the_recorded_records_as_the_real_band_did() {
    // satcar77/miband4 issue #57: a Mi Band 5 fetch from 2021-12-05 23:00 local (UTC+1), its
    // activity notifications 17 bytes each. A simulated Mi Band 5 holding those two recorded
    // 8-byte records sends them at the default MTU (23) as one 17-byte notification: the
    // counter and the 16 recorded bytes.
    let text = std::fs::read_to_string(fixtures().join("huami/records/mi-band-5-satcar77-57.json"))
        .expect("fixture");
    let vector: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let recorded: Vec<u8> = vector["record_hex"]
        .as_array()
        .expect("records")
        .iter()
        .flat_map(|h| hex_bytes(h.as_str().expect("hex")))
        .collect();
    let first = chrono::DateTime::parse_from_rfc3339("2021-12-05T22:00:00Z")
        .expect("time")
        .to_utc();
    let zone: chrono_tz::Tz = "Etc/GMT-1".parse().expect("UTC+1");
    let mut band = MiBand::mi_band_5([7; 16], zone, vec![]).with_recorded_records(first, &recorded);
    let mut counters = Counters::default();
    let mut link = Link::new(1, &mut counters);
    // Gadgetbridge's encrypted variant, which the collector uses on a Mi Band 5.
    band.on_write(AUTH, &[0x82, 0x00, 0x02, 0x01, 0x00], &mut link)
        .expect("ask");
    let challenge = match link.take_actions().first() {
        Some(Action::Notify { value, .. }) => value[3..19].to_vec(),
        other => panic!("{other:?}"),
    };
    let mut answer = vec![0x83, 0x00];
    answer.extend_from_slice(&aes_ecb(&[7; 16], &challenge));
    band.on_write(AUTH, &answer, &mut link).expect("answer");
    assert!(band.authenticated());
    // 2021-12-05 23:00:00 local, zone +4 quarter hours.
    let request = [0x01, 0x01, 0xE5, 0x07, 12, 5, 23, 0, 0, 4];
    band.on_write(FETCH_CONTROL, &request, &mut link)
        .expect("fetch");
    band.on_write(FETCH_CONTROL, &[0x02], &mut link)
        .expect("start");
    let data: Vec<Vec<u8>> = link
        .take_actions()
        .into_iter()
        .filter_map(|a| match a {
            Action::Notify {
                characteristic,
                value,
                ..
            } if characteristic == ACTIVITY_DATA => Some(value),
            _ => None,
        })
        .collect();
    assert_eq!(data.len(), 1, "{data:02x?}");
    assert_eq!(data[0].len(), 17, "as long as the band's in the report");
    assert_eq!(
        data[0][1..],
        recorded[..],
        "the recorded bytes, as recorded"
    );
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digit"))
        .collect()
}
