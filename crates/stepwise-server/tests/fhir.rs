//! The FHIR R4 export of the pre-visit report: its shape, codes and units checked here, and its
//! validity checked by an independent validator (`tests/fhir/validate.py`, the `fhir.resources`
//! R4 models), run with the Python named by `STEPWISE_FHIR_PYTHON`.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::process::{Command, Output};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::{Value, json};
use stepwise_care::report::{
    AdherenceReport, ChecksReport, DataPeriod, DecisionRow, IntervalReport, PainLimits, PainWeek,
    Report, ReportPatient, Trend, VerificationReport, WalkRow, WeekAdherence,
};
use stepwise_engine::Decision;
use stepwise_server::report::fhir::{self, LOINC, OBSERVATION_CATEGORY, PAIN_TIMING, UCUM};
use stepwise_store::BandDay;
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

/// A small but complete report: 3 walks (some scores not reported), 4 days of band data (the
/// last without sleep), a plan raised once.
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
        to: date(2026, 3, 5),
        generated_at: utc(2026, 3, 6, 7, 30),
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
        decisions: vec![DecisionRow {
            review_id: 9,
            week_start: date(2026, 2, 23),
            decision: Decision::Advance,
            previous_interval_s: 300,
            interval_s: 330,
            applied: true,
            reasons: vec![],
            acknowledged_at: None,
            acknowledgement_note: None,
        }],
        daily: vec![
            band_day(date(2026, 3, 2), 5234, 410),
            band_day(date(2026, 3, 3), 6120, 385),
            band_day(date(2026, 3, 4), 4870, 442),
            band_day(date(2026, 3, 5), 3012, 0),
        ],
        steps_trend: trend("steps/day", 5234.0, 4809.0, 700.0),
        sleep_trend: trend("min/night", 410.0, 412.3, 30.0),
        open_escalations: vec![],
        outcomes: vec![],
        questionnaires: vec![],
    }
}

fn resources(bundle: &Value) -> Vec<&Value> {
    bundle["entry"]
        .as_array()
        .expect("entry is an array")
        .iter()
        .map(|e| &e["resource"])
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

fn loinc_of(obs: &Value) -> String {
    let loinc = codes(&obs["code"], LOINC);
    assert_eq!(loinc.len(), 1, "one LOINC code in {obs}");
    loinc[0].clone()
}

fn observations_with<'a>(bundle: &'a Value, loinc: &str) -> Vec<&'a Value> {
    resources(bundle)
        .into_iter()
        .filter(|r| r["resourceType"] == "Observation" && loinc_of(r) == loinc)
        .collect()
}

fn assert_ucum(quantity: &Value, code: &str) {
    assert_eq!(quantity["system"], UCUM, "UCUM system in {quantity}");
    assert_eq!(quantity["code"], code, "UCUM code in {quantity}");
    assert!(quantity["value"].is_number(), "numeric value in {quantity}");
}

fn patient_url(bundle: &Value) -> String {
    let entry = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["resource"]["resourceType"] == "Patient")
        .expect("a Patient entry");
    entry["fullUrl"].as_str().unwrap().to_string()
}

#[test]
fn bundle_is_a_collection_with_the_expected_resources() {
    let b = fhir::bundle(&report());
    assert_eq!(b["resourceType"], "Bundle");
    assert_eq!(b["type"], "collection");
    assert_eq!(b["timestamp"], "2026-03-06T07:30:00Z");
    let id = b["id"].as_str().expect("an id");
    assert_eq!(b["identifier"]["system"], "urn:ietf:rfc:3986");
    assert_eq!(b["identifier"]["value"], format!("urn:uuid:{id}"));

    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for r in resources(&b) {
        *kinds
            .entry(r["resourceType"].as_str().unwrap())
            .or_default() += 1;
    }
    // 4 steps + 3 sleep + 3 exercise sessions + 8 pain scores (7 of 9 before, during and two
    // hours after, and one next morning).
    let expected = BTreeMap::from([
        ("CarePlan", 1),
        ("Goal", 1),
        ("Observation", 18),
        ("Patient", 1),
    ]);
    assert_eq!(kinds, expected);
    assert_eq!(observations_with(&b, fhir::LOINC_STEPS).len(), 4);
    assert_eq!(observations_with(&b, fhir::LOINC_SLEEP).len(), 3);
    assert_eq!(observations_with(&b, fhir::LOINC_EXERCISE).len(), 3);
    assert_eq!(observations_with(&b, fhir::LOINC_PAIN).len(), 8);

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
    assert_eq!(ids.len(), 21, "fullUrls are unique");

    let patient = &resources(&b)[0];
    assert_eq!(patient["resourceType"], "Patient");
    assert_eq!(patient["name"][0]["text"], "Ada Example");
    assert_eq!(patient["identifier"][0]["system"], "urn:stepwise:patient");
    assert_eq!(patient["identifier"][0]["value"], "42");
}

#[test]
fn observations_carry_loinc_codes_and_ucum_units() {
    let b = fhir::bundle(&report());
    for obs in resources(&b)
        .into_iter()
        .filter(|r| r["resourceType"] == "Observation")
    {
        assert_eq!(obs["status"], "final");
        assert_eq!(
            obs["category"][0]["coding"][0]["system"],
            OBSERVATION_CATEGORY
        );
        match loinc_of(obs).as_str() {
            fhir::LOINC_STEPS => {
                assert_ucum(&obs["valueQuantity"], "/d");
                assert_eq!(obs["category"][0]["coding"][0]["code"], "activity");
                assert!(obs["effectivePeriod"]["start"].is_string());
            }
            fhir::LOINC_SLEEP => {
                assert_ucum(&obs["valueQuantity"], "min");
                assert!(obs["valueQuantity"]["value"].as_i64().unwrap() > 0);
            }
            fhir::LOINC_EXERCISE => {
                assert_eq!(obs["category"][0]["coding"][0]["code"], "activity");
                let component = &obs["component"][0];
                assert_eq!(
                    codes(&component["code"], LOINC),
                    [fhir::LOINC_EXERCISE_DURATION]
                );
                assert_ucum(&component["valueQuantity"], "min");
                assert!(obs["effectivePeriod"]["start"].is_string());
                assert!(obs["effectivePeriod"]["end"].is_string());
            }
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

    let sessions = observations_with(&b, fhir::LOINC_EXERCISE);
    assert_eq!(sessions[0]["component"][0]["valueQuantity"]["value"], 11);
    assert_eq!(sessions[1]["component"][0]["valueQuantity"]["value"], 10.83);
}

#[test]
fn references_resolve_within_the_bundle() {
    let b = fhir::bundle(&report());
    let patient = patient_url(&b);
    let by_url: BTreeMap<&str, &Value> = b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["fullUrl"].as_str().unwrap(), &e["resource"]))
        .collect();

    for r in resources(&b) {
        if r["resourceType"] != "Patient" {
            assert_eq!(
                r["subject"]["reference"],
                patient.as_str(),
                "subject of {r}"
            );
        }
    }

    let mut members_seen = 0;
    for session in observations_with(&b, fhir::LOINC_EXERCISE) {
        for member in session["hasMember"].as_array().expect("hasMember") {
            let target = by_url[member["reference"].as_str().unwrap()];
            assert_eq!(loinc_of(target), fhir::LOINC_PAIN);
            members_seen += 1;
        }
    }
    assert_eq!(members_seen, 8, "every pain score belongs to its walk");

    let plan = resources(&b)
        .into_iter()
        .find(|r| r["resourceType"] == "CarePlan")
        .unwrap();
    assert_eq!(plan["status"], "active");
    assert_eq!(plan["intent"], "plan");
    assert_eq!(plan["title"], "Walking programme");
    let detail = &plan["activity"][0]["detail"];
    assert_eq!(
        detail["scheduledString"],
        "2 bouts of 330 s, 120 s rest, 5 sessions a week"
    );
    assert_eq!(detail["status"], "in-progress");
    let goal = by_url[plan["goal"][0]["reference"].as_str().unwrap()];
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

    let out = validate("valid", &[full, edge]);
    assert!(
        out.status.success(),
        "the validator rejected the bundle:\n{}",
        text(&out)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.lines().any(|l| l == "fhir: 2 passed, 0 failed"),
        "{}",
        text(&out)
    );
}

/// The first pain Observation of a bundle, to break.
fn first_pain(bundle: &mut Value) -> &mut Value {
    bundle["entry"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .map(|e| &mut e["resource"])
        .find(|r| r["code"]["coding"][0]["code"] == fhir::LOINC_PAIN)
        .unwrap()
}

#[test]
fn the_validator_rejects_broken_bundles() {
    type Break = fn(&mut Value);
    let breaks: [(&str, &str, Break); 7] = [
        ("no-status", "status\n  field required", |b| {
            first_pain(b).as_object_mut().unwrap().remove("status");
        }),
        ("bad-quantity", "valueQuantity -> value", |b| {
            b["entry"][3]["resource"]["valueQuantity"]["value"] = json!("many");
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
