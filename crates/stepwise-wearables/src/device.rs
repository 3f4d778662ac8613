//! The registry of supported devices: which one a scan result is (from its advertised name
//! and service UUIDs), and how a sync of each starts. The collector and the outbox know only
//! this: they drive whatever [`DeviceKind::start`] hands back and store its [`Event`]s.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use uuid::Uuid;

pub use crate::position::Position;
use crate::records::MinuteRecord;
use crate::{DecodeError, Protocol, Request, gatt, huami, infinitime, pams};

/// How far back the first sync of a device with history reaches, without `--since`.
pub const DEFAULT_HISTORY: TimeDelta = TimeDelta::days(7);

/// A supported kind of device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    /// A Huami band (Xiaomi Mi Band 2–6, Amazfit Bip).
    Huami(huami::Model),
    /// A PineTime (or other watch) running InfiniTime.
    InfiniTime,
    /// A device offering the Bluetooth Physical Activity Monitor Service.
    Pams,
}

impl DeviceKind {
    /// Every supported kind, in the order the docs list them: the one registry of devices.
    pub const ALL: [DeviceKind; 8] = [
        DeviceKind::Huami(huami::Model::MiBand2),
        DeviceKind::Huami(huami::Model::MiBand3),
        DeviceKind::Huami(huami::Model::MiBand4),
        DeviceKind::Huami(huami::Model::MiBand5),
        DeviceKind::Huami(huami::Model::MiBand6),
        DeviceKind::Huami(huami::Model::AmazfitBip),
        DeviceKind::InfiniTime,
        DeviceKind::Pams,
    ];

    /// Experimental: no shipping device and no independent implementation exist to check
    /// it against (PAMS). The scan table says so.
    pub fn experimental(&self) -> bool {
        matches!(self, DeviceKind::Pams)
    }

    /// The kind a stored kind name stands for (`mi-band-4`, `infinitime`, …).
    pub fn from_kind(kind: &str) -> Option<DeviceKind> {
        DeviceKind::ALL.into_iter().find(|k| k.as_str() == kind)
    }

    /// Starts a sync of a device of this kind.
    pub fn start(&self, start: &Start) -> Result<Machine, StartError> {
        Ok(match *self {
            DeviceKind::Huami(model) => {
                let key = start.key.ok_or(StartError::KeyNeeded(model.as_str()))?;
                let mut config = huami::Config::new(model, key, start.history_from(), start.zone);
                config.clock = Some(start.now);
                shared(huami::Sync::new(config))
            }
            DeviceKind::InfiniTime => shared(infinitime::Sync::new(
                start.zone,
                start
                    .position
                    .as_ref()
                    .and_then(infinitime::Observation::from_position),
                start.now,
            )),
            DeviceKind::Pams => shared(pams::Sync::new(start.history_from())),
        })
    }

    /// Where a sync of this kind starts in the device's history; `None` for a device that
    /// keeps none (InfiniTime: only today's count).
    pub fn history_from(&self, start: &Start) -> Option<DateTime<Utc>> {
        match self {
            DeviceKind::InfiniTime => None,
            DeviceKind::Huami(_) | DeviceKind::Pams => Some(start.history_from()),
        }
    }

    /// Stays connected between syncs, its count subscribed (`band watch`): InfiniTime,
    /// whose only data is a running count.
    pub fn stays_connected(&self) -> bool {
        matches!(self, DeviceKind::InfiniTime)
    }

    /// The name the server stores as the device's kind: `mi-band-2` … `mi-band-6`,
    /// `amazfit-bip`, `infinitime`, `pams`.
    pub fn as_str(&self) -> &'static str {
        match self {
            DeviceKind::Huami(model) => model.as_str(),
            DeviceKind::InfiniTime => "infinitime",
            DeviceKind::Pams => "pams",
        }
    }
}

/// What a sync starts from, whichever the device.
#[derive(Debug, Clone)]
pub struct Start {
    /// A Huami band's auth key.
    pub key: Option<[u8; 16]>,
    /// The position the last sync stored, if any.
    pub position: Option<Position>,
    /// Where history starts when there is no position yet (`--since`); else
    /// [`DEFAULT_HISTORY`] before `now`.
    pub since: Option<DateTime<Utc>>,
    /// The wearer's time zone.
    pub zone: Tz,
    /// The collector's clock (written to the device's clock).
    pub now: DateTime<Utc>,
}

impl Start {
    /// The first instant a device with history is asked for: the stored position, else
    /// `since`, else [`DEFAULT_HISTORY`] before now.
    pub fn history_from(&self) -> DateTime<Utc> {
        self.position
            .as_ref()
            .and_then(Position::instant)
            .or(self.since)
            .unwrap_or(self.now - DEFAULT_HISTORY)
    }
}

/// Why a sync could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartError {
    /// The device talks only to a client that knows its key, and none was given.
    #[error("a {0} needs its auth key")]
    KeyNeeded(&'static str),
}

/// What a device's sync reports, the same for every kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Something worth telling the person syncing ("authenticated", "3 sessions on the
    /// device").
    Note(String),
    /// A round of history began: its first minute and the minutes announced.
    Round {
        /// The first minute, in UTC.
        from: DateTime<Utc>,
        /// Minutes the device announced.
        samples: u32,
    },
    /// History arrived within a round.
    Progress {
        /// Minutes received in this round so far.
        received: u32,
        /// Minutes announced for it.
        samples: u32,
    },
    /// The device's own minute records: they replace what is stored for those minutes. Store
    /// them and the position (if any) in one transaction.
    Records {
        /// The minutes, oldest first.
        records: Vec<MinuteRecord>,
        /// Where the next sync starts, once these are stored.
        position: Option<Position>,
    },
    /// Steps counted since the last observation: they add to what is stored for those
    /// minutes. Store them and the position in one transaction.
    Steps {
        /// Steps per minute, oldest first.
        minutes: Vec<(DateTime<Utc>, u32)>,
        /// Spread over several minutes: estimates, not seen in each minute.
        estimated: bool,
        /// Where the next sync continues from.
        position: Position,
    },
    /// Done.
    Finished {
        /// The device has nothing newer (false: sync again to continue).
        caught_up: bool,
        /// A position to store now that everything before it is stored.
        position: Option<Position>,
    },
}

impl From<huami::Event> for Event {
    fn from(event: huami::Event) -> Event {
        match event {
            huami::Event::Authenticated => Event::Note("authenticated".into()),
            huami::Event::RoundStarted { from, samples } => Event::Round { from, samples },
            huami::Event::Progress { received, samples } => Event::Progress { received, samples },
            huami::Event::Batch {
                records,
                next_since,
            } => Event::Records {
                records,
                position: Some(Position::at(next_since)),
            },
            huami::Event::Finished { caught_up, .. } => Event::Finished {
                caught_up,
                position: None,
            },
        }
    }
}

impl From<pams::Event> for Event {
    fn from(event: pams::Event) -> Event {
        match event {
            pams::Event::Sessions(sessions) => Event::Note(format!(
                "{} session{} on the device",
                sessions.len(),
                if sessions.len() == 1 { "" } else { "s" }
            )),
            pams::Event::Session { records, .. } => Event::Records {
                records,
                position: None,
            },
            pams::Event::Finished { next_since, .. } => Event::Finished {
                caught_up: true,
                position: next_since.map(Position::at),
            },
        }
    }
}

impl From<infinitime::Event> for Event {
    fn from(event: infinitime::Event) -> Event {
        match event {
            infinitime::Event::Steps {
                minutes,
                estimated,
                position,
            } => Event::Steps {
                minutes,
                estimated,
                position,
            },
        }
    }
}

/// Why a device's sync stopped, whichever the device.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    /// A Huami band's protocol failed (a wrong key, a counter gap, …).
    #[error(transparent)]
    Huami(#[from] huami::Error),
    /// A PAMS device's protocol failed.
    #[error(transparent)]
    Pams(#[from] pams::Error),
    /// A value could not be decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

/// A started sync of any device: drive it as any [`Protocol`].
pub type Machine = Box<dyn Protocol<Event = Event, Error = SyncError> + Send>;

/// A device's own machine, reporting the shared [`Event`] and [`SyncError`].
struct Shared<M>(M);

impl<M> Protocol for Shared<M>
where
    M: Protocol,
    M::Event: Into<Event>,
    M::Error: Into<SyncError>,
{
    type Event = Event;
    type Error = SyncError;
    fn poll_request(&mut self) -> Option<Request> {
        self.0.poll_request()
    }
    fn handle_notification(&mut self, characteristic: Uuid, value: &[u8]) -> Result<(), SyncError> {
        self.0
            .handle_notification(characteristic, value)
            .map_err(Into::into)
    }
    fn handle_read(&mut self, characteristic: Uuid, value: &[u8]) -> Result<(), SyncError> {
        self.0
            .handle_read(characteristic, value)
            .map_err(Into::into)
    }
    fn poll_event(&mut self) -> Option<Event> {
        self.0.poll_event().map(Into::into)
    }
    fn is_finished(&self) -> bool {
        self.0.is_finished()
    }
}

fn shared<M>(machine: M) -> Machine
where
    M: Protocol + Send + 'static,
    M::Event: Into<Event>,
    M::Error: Into<SyncError>,
{
    Box::new(Shared(machine))
}

/// From what a scan shows: the advertised local name and advertised service UUIDs.
/// Huami: name starts with "MI Band 2", "Mi Band 3", "Mi Smart Band 4/5/6", "Amazfit Bip"
/// (or advertises FEE0 with such a name); InfiniTime: name "InfiniTime" or advertises the
/// Motion service; PAMS: advertises 0x183E. None for anything else.
///
/// Names are compared without regard to case. A Huami band is only ever recognised by its
/// name: FEE0 alone is advertised by many unrelated devices.
pub fn identify(name: Option<&str>, services: &[Uuid]) -> Option<DeviceKind> {
    if let Some(model) = name.and_then(huami::Model::from_name) {
        return Some(DeviceKind::Huami(model));
    }
    if name.is_some_and(|n| n.trim().eq_ignore_ascii_case("InfiniTime"))
        || services.contains(&gatt::INFINITIME_MOTION_SERVICE)
    {
        return Some(DeviceKind::InfiniTime);
    }
    if services.contains(&gatt::PAMS_SERVICE) {
        return Some(DeviceKind::Pams);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use huami::Model;

    #[test]
    fn instant_positions_round_trip_and_other_text_is_none() {
        let t = DateTime::from_timestamp(1_790_000_040, 0).unwrap();
        assert_eq!(Position::at(t).instant(), Some(t));
        assert_eq!(Position("12:34".into()).instant(), None);
        assert_eq!(Position(String::new()).instant(), None);
    }

    #[test]
    fn huami_bands_by_name() {
        let fee0 = [gatt::HUAMI_SERVICE_FEE0];
        assert_eq!(
            identify(Some("MI Band 2"), &[]),
            Some(DeviceKind::Huami(Model::MiBand2))
        );
        assert_eq!(
            identify(Some("Mi Band 3"), &fee0),
            Some(DeviceKind::Huami(Model::MiBand3))
        );
        assert_eq!(
            identify(Some("Mi Smart Band 5"), &fee0).map(|k| k.as_str()),
            Some("mi-band-5")
        );
        assert_eq!(
            identify(Some("Amazfit Bip Watch"), &[]).map(|k| k.as_str()),
            Some("amazfit-bip")
        );
        assert_eq!(identify(Some("Mi Smart Band 7"), &fee0), None);
        assert_eq!(identify(None, &fee0), None);
        assert_eq!(identify(Some("Mi Band 20"), &fee0), None);
    }

    #[test]
    fn infinitime_and_pams() {
        assert_eq!(
            identify(Some("InfiniTime"), &[]),
            Some(DeviceKind::InfiniTime)
        );
        assert_eq!(
            identify(Some("Pinetime-JF"), &[gatt::INFINITIME_MOTION_SERVICE]),
            Some(DeviceKind::InfiniTime)
        );
        assert_eq!(
            identify(None, &[gatt::BATTERY_SERVICE, gatt::PAMS_SERVICE]).map(|k| k.as_str()),
            Some("pams")
        );
        assert_eq!(identify(Some("Headphones"), &[gatt::BATTERY_SERVICE]), None);
        assert_eq!(identify(None, &[]), None);
    }
}
