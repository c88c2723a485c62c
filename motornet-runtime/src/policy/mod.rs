//! Recurrent policies behind one interface, so that the trainer, checkpoints, evaluation and plots can use
//! any network: the one-layer GRU of [`crate::gru`] (MotorNet's `PolicyGRU`), stacked Elman RNNs (tanh or
//! ReLU), LSTMs and GRUs in PyTorch's multi-layer layout, a leaky continuous-time RNN, and MotorNet's
//! `ModularPolicyGRU`.
//!
//! Every network keeps its parameters in one flat `Vec<f64>` in PyTorch's `parameters()` order (what the
//! optimizer, gradient clipping and checkpoints work on) and names each tensor by its `state_dict` key
//! ([`Policy::tensors`]), so a checkpoint loads into the matching torch module. Training interleaves the
//! network with a plant, so the forward pass is one step at a time ([`Policy::step`]) onto a tape allocated
//! once per episode batch, and the backward pass one step at a time in decreasing `t`
//! ([`Policy::backward`]), returning `dL/dx_t` for the plant's adjoint — the interface of
//! [`crate::gru::Gru`], which implements [`Policy`] itself.
//!
//! One training episode with any policy (what `train.rs` does), in outline:
//! ```text
//! let mut tape = net.tape(batch, steps);              // once per worker
//! let mut grads = vec![0.0; net.param_count()];
//! net.reset(&mut tape);                               // zeros, or tanh(h0)
//! for t in 0..steps {
//!     let u = net.step(&mut tape, t, obs_t, noise_t); // records on the tape
//! }
//! let mut dh = Array2::zeros((batch, net.sizes().hidden));
//! for t in (0..steps).rev() {
//!     dh += dL/dh_{t+1} from hidden losses (tape.h(t + 1) is the activity);
//!     net.backward(&mut tape, t, du_t, dh.view_mut(), &mut grads, Some(dx_t));
//! }
//! dh += dL/dh_0 from hidden losses;
//! net.backward_initial(&mut tape, dh.view(), &mut grads); // learnable h0
//! // after summing workers: clip, optimizer step, then net.constrain()
//! ```

mod cells;
pub mod checkpoint;
pub mod config;
mod layered;
mod modular_gru;
mod modular_spec;
mod verify;

pub use config::PolicyConfig;
pub use layered::{CellKind, Layered, LayeredTape};
pub use modular_gru::{ModularGru, ModularGruTape};
pub use modular_spec::{ModularMasks, ModularSpec};
pub use verify::verify_policy_reference;

use crate::gru::{Gru, GruTape};
use ndarray::{ArrayView2, ArrayViewMut2, ShapeBuilder};
use rand::Rng;

/// Widths of a policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PolicySizes {
    /// Observation width `I`.
    pub input: usize,
    /// Readout width `O` (one excitation per muscle).
    pub output: usize,
    /// Width of the hidden *activity* per batch row, what [`PolicyTape::h`] returns, what hidden-state
    /// losses and hidden noise act on and what `dh` of [`Policy::backward`] carries: `H` for one layer,
    /// every layer's `h` side by side (`L·H`) for stacked networks; an LSTM's cell state is not activity.
    pub hidden: usize,
    /// Width of the whole recurrent state per batch row as [`Policy::reset_to`] takes it: `hidden`, plus
    /// the cell states (`L·H`) for an LSTM.
    pub state: usize,
}

/// One named parameter tensor: where it sits in the flat vector and its PyTorch `state_dict` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamTensor {
    /// The `state_dict` key, e.g. `lstm.weight_hh_l1` or `fc.bias`.
    pub name: String,
    /// The PyTorch shape (row-major).
    pub shape: Vec<usize>,
    /// Offset of the first element in the flat vector.
    pub offset: usize,
}

impl ParamTensor {
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.len()
    }
}

/// Lays out tensors consecutively in the given order (which must be PyTorch's `parameters()` order).
pub(crate) fn layout(specs: Vec<(String, Vec<usize>)>) -> Vec<ParamTensor> {
    let mut offset = 0;
    specs
        .into_iter()
        .map(|(name, shape)| {
            let t = ParamTensor {
                name,
                shape,
                offset,
            };
            offset += t.len();
            t
        })
        .collect()
}

/// What a policy's tape offers its users: the recorded hidden activity and readouts.
pub trait PolicyTape: Send {
    /// Trajectories in the batch.
    fn batch(&self) -> usize;
    /// Most steps the tape holds.
    fn capacity(&self) -> usize;
    /// Steps recorded since the last reset.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Width of the hidden activity ([`PolicySizes::hidden`]).
    fn hidden(&self) -> usize;
    /// Hidden activity after `t` steps (`B × hidden`; `h(0)` is the initial state), for `t ≤ len()`.
    fn h(&self, t: usize) -> ArrayView2<'_, f64>;
    /// Readout of step `t` (`B × O`), for `t < len()`.
    fn u(&self, t: usize) -> ArrayView2<'_, f64>;
}

/// A recurrent policy with a sigmoid linear readout, trained by backpropagation through time one step
/// at a time. Implementations must not allocate in [`Policy::step`] or [`Policy::backward`] once the
/// tape exists (on machines with AVX-512, where the products use [`crate::gru`]'s own kernels).
pub trait Policy: Send + Sync {
    /// Everything one batch of episodes records for the backward pass, allocated once by
    /// [`Policy::tape`] and reused.
    type Tape: PolicyTape;

    /// The network's name (`gru`, `rnn_tanh`, `rnn_relu`, `lstm`, `ctrnn`, `modular_gru`).
    fn kind(&self) -> &'static str;
    fn sizes(&self) -> PolicySizes;
    /// Stacked layers (1 for single-layer networks).
    fn layers(&self) -> usize {
        1
    }
    /// The learnable tensors in flat-vector (PyTorch `parameters()`) order with their `state_dict` names.
    fn tensors(&self) -> Vec<ParamTensor>;
    /// Fixed tensors that belong in the `state_dict` too (the modular GRU's masks, which upstream keeps as
    /// non-trainable parameters), as (name, shape, values); empty for most networks.
    fn buffers(&self) -> Vec<(String, Vec<usize>, Vec<f64>)> {
        Vec::new()
    }
    fn params(&self) -> &[f64];
    fn params_mut(&mut self) -> &mut [f64];
    /// Everything `load_state_dict` of the matching torch module needs, as (name, shape, values): the
    /// learnable tensors, then [`Policy::buffers`]. What a checkpoint writer saves.
    fn state_dict(&self) -> Vec<(String, Vec<usize>, Vec<f64>)> {
        let params = self.params();
        let mut out: Vec<_> = self
            .tensors()
            .into_iter()
            .map(|t| {
                let values = params[t.range()].to_vec();
                (t.name, t.shape, values)
            })
            .collect();
        out.extend(self.buffers());
        out
    }
    fn param_count(&self) -> usize {
        self.params().len()
    }
    /// Re-imposes structural constraints on the parameters after an optimizer step (the modular GRU
    /// zeroes masked-out weights again, so that rounding can never grow a connection). No-op by default.
    fn constrain(&mut self) {}
    /// A tape for `batch` trajectories of up to `steps` steps.
    fn tape(&self, batch: usize, steps: usize) -> Self::Tape;
    /// Starts a new trajectory from the network's own initial state: zeros (MotorNet's `init_hidden`),
    /// or `tanh(h0)` of the learnable `h0` of the modular GRU.
    fn reset(&self, tape: &mut Self::Tape);
    /// Starts a new trajectory from an explicit state (`B × state`; per row every layer's `h`, then, for an
    /// LSTM, every layer's `c`), e.g. a PyTorch reference's `h0`/`c0`.
    fn reset_to(&self, tape: &mut Self::Tape, state: ArrayView2<f64>);
    /// Forward step `t` (must equal `tape.len()`): records `x` (`B × I`) and returns the readout
    /// `u_t = σ(W_fc h_{t+1} + b_fc)` (`B × O`, a view into the tape). `noise` (`B × hidden`), if given, is
    /// added to each layer's new hidden state as soon as it is computed, so the layer above, the next step
    /// and the readout all see the noisy state the tape keeps (additive noise leaves the backward pass
    /// exact). The parameters must not change between step 0 and the end of the backward pass.
    fn step<'t>(
        &self,
        tape: &'t mut Self::Tape,
        t: usize,
        x: ArrayView2<f64>,
        noise: Option<ArrayView2<f64>>,
    ) -> ArrayView2<'t, f64>;
    /// Backward step `t`, in strictly decreasing order from `tape.len() - 1`. `du` is `dL/du_t`; `dh`
    /// (`B × hidden`, contiguous) holds `dL/dh_{t+1}` on entry — the caller adds the loss's direct
    /// dependence on the activity first — and `dL/dh_t` on exit (after step 0: `dL/dh_0`). Recurrent
    /// adjoints that are not activity (an LSTM's cell state, the modular GRU's delayed copies) stay on the
    /// tape. The step's parameter gradients are added to `grads` (flat, [`Policy::tensors`] order); `dx`,
    /// if given, is overwritten with `dL/dx_t`. Gradient masks ([`Policy::mask_gradient`]) are applied to
    /// `grads` at step 0, so a caller that runs whole episodes gets masked gradients without asking.
    fn backward(
        &self,
        tape: &mut Self::Tape,
        t: usize,
        du: ArrayView2<f64>,
        dh: ArrayViewMut2<f64>,
        grads: &mut [f64],
        dx: Option<ArrayViewMut2<f64>>,
    );
    /// After backward step 0: adds the gradient of learnable initial-state parameters given `dh0 = dL/dh_0`
    /// (`B × hidden`, including any direct loss dependence on `h_0`). No-op for zero initial states.
    fn backward_initial(&self, _tape: &mut Self::Tape, _dh0: ArrayView2<f64>, _grads: &mut [f64]) {}
    /// Multiplies gradients by the network's fixed masks (upstream's gradient hooks); idempotent, no-op
    /// for unmasked networks.
    fn mask_gradient(&self, _grads: &mut [f64]) {}
}

// ---------------------------------------------------------------------------------------------------
// The existing one-layer GRU.

impl PolicyTape for GruTape {
    fn batch(&self) -> usize {
        GruTape::batch(self)
    }
    fn capacity(&self) -> usize {
        GruTape::capacity(self)
    }
    fn len(&self) -> usize {
        GruTape::len(self)
    }
    fn hidden(&self) -> usize {
        self.dims().hidden
    }
    fn h(&self, t: usize) -> ArrayView2<'_, f64> {
        GruTape::h(self, t)
    }
    fn u(&self, t: usize) -> ArrayView2<'_, f64> {
        GruTape::u(self, t)
    }
}

impl Policy for Gru {
    type Tape = GruTape;

    fn kind(&self) -> &'static str {
        "gru"
    }
    fn sizes(&self) -> PolicySizes {
        let d = self.dims();
        PolicySizes {
            input: d.input,
            output: d.output,
            hidden: d.hidden,
            state: d.hidden,
        }
    }
    fn tensors(&self) -> Vec<ParamTensor> {
        self.dims()
            .tensors()
            .into_iter()
            .map(|t| ParamTensor {
                name: t.name.to_string(),
                shape: t.shape,
                offset: t.offset,
            })
            .collect()
    }
    fn params(&self) -> &[f64] {
        Gru::params(self)
    }
    fn params_mut(&mut self) -> &mut [f64] {
        Gru::params_mut(self)
    }
    fn tape(&self, batch: usize, steps: usize) -> GruTape {
        Gru::tape(self, batch, steps)
    }
    fn reset(&self, tape: &mut GruTape) {
        tape.reset_zero();
    }
    fn reset_to(&self, tape: &mut GruTape, state: ArrayView2<f64>) {
        tape.reset(state);
    }
    fn step<'t>(
        &self,
        tape: &'t mut GruTape,
        t: usize,
        x: ArrayView2<f64>,
        noise: Option<ArrayView2<f64>>,
    ) -> ArrayView2<'t, f64> {
        self.step_with_hidden_noise(tape, t, x, noise)
    }
    fn backward(
        &self,
        tape: &mut GruTape,
        t: usize,
        du: ArrayView2<f64>,
        dh: ArrayViewMut2<f64>,
        grads: &mut [f64],
        dx: Option<ArrayViewMut2<f64>>,
    ) {
        self.backward_flat(tape, t, du, dh, grads, dx);
    }
}

// ---------------------------------------------------------------------------------------------------
// Any network, chosen at run time.

/// Which network to build, with its sizes (inputs and outputs come from the environment).
#[derive(Clone, Debug, PartialEq)]
pub enum NetworkSpec {
    /// `nn.GRU`; one layer is the existing [`Gru`] with MotorNet's `PolicyGRU` initialisation, more
    /// layers a [`Layered`] GRU with PyTorch's.
    Gru { hidden: usize, layers: usize },
    /// `nn.RNN` with `nonlinearity='tanh'` or `'relu'`.
    Rnn {
        hidden: usize,
        layers: usize,
        relu: bool,
    },
    /// `nn.LSTM`.
    Lstm { hidden: usize, layers: usize },
    /// Leaky continuous-time RNN with `alpha = dt / tau`.
    Ctrnn {
        hidden: usize,
        layers: usize,
        alpha: f64,
    },
    /// MotorNet's `ModularPolicyGRU` (its input width must equal the environment's).
    ModularGru(ModularSpec),
}

/// A policy of any kind, so that code holding one needs no type parameter; every method dispatches.
#[derive(Clone, Debug, PartialEq)]
pub enum Network {
    Gru(Gru),
    Layered(Layered),
    Modular(ModularGru),
}

/// The tape of a [`Network`].
#[derive(Clone, Debug)]
pub enum NetworkTape {
    Gru(GruTape),
    Layered(LayeredTape),
    /// Boxed: its many scratch buffers make it the largest by far.
    Modular(Box<ModularGruTape>),
}

impl Network {
    /// A freshly initialised network for `input` observations and `output` muscles (see each network's
    /// `new` for its initialisation). Errors on zero sizes or an inconsistent modular specification.
    pub fn new<R: Rng + ?Sized>(
        spec: &NetworkSpec,
        input: usize,
        output: usize,
        rng: &mut R,
    ) -> Result<Network, String> {
        let check = |hidden: usize, layers: usize| {
            if hidden == 0 || layers == 0 {
                Err(format!(
                    "a network needs at least one layer and one hidden unit (got {layers} × {hidden})"
                ))
            } else {
                Ok(())
            }
        };
        Ok(match spec {
            NetworkSpec::Gru { hidden, layers: 1 } => {
                check(*hidden, 1)?;
                Network::Gru(Gru::new(input, *hidden, output, rng))
            }
            NetworkSpec::Gru { hidden, layers } => {
                check(*hidden, *layers)?;
                Network::Layered(Layered::new(
                    CellKind::Gru,
                    input,
                    *hidden,
                    *layers,
                    output,
                    rng,
                ))
            }
            NetworkSpec::Rnn {
                hidden,
                layers,
                relu,
            } => {
                check(*hidden, *layers)?;
                let kind = if *relu {
                    CellKind::RnnRelu
                } else {
                    CellKind::RnnTanh
                };
                Network::Layered(Layered::new(kind, input, *hidden, *layers, output, rng))
            }
            NetworkSpec::Lstm { hidden, layers } => {
                check(*hidden, *layers)?;
                Network::Layered(Layered::new(
                    CellKind::Lstm,
                    input,
                    *hidden,
                    *layers,
                    output,
                    rng,
                ))
            }
            NetworkSpec::Ctrnn {
                hidden,
                layers,
                alpha,
            } => {
                check(*hidden, *layers)?;
                if !(*alpha > 0.0 && *alpha <= 1.0) {
                    return Err(format!(
                        "ctrnn alpha = dt/tau must be in (0, 1], not {alpha}"
                    ));
                }
                Network::Layered(Layered::new(
                    CellKind::Ctrnn { alpha: *alpha },
                    input,
                    *hidden,
                    *layers,
                    output,
                    rng,
                ))
            }
            NetworkSpec::ModularGru(spec) => {
                if spec.input != input || spec.output != output {
                    return Err(format!(
                        "modular_gru is specified for {} inputs and {} outputs, the environment has {input} and {output}",
                        spec.input, spec.output
                    ));
                }
                Network::Modular(ModularGru::new(spec.clone(), rng)?)
            }
        })
    }
}

macro_rules! each {
    ($self:expr, $p:ident => $e:expr) => {
        match $self {
            Network::Gru($p) => $e,
            Network::Layered($p) => $e,
            Network::Modular($p) => $e,
        }
    };
}

macro_rules! each_tape {
    ($self:expr, $p:ident => $e:expr) => {
        match $self {
            NetworkTape::Gru($p) => $e,
            NetworkTape::Layered($p) => $e,
            NetworkTape::Modular($p) => {
                let $p = &**$p;
                $e
            }
        }
    };
}

macro_rules! with_tape {
    ($self:expr, $tape:expr, ($p:ident, $t:ident) => $e:expr) => {
        match ($self, $tape) {
            (Network::Gru($p), NetworkTape::Gru($t)) => $e,
            (Network::Layered($p), NetworkTape::Layered($t)) => $e,
            (Network::Modular($p), NetworkTape::Modular($t)) => {
                let $t = &mut **$t;
                $e
            }
            _ => panic!("the tape was made for another kind of network"),
        }
    };
}

impl PolicyTape for NetworkTape {
    fn batch(&self) -> usize {
        each_tape!(self, t => PolicyTape::batch(t))
    }
    fn capacity(&self) -> usize {
        each_tape!(self, t => PolicyTape::capacity(t))
    }
    fn len(&self) -> usize {
        each_tape!(self, t => PolicyTape::len(t))
    }
    fn hidden(&self) -> usize {
        each_tape!(self, t => PolicyTape::hidden(t))
    }
    fn h(&self, t: usize) -> ArrayView2<'_, f64> {
        each_tape!(self, tape => PolicyTape::h(tape, t))
    }
    fn u(&self, t: usize) -> ArrayView2<'_, f64> {
        each_tape!(self, tape => PolicyTape::u(tape, t))
    }
}

impl Policy for Network {
    type Tape = NetworkTape;

    fn kind(&self) -> &'static str {
        each!(self, p => p.kind())
    }
    fn sizes(&self) -> PolicySizes {
        each!(self, p => p.sizes())
    }
    fn layers(&self) -> usize {
        each!(self, p => p.layers())
    }
    fn tensors(&self) -> Vec<ParamTensor> {
        each!(self, p => Policy::tensors(p))
    }
    fn buffers(&self) -> Vec<(String, Vec<usize>, Vec<f64>)> {
        each!(self, p => p.buffers())
    }
    fn params(&self) -> &[f64] {
        each!(self, p => Policy::params(p))
    }
    fn params_mut(&mut self) -> &mut [f64] {
        each!(self, p => Policy::params_mut(p))
    }
    fn constrain(&mut self) {
        each!(self, p => p.constrain())
    }
    fn tape(&self, batch: usize, steps: usize) -> NetworkTape {
        match self {
            Network::Gru(p) => NetworkTape::Gru(Policy::tape(p, batch, steps)),
            Network::Layered(p) => NetworkTape::Layered(p.tape(batch, steps)),
            Network::Modular(p) => NetworkTape::Modular(Box::new(p.tape(batch, steps))),
        }
    }
    fn reset(&self, tape: &mut NetworkTape) {
        with_tape!(self, tape, (p, t) => Policy::reset(p, t))
    }
    fn reset_to(&self, tape: &mut NetworkTape, state: ArrayView2<f64>) {
        with_tape!(self, tape, (p, t) => p.reset_to(t, state))
    }
    fn step<'t>(
        &self,
        tape: &'t mut NetworkTape,
        t: usize,
        x: ArrayView2<f64>,
        noise: Option<ArrayView2<f64>>,
    ) -> ArrayView2<'t, f64> {
        with_tape!(self, tape, (p, tp) => Policy::step(p, tp, t, x, noise))
    }
    fn backward(
        &self,
        tape: &mut NetworkTape,
        t: usize,
        du: ArrayView2<f64>,
        dh: ArrayViewMut2<f64>,
        grads: &mut [f64],
        dx: Option<ArrayViewMut2<f64>>,
    ) {
        with_tape!(self, tape, (p, tp) => Policy::backward(p, tp, t, du, dh, grads, dx))
    }
    fn backward_initial(&self, tape: &mut NetworkTape, dh0: ArrayView2<f64>, grads: &mut [f64]) {
        with_tape!(self, tape, (p, tp) => p.backward_initial(tp, dh0, grads))
    }
    fn mask_gradient(&self, grads: &mut [f64]) {
        each!(self, p => p.mask_gradient(grads))
    }
}

// ---------------------------------------------------------------------------------------------------
// Small helpers shared by the networks.

pub(crate) fn mat(data: &[f64], rows: usize, cols: usize) -> ArrayView2<'_, f64> {
    ArrayView2::from_shape((rows, cols), &data[..rows * cols]).expect("matrix view")
}

pub(crate) fn mat_mut(data: &mut [f64], rows: usize, cols: usize) -> ArrayViewMut2<'_, f64> {
    ArrayViewMut2::from_shape((rows, cols), &mut data[..rows * cols]).expect("matrix view")
}

/// `rows × cols` with row stride `ld` (a block of columns of a wider row-major matrix), starting at
/// `data[0]`.
pub(crate) fn strided(data: &[f64], rows: usize, cols: usize, ld: usize) -> ArrayView2<'_, f64> {
    let len = if rows == 0 { 0 } else { (rows - 1) * ld + cols };
    ArrayView2::from_shape((rows, cols).strides((ld, 1)), &data[..len]).expect("strided view")
}

pub(crate) fn strided_mut(
    data: &mut [f64],
    rows: usize,
    cols: usize,
    ld: usize,
) -> ArrayViewMut2<'_, f64> {
    let len = if rows == 0 { 0 } else { (rows - 1) * ld + cols };
    ArrayViewMut2::from_shape((rows, cols).strides((ld, 1)), &mut data[..len])
        .expect("strided view")
}

/// `out[j] += Σ_rows m[row][j]`.
pub(crate) fn add_column_sums(m: &ArrayView2<f64>, out: &mut [f64]) {
    for row in m.rows() {
        for (o, &v) in out.iter_mut().zip(row) {
            *o += v;
        }
    }
}

/// `torch.nn.init.uniform_(-bound, bound)`.
pub(crate) fn uniform<R: Rng + ?Sized>(out: &mut [f64], bound: f64, rng: &mut R) {
    for v in out {
        *v = if bound > 0.0 {
            rng.random_range(-bound..bound)
        } else {
            0.0
        };
    }
}

/// `torch.nn.init.xavier_uniform_` with gain `gain` for a `fan_out × fan_in` weight.
pub(crate) fn xavier_uniform<R: Rng + ?Sized>(
    out: &mut [f64],
    fan_out: usize,
    fan_in: usize,
    gain: f64,
    rng: &mut R,
) {
    let bound = if fan_in + fan_out == 0 {
        0.0
    } else {
        gain * (6.0 / (fan_in + fan_out) as f64).sqrt()
    };
    uniform(out, bound, rng);
}
