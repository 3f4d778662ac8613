//! Reminders and Web Push in the database: the messages Stepwise owes its users, the browsers
//! that receive them, and the log of every attempt to deliver one. Their types are
//! `stepwise-care`'s records ([`stepwise_care::records`]).
//!
//! A [`Reminder`] is one message to one user, due at an instant. It is scheduled once (its
//! `dedupe_key` is unique, so scheduling is idempotent), claimed by one server instance at a
//! time under a lease ([`ReminderStore::claim_due_reminders`]), and finished by the instance
//! that holds the lease ([`ReminderStore::complete_reminders`]). A claim whose lease ran out
//! (the instance crashed) is claimed again by another instance.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;

use crate::db::{Dialect, SqlStore, Tx};
use crate::model::{
    BandSilence, Completion, Delivery, DeliveryOutcome, Id, NewPushSubscription, NewReminder,
    PushSubscription, Reminder, ReminderKind, ReminderMessage, ReminderOutcome, ReminderSettings,
    ReminderState, VapidKeys,
};
use crate::values::{Cells, corrupt, corrupt_with, instant, secs, to_json};
use crate::{StoreError, StoreResult};

/// Reminders and push subscriptions (a part of [`Store`](crate::Store)).
#[async_trait]
pub trait ReminderStore: Send + Sync {
    /// The server's VAPID keys: the stored pair, or `candidate` stored now when there is none
    /// (several instances starting at once agree on the first one stored).
    async fn vapid_keys(&self, candidate: VapidKeys) -> StoreResult<VapidKeys>;

    /// Stores a browser's subscription for `user_id`. The same endpoint again updates it (and
    /// moves it to `user_id`: one browser, one current user); `true` when it is new.
    async fn save_push_subscription(
        &self,
        user_id: Id,
        subscription: NewPushSubscription,
        now: DateTime<Utc>,
    ) -> StoreResult<(PushSubscription, bool)>;
    /// A user's subscriptions, oldest first.
    async fn push_subscriptions(&self, user_id: Id) -> StoreResult<Vec<PushSubscription>>;
    /// Deletes one of `user_id`'s subscriptions; `NotFound` when it is not theirs.
    async fn delete_push_subscription(&self, user_id: Id, subscription_id: Id) -> StoreResult<()>;

    /// A patient's reminder settings (the defaults when never saved).
    async fn reminder_settings(&self, patient_id: Id) -> StoreResult<ReminderSettings>;
    /// Every patient's saved settings.
    async fn all_reminder_settings(&self) -> StoreResult<Vec<(Id, ReminderSettings)>>;
    /// Saves a patient's settings and, in the same transaction, drops their pending session
    /// and medication reminders, so they are planned again from the new settings.
    async fn save_reminder_settings(
        &self,
        patient_id: Id,
        settings: &ReminderSettings,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Schedules reminders, skipping any whose `dedupe_key` is already scheduled; returns how
    /// many are new.
    async fn schedule_reminders(
        &self,
        reminders: &[NewReminder],
        now: DateTime<Utc>,
    ) -> StoreResult<u64>;
    /// Cancels the pending reminders of these kinds about a walk (a check was answered).
    async fn cancel_session_reminders(
        &self,
        session_id: Id,
        kinds: &[ReminderKind],
        now: DateTime<Utc>,
    ) -> StoreResult<u64>;
    /// Claims up to `limit` reminders due at `now` (or whose lease ran out) for `worker`,
    /// leased until `lease_until`. No two callers claim the same reminder while its lease
    /// holds.
    async fn claim_due_reminders(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<Reminder>>;
    /// Records how sending claimed reminders ended, all in one transaction: appends their
    /// attempts to the delivery log (deleting subscriptions that are `Gone`, stamping
    /// `last_delivered_at` on those `Delivered`) and finishes each reminder — unless `worker`
    /// no longer holds it (its lease ran out and another instance claimed it), which the
    /// answer reports as `false` at that reminder's position.
    async fn complete_reminders(
        &self,
        worker: &str,
        completions: &[Completion],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<bool>>;
    /// The subscriptions a reminder already reached (so a retry skips them).
    async fn delivered_subscriptions(&self, reminder_id: Id) -> StoreResult<Vec<Id>>;
    /// The delivery log of one reminder, oldest first.
    async fn deliveries(&self, reminder_id: Id) -> StoreResult<Vec<Delivery>>;
    /// A reminder by id.
    async fn reminder(&self, reminder_id: Id) -> StoreResult<Reminder>;
    /// Reminders about a patient due in `[from, to)`, by due instant.
    async fn patient_reminders(
        &self,
        patient_id: Id,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<Reminder>>;
    /// Patients with a paired band, with when band data was last seen. Devices found in an
    /// import, and pairings of the kind `not_a_band` (the import pairing), are not bands: a
    /// patient who only imports is never told to sync a band.
    async fn band_silence(&self, not_a_band: &str) -> StoreResult<Vec<BandSilence>>;
    /// How many reminders wait to be sent at `now` (for monitoring).
    async fn reminder_queue(&self, now: DateTime<Utc>) -> StoreResult<ReminderQueue>;
}

/// The reminders not yet finished, at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReminderQueue {
    /// Due and not yet handed to a push service: pending and due, or held by an instance
    /// whose lease has run out.
    pub due: i64,
    /// Being sent by an instance now (leased).
    pub sending: i64,
    /// Scheduled for later.
    pub scheduled: i64,
}

// --- the implementation ---

/// The columns of a reminder.
macro_rules! reminder_columns {
    () => {
        "id, kind, recipient_id, patient_id, session_id, due_at, expires_at, payload, state, \
         attempts, next_attempt_at, last_error, created_at, finished_at"
    };
}

/// The columns of a push subscription.
macro_rules! subscription_columns {
    () => {
        "id, user_id, endpoint, p256dh, auth, label, created_at, last_delivered_at"
    };
}

/// The columns of a delivery attempt.
macro_rules! delivery_columns {
    () => {
        "reminder_id, subscription_id, endpoint_host, at, status, outcome, error, duration_ms, \
         worker"
    };
}

/// The reminders claimable at `$3` (now), at most `$4`: pending and due, or held under a
/// lease that ran out.
macro_rules! claimable {
    () => {
        "SELECT id FROM reminders \
         WHERE (state = 'pending' AND next_attempt_at <= $3) \
            OR (state = 'sending' AND lease_until <= $3) \
         ORDER BY next_attempt_at, id LIMIT $4"
    };
}

/// Claims for `$1` (worker) until `$2` (lease end) the reminders claimable at `$3` (now), at
/// most `$4`. PostgreSQL skips rows another transaction is claiming (`FOR UPDATE SKIP
/// LOCKED`), so concurrent instances pass over each other's; SQLite has one writer at a time,
/// so its single `UPDATE … RETURNING` is already atomic.
fn claim_due(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => CLAIM_SQLITE,
        Dialect::Postgres => CLAIM_POSTGRES,
    }
}

/// The SQLite claim of [`claim_due`].
const CLAIM_SQLITE: &str = concat!(
    "UPDATE reminders SET state = 'sending', leased_by = $1, lease_until = $2, \
     attempts = attempts + 1 WHERE id IN (",
    claimable!(),
    ") RETURNING ",
    reminder_columns!()
);

/// As [`CLAIM_SQLITE`], skipping rows another transaction is claiming.
const CLAIM_POSTGRES: &str = concat!(
    "UPDATE reminders SET state = 'sending', leased_by = $1, lease_until = $2, \
     attempts = attempts + 1 WHERE id IN (",
    claimable!(),
    " FOR UPDATE SKIP LOCKED) RETURNING ",
    reminder_columns!()
);

#[async_trait]
impl ReminderStore for SqlStore {
    async fn vapid_keys(&self, candidate: VapidKeys) -> StoreResult<VapidKeys> {
        sqlx::query(
            "INSERT INTO vapid_keys (id, private_key, public_key, created_at) \
             VALUES (1, $1, $2, $3) ON CONFLICT (id) DO NOTHING",
        )
        .bind(candidate.private_key.as_str())
        .bind(candidate.public_key.as_str())
        .bind(secs(candidate.created_at))
        .execute(&self.writer)
        .await?;
        let row =
            sqlx::query("SELECT private_key, public_key, created_at FROM vapid_keys WHERE id = 1")
                .fetch_one(&self.pool)
                .await?;
        Ok(VapidKeys {
            private_key: row.text("private_key")?,
            public_key: row.text("public_key")?,
            created_at: row.instant("created_at")?,
        })
    }

    async fn save_push_subscription(
        &self,
        user_id: Id,
        subscription: NewPushSubscription,
        now: DateTime<Utc>,
    ) -> StoreResult<(PushSubscription, bool)> {
        let mut tx = self.begin().await?;
        let existing =
            sqlx::query("SELECT user_id, auth FROM push_subscriptions WHERE endpoint = $1")
                .bind(subscription.endpoint.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        // An endpoint another person registered moves only to whoever proves they
        // hold the same subscription: its auth secret, which only that browser has
        // (a known endpoint URL alone must not silence the owner's reminders).
        if let Some(row) = &existing
            && row.int("user_id")? != user_id
            && row.text("auth")? != subscription.auth
        {
            return Err(StoreError::Conflict(
                "this push endpoint belongs to another browser subscription; \
                 subscribe again in this browser"
                    .into(),
            ));
        }
        let row = sqlx::query(concat!(
            "INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth, label, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (endpoint) DO UPDATE SET user_id = excluded.user_id, \
             p256dh = excluded.p256dh, auth = excluded.auth, label = excluded.label \
             RETURNING ",
            subscription_columns!()
        ))
        .bind(user_id)
        .bind(subscription.endpoint.as_str())
        .bind(subscription.p256dh.as_str())
        .bind(subscription.auth.as_str())
        .bind(subscription.label.as_str())
        .bind(secs(now))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((subscription_from(&row)?, existing.is_none()))
    }

    async fn push_subscriptions(&self, user_id: Id) -> StoreResult<Vec<PushSubscription>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            subscription_columns!(),
            " FROM push_subscriptions WHERE user_id = $1 ORDER BY id"
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(subscription_from).collect()
    }

    async fn delete_push_subscription(&self, user_id: Id, subscription_id: Id) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM push_subscriptions WHERE id = $1 AND user_id = $2")
            .bind(subscription_id)
            .bind(user_id)
            .execute(&self.writer)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn reminder_settings(&self, patient_id: Id) -> StoreResult<ReminderSettings> {
        let row = sqlx::query("SELECT settings FROM reminder_settings WHERE patient_id = $1")
            .bind(patient_id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => serde_json::from_str(&row.text("settings")?)
                .map_err(|e| settings_error(patient_id, e)),
            None => Ok(ReminderSettings::default()),
        }
    }

    async fn all_reminder_settings(&self) -> StoreResult<Vec<(Id, ReminderSettings)>> {
        let rows =
            sqlx::query("SELECT patient_id, settings FROM reminder_settings ORDER BY patient_id")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|row| {
                let patient_id = row.int("patient_id")?;
                let settings = serde_json::from_str(&row.text("settings")?)
                    .map_err(|e| settings_error(patient_id, e))?;
                Ok((patient_id, settings))
            })
            .collect()
    }

    async fn save_reminder_settings(
        &self,
        patient_id: Id,
        settings: &ReminderSettings,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO reminder_settings (patient_id, settings, updated_at) \
             VALUES ($1, $2, $3) ON CONFLICT (patient_id) DO UPDATE \
             SET settings = excluded.settings, updated_at = excluded.updated_at",
        )
        .bind(patient_id)
        .bind(to_json(settings)?)
        .bind(secs(now))
        .execute(&mut *tx)
        .await?;
        // Never claimed, so never logged: safe to drop and plan again.
        sqlx::query(
            "DELETE FROM reminders WHERE patient_id = $1 AND state = 'pending' \
             AND attempts = 0 AND kind IN ('session', 'medication')",
        )
        .bind(patient_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn schedule_reminders(
        &self,
        reminders: &[NewReminder],
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        if reminders.is_empty() {
            return Ok(0);
        }
        let mut tx = self.begin().await?;
        let mut added = 0;
        for reminder in reminders {
            added += insert_reminder(&mut tx, reminder, now).await?;
        }
        tx.commit().await?;
        Ok(added)
    }

    async fn cancel_session_reminders(
        &self,
        session_id: Id,
        kinds: &[ReminderKind],
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut cancelled = 0;
        for kind in kinds {
            let done = sqlx::query(
                "UPDATE reminders SET state = 'cancelled', finished_at = $2 \
                 WHERE session_id = $1 AND kind = $3 AND state = 'pending'",
            )
            .bind(session_id)
            .bind(secs(now))
            .bind(kind.as_str())
            .execute(&self.writer)
            .await?;
            cancelled += done.rows_affected();
        }
        Ok(cancelled)
    }

    async fn claim_due_reminders(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<Reminder>> {
        let rows = sqlx::query(claim_due(self.dialect))
            .bind(worker)
            .bind(secs(lease_until))
            .bind(secs(now))
            .bind(limit)
            .fetch_all(&self.writer)
            .await?;
        let mut claimed = rows
            .iter()
            .map(reminder_from)
            .collect::<StoreResult<Vec<_>>>()?;
        claimed.sort_by_key(|r| (r.next_attempt_at, r.id));
        Ok(claimed)
    }

    async fn complete_reminders(
        &self,
        worker: &str,
        completions: &[Completion],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<bool>> {
        let mut tx = self.begin().await?;
        let mut kept = Vec::with_capacity(completions.len());
        for completion in completions {
            for delivery in &completion.deliveries {
                log_delivery(&mut tx, delivery).await?;
            }
            kept.push(
                finish(
                    &mut tx,
                    completion.reminder_id,
                    worker,
                    &completion.outcome,
                    now,
                )
                .await?,
            );
        }
        tx.commit().await?;
        Ok(kept)
    }

    async fn delivered_subscriptions(&self, reminder_id: Id) -> StoreResult<Vec<Id>> {
        let rows = sqlx::query(
            "SELECT DISTINCT subscription_id FROM push_deliveries \
             WHERE reminder_id = $1 AND outcome = 'delivered' \
             AND subscription_id IS NOT NULL ORDER BY subscription_id",
        )
        .bind(reminder_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| row.int("subscription_id")).collect()
    }

    async fn deliveries(&self, reminder_id: Id) -> StoreResult<Vec<Delivery>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            delivery_columns!(),
            " FROM push_deliveries WHERE reminder_id = $1 ORDER BY id"
        ))
        .bind(reminder_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(delivery_from).collect()
    }

    async fn reminder(&self, reminder_id: Id) -> StoreResult<Reminder> {
        let row = sqlx::query(concat!(
            "SELECT ",
            reminder_columns!(),
            " FROM reminders WHERE id = $1"
        ))
        .bind(reminder_id)
        .fetch_one(&self.pool)
        .await?;
        reminder_from(&row)
    }

    async fn patient_reminders(
        &self,
        patient_id: Id,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<Reminder>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            reminder_columns!(),
            " FROM reminders WHERE patient_id = $1 AND due_at >= $2 AND due_at < $3 \
             ORDER BY due_at, id"
        ))
        .bind(patient_id)
        .bind(secs(from))
        .bind(secs(to))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(reminder_from).collect()
    }

    async fn band_silence(&self, not_a_band: &str) -> StoreResult<Vec<BandSilence>> {
        // One primary-key lookup per device for its newest minute.
        let rows = sqlx::query(
            "SELECT patient_id, MIN(paired_at) AS paired_at, MAX(last_minute) AS last_minute \
             FROM (SELECT d.patient_id, d.paired_at, \
                   (SELECT MAX(s.minute) FROM step_samples s WHERE s.device_id = d.id) \
                   AS last_minute FROM devices d WHERE d.imported = 0 AND d.kind <> $1) newest \
             GROUP BY patient_id ORDER BY patient_id",
        )
        .bind(not_a_band)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(band_silence_from).collect()
    }

    async fn reminder_queue(&self, now: DateTime<Utc>) -> StoreResult<ReminderQueue> {
        let row = sqlx::query(
            "SELECT \
               COUNT(*) FILTER (WHERE (state = 'pending' AND next_attempt_at <= $1) \
                                   OR (state = 'sending' AND lease_until <= $1)) AS due, \
               COUNT(*) FILTER (WHERE state = 'sending' AND lease_until > $1) AS sending, \
               COUNT(*) FILTER (WHERE state = 'pending' AND next_attempt_at > $1) AS scheduled \
             FROM reminders WHERE state IN ('pending', 'sending')",
        )
        .bind(secs(now))
        .fetch_one(&self.pool)
        .await?;
        Ok(ReminderQueue {
            due: row.int("due")?,
            sending: row.int("sending")?,
            scheduled: row.int("scheduled")?,
        })
    }
}

/// Schedules one reminder unless its `dedupe_key` is taken; 1 when new.
pub(crate) async fn insert_reminder(
    tx: &mut Tx,
    reminder: &NewReminder,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let done = sqlx::query(
        "INSERT INTO reminders (kind, recipient_id, patient_id, session_id, \
         dedupe_key, due_at, expires_at, payload, state, next_attempt_at, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $6, $9) \
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(reminder.kind.as_str())
    .bind(reminder.recipient_id)
    .bind(reminder.patient_id)
    .bind(reminder.session_id)
    .bind(reminder.dedupe_key.as_str())
    .bind(secs(reminder.due_at))
    .bind(reminder.expires_at.map(secs))
    .bind(to_json(&reminder.message)?)
    .bind(secs(now))
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

async fn log_delivery(tx: &mut Tx, delivery: &Delivery) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO push_deliveries (reminder_id, subscription_id, \
         endpoint_host, at, status, outcome, error, duration_ms, worker) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(delivery.reminder_id)
    .bind(delivery.subscription_id)
    .bind(delivery.endpoint_host.as_str())
    .bind(secs(delivery.at))
    .bind(delivery.status)
    .bind(delivery.outcome.as_str())
    .bind(delivery.error.as_deref())
    .bind(delivery.duration_ms)
    .bind(delivery.worker.as_str())
    .execute(&mut **tx)
    .await?;
    let Some(subscription_id) = delivery.subscription_id else {
        return Ok(());
    };
    match delivery.outcome {
        DeliveryOutcome::Gone => {
            sqlx::query("DELETE FROM push_subscriptions WHERE id = $1")
                .bind(subscription_id)
                .execute(&mut **tx)
                .await?;
        }
        DeliveryOutcome::Delivered => {
            sqlx::query(
                "UPDATE push_subscriptions SET last_delivered_at = $1 \
                 WHERE id = $2",
            )
            .bind(secs(delivery.at))
            .bind(subscription_id)
            .execute(&mut **tx)
            .await?;
        }
        DeliveryOutcome::Retryable | DeliveryOutcome::Rejected => {}
    }
    Ok(())
}

/// Finishes a reminder if `worker` still holds it.
async fn finish(
    tx: &mut Tx,
    reminder_id: Id,
    worker: &str,
    outcome: &ReminderOutcome,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let (next_attempt, error, finished) = match outcome {
        ReminderOutcome::Retry { at, error } => (Some(secs(*at)), Some(error.as_str()), None),
        ReminderOutcome::Failed(error) | ReminderOutcome::Undeliverable(error) => {
            (None, Some(error.as_str()), Some(secs(now)))
        }
        ReminderOutcome::Sent | ReminderOutcome::Cancelled | ReminderOutcome::Expired => {
            (None, None, Some(secs(now)))
        }
    };
    let done = sqlx::query(
        "UPDATE reminders SET state = $1, \
         next_attempt_at = COALESCE($2, next_attempt_at), last_error = $3, \
         finished_at = $4, lease_until = NULL \
         WHERE id = $5 AND leased_by = $6 AND state = 'sending'",
    )
    .bind(outcome.state().as_str())
    .bind(next_attempt)
    .bind(error)
    .bind(finished)
    .bind(reminder_id)
    .bind(worker)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

fn reminder_from(row: &AnyRow) -> StoreResult<Reminder> {
    let kind = row.text("kind")?;
    let state = row.text("state")?;
    let message: ReminderMessage = row.json("payload")?;
    Ok(Reminder {
        id: row.int("id")?,
        kind: ReminderKind::parse(&kind).ok_or_else(|| corrupt(format!("kind {kind:?}")))?,
        recipient_id: row.int("recipient_id")?,
        patient_id: row.int("patient_id")?,
        session_id: row.opt_int("session_id")?,
        due_at: row.instant("due_at")?,
        expires_at: row.opt_instant("expires_at")?,
        message,
        state: ReminderState::parse(&state).ok_or_else(|| corrupt(format!("state {state:?}")))?,
        attempts: row.int("attempts")?,
        next_attempt_at: row.instant("next_attempt_at")?,
        last_error: row.opt_text("last_error")?,
        created_at: row.instant("created_at")?,
        finished_at: row.opt_instant("finished_at")?,
    })
}

fn subscription_from(row: &AnyRow) -> StoreResult<PushSubscription> {
    Ok(PushSubscription {
        id: row.int("id")?,
        user_id: row.int("user_id")?,
        subscription: NewPushSubscription {
            endpoint: row.text("endpoint")?,
            p256dh: row.text("p256dh")?,
            auth: row.text("auth")?,
            label: row.text("label")?,
        },
        created_at: row.instant("created_at")?,
        last_delivered_at: row.opt_instant("last_delivered_at")?,
    })
}

fn delivery_from(row: &AnyRow) -> StoreResult<Delivery> {
    let outcome = row.text("outcome")?;
    Ok(Delivery {
        reminder_id: row.int("reminder_id")?,
        subscription_id: row.opt_int("subscription_id")?,
        endpoint_host: row.text("endpoint_host")?,
        at: row.instant("at")?,
        status: row.opt_int("status")?,
        outcome: DeliveryOutcome::parse(&outcome)
            .ok_or_else(|| corrupt(format!("outcome {outcome:?}")))?,
        error: row.opt_text("error")?,
        duration_ms: row.int("duration_ms")?,
        worker: row.text("worker")?,
    })
}

fn band_silence_from(row: &AnyRow) -> StoreResult<BandSilence> {
    let paired = row.int("paired_at")?;
    let last_minute = row.opt_int("last_minute")?;
    Ok(BandSilence {
        patient_id: row.int("patient_id")?,
        last_seen: instant(last_minute.map_or(paired, |m| m.max(paired)))?,
    })
}

/// The settings JSON of a row, or an error naming the patient.
fn settings_error(patient_id: i64, err: serde_json::Error) -> StoreError {
    corrupt_with(format!("reminder settings of patient {patient_id}"), err)
}
