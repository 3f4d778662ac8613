//! A private D-Bus daemon for one test: its own config, its own socket, gone on drop.
//!
//! The collector talks to BlueZ on the *system* bus. Pointing `DBUS_SYSTEM_BUS_ADDRESS` of a
//! child process at [`Bus::address`] makes that child talk to our fake instead, without root
//! and without touching the machine's real bus.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::Error;

/// Where Debian's `dbus-daemon` package installs the daemon.
const DEFAULT_DAEMON: &str = "/usr/bin/dbus-daemon";

/// A running private `dbus-daemon`; killed and its directory removed on drop.
#[derive(Debug)]
pub struct Bus {
    child: Child,
    address: String,
    dir: PathBuf,
}

impl Bus {
    /// Starts a private bus that lets anyone own any name and send or receive anything.
    ///
    /// Uses `/usr/bin/dbus-daemon`, or `dbus-daemon` from `PATH` when that file is missing.
    pub fn start() -> Result<Bus, Error> {
        let daemon = if Path::new(DEFAULT_DAEMON).exists() {
            PathBuf::from(DEFAULT_DAEMON)
        } else {
            PathBuf::from("dbus-daemon")
        };
        let dir = unique_dir()?;
        let config = dir.join("bus.conf");
        let socket = dir.join("bus.socket");
        std::fs::write(&config, config_text(&socket)).map_err(|e| Error::Bus {
            detail: format!("cannot write {}: {e}", config.display()),
        })?;
        // The daemon's complaints (e.g. it may not raise its fd limit) go to a log file,
        // quoted when it fails to start.
        let log = dir.join("daemon.log");
        let log_file = std::fs::File::create(&log).map_err(|e| Error::Bus {
            detail: format!("cannot create {}: {e}", log.display()),
        })?;
        let mut child = Command::new(&daemon)
            .arg(format!("--config-file={}", config.display()))
            .arg("--nofork")
            .arg("--print-address=1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .spawn()
            .map_err(|e| {
                let _ = std::fs::remove_dir_all(&dir);
                if e.kind() == std::io::ErrorKind::NotFound {
                    Error::NoDaemon
                } else {
                    Error::Bus {
                        detail: format!("cannot start {}: {e}", daemon.display()),
                    }
                }
            })?;
        // The daemon prints its address once it listens: reading that line is the readiness
        // signal, no sleeping needed.
        let mut line = String::new();
        let read = match child.stdout.take() {
            Some(out) => BufReader::new(out).read_line(&mut line),
            None => Ok(0),
        };
        let address = line.trim().to_owned();
        if read.is_err() || address.is_empty() {
            let _ = child.kill();
            let _ = child.wait();
            let said = std::fs::read_to_string(&log).unwrap_or_default();
            let _ = std::fs::remove_dir_all(&dir);
            return Err(Error::Bus {
                detail: format!(
                    "dbus-daemon exited without printing its address: {}",
                    said.trim()
                ),
            });
        }
        Ok(Bus {
            child,
            address,
            dir,
        })
    }

    /// The bus address, e.g. `unix:path=/tmp/…/bus.socket,guid=…`: the value for
    /// `DBUS_SYSTEM_BUS_ADDRESS`.
    pub fn address(&self) -> &str {
        &self.address
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn unique_dir() -> Result<PathBuf, Error> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let name = format!(
        "stepwise-fakebluez-{}-{}-{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let dir = std::env::temp_dir().join(name);
    std::fs::create_dir_all(&dir).map_err(|e| Error::Bus {
        detail: format!("cannot create {}: {e}", dir.display()),
    })?;
    Ok(dir)
}

fn config_text(socket: &Path) -> String {
    format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
  </policy>
  <limit name="max_incoming_bytes">1000000000</limit>
  <limit name="max_outgoing_bytes">1000000000</limit>
  <limit name="max_message_size">100000000</limit>
  <limit name="max_replies_per_connection">100000</limit>
  <limit name="max_match_rules_per_connection">100000</limit>
</busconfig>
"#,
        socket.display()
    )
}
