//! A real SMTP server for the e-mail tests: aiosmtpd (PyPI), run with the Python that
//! `scripts/python-venv smtp` sets up (`STEPWISE_SMTP_PYTHON`). It accepts every message and
//! stores it, as received, in a Maildir the test reads ([`SmtpServer::messages`]).

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the server may take to greet.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

/// One received message, decoded.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Mail {
    /// The `From` header.
    pub from: String,
    /// The `To` header.
    pub to: String,
    /// The `Subject` header.
    pub subject: String,
    /// The text body, its transfer encoding undone.
    pub body: String,
}

/// Prints a Maildir's messages as JSON, decoded by Python's `email` package.
const DECODE: &str = include_str!("../../../tests/smtp/decode.py");

/// A running aiosmtpd; stopped and its Maildir deleted on drop.
pub struct SmtpServer {
    child: Child,
    port: u16,
    dir: PathBuf,
}

/// The Python with aiosmtpd; panics with instructions when it is not set (tests never skip).
fn python() -> String {
    std::env::var("STEPWISE_SMTP_PYTHON").unwrap_or_else(|_| {
        panic!(
            "STEPWISE_SMTP_PYTHON is not set: the e-mail tests send to a real SMTP server. Run \
             scripts/test, or: export STEPWISE_SMTP_PYTHON=$(scripts/python-venv smtp)"
        )
    })
}

impl SmtpServer {
    /// Starts aiosmtpd on a free loopback port and waits for its greeting.
    pub fn start() -> SmtpServer {
        let python = python();
        let dir = std::env::temp_dir().join(crate::unique_name("stepwise_smtp"));
        std::fs::create_dir_all(&dir).expect("a Maildir directory");
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let child = Command::new(&python)
                .args(["-m", "aiosmtpd", "-n", "-l"])
                .arg(format!("127.0.0.1:{port}"))
                .args(["-c", "aiosmtpd.handlers.Mailbox"])
                .arg(dir.join("mail"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {python} -m aiosmtpd: {e}"));
            let mut server = SmtpServer {
                child,
                port,
                dir: dir.clone(),
            };
            if server.wait_for_greeting() {
                return server;
            }
            // The port was taken meanwhile, or the server died: try another.
            let _ = server.child.kill();
            let _ = server.child.wait();
            std::mem::forget(server);
        }
        let _ = std::fs::remove_dir_all(&dir);
        panic!("aiosmtpd ({python}) did not start on any of 5 ports")
    }

    fn wait_for_greeting(&mut self) -> bool {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if let Ok(stream) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let mut line = String::new();
                if BufReader::new(stream).read_line(&mut line).is_ok() && line.starts_with("220") {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// `smtp://127.0.0.1:PORT`, for `--smtp-url`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, oldest first, decoded by Python's own e-mail package
    /// (headers, transfer encodings), not by Stepwise's.
    pub fn messages(&self) -> Vec<Mail> {
        let new = self.dir.join("mail").join("new");
        if !new.is_dir() {
            return Vec::new();
        }
        let output = Command::new(python())
            .args(["-c", DECODE])
            .arg(&new)
            .output()
            .expect("running the Maildir decoder");
        assert!(
            output.status.success(),
            "decoding the Maildir: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("the decoder's JSON")
    }

    /// Waits (up to 10 s) until `count` messages have arrived, and returns them.
    pub async fn wait_for(&self, count: usize) -> Vec<Mail> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let messages = self.messages();
            if messages.len() >= count || Instant::now() > deadline {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
