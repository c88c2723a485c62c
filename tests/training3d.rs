//! Training in 3D: a spatial model (`arm4`, ten muscles under gravity) in the environment, the trainer
//! and the command line — the observation layout with z, the loss over x, y and z, its gradient, the
//! planar-only settings refused by name, and `train`/`eval --export` end to end; and OpenSim's Arm26 as
//! imported (`models/arm26_opensim.mnet`): its gravity, its fall without excitation, and a few batches of
//! training.

use motornet::config::TrainConfig;
use motornet::runtime::env::{Batch, EnvConfig, Environment};
use motornet::runtime::perturb::{Direction, Kind, Perturbation, Perturbed};
use motornet::runtime::policy::Policy;
use motornet::runtime::task::{CentreOut, RandomReach, Task};
use motornet::runtime::train::{episode_rng, LossConfig, OptimConfig, Trainer};
use motornet::Plant;
use std::io::Read;
use std::path::PathBuf;
use std::process::Command;

/// arm4 at a 2 ms time step (at the file's 10 ms its strong muscles make the explicit integrator
/// unstable under full co-contraction).
fn arm4() -> Box<dyn Plant> {
    let mut plant = motornet::models::load("models/arm4.mnet", false).unwrap().0;
    plant
        .apply_overrides(&["timestep=0.002".to_string()])
        .unwrap();
    plant
}

fn env_error(task: Box<dyn Task>) -> String {
    match Environment::new(arm4(), task, EnvConfig::default()) {
        Ok(_) => panic!("a planar-only setting was accepted for a spatial model"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_observations_show_the_goal_and_the_delayed_fingertip_in_3d() {
    let plant = arm4();
    let info = plant.info().clone();
    assert_eq!(info.space_dim, 3);
    let m = info.n_muscles();
    let config = EnvConfig {
        episode_duration: 0.04,
        vision_delay: 0.006,
        ..EnvConfig::default()
    };
    let mut env = Environment::new(plant, Box::new(RandomReach::default()), config).unwrap();
    assert_eq!(env.obs_dim(), 6 + 2 * m);
    let names = env.observation_names();
    assert_eq!(
        names[..6],
        ["goal x", "goal y", "goal z", "vision x", "vision y", "vision z"]
    );
    assert!(names[6].starts_with("proprioception: "), "{names:?}");
    assert_eq!(env.modalities()[0], [3, 4, 5], "vision is x, y and z");

    let mut rng = episode_rng(3, 0, 0);
    let eps = env.draw(4, &mut rng);
    // Targets are fingertip positions of random postures: they spread in every direction.
    for k in 0..3 {
        let lo = eps
            .iter()
            .map(|e| e.target[k])
            .fold(f64::INFINITY, f64::min);
        let hi = eps
            .iter()
            .map(|e| e.target[k])
            .fold(f64::NEG_INFINITY, f64::max);
        assert!(hi - lo > 0.01, "targets along axis {k}: {lo} .. {hi}");
    }
    let n = eps.len();
    let mut rngs: Vec<_> = (0..n as u64).map(|b| episode_rng(0, 0, b)).collect();
    let mut out = Batch::default();
    env.run(eps.clone(), &mut rngs, true, &mut out, |t, _, a| {
        a.fill(0.1 + 0.05 * t as f64)
    })
    .unwrap();
    let (o, s) = (env.obs_dim(), info.state_dim());
    let cart = info.cartesian().start;
    for t in 0..=out.steps {
        for (b, e) in eps.iter().enumerate() {
            let x = &out.observations[(t * n + b) * o..][..o];
            assert_eq!(x[..3], e.target, "goal, step {t}");
            // A 6 ms delay at 2 ms steps reads the state two steps back.
            let seen = t.saturating_sub(2);
            let state = &out.states[(seen * n + b) * s..][..s];
            assert_eq!(x[3..6], state[cart..cart + 3], "vision, step {t}");
        }
    }
    // The arm moves (gravity and the excitations): the delayed vision differs from the present.
    let now = env.cartesian(&out, out.steps, 0);
    let before = env.cartesian(&out, out.steps - 2, 0);
    assert!((now[2] - before[2]).abs() > 1e-6, "{now:?} vs {before:?}");
    // The start is the fingertip after reset.
    assert_eq!(eps[0].start, env.cartesian(&out, 0, 0)[..3]);
}

#[test]
fn planar_only_tasks_and_perturbations_are_refused_for_a_spatial_model_by_name() {
    let err = env_error(Box::new(CentreOut {
        start_joint: vec![0.0; 4],
        n_targets: 8,
        radius: 0.1,
        curl: 0.0,
    }));
    assert!(
        err.contains("centre_out") && err.contains("planar only") && err.contains("arm4"),
        "{err}"
    );
    let err = env_error(Box::new(RandomReach { curl: 2.0 }));
    assert!(err.contains("random_reach: curl"), "{err}");
    let perturbed = |kind| {
        Box::new(Perturbed {
            inner: Box::new(RandomReach::default()),
            perturbations: vec![
                Perturbation {
                    probability: 1.0,
                    kind: Kind::Sequence {
                        targets: 1,
                        interval: 0.2,
                    },
                },
                Perturbation {
                    probability: 0.5,
                    kind,
                },
            ],
        })
    };
    let err = env_error(perturbed(Kind::ForcePulse {
        magnitude: (1.0, 1.0),
        direction: Direction::Orthogonal,
        onset: (0.1, 0.1),
        duration: 0.05,
    }));
    assert!(
        err.contains("perturbation 2 (force_pulse) is planar only"),
        "{err}"
    );
    assert!(
        !err.contains("perturbation 1"),
        "a sequence works in 3D: {err}"
    );
    // Jumps to random postures' fingertips work in 3D; jumps by a distance in a direction do not.
    let jump = |distance| Kind::TargetJump {
        time: (0.1, 0.2),
        distance,
        direction: Direction::Orthogonal,
    };
    assert!(Environment::new(arm4(), perturbed(jump(None)), EnvConfig::default()).is_ok());
    let err = env_error(perturbed(jump(Some((0.05, 0.05)))));
    assert!(err.contains("perturbation 2 (target_jump)"), "{err}");

    // The configuration file names the table and key.
    let cfg = TrainConfig::from_toml(
        "model = \"models/arm4.mnet\"\n[task]\nkind = \"centre_out\"\nstart_joint = [0, 0, 0, 0]\n\
         [[perturbation]]\nkind = \"sequence\"\ntargets = 2\ninterval = 0.2\n\
         [[perturbation]]\nkind = \"curl\"\nk = 5\n",
    )
    .unwrap();
    let err = cfg.validate().unwrap_err().to_string();
    assert!(err.contains("[task] kind = centre_out"), "{err}");
    assert!(err.contains("[perturbation 2] kind = curl"), "{err}");
    assert!(err.contains("planar only"), "{err}");
    assert!(!err.contains("[perturbation 1]"), "{err}");
    let cfg = TrainConfig::from_toml("model = \"models/arm4.mnet\"\n[task]\ncurl = 3\n").unwrap();
    let err = cfg.validate().unwrap_err().to_string();
    assert!(err.contains("[task] curl = 3"), "{err}");
}

fn trainer(batch_size: usize, seed: u64) -> Trainer<Box<dyn Plant>> {
    Trainer::new(
        arm4,
        || Box::new(RandomReach::default()) as Box<dyn Task>,
        EnvConfig {
            episode_duration: 0.2,
            ..EnvConfig::default()
        },
        LossConfig {
            speed: 0.05,
            ..LossConfig::default()
        },
        OptimConfig {
            hidden: 24,
            batch_size,
            learning_rate: 3e-3,
            seed,
            threads: 2,
            ..OptimConfig::default()
        },
    )
    .unwrap()
}

#[test]
fn the_gradient_in_3d_matches_finite_differences() {
    let mut tr = Trainer::new(
        arm4,
        || Box::new(RandomReach::default()) as Box<dyn Task>,
        EnvConfig {
            episode_duration: 0.02,
            vision_delay: 0.004,
            ..EnvConfig::default()
        },
        LossConfig {
            position_norm: "l2".into(),
            speed: 0.1,
            jerk: 1e-6,
            ..LossConfig::default()
        },
        OptimConfig {
            hidden: 6,
            batch_size: 2,
            seed: 2,
            ..OptimConfig::default()
        },
    )
    .unwrap();
    let eps = tr.episodes(0, 2);
    let (_, grad) = tr.loss_and_gradient(&eps, 0, true).unwrap();
    let n = tr.policy.param_count();
    // The readout bias (last parameters) moves every muscle, hence the fingertip in x, y and z.
    for k in [0, n / 3, n - 1, n - 4] {
        let h = 1e-6;
        let orig = tr.policy.params_mut()[k];
        tr.policy.params_mut()[k] = orig + h;
        let up = tr.loss_and_gradient(&eps, 0, true).unwrap().0.loss;
        tr.policy.params_mut()[k] = orig - h;
        let down = tr.loss_and_gradient(&eps, 0, true).unwrap().0.loss;
        tr.policy.params_mut()[k] = orig;
        let fd = (up - down) / (2.0 * h);
        assert!(
            (fd - grad[k]).abs() <= 1e-5 * (1.0 + fd.abs()),
            "parameter {k}: finite difference {fd}, gradient {}",
            grad[k]
        );
    }
    assert!(grad[n - 1] != 0.0);
}

#[test]
fn training_on_the_spatial_arm_lowers_the_loss() {
    let mut tr = trainer(8, 1);
    // Fixed episodes from a batch index training never uses, without noise: the loss and the metric
    // before and after training compare the same reaches.
    let test = tr.episodes(u64::MAX, 16);
    let loss =
        |tr: &mut Trainer<Box<dyn Plant>>| tr.loss_and_gradient(&test, 0, true).unwrap().0.loss;
    let (loss_before, before) = (loss(&mut tr), tr.evaluate(&test, 10).unwrap().metric);
    for b in 0..40 {
        tr.train_batch(b).unwrap();
    }
    let (loss_after, after) = (loss(&mut tr), tr.evaluate(&test, 10).unwrap().metric);
    assert!(
        loss_after < 0.9 * loss_before,
        "loss {loss_before} -> {loss_after}"
    );
    assert!(after < before, "evaluation metric {before} -> {after}");
}

fn motornet(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_motornet"))
        .args(args)
        .output()
        .expect("run motornet");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn train_and_eval_export_a_spatial_model() {
    let dir: PathBuf = std::env::temp_dir().join(format!("motornet-3d-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("small.toml");
    std::fs::write(
        &config,
        "model = \"models/arm4.mnet\"\noverrides = [\"timestep=0.002\"]\n[optim]\nhidden = 8\n\
         batch_size = 2\n[env]\nepisode_duration = 0.02\n[run]\neval_episodes = 3\neval_last_steps = 5\n",
    )
    .unwrap();
    let run = dir.join("run");
    let (ok, out, err) = motornet(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--batches",
        "2",
        "--out",
        run.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(ok, "{out}{err}");
    let plot = std::fs::read_to_string(run.join("plots/reaches.svg")).unwrap();
    assert!(plot.contains("x–y projection") && plot.contains("x–z projection"));
    let (ok, out, err) = motornet(&["eval", run.to_str().unwrap(), "--export", "--episodes", "3"]);
    assert!(ok, "{out}{err}");
    let mut zip = zip::ZipArchive::new(std::fs::File::open(run.join("eval.npz")).unwrap()).unwrap();
    let mut shape = |name: &str| {
        let mut bytes = Vec::new();
        zip.by_name(&format!("{name}.npy"))
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        (
            npyz::NpyFile::new(&bytes[..]).unwrap().shape().to_vec(),
            bytes,
        )
    };
    assert_eq!(shape("target").0, [3, 3]);
    assert_eq!(shape("start").0, [3, 3]);
    assert_eq!(shape("aim").0, [3, 11, 3]);
    assert_eq!(shape("endpoint_force").0, [3, 10, 3]);
    assert_eq!(shape("cartesian").0, [3, 11, 6]);
    let (_, bytes) = shape("observation_names");
    let names = npyz::NpyFile::new(&bytes[..])
        .unwrap()
        .into_vec::<String>()
        .unwrap();
    assert_eq!(names[2], "goal z");
    assert_eq!(names[5], "vision z");
    std::fs::remove_dir_all(&dir).ok();
}

/// OpenSim's Arm26 as `motornet import` wrote it: two coordinates, six muscles, y up.
fn arm26_opensim() -> Box<dyn Plant> {
    motornet::models::load("models/arm26_opensim.mnet", false)
        .unwrap()
        .0
}

#[test]
fn the_imported_opensim_arm_falls_without_excitation_and_learns_to_reach_in_3d() {
    let plant = arm26_opensim();
    let info = plant.info().clone();
    assert_eq!(info.space_dim, 3);
    let g = ["gravity.x", "gravity.y", "gravity.z"]
        .map(|n| info.param_index(n).map_or(0.0, |i| plant.params()[i]));
    assert_eq!(g, [0.0, -9.8066, 0.0], "OpenSim's gravity, y up");

    // Every excitation 0, from the upper arm raised forward and the elbow bent: the hand drops.
    let config = EnvConfig {
        episode_duration: 0.2,
        ..EnvConfig::default()
    };
    let mut env =
        Environment::new(plant, Box::new(RandomReach::default()), config.clone()).unwrap();
    let mut rng = episode_rng(5, 0, 0);
    let mut eps = env.draw(1, &mut rng);
    eps[0].joint0 = vec![1.2, 1.0, 0.0, 0.0];
    let mut rngs = vec![episode_rng(0, 0, 0)];
    let mut out = Batch::default();
    env.run(eps, &mut rngs, true, &mut out, |_, _, a| a.fill(0.0))
        .unwrap();
    let (first, last) = (env.cartesian(&out, 0, 0), env.cartesian(&out, out.steps, 0));
    assert!(first.iter().all(|v| v.is_finite()) && last.iter().all(|v| v.is_finite()));
    assert!(
        last[1] < first[1] - 0.05,
        "the hand falls under gravity: y {} -> {}",
        first[1],
        last[1]
    );

    // Targets on the arm's workspace, a surface in 3D: off the x–y plane (the hand is lateral of the
    // shoulder) and at different depths (the hinge axes are tilted).
    let mut tr = Trainer::new(
        arm26_opensim,
        || Box::new(RandomReach::default()) as Box<dyn Task>,
        config,
        LossConfig::default(),
        OptimConfig {
            hidden: 16,
            batch_size: 8,
            learning_rate: 1e-2,
            seed: 1,
            ..OptimConfig::default()
        },
    )
    .unwrap();
    let test = tr.episodes(u64::MAX, 8);
    let z: Vec<f64> = test.iter().map(|e| e.target[2]).collect();
    let (lo, hi) = (
        z.iter().copied().fold(f64::INFINITY, f64::min),
        z.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    assert!(lo > 0.1 && hi - lo > 0.01, "target z: {z:?}");

    // MotorNet's readout bias of -5 gives excitations near 0.0067, below OpenSim's minimum activation
    // (0.01): most are clipped, and the clip passes no gradient. The trainer starts the readout at three
    // times the minimum activation instead, where it learns.
    let norm = |g: &[f64]| g.iter().map(|v| v * v).sum::<f64>().sqrt();
    let n = tr.policy.param_count();
    let m = info.n_muscles();
    let lifted = (0.03f64 / 0.97).ln();
    assert!(tr.policy.params()[n - m..].iter().all(|&b| b == lifted));
    let live = norm(&tr.loss_and_gradient(&test, 0, true).unwrap().1);
    let readout = tr.policy.params()[n - m..].to_vec();
    tr.policy.params_mut()[n - m..].fill(-5.0);
    let dead = norm(&tr.loss_and_gradient(&test, 0, true).unwrap().1);
    tr.policy.params_mut()[n - m..].copy_from_slice(&readout);
    assert!(
        dead < 0.2 * live,
        "gradient norm {dead} at -5, {live} lifted"
    );
    let loss =
        |tr: &mut Trainer<Box<dyn Plant>>| tr.loss_and_gradient(&test, 0, true).unwrap().0.loss;
    let before = loss(&mut tr);
    for b in 0..15 {
        let stats = tr.train_batch(b).unwrap();
        assert!(
            stats.loss.is_finite() && stats.grad_norm > 0.0 && stats.grad_norm.is_finite(),
            "{stats:?}"
        );
    }
    let after = loss(&mut tr);
    assert!(after < 0.9 * before, "loss {before} -> {after}");
}
