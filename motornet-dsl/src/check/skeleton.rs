//! Bodies, joints, the skeleton's topology and the endpoint.

use super::*;

impl<'a> Checker<'a> {
    pub(super) fn body(&mut self, name: &Ident, block: &ast::Block) -> Body {
        let props = self.properties(
            &block.properties,
            &["mass", "com", "inertia", "length"],
            "a body",
        );
        self.no_paths(block, "a body");
        let n = &name.name;
        let mass = match props.get("mass").and_then(|p| self.single(p)) {
            Some(v) => self.scalar(v, Dim::MASS, &format!("{n}.mass"), "mass"),
            None => {
                if !props.contains_key("mass") && !is_placeholder_block(block) {
                    self.error(Diagnostic::new(
                        "missing-property",
                        format!("body `{n}` has no `mass`"),
                        name.span,
                        "needs a mass",
                    ));
                }
                Sym::Num(1.0)
            }
        };
        let span = props.get("mass").map_or(name.span, |p| p.span);
        // A spatial model may have massless frames (a hinge on a massless body between two others).
        let spatial = self.space_dim == 3;
        self.positive(
            &mass,
            !spatial,
            if spatial {
                format!("the mass of `{n}` must not be negative")
            } else {
                format!("the mass of `{n}` must be positive")
            },
            span,
        );
        let com = match props.get("com").and_then(|p| self.single(p)) {
            Some(v) => self.vector(v, Dim::LENGTH, &format!("{n}.com"), "com"),
            None => zero3(),
        };
        let inertia = match props.get("inertia").and_then(|p| self.single(p)) {
            Some(v) => self.inertia(v, n),
            None => std::array::from_fn(|_| Sym::Num(0.0)),
        };
        let length = match props.get("length").and_then(|p| self.single(p)) {
            Some(v) => {
                let s = self.scalar(v, Dim::LENGTH, &format!("{n}.length"), "length");
                self.positive(
                    &s,
                    false,
                    format!("the length of `{n}` must not be negative"),
                    v.span(),
                );
                s
            }
            None => Sym::Num(0.0),
        };
        Body {
            name: n.clone(),
            mass,
            com,
            inertia,
            length,
            span: name.span,
        }
    }

    /// A body's inertia about its centre of mass: a scalar (about z) in a planar model; in a spatial model
    /// the principal moments `(Ixx, Iyy, Izz)` or the full tensor `(Ixx, Iyy, Izz, Ixy, Ixz, Iyz)`, each
    /// checked to be a physical tensor (non-negative moments obeying the triangle inequality).
    fn inertia(&mut self, v: &Value, n: &str) -> [Sym; 6] {
        let mut out: [Sym; 6] = std::array::from_fn(|_| Sym::Num(0.0));
        if self.space_dim == 2 {
            let s = self.scalar(v, Dim::INERTIA, &format!("{n}.inertia"), "inertia");
            self.positive(
                &s,
                false,
                format!("the inertia of `{n}` must not be negative"),
                v.span(),
            );
            out[2] = s;
            return out;
        }
        const FULL: [&str; 6] = ["xx", "yy", "zz", "xy", "xz", "yz"];
        let names: &[&str] = match v {
            Value::Vector { components, .. } if components.len() == 3 => &FULL[..3],
            _ => &FULL,
        };
        let owner = format!("{n}.inertia");
        let Some(parts) = self.vector_of(v, Dim::INERTIA, &owner, "inertia", names) else {
            return out;
        };
        for (k, s) in parts.into_iter().enumerate() {
            out[k] = s;
        }
        let sum = |a: &Sym, b: &Sym, c: &Sym| {
            Sym::Bin(
                BinOp::Sub,
                Box::new(Sym::Bin(
                    BinOp::Add,
                    Box::new(a.clone()),
                    Box::new(b.clone()),
                )),
                Box::new(c.clone()),
            )
        };
        for (k, axis) in ["x", "y", "z"].iter().enumerate() {
            self.positive(
                &out[k],
                false,
                format!("the moment of inertia of `{n}` about {axis} must not be negative"),
                v.span(),
            );
            let (a, b) = (&out[(k + 1) % 3], &out[(k + 2) % 3]);
            self.positive(
                &sum(a, b, &out[k]),
                false,
                format!("the moments of inertia of `{n}` must obey the triangle inequality (I{axis}{axis} ≤ the sum of the other two)"),
                v.span(),
            );
        }
        out
    }

    pub(super) fn no_paths(&mut self, block: &ast::Block, owner: &str) {
        for p in &block.paths {
            self.error(Diagnostic::new(
                "misplaced",
                format!("{owner} cannot have a path"),
                p.span(),
                "only muscles have paths",
            ));
        }
    }

    pub(super) fn body_ref(&mut self, name: &Ident) -> Option<BodyRef> {
        if name.name == "world" {
            return Some(BodyRef::World);
        }
        if let Some(&i) = self.body_index.get(&name.name) {
            return Some(BodyRef::Body(i));
        }
        let mut d = Diagnostic::new(
            "unknown-body",
            format!("unknown body `{}`", name.name),
            name.span,
            "no such body",
        );
        d.help = match self.decls.get(&name.name) {
            Some((kind, _)) => Some(format!("`{}` is a {}, not a body", name.name, kind.noun())),
            None if !self.may_suggest() => None,
            None => {
                let mut names: Vec<&str> = self.body_index.keys().map(String::as_str).collect();
                names.sort_unstable();
                names.push("world");
                did_you_mean(&name.name, names)
            }
        };
        self.unknown(d, &name.name);
        None
    }

    /// Reads the joints (with their coordinates) in the order written, checks that every body hangs from a
    /// chain of joints ending at the world, and orders the attached joints from the world outwards.
    #[allow(clippy::type_complexity)]
    pub(super) fn skeleton(
        &mut self,
        ast: &ast::Model,
        bodies: &[Body],
    ) -> (Vec<Joint>, Vec<Coord>, Vec<JointId>) {
        let mut tree = Tree {
            joints: Vec::new(),
            coords: Vec::new(),
            parent_joint: vec![None; bodies.len()],
        };
        for item in &ast.items {
            let Item::Joint {
                name,
                parent,
                child,
                block,
            } = item
            else {
                continue;
            };
            if is_placeholder_block(block) {
                // Did not parse (already reported): the skeleton is incomplete, but its coordinate is not unknown.
                self.skeleton_incomplete = true;
                self.broken_joints.push(name.name.clone());
                continue;
            }
            self.joint(name, parent, child, block, bodies, &mut tree);
        }
        let any_joint = ast.items.iter().any(|i| matches!(i, Item::Joint { .. }));
        let depth = self.attach_to_world(bodies, &tree.joints, &tree.parent_joint, any_joint);
        let order = joint_order(&tree.joints, &depth);
        (tree.joints, tree.coords, order)
    }

    /// One joint that parsed: its properties, its coordinates, and its child's parent joint.
    fn joint(
        &mut self,
        name: &Ident,
        parent: &Ident,
        child: &Ident,
        block: &ast::Block,
        bodies: &[Body],
        tree: &mut Tree,
    ) {
        // A joint whose name is taken (reported) still holds its bodies together.
        self.no_paths(block, "a joint");
        let props = self.properties(
            &block.properties,
            &[
                "type", "at", "range", "velocity", "damping", "rotation", "axis", "anchor",
            ],
            "a joint",
        );
        let parent_ref = self.body_ref(parent);
        let child_ref = if child.name == "world" {
            self.error(Diagnostic::new(
                "world-child",
                "`world` cannot be the child of a joint",
                child.span,
                "world is fixed",
            ));
            None
        } else {
            self.body_ref(child)
        };
        if parent_ref.is_none() || (child_ref.is_none() && child.name != "world") {
            self.skeleton_incomplete = true;
        }
        let kind = match props.get("type") {
            Some(p) => match self.word(p, &["hinge", "slide", "weld"]) {
                Some(w) if w.name == "slide" => JointKind::Slide,
                Some(w) if w.name == "weld" => JointKind::Weld,
                _ => JointKind::Hinge,
            },
            None => JointKind::Hinge,
        };
        let n = &name.name;
        let spatial = self.space_dim == 3;
        if !spatial {
            for key in ["rotation", "axis", "anchor"] {
                if let Some(p) = props.get(key) {
                    self.error(
                        Diagnostic::new(
                            "spatial-only",
                            format!("`{key}` applies to joints of spatial models only"),
                            p.span,
                            "planar joints turn about z",
                        )
                        .with_help("write `dimensions 3;` to make the model spatial"),
                    );
                }
            }
        }
        if kind == JointKind::Weld {
            for key in ["range", "velocity", "damping", "axis", "anchor"] {
                if let Some(p) = props.get(key) {
                    self.error(Diagnostic::new(
                        "misplaced",
                        format!("a weld joint has no `{key}`: it does not move"),
                        p.span,
                        "not for a weld",
                    ));
                }
            }
        }
        // A later joint between the same two bodies composes onto the earlier ones (spatial models).
        let composed =
            matches!(child_ref, Some(BodyRef::Body(c)) if tree.parent_joint[c.index()].is_some());
        let at = match props.get("at").and_then(|p| self.single(p)) {
            Some(v) => self.vector(v, Dim::LENGTH, &format!("{n}.at"), "at"),
            // By default a joint sits at the parent's tip.
            None => match parent_ref {
                Some(BodyRef::Body(i)) if !composed => tip(&bodies[i.index()]),
                _ => zero3(),
            },
        };
        let spatial_vector = |this: &mut Self, key: &str, dim: Dim| -> Option<[Sym; 3]> {
            let v = props
                .get(key)
                .filter(|_| spatial)
                .and_then(|p| this.single(p))?;
            Some(this.vector(v, dim, &format!("{n}.{key}"), key))
        };
        let rotation = spatial_vector(self, "rotation", Dim::ANGLE).unwrap_or_else(zero3);
        let anchor = spatial_vector(self, "anchor", Dim::LENGTH).unwrap_or_else(zero3);
        let axis = match spatial_vector(self, "axis", Dim::NONE) {
            Some(a) => {
                let span = props["axis"].span;
                self.nonzero_direction(&a, format!("the axis of `{n}` must not be zero"), span);
                a
            }
            None => {
                if spatial && kind == JointKind::Slide {
                    self.error(
                        Diagnostic::new(
                            "missing-property",
                            format!("slide joint `{n}` has no `axis`"),
                            name.span,
                            "needs the direction it slides along",
                        )
                        .with_help("e.g. `axis (1, 0, 0);` (in the child's frame)"),
                    );
                }
                [Sym::Num(0.0), Sym::Num(0.0), Sym::Num(1.0)]
            }
        };
        let (pos_dim, vel_dim, damp_dim) = match kind {
            JointKind::Hinge | JointKind::Weld => {
                (Dim::ANGLE, Dim::ANGULAR_SPEED, Dim::ROTARY_DAMPING)
            }
            JointKind::Slide => (Dim::LENGTH, Dim::SPEED, Dim::LINEAR_DAMPING),
        };
        let unbounded = (Sym::Num(f64::NEG_INFINITY), Sym::Num(f64::INFINITY));
        let moves = kind != JointKind::Weld;
        let (lower, upper) = props
            .get("range")
            .filter(|_| moves)
            .and_then(|p| self.single(p))
            .and_then(|v| self.range(v, pos_dim, &format!("{n}.range"), "range"))
            .unwrap_or(unbounded.clone());
        let (vel_lower, vel_upper) = props
            .get("velocity")
            .filter(|_| moves)
            .and_then(|p| self.single(p))
            .and_then(|v| self.range(v, vel_dim, &format!("{n}.velocity"), "velocity range"))
            .unwrap_or(unbounded);
        let damping = match props
            .get("damping")
            .filter(|_| moves)
            .and_then(|p| self.single(p))
        {
            Some(v) => {
                let s = self.scalar(v, damp_dim, &format!("{n}.damping"), "damping");
                self.positive(
                    &s,
                    false,
                    format!("the damping of `{n}` must not be negative"),
                    v.span(),
                );
                s
            }
            None => Sym::Num(0.0),
        };
        let j = tree.joints.len();
        if let Some(BodyRef::Body(c)) = child_ref {
            if let Some((first_joint, first)) = tree.parent_joint[c.index()] {
                if spatial && Some(tree.joints[first_joint.index()].parent) == parent_ref {
                    // Composed in declaration order onto the first joint (a multi-axis joint).
                } else {
                    self.error(
                    Diagnostic::new(
                        "two-parents",
                        format!("body `{}` is attached by two joints", child.name),
                        child.span,
                        "second parent joint",
                    )
                    .with_related(first, "first attached here")
                    .with_help(if spatial {
                        "each body hangs from one parent (several joints from the same parent compose); the skeleton must be a tree"
                    } else {
                        "each body hangs from exactly one joint; the skeleton must be a tree"
                    }),
                );
                }
            } else {
                tree.parent_joint[c.index()] = Some((JointId(j), child.span));
            }
        }
        let first_coord = tree.coords.len();
        match kind {
            JointKind::Weld => {}
            JointKind::Hinge => tree.coords.push(Coord {
                name: n.clone(),
                joint: JointId(j),
            }),
            JointKind::Slide if spatial => tree.coords.push(Coord {
                name: n.clone(),
                joint: JointId(j),
            }),
            JointKind::Slide => {
                tree.coords.push(Coord {
                    name: format!("{n}.x"),
                    joint: JointId(j),
                });
                tree.coords.push(Coord {
                    name: format!("{n}.y"),
                    joint: JointId(j),
                });
            }
        }
        tree.joints.push(Joint {
            name: n.clone(),
            kind,
            parent: parent_ref.unwrap_or(BodyRef::World),
            child: match child_ref {
                Some(BodyRef::Body(c)) => c,
                _ => NO_BODY,
            },
            at,
            rotation,
            axis,
            anchor,
            coords: first_coord..tree.coords.len(),
            lower,
            upper,
            vel_lower,
            vel_upper,
            damping,
            span: name.span,
        });
    }

    /// Checks that every body hangs from a chain of joints that ends at the world, reporting cycles and
    /// bodies not attached to anything. Returns each attached body's depth (joints between it and the world).
    fn attach_to_world(
        &mut self,
        bodies: &[Body],
        joints: &[Joint],
        parent_joint: &[Option<(JointId, Span)>],
        any_joint: bool,
    ) -> Vec<Option<usize>> {
        // Every body hangs from a chain of joints that ends at the world.
        let mut depth: Vec<Option<usize>> = vec![None; bodies.len()];
        let mut in_reported_cycle = vec![false; bodies.len()];
        // Each body's walk to the world stops at a body already walked (its depth or its failure is known),
        // so the whole check takes time linear in the number of bodies, however deep the chains.
        let mut failed = vec![false; bodies.len()];
        let mut on_chain = vec![usize::MAX; bodies.len()];
        for (b, body) in bodies.iter().enumerate() {
            let mut chain = vec![b];
            on_chain[b] = 0;
            let mut cur = b;
            let verdict = loop {
                let Some((j, _)) = parent_joint[cur] else {
                    break Err(None);
                };
                match joints[j.index()].parent {
                    BodyRef::World => break Ok(chain.len()),
                    BodyRef::Body(p) => {
                        let p = p.index();
                        if on_chain[p] != usize::MAX {
                            break Err(Some(chain[on_chain[p]..].to_vec()));
                        }
                        if let Some(d) = depth[p] {
                            break Ok(chain.len() + d);
                        }
                        if failed[p] {
                            // Hangs from a body already found unattached or in a cycle (reported there).
                            break Err(Some(Vec::new()));
                        }
                        on_chain[p] = chain.len();
                        chain.push(p);
                        cur = p;
                    }
                }
            };
            for &c in &chain {
                on_chain[c] = usize::MAX;
            }
            match &verdict {
                Ok(d) => {
                    for (i, &c) in chain.iter().enumerate() {
                        depth[c] = Some(d - i);
                    }
                }
                Err(_) => chain.iter().for_each(|&c| failed[c] = true),
            }
            match verdict {
                Ok(d) => depth[b] = Some(d),
                Err(Some(cycle)) if cycle.is_empty() => {}
                // Each cycle is reported once; bodies hanging from a cycle are not attached either, as a
                // consequence.
                Err(Some(cycle)) => {
                    if cycle.iter().any(|&c| in_reported_cycle[c]) {
                        continue;
                    }
                    for &c in &cycle {
                        in_reported_cycle[c] = true;
                    }
                    self.report_cycle(&cycle, bodies, joints, parent_joint);
                }
                Err(None) => {
                    // A body hanging from a disconnected body is reported through that body. Without any
                    // joint, `no-skeleton` says it all; with a joint that did not parse or that names an
                    // unknown body (reported), this may be a consequence.
                    if parent_joint[b].is_none() && any_joint && !self.skeleton_incomplete {
                        self.error(
                            Diagnostic::new(
                                "disconnected-body",
                                format!("body `{}` is not attached to anything", body.name),
                                body.span,
                                "no joint holds this body",
                            )
                            .with_help(format!(
                                "add a joint: `joint j: world -> {} {{ … }}`",
                                body.name
                            )),
                        );
                    }
                }
            }
        }
        depth
    }

    /// Reports a cycle of bodies (each hanging from the next, by `parent_joint`).
    pub(super) fn report_cycle(
        &mut self,
        cycle: &[usize],
        bodies: &[Body],
        joints: &[Joint],
        parent_joint: &[Option<(JointId, Span)>],
    ) {
        // The joints of the cycle in the order they are written, each as `parent -> child`.
        let mut js: Vec<usize> = cycle
            .iter()
            .filter_map(|&b| parent_joint[b].map(|p| p.0.index()))
            .collect();
        js.sort_by_key(|&j| joints[j].span.start);
        let Some(&first) = js.first() else { return };
        let names: Vec<String> = js
            .iter()
            .map(|&j| format!("`{}`", joints[j].name))
            .collect();
        // Walk up the cycle from the first joint's parent, back to it; reversed, that reads `parent -> child`.
        let BodyRef::Body(start) = joints[first].parent else {
            return;
        };
        let mut walk = vec![bodies[start.index()].name.clone()];
        let mut cur = start.index();
        for _ in 0..cycle.len() {
            match joints[parent_joint[cur].map_or(first, |p| p.0.index())].parent {
                BodyRef::Body(p) => {
                    walk.push(bodies[p.index()].name.clone());
                    cur = p.index();
                }
                BodyRef::World => break,
            }
        }
        walk.reverse();
        let mut d = Diagnostic::new(
            "skeleton-cycle",
            format!(
                "the joints {} form a cycle: {}",
                join_and(&names),
                join_capped(&walk, " -> ")
            ),
            joints[first].span,
            "part of the cycle",
        )
        .with_help("the skeleton must be a tree rooted at `world`: each body hangs from one parent, ending at the world");
        for &j in &js[1..] {
            d = d.with_related(joints[j].span, "part of the cycle");
        }
        self.error(d);
    }

    pub(super) fn endpoint(
        &mut self,
        s: &Settings,
        bodies: &[Body],
        joints: &[Joint],
    ) -> Option<Endpoint> {
        if let Some(p) = &s.endpoint {
            if is_placeholder_property(p) {
                return None; // did not parse: already reported
            }
            let (body, at) = match p.values.as_slice() {
                [b] => (b, None),
                [b, at] => (b, Some(at)),
                _ => {
                    let point = if self.space_dim == 3 {
                        "(x, y, z)"
                    } else {
                        "(x, y)"
                    };
                    self.error(Diagnostic::new(
                        "wrong-value",
                        format!("`endpoint` takes a body and optionally a point `{point}` on it"),
                        p.span,
                        format!("expected `endpoint BODY {point};`"),
                    ));
                    return None;
                }
            };
            let Some(word) = body.as_word() else {
                self.error(Diagnostic::new(
                    "wrong-value",
                    "`endpoint` must start with a body name",
                    body.span(),
                    "expected a body",
                ));
                return None;
            };
            let b = self.body_ref(word)?;
            let at = match (at, b) {
                (Some(v), _) => self.vector(v, Dim::LENGTH, "endpoint", "endpoint"),
                (None, BodyRef::Body(i)) => tip(&bodies[i.index()]),
                (None, BodyRef::World) => zero3(),
            };
            return Some(Endpoint { body: b, at });
        }
        // Without `endpoint`, the tip of the only body that has no children.
        let leaves: Vec<usize> = (0..bodies.len())
            .filter(|&b| {
                !joints
                    .iter()
                    .any(|j| j.parent == BodyRef::Body(BodyId(b)) && j.child != NO_BODY)
            })
            .collect();
        match leaves.as_slice() {
            [b] => Some(Endpoint {
                body: BodyRef::Body(BodyId(*b)),
                at: tip(&bodies[*b]),
            }),
            // No body at all is reported as `no-skeleton`, no leaf at all as a `skeleton-cycle`; with a joint
            // that did not parse, the leaves are not known.
            [] => None,
            _ if self.skeleton_incomplete => None,
            _ => {
                let names: Vec<&str> = leaves.iter().map(|&b| bodies[b].name.as_str()).collect();
                self.error(
                    Diagnostic::new(
                        "missing-endpoint",
                        "the model does not say which point is the endpoint",
                        self.model_span,
                        "no `endpoint`",
                    )
                    .with_help(format!(
                        "add e.g. `endpoint {} (x, y) m;` (candidates: {})",
                        names[0],
                        join_capped(&names, ", ")
                    )),
                );
                None
            }
        }
    }
}

/// The child of a joint whose child is not a body (reported): such a joint is never in a checked model.
const NO_BODY: BodyId = BodyId(usize::MAX);

/// The skeleton while its joints are read.
struct Tree {
    joints: Vec<Joint>,
    coords: Vec<Coord>,
    /// Each body's parent joint, with the span of the child name that attached it.
    parent_joint: Vec<Option<(JointId, Span)>>,
}

/// The attached joints (those whose child has a depth), from the world outwards (by the child's depth; the
/// sort is stable, so joints at one depth keep the order they are written in).
fn joint_order(joints: &[Joint], depth: &[Option<usize>]) -> Vec<JointId> {
    let mut order = Vec::new();
    let mut js: Vec<usize> = (0..joints.len())
        .filter(|&j| joints[j].child != NO_BODY)
        .collect();
    js.sort_by_key(|&j| depth[joints[j].child.index()].unwrap_or(usize::MAX));
    for j in js {
        if depth[joints[j].child.index()].is_some() {
            order.push(JointId(j));
        }
    }
    order
}

/// Where a body's tip is: `length` along its x axis.
fn tip(body: &Body) -> [Sym; 3] {
    [body.length.clone(), Sym::Num(0.0), Sym::Num(0.0)]
}

/// The zero vector.
pub(super) fn zero3() -> [Sym; 3] {
    [Sym::Num(0.0), Sym::Num(0.0), Sym::Num(0.0)]
}
