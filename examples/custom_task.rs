//! A task of your own: implement `motornet::runtime::task::Task` and hand it to `Trainer::new`.
//!
//! The task here: reach left or right along a horizontal line, 5–15 cm, from start postures around
//! (0.8, 1.6) rad, inside a *force channel* — a stiff virtual wall (a spring and a damper acting only
//! across the line) that keeps the hand on it, as in force-channel experiments — and hold at the target.
//! The channel's force depends on the endpoint state, so the task also returns its derivative, through
//! which the training gradient flows.
//!
//! After training, the example reports how close the hand ends to the target, how far it strays from the
//! line, and the peak force it pushes into the channel walls — the quantity force-channel experiments
//! measure.
//!
//! ```sh
//! cargo run --release --example custom_task                    # about 5 s
//! cargo run --release --example custom_task -- --batches 2000
//! ```
//! Flags: `--batches N`, `--threads N`, `--out DIR` (reach plot; default `runs/examples/custom_task`).

use motornet::models::Arm26;
use motornet::runtime::env::EnvConfig;
use motornet::runtime::task::ChaCha8Rng;
use motornet::runtime::task::RandomSource;
use motornet::runtime::task::{Cartesian, Episode, Load, Task, TaskContext};
use motornet::runtime::train::{LossConfig, OptimConfig, Trainer};
use std::path::PathBuf;

mod common;
use common::flag;

/// Reaches along a horizontal line through the start, inside a force channel.
struct ChannelReach {
    /// Channel stiffness across the line, N/m.
    stiffness: f64,
    /// Channel damping across the line, N·s/m.
    damping: f64,
}

impl ChannelReach {
    /// Unit normal of the episode's start–target line.
    fn normal(e: &Episode) -> [f64; 2] {
        let (dx, dy) = (e.target[0] - e.start[0], e.target[1] - e.start[1]);
        let len = dx.hypot(dy).max(1e-12);
        [-dy / len, dx / len]
    }
}

impl Task for ChannelReach {
    fn name(&self) -> String {
        "channel_reach".into()
    }

    fn draw(&self, ctx: &TaskContext, batch: usize, rng: &mut ChaCha8Rng) -> Vec<Episode> {
        (0..batch)
            .map(|_| {
                // A start posture around shoulder 0.8 rad, elbow 1.6 rad, at rest.
                let joint0 = vec![
                    0.8 + rng.random_range(-0.2..0.2),
                    1.6 + rng.random_range(-0.2..0.2),
                    0.0,
                    0.0,
                ];
                let start = ctx.endpoint(&joint0);
                let side = if rng.random::<bool>() { 1.0 } else { -1.0 };
                let distance = rng.random_range(0.05..0.15);
                Episode {
                    joint0,
                    start,
                    target: [start[0] + side * distance, start[1], start[2]],
                    // Move at once. `Some(step)` would make the endpoint hold at `start` until a go cue at
                    // that step (then also return true from `has_go_cue`, so the network sees the cue).
                    go_step: None,
                    // No force pulses, target jumps, … (`motornet::runtime::task::Event`).
                    events: Vec::new(),
                }
            })
            .collect()
    }

    /// F = −(K·d + B·v⊥)·n with n the line's normal, d = (p − start)·n and v⊥ = v·n; so
    /// ∂F/∂p = −K·n nᵀ and ∂F/∂v = −B·n nᵀ. The endpoint state `c` is `[x, y, z, vx, vy, vz]` (z = 0
    /// in this planar arm); the derivative has a row per force component and a column per state one.
    fn endpoint_load(&self, _t: usize, e: &Episode, c: &Cartesian) -> Load {
        let n = Self::normal(e);
        let d = (c[0] - e.start[0]) * n[0] + (c[1] - e.start[1]) * n[1];
        let v = c[3] * n[0] + c[4] * n[1];
        let magnitude = -(self.stiffness * d + self.damping * v);
        let mut jac = [[0.0; 6]; 3];
        for i in 0..2 {
            for k in 0..2 {
                jac[i][k] = -self.stiffness * n[i] * n[k];
                jac[i][3 + k] = -self.damping * n[i] * n[k];
            }
        }
        ([magnitude * n[0], magnitude * n[1], 0.0], jac)
    }
}

fn task() -> ChannelReach {
    ChannelReach {
        stiffness: 1000.0,
        damping: 40.0,
    }
}

fn main() -> Result<(), motornet::Error> {
    let batches: u64 = flag("batches", 800);
    let out: PathBuf = flag("out", PathBuf::from("runs/examples/custom_task"));
    println!(
        "Training a GRU to reach along a horizontal line inside a force channel (K = {} N/m, B = {} N·s/m) \
         with `arm26`: {batches} batches.",
        task().stiffness,
        task().damping
    );
    let env = EnvConfig {
        episode_duration: 0.8,
        ..EnvConfig::default()
    };
    let loss = LossConfig {
        // A little effort cost keeps the arm from co-contracting against the walls.
        activation: 1e-3,
        ..LossConfig::default()
    };
    let optim = OptimConfig {
        hidden: 64,
        batch_size: 32,
        learning_rate: 3e-3,
        threads: flag("threads", 2),
        seed: 1,
        ..OptimConfig::default()
    };
    // One plant and one task per worker thread; the compiled model type can be used directly.
    let mut trainer = Trainer::new(Arm26::new, || Box::new(task()), env, loss, optim)?;
    println!(
        "The network sees {} inputs (goal, delayed vision, proprioception) and drives {} muscles.",
        trainer.obs_dim(),
        trainer.muscle_names().len()
    );

    // Fixed evaluation episodes from a batch index training never uses.
    let test = trainer.episodes(u64::MAX, 64);
    let report = |trainer: &mut Trainer<Arm26>, label: &str| -> Result<(), motornet::Error> {
        let ev = trainer.evaluate(&test, 10)?;
        let task = task();
        let (mut stray, mut push) = (0.0f64, 0.0f64);
        for (path, e) in ev.paths.iter().zip(&test) {
            for (t, p) in path.iter().enumerate() {
                let n = ChannelReach::normal(e);
                stray = stray.max(((p[0] - e.start[0]) * n[0] + (p[1] - e.start[1]) * n[1]).abs());
                let (f, _) = task.endpoint_load(t, e, p);
                push = push.max(f[0].hypot(f[1]));
            }
        }
        println!(
            "{label:<16} endpoint error {:>6.2} cm | off the line at most {:>5.2} mm | peak channel force {:>5.1} N",
            ev.metric * 100.0,
            stray * 1000.0,
            push
        );
        Ok(())
    };
    report(&mut trainer, "before training")?;
    for b in 0..batches {
        let stats = trainer.train_batch(b)?;
        if (b + 1).is_multiple_of((batches / 4).max(1)) {
            println!("  batch {:>5}: loss {:.4}", b + 1, stats.loss);
            report(&mut trainer, &format!("after {}", b + 1))?;
        }
    }

    let ev = trainer.evaluate(&test[..16], 10)?;
    let paths: Vec<Vec<[f64; 2]>> = ev
        .paths
        .iter()
        .map(|p| p.iter().map(|s| [s[0], s[1]]).collect())
        .collect();
    let targets: Vec<[f64; 2]> = test[..16]
        .iter()
        .map(|e| [e.target[0], e.target[1]])
        .collect();
    let starts: Vec<[f64; 2]> = test[..16]
        .iter()
        .map(|e| [e.start[0], e.start[1]])
        .collect();
    std::fs::create_dir_all(&out).map_err(|e| motornet::Error::Input(e.to_string()))?;
    let files = motornet::plots::plot_reaches(
        &out,
        "channel_reaches",
        "Reaches in a force channel",
        &paths,
        &targets,
        &starts,
    )
    .map_err(|e| motornet::Error::Input(format!("plotting: {e}")))?;
    println!("Reach plot: {}", files[0].display());
    Ok(())
}
