//! The embedded database: one SQLite file (or `sqlite::memory:` for throwaway stores).

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyConnection, ConnectOptions as _, Executor as _};

use crate::StoreResult;
use crate::db::{Dialect, SqlStore, migrate};

pub(crate) static MIGRATOR: Migrator = sqlx::migrate!("../../migrations/sqlite");

/// The [`Store`](crate::Store) on SQLite: [`SqlStore`] opened on a `sqlite:` URL.
///
/// SQLite takes one writer at a time. Writers that find the lock taken sleep in its busy
/// handler (1, 2, 5 … 100 ms at a time) and try again, so under load a write could wait far
/// longer than the writes ahead of it took. Every write here goes through one connection
/// instead (the store's writer), and waits its turn in the pool's first-come queue; reads use
/// the other connections (read only), which WAL lets run beside the writer. Transactions begin
/// `IMMEDIATE` (`Dialect::Sqlite`).
pub type SqliteStore = SqlStore;

/// Reading connections of a file database, alongside its one writer (WAL).
const MAX_READERS: u32 = 8;

/// How long a writer waits for another's lock before failing: another process's (a backup,
/// the `stepwise` command beside a running server); this process's writers queue for its one
/// writing connection instead.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a write waits in that queue before failing.
const WRITER_QUEUE_TIMEOUT: Duration = Duration::from_secs(30);

/// Opens (creating if missing) the database at `url` (`sqlite:PATH`, `sqlite://PATH` or
/// `sqlite::memory:`) and applies the migrations.
pub(crate) async fn connect(url: &str) -> StoreResult<SqlStore> {
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    // The `Any` driver takes only a URL. A file's is read as SQLite's own options read it and
    // written back naming the same file, now created if missing (`mode=rwc`); an in-memory
    // database's is used as it is. The settings a URL cannot carry are set on each connection
    // as it opens (`pragmas`).
    let options = if in_memory {
        AnyConnectOptions::from_str(url)?
    } else {
        let file = SqliteConnectOptions::from_str(url)?.create_if_missing(true);
        AnyConnectOptions::from_url(&file.to_url_lossy())?
    };
    // The writer, kept open: an in-memory database lives as long as its one connection,
    // and a file's WAL as long as one connection has it open.
    let writer = AnyPoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .acquire_timeout(WRITER_QUEUE_TIMEOUT)
        .after_connect(move |conn, _| Box::pin(pragmas(conn, in_memory, false)))
        .connect_with(options.clone())
        .await?;
    migrate(&MIGRATOR, &writer).await?;
    let pool = if in_memory {
        // Its one connection reads too.
        writer.clone()
    } else {
        // A write that reached a reading connection by mistake fails instead of taking
        // the lock beside the writer.
        AnyPoolOptions::new()
            .max_connections(MAX_READERS)
            .after_connect(|conn, _| Box::pin(pragmas(conn, false, true)))
            .connect_with(options)
            .await?
    };
    tracing::debug!(in_memory, "sqlite store ready");
    Ok(SqlStore {
        pool,
        writer,
        dialect: Dialect::Sqlite,
    })
}

/// Sets up a new connection: the busy timeout, WAL (for a file), foreign keys on,
/// `synchronous = NORMAL`, and for a reader `query_only`.
async fn pragmas(
    conn: &mut AnyConnection,
    in_memory: bool,
    query_only: bool,
) -> Result<(), sqlx::Error> {
    let mut sql = format!("PRAGMA busy_timeout = {};", BUSY_TIMEOUT.as_millis());
    if !in_memory {
        sql.push_str(" PRAGMA journal_mode = WAL;");
    }
    sql.push_str(" PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;");
    if query_only {
        sql.push_str(" PRAGMA query_only = ON;");
    }
    // Built only from the constants here.
    conn.execute(sqlx::AssertSqlSafe(sql)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use sqlx::{AnyPool, Row};

    use crate::db::SqlStore;

    async fn pragma_int(pool: &AnyPool, name: &str) -> i64 {
        let sql = format!("PRAGMA {name}");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_one(pool)
            .await
            .unwrap();
        row.try_get(0).unwrap()
    }

    /// A file database is created where its URL says (a space in the name too), and every
    /// connection has WAL, foreign keys, `synchronous = NORMAL` and the busy timeout; the
    /// readers are `query_only`, the writer is not.
    #[tokio::test]
    async fn file_connections_have_their_settings() {
        let dir = std::env::temp_dir().join(format!(
            "stepwise-sqlite-settings-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a store.db");
        let store = SqlStore::connect(&format!("sqlite:{}", path.display()))
            .await
            .unwrap();
        assert!(path.is_file(), "{} was not created", path.display());
        for (pool, query_only) in [(&store.writer, 0), (&store.pool, 1)] {
            let journal: String = sqlx::query("PRAGMA journal_mode")
                .fetch_one(pool)
                .await
                .unwrap()
                .try_get(0)
                .unwrap();
            assert_eq!(journal, "wal");
            assert_eq!(pragma_int(pool, "foreign_keys").await, 1);
            // NORMAL
            assert_eq!(pragma_int(pool, "synchronous").await, 1);
            assert_eq!(pragma_int(pool, "busy_timeout").await, 5000);
            assert_eq!(pragma_int(pool, "query_only").await, query_only);
        }
        let refused = sqlx::query("DELETE FROM users").execute(&store.pool).await;
        assert!(refused.is_err(), "a reader wrote");
        store.pool.close().await;
        store.writer.close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// An in-memory database is one connection, for reads and writes, with foreign keys on.
    #[tokio::test]
    async fn in_memory_is_one_connection() {
        let store = SqlStore::connect("sqlite::memory:").await.unwrap();
        assert_eq!(pragma_int(&store.pool, "foreign_keys").await, 1);
        assert_eq!(pragma_int(&store.pool, "synchronous").await, 1);
        assert_eq!(pragma_int(&store.pool, "query_only").await, 0);
        assert_eq!(store.pool.options().get_max_connections(), 1);
    }
}
