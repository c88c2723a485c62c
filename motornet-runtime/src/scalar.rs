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
