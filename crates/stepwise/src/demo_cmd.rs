//! `stepwise demo`: a throwaway server with a demo clinic in it. Seeds a fresh SQLite database
//! (in a temporary directory unless `--database` names one) with eight weeks of made-up
//! history, prints the address and the logins, and serves until Ctrl-C, then deletes the
//! temporary directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, FromArgMatches};
use stepwise_demo::{DEFAULT_SEED, DEMO_PASSWORD, DemoLogins};
use stepwise_server::AppState;
use stepwise_server::clock::SystemClock;
use stepwise_store::Role;

use crate::serve_cmd::{ServeArgs, runtime, stopped};

#[derive(Args)]
pub struct DemoArgs {
    /// Address to listen on (port 0: any free port, printed).
    #[arg(long, env = "STEPWISE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Database URL to seed (must be empty). Default: a fresh SQLite file in a temporary
    /// directory, deleted when the demo stops.
    #[arg(long)]
    pub database: Option<String>,
    /// Seed of the simulated history: the same seed tells the same stories.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,
}

/// A directory removed when dropped (on Ctrl-C and on errors alike).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> anyhow::Result<TempDir> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path =
            std::env::temp_dir().join(format!("stepwise-demo-{}-{nanos:09}", std::process::id()));
        std::fs::create_dir_all(&path)
            .with_context(|| format!("creating the demo directory {}", path.display()))?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        match std::fs::remove_dir_all(&self.0) {
            Ok(()) => eprintln!("Deleted the demo database in {}", self.0.display()),
            Err(err) => eprintln!("Could not delete {}: {err}", self.0.display()),
        }
    }
}

/// The server settings of `stepwise serve` at their defaults (and its STEPWISE_* variables),
/// with the demo's address and database.
fn serve_args(listen: &str, database: &str) -> anyhow::Result<ServeArgs> {
    let matches = ServeArgs::augment_args(clap::Command::new("demo"))
        .try_get_matches_from(["demo"])
        .context("reading the server settings")?;
    let mut args = ServeArgs::from_arg_matches(&matches)?;
    args.listen = listen.to_string();
    args.database = database.to_string();
    Ok(args)
}

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let (temp, database) = match &args.database {
        Some(url) => (None, url.clone()),
        None => {
            let dir = TempDir::new()?;
            let url = format!("sqlite:{}", dir.0.join("demo.db").display());
            (Some(dir), url)
        }
    };
    let serve = serve_args(&args.listen, &database)?;
    let config = serve.config()?;
    runtime()?.block_on(async {
        let store = stepwise_store::connect(&database)
            .await
            .with_context(|| format!("opening {}", stepwise_store::redact(&database)))?;
        if store.count_users().await? > 0 {
            bail!(
                "{} already has accounts: the demo seeds only an empty database",
                stepwise_store::redact(&database)
            );
        }
        let started = Instant::now();
        let logins = stepwise_demo::seed(store.as_ref(), chrono::Utc::now(), args.seed)
            .await
            .context("seeding the demo clinic")?;
        let seeded = started.elapsed();
        let listener = tokio::net::TcpListener::bind(&serve.listen)
            .await
            .with_context(|| format!("listening on {}", serve.listen))?;
        let url = format!("http://{}", listener.local_addr()?);
        print_welcome(&logins, temp.as_ref().map(|t| t.0.as_path()), &database);
        println!(
            "Seeded in {:.1} s (seed {}).\n\nOpen {url}/app and log in; the API is described at \
             {url}/api/docs. Press Ctrl-C to stop.",
            seeded.as_secs_f64(),
            args.seed
        );
        println!("Stepwise demo is listening on {url}");
        let state = AppState::new(store, Arc::new(SystemClock), config);
        stepwise_server::serve(listener, state, stopped())
            .await
            .context("serving")
    })?;
    drop(temp);
    Ok(())
}

fn print_welcome(logins: &DemoLogins, temp: Option<&Path>, database: &str) {
    println!(
        "\nStepwise demo: {}, a made-up clinic with up to eight weeks of made-up history.\n\
         DEMO DATA ONLY: these are not real people; do not enter real patient data here.\n",
        logins.clinic
    );
    match temp {
        Some(dir) => println!(
            "Database: {} (temporary: deleted when the demo stops)\n",
            dir.join("demo.db").display()
        ),
        None => println!("Database: {}\n", stepwise_store::redact(database)),
    }
    println!("Logins (every demo account's password is: {DEMO_PASSWORD})\n");
    let rows: Vec<[String; 5]> = logins
        .logins
        .iter()
        .map(|l| {
            let role = match l.role {
                Role::ClinicAdmin => "clinic admin",
                Role::Therapist => "therapist",
                Role::Patient => "patient",
            };
            [
                role.to_string(),
                l.name.clone(),
                l.email.clone(),
                l.password.clone(),
                l.about.clone(),
            ]
        })
        .collect();
    let header = ["Role", "Name", "E-mail", "Password", "About"].map(String::from);
    let mut widths = [0; 5];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        println!("  {}", line.join("  ").trim_end());
    }
    println!();
}
