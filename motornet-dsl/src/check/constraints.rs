//! Constraints on parameter values, and the obstacle check at the default posture.

use super::*;

impl<'a> Checker<'a> {
    pub(super) fn positive(&mut self, value: &Sym, strict: bool, what: String, span: Span) {
        self.constraints.push(Constraint {
            value: value.clone(),
            strict,
            message: what,
            span,
        });
    }

    /// A direction (an axis) must have a length: |a|² > 0.
    pub(super) fn nonzero_direction(&mut self, a: &[Sym; 3], what: String, span: Span) {
        let square = |s: &Sym| Sym::Bin(BinOp::Mul, Box::new(s.clone()), Box::new(s.clone()));
        let norm2 = Sym::Bin(
            BinOp::Add,
            Box::new(Sym::Bin(
                BinOp::Add,
                Box::new(square(&a[0])),
                Box::new(square(&a[1])),
            )),
            Box::new(square(&a[2])),
        );
        self.positive(&norm2, true, what, span);
    }

    pub(super) fn validate_constraints(&mut self) {
        let defaults = self.param_defaults();
        // A value with a problem inside (already reported) is not checked any further.
        let mut flawed: Vec<Span> = self
            .diags
            .iter()
            .map(|d| d.span)
            .chain(self.poisoned_spans.iter().copied())
            .collect();
        // Sorted by start, so finding a flaw inside a value is a binary search (not a scan of every
        // diagnostic for every constraint).
        flawed.sort_by_key(|f| (f.start, f.end));
        let has_flaw_inside = |c: Span| {
            let from = flawed.partition_point(|f| f.start < c.start);
            flawed[from..]
                .iter()
                .take_while(|f| f.start <= c.end)
                .any(|f| f.end <= c.end)
        };
        let failures: Vec<Diagnostic> = self
            .constraints
            .iter()
            .filter(|c| c.span.is_empty() || !has_flaw_inside(c.span))
            .filter_map(|c| {
                let v = c.value.eval(&defaults);
                let ok = v.is_finite() && if c.strict { v > 0.0 } else { v >= 0.0 };
                (!ok).then(|| {
                    Diagnostic::new("invalid-value", c.message.clone(), c.span, "invalid here")
                })
            })
            .collect();
        self.diags.extend(failures);
    }

    /// Reports path points that lie inside an obstacle they wrap over, at the default posture (every
    /// coordinate at the middle of its range, 0 where unbounded). Runs on a model without other errors.
    /// Positions come from the lowered kinematics (`lower::world_points`), the one the step is built from.
    pub(super) fn wrap_points_outside(&mut self, model: &Model) {
        let p: Vec<f64> = model.params.iter().map(|p| p.default).collect();
        let ev = |s: &Sym| s.eval(&p);
        let posture = |j: &Joint| -> f64 {
            let (lo, hi) = (ev(&j.lower), ev(&j.upper));
            match (lo.is_finite(), hi.is_finite()) {
                (true, true) => 0.5 * (lo + hi),
                (true, false) => lo.max(0.0),
                (false, true) => hi.min(0.0),
                (false, false) => 0.0,
            }
        };
        let q: Vec<f64> = model
            .coords
            .iter()
            .map(|c| posture(&model.joints[c.joint.index()]))
            .collect();
        if model.space_dim == 3 {
            self.spatial_points_outside(model, &q);
            return;
        }
        // Each obstacle a path wraps over (its centre) and the points next to the wrap, in the order the
        // check below reads them.
        let mut queries: Vec<(BodyRef, &[Sym; 3])> = Vec::new();
        for m in &model.muscles {
            let Path::Via(elements) = &m.path else {
                continue;
            };
            for (k, obstacle) in wraps(elements) {
                let o = &model.obstacles[obstacle.index()];
                queries.push((o.body, &o.at));
                for (_, pt) in neighbours(elements, k) {
                    queries.push((pt.body, &pt.at));
                }
            }
        }
        if queries.is_empty() {
            return;
        }
        let mut world = crate::lower::world_points(model, &q, &queries).into_iter();
        for m in &model.muscles {
            let Path::Via(elements) = &m.path else {
                continue;
            };
            for (k, obstacle) in wraps(elements) {
                let o = &model.obstacles[obstacle.index()];
                let [cx, cy, _] = world.next().expect("one position per query");
                let r = ev(&o.radius);
                for (n, _) in neighbours(elements, k) {
                    let [px, py, _] = world.next().expect("one position per query");
                    let d = (px - cx).hypot(py - cy);
                    if d <= r {
                        self.inside_obstacle(
                            m,
                            elements,
                            n,
                            o,
                            format!("{d:.4} m from its centre, radius {r:.4} m"),
                        );
                    }
                }
            }
        }
    }

    /// Spatial models: the same check in each obstacle's frame (distance to a cylinder's axis, to a
    /// sphere's centre, or inside an ellipsoid's surface).
    fn spatial_points_outside(&mut self, model: &Model, q: &[f64]) {
        let p = model.defaults();
        for m in &model.muscles {
            let Path::Via(elements) = &m.path else {
                continue;
            };
            for (k, obstacle) in wraps(elements) {
                let o = &model.obstacles[obstacle.index()];
                let near = neighbours(elements, k);
                let queries: Vec<(BodyRef, &[Sym; 3])> =
                    near.iter().map(|(_, pt)| (pt.body, &pt.at)).collect();
                let local = crate::lower::obstacle_points(model, q, o, &queries);
                for ((n, _), x) in near.iter().zip(local) {
                    let (d, r, what) = match o.kind {
                        ObstacleKind::Cylinder => {
                            (x[0].hypot(x[1]), o.radius.eval(&p), "from its axis, radius")
                        }
                        ObstacleKind::Sphere => (
                            x[0].hypot(x[1]).hypot(x[2]),
                            o.radius.eval(&p),
                            "from its centre, radius",
                        ),
                        ObstacleKind::Ellipsoid => (
                            x[0].hypot(x[1]).hypot(x[2]),
                            1.0,
                            "in units of its semi-axes, surface at",
                        ),
                    };
                    if d <= r {
                        self.inside_obstacle(m, elements, *n, o, format!("{d:.4} {what} {r:.4}"));
                    }
                }
            }
        }
    }

    fn inside_obstacle(
        &mut self,
        m: &Muscle,
        elements: &[PathElementRef],
        n: usize,
        o: &Obstacle,
        distance: String,
    ) {
        let which = elements[..n]
            .iter()
            .filter(|e| matches!(e, PathElementRef::Point(_)))
            .count()
            + 1;
        self.error(
            Diagnostic::new(
                "point-inside-obstacle",
                format!(
                    "path point {which} of `{}` lies inside obstacle `{}` at the default posture ({distance})",
                    m.name, o.name
                ),
                m.span,
                "this muscle's path",
            )
            .with_related(o.span, "the obstacle")
            .with_help("a path cannot wrap over an obstacle from inside it: move the point or shrink the obstacle"),
        );
    }
}

/// The wraps of a via path: each one's position in the path and its obstacle.
fn wraps(elements: &[PathElementRef]) -> Vec<(usize, ObstacleId)> {
    elements
        .iter()
        .enumerate()
        .filter_map(|(k, e)| match e {
            PathElementRef::Wrap { obstacle, .. } => Some((k, *obstacle)),
            _ => None,
        })
        .collect()
}

/// The points just before and after position `k` of a via path (those that are points).
fn neighbours(elements: &[PathElementRef], k: usize) -> Vec<(usize, &PathPoint)> {
    [k.wrapping_sub(1), k + 1]
        .into_iter()
        .filter_map(|n| match elements.get(n) {
            Some(PathElementRef::Point(pt)) => Some((n, pt)),
            _ => None,
        })
        .collect()
}
