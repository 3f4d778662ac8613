//! Progress of a sync on stderr: a progress bar on a terminal (indicatif), plain lines
//! otherwise (a log, a pipe, a test), or nothing.

use std::io::IsTerminal;
use std::time::Duration;

use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Where a sync reports how it goes.
pub trait Progress: Send {
    /// A step worth a line ("connected to Mi Smart Band 5").
    fn message(&mut self, text: &str);
    /// A fetch round starts: `minutes` minutes of data from `from`.
    fn round(&mut self, from: DateTime<Utc>, minutes: u32);
    /// Minutes of the round received so far.
    fn minutes(&mut self, received: u32, expected: u32);
    /// The band's part is over (successfully or not).
    fn finish(&mut self);
    /// Reading a file: `done` of `total` bytes (an import).
    fn bytes(&mut self, done: u64, total: u64) {
        let _ = (done, total);
    }
}

/// The right progress for stderr: a bar on a terminal, lines otherwise.
pub fn for_stderr() -> Box<dyn Progress> {
    if std::io::stderr().is_terminal() {
        Box::new(Bar::new())
    } else {
        Box::new(Lines::default())
    }
}

/// No progress at all.
#[derive(Debug, Default)]
pub struct Quiet;

impl Progress for Quiet {
    fn message(&mut self, _text: &str) {}
    fn round(&mut self, _from: DateTime<Utc>, _minutes: u32) {}
    fn minutes(&mut self, _received: u32, _expected: u32) {}
    fn finish(&mut self) {}
}

/// Plain lines on stderr: each message, each round, and every tenth of a round.
#[derive(Debug, Default)]
pub struct Lines {
    last_tenth: u32,
}

impl Progress for Lines {
    fn message(&mut self, text: &str) {
        eprintln!("{text}");
    }

    fn round(&mut self, from: DateTime<Utc>, minutes: u32) {
        self.last_tenth = 0;
        eprintln!(
            "fetching {} minutes from {}",
            crate::upload::thousands(u64::from(minutes)),
            from.format("%Y-%m-%d %H:%M UTC")
        );
    }

    fn minutes(&mut self, received: u32, expected: u32) {
        if expected == 0 {
            return;
        }
        let tenth = u32::try_from(u64::from(received) * 10 / u64::from(expected)).unwrap_or(10);
        if tenth > self.last_tenth {
            self.last_tenth = tenth;
            eprintln!(
                "received {} of {} minutes ({}%)",
                crate::upload::thousands(u64::from(received)),
                crate::upload::thousands(u64::from(expected)),
                tenth * 10
            );
        }
    }

    fn finish(&mut self) {}

    fn bytes(&mut self, done: u64, total: u64) {
        if total == 0 {
            return;
        }
        let tenth = u32::try_from(done.saturating_mul(10) / total).unwrap_or(10);
        if tenth > self.last_tenth {
            self.last_tenth = tenth;
            eprintln!("read {}%", tenth * 10);
        }
    }
}

/// A progress bar on the terminal.
#[derive(Debug)]
pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    /// A spinner until the first round starts.
    pub fn new() -> Bar {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        Bar { bar }
    }
}

impl Default for Bar {
    fn default() -> Self {
        Bar::new()
    }
}

impl Progress for Bar {
    fn message(&mut self, text: &str) {
        self.bar.println(text);
        self.bar.set_message(text.to_string());
    }

    fn round(&mut self, from: DateTime<Utc>, minutes: u32) {
        let style =
            ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} minutes ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
        self.bar.set_style(style);
        self.bar.set_length(u64::from(minutes));
        self.bar.set_position(0);
        self.bar
            .set_message(format!("from {}", from.format("%Y-%m-%d %H:%M UTC")));
    }

    fn minutes(&mut self, received: u32, _expected: u32) {
        self.bar.set_position(u64::from(received));
    }

    fn finish(&mut self) {
        self.bar.finish_and_clear();
    }

    fn bytes(&mut self, done: u64, total: u64) {
        if self.bar.length() != Some(total) {
            let style = ProgressStyle::with_template(
                "{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} ({eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            self.bar.set_style(style);
            self.bar.set_length(total);
        }
        self.bar.set_position(done);
    }
}
