//! The collector under test: the real `stepwise` binary, run as a child process whose
//! `DBUS_SYSTEM_BUS_ADDRESS` is the fake BlueZ's private bus, with its own outbox directory.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::Connection as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use stepwise_fakebluez::Bus;
use stepwise_testkit::unique_name;

/// Longest a single `stepwise band` command may run before the test gives up on it.
const COMMAND_LIMIT: Duration = Duration::from_secs(120);

/// How to run `stepwise band …` against one bus, with one outbox.
pub struct Collector {
    bus_address: String,
    pub dir: PathBuf,
    zone: String,
    clock_start: Option<DateTime<Utc>>,
}

/// A finished command.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// Panics with the output unless the command exited 0.
    pub fn expect_success(self, what: &str) -> Finished {
        assert!(self.status.success(), "{what} failed: {self}");
        self
    }

    /// Panics with the output unless the command exited non-zero.
    pub fn expect_failure(self, what: &str) -> Finished {
        assert!(!self.status.success(), "{what} should have failed: {self}");
        self
    }
}

impl std::fmt::Display for Finished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}\n--- stdout\n{}--- stderr\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

impl Collector {
    /// A collector with a fresh outbox directory, the band clock zone `zone`, and (for
    /// fixed-date tests) its clock started at `clock_start`.
    pub fn new(bus: &Bus, zone: &str, clock_start: Option<DateTime<Utc>>) -> Collector {
        Collector {
            bus_address: bus.address().to_string(),
            dir: std::env::temp_dir().join(unique_name("stepwise_band_outbox")),
            zone: zone.to_string(),
            clock_start,
        }
    }

    /// Starts the next commands' clock at `clock_start`: they run at another time of day.
    pub fn set_clock(&mut self, clock_start: DateTime<Utc>) {
        self.clock_start = Some(clock_start);
    }

    /// The command with its environment: the private bus, the outbox, the zone, the clock.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_stepwise"));
        command
            .arg("band")
            .args(args)
            .env("DBUS_SYSTEM_BUS_ADDRESS", &self.bus_address)
            .env("STEPWISE_BAND_DIR", &self.dir)
            .env("STEPWISE_BAND_ZONE", &self.zone)
            .env("STEPWISE_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        match self.clock_start {
            Some(start) => command.env("STEPWISE_BAND_CLOCK_START", start.to_rfc3339()),
            None => command.env_remove("STEPWISE_BAND_CLOCK_START"),
        };
        command
    }

    /// The InfiniTime step count the outbox last recorded (None before the first one), read
    /// from the outbox file while the collector may be running.
    pub async fn recorded_step_count(&self) -> Option<i64> {
        let path = self.dir.join("collector.sqlite");
        if !path.exists() {
            return None;
        }
        let options = SqliteConnectOptions::new().filename(&path).read_only(true);
        let mut connection = SqliteConnection::connect_with(&options).await.ok()?;
        // The watch's saved position is its last count and when: `count@unix-seconds`.
        let position: Option<String> =
            sqlx::query_scalar("SELECT position FROM devices WHERE kind = 'infinitime'")
                .fetch_optional(&mut connection)
                .await
                .ok()
                .flatten();
        let count: Option<i64> = position
            .as_deref()
            .and_then(|p| p.split_once('@'))
            .and_then(|(count, _)| count.parse().ok());
        let _ = connection.close().await;
        count
    }

    /// Starts `stepwise band ARGS` (e.g. `watch`), for a test that stops it itself.
    pub fn spawn(&self, args: &[&str]) -> Running {
        let child = self.command(args).spawn().expect("starting stepwise band");
        Running { child }
    }

    /// Runs `stepwise band ARGS` to the end, off the async runtime (the in-process server
    /// keeps serving meanwhile).
    pub async fn run(&self, args: &[&str]) -> Finished {
        let running = self.spawn(args);
        tokio::task::spawn_blocking(move || running.wait(COMMAND_LIMIT))
            .await
            .expect("waiting for stepwise band")
    }
}

/// A running `stepwise band` command; killed if the test ends without waiting for it.
pub struct Running {
    child: Child,
}

impl Running {
    /// The process id (for signals).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `limit` for the command to end (killing it after that) and collects its
    /// output.
    pub fn wait(mut self, limit: Duration) -> Finished {
        // Readers on their own threads: a full pipe must not block the child.
        let mut stdout = self.child.stdout.take().expect("piped stdout");
        let mut stderr = self.child.stderr.take().expect("piped stderr");
        let out = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stdout.read_to_string(&mut text);
            text
        });
        let err = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("polling the child") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let status = self.child.wait().expect("reaping the child");
                let (out, err) = (
                    out.join().unwrap_or_default(),
                    err.join().unwrap_or_default(),
                );
                panic!(
                    "stepwise band ran longer than {} s: {status}\n--- stdout\n{out}--- stderr\n{err}",
                    limit.as_secs()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Finished {
            status,
            stdout: out.join().unwrap_or_default(),
            stderr: err.join().unwrap_or_default(),
        }
    }

    /// Sends SIGINT (Ctrl-C), as a person stopping `watch` would.
    pub fn interrupt(&self) {
        let sent = Command::new("kill")
            .args(["-INT", &self.id().to_string()])
            .status()
            .expect("running kill");
        assert!(sent.success(), "kill -INT {}", self.id());
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
