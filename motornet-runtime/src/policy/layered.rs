//! Stacked recurrent networks in PyTorch's multi-layer layout: `nn.RNN` (tanh or ReLU), `nn.GRU`,
//! `nn.LSTM`, and a leaky continuous-time RNN built the same way, each with a sigmoid linear readout on
//! the top layer's new state.
//!
//! Layer `k` reads the new state of layer `k − 1` at the same step (layer 0 reads `x_t`), so one step runs
//! the layers bottom-up and the backward step top-down: layer `k`'s input gradient is added to
//! `dL/dh^{k−1}_{t+1}` before layer `k − 1` is processed. Matrix products use [`crate::gru`]'s GEMM, which
//! reads its right operand in place: the forward pass multiplies by transposed weights copied onto the
//! tape at step 0, the backward pass by the weights as PyTorch stores them (`out × in`, row-major).

use super::cells::{self, LstmBackRow, LstmRow, SimpleBackRow, SimpleRow};
use super::{
    add_column_sums, layout, mat, mat_mut, strided, strided_mut, uniform, xavier_uniform,
    ParamTensor, Policy, PolicySizes, PolicyTape,
};
use crate::gru::gemm::gemm;
use crate::gru::kernels;
use ndarray::{ArrayView2, ArrayViewMut2};
use rand::Rng;

/// The recurrent cell of a [`Layered`] network.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CellKind {
    /// `h' = tanh(W_ih x + b_ih + W_hh h + b_hh)`.
    RnnTanh,
    /// `h' = relu(W_ih x + b_ih + W_hh h + b_hh)`.
    RnnRelu,
    /// PyTorch's GRU cell, gate rows r, z, n.
    Gru,
    /// PyTorch's LSTM cell, gate rows i, f, g, o.
    Lstm,
    /// `h' = (1 − α) h + α tanh(W_ih x + b_ih + W_hh h + b_hh)`, `α = dt/τ`.
    Ctrnn { alpha: f64 },
}

impl CellKind {
    /// Gate blocks per layer (rows of `weight_ih` are `gates · H`).
    pub fn gates(self) -> usize {
        match self {
            CellKind::RnnTanh | CellKind::RnnRelu | CellKind::Ctrnn { .. } => 1,
            CellKind::Gru => 3,
            CellKind::Lstm => 4,
        }
    }

    /// Values recorded per hidden unit per step for the backward pass.
    fn record(self) -> usize {
        match self {
            CellKind::RnnTanh | CellKind::RnnRelu | CellKind::Ctrnn { .. } => 1,
            CellKind::Gru => 4,
            CellKind::Lstm => 5,
        }
    }

    /// The torch submodule's name, the prefix of its `state_dict` keys.
    pub fn prefix(self) -> &'static str {
        match self {
            CellKind::RnnTanh | CellKind::RnnRelu => "rnn",
            CellKind::Gru => "gru",
            CellKind::Lstm => "lstm",
            CellKind::Ctrnn { .. } => "ctrnn",
        }
    }

    /// The network's name ([`Policy::kind`]).
    pub fn name(self) -> &'static str {
        match self {
            CellKind::RnnTanh => "rnn_tanh",
            CellKind::RnnRelu => "rnn_relu",
            CellKind::Gru => "gru",
            CellKind::Lstm => "lstm",
            CellKind::Ctrnn { .. } => "ctrnn",
        }
    }
}

/// Offsets of one layer's tensors in the flat vector, and its input width.
#[derive(Clone, Copy, Debug, PartialEq)]
struct LayerAt {
    w_ih: usize,
    w_hh: usize,
    b_ih: usize,
    b_hh: usize,
    input: usize,
}

/// A stack of `layers` recurrent layers of one [`CellKind`] and a sigmoid readout (`fc`).
#[derive(Clone, Debug, PartialEq)]
pub struct Layered {
    kind: CellKind,
    input: usize,
    hidden: usize,
    layers: usize,
    output: usize,
    params: Vec<f64>,
    at: Vec<LayerAt>,
    fc_w: usize,
    fc_b: usize,
}

impl Layered {
    /// A network with every parameter zero.
    pub fn zeros(
        kind: CellKind,
        input: usize,
        hidden: usize,
        layers: usize,
        output: usize,
    ) -> Layered {
        let g = kind.gates() * hidden;
        let mut at = Vec::with_capacity(layers);
        let mut offset = 0;
        for k in 0..layers {
            let inp = if k == 0 { input } else { hidden };
            let w_ih = offset;
            let w_hh = w_ih + g * inp;
            let b_ih = w_hh + g * hidden;
            let b_hh = b_ih + g;
            offset = b_hh + g;
            at.push(LayerAt {
                w_ih,
                w_hh,
                b_ih,
                b_hh,
                input: inp,
            });
        }
        let fc_w = offset;
        let fc_b = fc_w + output * hidden;
        Layered {
            kind,
            input,
            hidden,
            layers,
            output,
            params: vec![0.0; fc_b + output],
            at,
            fc_w,
            fc_b,
        }
    }

    /// A freshly initialised network. The recurrent layers are initialised as PyTorch's `nn.RNN`,
    /// `nn.GRU` and `nn.LSTM` do it: every weight and bias uniform(−1/√H, 1/√H) (the CTRNN, which has no
    /// torch counterpart, likewise). The readout is initialised as MotorNet's `PolicyGRU` does it (and
    /// [`crate::gru::Gru::new`]): xavier-uniform `fc.weight`, `fc.bias = −5`, so initial excitations are
    /// near zero whichever network is chosen and networks differ only in their recurrent part.
    pub fn new<R: Rng + ?Sized>(
        kind: CellKind,
        input: usize,
        hidden: usize,
        layers: usize,
        output: usize,
        rng: &mut R,
    ) -> Layered {
        let mut net = Layered::zeros(kind, input, hidden, layers, output);
        let bound = 1.0 / (hidden as f64).sqrt();
        uniform(&mut net.params[..net.fc_w], bound, rng);
        let (fc_w, fc_b) = (net.fc_w, net.fc_b);
        xavier_uniform(&mut net.params[fc_w..fc_b], output, hidden, 1.0, rng);
        net.params[fc_b..].fill(-5.0);
        net
    }

    /// A network from a flat parameter vector in [`Policy::tensors`] order.
    #[allow(clippy::too_many_arguments)]
    pub fn from_flat(
        kind: CellKind,
        input: usize,
        hidden: usize,
        layers: usize,
        output: usize,
        params: Vec<f64>,
    ) -> Result<Layered, String> {
        let mut net = Layered::zeros(kind, input, hidden, layers, output);
        if params.len() != net.params.len() {
            return Err(format!(
                "{} parameters: expected {}, got {}",
                kind.name(),
                net.params.len(),
                params.len()
            ));
        }
        net.params = params;
        Ok(net)
    }

    pub fn cell(&self) -> CellKind {
        self.kind
    }

    fn shape(&self) -> (CellKind, usize, usize, usize, usize) {
        (self.kind, self.input, self.hidden, self.layers, self.output)
    }

    fn check_tape(&self, tape: &LayeredTape) {
        assert!(
            tape.shape == self.shape(),
            "the tape was made for another network shape"
        );
    }
}

impl Policy for Layered {
    type Tape = LayeredTape;

    fn kind(&self) -> &'static str {
        self.kind.name()
    }

    fn sizes(&self) -> PolicySizes {
        let lh = self.layers * self.hidden;
        PolicySizes {
            input: self.input,
            output: self.output,
            hidden: lh,
            state: if self.kind == CellKind::Lstm {
                2 * lh
            } else {
                lh
            },
        }
    }

    fn layers(&self) -> usize {
        self.layers
    }

    fn tensors(&self) -> Vec<ParamTensor> {
        let (p, g, h) = (
            self.kind.prefix(),
            self.kind.gates() * self.hidden,
            self.hidden,
        );
        let mut specs = Vec::new();
        for (k, at) in self.at.iter().enumerate() {
            specs.push((format!("{p}.weight_ih_l{k}"), vec![g, at.input]));
            specs.push((format!("{p}.weight_hh_l{k}"), vec![g, h]));
            specs.push((format!("{p}.bias_ih_l{k}"), vec![g]));
            specs.push((format!("{p}.bias_hh_l{k}"), vec![g]));
        }
        specs.push(("fc.weight".into(), vec![self.output, h]));
        specs.push(("fc.bias".into(), vec![self.output]));
        layout(specs)
    }

    fn params(&self) -> &[f64] {
        &self.params
    }

    fn params_mut(&mut self) -> &mut [f64] {
        &mut self.params
    }

    fn tape(&self, batch: usize, steps: usize) -> LayeredTape {
        let (i, h, l, o) = (self.input, self.hidden, self.layers, self.output);
        let (g, r, lh) = (self.kind.gates() * h, self.kind.record() * h, l * h);
        let mut wt_at = Vec::with_capacity(l);
        let mut offset = 0;
        for at in &self.at {
            wt_at.push((offset, offset + at.input * g));
            offset += at.input * g + h * g;
        }
        let lstm = self.kind == CellKind::Lstm;
        LayeredTape {
            shape: self.shape(),
            batch,
            capacity: steps,
            len: 0,
            back: 0,
            xs: vec![0.0; steps * batch * i],
            hs: vec![0.0; (steps + 1) * batch * lh],
            cs: if lstm {
                vec![0.0; (steps + 1) * batch * lh]
            } else {
                Vec::new()
            },
            rec: vec![0.0; steps * l * batch * r],
            us: vec![0.0; steps * batch * o],
            a: vec![0.0; batch * g],
            wt: vec![0.0; offset + h * o],
            wt_at,
            fc_t: offset,
            dgi: vec![0.0; batch * g],
            dgh: if self.kind == CellKind::Gru {
                vec![0.0; batch * g]
            } else {
                Vec::new()
            },
            dau: vec![0.0; batch * o],
            dc: if lstm {
                vec![0.0; batch * lh]
            } else {
                Vec::new()
            },
        }
    }

    fn reset(&self, tape: &mut LayeredTape) {
        self.check_tape(tape);
        let n = tape.batch * self.layers * self.hidden;
        tape.hs[..n].fill(0.0);
        if !tape.cs.is_empty() {
            tape.cs[..n].fill(0.0);
        }
        tape.len = 0;
        tape.back = 0;
    }

    fn reset_to(&self, tape: &mut LayeredTape, state: ArrayView2<f64>) {
        self.check_tape(tape);
        let (b, lh) = (tape.batch, self.layers * self.hidden);
        let width = self.sizes().state;
        assert_eq!(
            state.dim(),
            (b, width),
            "initial state must be batch × state"
        );
        for (row, s) in state.rows().into_iter().enumerate() {
            for (j, &v) in s.iter().enumerate() {
                if j < lh {
                    tape.hs[row * lh + j] = v;
                } else {
                    tape.cs[row * lh + j - lh] = v;
                }
            }
        }
        tape.len = 0;
        tape.back = 0;
    }

    fn step<'t>(
        &self,
        tape: &'t mut LayeredTape,
        t: usize,
        x: ArrayView2<f64>,
        noise: Option<ArrayView2<f64>>,
    ) -> ArrayView2<'t, f64> {
        self.check_tape(tape);
        assert_eq!(t, tape.len, "steps must be recorded in order");
        assert!(t < tape.capacity, "the tape holds {} steps", tape.capacity);
        assert!(
            tape.back == tape.len,
            "reset the tape before stepping after a backward pass"
        );
        let (b, i, h, l, o) = (
            tape.batch,
            self.input,
            self.hidden,
            self.layers,
            self.output,
        );
        let (g, r, lh) = (self.kind.gates() * h, self.kind.record() * h, l * h);
        assert_eq!(x.dim(), (b, i), "input must be batch × input");
        if let Some(noise) = &noise {
            assert_eq!(noise.dim(), (b, lh), "hidden noise must be batch × hidden");
        }
        mat_mut(&mut tape.xs[t * b * i..], b, i).assign(&x);
        if t == 0 {
            for (at, &(ih, hh)) in self.at.iter().zip(&tape.wt_at) {
                let w_ih = mat(&self.params[at.w_ih..], g, at.input);
                mat_mut(&mut tape.wt[ih..], at.input, g).assign(&w_ih.t());
                let w_hh = mat(&self.params[at.w_hh..], g, h);
                mat_mut(&mut tape.wt[hh..], h, g).assign(&w_hh.t());
            }
            let fc = mat(&self.params[self.fc_w..], o, h);
            mat_mut(&mut tape.wt[tape.fc_t..], h, o).assign(&fc.t());
        }
        let (hs_prev, hs_next) = tape.hs.split_at_mut((t + 1) * b * lh);
        let hs_prev = &hs_prev[t * b * lh..];
        let hs_next = &mut hs_next[..b * lh];
        let (cs_prev, cs_next) = if tape.cs.is_empty() {
            (&[][..], &mut [][..])
        } else {
            let (p, n) = tape.cs.split_at_mut((t + 1) * b * lh);
            (&p[t * b * lh..], &mut n[..b * lh])
        };
        for (k, at) in self.at.iter().enumerate() {
            let (ih, hh) = tape.wt_at[k];
            let w_ih_t = mat(&tape.wt[ih..], at.input, g);
            let w_hh_t = mat(&tape.wt[hh..], h, g);
            let (b_ih, b_hh) = (
                &self.params[at.b_ih..at.b_ih + g],
                &self.params[at.b_hh..at.b_hh + g],
            );
            let rec = &mut tape.rec[(t * l + k) * b * r..(t * l + k + 1) * b * r];
            {
                let input = if k == 0 {
                    mat(&tape.xs[t * b * i..], b, i)
                } else {
                    strided(&hs_next[(k - 1) * h..], b, h, lh)
                };
                gemm(&input, &w_ih_t, false, &mut mat_mut(&mut tape.a, b, g));
            }
            let h_prev = strided(&hs_prev[k * h..], b, h, lh);
            if self.kind == CellKind::Gru {
                // Hidden projections straight into the record's first 3H columns, as `Gru::step`.
                gemm(&h_prev, &w_hh_t, false, &mut strided_mut(rec, b, g, r));
            } else {
                gemm(&h_prev, &w_hh_t, true, &mut mat_mut(&mut tape.a, b, g));
            }
            for row in 0..b {
                let a = &tape.a[row * g..(row + 1) * g];
                let rec = &mut rec[row * r..(row + 1) * r];
                let cols = row * lh + k * h..row * lh + (k + 1) * h;
                let h_prev = &hs_prev[cols.clone()];
                let h_next = &mut hs_next[cols.clone()];
                match self.kind {
                    CellKind::Gru => kernels::forward_row(kernels::ForwardRow {
                        gi: a,
                        gates: rec,
                        b_ih,
                        b_hh,
                        h_prev,
                        h_next,
                    }),
                    CellKind::Lstm => cells::lstm_forward(LstmRow {
                        a,
                        b_ih,
                        b_hh,
                        c_prev: &cs_prev[cols.clone()],
                        rec,
                        c_next: &mut cs_next[cols.clone()],
                        h_next,
                    }),
                    kind => {
                        let row = SimpleRow {
                            a,
                            b_ih,
                            b_hh,
                            h_prev,
                            rec,
                            h_next,
                        };
                        match kind {
                            CellKind::RnnTanh => cells::rnn_tanh_forward(row),
                            CellKind::RnnRelu => cells::rnn_relu_forward(row),
                            CellKind::Ctrnn { alpha } => cells::ctrnn_forward(row, alpha),
                            _ => unreachable!(),
                        }
                    }
                }
                if let Some(noise) = &noise {
                    for (v, n) in hs_next[cols]
                        .iter_mut()
                        .zip(noise.row(row).iter().skip(k * h))
                    {
                        *v += n;
                    }
                }
            }
        }
        let top = strided(&hs_next[(l - 1) * h..], b, h, lh);
        let u = &mut tape.us[t * b * o..(t + 1) * b * o];
        gemm(
            &top,
            &mat(&tape.wt[tape.fc_t..], h, o),
            false,
            &mut mat_mut(u, b, o),
        );
        let fc_b = &self.params[self.fc_b..self.fc_b + o];
        for u_row in u.chunks_exact_mut(o.max(1)) {
            kernels::sigmoid_bias(u_row, fc_b);
        }
        tape.len = t + 1;
        tape.back = t + 1;
        PolicyTape::u(&*tape, t)
    }

    fn backward(
        &self,
        tape: &mut LayeredTape,
        t: usize,
        du: ArrayView2<f64>,
        mut dh: ArrayViewMut2<f64>,
        grads: &mut [f64],
        mut dx: Option<ArrayViewMut2<f64>>,
    ) {
        self.check_tape(tape);
        assert!(
            tape.back > 0 && t + 1 == tape.back,
            "backward steps must run in decreasing order from the last recorded step"
        );
        let (b, i, h, l, o) = (
            tape.batch,
            self.input,
            self.hidden,
            self.layers,
            self.output,
        );
        let (g, r, lh) = (self.kind.gates() * h, self.kind.record() * h, l * h);
        assert_eq!(du.dim(), (b, o), "dL/du must be batch × output");
        assert_eq!(dh.dim(), (b, lh), "dL/dh must be batch × hidden");
        assert_eq!(
            grads.len(),
            self.params.len(),
            "gradient has the wrong length"
        );
        if tape.back == tape.len {
            tape.dc.fill(0.0);
        }
        let dh = dh
            .as_slice_mut()
            .expect("dL/dh must be a contiguous row-major array");
        let h_prev_all = &tape.hs[t * b * lh..(t + 1) * b * lh];
        let h_next_all = &tape.hs[(t + 1) * b * lh..(t + 2) * b * lh];

        // Readout: dL/da = dL/du ⊙ u(1 − u), into the top layer's state and the readout weights.
        let u = &tape.us[t * b * o..(t + 1) * b * o];
        for ((d, &u), &du) in tape.dau.iter_mut().zip(u).zip(du.iter()) {
            *d = du * u * (1.0 - u);
        }
        let dau = mat(&tape.dau, b, o);
        let fc_w = mat(&self.params[self.fc_w..], o, h);
        gemm(
            &dau,
            &fc_w,
            true,
            &mut strided_mut(&mut dh[(l - 1) * h..], b, h, lh),
        );
        let top = strided(&h_next_all[(l - 1) * h..], b, h, lh);
        gemm(
            &dau.t(),
            &top,
            true,
            &mut mat_mut(&mut grads[self.fc_w..], o, h),
        );
        add_column_sums(&dau, &mut grads[self.fc_b..self.fc_b + o]);

        for (k, at) in self.at.iter().enumerate().rev() {
            let rec = &tape.rec[(t * l + k) * b * r..(t * l + k + 1) * b * r];
            for row in 0..b {
                let cols = row * lh + k * h..row * lh + (k + 1) * h;
                let rec = &rec[row * r..(row + 1) * r];
                let da = &mut tape.dgi[row * g..(row + 1) * g];
                let dh = &mut dh[cols.clone()];
                match self.kind {
                    CellKind::Gru => kernels::backward_row(kernels::BackwardRow {
                        gates: rec,
                        h_prev: &h_prev_all[cols],
                        dh,
                        dgi: da,
                        dgh: &mut tape.dgh[row * g..(row + 1) * g],
                    }),
                    CellKind::Lstm => cells::lstm_backward(LstmBackRow {
                        rec,
                        c_prev: &tape.cs[t * b * lh..][cols.clone()],
                        dh,
                        dc: &mut tape.dc[cols],
                        da,
                    }),
                    CellKind::Ctrnn { alpha } => {
                        cells::ctrnn_backward(SimpleBackRow { rec, dh, da }, alpha)
                    }
                    CellKind::RnnTanh | CellKind::RnnRelu => {
                        cells::rnn_backward(SimpleBackRow { rec, dh, da })
                    }
                }
            }
            let dgi = mat(&tape.dgi, b, g);
            let dgh = if self.kind == CellKind::Gru {
                mat(&tape.dgh, b, g)
            } else {
                dgi.view()
            };
            let w_hh = mat(&self.params[at.w_hh..], g, h);
            gemm(
                &dgh,
                &w_hh,
                true,
                &mut strided_mut(&mut dh[k * h..], b, h, lh),
            );
            let w_ih = mat(&self.params[at.w_ih..], g, at.input);
            if k > 0 {
                gemm(
                    &dgi,
                    &w_ih,
                    true,
                    &mut strided_mut(&mut dh[(k - 1) * h..], b, h, lh),
                );
            } else if let Some(dx) = dx.as_mut() {
                assert_eq!(dx.dim(), (b, i), "dL/dx must be batch × input");
                gemm(&dgi, &w_ih, false, dx);
            }
            // This layer's weight gradients, accumulated while its data is in cache.
            let input = if k == 0 {
                mat(&tape.xs[t * b * i..], b, i)
            } else {
                strided(&h_next_all[(k - 1) * h..], b, h, lh)
            };
            gemm(
                &dgi.t(),
                &input,
                true,
                &mut mat_mut(&mut grads[at.w_ih..], g, at.input),
            );
            let h_prev = strided(&h_prev_all[k * h..], b, h, lh);
            gemm(
                &dgh.t(),
                &h_prev,
                true,
                &mut mat_mut(&mut grads[at.w_hh..], g, h),
            );
            add_column_sums(&dgi, &mut grads[at.b_ih..at.b_ih + g]);
            add_column_sums(&dgh, &mut grads[at.b_hh..at.b_hh + g]);
        }
        tape.back = t;
    }
}

/// The tape of a [`Layered`] network; see [`Policy::tape`].
#[derive(Clone, Debug)]
pub struct LayeredTape {
    shape: (CellKind, usize, usize, usize, usize),
    batch: usize,
    capacity: usize,
    len: usize,
    /// The lowest step processed by the backward pass (`len` when none has been).
    back: usize,
    /// `T × B × I`.
    xs: Vec<f64>,
    /// `(T + 1) × B × L·H`: every layer's hidden state, `h_0` first.
    hs: Vec<f64>,
    /// `(T + 1) × B × L·H`: the LSTM's cell states (empty for other cells).
    cs: Vec<f64>,
    /// `T × L × B × record·H`: what each cell's backward kernel needs.
    rec: Vec<f64>,
    /// `T × B × O`.
    us: Vec<f64>,
    /// `B × gates·H` scratch: projections of the current layer.
    a: Vec<f64>,
    /// Transposed weights per layer (`in × gates·H`, `H × gates·H`) then `fc` (`H × O`), copied at step 0.
    wt: Vec<f64>,
    wt_at: Vec<(usize, usize)>,
    fc_t: usize,
    /// `B × gates·H` scratch: pre-activation gradients (input side; `dgh` the hidden side of the GRU).
    dgi: Vec<f64>,
    dgh: Vec<f64>,
    /// `B × O` scratch.
    dau: Vec<f64>,
    /// `B × L·H`: the LSTM's `dL/dc` carried between backward steps (`dL/dc_0` after step 0).
    dc: Vec<f64>,
}

impl LayeredTape {
    /// The cell states after `t` steps (`B × L·H`), for an LSTM.
    pub fn c(&self, t: usize) -> ArrayView2<'_, f64> {
        assert!(!self.cs.is_empty(), "only an LSTM has cell states");
        assert!(t <= self.len, "cell state {t} not recorded");
        let n = self.batch * self.shape.2 * self.shape.3;
        mat(
            &self.cs[t * n..(t + 1) * n],
            self.batch,
            n / self.batch.max(1),
        )
    }

    /// After the backward pass, `dL/dc_0` (`B × L·H`) of an LSTM.
    pub fn dc0(&self) -> ArrayView2<'_, f64> {
        assert!(!self.dc.is_empty(), "only an LSTM has cell states");
        let lh = self.shape.2 * self.shape.3;
        mat(&self.dc, self.batch, lh)
    }
}

impl PolicyTape for LayeredTape {
    fn batch(&self) -> usize {
        self.batch
    }
    fn capacity(&self) -> usize {
        self.capacity
    }
    fn len(&self) -> usize {
        self.len
    }
    fn hidden(&self) -> usize {
        self.shape.2 * self.shape.3
    }
    fn h(&self, t: usize) -> ArrayView2<'_, f64> {
        assert!(t <= self.len, "hidden state {t} not recorded");
        let lh = self.hidden();
        let n = self.batch * lh;
        mat(&self.hs[t * n..(t + 1) * n], self.batch, lh)
    }
    fn u(&self, t: usize) -> ArrayView2<'_, f64> {
        assert!(t < self.len, "readout {t} not recorded");
        let o = self.shape.4;
        let n = self.batch * o;
        mat(&self.us[t * n..(t + 1) * n], self.batch, o)
    }
}
