//! The JIT backend against the interpreter (the same operations in the same order: the same bits) and
//! against the `model!`-compiled plant (1e-12), for every shipped model: reset, step, the adjoint and the
//! forward-mode derivative.

use motornet::jit::MathMode;
use motornet::runtime::Workspace;
use motornet::{InterpretedPlant, JitPlant, Plant};

fn plants(name: &str) -> (Box<dyn Plant>, InterpretedPlant, JitPlant) {
    let source = motornet::models::source(name).unwrap();
    (
        motornet::models::compiled(name).unwrap(),
        InterpretedPlant::from_source(source, name).unwrap(),
        JitPlant::from_source(source, name).unwrap(),
    )
}

/// A joint state inside the limits, `frac` of the way through each range.
fn joint(plant: &dyn Plant, frac: f64) -> Vec<f64> {
    let b = plant.bounds();
    b.iter()
        .map(|r| {
            if r.lower.is_finite() && r.upper.is_finite() {
                r.lower + frac * (r.upper - r.lower)
            } else {
                frac - 0.5
            }
        })
        .chain((0..b.len()).map(|k| 0.1 * (k as f64 + 1.0) * (frac - 0.5)))
        .collect()
}

fn controls(plant: &dyn Plant, t: usize) -> Vec<f64> {
    let info = plant.info();
    let m = info.n_muscles();
    (0..info.control_dim())
        .map(|k| {
            let wave = ((t * 7 + k * 13) as f64).sin();
            if k < m {
                0.5 + 0.45 * wave
            } else {
                0.2 * wave
            }
        })
        .collect()
}

/// A deterministic vector of length `n` with entries in [−1, 1].
fn probe(n: usize, seed: usize) -> Vec<f64> {
    (0..n)
        .map(|k| ((k * 31 + seed * 17) as f64 * 0.618).sin())
        .collect()
}

fn close(a: &[f64], b: &[f64], tol: f64) -> f64 {
    assert_eq!(a.len(), b.len());
    let worst = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / (1.0 + y.abs()))
        .fold(0.0, f64::max);
    assert!(worst <= tol, "differ by {worst:e}");
    worst
}

/// Steps, adjoints and tangents of one plant along a trajectory.
fn run(plant: &dyn Plant, steps: usize) -> Vec<Vec<f64>> {
    let info = plant.info();
    let (s, c) = (info.state_dim(), info.control_dim());
    let mut ws: Workspace = plant.workspace();
    let mut x = vec![0.0; s];
    plant.reset(&mut ws, &joint(plant, 0.35), &mut x).unwrap();
    let mut out = vec![x.clone()];
    for t in 0..steps {
        let u = controls(plant, t);
        let mut next = vec![0.0; s];
        plant.step(&mut ws, &x, &u, &mut next).unwrap();
        if t % 10 == 3 {
            let (mut gx, mut gu) = (vec![0.0; s], vec![0.0; c]);
            plant
                .step_vjp(&mut ws, &x, &u, &probe(s, t), &mut gx, &mut gu)
                .unwrap();
            let mut tn = vec![0.0; s];
            plant
                .step_jvp(&mut ws, &x, &u, &probe(s, t + 1), &probe(c, t + 2), &mut tn)
                .unwrap();
            out.extend([gx, gu, tn]);
        }
        out.push(next.clone());
        x = next;
    }
    out
}

#[test]
fn jit_matches_the_interpreter_bit_for_bit_and_the_compiled_plant_for_every_model() {
    for (name, _) in motornet::models::BUILTIN {
        let (compiled, interpreted, jit) = plants(name);
        let steps = if name == "arm26_compliant" { 120 } else { 40 };
        let (a, b, j) = (
            run(compiled.as_ref(), steps),
            run(&interpreted, steps),
            run(&jit, steps),
        );
        for (k, (bi, ji)) in b.iter().zip(&j).enumerate() {
            let same = bi.iter().zip(ji).all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(
                same,
                "{name}: vector {k} differs from the interpreter's bits"
            );
        }
        for (ai, ji) in a.iter().zip(&j) {
            close(ji, ai, 1e-12);
        }
    }
}

#[test]
fn calls_to_the_math_kernels_compute_the_same_bits_as_inline_code() {
    let source = motornet::models::source("arm26_rigid_mujoco").unwrap();
    let base = InterpretedPlant::from_source(source, "m").unwrap();
    let inline = JitPlant::with_math(base.clone(), MathMode::Inline).unwrap();
    let calls = JitPlant::with_math(base, MathMode::Call).unwrap();
    assert_eq!(run(&inline, 30), run(&calls, 30));
}

#[test]
fn adjoint_and_tangent_are_transposes_of_each_other() {
    // ⟨w, J·t⟩ = ⟨Jᵀ·w, t⟩ for the JIT's own adjoint and forward mode.
    for name in ["arm26", "arm210_thelen_paths", "chain3_torque_rk4"] {
        let (_, _, jit) = plants(name);
        let (s, c) = (jit.info().state_dim(), jit.info().control_dim());
        let mut ws = jit.workspace();
        let mut x = vec![0.0; s];
        jit.reset(&mut ws, &joint(&jit, 0.6), &mut x).unwrap();
        let u = controls(&jit, 5);
        let (w, tx, tu) = (probe(s, 1), probe(s, 2), probe(c, 3));
        let mut jt = vec![0.0; s];
        jit.step_jvp(&mut ws, &x, &u, &tx, &tu, &mut jt).unwrap();
        let (mut gx, mut gu) = (vec![0.0; s], vec![0.0; c]);
        jit.step_vjp(&mut ws, &x, &u, &w, &mut gx, &mut gu).unwrap();
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
        let (lhs, rhs) = (dot(&w, &jt), dot(&gx, &tx) + dot(&gu, &tu));
        assert!(
            (lhs - rhs).abs() <= 1e-9 * (1.0 + lhs.abs()),
            "{name}: {lhs} vs {rhs}"
        );
    }
}

#[test]
fn parameter_changes_reach_the_native_code_and_code_is_shared() {
    let source = motornet::models::source("arm26").unwrap();
    let mut interpreted = InterpretedPlant::from_source(source, "arm26").unwrap();
    let mut jit = JitPlant::from_source(source, "arm26").unwrap();
    let again = JitPlant::from_source(source, "arm26").unwrap();
    assert_eq!(jit.compile_seconds(), again.compile_seconds(), "cached");
    for plant in [&mut interpreted as &mut dyn Plant, &mut jit] {
        plant
            .apply_overrides(&["elbow.range.max=120 deg".into()])
            .unwrap();
        let name = plant.info().params[0].name.clone();
        let v = plant.params()[0] * 1.3;
        plant.set_param(&name, v).unwrap();
    }
    assert_eq!(jit.params(), interpreted.params());
    assert_eq!(jit.bounds(), interpreted.bounds());
    assert_eq!(run(&jit, 20), run(&interpreted, 20));
    // A refused value changes nothing.
    let before = jit.params().to_vec();
    let mut bad = before.clone();
    bad[0] = -1.0;
    let refused = jit.set_params(&bad).is_err();
    assert_eq!(refused, interpreted.set_params(&bad).is_err());
    if refused {
        assert_eq!(jit.params(), &before[..]);
    }
}

#[test]
fn a_model_file_runs_on_the_jit_unless_the_interpreter_is_asked_for() {
    use motornet::models::{load, load_as, Backend, Choice};
    let dir = std::env::temp_dir().join(format!("motornet-jit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("my_arm.mnet");
    let source = motornet::models::source("arm26").unwrap();
    std::fs::write(&file, format!("// a copy\n{source}")).unwrap();
    let spec = file.to_str().unwrap();
    assert_eq!(load(spec, false).unwrap().1, Backend::Jit);
    assert_eq!(load(spec, true).unwrap().1, Backend::Interpreted);
    assert_eq!(load("arm26", false).unwrap().1, Backend::Compiled);
    assert_eq!(load_as("arm26", Choice::Jit).unwrap().1, Backend::Jit);
    // A file identical to a built-in model runs compiled.
    let same = dir.join("arm26.mnet");
    std::fs::write(&same, source).unwrap();
    assert_eq!(
        load(same.to_str().unwrap(), false).unwrap().1,
        Backend::Compiled
    );
    // A model that does not compile gets the compiler's diagnostics, whatever the backend.
    std::fs::write(&file, "effector broken {").unwrap();
    for choice in [Choice::Auto, Choice::Jit, Choice::Interpreted] {
        let err = load_as(spec, choice).err().expect("refused");
        assert!(matches!(err, motornet::Error::Compile(_)), "{err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn batched_steps_in_vector_lanes_compute_the_interpreters_bits_for_every_model() {
    use motornet::Effector;
    for (name, _) in motornet::models::BUILTIN {
        let (_, interpreted, jit) = plants(name);
        // Nine effectors: two blocks of four (two pairs of lanes each) and one row.
        let batch = 9;
        let joints: Vec<f64> = (0..batch)
            .flat_map(|b| joint(&jit, 0.3 + 0.05 * b as f64))
            .collect();
        let (mut a, mut b) = (Effector::new(interpreted, batch), Effector::new(jit, batch));
        a.reset(&joints).unwrap();
        b.reset(&joints).unwrap();
        let info = a.plant().info().clone();
        let m = info.n_muscles();
        for t in 0..30 {
            let u: Vec<f64> = (0..batch * m)
                .map(|k| 0.5 + 0.45 * ((t * 7 + k * 13) as f64).sin())
                .collect();
            let load: Vec<f64> = (0..info.dof()).map(|k| 0.1 * (k as f64 + 1.0)).collect();
            a.step(&u, &[1.0, -0.5, 0.25][..info.space_dim], &load)
                .unwrap();
            b.step(&u, &[1.0, -0.5, 0.25][..info.space_dim], &load)
                .unwrap();
            let same = a
                .states()
                .iter()
                .zip(&b.states())
                .all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(same, "{name}: step {t} differs from the interpreter's bits");
        }
    }
}

#[test]
fn huge_and_nan_angles_take_the_interpreters_path_with_its_bits() {
    // sin/cos beyond the inline kernel's range (|x| ≥ 1e5, NaN) are libm's: the native code hands such
    // calls to the interpreter, for one effector and inside a block of vector lanes alike.
    let (_, interpreted, jit) = plants("arm26");
    let (s, c) = (jit.info().state_dim(), jit.info().control_dim());
    let (mut wi, mut wj) = (interpreted.workspace(), jit.workspace());
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    for angle in [3.0e5, -7.5e7, f64::NAN] {
        let joint = [angle, 0.4, 0.1, -0.2];
        let (mut xi, mut xj) = (vec![0.0; s], vec![0.0; s]);
        interpreted.reset(&mut wi, &joint, &mut xi).unwrap();
        jit.reset(&mut wj, &joint, &mut xj).unwrap();
        assert_eq!(bits(&xi), bits(&xj), "reset at {angle}");
        let u = controls(&jit, 1);
        let (mut yi, mut yj) = (vec![0.0; s], vec![0.0; s]);
        interpreted.step(&mut wi, &xi, &u, &mut yi).unwrap();
        jit.step(&mut wj, &xj, &u, &mut yj).unwrap();
        assert_eq!(bits(&yi), bits(&yj), "step at {angle}");
        let w = probe(s, 4);
        let (mut gi, mut hi, mut gj, mut hj) =
            (vec![0.0; s], vec![0.0; c], vec![0.0; s], vec![0.0; c]);
        interpreted
            .step_vjp(&mut wi, &xi, &u, &w, &mut gi, &mut hi)
            .unwrap();
        jit.step_vjp(&mut wj, &xj, &u, &w, &mut gj, &mut hj)
            .unwrap();
        assert_eq!(
            (bits(&gi), bits(&hi)),
            (bits(&gj), bits(&hj)),
            "adjoint at {angle}"
        );
        let (tx, tu) = (probe(s, 5), probe(c, 6));
        interpreted
            .step_jvp(&mut wi, &xi, &u, &tx, &tu, &mut yi)
            .unwrap();
        jit.step_jvp(&mut wj, &xj, &u, &tx, &tu, &mut yj).unwrap();
        assert_eq!(bits(&yi), bits(&yj), "tangent at {angle}");
        // Five effectors (a block of four and a row), the odd one in lane 2 of the block.
        let mut rows = Vec::new();
        let mut ordinary = vec![0.0; s];
        jit.reset(&mut wj, &[0.8, 1.2, 0.0, 0.0], &mut ordinary)
            .unwrap();
        for b in 0..5 {
            rows.extend(if b == 2 { &xj } else { &ordinary });
        }
        let mut xs = vec![0.0; 5 * s];
        motornet::runtime::batch::from_rows(&rows, 5, s, &mut xs);
        let us = u.repeat(5);
        let mut ub = vec![0.0; 5 * c];
        motornet::runtime::batch::from_rows(&us, 5, c, &mut ub);
        let (mut ni, mut nj) = (vec![0.0; 5 * s], vec![0.0; 5 * s]);
        interpreted.step_batch(&mut wi, &xs, &ub, &mut ni).unwrap();
        jit.step_batch(&mut wj, &xs, &ub, &mut nj).unwrap();
        assert_eq!(bits(&ni), bits(&nj), "batch with one effector at {angle}");
    }
}
