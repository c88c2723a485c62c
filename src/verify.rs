//! Reruns reference cases (`../shared/reference/`) and compares every field they provide.
//!
//! Trajectory files (MotorNet, MuJoCo chain): reset from `initial_joint_state`, apply `actions` and the
//! constant loads, compare `joint`, `cartesian`, `muscle` and `geometry` at every step. A file may carry
//! `geometry` as an object of link parameters instead (the chain reference); those become parameter
//! overrides. Agreement: every element within `tolerance · (1 + |reference|)`.

use motornet_runtime::{Effector, Error, Plant};
use serde_json::Value;

/// Tolerance of trajectory comparisons stated by the reference README.
pub const TRAJECTORY_TOLERANCE: f64 = 1e-6;

/// The largest error of one compared field.
#[derive(Clone, Debug)]
pub struct FieldError {
    pub field: String,
    /// Number of elements compared.
    pub count: usize,
    /// max |ours − ref| / (1 + |ref|)
    pub max_scaled: f64,
    pub max_abs: f64,
    /// Where the worst element is, e.g. "batch 2, step 17, muscle force of biceps".
    pub worst_at: String,
    pub tolerance: f64,
}

impl FieldError {
    pub fn passed(&self) -> bool {
        self.max_scaled <= self.tolerance
    }
}

#[derive(Clone, Debug)]
pub struct CaseReport {
    pub case: String,
    pub model: String,
    pub fields: Vec<FieldError>,
}

impl CaseReport {
    /// True when something was compared and every field is within tolerance.
    pub fn passed(&self) -> bool {
        !self.fields.is_empty() && self.fields.iter().all(FieldError::passed)
    }
}

fn field<'a>(v: &'a Value, name: &str) -> Result<&'a Value, Error> {
    v.get(name)
        .ok_or_else(|| Error::Input(format!("the reference has no `{name}` field")))
}

fn usize_field(v: &Value, name: &str) -> Result<usize, Error> {
    field(v, name)?
        .as_u64()
        .map(|x| x as usize)
        .ok_or_else(|| Error::Input(format!("`{name}` is not a count")))
}

/// Flattens nested JSON arrays of numbers (row-major).
pub fn flatten(v: &Value) -> Result<Vec<f64>, Error> {
    let mut out = Vec::new();
    fn go(v: &Value, out: &mut Vec<f64>) -> Result<(), Error> {
        match v {
            Value::Array(items) => items.iter().try_for_each(|x| go(x, out)),
            Value::Number(n) => {
                out.push(n.as_f64().unwrap_or(f64::NAN));
                Ok(())
            }
            other => Err(Error::Input(format!("expected numbers, found {other}"))),
        }
    }
    go(v, &mut out)?;
    Ok(out)
}

/// Parameter overrides a reference implies (the chain reference describes its links in `geometry`).
pub fn reference_overrides(reference: &Value) -> Vec<(String, f64)> {
    let Some(g) = reference.get("geometry").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let keys = [
        ("L", "length"),
        ("m", "mass"),
        ("c", "com.x"),
        ("I", "inertia"),
    ];
    for (key, prop) in keys {
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

/// Runs a trajectory reference on `plant` and compares every field it provides.
pub fn verify_trajectory<P: Plant>(plant: P, reference: &Value) -> Result<Vec<FieldError>, Error> {
    let info = plant.info().clone();
    let (batch, steps) = (
        usize_field(reference, "batch")?,
        usize_field(reference, "steps")?,
    );
    let (dof, m) = (info.dof(), info.n_muscles());
    if let Some(d) = reference.get("dof").and_then(Value::as_u64) {
        if d as usize != dof {
            return Err(Error::Input(format!(
                "the reference has {d} degrees of freedom, the model {dof}"
            )));
        }
    }
    if let Some(n) = reference.get("n_muscles").and_then(Value::as_u64) {
        if n as usize != m {
            return Err(Error::Input(format!(
                "the reference has {n} muscles, the model {m}"
            )));
        }
    }
    if let Some(dt) = reference.get("dt").and_then(Value::as_f64) {
        if (dt - plant.timestep()).abs() > 1e-12 * dt {
            return Err(Error::Input(format!(
                "the reference uses dt = {dt}, the model {}",
                plant.timestep()
            )));
        }
    }
    let joint0 = flatten(field(reference, "initial_joint_state")?)?;
    let actions = flatten(field(reference, "actions")?)?;
    let endpoint_load = reference
        .get("endpoint_load")
        .map(flatten)
        .transpose()?
        .unwrap_or_default();
    let joint_load = reference
        .get("joint_load")
        .map(flatten)
        .transpose()?
        .unwrap_or_default();
    if actions.len() != batch * steps * m {
        return Err(Error::Input(format!(
            "`actions` has {} values, expected batch·steps·muscles = {}",
            actions.len(),
            batch * steps * m
        )));
    }

    let mut effector = Effector::new(plant, batch);
    effector.check_finite = false; // compare whatever comes out, NaN included
    effector.reset(&joint0)?;
    let parts = ["joint", "cartesian", "muscle", "geometry"];
    // ours[part][t] = batch × len
    let mut ours: Vec<Vec<Vec<f64>>> = vec![Vec::new(); parts.len()];
    let record = |e: &Effector<P>, ours: &mut Vec<Vec<Vec<f64>>>| {
        for (k, p) in parts.iter().enumerate() {
            ours[k].push(e.part(p).unwrap_or_default());
        }
    };
    record(&effector, &mut ours);
    let mut excitation = vec![0.0; batch * m];
    for t in 0..steps {
        for b in 0..batch {
            let row = &actions[(b * steps + t) * m..(b * steps + t + 1) * m];
            excitation[b * m..(b + 1) * m].copy_from_slice(row);
        }
        effector.step(&excitation, &endpoint_load, &joint_load)?;
        record(&effector, &mut ours);
    }

    let mut report = Vec::new();
    for (k, part) in parts.iter().enumerate() {
        let Some(refv) = reference.get(*part).filter(|v| v.is_array()) else {
            continue;
        };
        let refv = flatten(refv)?;
        let (_, len) = info.part(part).expect("known part");
        if refv.len() != batch * (steps + 1) * len {
            return Err(Error::Input(format!(
                "`{part}` has {} values, but the model's {part} state has {len} per effector and step ({} expected)",
                refv.len(),
                batch * (steps + 1) * len
            )));
        }
        let mut worst = FieldError {
            field: part.to_string(),
            count: refv.len(),
            max_scaled: 0.0,
            max_abs: 0.0,
            worst_at: String::new(),
            tolerance: TRAJECTORY_TOLERANCE,
        };
        for b in 0..batch {
            for t in 0..=steps {
                for i in 0..len {
                    let r = refv[(b * (steps + 1) + t) * len + i];
                    let o = ours[k][t][b * len + i];
                    let abs = (o - r).abs();
                    let scaled = if abs.is_nan() {
                        f64::INFINITY
                    } else {
                        abs / (1.0 + r.abs())
                    };
                    if scaled > worst.max_scaled || worst.worst_at.is_empty() {
                        let at = info.part(part).expect("known part").0 + i;
                        let (_, name) = motornet_runtime::effector::describe_index(&info, at);
                        worst.worst_at = format!("batch {b}, step {t}, {name}");
                        worst.max_scaled = scaled.max(worst.max_scaled);
                    }
                    worst.max_abs = worst.max_abs.max(abs);
                }
            }
        }
        report.push(worst);
    }
    Ok(report)
}

/// Reruns a gradient reference: a rollout from `initial_joint_state` under `actions_t_b_m` (no loads), the
/// loss `Σₜ Σ_b w_joint[t,b]·joint[t,b] + w_cart[t,b]·cartesian[t,b]` over the states after each step, and
/// its gradient with respect to every excitation by the plant's adjoints. Compares the loss and
/// `grad_actions_t_b_m`.
pub fn verify_gradients<P: Plant>(plant: P, reference: &Value) -> Result<Vec<FieldError>, Error> {
    let info = plant.info().clone();
    let (steps, batch) = (
        usize_field(reference, "steps")?,
        usize_field(reference, "batch")?,
    );
    let (m, c, jd) = (info.n_muscles(), info.control_dim(), info.joint_dim());
    let joint0 = flatten(field(reference, "initial_joint_state")?)?;
    let actions = flatten(field(reference, "actions_t_b_m")?)?;
    let w_joint = flatten(field(reference, "w_joint_t_b")?)?;
    let w_cart = flatten(field(reference, "w_cart_t_b")?)?;
    let expected = flatten(field(reference, "grad_actions_t_b_m")?)?;
    for (name, v, n) in [
        ("actions_t_b_m", &actions, m),
        ("w_joint_t_b", &w_joint, jd),
        ("w_cart_t_b", &w_cart, 4),
        ("grad_actions_t_b_m", &expected, m),
    ] {
        if v.len() != steps * batch * n {
            return Err(Error::Input(format!(
                "`{name}` has {} values, expected steps·batch·{n} = {}",
                v.len(),
                steps * batch * n
            )));
        }
    }
    let mut controls = vec![0.0; steps * batch * c];
    for tb in 0..steps * batch {
        controls[tb * c..tb * c + m].copy_from_slice(&actions[tb * m..(tb + 1) * m]);
    }
    let rollout = motornet_runtime::Rollout::record(&plant, &joint0, &controls, batch)?;
    let cart_at = info.cartesian().start;
    let mut loss = 0.0;
    for t in 1..=steps {
        for b in 0..batch {
            let x = rollout.state(t, b);
            let tb = (t - 1) * batch + b;
            loss += (0..jd).map(|k| w_joint[tb * jd + k] * x[k]).sum::<f64>();
            loss += (0..4)
                .map(|k| w_cart[tb * 4 + k] * x[cart_at + k])
                .sum::<f64>();
        }
    }
    let mut ws = plant.workspace();
    let grads = rollout.backward(&plant, &mut ws, |t, b, _x, out| {
        if t == 0 {
            return;
        }
        let tb = (t - 1) * batch + b;
        for k in 0..jd {
            out[k] += w_joint[tb * jd + k];
        }
        for k in 0..4 {
            out[cart_at + k] += w_cart[tb * 4 + k];
        }
    });
    let mut report = Vec::new();
    if let Some(ref_loss) = reference.get("loss").and_then(Value::as_f64) {
        let abs = (loss - ref_loss).abs();
        report.push(FieldError {
            field: "loss".into(),
            count: 1,
            max_scaled: abs / (1.0 + ref_loss.abs()),
            max_abs: abs,
            worst_at: format!("ours {loss:.12}, reference {ref_loss:.12}"),
            tolerance: TRAJECTORY_TOLERANCE,
        });
    }
    let mut worst = FieldError {
        field: "d loss/d excitation".into(),
        count: expected.len(),
        max_scaled: 0.0,
        max_abs: 0.0,
        worst_at: String::new(),
        tolerance: TRAJECTORY_TOLERANCE,
    };
    for t in 0..steps {
        for b in 0..batch {
            for k in 0..m {
                let r = expected[(t * batch + b) * m + k];
                let o = grads.controls[(t * batch + b) * c + k];
                let abs = (o - r).abs();
                let scaled = if abs.is_nan() {
                    f64::INFINITY
                } else {
                    abs / (1.0 + r.abs())
                };
                if scaled > worst.max_scaled || worst.worst_at.is_empty() {
                    worst.max_scaled = scaled.max(worst.max_scaled);
                    worst.worst_at = format!(
                        "step {t}, batch {b}, excitation of {}",
                        info.muscle_names[k]
                    );
                }
                worst.max_abs = worst.max_abs.max(abs);
            }
        }
    }
    report.push(worst);
    Ok(report)
}

/// Tolerance of path-geometry comparisons (absolute, metres and metres per radian).
pub const GEOMETRY_TOLERANCE: f64 = 1e-9;

/// Reruns a path-geometry reference (MuJoCo's `wrap_elbow`): at every sampled posture, the musculotendon
/// length and every moment arm dL/dq of each named muscle.
pub fn verify_geometry<P: Plant>(plant: P, reference: &Value) -> Result<Vec<FieldError>, Error> {
    let info = plant.info().clone();
    let names: Vec<&str> = field(reference, "tendons")?
        .as_array()
        .ok_or_else(|| Error::Input("`tendons` is not a list".into()))?
        .iter()
        .map(|v| v.as_str().unwrap_or_default())
        .collect();
    let index: Vec<usize> = names
        .iter()
        .map(|n| {
            info.muscle_names
                .iter()
                .position(|m| m == n)
                .ok_or_else(|| {
                    Error::Input(format!(
                        "the model has no muscle `{n}` (muscles: {})",
                        info.muscle_names.join(", ")
                    ))
                })
        })
        .collect::<Result<_, _>>()?;
    let samples = field(reference, "samples")?
        .as_array()
        .ok_or_else(|| Error::Input("`samples` is not a list".into()))?;
    let (dof, nm, s) = (info.dof(), info.n_muscles(), info.state_dim());
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
    for (i, sample) in samples.iter().enumerate() {
        let q = flatten(field(sample, "q")?)?;
        if q.len() != dof {
            return Err(Error::Input(format!(
                "sample {i}: {} joint angles for a model with {dof}",
                q.len()
            )));
        }
        let joint: Vec<f64> = q
            .iter()
            .copied()
            .chain(std::iter::repeat_n(0.0, dof))
            .collect();
        plant.reset(&mut ws, &joint, &mut state)?;
        let lengths = flatten(field(sample, "length")?)?;
        let arms = flatten(field(sample, "moment_arm")?)?;
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
                lengths[k],
                format!("q = {q:?}, {}", names[k]),
            );
            for j in 0..dof {
                let ours = state[geo + (2 + j) * nm + m];
                compare(
                    &mut worst[1],
                    ours,
                    arms[k * dof + j],
                    format!("q = {q:?}, {} d/d{}", names[k], info.coord_names[j]),
                );
            }
        }
    }
    Ok(worst)
}

/// Parameter overrides a geometry reference implies (its obstacle radius).
fn geometry_overrides(reference: &Value) -> Vec<(String, f64)> {
    reference
        .get("elbow_cyl_radius")
        .and_then(Value::as_f64)
        .map(|r| ("elbow_cyl.radius".to_string(), r))
        .into_iter()
        .collect()
}

/// Which model to run a reference on.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// A model file or built-in name; by default the built-in model named by the case.
    pub model: Option<String>,
    /// Run the interpreter even where a compiled model exists.
    pub interpreted: bool,
}

enum Kind {
    Trajectory,
    Gradient,
    Geometry,
}

/// Tolerance of the GRU reference (forward values and every gradient).
pub const GRU_TOLERANCE: f64 = 1e-10;

/// Runs a GRU reference (PyTorch `nn.GRU` + `nn.Linear` + sigmoid): forward values and every gradient.
fn verify_gru(file: &str, reference: &Value) -> Result<CaseReport, Error> {
    let fields = motornet_runtime::gru::verify_reference(reference)
        .map_err(|e| Error::Input(format!("{file}: {e}")))?;
    let fields = fields
        .into_iter()
        .map(|(field, err)| FieldError {
            field,
            count: 0,
            max_scaled: err,
            max_abs: err,
            worst_at: String::new(),
            tolerance: GRU_TOLERANCE,
        })
        .collect();
    Ok(CaseReport {
        case: file.to_string(),
        model: "GRU policy".into(),
        fields,
    })
}

/// The case name of a reference: its `case` field, else the file name without `.seedN.json`.
pub fn case_name(path: &std::path::Path, reference: &Value) -> String {
    if let Some(c) = reference.get("case").and_then(Value::as_str) {
        return c.to_string();
    }
    let stem = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    stem.split('.').next().unwrap_or_default().to_string()
}

/// Reads and runs one reference file.
pub fn verify_file(path: &std::path::Path, opts: &Options) -> Result<CaseReport, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Input(format!("cannot read {}: {e}", path.display())))?;
    let reference: Value = serde_json::from_str(&text)
        .map_err(|e| Error::Input(format!("{} is not valid JSON: {e}", path.display())))?;
    let case = case_name(path, &reference);
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or(case.clone());
    let kind = if reference.get("weight_ih").is_some() {
        return verify_gru(&file, &reference);
    } else if reference.get("samples").is_some() {
        Kind::Geometry
    } else if reference.get("grad_actions_t_b_m").is_some() {
        Kind::Gradient
    } else if reference.get("joint").is_some() {
        Kind::Trajectory
    } else {
        return Err(Error::Input(format!("{file}: not a reference this version can run (no `joint` or `grad_actions_t_b_m` field)")));
    };
    let case = match kind {
        // Geometry references carry no case name; they are named after their file.
        Kind::Geometry => file.split('.').next().unwrap_or_default().to_string(),
        _ => case,
    };
    let spec = match &opts.model {
        Some(m) => m.clone(),
        None => crate::models::for_case(&case)
            .ok_or_else(|| {
                Error::Input(format!(
                    "{file}: no built-in model for case `{case}`; choose one with --model"
                ))
            })?
            .to_string(),
    };
    let (mut plant, backend) = crate::models::load(&spec, opts.interpreted)?;
    let overrides = match kind {
        Kind::Geometry => geometry_overrides(&reference),
        _ => reference_overrides(&reference),
    };
    if !overrides.is_empty() {
        let mut values = plant.params().to_vec();
        for (name, v) in &overrides {
            let i = plant
                .info()
                .param_index(name)
                .ok_or_else(|| plant.info().unknown_param(name))?;
            values[i] = *v;
        }
        plant.set_params(&values)?;
    }
    let fields = match kind {
        Kind::Trajectory => verify_trajectory(plant, &reference)?,
        Kind::Gradient => verify_gradients(plant, &reference)?,
        Kind::Geometry => verify_geometry(plant, &reference)?,
    };
    let backend = match backend {
        crate::models::Backend::Compiled => "compiled",
        crate::models::Backend::Interpreted => "interpreted",
    };
    Ok(CaseReport {
        case: file,
        model: format!("{spec} ({backend})"),
        fields,
    })
}
