//! `stepwise serve` and the admin commands as child processes, as an operator runs them.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStderr, Command};

/// The binary under test.
pub const STEPWISE: &str = env!("CARGO_BIN_EXE_stepwise");

/// Runs `stepwise ARGS…` with `env` to the end; returns its standard output, panicking with
/// everything it said when it fails.
pub async fn stepwise(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(STEPWISE)
        .args(args)
        .envs(env.iter().copied())
        .env_remove("STEPWISE_DATABASE")
        .output()
        .await
        .expect("running stepwise");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "stepwise {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// A running `stepwise serve`: killed when dropped.
pub struct Served {
    /// The process.
    pub child: Child,
    /// `http://127.0.0.1:PORT` of the app.
    pub url: String,
    /// `http://127.0.0.1:PORT/metrics`, when `--metrics-listen` was given.
    pub metrics: Option<String>,
    /// What it wrote to standard error up to its address line.
    pub stderr: String,
    /// The rest of its standard error, line by line.
    pub rest: Lines<BufReader<ChildStderr>>,
}

/// `stepwise serve --database DATABASE --listen 127.0.0.1:0 EXTRA…` with `env`; returns once
/// it listens.
pub async fn serve(database: &str, extra: &[&str], env: &[(&str, &str)]) -> Served {
    let mut child = Command::new(STEPWISE)
        .args(["serve", "--database", database, "--listen", "127.0.0.1:0"])
        .args(extra)
        .env("STEPWISE_LOG", "info")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("starting stepwise serve");
    let mut lines = BufReader::new(child.stderr.take().expect("piped stderr")).lines();
    let mut said = String::new();
    let mut metrics = None;
    let url = loop {
        let Some(line) = lines.next_line().await.expect("reading stderr") else {
            panic!("stepwise serve stopped before listening:\n{said}");
        };
        said.push_str(&line);
        said.push('\n');
        if let Some(rest) = line.strip_prefix("Metrics for Prometheus: ") {
            metrics = Some(rest.trim().to_string());
        }
        if let Some(rest) = line.strip_prefix("Stepwise is listening on ") {
            break rest
                .split_whitespace()
                .next()
                .expect("an address")
                .to_string();
        }
    };
    Served {
        child,
        url,
        metrics,
        stderr: said,
        rest: lines,
    }
}

/// Pairs a Mi Band 4 at `address` with the one-time `code` at the server at `url`, as
/// `stepwise band pair` does; returns the upload token.
pub async fn pair_band(url: &str, code: &serde_json::Value, address: &str) -> String {
    let paired: serde_json::Value = reqwest::Client::new()
        .post(format!("{url}/api/v1/devices/pair"))
        .json(&serde_json::json!({"code": code,
            "device": {"kind": "mi-band-4", "address": address, "name": "Mi Smart Band 4"}}))
        .send()
        .await
        .expect("pairing")
        .json()
        .await
        .expect("the pairing answer");
    paired["token"]
        .as_str()
        .unwrap_or_else(|| panic!("an upload token: {paired}"))
        .to_string()
}
