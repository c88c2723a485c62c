//! Which network the trainer builds: [`PolicyConfig`], the `[policy]` table of a configuration file, its
//! checks, and the [`NetworkSpec`] it gives for an environment.

use super::{ModularMasks, ModularSpec, NetworkSpec};
use crate::env::Environment;
use crate::plant::Plant;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The network kinds [`PolicyConfig::kind`] accepts.
pub const POLICY_KINDS: [&str; 5] = ["gru", "rnn", "lstm", "ctrnn", "modular_gru"];

/// Most stacked layers a policy may have.
pub const MAX_LAYERS: usize = 64;

/// Longest connection delay of a modular GRU, in steps.
pub const MAX_DELAY_STEPS: usize = 1_000_000;

/// Which recurrent network the trainer builds (`[policy]` in a configuration file). Every layer has
/// [`crate::train::OptimConfig::hidden`] units; the default is MotorNet's one-layer `PolicyGRU`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    /// `gru`, `rnn` (Elman), `lstm`, `ctrnn` (leaky continuous-time RNN) or `modular_gru` (MotorNet's
    /// `ModularPolicyGRU`).
    pub kind: String,
    /// Stacked recurrent layers (`gru`, `rnn`, `lstm`, `ctrnn`); `modular_gru` has one.
    pub layers: usize,
    /// `rnn` only: `tanh` or `relu`.
    pub nonlinearity: String,
    /// `ctrnn` only: the units' time constant in seconds; each step moves the state by `α = dt/τ` (the
    /// model's time step over τ) towards its target, so τ must be at least one time step.
    pub tau: f64,
    /// `modular_gru`: units per module (consecutive blocks of the hidden state), adding up to
    /// `[optim] hidden`. Default: one module of every unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module_size: Option<Vec<usize>>,
    /// `modular_gru`, one probability per module: that a unit of the module receives each visual input
    /// (the endpoint's position). Default 1 for every module.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vision_mask: Option<Vec<f64>>,
    /// `modular_gru`, per module: that a unit receives each proprioceptive input (muscle lengths and
    /// velocities, and stacked past actions). Default 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proprio_mask: Option<Vec<f64>>,
    /// `modular_gru`, per module: that a unit receives each task input (the goal and the go cue).
    /// Default 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_mask: Option<Vec<f64>>,
    /// `modular_gru`: `connectivity_mask[i][j]` is the fraction of module `j`'s units that project to
    /// module `i` (modules × modules). Default 1 everywhere (fully connected).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connectivity_mask: Option<Vec<Vec<f64>>>,
    /// `modular_gru`: `connectivity_delay[i][j]` is the delay, in steps, with which module `i` sees
    /// module `j` (modules × modules). Default 0 everywhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connectivity_delay: Option<Vec<Vec<usize>>>,
    /// `modular_gru`, per module: probability that each output (muscle) reads each unit of the module.
    /// Default 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_mask: Option<Vec<f64>>,
    /// `modular_gru`, Dale's law: per module, the probability that a unit is excitatory (its outgoing
    /// recurrent weights stay ≥ 0; the others' stay ≤ 0). Default: no sign constraint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proportion_excitatory: Option<Vec<f64>>,
    /// `modular_gru`: at initialisation, scale the recurrent weights of the candidate state so that the
    /// largest real part of their eigenvalues is this value. Default: no scaling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spectral_scaling: Option<f64>,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            kind: "gru".into(),
            layers: 1,
            nonlinearity: "tanh".into(),
            tau: 0.1,
            module_size: None,
            vision_mask: None,
            proprio_mask: None,
            task_mask: None,
            connectivity_mask: None,
            connectivity_delay: None,
            output_mask: None,
            proportion_excitatory: None,
            spectral_scaling: None,
        }
    }
}

/// One problem with a [`PolicyConfig`]: the key, its value, and what is allowed.
pub type PolicyProblem = (&'static str, String, String);

impl PolicyConfig {
    fn is_modular(&self) -> bool {
        self.kind == "modular_gru"
    }

    /// The modular GRU's settings that were given, by key.
    fn modular_keys(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut key = |name: &'static str, given: Option<String>| {
            if let Some(v) = given {
                out.push((name, v));
            }
        };
        key(
            "module_size",
            self.module_size.as_ref().map(|v| format!("{v:?}")),
        );
        key(
            "vision_mask",
            self.vision_mask.as_ref().map(|v| format!("{v:?}")),
        );
        key(
            "proprio_mask",
            self.proprio_mask.as_ref().map(|v| format!("{v:?}")),
        );
        key(
            "task_mask",
            self.task_mask.as_ref().map(|v| format!("{v:?}")),
        );
        key(
            "connectivity_mask",
            self.connectivity_mask.as_ref().map(|v| format!("{v:?}")),
        );
        key(
            "connectivity_delay",
            self.connectivity_delay.as_ref().map(|v| format!("{v:?}")),
        );
        key(
            "output_mask",
            self.output_mask.as_ref().map(|v| format!("{v:?}")),
        );
        key(
            "proportion_excitatory",
            self.proportion_excitatory
                .as_ref()
                .map(|v| format!("{v:?}")),
        );
        key(
            "spectral_scaling",
            self.spectral_scaling.map(|v| v.to_string()),
        );
        out
    }

    /// The modules of a modular GRU of `hidden` units (one module unless `module_size` says otherwise).
    fn modules(&self, hidden: usize) -> Vec<usize> {
        self.module_size.clone().unwrap_or_else(|| vec![hidden])
    }

    /// Every problem that needs no model, for a policy whose layers have `hidden` units: each as (key,
    /// value, what is allowed). Empty when the settings are consistent.
    pub fn problems(&self, hidden: usize) -> Vec<PolicyProblem> {
        let mut p: Vec<PolicyProblem> = Vec::new();
        let mut push = |key: &'static str, value: String, what: String| p.push((key, value, what));
        if !POLICY_KINDS.contains(&self.kind.as_str()) {
            push(
                "kind",
                format!("{:?}", self.kind),
                format!(
                    "must be one of {}",
                    POLICY_KINDS.map(|k| format!("\"{k}\"")).join(", ")
                ),
            );
        }
        if self.is_modular() {
            if self.layers != 1 {
                push(
                    "layers",
                    self.layers.to_string(),
                    "must be 1 for kind = \"modular_gru\" (its modules are one layer)".into(),
                );
            }
        } else if self.layers < 1 || self.layers > MAX_LAYERS {
            push(
                "layers",
                self.layers.to_string(),
                format!("must be between 1 and {MAX_LAYERS}"),
            );
        }
        if !matches!(self.nonlinearity.as_str(), "tanh" | "relu") {
            push(
                "nonlinearity",
                format!("{:?}", self.nonlinearity),
                "must be \"tanh\" or \"relu\"".into(),
            );
        } else if self.nonlinearity != "tanh" && self.kind != "rnn" {
            push(
                "nonlinearity",
                format!("{:?}", self.nonlinearity),
                "applies only to kind = \"rnn\" (the other networks have fixed nonlinearities)"
                    .into(),
            );
        }
        if !(self.tau.is_finite() && self.tau > 0.0) {
            push(
                "tau",
                self.tau.to_string(),
                "must be a finite number of seconds > 0".into(),
            );
        }
        if !self.is_modular() {
            for (key, value) in self.modular_keys() {
                push(key, value, "applies only to kind = \"modular_gru\"".into());
            }
            return p;
        }
        let modules = self.modules(hidden);
        let m = modules.len();
        if let Some(sizes) = &self.module_size {
            if sizes.is_empty() || sizes.contains(&0) {
                push(
                    "module_size",
                    format!("{sizes:?}"),
                    "must list at least one module, each of at least one unit".into(),
                );
            } else if sizes.iter().sum::<usize>() != hidden {
                push(
                    "module_size",
                    format!("{sizes:?}"),
                    format!(
                        "the modules add up to {} units, but [optim] hidden = {hidden}: they must agree",
                        sizes.iter().sum::<usize>()
                    ),
                );
            }
        }
        let probability = |v: &f64| v.is_finite() && (0.0..=1.0).contains(v);
        for (key, given) in [
            ("vision_mask", &self.vision_mask),
            ("proprio_mask", &self.proprio_mask),
            ("task_mask", &self.task_mask),
            ("output_mask", &self.output_mask),
            ("proportion_excitatory", &self.proportion_excitatory),
        ] {
            if let Some(v) = given {
                if v.len() != m {
                    push(
                        key,
                        format!("{v:?}"),
                        format!("needs one probability per module ({m})"),
                    );
                } else if !v.iter().all(probability) {
                    push(
                        key,
                        format!("{v:?}"),
                        "probabilities must lie in [0, 1]".into(),
                    );
                }
            }
        }
        let square = |rows: usize, cols: &dyn Fn(usize) -> usize| {
            rows == m && (0..rows).all(|r| cols(r) == m)
        };
        if let Some(c) = &self.connectivity_mask {
            if !square(c.len(), &|r| c[r].len()) {
                push(
                    "connectivity_mask",
                    format!("{c:?}"),
                    format!("must be modules × modules ({m} × {m})"),
                );
            } else if !c.iter().flatten().all(probability) {
                push(
                    "connectivity_mask",
                    format!("{c:?}"),
                    "fractions must lie in [0, 1]".into(),
                );
            }
        }
        if let Some(s) = self.spectral_scaling {
            if !(s.is_finite() && s > 0.0) {
                push(
                    "spectral_scaling",
                    s.to_string(),
                    "must be a positive number (the largest real eigenvalue wanted)".into(),
                );
            }
        }
        if let Some(d) = &self.connectivity_delay {
            if !square(d.len(), &|r| d[r].len()) {
                push(
                    "connectivity_delay",
                    format!("{d:?}"),
                    format!("must be modules × modules ({m} × {m}), in steps"),
                );
            } else if d.iter().flatten().any(|&k| k > MAX_DELAY_STEPS) {
                push(
                    "connectivity_delay",
                    format!("{d:?}"),
                    format!("delays are steps, at most {MAX_DELAY_STEPS}"),
                );
            }
        }
        p
    }

    /// `ctrnn`'s `α = dt/τ` for a model with time step `dt`; an error unless it lies in (0, 1].
    pub fn alpha(&self, dt: f64) -> Result<f64, String> {
        let alpha = dt / self.tau;
        if alpha > 0.0 && alpha <= 1.0 && alpha.is_finite() {
            Ok(alpha)
        } else {
            Err(format!(
                "must be at least the model's time step {dt} s (α = dt/τ = {alpha} must lie in (0, 1])"
            ))
        }
    }

    /// The network to build for `hidden` units per layer in `env`. A modular GRU's masks are drawn from
    /// the connection probabilities with a stream of `seed` of their own (so the same seed gives the same
    /// masks, and drawing them leaves the weights' stream as it was).
    pub fn network_spec<P: Plant>(
        &self,
        hidden: usize,
        env: &Environment<P>,
        seed: u64,
    ) -> Result<NetworkSpec, String> {
        let problems = self.problems(hidden);
        if !problems.is_empty() {
            let list: Vec<String> = problems
                .into_iter()
                .map(|(k, v, what)| format!("[policy] {k} = {v}: {what}"))
                .collect();
            return Err(list.join("; "));
        }
        let layers = self.layers;
        Ok(match self.kind.as_str() {
            "gru" => NetworkSpec::Gru { hidden, layers },
            "rnn" => NetworkSpec::Rnn {
                hidden,
                layers,
                relu: self.nonlinearity == "relu",
            },
            "lstm" => NetworkSpec::Lstm { hidden, layers },
            "ctrnn" => NetworkSpec::Ctrnn {
                hidden,
                layers,
                alpha: self
                    .alpha(env.plant.timestep())
                    .map_err(|e| format!("[policy] tau = {}: {e}", self.tau))?,
            },
            _ => {
                let modules = self.modules(hidden);
                let m = modules.len();
                let [vision_dim, proprio_dim, task_dim] = env.modalities();
                let ones = |v: &Option<Vec<f64>>| v.clone().unwrap_or_else(|| vec![1.0; m]);
                let masks = ModularMasks {
                    vision_dim,
                    proprio_dim,
                    task_dim,
                    vision_mask: ones(&self.vision_mask),
                    proprio_mask: ones(&self.proprio_mask),
                    task_mask: ones(&self.task_mask),
                    connectivity_mask: self
                        .connectivity_mask
                        .clone()
                        .unwrap_or_else(|| vec![vec![1.0; m]; m]),
                    output_mask: ones(&self.output_mask),
                    proportion_excitatory: self.proportion_excitatory.clone(),
                };
                let delay = self
                    .connectivity_delay
                    .clone()
                    .unwrap_or_else(|| vec![vec![0; m]; m]);
                const KEY: u64 = 0x6d_6173_6b73; // "masks"
                let mut rng = ChaCha8Rng::seed_from_u64(seed ^ KEY);
                let mut spec = ModularSpec::generate(
                    env.obs_dim(),
                    modules,
                    env.n_muscles(),
                    delay,
                    &masks,
                    &mut rng,
                )?;
                spec.spectral_scaling = self.spectral_scaling;
                NetworkSpec::ModularGru(spec)
            }
        })
    }
}
