//! What the API answers, as types of its own. Handlers turn the store's records into these
//! before they leave the server, so a column added to a record does not reach the API
//! unnoticed, and each type carries its JSON Schema for the generated OpenAPI document
//! ([`crate::handlers::system::ApiDoc`]): the document cannot drift from what is sent.
//!
//! The rules' and the plan's schemas come from the engine's field tables
//! (`stepwise_engine::rules::RULE_FIELDS`, `PLAN_FIELDS`), as their validation does.
//!
//! By area: [`accounts`] (users, patients, clinics), [`bands`] (paired bands and their
//! uploads), [`reminders`] (reminders and their settings), [`reviews`] (weekly reviews, plan
//! changes, rules versions), [`walks`] (walks and flares), [`outcomes`] (outcome measures,
//! the FHIR export), [`imports`] (imported exports), [`questionnaires`] (instruments' forms,
//! schedules, questionnaires asked and scored responses), [`team`] (the care team's messages, notes
//! and time log); [`fields`] holds the plan and the rules.

pub mod accounts;
pub mod bands;
pub mod fields;
pub mod imports;
pub mod outcomes;
pub mod questionnaires;
pub mod reminders;
pub mod reviews;
pub mod team;
pub mod walks;

pub use accounts::*;
pub use bands::*;
pub use fields::*;
pub use imports::*;
pub use outcomes::*;
pub use reminders::*;
pub use reviews::*;
pub use walks::*;
