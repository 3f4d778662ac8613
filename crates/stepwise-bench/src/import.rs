//! `import`: a year of each phone export read by `stepwise_imports::read_export`, each run in a
//! fresh child process (this program again, `import-one FILE`) so that its wall time and peak
//! memory are the reader's alone. The child reads its own `VmHWM` (peak resident set) from
//! `/proc/self/status` when it has finished and prints it; the parent times it from spawn to
//! exit.
//!
//! The exports are generated in a temporary directory before anything is measured, in the
//! layouts of `docs/imports.md` and `crates/stepwise-imports/tests/fixtures/`:
//!
//! - Apple Health: `export.zip` holding `apple_health_export/export.xml` with 500,000
//!   `HKQuantityTypeIdentifierStepCount` records of a year (an Apple Watch writing minute-long
//!   and some three-minute records through the day, an iPhone writing its own in between),
//!   dates in Europe/Berlin with their offsets as Apple writes them (`2025-03-01 08:15:00
//!   +0100`), and every night's `HKCategoryTypeIdentifierSleepAnalysis` stages (in bed, core,
//!   deep, REM, awake).
//! - Gadgetbridge: a database with the fixture's schema holding a year of minutes (525,600
//!   rows of `MI_BAND_ACTIVITY_SAMPLE`) of one Mi Band 5, light and deep sleep kinds at night.
//! - Fitbit: a Google Takeout zip with a profile and twelve monthly `steps-*.json` files, a
//!   minute each (525,600 entries).
//!
//! The target: a year in under 30 s with a peak memory under 200 MB, for every run.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use stepwise_imports::archive::Limits;
use stepwise_imports::{Options, read_export};

/// The target: a year read in under this many seconds...
const TARGET_SECONDS: f64 = 30.0;
/// ...with a peak resident set under this many megabytes (10^6 bytes).
const TARGET_MB: f64 = 200.0;
/// Apple Health step records in the year.
const APPLE_STEP_RECORDS: usize = 500_000;
/// Minutes in the (non-leap) year 2025.
const YEAR_MINUTES: usize = 525_600;

const APPLE_FIXTURE: &str =
    include_str!("../../stepwise-imports/tests/fixtures/apple_health/export.xml");
const GADGETBRIDGE_SQL: &str =
    include_str!("../../stepwise-imports/tests/fixtures/gadgetbridge/gadgetbridge.sql");
const FITBIT_PROFILE: &str =
    include_str!("../../stepwise-imports/tests/fixtures/fitbit/Profile.csv");

/// One generated export.
struct Input {
    label: &'static str,
    path: PathBuf,
    /// Input records: step records for Apple, rows for Gadgetbridge, minute entries for Fitbit.
    records: usize,
    unit: &'static str,
    detail: String,
}

/// What one child run measured.
struct Run {
    seconds: f64,
    peak_mb: f64,
    read: String,
}

/// A temporary directory removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Generates the exports and measures each `runs` times; fails when a target is missed.
pub fn import(runs: u32, fitbit: bool) -> anyhow::Result<()> {
    let dir =
        TempDir(std::env::temp_dir().join(format!("stepwise-bench-import-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).with_context(|| format!("creating {}", dir.0.display()))?;
    let exe = std::env::current_exe().context("finding this program")?;
    println!(
        "import: a year of each export through read_export, each run in a fresh process, \
         {runs} run{} (min / median / max)",
        if runs == 1 { "" } else { "s" }
    );
    let generating = Instant::now();
    let mut inputs = vec![apple_health(&dir.0)?, gadgetbridge(&dir.0)?];
    if fitbit {
        inputs.push(fitbit_takeout(&dir.0)?);
    }
    eprintln!(
        "  generated the exports in {:.1} s",
        generating.elapsed().as_secs_f64()
    );
    let mut failed = Vec::new();
    for input in &inputs {
        println!(
            "  {}: {} {}; {}",
            input.label, input.records, input.unit, input.detail
        );
        let mut measured = Vec::new();
        for _ in 0..runs {
            measured.push(run_child(&exe, &input.path)?);
        }
        let stats = |f: &dyn Fn(&Run) -> f64| {
            let mut values: Vec<f64> = measured.iter().map(f).collect();
            values.sort_by(f64::total_cmp);
            (
                values[0],
                values[values.len() / 2],
                values[values.len() - 1],
            )
        };
        let wall = stats(&|r| r.seconds);
        let rate = stats(&|r| input.records as f64 / r.seconds);
        let peak = stats(&|r| r.peak_mb);
        let verdict = |ok: bool| if ok { "PASS" } else { "FAIL" };
        let wall_ok = wall.2 < TARGET_SECONDS;
        let peak_ok = peak.2 < TARGET_MB;
        println!(
            "    wall          {:>9.2} / {:>9.2} / {:>9.2} s          target < {TARGET_SECONDS:.0} s    {}",
            wall.0,
            wall.1,
            wall.2,
            verdict(wall_ok)
        );
        println!(
            "    records/s     {:>9.0} / {:>9.0} / {:>9.0}",
            rate.0, rate.1, rate.2
        );
        println!(
            "    peak memory   {:>9.1} / {:>9.1} / {:>9.1} MB (VmHWM)  target < {TARGET_MB:.0} MB   {}",
            peak.0,
            peak.1,
            peak.2,
            verdict(peak_ok)
        );
        if let Some(last) = measured.last() {
            println!("    read: {}", last.read);
        }
        if !(wall_ok && peak_ok) {
            failed.push(input.label);
        }
    }
    if !failed.is_empty() {
        bail!(
            "a year in under {TARGET_SECONDS:.0} s with under {TARGET_MB:.0} MB missed by: {}",
            failed.join(", ")
        );
    }
    println!(
        "  every export: a year in under {TARGET_SECONDS:.0} s, peak memory under {TARGET_MB:.0} MB"
    );
    Ok(())
}

/// The child's part: reads `file` and prints what it read and its peak resident set.
pub fn import_one(file: &Path) -> anyhow::Result<()> {
    let scratch = TempDir(
        std::env::temp_dir().join(format!("stepwise-bench-import-one-{}", std::process::id())),
    );
    std::fs::create_dir_all(&scratch.0)?;
    let options = Options {
        limits: Limits::default(),
        scratch: &scratch.0,
    };
    let export = read_export(file, &options, &mut |_| {})
        .map_err(|err| anyhow::anyhow!("{}: {err}", file.display()))?;
    let minutes: usize = export.sources.iter().map(|s| s.minutes.len()).sum();
    let steps: u64 = export
        .sources
        .iter()
        .flat_map(|s| &s.minutes)
        .map(|m| u64::from(m.steps))
        .sum();
    let episodes: usize = export.sources.iter().map(|s| s.sleep.len()).sum();
    let status = std::fs::read_to_string("/proc/self/status").context("reading /proc")?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .context("no VmHWM in /proc/self/status")?;
    println!(
        "vmhwm_kb={kb} read={} sources, {minutes} minutes, {steps} steps, {episodes} sleep episodes",
        export.sources.len()
    );
    Ok(())
}

/// Runs `import-one` on `file` in a fresh process.
fn run_child(exe: &Path, file: &Path) -> anyhow::Result<Run> {
    let started = Instant::now();
    let output = Command::new(exe)
        .arg("import-one")
        .arg(file)
        .output()
        .context("starting the child")?;
    let seconds = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&output.stdout);
    ensure!(
        output.status.success(),
        "import-one {} failed ({}): {}{}",
        file.display(),
        output.status,
        stdout,
        String::from_utf8_lossy(&output.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("vmhwm_kb="))
        .context("the child printed no peak memory")?;
    let (kb, read) = line.split_once(" read=").context("the child's line")?;
    Ok(Run {
        seconds,
        peak_mb: kb.parse::<f64>()? * 1024.0 / 1e6,
        read: read.to_string(),
    })
}

fn year_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap()
}

/// A local time in Berlin as Apple writes it: `2025-03-01 08:15:00 +0100`.
fn apple_date(at: DateTime<Utc>, out: &mut String) {
    let _ = write!(
        out,
        "{}",
        at.with_timezone(&Berlin).format("%Y-%m-%d %H:%M:%S %z")
    );
}

const WATCH: &str = "sourceName=\"Anna’s Apple Watch\" sourceVersion=\"11.2\" device=\"&lt;&lt;HKDevice: 0x2826f1a40&gt;, name:Apple Watch, manufacturer:Apple Inc., model:Watch, hardware:Watch6,1, software:11.2&gt;\"";
const PHONE: &str = "sourceName=\"Anna&#8217;s iPhone\" sourceVersion=\"18.2\" device=\"&lt;&lt;HKDevice: 0x2826f2e90&gt;, name:iPhone, manufacturer:Apple Inc., model:iPhone, hardware:iPhone14,5, software:18.2&gt;\"";

/// One `<Record>` line.
fn record(
    out: &mut String,
    kind: &str,
    source: &str,
    unit: Option<&str>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    value: &str,
) {
    let _ = write!(out, " <Record type=\"{kind}\" {source} ");
    if let Some(unit) = unit {
        let _ = write!(out, "unit=\"{unit}\" ");
    }
    out.push_str("creationDate=\"");
    apple_date(end + TimeDelta::seconds(37), out);
    out.push_str("\" startDate=\"");
    apple_date(start, out);
    out.push_str("\" endDate=\"");
    apple_date(end, out);
    let _ = writeln!(out, "\" value=\"{value}\"/>");
}

/// A year of Apple Health in `export.zip`.
fn apple_health(dir: &Path) -> anyhow::Result<Input> {
    let head_end = APPLE_FIXTURE
        .find(" <Record")
        .context("the fixture has no record")?;
    let mut xml = String::with_capacity(APPLE_STEP_RECORDS * 520);
    xml.push_str(&APPLE_FIXTURE[..head_end]);
    let start = year_start();
    let per_day = APPLE_STEP_RECORDS.div_ceil(365);
    let mut written = 0;
    let mut nights = 0;
    let step = "HKQuantityTypeIdentifierStepCount";
    let sleep = "HKCategoryTypeIdentifierSleepAnalysis";
    for day in 0..365 {
        let midnight = start + TimeDelta::days(day);
        // The watch from 06:30 UTC, a minute a record, every 60th record three minutes.
        let mut at = midnight + TimeDelta::minutes(6 * 60 + 30);
        for j in 0..per_day.min(APPLE_STEP_RECORDS - written) {
            if j < 960 {
                let minutes = if j % 60 == 59 { 3 } else { 1 };
                let end = at + TimeDelta::minutes(minutes);
                let steps = (j * 37 + day as usize * 11) % 120 * minutes as usize;
                record(
                    &mut xml,
                    step,
                    WATCH,
                    Some("count"),
                    at,
                    end,
                    &steps.to_string(),
                );
                at = end;
            } else {
                // The phone: a minute every two, from 07:00 and 30 s.
                let k = (j - 960) as i64;
                let from = midnight + TimeDelta::seconds(7 * 3600 + 30 + k * 120);
                let steps = (k * 13 + day) % 90;
                let to = from + TimeDelta::minutes(1);
                record(
                    &mut xml,
                    step,
                    PHONE,
                    Some("count"),
                    from,
                    to,
                    &steps.to_string(),
                );
            }
            written += 1;
        }
        // The night from 22:30 UTC: in bed, then the stages.
        let bed = midnight + TimeDelta::minutes(22 * 60 + 30);
        let stages = [
            ("AsleepCore", 110),
            ("AsleepDeep", 60),
            ("Awake", 10),
            ("AsleepREM", 40),
            ("AsleepCore", 120),
            ("AsleepDeep", 30),
            ("AsleepREM", 50),
            ("Awake", 5),
            ("AsleepCore", 35),
        ];
        let total: i64 = stages.iter().map(|s| s.1).sum();
        record(
            &mut xml,
            sleep,
            WATCH,
            None,
            bed - TimeDelta::minutes(10),
            bed + TimeDelta::minutes(total + 5),
            "HKCategoryValueSleepAnalysisInBed",
        );
        let mut at = bed;
        for (stage, minutes) in stages {
            let end = at + TimeDelta::minutes(minutes);
            record(
                &mut xml,
                sleep,
                WATCH,
                None,
                at,
                end,
                &format!("HKCategoryValueSleepAnalysis{stage}"),
            );
            at = end;
        }
        nights += 1;
    }
    ensure!(
        written == APPLE_STEP_RECORDS,
        "wrote {written} step records"
    );
    xml.push_str("</HealthData>\n");
    let path = dir.join("export.zip");
    let mut zip = zip::ZipWriter::new(BufWriter::new(File::create(&path)?));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1))
        .large_file(true);
    zip.start_file("apple_health_export/export.xml", options)?;
    zip.write_all(xml.as_bytes())?;
    zip.finish()?.flush()?;
    let zipped = std::fs::metadata(&path)?.len();
    Ok(Input {
        label: "Apple Health export.zip",
        path,
        records: APPLE_STEP_RECORDS,
        unit: "step records",
        detail: format!(
            "{nights} nights of sleep stages; export.xml {:.0} MB, zipped {:.0} MB",
            xml.len() as f64 / 1e6,
            zipped as f64 / 1e6
        ),
    })
}

/// A year of one Mi Band 5's minutes in a Gadgetbridge database.
fn gadgetbridge(dir: &Path) -> anyhow::Result<Input> {
    let path = dir.join("Gadgetbridge");
    let mut conn = rusqlite::Connection::open(&path)?;
    let schema: String = GADGETBRIDGE_SQL
        .lines()
        .filter(|l| l.starts_with("CREATE "))
        .collect::<Vec<_>>()
        .join("\n");
    conn.execute_batch(&schema)?;
    conn.execute(
        "INSERT INTO DEVICE VALUES (1,'Mi Band 5','Huami','aa:bb:cc:dd:ee:01',23,'MIBAND5',NULL,NULL,NULL)",
        [],
    )?;
    let start = year_start().timestamp();
    let tx = conn.transaction()?;
    {
        let mut insert =
            tx.prepare("INSERT INTO MI_BAND_ACTIVITY_SAMPLE VALUES (?1, 1, 1, ?2, ?3, ?4, ?5)")?;
        for m in 0..YEAR_MINUTES as i64 {
            let of_day = m % 1440;
            // Sleep 22:30–06:30 UTC in 90-minute cycles of light and deep, a waking minute
            // between cycles; walking in the day.
            let (kind, steps, intensity, heart) = if !(390..1350).contains(&of_day) {
                let in_night = (of_day + 90) % 1440;
                match in_night % 90 {
                    0 => (12, 0, 5, 62),
                    1..=50 => (9, 0, 2, 55),
                    _ => (11, 0, 1, 52),
                }
            } else if of_day % 7 < 3 {
                (1, 40 + m % 60, 60, 95)
            } else {
                (0, 0, 10, 70)
            };
            insert.execute(rusqlite::params![
                start + m * 60,
                intensity,
                steps,
                kind,
                heart
            ])?;
        }
    }
    tx.commit()?;
    conn.close().map_err(|(_, err)| err)?;
    let size = std::fs::metadata(&path)?.len();
    Ok(Input {
        label: "Gadgetbridge database",
        path,
        records: YEAR_MINUTES,
        unit: "rows",
        detail: format!("one Mi Band 5, {:.0} MB", size as f64 / 1e6),
    })
}

/// A year of Fitbit minute steps in a Takeout zip: twelve monthly `steps-*.json`.
fn fitbit_takeout(dir: &Path) -> anyhow::Result<Input> {
    let path = dir.join("takeout.zip");
    let mut zip = zip::ZipWriter::new(BufWriter::new(File::create(&path)?));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    zip.start_file("Takeout/Fitbit/Your Profile/Profile.csv", options)?;
    zip.write_all(FITBIT_PROFILE.as_bytes())?;
    let mut entries = 0;
    for month in 1..=12 {
        let first = NaiveDate::from_ymd_opt(2025, month, 1).context("month")?;
        let next = first
            .checked_add_months(chrono::Months::new(1))
            .context("month")?;
        let from = Utc.from_utc_datetime(&first.and_hms_opt(0, 0, 0).context("midnight")?);
        let minutes = (next - first).num_days() * 1440;
        let mut json = String::from("[");
        for m in 0..minutes {
            let at = from + TimeDelta::minutes(m);
            let of_day = m % 1440;
            let steps = if (420..1320).contains(&of_day) {
                (m * 7 + i64::from(at.day())) % 110
            } else {
                0
            };
            if m > 0 {
                json.push(',');
            }
            let _ = write!(
                json,
                "{{\n  \"dateTime\" : \"{}\",\n  \"value\" : \"{steps}\"\n}}",
                at.format("%m/%d/%y %H:%M:%S")
            );
            entries += 1;
        }
        json.push_str("]\n");
        zip.start_file(
            format!("Takeout/Fitbit/Global Export Data/steps-{first}.json"),
            options,
        )?;
        zip.write_all(json.as_bytes())?;
    }
    zip.finish()?.flush()?;
    let size = std::fs::metadata(&path)?.len();
    Ok(Input {
        label: "Fitbit Takeout zip",
        path,
        records: entries,
        unit: "minute entries",
        detail: format!(
            "12 monthly steps-*.json, zipped {:.1} MB",
            size as f64 / 1e6
        ),
    })
}
