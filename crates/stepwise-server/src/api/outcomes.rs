//! Outcome measures and the report's exports as the API shows them.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use stepwise_store::{self as store, OutcomeKind};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};

use super::fields::{names_json, schema_of};

/// The name of an outcome measure (`stepwise_store::OutcomeKind::ALL`).
pub struct OutcomeKindName;

impl PartialSchema for OutcomeKindName {
    fn schema() -> RefOr<Schema> {
        let mut names = names_json(OutcomeKind::ALL.iter().map(|k| k.as_str()));
        names["description"] = json!(
            "oswestry (%, 0–100), ndi (score, 0–50), six_minute_walk (m), timed_up_and_go (s)"
        );
        schema_of(names)
    }
}
impl ToSchema for OutcomeKindName {}

/// An outcome measure as a therapist enters it.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOutcome {
    /// Which measure.
    #[schema(value_type = OutcomeKindName)]
    pub kind: OutcomeKind,
    /// Its value, in the measure's unit and range.
    pub value: f64,
    /// The day it was measured (a local date, not in the future).
    pub measured_on: NaiveDate,
}

impl From<NewOutcome> for store::NewOutcome {
    fn from(outcome: NewOutcome) -> Self {
        store::NewOutcome {
            kind: outcome.kind,
            value: outcome.value,
            measured_on: outcome.measured_on,
        }
    }
}

/// A stored outcome measure.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Outcome {
    /// The measure's id.
    pub id: i64,
    /// The patient.
    pub patient_id: i64,
    /// Which measure.
    #[schema(value_type = OutcomeKindName)]
    pub kind: OutcomeKind,
    /// Its value.
    pub value: f64,
    /// The day it was measured.
    pub measured_on: NaiveDate,
    /// Who entered it.
    pub entered_by: i64,
    /// When it was entered.
    pub created_at: DateTime<Utc>,
}

impl From<store::OutcomeRecord> for Outcome {
    fn from(outcome: store::OutcomeRecord) -> Self {
        Outcome {
            id: outcome.id,
            patient_id: outcome.patient_id,
            kind: outcome.measure.kind,
            value: outcome.measure.value,
            measured_on: outcome.measure.measured_on,
            entered_by: outcome.entered_by,
            created_at: outcome.created_at,
        }
    }
}

/// The report as a FHIR R4 Bundle (`docs/reports.md` lists its resources and codes).
pub struct FhirBundle;

impl PartialSchema for FhirBundle {
    fn schema() -> RefOr<Schema> {
        schema_of(json!({
            "type": "object",
            "required": ["resourceType", "type", "entry"],
            "description": "A FHIR R4 Bundle of type collection (docs/reports.md lists its \
                resources and codes)",
            "properties": {
                "resourceType": {"type": "string", "enum": ["Bundle"]},
                "type": {"type": "string", "enum": ["collection"]},
                "entry": {"type": "array", "items": {"type": "object"}},
            },
        }))
    }
}
impl ToSchema for FhirBundle {}
