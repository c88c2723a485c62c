//! The training configuration (`config.toml`, `motornet train --config`): its schema, its defaults, and
//! its validation. [`TrainConfig::validate`] checks a configuration completely against its model before
//! any work starts and reports *every* problem at once, each naming its key and the allowed values — a
//! batch job learns that its configuration is wrong in a second, not after a night of compute.

use crate::runtime::env::EnvConfig;
use crate::runtime::perturb::{Direction, Kind, Perturbation, Perturbed};
use crate::runtime::task::{CentreOut, DelayedReach, RandomReach, Task};
use crate::runtime::train::{alternatives, LossConfig, OptimConfig, PolicyConfig, Trainer};
use crate::{Error, Plant};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TaskConfig {
    /// MotorNet's RandomTargetReach.
    RandomReach {
        #[serde(default)]
        curl: f64,
    },
    /// Centre-out reaching from `start_joint` to `n_targets` targets on a circle.
    CentreOut {
        start_joint: Vec<f64>,
        #[serde(default = "default_targets")]
        n_targets: usize,
        #[serde(default = "default_radius")]
        radius: f64,
        #[serde(default)]
        curl: f64,
    },
    /// Reach after a go cue at a random step in `go_steps`; a fraction of catch trials never go.
    DelayedReach {
        go_steps: (usize, usize),
        #[serde(default)]
        catch_probability: f64,
    },
}

fn default_targets() -> usize {
    8
}
fn default_radius() -> f64 {
    0.1
}

/// The task kind a `[task]` table without `kind` gets: omitted keys keep their defaults.
const DEFAULT_TASK_KIND: &str = "random_reach";

fn task_with_default_kind<'de, D: serde::Deserializer<'de>>(d: D) -> Result<TaskConfig, D::Error> {
    let mut table = toml::Table::deserialize(d)?;
    table
        .entry("kind")
        .or_insert_with(|| DEFAULT_TASK_KIND.into());
    TaskConfig::deserialize(toml::Value::Table(table)).map_err(serde::de::Error::custom)
}

impl TaskConfig {
    pub fn build(&self) -> Box<dyn Task> {
        match self {
            TaskConfig::RandomReach { curl } => Box::new(RandomReach { curl: *curl }),
            TaskConfig::CentreOut {
                start_joint,
                n_targets,
                radius,
                curl,
            } => Box::new(CentreOut {
                start_joint: start_joint.clone(),
                n_targets: *n_targets,
                radius: *radius,
                curl: *curl,
            }),
            TaskConfig::DelayedReach {
                go_steps,
                catch_probability,
            } => Box::new(DelayedReach {
                go_steps: *go_steps,
                catch_probability: *catch_probability,
            }),
        }
    }
}

/// How long to train and how often to evaluate and save.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    pub batches: u64,
    /// Evaluate every this many batches (and at the end).
    pub eval_every: u64,
    /// Number of fixed, noise-free evaluation episodes.
    pub eval_episodes: usize,
    /// The metric averages the endpoint-to-target distance over this many final steps.
    pub eval_last_steps: usize,
    pub checkpoint_every: u64,
    /// Stop early once the evaluation metric (metres) is at or below this value (0: never).
    pub target_metric: f64,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            batches: 3000,
            eval_every: 100,
            eval_episodes: 256,
            eval_last_steps: 20,
            checkpoint_every: 100,
            target_metric: 0.0,
        }
    }
}

/// Everything that defines a training run (`config.toml`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// A built-in model name or a path to a `.mnet` file.
    pub model: String,
    /// Parameter overrides, `name=value`.
    pub overrides: Vec<String>,
    /// Run the model with the interpreter even if a compiled one exists.
    pub interpreted: bool,
    #[serde(deserialize_with = "task_with_default_kind")]
    pub task: TaskConfig,
    pub env: EnvConfig,
    pub loss: LossConfig,
    pub optim: OptimConfig,
    /// The network: kind, layers and the kind's own settings (width: `[optim] hidden`).
    pub policy: PolicyConfig,
    pub run: RunConfig,
    /// Perturbations scheduled per trial, for training and evaluation alike (`[[perturbation]]` tables;
    /// see [`PerturbationConfig`]).
    #[serde(rename = "perturbation", skip_serializing_if = "Vec::is_empty")]
    pub perturbations: Vec<PerturbationConfig>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            model: "arm26".into(),
            overrides: Vec::new(),
            interpreted: false,
            task: TaskConfig::RandomReach { curl: 0.0 },
            env: EnvConfig::default(),
            loss: LossConfig::default(),
            optim: OptimConfig::default(),
            policy: PolicyConfig::default(),
            run: RunConfig::default(),
            perturbations: Vec::new(),
        }
    }
}

/// Limits on sizes a configuration may ask for (each reported with its key when exceeded).
pub mod limits {
    /// Steps per episode.
    pub const MAX_STEPS: usize = 1_000_000;
    /// Hidden units of the policy.
    pub const MAX_HIDDEN: usize = 16_384;
    pub const MAX_THREADS: usize = 1024;
    pub const MAX_FRAME_STACKING: usize = 1000;
    /// Reaches a deterministic evaluation, export or analysis may rerun.
    pub const MAX_EVAL_EPISODES: usize = 100_000;
    /// Memory the trainer's buffers may need, estimated from the configuration before anything is
    /// allocated.
    pub const MAX_MEMORY_BYTES: f64 = 16.0 * (1u64 << 30) as f64;
}

impl TrainConfig {
    /// Parses a configuration. Syntax and type errors carry their line and column; values are checked by
    /// [`TrainConfig::validate`].
    pub fn from_toml(text: &str) -> Result<Self, Error> {
        toml::from_str(text).map_err(|e| Error::Input(format!("configuration: {e}")))
    }
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("the configuration serializes")
    }

    /// The task with its perturbations (after [`TrainConfig::validate`]).
    pub fn build_task(&self) -> Box<dyn Task> {
        let task = self.task.build();
        if self.perturbations.is_empty() {
            return task;
        }
        Box::new(Perturbed {
            inner: task,
            perturbations: self
                .perturbations
                .iter()
                .map(|p| p.build().expect("validated: the perturbations build"))
                .collect(),
        })
    }

    /// A plant for this configuration (overrides applied).
    pub fn plant(&self) -> Result<Box<dyn Plant>, Error> {
        let (mut plant, _) = crate::models::load(&self.model, self.interpreted)?;
        plant.apply_overrides(&self.overrides)?;
        Ok(plant)
    }

    /// A trainer for this configuration, after [`TrainConfig::validate`].
    pub fn trainer(&self) -> Result<Trainer<Box<dyn Plant>>, Error> {
        self.validate()?;
        let cfg = self.clone();
        let task = self.clone();
        Trainer::with_policy(
            move || cfg.plant().expect("validated: the plant builds"),
            move || task.build_task(),
            self.env.clone(),
            self.loss.clone(),
            self.optim.clone(),
            &self.policy,
        )
    }

    /// Checks every setting against the allowed values and against the model (loaded with its
    /// overrides), and returns one error listing every problem found, each as `[table] key = value:
    /// what is allowed`.
    pub fn validate(&self) -> Result<(), Error> {
        let mut problems = Problems::default();
        let plant = match self.plant() {
            Ok(p) => Some(p),
            Err(e) => {
                problems.push("", "model", &self.model, &e.to_string());
                None
            }
        };
        self.check_values(&mut problems);
        if let Some(plant) = &plant {
            self.check_against(plant.as_ref(), &mut problems);
        }
        problems.into_result()
    }

    /// The checks of [`TrainConfig::validate`] that concern an environment — `[task]`, `[env]` and the
    /// `[[perturbation]]` tables — against a plant given instead of the one `model` names (the Python
    /// environments, whose plants may come from source text, and which have no trainer settings).
    pub fn validate_environment(&self, plant: &dyn Plant) -> Result<(), Error> {
        let mut problems = Problems::default();
        self.check_values(&mut problems);
        self.check_against(plant, &mut problems);
        let environment = |p: &String| {
            ["[task]", "[env]", "[perturbation "]
                .iter()
                .any(|table| p.starts_with(table))
        };
        problems.0.retain(environment);
        problems.into_result()
    }

    /// Checks that need no model.
    fn check_values(&self, p: &mut Problems) {
        let e = &self.env;
        for (key, v) in [
            ("action_noise", e.action_noise),
            ("proprioception_noise", e.proprioception_noise),
            ("vision_noise", e.vision_noise),
            ("observation_noise", e.observation_noise),
            ("hidden_noise", e.hidden_noise),
        ] {
            p.non_negative("env", key, v);
        }
        p.positive("env", "episode_duration", e.episode_duration);
        p.non_negative("env", "proprioception_delay", e.proprioception_delay);
        p.non_negative("env", "vision_delay", e.vision_delay);
        p.at_most(
            "env",
            "action_frame_stacking",
            e.action_frame_stacking,
            limits::MAX_FRAME_STACKING,
        );

        let l = &self.loss;
        let weights = [
            ("position", l.position),
            ("activation", l.activation),
            ("force", l.force),
            ("hidden", l.hidden),
            ("hidden_derivative", l.hidden_derivative),
            ("speed", l.speed),
            ("jerk", l.jerk),
            ("weight", l.weight),
        ];
        for (key, v) in weights {
            p.non_negative("loss", key, v);
        }
        if weights.iter().all(|(_, v)| *v == 0.0) {
            p.push(
                "loss",
                "position",
                &l.position.to_string(),
                "every loss weight is 0: there is nothing to train for",
            );
        }
        p.one_of(
            "loss",
            "position_norm",
            &l.position_norm,
            LossConfig::POSITION_NORMS,
        );
        p.one_of(
            "loss",
            "activation_scale",
            &l.activation_scale,
            LossConfig::ACTIVATION_SCALES,
        );

        let o = &self.optim;
        p.in_count("optim", "hidden", o.hidden, 1, limits::MAX_HIDDEN);
        p.in_count("optim", "batch_size", o.batch_size, 1, usize::MAX);
        p.in_count("optim", "threads", o.threads, 1, limits::MAX_THREADS);
        p.positive("optim", "learning_rate", o.learning_rate);
        p.non_negative("optim", "grad_clip", o.grad_clip);

        for (key, value, what) in self.policy.problems(o.hidden) {
            p.push("policy", key, &value, &what);
        }

        for (i, pert) in self.perturbations.iter().enumerate() {
            let table = format!("perturbation {}", i + 1);
            if let Err(problems) = pert.build() {
                for (key, value, what) in problems {
                    p.push(&table, key, &value, &what);
                }
            }
        }

        let r = &self.run;
        p.in_count("run", "eval_every", r.eval_every as usize, 1, usize::MAX);
        p.in_count(
            "run",
            "checkpoint_every",
            r.checkpoint_every as usize,
            1,
            usize::MAX,
        );
        p.in_count(
            "run",
            "eval_episodes",
            r.eval_episodes,
            1,
            limits::MAX_EVAL_EPISODES,
        );
        p.non_negative("run", "target_metric", r.target_metric);

        match &self.task {
            TaskConfig::RandomReach { curl } => p.finite("task", "curl", *curl),
            TaskConfig::CentreOut {
                n_targets,
                radius,
                curl,
                ..
            } => {
                p.in_count("task", "n_targets", *n_targets, 1, 1_000_000);
                p.positive("task", "radius", *radius);
                p.finite("task", "curl", *curl);
            }
            TaskConfig::DelayedReach {
                catch_probability, ..
            } => {
                if !(0.0..=1.0).contains(catch_probability) {
                    p.push(
                        "task",
                        "catch_probability",
                        &catch_probability.to_string(),
                        "must be a probability in [0, 1]",
                    );
                }
            }
        }
    }

    /// Checks against the model: whole steps, postures within the joint ranges, go cues inside the
    /// episode, and the memory the run would need.
    fn check_against(&self, plant: &dyn Plant, p: &mut Problems) {
        let dt = plant.timestep();
        let info = plant.info();
        let whole =
            |p: &mut Problems, key: &str, seconds: f64, at_least_one: bool| -> Option<usize> {
                if !seconds.is_finite() || seconds < 0.0 {
                    return None; // already reported
                }
                let n = seconds / dt;
                let steps = n.round();
                if (n - steps).abs() > 1e-6 || (at_least_one && steps < 1.0) {
                    p.push(
                        "env",
                        key,
                        &seconds.to_string(),
                        &format!(
                            "must be {} whole multiple of the model's time step {dt} s",
                            if at_least_one {
                                "a positive"
                            } else {
                                "0 or a positive"
                            }
                        ),
                    );
                    return None;
                }
                Some(steps as usize)
            };
        let steps = whole(p, "episode_duration", self.env.episode_duration, true);
        // A delay of 0 is allowed: as in MotorNet it means no lag, like one step.
        whole(
            p,
            "proprioception_delay",
            self.env.proprioception_delay,
            false,
        );
        whole(p, "vision_delay", self.env.vision_delay, false);
        if self.policy.kind == "ctrnn" && self.policy.tau.is_finite() && self.policy.tau > 0.0 {
            if let Err(what) = self.policy.alpha(dt) {
                p.push("policy", "tau", &self.policy.tau.to_string(), &what);
            }
        }
        let spatial = info.space_dim == 3;
        let planar_only = format!(
            "is planar only, but the model `{}` is spatial (dimensions 3)",
            info.name
        );
        match &self.task {
            TaskConfig::CentreOut { .. } if spatial => {
                p.push(
                    "task",
                    "kind",
                    "centre_out",
                    &format!("{planar_only}: use random_reach or delayed_reach"),
                );
            }
            TaskConfig::RandomReach { curl } if spatial && *curl != 0.0 => {
                p.push(
                    "task",
                    "curl",
                    &curl.to_string(),
                    &format!("(a field in the x–y plane) {planar_only}"),
                );
            }
            _ => {}
        }
        for (i, pert) in self.perturbations.iter().enumerate() {
            match pert.build() {
                Ok(built) if spatial && built.planar_only() => p.push(
                    &format!("perturbation {}", i + 1),
                    "kind",
                    built.kind_name(),
                    &format!(
                        "{planar_only}: in 3D only target_jump without distance and sequence apply"
                    ),
                ),
                _ => {}
            }
        }
        let Some(steps) = steps else { return };
        for (i, pert) in self.perturbations.iter().enumerate() {
            if let Ok(built) = pert.build() {
                let table = format!("perturbation {}", i + 1);
                for (key, what) in built.problems(steps, dt) {
                    p.push(&table, key, &pert.value_of(key), &what);
                }
            }
        }
        if steps > limits::MAX_STEPS {
            p.push(
                "env",
                "episode_duration",
                &self.env.episode_duration.to_string(),
                &format!(
                    "gives {steps} steps of {dt} s; at most {} are allowed",
                    limits::MAX_STEPS
                ),
            );
            return;
        }
        let r = &self.run;
        if r.eval_last_steps < 1 || r.eval_last_steps > steps {
            p.push(
                "run",
                "eval_last_steps",
                &r.eval_last_steps.to_string(),
                &format!("must be between 1 and {steps} (the steps of an episode)"),
            );
        }
        match &self.task {
            TaskConfig::CentreOut { .. } if spatial => {}
            TaskConfig::CentreOut { start_joint, .. } => {
                let bounds = plant.bounds();
                if start_joint.len() != info.dof() {
                    p.push(
                        "task",
                        "start_joint",
                        &format!("{start_joint:?}"),
                        &format!(
                            "needs one position per coordinate of `{}`: {} ({})",
                            info.name,
                            info.dof(),
                            info.coord_names.join(", ")
                        ),
                    );
                } else {
                    for ((q, b), name) in start_joint.iter().zip(bounds).zip(&info.coord_names) {
                        if !(q.is_finite() && *q >= b.lower && *q <= b.upper) {
                            p.push(
                                "task",
                                "start_joint",
                                &format!("{start_joint:?}"),
                                &format!(
                                    "`{name}` = {q} lies outside its range [{}, {}]",
                                    b.lower, b.upper
                                ),
                            );
                        }
                    }
                }
            }
            TaskConfig::DelayedReach {
                go_steps: (lo, hi), ..
            } => {
                if lo > hi || *hi > steps {
                    p.push("task", "go_steps", &format!("[{lo}, {hi}]"), &format!("must be [first, last] with first ≤ last ≤ {steps} (the episode's steps)"));
                }
            }
            TaskConfig::RandomReach { .. } => {}
        }
        // The trainer keeps every step of every episode for backpropagation through time, and the
        // evaluation keeps its episodes' paths: refuse a run that could not fit before allocating it.
        // Stacked layers and an LSTM's cell states multiply what each step records; a modular GRU keeps
        // about as much as a GRU. In floating point: the sizes asked for may be absurd enough to overflow
        // an integer.
        let (s, c, m) = (
            info.state_dim() as f64,
            info.control_dim() as f64,
            info.n_muscles() as f64,
        );
        let h = self.optim.hidden as f64;
        let layers = self
            .policy
            .layers
            .clamp(1, crate::runtime::train::MAX_LAYERS) as f64;
        let (record, gates) = match self.policy.kind.as_str() {
            "lstm" => (10.0, 4.0),
            "rnn" | "ctrnn" => (8.0, 1.0),
            _ => (8.0, 3.0),
        };
        let obs = 4.0 + 2.0 * m + self.env.action_frame_stacking as f64 * m + 1.0;
        let per_step = (s + c + m + 2.0 * obs + layers * record * h) * 8.0;
        let episodes = self.optim.batch_size.max(r.eval_episodes) as f64;
        let weights = (gates * layers * h * (h + obs + 2.0) + m * (h + 1.0)) * 8.0 * 4.0;
        let bytes =
            episodes * (steps as f64 + 1.0) * per_step + weights * self.optim.threads.max(1) as f64;
        if bytes > limits::MAX_MEMORY_BYTES {
            p.push("env", "episode_duration", &self.env.episode_duration.to_string(), &format!(
                "with batch_size {} / eval_episodes {}, hidden {} and {steps} steps, a run needs about {:.1} GiB; at most {:.0} GiB is allowed",
                self.optim.batch_size, r.eval_episodes, self.optim.hidden, bytes / (1u64 << 30) as f64, limits::MAX_MEMORY_BYTES / (1u64 << 30) as f64
            ));
        }
    }
}

/// A number, or `[low, high]` to draw uniformly from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SpanValue {
    One(f64),
    Range(Vec<f64>),
}

impl SpanValue {
    fn span(&self, scale: f64) -> Option<(f64, f64)> {
        match self {
            SpanValue::One(v) => Some((v * scale, v * scale)),
            SpanValue::Range(v) if v.len() == 2 => Some((v[0] * scale, v[1] * scale)),
            SpanValue::Range(_) => None,
        }
    }
    fn text(&self) -> String {
        match self {
            SpanValue::One(v) => v.to_string(),
            SpanValue::Range(v) => format!("{v:?}"),
        }
    }
}

/// A direction relative to the reach: an angle in degrees (0 along the reach, 90 to its left), or
/// `"orthogonal"` (left or right at random), `"left"`, `"right"`, `"along"`, `"against"`, `"random"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DirectionValue {
    Degrees(f64),
    Name(String),
}

impl DirectionValue {
    fn direction(&self) -> Option<Direction> {
        use std::f64::consts::{FRAC_PI_2, PI};
        Some(match self {
            DirectionValue::Degrees(d) => Direction::Relative(d.to_radians()),
            DirectionValue::Name(n) => match n.as_str() {
                "orthogonal" => Direction::Orthogonal,
                "left" => Direction::Relative(FRAC_PI_2),
                "right" => Direction::Relative(-FRAC_PI_2),
                "along" => Direction::Relative(0.0),
                "against" => Direction::Relative(PI),
                "random" => Direction::Random,
                _ => return None,
            },
        })
    }
    fn text(&self) -> String {
        match self {
            DirectionValue::Degrees(d) => d.to_string(),
            DirectionValue::Name(n) => format!("{n:?}"),
        }
    }
}

/// One perturbation of the schedule (a `[[perturbation]]` table): its `kind`, the `probability` that an
/// episode gets it (default 1), and the kind's settings. See docs/training.md, §5.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerturbationConfig {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// N (force_pulse, load).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub magnitude: Option<SpanValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<DirectionValue>,
    /// s (force_pulse).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onset: Option<SpanValue>,
    /// s (force_pulse).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// N·s/m (viscous).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matrix: Option<[[f64; 2]; 2]>,
    /// N·s/m (curl).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<f64>,
    /// N/m, N·s/m (channel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stiffness: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub damping: Option<f64>,
    /// s (target_jump).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<SpanValue>,
    /// m (target_jump).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance: Option<SpanValue>,
    /// degrees (visuomotor_rotation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub angle: Option<SpanValue>,
    /// sequence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<usize>,
    /// s (sequence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<f64>,
}

/// The perturbation kinds and the settings each takes (besides `kind` and `probability`): required, then
/// optional.
const PERTURBATION_KINDS: [(&str, &[&str], &[&str]); 8] = [
    (
        "force_pulse",
        &["magnitude", "onset", "duration"],
        &["direction"],
    ),
    ("load", &["magnitude", "direction"], &[]),
    ("viscous", &["matrix"], &[]),
    ("curl", &["k"], &[]),
    ("channel", &["stiffness"], &["damping"]),
    ("target_jump", &["time"], &["distance", "direction"]),
    ("visuomotor_rotation", &["angle"], &[]),
    ("sequence", &["targets", "interval"], &[]),
];

impl PerturbationConfig {
    /// The settings given, as (key, value text).
    fn given(&self) -> Vec<(&'static str, String)> {
        let mut g = Vec::new();
        let mut put = |k: &'static str, v: Option<String>| {
            if let Some(v) = v {
                g.push((k, v));
            }
        };
        put("magnitude", self.magnitude.as_ref().map(SpanValue::text));
        put(
            "direction",
            self.direction.as_ref().map(DirectionValue::text),
        );
        put("onset", self.onset.as_ref().map(SpanValue::text));
        put("duration", self.duration.map(|v| v.to_string()));
        put("matrix", self.matrix.map(|v| format!("{v:?}")));
        put("k", self.k.map(|v| v.to_string()));
        put("stiffness", self.stiffness.map(|v| v.to_string()));
        put("damping", self.damping.map(|v| v.to_string()));
        put("time", self.time.as_ref().map(SpanValue::text));
        put("distance", self.distance.as_ref().map(SpanValue::text));
        put("angle", self.angle.as_ref().map(SpanValue::text));
        put("targets", self.targets.map(|v| v.to_string()));
        put("interval", self.interval.map(|v| v.to_string()));
        g
    }

    /// The text of setting `key` as given (for messages).
    fn value_of(&self, key: &str) -> String {
        if key == "probability" {
            return self.probability.unwrap_or(1.0).to_string();
        }
        self.given()
            .into_iter()
            .find(|(k, _)| *k == key)
            .map_or_else(String::new, |(_, v)| v)
    }

    /// The runtime's perturbation, or every problem as (key, value, what is allowed).
    pub fn build(&self) -> Result<Perturbation, Vec<(&'static str, String, String)>> {
        let mut problems: Vec<(&'static str, String, String)> = Vec::new();
        let Some(&(_, required, optional)) = PERTURBATION_KINDS.iter().find(|k| k.0 == self.kind)
        else {
            let names: Vec<&str> = PERTURBATION_KINDS.iter().map(|k| k.0).collect();
            return Err(vec![(
                "kind",
                format!("{:?}", self.kind),
                format!("must be one of {}", names.join(", ")),
            )]);
        };
        let given = self.given();
        for (key, value) in &given {
            if !required.contains(key) && !optional.contains(key) {
                problems.push((
                    key,
                    value.clone(),
                    format!("is not a setting of `{}`", self.kind),
                ));
            }
        }
        for key in required {
            if !given.iter().any(|(k, _)| k == key) {
                problems.push((key, "(missing)".into(), format!("`{}` needs it", self.kind)));
            }
        }
        let probability = self.probability.unwrap_or(1.0);
        if !(0.0..=1.0).contains(&probability) {
            problems.push((
                "probability",
                probability.to_string(),
                "must be a probability in [0, 1]".into(),
            ));
        }
        let span = |problems: &mut Vec<_>, key: &'static str, v: &Option<SpanValue>, scale| {
            let s = v.as_ref().and_then(|v| v.span(scale));
            if s.is_none() {
                if let Some(v) = v {
                    problems.push((key, v.text(), "must be a number or [low, high]".to_string()));
                }
            }
            s.unwrap_or((0.0, 0.0))
        };
        let direction = |problems: &mut Vec<_>, default: Direction| {
            match &self.direction {
            None => default,
            Some(d) => d.direction().unwrap_or_else(|| {
                problems.push((
                    "direction",
                    d.text(),
                    "must be an angle in degrees or one of \"orthogonal\", \"left\", \"right\", \"along\", \"against\", \"random\"".to_string(),
                ));
                default
            }),
        }
        };
        let kind = match self.kind.as_str() {
            "force_pulse" => Kind::ForcePulse {
                magnitude: span(&mut problems, "magnitude", &self.magnitude, 1.0),
                direction: direction(&mut problems, Direction::Orthogonal),
                onset: span(&mut problems, "onset", &self.onset, 1.0),
                duration: self.duration.unwrap_or(0.0),
            },
            "load" => Kind::Load {
                magnitude: span(&mut problems, "magnitude", &self.magnitude, 1.0),
                direction: direction(&mut problems, Direction::Relative(0.0)),
            },
            "viscous" => Kind::Viscous {
                matrix: self.matrix.unwrap_or_default(),
            },
            "curl" => Kind::Curl {
                k: self.k.unwrap_or(0.0),
            },
            "channel" => Kind::Channel {
                stiffness: self.stiffness.unwrap_or(0.0),
                damping: self.damping.unwrap_or(0.0),
            },
            "target_jump" => {
                if self.direction.is_some() && self.distance.is_none() {
                    problems.push((
                        "direction",
                        self.value_of("direction"),
                        "needs `distance` (without it the target jumps to a new random target)"
                            .into(),
                    ));
                }
                Kind::TargetJump {
                    time: span(&mut problems, "time", &self.time, 1.0),
                    distance: self
                        .distance
                        .as_ref()
                        .map(|_| span(&mut problems, "distance", &self.distance, 1.0)),
                    direction: direction(&mut problems, Direction::Orthogonal),
                }
            }
            "visuomotor_rotation" => Kind::VisuomotorRotation {
                angle: span(&mut problems, "angle", &self.angle, 1f64.to_radians()),
            },
            "sequence" => Kind::Sequence {
                targets: self.targets.unwrap_or(0),
                interval: self.interval.unwrap_or(0.0),
            },
            _ => unreachable!("the kind was found above"),
        };
        let built = Perturbation { probability, kind };
        // The checks that need no model (finite values, ordered ranges); those against the episode's
        // length and time step come with the model.
        for (key, what) in built.problems(0, 0.0) {
            if !problems.iter().any(|p| p.0 == key) && given.iter().any(|g| g.0 == key) {
                problems.push((key, self.value_of(key), what));
            }
        }
        if problems.is_empty() {
            Ok(built)
        } else {
            Err(problems)
        }
    }
}

/// Problems found in a configuration, in the order found.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn push(&mut self, table: &str, key: &str, value: &str, what: &str) {
        let value = crate::input::shorten(value, 80);
        let at = if table.is_empty() {
            key.to_string()
        } else {
            format!("[{table}] {key}")
        };
        self.0.push(format!("{at} = {value}: {what}"));
    }
    fn finite(&mut self, table: &str, key: &str, v: f64) {
        if !v.is_finite() {
            self.push(table, key, &v.to_string(), "must be a finite number");
        }
    }
    fn non_negative(&mut self, table: &str, key: &str, v: f64) {
        if !(v.is_finite() && v >= 0.0) {
            self.push(table, key, &v.to_string(), "must be a finite number ≥ 0");
        }
    }
    fn positive(&mut self, table: &str, key: &str, v: f64) {
        if !(v.is_finite() && v > 0.0) {
            self.push(table, key, &v.to_string(), "must be a finite number > 0");
        }
    }
    fn one_of(&mut self, table: &str, key: &str, v: &str, allowed: &[&str]) {
        if !allowed.contains(&v) {
            let what = format!("must be {}", alternatives(allowed));
            self.push(table, key, &format!("{v:?}"), &what);
        }
    }
    fn in_count(&mut self, table: &str, key: &str, v: usize, lo: usize, hi: usize) {
        if v < lo || v > hi {
            let range = if hi == usize::MAX {
                format!("must be at least {lo}")
            } else {
                format!("must be between {lo} and {hi}")
            };
            self.push(table, key, &v.to_string(), &range);
        }
    }
    fn at_most(&mut self, table: &str, key: &str, v: usize, hi: usize) {
        self.in_count(table, key, v, 0, hi);
    }
    fn into_result(self) -> Result<(), Error> {
        match self.0.len() {
            0 => Ok(()),
            n => Err(Error::Input(format!(
                "configuration: {n} problem{}:\n  {}",
                if n == 1 { "" } else { "s" },
                self.0.join("\n  ")
            ))),
        }
    }
}
