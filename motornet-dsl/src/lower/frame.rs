//! The pose of a body: where its frame sits in the world. This is the one place lowering knows how poses
//! are represented — planar (an origin and an angle) or spatial (an origin and a rotation matrix); skeleton,
//! paths and dynamics build and read poses only through these methods.

use crate::expr::{Builder, E};

/// A 3×3 matrix of expressions, row-major.
pub(super) type Mat3<'b> = [[E<'b>; 3]; 3];

#[derive(Clone, Copy)]
pub(super) enum Pose<'b> {
    /// Origin and orientation angle in the plane.
    Planar { x: E<'b>, y: E<'b>, angle: E<'b> },
    /// Origin and rotation (body axes as the columns, in world coordinates).
    Spatial {
        origin: [E<'b>; 3],
        rotation: Mat3<'b>,
    },
}

impl<'b> Pose<'b> {
    /// The world frame of a model with `dim` dimensions.
    pub(super) fn world(b: &'b Builder, dim: usize) -> Self {
        if dim == 3 {
            Pose::Spatial {
                origin: [b.c(0.0); 3],
                rotation: identity(b),
            }
        } else {
            Pose::Planar {
                x: b.c(0.0),
                y: b.c(0.0),
                angle: b.c(0.0),
            }
        }
    }

    /// Planar: the frame of a child attached by a hinge at `at` (in this frame), turned by `angle`.
    pub(super) fn hinge(&self, at: [E<'b>; 2], angle: E<'b>) -> Self {
        let [x, y] = self.apply2(at);
        Pose::Planar {
            x,
            y,
            angle: self.angle() + angle,
        }
    }

    /// Planar: the frame of a child attached by a slide joint at `at`, moved by `offset` (both in this
    /// frame).
    pub(super) fn slide(&self, at: [E<'b>; 2], offset: [E<'b>; 2]) -> Self {
        let [x, y] = self.apply2([at[0] + offset[0], at[1] + offset[1]]);
        Pose::Planar {
            x,
            y,
            angle: self.angle(),
        }
    }

    /// Spatial: this frame moved by `translation` and then turned by `rotation` (both in this frame).
    pub(super) fn then(&self, translation: [E<'b>; 3], rotation: &Mat3<'b>) -> Self {
        let Pose::Spatial {
            origin,
            rotation: r,
        } = self
        else {
            unreachable!("a spatial transform of a planar pose")
        };
        let t = mat_vec(r, &translation);
        Pose::Spatial {
            origin: std::array::from_fn(|i| origin[i] + t[i]),
            rotation: mat_mul(r, rotation),
        }
    }

    /// A point given in this frame, in world coordinates (2 or 3 components).
    pub(super) fn apply(&self, p: &[E<'b>]) -> Vec<E<'b>> {
        match self {
            Pose::Planar { .. } => self.apply2([p[0], p[1]]).to_vec(),
            Pose::Spatial { origin, rotation } => {
                let v = mat_vec(rotation, &[p[0], p[1], p[2]]);
                (0..3).map(|i| origin[i] + v[i]).collect()
            }
        }
    }

    /// Spatial: the rotation from this frame's axes to the world's.
    pub(super) fn rotation(&self) -> &Mat3<'b> {
        match self {
            Pose::Spatial { rotation, .. } => rotation,
            Pose::Planar { .. } => {
                unreachable!("a planar pose has an angle, not a rotation matrix")
            }
        }
    }

    fn angle(&self) -> E<'b> {
        match self {
            Pose::Planar { angle, .. } => *angle,
            Pose::Spatial { .. } => unreachable!("a spatial pose has no single angle"),
        }
    }

    fn apply2(&self, p: [E<'b>; 2]) -> [E<'b>; 2] {
        let Pose::Planar { x, y, angle } = *self else {
            unreachable!("a planar point in a spatial frame")
        };
        let (c, s) = (angle.cos(), angle.sin());
        [x + c * p[0] - s * p[1], y + s * p[0] + c * p[1]]
    }

    /// Planar: coordinates of the orientation whose time derivatives are the angular velocity's components,
    /// so that the rotational kinetic energy is ½ Σ inertia·ω² over them (the angle).
    pub(super) fn orientation(&self) -> Vec<E<'b>> {
        vec![self.angle()]
    }
}

pub(super) fn identity(b: &Builder) -> Mat3<'_> {
    let (zero, one) = (b.c(0.0), b.c(1.0));
    std::array::from_fn(|i| std::array::from_fn(|j| if i == j { one } else { zero }))
}

pub(super) fn mat_vec<'b>(m: &Mat3<'b>, v: &[E<'b>; 3]) -> [E<'b>; 3] {
    std::array::from_fn(|i| m[i][0] * v[0] + m[i][1] * v[1] + m[i][2] * v[2])
}

/// mᵀ v.
pub(super) fn mat_t_vec<'b>(m: &Mat3<'b>, v: &[E<'b>; 3]) -> [E<'b>; 3] {
    std::array::from_fn(|i| m[0][i] * v[0] + m[1][i] * v[1] + m[2][i] * v[2])
}

pub(super) fn mat_mul<'b>(a: &Mat3<'b>, b: &Mat3<'b>) -> Mat3<'b> {
    std::array::from_fn(|i| {
        std::array::from_fn(|j| a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j])
    })
}

pub(super) fn cross<'b>(a: &[E<'b>; 3], b: &[E<'b>; 3]) -> [E<'b>; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

pub(super) fn dot<'b>(a: &[E<'b>; 3], b: &[E<'b>; 3]) -> E<'b> {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// `v / |v|`.
pub(super) fn unit<'b>(v: &[E<'b>; 3]) -> [E<'b>; 3] {
    let inv = 1.0 / dot(v, v).sqrt();
    v.map(|c| c * inv)
}

/// The rotation by `angle` about the unit vector `a` (right-hand rule; Rodrigues' formula).
pub(super) fn axis_angle<'b>(a: &[E<'b>; 3], angle: E<'b>) -> Mat3<'b> {
    let (c, s) = (angle.cos(), angle.sin());
    let k = 1.0 - c;
    [
        [
            c + k * a[0] * a[0],
            k * a[0] * a[1] - s * a[2],
            k * a[0] * a[2] + s * a[1],
        ],
        [
            k * a[1] * a[0] + s * a[2],
            c + k * a[1] * a[1],
            k * a[1] * a[2] - s * a[0],
        ],
        [
            k * a[2] * a[0] - s * a[1],
            k * a[2] * a[1] + s * a[0],
            c + k * a[2] * a[2],
        ],
    ]
}

/// Body-fixed X-Y-Z Euler angles: R = Rx(a)·Ry(b)·Rz(c) (OpenSim's `xyz_body_rotation`).
pub(super) fn euler_xyz<'b>(b: &'b Builder, angles: &[E<'b>; 3]) -> Mat3<'b> {
    let (zero, one) = (b.c(0.0), b.c(1.0));
    let axes = [[one, zero, zero], [zero, one, zero], [zero, zero, one]];
    let [x, y, z] = std::array::from_fn(|k| axis_angle(&axes[k], angles[k]));
    mat_mul(&mat_mul(&x, &y), &z)
}
