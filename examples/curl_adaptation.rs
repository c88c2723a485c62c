//! Force-field adaptation, the workflow of the MotorNet paper's first figure:
//!
//! 1. train a GRU to control `arm26` on random reaches (no field), then practise centre-out reaches
//!    (8 targets, 10 cm) without a field — the baseline;
//! 2. test it in a velocity-dependent curl field, F = k·(−vy, vx): the paths bow sideways;
//! 3. keep training in the field (adaptation, as many batches as the practice) and test again: the paths
//!    straighten;
//! 4. switch the field off: the adapted network now errs the other way (the after-effect).
//!
//! Each phase writes a reach plot (`plots/<n>_<phase>.png` and `.svg`) and prints the endpoint error and
//! the largest sideways deviation from the straight start–target line.
//!
//! ```sh
//! cargo run --release --example curl_adaptation                                   # about a minute
//! cargo run --release --example curl_adaptation -- --batches 4000 --adapt 1000 # closer to the paper
//! ```
//! Flags: `--batches N` (baseline training), `--adapt N` (training in the field), `--curl K` (N·s/m;
//! positive turns the force counter-clockwise of the velocity), `--threads N`, `--out DIR` (default
//! `runs/examples/curl_adaptation`), `--reuse` (skip the baseline training if its checkpoint exists).

use motornet::runtime::adam::Adam;
use motornet::runtime::policy::{checkpoint as saved, Network};
use motornet::runtime::train::Trainer;
use motornet::training::{train, Hooks, TaskConfig, TrainConfig};
use motornet::Plant;
use std::path::{Path, PathBuf};

mod common;
use common::flag;

const START_JOINT: [f64; 2] = [0.8, 1.6];

/// Centre-out reaching from START_JOINT in a curl field of strength `curl`.
fn centre_out(base: &TrainConfig, curl: f64) -> TrainConfig {
    let mut cfg = base.clone();
    cfg.task = TaskConfig::CentreOut {
        start_joint: START_JOINT.to_vec(),
        n_targets: 8,
        radius: 0.1,
        curl,
    };
    cfg
}

/// Runs the 8 centre-out reaches, plots them, and prints the endpoint error and the signed largest
/// sideways deviation (positive: counter-clockwise of the straight line).
fn test_reaches(
    trainer: &mut Trainer<Box<dyn Plant>>,
    plots: &Path,
    stem: &str,
    title: &str,
) -> Result<(f64, f64), motornet::Error> {
    let episodes = trainer.episodes(0, 8);
    let ev = trainer.evaluate(&episodes, 20)?;
    let mut deviation = 0.0;
    for (path, e) in ev.paths.iter().zip(&episodes) {
        let (dx, dy) = (e.target[0] - e.start[0], e.target[1] - e.start[1]);
        let len = dx.hypot(dy);
        // Signed distance from the start–target line; keep the one largest in magnitude.
        let side = path
            .iter()
            .map(|p| (dx * (p[1] - e.start[1]) - dy * (p[0] - e.start[0])) / len)
            .fold(0.0f64, |a, d| if d.abs() > a.abs() { d } else { a });
        deviation += side / episodes.len() as f64;
    }
    let paths: Vec<Vec<[f64; 2]>> = ev
        .paths
        .iter()
        .map(|p| p.iter().map(|s| [s[0], s[1]]).collect())
        .collect();
    let targets: Vec<[f64; 2]> = episodes
        .iter()
        .map(|e| [e.target[0], e.target[1]])
        .collect();
    let starts: Vec<[f64; 2]> = episodes.iter().map(|e| [e.start[0], e.start[1]]).collect();
    motornet::plots::plot_reaches(plots, stem, title, &paths, &targets, &starts)
        .map_err(|e| motornet::Error::Input(format!("plotting: {e}")))?;
    println!(
        "  {title:<38} endpoint error {:>6.2} cm   largest sideways deviation {:>+6.2} cm",
        ev.metric * 100.0,
        deviation * 100.0
    );
    Ok((ev.metric, deviation))
}

fn main() -> Result<(), motornet::Error> {
    let batches: u64 = flag("batches", 1500);
    let adapt: u64 = flag("adapt", 400);
    let curl: f64 = flag("curl", 20.0);
    let reuse = std::env::args().any(|a| a == "--reuse");
    let out: PathBuf = flag("out", PathBuf::from("runs/examples/curl_adaptation"));
    let plots = out.join("plots");
    std::fs::create_dir_all(&plots).map_err(|e| motornet::Error::Input(e.to_string()))?;

    let mut base = TrainConfig::default(); // arm26, 1 s episodes, hidden 128, batch 32
    base.optim.threads = flag("threads", 2);
    base.run.batches = batches;
    base.run.eval_every = (batches / 5).max(1);
    base.run.checkpoint_every = base.run.eval_every;

    let checkpoint = out.join("baseline").join("checkpoint.safetensors");
    if reuse && checkpoint.exists() {
        println!("Reusing the baseline network in {}", checkpoint.display());
    } else {
        println!(
            "Training `arm26` on random reaches without a field ({batches} batches) in {}",
            out.join("baseline").display()
        );
        let mut progress = |done: u64, total: u64, loss: f64, metric: Option<f64>| {
            if done.is_multiple_of((total / 5).max(1)) {
                let m = metric.map_or("—".into(), |m| format!("{:.2} cm", m * 100.0));
                println!("  batch {done:>5}/{total}: loss {loss:.4}, evaluation metric {m}");
            }
        };
        let never = || false;
        train(
            &out.join("baseline"),
            &base,
            false,
            Hooks {
                progress: &mut progress,
                interrupted: &never,
            },
        )?;
    }
    let (net, adam, _) = saved::load(&checkpoint)?;

    println!("\nCentre-out reaches (8 targets, 10 cm) from joint angles {START_JOINT:?}.");
    let with = |curl: f64, net: &Network| -> Result<Trainer<Box<dyn Plant>>, motornet::Error> {
        let mut t = centre_out(&base, curl).trainer()?;
        t.policy = net.clone();
        Ok(t)
    };
    let practise = |trainer: &mut Trainer<Box<dyn Plant>>| -> Result<(), motornet::Error> {
        for b in 0..adapt {
            let s = trainer.train_batch(b)?;
            if (b + 1).is_multiple_of((adapt / 4).max(1)) {
                println!("  batch {:>5}/{adapt}: loss {:.4}", b + 1, s.loss);
            }
        }
        println!();
        Ok(())
    };
    println!("Practice without a field ({adapt} batches of 32 centre-out reaches):");
    let mut null = with(0.0, &net)?;
    // Continue with the optimizer state of the baseline run, as if training had simply gone on.
    null.adam = Adam::with_state(base.optim.learning_rate, adam.expect("saved with Adam"));
    practise(&mut null)?;
    let before = test_reaches(&mut null, &plots, "1_baseline", "1. baseline, no field")?;
    let field = test_reaches(
        &mut with(curl, &null.policy)?,
        &plots,
        "2_curl_field",
        &format!("2. curl field k = {curl} N·s/m"),
    )?;

    println!("\nAdaptation: training in the field ({adapt} batches of 32 centre-out reaches):");
    let mut trainer = with(curl, &null.policy)?;
    trainer.adam = null.adam.clone();
    practise(&mut trainer)?;
    let adapted = test_reaches(
        &mut trainer,
        &plots,
        "3_adapted",
        &format!("3. adapted to k = {curl} N·s/m"),
    )?;
    let after = test_reaches(
        &mut with(0.0, &trainer.policy)?,
        &plots,
        "4_after_effect",
        "4. adapted, field switched off",
    )?;

    println!(
        "\nThe field deflects the reaches by {:+.2} cm; after adaptation {:+.2} cm; switching it off then \
         deflects them by {:+.2} cm the other way (baseline {:+.2} cm).",
        field.1 * 100.0,
        adapted.1 * 100.0,
        after.1 * 100.0,
        before.1 * 100.0
    );
    println!("Reach plots in {}.", plots.display());
    Ok(())
}
