//! The test problems of chapter 3's figures: the Rosenbrock function and
//! the quadratic `½ θ A θᵀ − θ bᵀ`, their gradients against central
//! differences, their minima, and bad input.

use ch03_optimization::Error;
use ch03_optimization::quadratic::Quadratic;
use ch03_optimization::rosenbrock::Rosenbrock;
use nalgebra::{DMatrix, RowDVector};
use testing::CLOSED_FORM_TOL;

/// Central differences, step 1e-6: truncation O(h²·f''') ≈ 1e-9 for the
/// Rosenbrock function near (−1.5, 2) (third derivatives ≈ 2400·|x|),
/// rounding ε·|f|/h ≈ 1e-8 for |f| up to 50; 1e-5 relative to the
/// gradient's size still catches any wrong sign or factor.
const FD_STEP: f64 = 1e-6;
const FD_REL_TOL: f64 = 1e-5;

fn row(x: &[f64]) -> DMatrix<f64> {
    DMatrix::from_row_slice(1, x.len(), x)
}

/// `g` against central differences of `f` at `theta`, relative to `g`'s
/// largest entry (at least 1).
fn assert_gradient(
    f: impl Fn(&DMatrix<f64>) -> f64,
    g: &DMatrix<f64>,
    theta: &DMatrix<f64>,
) {
    let scale = g.amax().max(1.0);
    for j in 0..theta.len() {
        let (mut plus, mut minus) = (theta.clone(), theta.clone());
        plus[j] += FD_STEP;
        minus[j] -= FD_STEP;
        let fd = (f(&plus) - f(&minus)) / (2.0 * FD_STEP);
        assert!(
            (g[j] - fd).abs() <= FD_REL_TOL * scale,
            "θ = {theta}, coordinate {j}: {} vs {fd}",
            g[j]
        );
    }
}

#[test]
fn rosenbrock_gradient_matches_finite_differences() {
    let r = Rosenbrock::<f64>::classic();
    for p in [[-1.5, 2.0], [0.3, -0.2], [1.2, 1.5], [1.0, 1.0]] {
        let theta = row(&p);
        let g = r.gradient(&theta).unwrap();
        assert_gradient(|t| r.loss(t).unwrap(), &g, &theta);
    }
    // Another a and b: the minimum moves to (a, a²).
    let r = Rosenbrock { a: 2.0, b: 5.0 };
    let theta = row(&[-0.7, 1.1]);
    assert_gradient(
        |t| r.loss(t).unwrap(),
        &r.gradient(&theta).unwrap(),
        &theta,
    );
}

#[test]
fn rosenbrock_minimum_is_a_a_squared() {
    for r in [Rosenbrock::classic(), Rosenbrock { a: 2.0, b: 5.0 }] {
        let m = r.minimum();
        assert_eq!(r.loss(&m).unwrap(), 0.0);
        assert_eq!(r.gradient(&m).unwrap(), row(&[0.0, 0.0]));
        // Every other point is higher.
        for d in [[1e-3, 0.0], [0.0, -1e-3], [0.5, 0.5], [-2.0, 3.0]] {
            let p = row(&[m[0] + d[0], m[1] + d[1]]);
            assert!(r.loss(&p).unwrap() > 0.0);
        }
    }
    assert_eq!(Rosenbrock::<f64>::classic().minimum(), row(&[1.0, 1.0]));
    // At the start of the figures: (1 + 1.5)² + 100 (2 − 2.25)² = 12.5.
    let start = Rosenbrock::classic().loss(&row(&[-1.5, 2.0])).unwrap();
    assert!((start - 12.5).abs() < CLOSED_FORM_TOL);
}

#[test]
fn rosenbrock_refuses_a_point_that_is_not_a_row_of_two() {
    let r = Rosenbrock::<f64>::classic();
    let err = r.loss(&row(&[1.0, 2.0, 3.0])).unwrap_err();
    assert!(matches!(err, Error::Shape { what: "θ", .. }), "{err}");
    let err = r.gradient(&DMatrix::zeros(2, 1)).unwrap_err();
    assert!(matches!(err, Error::Shape { what: "θ", .. }), "{err}");
}

/// A = [[2, 1], [1, 2]], b = (1, 0): θ* = b A⁻¹ = (2, −1)/3, since
/// A⁻¹ = [[2, −1], [−1, 2]]/3.
#[test]
fn quadratic_minimum_is_computed_from_a_and_b() {
    #[rustfmt::skip]
    let a = DMatrix::<f64>::from_row_slice(2, 2, &[
        2.0, 1.0,
        1.0, 2.0,
    ]);
    let b = RowDVector::from_row_slice(&[1.0, 0.0]);
    let q = Quadratic::from_linear_term(a.clone(), b.clone()).unwrap();
    let m = q.minimum();
    assert!((m[0] - 2.0 / 3.0).abs() < CLOSED_FORM_TOL);
    assert!((m[1] + 1.0 / 3.0).abs() < CLOSED_FORM_TOL);
    let at_min = row(m.as_slice());
    assert!(q.gradient(&at_min).unwrap().amax() < CLOSED_FORM_TOL);
    assert_eq!(q.loss(&at_min).unwrap(), 0.0);
    // The gradient is θ A − b, and the loss ½ θ A θᵀ − θ bᵀ up to its
    // constant −½ θ* A θ*ᵀ = −½ θ* bᵀ.
    let plain = |t: &DMatrix<f64>| {
        let t = RowDVector::from_row_slice(t.as_slice());
        0.5 * (&t * &a).dot(&t) - t.dot(&b)
    };
    let constant = -0.5 * m.dot(&b);
    for p in [[0.0, 0.0], [1.5, -2.0], [-0.3, 0.7]] {
        let theta = row(&p);
        let g = q.gradient(&theta).unwrap();
        let t = RowDVector::from_row_slice(&p);
        let expected = &t * &a - &b;
        assert!((g - row(expected.as_slice())).amax() < CLOSED_FORM_TOL);
        let l = q.loss(&theta).unwrap();
        assert!((l + constant - plain(&theta)).abs() < CLOSED_FORM_TOL);
        assert_gradient(
            |t| q.loss(t).unwrap(),
            &q.gradient(&theta).unwrap(),
            &theta,
        );
    }
}

#[test]
fn quadratic_from_linear_term_refuses_bad_input() {
    let a = DMatrix::<f64>::identity(2, 2);
    let err = Quadratic::from_linear_term(a.clone(), RowDVector::zeros(3))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Shape {
                what: "vector b",
                ..
            }
        ),
        "{err}"
    );
    let b = RowDVector::from_row_slice(&[1.0, f64::NAN]);
    let err = Quadratic::from_linear_term(a, b).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFinite {
                what: "vector b",
                index: 1,
                ..
            }
        ),
        "{err}"
    );
    #[rustfmt::skip]
    let indefinite = DMatrix::from_row_slice(2, 2, &[
        1.0, 2.0,
        2.0, 1.0,
    ]);
    let err = Quadratic::from_linear_term(indefinite, RowDVector::zeros(2))
        .unwrap_err();
    assert!(err.to_string().contains("positive definite"), "{err}");
}
