//! The linear layer `y = x W + b`, the building block of every projection
//! in the transformer.
//!
//! Book: section „Queries, Keys und Values“ / "Queries, keys and values"
//! of chapter 2.

use nalgebra::DMatrix;
use notation::{Error, Real, shape};

use crate::gemm::{matmul, product_new, view, view_t};

/// A linear layer in the book's convention: a token is a row, `W` has
/// shape `(d_in, d_out)`, and `Y = X W + 1 b` maps every row at once.
#[derive(Clone, Debug, PartialEq)]
pub struct Linear<T: Real> {
    /// The weights `W`, shape `(d_in, d_out)`.
    pub w: DMatrix<T>,
    /// The bias `b`, a row of `d_out` entries, shape `(1, d_out)` (zeros
    /// for a layer without bias).
    pub b: DMatrix<T>,
}

notation::params!(Linear<T> { "w" => w, "b" => b });

impl<T: Real> Linear<T> {
    /// A layer from `W` (shape `(d_in, d_out)`) and `b` (a row of `d_out`
    /// entries).
    ///
    /// # Errors
    /// `W` is empty, or `b` is not a row of `d_out` entries.
    pub fn new(w: DMatrix<T>, b: DMatrix<T>) -> Result<Self, Error> {
        shape::non_empty("W", &w)?;
        shape::row("b", &b, w.ncols(), "d_out, the columns of W")?;
        Ok(Linear { w, b })
    }

    /// A layer without bias (`b = 0`), as the projections `W_Q`, `W_K`,
    /// `W_V` of Vaswani et al. (2017).
    ///
    /// # Errors
    /// `W` is empty.
    pub fn without_bias(w: DMatrix<T>) -> Result<Self, Error> {
        let b = DMatrix::zeros(1, w.ncols());
        Linear::new(w, b)
    }

    /// `d_in`, the number of input features.
    pub fn d_in(&self) -> usize {
        self.w.nrows()
    }

    /// `d_out`, the number of output features.
    pub fn d_out(&self) -> usize {
        self.w.ncols()
    }
}

// ANCHOR: linear
impl<T: Real> Linear<T> {
    /// Applies the layer to every row of `x`.
    ///
    /// ```text
    /// Y = X W + 1 b;   Q = X W_Q,  K = X W_K,  V = X W_V      (2.1)
    /// ```
    ///
    /// # Shapes
    /// `x`: `(n, d_in)` → `(n, d_out)`.
    ///
    /// # Book
    /// Formel (2.1) in Kapitel 2, „Queries, Keys und Values“ / formula
    /// (2.1) in chapter 2, "Queries, keys and values".
    ///
    /// # Errors
    /// `x` is empty or does not have `d_in` columns.
    pub fn forward(&self, x: &DMatrix<T>) -> Result<DMatrix<T>, Error> {
        shape::non_empty("X", x)?;
        shape::cols("X", x, self.d_in(), "d_in, the rows of W")?;
        let mut y = x * &self.w;
        // Adding b to every row is the product 1 b without building it.
        for mut row in y.row_iter_mut() {
            row += &self.b;
        }
        Ok(y)
    }
}
// ANCHOR_END: linear

impl<T: Real> Linear<T> {
    /// [`forward`](Self::forward), faster: the bias is added column by
    /// column, the order in which nalgebra stores `Y`, instead of row by
    /// row. Same numbers.
    ///
    /// # Errors
    /// Those of [`forward`](Self::forward).
    pub fn forward_fast(&self, x: &DMatrix<T>) -> Result<DMatrix<T>, Error> {
        shape::non_empty("X", x)?;
        shape::cols("X", x, self.d_in(), "d_in, the rows of W")?;
        Ok(linear_kernel(x, &self.w, &self.b))
    }
}

/// The gradients of a scalar loss `L` with respect to a linear layer's
/// input and parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearGrads<T: Real> {
    /// `∂L/∂X`, shape `(n, d_in)`.
    pub d_x: DMatrix<T>,
    /// `∂L/∂W`, shape `(d_in, d_out)`.
    pub d_w: DMatrix<T>,
    /// `∂L/∂b`, a row of `d_out` entries.
    pub d_b: DMatrix<T>,
}

// The gradients of the parameters, named as the parameters.
notation::params!(LinearGrads<T> { "w" => d_w, "b" => d_b });

// ANCHOR: linear_backward
impl<T: Real> Linear<T> {
    /// Backward pass of `Y = X W + 1 b`: from `d_y = ∂L/∂Y` to the
    /// gradients with respect to `X`, `W` and `b`.
    ///
    /// ```text
    /// ∂L/∂X = (∂L/∂Y) Wᵀ,   ∂L/∂W = Xᵀ (∂L/∂Y),   ∂L/∂b = 1ᵀ (∂L/∂Y)   (2.18)
    /// ```
    ///
    /// # Shapes
    /// `x`: `(n, d_in)`, `d_y`: `(n, d_out)` → `d_x`: `(n, d_in)`, `d_w`:
    /// `(d_in, d_out)`, `d_b`: `(1, d_out)`.
    ///
    /// # Book
    /// Formel (2.18) in Kapitel 2, „Rückwärts: die Gradienten“ / formula
    /// (2.18) in chapter 2, "Backward: the gradients".
    ///
    /// # Errors
    /// `x` or `d_y` do not have the shapes above.
    pub fn backward(
        &self,
        x: &DMatrix<T>,
        d_y: &DMatrix<T>,
    ) -> Result<LinearGrads<T>, Error> {
        self.check_backward(x, d_y)?;
        Ok(LinearGrads {
            d_x: d_y * self.w.transpose(),
            d_w: x.transpose() * d_y,
            // b was added to every row, so its gradient sums over rows.
            d_b: row_sum(d_y),
        })
    }
}
// ANCHOR_END: linear_backward

impl<T: Real> Linear<T> {
    /// [`backward`](Self::backward), faster: `Wᵀ` and `Xᵀ` are read as
    /// transposed views instead of being copied, and `∂L/∂b` is summed
    /// column by column. The same products and sums.
    ///
    /// # Errors
    /// Those of [`backward`](Self::backward).
    pub fn backward_fast(
        &self,
        x: &DMatrix<T>,
        d_y: &DMatrix<T>,
    ) -> Result<LinearGrads<T>, Error> {
        self.check_backward(x, d_y)?;
        let (d_x, d_w, d_b) = linear_backward_kernel(x, &self.w, d_y);
        Ok(LinearGrads { d_x, d_w, d_b })
    }

    /// The checks of both backward passes: `x` with `d_in` columns, `d_y`
    /// of shape `(n, d_out)`.
    fn check_backward(
        &self,
        x: &DMatrix<T>,
        d_y: &DMatrix<T>,
    ) -> Result<(), Error> {
        shape::cols("X", x, self.d_in(), "d_in, the rows of W")?;
        let out = (x.nrows(), self.d_out());
        shape::shape("∂L/∂Y", d_y, out, "n tokens, d_out")
    }
}

/// The sum of the rows of `m`, as a `(1, cols)` matrix: `1ᵀ M`.
pub(crate) fn row_sum<T: Real>(m: &DMatrix<T>) -> DMatrix<T> {
    let ncols = m.ncols();
    m.row_sum()
        .reshape_generic(nalgebra::Dyn(1), nalgebra::Dyn(ncols))
}

/// `Y = X W + 1 bᵀ` with the bias added column by column (contiguous in
/// memory) instead of row by row.
fn linear_kernel<T: Real>(
    x: &DMatrix<T>,
    w: &DMatrix<T>,
    b: &DMatrix<T>,
) -> DMatrix<T> {
    let mut y = matmul(x, w);
    let n = y.nrows().max(1);
    for (col, &b_j) in y.as_mut_slice().chunks_exact_mut(n).zip(b.iter()) {
        col.iter_mut().for_each(|y_ij| *y_ij += b_j);
    }
    y
}

/// The backward pass (2.18) of `Y = X W + 1 bᵀ`: `(∂L/∂X, ∂L/∂W, ∂L/∂b)`
/// with the transposes `Wᵀ`, `Xᵀ` read as views instead of copied, and
/// the bias gradient summed column by column. Shapes checked by the
/// caller.
fn linear_backward_kernel<T: Real>(
    x: &DMatrix<T>,
    w: &DMatrix<T>,
    d_y: &DMatrix<T>,
) -> (DMatrix<T>, DMatrix<T>, DMatrix<T>) {
    let d_x = product_new(T::one(), &view(d_y), &view_t(w));
    let d_w = product_new(T::one(), &view_t(x), &view(d_y));
    let d_b = DMatrix::from_iterator(
        1,
        d_y.ncols(),
        d_y.as_slice()
            .chunks_exact(d_y.nrows().max(1))
            .map(|col| col.iter().fold(T::zero(), |a, &b| a + b)),
    );
    (d_x, d_w, d_b)
}
