//! `motornet show`: what a model looks like and whether its muscles make sense.
//!
//! [`inspect`] evaluates a model at postures and gathers everything the figures and the warnings need:
//!
//! - the **scene** at one posture: bodies, joints, obstacles and muscle paths in world coordinates, from the
//!   compiler's kinematics (`motornet_dsl::lower::world_points_with`, the function the step is built
//!   from), the endpoint from the plant, and the reachable workspace (endpoints of a grid of postures);
//! - **joint sweeps**: each coordinate across its range with the others at the posture, reading the
//!   plant's own geometry rows (musculotendon length, dL/dq) after a reset there;
//! - the **workspace**: at every grid posture, each muscle's normalised fibre length (the plant's
//!   `muscle length` row over its optimal length) and whether it is slack (musculotendon length at or
//!   below the tendon length, so the fibre has no length) or outside the force–length curve's useful range;
//! - **muscle curves**: force–length, force–velocity (the muscle model's own equations,
//!   `motornet_dsl::muscles::muscle_terms`) and activation dynamics (the plant stepped with a pulse of
//!   full excitation);
//! - a **summary**: the mass matrix's conditioning across the workspace (from the step's response to joint
//!   loads: for an explicit step, `Δq̇ = dt·M⁻¹·τ`) and each muscle's maximal isometric endpoint force at
//!   the posture;
//! - **warnings**: every muscle or setting that looks wrong, by name.
//!
//! Nothing here re-derives the physics: lengths, moment arms, fibre lengths and the endpoint come from the
//! plant's state; positions of path points from the compiler's kinematics; forces from the muscle model.

use crate::dsl::model::{BodyRef, JointKind, Model, Path, PathElementRef, Sym, WrapSideRef};
use crate::dsl::muscles::{muscle_terms, MuscleKind};
use crate::{Error, Plant};

/// The fraction of the maximal active force below which a fibre length is outside the force–length
/// curve's useful range.
pub const USEFUL_FORCE_FRACTION: f64 = 0.05;
/// A muscle is reported when it is slack or outside its useful range at more than this fraction of the
/// workspace's postures.
pub const WARN_FRACTION: f64 = 0.05;
/// Most postures of the workspace grid.
pub const MAX_POSTURES: usize = 20_000;
/// Condition number of the mass matrix above which the skeleton is reported as nearly singular.
pub const MAX_CONDITION: f64 = 1e6;

/// Settings of [`inspect`].
#[derive(Clone, Debug)]
pub struct ShowOptions {
    /// The posture shown (joint positions); default: the middle of each range (0 where unbounded).
    pub joint: Option<Vec<f64>>,
    /// Grid points per coordinate for the workspace (fewer are used for models with many coordinates).
    pub grid: usize,
    /// Samples of each joint sweep.
    pub sweep: usize,
}

impl Default for ShowOptions {
    fn default() -> Self {
        ShowOptions {
            joint: None,
            grid: 31,
            sweep: 61,
        }
    }
}

/// A muscle path drawn in the scene.
#[derive(Clone, Debug, Default)]
pub struct MusclePath {
    /// World positions along the path (via points, and arcs where it wraps).
    pub points: Vec<[f64; 2]>,
    /// The via points themselves (a subset of `points`).
    pub via: Vec<[f64; 2]>,
    /// Lumped paths have no geometry.
    pub lumped: bool,
}

/// The model at one posture, in world coordinates.
#[derive(Clone, Debug, Default)]
pub struct Scene {
    /// Per body: its name, frame origin and tip (the origin when its length is 0).
    pub bodies: Vec<(String, [f64; 2], [f64; 2])>,
    /// Per joint: its name and world position.
    pub joints: Vec<(String, [f64; 2])>,
    /// Per obstacle: name, centre, radius.
    pub obstacles: Vec<(String, [f64; 2], f64)>,
    pub muscles: Vec<MusclePath>,
    pub endpoint: [f64; 2],
    /// Endpoints of the workspace grid's postures.
    pub workspace: Vec<[f64; 2]>,
    /// Per muscle: its maximal isometric endpoint force at the posture (N), when the endpoint Jacobian has
    /// full rank.
    pub endpoint_forces: Vec<Option<[f64; 2]>>,
}

/// One coordinate swept across its range, the others at the posture.
#[derive(Clone, Debug)]
pub struct Sweep {
    pub coord: usize,
    pub values: Vec<f64>,
    /// `[muscle][sample]`, m.
    pub length: Vec<Vec<f64>>,
    /// `[muscle][sample]`: dL/dq of this coordinate (m per rad, or m per m for a slide).
    pub moment_arm: Vec<Vec<f64>>,
}

/// Where a fibre stands at one posture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FibreStatus {
    Useful,
    /// The musculotendon is no longer than its tendon: the fibre has no length and produces no force.
    Slack,
    /// Shorter than the useful range.
    Short,
    /// Longer than the useful range.
    Long,
}

/// The workspace grid.
#[derive(Clone, Debug, Default)]
pub struct Workspace {
    /// Joint positions of each sample.
    pub postures: Vec<Vec<f64>>,
    pub endpoints: Vec<[f64; 2]>,
    /// `[muscle][sample]`: fibre length over optimal length.
    pub fibre: Vec<Vec<f64>>,
    pub status: Vec<Vec<FibreStatus>>,
}

/// A muscle's curves, from its model's equations at its parameters.
#[derive(Clone, Debug, Default)]
pub struct Curves {
    /// Normalised fibre lengths, and the active (full activation, isometric) and passive forces there,
    /// in units of the maximal force.
    pub length: Vec<f64>,
    pub active: Vec<f64>,
    pub passive: Vec<f64>,
    /// Normalised lengthening velocities (in the model's `vmax` units: negative is shortening), and the
    /// active force at the optimal length and full activation.
    pub velocity: Vec<f64>,
    pub force_velocity: Vec<f64>,
    /// The useful range of normalised fibre lengths: where the active force–length curve is at least
    /// [`USEFUL_FORCE_FRACTION`].
    pub useful: (f64, f64),
}

/// Everything `motornet show` draws and reports.
#[derive(Clone, Debug, Default)]
pub struct Inspection {
    pub name: String,
    pub coord_names: Vec<String>,
    /// Per coordinate: whether it is an angle (a hinge's) rather than a distance (a slide's).
    pub angular: Vec<bool>,
    pub muscle_names: Vec<String>,
    /// The muscle model's name (`None` without muscles).
    pub muscle_model: Option<String>,
    /// Whether the muscle model has a fibre (every model but the ReLU muscle).
    pub has_fibre: bool,
    pub posture: Vec<f64>,
    pub scene: Scene,
    pub sweeps: Vec<Sweep>,
    pub workspace: Workspace,
    pub curves: Vec<Curves>,
    /// Activation after a step to full excitation at t = 0 and back to none at `activation_release`:
    /// times (s) and `[muscle][sample]`.
    pub activation_time: Vec<f64>,
    pub activation: Vec<Vec<f64>>,
    pub activation_release: f64,
    /// Smallest and largest condition number of the mass matrix over the workspace's interior postures.
    pub condition: Option<(f64, f64)>,
    /// Warnings, each naming the muscle or setting.
    pub warnings: Vec<String>,
}

/// The checked model of a command's model argument (a `.mnet` file or a built-in name).
pub fn model_of(spec: &str) -> Result<Model, Error> {
    let path = std::path::Path::new(spec);
    let text = if path.exists() {
        crate::input::read_text(path, "model", crate::input::MAX_MODEL_BYTES)?
    } else {
        crate::models::source(spec)
            .ok_or_else(|| Error::Input(format!("no model file or built-in model `{spec}`")))?
            .to_string()
    };
    let (model, diags) = crate::dsl::check::compile_source(&text);
    model.ok_or_else(|| {
        Error::Input(format!(
            "{spec}: {} problem(s); run `motornet check {spec}`",
            diags.len()
        ))
    })
}

/// The default posture: the middle of each coordinate's range, 0 where unbounded.
pub fn mid_posture(plant: &dyn Plant) -> Vec<f64> {
    plant
        .bounds()
        .iter()
        .map(|b| {
            if b.lower.is_finite() && b.upper.is_finite() {
                0.5 * (b.lower + b.upper)
            } else {
                0.0
            }
        })
        .collect()
}

/// The range a coordinate is swept over: its bounds, or ±π where unbounded.
fn sweep_range(b: &crate::runtime::Bounds) -> (f64, f64) {
    let lo = if b.lower.is_finite() {
        b.lower
    } else {
        -std::f64::consts::PI
    };
    let hi = if b.upper.is_finite() {
        b.upper
    } else {
        std::f64::consts::PI
    };
    (lo, hi)
}

fn linspace(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if n <= 1 {
        return vec![0.5 * (lo + hi)];
    }
    (0..n)
        .map(|k| lo + (hi - lo) * k as f64 / (n - 1) as f64)
        .collect()
}

/// Evaluates `model` (checked, the same model as `plant`, whose parameters may be overridden) at
/// postures; see the module documentation.
pub fn inspect(model: &Model, plant: &dyn Plant, opts: &ShowOptions) -> Result<Inspection, Error> {
    let info = plant.info().clone();
    let (dof, m) = (info.dof(), info.n_muscles());
    if model.params.len() != info.params.len() || model.dof() != dof {
        return Err(Error::Input(
            "the model and the plant differ (internal error)".into(),
        ));
    }
    let params = plant.params().to_vec();
    let posture = match &opts.joint {
        Some(q) => {
            if q.len() != dof {
                return Err(Error::Input(format!(
                    "--joint: expected {dof} positions ({}), got {}",
                    info.coord_names.join(", "),
                    q.len()
                )));
            }
            if let Some(k) = q.iter().position(|v| !v.is_finite()) {
                return Err(Error::Input(format!(
                    "--joint: the position of `{}` is not a finite number",
                    info.coord_names[k]
                )));
            }
            q.clone()
        }
        None => mid_posture(plant),
    };
    let mut ws = plant.workspace();
    let mut state = vec![0.0; info.state_dim()];
    let mut reset = |q: &[f64], qd: &[f64], state: &mut Vec<f64>| -> Result<(), Error> {
        let joint: Vec<f64> = q.iter().chain(qd).copied().collect();
        plant.reset(&mut ws, &joint, state)
    };
    let zeros = vec![0.0; dof];
    let geo = info.geometry().start;
    let cart = info.cartesian().start;
    let n_geo = info.geometry_state_names.len();
    let length_of = |s: &[f64], i: usize| s[geo + i];
    let moment_of = |s: &[f64], i: usize, k: usize| s[geo + (2 + k) * m + i];
    let fibre_row = info
        .muscle_state_names
        .iter()
        .position(|n| n == "muscle length");
    let has_fibre =
        m > 0 && info.muscle_model.as_deref() != Some("ReluMuscle") && fibre_row.is_some();
    debug_assert!(n_geo >= 2 || m == 0);

    // Muscle parameters at the plant's values, in each kind's order.
    let muscle_params: Vec<Vec<f64>> = model
        .muscles
        .iter()
        .map(|mu| mu.params.iter().map(|s| s.eval(&params)).collect())
        .collect();
    let param = |i: usize, name: &str| -> Option<f64> {
        let mu = &model.muscles[i];
        mu.kind
            .params()
            .iter()
            .position(|p| p.name == name)
            .map(|k| muscle_params[i][k])
    };
    let norms = plant.muscle_normalizers().to_vec();

    let mut out = Inspection {
        name: info.name.clone(),
        coord_names: info.coord_names.clone(),
        angular: model
            .coords
            .iter()
            .map(|c| model.joints[c.joint.index()].kind == JointKind::Hinge)
            .collect(),
        muscle_names: info.muscle_names.clone(),
        muscle_model: info.muscle_model.clone(),
        has_fibre,
        posture: posture.clone(),
        ..Inspection::default()
    };

    // Curves, and the useful range of each muscle.
    for (i, mu) in model.muscles.iter().enumerate() {
        out.curves.push(curves(
            mu.kind,
            &muscle_params[i],
            param(i, "optimal_length"),
            param(i, "tendon_length"),
            norms[i][1],
        ));
    }

    // The scene at the posture.
    reset(&posture, &zeros, &mut state)?;
    out.scene = scene(model, &params, &posture);
    out.scene.endpoint = [state[cart], state[cart + 1]];
    let posture_state = state.clone();

    // The endpoint Jacobian (columns: the endpoint velocity for a unit velocity of each coordinate) and
    // each muscle's isometric endpoint force at full activation.
    let mut jac = vec![[0.0; 2]; dof];
    for (k, col) in jac.iter_mut().enumerate() {
        let mut qd = zeros.clone();
        qd[k] = 1.0;
        reset(&posture, &qd, &mut state)?;
        *col = [state[cart + 2], state[cart + 3]];
    }
    out.scene.endpoint_forces = (0..m)
        .map(|i| {
            let len = length_of(&posture_state, i);
            let f = muscle_terms(model.muscles[i].kind, &muscle_params[i], 1.0, len, 0.0).force;
            let tau: Vec<f64> = (0..dof)
                .map(|k| -f * moment_of(&posture_state, i, k))
                .collect();
            endpoint_force(&jac, &tau)
        })
        .collect();

    // Joint sweeps.
    let bounds = plant.bounds().to_vec();
    for k in 0..dof {
        let (lo, hi) = sweep_range(&bounds[k]);
        let values = linspace(lo, hi, opts.sweep.max(2));
        let mut sweep = Sweep {
            coord: k,
            values: values.clone(),
            length: vec![Vec::new(); m],
            moment_arm: vec![Vec::new(); m],
        };
        for &v in &values {
            let mut q = posture.clone();
            q[k] = v;
            reset(&q, &zeros, &mut state)?;
            for i in 0..m {
                sweep.length[i].push(length_of(&state, i));
                sweep.moment_arm[i].push(moment_of(&state, i, k));
            }
        }
        out.sweeps.push(sweep);
    }

    // The workspace grid.
    let per_axis = match dof {
        0 => 1,
        1 => opts.grid.max(2) * 2,
        2 => opts.grid.max(2),
        3 => (opts.grid / 2).max(2),
        _ => 4,
    };
    // At most MAX_POSTURES postures: fewer points per axis rather than a truncated grid.
    let mut per_axis = per_axis;
    while per_axis > 2 && (per_axis as f64).powi(dof as i32) > MAX_POSTURES as f64 {
        per_axis -= 1;
    }
    let axes: Vec<Vec<f64>> = bounds
        .iter()
        .map(|b| {
            let (lo, hi) = sweep_range(b);
            linspace(lo, hi, per_axis)
        })
        .collect();
    let total = axes
        .iter()
        .map(Vec::len)
        .fold(1usize, |a, n| a.saturating_mul(n))
        .min(MAX_POSTURES);
    out.workspace.fibre = vec![Vec::new(); m];
    out.workspace.status = vec![Vec::new(); m];
    let mut conds: Vec<f64> = Vec::new();
    let mut singular_at: Option<Vec<f64>> = None;
    let mut ws_step = plant.workspace();
    for n in 0..total {
        let mut rest = n;
        let mut interior = true;
        let q: Vec<f64> = axes
            .iter()
            .map(|a| {
                let j = rest % a.len();
                rest /= a.len();
                interior &= j > 0 && j + 1 < a.len();
                a[j]
            })
            .collect();
        reset(&q, &zeros, &mut state)?;
        out.workspace.endpoints.push([state[cart], state[cart + 1]]);
        for i in 0..m {
            let len = length_of(&state, i);
            let fibre = match fibre_row {
                Some(r) if has_fibre => state[info.muscle().start + r * m + i] / norms[i][0],
                _ => f64::NAN,
            };
            let slack = param(i, "tendon_length").is_some_and(|t| len <= t);
            let (lo, hi) = out.curves[i].useful;
            let status = if !has_fibre {
                FibreStatus::Useful
            } else if slack {
                FibreStatus::Slack
            } else if fibre < lo {
                FibreStatus::Short
            } else if fibre > hi {
                FibreStatus::Long
            } else {
                FibreStatus::Useful
            };
            out.workspace.fibre[i].push(fibre);
            out.workspace.status[i].push(status);
        }
        out.workspace.postures.push(q.clone());
        if interior || dof == 0 {
            match mass_condition(plant, &mut ws_step, &state, dof) {
                Some(c) => conds.push(c),
                None => {
                    if singular_at.is_none() {
                        singular_at = Some(q.clone());
                    }
                }
            }
        }
    }
    out.scene.workspace = out.workspace.endpoints.clone();
    if let Some(lo) = conds.iter().copied().reduce(f64::min) {
        let hi = conds.iter().copied().fold(lo, f64::max);
        out.condition = Some((lo, hi));
    }

    // Activation dynamics: full excitation from the posture, then none.
    if m > 0 {
        let dt = plant.timestep();
        let steps_on = ((0.3 / dt).round() as usize).clamp(1, 100_000);
        out.activation_release = steps_on as f64 * dt;
        let act_row = info
            .muscle_state_names
            .iter()
            .position(|n| n == "activation");
        if let Some(r) = act_row {
            let mut x = posture_state.clone();
            let mut next = x.clone();
            let mut u = vec![0.0; info.control_dim()];
            out.activation = vec![Vec::new(); m];
            for t in 0..=2 * steps_on {
                out.activation_time.push(t as f64 * dt);
                for i in 0..m {
                    out.activation[i].push(x[info.muscle().start + r * m + i]);
                }
                if t == 2 * steps_on {
                    break;
                }
                let e = if t < steps_on { 1.0 } else { 0.0 };
                u[..m].fill(e);
                plant.step(&mut ws_step, &x, &u, &mut next)?;
                if next.iter().any(|v| !v.is_finite()) {
                    break;
                }
                std::mem::swap(&mut x, &mut next);
            }
        }
    }

    out.warnings = warnings(&out, &singular_at);
    Ok(out)
}

/// The condition number of the mass matrix at a state at rest, from the step's response to joint loads:
/// the change of the joint velocities is `dt·M⁻¹·τ` for an explicit step (and that to first order in
/// `dt` for the others). `None` when the response is singular or not positive definite.
fn mass_condition(
    plant: &dyn Plant,
    ws: &mut crate::runtime::Workspace,
    state: &[f64],
    dof: usize,
) -> Option<f64> {
    if dof == 0 {
        return Some(1.0);
    }
    let info = plant.info();
    let (s, c, m) = (info.state_dim(), info.control_dim(), info.n_muscles());
    let controls = vec![0.0; c];
    let ts = vec![0.0; s];
    let mut tc = vec![0.0; c];
    let mut out = vec![0.0; s];
    let mut a = vec![vec![0.0; dof]; dof];
    for k in 0..dof {
        tc.fill(0.0);
        tc[m + info.space_dim + k] = 1.0;
        plant
            .step_jvp(ws, state, &controls, &ts, &tc, &mut out)
            .ok()?;
        for (j, row) in a.iter_mut().enumerate() {
            row[k] = out[dof + j];
        }
    }
    // Symmetrise (exact for an explicit step) and take the eigenvalues.
    let sym: Vec<Vec<f64>> = (0..dof)
        .map(|i| (0..dof).map(|j| 0.5 * (a[i][j] + a[j][i])).collect())
        .collect();
    let eig = symmetric_eigenvalues(sym);
    let lo = eig.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = eig.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (lo.is_finite() && lo > 0.0 && hi.is_finite()).then(|| hi / lo)
}

/// Eigenvalues of a small symmetric matrix by cyclic Jacobi rotations.
fn symmetric_eigenvalues(mut a: Vec<Vec<f64>>) -> Vec<f64> {
    let n = a.len();
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum();
        let scale: f64 = (0..n).map(|i| a[i][i] * a[i][i]).sum();
        if off <= 1e-30 * scale.max(1e-300) {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if a[p][q] == 0.0 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let (cs, sn) = (1.0 / (t * t + 1.0).sqrt(), t / (t * t + 1.0).sqrt());
                for row in a.iter_mut() {
                    let (x, y) = (row[p], row[q]);
                    row[p] = cs * x - sn * y;
                    row[q] = sn * x + cs * y;
                }
                let (upper, lower) = a.split_at_mut(q);
                for (x, y) in upper[p].iter_mut().zip(lower[0].iter_mut()) {
                    let (u, v) = (*x, *y);
                    *x = cs * u - sn * v;
                    *y = sn * u + cs * v;
                }
            }
        }
    }
    (0..n).map(|i| a[i][i]).collect()
}

/// The endpoint force whose joint torques `Jᵀ·F` are closest to `tau` (exact when `J` is square and
/// invertible): `F = (J·Jᵀ)⁻¹·J·τ`. `jac[k]` is column `k` of the 2 × dof Jacobian.
fn endpoint_force(jac: &[[f64; 2]], tau: &[f64]) -> Option<[f64; 2]> {
    let (mut a, mut b, mut d) = (0.0, 0.0, 0.0);
    let mut r = [0.0; 2];
    for (col, t) in jac.iter().zip(tau) {
        a += col[0] * col[0];
        b += col[0] * col[1];
        d += col[1] * col[1];
        r[0] += col[0] * t;
        r[1] += col[1] * t;
    }
    let det = a * d - b * b;
    if det.is_nan() || det.abs() <= 1e-12 * (a * d).abs().max(1e-300) {
        return None;
    }
    let f = [(d * r[0] - b * r[1]) / det, (a * r[1] - b * r[0]) / det];
    f.iter().all(|v| v.is_finite()).then_some(f)
}

/// A muscle's force–length and force–velocity curves from its model's equations.
fn curves(
    kind: MuscleKind,
    params: &[f64],
    optimal: Option<f64>,
    tendon: Option<f64>,
    vmax: f64,
) -> Curves {
    let mut c = Curves::default();
    let (Some(l0), Some(ls)) = (optimal, tendon) else {
        // The ReLU muscle: no fibre, a force that depends on activation alone.
        c.useful = (f64::NEG_INFINITY, f64::INFINITY);
        return c;
    };
    for k in 0..=150 {
        let l = 2.5 * k as f64 / 150.0;
        let t = muscle_terms(kind, params, 1.0, ls + l * l0, 0.0);
        c.length.push(l);
        c.active.push(t.active);
        c.passive.push(t.passive);
    }
    for k in 0..=80 {
        let v = -1.0 + 2.0 * k as f64 / 80.0;
        let t = muscle_terms(kind, params, 1.0, ls + l0, v * vmax);
        c.velocity.push(v);
        c.force_velocity.push(t.active);
    }
    // The useful range: the span around the optimum where the active force is at least the threshold.
    let peak = c
        .active
        .iter()
        .copied()
        .enumerate()
        .fold(
            (0, f64::NEG_INFINITY),
            |b, (i, v)| if v > b.1 { (i, v) } else { b },
        );
    let threshold = USEFUL_FORCE_FRACTION * peak.1;
    let mut lo = peak.0;
    while lo > 0 && c.active[lo - 1] >= threshold {
        lo -= 1;
    }
    let mut hi = peak.0;
    while hi + 1 < c.active.len() && c.active[hi + 1] >= threshold {
        hi += 1;
    }
    c.useful = (
        if lo == 0 {
            f64::NEG_INFINITY
        } else {
            c.length[lo]
        },
        if hi + 1 == c.active.len() {
            f64::INFINITY
        } else {
            c.length[hi]
        },
    );
    c
}

/// The scene at posture `q` (bodies, joints, obstacles, muscle paths; not the endpoint, the workspace or
/// the forces): positions from the compiler's kinematics with the parameters at `params` (a plant's
/// `params()`).
pub fn scene(model: &Model, params: &[f64], q: &[f64]) -> Scene {
    let zero = || [Sym::Num(0.0), Sym::Num(0.0), Sym::Num(0.0)];
    // Every point asked for, then read back in the same order.
    let mut owned: Vec<(BodyRef, [Sym; 3])> = Vec::new();
    for (k, b) in model.bodies.iter().enumerate() {
        let body = BodyRef::Body(crate::dsl::model::BodyId(k));
        owned.push((body, zero()));
        owned.push((body, [b.length.clone(), Sym::Num(0.0), Sym::Num(0.0)]));
    }
    for j in &model.joints {
        owned.push((j.parent, j.at.clone()));
    }
    for o in &model.obstacles {
        owned.push((o.body, o.at.clone()));
    }
    for mu in &model.muscles {
        if let Path::Via(elements) = &mu.path {
            for e in elements {
                match e {
                    PathElementRef::Point(p) => owned.push((p.body, p.at.clone())),
                    PathElementRef::Wrap { obstacle, side } => {
                        let o = &model.obstacles[obstacle.index()];
                        owned.push((o.body, o.at.clone()));
                        if let WrapSideRef::Point(at) = side {
                            owned.push((o.body, at.clone()));
                        }
                    }
                }
            }
        }
    }
    let queries: Vec<(BodyRef, &[Sym; 3])> = owned.iter().map(|(b, p)| (*b, p)).collect();
    // A spatial model is drawn projected on its x-y plane, its wraps as straight segments.
    let spatial = model.space_dim == 3;
    let mut world = crate::dsl::lower::world_points_with(model, params, q, &queries).into_iter();
    let mut next = || {
        let [x, y, _] = world.next().expect("one position per query");
        [x, y]
    };
    let mut s = Scene::default();
    for b in &model.bodies {
        let (o, tip) = (next(), next());
        s.bodies.push((b.name.clone(), o, tip));
    }
    for j in &model.joints {
        s.joints.push((j.name.clone(), next()));
    }
    for o in &model.obstacles {
        s.obstacles
            .push((o.name.clone(), next(), o.radius.eval(params)));
    }
    for mu in &model.muscles {
        let mut path = MusclePath::default();
        match &mu.path {
            Path::Lumped(_) => path.lumped = true,
            Path::Via(elements) => {
                let mut wrap: Option<([f64; 2], f64, Side)> = None;
                for e in elements {
                    match e {
                        PathElementRef::Point(_) => {
                            let here = next();
                            match (wrap.take(), path.points.last().copied()) {
                                (Some((c, r, side)), Some(from)) if !spatial => {
                                    path.points.extend(wrap_arc(from, here, c, r, side));
                                }
                                _ => path.points.push(here),
                            }
                            path.via.push(here);
                        }
                        PathElementRef::Wrap { obstacle, side } => {
                            let o = &model.obstacles[obstacle.index()];
                            let c = next();
                            let side = match side {
                                WrapSideRef::Point(_) => Side::Point(next()),
                                WrapSideRef::Sign(s) => Side::Ccw(*s > 0.0),
                                WrapSideRef::Shortest => Side::Ccw(true),
                            };
                            wrap = Some((c, o.radius.eval(params), side));
                        }
                    }
                }
            }
        }
        s.muscles.push(path);
    }
    s
}

#[derive(Clone, Copy)]
enum Side {
    Point([f64; 2]),
    Ccw(bool),
}

/// The drawn path from `p` to `q` around the circle (`c`, `r`): the tangent–arc–tangent the compiler's
/// path length measures (`lower/paths.rs`), or the straight segment when it misses the circle. Ends
/// with `q` (without `p`).
fn wrap_arc(p: [f64; 2], q: [f64; 2], c: [f64; 2], r: f64, side: Side) -> Vec<[f64; 2]> {
    let (px, py) = (p[0] - c[0], p[1] - c[1]);
    let (qx, qy) = (q[0] - c[0], q[1] - c[1]);
    let (dx, dy) = (qx - px, qy - py);
    let len2 = dx * dx + dy * dy;
    let t = (-(px * dx + py * dy) / len2.max(1e-300)).clamp(0.0, 1.0);
    let (cx, cy) = (px + t * dx, py + t * dy);
    if cx * cx + cy * cy >= r * r || r.is_nan() || r <= 0.0 {
        return vec![q];
    }
    let ccw = match side {
        Side::Ccw(ccw) => ccw,
        Side::Point(sp) => dx * (sp[1] - p[1]) - dy * (sp[0] - p[0]) < 0.0,
    };
    let tp = (px * px + py * py - r * r).max(1e-12).sqrt();
    let tq = (qx * qx + qy * qy - r * r).max(1e-12).sqrt();
    let (ap, aq) = (tp.atan2(r), tq.atan2(r));
    let (fp, fq) = (py.atan2(px), qy.atan2(qx));
    let tau = 2.0 * std::f64::consts::PI;
    let (start, sweep) = if ccw {
        let start = fp + ap;
        (start, (fq - aq - start).rem_euclid(tau))
    } else {
        let start = fp - ap;
        (start, -(start - (fq + aq)).rem_euclid(tau))
    };
    let n = ((sweep.abs() / 0.05).ceil() as usize).clamp(1, 400);
    let mut out: Vec<[f64; 2]> = (0..=n)
        .map(|k| {
            let a = start + sweep * k as f64 / n as f64;
            [c[0] + r * a.cos(), c[1] + r * a.sin()]
        })
        .collect();
    out.push(q);
    out
}

/// Warnings: every muscle that is slack or outside its force–length range over part of the workspace,
/// that moves no coordinate, or whose isometric force is nil; a nearly singular mass matrix.
fn warnings(ins: &Inspection, singular_at: &Option<Vec<f64>>) -> Vec<String> {
    let mut w = Vec::new();
    let fmt_posture = |q: &[f64]| -> String {
        ins.coord_names
            .iter()
            .zip(q)
            .map(|(n, v)| format!("{n} = {v:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let n = ins.workspace.postures.len().max(1) as f64;
    for (i, name) in ins.muscle_names.iter().enumerate() {
        let status = &ins.workspace.status[i];
        let count = |s: FibreStatus| status.iter().filter(|&&x| x == s).count();
        let first = |s: FibreStatus| {
            status
                .iter()
                .position(|&x| x == s)
                .map(|k| fmt_posture(&ins.workspace.postures[k]))
                .unwrap_or_default()
        };
        let slack = count(FibreStatus::Slack);
        if slack as f64 > WARN_FRACTION * n {
            w.push(format!(
                "muscle `{name}` is slack over {:.0}% of the workspace: its musculotendon length is at or below its tendon length, so the fibre has no length and makes no force (e.g. at {}); check `{name}.tendon_length` and its path",
                100.0 * slack as f64 / n,
                first(FibreStatus::Slack)
            ));
        }
        let (lo, hi) = ins.curves[i].useful;
        for (s, what) in [
            (FibreStatus::Short, "shorter"),
            (FibreStatus::Long, "longer"),
        ] {
            let k = count(s);
            if k as f64 > WARN_FRACTION * n {
                let range: Vec<f64> = ins.workspace.fibre[i]
                    .iter()
                    .copied()
                    .filter(|v| v.is_finite())
                    .collect();
                let (a, b) = (
                    range.iter().copied().fold(f64::INFINITY, f64::min),
                    range.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                );
                w.push(format!(
                    "muscle `{name}`: its fibre is {what} than the force–length curve's useful range ({lo:.2}–{hi:.2} optimal lengths) over {:.0}% of the workspace (fibre length {a:.2}–{b:.2}, e.g. at {}); check `{name}.optimal_length` and `{name}.tendon_length`",
                    100.0 * k as f64 / n,
                    first(s)
                ));
            }
        }
        let moves = ins
            .sweeps
            .iter()
            .any(|s| s.moment_arm[i].iter().any(|v| v.abs() > 1e-9));
        if !ins.sweeps.is_empty() && !moves {
            w.push(format!(
                "muscle `{name}` has a zero moment arm about every coordinate: its length does not change with the posture, so it cannot move the skeleton"
            ));
        }
    }
    if let Some(q) = singular_at {
        w.push(format!(
            "the mass matrix is singular or not positive definite at {}: check the bodies' masses and inertias",
            fmt_posture(q)
        ));
    }
    if let Some((_, hi)) = ins.condition {
        if hi > MAX_CONDITION {
            w.push(format!(
                "the mass matrix is badly conditioned (condition number up to {hi:.3e}): a body with a tiny mass or inertia makes the dynamics stiff"
            ));
        }
    }
    w
}

/// The summary table: conditioning and per-muscle ranges and isometric endpoint forces.
pub fn summary(ins: &Inspection) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "model `{}`: {} coordinate(s) ({}), {} muscle(s){}",
        ins.name,
        ins.coord_names.len(),
        ins.coord_names.join(", "),
        ins.muscle_names.len(),
        ins.muscle_model
            .as_ref()
            .map(|k| format!(" ({k})"))
            .unwrap_or_default()
    );
    let posture: Vec<String> = ins
        .coord_names
        .iter()
        .zip(&ins.posture)
        .map(|(n, v)| format!("{n} = {v:.3}"))
        .collect();
    let _ = writeln!(s, "posture: {}", posture.join(", "));
    let _ = writeln!(
        s,
        "endpoint: ({:.4}, {:.4}) m; workspace: {} postures",
        ins.scene.endpoint[0],
        ins.scene.endpoint[1],
        ins.workspace.postures.len()
    );
    match ins.condition {
        Some((lo, hi)) => {
            let _ = writeln!(
                s,
                "mass matrix condition number over the workspace: {lo:.3} to {hi:.3}"
            );
        }
        None => {
            let _ = writeln!(s, "mass matrix condition number: not available");
        }
    }
    if ins.muscle_names.is_empty() {
        return s;
    }
    let _ = writeln!(
        s,
        "\n{:<22} {:>17} {:>17} {:>14} {:>9} {:>9}",
        "muscle", "length (m)", "fibre (l/l0)", "useful l/l0", "F end (N)", "dir (deg)"
    );
    for (i, name) in ins.muscle_names.iter().enumerate() {
        let lengths = ins
            .sweeps
            .iter()
            .flat_map(|sw| sw.length[i].iter().copied());
        let (a, b) = min_max(lengths);
        let (fa, fb) = min_max(ins.workspace.fibre[i].iter().copied());
        let (ua, ub) = ins.curves[i].useful;
        let fibre = if ins.has_fibre {
            format!("{fa:.2} – {fb:.2}")
        } else {
            "—".to_string()
        };
        let bound = |v: f64| {
            if v.is_finite() {
                format!("{v:.2}")
            } else if v > 0.0 {
                "∞".to_string()
            } else {
                "0".to_string()
            }
        };
        let useful = if ins.has_fibre {
            format!("{} – {}", bound(ua), bound(ub))
        } else {
            "—".to_string()
        };
        let (mag, dir) = match ins.scene.endpoint_forces.get(i).copied().flatten() {
            Some(f) => (
                format!("{:.1}", f[0].hypot(f[1])),
                format!("{:.0}", f[1].atan2(f[0]).to_degrees()),
            ),
            None => ("—".into(), "—".into()),
        };
        let _ = writeln!(
            s,
            "{:<22} {:>17} {:>17} {:>14} {:>9} {:>9}",
            crate::input::shorten(name, 22),
            format!("{a:.4} – {b:.4}"),
            fibre,
            useful,
            mag,
            dir
        );
    }
    let _ = writeln!(
        s,
        "\nF end: each muscle's endpoint force at full activation, isometric, at the posture; dir: its direction from +x, counter-clockwise"
    );
    if let Some(((strong, ds), (weak, dw))) = force_extremes(&ins.scene.endpoint_forces) {
        let _ = writeln!(
            s,
            "all muscles together (each activated between 0 and 1): the largest isometric endpoint force is {strong:.1} N toward {ds:.0} deg, the smallest {weak:.1} N toward {dw:.0} deg"
        );
    }
    s
}

/// The largest and smallest endpoint force the muscles can make together, each activated between 0 and
/// 1 (the support function `h(d) = Σ max(0, Fᵢ·d)` of their force set, over directions a degree apart),
/// as ((force, direction in degrees), (force, direction)).
pub fn force_extremes(forces: &[Option<[f64; 2]>]) -> Option<((f64, f64), (f64, f64))> {
    let f: Vec<[f64; 2]> = forces.iter().flatten().copied().collect();
    if f.is_empty() {
        return None;
    }
    let support = |deg: f64| {
        let (s, c) = deg.to_radians().sin_cos();
        f.iter()
            .map(|v| (v[0] * c + v[1] * s).max(0.0))
            .sum::<f64>()
    };
    let mut best = (f64::NEG_INFINITY, 0.0);
    let mut worst = (f64::INFINITY, 0.0);
    for k in 0..360 {
        let deg = f64::from(k) - 180.0;
        let h = support(deg);
        if h > best.0 {
            best = (h, deg);
        }
        if h < worst.0 {
            worst = (h, deg);
        }
    }
    Some((best, worst))
}

fn min_max(v: impl Iterator<Item = f64>) -> (f64, f64) {
    v.filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn force_extremes_of_opposed_muscles() {
        // Two muscles pulling along ±x (10 N and 4 N), one along +y (1 N): strongest toward 0°, weakest
        // toward −90° (nothing pulls that way).
        let f = [Some([10.0, 0.0]), Some([-4.0, 0.0]), Some([0.0, 1.0]), None];
        let ((strong, ds), (weak, dw)) = force_extremes(&f).unwrap();
        assert!(
            (strong - 10.0_f64.hypot(1.0)).abs() < 0.01 && (ds - 6.0).abs() <= 1.0,
            "{strong} {ds}"
        );
        assert!(
            weak.abs() < 1e-12 && (dw + 90.0).abs() < 1e-9,
            "{weak} {dw}"
        );
        assert!(force_extremes(&[None]).is_none());
    }

    #[test]
    fn eigenvalues_of_a_symmetric_matrix() {
        let e = symmetric_eigenvalues(vec![vec![2.0, 1.0], vec![1.0, 2.0]]);
        let (lo, hi) = (e[0].min(e[1]), e[0].max(e[1]));
        assert!(
            (lo - 1.0).abs() < 1e-12 && (hi - 3.0).abs() < 1e-12,
            "{e:?}"
        );
    }

    #[test]
    fn endpoint_force_inverts_the_transposed_jacobian() {
        let jac = [[0.3, 0.1], [-0.2, 0.4]];
        let f = [2.0, -1.0];
        let tau: Vec<f64> = jac.iter().map(|c| c[0] * f[0] + c[1] * f[1]).collect();
        let g = endpoint_force(&jac, &tau).unwrap();
        assert!((g[0] - 2.0).abs() < 1e-12 && (g[1] + 1.0).abs() < 1e-12);
        assert!(endpoint_force(&[[1.0, 0.0], [2.0, 0.0]], &[1.0, 1.0]).is_none());
    }

    #[test]
    fn a_wrap_arc_stays_on_its_circle_and_ends_at_the_target() {
        let pts = wrap_arc([-1.0, 0.1], [1.0, 0.1], [0.0, 0.0], 0.5, Side::Ccw(false));
        assert_eq!(*pts.last().unwrap(), [1.0, 0.1]);
        let on = &pts[..pts.len() - 1];
        assert!(on.len() > 3);
        for p in on {
            assert!((p[0].hypot(p[1]) - 0.5).abs() < 1e-12);
        }
        // Clockwise from the left point to the right one passes over the top.
        assert!(on.iter().any(|p| p[1] > 0.45), "{on:?}");
        // A segment that misses the circle stays straight.
        assert_eq!(
            wrap_arc([-1.0, 0.9], [1.0, 0.9], [0.0, 0.0], 0.5, Side::Ccw(true)),
            vec![[1.0, 0.9]]
        );
    }
}
