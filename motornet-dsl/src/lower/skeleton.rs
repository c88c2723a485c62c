//! The templates of a model: body poses, the endpoint, the equations of motion (mass matrix, velocity
//! products, gravity, solved by an unrolled LDLᵀ) and each muscle's path geometry, as expressions of
//! placeholder coordinates.

use super::frame::Pose;
use super::*;

impl<'m, 'b> Lowerer<'m, 'b> {
    /// A resolved expression as a node; `coords` supplies the coordinates of lumped path expressions.
    pub(super) fn sym(&self, s: &Sym, coords: &[E<'b>]) -> E<'b> {
        s.build(self.b, &self.params, &|i| coords[i])
    }

    pub(super) fn vec2(&self, v: &[Sym; 2]) -> [E<'b>; 2] {
        [self.sym(&v[0], &[]), self.sym(&v[1], &[])]
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
        let world = Pose::world(self.b);
        let mut poses: Vec<Option<Pose>> = vec![None; self.m.bodies.len()];
        for &j in &self.m.joint_order {
            let joint = &self.m.joints[j.index()];
            let parent = match joint.parent {
                BodyRef::World => world,
                BodyRef::Body(p) => poses[p.index()].expect("joint_order lists parents first"),
            };
            let at = self.vec2(&joint.at);
            let c = joint.coords.start;
            poses[joint.child.index()] = Some(match joint.kind {
                JointKind::Hinge => parent.hinge(at, q[c]),
                JointKind::Slide => parent.slide(at, [q[c], q[c + 1]]),
            });
        }
        poses
    }

    pub(super) fn point(
        &self,
        poses: &[Option<Pose<'b>>],
        body: BodyRef,
        at: [E<'b>; 2],
    ) -> [E<'b>; 2] {
        match body {
            BodyRef::World => at,
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
        let d = dof as u32;
        let q: Vec<E> = (0..d).map(|i| b.var(i)).collect();
        let qd: Vec<E> = (d..2 * d).map(|i| b.var(i)).collect();
        let tau: Vec<E> = (2 * d..3 * d).map(|i| b.var(i)).collect();
        let force: Vec<E> = (3 * d..3 * d + 2).map(|i| b.var(i)).collect();
        let poses = self.poses(&q);

        // Endpoint position, its Jacobian and velocity.
        let end = self.point(&poses, self.m.endpoint.body, self.vec2(&self.m.endpoint.at));
        let end_jac = self.jacobian(&end, &q);
        let end_vel: Vec<E> = (0..2)
            .map(|r| b.sum((0..dof).map(|k| end_jac[k][r] * qd[k])))
            .collect();
        let cartesian = Builder::ids(&[end[0], end[1], end_vel[0], end_vel[1]]);

        // Mass matrix, velocity-product and gravity terms from every body's centre of mass.
        let mut mass_matrix = vec![vec![b.c(0.0); dof]; dof];
        let mut velocity_products = vec![b.c(0.0); dof];
        let mut weights = vec![b.c(0.0); dof];
        let gravity = self.vec2(&self.m.gravity);
        for (i, body) in self.m.bodies.iter().enumerate() {
            let Some(pose) = poses[i] else { continue };
            let mass = self.sym(&body.mass, &[]);
            let inertia = self.sym(&body.inertia, &[]);
            let com = pose.apply(self.vec2(&body.com));
            let jac = self.jacobian(&com, &q); // jac[k] = ∂com/∂qₖ
            let jac_angle = self.jacobian(&pose.orientation(), &q);
            let vel = self.along(&com, &q, &qd);
            let conv = self.along(&vel, &q, &qd); // J̇ q̇
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
        // Moving the whole skeleton about a joint fixed to the world changes no kinetic energy, so the mass
        // matrix and the velocity products do not depend on those joints' coordinates: evaluate them at 0,
        // which folds their sines and cosines away and leaves relative angles only.
        let zero = b.c(0.0);
        let fixed: HashMap<NodeId, NodeId> = self
            .m
            .joints
            .iter()
            .filter(|j| j.parent == BodyRef::World)
            .flat_map(|j| j.coords.clone())
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
                tau[j] + end_jac[j][0] * force[0] + end_jac[j][1] * force[1] - velocity_products[j]
                    + weights[j]
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
            geometry,
            cartesian,
            acceleration,
        }
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
