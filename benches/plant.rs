//! Criterion benches: one plant step, one adjoint step and a 100-step rollout gradient of arm26, compiled and
//! interpreted, at batch 1 and 1024. Figures are recorded in BENCHMARKS.md.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use motornet::models::Arm26;
use motornet::runtime::Rollout;
use motornet::{Effector, InterpretedPlant, Plant};

fn interpreted_arm26() -> InterpretedPlant {
    InterpretedPlant::from_source(motornet::models::source("arm26").unwrap(), "arm26").unwrap()
}

fn joint(batch: usize) -> Vec<f64> {
    [0.8, 1.2, 0.0, 0.0].repeat(batch)
}

fn step<P: Plant>(c: &mut Criterion, name: &str, plant: impl Fn() -> P) {
    let mut group = c.benchmark_group(format!("step/{name}"));
    for batch in [1usize, 1024] {
        let mut e = Effector::new(plant(), batch);
        e.check_finite = false;
        e.reset(&joint(batch)).unwrap();
        let u = vec![0.2; 6 * batch];
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_with_input(BenchmarkId::from_parameter(batch), &batch, |b, _| {
            b.iter(|| {
                e.step(&u, &[], &[]).unwrap();
                // Keep the arm in its working range so every iteration does the same work.
                if e.steps() > 50 {
                    e.reset(&joint(batch)).unwrap();
                }
            })
        });
    }
    group.finish();
}

fn adjoint<P: Plant>(c: &mut Criterion, name: &str, plant: P) {
    let mut group = c.benchmark_group(format!("adjoint_step/{name}"));
    let info = plant.info().clone();
    let (s, cd) = (info.state_dim(), info.control_dim());
    let mut ws = plant.workspace();
    let mut x = vec![0.0; s];
    plant.reset(&mut ws, &joint(1), &mut x);
    let mut u = vec![0.0; cd];
    u[..6].fill(0.2);
    let w = vec![0.1; s];
    let (mut gx, mut gu) = (vec![0.0; s], vec![0.0; cd]);
    let mut next = vec![0.0; s];
    group.bench_function("primal", |b| {
        b.iter(|| plant.step(&mut ws, &x, &u, &mut next))
    });
    group.bench_function("adjoint", |b| {
        b.iter(|| plant.step_vjp(&mut ws, &x, &u, &w, &mut gx, &mut gu))
    });
    group.finish();
}

fn rollout_gradient<P: Plant>(c: &mut Criterion, name: &str, plant: P) {
    let mut group = c.benchmark_group(format!("rollout_gradient_100/{name}"));
    group.sample_size(10);
    let cd = plant.info().control_dim();
    for batch in [1usize, 1024] {
        let mut controls = vec![0.0; 100 * batch * cd];
        for row in controls.chunks_mut(cd) {
            row[..6].fill(0.2);
        }
        let mut ws = plant.workspace();
        group.throughput(Throughput::Elements((batch * 100) as u64));
        group.bench_with_input(BenchmarkId::from_parameter(batch), &batch, |b, &batch| {
            b.iter(|| {
                let r = Rollout::record(&plant, &joint(batch), &controls, batch).unwrap();
                r.backward(&plant, &mut ws, |_, _, x, out| out[4] += x[4])
            })
        });
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    step(c, "arm26_compiled", Arm26::new);
    step(c, "arm26_interpreted", interpreted_arm26);
    adjoint(c, "arm26_compiled", Arm26::new());
    adjoint(c, "arm26_interpreted", interpreted_arm26());
    rollout_gradient(c, "arm26_compiled", Arm26::new());
}

criterion_group!(plant_benches, benches);
criterion_main!(plant_benches);
