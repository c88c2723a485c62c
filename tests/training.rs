//! Training: the BPTT gradient of the whole pipeline against finite differences, that training learns,
//! resuming, reproducibility, non-finite values, evaluation, configuration files and delay semantics.
//!
//! One concept, the training pipeline end to end, whose cases share one set of helpers (a tiny trainer,
//! episodes, run directories): hence one file beyond the usual size.
//!
//! Everything here runs in debug builds (CI runs `cargo test --workspace` without `--release`), so the
//! networks, batches and episodes are kept tiny.

use motornet::models;
use motornet::runtime::env::{Batch, EnvConfig, Environment};
use motornet::runtime::gru::load_safetensors;
use motornet::runtime::policy::Policy;
use motornet::runtime::task::ChaCha8Rng;
use motornet::runtime::task::{
    curl_field, Cartesian, DelayedReach, Episode, Load, RandomReach, Task, TaskContext,
};
use motornet::runtime::train::{episode_rng, LossConfig, OptimConfig, Trainer};
use motornet::training::{
    evaluate_run, train, Hooks, Outcome, RunConfig, Summary, TaskConfig, TrainConfig,
};
use motornet::Plant;
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A small deterministic generator (SplitMix64) to pick parameters and operating points.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

fn plant(name: &str) -> Box<dyn Plant> {
    models::compiled(name).expect("a built-in model")
}

fn trainer(
    model: &'static str,
    task: impl Fn() -> Box<dyn Task> + 'static,
    env: EnvConfig,
    loss: LossConfig,
    optim: OptimConfig,
) -> Trainer<Box<dyn Plant>> {
    Trainer::new(move || plant(model), task, env, loss, optim).expect("a valid trainer")
}

// ------------------------------------------------------------------------------------------------
// The BPTT gradient of the whole pipeline against central finite differences.

/// Episodes from chosen joint states (mid-range, moving, so that nothing sits on a joint limit and the
/// velocity-dependent field acts from the first step).
fn episodes(plant: &dyn Plant, joints: &[[f64; 4]], targets: &[[f64; 2]]) -> Vec<Episode> {
    episodes_with_cue(plant, joints, targets, &[])
}

/// Episodes whose go cue comes at `go[b]` (none when `go` is shorter).
fn episodes_with_cue(
    plant: &dyn Plant,
    joints: &[[f64; 4]],
    targets: &[[f64; 2]],
    go: &[usize],
) -> Vec<Episode> {
    let ctx = TaskContext { plant, steps: 5 };
    joints
        .iter()
        .zip(targets)
        .enumerate()
        .map(|(b, (j, t))| {
            Episode::new(
                j.to_vec(),
                ctx.endpoint(j),
                [t[0], t[1], 0.0],
                go.get(b).copied(),
            )
        })
        .collect()
}

struct GradCase {
    model: &'static str,
    curl: f64,
    env: EnvConfig,
    loss: LossConfig,
    joints: Vec<[f64; 4]>,
    targets: Vec<[f64; 2]>,
    /// Go-cue steps (a delayed-reach task, whose network sees the cue), or empty (random reaches).
    go: Vec<usize>,
    deterministic: bool,
}

/// What a gradient check found.
struct GradCheck {
    /// Largest relative error among the derivatives well above the resolution of finite differences.
    worst: f64,
    /// How many derivatives were well resolved, of how many checked.
    resolved: usize,
    total: usize,
    /// Derivatives outside the tolerance.
    failures: Vec<String>,
}

impl GradCheck {
    fn assert_passed(&self, what: &str) {
        eprintln!(
            "{what}: largest relative error {:.1e} ({} of {} derivatives resolved)",
            self.worst, self.resolved, self.total
        );
        assert!(
            self.failures.is_empty(),
            "{what}: {}",
            self.failures.join("; ")
        );
        assert!(
            self.resolved >= self.total / 2,
            "{what}: only {} of {} derivatives resolved",
            self.resolved,
            self.total
        );
    }
}

/// Checks `n` random parameters (and every readout bias) of a tiny policy.
fn gradient_check(case: &GradCase, n: usize, seed: u64) -> GradCheck {
    let (curl, cue) = (case.curl, !case.go.is_empty());
    gradient_check_with(case, n, seed, move || -> Box<dyn Task> {
        if cue {
            Box::new(DelayedReach {
                go_steps: (1, 4),
                catch_probability: 0.0,
            })
        } else {
            Box::new(RandomReach { curl })
        }
    })
}

fn gradient_check_with(
    case: &GradCase,
    n: usize,
    seed: u64,
    task: impl Fn() -> Box<dyn Task> + 'static,
) -> GradCheck {
    let optim = OptimConfig {
        hidden: 6,
        batch_size: case.joints.len(),
        seed,
        ..OptimConfig::default()
    };
    let mut tr = trainer(case.model, task, case.env.clone(), case.loss.clone(), optim);
    // Move the operating point away from the initialisation's near-silent readout (fc.bias = −5), so that
    // the muscles are clearly active, and give the GRU biases non-zero values.
    let mut rng = Rng(seed + 100);
    let specs = tr.policy.tensors();
    for spec in &specs {
        for k in spec.range() {
            let p = &mut tr.policy.params_mut()[k];
            match spec.name.as_str() {
                "fc.bias" => *p = -1.5 + 0.5 * rng.uniform(),
                "gru.bias_ih_l0" | "gru.bias_hh_l0" => *p = 0.2 * (rng.uniform() - 0.5),
                _ => *p *= 1.0 + 0.2 * (rng.uniform() - 0.5),
            }
        }
    }
    let eps = episodes_with_cue(&*plant(case.model), &case.joints, &case.targets, &case.go);
    let batch_index = 7;
    let (stats, grad) = tr
        .loss_and_gradient(&eps, batch_index, case.deterministic)
        .unwrap();
    for (name, v) in &stats.terms {
        assert!(
            *v != 0.0 && v.is_finite(),
            "{}: loss term {name} = {v}",
            case.model
        );
    }
    let mut indices: Vec<usize> = (0..n).map(|_| rng.below(tr.policy.param_count())).collect();
    let fc_bias = specs.iter().find(|s| s.name == "fc.bias").unwrap();
    indices.extend(fc_bias.range());
    let mut worst = 0.0f64;
    let (mut resolved, total) = (0, indices.len());
    let mut failures = Vec::new();
    for k in indices {
        let p0 = tr.policy.params()[k];
        // The loss is computed to ~1e-13 relative (the plant's arithmetic, and the jerk's third difference
        // divided by dt³), which limits how small h can be; the activation dynamics switch time constants
        // where excitation crosses activation, and such a switch can lie within 1e-3 of the operating
        // point, which limits how large it can be.
        let h = 1e-5 * p0.abs().max(1.0);
        let loss_at = |p: f64, tr: &mut Trainer<Box<dyn Plant>>| {
            tr.policy.params_mut()[k] = p;
            let (s, _) = tr
                .loss_and_gradient(&eps, batch_index, case.deterministic)
                .unwrap();
            s.loss
        };
        // Truncation error O(h⁴), rounding O(1e-13·L/h).
        let (l1, l2) = (loss_at(p0 + h, &mut tr), loss_at(p0 + 2.0 * h, &mut tr));
        let (m1, m2) = (loss_at(p0 - h, &mut tr), loss_at(p0 - 2.0 * h, &mut tr));
        tr.policy.params_mut()[k] = p0;
        let fd = (8.0 * (l1 - m1) - (l2 - m2)) / (12.0 * h);
        let scale = grad[k].abs().max(fd.abs());
        let floor = 1e-12 * stats.loss / h;
        let err = (grad[k] - fd).abs();
        if err > 1e-5 * scale + floor {
            failures.push(format!(
                "d loss / d param {k} is {:e} by BPTT but {:e} by finite differences",
                grad[k], fd
            ));
        }
        if scale > 1e3 * floor {
            worst = worst.max(err / scale);
            resolved += 1;
        }
    }
    GradCheck {
        worst,
        resolved,
        total,
        failures,
    }
}

fn all_terms() -> LossConfig {
    LossConfig {
        position: 1.0,
        position_norm: "l1".into(),
        activation: 0.5,
        activation_scale: "none".into(),
        force: 1e-6,
        hidden: 0.1,
        hidden_derivative: 0.5,
        speed: 0.2,
        jerk: 1e-7,
        weight: 0.01,
    }
}

fn delayed_env() -> EnvConfig {
    EnvConfig {
        episode_duration: 0.05,
        proprioception_delay: 0.02,
        vision_delay: 0.03,
        action_frame_stacking: 1,
        ..EnvConfig::default()
    }
}

#[test]
fn bptt_gradient_matches_finite_differences_arm26() {
    for curl in [0.0, 30.0] {
        let case = GradCase {
            model: "arm26",
            curl,
            env: delayed_env(),
            loss: all_terms(),
            joints: vec![[0.8, 1.2, 0.5, -0.3], [0.5, 1.6, -0.4, 0.6]],
            targets: vec![[0.0, 0.45], [-0.1, 0.3]],
            go: vec![],
            deterministic: true,
        };
        gradient_check(&case, 24, 1).assert_passed(&format!("arm26, curl {curl}"));
    }
}

#[test]
fn bptt_gradient_matches_finite_differences_pointmass() {
    for curl in [0.0, 5.0] {
        let case = GradCase {
            model: "pointmass24_relu",
            curl,
            env: delayed_env(),
            loss: LossConfig {
                position_norm: "l2".into(),
                ..all_terms()
            },
            joints: vec![
                [0.1, -0.2, 0.3, 0.1],
                [-0.3, 0.25, -0.2, 0.4],
                [0.0, 0.4, 0.1, -0.5],
            ],
            targets: vec![[0.3, 0.1], [-0.5, -0.2], [0.2, 0.2]],
            go: vec![],
            deterministic: true,
        };
        gradient_check(&case, 24, 2).assert_passed(&format!("pointmass24_relu, curl {curl}"));
    }
}

/// Each loss term alone (so that a wrong term cannot hide behind a larger one), and the noisy path: the
/// noise of a batch is a function of (seed, batch, episode), so finite differences see the same noise.
#[test]
fn bptt_gradient_of_each_loss_term_and_with_noise() {
    let none = LossConfig {
        position: 0.0,
        ..LossConfig::default()
    };
    let single: [(&str, LossConfig); 9] = [
        ("position", LossConfig::default()),
        (
            "activation",
            LossConfig {
                activation: 1.0,
                ..none.clone()
            },
        ),
        (
            "activation scaled by max_force",
            LossConfig {
                activation: 1.0,
                activation_scale: "max_force".into(),
                ..none.clone()
            },
        ),
        (
            "force",
            LossConfig {
                force: 1e-6,
                ..none.clone()
            },
        ),
        (
            "hidden",
            LossConfig {
                hidden: 1.0,
                ..none.clone()
            },
        ),
        (
            "hidden_derivative",
            LossConfig {
                hidden_derivative: 1.0,
                ..none.clone()
            },
        ),
        (
            "speed",
            LossConfig {
                speed: 1.0,
                ..none.clone()
            },
        ),
        (
            "jerk",
            LossConfig {
                jerk: 1e-6,
                ..none.clone()
            },
        ),
        (
            "weight",
            LossConfig {
                weight: 0.1,
                ..none.clone()
            },
        ),
    ];
    for (name, loss) in single {
        let case = GradCase {
            model: "arm26",
            curl: 20.0,
            env: delayed_env(),
            loss,
            joints: vec![[0.9, 1.3, 0.2, 0.4]],
            targets: vec![[0.1, 0.4]],
            go: vec![],
            deterministic: true,
        };
        gradient_check(&case, 8, 3).assert_passed(&format!("{name} alone"));
    }
    let noisy = GradCase {
        model: "arm26",
        curl: 20.0,
        env: EnvConfig {
            action_noise: 1e-3,
            proprioception_noise: 1e-3,
            vision_noise: 1e-3,
            observation_noise: 1e-3,
            hidden_noise: 1e-2,
            ..delayed_env()
        },
        loss: all_terms(),
        joints: vec![[0.8, 1.2, 0.5, -0.3], [0.5, 1.6, -0.4, 0.6]],
        targets: vec![[0.0, 0.45], [-0.1, 0.3]],
        go: vec![],
        deterministic: false,
    };
    gradient_check(&noisy, 12, 4).assert_passed("with noise");
    // A go cue (an extra input) and an aim that switches from the start to the target; the third episode
    // is a catch trial.
    let delayed = GradCase {
        model: "arm26",
        curl: 0.0,
        env: delayed_env(),
        loss: all_terms(),
        joints: vec![
            [0.8, 1.2, 0.5, -0.3],
            [0.5, 1.6, -0.4, 0.6],
            [0.9, 1.3, 0.2, 0.4],
        ],
        targets: vec![[0.0, 0.45], [-0.1, 0.3], [0.1, 0.4]],
        go: vec![2, 4, usize::MAX],
        deterministic: true,
    };
    gradient_check(&delayed, 12, 5).assert_passed("with a go cue");
}

/// A curl field whose derivative the task forgets to report.
struct CurlWithoutDerivative(f64);

impl Task for CurlWithoutDerivative {
    fn name(&self) -> String {
        "curl_without_derivative".into()
    }
    fn draw(&self, ctx: &TaskContext, batch: usize, rng: &mut ChaCha8Rng) -> Vec<Episode> {
        RandomReach::default().draw(ctx, batch, rng)
    }
    fn endpoint_load(&self, _t: usize, _e: &Episode, c: &Cartesian) -> Load {
        (curl_field(self.0, c).0, [[0.0; 6]; 3])
    }
}

#[test]
fn activation_scaled_by_max_force_weighs_each_muscle_by_its_relative_strength() {
    use motornet::runtime::train::activation_weights;
    let arm = plant("arm26");
    let info = arm.info();
    let force = |m: &str| arm.params()[info.param_index(&format!("{m}.max_force")).unwrap()];
    let forces: Vec<f64> = info.muscle_names.iter().map(|m| force(m)).collect();
    let mean = forces.iter().sum::<f64>() / forces.len() as f64;
    let scaled = LossConfig {
        activation_scale: "max_force".into(),
        ..LossConfig::default()
    };
    let w = activation_weights(&scaled, &*arm).unwrap();
    assert_eq!(w.len(), forces.len());
    for (wm, f) in w.iter().zip(&forces) {
        assert!((wm - f / mean).abs() < 1e-15, "{wm} vs {}", f / mean);
    }
    assert!(
        w.iter().any(|&x| (x - 1.0).abs() > 0.1),
        "arm26's muscles differ in strength: {w:?}"
    );
    assert_eq!(
        activation_weights(&LossConfig::default(), &*arm).unwrap(),
        vec![1.0; forces.len()]
    );

    // The term itself, from the activations of the same (deterministic) batch: Σ w_m² a² over
    // steps 1..=T, episodes and muscles, divided by T·B·M.
    let mut tr = trainer(
        "arm26",
        || -> Box<dyn Task> { Box::new(RandomReach { curl: 0.0 }) },
        EnvConfig::default(),
        LossConfig {
            position: 0.0,
            activation: 1.0,
            ..scaled
        },
        OptimConfig {
            hidden: 6,
            batch_size: 2,
            ..OptimConfig::default()
        },
    );
    let eps = episodes(
        &*arm,
        &[[0.8, 1.2, 0.0, 0.0], [0.5, 1.6, 0.0, 0.0]],
        &[[0.0, 0.45], [-0.1, 0.3]],
    );
    let (stats, _) = tr.loss_and_gradient(&eps, 0, true).unwrap();
    let reported = stats
        .terms
        .iter()
        .find(|(n, _)| *n == "activation")
        .unwrap()
        .1;
    let r = tr.rollout(&eps).unwrap();
    let (steps, musc, m) = (r.steps(), info.muscle().start, forces.len());
    let (mut weighted, mut plain) = (0.0, 0.0);
    for t in 1..=steps {
        for b in 0..eps.len() {
            for (k, wk) in w.iter().enumerate() {
                let a = r.state(t, b)[musc + k];
                weighted += wk * wk * a * a;
                plain += a * a;
            }
        }
    }
    let count = (steps * eps.len() * m) as f64;
    assert!(
        (reported - weighted / count).abs() <= 1e-12 * reported,
        "{reported} vs {}",
        weighted / count
    );
    assert!(
        (reported - plain / count).abs() > 1e-3 * reported,
        "the scaling changed nothing"
    );
}

#[test]
fn a_trainer_refuses_an_unknown_loss_choice_naming_the_alternatives() {
    for (loss, message) in [
        (
            LossConfig {
                position_norm: "l3".into(),
                ..LossConfig::default()
            },
            r#"loss.position_norm must be "l1" or "l2", not "l3""#,
        ),
        (
            LossConfig {
                activation_scale: "strength".into(),
                ..LossConfig::default()
            },
            r#"loss.activation_scale must be "none" or "max_force", not "strength""#,
        ),
    ] {
        let err = Trainer::new(
            || plant("arm26"),
            || -> Box<dyn Task> { Box::new(RandomReach { curl: 0.0 }) },
            EnvConfig::default(),
            loss,
            OptimConfig::default(),
        )
        .err()
        .expect("refused")
        .to_string();
        assert!(err.contains(message), "{err}");
    }
}

/// The check has teeth: leaving out one path of the gradient — the curl field's dependence on the
/// endpoint velocity — is caught.
#[test]
fn the_gradient_check_catches_a_missing_derivative() {
    let case = GradCase {
        model: "arm26",
        curl: 30.0,
        env: delayed_env(),
        loss: all_terms(),
        joints: vec![[0.8, 1.2, 0.5, -0.3], [0.5, 1.6, -0.4, 0.6]],
        targets: vec![[0.0, 0.45], [-0.1, 0.3]],
        go: vec![],
        deterministic: true,
    };
    let check = gradient_check_with(&case, 12, 1, || Box::new(CurlWithoutDerivative(30.0)));
    assert!(
        check.failures.len() >= check.total / 2,
        "only {} of {} derivatives flagged",
        check.failures.len(),
        check.total
    );
    // With the derivative the same operating point passes.
    gradient_check(&case, 12, 1).assert_passed("arm26, curl 30, same operating point");
}

// ------------------------------------------------------------------------------------------------
// Training lowers the loss.

#[test]
fn training_lowers_the_loss() {
    // The point mass learns within a few dozen batches; the arm needs hundreds before its loss moves.
    let env = EnvConfig {
        episode_duration: 0.5,
        ..EnvConfig::default()
    };
    let optim = OptimConfig {
        hidden: 16,
        batch_size: 16,
        learning_rate: 1e-2,
        seed: 5,
        ..OptimConfig::default()
    };
    let mut tr = trainer(
        "pointmass24_relu",
        || Box::new(RandomReach::default()),
        env,
        LossConfig::default(),
        optim,
    );
    let losses: Vec<f64> = (0..40).map(|b| tr.train_batch(b).unwrap().loss).collect();
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    let (first, last) = (mean(&losses[..5]), mean(&losses[35..]));
    eprintln!("mean loss of the first five batches {first:.4}, of the last five {last:.4}");
    assert!(
        last < 0.75 * first,
        "mean loss of the first five batches {first}, of the last five {last}: {losses:?}"
    );
}

// ------------------------------------------------------------------------------------------------
// Run directories: a small configuration, and helpers to read what a run wrote.

fn small_config(batches: u64) -> TrainConfig {
    TrainConfig {
        model: "arm26".into(),
        env: EnvConfig {
            episode_duration: 0.2,
            action_noise: 0.01,
            proprioception_noise: 0.001,
            ..EnvConfig::default()
        },
        optim: OptimConfig {
            hidden: 8,
            batch_size: 4,
            learning_rate: 3e-3,
            seed: 11,
            threads: 2,
            ..OptimConfig::default()
        },
        run: RunConfig {
            batches,
            eval_every: 2,
            eval_episodes: 6,
            eval_last_steps: 5,
            checkpoint_every: 3,
            target_metric: 0.0,
        },
        ..TrainConfig::default()
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "motornet-training-test-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Trains in `dir`; `stop_after` simulates Ctrl-C once that many batches are done.
fn run(
    dir: &Path,
    cfg: &TrainConfig,
    resume: bool,
    stop_after: Option<u64>,
) -> Result<(Outcome, Summary), motornet::Error> {
    let done = Cell::new(0u64);
    let mut progress = |d: u64, _: u64, _: f64, _: Option<f64>| done.set(d);
    let interrupted = || Some(done.get()) == stop_after;
    train(
        dir,
        cfg,
        resume,
        Hooks {
            progress: &mut progress,
            interrupted: &interrupted,
        },
    )
}

/// `log.csv` without its wall-clock column (the one thing that differs between identical runs).
fn log_rows(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("log.csv"))
        .unwrap()
        .lines()
        .map(|l| l.rsplit_once(',').unwrap().0.to_string())
        .collect()
}

fn summary(dir: &Path) -> Summary {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

// ------------------------------------------------------------------------------------------------
// Resuming after an interruption (Ctrl-C) or a crash continues exactly as if nothing had happened.

#[test]
fn resumed_runs_are_bit_identical_to_uninterrupted_ones() {
    let cfg = small_config(8);
    let whole = scratch("whole");
    let (outcome, _) = run(&whole, &cfg, false, None).unwrap();
    assert_eq!(outcome, Outcome::Finished);

    // Ctrl-C after batch 4 (not a checkpoint batch: checkpoint_every = 3) saves and stops.
    let split = scratch("split");
    let (outcome, s) = run(&split, &cfg, false, Some(4)).unwrap();
    assert_eq!(outcome, Outcome::Interrupted(4));
    assert_eq!(s.batches_done, 4);
    let (_, _, meta) = load_safetensors(&split.join("checkpoint.safetensors")).unwrap();
    assert!(
        meta.contains(&("batches_done".into(), "4".into())),
        "{meta:?}"
    );
    assert_eq!(log_rows(&split).len(), 1 + 4);
    let (outcome, _) = run(&split, &cfg, true, None).unwrap();
    assert_eq!(outcome, Outcome::Finished);

    // A crash after batch 5: the checkpoint of batch 3 is what survives.
    let crashed = scratch("crashed");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let done = Cell::new(0u64);
        let mut progress = |d: u64, _: u64, _: f64, _: Option<f64>| {
            assert!(d < 5, "simulated crash");
            done.set(d)
        };
        let interrupted = || false;
        let hooks = Hooks {
            progress: &mut progress,
            interrupted: &interrupted,
        };
        train(&crashed, &cfg, false, hooks)
    }));
    assert!(result.is_err(), "the simulated crash happened");
    let (_, _, meta) = load_safetensors(&crashed.join("checkpoint.safetensors")).unwrap();
    assert!(
        meta.contains(&("batches_done".into(), "3".into())),
        "{meta:?}"
    );
    run(&crashed, &cfg, true, None).unwrap();

    let (gru, adam, meta) = load_safetensors(&whole.join("checkpoint.safetensors")).unwrap();
    let adam = adam.unwrap();
    assert_eq!(adam.step, 8);
    for dir in [&split, &crashed] {
        let (g, a, m) = load_safetensors(&dir.join("checkpoint.safetensors")).unwrap();
        let a = a.unwrap();
        assert_eq!(bits(g.params()), bits(gru.params()), "weights of {dir:?}");
        assert_eq!(a.step, adam.step);
        assert_eq!(bits(&a.m), bits(&adam.m), "Adam's first moments of {dir:?}");
        assert_eq!(
            bits(&a.v),
            bits(&adam.v),
            "Adam's second moments of {dir:?}"
        );
        assert_eq!(m, meta);
        assert_eq!(log_rows(dir), log_rows(&whole), "log.csv of {dir:?}");
        let (a, b) = (summary(dir), summary(&whole));
        let evals = |s: &Summary| -> Vec<(u64, u64)> {
            s.evaluations
                .iter()
                .map(|e| (e.batch, e.metric.to_bits()))
                .collect()
        };
        assert_eq!(evals(&a), evals(&b), "evaluations of {dir:?}");
        assert_eq!(a.batches_done, 8);
        assert_eq!(
            a.final_metric.map(f64::to_bits),
            b.final_metric.map(f64::to_bits)
        );
    }
    // Resuming a finished run with nothing left to do changes nothing but rewrites the same files.
    let (outcome, s) = run(&whole, &cfg, true, None).unwrap();
    assert_eq!(outcome, Outcome::Finished);
    assert_eq!(s.batches_done, 8);
    for dir in [whole, split, crashed] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

// ------------------------------------------------------------------------------------------------
// Reproducibility.

fn loss_curve(seed: u64, threads: usize, batches: u64) -> (Vec<f64>, Vec<f64>) {
    let env = EnvConfig {
        episode_duration: 0.1,
        action_noise: 0.02,
        proprioception_noise: 0.01,
        vision_noise: 0.01,
        observation_noise: 0.01,
        ..EnvConfig::default()
    };
    let optim = OptimConfig {
        hidden: 8,
        batch_size: 6,
        learning_rate: 1e-2,
        seed,
        threads,
        ..OptimConfig::default()
    };
    let mut tr = trainer(
        "arm26",
        || Box::new(RandomReach { curl: 10.0 }),
        env,
        LossConfig::default(),
        optim,
    );
    let losses = (0..batches)
        .map(|b| tr.train_batch(b).unwrap().loss)
        .collect();
    (losses, tr.policy.params().to_vec())
}

#[test]
fn same_seed_same_run_different_seed_different_run() {
    let (a, wa) = loss_curve(3, 1, 6);
    let (b, wb) = loss_curve(3, 1, 6);
    assert_eq!(bits(&a), bits(&b), "the same seed gives the same losses");
    assert_eq!(bits(&wa), bits(&wb), "and the same weights");
    let (c, _) = loss_curve(4, 1, 6);
    assert!(a.iter().zip(&c).all(|(x, y)| x != y), "{a:?} vs {c:?}");
    // Two threads simulate the same episodes with the same noise; only the order of summation differs.
    let (d, wd) = loss_curve(3, 2, 6);
    assert_eq!(bits(&d), bits(&loss_curve(3, 2, 6).0));
    let mut largest = 0.0f64;
    for (x, y) in a.iter().zip(&d).chain(wa.iter().zip(&wd)) {
        largest = largest.max((x - y).abs() / x.abs().max(1e-3));
        assert!((x - y).abs() <= 1e-11 * x.abs().max(1.0), "{x} vs {y}");
    }
    eprintln!("one thread and two: largest relative difference {largest:.1e}");
}

// ------------------------------------------------------------------------------------------------
// Non-finite values stop training with an error that says where, and nothing saved is touched.

/// Random reaches whose endpoint load turns NaN in step `step` of every batch drawn after the first
/// `good_batches` (draws are counted across the task's copies, one per worker thread).
struct PoisonedLoad {
    draws: Arc<AtomicUsize>,
    good_batches: usize,
    step: usize,
}

impl Task for PoisonedLoad {
    fn name(&self) -> String {
        "poisoned_load".into()
    }
    fn draw(&self, ctx: &TaskContext, batch: usize, rng: &mut ChaCha8Rng) -> Vec<Episode> {
        self.draws.fetch_add(1, Ordering::SeqCst);
        RandomReach::default().draw(ctx, batch, rng)
    }
    fn endpoint_load(&self, t: usize, _e: &Episode, _c: &Cartesian) -> Load {
        if t >= self.step && self.draws.load(Ordering::SeqCst) > self.good_batches {
            ([f64::NAN, 0.0, 0.0], [[0.0; 6]; 3])
        } else {
            ([0.0; 3], [[0.0; 6]; 3])
        }
    }
}

#[test]
fn a_non_finite_value_stops_a_batch_and_the_error_says_where() {
    let draws = Arc::new(AtomicUsize::new(0));
    let shared = draws.clone();
    let optim = OptimConfig {
        hidden: 8,
        batch_size: 4,
        threads: 2,
        ..OptimConfig::default()
    };
    let env = EnvConfig {
        episode_duration: 0.1,
        ..EnvConfig::default()
    };
    let mut tr = trainer(
        "arm26",
        move || {
            Box::new(PoisonedLoad {
                draws: shared.clone(),
                good_batches: 3,
                step: 4,
            })
        },
        env,
        LossConfig::default(),
        optim,
    );
    for b in 0..3 {
        tr.train_batch(b).unwrap();
    }
    let (weights, adam) = (tr.policy.params().to_vec(), tr.adam.state.clone());
    let err = tr.train_batch(3).unwrap_err().to_string();
    for what in [
        "batch 3",
        "`poisoned_load`",
        "endpoint load",
        "step 4",
        "episode 0",
        "NaN",
    ] {
        assert!(err.contains(what), "`{what}` is not in: {err}");
    }
    assert_eq!(
        bits(tr.policy.params()),
        bits(&weights),
        "the weights are untouched"
    );
    assert_eq!(tr.adam.state, adam, "so is the optimizer");

    // A non-finite state names the episode as the caller numbers it, whichever thread simulated it.
    let mut tr = trainer(
        "arm26",
        || Box::new(RandomReach::default()),
        EnvConfig {
            episode_duration: 0.1,
            ..EnvConfig::default()
        },
        LossConfig::default(),
        OptimConfig {
            hidden: 8,
            batch_size: 4,
            threads: 2,
            ..OptimConfig::default()
        },
    );
    let plant = plant("arm26");
    let mut eps = episodes(&*plant, &[[0.8, 1.2, 0.0, 0.0]; 4], &[[0.0, 0.4]; 4]);
    eps[3].joint0[3] = f64::NAN;
    let err = tr.loss_and_gradient(&eps, 9, true).unwrap_err().to_string();
    for what in ["batch 9", "velocity of elbow", "effector 3", "step 0"] {
        assert!(err.contains(what), "`{what}` is not in: {err}");
    }
}

#[test]
fn a_blow_up_stops_train_and_leaves_the_checkpoint_intact() {
    let dir = scratch("blow-up");
    let mut cfg = small_config(4);
    cfg.run.checkpoint_every = 2;
    run(&dir, &cfg, false, None).unwrap();
    let files = ["checkpoint.safetensors", "log.csv", "summary.json"];
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
    let before: Vec<Vec<u8>> = files.iter().map(|f| read(f)).collect();

    // Continuing with a muscle of (almost) zero optimal length: its normalized length overflows and the
    // arm's state turns NaN in the first step of the next batch.
    let mut bad = cfg.clone();
    bad.run.batches = 8;
    bad.overrides = vec!["pectoralis.optimal_length=1e-300".into()];
    let err = run(&dir, &bad, true, None).unwrap_err().to_string();
    for what in ["batch 4", "non-finite", "after 4 batches is left as it was"] {
        assert!(err.contains(what), "`{what}` is not in: {err}");
    }
    for (f, b) in files.iter().zip(&before) {
        assert!(read(f) == *b, "{f} changed");
    }

    // From scratch the evaluation before the first batch meets the NaN, and nothing is saved.
    let fresh = scratch("blow-up-fresh");
    let err = run(&fresh, &bad, false, None).unwrap_err().to_string();
    assert!(err.contains("evaluation before training"), "{err}");
    assert!(!fresh.join("checkpoint.safetensors").exists());
    for d in [dir, fresh] {
        let _ = std::fs::remove_dir_all(d);
    }
}

// ------------------------------------------------------------------------------------------------
// `motornet eval RUN` reproduces the final metric of summary.json.

#[test]
fn evaluating_a_run_reproduces_its_final_metric() {
    let dir = scratch("eval");
    let cfg = small_config(5);
    let (_, s) = run(&dir, &cfg, false, None).unwrap();
    let recorded = s.final_metric.unwrap();
    assert_eq!(s.evaluations.last().unwrap().batch, 5);
    let (metric, read) = evaluate_run(&dir).unwrap();
    assert_eq!(
        metric.to_bits(),
        recorded.to_bits(),
        "{metric} vs {recorded}"
    );
    // summary.json holds the same number (serde_json's default parser may be one unit in the last place
    // off when reading it back).
    let in_file = read.final_metric.unwrap();
    assert!(
        (in_file - recorded).abs() <= 2e-16 * recorded,
        "{in_file} vs {recorded}"
    );
    assert_eq!(read.batches_done, 5);
    for plot in ["loss", "reaches", "speed", "activations"] {
        assert!(
            dir.join("plots").join(format!("{plot}.png")).exists(),
            "{plot}.png"
        );
    }

    // The command line says the same.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_motornet"))
        .arg("eval")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("{:.3} cm", recorded * 100.0)),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// `motornet train --config FILE` end to end: the run directory it writes, and `--resume`.
#[test]
fn command_line_training_writes_a_run_directory() {
    let dir = scratch("cli");
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("reach.toml");
    std::fs::write(
        &config,
        r#"
model = "pointmass24_relu"

[env]
episode_duration = 0.2

[optim]
hidden = 8
batch_size = 4

[run]
batches = 3
eval_episodes = 4
eval_last_steps = 5
"#,
    )
    .unwrap();
    let out_dir = dir.join("run");
    let motornet = |args: &[&std::ffi::OsStr]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_motornet"))
            .args(args)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let (ok, text) = motornet(&[
        "train".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
        "--out".as_ref(),
        out_dir.as_os_str(),
        "--quiet".as_ref(),
    ]);
    assert!(ok, "{text}");
    assert!(text.contains("3 batches"), "{text}");
    for f in [
        "config.toml",
        "log.csv",
        "checkpoint.safetensors",
        "summary.json",
    ] {
        assert!(out_dir.join(f).exists(), "{f}");
    }
    let saved =
        TrainConfig::from_toml(&std::fs::read_to_string(out_dir.join("config.toml")).unwrap())
            .unwrap();
    assert_eq!(saved.model, "pointmass24_relu");
    assert_eq!(saved.optim.hidden, 8);
    assert_eq!(saved.run.batches, 3);
    // A second `train` into the same directory refuses; `--resume` continues.
    let (ok, text) = motornet(&[
        "train".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
        "--out".as_ref(),
        out_dir.as_os_str(),
        "--quiet".as_ref(),
    ]);
    assert!(!ok && text.contains("--resume"), "{text}");
    let (ok, text) = motornet(&[
        "train".as_ref(),
        "--resume".as_ref(),
        out_dir.as_os_str(),
        "--batches".as_ref(),
        "5".as_ref(),
        "--quiet".as_ref(),
    ]);
    assert!(ok, "{text}");
    assert_eq!(summary(&out_dir).batches_done, 5);
    assert_eq!(log_rows(&out_dir).len(), 1 + 5);
    let _ = std::fs::remove_dir_all(dir);
}

// ------------------------------------------------------------------------------------------------
// Configuration files.

#[test]
fn unknown_configuration_keys_are_rejected_by_name() {
    for (text, key) in [
        ("modle = \"arm26\"", "modle"),
        ("[env]\nepisode_duraton = 1.0", "episode_duraton"),
        ("[loss]\npositon = 1.0", "positon"),
        ("[optim]\nlr = 0.01", "lr"),
        ("[run]\nbatch = 10", "batch"),
        ("[task]\nkind = \"random_reach\"\ncurll = 10.0", "curll"),
        (
            "[task]\nkind = \"centre_out\"\nstart_joint = [0.8, 1.6]\nradious = 0.1",
            "radious",
        ),
    ] {
        let err = TrainConfig::from_toml(text).unwrap_err().to_string();
        assert!(
            err.contains(&format!("unknown field `{key}`")),
            "{text:?}: {err}"
        );
        assert!(err.starts_with("configuration:"), "{err}");
    }
    let err = TrainConfig::from_toml("[task]\nkind = \"reach\"")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("reach") && err.contains("random_reach"),
        "{err}"
    );
    let err = TrainConfig::from_toml("[optim]\nhidden = \"many\"")
        .unwrap_err()
        .to_string();
    assert!(err.contains("hidden") || err.contains("line 2"), "{err}");
}

#[test]
fn configurations_round_trip_through_toml() {
    let default = TrainConfig::default();
    let text = default.to_toml();
    assert_eq!(TrainConfig::from_toml(&text).unwrap(), default);
    // An empty file, and one that sets a few keys, fill in the rest with defaults.
    assert_eq!(TrainConfig::from_toml("").unwrap(), default);
    let partial =
        TrainConfig::from_toml("model = \"pointmass24_relu\"\n[optim]\nhidden = 8\n").unwrap();
    assert_eq!(partial.model, "pointmass24_relu");
    assert_eq!(partial.optim.hidden, 8);
    assert_eq!(partial.optim.batch_size, default.optim.batch_size);
    assert_eq!(partial.env, default.env);

    let mut custom = small_config(7);
    custom.overrides = vec![
        "biceps.max_force=500".into(),
        "elbow.range.max=150 deg".into(),
    ];
    custom.loss = all_terms();
    custom.env = delayed_env();
    for task in [
        TaskConfig::RandomReach { curl: 12.5 },
        TaskConfig::CentreOut {
            start_joint: vec![0.8, 1.6],
            n_targets: 8,
            radius: 0.1,
            curl: -30.0,
        },
        TaskConfig::DelayedReach {
            go_steps: (10, 30),
            catch_probability: 0.25,
        },
    ] {
        custom.task = task;
        let text = custom.to_toml();
        assert_eq!(TrainConfig::from_toml(&text).unwrap(), custom, "{text}");
    }
    // Centre-out's optional keys have defaults.
    let co =
        TrainConfig::from_toml("[task]\nkind = \"centre_out\"\nstart_joint = [0.8, 1.6]").unwrap();
    assert_eq!(
        co.task,
        TaskConfig::CentreOut {
            start_joint: vec![0.8, 1.6],
            n_targets: 8,
            radius: 0.1,
            curl: 0.0
        }
    );
}

// ------------------------------------------------------------------------------------------------
// Delays: MotorNet's buffer semantics.

/// The observation is goal (2), vision (2), muscle lengths (m), muscle velocities (m), stacked actions (m
/// per lag); vision and proprioception at step t show the state at max(0, t − d + 1) for a delay of d steps.
#[test]
fn delayed_observations_read_the_state_max_0_t_minus_k_plus_1() {
    let steps = 12;
    for (dp, dv, stack) in [(1, 1, 0), (2, 1, 1), (4, 3, 2), (1, 5, 0)] {
        let p = plant("arm26");
        let dt = p.timestep();
        let info = p.info().clone();
        let normalizers = p.muscle_normalizers().to_vec();
        let config = EnvConfig {
            episode_duration: steps as f64 * dt,
            proprioception_delay: dp as f64 * dt,
            vision_delay: dv as f64 * dt,
            action_frame_stacking: stack,
            ..EnvConfig::default()
        };
        let mut env = Environment::new(p, Box::new(RandomReach { curl: 0.0 }), config).unwrap();
        let m = info.n_muscles();
        assert_eq!(env.obs_dim(), 4 + 2 * m + stack * m);
        let eps = episodes(
            &*plant("arm26"),
            &[[0.7, 1.1, 0.0, 0.0], [1.0, 1.5, 0.3, -0.2]],
            &[[0.1, 0.4], [-0.1, 0.5]],
        );
        let batch = eps.len();
        let mut rngs: Vec<_> = (0..batch as u64).map(|b| episode_rng(0, 0, b)).collect();
        let mut seen: Vec<Vec<f64>> = Vec::new();
        let mut out = Batch::default();
        env.run(eps.clone(), &mut rngs, true, &mut out, |t, obs, actions| {
            assert_eq!(t, seen.len());
            seen.push(obs.to_vec());
            // Excitations that change every step, so every delayed value differs from the current one.
            for (k, a) in actions.iter_mut().enumerate() {
                *a = 0.2 + 0.15 * ((t * 7 + k * 3) as f64).sin();
            }
        })
        .unwrap();
        assert_eq!(seen.len(), steps);
        let o = env.obs_dim();
        let s = info.state_dim();
        let (cart, _) = info.part("cartesian").unwrap();
        let (musc, _) = info.part("muscle").unwrap();
        let row = |name: &str| {
            info.muscle_state_names
                .iter()
                .position(|n| n == name)
                .unwrap()
        };
        let (len_row, vel_row) = (row("muscle length"), row("muscle velocity"));
        let state = |t: usize, b: usize, i: usize| out.states[(t * batch + b) * s + i];
        for (t, obs) in seen.iter().enumerate() {
            assert_eq!(
                obs[..],
                out.observations[t * batch * o..(t + 1) * batch * o]
            );
            let (tp, tv) = ((t + 1).saturating_sub(dp), (t + 1).saturating_sub(dv));
            for b in 0..batch {
                let x = &obs[b * o..(b + 1) * o];
                assert_eq!(x[..2], eps[b].target[..2], "the goal");
                for k in 0..2 {
                    assert_eq!(
                        x[2 + k],
                        state(tv, b, cart + k),
                        "vision, step {t}, delay {dv}"
                    );
                }
                for k in 0..m {
                    // Normalized as MotorNet does: multiplied by 1 / l0_ce and 1 / vmax.
                    let len = (1.0 / normalizers[k][0]) * state(tp, b, musc + len_row * m + k);
                    let vel = (1.0 / normalizers[k][1]) * state(tp, b, musc + vel_row * m + k);
                    assert_eq!(x[4 + k], len, "muscle length, step {t}, delay {dp}");
                    assert_eq!(x[4 + m + k], vel, "muscle velocity, step {t}, delay {dp}");
                }
                for lag in 1..=stack {
                    for k in 0..m {
                        let expected = if t >= lag {
                            out.actions[((t - lag) * batch + b) * m + k]
                        } else {
                            0.0
                        };
                        assert_eq!(
                            x[4 + 2 * m + (lag - 1) * m + k],
                            expected,
                            "action {lag} back"
                        );
                    }
                }
                // A delay of more than one step shows a value other than the current one.
                if dv > 1 && t >= dv {
                    assert_ne!(x[2], state(t, b, cart), "vision is delayed");
                }
            }
        }
    }
    // Delays must be whole multiples of the time step.
    let err = Environment::new(
        plant("arm26"),
        Box::new(RandomReach::default()),
        EnvConfig {
            proprioception_delay: 0.015,
            ..EnvConfig::default()
        },
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        err.contains("proprioception_delay") && err.contains("multiple"),
        "{err}"
    );
}

/// With a go cue the last observation entry is 0 before the cue and 1 from its step on; the aim of the
/// loss switches from the start to the target at the same step.
#[test]
fn the_go_cue_is_the_last_observation() {
    let p = plant("arm26");
    let task = DelayedReach {
        go_steps: (3, 6),
        catch_probability: 0.0,
    };
    let config = EnvConfig {
        episode_duration: 0.1,
        ..EnvConfig::default()
    };
    let mut env = Environment::new(p, Box::new(task), config).unwrap();
    let o = env.obs_dim();
    let m = env.n_muscles();
    assert_eq!(o, 4 + 2 * m + 1);
    let mut rng = episode_rng(1, 2, 3);
    let mut eps = env.draw(3, &mut rng);
    eps[2].go_step = Some(usize::MAX); // a catch trial
    let mut rngs: Vec<_> = (0..3).map(|b| episode_rng(0, 0, b)).collect();
    let mut out = Batch::default();
    let mut cues = vec![Vec::new(); 3];
    env.run(eps.clone(), &mut rngs, true, &mut out, |_, obs, actions| {
        for (b, cue) in cues.iter_mut().enumerate() {
            cue.push(obs[b * o + o - 1]);
        }
        actions.fill(0.1);
    })
    .unwrap();
    for (b, e) in eps.iter().enumerate() {
        let go = e.go_step.unwrap();
        let expected: Vec<f64> = (0..10).map(|t| f64::from(u8::from(t >= go))).collect();
        assert_eq!(cues[b], expected, "episode {b}, go step {go}");
        for t in 0..10 {
            assert_eq!(e.aim(t), if t >= go { e.target } else { e.start });
        }
    }
}

#[test]
fn hidden_noise_perturbs_training_reproducibly_and_never_evaluation() {
    let make = |hidden_noise| {
        trainer(
            "arm26",
            || -> Box<dyn Task> { Box::new(RandomReach { curl: 0.0 }) },
            EnvConfig {
                hidden_noise,
                ..EnvConfig::default()
            },
            LossConfig::default(),
            OptimConfig {
                hidden: 8,
                batch_size: 2,
                seed: 1,
                ..OptimConfig::default()
            },
        )
    };
    let eps = episodes(
        &*plant("arm26"),
        &[[0.8, 1.2, 0.0, 0.0], [0.5, 1.6, 0.0, 0.0]],
        &[[0.0, 0.45], [-0.1, 0.3]],
    );
    let loss = |sd, deterministic| {
        make(sd)
            .loss_and_gradient(&eps, 3, deterministic)
            .unwrap()
            .0
            .loss
    };
    let (quiet, noisy) = (loss(0.0, false), loss(0.05, false));
    assert_ne!(quiet, noisy, "hidden noise changes the trajectory");
    assert_eq!(noisy, loss(0.05, false), "and does so reproducibly");
    assert_eq!(
        loss(0.05, true),
        loss(0.0, true),
        "deterministic runs have none"
    );
}

#[test]
fn observation_sources_describe_every_column_in_motornets_order() {
    use motornet::runtime::env::{ObsChannel, ObsSource};
    let cfg = EnvConfig {
        proprioception_delay: 0.02,
        vision_delay: 0.05,
        action_frame_stacking: 1,
        ..EnvConfig::default()
    };
    let p = plant("arm26");
    let info = p.info().clone();
    let norms = p.muscle_normalizers().to_vec();
    let env = Environment::new(
        p,
        Box::new(DelayedReach {
            go_steps: (1, 2),
            catch_probability: 0.0,
        }),
        cfg,
    )
    .unwrap();
    let src = env.observation_sources();
    assert_eq!(src.len(), env.obs_dim());
    assert_eq!(src.len(), 2 + 2 + 12 + 6 + 1);
    assert_eq!(src[0], ObsSource::Goal(0));
    assert_eq!(src[1], ObsSource::Goal(1));
    let cart = info.cartesian().start;
    assert_eq!(
        src[2],
        ObsSource::State {
            index: cart,
            scale: 1.0,
            delay: 5,
            channel: ObsChannel::Vision
        }
    );
    let length_row = info.muscle().start + info.n_muscles(); // row 1: muscle length
    assert_eq!(
        src[4],
        ObsSource::State {
            index: length_row,
            scale: 1.0 / norms[0][0],
            delay: 2,
            channel: ObsChannel::Proprioception
        }
    );
    assert_eq!(src[16], ObsSource::Action { muscle: 0, lag: 1 });
    assert_eq!(src[22], ObsSource::GoCue);
}
