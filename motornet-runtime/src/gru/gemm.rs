//! Matrix products of one GRU step: `C ← A·B` or `C ← C + A·B` with a few dozen rows.
//!
//! A general GEMM (matrixmultiply, behind ndarray) repacks both operands on every call; with 32 batch rows
//! each packed weight element is used only 32 times, so repacking the weights cost about as much as the
//! multiplication. These products read `B` in place instead, which requires it row-major (`K × N`, unit
//! column stride): the weights are kept that way, transposed once per episode where needed. `A` may
//! have any strides, since its elements are broadcast one at a time. On machines without AVX-512, and
//! for operands of other layouts, the products fall back to ndarray's `general_mat_mul`.

use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};

/// `c ← a·b` (`accumulate == false`) or `c ← c + a·b`.
pub fn gemm(
    a: &ArrayView2<f64>,
    b: &ArrayView2<f64>,
    accumulate: bool,
    c: &mut ArrayViewMut2<f64>,
) {
    let ((m, k), (k2, n)) = (a.dim(), b.dim());
    assert!(k == k2 && c.dim() == (m, n), "matrix product shapes differ");
    #[cfg(target_arch = "x86_64")]
    {
        let unit = |s: isize| s == 1;
        let row_major_b = unit(b.strides()[1]) || n <= 1;
        let row_major_c = unit(c.strides()[1]) || n <= 1;
        let nonneg = a
            .strides()
            .iter()
            .chain(b.strides())
            .chain(c.strides())
            .all(|&s| s >= 0);
        if row_major_b
            && row_major_c
            && nonneg
            && m > 0
            && n > 0
            && std::is_x86_feature_detected!("avx512f")
        {
            let (rsa, csa) = (a.strides()[0] as usize, a.strides()[1] as usize);
            let (ldb, ldc) = (b.strides()[0] as usize, c.strides()[0] as usize);
            // SAFETY: AVX-512F was detected; the pointers and strides describe valid views of the shapes
            // passed, with non-negative strides, and `c` is borrowed mutably.
            unsafe {
                avx512::gemm(
                    m,
                    n,
                    k,
                    a.as_ptr(),
                    rsa,
                    csa,
                    b.as_ptr(),
                    ldb,
                    c.as_mut_ptr(),
                    ldc,
                    accumulate,
                )
            };
            return;
        }
    }
    general_mat_mul(1.0, a, b, if accumulate { 1.0 } else { 0.0 }, c);
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    /// Rows per register tile.
    const MR: usize = 8;
    /// 8-wide vectors per register tile row (24 columns): 24 accumulators, 3 loads of `B` and 8
    /// broadcasts of `A` per 24 fused multiply-adds.
    const NV: usize = 3;

    /// # Safety
    /// AVX-512F must be available; `a` must be valid for `m × k` elements at strides `(rsa, csa)`, `b` for
    /// `k × n` at `(ldb, 1)`, `c` for `m × n` at `(ldc, 1)`, and `c` must not alias `a` or `b`.
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn gemm(
        m: usize,
        n: usize,
        k: usize,
        a: *const f64,
        rsa: usize,
        csa: usize,
        b: *const f64,
        ldb: usize,
        c: *mut f64,
        ldc: usize,
        accumulate: bool,
    ) {
        let mut j = 0;
        while j < n {
            let cols = (n - j).min(8 * NV);
            let vectors = cols.div_ceil(8);
            let mask: __mmask8 = if cols.is_multiple_of(8) {
                0xFF
            } else {
                (1u8 << (cols % 8)) - 1
            };
            let mut i = 0;
            while i < m {
                let rows = (m - i).min(MR);
                let (a, b, c) = (a.add(i * rsa), b.add(j), c.add(i * ldc + j));
                let args = Tile {
                    k,
                    a,
                    rsa,
                    csa,
                    b,
                    ldb,
                    c,
                    ldc,
                    mask,
                    accumulate,
                };
                // Monomorphised for every (rows, vectors) so that the accumulators stay in registers.
                macro_rules! by_rows {
                    ($nv:literal) => {
                        match rows {
                            8 => tile::<8, $nv>(args),
                            7 => tile::<7, $nv>(args),
                            6 => tile::<6, $nv>(args),
                            5 => tile::<5, $nv>(args),
                            4 => tile::<4, $nv>(args),
                            3 => tile::<3, $nv>(args),
                            2 => tile::<2, $nv>(args),
                            _ => tile::<1, $nv>(args),
                        }
                    };
                }
                match vectors {
                    3 => by_rows!(3),
                    2 => by_rows!(2),
                    _ => by_rows!(1),
                }
                i += rows;
            }
            j += cols;
        }
    }

    #[derive(Clone, Copy)]
    struct Tile {
        k: usize,
        a: *const f64,
        rsa: usize,
        csa: usize,
        b: *const f64,
        ldb: usize,
        c: *mut f64,
        ldc: usize,
        /// Lanes of the last vector of each row that are inside the matrix.
        mask: __mmask8,
        accumulate: bool,
    }

    /// One `R × 8V` block of `C`, the last vector of each row masked.
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn tile<const R: usize, const V: usize>(t: Tile) {
        let lane_mask = |v: usize| if v + 1 == V { t.mask } else { 0xFF };
        let mut acc = [[_mm512_setzero_pd(); V]; R];
        for p in 0..t.k {
            let bp = t.b.add(p * t.ldb);
            let mut bv = [_mm512_setzero_pd(); V];
            for (v, bv) in bv.iter_mut().enumerate() {
                // Masked-off lanes are not read, so the load may run past the end of a row.
                *bv = _mm512_maskz_loadu_pd(lane_mask(v), bp.add(8 * v));
            }
            let ap = t.a.add(p * t.csa);
            for (i, acc) in acc.iter_mut().enumerate() {
                let av = _mm512_set1_pd(*ap.add(i * t.rsa));
                for (acc, bv) in acc.iter_mut().zip(&bv) {
                    *acc = _mm512_fmadd_pd(av, *bv, *acc);
                }
            }
        }
        for (i, acc) in acc.iter().enumerate() {
            for (v, &acc) in acc.iter().enumerate() {
                let cp = t.c.add(i * t.ldc + 8 * v);
                let m = lane_mask(v);
                let sum = if t.accumulate {
                    _mm512_add_pd(acc, _mm512_maskz_loadu_pd(m, cp))
                } else {
                    acc
                };
                _mm512_mask_storeu_pd(cp, m, sum);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{s, Array2};

    fn naive(a: &ArrayView2<f64>, b: &ArrayView2<f64>) -> Array2<f64> {
        Array2::from_shape_fn((a.nrows(), b.ncols()), |(i, j)| {
            (0..a.ncols()).map(|p| a[[i, p]] * b[[p, j]]).sum()
        })
    }

    #[test]
    fn matches_naive_product_for_all_tile_remainders() {
        let val = |i: usize, j: usize| ((i * 31 + j * 17) % 23) as f64 / 7.0 - 1.5;
        for (m, n, k) in [
            (32, 384, 128),
            (32, 6, 128),
            (17, 13, 5),
            (9, 31, 3),
            (1, 1, 1),
            (3, 25, 0),
        ] {
            let a = Array2::from_shape_fn((m, k), |(i, j)| val(i, j));
            let a_t = Array2::from_shape_fn((k, m), |(i, j)| val(j, i));
            let b = Array2::from_shape_fn((k, n), |(i, j)| val(i + 3, j));
            let expect = naive(&a.view(), &b.view());
            for (a_view, acc) in [(a.view(), false), (a_t.t(), true)] {
                // A wider destination with a row stride, as the gate block of the GRU tape.
                let mut wide = Array2::from_elem((m, n + 5), 1.0);
                let mut c = wide.slice_mut(s![.., ..n]);
                gemm(&a_view, &b.view(), acc, &mut c);
                let offset = if acc { 1.0 } else { 0.0 };
                for ((i, j), v) in c.indexed_iter() {
                    assert!(
                        (v - expect[[i, j]] - offset).abs() < 1e-12,
                        "{m}×{n}×{k} [{i},{j}]"
                    );
                }
                assert!(
                    wide.slice(s![.., n..]).iter().all(|&v| v == 1.0),
                    "wrote outside C"
                );
            }
        }
    }
}
