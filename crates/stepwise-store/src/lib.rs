//! Where Stepwise keeps its data: the [`Store`] trait, named for what the product does, and its
//! one implementation over SQLite (the embedded default: one file) and PostgreSQL (for several
//! server instances). All SQL lives in this crate; no sqlx type crosses its API.
//!
//! [`Store`] is the sum of one trait per area, each in its own module with its implementation:
//! [`AccountStore`] (clinics, users, invites, password resets, login sessions),
//! [`PatientStore`] (patients, plans, rules), [`WalkStore`] (walks, checks, corrections,
//! flares), [`BandStore`] (pairing, devices, uploads, band days, samples, sleep),
//! [`ImportStore`] (imported exports and the devices they name),
//! [`ReviewStore`] (weekly reviews, escalations, visits, outcome measures), [`TeamStore`]
//! (the care team's messages, notes and time log), [`QuestionnaireStore`] (questionnaire
//! schedules, the questionnaires asked and their scored responses), [`AuditStore`] and
//! [`ReminderStore`].
//!
//! [`connect`] picks the database from the URL prefix (`sqlite:` or `postgres:`) and applies
//! that database's migrations (`migrations/sqlite/`, `migrations/postgres/` at the workspace
//! root, embedded at build time).
//!
//! Every method that can be retried is idempotent (sessions and flares by client id, samples
//! by device and minute, reviews by patient and week), and every multi-row write is one
//! transaction: all or nothing.
#![warn(missing_docs)]

mod accounts;
mod audit;
pub mod backup;
mod bands;
mod db;
mod imports;
pub mod model;
mod patients;
mod postgres;
mod questionnaires;
pub mod reminders;
mod reviews;
mod sqlite;
mod team;
mod values;
mod walks;

use std::sync::Arc;

pub use accounts::{AccountStore, AuthSession, Credentials};
pub use audit::AuditStore;
pub use bands::BandStore;
pub use db::SqlStore;
pub use imports::{ImportEnd, ImportStore};
pub use model::*;
pub use patients::PatientStore;
pub use postgres::PostgresStore;
pub use questionnaires::QuestionnaireStore;
pub use reminders::*;
pub use reviews::ReviewStore;
pub use sqlite::SqliteStore;
pub use team::TeamStore;
pub use walks::WalkStore;

/// An error that caused a store call to fail.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row asked for does not exist (or is not visible to the caller).
    #[error("not found")]
    NotFound,
    /// The write conflicts with what is stored, e.g. an e-mail already taken or a client id
    /// reused with different content. The text says what conflicted and may be shown.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The code or token exists but was used or has expired.
    #[error("expired or already used")]
    Gone,
    /// The database was migrated by a newer Stepwise than this one: it holds a migration this
    /// binary does not know. Nothing is changed; the operator upgrades the binary or restores
    /// a backup made before the upgrade.
    #[error(
        "the database was upgraded by a newer Stepwise: it has migration {database}, this \
         Stepwise knows migrations up to {binary}. Run the newer Stepwise, or restore a backup \
         made before the upgrade (docs/deploy.md, \"Upgrades\")"
    )]
    NewerDatabase {
        /// The newest migration the database has applied.
        database: i64,
        /// The newest migration this binary carries.
        binary: i64,
    },
    /// Anything else (connection, constraint, corrupt row). Logged, never shown to clients.
    ///
    /// The text is the message followed by the source's own text (`database error: …`), as
    /// it is mostly logged whole; [`source`](std::error::Error::source) gives the error itself.
    #[error("{message}{}", source_text(.source.as_deref()))]
    Other {
        /// What failed.
        message: String,
        /// The error that made it fail (a database driver's, a file system's), if any.
        #[source]
        source: Option<BoxError>,
    },
}

impl StoreError {
    /// [`StoreError::Other`] with only a message.
    pub fn other(message: impl Into<String>) -> Self {
        StoreError::Other {
            message: message.into(),
            source: None,
        }
    }

    /// [`StoreError::Other`] with a message and the error that caused it.
    pub fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        StoreError::Other {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }
}

/// `": SOURCE"`, or nothing.
fn source_text(source: Option<&(dyn std::error::Error + Send + Sync + 'static)>) -> String {
    source
        .map(|source| format!(": {source}"))
        .unwrap_or_default()
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// Everything Stepwise stores, named for intent: every area's trait at once. Implemented by
/// [`SqlStore`] (as [`SqliteStore`] and [`PostgresStore`]), and by anything that implements
/// all the area traits; the server holds an `Arc<dyn Store>`.
///
/// Instants are passed in (`now`): the store never reads the clock.
pub trait Store:
    AccountStore
    + PatientStore
    + WalkStore
    + BandStore
    + ImportStore
    + ReviewStore
    + AuditStore
    + ReminderStore
    + TeamStore
    + QuestionnaireStore
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: AccountStore
        + PatientStore
        + WalkStore
        + BandStore
        + ImportStore
        + ReviewStore
        + AuditStore
        + ReminderStore
        + TeamStore
        + QuestionnaireStore
        + Send
        + Sync
        + 'static
{
}

impl SqlStore {
    /// Opens the store named by `url` (`sqlite:PATH`, `sqlite://PATH`, `sqlite::memory:`, or
    /// `postgres://USER[:PASSWORD]@HOST[:PORT]/DB`) and applies its migrations. A SQLite file
    /// is created if missing.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        if url.starts_with("sqlite:") {
            sqlite::connect(url).await
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            postgres::connect(url).await
        } else {
            Err(StoreError::other(format!(
                "unsupported database URL {:?}: use sqlite:PATH or postgres://USER@HOST/DB",
                redact(url)
            )))
        }
    }
}

/// Opens the store named by `url` (`sqlite:PATH` or `postgres://…`) and applies its
/// migrations.
pub async fn connect(url: &str) -> StoreResult<Arc<dyn Store>> {
    Ok(Arc::new(SqlStore::connect(url).await?))
}

/// The URL with any password replaced, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redact_hides_passwords_only() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/stepwise"),
            "postgres://app:***@db:5432/stepwise"
        );
        assert_eq!(
            redact("postgres://app@db/stepwise"),
            "postgres://app@db/stepwise"
        );
        assert_eq!(redact("sqlite:stepwise.db"), "sqlite:stepwise.db");
    }
}
