//! Plots for `motornet train` / `motornet eval`: training curves, reach trajectories, endpoint
//! speed profiles and muscle activations.
//!
//! Every function takes plain data and writes two files into `dir` (created if missing):
//! `<stem>.png` (raster) and `<stem>.svg` (vector). Each file is written to a temporary file in
//! the same directory and then renamed over the target, so a reader never sees a half-written
//! plot. The paths written are returned as `[png, svg]`.
//!
//! Text is rendered with DejaVu Sans, embedded in the binary (`assets/fonts/`), so plotting
//! works on a headless machine with no system fonts and links no font libraries.
//!
//! The functions are robust to awkward data: empty inputs give an empty plot with a note;
//! non-finite values (NaN, ±inf, and magnitudes above 1e100) are skipped, lines being broken
//! where they occur; degenerate ranges (a single point, constant values) are widened.
//!
//! PNGs are drawn at twice their size and downsampled, for anti-aliased lines.
//!
//! Files: this one is the public API; `render` draws a figure to PNG and SVG and writes the files;
//! `chart` holds the helpers every figure shares (ranges, axes, broken lines, legends); `figures` the
//! figures of a run, `model` those of `show`, `analysis` those of a network's activity, `animation` the
//! frames of an animated GIF.

mod analysis;
mod animation;
mod chart;
mod figures;
mod model;
mod render;

pub use analysis::direction_color;
use analysis::*;
pub use animation::animation_gif;
use chart::*;
use figures::*;
use render::*;

use std::fmt::{self, Display};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The embedded font (DejaVu Sans; licence in `assets/fonts/LICENSE-DejaVu.txt`).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Size of the single-panel figures, in pixels.
const FIGURE_SIZE: (u32, u32) = (900, 700);
const TITLE_SIZE: u32 = 26;
const AXIS_DESC_SIZE: u32 = 19;
const TICK_LABEL_SIZE: u32 = 16;
const NOTE_SIZE: u32 = 20;
/// Radius of the target circles in the reach plot, in pixels.
const TARGET_RADIUS_PX: i32 = 11;

/// An error while producing a plot.
#[derive(Debug)]
pub enum PlotError {
    /// The output file name stem is empty, `.` or `..`, or contains a path separator.
    BadStem(String),
    /// The embedded font could not be loaded (should not happen).
    Font,
    /// Drawing failed (a plotting-library error).
    Draw { file: String, message: String },
    /// PNG encoding failed.
    Encode { file: PathBuf, message: String },
    /// Creating the directory or writing/renaming a file failed.
    Io {
        path: PathBuf,
        action: &'static str,
        source: std::io::Error,
    },
}

impl Display for PlotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlotError::BadStem(stem) => write!(
                f,
                "invalid plot file name stem {stem:?}: it must be non-empty and contain no path separator"
            ),
            PlotError::Font => write!(f, "could not load the embedded plot font (DejaVu Sans)"),
            PlotError::Draw { file, message } => write!(f, "could not draw plot {file}: {message}"),
            PlotError::Encode { file, message } => {
                write!(f, "could not encode PNG {}: {message}", file.display())
            }
            PlotError::Io {
                path,
                action,
                source,
            } => write!(f, "could not {action} {}: {source}", path.display()),
        }
    }
}

impl std::error::Error for PlotError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PlotError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Plot training curves over batches: one line per series (e.g. the training loss and the
/// evaluation metric), with a legend. With `log_y`, the y axis is logarithmic and values `<= 0`
/// (or below 1e-100) are skipped.
pub fn plot_loss(
    dir: &Path,
    stem: &str,
    title: &str,
    series: &[(&str, &[(f64, f64)])],
    log_y: bool,
) -> Result<Vec<PathBuf>, PlotError> {
    render(
        dir,
        stem,
        &LossFigure {
            title,
            series,
            log_y,
        },
    )
}

/// Plot reach trajectories seen from above, in metres with equal axis scaling: one line per reach
/// (`paths[i]` is the endpoint position at each step), its target as a circle of the same colour
/// (`targets[i]`), and its start point (`starts[i]`) as a black cross.
pub fn plot_reaches(
    dir: &Path,
    stem: &str,
    title: &str,
    paths: &[Vec<[f64; 2]>],
    targets: &[[f64; 2]],
    starts: &[[f64; 2]],
) -> Result<Vec<PathBuf>, PlotError> {
    render(
        dir,
        stem,
        &ReachFigure {
            title,
            paths,
            targets,
            starts,
            groups: None,
            axes: ("x (m)", "y (m)"),
        },
    )
}

/// [`plot_reaches`] for reaches in space (`[x, y, z]` points): their projections on the x–y plane
/// (seen from above the z axis) and the x–z plane, side by side, each with equal axis scaling.
pub fn plot_reaches_3d(
    dir: &Path,
    stem: &str,
    title: &str,
    paths: &[Vec<[f64; 3]>],
    targets: &[[f64; 3]],
    starts: &[[f64; 3]],
) -> Result<Vec<PathBuf>, PlotError> {
    let on = |(a, b): (usize, usize)| {
        let project = |p: &[f64; 3]| [p[a], p[b]];
        (
            paths
                .iter()
                .map(|p| p.iter().map(project).collect::<Vec<_>>())
                .collect::<Vec<_>>(),
            targets.iter().map(project).collect::<Vec<_>>(),
            starts.iter().map(project).collect::<Vec<_>>(),
        )
    };
    let (xy, xz) = (on((0, 1)), on((0, 2)));
    type Projected = (Vec<Vec<[f64; 2]>>, Vec<[f64; 2]>, Vec<[f64; 2]>);
    fn panel<'a>(title: &'a str, data: &'a Projected, axes: (&'a str, &'a str)) -> ReachFigure<'a> {
        ReachFigure {
            title,
            paths: &data.0,
            targets: &data.1,
            starts: &data.2,
            groups: None,
            axes,
        }
    }
    render(
        dir,
        stem,
        &ReachProjections {
            title,
            panels: vec![
                panel("x–y projection", &xy, ("x (m)", "y (m)")),
                panel("x–z projection", &xz, ("x (m)", "z (m)")),
            ],
        },
    )
}

/// [`plot_reaches`] with path `i` and target `i` drawn in the colour of group `groups[i]` (e.g. the
/// magnitude of a perturbation) instead of their own.
pub fn plot_reaches_grouped(
    dir: &Path,
    stem: &str,
    title: &str,
    paths: &[Vec<[f64; 2]>],
    groups: &[usize],
    targets: &[[f64; 2]],
    starts: &[[f64; 2]],
) -> Result<Vec<PathBuf>, PlotError> {
    render(
        dir,
        stem,
        &ReachFigure {
            title,
            paths,
            targets,
            starts,
            groups: Some(groups),
            axes: ("x (m)", "y (m)"),
        },
    )
}

/// Plot endpoint speed (m/s) over time (s) for each reach; `speeds[i][k]` is the speed of reach
/// `i` at step `k`, and steps are `dt` seconds apart. Colours match [`plot_reaches`].
pub fn plot_speed(
    dir: &Path,
    stem: &str,
    title: &str,
    dt: f64,
    speeds: &[Vec<f64>],
) -> Result<Vec<PathBuf>, PlotError> {
    render(dir, stem, &SpeedFigure { title, dt, speeds })
}

/// Plot muscle activations: a grid of panels, one per muscle, each showing the activation time
/// courses of the first `max_reaches` reaches (`activations[reach][step][muscle]`, steps `dt`
/// seconds apart). Colours match [`plot_reaches`]. Muscles beyond `muscle_names` are named
/// `muscle <index>`.
pub fn plot_activations(
    dir: &Path,
    stem: &str,
    title: &str,
    dt: f64,
    muscle_names: &[String],
    activations: &[Vec<Vec<f64>>],
    max_reaches: usize,
) -> Result<Vec<PathBuf>, PlotError> {
    let n_muscles = activations
        .iter()
        .take(max_reaches)
        .flat_map(|reach| reach.iter().map(Vec::len))
        .max()
        .unwrap_or(0)
        .max(muscle_names.len());
    render(
        dir,
        stem,
        &ActivationFigure {
            title,
            dt,
            muscle_names,
            activations,
            max_reaches,
            n_muscles,
            y_desc: "activation",
            unit_range: true,
            note: None,
        },
    )
}

/// Time courses in a grid of panels, one per named quantity, for [`plot_time_courses`].
pub struct TimeCourses<'a> {
    pub title: &'a str,
    /// Seconds between steps.
    pub dt: f64,
    /// The panels' names.
    pub names: &'a [String],
    /// The y axis's description (one axis for every panel, including 0).
    pub y_desc: &'a str,
    /// `values[series][step][panel]`.
    pub values: &'a [Vec<Vec<f64>>],
    /// How many series to draw.
    pub max_series: usize,
    /// The line under the title; default: "first N of M reaches, one colour per reach".
    pub note: Option<&'a str>,
}

/// Plot time courses (joint angles, muscle forces, deviations) in a grid of panels, one per named
/// quantity, each with one line per series. Colours match [`plot_reaches`].
pub fn plot_time_courses(
    dir: &Path,
    stem: &str,
    tc: &TimeCourses,
) -> Result<Vec<PathBuf>, PlotError> {
    let n = tc
        .values
        .iter()
        .take(tc.max_series)
        .flat_map(|series| series.iter().map(Vec::len))
        .max()
        .unwrap_or(0)
        .max(tc.names.len());
    render(
        dir,
        stem,
        &ActivationFigure {
            title: tc.title,
            dt: tc.dt,
            muscle_names: tc.names,
            activations: tc.values,
            max_reaches: tc.max_series,
            n_muscles: n,
            y_desc: tc.y_desc,
            unit_range: false,
            note: tc.note,
        },
    )
}

/// The figures of `motornet show` for an inspected model, each as PNG and SVG: `skeleton` (bodies,
/// joints, muscle paths with their wraps, the endpoint, the reachable workspace and the isometric
/// endpoint forces), `moment_arms` (musculotendon lengths and moment arms across each coordinate's
/// range), `fibre_lengths` (normalised fibre length of each muscle across the workspace, with slack and
/// out-of-range postures marked) and `muscle_model` (force–length, force–velocity and activation
/// dynamics). Returns every path written.
pub fn plot_model(dir: &Path, ins: &crate::show::Inspection) -> Result<Vec<PathBuf>, PlotError> {
    let name = &ins.name;
    let mut out = Vec::new();
    out.extend(render(
        dir,
        "skeleton",
        &model::SkeletonFigure {
            title: &format!("{name}: skeleton, muscle paths and workspace"),
            ins,
        },
    )?);
    out.extend(render(
        dir,
        "moment_arms",
        &model::MomentArmFigure {
            title: &format!("{name}: musculotendon lengths and moment arms"),
            ins,
        },
    )?);
    out.extend(render(
        dir,
        "fibre_lengths",
        &model::FibreFigure {
            title: &format!("{name}: normalised fibre length across the workspace"),
            ins,
        },
    )?);
    out.extend(render(
        dir,
        "muscle_model",
        &model::MuscleModelFigure {
            title: &format!("{name}: force–length, force–velocity, activation"),
            ins,
        },
    )?);
    Ok(out)
}

/// Population trajectories in two principal components: one line per reach direction (`lines[i]` is
/// `(direction in radians, points)`), coloured by direction, a dot at the start and a cross at the end.
pub fn plot_pca_trajectories(
    dir: &Path,
    stem: &str,
    title: &str,
    lines: &[(f64, Vec<[f64; 2]>)],
    axes: (&str, &str),
) -> Result<Vec<PathBuf>, PlotError> {
    render(dir, stem, &PcaFigure { title, lines, axes })
}

/// Rose (polar) histograms of angles in radians, one panel per `(title, angles)`, in `bins` sectors (the
/// first centred on 0°), each scaled to its largest bin; the panel notes the count and the first and
/// second mean resultant lengths.
pub fn plot_rose(
    dir: &Path,
    stem: &str,
    title: &str,
    panels: &[(String, Vec<f64>)],
    bins: usize,
) -> Result<Vec<PathBuf>, PlotError> {
    render(
        dir,
        stem,
        &RoseFigure {
            title,
            panels,
            bins,
        },
    )
}

/// Tuning curves: for each `(unit, activity per reach, fit)`, the activity at each reach direction
/// (`directions`, radians) and the fitted cosine.
pub fn plot_tuning(
    dir: &Path,
    stem: &str,
    title: &str,
    directions: &[f64],
    units: &[(usize, Vec<f64>, crate::analysis::UnitTuning)],
) -> Result<Vec<PathBuf>, PlotError> {
    render(
        dir,
        stem,
        &TuningFigure {
            title,
            directions,
            units,
        },
    )
}

/// Heat maps of activity over time, one per `(reach direction, rows)`; rows are units in the order given
/// (sorted by preferred direction by the caller), columns steps `dt` apart.
pub fn plot_activity_maps(
    dir: &Path,
    stem: &str,
    title: &str,
    dt: f64,
    panels: &[(f64, Vec<Vec<f64>>)],
) -> Result<Vec<PathBuf>, PlotError> {
    render(dir, stem, &ActivityMapFigure { title, dt, panels })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_format() {
        assert_eq!(fmt_tick(0.0, 1.0), "0");
        assert_eq!(fmt_tick(-1.3878e-17, 0.3), "0");
        assert_eq!(fmt_tick(0.30000000000000004, 1.0), "0.3");
        assert_eq!(fmt_tick(-0.05, 1.0), "-0.05");
        assert_eq!(fmt_tick(200.0, 1000.0), "200");
        assert_eq!(fmt_tick(1e-4, 1.0), "1e-4");
        assert_eq!(fmt_tick(2.5e-5, 1e-4), "2.5e-5");
        assert_eq!(fmt_tick(1e6, 1e7), "1e6");
    }

    #[test]
    fn runs_split_on_gaps() {
        let r = runs([Some(1), None, None, Some(2), Some(3), None]);
        assert_eq!(r, vec![vec![1], vec![2, 3]]);
    }

    #[test]
    fn padded_widens_degenerate() {
        let (lo, hi) = padded(2.0, 2.0, 0.05);
        assert!(lo < 2.0 && hi > 2.0);
        let (lo, hi) = padded(0.0, 0.0, 0.05);
        assert!(lo < 0.0 && hi > 0.0);
        let (lo, hi) = padded(1e-200, 3e-200, 0.05);
        assert!(lo <= -MIN_SPAN / 2.0 && hi >= MIN_SPAN / 2.0);
        assert_eq!(padded(1.0, 3.0, 0.5), (0.0, 4.0));
    }

    #[test]
    fn downsample_averages_blocks() {
        let img = [0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255, 255];
        assert_eq!(downsample(&img, 2, 2, 2), vec![191, 191, 191]);
    }
}
