use motornet::trajectory::{simulate, stream_csv, Loads, StreamError};
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
    /// Constant endpoint force `fx,fy` in newtons (`fx,fy,fz` for a spatial model).
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
    /// Use native code compiled at run time (the JIT) even for a built-in model; model files other than
    /// the built-in ones run on it by default.
    #[arg(long, conflicts_with = "interpreted")]
    jit: bool,
    /// Output file (`.csv` or `.json`); standard output (CSV) by default, or nothing with `--animate`.
    #[arg(long, short)]
    output: Option<std::path::PathBuf>,
    /// Also write an animation of the first effector, drawing the skeleton, the muscle paths (coloured by
    /// activation), the endpoint's path, the target (`--target`) and the applied endpoint force:
    /// `FILE.html` is a page with an SVG drawing and a scrubber, `FILE.gif` an animated image.
    #[arg(long, value_name = "FILE.html|FILE.gif")]
    animate: Option<std::path::PathBuf>,
    /// A target drawn in the animation, `x,y` in metres (`x,y,z` for a spatial model).
    #[arg(long, allow_hyphen_values = true, requires = "animate")]
    target: Option<String>,
}

/// Writes the animation of effector 0.
fn animate(
    a: &Args,
    path: &std::path::Path,
    joint0: &[f64],
    u: &Excitations,
    endpoint: &[f64],
    joint_load: &[f64],
) -> Result<(), Error> {
    let format = motornet::animate::Format::of(path)?;
    let plant = super::load_model(
        &a.model,
        motornet::models::Choice::from_flags(a.interpreted, a.jit),
        &a.overrides,
    )?;
    let model = motornet::show::model_of(&a.model)?;
    let target = a
        .target
        .as_deref()
        .map(|s| numbers("target", s))
        .transpose()?;
    let info = plant.info().clone();
    let params = plant.params().to_vec();
    let sd = info.space_dim;
    // A spatial effector is drawn in its front view (`motornet show`'s first).
    let view = motornet::show::views(&model, &params)[0];
    let spatial = |v: &[f64]| -> [f64; 3] {
        std::array::from_fn(|i| {
            if i < sd {
                v.get(i).copied().unwrap_or(0.0)
            } else {
                0.0
            }
        })
    };
    let target = match target.as_deref() {
        None => None,
        Some(t) if t.len() == sd => Some(view.project(spatial(t))),
        Some(_) => {
            return Err(Error::Input(format!(
                "--target: expected {}",
                if sd == 3 { "`x,y,z`" } else { "`x,y`" }
            )))
        }
    };
    let (m, steps, dof) = (info.n_muscles(), a.steps, info.dof());
    let dt = plant.timestep();
    let force = view.project(spatial(endpoint));
    let traj = simulate(
        plant,
        &joint0[..2 * dof],
        1,
        steps,
        |t| {
            let mut row = vec![0.0; m];
            u.fill(t, steps, m, &mut row);
            row
        },
        &endpoint[..endpoint.len().min(sd)],
        &joint_load[..joint_load.len().min(dof)],
    )?;
    let act_row = info
        .muscle_state_names
        .iter()
        .position(|n| n == "activation");
    let every = steps.div_ceil(format.max_frames()).max(1);
    let cart = info.cartesian().start;
    let frames: Vec<motornet::animate::Frame> = traj
        .states
        .iter()
        .enumerate()
        .filter(|(t, _)| t % every == 0 || *t == steps)
        .map(|(t, x)| motornet::animate::Frame {
            time: t as f64 * dt,
            scene: motornet::show::scene(&model, &params, &x[..dof]),
            endpoint: view.project(spatial(&x[cart..])),
            force: if t < steps { force } else { [0.0; 2] },
            target,
            activation: act_row
                .map_or_else(Vec::new, |r| x[info.muscle().start + r * m..][..m].to_vec()),
        })
        .collect();
    let title = format!("{} — {} steps of {dt} s", info.name, steps);
    let bytes = motornet::animate::render(format, &title, &info.muscle_names, &frames)?;
    super::write_output_file(path, &bytes)?;
    eprintln!(
        "wrote an animation of {} frames to {}",
        frames.len(),
        path.display()
    );
    Ok(())
}

fn numbers(what: &str, text: &str) -> Result<Vec<f64>, Error> {
    text.split(',').map(|s| number(what, s)).collect()
}

/// A finite number: NaN or infinity in an input is bad input, not something to simulate.
fn number(what: &str, text: &str) -> Result<f64, Error> {
    let shown = motornet::input::shorten(text.trim(), 40);
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(Error::Input(format!(
            "{what}: `{shown}` is not a finite number"
        ))),
        Err(_) => Err(Error::Input(format!("{what}: `{shown}` is not a number"))),
    }
}

/// The excitations of a simulation, produced step by step (a constant is never expanded over the steps).
enum Excitations {
    /// The same `n_muscles` values at every step, for every effector.
    Constant(Vec<f64>),
    /// One row of `n_muscles` per step, the same for every effector.
    PerStep(Vec<Vec<f64>>),
    /// `[effector][step][muscle]`, flattened.
    PerEffector(Vec<f64>),
}

impl Excitations {
    /// Fills the `batch × m` excitations of step `t`.
    fn fill(&self, t: usize, steps: usize, m: usize, u: &mut [f64]) {
        let batch = u.len() / m.max(1);
        for (b, row) in u.chunks_mut(m.max(1)).enumerate().take(batch) {
            match self {
                Excitations::Constant(v) => row.copy_from_slice(v),
                Excitations::PerStep(rows) => row.copy_from_slice(&rows[t]),
                Excitations::PerEffector(flat) => {
                    row.copy_from_slice(&flat[(b * steps + t) * m..(b * steps + t + 1) * m])
                }
            }
        }
    }
}

/// Reads `--excitation`: a number, `muscle=value,…`, or a CSV or JSON file. Every value must be finite.
fn excitations(
    spec: &str,
    info: &motornet::PlantInfo,
    batch: usize,
    steps: usize,
) -> Result<Excitations, Error> {
    let m = info.n_muscles();
    let path = std::path::Path::new(spec);
    let per_step: Vec<Vec<f64>> = if path.exists() {
        let text =
            motornet::input::read_text(path, "excitation file", motornet::input::MAX_DATA_BYTES)?;
        if spec.ends_with(".json") {
            let v: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| Error::Input(format!("{spec}: {e}")))?;
            let flat = motornet::verify::flatten(&v)?;
            if let Some(i) = flat.iter().position(|x| !x.is_finite()) {
                return Err(Error::Input(format!(
                    "{spec}: value {i} is not a finite number"
                )));
            }
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
                return Ok(Excitations::PerEffector(flat));
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
                if rows.len() == steps {
                    break;
                }
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
                        motornet::input::shorten(name.trim(), 40),
                        info.muscle_names.join(", ")
                    ))
                })?;
            row[k] = number("excitation", v)?;
        }
        return Ok(Excitations::Constant(row));
    } else {
        let v = number("excitation", spec).map_err(|e| match spec.parse::<f64>() {
            Ok(_) => e,
            Err(_) => Error::Input(format!(
                "excitation: `{}` is neither a number nor a file",
                motornet::input::shorten(spec, 40)
            )),
        })?;
        return Ok(Excitations::Constant(vec![v; m]));
    };
    if per_step.len() < steps {
        return Err(Error::Input(format!(
            "excitation: {} rows for {steps} steps",
            per_step.len()
        )));
    }
    for (t, row) in per_step.iter().take(steps).enumerate() {
        if row.len() != m {
            return Err(Error::Input(format!(
                "excitation: step {t} has {} values for {m} muscles",
                row.len()
            )));
        }
    }
    Ok(Excitations::PerStep(per_step))
}

/// Largest batch × state memory a simulation may ask for, and largest JSON output (which, unlike CSV,
/// is assembled in memory).
const MAX_BATCH_BYTES: usize = 4 << 30;
const MAX_JSON_BYTES: f64 = 2.0 * (1u64 << 30) as f64;

pub fn run(a: Args) -> Result<ExitCode, Error> {
    let plant = super::load_model(
        &a.model,
        motornet::models::Choice::from_flags(a.interpreted, a.jit),
        &a.overrides,
    )?;
    let info = plant.info().clone();
    let dof = info.dof();
    if a.batch == 0 || a.batch.saturating_mul(info.state_dim() * 8 * 4) > MAX_BATCH_BYTES {
        return Err(Error::Input(format!(
            "--batch {}: must be between 1 and {}",
            a.batch,
            MAX_BATCH_BYTES / (info.state_dim() * 8 * 4)
        )));
    }
    let json = a
        .output
        .as_ref()
        .is_some_and(|p| p.extension().is_some_and(|e| e == "json"));
    // About 20 bytes of text per number.
    let json_bytes = 20.0
        * (a.batch as f64)
        * (a.steps as f64 + 1.0)
        * (info.state_dim() + info.n_muscles()) as f64;
    if json && json_bytes > MAX_JSON_BYTES {
        return Err(Error::Input(format!(
            "--steps {} --batch {}: the JSON output would be about {:.1} GiB; write CSV (`-o FILE.csv`), which is streamed",
            a.steps,
            a.batch,
            json_bytes / (1u64 << 30) as f64
        )));
    }
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
    let (m, steps) = (info.n_muscles(), a.steps);
    let joint0 = joint.repeat(a.batch);
    if let Some(path) = &a.animate {
        animate(&a, path, &joint0, &u, &endpoint, &joint_load)?;
        if a.output.is_none() {
            return Ok(ExitCode::SUCCESS);
        }
    }
    if json {
        let path = a.output.as_ref().expect("json output has a path");
        let traj = simulate(
            plant,
            &joint0,
            a.batch,
            steps,
            |t| {
                let mut row = vec![0.0; a.batch * m];
                u.fill(t, steps, m, &mut row);
                row
            },
            &endpoint,
            &joint_load,
        )?;
        super::write_output_file(path, traj.to_json().to_string().as_bytes())?;
        eprintln!(
            "wrote {steps} steps of {} effector(s) to {}",
            a.batch,
            path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let fill = |t: usize, row: &mut [f64]| u.fill(t, steps, m, row);
    let loads = Loads {
        endpoint: &endpoint,
        joint: &joint_load,
    };
    let result = match &a.output {
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
            stream_csv(plant, &joint0, a.batch, steps, fill, loads, &mut out)
        }
        Some(path) => with_output_file(path, |out| {
            stream_csv(plant, &joint0, a.batch, steps, fill, loads, out)
        })?,
    };
    match result {
        Ok(()) => {
            if let Some(path) = &a.output {
                eprintln!(
                    "wrote {steps} steps of {} effector(s) to {}",
                    a.batch,
                    path.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(StreamError::Write(e)) => Err(super::output_error(e)),
        Err(StreamError::Simulation { step, error }) => Err(Error::Input(format!(
            "the simulation stopped in step {step}: {error}; the rows of steps 0 to {step} were written"
        ))),
    }
}

/// Runs `write` on the output file `path` (see [`super::write_output_file`]): the file is committed when
/// the simulation finished or stopped (its rows up to then are kept), and left untouched when writing
/// failed.
fn with_output_file(
    path: &std::path::Path,
    write: impl FnOnce(&mut dyn std::io::Write) -> Result<(), StreamError>,
) -> Result<Result<(), StreamError>, Error> {
    let fail = |e: std::io::Error| Error::Input(format!("cannot write {}: {e}", path.display()));
    if super::is_special(path) {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(fail)?;
        return Ok(write(&mut f));
    }
    let mut f = motornet::runtime::files::AtomicFile::create(path).map_err(fail)?;
    let result = write(&mut f);
    if let Err(StreamError::Write(e)) = result {
        return Err(fail(e));
    }
    f.commit().map_err(fail)?;
    Ok(result)
}
