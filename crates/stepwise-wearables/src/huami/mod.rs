//! Huami bands (Xiaomi Mi Band 2–6, Amazfit Bip): authentication and the minute history
//! fetch, sans IO.
//!
//! [`Sync`] is the machine the collector drives; [`decode_records`] turns one round's bytes
//! into minute records; the wire helpers ([`encode_fetch_start`], [`decode_fetch_answer`])
//! are public for simulators and tests.
//!
//! # Wire protocol
//!
//! All values little-endian. Characteristics: [`AUTH`] in service FEE1; [`FETCH_CONTROL`],
//! [`ACTIVITY_DATA`] and Current Time (0x2A2B) in service FEE0. The bands declare AUTH and
//! FETCH_CONTROL *write without response*, and every independent client writes them so: all
//! writes to them are write commands. The clock write is a write request. Every fact below
//! names its public source in `docs/wearables.md`; recorded conversations that prove them are
//! under `tests/fixtures/wearables/`.
//!
//! **Authentication** (subscribe to AUTH first). Each model has two flag bytes
//! ([`Model::auth_flags`]): `crypt` (0x80 on Mi Band 4, 5 and 6, else 0) and `auth` (always
//! 0, as the vendor's app writes it on a recorded Mi Band 2; Gadgetbridge's 0x08 is accepted
//! by those bands too).
//! 1. Only with [`Config::set_key`] (first pairing of a Mi Band 2/3 or Bip; `crypt` 0): write
//!    `01 <auth> <16-byte key>`; the band answers `10 01 01`.
//! 2. Ask for a challenge: `02 <auth>` when `crypt` is 0, else `<crypt|02> <auth> 02 01 00`
//!    (`82 00 02 01 00`). The band answers `10 <crypt|02> 01 <16 random bytes>`.
//! 3. Answer `<crypt|03> <auth> <AES-128-ECB(key, random)>`; the band answers
//!    `10 <crypt|03> 01` (ok), or status 04 or 08 (wrong key: [`Error::WrongKey`]).
//! 4. With [`Config::clock`], write the band's clock to Current Time (11 bytes, local time in
//!    [`Config::zone`]: year u16, month, day, hour, minute, second, day of week 1–7 from
//!    Monday, 0, 0, UTC offset in 15-minute units).
//!
//! **Fetch rounds** (subscribe to FETCH_CONTROL and ACTIVITY_DATA after authentication,
//! before the first fetch). A round:
//! 1. Write to FETCH_CONTROL `01 01 <year u16> <month> <day> <hour> <minute> 00 <tz i8>`
//!    (10 bytes; the `00` is the seconds): the first wanted minute in the local time of
//!    [`Config::zone`], with that instant's UTC offset in 15-minute units (DST included;
//!    +1 h = `04`, +2 h = `08`).
//! 2. The band answers on FETCH_CONTROL `10 01 01 <samples u32> <year u16> <month> <day>
//!    <hour> <minute> <second> <tz i8>` (15 bytes): how many **minute samples** (records, not
//!    bytes) it will send, and the actual start of its data in its local time with its
//!    offset. 0 samples: nothing newer, the sync is caught up. `10 01 02` (3 bytes): the band
//!    has nothing to send for this request now: the round is over without data; the machine
//!    asks once more from the same minute, and a second `10 01 02` ends the sync, not caught
//!    up.
//! 3. Otherwise write `02` to FETCH_CONTROL. The band sends ACTIVITY_DATA notifications,
//!    each one rolling counter byte (0, 1, …, 255, 0, …; 0 at the start of every round)
//!    followed by records; a notification is as long as the link's MTU allows (20 bytes at
//!    the default MTU 23, up to 514). Records may straddle notifications.
//! 4. `10 02 01` on FETCH_CONTROL ends the data. The bytes received must equal the samples
//!    times the record size. `10 02 04` instead ("no more activity fetch possible") ends the
//!    round and the sync without data, not caught up.
//! 5. Unless [`Config::keep_on_band`], write `03` (ack; newer firmware then deletes the data).
//! 6. The next round starts at the minute after the last record, until the band answers
//!    0 samples or [`Config::max_rounds`] fetch requests have been written.
//!
//! **Records**: record *i* of a round is the minute `start + i` (start converted to UTC with
//! the band's offset; minutes run on in real time, so a DST change inside a round needs no
//! care). [`Model::record_size`] bytes each: `kind, intensity, steps, heart_rate`; Mi Band 5
//! and 6 send 4 more bytes per record, which are ignored (no public source says what they
//! mean, so no minute is called REM sleep from them). The kind's low nibble: 1 walking,
//! 2 running, 3 not worn, 4 cycling, 6 charging, 9 light sleep, 11 deep sleep, 12 awake,
//! 0 and 10 the same as the previous minute ([`Activity::Other`] with none before); anything
//! else is [`Activity::Unknown`] with the raw kind byte. Heart rate 0xFF or outside 10–250
//! is no heart rate.
//!
//! [`Activity::Other`]: crate::records::Activity::Other
//! [`Activity::Unknown`]: crate::records::Activity::Unknown

mod sync;
mod wire;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

use crate::{DecodeError, gatt};

pub use sync::{Error, Event, MAX_NOTIFICATION, Sync};
pub use wire::{
    FetchAnswer, decode_fetch_answer, decode_records, encode_current_time, encode_fetch_start,
    kind_activity,
};

/// Huami's main service, 0xFEE0 (fetch control and activity data).
pub const SERVICE_FEE0: Uuid = gatt::HUAMI_SERVICE_FEE0;
/// Current Time (0x2A2B), in [`SERVICE_FEE0`]: the band's clock.
pub const CURRENT_TIME: Uuid = gatt::CURRENT_TIME;
/// Huami's second service, 0xFEE1 (authentication).
pub const SERVICE_FEE1: Uuid = gatt::HUAMI_SERVICE_FEE1;
/// Authentication characteristic, in [`SERVICE_FEE1`].
pub const AUTH: Uuid = gatt::HUAMI_AUTH;
/// Fetch control characteristic, in [`SERVICE_FEE0`].
pub const FETCH_CONTROL: Uuid = gatt::HUAMI_FETCH_CONTROL;
/// Activity data characteristic, in [`SERVICE_FEE0`].
pub const ACTIVITY_DATA: Uuid = gatt::HUAMI_ACTIVITY_DATA;

/// A supported Huami band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Model {
    /// Xiaomi Mi Band 2.
    MiBand2,
    /// Xiaomi Mi Band 3.
    MiBand3,
    /// Xiaomi Mi Smart Band 4.
    MiBand4,
    /// Xiaomi Mi Smart Band 5.
    MiBand5,
    /// Xiaomi Mi Smart Band 6.
    MiBand6,
    /// Amazfit Bip.
    AmazfitBip,
}

impl Model {
    /// Bytes per minute record: 4 for Mi Band 2, 3, 4 and the Bip, 8 for Mi Band 5 and 6.
    pub fn record_size(self) -> usize {
        match self {
            Model::MiBand2 | Model::MiBand3 | Model::MiBand4 | Model::AmazfitBip => 4,
            Model::MiBand5 | Model::MiBand6 => 8,
        }
    }

    /// The authentication flag bytes `(crypt, auth)`: `(0x80, 0)` on Mi Band 4, 5 and 6,
    /// `(0, 0)` on Mi Band 2, 3 and the Bip.
    pub fn auth_flags(self) -> (u8, u8) {
        match self {
            Model::MiBand4 | Model::MiBand5 | Model::MiBand6 => (0x80, 0x00),
            Model::MiBand2 | Model::MiBand3 | Model::AmazfitBip => (0x00, 0x00),
        }
    }

    /// Whether the band can be given a new key (`crypt` flag 0: Mi Band 2, 3 and the Bip).
    pub fn accepts_new_key(self) -> bool {
        self.auth_flags().0 == 0
    }

    /// The model from a band's advertised name ("MI Band 2", "Mi Band 3",
    /// "Mi Smart Band 4/5/6", "Amazfit Bip…"), ignoring case; `None` for anything else.
    pub fn from_name(name: &str) -> Option<Model> {
        let name = name.trim().to_ascii_lowercase();
        let numbered = |prefix: &str| -> Option<u8> {
            let rest = name.strip_prefix(prefix)?;
            let mut chars = rest.chars();
            let digit = chars.next()?.to_digit(10)?;
            match chars.next() {
                Some(c) if c.is_ascii_digit() => None,
                _ => u8::try_from(digit).ok(),
            }
        };
        let number = numbered("mi band ").or_else(|| numbered("mi smart band "));
        match number {
            Some(2) => Some(Model::MiBand2),
            Some(3) => Some(Model::MiBand3),
            Some(4) => Some(Model::MiBand4),
            Some(5) => Some(Model::MiBand5),
            Some(6) => Some(Model::MiBand6),
            Some(_) => None,
            None => name.starts_with("amazfit bip").then_some(Model::AmazfitBip),
        }
    }

    /// The server's device kind: `mi-band-2` … `mi-band-6`, `amazfit-bip`.
    pub fn as_str(self) -> &'static str {
        match self {
            Model::MiBand2 => "mi-band-2",
            Model::MiBand3 => "mi-band-3",
            Model::MiBand4 => "mi-band-4",
            Model::MiBand5 => "mi-band-5",
            Model::MiBand6 => "mi-band-6",
            Model::AmazfitBip => "amazfit-bip",
        }
    }
}

/// How to sync one band.
#[derive(Clone)]
pub struct Config {
    /// The band model (decides the record size).
    pub model: Model,
    /// The band's 16-byte auth key.
    pub key: [u8; 16],
    /// First minute wanted (UTC); the band answers from its first stored minute at or after it.
    pub since: DateTime<Utc>,
    /// The band's time zone (the zone its clock is set to): fetch starts are written in local
    /// time with that instant's UTC offset in 15-minute units (DST included).
    pub zone: Tz,
    /// Never send the ack that lets newer firmware delete fetched data. Default true.
    pub keep_on_band: bool,
    /// Most fetch rounds in one sync (a band may answer part of the data per round). Default 64.
    pub max_rounds: u32,
    /// Write the key first (`01 <auth> <key>`): first pairing of a Mi Band 2/3 or Bip only.
    pub set_key: bool,
    /// After authentication, set the band's clock to this instant (local time in `zone`).
    /// The collector sets it to now; `None` leaves the clock alone.
    pub clock: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("model", &self.model)
            .field("key", &"<secret>")
            .field("since", &self.since)
            .field("zone", &self.zone)
            .field("keep_on_band", &self.keep_on_band)
            .field("max_rounds", &self.max_rounds)
            .field("set_key", &self.set_key)
            .field("clock", &self.clock)
            .finish()
    }
}

/// Default for [`Config::max_rounds`].
pub const DEFAULT_MAX_ROUNDS: u32 = 64;

impl Config {
    /// A config with the defaults: keep data on the band, at most 64 rounds, key not written,
    /// clock not set.
    pub fn new(model: Model, key: [u8; 16], since: DateTime<Utc>, zone: Tz) -> Config {
        Config {
            model,
            key,
            since,
            zone,
            keep_on_band: true,
            max_rounds: DEFAULT_MAX_ROUNDS,
            set_key: false,
            clock: None,
        }
    }
}

/// Parses a band's auth key: 32 hex digits, optionally after `0x`; surrounding whitespace is
/// ignored.
pub fn parse_key(hex: &str) -> Result<[u8; 16], DecodeError> {
    const WHAT: &str = "Huami auth key";
    let text = hex.trim();
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    if let Some((i, c)) = digits.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(DecodeError::invalid(
            WHAT,
            format!("{c:?} at position {i} is not a hex digit (expected 32 hex digits)"),
        ));
    }
    if digits.len() != 32 {
        return Err(DecodeError::invalid(
            WHAT,
            format!("expected 32 hex digits, got {}", digits.len()),
        ));
    }
    let mut key = [0u8; 16];
    for (byte, pair) in key.iter_mut().zip(digits.as_bytes().chunks_exact(2)) {
        let pair = std::str::from_utf8(pair).unwrap_or_default();
        *byte = u8::from_str_radix(pair, 16)
            .map_err(|e| DecodeError::invalid(WHAT, format!("{pair:?}: {e}")))?;
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_from_names() {
        assert_eq!(Model::from_name("MI Band 2"), Some(Model::MiBand2));
        assert_eq!(Model::from_name("Mi Band 3"), Some(Model::MiBand3));
        assert_eq!(Model::from_name("Mi Smart Band 4"), Some(Model::MiBand4));
        assert_eq!(Model::from_name("Mi Smart Band 6"), Some(Model::MiBand6));
        assert_eq!(Model::from_name("Amazfit Bip"), Some(Model::AmazfitBip));
        assert_eq!(Model::from_name("Mi Smart Band 7"), None);
        assert_eq!(Model::from_name("Mi Band"), None);
        assert_eq!(Model::from_name(""), None);
        assert_eq!(Model::MiBand5.record_size(), 8);
        assert_eq!(Model::MiBand4.record_size(), 4);
        assert_eq!(Model::MiBand4.auth_flags(), (0x80, 0));
        assert_eq!(Model::MiBand2.auth_flags(), (0, 0));
        assert!(!Model::MiBand6.accepts_new_key() && Model::AmazfitBip.accepts_new_key());
        assert_eq!(Model::AmazfitBip.record_size(), 4);
    }

    #[test]
    fn keys_are_32_hex_digits() {
        let key = parse_key("0x000102030405060708090a0b0c0d0e0F").unwrap();
        assert_eq!(key, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
        assert_eq!(parse_key(" 000102030405060708090a0b0c0d0e0f\n"), Ok(key));
        let err = parse_key("0001").unwrap_err().to_string();
        assert!(err.contains("expected 32 hex digits, got 4"), "{err}");
        let err = parse_key("zz0102030405060708090a0b0c0d0e0f")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a hex digit"), "{err}");
        assert!(parse_key("é00102030405060708090a0b0c0d0e0f").is_err());
        assert!(parse_key("").is_err());
    }

    #[test]
    fn the_key_never_shows_in_debug_output() {
        let config = Config::new(
            Model::MiBand5,
            [0xab; 16],
            DateTime::UNIX_EPOCH,
            chrono_tz::UTC,
        );
        let shown = format!("{config:?}");
        assert!(!shown.contains("171") && !shown.contains("ab"), "{shown}");
        assert!(config.keep_on_band && !config.set_key && config.max_rounds == 64);
        assert!(config.clock.is_none());
    }
}
