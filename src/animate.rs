//! Animations of a movement: a self-contained HTML page with an SVG drawing of the effector and a
//! scrubber (play/pause, a slider over the frames), no external scripts or files; or an animated GIF
//! (drawn by `plots::animation_gif`). Each frame shows the bodies, joints and muscle paths (coloured by
//! activation), the endpoint and its trail, the target when there is one, and the applied endpoint force
//! as an arrow.

use crate::show::Scene;
use crate::Error;
use std::path::Path;

/// The kinds of animation file, chosen by the file's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `.html`: [`html`].
    Html,
    /// `.gif`: [`crate::plots::animation_gif`].
    Gif,
}

impl Format {
    /// The format of `path` by its extension (`.html`/`.htm` or `.gif`, any case); an error naming the
    /// path otherwise.
    pub fn of(path: &Path) -> Result<Format, Error> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("html" | "htm") => Ok(Format::Html),
            Some("gif") => Ok(Format::Gif),
            _ => Err(Error::Input(format!(
                "--animate {}: the file name must end in .html (a page with a scrubber) or .gif (an \
                 animated image)",
                path.display()
            ))),
        }
    }

    /// The most frames an animation of this format holds; longer movements show every k-th step.
    pub fn max_frames(self) -> usize {
        match self {
            Format::Html => 1000,
            // Every GIF frame is a full image: keep files to a few megabytes.
            Format::Gif => 250,
        }
    }
}

/// The animation in `format`, as the bytes of its file.
pub fn render(
    format: Format,
    title: &str,
    muscle_names: &[String],
    frames: &[Frame],
) -> Result<Vec<u8>, Error> {
    match format {
        Format::Html => Ok(html(title, muscle_names, frames).into_bytes()),
        Format::Gif => crate::plots::animation_gif(title, muscle_names, frames)
            .map_err(|e| Error::Input(format!("drawing the animation: {e}"))),
    }
}

/// One frame of an animation.
#[derive(Clone, Debug, Default)]
pub struct Frame {
    /// Seconds from the start.
    pub time: f64,
    /// Bodies, joints, obstacles and muscle paths at this frame's posture.
    pub scene: Scene,
    pub endpoint: [f64; 2],
    /// The endpoint force applied during this step (N).
    pub force: [f64; 2],
    pub target: Option<[f64; 2]>,
    /// Per muscle, its activation (0–1), which sets the path's opacity and width.
    pub activation: Vec<f64>,
}

/// The world window an animation shows: the box of every point of every frame, and a margin.
#[derive(Clone, Copy, Debug)]
pub(crate) struct View {
    /// The box (m): `[x0, x1] × [y0, y1]`.
    pub(crate) x0: f64,
    pub(crate) x1: f64,
    pub(crate) y0: f64,
    pub(crate) y1: f64,
    /// The box's larger side, at least 5 cm.
    pub(crate) span: f64,
    /// The margin around the box (m).
    pub(crate) pad: f64,
}

impl View {
    pub(crate) fn of(frames: &[Frame]) -> View {
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        let mut push = |p: [f64; 2]| {
            if p[0].is_finite() && p[1].is_finite() && p[0].abs() < 1e6 && p[1].abs() < 1e6 {
                xs.push(p[0]);
                ys.push(p[1]);
            }
        };
        for f in frames {
            push(f.endpoint);
            if let Some(t) = f.target {
                push(t);
            }
            for b in &f.scene.bodies {
                push(b.1);
                push(b.2);
            }
            for m in &f.scene.muscles {
                m.points.iter().for_each(|&p| push(p));
            }
        }
        let range = |v: &[f64]| {
            v.iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
                    (a.min(x), b.max(x))
                })
        };
        let ((x0, x1), (y0, y1)) = (range(&xs), range(&ys));
        let (x0, x1, y0, y1) = if x0.is_finite() {
            (x0, x1, y0, y1)
        } else {
            (-0.5, 0.5, -0.5, 0.5)
        };
        let span = (x1 - x0).max(y1 - y0).max(0.05);
        View {
            x0,
            x1,
            y0,
            y1,
            span,
            pad: 0.12 * span,
        }
    }
}

/// Metres of arrow per newton: the largest force is drawn 15% of the view long.
pub(crate) fn force_scale(frames: &[Frame], span: f64) -> f64 {
    let fmax = frames
        .iter()
        .map(|f| f.force[0].hypot(f.force[1]))
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    if fmax > 0.0 {
        0.15 * span / fmax
    } else {
        0.0
    }
}

fn num(v: f64) -> String {
    if v.is_finite() {
        let s = format!("{v:.5}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s.is_empty() || s == "-" || s == "-0" {
            "0".into()
        } else {
            s.to_string()
        }
    } else {
        "null".into()
    }
}

fn point(p: [f64; 2]) -> String {
    format!("[{},{}]", num(p[0]), num(p[1]))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The page: `title`, the muscles' names (for the legend) and the frames.
pub fn html(title: &str, muscle_names: &[String], frames: &[Frame]) -> String {
    use std::fmt::Write;
    let View {
        x0,
        x1,
        y0,
        y1,
        span,
        pad,
    } = View::of(frames);
    let (vx, vy, vw, vh) = (
        x0 - pad,
        -(y1 + pad),
        x1 - x0 + 2.0 * pad,
        y1 - y0 + 2.0 * pad,
    );
    let fscale = force_scale(frames, span);

    let mut data = String::from("[");
    for (i, f) in frames.iter().enumerate() {
        if i > 0 {
            data.push(',');
        }
        let bodies: Vec<String> = f
            .scene
            .bodies
            .iter()
            .map(|b| format!("[{},{}]", point(b.1), point(b.2)))
            .collect();
        let joints: Vec<String> = f.scene.joints.iter().map(|j| point(j.1)).collect();
        let obstacles: Vec<String> = f
            .scene
            .obstacles
            .iter()
            .map(|o| format!("[{},{}]", point(o.1), num(o.2)))
            .collect();
        let outlines: Vec<String> = f
            .scene
            .outlines
            .iter()
            .map(|c| {
                let pts: Vec<String> = c.iter().map(|&p| point(p)).collect();
                format!("[{}]", pts.join(","))
            })
            .collect();
        let muscles: Vec<String> = f
            .scene
            .muscles
            .iter()
            .map(|m| {
                let pts: Vec<String> = m.points.iter().map(|&p| point(p)).collect();
                format!("[{}]", pts.join(","))
            })
            .collect();
        let act: Vec<String> = f.activation.iter().map(|&a| num(a)).collect();
        let tip = [
            f.endpoint[0] + fscale * f.force[0],
            f.endpoint[1] + fscale * f.force[1],
        ];
        let _ = write!(
            data,
            "{{\"t\":{},\"b\":[{}],\"j\":[{}],\"o\":[{}],\"l\":[{}],\"m\":[{}],\"a\":[{}],\"e\":{},\"f\":{},\"fn\":{},\"g\":{}}}",
            num(f.time),
            bodies.join(","),
            joints.join(","),
            obstacles.join(","),
            outlines.join(","),
            muscles.join(","),
            act.join(","),
            point(f.endpoint),
            point(tip),
            num(f.force[0].hypot(f.force[1])),
            f.target.map_or("null".into(), point)
        );
    }
    data.push(']');
    let colors = [
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
        "#bcbd22", "#17becf",
    ];
    let legend: Vec<String> = muscle_names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            format!(
                "<span style=\"color:{}\">&#9644; {}</span>",
                colors[i % colors.len()],
                escape(n)
            )
        })
        .collect();
    let palette: Vec<String> = colors.iter().map(|c| format!("\"{c}\"")).collect();
    let stroke = span / 150.0;
    format!(
        r##"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 16px; color: #222; }}
svg {{ border: 1px solid #ccc; background: #fff; width: min(90vw, 80vh); height: min(90vw, 80vh); }}
#controls {{ margin: 8px 0; display: flex; gap: 12px; align-items: center; }}
#scrub {{ width: min(70vw, 60vh); }}
.legend span {{ margin-right: 12px; }}
</style></head><body>
<h2>{title}</h2>
<div class="legend">{legend}</div>
<div id="controls"><button id="play">play</button><input id="scrub" type="range" min="0" max="{last}" value="0"><span id="time"></span></div>
<svg id="view" viewBox="{vx} {vy} {vw} {vh}" xmlns="http://www.w3.org/2000/svg">
<g transform="scale(1,-1)">
<polyline id="trail" fill="none" stroke="#999" stroke-width="{thin}" />
<g id="obstacles"></g><g id="bodies"></g><g id="muscles"></g><g id="joints"></g>
<circle id="target" r="{target_r}" fill="rgba(44,160,44,0.25)" stroke="#2ca02c" stroke-width="{thin}" />
<line id="force" stroke="#d62728" stroke-width="{thick}" marker-end="url(#arrow)" />
<circle id="endpoint" r="{end_r}" fill="#c81e1e" />
</g>
<defs><marker id="arrow" viewBox="0 0 10 10" refX="5" refY="5" markerWidth="4" markerHeight="4" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#d62728" /></marker></defs>
</svg>
<p style="color:#666">Grey line: the endpoint's path so far; red arrow: the applied endpoint force (<span id="fmag"></span> N); green circle: the target; muscle paths are drawn darker and wider the more active the muscle is.</p>
<script>
const frames = {data};
const palette = [{palette}];
const NS = "http://www.w3.org/2000/svg";
const $ = id => document.getElementById(id);
function el(tag, attrs) {{ const e = document.createElementNS(NS, tag); for (const k in attrs) e.setAttribute(k, attrs[k]); return e; }}
function pts(list) {{ return list.filter(p => p[0] !== null && p[1] !== null).map(p => p[0] + "," + p[1]).join(" "); }}
function show(i) {{
  const f = frames[i];
  $("time").textContent = "t = " + f.t.toFixed(3) + " s (frame " + i + " of " + (frames.length - 1) + ")";
  $("trail").setAttribute("points", pts(frames.slice(0, i + 1).map(g => g.e)));
  const ob = $("obstacles"); ob.replaceChildren();
  for (const o of f.o) ob.appendChild(el("circle", {{cx: o[0][0], cy: o[0][1], r: o[1], fill: "#e1e1eb", stroke: "#78788c", "stroke-width": {thin}}}));
  for (const c of f.l) ob.appendChild(el("polyline", {{points: pts(c), fill: "none", stroke: "#78788c", "stroke-width": {thin}}}));
  const bo = $("bodies"); bo.replaceChildren();
  for (const b of f.b) {{
    if (b[0][0] === b[1][0] && b[0][1] === b[1][1]) bo.appendChild(el("circle", {{cx: b[0][0], cy: b[0][1], r: {end_r} * 1.5, fill: "#464646"}}));
    else bo.appendChild(el("line", {{x1: b[0][0], y1: b[0][1], x2: b[1][0], y2: b[1][1], stroke: "#464646", "stroke-width": {body}, "stroke-linecap": "round"}}));
  }}
  const mu = $("muscles"); mu.replaceChildren();
  f.m.forEach((m, k) => {{
    if (m.length < 2) return;
    const a = Math.max(0, Math.min(1, f.a[k] ?? 0));
    mu.appendChild(el("polyline", {{points: pts(m), fill: "none", stroke: palette[k % palette.length], "stroke-opacity": 0.3 + 0.7 * a, "stroke-width": {thin} * (1 + 3 * a)}}));
  }});
  const jo = $("joints"); jo.replaceChildren();
  for (const j of f.j) jo.appendChild(el("circle", {{cx: j[0], cy: j[1], r: {end_r}, fill: "#fff", stroke: "#000", "stroke-width": {thin}}}));
  $("endpoint").setAttribute("cx", f.e[0]); $("endpoint").setAttribute("cy", f.e[1]);
  const tg = $("target");
  if (f.g) {{ tg.setAttribute("cx", f.g[0]); tg.setAttribute("cy", f.g[1]); tg.style.display = ""; }} else tg.style.display = "none";
  const fo = $("force");
  if (f.fn > 0) {{ fo.setAttribute("x1", f.e[0]); fo.setAttribute("y1", f.e[1]); fo.setAttribute("x2", f.f[0]); fo.setAttribute("y2", f.f[1]); fo.style.display = ""; }} else fo.style.display = "none";
  $("fmag").textContent = f.fn.toFixed(2);
}}
let timer = null;
const scrub = $("scrub");
scrub.addEventListener("input", () => show(+scrub.value));
$("play").addEventListener("click", () => {{
  if (timer) {{ clearInterval(timer); timer = null; $("play").textContent = "play"; return; }}
  if (+scrub.value >= frames.length - 1) scrub.value = 0;
  $("play").textContent = "pause";
  const dt = frames.length > 1 ? Math.max(10, 1000 * (frames[1].t - frames[0].t)) : 100;
  timer = setInterval(() => {{
    const i = +scrub.value + 1;
    if (i >= frames.length) {{ clearInterval(timer); timer = null; $("play").textContent = "play"; return; }}
    scrub.value = i; show(i);
  }}, dt);
}});
show(0);
</script>
</body></html>
"##,
        title = escape(title),
        legend = legend.join(""),
        last = frames.len().saturating_sub(1),
        vx = num(vx),
        vy = num(vy),
        vw = num(vw),
        vh = num(vh),
        thin = num(stroke),
        thick = num(2.0 * stroke),
        body = num(4.0 * stroke),
        end_r = num(2.5 * stroke),
        target_r = num(0.02_f64.max(3.0 * stroke)),
        data = data,
        palette = palette.join(","),
    )
}
