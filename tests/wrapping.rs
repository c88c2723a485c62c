//! Muscle paths wrapping over cylinders: agreement with MuJoCo, moment arms as derivatives of the length,
//! continuity across wrap onset and lift-off.

use motornet::models::WrapElbow;
use motornet::verify::{verify_file, Options};
use motornet::Plant;

/// Length and moment arms of every muscle at posture `q` (rows: muscle; [length, dL/dq0, dL/dq1]).
fn geometry(plant: &dyn Plant, q: [f64; 2]) -> Vec<[f64; 3]> {
    let info = plant.info();
    let (g, _) = info.part("geometry").unwrap();
    let nm = info.n_muscles();
    let mut s = vec![0.0; info.state_dim()];
    plant
        .reset(&mut plant.workspace(), &[q[0], q[1], 0.0, 0.0], &mut s)
        .unwrap();
    (0..nm)
        .map(|m| [s[g + m], s[g + 2 * nm + m], s[g + 3 * nm + m]])
        .collect()
}

#[test]
fn agrees_with_mujoco_wrapping() {
    for interpreted in [false, true] {
        let r = verify_file(
            std::path::Path::new("tests/reference/mujoco/wrap_elbow.json"),
            &Options {
                model: None,
                interpreted,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(r.fields.len(), 2);
        for f in &r.fields {
            assert!(f.count > 500, "compared {} values", f.count);
            assert!(
                f.passed(),
                "{} off by {:e} at {}",
                f.field,
                f.max_abs,
                f.worst_at
            );
        }
    }
}

#[test]
fn moment_arms_are_derivatives_of_the_length() {
    let plant = WrapElbow::new();
    let h = 1e-6;
    for shoulder in [-0.5, 0.3, 1.2] {
        for k in 0..60 {
            let elbow = 0.02 + 2.5 * k as f64 / 60.0;
            let g = geometry(&plant, [shoulder, elbow]);
            for j in 0..2 {
                let mut qp = [shoulder, elbow];
                let mut qm = [shoulder, elbow];
                qp[j] += h;
                qm[j] -= h;
                let (gp, gm) = (geometry(&plant, qp), geometry(&plant, qm));
                for m in 0..g.len() {
                    let fd = (gp[m][0] - gm[m][0]) / (2.0 * h);
                    assert!(
                        (fd - g[m][1 + j]).abs() < 1e-7,
                        "muscle {m} at ({shoulder}, {elbow}): dL/dq{j} {} vs fd {fd}",
                        g[m][1 + j]
                    );
                }
            }
        }
    }
}

#[test]
fn length_and_moment_arms_are_continuous_across_onset_and_lift_off() {
    let plant = WrapElbow::new();
    // A fine sweep of the elbow through the triceps' onset (~1.8 rad) and the biceps' lift-off (~0.22 rad).
    let n = 20000;
    let dq = 2.6 / n as f64;
    let mut prev = geometry(&plant, [0.3, 0.0]);
    let mut jumps = [0.0f64; 3];
    for k in 1..=n {
        let g = geometry(&plant, [0.3, k as f64 * dq]);
        for m in 0..3 {
            // Moment arms stay below 0.1 m, so the length changes by at most 0.1·dq; moment arms by O(dq).
            let dl = (g[m][0] - prev[m][0]).abs();
            assert!(
                dl <= 0.1 * dq,
                "muscle {m}: length jumps by {dl:e} at elbow {}",
                k as f64 * dq
            );
            jumps[m] = jumps[m].max((g[m][2] - prev[m][2]).abs());
        }
        prev = g;
    }
    for (m, j) in jumps.iter().enumerate() {
        assert!(
            *j < 1e-3,
            "muscle {m}: moment arm jumps by {j:e} in one step of {dq:e} rad"
        );
    }
}

#[test]
fn wraps_are_active_where_mujoco_says() {
    // At full extension the biceps path wraps the elbow cylinder; flexed, the triceps does.
    let plant = WrapElbow::new();
    let straight = |q: [f64; 2], m: usize| -> bool {
        // A straight path's moment arm about the elbow equals the one with the obstacle moved away.
        let mut far = WrapElbow::new();
        let i = far.info().param_index("elbow_cyl.radius").unwrap();
        let mut p = far.params().to_vec();
        p[i] = 1e-6;
        far.set_params(&p).unwrap();
        (geometry(&plant, q)[m][0] - geometry(&far, q)[m][0]).abs() < 1e-12
    };
    assert!(
        !straight([0.3, 0.05], 2),
        "biceps_wrap wraps near full extension"
    );
    assert!(straight([0.3, 1.0], 2), "biceps_wrap lifts off when flexed");
    assert!(
        straight([0.3, 1.0], 0),
        "triceps runs straight at mid flexion"
    );
    assert!(
        !straight([0.3, 2.4], 0),
        "triceps wraps when strongly flexed"
    );
}
