//! Path lengths: straight segments between via points, and tangent–arc–tangent segments where a wrap
//! applies; MotorNet's via-point velocity rates.

use super::frame::*;
use super::*;

impl<'b> Lowerer<'_, 'b> {
    /// Length of a via-point path: straight segments between consecutive points, except where wrap
    /// elements sit between two points. One wrap replaces the straight segment where it would cross its
    /// obstacle; several (spatial models) are chained, in two passes ([`Self::wrap_chain`]).
    pub(super) fn via_length(
        &self,
        poses: &[Option<Pose<'b>>],
        elements: &[PathElementRef],
    ) -> E<'b> {
        let mut total = Vec::new();
        let mut prev: Option<Vec<E<'b>>> = None;
        let mut pending: Vec<(ObstacleId, &WrapSideRef)> = Vec::new();
        for e in elements {
            match e {
                PathElementRef::Point(p) => {
                    let here = self.point(poses, p.body, &self.pos(&p.at));
                    if let Some(from) = prev {
                        let wraps = std::mem::take(&mut pending);
                        total.push(match wraps.as_slice() {
                            [] => distance(&from, &here),
                            [(o, side)] if self.m.space_dim == 3 => self.spatial_wrap(
                                poses,
                                [from[0], from[1], from[2]],
                                [here[0], here[1], here[2]],
                                &self.m.obstacles[o.index()],
                                side,
                            ),
                            [(o, side)] => self.wrapped_segment(
                                poses,
                                [from[0], from[1]],
                                [here[0], here[1]],
                                &self.m.obstacles[o.index()],
                                side,
                            ),
                            chain => self.wrap_chain(
                                poses,
                                [from[0], from[1], from[2]],
                                [here[0], here[1], here[2]],
                                chain,
                            ),
                        });
                    }
                    prev = Some(here);
                }
                PathElementRef::Wrap { obstacle, side } => pending.push((*obstacle, side)),
            }
        }
        self.b.sum(total)
    }

    /// The length from `p` to `q` past several obstacles in turn (spatial models; the checker refuses a
    /// chain in a planar one), in two passes as OpenSim's iteration (docs/language.md §20.5).
    ///
    /// Pass 1: each wrap is the single-obstacle rule applied from where the path stands — `p`, or the exit
    /// tangent point of the last wrap that wrapped — aimed at `q`; where it wraps the path goes on from its
    /// exit tangent point, where it does not the path stays where it was. Each wrap's entry tangent point
    /// is noted. Pass 2 does the same again, but each wrap aims at the entry tangent point (from pass 1) of
    /// the first later wrap that wrapped in pass 1, or at `q` if none did; the length is pass 2's: the
    /// stretches up to each exit tangent point, then straight to `q`. With no wrap active this is |pq|;
    /// each target moves continuously (a wrap's entry point at its onset lies on the line it replaces), so
    /// the length stays continuous and differentiable as for one wrap.
    fn wrap_chain(
        &self,
        poses: &[Option<Pose<'b>>],
        p: [E<'b>; 3],
        q: [E<'b>; 3],
        chain: &[(ObstacleId, &WrapSideRef)],
    ) -> E<'b> {
        let pass = |targets: &[[E<'b>; 3]]| {
            let mut from = p;
            let mut pieces = Vec::new();
            let mut entries = Vec::new();
            for ((o, side), target) in chain.iter().zip(targets) {
                let (wraps, prefix, exit, entry) = self.spatial_wrap_exit(
                    poses,
                    from,
                    *target,
                    &self.m.obstacles[o.index()],
                    side,
                );
                pieces.push(wraps.select(prefix, 0.0));
                entries.push((wraps, entry));
                from = std::array::from_fn(|i| wraps.select(exit[i], from[i]));
            }
            pieces.push(distance(&from, &q));
            (pieces, entries)
        };
        let (_, entries) = pass(&vec![q; chain.len()]);
        // Each wrap's target: the next wrap's entry point where that one wrapped, else the next one's target.
        let mut targets = vec![q; chain.len()];
        for k in (0..chain.len().saturating_sub(1)).rev() {
            let (wraps, entry) = entries[k + 1];
            let next = targets[k + 1];
            targets[k] = std::array::from_fn(|i| wraps.select(entry[i], next[i]));
        }
        let (pieces, _) = pass(&targets);
        self.b.sum(pieces)
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
        let c = self.point(poses, o.body, &self.pos(&o.at));
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
            WrapSideRef::Shortest => unreachable!("planar wraps always have a side"),
            WrapSideRef::Point(at) => {
                // A side point on the left of p→q makes the path pass left of the centre: clockwise.
                let sp = self.point(poses, o.body, &self.pos(at));
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

    /// The length from `p` to `q` (world points) past an obstacle in a spatial model, by MuJoCo 4.0's rule
    /// (docs/language.md §11.3): in the obstacle's frame the problem is reduced to a circle — the plane
    /// normal to a cylinder's axis, or the plane through a sphere's centre and both points — where the
    /// path winds about the centre by w (through the side point, or the shorter way without one). It wraps
    /// when |w| exceeds what the straight segment clears, as tangent, arc, tangent; a cylinder's length is
    /// then the unrolled straight line. An ellipsoid is wrapped as the unit sphere in coordinates scaled by
    /// its semi-axes, its lengths measured back in the real coordinates.
    pub(super) fn spatial_wrap(
        &self,
        poses: &[Option<Pose<'b>>],
        p: [E<'b>; 3],
        q: [E<'b>; 3],
        o: &Obstacle,
        side: &WrapSideRef,
    ) -> E<'b> {
        self.spatial_wrap_parts(poses, p, q, o, side, false).0
    }

    /// [`Self::spatial_wrap`] for a wrap in a chain: whether it wraps, the length from `p` round the
    /// obstacle to the exit tangent point (meaningful where it wraps), that point and the entry tangent
    /// point, in world coordinates.
    fn spatial_wrap_exit(
        &self,
        poses: &[Option<Pose<'b>>],
        p: [E<'b>; 3],
        q: [E<'b>; 3],
        o: &Obstacle,
        side: &WrapSideRef,
    ) -> (E<'b>, E<'b>, [E<'b>; 3], [E<'b>; 3]) {
        let (_, exit) = self.spatial_wrap_parts(poses, p, q, o, side, true);
        exit.expect("asked for the exit")
    }

    /// The single-obstacle rule; with `exit`, also (wraps, length to the exit tangent point, that point,
    /// the entry tangent point).
    /// Without it the graph holds exactly the nodes of the length (the IR of existing models is unchanged).
    #[allow(clippy::type_complexity)]
    fn spatial_wrap_parts(
        &self,
        poses: &[Option<Pose<'b>>],
        p: [E<'b>; 3],
        q: [E<'b>; 3],
        o: &Obstacle,
        side: &WrapSideRef,
        exit: bool,
    ) -> (E<'b>, Option<(E<'b>, E<'b>, [E<'b>; 3], [E<'b>; 3])>) {
        let b = self.b;
        let straight = distance(&p, &q);
        let (centre, to_world, local) = self.obstacle_frame(poses, o);
        let centre_in_body = self.vec3(&o.at);
        let in_frame = |x: &[E<'b>; 3]| {
            let d: [E; 3] = std::array::from_fn(|i| x[i] - centre[i]);
            mat_t_vec(&to_world, &d)
        };
        let (mut pl, mut ql) = (in_frame(&p), in_frame(&q));
        let mut side_l = match side {
            WrapSideRef::Point(at) => {
                let at = self.vec3(at);
                let d: [E; 3] = std::array::from_fn(|i| at[i] - centre_in_body[i]);
                Some(mat_t_vec(&local, &d))
            }
            _ => None,
        };
        let radii = self.vec3(&o.radii);
        let (r, scale) = match o.kind {
            ObstacleKind::Ellipsoid => {
                let inv = radii.map(|a| 1.0 / a);
                let scaled =
                    |x: &[E<'b>; 3]| -> [E<'b>; 3] { std::array::from_fn(|i| x[i] * inv[i]) };
                pl = scaled(&pl);
                ql = scaled(&ql);
                side_l = side_l.map(|s| scaled(&s));
                (b.c(1.0), Some(radii))
            }
            _ => (radii[0], None),
        };
        // The circle's plane: coordinates (along u, along v) and, for a cylinder, the height along its axis.
        let (p2, q2, d2, heights) = match o.kind {
            ObstacleKind::Cylinder => (
                [pl[0], pl[1]],
                [ql[0], ql[1]],
                side_l.map(|d| [d[0], d[1]]),
                Some((pl[2], ql[2])),
            ),
            ObstacleKind::Sphere | ObstacleKind::Ellipsoid => {
                let [u, v] = plane_basis(&pl, &ql);
                let plane = |x: &[E<'b>; 3]| [dot(x, &u), dot(x, &v)];
                (plane(&pl), plane(&ql), side_l.map(|d| plane(&d)), None)
            }
        };
        let signed_angle = |a: [E<'b>; 2], c: [E<'b>; 2]| {
            (a[0] * c[1] - a[1] * c[0]).atan2(a[0] * c[0] + a[1] * c[1])
        };
        let winding = match d2 {
            Some(d) => signed_angle(p2, d) + signed_angle(d, q2),
            None => signed_angle(p2, q2),
        };
        let (dp2, dq2) = (p2[0] * p2[0] + p2[1] * p2[1], q2[0] * q2[0] + q2[1] * q2[1]);
        let eps = 1e-12;
        let (tp, tq) = (
            (dp2 - r * r).clamp_min(eps).sqrt(),
            (dq2 - r * r).clamp_min(eps).sqrt(),
        );
        let (alpha_p, alpha_q) = (tp.atan2(r), tq.atan2(r));
        let arc = winding.abs() - alpha_p - alpha_q;
        let mut wraps = (r * r).lt(dp2).and((r * r).lt(dq2)).and(b.c(0.0).lt(arc));
        // A finite cylinder wraps only while one of its tangent points (their heights by unrolling) lies
        // within its length, as OpenSim's WrapCylinder.
        if let (Some(length), Some((zp, zq))) = (&o.length, heights) {
            let half = self.sym(length, &[]) * 0.5;
            let flat = tp + r * arc + tq;
            let dz = zq - zp;
            let within = |share: E<'b>| (zp + dz * share).abs().lt(half);
            wraps = wraps.and(within(tp / flat).or(within((tp + r * arc) / flat)));
        }
        // The entry and exit tangent points' polar angles in the circle's plane, and that plane's point at
        // an angle (in the obstacle's frame) carried to the world.
        let tangent_angles = || {
            let turn = b.c(0.0).lt(winding).select(1.0, -1.0);
            (
                p2[1].atan2(p2[0]) + turn * alpha_p,
                q2[1].atan2(q2[0]) - turn * alpha_q,
            )
        };
        let to_world_point = |local: [E<'b>; 3]| -> [E<'b>; 3] {
            let w = mat_vec(&to_world, &local);
            std::array::from_fn(|i| centre[i] + w[i])
        };
        let (around, to_exit) = match (heights, scale) {
            // Unrolled, the path is a straight line of the unrolled length over the height difference.
            (Some((zp, zq)), _) => {
                let flat = tp + r * arc + tq;
                let dz = zq - zp;
                let around = (flat * flat + dz * dz).sqrt();
                let to_exit = exit.then(|| {
                    // The tangent points' heights, by unrolling; the stretch up to the exit is that share of
                    // the line.
                    let share = (tp + r * arc) / flat;
                    let (t_in, t_out) = tangent_angles();
                    let point = to_world_point([r * t_out.cos(), r * t_out.sin(), zp + dz * share]);
                    let entry =
                        to_world_point([r * t_in.cos(), r * t_in.sin(), zp + dz * (tp / flat)]);
                    (around * share, point, entry)
                });
                (around, to_exit)
            }
            (None, None) => {
                let to_exit = tp + r * arc;
                let around = to_exit + tq;
                let to_exit = exit.then(|| {
                    let [u, v] = plane_basis(&pl, &ql);
                    let at = |t: E<'b>| {
                        let (c, s) = (t.cos(), t.sin());
                        to_world_point(std::array::from_fn(|i| (u[i] * c + v[i] * s) * r))
                    };
                    let (t_in, t_out) = tangent_angles();
                    (to_exit, at(t_out), at(t_in))
                });
                (around, to_exit)
            }
            (None, Some(radii)) => {
                let (around, to_exit, point, entry) = self.ellipsoid_path(
                    p,
                    q,
                    p2,
                    q2,
                    winding,
                    [alpha_p, alpha_q],
                    arc,
                    plane_basis(&pl, &ql),
                    radii,
                    &to_world,
                    centre,
                );
                (around, exit.then_some((to_exit, point, entry)))
            }
        };
        (
            wraps.select(around, straight),
            to_exit.map(|(length, point, entry)| (wraps, length, point, entry)),
        )
    }

    /// A spatial obstacle's frame: its centre in the world, its rotation to world axes, and its rotation in
    /// its body (for a cylinder given by its axis, any frame whose z is the axis).
    pub(super) fn obstacle_frame(
        &self,
        poses: &[Option<Pose<'b>>],
        o: &Obstacle,
    ) -> ([E<'b>; 3], Mat3<'b>, Mat3<'b>) {
        let b = self.b;
        let local = match &o.axis {
            Some(axis) => frame_with_z(b, &unit(&self.vec3(axis))),
            None => euler_xyz(b, &self.vec3(&o.rotation)),
        };
        let centre_in_body = self.vec3(&o.at);
        match o.body {
            BodyRef::World => (centre_in_body, local, local),
            BodyRef::Body(i) => {
                let pose = poses[i.index()].expect("every body is connected (checked)");
                let c = pose.apply(&centre_in_body);
                ([c[0], c[1], c[2]], mat_mul(pose.rotation(), &local), local)
            }
        }
    }

    /// The ellipsoid's wrapped length, the length up to the exit tangent point, that point and the entry
    /// tangent point: the tangent points and the great-circle arc found on the unit sphere
    /// (scaled coordinates, in the plane spanned by `basis`), mapped back by the semi-axes; straight tangent
    /// segments plus the mapped arc's length by 8-point Gauss–Legendre quadrature.
    #[allow(clippy::too_many_arguments)]
    fn ellipsoid_path(
        &self,
        p: [E<'b>; 3],
        q: [E<'b>; 3],
        p2: [E<'b>; 2],
        q2: [E<'b>; 2],
        winding: E<'b>,
        alpha: [E<'b>; 2],
        arc: E<'b>,
        basis: [[E<'b>; 3]; 2],
        radii: [E<'b>; 3],
        to_world: &Mat3<'b>,
        centre: [E<'b>; 3],
    ) -> (E<'b>, E<'b>, [E<'b>; 3], [E<'b>; 3]) {
        let b = self.b;
        let [u, v] = basis;
        let turn = b.c(0.0).lt(winding).select(1.0, -1.0);
        let theta_p = p2[1].atan2(p2[0]) + turn * alpha[0];
        let theta_q = q2[1].atan2(q2[0]) - turn * alpha[1];
        // A point of the unit circle at angle t, mapped to the ellipsoid, in world coordinates.
        let on_surface = |t: E<'b>| -> [E<'b>; 3] {
            let (c, s) = (t.cos(), t.sin());
            let local: [E; 3] = std::array::from_fn(|i| (u[i] * c + v[i] * s) * radii[i]);
            let w = mat_vec(to_world, &local);
            std::array::from_fn(|i| centre[i] + w[i])
        };
        let (tp, tq) = (on_surface(theta_p), on_surface(theta_q));
        // |dE/dt| along the arc t = θp + turn·τ, τ ∈ [0, arc].
        let speed = |t: E<'b>| {
            let (c, s) = (t.cos(), t.sin());
            let d: [E; 3] = std::array::from_fn(|i| (v[i] * c - u[i] * s) * radii[i]);
            dot(&d, &d).sqrt()
        };
        let half = arc * 0.5;
        let mid = theta_p + turn * half;
        let arc_length = b.sum(
            GAUSS_LEGENDRE_8
                .iter()
                .map(|&(x, w)| speed(mid + turn * half * x) * (half * w)),
        );
        let to_exit = distance(&p, &tp) + arc_length;
        (to_exit + distance(&tq, &q), to_exit, tq, tp)
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

/// An orthonormal basis of the plane through the origin, `p` and `q`: u along `p`, v towards `q` (zero
/// when the three are collinear).
fn plane_basis<'b>(p: &[E<'b>; 3], q: &[E<'b>; 3]) -> [[E<'b>; 3]; 2] {
    let u = unit(p);
    let v = cross(&cross(p, q), &u);
    let v = v.map(|c| c / dot(&v, &v).sqrt().clamp_min(1e-300));
    [u, v]
}

/// Nodes and weights of 8-point Gauss–Legendre quadrature on [−1, 1].
const GAUSS_LEGENDRE_8: [(f64, f64); 8] = [
    (-0.960_289_856_497_536_3, 0.101_228_536_290_376_3),
    (-0.796_666_477_413_626_7, 0.222_381_034_453_374_5),
    (-0.525_532_409_916_329, 0.313_706_645_877_887_3),
    (-0.183_434_642_495_649_8, 0.362_683_783_378_362),
    (0.183_434_642_495_649_8, 0.362_683_783_378_362),
    (0.525_532_409_916_329, 0.313_706_645_877_887_3),
    (0.796_666_477_413_626_7, 0.222_381_034_453_374_5),
    (0.960_289_856_497_536_3, 0.101_228_536_290_376_3),
];

/// A rotation whose third column is the unit vector `z` (the first two complete it; for a cylinder only the
/// axis matters). Built from the world axis least aligned with `z`, chosen without branching on a value
/// that could change sign.
fn frame_with_z<'b>(b: &'b Builder, z: &[E<'b>; 3]) -> Mat3<'b> {
    let (zero, one) = (b.c(0.0), b.c(1.0));
    // x̂ unless z is close to it, then ŷ.
    let near_x = b.c(0.9).lt(z[0].abs());
    let helper = [near_x.select(zero, one), near_x.select(one, zero), zero];
    let x = unit(&cross(&helper, z));
    let y = cross(z, &x);
    [[x[0], y[0], z[0]], [x[1], y[1], z[1]], [x[2], y[2], z[2]]]
}

pub(super) fn distance<'b>(a: &[E<'b>], b: &[E<'b>]) -> E<'b> {
    let d: Vec<E> = a.iter().zip(b).map(|(&x, &y)| y - x).collect();
    let d2 = d
        .iter()
        .map(|&v| v * v)
        .reduce(|s, t| s + t)
        .expect("points have coordinates");
    d2.sqrt()
}
