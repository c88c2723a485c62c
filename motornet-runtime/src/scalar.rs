//! The number types generated code runs on: `f64` for simulation, `num-dual` numbers for forward-mode
//! derivatives. Comparisons produce masks and choices are selects, so the same code could run on SIMD lanes.

use num_dual::{Dual64, DualNum, DualSVec64};
use std::ops::{Add, Div, Mul, Neg, Sub};

pub use motornet_dsl::ir::{maximum, minimum};

/// Arithmetic and elementary functions with the semantics of the IR (see `motornet_dsl::ir`).
pub trait Scalar:
    Copy
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    /// The result of a comparison.
    type Mask: Copy;

    fn cst(v: f64) -> Self;
    /// The plain value (the real part of a dual number).
    fn re(self) -> f64;
    fn mask(b: bool) -> Self::Mask;
    fn lt(a: Self, b: Self) -> Self::Mask;
    fn le(a: Self, b: Self) -> Self::Mask;
    fn and(a: Self::Mask, b: Self::Mask) -> Self::Mask;
    fn or(a: Self::Mask, b: Self::Mask) -> Self::Mask;
    fn not(a: Self::Mask) -> Self::Mask;
    fn select(m: Self::Mask, a: Self, b: Self) -> Self;

    fn sin(self) -> Self;
    fn cos(self) -> Self;
    fn exp(self) -> Self;
    fn ln(self) -> Self;
    fn sqrt(self) -> Self;
    fn tanh(self) -> Self;
    fn abs(self) -> Self;
    fn powi(self, n: i32) -> Self;
    /// `atan2(self, x)`.
    fn atan2(self, x: Self) -> Self;

    /// NaN-propagating maximum (torch.maximum).
    fn maximum(a: Self, b: Self) -> Self {
        let a_nan = a.re().is_nan();
        Self::select(Self::mask(a_nan || a.re() > b.re()), a, b)
    }
    fn minimum(a: Self, b: Self) -> Self {
        let a_nan = a.re().is_nan();
        Self::select(Self::mask(a_nan || a.re() < b.re()), a, b)
    }
    /// torch.clamp(x, min = lo).
    fn clamp_min(x: Self, lo: Self) -> Self {
        Self::select(Self::lt(x, lo), lo, x)
    }
    /// torch.clamp(x, max = hi).
    fn clamp_max(x: Self, hi: Self) -> Self {
        Self::select(Self::lt(hi, x), hi, x)
    }
}

impl Scalar for f64 {
    type Mask = bool;

    #[inline(always)]
    fn cst(v: f64) -> Self {
        v
    }
    #[inline(always)]
    fn re(self) -> f64 {
        self
    }
    #[inline(always)]
    fn mask(b: bool) -> bool {
        b
    }
    #[inline(always)]
    fn lt(a: Self, b: Self) -> bool {
        a < b
    }
    #[inline(always)]
    fn le(a: Self, b: Self) -> bool {
        a <= b
    }
    #[inline(always)]
    fn and(a: bool, b: bool) -> bool {
        a & b
    }
    #[inline(always)]
    fn or(a: bool, b: bool) -> bool {
        a | b
    }
    #[inline(always)]
    fn not(a: bool) -> bool {
        !a
    }
    #[inline(always)]
    fn select(m: bool, a: Self, b: Self) -> Self {
        if m {
            a
        } else {
            b
        }
    }
    #[inline(always)]
    fn sin(self) -> Self {
        f64::sin(self)
    }
    #[inline(always)]
    fn cos(self) -> Self {
        f64::cos(self)
    }
    #[inline(always)]
    fn exp(self) -> Self {
        f64::exp(self)
    }
    #[inline(always)]
    fn ln(self) -> Self {
        f64::ln(self)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    #[inline(always)]
    fn tanh(self) -> Self {
        f64::tanh(self)
    }
    #[inline(always)]
    fn abs(self) -> Self {
        f64::abs(self)
    }
    #[inline(always)]
    fn powi(self, n: i32) -> Self {
        f64::powi(self, n)
    }
    #[inline(always)]
    fn atan2(self, x: Self) -> Self {
        f64::atan2(self, x)
    }
    #[inline(always)]
    fn maximum(a: Self, b: Self) -> Self {
        maximum(a, b)
    }
    #[inline(always)]
    fn minimum(a: Self, b: Self) -> Self {
        minimum(a, b)
    }
}

macro_rules! dual_scalar {
    ($t:ty $(, const $n:ident: usize)?) => {
        impl$(<const $n: usize>)? Scalar for $t {
            type Mask = bool;
            #[inline]
            fn cst(v: f64) -> Self {
                <$t>::from(v)
            }
            #[inline]
            fn re(self) -> f64 {
                self.re
            }
            #[inline]
            fn mask(b: bool) -> bool {
                b
            }
            #[inline]
            fn lt(a: Self, b: Self) -> bool {
                a.re < b.re
            }
            #[inline]
            fn le(a: Self, b: Self) -> bool {
                a.re <= b.re
            }
            #[inline]
            fn and(a: bool, b: bool) -> bool {
                a & b
            }
            #[inline]
            fn or(a: bool, b: bool) -> bool {
                a | b
            }
            #[inline]
            fn not(a: bool) -> bool {
                !a
            }
            #[inline]
            fn select(m: bool, a: Self, b: Self) -> Self {
                if m {
                    a
                } else {
                    b
                }
            }
            #[inline]
            fn sin(self) -> Self {
                DualNum::sin(&self)
            }
            #[inline]
            fn cos(self) -> Self {
                DualNum::cos(&self)
            }
            #[inline]
            fn exp(self) -> Self {
                DualNum::exp(&self)
            }
            #[inline]
            fn ln(self) -> Self {
                DualNum::ln(&self)
            }
            #[inline]
            fn sqrt(self) -> Self {
                DualNum::sqrt(&self)
            }
            #[inline]
            fn tanh(self) -> Self {
                DualNum::tanh(&self)
            }
            #[inline]
            fn abs(self) -> Self {
                if self.re < 0.0 { -self } else { self }
            }
            #[inline]
            fn powi(self, n: i32) -> Self {
                DualNum::powi(&self, n)
            }
            #[inline]
            fn atan2(self, x: Self) -> Self {
                DualNum::atan2(&self, x)
            }
        }
    };
}

dual_scalar!(Dual64);
dual_scalar!(DualSVec64<N>, const N: usize);

/// Loads component-major lanes: lane `l` of element `i` is `rows[l][i]` (four effectors' vectors, each
/// `N` long, stored one after another with stride `N`).
#[inline(always)]
pub fn gather4<const N: usize>(data: &[f64]) -> [f64x4; N] {
    std::array::from_fn(|i| f64x4::from([data[i], data[N + i], data[2 * N + i], data[3 * N + i]]))
}

/// The inverse of [`gather4`].
#[inline(always)]
pub fn scatter4<const N: usize>(lanes: &[f64x4; N], data: &mut [f64]) {
    for (i, v) in lanes.iter().enumerate() {
        let a = v.to_array();
        data[i] = a[0];
        data[N + i] = a[1];
        data[2 * N + i] = a[2];
        data[3 * N + i] = a[3];
    }
}

/// Four effectors at once: every operation acts on four lanes, comparisons give lane masks and selects
/// blend. Transcendental functions are `wide`'s vectorised approximations (within a few ulp of libm).
pub use wide::f64x4;

impl Scalar for f64x4 {
    type Mask = f64x4;

    #[inline(always)]
    fn cst(v: f64) -> Self {
        f64x4::splat(v)
    }
    #[inline(always)]
    fn re(self) -> f64 {
        self.to_array()[0]
    }
    #[inline(always)]
    fn mask(b: bool) -> f64x4 {
        f64x4::splat(if b { f64::from_bits(u64::MAX) } else { 0.0 })
    }
    #[inline(always)]
    fn lt(a: Self, b: Self) -> f64x4 {
        a.simd_lt(b)
    }
    #[inline(always)]
    fn le(a: Self, b: Self) -> f64x4 {
        a.simd_le(b)
    }
    #[inline(always)]
    fn and(a: f64x4, b: f64x4) -> f64x4 {
        a & b
    }
    #[inline(always)]
    fn or(a: f64x4, b: f64x4) -> f64x4 {
        a | b
    }
    #[inline(always)]
    fn not(a: f64x4) -> f64x4 {
        !a
    }
    #[inline(always)]
    fn select(m: f64x4, a: Self, b: Self) -> Self {
        m.select(a, b)
    }
    #[inline(always)]
    fn sin(self) -> Self {
        f64x4::sin(self)
    }
    #[inline(always)]
    fn cos(self) -> Self {
        f64x4::cos(self)
    }
    #[inline(always)]
    fn exp(self) -> Self {
        f64x4::exp(self)
    }
    #[inline(always)]
    fn ln(self) -> Self {
        f64x4::ln(self)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f64x4::sqrt(self)
    }
    #[inline(always)]
    fn tanh(self) -> Self {
        f64x4::tanh(self)
    }
    #[inline(always)]
    fn abs(self) -> Self {
        f64x4::abs(self)
    }
    #[inline(always)]
    fn powi(self, n: i32) -> Self {
        // Exponentiation by squaring; the exponents in models are small.
        let mut base = if n < 0 {
            f64x4::splat(1.0) / self
        } else {
            self
        };
        let mut e = n.unsigned_abs();
        let mut acc = f64x4::splat(1.0);
        while e > 0 {
            if e & 1 == 1 {
                acc *= base;
            }
            base *= base;
            e >>= 1;
        }
        acc
    }
    #[inline(always)]
    fn atan2(self, x: Self) -> Self {
        f64x4::atan2(self, x)
    }
    #[inline(always)]
    fn maximum(a: Self, b: Self) -> Self {
        (a.is_nan() | b.simd_lt(a)).select(a, b)
    }
    #[inline(always)]
    fn minimum(a: Self, b: Self) -> Self {
        (a.is_nan() | a.simd_lt(b)).select(a, b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lanes(x: f64x4) -> [f64; 4] {
        x.to_array()
    }

    #[test]
    fn simd_lanes_follow_scalar_semantics() {
        let a = f64x4::from([1.0, -2.0, f64::NAN, 0.5]);
        let b = f64x4::from([2.0, -3.0, 1.0, 0.5]);
        let scalar = |f: fn(f64, f64) -> f64| -> [f64; 4] {
            let (x, y) = (lanes(a), lanes(b));
            std::array::from_fn(|i| f(x[i], y[i]))
        };
        let same = |v: [f64; 4], w: [f64; 4]| {
            v.iter()
                .zip(&w)
                .all(|(p, q)| p == q || (p.is_nan() && q.is_nan()))
        };
        assert!(same(
            lanes(<f64x4 as Scalar>::maximum(a, b)),
            scalar(<f64 as Scalar>::maximum)
        ));
        assert!(same(
            lanes(<f64x4 as Scalar>::minimum(a, b)),
            scalar(<f64 as Scalar>::minimum)
        ));
        assert!(same(
            lanes(<f64x4 as Scalar>::clamp_min(a, b)),
            scalar(<f64 as Scalar>::clamp_min)
        ));
        assert!(same(lanes(Scalar::powi(b, 3)), lanes(b).map(|v| v.powi(3))));
        assert!(same(
            lanes(Scalar::powi(b, -2)),
            lanes(b).map(|v| v.powi(-2))
        ));
        let m = <f64x4 as Scalar>::lt(a, b);
        assert_eq!(lanes(<f64x4 as Scalar>::select(m, a, b))[0], 1.0);
        assert_eq!(lanes(<f64x4 as Scalar>::select(m, a, b))[1], -3.0);
        let x = f64x4::from([0.3, 1.7, -2.5, 10.0]);
        for (f, g) in [
            (
                Scalar::sin as fn(f64x4) -> f64x4,
                f64::sin as fn(f64) -> f64,
            ),
            (Scalar::cos, f64::cos),
            (Scalar::exp, f64::exp),
            (Scalar::tanh, f64::tanh),
        ] {
            for (v, w) in lanes(f(x)).iter().zip(lanes(x).map(g)) {
                assert!(
                    (v - w).abs() <= 4.0 * f64::EPSILON * w.abs().max(1e-300),
                    "{v} vs {w}"
                );
            }
        }
    }
}
