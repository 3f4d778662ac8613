//! A red flag is answered at once: when a patient logs a walk, answers a check or reports a
//! flare with pain at or above their `escalate_pain`, the same request opens an escalation
//! (the week is reviewed now; automatic changes stop), alerts the therapist, and answers with
//! the advice below. The wording lives here, once; the clinic adds its own contact.
//!
//! Why this advice: pain at the alert level means the walking load was too much (the
//! pain-monitoring model: pain above 5/10 is "too much"), so the walk stops and the plan waits
//! for the therapist. Back pain with new numbness in the saddle area, new bladder or bowel
//! trouble or new leg weakness can be cauda equina syndrome, and back pain with fever or chest
//! pain can be another emergency: those are the published reasons to seek emergency care at
//! once rather than wait for the clinic.

use chrono::{DateTime, Utc};
use serde::Serialize;
use stepwise_store::{Clinic, FlareRecord, Patient, SafetyContact, SessionRecord, Store};

use crate::error::ApiResult;
use crate::validate::parse_zone;
use crate::weekly;
use stepwise_care::calendar::local_day;

/// A red flag found in a report: its pain and the patient's alert level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedFlag {
    /// The highest pain at or above the alert level.
    pub pain: i64,
    /// The patient's `escalate_pain`.
    pub alert_level: i64,
}

/// The engine's red-flag test on the pains a report carried, under the patient's rules in
/// force.
pub async fn red_flag(
    store: &dyn Store,
    patient: &Patient,
    pains: impl IntoIterator<Item = Option<i64>>,
) -> ApiResult<Option<RedFlag>> {
    let rules = store.current_rules(patient.id).await?.rules;
    Ok(rules
        .red_flag(pains.into_iter().flatten())
        .map(|pain| RedFlag {
            pain,
            alert_level: rules.escalate_pain,
        }))
}

/// A walk or one of its checks was stored with `pains`: on a red flag, the walk's week
/// escalates now (`weekly::escalate_now`) and the therapist is alerted, once per walk.
pub async fn after_walk(
    store: &dyn Store,
    patient: &Patient,
    session: &SessionRecord,
    pains: impl IntoIterator<Item = Option<i64>>,
    now: DateTime<Utc>,
) -> ApiResult<Option<RedFlag>> {
    let Some(found) = red_flag(store, patient, pains).await? else {
        return Ok(None);
    };
    let tz = parse_zone("timezone", &patient.timezone)?;
    let alert = stepwise_care::reminders::red_flag_alert(tz, patient, session, found.pain, now);
    weekly::escalate_now(
        store,
        patient,
        local_day(tz, session.logged.started_at),
        now,
        &[alert],
    )
    .await?;
    Ok(Some(found))
}

/// A flare was stored: on a red flag, its week escalates now. Every flare already alerts the
/// therapist (`reminders::after_flare`, scheduled before this); that alert is the red flag's
/// too.
pub async fn after_flare(
    store: &dyn Store,
    patient: &Patient,
    flare: &FlareRecord,
    now: DateTime<Utc>,
) -> ApiResult<Option<RedFlag>> {
    let Some(found) = red_flag(store, patient, [Some(flare.reported.pain)]).await? else {
        return Ok(None);
    };
    let tz = parse_zone("timezone", &patient.timezone)?;
    weekly::escalate_now(
        store,
        patient,
        local_day(tz, flare.reported.started_at),
        now,
        &[],
    )
    .await?;
    Ok(Some(found))
}

/// What the patient reads at once after reporting red-flag pain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SafetyAdvice {
    /// The pain reported, 0–10.
    pub pain: i64,
    /// The patient's alert level (`escalate_pain`).
    pub alert_level: i64,
    /// One line to show first.
    pub title: String,
    /// What to do now.
    pub now: String,
    /// When to seek urgent care instead of waiting for the clinic.
    pub urgent: String,
    /// Who to contact: the clinic's words, or the default.
    pub contact: String,
    /// The clinic's phone number, when it gave one.
    pub phone: Option<String>,
    /// That the care team was told.
    pub care_team: String,
}

/// The default contact wording, for a clinic that has not written its own.
pub const DEFAULT_CONTACT: &str = "Contact your clinic as soon as you can. If you cannot reach \
     them and you are worried, contact your doctor or your local emergency number.";

/// The advice for `pain` at or above `alert_level`, with `clinic`'s contact.
pub fn advice(pain: i64, alert_level: i64, clinic: &Clinic) -> SafetyAdvice {
    let SafetyContact { phone, text } = clinic.safety_contact.clone();
    SafetyAdvice {
        pain,
        alert_level,
        title: format!("Your pain is {pain}/10: please stop and rest"),
        now: "Stop walking and rest in the position that eases your pain (sitting or bending \
              forward often helps). Do not walk again until your care team has looked at your \
              plan."
            .to_string(),
        urgent: "Call your local emergency number now (for example 999 in the UK, 112 in the \
                 EU, 911 in the US) if you have new numbness around your bottom or genitals, \
                 new trouble passing or holding urine or stool, new weakness in your legs, \
                 chest pain or breathlessness, or a fever with your pain."
            .to_string(),
        contact: text.unwrap_or_else(|| DEFAULT_CONTACT.to_string()),
        phone,
        care_team: format!(
            "Your therapist at {} has been told and will look at your plan. Your walks will \
             not get longer until they have.",
            clinic.name
        ),
    }
}
