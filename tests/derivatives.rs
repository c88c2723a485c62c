//! Derivatives of every shipped model's step: forward mode (symbolic JVP, and num-dual numbers through the
//! generated generic code) against reverse mode (the generated adjoint) by the dot-product test, both against
//! central finite differences, and compiled against interpreted.

use motornet::models::{self, Arm26, Pointmass24Relu};
use motornet::{InterpretedPlant, Plant};
use num_dual::Dual64;

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }
    fn vec(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.range(-1.0, 1.0)).collect()
    }
}

/// A physiological operating point: reset inside the joint range, then a few steps of random excitation so
/// that activations, velocities and forces are all non-trivial. Returns (state, controls).
fn operating_point(plant: &dyn Plant, rng: &mut Rng) -> (Vec<f64>, Vec<f64>) {
    let info = plant.info();
    let mut ws = plant.workspace();
    let mut joint = Vec::new();
    for b in plant.bounds() {
        let f = rng.range(0.3, 0.7);
        joint.push(if b.lower.is_finite() {
            b.lower + f * (b.upper - b.lower)
        } else {
            f - 0.5
        });
    }
    for _ in 0..info.dof() {
        joint.push(rng.range(-0.2, 0.2));
    }
    let mut x = vec![0.0; info.state_dim()];
    plant.reset(&mut ws, &joint, &mut x).unwrap();
    let controls = |rng: &mut Rng| -> Vec<f64> {
        let mut u: Vec<f64> = (0..info.n_muscles())
            .map(|_| rng.range(0.05, 0.6))
            .collect();
        u.extend((0..info.space_dim + info.dof()).map(|_| rng.range(-0.3, 0.3)));
        u
    };
    let warmup = if info.name == "arm26_compliant" {
        40
    } else {
        4
    };
    for _ in 0..warmup {
        let u = controls(rng);
        let mut next = vec![0.0; x.len()];
        plant.step(&mut ws, &x, &u, &mut next).unwrap();
        x = next;
    }
    (x, controls(rng))
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn interpreted(name: &str) -> InterpretedPlant {
    InterpretedPlant::from_source(models::source(name).unwrap(), name).unwrap()
}

#[test]
fn dot_product_test_and_finite_differences_for_every_model() {
    let mut rng = Rng(0x9e3779b97f4a7c15);
    for (name, make) in models::BUILTIN {
        let plant = make();
        let (s, c) = (plant.info().state_dim(), plant.info().control_dim());
        let mut ws = plant.workspace();
        for trial in 0..3 {
            let (x, u) = operating_point(plant.as_ref(), &mut rng);
            let (vx, vu, w) = (rng.vec(s), rng.vec(c), rng.vec(s));
            let mut jv = vec![0.0; s];
            plant.step_jvp(&mut ws, &x, &u, &vx, &vu, &mut jv).unwrap();
            let (mut gx, mut gu) = (vec![0.0; s], vec![0.0; c]);
            plant
                .step_vjp(&mut ws, &x, &u, &w, &mut gx, &mut gu)
                .unwrap();
            let lhs = dot(&jv, &w);
            let rhs = dot(&vx, &gx) + dot(&vu, &gu);
            let scale = jv.iter().map(|v| v.abs()).sum::<f64>()
                * w.iter().map(|v| v.abs()).fold(0.0, f64::max);
            assert!(
                (lhs - rhs).abs() <= 1e-10 * scale.max(1.0),
                "{name} trial {trial}: <Jv, w> = {lhs:e} but <v, J^T w> = {rhs:e}"
            );

            // Central differences along (vx, vu), scaled so the step is small relative to the state.
            let h = 1e-7;
            let shifted = |sign: f64, ws: &mut motornet::runtime::Workspace| -> Vec<f64> {
                let xs: Vec<f64> = x.iter().zip(&vx).map(|(a, d)| a + sign * h * d).collect();
                let us: Vec<f64> = u.iter().zip(&vu).map(|(a, d)| a + sign * h * d).collect();
                let mut out = vec![0.0; s];
                plant.step(ws, &xs, &us, &mut out).unwrap();
                out
            };
            let (plus, minus) = (shifted(1.0, &mut ws), shifted(-1.0, &mut ws));
            let mut worst: f64 = 0.0;
            for i in 0..s {
                let fd = (plus[i] - minus[i]) / (2.0 * h);
                worst = worst.max((fd - jv[i]).abs() / (1.0 + jv[i].abs()));
            }
            assert!(
                worst < 1e-4,
                "{name} trial {trial}: finite differences differ from the JVP by {worst:e}"
            );
        }
    }
}

#[test]
fn compiled_and_interpreted_derivatives_agree() {
    let mut rng = Rng(42);
    for (name, make) in models::BUILTIN {
        let compiled = make();
        let interp = interpreted(name);
        let (s, c) = (compiled.info().state_dim(), compiled.info().control_dim());
        let (mut wa, mut wb) = (compiled.workspace(), interp.workspace());
        let (x, u) = operating_point(compiled.as_ref(), &mut rng);
        let w = rng.vec(s);
        let (mut gxa, mut gua, mut gxb, mut gub) =
            (vec![0.0; s], vec![0.0; c], vec![0.0; s], vec![0.0; c]);
        compiled
            .step_vjp(&mut wa, &x, &u, &w, &mut gxa, &mut gua)
            .unwrap();
        interp
            .step_vjp(&mut wb, &x, &u, &w, &mut gxb, &mut gub)
            .unwrap();
        let (vx, vu) = (rng.vec(s), rng.vec(c));
        let (mut ja, mut jb) = (vec![0.0; s], vec![0.0; s]);
        compiled
            .step_jvp(&mut wa, &x, &u, &vx, &vu, &mut ja)
            .unwrap();
        interp.step_jvp(&mut wb, &x, &u, &vx, &vu, &mut jb).unwrap();
        for (a, b) in gxa
            .iter()
            .chain(&gua)
            .chain(&ja)
            .zip(gxb.iter().chain(&gub).chain(&jb))
        {
            assert!(
                (a - b).abs() <= 1e-12 * (1.0 + b.abs()),
                "{name}: compiled {a:e} vs interpreted {b:e}"
            );
        }
    }
}

/// The generated step is generic over the scalar: run it on dual numbers and compare with the symbolic JVP.
fn dual_matches_symbolic<const S: usize, const C: usize>(
    plant: &dyn Plant,
    generic: impl Fn(&[Dual64; S], &[Dual64; C], &mut [Dual64; S]) -> bool,
    rng: &mut Rng,
) {
    let (x, u) = operating_point(plant, rng);
    let (vx, vu) = (rng.vec(S), rng.vec(C));
    let xd: [Dual64; S] = std::array::from_fn(|i| Dual64::new(x[i], vx[i]));
    let ud: [Dual64; C] = std::array::from_fn(|i| Dual64::new(u[i], vu[i]));
    let mut out = [Dual64::from(0.0); S];
    assert!(
        generic(&xd, &ud, &mut out),
        "dual numbers carry their own sin fallback"
    );
    let mut jv = vec![0.0; S];
    plant
        .step_jvp(&mut plant.workspace(), &x, &u, &vx, &vu, &mut jv)
        .unwrap();
    let mut next = vec![0.0; S];
    plant
        .step(&mut plant.workspace(), &x, &u, &mut next)
        .unwrap();
    for i in 0..S {
        assert!((out[i].re - next[i]).abs() <= 1e-14 * (1.0 + next[i].abs()));
        assert!(
            (out[i].eps - jv[i]).abs() <= 1e-11 * (1.0 + jv[i].abs()),
            "component {i}: dual {} vs symbolic {}",
            out[i].eps,
            jv[i]
        );
    }
}

#[test]
fn dual_numbers_through_generated_code_equal_symbolic_forward_mode() {
    let mut rng = Rng(7);
    let arm = Arm26::new();
    dual_matches_symbolic::<{ Arm26::STATE_DIM }, { Arm26::CONTROL_DIM }>(
        &arm,
        |x, u, o| arm.step_generic(x, u, o),
        &mut rng,
    );
    let pm = Pointmass24Relu::new();
    dual_matches_symbolic::<{ Pointmass24Relu::STATE_DIM }, { Pointmass24Relu::CONTROL_DIM }>(
        &pm,
        |x, u, o| pm.step_generic(x, u, o),
        &mut rng,
    );
}

#[test]
fn step_jacobian_columns_match_adjoint_rows() {
    let mut rng = Rng(11);
    let plant = Arm26::new();
    let (x, u) = operating_point(&plant, &mut rng);
    let mut ws = plant.workspace();
    let jac = plant.step_jacobian(&mut ws, &x, &u).unwrap();
    let (s, c) = (x.len(), u.len());
    for i in [0, 3, s - 1] {
        let mut w = vec![0.0; s];
        w[i] = 1.0;
        let (mut gx, mut gu) = (vec![0.0; s], vec![0.0; c]);
        plant
            .step_vjp(&mut ws, &x, &u, &w, &mut gx, &mut gu)
            .unwrap();
        for k in 0..s + c {
            let g = if k < s { gx[k] } else { gu[k - s] };
            assert!((jac[i * (s + c) + k] - g).abs() <= 1e-12 * (1.0 + g.abs()));
        }
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// A state from joint fractions of the range and excitations, stepped a few times.
    fn state(plant: &dyn Plant, fractions: &[f64], excitation: f64) -> (Vec<f64>, Vec<f64>) {
        let info = plant.info();
        let mut ws = plant.workspace();
        let mut joint: Vec<f64> = plant
            .bounds()
            .iter()
            .zip(fractions)
            .map(|(b, f)| {
                if b.lower.is_finite() {
                    b.lower + f * (b.upper - b.lower)
                } else {
                    f - 0.5
                }
            })
            .collect();
        joint.extend(std::iter::repeat_n(0.0, info.dof()));
        let mut x = vec![0.0; info.state_dim()];
        plant.reset(&mut ws, &joint, &mut x).unwrap();
        let mut u = vec![excitation; info.n_muscles()];
        u.extend([0.1, -0.1]);
        u.extend(std::iter::repeat_n(0.05, info.dof()));
        for _ in 0..3 {
            let mut next = vec![0.0; x.len()];
            plant.step(&mut ws, &x, &u, &mut next).unwrap();
            x = next;
        }
        (x, u)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// ⟨J v, w⟩ = ⟨v, Jᵀ w⟩ over physiological states of the via-point, lumped and wrapped arms.
        #[test]
        fn adjoint_is_the_transpose_of_forward_mode(
            model in prop::sample::select(vec!["arm26", "arm210_thelen_paths", "wrap_elbow", "arm26_rigid_mujoco"]),
            f0 in 0.1f64..0.9, f1 in 0.1f64..0.9, excitation in 0.02f64..0.9, seed in 1u64..u64::MAX,
        ) {
            let plant = models::compiled(model).unwrap();
            let (x, u) = state(plant.as_ref(), &[f0, f1], excitation);
            let mut rng = Rng(seed);
            let (s, c) = (x.len(), u.len());
            let (vx, vu, w) = (rng.vec(s), rng.vec(c), rng.vec(s));
            let mut ws = plant.workspace();
            let mut jv = vec![0.0; s];
            plant.step_jvp(&mut ws, &x, &u, &vx, &vu, &mut jv).unwrap();
            let (mut gx, mut gu) = (vec![0.0; s], vec![0.0; c]);
            plant.step_vjp(&mut ws, &x, &u, &w, &mut gx, &mut gu).unwrap();
            let lhs = dot(&jv, &w);
            let rhs = dot(&vx, &gx) + dot(&vu, &gu);
            let scale = jv.iter().map(|v| v.abs()).sum::<f64>().max(1.0);
            prop_assert!((lhs - rhs).abs() <= 1e-10 * scale, "{model}: {lhs:e} vs {rhs:e}");
        }
    }
}
