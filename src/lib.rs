//! motornet: a symbolic modelling compiler for differentiable musculoskeletal effectors.

pub mod verify;

pub use motornet_dsl as dsl;
pub use motornet_runtime as runtime;
pub use motornet_runtime::{Effector, Error, InterpretedPlant, Plant, PlantInfo};
