//! Forward and backward of the policy over one training episode at the reference training size: batch 32,
//! 100 steps, 16 inputs, 128 hidden units, 6 outputs.

use criterion::{criterion_group, criterion_main, Criterion};
use motornet_runtime::gru::Gru;
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const B: usize = 32;
const T: usize = 100;
const I: usize = 16;
const H: usize = 128;
const O: usize = 6;

fn episode(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let gru = Gru::new(I, H, O, &mut rng);
    let xs: Vec<Array2<f64>> = (0..T)
        .map(|_| Array2::from_shape_fn((B, I), |_| rng.random_range(-1.0..1.0)))
        .collect();
    let mut tape = gru.tape(B, T);
    let mut grads = gru.grads();
    let mut dh = Array2::zeros((B, H));
    let mut dx = Array2::zeros((B, I));
    let mut du = Array2::zeros((B, O));

    c.bench_function("gru forward 100 steps B32 H128", |bench| {
        bench.iter(|| {
            tape.reset_zero();
            for (t, x) in xs.iter().enumerate() {
                gru.step(&mut tape, t, x.view());
            }
        })
    });
    c.bench_function("gru forward+backward 100 steps B32 H128", |bench| {
        bench.iter(|| {
            tape.reset_zero();
            for (t, x) in xs.iter().enumerate() {
                gru.step(&mut tape, t, x.view());
            }
            dh.fill(0.0);
            grads.zero();
            for t in (0..T).rev() {
                du.assign(&tape.u(t));
                gru.backward(
                    &mut tape,
                    t,
                    du.view(),
                    dh.view_mut(),
                    &mut grads,
                    Some(dx.view_mut()),
                );
            }
        })
    });
}

criterion_group!(benches, episode);
criterion_main!(benches);
