//! Tests of layer normalization, formula (2.11): a token by hand, mean 0
//! and variance σ²/(σ² + ε) ≈ 1 per token, shift invariance, a constant
//! token, tokens around 10⁴ in f32, and float64 reference values from
//! `nn.LayerNorm` (`reference/layer_norm.py` wrote
//! `reference/layer_norm.json`).

mod common;

use ch02_transformer::layer_norm::{LayerNorm, PYTORCH_EPS};
use ch02_transformer::random;
use common::{assert_close, json, matrix, row};
use nalgebra::DMatrix;
use testing::CLOSED_FORM_TOL;

/// Mean of x̂ over ≤ 16 features of order 1: the rounding of each term.
const MEAN_TOL: f64 = 1e-15;

/// Against PyTorch: the same two-pass formula in float64; inputs around
/// 10⁴ lose four digits in x − μ in both, so 1e-11 rather than 1e-13.
const TORCH_TOL: f64 = 1e-11;

/// f32 tokens around 10⁴: x − μ is exact to an ulp of 10⁴ (≈ 1e-3), a
/// relative error of 1e-3 in x̂ entries of order 1.
const F32_FAR_FROM_ZERO_TOL: f64 = 2e-3;

#[test]
fn one_token_by_hand() {
    // x = (1, 2, 3): μ = 2, σ² = 2/3, x̂ = (−1, 0, 1) / √(2/3 + ε).
    let ln = LayerNorm::identity(3).unwrap();
    let x = DMatrix::from_row_slice(1, 3, &[1.0, 2.0, 3.0]);
    let c = ln.forward(&x).unwrap();
    let s = 1.0 / (2.0 / 3.0 + PYTORCH_EPS).sqrt();
    let expected = DMatrix::from_row_slice(1, 3, &[-s, 0.0, s]);
    assert_close(&c.output, &expected, 0.0, CLOSED_FORM_TOL, "by hand");
    // γ and β scale and shift each feature.
    let ln = LayerNorm::new(
        DMatrix::from_row_slice(1, 3, &[2.0, 5.0, -1.0]),
        DMatrix::from_row_slice(1, 3, &[0.5, 1.0, 0.0]),
        PYTORCH_EPS,
    )
    .unwrap();
    let c = ln.forward(&x).unwrap();
    let expected = DMatrix::from_row_slice(1, 3, &[0.5 - 2.0 * s, 1.0, -s]);
    assert_close(&c.output, &expected, 0.0, CLOSED_FORM_TOL, "γ, β");
}

#[test]
fn every_token_gets_mean_zero_and_variance_about_one() {
    let mut rng = random::rng(41);
    let (n, d) = (5, 16);
    let x = random::normal(&mut rng, n, d, 4.0).add_scalar(3.0);
    let ln = LayerNorm::new(
        random::normal(&mut rng, d, 1, 1.0).transpose(),
        random::normal(&mut rng, d, 1, 1.0).transpose(),
        PYTORCH_EPS,
    )
    .unwrap();
    let c = ln.forward(&x).unwrap();
    for i in 0..n {
        let row = c.x_hat.row(i);
        assert!(row.mean().abs() <= MEAN_TOL, "mean {}", row.mean());
        // Before γ and β the variance is σ²/(σ² + ε): 1 up to ε/σ².
        let xi = x.row(i);
        let var_x = (xi.add_scalar(-xi.mean())).norm_squared() / d as f64;
        let expected = var_x / (var_x + PYTORCH_EPS);
        let var_hat = row.norm_squared() / d as f64;
        assert!((var_hat - expected).abs() <= CLOSED_FORM_TOL, "{var_hat}");
        assert!((var_hat - 1.0).abs() < 1e-5);
        // The output is γ ⊙ x̂ + β.
        for j in 0..d {
            let y = ln.gamma[j] * c.x_hat[(i, j)] + ln.beta[j];
            assert_eq!(c.output[(i, j)], y);
        }
    }
    // Shifting a token by a constant changes nothing (up to rounding).
    let shifted = ln.forward(&x.add_scalar(-7.5)).unwrap();
    assert_close(&shifted.output, &c.output, 1e-13, 1e-13, "shift");
}

#[test]
fn a_constant_token_gives_beta() {
    let beta = DMatrix::from_row_slice(1, 4, &[0.1, -0.2, 0.3, 0.4]);
    let ln =
        LayerNorm::new(DMatrix::repeat(1, 4, 2.0), beta.clone(), 1e-5).unwrap();
    let x = DMatrix::from_element(2, 4, 7.25);
    let c = ln.forward(&x).unwrap();
    // σ² = 0: x − μ = 0 exactly, and ε keeps 1/√(0 + ε) finite.
    assert_eq!(c.output.row(0), beta.row(0));
    assert!(c.inv_std.iter().all(|r: &f64| r.is_finite()));
}

#[test]
fn tokens_far_from_zero_keep_their_digits_in_f32() {
    let mut rng = random::rng(42);
    let d = 8;
    let noise = random::normal(&mut rng, 3, d, 1.0);
    let x64 = noise.add_scalar(1e4);
    let x32 = x64.map(|v| v as f32);
    let reference = LayerNorm::identity(d).unwrap().forward(&x64).unwrap();
    let ours = LayerNorm::<f32>::identity(d)
        .unwrap()
        .forward(&x32)
        .unwrap();
    let ours = ours.output.map(f64::from);
    assert_close(&ours, &reference.output, F32_FAR_FROM_ZERO_TOL, 0.0, "f32");
    // What the shortcut σ² = E[x²] − μ² would give in f32: x² ≈ 10⁸ has
    // an ulp of 8, so the variance of about 1 is pure rounding noise.
    let row: Vec<f32> = x32.row(0).iter().copied().collect();
    let mean = row.iter().sum::<f32>() / d as f32;
    let mean_sq = row.iter().map(|v| v * v).sum::<f32>() / d as f32;
    let naive_var = f64::from(mean_sq - mean * mean);
    let var =
        noise.row(0).add_scalar(-noise.row(0).mean()).norm_squared() / d as f64;
    assert!(
        (naive_var - var).abs() > 0.5,
        "naive {naive_var}, true {var}"
    );
}

#[test]
fn matches_pytorch_float64() {
    let r = json(include_str!("../reference/layer_norm.json"));
    let cases = r["cases"].as_array().unwrap();
    assert!(cases.len() >= 4);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let ln = LayerNorm::new(row(&c["gamma"]), row(&c["beta"]), PYTORCH_EPS)
            .unwrap();
        let y = ln.forward(&matrix(&c["x"])).unwrap().output;
        assert_close(&y, &matrix(&c["output"]), TORCH_TOL, TORCH_TOL, name);
    }
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    let ln = LayerNorm::<f64>::identity(4).unwrap();
    let err = ln.forward(&DMatrix::zeros(2, 3)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "X: expected 4 columns (d, the entries of γ), got 3 columns"
    );
    let err =
        LayerNorm::new(DMatrix::repeat(1, 3, 1.0), DMatrix::zeros(1, 2), 1e-5)
            .unwrap_err();
    assert_eq!(
        err.to_string(),
        "β: expected 3 entries (d, the entries of γ), got 2 entries"
    );
    for eps in [0.0, -1e-5, f64::NAN] {
        let err = LayerNorm::new(
            DMatrix::repeat(1, 3, 1.0),
            DMatrix::zeros(1, 3),
            eps,
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("ε = "), "{err}");
    }
}
