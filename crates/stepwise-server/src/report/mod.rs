//! The clinic's pre-visit report: the figures (computed with the engine's adherence maths from
//! store data), the charts, the CSV tables and the FHIR R4 bundle made from them.

pub mod attention;
pub mod build;
pub mod charts;
pub mod csv;
pub mod fhir;
pub mod model;
pub mod page;

pub use model::*;
