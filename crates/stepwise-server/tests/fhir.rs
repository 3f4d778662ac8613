//! The FHIR R4 export of the pre-visit report: its shape, codes and units checked here, and its
//! validity checked by an independent validator (`tests/fhir/validate.py`, the `fhir.resources`
//! R4 models), run with the Python named by `STEPWISE_FHIR_PYTHON`.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::process::{Command, Output};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::{Value, json};
use stepwise_care::questionnaires::{ResponseRecord, SubscoreValue};
use stepwise_care::report::{
    ActivityWeek, AdherenceReport, ChecksReport, DataPeriod, DecisionRow, IntervalReport,
    PainLimits, PainWeek, Report, ReportDevice, ReportPatient, Trend, VerificationReport, WalkRow,
    WeekAdherence,
};
use stepwise_engine::{CONTRACT_VERSION, Decision, ReasonCode, Said};
use stepwise_outcomes::{Answer, Instrument};
use stepwise_server::report::fhir::{
    self, LOINC, OBSERVATION_CATEGORY, PA_CODES, PAIN_TIMING, PROVENANCE_PARTICIPANT, UCUM,
};
use stepwise_store::{BandDay, DeviceDay};
use stepwise_store::{PlanChange, PlanChangeSource, WalkingPlan};

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn walk(
    session_id: i64,
    started_at: DateTime<Utc>,
    walked_s: i64,
    pain: [Option<i64>; 3],
) -> WalkRow {
    WalkRow {
        session_id,
        started_at,
        ended_at: started_at + Duration::seconds(walked_s + 120),
        day: started_at.date_naive(),
        walked_s,
        bouts: 2,
        pain_before: pain[0],
        pain_during_max: pain[1],
        pain_after_2h: pain[2],
        pain_next_morning: None,
        next_morning_answered_at: None,
        effort: Some(4),
        verified: Some(true),
    }
}

fn band_day(date: NaiveDate, steps: i64, sleep_min: i64) -> BandDay {
    BandDay {
        date,
        steps,
        minutes_with_data: 900,
        sleep_min,
    }
}

fn device_day(date: NaiveDate, device_id: i64, steps: bool, sleep: bool) -> DeviceDay {
    DeviceDay {
        date,
        device_id,
        steps,
        sleep,
    }
}

fn trend(unit: &'static str, first: f64, last: f64, meaningful: f64) -> Trend {
    Trend {
        unit,
        first_week_mean: Some(first),
        last_week_mean: Some(last),
        change: Some(last - first),
        meaningful,
        flagged: (last - first).abs() >= meaningful,
    }
}

/// A small but complete report: 3 walks (some scores not reported) in one complete week, 4 days
/// of band data (the last without sleep) from a paired band and an imported watch, a plan
/// raised once, and two weekly decisions (an escalation acknowledged).
fn report() -> Report {
    let plan = WalkingPlan {
        interval_s: 330,
        bouts: 2,
        rest_s: 120,
        sessions_per_week: 5,
    };
    let monday = date(2026, 3, 2);
    Report {
        patient: ReportPatient {
            id: 42,
            display_name: "Ada Example".into(),
            timezone: "Europe/Berlin".into(),
            next_visit: Some(date(2026, 3, 9)),
        },
        from: monday,
        to: date(2026, 3, 8),
        generated_at: utc(2026, 3, 9, 7, 30),
        summary: "3 of 5 sessions; pain steady.".into(),
        attention: vec![],
        adherence: AdherenceReport {
            weeks: vec![WeekAdherence {
                week_start: monday,
                days_in_window: 4,
                done: 3,
                prescribed: 3,
                share: Some(1.0),
                adherent: true,
                complete: true,
            }],
            done: 3,
            prescribed: 3,
            share: Some(1.0),
            adherent: true,
        },
        verification: VerificationReport {
            walks: 3,
            verified: 3,
            not_verified: 0,
            no_data: 0,
            share: Some(1.0),
        },
        band_data_periods: vec![DataPeriod {
            from: monday,
            to: date(2026, 3, 31),
            days: 4,
        }],
        two_hour_checks: ChecksReport {
            walks: 3,
            answered: 2,
            missed: 1,
            waiting: 0,
            share: Some(2.0 / 3.0),
        },
        walks: vec![
            walk(101, utc(2026, 3, 2, 8, 0), 660, [Some(3), Some(5), Some(4)]),
            WalkRow {
                pain_next_morning: Some(4),
                next_morning_answered_at: Some(utc(2026, 3, 4, 6, 50)),
                ..walk(102, utc(2026, 3, 3, 16, 45), 650, [Some(2), None, Some(3)])
            },
            walk(103, utc(2026, 3, 4, 9, 10), 600, [Some(4), Some(6), None]),
        ],
        pain_weeks: vec![PainWeek {
            week_start: monday,
            mean_before: Some(3.0),
            mean_after_2h: Some(3.5),
        }],
        flares: vec![],
        interval: IntervalReport {
            start_s: 300,
            end_s: 330,
            changes: vec![PlanChange {
                id: 7,
                at: utc(2026, 3, 2, 6, 0),
                from_interval_s: 300,
                to_interval_s: 330,
                source: PlanChangeSource::Review,
                reason: "A good week: 10% more.".into(),
                review_id: Some(9),
                by_user: None,
            }],
        },
        plan,
        limits: PainLimits {
            during_max: 5,
            after_2h_max: 4,
        },
        decisions: vec![
            DecisionRow {
                review_id: 9,
                week_start: date(2026, 2, 23),
                decided_at: utc(2026, 3, 1, 23, 5),
                rules_version: 3,
                decision: Decision::Advance,
                previous_interval_s: 300,
                interval_s: 330,
                applied: true,
                reasons: vec![Said {
                    code: ReasonCode::WithinLimits,
                    text: "5 of 5 sessions reported pain two hours after within limits".into(),
                }],
                acknowledged_at: None,
                acknowledgement_note: None,
                acknowledged_by: None,
            },
            DecisionRow {
                review_id: 10,
                week_start: monday,
                decided_at: utc(2026, 3, 8, 23, 5),
                rules_version: 4,
                decision: Decision::Escalate,
                previous_interval_s: 330,
                interval_s: 297,
                applied: true,
                reasons: vec![
                    Said {
                        code: ReasonCode::RedFlagPain,
                        text: "Pain of 8/10 on Wed 4 Mar".into(),
                    },
                    Said {
                        code: ReasonCode::PainAfter2hOverMax,
                        text: "1 session over the limit two hours after".into(),
                    },
                ],
                acknowledged_at: Some(utc(2026, 3, 9, 7, 0)),
                acknowledgement_note: Some("Phoned; rest two days".into()),
                acknowledged_by: Some(5),
            },
        ],
        daily: vec![
            band_day(date(2026, 3, 2), 5234, 410),
            band_day(date(2026, 3, 3), 6120, 385),
            band_day(date(2026, 3, 4), 4870, 442),
            band_day(date(2026, 3, 5), 3012, 0),
        ],
        activity_weeks: vec![ActivityWeek {
            week_start: monday,
            active_days: 3,
            walked_s: 660 + 650 + 600,
            sessions: vec![101, 102, 103],
        }],
        devices: vec![
            ReportDevice {
                id: 7,
                kind: "mi-band-5".into(),
                name: "Mi Band 5".into(),
                address: "C8:0F:10:AA:BB:CC".into(),
                imported: false,
                paired_at: utc(2026, 2, 1, 9, 0),
                removed_at: None,
            },
            ReportDevice {
                id: 8,
                kind: "apple-health".into(),
                name: "Ada's Apple Watch".into(),
                address: "0b9a2c4e-3f1d-8a7b-9c2d-4e5f6a7b8c9d".into(),
                imported: true,
                paired_at: utc(2026, 3, 3, 20, 0),
                removed_at: Some(utc(2026, 3, 6, 8, 0)),
            },
        ],
        // 2 Mar: the band alone; 3 Mar: both counted minutes, only the watch slept; 4 Mar: the
        // watch's minutes, a night no device is known for; 5 Mar: the band alone.
        device_days: vec![
            device_day(date(2026, 3, 2), 7, true, true),
            device_day(date(2026, 3, 3), 7, true, false),
            device_day(date(2026, 3, 3), 8, true, true),
            device_day(date(2026, 3, 4), 8, true, false),
            device_day(date(2026, 3, 5), 7, true, false),
        ],
        steps_trend: trend("steps/day", 5234.0, 4809.0, 700.0),
        sleep_trend: trend("min/night", 410.0, 412.3, 30.0),
        open_escalations: vec![],
        outcomes: vec![],
        questionnaires: questionnaires(),
    }
}

/// A response scored by `stepwise_outcomes::score`, as the store keeps it.
fn response(id: i64, instrument: Instrument, answers: Value, at: DateTime<Utc>) -> ResponseRecord {
    let answers: std::collections::BTreeMap<String, Answer> =
        serde_json::from_value(answers).unwrap();
    let scored = stepwise_outcomes::score(instrument, &answers).unwrap();
    ResponseRecord {
        id,
        patient_id: 42,
        request_id: id + 100,
        instrument,
        answers,
        value: scored.value,
        raw: scored.raw,
        subscores: scored
            .subscores
            .iter()
            .map(|s| SubscoreValue {
                name: s.name.to_string(),
                value: s.value,
            })
            .collect(),
        category: scored.category.map(str::to_string),
        answered_at: at,
    }
}

/// The published examples (`crates/stepwise-outcomes/tests/`): PSFS rated 3, 5 and 7 → 5, two
/// weeks later 5, 7 and 9 → 7 (2 points: the MID, better); KOOS, JR. raw 14 → 52.465.
fn questionnaires() -> Vec<stepwise_care::questionnaires::QuestionnaireSeries> {
    let tz: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
    let psfs = |r: [i64; 3]| {
        json!({"activity_1": "Climbing stairs", "rating_1": r[0], "activity_2": "Walking to the shop",
               "rating_2": r[1], "activity_3": "Gardening", "rating_3": r[2]})
    };
    let koos = json!({"stiffness_morning": 2, "pain_twisting": 2, "pain_straightening": 1,
                      "pain_stairs": 3, "pain_standing": 1, "function_rising": 2,
                      "function_bending": 3});
    stepwise_care::questionnaires::series(
        tz,
        &[
            response(1, Instrument::Psfs, psfs([3, 5, 7]), utc(2026, 2, 16, 9, 0)),
            response(2, Instrument::KoosJr, koos, utc(2026, 2, 16, 9, 10)),
            response(3, Instrument::Psfs, psfs([5, 7, 9]), utc(2026, 3, 2, 9, 0)),
        ],
    )
}

fn resources(bundle: &Value) -> Vec<&Value> {
    bundle["entry"]
        .as_array()
        .expect("entry is an array")
        .iter()
        .map(|e| &e["resource"])
        .collect()
}

fn of_type<'a>(bundle: &'a Value, kind: &str) -> Vec<&'a Value> {
    resources(bundle)
        .into_iter()
        .filter(|r| r["resourceType"] == kind)
        .collect()
}

fn codes(concept: &Value, system: &str) -> Vec<String> {
    concept["coding"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["system"] == system)
        .map(|c| c["code"].as_str().unwrap().to_string())
        .collect()
}

/// Whether the Observation is a questionnaire's score.
fn is_score(obs: &Value) -> bool {
    !codes(&obs["code"], fhir::QUESTIONNAIRE_SCORE_SYSTEM).is_empty()
}

/// The Observation's one LOINC code; `None` for the activity groups (coded by the IG).
fn loinc_of(obs: &Value) -> Option<String> {
    let loinc = codes(&obs["code"], LOINC);
    assert!(loinc.len() <= 1, "at most one LOINC code in {obs}");
    loinc.into_iter().next()
}

fn observations_with<'a>(bundle: &'a Value, loinc: &str) -> Vec<&'a Value> {
    of_type(bundle, "Observation")
        .into_iter()
        .filter(|r| loinc_of(r).as_deref() == Some(loinc))
        .collect()
}

fn activity_groups(bundle: &Value) -> Vec<&Value> {
    of_type(bundle, "Observation")
        .into_iter()
        .filter(|r| codes(&r["code"], PA_CODES) == ["PAPanel"])
        .collect()
}

fn assert_ucum(quantity: &Value, code: &str) {
    assert_eq!(quantity["system"], UCUM, "UCUM system in {quantity}");
    assert_eq!(quantity["code"], code, "UCUM code in {quantity}");
    assert!(quantity["value"].is_number(), "numeric value in {quantity}");
}

fn patient_url(bundle: &Value) -> String {
    full_url_of(bundle, |r| r["resourceType"] == "Patient")
}

fn full_url_of(bundle: &Value, pick: impl Fn(&Value) -> bool) -> String {
    let entry = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| pick(&e["resource"]))
        .expect("an entry");
    entry["fullUrl"].as_str().unwrap().to_string()
}

fn by_url(bundle: &Value) -> BTreeMap<&str, &Value> {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["fullUrl"].as_str().unwrap(), &e["resource"]))
        .collect()
}

fn profile(resource: &Value) -> &str {
    resource["meta"]["profile"][0].as_str().unwrap_or("")
}

const IG: &str = "http://hl7.org/fhir/us/physical-activity/StructureDefinition/";

#[test]
fn bundle_is_a_collection_with_the_expected_resources() {
    let b = fhir::bundle(&report());
    assert_eq!(b["resourceType"], "Bundle");
    assert_eq!(b["type"], "collection");
    assert_eq!(b["timestamp"], "2026-03-09T07:30:00Z");
    let id = b["id"].as_str().expect("an id");
    assert_eq!(b["identifier"]["system"], "urn:ietf:rfc:3986");
    assert_eq!(b["identifier"]["value"], format!("urn:uuid:{id}"));

    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for r in resources(&b) {
        *kinds
            .entry(r["resourceType"].as_str().unwrap())
            .or_default() += 1;
    }
    // Observations: 4 steps + 3 sleep + 3 walks of 3 (group, activity, duration) + 8 pain
    // scores (7 of 9 before, during and two hours after, and one next morning) + 3 vital signs
    // of the one complete week. Devices: the band, the watch and the progression engine.
    let expected = BTreeMap::from([
        ("CarePlan", 1),
        ("Device", 3),
        ("Goal", 1),
        ("Observation", 30),
        ("Patient", 1),
        ("Provenance", 2),
        ("QuestionnaireResponse", 3),
    ]);
    assert_eq!(kinds, expected);
    assert_eq!(observations_with(&b, fhir::LOINC_STEPS).len(), 4);
    assert_eq!(observations_with(&b, fhir::LOINC_SLEEP).len(), 3);
    assert_eq!(activity_groups(&b).len(), 3);
    assert_eq!(observations_with(&b, fhir::LOINC_EXERCISE).len(), 3);
    assert_eq!(
        observations_with(&b, fhir::LOINC_EXERCISE_DURATION).len(),
        3
    );
    assert_eq!(observations_with(&b, fhir::LOINC_PAIN).len(), 8);
    for code in [
        fhir::LOINC_EVS_DAYS_PER_WEEK,
        fhir::LOINC_EVS_MIN_PER_DAY,
        fhir::LOINC_EVS_MIN_PER_WEEK,
    ] {
        assert_eq!(observations_with(&b, code).len(), 1, "{code}");
    }

    let ids: HashSet<&str> = b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let url = e["fullUrl"].as_str().unwrap();
            let id = url.strip_prefix("urn:uuid:").expect("urn:uuid fullUrl");
            assert_eq!(e["resource"]["id"], id, "resource id is the fullUrl's uuid");
            assert_eq!(id.len(), 36);
            assert_eq!(id.matches('-').count(), 4);
            id
        })
        .collect();
    assert_eq!(ids.len(), 41, "fullUrls are unique");

    let patient = &resources(&b)[0];
    assert_eq!(patient["resourceType"], "Patient");
    assert_eq!(patient["name"][0]["text"], "Ada Example");
    assert_eq!(patient["identifier"][0]["system"], "urn:stepwise:patient");
    assert_eq!(patient["identifier"][0]["value"], "42");
}

#[test]
fn observations_carry_loinc_codes_and_ucum_units() {
    let b = fhir::bundle(&report());
    for obs in of_type(&b, "Observation") {
        assert_eq!(obs["status"], "final");
        assert_eq!(
            obs["category"][0]["coding"][0]["system"],
            OBSERVATION_CATEGORY
        );
        if is_score(obs) {
            // Checked in each_questionnaire_response_has_its_score_observation.
            continue;
        }
        let Some(code) = loinc_of(obs) else {
            assert_eq!(codes(&obs["code"], PA_CODES), ["PAPanel"], "{obs}");
            continue;
        };
        match code.as_str() {
            fhir::LOINC_STEPS => {
                assert_ucum(&obs["valueQuantity"], "/d");
                assert_eq!(obs["category"][0]["coding"][0]["code"], "activity");
                assert!(obs["effectivePeriod"]["start"].is_string());
                assert_eq!(
                    codes(&obs["component"][0]["code"], PA_CODES),
                    ["DeviceActivePercentage"]
                );
                assert_ucum(&obs["component"][0]["valueQuantity"], "%");
            }
            fhir::LOINC_SLEEP => {
                assert_ucum(&obs["valueQuantity"], "min");
                assert!(obs["valueQuantity"]["value"].as_i64().unwrap() > 0);
            }
            fhir::LOINC_EXERCISE => {
                assert_eq!(
                    codes(&obs["valueCodeableConcept"], LOINC),
                    [fhir::LOINC_WALKING]
                );
                assert!(obs["effectivePeriod"]["end"].is_string());
            }
            fhir::LOINC_EXERCISE_DURATION => {
                assert_ucum(&obs["valueQuantity"], "min");
                assert!(obs["effectivePeriod"]["end"].is_string());
            }
            fhir::LOINC_EVS_DAYS_PER_WEEK => assert_ucum(&obs["valueQuantity"], "d/wk"),
            fhir::LOINC_EVS_MIN_PER_DAY => assert_ucum(&obs["valueQuantity"], "min/d"),
            fhir::LOINC_EVS_MIN_PER_WEEK => assert_ucum(&obs["valueQuantity"], "min/wk"),
            fhir::LOINC_PAIN => {
                let score = obs["valueInteger"].as_i64().expect("valueInteger");
                assert!((0..=10).contains(&score));
                let timing = codes(&obs["code"], PAIN_TIMING);
                assert_eq!(timing.len(), 1, "one timing code in {obs}");
                match timing[0].as_str() {
                    "before" | "two-hours-after" | "next-morning" => {
                        assert!(obs["effectiveDateTime"].is_string())
                    }
                    "during-max" => assert!(obs["effectivePeriod"]["end"].is_string()),
                    other => panic!("unknown pain timing {other}"),
                }
            }
            other => panic!("unexpected LOINC code {other}"),
        }
    }

    // The values and timings of the first walk, and the day without sleep.
    let pains = observations_with(&b, fhir::LOINC_PAIN);
    let first: Vec<(String, i64, &Value)> = pains[..3]
        .iter()
        .map(|o| {
            let timing = codes(&o["code"], PAIN_TIMING).remove(0);
            let effective = if o["effectiveDateTime"].is_null() {
                &o["effectivePeriod"]
            } else {
                &o["effectiveDateTime"]
            };
            (timing, o["valueInteger"].as_i64().unwrap(), effective)
        })
        .collect();
    assert_eq!(first[0].0, "before");
    assert_eq!(
        (first[0].1, first[0].2),
        (3, &json!("2026-03-02T08:00:00Z"))
    );
    assert_eq!(first[1].0, "during-max");
    let walk = json!({ "start": "2026-03-02T08:00:00Z", "end": "2026-03-02T08:13:00Z" });
    assert_eq!((first[1].1, first[1].2), (5, &walk));
    assert_eq!(first[2].0, "two-hours-after");
    assert_eq!(
        (first[2].1, first[2].2),
        (4, &json!("2026-03-02T10:13:00Z"))
    );

    // The second walk's next-morning pain, at the time the patient gave it.
    let morning: Vec<&Value> = pains
        .iter()
        .copied()
        .filter(|o| codes(&o["code"], PAIN_TIMING) == ["next-morning"])
        .collect();
    assert_eq!(morning.len(), 1);
    assert_eq!(morning[0]["valueInteger"], 4);
    assert_eq!(morning[0]["effectiveDateTime"], "2026-03-04T06:50:00Z");

    let steps = observations_with(&b, fhir::LOINC_STEPS);
    assert_eq!(steps[0]["valueQuantity"]["value"], 5234);
    assert_eq!(
        steps[0]["effectivePeriod"],
        json!({ "start": "2026-03-02T00:00:00+01:00", "end": "2026-03-03T00:00:00+01:00" })
    );
    // 900 of the day's 1440 minutes reported.
    assert_eq!(steps[0]["component"][0]["valueQuantity"]["value"], 62.5);
    let sleep_days: Vec<&Value> = observations_with(&b, fhir::LOINC_SLEEP)
        .iter()
        .map(|o| &o["effectiveDateTime"])
        .collect();
    assert_eq!(
        sleep_days,
        [
            &json!("2026-03-02"),
            &json!("2026-03-03"),
            &json!("2026-03-04")
        ]
    );

    let durations = observations_with(&b, fhir::LOINC_EXERCISE_DURATION);
    assert_eq!(durations[0]["valueQuantity"]["value"], 11);
    assert_eq!(durations[1]["valueQuantity"]["value"], 10.83);
}

#[test]
fn walks_follow_the_physical_activity_profiles() {
    let b = fhir::bundle(&report());
    let urls = by_url(&b);
    let patient = patient_url(&b);
    for obs in of_type(&b, "Observation")
        .into_iter()
        .filter(|o| !is_score(o))
    {
        let code = loinc_of(obs);
        // Pain and sleep are not physical-activity measures: no IG profile, no IG category.
        let in_ig = !matches!(code.as_deref(), Some(fhir::LOINC_PAIN | fhir::LOINC_SLEEP));
        let categories: Vec<Vec<String>> = obs["category"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                codes(c, OBSERVATION_CATEGORY)
                    .into_iter()
                    .chain(codes(c, PA_CODES))
                    .collect()
            })
            .collect();
        if in_ig {
            assert_eq!(categories, [["activity"], ["PhysicalActivity"]], "{obs}");
            assert!(profile(obs).starts_with(IG), "{obs}");
        } else {
            assert!(obs["meta"].is_null(), "{obs}");
        }
    }
    for group in activity_groups(&b) {
        assert_eq!(profile(group), format!("{IG}pa-observation-activity-group"));
        assert!(group["value"].is_null());
        assert_eq!(group["performer"][0]["reference"], patient.as_str());
        let members: Vec<&Value> = group["hasMember"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| urls[m["reference"].as_str().unwrap()])
            .collect();
        let member_codes: Vec<Option<String>> = members.iter().map(|m| loinc_of(m)).collect();
        assert_eq!(
            member_codes,
            [
                Some(fhir::LOINC_EXERCISE.to_string()),
                Some(fhir::LOINC_EXERCISE_DURATION.to_string())
            ]
        );
        for member in members {
            assert_eq!(
                profile(member),
                format!("{IG}pa-observation-activity-measure")
            );
            assert_eq!(member["effectivePeriod"], group["effectivePeriod"]);
        }
    }
    for steps in observations_with(&b, fhir::LOINC_STEPS) {
        assert_eq!(profile(steps), format!("{IG}pa-observation-time-measure"));
    }
}

#[test]
fn weekly_vital_signs_follow_the_exercise_vital_sign_profiles() {
    let b = fhir::bundle(&report());
    let urls = by_url(&b);
    let one = |code: &str| observations_with(&b, code)[0];
    let days = one(fhir::LOINC_EVS_DAYS_PER_WEEK);
    let per_day = one(fhir::LOINC_EVS_MIN_PER_DAY);
    let per_week = one(fhir::LOINC_EVS_MIN_PER_WEEK);
    // Three walking days, 1910 s walked: 10.61 min a day, 31.83 min in the week.
    for (obs, profile_id, value) in [
        (days, "pa-observation-evs-days-per-week", json!(3)),
        (per_day, "pa-observation-evs-min-per-day", json!(10.61)),
        (per_week, "pa-observation-evs-min-per-week", json!(31.83)),
    ] {
        assert_eq!(profile(obs), format!("{IG}{profile_id}"));
        assert_eq!(obs["valueQuantity"]["value"], value, "{profile_id}");
        // The profile allows a dateTime only: the week's Sunday.
        assert_eq!(obs["effectiveDateTime"], "2026-03-08");
        assert!(obs["effectivePeriod"].is_null());
    }
    // Days and minutes a day come from the week's walks, minutes a week from those two.
    for obs in [days, per_day] {
        let sources: Vec<&Value> = obs["derivedFrom"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| urls[r["reference"].as_str().unwrap()])
            .collect();
        assert_eq!(sources.len(), 3);
        assert!(
            sources
                .iter()
                .all(|s| codes(&s["code"], PA_CODES) == ["PAPanel"])
        );
    }
    let sources: Vec<Option<String>> = per_week["derivedFrom"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| loinc_of(urls[r["reference"].as_str().unwrap()]))
        .collect();
    assert_eq!(
        sources,
        [
            Some(fhir::LOINC_EVS_DAYS_PER_WEEK.to_string()),
            Some(fhir::LOINC_EVS_MIN_PER_DAY.to_string())
        ]
    );

    // A week without walks says 0 days and 0 minutes, derived from nothing; a week still
    // running is no vital sign.
    let mut idle = report();
    idle.activity_weeks[0] = ActivityWeek {
        active_days: 0,
        walked_s: 0,
        sessions: vec![],
        ..idle.activity_weeks[0].clone()
    };
    let idle = fhir::bundle(&idle);
    for code in [
        fhir::LOINC_EVS_DAYS_PER_WEEK,
        fhir::LOINC_EVS_MIN_PER_DAY,
        fhir::LOINC_EVS_MIN_PER_WEEK,
    ] {
        let obs = observations_with(&idle, code)[0];
        assert_eq!(obs["valueQuantity"]["value"], 0, "{code}");
        assert_eq!(
            obs["derivedFrom"].is_null(),
            code != fhir::LOINC_EVS_MIN_PER_WEEK
        );
    }
    let mut running = report();
    running.activity_weeks.clear();
    let running = fhir::bundle(&running);
    assert!(observations_with(&running, fhir::LOINC_EVS_MIN_PER_WEEK).is_empty());
}

#[test]
fn devices_are_named_by_the_days_only_they_gave() {
    let b = fhir::bundle(&report());
    let patient = patient_url(&b);
    let device_url = |id: &str| {
        full_url_of(&b, |r| {
            r["resourceType"] == "Device" && r["identifier"][0]["value"] == id
        })
    };
    let (band, watch) = (device_url("7"), device_url("8"));
    let urls = by_url(&b);
    let band_device = urls[band.as_str()];
    assert_eq!(band_device["identifier"][0]["system"], fhir::DEVICE_SYSTEM);
    assert_eq!(
        band_device["identifier"][1],
        json!({ "system": fhir::DEVICE_ADDRESS_SYSTEM, "value": "C8:0F:10:AA:BB:CC" })
    );
    assert_eq!(band_device["status"], "active");
    assert_eq!(band_device["modelNumber"], "mi-band-5");
    assert_eq!(
        codes(&band_device["type"], fhir::DEVICE_KIND),
        ["mi-band-5"]
    );
    assert_eq!(band_device["deviceName"][0]["name"], "Mi Band 5");
    assert_eq!(band_device["patient"]["reference"], patient.as_str());
    let source = |d: &Value| codes(&d["property"][0]["valueCode"][0], fhir::DEVICE_SOURCE);
    assert_eq!(source(band_device), ["bluetooth"]);
    let watch_device = urls[watch.as_str()];
    assert_eq!(source(watch_device), ["import"]);
    assert_eq!(watch_device["status"], "inactive");

    let device_of = |obs: &Value| obs["device"]["reference"].as_str().map(str::to_string);
    let steps: Vec<Option<String>> = observations_with(&b, fhir::LOINC_STEPS)
        .into_iter()
        .map(device_of)
        .collect();
    // 3 March merges both devices' minutes: no device is named.
    assert_eq!(
        steps,
        [
            Some(band.clone()),
            None,
            Some(watch.clone()),
            Some(band.clone())
        ]
    );
    let sleep: Vec<Option<String>> = observations_with(&b, fhir::LOINC_SLEEP)
        .into_iter()
        .map(device_of)
        .collect();
    assert_eq!(sleep, [Some(band), Some(watch), None]);

    // Without device data, no Device and no device references (but the engine's).
    let mut bare = report();
    bare.devices.clear();
    bare.device_days.clear();
    let bare = fhir::bundle(&bare);
    assert_eq!(of_type(&bare, "Device").len(), 1);
    assert!(
        of_type(&bare, "Observation")
            .iter()
            .all(|o| o["device"].is_null())
    );
}

#[test]
fn each_weekly_decision_has_its_provenance() {
    let b = fhir::bundle(&report());
    let urls = by_url(&b);
    let care_plan = full_url_of(&b, |r| r["resourceType"] == "CarePlan");
    let provenance = of_type(&b, "Provenance");
    assert_eq!(provenance.len(), 2);

    let advance = provenance[0];
    assert_eq!(advance["target"], json!([{ "reference": care_plan }]));
    assert_eq!(
        advance["occurredPeriod"],
        json!({ "start": "2026-02-23T00:00:00+01:00", "end": "2026-03-02T00:00:00+01:00" })
    );
    assert_eq!(advance["recorded"], "2026-03-01T23:05:00Z");
    assert_eq!(
        codes(&advance["activity"], fhir::DECISION_SYSTEM),
        ["advance"]
    );
    assert_eq!(
        advance["reason"],
        json!([{
            "coding": [{ "system": fhir::REASON_SYSTEM, "code": "within_limits" }],
            "text": "5 of 5 sessions reported pain two hours after within limits",
        }])
    );
    assert_eq!(
        advance["entity"][0]["what"]["identifier"],
        json!({ "system": fhir::RULES_VERSION_SYSTEM, "value": "3" })
    );
    assert_eq!(advance["entity"][0]["role"], "source");
    let agents = advance["agent"].as_array().unwrap();
    assert_eq!(agents.len(), 1, "no therapist acknowledged an advance");
    assert_eq!(
        codes(&agents[0]["type"], PROVENANCE_PARTICIPANT),
        ["author"]
    );
    let engine = urls[agents[0]["who"]["reference"].as_str().unwrap()];
    assert_eq!(engine["resourceType"], "Device");
    assert_eq!(engine["version"][0]["value"], CONTRACT_VERSION.to_string());

    let escalation = provenance[1];
    assert_eq!(
        codes(&escalation["activity"], fhir::DECISION_SYSTEM),
        ["escalate"]
    );
    let reasons: Vec<Vec<String>> = escalation["reason"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| codes(r, fhir::REASON_SYSTEM))
        .collect();
    assert_eq!(reasons, [["red_flag_pain"], ["pain_after_2h_over_max"]]);
    let agents = escalation["agent"].as_array().unwrap();
    assert_eq!(agents.len(), 2);
    assert_eq!(
        codes(&agents[1]["type"], PROVENANCE_PARTICIPANT),
        ["verifier"]
    );
    assert_eq!(
        agents[1]["who"]["identifier"],
        json!({ "system": fhir::USER_SYSTEM, "value": "5" })
    );
    assert_eq!(agents[1]["who"]["type"], "Practitioner");

    // No decisions: neither Provenance nor the engine.
    let mut none = report();
    none.decisions.clear();
    let none = fhir::bundle(&none);
    assert!(of_type(&none, "Provenance").is_empty());
    assert_eq!(of_type(&none, "Device").len(), 2);
}

#[test]
fn each_questionnaire_response_has_its_score_observation() {
    let bundle = fhir::bundle(&report());
    let responses = of_type(&bundle, "QuestionnaireResponse");
    assert_eq!(responses.len(), 3);
    let first = responses[0];
    assert_eq!(first["questionnaire"], "urn:stepwise:questionnaire:psfs");
    assert_eq!(first["status"], "completed");
    assert_eq!(first["authored"], "2026-02-16T09:00:00Z");
    assert_eq!(first["subject"]["reference"], json!(patient_url(&bundle)));
    let rating_1 = first["item"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["linkId"] == "rating_1")
        .unwrap();
    assert_eq!(rating_1["answer"], json!([{"valueInteger": 3}]));
    let activity_1 = first["item"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["linkId"] == "activity_1")
        .unwrap();
    assert_eq!(
        activity_1["answer"],
        json!([{"valueString": "Climbing stairs"}])
    );

    let urls = by_url(&bundle);
    let scores: Vec<&Value> = of_type(&bundle, "Observation")
        .into_iter()
        .filter(|o| is_score(o))
        .collect();
    let summary: Vec<(String, f64, String)> = scores
        .iter()
        .map(|o| {
            let from = o["derivedFrom"][0]["reference"].as_str().unwrap();
            assert_eq!(urls[from]["resourceType"], "QuestionnaireResponse");
            (
                codes(&o["code"], fhir::QUESTIONNAIRE_SCORE_SYSTEM).join(","),
                o["valueQuantity"]["value"].as_f64().unwrap(),
                o["note"][0]["text"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(summary.len(), 3);
    assert_eq!((summary[0].0.as_str(), summary[0].1), ("psfs", 5.0));
    assert_eq!((summary[1].0.as_str(), summary[1].1), ("psfs", 7.0));
    assert!(
        summary[1].2.contains("better than the first score"),
        "{}",
        summary[1].2
    );
    assert_eq!((summary[2].0.as_str(), summary[2].1), ("koos_jr", 52.465));
    assert!(
        summary[2]
            .2
            .contains("no verified minimal important difference")
    );
    let koos = scores[2];
    assert_eq!(koos["component"][0]["valueQuantity"]["value"], 14.0);
}

#[test]
fn references_resolve_within_the_bundle() {
    let b = fhir::bundle(&report());
    let patient = patient_url(&b);
    let urls = by_url(&b);

    for r in resources(&b) {
        match r["resourceType"].as_str().unwrap() {
            "Observation" | "CarePlan" | "Goal" => assert_eq!(
                r["subject"]["reference"],
                patient.as_str(),
                "subject of {r}"
            ),
            "Device" if r["identifier"][0]["value"] != "progression-engine" => {
                assert_eq!(r["patient"]["reference"], patient.as_str())
            }
            _ => {}
        }
    }

    let mut members_seen = 0;
    for activity in observations_with(&b, fhir::LOINC_EXERCISE) {
        for member in activity["hasMember"].as_array().expect("hasMember") {
            let target = urls[member["reference"].as_str().unwrap()];
            assert_eq!(loinc_of(target).as_deref(), Some(fhir::LOINC_PAIN));
            members_seen += 1;
        }
    }
    assert_eq!(members_seen, 8, "every pain score belongs to its walk");

    let plan = of_type(&b, "CarePlan")[0];
    assert_eq!(plan["status"], "active");
    assert_eq!(plan["intent"], "plan");
    assert_eq!(plan["title"], "Walking programme");
    let detail = &plan["activity"][0]["detail"];
    assert_eq!(
        detail["scheduledString"],
        "2 bouts of 330 s, 120 s rest, 5 sessions a week"
    );
    assert_eq!(detail["status"], "in-progress");
    let goal = urls[plan["goal"][0]["reference"].as_str().unwrap()];
    assert_eq!(goal["resourceType"], "Goal");
    assert_eq!(goal["lifecycleStatus"], "active");
    assert!(
        goal["description"]["text"]
            .as_str()
            .unwrap()
            .starts_with("Walk 330 s per bout")
    );
    assert_ucum(&goal["target"][0]["detailQuantity"], "s");
    assert_eq!(goal["target"][0]["detailQuantity"]["value"], 330);
}

#[test]
fn output_is_deterministic() {
    let r = report();
    let first = fhir::bundle(&r);
    assert_eq!(first, fhir::bundle(&r));
    assert_eq!(
        serde_json::to_string(&first).unwrap(),
        serde_json::to_string(&fhir::bundle(&report())).unwrap()
    );
    // Ids depend on what a resource is, not on when the report was made.
    let mut later = report();
    later.generated_at += Duration::days(1);
    let later = fhir::bundle(&later);
    assert_ne!(first["id"], later["id"]);
    assert_eq!(first["entry"], later["entry"]);
    // Another patient's resources get other ids.
    let mut other = report();
    other.patient.id = 43;
    assert_ne!(patient_url(&first), patient_url(&fhir::bundle(&other)));
}

// ---------------------------------------------------------------------------------------------
// The independent validator.

fn validator_python() -> String {
    match std::env::var("STEPWISE_FHIR_PYTHON") {
        Ok(python) if !python.is_empty() => python,
        _ => panic!(
            "STEPWISE_FHIR_PYTHON is not set: run scripts/test, or export \
             STEPWISE_FHIR_PYTHON=$(scripts/python-venv fhir)"
        ),
    }
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Writes each bundle to a file and runs the validator over them all.
fn validate(name: &str, bundles: &[Value]) -> Output {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("fhir-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    let files: Vec<PathBuf> = bundles
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let path = dir.join(format!("bundle-{i}.json"));
            std::fs::write(&path, serde_json::to_vec_pretty(b).unwrap()).unwrap();
            path
        })
        .collect();
    let python = validator_python();
    Command::new(&python)
        .arg(workspace_root().join("tests/fhir/validate.py"))
        .args(&files)
        .output()
        .unwrap_or_else(|e| panic!("cannot run the FHIR validator with {python}: {e}"))
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn the_validator_accepts_the_bundle() {
    let full = fhir::bundle(&report());
    // Edge cases: a day with sleep but no step data, a walk with no score, an unknown zone.
    let mut edge = report();
    edge.daily.push(BandDay {
        date: date(2026, 3, 6),
        steps: 0,
        minutes_with_data: 0,
        sleep_min: 401,
    });
    edge.walks
        .push(walk(104, utc(2026, 3, 5, 7, 0), 630, [None, None, None]));
    edge.patient.timezone = "Mars/Olympus_Mons".into();
    let edge = fhir::bundle(&edge);
    assert_eq!(observations_with(&edge, fhir::LOINC_STEPS).len(), 4);
    assert_eq!(observations_with(&edge, fhir::LOINC_SLEEP).len(), 4);
    assert!(observations_with(&edge, fhir::LOINC_EXERCISE)[3]["hasMember"].is_null());

    // And a week without walks, no devices, no decisions.
    let mut idle = report();
    idle.activity_weeks[0] = ActivityWeek {
        active_days: 0,
        walked_s: 0,
        sessions: vec![],
        ..idle.activity_weeks[0].clone()
    };
    idle.devices.clear();
    idle.device_days.clear();
    idle.decisions.clear();
    let idle = fhir::bundle(&idle);

    let out = validate("valid", &[full, edge, idle]);
    assert!(
        out.status.success(),
        "the validator rejected the bundle:\n{}",
        text(&out)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.lines().any(|l| l == "fhir: 3 passed, 0 failed"),
        "{}",
        text(&out)
    );
}

/// The first Observation of a bundle with a LOINC code, to break.
fn first_with<'a>(bundle: &'a mut Value, loinc: &str) -> &'a mut Value {
    bundle["entry"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .map(|e| &mut e["resource"])
        .find(|r| r["code"]["coding"][0]["code"] == loinc)
        .unwrap()
}

/// The first pain Observation of a bundle, to break.
fn first_pain(bundle: &mut Value) -> &mut Value {
    first_with(bundle, fhir::LOINC_PAIN)
}

#[test]
fn the_validator_rejects_broken_bundles() {
    type Break = fn(&mut Value);
    let breaks: [(&str, &str, Break); 7] = [
        ("no-status", "status\n  field required", |b| {
            first_pain(b).as_object_mut().unwrap().remove("status");
        }),
        ("bad-quantity", "valueQuantity -> value", |b| {
            first_with(b, fhir::LOINC_STEPS)["valueQuantity"]["value"] = json!("many");
        }),
        ("unknown-element", "painScore", |b| {
            first_pain(b)["painScore"] = json!(3);
        }),
        ("integer-as-string", "valueInteger: '3'", |b| {
            first_pain(b)["valueInteger"] = json!("3");
        }),
        ("bad-status-code", "'done' is not one of", |b| {
            first_pain(b)["status"] = json!("done");
        }),
        ("dangling-reference", "resolves to no entry", |b| {
            first_pain(b)["subject"]["reference"] =
                json!("urn:uuid:00000000-0000-8000-8000-000000000000");
        }),
        ("not-a-bundle", "expected a Bundle", |b| {
            *b = b["entry"][0]["resource"].clone();
        }),
    ];
    for (name, mentions, break_it) in breaks {
        let mut bundle = fhir::bundle(&report());
        break_it(&mut bundle);
        let out = validate(name, &[bundle]);
        let all = text(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: must fail:\n{all}");
        assert!(
            all.contains(mentions),
            "{name}: should mention {mentions}:\n{all}"
        );
    }
}
