//! The GRU policy against PyTorch: forward values and every gradient of the vendored reference.

use motornet_runtime::gru::verify_reference;

#[test]
fn matches_pytorch_reference() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/reference/gru/gru_small.seed1.json"
    );
    let text = std::fs::read_to_string(path).expect("vendored GRU reference");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let report = verify_reference(&json).unwrap();
    let fields: Vec<&str> = report.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        fields,
        [
            "u",
            "h",
            "loss",
            "grad.weight_ih",
            "grad.weight_hh",
            "grad.bias_ih",
            "grad.bias_hh",
            "grad.fc_weight",
            "grad.fc_bias",
            "grad.x",
            "grad.h0"
        ]
    );
    for (field, err) in &report {
        eprintln!("{field:16} {err:.2e}");
        assert!(*err <= 1e-10, "{field}: error {err:e} exceeds 1e-10");
    }
}

#[test]
fn rejects_malformed_reference() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/reference/gru/gru_small.seed1.json"
    ))
    .unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["weight_hh"] = serde_json::json!([[1.0, 2.0]]);
    let err = verify_reference(&json).unwrap_err();
    assert!(err.contains("weight_hh"), "{err}");
}

#[test]
fn detects_a_wrong_gradient() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/reference/gru/gru_small.seed1.json"
    ))
    .unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let g = json["grad"]["weight_hh"][3][2].as_f64().unwrap();
    json["grad"]["weight_hh"][3][2] = serde_json::json!(g + 1e-6);
    let report = verify_reference(&json).unwrap();
    for (field, err) in report {
        if field == "grad.weight_hh" {
            assert!(err > 1e-7, "{field}: {err:e}");
        } else {
            assert!(err <= 1e-10, "{field}: {err:e}");
        }
    }
}
