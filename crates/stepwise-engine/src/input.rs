//! The JSON form of a review, as `stepwise engine review` reads it. Parsing is strict: unknown
//! fields are errors (a typo such as `pain_after2h` must not silently become "not reported"),
//! and every error names the field and what is allowed.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::decision::{Decision, Review};
use crate::evidence::WeekEvidence;
use crate::review::review;
use crate::rules::{Field, InvalidField, PLAN_FIELDS, Plan, RULE_FIELDS, Rules, SCORE};

/// Everything one weekly review needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewInput {
    /// The patient's rules; missing fields take their defaults.
    #[serde(default)]
    pub rules: Rules,
    /// The plan in force during the week.
    pub plan: Plan,
    /// The week's sessions.
    pub week: WeekEvidence,
    /// Earlier weekly decisions, oldest first.
    #[serde(default)]
    pub history: Vec<Decision>,
}

impl ReviewInput {
    /// Parses and validates a JSON review input.
    pub fn from_json(text: &str) -> Result<ReviewInput, InputError> {
        // serde would also read a struct from a positional array; the contract says object.
        let first = text.trim_start().chars().next();
        if first.is_some() && first != Some('{') {
            return Err(InputError::Malformed {
                field: ".".to_string(),
                message: "expected a JSON object".to_string(),
                allowed: Some("one JSON object with rules, plan, week and history".into()),
            });
        }
        let mut de = serde_json::Deserializer::from_str(text);
        let input: ReviewInput = serde_path_to_error::deserialize(&mut de).map_err(|err| {
            let field = match err.path().to_string() {
                path if path == "?" || path.is_empty() => ".".to_string(),
                path => path,
            };
            let message = err.into_inner().to_string();
            InputError::Malformed {
                allowed: allowed_for(&field, &message),
                field,
                message,
            }
        })?;
        de.end().map_err(|err| InputError::Malformed {
            field: ".".to_string(),
            message: err.to_string(),
            allowed: Some("one JSON object".into()),
        })?;
        input.validate()?;
        Ok(input)
    }

    /// Checks every field's range.
    pub fn validate(&self) -> Result<(), InvalidField> {
        self.rules.validate()?;
        self.plan.validate(&self.rules)?;
        self.week.validate()
    }

    /// Runs the weekly review on this input.
    pub fn review(&self) -> Result<Review, InvalidField> {
        review(&self.rules, &self.plan, &self.week, &self.history)
    }
}

/// Why a review input was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputError {
    /// Not valid JSON, a wrong type, a missing or unknown field.
    Malformed {
        /// Path of the field, e.g. `week.sessions[0].pain_before` (`.` for the whole input).
        field: String,
        /// What the parser found wrong.
        message: String,
        /// What the field accepts, where the parser's message does not already say.
        allowed: Option<String>,
    },
    /// A value outside its allowed range.
    OutOfRange(InvalidField),
}

impl InputError {
    /// Path of the offending field.
    pub fn field(&self) -> &str {
        match self {
            InputError::Malformed { field, .. } => field,
            InputError::OutOfRange(err) => &err.field,
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Malformed {
                field,
                message,
                allowed,
            } => {
                write!(f, "{field}: {message}")?;
                match allowed {
                    Some(allowed) => write!(f, " (allowed: {allowed})"),
                    None => Ok(()),
                }
            }
            InputError::OutOfRange(err) => err.fmt(f),
        }
    }
}

impl std::error::Error for InputError {}

impl From<InvalidField> for InputError {
    fn from(err: InvalidField) -> Self {
        InputError::OutOfRange(err)
    }
}

/// What a field accepts, for parse errors (range errors carry their own range). Unknown
/// fields get `None`: the parser's message already lists the expected ones.
fn allowed_for(path: &str, message: &str) -> Option<String> {
    if message.starts_with("unknown field") {
        return None;
    }
    let in_session = path.starts_with("week.sessions[");
    let leaf = path.rsplit('.').next().unwrap_or(path);
    let leaf = leaf.split('[').next().unwrap_or(leaf);
    // A rules or plan field: what its table entry allows.
    let described = match path.split_once('.') {
        Some(("rules", _)) => RULE_FIELDS
            .iter()
            .find(|f| f.name == leaf)
            .map(Field::accepts),
        Some(("plan", _)) => PLAN_FIELDS
            .iter()
            .find(|f| f.name == leaf)
            .map(Field::accepts),
        _ => None,
    };
    if described.is_some() {
        return described;
    }
    let score = format!("integer {}..={}", SCORE.start(), SCORE.end());
    Some(match leaf {
        "pain_before" | "pain_during_max" | "pain_after_2h" | "pain_next_morning" | "effort"
            if in_session =>
        {
            format!("{score} or null")
        }
        "pain" => score,
        "flares" => format!(
            "array of flares, each {{\"day\": \"YYYY-MM-DD\", \"pain\": {}..={}}}",
            SCORE.start(),
            SCORE.end()
        ),
        "verified" => "true, false or null".into(),
        "day" => "a calendar date YYYY-MM-DD".into(),
        "walked_s" => "integer >= 0".into(),
        "history" => "array of \"advance\", \"hold\", \"regress\", \"escalate\"".into(),
        "sessions" => "array of sessions".into(),
        "rules" => "object of rules fields (all optional)".into(),
        "plan" => "object with interval_s and sessions_per_week (bouts and rest_s optional)".into(),
        "week" => "object with sessions (and flares)".into(),
        _ => "one JSON object with rules, plan, week and history".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        ReviewInput::from_json(text).unwrap_err().to_string()
    }

    const PLAN: &str = r#""plan":{"interval_s":600,"sessions_per_week":5}"#;

    #[test]
    fn misspelt_field_is_an_error_naming_it() {
        let text = format!(
            r#"{{{PLAN},"week":{{"sessions":[{{"day":"2026-11-16","walked_s":600,"pain_after2h":3}}]}}}}"#
        );
        let msg = err(&text);
        assert!(
            msg.starts_with("week.sessions[0].pain_after2h: unknown field `pain_after2h`"),
            "{msg}"
        );
    }

    #[test]
    fn fractional_pain_names_field_and_range() {
        let text = format!(
            r#"{{{PLAN},"week":{{"sessions":[{{"day":"2026-11-16","walked_s":600,"pain_before":2.5}}]}}}}"#
        );
        let msg = err(&text);
        assert!(msg.starts_with("week.sessions[0].pain_before: "), "{msg}");
        assert!(msg.ends_with("(allowed: integer 0..=10 or null)"), "{msg}");
    }

    #[test]
    fn out_of_range_pain_names_field_and_range() {
        let text = format!(
            r#"{{{PLAN},"week":{{"sessions":[{{"day":"2026-11-16","walked_s":600,"pain_after_2h":11}}]}}}}"#
        );
        assert_eq!(
            err(&text),
            "week.sessions[0].pain_after_2h = 11 is outside 0..=10"
        );
    }

    #[test]
    fn missing_plan_is_an_error() {
        let msg = err(r#"{"week":{"sessions":[]}}"#);
        assert!(msg.contains("missing field `plan`"), "{msg}");
    }

    #[test]
    fn trailing_garbage_is_an_error() {
        let text = format!(r#"{{{PLAN},"week":{{"sessions":[]}}}} extra"#);
        assert!(err(&text).starts_with(".: trailing characters"));
    }

    #[test]
    fn unknown_history_entry_is_an_error() {
        let text = format!(r#"{{{PLAN},"week":{{"sessions":[]}},"history":["advance","jump"]}}"#);
        let msg = err(&text);
        assert!(
            msg.starts_with("history[1]: unknown variant `jump`"),
            "{msg}"
        );
    }
}
