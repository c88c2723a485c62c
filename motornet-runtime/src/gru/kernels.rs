//! Element-wise gate kernels of the GRU, written so that the compiler vectorises them, and compiled
//! again for AVX-512 and AVX2 with run-time dispatch (the crate itself targets baseline x86-64).
//!
//! `exp` is a Cody–Waite range reduction plus a degree-13 polynomial, accurate to a few ulps: glibc's
//! scalar `exp`/`tanh` took a quarter of a training batch, and a vectorised one costs a few percent.
//! Every path performs the same IEEE operations (no fused multiply-add), so results do not depend on
//! the machine.

/// `e^x`, to a few ulps. Arguments are clamped to [-708, 709] (the normal range of the result), which
/// only matters where a sigmoid or tanh saturates anyway; NaN propagates.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    // ln 2 split so that k · LN2_HI is exact for |k| < 2^11 (fdlibm's constants).
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    // Adding 1.5 · 2^52 rounds to an integer held in the low mantissa bits.
    const SHIFTER: f64 = 6_755_399_441_055_744.0;
    let x = x.clamp(-708.0, 709.0);
    let kd = x * LOG2E + SHIFTER;
    let k = kd - SHIFTER;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    // e^r for |r| ≤ ln2/2: Taylor series to r^13 (truncation error below 5e-18).
    let mut p = 1.0 / 6_227_020_800.0;
    p = p * r + 1.0 / 479_001_600.0;
    p = p * r + 1.0 / 39_916_800.0;
    p = p * r + 1.0 / 3_628_800.0;
    p = p * r + 1.0 / 362_880.0;
    p = p * r + 1.0 / 40_320.0;
    p = p * r + 1.0 / 5_040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    // 2^k from the integer in kd's low bits (k + 1023 lies in [2, 2046]).
    let scale = f64::from_bits(kd.to_bits().wrapping_add(1023) << 52);
    p * scale
}

#[inline(always)]
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + exp(-x))
}

/// `tanh x = sign(x) (1 − e^{−2|x|}) / (1 + e^{−2|x|})`: absolute error of a few ulps of 1, which is
/// all a GRU needs (relative accuracy is lost only for |x| ≪ 1, where the gate contributes ~nothing).
#[inline(always)]
pub fn tanh(x: f64) -> f64 {
    let e = exp(-2.0 * x.abs());
    ((1.0 - e) / (1.0 + e)).copysign(x)
}

/// The slices one row of the forward gate computation needs. `gates` holds `[r, z, hn, n]`, `h` wide
/// each, with the hidden projections `W_h· h` of r, z, n in the first three blocks on entry.
pub struct ForwardRow<'a> {
    pub gi: &'a [f64],
    pub gates: &'a mut [f64],
    pub b_ih: &'a [f64],
    pub b_hh: &'a [f64],
    pub h_prev: &'a [f64],
    pub h_next: &'a mut [f64],
}

#[inline(always)]
fn forward_row_impl(row: ForwardRow<'_>) {
    let h = row.h_prev.len();
    let (gi_r, gi_z, gi_n) = (&row.gi[..h], &row.gi[h..2 * h], &row.gi[2 * h..3 * h]);
    let (bi_r, bi_z, bi_n) = (&row.b_ih[..h], &row.b_ih[h..2 * h], &row.b_ih[2 * h..3 * h]);
    let (bh_r, bh_z, bh_n) = (&row.b_hh[..h], &row.b_hh[h..2 * h], &row.b_hh[2 * h..3 * h]);
    let (g_r, rest) = row.gates[..4 * h].split_at_mut(h);
    let (g_z, rest) = rest.split_at_mut(h);
    let (g_hn, g_n) = rest.split_at_mut(h);
    let (g_n, hp, hn_out) = (&mut g_n[..h], &row.h_prev[..h], &mut row.h_next[..h]);
    for j in 0..h {
        let r = sigmoid(gi_r[j] + bi_r[j] + g_r[j] + bh_r[j]);
        let z = sigmoid(gi_z[j] + bi_z[j] + g_z[j] + bh_z[j]);
        let hn = g_hn[j] + bh_n[j];
        let n = tanh(gi_n[j] + bi_n[j] + r * hn);
        g_r[j] = r;
        g_z[j] = z;
        g_hn[j] = hn;
        g_n[j] = n;
        hn_out[j] = (1.0 - z) * n + z * hp[j];
    }
}

/// The slices one row of the backward gate computation needs; `dh` holds `dL/dh_{t+1}` on entry and the
/// direct part `z ⊙ dL/dh_{t+1}` of `dL/dh_t` on exit.
pub struct BackwardRow<'a> {
    pub gates: &'a [f64],
    pub h_prev: &'a [f64],
    pub dh: &'a mut [f64],
    pub dgi: &'a mut [f64],
    pub dgh: &'a mut [f64],
}

#[inline(always)]
fn backward_row_impl(row: BackwardRow<'_>) {
    let h = row.h_prev.len();
    let g = &row.gates[..4 * h];
    let (g_r, g_z, g_hn, g_n) = (&g[..h], &g[h..2 * h], &g[2 * h..3 * h], &g[3 * h..4 * h]);
    let (hp, dh) = (&row.h_prev[..h], &mut row.dh[..h]);
    let (dgi_r, rest) = row.dgi[..3 * h].split_at_mut(h);
    let (dgi_z, dgi_n) = rest.split_at_mut(h);
    let (dgh_r, rest) = row.dgh[..3 * h].split_at_mut(h);
    let (dgh_z, dgh_n) = rest.split_at_mut(h);
    let (dgi_n, dgh_n) = (&mut dgi_n[..h], &mut dgh_n[..h]);
    for j in 0..h {
        let (r, z, hn, n) = (g_r[j], g_z[j], g_hn[j], g_n[j]);
        let d = dh[j];
        let dan = d * (1.0 - z) * (1.0 - n * n);
        let daz = d * (hp[j] - n) * z * (1.0 - z);
        let dar = dan * hn * r * (1.0 - r);
        dgi_r[j] = dar;
        dgi_z[j] = daz;
        dgi_n[j] = dan;
        dgh_r[j] = dar;
        dgh_z[j] = daz;
        dgh_n[j] = dan * r;
        dh[j] = d * z;
    }
}

/// `out[i] = sigmoid(out[i] + bias[i])`.
#[inline(always)]
fn sigmoid_bias_impl(out: &mut [f64], bias: &[f64]) {
    let bias = &bias[..out.len()];
    for (o, b) in out.iter_mut().zip(bias) {
        *o = sigmoid(*o + b);
    }
}

macro_rules! dispatch {
    ($(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*) => $imp:ident) => {
        $(#[$doc])*
        pub fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512dq,avx2,fma")]
                fn avx512($($arg: $ty),*) {
                    $imp($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) {
                    $imp($($arg),*)
                }
                if std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512dq") {
                    // SAFETY: the features were detected at run time.
                    return unsafe { avx512($($arg),*) };
                }
                if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                    // SAFETY: the features were detected at run time.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $imp($($arg),*)
        }
    };
}

/// For the other networks' row kernels (`crate::policy`), compiled the same way.
pub(crate) use dispatch;

dispatch!(
    /// Forward gates of one batch row: r, z, n and `h_{t+1}`.
    forward_row(row: ForwardRow<'_>) => forward_row_impl
);
dispatch!(
    /// Backward gates of one batch row.
    backward_row(row: BackwardRow<'_>) => backward_row_impl
);
dispatch!(
    /// The readout nonlinearity with its bias.
    sigmoid_bias(out: &mut [f64], bias: &[f64]) => sigmoid_bias_impl
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_sigmoid_tanh_match_libm() {
        let mut worst = [0.0f64; 3];
        for k in -200_000..=200_000 {
            let x = k as f64 * 3.7e-4 + 1e-9;
            let e = (exp(x) - x.exp()).abs() / x.exp();
            let s = (sigmoid(x) - 1.0 / (1.0 + (-x).exp())).abs();
            let t = (tanh(x) - x.tanh()).abs();
            worst = [worst[0].max(e), worst[1].max(s), worst[2].max(t)];
        }
        assert!(worst[0] < 1e-15, "exp relative error {:e}", worst[0]);
        assert!(worst[1] < 1e-15, "sigmoid error {:e}", worst[1]);
        assert!(worst[2] < 1e-15, "tanh error {:e}", worst[2]);
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(f64::NAN).is_nan() && tanh(f64::NAN).is_nan() && sigmoid(f64::NAN).is_nan());
        assert_eq!(sigmoid(1e4), 1.0);
        assert!(sigmoid(-1e4) < 1e-300);
        assert_eq!(tanh(1e4), 1.0);
        assert_eq!(tanh(-1e4), -1.0);
        assert_eq!(tanh(0.0), 0.0);
    }
}
