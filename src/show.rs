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

use crate::dsl::model::{
    BodyRef, JointKind, Model, ObstacleKind, Path, PathElementRef, Sym, WrapSideRef,
};
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

/// The model at one posture, in world coordinates projected on a view.
#[derive(Clone, Debug, Default)]
pub struct Scene {
    /// The plane the scene is projected on.
    pub view: View,
    /// Bone segments, each with its body's name: a planar body from its frame origin to its tip (the
    /// origin when its length is 0); a spatial body from its origin to each joint and endpoint it carries.
    pub bodies: Vec<(String, [f64; 2], [f64; 2])>,
    /// Per joint: its name and world position.
    pub joints: Vec<(String, [f64; 2])>,
    /// Per obstacle of a planar model: name, centre, radius.
    pub obstacles: Vec<(String, [f64; 2], f64)>,
    /// The obstacles of a spatial model, as projected outline curves.
    pub outlines: Vec<Vec<[f64; 2]>>,
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
    /// The endpoint of each sample (z is 0 in a planar model).
    pub endpoints: Vec<[f64; 3]>,
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
    /// 2 for a planar model, 3 for a spatial one.
    pub space_dim: usize,
    /// The endpoint at the posture (z is 0 in a planar model).
    pub endpoint: [f64; 3],
    /// Per muscle: its maximal isometric endpoint force at the posture (N), when the endpoint Jacobian
    /// has full rank.
    pub endpoint_forces: Vec<Option<[f64; 3]>>,
    /// The scene at the posture in the model's first view, and (spatial models) in the others.
    pub scene: Scene,
    pub side_views: Vec<Scene>,
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
        space_dim: info.space_dim,
        ..Inspection::default()
    };
    let sd = info.space_dim;

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
    let at_posture = posed(model, &params, &posture);
    // The cartesian state is the endpoint's position, then its velocity (`sd` components each).
    let spatial_of = |s: &[f64], from: usize| -> [f64; 3] {
        std::array::from_fn(|i| if i < sd { s[from + i] } else { 0.0 })
    };
    out.endpoint = spatial_of(&state, cart);
    let posture_state = state.clone();

    // The endpoint Jacobian (columns: the endpoint velocity for a unit velocity of each coordinate) and
    // each muscle's isometric endpoint force at full activation.
    let mut jac = vec![[0.0; 3]; dof];
    for (k, col) in jac.iter_mut().enumerate() {
        let mut qd = zeros.clone();
        qd[k] = 1.0;
        reset(&posture, &qd, &mut state)?;
        *col = spatial_of(&state, cart + sd);
    }
    out.endpoint_forces = (0..m)
        .map(|i| {
            let len = length_of(&posture_state, i);
            let f = muscle_terms(model.muscles[i].kind, &muscle_params[i], 1.0, len, 0.0).force;
            let tau: Vec<f64> = (0..dof)
                .map(|k| -f * moment_of(&posture_state, i, k))
                .collect();
            endpoint_force(&jac, &tau, sd)
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
        // Odd counts put the middle of each range on the grid.
        _ => 5,
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
        out.workspace.endpoints.push(spatial_of(&state, cart));
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
    let mut scenes = views(model, &params).into_iter().map(|view| {
        let mut s = at_posture.project(view);
        s.endpoint = view.project(out.endpoint);
        s.workspace = out
            .workspace
            .endpoints
            .iter()
            .map(|&p| view.project(p))
            .collect();
        s.endpoint_forces = out
            .endpoint_forces
            .iter()
            .map(|f| f.map(|f| view.project(f)))
            .collect();
        s
    });
    out.scene = scenes.next().unwrap_or_default();
    out.side_views = scenes.collect();
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
/// invertible): `F = (J·Jᵀ)⁻¹·J·τ`. `jac[k]` is column `k` of the `dim` × dof Jacobian (components
/// beyond `dim` are ignored and returned as 0). `None` where `J` loses rank.
fn endpoint_force(jac: &[[f64; 3]], tau: &[f64], dim: usize) -> Option<[f64; 3]> {
    use nalgebra::{DMatrix, DVector};
    if jac.len() != tau.len() || dim == 0 || dim > 3 {
        return None;
    }
    let j = DMatrix::from_fn(dim, jac.len(), |r, k| jac[k][r]);
    let a = &j * j.transpose();
    let eig = a.clone().symmetric_eigen().eigenvalues;
    // Also false when an eigenvalue is NaN.
    if eig.min().partial_cmp(&(1e-12 * eig.max())) != Some(std::cmp::Ordering::Greater) {
        return None;
    }
    let f = a.lu().solve(&(&j * DVector::from_column_slice(tau)))?;
    let f: [f64; 3] = std::array::from_fn(|i| if i < dim { f[i] } else { 0.0 });
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

/// A drawing plane: the world axes shown across and up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct View {
    pub across: usize,
    pub up: usize,
}

impl Default for View {
    fn default() -> Self {
        View::XY
    }
}

impl View {
    /// A planar model's plane.
    pub const XY: View = View { across: 0, up: 1 };

    pub fn project(self, p: [f64; 3]) -> [f64; 2] {
        [p[self.across], p[self.up]]
    }

    /// The axes' names, `x` and `y` for [`View::XY`].
    pub fn axis_names(self) -> (&'static str, &'static str) {
        const NAMES: [&str; 3] = ["x", "y", "z"];
        (NAMES[self.across], NAMES[self.up])
    }
}

/// The planes a model is drawn in: a planar model's own; a spatial model's front, side and top views,
/// "up" being the world axis gravity pulls along most (z without gravity) and the other two in order.
pub fn views(model: &Model, params: &[f64]) -> Vec<View> {
    if model.space_dim != 3 {
        return vec![View::XY];
    }
    let g = model.gravity.clone().map(|s| s.eval(params).abs());
    let up = if g.iter().all(|&v| v == 0.0 || !v.is_finite()) {
        2
    } else {
        (0..3).fold(0, |best, k| if g[k] > g[best] { k } else { best })
    };
    let mut flat = (0..3).filter(|&k| k != up);
    let (h1, h2) = (flat.next().unwrap_or(0), flat.next().unwrap_or(1));
    vec![
        View { across: h1, up },
        View { across: h2, up },
        View { across: h1, up: h2 },
    ]
}

/// An obstacle's outline: curves of world points.
type Outline = Vec<Vec<[f64; 3]>>;

/// The model at one posture in world coordinates (3D; z is 0 in a planar model), before projection.
struct Posed {
    /// Bone segments: a body's origin to its tip (planar), or to each joint and endpoint it carries.
    bones: Vec<(String, [f64; 3], [f64; 3])>,
    joints: Vec<(String, [f64; 3])>,
    /// Per obstacle: name, centre, radius, and (spatial models) its shape's outline curves.
    obstacles: Vec<(String, [f64; 3], f64, Outline)>,
    /// Per muscle: via points and wrap obstacles in path order, or `None` for a lumped path.
    paths: Vec<Option<Vec<PathItem>>>,
    spatial: bool,
}

enum PathItem {
    Point([f64; 3]),
    /// A planar wrap: the circle's centre, radius and side (drawn as an arc).
    Wrap([f64; 3], f64, Side3),
}

#[derive(Clone, Copy)]
enum Side3 {
    Point([f64; 3]),
    Ccw(bool),
}

/// The scene at posture `q` in the model's first view (bodies, joints, obstacles, muscle paths; not the
/// endpoint, the workspace or the forces): positions from the compiler's kinematics with the parameters
/// at `params` (a plant's `params()`).
pub fn scene(model: &Model, params: &[f64], q: &[f64]) -> Scene {
    let view = views(model, params)[0];
    posed(model, params, q).project(view)
}

fn posed(model: &Model, params: &[f64], q: &[f64]) -> Posed {
    let zero = || [Sym::Num(0.0), Sym::Num(0.0), Sym::Num(0.0)];
    let spatial = model.space_dim == 3;
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
    owned.push((model.endpoint.body, model.endpoint.at.clone()));
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
    let mut world = crate::dsl::lower::world_points_with(model, params, q, &queries).into_iter();
    let mut next = || world.next().expect("one position per query");
    let origins: Vec<(String, [f64; 3], [f64; 3])> = model
        .bodies
        .iter()
        .map(|b| (b.name.clone(), next(), next()))
        .collect();
    let joints: Vec<(String, [f64; 3])> = model
        .joints
        .iter()
        .map(|j| (j.name.clone(), next()))
        .collect();
    let endpoint = next();
    // Bones: a planar body is a segment along its x axis; a spatial body joins its origin to what it
    // carries (the joints of its children and the endpoint), or is a dot.
    let mut bones = Vec::new();
    for (k, (name, o, tip)) in origins.iter().enumerate() {
        let this = BodyRef::Body(crate::dsl::model::BodyId(k));
        let mut carried: Vec<[f64; 3]> = Vec::new();
        if spatial {
            carried.extend(
                model
                    .joints
                    .iter()
                    .zip(&joints)
                    .filter(|(j, _)| j.parent == this)
                    .map(|(_, (_, at))| *at),
            );
            if model.endpoint.body == this {
                carried.push(endpoint);
            }
            carried.retain(|p| p != o);
        }
        if carried.is_empty() {
            bones.push((name.clone(), *o, *tip));
        }
        bones.extend(carried.into_iter().map(|p| (name.clone(), *o, p)));
    }
    let frames = crate::dsl::lower::obstacle_frames_with(model, params, q);
    let obstacles = model
        .obstacles
        .iter()
        .enumerate()
        .map(|(k, o)| {
            let centre = next();
            let radii = o.radii.clone().map(|s| s.eval(params));
            let outline = frames
                .get(k)
                .map(|(c, axes)| obstacle_outline(o.kind, *c, axes, radii))
                .unwrap_or_default();
            (o.name.clone(), centre, o.radius.eval(params), outline)
        })
        .collect();
    let mut paths = Vec::new();
    for mu in &model.muscles {
        paths.push(match &mu.path {
            Path::Lumped(_) => None,
            Path::Via(elements) => Some(
                elements
                    .iter()
                    .map(|e| match e {
                        PathElementRef::Point(_) => PathItem::Point(next()),
                        PathElementRef::Wrap { obstacle, side } => {
                            let o = &model.obstacles[obstacle.index()];
                            let c = next();
                            let side = match side {
                                WrapSideRef::Point(_) => Side3::Point(next()),
                                WrapSideRef::Sign(s) => Side3::Ccw(*s > 0.0),
                                WrapSideRef::Shortest => Side3::Ccw(true),
                            };
                            PathItem::Wrap(c, o.radius.eval(params), side)
                        }
                    })
                    .collect(),
            ),
        });
    }
    Posed {
        bones,
        joints,
        obstacles,
        paths,
        spatial,
    }
}

/// Curves that outline a spatial obstacle: a sphere's three great circles, an ellipsoid's three principal
/// sections, a cylinder's two rims four radii apart and the lines joining them (the wrapping treats it as
/// infinite). `axes` are its frame's axes in the world.
fn obstacle_outline(
    kind: ObstacleKind,
    centre: [f64; 3],
    axes: &[[f64; 3]; 3],
    radii: [f64; 3],
) -> Vec<Vec<[f64; 3]>> {
    let at = |offset: [f64; 3]| -> [f64; 3] {
        std::array::from_fn(|i| centre[i] + (0..3).map(|j| axes[j][i] * offset[j]).sum::<f64>())
    };
    let ring = |a: usize, b: usize, ra: f64, rb: f64, shift: [f64; 3]| -> Vec<[f64; 3]> {
        (0..=72)
            .map(|k| {
                let t = 2.0 * std::f64::consts::PI * f64::from(k) / 72.0;
                let mut o = shift;
                o[a] += ra * t.cos();
                o[b] += rb * t.sin();
                at(o)
            })
            .collect()
    };
    match kind {
        ObstacleKind::Sphere | ObstacleKind::Ellipsoid => vec![
            ring(0, 1, radii[0], radii[1], [0.0; 3]),
            ring(0, 2, radii[0], radii[2], [0.0; 3]),
            ring(1, 2, radii[1], radii[2], [0.0; 3]),
        ],
        ObstacleKind::Cylinder => {
            let (r, h) = (radii[0], 2.0 * radii[0]);
            let mut out = vec![
                ring(0, 1, r, r, [0.0, 0.0, -h]),
                ring(0, 1, r, r, [0.0, 0.0, h]),
            ];
            for k in 0..4 {
                let t = std::f64::consts::FRAC_PI_2 * f64::from(k);
                let (x, y) = (r * t.cos(), r * t.sin());
                out.push(vec![at([x, y, -h]), at([x, y, h])]);
            }
            out
        }
    }
}

impl Posed {
    /// The scene drawn in `view`. Planar wraps are drawn as their tangent–arc–tangent paths; spatial wraps
    /// as straight segments between the path's points.
    fn project(&self, view: View) -> Scene {
        let p2 = |p: [f64; 3]| view.project(p);
        let mut s = Scene {
            view,
            ..Scene::default()
        };
        s.bodies = self
            .bones
            .iter()
            .map(|(n, a, b)| (n.clone(), p2(*a), p2(*b)))
            .collect();
        s.joints = self
            .joints
            .iter()
            .map(|(n, p)| (n.clone(), p2(*p)))
            .collect();
        for (name, c, r, outline) in &self.obstacles {
            if self.spatial {
                s.outlines.extend(
                    outline
                        .iter()
                        .map(|curve| curve.iter().map(|&p| p2(p)).collect()),
                );
            } else {
                s.obstacles.push((name.clone(), p2(*c), *r));
            }
        }
        for items in &self.paths {
            let mut path = MusclePath::default();
            let Some(items) = items else {
                path.lumped = true;
                s.muscles.push(path);
                continue;
            };
            let mut wrap: Option<([f64; 2], f64, Side)> = None;
            for item in items {
                match *item {
                    PathItem::Point(p) => {
                        let here = p2(p);
                        match (wrap.take(), path.points.last().copied()) {
                            (Some((c, r, side)), Some(from)) if !self.spatial => {
                                path.points.extend(wrap_arc(from, here, c, r, side));
                            }
                            _ => path.points.push(here),
                        }
                        path.via.push(here);
                    }
                    PathItem::Wrap(c, r, side) => {
                        let side = match side {
                            Side3::Point(p) => Side::Point(p2(p)),
                            Side3::Ccw(ccw) => Side::Ccw(ccw),
                        };
                        wrap = Some((p2(c), r, side));
                    }
                }
            }
            s.muscles.push(path);
        }
        s
    }
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
            "the mass matrix is singular or not positive definite at {}: check the bodies' masses and inertias, and whether joint axes line up there (three hinges composed into a ball joint lose a direction where two of their axes align: gimbal lock)",
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
    let sd = ins.space_dim.clamp(2, 3);
    let _ = writeln!(
        s,
        "endpoint: {} m; workspace: {} postures",
        vector(&ins.endpoint[..sd], 4),
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
    let direction_head = if sd == 3 { "direction" } else { "dir (deg)" };
    let _ = writeln!(
        s,
        "\n{:<22} {:>17} {:>17} {:>14} {:>9} {:>9}",
        "muscle", "length (m)", "fibre (l/l0)", "useful l/l0", "F end (N)", direction_head
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
        let (mag, dir) = match ins.endpoint_forces.get(i).copied().flatten() {
            Some(f) => {
                let norm = f.iter().map(|v| v * v).sum::<f64>().sqrt();
                (format!("{norm:.1}"), direction(f, norm, sd))
            }
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
        "\nF end: each muscle's endpoint force at full activation, isometric, at the posture; {}",
        if sd == 3 {
            "direction: its unit vector (x, y, z)"
        } else {
            "dir: its direction from +x, counter-clockwise"
        }
    );
    if let Some(((strong, ds), (weak, dw))) = force_extremes(&ins.endpoint_forces, sd) {
        let unit = if sd == 3 { "" } else { " deg" };
        let _ = writeln!(
            s,
            "all muscles together (each activated between 0 and 1): the largest isometric endpoint force is {strong:.1} N toward {}{unit}, the smallest {weak:.1} N toward {}{unit}",
            direction(ds, 1.0, sd),
            direction(dw, 1.0, sd)
        );
    }
    s
}

/// `(x, y)` or `(x, y, z)` with `digits` decimals.
fn vector(v: &[f64], digits: usize) -> String {
    let parts: Vec<String> = v.iter().map(|x| format!("{x:.digits$}")).collect();
    format!("({})", parts.join(", "))
}

/// A direction for the summary: degrees from +x in the plane, or the unit vector in space.
fn direction(f: [f64; 3], norm: f64, dim: usize) -> String {
    if dim == 3 {
        vector(&f.map(|v| v / norm), 2)
    } else {
        format!("{:.0}", f[1].atan2(f[0]).to_degrees())
    }
}

/// An endpoint force's size and direction.
type Extreme = (f64, [f64; 3]);

/// The largest and smallest endpoint force the muscles can make together, each activated between 0 and
/// 1: the support function `h(d) = Σ max(0, Fᵢ·d)` of their force set over unit directions `d` (a degree
/// apart in the plane; 4000 spread evenly over the sphere in space, a Fibonacci lattice), as ((force,
/// direction), (force, direction)).
pub fn force_extremes(forces: &[Option<[f64; 3]>], dim: usize) -> Option<(Extreme, Extreme)> {
    let f: Vec<[f64; 3]> = forces.iter().flatten().copied().collect();
    if f.is_empty() {
        return None;
    }
    let directions: Vec<[f64; 3]> = if dim == 3 {
        const N: usize = 4000;
        let golden = std::f64::consts::PI * (3.0 - 5.0_f64.sqrt());
        (0..N)
            .map(|k| {
                let z = 1.0 - (2 * k + 1) as f64 / N as f64;
                let r = (1.0 - z * z).sqrt();
                let (s, c) = (golden * k as f64).sin_cos();
                [r * c, r * s, z]
            })
            .collect()
    } else {
        (0..360)
            .map(|k| {
                let (s, c) = (f64::from(k) - 180.0).to_radians().sin_cos();
                [c, s, 0.0]
            })
            .collect()
    };
    let support = |d: &[f64; 3]| {
        f.iter()
            .map(|v| (v[0] * d[0] + v[1] * d[1] + v[2] * d[2]).max(0.0))
            .sum::<f64>()
    };
    let mut best = (f64::NEG_INFINITY, [1.0, 0.0, 0.0]);
    let mut worst = (f64::INFINITY, [1.0, 0.0, 0.0]);
    for d in directions {
        let h = support(&d);
        if h > best.0 {
            best = (h, d);
        }
        if h < worst.0 {
            worst = (h, d);
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
        let f = [
            Some([10.0, 0.0, 0.0]),
            Some([-4.0, 0.0, 0.0]),
            Some([0.0, 1.0, 0.0]),
            None,
        ];
        let deg = |d: [f64; 3]| d[1].atan2(d[0]).to_degrees();
        let ((strong, ds), (weak, dw)) = force_extremes(&f, 2).unwrap();
        assert!(
            (strong - 10.0_f64.hypot(1.0)).abs() < 0.01 && (deg(ds) - 6.0).abs() <= 1.0,
            "{strong} {ds:?}"
        );
        assert!(
            weak.abs() < 1e-12 && (deg(dw) + 90.0).abs() < 1e-9,
            "{weak} {dw:?}"
        );
        assert!(force_extremes(&[None], 2).is_none());
        // In space the same muscles plus one pulling up (+z, 2 N): strongest close to +x tilted toward +y
        // and +z; weakest where nothing pulls, across x and against y and z (zero, up to the lattice's
        // spacing of about 3°, which leaves up to 10 N · sin 1.6° along x).
        let mut f3 = f.to_vec();
        f3.push(Some([0.0, 0.0, 2.0]));
        let ((strong, ds), (weak, dw)) = force_extremes(&f3, 3).unwrap();
        let expected = (100.0_f64 + 1.0 + 4.0).sqrt();
        assert!(
            (strong - expected).abs() < 0.01 * expected,
            "{strong} {ds:?}"
        );
        assert!(ds[0] > 0.9 && ds[1] > 0.0 && ds[2] > 0.0, "{ds:?}");
        assert!(weak < 0.3 && dw[1] <= 0.0 && dw[2] <= 0.0, "{weak} {dw:?}");
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
        let jac = [[0.3, 0.1, 0.0], [-0.2, 0.4, 0.0]];
        let f = [2.0, -1.0];
        let tau: Vec<f64> = jac.iter().map(|c| c[0] * f[0] + c[1] * f[1]).collect();
        let g = endpoint_force(&jac, &tau, 2).unwrap();
        assert!((g[0] - 2.0).abs() < 1e-12 && (g[1] + 1.0).abs() < 1e-12 && g[2] == 0.0);
        assert!(endpoint_force(&[[1.0, 0.0, 0.0], [2.0, 0.0, 0.0]], &[1.0, 1.0], 2).is_none());
        // Space: four coordinates, a 3 × 4 Jacobian of full rank; the force that makes torques Jᵀ·F.
        let jac = [
            [0.3, 0.1, -0.2],
            [-0.2, 0.4, 0.1],
            [0.05, -0.1, 0.3],
            [0.2, 0.2, 0.2],
        ];
        let f = [1.5, -0.5, 2.0];
        let tau: Vec<f64> = jac
            .iter()
            .map(|c| c[0] * f[0] + c[1] * f[1] + c[2] * f[2])
            .collect();
        let g = endpoint_force(&jac, &tau, 3).unwrap();
        for i in 0..3 {
            assert!((g[i] - f[i]).abs() < 1e-12, "{g:?}");
        }
        // All columns in one plane: rank 2, no unique force.
        let flat = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0]];
        assert!(endpoint_force(&flat, &[1.0, 1.0, 2.0], 3).is_none());
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
