//! The command-line program end to end: exit codes, messages and files.

use std::path::PathBuf;
use std::process::Command;

fn motornet(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_motornet"))
        .args(args)
        .output()
        .expect("run motornet");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("motornet-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn check_accepts_the_shipped_models_and_locates_every_problem() {
    let (code, out, _) = motornet(&["check", "models/arm26.mnet", "models/wrap_elbow.mnet"]);
    assert_eq!(code, 0);
    assert!(out.contains("models/arm26.mnet: ok"), "{out}");
    let (code, _, err) = motornet(&[
        "check",
        "motornet-dsl/tests/bad/multiple_errors.mnet",
        "--plain",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("multiple_errors.mnet:"),
        "file:line:col in the report: {err}"
    );
    assert!(err.contains("problems in"), "{err}");
    // A built-in model by name; an unknown name lists the built-in ones.
    let (code, out, _) = motornet(&["check", "wrap_elbow"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("models/wrap_elbow.mnet (built-in): ok"),
        "{out}"
    );
    let (code, _, err) = motornet(&["check", "no_such_model"]);
    assert_eq!(code, 1);
    assert!(err.contains("built-in: arm26"), "{err}");
}

#[test]
fn verify_runs_every_policy_reference() {
    let mut files: Vec<String> = std::fs::read_dir("tests/reference/policies")
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    files.sort();
    assert!(files.len() >= 6);
    let mut args = vec!["verify"];
    args.extend(files.iter().map(String::as_str));
    let (code, out, _) = motornet(&args);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 failures"), "{out}");
    assert!(
        out.contains("lstm policy") && out.contains("modular_gru policy"),
        "{out}"
    );
    assert!(
        out.contains(&format!("{n} files: {n} passed", n = files.len())),
        "{out}"
    );
}

#[test]
fn verify_passes_on_references_and_fails_on_a_corrupted_one() {
    let (code, out, _) = motornet(&[
        "verify",
        "tests/reference/motornet/pointmass24_relu.seed1.json",
        "tests/reference/gradients/arm26_rigid_kistemaker.grad.seed3.json",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 failures"), "{out}");
    // Shift one reference value: verification must fail and say where.
    let text =
        std::fs::read_to_string("tests/reference/motornet/pointmass24_relu.seed1.json").unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let x = v["joint"][1][50][0].as_f64().unwrap();
    v["joint"][1][50][0] = serde_json::json!(x + 1e-3);
    let dir = temp("verify");
    let path = dir.join("pointmass24_relu.seed9.json");
    std::fs::write(&path, v.to_string()).unwrap();
    let (code, out, _) = motornet(&["verify", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAIL") && out.contains("batch 1, step 50"),
        "{out}"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn simulate_writes_csv_and_json_that_verify_reads_back() {
    let dir = temp("simulate");
    let csv = dir.join("out.csv");
    let (code, _, err) = motornet(&[
        "simulate",
        "arm26",
        "--steps",
        "20",
        "--batch",
        "2",
        "--excitation",
        "biceps=0.5,pectoralis=0.2",
        "--set",
        "biceps.max_force=500",
        "-o",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&csv).unwrap();
    let header = text.lines().next().unwrap();
    assert!(
        header.starts_with("effector,step,time,q[shoulder],q[elbow]"),
        "{header}"
    );
    assert!(header.contains("force[biceps]") && header.contains("excitation[biceps]"));
    assert_eq!(text.lines().count(), 1 + 2 * 21);
    // JSON in the reference schema: verifying the simulation against itself passes.
    let json = dir.join("arm26_rigid_kistemaker.seed0.json");
    let (code, _, err) = motornet(&[
        "simulate",
        "arm26",
        "--steps",
        "20",
        "--excitation",
        "0.3",
        "--joint",
        "0.5,1.0",
        "-o",
        json.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = motornet(&["verify", json.to_str().unwrap(), "--model", "arm26"]);
    assert_eq!(code, 0, "{out}");
    // A bad override is a clear error, not a panic.
    let (code, _, err) = motornet(&["simulate", "arm26", "--set", "biceps.max_forc=500"]);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean `biceps.max_force`"), "{err}");
    let (code, _, err) = motornet(&["simulate", "arm26", "--set", "upper_arm.mass=-1"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("mass of `upper_arm` must be positive"),
        "{err}"
    );
    let (code, _, err) = motornet(&["simulate", "arm26", "--joint", "3.0,1.0"]);
    assert_eq!(code, 2);
    assert!(err.contains("outside its range"), "{err}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn params_and_expand_describe_a_model() {
    let (code, out, _) = motornet(&["params", "arm26"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("biceps.max_force") && out.contains("414") && out.contains(" N"),
        "{out}"
    );
    let (code, out, _) = motornet(&["expand", "pointmass24_relu"]);
    assert_eq!(code, 0);
    assert!(out.contains("pub struct Pointmass24Relu") && out.contains("fn step_vjp_generic"));
}
