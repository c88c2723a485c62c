//! Every shipped model reproduces its reference trajectories (MotorNet 0.3.0, MuJoCo), compiled,
//! interpreted and as native code compiled at run time (JIT), and the two backends agree with each other to 1e-12.

use motornet::verify::{verify_file, Options};
use motornet::{Effector, Plant};
use std::path::{Path, PathBuf};

fn trajectory_references() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["motornet", "mujoco"]
        .iter()
        .flat_map(|d| {
            std::fs::read_dir(Path::new("tests/reference").join(d))
                .expect("vendored references")
                .map(|e| e.unwrap().path())
        })
        .filter(|p| !p.ends_with("wrap_elbow.json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 7,
        "expected the vendored trajectory references, found {files:?}"
    );
    files
}

#[test]
fn compiled_models_reproduce_every_reference() {
    for path in trajectory_references() {
        let report = verify_file(&path, &Options::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(report.model.contains("compiled"), "{}", report.model);
        assert!(
            report.fields.len() >= 2,
            "{}: compared too little",
            path.display()
        );
        for f in &report.fields {
            assert!(
                f.passed(),
                "{}: {} off by {:.3e} at {}",
                path.display(),
                f.field,
                f.max_scaled,
                f.worst_at
            );
        }
    }
}

#[test]
fn interpreted_models_reproduce_every_reference() {
    for path in trajectory_references() {
        let report = verify_file(
            &path,
            &Options {
                model: None,
                interpreted: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(report.model.contains("interpreted"));
        assert!(report.passed(), "{}: {:?}", path.display(), report.fields);
    }
}

#[test]
fn jit_models_reproduce_every_reference() {
    for path in trajectory_references() {
        let options = Options {
            jit: true,
            ..Default::default()
        };
        let report = verify_file(&path, &options).unwrap();
        assert!(report.model.contains("(jit)"), "{}", report.model);
        assert!(report.passed(), "{}: {:?}", path.display(), report.fields);
    }
}

#[test]
fn held_back_chain_geometry_is_applied_from_the_reference() {
    // A chain reference describes its links; verify must use them rather than the file's defaults.
    let path = Path::new("tests/reference/mujoco/chain3_torque_rk4.json");
    let mut reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    reference["geometry"]["m"][0] = serde_json::json!(2.5);
    let overrides = motornet::verify::reference_overrides(&reference);
    assert!(overrides.contains(&("link1.mass".to_string(), 2.5)));
    let mut plant = motornet::models::compiled("chain3_torque_rk4").unwrap();
    let mut values = plant.params().to_vec();
    for (n, v) in &overrides {
        values[plant.info().param_index(n).unwrap()] = *v;
    }
    plant.set_params(&values).unwrap();
    let fields = motornet::verify::verify_trajectory(plant, &reference).unwrap();
    assert!(
        fields.iter().any(|f| !f.passed()),
        "a heavier first link must change the trajectory"
    );
}

/// Runs the same random rollout on both backends and returns the largest difference.
fn backend_difference(name: &str, steps: usize) -> f64 {
    let compiled = motornet::models::compiled(name).unwrap();
    let interpreted =
        motornet::InterpretedPlant::from_source(motornet::models::source(name).unwrap(), name)
            .unwrap();
    // Nine effectors: two groups of four vector lanes and one on the scalar path.
    let batch = 9;
    let info = compiled.info().clone();
    let joint: Vec<f64> = (0..batch)
        .flat_map(|b| {
            let frac = 0.3 + 0.05 * b as f64;
            compiled
                .bounds()
                .iter()
                .map(move |r| {
                    if r.lower.is_finite() {
                        r.lower + frac * (r.upper - r.lower)
                    } else {
                        frac - 0.5
                    }
                })
                .chain(std::iter::repeat_n(0.0, info.dof()))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut a = Effector::new(compiled, batch);
    let mut b = Effector::new(interpreted, batch);
    a.reset(&joint).unwrap();
    b.reset(&joint).unwrap();
    let m = info.n_muscles();
    let mut worst: f64 = 0.0;
    for t in 0..steps {
        let u: Vec<f64> = (0..batch * m)
            .map(|k| 0.5 + 0.45 * ((t * 7 + k * 13) as f64).sin())
            .collect();
        let load: Vec<f64> = (0..info.dof()).map(|k| 0.1 * (k as f64 + 1.0)).collect();
        a.step(&u, &[1.0, -0.5, 0.25][..info.space_dim], &load)
            .unwrap();
        b.step(&u, &[1.0, -0.5, 0.25][..info.space_dim], &load)
            .unwrap();
        for (x, y) in a.states().iter().zip(&b.states()) {
            worst = worst.max((x - y).abs() / (1.0 + y.abs()));
        }
    }
    worst
}

#[test]
fn compiled_and_interpreted_agree() {
    for (name, _) in motornet::models::BUILTIN {
        let steps = if name == "arm26_compliant" { 200 } else { 60 };
        let d = backend_difference(name, steps);
        assert!(
            d <= 1e-12,
            "{name}: compiled and interpreted differ by {d:e}"
        );
    }
}
