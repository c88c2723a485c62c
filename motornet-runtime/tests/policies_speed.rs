//! Ad-hoc timing of one training episode per network (batch 32, 100 steps, 16 inputs, 128 hidden
//! units, 6 outputs), the fastest of several interleaved repetitions in CPU time, so that load from other
//! processes affects the ratios little. Ignored by default; run with
//! `cargo test --release -p motornet-runtime --test policies_speed -- --ignored --nocapture`.
//! Prints times only; nothing is asserted.

use motornet_runtime::policy::{
    CellKind, Layered, ModularSpec, Network, NetworkSpec, Policy, PolicyTape,
};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::{Duration, Instant};

const B: usize = 32;
const T: usize = 100;
const I: usize = 16;
const H: usize = 128;
const O: usize = 6;
const EPISODES: u32 = 6;

fn episode<P: Policy>(net: &P, tape: &mut P::Tape, xs: &[Array2<f64>], grads: &mut [f64]) {
    let hid = net.sizes().hidden;
    let mut dh = Array2::zeros((B, hid));
    let mut dx = Array2::zeros((B, I));
    net.reset(tape);
    for (t, x) in xs.iter().enumerate() {
        net.step(tape, t, x.view(), None);
    }
    grads.fill(0.0);
    for t in (0..T).rev() {
        let du = tape.u(t).to_owned();
        net.backward(
            tape,
            t,
            du.view(),
            dh.view_mut(),
            grads,
            Some(dx.view_mut()),
        );
    }
}

/// This thread's time on the CPU so far (Linux's `/proc/thread-self/schedstat`).
fn cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

#[test]
#[ignore]
fn episode_times() {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let xs: Vec<Array2<f64>> = (0..T)
        .map(|_| Array2::from_shape_fn((B, I), |_| rng.random_range(-1.0..1.0)))
        .collect();
    let modular = ModularSpec {
        input: I,
        modules: vec![64, 64],
        output: O,
        delay: vec![vec![0, 2], vec![2, 0]],
        mask_w: vec![1.0; H * (I + H)],
        mask_y: vec![1.0; O * H],
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
            "gru x2 layers",
            NetworkSpec::Gru {
                hidden: H,
                layers: 2,
            },
        ),
        ("modular_gru", NetworkSpec::ModularGru(modular)),
    ];
    let mut nets: Vec<(String, Network)> = specs
        .into_iter()
        .map(|(n, s)| (n.to_string(), Network::new(&s, I, O, &mut rng).unwrap()))
        .collect();
    let layered_gru = Layered::new(CellKind::Gru, I, H, 1, O, &mut rng);
    nets.push(("gru (layered impl.)".into(), Network::Layered(layered_gru)));
    // The same GRU again: how much the order of measurement alone moves a time.
    nets.push(("gru (again)".into(), nets[0].1.clone()));
    // `POLICY_SPEED_ONLY=lstm` times one network (for profiling); the GRU stays first as the yardstick.
    if let Ok(only) = std::env::var("POLICY_SPEED_ONLY") {
        nets = nets
            .into_iter()
            .enumerate()
            .filter(|(k, (n, _))| *k == 0 || *n == only || n == "gru (again)")
            .map(|(_, n)| n)
            .collect();
    }
    let mut tapes: Vec<_> = nets.iter().map(|(_, n)| n.tape(B, T)).collect();
    let mut grads: Vec<Vec<f64>> = nets
        .iter()
        .map(|(_, n)| vec![0.0; n.param_count()])
        .collect();
    let mut best = vec![Duration::MAX; nets.len()];
    // Every repetition starts at another network, so that no network always follows the same one.
    for rep in 0..3 * nets.len() {
        for k in (0..nets.len()).map(|j| (j + rep) % nets.len()) {
            let net = &nets[k].1;
            let (start, cpu) = (Instant::now(), cpu_time());
            // Several episodes per sample: the kernel's CPU-time accounting advances by scheduler ticks.
            for _ in 0..EPISODES {
                episode(net, &mut tapes[k], &xs, &mut grads[k]);
            }
            // Time on the CPU where the kernel reports it (other processes' time slices excluded).
            let spent = match (cpu, cpu_time()) {
                (Some(a), Some(b)) => b.saturating_sub(a),
                _ => start.elapsed(),
            };
            best[k] = best[k].min(spent / EPISODES);
        }
    }
    let gru = best[0].as_secs_f64();
    for ((name, _), t) in nets.iter().zip(&best) {
        let t = t.as_secs_f64();
        eprintln!("{name:22} {:8.2} ms  {:.2}× gru", t * 1e3, t / gru);
    }
}
