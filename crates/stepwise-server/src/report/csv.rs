//! CSV tables of a report.
