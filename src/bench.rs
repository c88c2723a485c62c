//! Measurements behind `motornet bench`: plant steps, adjoints, rollout gradients and macro expansion, timed
//! in this process so that ratios are measured in one run. Each figure is the median of several repeats,
//! each repeat running long enough (≥ 0.2 s) to swamp timer resolution.

use crate::runtime::Rollout;
use crate::{Effector, Plant};
use serde::Serialize;
use std::time::Instant;

/// Median seconds per call of `f`, over 5 repeats of enough calls to last about 0.2 s each.
pub fn time_per_call(mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    f();
    let once = start.elapsed().as_secs_f64().max(1e-9);
    let calls = ((0.2 / once).ceil() as usize).clamp(1, 10_000_000);
    let mut samples: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..calls {
                f();
            }
            t.elapsed().as_secs_f64() / calls as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[2]
}

#[derive(Clone, Debug, Serialize)]
pub struct StepFigure {
    pub batch: usize,
    pub threads: usize,
    /// Whether every new state was checked for NaN and infinity ([`Effector::check_finite`]).
    pub check_finite: bool,
    pub ns_per_effector_step: f64,
    pub effector_steps_per_s: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct PlantFigures {
    pub model: String,
    pub steps: Vec<StepFigure>,
    pub primal_step_ns: f64,
    pub adjoint_step_ns: f64,
    pub adjoint_over_primal: f64,
    /// 100 steps forward and backward ([`Rollout::gradient`]).
    pub rollout_gradient_100: Vec<RolloutFigure>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RolloutFigure {
    pub batch: usize,
    pub threads: usize,
    pub ms: f64,
}

fn mid_range_joint(plant: &dyn Plant) -> Vec<f64> {
    let b = plant.bounds();
    b.iter()
        .map(|r| {
            if r.lower.is_finite() && r.upper.is_finite() {
                0.5 * (r.lower + r.upper)
            } else {
                0.0
            }
        })
        .chain(std::iter::repeat_n(0.0, b.len()))
        .collect()
}

/// The thread counts a workload of `batch` effectors is timed with: one, and all `all` threads when the
/// batch is large enough (≥ 512) to share.
fn thread_counts(batch: usize, all: usize) -> Vec<usize> {
    if batch >= 512 && all > 1 {
        vec![1, all]
    } else {
        vec![1]
    }
}

/// Times the plant of `make` (a fresh plant per measurement).
pub fn plant_figures(
    name: &str,
    make: &dyn Fn() -> Box<dyn Plant>,
    batches: &[usize],
) -> PlantFigures {
    let probe = make();
    let info = probe.info().clone();
    let joint = mid_range_joint(probe.as_ref());
    let m = info.n_muscles();
    let mut steps = Vec::new();
    let all = std::thread::available_parallelism().map_or(1, |n| n.get());
    for &batch in batches {
        let counts = thread_counts(batch, all);
        let most = *counts.last().expect("a thread count");
        let mut runs: Vec<(usize, bool)> = counts.into_iter().map(|t| (t, false)).collect();
        if batch >= 512 {
            // What the NaN check, on by default, costs.
            runs.push((most, true));
        }
        for (threads, check_finite) in runs {
            let rate = step_throughput(make, batch, threads, check_finite);
            steps.push(StepFigure {
                batch,
                threads,
                check_finite,
                ns_per_effector_step: 1e9 / rate,
                effector_steps_per_s: rate,
            });
        }
    }
    // One effector, primal against adjoint, straight through the plant.
    let plant = make();
    let (s, c) = (info.state_dim(), info.control_dim());
    let mut ws = plant.workspace();
    let mut x = vec![0.0; s];
    plant.reset(&mut ws, &joint, &mut x).expect("reset");
    let mut u = vec![0.0; c];
    u[..m].fill(0.2);
    let w = vec![0.1; s];
    let (mut next, mut gx, mut gu) = (vec![0.0; s], vec![0.0; s], vec![0.0; c]);
    let primal = time_per_call(|| plant.step(&mut ws, &x, &u, &mut next).expect("step"));
    let adjoint = time_per_call(|| {
        plant
            .step_vjp(&mut ws, &x, &u, &w, &mut gx, &mut gu)
            .expect("step_vjp")
    });
    let mut rollout = Vec::new();
    for &batch in &[1usize, 1024] {
        let mut controls = vec![0.0; 100 * batch * c];
        for row in controls.chunks_mut(c) {
            row[..m].fill(0.2);
        }
        let joints = joint.repeat(batch);
        for threads in thread_counts(batch, all) {
            let t = time_per_call(|| {
                let g = Rollout::gradient(
                    plant.as_ref(),
                    &joints,
                    &controls,
                    batch,
                    threads,
                    |_, _, x, out| out[0] += x[0],
                )
                .expect("rollout gradient");
                std::hint::black_box(g);
            });
            rollout.push(RolloutFigure {
                batch,
                threads,
                ms: t * 1e3,
            });
        }
    }
    PlantFigures {
        model: name.to_string(),
        steps,
        primal_step_ns: primal * 1e9,
        adjoint_step_ns: adjoint * 1e9,
        adjoint_over_primal: adjoint / primal,
        rollout_gradient_100: rollout,
    }
}

/// Milliseconds per training batch of the reference workload (random reaches on `model`, GRU 128, batch
/// 32, 100 steps, Adam, clipping, L1 loss) with `threads` workers: the median of `batches` batches after
/// two warm-up batches.
pub fn train_batch_ms(model: &str, threads: usize, batches: usize) -> Result<f64, crate::Error> {
    let mut cfg = crate::training::TrainConfig {
        model: model.to_string(),
        ..Default::default()
    };
    cfg.optim.threads = threads;
    let mut trainer = cfg.trainer()?;
    let mut times = Vec::new();
    for b in 0..batches + 2 {
        let t = Instant::now();
        trainer.train_batch(b as u64)?;
        if b >= 2 {
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// Effector-steps per second of `make`'s plant at `batch` with `threads` threads.
pub fn step_throughput(
    make: &dyn Fn() -> Box<dyn Plant>,
    batch: usize,
    threads: usize,
    check_finite: bool,
) -> f64 {
    let plant = make();
    let joint = mid_range_joint(plant.as_ref());
    let m = plant.info().n_muscles();
    let mut e = Effector::new(plant, batch);
    e.check_finite = check_finite;
    e.set_threads(threads).expect("thread pool");
    let joints = joint.repeat(batch);
    e.reset(&joints).expect("mid-range reset");
    let u = vec![0.2; m * batch];
    let t = time_per_call(|| {
        e.step(&u, &[], &[]).expect("step");
        if e.steps() >= 100 {
            e.reset(&joints).expect("reset");
        }
    });
    batch as f64 / t
}

/// Milliseconds `model!` spends compiling `source` into tokens (parse, check, lower, generate).
pub fn expansion_ms(source: &str) -> f64 {
    let rt: proc_macro2::TokenStream = "::motornet::__private".parse().expect("tokens");
    time_per_call(|| {
        let t = motornet_dsl::expand(
            source,
            "model.mnet",
            None,
            "pub".parse().expect("tokens"),
            rt.clone(),
            None,
        );
        std::hint::black_box(t.expect("built-in models compile"));
    }) * 1e3
}
