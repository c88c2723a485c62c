//! `motornet show MODEL --out DIR`: figures of a model and warnings about what looks wrong.

use motornet::show::{inspect, model_of, summary, ShowOptions};
use motornet::Error;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// A model file or built-in model name (e.g. `arm26`, `my_arm.mnet`).
    model: String,
    /// Output directory for the figures (PNG and SVG) and `summary.txt`; created if missing.
    #[arg(long, short)]
    out: std::path::PathBuf,
    /// The posture shown, joint positions comma-separated (radians / metres). Default: the middle of each
    /// joint's range (0 where unbounded).
    #[arg(long, allow_hyphen_values = true)]
    joint: Option<String>,
    /// Override a parameter: `--set biceps.tendon_length=0.3` or `--set "shoulder.range.max=120 deg"`.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    overrides: Vec<String>,
    /// Grid points per coordinate of the workspace (fewer for models with more than two coordinates).
    #[arg(long, default_value_t = 31)]
    grid: usize,
    /// Use the interpreter even for a built-in model.
    #[arg(long)]
    interpreted: bool,
}

pub fn run(a: Args) -> Result<ExitCode, Error> {
    let plant = super::load_model(
        &a.model,
        motornet::models::Choice::from_flags(a.interpreted, false),
        &a.overrides,
    )?;
    let model = model_of(&a.model)?;
    if !(2..=201).contains(&a.grid) {
        return Err(Error::Input(format!(
            "--grid {}: must be between 2 and 201",
            a.grid
        )));
    }
    let joint = a
        .joint
        .as_deref()
        .map(|s| {
            s.split(',')
                .map(|v| {
                    let shown = motornet::input::shorten(v.trim(), 40);
                    match v.trim().parse::<f64>() {
                        Ok(x) if x.is_finite() => Ok(x),
                        _ => Err(Error::Input(format!(
                            "--joint: `{shown}` is not a finite number"
                        ))),
                    }
                })
                .collect::<Result<Vec<f64>, Error>>()
        })
        .transpose()?;
    let opts = ShowOptions {
        joint,
        grid: a.grid,
        ..ShowOptions::default()
    };
    let ins = inspect(&model, plant.as_ref(), &opts)?;
    let files = motornet::plots::plot_model(&a.out, &ins)
        .map_err(|e| Error::Input(format!("plotting: {e}")))?;
    let mut text = summary(&ins);
    if !ins.warnings.is_empty() {
        text.push_str("\nwarnings:\n");
        for w in &ins.warnings {
            text.push_str(&format!("  {w}\n"));
        }
    }
    let summary_path = a.out.join("summary.txt");
    super::write_output_file(&summary_path, text.as_bytes())?;
    super::print_stdout(&summary(&ins));
    for w in &ins.warnings {
        eprintln!("warning: {w}");
    }
    eprintln!(
        "wrote {} files and summary.txt to {}",
        files.len(),
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
