//! Writes an imported [`Model`] as `.mnet` text: a header (source, digest, credits, units, what was
//! approximated or skipped), then one section per body, joint, wrap object and muscle, each with the
//! OpenSim element it comes from.

use super::frames::{body_poses, segment_distance, wrap_frame, Pose, V3};
use super::osim::{JointKind, Model, Muscle, WrapShape};
use std::fmt::Write as _;

/// Words a name may not be in a `.mnet` file (reserved, or keywords of paths and declarations).
const RESERVED: &[&str] = &[
    "world", "pi", "wrap", "side", "lumped", "model", "const", "body", "joint", "muscle",
    "obstacle", "path",
];

/// How far out along its quadrant's axis the side point of a wrap sits, in radii.
pub const SIDE_RADII: f64 = 2.0;

/// A number as written: the shortest text that reads back as the same f64 (`0` for ±0).
pub fn num(x: f64) -> String {
    if x == 0.0 {
        "0".to_string()
    } else {
        format!("{x}")
    }
}

fn vec3(v: &[f64; 3]) -> String {
    format!("({}, {}, {})", num(v[0]), num(v[1]), num(v[2]))
}

fn v3(v: &V3) -> String {
    vec3(&[v.x, v.y, v.z])
}

/// A `.mnet` name for an OpenSim name: other characters become `_`, and a leading digit or a reserved
/// word gets an `_`. Returns the name and whether it changed.
pub fn mnet_name(name: &str) -> (String, bool) {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    if RESERVED.contains(&s.as_str()) {
        s.push('_');
    }
    let changed = s != name;
    (s, changed)
}

/// Wraps `text` into comment lines of at most `width` characters after `prefix`.
fn comment_block(out: &mut String, prefix: &str, text: &str, width: usize) {
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            let _ = writeln!(out, "{prefix}{line}");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        let _ = writeln!(out, "{prefix}{line}");
    }
}

/// A property line `    TEXT;` with its comment aligned.
fn prop(o: &mut String, text: &str, comment: &str) {
    let _ = writeln!(o, "    {:<32}// {comment}", format!("{text};"));
}

/// Where each PathWrap of a muscle goes: `Some(k)` between its points k and k+1, or `None` (dropped),
/// with the reason written into the file.
pub struct Placement {
    pub segment: Option<usize>,
    /// Where along its segment the object lies at the default posture (the parameter of its centre's
    /// projection on the straight segment, 0 at the first point, 1 at the second): the order of the
    /// wraps chained on one segment.
    pub along: f64,
    pub note: String,
}

/// The world position of path point `k` of `m` with the bodies at `poses`.
fn point_world(poses: &[Pose], body: Option<usize>, at: &[f64; 3]) -> V3 {
    let p = V3::from(*at);
    match body {
        None => p,
        Some(b) => poses[b].apply(&p),
    }
}

/// The frame of wrap object `w` in the world.
fn object_world(model: &Model, poses: &[Pose], w: usize) -> Pose {
    let o = &model.wraps[w];
    let local = wrap_frame(o.translation, o.rotation);
    match o.body {
        None => local,
        Some(b) => poses[b].then(&local),
    }
}

/// Decides the segment of every PathWrap of `m`: among the segments of its range (1-based points; −1 is
/// the first or last), the one whose straight line passes nearest the object (in units of its size) with
/// every coordinate at its default value. Wraps over inactive objects are dropped (OpenSim ignores them).
/// Several PathWraps on one segment are chained there (OpenSim applies each to the segment it wraps,
/// the later ones starting from the tangent points of the earlier), in the order their objects lie along
/// the segment at the default posture. A neighbouring point inside the object is no reason to drop a
/// wrap: the path is straight while it is inside, as in OpenSim.
pub fn place_wraps(model: &Model, m: &Muscle) -> Vec<Placement> {
    let poses = &body_poses(model, &default_posture(model));
    let n = m.points.len();
    let mut taken: Vec<Option<String>> = vec![None; n.saturating_sub(1)];
    let world: Vec<V3> = m
        .points
        .iter()
        .map(|p| point_world(poses, p.body, &p.location))
        .collect();
    let mut out = Vec::new();
    for pw in &m.wraps {
        let obj = &model.wraps[pw.object];
        if !obj.active {
            out.push(Placement {
                segment: None,
                along: 0.0,
                note: format!(
                    "dropped: wrap object `{}` is inactive (<active>false</active>), which OpenSim ignores",
                    obj.name
                ),
            });
            continue;
        }
        let first = if pw.range[0] < 1 {
            0
        } else {
            (pw.range[0] - 1) as usize
        };
        let last = if pw.range[1] < 1 {
            n.saturating_sub(1)
        } else {
            ((pw.range[1] - 1) as usize).min(n.saturating_sub(1))
        };
        let frame = object_world(model, poses, pw.object);
        let mut scored: Vec<(usize, f64)> = (first..last)
            .map(|k| {
                (
                    k,
                    segment_distance(&frame, &obj.shape, &world[k], &world[k + 1]),
                )
            })
            .collect();
        scored.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        let name = |k: usize| m.points[k].name.clone();
        let Some(&(best, d)) = scored.first() else {
            out.push(Placement {
                segment: None,
                along: 0.0,
                note: format!(
                    "dropped: its range {} {} holds no segment of the path",
                    pw.range[0], pw.range[1]
                ),
            });
            continue;
        };
        let unit = match obj.shape {
            WrapShape::Cylinder { .. } => "radii from the axis",
            WrapShape::Sphere { .. } => "radii from the centre",
            WrapShape::Ellipsoid { .. } => "scaled radii from the centre",
        };
        let mut why = if scored.len() == 1 {
            format!(
                "its range {} {} is the one segment {} -> {}",
                pw.range[0],
                pw.range[1],
                name(best),
                name(best + 1)
            )
        } else {
            let next = scored[1];
            format!(
                "segment {} -> {} passes nearest at the default posture ({:.2} {unit}; next {} -> {} at {:.2})",
                name(best),
                name(best + 1),
                d,
                name(next.0),
                name(next.0 + 1),
                next.1
            )
        };
        let (a, d) = (world[best], world[best + 1] - world[best]);
        let along = (frame.apply(&V3::zeros()) - a).dot(&d) / d.norm_squared().max(1e-300);
        if let Some(other) = &taken[best] {
            why = format!(
                "{why}, which PathWrap `{other}` wraps as well: chained there in the order the objects lie along the segment at the default posture, in two passes: each wrap running from the exit tangent point of the one before to {}, then the earlier re-aimed at the later's entry tangent point (OpenSim's first two passes; it iterates until the length settles)",
                name(best + 1)
            );
        }
        taken[best] = Some(pw.name.clone());
        out.push(Placement {
            segment: Some(best),
            along,
            note: why,
        });
    }
    out
}

/// The side point of a wrap over object `w` (in the object's body frame), or `None` for quadrant `all`.
pub fn side_point(model: &Model, w: usize) -> Option<V3> {
    let o = &model.wraps[w];
    let (axis, sign) = o.side?;
    let radius = match &o.shape {
        WrapShape::Cylinder { radius, .. } | WrapShape::Sphere { radius } => *radius,
        WrapShape::Ellipsoid { radii } => radii[axis],
    };
    let mut local = V3::zeros();
    local[axis] = sign * SIDE_RADII * radius;
    Some(wrap_frame(o.translation, o.rotation).apply(&local))
}

pub struct Names {
    pub bodies: Vec<String>,
    pub joints: Vec<String>,
    pub wraps: Vec<String>,
    pub muscles: Vec<String>,
}

/// The `.mnet` names of every declaration (coordinates keep their OpenSim names: a hinge joint is named
/// after its coordinate). A collision is an error.
pub fn names(model: &Model) -> Result<Names, Vec<String>> {
    let bodies: Vec<String> = model.bodies.iter().map(|b| mnet_name(&b.name).0).collect();
    let joints: Vec<String> = model
        .joints
        .iter()
        .map(|j| match &j.kind {
            JointKind::Hinge { coord, .. } => mnet_name(&coord.name).0,
            JointKind::Weld => mnet_name(&j.name).0,
        })
        .collect();
    let wraps: Vec<String> = model.wraps.iter().map(|w| mnet_name(&w.name).0).collect();
    let muscles: Vec<String> = model.muscles.iter().map(|m| mnet_name(&m.name).0).collect();
    let mut seen: std::collections::BTreeMap<&str, &str> = Default::default();
    let mut problems = Vec::new();
    let all = bodies
        .iter()
        .map(|n| (n, "body"))
        .chain(joints.iter().map(|n| (n, "joint or coordinate")))
        .chain(
            wraps
                .iter()
                .zip(&model.wraps)
                .filter(|(_, w)| w.active)
                .map(|(n, _)| (n, "wrap object")),
        )
        .chain(muscles.iter().map(|n| (n, "muscle")));
    for (n, kind) in all {
        if let Some(prev) = seen.insert(n, kind) {
            problems.push(format!(
                "the name `{n}` is used by a {prev} and a {kind}; .mnet files have one namespace for bodies, joints, obstacles and muscles: rename one in the .osim"
            ));
        }
    }
    if problems.is_empty() {
        Ok(Names {
            bodies,
            joints,
            wraps,
            muscles,
        })
    } else {
        Err(problems)
    }
}

/// The default coordinate values, in the order of the hinge joints.
pub fn default_posture(model: &Model) -> Vec<f64> {
    model
        .joints
        .iter()
        .filter_map(|j| match &j.kind {
            JointKind::Hinge { coord, .. } => Some(coord.default),
            JointKind::Weld => None,
        })
        .collect()
}

/// What the generated file says about a Thelen2003Muscle property that has no counterpart; `None` for
/// the properties that are carried.
fn thelen_note(name: &str, value: f64) -> Option<String> {
    let v = num(value);
    Some(match name {
        "max_isometric_force" | "optimal_fiber_length" | "tendon_slack_length"
        | "activation_time_constant" | "deactivation_time_constant" | "minimum_activation" => {
            return None
        }
        "optimal_force" => format!("optimal_force {v}: not used by OpenSim muscles (the force is max_isometric_force)"),
        "pennation_angle_at_optimal" => format!("pennation_angle_at_optimal {v} rad: no pennation here (the fibre pulls along the path)"),
        "max_contraction_velocity" => format!("max_contraction_velocity {v} optimal lengths/s: fixed at 10 here{}", if value == 10.0 { " (the same)" } else { "" }),
        "FmaxTendonStrain" => format!("FmaxTendonStrain {v}: the tendon is rigid here"),
        "FmaxMuscleStrain" => format!("FmaxMuscleStrain {v}: fixed at 0.6 here{}", if value == 0.6 { " (the same)" } else { "" }),
        "KshapeActive" => format!("KshapeActive {v}: the active force-length width is fixed at 0.45 here"),
        "KshapePassive" => format!("KshapePassive {v}: the passive force-length shape is fixed at 5 here"),
        "Af" => format!("Af {v}: the force-velocity shape is fixed at 0.25 here"),
        "Flen" => format!("Flen {v}: the lengthening force plateau is fixed at 1.4 here"),
        "default_activation" | "default_fiber_length" => format!("{name} {v}: an initial state; a motornet state starts at reset"),
        "min_control" | "max_control" => format!("{name} {v}: excitations are clipped to [min_activation, 1] here"),
        "maximum_pennation_angle" => format!("{name} {v}: no pennation here"),
        "fv_linear_extrap_threshold" => format!("{name} {v}: the force-velocity curve is clipped at 0 here, not extrapolated"),
        _ => format!("{name} {v}: no counterpart"),
    })
}

/// The `.mnet` text of `model`, imported from `source_name` with digest `sha256`. Returns the text and
/// the warnings (the approximations a user should know about beyond the fixed ones).
pub fn emit(
    model: &Model,
    names: &Names,
    source_name: &str,
    sha256: &str,
) -> (String, Vec<String>) {
    let mut warnings = Vec::new();
    let mut o = String::new();
    let model_name = mnet_name(&model.name).0;
    let w = |o: &mut String, s: &str| {
        let _ = writeln!(o, "{s}");
    };
    // ---- Header
    let _ = writeln!(
        o,
        "// {model_name}: imported from the OpenSim model `{source_name}` by `motornet import`."
    );
    w(
        &mut o,
        "// Generated file: edit the .osim and import it again rather than editing this text.",
    );
    w(&mut o, "//");
    let _ = writeln!(o, "// source:  {source_name}");
    let _ = writeln!(o, "// sha256:  {sha256}");
    if let Some(c) = &model.credits {
        comment_block(&mut o, "// credits: ", c, 96);
    }
    if let Some(p) = &model.publications {
        comment_block(&mut o, "// publications: ", p, 90);
    }
    comment_block(
        &mut o,
        "// ",
        "Licence: this file is an adaptation of the source model and is distributed under the source's terms, stated in its credits above (for OpenSim's Arm26: CC BY 3.0, The OpenSim Development Team, adapted from Holzbaur et al. 2005).",
        100,
    );
    w(&mut o, "//");
    comment_block(
        &mut o,
        "// ",
        "Units: SI (m, kg, s, N), as in the source (length_units meters, force_units N); angles in rad, as OpenSim stores them. The world frame is OpenSim's ground frame.",
        100,
    );
    w(&mut o, "//");
    w(
        &mut o,
        "// How OpenSim's elements map onto the language (docs/import.md has the details):",
    );
    for line in [
        "A WeldJoint is a `weld`; a CustomJoint turning about one axis (rotation1..3 driven by one coordinate through LinearFunction 1 0, every other axis Constant 0) is a `hinge` named after its coordinate. Offset frames become `at`, `rotation` (body-fixed X-Y-Z) and, for a child offset, `anchor` and a turned `axis`.",
        "Coordinate ranges become joint ranges, which motornet enforces (clips) even where OpenSim's coordinate is not clamped. Default values are noted at each joint; a motornet state is given at reset.",
        "Wrap objects are wrapped by MuJoCo 4.0's rule (docs/language.md), not OpenSim's `hybrid` method: cylinders keep OpenSim's length (a path wraps one only while a tangent point lies within it), ellipsoids use the language's smooth approximation. A cylinder's or sphere's quadrant (x, -y, z, ...) becomes a side point two radii out along that axis of the object's frame; `all` wraps the shorter way round where the straight segment crosses the object, and so does an ellipsoid whatever its quadrant (OpenSim's WrapEllipsoid wraps only where the segment crosses it). PathWraps that share a segment are chained on it.",
        "OpenSim applies a PathWrap to the segments of its range and picks one as it goes; here a wrap sits on one segment, chosen once: the segment of its range that passes nearest the object at the default posture. Each wrap's choice is written next to it. A wrap is dropped, with the reason, where a second PathWrap claims the same segment.",
        "Thelen2003Muscle becomes RigidTendonHillMuscleThelen: the tendon is rigid at its slack length and the curve shapes are Thelen's defaults; each muscle lists the properties that are not carried.",
    ] {
        let mut block = String::new();
        comment_block(&mut block, "//     ", line, 96);
        o.push_str(&block.replacen("//     ", "//   - ", 1));
    }
    if !model.skipped.is_empty() {
        w(&mut o, "//");
        w(
            &mut o,
            "// Skipped (display only, or without effect on the dynamics):",
        );
        for s in &model.skipped {
            let _ = writeln!(o, "//   {s}");
        }
    }
    if !model.markers.is_empty() {
        let list: Vec<String> = model
            .markers
            .iter()
            .map(|k| {
                let body = k
                    .body
                    .map_or("ground".to_string(), |b| model.bodies[b].name.clone());
                format!("{} on {body} {}", k.name, vec3(&k.location))
            })
            .collect();
        w(&mut o, "//");
        comment_block(
            &mut o,
            "// ",
            &format!("Markers (not part of the dynamics): {}.", list.join("; ")),
            100,
        );
    }
    w(&mut o, "");
    let _ = writeln!(o, "model {model_name} {{");
    w(&mut o, "  dimensions 3;");
    let _ = writeln!(o, "  gravity {} m/s^2;", vec3(&model.gravity));
    // Endpoint: the leaf body (the last declared that is no joint's parent), at its last marker if it has
    // one, else at its origin.
    let leaf = (0..model.bodies.len())
        .rev()
        .find(|b| !model.joints.iter().any(|j| j.parent == Some(*b)));
    if let Some(b) = leaf {
        let marker = model.markers.iter().rev().find(|k| k.body == Some(b));
        match marker {
            Some(k) => {
                let _ = writeln!(
                    o,
                    "  endpoint {} {} m;   // at marker {}",
                    names.bodies[b],
                    vec3(&k.location),
                    k.name
                );
            }
            None => {
                let _ = writeln!(
                    o,
                    "  endpoint {} (0, 0, 0) m;   // the origin of the last body",
                    names.bodies[b]
                );
            }
        }
    }
    // ---- Bodies
    w(&mut o, "");
    w(&mut o, "  // ---- Bodies (OpenSim BodySet): mass, centre of mass and inertia [Ixx, Iyy, Izz, Ixy, Ixz, Iyz] about it");
    for (b, name) in model.bodies.iter().zip(&names.bodies) {
        w(&mut o, "");
        if *name != b.name {
            let _ = writeln!(o, "  // OpenSim body `{}`", b.name);
        }
        let _ = writeln!(
            o,
            "  body {name} {{ mass {} kg; com {} m; inertia ({}, {}, {}, {}, {}, {}) kg m^2; }}",
            num(b.mass),
            vec3(&b.com),
            num(b.inertia[0]),
            num(b.inertia[1]),
            num(b.inertia[2]),
            num(b.inertia[3]),
            num(b.inertia[4]),
            num(b.inertia[5]),
        );
    }
    // ---- Joints
    w(&mut o, "");
    w(&mut o, "  // ---- Joints (OpenSim JointSet)");
    for (j, name) in model.joints.iter().zip(&names.joints) {
        w(&mut o, "");
        let parent = j.parent.map_or("world", |p| names.bodies[p].as_str());
        let child = &names.bodies[j.child];
        let (pt, po) = j.parent_offset;
        let (ct, co) = j.child_offset;
        let _ = writeln!(
            o,
            "  // {} `{}`: parent offset translation {} orientation {},\n  //   child offset translation {} orientation {}",
            j.type_name,
            j.name,
            vec3(&pt),
            vec3(&po),
            vec3(&ct),
            vec3(&co)
        );
        let mut props = Vec::new();
        match &j.kind {
            JointKind::Weld => props.push("type weld".to_string()),
            JointKind::Hinge { .. } => props.push("type hinge".to_string()),
        }
        props.push(format!("at {} m", v3(&j.mnet.at)));
        if j.mnet.rotation != [0.0; 3] {
            props.push(format!("rotation {} rad", vec3(&j.mnet.rotation)));
        }
        if let JointKind::Hinge { coord, .. } = &j.kind {
            if let Some(a) = &j.mnet.axis {
                props.push(format!("axis {}", v3(a)));
            }
            if j.mnet.anchor != V3::zeros() {
                props.push(format!("anchor {} m", v3(&j.mnet.anchor)));
            }
            let _ = writeln!(
                o,
                "  // coordinate `{}`: default {} rad, range {} .. {} rad, clamped {}",
                coord.name,
                num(coord.default),
                num(coord.range[0]),
                num(coord.range[1]),
                coord.clamped
            );
            if coord.range[0].is_finite() && coord.range[1].is_finite() {
                props.push(format!(
                    "range {} rad .. {} rad",
                    num(coord.range[0]),
                    num(coord.range[1])
                ));
            }
        }
        let _ = writeln!(o, "  joint {name}: {parent} -> {child} {{");
        for p in props {
            let _ = writeln!(o, "    {p};");
        }
        w(&mut o, "  }");
    }
    // ---- Wrap objects
    if !model.wraps.is_empty() {
        w(&mut o, "");
        w(&mut o, "  // ---- Wrap objects (OpenSim WrapObjectSets), placed by translation and xyz_body_rotation");
    }
    for (i, obj) in model.wraps.iter().enumerate() {
        w(&mut o, "");
        if !obj.active {
            let _ = writeln!(
                o,
                "  // {} `{}` is inactive in the source and is not written.",
                obj.type_name, obj.name
            );
            continue;
        }
        let body = obj.body.map_or("world", |b| names.bodies[b].as_str());
        let name = &names.wraps[i];
        let placed = format!(
            "body {body}; at {} m; rotation {} rad;",
            vec3(&obj.translation),
            vec3(&obj.rotation)
        );
        match &obj.shape {
            WrapShape::Cylinder { radius, length } => {
                let _ = writeln!(
                    o,
                    "  // {} `{}`, quadrant {}; finite, as OpenSim's: a path wraps it only while a tangent point lies within its length",
                    obj.type_name, obj.name, obj.quadrant,
                );
                let _ = writeln!(
                    o,
                    "  obstacle {name}: cylinder {{ {placed} radius {} m; length {} m; }}",
                    num(*radius),
                    num(*length)
                );
            }
            WrapShape::Sphere { radius } => {
                let _ = writeln!(
                    o,
                    "  // {} `{}`, quadrant {}",
                    obj.type_name, obj.name, obj.quadrant
                );
                let _ = writeln!(
                    o,
                    "  obstacle {name}: sphere {{ body {body}; at {} m; radius {} m; }}",
                    vec3(&obj.translation),
                    num(*radius)
                );
            }
            WrapShape::Ellipsoid { radii } => {
                let _ = writeln!(
                    o,
                    "  // {} `{}`, quadrant {}{}",
                    obj.type_name,
                    obj.name,
                    obj.quadrant,
                    if obj.quadrant == "all" {
                        ""
                    } else {
                        " (not carried: see the wraps over it)"
                    }
                );
                let _ = writeln!(
                    o,
                    "  obstacle {name}: ellipsoid {{ {placed} radii {} m; }}",
                    vec3(radii)
                );
            }
        }
    }
    // ---- Muscles
    w(&mut o, "");
    w(
        &mut o,
        "  // ---- Muscles (OpenSim ForceSet): Thelen2003Muscle -> RigidTendonHillMuscleThelen",
    );
    for (m, name) in model.muscles.iter().zip(&names.muscles) {
        w(&mut o, "");
        let _ = writeln!(o, "  // Thelen2003Muscle `{}`. Not carried:", m.name);
        for (p, v) in &m.params {
            if let Some(note) = thelen_note(p, *v) {
                let _ = writeln!(o, "  //   {note}");
            }
        }
        for (p, v) in &m.flags {
            let _ = writeln!(o, "  //   {p} {v}: the tendon is rigid here");
        }
        let _ = writeln!(o, "  muscle {name}: RigidTendonHillMuscleThelen {{");
        let p = |k: &str| m.param(k);
        if let Some(v) = p("max_isometric_force") {
            prop(
                &mut o,
                &format!("max_force {} N", num(v)),
                "max_isometric_force",
            );
        }
        if let Some(v) = p("optimal_fiber_length") {
            prop(
                &mut o,
                &format!("optimal_length {} m", num(v)),
                "optimal_fiber_length",
            );
        }
        if let Some(v) = p("tendon_slack_length") {
            prop(
                &mut o,
                &format!("tendon_length {} m", num(v)),
                "tendon_slack_length (rigid tendon)",
            );
        }
        prop(
            &mut o,
            "normalized_slack_length 1",
            "passive fibre force from the optimal length on, as Thelen 2003",
        );
        if let Some(v) = p("activation_time_constant") {
            prop(
                &mut o,
                &format!("tau_activation {} s", num(v)),
                "activation_time_constant",
            );
        }
        if let Some(v) = p("deactivation_time_constant") {
            prop(
                &mut o,
                &format!("tau_deactivation {} s", num(v)),
                "deactivation_time_constant",
            );
        }
        match p("minimum_activation") {
            Some(v) => {
                prop(
                    &mut o,
                    &format!("min_activation {}", num(v)),
                    "minimum_activation",
                );
            }
            None => prop(
                &mut o,
                "min_activation 0.01",
                "OpenSim's default minimum_activation",
            ),
        }
        // The path: points, with each placed wrap before the point that ends its segment.
        let placements = place_wraps(model, m);
        let mut before: Vec<Vec<(f64, String)>> = vec![Vec::new(); m.points.len()];
        let mut notes = Vec::new();
        for (pw, pl) in m.wraps.iter().zip(&placements) {
            match pl.segment {
                Some(k) => {
                    let obj = &names.wraps[pw.object];
                    // OpenSim's WrapEllipsoid wraps only where the straight segment crosses the
                    // ellipsoid (its quadrant picks the side of the crossing): no side point, which
                    // would also wrap where the segment misses.
                    let ellipsoid =
                        matches!(model.wraps[pw.object].shape, WrapShape::Ellipsoid { .. });
                    let side = (!ellipsoid)
                        .then(|| side_point(model, pw.object))
                        .flatten()
                        .map(|s| format!(" side {} m", v3(&s)))
                        .unwrap_or_default();
                    before[k + 1].push((pl.along, format!("wrap {obj}{side}")));
                    let q = &model.wraps[pw.object].quadrant;
                    let quadrant = if ellipsoid && q != "all" {
                        format!("quadrant {q}, not carried: OpenSim's WrapEllipsoid wraps only where the straight segment crosses the ellipsoid, its quadrant choosing the side; here it wraps there the shorter way round")
                    } else {
                        format!("quadrant {q}")
                    };
                    notes.push(format!(
                        "PathWrap `{}` ({} method, {quadrant}): {}",
                        pw.name, pw.method, pl.note
                    ));
                }
                None => {
                    let msg = format!("PathWrap `{}` of `{}`: {}", pw.name, m.name, pl.note);
                    notes.push(format!("PathWrap `{}`: {}", pw.name, pl.note));
                    warnings.push(msg);
                }
            }
        }
        for n in &notes {
            comment_block(&mut o, "    // ", n, 96);
        }
        for wraps in &mut before {
            wraps.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        for (k, pt) in m.points.iter().enumerate() {
            let body = pt.body.map_or("world", |b| names.bodies[b].as_str());
            let lead = if k == 0 { "    path " } else { "      -> " };
            for (_, wrap) in &before[k] {
                let _ = writeln!(o, "      -> {wrap}");
            }
            let end = if k + 1 == m.points.len() { ";" } else { "" };
            let _ = writeln!(
                o,
                "{lead}{body} {} m{end}   // {}",
                vec3(&pt.location),
                pt.name
            );
        }
        w(&mut o, "  }");
    }
    w(&mut o, "}");
    (o, warnings)
}
