//! Masks: which keys a query may attend to, as an additive matrix `M` with
//! entries `0` (attend) and `−∞` (do not attend), added to the scores
//! before the softmax (formula (2.4)).
//!
//! Book: section „Masken“ / "Masks" of chapter 2.

use nalgebra::DMatrix;
use notation::{Error, Real};

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
        return Err(Error::Shape {
            what: "padding mask",
            expected: "at least one real token among the keys".into(),
            got: format!("{} keys, all padding", is_token.len()),
        });
    }
    let minus_inf = T::min_value().unwrap() * (T::one() + T::one());
    Ok(DMatrix::from_fn(n_q, is_token.len(), |_, j| {
        if is_token[j] { T::zero() } else { minus_inf }
    }))
}
// ANCHOR_END: masks
