//! Checked model → [`Program`]: everything a step computes becomes nodes of one graph.
//!
//! The skeleton's equations of motion are derived, not written: body positions are built as expressions of
//! placeholder coordinates, the compiler differentiates them symbolically to get Jacobians, the mass matrix
//! `M = Σ mᵢ JᵢᵀJᵢ + Iᵢ JθᵢᵀJθᵢ` and the velocity-product terms `Σ mᵢ Jᵢᵀ (J̇ᵢ q̇)`, and solves `M q̈ = τ − h`
//! with an unrolled LDLᵀ factorisation. Muscle path lengths are built the same way and differentiated for
//! moment arms. These templates are then instantiated (by substitution) at every integrator stage.
//!
//! Files: this one assembles the [`Program`]; `frame` is the body pose (the one place that knows poses are
//! planar); `skeleton` builds the templates (kinematics, dynamics, path geometry); `paths` the via-point and
//! wrapped path lengths; `step` unrolls the integrators over MotorNet's update order.

mod frame;
mod paths;
mod skeleton;
mod step;

use crate::expr::{Builder, E};
use crate::ir::{Graph, NodeId};
use crate::model::*;
use crate::muscles::{MuscleKind, Params};
use crate::program::*;
use motornet_runtime::plant::{ParamInfo, PlantInfo};
use std::collections::HashMap;
use step::{Stage, StepContext};

/// Lowers a checked model.
pub fn lower(model: &Model) -> Program {
    let b = Builder::new(Graph::new());
    let params: Vec<E> = (0..model.params.len()).map(|i| b.param(i as u32)).collect();
    let lw = Lowerer {
        m: model,
        b: &b,
        params,
    };
    let t = lw.templates();
    let dof = model.dof();
    let nm = model.muscles.len();
    let kind = model.muscles.first().map(|m| m.kind);
    let rows = kind.map_or(0, |k| k.state_names().len());

    let info = plant_info(model, kind);
    // Inputs: step(state, excitation, endpoint load, joint load), then reset(joint state).
    let state_dim = info.state_dim();
    let sd = model.space_dim;
    let step_inputs: Vec<u32> = (0..(state_dim + nm + sd + dof) as u32).collect();
    let reset_inputs: Vec<u32> = (0..2 * dof as u32)
        .map(|i| i + step_inputs.len() as u32)
        .collect();
    let inp = |i: u32| b.input(i);
    let state: Vec<E> = (0..state_dim as u32).map(inp).collect();
    let u: Vec<E> = (0..nm).map(|m| inp((state_dim + m) as u32)).collect();
    let f_end: Vec<E> = (0..sd).map(|k| inp((state_dim + nm + k) as u32)).collect();
    let tau_load: Vec<E> = (0..dof)
        .map(|k| inp((state_dim + nm + sd + k) as u32))
        .collect();

    let muscle_params: Vec<Params> = model
        .muscles
        .iter()
        .map(|m| Params::new(m.kind, m.params.iter().map(|s| lw.sym(s, &[]))))
        .collect();
    let dt = lw.sym(&model.timestep, &[]);
    let h = dt / model.ministeps as f64;
    let bounds = lw.bounds();
    let ctx = StepContext {
        lw: &lw,
        info: &info,
        t: &t,
        kinds: kind,
        rows,
        muscle_params: &muscle_params,
        bounds: &bounds,
        f_end: &f_end,
        tau_load: &tau_load,
    };

    // Step: excitations are clipped once, then the integrator runs its ministeps.
    let u: Vec<E> = u
        .iter()
        .zip(&muscle_params)
        .map(|(&x, p)| p.clip_activation(x))
        .collect();
    let mut s = ctx.unpack(&state);
    for _ in 0..model.ministeps {
        s = ctx.integrate(model.integrator, h, &u, &s);
    }
    let step_out = ctx.pack(&s);

    // Reset: geometry from the given joint state, muscles at minimal activation. MotorNet builds its muscles
    // with the full timestep, which matters for the compliant fibre length.
    let joint0: Vec<E> = reset_inputs.iter().map(|&i| inp(i)).collect();
    let (q0, qd0) = joint0.split_at(dof);
    let geometry0 = t.geometry(&b, q0, qd0);
    let muscle0: Vec<Vec<E>> = (0..nm)
        .map(|m| {
            let (len, vel) = (geometry0[m][0], geometry0[m][1]);
            model.muscles[m]
                .kind
                .initial(&muscle_params[m], dt, len, vel)
        })
        .collect();
    let s0 = Stage {
        q: q0.to_vec(),
        qd: qd0.to_vec(),
        muscle: muscle0,
        geometry: geometry0,
    };
    let reset_out = ctx.pack(&s0);

    let constraints = model
        .constraints
        .iter()
        .map(|c| ProgramConstraint {
            value: lw.sym(&c.value, &[]).id,
            strict: c.strict,
            message: c.message.clone(),
        })
        .collect();
    let nodes = PlantNodes {
        position_bounds: bounds.iter().map(|b| (b.lower.id, b.upper.id)).collect(),
        muscle_normalizers: model
            .muscles
            .iter()
            .zip(&muscle_params)
            .map(|(m, p)| {
                let (l, v) = m.kind.normalizers(p);
                (l.id, v.id)
            })
            .collect(),
        velocity_bounds: bounds
            .iter()
            .map(|b| (b.vel_lower.id, b.vel_upper.id))
            .collect(),
    };
    let timestep = dt.id;
    let reset = Function {
        inputs: reset_inputs,
        outputs: Builder::ids(&reset_out),
    };
    let step = Function {
        inputs: step_inputs,
        outputs: Builder::ids(&step_out),
    };
    let first_free_input = (step.inputs.len() + reset.inputs.len()) as u32;
    let (step_vjp, step_jvp) = b.with(|g| derivative_functions(g, &step, first_free_input));
    let program = Program {
        name: model.name.clone(),
        graph: b.into_graph(),
        params: model.params.clone(),
        info,
        nodes,
        integrator: model.integrator,
        ministeps: model.ministeps,
        timestep,
        reset,
        step,
        step_vjp,
        step_jvp,
        constraints,
    };
    debug_assert!(program.is_closed());
    program
}

/// The names and layout of the model's vectors: the runtime's [`PlantInfo`], which the interpreter hands
/// out as it is and the code generator writes into the plant type.
fn plant_info(model: &Model, kind: Option<MuscleKind>) -> PlantInfo {
    PlantInfo {
        name: model.name.clone(),
        coord_names: model.coords.iter().map(|c| c.name.clone()).collect(),
        muscle_names: model.muscles.iter().map(|m| m.name.clone()).collect(),
        muscle_model: kind.map(|k| k.name().to_string()),
        muscle_state_names: kind.map_or(Vec::new(), |k| {
            k.state_names().iter().map(|s| s.to_string()).collect()
        }),
        geometry_state_names: [
            "musculotendon length".to_string(),
            "musculotendon velocity".to_string(),
        ]
        .into_iter()
        .chain((0..model.dof()).map(|d| format!("moment arm dof{d}")))
        .collect(),
        params: model
            .params
            .iter()
            .map(|d| ParamInfo {
                name: d.name.clone(),
                default: d.default,
                dim: d.dim,
            })
            .collect(),
        integrator: model.integrator.name().to_string(),
        ministeps: model.ministeps,
        space_dim: model.space_dim,
    }
}

/// The step's reverse-mode and forward-mode derivatives, as functions of the same graph. New inputs are
/// numbered from `first_input`.
fn derivative_functions(g: &mut Graph, step: &Function, first_input: u32) -> (Function, Function) {
    let args: Vec<NodeId> = step.inputs.iter().map(|&i| g.input(i)).collect();
    let n_out = step.outputs.len() as u32;
    let n_in = step.inputs.len() as u32;
    let cot_inputs: Vec<u32> = (first_input..first_input + n_out).collect();
    let cotangents: Vec<NodeId> = cot_inputs.iter().map(|&i| g.input(i)).collect();
    let grads = g.vjp(&step.outputs, &cotangents, &args);
    let vjp = Function {
        inputs: [step.inputs.clone(), cot_inputs].concat(),
        outputs: grads,
    };
    let tan_first = first_input + n_out;
    let tan_inputs: Vec<u32> = (tan_first..tan_first + n_in).collect();
    let seeds: HashMap<NodeId, NodeId> = args
        .iter()
        .zip(&tan_inputs)
        .map(|(&a, &t)| (a, g.input(t)))
        .collect();
    let tangents = g.jvp(&step.outputs, &seeds);
    let jvp = Function {
        inputs: [step.inputs.clone(), tan_inputs].concat(),
        outputs: tangents,
    };
    (vjp, jvp)
}

/// World positions of `points` (each a body and a point in its frame) with every parameter at its default
/// and coordinate k at `q[k]`: the kinematics the step is built from, folded to numbers. A body that hangs
/// from no joint (in a model with errors elsewhere) sits at the world's origin.
pub fn world_points(model: &Model, q: &[f64], points: &[(BodyRef, &[Sym; 3])]) -> Vec<[f64; 3]> {
    world_points_with(model, &model.defaults(), q, points)
}

/// [`world_points`] with the parameters at `params` (in the order of [`Model::params`]; a plant's
/// `params()` after `--set` overrides) instead of their defaults.
///
/// # Panics
///
/// If `params` has fewer values than the model has parameters, or `q` fewer than it has coordinates.
pub fn world_points_with(
    model: &Model,
    params: &[f64],
    q: &[f64],
    points: &[(BodyRef, &[Sym; 3])],
) -> Vec<[f64; 3]> {
    let b = Builder::new(Graph::new());
    let lw = Lowerer::constant(model, &b, params);
    let q: Vec<E> = q.iter().map(|&v| b.c(v)).collect();
    let poses = lw.poses(&q);
    points
        .iter()
        .map(|&(body, at)| {
            let at = lw.pos(at);
            let p = match body {
                BodyRef::World => at,
                BodyRef::Body(i) => poses[i.index()]
                    .unwrap_or_else(|| frame::Pose::world(&b, model.space_dim))
                    .apply(&at),
            };
            std::array::from_fn(|i| p.get(i).map_or(0.0, |&e| constant(&b, e)))
        })
        .collect()
}

/// Each obstacle of a spatial model at posture `q` (parameters at `params`): its centre and the world
/// directions of its frame's x, y and z axes (a cylinder's axis is z; an ellipsoid's semi-axes lie along
/// them): the frames the wrapping is computed in, folded to numbers. Planar models have none.
///
/// # Panics
///
/// As [`world_points_with`]; and if a body carrying an obstacle hangs from no joint (a checked model's
/// bodies all do).
pub fn obstacle_frames_with(
    model: &Model,
    params: &[f64],
    q: &[f64],
) -> Vec<([f64; 3], [[f64; 3]; 3])> {
    if model.space_dim != 3 {
        return Vec::new();
    }
    let b = Builder::new(Graph::new());
    let lw = Lowerer::constant(model, &b, params);
    let q: Vec<E> = q.iter().map(|&v| b.c(v)).collect();
    let poses = lw.poses(&q);
    model
        .obstacles
        .iter()
        .map(|o| {
            let (centre, rotation, _) = lw.obstacle_frame(&poses, o);
            (
                centre.map(|e| constant(&b, e)),
                // Column j of the rotation is axis j's direction in the world.
                std::array::from_fn(|j| std::array::from_fn(|i| constant(&b, rotation[i][j]))),
            )
        })
        .collect()
}

fn constant(b: &Builder, e: E) -> f64 {
    b.with(|g| g.const_value(e.id))
        .expect("an expression of constants folds to a constant")
}

pub(super) struct Lowerer<'m, 'b> {
    pub(super) m: &'m Model,
    pub(super) b: &'b Builder,
    pub(super) params: Vec<E<'b>>,
}

impl<'m, 'b> Lowerer<'m, 'b> {
    /// A lowerer whose parameters are the constants `params`, to evaluate kinematics at one posture.
    fn constant(m: &'m Model, b: &'b Builder, params: &[f64]) -> Self {
        let params = params[..m.params.len()].iter().map(|&v| b.c(v)).collect();
        Lowerer { m, b, params }
    }
}

struct Bound<'b> {
    lower: E<'b>,
    upper: E<'b>,
    vel_lower: E<'b>,
    vel_upper: E<'b>,
}

/// Expressions over placeholder coordinates (`Var`s) that each integrator stage instantiates.
struct Templates {
    dof: usize,
    /// 2 or 3: the length of the endpoint force.
    space_dim: usize,
    /// Per muscle: [length, velocity, dL/dq₀, …].
    geometry: Vec<Vec<NodeId>>,
    /// Endpoint position then velocity ([x, y, vx, vy] or [x, y, z, vx, vy, vz]).
    cartesian: Vec<NodeId>,
    /// Generalized accelerations as functions of (q, q̇, τ, endpoint force).
    acceleration: Vec<NodeId>,
}

impl Templates {
    fn vars(
        &self,
    ) -> (
        std::ops::Range<u32>,
        std::ops::Range<u32>,
        std::ops::Range<u32>,
        std::ops::Range<u32>,
    ) {
        let d = self.dof as u32;
        (
            0..d,
            d..2 * d,
            2 * d..3 * d,
            3 * d..3 * d + self.space_dim as u32,
        )
    }

    fn instantiate<'b>(
        &self,
        b: &'b Builder,
        roots: &[NodeId],
        values: &[(std::ops::Range<u32>, &[E<'b>])],
    ) -> Vec<E<'b>> {
        let mut map = HashMap::new();
        b.with(|g| {
            for (range, vals) in values {
                for (v, e) in range.clone().zip(vals.iter()) {
                    map.insert(g.var(v), e.id);
                }
            }
            g.substitute(roots, &map)
        })
        .into_iter()
        .map(|id| b.e(id))
        .collect()
    }

    fn geometry<'b>(&self, b: &'b Builder, q: &[E<'b>], qd: &[E<'b>]) -> Vec<Vec<E<'b>>> {
        let (vq, vqd, ..) = self.vars();
        self.geometry
            .iter()
            .map(|g| self.instantiate(b, g, &[(vq.clone(), q), (vqd.clone(), qd)]))
            .collect()
    }

    fn cartesian<'b>(&self, b: &'b Builder, q: &[E<'b>], qd: &[E<'b>]) -> Vec<E<'b>> {
        let (vq, vqd, ..) = self.vars();
        self.instantiate(b, &self.cartesian, &[(vq, q), (vqd, qd)])
    }

    fn acceleration<'b>(
        &self,
        b: &'b Builder,
        q: &[E<'b>],
        qd: &[E<'b>],
        tau: &[E<'b>],
        f: &[E<'b>],
    ) -> Vec<E<'b>> {
        let (vq, vqd, vtau, vf) = self.vars();
        self.instantiate(
            b,
            &self.acceleration,
            &[(vq, q), (vqd, qd), (vtau, tau), (vf, f)],
        )
    }
}
