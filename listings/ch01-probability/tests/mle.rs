//! Tests of the maximum-likelihood listings, formulas (1.4) to (1.9):
//! closed forms, invariants (the estimate maximizes the likelihood, the
//! gradient vanishes there), finite-difference checks of every gradient,
//! the bias (1.9) computed exactly, and float64 reference values from
//! PyTorch (`reference/mle.py` wrote `reference/mle.json`).

use approx::assert_relative_eq;
use ch01_probability::Error;
use ch01_probability::mle::{
    Variance, bernoulli_log_likelihood, bernoulli_mle,
    bernoulli_nll_derivative, categorical_log_likelihood, categorical_mle,
    gaussian_mle, gaussian_nll,
};
use nalgebra::DVector;
use serde::Deserialize;
use testing::{CLOSED_FORM_TOL, close};

/// Against PyTorch: same formulas in float64, but torch evaluates
/// log-probabilities term by term (log σ, log 2π separately) and sums in
/// another order; a few ulps of the largest term.
const TORCH_TOL: f64 = 1e-12;

/// Central differences with step h = 1e-6 have truncation error O(h²) ≈
/// 1e-12 times the third derivative and rounding error ≈ ε·|f|/h ≈ 1e-10
/// relative to the NLL values here; 1e-6 relative leaves a wide margin
/// and still catches a wrong sign or a missing factor.
const FD_TOL: f64 = 1e-6;
const FD_STEP: f64 = 1e-6;

fn flips(pattern: &str) -> Vec<bool> {
    pattern.chars().map(|c| c == '1').collect()
}

fn v(x: &[f64]) -> DVector<f64> {
    DVector::from_row_slice(x)
}

#[test]
fn bernoulli_mle_is_k_over_n_and_maximizes_the_likelihood() {
    let x = flips("1011011101"); // k = 7, N = 10
    let theta_hat: f64 = bernoulli_mle(&x).unwrap();
    assert_eq!(theta_hat, 0.7);
    // The derivative of the NLL vanishes at θ̂ ...
    let d = bernoulli_nll_derivative(theta_hat, &x).unwrap();
    assert!(d.abs() < CLOSED_FORM_TOL * 10.0 / 0.3, "derivative {d}");
    // ... and θ̂ beats every other θ on a grid.
    let best = bernoulli_log_likelihood(theta_hat, &x).unwrap();
    for j in 1..100 {
        let theta = f64::from(j) / 100.0;
        if theta != 0.7 {
            assert!(bernoulli_log_likelihood(theta, &x).unwrap() < best);
        }
    }
    // Closed form of (1.4): 7 log 0.7 + 3 log 0.3.
    assert_relative_eq!(
        best,
        7.0 * 0.7_f64.ln() + 3.0 * 0.3_f64.ln(),
        max_relative = CLOSED_FORM_TOL
    );
    // All successes: θ̂ = 1, and log L(1) = 0 by 0 · log 0 = 0.
    let all = flips("111");
    assert_eq!(bernoulli_mle::<f64>(&all).unwrap(), 1.0);
    assert_eq!(bernoulli_log_likelihood(1.0, &all).unwrap(), 0.0);
    assert_eq!(
        bernoulli_log_likelihood(0.0, &all).unwrap(),
        f64::NEG_INFINITY
    );
}

#[test]
fn bernoulli_derivative_matches_finite_differences() {
    let x = flips("1011011101");
    let nll = |t: f64| -bernoulli_log_likelihood(t, &x).unwrap();
    for theta in [0.05, 0.3, 0.5, 0.7, 0.95] {
        let fd =
            (nll(theta + FD_STEP) - nll(theta - FD_STEP)) / (2.0 * FD_STEP);
        let d = bernoulli_nll_derivative(theta, &x).unwrap();
        assert!((d - fd).abs() <= FD_TOL * d.abs().max(1.0), "{d} vs {fd}");
    }
}

#[test]
fn categorical_mle_is_relative_frequency_and_maximizes_the_likelihood() {
    let y = [0, 2, 2, 1, 0, 2, 3, 2, 0, 2, 1, 2];
    let theta: DVector<f64> = categorical_mle(&y, 4).unwrap();
    let expected = [3.0 / 12.0, 2.0 / 12.0, 6.0 / 12.0, 1.0 / 12.0];
    for (t, e) in theta.iter().zip(expected) {
        assert_relative_eq!(*t, e, max_relative = CLOSED_FORM_TOL);
    }
    assert_relative_eq!(theta.sum(), 1.0, max_relative = CLOSED_FORM_TOL);
    // Any other distribution has a smaller likelihood (Gibbs' inequality).
    let best = categorical_log_likelihood(&theta, &y).unwrap();
    for other in [
        [0.25, 0.25, 0.25, 0.25],
        [0.2, 0.2, 0.5, 0.1],
        [0.3, 0.1, 0.5, 0.1],
    ] {
        let other = v(&other);
        let ll = categorical_log_likelihood(&other, &y).unwrap();
        assert!(ll < best, "{ll} ≥ {best} for {other}");
    }
    // A class that never occurs gets probability 0; one unused class
    // index does not change the others.
    let theta: DVector<f64> = categorical_mle(&[1, 1, 0], 3).unwrap();
    assert_eq!(theta[2], 0.0);
}

#[test]
fn gaussian_mle_closed_form_and_convention() {
    let x = v(&[1.0, 2.0, 3.0, 4.0]);
    let (mean, var) = gaussian_mle(&x, Variance::MaximumLikelihood).unwrap();
    assert_eq!(mean, 2.5);
    // (2.25 + 0.25 + 0.25 + 2.25) / 4
    assert_relative_eq!(var, 1.25, max_relative = CLOSED_FORM_TOL);
    let (_, s2) = gaussian_mle(&x, Variance::Unbiased).unwrap();
    assert_relative_eq!(s2, 5.0 / 3.0, max_relative = CLOSED_FORM_TOL);
    // One sample: mean is the sample, the ML variance is 0.
    assert_eq!(
        gaussian_mle(&v(&[3.5]), Variance::MaximumLikelihood).unwrap(),
        (3.5, 0.0)
    );
}

#[test]
fn gaussian_gradient_vanishes_at_the_mle_and_nll_is_minimal_there() {
    let x = v(&[2.1, -0.3, 1.7, 0.4, 3.2, 1.1, -1.5, 0.9]);
    let (mu, var) = gaussian_mle(&x, Variance::MaximumLikelihood).unwrap();
    let sigma = var.sqrt();
    let (best, d_mu, d_sigma) = gaussian_nll(mu, sigma, &x).unwrap();
    assert!(
        d_mu.abs() < 1e-13 && d_sigma.abs() < 1e-13,
        "{d_mu} {d_sigma}"
    );
    for (dm, ds) in [(0.01, 0.0), (-0.01, 0.0), (0.0, 0.01), (0.0, -0.01)] {
        let (other, _, _) = gaussian_nll(mu + dm, sigma + ds, &x).unwrap();
        assert!(other > best);
    }
    // The unbiased σ is not the maximum-likelihood σ: its NLL is larger.
    let (_, s2) = gaussian_mle(&x, Variance::Unbiased).unwrap();
    assert!(gaussian_nll(mu, s2.sqrt(), &x).unwrap().0 > best);
}

#[test]
fn gaussian_gradient_matches_finite_differences() {
    let x = v(&[2.1, -0.3, 1.7, 0.4, 3.2, 1.1, -1.5, 0.9]);
    let nll = |m: f64, s: f64| gaussian_nll(m, s, &x).unwrap().0;
    for (mu, sigma) in [(0.0, 1.0), (0.8, 1.4), (-1.0, 0.5), (2.5, 3.0)] {
        let (_, d_mu, d_sigma) = gaussian_nll(mu, sigma, &x).unwrap();
        let h = FD_STEP;
        let fd_mu = (nll(mu + h, sigma) - nll(mu - h, sigma)) / (2.0 * h);
        let fd_sigma = (nll(mu, sigma + h) - nll(mu, sigma - h)) / (2.0 * h);
        assert!((d_mu - fd_mu).abs() <= FD_TOL * d_mu.abs().max(1.0));
        assert!((d_sigma - fd_sigma).abs() <= FD_TOL * d_sigma.abs().max(1.0));
    }
}

#[test]
fn ml_variance_is_biased_by_exactly_n_minus_one_over_n() {
    // E[σ̂²] computed exactly: average σ̂² over all 3^N equally likely
    // samples of size N from the uniform distribution on {0, 1, 3}
    // (mean 4/3, variance σ² = (0 + 1 + 9)/3 − 16/9 = 14/9).
    let values = [0.0, 1.0, 3.0];
    let sigma2 = 14.0 / 9.0;
    for n in 1..=6_u32 {
        let count = 3_usize.pow(n);
        let mut sum_ml = 0.0;
        let mut sum_unbiased = 0.0;
        for code in 0..count {
            let x = DVector::from_fn(n as usize, |i, _| {
                values[code / 3_usize.pow(i as u32) % 3]
            });
            sum_ml += gaussian_mle(&x, Variance::MaximumLikelihood).unwrap().1;
            if n >= 2 {
                sum_unbiased += gaussian_mle(&x, Variance::Unbiased).unwrap().1;
            }
        }
        let n_f = f64::from(n);
        let expected_ml = (n_f - 1.0) / n_f * sigma2;
        assert!(
            (sum_ml / count as f64 - expected_ml).abs() < 1e-13,
            "N = {n}"
        );
        if n >= 2 {
            assert_relative_eq!(
                sum_unbiased / count as f64,
                sigma2,
                max_relative = 1e-13 // 729 sums, each a few ulps
            );
        }
    }
}

#[test]
fn two_pass_variance_survives_a_large_mean() {
    // Offsets with variance 0.575, shifted by 10^8: all exact in f64.
    let offsets = [0.5, -0.25, 1.0, -1.25, 0.0];
    let x = DVector::from_iterator(5, offsets.iter().map(|d| 1e8 + d));
    let (mean, var) = gaussian_mle(&x, Variance::MaximumLikelihood).unwrap();
    assert_eq!(mean, 1e8);
    assert_relative_eq!(var, 0.575, max_relative = CLOSED_FORM_TOL);
    // The one-pass formula E[x²] − E[x]² loses it: x² ≈ 10^16, where the
    // spacing of f64 is 2, so the difference is off by far more than 1%.
    let one_pass: f64 = x.map(|x_i| x_i * x_i).mean() - mean * mean;
    assert!((one_pass - 0.575).abs() > 0.01, "one-pass gave {one_pass}");
}

#[derive(Deserialize)]
struct Reference {
    flips: Vec<u8>,
    bernoulli: Vec<BernoulliCase>,
    categorical: CategoricalCase,
    samples: Vec<f64>,
    gaussian_nll: Vec<GaussianCase>,
    variances: Vec<VarianceCase>,
}

#[derive(Deserialize)]
struct BernoulliCase {
    theta: f64,
    log_likelihood: f64,
    nll_grad: f64,
}

#[derive(Deserialize)]
struct CategoricalCase {
    y: Vec<usize>,
    k: usize,
    mle: Vec<f64>,
    theta: Vec<f64>,
    log_likelihood: f64,
}

#[derive(Deserialize)]
struct GaussianCase {
    mu: f64,
    sigma: f64,
    nll: f64,
    d_mu: f64,
    d_sigma: f64,
}

#[derive(Deserialize)]
struct VarianceCase {
    x: Vec<f64>,
    mean: f64,
    var_ml: f64,
    var_unbiased: f64,
}

#[test]
fn matches_pytorch_float64() {
    let text = include_str!("../reference/mle.json");
    let r: Reference = testing::reference(text);
    let x: Vec<bool> = r.flips.iter().map(|&f| f == 1).collect();
    for c in &r.bernoulli {
        let ll = bernoulli_log_likelihood(c.theta, &x).unwrap();
        let d = bernoulli_nll_derivative(c.theta, &x).unwrap();
        assert!(close(ll, c.log_likelihood, TORCH_TOL), "θ = {}", c.theta);
        assert!(close(d, c.nll_grad, TORCH_TOL), "θ = {}", c.theta);
    }
    let cat = &r.categorical;
    let mle: DVector<f64> = categorical_mle(&cat.y, cat.k).unwrap();
    for (a, b) in mle.iter().zip(&cat.mle) {
        assert!(close(*a, *b, TORCH_TOL));
    }
    let ll = categorical_log_likelihood(&v(&cat.theta), &cat.y).unwrap();
    assert!(close(ll, cat.log_likelihood, TORCH_TOL));
    let s = v(&r.samples);
    for c in &r.gaussian_nll {
        let (nll, d_mu, d_sigma) = gaussian_nll(c.mu, c.sigma, &s).unwrap();
        assert!(close(nll, c.nll, TORCH_TOL), "μ = {}", c.mu);
        assert!(close(d_mu, c.d_mu, TORCH_TOL), "μ = {}", c.mu);
        assert!(close(d_sigma, c.d_sigma, TORCH_TOL), "μ = {}", c.mu);
    }
    for c in &r.variances {
        let x = v(&c.x);
        let (mean, var) =
            gaussian_mle(&x, Variance::MaximumLikelihood).unwrap();
        let (_, s2) = gaussian_mle(&x, Variance::Unbiased).unwrap();
        assert!(close(mean, c.mean, TORCH_TOL));
        assert!(close(var, c.var_ml, TORCH_TOL), "{var} vs {}", c.var_ml);
        assert!(close(s2, c.var_unbiased, TORCH_TOL));
    }
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    assert_eq!(
        bernoulli_mle::<f64>(&[]),
        Err(Error::Empty {
            what: "coin flips x"
        })
    );
    let err = bernoulli_log_likelihood(1.5, &flips("10")).unwrap_err();
    assert!(err.to_string().starts_with("Bernoulli parameter θ = 1.5"));
    assert!(bernoulli_nll_derivative(0.0, &flips("10")).is_err());
    let err = categorical_mle::<f64>(&[0, 3, 1], 3).unwrap_err();
    assert!(matches!(err, Error::Index { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "class indices y: expected class indices 0..3 (K = 3 classes), \
         got y_1 = 3"
    );
    assert!(categorical_mle::<f64>(&[], 3).is_err());
    let err = categorical_log_likelihood(&v(&[0.5, 0.6]), &[0]).unwrap_err();
    assert!(
        err.to_string().contains("sums to 1 (within 1.5e-8)"),
        "{err}"
    );
    let err = categorical_log_likelihood(&v(&[1.2, -0.2]), &[0]).unwrap_err();
    assert_eq!(
        err,
        Error::Domain {
            what: "categorical parameters θ",
            requirement: "every entry ≥ 0",
            value: -0.2
        }
    );
    let x = v(&[1.0, 2.0]);
    for sigma in [0.0, -1.0, f64::NAN] {
        let err = gaussian_nll(0.0, sigma, &x).unwrap_err();
        assert!(err.to_string().starts_with("standard deviation σ"), "{err}");
    }
    let empty = DVector::<f64>::zeros(0);
    assert_eq!(
        gaussian_mle(&empty, Variance::MaximumLikelihood),
        Err(Error::Empty { what: "samples x" })
    );
    let err = gaussian_mle(&v(&[1.0]), Variance::Unbiased).unwrap_err();
    assert!(err.to_string().contains("N ≥ 2"), "{err}");
    let err = gaussian_mle(&v(&[1.0, f64::INFINITY]), Variance::Unbiased);
    assert!(err.unwrap_err().to_string().contains("entry 1 is inf"));
}
