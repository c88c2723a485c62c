//! MotorNet's `ModularPolicyGRU` (upstream `motornet/policy.py`, commit 058b255): a GRU whose hidden units
//! are split into modules that see each other with per-pair delays, through fixed binary connectivity and
//! output masks, from a learnable initial state `tanh(h0)`.
//!
//! The cell follows upstream's module-by-module path (which equals its single-pass path when every delay
//! is 0), without its 1e-3 noise on the candidate pre-activation, an output delay or a cancellation matrix
//! (none of which the reference exercises). Dale's law and spectral scaling are optional (see
//! [`ModularSpec`]):
//! ```text
//! for each module i:  hd = h^{t−1−delay[i][j]} on module j's units (h⁰ before the start)
//!     z = σ(Wz[rows_i] [x, hd] + bz[rows_i]);   r = σ(Wr [x, hd] + br)   (all H rows)
//!     n = tanh(Wh[rows_i] [x, r∘hd] + bh[rows_i]);   h^t[rows_i] = (1 − z)∘hd[rows_i] + z∘n
//! u = σ(Y h^t + bY)
//! ```
//! Consecutive modules with equal rows of `delay` read the same `hd`, hence the same `r`: they are computed
//! together as one block (with no delays, the whole network in one pass, as upstream's single-pass path).
//! Upstream keeps a buffer of the last `max_delay + 1` states; the tape keeps every state anyway, so a
//! delayed view is an index into it. In the backward pass a delayed view's gradient belongs to an earlier
//! state, whose backward step comes later: it waits in `pending` until then.

use super::{
    add_column_sums, layout, mat, mat_mut, xavier_uniform, ParamTensor, Policy, PolicySizes,
    PolicyTape,
};
use crate::gru::gemm::gemm;
use crate::gru::kernels::{sigmoid, tanh};
use ndarray::{ArrayView2, ArrayViewMut2};
use rand::Rng;
use rand_distr::{Distribution, Normal};

use super::modular_spec::ModularSpec;

/// Offsets of the tensors in the flat vector (upstream's `parameters()` order).
#[derive(Clone, Copy, Debug, PartialEq)]
struct At {
    h0: usize,
    wz: usize,
    bz: usize,
    wr: usize,
    br: usize,
    wh: usize,
    bh: usize,
    y: usize,
    by: usize,
    end: usize,
}

/// Units computed together: consecutive modules that see every module with the same delays (so read
/// the same delayed state), restricted to the columns their masks let through.
#[derive(Clone, Debug, PartialEq)]
struct Block {
    /// The first module (whose row of `delay` the block's units share).
    module: usize,
    start: usize,
    end: usize,
    /// The columns of `[x, h]` some unit of the block receives (the rest of its weights are masked).
    cols: Vec<usize>,
    /// The units whose reset gate the block's candidate reads: the hidden columns of `cols`.
    r_units: Vec<usize>,
    /// The columns of `[x, h]` those units' reset-gate rows receive.
    r_cols: Vec<usize>,
}

impl Block {
    fn new(spec: &ModularSpec, module: usize, start: usize, end: usize) -> Block {
        let (i, h) = (spec.input, spec.hidden());
        let k = i + h;
        let active = |rows: &mut dyn Iterator<Item = usize>| -> Vec<usize> {
            let mut on = vec![false; k];
            for r in rows {
                for (c, m) in spec.mask_w[r * k..(r + 1) * k].iter().enumerate() {
                    on[c] |= *m != 0.0;
                }
            }
            (0..k).filter(|&c| on[c]).collect()
        };
        let cols = active(&mut (start..end));
        let r_units: Vec<usize> = cols.iter().filter(|&&c| c >= i).map(|&c| c - i).collect();
        let r_cols = active(&mut r_units.iter().copied());
        Block {
            module,
            start,
            end,
            cols,
            r_units,
            r_cols,
        }
    }

    /// Units, columns, reset-gate units and their columns.
    fn sizes(&self) -> (usize, usize, usize, usize) {
        (
            self.end - self.start,
            self.cols.len(),
            self.r_units.len(),
            self.r_cols.len(),
        )
    }

    /// Where each packed matrix of the block starts, from the block's offset: `Wz` and `Wh` over `cols`
    /// as `cols × units` (for `x W^T`) then as `units × cols` (for `d W`), likewise `Wr`'s `r_units` rows
    /// over `r_cols`.
    fn packed_at(&self, at: usize) -> [usize; 6] {
        let (hi, na, nr, nrc) = self.sizes();
        let (w, r) = (na * hi, nr * nrc);
        [
            at,
            at + w,
            at + 2 * w,
            at + 2 * w + r,
            at + 3 * w + r,
            at + 4 * w + r,
        ]
    }

    /// Multiply-adds per batch row of a forward step: the update gate and candidate over `cols`, the
    /// reset gate of `r_units` over `r_cols`.
    fn cost(&self) -> usize {
        2 * (self.end - self.start) * self.cols.len() + self.r_units.len() * self.r_cols.len()
    }
}

/// The blocks of a network: module by module, consecutive modules merged when they see every module with
/// the same delays and computing them together costs no more than apart (it saves the reset gate they
/// share; it costs when their masks let through different columns).
fn blocks(spec: &ModularSpec, rows: &[(usize, usize)]) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    for (mi, &(s, e)) in rows.iter().enumerate() {
        let alone = Block::new(spec, mi, s, e);
        if let Some(last) = out.last_mut() {
            if spec.delay[last.module] == spec.delay[mi] {
                let merged = Block::new(spec, last.module, last.start, e);
                if merged.cost() <= last.cost() + alone.cost() {
                    *last = merged;
                    continue;
                }
            }
        }
        out.push(alone);
    }
    out
}

/// Copies columns `cols` of the `rows × width` row-major matrix `src` into `dst` (`rows × cols.len()`).
fn gather(src: &[f64], rows: usize, width: usize, cols: &[usize], dst: &mut [f64]) {
    let n = cols.len();
    for row in 0..rows {
        let from = &src[row * width..(row + 1) * width];
        for (d, &c) in dst[row * n..(row + 1) * n].iter_mut().zip(cols) {
            *d = from[c];
        }
    }
}

/// Adds `g` (one row per unit of `units`, `cols.len()` columns) to the rows `units` and columns `cols` of
/// the row-major weight matrix `w` of `width` columns.
fn scatter(
    g: &[f64],
    units: impl IntoIterator<Item = usize>,
    cols: &[usize],
    width: usize,
    w: &mut [f64],
) {
    let n = cols.len();
    for (p, u) in units.into_iter().enumerate() {
        let row = &mut w[u * width..(u + 1) * width];
        for (v, &c) in g[p * n..(p + 1) * n].iter().zip(cols) {
            row[c] += v;
        }
    }
}

/// MotorNet's `ModularPolicyGRU`; see the module documentation.
#[derive(Clone, Debug, PartialEq)]
pub struct ModularGru {
    spec: ModularSpec,
    hidden: usize,
    /// `[start, end)` of each module's units.
    rows: Vec<(usize, usize)>,
    /// How the units are computed (see [`Block`]).
    blocks: Vec<Block>,
    at: At,
    params: Vec<f64>,
}

impl ModularGru {
    /// A network with every parameter zero.
    pub fn zeros(spec: ModularSpec) -> Result<ModularGru, String> {
        spec.validate()?;
        let (i, h, o) = (spec.input, spec.hidden(), spec.output);
        let k = i + h;
        let mut rows = Vec::new();
        let mut start = 0;
        for &size in &spec.modules {
            rows.push((start, start + size));
            start += size;
        }
        let h0 = 0;
        let wz = h0 + h;
        let bz = wz + h * k;
        let wr = bz + h;
        let br = wr + h * k;
        let wh = br + h;
        let bh = wh + h * k;
        let y = bh + h;
        let by = y + o * h;
        let end = by + o;
        let at = At {
            h0,
            wz,
            bz,
            wr,
            br,
            wh,
            bh,
            y,
            by,
            end,
        };
        let blocks = blocks(&spec, &rows);
        Ok(ModularGru {
            spec,
            hidden: h,
            blocks,
            rows,
            at,
            params: vec![0.0; end],
        })
    }

    /// A freshly initialised network, as upstream does it (with input gain 1): `h0 = 0`; each of `Wz`,
    /// `Wr`, `Wh` is `[xavier_uniform(H × I) | normal(0, 1/√H) (H × H)]`; zero biases; xavier-uniform
    /// `Y`; `bY = −3`; under Dale's law every recurrent weight takes its presynaptic unit's sign; every
    /// weight multiplied by its mask; under Dale's law the recurrent `Wh` balanced (its excitatory weights
    /// sum to 1, its inhibitory ones to −1); with spectral scaling the recurrent `Wh` scaled to the given
    /// largest real eigenvalue.
    pub fn new<R: Rng + ?Sized>(spec: ModularSpec, rng: &mut R) -> Result<ModularGru, String> {
        let mut net = ModularGru::zeros(spec)?;
        let (i, h, o, at) = (net.spec.input, net.hidden, net.spec.output, net.at);
        let normal = Normal::new(0.0, 1.0 / (h as f64).sqrt()).map_err(|e| e.to_string())?;
        let mut input_part = vec![0.0; h * i];
        for w in [at.wz, at.wr, at.wh] {
            xavier_uniform(&mut input_part, h, i, 1.0, rng);
            for row in 0..h {
                let dst = &mut net.params[w + row * (i + h)..w + (row + 1) * (i + h)];
                dst[..i].copy_from_slice(&input_part[row * i..(row + 1) * i]);
                for v in &mut dst[i..] {
                    *v = normal.sample(rng);
                }
            }
        }
        xavier_uniform(&mut net.params[at.y..at.by], o, h, 1.0, rng);
        net.params[at.by..at.end].fill(-3.0);
        if !net.spec.unit_sign.is_empty() {
            // Dale's law from the start: every recurrent weight takes its presynaptic unit's sign.
            for w in [at.wz, at.wr, at.wh] {
                let offsets: Vec<(usize, usize)> = net.recurrent(w).collect();
                for (k, j) in offsets {
                    net.params[k] = net.spec.unit_sign[j] * net.params[k].abs();
                }
            }
        }
        net.constrain();
        if !net.spec.unit_sign.is_empty() {
            net.balance_excitation_and_inhibition();
        }
        if let Some(radius) = net.spec.spectral_scaling {
            net.scale_recurrent_spectrum(radius)?;
        }
        Ok(net)
    }

    /// The offsets of the recurrent weights `W[row][input + j]` of one gate matrix starting at `w`: every
    /// `(offset, j)`.
    fn recurrent(&self, w: usize) -> impl Iterator<Item = (usize, usize)> {
        let (i, h) = (self.spec.input, self.hidden);
        (0..h).flat_map(move |row| (0..h).map(move |j| (w + row * (i + h) + i + j, j)))
    }

    /// Upstream's initial E/I balance under Dale's law: the recurrent weights of `Wh` leaving excitatory
    /// units are scaled to sum to 1, those leaving inhibitory units to sum to −1.
    fn balance_excitation_and_inhibition(&mut self) {
        let mut sums = [0.0f64; 2]; // inhibitory, excitatory
        let kind = |s: f64| usize::from(s > 0.0);
        for (k, j) in self.recurrent(self.at.wh) {
            sums[kind(self.spec.unit_sign[j])] += self.params[k];
        }
        let offsets: Vec<(usize, usize)> = self.recurrent(self.at.wh).collect();
        for (k, j) in offsets {
            let sum = sums[kind(self.spec.unit_sign[j])].abs();
            if sum > 0.0 {
                self.params[k] /= sum;
            }
        }
    }

    /// Scales the recurrent part of `Wh` so that the largest real part of its eigenvalues is `radius`
    /// (upstream's `spectral_scaling`).
    fn scale_recurrent_spectrum(&mut self, radius: f64) -> Result<(), String> {
        let h = self.hidden;
        let offsets: Vec<(usize, usize)> = self.recurrent(self.at.wh).collect();
        let values: Vec<f64> = offsets.iter().map(|&(k, _)| self.params[k]).collect();
        let largest = nalgebra::DMatrix::from_row_slice(h, h, &values)
            .complex_eigenvalues()
            .iter()
            .map(|e| e.re)
            .fold(f64::NEG_INFINITY, f64::max);
        if !(largest.is_finite() && largest > 1e-12) {
            return Err(format!(
                "spectral_scaling: the recurrent weights' eigenvalues have no positive real part to scale \
                 (largest {largest})"
            ));
        }
        for (k, _) in offsets {
            self.params[k] *= radius / largest;
        }
        Ok(())
    }

    /// A network from a flat parameter vector in [`Policy::tensors`] order.
    pub fn from_flat(spec: ModularSpec, params: Vec<f64>) -> Result<ModularGru, String> {
        let mut net = ModularGru::zeros(spec)?;
        if params.len() != net.params.len() {
            return Err(format!(
                "modular_gru parameters: expected {}, got {}",
                net.params.len(),
                params.len()
            ));
        }
        net.params = params;
        Ok(net)
    }

    /// Copies each block's weights over its columns into the tape, in both orientations.
    fn pack(&self, tape: &mut ModularGruTape) {
        let k = self.spec.input + self.hidden;
        for (blk, &offset) in self.blocks.iter().zip(&tape.offsets) {
            let (hi, na, nr, nrc) = blk.sizes();
            let [wz_p, wh_p, wr_p, wz_q, wh_q, wr_q] = blk.packed_at(offset);
            for (w, p, q) in [(self.at.wz, wz_p, wz_q), (self.at.wh, wh_p, wh_q)] {
                for u in 0..hi {
                    let row = &self.params[w + (blk.start + u) * k..][..k];
                    for (a, &c) in blk.cols.iter().enumerate() {
                        tape.packed[p + a * hi + u] = row[c];
                        tape.packed[q + u * na + a] = row[c];
                    }
                }
            }
            for (u, &j) in blk.r_units.iter().enumerate() {
                let row = &self.params[self.at.wr + j * k..][..k];
                for (a, &c) in blk.r_cols.iter().enumerate() {
                    tape.packed[wr_p + a * nr + u] = row[c];
                    tape.packed[wr_q + u * nrc + a] = row[c];
                }
            }
        }
    }

    pub fn spec(&self) -> &ModularSpec {
        &self.spec
    }

    fn check_tape(&self, tape: &ModularGruTape) {
        assert!(
            tape.spec == self.spec,
            "the tape was made for another network shape"
        );
    }
}

impl Policy for ModularGru {
    type Tape = ModularGruTape;

    fn kind(&self) -> &'static str {
        "modular_gru"
    }

    fn sizes(&self) -> PolicySizes {
        PolicySizes {
            input: self.spec.input,
            output: self.spec.output,
            hidden: self.hidden,
            state: self.hidden,
        }
    }

    /// Upstream's names and order: `h0`, `Wz`, `bz`, `Wr`, `br`, `Wh`, `bh`, `Y`, `bY`.
    fn tensors(&self) -> Vec<ParamTensor> {
        let (i, h, o) = (self.spec.input, self.hidden, self.spec.output);
        let k = i + h;
        let s = |n: &str, shape: Vec<usize>| (n.to_string(), shape);
        layout(vec![
            s("h0", vec![1, h]),
            s("Wz", vec![h, k]),
            s("bz", vec![h]),
            s("Wr", vec![h, k]),
            s("br", vec![h]),
            s("Wh", vec![h, k]),
            s("bh", vec![h]),
            s("Y", vec![o, h]),
            s("bY", vec![o]),
        ])
    }

    /// The masks, under upstream's names (it keeps them as parameters that require no gradient).
    fn buffers(&self) -> Vec<(String, Vec<usize>, Vec<f64>)> {
        let (h, k, o) = (self.hidden, self.spec.input + self.hidden, self.spec.output);
        let w = |n: &str| (n.to_string(), vec![h, k], self.spec.mask_w.clone());
        let ones = |n: &str, len: usize| (n.to_string(), vec![len], vec![1.0; len]);
        vec![
            w("mask_Wz"),
            w("mask_Wr"),
            w("mask_Wh"),
            ("mask_Y".into(), vec![o, h], self.spec.mask_y.clone()),
            ones("mask_bz", h),
            ones("mask_br", h),
            ones("mask_bh", h),
            ones("mask_bY", o),
        ]
        .into_iter()
        .chain(
            (!self.spec.unit_sign.is_empty())
                .then(|| ("unit_sign".into(), vec![h], self.spec.unit_sign.clone())),
        )
        .collect()
    }

    fn params(&self) -> &[f64] {
        &self.params
    }

    fn params_mut(&mut self) -> &mut [f64] {
        &mut self.params
    }

    /// The masks, then Dale's law: a recurrent weight whose sign disagrees with its presynaptic unit's is
    /// set to zero (the projection onto the allowed signs; upstream instead restores the magnitude it had
    /// before the step, which needs a copy of the previous weights).
    fn constrain(&mut self) {
        let mut p = std::mem::take(&mut self.params);
        self.mask_gradient(&mut p);
        if !self.spec.unit_sign.is_empty() {
            for w in [self.at.wz, self.at.wr, self.at.wh] {
                for (k, j) in self.recurrent(w) {
                    if p[k] * self.spec.unit_sign[j] < 0.0 {
                        p[k] = 0.0;
                    }
                }
            }
        }
        self.params = p;
    }

    fn mask_gradient(&self, grads: &mut [f64]) {
        let (at, n) = (self.at, self.spec.mask_w.len());
        for w in [at.wz, at.wr, at.wh] {
            for (g, m) in grads[w..w + n].iter_mut().zip(&self.spec.mask_w) {
                *g *= m;
            }
        }
        for (g, m) in grads[at.y..at.by].iter_mut().zip(&self.spec.mask_y) {
            *g *= m;
        }
    }

    fn tape(&self, batch: usize, steps: usize) -> ModularGruTape {
        let (i, h, o, m) = (
            self.spec.input,
            self.hidden,
            self.spec.output,
            self.blocks.len(),
        );
        let k = i + h;
        let z = |n: usize| vec![0.0; n];
        // Each block's weights over its columns, packed in both orientations (see `pack`).
        let mut offsets = Vec::with_capacity(m);
        let mut packed = 0;
        let (mut cols, mut r_cols, mut gtmp) = (0, 0, 0);
        for blk in &self.blocks {
            let (hi, na, nr, nrc) = blk.sizes();
            offsets.push(packed);
            packed += 2 * (2 * na * hi + nr * nrc);
            cols = cols.max(na);
            r_cols = r_cols.max(nrc);
            gtmp = gtmp.max(hi * na).max(nr * nrc);
        }
        ModularGruTape {
            spec: self.spec.clone(),
            batch,
            capacity: steps,
            len: 0,
            back: 0,
            from_h0: false,
            xs: z(steps * batch * i),
            hs: z((steps + 1) * batch * h),
            xh: z(steps * m * batch * k),
            xr: z(steps * m * batch * k),
            r: z(steps * m * batch * h),
            zs: z(steps * batch * h),
            ns: z(steps * batch * h),
            us: z(steps * batch * o),
            yt: z(h * o),
            packed: z(packed),
            offsets,
            pre: z(batch * h),
            pre_r: z(batch * h),
            xa: z(batch * cols),
            xar: z(batch * r_cols),
            dxa: z(batch * cols),
            dxar: z(batch * r_cols),
            gtmp: z(gtmp),
            pending: z((steps + 1) * batch * h),
            dnext: z(batch * h),
            dhd: z(batch * h),
            daz: z(batch * h),
            dan: z(batch * h),
            dar: z(batch * h),
            dau: z(batch * o),
        }
    }

    fn reset(&self, tape: &mut ModularGruTape) {
        self.check_tape(tape);
        let h = self.hidden;
        for row in 0..tape.batch {
            for j in 0..h {
                tape.hs[row * h + j] = tanh(self.params[self.at.h0 + j]);
            }
        }
        tape.from_h0 = true;
        tape.len = 0;
        tape.back = 0;
    }

    fn reset_to(&self, tape: &mut ModularGruTape, state: ArrayView2<f64>) {
        self.check_tape(tape);
        let (b, h) = (tape.batch, self.hidden);
        assert_eq!(state.dim(), (b, h), "initial state must be batch × hidden");
        mat_mut(&mut tape.hs, b, h).assign(&state);
        tape.from_h0 = false;
        tape.len = 0;
        tape.back = 0;
    }

    fn step<'t>(
        &self,
        tape: &'t mut ModularGruTape,
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
        let (b, i, h, o, m, at) = (
            tape.batch,
            self.spec.input,
            self.hidden,
            self.spec.output,
            self.blocks.len(),
            self.at,
        );
        let k = i + h;
        assert_eq!(x.dim(), (b, i), "input must be batch × input");
        mat_mut(&mut tape.xs[t * b * i..], b, i).assign(&x);
        if t == 0 {
            self.pack(tape);
            mat_mut(&mut tape.yt, h, o).assign(&mat(&self.params[at.y..], o, h).t());
        }
        let (hs_done, hs_next) = tape.hs.split_at_mut((t + 1) * b * h);
        let hs_next = &mut hs_next[..b * h];
        for (bi, blk) in self.blocks.iter().enumerate() {
            let (mi, s) = (blk.module, blk.start);
            let (hi, na, nr, nrc) = blk.sizes();
            let [wz_p, wh_p, wr_p, ..] = blk.packed_at(tape.offsets[bi]);
            let slot = (t * m + bi) * b;
            // [x, hd]: module j's block of hd is the state `delay[mi][j]` steps before h_t.
            let xh = &mut tape.xh[slot * k..(slot + b) * k];
            for row in 0..b {
                let dst = &mut xh[row * k..(row + 1) * k];
                dst[..i].copy_from_slice(&tape.xs[(t * b + row) * i..(t * b + row + 1) * i]);
                for (mj, &(sj, ej)) in self.rows.iter().enumerate() {
                    let src = t.saturating_sub(self.spec.delay[mi][mj]);
                    let from = (src * b + row) * h;
                    dst[i + sj..i + ej].copy_from_slice(&hs_done[from + sj..from + ej]);
                }
            }
            gather(&tape.xh[slot * k..], b, k, &blk.cols, &mut tape.xa);
            gather(&tape.xh[slot * k..], b, k, &blk.r_cols, &mut tape.xar);
            gemm(
                &mat(&tape.xa, b, na),
                &mat(&tape.packed[wz_p..], na, hi),
                false,
                &mut mat_mut(&mut tape.pre, b, hi),
            );
            gemm(
                &mat(&tape.xar, b, nrc),
                &mat(&tape.packed[wr_p..], nrc, nr),
                false,
                &mut mat_mut(&mut tape.pre_r, b, nr),
            );
            let r = &mut tape.r[slot * h..(slot + b) * h];
            let xr = &mut tape.xr[slot * k..(slot + b) * k];
            for row in 0..b {
                let (xh_row, xr_row) = (
                    &tape.xh[(slot + row) * k..(slot + row + 1) * k],
                    &mut xr[row * k..(row + 1) * k],
                );
                xr_row[..i].copy_from_slice(&xh_row[..i]);
                for (q, &j) in blk.r_units.iter().enumerate() {
                    let rv = sigmoid(tape.pre_r[row * nr + q] + self.params[at.br + j]);
                    r[row * h + j] = rv;
                    xr_row[i + j] = rv * xh_row[i + j];
                }
                for j in 0..hi {
                    let zv = sigmoid(tape.pre[row * hi + j] + self.params[at.bz + s + j]);
                    tape.zs[(t * b + row) * h + s + j] = zv;
                }
            }
            gather(&tape.xr[slot * k..], b, k, &blk.cols, &mut tape.xa);
            gemm(
                &mat(&tape.xa, b, na),
                &mat(&tape.packed[wh_p..], na, hi),
                false,
                &mut mat_mut(&mut tape.pre, b, hi),
            );
            for row in 0..b {
                for j in 0..hi {
                    let nv = tanh(tape.pre[row * hi + j] + self.params[at.bh + s + j]);
                    let c = (t * b + row) * h + s + j;
                    tape.ns[c] = nv;
                    let zv = tape.zs[c];
                    let hd = tape.xh[(slot + row) * k + i + s + j];
                    hs_next[row * h + s + j] = (1.0 - zv) * hd + zv * nv;
                }
            }
        }
        if let Some(noise) = noise {
            assert_eq!(noise.dim(), (b, h), "hidden noise must be batch × hidden");
            for (v, n) in hs_next.iter_mut().zip(noise.iter()) {
                *v += n;
            }
        }
        let u = &mut tape.us[t * b * o..(t + 1) * b * o];
        let yt = mat(&tape.yt, h, o);
        gemm(&mat(hs_next, b, h), &yt, false, &mut mat_mut(u, b, o));
        let by = &self.params[at.by..at.end];
        for u_row in u.chunks_exact_mut(o.max(1)) {
            for (v, bias) in u_row.iter_mut().zip(by) {
                *v = sigmoid(*v + bias);
            }
        }
        tape.len = t + 1;
        tape.back = t + 1;
        PolicyTape::u(&*tape, t)
    }

    fn backward(
        &self,
        tape: &mut ModularGruTape,
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
        let (b, i, h, o, m, at) = (
            tape.batch,
            self.spec.input,
            self.hidden,
            self.spec.output,
            self.blocks.len(),
            self.at,
        );
        let k = i + h;
        assert_eq!(du.dim(), (b, o), "dL/du must be batch × output");
        assert_eq!(dh.dim(), (b, h), "dL/dh must be batch × hidden");
        assert_eq!(
            grads.len(),
            self.params.len(),
            "gradient has the wrong length"
        );
        if tape.back == tape.len {
            tape.pending.fill(0.0);
        }
        let dh = dh
            .as_slice_mut()
            .expect("dL/dh must be a contiguous row-major array");
        if let Some(dx) = dx.as_mut() {
            assert_eq!(dx.dim(), (b, i), "dL/dx must be batch × input");
            dx.fill(0.0);
        }

        // dL/dh_{t+1}, with the readout's part; `dh` then collects dL/dh_t, starting from what later
        // steps' delayed views sent back to h_t.
        tape.dnext.copy_from_slice(dh);
        let u = &tape.us[t * b * o..(t + 1) * b * o];
        for ((d, &u), &du) in tape.dau.iter_mut().zip(u).zip(du.iter()) {
            *d = du * u * (1.0 - u);
        }
        let dau = mat(&tape.dau, b, o);
        gemm(
            &dau,
            &mat(&self.params[at.y..], o, h),
            true,
            &mut mat_mut(&mut tape.dnext, b, h),
        );
        let h_next = mat(&tape.hs[(t + 1) * b * h..], b, h);
        gemm(
            &dau.t(),
            &h_next,
            true,
            &mut mat_mut(&mut grads[at.y..], o, h),
        );
        add_column_sums(&dau, &mut grads[at.by..at.end]);
        dh.copy_from_slice(&tape.pending[t * b * h..(t + 1) * b * h]);

        for (bi, blk) in self.blocks.iter().enumerate() {
            let (mi, s, e) = (blk.module, blk.start, blk.end);
            let (hi, na, nr, nrc) = blk.sizes();
            let [.., wz_q, wh_q, wr_q] = blk.packed_at(tape.offsets[bi]);
            let slot = (t * m + bi) * b;
            let xh = mat(&tape.xh[slot * k..], b, k);
            tape.dhd.fill(0.0);
            for row in 0..b {
                for j in 0..hi {
                    let c = (t * b + row) * h + s + j;
                    let (zv, nv) = (tape.zs[c], tape.ns[c]);
                    let hd = xh[[row, i + s + j]];
                    let d = tape.dnext[row * h + s + j];
                    tape.dhd[row * h + s + j] += d * (1.0 - zv);
                    tape.daz[row * hi + j] = d * (nv - hd) * zv * (1.0 - zv);
                    tape.dan[row * hi + j] = d * zv * (1.0 - nv * nv);
                }
            }
            // Candidate: weights of the block's rows over its columns, then back through [x, r∘hd].
            let dan = mat(&tape.dan, b, hi);
            gather(&tape.xr[slot * k..], b, k, &blk.cols, &mut tape.xa);
            gemm(
                &dan.t(),
                &mat(&tape.xa, b, na),
                false,
                &mut mat_mut(&mut tape.gtmp, hi, na),
            );
            scatter(&tape.gtmp, s..e, &blk.cols, k, &mut grads[at.wh..]);
            add_column_sums(&dan, &mut grads[at.bh + s..at.bh + e]);
            gemm(
                &dan,
                &mat(&tape.packed[wh_q..], hi, na),
                false,
                &mut mat_mut(&mut tape.dxa, b, na),
            );
            let r = &tape.r[slot * h..(slot + b) * h];
            let n_inputs = blk.cols.len() - nr;
            for row in 0..b {
                for (q, &c) in blk.cols.iter().enumerate() {
                    let d = tape.dxa[row * na + q];
                    if c < i {
                        if let Some(dx) = dx.as_mut() {
                            dx[[row, c]] += d;
                        }
                        continue;
                    }
                    let j = c - i;
                    let rv = r[row * h + j];
                    tape.dhd[row * h + j] += d * rv;
                    tape.dar[row * nr + q - n_inputs] = d * xh[[row, c]] * rv * (1.0 - rv);
                }
            }
            // Reset gate (the block's `r_units`, over `r_cols`) and update gate (its rows), reading [x, hd].
            let dar = mat(&tape.dar, b, nr);
            gather(&tape.xh[slot * k..], b, k, &blk.r_cols, &mut tape.xar);
            gemm(
                &dar.t(),
                &mat(&tape.xar, b, nrc),
                false,
                &mut mat_mut(&mut tape.gtmp, nr, nrc),
            );
            scatter(
                &tape.gtmp,
                blk.r_units.iter().copied(),
                &blk.r_cols,
                k,
                &mut grads[at.wr..],
            );
            for (q, &j) in blk.r_units.iter().enumerate() {
                grads[at.br + j] += dar.column(q).sum();
            }
            let daz = mat(&tape.daz, b, hi);
            gather(&tape.xh[slot * k..], b, k, &blk.cols, &mut tape.xa);
            gemm(
                &daz.t(),
                &mat(&tape.xa, b, na),
                false,
                &mut mat_mut(&mut tape.gtmp, hi, na),
            );
            scatter(&tape.gtmp, s..e, &blk.cols, k, &mut grads[at.wz..]);
            add_column_sums(&daz, &mut grads[at.bz + s..at.bz + e]);
            gemm(
                &dar,
                &mat(&tape.packed[wr_q..], nr, nrc),
                false,
                &mut mat_mut(&mut tape.dxar, b, nrc),
            );
            gemm(
                &daz,
                &mat(&tape.packed[wz_q..], hi, na),
                false,
                &mut mat_mut(&mut tape.dxa, b, na),
            );
            for row in 0..b {
                for (cols, d, n) in [(&blk.r_cols, &tape.dxar, nrc), (&blk.cols, &tape.dxa, na)] {
                    for (q, &c) in cols.iter().enumerate() {
                        let v = d[row * n + q];
                        if c < i {
                            if let Some(dx) = dx.as_mut() {
                                dx[[row, c]] += v;
                            }
                        } else {
                            tape.dhd[row * h + c - i] += v;
                        }
                    }
                }
            }
            // Send each block of dL/dhd to the state it was read from.
            for (mj, &(sj, ej)) in self.rows.iter().enumerate() {
                let src = t.saturating_sub(self.spec.delay[mi][mj]);
                for row in 0..b {
                    let from = &tape.dhd[row * h + sj..row * h + ej];
                    let to = if src == t {
                        &mut dh[row * h + sj..row * h + ej]
                    } else {
                        let base = (src * b + row) * h;
                        &mut tape.pending[base + sj..base + ej]
                    };
                    for (a, v) in to.iter_mut().zip(from) {
                        *a += v;
                    }
                }
            }
        }
        if t == 0 {
            self.mask_gradient(grads);
        }
        tape.back = t;
    }

    /// `h0` enters through `tanh`, tiled over the batch: `dL/dh0 = Σ_b dL/dh_0[b] ⊙ (1 − tanh²(h0))`.
    fn backward_initial(&self, tape: &mut ModularGruTape, dh0: ArrayView2<f64>, grads: &mut [f64]) {
        self.check_tape(tape);
        if !tape.from_h0 {
            return;
        }
        assert_eq!(
            dh0.dim(),
            (tape.batch, self.hidden),
            "dL/dh_0 must be batch × hidden"
        );
        for row in dh0.rows() {
            for (j, d) in row.iter().enumerate() {
                let v = tanh(self.params[self.at.h0 + j]);
                grads[self.at.h0 + j] += d * (1.0 - v * v);
            }
        }
    }
}

/// The tape of a [`ModularGru`]; see [`Policy::tape`].
#[derive(Clone, Debug)]
pub struct ModularGruTape {
    spec: ModularSpec,
    batch: usize,
    capacity: usize,
    len: usize,
    back: usize,
    /// Whether the trajectory started from `tanh(h0)` (so `h0` receives a gradient).
    from_h0: bool,
    /// `T × B × I`.
    xs: Vec<f64>,
    /// `(T + 1) × B × H`.
    hs: Vec<f64>,
    /// `T × blocks × B × (I + H)`: each block's `[x, hd]` and `[x, r∘hd]` (only the block's columns of the
    /// latter are written).
    xh: Vec<f64>,
    xr: Vec<f64>,
    /// `T × blocks × B × H`: each block's reset gate (only its `r_units` are written).
    r: Vec<f64>,
    /// `T × B × H`: update gate and candidate, each unit from its own module.
    zs: Vec<f64>,
    ns: Vec<f64>,
    /// `T × B × O`.
    us: Vec<f64>,
    /// `Yᵀ` (`H × O`) and each block's weights over its columns (`offsets`, see [`Block::packed_at`]),
    /// copied at step 0.
    yt: Vec<f64>,
    packed: Vec<f64>,
    offsets: Vec<usize>,
    /// Scratch.
    pre: Vec<f64>,
    pre_r: Vec<f64>,
    /// A block's inputs gathered over its columns, and their gradients.
    xa: Vec<f64>,
    xar: Vec<f64>,
    dxa: Vec<f64>,
    dxar: Vec<f64>,
    /// A block's weight gradients over its columns, before they are scattered.
    gtmp: Vec<f64>,
    /// `(T + 1) × B × H`: gradients sent back to states whose backward step has not run yet.
    pending: Vec<f64>,
    dnext: Vec<f64>,
    dhd: Vec<f64>,
    daz: Vec<f64>,
    dan: Vec<f64>,
    dar: Vec<f64>,
    dau: Vec<f64>,
}

impl PolicyTape for ModularGruTape {
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
        self.spec.hidden()
    }
    fn h(&self, t: usize) -> ArrayView2<'_, f64> {
        assert!(t <= self.len, "hidden state {t} not recorded");
        let h = self.hidden();
        mat(&self.hs[t * self.batch * h..], self.batch, h)
    }
    fn u(&self, t: usize) -> ArrayView2<'_, f64> {
        assert!(t < self.len, "readout {t} not recorded");
        let o = self.spec.output;
        mat(&self.us[t * self.batch * o..], self.batch, o)
    }
}
