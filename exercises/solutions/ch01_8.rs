//! Exercise 1.8 / Aufgabe 1.8: fitting a Poisson distribution.
//!
//! Reference solution: the NLL with its derivative, the closed form
//! `θ̂ = S / N` and Newton's method `θ ← 2θ − θ² N / S`.

use notation::Error;

/// `NLL(θ)` and `NLL'(θ)` of the counts `x`.
///
/// # Errors
/// `x` is empty ([`Error::Empty`]); `θ` is not a positive finite number
/// ([`Error::Domain`]).
pub fn poisson_nll(x: &[u32], theta: f64) -> Result<(f64, f64), Error> {
    let (n, s) = count_and_sum(x)?;
    if !(theta > 0.0 && theta.is_finite()) {
        return Err(Error::Domain {
            what: "rate θ",
            requirement: "0 < θ < ∞",
            value: theta,
        });
    }
    let log_factorials: f64 = x.iter().map(|&x_i| log_factorial(x_i)).sum();
    let nll = n * theta - s * theta.ln() + log_factorials;
    Ok((nll, n - s / theta))
}

/// The maximum-likelihood estimate `θ̂ = S / N`.
///
/// # Errors
/// `x` is empty ([`Error::Empty`]).
pub fn poisson_mle(x: &[u32]) -> Result<f64, Error> {
    let (n, s) = count_and_sum(x)?;
    Ok(s / n)
}

/// `steps` steps of Newton's method from `theta0`.
///
/// # Errors
/// `x` is empty ([`Error::Empty`]); all counts are 0 (then `θ̂ = 0` lies
/// on the boundary and Newton's step is undefined) or `theta0` is not in
/// `(0, 2 θ̂)` ([`Error::Domain`]).
pub fn poisson_newton(
    x: &[u32],
    theta0: f64,
    steps: usize,
) -> Result<f64, Error> {
    let (n, s) = count_and_sum(x)?;
    if s == 0.0 {
        return Err(Error::Domain {
            what: "sum of the counts S",
            requirement: "S > 0 (else θ̂ = 0 lies on the boundary)",
            value: s,
        });
    }
    // θ_{t+1} − θ̂ = −(θ_t − θ̂)² / θ̂: from outside (0, 2θ̂) the first
    // step lands at θ ≤ 0, where the NLL is not defined.
    if !(theta0 > 0.0 && theta0 < 2.0 * s / n) {
        return Err(Error::Domain {
            what: "start θ_0",
            requirement: "0 < θ_0 < 2 θ̂",
            value: theta0,
        });
    }
    let mut theta = theta0;
    for _ in 0..steps {
        // θ − NLL'(θ) / NLL''(θ) = θ − (N − S/θ) θ² / S = 2θ − θ² N / S.
        theta = 2.0 * theta - theta * theta * n / s;
    }
    Ok(theta)
}

/// `N` and `S` as floating-point numbers, after refusing empty data.
fn count_and_sum(x: &[u32]) -> Result<(f64, f64), Error> {
    if x.is_empty() {
        return Err(Error::Empty { what: "counts x" });
    }
    let s: u64 = x.iter().map(|&x_i| u64::from(x_i)).sum();
    Ok((x.len() as f64, s as f64))
}

/// `log(x!) = Σ_{k=2}^{x} log k`.
fn log_factorial(x: u32) -> f64 {
    (2..=x).map(|k| f64::from(k).ln()).sum()
}
