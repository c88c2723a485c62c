//! Figures of a network's activity (`motornet analyze`): population trajectories in principal components,
//! cosine tuning curves, rose histograms of preferred directions, and activity over time sorted by
//! preferred direction. Reach directions are coloured by hue, the same in every figure.

use super::*;
use std::f64::consts::PI;

/// The colour of a direction (radians): its hue.
pub fn direction_color(angle: f64) -> RGBColor {
    let (r, g, b) = HSLColor(angle.rem_euclid(2.0 * PI) / (2.0 * PI), 0.75, 0.42).rgb();
    RGBColor(r, g, b)
}

const SMALL_PANEL: PanelSizes = PanelSizes {
    margin: 8,
    x_label_area: 46,
    y_label_area: 62,
    axis_desc: 15,
    tick_label: 13,
    x_ticks: 6,
    y_ticks: 6,
};

fn empty_note<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, msg: &str, px: Px) -> Drawn {
    let (w, h) = area.dim_in_pixel();
    area.draw_text(
        msg,
        &note_style(px, NOTE_SIZE),
        (w as i32 / 2, h as i32 / 2),
    )
    .msg()
}

/// Mean population trajectories projected on two principal components, one line per direction.
pub(super) struct PcaFigure<'a> {
    pub(super) title: &'a str,
    /// `(direction, points)`.
    pub(super) lines: &'a [(f64, Vec<[f64; 2]>)],
    pub(super) axes: (&'a str, &'a str),
}

impl Figure for PcaFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, px: Px) -> Drawn {
        let area = background_and_title(root, self.title, px)?;
        let points = || self.lines.iter().flat_map(|l| l.1.iter());
        let (Some(x), Some(y)) = (
            finite_range(points().map(|p| p[0])),
            finite_range(points().map(|p| p[1])),
        ) else {
            return empty_note(&area, "no activity to plot", px);
        };
        let (x, y) = (padded(x.0, x.1, 0.06), padded(y.0, y.1, 0.06));
        let mut chart = linear_chart(&area, x, y, self.axes, FULL_PANEL, px)?;
        for (angle, line) in self.lines {
            let color = direction_color(*angle);
            draw_runs(
                &mut chart,
                line.iter().map(|p| finite_point(p[0], p[1])),
                color,
                px.n(2),
                px,
            )?;
            if let Some(p) = line.first().and_then(|p| finite_point(p[0], p[1])) {
                chart
                    .draw_series([Circle::new(p, px.i(4), color.filled())])
                    .msg()?;
            }
            if let Some(p) = line.last().and_then(|p| finite_point(p[0], p[1])) {
                let (m, w) = (px.i(6), px.n(2));
                chart
                    .draw_series([Cross::new(p, m, color.stroke_width(w))])
                    .msg()?
                    .label(format!("{:.0}°", angle.to_degrees()))
                    .legend(move |(x, y)| Circle::new((x + m, y), m, color.filled()));
            }
        }
        draw_legend(&mut chart, px)
    }
}

/// Rose histograms of angles, one panel each: `(title, angles)`.
pub(super) struct RoseFigure<'a> {
    pub(super) title: &'a str,
    pub(super) panels: &'a [(String, Vec<f64>)],
    pub(super) bins: usize,
}

impl Figure for RoseFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let n = self.panels.len().max(1) as u32;
        ((n * 560).clamp(FIGURE_SIZE.0 / 2 + 100, 1800), 640)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, px: Px) -> Drawn {
        let area = background_and_title(root, self.title, px)?;
        if self.panels.is_empty() || self.bins == 0 {
            return empty_note(&area, "no preferred directions", px);
        }
        let width = 2.0 * PI / self.bins as f64;
        let counts: Vec<Vec<usize>> = self
            .panels
            .iter()
            .map(|(_, angles)| {
                let mut c = vec![0; self.bins];
                for &a in angles.iter().filter(|a| a.is_finite()) {
                    c[crate::analysis::direction_bin(a, self.bins)] += 1;
                }
                c
            })
            .collect();
        let cols = self.panels.len();
        for (k, panel) in area.split_evenly((1, cols)).iter().enumerate() {
            let (name, angles) = &self.panels[k];
            let panel = titled(panel, name, px.font(18, TEXT), px.n(30))?;
            let most = counts[k].iter().copied().max().unwrap_or(0).max(1) as f64;
            let mut chart = chart_builder(&panel, SMALL_PANEL, px)
                .x_label_area_size(0)
                .y_label_area_size(0)
                .build_cartesian_2d(-1.225..1.225, -1.3..1.15)
                .msg()?;
            // Rings at a quarter, half and all of the largest count; spokes every 45°.
            let grey = RGBColor(200, 200, 200).stroke_width(px.n(1));
            for ring in [0.25, 0.5, 1.0] {
                let circle: Vec<(f64, f64)> = (0..=96)
                    .map(|i| {
                        let a = i as f64 * 2.0 * PI / 96.0;
                        (ring * a.cos(), ring * a.sin())
                    })
                    .collect();
                chart.draw_series([PathElement::new(circle, grey)]).msg()?;
            }
            for s in 0..8 {
                let a = s as f64 * PI / 4.0;
                chart
                    .draw_series([PathElement::new(vec![(0.0, 0.0), (a.cos(), a.sin())], grey)])
                    .msg()?;
                let label = format!("{}°", s * 45);
                let style = px
                    .font(13, GREY_TEXT)
                    .pos(Pos::new(HPos::Center, VPos::Center));
                chart
                    .draw_series([Text::new(label, (1.09 * a.cos(), 1.09 * a.sin()), style)])
                    .msg()?;
            }
            for (bin, &count) in counts[k].iter().enumerate() {
                if count == 0 {
                    continue;
                }
                let r = count as f64 / most;
                let centre = bin as f64 * width;
                let mut wedge = vec![(0.0, 0.0)];
                wedge.extend((0..=8).map(|i| {
                    let a = centre - 0.5 * width + width * i as f64 / 8.0;
                    (r * a.cos(), r * a.sin())
                }));
                let color = direction_color(centre);
                chart
                    .draw_series([Polygon::new(wedge.clone(), color.mix(0.75).filled())])
                    .msg()?;
                wedge.push((0.0, 0.0));
                chart
                    .draw_series([PathElement::new(wedge, BLACK.stroke_width(px.n(1)))])
                    .msg()?;
            }
            let c = crate::analysis::concentration(angles);
            let note = format!(
                "n = {}; r1 = {:.2} (p = {:.1e}), r2 = {:.2} (p = {:.1e})",
                c.count, c.r1, c.p_unimodal, c.r2, c.p_bimodal
            );
            chart
                .draw_series([Text::new(
                    note,
                    (0.0, -1.24),
                    px.font(14, TEXT).pos(Pos::new(HPos::Center, VPos::Center)),
                )])
                .msg()?;
        }
        Ok(())
    }
}

/// Tuning curves: each unit's reach activity against reach direction, with its cosine fit.
pub(super) struct TuningFigure<'a> {
    pub(super) title: &'a str,
    pub(super) directions: &'a [f64],
    /// `(unit, activity per reach, fit)`.
    pub(super) units: &'a [(usize, Vec<f64>, crate::analysis::UnitTuning)],
}

impl Figure for TuningFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let (rows, cols) = grid(self.units.len());
        (
            (cols as u32 * 300).clamp(FIGURE_SIZE.0, 1800),
            (90 + rows as u32 * 260).clamp(FIGURE_SIZE.1 / 2, 1800),
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, px: Px) -> Drawn {
        let area = background_and_title(root, self.title, px)?;
        if self.units.is_empty() {
            return empty_note(&area, "no units", px);
        }
        let (rows, cols) = grid(self.units.len());
        for ((unit, activity, fit), panel) in self.units.iter().zip(area.split_evenly((rows, cols)))
        {
            let name = format!(
                "unit {unit}: PD {:.0}°, R² {:.2}",
                fit.preferred_direction.to_degrees(),
                fit.r2
            );
            let panel = titled(&panel, &name, px.font(15, TEXT), px.n(24))?;
            let curve = |d: f64| fit.baseline + fit.depth * (d - fit.preferred_direction).cos();
            let ys = activity.iter().copied().chain([
                curve(fit.preferred_direction),
                curve(fit.preferred_direction + PI),
            ]);
            let y = finite_range(ys).map_or((-1.0, 1.0), |(lo, hi)| padded(lo, hi, 0.08));
            let mut chart = linear_chart(
                &panel,
                (-180.0, 180.0),
                y,
                ("reach direction (°)", "activity"),
                SMALL_PANEL,
                px,
            )?;
            chart
                .draw_series(self.directions.iter().zip(activity).filter_map(|(&d, &a)| {
                    finite_point(d.to_degrees(), a)
                        .map(|p| Circle::new(p, px.i(3), direction_color(d).filled()))
                }))
                .msg()?;
            let line = (0..=180).map(|i| {
                let d = -PI + i as f64 * PI / 90.0;
                finite_point(d.to_degrees(), curve(d))
            });
            draw_runs(&mut chart, line, BLACK, px.n(2), px)?;
        }
        Ok(())
    }
}

/// Activity over time, units sorted by preferred direction (rows), one panel per reach direction.
pub(super) struct ActivityMapFigure<'a> {
    pub(super) title: &'a str,
    pub(super) dt: f64,
    /// `(direction, rows of activity over time)`, rows already sorted.
    pub(super) panels: &'a [(f64, Vec<Vec<f64>>)],
}

impl Figure for ActivityMapFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let (rows, cols) = grid(self.panels.len());
        (
            (cols as u32 * 320).clamp(FIGURE_SIZE.0, 1800),
            (90 + rows as u32 * 300).clamp(FIGURE_SIZE.1 / 2, 1800),
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, px: Px) -> Drawn {
        let area = background_and_title(root, self.title, px)?;
        let Some(scale) = finite_range(
            self.panels
                .iter()
                .flat_map(|p| p.1.iter().flatten().map(|v| v.abs())),
        )
        .map(|r| r.1.max(1e-12)) else {
            return empty_note(&area, "no activity to plot", px);
        };
        let area = subtitle(
            &area,
            "rows: units by preferred direction (−180° at the bottom); colour: activity, blue < 0 < red",
            px,
        )?;
        let (dt, x_desc) = time_axis(self.dt);
        let (rows, cols) = grid(self.panels.len());
        for ((angle, map), panel) in self.panels.iter().zip(area.split_evenly((rows, cols))) {
            let panel = titled(
                &panel,
                &format!("reach {:.0}°", angle.to_degrees()),
                px.font(16, TEXT),
                px.n(26),
            )?;
            let steps = map.first().map_or(0, Vec::len);
            let units = map.len();
            let x = (0.0, steps.max(1) as f64 * dt);
            let mut chart = linear_chart(
                &panel,
                x,
                (0.0, units.max(1) as f64),
                (x_desc, "unit (by PD)"),
                SMALL_PANEL,
                px,
            )?;
            let cells = map.iter().enumerate().flat_map(|(u, row)| {
                row.iter().enumerate().map(move |(t, &v)| {
                    let s = if v.is_finite() {
                        (v / scale).clamp(-1.0, 1.0)
                    } else {
                        0.0
                    };
                    let color = if s >= 0.0 {
                        RGBColor(255, (255.0 * (1.0 - s)) as u8, (255.0 * (1.0 - s)) as u8)
                    } else {
                        RGBColor((255.0 * (1.0 + s)) as u8, (255.0 * (1.0 + s)) as u8, 255)
                    };
                    Rectangle::new(
                        [
                            (t as f64 * dt, u as f64),
                            ((t + 1) as f64 * dt, (u + 1) as f64),
                        ],
                        color.filled(),
                    )
                })
            });
            chart.draw_series(cells).msg()?;
        }
        Ok(())
    }
}

/// Rows and columns of a grid of `n` panels, at most four wide.
fn grid(n: usize) -> (usize, usize) {
    let cols = n.clamp(1, 4);
    (n.div_ceil(cols).max(1), cols)
}
