//! The embedded backend: one SQLite file (or `sqlite::memory:` for throwaway stores).

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};

use crate::StoreResult;
use crate::sql::{Placeholders, impl_store};
use crate::sql_reminders::impl_reminder_store;

pub(crate) static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/sqlite");

/// Connections of a file database: one writer at a time, readers alongside (WAL).
const MAX_CONNECTIONS: u32 = 8;

/// How long a writer waits for another's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The [`Store`](crate::Store) on SQLite.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    const PLACEHOLDERS: Placeholders = Placeholders::Positional;
    /// The patient of a device. (`BEGIN IMMEDIATE` already lets one writer at a time.)
    const DEVICE_PATIENT_LOCKED: &'static str = "SELECT patient_id FROM devices WHERE id = $1";

    /// Opens (creating if missing) the database at `url` (`sqlite:PATH`, `sqlite://PATH` or
    /// `sqlite::memory:`) and applies the migrations.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let mut options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .synchronous(SqliteSynchronous::Normal);
        let mut pool = SqlitePoolOptions::new();
        if in_memory {
            // An in-memory database lives as long as its one connection: keep it forever.
            pool = pool
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        } else {
            options = options.journal_mode(SqliteJournalMode::Wal);
            pool = pool.max_connections(MAX_CONNECTIONS);
        }
        let pool = pool.connect_with(options).await?;
        crate::sql::migrate(&MIGRATOR, &pool).await?;
        tracing::debug!(in_memory, "sqlite store ready");
        Ok(SqliteStore { pool })
    }

    /// Begins a transaction that takes the write lock at once: a transaction that reads
    /// before it writes would otherwise fail, not wait, when another writer got there first.
    async fn begin(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

impl_store!(SqliteStore, Sqlite);
impl_reminder_store!(SqliteStore, Sqlite, CLAIM_SQLITE);
