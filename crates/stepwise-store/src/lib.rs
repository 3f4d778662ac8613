//! Where Stepwise keeps its data: the [`Store`] trait, named for what the product does, and its
//! two implementations — SQLite (the embedded default: one file) and PostgreSQL (for several
//! server instances). All SQL lives in this crate; no sqlx type crosses its API.
//!
//! [`connect`] picks the backend from the URL prefix (`sqlite:` or `postgres:`) and applies
//! that backend's migrations (`migrations/sqlite/`, `migrations/postgres/` at the workspace
//! root, embedded at build time).
//!
//! Every method that can be retried is idempotent (sessions and flares by client id, samples
//! by device and minute, reviews by patient and week), and every multi-row write is one
//! transaction: all or nothing.
#![warn(missing_docs)]

pub mod backup;
pub mod model;
mod postgres;
pub mod reminders;
mod sql;
mod sql_reminders;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use stepwise_engine::Rules;

pub use model::*;
pub use postgres::PostgresStore;
pub use reminders::*;
pub use sqlite::SqliteStore;

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row asked for does not exist (or is not visible to the caller).
    #[error("not found")]
    NotFound,
    /// The write conflicts with what is stored, e.g. an e-mail already taken or a client id
    /// reused with different content. The text says what conflicted and may be shown.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The code or token exists but was used or has expired.
    #[error("expired or already used")]
    Gone,
    /// The database was migrated by a newer Stepwise than this one: it holds a migration this
    /// binary does not know. Nothing is changed; the operator upgrades the binary or restores
    /// a backup made before the upgrade.
    #[error(
        "the database was upgraded by a newer Stepwise: it has migration {database}, this \
         Stepwise knows migrations up to {binary}. Run the newer Stepwise, or restore a backup \
         made before the upgrade (docs/deploy.md, \"Upgrades\")"
    )]
    NewerDatabase {
        /// The newest migration the database has applied.
        database: i64,
        /// The newest migration this binary carries.
        binary: i64,
    },
    /// Anything else (connection, constraint, corrupt row). Logged, never shown to clients.
    #[error("database error: {0}")]
    Other(String),
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// A user's login record: the user and their Argon2id hash.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The user.
    pub user: User,
    /// Argon2id PHC string.
    pub password_hash: String,
}

/// A logged-in browser or API client.
#[derive(Debug, Clone)]
pub struct AuthSession {
    /// The user.
    pub user: User,
    /// Token that cookie-authenticated writes must echo in `X-CSRF-Token`.
    pub csrf_token: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// Everything Stepwise stores, named for intent. Implemented by [`SqliteStore`] and
/// [`PostgresStore`]; the server holds an `Arc<dyn Store>`.
///
/// Instants are passed in (`now`): the store never reads the clock.
#[async_trait]
pub trait Store: ReminderStore + Send + Sync + 'static {
    // --- clinics and accounts ---

    /// Creates a clinic with default rules and plan, and its first clinic admin.
    async fn create_clinic(
        &self,
        name: &str,
        admin: NewUser,
        now: DateTime<Utc>,
    ) -> StoreResult<(Clinic, User)>;
    /// A clinic by id.
    async fn clinic(&self, clinic_id: Id) -> StoreResult<Clinic>;
    /// Replaces the rules and plan new patients of the clinic start with.
    async fn set_clinic_defaults(
        &self,
        clinic_id: Id,
        rules: &Rules,
        plan: &WalkingPlan,
    ) -> StoreResult<()>;
    /// Sets the clinic's contact for safety advice.
    async fn set_safety_contact(&self, clinic_id: Id, contact: &SafetyContact) -> StoreResult<()>;
    /// How many users exist (0 on a new database).
    async fn count_users(&self) -> StoreResult<i64>;
    /// A user by id.
    async fn user(&self, user_id: Id) -> StoreResult<User>;
    /// A user and their password hash by e-mail (lower-case).
    async fn credentials(&self, email: &str) -> StoreResult<Credentials>;
    /// The users of a clinic with the given role, by name.
    async fn clinic_users(&self, clinic_id: Id, role: Role) -> StoreResult<Vec<User>>;

    /// Stores an invite.
    async fn create_invite(&self, invite: NewInvite, now: DateTime<Utc>) -> StoreResult<()>;
    /// Uses an invite once: creates the user (and for patients their patient row, plan and
    /// first rules version from the clinic defaults) in one transaction.
    /// `NotFound` for an unknown code, `Gone` when used or expired, `Conflict` when the
    /// e-mail is taken.
    async fn accept_invite(
        &self,
        code_hash: &str,
        user: NewUser,
        now: DateTime<Utc>,
    ) -> StoreResult<User>;

    /// Stores a one-time password reset code for `user_id` (hashed), made by `created_by`
    /// (staff) or by the person's own e-mail request (`None`). Earlier unused codes of the
    /// same person stop working.
    async fn create_password_reset(
        &self,
        code_hash: &str,
        user_id: Id,
        created_by: Option<Id>,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Uses a password reset code once: sets the new password hash and ends every login
    /// session of that person, in one transaction. `NotFound` for an unknown code, `Gone`
    /// when used, voided or expired.
    async fn reset_password(
        &self,
        code_hash: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<User>;

    /// Stores a login session (the token is stored hashed).
    async fn create_auth_session(
        &self,
        token_hash: &str,
        user_id: Id,
        csrf_token: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The live session for a token hash; `NotFound` when unknown or expired at `now`.
    async fn auth_session(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<AuthSession>;
    /// Ends a login session.
    async fn delete_auth_session(&self, token_hash: &str) -> StoreResult<()>;

    // --- patients, plans, rules ---

    /// A patient by user id.
    async fn patient(&self, patient_id: Id) -> StoreResult<Patient>;
    /// Every patient of a clinic.
    async fn clinic_patients(&self, clinic_id: Id) -> StoreResult<Vec<Patient>>;
    /// Every patient (for the weekly review job).
    async fn all_patients(&self) -> StoreResult<Vec<Patient>>;
    /// The plan's history, oldest first.
    async fn plan_history(&self, patient_id: Id) -> StoreResult<Vec<PlanChange>>;
    /// A therapist's change of the plan, recorded in its history.
    async fn change_plan(
        &self,
        patient_id: Id,
        change: PlanOverride,
        now: DateTime<Utc>,
    ) -> StoreResult<PlanChange>;
    /// The rules in force (highest version).
    async fn current_rules(&self, patient_id: Id) -> StoreResult<RulesVersion>;
    /// Every rules version, oldest first.
    async fn rules_history(&self, patient_id: Id) -> StoreResult<Vec<RulesVersion>>;
    /// Saves a new rules version (validated by the caller) and returns it.
    async fn save_rules(
        &self,
        patient_id: Id,
        rules: &Rules,
        by_user: Id,
        now: DateTime<Utc>,
    ) -> StoreResult<RulesVersion>;

    // --- walks and flares ---

    /// Logs a walk. Idempotent on the client id: the same walk again returns the stored one
    /// (`false` = it already existed); a different walk under the same id is a `Conflict`.
    async fn record_session(
        &self,
        patient_id: Id,
        session: NewSession,
        now: DateTime<Utc>,
    ) -> StoreResult<(SessionRecord, bool)>;
    /// One walk of a patient (`NotFound` when withdrawn).
    async fn session(&self, patient_id: Id, session_id: Id) -> StoreResult<SessionRecord>;
    /// Records the two-hour answer. The same answer again is accepted; a different one once
    /// answered is a `Conflict`.
    async fn answer_two_hour_check(
        &self,
        patient_id: Id,
        session_id: Id,
        pain_after_2h: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<SessionRecord>;
    /// Answers a walk's next-morning check ("how is your pain this morning?"), as the
    /// two-hour check: the same answer again returns the stored walk; a different one is
    /// `Conflict`.
    async fn answer_next_morning_check(
        &self,
        patient_id: Id,
        session_id: Id,
        pain_next_morning: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<SessionRecord>;
    /// Corrects a logged walk: its walked time, bouts, pains, effort, rest and notes become
    /// `corrected`'s (its client id and times stay), and the change is kept with the walk as
    /// it was. The same correction again changes nothing and keeps no second record.
    /// `NotFound` for an unknown or withdrawn walk.
    async fn correct_session(
        &self,
        patient_id: Id,
        session_id: Id,
        corrected: &NewSession,
        by_user: Id,
        now: DateTime<Utc>,
    ) -> StoreResult<SessionRecord>;
    /// Withdraws a logged walk: it no longer counts anywhere (it leaves every list of walks),
    /// and the change is kept with the walk as it was. `NotFound` for an unknown or already
    /// withdrawn walk.
    async fn withdraw_session(
        &self,
        patient_id: Id,
        session_id: Id,
        by_user: Id,
        now: DateTime<Utc>,
    ) -> StoreResult<SessionChange>;
    /// Every change to the patient's walks made in `[from, to)`, oldest first.
    async fn session_changes(
        &self,
        patient_id: Id,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<SessionChange>>;
    /// Walks that started in `[from, to)`, oldest first; withdrawn walks are left out.
    async fn sessions_between(
        &self,
        patient_id: Id,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<SessionRecord>>;
    /// Reports a flare, idempotent on the client id.
    async fn report_flare(
        &self,
        patient_id: Id,
        flare: NewFlare,
        now: DateTime<Utc>,
    ) -> StoreResult<(FlareRecord, bool)>;
    /// Flares that started in `[from, to)`, oldest first.
    async fn flares_between(
        &self,
        patient_id: Id,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<FlareRecord>>;

    // --- bands ---

    /// Stores a one-time pairing code (hashed) for a patient.
    async fn create_pairing_code(
        &self,
        patient_id: Id,
        code_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Uses a pairing code once: registers the device with its upload token (hashed), valid
    /// for [`DEVICE_TOKEN_LIFETIME`]; an earlier pairing of the same band (address) for the
    /// same patient is revoked.
    /// `NotFound` for an unknown code, `Gone` when used or expired.
    async fn pair_device(
        &self,
        code_hash: &str,
        device: NewDevice,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Device>;
    /// The device an upload token belongs to — its current token, or the one its last
    /// renewal replaced while the new one is still unused — revoked and expired ones too (the
    /// caller refuses those with a reason). Records the contact (`last_seen_at`); the current
    /// token's first use retires the previous one.
    async fn authenticate_device(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Device>;
    /// Gives a device a new upload token valid for [`DEVICE_TOKEN_LIFETIME`] from `now`,
    /// presented with its current or previous token. `NotFound` when revoked or neither
    /// matches.
    async fn renew_device_token(
        &self,
        device_id: Id,
        presented_hash: &str,
        new_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Device>;
    /// Removes a patient's device: its tokens stop working, its data stays. Revoking again
    /// keeps the first time. `NotFound` when the patient has no such device.
    async fn revoke_device(
        &self,
        patient_id: Id,
        device_id: Id,
        now: DateTime<Utc>,
    ) -> StoreResult<Device>;
    /// A patient's devices.
    async fn devices(&self, patient_id: Id) -> StoreResult<Vec<Device>>;
    /// Stores a batch of samples from one device, all or nothing, and recomputes the device's
    /// patient's [`BandDay`] totals of the local `days` the batch touches, in the same
    /// transaction.
    async fn ingest_samples(
        &self,
        device_id: Id,
        batch: &SampleBatch,
        days: &[LocalDay],
    ) -> StoreResult<IngestSummary>;
    /// Band data per local day in `[from, to]`, by date; days without data are absent.
    async fn band_days(
        &self,
        patient_id: Id,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<BandDay>>;
    /// Minute samples of all the patient's devices in `[from, to)`, by minute. Where two
    /// devices reported the same minute, the higher step count is kept.
    async fn step_samples(
        &self,
        patient_id: Id,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<StepSample>>;
    /// Sleep episodes of all the patient's devices starting in `[from, to)`, by start.
    async fn sleep_episodes(
        &self,
        patient_id: Id,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<SleepEpisode>>;

    // --- visits and outcome measures ---

    /// Sets or clears the patient's next visit.
    async fn set_next_visit(&self, patient_id: Id, visit: Option<NaiveDate>) -> StoreResult<()>;
    /// Records an outcome measure.
    async fn add_outcome(
        &self,
        patient_id: Id,
        outcome: NewOutcome,
        by_user: Id,
        now: DateTime<Utc>,
    ) -> StoreResult<OutcomeRecord>;
    /// A patient's outcome measures, by date measured.
    async fn outcomes(&self, patient_id: Id) -> StoreResult<Vec<OutcomeRecord>>;

    // --- weekly reviews ---

    /// Stores a weekly review and, when applied, the new plan and its history entry, and the
    /// freeze for an escalation — one transaction. Idempotent on patient + week: a second
    /// call for a reviewed week changes nothing and returns the stored review (`false`).
    async fn save_review(
        &self,
        patient_id: Id,
        review: NewReview,
        now: DateTime<Utc>,
    ) -> StoreResult<(ReviewRecord, bool)>;
    /// [`Store::save_review`] that also schedules, in the same transaction, the reminders
    /// `notify` makes of the review when this call stored it (its news to the patient, an
    /// escalation's alert to the therapist): a crash never leaves a review without them, and
    /// a repeat for a reviewed week schedules nothing.
    async fn save_review_notifying(
        &self,
        patient_id: Id,
        review: NewReview,
        now: DateTime<Utc>,
        notify: &(dyn for<'r> Fn(&'r ReviewRecord) -> Vec<NewReminder> + Send + Sync),
    ) -> StoreResult<(ReviewRecord, bool)>;
    /// A patient's reviews, oldest week first.
    async fn reviews(&self, patient_id: Id) -> StoreResult<Vec<ReviewRecord>>;
    /// A patient's review outcomes without their inputs, oldest week first.
    async fn review_outcomes(&self, patient_id: Id) -> StoreResult<Vec<ReviewOutcome>>;
    /// Acknowledges an escalation review with the therapist's note and lifts the freeze.
    /// `NotFound` when the review is not an escalation of this patient; acknowledging twice
    /// keeps the first (and its note). Reopening clears the acknowledgement and its note.
    async fn acknowledge_escalation(
        &self,
        patient_id: Id,
        review_id: Id,
        by_user: Id,
        note: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<ReviewRecord>;
    /// Opens an acknowledged escalation review again and freezes the plan: a new red flag in
    /// a week whose escalation a therapist already acknowledged. The earlier acknowledgement
    /// is returned in the record (as it was) and then cleared in the store. `NotFound` when
    /// the review is not an escalation of this patient.
    async fn reopen_escalation(&self, patient_id: Id, review_id: Id) -> StoreResult<ReviewRecord>;

    // --- audit ---

    /// Appends entries to the audit log, all or none.
    async fn audit(&self, entries: &[AuditEntry]) -> StoreResult<()>;
    /// Audit entries about one patient, oldest first.
    async fn audit_log(&self, patient_id: Id) -> StoreResult<Vec<AuditEntry>>;
}

/// Opens the store named by `url` (`sqlite:PATH` or `postgres://…`) and applies its
/// migrations.
pub async fn connect(url: &str) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(PostgresStore::connect(url).await?))
    } else {
        Err(StoreError::Other(format!(
            "unsupported database URL {:?}: use sqlite:PATH or postgres://USER@HOST/DB",
            redact(url)
        )))
    }
}

/// The URL with any password replaced, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redact_hides_passwords_only() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/stepwise"),
            "postgres://app:***@db:5432/stepwise"
        );
        assert_eq!(
            redact("postgres://app@db/stepwise"),
            "postgres://app@db/stepwise"
        );
        assert_eq!(redact("sqlite:stepwise.db"), "sqlite:stepwise.db");
    }
}
