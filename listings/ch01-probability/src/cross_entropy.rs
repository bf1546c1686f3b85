//! Cross-entropy with logits: log-softmax via log-sum-exp, the loss of a
//! class index, its gradient, and perplexity.
//!
//! Book: section „Kreuzentropie mit Logits“ / "Cross-entropy with logits"
//! of chapter 1.

use nalgebra::{DMatrix, DVector};
use notation::{Error, Real, lit};

use crate::check::{check_classes, check_distribution};
use crate::softmax::{max_logit, softmax};

// ANCHOR: log_softmax
/// The logarithm of the softmax, computed without ever forming the
/// softmax itself.
///
/// ```text
/// log softmax(z)_i = z_i − LSE(z),
/// LSE(z) = log Σ_j exp(z_j) = m + log Σ_j exp(z_j − m),  m = max_j z_j
///                                                                 (1.17)
/// ```
///
/// # Shapes
/// `z`: `K ≥ 1` logits → `K` log-probabilities (each ≤ 0).
///
/// # Book
/// Formel (1.17) in Kapitel 1, „Kreuzentropie mit Logits“ / formula
/// (1.17) in chapter 1, "Cross-entropy with logits".
///
/// # Errors
/// Those of the softmax (1.15): `z` empty, NaN, `+∞`, or all `−∞`.
pub fn log_softmax<T: Real>(z: &DVector<T>) -> Result<DVector<T>, Error> {
    let (m, log_s) = shifted_log_sum_exp(z)?;
    // (z_i − m) − log s, never log(softmax(z)_i): the softmax underflows
    // to 0 once z_i is about 745 below the maximum, and log 0 = −∞,
    // although the true value is an ordinary number. Subtracting m first
    // also keeps the digits that m + log s − z_i would lose for large m.
    Ok(z.map(|z_i| (z_i - m) - log_s))
}

/// `LSE(z) = log Σ_j exp(z_j)` (1.17).
///
/// # Errors
/// Those of [`log_softmax`].
pub fn log_sum_exp<T: Real>(z: &DVector<T>) -> Result<T, Error> {
    let (m, log_s) = shifted_log_sum_exp(z)?;
    Ok(m + log_s)
}

/// The maximum `m` and `log s` with `s = Σ_j exp(z_j − m)`, stabilised
/// as in the softmax: every exponent is ≤ 0, so exp cannot overflow, and
/// `s ≥ 1` (the maximum contributes exp(0) = 1), so log never sees 0.
fn shifted_log_sum_exp<T: Real>(z: &DVector<T>) -> Result<(T, T), Error> {
    let m = max_logit("logits z", z.iter().copied())?;
    let s = z.iter().fold(T::zero(), |acc, &z_j| acc + (z_j - m).exp());
    Ok((m, s.ln()))
}
// ANCHOR_END: log_softmax

/// Backward pass of [`log_softmax`]: from the log-probabilities
/// `log_p = log softmax(z)` and the upstream gradient `∂L/∂log_p` (any
/// scalar loss `L`) to `∂L/∂z`.
///
/// ```text
/// ∂ log softmax(z)_i / ∂z_j = δ_ij − softmax(z)_j, so
/// ∂L/∂z_j = ∂L/∂log_p_j − softmax(z)_j Σ_i ∂L/∂log_p_i
/// ```
///
/// `softmax(z) = exp(log_p)` needs no second pass over `z`.
///
/// # Shapes
/// `log_p`, `d_log_p`: `K` entries → `K` entries.
///
/// # Errors
/// `d_log_p` does not have the length of `log_p`.
pub fn log_softmax_backward<T: Real>(
    log_p: &DVector<T>,
    d_log_p: &DVector<T>,
) -> Result<DVector<T>, Error> {
    if d_log_p.len() != log_p.len() {
        return Err(Error::Shape {
            what: "∂L/∂log_p",
            expected: format!("{} entries, as log_p", log_p.len()),
            got: format!("{} entries", d_log_p.len()),
        });
    }
    let total = d_log_p.sum();
    Ok(d_log_p - log_p.map(|l| l.exp()) * total)
}

// ANCHOR: cross_entropy_logits
/// The loss of one sample with logits `z` and true class `y`, and its
/// gradient with respect to the logits.
///
/// ```text
/// ℓ(z, y) = −log softmax(z)_y = LSE(z) − z_y                      (1.18)
/// ∂ℓ/∂z   = softmax(z) − e_y     (e_y: one-hot vector of class y) (1.19)
/// ```
///
/// # Shapes
/// `z`: `K ≥ 1` logits, `y < K` → `(ℓ, ∂ℓ/∂z)` with `∂ℓ/∂z` of length `K`.
///
/// # Book
/// Formeln (1.18) und (1.19) in Kapitel 1, „Kreuzentropie mit Logits“ /
/// formulas (1.18) and (1.19) in chapter 1, "Cross-entropy with logits".
///
/// # Errors
/// Those of [`log_softmax`], and `y ≥ K`. A true class with logit `−∞`
/// gives `ℓ = +∞`: the model excluded what happened.
pub fn cross_entropy_with_logits<T: Real>(
    z: &DVector<T>,
    y: usize,
) -> Result<(T, DVector<T>), Error> {
    check_classes("class index y", &[y], z.len())?;
    // LSE(z) − z_y as log s − (z_y − m), for the reason given in
    // `log_softmax`.
    let (m, log_s) = shifted_log_sum_exp(z)?;
    let loss = log_s - (z[y] - m);
    let mut grad = softmax(z)?;
    grad[y] -= T::one();
    Ok((loss, grad))
}
// ANCHOR_END: cross_entropy_logits

/// The cross-entropy (1.11) of a target distribution `p` (soft labels)
/// and the model's `softmax(z)`, from the logits, and its gradient with
/// respect to the logits.
///
/// ```text
/// ℓ(z, p) = H(p, softmax(z)) = −Σ_i p_i log softmax(z)_i
/// ∂ℓ/∂z   = softmax(z) Σ_i p_i − p = softmax(z) − p
/// ```
///
/// With `p = e_y` (one-hot) this is [`cross_entropy_with_logits`]. The
/// gradient is the backward pass of [`log_softmax`] with upstream
/// gradient `−p`. A term with `p_i = 0` is 0 also where
/// `log softmax(z)_i = −∞` (the convention `0 log 0 = 0` of the entropy).
///
/// # Shapes
/// `z`: `K ≥ 1` logits, `p`: `K` probabilities → `(ℓ, ∂ℓ/∂z)` with
/// `∂ℓ/∂z` of length `K`.
///
/// # Errors
/// Those of [`log_softmax`]; `p` not of length `K`; `p` not a
/// distribution: an entry that is negative (a domain error), NaN or
/// infinite, or entries that do not sum to 1.
pub fn cross_entropy_soft<T: Real>(
    z: &DVector<T>,
    p: &DVector<T>,
) -> Result<(T, DVector<T>), Error> {
    if p.len() != z.len() {
        return Err(Error::Shape {
            what: "target distribution p",
            expected: format!("{} entries, one per logit", z.len()),
            got: format!("{} entries", p.len()),
        });
    }
    check_distribution("target distribution p", p)?;
    let log_q = log_softmax(z)?;
    let loss = p
        .iter()
        .zip(log_q.iter())
        .filter(|&(&p_i, _)| p_i > T::zero())
        .fold(T::zero(), |acc, (&p_i, &l_i)| acc - p_i * l_i);
    let grad = log_softmax_backward(&log_q, &(-p))?;
    Ok((loss, grad))
}

// ANCHOR: cross_entropy_rows
/// The average loss (1.18) over `N` samples, one row of logits per
/// sample, its gradient, and the perplexity.
///
/// ```text
/// J(Z) = (1/N) Σ_i ℓ(z_i, y_i),   ∂J/∂Z = (1/N) (softmax(Z) − Y)
/// PPL  = exp(J)                                                   (1.20)
/// ```
///
/// `Y` is the one-hot matrix of the classes: row `i` is `e_{y_i}`.
///
/// # Shapes
/// `z`: `(N, K)`, `y`: `N` indices in `0..K` → `(J, ∂J/∂Z)`, the
/// gradient of shape `(N, K)`.
///
/// # Book
/// Formel (1.20) in Kapitel 1, „Kreuzentropie mit Logits“ / formula (1.20)
/// in chapter 1, "Cross-entropy with logits".
///
/// # Errors
/// `z` has no rows, `y` has not `N` entries or an entry `≥ K`, or a row
/// fails [`log_softmax`].
pub fn cross_entropy_rows<T: Real>(
    z: &DMatrix<T>,
    y: &[usize],
) -> Result<(T, DMatrix<T>), Error> {
    let (n, k) = z.shape();
    if n == 0 {
        return Err(Error::Empty { what: "logits Z" });
    }
    if y.len() != n {
        return Err(Error::Shape {
            what: "class indices y",
            expected: format!("{n} entries, one per row of Z"),
            got: format!("{} entries", y.len()),
        });
    }
    check_classes("class indices y", y, k)?;
    let n_t = lit::<T>(n as f64);
    let mut loss = T::zero();
    let mut grad = DMatrix::zeros(n, k);
    for (i, &y_i) in y.iter().enumerate() {
        let (l, g) = cross_entropy_with_logits(&z.row(i).transpose(), y_i)?;
        loss += l;
        grad.set_row(i, &(g / n_t).transpose());
    }
    Ok((loss / n_t, grad))
}

/// Perplexity (1.20): `exp` of the average loss in nats, the effective
/// number of classes the model hesitates between.
///
/// # Errors
/// `mean_nll` is negative or NaN.
pub fn perplexity<T: Real>(mean_nll: T) -> Result<T, Error> {
    let value: f64 = mean_nll.into();
    if value.is_nan() || value < 0.0 {
        return Err(Error::Domain {
            what: "average NLL",
            requirement: "NLL ≥ 0",
            value,
        });
    }
    Ok(mean_nll.exp())
}
// ANCHOR_END: cross_entropy_rows
