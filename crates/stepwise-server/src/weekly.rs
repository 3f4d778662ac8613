//! The weekly review job: at the end of each patient's local week (Monday 00:00 in their
//! zone), gather the week's evidence — sessions, two-hour answers, and each walk's verification
//! from the band's minute steps — ask the engine, and store the decision with the new plan.
//!
//! The job is idempotent: the store keeps one review per patient and week, so running it
//! twice (or on two server instances at once) changes nothing the second time. While an
//! escalation is open the review is still made and stored, but not applied to the plan.

use std::collections::HashMap;

use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde::Serialize;
use stepwise_engine::adherence::Verification;
use stepwise_engine::{Decision, FlareReport, SessionReport, WeekEvidence, review};
use stepwise_store::{
    Id, NewReminder, NewReview, Patient, ReviewOutcome, ReviewRecord, SessionRecord, Store,
    StoreResult,
};

use crate::error::{ApiError, ApiResult};
use crate::reminders;
use crate::validate::parse_zone;
use stepwise_care::calendar::{last_complete_week, local_day, monday_of, week_bounds};
use stepwise_care::walks;
use stepwise_care::words::{self, Explained};
use stepwise_engine::Reader;

/// How many missed weeks one run catches up on per patient (after downtime).
pub const MAX_CATCH_UP_WEEKS: u64 = 4;

/// What one run of the job did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// Patients looked at.
    pub patients: usize,
    /// Reviews made and stored by this run.
    pub reviewed: usize,
    /// Patients whose review failed (logged).
    pub failed: usize,
}

/// The week's evidence for the engine: each session's scores, its local day, and whether the
/// band's minute steps confirm it.
pub async fn gather_evidence(
    store: &dyn Store,
    patient: &Patient,
    tz: Tz,
    monday: NaiveDate,
) -> StoreResult<WeekEvidence> {
    let (start, end) = week_bounds(tz, monday);
    let sessions = store.sessions_between(patient.id, start, end).await?;
    let verifications = verify_sessions(store, patient.id, &sessions).await?;
    let mut reports = Vec::with_capacity(sessions.len());
    for (s, verification) in sessions.iter().zip(verifications) {
        reports.push(SessionReport {
            day: local_day(tz, s.logged.started_at),
            walked_s: s.logged.walked_s,
            pain_before: s.logged.pain_before,
            pain_during_max: s.logged.pain_during_max,
            pain_after_2h: s.pain_after_2h,
            pain_next_morning: s.pain_next_morning,
            effort: s.logged.effort,
            verified: verification.as_verified(),
        });
    }
    // The week's flares count as breaches (engine contract version 2).
    let flares = store
        .flares_between(patient.id, start, end)
        .await?
        .into_iter()
        .map(|f| FlareReport {
            day: local_day(tz, f.reported.started_at),
            pain: f.reported.pain,
        })
        .collect();
    Ok(WeekEvidence {
        sessions: reports,
        flares,
    })
}

/// Whether the band's minutes confirm each of a patient's walks: the minutes of all the walks'
/// windows in one query, then [`walks::verify`].
pub async fn verify_sessions(
    store: &dyn Store,
    patient_id: Id,
    sessions: &[SessionRecord],
) -> StoreResult<Vec<Verification>> {
    let windows: Vec<_> = sessions.iter().map(walks::window).collect();
    let minutes = store.step_samples_in(patient_id, &windows).await?;
    Ok(walks::verify(sessions, &minutes))
}

/// Reviews one completed week of one patient and stores the result. Returns the stored review
/// and whether this call made it (`false`: the week was already reviewed; nothing changed).
pub async fn review_week(
    store: &dyn Store,
    patient_id: i64,
    monday: NaiveDate,
    now: DateTime<Utc>,
) -> ApiResult<(ReviewRecord, bool)> {
    let patient = store.patient(patient_id).await?;
    let earlier = store.review_outcomes(patient.id).await?;
    review_loaded(store, &patient, &earlier, monday, now).await
}

/// [`review_week`] for a patient and the outcomes of their earlier reviews already loaded.
async fn review_loaded(
    store: &dyn Store,
    patient: &Patient,
    earlier: &[ReviewOutcome],
    monday: NaiveDate,
    now: DateTime<Utc>,
) -> ApiResult<(ReviewRecord, bool)> {
    let tz = parse_zone("timezone", &patient.timezone)?;
    if monday != monday_of(monday) {
        return Err(ApiError::invalid(
            "week_start",
            format!("{monday} is not a Monday"),
            "the Monday that starts the week",
        ));
    }
    let last = last_complete_week(tz, now);
    if monday > last {
        return Err(ApiError::invalid(
            "week_start",
            format!(
                "the week of {monday} has not ended yet in {}",
                patient.timezone
            ),
            format!("a week up to {last}"),
        ));
    }
    if earlier.iter().any(|r| r.week_start == monday) {
        // Reviewed already: answer with the stored review, inputs and all.
        let stored = store
            .reviews(patient.id)
            .await?
            .into_iter()
            .find(|r| r.week_start == monday)
            .ok_or(ApiError::NotFound)?;
        return Ok((stored, false));
    }
    // The review's news is scheduled in the review's transaction: a crash between the two
    // cannot leave a reviewed week whose patient (or therapist) is never told.
    let settings = store.reminder_settings(patient.id).await?;
    let news = |review: &ReviewRecord| reminders::review_news(tz, patient, &settings, review, now);
    decide_and_save(store, patient, tz, earlier, monday, now, &news).await
}

/// Gathers the week's evidence, asks the engine and stores the review (applied unless an
/// escalation is open) with the reminders `news` makes of it, in one transaction — for the
/// weekly review and for a red flag reviewed at once alike.
async fn decide_and_save(
    store: &dyn Store,
    patient: &Patient,
    tz: Tz,
    earlier: &[ReviewOutcome],
    monday: NaiveDate,
    now: DateTime<Utc>,
    news: &(dyn Fn(&ReviewRecord) -> Vec<NewReminder> + Send + Sync),
) -> ApiResult<(ReviewRecord, bool)> {
    let rules = store.current_rules(patient.id).await?;
    let evidence = gather_evidence(store, patient, tz, monday).await?;
    let history: Vec<Decision> = earlier
        .iter()
        .filter(|r| r.week_start < monday)
        .map(|r| r.output.decision)
        .collect();
    // A plan changed by hand outside the rules' range is brought inside it for the engine.
    let plan = stepwise_engine::Plan {
        interval_s: patient
            .plan
            .interval_s
            .clamp(rules.rules.min_interval_s, rules.rules.max_interval_s),
        ..patient.plan
    };
    let output = review(&rules.rules, &plan, &evidence, &history)?;
    Ok(store
        .save_review_notifying(
            patient.id,
            NewReview {
                week_start: monday,
                rules_version: rules.version,
                rules: rules.rules,
                evidence,
                history,
                output,
                applied: !patient.frozen,
            },
            now,
            news,
        )
        .await?)
}

/// What a red flag reported now did to the escalations of the week it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub enum RedFlagEscalation {
    /// The week had no review: it was reviewed at once (the engine escalates on the red flag),
    /// the interval stepped back and the plan frozen until a therapist acknowledges.
    Opened(ReviewRecord),
    /// The week's escalation had been acknowledged: it is open again and the plan frozen.
    Reopened(ReviewRecord),
    /// The week's escalation is open already: nothing more to open.
    AlreadyOpen(ReviewRecord),
    /// The week was reviewed without an escalation (a walk logged late into a reviewed week):
    /// the therapist is alerted, the review stays as it was.
    WeekReviewed(ReviewRecord),
}

impl RedFlagEscalation {
    /// The review that holds the escalation (or the week's review).
    pub fn review(&self) -> &ReviewRecord {
        match self {
            RedFlagEscalation::Opened(r)
            | RedFlagEscalation::Reopened(r)
            | RedFlagEscalation::AlreadyOpen(r)
            | RedFlagEscalation::WeekReviewed(r) => r,
        }
    }
}

/// A red flag must not wait for Monday: the week of `day` (the patient's local day of the
/// walk or flare that carried it) is reviewed now with the evidence so far, which holds the
/// red-flag pain, so the same engine escalates it (contract version 2, "Immediate safety").
/// The weekly job later finds the week reviewed and opens no second escalation.
///
/// `alert` (the therapist's alert of the red flag) is scheduled in the review's transaction
/// when the week is reviewed now, so a crash cannot keep the escalation without it; otherwise
/// after (scheduling is idempotent: a retry of the report completes it).
pub async fn escalate_now(
    store: &dyn Store,
    patient: &Patient,
    day: NaiveDate,
    now: DateTime<Utc>,
    alert: &[NewReminder],
) -> ApiResult<RedFlagEscalation> {
    let tz = parse_zone("timezone", &patient.timezone)?;
    let monday = monday_of(day);
    // Completed weeks not reviewed yet come first (the job may not have run since Monday
    // began): the weekly job reviews only weeks after the newest review.
    if review_patient_weeks(store, patient, now).await? > 0 {
        return Box::pin(escalate_now(
            store,
            &store.patient(patient.id).await?,
            day,
            now,
            alert,
        ))
        .await;
    }
    let earlier = store.review_outcomes(patient.id).await?;
    if let Some(done) = earlier.iter().find(|r| r.week_start == monday) {
        let stored = store
            .reviews(patient.id)
            .await?
            .into_iter()
            .find(|r| r.id == done.id)
            .ok_or(ApiError::NotFound)?;
        let escalation = match (done.output.decision, done.acknowledged_at) {
            (Decision::Escalate, None) => RedFlagEscalation::AlreadyOpen(stored),
            (Decision::Escalate, Some(_)) => {
                RedFlagEscalation::Reopened(store.reopen_escalation(patient.id, done.id).await?)
            }
            _ => RedFlagEscalation::WeekReviewed(stored),
        };
        store.schedule_reminders(alert, now).await?;
        return Ok(escalation);
    }
    let (record, created) = decide_and_save(store, patient, tz, &earlier, monday, now, &|_| {
        alert.to_vec()
    })
    .await?;
    if record.output.decision != Decision::Escalate {
        // Cannot happen while the trigger lies in the week (the engine escalates on it).
        tracing::error!(patient = patient.id, %monday, "a red flag reviewed without escalating");
    }
    Ok(if created {
        RedFlagEscalation::Opened(record)
    } else {
        RedFlagEscalation::AlreadyOpen(record)
    })
}

/// The completed weeks of a patient not yet reviewed, oldest first: from the week after the
/// last review (or the patient's first week), at most [`MAX_CATCH_UP_WEEKS`] back.
pub fn due_weeks(
    tz: Tz,
    joined: DateTime<Utc>,
    last_reviewed: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> Vec<NaiveDate> {
    let last = last_complete_week(tz, now);
    let first_possible = monday_of(local_day(tz, joined));
    let oldest_allowed = last - Days::new(7 * (MAX_CATCH_UP_WEEKS - 1));
    let mut week = match last_reviewed {
        Some(done) => done + Days::new(7),
        None => first_possible,
    }
    .max(first_possible)
    .max(oldest_allowed);
    let mut weeks = Vec::new();
    while week <= last {
        weeks.push(week);
        week = week + Days::new(7);
    }
    weeks
}

/// Patients reviewed at once. Each review is a handful of small queries and one short write
/// transaction; overlapping them keeps the database busy while the engine and the
/// (de)serialisation run.
pub const REVIEW_CONCURRENCY: usize = 8;

/// Reviews every patient's due weeks. Failures are logged per patient and do not stop the run.
/// A run with nothing remembered: [`ReviewJob::run`] of a fresh job.
pub async fn run_due_reviews(store: &dyn Store, now: DateTime<Utc>) -> StoreResult<RunSummary> {
    ReviewJob::default().run(store, now).await
}

/// The weekly review job as `stepwise serve` runs it every minute: it remembers, per patient,
/// the last completed week it has seen through (reviewed, or not due), so that a minute in
/// which no patient's week has ended costs one query for the patient list instead of one per
/// patient. Reviews are never removed, so what it remembers stays true; a patient whose zone
/// changes, or whose next week ends, is looked at again.
#[derive(Debug, Default)]
pub struct ReviewJob {
    /// Patient id → the last complete week (its Monday) known to need no review.
    done_through: HashMap<i64, NaiveDate>,
}

impl ReviewJob {
    /// Reviews every patient's due weeks, skipping patients already seen through their last
    /// completed week. Failures are logged per patient and do not stop the run.
    pub async fn run(&mut self, store: &dyn Store, now: DateTime<Utc>) -> StoreResult<RunSummary> {
        let patients = store.all_patients().await?;
        let mut summary = RunSummary {
            patients: patients.len(),
            ..RunSummary::default()
        };
        let done_through = &self.done_through;
        let mut waiting = patients.iter().filter(|patient| {
            let last = parse_zone("timezone", &patient.timezone)
                .ok()
                .map(|tz| last_complete_week(tz, now));
            last.is_none() || done_through.get(&patient.id) != last.as_ref()
        });
        let mut seen = Vec::new();
        let mut running = FuturesUnordered::new();
        loop {
            while running.len() < REVIEW_CONCURRENCY {
                match waiting.next() {
                    Some(patient) => running.push(review_due_weeks(store, patient, now)),
                    None => break,
                }
            }
            match running.next().await {
                Some(Ok((patient, made, through))) => {
                    summary.reviewed += made;
                    seen.push((patient, through));
                }
                Some(Err((patient, err))) => {
                    summary.failed += 1;
                    tracing::warn!(patient, error = %err, "weekly review failed");
                }
                None => break,
            }
        }
        drop(running);
        self.done_through.extend(seen);
        Ok(summary)
    }
}

/// Reviews one patient's due weeks: (whose, reviews made, the last complete week now needing
/// no review); on failure, says whose.
async fn review_due_weeks(
    store: &dyn Store,
    patient: &Patient,
    now: DateTime<Utc>,
) -> Result<(i64, usize, NaiveDate), (i64, ApiError)> {
    let reviewed = async {
        let made = review_patient_weeks(store, patient, now).await?;
        let tz = parse_zone("timezone", &patient.timezone)?;
        Ok::<_, ApiError>((patient.id, made, last_complete_week(tz, now)))
    };
    reviewed.await.map_err(|err| (patient.id, err))
}

async fn review_patient_weeks(
    store: &dyn Store,
    patient: &Patient,
    now: DateTime<Utc>,
) -> ApiResult<usize> {
    let tz = parse_zone("timezone", &patient.timezone)?;
    // Every minute, for every patient: the light query (no review inputs) decides.
    let mut earlier = store.review_outcomes(patient.id).await?;
    let last_reviewed = earlier.last().map(|r| r.week_start);
    let mut patient = patient.clone();
    let mut made = 0;
    for (i, week) in due_weeks(tz, patient.created_at, last_reviewed, now)
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            // The previous week's review may have changed the plan or frozen it.
            patient = store.patient(patient.id).await?;
        }
        let (record, created) = review_loaded(store, &patient, &earlier, week, now).await?;
        made += usize::from(created);
        earlier.push(ReviewOutcome::from(&record));
    }
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn due_weeks_start_with_the_joining_week_and_stop_at_the_last_complete_one() {
        let tz = chrono_tz::Europe::London;
        let joined = Utc.with_ymd_and_hms(2026, 11, 4, 12, 0, 0).unwrap(); // Wednesday
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 0, 30, 0).unwrap(); // Monday 00:30
        assert_eq!(
            due_weeks(tz, joined, None, now),
            [date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16)]
        );
        assert_eq!(
            due_weeks(tz, joined, Some(date(2026, 11, 9)), now),
            [date(2026, 11, 16)]
        );
        assert!(due_weeks(tz, joined, Some(date(2026, 11, 16)), now).is_empty());
    }

    #[test]
    fn due_weeks_catch_up_at_most_four_weeks() {
        let tz = chrono_tz::UTC;
        let joined = Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap();
        assert_eq!(
            due_weeks(tz, joined, Some(date(2026, 3, 2)), now),
            [
                date(2026, 10, 26),
                date(2026, 11, 2),
                date(2026, 11, 9),
                date(2026, 11, 16)
            ]
        );
    }
}

/// One week of a replay: what the review decided then, and what it would decide under other
/// rules.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplayedWeek {
    /// Monday of the week.
    pub week_start: NaiveDate,
    /// The stored review's decision, interval and reasons (in the care team's words).
    pub was: Explained<stepwise_engine::Review>,
    /// The same evidence under the other rules, each week starting from the interval the
    /// replay itself reached the week before.
    pub would_be: Explained<stepwise_engine::Review>,
}

/// Replays `reviews` (oldest first) under `rules` with the same engine function the weekly
/// review calls: the evidence of each week as it was stored, the interval and decision
/// history as the replay itself makes them. The first week starts from the interval it
/// started from then, and the decisions that came before it.
pub fn replay(
    rules: &stepwise_engine::Rules,
    reviews: &[ReviewRecord],
    sessions_per_week: i64,
) -> ApiResult<Vec<ReplayedWeek>> {
    let Some(first) = reviews.first() else {
        return Ok(Vec::new());
    };
    let mut interval = first.output.previous_interval_s;
    let mut history = first.history.clone();
    let mut weeks = Vec::with_capacity(reviews.len());
    for stored in reviews {
        let plan = stepwise_engine::Plan {
            interval_s: interval.clamp(rules.min_interval_s, rules.max_interval_s),
            sessions_per_week,
            ..stepwise_engine::Plan::default()
        };
        let would_be = review(rules, &plan, &stored.evidence, &history)?;
        interval = would_be.interval_s;
        let would_be = words::for_therapist(would_be, rules, &stored.evidence, &history);
        history.push(would_be.inner.decision);
        weeks.push(ReplayedWeek {
            week_start: stored.week_start,
            was: Explained {
                inner: stored.output.clone(),
                reason_texts: words::reason_texts(stored, Reader::Therapist),
            },
            would_be,
        });
    }
    Ok(weeks)
}
