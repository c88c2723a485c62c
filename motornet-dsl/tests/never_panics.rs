//! The front end never panics: whatever the text, `compile_source` returns a model or at least one
//! diagnostic, and every diagnostic points inside the text. Bounded property tests (a few hundred cases
//! each, seconds in debug builds) over random bytes, token soups of the language, and random edits of the
//! shipped models; plus limits on nesting and length, and "a valid model has no diagnostics".

use motornet_dsl::check::compile_source;
use proptest::prelude::*;
use std::path::Path;

/// The shipped models (`models/*.mnet` at the workspace root).
fn shipped() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("models/")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "mnet"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read model");
            (p.display().to_string(), text)
        })
        .collect();
    out.sort();
    assert!(
        !out.is_empty(),
        "no shipped models found in {}",
        dir.display()
    );
    out
}

/// Compiles `source` and checks the contract: a model, or diagnostics all located inside the text.
fn check_contract(source: &str) {
    let (model, diags) = compile_source(source);
    assert!(
        model.is_some() || !diags.is_empty(),
        "no model and no diagnostic for {source:?}"
    );
    assert!(
        model.is_none() || diags.is_empty(),
        "a model together with diagnostics for {source:?}"
    );
    for d in &diags {
        for s in std::iter::once(d.span).chain(d.related.iter().map(|r| r.0)) {
            assert!(
                s.start <= s.end && s.end <= source.len(),
                "span {s:?} of {:?} outside the {}-byte input {source:?}",
                d.message,
                source.len()
            );
            assert!(
                source.is_char_boundary(s.start) && source.is_char_boundary(s.end),
                "span {s:?} of {:?} splits a character in {source:?}",
                d.message
            );
        }
        assert!(!d.message.is_empty());
    }
    // Rendering never panics either.
    let report = motornet_dsl::diag::Report {
        file_name: "fuzz.mnet",
        source,
        diagnostics: &diags,
    };
    let _ = report.render(motornet_dsl::diag::Style::Plain);
}

/// Words and symbols of the language, and some near misses.
const TOKENS: &[&str] = &[
    "model",
    "const",
    "body",
    "joint",
    "muscle",
    "obstacle",
    "path",
    "lumped",
    "wrap",
    "side",
    "world",
    "pi",
    "arm",
    "forearm",
    "upper_arm",
    "shoulder",
    "elbow",
    "m",
    "mass",
    "com",
    "inertia",
    "length",
    "type",
    "hinge",
    "slide",
    "at",
    "range",
    "velocity",
    "damping",
    "radius",
    "cylinder",
    "sphere",
    "timestep",
    "ministeps",
    "integrator",
    "euler",
    "rk4",
    "motornet_rk4",
    "path_velocity",
    "exact",
    "motornet",
    "gravity",
    "endpoint",
    "ReluMuscle",
    "MujocoHillMuscle",
    "RigidTendonHillMuscle",
    "RigidTendonHillMuscleThelen",
    "CompliantTendonHillMuscle",
    "max_force",
    "optimal_length",
    "tendon_length",
    "min_activation",
    "sin",
    "cos",
    "atan2",
    "sqrt",
    "min",
    "max",
    "sin(",
    "max(",
    "kg",
    "g",
    "cm",
    "mm",
    "ms",
    "s",
    "N",
    "rad",
    "deg",
    "kg m^2",
    "rad/s",
    "N m s/rad",
    "^2",
    "^-1",
    "{",
    "}",
    "(",
    ")",
    ";",
    ":",
    ",",
    "->",
    "..",
    "=",
    "+",
    "-",
    "*",
    "/",
    "^",
    ".",
    "0",
    "1",
    "0.5",
    "-1",
    "1e3",
    "1e999",
    "1/0",
    "2.5",
    "135",
    "//",
    "/*",
    "*/",
    "\n",
    " ",
    "\t",
    "#",
    "@",
    "é",
    "\"",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop::sample::select(TOKENS),
            prop::sample::select(&["", " ", "\n"][..]),
        ),
        0..80,
    )
    .prop_map(|parts| {
        parts
            .into_iter()
            .map(|(t, sep)| format!("{t}{sep}"))
            .collect()
    })
}

/// A token soup inside `model m { … }`, so the parser gets past the header and into recovery.
fn model_soup() -> impl Strategy<Value = String> {
    token_soup().prop_map(|body| format!("model m {{\n{body}\n}}\n"))
}

#[derive(Clone, Debug)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, String),
    Replace(usize, usize, String),
}

fn edit() -> impl Strategy<Value = Edit> {
    let text = prop_oneof![
        prop::sample::select(TOKENS).prop_map(str::to_string),
        any::<char>().prop_map(|c| c.to_string()),
    ];
    prop_oneof![
        (any::<usize>(), 1..20usize).prop_map(|(a, n)| Edit::Delete(a, n)),
        (any::<usize>(), text.clone()).prop_map(|(a, t)| Edit::Insert(a, t)),
        (any::<usize>(), 1..10usize, text).prop_map(|(a, n, t)| Edit::Replace(a, n, t)),
    ]
}

/// Applies `edits` to `text`, positions taken modulo the length and moved to character boundaries.
fn apply(text: &str, edits: &[Edit]) -> String {
    let mut s = text.to_string();
    let boundary = |s: &str, i: usize| {
        let mut i = if s.is_empty() { 0 } else { i % (s.len() + 1) };
        while !s.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    for e in edits {
        match e {
            Edit::Delete(a, n) => {
                let a = boundary(&s, *a);
                let b = boundary(&s, (a + n).min(s.len()));
                s.replace_range(a..b.max(a), "");
            }
            Edit::Insert(a, t) => {
                let a = boundary(&s, *a);
                s.insert_str(a, t);
            }
            Edit::Replace(a, n, t) => {
                let a = boundary(&s, *a);
                let b = boundary(&s, (a + n).min(s.len()));
                s.replace_range(a..b.max(a), t);
            }
        }
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        check_contract(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn random_text(text in "\\PC{0,300}") {
        check_contract(&text);
    }

    #[test]
    fn token_soups(soup in token_soup()) {
        check_contract(&soup);
    }

    #[test]
    fn token_soups_inside_a_model(soup in model_soup()) {
        check_contract(&soup);
    }

    #[test]
    fn edited_shipped_models(which in any::<prop::sample::Index>(), edits in prop::collection::vec(edit(), 1..6)) {
        let models = shipped();
        let (_, text) = &models[which.index(models.len())];
        check_contract(&apply(text, &edits));
    }
}

#[test]
fn shipped_models_have_no_diagnostics() {
    for (name, text) in shipped() {
        let (model, diags) = compile_source(&text);
        assert!(diags.is_empty(), "{name}: {diags:#?}");
        assert!(model.is_some(), "{name}: no model");
    }
}

#[test]
fn a_valid_model_has_no_diagnostics_whatever_its_layout() {
    // The same model with CRLF line endings, tabs, comments everywhere and no blank at all where none is
    // needed.
    let text = "model m {\n  timestep 0.01 s;\n  body a { mass 1 kg; com (0.1, 0) m; length 0.3 m; }\n  \
                joint j: world -> a { range 0 deg .. 90 deg; }\n  \
                muscle f: ReluMuscle { max_force 100 N; path world (0, 0.1) m -> a (0.1, 0) m; }\n}\n";
    let variants = [
        text.to_string(),
        text.replace('\n', "\r\n"),
        text.replace("  ", "\t"),
        text.replace('\n', " // comment\n"),
        text.replace(" { ", "/* c */{/* c */"),
        "model m{timestep 0.01s;body a{mass 1kg;com(0.1,0)m;length 0.3m;}joint j:world->a{range 0deg..90deg;}\
         muscle f:ReluMuscle{max_force 100N;path world(0,0.1)m->a(0.1,0)m;}}"
            .to_string(),
    ];
    for v in variants {
        let (model, diags) = compile_source(&v);
        assert!(diags.is_empty(), "{v:?}: {diags:#?}");
        assert!(model.is_some());
    }
}

/// Runs `f` on a thread with the default test stack (2 MiB), so deep recursion shows up here.
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("no panic, no stack overflow");
}

#[test]
fn long_and_deep_input_is_refused_or_handled_without_overflow() {
    let cases: Vec<(String, Option<&str>)> = vec![
        // Just under the limits: accepted.
        (format!("{}1{}", "(".repeat(60), ")".repeat(60)), None),
        (vec!["1"; 199].join(" + "), None),
        // A flat sum or product is not nesting: up to the operator limit (1000 per declaration).
        (vec!["1"; 300].join(" + "), None),
        (vec!["1"; 1001].join(" + "), None),
        (vec!["2"; 1001].join(" * "), None),
        (vec!["1 - 2 * 3"; 300].join(" + "), None),
        (format!("{}1", "- ".repeat(199)), None),
        (vec!["1"; 199].join(" ^ "), None),
        (format!("{}1{}", "sin(".repeat(60), ")".repeat(60)), None),
        // A long sum in balanced groups is not deep.
        (
            vec![format!("({})", vec!["1"; 100].join(" + ")); 9].join(" + "),
            None,
        ),
        // Over them: reported.
        (
            format!("{}1{}", "(".repeat(200), ")".repeat(200)),
            Some("too-deep"),
        ),
        (vec!["1"; 5000].join(" + "), Some("too-long")),
        (vec!["1"; 1002].join(" * "), Some("too-long")),
        (format!("{}1", "- ".repeat(1000)), Some("too-long")),
        (format!("{}1", "-".repeat(5000)), Some("too-long")),
        (vec!["1"; 1000].join("^"), Some("too-long")),
        (vec!["1"; 5000].join("^"), Some("too-long")),
        // Unclosed brackets in many statements are not one deep nest.
        (format!("{}1", "(1; const d = ".repeat(100)), Some("syntax")),
    ];
    for (expr, code) in cases {
        on_small_stack(move || {
            let src = format!(
                "model m {{ const c = {expr}; body a {{ mass 1 kg; }} joint j: world -> a {{}} }}"
            );
            let (_, diags) = compile_source(&src);
            match code {
                None => assert!(
                    diags
                        .iter()
                        .all(|d| d.code != "too-deep" && d.code != "too-long"),
                    "{diags:?}"
                ),
                Some(code) => assert!(diags.iter().any(|d| d.code == code), "{code}: {diags:?}"),
            }
        });
    }
}

#[test]
fn many_broken_statements_are_each_reported() {
    // Recovery keeps going: every broken statement gets its own diagnostic.
    let mut src = String::from("model m {\n  body a { mass 1 kg; }\n  joint j: world -> a {}\n");
    for i in 0..200 {
        src.push_str(&format!("  body b{i} {{ mass 1 kg; com (1, ) m; }}\n"));
    }
    src.push_str("}\n");
    let (_, diags) = compile_source(&src);
    let syntax = diags.iter().filter(|d| d.code == "syntax").count();
    assert_eq!(syntax, 200, "{diags:#?}");
}

#[test]
fn a_long_flat_sum_in_a_lumped_path_compiles_lowers_and_expands_on_a_small_stack() {
    // 500 terms (an export script's output): not nesting, so accepted, and every later stage copes.
    on_small_stack(|| {
        let terms = vec!["0.001*j"; 499].join(" + ");
        let src = format!(
            "model m {{ body a {{ mass 1 kg; length 0.3 m; }} joint j: world -> a {{}}\n\
             muscle mu: ReluMuscle {{ max_force 10 N; path lumped 0.1 + {terms}; }} }}"
        );
        let tokens = motornet_dsl::expand(
            &src,
            "sum.mnet",
            None,
            "pub".parse().unwrap(),
            "::rt".parse().unwrap(),
            None,
        );
        assert!(tokens.is_ok(), "{}", tokens.err().unwrap_or_default());
    });
}

#[test]
fn chains_of_constants_are_bounded_and_reported_once() {
    for (n, cycle) in [(99, false), (3000, false), (3000, true)] {
        on_small_stack(move || {
            let mut src =
                String::from("model m {\n  body a { mass c0 kg; }\n  joint j: world -> a {}\n");
            for i in 0..n {
                src.push_str(&format!("  const c{i} = c{} + 1;\n", i + 1));
            }
            src.push_str(&format!(
                "  const c{n} = {};\n}}\n",
                if cycle { "c0" } else { "1" }
            ));
            let (_, diags) = compile_source(&src);
            let deep = diags.iter().filter(|d| d.code == "too-deep").count();
            if n < 100 {
                assert!(diags.is_empty(), "{diags:?}");
            } else {
                assert_eq!(deep, 1, "{diags:?}");
                assert!(diags[0].message.contains("100"), "{}", diags[0].message);
            }
        });
    }
}

#[test]
fn a_deep_skeleton_is_checked_without_recursion_or_quadratic_walks() {
    // 2 000 bodies, each hanging from the previous one (before, each body's walk to the world rescanned the
    // chain: cubic in the depth); then the same with the chain's root unattached
    // (one report), and with the chain closed into a cycle (one report).
    for variant in ["ok", "unattached", "cycle"] {
        on_small_stack(move || {
            let n = 2_000;
            let root = match variant {
                "ok" => "world".to_string(),
                "unattached" => "nowhere".to_string(),
                _ => format!("b{}", n - 1),
            };
            let mut src = format!(
                "model m {{\n body b0 {{ mass 1 kg; }}\n joint j0: {root} -> b0 {{}}\n endpoint b{};\n",
                n - 1
            );
            for i in 1..n {
                src.push_str(&format!(
                    " body b{i} {{ mass 1 kg; }}\n joint j{i}: b{} -> b{i} {{}}\n",
                    i - 1
                ));
            }
            src.push_str("}\n");
            let (ast, diags) = motornet_dsl::parse::parse(&src);
            assert!(diags.is_empty(), "{diags:?}");
            let (_, diags) = motornet_dsl::check::check(&ast.expect("model"));
            let codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
            match variant {
                "ok" => assert!(codes.is_empty(), "{codes:?}"),
                "unattached" => assert_eq!(codes, ["unknown-body"]),
                _ => assert_eq!(codes, ["skeleton-cycle"]),
            }
        });
    }
}

#[test]
fn huge_similar_names_get_no_suggestion_and_are_clipped() {
    // Two 100 000-character names one letter apart: an edit distance between them would take 10^10 steps.
    let a = "x".repeat(100_000);
    let b = format!("{}y", "x".repeat(99_999));
    let src =
        format!("model m {{ body {a} {{ mass 1 kg; }} joint j: world -> {b} {{}} endpoint {a}; }}");
    let (_, diags) = compile_source(&src);
    assert!(diags.iter().any(|d| d.code == "unknown-body"), "{diags:?}");
    let rendered = motornet_dsl::diag::Report {
        file_name: "n.mnet",
        source: &src,
        diagnostics: &diags,
    }
    .render(motornet_dsl::diag::Style::Plain);
    assert!(rendered.len() < 5000, "{} bytes", rendered.len());
}
