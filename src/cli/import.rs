use super::outln;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The OpenSim model (.osim, OpenSim 4 format).
    model: std::path::PathBuf,
    /// Where to write the .mnet file (written atomically); standard output when not given.
    #[arg(short, long)]
    output: Option<std::path::PathBuf>,
}

/// Imports the model; every element the importer cannot carry is reported with its line and column, and
/// nothing is written then. Warnings (wraps that could not be placed) go to standard error.
pub fn run(a: Args) -> Result<ExitCode, motornet::Error> {
    let imported = motornet::import::import_file(&a.model)?;
    for w in &imported.warnings {
        eprintln!("warning: {w}");
    }
    match &a.output {
        Some(path) => {
            super::write_output_file(path, imported.text.as_bytes())?;
            let m = &imported.model;
            eprintln!(
                "wrote {}: {} bodies, {} joints, {} wrap objects, {} muscles",
                path.display(),
                m.bodies.len(),
                m.joints.len(),
                m.wraps.len(),
                m.muscles.len()
            );
        }
        None => outln!("{}", imported.text.trim_end()),
    }
    Ok(ExitCode::SUCCESS)
}
