//! The motornet runtime: the [`Plant`] trait implemented by compiled and interpreted models, batched
//! simulation of effectors ([`Effector`]), and the training stack above it. It knows nothing of the
//! compiler: the compiler (`motornet-dsl`) depends on it, for the operations' values ([`ops`], [`math`]),
//! units ([`units`]) and the [`Plant`] trait its interpreter and generated code implement.

pub mod adam;
pub mod batch;
pub mod effector;
pub mod env;
pub mod error;
pub mod files;
pub mod gru;
pub mod math;
pub mod ops;
pub mod perturb;
pub mod plant;
pub mod policy;
pub mod rollout;
pub mod scalar;
pub mod suggest;
pub mod task;
mod team;
pub mod train;
pub mod units;
pub mod vec_env;

/// The `ndarray` whose array views [`gru::Gru`] takes and returns, re-exported so that callers use the
/// same version without a dependency of their own:
///
/// ```
/// use motornet_runtime::gru::Gru;
/// use motornet_runtime::ndarray::Array2;
/// use motornet_runtime::task::ChaCha8Rng;
/// use rand::SeedableRng;
///
/// let gru = Gru::new(3, 8, 2, &mut ChaCha8Rng::seed_from_u64(0));
/// let mut tape = gru.tape(4, 1); // 4 episodes, 1 step
/// let u = gru.step(&mut tape, 0, Array2::zeros((4, 3)).view());
/// assert_eq!(u.dim(), (4, 2));
/// ```
pub use ndarray;

pub use effector::Effector;
pub use error::Error;
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
    fn reset_unchecked(&self, ws: &mut Workspace, joint: &[f64], state: &mut [f64]) {
        (**self).reset_unchecked(ws, joint, state)
    }
    fn step_unchecked(
        &self,
        ws: &mut Workspace,
        state: &[f64],
        controls: &[f64],
        next: &mut [f64],
    ) {
        (**self).step_unchecked(ws, state, controls, next)
    }
    fn step_batch_unchecked(
        &self,
        ws: &mut Workspace,
        states: &[f64],
        controls: &[f64],
        next: &mut [f64],
    ) {
        (**self).step_batch_unchecked(ws, states, controls, next)
    }
    fn step_vjp_unchecked(
        &self,
        ws: &mut Workspace,
        x: &[f64],
        u: &[f64],
        w: &[f64],
        gx: &mut [f64],
        gu: &mut [f64],
    ) {
        (**self).step_vjp_unchecked(ws, x, u, w, gx, gu)
    }
    fn step_jvp_unchecked(
        &self,
        ws: &mut Workspace,
        x: &[f64],
        u: &[f64],
        tx: &[f64],
        tu: &[f64],
        out: &mut [f64],
    ) {
        (**self).step_jvp_unchecked(ws, x, u, tx, tu, out)
    }
}
