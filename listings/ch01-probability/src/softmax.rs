//! Softmax: from logits to a probability distribution.
//!
//! Book: section „Softmax“ / "Softmax" of chapter 1.

use nalgebra::{DMatrix, DVector};
use notation::{Error, Real, shape};

// ANCHOR: softmax
/// Turns logits `z` into probabilities that are positive and sum to 1.
///
/// ```text
/// softmax(z)_i = exp(z_i) / Σ_j exp(z_j)                      (1.15)
///              = exp(z_i − m) / Σ_j exp(z_j − m),   m = max_j z_j
/// ```
///
/// # Shapes
/// `z`: `K ≥ 1` logits → `K` probabilities.
///
/// # Book
/// Formel (1.15) in Kapitel 1, „Softmax“ / formula (1.15) in chapter 1,
/// "Softmax".
///
/// # Errors
/// `z` is empty, holds a NaN or `+∞`, or every entry is `−∞` (then no
/// distribution exists). Entries equal to `−∞` are allowed and get
/// probability 0, which is how masks work in chapter 2.
///
/// # Example
/// ```
/// use ch01_probability::softmax::softmax;
/// use nalgebra::dvector;
///
/// let p = softmax(&dvector![0.0_f64, 0.0]).unwrap();
/// assert_eq!(p, dvector![0.5, 0.5]);
/// ```
pub fn softmax<T: Real>(z: &DVector<T>) -> Result<DVector<T>, Error> {
    let m = max_logit("logits z", z.iter().copied())?;
    // Subtracting the maximum m changes nothing mathematically (the factor
    // exp(−m) cancels between numerator and denominator), but every
    // exponent is now ≤ 0: exp cannot overflow, and the largest term is
    // exactly exp(0) = 1, so the sum cannot underflow to 0 either.
    let e = z.map(|z_i| (z_i - m).exp());
    let sum = e.sum();
    Ok(e / sum)
}
// ANCHOR_END: softmax

// ANCHOR: softmax_temperature
/// Softmax of the logits divided by a temperature `t > 0`.
///
/// ```text
/// softmax(z / T)_i = exp(z_i / T) / Σ_j exp(z_j / T)          (1.16)
/// ```
///
/// `T < 1` sharpens the distribution towards the largest logit, `T > 1`
/// flattens it towards the uniform distribution; `T = 1` is [`softmax`].
///
/// # Shapes
/// `z`: `K ≥ 1` logits → `K` probabilities.
///
/// # Book
/// Formel (1.16) in Kapitel 1, „Softmax“ / formula (1.16) in chapter 1,
/// "Softmax".
///
/// # Errors
/// Those of [`softmax`], and `t` that is not a positive finite number.
pub fn softmax_with_temperature<T: Real>(
    z: &DVector<T>,
    t: T,
) -> Result<DVector<T>, Error> {
    // Written as "t is a positive finite number" so that NaN, for which
    // every comparison is false, is refused too.
    let valid = t > T::zero() && t.is_finite();
    if !valid {
        return Err(Error::Domain {
            what: "temperature T",
            requirement: "0 < T < ∞",
            value: t.into(),
        });
    }
    softmax(&(z / t))
}
// ANCHOR_END: softmax_temperature

// ANCHOR: softmax_rows
/// Softmax of every row of `s` (one distribution per row, e.g. one per
/// query in attention).
///
/// ```text
/// softmax(S)_ij = exp(S_ij − m_i) / Σ_k exp(S_ik − m_i),   m_i = max_k S_ik
/// ```
///
/// # Shapes
/// `s`: `(n, K)` with `n ≥ 1` rows of `K ≥ 1` logits → `(n, K)`.
///
/// # Book
/// Formel (1.15), zeilenweise angewandt / formula (1.15), applied row by
/// row.
///
/// # Errors
/// Those of [`softmax`], for the first row that has one.
pub fn softmax_rows<T: Real>(s: &DMatrix<T>) -> Result<DMatrix<T>, Error> {
    if s.nrows() == 0 {
        return Err(Error::Empty { what: "matrix S" });
    }
    let mut p = s.clone();
    for mut row in p.row_iter_mut() {
        let m = max_logit("a row of S", row.iter().copied())?;
        // Same stabilisation as in `softmax`, row by row.
        row.apply(|s_ij| *s_ij = (*s_ij - m).exp());
        let sum = row.sum();
        row /= sum;
    }
    Ok(p)
}
// ANCHOR_END: softmax_rows

// ANCHOR: softmax_backward
/// Backward pass of the row-wise softmax `P = softmax(S)`: from the
/// upstream gradient `∂L/∂P` (any scalar loss `L`) to `∂L/∂S`, the
/// Jacobian-vector product, without building the Jacobian.
///
/// ```text
/// ∂L/∂S_ij = P_ij (∂L/∂P_ij − Σ_k P_ik ∂L/∂P_ik)               (2.19)
/// ```
///
/// # Shapes
/// `p`, `d_p`: `(n, K)` → `(n, K)`.
///
/// # Book
/// Formel (2.19) in Kapitel 2, „Rückwärts: die Gradienten“ / formula
/// (2.19) in chapter 2, "Backward: the gradients".
///
/// # Errors
/// `d_p` does not have the shape of `p`.
pub fn softmax_rows_backward<T: Real>(
    p: &DMatrix<T>,
    d_p: &DMatrix<T>,
) -> Result<DMatrix<T>, Error> {
    shape::shape("∂L/∂P", d_p, p.shape(), "the shape of P")?;
    // First P ⊙ ∂L/∂P; its row sums are the inner products Σ_k P_ik ∂L/∂P_ik.
    let mut d_s = p.component_mul(d_p);
    for (mut row, p_row) in d_s.row_iter_mut().zip(p.row_iter()) {
        let inner = row.sum();
        row -= p_row * inner;
    }
    Ok(d_s)
}
// ANCHOR_END: softmax_backward

/// The largest logit, after checking that a distribution exists at all:
/// at least one entry, no NaN, no `+∞`, not every entry `−∞`.
pub(crate) fn max_logit<T: Real>(
    what: &'static str,
    z: impl IntoIterator<Item = T>,
) -> Result<T, Error> {
    let mut max: Option<T> = None;
    for (index, z_i) in z.into_iter().enumerate() {
        let value: f64 = z_i.into();
        if value.is_nan() || value == f64::INFINITY {
            return Err(Error::NotFinite { what, index, value });
        }
        max = Some(match max {
            Some(m) if m >= z_i => m,
            _ => z_i,
        });
    }
    let max = max.ok_or(Error::Empty { what })?;
    if Into::<f64>::into(max) == f64::NEG_INFINITY {
        return Err(Error::Domain {
            what,
            requirement: "at least one entry > −∞",
            value: f64::NEG_INFINITY,
        });
    }
    Ok(max)
}
