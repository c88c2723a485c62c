//! The recurrent policy: a one-layer GRU with a sigmoid linear readout, numerically the same network as
//! PyTorch's `nn.GRU` + `nn.Linear` + sigmoid (MotorNet's `PolicyGRU`), in float64. (One concept — the
//! cell, its tape and its hand-vectorised forward and backward steps — hence slightly over the usual size;
//! the kernels themselves are in `gru/`.)
//!
//! All parameters live in one contiguous `Vec<f64>` laid out in PyTorch's `parameters()` order, so the
//! optimizer ([`crate::adam`]), gradient clipping and checkpoints work on a flat slice, while
//! [`GruParams`] views give each tensor its PyTorch shape.
//!
//! Training interleaves the network with a plant simulation, so the forward pass runs one step at a time
//! ([`Gru::step`]) and records what the backward pass needs on a preallocated [`GruTape`]; the backward
//! pass then runs one step at a time too ([`Gru::backward`]), in strictly decreasing `t`, handing back
//! `dL/dx_t` for each step so that the trainer can push it into the plant, and adding the step's
//! parameter gradients to a [`GruGrads`] while the step's data is still in cache (measured faster than
//! deferring them to a few large GEMMs over all steps, whose operands no longer fit in cache).

pub(crate) mod gemm;
pub(crate) mod kernels;

use crate::error::Error;
use gemm::gemm;
use ndarray::{
    s, Array2, Array3, ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, ShapeBuilder,
};
use rand::Rng;
use rand_distr::StandardNormal;
use std::path::Path;

/// Sizes of a [`Gru`]: observation (input), hidden state and readout (output) widths.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GruDims {
    pub input: usize,
    pub hidden: usize,
    pub output: usize,
}

/// Where one parameter tensor sits in the flat parameter vector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorSpec {
    /// The PyTorch `state_dict` name (`gru.weight_ih_l0`, …, `fc.bias`).
    pub name: &'static str,
    /// The PyTorch shape (row-major).
    pub shape: Vec<usize>,
    /// Offset of the first element in the flat vector.
    pub offset: usize,
}

impl TensorSpec {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The tensor's range in the flat vector.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.len()
    }
}

impl GruDims {
    pub fn new(input: usize, hidden: usize, output: usize) -> GruDims {
        GruDims {
            input,
            hidden,
            output,
        }
    }

    /// The six parameter tensors in flat-vector order, which is PyTorch's `parameters()` order.
    pub fn tensors(&self) -> [TensorSpec; 6] {
        let (i, h, o) = (self.input, self.hidden, self.output);
        let shapes: [(&'static str, Vec<usize>); 6] = [
            ("gru.weight_ih_l0", vec![3 * h, i]),
            ("gru.weight_hh_l0", vec![3 * h, h]),
            ("gru.bias_ih_l0", vec![3 * h]),
            ("gru.bias_hh_l0", vec![3 * h]),
            ("fc.weight", vec![o, h]),
            ("fc.bias", vec![o]),
        ];
        let mut offset = 0;
        shapes.map(|(name, shape)| {
            let spec = TensorSpec {
                name,
                shape,
                offset,
            };
            offset += spec.len();
            spec
        })
    }

    /// Total number of parameters.
    pub fn param_count(&self) -> usize {
        let (i, h, o) = (self.input, self.hidden, self.output);
        3 * h * i + 3 * h * h + 6 * h + o * h + o
    }

    /// Views of a flat parameter (or gradient) vector as the six PyTorch tensors.
    ///
    /// Panics if `flat.len() != self.param_count()`.
    pub fn views<'a>(&self, flat: &'a [f64]) -> GruParams<'a> {
        assert_eq!(
            flat.len(),
            self.param_count(),
            "flat parameter vector has the wrong length"
        );
        let (i, h, o) = (self.input, self.hidden, self.output);
        let (w_ih, rest) = flat.split_at(3 * h * i);
        let (w_hh, rest) = rest.split_at(3 * h * h);
        let (b_ih, rest) = rest.split_at(3 * h);
        let (b_hh, rest) = rest.split_at(3 * h);
        let (fc_w, fc_b) = rest.split_at(o * h);
        GruParams {
            weight_ih: mat(w_ih, 3 * h, i),
            weight_hh: mat(w_hh, 3 * h, h),
            bias_ih: ArrayView1::from(b_ih),
            bias_hh: ArrayView1::from(b_hh),
            fc_weight: mat(fc_w, o, h),
            fc_bias: ArrayView1::from(fc_b),
        }
    }

    /// Mutable views of a flat parameter (or gradient) vector as the six PyTorch tensors.
    ///
    /// Panics if `flat.len() != self.param_count()`.
    pub fn views_mut<'a>(&self, flat: &'a mut [f64]) -> GruParamsMut<'a> {
        assert_eq!(
            flat.len(),
            self.param_count(),
            "flat parameter vector has the wrong length"
        );
        let (i, h, o) = (self.input, self.hidden, self.output);
        let (w_ih, rest) = flat.split_at_mut(3 * h * i);
        let (w_hh, rest) = rest.split_at_mut(3 * h * h);
        let (b_ih, rest) = rest.split_at_mut(3 * h);
        let (b_hh, rest) = rest.split_at_mut(3 * h);
        let (fc_w, fc_b) = rest.split_at_mut(o * h);
        GruParamsMut {
            weight_ih: mat_mut(w_ih, 3 * h, i),
            weight_hh: mat_mut(w_hh, 3 * h, h),
            bias_ih: ArrayViewMut1::from(b_ih),
            bias_hh: ArrayViewMut1::from(b_hh),
            fc_weight: mat_mut(fc_w, o, h),
            fc_bias: ArrayViewMut1::from(fc_b),
        }
    }
}

/// The parameters (or their gradients) as PyTorch-shaped tensors; gate rows are ordered r, z, n.
#[derive(Clone, Debug)]
pub struct GruParams<'a> {
    /// `3H × I`.
    pub weight_ih: ArrayView2<'a, f64>,
    /// `3H × H`.
    pub weight_hh: ArrayView2<'a, f64>,
    /// `3H`.
    pub bias_ih: ArrayView1<'a, f64>,
    /// `3H`.
    pub bias_hh: ArrayView1<'a, f64>,
    /// `O × H`.
    pub fc_weight: ArrayView2<'a, f64>,
    /// `O`.
    pub fc_bias: ArrayView1<'a, f64>,
}

/// Mutable counterpart of [`GruParams`].
#[derive(Debug)]
pub struct GruParamsMut<'a> {
    pub weight_ih: ArrayViewMut2<'a, f64>,
    pub weight_hh: ArrayViewMut2<'a, f64>,
    pub bias_ih: ArrayViewMut1<'a, f64>,
    pub bias_hh: ArrayViewMut1<'a, f64>,
    pub fc_weight: ArrayViewMut2<'a, f64>,
    pub fc_bias: ArrayViewMut1<'a, f64>,
}

/// A one-layer GRU with a sigmoid linear readout (MotorNet's `PolicyGRU`).
///
/// `r = σ(W_ir x + b_ir + W_hr h + b_hr)`, `z = σ(W_iz x + b_iz + W_hz h + b_hz)`,
/// `n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))`, `h' = (1 − z) ⊙ n + z ⊙ h`, `u = σ(W_fc h' + b_fc)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Gru {
    dims: GruDims,
    params: Vec<f64>,
}

impl Gru {
    /// A freshly initialised network, as MotorNet's `PolicyGRU` does it: xavier-uniform `weight_ih` and
    /// `fc.weight`, orthogonal `weight_hh`, zero GRU biases and `fc.bias = −5` (so that initial
    /// excitations are near zero). Every random number comes from `rng`, so a seeded RNG gives the same
    /// network every time.
    pub fn new<R: Rng + ?Sized>(input: usize, hidden: usize, output: usize, rng: &mut R) -> Gru {
        let mut gru = Gru::zeros(GruDims::new(input, hidden, output));
        let mut p = gru.views_mut();
        xavier_uniform(p.weight_ih.view_mut(), rng);
        let w_hh = orthogonal(3 * hidden, hidden, rng);
        p.weight_hh.assign(&mat(&w_hh, 3 * hidden, hidden));
        xavier_uniform(p.fc_weight.view_mut(), rng);
        p.fc_bias.fill(-5.0);
        gru
    }

    /// A network with every parameter zero (to be filled through [`Gru::params_mut`] or
    /// [`Gru::views_mut`]).
    pub fn zeros(dims: GruDims) -> Gru {
        Gru {
            dims,
            params: vec![0.0; dims.param_count()],
        }
    }

    /// A network from a flat parameter vector in [`GruDims::tensors`] order.
    pub fn from_flat(dims: GruDims, params: Vec<f64>) -> Result<Gru, Error> {
        if params.len() != dims.param_count() {
            return Err(Error::Shape {
                what: "GRU parameters".into(),
                expected: dims.param_count(),
                got: params.len(),
            });
        }
        Ok(Gru { dims, params })
    }

    pub fn dims(&self) -> GruDims {
        self.dims
    }

    pub fn param_count(&self) -> usize {
        self.params.len()
    }

    /// All parameters, flat, in [`GruDims::tensors`] order.
    pub fn params(&self) -> &[f64] {
        &self.params
    }

    pub fn params_mut(&mut self) -> &mut [f64] {
        &mut self.params
    }

    /// The parameters as PyTorch-shaped tensors.
    pub fn views(&self) -> GruParams<'_> {
        self.dims.views(&self.params)
    }

    pub fn views_mut(&mut self) -> GruParamsMut<'_> {
        self.dims.views_mut(&mut self.params)
    }

    /// A tape for `batch` trajectories of up to `steps` steps, sized for this network.
    pub fn tape(&self, batch: usize, steps: usize) -> GruTape {
        GruTape::new(self.dims, batch, steps)
    }

    /// A zero gradient accumulator for this network.
    pub fn grads(&self) -> GruGrads {
        GruGrads::zeros(self.dims)
    }

    /// Forward step `t`: reads `h_t` from the tape (`h_0` as given to [`GruTape::reset`]) and the
    /// observations `x` (`B × I`), records `x_t`, the gates, `h_{t+1}` and the readout, and returns the
    /// readout `u_t` (`B × O`, a view into the tape).
    ///
    /// `t` must equal [`GruTape::len`] (steps are recorded in order); stepping again after a backward
    /// pass requires a [`GruTape::reset`]. Step 0 copies the (transposed) weights onto the tape, so the
    /// parameters must not change between step 0 and the end of the backward pass — which correct
    /// gradients require anyway. Does not allocate (with AVX-512; the generic GEMM fallback allocates
    /// packing buffers internally).
    pub fn step<'t>(
        &self,
        tape: &'t mut GruTape,
        t: usize,
        x: ArrayView2<f64>,
    ) -> ArrayView2<'t, f64> {
        self.step_with_hidden_noise(tape, t, x, None)
    }

    /// [`Gru::step`] with `noise` (`B × H`) added to the new hidden state before the readout reads it. The
    /// tape keeps the noisy state, which is what the next step and the readout used, so
    /// [`Gru::backward`] stays exact (additive noise passes the gradient through unchanged).
    pub fn step_with_hidden_noise<'t>(
        &self,
        tape: &'t mut GruTape,
        t: usize,
        x: ArrayView2<f64>,
        noise: Option<ArrayView2<f64>>,
    ) -> ArrayView2<'t, f64> {
        self.check_tape(tape);
        assert_eq!(
            t, tape.len,
            "GRU steps must be recorded in order (expected step {})",
            tape.len
        );
        assert!(
            t < tape.capacity,
            "GRU tape holds {} steps; step {t} is past its end",
            tape.capacity
        );
        assert!(
            tape.back == tape.len,
            "reset the GRU tape before stepping after a backward pass"
        );
        let (b, i, h, o) = (
            tape.batch,
            self.dims.input,
            self.dims.hidden,
            self.dims.output,
        );
        assert_eq!(x.dim(), (b, i), "GRU input must be batch × input");
        let p = self.views();

        let x_t = &mut tape.xs[t * b * i..(t + 1) * b * i];
        let mut x_t = mat_mut(x_t, b, i);
        x_t.assign(&x);
        if t == 0 {
            // The products below read their right operand row-major: keep the transposed weights.
            let (w_ih_t, w_hh_t, fc_t) = (&mut tape.w_ih_t, &mut tape.w_hh_t, &mut tape.fc_t);
            mat_mut(w_ih_t, i, 3 * h).assign(&p.weight_ih.t());
            mat_mut(w_hh_t, h, 3 * h).assign(&p.weight_hh.t());
            mat_mut(fc_t, h, o).assign(&p.fc_weight.t());
        }
        // Input projections of all three gates in one GEMM; biases are added in the gate loop.
        let mut gi = mat_mut(&mut tape.gi, b, 3 * h);
        gemm(&x_t.view(), &mat(&tape.w_ih_t, i, 3 * h), false, &mut gi);
        // Hidden projections of all three gates in one GEMM, written straight into the tape's gate rows
        // (laid out [r, z, hn, n] per batch row, so the first 3H columns take `h W_hhᵀ`).
        let (hs_prev, hs_next) = tape.hs.split_at_mut((t + 1) * b * h);
        let h_prev = mat(&hs_prev[t * b * h..], b, h);
        let gates = &mut tape.gates[t * b * 4 * h..(t + 1) * b * 4 * h];
        {
            let mut gh = ArrayViewMut2::from_shape((b, 3 * h).strides((4 * h, 1)), &mut gates[..])
                .expect("gate layout");
            gemm(&h_prev, &mat(&tape.w_hh_t, h, 3 * h), false, &mut gh);
        }
        let (b_ih, b_hh) = (p.bias_ih.as_slice().unwrap(), p.bias_hh.as_slice().unwrap());
        let h_prev = &hs_prev[t * b * h..];
        for row in 0..b {
            kernels::forward_row(kernels::ForwardRow {
                gi: &tape.gi[row * 3 * h..(row + 1) * 3 * h],
                gates: &mut gates[row * 4 * h..(row + 1) * 4 * h],
                b_ih,
                b_hh,
                h_prev: &h_prev[row * h..(row + 1) * h],
                h_next: &mut hs_next[row * h..(row + 1) * h],
            });
        }
        if let Some(noise) = noise {
            assert_eq!(noise.dim(), (b, h), "hidden noise must be batch × hidden");
            for (v, n) in hs_next[..b * h].iter_mut().zip(noise.iter()) {
                *v += n;
            }
        }
        // Readout.
        let h_new = mat(&hs_next[..b * h], b, h);
        let u = &mut tape.us[t * b * o..(t + 1) * b * o];
        gemm(&h_new, &mat(&tape.fc_t, h, o), false, &mut mat_mut(u, b, o));
        let fc_bias = p.fc_bias.as_slice().unwrap();
        for u_row in u.chunks_exact_mut(o) {
            kernels::sigmoid_bias(u_row, fc_bias);
        }
        tape.len = t + 1;
        tape.back = t + 1;
        tape.u(t)
    }

    /// Backward step `t`. `du` is `dL/du_t` (`B × O`, the loss's direct dependence on this step's readout)
    /// and `dh` carries `dL/dh_{t+1}` (`B × H`, contiguous row-major, zero before the last step), which is
    /// updated in place to `dL/dh_t`; after step 0 it holds the gradient with respect to `h_0`. The step's
    /// contribution to every parameter gradient is added to `grads` (so gradients accumulate over steps,
    /// and over batches unless `grads` is zeroed). If given, `dx` (`B × I`) is overwritten with `dL/dx_t`.
    ///
    /// Steps must be processed in strictly decreasing order starting at `tape.len() - 1` (panics
    /// otherwise). Does not allocate (with AVX-512, as [`Gru::step`]).
    pub fn backward(
        &self,
        tape: &mut GruTape,
        t: usize,
        du: ArrayView2<f64>,
        dh: ArrayViewMut2<f64>,
        grads: &mut GruGrads,
        dx: Option<ArrayViewMut2<f64>>,
    ) {
        assert_eq!(
            grads.dims, self.dims,
            "gradient accumulator is for another network"
        );
        self.backward_flat(tape, t, du, dh, &mut grads.flat, dx);
    }

    /// [`Gru::backward`] accumulating into a flat gradient vector in [`GruDims::tensors`] order (what
    /// [`crate::policy::Policy`] uses, so that every network shares one gradient type). Panics if
    /// `grads.len() != self.param_count()`.
    pub fn backward_flat(
        &self,
        tape: &mut GruTape,
        t: usize,
        du: ArrayView2<f64>,
        mut dh: ArrayViewMut2<f64>,
        grads: &mut [f64],
        dx: Option<ArrayViewMut2<f64>>,
    ) {
        self.check_tape(tape);
        assert!(
            tape.back > 0 && t + 1 == tape.back,
            "GRU backward steps must run in decreasing order from the last recorded step (expected {:?}, got {t})",
            tape.back.checked_sub(1)
        );
        let (b, i, h, o) = (
            tape.batch,
            self.dims.input,
            self.dims.hidden,
            self.dims.output,
        );
        assert_eq!(du.dim(), (b, o), "dL/du must be batch × output");
        assert_eq!(dh.dim(), (b, h), "dL/dh must be batch × hidden");
        let p = self.views();
        let mut g = self.dims.views_mut(grads);
        let h_prev = &tape.hs[t * b * h..(t + 1) * b * h];
        let h_next = &tape.hs[(t + 1) * b * h..(t + 2) * b * h];

        // Through the sigmoid readout: dL/da = dL/du ⊙ u(1 − u), then into h_{t+1} and the readout weights.
        let u = &tape.us[t * b * o..(t + 1) * b * o];
        for ((d, &u), &du) in tape.dau.iter_mut().zip(u).zip(du.iter()) {
            *d = du * u * (1.0 - u);
        }
        let dau = mat(&tape.dau, b, o);
        gemm(&dau, &p.fc_weight, true, &mut dh);
        gemm(&dau.t(), &mat(h_next, b, h), true, &mut g.fc_weight);
        add_column_sums(&dau, g.fc_bias.as_slice_mut().unwrap());

        // Through the gates. dgi are the gradients of the input pre-activations, dgh of the hidden ones;
        // they differ only in the n block, where the hidden projection is scaled by r.
        let gates = &tape.gates[t * b * 4 * h..(t + 1) * b * 4 * h];
        let dh_rows = dh
            .as_slice_mut()
            .expect("dL/dh must be a contiguous row-major B × H array");
        for row in 0..b {
            kernels::backward_row(kernels::BackwardRow {
                gates: &gates[row * 4 * h..(row + 1) * 4 * h],
                h_prev: &h_prev[row * h..(row + 1) * h],
                dh: &mut dh_rows[row * h..(row + 1) * h],
                dgi: &mut tape.dgi[row * 3 * h..(row + 1) * 3 * h],
                dgh: &mut tape.dgh[row * 3 * h..(row + 1) * 3 * h],
            });
        }
        let (dgi, dgh) = (mat(&tape.dgi, b, 3 * h), mat(&tape.dgh, b, 3 * h));
        gemm(&dgh, &p.weight_hh, true, &mut dh);
        if let Some(mut dx) = dx {
            assert_eq!(dx.dim(), (b, i), "dL/dx must be batch × input");
            gemm(&dgi, &p.weight_ih, false, &mut dx);
        }
        // Weight gradients of this step, accumulated while the step's data is still in cache.
        let x_t = mat(&tape.xs[t * b * i..(t + 1) * b * i], b, i);
        gemm(&dgi.t(), &x_t, true, &mut g.weight_ih);
        gemm(&dgh.t(), &mat(h_prev, b, h), true, &mut g.weight_hh);
        add_column_sums(&dgi, g.bias_ih.as_slice_mut().unwrap());
        add_column_sums(&dgh, g.bias_hh.as_slice_mut().unwrap());
        tape.back = t;
    }

    fn check_tape(&self, tape: &GruTape) {
        assert_eq!(
            tape.dims, self.dims,
            "GRU tape was made for another network shape"
        );
    }
}

/// Gradients of a loss with respect to every parameter, flat, in the same layout as [`Gru::params`].
#[derive(Clone, Debug, PartialEq)]
pub struct GruGrads {
    dims: GruDims,
    flat: Vec<f64>,
}

impl GruGrads {
    pub fn zeros(dims: GruDims) -> GruGrads {
        GruGrads {
            dims,
            flat: vec![0.0; dims.param_count()],
        }
    }

    pub fn dims(&self) -> GruDims {
        self.dims
    }

    /// Zeroes every gradient (before a new batch).
    pub fn zero(&mut self) {
        self.flat.fill(0.0);
    }

    pub fn as_slice(&self) -> &[f64] {
        &self.flat
    }

    pub fn as_mut_slice(&mut self) -> &mut [f64] {
        &mut self.flat
    }

    pub fn views(&self) -> GruParams<'_> {
        self.dims.views(&self.flat)
    }

    pub fn views_mut(&mut self) -> GruParamsMut<'_> {
        self.dims.views_mut(&mut self.flat)
    }
}

/// Everything the backward pass needs from a forward pass of `batch` trajectories, plus the backward
/// pass's own per-step results. Allocated once for a maximum number of steps and reused across batches.
#[derive(Clone, Debug)]
pub struct GruTape {
    dims: GruDims,
    batch: usize,
    capacity: usize,
    /// Steps recorded by the forward pass.
    len: usize,
    /// The lowest step processed by the backward pass (`len` when none has been).
    back: usize,
    /// `T × B × I`: inputs.
    xs: Vec<f64>,
    /// `(T + 1) × B × H`: hidden states, `h_0` first.
    hs: Vec<f64>,
    /// `T × B × 4H`: per batch row `[r, z, W_hn h + b_hn, n]`.
    gates: Vec<f64>,
    /// `T × B × O`: readouts.
    us: Vec<f64>,
    /// `B × 3H` scratch: input projections of the current step.
    gi: Vec<f64>,
    /// The weights transposed (`I × 3H`, `H × 3H`, `H × O`), copied at step 0 of each episode.
    w_ih_t: Vec<f64>,
    w_hh_t: Vec<f64>,
    fc_t: Vec<f64>,
    /// `B × 3H` scratch: gradients of the input and hidden pre-activations of each gate.
    dgi: Vec<f64>,
    dgh: Vec<f64>,
    /// `B × O` scratch: gradients of the readout pre-activations.
    dau: Vec<f64>,
}

impl GruTape {
    /// A tape for `batch` trajectories of up to `steps` steps, starting from a zero hidden state.
    pub fn new(dims: GruDims, batch: usize, steps: usize) -> GruTape {
        let (i, h, o) = (dims.input, dims.hidden, dims.output);
        GruTape {
            dims,
            batch,
            capacity: steps,
            len: 0,
            back: 0,
            xs: vec![0.0; steps * batch * i],
            hs: vec![0.0; (steps + 1) * batch * h],
            gates: vec![0.0; steps * batch * 4 * h],
            us: vec![0.0; steps * batch * o],
            gi: vec![0.0; batch * 3 * h],
            w_ih_t: vec![0.0; i * 3 * h],
            w_hh_t: vec![0.0; h * 3 * h],
            fc_t: vec![0.0; h * o],
            dgi: vec![0.0; batch * 3 * h],
            dgh: vec![0.0; batch * 3 * h],
            dau: vec![0.0; batch * o],
        }
    }

    /// Starts a new trajectory from hidden state `h0` (`B × H`).
    pub fn reset(&mut self, h0: ArrayView2<f64>) {
        let (b, h) = (self.batch, self.dims.hidden);
        mat_mut(&mut self.hs[..b * h], b, h).assign(&h0);
        self.len = 0;
        self.back = 0;
    }

    /// Starts a new trajectory from a zero hidden state (MotorNet's `init_hidden`).
    pub fn reset_zero(&mut self) {
        let n = self.batch * self.dims.hidden;
        self.hs[..n].fill(0.0);
        self.len = 0;
        self.back = 0;
    }

    pub fn dims(&self) -> GruDims {
        self.dims
    }

    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Most steps the tape can hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Steps recorded since the last reset.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Hidden state after `t` steps (`B × H`; `h(0)` is `h_0`), for `t ≤ len()`.
    pub fn h(&self, t: usize) -> ArrayView2<'_, f64> {
        assert!(t <= self.len, "hidden state {t} not recorded");
        let n = self.batch * self.dims.hidden;
        mat(&self.hs[t * n..(t + 1) * n], self.batch, self.dims.hidden)
    }

    /// Readout of step `t` (`B × O`), for `t < len()`.
    pub fn u(&self, t: usize) -> ArrayView2<'_, f64> {
        assert!(t < self.len, "readout {t} not recorded");
        let n = self.batch * self.dims.output;
        mat(&self.us[t * n..(t + 1) * n], self.batch, self.dims.output)
    }

    /// Input of step `t` (`B × I`), for `t < len()`.
    pub fn x(&self, t: usize) -> ArrayView2<'_, f64> {
        assert!(t < self.len, "input {t} not recorded");
        let n = self.batch * self.dims.input;
        mat(&self.xs[t * n..(t + 1) * n], self.batch, self.dims.input)
    }
}

fn mat(data: &[f64], rows: usize, cols: usize) -> ArrayView2<'_, f64> {
    ArrayView2::from_shape((rows, cols), &data[..rows * cols]).expect("matrix view")
}

fn mat_mut(data: &mut [f64], rows: usize, cols: usize) -> ArrayViewMut2<'_, f64> {
    ArrayViewMut2::from_shape((rows, cols), &mut data[..rows * cols]).expect("matrix view")
}

fn add_column_sums(m: &ArrayView2<f64>, out: &mut [f64]) {
    for row in m.rows() {
        for (o, &v) in out.iter_mut().zip(row) {
            *o += v;
        }
    }
}

/// `torch.nn.init.xavier_uniform_` with gain 1 for a `fan_out × fan_in` weight.
fn xavier_uniform<R: Rng + ?Sized>(mut w: ArrayViewMut2<f64>, rng: &mut R) {
    let (fan_out, fan_in) = w.dim();
    if fan_in + fan_out == 0 {
        return;
    }
    let bound = (6.0 / (fan_in + fan_out) as f64).sqrt();
    w.mapv_inplace(|_| rng.random_range(-bound..bound));
}

/// A `rows × cols` matrix (row-major) with orthonormal columns (rows if `rows < cols`), distributed as
/// `torch.nn.init.orthogonal_` makes it: the Q of a Gaussian matrix's QR decomposition, signs fixed so
/// that R has a positive diagonal. Gram–Schmidt yields exactly that Q; orthogonalising twice keeps it
/// orthonormal to rounding.
fn orthogonal<R: Rng + ?Sized>(rows: usize, cols: usize, rng: &mut R) -> Vec<f64> {
    let (tall, short) = (rows.max(cols), rows.min(cols));
    // Columns of the tall (tall × short) Gaussian matrix, each contiguous.
    let mut q: Vec<f64> = (0..tall * short)
        .map(|_| rng.sample(StandardNormal))
        .collect();
    for j in 0..short {
        let (done, rest) = q.split_at_mut(j * tall);
        let v = &mut rest[..tall];
        for _ in 0..2 {
            for k in 0..j {
                let qk = &done[k * tall..(k + 1) * tall];
                let d: f64 = qk.iter().zip(v.iter()).map(|(a, b)| a * b).sum();
                v.iter_mut().zip(qk).for_each(|(v, q)| *v -= d * q);
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
    }
    let mut out = vec![0.0; rows * cols];
    for j in 0..short {
        for k in 0..tall {
            let value = q[j * tall + k];
            if rows >= cols {
                out[k * cols + j] = value;
            } else {
                out[j * cols + k] = value;
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------------
// Checkpoints.

/// What [`load_safetensors`] returns: the network, Adam's state if saved, and the metadata.
pub type Checkpoint = (Gru, Option<crate::adam::AdamState>, Vec<(String, String)>);

/// Writes a GRU checkpoint: [`crate::policy::checkpoint::save`] of the one-layer GRU (PyTorch's
/// `state_dict` names, so `PolicyGRU` accepts it; Adam's moments as `adam.m.<name>`, `adam.v.<name>`;
/// a SHA-256 digest of everything).
pub fn save_safetensors(
    path: &Path,
    gru: &Gru,
    adam: Option<&crate::adam::AdamState>,
    metadata: &[(String, String)],
) -> Result<(), Error> {
    crate::policy::checkpoint::save(
        path,
        &crate::policy::Network::Gru(gru.clone()),
        adam,
        metadata,
    )
}

/// Reads a checkpoint of a one-layer GRU ([`crate::policy::checkpoint::load`], which also reads a
/// `PolicyGRU` `state_dict` saved without motornet's metadata); a checkpoint of another network is an
/// error that names it.
pub fn load_safetensors(path: &Path) -> Result<Checkpoint, Error> {
    match crate::policy::checkpoint::load(path)? {
        (crate::policy::Network::Gru(gru), adam, metadata) => Ok((gru, adam, metadata)),
        (other, _, _) => Err(Error::Input(format!(
            "{}: holds a {}, not a one-layer GRU",
            path.display(),
            other.describe()
        ))),
    }
}

// ---------------------------------------------------------------------------------------------------
// Checking against PyTorch reference files.

/// Runs a GRU reference file (`tests/reference/gru/*.json`: weights, inputs, `h0`, loss coefficients,
/// PyTorch's outputs and exact gradients of `loss = Σ c·u²/2`) and returns, for each checked field
/// (`u`, `h`, `loss`, then `grad.<name>` for every weight, `x` and `h0`), the largest
/// `|ours − reference| / (1 + |reference|)`.
pub fn verify_reference(json: &serde_json::Value) -> Result<Vec<(String, f64)>, String> {
    let dim = |key: &str| -> Result<usize, String> {
        json.get(key)
            .and_then(serde_json::Value::as_u64)
            .map(|v| v as usize)
            .ok_or_else(|| format!("missing or non-integer field `{key}`"))
    };
    let (i, h, o, b, t_len) = (dim("I")?, dim("H")?, dim("O")?, dim("B")?, dim("T")?);
    let dims = GruDims::new(i, h, o);
    let field = |v: &serde_json::Value, key: &str, shape: &[usize]| -> Result<Vec<f64>, String> {
        let v = v.get(key).ok_or_else(|| format!("missing field `{key}`"))?;
        let (data, got) = flatten(v).map_err(|e| format!("field `{key}`: {e}"))?;
        if got != shape {
            return Err(format!(
                "field `{key}` has shape {got:?}, expected {shape:?}"
            ));
        }
        Ok(data)
    };

    let mut params = Vec::with_capacity(dims.param_count());
    let keys = [
        "weight_ih",
        "weight_hh",
        "bias_ih",
        "bias_hh",
        "fc_weight",
        "fc_bias",
    ];
    for (key, spec) in keys.iter().zip(dims.tensors()) {
        params.extend(field(json, key, &spec.shape)?);
    }
    let gru = Gru::from_flat(dims, params).map_err(|e| e.to_string())?;
    let x = Array3::from_shape_vec((b, t_len, i), field(json, "x", &[b, t_len, i])?).unwrap();
    let h0 = Array2::from_shape_vec((b, h), field(json, "h0", &[b, h])?).unwrap();
    let coef =
        Array3::from_shape_vec((t_len, b, o), field(json, "loss_coef", &[t_len, b, o])?).unwrap();
    let u_ref = field(json, "u", &[t_len, b, o])?;
    let h_ref = field(json, "h", &[t_len, b, h])?;
    let loss_ref = json
        .get("loss")
        .and_then(serde_json::Value::as_f64)
        .ok_or("missing field `loss`")?;

    let mut tape = gru.tape(b, t_len);
    tape.reset(h0.view());
    let (mut us, mut hs, mut loss) = (Vec::new(), Vec::new(), 0.0);
    for t in 0..t_len {
        let u = gru.step(&mut tape, t, x.slice(s![.., t, ..]));
        us.extend(u.iter());
        loss += (&u * &u * coef.slice(s![t, .., ..])).sum() / 2.0;
        hs.extend(tape.h(t + 1).iter());
    }

    let mut grads = gru.grads();
    let mut dh = Array2::zeros((b, h));
    let mut dx = Array3::zeros((b, t_len, i));
    for t in (0..t_len).rev() {
        let du = &tape.u(t) * &coef.slice(s![t, .., ..]);
        gru.backward(
            &mut tape,
            t,
            du.view(),
            dh.view_mut(),
            &mut grads,
            Some(dx.slice_mut(s![.., t, ..])),
        );
    }

    let mut report = vec![
        ("u".to_string(), max_err(&us, &u_ref)),
        ("h".to_string(), max_err(&hs, &h_ref)),
        ("loss".to_string(), max_err(&[loss], &[loss_ref])),
    ];
    let grad = json.get("grad").ok_or("missing field `grad`")?;
    for (key, spec) in keys.iter().zip(dims.tensors()) {
        let reference = field(grad, key, &spec.shape)?;
        let ours = &grads.as_slice()[spec.range()];
        report.push((format!("grad.{key}"), max_err(ours, &reference)));
    }
    let x_ref = field(grad, "x", &[b, t_len, i])?;
    report.push(("grad.x".into(), max_err(dx.as_slice().unwrap(), &x_ref)));
    let h0_ref = field(grad, "h0", &[b, h])?;
    report.push(("grad.h0".into(), max_err(dh.as_slice().unwrap(), &h0_ref)));
    Ok(report)
}

fn max_err(ours: &[f64], reference: &[f64]) -> f64 {
    ours.iter()
        .zip(reference)
        .map(|(a, r)| (a - r).abs() / (1.0 + r.abs()))
        .fold(
            0.0,
            |m: f64, e| if e.is_nan() { f64::NAN } else { m.max(e) },
        )
}

/// A nested JSON array of numbers as row-major data and its shape.
fn flatten(v: &serde_json::Value) -> Result<(Vec<f64>, Vec<usize>), String> {
    fn walk(
        v: &serde_json::Value,
        depth: usize,
        shape: &mut Vec<usize>,
        out: &mut Vec<f64>,
    ) -> Result<(), String> {
        match v {
            serde_json::Value::Number(n) => {
                if depth != shape.len() {
                    return Err("ragged array".into());
                }
                out.push(n.as_f64().ok_or("number out of range")?);
                Ok(())
            }
            serde_json::Value::Array(items) => {
                if depth == shape.len() {
                    if !out.is_empty() {
                        return Err("ragged array".into());
                    }
                    shape.push(items.len());
                } else if shape[depth] != items.len() {
                    return Err("ragged array".into());
                }
                items
                    .iter()
                    .try_for_each(|item| walk(item, depth + 1, shape, out))
            }
            _ => Err("expected numbers".into()),
        }
    }
    let (mut shape, mut out) = (Vec::new(), Vec::new());
    walk(v, 0, &mut shape, &mut out)?;
    Ok((out, shape))
}
