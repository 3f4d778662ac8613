//! Where a device's next sync starts.

use chrono::{DateTime, Utc};

/// Where a device's next sync starts, as the collector's outbox keeps it: text the outbox
/// stores and hands back without reading. Each protocol writes and reads its own:
/// [`Position::at`] for Huami bands and PAMS (the first instant the next sync wants, unix
/// seconds), [`crate::infinitime::Observation::position`] for InfiniTime (the last count and
/// when it was seen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position(pub String);

impl Position {
    /// A position that is an instant: the next sync starts there.
    pub fn at(instant: DateTime<Utc>) -> Position {
        Position(instant.timestamp().to_string())
    }

    /// The instant of a position made by [`Position::at`]; `None` for any other text.
    pub fn instant(&self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(self.0.parse().ok()?, 0)
    }
}
