//! The FHIR R4 export of a report: one `Bundle` of type `collection` that a clinic system can
//! import, with the activity data shaped after the HL7 Physical Activity Implementation Guide
//! (`hl7.fhir.us.physical-activity` 1.0.1, STU 1; sources below).
//!
//! What goes in, in this order (each kind of resource is one section function of [`bundle`],
//! so a new kind — e.g. QuestionnaireResponses — is one more section):
//! - the `Patient` (identifier `urn:stepwise:patient|<user id>`, name as text);
//! - the walking programme: a `CarePlan` ("Walking programme", its one activity describing the
//!   plan in force) and the `Goal` it aims at (the bout length, in `s`);
//! - a `Device` for each band or imported device whose data is in the window ([`DEVICE_SYSTEM`]
//!   id, the Bluetooth address or derived identifier it is kept by, kind, name, and whether its
//!   data came over Bluetooth or from an imported export);
//! - per day of band data: daily steps (LOINC 41950-7, `/d`, the IG's time-based measure
//!   profile, with the share of the day the devices reported minutes as the IG's
//!   `DeviceActivePercentage` component) over the local day when the band counted steps that
//!   day, and sleep (LOINC 93832-4, `min`) when the night before it had sleep. Each names its
//!   `device` when exactly one device gave that day's data of its kind; when several did (the
//!   day's figure merges them: the higher count of each minute, the union of the nights) or
//!   none is known, it names none, rather than credit one device with another's minutes;
//! - per walk, the IG's activity group (code `PAPanel`, profile `pa-observation-activity-group`)
//!   with two activity measures as members (profile `pa-observation-activity-measure`): the
//!   activity performed (LOINC 73985-4, valued LOINC answer LA11834-1 "Walking") and its
//!   duration (LOINC 55411-3, `min`). The activity performed carries, as `hasMember`, the walk's
//!   pain scores: one Observation per reported score (LOINC 72514-3, `valueInteger` 0–10), which
//!   are no physical-activity measures and claim no IG profile. Scores not reported are left out;
//! - per complete week wholly inside the window, the IG's three exercise vital signs
//!   (profiles `pa-observation-evs-days-per-week`, `-min-per-day`, `-min-per-week`): LOINC
//!   89555-7 days of moderate-to-vigorous activity (`d/wk`), 68516-4 minutes on those days
//!   (`min/d`, the mean) and 82290-8 minutes in the week (`min/wk`, their product: the week's
//!   total). Moderate-to-vigorous activity is the walks the patient logged with walked time,
//!   band-verified or not ([`stepwise_care::report::ActivityWeek`]): the vital signs are the
//!   patient's own account in the IG, and the IG asks systems not to require device data
//!   (`input/pagecontent/measures.xml`). The profile allows `effectiveDateTime` only
//!   (`effectivePeriod ..0`), so the week is dated by its last local day; days and minutes are
//!   `derivedFrom` the week's walks' activity groups, minutes per week from the other two;
//! - per weekly decision in the window, a `Provenance` targeting the `CarePlan` (the plan the
//!   review keeps or changes): `occurredPeriod` the reviewed local week, `recorded` when the
//!   review ran, the decision as `activity`, each reason as a `reason` (its code and the care
//!   team's words), the rules version as an `entity`, and as agents the progression engine (a
//!   `Device` with the weekly-review contract version, [`stepwise_engine::CONTRACT_VERSION`])
//!   and, for an acknowledged escalation, the therapist who acknowledged it (a logical
//!   reference, `urn:stepwise:user|<id>`);
//! - per questionnaire the patient answered (every response since the first, so the baseline
//!   travels with the rest), a `QuestionnaireResponse` (`questionnaire`
//!   `urn:stepwise:questionnaire:<instrument>`, status `completed`, each answer under its
//!   instrument's `linkId` with the item's text, `valueInteger` or `valueString`) and a score
//!   `Observation` (category `survey`, code [`QUESTIONNAIRE_SCORE_SYSTEM`] `|<instrument>` —
//!   neither embedded instrument has a LOINC code for its score —, the score in the
//!   instrument's UCUM unit, the raw score and parts as components, `derivedFrom` the
//!   response, and a note with the change from the first score against the MID).
//!
//! Every physical-activity Observation carries the IG's two categories (`activity` and the
//! IG's `PhysicalActivity`) and its profile's canonical URL in `meta.profile`. The Patient
//! claims no US Core profile (the IG's `subject` points to one): Stepwise keeps no address,
//! birth date or gender to fill it with.
//!
//! Sources: the IG's FHIR Shorthand in the repository `HL7/physical-activity`:
//! `input/fsh/ObservationExerciseVitalSign.fsh` (the vital-sign profiles: codes, units,
//! `effective[x] only dateTime`, `derivedFrom`), `input/fsh/ObservationExerciseSupport.fsh`
//! (base, activity-measure, activity-group and time-measure profiles, categories, the
//! `DeviceActivePercentage` component), `input/fsh/Vocabulary.fsh` (the temporary code system
//! and value sets), `input/fsh/Shared.fsh` (the examples' units and displays),
//! `input/pagecontent/measures.xml` (which measure goes where, device guidance) and
//! `sushi-config.yaml` (canonical `http://hl7.org/fhir/us/physical-activity`, version 1.0.1).
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

use chrono::{DateTime, Days, Duration, NaiveDate, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use stepwise_engine::CONTRACT_VERSION;
use stepwise_engine::checks::TWO_HOUR_CHECK;
use stepwise_store::{BandDay, Id, WalkingPlan};

use stepwise_care::calendar::day_start;
use stepwise_care::questionnaires::{QuestionnaireSeries, ScorePoint};
use stepwise_care::report::{ActivityWeek, DecisionRow, Report, ReportDevice, WalkRow};
use stepwise_outcomes::{Answer, Change, Instrument};

use super::page::decision_words;

/// LOINC's system URI.
pub const LOINC: &str = "http://loinc.org";
/// UCUM's system URI.
pub const UCUM: &str = "http://unitsofmeasure.org";
/// HL7's observation category code system.
pub const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
/// HL7's provenance participant types (agent roles).
pub const PROVENANCE_PARTICIPANT: &str =
    "http://terminology.hl7.org/CodeSystem/provenance-participant-type";
/// The canonical URL of an instrument's questionnaire (`…:psfs`, `…:koos_jr`): the
/// `QuestionnaireResponse.questionnaire` of its responses.
pub const QUESTIONNAIRE_CANONICAL: &str = "urn:stepwise:questionnaire";
/// The identifier system of questionnaire responses (value: the response id).
pub const QUESTIONNAIRE_RESPONSE_SYSTEM: &str = "urn:stepwise:questionnaire-response";
/// The local code system of questionnaire scores (code: the instrument, or for a part of the
/// score `instrument:part`). The instruments Stepwise embeds have no LOINC code for their score
/// (`docs/outcomes.md`).
pub const QUESTIONNAIRE_SCORE_SYSTEM: &str = "urn:stepwise:questionnaire-score";
/// The local code system saying when a pain score was taken.
pub const PAIN_TIMING: &str = "urn:stepwise:pain-timing";
/// The identifier system of Stepwise patients (value: the user id).
pub const PATIENT_SYSTEM: &str = "urn:stepwise:patient";
/// The identifier system of Stepwise users other than the patient (value: the user id).
pub const USER_SYSTEM: &str = "urn:stepwise:user";
/// The identifier system of Stepwise devices (value: the device id).
pub const DEVICE_SYSTEM: &str = "urn:stepwise:device";
/// The identifier system of the address a device is kept by (a Bluetooth address, or a UUID
/// derived from what an export names the device by).
pub const DEVICE_ADDRESS_SYSTEM: &str = "urn:stepwise:device-address";
/// The local code system of device kinds (`mi-band-5`, `infinitime`, …).
pub const DEVICE_KIND: &str = "urn:stepwise:device-kind";
/// The local code system saying how a device's data reached Stepwise (`bluetooth`, `import`).
pub const DEVICE_SOURCE: &str = "urn:stepwise:device-source";
/// The local code system of weekly decisions (`advance`, `hold`, `regress`, `escalate`).
pub const DECISION_SYSTEM: &str = "urn:stepwise:decision";
/// The local code system of a decision's reasons (the engine's reason codes).
pub const REASON_SYSTEM: &str = "urn:stepwise:review-reason";
/// The identifier system of a patient's rules versions.
pub const RULES_VERSION_SYSTEM: &str = "urn:stepwise:rules-version";

/// A URL under the Physical Activity IG's canonical base.
macro_rules! pa_ig {
    ($path:literal) => {
        concat!("http://hl7.org/fhir/us/physical-activity", $path)
    };
}

/// The Physical Activity IG's canonical base (`sushi-config.yaml`).
pub const PA_IG: &str = pa_ig!("");
/// The IG's temporary code system (`PhysicalActivity`, `PAPanel`, `DeviceActivePercentage`).
pub const PA_CODES: &str = pa_ig!("/CodeSystem/pa-temporary-codes");
/// Profile: the exercise vital sign "days per week".
pub const PROFILE_EVS_DAYS_PER_WEEK: &str =
    pa_ig!("/StructureDefinition/pa-observation-evs-days-per-week");
/// Profile: the exercise vital sign "minutes per day".
pub const PROFILE_EVS_MIN_PER_DAY: &str =
    pa_ig!("/StructureDefinition/pa-observation-evs-min-per-day");
/// Profile: the exercise vital sign "minutes per week".
pub const PROFILE_EVS_MIN_PER_WEEK: &str =
    pa_ig!("/StructureDefinition/pa-observation-evs-min-per-week");
/// Profile: one measure of one activity (a walk's kind, its duration).
pub const PROFILE_ACTIVITY_MEASURE: &str =
    pa_ig!("/StructureDefinition/pa-observation-activity-measure");
/// Profile: the group of one activity's measures.
pub const PROFILE_ACTIVITY_GROUP: &str =
    pa_ig!("/StructureDefinition/pa-observation-activity-group");
/// Profile: a measure over a day or longer (daily steps).
pub const PROFILE_TIME_MEASURE: &str = pa_ig!("/StructureDefinition/pa-observation-time-measure");

/// LOINC: Number of steps in 24 hour Measured.
pub const LOINC_STEPS: &str = "41950-7";
/// LOINC: Sleep duration.
pub const LOINC_SLEEP: &str = "93832-4";
/// LOINC: Pain severity - 0-10 verbal numeric rating \[Score\] - Reported.
pub const LOINC_PAIN: &str = "72514-3";
/// LOINC: Exercise activity.
pub const LOINC_EXERCISE: &str = "73985-4";
/// LOINC answer: Walking (an answer to 73985-4).
pub const LOINC_WALKING: &str = "LA11834-1";
/// LOINC: Exercise duration.
pub const LOINC_EXERCISE_DURATION: &str = "55411-3";
/// LOINC: days per week of moderate to strenuous physical activity (exercise vital sign).
pub const LOINC_EVS_DAYS_PER_WEEK: &str = "89555-7";
/// LOINC: minutes per day on those days (exercise vital sign).
pub const LOINC_EVS_MIN_PER_DAY: &str = "68516-4";
/// LOINC: minutes per week of moderate to vigorous aerobic activity (exercise vital sign).
pub const LOINC_EVS_MIN_PER_WEEK: &str = "82290-8";

/// One exercise vital sign as its IG profile fixes it.
struct VitalSign {
    profile: &'static str,
    loinc: &'static str,
    display: &'static str,
    text: &'static str,
    unit: &'static str,
    ucum: &'static str,
}

/// Days per week (IG `PAObservationEVSDaysPerWeek`).
const EVS_DAYS_PER_WEEK: VitalSign = VitalSign {
    profile: PROFILE_EVS_DAYS_PER_WEEK,
    loinc: LOINC_EVS_DAYS_PER_WEEK,
    display: "How many days per week did you engage in moderate to strenuous physical activity \
              in the last 30 days",
    text: "Days with prescribed walks in the week",
    unit: "days per week",
    ucum: "d/wk",
};

/// Minutes per day on those days (IG `PAObservationEVSMinutesPerDay`).
const EVS_MIN_PER_DAY: VitalSign = VitalSign {
    profile: PROFILE_EVS_MIN_PER_DAY,
    loinc: LOINC_EVS_MIN_PER_DAY,
    display: "On those days that you engage in moderate to strenuous exercise, how many \
              minutes, on average, do you exercise",
    text: "Minutes walked per walking day in the week (mean)",
    unit: "minutes per day",
    ucum: "min/d",
};

/// Minutes per week (IG `PAObservationEVSMinutesPerWeek`).
const EVS_MIN_PER_WEEK: VitalSign = VitalSign {
    profile: PROFILE_EVS_MIN_PER_WEEK,
    loinc: LOINC_EVS_MIN_PER_WEEK,
    display: "Frequency of moderate to vigorous aerobic physical activity",
    text: "Minutes walked in the week",
    unit: "minutes per week",
    ucum: "min/wk",
};

/// The report as a FHIR R4 `collection` Bundle. Deterministic: the same report gives the same
/// JSON.
pub fn bundle(report: &Report) -> Value {
    let cx = Context::new(report);
    let mut entries = Vec::new();
    for section in [
        programme as Section,
        devices,
        daily,
        walks,
        vital_signs,
        provenance,
        questionnaires,
    ] {
        entries.extend(section(&cx));
    }

    // One bundle per report: the window and the moment it was made.
    let bundle_key = format!(
        "{}/{}/{}",
        report.from,
        report.to,
        instant(report.generated_at)
    );
    let bundle_id = cx.ids.id("bundle", &bundle_key);
    json!({
        "resourceType": "Bundle",
        "id": bundle_id,
        "identifier": { "system": "urn:ietf:rfc:3986", "value": format!("urn:uuid:{bundle_id}") },
        "type": "collection",
        "timestamp": instant(report.generated_at),
        "entry": entries,
    })
}

/// A part of the bundle: the entries of one kind of resource, in order.
type Section = fn(&Context) -> Vec<Value>;

/// What every section needs: the report, the ids and the references shared between sections.
struct Context<'a> {
    report: &'a Report,
    ids: Ids,
    tz: Option<Tz>,
    patient_ref: String,
    care_plan_ref: String,
    goal_ref: String,
}

impl Context<'_> {
    fn new(report: &Report) -> Context<'_> {
        let ids = Ids::new(report.patient.id);
        Context {
            report,
            tz: report.patient.timezone.parse().ok(),
            patient_ref: ids.full_url("patient", ""),
            care_plan_ref: ids.full_url("careplan", "walking-programme"),
            goal_ref: ids.full_url("goal", "walking-programme"),
            ids,
        }
    }

    fn device_ref(&self, device: Id) -> String {
        self.ids.full_url("device", &device.to_string())
    }

    fn engine_ref(&self) -> String {
        self.ids.full_url("device", "progression-engine")
    }

    fn activity_group_ref(&self, session: Id) -> String {
        self.ids.full_url("activity-group", &session.to_string())
    }

    fn vital_sign_ref(&self, sign: &VitalSign, week: NaiveDate) -> String {
        self.ids
            .full_url(&format!("evs-{}", sign.loinc), &week.to_string())
    }

    /// The one device of the report that gave `date` its data of a kind (`steps` or sleep);
    /// `None` when several did or none is known.
    fn only_device(&self, date: NaiveDate, steps: bool) -> Option<Id> {
        let mut gave = self
            .report
            .device_days
            .iter()
            .filter(|d| d.date == date && if steps { d.steps } else { d.sleep })
            .map(|d| d.device_id);
        match (gave.next(), gave.next()) {
            (Some(one), None) if self.report.devices.iter().any(|d| d.id == one) => Some(one),
            _ => None,
        }
    }
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

// ---------------------------------------------------------------------------------------------
// The patient and the programme.

fn programme(cx: &Context) -> Vec<Value> {
    let report = cx.report;
    vec![
        entry(&cx.patient_ref, patient(report)),
        entry(
            &cx.care_plan_ref,
            care_plan(&report.plan, &cx.patient_ref, &cx.goal_ref),
        ),
        entry(&cx.goal_ref, goal(&report.plan, &cx.patient_ref)),
    ]
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

// ---------------------------------------------------------------------------------------------
// Devices.

fn devices(cx: &Context) -> Vec<Value> {
    cx.report
        .devices
        .iter()
        .map(|d| entry(&cx.device_ref(d.id), device(d, &cx.patient_ref)))
        .collect()
}

fn device(d: &ReportDevice, patient_ref: &str) -> Value {
    let (source, source_text) = if d.imported {
        ("import", "Imported from a phone or watch export")
    } else {
        ("bluetooth", "Synced over Bluetooth by a Stepwise collector")
    };
    json!({
        "resourceType": "Device",
        "identifier": [
            { "system": DEVICE_SYSTEM, "value": d.id.to_string() },
            { "system": DEVICE_ADDRESS_SYSTEM, "value": d.address },
        ],
        "status": if d.removed_at.is_some() { "inactive" } else { "active" },
        "deviceName": [{ "name": d.name, "type": "user-friendly-name" }],
        "modelNumber": d.kind,
        "type": {
            "coding": [{ "system": DEVICE_KIND, "code": d.kind }],
            "text": "Activity tracker (minute steps and sleep)",
        },
        "property": [{
            "type": { "text": "How its data reaches Stepwise" },
            "valueCode": [{
                "coding": [{ "system": DEVICE_SOURCE, "code": source }],
                "text": source_text,
            }],
        }],
        "patient": reference(patient_ref),
    })
}

/// The progression engine that makes the weekly decisions, with the contract it implements.
fn engine_device() -> Value {
    json!({
        "resourceType": "Device",
        "identifier": [{ "system": DEVICE_SYSTEM, "value": "progression-engine" }],
        "status": "active",
        "deviceName": [{ "name": "Stepwise progression engine", "type": "user-friendly-name" }],
        "type": { "text": "Decision software: the weekly progression review" },
        "version": [{
            "type": { "text": "Weekly-review contract version" },
            "value": CONTRACT_VERSION.to_string(),
        }],
    })
}

// ---------------------------------------------------------------------------------------------
// Band data per day.

fn daily(cx: &Context) -> Vec<Value> {
    let mut out = Vec::new();
    for day in &cx.report.daily {
        let date = day.date.to_string();
        if day.minutes_with_data > 0 || day.steps > 0 {
            let url = cx.ids.full_url("steps", &date);
            out.push(entry(&url, steps(cx, day)));
        }
        if day.sleep_min > 0 {
            let url = cx.ids.full_url("sleep", &date);
            out.push(entry(&url, sleep(cx, day)));
        }
    }
    out
}

fn steps(cx: &Context, day: &BandDay) -> Value {
    let mut obs = json!({
        "resourceType": "Observation",
        "meta": { "profile": [PROFILE_TIME_MEASURE] },
        "status": "final",
        "category": physical_activity_categories(),
        "code": loinc(LOINC_STEPS, "Number of steps in 24 hour Measured", "Steps per day"),
        "subject": reference(&cx.patient_ref),
        "effectivePeriod": local_period(day.date, 1, cx.tz),
        "valueQuantity": quantity(day.steps, "steps per day", "/d"),
    });
    if day.minutes_with_data > 0 {
        obs["component"] = json!([{
            "code": {
                "coding": [{
                    "system": PA_CODES,
                    "code": "DeviceActivePercentage",
                    "display": "Device Active Percentage",
                }],
            },
            "valueQuantity": quantity(active_percent(day, cx.tz), "%", "%"),
        }]);
    }
    if let Some(device) = cx.only_device(day.date, true) {
        obs["device"] = reference(&cx.device_ref(device));
    }
    obs
}

/// The share of the local day's minutes the devices reported, in percent to one decimal.
fn active_percent(day: &BandDay, tz: Option<Tz>) -> Value {
    let minutes_in_day = match (tz, day.date.succ_opt()) {
        (Some(tz), Some(next)) => (day_start(tz, next) - day_start(tz, day.date)).num_minutes(),
        _ => 24 * 60,
    };
    let tenths = (day.minutes_with_data * 1000 + minutes_in_day / 2) / minutes_in_day.max(1);
    if tenths % 10 == 0 {
        json!(tenths / 10)
    } else {
        json!(tenths as f64 / 10.0)
    }
}

fn sleep(cx: &Context, day: &BandDay) -> Value {
    let mut obs = json!({
        "resourceType": "Observation",
        "status": "final",
        "category": [category("activity", "Activity")],
        "code": loinc(LOINC_SLEEP, "Sleep duration", "Sleep in the night ending on this date"),
        "subject": reference(&cx.patient_ref),
        // The night before this local date (sleep counts toward the day it ends on).
        "effectiveDateTime": day.date.to_string(),
        "valueQuantity": quantity(day.sleep_min, "min", "min"),
    });
    if let Some(device) = cx.only_device(day.date, false) {
        obs["device"] = reference(&cx.device_ref(device));
    }
    obs
}

// ---------------------------------------------------------------------------------------------
// Walks.

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

fn walks(cx: &Context) -> Vec<Value> {
    cx.report
        .walks
        .iter()
        .flat_map(|walk| walk_entries(cx, walk))
        .collect()
}

/// A walk's activity group, its two measures, then its pain scores.
fn walk_entries(cx: &Context, walk: &WalkRow) -> Vec<Value> {
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
            let url = cx
                .ids
                .full_url(&format!("pain-{}", timing.code()), &session);
            pains.push(entry(&url, pain(walk, timing, score, &cx.patient_ref)));
        }
    }
    let members: Vec<&str> = pains.iter().filter_map(|e| e["fullUrl"].as_str()).collect();
    let kind_url = cx.ids.full_url("walk", &session);
    let duration_url = cx.ids.full_url("walk-duration", &session);
    let group = activity_group(cx, walk, &[&kind_url, &duration_url]);
    let mut out = vec![
        entry(&cx.activity_group_ref(walk.session_id), group),
        entry(&kind_url, activity_kind(cx, walk, &members)),
        entry(&duration_url, activity_duration(cx, walk)),
    ];
    out.extend(pains);
    out
}

/// The fields every physical-activity Observation of a walk shares.
fn activity_observation(cx: &Context, walk: &WalkRow, profile: &str) -> Value {
    json!({
        "resourceType": "Observation",
        "meta": { "profile": [profile] },
        "status": "final",
        "category": physical_activity_categories(),
        "subject": reference(&cx.patient_ref),
        "effectivePeriod": walk_period(walk),
        // The patient logged the walk.
        "performer": [reference(&cx.patient_ref)],
    })
}

fn activity_group(cx: &Context, walk: &WalkRow, members: &[&str]) -> Value {
    let mut obs = activity_observation(cx, walk, PROFILE_ACTIVITY_GROUP);
    obs["code"] = json!({
        "coding": [{ "system": PA_CODES, "code": "PAPanel", "display": "Physical Activity Panel" }],
        "text": "Walking session",
    });
    obs["hasMember"] = members.iter().map(|m| reference(m)).collect();
    obs
}

fn activity_kind(cx: &Context, walk: &WalkRow, pains: &[&str]) -> Value {
    let mut obs = activity_observation(cx, walk, PROFILE_ACTIVITY_MEASURE);
    obs["code"] = loinc(LOINC_EXERCISE, "Exercise activity", "Activity performed");
    obs["valueCodeableConcept"] = json!({
        "coding": [{ "system": LOINC, "code": LOINC_WALKING, "display": "Walking" }],
        "text": "Walking",
    });
    if !pains.is_empty() {
        obs["hasMember"] = pains.iter().map(|m| reference(m)).collect();
    }
    obs
}

fn activity_duration(cx: &Context, walk: &WalkRow) -> Value {
    let mut obs = activity_observation(cx, walk, PROFILE_ACTIVITY_MEASURE);
    obs["code"] = loinc(LOINC_EXERCISE_DURATION, "Exercise duration", "Time walked");
    obs["valueQuantity"] = quantity(minutes(walk.walked_s, 1), "minutes", "min");
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

// ---------------------------------------------------------------------------------------------
// Exercise vital signs per complete week.

fn vital_signs(cx: &Context) -> Vec<Value> {
    let mut out = Vec::new();
    for week in &cx.report.activity_weeks {
        let walks: Vec<String> = week
            .sessions
            .iter()
            .map(|s| cx.activity_group_ref(*s))
            .collect();
        let days = u64::from(week.active_days);
        let per_day = match days {
            0 => json!(0),
            days => minutes(week.walked_s, days),
        };
        let from_both = [
            cx.vital_sign_ref(&EVS_DAYS_PER_WEEK, week.week_start),
            cx.vital_sign_ref(&EVS_MIN_PER_DAY, week.week_start),
        ];
        for (sign, value, derived_from) in [
            (&EVS_DAYS_PER_WEEK, json!(days), &walks[..]),
            (&EVS_MIN_PER_DAY, per_day, &walks[..]),
            (&EVS_MIN_PER_WEEK, minutes(week.walked_s, 1), &from_both[..]),
        ] {
            out.push(entry(
                &cx.vital_sign_ref(sign, week.week_start),
                vital_sign(cx, sign, week, value, derived_from),
            ));
        }
    }
    out
}

fn vital_sign(
    cx: &Context,
    sign: &VitalSign,
    week: &ActivityWeek,
    value: Value,
    derived_from: &[String],
) -> Value {
    let mut obs = json!({
        "resourceType": "Observation",
        "meta": { "profile": [sign.profile] },
        "status": "final",
        "category": physical_activity_categories(),
        "code": loinc(sign.loinc, sign.display, sign.text),
        "subject": reference(&cx.patient_ref),
        // The profile allows a dateTime only: the week's last local day.
        "effectiveDateTime": (week.week_start + Days::new(6)).to_string(),
        "performer": [reference(&cx.patient_ref)],
        "valueQuantity": quantity(value, sign.unit, sign.ucum),
    });
    if !derived_from.is_empty() {
        obs["derivedFrom"] = derived_from.iter().map(|r| reference(r)).collect();
    }
    obs
}

// ---------------------------------------------------------------------------------------------
// Provenance of the weekly decisions.

fn provenance(cx: &Context) -> Vec<Value> {
    let decisions = &cx.report.decisions;
    if decisions.is_empty() {
        return Vec::new();
    }
    let mut out = vec![entry(&cx.engine_ref(), engine_device())];
    for d in decisions {
        let url = cx.ids.full_url("provenance", &d.review_id.to_string());
        out.push(entry(&url, decision_provenance(cx, d)));
    }
    out
}

fn decision_provenance(cx: &Context, d: &DecisionRow) -> Value {
    let code = d.decision.as_str();
    let change = if d.interval_s == d.previous_interval_s {
        format!("interval stays at {} s", d.interval_s)
    } else {
        format!("interval {} s to {} s", d.previous_interval_s, d.interval_s)
    };
    let applied = if d.applied {
        "applied to the plan"
    } else {
        "not applied"
    };
    let mut agents = vec![json!({
        "type": participant("author", "Author"),
        "who": reference(&cx.engine_ref()),
    })];
    if let Some(therapist) = d.acknowledged_by {
        agents.push(json!({
            "type": participant("verifier", "Verifier"),
            "who": {
                "type": "Practitioner",
                "identifier": { "system": USER_SYSTEM, "value": therapist.to_string() },
                "display": "The therapist who acknowledged the escalation",
            },
        }));
    }
    let reasons: Vec<Value> = d
        .reasons
        .iter()
        .map(|said| {
            let code = serde_json::to_value(said.code).unwrap_or(Value::Null);
            json!({
                "coding": [{ "system": REASON_SYSTEM, "code": code }],
                "text": said.text,
            })
        })
        .collect();
    let mut prov = json!({
        "resourceType": "Provenance",
        "target": [reference(&cx.care_plan_ref)],
        "occurredPeriod": local_period(d.week_start, 7, cx.tz),
        "recorded": instant(d.decided_at),
        "activity": {
            "coding": [{
                "system": DECISION_SYSTEM,
                "code": code,
                "display": decision_words(d.decision),
            }],
            "text": format!("Weekly review: {} ({change}; {applied})", decision_words(d.decision)),
        },
        "agent": agents,
        "entity": [{
            "role": "source",
            "what": {
                "identifier": { "system": RULES_VERSION_SYSTEM, "value": d.rules_version.to_string() },
                "display": format!(
                    "The patient's rules, version {}, under weekly-review contract version {}",
                    d.rules_version, CONTRACT_VERSION
                ),
            },
        }],
    });
    if !reasons.is_empty() {
        prov["reason"] = Value::Array(reasons);
    }
    prov
}

// ---------------------------------------------------------------------------------------------
// Questionnaires the patient filled in.

/// Per response: the `QuestionnaireResponse` (every answer, by the instrument's `linkId`) and
/// a score `Observation` derived from it (category `survey`, the instrument's unit; the raw
/// score and the parts as components; the change from the first score against the MID as a
/// note).
fn questionnaires(cx: &Context) -> Vec<Value> {
    let mut entries = Vec::new();
    for series in &cx.report.questionnaires {
        let first = series.first().map(|p| p.value);
        for point in &series.points {
            let response_ref = cx
                .ids
                .full_url("questionnaire-response", &point.response_id.to_string());
            let score_ref = cx
                .ids
                .full_url("questionnaire-score", &point.response_id.to_string());
            entries.push(entry(
                &response_ref,
                questionnaire_response(cx, series.instrument, point),
            ));
            entries.push(entry(
                &score_ref,
                questionnaire_score(cx, series, point, first, &response_ref),
            ));
        }
    }
    entries
}

fn questionnaire_response(cx: &Context, instrument: Instrument, point: &ScorePoint) -> Value {
    let items: Vec<Value> = point
        .answers
        .iter()
        .map(|(link_id, answer)| {
            let value = match answer {
                Answer::Integer(n) => json!({ "valueInteger": n }),
                Answer::Text(text) => json!({ "valueString": text }),
            };
            let mut item = json!({ "linkId": link_id, "answer": [value] });
            if let Some(text) = instrument.item(link_id).map(|i| i.text) {
                item["text"] = json!(text);
            }
            item
        })
        .collect();
    json!({
        "resourceType": "QuestionnaireResponse",
        "identifier": {
            "system": QUESTIONNAIRE_RESPONSE_SYSTEM,
            "value": point.response_id.to_string(),
        },
        "questionnaire": format!("{QUESTIONNAIRE_CANONICAL}:{}", instrument.as_str()),
        "status": "completed",
        "subject": reference(&cx.patient_ref),
        "authored": instant(point.answered_at),
        "author": reference(&cx.patient_ref),
        "source": reference(&cx.patient_ref),
        "item": items,
    })
}

fn score_code(code: &str, display: &str) -> Value {
    json!({
        "coding": [{ "system": QUESTIONNAIRE_SCORE_SYSTEM, "code": code, "display": display }],
        "text": display,
    })
}

fn questionnaire_score(
    cx: &Context,
    series: &QuestionnaireSeries,
    point: &ScorePoint,
    first: Option<f64>,
    response_ref: &str,
) -> Value {
    let code = series.instrument.as_str();
    let title = format!("{} score", series.title);
    let mut components: Vec<Value> = Vec::new();
    if let Some(raw) = point.raw {
        components.push(json!({
            "code": score_code(&format!("{code}:raw"), &format!("{} raw score", series.title)),
            "valueQuantity": quantity(raw, "score", "{score}"),
        }));
    }
    for part in &point.subscores {
        components.push(json!({
            "code": score_code(&format!("{code}:{}", part.name), &part.name),
            "valueQuantity": quantity(part.value, "score", "{score}"),
        }));
    }
    let mut observation = json!({
        "resourceType": "Observation",
        "status": "final",
        "category": [category("survey", "Survey")],
        "code": score_code(code, &title),
        "subject": reference(&cx.patient_ref),
        "effectiveDateTime": instant(point.answered_at),
        "issued": instant(point.answered_at),
        "performer": [reference(&cx.patient_ref)],
        "valueQuantity": quantity(point.value, "score", series.unit),
        "derivedFrom": [reference(response_ref)],
    });
    if !components.is_empty() {
        observation["component"] = json!(components);
    }
    if let Some(first) = first {
        let against = match (series.mid, point.change) {
            (Some(mid), Some(change)) => format!(
                "; the minimal important difference is {mid}: {}",
                match change {
                    Change::Better => "better than the first score",
                    Change::Worse => "worse than the first score",
                    Change::WithinMid => "within it",
                }
            ),
            _ => "; the instrument has no verified minimal important difference".into(),
        };
        observation["note"] = json!([{
            "text": format!(
                "First score {first}; change from it {:+}{against}.",
                point.change_from_first
            )
        }]);
    }
    observation
}

fn participant(code: &str, display: &str) -> Value {
    json!({ "coding": [{ "system": PROVENANCE_PARTICIPANT, "code": code, "display": display }] })
}

// ---------------------------------------------------------------------------------------------
// Shared shapes.

fn reference(full_url: &str) -> Value {
    json!({ "reference": full_url })
}

fn category(code: &str, display: &str) -> Value {
    json!({ "coding": [{ "system": OBSERVATION_CATEGORY, "code": code, "display": display }] })
}

/// The two categories the IG's base profile requires of every physical-activity Observation.
fn physical_activity_categories() -> Value {
    json!([
        category("activity", "Activity"),
        { "coding": [{ "system": PA_CODES, "code": "PhysicalActivity", "display": "Physical Activity" }] },
    ])
}

fn loinc(code: &str, display: &str, text: &str) -> Value {
    json!({ "coding": [{ "system": LOINC, "code": code, "display": display }], "text": text })
}

/// A UCUM quantity; `unit` is the human-readable form, `code` the UCUM code.
fn quantity(value: impl Into<Value>, unit: &str, code: &str) -> Value {
    let value: Value = value.into();
    json!({ "value": value, "unit": unit, "system": UCUM, "code": code })
}

/// `seconds ÷ per` as minutes: whole minutes as an integer, otherwise to the hundredth.
fn minutes(seconds: i64, per: u64) -> Value {
    let per = i64::try_from(per.max(1)).unwrap_or(i64::MAX);
    if seconds % (60 * per) == 0 {
        json!(seconds / 60 / per)
    } else {
        json!((seconds as f64 / 60.0 / per as f64 * 100.0).round() / 100.0)
    }
}

/// A FHIR instant in UTC, e.g. `2026-03-02T08:15:00Z`.
fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn walk_period(walk: &WalkRow) -> Value {
    json!({ "start": instant(walk.started_at), "end": instant(walk.ended_at) })
}

/// `days` local days from `first` as a period from local midnight to local midnight, with the
/// zone's offsets; as bare dates (a day's precision: first day to last day) when the zone is
/// unknown.
fn local_period(first: NaiveDate, days: u64, tz: Option<Tz>) -> Value {
    match (tz, first.checked_add_days(Days::new(days))) {
        (Some(tz), Some(end)) => {
            let local = |d: NaiveDate| {
                day_start(tz, d)
                    .with_timezone(&tz)
                    .to_rfc3339_opts(SecondsFormat::Secs, false)
            };
            json!({ "start": local(first), "end": local(end) })
        }
        _ => {
            let last = first
                .checked_add_days(Days::new(days.saturating_sub(1)))
                .unwrap_or(first);
            json!({ "start": first.to_string(), "end": last.to_string() })
        }
    }
}
