//! The `.mnet` model compiler.
//!
//! Pipeline (each stage a module, none doing I/O): [`parse`] text → [`ast`]; [`check`] resolves names, units
//! and topology into a [`model::Model`]; [`lower`] builds one hash-consed expression graph ([`ir`]) for
//! reset, step and observables; [`interp`] evaluates that graph and [`codegen`] turns it into Rust.

pub mod ast;
pub mod check;
pub mod codegen;
pub mod diag;
pub mod expr;
pub mod interp;
pub mod interpreted;
pub mod ir;
pub mod ir_text;
pub mod lower;
pub mod model;
pub mod muscles;
pub mod parse;
pub mod program;

pub use interpreted::InterpretedPlant;
pub use proc_macro2::TokenStream;

/// Everything `model!` does, minus the file system: compile `source` and generate the plant type, or return
/// the rendered diagnostics (plain text, for `compile_error!`).
pub fn expand(
    source: &str,
    file_name: &str,
    type_name: Option<proc_macro2::Ident>,
    vis: TokenStream,
    runtime: TokenStream,
    source_path: Option<String>,
) -> Result<TokenStream, String> {
    let (model, diags) = check::compile_source(source);
    match model {
        Some(model) => {
            let program = lower::lower(&model);
            let type_name = type_name.unwrap_or_else(|| codegen::type_name(&program.name));
            let opts = codegen::Options {
                type_name,
                runtime,
                vis,
                source_path,
            };
            Ok(codegen::generate(&program, &opts))
        }
        None => Err(diag::Report {
            file_name,
            source,
            diagnostics: &diags,
        }
        .render(diag::Style::Plain)),
    }
}
