//! `model!` at compile time: a broken model file fails the build with the compiler's own diagnostics (file,
//! line, column and snippet of every problem), as do a missing file and an absolute path; a valid file
//! compiles into a plant that runs.
//!
//! trybuild compiles each `tests/ui/*/*.rs` in a scratch crate at `target/tests/trybuild/motornet`, and
//! `model!` paths are relative to the compiling crate's manifest, so the cases name their model files as
//! `../../../../tests/ui/models/…` (this needs the default target directory). To regenerate the expected
//! output after a deliberate change: `TRYBUILD=overwrite cargo test --test compile_fail`, then read the
//! `.stderr` files.

#[test]
fn model_macro() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
