//! The database for several server instances: PostgreSQL.

use std::time::Duration;

use sqlx::Executor;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;

use crate::StoreResult;
use crate::db::{Dialect, SqlStore, migrate};

static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/postgres");

/// The [`Store`](crate::Store) on PostgreSQL: [`SqlStore`] opened on a `postgres:` URL.
/// Writers run side by side on one pool, read committed (`Dialect::Postgres`).
pub type PostgresStore = SqlStore;

/// Connections per server instance.
const MAX_CONNECTIONS: u32 = 10;

/// How long a call waits for a free connection before failing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects to `url` (`postgres://USER[:PASSWORD]@HOST[:PORT]/DB`) and applies the
/// migrations (several instances may start at once: sqlx serialises them with a lock).
pub(crate) async fn connect(url: &str) -> StoreResult<SqlStore> {
    let pool = AnyPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .after_connect(|conn, _| {
            Box::pin(async move {
                // Every query here reads a few rows by key: the planner's parallel workers,
                // which it picks for a generic plan's pessimistic estimates (a read of several
                // walks' minutes), took longer to start than the query took to run.
                conn.execute("SET max_parallel_workers_per_gather = 0")
                    .await?;
                Ok(())
            })
        })
        .connect(url)
        .await?;
    migrate(&MIGRATOR, &pool).await?;
    tracing::debug!(url = %crate::redact(url), "postgres store ready");
    Ok(SqlStore {
        // PostgreSQL takes its writers side by side: the writer is the same pool.
        writer: pool.clone(),
        pool,
        dialect: Dialect::Postgres,
    })
}
