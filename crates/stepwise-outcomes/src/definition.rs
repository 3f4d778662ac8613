//! The shape of one instrument's definition, which each instrument module fills in once.

use crate::instrument::{Direction, Licence, Loinc, Mid, ScoreRange};
use crate::item::Item;
use crate::scored::{Answered, ScoreError, Scored};

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
