//! UUIDs of every GATT service and characteristic this crate uses, and decoders for the
//! standard Battery Level and Device Information characteristics.
//!
//! Standard (Bluetooth SIG) UUIDs are 16-bit numbers on the Bluetooth base UUID
//! `0000xxxx-0000-1000-8000-00805f9b34fb`; see [`uuid16`]. Huami's characteristics use their
//! own base `0000xxxx-0000-3512-2118-0009af100700`, InfiniTime's motion service its own
//! 128-bit UUIDs. The protocol modules re-export the ones they use under shorter names.

use uuid::Uuid;

use crate::DecodeError;

/// The Bluetooth base UUID with `short` as its 16-bit number:
/// `0000xxxx-0000-1000-8000-00805f9b34fb`.
pub const fn uuid16(short: u16) -> Uuid {
    Uuid::from_u128(0x0000_0000_0000_1000_8000_0080_5f9b_34fb | ((short as u128) << 96))
}

/// A Huami characteristic: `0000xxxx-0000-3512-2118-0009af100700`.
const fn huami_uuid(short: u16) -> Uuid {
    Uuid::from_u128(0x0000_0000_0000_3512_2118_0009_af10_0700 | ((short as u128) << 96))
}

/// Battery Service (0x180F).
pub const BATTERY_SERVICE: Uuid = uuid16(0x180F);
/// Battery Level (0x2A19): one byte, percent.
pub const BATTERY_LEVEL: Uuid = uuid16(0x2A19);
/// Device Information Service (0x180A).
pub const DEVICE_INFORMATION_SERVICE: Uuid = uuid16(0x180A);
/// Manufacturer Name String (0x2A29).
pub const MANUFACTURER_NAME: Uuid = uuid16(0x2A29);
/// Model Number String (0x2A24).
pub const MODEL_NUMBER: Uuid = uuid16(0x2A24);
/// Serial Number String (0x2A25).
pub const SERIAL_NUMBER: Uuid = uuid16(0x2A25);
/// Firmware Revision String (0x2A26).
pub const FIRMWARE_REVISION: Uuid = uuid16(0x2A26);
/// Software Revision String (0x2A28).
pub const SOFTWARE_REVISION: Uuid = uuid16(0x2A28);
/// Heart Rate Service (0x180D).
pub const HEART_RATE_SERVICE: Uuid = uuid16(0x180D);
/// Heart Rate Measurement (0x2A37).
pub const HEART_RATE_MEASUREMENT: Uuid = uuid16(0x2A37);
/// Current Time Service (0x1805).
pub const CURRENT_TIME_SERVICE: Uuid = uuid16(0x1805);
/// Current Time (0x2A2B): 10 bytes, writable on InfiniTime to set the watch's clock.
pub const CURRENT_TIME: Uuid = uuid16(0x2A2B);

/// Huami's main service (0xFEE0): fetch control and activity data.
pub const HUAMI_SERVICE_FEE0: Uuid = uuid16(0xFEE0);
/// Huami's second service (0xFEE1): authentication.
pub const HUAMI_SERVICE_FEE1: Uuid = uuid16(0xFEE1);
/// Huami authentication (…0009), in FEE1.
pub const HUAMI_AUTH: Uuid = huami_uuid(0x0009);
/// Huami fetch control (…0004), in FEE0.
pub const HUAMI_FETCH_CONTROL: Uuid = huami_uuid(0x0004);
/// Huami activity data (…0005), in FEE0.
pub const HUAMI_ACTIVITY_DATA: Uuid = huami_uuid(0x0005);
/// Huami realtime steps (…0007), in FEE0 (not used for history).
pub const HUAMI_REALTIME_STEPS: Uuid = huami_uuid(0x0007);

/// InfiniTime Motion Service.
pub const INFINITIME_MOTION_SERVICE: Uuid =
    Uuid::from_u128(0x0003_0000_78fc_48fe_8e23_433b_3a19_42d0);
/// InfiniTime step count: READ + NOTIFY, u32 LE, today's count.
pub const INFINITIME_STEP_COUNT: Uuid = Uuid::from_u128(0x0003_0001_78fc_48fe_8e23_433b_3a19_42d0);
/// InfiniTime raw motion values (never subscribed: it keeps the sensor awake).
pub const INFINITIME_RAW_MOTION: Uuid = Uuid::from_u128(0x0003_0002_78fc_48fe_8e23_433b_3a19_42d0);

/// Physical Activity Monitor Service (0x183E).
pub const PAMS_SERVICE: Uuid = uuid16(0x183E);
/// PAMS Physical Activity Monitor Features (0x2B3B).
pub const PAMS_FEATURES: Uuid = uuid16(0x2B3B);
/// PAMS General Activity Instantaneous Data (0x2B3C).
pub const PAMS_GENERAL_ACTIVITY_INSTANTANEOUS: Uuid = uuid16(0x2B3C);
/// PAMS General Activity Summary Data (0x2B3D).
pub const PAMS_GENERAL_ACTIVITY_SUMMARY: Uuid = uuid16(0x2B3D);
/// PAMS CardioRespiratory Activity Instantaneous Data (0x2B3E).
pub const PAMS_CARDIORESPIRATORY_INSTANTANEOUS: Uuid = uuid16(0x2B3E);
/// PAMS CardioRespiratory Activity Summary Data (0x2B3F).
pub const PAMS_CARDIORESPIRATORY_SUMMARY: Uuid = uuid16(0x2B3F);
/// PAMS Step Counter Activity Summary Data (0x2B40).
pub const PAMS_STEP_COUNTER_SUMMARY: Uuid = uuid16(0x2B40);
/// PAMS Sleep Activity Instantaneous Data (0x2B41).
pub const PAMS_SLEEP_INSTANTANEOUS: Uuid = uuid16(0x2B41);
/// PAMS Sleep Activity Summary Data (0x2B42).
pub const PAMS_SLEEP_SUMMARY: Uuid = uuid16(0x2B42);
/// PAMS Physical Activity Monitor Control Point (0x2B43).
pub const PAMS_CONTROL_POINT: Uuid = uuid16(0x2B43);
/// PAMS Activity Current Session (0x2B44).
pub const PAMS_CURRENT_SESSION: Uuid = uuid16(0x2B44);
/// PAMS Physical Activity Session Descriptor (0x2B45).
pub const PAMS_SESSION_DESCRIPTOR: Uuid = uuid16(0x2B45);

/// Decodes Battery Level (0x2A19): exactly one byte, a percentage 0–100.
pub fn decode_battery_level(value: &[u8]) -> Result<u8, DecodeError> {
    const WHAT: &str = "battery level";
    DecodeError::check_len(WHAT, value, 1)?;
    match value.first() {
        Some(&level) if level <= 100 => Ok(level),
        Some(&level) => Err(DecodeError::invalid(
            WHAT,
            format!("{level}% is more than 100%"),
        )),
        None => Err(DecodeError::Truncated {
            what: WHAT,
            expected: 1,
            got: 0,
        }),
    }
}

/// Most bytes accepted in a Device Information string.
pub const DIS_STRING_MAX: usize = 64;

/// Decodes a Device Information string (manufacturer, model, serial, firmware, software):
/// UTF-8, at most [`DIS_STRING_MAX`] bytes; trailing NUL bytes (padding some devices send)
/// are trimmed.
pub fn decode_dis_string(value: &[u8]) -> Result<String, DecodeError> {
    const WHAT: &str = "device information string";
    if value.len() > DIS_STRING_MAX {
        return Err(DecodeError::TooLong {
            what: WHAT,
            max: DIS_STRING_MAX,
            got: value.len(),
        });
    }
    let end = value.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let trimmed = value.get(..end).unwrap_or_default();
    std::str::from_utf8(trimmed)
        .map(str::to_owned)
        .map_err(|e| DecodeError::invalid(WHAT, format!("not UTF-8: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_uuids_sit_on_the_bluetooth_base() {
        assert_eq!(
            uuid16(0x2A19).to_string(),
            "00002a19-0000-1000-8000-00805f9b34fb"
        );
        assert_eq!(
            HUAMI_AUTH.to_string(),
            "00000009-0000-3512-2118-0009af100700"
        );
        assert_eq!(
            HUAMI_SERVICE_FEE0.to_string(),
            "0000fee0-0000-1000-8000-00805f9b34fb"
        );
        assert_eq!(
            INFINITIME_STEP_COUNT.to_string(),
            "00030001-78fc-48fe-8e23-433b3a1942d0"
        );
        assert_eq!(
            PAMS_SESSION_DESCRIPTOR.to_string(),
            "00002b45-0000-1000-8000-00805f9b34fb"
        );
    }

    #[test]
    fn battery_level_is_one_byte_up_to_100() {
        assert_eq!(decode_battery_level(&[0]), Ok(0));
        assert_eq!(decode_battery_level(&[100]), Ok(100));
        assert!(matches!(
            decode_battery_level(&[101]),
            Err(DecodeError::Invalid { .. })
        ));
        assert_eq!(
            decode_battery_level(&[]),
            Err(DecodeError::Truncated {
                what: "battery level",
                expected: 1,
                got: 0
            })
        );
        assert_eq!(
            decode_battery_level(&[50, 0]),
            Err(DecodeError::TooLong {
                what: "battery level",
                max: 1,
                got: 2
            })
        );
    }

    #[test]
    fn dis_strings_are_utf8_with_trailing_nuls_trimmed() {
        assert_eq!(decode_dis_string(b"Huami\0\0").as_deref(), Ok("Huami"));
        assert_eq!(decode_dis_string(b"V1.0.9").as_deref(), Ok("V1.0.9"));
        assert_eq!(decode_dis_string(b"").as_deref(), Ok(""));
        assert_eq!(decode_dis_string(b"\0\0").as_deref(), Ok(""));
        assert_eq!(
            decode_dis_string("Zürich".as_bytes()).as_deref(),
            Ok("Zürich")
        );
        assert!(matches!(
            decode_dis_string(&[0x66, 0xff, 0x66]),
            Err(DecodeError::Invalid { .. })
        ));
        assert!(decode_dis_string(&[b'a'; 64]).is_ok());
        assert_eq!(
            decode_dis_string(&[b'a'; 65]),
            Err(DecodeError::TooLong {
                what: "device information string",
                max: 64,
                got: 65
            })
        );
    }
}
