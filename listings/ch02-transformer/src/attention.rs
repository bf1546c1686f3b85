//! Scaled dot-product attention, forward (and, further down, backward).
//!
//! Book: section „Skalierte Skalarprodukt-Attention“ / "Scaled dot-product
//! attention" of chapter 2.

use ch01_probability::softmax::{softmax_rows, softmax_rows_backward};
use nalgebra::DMatrix;
use notation::{Error, Real, lit, shape};

use crate::mask::check_mask;

pub(crate) mod kernel;

use kernel::Cols;

/// Everything the forward pass computed; the backward pass needs `weights`.
#[derive(Clone, Debug, PartialEq)]
pub struct Attention<T: Real> {
    /// The scores `S = Q Kᵀ / √d_k + M`, shape `(n_q, n_k)`.
    pub scores: DMatrix<T>,
    /// The attention weights `P = softmax(S)` (row by row), `(n_q, n_k)`.
    pub weights: DMatrix<T>,
    /// The output `O = P V`, shape `(n_q, d_v)`.
    pub output: DMatrix<T>,
}

// ANCHOR: attention
/// Scaled dot-product attention: every query (row of `q`) takes a weighted
/// mean of the values (rows of `v`), weighted by how well it matches each
/// key (row of `k`).
///
/// ```text
/// Attention(Q, K, V) = softmax(Q Kᵀ / √d_k) V                  (2.2)
/// Attention(Q, K, V; M) = softmax(Q Kᵀ / √d_k + M) V          (2.4)
/// ```
///
/// The softmax is taken over each row; `M` is an additive mask whose
/// entries are `0` (attend) or `−∞` (do not attend).
///
/// # Shapes
/// `q`: `(n_q, d_k)`, `k`: `(n_k, d_k)`, `v`: `(n_k, d_v)`,
/// `mask`: `(n_q, n_k)` → output `(n_q, d_v)`, weights `(n_q, n_k)`.
///
/// # Book
/// Formeln (2.2) und (2.4) in Kapitel 2, „Skalierte
/// Skalarprodukt-Attention“ und „Masken“ / formulas (2.2) and (2.4) in
/// chapter 2, "Scaled dot-product attention" and "Masks".
///
/// # Errors
/// An empty argument; `k` without the `d_k` columns of `q`; `v` without
/// the `n_k` rows of `k`; a mask of another shape than `(n_q, n_k)`, with a
/// NaN or `+∞`, or with a row that is `−∞` everywhere (such a query may
/// attend to nothing, and there is no distribution to take a mean with).
///
/// # Example
/// ```
/// use ch02_transformer::attention::attention;
/// use nalgebra::dmatrix;
///
/// // One query that matches the first key far better than the second.
/// let q = dmatrix![10.0_f64, 0.0];
/// let k = dmatrix![10.0, 0.0; 0.0, 10.0];
/// let v = dmatrix![1.0; 2.0];
/// let a = attention(&q, &k, &v, None).unwrap();
/// assert!((a.output[(0, 0)] - 1.0).abs() < 1e-12);
/// ```
pub fn attention<T: Real>(
    q: &DMatrix<T>,
    k: &DMatrix<T>,
    v: &DMatrix<T>,
    mask: Option<&DMatrix<T>>,
) -> Result<Attention<T>, Error> {
    shape::non_empty("Q", q)?;
    shape::non_empty("K", k)?;
    shape::non_empty("V", v)?;
    let d_k = q.ncols();
    shape::cols("K", k, d_k, "d_k, the columns of Q")?;
    shape::rows("V", v, k.nrows(), "n_k, the rows of K")?;
    let scale = T::one() / lit::<T>(d_k as f64).sqrt();
    check_mask(mask, (q.nrows(), k.nrows()))?;
    let mut scores = q * k.transpose() * scale;
    if let Some(m) = mask {
        scores += m;
    }
    // The row-wise softmax of chapter 1 subtracts each row's maximum
    // first, so scores of any size (±750 and beyond) cannot overflow exp,
    // and −∞ entries get weight exactly 0.
    let weights = softmax_rows(&scores)?;
    let output = &weights * v;
    Ok(Attention {
        scores,
        weights,
        output,
    })
}
// ANCHOR_END: attention

/// [`attention`], computed faster: the products with transposed views
/// instead of copies, the softmax vectorized across the queries (see
/// [`kernel`]), the causal mask applied without reading it. The same
/// arguments and the same result `(S, P, O)`; for the short sequences of
/// chapter 4's batched training step, where each window and head is one
/// call.
///
/// # Errors
/// Those of [`attention`], and a NaN or `±∞` in `q` or `k` (which the
/// readable version reports as a bad score).
pub fn attention_fast<T: Real>(
    q: &DMatrix<T>,
    k: &DMatrix<T>,
    v: &DMatrix<T>,
    mask: Option<&DMatrix<T>>,
) -> Result<Attention<T>, Error> {
    let kind = check_fast(q, k, v, mask)?;
    let (scores, weights, output) = kernel::attend_cached(q, k, v, kind);
    Ok(Attention {
        scores,
        weights,
        output,
    })
}

/// The output `O` of [`attention`] alone, without `S` and `P`: what
/// inference needs, where no backward pass follows.
///
/// # Errors
/// Those of [`attention`].
pub fn attention_output<T: Real>(
    q: &DMatrix<T>,
    k: &DMatrix<T>,
    v: &DMatrix<T>,
    mask: Option<&DMatrix<T>>,
) -> Result<DMatrix<T>, Error> {
    Ok(attention(q, k, v, mask)?.output)
}

/// [`attention_output`], computed faster: queries in cache-sized blocks,
/// the softmax vectorized across the queries of a block, the division by
/// the row sums applied to `O` instead of `P`, a causal block skips the
/// keys it may not see, and in f32 a vectorized exponential (see
/// [`kernel`]). `S` and `P` exist one block at a time only.
///
/// ```text
/// Attention(Q, K, V; M) = softmax(Q Kᵀ / √d_k + M) V          (2.4)
/// ```
///
/// # Errors
/// Those of [`attention_fast`].
pub fn attention_output_fast<T: Real>(
    q: &DMatrix<T>,
    k: &DMatrix<T>,
    v: &DMatrix<T>,
    mask: Option<&DMatrix<T>>,
) -> Result<DMatrix<T>, Error> {
    let kind = check_fast(q, k, v, mask)?;
    let mut out = DMatrix::zeros(q.nrows(), v.ncols());
    let ld = q.nrows();
    let (q, k, v) = (Cols::of(q), Cols::of(k), Cols::of(v));
    kernel::attend(q, k, v, kind, out.as_mut_slice(), ld);
    Ok(out)
}

/// The checks of the fast variants: those of [`attention`], and finite
/// `Q` and `K`; returns the kind of mask for the kernels.
pub(crate) fn check_fast<'a, T: Real>(
    q: &DMatrix<T>,
    k: &DMatrix<T>,
    v: &DMatrix<T>,
    mask: Option<&'a DMatrix<T>>,
) -> Result<crate::mask::MaskKind<'a, T>, Error> {
    shape::non_empty("Q", q)?;
    shape::non_empty("K", k)?;
    shape::non_empty("V", v)?;
    shape::cols("K", k, q.ncols(), "d_k, the columns of Q")?;
    shape::rows("V", v, k.nrows(), "n_k, the rows of K")?;
    shape::finite("Q", q)?;
    shape::finite("K", k)?;
    check_mask(mask, (q.nrows(), k.nrows()))
}

/// The gradients of a scalar loss with respect to `Q`, `K` and `V`.
#[derive(Clone, Debug, PartialEq)]
pub struct AttentionGrads<T: Real> {
    /// `∂L/∂Q`, shape `(n_q, d_k)`.
    pub d_q: DMatrix<T>,
    /// `∂L/∂K`, shape `(n_k, d_k)`.
    pub d_k: DMatrix<T>,
    /// `∂L/∂V`, shape `(n_k, d_v)`.
    pub d_v: DMatrix<T>,
}

// ANCHOR: attention_backward
/// Backward pass of (masked) scaled dot-product attention, from
/// `d_out = ∂L/∂O` and the forward pass `fwd` to `∂L/∂Q`, `∂L/∂K`, `∂L/∂V`.
///
/// ```text
/// ∂L/∂V = Pᵀ ∂L/∂O,   ∂L/∂P = ∂L/∂O Vᵀ,   ∂L/∂S by (2.19),
/// ∂L/∂Q = ∂L/∂S K / √d_k,   ∂L/∂K = (∂L/∂S)ᵀ Q / √d_k           (2.20)
/// ```
///
/// The mask `M` is a constant: it passes `∂L/∂S` through unchanged, and
/// masked entries have `P_ij = 0`, so their `∂L/∂S_ij` is 0 by (2.19).
///
/// # Shapes
/// As in [`attention`]; `d_out`: `(n_q, d_v)`.
///
/// # Book
/// Formel (2.20) in Kapitel 2, „Rückwärts: die Gradienten“ / formula
/// (2.20) in chapter 2, "Backward: the gradients".
///
/// # Errors
/// `d_out` or `fwd` do not fit `q`, `k`, `v`.
pub fn attention_backward<T: Real>(
    q: &DMatrix<T>,
    k: &DMatrix<T>,
    v: &DMatrix<T>,
    fwd: &Attention<T>,
    d_out: &DMatrix<T>,
) -> Result<AttentionGrads<T>, Error> {
    let (n_q, n_k) = (q.nrows(), k.nrows());
    shape::shape("P", &fwd.weights, (n_q, n_k), "n_q, n_k")?;
    shape::shape("∂L/∂O", d_out, (n_q, v.ncols()), "n_q, d_v")?;
    let scale = T::one() / lit::<T>(q.ncols() as f64).sqrt();
    let p = &fwd.weights;
    let d_v = p.transpose() * d_out;
    let d_p = d_out * v.transpose();
    let d_s = softmax_rows_backward(p, &d_p)?;
    let d_q = &d_s * k * scale;
    let d_k = d_s.transpose() * q * scale;
    Ok(AttentionGrads { d_q, d_k, d_v })
}
// ANCHOR_END: attention_backward

/// [`attention_backward`], faster: the transposes `Pᵀ`, `Vᵀ`, `(∂L/∂S)ᵀ`
/// are read as views instead of copied, and the softmax backward (2.19)
/// sums column by column. The same formulas.
///
/// # Errors
/// Those of [`attention_backward`].
pub fn attention_backward_fast<T: Real>(
    q: &DMatrix<T>,
    k: &DMatrix<T>,
    v: &DMatrix<T>,
    fwd: &Attention<T>,
    d_out: &DMatrix<T>,
) -> Result<AttentionGrads<T>, Error> {
    let (n_q, n_k) = (q.nrows(), k.nrows());
    shape::shape("P", &fwd.weights, (n_q, n_k), "n_q, n_k")?;
    shape::shape("∂L/∂O", d_out, (n_q, v.ncols()), "n_q, d_v")?;
    let (d_q, d_k, d_v) = kernel::attend_backward(q, k, v, &fwd.weights, d_out);
    Ok(AttentionGrads { d_q, d_k, d_v })
}
