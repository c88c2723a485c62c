//! `Rollout::gradient` (blocks of effectors run forward and straight back, on several threads) against
//! `Rollout::record` then `Rollout::backward` (the whole trajectory kept): the same bits, for every shipped
//! model's compiled plant and for the JIT and the interpreter, at batch sizes that fill blocks of four and
//! leave effectors over.

use motornet::runtime::{Error, Rollout};
use motornet::{InterpretedPlant, JitPlant, Plant};

/// A joint state inside the limits for effector `b`.
fn joint(plant: &dyn Plant, batch: usize) -> Vec<f64> {
    let bounds = plant.bounds();
    (0..batch)
        .flat_map(|b| {
            let frac = 0.3 + 0.4 * (b as f64 / batch.max(2) as f64);
            let q: Vec<f64> = bounds
                .iter()
                .map(|r| {
                    if r.lower.is_finite() && r.upper.is_finite() {
                        r.lower + frac * (r.upper - r.lower)
                    } else {
                        frac - 0.5
                    }
                })
                .collect();
            let v = (0..bounds.len()).map(move |k| 0.1 * (k as f64 + 1.0) * (frac - 0.5));
            q.into_iter().chain(v)
        })
        .collect()
}

/// Excitations and loads that differ per step and effector.
fn controls(plant: &dyn Plant, steps: usize, batch: usize) -> Vec<f64> {
    let info = plant.info();
    let (m, c) = (info.n_muscles(), info.control_dim());
    (0..steps * batch * c)
        .map(|i| {
            let (tb, k) = (i / c, i % c);
            let wave = ((tb * 7 + k * 13) as f64).sin();
            if k < m {
                0.5 + 0.45 * wave
            } else {
                0.2 * wave
            }
        })
        .collect()
}

/// A loss that depends on the step, the effector and the state itself (its cotangent reads the state).
fn cotangent(t: usize, b: usize, x: &[f64], out: &mut [f64]) {
    for (k, (o, v)) in out.iter_mut().zip(x).enumerate() {
        *o += ((t * 3 + b * 5 + k) as f64 * 0.37).sin() * v;
    }
}

fn assert_same_gradient(plant: &dyn Plant, label: &str, batch: usize, steps: usize) {
    let (j, u) = (joint(plant, batch), controls(plant, steps, batch));
    let recorded = Rollout::record(plant, &j, &u, batch).unwrap();
    let mut ws = plant.workspace();
    let expected = recorded.backward(plant, &mut ws, cotangent);
    assert!(
        expected.controls.iter().any(|g| *g != 0.0),
        "{label}: a gradient that is all zeros proves nothing"
    );
    for threads in [1, 2, 3] {
        let got = Rollout::gradient(plant, &j, &u, batch, threads, cotangent).unwrap();
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(&got.controls),
            bits(&expected.controls),
            "{label}, batch {batch}, {threads} threads: controls"
        );
        assert_eq!(
            bits(&got.initial_state),
            bits(&expected.initial_state),
            "{label}, batch {batch}, {threads} threads: initial state"
        );
    }
}

#[test]
fn every_compiled_model_gives_the_recorded_gradient_bit_for_bit() {
    for (name, _) in motornet::models::BUILTIN {
        let plant = motornet::models::compiled(name).unwrap();
        // 9 = two blocks of four and one effector over; 3 = no full block.
        for batch in [9, 3] {
            assert_same_gradient(plant.as_ref(), name, batch, 12);
        }
    }
}

#[test]
fn the_jit_and_the_interpreter_give_the_recorded_gradient_bit_for_bit() {
    for name in ["arm26", "wrap_elbow"] {
        let source = motornet::models::source(name).unwrap();
        let jit = JitPlant::from_source(source, name).unwrap();
        assert_same_gradient(&jit, &format!("{name} (JIT)"), 6, 10);
        let interpreted = InterpretedPlant::from_source(source, name).unwrap();
        assert_same_gradient(&interpreted, &format!("{name} (interpreted)"), 5, 6);
    }
}

#[test]
fn no_steps_and_no_effectors_are_answered_not_refused() {
    let plant = motornet::models::compiled("arm26").unwrap();
    let s = plant.info().state_dim();
    let j = joint(plant.as_ref(), 2);
    // No steps: only the initial state's own cotangent.
    let g = Rollout::gradient(plant.as_ref(), &j, &[], 2, 2, |_, _, _, out| out[0] += 1.0).unwrap();
    assert!(g.controls.is_empty());
    assert_eq!(g.initial_state.len(), 2 * s);
    assert_eq!((g.initial_state[0], g.initial_state[s]), (1.0, 1.0));
    let g = Rollout::gradient(plant.as_ref(), &[], &[], 0, 2, cotangent).unwrap();
    assert!(g.controls.is_empty() && g.initial_state.is_empty());
}

#[test]
fn wrong_lengths_and_no_threads_are_refused_before_any_work() {
    let plant = motornet::models::compiled("arm26").unwrap();
    let (j, u) = (joint(plant.as_ref(), 4), controls(plant.as_ref(), 3, 4));
    let called = std::sync::atomic::AtomicBool::new(false);
    let spy = |_: usize, _: usize, _: &[f64], _: &mut [f64]| {
        called.store(true, std::sync::atomic::Ordering::Relaxed)
    };
    let err = Rollout::gradient(plant.as_ref(), &j[1..], &u, 4, 1, spy).unwrap_err();
    assert!(matches!(err, Error::Shape { .. }), "{err}");
    let err = Rollout::gradient(plant.as_ref(), &j, &u[1..], 4, 1, spy).unwrap_err();
    assert!(err.to_string().contains("controls"), "{err}");
    let err = Rollout::gradient(plant.as_ref(), &j, &u, 4, 0, spy).unwrap_err();
    assert!(err.to_string().contains("threads"), "{err}");
    assert!(!called.load(std::sync::atomic::Ordering::Relaxed));
}
