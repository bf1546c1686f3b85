//! The Rosenbrock function, the test problem of the figures of section
//! „Adam“ / "Adam" of chapter 3: a narrow curved valley in which the
//! minimum is easy to reach and hard to walk along.
//!
//! Book: section „Adam“ / "Adam" of chapter 3.

use nalgebra::DMatrix;
use notation::{Error, Real, lit, shape};

/// The Rosenbrock function `f(x, y) = (a − x)² + b (y − x²)²` (Rosenbrock
/// 1960) of a row `θ = (x, y)`, with its minimum 0 at `(a, a²)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rosenbrock<T: Real> {
    /// `a`, the `x` of the minimum (1 in the classic form).
    pub a: T,
    /// `b`, the steepness of the valley's walls (100 in the classic
    /// form).
    pub b: T,
}

impl<T: Real> Rosenbrock<T> {
    /// The classic form with `a = 1`, `b = 100` (Rosenbrock 1960): the
    /// minimum at `(1, 1)`.
    pub fn classic() -> Self {
        Rosenbrock {
            a: T::one(),
            b: lit::<T>(100.0),
        }
    }

    /// The minimum `(a, a²)`, a `(1, 2)` row.
    pub fn minimum(&self) -> DMatrix<T> {
        DMatrix::from_row_slice(1, 2, &[self.a, self.a * self.a])
    }
}

// ANCHOR: rosenbrock
impl<T: Real> Rosenbrock<T> {
    /// `f(θ)` for a row `θ = (x, y)`.
    ///
    /// ```text
    /// f(x, y) = (a − x)² + b (y − x²)²
    /// ```
    ///
    /// # Shapes
    /// `theta`: `(1, 2)`.
    ///
    /// # Errors
    /// `theta` is not of shape `(1, 2)`.
    pub fn loss(&self, theta: &DMatrix<T>) -> Result<T, Error> {
        shape::shape("θ", theta, (1, 2), "a row (x, y)")?;
        let (x, y) = (theta[0], theta[1]);
        let (along, across) = (self.a - x, y - x * x);
        Ok(along * along + self.b * across * across)
    }

    /// The gradient `∇f(θ)`, a `(1, 2)` row.
    ///
    /// ```text
    /// ∂f/∂x = −2 (a − x) − 4 b x (y − x²),   ∂f/∂y = 2 b (y − x²)
    /// ```
    ///
    /// # Shapes
    /// `theta`: `(1, 2)` → `(1, 2)`.
    ///
    /// # Errors
    /// `theta` is not of shape `(1, 2)`.
    pub fn gradient(&self, theta: &DMatrix<T>) -> Result<DMatrix<T>, Error> {
        shape::shape("θ", theta, (1, 2), "a row (x, y)")?;
        let (x, y) = (theta[0], theta[1]);
        let (two, four) = (lit::<T>(2.0), lit::<T>(4.0));
        let across = y - x * x;
        let d_x = -two * (self.a - x) - four * self.b * x * across;
        let d_y = two * self.b * across;
        Ok(DMatrix::from_row_slice(1, 2, &[d_x, d_y]))
    }
}
// ANCHOR_END: rosenbrock
