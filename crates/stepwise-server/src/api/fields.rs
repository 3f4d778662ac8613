//! The walking plan and the rules: serialized as the engine's types, described by the
//! engine's field tables.

use serde::Serialize;
use serde_json::Value;
use stepwise_engine::rules::{self, PLAN_FIELDS, RULE_FIELDS};
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
}
