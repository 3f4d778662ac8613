//! Backend benchmarks, printed as figures (run `scripts/bench`, which provides PostgreSQL):
//!
//! - `ingest`: minute samples through the HTTP API (JSON, bearer token, validation, store) in
//!   samples/s, beside the same rows inserted with plain multi-row SQL on the database, and
//!   through `Store::ingest_samples` without HTTP — on SQLite and PostgreSQL, in the same run.
//! - `review`: the weekly review job over many patients with a week of minute data each.
//! - `clinic`: the clinic's visit list over many patients.
//! - `push`: reminders delivered per second by the scheduler to a local push receiver,
//!   beside the encryption and signing alone.
//! - `decode`: wearable bytes to minute records (Huami, InfiniTime, PAMS), no database.
//! - `band-sync`: the release `stepwise band sync` fetching a week from a simulated Huami band
//!   over a fake BlueZ with a modelled link: its CPU time beside the link time.
//! - `day`: one simulated day of a clinic network on one server (hourly band uploads, a walk
//!   and its two-hour check per patient, reminders, Monday's weekly review): the server's CPU
//!   as a share of two cores, request latency and errors.
//! - `import`: a year of Apple Health, Gadgetbridge and Fitbit exports read by
//!   `stepwise_imports::read_export`, each run in a fresh child process: wall time, records/s
//!   and peak memory against "a year in under 30 s, under 200 MB".

mod band_sync;
mod day;
mod decode;
mod import;
mod push;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use chrono::{DateTime, Days, NaiveDate, TimeDelta, TimeZone, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{AssertSqlSafe, PgPool, SqlitePool};
use stepwise_care::calendar::days_touched;
use stepwise_server::clock::SystemClock;
use stepwise_server::{AppState, Config};
use stepwise_store::{
    Id, NewDevice, NewInvite, NewSession, NewUser, PatientInvite, Role, SampleBatch, StepSample,
    Store,
};
use stepwise_testkit::{Backend, fresh_store};

#[derive(Parser)]
#[command(about = "Stepwise backend benchmarks")]
struct Cli {
    /// Databases to measure.
    #[arg(long, value_enum, default_value = "both", global = true)]
    backend: Which,
    #[command(subcommand)]
    command: Option<Bench>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Which {
    Sqlite,
    Postgres,
    Both,
}

#[derive(Subcommand, Clone)]
enum Bench {
    /// Sample ingest: HTTP API against raw inserts.
    Ingest {
        /// Days of minute samples per path (1,440 samples a day, one request a day).
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=80))]
        days: u32,
    },
    /// The weekly review job over many patients.
    Review {
        /// Patients, each with seven days of minute data and five walks.
        #[arg(long, default_value_t = 1000)]
        patients: u32,
    },
    /// The clinic's visit list (`GET /api/v1/clinic/visits`) over many patients.
    Clinic {
        /// Patients, each with a visit coming up and 90 days of walks, reviews and band data.
        #[arg(long, default_value_t = 500)]
        patients: u32,
    },
    /// Reminders delivered by Web Push per second, beside the crypto alone.
    Push {
        /// Reminders, all due at the start.
        #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u32).range(2..))]
        reminders: u32,
    },
    /// Wearable decoding and normalisation throughput (no database).
    Decode,
    /// The collector's CPU time during a Huami sync beside the modelled link time.
    BandSync {
        /// Days of minutes on the band.
        #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=30))]
        days: u32,
        /// Modelled link delay per data notification, milliseconds.
        #[arg(long, default_value_t = 7.5)]
        link_ms: f64,
        /// Bytes per minute record: 8 (Mi Band 5/6) or 4 (Mi Band 2/3/4, Bip).
        #[arg(long, default_value_t = 8)]
        record_bytes: u8,
        /// The link's ATT MTU: 23 (the default; 20-byte notifications) up to 517.
        #[arg(long, default_value_t = 23, value_parser = clap::value_parser!(u16).range(23..=517))]
        mtu: u16,
        /// Runs (the median is reported).
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
        runs: u32,
    },
    /// One simulated day of a clinic network on one server: CPU share, latency, errors.
    Day {
        /// Patients, each with a band uploading hourly, one walk and its two-hour check.
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        patients: u32,
        /// Simulated hours from Monday 00:00 (24: the whole day).
        #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(4..=24))]
        hours: u32,
        /// Wall seconds per simulated hour: each request goes out at its own time in the
        /// hour, whether or not earlier ones were answered (60: the day 60 times faster than a
        /// real one). 0 runs the hours as fast as the server answers, `--concurrency` at once.
        #[arg(long, default_value_t = 60.0, value_parser = hour_secs)]
        hour_secs: f64,
        /// Requests in flight at once with `--hour-secs 0`.
        #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=512))]
        concurrency: u64,
        /// Seconds of each of the two windows the idle server is watched afterwards to measure
        /// its timers (the weekly job and the reminder planner run once a minute: 61 catches
        /// both).
        #[arg(long, default_value_t = 61, value_parser = clap::value_parser!(u64).range(1..=600))]
        idle_secs: u64,
    },
    /// A year of each phone export read in a child process: time, records/s, peak memory.
    Import {
        /// Runs per export (min, median and max are reported).
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
        runs: u32,
        /// Leave out the Fitbit Takeout year.
        #[arg(long)]
        no_fitbit: bool,
    },
    /// One export read by `import` (run by it as a child process; not for direct use).
    #[command(hide = true)]
    ImportOne {
        /// The export file.
        file: std::path::PathBuf,
    },
    /// The server of `day` (run by it as a child process; not for direct use).
    #[command(hide = true)]
    DayServer {
        /// Database URL.
        #[arg(long)]
        database: String,
        /// The clock's first instant (RFC 3339).
        #[arg(long)]
        start: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let backends = match cli.backend {
        Which::Sqlite => vec![Backend::Sqlite],
        Which::Postgres => vec![Backend::Postgres],
        Which::Both => vec![Backend::Sqlite, Backend::Postgres],
    };
    let benches = match cli.command {
        Some(b) => vec![b],
        None => vec![
            Bench::Ingest { days: 60 },
            Bench::Review { patients: 1000 },
            Bench::Clinic { patients: 500 },
            Bench::Push { reminders: 5000 },
        ],
    };
    for bench in benches {
        if let Bench::DayServer { database, start } = &bench {
            day::day_server(database, start).await?;
            continue;
        }
        if let Bench::Day {
            patients,
            hours,
            hour_secs,
            concurrency,
            idle_secs,
        } = bench
        {
            for &backend in &backends {
                let options = day::DayOptions {
                    patients,
                    hours,
                    concurrency: usize::try_from(concurrency)?,
                    hour_secs,
                    idle_secs,
                };
                day::day(backend, options).await?;
            }
            continue;
        }
        if let Bench::ImportOne { file } = &bench {
            import::import_one(file)?;
            continue;
        }
        if let Bench::Import { runs, no_fitbit } = bench {
            import::import(runs, !no_fitbit)?;
            continue;
        }
        if let Bench::Decode = bench {
            decode::decode()?;
            continue;
        }
        if let Bench::BandSync {
            days,
            link_ms,
            record_bytes,
            mtu,
            runs,
        } = bench
        {
            band_sync::band_sync(days, link_ms, record_bytes, mtu, runs).await?;
            continue;
        }
        for &backend in &backends {
            match bench {
                Bench::Ingest { days } => ingest(backend, days).await?,
                Bench::Review { patients } => review(backend, patients).await?,
                Bench::Clinic { patients } => clinic_view(backend, patients).await?,
                Bench::Push { reminders } => push::push(backend, reminders).await?,
                Bench::Decode
                | Bench::Import { .. }
                | Bench::ImportOne { .. }
                | Bench::BandSync { .. }
                | Bench::Day { .. }
                | Bench::DayServer { .. } => {}
            }
        }
    }
    Ok(())
}

/// The bench clinic admin's password (its hash is computed once, at start).
const ADMIN_PASSWORD: &str = "bench-admin-password";

const PASSWORD_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$YmVuY2hzYWx0MTIzNDU2$wQhTo3PyKmZzWyIfGgJ4SXtCixUaE0nRj6a9d4Yxr0E";

/// A clinic with one therapist; returns (clinic id, therapist id).
async fn clinic(store: &dyn Store, now: DateTime<Utc>) -> anyhow::Result<(Id, Id)> {
    let user = |email: &str| NewUser {
        email: email.to_string(),
        display_name: email.to_string(),
        password_hash: PASSWORD_HASH.to_string(),
    };
    let admin_user = NewUser {
        password_hash: stepwise_server::auth::hash_password(ADMIN_PASSWORD)
            .map_err(|e| anyhow::anyhow!("{e}"))?,
        ..user("admin@bench.example")
    };
    let (clinic, admin) = store.create_clinic("Bench clinic", admin_user, now).await?;
    store
        .create_invite(
            NewInvite {
                code_hash: "therapist".into(),
                clinic_id: clinic.id,
                role: Role::Therapist,
                created_by: admin.id,
                expires_at: now + TimeDelta::days(1),
                patient: None,
            },
            now,
        )
        .await?;
    let therapist = store
        .accept_invite("therapist", user("t@bench.example"), now)
        .await?;
    Ok((clinic.id, therapist.id))
}

/// A patient with one paired band; returns (patient id, device id). The device's upload
/// token is `token-<n>`.
async fn patient_with_band(
    store: &dyn Store,
    clinic: (Id, Id),
    n: u32,
    now: DateTime<Utc>,
) -> anyhow::Result<(Id, Id)> {
    let code = format!("invite-{n}");
    store
        .create_invite(
            NewInvite {
                code_hash: code.clone(),
                clinic_id: clinic.0,
                role: Role::Patient,
                created_by: clinic.1,
                expires_at: now + TimeDelta::days(1),
                patient: Some(PatientInvite {
                    therapist_id: clinic.1,
                    timezone: "Europe/London".into(),
                }),
            },
            now,
        )
        .await?;
    let patient = store
        .accept_invite(
            &code,
            NewUser {
                email: format!("p{n}@bench.example"),
                display_name: format!("Patient {n}"),
                password_hash: PASSWORD_HASH.into(),
            },
            now,
        )
        .await?;
    let pairing = format!("pair-{n}");
    store
        .create_pairing_code(patient.id, &pairing, now + TimeDelta::hours(1))
        .await?;
    let device = store
        .pair_device(
            &pairing,
            NewDevice {
                kind: "mi-band-3".into(),
                address: format!("C8:0F:10:00:{:02X}:{:02X}", n / 256, n % 256),
                name: "Mi Band".into(),
            },
            &stepwise_server::auth::hash_token(&format!("token-{n}")),
            now,
        )
        .await?;
    Ok((patient.id, device.id))
}

/// `--hour-secs`: 0 or a number of seconds up to an hour.
fn hour_secs(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(secs) if (0.0..=3600.0).contains(&secs) => Ok(secs),
        _ => Err(format!(
            "{text:?} is not a number of seconds from 0 to 3600"
        )),
    }
}

/// A day of minute samples from `day` 00:00 UTC: a plausible pattern of rest and walking.
fn day_of_samples(day: NaiveDate) -> Vec<StepSample> {
    let start = Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default());
    (0..1440)
        .map(|m| {
            let steps = match m {
                540..=560 | 1080..=1100 => 90 + (m % 7),
                420..=1320 => (m * 13) % 40,
                _ => 0,
            };
            StepSample {
                minute: start + TimeDelta::minutes(m),
                steps,
                heart_rate: (steps > 0).then_some(60 + steps / 3),
                estimated: false,
            }
        })
        .collect()
}

/// The database behind a test store, opened again for plain SQL.
enum RawPool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

const RAW_CHUNK: usize = 500;
/// Each ingest path runs this many times; the best rate is reported.
const RUNS: usize = 3;

impl RawPool {
    async fn open(url: &str) -> anyhow::Result<RawPool> {
        Ok(if url.starts_with("sqlite:") {
            // The store's own settings (WAL, synchronous NORMAL): the same inserts on the same
            // database, not a slower configuration.
            let options = SqliteConnectOptions::from_str(url)?
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal);
            RawPool::Sqlite(SqlitePool::connect_with(options).await?)
        } else {
            RawPool::Postgres(PgPool::connect(url).await?)
        })
    }

    /// Recomputes one UTC day's totals of one band, as a hand-written loader keeping daily
    /// totals would (one band, so no merging of bands' minutes).
    async fn day_totals(
        &self,
        patient: Id,
        device: Id,
        samples: &[StepSample],
    ) -> anyhow::Result<()> {
        let Some(first) = samples.first() else {
            return Ok(());
        };
        let day = first.minute.date_naive();
        let start = Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default());
        let sql = "INSERT INTO band_days (patient_id, day, steps, minutes_with_data, sleep_min) \
                   SELECT $1, $2, COALESCE(SUM(steps), 0), COUNT(*), 0 FROM step_samples \
                   WHERE device_id = $3 AND minute >= $4 AND minute < $5 \
                   ON CONFLICT (patient_id, day) DO UPDATE SET steps = excluded.steps, \
                   minutes_with_data = excluded.minutes_with_data";
        macro_rules! run {
            ($pool:expr) => {{
                sqlx::query(sql)
                    .bind(patient)
                    .bind(day.to_string())
                    .bind(device)
                    .bind(start.timestamp())
                    .bind((start + TimeDelta::days(1)).timestamp())
                    .execute($pool)
                    .await?;
            }};
        }
        match self {
            RawPool::Sqlite(pool) => run!(pool),
            RawPool::Postgres(pool) => run!(pool),
        }
        Ok(())
    }

    /// One transaction of multi-row upserts, as a hand-written loader would do it: `?`
    /// placeholders on SQLite (it resolves `$n` names by a linear scan), `$n` on PostgreSQL.
    async fn insert_day(&self, device: Id, samples: &[StepSample]) -> anyhow::Result<()> {
        let positional = matches!(self, RawPool::Sqlite(_));
        macro_rules! run {
            ($pool:expr) => {{
                let mut tx = $pool.begin().await?;
                for chunk in samples.chunks(RAW_CHUNK) {
                    let values: Vec<String> = (0..chunk.len())
                        .map(|i| {
                            if positional {
                                "(?, ?, ?, ?)".to_string()
                            } else {
                                let n = 4 * i;
                                format!("(${}, ${}, ${}, ${})", n + 1, n + 2, n + 3, n + 4)
                            }
                        })
                        .collect();
                    let sql = format!(
                        "INSERT INTO step_samples (device_id, minute, steps, heart_rate) VALUES {} \
                         ON CONFLICT (device_id, minute) DO UPDATE \
                         SET steps = excluded.steps, heart_rate = excluded.heart_rate",
                        values.join(",")
                    );
                    let mut q = sqlx::query(AssertSqlSafe(sql));
                    for s in chunk {
                        q = q
                            .bind(device)
                            .bind(s.minute.timestamp())
                            .bind(s.steps)
                            .bind(s.heart_rate);
                    }
                    q.execute(&mut *tx).await?;
                }
                tx.commit().await?;
            }};
        }
        match self {
            RawPool::Sqlite(pool) => run!(pool),
            RawPool::Postgres(pool) => run!(pool),
        }
        Ok(())
    }
}

fn rate(samples: u64, seconds: f64) -> f64 {
    samples as f64 / seconds
}

async fn ingest(backend: Backend, days: u32) -> anyhow::Result<()> {
    let db = fresh_store(backend).await;
    let store = db.store.clone();
    let now = Utc::now();
    let clinic = clinic(store.as_ref(), now).await?;
    let (raw_patient, raw_device) = patient_with_band(store.as_ref(), clinic, 1, now).await?;
    let (_, store_device) = patient_with_band(store.as_ref(), clinic, 2, now).await?;
    let (_, _http_device) = patient_with_band(store.as_ref(), clinic, 3, now).await?;
    let first_day = (now - TimeDelta::days(i64::from(days) + 1)).date_naive();
    let batches: Vec<Vec<StepSample>> = (0..days)
        .map(|d| day_of_samples(first_day + Days::new(u64::from(d))))
        .collect();
    let total: u64 = batches.iter().map(|b| b.len() as u64).sum();
    println!(
        "ingest on {backend:?}: {total} minute samples per path, one batch of 1,440 (a day) per \
         transaction or request; best of {RUNS} runs (later runs replace the same rows)"
    );

    let raw = RawPool::open(&db.url).await?;
    let sample_batches: Vec<SampleBatch> = batches
        .iter()
        .map(|b| SampleBatch {
            steps: b.clone(),
            sleep: vec![],
        })
        .collect();
    let state = AppState::new(store.clone(), Arc::new(SystemClock), Config::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(stepwise_server::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/api/v1/samples");
    // Each day as one run of consecutive minutes, as a collector sends what a band stores.
    let bodies: Vec<Vec<u8>> = batches
        .iter()
        .map(|b| {
            serde_json::to_vec(&json!({ "runs": [{
                "start": b[0].minute,
                "steps": b.iter().map(|s| s.steps).collect::<Vec<_>>(),
                "heart_rate": b.iter().map(|s| s.heart_rate).collect::<Vec<_>>(),
            }]}))
        })
        .collect::<Result<_, _>>()?;

    // The three paths take turns, so that WAL checkpoints and caches fall on each alike.
    let (mut minutes_rate, mut raw_rate, mut store_rate, mut http_rate) =
        (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for _ in 0..RUNS {
        let started = Instant::now();
        for batch in &batches {
            raw.insert_day(raw_device, batch).await?;
        }
        minutes_rate = minutes_rate.max(rate(total, started.elapsed().as_secs_f64()));

        let started = Instant::now();
        for batch in &batches {
            raw.insert_day(raw_device, batch).await?;
            raw.day_totals(raw_patient, raw_device, batch).await?;
        }
        raw_rate = raw_rate.max(rate(total, started.elapsed().as_secs_f64()));

        let started = Instant::now();
        for batch in &sample_batches {
            // As the upload handler does: the local days the batch touches get their totals.
            let days = days_touched(chrono_tz::Europe::London, batch);
            store.ingest_samples(store_device, batch, &days).await?;
        }
        store_rate = store_rate.max(rate(total, started.elapsed().as_secs_f64()));

        let started = Instant::now();
        for body in &bodies {
            let res = client
                .post(&url)
                .bearer_auth("token-3")
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await?;
            if !res.status().is_success() {
                bail!("upload failed: {} {}", res.status(), res.text().await?);
            }
        }
        http_rate = http_rate.max(rate(total, started.elapsed().as_secs_f64()));
    }
    println!("  raw SQL, minute rows only            {minutes_rate:>10.0} samples/s");
    println!(
        "  raw SQL, minute rows + day totals    {raw_rate:>10.0} samples/s  (the API's writes)"
    );
    println!(
        "  Store::ingest_samples                {store_rate:>10.0} samples/s  ({:.0}% of raw)",
        100.0 * store_rate / raw_rate
    );
    println!(
        "  HTTP API (JSON runs, auth, checks)   {http_rate:>10.0} samples/s  ({:.0}% of raw; \
         target >= 50%; {:.0}% of minute rows only)",
        100.0 * http_rate / raw_rate,
        100.0 * http_rate / minutes_rate
    );
    let _ = stop.send(());
    server.await??;
    Ok(())
}

async fn review(backend: Backend, patients: u32) -> anyhow::Result<()> {
    let db = fresh_store(backend).await;
    let store = db.store.as_ref();
    // Patients join on Monday 9 November 2026; the review runs when that week has ended.
    let monday = NaiveDate::from_ymd_opt(2026, 11, 9).context("date")?;
    let joined = Utc.with_ymd_and_hms(2026, 11, 9, 6, 0, 0).unwrap();
    let review_at = Utc.with_ymd_and_hms(2026, 11, 16, 0, 30, 0).unwrap();
    let clinic = clinic(store, joined).await?;
    println!(
        "review on {backend:?}: seeding {patients} patients x 7 days of minute data and 5 walks..."
    );
    let seeding = Instant::now();
    let week: Vec<StepSample> = (0..7)
        .flat_map(|d| day_of_samples(monday + Days::new(d)))
        .collect();
    for n in 0..patients {
        let (patient, device) = patient_with_band(store, clinic, n, joined).await?;
        let batch = SampleBatch {
            steps: week.clone(),
            sleep: vec![],
        };
        let days = days_touched(chrono_tz::Europe::London, &batch);
        store.ingest_samples(device, &batch, &days).await?;
        for d in [0u64, 1, 3, 4, 6] {
            let start = Utc.from_utc_datetime(
                &(monday + Days::new(d))
                    .and_hms_opt(9, 0, 0)
                    .unwrap_or_default(),
            );
            let (session, _) = store
                .record_session(
                    patient,
                    NewSession {
                        client_id: format!("w{d}"),
                        started_at: start,
                        ended_at: start + TimeDelta::minutes(21),
                        walked_s: 1200,
                        bouts: 2,
                        pain_before: Some(2),
                        pain_during_max: Some(3),
                        effort: Some(4),
                        rest_type: None,
                        notes: None,
                    },
                    start + TimeDelta::minutes(22),
                )
                .await?;
            store
                .answer_two_hour_check(patient, session.id, 2, start + TimeDelta::hours(2))
                .await?;
        }
        if (n + 1) % 100 == 0 {
            eprintln!(
                "  seeded {} patients ({:.0} s)",
                n + 1,
                seeding.elapsed().as_secs_f64()
            );
        }
    }
    let started = Instant::now();
    let summary = stepwise_server::weekly::run_due_reviews(store, review_at).await?;
    let seconds = started.elapsed().as_secs_f64();
    if summary.reviewed != patients as usize || summary.failed != 0 {
        bail!("expected {patients} reviews, got {summary:?}");
    }
    println!(
        "  weekly review of {} patients: {seconds:.2} s ({:.0} patients/s; target < 2 s on SQLite)",
        summary.reviewed,
        f64::from(patients) / seconds
    );
    Ok(())
}

/// Days of history each patient has in the clinic-view benchmark.
const CLINIC_DAYS: u64 = 90;

async fn clinic_view(backend: Backend, patients: u32) -> anyhow::Result<()> {
    let db = fresh_store(backend).await;
    let store = db.store.clone();
    let now = Utc::now();
    let today = now.date_naive();
    let first = today - Days::new(CLINIC_DAYS);
    let joined = Utc.from_utc_datetime(&first.and_hms_opt(6, 0, 0).unwrap_or_default());
    let clinic = clinic(store.as_ref(), joined).await?;
    println!(
        "clinic view on {backend:?}: seeding {patients} patients x {CLINIC_DAYS} days of walks, \
         answers, band data and weekly reviews..."
    );
    let seeding = Instant::now();
    let tz = chrono_tz::Europe::London;
    for n in 0..patients {
        let (patient, device) = patient_with_band(store.as_ref(), clinic, n, joined).await?;
        let mut steps = Vec::new();
        let mut sleep = Vec::new();
        for d in 0..CLINIC_DAYS {
            let day = first + Days::new(d);
            let morning = Utc.from_utc_datetime(&day.and_hms_opt(9, 0, 0).unwrap_or_default());
            // Walks five days a week, most answered; the band saw 30 minutes of walking a day.
            if d % 7 < 5 {
                let (session, _) = store
                    .record_session(
                        patient,
                        NewSession {
                            client_id: format!("w{d}"),
                            started_at: morning,
                            ended_at: morning + TimeDelta::minutes(21),
                            walked_s: 1200,
                            bouts: 2,
                            pain_before: Some(2),
                            pain_during_max: Some(3 + (d % 3) as i64),
                            effort: Some(4),
                            rest_type: None,
                            notes: None,
                        },
                        morning + TimeDelta::minutes(22),
                    )
                    .await?;
                if (d + u64::from(n)) % 9 != 0 {
                    store
                        .answer_two_hour_check(
                            patient,
                            session.id,
                            2,
                            morning + TimeDelta::hours(2),
                        )
                        .await?;
                }
            }
            steps.extend((0..30).map(|m| StepSample {
                minute: morning + TimeDelta::minutes(m),
                steps: 95,
                heart_rate: Some(98),
                estimated: false,
            }));
            sleep.push(stepwise_store::SleepEpisode {
                start: morning - TimeDelta::hours(10),
                end: morning - TimeDelta::hours(3),
                stage: stepwise_store::SleepStage::Light,
            });
        }
        let batch = SampleBatch { steps, sleep };
        store
            .ingest_samples(device, &batch, &days_touched(tz, &batch))
            .await?;
        store
            .set_next_visit(patient, Some(today + Days::new(u64::from(n % 14))))
            .await?;
        if (n + 1) % 100 == 0 {
            eprintln!(
                "  seeded {} patients ({:.0} s)",
                n + 1,
                seeding.elapsed().as_secs_f64()
            );
        }
    }
    // Thirteen weeks of reviews, made by the job as each week ended.
    let mut week_end = joined;
    while week_end <= now {
        stepwise_server::weekly::run_due_reviews(store.as_ref(), week_end).await?;
        week_end += TimeDelta::days(7);
    }
    stepwise_server::weekly::run_due_reviews(store.as_ref(), now).await?;
    eprintln!(
        "  seeded and reviewed in {:.0} s",
        seeding.elapsed().as_secs_f64()
    );

    // The clinic admin opens the visit list through the API.
    let state = AppState::new(store.clone(), Arc::new(SystemClock), Config::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(stepwise_server::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder().cookie_store(true).build()?;
    let login = client
        .post(format!("http://{addr}/api/v1/auth/login"))
        .json(&json!({"email": "admin@bench.example", "password": ADMIN_PASSWORD}))
        .send()
        .await?;
    if !login.status().is_success() {
        bail!("login failed: {}", login.text().await?);
    }
    let mut times = Vec::new();
    let mut listed = 0;
    for _ in 0..5 {
        let started = Instant::now();
        let res = client
            .get(format!("http://{addr}/api/v1/clinic/visits"))
            .send()
            .await?;
        let status = res.status();
        let rows: serde_json::Value = res.json().await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        if !status.is_success() {
            bail!("clinic view failed: {status} {rows}");
        }
        listed = rows.as_array().map_or(0, Vec::len);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "  clinic view of {listed} patients with visits in the next 14 days: median {:.0} ms \
         (best {:.0}, worst {:.0}; target < 300 ms on SQLite)",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1]
    );
    let _ = stop.send(());
    server.await??;
    Ok(())
}
