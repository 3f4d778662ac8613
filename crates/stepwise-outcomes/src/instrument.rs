//! The instruments Stepwise embeds and what each one declares about itself.
//!
//! Every fact here is read from the instrument's own module ([`crate::psfs`],
//! [`crate::koos_jr`]), which holds the instrument's one definition; this module only
//! dispatches.

use serde::{Deserialize, Serialize};

use crate::item::Item;
use crate::score::{Answered, ScoreError, Scored};
use crate::{koos_jr, psfs};

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

    /// The one definition of this instrument, in its own module.
    pub(crate) fn definition(self) -> &'static Definition {
        match self {
            Instrument::Psfs => &psfs::DEFINITION,
            Instrument::KoosJr => &koos_jr::DEFINITION,
        }
    }

    /// The instrument's full title.
    pub fn title(self) -> &'static str {
        self.definition().title
    }

    /// Instructions shown before the first item, in the instrument's words (see the module
    /// of each instrument for any adaptation); `None` when its items' preambles say it all.
    pub fn instructions(self) -> Option<&'static str> {
        self.definition().instructions
    }

    /// The items in the order the instrument presents them.
    pub fn items(self) -> &'static [Item] {
        self.definition().items
    }

    /// The item with this `link_id`, if the instrument has one.
    pub fn item(self, link_id: &str) -> Option<&'static Item> {
        self.items().iter().find(|item| item.link_id == link_id)
    }

    /// The period the answers describe, as the instrument words it: "today", "the last
    /// week".
    pub fn recall_period(self) -> &'static str {
        self.definition().recall_period
    }

    /// The score's range and unit.
    pub fn range(self) -> ScoreRange {
        self.definition().range
    }

    /// Whether a higher score means better or worse.
    pub fn direction(self) -> Direction {
        self.definition().direction
    }

    /// The minimal important difference and its source, where a published value could be
    /// verified; `None` otherwise (see `docs/outcomes.md`).
    pub fn mid(self) -> Option<Mid> {
        self.definition().mid
    }

    /// Who owns the instrument and on what terms Stepwise embeds it.
    pub fn licence(self) -> Licence {
        self.definition().licence
    }

    /// LOINC codes for the questionnaire and its score, where verified.
    pub fn loinc(self) -> Loinc {
        self.definition().loinc
    }
}

/// Everything one instrument declares; each instrument module holds exactly one.
#[derive(Debug)]
pub(crate) struct Definition {
    pub title: &'static str,
    pub instructions: Option<&'static str>,
    pub items: &'static [Item],
    pub recall_period: &'static str,
    pub range: ScoreRange,
    pub direction: Direction,
    pub mid: Option<Mid>,
    pub licence: Licence,
    pub loinc: Loinc,
    /// The instrument's own rules across items, beyond each item's kind and range.
    pub rules: fn(&Answered) -> Vec<ScoreError>,
    /// Scores a response that [`crate::check`] found nothing wrong with.
    pub scorer: fn(&Answered) -> Scored,
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
