//! The "bad input" corpus: every file in `tests/bad/` is a small model with one kind of problem (named after
//! it; `multiple_errors.mnet` has several). Each must be rejected with every problem reported at once, each
//! diagnostic located inside the file, and nothing else reported: the codes are listed below, in the order
//! they are reported (reading order), and the plain rendering is pinned by a snapshot
//! (`tests/snapshots/diagnostics__<file>.snap`), which is what `model!` and `motornet check` print.
//!
//! To add a case: write `tests/bad/NAME.mnet`, add it to `EXPECTED`, run
//! `INSTA_UPDATE=always cargo test -p motornet-dsl --test diagnostics` and read the new snapshot.

use motornet_dsl::check::compile_source;
use motornet_dsl::diag::{line_col, Diagnostic, Report, Style};
use std::path::{Path, PathBuf};

/// File stem → the codes of its diagnostics, in reading order.
const EXPECTED: &[(&str, &[&str])] = &[
    ("binary", &["binary-file"]),
    ("broken_joint", &["syntax"]),
    ("broken_path", &["syntax"]),
    ("broken_value", &["syntax"]),
    ("comments_only", &["empty-file"]),
    ("const_cycle", &["const-cycle"]),
    ("coordinate_outside_path", &["unknown-name"]),
    ("crlf_line_endings", &["unknown-body"]),
    ("declaration_in_block", &["syntax"]),
    ("disconnected_body", &["disconnected-body"]),
    ("duplicate_name", &["duplicate-name"]),
    ("duplicate_path", &["duplicate-path"]),
    ("duplicate_property", &["duplicate-property"]),
    ("empty", &["empty-file"]),
    ("endpoint_unknown_body", &["unknown-body"]),
    ("extra_closing_brace", &["syntax"]),
    ("inverted_range", &["invalid-value"]),
    ("lumped_path_wrong_unit", &["unit-mismatch"]),
    ("min_activation_too_large", &["invalid-value"]),
    ("ministeps_not_integer", &["invalid-value"]),
    ("missing_endpoint", &["missing-endpoint"]),
    ("missing_mass", &["missing-property"]),
    ("missing_muscle_param", &["missing-property"]),
    ("missing_path", &["missing-path"]),
    ("missing_semicolon_before_brace", &["syntax", "syntax"]),
    ("missing_semicolon_between_properties", &["syntax"]),
    ("missing_value", &["missing-value"]),
    ("mixed_muscle_models", &["mixed-muscle-models"]),
    (
        "multiple_errors",
        &[
            "invalid-value",    // timestep -0.01 s
            "unknown-choice",   // integrator eulr
            "unknown-property", // mas
            "unit-mismatch",    // mass 1.4 s
            "invalid-value",    // range 90 deg .. 0 deg
            "unknown-body",     // forarm
            "path-too-short",   // path world (0, 0) m
            "missing-property", // triceps has no max_force
            "syntax",           // path lumped … without `;`
        ],
    ),
    ("negative_mass", &["invalid-value"]),
    ("nested_braces", &["syntax"]),
    ("negative_radius", &["invalid-value"]),
    ("no_joints", &["no-skeleton"]),
    ("no_model", &["syntax"]),
    ("non_ascii_name", &["syntax"]),
    ("non_finite", &["non-finite", "non-finite"]),
    ("not_a_number", &["non-finite"]),
    ("path_in_body", &["misplaced"]),
    ("path_one_point", &["path-too-short"]),
    ("point_inside_obstacle", &["point-inside-obstacle"]),
    ("range_not_range", &["wrong-value"]),
    ("repeated_unknown_body", &["unknown-body"]),
    ("reserved_name", &["reserved-name"]),
    ("scalar_for_vector", &["wrong-value"]),
    ("skeleton_cycle", &["skeleton-cycle"]),
    ("stray_character", &["syntax"]),
    ("syntax_missing_semicolon", &["syntax"]),
    ("too_deep", &["too-deep"]),
    ("trailing_garbage", &["syntax"]),
    ("two_parents", &["two-parents"]),
    ("unclosed_block", &["syntax"]),
    ("unclosed_comment", &["syntax"]),
    ("unit_mismatch", &["unit-mismatch"]),
    ("unit_without_number", &["unknown-name"]),
    ("unknown_body", &["unknown-body"]),
    ("unknown_function", &["unknown-function"]),
    ("unknown_integrator", &["unknown-choice"]),
    ("unknown_joint_type", &["unknown-choice"]),
    ("unknown_muscle_model", &["unknown-muscle-model"]),
    ("unknown_name", &["unknown-name"]),
    ("unknown_obstacle", &["unknown-obstacle"]),
    ("unknown_obstacle_shape", &["unknown-obstacle"]),
    ("unknown_property", &["unknown-property"]),
    ("unknown_setting", &["unknown-property"]),
    ("unknown_unit", &["unknown-unit"]),
    ("vector_wrong_arity", &["wrong-value"]),
    ("world_as_child", &["world-child"]),
    ("wrap_not_bracketed", &["wrap-not-bracketed"]),
    ("chained_wrap_planar", &["spatial-only"]),
    ("repeated_wrap", &["repeated-wrap"]),
    ("wrong_arity", &["wrong-arity"]),
    ("zero_mass", &["invalid-value"]),
    ("byte_order_mark", &["unit-mismatch", "unknown-property"]),
    ("cr_line_endings", &["unknown-body"]),
    ("space_before_call", &["syntax", "wrong-value"]),
    ("lumped_path_with_unit", &["syntax"]),
    ("flat_sum_too_long", &["too-long"]),
    ("nesting_too_deep", &["too-long"]),
    ("long_name", &["unknown-body"]),
];

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/bad")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "mnet"))
        .collect();
    files.sort();
    files
}

fn stem(path: &Path) -> &str {
    path.file_stem()
        .and_then(|s| s.to_str())
        .expect("file name")
}

/// Every span of `d` lies within `source` and on character boundaries.
fn assert_located(name: &str, source: &str, d: &Diagnostic) {
    let spans = std::iter::once(d.span).chain(d.related.iter().map(|r| r.0));
    for s in spans {
        assert!(
            s.start <= s.end && s.end <= source.len(),
            "{name}: span {s:?} of `{}` is outside the {}-byte file",
            d.message,
            source.len()
        );
        assert!(
            source.is_char_boundary(s.start) && source.is_char_boundary(s.end),
            "{name}: span {s:?} of `{}` splits a character",
            d.message
        );
    }
}

#[test]
fn corpus_and_table_agree() {
    let files: Vec<String> = corpus().iter().map(|p| stem(p).to_string()).collect();
    let listed: Vec<&str> = EXPECTED.iter().map(|e| e.0).collect();
    for f in &files {
        assert!(
            listed.contains(&f.as_str()),
            "tests/bad/{f}.mnet is not listed in EXPECTED"
        );
    }
    for l in &listed {
        assert!(
            files.iter().any(|f| f == l),
            "EXPECTED lists `{l}` but tests/bad/{l}.mnet does not exist"
        );
    }
    assert!(
        files.len() >= 25,
        "the corpus has only {} files",
        files.len()
    );
}

#[test]
fn every_problem_is_reported_located_and_rendered() {
    for path in corpus() {
        let name = stem(&path).to_string();
        let bytes = std::fs::read(&path).expect("read");
        let source = String::from_utf8(bytes).expect("corpus files are UTF-8");
        let (model, diags) = compile_source(&source);
        assert!(model.is_none(), "{name}: a broken model was accepted");
        assert!(!diags.is_empty(), "{name}: no diagnostic");
        for d in &diags {
            assert_located(&name, &source, d);
            assert!(!d.message.is_empty(), "{name}: empty message");
        }
        let codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
        let expected = EXPECTED
            .iter()
            .find(|e| e.0 == name)
            .map_or(&[][..], |e| e.1);
        assert_eq!(codes, expected, "{name}: diagnostic codes");

        let file_name = format!("tests/bad/{name}.mnet");
        let report = Report {
            file_name: &file_name,
            source: &source,
            diagnostics: &diags,
        };
        let mut rendered = report.render(Style::Plain);
        // The one-line form too: `file:line:col: error[code]: message`.
        rendered.push_str("\n---\n");
        for d in &diags {
            rendered.push_str(&report.one_line(d));
        }
        insta::with_settings!({ prepend_module_to_snapshot => true, omit_expression => true }, {
            insta::assert_snapshot!(name, rendered);
        });
    }
}

#[test]
fn positions_count_lines_and_characters() {
    // The one-line form and the snippet agree on line:col, also after multi-byte characters and CRLF.
    let source = "model m {\r\n  joint é: world -> a {}\r\n}\r\n";
    let (_, diags) = compile_source(source);
    let d = diags.first().expect("a diagnostic");
    assert_eq!(line_col(source, d.span.start), (2, 9));
}

/// A model on one long line (as an export script writes it), with problems far out on it, renders without
/// panicking: a window of the line around each problem, with the true line:col.
#[test]
fn problems_on_a_very_long_line_render_as_a_window() {
    let mut source =
        String::from("model m { body a { mass 1 kg; length 0.3 m; } joint j: world -> a {} ");
    let mut i = 0;
    while source.len() < 70_000 {
        source.push_str(&format!(
            "body b{i} {{ mass 1 kg; }} joint k{i}: a -> b{i} {{}} "
        ));
        i += 1;
    }
    let at = source.len();
    source.push_str("body z { mass 1 s; } joint kz: a -> z {} endpoint a; }");
    let (_, diags) = compile_source(&source);
    let d = diags
        .iter()
        .find(|d| d.code == "unit-mismatch")
        .expect("unit-mismatch");
    let col = source[..d.span.start].chars().count() + 1;
    assert!(col > 65_536 && d.span.start > at, "{col}");
    let report = Report {
        file_name: "long.mnet",
        source: &source,
        diagnostics: &diags,
    };
    let rendered = report.render(Style::Plain);
    assert!(
        rendered.contains(&format!("[long.mnet:1:{col}]")),
        "{rendered}"
    );
    assert!(rendered.contains("mass 1 s;"), "{rendered}");
    assert!(rendered.contains("only columns"), "{rendered}");
    assert!(
        rendered.len() < 4000,
        "{} bytes: {rendered}",
        rendered.len()
    );
    assert_eq!(
        report.one_line(d),
        format!("long.mnet:1:{col}: error[unit-mismatch]: {}\n", d.message)
    );
    // Multi-byte characters before the problem: columns still count characters.
    let wide = source.replacen("model m {", "model m { /* ééééé */", 1);
    let (_, diags) = compile_source(&wide);
    let d = diags
        .iter()
        .find(|d| d.code == "unit-mismatch")
        .expect("unit-mismatch");
    assert_eq!(line_col(&wide, d.span.start), (1, col + 12));
    let rendered = Report {
        file_name: "w.mnet",
        source: &wide,
        diagnostics: &diags,
    }
    .render(Style::Plain);
    assert!(
        rendered.contains(&format!("[w.mnet:1:{}]", col + 12)),
        "{rendered}"
    );
}

/// Thousands of problems: the first `MAX_RENDERED` are drawn, the rest counted, and the total is right.
#[test]
fn many_problems_are_capped_in_the_rendering_but_counted() {
    let mut source = String::from("model m {\n  body a { mass 1 kg; }\n  joint j: world -> a {}\n");
    for _ in 0..3000 {
        source.push_str("  body a { mass 1 kg; }\n");
    }
    source.push_str("}\n");
    let (_, diags) = compile_source(&source);
    assert_eq!(diags.len(), 3000);
    let rendered = Report {
        file_name: "dup.mnet",
        source: &source,
        diagnostics: &diags,
    }
    .render(Style::Plain);
    let shown = rendered.matches("is defined twice").count();
    assert_eq!(shown, motornet_dsl::diag::MAX_RENDERED);
    assert!(
        rendered.contains("… and 2950 more problems (only the first 50 are shown)"),
        "{rendered}"
    );
    assert!(
        rendered.ends_with("3000 problems in dup.mnet\n"),
        "{rendered}"
    );
    // Each drawing shows the lines around its own problem and around the first definition, not every line
    // in between.
    assert!(
        rendered.lines().count() < 50 * 20,
        "{} lines",
        rendered.lines().count()
    );
}

#[test]
fn line_ends_of_every_kind_count_as_lines() {
    for nl in ["\n", "\r\n", "\r"] {
        let source = ["// comment", "model m {", "  body a { mas 1 kg; }", "}"].join(nl);
        let (_, diags) = compile_source(&source);
        let d = diags
            .iter()
            .find(|d| d.code == "unknown-property")
            .expect("unknown-property");
        assert_eq!(line_col(&source, d.span.start), (3, 12), "{nl:?}");
        let rendered = Report {
            file_name: "f.mnet",
            source: &source,
            diagnostics: &diags,
        }
        .render(Style::Plain);
        assert!(rendered.contains("[f.mnet:3:12]"), "{nl:?}: {rendered}");
        assert!(
            rendered.contains(" 3 │   body a { mas 1 kg; }"),
            "{nl:?}: {rendered}"
        );
    }
    // A byte-order mark is not a column.
    let source = "\u{feff}model m { body a { mas 1 kg; } }";
    let (_, diags) = compile_source(source);
    let d = diags
        .iter()
        .find(|d| d.code == "unknown-property")
        .expect("unknown-property");
    assert_eq!(line_col(source, d.span.start), (1, 20));
}
