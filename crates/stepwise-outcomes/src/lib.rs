//! Patient-reported questionnaires that patients fill in on their phone, scored here.
//!
//! Nothing here does I/O or reads the clock: the server hands in a patient's answers as a
//! map from an item's `link_id` to an [`Answer`] and gets back a [`Scored`] result or a
//! [`ScoreError`] naming the item that is wrong. Any map either scores or returns such an
//! error; none panics.
//!
//! Only instruments whose terms allow them to be embedded in open-source software that
//! clinics, commercial ones included, run themselves are here; `docs/outcomes.md` says which
//! were checked, which were left out and why. Each instrument's facts — wording, answer values,
//! recall period, range, direction, minimal important difference, licence, codes and scoring —
//! live in its own module and nowhere else:
//! - [`psfs`]: Patient-Specific Functional Scale (Stratford et al. 1995).
//! - [`koos_jr`]: KOOS, JR. (Hospital for Special Surgery; Lyman et al. 2016).
//!
//! The modules stand in floors, each using only those below it: [`item`] (items, their answer
//! kinds, the answers patients give); [`instrument`] (the [`Instrument`] list and the shapes of
//! what each declares: range, direction, [`Mid`], [`Licence`], LOINC codes); [`scored`] (the
//! [`Scored`] result and [`ScoreError`]); the crate-private `definition` (one instrument's
//! definition); the instrument modules; the crate-private `catalogue` ([`Instrument`]'s
//! methods that read a definition); and [`mod@score`] at the top (validation, [`score()`], and
//! the [`Change`] against a first score).
#![warn(missing_docs)]

mod catalogue;
mod definition;
pub mod instrument;
pub mod item;
pub mod koos_jr;
pub mod psfs;
pub mod score;
pub mod scored;

pub use instrument::{Direction, Instrument, Licence, Loinc, Mid, ScoreRange};
pub use item::{Answer, AnswerKind, Choice, Item};
pub use score::{Change, check, score};
pub use scored::{ScoreError, Scored, Subscore};
