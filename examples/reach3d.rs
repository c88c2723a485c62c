//! Train a GRU to reach 3D targets with a spatial arm hanging under gravity: `arm4` (four coordinates, ten
//! muscles, z up; the default) or `arm26_opensim` (OpenSim's Arm26 imported by `motornet import`: two
//! coordinates, six muscles, y up). Targets are fingertip positions of random postures — points of the
//! arm's workspace, which for the two-coordinate Arm26 is a surface in 3D; for Arm26, postures its muscles
//! can hold against gravity — so the network must both hold the arm up and move the fingertip in x, y and
//! z.
//!
//! ```sh
//! cargo run --release --example reach3d                               # arm4, about 4 minutes on 2 cores
//! cargo run --release --example reach3d -- --model arm26_opensim      # OpenSim's Arm26, ~3 minutes, 1 core
//! cargo run --release --example reach3d -- --batches 500              # a quick look
//! ```
//! Flags: `--model NAME` (`arm4`, `arm26_opensim`, or any spatial `.mnet` file, which gets arm26_opensim's
//! training settings and postures over its joint ranges), `--batches N`, `--hidden N`, `--lr X`, `--threads N`, `--seed N`, `--joint-ranges` (draw
//! postures over the whole joint ranges, `random_reach`, for arm26_opensim too), `--out FILE` (default
//! `docs/figures/reach3d.png` for arm4, `docs/figures/reach3d_<model>.png` otherwise; the figure's SVG is
//! written next to it).
//!
//! It prints the evaluation metric (mean fingertip-to-target distance over the last 10 steps of 16 fixed,
//! noise-free reaches) before, during and after training, the same for a network that does nothing (every
//! excitation 0: the arm falls under gravity), and the error along gravity at the end; and it draws the
//! reaches projected on the x–y and x–z planes.

use motornet::runtime::env::{Batch, EnvConfig, Environment};
use motornet::runtime::task::{Episode, RandomReach, Task, TaskContext};
use motornet::runtime::train::{episode_rng, LossConfig, OptimConfig, Trainer};
use motornet::{Error, Plant};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;
use std::time::Instant;

mod common;
use common::flag;

/// What differs between the models: the file, its overrides, and the training settings tuned for it.
struct Setup {
    /// A short name for messages and the figure's file.
    name: String,
    file: String,
    overrides: Vec<String>,
    episode_duration: f64,
    batches: u64,
    hidden: usize,
    batch_size: usize,
    learning_rate: f64,
    threads: usize,
    /// The ranges (rad) start and target postures are drawn from, one per coordinate; `None`: the joint
    /// ranges (`random_reach`).
    postures: Option<Vec<(f64, f64)>>,
}

impl Setup {
    fn new(model: &str) -> Setup {
        match model {
            // arm4's strong, short muscles make the explicit integrator unstable at 10 ms under full
            // co-contraction (`motornet simulate models/arm4.mnet --excitation 1`): its file steps at 2 ms.
            "arm4" => Setup {
                name: "arm4".into(),
                file: "models/arm4.mnet".into(),
                overrides: vec!["timestep=0.002".into()],
                episode_duration: 0.6,
                batches: 3000,
                hidden: 64,
                batch_size: 16,
                learning_rate: 3e-3,
                threads: 2,
                postures: None,
            },
            // OpenSim's Arm26 at its file's 10 ms step: 1 s episodes (100 steps), as MotorNet's arm26.
            _ => {
                let (name, file) = if model == "arm26_opensim" {
                    (model.to_string(), "models/arm26_opensim.mnet".to_string())
                } else {
                    let stem = std::path::Path::new(model)
                        .file_stem()
                        .map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
                    (stem, model.to_string())
                };
                Setup {
                    name,
                    file,
                    overrides: Vec::new(),
                    episode_duration: 1.0,
                    batches: 2000,
                    hidden: 64,
                    batch_size: 16,
                    learning_rate: 2e-3,
                    threads: 1,
                    // Arm26 has no deltoid: above about 30° of shoulder elevation both biceps heads
                    // lengthen as the arm rises (their shoulder moment arms change sign), and below
                    // about -50° (arm behind the body, elbow straight) the extending torque falls short:
                    // the muscles cannot hold the arm there against gravity. Starts and targets are drawn where they can, with a
                    // margin: shoulder -45°..10°, elbow 0°..120° (docs/training.md, §13).
                    postures: (model == "arm26_opensim").then(|| {
                        vec![
                            (-45f64.to_radians(), 10f64.to_radians()),
                            (0.0, 120f64.to_radians()),
                        ]
                    }),
                }
            }
        }
    }

    /// The plant with its overrides; an error names the file and says why.
    fn plant(&self) -> Result<Box<dyn Plant>, Error> {
        let mut plant = motornet::models::load(&self.file, false)
            .map_err(|e| {
                Error::Input(format!(
                    "{}: {e} (run from the repository's root, or give a .mnet file)",
                    self.file
                ))
            })?
            .0;
        plant.apply_overrides(&self.overrides)?;
        if plant.info().space_dim != 3 {
            return Err(Error::Input(format!(
                "{}: a planar model (`dimensions 2`); this example reaches in 3D",
                self.file
            )));
        }
        Ok(plant)
    }
}

/// Random reaches between postures drawn uniformly in given ranges (a part of the joint ranges).
struct PostureReach {
    ranges: Vec<(f64, f64)>,
}

impl Task for PostureReach {
    fn name(&self) -> String {
        "posture_reach".into()
    }
    fn validate(&self, ctx: &TaskContext) -> Result<(), Error> {
        let bounds = ctx.plant.bounds();
        if bounds.len() != self.ranges.len() {
            return Err(Error::Input(format!(
                "posture_reach: {} ranges for {} coordinates",
                self.ranges.len(),
                bounds.len()
            )));
        }
        for (k, (&(lo, hi), b)) in self.ranges.iter().zip(bounds).enumerate() {
            if !(lo <= hi && lo >= b.lower && hi <= b.upper) {
                return Err(Error::Input(format!(
                    "posture_reach: coordinate {k}: {lo} .. {hi} rad is not within the joint range {} .. {}",
                    b.lower, b.upper
                )));
            }
        }
        Ok(())
    }
    fn draw(&self, ctx: &TaskContext, batch: usize, rng: &mut ChaCha8Rng) -> Vec<Episode> {
        let posture = |rng: &mut ChaCha8Rng| {
            let mut q: Vec<f64> = self
                .ranges
                .iter()
                .map(|&(lo, hi)| lo + (hi - lo) * rng.random::<f64>())
                .collect();
            q.extend(std::iter::repeat_n(0.0, self.ranges.len()));
            q
        };
        (0..batch)
            .map(|_| {
                let joint0 = posture(rng);
                let target = ctx.endpoint(&posture(rng));
                let start = ctx.endpoint(&joint0);
                Episode::new(joint0, start, target, None)
            })
            .collect()
    }
}

/// The model's gravity vector, m/s² (zero where the file writes none).
fn gravity(plant: &dyn Plant) -> [f64; 3] {
    ["gravity.x", "gravity.y", "gravity.z"].map(|name| {
        plant
            .info()
            .param_index(name)
            .map_or(0.0, |i| plant.params()[i])
    })
}

/// Mean distance from the paths' last `last` points to the targets, and mean error along `up` at the end.
fn errors(paths: &[Vec<[f64; 3]>], test: &[Episode], last: usize, up: [f64; 3]) -> (f64, f64) {
    let dist = |a: [f64; 3], b: [f64; 3]| {
        ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
    };
    let mut metric = 0.0;
    let mut vertical = 0.0;
    for (p, e) in paths.iter().zip(test) {
        let tail = &p[p.len().saturating_sub(last)..];
        metric += tail.iter().map(|&c| dist(c, e.target)).sum::<f64>() / tail.len() as f64;
        let end = p[p.len() - 1];
        vertical += (0..3)
            .map(|k| (end[k] - e.target[k]) * up[k])
            .sum::<f64>()
            .abs();
    }
    (metric / test.len() as f64, vertical / test.len() as f64)
}

/// The fingertip paths of `test` with every excitation 0 (no noise).
fn passive_paths(
    plant: Box<dyn Plant>,
    env: EnvConfig,
    test: &[Episode],
) -> Result<Vec<Vec<[f64; 3]>>, Error> {
    let mut env = Environment::new(plant, Box::new(RandomReach::default()), env)?; // its episodes are `test`
    let mut rngs: Vec<_> = (0..test.len() as u64)
        .map(|b| episode_rng(0, 0, b))
        .collect();
    let mut run = Batch::default();
    env.run(test.to_vec(), &mut rngs, true, &mut run, |_, _, a| {
        a.fill(0.0)
    })?;
    Ok((0..test.len())
        .map(|b| {
            (0..=run.steps)
                .map(|t| {
                    let c = env.cartesian(&run, t, b);
                    [c[0], c[1], c[2]]
                })
                .collect()
        })
        .collect())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Error> {
    let mut setup = Setup::new(&flag("model", "arm4".to_string()));
    if std::env::args().any(|a| a == "--joint-ranges") {
        setup.postures = None;
    }
    let batches: u64 = flag("batches", setup.batches);
    let default_out = if setup.name == "arm4" {
        "docs/figures/reach3d.png".to_string()
    } else {
        format!("docs/figures/reach3d_{}.png", setup.name)
    };
    let out: PathBuf = flag("out", PathBuf::from(default_out));
    let plant = setup.plant()?;
    let g = gravity(plant.as_ref());
    let g_norm = (g[0] * g[0] + g[1] * g[1] + g[2] * g[2]).sqrt();
    // "Up" is against gravity; without gravity the vertical error is reported along z.
    let up = if g_norm > 0.0 {
        g.map(|v| -v / g_norm)
    } else {
        [0.0, 0.0, 1.0]
    };
    let env = EnvConfig {
        episode_duration: setup.episode_duration,
        ..EnvConfig::default()
    };
    let make_plant = || setup.plant().expect("the plant loaded once already");
    let make_task = || match &setup.postures {
        Some(ranges) => Box::new(PostureReach {
            ranges: ranges.clone(),
        }) as Box<dyn Task>,
        None => Box::new(RandomReach::default()) as Box<dyn Task>,
    };
    let mut trainer = Trainer::new(
        make_plant,
        make_task,
        env.clone(),
        LossConfig {
            speed: 0.02,
            ..LossConfig::default()
        },
        OptimConfig {
            hidden: flag("hidden", setup.hidden),
            batch_size: setup.batch_size,
            learning_rate: flag("lr", setup.learning_rate),
            threads: flag("threads", setup.threads),
            seed: flag("seed", 0),
            ..OptimConfig::default()
        },
    )?;
    let info = trainer.plant().info().clone();
    println!(
        "Training a GRU (hidden {}) on `{}` ({} coordinates, {} muscles, gravity ({}, {}, {}) m/s², time \
         step {} s): {batches} batches of {} random 3D reaches of {} s.",
        trainer.optim.hidden,
        setup.name,
        info.dof(),
        info.n_muscles(),
        g[0],
        g[1],
        g[2],
        trainer.timestep(),
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
    let (still, still_vertical) = errors(&passive_paths(plant, env, &test)?, &test, 10, up);
    println!(
        "Mean start-to-target distance: {:.1} cm. With every excitation 0 the arm falls: mean distance \
         to the target over the last 10 steps {:.1} cm ({:.1} cm along gravity at the end).\n",
        distance * 100.0,
        still * 100.0,
        still_vertical * 100.0
    );
    println!(
        "{:>8} {:>10} {:>12} {:>10}",
        "batch", "loss", "metric (cm)", "seconds"
    );
    let start = Instant::now();
    let before = trainer.evaluate(&test, 10)?.metric;
    println!(
        "{:>8} {:>10} {:>12.2} {:>10.1}",
        0,
        "—",
        before * 100.0,
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
    let seconds = start.elapsed().as_secs_f64();

    let ev = trainer.evaluate(&test, 10)?;
    let paths: Vec<Vec<[f64; 3]>> = ev
        .paths
        .iter()
        .map(|p| p.iter().map(|c| [c[0], c[1], c[2]]).collect())
        .collect();
    let (_, vertical) = errors(&paths, &test, 10, up);
    println!(
        "\n{}: mean distance to the target over the last 10 steps {:.2} cm before training, {:.2} cm \
         after {batches} batches ({seconds:.0} s); mean error along gravity at the end {:.2} cm.",
        setup.name,
        before * 100.0,
        ev.metric * 100.0,
        vertical * 100.0
    );
    let targets: Vec<[f64; 3]> = test.iter().map(|e| e.target).collect();
    let starts: Vec<[f64; 3]> = test.iter().map(|e| e.start).collect();
    let dir = out.parent().map_or_else(PathBuf::new, PathBuf::from);
    let stem = out
        .file_stem()
        .map_or("reach3d".into(), |s| s.to_string_lossy().into_owned());
    std::fs::create_dir_all(&dir).map_err(|e| Error::Input(format!("{}: {e}", dir.display())))?;
    let files = motornet::plots::plot_reaches_3d(
        &dir,
        &stem,
        &format!(
            "{}: 3D reaches under gravity after {batches} batches (mean error {:.1} cm)",
            setup.name,
            ev.metric * 100.0
        ),
        &paths,
        &targets,
        &starts,
    )
    .map_err(|e| Error::Input(format!("plotting: {e}")))?;
    println!("Reach plot: {}", files[0].display());
    Ok(())
}
