//! Runs the built `stepwise engine review` on valid and invalid input files.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/engine")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn review(input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stepwise"))
        .args(["engine", "review"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("stepwise starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Exit 2, nothing on stdout, exactly one line on stderr; returns that line.
fn refused(input: &str) -> String {
    let out = review(input);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty(), "stdout must be empty: {out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "one line on stderr: {stderr:?}");
    stderr.trim_end().to_string()
}

#[test]
fn contract_example_gives_the_contract_decision() {
    let out = review(&fixture("contract-example.json"));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(out.stderr.is_empty());
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let want: serde_json::Value =
        serde_json::from_str(&fixture("contract-example.decision.json")).unwrap();
    assert_eq!(got, want);
}

#[test]
fn defaults_fill_missing_rules() {
    let input = r#"{"plan":{"interval_s":100,"sessions_per_week":3},
        "week":{"sessions":[
          {"day":"2026-11-16","walked_s":300,"pain_before":1,"pain_during_max":2,"pain_after_2h":1},
          {"day":"2026-11-17","walked_s":300,"pain_before":1,"pain_during_max":2,"pain_after_2h":1},
          {"day":"2026-11-18","walked_s":300,"pain_before":1,"pain_during_max":2,"pain_after_2h":1}]}}"#;
    let out = review(input);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["decision"], "advance");
    assert_eq!(got["interval_s"], 110);
}

#[test]
fn out_of_range_rule_names_field_and_range() {
    let input =
        fixture("contract-example.json").replace("\"increase_pct\": 10", "\"increase_pct\": 25");
    assert_eq!(
        refused(&input),
        "rules.increase_pct = 25 is outside 10..=20"
    );
}

#[test]
fn out_of_range_pain_names_the_session() {
    let input =
        fixture("contract-example.json").replace("\"pain_after_2h\": 2", "\"pain_after_2h\": 12");
    assert_eq!(
        refused(&input),
        "week.sessions[1].pain_after_2h = 12 is outside 0..=10"
    );
}

#[test]
fn negative_pain_is_refused() {
    let input =
        fixture("contract-example.json").replace("\"pain_before\": 1", "\"pain_before\": -1");
    assert_eq!(
        refused(&input),
        "week.sessions[3].pain_before = -1 is outside 0..=10"
    );
}

#[test]
fn plan_outside_rules_is_refused() {
    let input =
        fixture("contract-example.json").replace("\"interval_s\": 600", "\"interval_s\": 5000");
    assert_eq!(
        refused(&input),
        "plan.interval_s = 5000 is outside 60..=3600"
    );
}

#[test]
fn misspelt_field_is_refused() {
    let input =
        fixture("contract-example.json").replace("\"pain_after_2h\": 3", "\"pain_after2h\": 3");
    let line = refused(&input);
    assert!(
        line.starts_with("week.sessions[0].pain_after2h: unknown field `pain_after2h`"),
        "{line}"
    );
}

#[test]
fn wrong_type_is_refused_with_what_is_allowed() {
    let input =
        fixture("contract-example.json").replace("\"verified\": null", "\"verified\": \"yes\"");
    let line = refused(&input);
    assert!(
        line.starts_with("week.sessions[2].verified: invalid type"),
        "{line}"
    );
    assert!(line.ends_with("(allowed: true, false or null)"), "{line}");
}

#[test]
fn bad_date_is_refused() {
    let input = fixture("contract-example.json").replace("2026-11-18", "2026-11-31");
    let line = refused(&input);
    assert!(line.starts_with("week.sessions[1].day: "), "{line}");
}

#[test]
fn malformed_and_empty_input_are_refused() {
    assert!(refused("{\"plan\": ").starts_with("plan: EOF while parsing"));
    assert!(refused("").starts_with(".: EOF while parsing"));
    assert!(refused("[]").starts_with(".: expected a JSON object"));
    assert!(refused("{\"plan\": {}} {}").starts_with("plan: missing field"));
}

#[test]
fn help_explains_the_format() {
    let out = Command::new(env!("CARGO_BIN_EXE_stepwise"))
        .args(["engine", "review", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "INPUT",
        "OUTPUT",
        "INVALID INPUT",
        "pain_after_2h",
        "exit 2",
    ] {
        assert!(help.contains(needle), "help lacks {needle}: {help}");
    }
    let top = Command::new(env!("CARGO_BIN_EXE_stepwise"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(String::from_utf8(top.stdout).unwrap().contains("engine"));
}

#[test]
fn version_2_a_flare_holds_and_its_fields_are_strict() {
    let input = r#"{"plan":{"interval_s":600,"sessions_per_week":5},
        "rules":{"require_next_morning":true,"effort_max":6,"pain_next_morning_rise_max":2},
        "week":{"sessions":[
          {"day":"2026-11-16","walked_s":1200,"pain_before":2,"pain_during_max":3,"pain_after_2h":2,"pain_next_morning":2,"effort":4},
          {"day":"2026-11-19","walked_s":1200,"pain_before":2,"pain_during_max":3,"pain_after_2h":2,"pain_next_morning":5,"effort":7},
          {"day":"2026-11-21","walked_s":1200,"pain_before":2,"pain_during_max":3,"pain_after_2h":2,"effort":4}],
          "flares":[{"day":"2026-11-18","pain":6}]}}"#;
    let out = review(input);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes: Vec<&str> = got["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    // A breached session and a flare: two breaches, the default regress_after_breaches.
    assert_eq!(got["decision"], "regress", "{got}");
    assert_eq!(
        codes,
        [
            "repeated_breaches",
            "pain_next_morning_rise_over_max",
            "flare_reported",
            "missing_pain_next_morning",
            "effort_over_max"
        ]
    );
    assert_eq!(
        refused(
            r#"{"plan":{"interval_s":600,"sessions_per_week":5},"week":{"sessions":[],"flares":[{"day":"2026-11-18","pain":3,"severity":1}]}}"#
        ),
        "week.flares[0].severity: unknown field `severity`, expected `day` or `pain` at line 1 column 120"
    );
    assert!(
        refused(
            r#"{"plan":{"interval_s":600,"sessions_per_week":5},"week":{"sessions":[],"flares":[{"day":"2026-11-18","pain":11}]}}"#
        )
        .starts_with("week.flares[0].pain = 11 is outside 0..=10")
    );
}
