//! Responses to force pulses, the MotorNet paper's Figure 5: a GRU trained to reach centre-out with
//! `arm26` — with orthogonal force pulses in a third of its training reaches, declared as a
//! `[[perturbation]]` setting — is tested on the 8 reaches with pulses perpendicular to each reach (to its
//! left) at several magnitudes and two onsets. The endpoint is pushed sideways in the pulse's direction,
//! by more for larger pulses, and the network brings it back to the target.
//!
//! ```sh
//! cargo run --release --example force_pulses                       # a few minutes on two cores
//! cargo run --release --example force_pulses -- --batches 4000     # closer to the paper
//! ```
//! Flags: `--batches N`, `--threads N`, `--out DIR` (default `runs/examples/force_pulses`). Writes
//! `plots/pulse_lateral` (the mean sideways deviation over time, one panel per onset, one line per
//! magnitude) and `plots/pulse_paths_<onset>` (the reach paths, one colour per magnitude), and prints the
//! peak and final deviations.

use motornet::experiments::pulse_responses;
use motornet::training::{train, Hooks, TrainConfig};
use std::path::PathBuf;

mod common;
use common::flag;

const CONFIG: &str = r#"
model = "arm26"

[task]
kind = "centre_out"
start_joint = [0.8, 1.6]
n_targets = 8
radius = 0.1

[env]
episode_duration = 0.8

[optim]
batch_size = 32
learning_rate = 0.003

[run]
eval_episodes = 8
eval_every = 250
checkpoint_every = 250

# Orthogonal pulses in a third of the training reaches.
[[perturbation]]
kind = "force_pulse"
probability = 0.33
magnitude = [0.0, 8.0]
direction = "orthogonal"
onset = [0.1, 0.4]
duration = 0.05
"#;

/// Pulse magnitudes (N, to the left of each reach) and onsets (s) of the test.
const MAGNITUDES: [f64; 4] = [0.0, 2.0, 4.0, 8.0];
const ONSETS: [f64; 2] = [0.05, 0.3];

fn main() -> Result<(), motornet::Error> {
    let out: PathBuf = flag("out", PathBuf::from("runs/examples/force_pulses"));
    let mut cfg = TrainConfig::from_toml(CONFIG)?;
    cfg.run.batches = flag("batches", 1500);
    cfg.optim.threads = flag("threads", 2);
    println!(
        "Training `arm26` on centre-out reaches with orthogonal pulses in a third of them ({} batches) in {}",
        cfg.run.batches,
        out.display()
    );
    let mut progress = |done: u64, total: u64, loss: f64, metric: Option<f64>| {
        if done.is_multiple_of((total / 5).max(1)) {
            let m = metric.map_or("—".into(), |m| format!("{:.2} cm", m * 100.0));
            println!("  batch {done:>5}/{total}: loss {loss:.4}, evaluation metric {m}");
        }
    };
    let never = || false;
    train(
        &out,
        &cfg,
        false,
        Hooks {
            progress: &mut progress,
            interrupted: &never,
        },
    )?;
    let mut trainer = cfg.trainer()?;
    let (net, _, _) =
        motornet::runtime::policy::checkpoint::load(&out.join("checkpoint.safetensors"))?;
    trainer.policy = net;
    // The 8 reaches without the training's random pulses.
    let mut reaches = trainer.episodes(0, 8);
    for e in &mut reaches {
        e.events.clear();
    }
    let responses = pulse_responses(&mut trainer, &reaches, &MAGNITUDES, &ONSETS, 0.05, 10)?;
    let plots = out.join("plots");
    let dt = trainer.timestep();
    let err = |e: motornet::plots::PlotError| motornet::Error::Input(format!("plotting: {e}"));
    println!("\n  onset   pulse   peak deviation   final deviation   final error");
    for (k, onset) in ONSETS.iter().enumerate() {
        let conditions = &responses[k * MAGNITUDES.len()..(k + 1) * MAGNITUDES.len()];
        let none = conditions[0].mean_lateral();
        for r in conditions {
            let dev: Vec<f64> = r
                .mean_lateral()
                .iter()
                .zip(&none)
                .map(|(a, b)| a - b)
                .collect();
            let peak = dev
                .iter()
                .copied()
                .fold(0.0, |a: f64, b| if b.abs() > a.abs() { b } else { a });
            println!(
                "  {onset:>4.2} s  {:>4.1} N   {:>+8.2} cm       {:>+8.2} cm        {:>5.2} cm",
                r.magnitude,
                peak * 100.0,
                dev.last().copied().unwrap_or(0.0) * 100.0,
                r.final_error * 100.0
            );
        }
        // The paths, one colour per magnitude.
        let mut paths = Vec::new();
        let mut groups = Vec::new();
        let mut targets = Vec::new();
        let mut starts = Vec::new();
        for (m, r) in conditions.iter().enumerate() {
            for (p, e) in r.paths.iter().zip(&reaches) {
                paths.push(p.clone());
                groups.push(m);
                targets.push([e.target[0], e.target[1]]);
                starts.push([e.start[0], e.start[1]]);
            }
        }
        motornet::plots::plot_reaches_grouped(
            &plots,
            &format!("pulse_paths_{}ms", (onset * 1000.0).round()),
            &format!("Pulses at {onset} s to the left of each reach (blue 0, orange 2, green 4, red 8 N)"),
            &paths,
            &groups,
            &targets,
            &starts,
        )
        .map_err(err)?;
    }
    // Mean sideways deviation over time: panels per onset, lines per magnitude.
    let names: Vec<String> = ONSETS.iter().map(|o| format!("pulse at {o} s")).collect();
    let steps = responses[0].mean_lateral().len();
    let values: Vec<Vec<Vec<f64>>> = (0..MAGNITUDES.len())
        .map(|m| {
            (0..steps)
                .map(|t| {
                    (0..ONSETS.len())
                        .map(|k| responses[k * MAGNITUDES.len() + m].mean_lateral()[t] * 100.0)
                        .collect()
                })
                .collect()
        })
        .collect();
    let tc = motornet::plots::TimeCourses {
        title: "Sideways deviation after a pulse to the left, mean of 8 reaches",
        dt,
        names: &names,
        y_desc: "deviation to the left of the reach (cm)",
        values: &values,
        max_series: MAGNITUDES.len(),
        note: Some(
            "one colour per pulse magnitude: 0 N (blue), 2 N (orange), 4 N (green), 8 N (red)",
        ),
    };
    motornet::plots::plot_time_courses(&plots, "pulse_lateral", &tc).map_err(err)?;
    println!("\nPlots in {}.", plots.display());
    Ok(())
}
