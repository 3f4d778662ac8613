//! `band-sync`: a Huami sync of several days through the fake BlueZ with a modelled link
//! delay per data notification, run by the release `stepwise band sync` as a child process.
//! Reports the collector's own CPU time (user + system, from `getrusage` of waited-for
//! children) beside the modelled link time (notifications × delay); the target is at most 5 %.
//!
//! Each run starts its own private bus, fake BlueZ (a Mi Band with the scripted wearer's
//! minutes ending now), in-process server (SQLite) and outbox; pairs with `stepwise band pair`
//! (not measured); then measures `stepwise band sync` from spawn to exit, and checks that the
//! server holds every minute.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use chrono::{DateTime, Days, TimeDelta, Timelike, Utc};
use nix::sys::resource::{UsageWho, getrusage};
use nix::sys::time::TimeValLike;
use stepwise_fakebluez::sim::{MiBand, RecordSize};
use stepwise_fakebluez::wearer::Wearer;
use stepwise_fakebluez::{Bus, DeviceSpec, FakeBluez, LinkModel, Scenario};
use stepwise_server::clock::SystemClock;
use stepwise_server::{AppState, Config};
use stepwise_store::Store;
use stepwise_testkit::{Backend, fresh_store, unique_name};

const ADDRESS: &str = "E1:5B:9A:3C:42:01";
const KEY: [u8; 16] = [
    0x5b, 0x7b, 0x7c, 0x8d, 0x9e, 0xaf, 0xc0, 0xd1, 0xe2, 0xf3, 0x04, 0x15, 0x26, 0x37, 0x48, 0x59,
];
const ZONE: chrono_tz::Tz = chrono_tz::Europe::Berlin;
/// The target: the collector's CPU at most this share of the modelled link time.
const TARGET_PERCENT: f64 = 5.0;

/// What one run measured.
#[derive(Debug, Clone, Copy)]
struct Measured {
    notifications: u64,
    link: Duration,
    wall: Duration,
    cpu: Duration,
}

impl Measured {
    fn percent(&self) -> f64 {
        100.0 * self.cpu.as_secs_f64() / self.link.as_secs_f64().max(f64::MIN_POSITIVE)
    }
}

/// Runs the benchmark `runs` times and prints each run and the medians.
pub async fn band_sync(
    days: u32,
    link_ms: f64,
    record_bytes: u8,
    mtu: u16,
    runs: u32,
) -> anyhow::Result<()> {
    ensure!(
        link_ms.is_finite() && (0.0..=1000.0).contains(&link_ms),
        "--link-ms must be between 0 and 1000"
    );
    let records = match record_bytes {
        4 => RecordSize::Four,
        8 => RecordSize::Eight,
        other => bail!("--record-bytes {other}: a Huami band stores 4 or 8 bytes a minute"),
    };
    let collector = collector_binary()?;
    let per_notification = Duration::from_secs_f64(link_ms / 1000.0);
    println!(
        "band-sync: {days} days of Huami minutes ({record_bytes}-byte records), link {link_ms} ms \
         per notification at MTU {mtu}, {runs} run{} of {}",
        if runs == 1 { "" } else { "s" },
        collector.display()
    );
    let mut measured = Vec::new();
    for run in 1..=runs {
        let m = measure(&collector, days, per_notification, mtu, records).await?;
        println!(
            "  run {run}: {} notifications, link {:.2} s, wall {:.2} s, collector CPU {:.3} s \
             ({:.2} % of link time)",
            m.notifications,
            m.link.as_secs_f64(),
            m.wall.as_secs_f64(),
            m.cpu.as_secs_f64(),
            m.percent()
        );
        measured.push(m);
    }
    let median = |f: fn(&Measured) -> f64| {
        let mut v: Vec<f64> = measured.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    let percent = median(Measured::percent);
    println!(
        "  median: {:.0} notifications, modelled link time {:.2} s, wall {:.2} s, collector CPU \
         {:.3} s = {percent:.2} % of link time: {} (target ≤ {TARGET_PERCENT} %)",
        median(|m| m.notifications as f64),
        median(|m| m.link.as_secs_f64()),
        median(|m| m.wall.as_secs_f64()),
        median(|m| m.cpu.as_secs_f64()),
        if percent <= TARGET_PERCENT {
            "PASS"
        } else {
            "FAIL"
        }
    );
    Ok(())
}

/// The release `stepwise` binary beside this one. Run through cargo (`cargo run --release -p
/// stepwise-bench`), it is built first, so the figures are never a stale binary's.
fn collector_binary() -> anyhow::Result<PathBuf> {
    if let Some(cargo) = std::env::var_os("CARGO") {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
        let built = Command::new(cargo)
            .args([
                "build",
                "--release",
                "--quiet",
                "-p",
                "stepwise",
                "--manifest-path",
            ])
            .arg(&manifest)
            .status()
            .context("running cargo build -p stepwise")?;
        ensure!(built.success(), "cargo build --release -p stepwise failed");
    }
    let exe = std::env::current_exe().context("finding this program")?;
    let binary = exe.with_file_name("stepwise");
    ensure!(
        binary.exists(),
        "{} is missing: build it with `cargo build --release -p stepwise`",
        binary.display()
    );
    Ok(binary)
}

/// One run: fresh bus, fake, server and outbox; pair; then the measured sync.
async fn measure(
    collector: &Path,
    days: u32,
    per_notification: Duration,
    mtu: u16,
    records: RecordSize,
) -> anyhow::Result<Measured> {
    let now = Utc::now();
    let first_minute = whole_minute(now) - TimeDelta::days(i64::from(days));
    let first_day = first_minute.with_timezone(&ZONE).date_naive() - Days::new(1);
    let mut log = Wearer::generate(ZONE, first_day, days + 2, 1, Some(whole_minute(now)));
    log.minutes.retain(|m| m.minute >= first_minute);
    let minutes = log.minutes.len();

    let bus = Bus::start().context("starting a private dbus-daemon (Debian: dbus-daemon)")?;
    let name = match records {
        RecordSize::Four => "Mi Band 3",
        RecordSize::Eight => "Mi Smart Band 5",
    };
    let band = MiBand::new(name, records, KEY, ZONE, log.minutes);
    let fake = FakeBluez::start(
        &bus,
        Scenario {
            link: LinkModel {
                per_notification,
                connect: Duration::ZERO,
                mtu,
            },
            ..Scenario::new(vec![DeviceSpec::new(ADDRESS, band).random_address()])
        },
    )?;

    let db = fresh_store(Backend::Sqlite).await;
    let (patient, code) = patient_with_code(db.store.as_ref(), now).await?;
    let state = AppState::new(db.store.clone(), Arc::new(SystemClock), Config::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(stepwise_server::serve(listener, state, async {
        let _ = stopped.await;
    }));

    let outbox = std::env::temp_dir().join(unique_name("stepwise_bench_outbox"));
    let run = |args: Vec<String>| {
        let mut command = Command::new(collector);
        command
            .arg("band")
            .args(args)
            .env("DBUS_SYSTEM_BUS_ADDRESS", bus.address())
            .env("STEPWISE_BAND_DIR", &outbox)
            .env("STEPWISE_BAND_ZONE", ZONE.name())
            .env("STEPWISE_LOG", "warn")
            .env_remove("STEPWISE_BAND_CLOCK_START")
            .stdin(Stdio::null());
        command
    };
    let key: String = KEY.iter().map(|b| format!("{b:02x}")).collect();
    let pair = run(vec![
        "pair".into(),
        "--server".into(),
        url.clone(),
        "--code".into(),
        code,
        "--key".into(),
        key,
        "--address".into(),
        ADDRESS.into(),
    ]);
    let sync = run(vec![
        "sync".into(),
        "--since".into(),
        first_minute.to_rfc3339(),
    ]);
    let result = async {
        let paired = blocking_output(pair).await?;
        ensure!(paired.status.success(), "pairing failed: {}", said(&paired));
        let sent_before = fake.stats(ADDRESS)?.data_notifications;
        let (synced, wall, cpu) = tokio::task::spawn_blocking(move || timed_child(sync)).await??;
        ensure!(
            synced.status.success(),
            "the sync failed: {}",
            said(&synced)
        );
        let notifications = fake.stats(ADDRESS)?.data_notifications - sent_before;
        let held = db
            .store
            .step_samples(patient, first_minute, now + TimeDelta::minutes(1))
            .await?
            .len();
        ensure!(
            held == minutes,
            "the server holds {held} minutes, the band had {minutes}: {}",
            said(&synced)
        );
        Ok(Measured {
            notifications,
            link: per_notification.mul_f64(notifications as f64),
            wall,
            cpu,
        })
    }
    .await;
    let _ = stop.send(());
    let _ = server.await;
    let _ = std::fs::remove_dir_all(&outbox);
    result
}

fn whole_minute(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(t)
}

/// A patient of a new clinic with a fresh pairing code: (patient id, code).
async fn patient_with_code(
    store: &dyn Store,
    now: DateTime<Utc>,
) -> anyhow::Result<(stepwise_store::Id, String)> {
    let clinic = super::clinic(store, now).await?;
    let (patient, _) = super::patient_with_band(store, clinic, 1, now).await?;
    let code = "BAND-SYNC".to_string();
    store
        .create_pairing_code(
            patient,
            &stepwise_server::auth::hash_code(&code),
            now + TimeDelta::hours(1),
        )
        .await?;
    Ok((patient, code))
}

async fn blocking_output(mut command: Command) -> anyhow::Result<Output> {
    Ok(tokio::task::spawn_blocking(move || command.output()).await??)
}

/// Runs `command` to its end: its output, wall time, and CPU time (user + system) — the
/// difference in this process's waited-for children's usage before and after.
fn timed_child(mut command: Command) -> anyhow::Result<(Output, Duration, Duration)> {
    let cpu = || -> anyhow::Result<Duration> {
        let usage = getrusage(UsageWho::RUSAGE_CHILDREN)?;
        let micros = usage.user_time().num_microseconds() + usage.system_time().num_microseconds();
        Ok(Duration::from_micros(u64::try_from(micros).unwrap_or(0)))
    };
    let before = cpu()?;
    let started = Instant::now();
    let output = command.output().context("running stepwise band sync")?;
    let wall = started.elapsed();
    let used = cpu()?.saturating_sub(before);
    Ok((output, wall, used))
}

fn said(output: &Output) -> String {
    format!(
        "{}\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
