//! The templates of a model: body poses, the endpoint, the equations of motion (mass matrix, velocity
//! products, gravity, solved by an unrolled LDLᵀ) and each muscle's path geometry, as expressions of
//! placeholder coordinates.

use super::frame::*;
use super::*;

impl<'m, 'b> Lowerer<'m, 'b> {
    /// A resolved expression as a node; `coords` supplies the coordinates of lumped path expressions.
    pub(super) fn sym(&self, s: &Sym, coords: &[E<'b>]) -> E<'b> {
        s.build(self.b, &self.params, &|i| coords[i])
    }

    /// A position or direction of the model as nodes: 2 components in a planar model, 3 in a spatial one.
    pub(super) fn pos(&self, v: &[Sym; 3]) -> Vec<E<'b>> {
        v[..self.m.space_dim]
            .iter()
            .map(|s| self.sym(s, &[]))
            .collect()
    }

    pub(super) fn vec3(&self, v: &[Sym; 3]) -> [E<'b>; 3] {
        std::array::from_fn(|k| self.sym(&v[k], &[]))
    }

    pub(super) fn bounds(&self) -> Vec<Bound<'b>> {
        self.m
            .coords
            .iter()
            .map(|c| {
                let j = &self.m.joints[c.joint.index()];
                Bound {
                    lower: self.sym(&j.lower, &[]),
                    upper: self.sym(&j.upper, &[]),
                    vel_lower: self.sym(&j.vel_lower, &[]),
                    vel_upper: self.sym(&j.vel_upper, &[]),
                }
            })
            .collect()
    }

    /// Body poses as functions of the coordinates `q`, parents first.
    pub(super) fn poses(&self, q: &[E<'b>]) -> Vec<Option<Pose<'b>>> {
        self.frames(q).0
    }

    /// Body poses as functions of the coordinates `q`, parents first, and (spatial models) each body's
    /// angular-velocity Jacobian in its own axes: `rates[body][k]` is the body's angular velocity, in body
    /// coordinates, per unit q̇ₖ.
    pub(super) fn frames(&self, q: &[E<'b>]) -> (Vec<Option<Pose<'b>>>, Vec<Vec<[E<'b>; 3]>>) {
        let b = self.b;
        let spatial = self.m.space_dim == 3;
        let world = Pose::world(b, self.m.space_dim);
        let n = self.m.bodies.len();
        let mut poses: Vec<Option<Pose>> = vec![None; n];
        let no_rates = vec![[b.c(0.0); 3]; if spatial { q.len() } else { 0 }];
        let mut rates: Vec<Vec<[E; 3]>> = vec![no_rates.clone(); n];
        for &j in &self.m.joint_order {
            let joint = &self.m.joints[j.index()];
            let child = joint.child.index();
            let c = joint.coords.start;
            if !spatial {
                let parent = match joint.parent {
                    BodyRef::World => world,
                    BodyRef::Body(p) => poses[p.index()].expect("joint_order lists parents first"),
                };
                let at = self.pos(&joint.at);
                let at = [at[0], at[1]];
                poses[child] = Some(match joint.kind {
                    JointKind::Hinge => parent.hinge(at, q[c]),
                    JointKind::Slide => parent.slide(at, [q[c], q[c + 1]]),
                    JointKind::Weld => parent.hinge(at, b.c(0.0)),
                });
                continue;
            }
            // A later joint between the same two bodies continues from the earlier ones.
            let (base, mut w) = match (poses[child], joint.parent) {
                (Some(pose), _) => (pose, rates[child].clone()),
                (None, BodyRef::World) => (world, no_rates.clone()),
                (None, BodyRef::Body(p)) => (
                    poses[p.index()].expect("joint_order lists parents first"),
                    rates[p.index()].clone(),
                ),
            };
            let offset = euler_xyz(b, &self.vec3(&joint.rotation));
            let mut pose = base.then(self.vec3(&joint.at), &offset);
            rotate_rates(&mut w, &offset);
            match joint.kind {
                JointKind::Hinge => {
                    let axis = unit(&self.vec3(&joint.axis));
                    let turn = axis_angle(&axis, q[c]);
                    let anchor = self.vec3(&joint.anchor);
                    let turned = mat_vec(&turn, &anchor);
                    pose = pose.then(std::array::from_fn(|i| anchor[i] - turned[i]), &turn);
                    rotate_rates(&mut w, &turn);
                    // The axis is the same in the frame before and after the turn about it.
                    w[c] = axis;
                }
                JointKind::Slide => {
                    let axis = unit(&self.vec3(&joint.axis));
                    pose = pose.then(axis.map(|a| a * q[c]), &identity(b));
                }
                JointKind::Weld => {}
            }
            poses[child] = Some(pose);
            rates[child] = w;
        }
        (poses, rates)
    }

    /// A point given in a body's frame (or the world's), in world coordinates.
    pub(super) fn point(
        &self,
        poses: &[Option<Pose<'b>>],
        body: BodyRef,
        at: &[E<'b>],
    ) -> Vec<E<'b>> {
        match body {
            BodyRef::World => at.to_vec(),
            BodyRef::Body(i) => poses[i.index()]
                .expect("every body is connected (checked)")
                .apply(at),
        }
    }

    /// Directional derivative of `roots` along the coordinates: Σₖ ∂/∂qₖ · dirₖ.
    pub(super) fn along(&self, roots: &[E<'b>], q: &[E<'b>], dir: &[E<'b>]) -> Vec<E<'b>> {
        let seeds: HashMap<NodeId, NodeId> = q.iter().zip(dir).map(|(a, b)| (a.id, b.id)).collect();
        let ids = Builder::ids(roots);
        self.b
            .with(|g| g.jvp(&ids, &seeds))
            .into_iter()
            .map(|id| self.b.e(id))
            .collect()
    }

    /// ∂roots/∂qₖ for every k: result[k][r].
    pub(super) fn jacobian(&self, roots: &[E<'b>], q: &[E<'b>]) -> Vec<Vec<E<'b>>> {
        let one = self.b.c(1.0);
        let zero = self.b.c(0.0);
        (0..q.len())
            .map(|k| {
                let dir: Vec<E> = (0..q.len())
                    .map(|i| if i == k { one } else { zero })
                    .collect();
                self.along(roots, q, &dir)
            })
            .collect()
    }

    pub(super) fn templates(&self) -> Templates {
        let b = self.b;
        let dof = self.m.dof();
        let sd = self.m.space_dim;
        let d = dof as u32;
        let q: Vec<E> = (0..d).map(|i| b.var(i)).collect();
        let qd: Vec<E> = (d..2 * d).map(|i| b.var(i)).collect();
        let tau: Vec<E> = (2 * d..3 * d).map(|i| b.var(i)).collect();
        let force: Vec<E> = (3 * d..3 * d + sd as u32).map(|i| b.var(i)).collect();
        let (poses, rates) = self.frames(&q);

        // Endpoint position, its Jacobian and velocity.
        let end = self.point(&poses, self.m.endpoint.body, &self.pos(&self.m.endpoint.at));
        let end_jac = self.jacobian(&end, &q);
        let end_vel: Vec<E> = (0..sd)
            .map(|r| b.sum((0..dof).map(|k| end_jac[k][r] * qd[k])))
            .collect();
        let cartesian = Builder::ids(&[end.clone(), end_vel].concat());

        let (mass_matrix, velocity_products, weights) = if sd == 3 {
            self.spatial_dynamics(&poses, &rates, &q, &qd)
        } else {
            self.planar_dynamics(&poses, &q, &qd)
        };
        // Moving the whole skeleton about a joint fixed to the world changes no kinetic energy, so the mass
        // matrix and the velocity products do not depend on those joints' coordinates: evaluate them at 0,
        // which folds their sines and cosines away and leaves relative angles only. (Of several joints
        // composed between the world and one body, only the first turns about a fixed axis.)
        let zero = b.c(0.0);
        let fixed: HashMap<NodeId, NodeId> = self
            .m
            .joints
            .iter()
            .enumerate()
            .filter(|(i, j)| {
                j.parent == BodyRef::World
                    && !self.m.joints[..*i]
                        .iter()
                        .any(|earlier| earlier.child == j.child)
            })
            .flat_map(|(_, j)| j.coords.clone())
            .map(|c| (q[c].id, zero.id))
            .collect();
        let relative = |es: Vec<E<'b>>| -> Vec<E<'b>> {
            let ids = Builder::ids(&es);
            b.with(|g| g.substitute(&ids, &fixed))
                .into_iter()
                .map(|id| b.e(id))
                .collect()
        };
        let mass_matrix: Vec<Vec<E>> = mass_matrix.into_iter().map(relative).collect();
        let velocity_products = relative(velocity_products);
        let rhs: Vec<E> = (0..dof)
            .map(|j| {
                let loaded = (0..sd).fold(tau[j], |acc, r| acc + end_jac[j][r] * force[r]);
                loaded - velocity_products[j] + weights[j]
            })
            .collect();
        let acceleration = Builder::ids(&solve_symmetric(&mass_matrix, &rhs));

        // Muscle paths: length, lengthening velocity and moment arms dL/dq.
        let geometry = self
            .m
            .muscles
            .iter()
            .map(|muscle| {
                let (length, velocity_weights) = match &muscle.path {
                    Path::Lumped(s) => (self.sym(s, &q), None),
                    Path::Via(elements) => (
                        self.via_length(&poses, elements),
                        Some(self.m.path_velocity),
                    ),
                };
                let arms: Vec<E> = self
                    .jacobian(&[length], &q)
                    .into_iter()
                    .map(|r| r[0])
                    .collect();
                let rate: Vec<E> = match velocity_weights {
                    Some(PathVelocity::Motornet) => self.motornet_path_rates(&qd),
                    _ => qd.clone(),
                };
                let velocity = b.sum(arms.iter().zip(&rate).map(|(&a, &r)| a * r));
                Builder::ids(&[vec![length, velocity], arms].concat())
            })
            .collect();
        Templates {
            dof,
            space_dim: sd,
            geometry,
            cartesian,
            acceleration,
        }
    }
}

/// The mass matrix (lower triangle), velocity products and weights (generalized gravity forces) of a
/// skeleton, each as expressions of the coordinates `q` and rates `qd`.
type Dynamics<'b> = (Vec<Vec<E<'b>>>, Vec<E<'b>>, Vec<E<'b>>);

impl<'b> Lowerer<'_, 'b> {
    /// Planar bodies: translation of the centre of mass and rotation about z.
    fn planar_dynamics(
        &self,
        poses: &[Option<Pose<'b>>],
        q: &[E<'b>],
        qd: &[E<'b>],
    ) -> Dynamics<'b> {
        let b = self.b;
        let dof = q.len();
        let mut mass_matrix = vec![vec![b.c(0.0); dof]; dof];
        let mut velocity_products = vec![b.c(0.0); dof];
        let mut weights = vec![b.c(0.0); dof];
        let gravity = self.pos(&self.m.gravity);
        for (i, body) in self.m.bodies.iter().enumerate() {
            let Some(pose) = poses[i] else { continue };
            let mass = self.sym(&body.mass, &[]);
            let inertia = self.sym(&body.inertia[2], &[]);
            let com = pose.apply(&self.pos(&body.com));
            let jac = self.jacobian(&com, q); // jac[k] = ∂com/∂qₖ
            let jac_angle = self.jacobian(&pose.orientation(), q);
            let vel = self.along(&com, q, qd);
            let conv = self.along(&vel, q, qd); // J̇ q̇
            for j in 0..dof {
                for k in 0..=j {
                    let translational = mass * (jac[j][0] * jac[k][0] + jac[j][1] * jac[k][1]);
                    let rotational = jac_angle[j]
                        .iter()
                        .zip(&jac_angle[k])
                        .map(|(&a, &c)| inertia * a * c)
                        .reduce(|x, y| x + y)
                        .expect("a pose has an orientation");
                    mass_matrix[j][k] = mass_matrix[j][k] + translational + rotational;
                }
                // Orientation is linear in q for hinge and slide joints, so only translation has J̇ q̇ terms.
                velocity_products[j] =
                    velocity_products[j] + mass * (jac[j][0] * conv[0] + jac[j][1] * conv[1]);
                weights[j] = weights[j] + mass * (jac[j][0] * gravity[0] + jac[j][1] * gravity[1]);
            }
        }
        (mass_matrix, velocity_products, weights)
    }

    /// Spatial bodies: Newton–Euler equations of every body projected on the coordinates. With J the
    /// Jacobian of the centre of mass and W the angular-velocity Jacobian in body axes (`rates`), ω = W q̇
    /// and I the inertia tensor in body axes:
    /// `M = Σ m JᵀJ + WᵀIW`, `h = Σ m Jᵀ(J̇q̇) + Wᵀ(I(Ẇq̇) + ω × Iω)`, `g = Σ m Jᵀ gravity`.
    fn spatial_dynamics(
        &self,
        poses: &[Option<Pose<'b>>],
        rates: &[Vec<[E<'b>; 3]>],
        q: &[E<'b>],
        qd: &[E<'b>],
    ) -> Dynamics<'b> {
        let b = self.b;
        let dof = q.len();
        let mut mass_matrix = vec![vec![b.c(0.0); dof]; dof];
        let mut velocity_products = vec![b.c(0.0); dof];
        let mut weights = vec![b.c(0.0); dof];
        let gravity = self.vec3(&self.m.gravity);
        for (i, body) in self.m.bodies.iter().enumerate() {
            let Some(pose) = poses[i] else { continue };
            let mass = self.sym(&body.mass, &[]);
            let [xx, yy, zz, xy, xz, yz] = std::array::from_fn(|k| self.sym(&body.inertia[k], &[]));
            let inertia: Mat3 = [[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]];
            let com = pose.apply(&self.pos(&body.com));
            let jac = self.jacobian(&com, q);
            let vel = self.along(&com, q, qd);
            let conv = self.along(&vel, q, qd); // J̇ q̇
            let w = &rates[i];
            let omega: [E; 3] = std::array::from_fn(|r| b.sum((0..dof).map(|k| w[k][r] * qd[k])));
            let omega_bias = self.along(&omega, q, qd); // Ẇ q̇
            let i_omega = mat_vec(&inertia, &omega);
            let gyro = cross(&omega, &i_omega);
            let i_bias = mat_vec(&inertia, &[omega_bias[0], omega_bias[1], omega_bias[2]]);
            let rotational_bias: [E; 3] = std::array::from_fn(|r| i_bias[r] + gyro[r]);
            let i_w: Vec<[E; 3]> = w.iter().map(|col| mat_vec(&inertia, col)).collect();
            let dot_n = |a: &[E<'b>], c: &[E<'b>]| b.sum(a.iter().zip(c).map(|(&x, &y)| x * y));
            for j in 0..dof {
                for k in 0..=j {
                    let translational = mass * dot_n(&jac[j], &jac[k]);
                    let rotational = dot(&w[j], &i_w[k]);
                    mass_matrix[j][k] = mass_matrix[j][k] + translational + rotational;
                }
                velocity_products[j] = velocity_products[j]
                    + mass * dot_n(&jac[j], &conv)
                    + dot(&w[j], &rotational_bias);
                weights[j] = weights[j] + mass * dot_n(&jac[j], &gravity);
            }
        }
        (mass_matrix, velocity_products, weights)
    }
}

/// Solves `M x = r` for a symmetric positive definite `M` (lower triangle given) by an unrolled LDLᵀ
/// factorisation: no square roots, one division per pivot.
pub(super) fn solve_symmetric<'b>(m: &[Vec<E<'b>>], r: &[E<'b>]) -> Vec<E<'b>> {
    let n = r.len();
    if n == 0 {
        return Vec::new();
    }
    let b = r[0].builder();
    let mut l = vec![vec![b.c(0.0); n]; n];
    let mut d = vec![b.c(0.0); n];
    let mut inv_d = vec![b.c(0.0); n];
    for j in 0..n {
        let mut pivot = m[j][j];
        for k in 0..j {
            pivot = pivot - l[j][k] * l[j][k] * d[k];
        }
        d[j] = pivot;
        inv_d[j] = 1.0 / pivot;
        for i in j + 1..n {
            let mut s = m[i][j];
            for k in 0..j {
                s = s - l[i][k] * l[j][k] * d[k];
            }
            l[i][j] = s * inv_d[j];
        }
    }
    // L z = r, D y = z, Lᵀ x = y.
    let mut z = r.to_vec();
    for i in 0..n {
        for k in 0..i {
            z[i] = z[i] - l[i][k] * z[k];
        }
    }
    let mut x: Vec<E> = (0..n).map(|i| z[i] * inv_d[i]).collect();
    for i in (0..n).rev() {
        for k in i + 1..n {
            x[i] = x[i] - l[k][i] * x[k];
        }
    }
    x
}

/// Re-expresses angular-velocity columns in a frame turned by `turn` from the one they are given in.
fn rotate_rates<'b>(w: &mut [[E<'b>; 3]], turn: &Mat3<'b>) {
    for col in w {
        *col = mat_t_vec(turn, col);
    }
}
