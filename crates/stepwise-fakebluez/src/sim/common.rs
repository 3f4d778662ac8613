//! GATT services every simulator carries: Battery (0x180F / Battery Level 0x2A19) and
//! Device Information (0x180A: manufacturer 0x2A29, model 0x2A24, serial 0x2A25,
//! firmware 0x2A26, software 0x2A28).

use uuid::Uuid;

use crate::peripheral::{AttError, CharacteristicSpec, Flag, ServiceSpec};

/// A 16-bit SIG UUID on the Bluetooth base UUID.
pub fn uuid16(short: u16) -> Uuid {
    Uuid::from_u128(((short as u128) << 96) | 0x0000_0000_0000_1000_8000_0080_5f9b_34fb)
}

/// Battery service.
pub const BATTERY_SERVICE: u16 = 0x180F;
/// Battery Level characteristic.
pub const BATTERY_LEVEL: u16 = 0x2A19;
/// Device Information service.
pub const DEVICE_INFORMATION: u16 = 0x180A;
/// Manufacturer Name String.
pub const MANUFACTURER: u16 = 0x2A29;
/// Model Number String.
pub const MODEL: u16 = 0x2A24;
/// Serial Number String.
pub const SERIAL: u16 = 0x2A25;
/// Firmware Revision String.
pub const FIRMWARE: u16 = 0x2A26;
/// Software Revision String.
pub const SOFTWARE: u16 = 0x2A28;

/// The Device Information strings a simulator reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInformation {
    /// 0x2A29.
    pub manufacturer: String,
    /// 0x2A24.
    pub model: String,
    /// 0x2A25.
    pub serial: String,
    /// 0x2A26.
    pub firmware: String,
    /// 0x2A28.
    pub software: String,
}

impl DeviceInformation {
    /// The value of a Device Information characteristic, if `uuid` is one.
    pub fn read(&self, uuid: Uuid) -> Option<Vec<u8>> {
        let text = [
            (MANUFACTURER, &self.manufacturer),
            (MODEL, &self.model),
            (SERIAL, &self.serial),
            (FIRMWARE, &self.firmware),
            (SOFTWARE, &self.software),
        ]
        .into_iter()
        .find(|(short, _)| uuid16(*short) == uuid)?
        .1;
        Some(text.as_bytes().to_vec())
    }
}

/// A read of the services every simulator carries: Battery Level, else a Device Information
/// string, else "not supported".
pub fn read_standard(
    characteristic: Uuid,
    battery: u8,
    info: &DeviceInformation,
) -> Result<Vec<u8>, AttError> {
    if characteristic == uuid16(BATTERY_LEVEL) {
        Ok(vec![battery])
    } else {
        info.read(characteristic).ok_or(AttError::NOT_SUPPORTED)
    }
}

/// The Battery service (Battery Level: read + notify).
pub fn battery_service() -> ServiceSpec {
    ServiceSpec {
        uuid: uuid16(BATTERY_SERVICE),
        characteristics: vec![CharacteristicSpec::new(
            uuid16(BATTERY_LEVEL),
            &[Flag::Read, Flag::Notify],
        )],
    }
}

/// The Device Information service (all strings read-only).
pub fn device_information_service() -> ServiceSpec {
    ServiceSpec {
        uuid: uuid16(DEVICE_INFORMATION),
        characteristics: [MANUFACTURER, MODEL, SERIAL, FIRMWARE, SOFTWARE]
            .into_iter()
            .map(|c| CharacteristicSpec::new(uuid16(c), &[Flag::Read]))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid16_uses_the_base_uuid() {
        assert_eq!(
            uuid16(0x2A19).to_string(),
            "00002a19-0000-1000-8000-00805f9b34fb"
        );
    }
}
