//! What the API answers, as types of its own. Handlers turn the store's records into these
//! before they leave the server, so a column added to a record does not reach the API
//! unnoticed, and each type carries its JSON Schema for the generated OpenAPI document
//! ([`crate::handlers::system::Generated`]): the document cannot drift from what is sent.
//!
//! The rules' and the plan's schemas come from the engine's field tables
//! (`stepwise_engine::rules::RULE_FIELDS`, `PLAN_FIELDS`), as their validation does.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::Value;
use stepwise_engine::rules::{self, PLAN_FIELDS, RULE_FIELDS};
use stepwise_store as store;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};

/// A person's role: what they may see and do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Walks, logs, answers checks; sees only their own data.
    Patient,
    /// Sees and adjusts the patients of their clinic assigned to them.
    Therapist,
    /// Runs a clinic: invites staff and patients, sees every patient of the clinic.
    ClinicAdmin,
}

impl From<store::Role> for Role {
    fn from(role: store::Role) -> Self {
        match role {
            store::Role::Patient => Role::Patient,
            store::Role::Therapist => Role::Therapist,
            store::Role::ClinicAdmin => Role::ClinicAdmin,
        }
    }
}

/// A user account (never its password or sessions).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    /// The user's id.
    pub id: i64,
    /// The clinic the user belongs to.
    pub clinic_id: i64,
    /// What the user may do.
    pub role: Role,
    /// Login name, lower-case.
    pub email: String,
    /// Name shown in pages.
    pub display_name: String,
}

impl From<store::User> for User {
    fn from(user: store::User) -> Self {
        User {
            id: user.id,
            clinic_id: user.clinic_id,
            role: user.role.into(),
            email: user.email,
            display_name: user.display_name,
        }
    }
}

/// A patient: a user with a therapist, a time zone and a plan.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Patient {
    /// The patient's user id.
    pub id: i64,
    /// Their clinic.
    pub clinic_id: i64,
    /// The therapist they are assigned to.
    pub therapist_id: i64,
    /// Name shown in pages.
    pub display_name: String,
    /// IANA time zone, e.g. `Europe/Berlin`: weeks and reminders are computed in it.
    pub timezone: String,
    /// The plan in force.
    pub plan: Plan,
    /// An escalation is open: automatic changes wait until a therapist acknowledges it.
    pub frozen: bool,
    /// When the patient joined.
    pub created_at: DateTime<Utc>,
    /// The next clinic visit (a local date), when one is planned.
    pub next_visit: Option<NaiveDate>,
}

impl From<store::Patient> for Patient {
    fn from(patient: store::Patient) -> Self {
        Patient {
            id: patient.id,
            clinic_id: patient.clinic_id,
            therapist_id: patient.therapist_id,
            display_name: patient.display_name,
            timezone: patient.timezone,
            plan: Plan(patient.plan),
            frozen: patient.frozen,
            created_at: patient.created_at,
            next_visit: patient.next_visit,
        }
    }
}

/// A clinic with the rules and plan its new patients start with.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Clinic {
    /// The clinic's id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// The rules every new patient starts with.
    pub default_rules: Rules,
    /// The plan every new patient starts with, until a baseline is set.
    pub default_plan: Plan,
    /// Who a patient reporting red-flag pain is told to contact.
    pub safety_contact: SafetyContact,
}

impl From<store::Clinic> for Clinic {
    fn from(clinic: store::Clinic) -> Self {
        Clinic {
            id: clinic.id,
            name: clinic.name,
            default_rules: Rules(clinic.default_rules),
            default_plan: Plan(clinic.default_plan),
            safety_contact: SafetyContact {
                phone: clinic.safety_contact.phone,
                text: clinic.safety_contact.text,
            },
        }
    }
}

/// The clinic's contact in the safety advice; `null` fields take the default wording.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SafetyContact {
    /// A phone number to call, as the clinic writes it.
    pub phone: Option<String>,
    /// What to do, in the clinic's words.
    pub text: Option<String>,
}

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

/// A JSON Schema written as JSON (the engine's field tables) as utoipa's schema type.
fn schema_of(value: Value) -> RefOr<Schema> {
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
