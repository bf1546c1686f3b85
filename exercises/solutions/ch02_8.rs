//! Exercise 2.8 / Aufgabe 2.8: layer normalization, forward and backward.
//!
//! Reference solution: formulas (2.11) and (2.21), token by token.

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

/// `m` has shape `(1, d)`.
fn check_row(
    what: &'static str,
    m: &DMatrix<f64>,
    d: usize,
) -> Result<(), Error> {
    if m.shape() == (1, d) {
        Ok(())
    } else {
        Err(Error::Shape {
            what,
            expected: format!("(1, {d}), a row of d entries"),
            got: format!("{:?}", m.shape()),
        })
    }
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
    if x.is_empty() {
        return Err(Error::Empty { what: "X" });
    }
    let (n, d) = x.shape();
    check_row("γ", gamma, d)?;
    check_row("β", beta, d)?;
    if !(eps > 0.0 && eps.is_finite()) {
        return Err(Error::Domain {
            what: "ε",
            requirement: "0 < ε < ∞",
            value: eps,
        });
    }
    let mut x_hat = x.clone();
    let mut r = DMatrix::zeros(n, 1);
    for (i, mut row) in x_hat.row_iter_mut().enumerate() {
        // Two passes: the mean first, then the squared deviations from it,
        // so that tokens far from 0 keep their digits.
        let mu = row.sum() / d as f64;
        row.add_scalar_mut(-mu);
        let var = row.norm_squared() / d as f64;
        r[(i, 0)] = 1.0 / (var + eps).sqrt();
        row *= r[(i, 0)];
    }
    let mut y = x_hat.clone();
    for mut row in y.row_iter_mut() {
        row.component_mul_assign(gamma);
        row += beta;
    }
    Ok(Forward { x_hat, r, y })
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
    let (n, d) = fwd.x_hat.shape();
    check_row("γ", gamma, d)?;
    if d_y.shape() != (n, d) {
        return Err(Error::Shape {
            what: "∂L/∂Y",
            expected: format!("({n}, {d}), the shape of Y"),
            got: format!("{:?}", d_y.shape()),
        });
    }
    let mut d_x = d_y.clone();
    for (i, mut row) in d_x.row_iter_mut().enumerate() {
        row.component_mul_assign(gamma);
        let x_hat = fwd.x_hat.row(i);
        let mean_g = row.sum() / d as f64;
        let mean_gx = row.dot(&x_hat) / d as f64;
        // g − ḡ − x̂ · mean(g ⊙ x̂): the two means are what μ and σ²
        // contribute, since both depend on every feature of the token.
        row.add_scalar_mut(-mean_g);
        row -= x_hat * mean_gx;
        row *= fwd.r[(i, 0)];
    }
    let d_beta = DMatrix::from_fn(1, d, |_, j| d_y.column(j).sum());
    let d_gamma =
        DMatrix::from_fn(1, d, |_, j| d_y.column(j).dot(&fwd.x_hat.column(j)));
    Ok(Grads {
        d_x,
        d_gamma,
        d_beta,
    })
}
