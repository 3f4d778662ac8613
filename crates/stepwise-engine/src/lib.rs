//! The Stepwise progression engine: the pure, deterministic core that decides, once a week,
//! whether a patient's walking interval goes up, stays, goes down, or needs a therapist.
//!
//! Nothing here does I/O or reads the clock. Every input — rules, plan, the week's evidence,
//! earlier decisions, and any instant — is passed in; the same input always gives the same
//! output. The server's weekly job, `stepwise engine review` and the therapist's rules preview
//! all call [`review()`]; nothing else decides.
//!
//! Modules:
//! - [`rules`]: the therapist's progression rules and the walking plan: one table of fields
//!   (range, unit, default, label) that validation, the API schema and the forms derive from.
//! - [`evidence`]: what a week of walking looks like to the engine.
//! - [`review`](mod@review): the weekly decision and its reasons (the contract in
//!   `docs/engine-review.md`); [`decision`]: its output; [`reasons`]: each reason's words;
//!   [`explain`](mod@explain): a stored review's reasons in words for its reader.
//! - [`input`]: the JSON form of a review, strict about unknown fields.
//! - [`checks`]: when the pain checks after a walk are asked and how long they stay open.
//! - [`baseline`]: the starting interval from tolerance walks.
//! - [`adherence`]: adherence, two-hour answer share, days with band data, walk verification.
#![warn(missing_docs)]

pub mod adherence;
pub mod baseline;
pub mod checks;
pub mod decision;
pub mod evidence;
pub mod explain;
pub mod input;
pub mod reasons;
pub mod review;
pub mod rules;

pub use decision::{Decision, Reason, ReasonCode, Review, reason_messages};
pub use evidence::{FlareReport, SessionReport, WeekEvidence};
pub use explain::{Reader, Said, explain};
pub use input::{InputError, ReviewInput};
pub use reasons::{Finding, exact_duration, spoken_duration};
pub use review::review;
pub use rules::{CONTRACT_VERSION, InvalidField, Plan, Rules};
