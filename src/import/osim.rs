//! Reads an OpenSim 4 model file (`.osim`, XML) into [`Model`]: every element is either read, skipped as
//! display-only (and listed), or refused with its line and column. Every problem is collected, none is
//! silent.

use super::frames::{mnet_joint, MnetJoint};
use roxmltree::{Document, Node};

/// The elements that only draw the model; skipped, and listed in the generated file.
const DISPLAY_ONLY: &[&str] = &[
    "FrameGeometry",
    "attached_geometry",
    "Appearance",
    "VisibleObject",
    "display_preference",
    "default_color",
];

#[derive(Clone, Debug)]
pub struct Model {
    pub name: String,
    pub gravity: [f64; 3],
    pub credits: Option<String>,
    pub publications: Option<String>,
    pub bodies: Vec<Body>,
    pub joints: Vec<Joint>,
    pub wraps: Vec<WrapObject>,
    pub muscles: Vec<Muscle>,
    pub markers: Vec<Marker>,
    /// Display-only and informational elements that were skipped, for the generated file's header.
    pub skipped: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Body {
    pub name: String,
    pub mass: f64,
    pub com: [f64; 3],
    /// [Ixx, Iyy, Izz, Ixy, Ixz, Iyz] about the centre of mass, body axes.
    pub inertia: [f64; 6],
}

#[derive(Clone, Debug)]
pub enum JointKind {
    Weld,
    Hinge { coord: Coordinate, axis: [f64; 3] },
}

#[derive(Clone, Debug)]
pub struct Coordinate {
    pub name: String,
    pub default: f64,
    pub range: [f64; 2],
    pub clamped: bool,
}

#[derive(Clone, Debug)]
pub struct Joint {
    pub name: String,
    pub type_name: String,
    pub kind: JointKind,
    /// `None` for the ground.
    pub parent: Option<usize>,
    pub child: usize,
    pub parent_offset: ([f64; 3], [f64; 3]),
    pub child_offset: ([f64; 3], [f64; 3]),
    pub mnet: MnetJoint,
}

#[derive(Clone, Debug)]
pub enum WrapShape {
    Cylinder { radius: f64, length: f64 },
    Ellipsoid { radii: [f64; 3] },
    Sphere { radius: f64 },
}

#[derive(Clone, Debug)]
pub struct WrapObject {
    pub name: String,
    pub type_name: String,
    /// `None` for the ground.
    pub body: Option<usize>,
    pub translation: [f64; 3],
    pub rotation: [f64; 3],
    pub shape: WrapShape,
    /// The quadrant as written and, unless `all`, its axis (0, 1, 2) and sign.
    pub quadrant: String,
    pub side: Option<(usize, f64)>,
    pub active: bool,
}

#[derive(Clone, Debug)]
pub struct PathPoint {
    pub name: String,
    pub body: Option<usize>,
    pub location: [f64; 3],
}

#[derive(Clone, Debug)]
pub struct PathWrap {
    pub name: String,
    pub object: usize,
    pub method: String,
    /// 1-based path-point range; −1 means the first / last point.
    pub range: [i64; 2],
}

#[derive(Clone, Debug)]
pub struct Muscle {
    pub name: String,
    pub points: Vec<PathPoint>,
    pub wraps: Vec<PathWrap>,
    /// Every numeric property, in file order, by its OpenSim name.
    pub params: Vec<(String, f64)>,
    /// Other properties read (flags), for the comments.
    pub flags: Vec<(String, String)>,
}

impl Muscle {
    pub fn param(&self, name: &str) -> Option<f64> {
        self.params.iter().find(|p| p.0 == name).map(|p| p.1)
    }
}

#[derive(Clone, Debug)]
pub struct Marker {
    pub name: String,
    pub body: Option<usize>,
    pub location: [f64; 3],
}

/// Numeric properties of a Thelen2003Muscle.
pub const THELEN_NUMBERS: &[&str] = &[
    "optimal_force",
    "max_isometric_force",
    "optimal_fiber_length",
    "tendon_slack_length",
    "pennation_angle_at_optimal",
    "max_contraction_velocity",
    "FmaxTendonStrain",
    "FmaxMuscleStrain",
    "KshapeActive",
    "KshapePassive",
    "Af",
    "Flen",
    "activation_time_constant",
    "deactivation_time_constant",
    "minimum_activation",
    "min_control",
    "max_control",
    "default_activation",
    "default_fiber_length",
    "maximum_pennation_angle",
    "fv_linear_extrap_threshold",
];

/// Flags of a Muscle that the rigid-tendon mapping has no use for.
const THELEN_FLAGS: &[&str] = &["ignore_tendon_compliance", "ignore_activation_dynamics"];

struct Reader<'a, 'i> {
    doc: &'a Document<'i>,
    file: &'a str,
    /// (line, column, message)
    problems: Vec<(u32, u32, String)>,
    skipped: Vec<String>,
}

fn elements<'a, 'i>(n: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    n.children().filter(Node::is_element)
}

/// `<Tag name="x">` or `<Tag>`, for messages.
fn what(n: Node) -> String {
    match n.attribute("name") {
        Some(name) => format!("<{} name=\"{name}\">", n.tag_name().name()),
        None => format!("<{}>", n.tag_name().name()),
    }
}

fn text(n: Node) -> String {
    n.text().unwrap_or("").trim().to_string()
}

impl<'a, 'i> Reader<'a, 'i> {
    fn at(&self, n: Node) -> String {
        let p = self.doc.text_pos_at(n.range().start);
        format!("{}:{}:{}", self.file, p.row, p.col)
    }

    fn problem(&mut self, n: Node, msg: impl std::fmt::Display) {
        let p = self.doc.text_pos_at(n.range().start);
        let at = self.at(n);
        self.problems
            .push((p.row, p.col, format!("{at}: {}: {msg}", what(n))));
    }

    /// The problems in the order of the file.
    fn sorted_problems(&mut self) -> Vec<String> {
        let mut p = std::mem::take(&mut self.problems);
        p.sort_by_key(|x| (x.0, x.1));
        p.into_iter().map(|x| x.2).collect()
    }

    /// Refuses an element nobody asked for, unless it is display-only (then listed as skipped).
    fn other(&mut self, n: Node, parent: Node) {
        let tag = n.tag_name().name();
        if DISPLAY_ONLY.contains(&tag) {
            self.skip(n, "display only");
            return;
        }
        self.problem(
            n,
            format!(
                "not supported by the importer (in {}); see docs/import.md for what is",
                what(parent)
            ),
        );
    }

    fn skip(&mut self, n: Node, why: &str) {
        let line = self.doc.text_pos_at(n.range().start).row;
        let owner = n
            .ancestors()
            .skip(1)
            .find(|a| a.attribute("name").is_some())
            .map(|a| format!(" of {}", what(a)))
            .unwrap_or_default();
        self.skipped
            .push(format!("line {line}: {}{owner} ({why})", what(n)));
    }

    fn numbers<const N: usize>(&mut self, n: Node) -> Option<[f64; N]> {
        let t = text(n);
        let parsed: Vec<Option<f64>> = t
            .split_whitespace()
            .map(|w| w.parse::<f64>().ok().filter(|x| x.is_finite()))
            .collect();
        if parsed.len() != N || parsed.iter().any(Option::is_none) {
            let want = if N == 1 {
                "a finite number".to_string()
            } else {
                format!("{N} finite numbers")
            };
            self.problem(n, format!("expected {want}, found `{}`", shorten(&t)));
            return None;
        }
        let mut out = [0.0; N];
        for (o, p) in out.iter_mut().zip(parsed) {
            *o = p.unwrap_or(0.0);
        }
        Some(out)
    }

    fn number(&mut self, n: Node) -> Option<f64> {
        self.numbers::<1>(n).map(|v| v[0])
    }

    fn flag(&mut self, n: Node) -> Option<bool> {
        match text(n).as_str() {
            "true" => Some(true),
            "false" => Some(false),
            other => {
                self.problem(
                    n,
                    format!("expected true or false, found `{}`", shorten(other)),
                );
                None
            }
        }
    }

    /// The element children of a `<XSet>`'s `<objects>` (its `<groups>` must be empty).
    fn set_objects<'b, 'j>(&mut self, set: Node<'b, 'j>) -> Vec<Node<'b, 'j>> {
        let mut out = Vec::new();
        for c in elements(set) {
            match c.tag_name().name() {
                "objects" => out.extend(elements(c)),
                "groups" => {
                    for g in elements(c) {
                        self.skip(g, "a named group of objects, no physics");
                    }
                }
                _ => self.other(c, set),
            }
        }
        out
    }

    /// A set that this importer only accepts empty (constraints, controllers, contact geometry, …).
    fn empty_set(&mut self, set: Node) {
        for o in self.set_objects(set) {
            self.problem(
                o,
                format!(
                    "not supported by the importer ({} must be empty)",
                    what(set)
                ),
            );
        }
    }
}

fn shorten(s: &str) -> String {
    crate::input::shorten(s, 60)
}

/// The body a frame path names: `/ground`, `/bodyset/NAME` (or `../NAME`-style relative paths ending in
/// `bodyset/NAME`). `Ok(None)` is the ground.
fn body_of_path(path: &str, bodies: &[String]) -> Result<Option<usize>, String> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    match parts.as_slice() {
        [.., "ground"] => Ok(None),
        [.., "bodyset", name] => bodies
            .iter()
            .position(|b| b == name)
            .map(Some)
            .ok_or_else(|| format!("`{path}` names no body of the model")),
        _ => Err(format!(
            "`{path}` is not `/ground` or `/bodyset/BODY` (frames attached to other frames are not supported)"
        )),
    }
}

/// Reads a `.osim` text. `Err` lists every problem, one per line, each with `file:line:col`.
pub fn read(file: &str, source: &str) -> Result<Model, Vec<String>> {
    let doc = Document::parse(source).map_err(|e| {
        let p = e.pos();
        vec![format!(
            "{file}:{}:{}: not well-formed XML: {e}",
            p.row, p.col
        )]
    })?;
    let mut r = Reader {
        doc: &doc,
        file,
        problems: Vec::new(),
        skipped: Vec::new(),
    };
    let root = doc.root_element();
    if root.tag_name().name() != "OpenSimDocument" {
        r.problem(
            root,
            "expected an <OpenSimDocument> (an OpenSim model file)",
        );
        return Err(r.sorted_problems());
    }
    match root.attribute("Version").map(str::parse::<u32>) {
        Some(Ok(v)) if v >= 40000 => {}
        Some(Ok(v)) => {
            r.problem(
                root,
                format!("file format version {v}: only OpenSim 4 files (version 40000 or later) are supported; open and save it in OpenSim 4"),
            );
            return Err(r.sorted_problems());
        }
        _ => {
            r.problem(root, "no numeric `Version` attribute");
            return Err(r.sorted_problems());
        }
    }
    let models: Vec<Node> = elements(root).collect();
    let model = match models.as_slice() {
        [m] if m.tag_name().name() == "Model" => *m,
        _ => {
            r.problem(root, "expected exactly one <Model> inside");
            return Err(r.sorted_problems());
        }
    };
    let out = read_model(&mut r, model);
    if r.problems.is_empty() {
        let mut m = out;
        m.skipped = std::mem::take(&mut r.skipped);
        Ok(m)
    } else {
        Err(r.sorted_problems())
    }
}

fn read_model(r: &mut Reader, model: Node) -> Model {
    let mut m = Model {
        name: model.attribute("name").unwrap_or("imported").to_string(),
        gravity: [0.0, -9.80665, 0.0],
        credits: None,
        publications: None,
        bodies: Vec::new(),
        joints: Vec::new(),
        wraps: Vec::new(),
        muscles: Vec::new(),
        markers: Vec::new(),
        skipped: Vec::new(),
    };
    // Bodies first: joints, wrap objects and path points refer to them by name.
    let mut body_nodes = Vec::new();
    let mut ground_wraps = Vec::new();
    for c in elements(model) {
        match c.tag_name().name() {
            "BodySet" => body_nodes.extend(r.set_objects(c)),
            "Ground" => {
                for g in elements(c) {
                    match g.tag_name().name() {
                        "WrapObjectSet" => ground_wraps.extend(r.set_objects(g)),
                        "components" if elements(g).next().is_none() => {}
                        _ => r.other(g, c),
                    }
                }
            }
            _ => {}
        }
    }
    let mut wrap_nodes: Vec<(Option<usize>, Node)> =
        ground_wraps.into_iter().map(|w| (None, w)).collect();
    for b in &body_nodes {
        if b.tag_name().name() != "Body" {
            r.problem(
                *b,
                "not supported by the importer (only <Body> in the BodySet)",
            );
            continue;
        }
        let index = m.bodies.len();
        let mut body = Body {
            name: b.attribute("name").unwrap_or("").to_string(),
            mass: 0.0,
            com: [0.0; 3],
            inertia: [0.0; 6],
        };
        let mut has_mass = false;
        for c in elements(*b) {
            match c.tag_name().name() {
                "mass" => {
                    has_mass = true;
                    if let Some(v) = r.number(c) {
                        if v < 0.0 {
                            r.problem(c, "a negative mass");
                        }
                        body.mass = v;
                    }
                }
                "mass_center" => body.com = r.numbers(c).unwrap_or([0.0; 3]),
                "inertia" => body.inertia = r.numbers(c).unwrap_or([0.0; 6]),
                "WrapObjectSet" => {
                    for w in r.set_objects(c) {
                        wrap_nodes.push((Some(index), w));
                    }
                }
                "components" if elements(c).next().is_none() => {}
                _ => r.other(c, *b),
            }
        }
        if !has_mass {
            r.problem(*b, "has no <mass>");
        }
        if body.name.is_empty() {
            r.problem(*b, "has no name");
        }
        m.bodies.push(body);
    }
    let body_names: Vec<String> = m.bodies.iter().map(|b| b.name.clone()).collect();
    for (body, w) in wrap_nodes {
        if let Some(obj) = read_wrap(r, w, body) {
            m.wraps.push(obj);
        }
    }
    for c in elements(model) {
        match c.tag_name().name() {
            "BodySet" | "Ground" => {}
            "gravity" => m.gravity = r.numbers(c).unwrap_or(m.gravity),
            "credits" => m.credits = Some(text(c)),
            "publications" => m.publications = Some(text(c)),
            "length_units" => {
                if text(c) != "meters" {
                    r.problem(
                        c,
                        format!(
                            "length units `{}`: only meters are supported",
                            shorten(&text(c))
                        ),
                    );
                }
            }
            "force_units" => {
                if text(c) != "N" {
                    r.problem(
                        c,
                        format!("force units `{}`: only N is supported", shorten(&text(c))),
                    );
                }
            }
            "JointSet" => {
                for j in r.set_objects(c) {
                    if let Some(joint) = read_joint(r, j, &body_names) {
                        m.joints.push(joint);
                    }
                }
            }
            "ForceSet" => {
                let wrap_names: Vec<String> = m.wraps.iter().map(|w| w.name.clone()).collect();
                for f in r.set_objects(c) {
                    if let Some(muscle) = read_muscle(r, f, &body_names, &wrap_names) {
                        m.muscles.push(muscle);
                    }
                }
            }
            "MarkerSet" => {
                for k in r.set_objects(c) {
                    if let Some(marker) = read_marker(r, k, &body_names) {
                        m.markers.push(marker);
                    }
                }
            }
            "ControllerSet" | "ConstraintSet" | "ContactGeometrySet" | "ProbeSet"
            | "ComponentSet" => r.empty_set(c),
            "defaults" => r.skip(
                c,
                "default values for new objects in the GUI, not part of the model",
            ),
            _ => r.other(c, model),
        }
    }
    // The tree is checked only when every joint was read: a refused joint leaves its child unattached.
    if r.problems.is_empty() {
        check_tree(r, model, &m);
    }
    m
}

/// Every body hangs from exactly one joint, and the joints reach every body from the ground.
fn check_tree(r: &mut Reader, model: Node, m: &Model) {
    let mut parent_joint: Vec<Vec<&str>> = vec![Vec::new(); m.bodies.len()];
    for j in &m.joints {
        parent_joint[j.child].push(&j.name);
    }
    for (b, joints) in m.bodies.iter().zip(&parent_joint) {
        match joints.len() {
            1 => {}
            0 => r.problem(
                model,
                format!(
                    "body `{}` hangs from no joint (a free body is not supported)",
                    b.name
                ),
            ),
            _ => r.problem(
                model,
                format!(
                    "body `{}` is the child of several joints ({})",
                    b.name,
                    joints.join(", ")
                ),
            ),
        }
    }
    // From the ground: a body whose chain of parents does not end at the ground is in a loop.
    for (bi, b) in m.bodies.iter().enumerate() {
        let mut at = Some(bi);
        let mut steps = 0;
        while let Some(k) = at {
            let Some(j) = m.joints.iter().find(|j| j.child == k) else {
                break;
            };
            at = j.parent;
            steps += 1;
            if steps > m.bodies.len() {
                r.problem(model, format!("body `{}` is in a loop of joints", b.name));
                break;
            }
        }
    }
}

fn read_wrap(r: &mut Reader, w: Node, body: Option<usize>) -> Option<WrapObject> {
    let type_name = w.tag_name().name().to_string();
    if !matches!(
        type_name.as_str(),
        "WrapCylinder" | "WrapEllipsoid" | "WrapSphere"
    ) {
        r.problem(
            w,
            "not supported by the importer (wrap objects: WrapCylinder, WrapEllipsoid, WrapSphere)",
        );
        return None;
    }
    let mut obj = WrapObject {
        name: w.attribute("name").unwrap_or("").to_string(),
        type_name: type_name.clone(),
        body,
        translation: [0.0; 3],
        rotation: [0.0; 3],
        shape: WrapShape::Sphere { radius: 0.0 },
        quadrant: "all".to_string(),
        side: None,
        active: true,
    };
    let (mut radius, mut length, mut radii) = (None, None, None);
    let mut quadrant_node = None;
    for c in elements(w) {
        match c.tag_name().name() {
            "active" => obj.active = r.flag(c).unwrap_or(true),
            "xyz_body_rotation" => obj.rotation = r.numbers(c).unwrap_or([0.0; 3]),
            "translation" => obj.translation = r.numbers(c).unwrap_or([0.0; 3]),
            "quadrant" => {
                obj.quadrant = text(c);
                quadrant_node = Some(c);
            }
            "radius" if type_name != "WrapEllipsoid" => radius = r.number(c).map(|x| (x, c)),
            "length" if type_name == "WrapCylinder" => length = r.number(c),
            "dimensions" if type_name == "WrapEllipsoid" => {
                radii = r.numbers::<3>(c).map(|x| (x, c))
            }
            _ => r.other(c, w),
        }
    }
    obj.side = match obj.quadrant.as_str() {
        "all" | "" => None,
        q => {
            let (sign, axis) = match q.strip_prefix('-') {
                Some(a) => (-1.0, a),
                None => (1.0, q.strip_prefix('+').unwrap_or(q)),
            };
            match axis {
                "x" => Some((0, sign)),
                "y" => Some((1, sign)),
                "z" => Some((2, sign)),
                _ => {
                    if let Some(n) = quadrant_node {
                        r.problem(
                            n,
                            format!(
                                "unknown quadrant `{}` (all, x, -x, y, -y, z, -z)",
                                shorten(q)
                            ),
                        );
                    }
                    None
                }
            }
        }
    };
    let positive = |r: &mut Reader, v: Option<(f64, Node)>, what: &str| -> f64 {
        match v {
            Some((x, _)) if x > 0.0 => x,
            Some((x, n)) => {
                r.problem(n, format!("the {what} must be positive, found {x}"));
                1.0
            }
            None => {
                r.problem(w, format!("has no {what}"));
                1.0
            }
        }
    };
    obj.shape = match type_name.as_str() {
        "WrapCylinder" => {
            if obj.side.is_some_and(|(axis, _)| axis == 2) {
                if let Some(n) = quadrant_node {
                    r.problem(
                        n,
                        "quadrant z of a cylinder (its axis) has no side to wrap on",
                    );
                }
            }
            WrapShape::Cylinder {
                radius: positive(r, radius, "<radius>"),
                length: length.unwrap_or(f64::INFINITY),
            }
        }
        "WrapSphere" => WrapShape::Sphere {
            radius: positive(r, radius, "<radius>"),
        },
        _ => {
            let radii = match radii {
                Some((d, _)) if d.iter().all(|x| *x > 0.0) => d,
                Some((_, n)) => {
                    r.problem(n, "every radius must be positive");
                    [1.0; 3]
                }
                None => {
                    r.problem(w, "has no <dimensions>");
                    [1.0; 3]
                }
            };
            WrapShape::Ellipsoid { radii }
        }
    };
    if obj.name.is_empty() {
        r.problem(w, "has no name");
    }
    Some(obj)
}

struct Frame {
    name: String,
    body: Option<usize>,
    translation: [f64; 3],
    orientation: [f64; 3],
}

fn read_frame(r: &mut Reader, f: Node, bodies: &[String]) -> Option<Frame> {
    if f.tag_name().name() != "PhysicalOffsetFrame" {
        r.problem(
            f,
            "not supported by the importer (joint frames: PhysicalOffsetFrame)",
        );
        return None;
    }
    let mut frame = Frame {
        name: f.attribute("name").unwrap_or("").to_string(),
        body: None,
        translation: [0.0; 3],
        orientation: [0.0; 3],
    };
    let mut parent = false;
    for c in elements(f) {
        match c.tag_name().name() {
            "socket_parent" => match body_of_path(&text(c), bodies) {
                Ok(b) => {
                    frame.body = b;
                    parent = true;
                }
                Err(e) => r.problem(c, e),
            },
            "translation" => frame.translation = r.numbers(c).unwrap_or([0.0; 3]),
            "orientation" => frame.orientation = r.numbers(c).unwrap_or([0.0; 3]),
            "components" if elements(c).next().is_none() => {}
            _ => r.other(c, f),
        }
    }
    if !parent {
        r.problem(f, "has no <socket_parent>");
        return None;
    }
    Some(frame)
}

fn read_coordinate(r: &mut Reader, c: Node) -> Option<Coordinate> {
    if c.tag_name().name() != "Coordinate" {
        r.other(c, c.parent().unwrap_or(c));
        return None;
    }
    let mut coord = Coordinate {
        name: c.attribute("name").unwrap_or("").to_string(),
        default: 0.0,
        range: [f64::NEG_INFINITY, f64::INFINITY],
        clamped: false,
    };
    for p in elements(c) {
        match p.tag_name().name() {
            "default_value" => coord.default = r.number(p).unwrap_or(0.0),
            "default_speed_value" => {
                if r.number(p).is_some_and(|v| v != 0.0) {
                    r.skip(p, "an initial speed; a motornet state is given at reset");
                }
            }
            "range" => {
                if let Some(v) = r.numbers::<2>(p) {
                    if v[1] > v[0] {
                        coord.range = v;
                    } else {
                        r.problem(p, format!("an empty range {} .. {}", v[0], v[1]));
                    }
                }
            }
            "clamped" => coord.clamped = r.flag(p).unwrap_or(false),
            "locked" => {
                if r.flag(p) == Some(true) {
                    r.problem(p, "a locked coordinate is not supported");
                }
            }
            "prescribed" => {
                if r.flag(p) == Some(true) {
                    r.problem(p, "a prescribed coordinate is not supported");
                }
            }
            "prescribed_function" => {
                if elements(p).next().is_some() {
                    r.problem(p, "a prescribed function is not supported");
                }
            }
            "is_free_to_satisfy_constraints" => {
                r.flag(p);
            }
            _ => r.other(p, c),
        }
    }
    Some(coord)
}

fn read_joint(r: &mut Reader, j: Node, bodies: &[String]) -> Option<Joint> {
    let type_name = j.tag_name().name().to_string();
    if !matches!(type_name.as_str(), "WeldJoint" | "CustomJoint") {
        r.problem(
            j,
            "not supported by the importer (joints: WeldJoint, and CustomJoint turning about one axis)",
        );
        return None;
    }
    let name = j.attribute("name").unwrap_or("").to_string();
    let mut frames = Vec::new();
    let (mut parent_ref, mut child_ref) = (None, None);
    let mut coords = Vec::new();
    let mut transform = None;
    for c in elements(j) {
        match c.tag_name().name() {
            "socket_parent_frame" => parent_ref = Some((text(c), c)),
            "socket_child_frame" => child_ref = Some((text(c), c)),
            "frames" => {
                for f in elements(c) {
                    if let Some(frame) = read_frame(r, f, bodies) {
                        frames.push(frame);
                    }
                }
            }
            "coordinates" => {
                for k in elements(c) {
                    if let Some(coord) = read_coordinate(r, k) {
                        coords.push((coord, k));
                    }
                }
            }
            "SpatialTransform" if type_name == "CustomJoint" => transform = Some(c),
            "reverse" => {
                if r.flag(c) == Some(true) {
                    r.problem(c, "a reversed joint is not supported");
                }
            }
            _ => r.other(c, j),
        }
    }
    // A socket names one of the joint's frames, or a body directly (an offset of zero).
    let resolve = |r: &mut Reader, s: Option<(String, Node)>, which: &str| {
        let Some((s, n)) = s else {
            r.problem(j, format!("has no <socket_{which}_frame>"));
            return None;
        };
        if let Some(f) = frames.iter().find(|f| f.name == s) {
            return Some((f.body, f.translation, f.orientation));
        }
        match body_of_path(&s, bodies) {
            Ok(b) => Some((b, [0.0; 3], [0.0; 3])),
            Err(e) => {
                r.problem(n, e);
                None
            }
        }
    };
    let parent = resolve(r, parent_ref, "parent");
    let child = resolve(r, child_ref, "child");
    let (parent, child) = (parent?, child?);
    let Some(child_body) = child.0 else {
        r.problem(j, "the ground cannot be a joint's child");
        return None;
    };
    let kind = if type_name == "WeldJoint" {
        if let Some((_, k)) = coords.first() {
            r.problem(*k, "a WeldJoint has no coordinate");
        }
        JointKind::Weld
    } else {
        let Some(t) = transform else {
            r.problem(j, "has no <SpatialTransform>");
            return None;
        };
        let (coord_name, axis) = read_transform(r, t)?;
        let Some((coord, _)) = coords.iter().find(|(c, _)| c.name == coord_name) else {
            r.problem(t, format!("its rotation is driven by `{coord_name}`, which is not a coordinate of this joint"));
            return None;
        };
        if coords.len() > 1 {
            r.problem(j, "only one coordinate per joint is supported");
        }
        JointKind::Hinge {
            coord: coord.clone(),
            axis,
        }
    };
    let axis = match &kind {
        JointKind::Hinge { axis, .. } => Some(*axis),
        JointKind::Weld => None,
    };
    let mnet = mnet_joint(parent.1, parent.2, child.1, child.2, axis);
    Some(Joint {
        name,
        type_name,
        kind,
        parent: parent.0,
        child: child_body,
        parent_offset: (parent.1, parent.2),
        child_offset: (child.1, child.2),
        mnet,
    })
}

/// A SpatialTransform that is a hinge: one rotation axis driven by one coordinate through
/// LinearFunction (1, 0), every other axis Constant 0 with no coordinate. Returns the coordinate's name and
/// the axis (in the parent offset frame).
fn read_transform(r: &mut Reader, t: Node) -> Option<(String, [f64; 3])> {
    let mut driven: Option<(String, [f64; 3])> = None;
    let mut ok = true;
    for a in elements(t) {
        if a.tag_name().name() != "TransformAxis" {
            r.other(a, t);
            ok = false;
            continue;
        }
        let axis_name = a.attribute("name").unwrap_or("");
        let mut coords = Vec::new();
        let mut axis = None;
        let mut function = None;
        for c in elements(a) {
            match c.tag_name().name() {
                "coordinates" => coords = text(c).split_whitespace().map(str::to_string).collect(),
                "axis" => axis = r.numbers::<3>(c),
                "function" => {
                    // OpenSim 3-style wrapper: <function><LinearFunction>…</LinearFunction></function>
                    function = elements(c).next();
                }
                "LinearFunction" | "Constant" => function = Some(c),
                _ => {
                    r.problem(
                        c,
                        "not supported by the importer (transform functions: LinearFunction with coefficients 1 0, Constant 0)",
                    );
                    ok = false;
                }
            }
        }
        let Some(f) = function else {
            r.problem(a, "has no transform function");
            ok = false;
            continue;
        };
        match f.tag_name().name() {
            "Constant" => {
                let value = elements(f)
                    .find(|v| v.tag_name().name() == "value")
                    .and_then(|v| r.number(v));
                if value != Some(0.0) {
                    r.problem(
                        f,
                        "a constant other than 0 is not supported (the axis must not move)",
                    );
                    ok = false;
                }
                if !coords.is_empty() {
                    r.problem(a, "a constant axis driven by a coordinate is not supported");
                    ok = false;
                }
            }
            "LinearFunction" => {
                let coefs = elements(f)
                    .find(|v| v.tag_name().name() == "coefficients")
                    .and_then(|v| r.numbers::<2>(v));
                if coefs != Some([1.0, 0.0]) {
                    r.problem(
                        f,
                        "only coefficients `1 0` (the angle is the coordinate) are supported",
                    );
                    ok = false;
                }
                if !axis_name.starts_with("rotation") {
                    r.problem(
                        a,
                        "a translation driven by a coordinate (a slider) is not supported",
                    );
                    ok = false;
                    continue;
                }
                let [c] = coords.as_slice() else {
                    r.problem(a, "a rotation driven by exactly one coordinate is needed");
                    ok = false;
                    continue;
                };
                let Some(axis) = axis else {
                    r.problem(a, "has no <axis>");
                    ok = false;
                    continue;
                };
                if axis.iter().all(|x| *x == 0.0) {
                    r.problem(a, "a zero axis");
                    ok = false;
                    continue;
                }
                if driven.is_some() {
                    r.problem(a, "a second rotation driven by a coordinate: only one turning axis per joint is supported");
                    ok = false;
                    continue;
                }
                driven = Some((c.clone(), axis));
            }
            _ => {
                r.problem(
                    f,
                    "not supported by the importer (transform functions: LinearFunction with coefficients 1 0, Constant 0)",
                );
                ok = false;
            }
        }
    }
    if driven.is_none() && ok {
        r.problem(t, "no rotation is driven by a coordinate");
    }
    if ok {
        driven
    } else {
        None
    }
}

fn read_marker(r: &mut Reader, k: Node, bodies: &[String]) -> Option<Marker> {
    if k.tag_name().name() != "Marker" {
        r.other(k, k.parent().unwrap_or(k));
        return None;
    }
    let mut marker = Marker {
        name: k.attribute("name").unwrap_or("").to_string(),
        body: None,
        location: [0.0; 3],
    };
    for c in elements(k) {
        match c.tag_name().name() {
            "socket_parent_frame" => match body_of_path(&text(c), bodies) {
                Ok(b) => marker.body = b,
                Err(e) => r.problem(c, e),
            },
            "location" => marker.location = r.numbers(c).unwrap_or([0.0; 3]),
            "fixed" => {
                r.flag(c);
            }
            _ => r.other(c, k),
        }
    }
    Some(marker)
}

fn read_muscle(r: &mut Reader, f: Node, bodies: &[String], wraps: &[String]) -> Option<Muscle> {
    if f.tag_name().name() != "Thelen2003Muscle" {
        r.problem(
            f,
            "not supported by the importer (forces: Thelen2003Muscle)",
        );
        return None;
    }
    let mut m = Muscle {
        name: f.attribute("name").unwrap_or("").to_string(),
        points: Vec::new(),
        wraps: Vec::new(),
        params: Vec::new(),
        flags: Vec::new(),
    };
    let mut has_path = false;
    for c in elements(f) {
        let tag = c.tag_name().name();
        match tag {
            "appliesForce" | "isDisabled" => {
                let v = r.flag(c);
                let off = if tag == "appliesForce" {
                    v == Some(false)
                } else {
                    v == Some(true)
                };
                if off {
                    r.problem(
                        c,
                        "a muscle that applies no force is not supported (remove it)",
                    );
                }
            }
            "GeometryPath" => {
                has_path = true;
                read_path(r, c, bodies, wraps, &mut m);
            }
            t if THELEN_NUMBERS.contains(&t) => {
                if let Some(v) = r.number(c) {
                    m.params.push((t.to_string(), v));
                }
            }
            t if THELEN_FLAGS.contains(&t) => {
                if let Some(v) = r.flag(c) {
                    m.flags.push((t.to_string(), v.to_string()));
                }
            }
            _ => r.other(c, f),
        }
    }
    for req in [
        "max_isometric_force",
        "optimal_fiber_length",
        "tendon_slack_length",
    ] {
        match m.param(req) {
            Some(v) if v > 0.0 => {}
            Some(v) => r.problem(f, format!("<{req}> must be positive, found {v}")),
            None => r.problem(f, format!("has no <{req}>")),
        }
    }
    if !has_path {
        r.problem(f, "has no <GeometryPath>");
    }
    Some(m)
}

fn read_path(r: &mut Reader, p: Node, bodies: &[String], wraps: &[String], m: &mut Muscle) {
    // Points of any kind, so that a refused point does not also make the path too short.
    let mut n_points = 0;
    for c in elements(p) {
        match c.tag_name().name() {
            "PathPointSet" => {
                for pt in r.set_objects(c) {
                    n_points += 1;
                    if pt.tag_name().name() != "PathPoint" {
                        r.problem(
                            pt,
                            "not supported by the importer (path points: plain PathPoint; no ConditionalPathPoint or MovingPathPoint)",
                        );
                        continue;
                    }
                    let mut point = PathPoint {
                        name: pt.attribute("name").unwrap_or("").to_string(),
                        body: None,
                        location: [0.0; 3],
                    };
                    let mut framed = false;
                    for q in elements(pt) {
                        match q.tag_name().name() {
                            "socket_parent_frame" => match body_of_path(&text(q), bodies) {
                                Ok(b) => {
                                    point.body = b;
                                    framed = true;
                                }
                                Err(e) => r.problem(q, e),
                            },
                            "location" => point.location = r.numbers(q).unwrap_or([0.0; 3]),
                            _ => r.other(q, pt),
                        }
                    }
                    if !framed {
                        r.problem(pt, "has no <socket_parent_frame>");
                    }
                    m.points.push(point);
                }
            }
            "PathWrapSet" => {
                for w in r.set_objects(c) {
                    if w.tag_name().name() != "PathWrap" {
                        r.other(w, c);
                        continue;
                    }
                    let mut pw = PathWrap {
                        name: w.attribute("name").unwrap_or("").to_string(),
                        object: usize::MAX,
                        method: "hybrid".to_string(),
                        range: [-1, -1],
                    };
                    for q in elements(w) {
                        match q.tag_name().name() {
                            "wrap_object" => {
                                let name = text(q);
                                match wraps.iter().position(|x| *x == name) {
                                    Some(i) => pw.object = i,
                                    None => r.problem(
                                        q,
                                        format!(
                                            "`{}` names no wrap object of the model",
                                            shorten(&name)
                                        ),
                                    ),
                                }
                            }
                            "method" => {
                                pw.method = text(q);
                                if !matches!(pw.method.as_str(), "hybrid" | "midpoint" | "axial") {
                                    r.problem(q, "unknown wrap method (hybrid, midpoint, axial)");
                                }
                            }
                            "range" => {
                                if let Some(v) = r.numbers::<2>(q) {
                                    let ok = v
                                        .iter()
                                        .all(|x| x.fract() == 0.0 && (*x == -1.0 || *x >= 1.0));
                                    if ok {
                                        pw.range = [v[0] as i64, v[1] as i64];
                                    } else {
                                        r.problem(
                                            q,
                                            "expected two path-point numbers (from 1) or -1",
                                        );
                                    }
                                }
                            }
                            _ => r.other(q, w),
                        }
                    }
                    if pw.object == usize::MAX {
                        r.problem(w, "names no wrap object");
                        continue;
                    }
                    m.wraps.push(pw);
                }
            }
            _ => r.other(c, p),
        }
    }
    if n_points < 2 {
        r.problem(p, "a path needs at least two path points");
    }
}
