use motornet::trajectory::{simulate, write_atomic};
use motornet::{Error, Plant};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// A model file or built-in model name (e.g. `arm26`, `models/arm26.mnet`).
    model: String,
    /// Number of steps.
    #[arg(long, default_value_t = 100)]
    steps: usize,
    /// Number of effectors simulated side by side.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Initial joint positions (and optionally velocities), comma-separated, in radians / metres.
    /// Default: the middle of each joint's range (0 where unbounded).
    #[arg(long, allow_hyphen_values = true)]
    joint: Option<String>,
    /// Excitations: one number for every muscle, `muscle=value,…` (others 0), or a file: CSV with one row
    /// per step and one column per muscle (header optional), or JSON `[step][muscle]` or
    /// `[effector][step][muscle]`.
    #[arg(long, default_value = "0")]
    excitation: String,
    /// Constant endpoint force `fx,fy` in newtons.
    #[arg(long, allow_hyphen_values = true)]
    endpoint_load: Option<String>,
    /// Constant generalized forces on the joints, comma-separated.
    #[arg(long, allow_hyphen_values = true)]
    joint_load: Option<String>,
    /// Override a parameter: `--set biceps.max_force=500` or `--set "shoulder.range.max=120 deg"`.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    overrides: Vec<String>,
    /// Use the interpreter even for a built-in model.
    #[arg(long)]
    interpreted: bool,
    /// Output file (`.csv` or `.json`); standard output (CSV) by default.
    #[arg(long, short)]
    output: Option<std::path::PathBuf>,
}

fn numbers(what: &str, text: &str) -> Result<Vec<f64>, Error> {
    text.split(',')
        .map(|s| {
            s.trim()
                .parse::<f64>()
                .map_err(|_| Error::Input(format!("{what}: `{s}` is not a number")))
        })
        .collect()
}

/// `batch × n_muscles` excitations for each step.
fn excitations(
    spec: &str,
    info: &motornet::PlantInfo,
    batch: usize,
    steps: usize,
) -> Result<Vec<Vec<f64>>, Error> {
    let m = info.n_muscles();
    let path = std::path::Path::new(spec);
    let per_step: Vec<Vec<f64>> = if path.exists() {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Input(format!("cannot read {spec}: {e}")))?;
        if spec.ends_with(".json") {
            let v: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| Error::Input(format!("{spec}: {e}")))?;
            let flat = motornet::verify::flatten(&v)?;
            let depth = {
                let mut d = 0;
                let mut x = &v;
                while let Some(a) = x.as_array().and_then(|a| a.first()) {
                    d += 1;
                    x = a;
                }
                d
            };
            if depth == 3 {
                // [effector][step][muscle]
                if flat.len() != batch * steps * m {
                    return Err(Error::Input(format!(
                        "{spec}: expected {batch}×{steps}×{m} excitations, found {} values",
                        flat.len()
                    )));
                }
                return Ok((0..steps)
                    .map(|t| {
                        (0..batch)
                            .flat_map(|b| {
                                flat[(b * steps + t) * m..(b * steps + t + 1) * m].to_vec()
                            })
                            .collect()
                    })
                    .collect());
            }
            flat.chunks(m.max(1)).map(<[f64]>::to_vec).collect()
        } else {
            let mut rows = Vec::new();
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty()
                    || (i == 0 && line.chars().any(|c| c.is_ascii_alphabetic()))
                {
                    continue;
                }
                rows.push(numbers(&format!("{spec} line {}", i + 1), line)?);
            }
            rows
        }
    } else if spec.contains('=') {
        let mut row = vec![0.0; m];
        for part in spec.split(',') {
            let (name, v) = part.split_once('=').ok_or_else(|| {
                Error::Input(format!("excitation: `{part}` is not `muscle=value`"))
            })?;
            let k = info
                .muscle_names
                .iter()
                .position(|n| n == name.trim())
                .ok_or_else(|| {
                    Error::Input(format!(
                        "excitation: no muscle `{}` (muscles: {})",
                        name.trim(),
                        info.muscle_names.join(", ")
                    ))
                })?;
            row[k] = v
                .trim()
                .parse()
                .map_err(|_| Error::Input(format!("excitation: `{v}` is not a number")))?;
        }
        vec![row; steps]
    } else {
        let v: f64 = spec.parse().map_err(|_| {
            Error::Input(format!(
                "excitation: `{spec}` is neither a number nor a file"
            ))
        })?;
        vec![vec![v; m]; steps]
    };
    if per_step.len() < steps {
        return Err(Error::Input(format!(
            "excitation: {} rows for {steps} steps",
            per_step.len()
        )));
    }
    per_step
        .into_iter()
        .take(steps)
        .enumerate()
        .map(|(t, row)| {
            if row.len() != m {
                return Err(Error::Input(format!(
                    "excitation: step {t} has {} values for {m} muscles",
                    row.len()
                )));
            }
            Ok(row.repeat(batch))
        })
        .collect()
}

pub fn run(a: Args) -> Result<ExitCode, Error> {
    let plant = super::load_model(&a.model, a.interpreted, &a.overrides)?;
    let info = plant.info().clone();
    let dof = info.dof();
    let joint = match &a.joint {
        Some(s) => {
            let mut v = numbers("joint", s)?;
            if v.len() == dof {
                v.extend(std::iter::repeat_n(0.0, dof));
            }
            if v.len() != 2 * dof {
                return Err(Error::Input(format!(
                    "joint: expected {dof} positions (or {} positions and velocities)",
                    2 * dof
                )));
            }
            v
        }
        None => plant
            .bounds()
            .iter()
            .map(|b| {
                if b.lower.is_finite() && b.upper.is_finite() {
                    0.5 * (b.lower + b.upper)
                } else {
                    0.0
                }
            })
            .chain(std::iter::repeat_n(0.0, dof))
            .collect(),
    };
    let u = excitations(&a.excitation, &info, a.batch, a.steps)?;
    let endpoint = a
        .endpoint_load
        .as_deref()
        .map(|s| numbers("endpoint load", s))
        .transpose()?
        .unwrap_or_default();
    let joint_load = a
        .joint_load
        .as_deref()
        .map(|s| numbers("joint load", s))
        .transpose()?
        .unwrap_or_default();
    let traj = simulate(
        plant,
        &joint.repeat(a.batch),
        a.batch,
        a.steps,
        |t| u[t].clone(),
        &endpoint,
        &joint_load,
    )?;
    match &a.output {
        None => super::print_stdout(&traj.to_csv()),
        Some(path) => {
            let text = if path.extension().is_some_and(|e| e == "json") {
                traj.to_json().to_string()
            } else {
                traj.to_csv()
            };
            write_atomic(path, text.as_bytes())
                .map_err(|e| Error::Input(format!("cannot write {}: {e}", path.display())))?;
            eprintln!(
                "wrote {} steps of {} effector(s) to {}",
                a.steps,
                a.batch,
                path.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
