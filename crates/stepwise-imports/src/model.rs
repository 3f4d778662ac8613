//! What every reader produces.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use stepwise_wearables::records::SleepEpisode;

/// The years (UTC) an export's dates must lie in (Stepwise's one range of years). Each reader
/// says whether a date outside fails its file or is skipped.
pub use stepwise_wearables::records::YEARS;

/// [`YEARS`] as Unix seconds: from the first second of its first year to the first second
/// after its last year (`[FIRST_SECOND, END_SECOND)`).
pub const FIRST_SECOND: i64 = 946_684_800;
/// See [`FIRST_SECOND`].
pub const END_SECOND: i64 = 4_133_980_800;

/// True when `at` lies in [`YEARS`].
pub fn in_years(at: DateTime<Utc>) -> bool {
    use chrono::Datelike;
    YEARS.contains(&at.year())
}

/// The device kind of an import pairing: what `stepwise band import --server URL --code CODE`
/// pairs instead of a band. Its uploads name the source each batch was recorded by, and the
/// server stores them under that source's device.
pub const IMPORTER_KIND: &str = "phone-import";

/// Which kind of export a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// A Gadgetbridge database (or the zip Gadgetbridge writes around it).
    Gadgetbridge,
    /// Apple Health's `export.zip` or its `export.xml`.
    AppleHealth,
    /// Fitbit's data in a Google Takeout archive.
    FitbitTakeout,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 3] = [
        Format::Gadgetbridge,
        Format::AppleHealth,
        Format::FitbitTakeout,
    ];

    /// The stable name, also the server's device kind of sources it finds:
    /// `gadgetbridge`, `apple-health`, `fitbit-takeout`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Gadgetbridge => "gadgetbridge",
            Format::AppleHealth => "apple-health",
            Format::FitbitTakeout => "fitbit-takeout",
        }
    }

    /// How a person calls it.
    pub fn title(self) -> &'static str {
        match self {
            Format::Gadgetbridge => "Gadgetbridge",
            Format::AppleHealth => "Apple Health",
            Format::FitbitTakeout => "Fitbit (Google Takeout)",
        }
    }
}

/// The device (or app) that recorded some of an export's data.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Source {
    /// What identifies it across imports and Bluetooth syncs: a band's Bluetooth address
    /// (`AA:BB:CC:DD:EE:FF`, upper case) where the export has one, else a UUID derived from
    /// what the export names it by ([`Source::derived_identity`]).
    pub identity: String,
    /// Its name, for people (`Mi Band 5`, `Apple Watch`).
    pub name: String,
}

impl Source {
    /// A stable UUID-shaped identity from `parts` (e.g. the format and the device's name): the
    /// same export read again, or a later export of the same device, gives the same identity.
    pub fn derived_identity(parts: &[&str]) -> String {
        let mut hash = Sha256::new();
        for part in parts {
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part.as_bytes());
        }
        let digest = hash.finalize();
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }
}

/// One minute of steps from an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Minute {
    /// The minute's start, in UTC, on a whole minute.
    pub minute: DateTime<Utc>,
    /// Steps in the minute.
    pub steps: u32,
    /// Heart rate in beats per minute, where the export has one for the minute (10–250).
    pub heart_rate: Option<u8>,
    /// The export only had a longer interval, spread evenly over its minutes: walk
    /// verification does not take such a minute as walking seen.
    pub estimated: bool,
}

/// What one source recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceData {
    /// The device.
    pub source: Source,
    /// Its minutes with steps or a heart rate, by minute, each minute once.
    pub minutes: Vec<Minute>,
    /// Its sleep episodes, by start, not overlapping.
    pub sleep: Vec<SleepEpisode>,
}

/// An export, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// Which kind it was.
    pub format: Format,
    /// What each source recorded, by source; sources with no minute and no sleep are left out.
    pub sources: Vec<SourceData>,
}

/// Minutes by minute, each once, from `(minute, steps, heart rate, estimated)` samples in any
/// order: samples of one minute add their steps (an export that splits a minute into several
/// records), keep the highest heart rate, and are estimated only if all of them were.
pub fn minutes_from_samples(
    samples: impl IntoIterator<Item = (DateTime<Utc>, u32, Option<u8>, bool)>,
) -> Vec<Minute> {
    let mut by_minute: BTreeMap<DateTime<Utc>, Minute> = BTreeMap::new();
    for (minute, steps, heart_rate, estimated) in samples {
        let entry = by_minute.entry(minute).or_insert(Minute {
            minute,
            steps: 0,
            heart_rate: None,
            estimated,
        });
        entry.steps = entry.steps.saturating_add(steps);
        entry.heart_rate = entry.heart_rate.max(heart_rate);
        entry.estimated &= estimated;
    }
    by_minute.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_derived_identity_is_stable_and_uuid_shaped() {
        let a = Source::derived_identity(&["apple-health", "Apple Watch"]);
        assert_eq!(
            a,
            Source::derived_identity(&["apple-health", "Apple Watch"])
        );
        assert_ne!(a, Source::derived_identity(&["apple-health", "iPhone"]));
        // Parts are length-prefixed: ("ab", "c") is not ("a", "bc").
        assert_ne!(
            Source::derived_identity(&["ab", "c"]),
            Source::derived_identity(&["a", "bc"])
        );
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
    }

    #[test]
    fn the_years_in_seconds_are_the_years() {
        use chrono::{Datelike, Timelike};
        let first = DateTime::from_timestamp(FIRST_SECOND, 0).unwrap();
        let end = DateTime::from_timestamp(END_SECOND, 0).unwrap();
        assert_eq!(
            (
                first.year(),
                first.ordinal(),
                first.num_seconds_from_midnight()
            ),
            (*YEARS.start(), 1, 0)
        );
        assert_eq!(
            (end.year(), end.ordinal(), end.num_seconds_from_midnight()),
            (YEARS.end() + 1, 1, 0)
        );
        assert!(in_years(first) && !in_years(end) && in_years(end - chrono::TimeDelta::seconds(1)));
    }

    #[test]
    fn samples_of_one_minute_add_up() {
        let at = DateTime::from_timestamp(1_700_000_040, 0).unwrap();
        let minutes = minutes_from_samples([(at, 10, Some(80), false), (at, 5, Some(90), true)]);
        assert_eq!(
            minutes,
            vec![Minute {
                minute: at,
                steps: 15,
                heart_rate: Some(90),
                estimated: false
            }]
        );
    }
}
