//! Path lengths: straight segments between via points, and tangent–arc–tangent segments where a wrap
//! applies; MotorNet's via-point velocity rates.

use super::frame::Pose;
use super::*;

impl<'b> Lowerer<'_, 'b> {
    /// Length of a via-point path: straight segments between consecutive points, except where a wrap
    /// element sits between two points and the straight segment would cross its obstacle.
    pub(super) fn via_length(
        &self,
        poses: &[Option<Pose<'b>>],
        elements: &[PathElementRef],
    ) -> E<'b> {
        let mut total = Vec::new();
        let mut prev: Option<[E<'b>; 2]> = None;
        let mut pending_wrap: Option<(ObstacleId, &WrapSideRef)> = None;
        for e in elements {
            match e {
                PathElementRef::Point(p) => {
                    let here = self.point(poses, p.body, self.vec2(&p.at));
                    if let Some(from) = prev {
                        total.push(match pending_wrap.take() {
                            Some((o, side)) => self.wrapped_segment(
                                poses,
                                from,
                                here,
                                &self.m.obstacles[o.index()],
                                side,
                            ),
                            None => distance(from, here),
                        });
                    }
                    prev = Some(here);
                }
                PathElementRef::Wrap { obstacle, side } => pending_wrap = Some((*obstacle, side)),
            }
        }
        self.b.sum(total)
    }

    /// The shortest path from `p` to `q` around a circle (a cylinder with axis +z, or the great circle of a
    /// sphere through two points in its equatorial plane): straight when the segment misses the circle,
    /// otherwise tangent line, arc on the chosen side, tangent line. Every form stays finite when a point
    /// approaches the surface (the tangent lengths are clamped at zero); a point inside the obstacle is
    /// reported by the checker at the model's default posture.
    pub(super) fn wrapped_segment(
        &self,
        poses: &[Option<Pose<'b>>],
        p: [E<'b>; 2],
        q: [E<'b>; 2],
        o: &Obstacle,
        side: &WrapSideRef,
    ) -> E<'b> {
        let b = self.b;
        let c = self.point(poses, o.body, self.vec2(&o.at));
        let r = self.sym(&o.radius, &[]);
        // Everything relative to the obstacle's centre.
        let (px, py) = (p[0] - c[0], p[1] - c[1]);
        let (qx, qy) = (q[0] - c[0], q[1] - c[1]);
        let (dx, dy) = (qx - px, qy - py);
        let straight = (dx * dx + dy * dy).sqrt();
        // Does the segment cross the circle? Closest point of the segment to the centre.
        let len2 = dx * dx + dy * dy;
        let t = (-(px * dx + py * dy) / len2.clamp_min(1e-300)).clamp(0.0, 1.0);
        let (cx, cy) = (px + t * dx, py + t * dy);
        let crosses = (cx * cx + cy * cy).lt(r * r);
        // Direction around the centre: counter-clockwise (+1) or clockwise (−1) from p to q.
        let ccw = match side {
            WrapSideRef::Sign(sign) => b.c(0.0).lt(*sign),
            WrapSideRef::Point(at) => {
                // A side point on the left of p→q makes the path pass left of the centre: clockwise.
                let sp = self.point(poses, o.body, self.vec2(at));
                let cross = dx * (sp[1] - p[1]) - dy * (sp[0] - p[0]);
                cross.lt(0.0)
            }
        };
        let eps = 1e-12;
        let (dp2, dq2) = (px * px + py * py, qx * qx + qy * qy);
        let (tp, tq) = (
            (dp2 - r * r).clamp_min(eps).sqrt(),
            (dq2 - r * r).clamp_min(eps).sqrt(),
        );
        // Angles of the tangent points seen from the centre: φ ± α with α = atan2(tangent length, r).
        let (alpha_p, alpha_q) = (tp.atan2(r), tq.atan2(r));
        let (phi_p, phi_q) = (py.atan2(px), qy.atan2(qx));
        let sweep = ccw.select(
            phi_q - alpha_q - (phi_p + alpha_p),
            (phi_p - alpha_p) - (phi_q + alpha_q),
        );
        // Arc angle in [0, 2π).
        let wrapped = sweep.sin().atan2(sweep.cos());
        let arc = wrapped
            .lt(0.0)
            .select(wrapped + 2.0 * std::f64::consts::PI, wrapped);
        let around = tp + r * arc + tq;
        crosses.select(around, straight)
    }

    /// MotorNet's via-point velocity weights: for a hinge coordinate, the summed rates of every hinge on the
    /// way from the world to it (the absolute angular velocity of its child body); slides keep their own rate.
    pub(super) fn motornet_path_rates(&self, qd: &[E<'b>]) -> Vec<E<'b>> {
        self.m
            .coords
            .iter()
            .enumerate()
            .map(|(k, c)| {
                let joint = &self.m.joints[c.joint.index()];
                if joint.kind == JointKind::Slide {
                    return qd[k];
                }
                let mut rate = qd[k];
                let mut parent = joint.parent;
                while let BodyRef::Body(p) = parent {
                    let pj = self
                        .m
                        .joints
                        .iter()
                        .find(|j| j.child == p)
                        .expect("connected (checked)");
                    if pj.kind == JointKind::Hinge {
                        rate = rate + qd[pj.coords.start];
                    }
                    parent = pj.parent;
                }
                rate
            })
            .collect()
    }
}

pub(super) fn distance<'b>(a: [E<'b>; 2], b: [E<'b>; 2]) -> E<'b> {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    (dx * dx + dy * dy).sqrt()
}
