//! The kernels behind the `*_fast` variants: the same mathematics as the
//! readable listings, arranged for nalgebra's column-major storage.
//!
//! Three changes make the difference (measured by `bench/compare.py`):
//! the scores are computed transposed, `Sᵀ = K Qᵀ`, so that each query's
//! softmax runs down one contiguous column; queries are taken in blocks,
//! so that a block of `Sᵀ` stays in the cache (and a causal block skips
//! the keys it may not see); and in f32 the exponential is a polynomial
//! that the compiler turns into vector instructions.

use std::any::Any;

use nalgebra::{DMatrix, Dyn, MatrixView, MatrixViewMut};
use notation::{Error, Real};

use crate::shape;

/// Which keys each query may see, for the fast variants.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FastMask<'a, T: Real> {
    /// Every query sees every key, as `mask = None` in
    /// [`attention`](crate::attention::attention).
    None,
    /// The causal mask (2.5), without building it: query `i` sees the
    /// keys `j ≤ i`. Same numbers as `Some(&causal_mask(n)?)`.
    Causal,
    /// Any additive mask `M` of shape `(n_q, n_k)`, checked as in
    /// [`attention`](crate::attention::attention).
    Additive(&'a DMatrix<T>),
}

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

    /// Rows `0 .. rows`, as an nalgebra view.
    fn top(&self, rows: usize) -> View<'a, T> {
        View::from_slice_with_strides(self.data, rows, self.ncols, 1, self.ld)
    }

    /// Rows `r0 .. r0 + rows`, transposed, as a view: no copy, only the
    /// strides are swapped.
    fn rows_transposed(&self, r0: usize, rows: usize) -> View<'a, T> {
        View::from_slice_with_strides(
            &self.data[r0..],
            self.ncols,
            rows,
            self.ld,
            1,
        )
    }
}

/// A view with any row and column stride (nalgebra's `gemm` hands both to
/// `matrixmultiply`, which reads a transposed view without copying it).
type View<'a, T> = MatrixView<'a, T, Dyn, Dyn, Dyn, Dyn>;
type ViewMut<'a, T> = MatrixViewMut<'a, T, Dyn, Dyn, Dyn, Dyn>;

/// Queries per block: a block of `Sᵀ` with 1024 keys is 1 MiB in f32
/// (about the L2 cache of the machine in the README); 128 and 512 were
/// slower there.
const BLOCK: usize = 256;

/// `out = softmax(Q Kᵀ / √d_k + M) V`, written into `out` (column-major,
/// leading dimension `ld_out`, `n_q` rows, `d_v` columns). Shapes and the
/// mask must have been checked by the caller.
pub(crate) fn attend<T: Real>(
    q: Cols<T>,
    k: Cols<T>,
    v: Cols<T>,
    mask: FastMask<T>,
    out: &mut [T],
    ld_out: usize,
) {
    let (n_q, n_k, d_v) = (q.nrows, k.nrows, v.ncols);
    let scale = T::one() / T::from_usize(q.ncols).unwrap().sqrt();
    let mut buf: Vec<T> = vec![T::zero(); n_k * BLOCK.min(n_q)];
    let mut i0 = 0;
    while i0 < n_q {
        let bq = BLOCK.min(n_q - i0);
        // A causal block needs the keys up to its last query only.
        let keys = match mask {
            FastMask::Causal => n_k.min(i0 + bq),
            _ => n_k,
        };
        let st = &mut buf[..keys * bq];
        // Sᵀ = K Qᵀ / √d_k: column r is the scores of query i0 + r.
        let mut st_view =
            ViewMut::from_slice_with_strides_mut(st, keys, bq, 1, keys);
        product(
            &mut st_view,
            scale,
            &k.top(keys),
            &q.rows_transposed(i0, bq),
        );
        if let FastMask::Additive(m) = mask {
            let m = m.as_slice();
            for j in 0..keys {
                let m_col = &m[j * n_q + i0..j * n_q + i0 + bq];
                for (r, &m_ij) in m_col.iter().enumerate() {
                    st[r * keys + j] += m_ij;
                }
            }
        }
        let visible = |r: usize| match mask {
            FastMask::Causal => keys.min(i0 + r + 1),
            _ => keys,
        };
        softmax_columns(&mut buf, keys, bq, visible);
        // O = P V with P = (Sᵀ)ᵀ: the transpose is a view, not a copy.
        let st = &buf[..keys * bq];
        let p = View::from_slice_with_strides(st, bq, keys, keys, 1);
        let mut o = ViewMut::from_slice_with_strides_mut(
            &mut out[i0..],
            bq,
            d_v,
            1,
            ld_out,
        );
        product(&mut o, T::one(), &p, &v.top(keys));
        i0 += bq;
    }
}

/// `c = α a b`. nalgebra hands products whose sides all exceed 5 to
/// `matrixmultiply`, strides and all; smaller ones it computes column by
/// column, which is slow and (in nalgebra 0.35) mishandles a transposed
/// view, so those are multiplied as owned matrices.
fn product<T: Real>(c: &mut ViewMut<T>, alpha: T, a: &View<T>, b: &View<T>) {
    const SMALL: usize = 5;
    if a.nrows().min(a.ncols()).min(b.ncols()) > SMALL {
        c.gemm(alpha, a, b, T::zero());
    } else {
        c.copy_from(&(a.clone_owned() * b.clone_owned() * alpha));
    }
}

/// Softmax down each of the `cols` columns (length `rows`) at the start
/// of `buf`; column `r` uses its first `visible(r)` entries, the others
/// get weight 0.
// A `Vec`, not a slice: only a sized type can be downcast to f32.
#[allow(clippy::ptr_arg)]
fn softmax_columns<T: Real>(
    buf: &mut Vec<T>,
    rows: usize,
    cols: usize,
    visible: impl Fn(usize) -> usize,
) {
    let any: &mut dyn Any = buf;
    if let Some(buf) = any.downcast_mut::<Vec<f32>>() {
        let softmax = softmax_f32_dispatch();
        for (r, col) in buf.chunks_exact_mut(rows).take(cols).enumerate() {
            let (seen, hidden) = col.split_at_mut(visible(r));
            softmax(seen);
            hidden.fill(0.0);
        }
        return;
    }
    let any: &mut dyn Any = buf;
    let buf = any.downcast_mut::<Vec<T>>().unwrap();
    for (r, col) in buf.chunks_exact_mut(rows).take(cols).enumerate() {
        let (seen, hidden) = col.split_at_mut(visible(r));
        // Subtract the maximum first, as in chapter 1's softmax.
        let max = seen.iter().fold(T::min_value().unwrap(), |a, &b| a.max(b));
        let max = if max.is_finite() { max } else { T::zero() };
        let mut sum = T::zero();
        for s in seen.iter_mut() {
            *s = (*s - max).exp();
            sum += *s;
        }
        let inv = T::one() / sum;
        seen.iter_mut().for_each(|s| *s *= inv);
        hidden.fill(T::zero());
    }
}

/// Lanes of the f32 loops: the compiler keeps 16 partial maxima and sums
/// in vector registers (one AVX-512 register, two AVX2, four SSE2).
const LANES: usize = 16;

/// [`softmax_f32`] compiled for the widest vectors the CPU has: the same
/// IEEE operations in every lane, so the same numbers to the bit, but 16
/// lanes with AVX-512 or 8 with AVX2 instead of SSE2's 4 (the default
/// target).
fn softmax_f32_dispatch() -> fn(&mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f")]
        fn avx512(col: &mut [f32]) {
            softmax_f32(col)
        }
        #[target_feature(enable = "avx2")]
        fn avx2(col: &mut [f32]) {
            softmax_f32(col)
        }
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F, checked just above.
            return |col| unsafe { avx512(col) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            return |col| unsafe { avx2(col) };
        }
    }
    softmax_f32
}

/// Softmax of one contiguous column in f32, maximum subtracted first.
#[inline(always)]
fn softmax_f32(col: &mut [f32]) {
    let mut maxes = [f32::NEG_INFINITY; LANES];
    let mut chunks = col.chunks_exact(LANES);
    for c in &mut chunks {
        for l in 0..LANES {
            maxes[l] = maxes[l].max(c[l]);
        }
    }
    let rest = chunks.remainder().iter();
    let max = rest.chain(&maxes).fold(f32::NEG_INFINITY, |a, &b| a.max(b));
    let mut sums = [0.0_f32; LANES];
    let mut chunks = col.chunks_exact_mut(LANES);
    for c in &mut chunks {
        for l in 0..LANES {
            c[l] = exp_f32(c[l] - max);
            sums[l] += c[l];
        }
    }
    let mut sum: f32 = sums.iter().sum();
    for s in chunks.into_remainder() {
        *s = exp_f32(*s - max);
        sum += *s;
    }
    let inv = 1.0 / sum;
    col.iter_mut().for_each(|s| *s *= inv);
}

/// `eˣ` for `x ≤ 0` in f32, within 2 ulp of `f32::exp`, and exactly 0 for
/// `x = −∞` (a masked key). Cody–Waite reduction `x = k ln 2 + r`,
/// `|r| ≤ ln 2 / 2`, a degree-6 polynomial for `eʳ` (the coefficients of
/// Cephes' `expf`), and `2ᵏ` built from its exponent bits; no branch and
/// no library call, so the loop around it is vectorized.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    // Below ln(2⁻¹²⁶) the result would be subnormal: it is flushed to 0.
    const LOW: f32 = -87.33;
    const MAGIC: f32 = 12_582_912.0; // 1.5 · 2²³: adding it rounds to integers
    let xc = x.clamp(LOW, 0.0);
    let t = xc * std::f32::consts::LOG2_E + MAGIC;
    let k = t - MAGIC;
    let r = xc - k * 0.693_359_4 + k * 2.121_944_4e-4;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 0.166_666_65;
    p = p * r + 0.5;
    let e_r = p * r * r + r + 1.0;
    let k_int = t.to_bits() as i32 - MAGIC.to_bits() as i32;
    let two_k = f32::from_bits(((k_int + 127) as u32) << 23);
    // All bits cleared below LOW: a mask, not a branch, so it vectorizes.
    let keep = ((x >= LOW) as u32).wrapping_neg();
    f32::from_bits((e_r * two_k).to_bits() & keep)
}

/// Checks an additive mask as the readable attention does (shape, no NaN
/// or `+∞`, every query sees a key), but column by column, the order in
/// which nalgebra stores it.
pub(crate) fn check_mask<T: Real>(
    m: &DMatrix<T>,
    (n_q, n_k): (usize, usize),
) -> Result<(), Error> {
    shape::shape("mask M", m, (n_q, n_k), "n_q queries, n_k keys")?;
    let mut sees_a_key = vec![false; n_q];
    for (j, col) in m.as_slice().chunks_exact(n_q).enumerate() {
        for (i, (&m_ij, seen)) in col.iter().zip(&mut sees_a_key).enumerate() {
            let value: f64 = m_ij.into();
            if value.is_nan() || value == f64::INFINITY {
                return Err(Error::NotFinite {
                    what: "mask M",
                    index: i * n_k + j,
                    value,
                });
            }
            *seen |= m_ij.is_finite();
        }
    }
    if let Some(i) = sees_a_key.iter().position(|&s| !s) {
        return Err(Error::Shape {
            what: "mask M",
            expected: "at least one key > −∞ in every row".into(),
            got: format!("row {i} masked everywhere"),
        });
    }
    Ok(())
}

/// `Y = X W + 1 bᵀ` with the bias added column by column (contiguous in
/// memory) instead of row by row.
pub(crate) fn linear<T: Real>(
    x: &DMatrix<T>,
    w: &DMatrix<T>,
    b: &nalgebra::DVector<T>,
) -> DMatrix<T> {
    let mut y = x * w;
    for (mut col, &b_j) in y.column_iter_mut().zip(b.iter()) {
        col.add_scalar_mut(b_j);
    }
    y
}
