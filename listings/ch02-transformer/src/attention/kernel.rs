//! The kernels of the fast attention variants
//! ([`attention_fast`](super::attention_fast),
//! [`attention_output_fast`](super::attention_output_fast),
//! [`attention_backward_fast`](super::attention_backward_fast), and
//! `MultiHeadAttention::output_fast`, which calls [`attend`] per head):
//! the same mathematics as the readable listings, arranged for nalgebra's
//! column-major storage.
//!
//! Four changes make the difference (measured by `bench/compare.py`):
//! queries are taken in blocks, so that a block of `S` stays in the cache
//! (and a causal block skips the keys it may not see); the softmax runs
//! along the rows of a block stored column by column, updating the
//! maxima and sums of all its rows one contiguous column at a time, so
//! the loops are vectorized across queries; the division by the row sums
//! is applied to the rows of `O = P V` (`d_v` numbers each) instead of
//! the rows of `P` (`n_k` numbers each); and in f32 the exponential is a
//! polynomial that the compiler turns into vector instructions. Every
//! product reads its operands in the layout `matrixmultiply` packs
//! fastest (`Q` by columns, `Kᵀ` and `V` by rows). The products go
//! through [`crate::gemm`] (nalgebra's, or the system BLAS with the `blas`
//! feature).

use nalgebra::DMatrix;
use notation::{Real, lit};

use crate::gemm::{View, ViewMut, product, product_new, view, view_t};
use crate::mask::MaskKind;
use crate::primitives::{neg_inf, softmax_rows_unscaled};

/// A matrix stored column by column with leading dimension `ld` (the
/// distance between two columns): a whole `DMatrix` (`ld = nrows`) or a
/// block of its columns, such as one head's `Q_i` inside `Q`.
#[derive(Clone, Copy)]
pub(crate) struct Cols<'a, T> {
    pub data: &'a [T],
    pub nrows: usize,
    pub ncols: usize,
    pub ld: usize,
}

impl<'a, T: Real> Cols<'a, T> {
    pub fn of(m: &'a DMatrix<T>) -> Self {
        Cols {
            data: m.as_slice(),
            nrows: m.nrows(),
            ncols: m.ncols(),
            ld: m.nrows(),
        }
    }

    /// Columns `c0 .. c0 + ncols` of `m`, without copying.
    pub fn block(m: &'a DMatrix<T>, c0: usize, ncols: usize) -> Self {
        let ld = m.nrows();
        Cols {
            data: &m.as_slice()[c0 * ld..(c0 + ncols) * ld],
            nrows: ld,
            ncols,
            ld,
        }
    }

    /// Rows `r0 .. r0 + rows`, as an nalgebra view.
    fn rows(&self, r0: usize, rows: usize) -> View<'a, T> {
        View::from_slice_with_strides(
            &self.data[r0..],
            rows,
            self.ncols,
            1,
            self.ld,
        )
    }

    /// Rows `0 .. rows`, transposed, as a view: no copy, only the strides
    /// are swapped.
    fn transposed(&self, rows: usize) -> View<'a, T> {
        View::from_slice_with_strides(self.data, self.ncols, rows, self.ld, 1)
    }
}

/// Queries per block: a block of `S` with 1024 keys is 1 MiB in f32, about
/// the L2 cache of the machine in the README; fewer queries per block
/// would repack `K` and `V` more often (128 and 512 were slower there).
const BLOCK: usize = 256;
/// Queries per block with the causal mask: smaller blocks skip more of
/// the keys that no query of the block may see (256 was slower there).
const CAUSAL_BLOCK: usize = 128;

/// `out = softmax(Q Kᵀ / √d_k + M) V`, written into `out` (column-major,
/// leading dimension `ld_out`, `n_q` rows, `d_v` columns). Shapes and the
/// mask must have been checked by the caller.
pub(crate) fn attend<T: Real>(
    q: Cols<T>,
    k: Cols<T>,
    v: Cols<T>,
    mask: MaskKind<T>,
    out: &mut [T],
    ld_out: usize,
) {
    let (n_q, n_k, d_v) = (q.nrows, k.nrows, v.ncols);
    let scale = T::one() / lit::<T>(q.ncols as f64).sqrt();
    // V row by row (a copy of n_k · d_v numbers): the layout in which the
    // product P V reads it fastest.
    let mut v_rows = vec![T::zero(); n_k * d_v];
    for (c, col) in v.data.chunks(v.ld).take(d_v).enumerate() {
        for (j, &x) in col[..n_k].iter().enumerate() {
            v_rows[j * d_v + c] = x;
        }
    }
    let block = match mask {
        MaskKind::Causal => CAUSAL_BLOCK,
        _ => BLOCK,
    };
    let bq_max = block.min(n_q);
    let mut buf: Vec<T> = vec![T::zero(); n_k * bq_max];
    let mut stats = vec![T::zero(); 2 * bq_max];
    let mut i0 = 0;
    while i0 < n_q {
        let bq = block.min(n_q - i0);
        // A causal block needs the keys up to its last query only.
        let keys = match mask {
            MaskKind::Causal => n_k.min(i0 + bq),
            _ => n_k,
        };
        let s = &mut buf[..bq * keys];
        // S = Q Kᵀ / √d_k for queries i0 .. i0 + bq, column j = key j.
        let mut s_view =
            ViewMut::from_slice_with_strides_mut(s, bq, keys, 1, bq);
        product(&mut s_view, scale, &q.rows(i0, bq), &k.transposed(keys));
        match mask {
            MaskKind::Additive(m) => {
                let m = m.as_slice();
                for (j, s_col) in s.chunks_exact_mut(bq).enumerate() {
                    let m_col = &m[j * n_q + i0..j * n_q + i0 + bq];
                    for (s_rj, &m_rj) in s_col.iter_mut().zip(m_col) {
                        *s_rj += m_rj;
                    }
                }
            }
            MaskKind::Causal => {
                // Query i0 + r sees key j only if j ≤ i0 + r.
                for (j, s_col) in s.chunks_exact_mut(bq).enumerate() {
                    let hidden = j.saturating_sub(i0).min(bq);
                    s_col[..hidden].fill(neg_inf());
                }
            }
            MaskKind::None => {}
        }
        softmax_rows_unscaled(&mut buf, &mut stats, bq, keys);
        // O = P V for the block's rows of `out`.
        let p =
            View::from_slice_with_strides(&buf[..bq * keys], bq, keys, 1, bq);
        let v_view = View::from_slice_with_strides(
            &v_rows[..keys * d_v],
            keys,
            d_v,
            d_v,
            1,
        );
        let mut o = ViewMut::from_slice_with_strides_mut(
            &mut out[i0..],
            bq,
            d_v,
            1,
            ld_out,
        );
        product(&mut o, T::one(), &p, &v_view);
        // Row r of P still has to be divided by its sum: scaling row r of
        // O = P V instead is the same and touches d_v, not n_k, numbers.
        let inv = &stats[bq..2 * bq];
        for col in out[i0..].chunks_mut(ld_out).take(d_v) {
            for (o_r, &inv_r) in col.iter_mut().zip(inv) {
                *o_r *= inv_r;
            }
        }
        i0 += bq;
    }
}

/// `(S, P, O)` of attention (2.4) for one sequence: `S = Q Kᵀ / √d_k + M`,
/// `P` its row softmax, `O = P V`, the softmax vectorized across rows as
/// in [`attend`] (with the division by the row sums on `P`, which the
/// backward pass needs). Shapes and mask checked by the caller.
pub(crate) fn attend_cached<T: Real>(
    q: &DMatrix<T>,
    k: &DMatrix<T>,
    v: &DMatrix<T>,
    mask: MaskKind<T>,
) -> (DMatrix<T>, DMatrix<T>, DMatrix<T>) {
    let (n_q, n_k) = (q.nrows(), k.nrows());
    let scale = T::one() / lit::<T>(q.ncols() as f64).sqrt();
    let mut s = product_new(scale, &view(q), &view_t(k));
    match mask {
        MaskKind::Additive(m) => s += m,
        MaskKind::Causal => {
            for (j, col) in s.as_mut_slice().chunks_exact_mut(n_q).enumerate() {
                col[..j.min(n_q)].fill(neg_inf());
            }
        }
        MaskKind::None => {}
    }
    let mut buf = s.as_slice().to_vec();
    let mut stats = vec![T::zero(); 2 * n_q];
    softmax_rows_unscaled(&mut buf, &mut stats, n_q, n_k);
    let inv = &stats[n_q..];
    for col in buf.chunks_exact_mut(n_q) {
        col.iter_mut().zip(inv).for_each(|(p, &r)| *p *= r);
    }
    let p = DMatrix::from_vec(n_q, n_k, buf);
    let o = product_new(T::one(), &view(&p), &view(v));
    (s, p, o)
}

/// The backward pass of attention (2.20) from `P` and `∂L/∂O`, with the
/// transposes read as views and the softmax backward
/// `∂L/∂S = P ⊙ (∂L/∂P − rowsum(P ⊙ ∂L/∂P))` summed column by column.
/// Returns `(∂L/∂Q, ∂L/∂K, ∂L/∂V)`. Shapes checked by the caller.
pub(crate) fn attend_backward<T: Real>(
    q: &DMatrix<T>,
    k: &DMatrix<T>,
    v: &DMatrix<T>,
    p: &DMatrix<T>,
    d_out: &DMatrix<T>,
) -> (DMatrix<T>, DMatrix<T>, DMatrix<T>) {
    let n_q = q.nrows();
    let scale = T::one() / lit::<T>(q.ncols() as f64).sqrt();
    let d_v = product_new(T::one(), &view_t(p), &view(d_out));
    let mut d_s = product_new(T::one(), &view(d_out), &view_t(v));
    let mut inner = vec![T::zero(); n_q];
    let cols = d_s.as_slice().chunks_exact(n_q);
    for (dp, pc) in cols.zip(p.as_slice().chunks_exact(n_q)) {
        for ((acc, &dp), &p) in inner.iter_mut().zip(dp).zip(pc) {
            *acc += p * dp;
        }
    }
    let cols = d_s.as_mut_slice().chunks_exact_mut(n_q);
    for (ds, pc) in cols.zip(p.as_slice().chunks_exact(n_q)) {
        for ((ds, &p), &s) in ds.iter_mut().zip(pc).zip(&inner) {
            *ds = p * (*ds - s);
        }
    }
    let d_q = product_new(scale, &view(&d_s), &view(k));
    let d_k = product_new(scale, &view_t(&d_s), &view(q));
    (d_q, d_k, d_v)
}
