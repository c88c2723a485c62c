//! The motornet runtime: the [`Plant`] trait implemented by compiled and interpreted models, and batched
//! simulation of effectors ([`Effector`]).

pub mod adam;
pub mod batch;
pub mod effector;
pub mod env;
pub mod error;
pub mod gru;
pub mod interpreted;
pub mod plant;
pub mod rollout;
pub mod scalar;
pub mod task;
mod team;
pub mod train;

pub use effector::Effector;
pub use error::Error;
pub use interpreted::InterpretedPlant;
pub use plant::{Bounds, Dim, ParamInfo, Plant, PlantInfo, Workspace};
pub use rollout::{Rollout, RolloutGradients};
pub use scalar::Scalar;

impl<P: Plant + ?Sized> Plant for Box<P> {
    fn info(&self) -> &PlantInfo {
        (**self).info()
    }
    fn params(&self) -> &[f64] {
        (**self).params()
    }
    fn set_params(&mut self, values: &[f64]) -> Result<(), Error> {
        (**self).set_params(values)
    }
    fn bounds(&self) -> &[Bounds] {
        (**self).bounds()
    }
    fn timestep(&self) -> f64 {
        (**self).timestep()
    }
    fn muscle_normalizers(&self) -> &[[f64; 2]] {
        (**self).muscle_normalizers()
    }
    fn workspace(&self) -> Workspace {
        (**self).workspace()
    }
    fn reset(&self, ws: &mut Workspace, joint: &[f64], state: &mut [f64]) {
        (**self).reset(ws, joint, state)
    }
    fn step(&self, ws: &mut Workspace, state: &[f64], controls: &[f64], next: &mut [f64]) {
        (**self).step(ws, state, controls, next)
    }
    fn step_batch(&self, ws: &mut Workspace, states: &[f64], controls: &[f64], next: &mut [f64]) {
        (**self).step_batch(ws, states, controls, next)
    }
    fn step_vjp(
        &self,
        ws: &mut Workspace,
        x: &[f64],
        u: &[f64],
        w: &[f64],
        gx: &mut [f64],
        gu: &mut [f64],
    ) {
        (**self).step_vjp(ws, x, u, w, gx, gu)
    }
    fn step_jvp(
        &self,
        ws: &mut Workspace,
        x: &[f64],
        u: &[f64],
        tx: &[f64],
        tu: &[f64],
        out: &mut [f64],
    ) {
        (**self).step_jvp(ws, x, u, tx, tu, out)
    }
}
