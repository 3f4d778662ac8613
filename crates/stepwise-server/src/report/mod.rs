//! The clinic's pre-visit report in the server: [`load`] gathers a patient's data for a window
//! from the store and hands it to the pure computation in `stepwise-care`
//! ([`stepwise_care::report`], which owns the figures and the attention rules); the rest
//! renders the [`Report`]: the page, the charts, the CSV tables and the FHIR R4 bundle.

pub mod charts;
pub mod csv;
pub mod fhir;
pub mod page;

use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use stepwise_care::calendar::{day_start, days_between, monday_of};
use stepwise_care::report::Report;
use stepwise_care::report::build::{Inputs, build};
use stepwise_store::{Patient, Store, StoreResult};

use crate::weekly::verify_sessions;

/// Gathers a patient's data for `[from, to]` and builds the report. With `verify` (the full
/// report), each walk is checked against the band's minute steps and the devices that gave
/// each day's data are read; without it both are left out.
pub async fn load(
    store: &dyn Store,
    patient: Patient,
    tz: Tz,
    (from, to): (NaiveDate, NaiveDate),
    now: DateTime<Utc>,
    verify: bool,
) -> StoreResult<Report> {
    let (start, end) = (day_start(tz, from), day_start(tz, to + Days::new(1)));
    let sessions = store.sessions_between(patient.id, start, end).await?;
    let verifications = if verify {
        Some(verify_sessions(store, patient.id, &sessions).await?)
    } else {
        None
    };
    let devices = store.devices(patient.id).await?;
    // Which device gave each day's data matters to the full report's exports, not to the
    // clinic view's headline figures: the lists skip the query.
    let device_days = if verify {
        store
            .device_days(patient.id, &days_between(tz, from, to))
            .await?
    } else {
        Vec::new()
    };
    let inputs = Inputs {
        flares: store.flares_between(patient.id, start, end).await?,
        plan_history: store.plan_history(patient.id).await?,
        reviews: store
            .reviews_for_report(patient.id, monday_of(from), to)
            .await?,
        band_days: store.band_days(patient.id, from, to).await?,
        band_paired_at: devices.iter().map(|d| d.paired_at).min(),
        devices,
        device_days,
        outcomes: store.outcomes(patient.id).await?,
        rules: store.current_rules(patient.id).await?.rules,
        questionnaire_responses: store.responses(patient.id).await?,
        patient,
        tz,
        from,
        to,
        now,
        sessions,
        verifications,
    };
    Ok(build(inputs))
}
