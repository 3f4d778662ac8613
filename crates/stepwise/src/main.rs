//! `stepwise`: the one binary. It wires the crates together and holds no logic of its own.

mod engine_cmd;

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
}

#[derive(Subcommand)]
enum Command {
    /// Run the progression engine on its own.
    #[command(subcommand)]
    Engine(engine_cmd::EngineCommand),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Engine(cmd) => engine_cmd::run(cmd),
    }
}
