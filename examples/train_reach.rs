//! Train a GRU to control `arm26` (MotorNet's six-muscle arm) on random reaches, from Rust.
//!
//! This is what `motornet train` does, through the library: a [`TrainConfig`] (the same settings as a
//! `config.toml`), [`train`] into a run directory (configuration, log, checkpoint, summary, plots), and
//! [`evaluate_run`] to rerun the saved checkpoint.
//!
//! ```sh
//! cargo run --release --example train_reach                      # 1500 batches, about 25 s on 2 cores
//! cargo run --release --example train_reach -- --batches 5000   # longer
//! ```
//! Flags: `--batches N`, `--hidden N`, `--threads N`, `--seed N`, `--out DIR` (default
//! `runs/examples/train_reach`).

use motornet::training::{evaluate_run, train, Hooks, TaskConfig, TrainConfig};
use std::path::PathBuf;
use std::time::Instant;

mod common;
use common::flag;

fn main() -> Result<(), motornet::Error> {
    // arm26, 1 s episodes, hidden 128, batches of 32 (the defaults), random reaches without a field.
    let mut cfg = TrainConfig {
        task: TaskConfig::RandomReach { curl: 0.0 },
        ..TrainConfig::default()
    };
    cfg.run.batches = flag("batches", 1500);
    cfg.run.eval_every = (cfg.run.batches / 15).max(1);
    cfg.run.checkpoint_every = cfg.run.eval_every;
    cfg.optim.hidden = flag("hidden", 128);
    cfg.optim.threads = flag("threads", 2);
    cfg.optim.seed = flag("seed", 0);
    let dir: PathBuf = flag("out", PathBuf::from("runs/examples/train_reach"));

    println!(
        "Training a GRU (hidden {}) to reach to random targets with `{}`: {} batches of {} one-second \
         episodes, {} threads.",
        cfg.optim.hidden, cfg.model, cfg.run.batches, cfg.optim.batch_size, cfg.optim.threads
    );
    println!(
        "Evaluation metric: mean endpoint-to-target distance over the last {} steps of {} fixed, \
         noise-free reaches.\n",
        cfg.run.eval_last_steps, cfg.run.eval_episodes
    );
    println!(
        "{:>8} {:>10} {:>12} {:>10}",
        "batch", "loss", "metric (cm)", "seconds"
    );
    let start = Instant::now();
    let every = cfg.run.eval_every;
    let mut progress = |done: u64, total: u64, loss: f64, metric: Option<f64>| {
        if done.is_multiple_of(every) || done == total {
            let m = metric.map_or("—".to_string(), |m| format!("{:.3}", m * 100.0));
            println!(
                "{done:>8} {loss:>10.5} {m:>12} {:>10.1}",
                start.elapsed().as_secs_f64()
            );
        }
    };
    let never = || false;
    let (_, summary) = train(
        &dir,
        &cfg,
        false,
        Hooks {
            progress: &mut progress,
            interrupted: &never,
        },
    )?;

    println!("\nEvaluation metric over training:");
    for e in &summary.evaluations {
        let bar = "#".repeat((e.metric * 100.0).round().min(60.0) as usize);
        println!(
            "  batch {:>6}  {:>7.3} cm  {bar}",
            e.batch,
            e.metric * 100.0
        );
    }
    println!(
        "{} batches in {:.1} s ({:.1} ms per batch).",
        summary.batches_done, summary.train_seconds, summary.ms_per_batch
    );
    if let Some(s) = summary.seconds_to_0_7cm {
        println!("The metric first reached 0.7 cm after {s:.1} s of training.");
    }

    // The checkpoint alone reproduces the final metric (this is `motornet eval DIR`).
    let (metric, _) = evaluate_run(&dir)?;
    println!(
        "Re-evaluated from {}: {:.3} cm.",
        dir.join("checkpoint.safetensors").display(),
        metric * 100.0
    );
    println!(
        "Plots (loss, reaches, speed, activations; PNG and SVG) in {}.",
        dir.join("plots").display()
    );
    Ok(())
}
