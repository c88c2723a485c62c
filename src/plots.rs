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

use std::fmt::{self, Display};
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

/// The PNG is drawn at this multiple of its size and then downsampled, which anti-aliases the
/// lines (plotters' bitmap backend draws them aliased).
const SUPERSAMPLE: u32 = 2;

type DrawResult = Result<(), String>;

/// Pixel scale of a drawing: every size in pixels (fonts, margins, line widths, markers) is
/// multiplied by `k`, so a figure drawn with `k = 2` on a canvas twice as large looks the same.
///
/// `raster` is set for the bitmap backend, whose wide polylines need special care (see
/// [`draw_runs`]).
#[derive(Clone, Copy)]
struct Px {
    k: u32,
    raster: bool,
}

impl Px {
    fn n(self, v: u32) -> u32 {
        v * self.k
    }
    fn i(self, v: i32) -> i32 {
        v * self.k as i32
    }
    fn font(self, size: u32, color: RGBColor) -> TextStyle<'static> {
        ("sans-serif", self.n(size)).into_font().color(&color)
    }
}

/// A figure that can be drawn onto any plotters backend.
trait Figure {
    /// Size of the figure in (unscaled) pixels.
    fn size(&self) -> (u32, u32) {
        FIGURE_SIZE
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, px: Px) -> DrawResult;
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
        // Every generic family maps to the one embedded font, so no text can miss a font.
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
    let draw_error = |file: &str| {
        let file = file.to_string();
        move |message| PlotError::Draw { file, message }
    };

    let (sw, sh) = (w * SUPERSAMPLE, h * SUPERSAMPLE);
    let mut pixels = vec![255u8; sw as usize * sh as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (sw, sh)).into_drawing_area();
        figure
            .draw(
                &root,
                Px {
                    k: SUPERSAMPLE,
                    raster: true,
                },
            )
            .and_then(|()| root.present().msg())
            .map_err(draw_error(&format!("{stem}.png")))?;
    }
    let pixels = downsample(&pixels, sw, sh, SUPERSAMPLE);
    let png = encode_png(&pixels, w, h).map_err(|message| PlotError::Encode {
        file: png_path.clone(),
        message,
    })?;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        figure
            .draw(
                &root,
                Px {
                    k: 1,
                    raster: false,
                },
            )
            .and_then(|()| root.present().msg())
            .map_err(draw_error(&format!("{stem}.svg")))?;
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

/// Average `k`×`k` blocks of an RGB image of `w`×`h` pixels.
fn downsample(rgb: &[u8], w: u32, h: u32, k: u32) -> Vec<u8> {
    let (w, h, k) = (w as usize, h as usize, k as usize);
    let (ow, oh) = (w / k, h / k);
    let mut out = Vec::with_capacity(ow * oh * 3);
    for oy in 0..oh {
        for ox in 0..ow {
            let mut sum = [0u32; 3];
            for y in oy * k..(oy + 1) * k {
                for x in ox * k..(ox + 1) * k {
                    let p = (y * w + x) * 3;
                    for (s, &v) in sum.iter_mut().zip(&rgb[p..p + 3]) {
                        *s += u32::from(v);
                    }
                }
            }
            let n = (k * k) as u32;
            out.extend(sum.iter().map(|&s| ((s + n / 2) / n) as u8));
        }
    }
    out
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

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PlotError> {
    crate::runtime::files::write_atomic(path, bytes).map_err(|source| PlotError::Io {
        path: path.to_path_buf(),
        action: "write",
        source,
    })
}

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

const TEXT: RGBColor = RGBColor(0, 0, 0);
const GREY_TEXT: RGBColor = RGBColor(100, 100, 100);

/// Draw `text` centred in a band of `band` px at the top of `area`; returns the rest.
fn titled<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    style: TextStyle,
    band: u32,
) -> Result<DrawingArea<DB, Shift>, String> {
    let (top, rest) = area.split_vertically(band);
    let (w, h) = top.dim_in_pixel();
    let style = style.pos(Pos::new(HPos::Center, VPos::Center));
    top.draw_text(text, &style, (w as i32 / 2, h as i32 / 2))
        .msg()?;
    Ok(rest)
}

/// The figure's white background and title; returns the area below the title.
fn background_and_title<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    px: Px,
) -> Result<DrawingArea<DB, Shift>, String> {
    root.fill(&WHITE).msg()?;
    titled(root, title, px.font(TITLE_SIZE, TEXT), px.n(TITLE_SIZE * 2))
}

fn subtitle<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    px: Px,
) -> Result<DrawingArea<DB, Shift>, String> {
    titled(area, text, px.font(16, GREY_TEXT), px.n(22))
}

fn note_style(px: Px, size: u32) -> TextStyle<'static> {
    px.font(size, GREY_TEXT)
        .pos(Pos::new(HPos::Center, VPos::Center))
}

/// The colour of reach `i`: Tableau-10 for the first 10 reaches, then hues a golden angle apart.
/// It depends on `i` alone, so a reach has the same colour in every plot, however many reaches
/// each shows.
fn reach_color(i: usize) -> RGBColor {
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
    match TAB10.get(i) {
        Some(&c) => c,
        None => {
            let hue = (0.07 + (i - TAB10.len()) as f64 * 0.618_034).fract();
            let lightness = if (i / 5).is_multiple_of(2) {
                0.42
            } else {
                0.55
            };
            let (r, g, b) = HSLColor(hue, 0.8, lightness).to_backend_color().rgb;
            RGBColor(r, g, b)
        }
    }
}

/// Values beyond this magnitude are skipped like infinities: axis ranges built from them
/// overflow (and hang plotters' tick generation), and they only arise from divergence.
const MAX_MAGNITUDE: f64 = 1e100;

/// Whether `v` can be plotted: finite and not absurdly large.
fn plottable(v: f64) -> bool {
    v.is_finite() && v.abs() <= MAX_MAGNITUDE
}

/// Min and max of the plottable values, if any.
fn finite_range(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .into_iter()
        .filter(|&v| plottable(v))
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// The narrowest linear axis range: plotters computes no ticks for ranges near `f64::EPSILON`.
const MIN_SPAN: f64 = 1e-12;

/// Widen `[lo, hi]` by `frac` of its width on both sides; a degenerate range gets a width (at
/// least [`MIN_SPAN`]).
fn padded(lo: f64, hi: f64, frac: f64) -> (f64, f64) {
    let width = hi - lo;
    let scale = lo.abs().max(hi.abs());
    if width <= 1e-9 * scale || width < MIN_SPAN {
        let mid = 0.5 * (lo + hi);
        let half = (0.1 * scale).max(0.5 * width).max(MIN_SPAN);
        let half = if scale > 0.0 { half } else { 0.5 };
        return (mid - half, mid + half);
    }
    (lo - frac * width, hi + frac * width)
}

/// The x range of a time axis with `steps` samples `dt` apart.
fn time_range(steps: usize, dt: f64) -> (f64, f64) {
    if steps > 1 {
        (0.0, (steps - 1) as f64 * dt)
    } else {
        padded(0.0, 0.0, 0.0)
    }
}

/// The time step to use and the x-axis description: with an unusable `dt` the axis shows steps.
fn time_axis(dt: f64) -> (f64, &'static str) {
    if dt.is_finite() && dt > 0.0 {
        (dt, "time (s)")
    } else {
        (1.0, "step")
    }
}

fn finite_point(x: f64, y: f64) -> Option<(f64, f64)> {
    (plottable(x) && plottable(y)).then_some((x, y))
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

/// Draw a broken line: each run of valid points as a line, an isolated point as a dot.
/// Returns whether anything was drawn.
///
/// On the bitmap backend a wide line is drawn segment by segment with round joints: plotters
/// fills a wide polyline as one polygon, which for a jagged curve (a noisy loss) overlaps itself
/// and leaves spikes and holes.
fn draw_runs<'c, DB, X, Y>(
    chart: &mut ChartContext<'c, DB, Cartesian2d<X, Y>>,
    points: impl IntoIterator<Item = Option<(f64, f64)>>,
    color: RGBColor,
    width: u32,
    px: Px,
) -> Result<bool, String>
where
    DB: DrawingBackend + 'c,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let runs = runs(points);
    let style = color.stroke_width(width);
    for run in &runs {
        if let [p] = run[..] {
            let dot = Circle::new(p, (width * 3 / 2 + 1) as i32, color.filled());
            chart.draw_series(std::iter::once(dot)).msg()?;
        } else if px.raster && width > 1 {
            // Keep only points that move to another pixel: zero-length segments have no
            // direction.
            let mut kept = vec![run[0]];
            let mut last = chart.backend_coord(&run[0]);
            for &p in &run[1..] {
                let at = chart.backend_coord(&p);
                if at != last {
                    kept.push(p);
                    last = at;
                }
            }
            if let [p] = kept[..] {
                // The whole run falls on one pixel.
                let dot = Circle::new(p, (width * 3 / 2 + 1) as i32, color.filled());
                chart.draw_series(std::iter::once(dot)).msg()?;
                continue;
            }
            let segments = kept
                .windows(2)
                .map(|w| PathElement::new(vec![w[0], w[1]], style));
            chart.draw_series(segments).msg()?;
            if width >= 3 && kept.len() > 2 {
                let r = (width / 2) as i32;
                let joints = kept[1..kept.len() - 1]
                    .iter()
                    .map(|&p| Circle::new(p, r, color.filled()));
                chart.draw_series(joints).msg()?;
            }
        } else {
            chart
                .draw_series(LineSeries::new(run.iter().copied(), style))
                .msg()?;
        }
    }
    Ok(!runs.is_empty())
}

/// Draw a centred grey note (e.g. "no data") at data coordinates `at`.
fn draw_note<'c, DB, X, Y>(
    chart: &mut ChartContext<'c, DB, Cartesian2d<X, Y>>,
    text: &str,
    at: (f64, f64),
    style: TextStyle,
) -> DrawResult
where
    DB: DrawingBackend + 'c,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    chart
        .draw_series(std::iter::once(Text::new(text.to_string(), at, style)))
        .msg()?;
    Ok(())
}

fn draw_legend<'c, DB, X, Y>(
    chart: &mut ChartContext<'c, DB, Cartesian2d<X, Y>>,
    px: Px,
) -> DrawResult
where
    DB: DrawingBackend + 'c,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(px.font(AXIS_DESC_SIZE - 1, TEXT))
        .legend_area_size(px.n(36))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(160, 160, 160))
        .margin(px.n(12))
        .draw()
        .msg()
}

/// A compact tick label: the shortest of a few fixed or scientific formats that represents `v`.
/// Values below `span * 1e-9` (rounding noise around a zero tick) are shown as 0.
fn fmt_tick(v: f64, span: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let a = v.abs();
    if a == 0.0 || a < span.abs() * 1e-9 {
        return "0".to_string();
    }
    let close = |s: &str| s.parse::<f64>().is_ok_and(|p| (p - v).abs() <= 1e-6 * a);
    if (1e-3..1e5).contains(&a) {
        (0..=6)
            .map(|prec| format!("{v:.prec$}"))
            .find(|s| close(s))
            .unwrap_or_else(|| format!("{v:.6}"))
    } else {
        (0..=4)
            .map(|prec| format!("{v:.prec$e}"))
            .find(|s| close(s))
            .unwrap_or_else(|| format!("{v:.4e}"))
    }
}

/// Layout of one chart panel, in unscaled pixels.
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
    x_label_area: 62,
    y_label_area: 88,
    axis_desc: AXIS_DESC_SIZE,
    tick_label: TICK_LABEL_SIZE,
    x_ticks: 10,
    y_ticks: 10,
};

fn chart_builder<'a, 'b, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    sizes: PanelSizes,
    px: Px,
) -> ChartBuilder<'a, 'b, DB> {
    let mut builder = ChartBuilder::on(area);
    builder
        .margin(px.n(sizes.margin))
        .margin_right(px.n(sizes.margin + 12))
        .x_label_area_size(px.n(sizes.x_label_area))
        .y_label_area_size(px.n(sizes.y_label_area));
    builder
}

/// A linear 2-D chart with its axes drawn.
fn linear_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    x: (f64, f64),
    y: (f64, f64),
    (x_desc, y_desc): (&str, &str),
    sizes: PanelSizes,
    px: Px,
) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>, String> {
    let mut chart = chart_builder(area, sizes, px)
        .build_cartesian_2d(x.0..x.1, y.0..y.1)
        .msg()?;
    draw_axes(&mut chart, (x_desc, y_desc), sizes, px)?;
    Ok(chart)
}

/// Grid, axes, tick labels and axis descriptions.
fn draw_axes<DB, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    (x_desc, y_desc): (&str, &str),
    sizes: PanelSizes,
    px: Px,
) -> DrawResult
where
    DB: DrawingBackend,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let (xr, yr) = (chart.x_range(), chart.y_range());
    let x_fmt = move |v: &f64| fmt_tick(*v, xr.end - xr.start);
    let y_fmt = move |v: &f64| fmt_tick(*v, yr.end - yr.start);
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_labels(sizes.x_ticks)
        .y_labels(sizes.y_ticks)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(px.font(sizes.tick_label, TEXT))
        .axis_desc_style(px.font(sizes.axis_desc, TEXT))
        .set_all_tick_mark_size(px.n(5))
        .bold_line_style(RGBColor(218, 218, 218).stroke_width(px.n(1)))
        .light_line_style(RGBColor(242, 242, 242).stroke_width(px.n(1)))
        .axis_style(RGBColor(80, 80, 80).stroke_width(px.n(1)))
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
        finite_point(x, y).filter(|_| !self.log_y || y >= 1.0 / MAX_MAGNITUDE)
    }

    fn y_desc(&self, log_axis: bool) -> String {
        let base = match self.series {
            [(label, _)] => label.to_string(),
            _ => "value".to_string(),
        };
        match (self.log_y, log_axis) {
            (true, true) => format!("{base} (log scale)"),
            (true, false) => format!("{base} (too small for a log scale)"),
            _ => base,
        }
    }

    /// Draw the series, legend and (without data) a note on a chart whose axes are drawn.
    fn draw_series<'c, DB, Y>(
        &self,
        chart: &mut ChartContext<'c, DB, Cartesian2d<RangedCoordf64, Y>>,
        has_data: bool,
        centre: (f64, f64),
        px: Px,
    ) -> DrawResult
    where
        DB: DrawingBackend + 'c,
        Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        for (i, (label, points)) in self.series.iter().enumerate() {
            let color = reach_color(i);
            // An empty series carries the legend entry, so every series is listed even if it
            // has no drawable point.
            let (w, len) = (px.i(3), px.i(26));
            chart
                .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
                .msg()?
                .label(*label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + len, y)], color.stroke_width(w as u32))
                });
            // Dense curves (e.g. a per-batch loss) read better with thinner lines.
            let width = if points.len() > 300 { 1 } else { 2 };
            draw_runs(
                chart,
                points.iter().map(|&p| self.point(p)),
                color,
                px.n(width),
                px,
            )?;
        }
        if !has_data {
            let msg = if self.series.is_empty() {
                "no data"
            } else if self.log_y {
                "no finite positive values to plot"
            } else {
                "no finite values to plot"
            };
            draw_note(chart, msg, centre, note_style(px, NOTE_SIZE))?;
        }
        if !self.series.is_empty() {
            draw_legend(chart, px)?;
        }
        Ok(())
    }
}

impl Figure for LossFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, px: Px) -> DrawResult {
        let area = background_and_title(root, self.title, px)?;
        let points = || {
            self.series
                .iter()
                .flat_map(|(_, pts)| pts.iter().filter_map(|&p| self.point(p)))
        };
        let xr = finite_range(points().map(|p| p.0));
        let yr = finite_range(points().map(|p| p.1));
        let has_data = xr.is_some();
        let x = xr.map_or((0.0, 1.0), |(lo, hi)| padded(lo, hi, 0.02));
        // plotters puts no ticks on a log axis below 2.2e-16 (it takes them for zero), so data
        // that small get a linear axis.
        let log_axis = self.log_y && yr.is_none_or(|(_, hi)| hi >= 1e-14);
        let y_desc = self.y_desc(log_axis);
        let desc = ("batch", y_desc.as_str());
        if log_axis {
            // Whole decades (a hair wider, against rounding), so the axis always has labelled
            // ticks.
            let (lo, hi) = yr.unwrap_or((0.1, 1.0));
            let mut lo = 10f64.powf(lo.log10().floor());
            let mut hi = 10f64.powf(hi.log10().ceil());
            if hi <= lo {
                lo /= 10.0;
                hi *= 10.0;
            }
            let (lo, hi) = (lo * (1.0 - 1e-9), hi * (1.0 + 1e-9));
            let mut chart = chart_builder(&area, FULL_PANEL, px)
                .build_cartesian_2d(x.0..x.1, (lo..hi).log_scale())
                .msg()?;
            draw_axes(&mut chart, desc, FULL_PANEL, px)?;
            let centre = (0.5 * (x.0 + x.1), (lo * hi).sqrt());
            self.draw_series(&mut chart, has_data, centre, px)
        } else {
            let y = yr.map_or((0.0, 1.0), |(lo, hi)| padded(lo, hi, 0.05));
            let mut chart = linear_chart(&area, x, y, desc, FULL_PANEL, px)?;
            let centre = (0.5 * (x.0 + x.1), 0.5 * (y.0 + y.1));
            self.draw_series(&mut chart, has_data, centre, px)
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
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, px: Px) -> DrawResult {
        let area = background_and_title(root, self.title, px)?;
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
                // The same margin on both axes, so targets near the edge stay inside; at least
                // 10 cm shown, so a lone point is not blown up.
                let span = (x1 - x0).max(y1 - y0);
                let pad = 0.08 * span + 0.5 * (0.1 - span).max(0.0);
                ((x0 - pad, x1 + pad), (y0 - pad, y1 + pad))
            }
            _ => ((-0.5, 0.5), (-0.5, 0.5)),
        };

        // Equal scaling: find the plotting area's size in pixels, then widen the axis with
        // fewer metres per pixel until both have the same.
        let build = |x: (f64, f64), y: (f64, f64)| {
            chart_builder(&area, FULL_PANEL, px)
                .build_cartesian_2d(x.0..x.1, y.0..y.1)
                .msg()
        };
        let (px_x, px_y) = build(x, y)?.plotting_area().get_pixel_range();
        let w_px = f64::from((px_x.end - px_x.start).max(1));
        let h_px = f64::from((px_y.end - px_y.start).max(1));
        let per_px = ((x.1 - x.0) / w_px).max((y.1 - y.0) / h_px);
        let widen = |(lo, hi): (f64, f64), pixels: f64| {
            let mid = 0.5 * (lo + hi);
            (mid - 0.5 * per_px * pixels, mid + 0.5 * per_px * pixels)
        };
        let (x, y) = (widen(x, w_px), widen(y, h_px));
        let mut chart = build(x, y)?;
        // About one tick per 100 (unscaled) pixels on both axes keeps the grid square.
        let mut sizes = FULL_PANEL;
        sizes.x_ticks = (w_px / f64::from(px.n(100))).round().max(2.0) as usize;
        sizes.y_ticks = (h_px / f64::from(px.n(100))).round().max(2.0) as usize;
        draw_axes(&mut chart, ("x (m)", "y (m)"), sizes, px)?;

        for (i, path) in self.paths.iter().enumerate() {
            let points = path.iter().map(|p| finite_point(p[0], p[1]));
            draw_runs(&mut chart, points, reach_color(i), px.n(2), px)?;
        }
        let targets: Vec<_> = self
            .targets
            .iter()
            .enumerate()
            .filter_map(|(i, p)| finite_point(p[0], p[1]).map(|p| (i, p)))
            .collect();
        let radius = px.i(TARGET_RADIUS_PX);
        chart
            .draw_series(
                targets
                    .iter()
                    .map(|&(i, p)| Circle::new(p, radius, reach_color(i).mix(0.2).filled())),
            )
            .msg()?;
        let (marker, line) = (px.i(8), px.n(2));
        chart
            .draw_series(
                targets
                    .iter()
                    .map(|&(i, p)| Circle::new(p, radius, reach_color(i).stroke_width(line))),
            )
            .msg()?
            .label("target")
            .legend(move |(x, y)| Circle::new((x + marker, y), marker, BLACK.stroke_width(line)));
        let starts: Vec<_> = self
            .starts
            .iter()
            .filter_map(|p| finite_point(p[0], p[1]))
            .collect();
        let (cross, thick) = (px.i(7), px.n(3));
        chart
            .draw_series(
                starts
                    .iter()
                    .map(|&p| Cross::new(p, cross, BLACK.stroke_width(thick))),
            )
            .msg()?
            .label("start")
            .legend(move |(x, y)| Cross::new((x + marker, y), cross, BLACK.stroke_width(thick)));

        if has_data {
            draw_legend(&mut chart, px)?;
        } else {
            let centre = (0.5 * (x.0 + x.1), 0.5 * (y.0 + y.1));
            draw_note(&mut chart, "no data", centre, note_style(px, NOTE_SIZE))?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Speed
// ---------------------------------------------------------------------------------------------

struct SpeedFigure<'a> {
    title: &'a str,
    dt: f64,
    speeds: &'a [Vec<f64>],
}

impl Figure for SpeedFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, px: Px) -> DrawResult {
        let area = background_and_title(root, self.title, px)?;
        let n = self.speeds.len();
        let area = subtitle(
            &area,
            &format!(
                "{n} reach{}, one colour per reach (as in the reach plot)",
                if n == 1 { "" } else { "es" }
            ),
            px,
        )?;
        let (dt, x_desc) = time_axis(self.dt);
        let steps = self.speeds.iter().map(Vec::len).max().unwrap_or(0);
        let x = time_range(steps, dt);
        let y = match finite_range(self.speeds.iter().flatten().copied()) {
            Some((lo, hi)) => {
                let (plo, phi) = padded(lo.min(0.0), hi.max(0.0), 0.05);
                // Speeds are >= 0: start the axis at 0 unless the data go below it.
                (if lo >= 0.0 { 0.0 } else { plo }, phi)
            }
            None => (0.0, 1.0),
        };
        let desc = (x_desc, "endpoint speed (m/s)");
        let mut chart = linear_chart(&area, x, y, desc, FULL_PANEL, px)?;
        let mut any = false;
        for (i, speed) in self.speeds.iter().enumerate() {
            let points = speed
                .iter()
                .enumerate()
                .map(|(k, &v)| finite_point(k as f64 * dt, v));
            any |= draw_runs(&mut chart, points, reach_color(i), px.n(2), px)?;
        }
        if !any {
            let centre = (0.5 * (x.0 + x.1), 0.5 * (y.0 + y.1));
            draw_note(&mut chart, "no data", centre, note_style(px, NOTE_SIZE))?;
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
        let cols = n.isqrt() + usize::from(n.isqrt().pow(2) < n);
        (n.div_ceil(cols), cols)
    }
}

impl Figure for ActivationFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let (rows, cols) = self.grid();
        let w = (cols as u32 * 300).clamp(FIGURE_SIZE.0, 1800);
        let h = (90 + rows as u32 * 305).clamp(FIGURE_SIZE.1, 1800);
        (w, h)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, px: Px) -> DrawResult {
        let area = background_and_title(root, self.title, px)?;
        let reaches = &self.activations[..self.activations.len().min(self.max_reaches)];
        if self.n_muscles == 0 || reaches.is_empty() {
            let (w, h) = area.dim_in_pixel();
            let msg = if self.n_muscles == 0 {
                "no activation data"
            } else if self.max_reaches == 0 && !self.activations.is_empty() {
                "no reaches to plot (max_reaches is 0)"
            } else {
                "no reaches to plot"
            };
            area.draw_text(
                msg,
                &note_style(px, NOTE_SIZE),
                (w as i32 / 2, h as i32 / 2),
            )
            .msg()?;
            return Ok(());
        }
        let area = subtitle(
            &area,
            &format!(
                "first {} of {} reaches, one colour per reach (as in the reach plot)",
                reaches.len(),
                self.activations.len()
            ),
            px,
        )?;

        let (dt, x_desc) = time_axis(self.dt);
        let x = time_range(reaches.iter().map(Vec::len).max().unwrap_or(0), dt);
        // One activation axis for all panels: [0, 1] unless the data leave it.
        let y = match finite_range(reaches.iter().flatten().flatten().copied()) {
            Some((lo, hi)) => (lo.min(0.0), hi.max(1.0)),
            None => (0.0, 1.0),
        };
        let y = (y.0 - 0.03 * (y.1 - y.0), y.1 + 0.03 * (y.1 - y.0));

        let sizes = PanelSizes {
            margin: 8,
            x_label_area: 46,
            y_label_area: 62,
            axis_desc: 15,
            tick_label: 13,
            x_ticks: 6,
            y_ticks: 6,
        };
        let (rows, cols) = self.grid();
        let panels = area.split_evenly((rows, cols));
        for (m, panel) in panels.iter().enumerate().take(self.n_muscles) {
            let name = self
                .muscle_names
                .get(m)
                .cloned()
                .unwrap_or_else(|| format!("muscle {m}"));
            let panel = titled(panel, &name, px.font(18, TEXT), px.n(30))?;
            let desc = (x_desc, "activation");
            let mut chart = linear_chart(&panel, x, y, desc, sizes, px)?;
            let mut any = false;
            for (i, reach) in reaches.iter().enumerate() {
                let points = reach
                    .iter()
                    .enumerate()
                    .map(|(k, step)| step.get(m).and_then(|&v| finite_point(k as f64 * dt, v)));
                let color = reach_color(i);
                any |= draw_runs(&mut chart, points, color, px.n(2), px)?;
            }
            if !any {
                let centre = (0.5 * (x.0 + x.1), 0.5 * (y.0 + y.1));
                draw_note(&mut chart, "no data", centre, note_style(px, 15))?;
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
