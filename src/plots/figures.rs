//! The figures: training curves, reaches, endpoint speed, muscle activations.

use super::*;

// ---------------------------------------------------------------------------------------------
// Loss
// ---------------------------------------------------------------------------------------------

pub(super) struct LossFigure<'a> {
    pub(super) title: &'a str,
    pub(super) series: &'a [(&'a str, &'a [(f64, f64)])],
    pub(super) log_y: bool,
}

impl LossFigure<'_> {
    pub(super) fn point(&self, (x, y): (f64, f64)) -> Option<(f64, f64)> {
        finite_point(x, y).filter(|_| !self.log_y || y >= 1.0 / MAX_MAGNITUDE)
    }

    pub(super) fn y_desc(&self, log_axis: bool) -> String {
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
    pub(super) fn draw_series<'c, DB, Y>(
        &self,
        chart: &mut ChartContext<'c, DB, Cartesian2d<RangedCoordf64, Y>>,
        has_data: bool,
        centre: (f64, f64),
        px: Px,
    ) -> Drawn
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
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, px: Px) -> Drawn {
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

/// Reaches in space as their projections on planes, side by side (each a [`ReachFigure`] titled with
/// its plane).
pub(super) struct ReachProjections<'a> {
    pub(super) title: &'a str,
    pub(super) panels: Vec<ReachFigure<'a>>,
}

impl Figure for ReachProjections<'_> {
    fn size(&self) -> (u32, u32) {
        (
            (self.panels.len().max(1) as u32 * 640).min(1800),
            FIGURE_SIZE.1,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, px: Px) -> Drawn {
        let area = background_and_title(root, self.title, px)?;
        for (panel, area) in self
            .panels
            .iter()
            .zip(area.split_evenly((1, self.panels.len().max(1))))
        {
            panel.draw(&area, px)?;
        }
        Ok(())
    }
}

pub(super) struct ReachFigure<'a> {
    pub(super) title: &'a str,
    pub(super) paths: &'a [Vec<[f64; 2]>],
    pub(super) targets: &'a [[f64; 2]],
    pub(super) starts: &'a [[f64; 2]],
    /// The colour index of each path and target (default: its own index).
    pub(super) groups: Option<&'a [usize]>,
    /// The axes' names: `("x (m)", "y (m)")`, or another plane's of a projection.
    pub(super) axes: (&'a str, &'a str),
}

impl ReachFigure<'_> {
    fn color(&self, i: usize) -> RGBColor {
        reach_color(self.groups.and_then(|g| g.get(i).copied()).unwrap_or(i))
    }
}

impl Figure for ReachFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, px: Px) -> Drawn {
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
        draw_axes(&mut chart, self.axes, sizes, px)?;

        for (i, path) in self.paths.iter().enumerate() {
            let points = path.iter().map(|p| finite_point(p[0], p[1]));
            draw_runs(&mut chart, points, self.color(i), px.n(2), px)?;
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
                    .map(|&(i, p)| Circle::new(p, radius, self.color(i).mix(0.2).filled())),
            )
            .msg()?;
        let (marker, line) = (px.i(8), px.n(2));
        chart
            .draw_series(
                targets
                    .iter()
                    .map(|&(i, p)| Circle::new(p, radius, self.color(i).stroke_width(line))),
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

pub(super) struct SpeedFigure<'a> {
    pub(super) title: &'a str,
    pub(super) dt: f64,
    pub(super) speeds: &'a [Vec<f64>],
}

impl Figure for SpeedFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, px: Px) -> Drawn {
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

pub(super) struct ActivationFigure<'a> {
    pub(super) title: &'a str,
    pub(super) dt: f64,
    pub(super) muscle_names: &'a [String],
    pub(super) activations: &'a [Vec<Vec<f64>>],
    pub(super) max_reaches: usize,
    pub(super) n_muscles: usize,
    /// The y axis: its description, and whether it always shows [0, 1] (activations) rather than the
    /// data's range with 0.
    pub(super) y_desc: &'a str,
    pub(super) unit_range: bool,
    /// The line under the title (default: which reaches are shown).
    pub(super) note: Option<&'a str>,
}

impl ActivationFigure<'_> {
    /// (rows, columns) of the panel grid.
    pub(super) fn grid(&self) -> (usize, usize) {
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

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, px: Px) -> Drawn {
        let area = background_and_title(root, self.title, px)?;
        let reaches = &self.activations[..self.activations.len().min(self.max_reaches)];
        if self.n_muscles == 0 || reaches.is_empty() {
            let (w, h) = area.dim_in_pixel();
            let msg = if self.n_muscles == 0 {
                "no data"
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
            &self.note.map(str::to_string).unwrap_or_else(|| {
                format!(
                    "first {} of {} reaches, one colour per reach (as in the reach plot)",
                    reaches.len(),
                    self.activations.len()
                )
            }),
            px,
        )?;

        let (dt, x_desc) = time_axis(self.dt);
        let x = time_range(reaches.iter().map(Vec::len).max().unwrap_or(0), dt);
        // One axis for all panels: [0, 1] for activations unless the data leave it; else the data's range
        // with 0.
        let y = match finite_range(reaches.iter().flatten().flatten().copied()) {
            Some((lo, hi)) if self.unit_range => (lo.min(0.0), hi.max(1.0)),
            Some((lo, hi)) => padded(lo.min(0.0), hi.max(0.0), 0.0),
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
            let desc = (x_desc, self.y_desc);
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
