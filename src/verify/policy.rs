//! Policy references (PyTorch): the GRU and the other networks, forward values and every gradient.

use super::*;

/// Tolerance of the GRU reference (forward values and every gradient).
pub const GRU_TOLERANCE: f64 = 1e-10;

pub(super) const GRU_FIELDS: &[&str] = &[
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
pub(super) const GRU_INFO: &[(&str, Info)] = &[("description", Info::Text)];

/// Checks a GRU reference's fields and shapes; returns the number of elements of each compared field.
pub(super) fn read_gru(doc: &Doc) -> Result<Vec<(String, usize)>, Error> {
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
pub(super) fn verify_gru(file: &str, reference: &Value) -> Result<CaseReport, Error> {
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
pub(super) fn verify_policy(file: &str, reference: &Value) -> Result<CaseReport, Error> {
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
