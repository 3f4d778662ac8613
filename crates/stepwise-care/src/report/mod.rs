//! The clinic's pre-visit report as figures: the [`Report`] model (what the JSON API returns
//! and the server renders as a page, charts, CSV tables and a FHIR R4 bundle), its computation
//! from a patient's data with the engine's adherence maths ([`build`]), and the care team's
//! attention ranking ([`attention`]). The server loads the data and renders the result.

pub mod attention;
pub mod build;
pub mod model;

pub use model::*;
