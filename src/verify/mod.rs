//! Reruns reference cases (`../shared/reference/`) and compares every field they provide.
//!
//! Trajectory files (MotorNet, MuJoCo chain): reset from `initial_joint_state`, apply `actions` and the
//! constant loads, compare `joint`, `cartesian`, `muscle` and `geometry` at every step. A file may carry
//! `geometry` as an object of link parameters instead (the chain reference); those become parameter
//! overrides. Agreement: every element within `tolerance · (1 + |reference|)`.
//!
//! Reading is strict, because a verifier that skips what it cannot read passes without comparing. Every
//! field a kind of reference defines must be present (unless the reference README makes it optional) and
//! have the right type and shape — `batch × steps × …`, consistent with the file's `steps`, `batch`,
//! `n_muscles` and `dof` and then with the model's — and hold finite numbers; a top-level field the kind
//! does not define is an error unless it is one of the informational fields its generator writes
//! (`case`, `seed`, `description`, …, whose types are checked too); a duplicated key is an error. Every
//! message names the file and the field. Kinds of reference this version cannot run yet (3D MuJoCo,
//! OpenSim) are recognised and reported as
//! [`Outcome::Unsupported`], never run partially. A field that compares no element does not pass.
//!
//! Files: this one holds the reports, the kinds of reference and the entry points; `strict` the strict
//! JSON reader (`Doc`); `trajectory`, `gradient`, `geometry`, `policy` and `closed_loop` read and run one
//! kind each.

mod closed_loop;
mod geometry;
mod gradient;
mod policy;
mod strict;
mod trajectory;

use closed_loop::*;
pub use geometry::verify_geometry;
use geometry::*;
pub use gradient::verify_gradients;
use gradient::*;
use policy::*;
use strict::*;
pub use strict::{flatten, parse_json};
use trajectory::*;
pub use trajectory::{reference_overrides, verify_trajectory};

use motornet_runtime::{Effector, Error, Plant};
use serde_json::{Map, Value};
use std::fmt::Write as _;
use std::path::Path;

/// Tolerance of trajectory comparisons stated by the reference README.
pub const TRAJECTORY_TOLERANCE: f64 = 1e-6;

/// The largest error of one compared field.
#[derive(Clone, Debug)]
pub struct FieldError {
    pub field: String,
    /// Number of elements compared.
    pub count: usize,
    /// max |ours − ref| / (1 + |ref|)
    pub max_scaled: f64,
    pub max_abs: f64,
    /// Where the worst element is, e.g. "batch 2, step 17, muscle force of biceps".
    pub worst_at: String,
    pub tolerance: f64,
}

impl FieldError {
    /// True when at least one element was compared and every one is within tolerance (NaN fails).
    pub fn passed(&self) -> bool {
        self.count > 0 && self.max_scaled <= self.tolerance
    }
}

#[derive(Clone, Debug)]
pub struct CaseReport {
    pub case: String,
    pub model: String,
    pub fields: Vec<FieldError>,
}

impl CaseReport {
    /// True when something was compared and every field is within tolerance.
    pub fn passed(&self) -> bool {
        !self.fields.is_empty() && self.fields.iter().all(FieldError::passed)
    }
}

// ------------------------------------------------------------------------------------------------------
// Kinds of reference
// ------------------------------------------------------------------------------------------------------

/// The kinds of reference file (the folders of `../shared/reference/`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `motornet/`, `mujoco/chain3_torque_rk4.json`: state trajectories under given excitations and loads.
    Trajectory,
    /// `gradients/`: a trajectory loss and its gradient with respect to every excitation.
    Gradient,
    /// `mujoco/wrap_elbow.json`: muscle-path lengths and moment arms over a grid of postures.
    PathGeometry,
    /// `gru/`: a one-layer GRU policy, forward values and gradients.
    Gru,
    /// `closed_loop/`: whole training episodes (environment, GRU policy, loss and BPTT).
    ClosedLoop,
    /// `policies/`: other recurrent policy networks (RNN, LSTM, stacked GRU, CTRNN, modular GRU).
    Policy,
    /// `mujoco3d/`: 3D skeletons (trajectories) and tendons (path geometry).
    Mujoco3d,
    /// `opensim/`: OpenSim's Arm26 (not supported by this version).
    OpenSim,
}

impl Kind {
    /// Whether this version can run references of this kind.
    pub fn supported(self) -> bool {
        matches!(
            self,
            Kind::Trajectory
                | Kind::Gradient
                | Kind::PathGeometry
                | Kind::Gru
                | Kind::Policy
                | Kind::ClosedLoop
                | Kind::Mujoco3d
        )
    }

    /// What a reference of this kind holds, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Trajectory => "a state trajectory (motornet/, mujoco/ chain)",
            Kind::Gradient => "a trajectory-loss gradient (gradients/)",
            Kind::PathGeometry => "muscle-path geometry (mujoco/wrap_elbow)",
            Kind::Gru => "a GRU policy (gru/)",
            Kind::ClosedLoop => "a closed-loop training episode (closed_loop/)",
            Kind::Policy => "a recurrent policy network (policies/)",
            Kind::Mujoco3d => "a 3D MuJoCo skeleton or tendon case (mujoco3d/)",
            Kind::OpenSim => "an OpenSim model case (opensim/)",
        }
    }
}

/// The kind of a reference, from the fields that only that kind has; `None` when the value is not an
/// object or matches no kind.
pub fn classify(reference: &Value) -> Option<Kind> {
    let obj = reference.as_object()?;
    let has = |k: &str| obj.contains_key(k);
    let kind = if has("network") {
        Kind::Policy
    } else if has("observations") || has("hidden_states") || has("obs_layout") {
        Kind::ClosedLoop
    } else if has("model_file") || has("importer_features") || has("coordinates") || has("muscles")
    {
        Kind::OpenSim
    } else if has("wrap_rule")
        || has("joint_names")
        || has("energy")
        || obj.get("space_dim").and_then(Value::as_u64) == Some(3)
        || obj
            .get("geometry")
            .is_some_and(|g| g.get("conventions").is_some())
    {
        Kind::Mujoco3d
    } else if has("weight_ih") {
        Kind::Gru
    } else if has("samples") {
        Kind::PathGeometry
    } else if has("grad_actions_t_b_m") {
        Kind::Gradient
    } else if has("joint") {
        Kind::Trajectory
    } else {
        return None;
    };
    Some(kind)
}

// ------------------------------------------------------------------------------------------------------
// Files
// ------------------------------------------------------------------------------------------------------

/// Which model to run a reference on.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// A model file or built-in name; by default the built-in model named by the case.
    pub model: Option<String>,
    /// Run the interpreter even where a compiled model exists.
    pub interpreted: bool,
    /// Run native code compiled at run time (the JIT) even where a compiled model exists.
    pub jit: bool,
}

/// The case name of a reference: its `case` field, else the file name without `.seedN.json`.
pub fn case_name(path: &std::path::Path, reference: &Value) -> String {
    if let Some(c) = reference.get("case").and_then(Value::as_str) {
        return c.to_string();
    }
    let stem = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    stem.split('.').next().unwrap_or_default().to_string()
}

/// What came of one reference file.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// It was run and compared (see [`CaseReport::passed`]).
    Compared(CaseReport),
    /// A kind of reference this version cannot run; nothing was compared.
    Unsupported { file: String, kind: Kind },
}

/// Parses reference text and checks it on its own (types, shapes, finiteness, unknown fields), without
/// running a model: the reader [`verify_text`] starts with. Returns the kind; a kind this version cannot
/// run is returned without further checks.
pub fn check_text(file: &str, text: &str) -> Result<Kind, Error> {
    let reference = parse_json(file, text)?;
    check_value(file, &reference)
}

fn check_value(file: &str, reference: &Value) -> Result<Kind, Error> {
    let doc = top(file, reference)?;
    let Some(kind) = classify(reference) else {
        let keys: Vec<String> = doc.obj.keys().take(12).map(|k| short(k)).collect();
        return Err(Error::Input(format!(
            "{file}: not a kind of reference this version knows: it has none of `joint` (trajectory), \
             `grad_actions_t_b_m` (gradient), `samples` (path geometry), `weight_ih` (GRU); its fields: {}",
            if keys.is_empty() { "none".to_string() } else { keys.join(", ") }
        )));
    };
    match kind {
        Kind::Trajectory => {
            read_trajectory(&doc)?;
        }
        Kind::Gradient => {
            read_gradient(&doc)?;
        }
        Kind::PathGeometry => {
            read_geometry(&doc)?;
        }
        Kind::Mujoco3d if doc.obj.contains_key("joint") => {
            read_trajectory(&doc)?;
        }
        Kind::Mujoco3d => {
            read_geometry(&doc)?;
        }
        Kind::Gru => {
            read_gru(&doc)?;
        }
        Kind::ClosedLoop => check_closed_loop(&doc)?,
        _ => {}
    }
    Ok(kind)
}

/// Reads, runs and compares one reference given as text (`file` names it in messages and, when the text
/// has no `case` field, names the case).
pub fn verify_text(file: &str, text: &str, opts: &Options) -> Result<Outcome, Error> {
    let reference = parse_json(file, text)?;
    let kind = check_value(file, &reference)?;
    if !kind.supported() {
        return Ok(Outcome::Unsupported {
            file: file.to_string(),
            kind,
        });
    }
    match kind {
        Kind::Gru => return verify_gru(file, &reference).map(Outcome::Compared),
        Kind::Policy => return verify_policy(file, &reference).map(Outcome::Compared),
        Kind::ClosedLoop => {
            return verify_closed_loop(file, &reference, opts).map(Outcome::Compared)
        }
        _ => {}
    }
    // A spatial reference is a trajectory when it has states, else path geometry.
    let trajectory =
        kind == Kind::Trajectory || (kind == Kind::Mujoco3d && reference.get("joint").is_some());
    let case = match kind {
        // Geometry references carry no case name; they are named after their file.
        _ if !trajectory && kind != Kind::Gradient => {
            file.split('.').next().unwrap_or_default().to_string()
        }
        _ => case_name(Path::new(file), &reference),
    };
    let spec = match &opts.model {
        Some(m) => m.clone(),
        None => crate::models::for_case(&case)
            .ok_or_else(|| {
                Error::Input(format!(
                    "{file}: no built-in model for case `{}`; choose one with --model",
                    short(&case)
                ))
            })?
            .to_string(),
    };
    let (mut plant, backend) = crate::models::load_as(
        &spec,
        crate::models::Choice::from_flags(opts.interpreted, opts.jit),
    )?;
    let doc = top(file, &reference)?;
    let geometry = match kind {
        Kind::PathGeometry | Kind::Mujoco3d if !trajectory => Some(read_geometry(&doc)?),
        _ => None,
    };
    let overrides = match (&geometry, trajectory) {
        (Some(g), _) => g
            .radius
            .map(|r| ("elbow_cyl.radius".to_string(), r))
            .into_iter()
            .collect(),
        (None, true) => read_trajectory(&doc)?.links,
        _ => Vec::new(),
    };
    if !overrides.is_empty() {
        let mut values = plant.params().to_vec();
        for (name, v) in &overrides {
            let i = plant
                .info()
                .param_index(name)
                .ok_or_else(|| plant.info().unknown_param(name))?;
            values[i] = *v;
        }
        plant.set_params(&values)?;
    }
    let fields = match (kind, &geometry) {
        _ if trajectory => run_trajectory(file, plant, &reference)?,
        (Kind::Gradient, _) => run_gradients(file, plant, &reference)?,
        (_, Some(g)) => run_geometry(file, plant, g)?,
        _ => unreachable!("supported kinds are handled above"),
    };
    let backend = backend.name();
    Ok(Outcome::Compared(CaseReport {
        case: file.to_string(),
        model: format!("{spec} ({backend})"),
        fields,
    }))
}

/// The file name shown for a path.
fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Reads (a regular file of at most [`crate::input::MAX_DATA_BYTES`], UTF-8), runs and compares one
/// reference file.
pub fn verify_path(path: &Path, opts: &Options) -> Result<Outcome, Error> {
    let text = crate::input::read_text(path, "reference", crate::input::MAX_DATA_BYTES)?;
    verify_text(&display_name(path), &text, opts)
}

/// Reads and runs one reference file; a kind this version cannot run is an error.
pub fn verify_file(path: &Path, opts: &Options) -> Result<CaseReport, Error> {
    match verify_path(path, opts)? {
        Outcome::Compared(report) => Ok(report),
        Outcome::Unsupported { file, kind } => Err(Error::Input(format!(
            "{file}: {}: not supported by this version",
            kind.describe()
        ))),
    }
}

/// The largest error of one field, every element within `TRAJECTORY_TOLERANCE · (1 + |reference|)`
/// (NaN fails).
pub(super) fn compare_values(
    field: &str,
    reference: &[f64],
    ours: &dyn Fn(usize) -> f64,
    at: &dyn Fn(usize) -> String,
) -> FieldError {
    let mut worst = FieldError {
        field: field.to_string(),
        count: reference.len(),
        max_scaled: 0.0,
        max_abs: 0.0,
        worst_at: String::new(),
        tolerance: TRAJECTORY_TOLERANCE,
    };
    let mut worst_index = None;
    for (i, &r) in reference.iter().enumerate() {
        let abs = (ours(i) - r).abs();
        let scaled = if abs.is_nan() {
            f64::INFINITY
        } else {
            abs / (1.0 + r.abs())
        };
        if worst_index.is_none() || scaled > worst.max_scaled {
            worst.max_scaled = scaled;
            worst_index = Some(i);
        }
        worst.max_abs = worst.max_abs.max(abs);
    }
    if let Some(i) = worst_index {
        worst.worst_at = at(i);
    }
    worst
}
