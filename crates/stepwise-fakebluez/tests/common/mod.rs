//! Runs a btleplug client in a child process (the test binary re-executed for one test)
//! whose `DBUS_SYSTEM_BUS_ADDRESS` points at the private bus. The child prints `@@<word>`
//! lines; the parent answers them (e.g. by injecting a link loss) and checks the exit code.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use btleplug::api::{Central, CentralEvent, Manager as _, Peripheral as _, ScanFilter};
use btleplug::platform::{Adapter, Manager, Peripheral};
use futures::StreamExt;

const CHILD_MARKER: &str = "STEPWISE_FAKEBLUEZ_TEST_CHILD";

/// True in the re-executed child.
pub fn is_child() -> bool {
    std::env::var_os(CHILD_MARKER).is_some()
}

/// In the child: runs `client` on a fresh runtime with a 60 s limit; panics (fails) on error.
pub fn run_child<F, Fut>(client: F)
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        match tokio::time::timeout(Duration::from_secs(60), client()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("client failed: {e:#}"),
            Err(_) => panic!("client timed out"),
        }
    });
}

/// In the parent: runs test `name` as a child on `bus_address`; `on_line` gets each `@@`
/// word the child prints. Panics unless the child passes.
pub fn run_parent(name: &str, bus_address: &str, mut on_line: impl FnMut(&str)) {
    let exe = std::env::current_exe().expect("current_exe");
    let mut child = Command::new(exe)
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env("DBUS_SYSTEM_BUS_ADDRESS", bus_address)
        .env(CHILD_MARKER, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("child stdout");
    let mut transcript = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("child output");
        transcript.push_str(&line);
        transcript.push('\n');
        // libtest prints "test name ... " without a newline first: the word may not
        // start the line.
        if let Some((_, word)) = line.split_once("@@") {
            on_line(word.trim());
        }
    }
    let status = child.wait().expect("wait child");
    assert!(
        status.success(),
        "child client failed ({status}); its output:\n{transcript}"
    );
    assert!(
        transcript.contains("1 passed"),
        "the child did not run the test; its output:\n{transcript}"
    );
}

/// Tells the parent something (a line `@@word`).
pub fn say(word: &str) {
    println!("@@{word}");
}

/// The fake's adapter, as btleplug sees it.
pub async fn adapter() -> anyhow::Result<Adapter> {
    let manager = Manager::new().await?;
    let adapters = manager.adapters().await?;
    adapters
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("btleplug found no adapter"))
}

/// Scans until a peripheral with `address` shows up (10 s at most).
pub async fn find(central: &Adapter, address: &str) -> anyhow::Result<Peripheral> {
    for _ in 0..100 {
        for p in central.peripherals().await? {
            if p.address().to_string().eq_ignore_ascii_case(address) {
                return Ok(p);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("{address} was not found by the scan")
}

/// Waits for a central event matching `pred` (10 s at most).
pub async fn wait_event(
    events: &mut (impl futures::Stream<Item = CentralEvent> + Unpin),
    mut pred: impl FnMut(&CentralEvent) -> bool,
) -> anyhow::Result<CentralEvent> {
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(e) = events.next().await {
            if pred(&e) {
                return Some(e);
            }
        }
        None
    })
    .await;
    match found {
        Ok(Some(e)) => Ok(e),
        Ok(None) => anyhow::bail!("the event stream ended"),
        Err(_) => anyhow::bail!("no matching event within 10 s"),
    }
}

/// Starts a scan with no filter.
pub async fn scan(central: &Adapter) -> anyhow::Result<()> {
    central.start_scan(ScanFilter::default()).await?;
    Ok(())
}
