//! Spatial models (`dimensions 3`): agreement with MuJoCo 4.0's 3D references, the language's spatial
//! constructs (composed joints, welds, rotations, slides, anchors, ellipsoids) against hand-computed
//! kinematics and against planar models, and the checker's messages.

use motornet::dsl::InterpretedPlant;
use motornet::verify::{verify_file, Options};
use motornet::Plant;

fn plant(source: &str) -> InterpretedPlant {
    InterpretedPlant::from_source(source, "test.mnet").unwrap_or_else(|e| panic!("{e}"))
}

/// The state after `reset` at joint state `joint`.
fn reset(p: &dyn Plant, joint: &[f64]) -> Vec<f64> {
    let mut s = vec![0.0; p.info().state_dim()];
    p.reset(&mut p.workspace(), joint, &mut s).unwrap();
    s
}

fn codes(source: &str) -> Vec<&'static str> {
    let (_, diags) = motornet::dsl::check::compile_source(source);
    diags.iter().map(|d| d.code).collect()
}

#[test]
fn agrees_with_mujoco_in_3d_on_every_backend() {
    for file in [
        "chain4_swing",
        "chain4_gravity_rk4",
        "arm4_tendons",
        "arm4_tendons_wide",
    ] {
        for (interpreted, jit) in [(false, false), (true, false), (false, true)] {
            let path = format!("tests/reference/mujoco3d/{file}.json");
            let r = verify_file(
                std::path::Path::new(&path),
                &Options {
                    model: None,
                    interpreted,
                    jit,
                },
            )
            .unwrap();
            assert_eq!(r.fields.len(), 2, "{file}");
            for f in &r.fields {
                assert!(f.count >= 1000, "{file}: compared {} values", f.count);
                // The references are met far inside their tolerances (1e-6 relative, 1e-9 m).
                assert!(
                    f.passed() && f.max_scaled < 1e-12,
                    "{file} ({interpreted}, {jit}): {} off by {:e} at {}",
                    f.field,
                    f.max_scaled,
                    f.worst_at
                );
            }
        }
    }
}

/// A planar chain written as a spatial model (hinges about z, the same masses and inertias about z) moves
/// exactly as the planar model: the two lowerings agree.
#[test]
fn a_planar_chain_written_in_3d_moves_as_the_planar_one() {
    let planar = plant(include_str!("../models/chain3_torque_rk4.mnet"));
    let spatial = plant(
        "model chain3_3d {
          dimensions 3; timestep 0.001 s; integrator rk4;
          body link1 { mass 2.0 kg; com (0.13, 0, 0) m; inertia (0.01, 0.01, 0.020) kg m^2; length 0.30 m; }
          body link2 { mass 1.5 kg; com (0.11, 0, 0) m; inertia (0.02, 0.01, 0.015) kg m^2; length 0.25 m; }
          body link3 { mass 0.8 kg; com (0.09, 0, 0) m; inertia (0.004, 0.003, 0.006) kg m^2; length 0.20 m; }
          joint j1: world -> link1 {}
          joint j2: link1 -> link2 {}
          joint j3: link2 -> link3 {}
          endpoint link3;
        }",
    );
    let joint = [0.3, -0.7, 1.1, 0.5, -1.0, 2.0];
    let (mut a, mut b) = (reset(&planar, &joint), reset(&spatial, &joint));
    let (mut wa, mut wb) = (planar.workspace(), spatial.workspace());
    let (ca, cb) = (planar.info().cartesian(), spatial.info().cartesian());
    for t in 0..300 {
        let tau = [0.2 * (t as f64 * 0.01).sin(), -0.1, 0.05];
        let ua: Vec<f64> = [1.0, -2.0].iter().chain(&tau).copied().collect();
        let ub: Vec<f64> = [1.0, -2.0, 0.0].iter().chain(&tau).copied().collect();
        let (mut na, mut nb) = (vec![0.0; a.len()], vec![0.0; b.len()]);
        planar.step(&mut wa, &a, &ua, &mut na).unwrap();
        spatial.step(&mut wb, &b, &ub, &mut nb).unwrap();
        (a, b) = (na, nb);
        for i in 0..6 {
            assert!(
                (a[i] - b[i]).abs() < 1e-10 * (1.0 + a[i].abs()),
                "step {t}, joint {i}"
            );
        }
        let (pa, pb) = (&a[ca.clone()], &b[cb.clone()]);
        for (i, j) in [(0, 0), (1, 1), (2, 3), (3, 4)] {
            assert!((pa[i] - pb[j]).abs() < 1e-10, "step {t}, cartesian {i}");
        }
        assert!(
            pb[2].abs() < 1e-15 && pb[5].abs() < 1e-15,
            "the chain leaves its plane"
        );
    }
}

/// A weld with a rotation, a slide and a hinge about an anchor place the child where the frame equations
/// of docs/language.md §20.3 say.
#[test]
fn welds_rotations_slides_and_anchors_place_the_child() {
    let p = plant(
        "model frames {
          dimensions 3;
          gravity (0, -10, 0) m/s^2;
          body base { mass 0 kg; }
          body cart { mass 2 kg; }
          body arm { mass 1 kg; }
          // The base is turned 90° about z: its x axis is the world's y.
          joint fix: world -> base { type weld; at (1, 2, 3) m; rotation (0, 0, 90) deg; }
          joint rail: base -> cart { type slide; axis (1, 0, 0); }
          // The arm turns about z through (0.1, 0, 0) of its own frame.
          joint pin: cart -> arm { axis (0, 0, 1); anchor (0.1, 0, 0) m; }
          endpoint arm (0, 0, 0) m;
        }",
    );
    assert_eq!(p.info().coord_names, ["rail", "pin"]);
    let half_pi = std::f64::consts::FRAC_PI_2;
    let s = reset(&p, &[0.5, half_pi, 0.0, 0.0]);
    let c = &s[p.info().cartesian()];
    // Origin: (1, 2, 3) + 0.5 along world y; then the anchor turn moves it by p − R p = (0.1, −0.1, 0) in the
    // cart's axes, which are the base's: world (0.1, 0.1, 0).
    let want = [1.1, 2.6, 3.0];
    for k in 0..3 {
        assert!((c[k] - want[k]).abs() < 1e-14, "{c:?}");
    }
    // At q = 0 the arm's centre of mass (its origin) moves across the rail when the pin turns, so gravity
    // along the rail (world −y) accelerates the cart and the arm together at 10 m/s²: after one Euler
    // step the rail's velocity is −10·dt.
    let mut next = vec![0.0; s.len()];
    let u = vec![0.0; p.info().control_dim()];
    let s0 = reset(&p, &[0.0, 0.0, 0.0, 0.0]);
    p.step(&mut p.workspace(), &s0, &u, &mut next).unwrap();
    let dt = p.timestep();
    assert!(
        (next[2] + 10.0 * dt).abs() < 1e-12,
        "rail velocity {}",
        next[2]
    );
    assert!(next[3].abs() < 1e-12, "pin velocity {}", next[3]);
}

/// An ellipsoid with equal semi-axes is a sphere: the same wrapped lengths and moment arms.
#[test]
fn an_ellipsoid_with_equal_radii_wraps_as_a_sphere() {
    let model = |shape: &str| {
        format!(
            "model wrap {{
              dimensions 3;
              body upper {{ mass 1 kg; inertia (0.01, 0.01, 0.01) kg m^2; }}
              joint a: world -> upper {{ axis (0, 0, 1); }}
              joint b: world -> upper {{ axis (0, 1, 0); }}
              obstacle head: {shape}
              muscle m: RigidTendonHillMuscle {{
                max_force 100 N; optimal_length 0.1 m; tendon_length 0.1 m;
                path world (0.0, 0.04, 0.03) m -> wrap head side (0, -0.07, 0) m -> upper (0.006, 0.012, -0.12) m;
              }}
            }}"
        )
    };
    let sphere = plant(&model("sphere { body upper; radius 0.026 m; }"));
    let ellipsoid = plant(&model(
        "ellipsoid { body upper; radii (0.026, 0.026, 0.026) m; rotation (10, 20, 30) deg; }",
    ));
    let straight = plant(
        &model("sphere { body upper; radius 0.026 m; }")
            .replace(" -> wrap head side (0, -0.07, 0) m", ""),
    );
    let g = sphere.info().geometry();
    let mut wrapped = 0;
    for k in 0..50 {
        let joint = [-1.0 + 0.04 * k as f64, 0.8 - 0.03 * k as f64, 0.0, 0.0];
        let (a, b) = (reset(&sphere, &joint), reset(&ellipsoid, &joint));
        for i in g.clone() {
            assert!(
                (a[i] - b[i]).abs() < 1e-12,
                "{joint:?}: {} vs {}",
                a[i],
                b[i]
            );
        }
        wrapped += usize::from(a[g.start] > reset(&straight, &joint)[g.start] + 1e-6);
    }
    assert!(wrapped >= 5, "the path wraps at {wrapped} of 50 postures");
}

/// An ellipsoid's wrapped length is smooth: its moment arms equal central differences of the length.
#[test]
fn ellipsoid_moment_arms_are_derivatives_of_the_length() {
    let p = plant(
        "model ell {
          dimensions 3;
          body upper { mass 1 kg; inertia (0.01, 0.01, 0.01) kg m^2; }
          joint a: world -> upper { axis (0, 0, 1); }
          joint b: world -> upper { axis (0, 1, 0); }
          obstacle head: ellipsoid { body upper; radii (0.035, 0.02, 0.025) m; rotation (0, 30, 0) deg; }
          muscle m: RigidTendonHillMuscle {
            max_force 100 N; optimal_length 0.1 m; tendon_length 0.1 m;
            path world (0.0, 0.05, 0.03) m -> wrap head side (0, 0.08, 0) m -> upper (0.006, 0.015, -0.12) m;
          }
        }",
    );
    let g = p.info().geometry().start;
    let length = |q: [f64; 2]| reset(&p, &[q[0], q[1], 0.0, 0.0])[g];
    let mut checked = 0;
    for k in 0..40 {
        let q = [-0.9 + 0.045 * k as f64, 0.6 - 0.03 * k as f64];
        let s = reset(&p, &[q[0], q[1], 0.0, 0.0]);
        let h = 1e-6;
        for j in 0..2 {
            let (mut up, mut down) = (q, q);
            up[j] += h;
            down[j] -= h;
            let fd = (length(up) - length(down)) / (2.0 * h);
            let arm = s[g + (2 + j)];
            assert!((fd - arm).abs() < 1e-7, "q = {q:?}, d/dq{j}: {arm} vs {fd}");
            checked += 1;
        }
    }
    assert_eq!(checked, 80);
}

/// Every problem of a spatial model (or of a spatial construct in a planar one) is reported at once.
#[test]
fn spatial_mistakes_are_reported_together() {
    let found = codes(
        "model bad {
          dimensions 3;
          body a { mass 1 kg; com (0.1, 0) m; inertia (1, 0.1, 0.1) kg m^2; }
          body b { mass 1 kg; }
          joint j1: world -> a { axis (0, 0, 0); }
          joint j2: a -> b { type slide; }
          joint j3: world -> b {}
          obstacle c: cylinder { body a; radius 0.01 m; axis (0, 0, 1); rotation (0, 0, 10) deg; }
          muscle m: RigidTendonHillMuscle {
            max_force 1 N; optimal_length 0.1 m; tendon_length 0.1 m;
            path world (0, 0, 0) m -> wrap c side + -> b (0, 0, 0.1) m;
          }
        }",
    );
    for code in [
        "wrong-value",            // a two-component com
        "invalid-value",          // a zero axis; Ixx beyond Iyy + Izz
        "missing-property",       // a slide without an axis
        "two-parents",            // b hangs from a and from the world
        "conflicting-properties", // a cylinder's axis and rotation
        "spatial-only",           // `side +`
    ] {
        assert!(found.contains(&code), "{code} not in {found:?}");
    }
    let planar = codes(
        "model flat {
          body a { mass 1 kg; com (0.1, 0, 0) m; }
          joint j: world -> a { axis (0, 0, 1); }
          obstacle e: ellipsoid { radii (1, 1, 1) m; }
        }",
    );
    assert!(planar.contains(&"spatial-only"), "{planar:?}");
    assert!(planar.contains(&"wrong-value"), "{planar:?}");
    assert_eq!(
        codes("model m { dimensions 4; body a { mass 1 kg; } joint j: world -> a {} }"),
        ["invalid-value"]
    );
}

/// A chain of two spheres in the world, checked against the rule written out independently. First pass:
/// the first sphere wrapped from P towards S (the shorter way, on the great circle through P and S), the
/// second from the first's exit tangent point towards S. Second pass: the first sphere wrapped from P
/// towards the second's entry tangent point of the first pass, the second from the first's new exit
/// tangent point towards S; the length is the second pass's.
#[test]
fn chained_wraps_follow_one_another() {
    let model = |path: &str| {
        plant(&format!(
            "model chain {{
              dimensions 3;
              body upper {{ mass 1 kg; inertia (0.01, 0.01, 0.01) kg m^2; }}
              joint a: world -> upper {{ axis (0, 0, 1); }}
              joint b: world -> upper {{ axis (0, 1, 0); }}
              obstacle s1: sphere {{ radius 0.02 m; }}
              obstacle s2: sphere {{ at (0, 0, -0.05) m; radius 0.015 m; }}
              obstacle far: sphere {{ at (1, 1, 1) m; radius 0.01 m; }}
              muscle m: RigidTendonHillMuscle {{
                max_force 100 N; optimal_length 0.1 m; tendon_length 0.1 m;
                path world (0.01, 0.005, 0.05) m -> {path} upper (0.005, 0.003, -0.12) m;
              }}
            }}"
        ))
    };
    let length = |p: &InterpretedPlant, q: [f64; 2]| {
        reset(p, &[q[0], q[1], 0.0, 0.0])[p.info().geometry().start]
    };
    let chain = model("wrap s1 -> wrap s2 ->");
    let (p, s) = ([0.01, 0.005, 0.05], [0.005, 0.003, -0.12]);
    // At q = 0 the body frame is the world's.
    let (c1, c2) = ([0.0; 3], [0.0, 0.0, -0.05]);
    let first = sphere_wrap(p, s, c1, 0.02).expect("s1 wraps");
    let first2 = sphere_wrap(first.exit, s, c2, 0.015).expect("s2 wraps");
    let one_pass = first.to_exit + first2.to_exit + dist(first2.exit, s);
    let second = sphere_wrap(p, first2.entry, c1, 0.02).expect("s1 wraps again");
    let second2 = sphere_wrap(second.exit, s, c2, 0.015).expect("s2 wraps again");
    let expected = second.to_exit + second2.to_exit + dist(second2.exit, s);
    let ours = length(&chain, [0.0, 0.0]);
    assert!((ours - expected).abs() < 1e-12, "{ours} vs {expected}");
    assert!(
        (one_pass - expected).abs() > 1e-8,
        "the second pass matters here: {one_pass} vs {expected}"
    );
    let one = length(&model("wrap s1 ->"), [0.0, 0.0]);
    assert!(
        ours > one + 1e-6,
        "the second sphere adds length: {ours} vs {one}"
    );
    // A wrap that never wraps leaves the chain as it was, before or after the others.
    for (with, without) in [
        ("wrap far -> wrap s1 ->", "wrap s1 ->"),
        ("wrap s1 -> wrap far ->", "wrap s1 ->"),
        ("wrap s1 -> wrap far -> wrap s2 ->", "wrap s1 -> wrap s2 ->"),
    ] {
        let (a, b) = (model(with), model(without));
        for k in 0..20 {
            let q = [-0.5 + 0.05 * k as f64, 0.4 - 0.04 * k as f64];
            let (x, y) = (length(&a, q), length(&b, q));
            assert!((x - y).abs() < 1e-12, "{with} at {q:?}: {x} vs {y}");
        }
    }
}

fn dist(a: [f64; 3], b: [f64; 3]) -> f64 {
    (0..3).map(|i| (a[i] - b[i]).powi(2)).sum::<f64>().sqrt()
}

/// A sphere wrap in a chain: the length from the start to the exit tangent point, that point, and the entry
/// tangent point.
struct SphereWrap {
    to_exit: f64,
    exit: [f64; 3],
    entry: [f64; 3],
}

/// The shorter wrap from `p` towards `s` over the sphere (`c`, `r`) where the segment crosses it.
fn sphere_wrap(p: [f64; 3], s: [f64; 3], c: [f64; 3], r: f64) -> Option<SphereWrap> {
    let sub = |a: [f64; 3], b: [f64; 3]| [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    let dot = |a: [f64; 3], b: [f64; 3]| a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    let (pl, sl) = (sub(p, c), sub(s, c));
    let d = sub(sl, pl);
    let t = (-dot(pl, d) / dot(d, d)).clamp(0.0, 1.0);
    let near = [pl[0] + t * d[0], pl[1] + t * d[1], pl[2] + t * d[2]];
    if dot(near, near) >= r * r {
        return None;
    }
    let (np, ns) = (dot(pl, pl).sqrt(), dot(sl, sl).sqrt());
    let angle = (dot(pl, sl) / (np * ns)).clamp(-1.0, 1.0).acos();
    let (ap, as_) = ((r / np).acos(), (r / ns).acos());
    let arc = angle - ap - as_;
    // The tangent points: in the plane of pl and sl, at angles ap and (angle − as_) from pl.
    let u = pl.map(|x| x / np);
    let w = sub(sl, u.map(|x| x * dot(sl, u)));
    let nw = dot(w, w).sqrt();
    let v = w.map(|x| x / nw);
    let at = |th: f64| [0, 1, 2].map(|i| c[i] + r * (u[i] * th.cos() + v[i] * th.sin()));
    Some(SphereWrap {
        to_exit: (np * np - r * r).sqrt() + r * arc,
        exit: at(angle - as_),
        entry: at(ap),
    })
}

/// Moment arms through a chain (a cylinder with a side point, then an ellipsoid, both on the moving
/// body) are the derivatives of its length: central differences agree at every posture, wrapped or not.
#[test]
fn chained_wrap_moment_arms_are_derivatives_of_the_length() {
    let source = |path: &str| {
        format!(
            "model chain {{
              dimensions 3;
              body upper {{ mass 1 kg; inertia (0.01, 0.01, 0.01) kg m^2; }}
              joint a: world -> upper {{ axis (0, 0, 1); }}
              joint b: world -> upper {{ axis (0, 1, 0); }}
              obstacle rim: cylinder {{ at (0.004, 0.002, 0.03) m; axis (0, 1, 0.2); radius 0.006 m; }}
              obstacle head: ellipsoid {{ body upper; radii (0.035, 0.02, 0.025) m; rotation (0, 30, 0) deg; }}
              muscle m: RigidTendonHillMuscle {{
                max_force 100 N; optimal_length 0.1 m; tendon_length 0.1 m;
                path world (0.012, 0.01, 0.06) m -> {path} upper (0.006, 0.015, -0.12) m;
              }}
            }}"
        )
    };
    let chain = plant(&source("wrap rim side (0.03, 0, 0.03) m -> wrap head ->"));
    let singles = [
        plant(&source("wrap rim side (0.03, 0, 0.03) m ->")),
        plant(&source("wrap head ->")),
        plant(&source("")),
    ];
    let g = chain.info().geometry().start;
    let length = |p: &InterpretedPlant, q: [f64; 2]| reset(p, &[q[0], q[1], 0.0, 0.0])[g];
    let (mut checked, mut both) = (0, 0);
    for k in 0..60 {
        let q = [-1.2 + 0.04 * k as f64, 0.9 - 0.03 * k as f64];
        let s = reset(&chain, &[q[0], q[1], 0.0, 0.0]);
        let h = 1e-6;
        for j in 0..2 {
            let (mut up, mut down) = (q, q);
            up[j] += h;
            down[j] -= h;
            let fd = (length(&chain, up) - length(&chain, down)) / (2.0 * h);
            let arm = s[g + (2 + j)];
            assert!((fd - arm).abs() < 1e-7, "q = {q:?}, d/dq{j}: {arm} vs {fd}");
            checked += 1;
        }
        // Both wraps are active where the chain is longer than either wrap alone.
        let l = s[g];
        both += usize::from(singles.iter().all(|p| l > length(p, q) + 1e-6));
    }
    assert_eq!(checked, 120);
    assert!(both >= 10, "both wraps are active at {both} of 60 postures");
}

/// A chain's mistakes: two wraps in a row in a planar path, and one obstacle twice in a chain.
#[test]
fn chained_wrap_mistakes_are_reported() {
    let planar = codes(
        "model flat {
          body a { mass 1 kg; length 0.3 m; }
          joint j: world -> a {}
          obstacle c1: cylinder { radius 0.01 m; }
          obstacle c2: cylinder { at (0.05, 0) m; radius 0.01 m; }
          muscle m: ReluMuscle { max_force 1 N; path world (0.1, 0) m -> wrap c1 -> wrap c2 -> a (0.1, 0) m; }
        }",
    );
    assert_eq!(planar, ["spatial-only"]);
    let spatial = |path: &str| {
        codes(&format!(
            "model sp {{
              dimensions 3;
              body a {{ mass 1 kg; length 0.3 m; inertia (0.01, 0.01, 0.01) kg m^2; }}
              joint j: world -> a {{}}
              obstacle c1: sphere {{ radius 0.01 m; }}
              obstacle c2: sphere {{ at (0.05, 0, 0) m; radius 0.01 m; }}
              muscle m: ReluMuscle {{ max_force 1 N; path {path}; }}
            }}"
        ))
    };
    assert_eq!(
        spatial("world (0.1, 0.02, 0) m -> wrap c1 -> wrap c2 -> wrap c1 -> a (0.1, 0, 0) m"),
        ["repeated-wrap"]
    );
    assert_eq!(
        spatial("world (0.1, 0.02, 0) m -> a (0.1, 0, 0) m -> wrap c1 -> wrap c2"),
        ["wrap-not-bracketed", "wrap-not-bracketed"]
    );
    assert!(spatial("world (0.1, 0.02, 0) m -> wrap c1 -> wrap c2 -> a (0.1, 0, 0) m").is_empty());
}
