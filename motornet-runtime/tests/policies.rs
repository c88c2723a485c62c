//! Every policy network against PyTorch (the vendored `policies/` references, 1e-10), against finite
//! differences at random points of other sizes (so sizes and seeds that are not vendored are covered by
//! construction), and the one-layer GRU of the layered implementation against the existing `Gru`.

use motornet_runtime::policy::{
    verify_policy_reference, ModularSpec, Network, NetworkSpec, Policy, PolicyTape,
};
use ndarray::{Array2, Array3, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn reference(name: &str) -> serde_json::Value {
    let path = format!(
        "{}/../tests/reference/policies/{name}.seed1.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("vendored policy reference");
    serde_json::from_str(&text).unwrap()
}

const NETWORKS: [&str; 6] = [
    "rnn_tanh",
    "rnn_relu",
    "lstm",
    "gru2",
    "ctrnn",
    "modular_gru",
];

#[test]
fn every_network_matches_pytorch() {
    for name in NETWORKS {
        let report = verify_policy_reference(&reference(name)).unwrap();
        let fields: Vec<&str> = report.iter().map(|(f, _)| f.as_str()).collect();
        for needed in ["u", "h", "loss", "grad.x"] {
            assert!(
                fields.contains(&needed),
                "{name}: no `{needed}` in {fields:?}"
            );
        }
        assert!(fields.contains(&"grad.h0"), "{name}: {fields:?}");
        if name == "lstm" {
            assert!(
                fields.contains(&"c") && fields.contains(&"grad.c0"),
                "{fields:?}"
            );
        }
        let params = reference(name)["param_names"].as_array().unwrap().len();
        let grads = fields.iter().filter(|f| f.starts_with("grad.")).count();
        assert!(
            grads > params,
            "{name}: every parameter's gradient is checked"
        );
        for (field, err) in &report {
            eprintln!("{name:12} {field:20} {err:.2e}");
            assert!(*err <= 1e-10, "{name} {field}: error {err:e} exceeds 1e-10");
        }
    }
}

#[test]
fn the_gru_reference_format_is_accepted_too() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/reference/gru/gru_small.seed1.json"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for (field, err) in verify_policy_reference(&json).unwrap() {
        assert!(err <= 1e-10, "{field}: {err:e}");
    }
}

#[test]
fn malformed_references_are_errors_naming_the_field() {
    let cases: [(&str, &str, serde_json::Value); 6] = [
        ("lstm", "weight_hh", serde_json::json!([[1.0, 2.0]])),
        ("gru2", "h0", serde_json::json!([[1.0]])),
        ("ctrnn", "alpha", serde_json::json!("fast")),
        (
            "modular_gru",
            "mask_W",
            serde_json::json!([[1.0], [1.0, 2.0]]),
        ),
        ("rnn_relu", "network", serde_json::json!("transformer")),
        (
            "modular_gru",
            "connectivity_delay",
            serde_json::json!([[0, -1], [1, 0]]),
        ),
    ];
    for (name, key, value) in cases {
        let mut json = reference(name);
        json[key] = value;
        let err = verify_policy_reference(&json).unwrap_err();
        assert!(
            err.contains(key) || (key == "network" && err.contains("transformer")),
            "{name}/{key}: {err}"
        );
    }
    let mut json = reference("lstm");
    json["grad"].as_object_mut().unwrap().remove("c0");
    let err = verify_policy_reference(&json).unwrap_err();
    assert!(err.contains("grad.c0"), "{err}");
    let mut json = reference("rnn_tanh");
    json.as_object_mut().unwrap().remove("T");
    assert!(verify_policy_reference(&json).unwrap_err().contains("`T`"));
}

#[test]
fn a_wrong_gradient_is_detected() {
    let mut json = reference("modular_gru");
    let g = json["grad"]["Wr"][1][7].as_f64().unwrap();
    json["grad"]["Wr"][1][7] = serde_json::json!(g + 1e-6);
    for (field, err) in verify_policy_reference(&json).unwrap() {
        if field == "grad.Wr" {
            assert!(err > 1e-7, "{field}: {err:e}");
        } else {
            assert!(err <= 1e-10, "{field}: {err:e}");
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Finite differences.

const B: usize = 2;
const T: usize = 6;
const I: usize = 3;
const O: usize = 2;

fn modular_spec(rng: &mut ChaCha8Rng, delay: Vec<Vec<usize>>) -> ModularSpec {
    let modules = vec![3, 2];
    let h = 5;
    let mut bits = |n: usize| -> Vec<f64> {
        (0..n)
            .map(|_| if rng.random_bool(0.7) { 1.0 } else { 0.0 })
            .collect()
    };
    ModularSpec {
        input: I,
        modules,
        output: O,
        delay,
        mask_w: bits(h * (I + h)),
        mask_y: bits(O * h),
        unit_sign: Vec::new(),
        spectral_scaling: None,
    }
}

fn specs() -> Vec<NetworkSpec> {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    vec![
        NetworkSpec::Gru {
            hidden: 4,
            layers: 1,
        },
        NetworkSpec::Gru {
            hidden: 4,
            layers: 3,
        },
        NetworkSpec::Rnn {
            hidden: 4,
            layers: 2,
            relu: false,
        },
        NetworkSpec::Rnn {
            hidden: 5,
            layers: 2,
            relu: true,
        },
        NetworkSpec::Lstm {
            hidden: 4,
            layers: 2,
        },
        NetworkSpec::Ctrnn {
            hidden: 4,
            layers: 1,
            alpha: 0.2,
        },
        NetworkSpec::Ctrnn {
            hidden: 3,
            layers: 2,
            alpha: 0.5,
        },
        NetworkSpec::ModularGru(modular_spec(&mut rng, vec![vec![0, 2], vec![1, 0]])),
        NetworkSpec::ModularGru(modular_spec(&mut rng, vec![vec![1, 0], vec![3, 2]])),
        NetworkSpec::ModularGru(modular_spec(&mut rng, vec![vec![0, 0], vec![0, 0]])),
    ]
}

/// A closed loop as a trainer runs it: `x_t = e_t + u_{t−1} M` (a stand-in plant), hidden noise, and
/// `L = Σ_t c_t·u_t + d_t·u_t²/2 + Σ_{t=0..T} w_t·h_t²/2` (a hidden-activity loss, the initial state
/// included, which reaches the modular GRU's learnable `h0`).
struct Problem {
    net: Network,
    e: Array3<f64>,
    m: Array2<f64>,
    c: Array3<f64>,
    d: Array3<f64>,
    w: Array3<f64>,
    noise: Array3<f64>,
}

impl Problem {
    fn new(spec: &NetworkSpec, seed: u64) -> Problem {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut net = Network::new(spec, I, O, &mut rng).unwrap();
        for p in net.params_mut() {
            *p = rng.random_range(-0.8..0.8);
        }
        net.constrain();
        let hid = net.sizes().hidden;
        let mut r = |shape: (usize, usize, usize), scale: f64| {
            Array3::from_shape_fn(shape, |_| scale * rng.random_range(-1.0..1.0))
        };
        Problem {
            e: r((T, B, I), 1.0),
            m: r((1, O, I), 1.0).index_axis(Axis(0), 0).to_owned(),
            c: r((T, B, O), 1.0),
            d: r((T, B, O), 1.0),
            w: r((T + 1, B, hid), 1.0),
            noise: r((T, B, hid), 0.1),
            net,
        }
    }

    fn forward(&self) -> (<Network as Policy>::Tape, f64) {
        let mut tape = self.net.tape(B, T);
        self.net.reset(&mut tape);
        let mut loss = 0.0;
        let h0 = tape.h(0).to_owned();
        loss += (&self.w.index_axis(Axis(0), 0) * &h0 * &h0).sum() / 2.0;
        for t in 0..T {
            let u_prev = if t == 0 {
                Array2::zeros((B, O))
            } else {
                tape.u(t - 1).to_owned()
            };
            let x = &self.e.index_axis(Axis(0), t) + &u_prev.dot(&self.m);
            let noise = self.noise.index_axis(Axis(0), t);
            let u = self
                .net
                .step(&mut tape, t, x.view(), Some(noise))
                .to_owned();
            let (c, d) = (self.c.index_axis(Axis(0), t), self.d.index_axis(Axis(0), t));
            loss += (&c * &u).sum() + (&d * &u * &u).sum() / 2.0;
            let h = tape.h(t + 1).to_owned();
            loss += (&self.w.index_axis(Axis(0), t + 1) * &h * &h).sum() / 2.0;
        }
        (tape, loss)
    }

    /// Parameter gradient and `dL/de`, computed the way a trainer does.
    fn gradients(&self) -> (Vec<f64>, Array3<f64>) {
        let (mut tape, _) = self.forward();
        let hid = self.net.sizes().hidden;
        let mut grads = vec![0.0; self.net.param_count()];
        let mut dh = Array2::zeros((B, hid));
        let mut dx = Array2::zeros((B, I));
        let mut de = Array3::zeros((T, B, I));
        for t in (0..T).rev() {
            dh += &(&self.w.index_axis(Axis(0), t + 1) * &tape.h(t + 1));
            let u = tape.u(t);
            let mut du = &self.c.index_axis(Axis(0), t) + &(&self.d.index_axis(Axis(0), t) * &u);
            if t + 1 < T {
                du += &dx.dot(&self.m.t());
            }
            self.net.backward(
                &mut tape,
                t,
                du.view(),
                dh.view_mut(),
                &mut grads,
                Some(dx.view_mut()),
            );
            de.index_axis_mut(Axis(0), t).assign(&dx);
        }
        dh += &(&self.w.index_axis(Axis(0), 0) * &tape.h(0));
        self.net.backward_initial(&mut tape, dh.view(), &mut grads);
        (grads, de)
    }
}

#[test]
fn gradients_match_finite_differences() {
    let eps = 1e-6;
    for (n, spec) in specs().iter().enumerate() {
        let seed = 100 + n as u64;
        let base = Problem::new(spec, seed);
        let kind = base.net.kind();
        let (grads, de) = base.gradients();
        let central = |perturb: &dyn Fn(&mut Problem, f64)| {
            let mut p = Problem::new(spec, seed);
            perturb(&mut p, eps);
            let plus = p.forward().1;
            let mut p = Problem::new(spec, seed);
            perturb(&mut p, -eps);
            (plus - p.forward().1) / (2.0 * eps)
        };
        // Parameters the masks remove stay removed (zero), and their gradient is masked to zero.
        let mut masked = vec![false; grads.len()];
        let mut probe = base.net.params().to_vec();
        probe.iter_mut().for_each(|p| *p = 1.0);
        base.net.mask_gradient(&mut probe);
        for (k, p) in probe.iter().enumerate() {
            masked[k] = *p == 0.0;
        }
        let mut worst = 0.0f64;
        for tensor in base.net.tensors() {
            for k in tensor.range() {
                if masked[k] {
                    assert_eq!(grads[k], 0.0, "{kind} {}: masked gradient", tensor.name);
                    assert_eq!(
                        base.net.params()[k],
                        0.0,
                        "{kind} {}: masked weight",
                        tensor.name
                    );
                    continue;
                }
                let numeric = central(&|p, h| p.net.params_mut()[k] += h);
                let err = (grads[k] - numeric).abs() / (1.0 + numeric.abs());
                worst = worst.max(err);
                assert!(
                    err < 1e-7,
                    "{kind} ({spec:?}) {}[{}]: analytic {:e}, finite difference {numeric:e}",
                    tensor.name,
                    k - tensor.offset,
                    grads[k]
                );
            }
        }
        for (t, b, i) in [(0, 0, 0), (2, 1, 2), (T - 1, 0, 1), (T - 2, 1, 0)] {
            let numeric = central(&|p, h| p.e[[t, b, i]] += h);
            let err = (de[[t, b, i]] - numeric).abs() / (1.0 + numeric.abs());
            worst = worst.max(err);
            assert!(
                err < 1e-7,
                "{kind} dL/de[{t},{b},{i}]: {:e} vs {numeric:e}",
                de[[t, b, i]]
            );
        }
        eprintln!("{kind:12} layers {} worst {worst:.1e}", base.net.layers());
    }
}

#[test]
fn one_layer_gru_of_the_layered_networks_is_the_gru() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let gru = motornet_runtime::gru::Gru::new(I, 6, O, &mut rng);
    let layered = motornet_runtime::policy::Layered::from_flat(
        motornet_runtime::policy::CellKind::Gru,
        I,
        6,
        1,
        O,
        gru.params().to_vec(),
    )
    .unwrap();
    let names = |t: Vec<motornet_runtime::policy::ParamTensor>| {
        t.into_iter().map(|t| (t.name, t.shape)).collect::<Vec<_>>()
    };
    assert_eq!(names(Policy::tensors(&gru)), names(layered.tensors()));
    let x = Array2::from_shape_fn((B, I), |(b, i)| (b * I + i) as f64 / 5.0 - 0.4);
    let run = |net: &dyn Fn(&mut Vec<f64>) -> Vec<f64>| {
        let mut grads = Vec::new();
        let us = net(&mut grads);
        (us, grads)
    };
    fn episode<P: Policy>(p: &P, x: &Array2<f64>, grads: &mut Vec<f64>) -> Vec<f64> {
        let mut tape = p.tape(B, T);
        p.reset(&mut tape);
        let mut us = Vec::new();
        for t in 0..T {
            us.extend(p.step(&mut tape, t, x.view(), None).iter());
        }
        grads.resize(p.param_count(), 0.0);
        let mut dh = Array2::zeros((B, p.sizes().hidden));
        let mut dx = Array2::zeros((B, I));
        for t in (0..T).rev() {
            let du = tape.u(t).to_owned();
            p.backward(
                &mut tape,
                t,
                du.view(),
                dh.view_mut(),
                grads,
                Some(dx.view_mut()),
            );
        }
        us
    }
    let (u_a, g_a) = run(&|g| episode(&gru, &x, g));
    let (u_b, g_b) = run(&|g| episode(&layered, &x, g));
    for (a, b) in u_a.iter().zip(&u_b).chain(g_a.iter().zip(&g_b)) {
        assert!((a - b).abs() <= 1e-13 * (1.0 + a.abs()), "{a} vs {b}");
    }
}

#[test]
fn tensors_have_pytorch_names_and_cover_the_flat_vector() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for spec in specs() {
        let net = Network::new(&spec, I, O, &mut rng).unwrap();
        let tensors = net.tensors();
        let mut offset = 0;
        for t in &tensors {
            assert_eq!(t.offset, offset, "{}", t.name);
            offset += t.len();
        }
        assert_eq!(offset, net.param_count());
    }
    let lstm = Network::new(
        &NetworkSpec::Lstm {
            hidden: 4,
            layers: 2,
        },
        I,
        O,
        &mut rng,
    )
    .unwrap();
    let names: Vec<String> = lstm.tensors().into_iter().map(|t| t.name).collect();
    assert_eq!(
        names,
        [
            "lstm.weight_ih_l0",
            "lstm.weight_hh_l0",
            "lstm.bias_ih_l0",
            "lstm.bias_hh_l0",
            "lstm.weight_ih_l1",
            "lstm.weight_hh_l1",
            "lstm.bias_ih_l1",
            "lstm.bias_hh_l1",
            "fc.weight",
            "fc.bias"
        ]
    );
    assert_eq!(lstm.tensors()[4].shape, [16, 4]);
    assert_eq!(lstm.sizes().state, 16);
    // PyTorch's default initialisation of the recurrent part: uniform(−1/√H, 1/√H).
    let rnn = Network::new(
        &NetworkSpec::Rnn {
            hidden: 64,
            layers: 1,
            relu: false,
        },
        I,
        O,
        &mut rng,
    )
    .unwrap();
    let w = &rnn.params()[rnn.tensors()[1].range()];
    let max = w.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(max <= 0.125 && max > 0.1, "{max}");
    assert!(rnn.params()[rnn.tensors()[5].range()]
        .iter()
        .all(|b| *b == -5.0));
    // The modular GRU's state_dict has upstream's masks after its parameters.
    let modular = Network::new(
        &NetworkSpec::ModularGru(modular_spec(&mut rng, vec![vec![0, 1], vec![1, 0]])),
        I,
        O,
        &mut rng,
    )
    .unwrap();
    let dict: Vec<String> = modular.state_dict().into_iter().map(|e| e.0).collect();
    assert_eq!(dict.len(), 17);
    assert_eq!((dict[0].as_str(), dict[9].as_str()), ("h0", "mask_Wz"));
    let bad = Network::new(
        &NetworkSpec::Gru {
            hidden: 0,
            layers: 1,
        },
        I,
        O,
        &mut rng,
    );
    assert!(bad.is_err());
}

#[test]
fn modular_masks_follow_upstreams_procedure() {
    use motornet_runtime::policy::ModularMasks;
    let masks = ModularMasks {
        vision_dim: vec![2, 3],
        proprio_dim: vec![4],
        task_dim: vec![0, 1],
        vision_mask: vec![1.0, 0.0],
        proprio_mask: vec![0.0, 1.0],
        task_mask: vec![1.0, 1.0],
        connectivity_mask: vec![vec![1.0, 0.5], vec![0.0, 1.0]],
        output_mask: vec![0.0, 1.0],
        proportion_excitatory: None,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let delay = vec![vec![0, 1], vec![1, 0]];
    let spec = ModularSpec::generate(5, vec![3, 4], 2, delay.clone(), &masks, &mut rng).unwrap();
    let (h, k) = (7, 12);
    let w = |r: usize, c: usize| spec.mask_w[r * k + c];
    for r in 0..h {
        let first = r < 3;
        assert_eq!(w(r, 0), 1.0);
        assert_eq!(w(r, 2), if first { 1.0 } else { 0.0 });
        assert_eq!(w(r, 4), if first { 0.0 } else { 1.0 });
        // Within a module (p = 1) every unit connects; module 1 never hears module 0 (p = 0).
        for c in 0..3 {
            assert_eq!(w(r, 5 + c), if first { 1.0 } else { 0.0 });
        }
    }
    // Module 0 hears ⌈0.5 · 4⌉ = 2 of module 1's units, the same two for all its rows.
    let heard: Vec<usize> = (0..4).filter(|c| w(0, 8 + c) == 1.0).collect();
    assert_eq!(heard.len(), 2);
    assert!((0..3).all(|r| (0..4).all(|c| w(r, 8 + c) == w(0, 8 + c))));
    assert!((0..2).all(|o| (0..h).all(|u| spec.mask_y[o * h + u] == if u < 3 { 0.0 } else { 1.0 })));
    let mut bad = masks.clone();
    bad.task_dim = vec![0];
    assert!(ModularSpec::generate(5, vec![3, 4], 2, delay, &bad, &mut rng).is_err());
}

/// Dale's law: unit types drawn per module, every recurrent weight of the three gates takes its
/// presynaptic unit's sign, the candidate's recurrent weights start balanced (excitatory sum 1, inhibitory
/// −1), and after any update `constrain` leaves no weight of the wrong sign while keeping the others.
/// Spectral scaling sets the largest real eigenvalue of the candidate's recurrent weights.
#[test]
fn dales_law_and_spectral_scaling_hold_from_initialisation_through_training() {
    use motornet_runtime::policy::ModularMasks;
    let (i, modules, o) = (5, vec![6, 10], 3);
    let h: usize = modules.iter().sum();
    let k = i + h;
    let masks = |p: Option<Vec<f64>>| ModularMasks {
        vision_dim: vec![2, 3],
        proprio_dim: vec![4],
        task_dim: vec![0, 1],
        vision_mask: vec![1.0; 2],
        proprio_mask: vec![1.0; 2],
        task_mask: vec![1.0; 2],
        connectivity_mask: vec![vec![1.0, 0.5], vec![0.5, 1.0]],
        output_mask: vec![1.0; 2],
        proportion_excitatory: p,
    };
    let delay = vec![vec![0; 2]; 2];
    let generate = |p, seed| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        ModularSpec::generate(i, modules.clone(), o, delay.clone(), &masks(p), &mut rng).unwrap()
    };
    // Unit types come after the masks: the same seed gives the same masks with or without them.
    let plain = generate(None, 4);
    let mut spec = generate(Some(vec![1.0, 0.5]), 4);
    assert_eq!(plain.mask_w, spec.mask_w);
    assert!(plain.unit_sign.is_empty());
    assert!(
        spec.unit_sign[..6].iter().all(|&s| s == 1.0),
        "module 0 is all excitatory"
    );
    let inhibitory = spec.unit_sign[6..].iter().filter(|&&s| s == -1.0).count();
    assert!((1..10).contains(&inhibitory), "{:?}", spec.unit_sign);
    spec.spectral_scaling = Some(1.3);
    let mut net = Network::new(
        &NetworkSpec::ModularGru(spec.clone()),
        i,
        o,
        &mut ChaCha8Rng::seed_from_u64(1),
    )
    .unwrap();
    let tensors = net.tensors();
    let tensor = |net: &Network, name: &str| {
        let t = tensors.iter().find(|t| t.name == name).unwrap();
        net.params()[t.range()].to_vec()
    };
    let check_signs = |net: &Network| {
        for gate in ["Wz", "Wr", "Wh"] {
            let w = tensor(net, gate);
            for r in 0..h {
                for j in 0..h {
                    let v = w[r * k + i + j];
                    assert!(v * spec.unit_sign[j] >= 0.0, "{gate}[{r}][{j}] = {v}");
                    if spec.mask_w[r * k + i + j] == 0.0 {
                        assert_eq!(v, 0.0);
                    }
                }
            }
        }
    };
    check_signs(&net);
    // The candidate's recurrent weights: balanced, then scaled to the requested largest real eigenvalue.
    let wh = tensor(&net, "Wh");
    let rec: Vec<f64> = (0..h)
        .flat_map(|r| wh[r * k + i..r * k + k].to_vec())
        .collect();
    let (mut e, mut inh) = (0.0, 0.0);
    for (idx, v) in rec.iter().enumerate() {
        if spec.unit_sign[idx % h] > 0.0 {
            e += v
        } else {
            inh += v
        }
    }
    assert!((e / -inh - 1.0).abs() < 1e-12, "balanced: {e} vs {inh}");
    let largest = nalgebra::DMatrix::from_row_slice(h, h, &rec)
        .complex_eigenvalues()
        .iter()
        .map(|z| z.re)
        .fold(f64::NEG_INFINITY, f64::max);
    assert!((largest - 1.3).abs() < 1e-9, "{largest}");
    // An update that would flip signs: constrain projects the flipped weights to zero, keeps the rest.
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let before = net.params().to_vec();
    for p in net.params_mut() {
        *p += rng.random_range(-0.5..0.5);
    }
    let updated = net.params().to_vec();
    net.constrain();
    check_signs(&net);
    let wz = tensors.iter().find(|t| t.name == "Wz").unwrap();
    let mut kept = 0;
    for r in 0..h {
        for j in 0..h {
            let at = wz.offset + r * k + i + j;
            let (u, v) = (updated[at], net.params()[at]);
            if spec.mask_w[r * k + i + j] == 1.0 && u * spec.unit_sign[j] > 0.0 {
                assert_eq!(v, u);
                kept += 1;
            }
        }
    }
    assert!(kept > 0 && before != net.params());
    // The unit signs are part of the network's buffers, under their own name.
    assert!(net
        .buffers()
        .iter()
        .any(|b| b.0 == "unit_sign" && b.2 == spec.unit_sign));
    // A spectrum with nothing to scale is an error, not a division by zero.
    let mut degenerate = spec.clone();
    for r in 0..h {
        for c in i..k {
            degenerate.mask_w[r * k + c] = 0.0;
        }
    }
    let err = Network::new(
        &NetworkSpec::ModularGru(degenerate),
        i,
        o,
        &mut ChaCha8Rng::seed_from_u64(1),
    )
    .unwrap_err();
    assert!(err.contains("spectral_scaling"), "{err}");
}

/// Modules that see the others with the same delays are computed as one block: with no delays a
/// network of two modules is, to rounding, the one-module network with the same masks and weights, in
/// its outputs and in every gradient (upstream's module-by-module cell and the single pass agree).
#[test]
fn modules_with_equal_delays_compute_as_one_block() {
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let split = modular_spec(&mut rng, vec![vec![0, 0], vec![0, 0]]);
    let mut whole = split.clone();
    whole.modules = vec![5];
    whole.delay = vec![vec![0]];
    let h = 5;
    let (i, o) = (split.input, split.output);
    let a = Network::new(
        &NetworkSpec::ModularGru(split),
        i,
        o,
        &mut ChaCha8Rng::seed_from_u64(5),
    )
    .unwrap();
    let mut b = Network::new(
        &NetworkSpec::ModularGru(whole),
        i,
        o,
        &mut ChaCha8Rng::seed_from_u64(6),
    )
    .unwrap();
    b.params_mut().copy_from_slice(a.params());
    let (batch, steps) = (3, 5);
    let xs: Vec<Array2<f64>> = (0..steps)
        .map(|_| Array2::from_shape_fn((batch, i), |_| rng.random_range(-1.0..1.0)))
        .collect();
    let run = |net: &Network| {
        let mut tape = net.tape(batch, steps);
        net.reset(&mut tape);
        let us: Vec<Array2<f64>> = xs
            .iter()
            .enumerate()
            .map(|(t, x)| net.step(&mut tape, t, x.view(), None).to_owned())
            .collect();
        let mut grads = vec![0.0; net.param_count()];
        let mut dh = Array2::zeros((batch, h));
        let mut dx = Array2::zeros((batch, i));
        for t in (0..steps).rev() {
            let du = Array2::from_shape_fn((batch, o), |(r, c)| (r + 2 * c + t) as f64 * 0.1 - 0.3);
            net.backward(
                &mut tape,
                t,
                du.view(),
                dh.view_mut(),
                &mut grads,
                Some(dx.view_mut()),
            );
        }
        net.backward_initial(&mut tape, dh.view(), &mut grads);
        (us, grads)
    };
    let ((ua, ga), (ub, gb)) = (run(&a), run(&b));
    for (x, y) in ua.iter().zip(&ub) {
        assert!((x - y).iter().all(|d| d.abs() < 1e-13), "{x} vs {y}");
    }
    for (k, (x, y)) in ga.iter().zip(&gb).enumerate() {
        assert!(
            (x - y).abs() <= 1e-12 * (1.0 + x.abs()),
            "gradient {k}: {x} vs {y}"
        );
    }
}
