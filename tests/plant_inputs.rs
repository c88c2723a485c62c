//! Every entry point of a plant checks the lengths of the vectors it is given, and the compiled, the
//! interpreted and the JIT backends answer a wrong length with the same error, naming the function, the argument, the
//! expected and the given length — before writing any output.

use motornet::runtime::Workspace;
use motornet::{Effector, Error, InterpretedPlant, Plant};

fn backends(model: &str) -> [(&'static str, Box<dyn Plant>); 3] {
    let source = motornet::models::source(model).unwrap();
    let interpreted = InterpretedPlant::from_source(source, "arm26.mnet").unwrap();
    let jit = motornet::JitPlant::from_source(source, "arm26.mnet").unwrap();
    [
        ("compiled", motornet::models::compiled(model).unwrap()),
        ("interpreted", Box::new(interpreted)),
        ("jit", Box::new(jit)),
    ]
}

/// The lengths of one step's vectors and a valid state and controls to call it with.
struct Case {
    s: usize,
    c: usize,
    j: usize,
    state: Vec<f64>,
    controls: Vec<f64>,
}

fn case(plant: &dyn Plant, ws: &mut Workspace) -> Case {
    let info = plant.info();
    let (s, c, j) = (info.state_dim(), info.control_dim(), info.joint_dim());
    let mut state = vec![0.0; s];
    plant.reset(ws, &[0.8, 1.2, 0.1, -0.2], &mut state).unwrap();
    let mut controls = vec![0.0; c];
    controls[..info.n_muscles()].fill(0.3);
    Case {
        s,
        c,
        j,
        state,
        controls,
    }
}

fn shape(what: &str, expected: usize, got: usize) -> Error {
    Error::Shape {
        what: what.into(),
        expected,
        got,
    }
}

/// Vectors one shorter, one longer and empty instead of `n` values (filled with a marker value).
fn wrong(n: usize) -> [Vec<f64>; 3] {
    [vec![7.0; n - 1], vec![7.0; n + 1], Vec::new()]
}

/// Calls every entry point with each argument in turn of a wrong length; returns the errors in order, and
/// checks that no output was written.
fn errors(plant: &dyn Plant) -> Vec<Error> {
    let mut ws = plant.workspace();
    let Case {
        s,
        c,
        j,
        state: x,
        controls: u,
    } = case(plant, &mut ws);
    let mut errs = Vec::new();
    let mut record = |r: Result<(), Error>, outputs: &[&[f64]]| {
        for out in outputs {
            assert!(
                out.iter().all(|v| *v == 7.0),
                "an output was written before the error"
            );
        }
        errs.push(r.unwrap_err());
    };
    let (mut os, mut oc) = (vec![7.0; s], vec![7.0; c]);
    for bad in wrong(j) {
        record(plant.reset(&mut ws, &bad, &mut os), &[&os]);
    }
    for mut bad in wrong(s) {
        record(plant.reset(&mut ws, &x[..j], &mut bad), &[&bad]);
    }
    // step: state, controls, next.
    for bad in wrong(s) {
        record(plant.step(&mut ws, &bad, &u, &mut os), &[&os]);
    }
    for bad in wrong(c) {
        record(plant.step(&mut ws, &x, &bad, &mut os), &[&os]);
    }
    for mut bad in wrong(s) {
        record(plant.step(&mut ws, &x, &u, &mut bad), &[&bad]);
    }
    // step_vjp: state, controls, next cotangent, state cotangent, controls cotangent.
    let w = vec![1.0; s];
    for bad in wrong(s) {
        record(
            plant.step_vjp(&mut ws, &bad, &u, &w, &mut os, &mut oc),
            &[&os, &oc],
        );
    }
    for bad in wrong(c) {
        record(
            plant.step_vjp(&mut ws, &x, &bad, &w, &mut os, &mut oc),
            &[&os, &oc],
        );
    }
    for bad in wrong(s) {
        record(
            plant.step_vjp(&mut ws, &x, &u, &bad, &mut os, &mut oc),
            &[&os, &oc],
        );
    }
    for mut bad in wrong(s) {
        record(
            plant.step_vjp(&mut ws, &x, &u, &w, &mut bad, &mut oc),
            &[&bad, &oc],
        );
    }
    for mut bad in wrong(c) {
        record(
            plant.step_vjp(&mut ws, &x, &u, &w, &mut os, &mut bad),
            &[&os, &bad],
        );
    }
    // step_jvp: state, controls, state tangent, controls tangent, next tangent.
    let (tx, tu) = (vec![1.0; s], vec![1.0; c]);
    for bad in wrong(s) {
        record(plant.step_jvp(&mut ws, &bad, &u, &tx, &tu, &mut os), &[&os]);
    }
    for bad in wrong(c) {
        record(plant.step_jvp(&mut ws, &x, &bad, &tx, &tu, &mut os), &[&os]);
    }
    for bad in wrong(s) {
        record(plant.step_jvp(&mut ws, &x, &u, &bad, &tu, &mut os), &[&os]);
    }
    for bad in wrong(c) {
        record(plant.step_jvp(&mut ws, &x, &u, &tx, &bad, &mut os), &[&os]);
    }
    for mut bad in wrong(s) {
        record(plant.step_jvp(&mut ws, &x, &u, &tx, &tu, &mut bad), &[&bad]);
    }
    // step_jacobian: state, controls.
    for bad in wrong(s) {
        record(plant.step_jacobian(&mut ws, &bad, &u).map(drop), &[]);
    }
    for bad in wrong(c) {
        record(plant.step_jacobian(&mut ws, &x, &bad).map(drop), &[]);
    }
    // step_batch of 5 effectors: states not a whole number of states, controls, next.
    let (xs, us, mut ys) = (x.repeat(5), u.repeat(5), vec![7.0; 5 * s]);
    record(plant.step_batch(&mut ws, &xs[1..], &us, &mut ys), &[&ys]);
    for bad in [vec![7.0; 5 * c - 1], vec![7.0; 4 * c], u.repeat(6)] {
        record(plant.step_batch(&mut ws, &xs, &bad, &mut ys), &[&ys]);
    }
    for mut bad in [vec![7.0; 5 * s - s], vec![7.0; 6 * s], Vec::new()] {
        record(plant.step_batch(&mut ws, &xs, &us, &mut bad), &[&bad]);
    }
    errs
}

#[test]
fn every_backend_rejects_every_wrong_length_with_the_same_error() {
    let [(_, compiled), (_, interpreted), (_, jit)] = backends("arm26");
    let errs = errors(compiled.as_ref());
    assert_eq!(errs, errors(interpreted.as_ref()));
    assert_eq!(errs, errors(jit.as_ref()));
    assert_eq!(errs.len(), 3 * 17 + 1 + 6);

    // The errors name the function and the argument, with the expected and the given length.
    let (s, c, j) = (74, 10, 4);
    let expected = |what: &str, n: usize| -> Vec<Error> {
        [n - 1, n + 1, 0]
            .into_iter()
            .map(|got| shape(what, n, got))
            .collect()
    };
    let mut all = Vec::new();
    for (what, n) in [
        ("reset: `joint`", j),
        ("reset: `state`", s),
        ("step: `state`", s),
        ("step: `controls`", c),
        ("step: `next`", s),
        ("step_vjp: `state`", s),
        ("step_vjp: `controls`", c),
        ("step_vjp: `next_cotangent`", s),
        ("step_vjp: `state_cotangent`", s),
        ("step_vjp: `controls_cotangent`", c),
        ("step_jvp: `state`", s),
        ("step_jvp: `controls`", c),
        ("step_jvp: `state_tangent`", s),
        ("step_jvp: `controls_tangent`", c),
        ("step_jvp: `next_tangent`", s),
        ("step_jacobian: `state`", s),
        ("step_jacobian: `controls`", c),
    ] {
        all.extend(expected(what, n));
    }
    assert_eq!(errs[..all.len()], all[..]);
    let batch = &errs[all.len()..];
    assert_eq!(
        batch[0].to_string(),
        format!(
            "step_batch: `states` has {} values, not a whole number of states of {s} values",
            5 * s - 1
        )
    );
    assert_eq!(
        batch[1..],
        [
            shape("step_batch: `controls`", 5 * c, 5 * c - 1),
            shape("step_batch: `controls`", 5 * c, 4 * c),
            shape("step_batch: `controls`", 5 * c, 6 * c),
            shape("step_batch: `next`", 5 * s, 4 * s),
            shape("step_batch: `next`", 5 * s, 6 * s),
            shape("step_batch: `next`", 5 * s, 0),
        ]
    );
    assert_eq!(
        errs[2].to_string(),
        "reset: `joint`: expected 4 values, got 0"
    );
}

#[test]
fn after_a_rejected_call_every_backend_still_compute_the_same_step() {
    let mut results = Vec::new();
    for (name, plant) in backends("arm26") {
        let mut ws = plant.workspace();
        let Case {
            s,
            c,
            state: x,
            controls: u,
            ..
        } = case(plant.as_ref(), &mut ws);
        // A longer state used to be read in part by the interpreter, and a shorter one to leave stale
        // values in its registers; now neither gets that far, whatever was evaluated before.
        assert!(plant
            .step(
                &mut ws,
                &[x.as_slice(), &[1.0]].concat(),
                &u,
                &mut vec![0.0; s]
            )
            .is_err());
        assert!(plant
            .step(&mut ws, &x[..s - 1], &u, &mut vec![0.0; s])
            .is_err());
        let mut next = vec![0.0; s];
        plant.step(&mut ws, &x, &u, &mut next).unwrap();
        let jac = plant.step_jacobian(&mut ws, &x, &u).unwrap();
        assert_eq!(jac.len(), s * (s + c), "{name}");
        // Five identical effectors in the batch layout: a block of four, then a row.
        let (mut xs, mut us, mut batch) = (vec![0.0; 5 * s], vec![0.0; 5 * c], vec![0.0; 5 * s]);
        motornet::runtime::batch::from_rows(&x.repeat(5), 5, s, &mut xs);
        motornet::runtime::batch::from_rows(&u.repeat(5), 5, c, &mut us);
        plant.step_batch(&mut ws, &xs, &us, &mut batch).unwrap();
        results.push((next, jac, batch));
    }
    let (a, b, j) = (&results[0], &results[1], &results[2]);
    for (x, y) in a.0.iter().zip(&b.0).chain(a.1.iter().zip(&b.1)) {
        assert!((x - y).abs() <= 1e-12 * (1.0 + x.abs()), "{x} vs {y}");
    }
    assert_eq!(
        (&b.0, &b.1),
        (&j.0, &j.1),
        "JIT and interpreter compute the same bits"
    );
    // A batch of identical effectors (a block of four and a row) repeats the single step exactly.
    for (next, _, batch) in &results {
        let s = next.len();
        let mut rows = vec![0.0; 5 * s];
        motornet::runtime::batch::read_row(batch, 5, 0, &mut rows[..s]);
        motornet::runtime::batch::read_row(batch, 5, 4, &mut rows[s..2 * s]);
        assert_eq!(&rows[..s], &next[..]);
        assert_eq!(&rows[s..2 * s], &next[..]);
    }
}

#[test]
fn an_effector_rejects_wrong_lengths_of_every_backend_alike() {
    let mut errs = Vec::new();
    for (_, plant) in backends("arm26") {
        let mut e = Effector::new(plant, 3);
        let mut mine = vec![e.reset(&[0.8, 1.2, 0.0]).unwrap_err()];
        e.reset(&[0.8, 1.2, 0.0, 0.0].repeat(3)).unwrap();
        mine.push(e.step(&[0.1; 17], &[], &[]).unwrap_err());
        mine.push(e.step(&[0.1; 18], &[1.0; 3], &[]).unwrap_err());
        mine.push(e.step(&[0.1; 18], &[], &[1.0; 5]).unwrap_err());
        mine.push(e.set_states(&[0.0; 5]).unwrap_err());
        errs.push(mine);
    }
    assert_eq!(errs[0], errs[1]);
    assert_eq!(errs[0], errs[2]);
    for err in &errs[0] {
        assert!(matches!(err, Error::Shape { .. }), "{err}");
    }
}

#[test]
fn the_policy_takes_arrays_of_the_reexported_ndarray() {
    use motornet::ndarray::{Array2, ArrayView2};
    use motornet::runtime::gru::Gru;
    use motornet::runtime::task::ChaCha8Rng;
    use rand::SeedableRng;
    let gru = Gru::new(3, 8, 2, &mut ChaCha8Rng::seed_from_u64(1));
    let mut tape = gru.tape(4, 2);
    let x: Array2<f64> = Array2::from_elem((4, 3), 0.5);
    let u: ArrayView2<f64> = gru.step(&mut tape, 0, x.view());
    assert_eq!(u.dim(), (4, 2));
    assert!(u.iter().all(|v| v.is_finite()));
}
