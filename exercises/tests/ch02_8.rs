//! Tests of exercise 2.8: layer normalization forward and backward
//! against the listing, a token by hand, finite differences and tokens far
//! from 0.

use ch02_transformer::layer_norm::LayerNorm;
use genai_exercises::ch02_8::*;
use nalgebra::DMatrix;
use notation::Error;

/// The same formula as the listing, maybe summed in another order.
const LISTING_TOL: f64 = 1e-13;

/// Central differences, h = 1e-5, losses of order 1 (see ch02_7).
const FD_TOL: f64 = 1e-7;

const EPS: f64 = 1e-5;

fn mat(rows: usize, cols: usize, seed: f64) -> DMatrix<f64> {
    DMatrix::from_fn(rows, cols, |i, j| {
        2.0 * (seed + 1.1 * i as f64 + 0.9 * j as f64 + 0.2 * (i * j) as f64)
            .sin()
    })
}

fn params() -> (DMatrix<f64>, DMatrix<f64>) {
    let gamma = DMatrix::from_row_slice(1, 4, &[1.0, 0.5, -2.0, 1.5]);
    let beta = DMatrix::from_row_slice(1, 4, &[0.0, 1.0, -1.0, 0.25]);
    (gamma, beta)
}

#[test]
fn a_token_by_hand() {
    // x = (1, 2, 6): μ = 3, σ² = (4 + 1 + 9)/3 = 14/3.
    let x = DMatrix::from_row_slice(1, 3, &[1.0, 2.0, 6.0]);
    let gamma = DMatrix::from_row_slice(1, 3, &[1.0, 1.0, 1.0]);
    let beta = DMatrix::zeros(1, 3);
    let f = layer_norm(&x, &gamma, &beta, EPS).unwrap();
    let r = 1.0 / (14.0_f64 / 3.0 + EPS).sqrt();
    for (j, dev) in [-2.0, -1.0, 3.0].into_iter().enumerate() {
        assert!((f.y[(0, j)] - dev * r).abs() <= 1e-15);
    }
    assert!((f.r[(0, 0)] - r).abs() <= 1e-15);
}

#[test]
fn forward_and_backward_agree_with_the_listing() {
    let x = mat(5, 4, 0.3);
    let d_y = mat(5, 4, 2.2);
    let (gamma, beta) = params();
    let f = layer_norm(&x, &gamma, &beta, EPS).unwrap();
    let listing = LayerNorm::new(gamma.clone(), beta.clone(), EPS).unwrap();
    let cache = listing.forward(&x).unwrap();
    assert!((&f.y - &cache.output).amax() <= LISTING_TOL);
    assert!((&f.x_hat - &cache.x_hat).amax() <= LISTING_TOL);
    let g = layer_norm_backward(&f, &gamma, &d_y).unwrap();
    let want = listing.backward(&cache, &d_y).unwrap();
    assert!((&g.d_x - &want.d_x).amax() <= LISTING_TOL);
    assert!((&g.d_gamma - &want.d_gamma).amax() <= LISTING_TOL);
    assert!((&g.d_beta - &want.d_beta).amax() <= LISTING_TOL);
}

#[test]
fn backward_agrees_with_central_differences() {
    let x = mat(3, 4, 1.9);
    let g_out = mat(3, 4, 3.3);
    let (gamma, beta) = params();
    let loss = |x: &DMatrix<f64>, gamma: &DMatrix<f64>, beta: &DMatrix<f64>| {
        let f = layer_norm(x, gamma, beta, EPS).unwrap();
        f.y.component_mul(&g_out).sum()
    };
    let f = layer_norm(&x, &gamma, &beta, EPS).unwrap();
    let grads = layer_norm_backward(&f, &gamma, &g_out).unwrap();
    let h = 1e-5;
    for which in 0..3 {
        let analytic = [&grads.d_x, &grads.d_gamma, &grads.d_beta][which];
        let len = analytic.len();
        for idx in 0..len {
            let mut args = [x.clone(), gamma.clone(), beta.clone()];
            args[which][idx] += h;
            let plus = loss(&args[0], &args[1], &args[2]);
            args[which][idx] -= 2.0 * h;
            let minus = loss(&args[0], &args[1], &args[2]);
            let fd = (plus - minus) / (2.0 * h);
            let a = analytic[idx];
            assert!(
                (a - fd).abs() <= FD_TOL * (1.0 + a.abs()),
                "argument {which}, entry {idx}: {a} vs {fd}"
            );
        }
    }
}

#[test]
fn rows_of_the_input_gradient_sum_to_zero() {
    // Adding c to every feature of a token changes nothing (μ moves with
    // it), so the derivative along (1, …, 1) is 0.
    let x = mat(4, 4, 0.8);
    let (gamma, beta) = params();
    let f = layer_norm(&x, &gamma, &beta, EPS).unwrap();
    let g = layer_norm_backward(&f, &gamma, &mat(4, 4, 5.0)).unwrap();
    for (i, row) in g.d_x.row_iter().enumerate() {
        assert!(row.sum().abs() <= 1e-14, "row {i} sums to {}", row.sum());
    }
}

#[test]
fn tokens_far_from_zero_keep_their_digits() {
    // Features around 1e8 with spread 1: mean(x²) − μ² would lose every
    // digit; two passes keep them.
    let x = DMatrix::from_row_slice(
        1,
        4,
        &[1e8 + 1.0, 1e8 - 1.0, 1e8 + 2.0, 1e8 - 2.0],
    );
    let ones = DMatrix::from_element(1, 4, 1.0);
    let f = layer_norm(&x, &ones, &DMatrix::zeros(1, 4), EPS).unwrap();
    let small = DMatrix::from_row_slice(1, 4, &[1.0, -1.0, 2.0, -2.0]);
    let g = layer_norm(&small, &ones, &DMatrix::zeros(1, 4), EPS).unwrap();
    assert!((&f.y - &g.y).amax() <= 1e-8);
}

#[test]
fn bad_input_is_refused() {
    let (gamma, beta) = params();
    let x = mat(2, 4, 0.0);
    assert!(matches!(
        layer_norm(&DMatrix::zeros(0, 4), &gamma, &beta, EPS),
        Err(Error::Empty { .. })
    ));
    assert!(matches!(
        layer_norm(&mat(2, 3, 0.0), &gamma, &beta, EPS),
        Err(Error::Shape { .. })
    ));
    for eps in [0.0, -1.0, f64::NAN] {
        assert!(matches!(
            layer_norm(&x, &gamma, &beta, eps),
            Err(Error::Domain { .. })
        ));
    }
    let f = layer_norm(&x, &gamma, &beta, EPS).unwrap();
    assert!(matches!(
        layer_norm_backward(&f, &gamma, &mat(3, 4, 0.0)),
        Err(Error::Shape { .. })
    ));
}
