//! `motornet eval --export` and `motornet analyze` end to end: a small run is trained, its evaluation
//! exported as `.npz` (read back here with the same crates numpy's format is written with) and its
//! activity analysed.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

fn motornet(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_motornet"))
        .args(args)
        .output()
        .expect("run motornet");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A run of a few batches of a small network, trained once for every test of this file.
fn small_run() -> PathBuf {
    static RUN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    RUN.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("motornet-analysis-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("small.toml");
        std::fs::write(
            &config,
            "[optim]\nhidden = 12\nbatch_size = 4\n[env]\nepisode_duration = 0.2\n\
             vision_delay = 0.03\n[run]\neval_episodes = 6\n",
        )
        .unwrap();
        let run = dir.join("run");
        let (ok, out, err) = motornet(&[
            "train",
            "--config",
            config.to_str().unwrap(),
            "--batches",
            "3",
            "--out",
            run.to_str().unwrap(),
            "--quiet",
        ]);
        assert!(ok, "{out}{err}");
        run
    })
    .clone()
}

/// One array of an `.npz` archive: name, shape, values as f64, or the strings of a unicode array.
type NamedArray = (String, Vec<u64>, Vec<f64>, Vec<String>);

fn read_npz(path: &Path) -> Vec<NamedArray> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = Vec::new();
    for i in 0..zip.len() {
        let mut member = zip.by_index(i).unwrap();
        let name = member.name().unwrap().trim_end_matches(".npy").to_string();
        let mut bytes = Vec::new();
        member.read_to_end(&mut bytes).unwrap();
        let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
        let shape = npy.shape().to_vec();
        let descr = npy.header().dtype().descr().trim_matches('\'').to_string();
        let (numbers, strings) = if descr.starts_with("<U") {
            (Vec::new(), npy.into_vec::<String>().unwrap())
        } else if descr == "<i8" {
            let v = npy.into_vec::<i64>().unwrap();
            (v.into_iter().map(|x| x as f64).collect(), Vec::new())
        } else {
            assert_eq!(descr, "<f8", "{name}");
            (npy.into_vec::<f64>().unwrap(), Vec::new())
        };
        out.push((name, shape, numbers, strings));
    }
    out
}

#[test]
fn eval_exports_every_trial_as_named_numpy_arrays() {
    let run = small_run();
    let (ok, out, err) = motornet(&["eval", run.to_str().unwrap(), "--export", "--episodes", "5"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("eval.npz"), "{out}");
    let arrays = read_npz(&run.join("eval.npz"));
    let get = |n: &str| {
        arrays
            .iter()
            .find(|a| a.0 == n)
            .unwrap_or_else(|| panic!("no array `{n}`"))
    };
    // 5 trials of 20 steps (0.2 s at 10 ms), 12 units, arm26: 6 muscles, 16 observations.
    assert_eq!(get("hidden").1, [5, 21, 12]);
    assert_eq!(get("observations").1, [5, 21, 16]);
    assert_eq!(get("actions").1, [5, 20, 6]);
    assert_eq!(get("muscle").1, [5, 21, 7, 6]);
    assert_eq!(get("cartesian").1, [5, 21, 4]);
    assert_eq!(get("dt").1, Vec::<u64>::new());
    assert_eq!(get("go_step").2, vec![-1.0; 5]);
    assert_eq!(get("muscle_names").3.len(), 6);
    assert_eq!(get("observation_names").3[2], "vision x");
    // The arrays agree with one another as the environment defines them: the goal is the target, vision
    // is the fingertip three delay steps back (a 30 ms delay reads state max(0, t − 2)), the initial
    // hidden state is zero and actions are excitations in (0, 1).
    let (obs, cart, target) = (
        &get("observations").2,
        &get("cartesian").2,
        &get("target").2,
    );
    for b in 0..5 {
        for t in 0..21 {
            let o = &obs[(b * 21 + t) * 16..][..16];
            assert_eq!(o[..2], target[b * 2..b * 2 + 2]);
            let seen = t.saturating_sub(2);
            assert_eq!(
                o[2..4],
                cart[(b * 21 + seen) * 4..][..2],
                "trial {b} step {t}"
            );
        }
        assert!(get("hidden").2[b * 21 * 12..][..12]
            .iter()
            .all(|&h| h == 0.0));
    }
    assert!(get("actions").2.iter().all(|&a| a > 0.0 && a < 1.0));
    // The evaluation itself still ran: plots and the metric.
    assert!(out.contains("evaluation metric"), "{out}");
}

#[test]
fn analyze_writes_tuning_preferred_directions_and_components() {
    let run = small_run();
    let out_dir = run.join("analysis-test");
    let (ok, out, err) = motornet(&[
        "analyze",
        run.to_str().unwrap(),
        "--episodes",
        "24",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("units directionally tuned"), "{out}");
    for stem in [
        "pca_trajectories",
        "preferred_directions",
        "tuning",
        "activity_by_direction",
    ] {
        for ext in ["png", "svg"] {
            let p = out_dir.join(format!("{stem}.{ext}"));
            assert!(
                std::fs::metadata(&p).unwrap().len() > 1000,
                "{}",
                p.display()
            );
        }
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("analysis.json")).unwrap())
            .unwrap();
    assert_eq!(json["episodes"], 24);
    let units = json["units"].as_array().unwrap();
    assert_eq!(units.len(), 12);
    let tuned = units
        .iter()
        .filter(|u| u["r2"].as_f64().unwrap() >= 0.2 && u["depth"].as_f64().unwrap() > 0.0)
        .count();
    assert_eq!(json["tuned_units"].as_u64().unwrap() as usize, tuned);
    assert_eq!(
        json["preferred_directions"]["count"].as_u64().unwrap() as usize,
        tuned
    );
    let explained: Vec<f64> = json["explained_variance"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!(
        explained.windows(2).all(|w| w[0] >= w[1]) && explained.iter().sum::<f64>() <= 1.0 + 1e-12
    );
}

#[test]
fn bad_analysis_requests_are_refused_clearly() {
    let run = small_run();
    let run = run.to_str().unwrap();
    let (ok, _, err) = motornet(&["analyze", run, "--bins", "0"]);
    assert!(!ok && err.contains("--bins 0"), "{err}");
    let (ok, _, err) = motornet(&["analyze", run, "--episodes", "0"]);
    assert!(!ok && err.contains("--episodes 0"), "{err}");
    let (ok, _, err) = motornet(&["eval", run, "--episodes", "3"]);
    assert!(!ok && err.contains("--export"), "{err}");
    let (ok, _, err) = motornet(&["analyze", "/nonexistent/run"]);
    assert!(!ok && err.contains("/nonexistent/run"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// The probe options: centre-out reaches from one posture, the tuning over a window of each reach.
#[test]
fn analyze_probes_with_centre_out_reaches_over_a_window() {
    let run = small_run();
    let out_dir = run.join("analysis-centre-out");
    let (ok, out, err) = motornet(&[
        "analyze",
        run.to_str().unwrap(),
        "--centre-out",
        "0.8,1.6",
        "--targets",
        "8",
        "--episodes",
        "8",
        "--window",
        "5",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(ok, "{out}{err}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("analysis.json")).unwrap())
            .unwrap();
    assert_eq!(json["window_steps"], 5);
    assert_eq!(json["episodes"], 8);
    let (ok, _, err) = motornet(&["analyze", run.to_str().unwrap(), "--window", "0"]);
    assert!(!ok && err.contains("--window 0"), "{err}");
    let (ok, _, err) = motornet(&["analyze", run.to_str().unwrap(), "--targets", "8"]);
    assert!(!ok && err.contains("--centre-out"), "{err}");
}
