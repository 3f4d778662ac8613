//! `stepwise engine …`: replay the weekly decision from a JSON file.

use std::io::{Read, Write};
use std::process::ExitCode;

use clap::Subcommand;
use stepwise_engine::ReviewInput;

/// Exit code for input the engine refuses (the contract's "invalid input").
const EXIT_INVALID: u8 = 2;

#[derive(Subcommand)]
pub enum EngineCommand {
    /// Make one weekly progression decision: JSON in on stdin, JSON out on stdout.
    ///
    /// The same function the server runs every week decides here, so any stored decision can
    /// be replayed.
    ///
    /// INPUT (one JSON object on stdin):
    ///
    ///   {
    ///     "rules":   { "increase_pct": 10, "regress_pct": 20, "pain_during_max": 5,
    ///                  "pain_after_2h_max": 5, "pain_after_2h_rise_max": 2,
    ///                  "min_sessions": 3, "regress_after_breaches": 2, "escalate_pain": 8,
    ///                  "min_interval_s": 60, "max_interval_s": 3600,
    ///                  "require_verified": false,
    ///                  "pain_next_morning_rise_max": 2, "require_next_morning": false,
    ///                  "effort_max": 10 },
    ///     "plan":    { "interval_s": 600, "sessions_per_week": 5 },
    ///     "week":    { "sessions": [ { "day": "2026-11-16", "walked_s": 1200,
    ///                  "pain_before": 2, "pain_during_max": 4, "pain_after_2h": 3,
    ///                  "pain_next_morning": 2, "effort": 5, "verified": true } ],
    ///                  "flares": [ { "day": "2026-11-18", "pain": 6 } ] },
    ///     "history": ["advance", "hold"]
    ///   }
    ///
    /// Every rules field is optional (the defaults are shown). Pain and effort are 0–10 or
    /// null (not reported); "verified" is true, false or null (no band data); "history" lists
    /// earlier decisions, oldest first. Unknown fields are errors.
    ///
    /// Contract version 2 added "pain_next_morning" (pain on waking the morning after),
    /// "flares" (each one a breach), and the rules "pain_next_morning_rise_max",
    /// "require_next_morning" and "effort_max". All are optional; an input without them is
    /// decided exactly as under version 1. Stepwise adds the rule "pain_next_morning_max"
    /// (0..=10, default 10, which never breaches). Every rule's range, default and meaning:
    /// docs/engine-review.md, or GET /api/v1/rules/schema on a server.
    ///
    /// OUTPUT (one JSON object on stdout, exit 0):
    ///
    ///   { "decision": "advance", "interval_s": 660, "previous_interval_s": 600,
    ///     "change_pct": 10.0,
    ///     "reasons": [ { "code": "within_limits", "message": "…" } ] }
    ///
    /// "decision" is escalate, regress, hold or advance (the first that applies wins);
    /// "reasons" lists every condition that applied, each with a stable code: within_limits,
    /// pain_after_2h_over_max, pain_after_2h_rise_over_max, pain_during_over_max,
    /// missing_pain_after_2h, too_few_sessions, unverified_sessions, at_max_interval,
    /// repeated_breaches, red_flag_pain, repeated_regress; version 2 adds
    /// pain_next_morning_rise_over_max, missing_pain_next_morning, flare_reported,
    /// effort_over_max.
    ///
    /// INVALID INPUT: exit 2, nothing on stdout, one line on stderr naming the field and
    /// what it allows, e.g. `rules.increase_pct = 25 is outside 10..=20`.
    #[command(verbatim_doc_comment)]
    Review,
}

pub fn run(cmd: EngineCommand) -> ExitCode {
    match cmd {
        EngineCommand::Review => review(),
    }
}

fn review() -> ExitCode {
    let mut text = String::new();
    if let Err(err) = std::io::stdin().read_to_string(&mut text) {
        return invalid(&format!("standard input: {err}"));
    }
    let review = match ReviewInput::from_json(&text).and_then(|input| Ok(input.review()?)) {
        Ok(review) => review,
        Err(err) => return invalid(&err.to_string()),
    };
    let json = serde_json::to_string_pretty(&review).expect("a review always serialises");
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{json}").and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("standard output: {err}");
            ExitCode::FAILURE
        }
    }
}

fn invalid(message: &str) -> ExitCode {
    // One line, whatever the parser said.
    eprintln!("{}", message.replace('\n', " "));
    ExitCode::from(EXIT_INVALID)
}
