//! Criterion benches: one plant step, one adjoint step and a 100-step rollout gradient of arm26 (the trajectory
//! recorded then backpropagated, and `Rollout::gradient` on 1 and 2 threads), compiled and interpreted, at
//! batch 1 and 1024. Figures are recorded in BENCHMARKS.md.

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
    for (batch, threads) in [(1usize, 1usize), (32, 1), (1024, 1), (1024, 2)] {
        let mut e = Effector::new(plant(), batch);
        e.check_finite = false;
        e.set_threads(threads).unwrap();
        e.reset(&joint(batch)).unwrap();
        let u = vec![0.2; 6 * batch];
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_with_input(
            BenchmarkId::new(format!("{threads}_threads"), batch),
            &batch,
            |b, _| {
                b.iter(|| {
                    e.step(&u, &[], &[]).unwrap();
                    // Keep the arm in its working range so every iteration does the same work.
                    if e.steps() > 50 {
                        e.reset(&joint(batch)).unwrap();
                    }
                })
            },
        );
    }
    group.finish();
}

fn adjoint<P: Plant>(c: &mut Criterion, name: &str, plant: P) {
    let mut group = c.benchmark_group(format!("adjoint_step/{name}"));
    let info = plant.info().clone();
    let (s, cd) = (info.state_dim(), info.control_dim());
    let mut ws = plant.workspace();
    let mut x = vec![0.0; s];
    plant.reset(&mut ws, &joint(1), &mut x).unwrap();
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
        group.bench_with_input(
            BenchmarkId::new("record_backward", batch),
            &batch,
            |b, &batch| {
                b.iter(|| {
                    let r = Rollout::record(&plant, &joint(batch), &controls, batch).unwrap();
                    r.backward(&plant, &mut ws, |_, _, x, out| out[4] += x[4])
                })
            },
        );
        for threads in [1, 2] {
            let id = BenchmarkId::new(format!("gradient_{threads}_threads"), batch);
            group.bench_with_input(id, &batch, |b, &batch| {
                b.iter(|| {
                    Rollout::gradient(
                        &plant,
                        &joint(batch),
                        &controls,
                        batch,
                        threads,
                        |_, _, x, out| out[4] += x[4],
                    )
                    .unwrap()
                })
            });
        }
    }
    group.finish();
}

// The wrap_elbow arm with one triceps, wrapping over the elbow cylinder or running straight: the difference
// is the cost of one wrapped path segment (length and moment arms), primal and adjoint.
motornet::model!(OneWrap = "benches/models/one_wrap.mnet");
motornet::model!(OneStraight = "benches/models/one_straight.mnet");

fn wrapping(c: &mut Criterion) {
    let mut group = c.benchmark_group("path");
    for (name, plant) in [
        ("straight", Box::new(OneStraight::new()) as Box<dyn Plant>),
        ("wrapped", Box::new(OneWrap::new())),
    ] {
        let (s, cd) = (plant.info().state_dim(), plant.info().control_dim());
        let mut ws = plant.workspace();
        let mut x = vec![0.0; s];
        // Elbow flexed so that the triceps wraps (a select computes both branches either way).
        plant.reset(&mut ws, &[0.3, 2.4, 0.0, 0.0], &mut x).unwrap();
        let mut u = vec![0.0; cd];
        u[0] = 0.3;
        let w = vec![0.1; s];
        let (mut next, mut gx, mut gu) = (vec![0.0; s], vec![0.0; s], vec![0.0; cd]);
        group.bench_function(format!("{name}/primal"), |b| {
            b.iter(|| plant.step(&mut ws, &x, &u, &mut next))
        });
        group.bench_function(format!("{name}/adjoint"), |b| {
            b.iter(|| plant.step_vjp(&mut ws, &x, &u, &w, &mut gx, &mut gu))
        });
    }
    group.finish();
}

/// One training batch of the reference workload (arm26, GRU 128, batch 32, 100 steps), 1 and 2 threads.
fn training(c: &mut Criterion) {
    let mut group = c.benchmark_group("train_batch");
    group.sample_size(10);
    for threads in [1usize, 2] {
        let mut cfg = motornet::training::TrainConfig::default();
        cfg.optim.threads = threads;
        let mut trainer = cfg.trainer().unwrap();
        let mut batch = 0u64;
        group.bench_function(format!("{threads}_threads"), |b| {
            b.iter(|| {
                batch += 1;
                trainer.train_batch(batch).unwrap()
            })
        });
    }
    group.finish();
}

/// What `model!` does for models/arm26.mnet: parse, check, lower, generate.
fn expansion(c: &mut Criterion) {
    let source = motornet::models::source("arm26").unwrap();
    c.bench_function("macro_expansion/arm26", |b| {
        b.iter(|| {
            motornet::dsl::expand(
                source,
                "arm26.mnet",
                None,
                "pub".parse().unwrap(),
                "::motornet::__private".parse().unwrap(),
                None,
            )
            .unwrap()
        })
    });
}

fn benches(c: &mut Criterion) {
    step(c, "arm26_compiled", Arm26::new);
    step(c, "arm26_interpreted", interpreted_arm26);
    adjoint(c, "arm26_compiled", Arm26::new());
    adjoint(c, "arm26_interpreted", interpreted_arm26());
    rollout_gradient(c, "arm26_compiled", Arm26::new());
    wrapping(c);
    training(c);
    expansion(c);
}

criterion_group!(plant_benches, benches);
criterion_main!(plant_benches);
