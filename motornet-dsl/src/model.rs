//! The checked model: names resolved, units converted to SI, topology validated. Numbers that may be changed
//! at run time are [`Sym::Param`]s; everything structural (bodies, joints, paths, integrator) is fixed here.

use crate::ast::Span;
use crate::muscles::MuscleKind;

pub use motornet_runtime::units::Dim;

/// Typed indices of the model's entities: each indexes one of the model's lists (`BodyId` into `bodies`,
/// `JointId` into `joints`, `CoordId` into `coords`, `ParamId` into `params`, `ObstacleId` into
/// `obstacles`), so an index of one kind cannot be used for another.
macro_rules! ids {
    ($($(#[$m:meta])* $name:ident;)*) => {$(
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub usize);

        impl $name {
            /// The position in the model's list.
            pub fn index(self) -> usize {
                self.0
            }
        }
    )*};
}

ids! {
    /// A body: an index into [`Model::bodies`].
    BodyId;
    /// A joint: an index into [`Model::joints`].
    JointId;
    /// A generalized coordinate: an index into [`Model::coords`].
    CoordId;
    /// A parameter: an index into [`Model::params`].
    ParamId;
    /// An obstacle: an index into [`Model::obstacles`].
    ObstacleId;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    Sin,
    Cos,
    Tan,
    Exp,
    Ln,
    Sqrt,
    Abs,
    Tanh,
    Atan2,
    Min,
    Max,
}

impl Func {
    pub const ALL: [(&'static str, Func, usize); 11] = [
        ("sin", Func::Sin, 1),
        ("cos", Func::Cos, 1),
        ("tan", Func::Tan, 1),
        ("exp", Func::Exp, 1),
        ("ln", Func::Ln, 1),
        ("sqrt", Func::Sqrt, 1),
        ("abs", Func::Abs, 1),
        ("tanh", Func::Tanh, 1),
        ("atan2", Func::Atan2, 2),
        ("min", Func::Min, 2),
        ("max", Func::Max, 2),
    ];

    pub fn lookup(name: &str) -> Option<(Func, usize)> {
        Func::ALL
            .iter()
            .find(|(n, ..)| *n == name)
            .map(|&(_, f, a)| (f, a))
    }
}

/// A resolved expression over parameters (and, in lumped paths, joint coordinates).
#[derive(Clone, Debug, PartialEq)]
pub enum Sym {
    Num(f64),
    Param(ParamId),
    /// A generalized coordinate (only inside lumped path expressions).
    Coord(CoordId),
    Neg(Box<Sym>),
    Bin(crate::ast::BinOp, Box<Sym>, Box<Sym>),
    Call(Func, Vec<Sym>),
}

impl Sym {
    /// Value with the given parameter values (coordinates are taken as zero). It is computed by building
    /// the expression in a graph of constants, so that it folds with the operations' one definition
    /// (`motornet_runtime::ops`): a default or a constraint here has the very value a simulation computes.
    pub fn eval(&self, params: &[f64]) -> f64 {
        match self {
            // The common cases, which involve no operation.
            Sym::Num(v) => return *v,
            Sym::Param(i) => return params[i.index()],
            _ => {}
        }
        let b = crate::expr::Builder::default();
        let params: Vec<_> = params.iter().map(|&v| b.c(v)).collect();
        let id = self.build(&b, &params, &|_| b.c(0.0)).id;
        b.with(|g| g.const_value(id))
            .expect("an expression of constants folds to a constant")
    }

    /// The expression as a graph node, with `params` for parameters and `coord(i)` for coordinates.
    pub fn build<'b>(
        &self,
        b: &'b crate::expr::Builder,
        params: &[crate::expr::E<'b>],
        coord: &dyn Fn(usize) -> crate::expr::E<'b>,
    ) -> crate::expr::E<'b> {
        use crate::ast::BinOp::*;
        match self {
            Sym::Num(v) => b.c(*v),
            Sym::Param(i) => params[i.index()],
            Sym::Coord(i) => coord(i.index()),
            Sym::Neg(a) => -a.build(b, params, coord),
            Sym::Bin(op, a, y) => {
                let (x, yv) = (a.build(b, params, coord), y.build(b, params, coord));
                match op {
                    Add => x + yv,
                    Sub => x - yv,
                    Mul => x * yv,
                    Div => x / yv,
                    // The exponent as built: a constant node when it names nothing (checking the
                    // expression instead would rebuild it at every level of a chain of powers).
                    Pow => match b.with(|g| g.const_value(yv.id)) {
                        Some(n) if n.fract() == 0.0 && n.abs() <= 64.0 => x.powi(n as i32),
                        _ => (yv * x.ln()).exp(),
                    },
                }
            }
            Sym::Call(f, args) => {
                let a: Vec<_> = args.iter().map(|x| x.build(b, params, coord)).collect();
                match f {
                    Func::Sin => a[0].sin(),
                    Func::Cos => a[0].cos(),
                    Func::Tan => a[0].sin() / a[0].cos(),
                    Func::Exp => a[0].exp(),
                    Func::Ln => a[0].ln(),
                    Func::Sqrt => a[0].sqrt(),
                    Func::Abs => a[0].abs(),
                    Func::Tanh => a[0].tanh(),
                    Func::Atan2 => a[0].atan2(a[1]),
                    Func::Min => a[0].min(a[1]),
                    Func::Max => a[0].max(a[1]),
                }
            }
        }
    }

    /// The value, when it depends on no parameter or coordinate (e.g. the `-2` of `x^-2`).
    pub fn constant_value(&self) -> Option<f64> {
        (!self.names_anything()).then(|| self.eval(&[]))
    }

    /// Whether the expression refers to a parameter or a coordinate.
    fn names_anything(&self) -> bool {
        match self {
            Sym::Num(_) => false,
            Sym::Param(_) | Sym::Coord(_) => true,
            Sym::Neg(a) => a.names_anything(),
            Sym::Bin(_, a, b) => a.names_anything() || b.names_anything(),
            Sym::Call(_, args) => args.iter().any(Sym::names_anything),
        }
    }

    pub fn scaled(self, k: f64) -> Sym {
        if k == 1.0 {
            return self;
        }
        match self {
            Sym::Num(v) => Sym::Num(v * k),
            s => Sym::Bin(crate::ast::BinOp::Mul, Box::new(s), Box::new(Sym::Num(k))),
        }
    }
}

/// A number of the model that can be overridden at run time (`--set name=value`).
#[derive(Clone, Debug, PartialEq)]
pub struct ParamDef {
    /// Dotted name, e.g. `biceps.max_force`, `upper_arm.com.x`, `shoulder.range.min`, `timestep`.
    pub name: String,
    /// Value from the file, in SI units.
    pub default: f64,
    pub dim: Dim,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyRef {
    World,
    Body(BodyId),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Body {
    pub name: String,
    pub mass: Sym,
    /// Centre of mass in the body's frame (z is 0 in a planar model).
    pub com: [Sym; 3],
    /// Inertia tensor about the centre of mass in body axes, `[Ixx, Iyy, Izz, Ixy, Ixz, Iyz]` (products as
    /// tensor entries). A planar model has only `Izz`.
    pub inertia: [Sym; 6],
    /// Where the body's tip lies along its local +x axis (default position of child joints and endpoint).
    pub length: Sym,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JointKind {
    /// Rotation about the joint's axis (+z in a planar model): one coordinate, named like the joint.
    Hinge,
    /// Planar model: translation in the parent's plane, two coordinates `<joint>.x` and `<joint>.y`.
    /// Spatial model: translation along the joint's axis, one coordinate named like the joint.
    Slide,
    /// No motion (spatial models): the child is fixed to the parent at the joint's frame.
    Weld,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Joint {
    pub name: String,
    pub kind: JointKind,
    pub parent: BodyRef,
    pub child: BodyId,
    /// Joint location in the parent's frame (z is 0 in a planar model).
    pub at: [Sym; 3],
    /// Spatial models: the child frame's orientation relative to the parent at q = 0, body-fixed X-Y-Z
    /// Euler angles (rad); zero in a planar model.
    pub rotation: [Sym; 3],
    /// Spatial models: the hinge or slide axis in the child's frame (not normalised); +z in a planar model.
    pub axis: [Sym; 3],
    /// Spatial models: a point of the hinge axis, in the child's frame; the origin in a planar model.
    pub anchor: [Sym; 3],
    /// Generalized coordinates of this joint (indices into [`Model::coords`]).
    pub coords: std::ops::Range<usize>,
    pub lower: Sym,
    pub upper: Sym,
    pub vel_lower: Sym,
    pub vel_upper: Sym,
    pub damping: Sym,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Coord {
    pub name: String,
    pub joint: JointId,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    pub body: BodyRef,
    pub at: [Sym; 3],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Integrator {
    /// Explicit Euler, as MotorNet: position advanced with the old velocity.
    Euler,
    /// MotorNet 0.3.0's `rk4`, reproduced exactly (stages chained from the advanced state).
    MotornetRk4,
    /// Textbook fourth-order Runge–Kutta.
    Rk4,
}

impl Integrator {
    pub const NAMES: [(&'static str, Integrator); 3] = [
        ("euler", Integrator::Euler),
        ("motornet_rk4", Integrator::MotornetRk4),
        ("rk4", Integrator::Rk4),
    ];

    /// The name written in model files (`motornet_rk4`).
    pub fn name(self) -> &'static str {
        Integrator::NAMES
            .iter()
            .find(|(_, i)| *i == self)
            .map(|(n, _)| *n)
            .expect("every integrator is named")
    }
}

/// How a via-point path's lengthening velocity is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathVelocity {
    /// (dL/dq)·q̇, the time derivative of the path length.
    Exact,
    /// MotorNet 0.3.0's `TwoDofArm.path2cartesian`: each joint's moment arm is multiplied by the absolute
    /// angular velocity of the joint's child body (q̇₀ + … + q̇ⱼ) instead of q̇ⱼ. Kept for parity.
    Motornet,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PathPoint {
    pub body: BodyRef,
    pub at: [Sym; 3],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObstacleKind {
    Cylinder,
    Sphere,
    /// Spatial models only.
    Ellipsoid,
}

/// A wrapping surface fixed to a body: a cylinder (axis +z in planar models), a sphere, or an ellipsoid.
#[derive(Clone, Debug, PartialEq)]
pub struct Obstacle {
    pub name: String,
    pub kind: ObstacleKind,
    pub body: BodyRef,
    /// Centre, in the body's frame.
    pub at: [Sym; 3],
    /// Spatial models: the obstacle's frame in its body, body-fixed X-Y-Z Euler angles (rad). A cylinder's
    /// axis is the frame's z unless `axis` is given.
    pub rotation: [Sym; 3],
    /// Spatial cylinders: the axis direction in the body's frame, when given instead of `rotation`.
    pub axis: Option<[Sym; 3]>,
    /// Spatial cylinders: the length along the axis, centred on `at` (`None`: infinite). A finite
    /// cylinder wraps only while a tangent point lies within it.
    pub length: Option<Sym>,
    /// The radius of a cylinder or a sphere (for an ellipsoid, its first semi-axis).
    pub radius: Sym,
    /// The semi-axes of an ellipsoid along its frame's x, y and z (a sphere's and a cylinder's are the radius).
    pub radii: [Sym; 3],
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum WrapSideRef {
    /// A point in the obstacle's body frame; the path wraps on its side.
    Point([Sym; 3]),
    /// Spatial models: no side point. The path wraps only where the straight segment crosses the obstacle,
    /// the shorter way round.
    Shortest,
    /// +1: counter-clockwise about +z from the first point to the second; -1: clockwise.
    Sign(f64),
}

#[derive(Clone, Debug, PartialEq)]
pub enum PathElementRef {
    Point(PathPoint),
    Wrap {
        obstacle: ObstacleId,
        side: WrapSideRef,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Path {
    /// Musculotendon length as an expression of the generalized coordinates.
    Lumped(Sym),
    /// Straight segments between points, possibly wrapping over obstacles.
    Via(Vec<PathElementRef>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Muscle {
    pub name: String,
    pub kind: MuscleKind,
    /// Parameter values in the order of [`MuscleKind::params`].
    pub params: Vec<Sym>,
    pub path: Path,
    pub span: Span,
}

/// A condition on parameters, checked on the file's values and again whenever parameters are overridden.
#[derive(Clone, Debug, PartialEq)]
pub struct Constraint {
    /// Must evaluate to a finite number `> 0` (`strict`) or `>= 0`.
    pub value: Sym,
    pub strict: bool,
    pub message: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    pub name: String,
    pub params: Vec<ParamDef>,
    pub timestep: Sym,
    pub ministeps: usize,
    pub integrator: Integrator,
    pub path_velocity: PathVelocity,
    /// 2 for a planar model, 3 for a spatial one (`dimensions 3;`).
    pub space_dim: usize,
    pub gravity: [Sym; 3],
    pub bodies: Vec<Body>,
    /// In declaration order; [`Model::joint_order`] lists them parents first.
    pub joints: Vec<Joint>,
    pub joint_order: Vec<JointId>,
    pub coords: Vec<Coord>,
    pub endpoint: Endpoint,
    pub obstacles: Vec<Obstacle>,
    pub muscles: Vec<Muscle>,
    pub constraints: Vec<Constraint>,
}

impl Model {
    pub fn dof(&self) -> usize {
        self.coords.len()
    }
    pub fn param_index(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|p| p.name == name)
    }
    pub fn defaults(&self) -> Vec<f64> {
        self.params.iter().map(|p| p.default).collect()
    }
}
