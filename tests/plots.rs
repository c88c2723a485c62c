//! Tests for `motornet::plots`: every plot is generated from synthetic data (and from empty and
//! non-finite data) into a temporary directory, and the files are checked.
//!
//! Set `MOTORNET_KEEP_PLOTS=1` to keep the output directories (their paths are printed) so the
//! images can be looked at.

use std::f64::consts::PI;
use std::path::{Path, PathBuf};

use motornet::plots::{plot_activations, plot_loss, plot_reaches, plot_speed, PlotError};

/// A temporary output directory, removed on drop unless `MOTORNET_KEEP_PLOTS` is set.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "motornet-plots-{name}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("MOTORNET_KEEP_PLOTS").is_some() {
            eprintln!("kept plots in {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Decoded PNG: (width, height, RGB(A) pixels, bytes per pixel).
fn decode_png(path: &Path) -> (u32, u32, Vec<u8>, usize) {
    let file = std::fs::File::open(path).unwrap();
    let decoder = png::Decoder::new(std::io::BufReader::new(file));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    let bpp = info.color_type.samples();
    (info.width, info.height, buf, bpp)
}

/// Checks the two files written for `stem` and returns the decoded PNG's pixels.
fn check_outputs(dir: &Path, stem: &str, written: &[PathBuf]) -> Vec<[u8; 3]> {
    let png_path = dir.join(format!("{stem}.png"));
    let svg_path = dir.join(format!("{stem}.svg"));
    assert_eq!(written, [png_path.clone(), svg_path.clone()]);

    let png = std::fs::read(&png_path).unwrap();
    assert!(png.len() > 5_000, "{stem}.png is only {} bytes", png.len());
    assert_eq!(
        &png[..8],
        b"\x89PNG\r\n\x1a\n",
        "{stem}.png lacks the PNG signature"
    );

    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(svg.len() > 400, "{stem}.svg is only {} bytes", svg.len());
    let start = svg.find("<svg").expect("no <svg element");
    assert!(svg[..start].trim().is_empty() || svg[..start].trim_start().starts_with("<?xml"));
    assert!(
        svg.trim_end().ends_with("</svg>"),
        "{stem}.svg is not closed"
    );
    assert!(svg.contains("<text"), "{stem}.svg has no text");
    assert_eq!(svg.matches('<').count(), svg.matches('>').count());

    // No temporary files left behind.
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.ends_with(".tmp"), "temporary file {name} left behind");
    }

    let (w, h, pixels, bpp) = decode_png(&png_path);
    assert!(w >= 600 && h >= 500, "{stem}.png is {w}x{h}");
    let pixels: Vec<[u8; 3]> = pixels.chunks(bpp).map(|p| [p[0], p[1], p[2]]).collect();
    let distinct: std::collections::HashSet<_> = pixels.iter().collect();
    // Anti-aliased text alone gives many grey levels; a blank image has one colour.
    assert!(distinct.len() > 20, "{stem}.png looks blank");
    pixels
}

/// Whether the image has a visible amount of (nearly) colour `c`; lines are anti-aliased, so
/// few pixels have exactly the drawing colour.
fn has_colour(pixels: &[[u8; 3]], c: [u8; 3]) -> bool {
    let near = |p: &[u8; 3]| {
        p.iter()
            .zip(c)
            .all(|(&a, b)| (i32::from(a) - i32::from(b)).abs() <= 30)
    };
    pixels.iter().filter(|p| near(p)).count() >= 100
}

const TAB_BLUE: [u8; 3] = [31, 119, 180];
const TAB_ORANGE: [u8; 3] = [255, 127, 14];

/// Centre-out reaches: (paths, targets, starts, speeds) with `steps` steps of `dt`.
#[allow(clippy::type_complexity)]
fn synthetic_reaches(
    n: usize,
    steps: usize,
    dt: f64,
) -> (
    Vec<Vec<[f64; 2]>>,
    Vec<[f64; 2]>,
    Vec<[f64; 2]>,
    Vec<Vec<f64>>,
) {
    let start = [0.05, 0.45];
    let mut paths = Vec::new();
    let mut targets = Vec::new();
    let mut speeds = Vec::new();
    for i in 0..n {
        let angle = 2.0 * PI * i as f64 / n as f64;
        let target = [start[0] + 0.1 * angle.cos(), start[1] + 0.1 * angle.sin()];
        let path: Vec<[f64; 2]> = (0..steps)
            .map(|k| {
                let t = (k as f64 / (steps - 1) as f64 * (1.25 + 0.06 * i as f64)).min(1.0);
                // Minimum-jerk progress with a sideways bow that vanishes at both ends.
                let s = 10.0 * t.powi(3) - 15.0 * t.powi(4) + 6.0 * t.powi(5);
                let bow = 0.012 * (PI * s).sin();
                [
                    start[0] + s * (target[0] - start[0]) - bow * angle.sin(),
                    start[1] + s * (target[1] - start[1]) + bow * angle.cos(),
                ]
            })
            .collect();
        let speed = (0..steps)
            .map(|k| {
                let (a, b) = (path[k.saturating_sub(1)], path[(k + 1).min(steps - 1)]);
                let span = ((k + 1).min(steps - 1) - k.saturating_sub(1)) as f64 * dt;
                ((b[0] - a[0]).powi(2) + (b[1] - a[1]).powi(2)).sqrt() / span
            })
            .collect();
        paths.push(path);
        targets.push(target);
        speeds.push(speed);
    }
    (paths, targets, vec![start; n], speeds)
}

#[test]
fn loss_plot() {
    let tmp = TempDir::new("loss");
    let loss: Vec<(f64, f64)> = (0..2000)
        .map(|b| {
            let b = b as f64;
            let noise = 1.0 + 0.25 * (b * 1.7).sin() * (b * 0.31).cos();
            (b, (0.8 * (-b / 300.0).exp() + 0.004) * noise)
        })
        .collect();
    let metric: Vec<(f64, f64)> = (0..=20)
        .map(|i| {
            let b = i as f64 * 100.0;
            (b, 0.9 * (-b / 350.0).exp() + 0.006)
        })
        .collect();
    let series: [(&str, &[(f64, f64)]); 2] = [
        ("training loss", &loss),
        ("evaluation position error (m)", &metric),
    ];
    let written = plot_loss(
        &tmp.0,
        "loss_log",
        "Training loss (log scale)",
        &series,
        true,
    )
    .unwrap();
    let colours = check_outputs(&tmp.0, "loss_log", &written);
    assert!(has_colour(&colours, TAB_BLUE) && has_colour(&colours, TAB_ORANGE));

    let written = plot_loss(&tmp.0, "loss_lin", "Training loss", &series[..1], false).unwrap();
    check_outputs(&tmp.0, "loss_lin", &written);

    // Writing again replaces the files.
    let written = plot_loss(&tmp.0, "loss_lin", "Training loss", &series[..1], false).unwrap();
    check_outputs(&tmp.0, "loss_lin", &written);
}

#[test]
fn reach_and_speed_plots() {
    let tmp = TempDir::new("reaches");
    let dt = 0.01;
    let (paths, targets, starts, speeds) = synthetic_reaches(8, 100, dt);
    let written = plot_reaches(
        &tmp.0,
        "reaches",
        "Centre-out reaches",
        &paths,
        &targets,
        &starts,
    )
    .unwrap();
    let colours = check_outputs(&tmp.0, "reaches", &written);
    assert!(has_colour(&colours, TAB_BLUE) && has_colour(&colours, TAB_ORANGE));

    let written = plot_speed(&tmp.0, "speed", "Endpoint speed", dt, &speeds).unwrap();
    let colours = check_outputs(&tmp.0, "speed", &written);
    assert!(has_colour(&colours, TAB_BLUE) && has_colour(&colours, TAB_ORANGE));

    // Beyond 10 reaches, colours continue with hues a golden angle apart.
    let (paths, targets, starts, _) = synthetic_reaches(24, 60, dt);
    let written =
        plot_reaches(&tmp.0, "reaches24", "24 reaches", &paths, &targets, &starts).unwrap();
    check_outputs(&tmp.0, "reaches24", &written);
}

#[test]
fn activation_plot() {
    let tmp = TempDir::new("activations");
    let names: Vec<String> = [
        "shoulder flexor",
        "shoulder extensor",
        "elbow flexor",
        "elbow extensor",
        "biarticular flexor",
        "biarticular extensor",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let steps = 120;
    let activations: Vec<Vec<Vec<f64>>> = (0..8)
        .map(|r| {
            (0..steps)
                .map(|k| {
                    let t = k as f64 * 0.01;
                    (0..names.len())
                        .map(|m| {
                            let phase = 2.0 * PI * (r as f64 / 8.0 + m as f64 / 6.0);
                            let burst = (-(t - 0.25).powi(2) / 0.006).exp();
                            (0.05
                                + 0.6 * burst * (0.5 + 0.5 * phase.cos())
                                + 0.1 * (1.0 - (-t / 0.05).exp()))
                            .clamp(0.0, 1.0)
                        })
                        .collect()
                })
                .collect()
        })
        .collect();
    let written = plot_activations(
        &tmp.0,
        "activations",
        "Muscle activations",
        0.01,
        &names,
        &activations,
        4,
    )
    .unwrap();
    let colours = check_outputs(&tmp.0, "activations", &written);
    assert!(has_colour(&colours, TAB_BLUE) && has_colour(&colours, TAB_ORANGE));

    // Fewer names than muscles, and a single muscle.
    let written = plot_activations(
        &tmp.0,
        "activations_unnamed",
        "Unnamed muscles",
        0.01,
        &names[..2],
        &activations,
        3,
    )
    .unwrap();
    check_outputs(&tmp.0, "activations_unnamed", &written);
    let one: Vec<Vec<Vec<f64>>> = activations
        .iter()
        .map(|r| r.iter().map(|s| vec![s[0]]).collect())
        .collect();
    let written = plot_activations(
        &tmp.0,
        "activations_one",
        "One muscle",
        0.01,
        &names[..1],
        &one,
        8,
    )
    .unwrap();
    check_outputs(&tmp.0, "activations_one", &written);
}

#[test]
fn empty_inputs_give_plots_with_a_note() {
    let tmp = TempDir::new("empty");
    let d = &tmp.0;
    let w = plot_loss(d, "loss", "No series", &[], false).unwrap();
    check_outputs(d, "loss", &w);
    let empty: &[(f64, f64)] = &[];
    let w = plot_loss(d, "loss_log", "Empty series", &[("loss", empty)], true).unwrap();
    check_outputs(d, "loss_log", &w);
    let w = plot_reaches(d, "reaches", "No reaches", &[], &[], &[]).unwrap();
    check_outputs(d, "reaches", &w);
    let w = plot_reaches(d, "reaches_empty_path", "Empty path", &[vec![]], &[], &[]).unwrap();
    check_outputs(d, "reaches_empty_path", &w);
    let w = plot_speed(d, "speed", "No speeds", 0.01, &[]).unwrap();
    check_outputs(d, "speed", &w);
    let w = plot_speed(d, "speed_empty", "Empty speeds", 0.01, &[vec![], vec![]]).unwrap();
    check_outputs(d, "speed_empty", &w);
    let w = plot_activations(d, "act", "No activations", 0.01, &[], &[], 4).unwrap();
    check_outputs(d, "act", &w);
    let names = vec!["a".to_string(), "b".to_string()];
    let w = plot_activations(d, "act_names", "Names only", 0.01, &names, &[], 4).unwrap();
    check_outputs(d, "act_names", &w);
    let w = plot_activations(
        d,
        "act_zero",
        "max_reaches = 0",
        0.01,
        &names,
        &[vec![vec![0.5; 2]; 10]],
        0,
    )
    .unwrap();
    check_outputs(d, "act_zero", &w);
}

#[test]
fn non_finite_values_are_skipped() {
    let tmp = TempDir::new("nonfinite");
    let d = &tmp.0;
    let (nan, inf) = (f64::NAN, f64::INFINITY);

    let loss: Vec<(f64, f64)> = (0..200)
        .map(|b| {
            let v = match b {
                50..=59 => nan,
                100 => inf,
                120 => -inf,
                130 => 0.0,
                _ => 1.0 / (1.0 + b as f64),
            };
            (b as f64, v)
        })
        .chain([(nan, 0.5), (inf, 0.5)])
        .collect();
    let all_nan = [(0.0, nan), (1.0, nan)];
    let series: [(&str, &[(f64, f64)]); 2] = [("loss", &loss), ("metric (all NaN)", &all_nan)];
    let w = plot_loss(d, "loss_log", "Loss with gaps", &series, true).unwrap();
    check_outputs(d, "loss_log", &w);
    let w = plot_loss(d, "loss_lin", "Loss with gaps", &series, false).unwrap();
    check_outputs(d, "loss_lin", &w);
    let w = plot_loss(d, "loss_nan", "Only NaN", &series[1..], true).unwrap();
    check_outputs(d, "loss_nan", &w);

    let dt = 0.01;
    let (mut paths, mut targets, mut starts, mut speeds) = synthetic_reaches(4, 50, dt);
    paths[0][10] = [nan, 0.4];
    paths[1][20] = [0.1, inf];
    targets[2] = [nan, nan];
    starts[3] = [inf, 0.0];
    speeds[0][5] = nan;
    speeds[1][6] = inf;
    speeds[2] = vec![nan; 50];
    let w = plot_reaches(d, "reaches", "Reaches with gaps", &paths, &targets, &starts).unwrap();
    check_outputs(d, "reaches", &w);
    let w = plot_speed(d, "speed", "Speed with gaps", dt, &speeds).unwrap();
    check_outputs(d, "speed", &w);
    let w = plot_speed(d, "speed_bad_dt", "Speed, bad dt", nan, &speeds).unwrap();
    check_outputs(d, "speed_bad_dt", &w);
    let w = plot_reaches(
        d,
        "reaches_nan",
        "All NaN",
        &[vec![[nan, nan]; 5]],
        &[[nan, 0.0]],
        &[[inf, inf]],
    )
    .unwrap();
    check_outputs(d, "reaches_nan", &w);

    let names = vec!["m0".to_string(), "m1".to_string()];
    let acts = vec![
        vec![
            vec![0.1, nan],
            vec![0.2, inf],
            vec![nan, 0.3],
            vec![0.4, 0.5],
        ],
        vec![vec![nan, nan]; 4],
    ];
    let w = plot_activations(d, "act", "Activations with gaps", dt, &names, &acts, 2).unwrap();
    check_outputs(d, "act", &w);

    // Huge finite values (whose range overflows) do not break the axes.
    let huge = [(0.0, 1e308), (1.0, -1e308), (2.0, 0.5)];
    let w = plot_loss(d, "loss_huge", "Huge values", &[("loss", &huge)], false).unwrap();
    check_outputs(d, "loss_huge", &w);
    let w = plot_speed(d, "speed_huge", "Huge values", dt, &[vec![1e308, -1e308]]).unwrap();
    check_outputs(d, "speed_huge", &w);
    let w = plot_reaches(
        d,
        "reach_huge",
        "Huge",
        &[vec![[1e308, 0.0], [-1e308, 1.0]]],
        &[],
        &[],
    )
    .unwrap();
    check_outputs(d, "reach_huge", &w);

    // Tiny values, on linear and log axes.
    let tiny = [(0.0, 1e-200), (1.0, 2e-200), (2.0, 5e-324), (3.0, 1e-90)];
    let w = plot_loss(
        d,
        "loss_tiny",
        "Tiny values",
        &[("loss", &tiny[..2])],
        false,
    )
    .unwrap();
    check_outputs(d, "loss_tiny", &w);
    let w = plot_loss(d, "loss_tiny_log", "Tiny values", &[("loss", &tiny)], true).unwrap();
    check_outputs(d, "loss_tiny_log", &w);
    let w = plot_reaches(
        d,
        "reach_tiny",
        "Tiny",
        &[vec![[1e-200, 0.0], [2e-200, 1e-200]]],
        &[],
        &[],
    )
    .unwrap();
    check_outputs(d, "reach_tiny", &w);

    // A single point and constant values give a widened range, not a panic.
    let single = [(3.0, 2.0)];
    let w = plot_loss(d, "loss_single", "One point", &[("loss", &single)], true).unwrap();
    check_outputs(d, "loss_single", &w);
    let w = plot_reaches(
        d,
        "reach_point",
        "One point",
        &[vec![[0.1, 0.2]]],
        &[[0.1, 0.2]],
        &[[0.1, 0.2]],
    )
    .unwrap();
    check_outputs(d, "reach_point", &w);
    let w = plot_speed(d, "speed_const", "Constant", dt, &[vec![0.0; 30]]).unwrap();
    check_outputs(d, "speed_const", &w);
}

#[test]
fn bad_stem_and_unwritable_dir_are_errors() {
    let tmp = TempDir::new("errors");
    let err = plot_speed(&tmp.0, "a/b", "t", 0.01, &[]).unwrap_err();
    assert!(matches!(err, PlotError::BadStem(_)), "{err}");
    assert!(err.to_string().contains("a/b"));
    let err = plot_speed(&tmp.0, "", "t", 0.01, &[]).unwrap_err();
    assert!(matches!(err, PlotError::BadStem(_)), "{err}");

    // A directory path that is a regular file cannot be created.
    let file = tmp.0.join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let err = plot_speed(&file, "speed", "t", 0.01, &[vec![1.0, 2.0]]).unwrap_err();
    assert!(matches!(err, PlotError::Io { .. }), "{err}");
    assert!(err.to_string().contains("not-a-dir"), "{err}");
}
