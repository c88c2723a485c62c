//! Closed-loop references (MotorNet 0.3.0's tutorial training step, end to end): every vendored episode
//! is reproduced, compiled and interpreted, and a change to anything the run depends on — a weight, a goal,
//! a delay, a gradient — is caught and located.

use motornet::verify::{verify_text, CaseReport, Options, Outcome};
use serde_json::{json, Value};

const DIR: &str = "tests/reference/closed_loop";

fn files() -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = std::fs::read_dir(DIR)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let text = std::fs::read_to_string(&p).unwrap();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, serde_json::from_str(&text).unwrap())
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(out.len() >= 3, "the vendored closed-loop references");
    out
}

fn run(name: &str, v: &Value, interpreted: bool) -> Result<CaseReport, String> {
    let opts = Options {
        interpreted,
        ..Options::default()
    };
    match verify_text(name, &v.to_string(), &opts).map_err(|e| e.to_string())? {
        Outcome::Compared(r) => Ok(r),
        other => panic!("{other:?}"),
    }
}

fn field<'a>(r: &'a CaseReport, name: &str) -> &'a motornet::verify::FieldError {
    r.fields
        .iter()
        .find(|f| f.field == name)
        .unwrap_or_else(|| panic!("no field {name}"))
}

#[test]
fn every_closed_loop_reference_is_reproduced_compiled_and_interpreted() {
    for (name, v) in files() {
        for interpreted in [false, true] {
            let r = run(&name, &v, interpreted).unwrap();
            assert!(r.passed(), "{name} interpreted={interpreted}: {r:?}");
            for f in [
                "observations",
                "actions",
                "hidden_states",
                "joint",
                "cartesian",
                "muscle",
                "loss",
                "loss_l1",
                "loss_activation",
                "grad.gru.weight_ih_l0",
                "grad.gru.weight_hh_l0",
                "grad.gru.bias_ih_l0",
                "grad.gru.bias_hh_l0",
                "grad.fc.weight",
                "grad.fc.bias",
            ] {
                let f = field(&r, f);
                assert!(f.count > 0 && f.passed(), "{name}: {f:?}");
            }
            // Far tighter than the tolerance: the same operations in the same order.
            let worst = r.fields.iter().map(|f| f.max_scaled).fold(0.0, f64::max);
            assert!(worst < 1e-12, "{name}: {worst}");
        }
    }
}

#[test]
fn a_changed_gradient_weight_goal_or_delay_is_caught_and_located() {
    let (name, base) = files().into_iter().next().unwrap();
    // A gradient element.
    let mut v = base.clone();
    let g = v["grad"]["fc.weight"][2][3].as_f64().unwrap();
    v["grad"]["fc.weight"][2][3] = json!(g + 1e-3);
    let r = run(&name, &v, false).unwrap();
    assert!(!r.passed());
    let f = field(&r, "grad.fc.weight");
    assert!(!f.passed() && f.worst_at == "[2, 3]", "{f:?}");
    assert!(field(&r, "grad.fc.bias").passed());
    // A weight the run uses: the actions and everything after them move.
    let mut v = base.clone();
    let w = v["params"]["fc.bias"][0].as_f64().unwrap();
    v["params"]["fc.bias"][0] = json!(w + 0.1);
    let r = run(&name, &v, false).unwrap();
    assert!(!field(&r, "actions").passed() && !field(&r, "joint").passed());
    assert!(field(&r, "observations").worst_at.contains("step"));
    // A goal: observed from step 0 and in the loss.
    let mut v = base.clone();
    let x = v["goal"][1][0].as_f64().unwrap();
    v["goal"][1][0] = json!(x + 0.05);
    let r = run(&name, &v, false).unwrap();
    let obs = field(&r, "observations");
    assert!(
        !obs.passed() && obs.worst_at.starts_with("batch 1,"),
        "{obs:?}"
    );
    assert!(!field(&r, "loss_l1").passed());
    // Another vision delay: the observations differ from the reference's.
    let mut v = base.clone();
    v["environment_kwargs"]["vision_delay"] = json!(0.03);
    v["vision_delay_s"] = json!(0.03);
    let r = run(&name, &v, false).unwrap();
    assert!(!field(&r, "observations").passed());
}

/// MotorNet treats a delay of 0 like one step: no lag. So do we.
#[test]
fn a_zero_delay_is_one_step() {
    let (name, base) = files().into_iter().next().unwrap();
    let with = |seconds: f64| {
        let mut v = base.clone();
        v["environment_kwargs"]["proprioception_delay"] = json!(seconds);
        v["proprioception_delay_s"] = json!(seconds);
        let r = run(&name, &v, false).unwrap();
        let obs = field(&r, "observations");
        (obs.max_abs, obs.worst_at.clone())
    };
    let dt = base["dt"].as_f64().unwrap();
    let (zero, one) = (with(0.0), with(dt));
    assert!(
        zero.0 > 1e-6,
        "the reference's delay is two steps: {zero:?}"
    );
    assert_eq!(zero, one);
}

#[test]
fn bad_closed_loop_files_are_refused_by_field() {
    let (name, base) = files().into_iter().next().unwrap();
    let refused = |v: Value| run(&name, &v, false).unwrap_err();
    // Noise cannot be replayed.
    let mut v = base.clone();
    v["environment_kwargs"]["vision_noise"] = json!(0.01);
    let err = refused(v);
    assert!(
        err.contains("environment_kwargs.vision_noise") && err.contains("noise-free"),
        "{err}"
    );
    // A missing gradient.
    let mut v = base.clone();
    v["grad"].as_object_mut().unwrap().remove("fc.bias");
    let err = refused(v);
    assert!(err.contains("grad.fc.bias"), "{err}");
    // Inconsistent delays.
    let mut v = base.clone();
    v["vision_delay_s"] = json!(0.07);
    let err = refused(v);
    assert!(err.contains("vision_delay_s"), "{err}");
    // A misshapen tensor.
    let mut v = base.clone();
    v["params"]["fc.bias"] = json!([1.0, 2.0]);
    let err = refused(v);
    assert!(err.contains("fc.bias"), "{err}");
    // The trainer does not run built-in models on the JIT.
    let opts = Options {
        jit: true,
        ..Options::default()
    };
    let err = verify_text(&name, &base.to_string(), &opts)
        .unwrap_err()
        .to_string();
    assert!(err.contains("--jit"), "{err}");
    // An unknown effector.
    let mut v = base.clone();
    v["effector"] = json!("SomethingElse()");
    let err = refused(v);
    assert!(err.contains("--model"), "{err}");
    // A layout this version does not observe.
    let mut v = base.clone();
    v["obs_layout"]["vision"] = json!([4, 6]);
    let err = refused(v);
    assert!(err.contains("obs_layout.vision"), "{err}");
}

#[test]
fn the_command_line_verifies_closed_loop_files() {
    let mut files: Vec<String> = std::fs::read_dir(DIR)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    files.sort();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_motornet"))
        .arg("verify")
        .args(&files)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("{n} files: {n} passed", n = files.len())),
        "{stdout}"
    );
    assert!(stdout.contains("+ GRU 16"), "{stdout}");
}
