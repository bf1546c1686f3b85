//! Exercise 1.7 / Aufgabe 1.7: `log_softmax_rows`, numerically stable.
//!
//! Write the logarithm of the softmax of every row of a matrix of logits
//! (one distribution per row), formula (1.17) applied row by row:
//!
//! ```text
//! log softmax(Z)_ij = (Z_ij − m_i) − log Σ_k exp(Z_ik − m_i),  m_i = max_k Z_ik
//! ```
//!
//! Subtract each row's maximum before `exp`, and never take the logarithm
//! of a softmax: logits such as `(1000, 0, −1000)` must give finite
//! numbers, and an entry `−∞` gets the log-probability `−∞`. Refuse an
//! empty matrix, a NaN or `+∞` entry, and a row whose entries are all
//! `−∞`, with an [`Error`]. Do not call `ch01_probability`'s
//! `log_softmax`: the tests compare with it.

use nalgebra::DMatrix;
use notation::{Error, Real};

/// The log-softmax of every row of `z`.
///
/// # Shapes
/// `z`: `(n, K)` with `n ≥ 1`, `K ≥ 1` → `(n, K)`, every entry `≤ 0`.
///
/// # Errors
/// `z` has no rows or no columns ([`Error::Empty`]); an entry is NaN or
/// `+∞` ([`Error::NotFinite`]); a row is `−∞` everywhere
/// ([`Error::Domain`]).
pub fn log_softmax_rows<T: Real>(z: &DMatrix<T>) -> Result<DMatrix<T>, Error> {
    todo!("subtract each row's maximum, then log-sum-exp")
}
