//! `motornet import` (OpenSim `.osim` → `.mnet`) and `motornet verify` of OpenSim references: arm26
//! imports into the shipped `models/arm26_opensim.mnet` byte for byte; every unsupported element is
//! refused with its line and column, all at once; small hand-written models check the frame mapping; the
//! reference reader refuses malformed files by field; the comparison passes a model against its own
//! numbers and fails it by muscle and field when one number moves.

use motornet::import::{import_osim, sha256_hex};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn arm26_osim() -> String {
    std::fs::read_to_string(root().join("tests/reference/opensim/arm26.osim")).unwrap()
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("motornet-import-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_motornet"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// The line (1-based) of the first occurrence of `needle` in `text`.
fn line_of(text: &str, needle: &str) -> usize {
    let at = text.find(needle).unwrap_or_else(|| panic!("no `{needle}`"));
    text[..at].lines().count() + usize::from(text[..at].ends_with('\n'))
}

fn import_err(text: &str) -> String {
    match import_osim("m.osim", text) {
        Ok(_) => panic!("imported:\n{text}"),
        Err(e) => e.to_string(),
    }
}

// ------------------------------------------------------------------------------------------------------
// arm26
// ------------------------------------------------------------------------------------------------------

#[test]
fn arm26_imports_into_the_shipped_model() {
    let imported = import_osim("arm26.osim", &arm26_osim()).unwrap();
    let shipped = std::fs::read_to_string(root().join("models/arm26_opensim.mnet")).unwrap();
    assert_eq!(
        imported.text, shipped,
        "models/arm26_opensim.mnet is not what `motornet import tests/reference/opensim/arm26.osim` writes: re-import it"
    );
    // Through the command line, written atomically to a file.
    let dir = temp_dir("cli");
    let out = dir.join("arm26.mnet");
    let (ok, log) = run(&[
        "import",
        "tests/reference/opensim/arm26.osim",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{log}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), shipped);
    // Every PathWrap is placed (TRIlong's two on its first segment chained): nothing to warn about.
    assert!(!log.contains("warning"), "{log}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn arm26_import_carries_the_model() {
    let src = arm26_osim();
    let imported = import_osim("arm26.osim", &src).unwrap();
    let t = &imported.text;
    // Header: source, digest, credits and licence.
    assert!(t.contains(&format!("// sha256:  {}", sha256_hex(src.as_bytes()))));
    assert!(t.contains("e2224d0044eb393b05d64926c3fa1682c451a9adc7f510e5517ef9958d3d41b9"));
    assert!(t.contains("CC BY 3.0") && t.contains("Holzbaur"));
    // Skeleton: the weld, the two tilted hinges named after their coordinates, with ranges.
    assert!(t.contains("joint offset: world -> base {\n    type weld;\n    at (0, 0.8, 0) m;\n  }"));
    assert!(t.contains("joint r_shoulder_elev: base -> r_humerus {"));
    assert!(t.contains("axis (-0.05889802, 0.0023, 0.99826136);"));
    assert!(t.contains("range -1.57079633 rad .. 3.14159265 rad;"));
    assert!(t.contains("joint r_elbow_flex: r_humerus -> r_ulna_radius_hand {"));
    assert!(t.contains("at (0.0061, -0.2904, -0.0123) m;"));
    assert!(t.contains(
        "body r_humerus { mass 1.864572 kg; com (0, -0.180496, 0) m; inertia (0.01481, 0.004551, 0.013193, 0, 0, 0) kg m^2; }"
    ));
    assert!(t.contains("gravity (0, -9.8066, 0) m/s^2;"));
    // Wraps where OpenSim puts them in the reference (TRI before P5, the ellipsoids on P1-P2 / P2-P3).
    assert!(t.contains(
        "-> wrap TRI\n      -> r_ulna_radius_hand (-0.0219, 0.01046, -0.00078) m;   // TRIlong-P5"
    ));
    assert!(t.contains(
        "-> wrap TRI\n      -> r_ulna_radius_hand (-0.0032, -0.0239, 0.0009) m;   // BRA-P2"
    ));
    // BIClong's wrap is kept although its point P2 is inside BIClonghh at mid-range: the path is straight
    // while it is inside.
    assert!(t.contains("-> wrap BIClonghh"));
    // TRIlong's first segment chains the glenoid cylinder and the humeral head, in the order they lie
    // along it; the ellipsoid has no side point (OpenSim's WrapEllipsoid wraps only where the segment
    // crosses it).
    assert!(
        t.contains("// TRIlong-P1\n      -> wrap TRIlongglen side ("),
        "{t}"
    );
    assert!(t.contains(" m\n      -> wrap TRIlonghh\n      -> r_humerus (-0.02714, -0.11441, -0.00664) m   // TRIlong-P2"), "{t}");
    assert!(t.contains("radius 0.003 m; length 0.03 m; }"), "{t}");
    assert!(t.contains("obstacle TRIlonghh: ellipsoid { body r_humerus; at (-0.0078, -0.0041, -0.0014) m; rotation (3.00162, -0.853466, 2.57419) rad; radii (0.035, 0.02, 0.02) m; }"));
    // The muscle mapping and its stated approximations.
    assert!(t.contains("muscle TRIlong: RigidTendonHillMuscleThelen {"));
    assert!(t.contains("max_force 798.52 N;"));
    assert!(t.contains("optimal_length 0.134 m;"));
    assert!(t.contains("tendon_length 0.143 m;"));
    assert!(t.contains("FmaxTendonStrain 0.033: the tendon is rigid here"));
    assert!(t.contains("pennation_angle_at_optimal 0.20943951 rad"));
    // Every PathWrap of Arm26 is placed: nothing to warn about.
    assert!(imported.warnings.is_empty(), "{:?}", imported.warnings);
    assert!(t.contains("PathWrap `TRIlong-wrap-cylinder2` (hybrid method, quadrant x): segment"));
    assert!(t.contains("which PathWrap `TRIlong-wrap-ellipsoid` wraps as well: chained there"));
    // Display-only elements are listed, not silently dropped.
    assert!(t.contains("<attached_geometry> of <Body name=\"r_humerus\"> (display only)"));
    assert!(t.contains("Markers (not part of the dynamics): r_acromion on base"));
    // The text is a well-formed .mnet file (the parser accepts it without a problem).
    let (model, diags) = motornet::dsl::parse::parse(t);
    assert!(model.is_some() && diags.is_empty(), "{diags:?}");
}

#[test]
fn side_points_lie_on_the_quadrant_axis() {
    // TRIlongglen has quadrant x: the side point is at R·(2·0.003, 0, 0) + translation (body frame).
    let imported = import_osim("arm26.osim", &arm26_osim()).unwrap();
    let m = &imported.model;
    let w = m.wraps.iter().find(|w| w.name == "TRIlongglen").unwrap();
    let r = motornet::import::frames::xyz_body(w.rotation);
    let local = nalgebra::Vector3::new(2.0 * 0.003, 0.0, 0.0);
    let want = r * local + nalgebra::Vector3::from(w.translation);
    let text = &imported.text;
    let line = text
        .lines()
        .find(|l| l.contains("wrap TRIlongglen side"))
        .unwrap();
    let inner = &line[line.find('(').unwrap() + 1..line.find(')').unwrap()];
    let got: Vec<f64> = inner.split(", ").map(|x| x.parse().unwrap()).collect();
    for k in 0..3 {
        assert!((got[k] - want[k]).abs() < 1e-15, "{got:?} {want:?}");
    }
}

// ------------------------------------------------------------------------------------------------------
// Refusals, located
// ------------------------------------------------------------------------------------------------------

/// Each unsupported element of a modified arm26 is refused with the line and column of the element.
#[test]
fn unsupported_elements_are_refused_with_their_location() {
    let src = arm26_osim();
    // (element renamed, its name, the new element, what the message says)
    let renames: &[(&str, &str, &str, &str)] = &[
        (
            "WeldJoint",
            "offset",
            "PinJoint",
            "not supported by the importer (joints",
        ),
        (
            "PathPoint",
            "BRA-P1",
            "ConditionalPathPoint",
            "not supported by the importer (path points",
        ),
        (
            "Thelen2003Muscle",
            "BRA",
            "Millard2012EquilibriumMuscle",
            "not supported by the importer (forces: Thelen2003Muscle)",
        ),
        (
            "WrapEllipsoid",
            "TRIlonghh",
            "WrapTorus",
            "not supported by the importer (wrap objects",
        ),
    ];
    for (from, name, to, want) in renames {
        let open = format!("<{from} name=\"{name}\">");
        let line = line_of(&src, &open);
        let at = src.find(&open).unwrap();
        let close = format!("</{from}>");
        let end = at + src[at..].find(&close).unwrap();
        let mut text = src.clone();
        text.replace_range(end..end + close.len(), &format!("</{to}>"));
        text.replace_range(at..at + open.len(), &format!("<{to} name=\"{name}\">"));
        let err = import_err(&text);
        let located = format!("m.osim:{line}:");
        assert!(
            err.contains(want) && err.contains(&format!("<{to} name=\"{name}\">")),
            "{want}:\n{err}"
        );
        assert!(
            err.contains(&located),
            "{to}: not located at line {line}:\n{err}"
        );
    }
    // A non-linear transform: the LinearFunction of the shoulder with a slope of 2.
    let line = line_of(&src, "<LinearFunction name=\"function\">");
    let text = src.replacen(
        "<coefficients> 1 0</coefficients>",
        "<coefficients> 2 0</coefficients>",
        1,
    );
    let err = import_err(&text);
    assert!(
        err.contains("only coefficients `1 0`") && err.contains(&format!("m.osim:{line}:")),
        "{err}"
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let src = arm26_osim()
        .replacen(
            "<ConstraintSet name=\"constraintset\">\n\t\t\t<objects />",
            "<ConstraintSet name=\"constraintset\">\n\t\t\t<objects><CoordinateCouplerConstraint name=\"cc\" /></objects>",
            1,
        )
        .replacen("<value>0</value>", "<value>0.5</value>", 1)
        .replacen("<locked>false</locked>", "<locked>true</locked>", 1)
        .replacen("<length_units>meters</length_units>", "<length_units>mm</length_units>", 1)
        .replacen("<mass>1.5343150000000001</mass>", "<mass>heavy</mass>", 1);
    let err = import_err(&src);
    for want in [
        "<CoordinateCouplerConstraint name=\"cc\">: not supported by the importer (<ConstraintSet name=\"constraintset\"> must be empty)",
        "a constant other than 0 is not supported",
        "a locked coordinate is not supported",
        "length units `mm`: only meters are supported",
        "<mass>: expected a finite number, found `heavy`",
    ] {
        assert!(err.contains(want), "{want}:\n{err}");
    }
    assert!(err.contains("cannot import: 5 problems"), "{err}");
}

#[test]
fn malformed_files_are_refused_with_a_location() {
    let err = import_err("<OpenSimDocument Version=\"40000\"><Model name=\"m\">\n<BodySet></Body>");
    assert!(
        err.contains("m.osim:2:") && err.contains("not well-formed XML"),
        "{err}"
    );
    let err =
        import_err("<OpenSimDocument Version=\"30000\"><Model name=\"m\"/></OpenSimDocument>");
    assert!(err.contains("only OpenSim 4 files"), "{err}");
    let err = import_err("<mujoco/>");
    assert!(err.contains("expected an <OpenSimDocument>"), "{err}");
    // Through the command line: nothing is written.
    let dir = temp_dir("bad");
    let bad = dir.join("bad.osim");
    std::fs::write(&bad, arm26_osim().replace("WeldJoint", "FreeJoint")).unwrap();
    let out = dir.join("out.mnet");
    let (ok, log) = run(&["import", bad.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert!(
        !ok && log.contains("bad.osim:") && log.contains("<FreeJoint"),
        "{log}"
    );
    assert!(!out.exists());
    std::fs::remove_dir_all(&dir).ok();
}

// ------------------------------------------------------------------------------------------------------
// Small hand-written models
// ------------------------------------------------------------------------------------------------------

/// A one-hinge pendulum: ground → link through a CustomJoint about `axis`, with the given offset
/// frames, one muscle over `wrap` (a WrapObject element, may be empty) and `extra` in the ForceSet.
fn pendulum(
    child_t: &str,
    child_o: &str,
    wrap: &str,
    path_wrap: &str,
    names: (&str, &str),
) -> String {
    let axis = |name: &str, coord: &str, axis: &str, f: &str| {
        format!(
            "<TransformAxis name=\"{name}\"><coordinates>{coord}</coordinates><axis>{axis}</axis>{f}</TransformAxis>"
        )
    };
    let zero = "<Constant name=\"function\"><value>0</value></Constant>";
    let linear =
        "<LinearFunction name=\"function\"><coefficients>1 0</coefficients></LinearFunction>";
    let (body, muscle) = names;
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" ?>
<OpenSimDocument Version="40000">
<Model name="pendulum">
<Ground name="ground"><FrameGeometry name="frame_geometry"/></Ground>
<gravity>0 -9.81 0</gravity>
<BodySet name="bodyset"><objects>
<Body name="{body}"><mass>1.5</mass><mass_center>0.1 0 0</mass_center><inertia>0.01 0.02 0.03 0.001 0 0</inertia>
<WrapObjectSet name="wrapobjectset"><objects>{wrap}</objects><groups/></WrapObjectSet>
</Body>
</objects><groups/></BodySet>
<JointSet name="jointset"><objects>
<CustomJoint name="pivot">
<socket_parent_frame>ground_offset</socket_parent_frame>
<socket_child_frame>link_offset</socket_child_frame>
<coordinates><Coordinate name="swing"><default_value>0.2</default_value><range>-1 2</range><clamped>true</clamped><locked>false</locked></Coordinate></coordinates>
<frames>
<PhysicalOffsetFrame name="ground_offset"><socket_parent>/ground</socket_parent><translation>0 1 0</translation><orientation>0 0 0.3</orientation></PhysicalOffsetFrame>
<PhysicalOffsetFrame name="link_offset"><socket_parent>/bodyset/{body}</socket_parent><translation>{child_t}</translation><orientation>{child_o}</orientation></PhysicalOffsetFrame>
</frames>
<SpatialTransform>{}{}{}{}{}{}</SpatialTransform>
</CustomJoint>
</objects></JointSet>
<ForceSet name="forceset"><objects>
<Thelen2003Muscle name="{muscle}">
<GeometryPath name="geometrypath">
<PathPointSet><objects>
<PathPoint name="p1"><socket_parent_frame>/ground</socket_parent_frame><location>0.05 1.0 0</location></PathPoint>
<PathPoint name="p2"><socket_parent_frame>/bodyset/{body}</socket_parent_frame><location>0.3 0.02 0</location></PathPoint>
</objects></PathPointSet>
<PathWrapSet><objects>{path_wrap}</objects></PathWrapSet>
</GeometryPath>
<max_isometric_force>100</max_isometric_force><optimal_fiber_length>0.1</optimal_fiber_length><tendon_slack_length>0.2</tendon_slack_length>
<minimum_activation>0.02</minimum_activation><Af>0.25</Af>
</Thelen2003Muscle>
</objects></ForceSet>
</Model>
</OpenSimDocument>
"#,
        axis("rotation1", "swing", "0 0 1", linear),
        axis("rotation2", "", "0 1 0", zero),
        axis("rotation3", "", "1 0 0", zero),
        axis("translation1", "", "1 0 0", zero),
        axis("translation2", "", "0 1 0", zero),
        axis("translation3", "", "0 0 1", zero),
    )
}

#[test]
fn a_child_offset_becomes_an_anchor_and_a_turned_axis() {
    let text = pendulum("0.02 0.03 0", "0 0 0.5", "", "", ("link", "m"));
    let imported = import_osim("p.osim", &text).unwrap();
    let t = &imported.text;
    // rotation = R_p·R_cᵀ = Rz(0.3 − 0.5); at = t_p − R·t_c; axis = R_c·z = z; anchor = t_c.
    let j = &imported.model.joints[0].mnet;
    assert!(
        (j.rotation[2] + 0.2).abs() < 1e-15 && j.rotation[0] == 0.0,
        "{:?}",
        j.rotation
    );
    let (c, s) = ((-0.2f64).cos(), (-0.2f64).sin());
    let at = [-(c * 0.02 - s * 0.03), 1.0 - (s * 0.02 + c * 0.03), 0.0];
    for k in 0..3 {
        assert!((j.at[k] - at[k]).abs() < 1e-15, "{:?} {at:?}", j.at);
    }
    assert!(t.contains("anchor (0.02, 0.03, 0) m;"), "{t}");
    assert!(t.contains("joint swing: world -> link {"));
    assert!(t.contains("range -1 rad .. 2 rad;"));
    assert!(t.contains("default 0.2 rad"));
    assert!(t.contains("min_activation 0.02;"));
    assert!(t.contains("Af 0.25: the force-velocity shape is fixed at 0.25 here"));
    // The endpoint is the leaf body's origin (no marker).
    assert!(t.contains("endpoint link (0, 0, 0) m;"));
    let (model, diags) = motornet::dsl::parse::parse(t);
    assert!(model.is_some() && diags.is_empty(), "{diags:?}");
}

#[test]
fn names_are_made_valid_and_collisions_refused() {
    let text = pendulum("0 0 0", "0 0 0", "", "", ("my-link", "m"));
    let imported = import_osim("p.osim", &text).unwrap();
    assert!(
        imported.text.contains("body my_link {"),
        "{}",
        imported.text
    );
    assert!(imported.text.contains("// OpenSim body `my-link`"));
    // A muscle named like the coordinate collides in the .mnet namespace.
    let text = pendulum("0 0 0", "0 0 0", "", "", ("link", "swing"));
    let err = import_err(&text);
    assert!(
        err.contains("the name `swing` is used by a joint or coordinate and a muscle"),
        "{err}"
    );
}

#[test]
fn wrap_objects_of_every_supported_kind() {
    let sphere = r#"<WrapSphere name="ball"><active>true</active><xyz_body_rotation>0 0 0</xyz_body_rotation><translation>0.15 0 0</translation><quadrant>+y</quadrant><radius>0.01</radius></WrapSphere>"#;
    let pw = r#"<PathWrap name="pw"><wrap_object>ball</wrap_object><method>hybrid</method><range>-1 -1</range></PathWrap>"#;
    let imported = import_osim(
        "p.osim",
        &pendulum("0 0 0", "0 0 0", sphere, pw, ("link", "m")),
    )
    .unwrap();
    let t = &imported.text;
    assert!(
        t.contains("obstacle ball: sphere { body link; at (0.15, 0, 0) m; radius 0.01 m; }"),
        "{t}"
    );
    assert!(t.contains("-> wrap ball side (0.15, 0.02, 0) m"), "{t}");
    // An inactive object is not written, and its PathWrap is dropped with the reason.
    let inactive = sphere.replace("<active>true</active>", "<active>false</active>");
    let imported = import_osim(
        "p.osim",
        &pendulum("0 0 0", "0 0 0", &inactive, pw, ("link", "m")),
    )
    .unwrap();
    assert!(imported
        .text
        .contains("is inactive in the source and is not written"));
    assert!(imported
        .text
        .contains("dropped: wrap object `ball` is inactive"));
    assert!(!imported.text.contains("-> wrap ball"));
    // A PathWrap naming no wrap object, and a quadrant of no axis, are refused.
    let err = import_err(&pendulum(
        "0 0 0",
        "0 0 0",
        &sphere.replace("+y", "w"),
        &pw.replace(">ball<", ">bone<"),
        ("link", "m"),
    ));
    assert!(err.contains("`bone` names no wrap object"), "{err}");
    assert!(err.contains("unknown quadrant `w`"), "{err}");
}

// ------------------------------------------------------------------------------------------------------
// verify: OpenSim references
// ------------------------------------------------------------------------------------------------------

/// A planar stand-in for `pendulum` (same names, same geometry in the z = 0 plane) that the planar
/// compiler runs: the comparison is checked with it through `--model`.
const PLANAR: &str = r#"model pendulum {
  body link { mass 1.5 kg; com (0.1, 0) m; inertia 0.03 kg m^2; }
  joint swing: world -> link { at (0, 1) m; }
  muscle m: RigidTendonHillMuscleThelen {
    max_force 100 N; optimal_length 0.1 m; tendon_length 0.2 m;
    path world (0.05, 1.0) m -> link (0.3, 0.02) m;
  }
}
"#;

/// A reference in the schema of `opensim/arm26_paths.json` for `pendulum`, with lengths and −dL/dq
/// taken from the planar stand-in itself.
fn pendulum_reference(osim: &str) -> Value {
    let (plant, _) =
        motornet::models::load_source(PLANAR, "planar.mnet", motornet::models::Choice::Interpreted)
            .unwrap();
    let info = plant.info().clone();
    let geo = info.geometry().start;
    let mut ws = plant.workspace();
    let mut state = vec![0.0; info.state_dim()];
    let mut samples = Vec::new();
    for q in [-0.5, 0.0, 0.7, 1.4] {
        plant.reset(&mut ws, &[q, 0.0], &mut state).unwrap();
        let (l, d) = (state[geo], state[geo + 2]);
        samples.push(json!({
            "q": [q], "length": [l], "moment_arm": [[-d]], "neg_dL_dq": [[-d]],
            "fd_step_disagreement": [1e-11], "path_point_count": [2], "active_wraps": [[]],
            "path": [[{"name": "p1", "kind": "PathPoint", "frame": "ground", "ground": [0.05, 1.0, 0.0]},
                      {"name": "p2", "kind": "PathPoint", "frame": "link", "ground": [0.0, 0.0, 0.0]}]],
            "margin_to_irregularity": [10.0]
        }));
    }
    json!({
        "source": "test", "model_file": "opensim/p.osim", "model_sha256": sha256_hex(osim.as_bytes()),
        "coordinates": [{"name": "swing", "range": [-1.0, 2.0]}], "muscles": ["m"],
        "muscle_uses_ellipsoid_wrap": {"m": false}, "grid": {"swing": [-0.5, 0.0, 0.7, 1.4]},
        "samples": samples
    })
}

/// Writes `reference` as `DIR/opensim/NAME.json` beside `DIR/opensim/p.osim`; returns its path.
fn write_reference(dir: &Path, name: &str, osim: &str, reference: &Value) -> PathBuf {
    let sub = dir.join("opensim");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(sub.join("p.osim"), osim).unwrap();
    std::fs::write(dir.join("planar.mnet"), PLANAR).unwrap();
    let p = sub.join(format!("{name}.json"));
    std::fs::write(&p, serde_json::to_string(reference).unwrap()).unwrap();
    p
}

#[test]
fn verify_compares_lengths_moment_arms_and_wrap_states() {
    let dir = temp_dir("verify");
    let osim = pendulum("0 0 0", "0 0.0 0", "", "", ("link", "m")).replace(
        "<orientation>0 0 0.3</orientation>",
        "<orientation>0 0 0</orientation>",
    );
    let reference = pendulum_reference(&osim);
    let planar = dir.join("planar.mnet");
    let path = write_reference(&dir, "good", &osim, &reference);
    let (ok, out) = run(&[
        "verify",
        path.to_str().unwrap(),
        "--model",
        planar.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    for field in [
        "m length (unwrapped)",
        "m dL/dq (unwrapped)",
        "m wrap state",
    ] {
        assert!(out.contains(field), "{field}:\n{out}");
    }
    // One length moved by 1e-8 m fails the unwrapped tolerance (1e-9), at that posture.
    let mut moved = reference.clone();
    let l = moved["samples"][2]["length"][0].as_f64().unwrap();
    moved["samples"][2]["length"][0] = json!(l + 1e-8);
    let path = write_reference(&dir, "moved", &osim, &moved);
    let (ok, out) = run(&[
        "verify",
        path.to_str().unwrap(),
        "--model",
        planar.to_str().unwrap(),
    ]);
    assert!(!ok, "{out}");
    let line = out
        .lines()
        .find(|l| l.contains("m length (unwrapped)"))
        .unwrap();
    assert!(
        line.contains("FAIL") && line.contains("swing 0.7"),
        "{line}"
    );
    // OpenSim says wrapped where our path is straight: the wrap state fails (the sphere is carried).
    let sphere = r#"<WrapSphere name="ball"><translation>0.15 0 0</translation><quadrant>all</quadrant><radius>0.001</radius></WrapSphere>"#;
    let pw =
        r#"<PathWrap name="pw"><wrap_object>ball</wrap_object><range>-1 -1</range></PathWrap>"#;
    let osim2 = pendulum("0 0 0", "0 0 0", sphere, pw, ("link", "m")).replace(
        "<orientation>0 0 0.3</orientation>",
        "<orientation>0 0 0</orientation>",
    );
    let mut wrapped = pendulum_reference(&osim2);
    wrapped["samples"][1]["active_wraps"][0] =
        json!([{"wrap_object": "ball", "surface_length": 0.001}]);
    let path = write_reference(&dir, "wrapped", &osim2, &wrapped);
    let (ok, out) = run(&[
        "verify",
        path.to_str().unwrap(),
        "--model",
        planar.to_str().unwrap(),
    ]);
    assert!(!ok, "{out}");
    let line = out.lines().find(|l| l.contains("m wrap state")).unwrap();
    assert!(
        line.contains("FAIL") && line.contains("ours straight, OpenSim wrapped"),
        "{line}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn corrupted_opensim_references_are_refused_by_field() {
    let dir = temp_dir("corrupt");
    let osim = pendulum("0 0 0", "0 0 0", "", "", ("link", "m"));
    let good = pendulum_reference(&osim);
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation, &str)> = vec![
        (
            "sha",
            Box::new(|v| v["model_sha256"] = json!("0".repeat(64))),
            "`model_sha256`",
        ),
        (
            "shape",
            Box::new(|v| v["samples"][1]["neg_dL_dq"] = json!([[0.1, 0.2]])),
            "`samples[1].neg_dL_dq`",
        ),
        (
            "nan",
            Box::new(|v| v["samples"][0]["length"] = json!(["x"])),
            "`samples[0].length`",
        ),
        (
            "unknown",
            Box::new(|v| v["samples"][0]["extra"] = json!(1)),
            "`samples[0].extra`",
        ),
        (
            "missing",
            Box::new(|v| {
                v.as_object_mut()
                    .unwrap()
                    .remove("muscle_uses_ellipsoid_wrap");
            }),
            "`muscle_uses_ellipsoid_wrap`",
        ),
        (
            "ellipsoid",
            Box::new(|v| v["muscle_uses_ellipsoid_wrap"] = json!({"m": 1})),
            "`muscle_uses_ellipsoid_wrap`",
        ),
        (
            "wraps",
            Box::new(|v| v["samples"][3]["active_wraps"] = json!([[{"wrap_object": 3}]])),
            "`samples[3].active_wraps`",
        ),
        (
            "points",
            Box::new(|v| v["samples"][2]["path_point_count"] = json!([1])),
            "`samples[2].path_point_count`",
        ),
        (
            "path",
            Box::new(|v| v["samples"][2]["path"][0][1]["ground"] = json!([0.0, 1.0])),
            "`samples[2].path[0][1].ground`",
        ),
        (
            "coord",
            Box::new(|v| v["coordinates"][0]["name"] = json!("elbow")),
            "no coordinate `elbow`",
        ),
        (
            "file",
            Box::new(|v| v["model_file"] = json!("opensim/nowhere.osim")),
            "`model_file`",
        ),
    ];
    let planar = dir.join("planar.mnet");
    for (name, mutate, want) in cases {
        let mut v = good.clone();
        mutate(&mut v);
        let path = write_reference(&dir, name, &osim, &v);
        let (ok, out) = run(&[
            "verify",
            path.to_str().unwrap(),
            "--model",
            planar.to_str().unwrap(),
        ]);
        assert!(!ok, "{name}: passed:\n{out}");
        assert!(
            out.contains(want) && out.contains(&format!("{name}.json")),
            "{name}: {want}:\n{out}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

fn arm26_paths() -> Value {
    let text =
        std::fs::read_to_string(root().join("tests/reference/opensim/arm26_paths.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The importer's kinematics (the joints as written: `at`, `axis`) put every path point where OpenSim does
/// at every posture of the reference, and the straight paths of BICshort have OpenSim's length and
/// −dL/dq (central differences of the same kinematics) — the skeleton and the via points are carried
/// exactly, independently of the compiler.
#[test]
fn imported_kinematics_match_opensim() {
    let imported = import_osim("arm26.osim", &arm26_osim()).unwrap();
    let model = &imported.model;
    let reference = arm26_paths();
    let muscles: Vec<&str> = reference["muscles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    let mut worst_point = 0.0f64;
    let mut compared = 0;
    for s in reference["samples"].as_array().unwrap() {
        let q: Vec<f64> = s["q"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        for (k, name) in muscles.iter().enumerate() {
            let mi = model.muscles.iter().position(|m| m.name == *name).unwrap();
            let ours = motornet::import::path_points(model, mi, &q);
            for p in s["path"][k].as_array().unwrap() {
                if p["kind"] != "PathPoint" {
                    continue;
                }
                let j = model.muscles[mi]
                    .points
                    .iter()
                    .position(|x| x.name == p["name"].as_str().unwrap())
                    .unwrap();
                for c in 0..3 {
                    let d = (ours[j][c] - p["ground"][c].as_f64().unwrap()).abs();
                    worst_point = worst_point.max(d);
                }
                compared += 1;
            }
            if *name == "BICshort" {
                let len = |q: &[f64]| -> f64 {
                    let pts = motornet::import::path_points(model, mi, q);
                    pts.windows(2).map(|w| (w[1] - w[0]).norm()).sum()
                };
                let l = len(&q);
                assert!(
                    (l - s["length"][k].as_f64().unwrap()).abs() < 1e-9,
                    "{q:?}: {l}"
                );
                for c in 0..2 {
                    let h = 1e-6;
                    let (mut qp, mut qm) = (q.clone(), q.clone());
                    qp[c] += h;
                    qm[c] -= h;
                    let d = (len(&qp) - len(&qm)) / (2.0 * h);
                    let theirs = -s["neg_dL_dq"][k][c].as_f64().unwrap();
                    assert!((d - theirs).abs() < 1e-8, "{q:?} d/dq{c}: {d} vs {theirs}");
                }
            }
        }
    }
    assert!(compared > 2000, "{compared}");
    assert!(worst_point < 1e-12, "path points off by {worst_point:e} m");
}

/// The OpenSim reference against the imported arm26 (compiled by the JIT), at README.3d.md's tolerances:
/// every muscle passes every field, TRIlong's length, wrap state and dL/dq included (its first segment
/// chains the glenoid cylinder and the humeral head, in two passes as OpenSim iterates them; docs/import.md,
/// "Measured on Arm26").
#[test]
fn arm26_paths_reference() {
    let reference = root().join("tests/reference/opensim/arm26_paths.json");
    let (_, out) = run(&["verify", reference.to_str().unwrap()]);
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("arm26_paths.json"))
        .collect();
    for muscle in ["TRIlong", "TRIlat", "TRImed", "BIClong", "BICshort", "BRA"] {
        for field in ["length", "dL/dq", "wrap state"] {
            assert!(
                lines
                    .iter()
                    .any(|l| l.contains(&format!(" {muscle} {field}"))),
                "{muscle} {field}: not compared\n{out}"
            );
        }
    }
    assert!(
        lines.iter().any(|l| l.contains(" TRIlong dL/dq sign")),
        "{out}"
    );
    for l in &lines {
        assert!(l.contains(" ok "), "{l}\n{out}");
    }
    assert!(out.contains(" 0 failures"), "{out}");
}

/// Bounded mutation fuzzing: arm26 with bytes cut, duplicated or replaced, and numbers made extreme, is
/// imported or refused, never a panic.
#[test]
fn mutated_files_never_panic() {
    let src = arm26_osim();
    let bytes = src.as_bytes();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: usize| -> usize {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let extremes = [
        "1e308",
        "-1e308",
        "0",
        "-0",
        "1e-320",
        "nan",
        "inf",
        "",
        "1 2 3 4 5 6 7",
    ];
    let (mut imported, mut refused) = (0, 0);
    for _ in 0..300 {
        let mut text = bytes.to_vec();
        match next(4) {
            0 => {
                let a = next(text.len());
                let b = (a + 1 + next(200)).min(text.len());
                text.drain(a..b);
            }
            1 => {
                let a = next(text.len());
                let b = (a + 1 + next(200)).min(text.len());
                let piece = text[a..b].to_vec();
                let at = next(text.len());
                text.splice(at..at, piece);
            }
            2 => {
                let at = next(text.len());
                text[at] = b"<>/\"= 0-x"[next(9)];
            }
            _ => {
                // A number between tags replaced by an extreme value.
                let s = String::from_utf8_lossy(&text).into_owned();
                let starts: Vec<usize> = s.match_indices('>').map(|(i, _)| i + 1).collect();
                let at = starts[next(starts.len())];
                if let Some(end) = s[at..].find('<') {
                    let mut t = s.clone();
                    t.replace_range(at..at + end, extremes[next(extremes.len())]);
                    text = t.into_bytes();
                }
            }
        }
        let text = String::from_utf8_lossy(&text);
        match import_osim("m.osim", &text) {
            Ok(_) => imported += 1,
            Err(e) => {
                assert!(e.to_string().contains("m.osim"), "{e}");
                refused += 1;
            }
        }
    }
    assert!(
        imported > 0 && refused > 0,
        "{imported} imported, {refused} refused"
    );
}
