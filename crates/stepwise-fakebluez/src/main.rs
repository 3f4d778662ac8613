//! `stepwise-fakebluez`: a fake BlueZ with three simulated wearables, for trying the band
//! collector without a band. Prints the bus address to export, then serves until Ctrl-C.

use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use clap::Parser;
use stepwise_fakebluez::sim::{InfiniTime, MiBand, PamsDevice};
use stepwise_fakebluez::wearer::Wearer;
use stepwise_fakebluez::{Bus, DeviceSpec, FakeBluez, LinkModel, Scenario};

const MI_BAND: &str = "E1:5B:9A:3C:42:01";
const INFINITIME: &str = "D4:22:CD:00:11:02";
const PAMS: &str = "C8:3A:35:00:00:03";

/// A fake BlueZ on a private D-Bus with a Mi Band 5, an InfiniTime watch and a PAMS device.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Days of the wearer's history on the Mi Band (ending now).
    #[arg(long, default_value_t = 7)]
    days: u32,
    /// Seed of the scripted wearer (and of the Mi Band's key).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The wearer's and the bands' time zone.
    #[arg(long, default_value = "Europe/Berlin")]
    zone: Tz,
    /// Delay before each activity-data notification, in milliseconds (7.5 is the fastest
    /// real connection interval).
    #[arg(long, default_value_t = 0.0)]
    link_delay_ms: f64,
    /// How long a connect takes, in milliseconds.
    #[arg(long, default_value_t = 300)]
    connect_delay_ms: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.link_delay_ms.is_finite() && (0.0..=10_000.0).contains(&args.link_delay_ms),
        "--link-delay-ms must be between 0 and 10000"
    );
    anyhow::ensure!(args.days <= 366, "--days must be at most 366");
    let now: DateTime<Utc> = std::time::SystemTime::now().into();
    let today = now.with_timezone(&args.zone).date_naive();
    let first = today - chrono::Duration::days(i64::from(args.days));
    let log = Wearer::generate(args.zone, first, args.days + 1, args.seed, Some(now));
    let mut key = [0u8; 16];
    for (i, b) in key.iter_mut().enumerate() {
        *b = (args.seed.rotate_left(i as u32 * 4) as u8)
            ^ 0x5Au8.wrapping_add((i as u8).wrapping_mul(17));
    }
    let scenario = Scenario {
        link: LinkModel {
            per_notification: Duration::from_secs_f64(args.link_delay_ms / 1000.0),
            connect: Duration::from_millis(args.connect_delay_ms),
            ..LinkModel::default()
        },
        ..Scenario::new(vec![
            DeviceSpec::new(
                MI_BAND,
                MiBand::mi_band_5(key, args.zone, log.minutes.clone()),
            )
            .random_address(),
            DeviceSpec::new(INFINITIME, InfiniTime::new()).random_address(),
            DeviceSpec::new(PAMS, PamsDevice::new(args.zone, log.walks())),
        ])
    };
    let bus = Bus::start()?;
    let _fake = FakeBluez::start(&bus, scenario)?;
    println!("export DBUS_SYSTEM_BUS_ADDRESS='{}'", bus.address());
    println!(
        "# mi-band-5   Mi Smart Band 5    {MI_BAND}  key {}",
        hex::encode(key)
    );
    println!(
        "#             {} minutes, {} steps",
        log.minutes.len(),
        log.total_steps()
    );
    println!("# infinitime  InfiniTime         {INFINITIME}");
    println!(
        "# pams        PAMS Step Monitor  {PAMS}  {} sessions",
        log.walks().len()
    );
    println!("# serving until Ctrl-C");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(tokio::signal::ctrl_c())?;
    Ok(())
}
