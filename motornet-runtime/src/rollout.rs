//! Backpropagation through time through a plant: record a trajectory, then run the step adjoints backwards
//! through it for any loss defined on the recorded states.

use crate::error::Error;
use crate::plant::{Plant, Workspace};

/// A recorded trajectory of `batch` effectors: every state and every step's controls.
#[derive(Clone, Debug)]
pub struct Rollout {
    pub batch: usize,
    pub steps: usize,
    pub state_dim: usize,
    pub control_dim: usize,
    /// `(steps + 1) × batch × state_dim`; index 0 is the state right after reset.
    pub states: Vec<f64>,
    /// `steps × batch × control_dim`: excitations, endpoint force, joint loads of each step.
    pub controls: Vec<f64>,
}

/// Gradients of a loss with respect to what a rollout was given.
#[derive(Clone, Debug)]
pub struct RolloutGradients {
    /// `steps × batch × control_dim`.
    pub controls: Vec<f64>,
    /// `batch × state_dim`: the cotangent of the state right after reset.
    pub initial_state: Vec<f64>,
}

impl Rollout {
    /// Resets from `joint` (`batch × 2·dof`) and steps through `controls` (`steps × batch × control_dim`).
    pub fn record<P: Plant + ?Sized>(
        plant: &P,
        joint: &[f64],
        controls: &[f64],
        batch: usize,
    ) -> Result<Rollout, Error> {
        let info = plant.info();
        let (s, c, jd) = (info.state_dim(), info.control_dim(), info.joint_dim());
        if joint.len() != batch * jd {
            return Err(Error::Shape {
                what: "joint state".into(),
                expected: batch * jd,
                got: joint.len(),
            });
        }
        if !controls.len().is_multiple_of((batch * c).max(1)) {
            return Err(Error::Shape {
                what: "controls (steps × batch × controls)".into(),
                expected: batch * c,
                got: controls.len(),
            });
        }
        let steps = controls.len().checked_div(batch * c).unwrap_or(0);
        let mut ws = plant.workspace();
        let mut states = vec![0.0; (steps + 1) * batch * s];
        for b in 0..batch {
            plant.reset_unchecked(
                &mut ws,
                &joint[b * jd..(b + 1) * jd],
                &mut states[b * s..(b + 1) * s],
            );
        }
        for t in 0..steps {
            let (done, rest) = states.split_at_mut((t + 1) * batch * s);
            for b in 0..batch {
                let x = &done[(t * batch + b) * s..(t * batch + b + 1) * s];
                let u = &controls[(t * batch + b) * c..(t * batch + b + 1) * c];
                plant.step_unchecked(&mut ws, x, u, &mut rest[b * s..(b + 1) * s]);
            }
        }
        Ok(Rollout {
            batch,
            steps,
            state_dim: s,
            control_dim: c,
            states,
            controls: controls.to_vec(),
        })
    }

    /// State of effector `b` at step `t`.
    pub fn state(&self, t: usize, b: usize) -> &[f64] {
        let s = self.state_dim;
        &self.states[(t * self.batch + b) * s..(t * self.batch + b + 1) * s]
    }

    /// Backpropagates a loss `L = Σₜ ℓₜ(stateₜ)`. `state_cotangent(t, b, state, out)` adds ∂ℓₜ/∂stateₜ of
    /// effector `b` to `out` (t = 0..=steps). Allocates its buffers once, not per step.
    pub fn backward<P: Plant + ?Sized>(
        &self,
        plant: &P,
        ws: &mut Workspace,
        mut state_cotangent: impl FnMut(usize, usize, &[f64], &mut [f64]),
    ) -> RolloutGradients {
        let (s, c, batch) = (self.state_dim, self.control_dim, self.batch);
        let mut lambda = vec![0.0; batch * s];
        let mut next_lambda = vec![0.0; batch * s];
        let mut grads = vec![0.0; self.steps * batch * c];
        for t in (1..=self.steps).rev() {
            for b in 0..batch {
                state_cotangent(t, b, self.state(t, b), &mut lambda[b * s..(b + 1) * s]);
            }
            for b in 0..batch {
                let u = &self.controls[((t - 1) * batch + b) * c..((t - 1) * batch + b + 1) * c];
                let gu = &mut grads[((t - 1) * batch + b) * c..((t - 1) * batch + b + 1) * c];
                plant.step_vjp_unchecked(
                    ws,
                    self.state(t - 1, b),
                    u,
                    &lambda[b * s..(b + 1) * s],
                    &mut next_lambda[b * s..(b + 1) * s],
                    gu,
                );
            }
            std::mem::swap(&mut lambda, &mut next_lambda);
        }
        for b in 0..batch {
            state_cotangent(0, b, self.state(0, b), &mut lambda[b * s..(b + 1) * s]);
        }
        RolloutGradients {
            controls: grads,
            initial_state: lambda,
        }
    }
}
