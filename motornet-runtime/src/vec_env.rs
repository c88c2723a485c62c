//! Environments stepped live, one step per call — what gymnasium's vector environment and the Python
//! bindings drive. The observation model is [`Environment::run`]'s, value for value: the same columns,
//! delays, noise draws (each environment's own stream, in the same order) and perturbation events; but
//! only the last few captured values are kept, not whole trajectories.
//!
//! A step of a large batch is cut into pieces that the threads of a team claim one at a time (see
//! [`crate::team`]). Each piece does all of its environments' work at once — noisy controls and loads,
//! the plant step, the finiteness check, the next observation, reward and endpoint — so the states it
//! reads are still in its core's cache, and the result does not depend on the number of threads.

use crate::batch;
use crate::effector::{all_finite, check_joint_state, describe_index};
use crate::env::{rotation, total_load, vision_rotation, Environment, ObsChannel, ObsSource};
use crate::error::Error;
use crate::plant::{Plant, Workspace};
use crate::task::Episode;
use crate::team::{Disjoint, Team};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::sync::Mutex;

/// Below this many environments per thread a step is not split.
const MIN_PER_THREAD: usize = 256;

/// Environments per piece of a shared step: a multiple of the block size, so each piece is a batch of its
/// own in the plant's batch layout, and small enough that the states a piece's step writes (19 kB for
/// arm26) are still in the L1 cache when its observations read them.
const PIECE: usize = 32;

/// Most memory the buffers may take (8 bytes a value): larger batches are refused, not attempted.
const MAX_VALUES: usize = 1 << 32;

/// `n` environments of one [`Environment`], each with its own episode and random stream.
pub struct VecEnv<P: Plant> {
    env: Environment<P>,
    n: usize,
    episodes: Vec<Episode>,
    rngs: Vec<ChaCha8Rng>,
    /// Steps taken since the last reset.
    t: usize,
    /// Why the last step failed: its states are no valid continuation, so only a reset may follow.
    failed: Option<String>,
    /// States, next states and controls in the plant's [batch layout](crate::batch).
    x: Vec<f64>,
    y: Vec<f64>,
    u: Vec<f64>,
    /// One per thread.
    workspaces: Vec<Workspace>,
    team: Option<Team>,
    /// The last `delay_slots` captured sensory values of each environment (`n × delay_slots × obs_dim`,
    /// only the state columns written): the capture of step `t` is in slot `t mod delay_slots`.
    captured: Vec<f64>,
    delay_slots: usize,
    /// The last `action_slots` applied (noisy) excitations (`n × action_slots × n_muscles`), likewise.
    applied: Vec<f64>,
    action_slots: usize,
    /// The state columns of the observation: (column, state index, scale, capture noise sd).
    state_columns: Vec<(usize, usize, f64, f64)>,
    /// The observation columns of the seen endpoint.
    vision: Vec<usize>,
}

/// What a reset or a step writes for each environment, rows in environment order. A reset or step that
/// succeeds writes every value (the buffers may start uninitialised).
pub struct Outputs<'a> {
    /// `n × obs_dim`: the observation after the step.
    pub observations: &'a mut [f64],
    /// `n`: minus the L1 distance of the endpoint from where it should be (the aim) after the step.
    pub reward: &'a mut [f64],
    /// `n × 2·space_dim`: the endpoint's position and velocity (the plant's layout).
    pub cartesian: &'a mut [f64],
    /// `n × space_dim`: the goal shown (after any target jump).
    pub goal: &'a mut [f64],
    /// `n × space_dim`: where the endpoint should be (the start until the go cue, then the goal).
    pub aim: &'a mut [f64],
}

impl Outputs<'_> {
    fn check(&self, n: usize, obs_dim: usize, dim: usize) -> Result<(), Error> {
        for (what, len, per) in [
            ("observations", self.observations.len(), obs_dim),
            ("reward", self.reward.len(), 1),
            ("cartesian", self.cartesian.len(), 2 * dim),
            ("goal", self.goal.len(), dim),
            ("aim", self.aim.len(), dim),
        ] {
            if len != n * per {
                return Err(Error::Shape {
                    what: what.into(),
                    expected: n * per,
                    got: len,
                });
            }
        }
        Ok(())
    }
}

#[inline]
fn noise(rng: &mut ChaCha8Rng, sd: f64) -> f64 {
    if sd == 0.0 {
        0.0
    } else {
        sd * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, rng)
    }
}

impl<P: Plant> VecEnv<P> {
    /// `n` environments stepped on `threads` threads (the caller and `threads − 1` workers) when the
    /// batch is large enough to gain from them.
    pub fn new(env: Environment<P>, n: usize, threads: usize) -> Result<Self, Error> {
        let info = env.plant.info();
        let (s, c, m, o) = (
            info.state_dim(),
            info.control_dim(),
            info.n_muscles(),
            env.obs_dim(),
        );
        let sources = env.observation_sources();
        let delay_slots = sources
            .iter()
            .map(|src| match src {
                ObsSource::State { delay, .. } => *delay,
                _ => 1,
            })
            .max()
            .unwrap_or(1)
            .max(1);
        let action_slots = env.config.action_frame_stacking.max(1);
        if n.checked_mul(s.max(c).max(o) * (3 + delay_slots + action_slots))
            .is_none_or(|values| values > MAX_VALUES)
        {
            return Err(Error::Input(format!(
                "{n} environments need more than {} GiB of buffers",
                (MAX_VALUES * 8) >> 30
            )));
        }
        let state_columns = sources
            .iter()
            .enumerate()
            .filter_map(|(k, src)| match *src {
                ObsSource::State {
                    index,
                    scale,
                    channel,
                    ..
                } => {
                    let sd = match channel {
                        ObsChannel::Vision => env.config.vision_noise,
                        ObsChannel::Proprioception => env.config.proprioception_noise,
                    };
                    Some((k, index, scale, sd))
                }
                _ => None,
            })
            .collect();
        let vision = sources
            .iter()
            .enumerate()
            .filter(|(_, src)| {
                matches!(
                    src,
                    ObsSource::State {
                        channel: ObsChannel::Vision,
                        ..
                    }
                )
            })
            .map(|(k, _)| k)
            .collect();
        let threads = threads.max(1);
        let team = if threads > 1 {
            Some(
                Team::new(threads)
                    .map_err(|e| Error::Input(format!("cannot start {threads} threads: {e}")))?,
            )
        } else {
            None
        };
        Ok(VecEnv {
            workspaces: (0..threads).map(|_| env.plant.workspace()).collect(),
            n,
            episodes: Vec::new(),
            rngs: Vec::new(),
            t: 0,
            failed: None,
            x: vec![0.0; n * s],
            y: vec![0.0; n * s],
            u: vec![0.0; n * c],
            team,
            captured: vec![0.0; n * delay_slots * o],
            delay_slots,
            applied: vec![0.0; n * action_slots * m],
            action_slots,
            state_columns,
            vision,
            env,
        })
    }

    pub fn env(&self) -> &Environment<P> {
        &self.env
    }

    pub fn num_envs(&self) -> usize {
        self.n
    }

    /// Steps taken since the last reset.
    pub fn t(&self) -> usize {
        self.t
    }

    /// The episodes since the last reset (empty before the first).
    pub fn episodes(&self) -> &[Episode] {
        &self.episodes
    }

    /// The current states, `n × state_dim` (MotorNet's layout).
    pub fn states(&self) -> Vec<f64> {
        batch::to_rows(&self.x, self.n, self.env.plant.info().state_dim())
    }

    /// Starts one episode per environment, environment `b` drawing its noise from `rngs[b]`, and writes
    /// the first observations.
    pub fn reset(
        &mut self,
        episodes: Vec<Episode>,
        rngs: Vec<ChaCha8Rng>,
        out: Outputs,
    ) -> Result<(), Error> {
        let (n, info) = (self.n, self.env.plant.info());
        for (what, got) in [("episodes", episodes.len()), ("random streams", rngs.len())] {
            if got != n {
                return Err(Error::Shape {
                    what: what.into(),
                    expected: n,
                    got,
                });
            }
        }
        out.check(n, self.env.obs_dim(), info.space_dim)?;
        let joint: Vec<f64> = episodes.iter().flat_map(|e| e.joint0.clone()).collect();
        check_joint_state(&self.env.plant, &joint, n)?;
        let mut row = vec![0.0; info.state_dim()];
        for (b, j) in joint.chunks_exact(info.joint_dim()).enumerate() {
            self.env
                .plant
                .reset_unchecked(&mut self.workspaces[0], j, &mut row);
            batch::write_row(&mut self.x, n, b, &row);
        }
        self.episodes = episodes;
        self.rngs = rngs;
        self.t = 0;
        self.failed = None;
        self.applied.fill(0.0);
        if !all_finite(&self.x) {
            let err = self.first_non_finite(&self.x, 0, 0);
            return Err(self.fail(err));
        }
        let result = self.run(None, out);
        result.map_err(|e| self.fail(e))
    }

    /// One step of every environment with `actions` (`n × n_muscles` excitations): action noise is
    /// added, the task's and the perturbations' endpoint loads applied; then the next observations.
    /// After an error the environments need a reset.
    pub fn step(&mut self, actions: &[f64], out: Outputs) -> Result<(), Error> {
        let info = self.env.plant.info();
        let (n, m) = (self.n, info.n_muscles());
        if let Some(why) = &self.failed {
            return Err(Error::Input(format!(
                "the last step failed ({why}); reset the environments"
            )));
        }
        if self.episodes.is_empty() {
            return Err(Error::Input("step before the first reset".into()));
        }
        if self.t >= self.env.steps {
            return Err(Error::Input(format!(
                "the episodes are over after {} steps; reset the environments",
                self.env.steps
            )));
        }
        if actions.len() != n * m {
            return Err(Error::Shape {
                what: "actions".into(),
                expected: n * m,
                got: actions.len(),
            });
        }
        out.check(n, self.env.obs_dim(), info.space_dim)?;
        if let Some(i) = actions.iter().position(|a| !a.is_finite()) {
            return Err(Error::Input(format!(
                "the excitation of muscle `{}` of environment {} is {}",
                info.muscle_names[i % m],
                i / m,
                actions[i]
            )));
        }
        match self.run(Some(actions), out) {
            Ok(()) => {
                std::mem::swap(&mut self.x, &mut self.y);
                self.t += 1;
                Ok(())
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    fn fail(&mut self, e: Error) -> Error {
        self.failed = Some(e.to_string());
        e
    }

    /// The first non-finite state component of environments `lo..hi` of `states` (their own batch), as an
    /// error of step `step`.
    fn first_non_finite(&self, states: &[f64], lo: usize, step: usize) -> Error {
        let info = self.env.plant.info();
        let s = info.state_dim();
        let count = states.len() / s;
        for b in 0..count {
            let (start, stride) = batch::slot(count, s, b);
            if let Some(k) = (0..s).find(|&k| !states[start + k * stride].is_finite()) {
                let (part, index) = describe_index(info, k);
                return Error::NonFinite {
                    step,
                    effector: lo + b,
                    part,
                    index,
                    value: states[start + k * stride],
                };
            }
        }
        unreachable!("called only when a state is not finite")
    }

    /// Steps every environment with `actions` (or, without, observes the current states after a reset),
    /// piece by piece, on the team when the batch is large. The error reported is that of the first
    /// environment that failed, whatever the number of threads.
    fn run(&mut self, actions: Option<&[f64]>, out: Outputs) -> Result<(), Error> {
        let n = self.n;
        let info = self.env.plant.info();
        let (s, c, o) = (info.state_dim(), info.control_dim(), self.env.obs_dim());
        let dim = info.space_dim;
        // The observation's time, and where each of its columns is read from at that time.
        let seen_at = self.t + usize::from(actions.is_some());
        let (ds, acts, m) = (self.delay_slots, self.action_slots, info.n_muscles());
        let plan: Vec<(Read, bool)> = self
            .env
            .observation_sources()
            .iter()
            .enumerate()
            .map(|(k, src)| {
                let read = match *src {
                    ObsSource::Goal(axis) => Read::Goal(axis),
                    ObsSource::GoCue => Read::GoCue,
                    ObsSource::State { delay, .. } => Read::Captured {
                        slot: (seen_at.saturating_sub(delay - 1) % ds) * o,
                        column: k,
                        vision_axis: self.vision.iter().position(|&v| v == k),
                    },
                    ObsSource::Action { muscle, lag } if seen_at >= lag => {
                        Read::Applied(((seen_at - lag) % acts) * m + muscle)
                    }
                    ObsSource::Action { .. } => Read::Zero,
                };
                (read, !matches!(src, ObsSource::Goal(_) | ObsSource::GoCue))
            })
            .collect();
        let runs = runs_of(&plan);
        // The endpoint's state indices, in the plant's layout (`[x, y, vx, vy]` or 3D).
        let endpoint: Vec<usize> = (0..2 * dim)
            .map(|j| {
                let k = if j < dim { j } else { 3 + j - dim };
                info.endpoint_index(k).expect("a component of the space")
            })
            .collect();
        let piece = Piece {
            env: &self.env,
            episodes: &self.episodes,
            t: self.t,
            seen_at,
            actions,
            x: &self.x,
            y: Disjoint(self.y.as_mut_ptr()),
            u: Disjoint(self.u.as_mut_ptr()),
            rngs: Disjoint(self.rngs.as_mut_ptr()),
            captured: Disjoint(self.captured.as_mut_ptr()),
            delay_slots: self.delay_slots,
            applied: Disjoint(self.applied.as_mut_ptr()),
            action_slots: self.action_slots,
            state_columns: &self.state_columns,
            capture_noise: self.state_columns.iter().any(|c| c.3 != 0.0),
            vision: &self.vision,
            plan: &plan,
            runs: &runs,
            endpoint: &endpoint,
            out: [
                Disjoint(out.observations.as_mut_ptr()),
                Disjoint(out.reward.as_mut_ptr()),
                Disjoint(out.cartesian.as_mut_ptr()),
                Disjoint(out.goal.as_mut_ptr()),
                Disjoint(out.aim.as_mut_ptr()),
            ],
            dims: [s, c, o, dim],
        };
        // The failure of the lowest-numbered piece.
        let first_error: Mutex<Option<(usize, Error)>> = Mutex::new(None);
        let record = |p: usize, e: Error| {
            let mut first = first_error.lock().unwrap_or_else(|e| e.into_inner());
            if first.as_ref().is_none_or(|(q, _)| p < *q) {
                *first = Some((p, e));
            }
        };
        let pieces = n.div_ceil(PIECE);
        let workspaces = Disjoint(self.workspaces.as_mut_ptr());
        match &mut self.team {
            Some(team) if n >= 2 * MIN_PER_THREAD => team.run_pieces(pieces, &|k, p| {
                // SAFETY: workspace k is used by thread k alone; pieces are claimed once each.
                let ws = unsafe { workspaces.item(k) };
                let (lo, hi) = (p * PIECE, ((p + 1) * PIECE).min(n));
                if let Err(e) = unsafe { piece.run(ws, lo, hi) } {
                    record(p, e);
                }
            }),
            _ => {
                for p in 0..pieces {
                    let (lo, hi) = (p * PIECE, ((p + 1) * PIECE).min(n));
                    // SAFETY: one thread, one piece at a time.
                    if let Err(e) = unsafe { piece.run(&mut self.workspaces[0], lo, hi) } {
                        record(p, e);
                        break;
                    }
                }
            }
        }
        match first_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
            None => Ok(()),
            Some((p, Error::NonFinite { .. })) => {
                // A piece only says that it holds a non-finite state: name the first one.
                let (lo, hi) = (p * PIECE, ((p + 1) * PIECE).min(n));
                Err(self.first_non_finite(&self.y[lo * s..hi * s], lo, self.t + 1))
            }
            Some((_, e)) => Err(e),
        }
    }
}

/// Where an observation column is read from at one step.
#[derive(Clone, Copy)]
enum Read {
    Goal(usize),
    GoCue,
    /// Column `column` of the ring slot starting at `slot`; a seen-endpoint column also names its axis,
    /// for a rotation of vision.
    Captured {
        slot: usize,
        column: usize,
        vision_axis: Option<usize>,
    },
    /// This index of the environment's applied excitations.
    Applied(usize),
    /// A stacked action before the first steps.
    Zero,
}

/// `len` consecutive observation columns from `column` on, read from consecutive values starting where
/// `from` reads the first.
#[derive(Clone, Copy)]
struct Run {
    column: usize,
    len: usize,
    from: Read,
}

/// The plan's columns grouped into runs.
fn runs_of(plan: &[(Read, bool)]) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for (column, &(read, _)) in plan.iter().enumerate() {
        if let Some(last) = runs.last_mut() {
            let next = match (last.from, read) {
                (Read::Goal(a), Read::Goal(b)) => b == a + last.len,
                (
                    Read::Captured {
                        slot: s, column: c, ..
                    },
                    Read::Captured { slot, column, .. },
                ) => slot == s && column == c + last.len,
                (Read::Applied(a), Read::Applied(b)) => b == a + last.len,
                (Read::Zero, Read::Zero) => true,
                _ => false,
            };
            if next {
                last.len += 1;
                continue;
            }
        }
        runs.push(Run {
            column,
            len: 1,
            from: read,
        });
    }
    runs
}

impl Read {
    /// The column's value for an environment with this goal, go signal, capture ring and applied
    /// excitations (vision not rotated).
    #[inline(always)]
    fn value(self, goal: &[f64; 3], go: f64, ring: &[f64], applied: &[f64]) -> f64 {
        match self {
            Read::Goal(axis) => goal[axis],
            Read::GoCue => go,
            Read::Captured { slot, column, .. } => ring[slot + column],
            Read::Applied(at) => applied[at],
            Read::Zero => 0.0,
        }
    }
}

/// What the pieces of one step share: settings and inputs to read, and the buffers they write in
/// disjoint parts (each environment's rows, ring slots and random stream belong to its piece).
struct Piece<'a, P: Plant> {
    env: &'a Environment<P>,
    episodes: &'a [Episode],
    /// The step taken (its controls and loads are those of step `t`).
    t: usize,
    /// The step the observations are of (`t + 1` after a step, `t` after a reset).
    seen_at: usize,
    actions: Option<&'a [f64]>,
    x: &'a [f64],
    y: Disjoint<f64>,
    u: Disjoint<f64>,
    rngs: Disjoint<ChaCha8Rng>,
    captured: Disjoint<f64>,
    delay_slots: usize,
    applied: Disjoint<f64>,
    action_slots: usize,
    state_columns: &'a [(usize, usize, f64, f64)],
    /// Whether any state column has capture noise.
    capture_noise: bool,
    vision: &'a [usize],
    /// Per observation column: where it is read from, and whether observation noise is added.
    plan: &'a [(Read, bool)],
    /// The same as runs of consecutive columns read from consecutive values.
    runs: &'a [Run],
    /// The endpoint's state indices (the plant's layout).
    endpoint: &'a [usize],
    /// Observations, reward, cartesian, goal, aim (as in [`Outputs`]).
    out: [Disjoint<f64>; 5],
    /// State, control and observation sizes, and the space dimension.
    dims: [usize; 4],
}

// SAFETY: the raw pointers are only used for disjoint parts, one piece per thread at a time.
unsafe impl<P: Plant> Sync for Piece<'_, P> {}

impl<P: Plant> Piece<'_, P> {
    /// Environments `lo..hi` (`lo` at a piece boundary): step them (when there are actions) and observe.
    ///
    /// SAFETY: no other thread may run a range that overlaps `lo..hi` at the same time.
    unsafe fn run(&self, ws: &mut Workspace, lo: usize, hi: usize) -> Result<(), Error> {
        let [s, c, _, _] = self.dims;
        let count = hi - lo;
        let rngs = self.rngs.slice(lo, count);
        let Some(actions) = self.actions else {
            self.observe(&self.x[lo * s..hi * s], lo, rngs);
            return Ok(());
        };
        let env = self.env;
        let info = env.plant.info();
        let (m, dim, t) = (info.n_muscles(), info.space_dim, self.t);
        let x = &self.x[lo * s..hi * s];
        let u = self.u.slice(lo * c, count * c);
        let y = self.y.slice(lo * s, count * s);
        for (i, rng) in rngs.iter_mut().enumerate() {
            let b = lo + i;
            let e = &self.episodes[b];
            let (start, stride) = batch::slot(count, s, i);
            let mut cart = [0.0; 6];
            for (j, &at) in self.endpoint.iter().enumerate() {
                cart[if j < dim { j } else { 3 + j - dim }] = x[start + at * stride];
            }
            let (at, step) = batch::slot(count, c, i);
            let applied = self
                .applied
                .slice((b * self.action_slots + t % self.action_slots) * m, m);
            for k in 0..m {
                let v = actions[b * m + k] + noise(rng, env.config.action_noise);
                applied[k] = v;
                u[at + k * step] = v;
            }
            let (force, jac) = total_load(env.task.as_ref(), t, e, &cart);
            // Only the force moves the effector (the derivative serves backpropagation, not done here).
            if !force.iter().all(|v| v.is_finite()) {
                return Err(Error::Input(format!(
                    "the task `{}` returned a non-finite endpoint load in step {t} of environment {b}: \
                     force {force:?}, derivative {jac:?}, at endpoint state {cart:?}",
                    env.task.name()
                )));
            }
            for k in m..c {
                u[at + k * step] = if k < m + dim { force[k - m] } else { 0.0 };
            }
        }
        env.plant.step_batch_unchecked(ws, x, u, y);
        if !all_finite(y) {
            return Err(Error::NonFinite {
                step: t + 1,
                effector: lo,
                part: String::new(),
                index: String::new(),
                value: f64::NAN,
            });
        }
        self.observe(y, lo, rngs);
        Ok(())
    }

    /// Captures the sensory values of `states` (environments `lo..`, a batch of their own), forms the
    /// observations, and writes the outputs.
    unsafe fn observe(&self, states: &[f64], lo: usize, rngs: &mut [ChaCha8Rng]) {
        let [s, _, o, dim] = self.dims;
        let env = self.env;
        let info = env.plant.info();
        let m = info.n_muscles();
        let t = self.seen_at;
        let count = rngs.len();
        let (sd_obs, ds, acts) = (
            env.config.observation_noise,
            self.delay_slots,
            self.action_slots,
        );
        let now = (t % ds) * o;
        // Without capture noise (no random draws to keep in order), the full blocks are captured block by
        // block: a component of the block's four environments is one contiguous read. Adding the zero
        // that noise would add keeps the values bit for bit.
        let blocked = if self.capture_noise {
            0
        } else {
            count / batch::LANES * batch::LANES
        };
        for first in (0..blocked).step_by(batch::LANES) {
            let mut rings: [&mut [f64]; batch::LANES] = std::array::from_fn(|lane| {
                self.captured.slice((lo + first + lane) * ds * o, ds * o)
            });
            let block = &states[first * s..(first + batch::LANES) * s];
            for &(k, index, scale, _) in self.state_columns {
                let values = &block[index * batch::LANES..(index + 1) * batch::LANES];
                for (ring, v) in rings.iter_mut().zip(values) {
                    ring[now + k] = scale * v + 0.0;
                }
            }
        }
        for (i, rng) in rngs.iter_mut().enumerate() {
            let b = lo + i;
            let e = &self.episodes[b];
            let (start, stride) = batch::slot(count, s, i);
            let ring = self.captured.slice(b * ds * o, ds * o);
            if i >= blocked {
                for &(k, index, scale, sd) in self.state_columns {
                    ring[now + k] = scale * states[start + index * stride] + noise(rng, sd);
                }
            }
            let applied = self.applied.slice(b * acts * m, acts * m);
            let goal = e.goal(t);
            let angle = vision_rotation(e);
            let r = if angle != 0.0 {
                rotation(angle)
            } else {
                [[1.0, 0.0], [0.0, 1.0]]
            };
            let obs = self.out[0].slice(b * o, o);
            let go = e.go_signal(t);
            if angle != 0.0 {
                for (v, &(at, noisy)) in obs.iter_mut().zip(self.plan) {
                    let value = match at {
                        Read::Captured {
                            slot,
                            vision_axis: Some(axis),
                            ..
                        } => {
                            // Both coordinates of the (noisy) seen position, rotated about the start.
                            let seen = |kk: usize| ring[slot + self.vision[kk]] - e.start[kk];
                            e.start[axis] + r[axis][0] * seen(0) + r[axis][1] * seen(1)
                        }
                        _ => at.value(&goal, go, ring, applied),
                    };
                    *v = value + if noisy { noise(rng, sd_obs) } else { 0.0 };
                }
            } else if sd_obs != 0.0 {
                for (v, &(at, noisy)) in obs.iter_mut().zip(self.plan) {
                    *v = at.value(&goal, go, ring, applied)
                        + if noisy { noise(rng, sd_obs) } else { 0.0 };
                }
            } else {
                // The common case, without noise or rotation: whole runs of columns copied (adding the
                // zero that noise would add, so that the values match bit for bit).
                for run in self.runs {
                    let to = &mut obs[run.column..run.column + run.len];
                    let from = match run.from {
                        Read::Goal(axis) => &goal[axis..axis + run.len],
                        Read::GoCue => std::slice::from_ref(&go),
                        Read::Captured { slot, column, .. } => &ring[slot + column..][..run.len],
                        Read::Applied(at) => &applied[at..at + run.len],
                        Read::Zero => {
                            to.fill(0.0);
                            continue;
                        }
                    };
                    for (v, x) in to.iter_mut().zip(from) {
                        *v = x + 0.0;
                    }
                }
            }
            let cartesian = self.out[2].slice(b * 2 * dim, 2 * dim);
            for (v, &at) in cartesian.iter_mut().zip(self.endpoint) {
                *v = states[start + at * stride];
            }
            let aim = e.aim(t);
            self.out[3]
                .slice(b * dim, dim)
                .copy_from_slice(&goal[..dim]);
            self.out[4].slice(b * dim, dim).copy_from_slice(&aim[..dim]);
            *self.out[1].item(b) = -(0..dim).map(|k| (cartesian[k] - aim[k]).abs()).sum::<f64>();
        }
    }
}
