//! The background work of `stepwise serve`, beside the requests: the reminder scheduler and
//! the weekly review job. Each runs until its task is aborted.

use std::time::Duration;

use crate::reminders::{Planner, Scheduler, worker_name};
use crate::state::AppState;
use crate::weekly::ReviewJob;

/// The scheduler loop of `stepwise serve`: plans every [`ReminderConfig::plan_every`](crate::reminders::ReminderConfig::plan_every), and
/// delivers what is due every [`ReminderConfig::poll`](crate::reminders::ReminderConfig::poll). Runs until the task is aborted.
pub async fn reminders(state: AppState) {
    let pusher = match state.pusher().await {
        Ok(pusher) => pusher,
        Err(err) => {
            tracing::error!(error = %err, "reminders are off: the push keys could not be loaded");
            return;
        }
    };
    let config = state.config.reminders.clone();
    let scheduler = Scheduler::new(state.store.clone(), pusher, config.clone(), worker_name());
    tracing::info!(worker = scheduler.worker(), "reminder scheduler started");
    let mut last_plan: Option<std::time::Instant> = None;
    let mut planner = Planner::default();
    loop {
        let now = state.clock.now();
        if last_plan.is_none_or(|at| at.elapsed() >= config.plan_every) {
            last_plan = Some(std::time::Instant::now());
            match planner.plan_all(state.store.as_ref(), now).await {
                Ok(0) => {}
                Ok(added) => tracing::info!(added, "reminders planned"),
                Err(err) => tracing::error!(error = %err, "planning reminders"),
            }
        }
        match scheduler.deliver_due(now).await {
            Ok(summary) if summary.claimed > 0 => {
                state.metrics.reminders_delivered(&summary);
                tracing::info!(?summary, "reminders")
            }
            Ok(_) => {}
            Err(err) => tracing::error!(error = %err, "delivering reminders"),
        }
        tokio::time::sleep(config.poll).await;
    }
}

/// The weekly review job: every `period`, reviews the weeks that have ended (see
/// [`ReviewJob`]).
pub async fn weekly_reviews(state: AppState, period: Duration) {
    let mut ticks = tokio::time::interval(period);
    let mut reviews = ReviewJob::default();
    loop {
        ticks.tick().await;
        let now = state.clock.now();
        let started = std::time::Instant::now();
        let run = reviews.run(state.store.as_ref(), now).await;
        if let Ok(summary) = &run {
            state.metrics.weekly_run(summary, started.elapsed());
        }
        match run {
            Ok(summary) if summary.reviewed > 0 || summary.failed > 0 => {
                tracing::info!(?summary, "weekly reviews")
            }
            Ok(_) => {}
            Err(err) => tracing::error!(error = %err, "weekly review job"),
        }
    }
}
