//! Training a recurrent policy (any [`Network`]: MotorNet's one-layer GRU by default, chosen by
//! [`PolicyConfig`]) to control a plant by backpropagation through time through the network *and* the
//! plant's adjoints.
//!
//! A batch is split into contiguous slices, one per thread; each worker simulates and backpropagates its
//! slice independently (the network does not mix episodes), and the gradients are summed in a fixed order.
//! Every episode draws its noise from its own random stream, derived from (seed, batch, episode), so the
//! trajectories do not depend on the number of threads, and a run is bit-for-bit reproducible for a given
//! seed, configuration and thread count — also across `--resume`, since nothing else carries state from
//! one batch to the next except the weights and the optimizer.

use crate::adam::{clip_grad_norm, Adam};
use crate::env::{Batch, EnvConfig, Environment};
use crate::error::Error;
use crate::plant::Plant;
pub use crate::policy::config::{PolicyConfig, PolicyProblem, MAX_LAYERS, POLICY_KINDS};
use crate::policy::{Network, NetworkTape, Policy, PolicyTape};
use crate::task::{Cartesian, Episode, Task};
use ndarray::{ArrayView2, ArrayViewMut2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// Weights of the loss terms. The loss is a weighted sum of means over the batch and time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LossConfig {
    /// Endpoint-to-target error, Σ over x, y (and z in a spatial model) per step, averaged over steps (0..=T) and episodes.
    pub position: f64,
    /// `"l1"`: |error| (MotorNet's tutorial loss); `"l2"`: squared error.
    pub position_norm: String,
    /// Mean squared muscle activation.
    pub activation: f64,
    /// `"none"`: every muscle's activation counts alike; `"max_force"`: each is multiplied by its
    /// muscle's `max_force` over the mean of the muscles' before squaring (MotorNet's
    /// `L2xDxActivationLoss`), so strong muscles cost more effort.
    pub activation_scale: String,
    /// Mean squared muscle force (N²).
    pub force: f64,
    /// Mean squared hidden activity.
    pub hidden: f64,
    /// Mean squared change of hidden activity between steps.
    pub hidden_derivative: f64,
    /// Mean squared endpoint speed.
    pub speed: f64,
    /// Mean squared endpoint jerk (third difference of position over dt³).
    pub jerk: f64,
    /// L2 penalty on the network's weight matrices (not its biases or initial state): `w · Σ W²`.
    pub weight: f64,
}

impl Default for LossConfig {
    fn default() -> Self {
        LossConfig {
            position: 1.0,
            position_norm: "l1".into(),
            activation: 0.0,
            activation_scale: "none".into(),
            force: 0.0,
            hidden: 0.0,
            hidden_derivative: 0.0,
            speed: 0.0,
            jerk: 0.0,
            weight: 0.0,
        }
    }
}

impl LossConfig {
    /// The values `position_norm` may take.
    pub const POSITION_NORMS: &'static [&'static str] = &["l1", "l2"];
    /// The values `activation_scale` may take.
    pub const ACTIVATION_SCALES: &'static [&'static str] = &["none", "max_force"];
}

/// `allowed` quoted, for a message: `"l1" or "l2"`, `"a", "b" or "c"`.
pub fn alternatives(allowed: &[&str]) -> String {
    let quoted: Vec<String> = allowed.iter().map(|a| format!("{a:?}")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => quoted.concat(),
    }
}

/// Optimisation settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptimConfig {
    pub hidden: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// Maximal gradient norm (clip_grad_norm_); 0 disables clipping.
    pub grad_clip: f64,
    pub seed: u64,
    pub threads: usize,
}

impl Default for OptimConfig {
    fn default() -> Self {
        OptimConfig {
            hidden: 128,
            batch_size: 32,
            learning_rate: 1e-3,
            grad_clip: 1.0,
            seed: 0,
            threads: 1,
        }
    }
}

/// What one training batch did.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchStats {
    pub loss: f64,
    /// Loss terms by name (weighted).
    pub terms: Vec<(&'static str, f64)>,
    pub grad_norm: f64,
}

/// The random stream of episode `b` of batch `batch`.
pub fn episode_rng(seed: u64, batch: u64, b: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(batch.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b);
    rng
}

/// The stream of the hidden-state noise of episode `b` of batch `batch`: another key than the episode's
/// own stream, so that switching hidden noise on leaves the environment's noise as it was.
fn hidden_noise_rng(seed: u64, batch: u64, b: u64) -> ChaCha8Rng {
    const KEY: u64 = 0x6869_6464_656e; // "hidden"
    episode_rng(seed ^ KEY, batch, b)
}

/// A worker's loss terms (normalized by the whole batch) and parameter gradient.
type WorkerResult = Result<(Vec<(&'static str, f64)>, Vec<f64>), Error>;

struct Worker<P: Plant> {
    env: Environment<P>,
    tape: NetworkTape,
    grads: Vec<f64>,
    run: Batch,
    lambda: Vec<f64>,
    d_actions: Vec<f64>,
    d_hidden: Vec<f64>,
    dh: Vec<f64>,
    dx: Vec<f64>,
    /// This step's hidden-state noise, `episodes × hidden`.
    hidden_noise: Vec<f64>,
}

pub struct Trainer<P: Plant> {
    /// The network being trained.
    pub policy: Network,
    pub adam: Adam,
    pub loss: LossConfig,
    pub optim: OptimConfig,
    workers: Vec<Worker<P>>,
    grads: Vec<f64>,
}

impl<P: Plant + 'static> Trainer<P> {
    /// A trainer of MotorNet's one-layer GRU policy (the default [`PolicyConfig`]). `make_plant` builds
    /// one plant per worker thread; `make_task` likewise.
    pub fn new(
        make_plant: impl Fn() -> P,
        make_task: impl Fn() -> Box<dyn Task>,
        env: EnvConfig,
        loss: LossConfig,
        optim: OptimConfig,
    ) -> Result<Self, Error> {
        Trainer::with_policy(
            make_plant,
            make_task,
            env,
            loss,
            optim,
            &PolicyConfig::default(),
        )
    }

    /// A trainer of the network `policy` describes, its weights drawn from a stream of
    /// [`OptimConfig::seed`].
    pub fn with_policy(
        make_plant: impl Fn() -> P,
        make_task: impl Fn() -> Box<dyn Task>,
        env: EnvConfig,
        loss: LossConfig,
        optim: OptimConfig,
        policy: &PolicyConfig,
    ) -> Result<Self, Error> {
        for (key, value, allowed) in [
            (
                "position_norm",
                &loss.position_norm,
                LossConfig::POSITION_NORMS,
            ),
            (
                "activation_scale",
                &loss.activation_scale,
                LossConfig::ACTIVATION_SCALES,
            ),
        ] {
            if !allowed.contains(&value.as_str()) {
                return Err(Error::Input(format!(
                    "loss.{key} must be {}, not {value:?}",
                    alternatives(allowed)
                )));
            }
        }
        if optim.batch_size == 0 || optim.hidden == 0 {
            return Err(Error::Input(
                "batch_size and hidden must be at least 1".into(),
            ));
        }
        if !(optim.learning_rate > 0.0 && optim.learning_rate.is_finite()) {
            return Err(Error::Input(format!(
                "learning_rate must be positive, not {}",
                optim.learning_rate
            )));
        }
        let threads = optim.threads.clamp(1, optim.batch_size);
        let sizes: Vec<usize> = (0..threads)
            .map(|k| optim.batch_size / threads + usize::from(k < optim.batch_size % threads))
            .collect();
        let mut workers = Vec::new();
        let mut net: Option<Network> = None;
        for size in sizes {
            let env = Environment::new(make_plant(), make_task(), env.clone())?;
            let m = env.n_muscles();
            if m == 0 {
                return Err(Error::Input(
                    "the model has no muscles for a policy to drive".into(),
                ));
            }
            activation_weights(&loss, &env.plant)?;
            if net.is_none() {
                let spec = policy
                    .network_spec(optim.hidden, &env, optim.seed)
                    .map_err(Error::Input)?;
                let mut rng = ChaCha8Rng::seed_from_u64(optim.seed);
                net = Some(Network::new(&spec, env.obs_dim(), m, &mut rng).map_err(Error::Input)?);
            }
            let g = net.as_ref().expect("built above");
            let (steps, hidden) = (env.steps, g.sizes().hidden);
            workers.push(Worker {
                tape: g.tape(size, steps),
                grads: vec![0.0; g.param_count()],
                run: Batch::default(),
                lambda: Vec::new(),
                d_actions: Vec::new(),
                d_hidden: Vec::new(),
                dh: vec![0.0; size * hidden],
                dx: vec![0.0; size * env.obs_dim()],
                hidden_noise: vec![0.0; size * hidden],
                env,
            });
        }
        let mut policy = net.expect("at least one worker");
        lift_readout(&mut policy, &workers[0].env.plant);
        let adam = Adam::new(policy.param_count(), optim.learning_rate);
        let grads = vec![0.0; policy.param_count()];
        Ok(Trainer {
            policy,
            adam,
            loss,
            optim,
            workers,
            grads,
        })
    }

    pub fn obs_dim(&self) -> usize {
        self.workers[0].env.obs_dim()
    }

    /// The plant (of the first worker; every worker's is built alike).
    pub fn plant(&self) -> &P {
        &self.workers[0].env.plant
    }

    pub fn steps(&self) -> usize {
        self.workers[0].env.steps
    }

    pub fn timestep(&self) -> f64 {
        self.workers[0].env.plant.timestep()
    }

    pub fn muscle_names(&self) -> Vec<String> {
        self.workers[0].env.plant.info().muscle_names.clone()
    }

    /// Draws the episodes of `batch` (the same for any thread count).
    pub fn episodes(&self, batch_index: u64, n: usize) -> Vec<Episode> {
        let mut rng = episode_rng(self.optim.seed, batch_index, u64::MAX);
        self.workers[0].env.draw(n, &mut rng)
    }

    /// One optimisation step on batch `batch_index`. On a non-finite value in the simulation, the loss or
    /// the gradient nothing is updated, and the error names the batch and where the value appeared (see
    /// [`Trainer::loss_and_gradient`]).
    pub fn train_batch(&mut self, batch_index: u64) -> Result<BatchStats, Error> {
        let episodes = self.episodes(batch_index, self.optim.batch_size);
        let (stats, grads) = self.loss_and_gradient(&episodes, batch_index, false)?;
        if let Some(i) = grads.iter().position(|g| !g.is_finite()) {
            let name = self
                .policy
                .tensors()
                .into_iter()
                .find(|t| t.range().contains(&i))
                .map_or_else(|| "?".to_string(), |t| t.name);
            return Err(Error::Input(format!(
                "batch {batch_index}: non-finite gradient ({}) of `{name}`",
                grads[i]
            )));
        }
        self.grads.copy_from_slice(&grads);
        self.policy.mask_gradient(&mut self.grads);
        let grad_norm = if self.optim.grad_clip > 0.0 {
            clip_grad_norm(&mut self.grads, self.optim.grad_clip)
        } else {
            self.grads.iter().map(|g| g * g).sum::<f64>().sqrt()
        };
        self.adam.step(self.policy.params_mut(), &self.grads);
        self.policy.constrain();
        Ok(BatchStats { grad_norm, ..stats })
    }

    /// Simulates `episodes` (split over the workers) and returns the loss and its gradient with respect to
    /// the network's parameters. Any number of episodes (at least one) may be given: the loss is their
    /// mean, whatever the configured batch size (a worker's buffers grow when it is given more episodes
    /// than it was built for). Episode `b` draws its noise from stream `b` of `batch_index`.
    ///
    /// Errors start with `batch <batch_index>: ` and then say what was not finite: a state (its part,
    /// component, episode — numbered within `episodes` — and step), a policy excitation, a task's endpoint
    /// load, or a loss term.
    pub fn loss_and_gradient(
        &mut self,
        episodes: &[Episode],
        batch_index: u64,
        deterministic: bool,
    ) -> Result<(BatchStats, Vec<f64>), Error> {
        let total = episodes.len();
        if total == 0 {
            return Err(Error::Input(format!(
                "batch {batch_index}: no episodes to compute a loss over"
            )));
        }
        let (policy, loss_cfg, seed) = (&self.policy, &self.loss, self.optim.seed);
        // The split `Trainer::new` sized the workers for when `total` is the batch size.
        let threads = self.workers.len();
        let sizes: Vec<usize> = (0..threads)
            .map(|k| total / threads + usize::from(k < total % threads))
            .collect();
        // Each slice is run by whichever thread claims it first (the caller included), with the worker
        // state sized for it: a thread the system does not run just now (a busy machine) leaves its
        // slice to the others instead of holding up the batch. Results are summed in slice order, so
        // they do not depend on which thread ran what.
        type SliceJob<'j> = Box<dyn FnOnce() -> WorkerResult + Send + 'j>;
        let mut jobs: Vec<std::sync::Mutex<Option<SliceJob>>> = Vec::new();
        let mut start = 0;
        for (w, &n) in self.workers.iter_mut().zip(&sizes) {
            if n == 0 {
                continue;
            }
            w.fit(policy, n);
            let slice = episodes[start..start + n].to_vec();
            let first = start;
            start += n;
            jobs.push(std::sync::Mutex::new(Some(Box::new(move || {
                w.run_and_backprop(
                    policy,
                    loss_cfg,
                    slice,
                    seed,
                    batch_index,
                    first,
                    total,
                    deterministic,
                )
            }))));
        }
        let slots: Vec<std::sync::Mutex<Option<WorkerResult>>> =
            jobs.iter().map(|_| std::sync::Mutex::new(None)).collect();
        let claimed = std::sync::atomic::AtomicUsize::new(0);
        let run = |k: usize| {
            let job = jobs[k]
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take()
                .expect("each slice is claimed once");
            let r = job();
            *slots[k]
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(r);
        };
        let work = || loop {
            let k = claimed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if k >= jobs.len() {
                return;
            }
            run(k);
        };
        std::thread::scope(|scope| {
            let helpers: Vec<_> = (1..jobs.len()).map(|_| scope.spawn(work)).collect();
            work();
            for h in helpers {
                if let Err(p) = h.join() {
                    std::panic::resume_unwind(p);
                }
            }
        });
        let results: Vec<WorkerResult> = slots
            .into_iter()
            .map(|s| {
                s.into_inner()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .expect("every slice ran")
            })
            .collect();
        let mut terms: Vec<(&'static str, f64)> = Vec::new();
        let mut grads = vec![0.0; self.policy.param_count()];
        for r in results {
            let (t, g) = r.map_err(|e| Error::Input(format!("batch {batch_index}: {e}")))?;
            for (name, v) in t {
                match terms.iter_mut().find(|(n, _)| *n == name) {
                    Some(e) => e.1 += v,
                    None => terms.push((name, v)),
                }
            }
            for (a, b) in grads.iter_mut().zip(&g) {
                *a += b;
            }
        }
        if self.loss.weight != 0.0 {
            let params = self.policy.params();
            let mut sum = 0.0;
            for t in self
                .policy
                .tensors()
                .iter()
                .filter(|t| is_weight_matrix(&t.name, &t.shape))
            {
                for (g, w) in grads[t.range()].iter_mut().zip(&params[t.range()]) {
                    sum += w * w;
                    *g += 2.0 * self.loss.weight * w;
                }
            }
            terms.push(("weight", self.loss.weight * sum));
        }
        let loss: f64 = terms.iter().map(|t| t.1).sum();
        if !loss.is_finite() {
            let worst = terms
                .iter()
                .find(|t| !t.1.is_finite())
                .map_or("loss", |t| t.0);
            return Err(Error::Input(format!(
                "batch {batch_index}: non-finite loss ({loss}) in the `{worst}` term"
            )));
        }
        Ok((
            BatchStats {
                loss,
                terms,
                grad_norm: f64::NAN,
            },
            grads,
        ))
    }

    /// Runs `episodes` deterministically (no noise of any kind) with the current network and records
    /// everything: states, observations, actions and the network's hidden activity. `episodes` must not be
    /// empty.
    pub fn rollout(&mut self, episodes: &[Episode]) -> Result<Rollout, Error> {
        if episodes.is_empty() {
            return Err(Error::Input("rollout: no episodes to run".into()));
        }
        let w = &mut self.workers[0];
        w.env.episode_offset = 0;
        let policy = &self.policy;
        let n = episodes.len();
        let mut tape = policy.tape(n, w.env.steps);
        policy.reset(&mut tape);
        let mut run = Batch::default();
        let mut rngs: Vec<ChaCha8Rng> = (0..n as u64).map(|b| episode_rng(0, 0, b)).collect();
        w.env.run(
            episodes.to_vec(),
            &mut rngs,
            true,
            &mut run,
            |t, obs, actions| {
                let x = ArrayView2::from_shape((n, obs.len() / n), obs).expect("obs");
                let u = policy.step(&mut tape, t, x, None);
                actions.copy_from_slice(u.as_slice().expect("contiguous"));
            },
        )?;
        let hidden = (0..=run.steps).flat_map(|t| tape.h(t).iter().copied().collect::<Vec<_>>());
        Ok(Rollout {
            hidden_size: policy.sizes().hidden,
            obs_dim: w.env.obs_dim(),
            observation_names: w.env.observation_names(),
            dt: w.env.plant.timestep(),
            hidden: hidden.collect(),
            info: w.env.plant.info().clone(),
            run,
        })
    }

    /// Deterministic evaluation: endpoint paths (`[episode][step]` of `[x, y, z, vx, vy, vz]`, `z = vz =
    /// 0` in a planar model), activations
    /// (`[episode][step][muscle]`) and the mean endpoint-to-aim distance over the last `last` steps.
    ///
    /// `episodes` must not be empty, and `last` must lie in `1..=steps` (the steps of an episode).
    pub fn evaluate(&mut self, episodes: &[Episode], last: usize) -> Result<Evaluation, Error> {
        if episodes.is_empty() {
            return Err(Error::Input("evaluate: no episodes to evaluate".into()));
        }
        let steps = self.steps();
        if last == 0 || last > steps {
            return Err(Error::Input(format!(
                "evaluate: the last {last} steps cannot be evaluated: the number must be between 1 and \
                 the {steps} steps of an episode"
            )));
        }
        let r = self.rollout(episodes)?;
        let m = r.info.n_muscles();
        let dim = r.info.space_dim;
        let musc = r.info.muscle().start;
        let mut paths = Vec::new();
        let mut activations = Vec::new();
        let mut metric = 0.0;
        let mut count = 0usize;
        for (b, e) in episodes.iter().enumerate() {
            let path: Vec<Cartesian> = (0..=steps).map(|t| r.cartesian(t, b)).collect();
            let first = steps.saturating_sub(last.saturating_sub(1));
            for (t, p) in path.iter().enumerate().skip(first) {
                let aim = e.aim(t);
                let squared = (1..dim).fold((p[0] - aim[0]).powi(2), |sum, k| {
                    sum + (p[k] - aim[k]).powi(2)
                });
                metric += squared.sqrt();
                count += 1;
            }
            paths.push(path);
            activations.push(
                (0..=steps)
                    .map(|t| r.state(t, b)[musc..][..m].to_vec())
                    .collect(),
            );
        }
        Ok(Evaluation {
            paths,
            activations,
            metric: metric / count.max(1) as f64,
        })
    }
}

/// A recorded closed-loop run ([`Trainer::rollout`]).
#[derive(Clone, Debug)]
pub struct Rollout {
    /// States `(steps + 1) × batch × state_dim`, observations `(steps + 1) × batch × obs_dim`, the
    /// policy's actions `steps × batch × n_muscles`, the applied controls and the episodes.
    pub run: Batch,
    /// The network's hidden activity, `(steps + 1) × batch × hidden_size`; row 0 is the initial state and
    /// row `t + 1` the activity after step `t`.
    pub hidden: Vec<f64>,
    pub hidden_size: usize,
    pub obs_dim: usize,
    /// What each observation column is ([`Environment::observation_names`]).
    pub observation_names: Vec<String>,
    /// Time step, s.
    pub dt: f64,
    /// The plant's state layout.
    pub info: crate::PlantInfo,
}

impl Rollout {
    pub fn steps(&self) -> usize {
        self.run.steps
    }
    pub fn batch(&self) -> usize {
        self.run.batch
    }
    /// The whole state of episode `b` after `t` steps.
    pub fn state(&self, t: usize, b: usize) -> &[f64] {
        let s = self.info.state_dim();
        &self.run.states[(t * self.run.batch + b) * s..][..s]
    }
    /// Endpoint `[x, y, z, vx, vy, vz]` of episode `b` after `t` steps (`z = vz = 0` in a planar model).
    pub fn cartesian(&self, t: usize, b: usize) -> Cartesian {
        self.info.endpoint(self.state(t, b))
    }
    /// What the network saw at step `t` (`t = steps`: the observation after the last step).
    pub fn observation(&self, t: usize, b: usize) -> &[f64] {
        &self.run.observations[(t * self.run.batch + b) * self.obs_dim..][..self.obs_dim]
    }
    /// The network's action at step `t < steps`.
    pub fn action(&self, t: usize, b: usize) -> &[f64] {
        let m = self.info.n_muscles();
        &self.run.actions[(t * self.run.batch + b) * m..][..m]
    }
    /// The hidden activity after `t` network steps (`t = 0`: the initial state).
    pub fn hidden(&self, t: usize, b: usize) -> &[f64] {
        let h = self.hidden_size;
        &self.hidden[(t * self.run.batch + b) * h..][..h]
    }
}

/// Result of a deterministic evaluation.
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// `[episode][step]` of `[x, y, z, vx, vy, vz]`.
    pub paths: Vec<Vec<Cartesian>>,
    pub activations: Vec<Vec<Vec<f64>>>,
    /// Mean endpoint-to-aim distance over the evaluated steps, in metres.
    pub metric: f64,
}

impl<P: Plant> Worker<P> {
    /// Sizes the buffers that depend on the number of episodes for `n` episodes (nothing changes when
    /// they already fit, as for every batch of the configured size).
    fn fit(&mut self, policy: &Network, n: usize) {
        if self.tape.batch() != n {
            let hidden = policy.sizes().hidden;
            self.tape = policy.tape(n, self.env.steps);
            self.dh = vec![0.0; n * hidden];
            self.dx = vec![0.0; n * self.env.obs_dim()];
            self.hidden_noise = vec![0.0; n * hidden];
        }
    }

    /// Forward and backward pass over this worker's episodes; returns the loss terms (already normalized by
    /// the whole batch size `total`) and the parameter gradient.
    #[allow(clippy::too_many_arguments)]
    fn run_and_backprop(
        &mut self,
        policy: &Network,
        cfg: &LossConfig,
        episodes: Vec<Episode>,
        seed: u64,
        batch_index: u64,
        first: usize,
        total: usize,
        deterministic: bool,
    ) -> WorkerResult {
        let n = episodes.len();
        let mut rngs: Vec<ChaCha8Rng> = (0..n)
            .map(|b| episode_rng(seed, batch_index, (first + b) as u64))
            .collect();
        let hidden = policy.sizes().hidden;
        let sd = if deterministic {
            0.0
        } else {
            self.env.config.hidden_noise
        };
        let mut hidden_rngs: Vec<ChaCha8Rng> = if sd > 0.0 {
            (0..n)
                .map(|b| hidden_noise_rng(seed, batch_index, (first + b) as u64))
                .collect()
        } else {
            Vec::new()
        };
        self.hidden_noise.resize(n * hidden, 0.0);
        policy.reset(&mut self.tape);
        let (tape, noise) = (&mut self.tape, &mut self.hidden_noise);
        self.env.episode_offset = first;
        self.env.run(
            episodes,
            &mut rngs,
            deterministic,
            &mut self.run,
            |t, obs, actions| {
                let x = ArrayView2::from_shape((n, obs.len() / n), obs).expect("obs");
                let noise = (sd > 0.0).then(|| {
                    for (row, rng) in noise.chunks_exact_mut(hidden).zip(&mut hidden_rngs) {
                        for v in row {
                            let z: f64 = StandardNormal.sample(rng);
                            *v = sd * z;
                        }
                    }
                    ArrayView2::from_shape((n, hidden), &noise[..n * hidden]).expect("noise")
                });
                let u = policy.step(tape, t, x, noise);
                actions.copy_from_slice(u.as_slice().expect("contiguous"));
            },
        )?;
        let info = self.env.plant.info().clone();
        let (s, m, steps, hsize) = (info.state_dim(), info.n_muscles(), self.run.steps, hidden);
        let dt = self.env.plant.timestep();
        self.lambda.clear();
        self.lambda.resize((steps + 1) * n * s, 0.0);
        self.d_actions.clear();
        self.d_actions.resize(steps * n * m, 0.0);
        self.d_hidden.clear();
        self.d_hidden.resize((steps + 1) * n * hsize, 0.0);
        // Per batch, from the loss settings it is given (`Trainer::loss` is public and may change).
        let muscle_weights = activation_weights(cfg, &self.env.plant)?;
        let terms = loss_terms(
            cfg,
            &muscle_weights,
            &self.run,
            &info,
            &self.tape,
            total,
            dt,
            &mut self.lambda,
            &mut self.d_hidden,
        );

        self.dh.fill(0.0);
        self.grads.fill(0.0);
        let o = self.env.obs_dim();
        for t in (0..steps).rev() {
            let (now, next) = self.lambda.split_at_mut((t + 1) * n * s);
            self.env.backprop_step(
                &self.run,
                t,
                &next[..n * s],
                &mut now[t * n * s..],
                &mut self.d_actions[t * n * m..(t + 1) * n * m],
            );
            // dh carries dL/dh(t+1): add the loss's direct dependence on it.
            for (a, b) in self
                .dh
                .iter_mut()
                .zip(&self.d_hidden[(t + 1) * n * hsize..(t + 2) * n * hsize])
            {
                *a += b;
            }
            let du = ArrayView2::from_shape((n, m), &self.d_actions[t * n * m..(t + 1) * n * m])
                .expect("du");
            let dh = ArrayViewMut2::from_shape((n, hsize), &mut self.dh[..]).expect("dh");
            let dx = ArrayViewMut2::from_shape((n, o), &mut self.dx[..]).expect("dx");
            policy.backward(&mut self.tape, t, du, dh, &mut self.grads, Some(dx));
            self.env.backprop_observation(
                &self.run,
                t,
                &self.dx,
                &mut self.lambda,
                &mut self.d_actions,
            );
        }
        // dh holds dL/dh_0 through the network; add the loss's direct dependence on h_0, for networks
        // whose initial state is learnable (the modular GRU's h0).
        for (a, b) in self.dh.iter_mut().zip(&self.d_hidden[..n * hsize]) {
            *a += b;
        }
        let dh0 = ArrayView2::from_shape((n, hsize), &self.dh[..]).expect("dh");
        policy.backward_initial(&mut self.tape, dh0, &mut self.grads);
        Ok((terms, self.grads.clone()))
    }
}

/// Computes the loss terms and adds their cotangents to the states (`lambda`) and hidden states
/// (`d_hidden`, index t = hidden state after t network steps).
#[allow(clippy::too_many_arguments)]
fn loss_terms(
    cfg: &LossConfig,
    muscle_weights: &[f64],
    run: &Batch,
    info: &crate::PlantInfo,
    tape: &impl PolicyTape,
    total: usize,
    dt: f64,
    lambda: &mut [f64],
    d_hidden: &mut [f64],
) -> Vec<(&'static str, f64)> {
    let (n, steps, s) = (run.batch, run.steps, info.state_dim());
    let (cart, dim) = (info.cartesian().start, info.space_dim);
    let musc = info.muscle().start;
    let m = info.n_muscles();
    let mut terms = Vec::new();
    let at = |t: usize, b: usize| (t * n + b) * s;
    let pts = (steps + 1) as f64 * total as f64;
    if cfg.position != 0.0 {
        let l1 = cfg.position_norm == "l1";
        let mut sum = 0.0;
        for t in 0..=steps {
            for b in 0..n {
                let aim = run.episodes[b].aim(t);
                for k in 0..dim {
                    let e = run.states[at(t, b) + cart + k] - aim[k];
                    let (v, d) = if l1 {
                        (e.abs(), sign(e))
                    } else {
                        (e * e, 2.0 * e)
                    };
                    sum += v;
                    lambda[at(t, b) + cart + k] += cfg.position * d / pts;
                }
            }
        }
        terms.push(("position", cfg.position * sum / pts));
    }
    let unscaled = vec![1.0; m];
    for (name, weight, row, scale) in [
        ("activation", cfg.activation, 0usize, muscle_weights),
        (
            "force",
            cfg.force,
            info.muscle_state_names.len().saturating_sub(1),
            &unscaled[..],
        ),
    ] {
        if weight == 0.0 || m == 0 {
            continue;
        }
        let count = (steps * total * m) as f64;
        let mut sum = 0.0;
        for t in 1..=steps {
            for b in 0..n {
                for (k, s) in scale.iter().enumerate() {
                    let i = at(t, b) + musc + row * m + k;
                    let w2 = s * s;
                    sum += w2 * run.states[i].powi(2);
                    lambda[i] += weight * w2 * 2.0 * run.states[i] / count;
                }
            }
        }
        terms.push((name, weight * sum / count));
    }
    let h = tape.hidden();
    if cfg.hidden != 0.0 || cfg.hidden_derivative != 0.0 {
        let count = (steps * total * h) as f64;
        let (mut sum, mut dsum) = (0.0, 0.0);
        for t in 1..=steps {
            let (ht, hp) = (tape.h(t), tape.h(t - 1));
            for b in 0..n {
                for j in 0..h {
                    let (v, dv) = (ht[[b, j]], ht[[b, j]] - hp[[b, j]]);
                    sum += v * v;
                    dsum += dv * dv;
                    d_hidden[(t * n + b) * h + j] +=
                        (cfg.hidden * 2.0 * v + cfg.hidden_derivative * 2.0 * dv) / count;
                    d_hidden[((t - 1) * n + b) * h + j] -= cfg.hidden_derivative * 2.0 * dv / count;
                }
            }
        }
        if cfg.hidden != 0.0 {
            terms.push(("hidden", cfg.hidden * sum / count));
        }
        if cfg.hidden_derivative != 0.0 {
            terms.push(("hidden_derivative", cfg.hidden_derivative * dsum / count));
        }
    }
    if cfg.speed != 0.0 {
        let mut sum = 0.0;
        for t in 0..=steps {
            for b in 0..n {
                for k in dim..2 * dim {
                    let v = run.states[at(t, b) + cart + k];
                    sum += v * v;
                    lambda[at(t, b) + cart + k] += cfg.speed * 2.0 * v / pts;
                }
            }
        }
        terms.push(("speed", cfg.speed * sum / pts));
    }
    if cfg.jerk != 0.0 && steps >= 3 {
        // jerk ≈ (x[t+3] − 3x[t+2] + 3x[t+1] − x[t]) / dt³
        let coef = [-1.0, 3.0, -3.0, 1.0];
        let count = ((steps - 2) * total) as f64;
        let mut sum = 0.0;
        for t in 0..steps - 2 {
            for b in 0..n {
                for k in 0..dim {
                    let j: f64 = (0..4)
                        .map(|i| coef[i] * run.states[at(t + i, b) + cart + k])
                        .sum::<f64>()
                        / dt.powi(3);
                    sum += j * j;
                    for (i, c) in coef.iter().enumerate() {
                        lambda[at(t + i, b) + cart + k] +=
                            cfg.jerk * 2.0 * j * c / dt.powi(3) / count;
                    }
                }
            }
        }
        terms.push(("jerk", cfg.jerk * sum / count));
    }
    terms
}

/// Whether a parameter tensor is a weight matrix (what the `weight` loss term penalises): every matrix but
/// the modular GRU's learnable initial state `h0`.
fn is_weight_matrix(name: &str, shape: &[usize]) -> bool {
    shape.len() == 2 && name != "h0"
}

/// sign with sign(0) = 0, as torch.abs's gradient.
fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// The factor each muscle's activation is multiplied by in the `activation` term: 1 for
/// `activation_scale = "none"`; for `"max_force"`, the muscle's `max_force` over the mean of the
/// muscles' (MotorNet's `L2xDxActivationLoss`).
pub fn activation_weights<P: Plant + ?Sized>(
    cfg: &LossConfig,
    plant: &P,
) -> Result<Vec<f64>, Error> {
    let info = plant.info();
    let m = info.n_muscles();
    if cfg.activation_scale != "max_force" {
        return Ok(vec![1.0; m]);
    }
    let mut forces = Vec::with_capacity(m);
    let mut missing = Vec::new();
    for name in &info.muscle_names {
        match info.param_index(&format!("{name}.max_force")) {
            Some(i) => forces.push(plant.params()[i]),
            None => missing.push(name.as_str()),
        }
    }
    if !missing.is_empty() {
        return Err(Error::Input(format!(
            "loss.activation_scale = \"max_force\" needs every muscle's max_force; {} has none",
            missing.join(", ")
        )));
    }
    let mean = forces.iter().sum::<f64>() / m as f64;
    if !(mean > 0.0 && mean.is_finite()) {
        return Err(Error::Input(format!(
            "loss.activation_scale = \"max_force\": the muscles' mean max_force is {mean} N"
        )));
    }
    Ok(forces.iter().map(|f| f / mean).collect())
}

/// The readout bias (`fc.bias`, or the modular GRU's `bY`) starts low so that an untrained network's
/// excitations are near zero: MotorNet's −5 gives sigmoid(−5) = 0.0067. A muscle clips its excitation to
/// `[min_activation, 1]` and the clip passes no gradient, so where a muscle's minimum activation lies above
/// that start (OpenSim's default is 0.01) every excitation is clipped, the loss does not depend on the
/// weights, and training never starts. The readout then starts at three times the largest minimum
/// activation instead: still near zero, but where the gradient flows. Models whose minimum lies below the
/// start (MotorNet's 0.001) are untouched.
pub fn lift_readout<P: Plant + ?Sized>(policy: &mut Network, plant: &P) -> Option<f64> {
    let info = plant.info();
    let min_activation = info
        .muscle_names
        .iter()
        .filter_map(|m| info.param_index(&format!("{m}.min_activation")))
        .map(|i| plant.params()[i])
        .fold(0.0, f64::max);
    let lifted = 3.0 * min_activation;
    if lifted.is_nan() || lifted >= 1.0 {
        return None;
    }
    let bias = (lifted / (1.0 - lifted)).ln();
    let readout = policy
        .tensors()
        .into_iter()
        .find(|t| t.name == "fc.bias" || t.name == "bY")?;
    let values = &mut policy.params_mut()[readout.range()];
    let below = |b: f64| 1.0 / (1.0 + (-b).exp()) < min_activation;
    if !values.iter().all(|&b| below(b)) {
        return None;
    }
    values.fill(bias);
    Some(bias)
}
