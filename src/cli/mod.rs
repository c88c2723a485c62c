//! Subcommands of the `motornet` program. Each is a thin layer over the library.

mod bench;
mod check;
mod simulate;
mod train;
mod verify;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "motornet",
    version,
    about = "Compile, simulate and verify musculoskeletal effector models"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check model files and report every problem with its location.
    Check(check::Args),
    /// Rerun reference cases and compare against them.
    Verify(verify::Args),
    /// Simulate a model and write its states to CSV or JSON.
    Simulate(simulate::Args),
    /// List a model's parameters (the names `--set` accepts), with values and units.
    Params(check::ParamsArgs),
    /// Print the Rust code `model!` generates for a model file.
    Expand(check::ExpandArgs),
    /// Measure simulation, adjoint and compilation speed.
    Bench(bench::Args),
    /// Train a recurrent controller on a task (defaults: arm26, random reaches).
    Train(train::Args),
    /// Rerun a training run's checkpoint deterministically and regenerate its plots.
    Eval(train::EvalArgs),
}

pub fn run(cli: Cli) -> Result<ExitCode, motornet::Error> {
    match cli.command {
        Command::Check(a) => check::run(a),
        Command::Verify(a) => verify::run(a),
        Command::Simulate(a) => simulate::run(a),
        Command::Params(a) => check::params(a),
        Command::Expand(a) => check::expand(a),
        Command::Bench(a) => bench::run(a),
        Command::Train(a) => train::run(a),
        Command::Eval(a) => train::eval(a),
    }
}

/// The model of a command: a built-in name or a file, with `--set` overrides applied.
pub fn load_model(
    spec: &str,
    interpreted: bool,
    overrides: &[String],
) -> Result<Box<dyn motornet::Plant>, motornet::Error> {
    let (mut plant, _) = motornet::models::load(spec, interpreted)?;
    plant.apply_overrides(overrides)?;
    Ok(plant)
}

/// Writes a command's output to standard output; a closed pipe (`motornet expand … | head`) ends the
/// program quietly instead of panicking.
pub fn print_stdout(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: writing the output: {e}");
        std::process::exit(2);
    }
}
