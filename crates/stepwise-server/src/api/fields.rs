//! The walking plan and the rules: serialized as the engine's types, described by the
//! engine's field tables.

use serde::Serialize;
use serde_json::Value;
use stepwise_engine::rules::{self, Field, Kind, PLAN_FIELDS, RULE_FIELDS};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};

/// The walking plan: every field of the engine's plan table.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(transparent)]
pub struct Plan(pub stepwise_engine::Plan);

/// A patient's rules: every field of the engine's rules table.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct Rules(pub stepwise_engine::Rules);

/// Any subset of the rules' fields (a change to some of them).
pub struct RulesPatch;

/// Any subset of the plan's fields (a change to some of them).
pub struct PlanPatch;

/// A JSON Schema written as JSON (the engine's field tables, a list of names) as utoipa's
/// schema type.
pub fn schema_of(value: Value) -> RefOr<Schema> {
    match serde_json::from_value(value) {
        Ok(schema) => schema,
        Err(err) => panic!("a field table's JSON Schema does not read as a schema: {err}"),
    }
}

/// A string that is one of `names`: the schema of every name list the API writes (reminder
/// kinds, weekdays, report parts), so each list is read from its own definition.
pub fn names_schema<N: serde::Serialize>(names: impl IntoIterator<Item = N>) -> RefOr<Schema> {
    schema_of(names_json(names))
}

/// [`names_schema`] as JSON, for a schema that adds to it (a description).
pub fn names_json<N: serde::Serialize>(names: impl IntoIterator<Item = N>) -> Value {
    let names: Vec<Value> = names
        .into_iter()
        .filter_map(|name| serde_json::to_value(name).ok())
        .collect();
    serde_json::json!({"type": "string", "enum": names})
}

impl PartialSchema for Plan {
    fn schema() -> RefOr<Schema> {
        schema_of(rules::json_schema(PLAN_FIELDS, true))
    }
}
impl ToSchema for Plan {}

impl PartialSchema for Rules {
    fn schema() -> RefOr<Schema> {
        schema_of(rules::json_schema(RULE_FIELDS, true))
    }
}
impl ToSchema for Rules {}

impl PartialSchema for RulesPatch {
    fn schema() -> RefOr<Schema> {
        schema_of(rules::json_schema(RULE_FIELDS, false))
    }
}
impl ToSchema for RulesPatch {}

impl PartialSchema for PlanPatch {
    fn schema() -> RefOr<Schema> {
        schema_of(rules::json_schema(PLAN_FIELDS, false))
    }
}
impl ToSchema for PlanPatch {}

/// Every field of `fields` at its default, as JSON: the OpenAPI document's examples of bodies
/// that carry rules or a plan, so a new field is in them (and in the bad-input catalogue,
/// which spoils every field of every example) as soon as it is in its table.
pub fn defaults_example<T>(fields: &[Field<T>]) -> Value {
    fields
        .iter()
        .map(|field| {
            let value = match FieldDescription::from(field).default {
                FieldValue::Integer(value) => Value::from(value),
                FieldValue::Boolean(value) => Value::from(value),
            };
            (field.name.to_string(), value)
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Every rules field at its default.
pub fn rules_example() -> Value {
    defaults_example(RULE_FIELDS)
}

/// Every plan field at its default.
pub fn plan_example() -> Value {
    defaults_example(PLAN_FIELDS)
}

/// Every field of the rules and of the plan, in the order they are checked and shown
/// (`GET /api/v1/rules/schema`): the care team's forms are built from it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldTables {
    /// The rules' fields (`stepwise_engine::rules::RULE_FIELDS`).
    pub rules: Vec<FieldDescription>,
    /// The plan's fields (`stepwise_engine::rules::PLAN_FIELDS`).
    pub plan: Vec<FieldDescription>,
}

impl FieldTables {
    /// The engine's two tables.
    pub fn of_engine() -> FieldTables {
        FieldTables {
            rules: RULE_FIELDS.iter().map(FieldDescription::from).collect(),
            plan: PLAN_FIELDS.iter().map(FieldDescription::from).collect(),
        }
    }
}

/// One field of a table.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldDescription {
    /// The field's JSON name.
    pub name: &'static str,
    /// Its JSON type.
    #[serde(rename = "type")]
    pub kind: FieldKind,
    /// A short label a therapist can read.
    pub label: &'static str,
    /// What the value does, in a sentence (may be empty).
    pub help: &'static str,
    /// Shown beside the value: %, /10, points, a week, seconds or empty.
    pub unit: &'static str,
    /// The value a new clinic starts with.
    pub default: FieldValue,
    /// Integers: the smallest value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum: Option<i64>,
    /// Integers: the largest value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum: Option<i64>,
    /// Integers: a rules field the value may not be below, e.g. `rules.min_interval_s`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_least: Option<String>,
    /// Integers: a rules field the value may not be above.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_most: Option<String>,
    /// The review contract version that introduced the field.
    pub since_version: u8,
}

/// A field's JSON type.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    /// A whole number within the field's range.
    Integer,
    /// `true` or `false`.
    Boolean,
}

/// A field's value: a number or a yes/no.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(untagged)]
pub enum FieldValue {
    /// An integer field's value.
    Integer(i64),
    /// A boolean field's value.
    Boolean(bool),
}

impl<T> From<&Field<T>> for FieldDescription {
    fn from(field: &Field<T>) -> Self {
        let rules_field = |name: Option<&str>| name.map(|name| format!("rules.{name}"));
        let (kind, default, minimum, maximum, at_least, at_most) = match field.kind {
            Kind::Integer {
                min,
                max,
                at_least,
                at_most,
            } => (
                FieldKind::Integer,
                FieldValue::Integer(field.default),
                Some(min),
                Some(max),
                rules_field(at_least),
                rules_field(at_most),
            ),
            Kind::Boolean => (
                FieldKind::Boolean,
                FieldValue::Boolean(field.default != 0),
                None,
                None,
                None,
                None,
            ),
        };
        FieldDescription {
            name: field.name,
            kind,
            label: field.label,
            help: field.help,
            unit: field.unit,
            default,
            minimum,
            maximum,
            at_least,
            at_most,
            since_version: field.since_version,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The API's plan and rules serialize as the engine's do, with the schema of its tables.
    #[test]
    fn plan_and_rules_have_the_field_tables_schemas() {
        let plan = serde_json::to_value(Plan(stepwise_engine::Plan::default())).unwrap();
        let schema = serde_json::to_value(Plan::schema()).unwrap();
        for field in PLAN_FIELDS {
            assert!(plan.get(field.name).is_some(), "{}", field.name);
            assert_eq!(
                schema["properties"][field.name]["type"], "integer",
                "{}",
                field.name
            );
        }
        let rules = serde_json::to_value(Rules(stepwise_engine::Rules::default())).unwrap();
        let schema = serde_json::to_value(Rules::schema()).unwrap();
        assert_eq!(
            schema["required"].as_array().unwrap().len(),
            RULE_FIELDS.len()
        );
        for field in RULE_FIELDS {
            assert!(rules.get(field.name).is_some(), "{}", field.name);
        }
        let patch = serde_json::to_value(RulesPatch::schema()).unwrap();
        assert!(patch.get("required").is_none());
        assert_eq!(patch["additionalProperties"], false);
    }

    #[test]
    fn the_schema_lists_every_field_with_its_range() {
        let schema = serde_json::to_value(FieldTables::of_engine()).unwrap();
        let rules = schema["rules"].as_array().unwrap();
        assert_eq!(rules.len(), RULE_FIELDS.len());
        let ceiling = rules
            .iter()
            .find(|f| f["name"] == "max_interval_s")
            .unwrap();
        assert_eq!(ceiling["minimum"], 1);
        assert_eq!(ceiling["maximum"], 14400);
        assert_eq!(ceiling["at_least"], "rules.min_interval_s");
        let verified = rules
            .iter()
            .find(|f| f["name"] == "require_verified")
            .unwrap();
        assert_eq!(verified["type"], "boolean");
        assert_eq!(verified["default"], false);
        assert_eq!(schema["plan"][0]["at_most"], "rules.max_interval_s");
    }
}
