//! Progression rules (set per patient by the therapist) and the walking plan.
//!
//! Every field of both is described once, in [`RULE_FIELDS`] and [`PLAN_FIELDS`]: its name,
//! range, unit, default and a label a therapist can read. Validation walks those tables, the
//! server serves them (`GET /api/v1/rules/schema`), the OpenAPI document's schemas and the
//! web forms are built from them. Validation names the offending field and what is allowed,
//! in the form `rules.increase_pct = 25 is outside 10..=20`.
//!
//! Adding a rule: a field on [`Rules`] (and its zero in `Rules::default`), an entry in
//! [`RULE_FIELDS`], and the code that uses the value.

use std::fmt;
use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The therapist's progression rules for one patient.
///
/// Every field has a default (from [`RULE_FIELDS`]: the values of the review contract); a JSON
/// object may omit any of them. Fields are plain integers so that out-of-range input can be
/// reported precisely by [`Rules::validate`] instead of failing to parse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rules {
    /// Weekly raise of the interval, in percent, when the week is clean.
    pub increase_pct: i64,
    /// Step back, in percent, after repeated breaches.
    pub regress_pct: i64,
    /// Highest acceptable pain during the walk, NRS 0–10.
    pub pain_during_max: i64,
    /// Highest acceptable pain two hours after the walk, NRS 0–10.
    pub pain_after_2h_max: i64,
    /// How far pain two hours after may exceed pain before (0 = the strict two-hour rule).
    pub pain_after_2h_rise_max: i64,
    /// Sessions a week needed before an advance.
    pub min_sessions: i64,
    /// Breached sessions in a week that trigger a regress.
    pub regress_after_breaches: i64,
    /// Any reported pain at or above this asks for a therapist.
    pub escalate_pain: i64,
    /// Floor of the walking interval, seconds.
    pub min_interval_s: i64,
    /// Ceiling of the walking interval, seconds (at least the floor).
    pub max_interval_s: i64,
    /// Only wearable-verified sessions count toward `min_sessions`.
    pub require_verified: bool,
    /// How far pain the next morning may exceed pain before the walk (the 24-hour response of
    /// the pain-monitoring model), NRS points. Contract version 2.
    pub pain_next_morning_rise_max: i64,
    /// Highest acceptable pain the next morning, NRS 0–10 (10, the default, never breaches).
    pub pain_next_morning_max: i64,
    /// A session without a next-morning answer cannot count as tolerated. Contract version 2.
    pub require_next_morning: bool,
    /// Highest effort (Borg CR10) at which the interval may still rise. Contract version 2.
    pub effort_max: i64,
}

impl Default for Rules {
    /// The defaults of [`RULE_FIELDS`].
    fn default() -> Self {
        let mut rules = Rules {
            increase_pct: 0,
            regress_pct: 0,
            pain_during_max: 0,
            pain_after_2h_max: 0,
            pain_after_2h_rise_max: 0,
            min_sessions: 0,
            regress_after_breaches: 0,
            escalate_pain: 0,
            min_interval_s: 0,
            max_interval_s: 0,
            require_verified: false,
            pain_next_morning_rise_max: 0,
            pain_next_morning_max: 0,
            require_next_morning: false,
            effort_max: 0,
        };
        for field in RULE_FIELDS {
            (field.set)(&mut rules, field.default);
        }
        rules
    }
}

/// Allowed range of any pain or effort score (NRS 0–10, Borg CR10).
pub const SCORE: RangeInclusive<i64> = 0..=10;

/// Units as the forms show them (`seconds` fields are entered in minutes there).
mod unit {
    pub const PERCENT: &str = "%";
    pub const SCORE: &str = "/10";
    pub const POINTS: &str = "points";
    pub const PER_WEEK: &str = "a week";
    pub const SECONDS: &str = "seconds";
    pub const NONE: &str = "";
}

/// What a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An integer from `min` to `max`, narrowed by the rules' own fields where `at_least` or
    /// `at_most` name one (the interval ceiling is at least its floor; the plan's interval lies
    /// between the two).
    Integer {
        /// Smallest value.
        min: i64,
        /// Largest value.
        max: i64,
        /// A field of [`Rules`] the value may not be below.
        at_least: Option<&'static str>,
        /// A field of [`Rules`] the value may not be above.
        at_most: Option<&'static str>,
    },
    /// `true` or `false` (held as 1 or 0 by the table's accessors).
    Boolean,
}

/// One field of [`Rules`] (`T = Rules`) or of [`Plan`] (`T = Plan`).
pub struct Field<T: 'static> {
    /// The field's JSON name.
    pub name: &'static str,
    /// A short label a therapist can read.
    pub label: &'static str,
    /// What the value does, in a sentence (may be empty).
    pub help: &'static str,
    /// The unit shown beside the value.
    pub unit: &'static str,
    /// The value's kind and range.
    pub kind: Kind,
    /// The default (booleans as 0 or 1).
    pub default: i64,
    /// The contract version that introduced the field (1 or 2).
    pub since_version: u8,
    /// Reads the field (booleans as 0 or 1).
    pub get: fn(&T) -> i64,
    /// Writes the field (booleans from 0 or non-zero).
    pub set: fn(&mut T, i64),
}

impl<T> fmt::Debug for Field<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Field")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("default", &self.default)
            .finish_non_exhaustive()
    }
}

impl<T> Field<T> {
    /// The allowed range of an integer field given the rules in force (`None` for booleans).
    pub fn allowed(&self, rules: &Rules) -> Option<RangeInclusive<i64>> {
        let Kind::Integer {
            min,
            max,
            at_least,
            at_most,
        } = self.kind
        else {
            return None;
        };
        let low = at_least.map_or(min, |name| rule_value(rules, name).max(min));
        let high = at_most.map_or(max, |name| rule_value(rules, name).min(max));
        Some(low..=high)
    }

    /// What the field accepts, in words for an error: `integer 10..=20`, `true or false`.
    pub fn accepts(&self) -> String {
        match self.kind {
            Kind::Integer { min, max, .. } => format!("integer {min}..={max}"),
            Kind::Boolean => "true or false".to_string(),
        }
    }

    /// The allowed range whatever the rules (the table's own bounds).
    pub fn widest(&self) -> Option<RangeInclusive<i64>> {
        match self.kind {
            Kind::Integer { min, max, .. } => Some(min..=max),
            Kind::Boolean => None,
        }
    }

    /// The field as a JSON Schema property (for the OpenAPI document).
    pub fn json_schema(&self) -> Value {
        let mut description = self.label.to_string();
        if !self.help.is_empty() {
            description = format!("{description}: {}", self.help);
        }
        match self.kind {
            Kind::Integer {
                min,
                max,
                at_least,
                at_most,
            } => {
                if !self.unit.is_empty() {
                    description = format!("{description} ({})", self.unit);
                }
                if let Some(name) = at_least {
                    description = format!("{description}; at least rules.{name}");
                }
                if let Some(name) = at_most {
                    description = format!("{description}; at most rules.{name}");
                }
                json!({
                    "type": "integer",
                    "minimum": min,
                    "maximum": max,
                    "default": self.default,
                    "description": description,
                })
            }
            Kind::Boolean => json!({
                "type": "boolean",
                "default": self.default != 0,
                "description": description,
            }),
        }
    }
}

/// The value of the rules' field `name` (a name from [`RULE_FIELDS`]).
fn rule_value(rules: &Rules, name: &str) -> i64 {
    (field_named(RULE_FIELDS, name).get)(rules)
}

/// The field `name` of a table: a name the code writes itself, so a missing one is a bug.
fn field_named<T>(fields: &'static [Field<T>], name: &str) -> &'static Field<T> {
    match fields.iter().find(|field| field.name == name) {
        Some(field) => field,
        None => unreachable!("{name} is not in its field table"),
    }
}

/// The version of the weekly-review contract (`docs/engine-review.md`) this engine implements:
/// the newest version that introduced a rule or plan field (version 2 added the next morning,
/// flares and effort). Exports name it as the rules version a decision was made under.
pub const CONTRACT_VERSION: u8 = newest_version();

/// The highest `since_version` of the rule and plan tables.
const fn newest_version() -> u8 {
    let mut newest = 1;
    let mut i = 0;
    while i < RULE_FIELDS.len() {
        if RULE_FIELDS[i].since_version > newest {
            newest = RULE_FIELDS[i].since_version;
        }
        i += 1;
    }
    let mut i = 0;
    while i < PLAN_FIELDS.len() {
        if PLAN_FIELDS[i].since_version > newest {
            newest = PLAN_FIELDS[i].since_version;
        }
        i += 1;
    }
    newest
}

/// The rules' fields, in the order they are checked and shown.
pub const RULE_FIELDS: &[Field<Rules>] = &[
    Field {
        name: "increase_pct",
        label: "Weekly increase",
        help: "How much longer the walk gets after a clean week.",
        unit: unit::PERCENT,
        kind: int(10, 20),
        default: 10,
        since_version: 1,
        get: |r| r.increase_pct,
        set: |r, v| r.increase_pct = v,
    },
    Field {
        name: "regress_pct",
        label: "Step back",
        help: "How much shorter the walk gets after repeated breaches.",
        unit: unit::PERCENT,
        kind: int(5, 50),
        default: 20,
        since_version: 1,
        get: |r| r.regress_pct,
        set: |r, v| r.regress_pct = v,
    },
    Field {
        name: "pain_during_max",
        label: "Highest pain during the walk",
        help: "Pain above this during a walk is a breach.",
        unit: unit::SCORE,
        kind: score(),
        default: 5,
        since_version: 1,
        get: |r| r.pain_during_max,
        set: |r, v| r.pain_during_max = v,
    },
    Field {
        name: "pain_after_2h_max",
        label: "Highest pain two hours after",
        help: "Pain above this two hours after a walk is a breach.",
        unit: unit::SCORE,
        kind: score(),
        default: 5,
        since_version: 1,
        get: |r| r.pain_after_2h_max,
        set: |r, v| r.pain_after_2h_max = v,
    },
    Field {
        name: "pain_after_2h_rise_max",
        label: "Allowed rise two hours after",
        help: "How far pain two hours after may exceed pain before (0 = strict two-hour rule).",
        unit: unit::POINTS,
        kind: score(),
        default: 2,
        since_version: 1,
        get: |r| r.pain_after_2h_rise_max,
        set: |r, v| r.pain_after_2h_rise_max = v,
    },
    Field {
        name: "min_sessions",
        label: "Sessions needed to advance",
        help: "Counted sessions in a week before the walk may get longer.",
        unit: unit::PER_WEEK,
        kind: sessions_per_week(),
        default: 3,
        since_version: 1,
        get: |r| r.min_sessions,
        set: |r, v| r.min_sessions = v,
    },
    Field {
        name: "regress_after_breaches",
        label: "Breaches before stepping back",
        help: "Breached sessions in a week that make the walk shorter.",
        unit: unit::PER_WEEK,
        kind: sessions_per_week(),
        default: 2,
        since_version: 1,
        get: |r| r.regress_after_breaches,
        set: |r, v| r.regress_after_breaches = v,
    },
    Field {
        name: "escalate_pain",
        label: "Red-flag pain",
        help: "Any pain at or above this asks for a therapist and pauses changes.",
        unit: unit::SCORE,
        kind: int(1, 10),
        default: 8,
        since_version: 1,
        get: |r| r.escalate_pain,
        set: |r, v| r.escalate_pain = v,
    },
    Field {
        name: "pain_next_morning_rise_max",
        label: "Allowed rise the next morning",
        help: "How far pain the morning after may exceed pain before the walk (the 24-hour \
               response).",
        unit: unit::POINTS,
        kind: score(),
        default: 2,
        since_version: 2,
        get: |r| r.pain_next_morning_rise_max,
        set: |r, v| r.pain_next_morning_rise_max = v,
    },
    Field {
        name: "pain_next_morning_max",
        label: "Highest pain the next morning",
        help: "Pain above this the morning after a walk is a breach (10 = only the rise counts).",
        unit: unit::SCORE,
        kind: score(),
        default: 10,
        since_version: 2,
        get: |r| r.pain_next_morning_max,
        set: |r, v| r.pain_next_morning_max = v,
    },
    Field {
        name: "effort_max",
        label: "Highest effort to advance",
        help: "A week with a walk rated harder than this (Borg CR10) keeps the walk as it is \
               (10 = effort is not used).",
        unit: unit::SCORE,
        kind: score(),
        default: 10,
        since_version: 2,
        get: |r| r.effort_max,
        set: |r, v| r.effort_max = v,
    },
    Field {
        name: "min_interval_s",
        label: "Shortest walk",
        help: "The walk never gets shorter than this.",
        unit: unit::SECONDS,
        kind: interval(None, None),
        default: 60,
        since_version: 1,
        get: |r| r.min_interval_s,
        set: |r, v| r.min_interval_s = v,
    },
    Field {
        name: "max_interval_s",
        label: "Longest walk",
        help: "The walk never gets longer than this (at least the shortest walk).",
        unit: unit::SECONDS,
        kind: interval(Some("min_interval_s"), None),
        default: 3600,
        since_version: 1,
        get: |r| r.max_interval_s,
        set: |r, v| r.max_interval_s = v,
    },
    Field {
        name: "require_verified",
        label: "Only band-verified walks count toward the sessions needed",
        help: "Walks the band did not see still count as walked, not toward an advance.",
        unit: unit::NONE,
        kind: Kind::Boolean,
        default: 0,
        since_version: 1,
        get: |r| i64::from(r.require_verified),
        set: |r, v| r.require_verified = v != 0,
    },
    Field {
        name: "require_next_morning",
        label: "A walk needs its next-morning answer before the walk may get longer",
        help: "A walk without a next-morning pain answer cannot count as tolerated.",
        unit: unit::NONE,
        kind: Kind::Boolean,
        default: 0,
        since_version: 2,
        get: |r| i64::from(r.require_next_morning),
        set: |r, v| r.require_next_morning = v != 0,
    },
];

/// An integer field from `min` to `max`.
const fn int(min: i64, max: i64) -> Kind {
    Kind::Integer {
        min,
        max,
        at_least: None,
        at_most: None,
    }
}

/// A pain or effort score, or a rise in one.
const fn score() -> Kind {
    int(*SCORE.start(), *SCORE.end())
}

/// Sessions in a week.
const fn sessions_per_week() -> Kind {
    int(1, 14)
}

/// A walking interval, seconds: four hours at most.
const fn interval(at_least: Option<&'static str>, at_most: Option<&'static str>) -> Kind {
    Kind::Integer {
        min: 1,
        max: 14_400,
        at_least,
        at_most,
    }
}

impl Rules {
    /// Checks every field against its allowed range; the first offending field (in the order
    /// of [`RULE_FIELDS`]) is reported.
    pub fn validate(&self) -> Result<(), InvalidField> {
        check_fields("rules.", RULE_FIELDS, self, self)
    }

    /// The red-flag test: the highest of `pains` that is at or above [`Rules::escalate_pain`],
    /// if any. One function for the weekly review and for the server's immediate check when a
    /// patient logs a walk, answers a check or reports a flare.
    pub fn red_flag(&self, pains: impl IntoIterator<Item = i64>) -> Option<i64> {
        pains.into_iter().filter(|&p| p >= self.escalate_pain).max()
    }

    /// The interval range these rules allow, `min_interval_s..=max_interval_s`.
    pub fn interval_range(&self) -> RangeInclusive<i64> {
        self.min_interval_s..=self.max_interval_s
    }
}

/// Checks each integer field of `record` against its range under `rules`, naming fields
/// `{prefix}{name}`.
fn check_fields<T>(
    prefix: &str,
    fields: &[Field<T>],
    record: &T,
    rules: &Rules,
) -> Result<(), InvalidField> {
    for field in fields {
        if let Some(allowed) = field.allowed(rules) {
            check(
                format_args!("{prefix}{}", field.name),
                (field.get)(record),
                allowed,
            )?;
        }
    }
    Ok(())
}

/// The walking plan in force: one bout's length, how many bouts with what rest between them,
/// and how many sessions a week. The weekly review reads the interval and the sessions; the
/// patient's timer uses all four.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Current walking interval (one bout), seconds; within the rules' floor and ceiling.
    pub interval_s: i64,
    /// Bouts a session (the review's input may leave it out: the default).
    #[serde(default = "Plan::default_bouts")]
    pub bouts: i64,
    /// Rest between bouts, seconds (the review's input may leave it out: the default).
    #[serde(default = "Plan::default_rest_s")]
    pub rest_s: i64,
    /// Prescribed sessions a week.
    pub sessions_per_week: i64,
}

impl Default for Plan {
    /// The defaults of [`PLAN_FIELDS`].
    fn default() -> Self {
        let mut plan = Plan {
            interval_s: 0,
            bouts: 0,
            rest_s: 0,
            sessions_per_week: 0,
        };
        for field in PLAN_FIELDS {
            (field.set)(&mut plan, field.default);
        }
        plan
    }
}

/// The plan's fields, in the order they are checked and shown.
pub const PLAN_FIELDS: &[Field<Plan>] = &[
    Field {
        name: "interval_s",
        label: "Walk length (one bout)",
        help: "Within the shortest and longest walk of the rules.",
        unit: unit::SECONDS,
        kind: interval(Some("min_interval_s"), Some("max_interval_s")),
        default: 300,
        since_version: 1,
        get: |p| p.interval_s,
        set: |p, v| p.interval_s = v,
    },
    Field {
        name: "bouts",
        label: "Bouts a session",
        help: "Walks of the interval's length in one session.",
        unit: unit::NONE,
        kind: int(1, 20),
        default: 2,
        since_version: 1,
        get: |p| p.bouts,
        set: |p, v| p.bouts = v,
    },
    Field {
        name: "rest_s",
        label: "Rest between bouts",
        help: "Sitting or standing between two bouts.",
        unit: unit::SECONDS,
        kind: int(0, 3600),
        default: 120,
        since_version: 1,
        get: |p| p.rest_s,
        set: |p, v| p.rest_s = v,
    },
    Field {
        name: "sessions_per_week",
        label: "Sessions a week",
        help: "Walking sessions prescribed each week.",
        unit: unit::NONE,
        kind: sessions_per_week(),
        default: 5,
        since_version: 1,
        get: |p| p.sessions_per_week,
        set: |p, v| p.sessions_per_week = v,
    },
];

impl Plan {
    /// Checks the plan against its own ranges and the rules' interval floor and ceiling,
    /// naming fields `plan.…`.
    pub fn validate(&self, rules: &Rules) -> Result<(), InvalidField> {
        self.validate_as("plan.", rules)
    }

    /// As [`Plan::validate`], naming fields `{prefix}…` (`""` when the plan is the whole body).
    pub fn validate_as(&self, prefix: &str, rules: &Rules) -> Result<(), InvalidField> {
        check_fields(prefix, PLAN_FIELDS, self, rules)
    }

    /// The most bouts a plan may have.
    pub fn max_bouts() -> i64 {
        plan_field("bouts").widest().map_or(1, |range| *range.end())
    }

    fn default_bouts() -> i64 {
        plan_field("bouts").default
    }

    fn default_rest_s() -> i64 {
        plan_field("rest_s").default
    }
}

/// The plan's field `name` (a name from [`PLAN_FIELDS`]).
fn plan_field(name: &str) -> &'static Field<Plan> {
    field_named(PLAN_FIELDS, name)
}

/// A JSON Schema object with `fields` as its properties, every one of them `required` or
/// none (for a partial body).
pub fn json_schema<T>(fields: &[Field<T>], required: bool) -> Value {
    let properties: serde_json::Map<String, Value> = fields
        .iter()
        .map(|field| (field.name.to_string(), field.json_schema()))
        .collect();
    let mut schema = json!({
        "type": "object",
        "additionalProperties": false,
        "properties": properties,
    });
    if required {
        schema["required"] = fields.iter().map(|field| field.name).collect();
    }
    schema
}

/// A field outside its allowed range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} = {value} is outside {}..={}", allowed.start(), allowed.end())]
pub struct InvalidField {
    /// Dotted path of the field, e.g. `rules.increase_pct` or `week.sessions[2].pain_before`.
    pub field: String,
    /// The value given.
    pub value: i64,
    /// The inclusive range allowed.
    pub allowed: RangeInclusive<i64>,
}

impl InvalidField {
    /// The allowed range as text, e.g. `10..=20`.
    pub fn allowed_text(&self) -> String {
        format!("{}..={}", self.allowed.start(), self.allowed.end())
    }
}

/// Checks `value` against `allowed`, naming `field` when it is outside.
pub fn check(
    field: impl fmt::Display,
    value: i64,
    allowed: RangeInclusive<i64>,
) -> Result<(), InvalidField> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(InvalidField {
            field: field.to_string(),
            value,
            allowed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_version_is_the_newest_fields_version() {
        // Version 2 added pain_next_morning_max, require_next_morning and effort_max.
        assert_eq!(CONTRACT_VERSION, 2);
        assert!(
            RULE_FIELDS
                .iter()
                .any(|f| f.since_version == CONTRACT_VERSION)
        );
    }

    #[test]
    fn defaults_are_valid() {
        Rules::default().validate().unwrap();
    }

    #[test]
    fn increase_over_twenty_names_the_field_and_range() {
        let rules = Rules {
            increase_pct: 25,
            ..Rules::default()
        };
        let err = rules.validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "rules.increase_pct = 25 is outside 10..=20"
        );
    }

    #[test]
    fn ceiling_below_floor_is_rejected() {
        let rules = Rules {
            min_interval_s: 600,
            max_interval_s: 300,
            ..Rules::default()
        };
        assert_eq!(
            rules.validate().unwrap_err().to_string(),
            "rules.max_interval_s = 300 is outside 600..=14400"
        );
    }

    #[test]
    fn defaults_come_from_the_tables() {
        let rules = Rules::default();
        for field in RULE_FIELDS {
            assert_eq!((field.get)(&rules), field.default, "{}", field.name);
        }
        assert_eq!(rules.escalate_pain, 8);
        assert!(!rules.require_verified);
        let plan = Plan::default();
        assert_eq!(
            (
                plan.interval_s,
                plan.bouts,
                plan.rest_s,
                plan.sessions_per_week
            ),
            (300, 2, 120, 5)
        );
        plan.validate(&rules).unwrap();
    }

    #[test]
    fn every_field_reads_back_what_it_writes() {
        // A slip in an accessor (a field's `get` reading another field) would go unnoticed
        // by the defaults alone: write a distinct value to each field and read them all.
        let mut rules = Rules::default();
        for (i, field) in RULE_FIELDS.iter().enumerate() {
            let value = if field.kind == Kind::Boolean {
                1
            } else {
                100 + i as i64
            };
            (field.set)(&mut rules, value);
        }
        for (i, field) in RULE_FIELDS.iter().enumerate() {
            let value = if field.kind == Kind::Boolean {
                1
            } else {
                100 + i as i64
            };
            assert_eq!((field.get)(&rules), value, "{}", field.name);
        }
        let json = serde_json::to_value(&rules).unwrap();
        assert_eq!(
            json.as_object().unwrap().len(),
            RULE_FIELDS.len(),
            "every field is in the table"
        );
        let mut plan = Plan::default();
        for (i, field) in PLAN_FIELDS.iter().enumerate() {
            (field.set)(&mut plan, 100 + i as i64);
        }
        for (i, field) in PLAN_FIELDS.iter().enumerate() {
            assert_eq!((field.get)(&plan), 100 + i as i64, "{}", field.name);
        }
        let json = serde_json::to_value(plan).unwrap();
        assert_eq!(json.as_object().unwrap().len(), PLAN_FIELDS.len());
    }

    #[test]
    fn a_plan_names_its_fields_with_the_prefix_given() {
        let plan = Plan {
            rest_s: 3601,
            ..Plan::default()
        };
        assert_eq!(
            plan.validate_as("", &Rules::default())
                .unwrap_err()
                .to_string(),
            "rest_s = 3601 is outside 0..=3600"
        );
        let plan = Plan {
            bouts: 21,
            ..Plan::default()
        };
        assert_eq!(
            plan.validate(&Rules::default()).unwrap_err().to_string(),
            "plan.bouts = 21 is outside 1..=20"
        );
    }

    #[test]
    fn the_review_input_may_leave_out_bouts_and_rest() {
        let plan: Plan =
            serde_json::from_str(r#"{"interval_s": 600, "sessions_per_week": 5}"#).unwrap();
        assert_eq!((plan.bouts, plan.rest_s), (2, 120));
        assert!(serde_json::from_str::<Plan>(r#"{"sessions_per_week": 5}"#).is_err());
    }

    #[test]
    fn plan_outside_rules_interval_is_rejected() {
        let plan = Plan {
            interval_s: 30,
            ..Plan::default()
        };
        assert_eq!(
            plan.validate(&Rules::default()).unwrap_err().to_string(),
            "plan.interval_s = 30 is outside 60..=3600"
        );
    }
}
