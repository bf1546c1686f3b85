//! Softmax regression (multinomial logistic regression) fitted by
//! maximum likelihood with gradient descent.
//!
//! Book: section „Softmax-Regression“ / "Softmax regression" of
//! chapter 1.

use nalgebra::DMatrix;
use notation::{Error, Real, lit};

use crate::cross_entropy::cross_entropy_rows;
use crate::softmax::softmax_rows;

// ANCHOR: softmax_regression
/// A linear layer followed by the softmax: `K` class probabilities for
/// every sample (row) of `X`.
///
/// ```text
/// P(y = j | x; W, b) = softmax(x W + b)_j                         (1.21)
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SoftmaxRegression<T: Real> {
    /// Weights `W`, shape `(d, K)`: column `j` scores class `j`.
    pub w: DMatrix<T>,
    /// Biases `b`, one per class: a row, shape `(1, K)`.
    pub b: DMatrix<T>,
}

// The parameters in one order, for chapter 3's optimizers.
notation::params!(SoftmaxRegression<T> { "w" => w, "b" => b });

impl<T: Real> SoftmaxRegression<T> {
    /// All parameters 0: every class gets probability `1/K`.
    pub fn zeros(d: usize, k: usize) -> Self {
        Self {
            w: DMatrix::zeros(d, k),
            b: DMatrix::zeros(1, k),
        }
    }

    /// The logits `Z = X W + 1 b`, shape `(N, K)`.
    ///
    /// # Book
    /// Formel (1.21) in Kapitel 1, „Softmax-Regression“ / formula (1.21)
    /// in chapter 1, "Softmax regression".
    ///
    /// # Errors
    /// `x` has no rows or not `d` columns.
    pub fn logits(&self, x: &DMatrix<T>) -> Result<DMatrix<T>, Error> {
        let d = self.w.nrows();
        if x.nrows() == 0 {
            return Err(Error::Empty { what: "samples X" });
        }
        if x.ncols() != d {
            return Err(Error::Shape {
                what: "samples X",
                expected: format!("{d} columns (features)"),
                got: format!("{} columns", x.ncols()),
            });
        }
        let mut z = x * &self.w;
        for mut row in z.row_iter_mut() {
            row += &self.b;
        }
        Ok(z)
    }

    /// The class probabilities (1.21), one row per sample.
    ///
    /// # Errors
    /// Those of [`SoftmaxRegression::logits`].
    pub fn probabilities(&self, x: &DMatrix<T>) -> Result<DMatrix<T>, Error> {
        softmax_rows(&self.logits(x)?)
    }

    /// The most probable class of every sample.
    ///
    /// # Errors
    /// Those of [`SoftmaxRegression::logits`].
    pub fn predict(&self, x: &DMatrix<T>) -> Result<Vec<usize>, Error> {
        let z = self.logits(x)?;
        Ok(z.row_iter().map(|r| r.transpose().argmax().0).collect())
    }
}
// ANCHOR_END: softmax_regression

// ANCHOR: regression_loss
/// The training objective, the average NLL plus an optional L2 penalty on
/// the weights, and its gradient.
///
/// ```text
/// J(W, b) = (1/N) Σ_i −log softmax(x_i W + b)_{y_i} + (λ/2) ‖W‖²  (1.22)
/// ∂J/∂W = (1/N) Xᵀ (P − Y) + λ W,   ∂J/∂b = (1/N) 1ᵀ (P − Y)      (1.23)
/// ```
///
/// `P` holds the predicted probabilities, `Y` the one-hot classes (one
/// row per sample); `λ = 0` is pure maximum likelihood.
///
/// # Shapes
/// `x`: `(N, d)`, `y`: `N` indices in `0..K` → `(J, ∂J/∂W, ∂J/∂b)` with
/// shapes `(d, K)` and `(1, K)`.
///
/// # Book
/// Formeln (1.22) und (1.23) in Kapitel 1, „Softmax-Regression“ /
/// formulas (1.22) and (1.23) in chapter 1, "Softmax regression".
///
/// # Errors
/// Those of [`SoftmaxRegression::logits`] and of `cross_entropy_rows`,
/// and `lambda < 0`.
pub fn loss_and_gradient<T: Real>(
    model: &SoftmaxRegression<T>,
    x: &DMatrix<T>,
    y: &[usize],
    lambda: T,
) -> Result<(T, DMatrix<T>, DMatrix<T>), Error> {
    if !(lambda >= T::zero() && lambda.is_finite()) {
        return Err(Error::Domain {
            what: "L2 penalty λ",
            requirement: "0 ≤ λ < ∞",
            value: lambda.into(),
        });
    }
    let z = model.logits(x)?;
    // The mean loss and ∂/∂Z = (P − Y)/N, formulas (1.18) to (1.20).
    let (nll, dz) = cross_entropy_rows(&z, y)?;
    let half = lit::<T>(0.5);
    let j = nll + half * lambda * model.w.norm_squared();
    // Chain rule through Z = X W + 1 b.
    let grad_w = x.transpose() * &dz + &model.w * lambda;
    let grad_b = DMatrix::from_rows(&[dz.row_sum()]);
    Ok((j, grad_w, grad_b))
}
// ANCHOR_END: regression_loss

// ANCHOR: gradient_descent
/// Settings of plain (full-batch) gradient descent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradientDescent {
    /// Step size `η`. Default 1.0: gradient descent decreases `J` when
    /// `η < 2/ā`, where `ā = ½ a_max + λ` bounds the curvature of `J`
    /// (`a_max` the largest eigenvalue of `(1/N) X̃ᵀX̃`, `X̃ = [X 1]`; the
    /// softmax contributes at most ½). For standardized iris
    /// `a_max ≈ 2.9`, so `ā ≈ 1.5` and any `η < 1.3` is safe.
    pub learning_rate: f64,
    /// Number of passes over the data. Default 3000: on iris the
    /// objective then agrees with smartcore's optimum to 12 digits
    /// (measured by `cargo run --example iris`; see the book).
    pub epochs: usize,
    /// The L2 penalty `λ` of (1.22). Default `1/150`: smartcore's `α = 1`
    /// on iris' 150 samples, because smartcore penalizes the *sum* of
    /// the losses, `Σ ℓ_i + (α/2)‖W‖²`, which is `N` times (1.22) with
    /// `λ = α/N`.
    pub l2: f64,
}

impl Default for GradientDescent {
    fn default() -> Self {
        Self {
            learning_rate: 1.0,
            epochs: 3000,
            l2: 1.0 / 150.0,
        }
    }
}

/// Fits a softmax regression by gradient descent from zero parameters and
/// returns it with the objective (1.22) before every epoch and after the
/// last one (`epochs + 1` values).
///
/// ```text
/// W ← W − η ∂J/∂W,   b ← b − η ∂J/∂b                              (1.24)
/// ```
///
/// # Shapes
/// `x`: `(N, d)`, `y`: `N` indices in `0..k`.
///
/// # Book
/// Formel (1.24) in Kapitel 1, „Softmax-Regression“ / formula (1.24) in
/// chapter 1, "Softmax regression".
///
/// # Errors
/// Those of [`loss_and_gradient`], and a learning rate that is not a
/// positive finite number.
pub fn fit(
    x: &DMatrix<f64>,
    y: &[usize],
    k: usize,
    config: &GradientDescent,
) -> Result<(SoftmaxRegression<f64>, Vec<f64>), Error> {
    let eta = config.learning_rate;
    if !(eta > 0.0 && eta.is_finite()) {
        return Err(Error::Domain {
            what: "learning rate η",
            requirement: "0 < η < ∞",
            value: eta,
        });
    }
    let mut model = SoftmaxRegression::zeros(x.ncols(), k);
    let mut history = Vec::with_capacity(config.epochs + 1);
    for _ in 0..config.epochs {
        let (j, grad_w, grad_b) = loss_and_gradient(&model, x, y, config.l2)?;
        history.push(j);
        model.w -= grad_w * eta;
        model.b -= grad_b * eta;
    }
    history.push(loss_and_gradient(&model, x, y, config.l2)?.0);
    Ok((model, history))
}
// ANCHOR_END: gradient_descent
