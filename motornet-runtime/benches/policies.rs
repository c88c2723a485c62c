//! One training episode (forward and backward) of each policy network at the trainer's reference size:
//! batch 32, 100 steps, 16 inputs, 128 hidden units, 6 outputs. Compare with `gru forward+backward`.

use criterion::{criterion_group, criterion_main, Criterion};
use motornet_runtime::policy::{ModularSpec, Network, NetworkSpec, Policy, PolicyTape};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const B: usize = 32;
const T: usize = 100;
const I: usize = 16;
const H: usize = 128;
const O: usize = 6;

fn episodes(c: &mut Criterion) {
    let modular = ModularSpec {
        input: I,
        modules: vec![64, 64],
        output: O,
        delay: vec![vec![0, 2], vec![2, 0]],
        mask_w: vec![1.0; H * (I + H)],
        mask_y: vec![1.0; O * H],
        unit_sign: Vec::new(),
        spectral_scaling: None,
    };
    let specs = [
        (
            "gru",
            NetworkSpec::Gru {
                hidden: H,
                layers: 1,
            },
        ),
        (
            "lstm",
            NetworkSpec::Lstm {
                hidden: H,
                layers: 1,
            },
        ),
        (
            "rnn_tanh",
            NetworkSpec::Rnn {
                hidden: H,
                layers: 1,
                relu: false,
            },
        ),
        (
            "ctrnn",
            NetworkSpec::Ctrnn {
                hidden: H,
                layers: 1,
                alpha: 0.2,
            },
        ),
        (
            "gru_layered",
            NetworkSpec::Gru {
                hidden: H,
                layers: 2,
            },
        ),
        ("modular_gru", NetworkSpec::ModularGru(modular)),
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let xs: Vec<Array2<f64>> = (0..T)
        .map(|_| Array2::from_shape_fn((B, I), |_| rng.random_range(-1.0..1.0)))
        .collect();
    let mut group = c.benchmark_group("policy forward+backward 100 steps B32 H128");
    for (name, spec) in specs {
        let net = Network::new(&spec, I, O, &mut rng).unwrap();
        let hid = net.sizes().hidden;
        let mut tape = net.tape(B, T);
        let mut grads = vec![0.0; net.param_count()];
        let mut dh = Array2::zeros((B, hid));
        let mut dx = Array2::zeros((B, I));
        let mut du = Array2::zeros((B, O));
        group.bench_function(name, |bench| {
            bench.iter(|| {
                net.reset(&mut tape);
                for (t, x) in xs.iter().enumerate() {
                    net.step(&mut tape, t, x.view(), None);
                }
                dh.fill(0.0);
                grads.fill(0.0);
                for t in (0..T).rev() {
                    du.assign(&tape.u(t));
                    net.backward(
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
    group.finish();
}

criterion_group!(benches, episodes);
criterion_main!(benches);
