//! `stepwise band sync --trace FILE`: a live sync written down as a transcript in
//! `stepwise band replay`'s format (`docs/wearables.md`), so a person with a real band can send
//! evidence (`docs/hardware-test.md`). A key written in clear during a first pairing is masked
//! (zeros, and `"masked": true` on its line); the transcript never holds a key.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde_json::json;
use stepwise_wearables::huami;
use uuid::Uuid;

use crate::clock::Clock;

/// An open transcript file; lines are appended and flushed one by one.
#[derive(Debug)]
pub struct Trace {
    out: Mutex<BufWriter<File>>,
    clock: Clock,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Trace {
    /// Creates (or truncates) `path`.
    pub fn create(path: &Path, clock: Clock) -> std::io::Result<Trace> {
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(path)?;
        Ok(Trace {
            out: Mutex::new(BufWriter::new(file)),
            clock,
        })
    }

    fn line(&self, value: serde_json::Value) {
        if let Ok(mut out) = self.out.lock() {
            // A trace is evidence, not the sync: a full disk must not stop the sync.
            let written = writeln!(out, "{value}").and_then(|()| out.flush());
            if let Err(err) = written {
                tracing::warn!(%err, "writing the trace");
            }
        }
    }

    /// Line 1: the device and the situation (the key is never written).
    pub fn header(&self, kind: &str, zone: &str, since: Option<DateTime<Utc>>) {
        self.line(json!({
            "device": kind,
            "key": null,
            "zone": zone,
            "now": self.clock.now(),
            "since": since,
            "start": "connect",
        }));
    }

    /// A write by the collector.
    pub fn write(&self, characteristic: Uuid, value: &[u8], with_response: bool) {
        let set_key = characteristic == huami::AUTH && value.len() == 18 && value[0] == 0x01;
        if set_key {
            let mut masked = value[..2].to_vec();
            masked.extend_from_slice(&[0; 16]);
            self.line(json!({
                "from": "collector", "op": "write", "char": characteristic,
                "hex": hex(&masked), "response": with_response, "masked": true,
                "at": self.clock.now(),
            }));
        } else {
            self.line(json!({
                "from": "collector", "op": "write", "char": characteristic,
                "hex": hex(value), "response": with_response, "at": self.clock.now(),
            }));
        }
    }

    /// A notification or a read value from the band.
    pub fn band(&self, op: &str, characteristic: Uuid, value: &[u8]) {
        self.line(json!({
            "from": "band", "op": op, "char": characteristic, "hex": hex(value),
            "at": self.clock.now(),
        }));
    }
}
