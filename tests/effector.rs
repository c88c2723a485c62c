//! `Effector` keeps its effectors in the batch layout (blocks of four interleaved, then rows) and splits
//! large batches across threads; none of that may change a single bit of what each effector computes.

use motornet::runtime::Error;
use motornet::{Effector, Plant};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Random joint states within the limits, one row per effector.
fn joints(plant: &dyn Plant, batch: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let dof = plant.info().dof();
    (0..batch)
        .flat_map(|_| {
            let q: Vec<f64> = plant
                .bounds()
                .iter()
                .map(|b| b.lower + rng.random::<f64>() * (b.upper - b.lower))
                .collect();
            let v: Vec<f64> = (0..dof).map(|_| rng.random::<f64>() - 0.5).collect();
            [q, v].concat()
        })
        .collect()
}

/// Steps `batch` effectors for a few steps, through `Effector` and one row at a time with `Plant::step`.
fn compare(model: &str, batch: usize, threads: usize) {
    let make = || motornet::models::compiled(model).expect("built-in model");
    let probe = make();
    let info = probe.info().clone();
    let (s, m, dof) = (info.state_dim(), info.n_muscles(), info.dof());
    let mut rng = ChaCha8Rng::seed_from_u64(batch as u64);
    let joint = joints(probe.as_ref(), batch, &mut rng);

    let mut effector = Effector::new(make(), batch);
    effector.set_threads(threads).unwrap();
    effector.reset(&joint).unwrap();

    let mut ws = probe.workspace();
    let jd = info.joint_dim();
    let mut rows = vec![0.0; batch * s];
    for (b, row) in rows.chunks_exact_mut(s).enumerate() {
        probe
            .reset(&mut ws, &joint[b * jd..(b + 1) * jd], row)
            .unwrap();
    }
    assert_eq!(effector.states(), rows, "{model}, batch {batch}: reset");

    let mut next = vec![0.0; s];
    for t in 0..4 {
        let excitations: Vec<f64> = (0..batch * m).map(|_| rng.random()).collect();
        let endpoint: Vec<f64> = (0..batch * 2).map(|_| rng.random::<f64>() - 0.5).collect();
        let shared_joint_load: Vec<f64> = (0..dof).map(|k| 0.1 * k as f64).collect();
        effector
            .step(&excitations, &endpoint, &shared_joint_load)
            .unwrap();
        for (b, row) in rows.chunks_exact_mut(s).enumerate() {
            let controls = [
                &excitations[b * m..(b + 1) * m],
                &endpoint[b * 2..(b + 1) * 2],
                &shared_joint_load[..],
            ]
            .concat();
            probe.step(&mut ws, row, &controls, &mut next).unwrap();
            row.copy_from_slice(&next);
        }
        assert_eq!(
            effector.states(),
            rows,
            "{model}, batch {batch}, {threads} threads: step {t}"
        );
    }
    let last = batch - 1;
    assert_eq!(effector.state(last), rows[last * s..].to_vec());
    let (at, len) = info.part("joint").unwrap();
    let joints_now: Vec<f64> = rows
        .chunks_exact(s)
        .flat_map(|r| r[at..at + len].to_vec())
        .collect();
    assert_eq!(effector.part("joint").unwrap(), joints_now);
}

#[test]
fn batches_of_every_shape_match_stepping_one_effector_at_a_time() {
    for batch in [1, 3, 4, 6, 9] {
        compare("arm26", batch, 1);
    }
    // Two threads split at a block boundary; 1030 leaves a two-effector tail for the second.
    for batch in [512, 1030] {
        compare("arm26", batch, 2);
    }
    compare("wrap_elbow", 7, 1);
    compare("pointmass24_relu", 5, 1);
}

#[test]
fn a_sine_argument_beyond_the_vector_kernel_redoes_only_its_block_exactly() {
    // Effector 5 of 9 (second block) starts with an elbow angle of 10¹² rad: the vector kernel of sin is
    // not exact there, so that block is stepped one effector at a time, with libm — as `Plant::step` does.
    let plant = motornet::models::compiled("arm26").unwrap();
    let info = plant.info();
    let (s, m, c) = (info.state_dim(), info.n_muscles(), info.control_dim());
    let batch = 9;
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let joint = joints(plant.as_ref(), batch, &mut rng);
    let mut e = Effector::new(motornet::models::compiled("arm26").unwrap(), batch);
    e.reset(&joint).unwrap();
    let mut rows = e.states();
    rows[5 * s + 1] = 1e12;
    e.set_states(&rows).unwrap();
    let u: Vec<f64> = (0..batch * m).map(|_| rng.random()).collect();
    e.step(&u, &[], &[]).unwrap();
    let mut ws = plant.workspace();
    let mut next = vec![0.0; s];
    for (b, row) in rows.chunks_exact_mut(s).enumerate() {
        let controls = [&u[b * m..(b + 1) * m], &vec![0.0; c - m]].concat();
        plant.step(&mut ws, row, &controls, &mut next).unwrap();
        row.copy_from_slice(&next);
    }
    assert_eq!(e.states(), rows);
}

#[test]
fn set_states_round_trips_and_a_nan_is_reported_where_it_is() {
    let plant = motornet::models::compiled("arm26").unwrap();
    let s = plant.info().state_dim();
    for (batch, threads, bad) in [(6, 1, 2), (6, 1, 5), (1030, 2, 1029), (1030, 2, 700)] {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let joint = joints(plant.as_ref(), batch, &mut rng);
        let mut e = Effector::new(motornet::models::compiled("arm26").unwrap(), batch);
        e.set_threads(threads).unwrap();
        e.reset(&joint).unwrap();
        let mut states = e.states();
        e.set_states(&states).unwrap();
        assert_eq!(e.states(), states);

        // A NaN excitation poisons only its effector; the error names it.
        let m = plant.info().n_muscles();
        let mut u = vec![0.5; batch * m];
        u[bad * m] = f64::NAN;
        match e.step(&u, &[], &[]) {
            Err(Error::NonFinite { effector, step, .. }) => {
                assert_eq!((effector, step), (bad, 1), "batch {batch}");
            }
            other => panic!("batch {batch}: expected a NaN report, got {other:?}"),
        }
        // A NaN written into a state is found at its place after a step, too.
        states[bad * s] = f64::NAN;
        e.set_states(&states).unwrap();
        let u = vec![0.5; batch * m];
        assert!(matches!(
            e.step(&u, &[], &[]),
            Err(Error::NonFinite { effector, .. }) if effector == bad
        ));
    }
}
