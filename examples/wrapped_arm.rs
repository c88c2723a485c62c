//! Train a controller for `wrap_elbow`, the built-in arm whose muscles wrap over cylinders (an elbow
//! cylinder and one along the humerus; the paths agree with MuJoCo's), on random reaches.
//!
//! Of its three muscles only the biarticular one crosses the shoulder, and it can only pull one way, so
//! the shoulder cannot be controlled in both directions. As a model-parameter override this example
//! narrows the shoulder's range to 44–46° (the joint is clipped there); reaches are then along the elbow's
//! arc, which the triceps, biceps and biarticular muscle can drive. `--full-shoulder` trains with the
//! model's own ranges instead, to see the difference.
//!
//! ```sh
//! cargo run --release --example wrapped_arm                    # about 10 s
//! cargo run --release --example wrapped_arm -- --batches 3000
//! ```
//! Flags: `--batches N`, `--threads N`, `--full-shoulder`, `--out DIR` (default `runs/examples/wrapped_arm`).

use motornet::training::{train, Hooks, TrainConfig};
use motornet::Plant;
use std::path::PathBuf;

mod common;
use common::flag;

fn main() -> Result<(), motornet::Error> {
    let full_shoulder = std::env::args().any(|a| a == "--full-shoulder");
    let mut cfg = TrainConfig {
        model: "wrap_elbow".into(),
        ..TrainConfig::default()
    };
    if !full_shoulder {
        cfg.overrides = vec![
            "shoulder.range.min=44 deg".into(),
            "shoulder.range.max=46 deg".into(),
        ];
    }
    cfg.optim.hidden = 64;
    cfg.optim.learning_rate = 3e-3;
    cfg.optim.threads = flag("threads", 2);
    cfg.run.batches = flag("batches", 1000);
    cfg.run.eval_every = (cfg.run.batches / 10).max(1);
    cfg.run.checkpoint_every = cfg.run.eval_every;
    let dir: PathBuf = flag("out", PathBuf::from("runs/examples/wrapped_arm"));

    let plant = cfg.plant()?;
    let info = plant.info();
    println!(
        "Model `{}`: {} joints ({}), {} muscles ({}), muscle model {}.",
        info.name,
        info.dof(),
        info.coord_names.join(", "),
        info.n_muscles(),
        info.muscle_names.join(", "),
        info.muscle_model.as_deref().unwrap_or("none")
    );
    for (b, name) in plant.bounds().iter().zip(&info.coord_names) {
        println!(
            "  {name}: {:.0}° .. {:.0}°",
            b.lower.to_degrees(),
            b.upper.to_degrees()
        );
    }
    println!(
        "Training a GRU (hidden {}) on random reaches for {} batches of {}{}.\n",
        cfg.optim.hidden,
        cfg.run.batches,
        cfg.optim.batch_size,
        if full_shoulder {
            " with the model's own joint ranges"
        } else {
            ", shoulder range narrowed by override"
        }
    );

    let every = cfg.run.eval_every;
    let mut progress = |done: u64, total: u64, loss: f64, metric: Option<f64>| {
        if done.is_multiple_of(every) || done == total {
            let m = metric.map_or("—".into(), |m| format!("{:.2} cm", m * 100.0));
            println!("  batch {done:>5}: loss {loss:.4}, evaluation metric {m}");
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
    let first = summary.evaluations.first().map_or(f64::NAN, |e| e.metric);
    println!(
        "\nEvaluation metric (mean endpoint-to-target distance over the last {} steps): {:.2} cm before \
         training, {:.2} cm after {} batches ({:.1} s, {:.1} ms per batch).",
        cfg.run.eval_last_steps,
        first * 100.0,
        summary.final_metric.unwrap_or(f64::NAN) * 100.0,
        summary.batches_done,
        summary.train_seconds,
        summary.ms_per_batch
    );
    println!("Run directory (checkpoint, log, plots): {}", dir.display());
    Ok(())
}
