//! The fake proven with the real client: btleplug 0.11 (bluez-async, libdbus) scans,
//! connects, discovers, reads, writes, subscribes, disconnects and reconnects, and sees an
//! injected link loss.

mod common;

use std::time::Duration;

use btleplug::api::{Central, CentralEvent, Characteristic, Peripheral as _, WriteType};
use futures::StreamExt;
use stepwise_fakebluez::sim::{InfiniTime, uuid16};
use stepwise_fakebluez::{Bus, DeviceSpec, FakeBluez, LinkModel, Scenario};
use uuid::Uuid;

use common::{adapter, find, is_child, run_child, run_parent, say, scan, wait_event};

const WATCH: &str = "C0:FF:EE:00:00:01";
const FAR_WATCH: &str = "C0:FF:EE:00:00:09";
const STEP_COUNT: Uuid = Uuid::from_u128(0x00030001_78fc_48fe_8e23_433b3a1942d0);

fn characteristic(
    p: &btleplug::platform::Peripheral,
    uuid: Uuid,
) -> anyhow::Result<Characteristic> {
    p.characteristics()
        .into_iter()
        .find(|c| c.uuid == uuid)
        .ok_or_else(|| anyhow::anyhow!("characteristic {uuid} not discovered"))
}

fn watch_scenario() -> Scenario {
    Scenario::new(vec![
        DeviceSpec::new(WATCH, InfiniTime::new()).random_address(),
        DeviceSpec::new(FAR_WATCH, InfiniTime::new()).out_of_range(),
    ])
}

#[test]
fn infinitime_connect_read_write_notify_and_reconnect() {
    let paced = Scenario {
        link: LinkModel {
            per_notification: Duration::from_millis(40),
            connect: Duration::from_millis(10),
            ..LinkModel::default()
        },
        ..watch_scenario()
    };
    if is_child() {
        return run_child(|| async {
            let central = adapter().await?;
            scan(&central).await?;
            let watch = find(&central, WATCH).await?;
            let props = watch
                .properties()
                .await?
                .ok_or_else(|| anyhow::anyhow!("no props"))?;
            anyhow::ensure!(
                props.local_name.as_deref() == Some("InfiniTime"),
                "{props:?}"
            );
            for round in 0..2 {
                watch.connect().await?;
                anyhow::ensure!(watch.is_connected().await?, "not connected");
                watch.discover_services().await?;
                let battery = characteristic(&watch, uuid16(0x2A19))?;
                anyhow::ensure!(watch.read(&battery).await? == vec![87], "battery");
                let steps = characteristic(&watch, STEP_COUNT)?;
                let time = characteristic(&watch, uuid16(0x2A2B))?;
                let clock = [0xEA, 0x07, 11, 23, 4, 5, 6, 1, 0, 1];
                watch.write(&time, &clock, WriteType::WithResponse).await?;
                anyhow::ensure!(watch.read(&time).await? == clock, "clock");
                let mut notes = watch.notifications().await?;
                watch.subscribe(&steps).await?;
                let asked = std::time::Instant::now();
                say(&format!("subscribed{round}"));
                for expected in [100u32, 250] {
                    let n = tokio::time::timeout(Duration::from_secs(10), notes.next())
                        .await?
                        .ok_or_else(|| anyhow::anyhow!("notifications ended"))?;
                    anyhow::ensure!(n.uuid == STEP_COUNT, "{n:?}");
                    anyhow::ensure!(n.value == expected.to_le_bytes(), "{n:?}");
                }
                // Paced by the link model: one notification per 40 ms at most.
                let took = asked.elapsed();
                anyhow::ensure!(took >= Duration::from_millis(80), "unpaced: {took:?}");
                anyhow::ensure!(watch.read(&steps).await? == 250u32.to_le_bytes(), "read");
                watch.disconnect().await?;
                anyhow::ensure!(!watch.is_connected().await?, "still connected");
            }
            let all = central.peripherals().await?;
            anyhow::ensure!(
                all.iter().all(|p| p.address().to_string() != FAR_WATCH),
                "the out-of-range watch was listed"
            );
            Ok(())
        });
    }
    let bus = Bus::start().expect("bus");
    let fake = FakeBluez::start(&bus, paced).expect("fake");
    run_parent(
        "infinitime_connect_read_write_notify_and_reconnect",
        bus.address(),
        |word| {
            if word.starts_with("subscribed") {
                for n in [100, 250] {
                    fake.with_peripheral(WATCH, |w: &mut InfiniTime, link| {
                        w.set_step_count(n, link)
                    })
                    .expect("poke");
                }
            }
        },
    );
    let stats = fake.stats(WATCH).expect("stats");
    assert_eq!(stats.connections, 2);
    assert!(!stats.connected);
    assert_eq!(stats.data_notifications, 4);
    assert_eq!(stats.current_time_writes.len(), 2);
}

#[test]
fn injected_link_loss_is_seen_and_reconnect_works() {
    if is_child() {
        return run_child(|| async {
            let central = adapter().await?;
            let mut events = central.events().await?;
            scan(&central).await?;
            let watch = find(&central, WATCH).await?;
            watch.connect().await?;
            watch.discover_services().await?;
            say("drop");
            wait_event(
                &mut events,
                |e| matches!(e, CentralEvent::DeviceDisconnected(id) if *id == watch.id()),
            )
            .await?;
            anyhow::ensure!(
                !watch.is_connected().await?,
                "still connected after the loss"
            );
            watch.connect().await?;
            watch.discover_services().await?;
            let steps = characteristic(&watch, STEP_COUNT)?;
            let count = watch.read(&steps).await?;
            anyhow::ensure!(
                count == 500u32.to_le_bytes(),
                "steps read after the loss: {count:?}"
            );
            // A reboot drops the link and zeroes the count.
            say("reboot");
            wait_event(
                &mut events,
                |e| matches!(e, CentralEvent::DeviceDisconnected(id) if *id == watch.id()),
            )
            .await?;
            watch.connect().await?;
            watch.discover_services().await?;
            let steps = characteristic(&watch, STEP_COUNT)?;
            anyhow::ensure!(
                watch.read(&steps).await? == [0, 0, 0, 0],
                "count after reboot"
            );
            watch.disconnect().await?;
            Ok(())
        });
    }
    let bus = Bus::start().expect("bus");
    let fake = FakeBluez::start(&bus, watch_scenario()).expect("fake");
    run_parent(
        "injected_link_loss_is_seen_and_reconnect_works",
        bus.address(),
        |word| match word {
            "drop" => {
                fake.set_step_count(WATCH, 500).expect("steps");
                fake.drop_link(WATCH).expect("drop");
            }
            "reboot" => fake.reboot(WATCH).expect("reboot"),
            _ => {}
        },
    );
    let stats = fake.stats(WATCH).expect("stats");
    assert_eq!(stats.connections, 3);
    assert!(!stats.connected);
}
