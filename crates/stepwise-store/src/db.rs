//! The connection to either database, and what every area of the store shares: the one store
//! type, the [`Dialect`] that names each difference between SQLite and PostgreSQL, transactions,
//! migrations, errors and the idempotent insert.
//!
//! Every statement goes through sqlx's `Any` driver, so each is written once, in plain Rust, in
//! the subset both databases share: `$n` placeholders, `INSERT … ON CONFLICT`, `RETURNING`,
//! integers for instants and text for JSON and dates. What differs is in [`Dialect`] and in the
//! two connection setups (`sqlite.rs`, `postgres.rs`, which stand above this module and open a
//! [`SqlStore`]; `SqlStore::connect`, in `lib.rs`, picks one by the URL).

use std::future::Future;

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::error::ErrorKind;
use sqlx::{Any, AnyConnection, AnyPool, Transaction};

use crate::{StoreError, StoreResult};

/// A statement with its bound parameters, for either database.
pub(crate) type Query<'q> = sqlx::query::Query<'q, Any, AnyArguments>;

/// A transaction on the writing connection.
pub(crate) type Tx = Transaction<'static, Any>;

/// Which database a store talks to, and the few ways the SQL differs between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// SQLite: one writer at a time (see `sqlite.rs`).
    Sqlite,
    /// PostgreSQL: writers side by side, read committed (see `postgres.rs`).
    Postgres,
}

impl Dialect {
    /// Writes bind parameter `number` (from 1) of a generated statement: `$1, $2, …` for
    /// PostgreSQL; `?` for SQLite, which resolves `$n` names by a linear scan per parameter,
    /// making long numbered lists quadratic.
    pub(crate) fn push_placeholder(self, sql: &mut String, number: usize) {
        match self {
            Dialect::Postgres => {
                use std::fmt::Write as _;
                // Writing to a String cannot fail.
                let _ = write!(sql, "${number}");
            }
            Dialect::Sqlite => sql.push('?'),
        }
    }

    /// The patient of device `$1`, their row locked until the transaction ends.
    ///
    /// PostgreSQL locks it (`FOR UPDATE OF p`): uploads of one patient then recompute
    /// `band_days` one after another, each seeing the minutes the one before committed (under
    /// READ COMMITTED, two at once would each miss the other's). SQLite needs no lock: its
    /// transactions begin `IMMEDIATE`, which already lets one writer at a time.
    pub(crate) fn device_patient_locked(self) -> &'static str {
        match self {
            Dialect::Sqlite => "SELECT patient_id FROM devices WHERE id = $1",
            Dialect::Postgres => {
                "SELECT p.user_id FROM devices d \
                 JOIN patients p ON p.user_id = d.patient_id WHERE d.id = $1 FOR UPDATE OF p"
            }
        }
    }
}

/// The [`Store`](crate::Store) on SQLite or PostgreSQL: the one implementation of every store
/// trait. [`SqliteStore`](crate::SqliteStore) and [`PostgresStore`](crate::PostgresStore) name
/// it for each database.
#[derive(Debug, Clone)]
pub struct SqlStore {
    /// Reads.
    pub(crate) pool: AnyPool,
    /// Statements that write outside a transaction, and transactions: SQLite's one writing
    /// connection; on PostgreSQL the same pool as `pool`.
    pub(crate) writer: AnyPool,
    pub(crate) dialect: Dialect,
}

impl SqlStore {
    /// Begins a transaction on the writer. SQLite's begins `IMMEDIATE`: it takes the write lock
    /// at once, since a transaction that reads before it writes would otherwise fail, not
    /// wait, when another writer got there first. PostgreSQL's is read committed; rows that
    /// must not change underneath are locked by the statements themselves.
    pub(crate) async fn begin(&self) -> StoreResult<Tx> {
        Ok(match self.dialect {
            Dialect::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => self.writer.begin().await?,
        })
    }
}

// --- migrations ---

/// Applies `migrator`'s migrations that the database lacks. A database that has a migration
/// this binary does not carry was upgraded by a newer Stepwise: that is refused with
/// [`StoreError::NewerDatabase`] before anything is changed.
pub(crate) async fn migrate(migrator: &sqlx::migrate::Migrator, pool: &AnyPool) -> StoreResult<()> {
    match migrator.run(pool).await {
        Ok(()) => Ok(()),
        Err(sqlx::migrate::MigrateError::VersionMissing(database)) => {
            Err(StoreError::NewerDatabase {
                database,
                binary: newest_migration(migrator),
            })
        }
        Err(err) => Err(StoreError::with_source("migration failed", err)),
    }
}

/// The newest migration `migrator` carries (0 when it has none).
pub(crate) fn newest_migration(migrator: &sqlx::migrate::Migrator) -> i64 {
    migrator.iter().map(|m| m.version).max().unwrap_or(0)
}

// --- errors ---

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) => match db.kind() {
                ErrorKind::UniqueViolation => {
                    StoreError::Conflict("a record with the same key already exists".into())
                }
                // A write that names a row that is not there (an unknown patient or device).
                ErrorKind::ForeignKeyViolation => StoreError::NotFound,
                _ => StoreError::with_source("database error", err),
            },
            _ => StoreError::with_source("database error", err),
        }
    }
}

/// Maps a unique violation to `Conflict(message)`, anything else as usual.
pub(crate) fn conflict_on_unique(err: sqlx::Error, message: &str) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.kind() == ErrorKind::UniqueViolation => {
            StoreError::Conflict(message.to_string())
        }
        _ => err.into(),
    }
}

/// Why a one-time code could not be claimed: `Gone` when it exists (used or expired), else
/// `NotFound`. `exists_sql` selects the code by its hash (`$1`).
pub(crate) async fn unclaimable(
    tx: &mut AnyConnection,
    exists_sql: &'static str,
    code_hash: &str,
) -> StoreError {
    match sqlx::query(exists_sql)
        .bind(code_hash)
        .fetch_optional(tx)
        .await
    {
        Ok(Some(_)) => StoreError::Gone,
        Ok(None) => StoreError::NotFound,
        Err(err) => err.into(),
    }
}

// --- idempotent inserts ---

/// Where an idempotent insert runs.
pub(crate) enum On<'a> {
    /// Outside a transaction: the insert on the writer, the read of a stored row beside it.
    Store(&'a SqlStore),
    /// Inside a transaction, both statements.
    Tx(&'a mut AnyConnection),
}

/// What an idempotent insert is keyed by, for the conflict it reports: `client_id` names the
/// key, `what` the kind of record ("walk", "flare").
pub(crate) struct Key<'a> {
    pub(crate) client_id: &'a str,
    pub(crate) what: &'static str,
}

/// The write keyed by a client id (or another natural key) that a retry must not repeat:
/// `insert` is an `INSERT … ON CONFLICT DO NOTHING RETURNING` of the record's columns; when it
/// inserts nothing the key is taken, and `stored` reads the row that holds it.
///
/// Returns the new record and `true`; or, for a taken key, the stored record and `false` when
/// `same` finds it carries the same content (a retry: nothing new), else a `Conflict` that names
/// what the key was used for. `same` gets the stored record and gives it back with its verdict.
///
/// The database decides races: of two inserts at once, one inserts and the other reads the
/// winner.
pub(crate) async fn insert_once<T, Same, Fut>(
    on: On<'_>,
    insert: Query<'_>,
    stored: Query<'_>,
    decode: fn(&AnyRow) -> StoreResult<T>,
    key: Key<'_>,
    same: Same,
) -> StoreResult<(T, bool)>
where
    Same: FnOnce(T) -> Fut,
    Fut: Future<Output = StoreResult<(T, bool)>>,
{
    let row = match on {
        On::Store(store) => match insert.fetch_optional(&store.writer).await? {
            Some(row) => return Ok((decode(&row)?, true)),
            None => stored.fetch_one(&store.pool).await?,
        },
        On::Tx(tx) => match insert.fetch_optional(&mut *tx).await? {
            Some(row) => return Ok((decode(&row)?, true)),
            None => stored.fetch_one(&mut *tx).await?,
        },
    };
    let (stored, same) = same(decode(&row)?).await?;
    if same {
        Ok((stored, false))
    } else {
        Err(StoreError::Conflict(format!(
            "client_id {:?} was already used for a different {}",
            key.client_id, key.what
        )))
    }
}
