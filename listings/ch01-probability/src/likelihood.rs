//! Likelihood, log-likelihood and negative log-likelihood of a data set.
//!
//! Book: section „Likelihood“ / "Likelihood" of chapter 1.

use nalgebra::DVector;
use notation::{Error, Real};

use crate::check::check_non_negative;

// ANCHOR: likelihood
/// The likelihood: the probability that the model gives the whole data
/// set, the product of what it gives each independent sample.
///
/// ```text
/// L(θ) = Π_{i=1}^{N} P(x_i; θ)                                  (1.1)
/// ```
///
/// Computed literally, as the book's counter-example: for a few thousand
/// samples the product underflows to 0 in `f64` (see
/// [`underflow_demo`]); use [`log_likelihood`] instead.
///
/// # Shapes
/// `p`: the `N ≥ 1` values `P(x_i; θ)` → a scalar.
///
/// # Book
/// Formel (1.1) in Kapitel 1, „Likelihood“ / formula (1.1) in chapter 1,
/// "Likelihood".
///
/// # Errors
/// `p` is empty, or an entry is negative, NaN or infinite.
pub fn likelihood<T: Real>(p: &DVector<T>) -> Result<T, Error> {
    check_model_probabilities(p)?;
    Ok(p.iter().fold(T::one(), |acc, &p_i| acc * p_i))
}
// ANCHOR_END: likelihood

// ANCHOR: log_likelihood
/// The log-likelihood and its negative, the loss that training minimizes.
///
/// ```text
/// log L(θ) = Σ_{i=1}^{N} log P(x_i; θ)                          (1.2)
/// NLL(θ)   = −Σ_{i=1}^{N} log P(x_i; θ)                         (1.3)
/// ```
///
/// The logarithm turns the product (1.1) into a sum: each term
/// `log P(x_i; θ)` is a moderate negative number, and a sum of moderate
/// numbers neither underflows nor overflows.
///
/// # Shapes
/// `p`: the `N ≥ 1` values `P(x_i; θ)` → a scalar.
///
/// # Book
/// Formeln (1.2) und (1.3) in Kapitel 1, „Likelihood“ / formulas (1.2)
/// and (1.3) in chapter 1, "Likelihood".
///
/// # Errors
/// Those of [`likelihood`]. A zero entry is allowed and gives `−∞`: the
/// model calls an observed sample impossible.
pub fn log_likelihood<T: Real>(p: &DVector<T>) -> Result<T, Error> {
    check_model_probabilities(p)?;
    Ok(p.map(|p_i| p_i.ln()).sum())
}

/// The negative log-likelihood (1.3): `−log_likelihood(p)`.
///
/// # Errors
/// Those of [`log_likelihood`].
pub fn negative_log_likelihood<T: Real>(p: &DVector<T>) -> Result<T, Error> {
    Ok(-log_likelihood(p)?)
}
// ANCHOR_END: log_likelihood

// ANCHOR: underflow_demo
/// What happens when the likelihood (1.1) of `n` samples, each given
/// probability `p`, is multiplied out step by step, next to the sum of
/// logarithms (1.2).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Underflow {
    /// `p · p · … · p` (`n` factors), multiplied in `f64`.
    pub product: f64,
    /// `log p + … + log p` (`n` terms), added in `f64`.
    pub log_sum: f64,
    /// The first number of factors at which the product was exactly 0,
    /// if it ever was.
    pub zero_after: Option<usize>,
}

/// Multiplies `n` probabilities `p` and adds their logarithms, recording
/// when the product underflows to 0.
///
/// ```text
/// product = Π p  (1.1),   log_sum = Σ log p  (1.2)
/// ```
///
/// The smallest positive `f64` is about `4.9e-324 = 2^-1074`. With
/// `p = 1/2` the product is exact up to 1074 factors and then rounds to 0;
/// the log-sum is `n · log(1/2) ≈ −0.693 n`, an ordinary number. For
/// `p > 1/2` the product instead gets stuck at `2^-1074`, because
/// `p · 2^-1074` rounds back up to it: not 0, but just as wrong.
///
/// # Book
/// Kapitel 1, „Likelihood“ / chapter 1, "Likelihood".
///
/// # Errors
/// `n = 0`, or `p` not in `(0, 1]`.
pub fn underflow_demo(n: usize, p: f64) -> Result<Underflow, Error> {
    if n == 0 {
        return Err(Error::Empty {
            what: "samples (n = 0)",
        });
    }
    if !(p > 0.0 && p <= 1.0) {
        return Err(Error::Domain {
            what: "probability p",
            requirement: "0 < p ≤ 1",
            value: p,
        });
    }
    let (mut product, mut log_sum, mut zero_after) = (1.0, 0.0, None);
    for i in 1..=n {
        product *= p;
        log_sum += p.ln();
        if product == 0.0 && zero_after.is_none() {
            zero_after = Some(i);
        }
    }
    Ok(Underflow {
        product,
        log_sum,
        zero_after,
    })
}
// ANCHOR_END: underflow_demo

/// Checks the values `P(x_i; θ)` of a data set: at least one, each a
/// finite number ≥ 0. (For a density they may exceed 1.)
fn check_model_probabilities<T: Real>(p: &DVector<T>) -> Result<(), Error> {
    check_non_negative(
        p,
        "model probabilities P(x_i; θ)",
        ("a model probability P(x_i; θ)", "P(x_i; θ) ≥ 0"),
    )
}
