//! The number types generated code runs on: `f64` for simulation, `num-dual` numbers for forward-mode
//! derivatives. Comparisons produce masks and choices are selects, so the same code could run on SIMD lanes.

use num_dual::{Dual64, DualNum, DualSVec64};
use std::ops::{Add, Div, Mul, Neg, Sub};

pub use crate::math::{maximum, minimum};

/// Arithmetic and elementary functions with the semantics of the IR (see `crate::ops`).
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
    /// `sin` by the polynomial kernel alone, without the libm fallback beyond the kernel's range: equal
    /// to `sin` wherever [`Scalar::kernel_range`] holds. Generated steps use it so that lanes run without
    /// branches (which cost more than the kernel), and redo a block of lanes one by one when an argument
    /// was out of range. Scalars keep their fallback.
    #[inline(always)]
    fn sin_kernel(self) -> Self {
        self.sin()
    }
    /// The cosine counterpart of [`Scalar::sin_kernel`].
    #[inline(always)]
    fn cos_kernel(self) -> Self {
        self.cos()
    }
    /// Whether `sin_kernel` and `cos_kernel` of this value equal `sin` and `cos` (always, for scalars).
    #[inline(always)]
    fn kernel_range(self) -> bool {
        true
    }
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
        crate::math::sin(self)
    }
    #[inline(always)]
    fn cos(self) -> Self {
        crate::math::cos(self)
    }
    #[inline(always)]
    fn exp(self) -> Self {
        crate::math::exp(self)
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
        crate::math::atan2(self, x)
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

/// `L` effectors side by side. Every operation is a loop over the lanes, written so that LLVM turns it
/// into vector instructions when the calling function is compiled for AVX2 (the generated `step_batch`
/// dispatches to such a function at run time); comparisons give per-lane masks and selects blend. `sin`,
/// `cos`, `exp` and `atan2` use the project's branch-free kernels, which vectorize (`sin` and `cos` within
/// 1 ulp of libm for |x| < 10⁵, libm beyond; `exp` within 1 ulp, `atan2` within 2); `ln`, `tanh` and
/// `powi` call libm (or LLVM's expansion) per lane.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(transparent)]
pub struct Lanes<const L: usize>(pub [f64; L]);

/// Four lanes: one AVX2 register. (Eight lanes measured slower on AVX2 and on AVX-512.)
pub type F64x4 = Lanes<4>;

impl<const L: usize> Lanes<L> {
    #[inline(always)]
    fn map(self, f: impl Fn(f64) -> f64) -> Self {
        Lanes(std::array::from_fn(|i| f(self.0[i])))
    }
    #[inline(always)]
    fn zip(self, o: Self, f: impl Fn(f64, f64) -> f64) -> Self {
        Lanes(std::array::from_fn(|i| f(self.0[i], o.0[i])))
    }
}

macro_rules! lane_op {
    ($trait:ident, $method:ident, $op:tt) => {
        impl<const L: usize> $trait for Lanes<L> {
            type Output = Lanes<L>;
            #[inline(always)]
            fn $method(self, o: Lanes<L>) -> Lanes<L> {
                self.zip(o, |a, b| a $op b)
            }
        }
    };
}
lane_op!(Add, add, +);
lane_op!(Sub, sub, -);
lane_op!(Mul, mul, *);
lane_op!(Div, div, /);

impl<const L: usize> Neg for Lanes<L> {
    type Output = Lanes<L>;
    #[inline(always)]
    fn neg(self) -> Lanes<L> {
        self.map(|a| -a)
    }
}

impl<const L: usize> Scalar for Lanes<L> {
    type Mask = [bool; L];

    #[inline(always)]
    fn cst(v: f64) -> Self {
        Lanes([v; L])
    }
    #[inline(always)]
    fn re(self) -> f64 {
        self.0[0]
    }
    #[inline(always)]
    fn mask(b: bool) -> [bool; L] {
        [b; L]
    }
    #[inline(always)]
    fn lt(a: Self, b: Self) -> [bool; L] {
        std::array::from_fn(|i| a.0[i] < b.0[i])
    }
    #[inline(always)]
    fn le(a: Self, b: Self) -> [bool; L] {
        std::array::from_fn(|i| a.0[i] <= b.0[i])
    }
    #[inline(always)]
    fn and(a: [bool; L], b: [bool; L]) -> [bool; L] {
        std::array::from_fn(|i| a[i] & b[i])
    }
    #[inline(always)]
    fn or(a: [bool; L], b: [bool; L]) -> [bool; L] {
        std::array::from_fn(|i| a[i] | b[i])
    }
    #[inline(always)]
    fn not(a: [bool; L]) -> [bool; L] {
        std::array::from_fn(|i| !a[i])
    }
    #[inline(always)]
    fn select(m: [bool; L], a: Self, b: Self) -> Self {
        Lanes(std::array::from_fn(|i| if m[i] { a.0[i] } else { b.0[i] }))
    }
    #[inline(always)]
    fn sin(self) -> Self {
        lanes_sin_cos(self, false)
    }
    #[inline(always)]
    fn cos(self) -> Self {
        lanes_sin_cos(self, true)
    }
    #[inline(always)]
    fn sin_kernel(self) -> Self {
        self.map(|v| crate::math::sin_cos_reduced(v, false))
    }
    #[inline(always)]
    fn cos_kernel(self) -> Self {
        self.map(|v| crate::math::sin_cos_reduced(v, true))
    }
    /// Every lane below the kernel's limit (so not NaN), tested without branches.
    #[inline(always)]
    fn kernel_range(self) -> bool {
        self.0.iter().fold(true, |ok, v| {
            ok & (v.abs() < crate::math::SIN_COS_REDUCTION_LIMIT)
        })
    }
    #[inline(always)]
    fn exp(self) -> Self {
        self.map(crate::math::exp)
    }
    #[inline(always)]
    fn ln(self) -> Self {
        self.map(f64::ln)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        self.map(f64::sqrt)
    }
    #[inline(always)]
    fn tanh(self) -> Self {
        self.map(f64::tanh)
    }
    #[inline(always)]
    fn abs(self) -> Self {
        self.map(f64::abs)
    }
    #[inline(always)]
    fn powi(self, n: i32) -> Self {
        self.map(|a| a.powi(n))
    }
    #[inline(always)]
    fn atan2(self, x: Self) -> Self {
        self.zip(x, crate::math::atan2)
    }
    #[inline(always)]
    fn maximum(a: Self, b: Self) -> Self {
        a.zip(b, maximum)
    }
    #[inline(always)]
    fn minimum(a: Self, b: Self) -> Self {
        a.zip(b, minimum)
    }
}

/// sin (or cos) of every lane, as `crate::math::sin` computes it: the kernel, or libm for lanes
/// beyond its range (rare).
#[inline(always)]
fn lanes_sin_cos<const L: usize>(x: Lanes<L>, want_cos: bool) -> Lanes<L> {
    if x.kernel_range() {
        if want_cos {
            x.cos_kernel()
        } else {
            x.sin_kernel()
        }
    } else {
        x.map(if want_cos {
            crate::math::cos
        } else {
            crate::math::sin
        })
    }
}

/// A block of the [batch layout](crate::batch) — `N` components of `L` effectors, component by
/// component — seen as `N` lanes, without copying.
#[inline(always)]
pub fn lanes<const L: usize, const N: usize>(block: &[f64]) -> &[Lanes<L>; N] {
    assert_eq!(block.len(), L * N, "block length");
    // SAFETY: `Lanes<L>` is a transparent `[f64; L]`, so `[Lanes<L>; N]` is `L·N` consecutive `f64`
    // with `f64`'s alignment — exactly the checked slice.
    unsafe { &*block.as_ptr().cast::<[Lanes<L>; N]>() }
}

/// [`lanes`] for writing.
#[inline(always)]
pub fn lanes_mut<const L: usize, const N: usize>(block: &mut [f64]) -> &mut [Lanes<L>; N] {
    assert_eq!(block.len(), L * N, "block length");
    // SAFETY: as in `lanes`; the exclusive borrow of the slice is carried over.
    unsafe { &mut *block.as_mut_ptr().cast::<[Lanes<L>; N]>() }
}

/// Whether this CPU runs the AVX2 build of generated batch code (detected once per process).
pub fn has_avx2() -> bool {
    static AVX2: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AVX2.get_or_init(|| {
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        {
            std::is_x86_feature_detected!("avx2")
        }
        #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
        {
            false
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_equal_scalar_results_bit_for_bit() {
        let a = Lanes([1.0, -2.0, f64::NAN, 0.5]);
        let b = Lanes([2.0, -3.0, 1.0, 0.5]);
        let same = |v: F64x4, f: &dyn Fn(f64, f64) -> f64| {
            (0..4).all(|i| {
                let w = f(a.0[i], b.0[i]);
                v.0[i].to_bits() == w.to_bits() || (v.0[i].is_nan() && w.is_nan())
            })
        };
        assert!(same(
            <F64x4 as Scalar>::maximum(a, b),
            &<f64 as Scalar>::maximum
        ));
        assert!(same(
            <F64x4 as Scalar>::minimum(a, b),
            &<f64 as Scalar>::minimum
        ));
        assert!(same(
            <F64x4 as Scalar>::clamp_min(a, b),
            &<f64 as Scalar>::clamp_min
        ));
        assert!(same(
            <F64x4 as Scalar>::clamp_max(a, b),
            &<f64 as Scalar>::clamp_max
        ));
        assert!(same(a * b + a / b, &|x, y| x * y + x / y));
        assert!(same(Scalar::atan2(a, b), &<f64 as Scalar>::atan2));
        let e = Lanes([800.0, -800.0, f64::NAN, 0.37]);
        assert!((0..4).all(|i| {
            let (v, w) = (Scalar::exp(e).0[i], <f64 as Scalar>::exp(e.0[i]));
            v.to_bits() == w.to_bits() || (v.is_nan() && w.is_nan())
        }));
        let m = <F64x4 as Scalar>::lt(a, b);
        assert_eq!(m, [true, false, false, false]);
        assert_eq!(<F64x4 as Scalar>::select(m, a, b).0[..2], [1.0, -3.0]);
    }

    #[test]
    fn vectorized_sin_cos_agree_with_libm() {
        let mut worst: f64 = 0.0;
        for k in 0..200_000 {
            let x = (k as f64 - 100_000.0) * 1.3e-3 + 0.123;
            let l = Lanes([x, -x, x * 7.0, x * 0.01]);
            let (s, c) = (Scalar::sin(l), Scalar::cos(l));
            for i in 0..4 {
                let v = l.0[i];
                worst = worst
                    .max((s.0[i] - v.sin()).abs())
                    .max((c.0[i] - v.cos()).abs());
            }
        }
        assert!(worst <= 2.5e-16, "largest difference from libm: {worst:e}");
        // Out of the reduction's range, libm.
        let big = Lanes([1e7, 3.0, 0.0, -1e9]);
        assert_eq!(Scalar::sin(big).0[0], 1e7f64.sin());
    }

    #[test]
    fn the_kernel_alone_is_exact_exactly_where_its_range_says() {
        let inside = Lanes([0.3, -2.0, 9.9e4, 0.0]);
        assert!(inside.kernel_range());
        assert_eq!(inside.sin_kernel(), Scalar::sin(inside));
        assert_eq!(inside.cos_kernel(), Scalar::cos(inside));
        for bad in [1e5, -3e7, f64::NAN, f64::INFINITY] {
            assert!(!Lanes([0.3, bad, 1.0, 2.0]).kernel_range(), "{bad}");
        }
        // Scalars carry their own fallback.
        assert!(Scalar::kernel_range(1e9f64));
        assert_eq!(Scalar::sin_kernel(1e9f64), 1e9f64.sin());
    }

    #[test]
    fn a_block_is_seen_component_by_component() {
        let mut data: Vec<f64> = (0..12).map(f64::from).collect();
        assert_eq!(lanes::<4, 3>(&data)[1].0, [4.0, 5.0, 6.0, 7.0]);
        lanes_mut::<4, 3>(&mut data)[2] = Lanes([0.5; 4]);
        assert_eq!(&data[8..], &[0.5; 4]);
    }
}
