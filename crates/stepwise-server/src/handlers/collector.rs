//! The collector's API: exchange a patient's one-time pairing code for an upload token, and
//! upload batches of band samples with it. A token uploads for its one device only.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, TimeDelta, Timelike, Utc};
use serde::{Deserialize, Serialize};
use stepwise_store::{Device, IngestSummary, NewDevice, SampleBatch, StepSample, StoreError};

use crate::auth::{DeviceAuth, hash_code, hash_token, new_token};
use crate::calendar::{days_touched, parse_zone};
use crate::error::{ApiError, ApiResult};
use crate::json::Body;
use crate::state::AppState;
use crate::validate;

/// Most minute samples in one upload (a week is 10,080).
pub const MAX_STEP_SAMPLES: usize = 20_000;
/// Most sleep episodes in one upload.
pub const MAX_SLEEP_EPISODES: usize = 2_000;
/// Oldest data accepted, relative to now (bands keep a few weeks at most).
pub const MAX_SAMPLE_AGE: TimeDelta = TimeDelta::days(90);
/// Most steps in one minute (the fastest running cadence is about 200).
pub const MAX_STEPS_PER_MINUTE: i64 = 300;

/// Pairing request from `stepwise band pair`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairRequest {
    code: String,
    device: NewDevice,
}

/// The upload token, shown once.
#[derive(Serialize)]
pub struct Paired {
    token: String,
    device: Device,
}

/// `POST /api/v1/devices/pair` — public: the one-time code is the credential.
pub async fn pair(
    State(state): State<AppState>,
    Body(req): Body<PairRequest>,
) -> ApiResult<(StatusCode, Json<Paired>)> {
    validate::required_text("device.kind", &req.device.kind, 32)?;
    validate::required_text("device.address", &req.device.address, 64)?;
    validate::required_text("device.name", &req.device.name, 100)?;
    let token = new_token()?;
    let result = state
        .store
        .pair_device(
            &hash_code(&req.code),
            req.device,
            &hash_token(&token),
            state.clock.now(),
        )
        .await;
    match result {
        Ok(device) => Ok((StatusCode::CREATED, Json(Paired { token, device }))),
        Err(StoreError::NotFound) => Err(ApiError::invalid(
            "code",
            "this pairing code is not known",
            "the code shown on the patient's \"Pair a band\" page",
        )),
        Err(StoreError::Gone) => Err(ApiError::Gone(
            "this pairing code was already used or has expired: ask for a new one",
        )),
        Err(other) => Err(other.into()),
    }
}

/// `POST /api/v1/samples` — all or nothing; the same batch again changes nothing.
pub async fn upload(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    Body(batch): Body<SampleBatch>,
) -> ApiResult<Json<IngestSummary>> {
    check_batch(&batch, state.clock.now())?;
    let patient = state.store.patient(device.patient_id).await?;
    let tz = parse_zone("timezone", &patient.timezone)?;
    let days = days_touched(tz, &batch);
    Ok(Json(
        state.store.ingest_samples(device.id, &batch, &days).await?,
    ))
}

fn check_batch(batch: &SampleBatch, now: DateTime<Utc>) -> ApiResult<()> {
    if batch.steps.len() > MAX_STEP_SAMPLES {
        return Err(ApiError::invalid(
            "steps",
            format!("{} minute samples in one upload", batch.steps.len()),
            format!("at most {MAX_STEP_SAMPLES} per upload: send several"),
        ));
    }
    if batch.sleep.len() > MAX_SLEEP_EPISODES {
        return Err(ApiError::invalid(
            "sleep",
            format!("{} sleep episodes in one upload", batch.sleep.len()),
            format!("at most {MAX_SLEEP_EPISODES} per upload"),
        ));
    }
    // Field names are built only for the sample at fault: a week is 10,080 samples.
    let earliest = now - MAX_SAMPLE_AGE;
    let latest = now + validate::MAX_CLOCK_SKEW;
    for (i, s) in batch.steps.iter().enumerate() {
        let plausible = s.minute.second() == 0
            && s.minute.nanosecond() == 0
            && (earliest..=latest).contains(&s.minute)
            && (0..=MAX_STEPS_PER_MINUTE).contains(&s.steps)
            && s.heart_rate.is_none_or(|hr| (10..=250).contains(&hr));
        if !plausible {
            return Err(explain_step(i, s, now));
        }
    }
    for (i, e) in batch.sleep.iter().enumerate() {
        let field = |name: &str| format!("sleep[{i}].{name}");
        validate::not_future(&field("end"), e.end, now)?;
        validate::not_older_than(&field("start"), e.start, now, MAX_SAMPLE_AGE)?;
        let length = e.end - e.start;
        if length <= TimeDelta::zero() || length > TimeDelta::hours(24) {
            return Err(ApiError::invalid(
                field("end"),
                format!("the episode lasts {} minutes", length.num_minutes()),
                "after start, at most 24 hours later",
            ));
        }
    }
    Ok(())
}

/// The error for a minute sample that failed the quick check in [`check_batch`].
fn explain_step(i: usize, s: &StepSample, now: DateTime<Utc>) -> ApiError {
    let field = |name: &str| format!("steps[{i}].{name}");
    if s.minute.second() != 0 || s.minute.nanosecond() != 0 {
        return ApiError::invalid(
            field("minute"),
            format!("{} is not the start of a minute", s.minute.to_rfc3339()),
            "an instant on a whole minute, e.g. 2026-11-16T09:30:00Z",
        );
    }
    let checks = validate::not_future(&field("minute"), s.minute, now)
        .and_then(|()| validate::not_older_than(&field("minute"), s.minute, now, MAX_SAMPLE_AGE))
        .and_then(|()| validate::in_range(&field("steps"), s.steps, 0..=MAX_STEPS_PER_MINUTE))
        .and_then(|()| match s.heart_rate {
            Some(hr) => validate::in_range(&field("heart_rate"), hr, 10..=250),
            None => Ok(()),
        });
    checks
        .err()
        .unwrap_or_else(|| ApiError::Internal("sample check disagreed".into()))
}
