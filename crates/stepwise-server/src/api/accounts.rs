//! Users, patients and clinics as the API shows them.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use stepwise_store as store;
use utoipa::ToSchema;

use super::fields::{Plan, Rules};

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

/// Who read or changed a patient's data, when, and how the request ended.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// The user who asked.
    pub actor_id: i64,
    /// What, e.g. `read patient.timeline`, `write patient.rules`; for a refusal no handler
    /// named, its method and path.
    pub action: String,
    /// Whose data.
    pub patient_id: Option<i64>,
    /// The asking user's clinic.
    pub clinic_id: i64,
    /// How the request ended; null for entries from before outcomes were recorded.
    pub outcome: Option<AuditOutcome>,
}

/// How an audited request ended.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// It did what was asked (2xx).
    Done,
    /// Not the caller's to see or change (401, 403, 404): nothing was shown or changed.
    Refused,
    /// Refused as malformed or out of range (another 4xx): nothing was changed.
    Invalid,
    /// It failed inside the server (5xx).
    Failed,
}

impl From<store::AuditEntry> for AuditEntry {
    fn from(entry: store::AuditEntry) -> Self {
        AuditEntry {
            at: entry.at,
            actor_id: entry.actor_id,
            action: entry.action,
            patient_id: entry.patient_id,
            clinic_id: entry.clinic_id,
            outcome: entry.outcome.map(|outcome| match outcome {
                store::AuditOutcome::Done => AuditOutcome::Done,
                store::AuditOutcome::Refused => AuditOutcome::Refused,
                store::AuditOutcome::Invalid => AuditOutcome::Invalid,
                store::AuditOutcome::Failed => AuditOutcome::Failed,
            }),
        }
    }
}
