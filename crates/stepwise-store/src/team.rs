//! The care team's work with a patient: the message thread and how far each reader has read
//! it, clinician notes, and the time log with its running timers.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::any::AnyRow;

use crate::db::SqlStore;
use crate::model::{
    Id, LiveContact, Message, NewMessage, NewNote, NewTimeEntry, Note, Role, Thread, TimeEntry,
};
use crate::values::{Cells, corrupt, day_text, parse_day, parse_name, secs};
use crate::{StoreError, StoreResult};

/// A message's columns, with its author's name and role (`m` messages, `u` users).
const MESSAGE_COLUMNS: &str =
    "m.id, m.patient_id, m.author_id, u.display_name, u.role, m.body, m.client_id, m.created_at";
/// A note's columns, with its author's name (`n` notes, `u` users).
const NOTE_COLUMNS: &str =
    "n.id, n.patient_id, n.author_id, u.display_name, n.body, n.client_id, n.created_at";
/// A time entry's columns, with the clinician's name (`t` time_entries, `u` users).
const ENTRY_COLUMNS: &str = "t.id, t.patient_id, t.clinician_id, u.display_name, \
     t.performed_on, t.minutes, t.activity, t.live, t.started_at, t.client_id, t.created_at";

/// Messages, notes and the time log (a part of [`Store`](crate::Store)).
#[async_trait]
pub trait TeamStore: Send + Sync {
    /// Stores a message in a patient's thread and marks the thread read up to it for its
    /// author. Returns it and whether it is new: the same author's client id again with the
    /// same thread and text is the stored message (`false`), with anything else a `Conflict`.
    async fn post_message(
        &self,
        message: NewMessage,
        now: DateTime<Utc>,
    ) -> StoreResult<(Message, bool)>;

    /// A patient's thread as `reader` sees it: the latest `limit` messages, oldest first, and
    /// how many messages by others `reader` has not read.
    async fn thread(&self, patient_id: Id, reader: Id, limit: i64) -> StoreResult<Thread>;

    /// Marks a thread read by `reader` up to message `up_to` (never backwards; an id beyond
    /// the thread's last message is taken as its last). Returns the thread's unread count left.
    async fn mark_read(
        &self,
        patient_id: Id,
        reader: Id,
        up_to: Id,
        now: DateTime<Utc>,
    ) -> StoreResult<i64>;

    /// For each patient of clinic `clinic_id`, the messages by others in their thread that
    /// `reader` has not read (patients with none are left out; callers keep the ones `reader`
    /// may see).
    async fn unread_by_patient(&self, reader: Id, clinic_id: Id) -> StoreResult<Vec<(Id, i64)>>;

    /// Stores a clinician note (idempotent by author and client id, as messages).
    async fn add_note(&self, note: NewNote, now: DateTime<Utc>) -> StoreResult<(Note, bool)>;

    /// A patient's notes, newest first, at most `limit`.
    async fn notes(&self, patient_id: Id, limit: i64) -> StoreResult<Vec<Note>>;

    /// Records minutes of a clinician's work (idempotent by clinician and client id).
    async fn add_time_entry(
        &self,
        entry: NewTimeEntry,
        now: DateTime<Utc>,
    ) -> StoreResult<(TimeEntry, bool)>;

    /// Starts `clinician_id`'s timer on a patient, on the patient's local date `on`. A timer
    /// of theirs already running on the patient is returned as it is (`false`).
    async fn start_timer(
        &self,
        patient_id: Id,
        clinician_id: Id,
        on: NaiveDate,
        now: DateTime<Utc>,
    ) -> StoreResult<(TimeEntry, bool)>;

    /// Stops `clinician_id`'s running timer on a patient: it becomes an entry of `minutes`,
    /// what was done and the live conversation it included. `NotFound` when none runs.
    async fn stop_timer(
        &self,
        patient_id: Id,
        clinician_id: Id,
        minutes: i64,
        activity: &str,
        live: Option<LiveContact>,
    ) -> StoreResult<TimeEntry>;

    /// `clinician_id`'s running timer on a patient, if any.
    async fn running_timer(
        &self,
        patient_id: Id,
        clinician_id: Id,
    ) -> StoreResult<Option<TimeEntry>>;

    /// Drops `clinician_id`'s running timer on a patient without recording anything.
    /// `NotFound` when none runs.
    async fn cancel_timer(&self, patient_id: Id, clinician_id: Id) -> StoreResult<()>;

    /// A patient's time entries done on local dates in `[from, to]`, running timers included,
    /// by date then id.
    async fn time_entries(
        &self,
        patient_id: Id,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<TimeEntry>>;
}

#[async_trait]
impl TeamStore for SqlStore {
    async fn post_message(
        &self,
        message: NewMessage,
        now: DateTime<Utc>,
    ) -> StoreResult<(Message, bool)> {
        let mut tx = self.begin().await?;
        let insert = sqlx::query(
            "INSERT INTO messages (patient_id, author_id, body, client_id, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (author_id, client_id) DO NOTHING \
             RETURNING id",
        )
        .bind(message.patient_id)
        .bind(message.author_id)
        .bind(message.body.as_str())
        .bind(message.client_id.as_str())
        .bind(secs(now));
        let stored = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m JOIN users u ON u.id = m.author_id \
             WHERE m.author_id = $1 AND m.client_id = $2"
        );
        let (stored, inserted) = keyed_insert(
            &mut tx,
            insert,
            stored,
            (message.author_id, &message.client_id, "message"),
            message_from,
            |m| m.patient_id == message.patient_id && m.body == message.body,
        )
        .await?;
        upsert_read(
            &mut tx,
            message.patient_id,
            message.author_id,
            stored.id,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok((stored, inserted))
    }

    async fn thread(&self, patient_id: Id, reader: Id, limit: i64) -> StoreResult<Thread> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages m JOIN users u ON u.id = m.author_id \
             WHERE m.patient_id = $1 ORDER BY m.id DESC LIMIT $2"
        )))
        .bind(patient_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut messages = rows
            .iter()
            .map(message_from)
            .collect::<StoreResult<Vec<_>>>()?;
        messages.reverse();
        let last_read_id = last_read(&self.pool, patient_id, reader).await?;
        let unread = unread(&self.pool, patient_id, reader, last_read_id).await?;
        Ok(Thread {
            messages,
            unread,
            last_read_id,
        })
    }

    async fn mark_read(
        &self,
        patient_id: Id,
        reader: Id,
        up_to: Id,
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let mut tx = self.begin().await?;
        let last: Option<i64> =
            sqlx::query_scalar("SELECT max(id) FROM messages WHERE patient_id = $1")
                .bind(patient_id)
                .fetch_one(&mut *tx)
                .await?;
        let up_to = up_to.min(last.unwrap_or(0));
        if up_to > 0 {
            upsert_read(&mut tx, patient_id, reader, up_to, now).await?;
        }
        let read = last_read(&mut *tx, patient_id, reader).await?;
        let left = unread(&mut *tx, patient_id, reader, read).await?;
        tx.commit().await?;
        Ok(left)
    }

    async fn unread_by_patient(&self, reader: Id, clinic_id: Id) -> StoreResult<Vec<(Id, i64)>> {
        let rows = sqlx::query(
            "SELECT m.patient_id, count(*) AS unread FROM messages m \
             JOIN users p ON p.id = m.patient_id \
             LEFT JOIN message_reads r ON r.patient_id = m.patient_id AND r.user_id = $1 \
             WHERE p.clinic_id = $2 AND m.author_id <> $1 AND m.id > coalesce(r.last_read_id, 0) \
             GROUP BY m.patient_id ORDER BY m.patient_id",
        )
        .bind(reader)
        .bind(clinic_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.int("patient_id")?, row.int("unread")?)))
            .collect()
    }

    async fn add_note(&self, note: NewNote, now: DateTime<Utc>) -> StoreResult<(Note, bool)> {
        let mut tx = self.begin().await?;
        let insert = sqlx::query(
            "INSERT INTO notes (patient_id, author_id, body, client_id, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (author_id, client_id) DO NOTHING \
             RETURNING id",
        )
        .bind(note.patient_id)
        .bind(note.author_id)
        .bind(note.body.as_str())
        .bind(note.client_id.as_str())
        .bind(secs(now));
        let stored = format!(
            "SELECT {NOTE_COLUMNS} FROM notes n JOIN users u ON u.id = n.author_id \
             WHERE n.author_id = $1 AND n.client_id = $2"
        );
        let found = keyed_insert(
            &mut tx,
            insert,
            stored,
            (note.author_id, &note.client_id, "note"),
            note_from,
            |n| n.patient_id == note.patient_id && n.body == note.body,
        )
        .await?;
        tx.commit().await?;
        Ok(found)
    }

    async fn notes(&self, patient_id: Id, limit: i64) -> StoreResult<Vec<Note>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {NOTE_COLUMNS} FROM notes n JOIN users u ON u.id = n.author_id \
             WHERE n.patient_id = $1 ORDER BY n.id DESC LIMIT $2"
        )))
        .bind(patient_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(note_from).collect()
    }

    async fn add_time_entry(
        &self,
        entry: NewTimeEntry,
        now: DateTime<Utc>,
    ) -> StoreResult<(TimeEntry, bool)> {
        let mut tx = self.begin().await?;
        let insert = sqlx::query(
            "INSERT INTO time_entries (patient_id, clinician_id, performed_on, minutes, activity, \
             live, client_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (clinician_id, client_id) DO NOTHING RETURNING id",
        )
        .bind(entry.patient_id)
        .bind(entry.clinician_id)
        .bind(day_text(entry.performed_on))
        .bind(entry.minutes)
        .bind(entry.activity.as_str())
        .bind(entry.live.map(LiveContact::as_str))
        .bind(entry.client_id.as_str())
        .bind(secs(now));
        let stored = format!(
            "SELECT {ENTRY_COLUMNS} FROM time_entries t JOIN users u ON u.id = t.clinician_id \
             WHERE t.clinician_id = $1 AND t.client_id = $2"
        );
        let found = keyed_insert(
            &mut tx,
            insert,
            stored,
            (entry.clinician_id, &entry.client_id, "time entry"),
            entry_from,
            |e| {
                e.patient_id == entry.patient_id
                    && e.performed_on == entry.performed_on
                    && e.minutes == Some(entry.minutes)
                    && e.activity == entry.activity
                    && e.live == entry.live
            },
        )
        .await?;
        tx.commit().await?;
        Ok(found)
    }

    async fn start_timer(
        &self,
        patient_id: Id,
        clinician_id: Id,
        on: NaiveDate,
        now: DateTime<Utc>,
    ) -> StoreResult<(TimeEntry, bool)> {
        let mut tx = self.begin().await?;
        let running = running_in(&mut tx, patient_id, clinician_id).await?;
        if let Some(running) = running {
            tx.commit().await?;
            return Ok((running, false));
        }
        // The timer's client id is its start: unique per clinician, as entries' are.
        let client_id = format!("timer:{patient_id}:{}", secs(now));
        sqlx::query(
            "INSERT INTO time_entries (patient_id, clinician_id, performed_on, minutes, activity, \
             live, started_at, client_id, created_at) \
             VALUES ($1, $2, $3, NULL, '', NULL, $4, $5, $4)",
        )
        .bind(patient_id)
        .bind(clinician_id)
        .bind(day_text(on))
        .bind(secs(now))
        .bind(client_id)
        .execute(&mut *tx)
        .await
        .map_err(|err| {
            crate::db::conflict_on_unique(err, "a timer on this patient is already running")
        })?;
        let started = running_in(&mut tx, patient_id, clinician_id)
            .await?
            .ok_or_else(|| corrupt("a timer just started is not there"))?;
        tx.commit().await?;
        Ok((started, true))
    }

    async fn stop_timer(
        &self,
        patient_id: Id,
        clinician_id: Id,
        minutes: i64,
        activity: &str,
        live: Option<LiveContact>,
    ) -> StoreResult<TimeEntry> {
        let mut tx = self.begin().await?;
        let running = running_in(&mut tx, patient_id, clinician_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        sqlx::query("UPDATE time_entries SET minutes = $1, activity = $2, live = $3 WHERE id = $4")
            .bind(minutes)
            .bind(activity)
            .bind(live.map(LiveContact::as_str))
            .bind(running.id)
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ENTRY_COLUMNS} FROM time_entries t JOIN users u ON u.id = t.clinician_id \
             WHERE t.id = $1"
        )))
        .bind(running.id)
        .fetch_one(&mut *tx)
        .await?;
        let stopped = entry_from(&row)?;
        tx.commit().await?;
        Ok(stopped)
    }

    async fn running_timer(
        &self,
        patient_id: Id,
        clinician_id: Id,
    ) -> StoreResult<Option<TimeEntry>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(running_sql()))
            .bind(patient_id)
            .bind(clinician_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(entry_from).transpose()
    }

    async fn cancel_timer(&self, patient_id: Id, clinician_id: Id) -> StoreResult<()> {
        let done = sqlx::query(
            "DELETE FROM time_entries WHERE patient_id = $1 AND clinician_id = $2 \
             AND minutes IS NULL",
        )
        .bind(patient_id)
        .bind(clinician_id)
        .execute(&self.writer)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn time_entries(
        &self,
        patient_id: Id,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<TimeEntry>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ENTRY_COLUMNS} FROM time_entries t JOIN users u ON u.id = t.clinician_id \
             WHERE t.patient_id = $1 AND t.performed_on >= $2 AND t.performed_on <= $3 \
             ORDER BY t.performed_on, t.id"
        )))
        .bind(patient_id)
        .bind(day_text(from))
        .bind(day_text(to))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entry_from).collect()
    }
}

/// The insert of a record keyed by its writer and client id, inside `tx`: `insert` is an
/// `INSERT … ON CONFLICT DO NOTHING RETURNING id`, `stored` the select of the record by writer
/// (`$1`) and client id (`$2`) with its joined columns. Returns the record and whether it is
/// new; a taken key whose record fails `same` is a `Conflict` naming `what` it was used for.
async fn keyed_insert<T>(
    tx: &mut crate::db::Tx,
    insert: crate::db::Query<'_>,
    stored: String,
    (writer, client_id, what): (Id, &str, &str),
    decode: fn(&AnyRow) -> StoreResult<T>,
    same: impl FnOnce(&T) -> bool,
) -> StoreResult<(T, bool)> {
    let inserted = insert.fetch_optional(&mut **tx).await?.is_some();
    let row = sqlx::query(sqlx::AssertSqlSafe(stored))
        .bind(writer)
        .bind(client_id)
        .fetch_one(&mut **tx)
        .await?;
    let record = decode(&row)?;
    if !inserted && !same(&record) {
        return Err(StoreError::Conflict(format!(
            "client_id {client_id:?} was already used for a different {what}"
        )));
    }
    Ok((record, inserted))
}

/// Moves `reader`'s read mark on a thread forward to `up_to` (never back).
async fn upsert_read(
    tx: &mut crate::db::Tx,
    patient_id: Id,
    reader: Id,
    up_to: Id,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO message_reads (patient_id, user_id, last_read_id, read_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (patient_id, user_id) DO UPDATE \
         SET last_read_id = excluded.last_read_id, read_at = excluded.read_at \
         WHERE message_reads.last_read_id < excluded.last_read_id",
    )
    .bind(patient_id)
    .bind(reader)
    .bind(up_to)
    .bind(secs(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The last message of a thread `reader` has read (0: none).
async fn last_read<'e, E>(on: E, patient_id: Id, reader: Id) -> StoreResult<Id>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let read: Option<i64> = sqlx::query_scalar(
        "SELECT last_read_id FROM message_reads WHERE patient_id = $1 AND user_id = $2",
    )
    .bind(patient_id)
    .bind(reader)
    .fetch_optional(on)
    .await?;
    Ok(read.unwrap_or(0))
}

/// Messages by others after `read` in a thread.
async fn unread<'e, E>(on: E, patient_id: Id, reader: Id, read: Id) -> StoreResult<i64>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM messages WHERE patient_id = $1 AND author_id <> $2 AND id > $3",
    )
    .bind(patient_id)
    .bind(reader)
    .bind(read)
    .fetch_one(on)
    .await?)
}

/// The statement selecting a clinician's running timer on a patient (`$1`, `$2`).
fn running_sql() -> String {
    format!(
        "SELECT {ENTRY_COLUMNS} FROM time_entries t JOIN users u ON u.id = t.clinician_id \
         WHERE t.patient_id = $1 AND t.clinician_id = $2 AND t.minutes IS NULL"
    )
}

/// `clinician_id`'s running timer on a patient, if any, inside a transaction.
async fn running_in(
    tx: &mut crate::db::Tx,
    patient_id: Id,
    clinician_id: Id,
) -> StoreResult<Option<TimeEntry>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(running_sql()))
        .bind(patient_id)
        .bind(clinician_id)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(entry_from).transpose()
}

fn message_from(row: &AnyRow) -> StoreResult<Message> {
    Ok(Message {
        id: row.int("id")?,
        patient_id: row.int("patient_id")?,
        author_id: row.int("author_id")?,
        author_name: row.text("display_name")?,
        author_role: parse_name("role", &row.text("role")?, Role::parse)?,
        body: row.text("body")?,
        created_at: row.instant("created_at")?,
    })
}

fn note_from(row: &AnyRow) -> StoreResult<Note> {
    Ok(Note {
        id: row.int("id")?,
        patient_id: row.int("patient_id")?,
        author_id: row.int("author_id")?,
        author_name: row.text("display_name")?,
        body: row.text("body")?,
        created_at: row.instant("created_at")?,
    })
}

fn entry_from(row: &AnyRow) -> StoreResult<TimeEntry> {
    Ok(TimeEntry {
        id: row.int("id")?,
        patient_id: row.int("patient_id")?,
        clinician_id: row.int("clinician_id")?,
        clinician_name: row.text("display_name")?,
        performed_on: parse_day(&row.text("performed_on")?)?,
        minutes: row.opt_int("minutes")?,
        activity: row.text("activity")?,
        live: row
            .opt_text("live")?
            .map(|live| parse_name("live contact", &live, LiveContact::parse))
            .transpose()?,
        started_at: row.opt_instant("started_at")?,
        created_at: row.instant("created_at")?,
    })
}
