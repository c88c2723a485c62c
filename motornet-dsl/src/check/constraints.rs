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
    pub(super) fn wrap_points_outside(
        &mut self,
        bodies: &[Body],
        joints: &[Joint],
        order: &[JointId],
        muscles: &[Muscle],
        obstacles: &[Obstacle],
    ) {
        let p = self.param_defaults();
        let ev = |s: &Sym| s.eval(&p);
        let mut poses: Vec<(f64, f64, f64)> = vec![(0.0, 0.0, 0.0); bodies.len()];
        let world = |poses: &[(f64, f64, f64)], b: BodyRef, at: &[Sym; 2]| -> (f64, f64) {
            let (x, y, a) = match b {
                BodyRef::World => (0.0, 0.0, 0.0),
                BodyRef::Body(i) => poses[i.index()],
            };
            let (px, py) = (ev(&at[0]), ev(&at[1]));
            (
                x + a.cos() * px - a.sin() * py,
                y + a.sin() * px + a.cos() * py,
            )
        };
        let posture = |j: &Joint| -> f64 {
            let (lo, hi) = (ev(&j.lower), ev(&j.upper));
            match (lo.is_finite(), hi.is_finite()) {
                (true, true) => 0.5 * (lo + hi),
                (true, false) => lo.max(0.0),
                (false, true) => hi.min(0.0),
                (false, false) => 0.0,
            }
        };
        for &ji in order {
            let j = &joints[ji.index()];
            let q = posture(j);
            let parent = match j.parent {
                BodyRef::World => (0.0, 0.0, 0.0),
                BodyRef::Body(i) => poses[i.index()],
            };
            let at = match j.kind {
                JointKind::Hinge => [j.at[0].clone(), j.at[1].clone()],
                JointKind::Slide => [
                    Sym::Bin(BinOp::Add, Box::new(j.at[0].clone()), Box::new(Sym::Num(q))),
                    Sym::Bin(BinOp::Add, Box::new(j.at[1].clone()), Box::new(Sym::Num(q))),
                ],
            };
            let (x, y) = world(&poses, j.parent, &at);
            let angle = parent.2 + if j.kind == JointKind::Hinge { q } else { 0.0 };
            poses[j.child.index()] = (x, y, angle);
        }
        for m in muscles {
            let Path::Via(elements) = &m.path else {
                continue;
            };
            for (k, e) in elements.iter().enumerate() {
                let PathElementRef::Wrap { obstacle, .. } = e else {
                    continue;
                };
                let o = &obstacles[obstacle.index()];
                let (cx, cy) = world(&poses, o.body, &o.at);
                let r = ev(&o.radius);
                for n in [k.wrapping_sub(1), k + 1] {
                    let Some(PathElementRef::Point(pt)) = elements.get(n) else {
                        continue;
                    };
                    let (px, py) = world(&poses, pt.body, &pt.at);
                    let d = (px - cx).hypot(py - cy);
                    if d <= r {
                        let which = elements[..n]
                            .iter()
                            .filter(|e| matches!(e, PathElementRef::Point(_)))
                            .count()
                            + 1;
                        self.error(
                            Diagnostic::new(
                                "point-inside-obstacle",
                                format!(
                                    "path point {which} of `{}` lies inside obstacle `{}` at the default posture ({:.4} m from its centre, radius {:.4} m)",
                                    m.name, o.name, d, r
                                ),
                                m.span,
                                "this muscle's path",
                            )
                            .with_related(o.span, "the obstacle")
                            .with_help("a path cannot wrap over an obstacle from inside it: move the point or shrink the obstacle"),
                        );
                    }
                }
            }
        }
    }
}
