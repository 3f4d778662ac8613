//! The records of a patient's care and the pure computations over them.
//!
//! Nothing here does I/O or reads the clock: the store loads the records, the server hands
//! them in with the instant it means by "now", and renders what comes back.
//!
//! Modules:
//! - [`records`]: what the store keeps — patients, plans, walks, band minutes and days, sleep,
//!   reviews, reminders (their settings, messages and delivery log), audit entries — as plain
//!   Rust types.
//! - [`calendar`]: a patient's weeks and days in their IANA time zone, DST included.
//! - [`questionnaires`]: questionnaires patients fill in — schedules, the questionnaires asked,
//!   scored responses — which are due, and each instrument's scores against the first.
//! - [`reminders`]: which reminders a patient is owed, when, and what they say.
//! - [`report`]: the pre-visit report's figures and the care team's attention rules.
//! - [`rtm`]: remote therapeutic monitoring evidence per patient and calendar month (device
//!   periods, days with data, clinician minutes, live conversations) against the CY 2026
//!   Medicare thresholds — evidence, not billing advice.
//! - [`team`]: the care team's work with a patient — messages, notes, the time log.
//! - [`walks`]: whether the band's minutes confirm logged walks.
//! - [`words`]: a weekly review's reasons in its reader's words.
#![warn(missing_docs)]

pub mod calendar;
pub mod questionnaires;
pub mod records;
pub mod reminders;
pub mod report;
pub mod rtm;
pub mod team;
pub mod walks;
pub mod words;
