//! Reminders: their scheduling (what is scheduled when is planned by the pure
//! [`stepwise_care::reminders`], imported here as `plan`) and the scheduler inside
//! `stepwise serve` that sends them by Web Push.
//!
//! The scheduler claims due reminders in small batches under a lease
//! ([`ReminderStore::claim_due_reminders`](stepwise_store::ReminderStore::claim_due_reminders)): PostgreSQL skips rows another instance has
//! locked, SQLite claims in one atomic statement. Each claimed reminder is checked (expired?
//! its two-hour check already answered?), sent to every browser of its recipient that it has
//! not reached yet, every attempt is logged, and it is finished under the same lease. A
//! retryable failure (429, 5xx, timeout) comes back after an exponential backoff, or the
//! push service's `Retry-After` when that is later, up to [`ReminderConfig::max_attempts`];
//! then it fails with the reason. An instance that dies mid-batch leaves its claims to
//! expire; another instance then sends them.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use futures::StreamExt;
use serde_json::json;
use stepwise_engine::Decision;
use stepwise_store::{
    Completion, Delivery, DeliveryOutcome, FlareRecord, NewReminder, Patient, Reminder,
    ReminderKind, ReminderOutcome, ReminderSettings, ReviewRecord, SessionRecord, Store,
    StoreResult,
};
use web_push::Urgency;

use crate::error::ApiResult;
use crate::push::{Notice, Pusher, SendReport};
use crate::validate::parse_zone;
use stepwise_care::calendar::last_complete_week;
use stepwise_care::questionnaires::{QuestionnaireRequest, due_requests};
use stepwise_care::reminders as plan;

/// How the scheduler paces itself.
#[derive(Debug, Clone)]
pub struct ReminderConfig {
    /// How long a claim holds; must be well above the push timeout.
    pub lease: TimeDelta,
    /// Reminders claimed at once.
    pub batch: i64,
    /// Reminders sent at the same time by one instance.
    pub concurrency: usize,
    /// Attempts before a reminder fails.
    pub max_attempts: i64,
    /// Wait after the first retryable failure; doubles with each further one.
    pub backoff_base: TimeDelta,
    /// The longest wait between attempts (a later `Retry-After` still wins).
    pub backoff_cap: TimeDelta,
    /// How often the scheduler looks for due reminders.
    pub poll: Duration,
    /// How often it plans session, medication and band reminders.
    pub plan_every: Duration,
}

impl Default for ReminderConfig {
    fn default() -> Self {
        ReminderConfig {
            lease: TimeDelta::seconds(60),
            batch: 64,
            concurrency: 32,
            max_attempts: 5,
            backoff_base: TimeDelta::seconds(30),
            backoff_cap: TimeDelta::hours(1),
            poll: Duration::from_secs(1),
            plan_every: Duration::from_secs(60),
        }
    }
}

// --- scheduling, called where things happen ---

/// A walk was logged: schedule its two-hour check and follow-up, and its next-morning check
/// (idempotent, so a retried upload schedules nothing twice).
pub async fn after_walk(
    store: &dyn Store,
    patient: &Patient,
    session: &SessionRecord,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let tz = parse_zone("timezone", &patient.timezone)?;
    let settings = store.reminder_settings(patient.id).await?;
    let mut reminders = Vec::new();
    if session.pain_after_2h.is_none() {
        reminders.extend(plan::two_hour_checks(tz, patient, session, &settings));
    }
    if session.pain_next_morning.is_none() {
        reminders.extend(plan::next_morning_check(tz, patient, session, &settings));
    }
    store.schedule_reminders(&reminders, now).await?;
    Ok(())
}

/// A walk's check was answered: nothing more to ask about it.
pub async fn after_answer(
    store: &dyn Store,
    session_id: i64,
    check: Check,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let kinds: &[ReminderKind] = match check {
        Check::TwoHour => &[ReminderKind::TwoHourCheck, ReminderKind::TwoHourFollowUp],
        Check::NextMorning => &[ReminderKind::NextMorningCheck],
    };
    store
        .cancel_session_reminders(session_id, kinds, now)
        .await?;
    Ok(())
}

/// A walk was withdrawn: none of its checks is asked any more.
pub async fn after_withdrawal(
    store: &dyn Store,
    session_id: i64,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    store
        .cancel_session_reminders(
            session_id,
            &[
                ReminderKind::TwoHourCheck,
                ReminderKind::TwoHourFollowUp,
                ReminderKind::NextMorningCheck,
            ],
            now,
        )
        .await?;
    Ok(())
}

/// The two questions asked about every walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// "How is your pain now?", two hours after the walk.
    TwoHour,
    /// "How is your pain this morning?", the morning after.
    NextMorning,
}

/// A flare was reported: tell the therapist.
pub async fn after_flare(
    store: &dyn Store,
    patient: &Patient,
    flare: &FlareRecord,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let tz = parse_zone("timezone", &patient.timezone)?;
    let reminder = plan::flare_escalation(tz, patient, flare);
    store.schedule_reminders(&[reminder], now).await?;
    Ok(())
}

/// What a weekly review, once stored, tells: the patient what changed and why — only for the
/// week that has just ended, so a catch-up of older weeks sends one message, not one per week —
/// and the therapist whenever it escalated. The store schedules them in the review's own
/// transaction (`Store::save_review_notifying`), so a crash cannot keep one without the other.
pub fn review_news(
    tz: chrono_tz::Tz,
    patient: &Patient,
    settings: &ReminderSettings,
    review: &ReviewRecord,
    now: DateTime<Utc>,
) -> Vec<NewReminder> {
    let mut reminders = Vec::new();
    if review.week_start == last_complete_week(tz, now) {
        reminders.push(plan::plan_change(tz, patient, review, settings));
    }
    if review.output.decision == Decision::Escalate {
        reminders.push(plan::review_escalation(patient, review));
    }
    reminders
}

/// Asks the questionnaires due for `patient` today in their zone (their schedules, their next
/// visit and what was asked before, as [`stepwise_care::questionnaires::due_requests`] plans),
/// expires the ones no longer asked, and schedules a push for each new one. Idempotent: a
/// schedule asks once per date. Returns the questionnaires newly asked.
pub async fn ask_questionnaires(
    store: &dyn Store,
    patient: &Patient,
    now: DateTime<Utc>,
) -> ApiResult<Vec<QuestionnaireRequest>> {
    let tz = parse_zone("timezone", &patient.timezone)?;
    let schedules = store.schedules(patient.id).await?;
    let past = store.requests(patient.id).await?;
    let today = stepwise_care::calendar::local_day(tz, now);
    let due = due_requests(&schedules, patient.next_visit, &past, today);
    let asked = store.add_requests(&due.new, &due.expire, now).await?;
    if !asked.is_empty() {
        let settings = store.reminder_settings(patient.id).await?;
        let notices: Vec<NewReminder> = asked
            .iter()
            .map(|request| plan::questionnaire_notice(tz, &settings, request))
            .collect();
        store.schedule_reminders(&notices, now).await?;
    }
    Ok(asked)
}

/// Plans one patient's session and medication reminders for the coming days.
pub async fn plan_patient(
    store: &dyn Store,
    patient: &Patient,
    settings: &ReminderSettings,
    now: DateTime<Utc>,
) -> ApiResult<u64> {
    let reminders = planned_for(patient, settings, now)?;
    Ok(store.schedule_reminders(&reminders, now).await?)
}

/// A patient's session and medication reminders for the coming days, in their zone.
fn planned_for(
    patient: &Patient,
    settings: &ReminderSettings,
    now: DateTime<Utc>,
) -> ApiResult<Vec<NewReminder>> {
    let tz = parse_zone("timezone", &patient.timezone)?;
    Ok(plan::planned(tz, patient, settings, now))
}

/// Plans every patient's session and medication reminders for the coming days, and band
/// nudges for silent bands. Returns how many reminders are new. A run with nothing
/// remembered: [`Planner::plan_all`] of a fresh planner.
pub async fn plan_all(store: &dyn Store, now: DateTime<Utc>) -> ApiResult<u64> {
    Planner::default().plan_all(store, now).await
}

/// How long the planner trusts what it remembers: after this, every patient's reminders are
/// scheduled again (a no-op for those already scheduled).
pub const PLAN_REFRESH: Duration = Duration::from_secs(3600);

/// The scheduler's planner. It remembers the reminders it last scheduled for each patient, so
/// that the every-minute run writes only patients whose plan changed (a new day within
/// [`plan::PLAN_DAYS`], new settings, a new interval) instead of re-inserting every patient's
/// reminders each minute. New settings drop pending reminders and schedule the new ones in
/// the same request (`PUT /me/reminder-settings`), so nothing it skips is missing; it forgets
/// everything every [`PLAN_REFRESH`] all the same.
#[derive(Debug, Default)]
pub struct Planner {
    scheduled: HashMap<i64, Vec<NewReminder>>,
    refreshed: Option<std::time::Instant>,
}

impl Planner {
    /// Plans every patient's session and medication reminders for the coming days, band
    /// nudges for silent bands, and the questionnaires their schedules ask today (each with
    /// its push). Returns how many reminders are new.
    pub async fn plan_all(&mut self, store: &dyn Store, now: DateTime<Utc>) -> ApiResult<u64> {
        if self.refreshed.is_none_or(|at| at.elapsed() >= PLAN_REFRESH) {
            self.scheduled.clear();
            self.refreshed = Some(std::time::Instant::now());
        }
        // One query for every patient, rather than one per patient.
        let patients: HashMap<i64, Patient> = store
            .all_patients()
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let mut reminders: Vec<NewReminder> = Vec::new();
        let mut planned_now = Vec::new();
        for (patient_id, settings) in store.all_reminder_settings().await? {
            let patient = match patients.get(&patient_id) {
                Some(patient) => patient.clone(),
                None => store.patient(patient_id).await?,
            };
            let planned = planned_for(&patient, &settings, now)?;
            if self.scheduled.get(&patient_id) == Some(&planned) {
                continue;
            }
            reminders.extend(planned.iter().cloned());
            planned_now.push((patient_id, planned));
        }
        for silence in store.band_silence(stepwise_imports::IMPORTER_KIND).await? {
            if now - silence.last_seen < plan::BAND_SILENCE {
                continue;
            }
            let patient = match patients.get(&silence.patient_id) {
                Some(patient) => patient.clone(),
                None => store.patient(silence.patient_id).await?,
            };
            let tz = parse_zone("timezone", &patient.timezone)?;
            let settings = store.reminder_settings(patient.id).await?;
            reminders.extend(plan::band_nudge(tz, &patient, &silence, &settings, now));
        }
        // In parts, each its own transaction: a run that plans every patient (a new day, the
        // refresh) would otherwise hold the database's one writer (SQLite) for the whole run
        // while every request that writes waits behind it. A part that fails leaves the run
        // unremembered, and the next minute schedules it again (scheduling is idempotent).
        let mut added = 0;
        for part in reminders.chunks(PLAN_WRITE_PART) {
            added += store.schedule_reminders(part, now).await?;
        }
        self.scheduled.extend(planned_now);
        let mut asking: Vec<i64> = store
            .active_schedules()
            .await?
            .iter()
            .map(|s| s.patient_id)
            .collect();
        asking.dedup();
        for patient_id in asking {
            let patient = match patients.get(&patient_id) {
                Some(patient) => patient.clone(),
                None => store.patient(patient_id).await?,
            };
            added += ask_questionnaires(store, &patient, now).await?.len() as u64;
        }
        Ok(added)
    }
}

/// Reminders the planner writes per transaction.
const PLAN_WRITE_PART: usize = 500;

// --- delivery ---

/// What one pass of [`Scheduler::deliver_due`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliverySummary {
    /// Reminders claimed.
    pub claimed: usize,
    /// Reached at least one browser.
    pub sent: usize,
    /// Will be tried again.
    pub retrying: usize,
    /// Failed for good, expired, cancelled or had nowhere to go.
    pub closed: usize,
    /// Finished by another instance after this one's lease ran out.
    pub lost_lease: usize,
}

/// Sends due reminders. One per server instance; several may share one database.
pub struct Scheduler {
    store: Arc<dyn Store>,
    pusher: Arc<Pusher>,
    config: ReminderConfig,
    worker: String,
}

impl Scheduler {
    /// A scheduler named `worker` (unique per instance: it fences the leases).
    pub fn new(
        store: Arc<dyn Store>,
        pusher: Arc<Pusher>,
        config: ReminderConfig,
        worker: String,
    ) -> Self {
        Scheduler {
            store,
            pusher,
            config,
            worker,
        }
    }

    /// This instance's name in leases and the delivery log.
    pub fn worker(&self) -> &str {
        &self.worker
    }

    /// Claims and sends everything due at `now`, batch after batch, until a batch comes back
    /// short. Each batch is sent concurrently, then logged and finished in one transaction.
    pub async fn deliver_due(&self, now: DateTime<Utc>) -> StoreResult<DeliverySummary> {
        let mut summary = DeliverySummary::default();
        loop {
            let batch = self
                .store
                .claim_due_reminders(
                    &self.worker,
                    now,
                    now + self.config.lease,
                    self.config.batch,
                )
                .await?;
            let full = batch.len() as i64 == self.config.batch;
            summary.claimed += batch.len();
            let completions: Vec<Completion> = futures::stream::iter(batch)
                .map(|reminder| self.attempt(reminder, now))
                .buffer_unordered(self.config.concurrency.max(1))
                .collect()
                .await;
            let kept = self
                .store
                .complete_reminders(&self.worker, &completions, now)
                .await?;
            for (completion, kept) in completions.iter().zip(kept) {
                match (kept, &completion.outcome) {
                    (false, _) => {
                        tracing::warn!(
                            reminder = completion.reminder_id,
                            "lease lost before the reminder was finished"
                        );
                        summary.lost_lease += 1;
                    }
                    (true, ReminderOutcome::Sent) => summary.sent += 1,
                    (true, ReminderOutcome::Retry { .. }) => summary.retrying += 1,
                    (true, _) => summary.closed += 1,
                }
            }
            if !full {
                return Ok(summary);
            }
        }
    }

    /// One attempt at a claimed reminder. A store error on the way is an attempt that failed
    /// (and is retried), so that what was already sent in the batch is still logged.
    async fn attempt(&self, reminder: Reminder, now: DateTime<Utc>) -> Completion {
        let mut deliveries = Vec::new();
        let outcome = match self.try_attempt(&reminder, now, &mut deliveries).await {
            Ok(outcome) => outcome,
            Err(err) => ReminderOutcome::Retry {
                at: now + self.backoff(reminder.attempts, None),
                error: format!("the database failed during the attempt: {err}"),
            },
        };
        Completion {
            reminder_id: reminder.id,
            outcome,
            deliveries,
        }
    }

    async fn try_attempt(
        &self,
        reminder: &Reminder,
        now: DateTime<Utc>,
        deliveries: &mut Vec<Delivery>,
    ) -> StoreResult<ReminderOutcome> {
        if reminder.expires_at.is_some_and(|at| at <= now) {
            return Ok(ReminderOutcome::Expired);
        }
        if let (true, Some(session_id)) = (reminder.kind.is_two_hour(), reminder.session_id) {
            let session = self.store.session(reminder.patient_id, session_id).await?;
            if session.pain_after_2h.is_some() {
                return Ok(ReminderOutcome::Cancelled);
            }
        }
        let subscriptions = self.store.push_subscriptions(reminder.recipient_id).await?;
        if subscriptions.is_empty() {
            return Ok(ReminderOutcome::Undeliverable(
                "no browser of the recipient has reminders turned on".into(),
            ));
        }
        // Only a reminder claimed before can have reached some browsers already.
        let reached: HashSet<i64> = if reminder.attempts > 1 {
            self.store
                .delivered_subscriptions(reminder.id)
                .await?
                .into_iter()
                .collect()
        } else {
            HashSet::new()
        };
        let notice = notice(reminder, now);
        let mut reports = Vec::new();
        for subscription in subscriptions.iter().filter(|s| !reached.contains(&s.id)) {
            let report = self.pusher.send(&subscription.subscription, &notice).await;
            if let Some(error) = &report.error {
                tracing::info!(
                    reminder = reminder.id,
                    subscription = subscription.id,
                    outcome = report.outcome.as_str(),
                    error = %error,
                    "push attempt"
                );
            }
            deliveries.push(Delivery {
                reminder_id: reminder.id,
                subscription_id: Some(subscription.id),
                endpoint_host: endpoint_host(&subscription.subscription.endpoint),
                at: now,
                status: report.status.map(i64::from),
                outcome: report.outcome,
                error: report.error.clone(),
                duration_ms: report.elapsed.as_millis().try_into().unwrap_or(i64::MAX),
                worker: self.worker.clone(),
            });
            reports.push(report);
        }
        Ok(self.outcome(reminder, !reached.is_empty(), &reports, now))
    }

    /// What the attempt's reports mean for the reminder.
    fn outcome(
        &self,
        reminder: &Reminder,
        reached_before: bool,
        reports: &[SendReport],
        now: DateTime<Utc>,
    ) -> ReminderOutcome {
        let delivered = reached_before
            || reports
                .iter()
                .any(|r| r.outcome == DeliveryOutcome::Delivered);
        let errors = || {
            reports
                .iter()
                .filter_map(|r| r.error.as_deref())
                .collect::<Vec<_>>()
                .join("; ")
        };
        let retryable: Vec<&SendReport> = reports
            .iter()
            .filter(|r| r.outcome == DeliveryOutcome::Retryable)
            .collect();
        if !retryable.is_empty() {
            if reminder.attempts < self.config.max_attempts {
                let asked = retryable.iter().filter_map(|r| r.retry_after).max();
                return ReminderOutcome::Retry {
                    at: now + self.backoff(reminder.attempts, asked),
                    error: errors(),
                };
            }
            if !delivered {
                return ReminderOutcome::Failed(format!(
                    "gave up after {} attempts: {}",
                    reminder.attempts,
                    errors()
                ));
            }
        }
        if delivered {
            ReminderOutcome::Sent
        } else if reports.iter().all(|r| r.outcome == DeliveryOutcome::Gone) {
            ReminderOutcome::Undeliverable(format!(
                "every browser's subscription has expired: {}",
                errors()
            ))
        } else {
            ReminderOutcome::Failed(errors())
        }
    }

    /// The wait before attempt `attempts + 1`: `backoff_base × 2^(attempts − 1)`, at most
    /// `backoff_cap`, or the push service's `Retry-After` when that is longer.
    pub fn backoff(&self, attempts: i64, retry_after: Option<Duration>) -> TimeDelta {
        let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
        let exponential = self
            .config
            .backoff_base
            .checked_mul(2_i32.pow(doublings))
            .unwrap_or(self.config.backoff_cap)
            .min(self.config.backoff_cap);
        let asked = retry_after
            .and_then(|d| TimeDelta::from_std(d).ok())
            .unwrap_or(TimeDelta::zero());
        exponential.max(asked)
    }
}

/// The push message of a reminder: what the service worker shows and which page it opens.
fn notice(reminder: &Reminder, now: DateTime<Utc>) -> Notice {
    let payload = json!({
        "reminder_id": reminder.id,
        "kind": reminder.kind,
        "title": reminder.message.title,
        "body": reminder.message.body,
        "url": reminder.message.url,
        "session_id": reminder.session_id,
    });
    let ttl = reminder
        .expires_at
        .map_or(TimeDelta::hours(12), |at| at - now)
        .num_seconds()
        .clamp(60, 4 * 7 * 24 * 3600);
    let urgency = match reminder.kind {
        ReminderKind::TwoHourCheck | ReminderKind::TwoHourFollowUp | ReminderKind::Escalation => {
            Urgency::High
        }
        ReminderKind::Session
        | ReminderKind::Medication
        | ReminderKind::NextMorningCheck
        | ReminderKind::Message
        | ReminderKind::Questionnaire => Urgency::Normal,
        ReminderKind::PlanChange | ReminderKind::BandNudge => Urgency::Low,
    };
    // The follow-up replaces an undelivered first check of the same walk; the next morning's
    // question is a message of its own.
    let topic = match (reminder.kind, reminder.session_id) {
        (ReminderKind::NextMorningCheck, Some(session)) => format!("morning-{session}"),
        (_, Some(session)) => format!("walk-{session}"),
        (_, None) => format!("reminder-{}", reminder.id),
    };
    Notice {
        payload: payload.to_string().into_bytes(),
        ttl: u32::try_from(ttl).unwrap_or(60),
        urgency,
        topic: Some(topic),
    }
}

/// The host of an endpoint, for the log (the full URL is a capability, never logged).
fn endpoint_host(endpoint: &str) -> String {
    url::Url::parse(endpoint)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "invalid".into())
}

/// A name for this instance: process id and a random suffix.
pub fn worker_name() -> String {
    let mut bytes = [0u8; 4];
    // A failure leaves zeros: the pid still tells instances on different hosts apart poorly,
    // but leases stay correct within one database as long as names differ.
    let _ = getrandom::fill(&mut bytes);
    format!("pid{}-{}", std::process::id(), hex::encode(bytes))
}
