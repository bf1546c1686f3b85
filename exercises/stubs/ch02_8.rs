//! Exercise 2.8 / Aufgabe 2.8: layer normalization, forward and backward.
//!
//! Every token (row `x` of `X`, `d` features) is normalized over its own
//! features, formula (2.11):
//!
//! ```text
//! μ = (1/d) Σ_j x_j,   σ² = (1/d) Σ_j (x_j − μ)²,   r = 1 / √(σ² + ε),
//! x̂ = (x − μ) r,       y = γ ⊙ x̂ + β
//! ```
//!
//! Compute the variance in two passes (first `μ`, then the squares of the
//! deviations), never as `mean(x²) − μ²`. Backward, formula (2.21), with
//! `g = γ ⊙ ∂L/∂y` and the means `ḡ`, `mean(g ⊙ x̂)` over the features:
//!
//! ```text
//! ∂L/∂x = r (g − ḡ − x̂ · mean(g ⊙ x̂)),
//! ∂L/∂γ = Σ_tokens ∂L/∂y ⊙ x̂,   ∂L/∂β = Σ_tokens ∂L/∂y
//! ```
//!
//! Do not call the listing's `LayerNorm`: the tests compare with it.

use nalgebra::DMatrix;
use notation::Error;

/// What the backward pass needs from the forward pass, and the output.
#[derive(Clone, Debug, PartialEq)]
pub struct Forward {
    /// `x̂`, shape `(n, d)`.
    pub x_hat: DMatrix<f64>,
    /// `r = 1 / √(σ² + ε)` of every token, shape `(n, 1)`.
    pub r: DMatrix<f64>,
    /// `y = γ ⊙ x̂ + β`, shape `(n, d)`.
    pub y: DMatrix<f64>,
}

/// The gradients of a scalar loss.
#[derive(Clone, Debug, PartialEq)]
pub struct Grads {
    /// `∂L/∂X`, shape `(n, d)`.
    pub d_x: DMatrix<f64>,
    /// `∂L/∂γ`, shape `(1, d)`.
    pub d_gamma: DMatrix<f64>,
    /// `∂L/∂β`, shape `(1, d)`.
    pub d_beta: DMatrix<f64>,
}

/// Layer normalization of every row of `x`.
///
/// # Shapes
/// `x`: `(n, d)`, `gamma`, `beta`: `(1, d)`.
///
/// # Errors
/// `x` is empty ([`Error::Empty`]); `gamma` or `beta` is not `(1, d)`
/// ([`Error::Shape`]); `eps` is not a positive finite number
/// ([`Error::Domain`]).
pub fn layer_norm(
    x: &DMatrix<f64>,
    gamma: &DMatrix<f64>,
    beta: &DMatrix<f64>,
    eps: f64,
) -> Result<Forward, Error> {
    todo!("μ, σ² in two passes, r, x̂, y for every row")
}

/// The backward pass of [`layer_norm`] from `d_y = ∂L/∂Y`.
///
/// # Shapes
/// `fwd` from `layer_norm` with `gamma` of shape `(1, d)`; `d_y`: `(n, d)`.
///
/// # Errors
/// `d_y` does not have the shape of `fwd.y`, or `gamma` is not `(1, d)`
/// ([`Error::Shape`]).
pub fn layer_norm_backward(
    fwd: &Forward,
    gamma: &DMatrix<f64>,
    d_y: &DMatrix<f64>,
) -> Result<Grads, Error> {
    todo!("g = γ ⊙ ∂L/∂y, the two means, ∂L/∂x; sums for ∂L/∂γ and ∂L/∂β")
}
