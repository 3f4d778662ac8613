//! `stepwise band …`: the band collector on the command line — scan for supported bands, pair
//! one with a server, sync once, or watch. The work is `stepwise_collector`'s; this module
//! reads flags, prints tables and summaries, and turns outcomes into exit codes.

use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use clap::{Args, Subcommand};
use stepwise_collector::ble::Bluetooth;
use stepwise_collector::import::{ImportOptions, ImportReport, import};
use stepwise_collector::outbox::PairedDevice;
use stepwise_collector::pair::PairOptions;
use stepwise_collector::sync::{SyncOptions, SyncReport};
use stepwise_collector::upload::{TokenRenewal, thousands};
use stepwise_collector::watch::{WatchEvent, WatchOptions, describe_stored};
use stepwise_collector::{Clock, Collector, Outbox, Uploader, progress};

/// `stepwise band` and its settings common to every subcommand.
#[derive(Args)]
pub struct BandArgs {
    /// Where the collector keeps its outbox (collector.sqlite: paired bands, their tokens and
    /// keys, data not yet uploaded). Default: $XDG_DATA_HOME/stepwise/band, else
    /// ~/.local/share/stepwise/band.
    #[arg(long, env = "STEPWISE_BAND_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// The time zone the band's clock is set to (IANA name, e.g. Europe/Berlin). Default: TZ,
    /// else /etc/timezone, else UTC. Stored when pairing; given to sync or watch, it
    /// overrides the stored zone for that run.
    #[arg(long, env = "STEPWISE_BAND_ZONE", global = true)]
    pub zone: Option<String>,
    #[command(subcommand)]
    pub command: BandCommand,
}

/// What to do with bands.
#[derive(Subcommand)]
pub enum BandCommand {
    /// List supported bands nearby: kind, name, address, signal.
    Scan {
        /// How long to scan.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
    },
    /// Pair a band with a Stepwise server, using the patient's one-time pairing code.
    Pair {
        /// The Stepwise server, e.g. `https://stepwise.example.org`
        #[arg(long)]
        server: String,
        /// The pairing code from the patient's "Pair a band" page.
        #[arg(long)]
        code: String,
        /// A Huami band's auth key (32 hex digits). Required for Mi Band 4 and later; a Mi
        /// Band 2/3 or Amazfit Bip without one gets a new key.
        #[arg(long)]
        key: Option<String>,
        /// The band's address (default: the only supported band nearby).
        #[arg(long)]
        address: Option<String>,
        /// How long to look for the band.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Read every paired band (or one) once and upload what is new.
    Sync {
        /// Only this band.
        #[arg(long)]
        address: Option<String>,
        /// Where a band's first sync starts (RFC 3339, or a date: its local midnight).
        /// Default: seven days back. Later syncs go on from where the last one ended.
        #[arg(long)]
        since: Option<String>,
        /// How long to look for each band.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Write the conversation with the band to FILE as a transcript `stepwise band
        /// replay` reads (keys masked); with several paired bands, give --address too.
        #[arg(long, value_name = "FILE")]
        trace: Option<PathBuf>,
    },
    /// Replay a recorded conversation with a band through the protocol machine the collector
    /// uses, offline: a JSON-lines transcript (docs/wearables.md) or an Android btsnoop HCI
    /// log. Prints one JSON object; exit 0 when every write agrees, 1 on a mismatch or a
    /// protocol error, 2 on unreadable input.
    Replay {
        /// The transcript (.jsonl) or btsnoop log.
        file: PathBuf,
        /// btsnoop only: the device kind (mi-band-2 … mi-band-6, amazfit-bip, infinitime).
        #[arg(long)]
        device: Option<String>,
        /// btsnoop only: the band's auth key (32 hex digits), if known.
        #[arg(long)]
        key: Option<String>,
        /// btsnoop only: when the recording was made (RFC 3339; default: its first packet).
        #[arg(long)]
        now: Option<DateTime<Utc>>,
        /// btsnoop only: the first minute the client asked for (RFC 3339).
        #[arg(long)]
        since: Option<DateTime<Utc>>,
        /// btsnoop only: `connect` (the log holds authentication) or `fetch`.
        #[arg(long, default_value = "connect")]
        start: String,
        /// btsnoop only: name a handle the log never discovered, e.g. `0x0041=00000004-0000-3512-2118-0009af100700`.
        #[arg(long = "handle")]
        handles: Vec<String>,
    },
    /// Import a phone's export — a Gadgetbridge database (or its zip), Apple Health's
    /// export.zip (or export.xml), or a Google Takeout zip with Fitbit data — and upload it
    /// like a sync (docs/imports.md). No Bluetooth needed. The first import of a data
    /// directory pairs it for imports: give --server and --code.
    Import {
        /// The export file.
        file: PathBuf,
        /// The Stepwise server, e.g. `https://stepwise.example.org` (with --code: pair this
        /// data directory for imports first).
        #[arg(long, requires = "code")]
        server: Option<String>,
        /// The pairing code from the patient's "Pair a band" page (with --server).
        #[arg(long, requires = "server")]
        code: Option<String>,
    },
    /// Keep syncing until Ctrl-C: every band periodically, an InfiniTime watch live.
    Watch {
        /// Pause between syncs (e.g. 30s, 15m, 1h).
        #[arg(long, default_value = "15m", value_parser = parse_duration)]
        every: Duration,
        /// Most time live InfiniTime steps wait before they are uploaded.
        #[arg(long, default_value = "1m", value_parser = parse_duration)]
        upload_every: Duration,
        /// Only this band.
        #[arg(long)]
        address: Option<String>,
        /// How long to look for a band each time.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
}

/// Runs a band command; the exit code says whether it succeeded.
pub fn run(args: BandArgs) -> ExitCode {
    if let BandCommand::Replay { .. } = &args.command {
        return replay(args);
    }
    // One thread: the work is waiting on D-Bus, and on a multi-threaded runtime every
    // notification crossed threads (a futex wake-up each), which cost the sync about a fifth
    // of its CPU time (scripts/bench band-sync).
    let outcome = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
        .and_then(|rt| rt.block_on(run_async(args)));
    match outcome {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run_async(args: BandArgs) -> anyhow::Result<ExitCode> {
    let zone = args.zone.as_deref().map(parse_zone).transpose()?;
    let data_dir = args.data_dir;
    match args.command {
        BandCommand::Scan { seconds } => scan(seconds).await,
        BandCommand::Pair {
            server,
            code,
            key,
            address,
            seconds,
        } => {
            let key = key
                .as_deref()
                .map(stepwise_wearables::huami::parse_key)
                .transpose()
                .map_err(|e| anyhow!("--key: {e}"))?;
            let options = PairOptions {
                server_url: server,
                code,
                key,
                address,
                zone: zone.unwrap_or_else(default_zone),
                scan_time: Duration::from_secs(seconds),
            };
            let collector = open_collector(data_dir).await?;
            let result = pair(&collector, &options).await;
            collector.outbox.close().await;
            result
        }
        BandCommand::Sync {
            address,
            since,
            seconds,
            trace,
        } => {
            let since = since
                .as_deref()
                .map(|s| parse_since(s, zone.unwrap_or_else(default_zone)))
                .transpose()?;
            let options = SyncOptions {
                since,
                scan_time: Duration::from_secs(seconds),
                trace,
            };
            let collector = open_collector(data_dir).await?;
            let result = sync(&collector, address.as_deref(), zone, &options).await;
            collector.outbox.close().await;
            result
        }
        BandCommand::Watch {
            every,
            upload_every,
            address,
            seconds,
        } => {
            let options = WatchOptions {
                every,
                upload_every,
                scan_time: Duration::from_secs(seconds),
            };
            let collector = open_collector(data_dir).await?;
            let result = watch(&collector, address.as_deref(), zone, &options).await;
            collector.outbox.close().await;
            result
        }
        BandCommand::Import { file, server, code } => {
            let options = ImportOptions {
                file,
                pair: server.zip(code),
                zone: zone.unwrap_or_else(default_zone),
            };
            let clock = Clock::from_env()?;
            let outbox = Outbox::open(&self::data_dir(data_dir)?).await?;
            let uploader = Uploader::new().context("preparing the HTTP client")?;
            let mut progress = progress::for_stderr();
            let report = import(&outbox, &uploader, &clock, &options, progress.as_mut()).await;
            progress.finish();
            outbox.close().await;
            let report = report?;
            print_import(&report);
            Ok(if report.succeeded() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        // Offline: handled by `run` before any Bluetooth is opened.
        BandCommand::Replay { .. } => Ok(ExitCode::from(2)),
    }
}

/// The outbox, the adapter, the HTTP client and the clock.
async fn open_collector(data_dir: Option<PathBuf>) -> anyhow::Result<Collector> {
    let clock = Clock::from_env()?;
    let outbox = Outbox::open(&self::data_dir(data_dir)?).await?;
    Ok(Collector {
        bluetooth: Bluetooth::open().await?,
        outbox,
        uploader: Uploader::new().context("preparing the HTTP client")?,
        clock,
    })
}

async fn scan(seconds: u64) -> anyhow::Result<ExitCode> {
    let bluetooth = Bluetooth::open().await?;
    let found = bluetooth.scan(Duration::from_secs(seconds)).await?;
    if found.is_empty() {
        eprintln!(
            "no supported band nearby (Mi Band 2–6, Amazfit Bip, PineTime with InfiniTime, PAMS \
             devices): is it charged, in range, and not connected to a phone?"
        );
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<[String; 4]> = found
        .iter()
        .map(|f| {
            [
                if f.kind.experimental() {
                    format!("{} (experimental)", f.kind.as_str())
                } else {
                    f.kind.as_str().to_string()
                },
                f.name.clone(),
                f.address.clone(),
                f.rssi.map_or("-".into(), |r| format!("{r} dBm")),
            ]
        })
        .collect();
    print_table(&["KIND", "NAME", "ADDRESS", "SIGNAL"], &rows);
    Ok(ExitCode::SUCCESS)
}

fn print_table(header: &[&str; 4], rows: &[[String; 4]]) {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 4]| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i < 3 {
                out.push_str(&format!("{cell:<w$}  "));
            } else {
                out.push_str(cell);
            }
        }
        println!("{}", out.trim_end());
    };
    line(*header);
    for row in rows {
        line([&row[0], &row[1], &row[2], &row[3]]);
    }
}

async fn pair(collector: &Collector, options: &PairOptions) -> anyhow::Result<ExitCode> {
    let mut progress = progress::for_stderr();
    let pairing = collector.pair(options, progress.as_mut()).await;
    progress.finish();
    let pairing = pairing?;
    let d = &pairing.device;
    println!(
        "Paired {} ({}, {}) with {}{}.",
        d.name,
        d.kind,
        d.address,
        d.server_url,
        pairing
            .server_device_id
            .map_or(String::new(), |id| format!(" as device {id}"))
    );
    if pairing.key_written {
        println!("A new auth key was written to the band and kept in the outbox.");
    }
    println!("Band clock zone: {}", d.zone.name());
    println!("Outbox: {}", collector.outbox.path().display());
    println!("Next: stepwise band sync");
    Ok(ExitCode::SUCCESS)
}

/// The paired bands a command works on: all, or the one with `address`.
async fn chosen_devices(
    collector: &Collector,
    address: Option<&str>,
    zone: Option<Tz>,
) -> anyhow::Result<Vec<PairedDevice>> {
    let mut devices = match address {
        Some(address) => vec![
            collector
                .outbox
                .device(address)
                .await?
                .ok_or_else(|| stepwise_collector::Error::NotPaired(address.to_string()))?,
        ],
        // The import pairing and the devices found in imports are not bands to read.
        None => collector
            .outbox
            .devices()
            .await?
            .into_iter()
            .filter(PairedDevice::is_band)
            .collect(),
    };
    if let Some(device) = devices.iter().find(|d| !d.is_band()) {
        bail!(
            "{} ({}) came from an import, not a band: `stepwise band import` sends its data",
            device.name,
            device.address
        );
    }
    if devices.is_empty() {
        return Err(stepwise_collector::Error::NothingPaired.into());
    }
    if let Some(zone) = zone {
        for d in &mut devices {
            d.zone = zone;
        }
    }
    Ok(devices)
}

async fn sync(
    collector: &Collector,
    address: Option<&str>,
    zone: Option<Tz>,
    options: &SyncOptions,
) -> anyhow::Result<ExitCode> {
    let devices = chosen_devices(collector, address, zone).await?;
    let mut failed = false;
    for device in &devices {
        let mut progress = progress::for_stderr();
        let report = collector
            .sync_device(device, options, progress.as_mut())
            .await;
        print_sync(&report);
        failed |= !report.succeeded();
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The summary on stdout; problems (with what to do) on stderr.
fn print_sync(report: &SyncReport) {
    let d = &report.device;
    println!("{} ({}, {})", d.name, d.kind, d.address);
    {
        let band = &report.band;
        let s = &band.stored;
        println!("  minutes:  {}", thousands(s.minutes));
        println!("  steps:    {}", thousands(s.steps));
        println!(
            "  sleep:    {} episode{}, {:.1} h asleep",
            thousands(s.episodes),
            if s.episodes == 1 { "" } else { "s" },
            s.sleep_minutes as f64 / 60.0
        );
        if report.band_error.is_none() && !band.caught_up {
            println!("  note:     more data waits on the band: run `stepwise band sync` again");
        }
    }
    println!("  took:     {:.1} s", report.took.as_secs_f64());
    match &report.upload {
        Ok(up) => {
            println!(
                "  uploaded: {} minutes, {} episodes",
                thousands(up.minutes),
                thousands(up.episodes)
            );
            println!(
                "  waiting:  {} minutes, {} episodes",
                thousands(up.waiting.minutes),
                thousands(up.waiting.episodes)
            );
            match &up.token {
                TokenRenewal::NotDue => {}
                TokenRenewal::Renewed => {
                    println!("  token:    renewed (the server's upload token neared its expiry)")
                }
                TokenRenewal::Failed(why) => println!(
                    "  token:    not renewed ({why}); the current token still works and the \
                     next sync tries again"
                ),
            }
        }
        Err(err) => {
            println!("  uploaded: none");
            eprintln!("{}: {err}", d.name);
        }
    }
    if let Some(err) = &report.band_error {
        eprintln!("error: {}: {err}", d.name);
    }
}

/// An import's summary on stdout, as a sync's: the export, what was left out, each device's
/// upload; problems on stderr.
fn print_import(report: &ImportReport) {
    let s = &report.summary;
    println!("{} export", s.format);
    println!("  devices:  {}", s.devices.join(", "));
    match (s.first_day, s.last_day) {
        (Some(first), Some(last)) => {
            println!("  days:     {} ({first} to {last})", thousands(s.days))
        }
        _ => println!("  days:     0"),
    }
    println!("  minutes:  {}", thousands(s.minutes));
    println!("  steps:    {}", thousands(s.steps));
    println!(
        "  sleep:    {} night{}, {:.1} h asleep",
        thousands(s.nights),
        if s.nights == 1 { "" } else { "s" },
        s.sleep_minutes as f64 / 60.0
    );
    let left = &report.left_out;
    if !left.is_empty() {
        let from = left
            .kept_from
            .map(|at| at.format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        println!(
            "  left out: {} minutes ({} steps) before {from}, the oldest the server keeps; \
             {} minutes after now; {} minutes of more steps than anyone takes; {} sleep \
             episodes",
            thousands(left.minutes_too_old),
            thousands(left.steps_too_old),
            thousands(left.minutes_in_future),
            thousands(left.minutes_implausible),
            thousands(left.episodes)
        );
    }
    println!("  took:     {:.1} s", report.took.as_secs_f64());
    for source in &report.sources {
        let d = &source.device;
        match &source.upload {
            Ok(up) => println!(
                "  {}: {} new or changed minutes, {} episodes; uploaded {} minutes, {} episodes; \
                 waiting {} minutes, {} episodes",
                d.name,
                thousands(source.stored.minutes),
                thousands(source.stored.episodes),
                thousands(up.minutes),
                thousands(up.episodes),
                thousands(up.waiting.minutes),
                thousands(up.waiting.episodes)
            ),
            Err(err) => {
                println!("  {}: uploaded none", d.name);
                eprintln!("{}: {err}", d.name);
            }
        }
    }
}

async fn watch(
    collector: &Collector,
    address: Option<&str>,
    zone: Option<Tz>,
    options: &WatchOptions,
) -> anyhow::Result<ExitCode> {
    let devices = chosen_devices(collector, address, zone).await?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let stop_on_signal = async move {
        wait_for_stop_signal().await;
        eprintln!("stopping…");
        let _ = stop.send(true);
    };
    let report = |event: WatchEvent<'_>| {
        let at = Utc::now().format("%H:%M:%S");
        match event {
            WatchEvent::Synced {
                device,
                stored,
                upload,
            } => {
                let uploaded = match upload {
                    Ok(up) => format!(
                        "uploaded {} minutes, {} waiting",
                        thousands(up.minutes),
                        thousands(up.waiting.minutes)
                    ),
                    Err(err) => err.to_string(),
                };
                println!(
                    "{at} {}: {}; {uploaded}",
                    device.name,
                    describe_stored(&stored)
                );
            }
            WatchEvent::Failed {
                device,
                error,
                retry_in,
            } => {
                // The watch retries by itself: no need to tell anyone to run sync.
                let why = match error {
                    stepwise_collector::Error::Disconnected(detail) => {
                        format!("the band disconnected ({detail}); what arrived is kept")
                    }
                    other => other.to_string(),
                };
                eprintln!(
                    "{at} {}: {why} (trying again in {} s)",
                    device.name,
                    retry_in.as_secs()
                );
            }
        }
    };
    eprintln!(
        "watching {} band{} (Ctrl-C stops)",
        devices.len(),
        if devices.len() == 1 { "" } else { "s" }
    );
    tokio::join!(
        collector.watch(&devices, options, stopped, &report),
        stop_on_signal
    );
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C, or SIGTERM on Unix.
async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `--data-dir`, else $XDG_DATA_HOME/stepwise/band, else ~/.local/share/stepwise/band.
fn data_dir(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = given {
        return Ok(dir);
    }
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(xdg).join("stepwise").join("band"));
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".local/share/stepwise/band")),
        None => bail!("no place for the outbox: set --data-dir (or STEPWISE_BAND_DIR, or HOME)"),
    }
}

fn parse_zone(name: &str) -> anyhow::Result<Tz> {
    Tz::from_str(name.trim()).map_err(|_| {
        anyhow!("--zone {name:?} is not a time zone: use an IANA name such as Europe/Berlin")
    })
}

/// TZ, else /etc/timezone, else UTC.
fn default_zone() -> Tz {
    let from_env = std::env::var("TZ")
        .ok()
        .map(|tz| tz.trim_start_matches(':').to_string());
    let from_file = || std::fs::read_to_string("/etc/timezone").ok();
    from_env
        .and_then(|z| Tz::from_str(z.trim()).ok())
        .or_else(|| from_file().and_then(|z| Tz::from_str(z.trim()).ok()))
        .unwrap_or(Tz::UTC)
}

/// RFC 3339, or a date meaning its local midnight in `zone`.
fn parse_since(text: &str, zone: Tz) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(instant) = DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(instant.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        anyhow!("--since {text:?}: use an RFC 3339 instant (2026-11-16T08:00:00Z) or a date (2026-11-16)")
    })?;
    let midnight = date
        .and_hms_opt(0, 0, 0)
        .ok_or_else(|| anyhow!("--since {text:?}: no midnight"))?;
    midnight
        .and_local_timezone(zone)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| {
            anyhow!(
                "--since {text:?}: midnight does not exist in {}",
                zone.name()
            )
        })
}

/// "30s", "15m", "1h", "1h30m".
fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("{text:?} is not a duration: use e.g. 30s, 15m, 1h or 1h30m");
    let mut total = 0_u64;
    let mut number = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number.parse().map_err(|_| bad())?;
        number.clear();
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return Err(bad()),
        };
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(bad)?;
    }
    if !number.is_empty() || total == 0 {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

/// `stepwise band replay`: exit 0 agree, 1 mismatch or protocol error, 2 unreadable input.
fn replay(args: BandArgs) -> ExitCode {
    use stepwise_wearables::{btsnoop, replay};
    let BandCommand::Replay {
        file,
        device,
        key,
        now,
        since,
        start,
        handles,
    } = args.command
    else {
        return ExitCode::from(2);
    };
    let unreadable = |message: String| {
        eprintln!("error: {}: {message}", file.display());
        ExitCode::from(2)
    };
    let bytes = match std::fs::read(&file) {
        Ok(bytes) => bytes,
        Err(err) => return unreadable(err.to_string()),
    };
    let transcript = if btsnoop::is_btsnoop(&bytes) {
        let mut named = std::collections::HashMap::new();
        for pair in &handles {
            let parsed = pair.split_once('=').and_then(|(h, u)| {
                let h = h.trim_start_matches("0x");
                Some((u16::from_str_radix(h, 16).ok()?, u.parse().ok()?))
            });
            match parsed {
                Some((handle, uuid)) => named.insert(handle, uuid),
                None => return unreadable(format!("--handle {pair:?} is not HANDLE=UUID")),
            };
        }
        let log = match btsnoop::parse(&bytes, &named) {
            Ok(log) => log,
            Err(err) => return unreadable(err.to_string()),
        };
        let Some(device) = device else {
            return unreadable("a btsnoop log needs --device (e.g. mi-band-2)".into());
        };
        let start = match start.as_str() {
            "connect" => replay::Start::Connect,
            "fetch" => replay::Start::Fetch,
            other => return unreadable(format!("--start {other:?}: connect or fetch")),
        };
        let header = replay::Header {
            device,
            key,
            zone: args.zone.unwrap_or_else(|| "UTC".into()),
            now: now.or(log.first).unwrap_or_default(),
            since,
            start,
        };
        replay::Transcript::from_events(header, log.events)
    } else {
        match std::str::from_utf8(&bytes) {
            Ok(text) => replay::Transcript::parse(text),
            Err(err) => return unreadable(format!("neither a btsnoop log nor UTF-8 text: {err}")),
        }
    };
    let report = match transcript.and_then(|t| replay::replay(&t)) {
        Ok(report) => report,
        Err(err) => return unreadable(err.to_string()),
    };
    match serde_json::to_string(&report) {
        Ok(json) => println!("{json}"),
        Err(err) => return unreadable(err.to_string()),
    }
    if report.agree {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_need_units() {
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert!(parse_duration("15").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn since_takes_an_instant_or_a_local_date() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(
            parse_since("2026-11-16", berlin).unwrap().to_rfc3339(),
            "2026-11-15T23:00:00+00:00"
        );
        assert_eq!(
            parse_since("2026-11-16T08:00:00Z", berlin)
                .unwrap()
                .to_rfc3339(),
            "2026-11-16T08:00:00+00:00"
        );
        assert!(parse_since("last week", berlin).is_err());
    }
}
