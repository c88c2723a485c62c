//! Reruns reference cases (`../shared/reference/`) and compares every field they provide.
//!
//! Trajectory files (MotorNet, MuJoCo chain): reset from `initial_joint_state`, apply `actions` and the
//! constant loads, compare `joint`, `cartesian`, `muscle` and `geometry` at every step. A file may carry
//! `geometry` as an object of link parameters instead (the chain reference); those become parameter
//! overrides. Agreement: every element within `tolerance · (1 + |reference|)`.
//!
//! Reading is strict, because a verifier that skips what it cannot read passes without comparing. Every
//! field a kind of reference defines must be present (unless the reference README makes it optional) and
//! have the right type and shape — `batch × steps × …`, consistent with the file's `steps`, `batch`,
//! `n_muscles` and `dof` and then with the model's — and hold finite numbers; a top-level field the kind
//! does not define is an error unless it is one of the informational fields its generator writes
//! (`case`, `seed`, `description`, …, whose types are checked too); a duplicated key is an error. Every
//! message names the file and the field. Kinds of reference this version cannot run yet (closed-loop
//! episodes, other policy networks, 3D MuJoCo, OpenSim) are recognised and reported as
//! [`Outcome::Unsupported`], never run partially. A field that compares no element does not pass.

use motornet_runtime::{Effector, Error, Plant};
use serde_json::{Map, Value};
use std::fmt::Write as _;
use std::path::Path;

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
    /// True when at least one element was compared and every one is within tolerance (NaN fails).
    pub fn passed(&self) -> bool {
        self.count > 0 && self.max_scaled <= self.tolerance
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

// ------------------------------------------------------------------------------------------------------
// Kinds of reference
// ------------------------------------------------------------------------------------------------------

/// The kinds of reference file (the folders of `../shared/reference/`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `motornet/`, `mujoco/chain3_torque_rk4.json`: state trajectories under given excitations and loads.
    Trajectory,
    /// `gradients/`: a trajectory loss and its gradient with respect to every excitation.
    Gradient,
    /// `mujoco/wrap_elbow.json`: muscle-path lengths and moment arms over a grid of postures.
    PathGeometry,
    /// `gru/`: a one-layer GRU policy, forward values and gradients.
    Gru,
    /// `closed_loop/`: whole training episodes (not supported by this version).
    ClosedLoop,
    /// `policies/`: other recurrent policy networks (RNN, LSTM, stacked GRU, CTRNN, modular GRU).
    Policy,
    /// `mujoco3d/`: 3D skeletons and tendons (not supported by this version).
    Mujoco3d,
    /// `opensim/`: OpenSim's Arm26 (not supported by this version).
    OpenSim,
}

impl Kind {
    /// Whether this version can run references of this kind.
    pub fn supported(self) -> bool {
        matches!(
            self,
            Kind::Trajectory | Kind::Gradient | Kind::PathGeometry | Kind::Gru | Kind::Policy
        )
    }

    /// What a reference of this kind holds, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Trajectory => "a state trajectory (motornet/, mujoco/ chain)",
            Kind::Gradient => "a trajectory-loss gradient (gradients/)",
            Kind::PathGeometry => "muscle-path geometry (mujoco/wrap_elbow)",
            Kind::Gru => "a GRU policy (gru/)",
            Kind::ClosedLoop => "a closed-loop training episode (closed_loop/)",
            Kind::Policy => "a recurrent policy network (policies/)",
            Kind::Mujoco3d => "a 3D MuJoCo skeleton or tendon case (mujoco3d/)",
            Kind::OpenSim => "an OpenSim model case (opensim/)",
        }
    }
}

/// The kind of a reference, from the fields that only that kind has; `None` when the value is not an
/// object or matches no kind.
pub fn classify(reference: &Value) -> Option<Kind> {
    let obj = reference.as_object()?;
    let has = |k: &str| obj.contains_key(k);
    let kind = if has("network") {
        Kind::Policy
    } else if has("observations") || has("hidden_states") || has("obs_layout") {
        Kind::ClosedLoop
    } else if has("model_file") || has("importer_features") || has("coordinates") || has("muscles")
    {
        Kind::OpenSim
    } else if has("wrap_rule")
        || has("joint_names")
        || has("energy")
        || obj.get("space_dim").and_then(Value::as_u64) == Some(3)
        || obj
            .get("geometry")
            .is_some_and(|g| g.get("conventions").is_some())
    {
        Kind::Mujoco3d
    } else if has("weight_ih") {
        Kind::Gru
    } else if has("samples") {
        Kind::PathGeometry
    } else if has("grad_actions_t_b_m") {
        Kind::Gradient
    } else if has("joint") {
        Kind::Trajectory
    } else {
        return None;
    };
    Some(kind)
}

// ------------------------------------------------------------------------------------------------------
// Strict JSON
// ------------------------------------------------------------------------------------------------------

/// A JSON value parsed with duplicate keys refused.
struct Strict(Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a non-finite number"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(serde::de::Error::custom(format!(
                    "duplicate key `{}`",
                    short(&key)
                )));
            }
            let Strict(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

/// Parses reference text as JSON, refusing duplicate keys. A syntax error is located by line, column and
/// the path of the value it is in (the references are one line of up to megabytes, so the path is what
/// tells where), with a hint for `NaN` and `Infinity`, which Python writes but JSON does not allow.
pub fn parse_json(file: &str, text: &str) -> Result<Value, Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = <Strict as serde::Deserialize>::deserialize(&mut de).and_then(|v| {
        de.end()?;
        Ok(v.0)
    });
    parsed.map_err(|e| {
        let (line, col) = (e.line(), e.column());
        let offset = if line == 0 {
            text.len()
        } else {
            let start: usize = text
                .split_inclusive('\n')
                .take(line - 1)
                .map(str::len)
                .sum();
            (start + col.saturating_sub(1)).min(text.len())
        };
        let path = json_path_at(text, offset);
        let mut msg = e.to_string();
        if let Some(i) = msg.rfind(" at line ") {
            msg.truncate(i);
        }
        let mut from = offset.saturating_sub(2);
        while !text.is_char_boundary(from) {
            from -= 1;
        }
        let near: String = text[from..].chars().take(12).collect();
        let hint = if near.contains("NaN") || near.contains("Infinity") {
            " (NaN and Infinity are not JSON numbers; a reference must hold finite values)"
        } else if msg.contains("number out of range") {
            " (a number too large for a 64-bit float; a reference must hold finite values)"
        } else {
            ""
        };
        let within = if path.is_empty() {
            String::new()
        } else {
            format!(" in `{path}`")
        };
        Error::Input(format!(
            "{file}:{line}:{col}: not valid JSON{within}: {msg}{hint}"
        ))
    })
}

/// The path (`joint[2][17][3]`, `grad.x[0]`) of the JSON value that byte `end` of `text` lies in, found
/// by scanning the text before it (which need not be valid JSON).
fn json_path_at(text: &str, end: usize) -> String {
    enum Frame {
        Object(Option<String>, bool),
        Array(usize),
    }
    let bytes = text.as_bytes();
    let end = end.min(bytes.len());
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < end {
        match bytes[i] {
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < end && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if let Some(Frame::Object(key, true)) = stack.last_mut() {
                    let s = &bytes[start..i.min(end)];
                    *key = Some(String::from_utf8_lossy(s).into_owned());
                }
            }
            b'{' => stack.push(Frame::Object(None, true)),
            b'[' => stack.push(Frame::Array(0)),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Array(n)) => *n += 1,
                Some(Frame::Object(_, want_key)) => *want_key = true,
                None => {}
            },
            b':' => {
                if let Some(Frame::Object(_, want_key)) = stack.last_mut() {
                    *want_key = false;
                }
            }
            _ => {}
        }
        i += 1;
    }
    let mut out = String::new();
    for frame in &stack {
        match frame {
            Frame::Object(Some(k), _) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&short(k));
            }
            Frame::Object(None, _) => {}
            Frame::Array(n) => {
                let _ = write!(out, "[{n}]");
            }
        }
    }
    out
}

/// A key or string shortened for messages.
fn short(s: &str) -> String {
    if s.chars().count() <= 40 {
        s.to_string()
    } else {
        let head: String = s.chars().take(40).collect();
        format!("{head}…")
    }
}

/// What a JSON value is, for messages (never the whole value: references are megabytes).
fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("`{b}`"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string \"{}\"", short(s)),
        Value::Array(a) if a.is_empty() => "an empty list".into(),
        Value::Array(a) => format!("a list of {}", a.len()),
        Value::Object(_) => "an object".into(),
    }
}

/// Flattens nested JSON arrays of numbers (row-major), without checking their shape.
pub fn flatten(v: &Value) -> Result<Vec<f64>, Error> {
    let mut out = Vec::new();
    fn go(v: &Value, out: &mut Vec<f64>) -> Result<(), Error> {
        match v {
            Value::Array(items) => items.iter().try_for_each(|x| go(x, out)),
            Value::Number(n) => {
                out.push(n.as_f64().unwrap_or(f64::NAN));
                Ok(())
            }
            other => Err(Error::Input(format!(
                "expected numbers, found {}",
                describe(other)
            ))),
        }
    }
    go(v, &mut out)?;
    Ok(out)
}

/// The dimensions of a nested list, following first elements.
fn shape_of(mut v: &Value) -> Vec<usize> {
    let mut shape = Vec::new();
    while let Value::Array(items) = v {
        shape.push(items.len());
        match items.first() {
            Some(x) => v = x,
            None => break,
        }
    }
    shape
}

/// Reads `v` as a nested list of finite numbers of exactly `shape` (row-major).
fn numbers(v: &Value, shape: &[usize]) -> Result<Vec<f64>, String> {
    fn go(
        v: &Value,
        shape: &[usize],
        at: &mut Vec<usize>,
        out: &mut Vec<f64>,
    ) -> Result<(), String> {
        let here = |at: &[usize]| {
            if at.is_empty() {
                String::new()
            } else {
                let mut s = String::from("at ");
                for i in at {
                    let _ = write!(s, "[{i}]");
                }
                s + ": "
            }
        };
        match (shape.split_first(), v) {
            (None, Value::Number(n)) => match n.as_f64().filter(|x| x.is_finite()) {
                Some(x) => {
                    out.push(x);
                    Ok(())
                }
                None => Err(format!("{}a non-finite number", here(at))),
            },
            (None, other) => Err(format!(
                "{}expected a number, found {}",
                here(at),
                describe(other)
            )),
            (Some((&n, rest)), Value::Array(items)) if items.len() == n => {
                for (i, x) in items.iter().enumerate() {
                    at.push(i);
                    go(x, rest, at, out)?;
                    at.pop();
                }
                Ok(())
            }
            (Some((&n, _)), other) => Err(format!(
                "{}expected a list of {n}, found {}",
                here(at),
                describe(other)
            )),
        }
    }
    let mut out = Vec::new();
    go(v, shape, &mut Vec::new(), &mut out)?;
    Ok(out)
}

fn dims(shape: &[Option<usize>]) -> String {
    shape
        .iter()
        .map(|d| d.map_or("?".to_string(), |d| d.to_string()))
        .collect::<Vec<_>>()
        .join(" × ")
}

/// The type of an informational field.
#[derive(Clone, Copy)]
enum Info {
    Text,
    Count,
    Flag,
}

/// One object of a reference (the file, or a sample in it) being read.
struct Doc<'a> {
    file: &'a str,
    /// Prefix of field names in messages (`samples[3].`), empty at the top level.
    prefix: String,
    obj: &'a Map<String, Value>,
}

impl<'a> Doc<'a> {
    fn err(&self, field: &str, msg: impl std::fmt::Display) -> Error {
        Error::Input(format!("{}: `{}{field}`: {msg}", self.file, self.prefix))
    }

    fn get(&self, field: &str) -> Result<&'a Value, Error> {
        self.obj.get(field).ok_or_else(|| {
            Error::Input(format!(
                "{}: the reference has no `{}{field}` field, which it must have",
                self.file, self.prefix
            ))
        })
    }

    /// Refuses fields not in `known`.
    fn only(&self, known: &[&str]) -> Result<(), Error> {
        let unknown: Vec<String> = self
            .obj
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .map(|k| format!("`{}{}`", self.prefix, short(k)))
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        Err(Error::Input(format!(
            "{}: unknown field{} {} (this kind of reference has: {})",
            self.file,
            if unknown.len() == 1 { "" } else { "s" },
            unknown.join(", "),
            known.join(", ")
        )))
    }

    /// Checks the types of the informational fields that are present.
    fn info(&self, fields: &[(&str, Info)]) -> Result<(), Error> {
        for &(name, ty) in fields {
            let Some(v) = self.obj.get(name) else {
                continue;
            };
            let ok = match ty {
                Info::Text => v.is_string(),
                Info::Count => v.is_u64(),
                Info::Flag => v.is_boolean(),
            };
            if !ok {
                let want = match ty {
                    Info::Text => "a string",
                    Info::Count => "a whole number ≥ 0",
                    Info::Flag => "true or false",
                };
                return Err(self.err(name, format!("expected {want}, found {}", describe(v))));
            }
        }
        Ok(())
    }

    fn count(&self, field: &str, min: u64) -> Result<usize, Error> {
        let v = self.get(field)?;
        match v.as_u64() {
            Some(n) if n >= min => {
                usize::try_from(n).map_err(|_| self.err(field, format!("{n} is too large")))
            }
            _ => Err(self.err(
                field,
                format!("expected a whole number ≥ {min}, found {}", describe(v)),
            )),
        }
    }

    fn number(&self, field: &str) -> Result<f64, Error> {
        let v = self.get(field)?;
        v.as_f64()
            .filter(|x| x.is_finite())
            .ok_or_else(|| self.err(field, format!("expected a number, found {}", describe(v))))
    }

    fn positive(&self, field: &str) -> Result<f64, Error> {
        let x = self.number(field)?;
        if x > 0.0 {
            Ok(x)
        } else {
            Err(self.err(field, format!("expected a positive number, found {x}")))
        }
    }

    /// A list of `n` strings (any length when `n` is `None`, but not empty).
    fn strings(&self, field: &str, n: Option<usize>) -> Result<Vec<String>, Error> {
        let v = self.get(field)?;
        let want = match n {
            Some(n) => format!("a list of {n} strings"),
            None => "a non-empty list of strings".to_string(),
        };
        let items = match v.as_array() {
            Some(items) if n.map_or(!items.is_empty(), |n| items.len() == n) => items,
            _ => return Err(self.err(field, format!("expected {want}, found {}", describe(v)))),
        };
        items
            .iter()
            .enumerate()
            .map(|(i, x)| {
                x.as_str().map(str::to_string).ok_or_else(|| {
                    self.err(field, format!("expected {want}; [{i}] is {}", describe(x)))
                })
            })
            .collect()
    }

    /// A nested list of finite numbers of shape `shape` (described as `what`, e.g. "batch × steps ×
    /// muscles"); `None` dimensions are taken from the data. Returns the values and the full shape.
    fn array(
        &self,
        field: &str,
        what: &str,
        shape: &[Option<usize>],
    ) -> Result<(Vec<f64>, Vec<usize>), Error> {
        let v = self.get(field)?;
        self.array_value(field, v, what, shape)
    }

    fn array_value(
        &self,
        field: &str,
        v: &Value,
        what: &str,
        shape: &[Option<usize>],
    ) -> Result<(Vec<f64>, Vec<usize>), Error> {
        let actual = shape_of(v);
        let concrete: Option<Vec<usize>> = shape
            .iter()
            .enumerate()
            .map(|(d, s)| s.or_else(|| actual.get(d).copied()))
            .collect();
        let fail = |msg: String| {
            self.err(
                field,
                format!("expected {what} = {} numbers; {msg}", dims(shape)),
            )
        };
        let Some(concrete) = concrete else {
            return Err(fail(format!("found {}", describe(v))));
        };
        let data = numbers(v, &concrete).map_err(fail)?;
        Ok((data, concrete))
    }
}

// ------------------------------------------------------------------------------------------------------
// Trajectories
// ------------------------------------------------------------------------------------------------------

/// Fields of a trajectory reference the comparison uses.
const TRAJECTORY_FIELDS: &[&str] = &[
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
];
/// Informational fields trajectory generators write.
const TRAJECTORY_INFO: &[(&str, Info)] = &[
    ("case", Info::Text),
    ("seed", Info::Count),
    ("description", Info::Text),
    ("source", Info::Text),
    ("xml", Info::Text),
    ("motornet_version", Info::Text),
    ("dtype", Info::Text),
    ("integration_method", Info::Text),
];
/// The link parameters a chain reference's `geometry` object gives, and the model parameters they set.
const LINK_KEYS: [(&str, &str); 4] = [
    ("L", "length"),
    ("m", "mass"),
    ("c", "com.x"),
    ("I", "inertia"),
];

/// A trajectory reference, read and checked on its own (not yet against a model).
struct TrajectoryRef {
    dt: f64,
    steps: usize,
    batch: usize,
    n_muscles: usize,
    dof: usize,
    muscle_names: Option<Vec<String>>,
    initial_joint_state: Vec<f64>,
    actions: Vec<f64>,
    endpoint_load: Vec<f64>,
    joint_load: Vec<f64>,
    /// Compared parts in order: name, values (batch × (steps+1) × per-step), per-step values.
    parts: Vec<(&'static str, Vec<f64>, usize)>,
    /// Link parameters from a `geometry` object.
    links: Vec<(String, f64)>,
}

fn with_info<'a>(known: &[&'a str], info: &[(&'a str, Info)]) -> Vec<&'a str> {
    known
        .iter()
        .copied()
        .chain(info.iter().map(|p| p.0))
        .collect()
}

fn read_trajectory(doc: &Doc) -> Result<TrajectoryRef, Error> {
    doc.only(&with_info(TRAJECTORY_FIELDS, TRAJECTORY_INFO))?;
    doc.info(TRAJECTORY_INFO)?;
    let dt = doc.positive("dt")?;
    let steps = doc.count("steps", 1)?;
    let batch = doc.count("batch", 1)?;
    let n_muscles = doc.count("n_muscles", 0)?;
    let dof = doc.count("dof", 1)?;
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
    let endpoint_load = load(doc, "endpoint_load", "batch × 2", batch, 2)?;
    let joint_load = load(doc, "joint_load", "batch × dof", batch, dof)?;
    let mut parts = Vec::new();
    let (joint, _) = doc.array("joint", "batch × (steps+1) × 2·dof", &[b, t1, jd])?;
    parts.push(("joint", joint, 2 * dof));
    if doc.obj.contains_key("cartesian") {
        let (v, _) = doc.array("cartesian", "batch × (steps+1) × 4", &[b, t1, Some(4)])?;
        parts.push(("cartesian", v, 4));
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
fn load(doc: &Doc, field: &str, what: &str, batch: usize, width: usize) -> Result<Vec<f64>, Error> {
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

fn top<'a>(file: &'a str, reference: &'a Value) -> Result<Doc<'a>, Error> {
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
fn model_mismatch(file: &str, field: &str, theirs: usize, ours: usize, what: &str) -> Error {
    Error::Input(format!(
        "{file}: `{field}` is {theirs}, but the model has {ours} {what}"
    ))
}

fn check_dt(file: &str, dt: f64, plant: &dyn Plant) -> Result<(), Error> {
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

fn run_trajectory<P: Plant>(
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
        let mut worst = FieldError {
            field: part.to_string(),
            count: refv.len(),
            max_scaled: 0.0,
            max_abs: 0.0,
            worst_at: String::new(),
            tolerance: TRAJECTORY_TOLERANCE,
        };
        let at0 = info.part(part).map_or(0, |p| p.0);
        for b in 0..batch {
            for t in 0..=steps {
                for i in 0..len {
                    let r = refv[(b * (steps + 1) + t) * len + i];
                    let o = ours[k][t].get(b * len + i).copied().unwrap_or(f64::NAN);
                    let abs = (o - r).abs();
                    let scaled = if abs.is_nan() {
                        f64::INFINITY
                    } else {
                        abs / (1.0 + r.abs())
                    };
                    if scaled > worst.max_scaled || worst.worst_at.is_empty() {
                        let (_, name) = motornet_runtime::effector::describe_index(&info, at0 + i);
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

// ------------------------------------------------------------------------------------------------------
// Gradients
// ------------------------------------------------------------------------------------------------------

const GRADIENT_FIELDS: &[&str] = &[
    "steps",
    "batch",
    "dt",
    "initial_joint_state",
    "actions_t_b_m",
    "w_joint_t_b",
    "w_cart_t_b",
    "loss",
    "grad_actions_t_b_m",
];
const GRADIENT_INFO: &[(&str, Info)] = &[
    ("case", Info::Text),
    ("seed", Info::Count),
    ("description", Info::Text),
    ("loss_definition", Info::Text),
    ("touched_joint_limit", Info::Flag),
];

struct GradientRef {
    steps: usize,
    batch: usize,
    dt: f64,
    joint_dim: usize,
    n_muscles: usize,
    initial_joint_state: Vec<f64>,
    actions: Vec<f64>,
    w_joint: Vec<f64>,
    w_cart: Vec<f64>,
    loss: f64,
    expected: Vec<f64>,
}

fn read_gradient(doc: &Doc) -> Result<GradientRef, Error> {
    doc.only(&with_info(GRADIENT_FIELDS, GRADIENT_INFO))?;
    doc.info(GRADIENT_INFO)?;
    let steps = doc.count("steps", 1)?;
    let batch = doc.count("batch", 1)?;
    let dt = doc.positive("dt")?;
    let (t, b) = (Some(steps), Some(batch));
    let (initial_joint_state, shape) =
        doc.array("initial_joint_state", "batch × 2·dof", &[b, None])?;
    let joint_dim = shape[1];
    if joint_dim == 0 || joint_dim % 2 != 0 {
        return Err(doc.err(
            "initial_joint_state",
            format!("expected batch × 2·dof numbers (positions and velocities), found {joint_dim} per effector"),
        ));
    }
    let (actions, shape) = doc.array("actions_t_b_m", "steps × batch × muscles", &[t, b, None])?;
    let n_muscles = shape[2];
    let m = Some(n_muscles);
    let (w_joint, _) = doc.array(
        "w_joint_t_b",
        "steps × batch × 2·dof",
        &[t, b, Some(joint_dim)],
    )?;
    let (w_cart, _) = doc.array("w_cart_t_b", "steps × batch × 4", &[t, b, Some(4)])?;
    let (expected, _) = doc.array("grad_actions_t_b_m", "steps × batch × muscles", &[t, b, m])?;
    let loss = doc.number("loss")?;
    Ok(GradientRef {
        steps,
        batch,
        dt,
        joint_dim,
        n_muscles,
        initial_joint_state,
        actions,
        w_joint,
        w_cart,
        loss,
        expected,
    })
}

/// Reruns a gradient reference: a rollout from `initial_joint_state` under `actions_t_b_m` (no loads), the
/// loss `Σₜ Σ_b w_joint[t,b]·joint[t,b] + w_cart[t,b]·cartesian[t,b]` over the states after each step, and
/// its gradient with respect to every excitation by the plant's adjoints. Compares the loss and
/// `grad_actions_t_b_m`.
pub fn verify_gradients<P: Plant>(plant: P, reference: &Value) -> Result<Vec<FieldError>, Error> {
    run_gradients("reference", plant, reference)
}

fn run_gradients<P: Plant>(
    file: &str,
    plant: P,
    reference: &Value,
) -> Result<Vec<FieldError>, Error> {
    let r = read_gradient(&top(file, reference)?)?;
    let info = plant.info().clone();
    let (steps, batch) = (r.steps, r.batch);
    let (m, c, jd) = (info.n_muscles(), info.control_dim(), info.joint_dim());
    if r.joint_dim != jd {
        return Err(model_mismatch(
            file,
            "initial_joint_state",
            r.joint_dim,
            jd,
            "joint state values (2·dof) per effector",
        ));
    }
    if r.n_muscles != m {
        return Err(model_mismatch(
            file,
            "actions_t_b_m",
            r.n_muscles,
            m,
            "muscles (excitations per effector and step)",
        ));
    }
    check_dt(file, r.dt, &plant)?;
    let (actions, w_joint, w_cart, expected) = (&r.actions, &r.w_joint, &r.w_cart, &r.expected);
    let mut controls = vec![0.0; steps * batch * c];
    for tb in 0..steps * batch {
        controls[tb * c..tb * c + m].copy_from_slice(&actions[tb * m..(tb + 1) * m]);
    }
    let rollout =
        motornet_runtime::Rollout::record(&plant, &r.initial_joint_state, &controls, batch)?;
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
    let ref_loss = r.loss;
    let abs = (loss - ref_loss).abs();
    report.push(FieldError {
        field: "loss".into(),
        count: 1,
        max_scaled: if abs.is_nan() {
            f64::INFINITY
        } else {
            abs / (1.0 + ref_loss.abs())
        },
        max_abs: abs,
        worst_at: format!("ours {loss:.12}, reference {ref_loss:.12}"),
        tolerance: TRAJECTORY_TOLERANCE,
    });
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
                let o = grads
                    .controls
                    .get((t * batch + b) * c + k)
                    .copied()
                    .unwrap_or(f64::NAN);
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

// ------------------------------------------------------------------------------------------------------
// Path geometry
// ------------------------------------------------------------------------------------------------------

/// Tolerance of path-geometry comparisons (absolute, metres and metres per radian).
pub const GEOMETRY_TOLERANCE: f64 = 1e-9;

const GEOMETRY_FIELDS: &[&str] = &["elbow_cyl_radius", "tendons", "samples"];
const GEOMETRY_INFO: &[(&str, Info)] = &[
    ("source", Info::Text),
    ("moment_arm_definition", Info::Text),
    ("xml", Info::Text),
];
const SAMPLE_FIELDS: &[&str] = &["q", "length", "moment_arm", "wrapped"];

struct Sample {
    q: Vec<f64>,
    lengths: Vec<f64>,
    arms: Vec<f64>,
}

struct GeometryRef {
    radius: f64,
    tendons: Vec<String>,
    dof: usize,
    samples: Vec<Sample>,
}

fn read_geometry(doc: &Doc) -> Result<GeometryRef, Error> {
    doc.only(&with_info(GEOMETRY_FIELDS, GEOMETRY_INFO))?;
    doc.info(GEOMETRY_INFO)?;
    let radius = doc.positive("elbow_cyl_radius")?;
    let tendons = doc.strings("tendons", None)?;
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
    Ok(GeometryRef {
        radius,
        tendons,
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

fn run_geometry<P: Plant>(file: &str, plant: P, r: &GeometryRef) -> Result<Vec<FieldError>, Error> {
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

// ------------------------------------------------------------------------------------------------------
// GRU
// ------------------------------------------------------------------------------------------------------

/// Tolerance of the GRU reference (forward values and every gradient).
pub const GRU_TOLERANCE: f64 = 1e-10;

const GRU_FIELDS: &[&str] = &[
    "I",
    "H",
    "O",
    "B",
    "T",
    "weight_ih",
    "weight_hh",
    "bias_ih",
    "bias_hh",
    "fc_weight",
    "fc_bias",
    "x",
    "h0",
    "loss_coef",
    "u",
    "h",
    "loss",
    "grad",
];
const GRU_INFO: &[(&str, Info)] = &[("description", Info::Text)];

/// Checks a GRU reference's fields and shapes; returns the number of elements of each compared field.
fn read_gru(doc: &Doc) -> Result<Vec<(String, usize)>, Error> {
    doc.only(&with_info(GRU_FIELDS, GRU_INFO))?;
    doc.info(GRU_INFO)?;
    let [i, h, o, b, t] = ["I", "H", "O", "B", "T"].map(|k| doc.count(k, 1));
    let (i, h, o, b, t) = (i?, h?, o?, b?, t?);
    let h3 = h.saturating_mul(3);
    let tensors = [
        ("weight_ih", "3H × I", vec![h3, i]),
        ("weight_hh", "3H × H", vec![h3, h]),
        ("bias_ih", "3H", vec![h3]),
        ("bias_hh", "3H", vec![h3]),
        ("fc_weight", "O × H", vec![o, h]),
        ("fc_bias", "O", vec![o]),
    ];
    let inputs = [
        ("x", "B × T × I", vec![b, t, i]),
        ("h0", "B × H", vec![b, h]),
    ];
    let some = |v: &Vec<usize>| v.iter().copied().map(Some).collect::<Vec<_>>();
    for (name, what, shape) in tensors.iter().chain(&inputs) {
        doc.array(name, what, &some(shape))?;
    }
    doc.array("loss_coef", "T × B × O", &[Some(t), Some(b), Some(o)])?;
    let mut counts = Vec::new();
    for (name, what, shape) in [("u", "T × B × O", [t, b, o]), ("h", "T × B × H", [t, b, h])] {
        let (v, _) = doc.array(name, what, &shape.map(Some))?;
        counts.push((name.to_string(), v.len()));
    }
    doc.number("loss")?;
    counts.push(("loss".into(), 1));
    let grad = match doc.get("grad")? {
        Value::Object(g) => Doc {
            file: doc.file,
            prefix: "grad.".into(),
            obj: g,
        },
        other => {
            return Err(doc.err(
                "grad",
                format!(
                    "expected an object of gradients by name, found {}",
                    describe(other)
                ),
            ))
        }
    };
    let names: Vec<&str> = tensors.iter().chain(&inputs).map(|p| p.0).collect();
    grad.only(&names)?;
    for (name, what, shape) in tensors.iter().chain(&inputs) {
        let (v, _) = grad.array(name, what, &some(shape))?;
        counts.push((format!("grad.{name}"), v.len()));
    }
    Ok(counts)
}

/// Runs a GRU reference (PyTorch `nn.GRU` + `nn.Linear` + sigmoid): forward values and every gradient.
fn verify_gru(file: &str, reference: &Value) -> Result<CaseReport, Error> {
    let counts = read_gru(&top(file, reference)?)?;
    let fields = motornet_runtime::gru::verify_reference(reference)
        .map_err(|e| Error::Input(format!("{file}: {e}")))?;
    let fields = fields
        .into_iter()
        .map(|(field, err)| FieldError {
            count: counts.iter().find(|c| c.0 == field).map_or(0, |c| c.1),
            field,
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

/// Runs a policy reference (`policies/`: `nn.RNN`, `nn.LSTM`, a stacked `nn.GRU`, a CTRNN, MotorNet's
/// modular GRU): forward values and every gradient, by `motornet_runtime::policy`, which reads the file
/// and refuses missing, misshapen or non-finite fields by name. Each field's count is the number of
/// reference values it holds, so a field the file leaves empty does not pass.
fn verify_policy(file: &str, reference: &Value) -> Result<CaseReport, Error> {
    let fields = motornet_runtime::policy::verify_policy_reference(reference)
        .map_err(|e| Error::Input(format!("{file}: {e}")))?;
    let count = |field: &str| -> usize {
        let value = match field.strip_prefix("grad.") {
            Some(name) => reference.get("grad").and_then(|g| g.get(name)),
            None => reference.get(field),
        };
        value.and_then(|v| flatten(v).ok()).map_or(0, |v| v.len())
    };
    let network = reference
        .get("network")
        .and_then(Value::as_str)
        .unwrap_or("gru");
    Ok(CaseReport {
        case: file.to_string(),
        model: format!("{} policy", short(network)),
        fields: fields
            .into_iter()
            .map(|(field, err)| FieldError {
                count: count(&field),
                field,
                max_scaled: err,
                max_abs: err,
                worst_at: String::new(),
                tolerance: GRU_TOLERANCE,
            })
            .collect(),
    })
}

// ------------------------------------------------------------------------------------------------------
// Files
// ------------------------------------------------------------------------------------------------------

/// Which model to run a reference on.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// A model file or built-in name; by default the built-in model named by the case.
    pub model: Option<String>,
    /// Run the interpreter even where a compiled model exists.
    pub interpreted: bool,
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

/// What came of one reference file.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// It was run and compared (see [`CaseReport::passed`]).
    Compared(CaseReport),
    /// A kind of reference this version cannot run; nothing was compared.
    Unsupported { file: String, kind: Kind },
}

/// Parses reference text and checks it on its own (types, shapes, finiteness, unknown fields), without
/// running a model: the reader [`verify_text`] starts with. Returns the kind; a kind this version cannot
/// run is returned without further checks.
pub fn check_text(file: &str, text: &str) -> Result<Kind, Error> {
    let reference = parse_json(file, text)?;
    check_value(file, &reference)
}

fn check_value(file: &str, reference: &Value) -> Result<Kind, Error> {
    let doc = top(file, reference)?;
    let Some(kind) = classify(reference) else {
        let keys: Vec<String> = doc.obj.keys().take(12).map(|k| short(k)).collect();
        return Err(Error::Input(format!(
            "{file}: not a kind of reference this version knows: it has none of `joint` (trajectory), \
             `grad_actions_t_b_m` (gradient), `samples` (path geometry), `weight_ih` (GRU); its fields: {}",
            if keys.is_empty() { "none".to_string() } else { keys.join(", ") }
        )));
    };
    match kind {
        Kind::Trajectory => {
            read_trajectory(&doc)?;
        }
        Kind::Gradient => {
            read_gradient(&doc)?;
        }
        Kind::PathGeometry => {
            read_geometry(&doc)?;
        }
        Kind::Gru => {
            read_gru(&doc)?;
        }
        _ => {}
    }
    Ok(kind)
}

/// Reads, runs and compares one reference given as text (`file` names it in messages and, when the text
/// has no `case` field, names the case).
pub fn verify_text(file: &str, text: &str, opts: &Options) -> Result<Outcome, Error> {
    let reference = parse_json(file, text)?;
    let kind = check_value(file, &reference)?;
    if !kind.supported() {
        return Ok(Outcome::Unsupported {
            file: file.to_string(),
            kind,
        });
    }
    match kind {
        Kind::Gru => return verify_gru(file, &reference).map(Outcome::Compared),
        Kind::Policy => return verify_policy(file, &reference).map(Outcome::Compared),
        _ => {}
    }
    let case = match kind {
        // Geometry references carry no case name; they are named after their file.
        Kind::PathGeometry => file.split('.').next().unwrap_or_default().to_string(),
        _ => case_name(Path::new(file), &reference),
    };
    let spec = match &opts.model {
        Some(m) => m.clone(),
        None => crate::models::for_case(&case)
            .ok_or_else(|| {
                Error::Input(format!(
                    "{file}: no built-in model for case `{}`; choose one with --model",
                    short(&case)
                ))
            })?
            .to_string(),
    };
    let (mut plant, backend) = crate::models::load(&spec, opts.interpreted)?;
    let doc = top(file, &reference)?;
    let geometry = match kind {
        Kind::PathGeometry => Some(read_geometry(&doc)?),
        _ => None,
    };
    let overrides = match (&geometry, kind) {
        (Some(g), _) => vec![("elbow_cyl.radius".to_string(), g.radius)],
        (None, Kind::Trajectory) => read_trajectory(&doc)?.links,
        _ => Vec::new(),
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
    let fields = match (kind, &geometry) {
        (Kind::Trajectory, _) => run_trajectory(file, plant, &reference)?,
        (Kind::Gradient, _) => run_gradients(file, plant, &reference)?,
        (_, Some(g)) => run_geometry(file, plant, g)?,
        _ => unreachable!("supported kinds are handled above"),
    };
    let backend = match backend {
        crate::models::Backend::Compiled => "compiled",
        crate::models::Backend::Interpreted => "interpreted",
    };
    Ok(Outcome::Compared(CaseReport {
        case: file.to_string(),
        model: format!("{spec} ({backend})"),
        fields,
    }))
}

/// The file name shown for a path.
fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Reads (a regular file of at most [`crate::input::MAX_DATA_BYTES`], UTF-8), runs and compares one
/// reference file.
pub fn verify_path(path: &Path, opts: &Options) -> Result<Outcome, Error> {
    let text = crate::input::read_text(path, "reference", crate::input::MAX_DATA_BYTES)?;
    verify_text(&display_name(path), &text, opts)
}

/// Reads and runs one reference file; a kind this version cannot run is an error.
pub fn verify_file(path: &Path, opts: &Options) -> Result<CaseReport, Error> {
    match verify_path(path, opts)? {
        Outcome::Compared(report) => Ok(report),
        Outcome::Unsupported { file, kind } => Err(Error::Input(format!(
            "{file}: {}: not supported by this version",
            kind.describe()
        ))),
    }
}
