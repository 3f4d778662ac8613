//! Upgrades and backups: a database migrated by a newer Stepwise is refused with a message an
//! operator can act on (on both backends), and the SQLite backup is consistent and restores
//! with everything in it.

use chrono::{TimeZone, Utc};
use sqlx::Connection;
use stepwise_store::{NewUser, StoreError};
use stepwise_testkit::{Backend, backend_tests, fresh_store, unique_name};

backend_tests!(a_database_from_a_newer_stepwise_is_refused_untouched);

/// Marks the database as migrated by a future Stepwise: one more applied migration than this
/// binary carries.
async fn apply_future_migration(backend: Backend, url: &str) {
    let statement = "INSERT INTO _sqlx_migrations \
        (version, description, success, checksum, execution_time) \
        VALUES (99990001, 'a future migration', TRUE, X'00', 0)";
    let statement = match backend {
        Backend::Sqlite => statement.to_string(),
        // PostgreSQL spells a byte string differently.
        Backend::Postgres => statement.replace("X'00'", "'\\x00'::bytea"),
    };
    match backend {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
                .execute(&mut conn)
                .await
                .unwrap();
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }
}

async fn a_database_from_a_newer_stepwise_is_refused_untouched(backend: Backend) {
    let db = fresh_store(backend).await;
    let now = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    let (clinic, _) = db
        .store
        .create_clinic(
            "Riverside Physio",
            NewUser {
                email: format!("{}@clinic.example", unique_name("admin")),
                display_name: "Admin".into(),
                password_hash: "not-a-real-hash".into(),
            },
            now,
        )
        .await
        .unwrap();
    apply_future_migration(backend, &db.url).await;

    let message = match stepwise_store::connect(&db.url).await {
        Err(err @ StoreError::NewerDatabase { database, binary }) => {
            assert_eq!(database, 99990001);
            assert!(binary >= 3 && binary < database, "{binary}");
            err.to_string()
        }
        Err(other) => panic!("expected NewerDatabase, got {other:?}"),
        Ok(_) => panic!("a database from a newer Stepwise was opened"),
    };
    assert!(
        message.contains("upgraded by a newer Stepwise"),
        "{message}"
    );
    assert!(message.contains("migration 99990001"), "{message}");
    assert!(message.contains("restore a backup"), "{message}");
    // Nothing was changed: the data is still there for the newer binary.
    assert_eq!(db.store.clinic(clinic.id).await.unwrap(), clinic);
}
