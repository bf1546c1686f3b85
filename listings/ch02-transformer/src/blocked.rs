//! Attention in blocks: the online softmax, and attention forward and
//! backward computed block by block without ever holding the `n_q × n_k`
//! matrix of scores (the idea of FlashAttention).
//!
//! Book: section „Attention in Blöcken“ / "Attention in blocks" of
//! chapter 2.
//!
//! Memory: [`attention`](crate::attention::attention) keeps `S` and `P`,
//! `2 n_q n_k` numbers. [`attention_blocked`] keeps, besides its output,
//! one block of scores and weights (`block × block` each), one block of
//! unnormalized output and the two running statistics of a block of
//! queries: `O(n·d)` in all for a fixed block size. [`working_set`] counts
//! both exactly.

use std::any::Any;

use nalgebra::{DMatrix, DVector};
use notation::{Error, Real, lit};

use crate::attention::{AttentionGrads, check_fast};
use crate::gemm::{View, ViewMut, product};
use crate::mask::MaskKind;
use crate::primitives::neg_inf;
use notation::shape;

/// What the blocked forward pass returns: the output, and per query the
/// log-sum-exp of its scores, the one number per row that the backward
/// pass needs to recompute the weights.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockedAttention<T: Real> {
    /// `O = softmax(S) V`, shape `(n_q, d_v)`.
    pub output: DMatrix<T>,
    /// `LSE_i = m_i + log ℓ_i`, `n_q` entries.
    pub lse: DVector<T>,
}

// ANCHOR: online_softmax
/// The softmax of `s`, read in blocks of `block` entries: one pass keeps
/// the running maximum `m` and the running sum `ℓ`, rescaling `ℓ`
/// whenever the maximum grows.
///
/// ```text
/// m⁽ᵗ⁾ = max(m⁽ᵗ⁻¹⁾, max_{j ∈ B_t} s_j)                       (2.24)
/// ℓ⁽ᵗ⁾ = ℓ⁽ᵗ⁻¹⁾ exp(m⁽ᵗ⁻¹⁾ − m⁽ᵗ⁾) + Σ_{j ∈ B_t} exp(s_j − m⁽ᵗ⁾)
/// ```
///
/// # Shapes
/// `s`: `n ≥ 1` scores → `n` probabilities.
///
/// # Book
/// Formel (2.24) in Kapitel 2, „Attention in Blöcken“ / formula (2.24)
/// in chapter 2, "Attention in blocks".
///
/// # Errors
/// `block = 0`; those of chapter 1's softmax: `s` empty, a NaN or `+∞`,
/// or every entry `−∞`.
pub fn online_softmax<T: Real>(
    s: &DVector<T>,
    block: usize,
) -> Result<DVector<T>, Error> {
    check_block(block)?;
    check_scores(s)?;
    // Before the first block: m = −∞, ℓ = 0.
    let (mut m, mut l) = (neg_inf::<T>(), T::zero());
    for s_t in s.as_slice().chunks(block) {
        let m_new = s_t.iter().fold(m, |acc, &s_j| acc.max(s_j));
        if m_new == neg_inf() {
            continue; // every score so far is −∞: nothing to add yet
        }
        // exp(m − m_new) ≤ 1 rescales what was summed against the old
        // maximum; it is exp(−∞) = 0 at the first finite block.
        let exps = s_t.iter().map(|&s_j| (s_j - m_new).exp());
        l = l * (m - m_new).exp() + exps.fold(T::zero(), |a, b| a + b);
        m = m_new;
    }
    Ok(s.map(|s_j| (s_j - m).exp() / l))
}
// ANCHOR_END: online_softmax

/// The checks of [`online_softmax`]: those of chapter 1's softmax.
fn check_scores<T: Real>(s: &DVector<T>) -> Result<(), Error> {
    if s.is_empty() {
        return Err(Error::Empty { what: "scores s" });
    }
    for (index, &s_j) in s.iter().enumerate() {
        let value: f64 = s_j.into();
        if value.is_nan() || value == f64::INFINITY {
            return Err(Error::NotFinite {
                what: "scores s",
                index,
                value,
            });
        }
    }
    if s.iter().all(|&s_j| s_j == neg_inf()) {
        return Err(Error::Shape {
            what: "scores s",
            expected: "at least one score > −∞".into(),
            got: format!("all {} scores −∞", s.len()),
        });
    }
    Ok(())
}

fn check_block(block: usize) -> Result<(), Error> {
    if block == 0 {
        return Err(Error::Domain {
            what: "block size",
            requirement: "block ≥ 1",
            value: 0.0,
        });
    }
    Ok(())
}

/// The checks of the blocked forward passes: those of the fast variants
/// of [`attention`](crate::attention::attention) (its own, and a finite
/// `Q` and `K`: a NaN in them would otherwise surface as a NaN output,
/// since no row of scores is ever checked as a whole), and `block ≥ 1`.
/// Returns the kind of mask, which the fast variants use.
fn check<'a, T: Real>(
    q: &DMatrix<T>,
    k: &DMatrix<T>,
    v: &DMatrix<T>,
    mask: Option<&'a DMatrix<T>>,
    block: usize,
) -> Result<MaskKind<'a, T>, Error> {
    check_block(block)?;
    check_fast(q, k, v, mask)
}

/// The checks of the blocked backward passes: those of the forward pass,
/// and `fwd` and `d_out` of the shapes it gives.
fn check_backward<'a, T: Real>(
    (q, k, v): (&DMatrix<T>, &DMatrix<T>, &DMatrix<T>),
    mask: Option<&'a DMatrix<T>>,
    fwd: &BlockedAttention<T>,
    d_out: &DMatrix<T>,
    block: usize,
) -> Result<MaskKind<'a, T>, Error> {
    let kind = check(q, k, v, mask, block)?;
    let (n_q, d_v) = (q.nrows(), v.ncols());
    shape::shape("O", &fwd.output, (n_q, d_v), "n_q, d_v")?;
    if fwd.lse.len() != n_q {
        return Err(Error::Shape {
            what: "log-sum-exp LSE",
            expected: format!("{n_q} entries (n_q, one per query)"),
            got: format!("{} entries", fwd.lse.len()),
        });
    }
    if let Some(i) = fwd.lse.iter().position(|x| !x.is_finite()) {
        return Err(Error::NotFinite {
            what: "log-sum-exp LSE",
            index: i,
            value: fwd.lse[i].into(),
        });
    }
    shape::shape("∂L/∂O", d_out, (n_q, d_v), "n_q, d_v")?;
    Ok(kind)
}

// ANCHOR: attention_blocked
/// Attention (2.4) computed block by block: for each block of queries,
/// the blocks of keys one after the other, with a running maximum `m`,
/// a running sum `ℓ` and an unnormalized output `Õ` per query; memory
/// `O(n·d)`, never an `n_q × n_k` matrix.
///
/// ```text
/// Õ⁽ᵗ⁾ = diag(exp(m⁽ᵗ⁻¹⁾ − m⁽ᵗ⁾)) Õ⁽ᵗ⁻¹⁾ + exp(S_t − m⁽ᵗ⁾) V_t  (2.25)
/// O = diag(ℓ)⁻¹ Õ,   LSE_i = m_i + log ℓ_i                        (2.26)
/// ```
///
/// # Shapes
/// As in [`attention`](crate::attention::attention): `q` `(n_q, d_k)`,
/// `k` `(n_k, d_k)`, `v` `(n_k, d_v)`, `mask` `(n_q, n_k)`; output
/// `(n_q, d_v)` and `n_q` log-sum-exps. `block ≥ 1` need not divide
/// `n_q` or `n_k`: the last block is shorter.
///
/// # Book
/// Formeln (2.25) und (2.26) in Kapitel 2, „Attention in Blöcken“ /
/// formulas (2.25) and (2.26) in chapter 2, "Attention in blocks".
///
/// # Errors
/// Those of [`attention`](crate::attention::attention), with the same
/// messages: empty arguments, shapes that do not fit, a mask of another
/// shape, with a NaN or `+∞`, or with a row that is `−∞` everywhere (that
/// query has no distribution to attend with); and a NaN or `±∞` in `q` or
/// `k`, and `block = 0`.
pub fn attention_blocked<T: Real>(
    q: &DMatrix<T>,
    k: &DMatrix<T>,
    v: &DMatrix<T>,
    mask: Option<&DMatrix<T>>,
    block: usize,
) -> Result<BlockedAttention<T>, Error> {
    check(q, k, v, mask, block)?;
    let (n_q, n_k, d_v) = (q.nrows(), k.nrows(), v.ncols());
    let scale = T::one() / lit::<T>(q.ncols() as f64).sqrt();
    let mut output = DMatrix::zeros(n_q, d_v);
    let mut lse = DVector::zeros(n_q);
    for i0 in (0..n_q).step_by(block) {
        let b_q = block.min(n_q - i0);
        // m = −∞, ℓ = 0 and Õ = 0 for this block's queries: no key read.
        let mut m = DVector::from_element(b_q, neg_inf::<T>());
        let mut l = DVector::<T>::zeros(b_q);
        let mut o = DMatrix::<T>::zeros(b_q, d_v);
        for j0 in (0..n_k).step_by(block) {
            let b_k = block.min(n_k - j0);
            // One block of scores, b_q × b_k: the only scores ever held.
            let mut s = q.rows(i0, b_q) * k.rows(j0, b_k).transpose() * scale;
            if let Some(mask) = mask {
                s += mask.view((i0, j0), (b_q, b_k));
            }
            for r in 0..b_q {
                let m_new = m[r].max(s.row(r).max());
                if m_new == neg_inf() {
                    continue; // every key so far is masked for this query
                }
                let rescale = (m[r] - m_new).exp();
                let p = s.row(r).map(|s_rj| (s_rj - m_new).exp());
                l[r] = l[r] * rescale + p.sum();
                let o_r = o.row(r) * rescale + p * v.rows(j0, b_k);
                o.set_row(r, &o_r);
                m[r] = m_new;
            }
        }
        for r in 0..b_q {
            output.set_row(i0 + r, &(o.row(r) / l[r]));
            lse[i0 + r] = m[r] + l[r].ln();
        }
    }
    Ok(BlockedAttention { output, lse })
}
// ANCHOR_END: attention_blocked

// ANCHOR: attention_blocked_backward
/// The backward pass of [`attention_blocked`]: the gradients (2.20) from
/// the saved log-sum-exps, recomputing each block of weights as
/// `P = exp(S − LSE)`; the row sums of `P ⊙ ∂L/∂P` of (2.19) come from
/// `∂L/∂O` and `O` instead, so no row of `P` is ever needed whole.
///
/// ```text
/// D_i = Σ_j P_ij ∂L/∂P_ij = Σ_c ∂L/∂O_ic O_ic                  (2.27)
/// ∂L/∂S_ij = P_ij (∂L/∂P_ij − D_i)
/// ```
///
/// # Shapes
/// As in [`attention_blocked`]; `d_out`: `(n_q, d_v)`.
///
/// # Book
/// Formel (2.27) in Kapitel 2, „Attention in Blöcken“ / formula (2.27) in
/// chapter 2, "Attention in blocks".
///
/// # Errors
/// Those of [`attention_blocked`]; `fwd.output` or `d_out` not of shape
/// `(n_q, d_v)`, `fwd.lse` without `n_q` finite entries.
pub fn attention_blocked_backward<T: Real>(
    q: &DMatrix<T>,
    k: &DMatrix<T>,
    v: &DMatrix<T>,
    mask: Option<&DMatrix<T>>,
    fwd: &BlockedAttention<T>,
    d_out: &DMatrix<T>,
    block: usize,
) -> Result<AttentionGrads<T>, Error> {
    check_backward((q, k, v), mask, fwd, d_out, block)?;
    let (n_q, n_k) = (q.nrows(), k.nrows());
    let scale = T::one() / lit::<T>(q.ncols() as f64).sqrt();
    // D_i: n_q · d_v products instead of the n_q · n_k of rowsum(P ⊙ dP).
    let d = d_out.component_mul(&fwd.output).column_sum();
    let mut d_q = DMatrix::zeros(n_q, q.ncols());
    let mut d_k = DMatrix::zeros(n_k, k.ncols());
    let mut d_v = DMatrix::zeros(n_k, v.ncols());
    for j0 in (0..n_k).step_by(block) {
        let b_k = block.min(n_k - j0);
        let (k_j, v_j) = (k.rows(j0, b_k), v.rows(j0, b_k));
        for i0 in (0..n_q).step_by(block) {
            let b_q = block.min(n_q - i0);
            let (q_i, d_out_i) = (q.rows(i0, b_q), d_out.rows(i0, b_q));
            let mut s = q_i * k_j.transpose() * scale;
            if let Some(mask) = mask {
                s += mask.view((i0, j0), (b_q, b_k));
            }
            // The block of weights, recomputed: P = exp(S − LSE).
            let p = DMatrix::from_fn(b_q, b_k, |r, c| {
                (s[(r, c)] - fwd.lse[i0 + r]).exp()
            });
            let d_p = d_out_i * v_j.transpose();
            let d_s = DMatrix::from_fn(b_q, b_k, |r, c| {
                p[(r, c)] * (d_p[(r, c)] - d[i0 + r])
            });
            let mut d_v_j = d_v.rows_mut(j0, b_k);
            d_v_j += p.transpose() * d_out_i;
            let mut d_q_i = d_q.rows_mut(i0, b_q);
            d_q_i += &d_s * k_j * scale;
            let mut d_k_j = d_k.rows_mut(j0, b_k);
            d_k_j += d_s.transpose() * q_i * scale;
        }
    }
    Ok(AttentionGrads { d_q, d_k, d_v })
}
// ANCHOR_END: attention_blocked_backward

/// Bytes of the matrices that attention holds while it runs, besides its
/// arguments and its output: the count behind the book's figure of peak
/// memory against `n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkingSet {
    /// [`attention`](crate::attention::attention): `S` and `P`, each
    /// `n_q × n_k` (it returns both, for the backward pass).
    pub unfused: usize,
    /// [`attention_blocked`]: one block of scores and one of weights
    /// (`b_q × b_k` each), the unnormalized output of a block of queries
    /// (`b_q × d_v`), `m` and `ℓ` (`b_q` each), and the `n_q` log-sum-exps
    /// it returns.
    pub fused: usize,
}

/// [`WorkingSet`] of attention in `T` with `n_q` queries, `n_k` keys,
/// values of width `d_v` and blocks of `block`: a count of entries times
/// `size_of::<T>()`, the same for every input of these shapes.
pub fn working_set<T>(
    n_q: usize,
    n_k: usize,
    d_v: usize,
    block: usize,
) -> WorkingSet {
    let size = std::mem::size_of::<T>();
    let (b_q, b_k) = (block.min(n_q), block.min(n_k));
    WorkingSet {
        unfused: 2 * n_q * n_k * size,
        fused: (2 * b_q * b_k + b_q * d_v + 2 * b_q + n_q) * size,
    }
}

// ---- The fast variants ---------------------------------------------------

/// A matrix stored column by column with leading dimension `ld`: rows
/// `r0 .. r0 + rows` of it as an nalgebra view, plain or transposed
/// (no copy, only the strides differ).
fn rows_of<T: Real>(m: &DMatrix<T>, r0: usize, rows: usize) -> View<'_, T> {
    View::from_slice_with_strides(
        &m.as_slice()[r0..],
        rows,
        m.ncols(),
        1,
        m.nrows(),
    )
}

fn rows_of_t<T: Real>(m: &DMatrix<T>, r0: usize, rows: usize) -> View<'_, T> {
    View::from_slice_with_strides(
        &m.as_slice()[r0..],
        m.ncols(),
        rows,
        m.nrows(),
        1,
    )
}

/// A `rows × cols` column-major buffer as a view, plain or transposed.
fn buf_view<T: Real>(buf: &[T], rows: usize, cols: usize) -> View<'_, T> {
    View::from_slice_with_strides(&buf[..rows * cols], rows, cols, 1, rows)
}

fn buf_view_t<T: Real>(buf: &[T], rows: usize, cols: usize) -> View<'_, T> {
    View::from_slice_with_strides(&buf[..rows * cols], cols, rows, rows, 1)
}

/// `c = α a b` into the first `rows × cols` entries of `c`.
fn product_into<T: Real>(
    c: &mut [T],
    (rows, cols): (usize, usize),
    alpha: T,
    a: &View<T>,
    b: &View<T>,
) {
    let mut cv = ViewMut::from_slice_with_strides_mut(
        &mut c[..rows * cols],
        rows,
        cols,
        1,
        rows,
    );
    product(&mut cv, alpha, a, b);
}

/// Whether any query of the block of queries `i0 .. i0 + b_q` sees any
/// key of the block `j0 .. j0 + b_k` (else the pair may be skipped): by
/// index for the causal mask (the block's last query sees the keys up to
/// its own index), by reading the block of any other additive mask.
fn seen<T: Real>(
    mask: MaskKind<T>,
    (i0, j0): (usize, usize),
    (b_q, b_k): (usize, usize),
) -> bool {
    match mask {
        MaskKind::None => true,
        MaskKind::Causal => j0 < i0 + b_q,
        MaskKind::Additive(m) => {
            // Each column without a branch per entry (so it is
            // vectorized); stop at the first open column.
            let open = |c| {
                let col = mask_column(m, (i0, j0 + c), b_q);
                col.iter().fold(false, |a, x| a | x.is_finite())
            };
            (0..b_k).any(open)
        }
    }
}

/// Rows `i0 .. i0 + b_q` of column `j` of the mask `m`.
fn mask_column<T: Real>(
    m: &DMatrix<T>,
    (i0, j): (usize, usize),
    b_q: usize,
) -> &[T] {
    let start = j * m.nrows() + i0;
    &m.as_slice()[start..start + b_q]
}

/// Applies the mask to the column-major block of scores `s` of queries
/// `i0 .. i0 + b_q` and keys `j0 .. j0 + b_k`. The causal mask is applied
/// by index and never read: query `i0 + r` sees key `j0 + c` only if
/// `j0 + c ≤ i0 + r`, so only a block that reaches above the diagonal
/// (`j0 + b_k − 1 > i0`) has entries to set to `−∞`, the first
/// `j0 + c − i0` of column `c`. Any other mask is added entry by entry.
fn apply_mask<T: Real>(
    s: &mut [T],
    mask: MaskKind<T>,
    (i0, j0): (usize, usize),
    (b_q, b_k): (usize, usize),
) {
    let columns = s.chunks_exact_mut(b_q).take(b_k).enumerate();
    match mask {
        MaskKind::None => {}
        MaskKind::Causal if j0 + b_k <= i0 + 1 => {} // below the diagonal
        MaskKind::Causal => {
            for (c, s_col) in columns {
                let hidden = (j0 + c).saturating_sub(i0).min(b_q);
                s_col[..hidden].fill(neg_inf());
            }
        }
        MaskKind::Additive(m) => {
            for (c, s_col) in columns {
                let m_col = mask_column(m, (i0, j0 + c), b_q);
                for (s_rc, &m_rc) in s_col.iter_mut().zip(m_col) {
                    *s_rc += m_rc;
                }
            }
        }
    }
}

/// One step (2.24) for every row of a block of scores at once, one
/// contiguous column at a time (vectorized across the rows), with the
/// exponential `exp` for arguments `≤ 0`. `s` (column-major, `b_q` rows)
/// is overwritten with `exp(S − m_new)`; `stats` holds the running maxima
/// `m`, the running sums `ℓ` and, afterwards, the factors
/// `exp(m_old − m_new)` by which the caller rescales its output, `b_q`
/// numbers each.
#[inline(always)]
fn online_block<T: Real>(
    (s, stats): (&mut [T], &mut [T]),
    exp: impl Fn(T) -> T,
) {
    let b_q = stats.len() / 3;
    let (m, rest) = stats.split_at_mut(b_q);
    let (l, factor) = rest.split_at_mut(b_q);
    // The new maxima, kept in `factor` for now.
    factor.copy_from_slice(m);
    for col in s.chunks_exact(b_q) {
        for (mx, &x) in factor.iter_mut().zip(col) {
            *mx = mx.max(x);
        }
    }
    // A row whose keys are all masked so far keeps m = −∞; it subtracts 0
    // instead, so that exp(−∞ − 0) = 0 and no −∞ − (−∞) = NaN arises.
    let safe = |x: T| if x == neg_inf() { T::zero() } else { x };
    for ((m_r, f_r), l_r) in
        m.iter_mut().zip(factor.iter_mut()).zip(l.iter_mut())
    {
        let m_new = *f_r;
        *f_r = exp(*m_r - safe(m_new));
        *l_r *= *f_r;
        *m_r = m_new;
    }
    for col in s.chunks_exact_mut(b_q) {
        for ((x, &m_r), l_r) in col.iter_mut().zip(&*m).zip(l.iter_mut()) {
            *x = exp(*x - safe(m_r));
            *l_r += *x;
        }
    }
}

#[inline(always)]
fn online_f32(args: (&mut [f32], &mut [f32])) {
    online_block(args, crate::primitives::exp_f32)
}

/// [`online_block`] on the first `b_q · b_k` entries of `s` and the first
/// `3 b_q` of `stats`: with the widest vectors the CPU has and the
/// vectorized exponential in f32, with `T::exp` otherwise.
// `Vec`s, not slices: only a sized type can be downcast to f32.
#[allow(clippy::ptr_arg)]
fn online<T: Real>(s: &mut Vec<T>, stats: &mut Vec<T>, b_q: usize, b_k: usize) {
    let (s_any, stats_any): (&mut dyn Any, &mut dyn Any) = (s, stats);
    if let (Some(s), Some(stats)) = (
        s_any.downcast_mut::<Vec<f32>>(),
        stats_any.downcast_mut::<Vec<f32>>(),
    ) {
        let args = (&mut s[..b_q * b_k], &mut stats[..3 * b_q]);
        machine::wide!(online_f32(args): (&mut [f32], &mut [f32]) => ());
        return;
    }
    let s = s_any.downcast_mut::<Vec<T>>().unwrap();
    let stats = stats_any.downcast_mut::<Vec<T>>().unwrap();
    online_block((&mut s[..b_q * b_k], &mut stats[..3 * b_q]), |x: T| x.exp());
}

/// [`attention_blocked`], computed faster, with the same arguments and
/// result: each block's products go through [`crate::gemm`] with the
/// operands read in place (`Q` and `K` by row blocks, `Kᵀ` as a view),
/// the online softmax (2.24) runs down the columns of the column-major
/// block of scores, vectorized across its queries (in f32 with the
/// vectorized exponential [`exp_f32`](crate::primitives::exp_f32)), and a
/// block of keys that the mask hides from every query of the block is
/// skipped. The causal mask (2.5) is recognized when the mask is checked
/// and from then on applied by index, never read again: a block of
/// queries visits only the blocks of keys up to its last query, and only
/// the blocks on the diagonal get `−∞` entries. Any other mask is added
/// block by block.
///
/// # Errors
/// Those of [`attention_blocked`].
pub fn attention_blocked_fast<T: Real>(
    q: &DMatrix<T>,
    k: &DMatrix<T>,
    v: &DMatrix<T>,
    mask: Option<&DMatrix<T>>,
    block: usize,
) -> Result<BlockedAttention<T>, Error> {
    let mask = check(q, k, v, mask, block)?;
    let (n_q, n_k, d_v) = (q.nrows(), k.nrows(), v.ncols());
    let scale = T::one() / lit::<T>(q.ncols() as f64).sqrt();
    let (b_max_q, b_max_k) = (block.min(n_q), block.min(n_k));
    let mut s = vec![T::zero(); b_max_q * b_max_k];
    let mut pv = vec![T::zero(); b_max_q * d_v];
    let mut o = vec![T::zero(); b_max_q * d_v];
    // m, ℓ and the rescaling factors of a block of queries.
    let mut stats = vec![T::zero(); 3 * b_max_q];
    let mut output = DMatrix::zeros(n_q, d_v);
    let mut lse = DVector::zeros(n_q);
    for i0 in (0..n_q).step_by(block) {
        let b_q = block.min(n_q - i0);
        stats[..b_q].fill(neg_inf());
        stats[b_q..3 * b_q].fill(T::zero());
        o[..b_q * d_v].fill(T::zero());
        // With the causal mask the block's last query, i0 + b_q − 1, sees
        // the keys up to its own index: the blocks of keys beyond are not
        // even visited.
        let keys = match mask {
            MaskKind::Causal => n_k.min(i0 + b_q),
            _ => n_k,
        };
        for j0 in (0..keys).step_by(block) {
            let b_k = block.min(keys - j0);
            if !seen(mask, (i0, j0), (b_q, b_k)) {
                continue; // no query of the block sees these keys
            }
            let (q_i, k_t) = (rows_of(q, i0, b_q), rows_of_t(k, j0, b_k));
            product_into(&mut s, (b_q, b_k), scale, &q_i, &k_t);
            apply_mask(&mut s, mask, (i0, j0), (b_q, b_k));
            online(&mut s, &mut stats, b_q, b_k);
            let (p, v_j) = (buf_view(&s, b_q, b_k), rows_of(v, j0, b_k));
            product_into(&mut pv, (b_q, d_v), T::one(), &p, &v_j);
            // Õ = diag(exp(m_old − m_new)) Õ + P V_j, column by column.
            let factor = &stats[2 * b_q..3 * b_q];
            let cols = o.chunks_exact_mut(b_q).zip(pv.chunks_exact(b_q));
            for (o_col, pv_col) in cols.take(d_v) {
                for ((o_r, &pv_r), &f_r) in
                    o_col.iter_mut().zip(pv_col).zip(factor)
                {
                    *o_r = *o_r * f_r + pv_r;
                }
            }
        }
        let (m, l) = (&stats[..b_q], &stats[b_q..2 * b_q]);
        let out = output.as_mut_slice();
        for (c, o_col) in o.chunks_exact(b_q).take(d_v).enumerate() {
            let out_col = &mut out[c * n_q + i0..c * n_q + i0 + b_q];
            for ((y, &o_r), &l_r) in out_col.iter_mut().zip(o_col).zip(l) {
                *y = o_r / l_r;
            }
        }
        let lse_i = lse.rows_mut(i0, b_q);
        for ((x, &m_r), &l_r) in lse_i.into_iter().zip(m).zip(l) {
            *x = m_r + l_r.ln();
        }
    }
    Ok(BlockedAttention { output, lse })
}

/// `P = exp(S − LSE)` for a column-major block of scores, with the
/// exponential `exp` for arguments `≤ 0`.
#[inline(always)]
fn weights_block<T: Real>((s, lse): (&mut [T], &[T]), exp: impl Fn(T) -> T) {
    for col in s.chunks_exact_mut(lse.len()) {
        for (x, &lse_r) in col.iter_mut().zip(lse) {
            // S − LSE ≤ 0 up to rounding; min keeps it in exp's domain.
            *x = exp((*x - lse_r).min(T::zero()));
        }
    }
}

#[inline(always)]
fn weights_f32(args: (&mut [f32], &[f32])) {
    weights_block(args, crate::primitives::exp_f32)
}

/// [`weights_block`] on the first `b_q · b_k` entries of `p` with the
/// log-sum-exps `lse[i0 .. i0 + b_q]`, vectorized as [`online`] is.
#[allow(clippy::ptr_arg)]
fn weights<T: Real>(
    p: &mut Vec<T>,
    lse: &DVector<T>,
    i0: usize,
    (b_q, b_k): (usize, usize),
) {
    let (p_any, lse_any): (&mut dyn Any, &dyn Any) = (p, lse);
    if let (Some(p), Some(lse)) = (
        p_any.downcast_mut::<Vec<f32>>(),
        lse_any.downcast_ref::<DVector<f32>>(),
    ) {
        let args = (&mut p[..b_q * b_k], &lse.as_slice()[i0..i0 + b_q]);
        machine::wide!(weights_f32(args): (&mut [f32], &[f32]) => ());
        return;
    }
    let p = p_any.downcast_mut::<Vec<T>>().unwrap();
    let lse = &lse.as_slice()[i0..i0 + b_q];
    weights_block((&mut p[..b_q * b_k], lse), |x: T| x.exp());
}

/// `acc += x`, entry by entry, for `rows × cols` column-major `x` added to
/// rows `r0 .. r0 + rows` of `acc`.
fn add_rows<T: Real>(acc: &mut DMatrix<T>, r0: usize, x: &[T], rows: usize) {
    let ld = acc.nrows();
    for (c, x_col) in x.chunks_exact(rows).enumerate() {
        let a_col = &mut acc.as_mut_slice()[c * ld + r0..c * ld + r0 + rows];
        for (a, &x) in a_col.iter_mut().zip(x_col) {
            *a += x;
        }
    }
}

/// [`attention_blocked_backward`], computed faster, with the same
/// arguments and result: the products of each pair of blocks through
/// [`crate::gemm`] with transposes read as views, `exp(S − LSE)` and
/// `P ⊙ (∂L/∂P − D)` column by column (vectorized across the queries),
/// and blocks that the mask hides entirely skipped (those above the
/// diagonal of the causal mask without being visited, the mask applied
/// by index as in [`attention_blocked_fast`]).
///
/// # Errors
/// Those of [`attention_blocked_backward`].
pub fn attention_blocked_backward_fast<T: Real>(
    q: &DMatrix<T>,
    k: &DMatrix<T>,
    v: &DMatrix<T>,
    mask: Option<&DMatrix<T>>,
    fwd: &BlockedAttention<T>,
    d_out: &DMatrix<T>,
    block: usize,
) -> Result<AttentionGrads<T>, Error> {
    let mask = check_backward((q, k, v), mask, fwd, d_out, block)?;
    let (n_q, n_k, d_k, d_v) = (q.nrows(), k.nrows(), q.ncols(), v.ncols());
    let scale = T::one() / lit::<T>(d_k as f64).sqrt();
    // D_i = Σ_c ∂L/∂O_ic O_ic, column by column.
    let mut d = vec![T::zero(); n_q];
    let cols = d_out.as_slice().chunks_exact(n_q);
    for (g_col, o_col) in cols.zip(fwd.output.as_slice().chunks_exact(n_q)) {
        for ((d_i, &g), &o) in d.iter_mut().zip(g_col).zip(o_col) {
            *d_i += g * o;
        }
    }
    let (b_max_q, b_max_k) = (block.min(n_q), block.min(n_k));
    let mut p = vec![T::zero(); b_max_q * b_max_k];
    let mut d_s = vec![T::zero(); b_max_q * b_max_k];
    let mut tmp_k = vec![T::zero(); b_max_k * d_k.max(d_v)];
    let mut tmp_q = vec![T::zero(); b_max_q * d_k];
    let mut d_q = DMatrix::zeros(n_q, d_k);
    let mut d_kk = DMatrix::zeros(n_k, d_k);
    let mut d_vv = DMatrix::zeros(n_k, d_v);
    for j0 in (0..n_k).step_by(block) {
        let b_k = block.min(n_k - j0);
        // With the causal mask the queries before j0 see none of these
        // keys: their blocks are not even visited.
        let first = match mask {
            MaskKind::Causal => j0.min(n_q),
            _ => 0,
        };
        for i0 in (first..n_q).step_by(block) {
            let b_q = block.min(n_q - i0);
            if !seen(mask, (i0, j0), (b_q, b_k)) {
                continue;
            }
            let (q_i, g_i) = (rows_of(q, i0, b_q), rows_of(d_out, i0, b_q));
            let k_t = rows_of_t(k, j0, b_k);
            product_into(&mut p, (b_q, b_k), scale, &q_i, &k_t);
            apply_mask(&mut p, mask, (i0, j0), (b_q, b_k));
            weights(&mut p, &fwd.lse, i0, (b_q, b_k));
            let p = &p[..b_q * b_k];
            // ∂L/∂V_j += Pᵀ ∂L/∂O_i
            let p_t = buf_view_t(p, b_q, b_k);
            product_into(&mut tmp_k, (b_k, d_v), T::one(), &p_t, &g_i);
            add_rows(&mut d_vv, j0, &tmp_k[..b_k * d_v], b_k);
            // ∂L/∂P = ∂L/∂O_i V_jᵀ, then ∂L/∂S = P ⊙ (∂L/∂P − D).
            let d_s = &mut d_s[..b_q * b_k];
            let v_t = rows_of_t(v, j0, b_k);
            product_into(d_s, (b_q, b_k), T::one(), &g_i, &v_t);
            for (ds_col, p_col) in d_s.chunks_exact_mut(b_q).zip(p.chunks(b_q))
            {
                let d_i = &d[i0..i0 + b_q];
                for ((ds, &p_rc), &d_r) in ds_col.iter_mut().zip(p_col).zip(d_i)
                {
                    *ds = p_rc * (*ds - d_r);
                }
            }
            // ∂L/∂Q_i += ∂L/∂S K_j / √d_k, ∂L/∂K_j += (∂L/∂S)ᵀ Q_i / √d_k
            let (ds_v, k_j) = (buf_view(d_s, b_q, b_k), rows_of(k, j0, b_k));
            product_into(&mut tmp_q, (b_q, d_k), scale, &ds_v, &k_j);
            add_rows(&mut d_q, i0, &tmp_q[..b_q * d_k], b_q);
            let ds_t = buf_view_t(d_s, b_q, b_k);
            product_into(&mut tmp_k, (b_k, d_k), scale, &ds_t, &q_i);
            add_rows(&mut d_kk, j0, &tmp_k[..b_k * d_k], b_k);
        }
    }
    Ok(AttentionGrads {
        d_q,
        d_k: d_kk,
        d_v: d_vv,
    })
}
