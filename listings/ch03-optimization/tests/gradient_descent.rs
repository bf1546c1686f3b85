//! Tests of gradient descent (3.1), the stability bound (3.2), mini-batch
//! gradients (3.3) and momentum (3.4): closed forms, invariants and bad
//! input. The comparison with `torch.optim.SGD` is in `tests/pytorch.rs`.

use approx::assert_relative_eq;
use ch03_optimization::quadratic::Quadratic;
use ch03_optimization::regression::LinearRegression;
use ch03_optimization::sgd::{Sgd, SgdConfig};
use ch03_optimization::{Error, Optimizer};
use nalgebra::{DMatrix, RowDVector};

/// One GD step θ − η λ θ against (1 − η λ) θ: two roundings each side, so
/// a few ulp (2.2e-16) relative.
const ONE_STEP_TOL: f64 = 1e-15;

/// t ≤ 100 steps of the above: the relative error adds up to at most
/// 100 · 4 ulp ≈ 1e-13.
const MANY_STEPS_TOL: f64 = 1e-13;

/// Finite differences: central differences with h = 1e-6 have truncation
/// error O(h²) ≈ 1e-12 times the third derivative (0 for a quadratic) and
/// cancellation error ≈ ulp · |L| / h ≈ 1e-10; 1e-7 relative is ample.
const FINITE_DIFFERENCE_TOL: f64 = 1e-7;

/// Means of a few gradients computed in a different order: ≈ 10 ulp.
const SUM_ORDER_TOL: f64 = 1e-14;

fn row(x: &[f64]) -> DMatrix<f64> {
    DMatrix::from_row_slice(1, x.len(), x)
}

fn gd(lr: f64) -> Sgd<f64> {
    Sgd::new(SgdConfig {
        lr,
        ..SgdConfig::default()
    })
    .unwrap()
}

#[test]
fn gd_step_is_theta_minus_eta_times_gradient() {
    let mut params = vec![row(&[1.0, -2.0]), DMatrix::from_element(2, 2, 0.5)];
    let grads = vec![row(&[0.25, 4.0]), DMatrix::from_element(2, 2, -1.0)];
    let mut opt = gd(0.5);
    opt.step(&mut params, &grads).unwrap();
    // Every number is a short binary fraction: the step is exact.
    assert_eq!(params[0], row(&[0.875, -4.0]));
    assert_eq!(params[1], DMatrix::from_element(2, 2, 1.0));
    assert_eq!(opt.steps(), 1);
}

#[test]
fn gd_on_a_quadratic_contracts_by_one_minus_eta_lambda() {
    // L = ½ (1 θ₁² + 10 θ₂²): along axis i the error is multiplied by
    // exactly 1 − η λ_i per step, formula (3.2).
    let q = Quadratic::diagonal(&[1.0, 10.0], &[0.0, 0.0]).unwrap();
    let eta = 0.15;
    let theta0 = [1.0, 1.0];
    let mut params = vec![row(&theta0)];
    let mut opt = gd(eta);
    for t in 1..=100 {
        let before = params[0].clone();
        let g = q.gradient(&params[0]).unwrap();
        opt.step(&mut params, &[g]).unwrap();
        for (i, lambda) in [1.0, 10.0].into_iter().enumerate() {
            let factor = 1.0 - eta * lambda;
            assert_relative_eq!(
                params[0][i] / before[i],
                factor,
                max_relative = ONE_STEP_TOL
            );
            assert_relative_eq!(
                params[0][i],
                theta0[i] * factor.powi(t),
                max_relative = MANY_STEPS_TOL
            );
        }
    }
    // The worst factor is ρ(η) = max(|1 − 0.15|, |1 − 1.5|) = 0.85.
    assert_relative_eq!(q.contraction_factor(eta), 0.85, epsilon = 1e-16);
}

#[test]
fn stability_bound_is_two_over_the_largest_eigenvalue() {
    // A = [[2, 1], [1, 2]] has eigenvalues 1 and 3 with eigenvectors
    // (1, −1)/√2 and (1, 1)/√2, so 2/λ_max = 2/3.
    #[rustfmt::skip]
    let a = DMatrix::from_row_slice(2, 2, &[
        2.0, 1.0,
        1.0, 2.0,
    ]);
    let minimum = RowDVector::from_row_slice(&[1.0, -1.0]);
    let q = Quadratic::new(a, minimum).unwrap();
    assert_relative_eq!(q.eigenvalues()[0], 1.0, max_relative = 1e-15);
    assert_relative_eq!(q.eigenvalues()[1], 3.0, max_relative = 1e-15);
    assert_relative_eq!(
        q.max_stable_learning_rate(),
        2.0 / 3.0,
        max_relative = 1e-15
    );
    assert_relative_eq!(q.best_learning_rate(), 0.5, max_relative = 1e-15);
    // At the best rate both factors are ±(κ − 1)/(κ + 1) = ±1/2.
    assert_relative_eq!(q.contraction_factor(0.5), 0.5, max_relative = 1e-15);

    // Along (1, 1) the error shrinks by 1 − 3η per step, exactly.
    let run = |eta: f64, steps: usize| {
        let mut params = vec![row(&[2.0, 0.0])]; // error (1, 1)
        let mut opt = gd(eta);
        for _ in 0..steps {
            let g = q.gradient(&params[0]).unwrap();
            opt.step(&mut params, &[g]).unwrap();
        }
        q.loss(&params[0]).unwrap()
    };
    let loss0 = q.loss(&row(&[2.0, 0.0])).unwrap(); // ½ · 6 = 3
    assert_eq!(loss0, 3.0);
    for (fraction, steps) in [(0.9, 40), (0.99, 40), (1.01, 40), (1.1, 40)] {
        let eta = fraction * 2.0 / 3.0;
        let factor: f64 = 1.0 - 3.0 * eta;
        // The loss is quadratic in the error: it scales by factor².
        let expected = loss0 * factor.powi(2 * steps as i32);
        assert_relative_eq!(run(eta, steps), expected, max_relative = 1e-12);
        if fraction < 1.0 {
            assert!(expected < loss0, "η = {eta} must converge");
        } else {
            assert!(expected > loss0, "η = {eta} must diverge");
        }
    }
}

#[test]
fn momentum_buffer_sums_gradients() {
    // b_1 = g_1, b_2 = μ g_1 + g_2, formula (3.4); μ = 0.5, η = 0.25.
    let mut opt = Sgd::new(SgdConfig {
        lr: 0.25,
        momentum: 0.5,
    })
    .unwrap();
    let mut params = vec![row(&[0.0, 0.0])];
    opt.step(&mut params, &[row(&[1.0, -2.0])]).unwrap();
    assert_eq!(params[0], row(&[-0.25, 0.5]));
    opt.step(&mut params, &[row(&[1.0, 0.0])]).unwrap();
    // b_2 = (0.5 + 1, −1 + 0) = (1.5, −1); θ_2 = θ_1 − 0.25 b_2.
    assert_eq!(params[0], row(&[-0.625, 0.75]));
}

#[test]
fn momentum_is_the_heavy_ball_and_beats_gd_when_ill_conditioned() {
    // θ_{t+1} = θ_t − η g_t + μ (θ_t − θ_{t−1}) (Polyak 1964) is the same
    // iteration as (3.4) for a constant η.
    let q = Quadratic::diagonal(&[0.01, 1.0], &[0.0, 0.0]).unwrap();
    let (eta, mu) = (1.0, 0.8);
    let mut opt = Sgd::new(SgdConfig {
        lr: eta,
        momentum: mu,
    })
    .unwrap();
    let mut params = vec![row(&[1.0, 1.0])];
    let (mut prev, mut heavy) = (row(&[1.0, 1.0]), row(&[1.0, 1.0]));
    for _ in 0..200 {
        let g = q.gradient(&params[0]).unwrap();
        opt.step(&mut params, &[g]).unwrap();
        let g = q.gradient(&heavy).unwrap();
        let next = &heavy - g * eta + (&heavy - &prev) * mu;
        prev = std::mem::replace(&mut heavy, next);
        for (a, b) in params[0].iter().zip(heavy.iter()) {
            // Same arithmetic in another order; the iterates shrink to
            // ~1e-4, so compare absolutely against a scale of 1.
            assert_relative_eq!(*a, *b, epsilon = 1e-13);
        }
    }
    // Plain GD at its best rate contracts by (κ − 1)/(κ + 1) = 99/101 per
    // step; after 200 steps the slow coordinate is still at 0.02.
    let mut plain = vec![row(&[1.0, 1.0])];
    let mut opt = gd(q.best_learning_rate());
    for _ in 0..200 {
        let g = q.gradient(&plain[0]).unwrap();
        opt.step(&mut plain, &[g]).unwrap();
    }
    let (loss_gd, loss_momentum) =
        (q.loss(&plain[0]).unwrap(), q.loss(&params[0]).unwrap());
    assert!(
        loss_momentum < 1e-3 * loss_gd,
        "momentum {loss_momentum} vs GD {loss_gd}"
    );
}

fn regression() -> (LinearRegression<f64>, Vec<DMatrix<f64>>) {
    #[rustfmt::skip]
    let x = DMatrix::from_row_slice(4, 3, &[
        1.0, 0.5, -1.0,
        0.0, 2.0, 1.0,
        -1.5, 1.0, 0.5,
        2.0, -1.0, 0.0,
    ]);
    #[rustfmt::skip]
    let y = DMatrix::from_row_slice(4, 2, &[
        1.0, 0.0,
        -1.0, 2.0,
        0.5, 0.5,
        2.0, -1.0,
    ]);
    #[rustfmt::skip]
    let w = DMatrix::from_row_slice(3, 2, &[
        0.1, -0.2,
        0.3, 0.0,
        -0.1, 0.4,
    ]);
    let b = row(&[0.05, -0.05]);
    (LinearRegression::new(x, y).unwrap(), vec![w, b])
}

#[test]
fn full_batch_gradient_matches_finite_differences() {
    let (problem, params) = regression();
    let all: Vec<usize> = (0..problem.len()).collect();
    let grads = problem.gradient(&params, &all).unwrap();
    let h = 1e-6;
    for k in 0..2 {
        for idx in 0..params[k].len() {
            let mut plus = params.clone();
            plus[k][idx] += h;
            let mut minus = params.clone();
            minus[k][idx] -= h;
            let numeric = (problem.loss(&plus).unwrap()
                - problem.loss(&minus).unwrap())
                / (2.0 * h);
            assert_relative_eq!(
                grads[k][idx],
                numeric,
                max_relative = FINITE_DIFFERENCE_TOL
            );
        }
    }
}

#[test]
fn minibatch_gradients_average_to_the_full_gradient() {
    // The mean of the mini-batch gradients over a partition into equal
    // batches is the full gradient: (3.3) is unbiased for uniform batches.
    let (problem, params) = regression();
    let full = problem.gradient(&params, &[0, 1, 2, 3]).unwrap();
    for partition in
        [vec![vec![0, 1], vec![2, 3]], vec![vec![3, 0], vec![2, 1]]]
    {
        let g0 = problem.gradient(&params, &partition[0]).unwrap();
        let g1 = problem.gradient(&params, &partition[1]).unwrap();
        for k in 0..2 {
            let mean = (&g0[k] + &g1[k]) / 2.0;
            for (a, b) in mean.iter().zip(full[k].iter()) {
                assert_relative_eq!(*a, *b, epsilon = SUM_ORDER_TOL);
            }
        }
    }
    // A single sample: ∇_W ℓ_i = x_iᵀ r_i and ∇_b ℓ_i = r_i, written out.
    // Sample 1: x = (0, 2, 1), x W = (0.5, 0.4), so r = x W + b − y
    // = (0.55, 0.35) − (−1, 2)
    // = (1.55, −1.65).
    let g = problem.gradient(&params, &[1]).unwrap();
    let r = [1.55, -1.65];
    for (j, &r_j) in r.iter().enumerate() {
        assert_relative_eq!(g[1][(0, j)], r_j, max_relative = SUM_ORDER_TOL);
        for (i, x_i) in [0.0, 2.0, 1.0].into_iter().enumerate() {
            assert_relative_eq!(
                g[0][(i, j)],
                x_i * r_j,
                epsilon = SUM_ORDER_TOL
            );
        }
    }
}

#[test]
fn gd_on_the_full_batch_reaches_the_least_squares_solution() {
    // The gradient vanishes at the minimum: after enough steps with a
    // stable η the full gradient is ~0.
    let (problem, mut params) = regression();
    let all: Vec<usize> = (0..problem.len()).collect();
    let mut opt = gd(0.2);
    let loss0 = problem.loss(&params).unwrap();
    for _ in 0..3000 {
        let g = problem.gradient(&params, &all).unwrap();
        opt.step(&mut params, &g).unwrap();
    }
    let g = problem.gradient(&params, &all).unwrap();
    let norm = (g[0].norm_squared() + g[1].norm_squared()).sqrt();
    assert!(norm < 1e-10, "gradient norm {norm}");
    assert!(problem.loss(&params).unwrap() < loss0);
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    for lr in [0.0, -0.1, f64::NAN, f64::INFINITY] {
        let err = Sgd::new(SgdConfig { lr, momentum: 0.0 }).unwrap_err();
        assert!(err.to_string().starts_with("learning rate η = "), "{err}");
    }
    for momentum in [-0.1, 1.0, f64::NAN] {
        let err = Sgd::new(SgdConfig { lr: 0.1, momentum }).unwrap_err();
        assert!(err.to_string().contains("0 ≤ μ < 1"), "{err}");
    }
    let mut opt = Sgd::new(SgdConfig {
        lr: 0.1,
        momentum: 0.9,
    })
    .unwrap();
    let mut params = vec![row(&[1.0, 2.0]), DMatrix::zeros(2, 3)];
    let good = vec![row(&[1.0, 1.0]), DMatrix::zeros(2, 3)];

    let err = opt.step(&mut params, &[good[0].clone()]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "grads: expected 2 matrices, one per parameter, got 1"
    );
    let transposed = vec![row(&[1.0, 1.0]), DMatrix::zeros(3, 2)];
    let err = opt.step(&mut params, &transposed).unwrap_err();
    assert_eq!(
        err.to_string(),
        "grads: expected grads[1] of shape (2, 3) like params[1], got (3, 2)"
    );
    // NaN and ∞ are refused, and nothing changes: not the parameters, not
    // the state, not the step count.
    let mut nan = good.clone();
    nan[1][(1, 0)] = f64::NAN;
    let before = params.clone();
    let err = opt.step(&mut params, &nan).unwrap_err();
    // Row by row: params[0] has 2 entries, then (1, 0) of a 2×3 matrix is
    // entry 3 of it, so entry 2 + 3 = 5 overall.
    assert_eq!(
        err.to_string(),
        "gradients (entries counted row by row through grads): entry 5 is \
         NaN, which is not allowed here"
    );
    assert!(err.to_string().contains("entry 5 is NaN"), "{err}");
    assert_eq!(params, before);
    assert_eq!(opt.steps(), 0);
    let mut inf = good.clone();
    inf[0][(0, 1)] = f64::NEG_INFINITY;
    let err = opt.step(&mut params, &inf).unwrap_err();
    assert!(err.to_string().contains("entry 1 is -inf"), "{err}");

    // After the first step the state fixes the shapes.
    opt.step(&mut params, &good).unwrap();
    let mut other = vec![row(&[1.0, 2.0, 3.0]), DMatrix::zeros(2, 3)];
    let grads = vec![row(&[1.0, 1.0, 1.0]), DMatrix::zeros(2, 3)];
    let err = opt.step(&mut other, &grads).unwrap_err();
    assert_eq!(
        err.to_string(),
        "params: expected params[0] of shape (1, 2), as at the first step, \
         got (1, 3)"
    );
    let none = Vec::<DMatrix<f64>>::new();
    let err = opt.step(&mut none.clone(), &none).unwrap_err();
    assert_eq!(err, Error::Empty { what: "params" });
    let err = opt.set_learning_rate(0.0).unwrap_err();
    assert!(err.to_string().starts_with("learning rate η = 0"), "{err}");

    // The problems refuse bad input too.
    let err = Quadratic::diagonal(&[1.0, 0.0], &[0.0, 0.0]).unwrap_err();
    assert!(err.to_string().contains("positive definite"), "{err}");
    #[rustfmt::skip]
    let a = DMatrix::from_row_slice(2, 2, &[1.0, 0.5, 0.0, 1.0]);
    let err = Quadratic::new(a, RowDVector::zeros(2)).unwrap_err();
    assert!(err.to_string().contains("A symmetric"), "{err}");
    let (problem, params) = regression();
    let err = problem.gradient(&params, &[]).unwrap_err();
    assert_eq!(
        err,
        Error::Empty {
            what: "mini-batch B"
        }
    );
    let err = problem.gradient(&params, &[4]).unwrap_err();
    assert!(matches!(err, Error::Index { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "mini-batch B: expected sample indices < n = 4, got index 4"
    );
    let err = problem.gradient(&params[..1], &[0]).unwrap_err();
    assert!(
        err.to_string().starts_with("params: expected [W, b]"),
        "{err}"
    );
}
