//! The pose of a body: where its frame sits in the world. This is the one place lowering knows that poses
//! are planar (an origin and an angle); skeleton, paths and dynamics build and read poses only through
//! these methods, so a 3D frame (origin and rotation) replaces this file, not its users.

use crate::expr::{Builder, E};

/// A planar pose: origin and orientation angle.
#[derive(Clone, Copy)]
pub(super) struct Pose<'b> {
    x: E<'b>,
    y: E<'b>,
    angle: E<'b>,
}

impl<'b> Pose<'b> {
    /// The world frame.
    pub(super) fn world(b: &'b Builder) -> Self {
        Pose {
            x: b.c(0.0),
            y: b.c(0.0),
            angle: b.c(0.0),
        }
    }

    /// The frame of a child attached by a hinge at `at` (in this frame), turned by `angle`.
    pub(super) fn hinge(&self, at: [E<'b>; 2], angle: E<'b>) -> Self {
        let [x, y] = self.apply(at);
        Pose {
            x,
            y,
            angle: self.angle + angle,
        }
    }

    /// The frame of a child attached by a slide joint at `at`, moved by `offset` (both in this frame).
    pub(super) fn slide(&self, at: [E<'b>; 2], offset: [E<'b>; 2]) -> Self {
        let [x, y] = self.apply([at[0] + offset[0], at[1] + offset[1]]);
        Pose {
            x,
            y,
            angle: self.angle,
        }
    }

    /// A point given in this frame, in world coordinates.
    pub(super) fn apply(&self, p: [E<'b>; 2]) -> [E<'b>; 2] {
        let (c, s) = (self.angle.cos(), self.angle.sin());
        [self.x + c * p[0] - s * p[1], self.y + s * p[0] + c * p[1]]
    }

    /// Coordinates of the orientation whose time derivatives are the angular velocity's components, so
    /// that the rotational kinetic energy is ½ Σ inertia·ω² over them (planar: the angle).
    pub(super) fn orientation(&self) -> Vec<E<'b>> {
        vec![self.angle]
    }
}
