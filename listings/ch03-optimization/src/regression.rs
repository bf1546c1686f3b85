//! Linear least squares, the model problem for stochastic and mini-batch
//! gradients: a loss that is a mean over samples.
//!
//! Book: section „Gradientenabstieg“ / "Gradient descent" of chapter 3.

use nalgebra::DMatrix;
use notation::{Error, Real, lit};

/// Linear regression `ŷ_i = x_i W + b` with the squared error
/// `ℓ_i(W, b) = ½ ‖x_i W + b − y_i‖²` per sample and the loss
/// `L = (1/n) Σ_i ℓ_i`.
///
/// Samples are rows (the book's convention): `x` is `(n, d_in)`, `y` is
/// `(n, d_out)`; the parameters are `[W, b]` with `W` of shape
/// `(d_in, d_out)` and the bias row `b` of shape `(1, d_out)`.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearRegression<T: Real> {
    x: DMatrix<T>,
    y: DMatrix<T>,
}

impl<T: Real> LinearRegression<T> {
    /// The problem with inputs `x` and targets `y`, one sample per row.
    ///
    /// # Errors
    /// No samples, a different number of rows, or an entry that is NaN or
    /// infinite.
    pub fn new(x: DMatrix<T>, y: DMatrix<T>) -> Result<Self, Error> {
        if x.nrows() == 0 || x.ncols() == 0 {
            return Err(Error::Empty { what: "inputs X" });
        }
        if y.nrows() != x.nrows() || y.ncols() == 0 {
            return Err(Error::Shape {
                what: "targets Y",
                expected: format!("{} rows like X, ≥ 1 column", x.nrows()),
                got: format!("{:?}", y.shape()),
            });
        }
        for (what, m) in [("inputs X", &x), ("targets Y", &y)] {
            if let Some(index) = m.iter().position(|v| !v.is_finite()) {
                return Err(Error::NotFinite {
                    what,
                    index,
                    value: m.as_slice()[index].into(),
                });
            }
        }
        Ok(LinearRegression { x, y })
    }

    /// The number of samples `n`.
    pub fn len(&self) -> usize {
        self.x.nrows()
    }

    /// Always `false`: a problem has at least one sample.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The shapes of `W` and `b`.
    pub fn param_shapes(&self) -> [(usize, usize); 2] {
        [(self.x.ncols(), self.y.ncols()), (1, self.y.ncols())]
    }

    /// The loss `L(W, b) = (1/n) Σ_i ½ ‖x_i W + b − y_i‖²`.
    ///
    /// # Errors
    /// `params` is not `[W, b]` of the shapes of [`Self::param_shapes`].
    pub fn loss(&self, params: &[DMatrix<T>]) -> Result<T, Error> {
        let r = self.residuals(params)?;
        let n: T = lit(self.len() as f64);
        let half: T = lit(0.5);
        Ok(half * r.norm_squared() / n)
    }

    /// `r_i = x_i W + b − y_i` for every sample, an `(n, d_out)` matrix.
    fn residuals(&self, params: &[DMatrix<T>]) -> Result<DMatrix<T>, Error> {
        self.check_params(params)?;
        let (w, b) = (&params[0], &params[1]);
        let mut r = &self.x * w - &self.y;
        for mut row in r.row_iter_mut() {
            row += b;
        }
        Ok(r)
    }

    /// `params` is `[W, b]` of the shapes of [`Self::param_shapes`].
    fn check_params(&self, params: &[DMatrix<T>]) -> Result<(), Error> {
        let shapes = self.param_shapes();
        let ok = params.len() == 2
            && params[0].shape() == shapes[0]
            && params[1].shape() == shapes[1];
        if !ok {
            return Err(Error::Shape {
                what: "params",
                expected: format!("[W, b] of shapes {shapes:?}"),
                got: format!(
                    "{:?}",
                    params.iter().map(|p| p.shape()).collect::<Vec<_>>()
                ),
            });
        }
        Ok(())
    }
}

// ANCHOR: minibatch_gradient
impl<T: Real> LinearRegression<T> {
    /// The mini-batch gradient: the mean of the per-sample gradients over
    /// the samples in `batch`.
    ///
    /// ```text
    /// g_t = (1/|B_t|) Σ_{i ∈ B_t} ∇ℓ_i(θ_t)                       (3.3)
    /// ∇_W ℓ_i = x_iᵀ r_i,   ∇_b ℓ_i = r_i,   r_i = x_i W + b − y_i
    /// ```
    ///
    /// `batch` = all of `0..n` gives the full gradient `∇L`; one index gives
    /// the stochastic gradient of a single sample. Indices may repeat
    /// (sampling with replacement).
    ///
    /// # Shapes
    /// `params` = `[W (d_in, d_out), b (1, d_out)]` → `[∇_W, ∇_b]` of the
    /// same shapes.
    ///
    /// # Book
    /// Formel (3.3) in Kapitel 3, „Gradientenabstieg“ / formula (3.3) in
    /// chapter 3, "Gradient descent".
    ///
    /// # Errors
    /// Wrong parameter shapes, an empty batch, an index `≥ n`.
    pub fn gradient(
        &self,
        params: &[DMatrix<T>],
        batch: &[usize],
    ) -> Result<Vec<DMatrix<T>>, Error> {
        if batch.is_empty() {
            return Err(Error::Empty {
                what: "mini-batch B",
            });
        }
        if let Some(&i) = batch.iter().find(|&&i| i >= self.len()) {
            return Err(Error::Index {
                what: "mini-batch B",
                expected: format!("sample indices < n = {}", self.len()),
                got: format!("index {i}"),
            });
        }
        self.check_params(params)?;
        let shapes = self.param_shapes();
        let (w, b) = (&params[0], &params[1]);
        let mut grad_w = DMatrix::zeros(shapes[0].0, shapes[0].1);
        let mut grad_b = DMatrix::zeros(1, shapes[1].1);
        for &i in batch {
            let x_i = self.x.row(i);
            let r_i = x_i * w + b - self.y.row(i);
            // ∇_W ℓ_i = x_iᵀ r_i (an outer product), ∇_b ℓ_i = r_i.
            grad_w += x_i.transpose() * &r_i;
            grad_b += r_i;
        }
        let size: T = lit(batch.len() as f64);
        Ok(vec![grad_w / size, grad_b / size])
    }
}
// ANCHOR_END: minibatch_gradient
