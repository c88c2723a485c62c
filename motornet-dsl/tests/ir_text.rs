//! Snapshots of the lowered IR of every shipped model in its text form (`ir_text`): the review surface of
//! the compiler's output (one line per operation), in place of the generated Rust. Also checks that the
//! text of a real graph reads back to the same graph.

use motornet_dsl::ir_text::{parse_graph, program_text};

fn program(path: &std::path::Path) -> motornet_dsl::program::Program {
    let source = std::fs::read_to_string(path).unwrap();
    let (model, diags) = motornet_dsl::check::compile_source(&source);
    assert!(diags.is_empty(), "{}: {diags:?}", path.display());
    motornet_dsl::lower::lower(&model.unwrap())
}

fn shipped_models() -> Vec<std::path::PathBuf> {
    let mut models: Vec<_> = std::fs::read_dir("../models")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mnet"))
        .collect();
    models.sort();
    assert!(models.len() >= 8);
    models
}

#[test]
fn lowered_ir_of_every_shipped_model() {
    for path in shipped_models() {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = program_text(&program(&path));
        assert_eq!(
            text,
            program_text(&program(&path)),
            "{name}: lowering is not deterministic"
        );
        insta::assert_snapshot!(format!("ir_{name}"), text);
    }
}

#[test]
fn the_text_of_a_lowered_graph_reads_back_to_the_same_graph() {
    for path in shipped_models() {
        let p = program(&path);
        let text = p.graph.to_string();
        let back = parse_graph(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(back.ops(), p.graph.ops(), "{}", path.display());
    }
}
