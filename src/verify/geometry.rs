//! Path-geometry references (MuJoCo's wrapped tendons): lengths and moment arms over a grid of postures.

use super::*;

/// Tolerance of path-geometry comparisons (absolute, metres and metres per radian).
pub const GEOMETRY_TOLERANCE: f64 = 1e-9;

pub(super) const GEOMETRY_FIELDS: &[&str] =
    &["elbow_cyl_radius", "tendons", "samples", "joint_names"];
pub(super) const GEOMETRY_INFO: &[(&str, Info)] = &[
    ("source", Info::Text),
    ("moment_arm_definition", Info::Text),
    ("xml", Info::Text),
    // mujoco3d/: the generator's description of the arm and its grid (the model says the same).
    ("variant", Info::Text),
    ("description", Info::Text),
    ("wrap_rule", Info::Text),
    ("grid", Info::ListOrNull),
    ("geometry", Info::Object),
];
pub(super) const SAMPLE_FIELDS: &[&str] = &[
    "q",
    "length",
    "moment_arm",
    "wrapped",
    // mujoco3d/: which wraps are active and the path's points (not compared: the plant reports lengths).
    "wrap_on",
    "path_points",
];

pub(super) struct Sample {
    pub(super) q: Vec<f64>,
    pub(super) lengths: Vec<f64>,
    pub(super) arms: Vec<f64>,
}

pub(super) struct GeometryRef {
    /// `wrap_elbow`'s cylinder radius, which the reference sets.
    pub(super) radius: Option<f64>,
    pub(super) tendons: Vec<String>,
    pub(super) joint_names: Option<Vec<String>>,
    pub(super) dof: usize,
    pub(super) samples: Vec<Sample>,
}

pub(super) fn read_geometry(doc: &Doc) -> Result<GeometryRef, Error> {
    doc.only(&with_info(GEOMETRY_FIELDS, GEOMETRY_INFO))?;
    doc.info(GEOMETRY_INFO)?;
    let radius = doc
        .obj
        .contains_key("elbow_cyl_radius")
        .then(|| doc.positive("elbow_cyl_radius"))
        .transpose()?;
    let tendons = doc.strings("tendons", None)?;
    let joint_names = doc
        .obj
        .contains_key("joint_names")
        .then(|| doc.strings("joint_names", None))
        .transpose()?;
    let k = Some(tendons.len());
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
    let mut dof = None;
    let mut samples = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Value::Object(obj) = item else {
            return Err(doc.err(
                "samples",
                format!(
                    "[{i}]: expected an object {{q, length, moment_arm, wrapped}}, found {}",
                    describe(item)
                ),
            ));
        };
        let s = Doc {
            file: doc.file,
            prefix: format!("samples[{i}]."),
            obj,
        };
        s.only(SAMPLE_FIELDS)?;
        s.info(&[("wrap_on", Info::List), ("path_points", Info::List)])?;
        let (q, shape) = s.array("q", "one angle per joint", &[dof])?;
        if shape[0] == 0 {
            return Err(s.err(
                "q",
                "expected at least one joint angle, found an empty list",
            ));
        }
        dof = Some(shape[0]);
        let (lengths, _) = s.array("length", "one length per tendon", &[k])?;
        let (arms, _) = s.array("moment_arm", "tendons × joints", &[k, dof])?;
        let wrapped = s.get("wrapped")?;
        let ok = wrapped
            .as_array()
            .is_some_and(|w| Some(w.len()) == k && w.iter().all(Value::is_u64));
        if !ok {
            return Err(s.err(
                "wrapped",
                format!(
                    "expected one whole number per tendon ({}), found {}",
                    tendons.len(),
                    describe(wrapped)
                ),
            ));
        }
        samples.push(Sample { q, lengths, arms });
    }
    if let (Some(names), Some(d)) = (&joint_names, dof) {
        if names.len() != d {
            return Err(doc.err(
                "joint_names",
                format!(
                    "{} names, but the samples have {d} joint angles",
                    names.len()
                ),
            ));
        }
    }
    Ok(GeometryRef {
        radius,
        tendons,
        joint_names,
        dof: dof.unwrap_or(0),
        samples,
    })
}

/// Reruns a path-geometry reference (MuJoCo's `wrap_elbow`): at every sampled posture, the musculotendon
/// length and every moment arm dL/dq of each named muscle.
pub fn verify_geometry<P: Plant>(plant: P, reference: &Value) -> Result<Vec<FieldError>, Error> {
    let r = read_geometry(&top("reference", reference)?)?;
    run_geometry("reference", plant, &r)
}

pub(super) fn run_geometry<P: Plant>(
    file: &str,
    plant: P,
    r: &GeometryRef,
) -> Result<Vec<FieldError>, Error> {
    let info = plant.info().clone();
    let index: Vec<usize> = r
        .tendons
        .iter()
        .map(|n| {
            info.muscle_names
                .iter()
                .position(|m| m == n)
                .ok_or_else(|| {
                    Error::Input(format!(
                        "{file}: `tendons`: the model has no muscle `{}` (muscles: {})",
                        short(n),
                        info.muscle_names.join(", ")
                    ))
                })
        })
        .collect::<Result<_, _>>()?;
    let (dof, nm, s) = (info.dof(), info.n_muscles(), info.state_dim());
    if r.dof != dof {
        return Err(model_mismatch(file, "samples[0].q", r.dof, dof, "joints"));
    }
    if let Some(names) = &r.joint_names {
        if let Some(i) = (0..dof).find(|&i| names[i] != info.coord_names[i]) {
            return Err(Error::Input(format!(
                "{file}: `joint_names`: coordinate {i} is `{}` in the reference but `{}` in the model",
                short(&names[i]),
                info.coord_names[i]
            )));
        }
    }
    let geo = info.geometry().start;
    let mut ws = plant.workspace();
    let mut state = vec![0.0; s];
    let mut worst: Vec<FieldError> = ["length", "moment arm"]
        .iter()
        .map(|f| FieldError {
            field: f.to_string(),
            count: 0,
            max_scaled: 0.0,
            max_abs: 0.0,
            worst_at: String::new(),
            tolerance: GEOMETRY_TOLERANCE,
        })
        .collect();
    for sample in &r.samples {
        let q = &sample.q;
        let joint: Vec<f64> = q
            .iter()
            .copied()
            .chain(std::iter::repeat_n(0.0, dof))
            .collect();
        plant.reset(&mut ws, &joint, &mut state)?;
        for (k, &m) in index.iter().enumerate() {
            let compare = |w: &mut FieldError, ours: f64, theirs: f64, what: String| {
                let abs = (ours - theirs).abs();
                let abs = if abs.is_nan() { f64::INFINITY } else { abs };
                w.count += 1;
                if abs > w.max_abs || w.worst_at.is_empty() {
                    w.max_abs = abs;
                    w.max_scaled = abs;
                    w.worst_at = what;
                }
            };
            compare(
                &mut worst[0],
                state[geo + m],
                sample.lengths[k],
                format!("q = {q:?}, {}", r.tendons[k]),
            );
            for j in 0..dof {
                let ours = state[geo + (2 + j) * nm + m];
                compare(
                    &mut worst[1],
                    ours,
                    sample.arms[k * dof + j],
                    format!("q = {q:?}, {} d/d{}", r.tendons[k], info.coord_names[j]),
                );
            }
        }
    }
    Ok(worst)
}
