//! Backups of the embedded SQLite database, taken while the server keeps serving, and restores.
//!
//! A backup is SQLite's `VACUUM INTO`: one read transaction, so the copy is the database as it
//! was at one instant — every write committed before it, none half-done — while the server goes
//! on reading and writing (WAL). It is written beside the destination and renamed into place
//! only once SQLite's integrity check passes, so a backup file that exists is a whole one.
//!
//! PostgreSQL has its own tool for this (`pg_dump`, see `docs/deploy.md`); these functions
//! refuse a `postgres:` URL with a message saying so.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};

use crate::db::newest_migration;
use crate::sqlite::MIGRATOR;
use crate::{StoreError, StoreResult};

/// How long a backup or restore waits for a writer's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// What a backup or restore wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// The file written.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// The newest migration the copied database has applied.
    pub migration: i64,
}

/// Copies the SQLite database at `url` into the new file `destination`, consistently, while
/// other connections (a running server) keep using it. Refuses to overwrite a file.
pub async fn backup(url: &str, destination: &Path) -> StoreResult<Copied> {
    let source = sqlite_path(url)?;
    if !source.exists() {
        return Err(StoreError::other(format!(
            "there is no database at {}",
            source.display()
        )));
    }
    refuse_existing(destination, "the backup")?;
    // Read-write, though it only reads: a read-only connection cannot join a WAL database whose
    // shared-memory file it may not create.
    let mut conn = open(&source, false).await?;
    stepwise_migration(&mut conn, &source).await?;
    let partial = partial_path(destination);
    let _ = std::fs::remove_file(&partial);
    let copied = vacuum_into(&mut conn, &partial).await;
    conn.close().await?;
    finish(copied, &partial, destination).await
}

/// Restores the backup file `backup` as the SQLite database at `url`.
///
/// The database must not exist, unless `replace` is set: then the current file (and its WAL)
/// is kept beside it as `NAME.before-restore-UNIXTIME` — nothing is deleted. Stop every server
/// using the database first. A backup made by a newer Stepwise than this one is refused;
/// one made by an older Stepwise is migrated when a server next opens it.
pub async fn restore(
    backup: &Path,
    url: &str,
    replace: bool,
    now_unix: i64,
) -> StoreResult<Copied> {
    let target = sqlite_path(url)?;
    if !backup.is_file() {
        return Err(StoreError::other(format!(
            "there is no backup file at {}",
            backup.display()
        )));
    }
    let mut conn = open(backup, true).await?;
    let migration = stepwise_migration(&mut conn, backup).await?;
    let binary = newest_migration(&MIGRATOR);
    if migration > binary {
        return Err(StoreError::NewerDatabase {
            database: migration,
            binary,
        });
    }
    check_integrity(&mut conn, backup).await?;
    let target_exists = target.exists();
    if target_exists && !replace {
        return Err(StoreError::Conflict(format!(
            "{} already exists: stop the server that uses it and restore with --replace \
             (the current file is kept beside it), or restore to a new path",
            target.display()
        )));
    }
    let partial = partial_path(&target);
    let _ = std::fs::remove_file(&partial);
    let copied = vacuum_into(&mut conn, &partial).await;
    conn.close().await?;
    if copied.is_ok() && target_exists {
        keep_aside(&target, now_unix)?;
    }
    finish(copied, &partial, &target).await
}

/// The file of a `sqlite:` URL; a clear refusal for PostgreSQL and in-memory databases.
fn sqlite_path(url: &str) -> StoreResult<PathBuf> {
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        return Err(StoreError::other(
            "backups of PostgreSQL are made with its own tools: pg_dump --format=custom, \
             restored with pg_restore (docs/deploy.md, \"Backups and restore\")",
        ));
    }
    if !url.starts_with("sqlite:") || url.contains(":memory:") || url.contains("mode=memory") {
        return Err(StoreError::other(format!(
            "{:?} is not a SQLite database file: use sqlite:PATH",
            crate::redact(url)
        )));
    }
    let options = SqliteConnectOptions::from_str(url)?;
    Ok(options.get_filename().to_path_buf())
}

fn refuse_existing(path: &Path, what: &str) -> StoreResult<()> {
    if path.exists() {
        return Err(StoreError::Conflict(format!(
            "{} already exists: {what} never overwrites a file",
            path.display()
        )));
    }
    Ok(())
}

/// `PATH.partial`: where a copy is written before it is whole.
fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

async fn open(path: &Path, read_only: bool) -> StoreResult<SqliteConnection> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .read_only(read_only)
        .busy_timeout(BUSY_TIMEOUT);
    SqliteConnection::connect_with(&options)
        .await
        .map_err(|err| StoreError::with_source(format!("opening {}", path.display()), err))
}

/// The newest migration of a Stepwise database; an error for any other file.
async fn stepwise_migration(conn: &mut SqliteConnection, path: &Path) -> StoreResult<i64> {
    sqlx::query_scalar::<_, Option<i64>>("SELECT max(version) FROM _sqlx_migrations WHERE success")
        .fetch_one(&mut *conn)
        .await
        .ok()
        .flatten()
        .ok_or_else(|| StoreError::other(format!("{} is not a Stepwise database", path.display())))
}

async fn check_integrity(conn: &mut SqliteConnection, path: &Path) -> StoreResult<()> {
    let verdict: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut *conn)
        .await?;
    if verdict != "ok" {
        return Err(StoreError::other(format!(
            "{} failed SQLite's integrity check: {verdict}",
            path.display()
        )));
    }
    Ok(())
}

/// Writes the database of `conn` into the new file `into` in one read transaction.
async fn vacuum_into(conn: &mut SqliteConnection, into: &Path) -> StoreResult<()> {
    let into = into
        .to_str()
        .ok_or_else(|| StoreError::other(format!("{} is not UTF-8", into.display())))?;
    sqlx::query("VACUUM INTO ?")
        .bind(into)
        .execute(&mut *conn)
        .await
        .map_err(|err| StoreError::with_source("copying the database", err))?;
    Ok(())
}

/// Checks the copy at `partial` and renames it to `destination`; removes it on any failure.
async fn finish(
    copied: StoreResult<()>,
    partial: &Path,
    destination: &Path,
) -> StoreResult<Copied> {
    let checked = async {
        copied?;
        let mut conn = open(partial, false).await?;
        check_integrity(&mut conn, partial).await?;
        let migration = stepwise_migration(&mut conn, partial).await?;
        // The copy is a plain rollback-journal file; a server reopening it switches to WAL.
        sqlx::query("PRAGMA journal_mode = DELETE")
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        refuse_existing(destination, "the copy")?;
        std::fs::rename(partial, destination).map_err(|err| {
            StoreError::with_source(
                format!("renaming the copy to {}", destination.display()),
                err,
            )
        })?;
        let bytes = std::fs::metadata(destination).map_or(0, |m| m.len());
        Ok(Copied {
            path: destination.to_path_buf(),
            bytes,
            migration,
        })
    }
    .await;
    if checked.is_err() {
        let _ = std::fs::remove_file(partial);
    }
    checked
}

/// Moves the database at `target` and its WAL and shared-memory files aside, to
/// `NAME.before-restore-UNIXTIME` (the WAL keeps its `-wal` suffix, so the kept copy opens
/// with everything it had).
fn keep_aside(target: &Path, now_unix: i64) -> StoreResult<()> {
    let mut kept = target.as_os_str().to_owned();
    kept.push(format!(".before-restore-{now_unix}"));
    for suffix in ["", "-wal", "-shm"] {
        let mut from = target.as_os_str().to_owned();
        from.push(suffix);
        let mut to = kept.clone();
        to.push(suffix);
        let from = PathBuf::from(from);
        if from.exists() {
            std::fs::rename(&from, PathBuf::from(&to)).map_err(|err| {
                StoreError::with_source(format!("keeping {} aside", from.display()), err)
            })?;
        }
    }
    Ok(())
}
