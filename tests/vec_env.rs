//! Environments stepped live (`motornet::runtime::vec_env::VecEnv`, what gymnasium and the Python bindings
//! drive) against the trainer's `Environment::run`: the same observations, noise, perturbations and
//! states, value for value, on one thread and on two; and their errors.

use motornet::runtime::env::{Batch, Environment};
use motornet::runtime::task::{
    Cartesian, ChaCha8Rng, Episode, Load, RandomReach, Task, TaskContext,
};
use motornet::runtime::train::episode_rng;
use motornet::runtime::vec_env::{Outputs, VecEnv};
use motornet::training::TrainConfig;
use motornet::Plant;

/// A delayed reach with every kind of noise, delays, stacked actions, a go cue and perturbations that
/// change loads, the goal and vision.
const CONFIG: &str = r#"
model = "arm26"
[task]
kind = "delayed_reach"
go_steps = [3, 12]
catch_probability = 0.2
[env]
episode_duration = 0.3
proprioception_delay = 0.02
vision_delay = 0.05
action_noise = 0.01
proprioception_noise = 0.001
vision_noise = 0.002
observation_noise = 0.003
action_frame_stacking = 2

[[perturbation]]
kind = "force_pulse"
magnitude = [2.0, 4.0]
onset = [0.05, 0.1]
duration = 0.05
probability = 0.5

[[perturbation]]
kind = "curl"
k = 10.0
probability = 0.5

[[perturbation]]
kind = "target_jump"
time = [0.1, 0.2]
probability = 0.5

[[perturbation]]
kind = "visuomotor_rotation"
angle = [20.0, 40.0]
probability = 0.5
"#;

fn environment(cfg: &TrainConfig) -> Environment<Box<dyn Plant>> {
    Environment::new(cfg.plant().unwrap(), cfg.build_task(), cfg.env.clone()).unwrap()
}

fn action(t: usize, b: usize, k: usize) -> f64 {
    0.3 + 0.25 * (0.1 * t as f64 + 0.7 * b as f64 + 1.3 * k as f64).sin()
}

/// Per-environment outputs of one step.
#[derive(Clone, Debug, PartialEq)]
struct Out {
    obs: Vec<f64>,
    reward: Vec<f64>,
    cartesian: Vec<f64>,
    goal: Vec<f64>,
    aim: Vec<f64>,
}

impl Out {
    fn new(n: usize, o: usize) -> Out {
        Out {
            obs: vec![0.0; n * o],
            reward: vec![0.0; n],
            cartesian: vec![0.0; n * 4],
            goal: vec![0.0; n * 2],
            aim: vec![0.0; n * 2],
        }
    }
    fn outputs(&mut self) -> Outputs<'_> {
        Outputs {
            observations: &mut self.obs,
            reward: &mut self.reward,
            cartesian: &mut self.cartesian,
            goal: &mut self.goal,
            aim: &mut self.aim,
        }
    }
}

fn draw(env: &Environment<Box<dyn Plant>>, n: usize) -> Vec<Episode> {
    let mut rng = episode_rng(7, 0, u64::MAX);
    env.task.draw(
        &TaskContext {
            plant: &env.plant,
            steps: env.steps,
        },
        n,
        &mut rng,
    )
}

#[test]
fn live_steps_match_the_trainers_environment_value_for_value_on_any_number_of_threads() {
    // With noise, and without (the observation loops differ).
    let quiet: String = CONFIG
        .lines()
        .filter(|line| !line.contains("_noise"))
        .map(|line| format!("{line}\n"))
        .collect();
    for text in [CONFIG, quiet.as_str()] {
        matches_the_trainer(text);
    }
}

fn matches_the_trainer(text: &str) {
    let cfg = TrainConfig::from_toml(text).unwrap();
    cfg.validate().unwrap();
    // Large enough for two threads to share the steps; not a multiple of the block size.
    let n = 1030;
    let mut reference = environment(&cfg);
    let episodes = draw(&reference, n);
    assert!(
        episodes.iter().any(|e| e.events.len() >= 3),
        "perturbed episodes"
    );
    let streams = || -> Vec<ChaCha8Rng> { (0..n as u64).map(|b| episode_rng(7, 0, b)).collect() };
    let mut run = Batch::default();
    reference
        .run(
            episodes.clone(),
            &mut streams(),
            false,
            &mut run,
            |t, _, a| {
                for (i, v) in a.iter_mut().enumerate() {
                    *v = action(t, i / 6, i % 6);
                }
            },
        )
        .unwrap();
    let (steps, o, s) = (
        run.steps,
        reference.obs_dim(),
        reference.plant.info().state_dim(),
    );
    let info = reference.plant.info().clone();

    for threads in [1, 2] {
        let mut live = VecEnv::new(environment(&cfg), n, threads).unwrap();
        let mut out = Out::new(n, o);
        live.reset(episodes.clone(), streams(), out.outputs())
            .unwrap();
        assert_eq!(
            out.obs,
            run.observations[..n * o],
            "{threads} threads, reset"
        );
        for t in 0..steps {
            let actions: Vec<f64> = (0..n * 6).map(|i| action(t, i / 6, i % 6)).collect();
            live.step(&actions, out.outputs()).unwrap();
            let at = (t + 1) * n;
            assert_eq!(
                out.obs,
                run.observations[at * o..(at + n) * o],
                "{threads} threads, step {t}"
            );
            for (b, e) in episodes.iter().enumerate() {
                let state = &run.states[(at + b) * s..(at + b + 1) * s];
                let p = info.endpoint(state);
                assert_eq!(out.cartesian[b * 4..b * 4 + 4], [p[0], p[1], p[3], p[4]]);
                assert_eq!(out.goal[b * 2..b * 2 + 2], e.goal(t + 1)[..2]);
                let aim = e.aim(t + 1);
                assert_eq!(out.aim[b * 2..b * 2 + 2], aim[..2]);
                assert_eq!(
                    out.reward[b],
                    -((p[0] - aim[0]).abs() + (p[1] - aim[1]).abs())
                );
            }
        }
        assert_eq!(live.states(), run.states[steps * n * s..]);
        assert_eq!(live.t(), steps);
        // The episodes are over.
        let err = live.step(&vec![0.1; n * 6], out.outputs()).unwrap_err();
        assert!(err.to_string().contains("over after 30 steps"), "{err}");
    }
}

#[test]
fn bad_actions_and_diverging_states_are_named_and_need_a_reset() {
    let cfg = TrainConfig::from_toml("model = \"arm26\"\n[env]\nepisode_duration = 0.1").unwrap();
    let n = 600;
    let mut live = VecEnv::new(environment(&cfg), n, 2).unwrap();
    let o = live.env().obs_dim();
    let mut out = Out::new(n, o);
    let err = live.step(&vec![0.1; n * 6], out.outputs()).unwrap_err();
    assert!(err.to_string().contains("before the first reset"), "{err}");
    let episodes = draw(live.env(), n);
    let streams = || (0..n as u64).map(|b| episode_rng(1, 0, b)).collect();
    live.reset(episodes.clone(), streams(), out.outputs())
        .unwrap();

    // A wrong number of actions, and a NaN: refused before anything moves.
    let err = live.step(&[0.1; 6], out.outputs()).unwrap_err();
    assert!(err.to_string().contains("actions"), "{err}");
    let mut actions = vec![0.1; n * 6];
    actions[437 * 6 + 2] = f64::NAN;
    let err = live.step(&actions, out.outputs()).unwrap_err().to_string();
    assert!(
        err.contains("environment 437") && err.contains("NaN"),
        "{err}"
    );
    assert_eq!(live.t(), 0);

    // A NaN load from the task (at environments 437 and 590 from step 2) is named, with the first
    // environment whose load it is; then only a reset helps.
    let mut live = VecEnv::new(faulty(&cfg), n, 2).unwrap();
    let mut marked = episodes.clone();
    marked[590].target[2] = NAN_LOAD;
    marked[437].target[2] = NAN_LOAD;
    live.reset(marked, streams(), out.outputs()).unwrap();
    live.step(&vec![0.1; n * 6], out.outputs()).unwrap();
    live.step(&vec![0.1; n * 6], out.outputs()).unwrap();
    let err = live
        .step(&vec![0.1; n * 6], out.outputs())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("non-finite endpoint load in step 2 of environment 437"),
        "{err}"
    );
    let again = live
        .step(&vec![0.1; n * 6], out.outputs())
        .unwrap_err()
        .to_string();
    assert!(again.contains("reset the environments"), "{again}");

    // An overflowing load makes the states non-finite: the first such state is named.
    let mut marked = episodes.clone();
    marked[599].target[2] = HUGE_LOAD;
    marked[333].target[2] = HUGE_LOAD;
    live.reset(marked, streams(), out.outputs()).unwrap();
    let mut err = None;
    for _ in 0..5 {
        if let Err(e) = live.step(&vec![0.1; n * 6], out.outputs()) {
            err = Some(e.to_string());
            break;
        }
    }
    let err = err.expect("a load of f64::MAX overflows the state");
    assert!(
        err.contains("non-finite value") && err.contains("of effector 333 after step"),
        "{err}"
    );
    live.reset(episodes, streams(), out.outputs()).unwrap();
    live.step(&vec![0.1; n * 6], out.outputs()).unwrap();
}

const NAN_LOAD: f64 = 1.0;
const HUGE_LOAD: f64 = 2.0;

/// Random reaches whose episodes are marked, by an unused third target component, for a NaN load from
/// step 2 on or a load as large as a float can be.
struct Faulty(RandomReach);

impl Task for Faulty {
    fn name(&self) -> String {
        "faulty".into()
    }
    fn draw(&self, ctx: &TaskContext, batch: usize, rng: &mut ChaCha8Rng) -> Vec<Episode> {
        self.0.draw(ctx, batch, rng)
    }
    fn endpoint_load(&self, t: usize, e: &Episode, _c: &Cartesian) -> Load {
        let f = match e.target[2] {
            NAN_LOAD if t >= 2 => f64::NAN,
            HUGE_LOAD => f64::MAX,
            _ => 0.0,
        };
        ([f, f, 0.0], [[0.0; 6]; 3])
    }
}

fn faulty(cfg: &TrainConfig) -> Environment<Box<dyn Plant>> {
    let task = Box::new(Faulty(RandomReach::default()));
    Environment::new(cfg.plant().unwrap(), task, cfg.env.clone()).unwrap()
}
