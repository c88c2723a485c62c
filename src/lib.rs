//! motornet: a symbolic modelling compiler for differentiable musculoskeletal effectors.
//!
//! Models are written in `.mnet` files (see `docs/language.md`). [`model!`] compiles one into a plant type
//! at build time; [`InterpretedPlant`] loads one at run time. Both implement [`Plant`], which
//! [`Effector`] simulates in batches.

// Lets generated code name `::motornet` from inside this crate too (for the built-in models).
extern crate self as motornet;

pub mod bench;
pub mod models;
pub mod plots;
pub mod training;
pub mod trajectory;
pub mod verify;

pub use motornet_dsl as dsl;
pub use motornet_macros::model;
pub use motornet_runtime as runtime;
pub use motornet_runtime::{Effector, Error, InterpretedPlant, Plant, PlantInfo, Scalar};

/// Items generated code refers to. Not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use motornet_runtime::scalar::{gather, has_avx2, maximum, minimum, scatter, F64x4};
    pub use motornet_runtime::{
        Bounds, Dim, Error, ParamInfo, Plant, PlantInfo, Scalar, Workspace,
    };
}
