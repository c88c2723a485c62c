//! Train a GRU to reach in 3D with `arm4` (a four-degree-of-freedom spatial arm with ten muscles, hanging
//! under gravity): random targets that are fingertip positions of random postures, so the network must
//! both hold the arm up against gravity and move the fingertip in x, y and z.
//!
//! ```sh
//! cargo run --release --example reach3d                   # 3000 batches, about 4 minutes on 2 cores
//! cargo run --release --example reach3d -- --batches 500   # a quick look
//! ```
//! Flags: `--batches N`, `--hidden N`, `--threads N`, `--seed N`, `--out FILE` (default
//! `docs/figures/reach3d.png`; the figure's SVG is written next to it).
//!
//! It prints the evaluation metric (mean fingertip-to-target distance over the last 10 steps of 16 fixed,
//! noise-free reaches) before, during and after training, and the same for a network that does nothing,
//! and draws the reaches projected on the x–y and x–z planes.

use motornet::runtime::env::EnvConfig;
use motornet::runtime::task::{RandomReach, Task};
use motornet::runtime::train::{LossConfig, OptimConfig, Trainer};
use motornet::Plant;
use std::path::PathBuf;
use std::time::Instant;

mod common;
use common::flag;

/// arm4 at a 2 ms time step: its strong, short muscles make the explicit integrator unstable at the
/// file's 10 ms under full co-contraction (`motornet simulate models/arm4.mnet --excitation 1`).
fn arm4() -> Box<dyn Plant> {
    let mut plant = motornet::models::load("models/arm4.mnet", false)
        .expect("models/arm4.mnet loads (run from the repository's root)")
        .0;
    plant
        .apply_overrides(&["timestep=0.002".to_string()])
        .expect("a valid time step");
    plant
}

fn main() -> Result<(), motornet::Error> {
    let batches: u64 = flag("batches", 3000);
    let out: PathBuf = flag("out", PathBuf::from("docs/figures/reach3d.png"));
    let mut trainer = Trainer::new(
        arm4,
        || Box::new(RandomReach::default()) as Box<dyn Task>,
        EnvConfig {
            episode_duration: 0.6,
            ..EnvConfig::default()
        },
        LossConfig {
            speed: 0.02,
            ..LossConfig::default()
        },
        OptimConfig {
            hidden: flag("hidden", 64),
            batch_size: 16,
            learning_rate: 3e-3,
            threads: flag("threads", 2),
            seed: flag("seed", 0),
            ..OptimConfig::default()
        },
    )?;
    let info = trainer.plant().info().clone();
    println!(
        "Training a GRU (hidden {}) on `{}` ({} coordinates, {} muscles, space_dim {}): {batches} batches \
         of {} random 3D reaches of {} s.",
        trainer.optim.hidden,
        info.name,
        info.dof(),
        info.n_muscles(),
        info.space_dim,
        trainer.optim.batch_size,
        trainer.steps() as f64 * trainer.timestep(),
    );
    let test = trainer.episodes(u64::MAX, 16);
    // The distance the fingertip would have to travel: start to target.
    let distance: f64 = test
        .iter()
        .map(|e| {
            let d = [0, 1, 2].map(|k| e.target[k] - e.start[k]);
            (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt()
        })
        .sum::<f64>()
        / test.len() as f64;
    println!(
        "Mean start-to-target distance: {:.1} cm.\n",
        distance * 100.0
    );
    println!(
        "{:>8} {:>10} {:>12} {:>10}",
        "batch", "loss", "metric (cm)", "seconds"
    );
    let start = Instant::now();
    let metric = trainer.evaluate(&test, 10)?.metric;
    println!(
        "{:>8} {:>10} {:>12.2} {:>10.1}",
        0,
        "—",
        metric * 100.0,
        0.0
    );
    let every = (batches / 10).max(1);
    for b in 0..batches {
        let stats = trainer.train_batch(b)?;
        if (b + 1) % every == 0 || b + 1 == batches {
            let metric = trainer.evaluate(&test, 10)?.metric;
            println!(
                "{:>8} {:>10.5} {:>12.2} {:>10.1}",
                b + 1,
                stats.loss,
                metric * 100.0,
                start.elapsed().as_secs_f64()
            );
        }
    }

    let ev = trainer.evaluate(&test, 10)?;
    let sag: f64 = ev
        .paths
        .iter()
        .zip(&test)
        .map(|(p, e)| (p.last().expect("steps")[2] - e.target[2]).abs())
        .sum::<f64>()
        / test.len() as f64;
    println!(
        "\nAfter training: mean distance to the target over the last 10 steps {:.2} cm; mean vertical \
         error at the end {:.2} cm.",
        ev.metric * 100.0,
        sag * 100.0
    );
    let paths: Vec<Vec<[f64; 3]>> = ev
        .paths
        .iter()
        .map(|p| p.iter().map(|c| [c[0], c[1], c[2]]).collect())
        .collect();
    let targets: Vec<[f64; 3]> = test.iter().map(|e| e.target).collect();
    let starts: Vec<[f64; 3]> = test.iter().map(|e| e.start).collect();
    let dir = out.parent().map_or_else(PathBuf::new, PathBuf::from);
    let stem = out
        .file_stem()
        .map_or("reach3d".into(), |s| s.to_string_lossy().into_owned());
    std::fs::create_dir_all(&dir).map_err(|e| motornet::Error::Input(e.to_string()))?;
    let files = motornet::plots::plot_reaches_3d(
        &dir,
        &stem,
        &format!(
            "arm4: 3D reaches under gravity after {batches} batches (mean error {:.1} cm)",
            ev.metric * 100.0
        ),
        &paths,
        &targets,
        &starts,
    )
    .map_err(|e| motornet::Error::Input(format!("plotting: {e}")))?;
    println!("Reach plot: {}", files[0].display());
    Ok(())
}
