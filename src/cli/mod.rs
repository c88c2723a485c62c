//! Subcommands of the `motornet` program. Each is a thin layer over the library.

mod analyze;
mod bench;
mod check;
mod import;
mod show;
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
    /// Draw a model (skeleton, muscle paths, moment arms, fibre lengths, muscle curves) and warn about
    /// muscles or settings that look wrong.
    Show(show::Args),
    /// List a model's parameters (the names `--set` accepts), with values and units.
    Params(check::ParamsArgs),
    /// Print the Rust code `model!` generates for a model file.
    Expand(check::ExpandArgs),
    /// Import an OpenSim model (.osim) as a .mnet file.
    Import(import::Args),
    /// Measure simulation, adjoint and compilation speed.
    Bench(bench::Args),
    /// Train a recurrent controller on a task (defaults: arm26, random reaches).
    Train(train::Args),
    /// Rerun a training run's checkpoint deterministically and regenerate its plots.
    Eval(train::EvalArgs),
    /// Analyse a trained network's activity: tuning, preferred directions, principal components.
    Analyze(analyze::Args),
}

pub fn run(cli: Cli) -> Result<ExitCode, motornet::Error> {
    match cli.command {
        Command::Check(a) => check::run(a),
        Command::Verify(a) => verify::run(a),
        Command::Simulate(a) => simulate::run(a),
        Command::Show(a) => show::run(a),
        Command::Params(a) => check::params(a),
        Command::Expand(a) => check::expand(a),
        Command::Import(a) => import::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Train(a) => train::run(a),
        Command::Eval(a) => train::eval(a),
        Command::Analyze(a) => analyze::run(a),
    }
}

/// The model of a command: a built-in name or a file, with `--set` overrides applied.
pub fn load_model(
    spec: &str,
    choice: motornet::models::Choice,
    overrides: &[String],
) -> Result<Box<dyn motornet::Plant>, motornet::Error> {
    let (mut plant, _) = motornet::models::load_as(spec, choice)?;
    plant.apply_overrides(overrides)?;
    Ok(plant)
}

/// Writes a command's output to standard output; a closed pipe (`motornet params arm26 | head`) ends the
/// program quietly, and any other failure (`> /dev/full`) is reported, never a panic.
pub fn print_stdout(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        let e = output_error(e);
        eprintln!("error: {e}");
        std::process::exit(2);
    }
}

/// `println!` through [`print_stdout`].
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::print_stdout(&format!("{}\n", format_args!($($arg)*)))
    };
}
pub(crate) use outln;

/// The error for a failed write of the output. A closed pipe is not an error of this program: it ends
/// quietly, as `head` expects.
pub fn output_error(e: std::io::Error) -> motornet::Error {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    motornet::Error::Input(format!("writing the output: {e}"))
}

/// Writes an output file: atomically (a temporary file renamed over it) when it is, or will be, a regular
/// file; directly when it is a device or a pipe (`-o /dev/stdout`), which must not be replaced.
pub fn write_output_file(path: &std::path::Path, bytes: &[u8]) -> Result<(), motornet::Error> {
    use std::io::Write;
    let fail =
        |e: std::io::Error| motornet::Error::Input(format!("cannot write {}: {e}", path.display()));
    if is_special(path) {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(fail)?;
        return f.write_all(bytes).and_then(|()| f.flush()).map_err(fail);
    }
    motornet::runtime::files::write_atomic(path, bytes).map_err(fail)
}

/// Whether `path` exists and is not a regular file (a device, a pipe).
pub fn is_special(path: &std::path::Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}
