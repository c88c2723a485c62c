//! The environment: an effector, a task, and MotorNet's observation model — the goal, delayed visual
//! feedback of the endpoint, delayed proprioception (muscle lengths and velocities, normalized), optional
//! stacked past actions — with Gaussian noise on actions and on each observation channel.
//!
//! **Delays.** MotorNet keeps a buffer of `delay / dt` past values, appends the newest value after every step
//! and shows the oldest, so a delay of `d` steps shows the value captured `d − 1` steps ago (a delay of one
//! `dt`, the default, shows the current value). We match this exactly: the observation at step `t` reads
//! the state at step `max(0, t − d + 1)`. Delays must be whole multiples of `dt`; 0 means no lag, like one step.
//!
//! **Noise.** Proprioceptive and visual noise is drawn when a value is captured (each step's state gets
//! its own sample), observation noise when the observation is formed, action noise on the network's output
//! before the effector clips it to [min_activation, 1]. The goal is never noisy. `deterministic` disables all
//! noise.
//!
//! **Non-finite values.** [`Environment::run`] stops at the first NaN or infinity and says where it came
//! from: an excitation of the policy, an endpoint load of the task (force or derivative), or else the
//! plant's state (which part and component, after which step).

use crate::error::Error;
use crate::plant::{Plant, Workspace};
use crate::task::{Cartesian, Episode, Task, TaskContext};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// Observation and noise settings (MotorNet's `Environment` arguments).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnvConfig {
    /// Episode length in seconds.
    pub episode_duration: f64,
    /// Proprioceptive delay in seconds: a whole multiple of the time step; 0 and one step both mean no lag.
    pub proprioception_delay: f64,
    /// Visual delay in seconds.
    pub vision_delay: f64,
    /// Standard deviation of the noise added to each excitation.
    pub action_noise: f64,
    pub proprioception_noise: f64,
    pub vision_noise: f64,
    /// Noise on every observation entry except the goal (and go cue).
    pub observation_noise: f64,
    /// Noise added to the policy's hidden state at every step (by the trainer, which owns the policy).
    pub hidden_noise: f64,
    /// Number of past actions appended to the observation.
    pub action_frame_stacking: usize,
}

impl Default for EnvConfig {
    fn default() -> Self {
        EnvConfig {
            episode_duration: 1.0,
            proprioception_delay: 0.01,
            vision_delay: 0.01,
            action_noise: 0.0,
            proprioception_noise: 0.0,
            vision_noise: 0.0,
            observation_noise: 0.0,
            hidden_noise: 0.0,
            action_frame_stacking: 0,
        }
    }
}

/// Where one observation column comes from: the one description of the observation layout
/// ([`Environment::observation_sources`]), which the environment itself and outside readers (the Python
/// bindings) both use.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ObsSource {
    /// Component `0` (x), `1` (y) or `2` (z, spatial models only) of the episode's goal; never noisy,
    /// never delayed.
    Goal(usize),
    /// The go cue: 0 before the episode's go step, 1 from it on.
    GoCue,
    /// `scale · state[index]` of the state at step `max(0, t − delay + 1)` (MotorNet's buffer of `delay`
    /// values), plus the capture noise of `channel`.
    State {
        index: usize,
        scale: f64,
        delay: usize,
        channel: ObsChannel,
    },
    /// Component `muscle` of the (noisy) excitation applied `lag` steps back; 0 before the first steps.
    Action { muscle: usize, lag: usize },
}

/// The sensory channel of an observed state value, which sets its capture noise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObsChannel {
    Vision,
    Proprioception,
}

use ObsChannel as Channel;
use ObsSource as Source;

/// A batch of simulated episodes with everything backpropagation needs.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    pub batch: usize,
    pub steps: usize,
    pub episodes: Vec<Episode>,
    /// `(steps + 1) × batch × state_dim`.
    pub states: Vec<f64>,
    /// `steps × batch × control_dim`: noisy excitations, endpoint force, joint loads.
    pub controls: Vec<f64>,
    /// `steps × batch × n_muscles`: the policy's actions before noise.
    pub actions: Vec<f64>,
    /// `(steps + 1) × batch × obs_dim`: row `t < steps` is what the policy saw at step `t`; row `steps`
    /// is the observation after the last step (MotorNet returns it; no action is taken on it).
    pub observations: Vec<f64>,
    /// Capture noise of proprioception and vision: `(steps + 1) × batch × obs_dim` (zero elsewhere).
    capture_noise: Vec<f64>,
}

pub struct Environment<P: Plant> {
    pub plant: P,
    pub task: Box<dyn Task>,
    pub config: EnvConfig,
    pub steps: usize,
    sources: Vec<Source>,
    ws: Workspace,
    /// Scratch for the step adjoint (allocated once).
    gx: Vec<f64>,
    gu: Vec<f64>,
    /// Index of this environment's first episode in the whole batch (a trainer splits a batch over
    /// environments), so that errors name episodes as the caller numbers them.
    pub(crate) episode_offset: usize,
}

fn whole_steps(what: &str, seconds: f64, dt: f64) -> Result<usize, Error> {
    let n = seconds / dt;
    if !(n.is_finite() && n >= 1.0 - 1e-9 && (n - n.round()).abs() < 1e-6) {
        return Err(Error::Input(format!(
            "{what} = {seconds} s must be a positive whole multiple of the time step {dt} s"
        )));
    }
    Ok(n.round() as usize)
}

/// A delay in steps. Zero is allowed and, as in MotorNet, is the same as one step: no lag.
fn delay_steps(what: &str, seconds: f64, dt: f64) -> Result<usize, Error> {
    if seconds == 0.0 {
        return Ok(1);
    }
    whole_steps(what, seconds, dt).map_err(|_| {
        Error::Input(format!(
            "{what} = {seconds} s must be 0 or a positive whole multiple of the time step {dt} s"
        ))
    })
}

impl<P: Plant> Environment<P> {
    pub fn new(plant: P, task: Box<dyn Task>, config: EnvConfig) -> Result<Self, Error> {
        let info = plant.info().clone();
        let dt = plant.timestep();
        let steps = whole_steps("episode_duration", config.episode_duration, dt)?;
        let dp = delay_steps("proprioception_delay", config.proprioception_delay, dt)?;
        let dv = delay_steps("vision_delay", config.vision_delay, dt)?;
        for (what, v) in [
            ("action_noise", config.action_noise),
            ("proprioception_noise", config.proprioception_noise),
            ("vision_noise", config.vision_noise),
            ("observation_noise", config.observation_noise),
            ("hidden_noise", config.hidden_noise),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return Err(Error::Input(format!(
                    "{what} must be a non-negative number, not {v}"
                )));
            }
        }
        let cart = info.cartesian().start;
        let muscle = info.muscle().start;
        let m = info.n_muscles();
        let row = |name: &str| info.muscle_state_names.iter().position(|s| s == name);
        // The goal and the seen endpoint have one column per spatial dimension.
        let d = info.space_dim;
        let mut sources: Vec<Source> = (0..d).map(Source::Goal).collect();
        for k in 0..d {
            sources.push(Source::State {
                index: cart + k,
                scale: 1.0,
                delay: dv,
                channel: Channel::Vision,
            });
        }
        // Proprioception: normalized muscle lengths, then velocities (MotorNet's order).
        if m > 0 {
            let (len_row, vel_row) = match (row("muscle length"), row("muscle velocity")) {
                (Some(l), Some(v)) => (l, v),
                _ => {
                    return Err(Error::Input(
                        "the muscle model has no length and velocity states to observe".into(),
                    ))
                }
            };
            let norms = plant.muscle_normalizers();
            for (r, col) in [(len_row, 0), (vel_row, 1)] {
                for (k, norm) in norms.iter().enumerate() {
                    let index = muscle + r * m + k;
                    sources.push(Source::State {
                        index,
                        scale: 1.0 / norm[col],
                        delay: dp,
                        channel: Channel::Proprioception,
                    });
                }
            }
        }
        for lag in 1..=config.action_frame_stacking {
            sources.extend((0..m).map(|muscle| Source::Action { muscle, lag }));
        }
        if task.has_go_cue() {
            sources.push(Source::GoCue);
        }
        task.validate(&TaskContext {
            plant: &plant,
            steps,
        })?;
        let ws = plant.workspace();
        let (gx, gu) = (vec![0.0; info.state_dim()], vec![0.0; info.control_dim()]);
        Ok(Environment {
            plant,
            task,
            config,
            steps,
            sources,
            ws,
            gx,
            gu,
            episode_offset: 0,
        })
    }

    pub fn obs_dim(&self) -> usize {
        self.sources.len()
    }

    /// Where each observation column comes from, in column order (see [`ObsSource`]).
    pub fn observation_sources(&self) -> &[ObsSource] {
        &self.sources
    }

    /// The observation columns of each modality, as MotorNet's `ModularPolicyGRU` groups its inputs:
    /// `[vision, proprioception, task]` — vision is the endpoint's position; proprioception the muscle
    /// lengths and velocities and the stacked past actions (efference copies); task the goal and the go
    /// cue. Together they name every column once.
    pub fn modalities(&self) -> [Vec<usize>; 3] {
        let mut out: [Vec<usize>; 3] = Default::default();
        for (column, source) in self.sources.iter().enumerate() {
            let modality = match source {
                Source::State {
                    channel: Channel::Vision,
                    ..
                } => 0,
                Source::State {
                    channel: Channel::Proprioception,
                    ..
                }
                | Source::Action { .. } => 1,
                Source::Goal(_) | Source::GoCue => 2,
            };
            out[modality].push(column);
        }
        out
    }

    /// The observation columns of the seen endpoint's x, y (and z).
    fn vision_columns(&self) -> Vec<usize> {
        self.sources
            .iter()
            .enumerate()
            .filter(|(_, src)| {
                matches!(
                    src,
                    Source::State {
                        channel: Channel::Vision,
                        ..
                    }
                )
            })
            .map(|(k, _)| k)
            .collect()
    }

    pub fn n_muscles(&self) -> usize {
        self.plant.info().n_muscles()
    }

    /// A name for each observation column: `goal x`, `vision x`, `proprioception: muscle length of
    /// biceps` (divided by the normalizer), `efference: biceps, 2 steps back`, `go cue`.
    pub fn observation_names(&self) -> Vec<String> {
        let info = self.plant.info();
        self.sources
            .iter()
            .map(|source| match *source {
                Source::Goal(i) => format!("goal {}", ["x", "y", "z"][i]),
                Source::GoCue => "go cue".to_string(),
                Source::State { index, channel, .. } => {
                    let (_, what) = crate::effector::describe_index(info, index);
                    match channel {
                        Channel::Vision => format!("vision {what}"),
                        Channel::Proprioception => format!("proprioception: {what}"),
                    }
                }
                Source::Action { muscle, lag } => format!(
                    "efference: {}, {lag} step{} back",
                    info.muscle_names[muscle],
                    if lag == 1 { "" } else { "s" }
                ),
            })
            .collect()
    }

    /// Draws a batch of episodes from the task.
    pub fn draw(&self, batch: usize, rng: &mut ChaCha8Rng) -> Vec<Episode> {
        let ctx = TaskContext {
            plant: &self.plant,
            steps: self.steps,
        };
        self.task.draw(&ctx, batch, rng)
    }

    /// Simulates `episodes` with a policy in the loop: `policy(t, observations, actions)` maps the
    /// `batch × obs_dim` observations of step `t` to `batch × n_muscles` actions (excitations). Episode `b`
    /// draws its noise from `rngs[b]`.
    pub fn run(
        &mut self,
        episodes: Vec<Episode>,
        rngs: &mut [ChaCha8Rng],
        deterministic: bool,
        out: &mut Batch,
        mut policy: impl FnMut(usize, &[f64], &mut [f64]),
    ) -> Result<(), Error> {
        let info = self.plant.info().clone();
        let (s, c, m, o) = (
            info.state_dim(),
            info.control_dim(),
            info.n_muscles(),
            self.obs_dim(),
        );
        let (batch, steps) = (episodes.len(), self.steps);
        if rngs.len() != batch {
            return Err(Error::Shape {
                what: "random streams (one per episode)".into(),
                expected: batch,
                got: rngs.len(),
            });
        }
        out.batch = batch;
        out.steps = steps;
        out.states.resize((steps + 1) * batch * s, 0.0);
        out.controls.resize(steps * batch * c, 0.0);
        out.actions.resize(steps * batch * m, 0.0);
        out.observations.resize((steps + 1) * batch * o, 0.0);
        out.capture_noise.resize((steps + 1) * batch * o, 0.0);
        let noise = |rng: &mut ChaCha8Rng, sd: f64| -> f64 {
            if deterministic || sd == 0.0 {
                0.0
            } else {
                sd * <StandardNormal as Distribution<f64>>::sample(&StandardNormal, rng)
            }
        };
        for (b, e) in episodes.iter().enumerate() {
            self.plant
                .reset(&mut self.ws, &e.joint0, &mut out.states[b * s..(b + 1) * s])
                .map_err(|err| {
                    Error::Input(format!("episode {}: {err}", b + self.episode_offset))
                })?;
        }
        check_finite(&info, &out.states[..batch * s], 0, self.episode_offset)?;
        let mut obs = vec![0.0; batch * o];
        let mut actions = vec![0.0; batch * m];
        let cart = info.cartesian().start;
        let dim = info.space_dim;
        let vision = self.vision_columns();
        for t in 0..=steps {
            // Capture this step's sensory values (with their noise).
            for (b, rng) in rngs.iter_mut().enumerate() {
                for (k, src) in self.sources.iter().enumerate() {
                    if let Source::State { channel: ch, .. } = src {
                        let sd = match ch {
                            Channel::Vision => self.config.vision_noise,
                            Channel::Proprioception => self.config.proprioception_noise,
                        };
                        out.capture_noise[(t * batch + b) * o + k] = noise(rng, sd);
                    }
                }
            }
            for (b, e) in episodes.iter().enumerate() {
                for (k, src) in self.sources.iter().enumerate() {
                    let v = match *src {
                        Source::Goal(i) => e.goal(t)[i],
                        Source::GoCue => e.go_signal(t),
                        Source::State {
                            channel: Channel::Vision,
                            delay,
                            ..
                        } if vision_rotation(e) != 0.0 => {
                            // Both coordinates of the (noisy) seen position, rotated about the start.
                            let tc = t.saturating_sub(delay - 1);
                            let seen = |kk: usize| {
                                out.states[(tc * batch + b) * s + cart + kk]
                                    + out.capture_noise[(tc * batch + b) * o + vision[kk]]
                            };
                            let r = rotation(vision_rotation(e));
                            let axis = vision.iter().position(|&c| c == k).unwrap_or(0);
                            e.start[axis]
                                + r[axis][0] * (seen(0) - e.start[0])
                                + r[axis][1] * (seen(1) - e.start[1])
                        }
                        Source::State {
                            index,
                            scale,
                            delay,
                            ..
                        } => {
                            let tc = t.saturating_sub(delay - 1);
                            scale * out.states[(tc * batch + b) * s + index]
                                + out.capture_noise[(tc * batch + b) * o + k]
                        }
                        Source::Action { muscle, lag } => {
                            if t >= lag {
                                out.controls[((t - lag) * batch + b) * c + muscle]
                            } else {
                                0.0
                            }
                        }
                    };
                    let noisy = !matches!(src, Source::Goal(_) | Source::GoCue);
                    obs[b * o + k] = v + if noisy {
                        noise(&mut rngs[b], self.config.observation_noise)
                    } else {
                        0.0
                    };
                }
            }
            out.observations[t * batch * o..(t + 1) * batch * o].copy_from_slice(&obs);
            if t == steps {
                break;
            }
            policy(t, &obs, &mut actions);
            out.actions[t * batch * m..(t + 1) * batch * m].copy_from_slice(&actions);
            let (done, rest) = out.states.split_at_mut((t + 1) * batch * s);
            for (b, e) in episodes.iter().enumerate() {
                let x = &done[(t * batch + b) * s..(t * batch + b + 1) * s];
                let u = &mut out.controls[(t * batch + b) * c..(t * batch + b + 1) * c];
                let episode = b + self.episode_offset;
                for k in 0..m {
                    let a = actions[b * m + k];
                    if !a.is_finite() {
                        return Err(Error::Input(format!(
                            "the policy's excitation of muscle `{}` is {a} in step {t} of episode {episode}",
                            info.muscle_names[k]
                        )));
                    }
                    u[k] = a + noise(&mut rngs[b], self.config.action_noise);
                }
                let cart = info.endpoint(x);
                let (force, jac) = total_load(self.task.as_ref(), t, e, &cart);
                if !force
                    .iter()
                    .chain(jac.iter().flatten())
                    .all(|v| v.is_finite())
                {
                    return Err(Error::Input(format!(
                        "the task `{}` returned a non-finite endpoint load in step {t} of episode \
                         {episode}: force {force:?}, derivative {jac:?}, at endpoint state {cart:?}",
                        self.task.name()
                    )));
                }
                u[m..m + dim].copy_from_slice(&force[..dim]);
                u[m + dim..].fill(0.0);
                self.plant
                    .step_unchecked(&mut self.ws, x, u, &mut rest[b * s..(b + 1) * s]);
            }
            check_finite(&info, &rest[..batch * s], t + 1, self.episode_offset)?;
        }
        out.episodes = episodes;
        Ok(())
    }

    /// Backpropagates through step `t` of a simulated batch: given `lambda_next` (`batch × state_dim`, the
    /// cotangent of the states after the step), adds the cotangent of the states before it to
    /// `lambda_now` and writes the cotangent of the policy's actions to `d_actions` (`batch × n_muscles`,
    /// added). State-dependent endpoint loads are differentiated through.
    pub fn backprop_step(
        &mut self,
        run: &Batch,
        t: usize,
        lambda_next: &[f64],
        lambda_now: &mut [f64],
        d_actions: &mut [f64],
    ) {
        let info = self.plant.info();
        let (s, c, m) = (info.state_dim(), info.control_dim(), info.n_muscles());
        let batch = run.batch;
        let (gx, gu) = (&mut self.gx, &mut self.gu);
        for b in 0..batch {
            let x = &run.states[(t * batch + b) * s..(t * batch + b + 1) * s];
            let u = &run.controls[(t * batch + b) * c..(t * batch + b + 1) * c];
            self.plant.step_vjp_unchecked(
                &mut self.ws,
                x,
                u,
                &lambda_next[b * s..(b + 1) * s],
                gx,
                gu,
            );
            for (l, g) in lambda_now[b * s..(b + 1) * s].iter_mut().zip(gx.iter()) {
                *l += g;
            }
            // The action noise is additive, so d(noisy action)/d(action) = 1.
            for k in 0..m {
                d_actions[b * m + k] += gu[k];
            }
            let state = info.endpoint(x);
            let (_, jac) = total_load(self.task.as_ref(), t, &run.episodes[b], &state);
            for (i, row) in jac.iter().enumerate().take(info.space_dim) {
                for (k, d) in row.iter().enumerate() {
                    if let Some(at) = info.endpoint_index(k) {
                        lambda_now[b * s + at] += d * gu[m + i];
                    }
                }
            }
        }
    }

    /// Maps the cotangent of step `t`'s observations (`batch × obs_dim`) onto the states it was read from
    /// (`lambda`: `(steps + 1) × batch × state_dim`) and onto earlier actions (`d_actions`:
    /// `steps × batch × n_muscles`).
    pub fn backprop_observation(
        &self,
        run: &Batch,
        t: usize,
        d_obs: &[f64],
        lambda: &mut [f64],
        d_actions: &mut [f64],
    ) {
        let info = self.plant.info();
        let (s, m, o) = (info.state_dim(), info.n_muscles(), self.obs_dim());
        let batch = run.batch;
        let cart = info.cartesian().start;
        let vision = self.vision_columns();
        for b in 0..batch {
            let angle = vision_rotation(&run.episodes[b]);
            for (k, src) in self.sources.iter().enumerate() {
                let g = d_obs[b * o + k];
                match *src {
                    Source::State {
                        channel: Channel::Vision,
                        delay,
                        ..
                    } if angle != 0.0 => {
                        // seen[axis] = start + R[axis]·(p − start): ∂/∂p_j = R[axis][j].
                        let tc = t.saturating_sub(delay - 1);
                        let r = rotation(angle);
                        let axis = vision.iter().position(|&c| c == k).unwrap_or(0);
                        for j in 0..2 {
                            lambda[(tc * batch + b) * s + cart + j] += r[axis][j] * g;
                        }
                    }
                    Source::State {
                        index,
                        scale,
                        delay,
                        ..
                    } => {
                        let tc = t.saturating_sub(delay - 1);
                        lambda[(tc * batch + b) * s + index] += scale * g;
                    }
                    Source::Action { muscle, lag } if t >= lag => {
                        d_actions[((t - lag) * batch + b) * m + muscle] += g;
                    }
                    _ => {}
                }
            }
        }
    }

    /// Endpoint `[x, y, z, vx, vy, vz]` of effector `b` at step `t` (`z = vz = 0` in a planar model).
    pub fn cartesian(&self, run: &Batch, t: usize, b: usize) -> Cartesian {
        let info = self.plant.info();
        let s = info.state_dim();
        info.endpoint(&run.states[(t * run.batch + b) * s..][..s])
    }
}

/// The task's endpoint load plus the episode's events' (force pulses, loads, fields, channels).
#[inline]
pub fn total_load(task: &dyn Task, t: usize, e: &Episode, cart: &Cartesian) -> crate::task::Load {
    let (mut f, mut d) = task.endpoint_load(t, e, cart);
    if !e.events.is_empty() {
        let (g, dg) = e.event_load(t, cart);
        for i in 0..3 {
            f[i] += g[i];
            for k in 0..6 {
                d[i][k] += dg[i][k];
            }
        }
    }
    (f, d)
}

/// The episode's rotation of vision (radians; 0 without one).
pub fn vision_rotation(e: &Episode) -> f64 {
    if e.events.is_empty() {
        0.0
    } else {
        e.vision_rotation()
    }
}

/// The rotation matrix of `angle` (counter-clockwise).
pub(crate) fn rotation(angle: f64) -> [[f64; 2]; 2] {
    let (s, c) = angle.sin_cos();
    [[c, -s], [s, c]]
}

fn check_finite(
    info: &crate::PlantInfo,
    states: &[f64],
    step: usize,
    first_episode: usize,
) -> Result<(), Error> {
    if let Some(i) = states.iter().position(|v| !v.is_finite()) {
        let s = info.state_dim();
        let (part, index) = crate::effector::describe_index(info, i % s);
        return Err(Error::NonFinite {
            step,
            effector: first_episode + i / s,
            part,
            index,
            value: states[i],
        });
    }
    Ok(())
}
