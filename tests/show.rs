//! `motornet show`: the inspection of every shipped model (figures written, only the documented
//! warnings), a user model with a deliberately slack muscle (the warning names it and the workspace
//! marks it), the moment arms of MotorNet's Figure 4, and the command line.

use motornet::show::{inspect, model_of, FibreStatus, Inspection, ShowOptions, View};
use std::path::PathBuf;
use std::process::Command;

fn opts() -> ShowOptions {
    ShowOptions {
        grid: 15,
        sweep: 41,
        ..ShowOptions::default()
    }
}

fn inspect_builtin(name: &str, overrides: &[String]) -> Inspection {
    let (mut plant, _) = motornet::models::load(name, false).unwrap();
    plant.apply_overrides(overrides).unwrap();
    let model = model_of(name).unwrap();
    inspect(&model, plant.as_ref(), &opts()).unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("motornet-show-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The muscles `motornet show` warns about in the shipped models, as docs/show.md documents them: real
/// properties of the published models (and of `wrap_elbow`, a geometry test whose muscle parameters are
/// not tuned).
const DOCUMENTED: [(&str, &[&str]); 10] = [
    ("arm26", &["biceps"]),
    ("arm26_rigid_thelen", &[]),
    (
        "arm26_rigid_mujoco",
        &["brachioradialis", "tricepslat", "biceps", "tricepslong"],
    ),
    ("arm26_compliant", &["biceps"]),
    ("pointmass24_relu", &[]),
    ("arm210_thelen_paths", &["brachioradialis"]),
    ("chain3_torque_rk4", &[]),
    ("wrap_elbow", &["triceps", "biarticular", "biceps_wrap"]),
    ("chain4", &[]),
    ("arm4", &["deltoid_post"]),
];

#[test]
fn every_shipped_model_is_drawn_with_only_its_documented_warnings() {
    let root = temp_dir("builtin");
    for (name, _) in motornet::models::BUILTIN {
        let ins = inspect_builtin(name, &[]);
        let dir = root.join(name);
        let files = motornet::plots::plot_model(&dir, &ins).unwrap();
        assert_eq!(files.len(), 8, "{name}");
        for f in &files {
            let len = std::fs::metadata(f).unwrap().len();
            assert!(len > 500, "{name}: {} is {len} bytes", f.display());
        }
        let expected = DOCUMENTED.iter().find(|d| d.0 == name).unwrap().1;
        let named: Vec<&str> = ins
            .muscle_names
            .iter()
            .map(String::as_str)
            .filter(|m| ins.warnings.iter().any(|w| w.contains(&format!("`{m}`"))))
            .collect();
        assert_eq!(named, expected, "{name}: {:#?}", ins.warnings);
        // Besides muscles, only chain4's gimbal lock (its unbounded three-hinge shoulder at sh_y = ±90°).
        let singular =
            |w: &String| w.starts_with("the mass matrix is singular") && w.contains("sh_y = ");
        assert!(
            ins.warnings
                .iter()
                .all(|w| w.starts_with("muscle `") || (name == "chain4" && singular(w))),
            "{name}: {:#?}",
            ins.warnings
        );
        assert_eq!(
            name == "chain4",
            ins.warnings.iter().any(singular),
            "{name}"
        );
        // The skeleton's endpoint is the plant's, and lies in the workspace drawn around it.
        let near = ins
            .workspace
            .endpoints
            .iter()
            .map(|p| {
                (0..3)
                    .map(|i| (p[i] - ins.endpoint[i]).powi(2))
                    .sum::<f64>()
                    .sqrt()
            })
            .fold(f64::INFINITY, f64::min);
        assert_eq!(
            ins.scene.endpoint,
            ins.scene.view.project(ins.endpoint),
            "{name}"
        );
        assert!(near < 0.1, "{name}: endpoint {near} m from the workspace");
        let (lo, hi) = ins.condition.unwrap();
        assert!(lo >= 1.0 - 1e-9 && hi < 1e4, "{name}: condition {lo}..{hi}");
    }
}

/// A spatial arm is drawn from the front, the side and the top (z up, opposite gravity), and each muscle's
/// isometric endpoint force is the least-squares solution of `Jᵀ F = τ` in space: checked against a
/// Jacobian taken here by central differences of the plant's endpoint, and the muscle's force from its
/// model's equations.
#[test]
fn a_spatial_arm_is_drawn_in_three_views_with_its_endpoint_forces_in_space() {
    let ins = inspect_builtin("arm4", &[]);
    let views: Vec<View> = std::iter::once(&ins.scene)
        .chain(&ins.side_views)
        .map(|s| s.view)
        .collect();
    let v = |across, up| View { across, up };
    assert_eq!(views, [v(0, 2), v(1, 2), v(0, 1)]);
    assert_eq!(ins.space_dim, 3);
    for s in std::iter::once(&ins.scene).chain(&ins.side_views) {
        // Two cylinders and a sphere drawn as outlines; bones from each body to what it carries.
        assert!(
            s.obstacles.is_empty() && s.outlines.len() >= 6,
            "{}",
            s.outlines.len()
        );
        assert!(s.bodies.iter().any(|b| b.1 != b.2));
        assert_eq!(s.endpoint, s.view.project(ins.endpoint));
    }

    let (plant, _) = motornet::models::load("arm4", false).unwrap();
    let model = model_of("arm4").unwrap();
    let info = plant.info().clone();
    let (dof, m) = (info.dof(), info.n_muscles());
    let params = plant.params().to_vec();
    let mut ws = plant.workspace();
    let state_at = |q: &[f64], ws: &mut motornet::runtime::Workspace| {
        let joint: Vec<f64> = q.iter().copied().chain(vec![0.0; dof]).collect();
        let mut s = vec![0.0; info.state_dim()];
        plant.reset(ws, &joint, &mut s).unwrap();
        s
    };
    let (cart, geo) = (info.cartesian().start, info.geometry().start);
    let here = state_at(&ins.posture, &mut ws);
    assert_eq!(ins.endpoint[..], here[cart..cart + 3]);
    let h = 1e-6;
    let jac: Vec<[f64; 3]> = (0..dof)
        .map(|k| {
            let (mut up, mut down) = (ins.posture.clone(), ins.posture.clone());
            up[k] += h;
            down[k] -= h;
            let (a, b) = (state_at(&up, &mut ws), state_at(&down, &mut ws));
            std::array::from_fn(|i| (a[cart + i] - b[cart + i]) / (2.0 * h))
        })
        .collect();
    let j = nalgebra::DMatrix::from_fn(3, dof, |r, k| jac[k][r]);
    let mut checked = 0;
    for i in 0..m {
        let mu = &model.muscles[i];
        let mp: Vec<f64> = mu.params.iter().map(|s| s.eval(&params)).collect();
        let f = motornet::dsl::muscles::muscle_terms(mu.kind, &mp, 1.0, here[geo + i], 0.0).force;
        let tau = nalgebra::DVector::from_fn(dof, |k, _| -f * here[geo + (2 + k) * m + i]);
        let expected = (&j * j.transpose()).lu().solve(&(&j * tau)).unwrap();
        let got = ins.endpoint_forces[i].expect("full rank at the posture");
        let scale = 1.0 + expected.norm();
        for r in 0..3 {
            assert!(
                (got[r] - expected[r]).abs() < 1e-5 * scale,
                "{}: {got:?} vs {expected}",
                ins.muscle_names[i]
            );
        }
        checked += usize::from(expected.norm() > 1.0);
    }
    assert!(checked >= 5, "{checked} muscles pull at the posture");
    let text = motornet::show::summary(&ins);
    assert!(
        text.contains("direction") && text.contains("toward ("),
        "{text}"
    );
}

const SLACK_ARM: &str = r#"
model slack_arm {
  timestep 0.01 s;
  body upper_arm { mass 1.82 kg; com (0.135, 0) m; inertia 0.051 kg m^2; length 0.309 m; }
  body forearm   { mass 1.43 kg; com (0.165, 0) m; inertia 0.057 kg m^2; length 0.333 m; }
  joint shoulder: world -> upper_arm { range 0 deg .. 135 deg; }
  joint elbow: upper_arm -> forearm  { range 0 deg .. 155 deg; }
  endpoint forearm;
  muscle flexor: RigidTendonHillMuscle {
    max_force 500 N; optimal_length 0.10 m; tendon_length 0.17 m;
    path upper_arm (0.05, 0.02) -> forearm (0.04, 0.01);
  }
  // Its tendon is longer than the whole path: slack at every posture.
  muscle slacker: RigidTendonHillMuscle {
    max_force 500 N; optimal_length 0.10 m; tendon_length 1.00 m;
    path world (-0.05, -0.03) -> forearm (-0.03, -0.01);
  }
}
"#;

#[test]
fn a_slack_muscle_is_named_in_a_warning_and_marked_across_the_workspace() {
    let dir = temp_dir("slack");
    let file = dir.join("slack_arm.mnet");
    std::fs::write(&file, SLACK_ARM).unwrap();
    let spec = file.to_str().unwrap();
    let (plant, _) = motornet::models::load(spec, false).unwrap();
    let model = model_of(spec).unwrap();
    let ins = inspect(&model, plant.as_ref(), &opts()).unwrap();
    let slack: Vec<&String> = ins
        .warnings
        .iter()
        .filter(|w| w.contains("`slacker` is slack"))
        .collect();
    assert_eq!(slack.len(), 1, "{:#?}", ins.warnings);
    assert!(slack[0].contains("slacker.tendon_length"), "{}", slack[0]);
    assert!(
        ins.warnings.iter().all(|w| !w.contains("`flexor`")),
        "{:#?}",
        ins.warnings
    );
    // Every posture of the workspace is marked slack for it (the black crosses of the figure), none for
    // the other muscle.
    let k = ins
        .muscle_names
        .iter()
        .position(|m| m == "slacker")
        .unwrap();
    assert!(ins.workspace.status[k]
        .iter()
        .all(|s| *s == FibreStatus::Slack));
    assert!(ins.workspace.status[1 - k]
        .iter()
        .all(|s| *s != FibreStatus::Slack));
    // The same muscle, fixed by an override, raises no warning.
    let (mut plant, _) = motornet::models::load(spec, false).unwrap();
    plant
        .apply_overrides(&[
            "slacker.tendon_length=0.17".into(),
            "slacker.optimal_length=0.15".into(),
        ])
        .unwrap();
    let fixed = inspect(&model, plant.as_ref(), &opts()).unwrap();
    assert!(
        fixed.warnings.iter().all(|w| !w.contains("`slacker`")),
        "{:#?}",
        fixed.warnings
    );
    // And an override that makes a shipped muscle slack is caught too.
    let ins = inspect_builtin("arm26", &["deltoid.tendon_length=0.3".into()]);
    assert!(
        ins.warnings
            .iter()
            .any(|w| w.contains("`deltoid` is slack")),
        "{:#?}",
        ins.warnings
    );
}

/// `[muscle][sample]` moment arms of coordinate `coord`.
fn moment_arms(ins: &Inspection, coord: usize, muscle: &str) -> Vec<f64> {
    let i = ins.muscle_names.iter().position(|m| m == muscle).unwrap();
    ins.sweeps[coord].moment_arm[i].clone()
}

#[test]
fn figure_4_moment_arms_of_the_lumped_and_the_via_point_arm() {
    // arm26 (lumped): flexors shorten as the joint flexes (dL/dq < 0), extensors lengthen, over the
    // whole range; the elbow moment arms are linear in the angle, so their magnitudes are monotonic.
    let lumped = inspect_builtin("arm26", &[]);
    for (coord, flexors, extensors) in [
        (
            0,
            &["pectoralis", "biceps"][..],
            &["deltoid", "tricepslong"][..],
        ),
        (
            1,
            &["brachioradialis", "biceps"],
            &["tricepslat", "tricepslong"],
        ),
    ] {
        for m in flexors {
            assert!(
                moment_arms(&lumped, coord, m).iter().all(|&v| v < 0.0),
                "{m}"
            );
        }
        for m in extensors {
            assert!(
                moment_arms(&lumped, coord, m).iter().all(|&v| v > 0.0),
                "{m}"
            );
        }
    }
    let monotonic =
        |v: &[f64]| v.windows(2).all(|w| w[1] <= w[0]) || v.windows(2).all(|w| w[1] >= w[0]);
    assert!(monotonic(&moment_arms(&lumped, 1, "biceps")));
    // arm210 (via points): the elbow flexors' moment arms peak inside the range and fall toward zero at
    // full flexion, as a real biceps does; the long triceps' shoulder moment arm changes sign inside
    // the shoulder's range.
    let via = inspect_builtin("arm210_thelen_paths", &[]);
    for m in ["biceps", "brachioradialis"] {
        let v = moment_arms(&via, 1, m);
        assert!(v.iter().all(|&x| x <= 1e-12), "{m}: {v:?}");
        let (k, peak) = v
            .iter()
            .enumerate()
            .fold((0, 0.0), |b, (k, &x)| if x < b.1 { (k, x) } else { b });
        assert!(
            k > 5 && k + 5 < v.len(),
            "{m}: peak at sample {k} of {}",
            v.len()
        );
        assert!(v[v.len() - 1].abs() < 0.6 * peak.abs(), "{m}: {v:?}");
        assert!(!monotonic(&v), "{m}");
    }
    let t = moment_arms(&via, 0, "tricepslong");
    let changes = t.windows(2).filter(|w| w[0] * w[1] < 0.0).count();
    assert_eq!(changes, 1, "{t:?}");
    assert!(t[0] > 0.0 && t[t.len() - 1] < 0.0, "{t:?}");
}

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

#[test]
fn the_command_writes_figures_and_prints_warnings_and_refuses_bad_input() {
    let dir = temp_dir("cli");
    let out = dir.join("arm");
    let (code, stdout, stderr) = motornet(&[
        "show",
        "arm26",
        "--out",
        out.to_str().unwrap(),
        "--grid",
        "11",
        "--set",
        "deltoid.tendon_length=0.3",
        "--joint",
        "0.5,1.0",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("mass matrix condition number"), "{stdout}");
    assert!(
        stdout.contains("posture: shoulder = 0.500, elbow = 1.000"),
        "{stdout}"
    );
    assert!(
        stderr.contains("warning: muscle `deltoid` is slack"),
        "{stderr}"
    );
    for stem in ["skeleton", "moment_arms", "fibre_lengths", "muscle_model"] {
        for ext in ["png", "svg"] {
            assert!(out.join(format!("{stem}.{ext}")).is_file(), "{stem}.{ext}");
        }
    }
    let summary = std::fs::read_to_string(out.join("summary.txt")).unwrap();
    assert!(summary.contains("warnings:") && summary.contains("`deltoid`"));

    for (args, message) in [
        (&["--joint", "0.5"][..], "expected 2 positions"),
        (&["--joint", "0.5,nan"], "not a finite number"),
        (&["--set", "nosuch.max_force=1"], "nosuch"),
        (&["--grid", "1"], "--grid 1"),
    ] {
        let mut all = vec!["show", "arm26", "--out", out.to_str().unwrap()];
        all.extend_from_slice(args);
        let (code, _, stderr) = motornet(&all);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let (code, _, stderr) = motornet(&["show", "no_such_model", "--out", out.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no_such_model"), "{stderr}");
}

#[test]
fn simulate_animates_the_effector_with_its_target_and_force() {
    let dir = temp_dir("animate");
    let page = dir.join("reach.html");
    let csv = dir.join("reach.csv");
    let (code, _, stderr) = motornet(&[
        "simulate",
        "wrap_elbow",
        "--steps",
        "30",
        "--excitation",
        "triceps=0.6",
        "--endpoint-load",
        "3,-2",
        "--target",
        "0.1,0.4",
        "--animate",
        page.to_str().unwrap(),
        "-o",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.starts_with("<!DOCTYPE html>")
            && html.contains("<svg")
            && html.contains("id=\"scrub\"")
    );
    assert!(!html.contains("src=\"http"), "the page is self-contained");
    let start = html.find("const frames = ").unwrap() + "const frames = ".len();
    let end = start + html[start..].find(";\n").unwrap();
    let frames: serde_json::Value = serde_json::from_str(&html[start..end]).unwrap();
    let frames = frames.as_array().unwrap();
    assert_eq!(frames.len(), 31);
    // The endpoint of every frame is the simulation's (the CSV's x, y columns), the target is drawn, the
    // force is applied during the steps and its arrow points along it.
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let (ix, iy) = (
        header.iter().position(|c| *c == "x").unwrap(),
        header.iter().position(|c| *c == "y").unwrap(),
    );
    for (t, line) in lines.enumerate() {
        let row: Vec<f64> = line
            .split(',')
            .map(|v| v.parse().unwrap_or(f64::NAN))
            .collect();
        let e = &frames[t]["e"];
        assert!((e[0].as_f64().unwrap() - row[ix]).abs() < 1e-4, "step {t}");
        assert!((e[1].as_f64().unwrap() - row[iy]).abs() < 1e-4, "step {t}");
        assert_eq!(frames[t]["g"], serde_json::json!([0.1, 0.4]));
    }
    let f = &frames[10];
    let (e, tip) = (&f["e"], &f["f"]);
    let d = [
        tip[0].as_f64().unwrap() - e[0].as_f64().unwrap(),
        tip[1].as_f64().unwrap() - e[1].as_f64().unwrap(),
    ];
    assert!(
        d[0] > 0.0 && d[1] < 0.0 && (d[0] / d[1] + 1.5).abs() < 1e-3,
        "{d:?}"
    );
    assert!((f["fn"].as_f64().unwrap() - 13f64.sqrt()).abs() < 1e-4);
    // Three muscle paths, the triceps more active than the others by the end.
    let a = frames[30]["a"].as_array().unwrap();
    assert_eq!(frames[30]["m"].as_array().unwrap().len(), 3);
    assert!(a[0].as_f64().unwrap() > 0.5 && a[1].as_f64().unwrap() < 0.1);

    let (code, _, stderr) = motornet(&[
        "simulate",
        "arm26",
        "--animate",
        page.to_str().unwrap(),
        "--target",
        "0.1",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--target: expected `x,y`"), "{stderr}");
}

/// Decodes a GIF into RGBA frames with their delays (centiseconds).
fn decode_gif(path: &std::path::Path) -> (u16, u16, Vec<(Vec<u8>, u16)>) {
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::RGBA);
    let mut decoder = options
        .read_info(std::fs::File::open(path).unwrap())
        .unwrap();
    let (w, h) = (decoder.width(), decoder.height());
    let mut frames = Vec::new();
    while let Some(f) = decoder.read_next_frame().unwrap() {
        assert_eq!((f.left, f.top, f.width, f.height), (0, 0, w, h));
        frames.push((f.buffer.to_vec(), f.delay));
    }
    (w, h, frames)
}

#[test]
fn simulate_animates_as_a_gif_and_refuses_bad_paths() {
    let dir = temp_dir("animate-gif");
    let gif_path = dir.join("reach.gif");
    let args = |out: &str| {
        vec![
            "simulate".to_string(),
            "wrap_elbow".into(),
            "--steps".into(),
            "30".into(),
            "--excitation".into(),
            "triceps=0.6".into(),
            "--endpoint-load".into(),
            "3,-2".into(),
            "--target".into(),
            "0.1,0.4".into(),
            "--animate".into(),
            out.into(),
        ]
    };
    let run = |out: &str| {
        let a = args(out);
        motornet(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let (code, _, stderr) = run(gif_path.to_str().unwrap());
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("31 frames"), "{stderr}");
    let (w, h, frames) = decode_gif(&gif_path);
    assert!(w >= 300 && h >= 300, "{w}×{h}");
    assert_eq!(frames.len(), 31, "one frame per state");
    // 10 ms steps, shown at the shortest delay viewers honour; the last frame held.
    assert!(frames[..30].iter().all(|f| f.1 == 2));
    assert_eq!(frames[30].1, 100);
    let count = |rgba: &[u8], rgb: [u8; 3]| rgba.chunks_exact(4).filter(|p| p[..3] == rgb).count();
    let centroid = |rgba: &[u8], rgb: [u8; 3]| pixel_centroid(rgba, w, rgb, |_, _| true, 1.0);
    let (force, endpoint, body, target) = (
        [0xd6, 0x27, 0x28],
        [0xc8, 0x1e, 0x1e],
        [0x46, 0x46, 0x46],
        [0xca, 0xe7, 0xca],
    );
    for (t, (rgba, _)) in frames.iter().enumerate() {
        // Not blank: the bodies, the target and the endpoint are drawn in every frame, the force arrow
        // while the load is applied (every step but the last state).
        let white = count(rgba, [255, 255, 255]);
        assert!(
            white < rgba.len() / 4 * 98 / 100,
            "frame {t} is nearly blank"
        );
        assert!(count(rgba, body) > 200, "frame {t}: no bodies");
        assert!(count(rgba, target) > 100, "frame {t}: no target");
        assert!(count(rgba, endpoint) > 20, "frame {t}: no endpoint");
        assert_eq!(count(rgba, force) > 50, t < 30, "frame {t}: force arrow");
    }
    // The endpoint moves (pushed right and down, to +x and −y: right and down in the image), and the
    // arrow points the load's way from it.
    let (e0, e30) = (
        centroid(&frames[0].0, endpoint),
        centroid(&frames[30].0, endpoint),
    );
    assert!((e30.0 - e0.0).hypot(e30.1 - e0.1) > 3.0, "{e0:?} → {e30:?}");
    let (e10, f10) = (
        centroid(&frames[10].0, endpoint),
        centroid(&frames[10].0, force),
    );
    assert!(f10.0 > e10.0 && f10.1 > e10.1, "arrow {f10:?} from {e10:?}");

    // A file that cannot be written, and a name that says no format, are clear errors.
    let missing = dir.join("no_such_dir").join("reach.gif");
    let (code, _, stderr) = run(missing.to_str().unwrap());
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("cannot write") && stderr.contains("no_such_dir"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let (code, _, stderr) = run(dir.join("reach.png").to_str().unwrap());
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("reach.png") && stderr.contains(".html") && stderr.contains(".gif"),
        "{stderr}"
    );
    assert!(!dir.join("reach.png").exists());
    let _ = std::fs::remove_dir_all(dir);
}

/// A spatial effector is animated in its front view (x across, z up for arm4): an upward endpoint load
/// (+z) draws an arrow straight up from the endpoint; the target takes three coordinates.
#[test]
fn a_spatial_effector_is_animated_in_its_front_view() {
    let dir = temp_dir("animate-3d");
    let gif = dir.join("arm4.gif");
    let run = |target: &str, out: &std::path::Path| {
        motornet(&[
            "simulate",
            "arm4",
            "--steps",
            "20",
            "--endpoint-load",
            "0,0,40",
            "--target",
            target,
            "--animate",
            out.to_str().unwrap(),
        ])
    };
    let (code, _, stderr) = run("0.1,0.1,-0.3", &gif);
    assert_eq!(code, 0, "{stderr}");
    let (w, _, frames) = decode_gif(&gif);
    let (force, endpoint) = ([0xd6, 0x27, 0x28], [0xc8, 0x1e, 0x1e]);
    let centroid = |rgba: &[u8], rgb: [u8; 3]| pixel_centroid(rgba, w, rgb, |_, _| true, 1.0);
    // The arrow's pixels near the endpoint (the legend's swatch of one muscle has the same red).
    let e = centroid(&frames[5].0, endpoint);
    let near = |x: f64, y: f64| (x - e.0).abs() < 60.0 && (y - e.1).abs() < 120.0;
    let f = pixel_centroid(&frames[5].0, w, force, near, 31.0);
    assert!(
        f.1 < e.1 - 5.0 && (f.0 - e.0).abs() < 3.0,
        "arrow {f:?} from {e:?}"
    );
    // A planar target for a spatial model is refused, naming what it expects.
    let (code, _, stderr) = run("0.1,0.1", &dir.join("bad.gif"));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("`x,y,z`") && !stderr.contains("panicked"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// The mean position of the pixels of colour `rgb` in an RGBA image `w` pixels wide, among those `keep`
/// accepts (x, y); at least `min` of them must be there.
fn pixel_centroid(
    rgba: &[u8],
    w: u16,
    rgb: [u8; 3],
    keep: impl Fn(f64, f64) -> bool,
    min: f64,
) -> (f64, f64) {
    let (mut sx, mut sy, mut n) = (0.0, 0.0, 0.0);
    for (i, p) in rgba.chunks_exact(4).enumerate() {
        let (x, y) = ((i % w as usize) as f64, (i / w as usize) as f64);
        if p[..3] == rgb && keep(x, y) {
            (sx, sy, n) = (sx + x, sy + y, n + 1.0);
        }
    }
    assert!(n >= min, "{n} pixels of {rgb:?}, expected at least {min}");
    (sx / n, sy / n)
}
