//! `stepwise admin …`: set-up and upkeep done from the shell.

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;
use stepwise_store::NewUser;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create a clinic and its first clinic admin. The admin's password is read from
    /// STEPWISE_ADMIN_PASSWORD, or else from the first line of standard input.
    CreateClinic {
        /// Database URL, as for `stepwise serve`.
        #[arg(long, env = "STEPWISE_DATABASE", default_value = "sqlite:stepwise.db")]
        database: String,
        /// The clinic's name.
        #[arg(long)]
        name: String,
        /// The admin's login e-mail.
        #[arg(long)]
        admin_email: String,
        /// The admin's display name.
        #[arg(long)]
        admin_name: String,
    },
    /// Back up the SQLite database to a new file, consistently, while the server keeps
    /// serving (PostgreSQL: use pg_dump, see docs/deploy.md).
    Backup {
        /// The backup file to write (never overwritten).
        path: PathBuf,
        /// Database URL, as for `stepwise serve`.
        #[arg(long, env = "STEPWISE_DATABASE", default_value = "sqlite:stepwise.db")]
        database: String,
    },
    /// Restore a backup file as the SQLite database. Stop the server first.
    Restore {
        /// The backup file, as `stepwise admin backup` wrote it.
        path: PathBuf,
        /// Database URL, as for `stepwise serve`.
        #[arg(long, env = "STEPWISE_DATABASE", default_value = "sqlite:stepwise.db")]
        database: String,
        /// Replace an existing database; it is kept beside as NAME.before-restore-UNIXTIME.
        #[arg(long)]
        replace: bool,
    },
}

pub fn run(cmd: AdminCommand) -> anyhow::Result<()> {
    match cmd {
        AdminCommand::Backup { path, database } => crate::serve_cmd::runtime()?.block_on(async {
            let copied = stepwise_store::backup::backup(&database, &path)
                .await
                .map_err(plain)?;
            println!(
                "Backed up {} to {} ({}, migration {}).",
                stepwise_store::redact(&database),
                copied.path.display(),
                size(copied.bytes),
                copied.migration
            );
            Ok(())
        }),
        AdminCommand::Restore {
            path,
            database,
            replace,
        } => crate::serve_cmd::runtime()?.block_on(async {
            let now = chrono::Utc::now().timestamp();
            let copied = stepwise_store::backup::restore(&path, &database, replace, now)
                .await
                .map_err(plain)?;
            println!(
                "Restored {} as {} ({}, migration {}). Start the server to use it.",
                path.display(),
                copied.path.display(),
                size(copied.bytes),
                copied.migration
            );
            Ok(())
        }),
        AdminCommand::CreateClinic {
            database,
            name,
            admin_email,
            admin_name,
        } => {
            let password = match std::env::var("STEPWISE_ADMIN_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let mut line = String::new();
                    std::io::stdin()
                        .lock()
                        .read_line(&mut line)
                        .context("reading the password from standard input")?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            let email = stepwise_server::validate::email("admin-email", &admin_email)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if name.trim().is_empty() || admin_name.trim().is_empty() {
                bail!("--name and --admin-name must not be empty");
            }
            stepwise_server::auth::check_new_password(&password).map_err(|e| {
                anyhow::anyhow!("{e}: the admin password needs at least 10 characters")
            })?;
            let password_hash = stepwise_server::auth::hash_password(&password)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            crate::serve_cmd::runtime()?.block_on(async {
                let store = stepwise_store::connect(&database)
                    .await
                    .with_context(|| format!("opening {}", stepwise_store::redact(&database)))?;
                let admin = NewUser {
                    email,
                    display_name: admin_name.trim().to_string(),
                    password_hash,
                };
                let (clinic, user) = store
                    .create_clinic(name.trim(), admin, chrono::Utc::now())
                    .await
                    .context("creating the clinic")?;
                println!(
                    "Created clinic {:?} (id {}) with admin {} (user id {}).",
                    clinic.name, clinic.id, user.email, user.id
                );
                Ok(())
            })
        }
    }
}

/// A store error as its message alone: what went wrong with a backup is said in full there.
fn plain(err: stepwise_store::StoreError) -> anyhow::Error {
    match err {
        stepwise_store::StoreError::Conflict(message) => anyhow::anyhow!(message),
        err @ stepwise_store::StoreError::Other { .. } => anyhow::anyhow!(err.to_string()),
        other => other.into(),
    }
}

/// A file size as people read it: "1.4 MB".
fn size(bytes: u64) -> String {
    match bytes {
        0..1_000 => format!("{bytes} bytes"),
        1_000..1_000_000 => format!("{:.1} kB", bytes as f64 / 1e3),
        _ => format!("{:.1} MB", bytes as f64 / 1e6),
    }
}
