//! Obstacles, muscles and their paths.

use super::skeleton::zero3;
use super::*;

impl<'a> Checker<'a> {
    pub(super) fn obstacles(&mut self, ast: &ast::Model) -> Vec<Obstacle> {
        let mut out = Vec::new();
        for item in &ast.items {
            let Item::Obstacle { name, kind, block } = item else {
                continue;
            };
            self.no_paths(block, "an obstacle");
            let spatial = self.space_dim == 3;
            let kind = match kind.name.as_str() {
                "cylinder" => ObstacleKind::Cylinder,
                "sphere" => ObstacleKind::Sphere,
                "ellipsoid" if spatial => ObstacleKind::Ellipsoid,
                "ellipsoid" => {
                    self.error(
                        Diagnostic::new(
                            "spatial-only",
                            "ellipsoids are obstacles of spatial models only",
                            kind.span,
                            "not in a planar model",
                        )
                        .with_help("write `dimensions 3;` to make the model spatial"),
                    );
                    continue;
                }
                _ => {
                    let mut d = Diagnostic::new(
                        "unknown-obstacle",
                        format!("unknown obstacle shape `{}`", kind.name),
                        kind.span,
                        "not a shape",
                    );
                    d.help = Some(
                        did_you_mean(&kind.name, ["cylinder", "sphere", "ellipsoid"])
                            .unwrap_or("shapes: cylinder, sphere, ellipsoid".into()),
                    );
                    self.error(d);
                    continue;
                }
            };
            let allowed: &[&str] = match (kind, spatial) {
                (ObstacleKind::Ellipsoid, _) => &["body", "at", "rotation", "radii"],
                (ObstacleKind::Cylinder, true) => {
                    &["body", "at", "rotation", "axis", "radius", "length"]
                }
                (ObstacleKind::Sphere, true) => &["body", "at", "rotation", "radius"],
                _ => &["body", "at", "radius"],
            };
            let props = self.properties(&block.properties, allowed, "an obstacle");
            let n = &name.name;
            let body = match props.get("body") {
                Some(p) => match self.single(p).and_then(|v| v.as_word().cloned()) {
                    Some(w) => self.body_ref(&w),
                    None => None,
                },
                None => Some(BodyRef::World),
            };
            let at = match props.get("at").and_then(|p| self.single(p)) {
                Some(v) => self.vector(v, Dim::LENGTH, &format!("{n}.at"), "at"),
                None => zero3(),
            };
            let rotation = match props.get("rotation").and_then(|p| self.single(p)) {
                Some(v) => self.vector(v, Dim::ANGLE, &format!("{n}.rotation"), "rotation"),
                None => zero3(),
            };
            let axis = match props.get("axis").and_then(|p| self.single(p)) {
                Some(v) => {
                    let a = self.vector(v, Dim::NONE, &format!("{n}.axis"), "axis");
                    let span = props["axis"].span;
                    self.nonzero_direction(&a, format!("the axis of `{n}` must not be zero"), span);
                    if let Some(r) = props.get("rotation") {
                        self.error(
                            Diagnostic::new(
                                "conflicting-properties",
                                format!("cylinder `{n}` has both an `axis` and a `rotation`"),
                                r.span,
                                "second orientation",
                            )
                            .with_related(span, "axis given here")
                            .with_help("give one: the axis, or the frame whose z is the axis"),
                        );
                    }
                    Some(a)
                }
                None => None,
            };
            let (radius, radii) = if kind == ObstacleKind::Ellipsoid {
                let radii = match props.get("radii").and_then(|p| self.single(p)) {
                    Some(v) => self.vector(v, Dim::LENGTH, &format!("{n}.radii"), "radii"),
                    None => {
                        self.error(
                            Diagnostic::new(
                                "missing-property",
                                format!("ellipsoid `{n}` has no `radii`"),
                                name.span,
                                "needs its three semi-axes",
                            )
                            .with_help("e.g. `radii (0.035, 0.02, 0.02) m;`"),
                        );
                        [Sym::Num(1.0), Sym::Num(1.0), Sym::Num(1.0)]
                    }
                };
                let rspan = props.get("radii").map_or(name.span, |p| p.span);
                for (r, axis) in radii.iter().zip(["x", "y", "z"]) {
                    self.positive(
                        r,
                        true,
                        format!("the semi-axis of `{n}` along {axis} must be positive"),
                        rspan,
                    );
                }
                (radii[0].clone(), radii)
            } else {
                let radius = match props.get("radius").and_then(|p| self.single(p)) {
                    Some(v) => self.scalar(v, Dim::LENGTH, &format!("{n}.radius"), "radius"),
                    None => {
                        self.error(Diagnostic::new(
                            "missing-property",
                            format!("obstacle `{n}` has no `radius`"),
                            name.span,
                            "needs a radius",
                        ));
                        Sym::Num(1.0)
                    }
                };
                let rspan = props.get("radius").map_or(name.span, |p| p.span);
                self.positive(
                    &radius,
                    true,
                    format!("the radius of `{n}` must be positive"),
                    rspan,
                );
                (radius.clone(), [radius.clone(), radius.clone(), radius])
            };
            // A spatial cylinder's length (infinite when not given).
            let length = props.get("length").and_then(|p| self.single(p)).map(|v| {
                let l = self.scalar(v, Dim::LENGTH, &format!("{n}.length"), "length");
                self.positive(
                    &l,
                    true,
                    format!("the length of `{n}` must be positive"),
                    props["length"].span,
                );
                l
            });
            out.push(Obstacle {
                name: n.clone(),
                kind,
                length,
                body: body.unwrap_or(BodyRef::World),
                at,
                rotation,
                axis,
                radius,
                radii,
                span: name.span,
            });
        }
        out
    }

    pub(super) fn muscles(
        &mut self,
        ast: &ast::Model,
        coords: &HashMap<String, CoordId>,
        obstacles: &[Obstacle],
    ) -> Vec<Muscle> {
        let mut out = Vec::new();
        for item in &ast.items {
            let Item::Muscle { name, kind, block } = item else {
                continue;
            };
            let Some(mk) = MuscleKind::from_name(&kind.name) else {
                let names: Vec<&str> = MuscleKind::ALL.iter().map(|k| k.name()).collect();
                let mut d = Diagnostic::new(
                    "unknown-muscle-model",
                    format!("unknown muscle model `{}`", kind.name),
                    kind.span,
                    "not a muscle model",
                );
                d.help = Some(
                    did_you_mean(&kind.name, names.iter().copied())
                        .unwrap_or_else(|| format!("muscle models: {}", names.join(", "))),
                );
                self.error(d);
                continue;
            };
            let n = &name.name;
            let allowed: Vec<&str> = mk.params().iter().map(|p| p.name).collect();
            let props = self.properties(&block.properties, &allowed, &format!("a {}", mk.name()));
            let mut params = Vec::new();
            let mut missing = Vec::new();
            for spec in mk.params() {
                let owner = format!("{n}.{}", spec.name);
                let (sym, span) = match props
                    .get(spec.name)
                    .and_then(|p| self.single(p).map(|v| (v, p.span)))
                {
                    Some((v, span)) => (self.scalar(v, spec.dim, &owner, spec.name), span),
                    None => match spec.default {
                        Some(d) => (
                            self.maybe_param(&owner, Sym::Num(d), true, spec.dim, name.span),
                            name.span,
                        ),
                        None => {
                            if !props.contains_key(spec.name) {
                                missing.push(spec.name);
                            }
                            (Sym::Num(1.0), name.span)
                        }
                    },
                };
                for limit in spec.limits {
                    // The constraint is `value > 0` (or ≥): value − at above the limit, at − value below it.
                    let value = match (limit.above, limit.at) {
                        (true, 0.0) => sym.clone(),
                        (true, at) => {
                            Sym::Bin(BinOp::Sub, Box::new(sym.clone()), Box::new(Sym::Num(at)))
                        }
                        (false, at) => {
                            Sym::Bin(BinOp::Sub, Box::new(Sym::Num(at)), Box::new(sym.clone()))
                        }
                    };
                    self.positive(
                        &value,
                        limit.strict,
                        format!("`{}` of `{n}` must {}", spec.name, limit.text),
                        span,
                    );
                }
                params.push(sym);
            }
            if !missing.is_empty() {
                let list = missing
                    .iter()
                    .map(|m| format!("`{m}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                self.error(
                    Diagnostic::new(
                        "missing-property",
                        format!("muscle `{n}` ({}) is missing {list}", mk.name()),
                        name.span,
                        "required parameters missing",
                    )
                    .with_help(format!("e.g. `{} …;`", missing[0])),
                );
            }
            // Paths that did not parse were reported; the others are checked.
            let paths: Vec<&ast::PathDef> = block
                .paths
                .iter()
                .filter(|p| !is_placeholder_path(p))
                .collect();
            let broken_path = paths.len() < block.paths.len();
            let path = match paths.as_slice() {
                [] if broken_path => None,
                [] => {
                    self.error(
                        Diagnostic::new("missing-path", format!("muscle `{n}` has no path"), name.span, "no path")
                            .with_help("add `path world (x, y) -> body (x, y);` or `path lumped <length expression>;`"),
                    );
                    None
                }
                [p, rest @ ..] => {
                    for extra in rest {
                        self.error(
                            Diagnostic::new(
                                "duplicate-path",
                                format!("muscle `{n}` has two paths"),
                                extra.span(),
                                "second path",
                            )
                            .with_related(p.span(), "first path"),
                        );
                    }
                    self.path(p, n, coords, obstacles)
                }
            };
            if let Some(path) = path {
                out.push(Muscle {
                    name: n.clone(),
                    kind: mk,
                    params,
                    path,
                    span: name.span,
                });
            }
        }
        out
    }

    pub(super) fn path(
        &mut self,
        p: &ast::PathDef,
        muscle: &str,
        coords: &HashMap<String, CoordId>,
        obstacles: &[Obstacle],
    ) -> Option<Path> {
        match p {
            ast::PathDef::Lumped { expr, .. } => {
                self.coords_in_scope = Some(coords.clone());
                let (sym, dim, _) = self.expr(expr);
                self.coords_in_scope = None;
                self.check_dim(dim, Dim::LENGTH, expr.span, "path length");
                Some(Path::Lumped(sym))
            }
            // A path that did not parse (already reported).
            p if is_placeholder_path(p) => None,
            ast::PathDef::Via { elements, span } => {
                let mut out = Vec::new();
                let mut n_points = 0;
                for (k, e) in elements.iter().enumerate() {
                    match e {
                        PathElement::Point { body, position } => {
                            n_points += 1;
                            let b = self.body_ref(body);
                            let at = self.vector(
                                position,
                                Dim::LENGTH,
                                &format!("{muscle}.path.{k}"),
                                "path point",
                            );
                            out.push(PathElementRef::Point(PathPoint {
                                body: b.unwrap_or(BodyRef::World),
                                at,
                            }));
                        }
                        PathElement::Wrap {
                            obstacle,
                            side,
                            span,
                        } => {
                            let Some(o) = obstacles.iter().position(|o| o.name == obstacle.name)
                            else {
                                let mut d = Diagnostic::new(
                                    "unknown-obstacle",
                                    format!("unknown obstacle `{}`", obstacle.name),
                                    obstacle.span,
                                    "no such obstacle",
                                );
                                d.help = did_you_mean(
                                    &obstacle.name,
                                    obstacles.iter().map(|o| o.name.as_str()),
                                );
                                self.unknown(d, &obstacle.name);
                                continue;
                            };
                            // A wrap sits between two path points, possibly with other wraps (a chain)
                            // between it and them.
                            let is_point =
                                |e: &&PathElement| matches!(e, PathElement::Point { .. });
                            let is_wrap = |e: &&PathElement| matches!(e, PathElement::Wrap { .. });
                            let before = elements[..k].iter().rev().find(|e| !is_wrap(e));
                            let after = elements[k + 1..].iter().find(|e| !is_wrap(e));
                            if !(before.is_some_and(|e| is_point(&e))
                                && after.is_some_and(|e| is_point(&e)))
                            {
                                self.error(Diagnostic::new(
                                    "wrap-not-bracketed",
                                    format!(
                                        "wrapping over `{}` must sit between two path points",
                                        obstacle.name
                                    ),
                                    *span,
                                    "needs a point on each side",
                                ));
                            }
                            let spatial = self.space_dim == 3;
                            // The wraps chained before this one, back to the previous path point.
                            let chained: Vec<&PathElement> = elements[..k]
                                .iter()
                                .rev()
                                .take_while(|e| is_wrap(e))
                                .collect();
                            if let Some(PathElement::Wrap { span: first, .. }) = chained.first() {
                                if !spatial {
                                    self.error(
                                        Diagnostic::new(
                                            "spatial-only",
                                            format!(
                                                "a second wrap (over `{}`) between the same two path points: chained wraps are spatial only",
                                                obstacle.name
                                            ),
                                            *span,
                                            "second wrap in a row",
                                        )
                                        .with_related(*first, "the wrap before it")
                                        .with_help("a planar path holds one wrap between two points: add a path point between the wraps, or declare `dimensions 3;`"),
                                    );
                                }
                            }
                            if let Some(PathElement::Wrap { span: earlier, .. }) =
                                chained.iter().find(|e| {
                                    matches!(e, PathElement::Wrap { obstacle: o, .. } if o.name == obstacle.name)
                                })
                            {
                                self.error(
                                    Diagnostic::new(
                                        "repeated-wrap",
                                        format!(
                                            "obstacle `{}` is wrapped twice between the same two path points",
                                            obstacle.name
                                        ),
                                        *span,
                                        "wrapped again here",
                                    )
                                    .with_related(*earlier, "first wrap over it")
                                    .with_help("the second wrap would start on the obstacle's own surface: remove one of them"),
                                );
                            }
                            let side = match side {
                                None if spatial => WrapSideRef::Shortest,
                                None => WrapSideRef::Sign(1.0),
                                Some(ast::WrapSide::Sign(_, span)) if spatial => {
                                    self.error(Diagnostic::new(
                                        "spatial-only",
                                        "`side +` and `side -` name a turning direction about z, which only planar models have",
                                        *span,
                                        "no sign in a spatial model",
                                    ).with_help("give a side point `side (x, y, z) m` in the obstacle's body frame, or omit `side` for the shorter way round"));
                                    WrapSideRef::Shortest
                                }
                                Some(ast::WrapSide::Sign(s, _)) => WrapSideRef::Sign(*s),
                                Some(ast::WrapSide::Point(v)) => WrapSideRef::Point(self.vector(
                                    v,
                                    Dim::LENGTH,
                                    &format!("{muscle}.path.{k}.side"),
                                    "side point",
                                )),
                            };
                            out.push(PathElementRef::Wrap {
                                obstacle: ObstacleId(o),
                                side,
                            });
                        }
                    }
                }
                if n_points < 2 {
                    self.error(
                        Diagnostic::new(
                            "path-too-short",
                            format!("the path of `{muscle}` has {n_points} point{}; it needs at least two", if n_points == 1 { "" } else { "s" }),
                            *span,
                            "too few points",
                        )
                        .with_help("write `path world (x, y) -> body (x, y);`"),
                    );
                    return None;
                }
                Some(Path::Via(out))
            }
        }
    }
}
