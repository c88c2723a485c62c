//! The figures of `motornet show`: the skeleton with its muscle paths and workspace, lengths and moment
//! arms across each joint's range, normalised fibre lengths across the workspace, and the muscle model's
//! curves.

use super::*;
use crate::show::{FibreStatus, Inspection, Scene, View};

/// Panel layout of the multi-panel figures.
const SMALL_PANEL: PanelSizes = PanelSizes {
    margin: 8,
    x_label_area: 46,
    y_label_area: 70,
    axis_desc: 15,
    tick_label: 13,
    x_ticks: 6,
    y_ticks: 6,
};

/// Names of the muscles in their colours, in rows across the top of `area`; returns the rest.
fn legend_band<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    names: &[String],
    px: Px,
) -> Result<DrawingArea<DB, Shift>, String> {
    if names.is_empty() {
        return Ok(area.clone());
    }
    let (w, _) = area.dim_in_pixel();
    let per_row = ((w / px.n(170)).max(1) as usize).min(names.len());
    let rows = names.len().div_ceil(per_row);
    let (band, rest) = area.split_vertically(px.n(24) * rows as u32 + px.n(6));
    let cell = w as i32 / per_row as i32;
    for (i, name) in names.iter().enumerate() {
        let (r, c) = ((i / per_row) as i32, (i % per_row) as i32);
        let y = px.i(14) + r * px.i(24);
        let x = c * cell + px.i(10);
        let color = reach_color(i);
        band.draw(&PathElement::new(
            vec![(x, y), (x + px.i(22), y)],
            color.stroke_width(px.n(4)),
        ))
        .msg()?;
        let style = px.font(15, TEXT).pos(Pos::new(HPos::Left, VPos::Center));
        band.draw_text(&crate::input::shorten(name, 20), &style, (x + px.i(28), y))
            .msg()?;
    }
    Ok(rest)
}

/// A chart with equal metres per pixel on both axes, covering at least `x` × `y`, its axes those of
/// `view`.
fn equal_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    x: (f64, f64),
    y: (f64, f64),
    view: View,
    sizes: PanelSizes,
    px: Px,
) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>, String> {
    let build = |x: (f64, f64), y: (f64, f64)| {
        chart_builder(area, sizes, px)
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
    let mut sizes = sizes;
    sizes.x_ticks = (w_px / f64::from(px.n(100))).round().max(2.0) as usize;
    sizes.y_ticks = (h_px / f64::from(px.n(100))).round().max(2.0) as usize;
    let (across, up) = view.axis_names();
    draw_axes(
        &mut chart,
        (&format!("{across} (m)"), &format!("{up} (m)")),
        sizes,
        px,
    )?;
    Ok(chart)
}

/// A square-ish range around points, with a margin.
fn around(points: impl Iterator<Item = [f64; 2]> + Clone) -> ((f64, f64), (f64, f64)) {
    let xr = finite_range(points.clone().map(|p| p[0]));
    let yr = finite_range(points.map(|p| p[1]));
    match (xr, yr) {
        (Some((x0, x1)), Some((y0, y1))) => {
            let span = (x1 - x0).max(y1 - y0).max(0.05);
            let pad = 0.08 * span;
            ((x0 - pad, x1 + pad), (y0 - pad, y1 + pad))
        }
        _ => ((-0.5, 0.5), (-0.5, 0.5)),
    }
}

fn pt(p: [f64; 2]) -> Option<(f64, f64)> {
    finite_point(p[0], p[1])
}

// ---------------------------------------------------------------------------------------------
// The skeleton
// ---------------------------------------------------------------------------------------------

pub(super) struct SkeletonFigure<'a> {
    pub(super) title: &'a str,
    pub(super) ins: &'a Inspection,
}

impl Figure for SkeletonFigure<'_> {
    fn size(&self) -> (u32, u32) {
        if self.ins.side_views.is_empty() {
            (1000, 900)
        } else {
            (1800, 760)
        }
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, px: Px) -> Drawn {
        let area = background_and_title(root, self.title, px)?;
        let posture: Vec<String> = self
            .ins
            .coord_names
            .iter()
            .zip(&self.ins.posture)
            .map(|(n, v)| format!("{n} {v:.2}"))
            .collect();
        let area = subtitle(
            &area,
            &format!(
                "posture: {}; grey: reachable endpoints; arrows: isometric endpoint force at full activation{}",
                posture.join(", "),
                if self.ins.side_views.is_empty() {
                    ""
                } else {
                    "; wraps drawn straight"
                }
            ),
            px,
        )?;
        let area = legend_band(&area, &self.ins.muscle_names, px)?;
        // Arrows on one scale in every view: the largest force (in space, not projected) is a fifth of
        // the first view's width.
        let largest = self
            .ins
            .endpoint_forces
            .iter()
            .flatten()
            .map(|f| f.iter().map(|v| v * v).sum::<f64>().sqrt())
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        let scenes: Vec<&Scene> = std::iter::once(&self.ins.scene)
            .chain(&self.ins.side_views)
            .collect();
        if scenes.len() == 1 {
            return self.panel(&area, &self.ins.scene, largest, None, px);
        }
        let span = {
            let s = &self.ins.scene;
            let (x, y) = around(scene_points(s));
            (x.1 - x.0).max(y.1 - y.0)
        };
        let panels = area.split_evenly((1, scenes.len()));
        for (k, (panel, scene)) in panels.iter().zip(scenes).enumerate() {
            let (across, up) = scene.view.axis_names();
            let name = ["front", "side", "top"].get(k).copied().unwrap_or("view");
            let panel = titled(
                panel,
                &format!("{name}: {across}–{up}"),
                px.font(17, TEXT),
                px.n(28),
            )?;
            self.panel(&panel, scene, largest, Some(span), px)?;
        }
        Ok(())
    }
}

/// Every point a scene draws (to fit the view around them).
fn scene_points(s: &Scene) -> impl Iterator<Item = [f64; 2]> + Clone + '_ {
    s.workspace
        .iter()
        .copied()
        .chain(s.bodies.iter().flat_map(|b| [b.1, b.2]))
        .chain(s.muscles.iter().flat_map(|m| m.points.iter().copied()))
        .chain(s.outlines.iter().flat_map(|c| c.iter().copied()))
        .chain(std::iter::once(s.endpoint))
}

impl SkeletonFigure<'_> {
    /// One view of the skeleton. `largest`: the largest endpoint force, drawn a fifth of `span` (the view's
    /// own width when `None`).
    fn panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        s: &Scene,
        largest: f64,
        span: Option<f64>,
        px: Px,
    ) -> Drawn {
        let (x, y) = around(scene_points(s));
        let mut chart = equal_chart(area, x, y, s.view, FULL_PANEL, px)?;
        // The workspace.
        let dot = px.i(1).max(1);
        chart
            .draw_series(
                s.workspace
                    .iter()
                    .filter_map(|&p| pt(p))
                    .map(|p| Circle::new(p, dot, RGBColor(190, 190, 190).filled())),
            )
            .msg()?;
        // Obstacles.
        for (_, c, r) in &s.obstacles {
            let circle: Vec<_> = (0..=72)
                .map(|k| {
                    let a = 2.0 * std::f64::consts::PI * f64::from(k) / 72.0;
                    pt([c[0] + r * a.cos(), c[1] + r * a.sin()])
                })
                .collect();
            if let Some(points) = circle.into_iter().collect::<Option<Vec<_>>>() {
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        points.clone(),
                        RGBColor(225, 225, 235).filled(),
                    )))
                    .msg()?;
                draw_runs(
                    &mut chart,
                    points.into_iter().map(Some),
                    RGBColor(120, 120, 140),
                    px.n(1),
                    px,
                )?;
            }
        }
        // Spatial obstacles: outline curves.
        for curve in &s.outlines {
            draw_runs(
                &mut chart,
                curve.iter().map(|&p| pt(p)),
                RGBColor(120, 120, 140),
                px.n(1),
                px,
            )?;
        }
        // Bodies.
        for (_, o, tip) in &s.bodies {
            let line = [pt(*o), pt(*tip)];
            if o != tip {
                draw_runs(&mut chart, line, RGBColor(70, 70, 70), px.n(6), px)?;
            } else if let Some(p) = pt(*o) {
                chart
                    .draw_series(std::iter::once(Circle::new(
                        p,
                        px.i(9),
                        RGBColor(70, 70, 70).filled(),
                    )))
                    .msg()?;
            }
        }
        // Muscle paths.
        for (i, m) in s.muscles.iter().enumerate() {
            let color = reach_color(i);
            draw_runs(
                &mut chart,
                m.points.iter().map(|&p| pt(p)),
                color,
                px.n(3),
                px,
            )?;
            chart
                .draw_series(
                    m.via
                        .iter()
                        .filter_map(|&p| pt(p))
                        .map(|p| Circle::new(p, px.i(4), color.filled())),
                )
                .msg()?;
        }
        // Joints.
        for (_, at) in &s.joints {
            if let Some(p) = pt(*at) {
                chart
                    .draw_series([
                        Circle::new(p, px.i(7), WHITE.filled()),
                        Circle::new(p, px.i(7), BLACK.stroke_width(px.n(2))),
                    ])
                    .msg()?;
            }
        }
        // Isometric endpoint forces, scaled so the largest is a fifth of the view.
        if largest > 0.0 {
            let scale = 0.2 * span.unwrap_or((x.1 - x.0).max(y.1 - y.0)) / largest;
            for (i, f) in s.endpoint_forces.iter().enumerate() {
                if let Some(f) = f {
                    let e = s.endpoint;
                    let tip = [e[0] + scale * f[0], e[1] + scale * f[1]];
                    draw_runs(&mut chart, [pt(e), pt(tip)], reach_color(i), px.n(2), px)?;
                    if let Some(p) = pt(tip) {
                        chart
                            .draw_series(std::iter::once(TriangleMarker::new(
                                p,
                                px.i(5),
                                reach_color(i).filled(),
                            )))
                            .msg()?;
                    }
                }
            }
        }
        // The endpoint.
        if let Some(p) = pt(s.endpoint) {
            chart
                .draw_series(std::iter::once(Circle::new(
                    p,
                    px.i(8),
                    RGBColor(200, 30, 30).filled(),
                )))
                .msg()?;
        }
        let lumped: Vec<&str> = s
            .muscles
            .iter()
            .zip(&self.ins.muscle_names)
            .filter(|(m, _)| m.lumped)
            .map(|(_, n)| n.as_str())
            .collect();
        if !lumped.is_empty() {
            let text = format!(
                "lumped paths (a length formula, no geometry): {}",
                crate::input::shorten(&lumped.join(", "), 90)
            );
            let (xr, yr) = (chart.x_range(), chart.y_range());
            draw_note(
                &mut chart,
                &text,
                (
                    0.5 * (xr.start + xr.end),
                    yr.start + 0.04 * (yr.end - yr.start),
                ),
                note_style(px, 15),
            )?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Lengths and moment arms across each joint's range
// ---------------------------------------------------------------------------------------------

pub(super) struct MomentArmFigure<'a> {
    pub(super) title: &'a str,
    pub(super) ins: &'a Inspection,
}

impl Figure for MomentArmFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let rows = self.ins.sweeps.len().max(1) as u32;
        (1200, (130 + rows * 330).min(2400))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, px: Px) -> Drawn {
        let area = background_and_title(root, self.title, px)?;
        let area = subtitle(
            &area,
            "each coordinate across its range, the others at the shown posture; moment arm = dL/dq (negative: shortening turns the joint forward)",
            px,
        )?;
        let area = legend_band(&area, &self.ins.muscle_names, px)?;
        if self.ins.sweeps.is_empty() || self.ins.muscle_names.is_empty() {
            let (w, h) = area.dim_in_pixel();
            area.draw_text(
                "no muscles or no coordinates",
                &note_style(px, NOTE_SIZE),
                (w as i32 / 2, h as i32 / 2),
            )
            .msg()?;
            return Ok(());
        }
        let panels = area.split_evenly((self.ins.sweeps.len(), 2));
        for (r, sweep) in self.ins.sweeps.iter().enumerate() {
            let name = &self.ins.coord_names[sweep.coord];
            let deg = self.ins.angular.get(sweep.coord).copied().unwrap_or(false);
            let conv = |v: f64| if deg { v.to_degrees() } else { v };
            let x_desc = if deg {
                format!("{name} (deg)")
            } else {
                format!("{name} (m)")
            };
            let xs: Vec<f64> = sweep.values.iter().map(|&v| conv(v)).collect();
            let x = finite_range(xs.iter().copied()).map_or((0.0, 1.0), |(a, b)| padded(a, b, 0.0));
            for (c, (data, y_desc)) in [
                (&sweep.length, "musculotendon length (m)"),
                (
                    &sweep.moment_arm,
                    if deg {
                        "moment arm dL/dq (m/rad)"
                    } else {
                        "dL/dq (m/m)"
                    },
                ),
            ]
            .into_iter()
            .enumerate()
            {
                let y =
                    finite_range(data.iter().flatten().copied()).map_or((0.0, 1.0), |(a, b)| {
                        padded(
                            a.min(if c == 1 { 0.0 } else { a }),
                            b.max(if c == 1 { 0.0 } else { b }),
                            0.05,
                        )
                    });
                let mut chart =
                    linear_chart(&panels[r * 2 + c], x, y, (&x_desc, y_desc), SMALL_PANEL, px)?;
                if c == 1 {
                    draw_runs(
                        &mut chart,
                        [Some((x.0, 0.0)), Some((x.1, 0.0))],
                        RGBColor(120, 120, 120),
                        px.n(1),
                        px,
                    )?;
                }
                for (i, series) in data.iter().enumerate() {
                    let points = xs.iter().zip(series).map(|(&a, &b)| finite_point(a, b));
                    draw_runs(&mut chart, points, reach_color(i), px.n(2), px)?;
                }
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Normalised fibre lengths across the workspace
// ---------------------------------------------------------------------------------------------

/// A perceptual ramp (viridis' endpoints and midpoints) for t in [0, 1].
fn ramp(t: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (STOPS.len() - 1) as f64;
    let k = (x.floor() as usize).min(STOPS.len() - 2);
    let f = x - k as f64;
    let (a, b) = (STOPS[k], STOPS[k + 1]);
    let mix = |u: f64, v: f64| (u + (v - u) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// The fibre-length scale of the colour ramp, in optimal lengths.
const FIBRE_SCALE: (f64, f64) = (0.0, 2.0);

pub(super) struct FibreFigure<'a> {
    pub(super) title: &'a str,
    pub(super) ins: &'a Inspection,
}

impl FibreFigure<'_> {
    fn grid(&self) -> (usize, usize) {
        let n = self.ins.muscle_names.len().max(1);
        let cols = n.isqrt() + usize::from(n.isqrt().pow(2) < n);
        (n.div_ceil(cols), cols)
    }
}

impl Figure for FibreFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let (rows, cols) = self.grid();
        (
            (cols as u32 * 380).clamp(900, 2000),
            (140 + rows as u32 * 360).clamp(700, 2200),
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, px: Px) -> Drawn {
        let area = background_and_title(root, self.title, px)?;
        let area = subtitle(
            &area,
            &format!(
                "endpoint of each workspace posture coloured by the fibre length ({}–{} optimal lengths, dark to light); black ×: slack; red ○: outside the force–length curve's useful range",
                FIBRE_SCALE.0, FIBRE_SCALE.1
            ),
            px,
        )?;
        let ws = &self.ins.workspace;
        if self.ins.muscle_names.is_empty() || !self.ins.has_fibre {
            let (w, h) = area.dim_in_pixel();
            let msg = if self.ins.muscle_names.is_empty() {
                "no muscles"
            } else {
                "this muscle model has no fibre (its force depends on activation alone)"
            };
            area.draw_text(
                msg,
                &note_style(px, NOTE_SIZE),
                (w as i32 / 2, h as i32 / 2),
            )
            .msg()?;
            return Ok(());
        }
        // A spatial workspace is drawn in the first view (its front).
        let view = self.ins.scene.view;
        let endpoints: Vec<[f64; 2]> = ws.endpoints.iter().map(|&p| view.project(p)).collect();
        let (x, y) = around(endpoints.iter().copied());
        let (rows, cols) = self.grid();
        let panels = area.split_evenly((rows, cols));
        let dot = px.i(3);
        for (i, name) in self.ins.muscle_names.iter().enumerate() {
            let (lo, hi) = self.ins.curves[i].useful;
            let head = format!(
                "{} (useful {}–{})",
                crate::input::shorten(name, 24),
                fmt_bound(lo),
                fmt_bound(hi)
            );
            let panel = titled(&panels[i], &head, px.font(16, TEXT), px.n(26))?;
            let mut chart = equal_chart(&panel, x, y, view, SMALL_PANEL, px)?;
            let samples = || {
                endpoints
                    .iter()
                    .zip(&ws.fibre[i])
                    .zip(&ws.status[i])
                    .filter_map(|((&p, &f), &s)| pt(p).map(|p| (p, f, s)))
            };
            chart
                .draw_series(samples().map(|(p, f, _)| {
                    let t = (f - FIBRE_SCALE.0) / (FIBRE_SCALE.1 - FIBRE_SCALE.0);
                    Circle::new(p, dot, ramp(t).filled())
                }))
                .msg()?;
            chart
                .draw_series(
                    samples()
                        .filter(|s| s.2 == FibreStatus::Slack)
                        .map(|(p, ..)| Cross::new(p, dot + px.i(1), BLACK.stroke_width(px.n(1)))),
                )
                .msg()?;
            chart
                .draw_series(
                    samples()
                        .filter(|s| matches!(s.2, FibreStatus::Short | FibreStatus::Long))
                        .map(|(p, ..)| {
                            Circle::new(
                                p,
                                dot + px.i(1),
                                RGBColor(220, 20, 20).stroke_width(px.n(1)),
                            )
                        }),
                )
                .msg()?;
        }
        Ok(())
    }
}

fn fmt_bound(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2}")
    } else if v > 0.0 {
        "∞".into()
    } else {
        "0".into()
    }
}

// ---------------------------------------------------------------------------------------------
// The muscle model
// ---------------------------------------------------------------------------------------------

pub(super) struct MuscleModelFigure<'a> {
    pub(super) title: &'a str,
    pub(super) ins: &'a Inspection,
}

impl Figure for MuscleModelFigure<'_> {
    fn size(&self) -> (u32, u32) {
        (1500, 620)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, px: Px) -> Drawn {
        let area = background_and_title(root, self.title, px)?;
        let ins = self.ins;
        let area = subtitle(
            &area,
            &format!(
                "{}: thick: active force (full activation, isometric); thin: passive force; grey: the useful range",
                ins.muscle_model.as_deref().unwrap_or("no muscle model")
            ),
            px,
        )?;
        let area = legend_band(&area, &ins.muscle_names, px)?;
        let panels = area.split_evenly((1, 3));
        // Force–length.
        let curves = &ins.curves;
        let y_top = finite_range(
            curves
                .iter()
                .flat_map(|c| c.active.iter().chain(&c.passive).copied()),
        )
        .map_or(1.2, |(_, b)| b.clamp(1.0, 3.0) * 1.05);
        {
            let mut chart = linear_chart(
                &panels[0],
                (0.0, 2.0),
                (0.0, y_top),
                ("fibre length / optimal length", "force / max force"),
                SMALL_PANEL,
                px,
            )?;
            for (i, c) in curves.iter().enumerate() {
                let clip = |v: f64| v.min(y_top);
                let act = c
                    .length
                    .iter()
                    .zip(&c.active)
                    .map(|(&l, &f)| (l <= 2.0).then(|| finite_point(l, clip(f))).flatten());
                draw_runs(&mut chart, act, reach_color(i), px.n(2), px)?;
                let pas = c.length.iter().zip(&c.passive).map(|(&l, &f)| {
                    (l <= 2.0 && f < y_top)
                        .then(|| finite_point(l, f))
                        .flatten()
                });
                draw_runs(&mut chart, pas, reach_color(i), px.n(1), px)?;
                if i == 0 {
                    for b in [c.useful.0, c.useful.1] {
                        if b.is_finite() {
                            draw_runs(
                                &mut chart,
                                [Some((b, 0.0)), Some((b, y_top))],
                                RGBColor(150, 150, 150),
                                px.n(1),
                                px,
                            )?;
                        }
                    }
                }
            }
            if curves.iter().all(|c| c.length.is_empty()) {
                draw_note(
                    &mut chart,
                    "no fibre: force = activation × max force",
                    (1.0, 0.5 * y_top),
                    note_style(px, 15),
                )?;
            }
        }
        // Force–velocity.
        {
            let y = finite_range(curves.iter().flat_map(|c| c.force_velocity.iter().copied()))
                .map_or((0.0, 1.5), |(a, b)| padded(a.min(0.0), b.max(1.0), 0.05));
            let mut chart = linear_chart(
                &panels[1],
                (-1.0, 1.0),
                y,
                ("lengthening velocity / vmax", "active force / max force"),
                SMALL_PANEL,
                px,
            )?;
            for (i, c) in curves.iter().enumerate() {
                let points = c
                    .velocity
                    .iter()
                    .zip(&c.force_velocity)
                    .map(|(&v, &f)| finite_point(v, f));
                draw_runs(&mut chart, points, reach_color(i), px.n(2), px)?;
            }
        }
        // Activation dynamics.
        {
            let t_end = ins.activation_time.last().copied().unwrap_or(1.0);
            let mut chart = linear_chart(
                &panels[2],
                padded(0.0, t_end, 0.0),
                (0.0, 1.05),
                ("time (s)", "activation"),
                SMALL_PANEL,
                px,
            )?;
            for (i, a) in ins.activation.iter().enumerate() {
                let points = ins
                    .activation_time
                    .iter()
                    .zip(a)
                    .map(|(&t, &v)| finite_point(t, v));
                draw_runs(&mut chart, points, reach_color(i), px.n(2), px)?;
            }
            if ins.activation_release > 0.0 {
                let r = ins.activation_release;
                draw_runs(
                    &mut chart,
                    [Some((r, 0.0)), Some((r, 1.05))],
                    RGBColor(150, 150, 150),
                    px.n(1),
                    px,
                )?;
                draw_note(&mut chart, "excitation 1 → 0", (r, 0.6), note_style(px, 13))?;
            }
        }
        Ok(())
    }
}
