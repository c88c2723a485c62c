//! The MotorNet paper's Figure 6 (Codol et al., eLife 2024): the preferred directions of the units of a
//! GRU trained to reach with the point mass are spread evenly, those of a GRU trained to reach with the
//! two-joint arm cluster in two opposite directions — the bimodal distribution recorded in monkey motor
//! cortex, which arises from the arm's mechanics.
//!
//! For each effector (`pointmass24_relu`, `arm26`) the example trains a GRU on random reaches (the
//! reference workload's settings), probes it with 32 noise-free centre-out reaches of 10 cm from one
//! posture, fits each unit's cosine tuning to its mean activity over the movement (the first `--window`
//! steps, default 30; `motornet::analysis`), and draws the preferred
//! directions of the tuned units as two rose histograms in `docs/figures/figure6_preferred_directions`
//! (PNG and SVG). It prints the first and second mean resultant lengths r1 and r2 of each distribution:
//! uniform PDs give both near 0; a bimodal distribution with opposite modes gives a large r2 and a small r1.
//!
//! ```sh
//! cargo run --release --example figure6_preferred_directions                # 3000 batches each
//! cargo run --release --example figure6_preferred_directions -- --batches 6000 --threads 2
//! ```
//! Flags: `--batches N`, `--hidden N` (default 128), `--threads N`, `--seed N`, `--out DIR` (runs, default
//! `runs/examples/figure6`), `--figure DIR` (default `docs/figures`), `--reuse` (skip training when a run's
//! checkpoint exists).

use motornet::analysis::{analyze, rollout_run};
use motornet::config::TaskConfig;
use motornet::training::{train, Hooks, TrainConfig};
use std::path::PathBuf;

mod common;
use common::flag;

fn main() -> Result<(), motornet::Error> {
    let batches: u64 = flag("batches", 3000);
    let hidden: usize = flag("hidden", 128);
    let threads: usize = flag("threads", 1);
    let seed: u64 = flag("seed", 0);
    let out = PathBuf::from(flag("out", "runs/examples/figure6".to_string()));
    let figure_dir = PathBuf::from(flag("figure", "docs/figures".to_string()));
    let reuse = std::env::args().any(|a| a == "--reuse");

    let mut panels = Vec::new();
    // Each network is probed with centre-out reaches (10 cm, 32 directions) from one posture — the
    // arm's at shoulder 45°, elbow 90°, the point mass at the centre — and its units' tuning measured
    // over the movement (the first `window` steps).
    let window: usize = flag("window", 30);
    let probes = [
        ("pointmass24_relu", "point mass", vec![0.0, 0.0]),
        ("arm26", "two-joint arm", vec![0.785, 1.571]),
    ];
    for (model, label, start) in probes {
        let mut cfg = TrainConfig {
            model: model.into(),
            ..TrainConfig::default()
        };
        cfg.optim.hidden = hidden;
        cfg.optim.threads = threads;
        cfg.optim.seed = seed;
        cfg.run.batches = batches;
        cfg.run.eval_every = batches.max(1);
        cfg.run.checkpoint_every = batches.max(1);
        let dir = out.join(model);
        if !(reuse && dir.join("checkpoint.safetensors").exists()) {
            let _ = std::fs::remove_dir_all(&dir);
            let started = std::time::Instant::now();
            let mut progress = |b: u64, n: u64, loss: f64, _: Option<f64>| {
                if b.is_multiple_of(250) || b == n {
                    eprintln!("{label}: batch {b}/{n}, loss {loss:.4}");
                }
            };
            let hooks = Hooks {
                progress: &mut progress,
                interrupted: &|| false,
            };
            let (_, summary) = train(&dir, &cfg, false, hooks)?;
            eprintln!(
                "{label}: trained in {:.0} s, final metric {:.2} cm",
                started.elapsed().as_secs_f64(),
                100.0 * summary.final_metric.unwrap_or(f64::NAN)
            );
        }
        let centre_out = TaskConfig::CentreOut {
            start_joint: start,
            n_targets: 32,
            radius: 0.1,
            curl: 0.0,
        };
        let rollout = rollout_run(&dir, Some(32), Some(centre_out))?;
        let (a, _) = analyze(&rollout, Some(window))?;
        let pds: Vec<f64> = a
            .units
            .iter()
            .filter(|u| u.tuned())
            .map(|u| u.preferred_direction)
            .collect();
        let c = a.preferred_directions;
        println!(
            "{label:>14}: {} of {} units tuned; preferred directions r1 = {:.3} (p = {:.2e}), \
             r2 = {:.3} (p = {:.2e}), axis {:.0}°",
            a.tuned_units,
            a.hidden,
            c.r1,
            c.p_unimodal,
            c.r2,
            c.p_bimodal,
            c.axis.to_degrees()
        );
        panels.push((format!("{label}: {} tuned units", pds.len()), pds));
    }
    let written = motornet::plots::plot_rose(
        &figure_dir,
        "figure6_preferred_directions",
        "Preferred directions of GRU units after training to reach",
        &panels,
        24,
    )
    .map_err(|e| motornet::Error::Input(e.to_string()))?;
    for p in written {
        println!("wrote {}", p.display());
    }
    Ok(())
}
