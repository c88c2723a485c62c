//! One step, in MotorNet's order: the ODE of a stage, the integrators (euler, motornet_rk4, rk4) and
//! joint-limit clipping, over the state layout of [`PlantInfo`].

use super::*;

/// One integrator stage's full state, as MotorNet holds it.
#[derive(Clone)]
pub(super) struct Stage<'b> {
    pub(super) q: Vec<E<'b>>,
    pub(super) qd: Vec<E<'b>>,
    /// Per muscle, its state rows.
    pub(super) muscle: Vec<Vec<E<'b>>>,
    /// Per muscle: [length, velocity, dL/dq…].
    pub(super) geometry: Vec<Vec<E<'b>>>,
}

/// State derivative: (q̇ used for positions, q̈, per-muscle derivative rows).
pub(super) struct Derivative<'b> {
    pub(super) dq: Vec<E<'b>>,
    pub(super) ddq: Vec<E<'b>>,
    pub(super) muscle: Vec<Vec<E<'b>>>,
}

pub(super) struct StepContext<'a, 'm, 'b> {
    pub(super) lw: &'a Lowerer<'m, 'b>,
    pub(super) info: &'a PlantInfo,
    pub(super) t: &'a Templates,
    pub(super) kinds: Option<MuscleKind>,
    pub(super) rows: usize,
    pub(super) muscle_params: &'a [Params<'b>],
    pub(super) bounds: &'a [Bound<'b>],
    pub(super) f_end: &'a [E<'b>],
    pub(super) tau_load: &'a [E<'b>],
}

impl<'b> StepContext<'_, '_, 'b> {
    pub(super) fn dof(&self) -> usize {
        self.lw.m.dof()
    }

    pub(super) fn unpack(&self, state: &[E<'b>]) -> Stage<'b> {
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

    pub(super) fn pack(&self, s: &Stage<'b>) -> Vec<E<'b>> {
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
    pub(super) fn ode(&self, u: &[E<'b>], s: &Stage<'b>) -> Derivative<'b> {
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
                let joint = &self.lw.m.joints[self.lw.m.coords[j].joint.index()];
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
    pub(super) fn advance(
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

    pub(super) fn integrate(
        &self,
        method: Integrator,
        h: E<'b>,
        u: &[E<'b>],
        s0: &Stage<'b>,
    ) -> Stage<'b> {
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
pub(super) fn combine<'b>(
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
