//! motornet: a symbolic modelling compiler for differentiable musculoskeletal effectors.
//!
//! Models are written in `.mnet` files (see `docs/language.md`). [`model!`] compiles one into a plant type
//! at build time; [`JitPlant`] loads one at run time and compiles it to native code (Cranelift), and
//! [`InterpretedPlant`] loads one and interprets it (the reference backend). All implement [`Plant`],
//! which [`Effector`] simulates in batches.
//!
//! ```
//! motornet::model!("models/arm26.mnet"); // defines `pub struct Arm26`, implementing `motornet::Plant`
//!
//! # fn main() -> Result<(), motornet::Error> {
//! let mut arm = motornet::Effector::new(Arm26::new(), 32); // 32 effectors side by side
//! arm.reset(&[0.8, 1.2, 0.0, 0.0].repeat(32))?; // joint positions and velocities
//! arm.step(&[0.1; 6 * 32], &[], &[])?; // excitations, endpoint and joint loads
//! let fingertip = arm.part("cartesian").unwrap(); // [x, y, vx, vy] per effector
//! assert_eq!(fingertip.len(), 4 * 32);
//! # Ok(())
//! # }
//! ```

// Lets generated code name `::motornet` from inside this crate too (for the built-in models).
extern crate self as motornet;

pub mod analysis;
pub mod animate;
pub mod bench;
pub mod config;
pub mod experiments;
pub mod import;
pub mod input;
pub mod models;
pub mod plots;
pub mod show;
pub mod training;
pub mod trajectory;
pub mod verify;

pub use motornet_dsl as dsl;
pub use motornet_dsl::InterpretedPlant;
pub use motornet_jit as jit;
pub use motornet_jit::JitPlant;
pub use motornet_macros::model;
pub use motornet_runtime as runtime;
/// The `ndarray` the GRU policy ([`runtime::gru::Gru`]) takes and returns views of.
pub use motornet_runtime::ndarray;
pub use motornet_runtime::{Effector, Error, Plant, PlantInfo, Scalar};

/// Items generated code refers to. Not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use motornet_runtime::math::{cos, sin};
    pub use motornet_runtime::scalar::{has_avx2, lanes, lanes_mut, maximum, minimum, F64x4};
    pub use motornet_runtime::{
        Bounds, Dim, Error, ParamInfo, Plant, PlantInfo, Scalar, Workspace,
    };
}
