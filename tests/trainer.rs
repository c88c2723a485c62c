//! The trainer, environment and tasks given unusual counts: more or fewer episodes than the batch size,
//! no episodes, evaluation windows outside an episode, tasks configured with nothing to draw from. Each
//! must either work (and mean what it says) or be a clear error — never a panic, a silent drop or NaN.

use motornet::runtime::env::{Batch, EnvConfig, Environment};
use motornet::runtime::task::{CentreOut, ChaCha8Rng, DelayedReach, RandomReach, Task};
use motornet::runtime::train::{LossConfig, OptimConfig, Trainer};
use motornet::{Error, InterpretedPlant};

const ARM26: &str = include_str!("../models/arm26.mnet");

fn arm26() -> InterpretedPlant {
    InterpretedPlant::from_source(ARM26, "arm26.mnet").expect("arm26 compiles")
}

fn env() -> EnvConfig {
    EnvConfig {
        episode_duration: 0.05, // 5 steps: the interpreter in a debug build is slow
        ..EnvConfig::default()
    }
}

fn trainer(batch_size: usize, threads: usize) -> Trainer<InterpretedPlant> {
    trainer_with(batch_size, threads, || Box::new(RandomReach::default())).expect("a valid trainer")
}

fn trainer_with(
    batch_size: usize,
    threads: usize,
    task: impl Fn() -> Box<dyn Task>,
) -> Result<Trainer<InterpretedPlant>, Error> {
    let loss = LossConfig {
        activation: 0.1,
        hidden: 0.01,
        ..LossConfig::default()
    };
    let optim = OptimConfig {
        hidden: 4,
        batch_size,
        threads,
        ..OptimConfig::default()
    };
    Trainer::new(arm26, task, env(), loss, optim)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1e-300)
}

#[test]
fn the_loss_over_more_episodes_than_the_batch_size_is_the_mean_over_all_of_them() {
    for threads in [1, 2] {
        let mut tr = trainer(2, threads);
        let episodes = tr.episodes(0, 4);
        let (all, all_grads) = tr.loss_and_gradient(&episodes, 0, true).unwrap();
        // One episode at a time: fewer episodes than the batch size (and than the threads) work too.
        let singles: Vec<_> = episodes
            .iter()
            .map(|e| {
                tr.loss_and_gradient(std::slice::from_ref(e), 0, true)
                    .unwrap()
            })
            .collect();
        let mean = singles.iter().map(|s| s.0.loss).sum::<f64>() / 4.0;
        assert!(
            close(all.loss, mean),
            "threads {threads}: loss over 4 episodes {} is not the mean {mean} of the episodes' losses",
            all.loss
        );
        for (name, v) in &all.terms {
            let m = singles
                .iter()
                .map(|s| s.0.terms.iter().find(|t| t.0 == *name).unwrap().1)
                .sum::<f64>()
                / 4.0;
            assert!(close(*v, m), "threads {threads}: term {name}: {v} vs {m}");
        }
        for (i, g) in all_grads.iter().enumerate() {
            let m = singles.iter().map(|s| s.1[i]).sum::<f64>() / 4.0;
            assert!(
                (g - m).abs() <= 1e-12 * (1.0 + m.abs()),
                "gradient {i}: {g} vs {m}"
            );
        }
        // Three episodes over two threads: split unevenly, still the mean.
        let (three, _) = tr.loss_and_gradient(&episodes[..3], 0, true).unwrap();
        let mean3 = singles[..3].iter().map(|s| s.0.loss).sum::<f64>() / 3.0;
        assert!(close(three.loss, mean3), "{} vs {mean3}", three.loss);
    }
}

#[test]
fn batches_of_the_configured_size_are_unchanged_by_other_sizes_in_between() {
    let mut fresh = trainer(4, 2);
    let expected: Vec<f64> = (0..2).map(|b| fresh.train_batch(b).unwrap().loss).collect();
    let mut tr = trainer(4, 2);
    let first = tr.train_batch(0).unwrap().loss;
    let odd = tr.episodes(7, 7);
    tr.loss_and_gradient(&odd, 7, false).unwrap();
    tr.loss_and_gradient(&odd[..1], 7, false).unwrap();
    let second = tr.train_batch(1).unwrap().loss;
    assert_eq!(
        [first.to_bits(), second.to_bits()],
        [expected[0].to_bits(), expected[1].to_bits()]
    );
}

#[test]
fn no_episodes_is_an_error_for_the_loss_and_for_evaluation() {
    let mut tr = trainer(2, 2);
    let err = tr.loss_and_gradient(&[], 3, true).unwrap_err().to_string();
    assert!(
        err.contains("batch 3") && err.contains("no episodes"),
        "{err}"
    );
    let err = tr.evaluate(&[], 1).unwrap_err().to_string();
    assert!(err.contains("no episodes"), "{err}");
}

#[test]
fn evaluating_zero_steps_or_more_steps_than_an_episode_has_is_an_error() {
    let mut tr = trainer(2, 1);
    let episodes = tr.episodes(0, 2);
    let steps = tr.steps();
    for last in [0, steps + 1, usize::MAX] {
        let err = tr.evaluate(&episodes, last).unwrap_err().to_string();
        assert!(
            err.contains(&format!("last {last} steps")) && err.contains(&format!("{steps} steps")),
            "{err}"
        );
    }
    for last in [1, steps] {
        let ev = tr.evaluate(&episodes, last).unwrap();
        assert!(ev.metric.is_finite() && ev.metric > 0.0);
    }
}

#[test]
fn misconfigured_tasks_are_errors_when_the_environment_is_built() {
    let centre_out = |n_targets: usize, start_joint: Vec<f64>, radius: f64| {
        move || -> Box<dyn Task> {
            Box::new(CentreOut {
                start_joint: start_joint.clone(),
                n_targets,
                radius,
                curl: 0.0,
            })
        }
    };
    type MakeTask = Box<dyn Fn() -> Box<dyn Task>>;
    let cases: Vec<(MakeTask, &str)> = vec![
        (
            Box::new(centre_out(0, vec![0.8, 1.6], 0.1)),
            "n_targets must be at least 1",
        ),
        (
            Box::new(centre_out(8, vec![0.8], 0.1)),
            "start_joint (one position per coordinate): expected 2 values, got 1",
        ),
        (
            Box::new(centre_out(8, vec![0.8, 9.0], 0.1)),
            "start_joint of `elbow` is 9",
        ),
        (
            Box::new(centre_out(8, vec![0.8, 1.6], f64::NAN)),
            "radius must be a finite number",
        ),
        (
            Box::new(|| -> Box<dyn Task> {
                Box::new(DelayedReach {
                    go_steps: (4, 2),
                    catch_probability: 0.0,
                })
            }),
            "go_steps (4, 2) must be ordered",
        ),
        (
            Box::new(|| -> Box<dyn Task> {
                Box::new(DelayedReach {
                    go_steps: (1, 2),
                    catch_probability: 1.5,
                })
            }),
            "catch_probability must be between 0 and 1",
        ),
    ];
    for (task, message) in cases {
        let err = match trainer_with(2, 1, &task) {
            Ok(_) => panic!("accepted a task that should fail with `{message}`"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(message), "`{message}` is not in: {err}");
        let err = Environment::new(arm26(), task(), env()).err().unwrap();
        assert!(err.to_string().contains(message), "{err}");
    }
    // A valid centre-out task draws targets around the start, one per episode in turn.
    let mut tr = trainer_with(2, 1, centre_out(4, vec![0.8, 1.6], 0.1)).unwrap();
    let episodes = tr.episodes(0, 4);
    for e in &episodes {
        let d = ((e.target[0] - e.start[0]).powi(2) + (e.target[1] - e.start[1]).powi(2)).sqrt();
        assert!((d - 0.1).abs() < 1e-12);
    }
    assert!(tr.loss_and_gradient(&episodes, 0, true).is_ok());
}

#[test]
fn an_environment_given_a_wrong_joint_state_or_too_few_random_streams_says_so() {
    let mut env = Environment::new(arm26(), Box::new(RandomReach::default()), env()).unwrap();
    let mut rng = <ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
    let mut episodes = env.draw(3, &mut rng);
    let mut rngs: Vec<ChaCha8Rng> = (0..3)
        .map(<ChaCha8Rng as rand::SeedableRng>::seed_from_u64)
        .collect();
    let mut out = Batch::default();
    let err = env
        .run(
            episodes.clone(),
            &mut rngs[..2],
            true,
            &mut out,
            |_, _, _| {},
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "random streams (one per episode): expected 3 values, got 2"
    );
    episodes[2].joint0.pop();
    let err = env
        .run(episodes, &mut rngs, true, &mut out, |_, _, _| {})
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "episode 2: reset: `joint`: expected 4 values, got 3"
    );
}
