//! Trajectory references (MotorNet, the MuJoCo chain): read, rerun and compare every state.

use super::*;

/// Fields of a trajectory reference the comparison uses.
pub(super) const TRAJECTORY_FIELDS: &[&str] = &[
    "dt",
    "steps",
    "batch",
    "n_muscles",
    "dof",
    "initial_joint_state",
    "actions",
    "endpoint_load",
    "joint_load",
    "joint",
    "cartesian",
    "muscle",
    "geometry",
    "muscle_names",
    "muscle_state_names",
    "geometry_state_names",
    "n_ministeps",
    "space_dim",
    "joint_names",
];
/// Informational fields trajectory generators write.
pub(super) const TRAJECTORY_INFO: &[(&str, Info)] = &[
    ("case", Info::Text),
    ("seed", Info::Count),
    ("description", Info::Text),
    ("source", Info::Text),
    ("xml", Info::Text),
    ("motornet_version", Info::Text),
    ("dtype", Info::Text),
    ("integration_method", Info::Text),
    // Kinetic plus potential energy (mujoco3d/): a diagnostic of the generator, not a state.
    ("energy", Info::List),
];
/// The link parameters a chain reference's `geometry` object gives, and the model parameters they set.
pub(super) const LINK_KEYS: [(&str, &str); 4] = [
    ("L", "length"),
    ("m", "mass"),
    ("c", "com.x"),
    ("I", "inertia"),
];

/// A trajectory reference, read and checked on its own (not yet against a model).
pub(super) struct TrajectoryRef {
    pub(super) dt: f64,
    pub(super) steps: usize,
    pub(super) batch: usize,
    pub(super) n_muscles: usize,
    pub(super) dof: usize,
    /// 2 (planar) or 3: the width of the endpoint position, velocity and load.
    pub(super) space_dim: usize,
    pub(super) joint_names: Option<Vec<String>>,
    pub(super) muscle_names: Option<Vec<String>>,
    pub(super) initial_joint_state: Vec<f64>,
    pub(super) actions: Vec<f64>,
    pub(super) endpoint_load: Vec<f64>,
    pub(super) joint_load: Vec<f64>,
    /// Compared parts in order: name, values (batch × (steps+1) × per-step), per-step values.
    pub(super) parts: Vec<(&'static str, Vec<f64>, usize)>,
    /// Link parameters from a `geometry` object.
    pub(super) links: Vec<(String, f64)>,
}

pub(super) fn with_info<'a>(known: &[&'a str], info: &[(&'a str, Info)]) -> Vec<&'a str> {
    known
        .iter()
        .copied()
        .chain(info.iter().map(|p| p.0))
        .collect()
}

pub(super) fn read_trajectory(doc: &Doc) -> Result<TrajectoryRef, Error> {
    doc.only(&with_info(TRAJECTORY_FIELDS, TRAJECTORY_INFO))?;
    doc.info(TRAJECTORY_INFO)?;
    let dt = doc.positive("dt")?;
    let steps = doc.count("steps", 1)?;
    let batch = doc.count("batch", 1)?;
    let n_muscles = doc.count("n_muscles", 0)?;
    let dof = doc.count("dof", 1)?;
    let space_dim = match doc.obj.contains_key("space_dim") {
        true => match doc.count("space_dim", 2)? {
            n @ (2 | 3) => n,
            _ => return Err(doc.err("space_dim", "expected 2 (planar) or 3 (spatial)")),
        },
        false => 2,
    };
    let joint_names = doc
        .obj
        .contains_key("joint_names")
        .then(|| doc.strings("joint_names", Some(dof)))
        .transpose()?;
    if doc.obj.contains_key("n_ministeps") && doc.count("n_ministeps", 0)? != 1 {
        return Err(doc.err(
            "n_ministeps",
            "this version compares one integration step per action (n_ministeps 1)",
        ));
    }
    let muscle_names = doc
        .obj
        .contains_key("muscle_names")
        .then(|| doc.strings("muscle_names", Some(n_muscles)))
        .transpose()?;
    let rows = doc
        .obj
        .contains_key("muscle_state_names")
        .then(|| doc.strings("muscle_state_names", None))
        .transpose()?
        .map(|names| names.len());
    if doc.obj.contains_key("geometry_state_names") {
        doc.strings("geometry_state_names", Some(dof.saturating_add(2)))?;
    }
    let (b, t, m, d) = (Some(batch), Some(steps), Some(n_muscles), Some(dof));
    let t1 = Some(steps.saturating_add(1));
    let jd = Some(dof.saturating_mul(2));
    let (initial_joint_state, _) = doc.array("initial_joint_state", "batch × 2·dof", &[b, jd])?;
    let (actions, _) = doc.array("actions", "batch × steps × n_muscles", &[b, t, m])?;
    let endpoint_load = load(
        doc,
        "endpoint_load",
        &format!("batch × {space_dim}"),
        batch,
        space_dim,
    )?;
    let joint_load = load(doc, "joint_load", "batch × dof", batch, dof)?;
    let mut parts = Vec::new();
    let (joint, _) = doc.array("joint", "batch × (steps+1) × 2·dof", &[b, t1, jd])?;
    parts.push(("joint", joint, 2 * dof));
    if doc.obj.contains_key("cartesian") {
        let width = 2 * space_dim;
        let (v, _) = doc.array(
            "cartesian",
            &format!("batch × (steps+1) × {width}"),
            &[b, t1, Some(width)],
        )?;
        parts.push(("cartesian", v, width));
    }
    if doc.obj.contains_key("muscle") {
        let (v, shape) = doc.array(
            "muscle",
            "batch × (steps+1) × muscle states × n_muscles",
            &[b, t1, rows, m],
        )?;
        parts.push(("muscle", v, shape[2].saturating_mul(n_muscles)));
    }
    let mut links = Vec::new();
    match doc.obj.get("geometry") {
        None => {}
        Some(g @ Value::Array(_)) => {
            let (v, _) = doc.array_value(
                "geometry",
                g,
                "batch × (steps+1) × (2+dof) × n_muscles",
                &[b, t1, Some(dof.saturating_add(2)), m],
            )?;
            parts.push(("geometry", v, (dof + 2).saturating_mul(n_muscles)));
        }
        // A spatial skeleton's description (mujoco3d/): the model says the same in its own language.
        Some(Value::Object(g)) if g.contains_key("bodies") => {}
        Some(Value::Object(g)) => {
            let links_doc = Doc {
                file: doc.file,
                prefix: "geometry.".into(),
                obj: g,
            };
            links_doc.only(&LINK_KEYS.map(|k| k.0))?;
            for (key, prop) in LINK_KEYS {
                let (vals, _) = links_doc.array(key, "one value per link (dof)", &[d])?;
                for (i, x) in vals.into_iter().enumerate() {
                    links.push((format!("link{}.{prop}", i + 1), x));
                }
            }
        }
        Some(other) => {
            return Err(doc.err(
                "geometry",
                format!(
                    "expected the geometry states (batch × (steps+1) × (2+dof) × n_muscles numbers) or \
                     an object of link parameters {{L, m, c, I}}, found {}",
                    describe(other)
                ),
            ))
        }
    }
    Ok(TrajectoryRef {
        dt,
        steps,
        batch,
        n_muscles,
        dof,
        space_dim,
        joint_names,
        muscle_names,
        initial_joint_state,
        actions,
        endpoint_load,
        joint_load,
        parts,
        links,
    })
}

/// A constant load: `batch × width` numbers as the references give it, or — as `motornet simulate` writes
/// it — one flat row of `width` shared by every effector, or `[]` for none. Returned as `batch × width`.
pub(super) fn load(
    doc: &Doc,
    field: &str,
    what: &str,
    batch: usize,
    width: usize,
) -> Result<Vec<f64>, Error> {
    let v = doc.get(field)?;
    match v {
        Value::Array(items) if items.is_empty() => return Ok(vec![0.0; batch * width]),
        Value::Array(items) if !items[0].is_array() && items.len() == width => {
            let (row, _) = doc.array_value(field, v, "one row", &[Some(width)])?;
            return Ok(row.repeat(batch));
        }
        _ => {}
    }
    let what = format!("{what} (or one row of {width} for every effector, or [] for none)");
    doc.array_value(field, v, &what, &[Some(batch), Some(width)])
        .map(|(data, _)| data)
}

/// Parameter overrides a reference implies (the chain reference describes its links in `geometry`).
pub fn reference_overrides(reference: &Value) -> Vec<(String, f64)> {
    let Some(g) = reference.get("geometry").and_then(Value::as_object) else {
        return Vec::new();
    };
    if g.contains_key("bodies") {
        return Vec::new(); // a spatial skeleton's description, not link parameters
    }
    let mut out = Vec::new();
    for (key, prop) in LINK_KEYS {
        if let Some(vals) = g.get(key).and_then(Value::as_array) {
            for (i, v) in vals.iter().enumerate() {
                if let Some(x) = v.as_f64() {
                    out.push((format!("link{}.{prop}", i + 1), x));
                }
            }
        }
    }
    out
}

pub(super) fn top<'a>(file: &'a str, reference: &'a Value) -> Result<Doc<'a>, Error> {
    match reference {
        Value::Object(obj) => Ok(Doc {
            file,
            prefix: String::new(),
            obj,
        }),
        other => Err(Error::Input(format!(
            "{file}: a reference must be a JSON object, found {}",
            describe(other)
        ))),
    }
}

/// Checks a reference's dimensions against the model's.
pub(super) fn model_mismatch(
    file: &str,
    field: &str,
    theirs: usize,
    ours: usize,
    what: &str,
) -> Error {
    Error::Input(format!(
        "{file}: `{field}` is {theirs}, but the model has {ours} {what}"
    ))
}

pub(super) fn check_dt(file: &str, dt: f64, plant: &dyn Plant) -> Result<(), Error> {
    if (dt - plant.timestep()).abs() > 1e-12 * dt {
        return Err(Error::Input(format!(
            "{file}: `dt`: the reference uses dt = {dt}, the model {}",
            plant.timestep()
        )));
    }
    Ok(())
}

/// Runs a trajectory reference on `plant` and compares every field it provides.
pub fn verify_trajectory<P: Plant>(plant: P, reference: &Value) -> Result<Vec<FieldError>, Error> {
    run_trajectory("reference", plant, reference)
}

pub(super) fn run_trajectory<P: Plant>(
    file: &str,
    plant: P,
    reference: &Value,
) -> Result<Vec<FieldError>, Error> {
    let r = read_trajectory(&top(file, reference)?)?;
    let info = plant.info().clone();
    let (batch, steps) = (r.batch, r.steps);
    let (dof, m) = (info.dof(), info.n_muscles());
    if r.dof != dof {
        return Err(model_mismatch(
            file,
            "dof",
            r.dof,
            dof,
            "degrees of freedom",
        ));
    }
    if r.n_muscles != m {
        return Err(model_mismatch(file, "n_muscles", r.n_muscles, m, "muscles"));
    }
    check_dt(file, r.dt, &plant)?;
    if r.space_dim != info.space_dim {
        return Err(model_mismatch(
            file,
            "space_dim",
            r.space_dim,
            info.space_dim,
            "dimensions",
        ));
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
    if let Some(names) = &r.muscle_names {
        if let Some(i) = (0..m).find(|&i| names[i] != info.muscle_names[i]) {
            return Err(Error::Input(format!(
                "{file}: `muscle_names`: muscle {i} is `{}` in the reference but `{}` in the model",
                short(&names[i]),
                info.muscle_names[i]
            )));
        }
    }
    for (part, _, len) in &r.parts {
        let ours = info.part(part).map_or(0, |p| p.1);
        if *len != ours {
            return Err(Error::Input(format!(
                "{file}: `{part}` has {len} values per effector and step, but the model's {part} state has {ours}"
            )));
        }
    }

    let mut effector = Effector::new(plant, batch);
    effector.check_finite = false; // compare whatever comes out, NaN included
    effector.reset(&r.initial_joint_state)?;
    // ours[part][t] = batch × len
    let mut ours: Vec<Vec<Vec<f64>>> = vec![Vec::new(); r.parts.len()];
    let record = |e: &Effector<P>, ours: &mut Vec<Vec<Vec<f64>>>| {
        for (k, (p, _, _)) in r.parts.iter().enumerate() {
            ours[k].push(e.part(p).unwrap_or_default());
        }
    };
    record(&effector, &mut ours);
    let mut excitation = vec![0.0; batch * m];
    for t in 0..steps {
        for b in 0..batch {
            let row = &r.actions[(b * steps + t) * m..(b * steps + t + 1) * m];
            excitation[b * m..(b + 1) * m].copy_from_slice(row);
        }
        effector.step(&excitation, &r.endpoint_load, &r.joint_load)?;
        record(&effector, &mut ours);
    }

    let mut report = Vec::new();
    for (k, (part, refv, len)) in r.parts.iter().enumerate() {
        let len = *len;
        let at0 = info.part(part).map_or(0, |p| p.0);
        // refv is batch × (steps+1) × len, row-major.
        let split = |n: usize| (n / len / (steps + 1), n / len % (steps + 1), n % len);
        let ours_at = |n: usize| {
            let (b, t, i) = split(n);
            ours[k][t].get(b * len + i).copied().unwrap_or(f64::NAN)
        };
        let where_at = |n: usize| {
            let (b, t, i) = split(n);
            let (_, name) = motornet_runtime::effector::describe_index(&info, at0 + i);
            format!("batch {b}, step {t}, {name}")
        };
        report.push(compare_values(part, refv, &ours_at, &where_at));
    }
    Ok(report)
}
