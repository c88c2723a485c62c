//! Experiments as settings: `[[perturbation]]` tables of the configuration — force pulses, loads,
//! viscous and curl fields, channels, target jumps, visuomotor rotations, sequences — drawn per trial with
//! their probabilities, applied by the environment, differentiated exactly, and validated by key.

use motornet::models;
use motornet::runtime::env::{Batch, EnvConfig, Environment};
use motornet::runtime::policy::Policy;
use motornet::runtime::task::{ChaCha8Rng, Episode, Event, RandomReach, Task, TaskContext};
use motornet::runtime::train::{episode_rng, LossConfig, OptimConfig, Trainer};
use motornet::training::TrainConfig;
use motornet::Plant;

fn config(extra: &str) -> TrainConfig {
    let text = format!(
        "model = \"arm26\"\n[task]\nkind = \"centre_out\"\nstart_joint = [0.8, 1.6]\n[env]\nepisode_duration = 0.5\n{extra}"
    );
    TrainConfig::from_toml(&text).unwrap()
}

fn draw(cfg: &TrainConfig, n: usize, seed: u64) -> Vec<Episode> {
    cfg.validate().unwrap();
    let plant = cfg.plant().unwrap();
    let ctx = TaskContext {
        plant: plant.as_ref(),
        steps: 50,
    };
    let mut rng = <ChaCha8Rng as rand::SeedableRng>::seed_from_u64(seed);
    cfg.build_task().draw(&ctx, n, &mut rng)
}

#[test]
fn every_kind_is_drawn_into_events_from_its_settings() {
    let cfg = config(
        r#"
[[perturbation]]
kind = "force_pulse"
magnitude = [2.0, 4.0]
direction = "orthogonal"
onset = [0.1, 0.2]
duration = 0.05

[[perturbation]]
kind = "load"
magnitude = 1.5
direction = "against"

[[perturbation]]
kind = "curl"
k = 20.0

[[perturbation]]
kind = "viscous"
matrix = [[-10.0, 0.0], [0.0, -10.0]]

[[perturbation]]
kind = "channel"
stiffness = 2000.0
damping = 50.0

[[perturbation]]
kind = "target_jump"
time = [0.1, 0.3]
distance = 0.05
direction = 90

[[perturbation]]
kind = "visuomotor_rotation"
angle = 30

[[perturbation]]
kind = "sequence"
targets = 2
interval = 0.2
"#,
    );
    let eps = draw(&cfg, 16, 3);
    for e in &eps {
        let reach = [e.target[0] - e.start[0], e.target[1] - e.start[1]];
        let len = reach[0].hypot(reach[1]);
        let mut kinds = Vec::new();
        for ev in &e.events {
            match ev {
                Event::Force { from, until, force } if *until == usize::MAX => {
                    kinds.push("load");
                    assert_eq!(*from, 0);
                    // Against the reach, 1.5 N.
                    let along = (force[0] * reach[0] + force[1] * reach[1]) / len;
                    assert!((along + 1.5).abs() < 1e-12, "{force:?}");
                }
                Event::Force { from, until, force } => {
                    kinds.push("pulse");
                    assert!((10..=20).contains(from), "onset step {from}");
                    assert_eq!(until - from, 5);
                    let f = force[0].hypot(force[1]);
                    assert!((2.0..=4.0).contains(&f), "{f}");
                    // Orthogonal to the reach.
                    let along = (force[0] * reach[0] + force[1] * reach[1]) / len;
                    assert!(along.abs() < 1e-9 * f, "{force:?} along {reach:?}");
                }
                Event::Viscous { matrix } => {
                    kinds.push("field");
                    assert!(
                        *matrix == [[0.0, -20.0], [20.0, 0.0]]
                            || *matrix == [[-10.0, 0.0], [0.0, -10.0]]
                    );
                }
                Event::Channel {
                    from,
                    to,
                    stiffness,
                    damping,
                } => {
                    kinds.push("channel");
                    assert_eq!((*from, *to), (e.start, e.target));
                    assert_eq!((*stiffness, *damping), (2000.0, 50.0));
                }
                Event::TargetJump { step, to } => {
                    kinds.push("jump");
                    let moved = [to[0] - e.target[0], to[1] - e.target[1]];
                    if (moved[0].hypot(moved[1]) - 0.05).abs() < 1e-12 {
                        assert!((10..=30).contains(step), "{step}");
                        // 90 degrees: to the left of the reach.
                        let cross = reach[0] * moved[1] - reach[1] * moved[0];
                        assert!(cross > 0.0);
                    } else {
                        assert!(*step == 20 || *step == 40, "a sequence step: {step}");
                    }
                }
                Event::VisionRotation { angle } => {
                    kinds.push("rotation");
                    assert!((angle - 30f64.to_radians()).abs() < 1e-12);
                }
            }
        }
        kinds.sort();
        assert_eq!(
            kinds,
            ["channel", "field", "field", "jump", "jump", "jump", "load", "pulse", "rotation"]
        );
    }
    // Orthogonal pulses go both ways; draws are reproducible from the stream.
    let sides: Vec<bool> = eps
        .iter()
        .filter_map(|e| {
            e.events.iter().find_map(|ev| match ev {
                Event::Force { until, force, .. } if *until != usize::MAX => {
                    let r = [e.target[0] - e.start[0], e.target[1] - e.start[1]];
                    Some(r[0] * force[1] - r[1] * force[0] > 0.0)
                }
                _ => None,
            })
        })
        .collect();
    assert!(sides.contains(&true) && sides.contains(&false));
    assert_eq!(draw(&cfg, 16, 3), eps);
    assert_ne!(draw(&cfg, 16, 4), eps);
}

#[test]
fn each_perturbation_applies_with_its_probability_independently() {
    let base = r#"
[[perturbation]]
kind = "force_pulse"
probability = 0.3
magnitude = 5.0
onset = 0.1
duration = 0.05
"#;
    let with_rotation = format!(
        "{base}\n[[perturbation]]\nkind = \"visuomotor_rotation\"\nprobability = 0.5\nangle = 45\n"
    );
    let n = 2000;
    let a = draw(&config(base), n, 11);
    let b = draw(&config(&with_rotation), n, 11);
    let pulsed = |eps: &[Episode]| -> Vec<bool> {
        eps.iter()
            .map(|e| e.events.iter().any(|ev| matches!(ev, Event::Force { .. })))
            .collect()
    };
    let frac = pulsed(&a).iter().filter(|&&p| p).count() as f64 / n as f64;
    assert!((frac - 0.3).abs() < 0.04, "{frac}");
    let rotated = b.iter().filter(|e| e.vision_rotation() != 0.0).count() as f64 / n as f64;
    assert!((rotated - 0.5).abs() < 0.04, "{rotated}");
    // Adding a perturbation changes nothing the first one draws.
    let pulses = |eps: &[Episode]| -> Vec<Vec<Event>> {
        eps.iter()
            .map(|e| {
                e.events
                    .iter()
                    .filter(|ev| matches!(ev, Event::Force { .. }))
                    .cloned()
                    .collect()
            })
            .collect()
    };
    assert!(pulses(&a) == pulses(&b), "the pulses changed");
}

#[test]
fn every_problem_is_reported_at_once_by_key() {
    let cfg = config(
        r#"
[[perturbation]]
kind = "force_pulse"
probability = 1.5
magnitude = [4.0, 2.0]
onset = [0.1, 0.9]
duration = 0.05
stiffness = 3.0

[[perturbation]]
kind = "target_jump"
time = 0.1
direction = "sideways"

[[perturbation]]
kind = "wobble"

[[perturbation]]
kind = "sequence"
targets = 2
interval = 0.001

[[perturbation]]
kind = "channel"
"#,
    );
    let err = cfg.validate().unwrap_err().to_string();
    for expected in [
        "[perturbation 1] stiffness = 3: is not a setting of `force_pulse`",
        "[perturbation 1] probability = 1.5: must be a probability in [0, 1]",
        "[perturbation 1] magnitude = [4.0, 2.0]: must be a finite number or [low, high] with low ≤ high",
        "[perturbation 2] direction = \"sideways\"",
        "[perturbation 3] kind = \"wobble\": must be one of force_pulse, load",
        "[perturbation 5] stiffness = (missing): `channel` needs it",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    // The checks against the episode (0.5 s of 0.01 s steps) come once the rest is right.
    let cfg = config(
        r#"
[[perturbation]]
kind = "force_pulse"
magnitude = 2.0
onset = [0.1, 0.9]
duration = 0.05

[[perturbation]]
kind = "sequence"
targets = 2
interval = 0.001
"#,
    );
    let err = cfg.validate().unwrap_err().to_string();
    assert!(
        err.contains("[perturbation 1] onset = [0.1, 0.9]: must be a finite number or [low, high] with 0 ≤ low ≤ high ≤ 0.5"),
        "{err}"
    );
    assert!(
        err.contains(
            "[perturbation 2] interval = 0.001: must be positive and at least one time step"
        ),
        "{err}"
    );
    assert!(err.starts_with("configuration: 2 problems"), "{err}");
}

#[test]
fn perturbations_round_trip_through_the_saved_configuration() {
    let cfg = config(
        r#"
[[perturbation]]
kind = "force_pulse"
probability = 0.5
magnitude = [1.0, 3.0]
direction = -90
onset = 0.1
duration = 0.05

[[perturbation]]
kind = "target_jump"
time = [0.1, 0.2]
"#,
    );
    let text = cfg.to_toml();
    assert!(text.contains("[[perturbation]]"), "{text}");
    assert_eq!(TrainConfig::from_toml(&text).unwrap(), cfg);
    // No table when there is nothing to perturb.
    assert!(!TrainConfig::default().to_toml().contains("perturbation"));
}

/// Simulates `episodes` of arm26 with constant excitations and returns each endpoint path.
fn simulate(episodes: Vec<Episode>, env: EnvConfig) -> (Vec<Vec<[f64; 2]>>, Batch) {
    let plant = models::compiled("arm26").unwrap();
    let mut env = Environment::new(plant, Box::new(RandomReach::default()), env).unwrap();
    let n = episodes.len();
    let mut rngs: Vec<ChaCha8Rng> = (0..n as u64).map(|b| episode_rng(0, 0, b)).collect();
    let mut out = Batch::default();
    env.run(episodes, &mut rngs, true, &mut out, |_, _, a| a.fill(0.05))
        .unwrap();
    let paths = (0..n)
        .map(|b| {
            (0..=out.steps)
                .map(|t| {
                    let c = env.cartesian(&out, t, b);
                    [c[0], c[1]]
                })
                .collect()
        })
        .collect();
    (paths, out)
}

fn reach_episode() -> Episode {
    let plant = models::compiled("arm26").unwrap();
    let ctx = TaskContext {
        plant: plant.as_ref(),
        steps: 50,
    };
    let joint0 = vec![0.8, 1.6, 0.0, 0.0];
    let start = ctx.endpoint(&joint0);
    Episode::new(joint0, start, [start[0] + 0.1, start[1], 0.0], None)
}

#[test]
fn a_pulse_pushes_the_endpoint_its_way_and_a_channel_holds_it_on_the_line() {
    let env = EnvConfig {
        episode_duration: 0.5,
        ..EnvConfig::default()
    };
    let plain = reach_episode();
    let mut pulsed = plain.clone();
    pulsed.events = vec![Event::Force {
        from: 5,
        until: 10,
        force: [0.0, 20.0, 0.0],
    }];
    let mut channelled = pulsed.clone();
    channelled.events.push(Event::Channel {
        from: plain.start,
        to: plain.target,
        stiffness: 5000.0,
        damping: 100.0,
    });
    let y0 = plain.start[1];
    let (paths, _) = simulate(vec![plain, pulsed, channelled], env);
    let dy = |k: usize, t: usize| paths[k][t][1] - paths[0][t][1];
    // Nothing before the pulse; then the endpoint moves in the pulse's direction (+y).
    assert_eq!(paths[1][5], paths[0][5]);
    assert!(dy(1, 12) > 0.002, "{}", dy(1, 12));
    // In the channel (along y = start) the endpoint stays near the line, much nearer than without it.
    let off = |k: usize| {
        paths[k][..=20]
            .iter()
            .map(|p| (p[1] - y0).abs())
            .fold(0.0, f64::max)
    };
    assert!(off(2) < 0.2 * off(1), "{} vs {}", off(2), off(1));
}

#[test]
fn target_jumps_and_rotations_change_what_the_network_sees() {
    let env = EnvConfig {
        episode_duration: 0.2,
        ..EnvConfig::default()
    };
    let mut e = reach_episode();
    let jump_to = [e.target[0], e.target[1] + 0.05, 0.0];
    e.events = vec![
        Event::TargetJump {
            step: 7,
            to: jump_to,
        },
        Event::VisionRotation {
            angle: std::f64::consts::FRAC_PI_2,
        },
    ];
    let (paths, out) = simulate(vec![e.clone()], env);
    let o = out.observations.len() / out.steps;
    for (t, obs) in out.observations.chunks(o).enumerate() {
        let goal = if t < 7 { e.target } else { jump_to };
        assert_eq!(obs[..2], goal[..2], "goal at step {t}");
        // Vision: the endpoint turned 90° about the start.
        let p = paths[0][t];
        let seen = [
            e.start[0] - (p[1] - e.start[1]),
            e.start[1] + (p[0] - e.start[0]),
        ];
        assert!((obs[2] - seen[0]).abs() < 1e-12 && (obs[3] - seen[1]).abs() < 1e-12);
    }
    assert_eq!(e.aim(6), e.target);
    assert_eq!(e.aim(7), jump_to);
}

#[test]
fn the_gradient_through_perturbed_episodes_matches_finite_differences() {
    // A pulse, a channel, a viscous field, a target jump and a rotated, delayed vision at once.
    let env = EnvConfig {
        episode_duration: 0.06,
        vision_delay: 0.02,
        ..EnvConfig::default()
    };
    let optim = OptimConfig {
        hidden: 6,
        batch_size: 2,
        seed: 5,
        ..OptimConfig::default()
    };
    let loss = LossConfig {
        speed: 0.1,
        ..LossConfig::default()
    };
    let mut tr = Trainer::new(
        || models::compiled("arm26").unwrap() as Box<dyn Plant>,
        || Box::new(RandomReach::default()) as Box<dyn Task>,
        env,
        loss,
        optim,
    )
    .unwrap();
    for k in 0..tr.policy.param_count() {
        let p = &mut tr.policy.params_mut()[k];
        *p = *p * 1.1 + 0.01 * ((k * 7919 % 13) as f64 - 6.0);
    }
    let mut a = reach_episode();
    a.joint0[2] = 0.5;
    a.events = vec![
        Event::Force {
            from: 1,
            until: 3,
            force: [3.0, -5.0, 0.0],
        },
        Event::Channel {
            from: a.start,
            to: a.target,
            stiffness: 300.0,
            damping: 20.0,
        },
        Event::TargetJump {
            step: 3,
            to: [a.target[0], a.target[1] + 0.04, 0.0],
        },
        Event::VisionRotation { angle: 0.4 },
    ];
    let mut b = reach_episode();
    b.joint0[3] = -0.7;
    b.events = vec![Event::Viscous {
        matrix: [[-5.0, 12.0], [-8.0, -3.0]],
    }];
    let eps = vec![a, b];
    let (stats, grad) = tr.loss_and_gradient(&eps, 1, true).unwrap();
    let n = tr.policy.param_count();
    let mut checked = 0;
    for k in (0..n).step_by((n / 25).max(1)).chain(n - 6..n) {
        let p0 = tr.policy.params()[k];
        let h = 1e-5 * p0.abs().max(1.0);
        let mut at = |p: f64| {
            tr.policy.params_mut()[k] = p;
            tr.loss_and_gradient(&eps, 1, true).unwrap().0.loss
        };
        let (l1, l2, m1, m2) = (at(p0 + h), at(p0 + 2.0 * h), at(p0 - h), at(p0 - 2.0 * h));
        tr.policy.params_mut()[k] = p0;
        let fd = (8.0 * (l1 - m1) - (l2 - m2)) / (12.0 * h);
        let scale = grad[k].abs().max(fd.abs());
        let floor = 1e-12 * stats.loss / h;
        assert!(
            (grad[k] - fd).abs() <= 1e-5 * scale + floor,
            "parameter {k}: BPTT {:e}, finite differences {fd:e}",
            grad[k]
        );
        if scale > 1e3 * floor {
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} derivatives resolved");
}

#[test]
fn eval_draws_joint_angles_and_muscle_forces_of_the_same_perturbed_reaches() {
    use motornet::training::{evaluate_run, evaluation_states, train, Hooks};
    let mut cfg = config(
        r#"
[[perturbation]]
kind = "force_pulse"
probability = 0.5
magnitude = [1.0, 4.0]
onset = [0.02, 0.1]
duration = 0.03
"#,
    );
    cfg.env.episode_duration = 0.2;
    cfg.optim.hidden = 8;
    cfg.optim.batch_size = 4;
    cfg.run.batches = 2;
    cfg.run.eval_every = 2;
    cfg.run.checkpoint_every = 2;
    cfg.run.eval_episodes = 6;
    cfg.run.eval_last_steps = 5;
    let dir = std::env::temp_dir().join(format!("motornet-perturbed-eval-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut progress = |_: u64, _: u64, _: f64, _: Option<f64>| {};
    let interrupted = || false;
    let hooks = Hooks {
        progress: &mut progress,
        interrupted: &interrupted,
    };
    train(&dir, &cfg, false, hooks).unwrap();
    let (metric, summary) = evaluate_run(&dir).unwrap();
    assert_eq!(Some(metric), summary.final_metric);
    for plot in ["joints", "forces"] {
        for ext in ["png", "svg"] {
            let p = dir.join("plots").join(format!("{plot}.{ext}"));
            assert!(
                std::fs::metadata(&p).unwrap().len() > 1000,
                "{}",
                p.display()
            );
        }
    }
    // The saved configuration keeps the perturbation, and the plotted states are the evaluation's own
    // movements: their joint positions give the evaluated endpoint paths.
    let text = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    let saved = TrainConfig::from_toml(&text).unwrap();
    assert_eq!(saved.perturbations, cfg.perturbations);
    let mut trainer = saved.trainer().unwrap();
    let (net, _, _) =
        motornet::runtime::policy::checkpoint::load(&dir.join("checkpoint.safetensors")).unwrap();
    trainer.policy = net;
    let eps = motornet::training::eval_episodes(&trainer, &saved);
    assert!(eps.iter().any(|e| !e.events.is_empty()) && eps.iter().any(|e| e.events.is_empty()));
    let ev = trainer.evaluate(&eps, 5).unwrap();
    let st = evaluation_states(&saved, &trainer, &eps).unwrap();
    let plant = saved.plant().unwrap();
    let ctx = TaskContext {
        plant: plant.as_ref(),
        steps: 20,
    };
    for (b, path) in ev.paths.iter().enumerate() {
        for (t, p) in path.iter().enumerate() {
            let mut joint = st.joints[b][t].clone();
            joint.extend([0.0, 0.0]);
            let e = ctx.endpoint(&joint);
            assert!(
                (e[0] - p[0]).abs() < 1e-12 && (e[1] - p[1]).abs() < 1e-12,
                "{b} {t}"
            );
        }
        assert!(st.forces[b][20].iter().all(|f| f.is_finite() && *f >= 0.0));
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// The MotorNet paper's Figure 5 on a small budget (`examples/force_pulses.rs` is the full run): a small
/// network trained for centre-out reaches with orthogonal pulses in a third of them; pulses to the left or
/// right of each reach push the endpoint their way, by more for the larger pulse, and the network brings
/// it back toward the path it takes without a pulse.
#[test]
fn figure_5_pulse_responses_deviate_in_the_pulse_direction_and_return() {
    use motornet::experiments::pulse_responses;
    let mut cfg = TrainConfig::from_toml(
        r#"
model = "arm26"
[task]
kind = "centre_out"
start_joint = [0.8, 1.6]
n_targets = 4
radius = 0.1
[env]
episode_duration = 0.5
[optim]
hidden = 24
batch_size = 8
learning_rate = 0.01
seed = 3
[run]
eval_episodes = 4
[[perturbation]]
kind = "force_pulse"
probability = 0.33
magnitude = [0.0, 6.0]
onset = [0.05, 0.25]
duration = 0.05
"#,
    )
    .unwrap();
    cfg.run.batches = 200;
    let mut trainer = cfg.trainer().unwrap();
    for b in 0..cfg.run.batches {
        trainer.train_batch(b).unwrap();
    }
    let mut reaches = trainer.episodes(0, 4);
    for e in &mut reaches {
        e.events.clear();
    }
    let r = pulse_responses(
        &mut trainer,
        &reaches,
        &[-6.0, -3.0, 0.0, 3.0, 6.0],
        &[0.15],
        0.05,
        5,
    )
    .unwrap();
    let none = r[2].mean_lateral();
    let dev = |k: usize| -> Vec<f64> {
        r[k].mean_lateral()
            .iter()
            .zip(&none)
            .map(|(a, b)| a - b)
            .collect()
    };
    let (onset, end) = (r[0].onset, r[0].onset + r[0].duration);
    assert_eq!((onset, end), (15, 20));
    for k in [0, 1, 3, 4] {
        let d = dev(k);
        let sign = r[k].magnitude.signum();
        // Nothing before the pulse.
        assert!(d[..=onset].iter().all(|v| v.abs() < 1e-12), "{k}");
        // Pushed the pulse's way.
        let peak = d
            .iter()
            .copied()
            .fold(0.0, |a: f64, v| if v.abs() > a.abs() { v } else { a });
        assert!(
            peak * sign > 0.002,
            "magnitude {}: peak {peak}",
            r[k].magnitude
        );
        // And brought back toward the unperturbed path.
        let last = *d.last().unwrap();
        assert!(
            last.abs() < 0.5 * peak.abs(),
            "magnitude {}: {last} of {peak}",
            r[k].magnitude
        );
        eprintln!(
            "pulse {:+} N: peak {:+.4} m, final {:+.4} m",
            r[k].magnitude, peak, last
        );
    }
    // Larger pulses push further.
    let peak = |k: usize| dev(k).iter().map(|v| v.abs()).fold(0.0, f64::max);
    assert!(peak(4) > peak(3) && peak(0) > peak(1));
}

#[test]
fn a_pulse_longer_than_any_episode_lasts_to_the_end_without_overflow() {
    let cfg = config(
        "[[perturbation]]\nkind = \"force_pulse\"\nmagnitude = 1.0\nonset = 0.1\nduration = 1e300\n",
    );
    let eps = draw(&cfg, 2, 1);
    assert!(
        matches!(
            eps[0].events[..],
            [Event::Force {
                from: 10,
                until: usize::MAX,
                ..
            }]
        ),
        "{:?}",
        eps[0].events
    );
}

/// The MotorNet paper's Figure 1 on a small budget (`examples/curl_adaptation.rs` is the full run, with
/// the same loss terms): a small network learns centre-out reaches without a field; a curl field then
/// pushes the reaches counter-clockwise; training in the field shrinks that deviation; and on catch
/// trials (the field switched off) the adapted network errs the other way, clockwise.
#[test]
fn figure_1_curl_adaptation_shrinks_the_deviation_and_leaves_an_opposite_after_effect() {
    use motornet::experiments::{adapt, probe_reaches};
    let recipe = r#"
model = "arm26"
[task]
kind = "centre_out"
start_joint = [1.178, 1.353]
n_targets = 4
radius = 0.1
[env]
episode_duration = 0.5
[loss]
position = 0.5
activation = 5.0
activation_scale = "max_force"
hidden = 0.1
hidden_derivative = 50.0
[optim]
hidden = 24
batch_size = 8
learning_rate = 0.01
seed = 1
"#;
    let curl = 15.0;
    let cfg = TrainConfig::from_toml(recipe).unwrap();
    let mut trainer = cfg.trainer().unwrap();
    let baseline_batches = 500;
    for b in 0..baseline_batches {
        trainer.train_batch(b).unwrap();
    }
    let mut prober = cfg.trainer().unwrap();
    prober.policy = trainer.policy.clone();
    let probe = prober.episodes(0, 4);
    let baseline = probe_reaches(&mut prober, &probe, 0.0, 5).unwrap();
    assert!(
        baseline.final_error < 0.03,
        "the baseline reaches end {} m from their targets",
        baseline.final_error
    );
    // The speed is the endpoint velocity's norm: each reach's peak agrees with the peak of the path's
    // differences over dt (the vertical reaches too, whose x velocity alone stays near 0).
    let dt = prober.timestep();
    for (path, speed) in baseline.paths.iter().zip(&baseline.speeds) {
        let differenced = path
            .windows(2)
            .map(|w| (w[1][0] - w[0][0]).hypot(w[1][1] - w[0][1]) / dt)
            .fold(0.0, f64::max);
        let peak = speed.iter().copied().fold(0.0, f64::max);
        assert!(
            differenced > 0.1 && (peak - differenced).abs() < 0.2 * differenced,
            "peak speed {peak} m/s, by the path's differences {differenced} m/s"
        );
    }

    let field = TrainConfig::from_toml(&format!(
        "{recipe}\n[[perturbation]]\nkind = \"curl\"\nk = {curl}\n"
    ))
    .unwrap();
    let mut adapting = field.trainer().unwrap();
    adapting.policy = trainer.policy.clone();
    adapting.adam = trainer.adam.clone();
    let curve = adapt(
        &mut adapting,
        &mut prober,
        &probe,
        curl,
        baseline_batches,
        200,
        50,
        |p| {
            eprintln!(
                "batch {:>3}: loss {:.4}, in the field {:+.4} m, catch {:+.4} m",
                p.batch, p.loss, p.in_field, p.catch
            )
        },
    )
    .unwrap();
    assert_eq!(
        curve.iter().map(|p| p.batch).collect::<Vec<_>>(),
        [0, 50, 100, 150, 200]
    );
    let (first, last) = (&curve[0], curve.last().unwrap());
    // Before adaptation: the field's probe is the baseline network's, and it deflects the reaches
    // counter-clockwise (positive), far more than the baseline's own deviation.
    assert_eq!(first.catch, baseline.mean_peak_lateral());
    assert!(
        first.in_field > 0.005 && first.in_field > 3.0 * first.catch.abs(),
        "{first:?}"
    );
    // Adaptation shrinks the deviation in the field.
    assert!(
        last.in_field.abs() < 0.5 * first.in_field,
        "{first:?} → {last:?}"
    );
    // The after-effect: with the field off, the adapted network errs clockwise (negative), opposite to
    // the field's push, and further than before adaptation.
    assert!(
        last.catch < -0.003 && last.catch < first.catch - 0.003,
        "{first:?} → {last:?}"
    );
    let after = probe_reaches(&mut prober, &probe, 0.0, 5).unwrap();
    assert_eq!(after.mean_peak_lateral(), last.catch);
    assert!(
        after.peak_lateral.iter().all(|&d| d < 0.0),
        "{:?}",
        after.peak_lateral
    );
}
