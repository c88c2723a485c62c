//! The project's elementary functions: one definition of each, used by constant folding and the
//! interpreter (through [`crate::ops`]) and by generated code alike, so that every backend computes the same
//! bits. They are written without branches, so that SIMD lanes vectorize them instead of calling libm lane by
//! lane.

/// Beyond this magnitude the three-part reduction by π/2 loses accuracy and libm takes over.
pub const SIN_COS_REDUCTION_LIMIT: f64 = 1e5;

/// sin or cos of `v` for |v| < [`SIN_COS_REDUCTION_LIMIT`]: reduce by multiples of π/2 (three-part
/// Cody–Waite constants), evaluate the minimax polynomials of Cephes on [−π/4, π/4], and pick sine or cosine
/// and sign by quadrant. Float arithmetic only, no branches, so that it vectorizes across lanes; within one
/// ulp of libm.
#[inline(always)]
#[allow(clippy::excessive_precision)] // Cephes' coefficients, as published
pub fn sin_cos_reduced(v: f64, want_cos: bool) -> f64 {
    const PIO2_1: f64 = 1.570_796_326_734_125_614_17;
    const PIO2_2: f64 = 6.077_100_506_303_965_976_60e-11;
    const PIO2_3: f64 = 2.022_266_248_795_950_631_54e-21;
    const SIN: [f64; 6] = [
        1.589_623_015_765_465_680_60e-10,
        -2.505_074_776_285_780_728_66e-8,
        2.755_731_362_138_572_452_13e-6,
        -1.984_126_982_958_953_859_96e-4,
        8.333_333_333_322_118_588_78e-3,
        -1.666_666_666_666_663_072_95e-1,
    ];
    const COS: [f64; 6] = [
        -1.135_853_652_138_768_173_00e-11,
        2.087_570_084_197_473_167_78e-9,
        -2.755_731_417_929_673_881_12e-7,
        2.480_158_728_885_170_453_48e-5,
        -1.388_888_888_887_305_641_16e-3,
        4.166_666_666_666_659_292_18e-2,
    ];
    let poly =
        |z: f64, c: &[f64; 6]| ((((c[0] * z + c[1]) * z + c[2]) * z + c[3]) * z + c[4]) * z + c[5];
    // Round to the nearest integer by adding and subtracting 1.5·2⁵²: exact for |x| < 2⁵¹, and a plain
    // addition on every target (`f64::round` is a library call without SSE4.1).
    const ROUNDER: f64 = 6_755_399_441_055_744.0;
    let n = (v * std::f64::consts::FRAC_2_PI + ROUNDER) - ROUNDER;
    let r = ((v - n * PIO2_1) - n * PIO2_2) - n * PIO2_3;
    let z = r * r;
    let s = r + r * z * poly(z, &SIN);
    let c = 1.0 - 0.5 * z + z * z * poly(z, &COS);
    // Quadrant q = n mod 4 (cos(x) = sin(x + π/2): one quadrant further); odd quadrants take the
    // cosine kernel, the upper two flip the sign.
    let m = if want_cos { n + 1.0 } else { n };
    // m mod 4 for an integer m: ⌊m/4⌋ = round(m/4 − 3/8), since m/4 − ⌊m/4⌋ ∈ {0, ¼, ½, ¾}.
    let q = m - 4.0 * ((m * 0.25 - 0.375 + ROUNDER) - ROUNDER);
    let base = if q == 1.0 || q == 3.0 { c } else { s };
    if q >= 2.0 {
        -base
    } else {
        base
    }
}

/// The sine used everywhere in the project — interpreter, constant folding and generated code — so that
/// every backend computes the same bits: the polynomial kernel, or libm for huge or non-finite arguments.
#[inline(always)]
pub fn sin(x: f64) -> f64 {
    if x.abs() < SIN_COS_REDUCTION_LIMIT {
        sin_cos_reduced(x, false)
    } else {
        x.sin()
    }
}

/// The cosine counterpart of [`sin`].
#[inline(always)]
pub fn cos(x: f64) -> f64 {
    if x.abs() < SIN_COS_REDUCTION_LIMIT {
        sin_cos_reduced(x, true)
    } else {
        x.cos()
    }
}

/// The exponential used everywhere in the project (interpreter, constant folding, generated code), written
/// without branches so that it vectorizes across lanes: exp(x) = 2ⁿ·exp(r) with n = round(x/ln 2) and
/// r = x − n·ln 2 (two-part ln 2), exp(r) by fdlibm's rational form (its published coefficients), and 2ⁿ
/// built from exponent bits in two factors so that overflow gives ∞ and underflow 0 (or a subnormal).
/// Within one ulp of libm for normal results.
#[inline(always)]
#[allow(clippy::excessive_precision)] // fdlibm's coefficients, as published
pub fn exp(x: f64) -> f64 {
    const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
    const P: [f64; 5] = [
        1.666_666_666_666_660_190_37e-1,
        -2.777_777_777_701_559_338_42e-3,
        6.613_756_321_437_934_361_17e-5,
        -1.653_390_220_546_525_153_90e-6,
        4.138_136_797_057_238_460_39e-8,
    ];
    const ROUNDER: f64 = 6_755_399_441_055_744.0; // 1.5·2⁵², as in `sin_cos_reduced`
                                                  // Beyond ±1000 the result is already ∞ or 0; clamping keeps n and the exponent bits in range (a NaN
                                                  // passes through and poisons the result).
    let x = if x > 1000.0 { 1000.0 } else { x };
    let x = if x < -1000.0 { -1000.0 } else { x };
    let n = (x * std::f64::consts::LOG2_E + ROUNDER) - ROUNDER;
    let hi = x - n * LN2_HI;
    let lo = n * LN2_LO;
    let r = hi - lo;
    let t = r * r;
    let c = r - t * (P[0] + t * (P[1] + t * (P[2] + t * (P[3] + t * P[4]))));
    let y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
    // 2ⁿ as 2^(n₁)·2^(n − n₁) with n₁ ≈ n/2, each factor a normal number for |n| ≤ 1443.
    let n1 = (n * 0.5 + ROUNDER) - ROUNDER;
    let pow2 = |k: f64| {
        let k = (k + ROUNDER).to_bits().wrapping_sub(ROUNDER.to_bits());
        f64::from_bits(k.wrapping_add(1023) << 52)
    };
    y * pow2(n1) * pow2(n - n1)
}

/// The two-argument arctangent used everywhere in the project, written without branches so that it
/// vectorizes: the smaller of |y|, |x| over the larger gives t ∈ [0, 1]; atan t by Cephes' rational
/// approximation (its published coefficients, with its reduction t → (t − 1)/(t + 1) above 0.66); then
/// the octant by reflections about π/4 and π/2 and the sign of y, with two-part π for accuracy. Signed
/// zeros, infinities and NaN follow IEEE `atan2`. Within 2 ulp of libm.
#[inline(always)]
#[allow(clippy::excessive_precision)] // Cephes' coefficients, as published
pub fn atan2(y: f64, x: f64) -> f64 {
    const P: [f64; 5] = [
        -8.750_608_600_031_904_122_785e-1,
        -1.615_753_718_733_365_076_637e1,
        -7.500_855_792_314_704_667_340e1,
        -1.228_866_684_490_136_173_410e2,
        -6.485_021_904_942_025_371_773e1,
    ];
    const Q: [f64; 5] = [
        2.485_846_490_142_306_297_962e1,
        1.650_270_098_316_988_542_046e2,
        4.328_810_604_912_902_668_951e2,
        4.853_903_996_359_136_964_868e2,
        1.945_506_571_482_613_964_425e2,
    ];
    // π/2 = PIO2 + PIO2_LO (PIO2 the nearest double).
    const PIO2: f64 = std::f64::consts::FRAC_PI_2;
    const PIO2_LO: f64 = 6.123_233_995_736_765_886_130e-17;
    const PIO4: f64 = std::f64::consts::FRAC_PI_4;
    // Every value below is computed unconditionally and chosen by plain selects, so that LLVM keeps the
    // function free of branches (and vectorizes it). Comparisons are false for NaN, so a NaN operand
    // reaches the division and the result.
    let (ax, ay) = (x.abs(), y.abs());
    let steep = ay > ax;
    let num = if steep { ax } else { ay };
    let den = if steep { ay } else { ax };
    let t = num / den;
    let t = if den == 0.0 { 0.0 } else { t }; // 0/0
    let t = if num == f64::INFINITY { 1.0 } else { t }; // ∞/∞ (num ≤ den)
    let big = t > 0.66;
    let reduced = (t - 1.0) / (t + 1.0);
    let u = if big { reduced } else { t };
    let z = u * u;
    let p = (((P[0] * z + P[1]) * z + P[2]) * z + P[3]) * z + P[4];
    let q = ((((z + Q[0]) * z + Q[1]) * z + Q[2]) * z + Q[3]) * z + Q[4];
    let atan_u = u + u * (z * p / q);
    let shifted = PIO4 + (atan_u + 0.5 * PIO2_LO);
    let a = if big { shifted } else { atan_u };
    let reflected = (PIO2 - a) + PIO2_LO;
    let a = if steep { reflected } else { a };
    let behind = (2.0 * PIO2 - a) + 2.0 * PIO2_LO;
    let a = if 1f64.copysign(x) < 0.0 { behind } else { a }; // x < 0, or x = −0
    a.copysign(y)
}

/// NaN-propagating maximum (`f64::max` would hide a NaN).
#[inline]
pub fn maximum(x: f64, y: f64) -> f64 {
    if x.is_nan() || x > y {
        x
    } else {
        y
    }
}

#[inline]
pub fn minimum(x: f64, y: f64) -> f64 {
    if x.is_nan() || x < y {
        x
    } else {
        y
    }
}

#[inline]
pub fn clamp_min(x: f64, lo: f64) -> f64 {
    if x < lo {
        lo
    } else {
        x
    }
}

#[inline]
pub fn clamp_max(x: f64, hi: f64) -> f64 {
    if x > hi {
        hi
    } else {
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place.
    fn ulps(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64).abs_diff(b.to_bits() as i64)
    }

    #[test]
    fn atan2_is_within_two_ulp_of_libm_in_every_octant_and_at_the_edges() {
        let mut worst = 0;
        for i in 0..1000 {
            for j in 0..1000 {
                let angle = std::f64::consts::TAU * i as f64 / 1000.0;
                let radius = 10f64.powf(j as f64 / 100.0 - 5.0);
                let (y, x) = (radius * angle.sin(), radius * (angle * 1.0001).cos());
                worst = worst.max(ulps(atan2(y, x), y.atan2(x)));
            }
        }
        assert!(worst <= 2, "largest distance from libm: {worst} ulp");
        let (inf, nan) = (f64::INFINITY, f64::NAN);
        for (y, x) in [
            (0.0, 0.0),
            (-0.0, 0.0),
            (0.0, -0.0),
            (-0.0, -0.0),
            (0.0, -3.0),
            (-0.0, -3.0),
            (2.0, 0.0),
            (-2.0, -0.0),
            (inf, inf),
            (inf, -inf),
            (-inf, inf),
            (-inf, -inf),
            (1.0, inf),
            (1.0, -inf),
            (-1.0, -inf),
            (inf, 5.0),
            (-inf, -5.0),
            (1e-300, 1e300),
            (1e300, 1e-300),
        ] {
            let (ours, libm) = (atan2(y, x), y.atan2(x));
            assert!(
                ulps(ours, libm) <= 2,
                "atan2({y}, {x}) = {ours}, libm {libm}"
            );
            assert_eq!(
                ours.is_sign_negative(),
                libm.is_sign_negative(),
                "atan2({y}, {x})"
            );
        }
        assert!(atan2(nan, 1.0).is_nan() && atan2(1.0, nan).is_nan() && atan2(nan, inf).is_nan());
    }

    #[test]
    fn exp_is_within_one_ulp_of_libm_and_right_at_the_edges() {
        let mut worst = 0;
        for k in 0..400_001 {
            let x = -708.0 + 1417.7 * k as f64 / 400_000.0; // the whole normal range
            worst = worst.max(ulps(exp(x), x.exp()));
            let small = (k as f64 - 200_000.0) * 1e-6; // near zero, where exp ≈ 1 + x
            worst = worst.max(ulps(exp(small), small.exp()));
        }
        assert!(worst <= 1, "largest distance from libm: {worst} ulp");
        assert_eq!(exp(0.0), 1.0);
        assert!(ulps(exp(1.0), std::f64::consts::E) <= 1);
        assert_eq!(exp(709.9), f64::INFINITY);
        assert_eq!(exp(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp(-746.0), 0.0);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert!(exp(f64::NAN).is_nan());
        // Subnormal results stay close to libm's.
        let sub = exp(-740.0);
        assert!(sub > 0.0 && (sub - (-740f64).exp()).abs() <= 2.0 * 4.9e-324);
    }

    #[test]
    fn maximum_propagates_nan() {
        assert!(maximum(f64::NAN, 1.0).is_nan());
        assert!(maximum(1.0, f64::NAN).is_nan());
        assert!(clamp_min(f64::NAN, 0.0).is_nan());
    }
}
