//! The kernels behind the `*_fast` variants: the same mathematics as the
//! readable listings, arranged for nalgebra's column-major storage.
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

use std::any::Any;

use nalgebra::DMatrix;
use notation::{Error, Real, lit};

use crate::gemm::{View, ViewMut, matmul, product};
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
    mask: FastMask<T>,
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
        FastMask::Causal => CAUSAL_BLOCK,
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
            FastMask::Causal => n_k.min(i0 + bq),
            _ => n_k,
        };
        let s = &mut buf[..bq * keys];
        // S = Q Kᵀ / √d_k for queries i0 .. i0 + bq, column j = key j.
        let mut s_view =
            ViewMut::from_slice_with_strides_mut(s, bq, keys, 1, bq);
        product(&mut s_view, scale, &q.rows(i0, bq), &k.transposed(keys));
        match mask {
            FastMask::Additive(m) => {
                let m = m.as_slice();
                for (j, s_col) in s.chunks_exact_mut(bq).enumerate() {
                    let m_col = &m[j * n_q + i0..j * n_q + i0 + bq];
                    for (s_rj, &m_rj) in s_col.iter_mut().zip(m_col) {
                        *s_rj += m_rj;
                    }
                }
            }
            FastMask::Causal => {
                // Query i0 + r sees key j only if j ≤ i0 + r.
                for (j, s_col) in s.chunks_exact_mut(bq).enumerate() {
                    let hidden = j.saturating_sub(i0).min(bq);
                    s_col[..hidden].fill(neg_inf());
                }
            }
            FastMask::None => {}
        }
        softmax_rows(&mut buf, &mut stats, bq, keys);
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

/// Softmax along each row of the `rows × cols` block stored column by
/// column at the start of `buf` (entry `(r, j)` at `j · rows + r`), but
/// not yet divided by the row sums: afterwards entry `(r, j)` holds
/// `exp(s_rj − max_r)` and `stats[rows + r]` holds `1 / Σ_j exp(s_rj −
/// max_r)`. `stats` (`2 · rows` numbers) keeps the running maxima and sums
/// of all rows, updated one column at a time, so that every loop runs
/// down a contiguous column and is vectorized across the rows.
// A `Vec`, not a slice: only a sized type can be downcast to f32.
#[allow(clippy::ptr_arg)]
fn softmax_rows<T: Real>(
    buf: &mut Vec<T>,
    stats: &mut Vec<T>,
    rows: usize,
    cols: usize,
) {
    let (any_buf, any_stats): (&mut dyn Any, &mut dyn Any) = (buf, stats);
    if let (Some(buf), Some(stats)) = (
        any_buf.downcast_mut::<Vec<f32>>(),
        any_stats.downcast_mut::<Vec<f32>>(),
    ) {
        let (max, sum) = stats.split_at_mut(rows);
        let args = (&mut buf[..rows * cols], max, &mut sum[..rows]);
        machine::wide!(
            softmax_f32(args): (&mut [f32], &mut [f32], &mut [f32]) => ()
        );
        return;
    }
    let (max, sum) = stats.split_at_mut(rows);
    softmax_block(&mut buf[..rows * cols], max, &mut sum[..rows], |x: T| {
        x.exp()
    });
}

fn neg_inf<T: Real>() -> T {
    lit::<T>(f64::NEG_INFINITY)
}

/// The body of [`softmax_rows`] for any exponential `exp`.
#[inline(always)]
fn softmax_block<T: Real>(
    s: &mut [T],
    max: &mut [T],
    sum: &mut [T],
    exp: impl Fn(T) -> T,
) {
    let rows = max.len();
    // Subtract each row's maximum first, as in chapter 1's softmax.
    max.fill(neg_inf());
    for col in s.chunks_exact(rows) {
        for (m, &x) in max.iter_mut().zip(col) {
            *m = m.max(x);
        }
    }
    sum.fill(T::zero());
    for col in s.chunks_exact_mut(rows) {
        for ((x, &m), acc) in col.iter_mut().zip(&*max).zip(sum.iter_mut()) {
            *x = exp(*x - m);
            *acc += *x;
        }
    }
    sum.iter_mut().for_each(|x| *x = T::one() / *x);
}

/// [`softmax_block`] in f32 with [`exp_f32`], for `machine::wide!`:
/// compiled for the widest vectors the CPU has, the same numbers to the
/// bit.
#[inline(always)]
fn softmax_f32((s, max, sum): (&mut [f32], &mut [f32], &mut [f32])) {
    softmax_block(s, max, sum, exp_f32)
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
    b: &DMatrix<T>,
) -> DMatrix<T> {
    let mut y = matmul(x, w);
    let n = y.nrows().max(1);
    for (col, &b_j) in y.as_mut_slice().chunks_exact_mut(n).zip(b.iter()) {
        col.iter_mut().for_each(|y_ij| *y_ij += b_j);
    }
    y
}

/// `X` as a view (no copy).
fn view<T: Real>(m: &DMatrix<T>) -> View<'_, T> {
    View::from_slice_with_strides(
        m.as_slice(),
        m.nrows(),
        m.ncols(),
        1,
        m.nrows(),
    )
}

/// `Mᵀ` as a view: no copy, only the strides are swapped.
fn view_t<T: Real>(m: &DMatrix<T>) -> View<'_, T> {
    View::from_slice_with_strides(
        m.as_slice(),
        m.ncols(),
        m.nrows(),
        m.nrows(),
        1,
    )
}

/// `α A B` as a new matrix; `A`, `B` are views, possibly transposed.
fn product_new<T: Real>(alpha: T, a: &View<T>, b: &View<T>) -> DMatrix<T> {
    let (rows, cols) = (a.nrows(), b.ncols());
    let mut c = DMatrix::zeros(rows, cols);
    let mut cv = ViewMut::from_slice_with_strides_mut(
        c.as_mut_slice(),
        rows,
        cols,
        1,
        rows,
    );
    product(&mut cv, alpha, a, b);
    c
}

/// The backward pass (2.18) of `Y = X W + 1 bᵀ`: `(∂L/∂X, ∂L/∂W, ∂L/∂b)`
/// with the transposes `Wᵀ`, `Xᵀ` read as views instead of copied, and
/// the bias gradient summed column by column. Shapes checked by the
/// caller.
pub(crate) fn linear_backward<T: Real>(
    x: &DMatrix<T>,
    w: &DMatrix<T>,
    d_y: &DMatrix<T>,
) -> (DMatrix<T>, DMatrix<T>, DMatrix<T>) {
    let d_x = product_new(T::one(), &view(d_y), &view_t(w));
    let d_w = product_new(T::one(), &view_t(x), &view(d_y));
    let d_b = DMatrix::from_iterator(
        1,
        d_y.ncols(),
        d_y.as_slice()
            .chunks_exact(d_y.nrows().max(1))
            .map(|col| col.iter().fold(T::zero(), |a, &b| a + b)),
    );
    (d_x, d_w, d_b)
}

/// `√(2/π)` and the cubic coefficient of the tanh GELU (2.10).
fn gelu_constants<T: Real>() -> (T, T) {
    let sqrt_2_over_pi = (lit::<T>(2.0) / T::pi()).sqrt();
    (sqrt_2_over_pi, lit::<T>(0.044715))
}

/// The tanh GELU (2.10) and its derivative at `x`, in the form
/// `x/2 · (1 + tanh u) = x · σ(2u)` with `σ(z) = 1 / (1 + e⁻ᶻ)`: one
/// exponential of a non-positive number, `e = exp(−|2u|)`, and no tanh,
/// so that a loop of them is vectorized. `σ(2u) = 1/(1 + e)` for `u ≥ 0`,
/// `e/(1 + e)` for `u < 0`; `σ'(z) = σ(z)(1 − σ(z)) = e/(1 + e)²`.
#[inline(always)]
fn gelu_and_derivative<T: Real>(x: T, exp: impl Fn(T) -> T) -> (T, T) {
    let (k, c) = gelu_constants::<T>();
    let (one, two, three) = (T::one(), T::one() + T::one(), lit::<T>(3.0));
    let u = k * (x + c * x * x * x);
    let z = two * u;
    let e = exp(-z.abs());
    let inv = one / (one + e);
    let s = if z >= T::zero() { inv } else { e * inv };
    let ds = e * inv * inv;
    let du = k * (one + three * c * x * x);
    (x * s, s + x * ds * two * du)
}

/// `act(H)` (`derivative = false`) or `act'(H)` (`true`), entry by
/// entry: ReLU as in [`Activation`](crate::ffn::Activation); the tanh
/// GELU by [`gelu_and_derivative`], with [`exp_f32`] in f32, compiled for
/// wide vectors.
pub(crate) fn activate<T: Real>(
    act: crate::ffn::Activation,
    h: &DMatrix<T>,
    derivative: bool,
) -> DMatrix<T> {
    use crate::ffn::Activation;
    if act == Activation::Relu {
        return if derivative {
            h.map(|x| act.derivative(x))
        } else {
            h.map(|x| act.apply(x))
        };
    }
    let mut out = h.clone();
    let any: &mut dyn Any = &mut out;
    if let Some(out32) = any.downcast_mut::<DMatrix<f32>>() {
        machine::wide!(
            gelu_f32((out32.as_mut_slice(), derivative)):
                (&mut [f32], bool) => ()
        );
        return out;
    }
    for x in out.as_mut_slice() {
        let (value, slope) = gelu_and_derivative(*x, |y: T| y.exp());
        *x = if derivative { slope } else { value };
    }
    out
}

/// GELU (or its derivative) of every entry of `xs`, in place, in f32 with
/// [`exp_f32`]: the loop [`activate`] compiles for wide vectors.
#[inline(always)]
fn gelu_f32((xs, derivative): (&mut [f32], bool)) {
    for x in xs {
        let (value, slope) = gelu_and_derivative(*x, exp_f32);
        *x = if derivative { slope } else { value };
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
    mask: FastMask<T>,
) -> (DMatrix<T>, DMatrix<T>, DMatrix<T>) {
    let (n_q, n_k) = (q.nrows(), k.nrows());
    let scale = T::one() / lit::<T>(q.ncols() as f64).sqrt();
    let mut s = product_new(scale, &view(q), &view_t(k));
    match mask {
        FastMask::Additive(m) => s += m,
        FastMask::Causal => {
            for (j, col) in s.as_mut_slice().chunks_exact_mut(n_q).enumerate() {
                col[..j.min(n_q)].fill(neg_inf());
            }
        }
        FastMask::None => {}
    }
    let mut buf = s.as_slice().to_vec();
    let mut stats = vec![T::zero(); 2 * n_q];
    softmax_rows(&mut buf, &mut stats, n_q, n_k);
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
