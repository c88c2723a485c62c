//! Checked model → [`Program`]: everything a step computes becomes nodes of one graph.
//!
//! The skeleton's equations of motion are derived, not written: body positions are built as expressions of
//! placeholder coordinates, the compiler differentiates them symbolically to get Jacobians, the mass matrix
//! `M = Σ mᵢ JᵢᵀJᵢ + Iᵢ JθᵢᵀJθᵢ` and the velocity-product terms `Σ mᵢ Jᵢᵀ (J̇ᵢ q̇)`, and solves `M q̈ = τ − h`
//! with an unrolled LDLᵀ factorisation. Muscle path lengths are built the same way and differentiated for
//! moment arms. These templates are then instantiated (by substitution) at every integrator stage.

use crate::expr::{Builder, E};
use crate::ir::{Graph, NodeId};
use crate::model::*;
use crate::muscles::{MuscleKind, Params};
use crate::program::*;
use motornet_runtime::plant::{ParamInfo, PlantInfo};
use std::collections::HashMap;

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
    let step_inputs: Vec<u32> = (0..(state_dim + nm + 2 + dof) as u32).collect();
    let reset_inputs: Vec<u32> = (0..2 * dof as u32)
        .map(|i| i + step_inputs.len() as u32)
        .collect();
    let inp = |i: u32| b.input(i);
    let state: Vec<E> = (0..state_dim as u32).map(inp).collect();
    let u: Vec<E> = (0..nm).map(|m| inp((state_dim + m) as u32)).collect();
    let f_end: Vec<E> = (0..2).map(|k| inp((state_dim + nm + k) as u32)).collect();
    let tau_load: Vec<E> = (0..dof)
        .map(|k| inp((state_dim + nm + 2 + k) as u32))
        .collect();

    let muscle_params: Vec<Params> = model
        .muscles
        .iter()
        .map(|m| Params {
            kind: m.kind,
            values: m.params.iter().map(|s| lw.sym(s, &[])).collect(),
        })
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

struct Lowerer<'m, 'b> {
    m: &'m Model,
    b: &'b Builder,
    params: Vec<E<'b>>,
}

/// A planar pose: origin and orientation angle.
#[derive(Clone, Copy)]
struct Pose<'b> {
    x: E<'b>,
    y: E<'b>,
    angle: E<'b>,
}

impl<'b> Pose<'b> {
    /// A point given in this frame, in world coordinates.
    fn apply(&self, p: [E<'b>; 2]) -> [E<'b>; 2] {
        let (c, s) = (self.angle.cos(), self.angle.sin());
        [self.x + c * p[0] - s * p[1], self.y + s * p[0] + c * p[1]]
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
    /// Per muscle: [length, velocity, dL/dq₀, …].
    geometry: Vec<Vec<NodeId>>,
    /// Endpoint [x, y, vx, vy].
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
        (0..d, d..2 * d, 2 * d..3 * d, 3 * d..3 * d + 2)
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

impl<'m, 'b> Lowerer<'m, 'b> {
    /// A resolved expression as a node; `coords` supplies the coordinates of lumped path expressions.
    fn sym(&self, s: &Sym, coords: &[E<'b>]) -> E<'b> {
        s.build(self.b, &self.params, &|i| coords[i])
    }

    fn vec2(&self, v: &[Sym; 2]) -> [E<'b>; 2] {
        [self.sym(&v[0], &[]), self.sym(&v[1], &[])]
    }

    fn bounds(&self) -> Vec<Bound<'b>> {
        self.m
            .coords
            .iter()
            .map(|c| {
                let j = &self.m.joints[c.joint];
                Bound {
                    lower: self.sym(&j.lower, &[]),
                    upper: self.sym(&j.upper, &[]),
                    vel_lower: self.sym(&j.vel_lower, &[]),
                    vel_upper: self.sym(&j.vel_upper, &[]),
                }
            })
            .collect()
    }

    /// Body poses as functions of the coordinates `q`, parents first.
    fn poses(&self, q: &[E<'b>]) -> Vec<Option<Pose<'b>>> {
        let world = Pose {
            x: self.b.c(0.0),
            y: self.b.c(0.0),
            angle: self.b.c(0.0),
        };
        let mut poses: Vec<Option<Pose>> = vec![None; self.m.bodies.len()];
        for &j in &self.m.joint_order {
            let joint = &self.m.joints[j];
            let parent = match joint.parent {
                BodyRef::World => world,
                BodyRef::Body(p) => poses[p].expect("joint_order lists parents first"),
            };
            let at = self.vec2(&joint.at);
            let c = joint.coords.start;
            poses[joint.child] = Some(match joint.kind {
                JointKind::Hinge => {
                    let [x, y] = parent.apply(at);
                    Pose {
                        x,
                        y,
                        angle: parent.angle + q[c],
                    }
                }
                JointKind::Slide => {
                    let [x, y] = parent.apply([at[0] + q[c], at[1] + q[c + 1]]);
                    Pose {
                        x,
                        y,
                        angle: parent.angle,
                    }
                }
            });
        }
        poses
    }

    fn point(&self, poses: &[Option<Pose<'b>>], body: BodyRef, at: [E<'b>; 2]) -> [E<'b>; 2] {
        match body {
            BodyRef::World => at,
            BodyRef::Body(i) => poses[i]
                .expect("every body is connected (checked)")
                .apply(at),
        }
    }

    /// Directional derivative of `roots` along the coordinates: Σₖ ∂/∂qₖ · dirₖ.
    fn along(&self, roots: &[E<'b>], q: &[E<'b>], dir: &[E<'b>]) -> Vec<E<'b>> {
        let seeds: HashMap<NodeId, NodeId> = q.iter().zip(dir).map(|(a, b)| (a.id, b.id)).collect();
        let ids = Builder::ids(roots);
        self.b
            .with(|g| g.jvp(&ids, &seeds))
            .into_iter()
            .map(|id| self.b.e(id))
            .collect()
    }

    /// ∂roots/∂qₖ for every k: result[k][r].
    fn jacobian(&self, roots: &[E<'b>], q: &[E<'b>]) -> Vec<Vec<E<'b>>> {
        let one = self.b.c(1.0);
        let zero = self.b.c(0.0);
        (0..q.len())
            .map(|k| {
                let dir: Vec<E> = (0..q.len())
                    .map(|i| if i == k { one } else { zero })
                    .collect();
                self.along(roots, q, &dir)
            })
            .collect()
    }

    fn templates(&self) -> Templates {
        let b = self.b;
        let dof = self.m.dof();
        let d = dof as u32;
        let q: Vec<E> = (0..d).map(|i| b.var(i)).collect();
        let qd: Vec<E> = (d..2 * d).map(|i| b.var(i)).collect();
        let tau: Vec<E> = (2 * d..3 * d).map(|i| b.var(i)).collect();
        let force: Vec<E> = (3 * d..3 * d + 2).map(|i| b.var(i)).collect();
        let poses = self.poses(&q);

        // Endpoint position, its Jacobian and velocity.
        let end = self.point(&poses, self.m.endpoint.body, self.vec2(&self.m.endpoint.at));
        let end_jac = self.jacobian(&end, &q);
        let end_vel: Vec<E> = (0..2)
            .map(|r| b.sum((0..dof).map(|k| end_jac[k][r] * qd[k])))
            .collect();
        let cartesian = Builder::ids(&[end[0], end[1], end_vel[0], end_vel[1]]);

        // Mass matrix, velocity-product and gravity terms from every body's centre of mass.
        let mut mass_matrix = vec![vec![b.c(0.0); dof]; dof];
        let mut velocity_products = vec![b.c(0.0); dof];
        let mut weights = vec![b.c(0.0); dof];
        let gravity = self.vec2(&self.m.gravity);
        for (i, body) in self.m.bodies.iter().enumerate() {
            let Some(pose) = poses[i] else { continue };
            let mass = self.sym(&body.mass, &[]);
            let inertia = self.sym(&body.inertia, &[]);
            let com = pose.apply(self.vec2(&body.com));
            let jac = self.jacobian(&com, &q); // jac[k] = ∂com/∂qₖ
            let jac_angle = self.jacobian(&[pose.angle], &q);
            let vel = self.along(&com, &q, &qd);
            let conv = self.along(&vel, &q, &qd); // J̇ q̇
            for j in 0..dof {
                for k in 0..=j {
                    let translational = mass * (jac[j][0] * jac[k][0] + jac[j][1] * jac[k][1]);
                    let rotational = inertia * jac_angle[j][0] * jac_angle[k][0];
                    mass_matrix[j][k] = mass_matrix[j][k] + translational + rotational;
                }
                // Orientation is linear in q for hinge and slide joints, so only translation has J̇ q̇ terms.
                velocity_products[j] =
                    velocity_products[j] + mass * (jac[j][0] * conv[0] + jac[j][1] * conv[1]);
                weights[j] = weights[j] + mass * (jac[j][0] * gravity[0] + jac[j][1] * gravity[1]);
            }
        }
        // Moving the whole skeleton about a joint fixed to the world changes no kinetic energy, so the mass
        // matrix and the velocity products do not depend on those joints' coordinates: evaluate them at 0,
        // which folds their sines and cosines away and leaves relative angles only.
        let zero = b.c(0.0);
        let fixed: HashMap<NodeId, NodeId> = self
            .m
            .joints
            .iter()
            .filter(|j| j.parent == BodyRef::World)
            .flat_map(|j| j.coords.clone())
            .map(|c| (q[c].id, zero.id))
            .collect();
        let relative = |es: Vec<E<'b>>| -> Vec<E<'b>> {
            let ids = Builder::ids(&es);
            b.with(|g| g.substitute(&ids, &fixed))
                .into_iter()
                .map(|id| b.e(id))
                .collect()
        };
        let mass_matrix: Vec<Vec<E>> = mass_matrix.into_iter().map(relative).collect();
        let velocity_products = relative(velocity_products);
        let rhs: Vec<E> = (0..dof)
            .map(|j| {
                tau[j] + end_jac[j][0] * force[0] + end_jac[j][1] * force[1] - velocity_products[j]
                    + weights[j]
            })
            .collect();
        let acceleration = Builder::ids(&solve_symmetric(&mass_matrix, &rhs));

        // Muscle paths: length, lengthening velocity and moment arms dL/dq.
        let geometry = self
            .m
            .muscles
            .iter()
            .map(|muscle| {
                let (length, velocity_weights) = match &muscle.path {
                    Path::Lumped(s) => (self.sym(s, &q), None),
                    Path::Via(elements) => (
                        self.via_length(&poses, elements),
                        Some(self.m.path_velocity),
                    ),
                };
                let arms: Vec<E> = self
                    .jacobian(&[length], &q)
                    .into_iter()
                    .map(|r| r[0])
                    .collect();
                let rate: Vec<E> = match velocity_weights {
                    Some(PathVelocity::Motornet) => self.motornet_path_rates(&qd),
                    _ => qd.clone(),
                };
                let velocity = b.sum(arms.iter().zip(&rate).map(|(&a, &r)| a * r));
                Builder::ids(&[vec![length, velocity], arms].concat())
            })
            .collect();
        Templates {
            dof,
            geometry,
            cartesian,
            acceleration,
        }
    }

    /// Length of a via-point path: straight segments between consecutive points, except where a wrap
    /// element sits between two points and the straight segment would cross its obstacle.
    fn via_length(&self, poses: &[Option<Pose<'b>>], elements: &[PathElementRef]) -> E<'b> {
        let mut total = Vec::new();
        let mut prev: Option<[E<'b>; 2]> = None;
        let mut pending_wrap: Option<(usize, &WrapSideRef)> = None;
        for e in elements {
            match e {
                PathElementRef::Point(p) => {
                    let here = self.point(poses, p.body, self.vec2(&p.at));
                    if let Some(from) = prev {
                        total.push(match pending_wrap.take() {
                            Some((o, side)) => {
                                self.wrapped_segment(poses, from, here, &self.m.obstacles[o], side)
                            }
                            None => distance(from, here),
                        });
                    }
                    prev = Some(here);
                }
                PathElementRef::Wrap { obstacle, side } => pending_wrap = Some((*obstacle, side)),
            }
        }
        self.b.sum(total)
    }

    /// The shortest path from `p` to `q` around a circle (a cylinder with axis +z, or the great circle of a
    /// sphere through two points in its equatorial plane): straight when the segment misses the circle,
    /// otherwise tangent line, arc on the chosen side, tangent line. Every form stays finite when a point
    /// approaches the surface (the tangent lengths are clamped at zero); a point inside the obstacle is
    /// reported by the checker at the model's default posture.
    fn wrapped_segment(
        &self,
        poses: &[Option<Pose<'b>>],
        p: [E<'b>; 2],
        q: [E<'b>; 2],
        o: &Obstacle,
        side: &WrapSideRef,
    ) -> E<'b> {
        let b = self.b;
        let c = self.point(poses, o.body, self.vec2(&o.at));
        let r = self.sym(&o.radius, &[]);
        // Everything relative to the obstacle's centre.
        let (px, py) = (p[0] - c[0], p[1] - c[1]);
        let (qx, qy) = (q[0] - c[0], q[1] - c[1]);
        let (dx, dy) = (qx - px, qy - py);
        let straight = (dx * dx + dy * dy).sqrt();
        // Does the segment cross the circle? Closest point of the segment to the centre.
        let len2 = dx * dx + dy * dy;
        let t = (-(px * dx + py * dy) / len2.clamp_min(1e-300)).clamp(0.0, 1.0);
        let (cx, cy) = (px + t * dx, py + t * dy);
        let crosses = (cx * cx + cy * cy).lt(r * r);
        // Direction around the centre: counter-clockwise (+1) or clockwise (−1) from p to q.
        let ccw = match side {
            WrapSideRef::Sign(sign) => b.c(0.0).lt(*sign),
            WrapSideRef::Point(at) => {
                // A side point on the left of p→q makes the path pass left of the centre: clockwise.
                let sp = self.point(poses, o.body, self.vec2(at));
                let cross = dx * (sp[1] - p[1]) - dy * (sp[0] - p[0]);
                cross.lt(0.0)
            }
        };
        let eps = 1e-12;
        let (dp2, dq2) = (px * px + py * py, qx * qx + qy * qy);
        let (tp, tq) = (
            (dp2 - r * r).clamp_min(eps).sqrt(),
            (dq2 - r * r).clamp_min(eps).sqrt(),
        );
        // Angles of the tangent points seen from the centre: φ ± α with α = atan2(tangent length, r).
        let (alpha_p, alpha_q) = (tp.atan2(r), tq.atan2(r));
        let (phi_p, phi_q) = (py.atan2(px), qy.atan2(qx));
        let sweep = ccw.select(
            phi_q - alpha_q - (phi_p + alpha_p),
            (phi_p - alpha_p) - (phi_q + alpha_q),
        );
        // Arc angle in [0, 2π).
        let wrapped = sweep.sin().atan2(sweep.cos());
        let arc = wrapped
            .lt(0.0)
            .select(wrapped + 2.0 * std::f64::consts::PI, wrapped);
        let around = tp + r * arc + tq;
        crosses.select(around, straight)
    }

    /// MotorNet's via-point velocity weights: for a hinge coordinate, the summed rates of every hinge on the
    /// way from the world to it (the absolute angular velocity of its child body); slides keep their own rate.
    fn motornet_path_rates(&self, qd: &[E<'b>]) -> Vec<E<'b>> {
        self.m
            .coords
            .iter()
            .enumerate()
            .map(|(k, c)| {
                let joint = &self.m.joints[c.joint];
                if joint.kind == JointKind::Slide {
                    return qd[k];
                }
                let mut rate = qd[k];
                let mut parent = joint.parent;
                while let BodyRef::Body(p) = parent {
                    let pj = self
                        .m
                        .joints
                        .iter()
                        .find(|j| j.child == p)
                        .expect("connected (checked)");
                    if pj.kind == JointKind::Hinge {
                        rate = rate + qd[pj.coords.start];
                    }
                    parent = pj.parent;
                }
                rate
            })
            .collect()
    }
}

fn distance<'b>(a: [E<'b>; 2], b: [E<'b>; 2]) -> E<'b> {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    (dx * dx + dy * dy).sqrt()
}

/// Solves `M x = r` for a symmetric positive definite `M` (lower triangle given) by an unrolled LDLᵀ
/// factorisation: no square roots, one division per pivot.
fn solve_symmetric<'b>(m: &[Vec<E<'b>>], r: &[E<'b>]) -> Vec<E<'b>> {
    let n = r.len();
    if n == 0 {
        return Vec::new();
    }
    let b = r[0].builder();
    let mut l = vec![vec![b.c(0.0); n]; n];
    let mut d = vec![b.c(0.0); n];
    let mut inv_d = vec![b.c(0.0); n];
    for j in 0..n {
        let mut pivot = m[j][j];
        for k in 0..j {
            pivot = pivot - l[j][k] * l[j][k] * d[k];
        }
        d[j] = pivot;
        inv_d[j] = 1.0 / pivot;
        for i in j + 1..n {
            let mut s = m[i][j];
            for k in 0..j {
                s = s - l[i][k] * l[j][k] * d[k];
            }
            l[i][j] = s * inv_d[j];
        }
    }
    // L z = r, D y = z, Lᵀ x = y.
    let mut z = r.to_vec();
    for i in 0..n {
        for k in 0..i {
            z[i] = z[i] - l[i][k] * z[k];
        }
    }
    let mut x: Vec<E> = (0..n).map(|i| z[i] * inv_d[i]).collect();
    for i in (0..n).rev() {
        for k in i + 1..n {
            x[i] = x[i] - l[k][i] * x[k];
        }
    }
    x
}

/// One integrator stage's full state, as MotorNet holds it.
#[derive(Clone)]
struct Stage<'b> {
    q: Vec<E<'b>>,
    qd: Vec<E<'b>>,
    /// Per muscle, its state rows.
    muscle: Vec<Vec<E<'b>>>,
    /// Per muscle: [length, velocity, dL/dq…].
    geometry: Vec<Vec<E<'b>>>,
}

/// State derivative: (q̇ used for positions, q̈, per-muscle derivative rows).
struct Derivative<'b> {
    dq: Vec<E<'b>>,
    ddq: Vec<E<'b>>,
    muscle: Vec<Vec<E<'b>>>,
}

struct StepContext<'a, 'm, 'b> {
    lw: &'a Lowerer<'m, 'b>,
    info: &'a PlantInfo,
    t: &'a Templates,
    kinds: Option<MuscleKind>,
    rows: usize,
    muscle_params: &'a [Params<'b>],
    bounds: &'a [Bound<'b>],
    f_end: &'a [E<'b>],
    tau_load: &'a [E<'b>],
}

impl<'b> StepContext<'_, '_, 'b> {
    fn dof(&self) -> usize {
        self.lw.m.dof()
    }

    fn unpack(&self, state: &[E<'b>]) -> Stage<'b> {
        let (dof, nm, rows) = (self.dof(), self.muscle_params.len(), self.rows);
        let muscle_at = self.info.muscle().start;
        let geometry_at = self.info.geometry().start;
        Stage {
            q: state[..dof].to_vec(),
            qd: state[dof..2 * dof].to_vec(),
            muscle: (0..nm)
                .map(|m| (0..rows).map(|r| state[muscle_at + r * nm + m]).collect())
                .collect(),
            geometry: (0..nm)
                .map(|m| {
                    (0..2 + dof)
                        .map(|r| state[geometry_at + r * nm + m])
                        .collect()
                })
                .collect(),
        }
    }

    fn pack(&self, s: &Stage<'b>) -> Vec<E<'b>> {
        let (dof, nm, rows) = (self.dof(), self.muscle_params.len(), self.rows);
        let mut out = Vec::with_capacity(self.info.state_dim());
        out.extend_from_slice(&s.q);
        out.extend_from_slice(&s.qd);
        for r in 0..rows {
            out.extend((0..nm).map(|m| s.muscle[m][r]));
        }
        for r in 0..2 + dof {
            out.extend((0..nm).map(|m| s.geometry[m][r]));
        }
        out.extend(self.t.cartesian(self.lw.b, &s.q, &s.qd));
        debug_assert_eq!(
            out.len(),
            self.info.state_dim(),
            "the state layout of PlantInfo"
        );
        out
    }

    /// Generalized forces from muscles, loads and damping, then accelerations and muscle derivatives.
    fn ode(&self, u: &[E<'b>], s: &Stage<'b>) -> Derivative<'b> {
        let b = self.lw.b;
        let dof = self.dof();
        let force_row = self.kinds.map_or(0, MuscleKind::force_row);
        let tau: Vec<E> = (0..dof)
            .map(|j| {
                let muscles = b.sum(
                    s.muscle
                        .iter()
                        .zip(&s.geometry)
                        .map(|(m, g)| m[force_row] * g[2 + j]),
                );
                let joint = &self.lw.m.joints[self.lw.m.coords[j].joint];
                let damping = self.lw.sym(&joint.damping, &[]);
                -muscles + self.tau_load[j] - damping * s.qd[j]
            })
            .collect();
        let ddq = self.t.acceleration(b, &s.q, &s.qd, &tau, self.f_end);
        let muscle = (0..s.muscle.len())
            .map(|m| {
                self.lw.m.muscles[m]
                    .kind
                    .ode(&self.muscle_params[m], u[m], &s.muscle[m])
            })
            .collect();
        Derivative {
            dq: s.qd.clone(),
            ddq,
            muscle,
        }
    }

    /// Advances stage `s` by `h` along `k`. `motornet_positions`: positions move with `s`'s own velocity (as
    /// MotorNet's skeletons do) rather than with `k.dq`.
    fn advance(
        &self,
        h: E<'b>,
        k: &Derivative<'b>,
        s: &Stage<'b>,
        motornet_positions: bool,
    ) -> Stage<'b> {
        let b = self.lw.b;
        let muscle = (0..s.muscle.len())
            .map(|m| {
                let (len, vel) = (s.geometry[m][0], s.geometry[m][1]);
                self.lw.m.muscles[m].kind.integrate(
                    &self.muscle_params[m],
                    h,
                    &k.muscle[m],
                    &s.muscle[m],
                    len,
                    vel,
                )
            })
            .collect();
        let mut q = Vec::new();
        let mut qd = Vec::new();
        for (j, bound) in self.bounds.iter().enumerate() {
            let rate = if motornet_positions { s.qd[j] } else { k.dq[j] };
            let new_q = s.q[j] + rate * h;
            // MotorNet's clipping: velocity to its bounds, zeroed where the position is at or past a bound and
            // the velocity points further out; then the position (torch.min/max semantics).
            let mut v = (s.qd[j] + k.ddq[j] * h)
                .max(bound.vel_lower)
                .min(bound.vel_upper);
            v = v.lt(0.0).and(new_q.le(bound.lower)).select(0.0, v);
            v = v.gt(0.0).and(new_q.ge(bound.upper)).select(0.0, v);
            q.push(new_q.max(bound.lower).min(bound.upper));
            qd.push(v);
        }
        let geometry = self.t.geometry(b, &q, &qd);
        Stage {
            q,
            qd,
            muscle,
            geometry,
        }
    }

    fn integrate(&self, method: Integrator, h: E<'b>, u: &[E<'b>], s0: &Stage<'b>) -> Stage<'b> {
        let k1 = self.ode(u, s0);
        match method {
            Integrator::Euler => self.advance(h, &k1, s0, true),
            Integrator::MotornetRk4 => {
                // Stages chain from the advanced state (MotorNet 0.3.0), positions use each state's velocity.
                let half = h * 0.5;
                let s = self.advance(half, &k1, s0, true);
                let k2 = self.ode(u, &s);
                let s = self.advance(half, &k2, &s, true);
                let k3 = self.ode(u, &s);
                let s = self.advance(h, &k3, &s, true);
                let k4 = self.ode(u, &s);
                self.advance(h, &combine(&k1, &k2, &k3, &k4), s0, true)
            }
            Integrator::Rk4 => {
                let half = h * 0.5;
                let k2 = self.ode(u, &self.advance(half, &k1, s0, false));
                let k3 = self.ode(u, &self.advance(half, &k2, s0, false));
                let k4 = self.ode(u, &self.advance(h, &k3, s0, false));
                self.advance(h, &combine(&k1, &k2, &k3, &k4), s0, false)
            }
        }
    }
}

/// (k1 + 2(k2 + k3) + k4) / 6, component-wise.
fn combine<'b>(
    k1: &Derivative<'b>,
    k2: &Derivative<'b>,
    k3: &Derivative<'b>,
    k4: &Derivative<'b>,
) -> Derivative<'b> {
    let mix = |a: &[E<'b>], b: &[E<'b>], c: &[E<'b>], d: &[E<'b>]| -> Vec<E<'b>> {
        (0..a.len())
            .map(|i| (a[i] + 2.0 * (b[i] + c[i]) + d[i]) / 6.0)
            .collect()
    };
    Derivative {
        dq: mix(&k1.dq, &k2.dq, &k3.dq, &k4.dq),
        ddq: mix(&k1.ddq, &k2.ddq, &k3.ddq, &k4.ddq),
        muscle: (0..k1.muscle.len())
            .map(|m| mix(&k1.muscle[m], &k2.muscle[m], &k3.muscle[m], &k4.muscle[m]))
            .collect(),
    }
}
