//! `stepwise`: the one binary. It wires the crates together and holds no logic of its own.

mod admin_cmd;
mod band_cmd;
mod demo_cmd;
mod engine_cmd;
mod serve_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Stepwise: pain-gated walking programmes for people living with chronic pain.
///
/// Patients walk a prescribed interval and report pain before, during and two hours after.
/// Once a week the progression engine raises the interval 10–20% only when pain two hours
/// after stayed within the therapist's limits; otherwise it holds, steps back, or asks a
/// therapist to look, always with reasons a patient can read.
#[derive(Parser)]
#[command(name = "stepwise", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How log lines are written to standard error: `text` for people, `json` (one object a
    /// line) for log collectors. What is logged is set by STEPWISE_LOG (default `info`).
    #[arg(
        long,
        global = true,
        env = "STEPWISE_LOG_FORMAT",
        default_value = "text"
    )]
    log_format: LogFormat,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web backend (API and weekly review job).
    Serve(serve_cmd::ServeArgs),
    /// Try Stepwise: a demo clinic with eight weeks of made-up history on a temporary
    /// database, served until Ctrl-C.
    Demo(demo_cmd::DemoArgs),
    /// Administration: create the first clinic and its admin.
    #[command(subcommand)]
    Admin(admin_cmd::AdminCommand),
    /// Run the progression engine on its own.
    #[command(subcommand)]
    Engine(engine_cmd::EngineCommand),
    /// The band collector: pair a fitness band with a server, read its steps and sleep over
    /// Bluetooth and upload them.
    Band(band_cmd::BandArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("STEPWISE_LOG")
                // bluez-async reports every connection at info level: noise beside a sync's
                // own progress lines.
                .unwrap_or_else(|_| "info,bluez_async=warn".into()),
        )
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    match cli.command {
        Command::Engine(cmd) => engine_cmd::run(cmd),
        Command::Serve(args) => report(serve_cmd::run(args)),
        Command::Demo(args) => report(demo_cmd::run(args)),
        Command::Admin(cmd) => report(admin_cmd::run(cmd)),
        Command::Band(args) => band_cmd::run(args),
    }
}

/// Prints an error chain as one readable message.
fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
