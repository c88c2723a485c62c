//! Fuzzes the `.mnet` front end: any UTF-8 text must yield a model or diagnostics located inside the text,
//! never a panic; a model that checks must lower to a program whose step the interpreter can run.
#![no_main]

use libfuzzer_sys::fuzz_target;
use motornet_dsl::check::compile_source;
use motornet_dsl::diag::{Report, Style};

fuzz_target!(|source: &str| {
    let (model, diags) = compile_source(source);
    assert!(
        model.is_some() || !diags.is_empty(),
        "neither a model nor a diagnostic"
    );
    for d in &diags {
        for s in std::iter::once(d.span).chain(d.related.iter().map(|r| r.0)) {
            assert!(
                s.start <= s.end && s.end <= source.len(),
                "span {s:?} outside the input"
            );
            assert!(source.is_char_boundary(s.start) && source.is_char_boundary(s.end));
        }
    }
    let _ = Report {
        file_name: "fuzz.mnet",
        source,
        diagnostics: &diags,
    }
    .render(Style::Plain);
    if let Some(m) = model {
        let p = motornet_dsl::lower::lower(&m);
        let _ = motornet_dsl::interp::Tape::new(&p.graph, &p.step);
    }
});
