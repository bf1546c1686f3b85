//! Exercise 1.8 / Aufgabe 1.8: fitting a Poisson distribution.
//!
//! The Poisson distribution gives a count `x ∈ {0, 1, 2, …}` the
//! probability `P(x; θ) = θ^x e^(−θ) / x!` with a rate `θ > 0`. For counts
//! `x_1, …, x_N` with sum `S`, the negative log-likelihood (1.3) is
//!
//! ```text
//! NLL(θ) = N θ − S log θ + Σ_i log(x_i!),     NLL'(θ) = N − S / θ
//! ```
//!
//! and exercise 1.1 shows that its minimum is `θ̂ = S / N`. Write
//!
//! 1. `poisson_nll`: the NLL and its derivative at `θ`;
//! 2. `poisson_mle`: the closed form `θ̂ = S / N`;
//! 3. `poisson_newton`: Newton's method `θ ← θ − NLL'(θ) / NLL''(θ)`
//!    with `NLL''(θ) = S / θ²`, which simplifies to `θ ← 2θ − θ² N / S`.
//!    It converges from every start `0 < θ_0 < 2 θ̂` (exercise 1.8's
//!    solution shows why); refuse any other start.
//!
//! Compute `log(x!)` as `Σ_{k=2}^{x} log k` (Rust's standard library has
//! no `lgamma`).

use notation::Error;

/// `NLL(θ)` and `NLL'(θ)` of the counts `x`.
///
/// # Errors
/// `x` is empty ([`Error::Empty`]); `θ` is not a positive finite number
/// ([`Error::Domain`]).
pub fn poisson_nll(x: &[u32], theta: f64) -> Result<(f64, f64), Error> {
    todo!("N θ − S log θ + Σ log x_i!, and N − S/θ")
}

/// The maximum-likelihood estimate `θ̂ = S / N`.
///
/// # Errors
/// `x` is empty ([`Error::Empty`]).
pub fn poisson_mle(x: &[u32]) -> Result<f64, Error> {
    todo!("the mean of the counts")
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
    todo!("θ ← 2θ − θ² N / S, `steps` times")
}
