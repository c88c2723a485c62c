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
//! The functions are robust to awkward data: empty inputs give an empty plot with a note,
//! non-finite values (NaN, ±inf) are skipped (lines are broken where they occur), and
//! degenerate ranges (a single point, constant values) are widened.

use std::fmt::{self, Display};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The embedded font (DejaVu Sans; licence in `assets/fonts/LICENSE-DejaVu.txt`).
static FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");

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
    /// The output file name stem is empty or contains a path separator.
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
/// are skipped.
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
        },
    )
}

// ---------------------------------------------------------------------------------------------
// Rendering and file output
// ---------------------------------------------------------------------------------------------

type DrawResult = Result<(), String>;

/// A figure that can be drawn onto any plotters backend.
trait Figure {
    fn size(&self) -> (u32, u32) {
        FIGURE_SIZE
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult;
}

/// Turns plotters' errors (generic over the backend) into messages.
trait OrMessage<T> {
    fn msg(self) -> Result<T, String>;
}

impl<T, E: Display> OrMessage<T> for Result<T, E> {
    fn msg(self) -> Result<T, String> {
        self.map_err(|e| e.to_string())
    }
}

fn ensure_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        ["sans-serif", "serif", "monospace"]
            .iter()
            .all(|family| plotters::style::register_font(family, FontStyle::Normal, FONT).is_ok())
    });
    if ok {
        Ok(())
    } else {
        Err(PlotError::Font)
    }
}

fn render<F: Figure>(dir: &Path, stem: &str, figure: &F) -> Result<Vec<PathBuf>, PlotError> {
    if stem.is_empty() || stem.contains(['/', '\\']) || stem == "." || stem == ".." {
        return Err(PlotError::BadStem(stem.to_string()));
    }
    ensure_font()?;
    let png_path = dir.join(format!("{stem}.png"));
    let svg_path = dir.join(format!("{stem}.svg"));
    let (w, h) = figure.size();

    let mut pixels = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        figure
            .draw(&root)
            .and_then(|()| root.present().msg())
            .map_err(|message| PlotError::Draw {
                file: format!("{stem}.png"),
                message,
            })?;
    }
    let png = encode_png(&pixels, w, h).map_err(|message| PlotError::Encode {
        file: png_path.clone(),
        message,
    })?;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        figure
            .draw(&root)
            .and_then(|()| root.present().msg())
            .map_err(|message| PlotError::Draw {
                file: format!("{stem}.svg"),
                message,
            })?;
    }

    std::fs::create_dir_all(dir).map_err(|source| PlotError::Io {
        path: dir.to_path_buf(),
        action: "create plot directory",
        source,
    })?;
    write_atomic(&png_path, &png)?;
    write_atomic(&svg_path, svg.as_bytes())?;
    Ok(vec![png_path, svg_path])
}

fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().msg()?;
    writer.write_image_data(rgb).msg()?;
    writer.finish().msg()?;
    Ok(out)
}

/// Write `bytes` to a temporary file next to `path`, then rename it over `path`.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PlotError> {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let io_err = |path: &Path, action, source| PlotError::Io {
        path: path.to_path_buf(),
        action,
        source,
    };
    let write = || -> Result<(), PlotError> {
        let mut file =
            std::fs::File::create(&tmp).map_err(|e| io_err(&tmp, "create temporary file", e))?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| io_err(&tmp, "write temporary file", e))?;
        std::fs::rename(&tmp, path).map_err(|e| io_err(path, "rename temporary file to", e))
    };
    let result = write();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

fn title_style() -> TextStyle<'static> {
    ("sans-serif", TITLE_SIZE).into_font().color(&BLACK)
}

fn note_style() -> TextStyle<'static> {
    ("sans-serif", NOTE_SIZE)
        .into_font()
        .color(&RGBColor(110, 110, 110))
        .pos(Pos::new(HPos::Center, VPos::Center))
}

/// The colour of reach `i` out of `n`: Tableau-10 for up to 10 reaches, evenly spaced hues
/// beyond that.
fn reach_color(i: usize, n: usize) -> RGBColor {
    const TAB10: [RGBColor; 10] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
        RGBColor(188, 189, 34),
        RGBColor(23, 190, 207),
    ];
    if n <= TAB10.len() {
        TAB10[i % TAB10.len()]
    } else {
        let hue = i as f64 / n as f64;
        let (r, g, b) = HSLColor(hue, 0.75, 0.45).to_backend_color().rgb;
        RGBColor(r, g, b)
    }
}

/// Colours of the (up to two or three) series in the loss plot.
fn series_color(i: usize) -> RGBColor {
    reach_color(i, 10)
}

/// Min and max of the finite values, if any.
fn finite_range(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// Widen `[lo, hi]` by `frac` of its width on both sides; a degenerate range gets a width.
fn padded(lo: f64, hi: f64, frac: f64) -> (f64, f64) {
    let width = hi - lo;
    let scale = lo.abs().max(hi.abs());
    if !(width > 1e-12 * scale.max(1e-300)) {
        let half = if scale > 0.0 { 0.1 * scale } else { 0.5 };
        return (lo - half, hi + half);
    }
    (lo - frac * width, hi + frac * width)
}

/// Split a sequence of optional points into runs of consecutive valid points.
fn runs<P: Copy>(points: impl IntoIterator<Item = Option<P>>) -> Vec<Vec<P>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    for p in points {
        match p {
            Some(p) => cur.push(p),
            None if !cur.is_empty() => out.push(std::mem::take(&mut cur)),
            None => {}
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn finite_point(x: f64, y: f64) -> Option<(f64, f64)> {
    (x.is_finite() && y.is_finite()).then_some((x, y))
}

/// A compact tick label: the shortest of a few fixed or scientific formats that represents `v`.
fn fmt_tick(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return if v == 0.0 {
            "0".to_string()
        } else {
            v.to_string()
        };
    }
    let a = v.abs();
    let close = |s: &str| {
        s.parse::<f64>()
            .is_ok_and(|p| (p - v).abs() <= 1e-6 * a.max(f64::MIN_POSITIVE))
    };
    if (1e-3..1e5).contains(&a) {
        for prec in 0..=6 {
            let s = format!("{v:.prec$}");
            if close(&s) {
                return s;
            }
        }
        format!("{v:.6}")
    } else {
        for prec in 0..=4 {
            let s = format!("{v:.prec$e}");
            if close(&s) {
                return s;
            }
        }
        format!("{v:.4e}")
    }
}

/// A linear 2-D chart with axis descriptions, light grid and our tick format.
fn linear_chart<'a, 'b, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    x: (f64, f64),
    y: (f64, f64),
    x_desc: &str,
    y_desc: &str,
    sizes: PanelSizes,
) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>, String> {
    let mut chart = ChartBuilder::on(area)
        .margin(sizes.margin)
        .margin_right(sizes.margin + 10)
        .x_label_area_size(sizes.x_label_area)
        .y_label_area_size(sizes.y_label_area)
        .build_cartesian_2d(x.0..x.1, y.0..y.1)
        .msg()?;
    configure_mesh(&mut chart, x_desc, y_desc, sizes)?;
    Ok(chart)
}

#[derive(Clone, Copy)]
struct PanelSizes {
    margin: u32,
    x_label_area: u32,
    y_label_area: u32,
    axis_desc: u32,
    tick_label: u32,
    x_ticks: usize,
    y_ticks: usize,
}

const FULL_PANEL: PanelSizes = PanelSizes {
    margin: 15,
    x_label_area: 60,
    y_label_area: 85,
    axis_desc: AXIS_DESC_SIZE,
    tick_label: TICK_LABEL_SIZE,
    x_ticks: 10,
    y_ticks: 10,
};

fn configure_mesh<DB, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    x_desc: &str,
    y_desc: &str,
    sizes: PanelSizes,
) -> DrawResult
where
    DB: DrawingBackend,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let tick_font = ("sans-serif", sizes.tick_label).into_font();
    let desc_font = ("sans-serif", sizes.axis_desc).into_font();
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_labels(sizes.x_ticks)
        .y_labels(sizes.y_ticks)
        .x_label_formatter(&|v| fmt_tick(*v))
        .y_label_formatter(&|v| fmt_tick(*v))
        .label_style(tick_font)
        .axis_desc_style(desc_font)
        .bold_line_style(RGBColor(215, 215, 215))
        .light_line_style(RGBColor(238, 238, 238))
        .axis_style(RGBColor(90, 90, 90))
        .draw()
        .msg()
}

// ---------------------------------------------------------------------------------------------
// Loss
// ---------------------------------------------------------------------------------------------

struct LossFigure<'a> {
    title: &'a str,
    series: &'a [(&'a str, &'a [(f64, f64)])],
    log_y: bool,
}

impl LossFigure<'_> {
    fn point(&self, (x, y): (f64, f64)) -> Option<(f64, f64)> {
        finite_point(x, y).filter(|_| !self.log_y || y > 0.0)
    }

    fn y_desc(&self) -> String {
        let base = match self.series {
            [(label, _)] => label.to_string(),
            _ => "value".to_string(),
        };
        if self.log_y {
            format!("{base} (log scale)")
        } else {
            base
        }
    }

    /// Draw the series (and the "no data" note) on a chart whose axes are already drawn.
    fn draw_series<'c, DB, Y>(
        &self,
        chart: &mut ChartContext<'c, DB, Cartesian2d<RangedCoordf64, Y>>,
        has_data: bool,
        centre: (f64, f64),
    ) -> DrawResult
    where
        DB: DrawingBackend + 'c,
        Y: Ranged<ValueType = f64>,
    {
        for (i, (label, points)) in self.series.iter().enumerate() {
            let color = series_color(i);
            let style = color.stroke_width(2);
            // An empty series carries the legend entry, so every series is listed even if it
            // has no drawable point.
            chart
                .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
                .msg()?
                .label(*label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3))
                });
            for run in runs(points.iter().map(|&p| self.point(p))) {
                if run.len() == 1 {
                    chart
                        .draw_series(std::iter::once(Circle::new(run[0], 3, color.filled())))
                        .msg()?;
                } else {
                    chart.draw_series(LineSeries::new(run, style)).msg()?;
                }
            }
        }
        if !has_data {
            let msg = if self.series.is_empty() {
                "no data"
            } else if self.log_y {
                "no finite positive values to plot"
            } else {
                "no finite values to plot"
            };
            chart
                .draw_series(std::iter::once(Text::new(msg, centre, note_style())))
                .msg()?;
        }
        if !self.series.is_empty() {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .label_font(("sans-serif", AXIS_DESC_SIZE))
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(150, 150, 150))
                .margin(12)
                .draw()
                .msg()?;
        }
        Ok(())
    }
}

impl Figure for LossFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        root.fill(&WHITE).msg()?;
        let area = root.titled(self.title, title_style()).msg()?;
        let points = || {
            self.series
                .iter()
                .flat_map(|(_, pts)| pts.iter().filter_map(|&p| self.point(p)))
        };
        let xr = finite_range(points().map(|p| p.0));
        let yr = finite_range(points().map(|p| p.1));
        let has_data = xr.is_some();
        let x = xr.map_or((0.0, 1.0), |(lo, hi)| padded(lo, hi, 0.02));
        if self.log_y {
            // Whole decades, so the axis always has labelled ticks.
            let (lo, hi) = yr.unwrap_or((0.1, 1.0));
            let mut lo = 10f64.powf(lo.log10().floor());
            let mut hi = 10f64.powf(hi.log10().ceil());
            if !(hi > lo) {
                lo /= 10.0;
                hi *= 10.0;
            }
            let mut chart = ChartBuilder::on(&area)
                .margin(FULL_PANEL.margin)
                .margin_right(FULL_PANEL.margin + 10)
                .x_label_area_size(FULL_PANEL.x_label_area)
                .y_label_area_size(FULL_PANEL.y_label_area)
                .build_cartesian_2d(x.0..x.1, (lo..hi).log_scale())
                .msg()?;
            configure_mesh(&mut chart, "batch", &self.y_desc(), FULL_PANEL)?;
            let centre = (0.5 * (x.0 + x.1), (lo * hi).sqrt());
            self.draw_series(&mut chart, has_data, centre)
        } else {
            let y = yr.map_or((0.0, 1.0), |(lo, hi)| padded(lo, hi, 0.05));
            let mut chart = linear_chart(&area, x, y, "batch", &self.y_desc(), FULL_PANEL)?;
            let centre = (0.5 * (x.0 + x.1), 0.5 * (y.0 + y.1));
            self.draw_series(&mut chart, has_data, centre)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reaches
// ---------------------------------------------------------------------------------------------

struct ReachFigure<'a> {
    title: &'a str,
    paths: &'a [Vec<[f64; 2]>],
    targets: &'a [[f64; 2]],
    starts: &'a [[f64; 2]],
}

impl Figure for ReachFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        root.fill(&WHITE).msg()?;
        let area = root.titled(self.title, title_style()).msg()?;
        let all = || {
            self.paths
                .iter()
                .flatten()
                .chain(self.targets)
                .chain(self.starts)
                .filter_map(|p| finite_point(p[0], p[1]))
        };
        let xr = finite_range(all().map(|p| p.0));
        let yr = finite_range(all().map(|p| p.1));
        let has_data = xr.is_some();
        let (x, y) = match (xr, yr) {
            (Some((x0, x1)), Some((y0, y1))) => {
                // Pad both axes by the same length so small targets near the edge stay visible.
                let pad = 0.08 * (x1 - x0).max(y1 - y0).max(0.01);
                ((x0 - pad, x1 + pad), (y0 - pad, y1 + pad))
            }
            _ => ((-0.5, 0.5), (-0.5, 0.5)),
        };

        // Equal scaling: find the plotting area's pixel size, then widen the axis that has
        // fewer metres per pixel so both have the same.
        let build = |x: (f64, f64), y: (f64, f64)| {
            ChartBuilder::on(&area)
                .margin(FULL_PANEL.margin)
                .margin_right(FULL_PANEL.margin + 10)
                .x_label_area_size(FULL_PANEL.x_label_area)
                .y_label_area_size(FULL_PANEL.y_label_area)
                .build_cartesian_2d(x.0..x.1, y.0..y.1)
                .msg()
        };
        let (px, py) = build(x, y)?.plotting_area().get_pixel_range();
        let (w_px, h_px) = (
            f64::from((px.end - px.start).max(1)),
            f64::from((py.end - py.start).max(1)),
        );
        let per_px = ((x.1 - x.0) / w_px).max((y.1 - y.0) / h_px);
        let widen = |(lo, hi): (f64, f64), pixels: f64| {
            let mid = 0.5 * (lo + hi);
            (mid - 0.5 * per_px * pixels, mid + 0.5 * per_px * pixels)
        };
        let (x, y) = (widen(x, w_px), widen(y, h_px));
        let mut chart = build(x, y)?;
        let mut sizes = FULL_PANEL;
        // Roughly 100 px between ticks on both axes keeps the grid square.
        sizes.x_ticks = (w_px / 100.0).round().max(2.0) as usize;
        sizes.y_ticks = (h_px / 100.0).round().max(2.0) as usize;
        configure_mesh(&mut chart, "x (m)", "y (m)", sizes)?;

        let n = self.paths.len().max(self.targets.len());
        for (i, path) in self.paths.iter().enumerate() {
            let color = reach_color(i, n);
            for run in runs(path.iter().map(|p| finite_point(p[0], p[1]))) {
                if run.len() == 1 {
                    chart
                        .draw_series(std::iter::once(Circle::new(run[0], 3, color.filled())))
                        .msg()?;
                } else {
                    chart
                        .draw_series(LineSeries::new(run, color.stroke_width(2)))
                        .msg()?;
                }
            }
        }
        let targets: Vec<_> = self
            .targets
            .iter()
            .enumerate()
            .filter_map(|(i, p)| finite_point(p[0], p[1]).map(|p| (i, p)))
            .collect();
        chart
            .draw_series(targets.iter().map(|&(i, p)| {
                Circle::new(p, TARGET_RADIUS_PX, reach_color(i, n).mix(0.18).filled())
            }))
            .msg()?;
        chart
            .draw_series(
                targets.iter().map(|&(i, p)| {
                    Circle::new(p, TARGET_RADIUS_PX, reach_color(i, n).stroke_width(2))
                }),
            )
            .msg()?
            .label("target")
            .legend(|(x, y)| Circle::new((x + 12, y), 8, BLACK.stroke_width(2)));
        let starts: Vec<_> = self
            .starts
            .iter()
            .filter_map(|p| finite_point(p[0], p[1]))
            .collect();
        chart
            .draw_series(
                starts
                    .iter()
                    .map(|&p| Cross::new(p, 7, BLACK.stroke_width(3))),
            )
            .msg()?
            .label("start")
            .legend(|(x, y)| Cross::new((x + 12, y), 7, BLACK.stroke_width(3)));

        if has_data {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .label_font(("sans-serif", AXIS_DESC_SIZE))
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(150, 150, 150))
                .margin(12)
                .draw()
                .msg()?;
        } else {
            let centre = (0.5 * (x.0 + x.1), 0.5 * (y.0 + y.1));
            chart
                .draw_series(std::iter::once(Text::new("no data", centre, note_style())))
                .msg()?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Speed
// ---------------------------------------------------------------------------------------------

/// The time step to use and the x-axis description: with an unusable `dt` the axis shows steps.
fn time_axis(dt: f64) -> (f64, &'static str) {
    if dt.is_finite() && dt > 0.0 {
        (dt, "time (s)")
    } else {
        (1.0, "step")
    }
}

struct SpeedFigure<'a> {
    title: &'a str,
    dt: f64,
    speeds: &'a [Vec<f64>],
}

impl Figure for SpeedFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        root.fill(&WHITE).msg()?;
        let area = root.titled(self.title, title_style()).msg()?;
        let (dt, x_desc) = time_axis(self.dt);
        let steps = self.speeds.iter().map(Vec::len).max().unwrap_or(0);
        let yr = finite_range(self.speeds.iter().flatten().copied());
        let has_data = yr.is_some();
        let x = if steps > 1 {
            (0.0, (steps - 1) as f64 * dt)
        } else {
            padded(0.0, 0.0, 0.0)
        };
        let y = match yr {
            Some((lo, hi)) => {
                let (plo, phi) = padded(lo.min(0.0), hi.max(0.0), 0.05);
                // Speeds are usually >= 0: start the axis at 0 unless data go below it.
                (if lo >= 0.0 { 0.0 } else { plo }, phi)
            }
            None => (0.0, 1.0),
        };
        let mut chart = linear_chart(&area, x, y, x_desc, "endpoint speed (m/s)", FULL_PANEL)?;
        let n = self.speeds.len();
        for (i, speed) in self.speeds.iter().enumerate() {
            let color = reach_color(i, n);
            let points = speed
                .iter()
                .enumerate()
                .map(|(k, &v)| finite_point(k as f64 * dt, v));
            for run in runs(points) {
                if run.len() == 1 {
                    chart
                        .draw_series(std::iter::once(Circle::new(run[0], 3, color.filled())))
                        .msg()?;
                } else {
                    chart
                        .draw_series(LineSeries::new(run, color.stroke_width(2)))
                        .msg()?;
                }
            }
        }
        if !has_data {
            let centre = (0.5 * (x.0 + x.1), 0.5 * (y.0 + y.1));
            chart
                .draw_series(std::iter::once(Text::new("no data", centre, note_style())))
                .msg()?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Activations
// ---------------------------------------------------------------------------------------------

struct ActivationFigure<'a> {
    title: &'a str,
    dt: f64,
    muscle_names: &'a [String],
    activations: &'a [Vec<Vec<f64>>],
    max_reaches: usize,
    n_muscles: usize,
}

impl ActivationFigure<'_> {
    /// (rows, columns) of the panel grid.
    fn grid(&self) -> (usize, usize) {
        let n = self.n_muscles.max(1);
        let cols = (n as f64).sqrt().ceil() as usize;
        (n.div_ceil(cols), cols)
    }

    fn reaches(&self) -> &[Vec<Vec<f64>>] {
        &self.activations[..self.activations.len().min(self.max_reaches)]
    }
}

impl Figure for ActivationFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let (rows, cols) = self.grid();
        let w = (cols as u32 * 300).clamp(FIGURE_SIZE.0, 1800);
        let h = (90 + rows as u32 * 300).clamp(FIGURE_SIZE.1, 1800);
        (w, h)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult {
        root.fill(&WHITE).msg()?;
        let area = root.titled(self.title, title_style()).msg()?;
        let reaches = self.reaches();
        let (dt, x_desc) = time_axis(self.dt);

        if self.n_muscles == 0 || reaches.is_empty() {
            let (w, h) = area.dim_in_pixel();
            let msg = if self.n_muscles == 0 {
                "no muscles / no activation data"
            } else {
                "no reaches to plot"
            };
            area.draw_text(msg, &note_style(), (w as i32 / 2, h as i32 / 2))
                .msg()?;
            return Ok(());
        }

        let subtitle = format!(
            "first {} of {} reaches (one colour per reach, as in the reach plot)",
            reaches.len(),
            self.activations.len()
        );
        let area = area
            .titled(
                &subtitle,
                ("sans-serif", 16).into_font().color(&RGBColor(90, 90, 90)),
            )
            .msg()?;

        let steps = reaches.iter().map(Vec::len).max().unwrap_or(0);
        let x = if steps > 1 {
            (0.0, (steps - 1) as f64 * dt)
        } else {
            padded(0.0, 0.0, 0.0)
        };
        // A common activation axis for all panels, [0, 1] unless the data leave it.
        let yr = finite_range(reaches.iter().flatten().flatten().copied());
        let y = match yr {
            Some((lo, hi)) => (lo.min(0.0), hi.max(1.0)),
            None => (0.0, 1.0),
        };
        let y = (y.0 - 0.03 * (y.1 - y.0), y.1 + 0.03 * (y.1 - y.0));

        let (rows, cols) = self.grid();
        let sizes = PanelSizes {
            margin: 8,
            x_label_area: 45,
            y_label_area: 60,
            axis_desc: 15,
            tick_label: 13,
            x_ticks: 5,
            y_ticks: 5,
        };
        let n = reaches.len();
        for (m, panel) in area
            .split_evenly((rows, cols))
            .iter()
            .enumerate()
            .take(self.n_muscles)
        {
            let name = self
                .muscle_names
                .get(m)
                .cloned()
                .unwrap_or_else(|| format!("muscle {m}"));
            let panel = panel
                .titled(&name, ("sans-serif", 18).into_font().color(&BLACK))
                .msg()?;
            let mut chart = linear_chart(&panel, x, y, x_desc, "activation", sizes)?;
            let mut any = false;
            for (i, reach) in reaches.iter().enumerate() {
                let color = reach_color(i, n);
                let points = reach
                    .iter()
                    .enumerate()
                    .map(|(k, step)| step.get(m).and_then(|&v| finite_point(k as f64 * dt, v)));
                for run in runs(points) {
                    any = true;
                    if run.len() == 1 {
                        chart
                            .draw_series(std::iter::once(Circle::new(run[0], 2, color.filled())))
                            .msg()?;
                    } else {
                        chart
                            .draw_series(LineSeries::new(run, color.stroke_width(2)))
                            .msg()?;
                    }
                }
            }
            if !any {
                let centre = (0.5 * (x.0 + x.1), 0.5 * (y.0 + y.1));
                let style = ("sans-serif", 15)
                    .into_font()
                    .color(&RGBColor(110, 110, 110))
                    .pos(Pos::new(HPos::Center, VPos::Center));
                chart
                    .draw_series(std::iter::once(Text::new("no data", centre, style)))
                    .msg()?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_format() {
        assert_eq!(fmt_tick(0.0), "0");
        assert_eq!(fmt_tick(0.30000000000000004), "0.3");
        assert_eq!(fmt_tick(-0.05), "-0.05");
        assert_eq!(fmt_tick(200.0), "200");
        assert_eq!(fmt_tick(1e-4), "1e-4");
        assert_eq!(fmt_tick(2.5e-5), "2.5e-5");
        assert_eq!(fmt_tick(1e6), "1e6");
    }

    #[test]
    fn runs_split_on_gaps() {
        let r = runs([Some(1), None, None, Some(2), Some(3), None].into_iter());
        assert_eq!(r, vec![vec![1], vec![2, 3]]);
    }

    #[test]
    fn padded_widens_degenerate() {
        let (lo, hi) = padded(2.0, 2.0, 0.05);
        assert!(lo < 2.0 && hi > 2.0);
        let (lo, hi) = padded(0.0, 0.0, 0.05);
        assert!(lo < 0.0 && hi > 0.0);
    }
}
