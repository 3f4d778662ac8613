//! Request handlers, one module per audience.

pub mod account;
pub mod collector;
pub mod imports;
pub mod patient;
pub mod questionnaires;
pub mod recovery;
pub mod reminders;
pub mod report;
pub mod rtm;
pub mod staff;
pub mod system;
pub mod team;
