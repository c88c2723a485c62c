//! What every figure shares: text styles, colours, ranges that survive non-finite and degenerate data,
//! lines broken at gaps, notes, legends, tick labels, axes.

use super::*;

pub(super) const TEXT: RGBColor = RGBColor(0, 0, 0);
pub(super) const GREY_TEXT: RGBColor = RGBColor(100, 100, 100);

/// Draw `text` centred in a band of `band` px at the top of `area`; returns the rest.
pub(super) fn titled<DB: DrawingBackend>(
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
pub(super) fn background_and_title<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    px: Px,
) -> Result<DrawingArea<DB, Shift>, String> {
    root.fill(&WHITE).msg()?;
    titled(root, title, px.font(TITLE_SIZE, TEXT), px.n(TITLE_SIZE * 2))
}

pub(super) fn subtitle<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    px: Px,
) -> Result<DrawingArea<DB, Shift>, String> {
    titled(area, text, px.font(16, GREY_TEXT), px.n(22))
}

pub(super) fn note_style(px: Px, size: u32) -> TextStyle<'static> {
    px.font(size, GREY_TEXT)
        .pos(Pos::new(HPos::Center, VPos::Center))
}

/// The colour of reach `i`: Tableau-10 for the first 10 reaches, then hues a golden angle apart.
/// It depends on `i` alone, so a reach has the same colour in every plot, however many reaches
/// each shows.
pub(super) fn reach_color(i: usize) -> RGBColor {
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
pub(super) const MAX_MAGNITUDE: f64 = 1e100;

/// Whether `v` can be plotted: finite and not absurdly large.
pub(super) fn plottable(v: f64) -> bool {
    v.is_finite() && v.abs() <= MAX_MAGNITUDE
}

/// Min and max of the plottable values, if any.
pub(super) fn finite_range(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .into_iter()
        .filter(|&v| plottable(v))
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// The narrowest linear axis range: plotters computes no ticks for ranges near `f64::EPSILON`.
pub(super) const MIN_SPAN: f64 = 1e-12;

/// Widen `[lo, hi]` by `frac` of its width on both sides; a degenerate range gets a width (at
/// least [`MIN_SPAN`]).
pub(super) fn padded(lo: f64, hi: f64, frac: f64) -> (f64, f64) {
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
pub(super) fn time_range(steps: usize, dt: f64) -> (f64, f64) {
    if steps > 1 {
        (0.0, (steps - 1) as f64 * dt)
    } else {
        padded(0.0, 0.0, 0.0)
    }
}

/// The time step to use and the x-axis description: with an unusable `dt` the axis shows steps.
pub(super) fn time_axis(dt: f64) -> (f64, &'static str) {
    if dt.is_finite() && dt > 0.0 {
        (dt, "time (s)")
    } else {
        (1.0, "step")
    }
}

pub(super) fn finite_point(x: f64, y: f64) -> Option<(f64, f64)> {
    (plottable(x) && plottable(y)).then_some((x, y))
}

/// Split a sequence of optional points into runs of consecutive valid points.
pub(super) fn runs<P: Copy>(points: impl IntoIterator<Item = Option<P>>) -> Vec<Vec<P>> {
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
pub(super) fn draw_runs<'c, DB, X, Y>(
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
pub(super) fn draw_note<'c, DB, X, Y>(
    chart: &mut ChartContext<'c, DB, Cartesian2d<X, Y>>,
    text: &str,
    at: (f64, f64),
    style: TextStyle,
) -> Drawn
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

pub(super) fn draw_legend<'c, DB, X, Y>(
    chart: &mut ChartContext<'c, DB, Cartesian2d<X, Y>>,
    px: Px,
) -> Drawn
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
pub(super) fn fmt_tick(v: f64, span: f64) -> String {
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
pub(super) struct PanelSizes {
    pub(super) margin: u32,
    pub(super) x_label_area: u32,
    pub(super) y_label_area: u32,
    pub(super) axis_desc: u32,
    pub(super) tick_label: u32,
    pub(super) x_ticks: usize,
    pub(super) y_ticks: usize,
}

pub(super) const FULL_PANEL: PanelSizes = PanelSizes {
    margin: 15,
    x_label_area: 62,
    y_label_area: 88,
    axis_desc: AXIS_DESC_SIZE,
    tick_label: TICK_LABEL_SIZE,
    x_ticks: 10,
    y_ticks: 10,
};

pub(super) fn chart_builder<'a, 'b, DB: DrawingBackend>(
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
pub(super) fn linear_chart<'a, DB: DrawingBackend>(
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
pub(super) fn draw_axes<DB, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    (x_desc, y_desc): (&str, &str),
    sizes: PanelSizes,
    px: Px,
) -> Drawn
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
