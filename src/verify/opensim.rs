//! OpenSim references (`opensim/arm26_paths.json`): musculotendon lengths and dL/dq of an imported
//! OpenSim model over a grid of postures.
//!
//! The model is the `.osim` the reference names (`model_file`, found under the reference folder's parent,
//! or beside the reference), checked against `model_sha256` and imported in memory (`crate::import`);
//! `--model` runs another plant (e.g. `models/arm26_opensim.mnet`) against the same numbers. At each
//! posture the plant is reset to q (velocities 0) and its geometry rows are read: the length row and the
//! dL/dq rows, compared with −`neg_dL_dq` (OpenSim's central differences; its `computeMomentArm` is not
//! −dL/dq on wrapped paths). Tolerances are README.3d.md's, per muscle and per kind of posture:
//!
//! - no active wrap at that posture (every posture of BICshort): 1e-9 m, 1e-8 m;
//! - wrapped over cylinders only (TRIlat, TRImed, BRA): 1e-4 m, 1e-4 m (our exact geodesic against
//!   OpenSim's WrapCylinder, measured 2.4e-5 m and 5.7e-5 m apart);
//! - wrapped with an ellipsoid in the path (TRIlong, BIClong; `muscle_uses_ellipsoid_wrap`): lengths to
//!   1 cm; moment arms qualitatively — the same sign wherever OpenSim's |dL/dq| is at least 5 mm, and
//!   within 1 cm.
//!
//! The wrap state is compared too: a path of ours is wrapped when its length exceeds the straight
//! polyline through its points (by the importer's own kinematics) by more than 1e-9 m; OpenSim's when
//! `active_wraps` names one of the wrap objects our path carries. Every posture must agree.

use super::*;
use crate::import::{self, osim};

/// Tolerances (m, m/rad) of the kinds of posture.
pub const UNWRAPPED_TOLERANCE: (f64, f64) = (1e-9, 1e-8);
pub const CYLINDER_TOLERANCE: (f64, f64) = (1e-4, 1e-4);
pub const ELLIPSOID_TOLERANCE: (f64, f64) = (1e-2, 1e-2);
/// Below this |dL/dq| (m) the sign of an ellipsoid-wrapped moment arm is not compared.
pub const SIGN_THRESHOLD: f64 = 5e-3;
/// A path is wrapped when it is longer than its straight polyline by more than this (m).
pub const WRAP_EPS: f64 = 1e-9;

pub(super) const OPENSIM_FIELDS: &[&str] = &[
    "model_file",
    "model_sha256",
    "coordinates",
    "muscles",
    "muscle_uses_ellipsoid_wrap",
    "samples",
];
pub(super) const OPENSIM_INFO: &[(&str, Info)] = &[
    ("source", Info::Text),
    ("model_origin", Info::Text),
    ("model_license", Info::Text),
    ("description", Info::Text),
    ("moment_arm_definition", Info::Text),
    ("grid", Info::Object),
    ("importer_features", Info::List),
    ("irregular_intervals", Info::List),
    ("irregular_intervals_note", Info::Text),
    ("reproducibility", Info::Object),
    ("model", Info::Object),
];
pub(super) const OPENSIM_SAMPLE_FIELDS: &[&str] = &[
    "q",
    "length",
    "moment_arm",
    "neg_dL_dq",
    "fd_step_disagreement",
    "path_point_count",
    "active_wraps",
    "path",
    "margin_to_irregularity",
];

pub(super) struct OpenSimSample {
    pub(super) q: Vec<f64>,
    pub(super) length: Vec<f64>,
    /// muscles × coordinates
    pub(super) neg_dl_dq: Vec<f64>,
    /// per muscle, the names of the active wrap objects
    pub(super) active: Vec<Vec<String>>,
}

pub(super) struct OpenSimRef {
    pub(super) model_file: String,
    pub(super) model_sha256: String,
    pub(super) coordinates: Vec<String>,
    pub(super) muscles: Vec<String>,
    pub(super) ellipsoid: Vec<bool>,
    pub(super) samples: Vec<OpenSimSample>,
}

pub(super) fn read_opensim(doc: &Doc) -> Result<OpenSimRef, Error> {
    doc.only(&with_info(OPENSIM_FIELDS, OPENSIM_INFO))?;
    doc.info(OPENSIM_INFO)?;
    let text = |field: &str| -> Result<String, Error> {
        let v = doc.get(field)?;
        match v.as_str() {
            Some(s) if !s.is_empty() => Ok(s.to_string()),
            _ => Err(doc.err(
                field,
                format!("expected a non-empty string, found {}", describe(v)),
            )),
        }
    };
    let model_file = text("model_file")?;
    let model_sha256 = text("model_sha256")?;
    if model_sha256.len() != 64 || !model_sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(doc.err("model_sha256", "expected 64 hexadecimal digits (a SHA-256)"));
    }
    // coordinates: [{name, range: [lo, hi]}]
    let coords = match doc.get("coordinates")? {
        Value::Array(items) if !items.is_empty() => items,
        other => {
            return Err(doc.err(
                "coordinates",
                format!(
                    "expected a non-empty list of {{name, range}}, found {}",
                    describe(other)
                ),
            ))
        }
    };
    let mut coordinates = Vec::new();
    for (i, c) in coords.iter().enumerate() {
        let Value::Object(obj) = c else {
            return Err(doc.err(
                "coordinates",
                format!(
                    "[{i}]: expected an object {{name, range}}, found {}",
                    describe(c)
                ),
            ));
        };
        let d = Doc {
            file: doc.file,
            prefix: format!("coordinates[{i}]."),
            obj,
        };
        d.only(&["name", "range"])?;
        let name = d.get("name")?.as_str().map(str::to_string).ok_or_else(|| {
            d.err(
                "name",
                format!("expected a string, found {}", describe(&obj["name"])),
            )
        })?;
        let (range, _) = d.array("range", "lower and upper bound", &[Some(2)])?;
        if range[1] < range[0] {
            return Err(d.err("range", "the upper bound is below the lower one"));
        }
        coordinates.push(name);
    }
    let muscles = doc.strings("muscles", None)?;
    let (nm, nc) = (Some(muscles.len()), Some(coordinates.len()));
    // muscle_uses_ellipsoid_wrap: {muscle: bool} for exactly the muscles.
    let uses = doc.get("muscle_uses_ellipsoid_wrap")?;
    let Value::Object(map) = uses else {
        return Err(doc.err(
            "muscle_uses_ellipsoid_wrap",
            format!(
                "expected an object {{muscle: true|false}}, found {}",
                describe(uses)
            ),
        ));
    };
    let mut ellipsoid = Vec::new();
    for m in &muscles {
        match map.get(m) {
            Some(Value::Bool(b)) => ellipsoid.push(*b),
            Some(other) => {
                return Err(doc.err(
                    "muscle_uses_ellipsoid_wrap",
                    format!(
                        "`{}`: expected true or false, found {}",
                        short(m),
                        describe(other)
                    ),
                ))
            }
            None => {
                return Err(doc.err(
                    "muscle_uses_ellipsoid_wrap",
                    format!("has no entry for muscle `{}`", short(m)),
                ))
            }
        }
    }
    if let Some(extra) = map.keys().find(|k| !muscles.contains(k)) {
        return Err(doc.err(
            "muscle_uses_ellipsoid_wrap",
            format!("`{}` is not one of `muscles`", short(extra)),
        ));
    }
    let items = match doc.get("samples")? {
        Value::Array(items) if !items.is_empty() => items,
        other => {
            return Err(doc.err(
                "samples",
                format!(
                    "expected a non-empty list of samples, found {}",
                    describe(other)
                ),
            ))
        }
    };
    let mut samples = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Value::Object(obj) = item else {
            return Err(doc.err(
                "samples",
                format!("[{i}]: expected an object, found {}", describe(item)),
            ));
        };
        let s = Doc {
            file: doc.file,
            prefix: format!("samples[{i}]."),
            obj,
        };
        s.only(OPENSIM_SAMPLE_FIELDS)?;
        let (q, _) = s.array("q", "one value per coordinate", &[nc])?;
        let (length, _) = s.array("length", "one length per muscle", &[nm])?;
        if let Some(k) = length.iter().position(|l| *l <= 0.0) {
            return Err(s.err("length", format!("[{k}]: a length must be positive")));
        }
        s.array("moment_arm", "muscles × coordinates", &[nm, nc])?;
        let (neg_dl_dq, _) = s.array("neg_dL_dq", "muscles × coordinates", &[nm, nc])?;
        s.array("fd_step_disagreement", "one number per muscle", &[nm])?;
        s.array("margin_to_irregularity", "one number per muscle", &[nm])?;
        let counts = s.get("path_point_count")?;
        let ok = counts.as_array().is_some_and(|c| {
            Some(c.len()) == nm && c.iter().all(|x| x.as_u64().is_some_and(|n| n >= 2))
        });
        if !ok {
            return Err(s.err(
                "path_point_count",
                format!(
                    "expected one whole number ≥ 2 per muscle ({}), found {}",
                    muscles.len(),
                    describe(counts)
                ),
            ));
        }
        let active = read_active(&s, muscles.len())?;
        check_path(&s, muscles.len())?;
        samples.push(OpenSimSample {
            q,
            length,
            neg_dl_dq,
            active,
        });
    }
    Ok(OpenSimRef {
        model_file,
        model_sha256: model_sha256.to_ascii_lowercase(),
        coordinates,
        muscles,
        ellipsoid,
        samples,
    })
}

/// `active_wraps`: per muscle, a list of {wrap_object, surface_length ≥ 0}.
fn read_active(s: &Doc, nm: usize) -> Result<Vec<Vec<String>>, Error> {
    let v = s.get("active_wraps")?;
    let fail = |msg: String| s.err("active_wraps", msg);
    let Some(per_muscle) = v.as_array().filter(|a| a.len() == nm) else {
        return Err(fail(format!(
            "expected one list per muscle ({nm}), found {}",
            describe(v)
        )));
    };
    let mut out = Vec::with_capacity(nm);
    for (m, list) in per_muscle.iter().enumerate() {
        let Some(list) = list.as_array() else {
            return Err(fail(format!(
                "[{m}]: expected a list, found {}",
                describe(list)
            )));
        };
        let mut names = Vec::new();
        for (k, w) in list.iter().enumerate() {
            let obj = w.as_object().ok_or_else(|| {
                fail(format!(
                    "[{m}][{k}]: expected {{wrap_object, surface_length}}, found {}",
                    describe(w)
                ))
            })?;
            if let Some(key) = obj
                .keys()
                .find(|k| !["wrap_object", "surface_length"].contains(&k.as_str()))
            {
                return Err(fail(format!("[{m}][{k}]: unknown field `{}`", short(key))));
            }
            let name = obj
                .get("wrap_object")
                .and_then(Value::as_str)
                .ok_or_else(|| fail(format!("[{m}][{k}].wrap_object: expected a string")))?;
            let len = obj.get("surface_length").and_then(Value::as_f64);
            if !len.is_some_and(|l| l.is_finite() && l >= 0.0) {
                return Err(fail(format!(
                    "[{m}][{k}].surface_length: expected a number ≥ 0"
                )));
            }
            names.push(name.to_string());
        }
        out.push(names);
    }
    Ok(out)
}

/// `path`: per muscle, a list of at least two {name, kind, frame, ground: [x, y, z]}.
fn check_path(s: &Doc, nm: usize) -> Result<(), Error> {
    let v = s.get("path")?;
    let fail = |msg: String| s.err("path", msg);
    let Some(per_muscle) = v.as_array().filter(|a| a.len() == nm) else {
        return Err(fail(format!(
            "expected one list per muscle ({nm}), found {}",
            describe(v)
        )));
    };
    for (m, list) in per_muscle.iter().enumerate() {
        let Some(list) = list.as_array().filter(|l| l.len() >= 2) else {
            return Err(fail(format!(
                "[{m}]: expected a list of at least two points, found {}",
                describe(list)
            )));
        };
        for (k, p) in list.iter().enumerate() {
            let Some(obj) = p.as_object() else {
                return Err(fail(format!(
                    "[{m}][{k}]: expected {{name, kind, frame, ground}}, found {}",
                    describe(p)
                )));
            };
            let d = Doc {
                file: s.file,
                prefix: format!("{}path[{m}][{k}].", s.prefix),
                obj,
            };
            d.only(&["name", "kind", "frame", "ground"])?;
            for f in ["name", "kind", "frame"] {
                if !d.get(f)?.is_string() {
                    return Err(d.err(f, "expected a string"));
                }
            }
            d.array("ground", "a point", &[Some(3)])?;
        }
    }
    Ok(())
}

/// The `.osim` a reference names: under the parent of the reference's folder (the reference root), or
/// beside the reference.
fn find_model(file: &str, dir: Option<&Path>, r: &OpenSimRef) -> Result<std::path::PathBuf, Error> {
    let Some(dir) = dir else {
        return Err(Error::Input(format!(
            "{file}: the reference names its model `{}`, which is looked for next to the reference file; verify the file by its path",
            short(&r.model_file)
        )));
    };
    let rel = Path::new(&r.model_file);
    let mut tried = Vec::new();
    let mut candidates = Vec::new();
    if let Some(root) = dir.parent() {
        candidates.push(root.join(rel));
    }
    if let Some(name) = rel.file_name() {
        candidates.push(dir.join(name));
    }
    for c in candidates {
        if c.is_file() {
            return Ok(c);
        }
        tried.push(c.display().to_string());
    }
    Err(Error::Input(format!(
        "{file}: `model_file`: `{}` not found (looked for {})",
        short(&r.model_file),
        tried.join(", ")
    )))
}

/// Reads, imports and checks the reference's model; returns the import and its file name.
pub(super) fn import_reference_model(
    file: &str,
    dir: Option<&Path>,
    r: &OpenSimRef,
) -> Result<(import::Imported, String), Error> {
    let path = find_model(file, dir, r)?;
    let bytes = crate::input::read_bytes(&path, "OpenSim model", crate::input::MAX_MODEL_BYTES)?;
    let digest = import::sha256_hex(&bytes);
    if digest != r.model_sha256 {
        return Err(Error::Input(format!(
            "{file}: `model_sha256`: {} has SHA-256 {digest}, not the reference's {}: the numbers are not of this model",
            path.display(),
            r.model_sha256
        )));
    }
    let imported = import::import_file(&path)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok((imported, name))
}

/// Which tolerance a (muscle, posture) gets.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Unwrapped,
    Cylinder,
    Ellipsoid,
}

impl Class {
    fn label(self) -> &'static str {
        match self {
            Class::Unwrapped => "unwrapped",
            Class::Cylinder => "cylinder",
            Class::Ellipsoid => "ellipsoid",
        }
    }
    fn tolerance(self) -> (f64, f64) {
        match self {
            Class::Unwrapped => UNWRAPPED_TOLERANCE,
            Class::Cylinder => CYLINDER_TOLERANCE,
            Class::Ellipsoid => ELLIPSOID_TOLERANCE,
        }
    }
}

/// Field errors in the order they are first met, by name.
struct Fields(Vec<FieldError>);

impl Fields {
    /// Adds one compared element; a `count` field adds up its values (disagreements) instead of keeping
    /// the largest, and is located at the first one.
    fn add(&mut self, field: String, tolerance: f64, abs: f64, at: impl FnOnce() -> String) {
        self.push(field, tolerance, abs, false, at)
    }

    fn count(&mut self, field: String, disagrees: bool, at: impl FnOnce() -> String) {
        self.push(field, 0.0, if disagrees { 1.0 } else { 0.0 }, true, at)
    }

    fn push(
        &mut self,
        field: String,
        tolerance: f64,
        abs: f64,
        count: bool,
        at: impl FnOnce() -> String,
    ) {
        let abs = if abs.is_nan() { f64::INFINITY } else { abs };
        let i = match self.0.iter().position(|f| f.field == field) {
            Some(i) => i,
            None => {
                self.0.push(FieldError {
                    field,
                    count: 0,
                    max_scaled: 0.0,
                    max_abs: 0.0,
                    worst_at: String::new(),
                    tolerance,
                });
                self.0.len() - 1
            }
        };
        let f = &mut self.0[i];
        f.count += 1;
        if count {
            if abs > 0.0 && f.max_abs == 0.0 {
                f.worst_at = at();
            }
            f.max_abs += abs;
            f.max_scaled = f.max_abs;
            return;
        }
        if abs > f.max_abs || f.worst_at.is_empty() {
            f.max_abs = abs;
            f.max_scaled = abs;
            f.worst_at = at();
        }
    }
}

/// Compares the plant with the reference at every posture (see the module's documentation).
pub(super) fn run_opensim<P: Plant + ?Sized>(
    file: &str,
    plant: &P,
    r: &OpenSimRef,
    imported: &osim::Model,
) -> Result<Vec<FieldError>, Error> {
    let info = plant.info().clone();
    let (dof, nm) = (info.dof(), info.n_muscles());
    // The plant's index of each reference coordinate and muscle, by name.
    let coord: Vec<usize> = r
        .coordinates
        .iter()
        .map(|c| {
            info.coord_names.iter().position(|n| n == c).ok_or_else(|| {
                Error::Input(format!(
                    "{file}: `coordinates`: the model has no coordinate `{}` (coordinates: {})",
                    short(c),
                    info.coord_names.join(", ")
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    if dof != r.coordinates.len() {
        return Err(model_mismatch(
            file,
            "coordinates",
            r.coordinates.len(),
            dof,
            "coordinates",
        ));
    }
    let muscle: Vec<usize> = r
        .muscles
        .iter()
        .map(|m| {
            info.muscle_names
                .iter()
                .position(|n| n == m)
                .ok_or_else(|| {
                    Error::Input(format!(
                        "{file}: `muscles`: the model has no muscle `{}` (muscles: {})",
                        short(m),
                        info.muscle_names.join(", ")
                    ))
                })
        })
        .collect::<Result<_, _>>()?;
    // The imported model's muscles and coordinates (for the straight polylines and the wrap objects each
    // path carries), by the same names.
    let imp_muscle: Vec<usize> = r
        .muscles
        .iter()
        .map(|m| {
            imported
                .muscles
                .iter()
                .position(|x| &x.name == m)
                .ok_or_else(|| {
                    Error::Input(format!(
                        "{file}: `muscles`: the .osim has no muscle `{}`",
                        short(m)
                    ))
                })
        })
        .collect::<Result<_, _>>()?;
    let imp_coords: Vec<String> = imported
        .joints
        .iter()
        .filter_map(|j| match &j.kind {
            osim::JointKind::Hinge { coord, .. } => Some(coord.name.clone()),
            osim::JointKind::Weld => None,
        })
        .collect();
    let imp_coord: Vec<usize> = imp_coords
        .iter()
        .map(|c| {
            r.coordinates.iter().position(|x| x == c).ok_or_else(|| {
                Error::Input(format!(
                    "{file}: `coordinates`: has no `{}`, a coordinate of the .osim",
                    short(c)
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    let carried: Vec<Vec<String>> = imp_muscle
        .iter()
        .map(|&k| import::carried_wraps(imported, &imported.muscles[k]))
        .collect();
    let geo = info.geometry().start;
    let mut ws = plant.workspace();
    let mut state = vec![0.0; info.state_dim()];
    let mut fields = Fields(Vec::new());
    for s in &r.samples {
        let mut joint = vec![0.0; 2 * dof];
        for (k, &c) in coord.iter().enumerate() {
            joint[c] = s.q[k];
        }
        plant.reset(&mut ws, &joint, &mut state)?;
        let q_imp: Vec<f64> = imp_coord.iter().map(|&k| s.q[k]).collect();
        let qs = || {
            let parts: Vec<String> = r
                .coordinates
                .iter()
                .zip(&s.q)
                .map(|(c, v)| format!("{c} {v}"))
                .collect();
            parts.join(", ")
        };
        for (k, name) in r.muscles.iter().enumerate() {
            let m = muscle[k];
            let wrapped_ref = s.active[k].iter().any(|w| carried[k].contains(w));
            let class = if s.active[k].is_empty() {
                Class::Unwrapped
            } else if r.ellipsoid[k] {
                Class::Ellipsoid
            } else {
                Class::Cylinder
            };
            let (tl, ta) = class.tolerance();
            let ours = state[geo + m];
            fields.add(
                format!("{name} length ({})", class.label()),
                tl,
                (ours - s.length[k]).abs(),
                || format!("{}: ours {ours:.9}, OpenSim {:.9}", qs(), s.length[k]),
            );
            for (j, cname) in r.coordinates.iter().enumerate() {
                let ours = state[geo + (2 + coord[j]) * nm + m];
                let theirs = -s.neg_dl_dq[k * r.coordinates.len() + j];
                fields.add(
                    format!("{name} dL/dq ({})", class.label()),
                    ta,
                    (ours - theirs).abs(),
                    || format!("{}, d/d{cname}: ours {ours:.6}, OpenSim {theirs:.6}", qs()),
                );
                if class == Class::Ellipsoid && theirs.abs() >= SIGN_THRESHOLD {
                    let flipped = (ours > 0.0) != (theirs > 0.0);
                    fields.count(format!("{name} dL/dq sign"), flipped, || {
                        format!("{}, d/d{cname}: ours {ours:.6}, OpenSim {theirs:.6}", qs())
                    });
                }
            }
            // Wrap state: ours from the length against the straight polyline.
            let points = import::path_points(imported, imp_muscle[k], &q_imp);
            let straight: f64 = points.windows(2).map(|w| (w[1] - w[0]).norm()).sum();
            let wrapped_ours = ours - straight > WRAP_EPS;
            fields.count(
                format!("{name} wrap state"),
                wrapped_ours != wrapped_ref,
                || {
                    format!(
                        "{}: ours {}, OpenSim {} (active: {})",
                        qs(),
                        if wrapped_ours { "wrapped" } else { "straight" },
                        if wrapped_ref { "wrapped" } else { "straight" },
                        if s.active[k].is_empty() {
                            "none".to_string()
                        } else {
                            s.active[k].join(", ")
                        }
                    )
                },
            );
        }
    }
    Ok(fields.0)
}
