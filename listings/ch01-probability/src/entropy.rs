//! Entropy, cross-entropy and Kullback-Leibler divergence of discrete
//! distributions, and the average NLL as a cross-entropy.
//!
//! Book: section „Entropie und Kreuzentropie“ / "Entropy and
//! cross-entropy" of chapter 1.

use nalgebra::DVector;
use notation::{Error, Real, lit};

use crate::check::{check_classes, check_distribution};
use crate::mle::categorical_mle;

// ANCHOR: entropy
/// The entropy of a distribution `p`: the average surprise `−log p_i`, in
/// nats.
///
/// ```text
/// H(p) = −Σ_i p_i log p_i,   with 0 · log 0 = 0                   (1.10)
/// ```
///
/// # Shapes
/// `p`: `K ≥ 1` probabilities → a scalar in `[0, log K]`.
///
/// # Book
/// Formel (1.10) in Kapitel 1, „Entropie und Kreuzentropie“ / formula
/// (1.10) in chapter 1, "Entropy and cross-entropy".
///
/// # Errors
/// `p` is not a distribution: empty, an entry negative or not finite, or
/// `|Σ p_i − 1| > √ε` (1.5e-8 in `f64`).
pub fn entropy<T: Real>(p: &DVector<T>) -> Result<T, Error> {
    check_distribution("distribution p", p)?;
    Ok(-sum_p_log(p, p))
}
// ANCHOR_END: entropy

// ANCHOR: cross_entropy
/// The cross-entropy of a model `q` relative to the data distribution `p`:
/// the average surprise `−log q_i` when samples come from `p`.
///
/// ```text
/// H(p, q) = −Σ_i p_i log q_i                                      (1.11)
/// ```
///
/// `+∞` if some `p_i > 0` has `q_i = 0`: the model calls possible data
/// impossible.
///
/// # Shapes
/// `p`, `q`: `K ≥ 1` probabilities each → a scalar.
///
/// # Book
/// Formel (1.11) in Kapitel 1, „Entropie und Kreuzentropie“ / formula
/// (1.11) in chapter 1, "Entropy and cross-entropy".
///
/// # Errors
/// Those of [`entropy`] for `p` and `q`, or different lengths.
pub fn cross_entropy<T: Real>(
    p: &DVector<T>,
    q: &DVector<T>,
) -> Result<T, Error> {
    check_pair(p, q)?;
    Ok(-sum_p_log(p, q))
}

/// The Kullback-Leibler divergence of `q` from `p`: what the model `q`
/// costs beyond the entropy of `p`.
///
/// ```text
/// KL(p ‖ q) = Σ_i p_i log(p_i / q_i)                              (1.12)
/// H(p, q)   = H(p) + KL(p ‖ q)                                    (1.13)
/// ```
///
/// `KL ≥ 0`, with equality exactly when `p = q` (Gibbs' inequality).
///
/// # Errors
/// Those of [`cross_entropy`].
pub fn kl_divergence<T: Real>(
    p: &DVector<T>,
    q: &DVector<T>,
) -> Result<T, Error> {
    check_pair(p, q)?;
    // Each term p_i log(p_i / q_i) directly, not H(p, q) − H(p): that
    // difference of two nearly equal numbers cancels digits exactly when
    // q is close to p. And log(p/q) = ln_1p((p − q)/q): for q close to p,
    // p − q is exact and ln_1p keeps the digits that log p − log q loses.
    Ok(p.iter()
        .zip(q.iter())
        .filter(|&(&p_i, _)| p_i > T::zero())
        .map(|(&p_i, &q_i)| p_i * ((p_i - q_i) / q_i).ln_1p())
        .fold(T::zero(), |a, b| a + b))
}
// ANCHOR_END: cross_entropy

// ANCHOR: nll_cross_entropy
/// The average negative log-likelihood of class indices `y` under a
/// model `q`, which equals the cross-entropy between the empirical
/// distribution `p̂` of `y` and `q`.
///
/// ```text
/// (1/N) Σ_i −log q_{y_i} = −Σ_j p̂_j log q_j = H(p̂, q),
///     p̂_j = n_j / N                                               (1.14)
/// ```
///
/// # Shapes
/// `q`: `K` probabilities; `y`: `N ≥ 1` indices in `0..K` → a scalar.
///
/// # Book
/// Formel (1.14) in Kapitel 1, „Entropie und Kreuzentropie“ / formula
/// (1.14) in chapter 1, "Entropy and cross-entropy".
///
/// # Errors
/// `q` is not a distribution, `y` is empty, or an index is `≥ K`.
pub fn average_nll<T: Real>(q: &DVector<T>, y: &[usize]) -> Result<T, Error> {
    check_distribution("model q", q)?;
    check_classes("class indices y", y, q.len())?;
    let n = lit::<T>(y.len() as f64);
    let sum = y.iter().fold(T::zero(), |acc, &y_i| acc - q[y_i].ln());
    Ok(sum / n)
}

/// The empirical distribution `p̂` of class indices `y` over `k` classes:
/// the categorical maximum-likelihood estimate (1.6).
///
/// # Errors
/// Those of [`categorical_mle`].
pub fn empirical_distribution<T: Real>(
    y: &[usize],
    k: usize,
) -> Result<DVector<T>, Error> {
    categorical_mle(y, k)
}
// ANCHOR_END: nll_cross_entropy

/// `Σ_i p_i log q_i` over the terms with `p_i > 0` (0 · log 0 = 0).
fn sum_p_log<T: Real>(p: &DVector<T>, q: &DVector<T>) -> T {
    p.iter()
        .zip(q.iter())
        .filter(|&(&p_i, _)| p_i > T::zero())
        .map(|(&p_i, &q_i)| p_i * q_i.ln())
        .fold(T::zero(), |a, b| a + b)
}

/// Both arguments are distributions over the same number of classes.
fn check_pair<T: Real>(p: &DVector<T>, q: &DVector<T>) -> Result<(), Error> {
    check_distribution("distribution p", p)?;
    check_distribution("model q", q)?;
    if p.len() != q.len() {
        return Err(Error::Shape {
            what: "model q",
            expected: format!("{} entries like p", p.len()),
            got: format!("{} entries", q.len()),
        });
    }
    Ok(())
}
