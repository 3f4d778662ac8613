//! The three simulators seen through btleplug 0.11: a scan lists them with their names and
//! advertised services; a Mi Band sync (auth, fetch, ack) survives an injected disconnect
//! mid-fetch; an adapter that is off refuses to scan.

mod common;

use aes::Aes128;
use aes::cipher::{BlockEncrypt, KeyInit};
use btleplug::api::{Central, CentralEvent, CentralState, Peripheral as _, WriteType};
use btleplug::platform::Peripheral;
use chrono::{Datelike, NaiveDate, TimeZone, Timelike, Utc};
use futures::{Stream, StreamExt};
use std::time::Duration;
use stepwise_fakebluez::sim::miband::{ACTIVITY_DATA, AUTH, FETCH_CONTROL, SERVICE_FEE0};
use stepwise_fakebluez::sim::{InfiniTime, MiBand, MiBandFaults, PamsDevice, infinitime, pams};
use stepwise_fakebluez::wearer::Wearer;
use stepwise_fakebluez::{Bus, DeviceSpec, FakeBluez, LinkModel, Scenario};
use uuid::Uuid;

use common::{adapter, find, is_child, run_child, run_parent, say, scan, wait_event};

const BAND: &str = "E1:5B:9A:3C:42:01";
const WATCH: &str = "D4:22:CD:00:11:02";
const PAMS: &str = "C8:3A:35:00:00:03";
const HIDDEN: &str = "C8:3A:35:00:00:04";
const KEY: [u8; 16] = *b"stepwise-key-16b";

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 5, 4).expect("date")
}

fn scenario(faults: MiBandFaults) -> Scenario {
    let zone = chrono_tz::Europe::Berlin;
    let log = Wearer::generate(zone, day(), 1, 3, None);
    Scenario {
        link: LinkModel {
            per_notification: Duration::from_micros(200),
            connect: Duration::from_millis(20),
            ..LinkModel::default()
        },
        ..Scenario::new(vec![
            DeviceSpec::new(
                BAND,
                MiBand::mi_band_5(KEY, zone, log.minutes.clone()).with_faults(faults),
            )
            .random_address(),
            DeviceSpec::new(WATCH, InfiniTime::new()).random_address(),
            DeviceSpec::new(PAMS, PamsDevice::new(zone, log.walks())),
            DeviceSpec::new(HIDDEN, InfiniTime::new()).out_of_range(),
        ])
    }
}

#[test]
fn scan_lists_the_bands_with_names_and_services() {
    if is_child() {
        return run_child(|| async {
            let central = adapter().await?;
            anyhow::ensure!(central.adapter_state().await? == CentralState::PoweredOn);
            scan(&central).await?;
            for (address, name, service) in [
                (BAND, "Mi Smart Band 5", SERVICE_FEE0),
                // As the real watch: its DFU service, not the Motion service.
                (WATCH, "InfiniTime", infinitime::DFU_SERVICE),
                (PAMS, "PAMS Step Monitor", pams::SERVICE),
            ] {
                let p = find(&central, address).await?;
                let props = p
                    .properties()
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("no properties"))?;
                anyhow::ensure!(props.local_name.as_deref() == Some(name), "{props:?}");
                anyhow::ensure!(props.services.contains(&service), "{props:?}");
                anyhow::ensure!(props.rssi.is_some(), "no RSSI: {props:?}");
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            let listed = central.peripherals().await?;
            anyhow::ensure!(listed.len() == 3, "{} peripherals listed", listed.len());
            central.stop_scan().await?;
            Ok(())
        });
    }
    let bus = Bus::start().expect("bus");
    let _fake = FakeBluez::start(&bus, scenario(MiBandFaults::default())).expect("fake");
    run_parent(
        "scan_lists_the_bands_with_names_and_services",
        bus.address(),
        |_| {},
    );
}

#[test]
fn bluetooth_off_refuses_to_scan() {
    if is_child() {
        return run_child(|| async {
            let central = adapter().await?;
            anyhow::ensure!(central.adapter_state().await? == CentralState::PoweredOff);
            anyhow::ensure!(
                scan(&central).await.is_err(),
                "a scan started with Bluetooth off"
            );
            Ok(())
        });
    }
    let bus = Bus::start().expect("bus");
    let mut off = scenario(MiBandFaults::default());
    off.powered = false;
    let _fake = FakeBluez::start(&bus, off).expect("fake");
    run_parent("bluetooth_off_refuses_to_scan", bus.address(), |_| {});
}

type Notes = std::pin::Pin<Box<dyn Stream<Item = btleplug::api::ValueNotification> + Send>>;

async fn next_on(notes: &mut Notes, uuid: Uuid) -> anyhow::Result<Vec<u8>> {
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), notes.next())
            .await?
            .ok_or_else(|| anyhow::anyhow!("notifications ended"))?;
        if n.uuid == uuid {
            return Ok(n.value);
        }
    }
}

/// A write request (with response), as the PAMS control point takes.
async fn write_request(p: &Peripheral, uuid: Uuid, value: &[u8]) -> anyhow::Result<()> {
    write_as(p, uuid, value, WriteType::WithResponse).await
}

/// A write command: the band declares its auth and fetch control write-without-response only.
async fn write(p: &Peripheral, uuid: Uuid, value: &[u8]) -> anyhow::Result<()> {
    write_as(p, uuid, value, WriteType::WithoutResponse).await
}

async fn write_as(p: &Peripheral, uuid: Uuid, value: &[u8], kind: WriteType) -> anyhow::Result<()> {
    let c = p
        .characteristics()
        .into_iter()
        .find(|c| c.uuid == uuid)
        .ok_or_else(|| anyhow::anyhow!("{uuid} missing"))?;
    p.write(&c, value, kind).await?;
    Ok(())
}

async fn subscribe(p: &Peripheral, uuid: Uuid) -> anyhow::Result<()> {
    let c = p
        .characteristics()
        .into_iter()
        .find(|c| c.uuid == uuid)
        .ok_or_else(|| anyhow::anyhow!("{uuid} missing"))?;
    p.subscribe(&c).await?;
    Ok(())
}

/// Connects, authenticates and asks for everything from the start of the day (UTC, offset 0).
/// Returns the notification stream and the announced byte count.
async fn start_fetch(band: &Peripheral) -> anyhow::Result<(Notes, u32)> {
    band.connect().await?;
    band.discover_services().await?;
    let mut notes: Notes = band.notifications().await?;
    for c in [AUTH, FETCH_CONTROL, ACTIVITY_DATA] {
        subscribe(band, c).await?;
    }
    // A write request (with response) is refused, as the band's characteristic declares.
    anyhow::ensure!(
        write_request(band, AUTH, &[0x02, 0x00]).await.is_err(),
        "a write request to auth was accepted"
    );
    write(band, AUTH, &[0x02, 0x00]).await?;
    let challenge = next_on(&mut notes, AUTH).await?;
    anyhow::ensure!(challenge.len() == 19 && challenge[..3] == [0x10, 0x02, 0x01]);
    let mut block = [0u8; 16];
    block.copy_from_slice(&challenge[3..]);
    let mut b = block.into();
    Aes128::new(&KEY.into()).encrypt_block(&mut b);
    let encrypted: [u8; 16] = b.into();
    let mut answer = vec![0x03, 0x00];
    answer.extend_from_slice(&encrypted);
    write(band, AUTH, &answer).await?;
    anyhow::ensure!(
        next_on(&mut notes, AUTH).await? == [0x10, 0x03, 0x01],
        "auth refused"
    );
    let since = Utc
        .with_ymd_and_hms(day().year(), day().month(), day().day(), 0, 0, 0)
        .single()
        .ok_or_else(|| anyhow::anyhow!("time"))?
        - chrono::Duration::hours(2);
    let mut start = vec![0x01, 0x01];
    start.extend_from_slice(&(since.year() as u16).to_le_bytes());
    start.extend_from_slice(&[
        since.month() as u8,
        since.day() as u8,
        since.hour() as u8,
        0, // minute
        0, // seconds
        0, // offset (UTC)
    ]);
    write(band, FETCH_CONTROL, &start).await?;
    let a = next_on(&mut notes, FETCH_CONTROL).await?;
    anyhow::ensure!(a.len() == 15 && a[..3] == [0x10, 0x01, 0x01], "{a:02x?}");
    let count = u32::from_le_bytes([a[3], a[4], a[5], a[6]]);
    write(band, FETCH_CONTROL, &[0x02]).await?;
    Ok((notes, count))
}

#[test]
fn miband_sync_survives_a_disconnect_mid_fetch() {
    if is_child() {
        return run_child(|| async {
            let central = adapter().await?;
            let mut events = central.events().await?;
            scan(&central).await?;
            let band = find(&central, BAND).await?;

            // First connection: the band drops the link at data notification 5.
            let (mut notes, _) = start_fetch(&band).await?;
            for expected in 0..5u8 {
                let n = next_on(&mut notes, ACTIVITY_DATA).await?;
                anyhow::ensure!(n[0] == expected, "counter {} != {expected}", n[0]);
            }
            wait_event(
                &mut events,
                |e| matches!(e, CentralEvent::DeviceDisconnected(id) if *id == band.id()),
            )
            .await?;

            // Second connection: everything, in order, then the end marker; ack.
            let (mut notes, count) = start_fetch(&band).await?;
            let mut received = 0usize;
            let mut counter = 0u8;
            loop {
                let n = tokio::time::timeout(Duration::from_secs(10), notes.next())
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("notifications ended"))?;
                if n.uuid == FETCH_CONTROL {
                    anyhow::ensure!(n.value == [0x10, 0x02, 0x01], "{:02x?}", n.value);
                    break;
                }
                anyhow::ensure!(n.value[0] == counter, "counter gap");
                counter = counter.wrapping_add(1);
                received += n.value.len() - 1;
            }
            anyhow::ensure!(
                received == count as usize * 8,
                "{received} bytes for {count} minutes"
            );
            anyhow::ensure!(
                received == 1440 * 8,
                "{received} bytes for a day of minutes"
            );
            write(&band, FETCH_CONTROL, &[0x03]).await?;
            band.disconnect().await?;
            say("done");
            Ok(())
        });
    }
    let bus = Bus::start().expect("bus");
    let faults = MiBandFaults {
        disconnect_at_notification: Some((1, 5)),
        counter_gap_at: None,
        ..MiBandFaults::default()
    };
    let fake = FakeBluez::start(&bus, scenario(faults)).expect("fake");
    let mut done = false;
    run_parent(
        "miband_sync_survives_a_disconnect_mid_fetch",
        bus.address(),
        |w| {
            done |= w == "done";
        },
    );
    assert!(done);
    let stats = fake.stats(BAND).expect("stats");
    assert_eq!(stats.connections, 2);
    assert_eq!(stats.acks, 1);
    // Whole 8-byte records, two per notification at the default MTU 23.
    assert_eq!(stats.data_notifications, 5 + 1440 / 2);
    assert_eq!(stats.longest_notification, 17);
    assert_eq!(
        stats.refused_writes, 2,
        "one write request to auth per connection"
    );
}

#[test]
fn pams_sessions_are_indicated_through_btleplug() {
    if is_child() {
        return run_child(|| async {
            let central = adapter().await?;
            scan(&central).await?;
            let dev = find(&central, PAMS).await?;
            dev.connect().await?;
            dev.discover_services().await?;
            let mut notes: Notes = dev.notifications().await?;
            for c in [
                pams::CONTROL_POINT,
                pams::SESSION_DESCRIPTOR,
                pams::STEP_COUNTER_SUMMARY,
            ] {
                subscribe(&dev, c).await?;
            }
            write_request(&dev, pams::CONTROL_POINT, &[0x01]).await?;
            let mut descriptors = 0u16;
            let done = loop {
                let n = tokio::time::timeout(Duration::from_secs(10), notes.next())
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("indications ended"))?;
                if n.uuid == pams::SESSION_DESCRIPTOR {
                    descriptors += 1;
                } else if n.uuid == pams::CONTROL_POINT {
                    break n.value;
                }
            };
            anyhow::ensure!(done[0] == 0xFC, "{done:02x?}");
            anyhow::ensure!(u16::from_le_bytes([done[1], done[2]]) == descriptors);
            write_request(&dev, pams::CONTROL_POINT, &[0x03, 1, 0, 0xFF, 0xFF, 4]).await?;
            let mut segments = 0u32;
            let done = loop {
                let n = tokio::time::timeout(Duration::from_secs(10), notes.next())
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("indications ended"))?;
                if n.uuid == pams::STEP_COUNTER_SUMMARY {
                    anyhow::ensure!(n.value[0] == 0xC0, "one segment per record here");
                    segments += 1;
                } else if n.uuid == pams::CONTROL_POINT {
                    break n.value;
                }
            };
            anyhow::ensure!(done[0] == 0xFA, "{done:02x?}");
            anyhow::ensure!(u32::from_le_bytes([done[1], done[2], done[3], done[4]]) == segments);
            say(&format!("sessions {descriptors} records {segments}"));
            dev.disconnect().await?;
            Ok(())
        });
    }
    let bus = Bus::start().expect("bus");
    let fake = FakeBluez::start(&bus, scenario(MiBandFaults::default())).expect("fake");
    let zone = chrono_tz::Europe::Berlin;
    let log = Wearer::generate(zone, day(), 1, 3, None);
    let expected = format!(
        "sessions {} records {}",
        log.walks().len(),
        log.walks()[0].steps_per_minute.len()
    );
    let mut seen = String::new();
    run_parent(
        "pams_sessions_are_indicated_through_btleplug",
        bus.address(),
        |w| {
            seen = w.to_owned();
        },
    );
    assert_eq!(seen, expected);
    assert_eq!(
        fake.stats(PAMS).expect("stats").data_notifications,
        log.walks()[0].steps_per_minute.len() as u64
    );
}
