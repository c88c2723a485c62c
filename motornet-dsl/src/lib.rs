//! The `.mnet` model compiler.
//!
//! Pipeline (each stage a module, none doing I/O): [`parse`] text → [`ast`]; [`check`] resolves names, units
//! and topology into a [`model::Model`]; [`lower`] builds one hash-consed expression graph ([`ir`]) for
//! reset, step and observables; [`interp`] evaluates that graph and [`codegen`] turns it into Rust.

pub mod ast;
pub mod diag;
pub mod parse;
pub mod expr;
pub mod ir;
pub mod check;
pub mod lower;
pub mod model;
pub mod muscles;
pub mod program;
pub mod interp;
