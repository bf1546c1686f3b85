//! A convex quadratic loss, the model problem for step sizes: on it,
//! gradient descent can be solved exactly.
//!
//! Book: section „Gradientenabstieg“ / "Gradient descent" of chapter 3.

use nalgebra::{DMatrix, RowDVector};
use notation::{Error, Real, lit};

/// The quadratic loss `L(θ) = ½ (θ − θ*) A (θ − θ*)ᵀ` of a row `θ`, with
/// a symmetric positive definite matrix `A` and the minimum at `θ*`;
/// multiplied out, `½ θ A θᵀ − θ bᵀ` with `b = θ* A`, plus a constant.
///
/// Its gradient is the row `∇L(θ) = (θ − θ*) A`, and its eigenvalues
/// `a_1 ≤ … ≤ a_d` are the curvatures along the principal axes.
#[derive(Debug, Clone, PartialEq)]
pub struct Quadratic<T: Real> {
    a: DMatrix<T>,
    minimum: RowDVector<T>,
    eigenvalues: Vec<T>,
}

impl<T: Real> Quadratic<T> {
    /// The quadratic with curvature matrix `a` and minimum `minimum`.
    ///
    /// # Shapes
    /// `a`: `(d, d)`, symmetric; `minimum`: a row of `d` entries.
    ///
    /// # Errors
    /// `a` is empty, not square, not symmetric, not positive definite, or
    /// does not fit `minimum`; an entry is NaN or infinite.
    pub fn new(a: DMatrix<T>, minimum: RowDVector<T>) -> Result<Self, Error> {
        let d = a.nrows();
        if d == 0 {
            return Err(Error::Empty { what: "matrix A" });
        }
        if a.ncols() != d {
            return Err(Error::Shape {
                what: "matrix A",
                expected: format!("a square matrix with {d} columns"),
                got: format!("{} columns", a.ncols()),
            });
        }
        if minimum.len() != d {
            return Err(Error::Shape {
                what: "minimum θ*",
                expected: format!("{d} entries like A"),
                got: format!("{}", minimum.len()),
            });
        }
        for (what, m) in [
            ("matrix A", a.as_slice()),
            ("minimum θ*", minimum.as_slice()),
        ] {
            if let Some(index) = m.iter().position(|x| !x.is_finite()) {
                return Err(Error::NotFinite {
                    what,
                    index,
                    value: m[index].into(),
                });
            }
        }
        let asymmetry = (&a - a.transpose()).amax();
        if asymmetry != T::zero() {
            return Err(Error::Domain {
                what: "largest |A_ij − A_ji| of matrix A",
                requirement: "0 (A symmetric)",
                value: asymmetry.into(),
            });
        }
        let mut eigenvalues: Vec<T> = a
            .clone()
            .symmetric_eigen()
            .eigenvalues
            .iter()
            .copied()
            .collect();
        eigenvalues.sort_by(|x, y| x.partial_cmp(y).expect("finite"));
        if eigenvalues[0] <= T::zero() {
            return Err(Error::Domain {
                what: "smallest eigenvalue λ_min of A",
                requirement: "λ_min > 0 (A positive definite)",
                value: eigenvalues[0].into(),
            });
        }
        Ok(Quadratic {
            a,
            minimum,
            eigenvalues,
        })
    }

    /// The diagonal quadratic `½ Σ a_i (θ_i − θ*_i)²`: its axes are the
    /// coordinate axes.
    ///
    /// # Errors
    /// As [`Quadratic::new`]: an `a_i ≤ 0`, or lengths that differ.
    pub fn diagonal(lambdas: &[T], minimum: &[T]) -> Result<Self, Error> {
        let a =
            DMatrix::from_diagonal(&nalgebra::DVector::from_row_slice(lambdas));
        Self::new(a, RowDVector::from_row_slice(minimum))
    }

    /// The number of coordinates `d`.
    pub fn dim(&self) -> usize {
        self.minimum.len()
    }

    /// The eigenvalues of `A`, smallest first.
    pub fn eigenvalues(&self) -> &[T] {
        &self.eigenvalues
    }

    /// The minimum `θ*`.
    pub fn minimum(&self) -> &RowDVector<T> {
        &self.minimum
    }

    fn offset(&self, theta: &DMatrix<T>) -> Result<RowDVector<T>, Error> {
        if theta.shape() != (1, self.dim()) {
            return Err(Error::Shape {
                what: "θ",
                expected: format!("shape (1, {})", self.dim()),
                got: format!("{:?}", theta.shape()),
            });
        }
        Ok(RowDVector::from_row_slice(theta.as_slice()) - &self.minimum)
    }
}

// ANCHOR: quadratic
impl<T: Real> Quadratic<T> {
    /// The quadratic `½ θ A θᵀ − θ bᵀ` from `A` and `b`, with its minimum
    /// computed: there the gradient `θ A − b` vanishes.
    ///
    /// ```text
    /// L(θ) = ½ θ A θᵀ − θ bᵀ,   ∇L(θ) = θ A − b,   θ* = b A⁻¹
    /// ```
    ///
    /// # Shapes
    /// `a`: `(d, d)`, symmetric; `b`: a row of `d` entries.
    ///
    /// # Errors
    /// Those of [`Quadratic::new`] for `A`; `b` without `d` entries, or
    /// with an entry that is NaN or infinite.
    pub fn from_linear_term(
        a: DMatrix<T>,
        b: RowDVector<T>,
    ) -> Result<Self, Error> {
        check_linear_term(&a, &b)?;
        // Checks A: symmetric and positive definite.
        let q = Quadratic::new(a, RowDVector::zeros(b.len()))?;
        // θ* A = b is A θ*ᵀ = bᵀ (A is symmetric), solved by Cholesky,
        // A = C Cᵀ, which exists because A is positive definite.
        let not_definite = || Error::Domain {
            what: "matrix A (Cholesky factorization)",
            requirement: "A numerically positive definite",
            value: q.eigenvalues[0].into(),
        };
        let cholesky = q.a.clone().cholesky().ok_or_else(not_definite)?;
        let minimum = cholesky.solve(&b.transpose()).transpose();
        Ok(Quadratic { minimum, ..q })
    }

    /// `L(θ)` for a row `θ` (a `(1, d)` matrix, as the optimizers use),
    /// measured from the minimum: `L(θ*) = 0`. (The constant
    /// `−½ θ* A θ*ᵀ` of `½ θ A θᵀ − θ bᵀ` changes neither the gradient
    /// nor any step.)
    ///
    /// ```text
    /// L(θ) = ½ (θ − θ*) A (θ − θ*)ᵀ
    /// ```
    ///
    /// # Errors
    /// `theta` is not of shape `(1, d)`.
    pub fn loss(&self, theta: &DMatrix<T>) -> Result<T, Error> {
        let e = self.offset(theta)?;
        let half: T = lit(0.5);
        Ok(half * (&e * &self.a).dot(&e))
    }

    /// The gradient `∇L(θ) = (θ − θ*) A = θ A − b`, a `(1, d)` matrix.
    ///
    /// # Errors
    /// `theta` is not of shape `(1, d)`.
    pub fn gradient(&self, theta: &DMatrix<T>) -> Result<DMatrix<T>, Error> {
        let e = self.offset(theta)?;
        let g = e * &self.a;
        Ok(DMatrix::from_row_slice(1, g.len(), g.as_slice()))
    }
}
// ANCHOR_END: quadratic

/// `b` has the `d` entries of `A`'s rows, all finite.
fn check_linear_term<T: Real>(
    a: &DMatrix<T>,
    b: &RowDVector<T>,
) -> Result<(), Error> {
    if b.len() != a.nrows() {
        return Err(Error::Shape {
            what: "vector b",
            expected: format!("{} entries like A", a.nrows()),
            got: format!("{}", b.len()),
        });
    }
    if let Some(index) = b.iter().position(|x| !x.is_finite()) {
        return Err(Error::NotFinite {
            what: "vector b",
            index,
            value: b[index].into(),
        });
    }
    Ok(())
}

// ANCHOR: stability
impl<T: Real> Quadratic<T> {
    /// The factor by which gradient descent with learning rate `eta`
    /// shrinks the distance to the minimum per step, in the worst
    /// direction; the iteration converges for every start iff it is `< 1`.
    ///
    /// ```text
    /// θ_{t+1} − θ* = (θ_t − θ*)(I − η A)
    /// ρ(η) = max_i |1 − η a_i| < 1  ⇔  0 < η < 2 / a_max          (3.2)
    /// ```
    ///
    /// Along eigenvector `i` the error is multiplied by `1 − η a_i` in
    /// every step; `ρ(η)` is the largest of these factors in magnitude.
    ///
    /// # Book
    /// Formel (3.2) in Kapitel 3, „Gradientenabstieg“ / formula (3.2) in
    /// chapter 3, "Gradient descent".
    pub fn contraction_factor(&self, eta: T) -> T {
        self.eigenvalues
            .iter()
            .map(|&lambda| (T::one() - eta * lambda).abs())
            .fold(T::zero(), |a, b| a.max(b))
    }

    /// The stability bound `2 / a_max` of formula (3.2): gradient descent
    /// on this quadratic converges iff `0 < η < 2 / a_max`.
    pub fn max_stable_learning_rate(&self) -> T {
        let lambda_max = self.eigenvalues[self.eigenvalues.len() - 1];
        (T::one() + T::one()) / lambda_max
    }

    /// The learning rate with the smallest contraction factor,
    /// `η = 2 / (a_min + a_max)`, where `ρ = (κ − 1) / (κ + 1)` with the
    /// condition number `κ = a_max / a_min`.
    pub fn best_learning_rate(&self) -> T {
        let lambda_min = self.eigenvalues[0];
        let lambda_max = self.eigenvalues[self.eigenvalues.len() - 1];
        (T::one() + T::one()) / (lambda_min + lambda_max)
    }
}
// ANCHOR_END: stability
