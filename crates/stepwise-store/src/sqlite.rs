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

/// Reading connections of a file database, alongside its one writer (WAL).
const MAX_READERS: u32 = 8;

/// How long a writer waits for another's lock before failing: another process's (a backup,
/// the `stepwise` command beside a running server); this process's writers queue for its one
/// writing connection instead.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a write waits in that queue before failing.
const WRITER_QUEUE_TIMEOUT: Duration = Duration::from_secs(30);

/// The [`Store`](crate::Store) on SQLite.
///
/// SQLite takes one writer at a time. Writers that find the lock taken sleep in its busy
/// handler (1, 2, 5 … 100 ms at a time) and try again, so under load a write could wait far
/// longer than the writes ahead of it took. Every write here goes through one connection
/// instead (`writer`), and waits its turn in the pool's first-come queue; reads use the other
/// connections (`pool`, read only), which WAL lets run beside the writer.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Reads.
    pool: SqlitePool,
    /// Writes and transactions: one connection.
    writer: SqlitePool,
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
        if !in_memory {
            options = options.journal_mode(SqliteJournalMode::Wal);
        }
        // The writer, kept open: an in-memory database lives as long as its one connection,
        // and a file's WAL as long as one connection has it open.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(WRITER_QUEUE_TIMEOUT)
            .connect_with(options.clone())
            .await?;
        crate::sql::migrate(&MIGRATOR, &writer).await?;
        let pool = if in_memory {
            // Its one connection reads too.
            writer.clone()
        } else {
            // A write that reached a reading connection by mistake fails instead of taking
            // the lock beside the writer.
            SqlitePoolOptions::new()
                .max_connections(MAX_READERS)
                .connect_with(options.pragma("query_only", "ON"))
                .await?
        };
        tracing::debug!(in_memory, "sqlite store ready");
        Ok(SqliteStore { pool, writer })
    }

    /// Begins a transaction that takes the write lock at once: a transaction that reads
    /// before it writes would otherwise fail, not wait, when another writer got there first.
    async fn begin(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }
}

impl_store!(SqliteStore, Sqlite);
impl_reminder_store!(SqliteStore, Sqlite, CLAIM_SQLITE);
