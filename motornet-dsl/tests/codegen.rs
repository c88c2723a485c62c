//! The generated Rust of every shipped model is valid and deterministic; one model's (arm26) is kept as a
//! snapshot to show the macro's shape in review. What the compiler computes is reviewed in the IR text
//! snapshots (`tests/ir_text.rs`), which are a fraction of the size.

use std::path::Path;

fn expand(path: &Path) -> String {
    let source = std::fs::read_to_string(path).unwrap();
    let tokens = motornet_dsl::expand(
        &source,
        &path.display().to_string(),
        None,
        "pub".parse().unwrap(),
        "::motornet::__private".parse().unwrap(),
        None,
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    syn::parse2::<syn::File>(tokens.clone())
        .unwrap_or_else(|e| panic!("{}: not valid Rust: {e}", path.display()));
    motornet_dsl::codegen::pretty(&tokens)
}

#[test]
fn generated_code_of_every_shipped_model() {
    let mut models: Vec<_> = std::fs::read_dir("../models")
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    models.sort();
    assert!(models.len() >= 8);
    for path in models {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let code = expand(&path);
        assert_eq!(
            code,
            expand(&path),
            "{name}: expansion is not deterministic"
        );
        if name == "arm26" {
            insta::assert_snapshot!(format!("expand_{name}"), code);
        }
    }
}
