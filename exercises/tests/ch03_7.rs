//! Tests of exercise 3.7: Nesterov momentum against gradient descent,
//! the first step in closed form, Sutskever's look-ahead form, and bad
//! input.

use ch03_optimization::Optimizer;
use ch03_optimization::sgd::{Sgd, SgdConfig};
use genai_exercises::ch03_7::*;
use nalgebra::DMatrix;
use notation::Error;

/// A few roundings of values of order 1 per step, over at most 100 steps.
const TOL: f64 = 1e-12;

/// The gradient of `L(θ) = ½ Σ_j a_j θ_j²` for a row θ.
fn grad(theta: &DMatrix<f64>, a: &[f64]) -> DMatrix<f64> {
    DMatrix::from_fn(1, a.len(), |_, j| a[j] * theta[(0, j)])
}

const A: [f64; 3] = [1.0, 4.0, 20.0];

fn start() -> DMatrix<f64> {
    DMatrix::from_row_slice(1, 3, &[1.0, -2.0, 0.5])
}

#[test]
fn without_momentum_it_is_gradient_descent() {
    let mut ours = Nesterov::new(NesterovConfig {
        lr: 0.05,
        momentum: 0.0,
    })
    .unwrap();
    let mut sgd = Sgd::new(SgdConfig {
        lr: 0.05,
        momentum: 0.0,
    })
    .unwrap();
    let (mut a, mut b) = (start(), start());
    for _ in 0..20 {
        let (ga, gb) = (grad(&a, &A), grad(&b, &A));
        ours.step(&mut a, &ga).unwrap();
        sgd.step(&mut b, &gb).unwrap();
        assert!((&a - &b).amax() <= TOL);
    }
    assert_eq!(ours.steps(), 20);
}

#[test]
fn the_first_step_is_eta_times_one_plus_beta_times_the_gradient() {
    let (lr, beta) = (0.1, 0.9);
    let mut opt = Nesterov::new(NesterovConfig { lr, momentum: beta }).unwrap();
    let mut params = vec![start(), DMatrix::from_row_slice(2, 1, &[3.0, -1.0])];
    let grads = vec![
        DMatrix::from_row_slice(1, 3, &[0.5, -1.0, 2.0]),
        DMatrix::from_row_slice(2, 1, &[-4.0, 0.25]),
    ];
    let before = params.clone();
    opt.step(&mut params, &grads).unwrap();
    for i in 0..2 {
        let want = &before[i] - &grads[i] * (lr * (1.0 + beta));
        assert!((&params[i] - want).amax() <= TOL);
    }
    // It differs from heavy-ball momentum, whose first step is η g.
    let mut heavy = Sgd::new(SgdConfig { lr, momentum: beta }).unwrap();
    let mut other = before.clone();
    heavy.step(&mut other, &grads).unwrap();
    assert!((&params[0] - &other[0]).amax() > 0.1);
}

#[test]
fn it_is_sutskevers_look_ahead_form() {
    // Sutskever et al. (2013): v ← β v − η ∇L(θ + β v), θ ← θ + v. The
    // look-ahead point φ = θ + β v follows exactly PyTorch's form.
    let (lr, beta) = (0.03, 0.8);
    let mut opt = Nesterov::new(NesterovConfig { lr, momentum: beta }).unwrap();
    let mut phi = start();
    let mut theta = start();
    let mut v = DMatrix::zeros(1, 3);
    for t in 0..100 {
        let look = &theta + &v * beta;
        v = &v * beta - grad(&look, &A) * lr;
        theta += &v;
        let g = grad(&phi, &A);
        opt.step(&mut phi, &g).unwrap();
        let want = &theta + &v * beta;
        assert!((&phi - &want).amax() <= TOL, "step {t}");
    }
    // And it converges: far below the start after 100 steps.
    assert!(phi.amax() < 1e-3, "{phi}");
}

#[test]
fn learning_rate_can_be_read_and_set() {
    let mut opt = Nesterov::new(NesterovConfig {
        lr: 0.1,
        momentum: 0.5,
    })
    .unwrap();
    assert_eq!(opt.learning_rate(), 0.1);
    opt.set_learning_rate(0.01).unwrap();
    assert_eq!(opt.learning_rate(), 0.01);
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(opt.set_learning_rate(bad).is_err());
    }
    assert_eq!(opt.learning_rate(), 0.01);
    assert_eq!(opt.steps(), 0);
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    for (lr, momentum) in [
        (0.0, 0.5),
        (-0.1, 0.5),
        (0.1, 1.0),
        (0.1, -0.1),
        (0.1, f64::NAN),
    ] {
        assert!(matches!(
            Nesterov::new(NesterovConfig { lr, momentum }),
            Err(Error::Domain { .. })
        ));
    }
    let mut opt = Nesterov::new(NesterovConfig {
        lr: 0.1,
        momentum: 0.9,
    })
    .unwrap();
    let mut params = vec![start(), start()];
    let good = vec![start(), start()];
    opt.step(&mut params, &good).unwrap();
    let before = params.clone();
    // A NaN in the second matrix: the first must not move either.
    let mut nan = good.clone();
    nan[1][(0, 2)] = f64::NAN;
    assert!(matches!(
        opt.step(&mut params, &nan),
        Err(Error::NotFinite { .. })
    ));
    // One gradient too few, a wrong shape.
    assert!(opt.step(&mut params, &vec![start()]).is_err());
    assert!(
        opt.step(&mut params, &vec![start(), DMatrix::zeros(3, 1)])
            .is_err()
    );
    assert_eq!(params, before);
    assert_eq!(opt.steps(), 1);
    // Other shapes than at the first step.
    let mut other = vec![DMatrix::zeros(2, 2), DMatrix::zeros(2, 2)];
    let other_grads = other.clone();
    assert!(opt.step(&mut other, &other_grads).is_err());
    // The state survived: the next good step is the one it would have been.
    let mut fresh = Nesterov::new(NesterovConfig {
        lr: 0.1,
        momentum: 0.9,
    })
    .unwrap();
    let mut p2 = vec![start(), start()];
    fresh.step(&mut p2, &good).unwrap();
    fresh.step(&mut p2, &good).unwrap();
    opt.step(&mut params, &good).unwrap();
    assert_eq!(params, p2);
}
