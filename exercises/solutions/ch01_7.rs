//! Exercise 1.7 / Aufgabe 1.7: `log_softmax_rows`, numerically stable.
//!
//! Reference solution: formula (1.17) row by row, with each row's maximum
//! subtracted first.

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
    if z.is_empty() {
        return Err(Error::Empty { what: "logits Z" });
    }
    let k = z.ncols();
    let mut out = z.clone();
    for (i, mut row) in out.row_iter_mut().enumerate() {
        let mut m = T::zero();
        let mut seen = false;
        for (j, &z_ij) in row.iter().enumerate() {
            let value: f64 = z_ij.into();
            if value.is_nan() || value == f64::INFINITY {
                return Err(Error::NotFinite {
                    what: "logits Z",
                    index: i * k + j,
                    value,
                });
            }
            if !seen || z_ij > m {
                m = z_ij;
                seen = true;
            }
        }
        if Into::<f64>::into(m) == f64::NEG_INFINITY {
            return Err(Error::Domain {
                what: "a row of Z",
                requirement: "at least one entry > −∞",
                value: f64::NEG_INFINITY,
            });
        }
        // Every exponent z_ij − m is ≤ 0, so exp cannot overflow, and the
        // maximum contributes exp(0) = 1, so the sum is ≥ 1 and its log
        // is finite.
        let s = row
            .iter()
            .fold(T::zero(), |acc, &z_ij| acc + (z_ij - m).exp());
        let log_s = s.ln();
        // (z_ij − m) − log s, never log(softmax): the softmax of a logit
        // far below the maximum underflows to 0.
        row.apply(|z_ij| *z_ij = (*z_ij - m) - log_s);
    }
    Ok(out)
}
