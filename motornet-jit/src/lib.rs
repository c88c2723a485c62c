//! Native code for models loaded at run time: a program's expression graph compiled with Cranelift.
//!
//! [`JitPlant`] runs the same functions as `motornet_dsl::InterpretedPlant` (reset, step, its adjoint and
//! its forward-mode derivative) as machine code, computing the interpreter's bits: each operation is the
//! one `motornet_runtime::ops` defines, in the same order. Code depends only on the model, not on its
//! parameter values (those are read from a table), and is compiled once per model per process.
//!
//! Dependencies point one way: this crate uses the compiler (`motornet-dsl`) and the runtime; neither
//! knows about it.

mod code;
mod emit;
mod plant;

pub use code::JitError;
pub use emit::MathMode;
pub use plant::JitPlant;

/// Seconds to generate native code for `program`'s four functions, bypassing the cache (for
/// benchmarks; the code is freed again).
pub fn compile_seconds(program: &motornet_dsl::program::Program) -> Result<f64, JitError> {
    let code = code::compile(program, MathMode::Inline)?;
    Ok(code.free())
}

/// Whether this build can generate native code for the machine it runs on (x86-64 and AArch64).
pub fn available() -> bool {
    cfg!(any(target_arch = "x86_64", target_arch = "aarch64"))
}
