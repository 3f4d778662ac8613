//! The backend for several server instances: PostgreSQL.

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};

use crate::StoreResult;
use crate::sql::{Placeholders, impl_store};
use crate::sql_reminders::impl_reminder_store;

static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/postgres");

/// Connections per server instance.
const MAX_CONNECTIONS: u32 = 10;

/// How long a call waits for a free connection before failing.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The [`Store`](crate::Store) on PostgreSQL.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// The same pool: PostgreSQL takes its writers side by side.
    writer: PgPool,
}

impl PostgresStore {
    const PLACEHOLDERS: Placeholders = Placeholders::Numbered;
    /// The patient of a device, their row locked until the transaction ends: uploads of one
    /// patient then recompute `band_days` one after another, each seeing the minutes the one
    /// before committed (under READ COMMITTED, two at once would each miss the other's).
    const DEVICE_PATIENT_LOCKED: &'static str = "SELECT p.user_id FROM devices d \
         JOIN patients p ON p.user_id = d.patient_id WHERE d.id = $1 FOR UPDATE OF p";

    /// Connects to `url` (`postgres://USER[:PASSWORD]@HOST[:PORT]/DB`) and applies the
    /// migrations (several instances may start at once: sqlx serialises them with a lock).
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await?;
        crate::sql::migrate(&MIGRATOR, &pool).await?;
        tracing::debug!(url = %crate::redact(url), "postgres store ready");
        Ok(PostgresStore {
            writer: pool.clone(),
            pool,
        })
    }

    /// Begins a transaction (read committed; rows that must not change underneath are
    /// locked by the statements themselves).
    async fn begin(&self) -> StoreResult<Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
    }
}

impl_store!(PostgresStore, Postgres);
impl_reminder_store!(PostgresStore, Postgres, CLAIM_POSTGRES);
