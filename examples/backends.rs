//! The three backends side by side on every shipped model, in one process: the `model!`-compiled plant,
//! native code compiled at run time (JIT) and the interpreter. Each figure is the minimum over rounds in
//! which the backends take turns (the machine is shared; preemption only ever adds time), through
//! `Effector::step` on one thread without the NaN check, from the mid-range joint state with excitation
//! 0.2, reset every 100 steps — the protocol of `motornet bench`.
//!
//! `cargo run --release --example backends [MODEL…]`

use motornet::{Effector, InterpretedPlant, JitPlant, Plant};
use std::time::Instant;

fn joint(plant: &dyn Plant) -> Vec<f64> {
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

/// Seconds per effector-step of one timed burst of `steps` steps at `batch`.
fn burst(e: &mut Effector<Box<dyn Plant>>, joints: &[f64], u: &[f64], steps: usize) -> f64 {
    let t = Instant::now();
    for _ in 0..steps {
        e.step(u, &[], &[]).unwrap();
        if e.steps() >= 100 {
            e.reset(joints).unwrap();
        }
    }
    t.elapsed().as_secs_f64() / (steps * e.batch()) as f64
}

fn main() {
    let names: Vec<String> = std::env::args().skip(1).collect();
    let models: Vec<&str> = if names.is_empty() {
        motornet::models::BUILTIN.iter().map(|b| b.0).collect()
    } else {
        names.iter().map(String::as_str).collect()
    };
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("| model | batch 1: JIT | compiled | interpreted | JIT/compiled | batch 1024: JIT | compiled | interpreted | JIT/compiled | JIT compile |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for name in models {
        let source = motornet::models::source(name).expect("a built-in model");
        let interpreted = InterpretedPlant::from_source(source, name).unwrap();
        let compile_ms = motornet::jit::compile_seconds(interpreted.program()).unwrap() * 1e3;
        let jit = JitPlant::from_interpreted(interpreted.clone()).unwrap();
        let makes: [Box<dyn Fn() -> Box<dyn Plant>>; 3] = [
            Box::new(|| Box::new(jit.clone())),
            Box::new(|| motornet::models::compiled(name).unwrap()),
            Box::new(|| Box::new(interpreted.clone())),
        ];
        let mut best = [[f64::INFINITY; 3]; 2];
        for (k, batch) in [1usize, 1024].into_iter().enumerate() {
            let mut effectors: Vec<_> = makes
                .iter()
                .map(|make| {
                    let plant = make();
                    let j = joint(plant.as_ref()).repeat(batch);
                    let m = plant.info().n_muscles();
                    let mut e = Effector::new(plant, batch);
                    e.check_finite = false;
                    e.reset(&j).unwrap();
                    (e, j, vec![0.2; m * batch])
                })
                .collect();
            for _round in 0..15 {
                for (b, (e, j, u)) in effectors.iter_mut().enumerate() {
                    // About a millisecond per burst for the compiled plant, as many steps for the others.
                    let steps = if batch == 1 { 5000 } else { 12 };
                    let steps = if b == 2 { steps / 10 } else { steps };
                    best[k][b] = best[k][b].min(burst(e, j, u, steps.max(1)));
                }
            }
        }
        let ns = |s: f64| format!("{:.0} ns", s * 1e9);
        println!(
            "| {name} | {} | {} | {} | {:.2} | {} | {} | {} | {:.2} | {compile_ms:.0} ms |",
            ns(best[0][0]),
            ns(best[0][1]),
            ns(best[0][2]),
            best[0][1] / best[0][0],
            ns(best[1][0]),
            ns(best[1][1]),
            ns(best[1][2]),
            best[1][1] / best[1][0],
        );
    }
    println!(
        "\nload average before: {}; after: {}",
        load.trim(),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
}
