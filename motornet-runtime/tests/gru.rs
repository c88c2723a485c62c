//! The GRU policy: gradients by finite differences (with the observation fed back from the readout, as a
//! plant does), initialisation, tape reuse, checkpoints and optimizer resumption.

use motornet_runtime::adam::{clip_grad_norm, Adam};
use motornet_runtime::gru::{load_safetensors, save_safetensors, Gru, GruDims};
use ndarray::{Array2, Array3};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A small closed loop: `x_t = e_t + u_{t-1} M` (a stand-in plant feeding the readout back), loss
/// `Σ_t Σ c_t ⊙ u_t + d_t ⊙ u_t² / 2`.
struct Problem {
    gru: Gru,
    e: Array3<f64>,
    m: Array2<f64>,
    h0: Array2<f64>,
    c: Array3<f64>,
    d: Array3<f64>,
}

const B: usize = 3;
const T: usize = 5;

impl Problem {
    fn new(seed: u64) -> Problem {
        let (i, h, o) = (4, 6, 3);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut gru = Gru::zeros(GruDims::new(i, h, o));
        gru.params_mut()
            .iter_mut()
            .for_each(|p| *p = rng.random_range(-0.8..0.8));
        let mut r = |shape: &[usize]| -> Vec<f64> {
            (0..shape.iter().product::<usize>())
                .map(|_| rng.random_range(-1.0..1.0))
                .collect()
        };
        Problem {
            e: Array3::from_shape_vec((T, B, i), r(&[T, B, i])).unwrap(),
            m: Array2::from_shape_vec((o, i), r(&[o, i])).unwrap(),
            h0: Array2::from_shape_vec((B, h), r(&[B, h])).unwrap(),
            c: Array3::from_shape_vec((T, B, o), r(&[T, B, o])).unwrap(),
            d: Array3::from_shape_vec((T, B, o), r(&[T, B, o])).unwrap(),
            gru,
        }
    }

    fn loss(&self) -> f64 {
        let (i, o) = (self.gru.dims().input, self.gru.dims().output);
        let mut tape = self.gru.tape(B, T);
        tape.reset(self.h0.view());
        let mut u_prev = Array2::<f64>::zeros((B, o));
        let mut loss = 0.0;
        for t in 0..T {
            let x = &self.e.index_axis(ndarray::Axis(0), t) + &u_prev.dot(&self.m);
            assert_eq!(x.dim(), (B, i));
            let u = self.gru.step(&mut tape, t, x.view()).to_owned();
            let (c, d) = (
                self.c.index_axis(ndarray::Axis(0), t),
                self.d.index_axis(ndarray::Axis(0), t),
            );
            loss += (&c * &u).sum() + (&d * &u * &u).sum() / 2.0;
            u_prev = u;
        }
        loss
    }

    /// Gradients of the loss: parameters (flat), `e` and `h0`, the way a trainer computes them.
    fn gradients(&self) -> (Vec<f64>, Array3<f64>, Array2<f64>) {
        let (i, h, o) = (
            self.gru.dims().input,
            self.gru.dims().hidden,
            self.gru.dims().output,
        );
        let mut tape = self.gru.tape(B, T);
        tape.reset(self.h0.view());
        for t in 0..T {
            let u_prev = if t == 0 {
                Array2::zeros((B, o))
            } else {
                tape.u(t - 1).to_owned()
            };
            let x = &self.e.index_axis(ndarray::Axis(0), t) + &u_prev.dot(&self.m);
            self.gru.step(&mut tape, t, x.view());
        }
        let mut grads = self.gru.grads();
        let mut dh = Array2::zeros((B, h));
        let mut dx = Array2::zeros((B, i));
        let mut de = Array3::zeros((T, B, i));
        for t in (0..T).rev() {
            let u = tape.u(t);
            let (c, d) = (
                self.c.index_axis(ndarray::Axis(0), t),
                self.d.index_axis(ndarray::Axis(0), t),
            );
            let mut du = &c + &(&d * &u);
            if t + 1 < T {
                // x_{t+1} depends on u_t: dL/du_t += dL/dx_{t+1} Mᵀ.
                du += &dx.dot(&self.m.t());
            }
            self.gru.backward(
                &mut tape,
                t,
                du.view(),
                dh.view_mut(),
                &mut grads,
                Some(dx.view_mut()),
            );
            de.index_axis_mut(ndarray::Axis(0), t).assign(&dx);
        }
        (grads.as_slice().to_vec(), de, dh)
    }
}

fn check(what: &str, analytic: f64, numeric: f64) {
    let err = (analytic - numeric).abs() / (1.0 + numeric.abs());
    assert!(
        err < 1e-8,
        "{what}: analytic {analytic:e}, finite difference {numeric:e}"
    );
}

#[test]
fn gradients_match_finite_differences() {
    let base = Problem::new(7);
    let (g_params, g_e, g_h0) = base.gradients();
    let eps = 1e-6;
    let central = |perturb: &dyn Fn(&mut Problem, f64)| -> f64 {
        let mut p = Problem::new(7);
        perturb(&mut p, eps);
        let plus = p.loss();
        let mut p = Problem::new(7);
        perturb(&mut p, -eps);
        (plus - p.loss()) / (2.0 * eps)
    };
    for spec in base.gru.dims().tensors() {
        for k in spec.range() {
            let numeric = central(&|p, h| p.gru.params_mut()[k] += h);
            check(
                &format!("{}[{}]", spec.name, k - spec.offset),
                g_params[k],
                numeric,
            );
        }
    }
    for (idx, &g) in g_e.indexed_iter() {
        check(&format!("e{idx:?}"), g, central(&|p, h| p.e[idx] += h));
    }
    for (idx, &g) in g_h0.indexed_iter() {
        check(&format!("h0{idx:?}"), g, central(&|p, h| p.h0[idx] += h));
    }
}

#[test]
fn gradients_accumulate_across_batches() {
    let p = Problem::new(3);
    let (g, _, _) = p.gradients();
    let mut tape = p.gru.tape(B, T);
    let mut grads = p.gru.grads();
    for _ in 0..2 {
        tape.reset(p.h0.view());
        for t in 0..T {
            p.gru
                .step(&mut tape, t, p.e.index_axis(ndarray::Axis(0), t));
        }
        let mut dh = Array2::zeros((B, p.gru.dims().hidden));
        for t in (0..T).rev() {
            let du = p.c.index_axis(ndarray::Axis(0), t);
            p.gru
                .backward(&mut tape, t, du, dh.view_mut(), &mut grads, None);
        }
    }
    // Same open-loop problem run once for reference.
    let mut once = p.gru.grads();
    tape.reset(p.h0.view());
    for t in 0..T {
        p.gru
            .step(&mut tape, t, p.e.index_axis(ndarray::Axis(0), t));
    }
    let mut dh = Array2::zeros((B, p.gru.dims().hidden));
    for t in (0..T).rev() {
        p.gru.backward(
            &mut tape,
            t,
            p.c.index_axis(ndarray::Axis(0), t),
            dh.view_mut(),
            &mut once,
            None,
        );
    }
    for (a, b) in grads.as_slice().iter().zip(once.as_slice()) {
        assert!(
            (a - 2.0 * b).abs() <= 1e-15 * (1.0 + b.abs()),
            "{a} vs 2 × {b}"
        );
    }
    assert_ne!(g, once.as_slice(), "closed and open loop differ");
}

#[test]
fn tape_reuse_gives_identical_results() {
    let p = Problem::new(11);
    assert_eq!(p.gradients(), p.gradients());
    let mut tape = p.gru.tape(B, T);
    let mut first = Vec::new();
    for round in 0..3 {
        tape.reset(p.h0.view());
        let mut out = Vec::new();
        for t in 0..T {
            out.extend(
                p.gru
                    .step(&mut tape, t, p.e.index_axis(ndarray::Axis(0), t))
                    .iter()
                    .copied(),
            );
        }
        if round == 0 {
            first = out;
        } else {
            assert_eq!(first, out);
        }
    }
}

#[test]
#[should_panic(expected = "decreasing order")]
fn backward_out_of_order_panics() {
    let p = Problem::new(1);
    let mut tape = p.gru.tape(B, T);
    tape.reset(p.h0.view());
    for t in 0..T {
        p.gru
            .step(&mut tape, t, p.e.index_axis(ndarray::Axis(0), t));
    }
    let mut dh = Array2::zeros((B, p.gru.dims().hidden));
    let mut grads = p.gru.grads();
    p.gru.backward(
        &mut tape,
        T - 2,
        p.c.index_axis(ndarray::Axis(0), 0),
        dh.view_mut(),
        &mut grads,
        None,
    );
}

#[test]
fn initialisation_follows_policy_gru() {
    let (i, h, o) = (16, 32, 6);
    let gru = Gru::new(i, h, o, &mut ChaCha8Rng::seed_from_u64(42));
    assert_eq!(
        gru,
        Gru::new(i, h, o, &mut ChaCha8Rng::seed_from_u64(42)),
        "seeded init is reproducible"
    );
    assert_ne!(gru, Gru::new(i, h, o, &mut ChaCha8Rng::seed_from_u64(43)));
    assert_eq!(gru.param_count(), 3 * h * (i + h + 2) + o * (h + 1));
    let p = gru.views();
    // Orthogonal: the columns of the 3H × H recurrent weight are orthonormal.
    let gram = p.weight_hh.t().dot(&p.weight_hh);
    for ((a, b), v) in gram.indexed_iter() {
        let expect = if a == b { 1.0 } else { 0.0 };
        assert!((v - expect).abs() < 1e-12, "WᵀW[{a},{b}] = {v}");
    }
    let ih_bound = (6.0 / (i + 3 * h) as f64).sqrt();
    assert!(p.weight_ih.iter().all(|w| w.abs() <= ih_bound));
    assert!(
        p.weight_ih.iter().any(|w| w.abs() > 0.9 * ih_bound),
        "spans the xavier range"
    );
    let fc_bound = (6.0 / (h + o) as f64).sqrt();
    assert!(p.fc_weight.iter().all(|w| w.abs() <= fc_bound));
    assert!(p.bias_ih.iter().chain(p.bias_hh.iter()).all(|&b| b == 0.0));
    assert!(p.fc_bias.iter().all(|&b| b == -5.0));
}

fn temp_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("motornet-gru-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn checkpoint_round_trip_is_bit_exact() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let gru = Gru::new(5, 7, 3, &mut rng);
    let mut adam = Adam::new(gru.param_count(), 1e-3);
    let mut params = gru.params().to_vec();
    for _ in 0..3 {
        let g: Vec<f64> = (0..params.len())
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        adam.step(&mut params, &g);
    }
    let gru = Gru::from_flat(gru.dims(), params).unwrap();
    let meta = vec![
        ("lr".to_string(), "0.001".to_string()),
        ("task".to_string(), "reach".to_string()),
    ];
    let path = temp_path("ckpt.safetensors");
    save_safetensors(&path, &gru, Some(&adam.state), &meta).unwrap();
    let (gru2, state2, meta2) = load_safetensors(&path).unwrap();
    assert_eq!(gru2.dims(), gru.dims());
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(gru2.params()), bits(gru.params()));
    let state2 = state2.expect("Adam state saved");
    assert_eq!(state2.step, 3);
    assert_eq!(bits(&state2.m), bits(&adam.state.m));
    assert_eq!(bits(&state2.v), bits(&adam.state.v));
    assert_eq!(meta2, meta);

    // Saving again replaces the file atomically and leaves no temporary behind.
    save_safetensors(&path, &gru, None, &[]).unwrap();
    let (gru3, state3, meta3) = load_safetensors(&path).unwrap();
    assert_eq!(gru3, gru);
    assert!(state3.is_none());
    assert!(meta3.is_empty());
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().contains("tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

#[test]
fn checkpoint_uses_pytorch_names_and_shapes() {
    let gru = Gru::new(4, 5, 2, &mut ChaCha8Rng::seed_from_u64(0));
    let path = temp_path("names.safetensors");
    save_safetensors(&path, &gru, None, &[]).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + header_len]).unwrap();
    let expect = [
        ("gru.weight_ih_l0", vec![15, 4]),
        ("gru.weight_hh_l0", vec![15, 5]),
        ("gru.bias_ih_l0", vec![15]),
        ("gru.bias_hh_l0", vec![15]),
        ("fc.weight", vec![2, 5]),
        ("fc.bias", vec![2]),
    ];
    for (name, shape) in expect {
        assert_eq!(header[name]["dtype"], "F64", "{name}");
        assert_eq!(header[name]["shape"], serde_json::json!(shape), "{name}");
    }
    std::fs::remove_file(&path).unwrap();
    assert!(load_safetensors(&path).is_err(), "missing file is an error");
}

#[test]
fn adam_resumes_exactly_from_saved_state() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let n = 50;
    let grads: Vec<Vec<f64>> = (0..6)
        .map(|_| (0..n).map(|_| rng.random_range(-1.0..1.0)).collect())
        .collect();
    let mut straight = Adam::new(n, 0.01);
    let mut p1 = vec![0.5; n];
    for g in &grads {
        straight.step(&mut p1, g);
    }
    let mut first = Adam::new(n, 0.01);
    let mut p2 = vec![0.5; n];
    for g in &grads[..3] {
        first.step(&mut p2, g);
    }
    let mut resumed = Adam::with_state(0.01, first.state.clone());
    for g in &grads[3..] {
        resumed.step(&mut p2, g);
    }
    assert_eq!(p1, p2);
    assert_eq!(straight.state, resumed.state);
}

#[test]
fn clipping_bounds_the_norm() {
    let mut g: Vec<f64> = (0..100).map(|k| (k as f64).sin()).collect();
    let before = g.iter().map(|x| x * x).sum::<f64>().sqrt();
    assert_eq!(clip_grad_norm(&mut g, 1.0), before);
    let after = g.iter().map(|x| x * x).sum::<f64>().sqrt();
    assert!(after <= 1.0 && after > 1.0 - 1e-5, "{after}");
}
