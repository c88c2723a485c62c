//! `motornet verify` is an arbiter that cannot pass without comparing: every field a reference kind
//! defines is checked for type, shape and finiteness, unknown and duplicate fields are refused, kinds this
//! version cannot run are reported as unsupported, and each of these makes the exit code non-zero with a
//! message naming the field. The small valid references are trimmed copies of the vendored ones
//! (`tests/fuzz_seeds/`), which still pass.

use motornet::verify::{check_text, classify, verify_text, FieldError, Kind, Options, Outcome};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

const SEEDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fuzz_seeds");

fn seed(name: &str) -> Value {
    let text = std::fs::read_to_string(Path::new(SEEDS).join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn trajectory() -> Value {
    seed("trajectory_pointmass24_relu.json")
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("motornet-verify-strict-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(name: &str, text: &str) -> PathBuf {
    let p = temp_dir().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Runs `motornet verify` on the files; returns the exit status and stdout + stderr.
fn cli(files: &[&Path]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_motornet"))
        .arg("verify")
        .args(files)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// The file fails through the CLI and through the library, and both messages contain every `needle`.
fn assert_fails(name: &str, text: &str, needles: &[&str]) {
    let path = write(name, text);
    let (ok, out) = cli(&[&path]);
    assert!(!ok, "{name}: exit code 0:\n{out}");
    assert!(
        out.contains("1 file: 0 passed, 1 failed, 0 unsupported"),
        "{name}: no count line:\n{out}"
    );
    let lib = match verify_text(name, text, &Options::default()) {
        Err(e) => e.to_string(),
        Ok(Outcome::Compared(r)) if !r.passed() => format!("{r:?}"),
        Ok(other) => panic!("{name}: the library accepted it: {other:?}"),
    };
    for n in needles {
        assert!(out.contains(n), "{name}: CLI output lacks {n:?}:\n{out}");
        assert!(
            lib.contains(n),
            "{name}: library message lacks {n:?}: {lib}"
        );
    }
    assert!(
        lib.contains(name),
        "{name}: the message does not name the file: {lib}"
    );
}

fn mutated(base: &Value, field: &str, value: Value) -> String {
    let mut v = base.clone();
    v[field] = value;
    v.to_string()
}

fn without(base: &Value, field: &str) -> String {
    let mut v = base.clone();
    v.as_object_mut().unwrap().remove(field);
    v.to_string()
}

#[test]
fn small_valid_references_of_every_supported_kind_pass() {
    let files: Vec<PathBuf> = [
        "trajectory_pointmass24_relu.json",
        "trajectory_arm26_rigid_kistemaker.json",
        "trajectory_chain3_torque_rk4.json",
        "pointmass24_relu.grad.json",
        "wrap_elbow.json",
        "gru_small.json",
    ]
    .iter()
    .map(|n| Path::new(SEEDS).join(n))
    .collect();
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let (ok, out) = cli(&refs);
    assert!(ok, "{out}");
    assert!(
        out.contains("6 files: 6 passed, 0 failed, 0 unsupported"),
        "{out}"
    );
    assert!(!out.contains("FAIL"), "{out}");
}

#[test]
fn wrong_types_of_compared_fields_fail_and_name_the_field() {
    let t = trajectory();
    assert_fails(
        "muscle-oops.json",
        &mutated(&t, "muscle", json!("oops")),
        &["`muscle`", "\"oops\""],
    );
    assert_fails(
        "geometry-null.json",
        &mutated(&t, "geometry", Value::Null),
        &["`geometry`", "null"],
    );
    assert_fails(
        "cartesian-false.json",
        &mutated(&t, "cartesian", json!(false)),
        &["`cartesian`", "`false`"],
    );
    assert_fails(
        "joint-object.json",
        &mutated(&t, "joint", json!({"a": 1})),
        &["`joint`", "object"],
    );
    assert_fails(
        "steps-text.json",
        &mutated(&t, "steps", json!("3")),
        &["`steps`", "whole number"],
    );
    assert_fails(
        "batch-float.json",
        &mutated(&t, "batch", json!(2.5)),
        &["`batch`", "whole number"],
    );
    assert_fails(
        "dt-negative.json",
        &mutated(&t, "dt", json!(-0.01)),
        &["`dt`", "positive"],
    );
    assert_fails(
        "names-numbers.json",
        &mutated(&t, "muscle_names", json!([1, 2, 3, 4])),
        &["`muscle_names`"],
    );
    assert_fails(
        "seed-text.json",
        &mutated(&t, "seed", json!("one")),
        &["`seed`"],
    );
    // A number where a list belongs, deep inside.
    let mut v = t.clone();
    v["joint"][1][2] = json!(0.5);
    assert_fails("joint-deep.json", &v.to_string(), &["`joint`", "at [1][2]"]);
    let mut v = t.clone();
    v["muscle"][0][1][2][3] = json!(null);
    assert_fails(
        "muscle-deep-null.json",
        &v.to_string(),
        &["`muscle`", "at [0][1][2][3]", "null"],
    );
}

#[test]
fn missing_required_fields_fail_and_name_the_field() {
    let t = trajectory();
    for field in [
        "dt",
        "steps",
        "batch",
        "n_muscles",
        "dof",
        "initial_joint_state",
        "actions",
        "endpoint_load",
        "joint_load",
    ] {
        assert_fails(
            &format!("no-{field}.json"),
            &without(&t, field),
            &[&format!("`{field}`")],
        );
    }
    let g = seed("pointmass24_relu.grad.json");
    for field in ["loss", "w_cart_t_b", "dt"] {
        assert_fails(
            &format!("grad-no-{field}.json"),
            &without(&g, field),
            &[&format!("`{field}`")],
        );
    }
    let mut gru = seed("gru_small.json");
    gru["grad"].as_object_mut().unwrap().remove("h0");
    assert_fails("gru-no-grad-h0.json", &gru.to_string(), &["`grad.h0`"]);
    let mut w = seed("wrap_elbow.json");
    w["samples"][1]
        .as_object_mut()
        .unwrap()
        .remove("moment_arm");
    assert_fails(
        "wrap-no-moment-arm.json",
        &w.to_string(),
        &["`samples[1].moment_arm`"],
    );
}

#[test]
fn wrong_shapes_fail_and_name_the_field() {
    let t = trajectory();
    // One step fewer than `steps` says.
    let mut v = t.clone();
    v["joint"][0].as_array_mut().unwrap().pop();
    assert_fails(
        "joint-short.json",
        &v.to_string(),
        &["`joint`", "batch × (steps+1) × 2·dof", "at [0]"],
    );
    // `steps` disagrees with every array.
    assert_fails(
        "steps-wrong.json",
        &mutated(&t, "steps", json!(5)),
        &["`actions`"],
    );
    // A flattened array has the right count but not the right shape.
    let flat: Vec<f64> = motornet::verify::flatten(&t["cartesian"]).unwrap();
    assert_fails(
        "cartesian-flat.json",
        &mutated(&t, "cartesian", json!(flat)),
        &["`cartesian`"],
    );
    // The model's muscle count.
    let mut v = t.clone();
    v["n_muscles"] = json!(3);
    for k in ["actions", "muscle", "geometry"] {
        for b in v[k].as_array_mut().unwrap() {
            for step in b.as_array_mut().unwrap() {
                match step.as_array_mut().unwrap().first() {
                    Some(Value::Array(_)) => {
                        step.as_array_mut().unwrap().iter_mut().for_each(|row| {
                            row.as_array_mut().unwrap().pop();
                        })
                    }
                    _ => {
                        step.as_array_mut().unwrap().pop();
                    }
                }
            }
        }
    }
    v["muscle_names"].as_array_mut().unwrap().pop();
    assert_fails(
        "three-muscles.json",
        &v.to_string(),
        &["`n_muscles`", "4 muscles"],
    );
    let mut v = t.clone();
    v["muscle_names"][0] = json!("Elsewhere");
    assert_fails(
        "renamed-muscle.json",
        &v.to_string(),
        &["`muscle_names`", "Elsewhere"],
    );
    assert_fails(
        "dt-model.json",
        &mutated(&t, "dt", json!(0.02)),
        &["`dt`", "0.02"],
    );
    // Gradients: the muscle dimension must agree between actions and gradient.
    let mut g = seed("pointmass24_relu.grad.json");
    g["grad_actions_t_b_m"][4][1].as_array_mut().unwrap().pop();
    assert_fails(
        "grad-ragged.json",
        &g.to_string(),
        &["`grad_actions_t_b_m`", "at [4][1]"],
    );
    // GRU: a weight of the wrong size (an LSTM's four gates).
    let mut gru = seed("gru_small.json");
    gru["bias_ih"]
        .as_array_mut()
        .unwrap()
        .extend(std::iter::repeat_n(json!(0.0), 4));
    assert_fails("gru-bias.json", &gru.to_string(), &["`bias_ih`", "3H"]);
    // Path geometry: fewer lengths than tendons (this used to index out of bounds).
    let mut w = seed("wrap_elbow.json");
    w["samples"][2]["length"].as_array_mut().unwrap().pop();
    assert_fails("wrap-short.json", &w.to_string(), &["`samples[2].length`"]);
    let mut w = seed("wrap_elbow.json");
    w["tendons"] = json!(["triceps", "nonexistent", "biceps_wrap"]);
    assert_fails(
        "wrap_elbow.tendons.json",
        &w.to_string(),
        &["`tendons`", "nonexistent"],
    );
}

#[test]
fn non_finite_and_duplicate_values_fail_and_name_the_field() {
    let t = trajectory().to_string();
    // Python writes NaN and Infinity; JSON does not have them.
    let at = t.find("\"joint\":[[[").unwrap() + "\"joint\":[[[".len();
    let nan = format!("{}NaN{}", &t[..at], &t[at + t[at..].find(',').unwrap()..]);
    assert_fails("joint-nan.json", &nan, &["`joint[0][0][0]`", "NaN"]);
    let inf = format!(
        "{}-Infinity{}",
        &t[..at],
        &t[at + t[at..].find(',').unwrap()..]
    );
    assert_fails("joint-inf.json", &inf, &["`joint[0][0][0]`", "Infinity"]);
    let at = t.find("\"cartesian\":[[[").unwrap() + "\"cartesian\":[[[".len();
    let huge = format!("{}1e999{}", &t[..at], &t[at + t[at..].find(',').unwrap()..]);
    assert_fails(
        "cartesian-huge.json",
        &huge,
        &["`cartesian[0][0][0]`", "finite"],
    );
    // A second `joint` would otherwise silently replace the first.
    let dup = t.replacen("{", "{\"joint\":[],", 1);
    assert_fails("duplicate.json", &dup, &["duplicate key `joint`"]);
    assert_fails("trailing.json", &format!("{t} {{}}"), &["not valid JSON"]);
}

#[test]
fn unknown_fields_fail() {
    let t = trajectory();
    assert_fails(
        "bogus.json",
        &mutated(&t, "bogus", json!(1)),
        &["unknown field `bogus`"],
    );
    let mut g = seed("gru_small.json");
    g["grad"]["extra"] = json!([1.0]);
    assert_fails("gru-extra.json", &g.to_string(), &["`grad.extra`"]);
    let mut w = seed("wrap_elbow.json");
    w["samples"][0]["lengths"] = json!([1.0]);
    assert_fails("wrap-extra.json", &w.to_string(), &["`samples[0].lengths`"]);
}

#[test]
fn files_that_compare_nothing_fail() {
    let t = trajectory();
    // `joint: null` and no other compared field: the old reader compared zero fields.
    let mut v = t.clone();
    for k in ["cartesian", "muscle", "geometry"] {
        v.as_object_mut().unwrap().remove(k);
    }
    v["joint"] = Value::Null;
    assert_fails("nothing.json", &v.to_string(), &["`joint`"]);
    // No field of any kind.
    assert_fails("empty.json", "{}", &["not a kind of reference"]);
    assert_fails("array.json", "[1, 2]", &["must be a JSON object"]);
    assert_fails(
        "info-only.json",
        &json!({"case": "arm26", "seed": 1}).to_string(),
        &["not a kind of reference"],
    );
    // The verdict itself: nothing compared is not a pass.
    let f = FieldError {
        field: "joint".into(),
        count: 0,
        max_scaled: 0.0,
        max_abs: 0.0,
        worst_at: String::new(),
        tolerance: 1e-6,
    };
    assert!(!f.passed());
    let report = motornet::verify::CaseReport {
        case: "x".into(),
        model: "y".into(),
        fields: vec![],
    };
    assert!(!report.passed());
}

#[test]
fn newer_kinds_are_recognised_and_read_strictly() {
    // A closed-loop episode carries a trajectory too; a trajectory with an observation field is read as
    // one, strictly, and does not pass as a trajectory.
    let mut v = trajectory();
    v["observations"] = json!([]);
    let text = v.to_string();
    let err = check_text("cl.json", &text).unwrap_err().to_string();
    assert!(err.contains("cl.json"), "{err}");
    assert!(verify_text("cl.json", &text, &Options::default()).is_err());
    // A 3D MuJoCo case (recognised here by its `energy` diagnostic) is run like any trajectory, strictly:
    // one that says it is spatial has 3D endpoint states, which a planar trajectory lacks.
    let mut v = trajectory();
    v["energy"] = json!([]);
    assert_eq!(classify(&v), Some(Kind::Mujoco3d));
    let report = match verify_text("m3.json", &v.to_string(), &Options::default()).unwrap() {
        Outcome::Compared(report) => report,
        other => panic!("{other:?}"),
    };
    assert!(report.passed(), "{report:?}");
    v["space_dim"] = json!(3);
    let err = verify_text("m3.json", &v.to_string(), &Options::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("m3.json") && (err.contains("endpoint_load") || err.contains("cartesian")),
        "{err}"
    );
    for (field, kind) in [
        ("network", Kind::Policy),
        ("observations", Kind::ClosedLoop),
        ("model_file", Kind::OpenSim),
    ] {
        let text = mutated(&trajectory(), field, json!("x"));
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(classify(&value), Some(kind), "{field}");
    }
}

/// The shared reference folder's newer kinds are classified as such (when it is present on this machine).
#[test]
fn shared_references_are_classified_by_kind() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference");
    for (dir, kind) in [
        ("closed_loop", Kind::ClosedLoop),
        ("policies", Kind::Policy),
        ("mujoco3d", Kind::Mujoco3d),
        ("opensim", Kind::OpenSim),
    ] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "json") {
                let text = std::fs::read_to_string(&p).unwrap();
                assert_eq!(
                    check_text("f.json", &text).unwrap(),
                    kind,
                    "{}",
                    p.display()
                );
            }
        }
    }
}

#[test]
fn unreadable_inputs_fail() {
    let dir = temp_dir();
    let (ok, out) = cli(&[&dir]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("regular file") && out.contains("directory"),
        "{out}"
    );
    let (ok, out) = cli(&[Path::new("/dev/zero")]);
    assert!(!ok, "{out}");
    assert!(out.contains("regular file"), "{out}");
    let (ok, out) = cli(&[&dir.join("does-not-exist.json")]);
    assert!(!ok, "{out}");
    assert!(out.contains("cannot read"), "{out}");
    let latin1 = dir.join("latin1.json");
    std::fs::write(&latin1, b"{\"case\": \"caf\xe9\"}").unwrap();
    let (ok, out) = cli(&[&latin1]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("latin1.json:1:14:") && out.contains("UTF-8"),
        "{out}"
    );
}

#[test]
fn loads_may_be_one_shared_row_or_empty_as_simulate_writes_them() {
    let t = trajectory();
    assert!(t["joint_load"]
        .to_string()
        .chars()
        .all(|c| "[]0.,".contains(c)));
    let passes =
        |text: String| match verify_text("pointmass24_relu.json", &text, &Options::default()) {
            Ok(Outcome::Compared(r)) => r.passed(),
            other => panic!("{other:?}"),
        };
    assert!(passes(mutated(&t, "joint_load", json!([]))));
    assert!(passes(mutated(&t, "joint_load", json!([0.0, 0.0]))));
    let row = t["endpoint_load"][0].clone();
    let mut shared = t.clone();
    shared["endpoint_load"] = row.clone();
    shared["endpoint_load"][0] = json!(row[0].as_f64().unwrap() + 1.0);
    assert!(
        !passes(shared.to_string()),
        "a different load must change the trajectory"
    );
    assert_fails(
        "load-three.json",
        &mutated(&t, "endpoint_load", json!([1.0, 2.0, 3.0])),
        &["`endpoint_load`", "or [] for none"],
    );
}
