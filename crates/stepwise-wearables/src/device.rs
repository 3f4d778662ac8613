//! Which supported device a scan result is, from its advertised name and service UUIDs.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{gatt, huami};

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
