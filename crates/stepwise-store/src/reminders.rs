//! Reminders and Web Push as data: the messages Stepwise owes its users, the browsers that
//! receive them, and the log of every attempt to deliver one.
//!
//! A [`Reminder`] is one message to one user, due at an instant. It is scheduled once (its
//! `dedupe_key` is unique, so scheduling is idempotent), claimed by one server instance at a
//! time under a lease ([`ReminderStore::claim_due_reminders`]), and finished by the instance
//! that holds the lease ([`ReminderStore::complete_reminders`]). A claim whose lease ran out
//! (the instance crashed) is claimed again by another instance.

use async_trait::async_trait;
use chrono::{DateTime, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

use crate::StoreResult;
use crate::model::Id;

/// What a reminder is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReminderKind {
    /// "How is your pain now?", two hours after a walk ends.
    TwoHourCheck,
    /// The same question an hour later, when the first went unanswered.
    TwoHourFollowUp,
    /// Time for a walk, at one of the patient's chosen local times.
    Session,
    /// Take the medication the therapist scheduled before the usual walk time.
    Medication,
    /// What the weekly review changed and why.
    PlanChange,
    /// To the therapist: the engine escalated or the patient reported a flare.
    Escalation,
    /// No band data has arrived for two days.
    BandNudge,
    /// "How is your pain this morning?", the morning after a walk, when quiet hours end.
    NextMorningCheck,
}

impl ReminderKind {
    /// Every kind.
    pub const ALL: [ReminderKind; 8] = [
        ReminderKind::TwoHourCheck,
        ReminderKind::TwoHourFollowUp,
        ReminderKind::Session,
        ReminderKind::Medication,
        ReminderKind::PlanChange,
        ReminderKind::Escalation,
        ReminderKind::BandNudge,
        ReminderKind::NextMorningCheck,
    ];

    /// The stable name used in storage and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ReminderKind::TwoHourCheck => "two_hour_check",
            ReminderKind::TwoHourFollowUp => "two_hour_follow_up",
            ReminderKind::Session => "session",
            ReminderKind::Medication => "medication",
            ReminderKind::PlanChange => "plan_change",
            ReminderKind::Escalation => "escalation",
            ReminderKind::BandNudge => "band_nudge",
            ReminderKind::NextMorningCheck => "next_morning_check",
        }
    }

    /// Parses [`ReminderKind::as_str`]'s names.
    pub fn parse(name: &str) -> Option<ReminderKind> {
        ReminderKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Whether this kind asks for the two-hour answer of a walk.
    pub fn is_two_hour(self) -> bool {
        matches!(
            self,
            ReminderKind::TwoHourCheck | ReminderKind::TwoHourFollowUp
        )
    }
}

/// Where a reminder is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReminderState {
    /// Waiting for its due instant (or its next attempt).
    Pending,
    /// Claimed by a server instance, which is sending it now.
    Sending,
    /// Handed to the push service of at least one of the recipient's browsers.
    Sent,
    /// No longer needed (the two-hour check was answered first).
    Cancelled,
    /// Its window closed before it could be sent.
    Expired,
    /// Every attempt failed; `last_error` says why.
    Failed,
    /// The recipient has no browser with reminders turned on.
    Undeliverable,
}

impl ReminderState {
    /// Every state.
    pub const ALL: [ReminderState; 7] = [
        ReminderState::Pending,
        ReminderState::Sending,
        ReminderState::Sent,
        ReminderState::Cancelled,
        ReminderState::Expired,
        ReminderState::Failed,
        ReminderState::Undeliverable,
    ];

    /// The stable name used in storage and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ReminderState::Pending => "pending",
            ReminderState::Sending => "sending",
            ReminderState::Sent => "sent",
            ReminderState::Cancelled => "cancelled",
            ReminderState::Expired => "expired",
            ReminderState::Failed => "failed",
            ReminderState::Undeliverable => "undeliverable",
        }
    }

    /// Parses [`ReminderState::as_str`]'s names.
    pub fn parse(name: &str) -> Option<ReminderState> {
        ReminderState::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// What the notification says and which page it opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderMessage {
    /// The notification's title.
    pub title: String,
    /// Its text, in plain words.
    pub body: String,
    /// The page (path on this server) that answers it.
    pub url: String,
}

/// A reminder to schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewReminder {
    /// What it is for.
    pub kind: ReminderKind,
    /// Who receives it (the patient, or for escalations their therapist).
    pub recipient_id: Id,
    /// The patient it concerns.
    pub patient_id: Id,
    /// The walk it asks about (two-hour checks).
    pub session_id: Option<Id>,
    /// Unique per reminder: scheduling the same key again does nothing.
    pub dedupe_key: String,
    /// When to send it.
    pub due_at: DateTime<Utc>,
    /// When it is no longer worth sending.
    pub expires_at: Option<DateTime<Utc>>,
    /// What it says.
    pub message: ReminderMessage,
}

/// A stored reminder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reminder {
    /// Row id.
    pub id: Id,
    /// What it is for.
    pub kind: ReminderKind,
    /// Who receives it.
    pub recipient_id: Id,
    /// The patient it concerns.
    pub patient_id: Id,
    /// The walk it asks about.
    pub session_id: Option<Id>,
    /// When it is due.
    pub due_at: DateTime<Utc>,
    /// When it stops being worth sending.
    pub expires_at: Option<DateTime<Utc>>,
    /// What it says.
    pub message: ReminderMessage,
    /// Where it is in its life.
    pub state: ReminderState,
    /// How many times it was claimed for sending.
    pub attempts: i64,
    /// When it may be claimed next (the due instant, later after a retryable failure).
    pub next_attempt_at: DateTime<Utc>,
    /// Why the last attempt did not deliver it.
    pub last_error: Option<String>,
    /// When it was scheduled.
    pub created_at: DateTime<Utc>,
    /// When it reached a final state.
    pub finished_at: Option<DateTime<Utc>>,
}

/// How an attempt to send a claimed reminder ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReminderOutcome {
    /// Delivered to at least one browser.
    Sent,
    /// Try again at `at`.
    Retry {
        /// The next attempt.
        at: DateTime<Utc>,
        /// Why this one failed.
        error: String,
    },
    /// Given up: the reason.
    Failed(String),
    /// Not needed any more.
    Cancelled,
    /// Its window closed.
    Expired,
    /// Nowhere to send it: the reason.
    Undeliverable(String),
}

impl ReminderOutcome {
    /// The state the reminder ends up in.
    pub fn state(&self) -> ReminderState {
        match self {
            ReminderOutcome::Sent => ReminderState::Sent,
            ReminderOutcome::Retry { .. } => ReminderState::Pending,
            ReminderOutcome::Failed(_) => ReminderState::Failed,
            ReminderOutcome::Cancelled => ReminderState::Cancelled,
            ReminderOutcome::Expired => ReminderState::Expired,
            ReminderOutcome::Undeliverable(_) => ReminderState::Undeliverable,
        }
    }
}

/// How the attempt to send one claimed reminder ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The reminder.
    pub reminder_id: Id,
    /// Where it goes next.
    pub outcome: ReminderOutcome,
    /// Each browser tried in this attempt.
    pub deliveries: Vec<Delivery>,
}

/// A browser's push subscription as it arrives from `PushManager.subscribe()`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPushSubscription {
    /// The browser's address at its push service.
    pub endpoint: String,
    /// The browser's P-256 public key, base64url.
    pub p256dh: String,
    /// The browser's auth secret, base64url.
    pub auth: String,
    /// A name the user recognises ("Phone", or the browser's).
    pub label: String,
}

/// A stored push subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushSubscription {
    /// Row id.
    pub id: Id,
    /// Whose browser it is.
    pub user_id: Id,
    /// The subscription.
    #[serde(flatten)]
    pub subscription: NewPushSubscription,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
    /// When a reminder last reached it.
    pub last_delivered_at: Option<DateTime<Utc>>,
}

/// The server's VAPID key pair (application server keys), base64url.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VapidKeys {
    /// The raw 32-byte P-256 private scalar, base64url. Never logged, never served.
    pub private_key: String,
    /// The uncompressed public point (65 bytes), base64url: what browsers subscribe with.
    pub public_key: String,
    /// When it was generated.
    pub created_at: DateTime<Utc>,
}

/// How one attempt to hand a reminder to one browser's push service ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryOutcome {
    /// Accepted (2xx).
    Delivered,
    /// The subscription is gone (404 or 410); it was deleted.
    Gone,
    /// Worth another try (429, 5xx, timeout, connection failure).
    Retryable,
    /// Refused for good (other 4xx, an endpoint outside the allowed hosts, a bad key).
    Rejected,
}

impl DeliveryOutcome {
    /// Every outcome.
    pub const ALL: [DeliveryOutcome; 4] = [
        DeliveryOutcome::Delivered,
        DeliveryOutcome::Gone,
        DeliveryOutcome::Retryable,
        DeliveryOutcome::Rejected,
    ];

    /// The stable name used in storage and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryOutcome::Delivered => "delivered",
            DeliveryOutcome::Gone => "gone",
            DeliveryOutcome::Retryable => "retryable",
            DeliveryOutcome::Rejected => "rejected",
        }
    }

    /// Parses [`DeliveryOutcome::as_str`]'s names.
    pub fn parse(name: &str) -> Option<DeliveryOutcome> {
        DeliveryOutcome::ALL
            .into_iter()
            .find(|o| o.as_str() == name)
    }
}

/// One entry of the delivery log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The reminder.
    pub reminder_id: Id,
    /// The subscription it was sent to (kept after the subscription is deleted).
    pub subscription_id: Option<Id>,
    /// The push service's host (never the full endpoint: that is a capability).
    pub endpoint_host: String,
    /// When the attempt started.
    pub at: DateTime<Utc>,
    /// The push service's HTTP status, when it answered.
    pub status: Option<i64>,
    /// How it ended.
    pub outcome: DeliveryOutcome,
    /// What went wrong, in a sentence.
    pub error: Option<String>,
    /// How long the attempt took.
    pub duration_ms: i64,
    /// Which server instance made it.
    pub worker: String,
}

/// A local time of day, written `HH:MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClockTime(pub NaiveTime);

impl Serialize for ClockTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.format("%H:%M").to_string())
    }
}

impl<'de> Deserialize<'de> for ClockTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        NaiveTime::parse_from_str(&text, "%H:%M")
            .map(ClockTime)
            .map_err(|_| serde::de::Error::custom(format!("{text:?} is not a time HH:MM")))
    }
}

/// Hours in which no reminder reaches the patient; reminders due inside wait for the end.
/// `start` after `end` spans midnight (22:00–07:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// When quiet starts, local.
    pub start: ClockTime,
    /// When it ends, local.
    pub end: ClockTime,
}

/// A patient's reminder settings. The patient sets the first four; the therapist the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReminderSettings {
    /// Session reminders on or off (two-hour checks are always scheduled).
    pub session_reminders: bool,
    /// Local times of day to remind the patient to walk.
    pub session_times: Vec<ClockTime>,
    /// The days of the week the plan's walks fall on.
    pub session_days: Vec<Weekday>,
    /// No reminders in these hours.
    pub quiet_hours: Option<QuietHours>,
    /// Therapist: remind to take medication this many minutes before each walk time.
    pub medication_lead_min: Option<i64>,
    /// Therapist: the two-hour check expires this many minutes after the walk ends.
    pub two_hour_window_min: i64,
    /// Patient: the next-morning check ("how is your pain this morning?") after each walk.
    /// On unless turned off (settings stored before it existed read as on).
    #[serde(default = "next_morning_checks_default")]
    pub next_morning_checks: bool,
}

fn next_morning_checks_default() -> bool {
    true
}

impl ReminderSettings {
    /// The default two-hour window: four hours after the walk ends.
    pub const DEFAULT_TWO_HOUR_WINDOW_MIN: i64 = 240;
}

impl Default for ReminderSettings {
    fn default() -> Self {
        ReminderSettings {
            session_reminders: true,
            session_times: Vec::new(),
            session_days: vec![
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
                Weekday::Sat,
                Weekday::Sun,
            ],
            quiet_hours: None,
            medication_lead_min: None,
            two_hour_window_min: Self::DEFAULT_TWO_HOUR_WINDOW_MIN,
            next_morning_checks: next_morning_checks_default(),
        }
    }
}

/// A patient with a paired band and when data last came from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BandSilence {
    /// The patient.
    pub patient_id: Id,
    /// The newest minute of band data, or when the first band was paired if none came yet.
    pub last_seen: DateTime<Utc>,
}

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
    /// Patients with a paired band, with when band data was last seen.
    async fn band_silence(&self) -> StoreResult<Vec<BandSilence>>;
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
