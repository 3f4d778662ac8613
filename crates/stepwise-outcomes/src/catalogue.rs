//! Reading an instrument's facts: [`Instrument`]'s methods dispatch to the one definition in
//! each instrument's module.

use crate::definition::Definition;
use crate::instrument::{Direction, Instrument, Licence, Loinc, Mid, ScoreRange};
use crate::item::Item;
use crate::{koos_jr, psfs};

impl Instrument {
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
