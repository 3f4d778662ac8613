//! `stepwise demo --listen 127.0.0.1:0`, the server the README starts, as a child process;
//! stopped with Ctrl-C (SIGINT) when the test is done or fails, so it deletes its temporary
//! database.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The running demo.
pub struct Demo {
    child: Child,
    /// Its address, `http://127.0.0.1:PORT`.
    pub url: String,
    /// What it printed up to and including the line with its address.
    pub stdout: String,
}

impl Demo {
    /// Starts the demo and reads its output up to the line with its address; panics with
    /// everything it said if it stops before listening.
    pub fn start() -> Demo {
        let mut child = Command::new(env!("CARGO_BIN_EXE_stepwise"))
            .args(["demo", "--listen", "127.0.0.1:0"])
            .env("STEPWISE_LOG", "warn")
            .env_remove("STEPWISE_LISTEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting stepwise demo");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let mut lines = BufReader::new(stdout).lines();
        let mut said = String::new();
        let url = loop {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.kill();
                let _ = child.wait();
                let mut err = String::new();
                let _ = stderr.read_to_string(&mut err);
                panic!("stepwise demo stopped before listening:\n{said}\n{err}");
            };
            said.push_str(&line);
            said.push('\n');
            if let Some(url) = line.strip_prefix("Stepwise demo is listening on ") {
                break url.trim().to_string();
            }
        };
        // Keep reading (and dropping) its output so it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        Demo {
            child,
            url,
            stdout: said,
        }
    }

    /// Sends Ctrl-C (SIGINT) and waits up to 20 s for the demo to stop.
    pub fn interrupt(&mut self) -> Option<ExitStatus> {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-INT", &pid]).status();
        if !sent.is_ok_and(|s| s.success()) {
            return None;
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        // Stopped the way a person would, so it deletes its temporary database (a failed
        // test leaves no temporary directory).
        if matches!(self.child.try_wait(), Ok(None)) && self.interrupt().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
