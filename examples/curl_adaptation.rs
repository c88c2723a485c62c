//! The MotorNet paper's Figure 1: centre-out reaching with `arm26`, adaptation to a curl field, and the
//! after-effect on catch trials. The training recipe is described, element by element with its source,
//! in `docs/figures.md`.
//!
//! 1. Baseline: a GRU learns random reaches over the whole workspace without a field (MotorNet's
//!    `CentreOutReach` task: trained on random reaches, tested on centre-out ones). Probe: 8 centre-out
//!    reaches of 10 cm from the centre of the joint ranges, no noise.
//! 2. The same network in a curl field F = k·(−vy, vx): the reaches curve in the field's direction.
//! 3. Adaptation: training continues (same reaches, same loss, same optimizer state) with the field on.
//!    Every `--probe-every` batches the centre-out reaches are probed in the field and with the field
//!    switched off (catch trials): the learning curve.
//! 4. After adaptation: straight again in the field; on catch trials they curve the other way.
//!
//! Writes into `--figures DIR` (default `<out>/figures`), as PNG and SVG: `figure1_baseline`,
//! `figure1_curl_field`, `figure1_adapted`, `figure1_after_effect` (reach paths), `figure1_speed`
//! (speed profiles of the baseline and the adapted reaches), `figure1_lateral` (lateral deviation over time
//! in every phase), `figure1_learning_curve` (peak lateral deviation across adaptation batches, in the
//! field and on catch trials) and `figure1_loss` (the training loss of both phases).
//!
//! ```sh
//! cargo run --release --example curl_adaptation                        # 4 min on two idle cores
//! cargo run --release --example curl_adaptation -- --figures docs/figures   # the images of the docs
//! ```
//! Flags: `--batches N` (baseline training, 6000), `--adapt N` (training in the field, 400),
//! `--probe-every N` (4), `--curl K` (N·s/m, 10; positive turns the force counter-clockwise of the
//! velocity), `--hidden N` (128), `--seed N` (0), `--threads N` (2), `--out DIR` (default
//! `runs/examples/curl_adaptation`), `--figures DIR`, `--reuse` (skip the baseline training if its
//! checkpoint exists), `--recipe FILE` (a training configuration in place of the built-in recipe below;
//! the flags above still apply).

use motornet::experiments::{adapt, probe_reaches, AdaptationPoint, Probe};
use motornet::plots::{plot_loss, plot_reaches, plot_speed, plot_time_courses, TimeCourses};
use motornet::runtime::adam::Adam;
use motornet::runtime::policy::checkpoint as saved;
use motornet::runtime::task::Episode;
use motornet::training::{train, Hooks, TrainConfig};
use std::path::{Path, PathBuf};

mod common;
use common::flag;

/// The recipe as a configuration (see docs/figures.md for where each value comes from); `--recipe FILE`
/// replaces it.
const RECIPE: &str = r#"
model = "arm26"

[task]
kind = "random_reach"

[env]
episode_duration = 1.0
proprioception_delay = 0.01
vision_delay = 0.01

[loss]
position = 0.5
position_norm = "l1"
activation = 5.0
activation_scale = "max_force"
hidden = 0.1
# MotorNet's hidden-activity term is 0.1·(mean h² + 0.05·mean (dh/dt)²); this one penalises the step
# difference, so its weight is 0.1·0.05/dt² with arm26's dt of 10 ms.
hidden_derivative = 50.0

[optim]
batch_size = 32
learning_rate = 0.001
grad_clip = 1.0
"#;

/// The centre of arm26's joint ranges (shoulder 0–135°, elbow 0–155°): MotorNet's `CentreOutReach`
/// start posture.
const START_JOINT: [f64; 2] = [
    67.5 * std::f64::consts::PI / 180.0,
    77.5 * std::f64::consts::PI / 180.0,
];

fn fail(what: &str) -> impl Fn(motornet::plots::PlotError) -> motornet::Error + '_ {
    move |e| motornet::Error::Input(format!("{what}: {e}"))
}

/// Plots one phase's reaches and prints its numbers.
fn report(
    dir: &Path,
    stem: &str,
    title: &str,
    probe: &Probe,
    eps: &[Episode],
) -> Result<(), motornet::Error> {
    let targets: Vec<[f64; 2]> = eps.iter().map(|e| [e.target[0], e.target[1]]).collect();
    let starts: Vec<[f64; 2]> = eps.iter().map(|e| [e.start[0], e.start[1]]).collect();
    plot_reaches(dir, stem, title, &probe.paths, &targets, &starts).map_err(fail("plotting"))?;
    let largest = probe
        .peak_lateral
        .iter()
        .map(|v| v.abs())
        .fold(0.0, f64::max);
    println!(
        "  {title:<34} peak lateral deviation: mean {:>+6.2} cm, largest {:>5.2} cm; speed peaks {:.2}; \
         endpoint error {:.2} cm",
        probe.mean_peak_lateral() * 100.0,
        largest * 100.0,
        probe.mean_speed_peaks(0.1),
        probe.final_error * 100.0
    );
    Ok(())
}

fn main() -> Result<(), motornet::Error> {
    let batches: u64 = flag("batches", 6000);
    let adapt_batches: u64 = flag("adapt", 400);
    let every: u64 = flag("probe-every", 4);
    let curl: f64 = flag("curl", 10.0);
    let reuse = std::env::args().any(|a| a == "--reuse");
    let out: PathBuf = flag("out", PathBuf::from("runs/examples/curl_adaptation"));
    let figures: PathBuf = flag("figures", out.join("figures"));
    std::fs::create_dir_all(&figures).map_err(|e| motornet::Error::Input(e.to_string()))?;

    let recipe = match flag("recipe", String::new()) {
        path if path.is_empty() => RECIPE.to_string(),
        path => std::fs::read_to_string(&path)
            .map_err(|e| motornet::Error::Input(format!("--recipe {path}: {e}")))?,
    };
    let mut base = TrainConfig::from_toml(&recipe)?;
    base.optim.hidden = flag("hidden", 128);
    base.optim.seed = flag("seed", 0);
    base.optim.threads = flag("threads", 2);
    let dt = base.plant()?.timestep();
    base.run.batches = batches;
    base.run.eval_every = (batches / 10).max(1);
    base.run.checkpoint_every = base.run.eval_every;

    let run = out.join("baseline");
    let checkpoint = run.join("checkpoint.safetensors");
    if reuse && checkpoint.exists() {
        println!("Reusing the baseline network in {}", checkpoint.display());
    } else {
        println!(
            "Baseline: random reaches without a field, {batches} batches of {} ({})",
            base.optim.batch_size,
            run.display()
        );
        let mut progress = |done: u64, total: u64, loss: f64, metric: Option<f64>| {
            if done.is_multiple_of((total / 10).max(1)) {
                let m = metric.map_or("—".into(), |m| format!("{:.2} cm", m * 100.0));
                println!("  batch {done:>5}/{total}: loss {loss:.4}, evaluation metric {m}");
            }
        };
        let never = || false;
        train(
            &run,
            &base,
            false,
            Hooks {
                progress: &mut progress,
                interrupted: &never,
            },
        )?;
    }
    let (net, adam, _) = saved::load(&checkpoint)?;

    // The probe: 8 centre-out reaches of 10 cm, by a trainer of the same plant and environment.
    let mut probe_cfg = base.clone();
    probe_cfg.task = motornet::training::TaskConfig::CentreOut {
        start_joint: START_JOINT.to_vec(),
        n_targets: 8,
        radius: 0.1,
        curl: 0.0,
    };
    let mut prober = probe_cfg.trainer()?;
    prober.policy = net.clone();
    let probe = prober.episodes(0, 8);

    println!("\nCentre-out reaches (8 targets, 10 cm) from joint angles {START_JOINT:.3?} rad:");
    let baseline = probe_reaches(&mut prober, &probe, 0.0, 10)?;
    report(
        &figures,
        "figure1_baseline",
        "1. baseline, no field",
        &baseline,
        &probe,
    )?;
    let field = probe_reaches(&mut prober, &probe, curl, 10)?;
    let field_title = format!("2. curl field k = {curl} N·s/m");
    report(&figures, "figure1_curl_field", &field_title, &field, &probe)?;

    // Adaptation: the same training, the field on in every episode.
    let mut adapt_cfg = base.clone();
    adapt_cfg.perturbations = TrainConfig::from_toml(&format!(
        "{recipe}\n[[perturbation]]\nkind = \"curl\"\nk = {curl}\n"
    ))?
    .perturbations;
    let mut trainer = adapt_cfg.trainer()?;
    trainer.policy = net;
    trainer.adam = Adam::with_state(base.optim.learning_rate, adam.expect("saved with Adam"));
    println!(
        "\nAdaptation: {adapt_batches} batches of random reaches in the field; probe every {every} batches \
         (peak lateral deviation, mean of the 8 reaches):"
    );
    let print_every = (adapt_batches / 10).max(every);
    let curve = adapt(
        &mut trainer,
        &mut prober,
        &probe,
        curl,
        batches,
        adapt_batches,
        every,
        |p: &AdaptationPoint| {
            if p.batch.is_multiple_of(print_every) || p.batch == adapt_batches {
                // No batch has been trained at batch 0: its loss is NaN by definition.
                let loss = match p.loss {
                    l if l.is_nan() => "—".to_string(),
                    l => format!("{l:.4}"),
                };
                println!(
                    "  batch {:>5}: loss {loss:>6}, in the field {:+.2} cm, catch trial {:+.2} cm",
                    p.batch,
                    p.in_field * 100.0,
                    p.catch * 100.0
                );
            }
        },
    )?;
    prober.policy = trainer.policy.clone();
    println!();
    let adapted = probe_reaches(&mut prober, &probe, curl, 10)?;
    let adapted_title = format!("3. adapted to k = {curl} N·s/m");
    report(
        &figures,
        "figure1_adapted",
        &adapted_title,
        &adapted,
        &probe,
    )?;
    let after = probe_reaches(&mut prober, &probe, 0.0, 10)?;
    report(
        &figures,
        "figure1_after_effect",
        "4. adapted, catch trial (field off)",
        &after,
        &probe,
    )?;

    // Speed profiles: baseline and adapted reaches side by side in one time axis.
    let mut speeds = baseline.speeds.clone();
    speeds.extend(adapted.speeds.iter().cloned());
    plot_speed(
        &figures,
        "figure1_speed",
        "speed: baseline (first 8) and adapted in the field (last 8)",
        dt,
        &speeds,
    )
    .map_err(fail("plotting"))?;
    // Lateral deviation over time, one panel per phase, one line per reach.
    let phases = [&baseline, &field, &adapted, &after];
    let names: Vec<String> = [
        "baseline (cm)",
        "curl field (cm)",
        "adapted (cm)",
        "catch trial (cm)",
    ]
    .map(String::from)
    .to_vec();
    let values: Vec<Vec<Vec<f64>>> = (0..probe.len())
        .map(|r| {
            (0..baseline.lateral[r].len())
                .map(|t| phases.iter().map(|p| p.lateral[r][t] * 100.0).collect())
                .collect()
        })
        .collect();
    plot_time_courses(
        &figures,
        "figure1_lateral",
        &TimeCourses {
            title: "lateral deviation from the straight reach (positive: counter-clockwise)",
            dt,
            names: &names,
            y_desc: "cm",
            values: &values,
            max_series: probe.len(),
            note: None,
        },
    )
    .map_err(fail("plotting"))?;
    let in_field: Vec<(f64, f64)> = curve
        .iter()
        .map(|p| (p.batch as f64, p.in_field * 100.0))
        .collect();
    let catch: Vec<(f64, f64)> = curve
        .iter()
        .map(|p| (p.batch as f64, p.catch * 100.0))
        .collect();
    plot_loss(
        &figures,
        "figure1_learning_curve",
        "peak lateral deviation (cm) across adaptation batches",
        &[
            ("in the field", &in_field),
            ("catch trials (field off)", &catch),
        ],
        false,
    )
    .map_err(fail("plotting"))?;
    let log = std::fs::read_to_string(run.join("log.csv"))
        .map_err(|e| motornet::Error::Input(e.to_string()))?;
    let baseline_loss: Vec<(f64, f64)> = log
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut c = l.split(',');
            Some((c.next()?.parse().ok()?, c.next()?.parse().ok()?))
        })
        .collect();
    let adapt_loss: Vec<(f64, f64)> = curve
        .iter()
        .filter(|p| p.loss.is_finite())
        .map(|p| ((batches + p.batch) as f64, p.loss))
        .collect();
    plot_loss(
        &figures,
        "figure1_loss",
        "training loss: baseline, then in the curl field",
        &[
            ("baseline (no field)", &baseline_loss),
            ("adaptation (field on)", &adapt_loss),
        ],
        true,
    )
    .map_err(fail("plotting"))?;

    println!(
        "\nPeak lateral deviation (mean of the 8 reaches): baseline {:+.2} cm; in the field {:+.2} cm before \
         adaptation, {:+.2} cm after; catch trial after adaptation {:+.2} cm.",
        baseline.mean_peak_lateral() * 100.0,
        field.mean_peak_lateral() * 100.0,
        adapted.mean_peak_lateral() * 100.0,
        after.mean_peak_lateral() * 100.0
    );
    println!("Figures in {}.", figures.display());
    Ok(())
}
