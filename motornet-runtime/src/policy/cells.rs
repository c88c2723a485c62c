//! Element-wise row kernels of the Elman RNN, the leaky CTRNN and the LSTM, written (like the GRU's in
//! `gru/kernels.rs`, whose `exp`-based sigmoid and tanh they share) so that the compiler vectorises them,
//! and compiled again for AVX-512 and AVX2 with run-time dispatch.
//!
//! Forward kernels take the summed projections `a = W_ih x + W_hh h` of one batch row, add both biases,
//! write the new state and record what the backward kernel needs; backward kernels turn `dL/dh_{t+1}` of
//! the row into the gradients of the pre-activations (`da`, shared by both biases and weight matrices
//! since neither cell scales its hidden projection) and the direct part of `dL/dh_t`.

use crate::gru::kernels::{dispatch, sigmoid, tanh};

/// One row of an Elman RNN or CTRNN step: `a` holds the projections (`H`).
pub struct SimpleRow<'a> {
    pub a: &'a [f64],
    pub b_ih: &'a [f64],
    pub b_hh: &'a [f64],
    pub h_prev: &'a [f64],
    /// Records the derivative of the nonlinearity (RNN) or the `tanh` value (CTRNN).
    pub rec: &'a mut [f64],
    pub h_next: &'a mut [f64],
}

#[inline(always)]
fn rnn_tanh_forward_impl(row: SimpleRow<'_>) {
    let h = row.h_next.len();
    let (a, bi, bh, rec) = (
        &row.a[..h],
        &row.b_ih[..h],
        &row.b_hh[..h],
        &mut row.rec[..h],
    );
    for j in 0..h {
        let v = tanh(a[j] + bi[j] + bh[j]);
        rec[j] = 1.0 - v * v;
        row.h_next[j] = v;
    }
}

#[inline(always)]
fn rnn_relu_forward_impl(row: SimpleRow<'_>) {
    let h = row.h_next.len();
    let (a, bi, bh, rec) = (
        &row.a[..h],
        &row.b_ih[..h],
        &row.b_hh[..h],
        &mut row.rec[..h],
    );
    for j in 0..h {
        let v = a[j] + bi[j] + bh[j];
        // torch.relu's gradient at 0 is 0.
        let on = v > 0.0;
        rec[j] = if on { 1.0 } else { 0.0 };
        row.h_next[j] = if on { v } else { 0.0 };
    }
}

/// `h' = (1 − α) h + α tanh(a + b_ih + b_hh)`.
#[inline(always)]
fn ctrnn_forward_impl(row: SimpleRow<'_>, alpha: f64) {
    let h = row.h_next.len();
    let (a, bi, bh, rec) = (
        &row.a[..h],
        &row.b_ih[..h],
        &row.b_hh[..h],
        &mut row.rec[..h],
    );
    let hp = &row.h_prev[..h];
    for j in 0..h {
        let v = tanh(a[j] + bi[j] + bh[j]);
        rec[j] = v;
        row.h_next[j] = (1.0 - alpha) * hp[j] + alpha * v;
    }
}

/// One backward row of the Elman RNN or CTRNN: `dh` holds `dL/dh_{t+1}` on entry and the direct part of
/// `dL/dh_t` on exit (0 for the RNN, `(1 − α) dL/dh_{t+1}` for the CTRNN).
pub struct SimpleBackRow<'a> {
    pub rec: &'a [f64],
    pub dh: &'a mut [f64],
    pub da: &'a mut [f64],
}

#[inline(always)]
fn rnn_backward_impl(row: SimpleBackRow<'_>) {
    let h = row.da.len();
    let (rec, dh) = (&row.rec[..h], &mut row.dh[..h]);
    for j in 0..h {
        row.da[j] = dh[j] * rec[j];
        dh[j] = 0.0;
    }
}

#[inline(always)]
fn ctrnn_backward_impl(row: SimpleBackRow<'_>, alpha: f64) {
    let h = row.da.len();
    let (rec, dh) = (&row.rec[..h], &mut row.dh[..h]);
    for j in 0..h {
        let v = rec[j];
        row.da[j] = dh[j] * alpha * (1.0 - v * v);
        dh[j] *= 1.0 - alpha;
    }
}

/// One LSTM row: `a` holds the projections of the gates `[i, f, g, o]` (`4H`); `rec` receives
/// `[i, f, g, o, tanh c']` (`5H`).
pub struct LstmRow<'a> {
    pub a: &'a [f64],
    pub b_ih: &'a [f64],
    pub b_hh: &'a [f64],
    pub c_prev: &'a [f64],
    pub rec: &'a mut [f64],
    pub c_next: &'a mut [f64],
    pub h_next: &'a mut [f64],
}

#[inline(always)]
fn lstm_forward_impl(row: LstmRow<'_>) {
    let h = row.h_next.len();
    let (a, bi, bh) = (&row.a[..4 * h], &row.b_ih[..4 * h], &row.b_hh[..4 * h]);
    let (r_i, rest) = row.rec[..5 * h].split_at_mut(h);
    let (r_f, rest) = rest.split_at_mut(h);
    let (r_g, rest) = rest.split_at_mut(h);
    let (r_o, r_tc) = rest.split_at_mut(h);
    let (cp, cn) = (&row.c_prev[..h], &mut row.c_next[..h]);
    for j in 0..h {
        let i = sigmoid(a[j] + bi[j] + bh[j]);
        let f = sigmoid(a[h + j] + bi[h + j] + bh[h + j]);
        let g = tanh(a[2 * h + j] + bi[2 * h + j] + bh[2 * h + j]);
        let o = sigmoid(a[3 * h + j] + bi[3 * h + j] + bh[3 * h + j]);
        let c = f * cp[j] + i * g;
        let tc = tanh(c);
        r_i[j] = i;
        r_f[j] = f;
        r_g[j] = g;
        r_o[j] = o;
        r_tc[j] = tc;
        cn[j] = c;
        row.h_next[j] = o * tc;
    }
}

/// One backward LSTM row. `dh` holds `dL/dh_{t+1}` on entry and 0 on exit (the hidden state reaches
/// the next step only through `W_hh`); `dc` holds `dL/dc_{t+1}` on entry and `dL/dc_t` on exit; `da`
/// receives the gate pre-activation gradients.
pub struct LstmBackRow<'a> {
    pub rec: &'a [f64],
    pub c_prev: &'a [f64],
    pub dh: &'a mut [f64],
    pub dc: &'a mut [f64],
    pub da: &'a mut [f64],
}

#[inline(always)]
fn lstm_backward_impl(row: LstmBackRow<'_>) {
    let h = row.dh.len();
    let r = &row.rec[..5 * h];
    let (cp, dc) = (&row.c_prev[..h], &mut row.dc[..h]);
    let (d_i, rest) = row.da[..4 * h].split_at_mut(h);
    let (d_f, rest) = rest.split_at_mut(h);
    let (d_g, d_o) = rest.split_at_mut(h);
    for j in 0..h {
        let (i, f, g, o, tc) = (r[j], r[h + j], r[2 * h + j], r[3 * h + j], r[4 * h + j]);
        let dhj = row.dh[j];
        let dct = dc[j] + dhj * o * (1.0 - tc * tc);
        d_i[j] = dct * g * i * (1.0 - i);
        d_f[j] = dct * cp[j] * f * (1.0 - f);
        d_g[j] = dct * i * (1.0 - g * g);
        d_o[j] = dhj * tc * o * (1.0 - o);
        dc[j] = dct * f;
        row.dh[j] = 0.0;
    }
}

dispatch!(
    /// Forward row of a tanh RNN.
    rnn_tanh_forward(row: SimpleRow<'_>) => rnn_tanh_forward_impl
);
dispatch!(
    /// Forward row of a ReLU RNN.
    rnn_relu_forward(row: SimpleRow<'_>) => rnn_relu_forward_impl
);
dispatch!(
    /// Forward row of a CTRNN.
    ctrnn_forward(row: SimpleRow<'_>, alpha: f64) => ctrnn_forward_impl
);
dispatch!(
    /// Backward row of an RNN (either nonlinearity: `rec` holds its derivative).
    rnn_backward(row: SimpleBackRow<'_>) => rnn_backward_impl
);
dispatch!(
    /// Backward row of a CTRNN.
    ctrnn_backward(row: SimpleBackRow<'_>, alpha: f64) => ctrnn_backward_impl
);
dispatch!(
    /// Forward row of an LSTM.
    lstm_forward(row: LstmRow<'_>) => lstm_forward_impl
);
dispatch!(
    /// Backward row of an LSTM.
    lstm_backward(row: LstmBackRow<'_>) => lstm_backward_impl
);
