//! The batch layout of [`crate::Plant::step_batch`] and [`crate::Effector`]: effectors in blocks of
//! [`LANES`], each block stored component by component (`block[k·LANES + lane]`), so that component `k` of
//! a whole block is one SIMD load; the `n mod LANES` effectors left over follow one after another, as
//! plain rows. Effector `b` of a full block starts its block at `b·dim` — as in row layout — so a range of
//! effectors starting at a block boundary is itself a batch in this layout.

/// Effectors per block: one AVX2 register of `f64`.
pub const LANES: usize = 4;

/// Where effector `b` of a batch of `n` (each `dim` long) keeps its components: component `k` is at
/// `start + k·stride`.
#[inline]
pub fn slot(n: usize, dim: usize, b: usize) -> (usize, usize) {
    if b < n / LANES * LANES {
        (b / LANES * LANES * dim + b % LANES, LANES)
    } else {
        (b * dim, 1)
    }
}

/// Copies effector `b`'s components out of `batch` into `row`.
#[inline]
pub fn read_row(batch: &[f64], n: usize, b: usize, row: &mut [f64]) {
    let (start, stride) = slot(n, row.len(), b);
    for (k, v) in row.iter_mut().enumerate() {
        *v = batch[start + k * stride];
    }
}

/// Copies `row` into effector `b`'s components of `batch`.
#[inline]
pub fn write_row(batch: &mut [f64], n: usize, b: usize, row: &[f64]) {
    let (start, stride) = slot(n, row.len(), b);
    for (k, &v) in row.iter().enumerate() {
        batch[start + k * stride] = v;
    }
}

/// The batch as rows (`n × dim`, one effector after another).
pub fn to_rows(batch: &[f64], n: usize, dim: usize) -> Vec<f64> {
    let mut rows = vec![0.0; n * dim];
    for (b, row) in rows.chunks_exact_mut(dim.max(1)).enumerate().take(n) {
        read_row(batch, n, b, row);
    }
    rows
}

/// Fills `batch` from rows (`n × dim`).
pub fn from_rows(rows: &[f64], n: usize, dim: usize, batch: &mut [f64]) {
    for (b, row) in rows.chunks_exact(dim.max(1)).enumerate().take(n) {
        write_row(batch, n, b, row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_component_has_one_place() {
        for n in [1, 3, 4, 5, 8, 11] {
            let dim = 3;
            let mut seen = vec![false; n * dim];
            for b in 0..n {
                let (start, stride) = slot(n, dim, b);
                for k in 0..dim {
                    let i = start + k * stride;
                    assert!(!seen[i], "n={n}: index {i} used twice");
                    seen[i] = true;
                }
            }
            assert!(seen.iter().all(|&s| s));
        }
    }

    #[test]
    fn blocks_interleave_components_and_the_rest_are_rows() {
        // Six effectors of two components: one block of four, then two rows.
        let rows: Vec<f64> = (0..12).map(f64::from).collect();
        let mut batch = vec![0.0; 12];
        from_rows(&rows, 6, 2, &mut batch);
        assert_eq!(
            batch,
            [0., 2., 4., 6., 1., 3., 5., 7., 8., 9., 10., 11.].to_vec()
        );
        assert_eq!(to_rows(&batch, 6, 2), rows);
    }
}
