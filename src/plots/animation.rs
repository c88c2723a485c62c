//! An animation as an animated GIF: each frame drawn like the HTML page's (`crate::animate::html`) on the
//! bitmap backend, supersampled and downsampled as the PNG figures are, then mapped onto one fixed
//! palette (the drawing's own colours exactly, a colour cube for the anti-aliased edges between them).

use super::*;
use crate::animate::{force_scale, Frame, View};
use std::collections::HashMap;

/// Size of a GIF frame in pixels: a title band, a square drawing and a legend band.
const WIDTH: u32 = 520;
const TOP: u32 = 56;
const BOTTOM: u32 = 34;
const HEIGHT: u32 = TOP + WIDTH + BOTTOM;

/// The muscles' colours, as the HTML page's.
const MUSCLE_COLORS: [RGBColor; 10] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x17, 0xbe, 0xcf),
];
const BODY: RGBColor = RGBColor(0x46, 0x46, 0x46);
const TRAIL: RGBColor = RGBColor(0x99, 0x99, 0x99);
const OBSTACLE_FILL: RGBColor = RGBColor(0xe1, 0xe1, 0xeb);
const OBSTACLE_EDGE: RGBColor = RGBColor(0x78, 0x78, 0x8c);
const TARGET_FILL: RGBColor = RGBColor(0xca, 0xe7, 0xca);
const TARGET_EDGE: RGBColor = RGBColor(0x2c, 0xa0, 0x2c);
const FORCE: RGBColor = RGBColor(0xd6, 0x27, 0x28);
const ENDPOINT: RGBColor = RGBColor(0xc8, 0x1e, 0x1e);
const TEXT: RGBColor = RGBColor(0x22, 0x22, 0x22);
const NOTE: RGBColor = RGBColor(0x66, 0x66, 0x66);

/// Draws `frames` as an animated GIF (looping), each frame shown for its time step (at least 20 ms, the
/// shortest delay viewers honour). Returns the file's bytes.
pub fn animation_gif(
    title: &str,
    muscle_names: &[String],
    frames: &[Frame],
) -> Result<Vec<u8>, PlotError> {
    ensure_font()?;
    let fail = |message: String| PlotError::Draw {
        file: "animation.gif".into(),
        message,
    };
    let view = View::of(frames);
    let fscale = force_scale(frames, view.span);
    let palette = Palette::new();
    let mut out = Vec::new();
    {
        let mut encoder =
            gif::Encoder::new(&mut out, WIDTH as u16, HEIGHT as u16, &palette.bytes())
                .map_err(|e| fail(e.to_string()))?;
        encoder
            .set_repeat(gif::Repeat::Infinite)
            .map_err(|e| fail(e.to_string()))?;
        let mut cache = HashMap::new();
        for (i, f) in frames.iter().enumerate() {
            let rgb = draw_frame(title, muscle_names, frames, i, &view, fscale).map_err(fail)?;
            let indices: Vec<u8> = rgb
                .chunks_exact(3)
                .map(|p| palette.index([p[0], p[1], p[2]], &mut cache))
                .collect();
            let mut frame =
                gif::Frame::from_indexed_pixels(WIDTH as u16, HEIGHT as u16, indices, None);
            let next = frames.get(i + 1).map_or(f.time, |g| g.time);
            let centiseconds = ((next - f.time) * 100.0).round();
            frame.delay = if i + 1 == frames.len() {
                100 // hold the last frame a second before looping
            } else if centiseconds.is_finite() {
                centiseconds.clamp(2.0, 1000.0) as u16
            } else {
                2
            };
            encoder
                .write_frame(&frame)
                .map_err(|e| fail(e.to_string()))?;
        }
    }
    Ok(out)
}

/// One frame as RGB pixels, `WIDTH × HEIGHT`.
fn draw_frame(
    title: &str,
    muscle_names: &[String],
    frames: &[Frame],
    i: usize,
    view: &View,
    fscale: f64,
) -> Result<Vec<u8>, String> {
    let k = SUPERSAMPLE;
    let (w, h) = (WIDTH * k, HEIGHT * k);
    let mut pixels = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        let px = Px { k, raster: true };
        draw(&root, px, title, muscle_names, frames, i, view, fscale)?;
        root.present().msg()?;
    }
    Ok(downsample(&pixels, w, h, k))
}

#[allow(clippy::too_many_arguments)]
fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    px: Px,
    title: &str,
    muscle_names: &[String],
    frames: &[Frame],
    i: usize,
    view: &View,
    fscale: f64,
) -> Result<(), String> {
    let f = &frames[i];
    // World (m) to pixels: the box centred in the square drawing, the margin around it.
    let scale = px.n(WIDTH) as f64 / (view.span + 2.0 * view.pad);
    let (cx, cy) = ((view.x0 + view.x1) / 2.0, (view.y0 + view.y1) / 2.0);
    let (mid_x, mid_y) = (
        px.n(WIDTH) as f64 / 2.0,
        px.n(TOP) as f64 + px.n(WIDTH) as f64 / 2.0,
    );
    let at = |p: [f64; 2]| -> Option<(i32, i32)> {
        let (x, y) = (mid_x + (p[0] - cx) * scale, mid_y - (p[1] - cy) * scale);
        (x.is_finite() && y.is_finite() && x.abs() < 1e6 && y.abs() < 1e6)
            .then(|| (x.round() as i32, y.round() as i32))
    };
    let line = |points: &[(i32, i32)], color: RGBAColor, width: u32| -> Result<(), String> {
        let style = ShapeStyle {
            color,
            filled: false,
            stroke_width: width,
        };
        for s in points.windows(2) {
            root.draw(&PathElement::new(vec![s[0], s[1]], style))
                .msg()?;
        }
        if width > 2 {
            // Round joints between the segments.
            for &p in &points[1..points.len().saturating_sub(1)] {
                root.draw(&Circle::new(p, (width / 2) as i32, color.filled()))
                    .msg()?;
            }
        }
        Ok(())
    };
    let opaque = |c: RGBColor| c.to_rgba();

    // The trail so far.
    let trail: Vec<(i32, i32)> = frames[..=i].iter().filter_map(|g| at(g.endpoint)).collect();
    line(&trail, opaque(TRAIL), px.n(1))?;
    // Target, obstacles, bodies, muscles, joints.
    if let Some(p) = f.target.and_then(at) {
        let r = (0.02 * scale).max(px.n(6) as f64) as i32;
        root.draw(&Circle::new(p, r, TARGET_FILL.filled())).msg()?;
        root.draw(&Circle::new(p, r, TARGET_EDGE.stroke_width(px.n(1))))
            .msg()?;
    }
    for (_, c, r) in &f.scene.obstacles {
        if let Some(p) = at(*c) {
            let r = (r * scale).clamp(1.0, 1e5) as i32;
            root.draw(&Circle::new(p, r, OBSTACLE_FILL.filled()))
                .msg()?;
            root.draw(&Circle::new(p, r, OBSTACLE_EDGE.stroke_width(px.n(1))))
                .msg()?;
        }
    }
    for curve in &f.scene.outlines {
        let points: Vec<(i32, i32)> = curve.iter().filter_map(|&p| at(p)).collect();
        line(&points, opaque(OBSTACLE_EDGE), px.n(1))?;
    }
    for (_, a, b) in &f.scene.bodies {
        match (at(*a), at(*b)) {
            (Some(p), Some(q)) if p == q => {
                root.draw(&Circle::new(p, px.i(6), BODY.filled())).msg()?;
            }
            (Some(p), Some(q)) => line(&[p, q], opaque(BODY), px.n(6))?,
            _ => {}
        }
    }
    for (m, path) in f.scene.muscles.iter().enumerate() {
        let a = f.activation.get(m).copied().unwrap_or(0.0);
        let a = if a.is_finite() {
            a.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let color = MUSCLE_COLORS[m % MUSCLE_COLORS.len()].mix(0.3 + 0.7 * a);
        let points: Vec<(i32, i32)> = path.points.iter().filter_map(|&p| at(p)).collect();
        let width = (px.n(1) as f64 * (1.5 + 4.5 * a)).round() as u32;
        line(&points, color, width.max(1))?;
    }
    for (_, j) in &f.scene.joints {
        if let Some(p) = at(*j) {
            root.draw(&Circle::new(p, px.i(4), WHITE.filled())).msg()?;
            root.draw(&Circle::new(p, px.i(4), BLACK.stroke_width(px.n(1))))
                .msg()?;
        }
    }
    // The applied force as an arrow from the endpoint, then the endpoint.
    let magnitude = f.force[0].hypot(f.force[1]);
    if magnitude > 0.0 && magnitude.is_finite() {
        let tip = [
            f.endpoint[0] + fscale * f.force[0],
            f.endpoint[1] + fscale * f.force[1],
        ];
        if let (Some(p), Some(q)) = (at(f.endpoint), at(tip)) {
            line(&[p, q], opaque(FORCE), px.n(3))?;
            let (dx, dy) = ((q.0 - p.0) as f64, (q.1 - p.1) as f64);
            let len = dx.hypot(dy);
            if len > 1.0 {
                let (ux, uy) = (dx / len, dy / len);
                let head = px.n(12) as f64;
                let corner = |side: f64| {
                    (
                        (q.0 as f64 - head * ux - side * 0.5 * head * uy).round() as i32,
                        (q.1 as f64 - head * uy + side * 0.5 * head * ux).round() as i32,
                    )
                };
                root.draw(&Polygon::new(
                    vec![q, corner(1.0), corner(-1.0)],
                    FORCE.filled(),
                ))
                .msg()?;
            }
        }
    }
    if let Some(p) = at(f.endpoint) {
        root.draw(&Circle::new(p, px.i(5), ENDPOINT.filled()))
            .msg()?;
    }
    // Title, time and force; the legend.
    root.draw(&Text::new(
        title.to_string(),
        (px.i(10), px.i(8)),
        px.font(17, TEXT),
    ))
    .msg()?;
    let mut status = format!("t = {:.3} s", f.time);
    if magnitude > 0.0 && magnitude.is_finite() {
        status.push_str(&format!("   force {magnitude:.2} N (red arrow)"));
    }
    root.draw(&Text::new(status, (px.i(10), px.i(32)), px.font(15, NOTE)))
        .msg()?;
    let mut x = px.i(10);
    let y = px.i((TOP + WIDTH + 8) as i32);
    for (m, name) in muscle_names.iter().enumerate() {
        let color = MUSCLE_COLORS[m % MUSCLE_COLORS.len()];
        root.draw(&Rectangle::new(
            [(x, y + px.i(5)), (x + px.i(14), y + px.i(11))],
            color.filled(),
        ))
        .msg()?;
        let label = Text::new(name.clone(), (x + px.i(18), y), px.font(14, TEXT));
        let (lw, _) = root.estimate_text_size(name, &px.font(14, TEXT)).msg()?;
        if x + px.i(18) + lw as i32 > px.i(WIDTH as i32) {
            break; // no room for more names
        }
        root.draw(&label).msg()?;
        x += px.i(18) + lw as i32 + px.i(14);
    }
    Ok(())
}

/// The fixed palette: the drawing's colours first, then a 6×6×6 colour cube.
struct Palette {
    colors: Vec<[u8; 3]>,
}

impl Palette {
    fn new() -> Palette {
        let mut colors: Vec<[u8; 3]> = [WHITE, BLACK, BODY, TRAIL, OBSTACLE_FILL, OBSTACLE_EDGE]
            .iter()
            .chain(&[TARGET_FILL, TARGET_EDGE, FORCE, ENDPOINT, TEXT, NOTE])
            .chain(&MUSCLE_COLORS)
            .map(|c| [c.0, c.1, c.2])
            .collect();
        for r in 0..6u8 {
            for g in 0..6u8 {
                for b in 0..6u8 {
                    colors.push([r * 51, g * 51, b * 51]);
                }
            }
        }
        colors.truncate(256);
        Palette { colors }
    }

    fn bytes(&self) -> Vec<u8> {
        self.colors.iter().flatten().copied().collect()
    }

    /// The palette entry nearest to `rgb` (squared distance), remembered in `cache`.
    fn index(&self, rgb: [u8; 3], cache: &mut HashMap<[u8; 3], u8>) -> u8 {
        *cache.entry(rgb).or_insert_with(|| {
            let d = |c: &[u8; 3]| {
                (0..3)
                    .map(|k| (i32::from(c[k]) - i32::from(rgb[k])).pow(2))
                    .sum::<i32>()
            };
            self.colors
                .iter()
                .enumerate()
                .min_by_key(|(_, c)| d(c))
                .map_or(0, |(i, _)| i as u8)
        })
    }
}
