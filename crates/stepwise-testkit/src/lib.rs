//! Test-only support: a fresh, empty store on either backend, so that every suite runs the
//! same tests against SQLite and PostgreSQL.
//!
//! PostgreSQL tests need a server: `STEPWISE_TEST_POSTGRES_URL` names it (`scripts/test` starts
//! a throwaway one). When it is unset the PostgreSQL half of a suite fails — it never skips.
//!
//! [`push`] runs a real Web Push service (`STEPWISE_PUSH_SERVICE`, from `scripts/push-service`)
//! and push endpoints that misbehave, for delivery tests.
//!
//! `server` (feature `server`) runs a real Stepwise server on a TCP port, with patients and
//! pairing codes made through its API.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::Connection;
use stepwise_store::Store;

pub mod push;
#[cfg(feature = "server")]
pub mod server;
pub mod smtp;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a fresh temporary directory.
    Sqlite,
    /// A fresh database on the server named by `STEPWISE_TEST_POSTGRES_URL`.
    Postgres,
}

/// A fresh store; its SQLite files are deleted when it is dropped.
pub struct TestDb {
    /// The store, migrated and empty.
    pub store: Arc<dyn Store>,
    /// Its URL (for tests that open a second connection, e.g. raw-insert benchmarks).
    pub url: String,
    dir: Option<PathBuf>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A name no other test (or earlier run) uses: `prefix_pid_counter_nanos`.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The PostgreSQL server for tests; panics with instructions when none is configured.
pub fn postgres_url() -> String {
    std::env::var("STEPWISE_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "STEPWISE_TEST_POSTGRES_URL is not set: these tests run against PostgreSQL too. \
             Run scripts/test, or start one with: eval \"$(scripts/pg-throwaway start)\""
        )
    })
}

/// A fresh, migrated, empty store on `backend`.
pub async fn fresh_store(backend: Backend) -> TestDb {
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join(unique_name("stepwise_test"));
            std::fs::create_dir_all(&dir).expect("temporary directory");
            let url = format!("sqlite:{}", dir.join("stepwise.db").display());
            let store = stepwise_store::connect(&url).await.expect("open SQLite");
            TestDb {
                store,
                url,
                dir: Some(dir),
            }
        }
        Backend::Postgres => {
            let server = postgres_url();
            let name = unique_name("t");
            let mut admin = sqlx::PgConnection::connect(&server)
                .await
                .unwrap_or_else(|e| panic!("connecting to STEPWISE_TEST_POSTGRES_URL: {e}"));
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut admin)
                .await
                .expect("CREATE DATABASE");
            let url = database_url(&server, &name);
            let store = stepwise_store::connect(&url)
                .await
                .expect("open PostgreSQL");
            TestDb {
                store,
                url,
                dir: None,
            }
        }
    }
}

/// `server` with its database name replaced by `name`.
fn database_url(server: &str, name: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (server, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// Declares each listed `async fn(Backend)` as two tests, `sqlite::NAME` and `postgres::NAME`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Sqlite).await
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Postgres).await
                }
            )+
        }
    };
}

#[cfg(test)]
mod tests {
    use super::database_url;

    #[test]
    fn database_url_replaces_the_database() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5432/postgres", "t_1"),
            "postgres://postgres@127.0.0.1:5432/t_1"
        );
        assert_eq!(
            database_url("postgres://u@h:1/db?sslmode=disable", "t_2"),
            "postgres://u@h:1/t_2?sslmode=disable"
        );
        assert_eq!(
            database_url("postgres://u@h:1", "t_3"),
            "postgres://u@h:1/t_3"
        );
    }
}
