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
//! Modules that hold the shared shapes:
//! - [`instrument`]: the [`Instrument`] list and what every instrument declares (range,
//!   direction, [`Mid`], [`Licence`], LOINC codes).
//! - [`item`]: items, their answer kinds and the answers patients give.
//! - [`mod@score`]: validation, [`score()`], [`Scored`] and the [`Change`] against a first score.
#![warn(missing_docs)]

pub mod instrument;
pub mod item;
pub mod koos_jr;
pub mod psfs;
pub mod score;

pub use instrument::{Direction, Instrument, Licence, Loinc, Mid, ScoreRange};
pub use item::{Answer, AnswerKind, Choice, Item};
pub use score::{Change, ScoreError, Scored, Subscore, check, score};
