//! Maximum-likelihood estimates in closed form: Bernoulli, categorical,
//! Gaussian.
//!
//! Book: section „Maximum-Likelihood-Schätzung“ / "Maximum likelihood
//! estimation" of chapter 1.

use nalgebra::DVector;
use notation::{Error, Real, lit};

use crate::check::{check_classes, check_distribution};

// ANCHOR: bernoulli
/// Log-likelihood of coin flips `x` (true = success) under a Bernoulli
/// model with success probability `theta`.
///
/// ```text
/// log L(θ) = k log θ + (N − k) log(1 − θ),   k = #successes      (1.4)
/// ```
///
/// A term with count 0 is 0 even where its logarithm is `−∞` (the
/// convention `0 · log 0 = 0`), so `θ = 0` is fine for data without
/// successes.
///
/// # Shapes
/// `x`: `N ≥ 1` outcomes → a scalar.
///
/// # Book
/// Formel (1.4) in Kapitel 1, „Maximum-Likelihood-Schätzung“ / formula
/// (1.4) in chapter 1, "Maximum likelihood estimation".
///
/// # Errors
/// `x` is empty, or `theta` is not in `[0, 1]`.
pub fn bernoulli_log_likelihood<T: Real>(
    theta: T,
    x: &[bool],
) -> Result<T, Error> {
    let (k, n) = bernoulli_counts::<T>(theta, x)?;
    let term = |count: T, p: T| {
        if count == T::zero() {
            T::zero()
        } else {
            count * p.ln()
        }
    };
    Ok(term(k, theta) + term(n - k, T::one() - theta))
}

/// The derivative of the negative of (1.4) with respect to `θ`:
/// `d/dθ (−log L) = −k/θ + (N − k)/(1 − θ)`; it is 0 at `θ̂ = k/N`.
///
/// # Errors
/// Those of [`bernoulli_log_likelihood`]; `theta` must lie in `(0, 1)`.
pub fn bernoulli_nll_derivative<T: Real>(
    theta: T,
    x: &[bool],
) -> Result<T, Error> {
    let (k, n) = bernoulli_counts::<T>(theta, x)?;
    if theta == T::zero() || theta == T::one() {
        return Err(Error::Domain {
            what: "Bernoulli parameter θ",
            requirement: "0 < θ < 1 for the derivative",
            value: theta.into(),
        });
    }
    Ok(-k / theta + (n - k) / (T::one() - theta))
}

/// The maximum-likelihood estimate of the success probability.
///
/// ```text
/// θ̂ = k / N                                                      (1.5)
/// ```
///
/// # Errors
/// `x` is empty.
pub fn bernoulli_mle<T: Real>(x: &[bool]) -> Result<T, Error> {
    let (k, n) = bernoulli_counts::<T>(T::one(), x)?;
    Ok(k / n)
}
// ANCHOR_END: bernoulli

// ANCHOR: categorical_mle
/// The maximum-likelihood estimate of a categorical distribution over `k`
/// classes from class indices `y`: the relative frequencies.
///
/// ```text
/// θ̂_j = n_j / N,   n_j = #{i : y_i = j},   j = 0, …, K − 1       (1.6)
/// ```
///
/// # Shapes
/// `y`: `N ≥ 1` indices in `0..k` → `K` probabilities.
///
/// # Book
/// Formel (1.6) in Kapitel 1, „Maximum-Likelihood-Schätzung“ / formula
/// (1.6) in chapter 1, "Maximum likelihood estimation".
///
/// # Errors
/// `y` is empty, or an index is `≥ k`.
pub fn categorical_mle<T: Real>(
    y: &[usize],
    k: usize,
) -> Result<DVector<T>, Error> {
    check_classes("class indices y", y, k)?;
    let mut counts = DVector::<T>::zeros(k);
    for &y_i in y {
        counts[y_i] += T::one();
    }
    Ok(counts / lit::<T>(y.len() as f64))
}

/// Log-likelihood `Σ_j n_j log θ_j` of class indices `y` under the
/// categorical distribution `theta` (a class with `n_j = 0` adds 0).
///
/// # Errors
/// `theta` is not a distribution (see `check_distribution`), `y` is
/// empty, or an index is out of range.
pub fn categorical_log_likelihood<T: Real>(
    theta: &DVector<T>,
    y: &[usize],
) -> Result<T, Error> {
    check_distribution("categorical parameters θ", theta)?;
    check_classes("class indices y", y, theta.len())?;
    Ok(y.iter()
        .map(|&y_i| theta[y_i].ln())
        .fold(T::zero(), |a, b| a + b))
}
// ANCHOR_END: categorical_mle

// ANCHOR: gaussian_nll
/// Negative log-likelihood of samples `x` under a normal distribution
/// with mean `mu` and standard deviation `sigma`, and its gradient.
///
/// ```text
/// NLL(μ, σ) = N/2 · log(2π) + N log σ + Σ_i (x_i − μ)² / (2σ²)    (1.7)
/// ∂NLL/∂μ = −Σ_i (x_i − μ) / σ²
/// ∂NLL/∂σ = N/σ − Σ_i (x_i − μ)² / σ³
/// ```
///
/// # Shapes
/// `x`: `N ≥ 1` samples → `(NLL, ∂NLL/∂μ, ∂NLL/∂σ)`.
///
/// # Book
/// Formel (1.7) in Kapitel 1, „Maximum-Likelihood-Schätzung“ / formula
/// (1.7) in chapter 1, "Maximum likelihood estimation".
///
/// # Errors
/// `x` is empty or not finite, `mu` is not finite, or `sigma ≤ 0`.
pub fn gaussian_nll<T: Real>(
    mu: T,
    sigma: T,
    x: &DVector<T>,
) -> Result<(T, T, T), Error> {
    check_samples(x)?;
    if !mu.is_finite() {
        return Err(Error::Domain {
            what: "mean μ",
            requirement: "μ finite",
            value: mu.into(),
        });
    }
    // Written so that NaN, for which every comparison is false, fails.
    if !(sigma > T::zero() && sigma.is_finite()) {
        return Err(Error::Domain {
            what: "standard deviation σ",
            requirement: "0 < σ < ∞",
            value: sigma.into(),
        });
    }
    let n = lit::<T>(x.len() as f64);
    let two = T::one() + T::one();
    let d = x.add_scalar(-mu); // deviations x_i − μ
    let s = d.norm_squared(); // Σ (x_i − μ)²
    let s2 = sigma * sigma;
    let nll = n / two * T::two_pi().ln() + n * sigma.ln() + s / (two * s2);
    let d_mu = -d.sum() / s2;
    let d_sigma = n / sigma - s / (s2 * sigma);
    Ok((nll, d_mu, d_sigma))
}
// ANCHOR_END: gaussian_nll

// ANCHOR: gaussian_mle
/// Which variance to compute: the maximum-likelihood estimate (divide by
/// `N`, as the book derives and as `torch.var(x, correction=0)`), or the
/// unbiased one (divide by `N − 1`, Bessel's correction, the default of
/// `torch.var`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variance {
    /// `σ̂² = Σ (x_i − μ̂)² / N`, biased: `E[σ̂²] = (N − 1)/N · σ²`.
    MaximumLikelihood,
    /// `s² = Σ (x_i − μ̂)² / (N − 1)`, unbiased: `E[s²] = σ²`.
    Unbiased,
}

/// Mean and variance of samples `x`, the Gaussian maximum-likelihood
/// estimates (or, selected explicitly, the unbiased variance).
///
/// ```text
/// μ̂ = (1/N) Σ_i x_i,   σ̂² = (1/N) Σ_i (x_i − μ̂)²                  (1.8)
/// E[σ̂²] = (N − 1)/N · σ²                                          (1.9)
/// ```
///
/// # Shapes
/// `x`: `N ≥ 1` samples (`N ≥ 2` for [`Variance::Unbiased`]) →
/// `(μ̂, σ̂²)`.
///
/// # Book
/// Formeln (1.8) und (1.9) in Kapitel 1, „Maximum-Likelihood-Schätzung“ /
/// formulas (1.8) and (1.9) in chapter 1, "Maximum likelihood
/// estimation".
///
/// # Errors
/// `x` is empty or not finite, or `N = 1` with [`Variance::Unbiased`].
pub fn gaussian_mle<T: Real>(
    x: &DVector<T>,
    variance: Variance,
) -> Result<(T, T), Error> {
    check_samples(x)?;
    let n = x.len();
    let mean = x.mean();
    // Two passes: subtract the mean first, then square. The one-pass form
    // E[x²] − E[x]² subtracts two large, nearly equal numbers and loses
    // digits when the mean is large compared to the spread.
    let s = x.add_scalar(-mean).norm_squared();
    let divisor = match variance {
        Variance::MaximumLikelihood => n,
        Variance::Unbiased if n >= 2 => n - 1,
        Variance::Unbiased => {
            return Err(Error::Shape {
                what: "samples x",
                expected: "N ≥ 2 for the unbiased variance".to_string(),
                got: "N = 1".to_string(),
            });
        }
    };
    Ok((mean, s / lit::<T>(divisor as f64)))
}
// ANCHOR_END: gaussian_mle

/// Counts `(k, N)` of coin flips after checking `x` and `θ ∈ [0, 1]`.
fn bernoulli_counts<T: Real>(theta: T, x: &[bool]) -> Result<(T, T), Error> {
    if x.is_empty() {
        return Err(Error::Empty {
            what: "coin flips x",
        });
    }
    if !(theta >= T::zero() && theta <= T::one()) {
        return Err(Error::Domain {
            what: "Bernoulli parameter θ",
            requirement: "0 ≤ θ ≤ 1",
            value: theta.into(),
        });
    }
    let k = x.iter().filter(|&&x_i| x_i).count();
    Ok((lit(k as f64), lit(x.len() as f64)))
}

/// Checks real-valued samples: at least one, all finite.
fn check_samples<T: Real>(x: &DVector<T>) -> Result<(), Error> {
    let what = "samples x";
    if x.is_empty() {
        return Err(Error::Empty { what });
    }
    match x.iter().position(|x_i| !x_i.is_finite()) {
        Some(index) => Err(Error::NotFinite {
            what,
            index,
            value: x[index].into(),
        }),
        None => Ok(()),
    }
}
