//! 3D frames of an imported model (nalgebra): OpenSim's Euler angles, the joints as `.mnet` writes them
//! (`at`, `rotation`, `axis`, `anchor`), the bodies' poses at a posture, and the distance of a path
//! segment from a wrap object, which decides where a `wrap` goes.

use super::osim::{JointKind, Model, WrapShape};
use nalgebra::{Matrix3, Rotation3, Unit, Vector3};

pub type V3 = Vector3<f64>;
pub type M3 = Matrix3<f64>;

/// Body-fixed X-Y-Z Euler angles (OpenSim's `orientation` and `xyz_body_rotation`): R = Rx·Ry·Rz.
pub fn xyz_body(r: [f64; 3]) -> M3 {
    let rx = Rotation3::from_axis_angle(&V3::x_axis(), r[0]);
    let ry = Rotation3::from_axis_angle(&V3::y_axis(), r[1]);
    let rz = Rotation3::from_axis_angle(&V3::z_axis(), r[2]);
    (rx * ry * rz).into_inner()
}

/// The body-fixed X-Y-Z angles of a rotation matrix (inverse of [`xyz_body`]; the middle angle in
/// [−π/2, π/2]).
pub fn to_xyz_body(m: &M3) -> [f64; 3] {
    let b = m[(0, 2)].clamp(-1.0, 1.0).asin();
    let a = (-m[(1, 2)]).atan2(m[(2, 2)]);
    let c = (-m[(0, 1)]).atan2(m[(0, 0)]);
    [a, b, c]
}

/// A rigid transform: x ↦ r·x + p.
#[derive(Clone, Copy, Debug)]
pub struct Pose {
    pub r: M3,
    pub p: V3,
}

impl Pose {
    pub fn identity() -> Pose {
        Pose {
            r: M3::identity(),
            p: V3::zeros(),
        }
    }
    pub fn then(&self, other: &Pose) -> Pose {
        Pose {
            r: self.r * other.r,
            p: self.p + self.r * other.p,
        }
    }
    pub fn apply(&self, x: &V3) -> V3 {
        self.r * x + self.p
    }
    pub fn inverse_apply(&self, x: &V3) -> V3 {
        self.r.transpose() * (x - self.p)
    }
}

/// A joint as `.mnet` writes it: T_child = T_parent · Trans(at) · Rot(rotation) · Motion, with Motion =
/// Trans(anchor) · Rot(axis, q) · Trans(−anchor) for a hinge and nothing for a weld.
#[derive(Clone, Debug)]
pub struct MnetJoint {
    pub at: V3,
    /// Body-fixed X-Y-Z angles (rad).
    pub rotation: [f64; 3],
    /// Hinge only: the axis (in the child's frame) and the anchor.
    pub axis: Option<V3>,
    pub anchor: V3,
}

/// The `.mnet` joint of an OpenSim joint. OpenSim places the child body at
/// X_parent · X_PF · Motion · X_CB⁻¹, where X_PF = (R_p, t_p) is the parent offset frame, X_CB = (R_c, t_c)
/// the child offset frame and Motion = Rot(a, q) about the axis a in the parent offset frame. With
/// Rot(a, q)·R_cᵀ = R_cᵀ·Rot(R_c·a, q) this is Trans(t_p − R·t_c) · R · [Trans(t_c) · Rot(R_c·a, q) ·
/// Trans(−t_c)] with R = R_p·R_cᵀ: `at` t_p − R·t_c, `rotation` R, `axis` R_c·a, `anchor` t_c.
/// When the child offset frame has no orientation, `rotation` is the parent offset frame's angles as
/// written (no round trip through a matrix).
pub fn mnet_joint(
    parent_t: [f64; 3],
    parent_o: [f64; 3],
    child_t: [f64; 3],
    child_o: [f64; 3],
    axis: Option<[f64; 3]>,
) -> MnetJoint {
    let (tp, tc) = (V3::from(parent_t), V3::from(child_t));
    let (rot_m, rotation) = if child_o == [0.0; 3] {
        (xyz_body(parent_o), parent_o)
    } else {
        let m = xyz_body(parent_o) * xyz_body(child_o).transpose();
        (m, to_xyz_body(&m))
    };
    let at = if child_t == [0.0; 3] {
        tp
    } else {
        tp - rot_m * tc
    };
    let axis = axis.map(|a| {
        let a = V3::from(a);
        if child_o == [0.0; 3] {
            a
        } else {
            xyz_body(child_o) * a
        }
    });
    MnetJoint {
        at,
        rotation,
        axis,
        anchor: tc,
    }
}

impl MnetJoint {
    /// The child's pose relative to its parent at coordinate value `q` (ignored by a weld).
    pub fn pose(&self, q: f64) -> Pose {
        let base = Pose {
            r: xyz_body(self.rotation),
            p: self.at,
        };
        let Some(axis) = self.axis else {
            return base;
        };
        let rot = Rotation3::from_axis_angle(&Unit::new_normalize(axis), q).into_inner();
        // Trans(anchor)·Rot·Trans(−anchor): x ↦ rot·(x − anchor) + anchor.
        let motion = Pose {
            r: rot,
            p: self.anchor - rot * self.anchor,
        };
        base.then(&motion)
    }
}

/// The world pose of every body (index as in `model.bodies`) with each coordinate at `q` (in the order of
/// the model's hinge joints). Bodies are reached from the ground through their joints; one that is not
/// (an error reported by the reader) stays at the origin.
pub fn body_poses(model: &Model, q: &[f64]) -> Vec<Pose> {
    let n = model.bodies.len();
    let mut poses: Vec<Option<Pose>> = vec![None; n];
    let coord_of: Vec<Option<usize>> = {
        let mut k = 0;
        model
            .joints
            .iter()
            .map(|j| match j.kind {
                JointKind::Hinge { .. } => {
                    k += 1;
                    Some(k - 1)
                }
                JointKind::Weld => None,
            })
            .collect()
    };
    for _ in 0..=n {
        let mut progressed = false;
        for (ji, j) in model.joints.iter().enumerate() {
            if poses[j.child].is_some() {
                continue;
            }
            let parent = match j.parent {
                None => Pose::identity(),
                Some(p) => match poses[p] {
                    Some(pose) => pose,
                    None => continue,
                },
            };
            let qv = coord_of[ji].and_then(|k| q.get(k).copied()).unwrap_or(0.0);
            poses[j.child] = Some(parent.then(&j.mnet.pose(qv)));
            progressed = true;
        }
        if !progressed {
            break;
        }
    }
    poses
        .into_iter()
        .map(|p| p.unwrap_or_else(Pose::identity))
        .collect()
}

/// The pose of a wrap object's frame in its body's frame.
pub fn wrap_frame(translation: [f64; 3], rotation: [f64; 3]) -> Pose {
    Pose {
        r: xyz_body(rotation),
        p: V3::from(translation),
    }
}

/// How near the straight segment a–b (world points) passes to a wrap object placed at `frame` (world):
/// the distance in units of the object's size — from the axis in radii for a cylinder, from the centre in
/// the coordinates scaled by the radii for an ellipsoid (and so in radii for a sphere). Below 1 the
/// segment crosses the object.
pub fn segment_distance(frame: &Pose, shape: &WrapShape, a: &V3, b: &V3) -> f64 {
    let (la, lb) = (frame.inverse_apply(a), frame.inverse_apply(b));
    let scale = |v: &V3| -> V3 {
        match shape {
            WrapShape::Cylinder { radius, .. } => V3::new(v.x / radius, v.y / radius, 0.0),
            WrapShape::Sphere { radius } => v / *radius,
            WrapShape::Ellipsoid { radii } => {
                V3::new(v.x / radii[0], v.y / radii[1], v.z / radii[2])
            }
        }
    };
    let (sa, sb) = (scale(&la), scale(&lb));
    let d = sb - sa;
    let len2 = d.norm_squared();
    let t = if len2 > 0.0 {
        (-sa.dot(&d) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (sa + d * t).norm()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn euler_round_trip() {
        let r = [0.3, -0.7, 2.1];
        let back = to_xyz_body(&xyz_body(r));
        for k in 0..3 {
            assert!((back[k] - r[k]).abs() < 1e-12, "{back:?}");
        }
        // Rx·Ry·Rz: a point on x turned by Rz first.
        let m = xyz_body([0.0, 0.0, std::f64::consts::FRAC_PI_2]);
        assert!((m * V3::x() - V3::y()).norm() < 1e-15);
    }

    #[test]
    fn child_offset_mapping_matches_opensim_composition() {
        let (tp, op, tc, oc) = (
            [0.1, -0.2, 0.05],
            [0.2, 0.1, -0.3],
            [0.01, 0.02, -0.03],
            [-0.4, 0.25, 0.6],
        );
        let a = [0.1, 0.2, 0.97];
        let j = mnet_joint(tp, op, tc, oc, Some(a));
        let q = 0.83;
        // OpenSim: X_PF · Rot(a, q) · X_CB⁻¹.
        let xpf = Pose {
            r: xyz_body(op),
            p: V3::from(tp),
        };
        let rot = Pose {
            r: Rotation3::from_axis_angle(&Unit::new_normalize(V3::from(a)), q).into_inner(),
            p: V3::zeros(),
        };
        let rc = xyz_body(oc);
        let xcb_inv = Pose {
            r: rc.transpose(),
            p: -(rc.transpose() * V3::from(tc)),
        };
        let want = xpf.then(&rot).then(&xcb_inv);
        let got = j.pose(q);
        assert!((want.r - got.r).norm() < 1e-14);
        assert!((want.p - got.p).norm() < 1e-14);
    }

    #[test]
    fn segment_distance_of_a_cylinder_ignores_the_axis() {
        let frame = Pose::identity();
        let shape = WrapShape::Cylinder {
            radius: 0.5,
            length: 1.0,
        };
        let d = segment_distance(
            &frame,
            &shape,
            &V3::new(-1.0, 1.0, -5.0),
            &V3::new(1.0, 1.0, 7.0),
        );
        assert!((d - 2.0).abs() < 1e-15);
    }
}
