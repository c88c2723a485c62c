//! Backpropagation through time through a plant: record a trajectory, then run the step adjoints backwards
//! through it for any loss defined on the recorded states ([`Rollout::record`], [`Rollout::backward`]);
//! or, when only the gradient is wanted, [`Rollout::gradient`], which never holds the whole trajectory.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::batch::{read_row, write_row, LANES};
use crate::error::Error;
use crate::plant::{Plant, Workspace};
use crate::team::Disjoint;

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
        let steps = steps_of(plant, joint, controls, batch)?;
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

    /// The gradient [`Rollout::record`] then [`Rollout::backward`] would give, with the same bits, computed
    /// without keeping the whole trajectory: effectors are independent, so each block of four is run
    /// forward (four per SIMD instruction where the plant steps a block at once) and straight back
    /// while its trajectory is still in cache, and `threads` threads take blocks as they become free (a
    /// thread the system deschedules just takes fewer). `state_cotangent` is as for [`Rollout::backward`]
    /// but is called from several threads, effector by effector (`t` from `steps` down to 0 for each).
    pub fn gradient<P: Plant + ?Sized>(
        plant: &P,
        joint: &[f64],
        controls: &[f64],
        batch: usize,
        threads: usize,
        state_cotangent: impl Fn(usize, usize, &[f64], &mut [f64]) + Sync,
    ) -> Result<RolloutGradients, Error> {
        if threads == 0 {
            return Err(Error::Input(
                "rollout gradient: `threads` must be at least 1".into(),
            ));
        }
        let steps = steps_of(plant, joint, controls, batch)?;
        let info = plant.info();
        let (s, c) = (info.state_dim(), info.control_dim());
        let mut grads = RolloutGradients {
            controls: vec![0.0; steps * batch * c],
            initial_state: vec![0.0; batch * s],
        };
        let out = BlockOutputs {
            controls: Disjoint(grads.controls.as_mut_ptr()),
            initial_state: Disjoint(grads.initial_state.as_mut_ptr()),
        };
        let work = BlockWork {
            plant,
            joint,
            controls,
            batch,
            steps,
            next_block: AtomicUsize::new(0),
        };
        let helpers = threads.min(batch.div_ceil(LANES)).saturating_sub(1);
        std::thread::scope(|scope| {
            for k in 0..helpers {
                // A helper that cannot be started leaves its blocks to the others.
                let _ = std::thread::Builder::new()
                    .name(format!("motornet-rollout-{}", k + 1))
                    .spawn_scoped(scope, || work.run(&state_cotangent, &out));
            }
            work.run(&state_cotangent, &out);
        });
        Ok(grads)
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

/// The number of steps in `controls`, after checking every length against `plant` and `batch`.
fn steps_of<P: Plant + ?Sized>(
    plant: &P,
    joint: &[f64],
    controls: &[f64],
    batch: usize,
) -> Result<usize, Error> {
    let info = plant.info();
    let (c, jd) = (info.control_dim(), info.joint_dim());
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
    Ok(controls.len().checked_div(batch * c).unwrap_or(0))
}

/// What every thread of [`Rollout::gradient`] reads, and the counter from which it takes blocks.
struct BlockWork<'a, P: ?Sized> {
    plant: &'a P,
    joint: &'a [f64],
    controls: &'a [f64],
    batch: usize,
    steps: usize,
    next_block: AtomicUsize,
}

/// Where [`Rollout::gradient`]'s threads write: each effector's parts of the outputs belong to the one
/// thread that took its block.
struct BlockOutputs {
    controls: Disjoint<f64>,
    initial_state: Disjoint<f64>,
}

impl<P: Plant + ?Sized> BlockWork<'_, P> {
    /// Takes blocks of [`LANES`] effectors until none is left; for each, runs the steps forward in the
    /// batch layout, keeping every state as a row, then each effector's adjoints backwards.
    fn run(
        &self,
        state_cotangent: &(impl Fn(usize, usize, &[f64], &mut [f64]) + Sync),
        out: &BlockOutputs,
    ) {
        let (plant, batch, steps) = (self.plant, self.batch, self.steps);
        let info = plant.info();
        let (s, c, jd) = (info.state_dim(), info.control_dim(), info.joint_dim());
        let mut ws = plant.workspace();
        // trajectories[k]: the `steps + 1` states of the block's effector k, one after another.
        let mut trajectories = vec![0.0; LANES.min(batch) * (steps + 1) * s];
        // One full block in the batch layout: its states now and after the step, and its controls.
        let (mut now, mut next) = (vec![0.0; LANES * s], vec![0.0; LANES * s]);
        let mut block_controls = vec![0.0; LANES * c];
        let (mut lambda, mut next_lambda) = (vec![0.0; s], vec![0.0; s]);
        let control =
            |t: usize, b: usize| &self.controls[(t * batch + b) * c..(t * batch + b + 1) * c];
        loop {
            let first = self.next_block.fetch_add(1, Ordering::Relaxed) * LANES;
            if first >= batch {
                return;
            }
            let n = LANES.min(batch - first);
            let trajectories = &mut trajectories[..n * (steps + 1) * s];
            for (k, traj) in trajectories.chunks_exact_mut((steps + 1) * s).enumerate() {
                let b = first + k;
                plant.reset_unchecked(&mut ws, &self.joint[b * jd..(b + 1) * jd], &mut traj[..s]);
            }
            if n == LANES {
                for (k, traj) in trajectories.chunks_exact((steps + 1) * s).enumerate() {
                    write_row(&mut now, LANES, k, &traj[..s]);
                }
                for t in 0..steps {
                    for k in 0..LANES {
                        write_row(&mut block_controls, LANES, k, control(t, first + k));
                    }
                    plant.step_batch_unchecked(&mut ws, &now, &block_controls, &mut next);
                    for (k, traj) in trajectories.chunks_exact_mut((steps + 1) * s).enumerate() {
                        read_row(&next, LANES, k, &mut traj[(t + 1) * s..(t + 2) * s]);
                    }
                    std::mem::swap(&mut now, &mut next);
                }
            } else {
                // The effectors after the last full block are plain rows of the batch layout: each
                // steps on its own, straight from its trajectory.
                for (k, traj) in trajectories.chunks_exact_mut((steps + 1) * s).enumerate() {
                    for t in 0..steps {
                        let (done, rest) = traj.split_at_mut((t + 1) * s);
                        let u = control(t, first + k);
                        plant.step_unchecked(&mut ws, &done[t * s..], u, &mut rest[..s]);
                    }
                }
            }
            for (k, traj) in trajectories.chunks_exact((steps + 1) * s).enumerate() {
                let b = first + k;
                let state = |t: usize| &traj[t * s..(t + 1) * s];
                lambda.fill(0.0);
                for t in (1..=steps).rev() {
                    state_cotangent(t, b, state(t), &mut lambda);
                    // SAFETY: effector b's control cotangents are written by this thread alone.
                    let gu = unsafe { out.controls.slice(((t - 1) * batch + b) * c, c) };
                    plant.step_vjp_unchecked(
                        &mut ws,
                        state(t - 1),
                        control(t - 1, b),
                        &lambda,
                        &mut next_lambda,
                        gu,
                    );
                    std::mem::swap(&mut lambda, &mut next_lambda);
                }
                state_cotangent(0, b, state(0), &mut lambda);
                // SAFETY: as above, for effector b's initial-state cotangent.
                unsafe { out.initial_state.slice(b * s, s) }.copy_from_slice(&lambda);
            }
        }
    }
}
