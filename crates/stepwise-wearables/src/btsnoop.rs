//! Android's Bluetooth HCI snoop log ("Enable Bluetooth HCI snoop log", `btsnoop_hci.log`),
//! read into the GATT events of a [`replay`](crate::replay) transcript.
//!
//! Format (RFC 1761's snoop, as BlueZ and Android write it): a 16-byte header `btsnoop\0`,
//! version u32 = 1, datalink u32 = 1002 (HCI packets with their H4 type byte first); then
//! records of original length u32, included length u32, flags u32 (bit 0: 1 = received by
//! the host, i.e. from the band), drops u32, timestamp i64 (microseconds since year 0), and
//! the packet. All header integers are big-endian.
//!
//! Only ACL data (H4 type 2) matters: fragments are joined into L2CAP frames per connection
//! and direction, and ATT (channel 4) is read: characteristic declarations from Read By Type
//! responses give the value handle of each characteristic UUID (the log's own discovery);
//! Write Request (0x12) and Write Command (0x52) from the phone, Handle Value Notification
//! (0x1B) and Indication (0x1D) from the band, and Read Responses (0x0B) paired with the
//! phone's Read Request (0x0A) become events. Handles the log never discovered can be named
//! by the caller.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::gatt::uuid16;
use crate::replay::{Event, From, Op};

/// Microseconds from year 0 to 1970-01-01 in btsnoop timestamps.
const EPOCH_OFFSET_MICROS: i64 = 0x00dc_ddb3_0f2f_8000;

/// Why a log could not be read: a one-line message naming the record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("btsnoop: {0}")]
pub struct Error(pub String);

/// The GATT events of a log, in order, and when the first packet was captured.
#[derive(Debug, Clone)]
pub struct Log {
    /// The events, with their bytes.
    pub events: Vec<(Event, Vec<u8>)>,
    /// The first record's time.
    pub first: Option<DateTime<Utc>>,
    /// Handles discovered in the log: value handle → characteristic UUID.
    pub handles: HashMap<u16, Uuid>,
}

/// Whether `bytes` start like a btsnoop log.
pub fn is_btsnoop(bytes: &[u8]) -> bool {
    bytes.starts_with(b"btsnoop\0")
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn le16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

/// Reads a log. `named` adds handle → UUID pairs (they win over the log's discovery).
pub fn parse(bytes: &[u8], named: &HashMap<u16, Uuid>) -> Result<Log, Error> {
    if !is_btsnoop(bytes) {
        return Err(Error("not a btsnoop log (no \"btsnoop\\0\" magic)".into()));
    }
    let version = be32(bytes, 8).ok_or_else(|| Error("the header is truncated".into()))?;
    let datalink = be32(bytes, 12).ok_or_else(|| Error("the header is truncated".into()))?;
    if version != 1 || datalink != 1002 {
        return Err(Error(format!(
            "version {version}, datalink {datalink}: only version 1 with H4 packets (1002) is read"
        )));
    }
    // (connection handle, from band) → partial L2CAP frame.
    let mut partial: HashMap<(u16, bool), Vec<u8>> = HashMap::new();
    let mut frames: Vec<(bool, DateTime<Utc>, Vec<u8>)> = Vec::new();
    let mut first = None;
    let mut at = 16;
    let mut record = 0usize;
    while at < bytes.len() {
        record += 1;
        let header = bytes
            .get(at..at + 24)
            .ok_or_else(|| Error(format!("record {record} is truncated (header)")))?;
        let included = be32(header, 4).unwrap_or(0) as usize;
        let from_band = be32(header, 8).unwrap_or(0) & 1 == 1;
        let micros = i64::from_be_bytes(header[16..24].try_into().unwrap_or([0; 8]));
        let when = DateTime::from_timestamp_micros(micros.saturating_sub(EPOCH_OFFSET_MICROS))
            .unwrap_or_default();
        first.get_or_insert(when);
        let packet = bytes
            .get(at + 24..at + 24 + included)
            .ok_or_else(|| Error(format!("record {record} is truncated ({included} bytes)")))?;
        at += 24 + included;
        let [0x02, rest @ ..] = packet else {
            continue; // commands, events, SCO
        };
        let (Some(handle_flags), Some(length)) = (le16(rest, 0), le16(rest, 2)) else {
            return Err(Error(format!("record {record}: a truncated ACL header")));
        };
        let data = rest
            .get(4..4 + usize::from(length))
            .ok_or_else(|| Error(format!("record {record}: ACL data shorter than its length")))?;
        let key = (handle_flags & 0x0fff, from_band);
        let frame = match (handle_flags >> 12) & 0b11 {
            0b01 => {
                let Some(buffer) = partial.get_mut(&key) else {
                    continue; // a continuation whose start was not captured
                };
                buffer.extend_from_slice(data);
                buffer
            }
            _ => partial.entry(key).insert_entry(data.to_vec()).into_mut(),
        };
        let Some(l2cap_length) = le16(frame, 0) else {
            continue;
        };
        if frame.len() >= usize::from(l2cap_length) + 4 {
            let frame = partial.remove(&key).unwrap_or_default();
            if le16(&frame, 2) == Some(0x0004) {
                let att = frame
                    .get(4..4 + usize::from(l2cap_length))
                    .unwrap_or_default();
                frames.push((from_band, when, att.to_vec()));
            }
        }
    }
    let mut handles: HashMap<u16, Uuid> = HashMap::new();
    for (from_band, _, att) in &frames {
        // Read By Type Response with characteristic declarations: 7 or 21 bytes each.
        if *from_band && let [0x09, size @ (7 | 21), entries @ ..] = att.as_slice() {
            for entry in entries.chunks_exact(usize::from(*size)) {
                let Some(value_handle) = le16(entry, 3) else {
                    continue;
                };
                let uuid = match entry.get(5..) {
                    Some(&[a, b]) => uuid16(u16::from_le_bytes([a, b])),
                    Some(long) if long.len() == 16 => {
                        let mut be: [u8; 16] = long.try_into().unwrap_or([0; 16]);
                        be.reverse();
                        Uuid::from_bytes(be)
                    }
                    _ => continue,
                };
                handles.insert(value_handle, uuid);
            }
        }
    }
    handles.extend(named.iter().map(|(h, u)| (*h, *u)));
    let mut events = Vec::new();
    let mut last_read: Option<u16> = None;
    for (from_band, when, att) in frames {
        let (op, from, handle, value, response) = match (from_band, att.as_slice()) {
            (false, [0x12, h0, h1, value @ ..]) => {
                (Op::Write, From::Collector, [*h0, *h1], value, Some(true))
            }
            (false, [0x52, h0, h1, value @ ..]) => {
                (Op::Write, From::Collector, [*h0, *h1], value, Some(false))
            }
            (false, [0x0a, h0, h1]) => {
                last_read = Some(u16::from_le_bytes([*h0, *h1]));
                continue;
            }
            (true, [0x1b | 0x1d, h0, h1, value @ ..]) => {
                (Op::Notify, From::Band, [*h0, *h1], value, None)
            }
            (true, [0x0b, value @ ..]) => {
                let Some(handle) = last_read.take() else {
                    continue;
                };
                (Op::Read, From::Band, handle.to_le_bytes(), value, None)
            }
            _ => continue,
        };
        let handle = u16::from_le_bytes(handle);
        let Some(characteristic) = handles.get(&handle).copied() else {
            continue; // CCCDs and other descriptors, undiscovered handles
        };
        events.push((
            Event {
                from,
                op,
                characteristic,
                hex: value.iter().map(|b| format!("{b:02x}")).collect(),
                response,
                at: Some(when),
                masked: false,
            },
            value.to_vec(),
        ));
    }
    Ok(Log {
        events,
        first,
        handles,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_a_log_and_truncated_logs_are_named_errors() {
        let named = HashMap::new();
        assert!(parse(b"hello", &named).unwrap_err().0.contains("magic"));
        let mut log = b"btsnoop\0".to_vec();
        log.extend_from_slice(&1u32.to_be_bytes());
        assert!(parse(&log, &named).unwrap_err().0.contains("header"));
        log.extend_from_slice(&1002u32.to_be_bytes());
        assert!(parse(&log, &named).unwrap().events.is_empty());
        log.extend_from_slice(&[0; 10]);
        assert!(parse(&log, &named).unwrap_err().0.contains("record 1"));
    }
}
