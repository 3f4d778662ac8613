//! Support shared by this crate's test suites.

// Each suite uses only part of it.
#![allow(dead_code)]

pub mod demo;
pub mod serve;
