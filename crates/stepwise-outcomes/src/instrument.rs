//! The instruments Stepwise embeds and the shapes of what each one declares about itself.
//!
//! The facts themselves live in each instrument's own module ([`crate::psfs`],
//! [`crate::koos_jr`]); [`Instrument`]'s methods that read them (`title`, `items`, `mid`,
//! `licence`, ...) are defined above those modules, in `catalogue`.

use serde::{Deserialize, Serialize};

/// A questionnaire patients can fill in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Instrument {
    /// Patient-Specific Functional Scale: up to five activities the patient names, each
    /// rated 0–10; the score is their mean.
    Psfs,
    /// KOOS, JR.: seven knee items from the KOOS, summed and converted to a 0–100 interval
    /// score.
    KoosJr,
}

impl Instrument {
    /// Every instrument, in the order pages list them.
    pub const ALL: [Instrument; 2] = [Instrument::Psfs, Instrument::KoosJr];

    /// The stable name used in storage, URLs and JSON (the serde name too).
    pub fn as_str(self) -> &'static str {
        match self {
            Instrument::Psfs => "psfs",
            Instrument::KoosJr => "koos_jr",
        }
    }

    /// Parses [`Instrument::as_str`]'s names.
    pub fn parse(name: &str) -> Option<Instrument> {
        Instrument::ALL.into_iter().find(|i| i.as_str() == name)
    }
}

/// The range a score can take, inclusive, and its unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScoreRange {
    /// Lowest possible score.
    pub min: f64,
    /// Highest possible score.
    pub max: f64,
    /// UCUM unit of the score (`{score}` for a unitless score), as FHIR `valueQuantity` wants.
    pub unit: &'static str,
}

/// Which way is better on an instrument's scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// A higher score is a better state.
    HigherIsBetter,
    /// A higher score is a worse state.
    HigherIsWorse,
}

/// A minimal important difference: the smallest change in score that counts as a real change
/// for the patient.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Mid {
    /// The difference, in the score's unit.
    pub value: f64,
    /// What kind of threshold the source reports (an anchor-based MCID, a minimal detectable
    /// change, ...), so a reader knows what the line on the graph means.
    pub basis: &'static str,
    /// Where the value is published.
    pub source: &'static str,
}

/// The terms on which an instrument is embedded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Licence {
    /// Who holds the rights or developed the instrument.
    pub owner: &'static str,
    /// The terms, summarised.
    pub terms: &'static str,
    /// Where the terms are published.
    pub url: &'static str,
    /// The line to show with the questionnaire and its results (attribution or copyright).
    pub notice: &'static str,
}

/// LOINC codes of an instrument, where one was found and verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Loinc {
    /// Code of the questionnaire (panel) as a whole.
    pub questionnaire: Option<&'static str>,
    /// Code of its score, for the score Observation.
    pub score: Option<&'static str>,
}
