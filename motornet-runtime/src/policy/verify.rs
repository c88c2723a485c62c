//! Checking the networks against the PyTorch reference files `policies/<network>.seed<N>.json` (see the
//! reference README): forward values at every step and the exact gradients of
//! `loss = Σ_t Σ_b Σ_k loss_coef[t][b][k] · u[t][b][k]² / 2` with respect to every parameter, the inputs
//! and the initial state(s).

use super::{CellKind, Layered, ModularGru, ModularSpec, Policy, PolicyTape};
use ndarray::{s, Array2, Array3, ArrayView2};
use serde_json::Value;

/// Runs a reference file through the network its `network` field names (`rnn_tanh`, `rnn_relu`, `lstm`,
/// `gru`, `gru<L>` for `L` stacked layers, `ctrnn`, `modular_gru`; a file without the field is the
/// one-layer `gru/` format and goes to [`crate::gru::verify_reference`]) and returns, for each checked
/// field (`u`, `h`, `c`, `h_init`, `loss`, then `grad.<name>` for every parameter, `grad.x`, `grad.h0`,
/// `grad.c0`, as the file provides them), the largest `|ours − reference| / (1 + |reference|)`.
/// Malformed files give an error naming the field, never a panic.
pub fn verify_policy_reference(json: &Value) -> Result<Vec<(String, f64)>, String> {
    let Some(kind) = json.get("network") else {
        return crate::gru::verify_reference(json);
    };
    let kind = kind.as_str().ok_or("field `network` is not a string")?;
    let r = Reader { json };
    match kind {
        "modular_gru" => modular(&r),
        "rnn_tanh" => layered(&r, CellKind::RnnTanh),
        "rnn_relu" => layered(&r, CellKind::RnnRelu),
        "lstm" => layered(&r, CellKind::Lstm),
        "ctrnn" => {
            let alpha = r.number("alpha")?;
            if !(alpha > 0.0 && alpha <= 1.0) {
                return Err(format!("field `alpha` must be in (0, 1], not {alpha}"));
            }
            layered(&r, CellKind::Ctrnn { alpha })
        }
        k if k.starts_with("gru") && k[3..].chars().all(|c| c.is_ascii_digit()) => {
            layered(&r, CellKind::Gru)
        }
        other => Err(format!("field `network`: unknown network `{other}`")),
    }
}

struct Reader<'a> {
    json: &'a Value,
}

impl Reader<'_> {
    fn dim(&self, key: &str) -> Result<usize, String> {
        self.json
            .get(key)
            .and_then(Value::as_u64)
            .map(|v| v as usize)
            .ok_or_else(|| format!("missing or non-integer field `{key}`"))
    }

    fn number(&self, key: &str) -> Result<f64, String> {
        self.json
            .get(key)
            .and_then(Value::as_f64)
            .ok_or_else(|| format!("missing or non-numeric field `{key}`"))
    }

    /// `json[key]` (or `json.grad[key]` with `grad`), checked to have `shape`.
    fn array(&self, key: &str, shape: &[usize], grad: bool) -> Result<Vec<f64>, String> {
        let (root, label) = if grad {
            (
                self.json.get("grad").ok_or("missing field `grad`")?,
                format!("grad.{key}"),
            )
        } else {
            (self.json, key.to_string())
        };
        let v = root
            .get(key)
            .ok_or_else(|| format!("missing field `{label}`"))?;
        let (data, got) = flatten(v).map_err(|e| format!("field `{label}`: {e}"))?;
        if got != shape {
            return Err(format!(
                "field `{label}` has shape {got:?}, expected {shape:?}"
            ));
        }
        Ok(data)
    }

    fn param_names(&self) -> Result<Vec<String>, String> {
        let names = self
            .json
            .get("param_names")
            .and_then(Value::as_array)
            .ok_or("missing field `param_names`")?;
        names
            .iter()
            .map(|n| {
                n.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| "field `param_names` holds a non-string".to_string())
            })
            .collect()
    }
}

/// The reference's key for one of our tensors (the files use PyTorch's names without the module
/// prefix, `fc_weight` for `fc.weight`, no `_l0` for one layer, and their own names for the CTRNN).
fn reference_key(ours: &str, kind: CellKind, layers: usize) -> String {
    let local = ours.split_once('.').map_or(ours, |(p, n)| match p {
        "fc" => "",
        _ => n,
    });
    let local = if local.is_empty() {
        ours.replace('.', "_")
    } else if layers == 1 {
        local.trim_end_matches("_l0").to_string()
    } else {
        local.to_string()
    };
    if matches!(kind, CellKind::Ctrnn { .. }) && layers == 1 {
        return match local.as_str() {
            "weight_ih" => "W_ih",
            "weight_hh" => "W_hh",
            "bias_ih" => "b_ih",
            "bias_hh" => "b_hh",
            "fc_weight" => "W_fc",
            "fc_bias" => "b_fc",
            other => other,
        }
        .to_string();
    }
    local
}

struct Common {
    b: usize,
    t_len: usize,
    i: usize,
    h: usize,
    o: usize,
    x: Array3<f64>,
    coef: Array3<f64>,
}

fn common(r: &Reader) -> Result<Common, String> {
    let (i, h, o, b, t_len) = (
        r.dim("I")?,
        r.dim("H")?,
        r.dim("O")?,
        r.dim("B")?,
        r.dim("T")?,
    );
    let x = Array3::from_shape_vec((b, t_len, i), r.array("x", &[b, t_len, i], false)?)
        .map_err(|e| e.to_string())?;
    let coef = Array3::from_shape_vec((t_len, b, o), r.array("loss_coef", &[t_len, b, o], false)?)
        .map_err(|e| e.to_string())?;
    Ok(Common {
        b,
        t_len,
        i,
        h,
        o,
        x,
        coef,
    })
}

/// Forward and backward over the whole reference trajectory: `(u, hidden activity per step, loss, flat
/// gradient, dL/dx as B × T × I, dL/dh_0)`.
type Run<T> = (
    Vec<f64>,
    Vec<Array2<f64>>,
    f64,
    Vec<f64>,
    Array3<f64>,
    Array2<f64>,
    T,
);

fn run<P: Policy>(net: &P, c: &Common, start: impl FnOnce(&P, &mut P::Tape)) -> Run<P::Tape> {
    let hidden = net.sizes().hidden;
    let mut tape = net.tape(c.b, c.t_len);
    start(net, &mut tape);
    let (mut us, mut hs, mut loss) = (Vec::new(), Vec::new(), 0.0);
    for t in 0..c.t_len {
        let u = net.step(&mut tape, t, c.x.slice(s![.., t, ..]), None);
        us.extend(u.iter());
        loss += (&u * &u * c.coef.slice(s![t, .., ..])).sum() / 2.0;
        hs.push(tape.h(t + 1).to_owned());
    }
    let mut grads = vec![0.0; net.param_count()];
    let mut dh = Array2::zeros((c.b, hidden));
    let mut dx = Array3::zeros((c.b, c.t_len, c.i));
    for t in (0..c.t_len).rev() {
        let du = &tape.u(t) * &c.coef.slice(s![t, .., ..]);
        net.backward(
            &mut tape,
            t,
            du.view(),
            dh.view_mut(),
            &mut grads,
            Some(dx.slice_mut(s![.., t, ..])),
        );
    }
    net.backward_initial(&mut tape, dh.view(), &mut grads);
    (us, hs, loss, grads, dx, dh, tape)
}

/// `layers` blocks of `B × H` side by side per row (`B × L·H`) → `L × B × H`, flat.
fn layer_first(m: &ArrayView2<f64>, layers: usize, h: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(m.len());
    for l in 0..layers {
        for row in m.rows() {
            out.extend(row.iter().skip(l * h).take(h));
        }
    }
    out
}

fn layered(r: &Reader, kind: CellKind) -> Result<Vec<(String, f64)>, String> {
    let c = common(r)?;
    let names = r.param_names()?;
    let layers = names
        .iter()
        .filter(|n| n.starts_with("weight_ih_l"))
        .count()
        .max(1);
    let state_shape: Vec<usize> = if layers > 1 {
        vec![layers, c.b, c.h]
    } else {
        vec![c.b, c.h]
    };
    // Sizes are confirmed by arrays of those sizes before anything is allocated from them.
    let u_ref = r.array("u", &[c.t_len, c.b, c.o], false)?;
    let h0 = r.array("h0", &state_shape, false)?;
    let mut net = Layered::zeros(kind, c.i, c.h, layers, c.o);
    let tensors = net.tensors();
    let keys: Vec<String> = tensors
        .iter()
        .map(|t| reference_key(&t.name, kind, layers))
        .collect();
    let mut expected = keys.clone();
    let mut listed = names.clone();
    expected.sort();
    listed.sort();
    if expected != listed {
        return Err(format!(
            "field `param_names` lists {names:?}, expected the parameters {keys:?}"
        ));
    }
    for (key, t) in keys.iter().zip(&tensors) {
        let data = r.array(key, &t.shape, false)?;
        net.params_mut()[t.range()].copy_from_slice(&data);
    }
    let lstm = kind == CellKind::Lstm;
    let c0 = if lstm {
        Some(r.array("c0", &state_shape, false)?)
    } else {
        None
    };
    let lh = layers * c.h;
    let width = net.sizes().state;
    let mut state = Array2::zeros((c.b, width));
    for l in 0..layers {
        for b in 0..c.b {
            for j in 0..c.h {
                let at = (l * c.b + b) * c.h + j;
                state[[b, l * c.h + j]] = h0[at];
                if let Some(c0) = &c0 {
                    state[[b, lh + l * c.h + j]] = c0[at];
                }
            }
        }
    }
    let (us, hs, loss, grads, dx, dh, tape) = run(&net, &c, |n, t| n.reset_to(t, state.view()));

    let per_step: Vec<usize> = if layers > 1 {
        vec![c.t_len, layers, c.b, c.h]
    } else {
        vec![c.t_len, c.b, c.h]
    };
    let h_ours: Vec<f64> = hs
        .iter()
        .flat_map(|m| layer_first(&m.view(), layers, c.h))
        .collect();
    let mut report = vec![
        ("u".to_string(), max_err(&us, &u_ref)),
        (
            "h".to_string(),
            max_err(&h_ours, &r.array("h", &per_step, false)?),
        ),
    ];
    if lstm {
        let c_ours: Vec<f64> = (1..=c.t_len)
            .flat_map(|t| layer_first(&tape.c(t), layers, c.h))
            .collect();
        report.push((
            "c".into(),
            max_err(&c_ours, &r.array("c", &per_step, false)?),
        ));
    }
    report.push(("loss".into(), max_err(&[loss], &[r.number("loss")?])));
    for (key, t) in keys.iter().zip(&tensors) {
        let reference = r.array(key, &t.shape, true)?;
        report.push((
            format!("grad.{key}"),
            max_err(&grads[t.range()], &reference),
        ));
    }
    let x_ref = r.array("x", &[c.b, c.t_len, c.i], true)?;
    report.push(("grad.x".into(), max_err(dx.as_slice().unwrap(), &x_ref)));
    let h0_ours = layer_first(&dh.view(), layers, c.h);
    report.push((
        "grad.h0".into(),
        max_err(&h0_ours, &r.array("h0", &state_shape, true)?),
    ));
    if lstm {
        let c0_ours = layer_first(&tape.dc0(), layers, c.h);
        report.push((
            "grad.c0".into(),
            max_err(&c0_ours, &r.array("c0", &state_shape, true)?),
        ));
    }
    Ok(report)
}

fn modular(r: &Reader) -> Result<Vec<(String, f64)>, String> {
    let c = common(r)?;
    let sizes = r
        .json
        .get("module_size")
        .and_then(Value::as_array)
        .ok_or("missing field `module_size`")?
        .iter()
        .map(|v| v.as_u64().map(|v| v as usize))
        .collect::<Option<Vec<usize>>>()
        .ok_or("field `module_size` must hold integers")?;
    let m = sizes.len();
    let delays = r.array("connectivity_delay", &[m, m], false)?;
    if delays.iter().any(|d| *d < 0.0 || d.fract() != 0.0) {
        return Err("field `connectivity_delay` must hold non-negative integers".into());
    }
    let k = c.i + c.h;
    let spec = ModularSpec {
        input: c.i,
        modules: sizes,
        output: c.o,
        delay: delays
            .chunks(m.max(1))
            .map(|row| row.iter().map(|d| *d as usize).collect())
            .collect(),
        mask_w: r.array("mask_W", &[c.h, k], false)?,
        mask_y: r.array("mask_Y", &[c.o, c.h], false)?,
        unit_sign: Vec::new(),
        spectral_scaling: None,
    };
    if spec.hidden() != c.h {
        return Err(format!(
            "field `module_size` sums to {}, but `H` is {}",
            spec.hidden(),
            c.h
        ));
    }
    let mut net = ModularGru::zeros(spec).map_err(|e| format!("modular_gru: {e}"))?;
    let tensors = net.tensors();
    for t in &tensors {
        let data = r.array(&t.name, &t.shape, false)?;
        net.params_mut()[t.range()].copy_from_slice(&data);
    }
    let (us, hs, loss, grads, dx, _, tape) = run(&net, &c, |n, t| n.reset(t));
    let h_ours: Vec<f64> = hs.iter().flat_map(|m| m.iter().copied()).collect();
    let h_init: Vec<f64> = tape.h(0).iter().copied().collect();
    let mut report = vec![
        (
            "u".to_string(),
            max_err(&us, &r.array("u", &[c.t_len, c.b, c.o], false)?),
        ),
        (
            "h".to_string(),
            max_err(&h_ours, &r.array("h", &[c.t_len, c.b, c.h], false)?),
        ),
        (
            "h_init".to_string(),
            max_err(&h_init, &r.array("h_init", &[c.b, c.h], false)?),
        ),
        ("loss".to_string(), max_err(&[loss], &[r.number("loss")?])),
    ];
    for t in &tensors {
        let reference = r.array(&t.name, &t.shape, true)?;
        report.push((
            format!("grad.{}", t.name),
            max_err(&grads[t.range()], &reference),
        ));
    }
    let x_ref = r.array("x", &[c.b, c.t_len, c.i], true)?;
    report.push(("grad.x".into(), max_err(dx.as_slice().unwrap(), &x_ref)));
    Ok(report)
}

/// The largest `|a − r| / (1 + |r|)`; NaN if any element is NaN.
fn max_err(ours: &[f64], reference: &[f64]) -> f64 {
    if ours.len() != reference.len() {
        return f64::NAN;
    }
    ours.iter()
        .zip(reference)
        .map(|(a, r)| (a - r).abs() / (1.0 + r.abs()))
        .fold(
            0.0,
            |m: f64, e| if e.is_nan() { f64::NAN } else { m.max(e) },
        )
}

/// A nested JSON array of numbers as row-major data and its shape.
fn flatten(v: &Value) -> Result<(Vec<f64>, Vec<usize>), String> {
    fn walk(
        v: &Value,
        depth: usize,
        shape: &mut Vec<usize>,
        out: &mut Vec<f64>,
    ) -> Result<(), String> {
        match v {
            Value::Number(n) => {
                if depth != shape.len() {
                    return Err("ragged array".into());
                }
                out.push(n.as_f64().ok_or("number out of range")?);
                Ok(())
            }
            Value::Array(items) => {
                if depth == shape.len() {
                    if !out.is_empty() {
                        return Err("ragged array".into());
                    }
                    shape.push(items.len());
                } else if shape.get(depth) != Some(&items.len()) {
                    return Err("ragged array".into());
                }
                items
                    .iter()
                    .try_for_each(|item| walk(item, depth + 1, shape, out))
            }
            _ => Err("expected numbers".into()),
        }
    }
    let (mut shape, mut out) = (Vec::new(), Vec::new());
    walk(v, 0, &mut shape, &mut out)?;
    Ok((out, shape))
}
