//! Bad input and interruptions, end to end: impossible configurations, closed pipes and full disks,
//! endless files, diverging simulations, Ctrl-C, processes killed between two writes, damaged checkpoints.
//! Each case once panicked, aborted, hung or was accepted silently; see docs/reliability.md.

use motornet::runtime::files::FAULT_VAR;
use motornet::training::{train, Hooks, Summary, TrainConfig};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn motornet(args: &[&str]) -> (i32, String, String) {
    motornet_env(args, &[])
}

fn motornet_env(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_motornet"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run motornet");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        !stderr.contains("panicked"),
        "motornet {args:?} panicked: {stderr}"
    );
    (out.status.code().unwrap_or(-1), stdout, stderr)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "motornet-reliability-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A training configuration small enough to run in a test.
const SMALL: &str = r#"
model = "pointmass24_relu"
[env]
episode_duration = 0.1
[optim]
hidden = 6
batch_size = 3
[run]
batches = 7
eval_every = 2
eval_episodes = 4
eval_last_steps = 3
checkpoint_every = 2
"#;

fn validate(toml: &str) -> Result<(), String> {
    TrainConfig::from_toml(toml)
        .and_then(|c| c.validate())
        .map_err(|e| e.to_string())
}

#[test]
fn every_impossible_setting_is_reported_at_once_by_key() {
    let bad = r#"
model = "arm26"
[task]
kind = "delayed_reach"
go_steps = [50, 500]
catch_probability = 1.5
[env]
action_noise = -0.1
vision_delay = 0.015
[loss]
activation = -1.0
position_norm = "l3"
activation_scale = "force"
[optim]
grad_clip = -1.0
threads = 0
learning_rate = nan
[run]
eval_episodes = 0
eval_last_steps = 0
target_metric = nan
eval_every = 0
"#;
    let err = validate(bad).unwrap_err();
    for needle in [
        "[task] go_steps = [50, 500]",
        "[task] catch_probability = 1.5",
        "[env] action_noise = -0.1",
        "[env] vision_delay = 0.015",
        "[loss] activation = -1",
        "[loss] position_norm",
        "[loss] activation_scale = \"force\"",
        "[optim] grad_clip = -1",
        "[optim] threads = 0",
        "[optim] learning_rate = NaN",
        "[run] eval_episodes = 0",
        "[run] eval_last_steps = 0",
        "[run] target_metric = NaN",
        "[run] eval_every = 0",
    ] {
        assert!(err.contains(needle), "`{needle}` missing from:\n{err}");
    }
    assert!(err.contains("14 problems"), "{err}");
    assert!(err.contains("must be a probability in [0, 1]"), "{err}");
}

#[test]
fn centre_out_postures_targets_and_sizes_are_checked_against_the_model() {
    let centre = |extra: &str| {
        validate(&format!(
            "model = \"arm26\"\n[task]\nkind = \"centre_out\"\n{extra}"
        ))
    };
    // Once a panic in the task (`start_joint` shorter than the model's coordinates).
    let err = centre("start_joint = [0.8]").unwrap_err();
    assert!(
        err.contains("needs one position per coordinate") && err.contains("shoulder, elbow"),
        "{err}"
    );
    let err = centre("start_joint = [0.8, 3.0]").unwrap_err();
    assert!(err.contains("`elbow` = 3 lies outside its range"), "{err}");
    let err = centre("start_joint = [0.8, 1.6]\nn_targets = 0\nradius = -0.1").unwrap_err();
    assert!(
        err.contains("[task] n_targets = 0") && err.contains("[task] radius = -0.1"),
        "{err}"
    );
    assert!(centre("start_joint = [0.8, 1.6]").is_ok());
    // Once an abort allocating 400 PB.
    let err = validate("[env]\nepisode_duration = 1e12").unwrap_err();
    assert!(
        err.contains("[env] episode_duration = 1000000000000"),
        "{err}"
    );
    let err = validate("[env]\nepisode_duration = 5000").unwrap_err();
    assert!(err.contains("GiB"), "{err}");
    let err = validate("[optim]\nhidden = 100000").unwrap_err();
    assert!(err.contains("[optim] hidden = 100000"), "{err}");
    let err = validate("[loss]\nposition = 0").unwrap_err();
    assert!(err.contains("nothing to train for"), "{err}");
    let err = validate("model = \"no_such_model\"").unwrap_err();
    assert!(err.contains("model = no_such_model"), "{err}");
}

#[test]
fn a_task_table_without_kind_keeps_the_default_kind() {
    let cfg = TrainConfig::from_toml("[task]\ncurl = 5.0").unwrap();
    assert_eq!(
        cfg.task,
        motornet::training::TaskConfig::RandomReach { curl: 5.0 }
    );
    let err = TrainConfig::from_toml("[task]\ncurl = 5.0\nstart_joint = [1.0]").unwrap_err();
    assert!(err.to_string().contains("start_joint"), "{err}");
}

#[test]
fn impossible_configurations_fail_before_any_work_starts() {
    let dir = scratch("cli-config");
    let cfg = dir.join("bad.toml");
    std::fs::write(&cfg, "[run]\neval_episodes = 0\n[optim]\nthreads = 0\n").unwrap();
    let out = dir.join("run");
    let (code, _, err) = motornet(&[
        "train",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("2 problems") && err.contains("[optim] threads = 0"),
        "{err}"
    );
    assert!(
        !out.exists(),
        "nothing is written for a rejected configuration"
    );
    // Endless and non-regular files are refused before they are read.
    for (flag, what) in [("--config", "configuration"), ("", "model")] {
        let mut args = vec!["train"];
        if !flag.is_empty() {
            args.push(flag);
        }
        args.push("/dev/zero");
        let (code, _, err) = motornet(&args);
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains(&format!("the {what} must be a regular file")),
            "{err}"
        );
    }
    let (code, _, err) = motornet(&["simulate", "/dev/zero"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("regular file"), "{err}");
}

#[test]
fn resume_applies_threads_and_refuses_what_it_cannot_honour() {
    let dir = scratch("resume-flags");
    let cfg = dir.join("small.toml");
    std::fs::write(&cfg, SMALL).unwrap();
    let run = dir.join("run");
    let r = run.to_str().unwrap();
    let (code, _, err) = motornet(&[
        "train",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        r,
        "--batches",
        "2",
        "--quiet",
    ]);
    assert_eq!(code, 0, "{err}");
    for flags in [
        &["--seed", "3"][..],
        &["--set", "mass=2"],
        &["--out", "elsewhere"],
        &["pointmass24_relu"],
    ] {
        let mut args = vec!["train", "--resume", r];
        args.extend_from_slice(flags);
        let (code, _, err) = motornet(&args);
        assert_eq!(code, 2, "{flags:?} must be refused with --resume: {err}");
        assert!(err.contains("cannot be used with"), "{err}");
    }
    let (code, _, err) = motornet(&[
        "train",
        "--resume",
        r,
        "--threads",
        "2",
        "--batches",
        "4",
        "--quiet",
    ]);
    assert_eq!(code, 0, "{err}");
    let saved = std::fs::read_to_string(run.join("config.toml")).unwrap();
    let saved = TrainConfig::from_toml(&saved).unwrap();
    assert_eq!((saved.optim.threads, saved.run.batches), (2, 4));
    let (code, _, err) = motornet(&["train", "--resume", dir.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("a run directory"), "{err}");
}

#[test]
fn closed_pipes_and_full_disks_are_not_panics() {
    // `motornet params arm26 | head -n 1`: the reader goes away after one line.
    for args in [
        &["params", "arm26"][..],
        &["simulate", "arm26", "--steps", "1000000000"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_motornet"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 64];
        child
            .stdout
            .as_mut()
            .unwrap()
            .read_exact(&mut first)
            .unwrap();
        drop(child.stdout.take());
        let status = child.wait().unwrap();
        let mut err = String::new();
        child.stderr.unwrap().read_to_string(&mut err).unwrap();
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        // A billion steps streamed to a closed pipe end at once: nothing was buffered.
        assert_eq!(status.code(), Some(0), "{args:?}: {err}");
    }
    if Path::new("/dev/full").exists() {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        for args in [
            &["check", "arm26"][..],
            &["params", "arm26"],
            &["simulate", "arm26"],
        ] {
            let out = Command::new(env!("CARGO_BIN_EXE_motornet"))
                .args(args)
                .stdout(full.try_clone().unwrap())
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(!err.contains("panicked"), "{args:?}: {err}");
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            assert!(err.contains("No space left on device"), "{args:?}: {err}");
        }
        let (code, _, err) = motornet(&["simulate", "arm26", "-o", "/dev/full"]);
        assert_eq!(code, 2);
        assert!(err.contains("No space left on device"), "{err}");
    }
}

#[test]
fn a_diverging_simulation_keeps_every_row_before_it_and_says_where() {
    let dir = scratch("diverge");
    let csv = dir.join("out.csv");
    // A torque of 1e300 N·m overflows the joint velocity within a few steps.
    let (code, _, err) = motornet(&[
        "simulate",
        "chain3_torque_rk4",
        "--steps",
        "50",
        "--joint-load",
        "1e300,0,0",
        "-o",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    let step: usize = err
        .split("stopped in step ")
        .nth(1)
        .and_then(|s| s.split(':').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("the step is named: {err}"));
    assert!(step < 50, "{err}");
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(
        text.lines().count(),
        1 + step + 1,
        "header and steps 0..={step}"
    );
    // Bad numbers are bad input, not a NaN in the state.
    for bad in ["NaN", "inf", "biceps=nan"] {
        let (code, _, err) = motornet(&["simulate", "arm26", "--excitation", bad]);
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(err.contains("not a finite number"), "{bad}: {err}");
    }
    let (code, _, err) = motornet(&["simulate", "arm26", "--joint", "nan,1"]);
    assert_eq!(code, 2);
    assert!(err.contains("not a finite number"), "{err}");
    let (code, _, err) = motornet(&["simulate", "arm26", "--batch", "0"]);
    assert_eq!(code, 2);
    assert!(err.contains("--batch 0"), "{err}");
    let (code, _, err) = motornet(&["simulate", "arm26", "--steps", "100000000", "-o", "x.json"]);
    assert_eq!(code, 2);
    assert!(err.contains("streamed"), "{err}");
}

fn train_in(dir: &Path, cfg: &TrainConfig, resume: bool) -> Result<Summary, motornet::Error> {
    let mut progress = |_: u64, _: u64, _: f64, _: Option<f64>| {};
    let never = || false;
    train(
        dir,
        cfg,
        resume,
        Hooks {
            progress: &mut progress,
            interrupted: &never,
        },
    )
    .map(|r| r.1)
}

fn temporaries(dir: &Path) -> Vec<String> {
    [dir.to_path_buf(), dir.join("plots")]
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| motornet::runtime::files::is_temporary(n))
        .collect()
}

/// The process is killed at every fault point, at several hits: the run then resumes to the very
/// same log, summary metrics and weights as a run that was never interrupted, and leaves no temporary
/// file behind.
#[test]
fn a_run_killed_between_any_two_writes_resumes_to_the_uninterrupted_result() {
    let dir = scratch("kill");
    let cfg_path = dir.join("small.toml");
    std::fs::write(&cfg_path, SMALL).unwrap();
    let reference = dir.join("reference");
    let cfg = TrainConfig::from_toml(SMALL).unwrap();
    train_in(&reference, &cfg, false).unwrap();
    let expected_log = std::fs::read_to_string(reference.join("log.csv")).unwrap();
    let expected =
        motornet::runtime::gru::load_safetensors(&reference.join("checkpoint.safetensors"))
            .unwrap()
            .0;
    let losses = |log: &str| -> Vec<String> {
        log.lines()
            .map(|l| l.split(',').take(3).collect::<Vec<_>>().join(","))
            .collect()
    };
    let mut killed = 0;
    for point in ["before rename", "between summary and checkpoint"] {
        for hit in [1, 2, 5, 11] {
            let run = dir.join(format!("run-{}-{hit}", point.replace(' ', "-")));
            let r = run.to_str().unwrap();
            let spec = format!("{point}@{hit}");
            let (code, _, err) = motornet_env(
                &[
                    "train",
                    "--config",
                    cfg_path.to_str().unwrap(),
                    "--out",
                    r,
                    "--quiet",
                ],
                &[(FAULT_VAR, &spec)],
            );
            if code == 0 {
                continue; // the run ended before this hit
            }
            killed += 1;
            assert!(err.contains("fault injection"), "{spec}: {err}");
            if !run.join("checkpoint.safetensors").exists() {
                // Killed before the first checkpoint: start again, as the message would advise.
                std::fs::remove_dir_all(&run).unwrap();
                train_in(&run, &cfg, false).unwrap();
            } else {
                let (code, _, err) = motornet(&["train", "--resume", r, "--quiet"]);
                assert_eq!(code, 0, "{spec}: {err}");
            }
            let log = std::fs::read_to_string(run.join("log.csv")).unwrap();
            assert_eq!(
                losses(&log),
                losses(&expected_log),
                "{spec}: the log is that of an uninterrupted run"
            );
            let got = motornet::runtime::gru::load_safetensors(&run.join("checkpoint.safetensors"))
                .unwrap()
                .0;
            assert_eq!(got.params(), expected.params(), "{spec}: weights");
            assert_eq!(temporaries(&run), Vec::<String>::new(), "{spec}");
        }
    }
    assert!(
        killed >= 6,
        "the faults were reached ({killed} runs killed)"
    );
}

#[test]
fn interrupting_saves_then_exits_130_and_the_summary_says_when_the_metric_was_measured() {
    let dir = scratch("sigint");
    let cfg_path = dir.join("long.toml");
    std::fs::write(&cfg_path, SMALL.replace("batches = 7", "batches = 100000")).unwrap();
    let run = dir.join("run");
    let mut child = Command::new(env!("CARGO_BIN_EXE_motornet"))
        .args([
            "train",
            "--config",
            cfg_path.to_str().unwrap(),
            "--out",
            run.to_str().unwrap(),
            "--quiet",
        ])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the first checkpoint, then press Ctrl-C.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !run.join("checkpoint.safetensors").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint was written"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("saved a checkpoint after batch"), "{err}");
    let summary: Summary =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    let last = summary.evaluations.last().unwrap();
    assert_eq!(summary.final_metric, Some(last.metric));
    assert_eq!(summary.final_metric_batch, Some(last.batch));
    assert!(last.batch <= summary.batches_done);
}

#[test]
fn damaged_checkpoints_are_refused_never_loaded() {
    let dir = scratch("damage");
    let cfg = TrainConfig::from_toml(SMALL).unwrap();
    train_in(&dir.join("run"), &cfg, false).unwrap();
    let path = dir.join("run/checkpoint.safetensors");
    let good = std::fs::read(&path).unwrap();
    let (net, _, _) = motornet::runtime::gru::load_safetensors(&path).unwrap();
    // Flip one bit in each of many bytes across the file: every damaged copy is refused, or (a flip in
    // the header's padding) loads exactly the same values.
    let copy = dir.join("copy.safetensors");
    let step = (good.len() / 400).max(1);
    let mut refused = 0;
    for at in (0..good.len()).step_by(step) {
        let mut bytes = good.clone();
        bytes[at] ^= 1 << (at % 8);
        std::fs::write(&copy, &bytes).unwrap();
        match motornet::runtime::gru::load_safetensors(&copy) {
            Err(_) => refused += 1,
            Ok((g, _, _)) => assert_eq!(
                g.params(),
                net.params(),
                "byte {at} changed the weights silently"
            ),
        }
    }
    assert!(refused > 350, "{refused} of ~400 damaged copies refused");
    // `eval` on a run whose checkpoint was damaged says so.
    let mut bytes = good.clone();
    let n = bytes.len();
    bytes[n - 3] ^= 0x10;
    std::fs::write(&path, &bytes).unwrap();
    let (code, _, err) = motornet(&["eval", dir.join("run").to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("damaged"), "{err}");
    // A checkpoint holding a NaN (with a correct digest) is refused by name, not blamed on the policy.
    let mut params = net.params().to_vec();
    params[5] = f64::NAN;
    let nan = motornet::runtime::gru::Gru::from_flat(net.dims(), params).unwrap();
    motornet::runtime::gru::save_safetensors(&copy, &nan, None, &[]).unwrap();
    let err = motornet::runtime::gru::load_safetensors(&copy)
        .unwrap_err()
        .to_string();
    assert!(err.contains("non-finite value"), "{err}");
}
