//! The FHIR R4 export of a report: one `Bundle` of type `collection` that a clinic system can
//! import.
//!
//! What goes in, in this order:
//! - the `Patient` (identifier `urn:stepwise:patient|<user id>`, name as text);
//! - the walking programme: a `CarePlan` ("Walking programme", its one activity describing the
//!   plan in force) and the `Goal` it aims at (the bout length, in `s`);
//! - per day of band data: daily steps (LOINC 41950-7, `/d`) over the local day when the band
//!   counted steps that day, and sleep (LOINC 93832-4, `min`) when the night before it had sleep;
//! - per walk: an exercise session (LOINC 73985-4 "Exercise activity", valued "Walking", shaped
//!   after the HL7 Physical Activity IG) with its duration as a component (LOINC 55411-3,
//!   `min`) and, as `hasMember`, the walk's pain scores: one Observation per reported score
//!   (LOINC 72514-3, `valueInteger` 0–10). Scores not reported are left out.
//!
//! **When a pain score was taken.** Every pain Observation states its own timing in two
//! standard elements, with no extension:
//! - `effective[x]`: before = `effectiveDateTime` at the walk's start; highest during =
//!   `effectivePeriod` over the walk (the score is the maximum over that period); two hours
//!   after = `effectiveDateTime` at the walk's end + 2 h;
//! - a second, finer-grained coding in `code.coding`, beside the LOINC code, from the local
//!   system `urn:stepwise:pain-timing` (`before`, `during-max`, `two-hours-after`). FHIR lets
//!   the codings of one CodeableConcept differ in granularity, so "pain severity 0–10, reported
//!   before the walk" is a narrower translation of 72514-3, not a second meaning. A `component`
//!   would be wrong for a single score, and `method` says how a value was measured, not when.
//!
//! **Ids.** Every resource id is UUID-shaped and derived from its content's identity (SHA-256
//! of patient id, resource kind and date or session id, laid out as an RFC 9562 version-8
//! UUID), so the same report exports byte-for-byte the same bundle and the same day's steps
//! keep their id across reports. Entries are referenced by `fullUrl` (`urn:uuid:…`), as a
//! collection bundle's entries resolve each other.
//!
//! Units are UCUM throughout. Instants are UTC; a day's period runs from local midnight to
//! local midnight in the patient's zone.

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use stepwise_engine::checks::TWO_HOUR_CHECK;
use stepwise_store::{Id, WalkingPlan};

use stepwise_care::calendar::day_start;
use stepwise_care::report::{Report, WalkRow};
use stepwise_store::BandDay;

/// LOINC's system URI.
pub const LOINC: &str = "http://loinc.org";
/// UCUM's system URI.
pub const UCUM: &str = "http://unitsofmeasure.org";
/// HL7's observation category code system.
pub const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
/// The local code system saying when a pain score was taken.
pub const PAIN_TIMING: &str = "urn:stepwise:pain-timing";
/// The identifier system of Stepwise patients (value: the user id).
pub const PATIENT_SYSTEM: &str = "urn:stepwise:patient";

/// LOINC: Number of steps in 24 hour Measured.
pub const LOINC_STEPS: &str = "41950-7";
/// LOINC: Sleep duration.
pub const LOINC_SLEEP: &str = "93832-4";
/// LOINC: Pain severity - 0-10 verbal numeric rating \[Score\] - Reported.
pub const LOINC_PAIN: &str = "72514-3";
/// LOINC: Exercise activity.
pub const LOINC_EXERCISE: &str = "73985-4";
/// LOINC: Exercise duration.
pub const LOINC_EXERCISE_DURATION: &str = "55411-3";

/// The report as a FHIR R4 `collection` Bundle. Deterministic: the same report gives the same
/// JSON.
pub fn bundle(report: &Report) -> Value {
    let ids = Ids::new(report.patient.id);
    let tz: Option<Tz> = report.patient.timezone.parse().ok();
    let patient_ref = ids.full_url("patient", "");
    let goal_ref = ids.full_url("goal", "walking-programme");

    let mut entries = vec![
        entry(&patient_ref, patient(report)),
        entry(
            &ids.full_url("careplan", "walking-programme"),
            care_plan(&report.plan, &patient_ref, &goal_ref),
        ),
        entry(&goal_ref, goal(&report.plan, &patient_ref)),
    ];
    for day in &report.daily {
        if day.minutes_with_data > 0 || day.steps > 0 {
            let url = ids.full_url("steps", &day.date.to_string());
            entries.push(entry(&url, steps(day, tz, &patient_ref)));
        }
        if day.sleep_min > 0 {
            let url = ids.full_url("sleep", &day.date.to_string());
            entries.push(entry(&url, sleep(day, &patient_ref)));
        }
    }
    for walk in &report.walks {
        entries.extend(walk_entries(walk, &ids, &patient_ref));
    }

    // One bundle per report: the window and the moment it was made.
    let bundle_key = format!(
        "{}/{}/{}",
        report.from,
        report.to,
        instant(report.generated_at)
    );
    let bundle_id = ids.id("bundle", &bundle_key);
    json!({
        "resourceType": "Bundle",
        "id": bundle_id,
        "identifier": { "system": "urn:ietf:rfc:3986", "value": format!("urn:uuid:{bundle_id}") },
        "type": "collection",
        "timestamp": instant(report.generated_at),
        "entry": entries,
    })
}

/// Deterministic, UUID-shaped ids of one patient's resources.
struct Ids {
    patient: Id,
}

impl Ids {
    fn new(patient: Id) -> Ids {
        Ids { patient }
    }

    /// The id of the resource of `kind` identified by `key` (a date, a session id, …): the
    /// first 128 bits of SHA-256 over patient, kind and key, as an RFC 9562 version-8 UUID.
    fn id(&self, kind: &str, key: &str) -> String {
        let digest = Sha256::digest(format!("stepwise:{}:{kind}:{key}", self.patient));
        let mut b = [0u8; 16];
        b.copy_from_slice(&digest[..16]);
        b[6] = (b[6] & 0x0f) | 0x80; // version 8
        b[8] = (b[8] & 0x3f) | 0x80; // RFC 9562 variant
        let h = hex::encode(b);
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }

    fn full_url(&self, kind: &str, key: &str) -> String {
        format!("urn:uuid:{}", self.id(kind, key))
    }
}

/// A bundle entry; the resource's id is the UUID of its `fullUrl`.
fn entry(full_url: &str, mut resource: Value) -> Value {
    let id = full_url.trim_start_matches("urn:uuid:");
    resource["id"] = json!(id);
    json!({ "fullUrl": full_url, "resource": resource })
}

fn patient(report: &Report) -> Value {
    json!({
        "resourceType": "Patient",
        "identifier": [{
            "system": PATIENT_SYSTEM,
            "value": report.patient.id.to_string(),
        }],
        "name": [{ "text": report.patient.display_name }],
    })
}

fn care_plan(plan: &WalkingPlan, patient_ref: &str, goal_ref: &str) -> Value {
    json!({
        "resourceType": "CarePlan",
        "status": "active",
        "intent": "plan",
        "title": "Walking programme",
        "description": "Interval walking for chronic pain, paced by pain: the bout length is \
                        reviewed every week against pain before, during and two hours after.",
        "subject": reference(patient_ref),
        "goal": [reference(goal_ref)],
        "activity": [{
            "detail": {
                "code": { "text": "Interval walking" },
                "goal": [reference(goal_ref)],
                "status": "in-progress",
                "scheduledString": schedule(plan),
                "description": format!(
                    "Walk {} bouts of {} s with {} s rest between them, {} sessions a week.",
                    plan.bouts, plan.interval_s, plan.rest_s, plan.sessions_per_week
                ),
            }
        }],
    })
}

/// E.g. "2 bouts of 330 s, 120 s rest, 5 sessions a week".
fn schedule(plan: &WalkingPlan) -> String {
    format!(
        "{} bouts of {} s, {} s rest, {} sessions a week",
        plan.bouts, plan.interval_s, plan.rest_s, plan.sessions_per_week
    )
}

fn goal(plan: &WalkingPlan, patient_ref: &str) -> Value {
    json!({
        "resourceType": "Goal",
        "lifecycleStatus": "active",
        "description": {
            "text": format!(
                "Walk {} s per bout, {} bouts per session, {} sessions a week",
                plan.interval_s, plan.bouts, plan.sessions_per_week
            ),
        },
        "subject": reference(patient_ref),
        "target": [{
            "measure": { "text": "Walking bout length" },
            "detailQuantity": quantity(plan.interval_s, "s", "s"),
        }],
    })
}

fn steps(day: &BandDay, tz: Option<Tz>, patient_ref: &str) -> Value {
    json!({
        "resourceType": "Observation",
        "status": "final",
        "category": [category("activity", "Activity")],
        "code": loinc(LOINC_STEPS, "Number of steps in 24 hour Measured", "Steps per day"),
        "subject": reference(patient_ref),
        "effectivePeriod": local_day(day.date, tz),
        "valueQuantity": quantity(day.steps, "steps/day", "/d"),
    })
}

fn sleep(day: &BandDay, patient_ref: &str) -> Value {
    json!({
        "resourceType": "Observation",
        "status": "final",
        "category": [category("activity", "Activity")],
        "code": loinc(LOINC_SLEEP, "Sleep duration", "Sleep in the night ending on this date"),
        "subject": reference(patient_ref),
        // The night before this local date (sleep counts toward the day it ends on).
        "effectiveDateTime": day.date.to_string(),
        "valueQuantity": quantity(day.sleep_min, "min", "min"),
    })
}

/// When a pain score was taken, relative to its walk.
#[derive(Clone, Copy)]
enum PainTiming {
    Before,
    DuringMax,
    TwoHoursAfter,
    NextMorning,
}

impl PainTiming {
    fn code(self) -> &'static str {
        match self {
            PainTiming::Before => "before",
            PainTiming::DuringMax => "during-max",
            PainTiming::TwoHoursAfter => "two-hours-after",
            PainTiming::NextMorning => "next-morning",
        }
    }

    fn display(self) -> &'static str {
        match self {
            PainTiming::Before => "Pain before the walk",
            PainTiming::DuringMax => "Highest pain during the walk",
            PainTiming::TwoHoursAfter => "Pain two hours after the walk",
            PainTiming::NextMorning => "Pain the morning after the walk",
        }
    }

    /// The `effective[x]` element: its name and value.
    fn effective(self, walk: &WalkRow) -> (&'static str, Value) {
        match self {
            PainTiming::Before => ("effectiveDateTime", json!(instant(walk.started_at))),
            PainTiming::DuringMax => ("effectivePeriod", walk_period(walk)),
            PainTiming::TwoHoursAfter => (
                "effectiveDateTime",
                json!(instant(walk.ended_at + TWO_HOUR_CHECK)),
            ),
            // When the patient reported it, on waking (the next-morning check).
            PainTiming::NextMorning => (
                "effectiveDateTime",
                json!(instant(
                    walk.next_morning_answered_at
                        .unwrap_or(walk.ended_at + Duration::hours(12))
                )),
            ),
        }
    }
}

/// The walk's exercise-session panel followed by its pain scores.
fn walk_entries(walk: &WalkRow, ids: &Ids, patient_ref: &str) -> Vec<Value> {
    let scores = [
        (PainTiming::Before, walk.pain_before),
        (PainTiming::DuringMax, walk.pain_during_max),
        (PainTiming::TwoHoursAfter, walk.pain_after_2h),
        (PainTiming::NextMorning, walk.pain_next_morning),
    ];
    let session = walk.session_id.to_string();
    let mut pains = Vec::new();
    for (timing, score) in scores {
        if let Some(score) = score {
            let url = ids.full_url(&format!("pain-{}", timing.code()), &session);
            pains.push(entry(&url, pain(walk, timing, score, patient_ref)));
        }
    }
    let members: Vec<&str> = pains.iter().filter_map(|e| e["fullUrl"].as_str()).collect();
    let panel = exercise_session(walk, &members, patient_ref);
    let mut out = vec![entry(&ids.full_url("walk", &session), panel)];
    out.extend(pains);
    out
}

fn exercise_session(walk: &WalkRow, members: &[&str], patient_ref: &str) -> Value {
    let mut obs = json!({
        "resourceType": "Observation",
        "status": "final",
        "category": [category("activity", "Activity")],
        "code": loinc(LOINC_EXERCISE, "Exercise activity", "Walking session"),
        "subject": reference(patient_ref),
        "effectivePeriod": walk_period(walk),
        "valueCodeableConcept": { "text": "Walking" },
        "component": [{
            "code": loinc(LOINC_EXERCISE_DURATION, "Exercise duration", "Time walked"),
            "valueQuantity": quantity(minutes(walk.walked_s), "min", "min"),
        }],
    });
    if !members.is_empty() {
        obs["hasMember"] = members.iter().map(|m| reference(m)).collect();
    }
    obs
}

fn pain(walk: &WalkRow, timing: PainTiming, score: i64, patient_ref: &str) -> Value {
    let (effective_key, effective) = timing.effective(walk);
    let mut obs = json!({
        "resourceType": "Observation",
        "status": "final",
        "category": [category("survey", "Survey")],
        "code": {
            "coding": [
                {
                    "system": LOINC,
                    "code": LOINC_PAIN,
                    "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
                },
                { "system": PAIN_TIMING, "code": timing.code(), "display": timing.display() },
            ],
            "text": format!("{} (0-10)", timing.display()),
        },
        "subject": reference(patient_ref),
        "valueInteger": score,
    });
    obs[effective_key] = effective;
    obs
}

fn reference(full_url: &str) -> Value {
    json!({ "reference": full_url })
}

fn category(code: &str, display: &str) -> Value {
    json!({ "coding": [{ "system": OBSERVATION_CATEGORY, "code": code, "display": display }] })
}

fn loinc(code: &str, display: &str, text: &str) -> Value {
    json!({ "coding": [{ "system": LOINC, "code": code, "display": display }], "text": text })
}

/// A UCUM quantity; `unit` is the human-readable form, `code` the UCUM code.
fn quantity(value: impl Into<Value>, unit: &str, code: &str) -> Value {
    let value: Value = value.into();
    json!({ "value": value, "unit": unit, "system": UCUM, "code": code })
}

/// Seconds as minutes: whole minutes as an integer, otherwise to the hundredth.
fn minutes(seconds: i64) -> Value {
    if seconds % 60 == 0 {
        json!(seconds / 60)
    } else {
        json!((seconds as f64 / 60.0 * 100.0).round() / 100.0)
    }
}

/// A FHIR instant in UTC, e.g. `2026-03-02T08:15:00Z`.
fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn walk_period(walk: &WalkRow) -> Value {
    json!({ "start": instant(walk.started_at), "end": instant(walk.ended_at) })
}

/// A local date as a period from local midnight to the next local midnight, with the zone's
/// offsets; as the bare date (a day's precision) when the zone is unknown.
fn local_day(date: NaiveDate, tz: Option<Tz>) -> Value {
    match (tz, date.succ_opt()) {
        (Some(tz), Some(next)) => {
            let local = |d: NaiveDate| {
                day_start(tz, d)
                    .with_timezone(&tz)
                    .to_rfc3339_opts(SecondsFormat::Secs, false)
            };
            json!({ "start": local(date), "end": local(next) })
        }
        _ => json!({ "start": date.to_string(), "end": date.to_string() }),
    }
}
