//! The collector's API: exchange a patient's one-time pairing code for an upload token, and
//! upload batches of band samples with it. A token uploads for its one device only.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, TimeDelta, Timelike, Utc};
use serde::{Deserialize, Serialize};
use stepwise_imports::{Format, IMPORTER_KIND};
use stepwise_store::{DEVICE_TOKEN_RENEW_BEFORE, SampleBatch, StepSample, StoreError};
use stepwise_wearables::device::DeviceKind;
use stepwise_wearables::records;
use utoipa::ToSchema;

use crate::api::{self, Device, IngestSummary, NewDevice, SleepEpisode};
use crate::auth::{DeviceAuth, hash_code, hash_token, new_token};
use crate::error::{ApiError, ApiResult, ErrorBody, answers};
use crate::json::Body;
use crate::state::AppState;
use crate::validate;
use crate::validate::parse_zone;
use stepwise_care::calendar::days_touched;

/// Most minute samples in one upload (a week is 10,080).
pub const MAX_STEP_SAMPLES: usize = 20_000;
/// Most sleep episodes in one upload.
pub const MAX_SLEEP_EPISODES: usize = 2_000;
/// Oldest data accepted, relative to now.
pub const MAX_SAMPLE_AGE: TimeDelta = records::ACCEPTED_AGE;
/// Most steps in one minute.
pub const MAX_STEPS_PER_MINUTE: i64 = records::MAX_STEPS_PER_MINUTE as i64;

/// Pairing request from `stepwise band pair`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PairRequest {
    code: String,
    device: NewDevice,
}

/// The upload token, shown once.
#[derive(Serialize, ToSchema)]
pub struct Paired {
    token: String,
    device: Device,
}

/// `POST /api/v1/devices/pair` — public: the one-time code is the credential.
#[utoipa::path(
    post,
    path = "/devices/pair",
    tag = "collector",
    summary = "Exchange a pairing code for a device upload token",
    request_body(content = PairRequest, example = json!({"code": "7KD2-PXQ4", "device": {"kind": "mi-band-3", "address": "C8:0F:10:00:00:02", "name": "Mi Band 3"}})),
    responses(
        (status = 201, description = "Token, shown once", body = Paired),
        (status = 410, description = "The code was used or has expired", body = ErrorBody),
        answers::Invalid,
        answers::Body,
    ),
    security(),
)]
pub async fn pair(
    State(state): State<AppState>,
    Body(req): Body<PairRequest>,
) -> ApiResult<(StatusCode, Json<Paired>)> {
    validate::code("code", &req.code)?;
    let kinds: Vec<&str> = DeviceKind::ALL
        .iter()
        .map(DeviceKind::as_str)
        .chain([IMPORTER_KIND])
        .collect();
    check_device("device", &req.device, &kinds)?;
    let token = new_token()?;
    let result = state
        .store
        .pair_device(
            &hash_code(&req.code),
            req.device.into(),
            &hash_token(&token),
            state.clock.now(),
        )
        .await;
    match result {
        Ok(device) => Ok((
            StatusCode::CREATED,
            Json(Paired {
                token,
                device: device.into(),
            }),
        )),
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

/// An upload from a collector. Minute steps come either one by one (`steps`) or, more
/// compactly, as runs of consecutive minutes (`runs`: a start and the counts that follow, the
/// way bands store them); both may be mixed.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Upload {
    #[serde(default)]
    steps: Vec<api::StepSample>,
    #[serde(default)]
    runs: Vec<StepRun>,
    #[serde(default)]
    sleep: Vec<SleepEpisode>,
    /// For an import pairing only (kind `phone-import`): the device this data was recorded
    /// by, as the export names it (kind `gadgetbridge`, `apple-health` or `fitbit-takeout`).
    #[serde(default)]
    source: Option<NewDevice>,
}

/// Consecutive minutes of one band from `start`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepRun {
    start: DateTime<Utc>,
    steps: Vec<i64>,
    /// Heart rate per minute (null where not measured); when given, as long as `steps`.
    #[serde(default)]
    heart_rate: Option<Vec<Option<i64>>>,
    /// The collector spread these steps over the minutes (a count change over a longer span)
    /// rather than the band seeing them minute by minute. Default false.
    #[serde(default)]
    estimated: bool,
}

/// What an upload stored, and whether the collector should renew its token now.
#[derive(Serialize, ToSchema)]
pub struct Uploaded {
    #[serde(flatten)]
    summary: IngestSummary,
    /// When the token used stops working.
    token_expires_at: DateTime<Utc>,
    /// Less than [`DEVICE_TOKEN_RENEW_BEFORE`] is left: renew it (`POST /devices/token`).
    renew_token: bool,
}

/// `POST /api/v1/samples` — all or nothing; the same batch again changes nothing.
#[utoipa::path(
    post,
    path = "/samples",
    tag = "collector",
    summary = "Upload minute steps and sleep episodes (all or nothing, idempotent per device and minute)",
    request_body(content = Upload, example = json!({"steps": [{"minute": "2026-11-08T10:00:00Z", "steps": 92, "heart_rate": 98, "estimated": false}], "sleep": [{"start": "2026-11-08T00:30:00Z", "end": "2026-11-08T01:10:00Z", "stage": "deep"}], "runs": [{"start": "2026-11-08T10:01:00Z", "steps": [95, 101, 88], "heart_rate": [99, 102, null], "estimated": false}]})),
    responses(
        (status = 200, description = "Stored", body = Uploaded),
        (status = 401, description = "Not logged in, or the login has expired", body = ErrorBody),
        (status = 403, description = "Logged in but not allowed, or a write without the CSRF token", body = ErrorBody),
        answers::Invalid,
        answers::Body,
    ),
    security(("deviceToken" = [])),
)]
pub async fn upload(
    State(state): State<AppState>,
    DeviceAuth { device, .. }: DeviceAuth,
    Body(mut upload): Body<Upload>,
) -> ApiResult<Json<Uploaded>> {
    let now = state.clock.now();
    let source = upload.source.take();
    let batch = check_upload(upload, now)?;
    let target = target_device(&state, &device, source, now).await?;
    let patient = state.store.patient(device.patient_id).await?;
    let tz = parse_zone("timezone", &patient.timezone)?;
    let days = days_touched(tz, &batch);
    let summary = state.store.ingest_samples(target, &batch, &days).await?;
    state.metrics.upload_accepted(&summary);
    Ok(Json(Uploaded {
        summary: summary.into(),
        token_expires_at: device.token_expires_at,
        renew_token: device.token_expires_at - now < DEVICE_TOKEN_RENEW_BEFORE,
    }))
}

/// `POST /api/v1/devices/token` — a new upload token for the band, valid for
/// [`stepwise_store::DEVICE_TOKEN_LIFETIME`]. The token presented keeps working until the new
/// one is first used, so a collector that loses this answer renews again with the old one.
#[utoipa::path(
    post,
    path = "/devices/token",
    tag = "collector",
    summary = "Renew a band's upload token",
    description = "Asked for by the collector when an accepted upload says renew_token. The token presented keeps working until the new one is first used, so an answer lost on the way costs nothing: the collector renews again with the old one.",
    responses(
        (status = 200, description = "The new token, shown once", body = Paired),
        (status = 401, description = "No token, an unknown one, or a band removed or whose token expired (the error says which)", body = ErrorBody),
        answers::Missing,
    ),
    security(("deviceToken" = [])),
)]
pub async fn renew(
    State(state): State<AppState>,
    DeviceAuth { device, token_hash }: DeviceAuth,
) -> ApiResult<Json<Paired>> {
    let token = new_token()?;
    let device = state
        .store
        .renew_device_token(
            device.id,
            &token_hash,
            &hash_token(&token),
            state.clock.now(),
        )
        .await?;
    Ok(Json(Paired {
        token,
        device: device.into(),
    }))
}

/// Checks a device named in a request (`field` is where it is): a kind among `kinds`, an
/// address, a name.
fn check_device(field: &str, device: &NewDevice, kinds: &[&str]) -> ApiResult<()> {
    if !kinds.contains(&device.kind.as_str()) {
        return Err(ApiError::invalid(
            format!("{field}.kind"),
            format!("{:?} is not a kind of device Stepwise reads", device.kind),
            kinds.join(", "),
        ));
    }
    // A Bluetooth address (AA:BB:CC:DD:EE:FF) or a platform's device UUID.
    let address = &device.address;
    if address.is_empty()
        || address.len() > 64
        || !address
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '-')
    {
        return Err(ApiError::invalid(
            format!("{field}.address"),
            format!("{address:?} is not a device address"),
            "a Bluetooth address (AA:BB:CC:DD:EE:FF) or a device UUID, at most 64 characters",
        ));
    }
    validate::required_text(&format!("{field}.name"), &device.name, 100)
}

/// The device an upload's data is stored under: the token's own, or — for an import pairing
/// ([`IMPORTER_KIND`]), whose every upload names its `source` — that source's device (the
/// patient's paired band of the same address, or an imported device).
async fn target_device(
    state: &AppState,
    device: &stepwise_store::Device,
    source: Option<NewDevice>,
    now: DateTime<Utc>,
) -> ApiResult<i64> {
    match (device.kind == IMPORTER_KIND, source) {
        (false, None) => Ok(device.id),
        (false, Some(_)) => Err(ApiError::invalid(
            "source",
            "only an import pairing names the source of an upload",
            "no source: a band uploads its own data",
        )),
        (true, None) => Err(ApiError::invalid(
            "source",
            "an import pairing's upload must name the device its data was recorded by",
            "the source device: kind, address, name",
        )),
        (true, Some(source)) => {
            let kinds: Vec<&str> = Format::ALL.iter().map(|f| f.as_str()).collect();
            check_device("source", &source, &kinds)?;
            let never_shown = new_token()?;
            let found = state
                .store
                .import_device(
                    device.patient_id,
                    source.into(),
                    &hash_token(&never_shown),
                    now,
                )
                .await?;
            Ok(found.id)
        }
    }
}

/// Checks every sample and episode and returns the batch to store, runs expanded to minutes.
fn check_upload(upload: Upload, now: DateTime<Utc>) -> ApiResult<SampleBatch> {
    let Upload {
        steps, runs, sleep, ..
    } = upload;
    let mut steps: Vec<StepSample> = steps.into_iter().map(StepSample::from).collect();
    let sleep: Vec<stepwise_store::SleepEpisode> =
        sleep.into_iter().map(SleepEpisode::into).collect();
    let in_runs: usize = runs.iter().map(|r| r.steps.len()).sum();
    if steps.is_empty() && in_runs == 0 && sleep.is_empty() {
        return Err(ApiError::invalid(
            "steps",
            "the upload holds no minute, run or sleep episode",
            "at least one minute sample, run or sleep episode",
        ));
    }
    if steps.len() + in_runs > MAX_STEP_SAMPLES {
        return Err(ApiError::invalid(
            "steps",
            format!("{} minute samples in one upload", steps.len() + in_runs),
            format!("at most {MAX_STEP_SAMPLES} per upload: send several"),
        ));
    }
    if sleep.len() > MAX_SLEEP_EPISODES {
        return Err(ApiError::invalid(
            "sleep",
            format!("{} sleep episodes in one upload", sleep.len()),
            format!("at most {MAX_SLEEP_EPISODES} per upload"),
        ));
    }
    for (i, s) in steps.iter().enumerate() {
        check_sample(s, now, |name| format!("steps[{i}].{name}"))?;
    }
    steps.reserve(in_runs);
    for (r, run) in runs.into_iter().enumerate() {
        if let Some(hr) = &run.heart_rate
            && hr.len() != run.steps.len()
        {
            return Err(ApiError::invalid(
                format!("runs[{r}].heart_rate"),
                format!(
                    "{} heart rates for {} minutes of steps",
                    hr.len(),
                    run.steps.len()
                ),
                "as many values (or nulls) as steps",
            ));
        }
        for (j, &count) in run.steps.iter().enumerate() {
            let sample = StepSample {
                minute: run.start + TimeDelta::minutes(j as i64),
                steps: count,
                heart_rate: run.heart_rate.as_ref().and_then(|hr| hr[j]),
                estimated: run.estimated,
            };
            check_sample(&sample, now, |name| match name {
                "minute" => format!("runs[{r}].start"),
                "steps" => format!("runs[{r}].steps[{j}]"),
                _ => format!("runs[{r}].heart_rate[{j}]"),
            })?;
            steps.push(sample);
        }
    }
    for (i, e) in sleep.iter().enumerate() {
        let field = |name: &str| format!("sleep[{i}].{name}");
        validate::not_future(&field("start"), e.start, now)?;
        validate::not_older_than(&field("start"), e.start, now, MAX_SAMPLE_AGE)?;
        validate::not_future(&field("end"), e.end, now)?;
        let length = e.end - e.start;
        if length <= TimeDelta::zero() || length > TimeDelta::hours(24) {
            return Err(ApiError::invalid(
                field("end"),
                format!("the episode lasts {} minutes", length.num_minutes()),
                "after start, at most 24 hours later",
            ));
        }
    }
    Ok(SampleBatch { steps, sleep })
}

/// Checks one minute sample; `field` names its parts for the error. The quick check runs for
/// every sample (a week is 10,080); field names are built only for a sample at fault.
fn check_sample(
    s: &StepSample,
    now: DateTime<Utc>,
    field: impl Fn(&str) -> String,
) -> ApiResult<()> {
    let aligned = s.minute.second() == 0 && s.minute.nanosecond() == 0;
    let plausible = aligned
        && (now - MAX_SAMPLE_AGE..=now + validate::MAX_CLOCK_SKEW).contains(&s.minute)
        && (0..=MAX_STEPS_PER_MINUTE).contains(&s.steps)
        && s.heart_rate.is_none_or(|hr| (10..=250).contains(&hr));
    if plausible {
        return Ok(());
    }
    if !aligned {
        return Err(ApiError::invalid(
            field("minute"),
            format!("{} is not the start of a minute", s.minute.to_rfc3339()),
            "an instant on a whole minute, e.g. 2026-11-16T09:30:00Z",
        ));
    }
    validate::not_future(&field("minute"), s.minute, now)?;
    validate::not_older_than(&field("minute"), s.minute, now, MAX_SAMPLE_AGE)?;
    validate::in_range(&field("steps"), s.steps, 0..=MAX_STEPS_PER_MINUTE)?;
    match s.heart_rate {
        Some(hr) => validate::in_range(&field("heart_rate"), hr, 10..=250),
        None => Ok(()),
    }
}
