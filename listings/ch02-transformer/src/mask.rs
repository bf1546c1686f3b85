//! Masks: which keys a query may attend to, as an additive matrix `M` with
//! entries `0` (attend) and `−∞` (do not attend), added to the scores
//! before the softmax (formula (2.4)).
//!
//! Book: section „Masken“ / "Masks" of chapter 2.

use nalgebra::DMatrix;
use notation::{Error, Real};

use crate::primitives::neg_inf;

// ANCHOR: masks
/// The causal mask of a decoder: token `i` may attend to tokens `j ≤ i`
/// only, never to later ones.
///
/// ```text
/// M_ij = 0 if j ≤ i,   M_ij = −∞ if j > i                      (2.5)
/// ```
///
/// # Shapes
/// `n` tokens → `(n, n)`.
///
/// # Book
/// Formel (2.5) in Kapitel 2, „Masken“ / formula (2.5) in chapter 2,
/// "Masks".
///
/// # Errors
/// `n = 0`.
pub fn causal_mask<T: Real>(n: usize) -> Result<DMatrix<T>, Error> {
    if n == 0 {
        return Err(Error::Empty {
            what: "causal mask (n tokens)",
        });
    }
    let minus_inf = T::min_value().unwrap() * (T::one() + T::one());
    // min_value · 2 overflows to −∞ in IEEE arithmetic, for f32 and f64.
    Ok(DMatrix::from_fn(n, n, |i, j| {
        if j <= i { T::zero() } else { minus_inf }
    }))
}

/// A padding mask: every one of `n_q` queries may attend to the real
/// tokens (`is_token[j] == true`) and to none of the padding.
///
/// ```text
/// M_ij = 0 if key j is a token,   M_ij = −∞ if key j is padding   (2.6)
/// ```
///
/// Masks combine by addition: `causal_mask(n) + padding_mask(n, ..)`
/// forbids both (`0 + (−∞) = −∞`).
///
/// # Shapes
/// `n_q` queries, `is_token` with `n_k` entries → `(n_q, n_k)`.
///
/// # Book
/// Formel (2.6) in Kapitel 2, „Masken“ / formula (2.6) in chapter 2,
/// "Masks".
///
/// # Errors
/// `n_q = 0`, `is_token` empty, or every key is padding (then no query
/// has anything to attend to).
pub fn padding_mask<T: Real>(
    n_q: usize,
    is_token: &[bool],
) -> Result<DMatrix<T>, Error> {
    if n_q == 0 || is_token.is_empty() {
        return Err(Error::Empty {
            what: "padding mask (n_q queries, n_k keys)",
        });
    }
    if !is_token.contains(&true) {
        return Err(Error::Domain {
            what: "padding mask: real tokens among the keys",
            requirement: "at least one (all keys are padding)",
            value: 0.0,
        });
    }
    let minus_inf = T::min_value().unwrap() * (T::one() + T::one());
    Ok(DMatrix::from_fn(n_q, is_token.len(), |_, j| {
        if is_token[j] { T::zero() } else { minus_inf }
    }))
}
// ANCHOR_END: masks

/// What [`check_mask`] found: which keys each query may see, in the form
/// the fast kernels use.
#[derive(Clone, Copy, Debug)]
pub(crate) enum MaskKind<'a, T: Real> {
    /// No mask: every query sees every key.
    None,
    /// The causal mask (2.5): query `i` sees the keys `j ≤ i`. The
    /// kernels apply it without reading it and skip the keys no query of
    /// a block may see.
    Causal,
    /// Any other additive mask `M` of shape `(n_q, n_k)`.
    Additive(&'a DMatrix<T>),
}

/// Checks an additive mask for `n_q` queries and `n_k` keys, for the
/// readable attention and the fast one alike: shape `(n_q, n_k)`, no NaN
/// and no `+∞`, and every query sees at least one key (a row of `−∞`
/// leaves no distribution to take a mean with). Reads `M` column by
/// column, the order in which nalgebra stores it, and reports the first
/// bad entry in reading order (row by row), as the softmax of chapter 1
/// would. Tells the causal mask (2.5) apart from any other.
pub(crate) fn check_mask<'a, T: Real>(
    mask: Option<&'a DMatrix<T>>,
    (n_q, n_k): (usize, usize),
) -> Result<MaskKind<'a, T>, Error> {
    let Some(m) = mask else {
        return Ok(MaskKind::None);
    };
    notation::shape::shape("mask M", m, (n_q, n_k), "n_q queries, n_k keys")?;
    if is_causal(m) {
        // No NaN, no +∞, and every query sees key 0.
        return Ok(MaskKind::Causal);
    }
    // Per row: the first column with a NaN or +∞, and whether it sees a key.
    let mut first_bad: Vec<Option<usize>> = vec![None; n_q];
    let mut sees_a_key = vec![false; n_q];
    for (j, col) in m.as_slice().chunks_exact(n_q.max(1)).enumerate() {
        for (i, &m_ij) in col.iter().enumerate() {
            let value: f64 = m_ij.into();
            if value.is_nan() || value == f64::INFINITY {
                first_bad[i].get_or_insert(j);
            }
            sees_a_key[i] |= value > f64::NEG_INFINITY;
        }
    }
    for (i, (bad, sees)) in first_bad.iter().zip(&sees_a_key).enumerate() {
        if let Some(j) = *bad {
            return Err(Error::NotFinite {
                what: "mask M",
                index: i * n_k + j,
                value: m[(i, j)].into(),
            });
        }
        if !sees {
            return Err(Error::Domain {
                what: "a row of mask M",
                requirement: "at least one entry > −∞ (a key to attend to)",
                value: f64::NEG_INFINITY,
            });
        }
    }
    Ok(MaskKind::Additive(m))
}

/// Whether `m` is the causal mask (2.5): `−∞` above the diagonal, `0` on
/// and below it. Compared in `T`, one contiguous column at a time without
/// a branch per entry, so that the loops are vectorized: for a large mask
/// this read costs about as much as copying it once. Stops at the first
/// column that differs.
fn is_causal<T: Real>(m: &DMatrix<T>) -> bool {
    let (n_q, minus_inf) = (m.nrows(), neg_inf::<T>());
    let columns = m.as_slice().chunks_exact(n_q.max(1)).enumerate();
    columns.into_iter().all(|(j, col)| {
        let (above, rest) = col.split_at(j.min(n_q));
        let above_ok = above.iter().fold(true, |a, &x| a & (x == minus_inf));
        above_ok & rest.iter().fold(true, |a, &x| a & (x == T::zero()))
    })
}
