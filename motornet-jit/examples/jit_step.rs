//! Times the JIT against the interpreter on a model file: one step of one effector, one adjoint step, and
//! a step of 1024 effectors on one thread. `cargo run --release -p motornet-jit --example jit_step --
//! models/arm26.mnet` (the full comparison with the compiled plant is `motornet bench`).

use motornet_dsl::InterpretedPlant;
use motornet_jit::JitPlant;
use motornet_runtime::{Effector, Plant};
use std::time::Instant;

fn per_call(mut f: impl FnMut()) -> f64 {
    let mut best = f64::INFINITY;
    // The minimum over many short runs: the machine is shared, and preemption only ever adds time.
    for _ in 0..40 {
        let t = Instant::now();
        let n = 2_000;
        for _ in 0..n {
            f();
        }
        best = best.min(t.elapsed().as_secs_f64() / n as f64);
    }
    best
}

fn measure(name: &str, make: &dyn Fn() -> Box<dyn Plant>) {
    let plant = make();
    let info = plant.info().clone();
    let (s, c, m) = (info.state_dim(), info.control_dim(), info.n_muscles());
    let joint: Vec<f64> = plant
        .bounds()
        .iter()
        .map(|r| {
            if r.lower.is_finite() && r.upper.is_finite() {
                0.5 * (r.lower + r.upper)
            } else {
                0.0
            }
        })
        .chain(std::iter::repeat_n(0.0, info.dof()))
        .collect();
    let mut ws = plant.workspace();
    let mut x = vec![0.0; s];
    plant.reset(&mut ws, &joint, &mut x).unwrap();
    let mut u = vec![0.0; c];
    u[..m].fill(0.2);
    let w = vec![0.1; s];
    let (mut y, mut gx, mut gu) = (vec![0.0; s], vec![0.0; s], vec![0.0; c]);
    let step = per_call(|| plant.step(&mut ws, &x, &u, &mut y).unwrap());
    let vjp = per_call(|| {
        plant
            .step_vjp(&mut ws, &x, &u, &w, &mut gx, &mut gu)
            .unwrap()
    });
    let mut one = Effector::new(make(), 1);
    one.check_finite = false;
    one.reset(&joint).unwrap();
    let ex1 = vec![0.2; m];
    let b1 = per_call(|| {
        one.step(&ex1, &[], &[]).unwrap();
        if one.steps() >= 100 {
            one.reset(&joint).unwrap();
        }
    });
    let batch = 1024;
    let mut e = Effector::new(plant, batch);
    e.check_finite = false;
    let joints = joint.repeat(batch);
    e.reset(&joints).unwrap();
    let ex = vec![0.2; m * batch];
    let mut best = f64::INFINITY;
    for _ in 0..40 {
        e.reset(&joints).unwrap();
        let t0 = Instant::now();
        for _ in 0..10 {
            e.step(&ex, &[], &[]).unwrap();
        }
        best = best.min(t0.elapsed().as_secs_f64() / (10.0 * batch as f64));
    }
    println!(
        "{name:<12} step {:>8.1} ns   vjp {:>8.1} ns   batch-1 step {:>8.1} ns   batch-1024 step {:>8.1} ns/effector",
        step * 1e9,
        vjp * 1e9,
        b1 * 1e9,
        best * 1e9
    );
}

fn main() {
    for path in std::env::args().skip(1) {
        let source = std::fs::read_to_string(&path).expect("a model file");
        let base = InterpretedPlant::from_source(&source, &path).expect("a valid model");
        let t = Instant::now();
        let jit = JitPlant::from_interpreted(base.clone()).expect("native code");
        println!(
            "{path}: JIT compile {:.1} ms",
            t.elapsed().as_secs_f64() * 1e3
        );
        measure("jit", &|| Box::new(jit.clone()));
        if std::env::var_os("INTERP").is_some() {
            measure("interpreted", &|| Box::new(base.clone()));
        }
    }
}
