//! Tests of the position-wise feed-forward network, formulas (2.9) and
//! (2.10): a network that computes |x| by hand, the position-wise
//! property, the GELU's limits, and float64 reference values from PyTorch
//! (`reference/ffn.py` wrote `reference/ffn.json`).

mod common;

use ch02_transformer::ffn::{Activation, FeedForward};
use ch02_transformer::linear::Linear;
use ch02_transformer::random;
use common::{assert_close, json, matrix, row, vector};
use nalgebra::DMatrix;
use testing::TORCH_TOL;

/// The tanh form of the GELU differs from the exact x·Φ(x) by less than
/// this everywhere on [−6, 6] (measured on PyTorch's values: 4.7e-4 at
/// most); larger would mean a wrong constant.
const GELU_APPROXIMATION: f64 = 5e-4;

fn layer(rows: usize, cols: usize, w: &[f64], b: &[f64]) -> Linear<f64> {
    Linear::new(
        DMatrix::from_row_slice(rows, cols, w),
        DMatrix::from_row_slice(1, cols, b),
    )
    .unwrap()
}

#[test]
fn relu_network_computes_the_absolute_value() {
    // W_1 = (1, −1), W_2 = (1, 1)ᵀ: max(0, x) + max(0, −x) = |x|.
    let ffn = FeedForward::new(
        layer(1, 2, &[1.0, -1.0], &[0.0, 0.0]),
        layer(2, 1, &[1.0, 1.0], &[0.0]),
        Activation::Relu,
    )
    .unwrap();
    let x = DMatrix::from_row_slice(4, 1, &[-3.0, -0.5, 0.0, 2.0]);
    let c = ffn.forward(&x).unwrap();
    assert_eq!(c.output, x.abs());
    // Negative pre-activations are cut to exactly 0.
    assert_eq!(
        c.activated.row(0).iter().copied().collect::<Vec<_>>(),
        [0.0, 3.0]
    );
}

#[test]
fn each_token_is_transformed_on_its_own() {
    let mut rng = random::rng(31);
    let (n, d, d_ff) = (5, 4, 8);
    let lin = |rng: &mut _, a, b| {
        Linear::new(
            random::normal(rng, a, b, 0.5),
            random::normal(rng, b, 1, 0.5).transpose(),
        )
        .unwrap()
    };
    for activation in [Activation::Relu, Activation::GeluTanh] {
        let ffn = FeedForward::new(
            lin(&mut rng, d, d_ff),
            lin(&mut rng, d_ff, d),
            activation,
        )
        .unwrap();
        let x = random::normal(&mut rng, n, d, 1.0);
        let all = ffn.forward(&x).unwrap().output;
        for i in 0..n {
            let one = ffn.forward(&x.rows(i, 1).into_owned()).unwrap().output;
            // Bit for bit: row i of X W is computed from row i alone.
            assert_eq!(one.row(0), all.row(i), "token {i}");
        }
    }
}

#[test]
fn gelu_limits_and_the_exact_gelu() {
    let g = Activation::GeluTanh;
    assert_eq!(g.apply(0.0_f64), 0.0);
    // For large |x| the tanh is ±1: GELU(x) → x and GELU(−x) → 0.
    assert_eq!(g.apply(40.0_f64), 40.0);
    assert_eq!(g.apply(-40.0_f64), 0.0);
    let r = json(include_str!("../reference/ffn.json"));
    let grid = vector(&r["gelu_grid"]);
    let torch_tanh = vector(&r["gelu_tanh"]);
    let exact = vector(&r["gelu_exact"]);
    let mut worst: f64 = 0.0;
    for i in 0..grid.len() {
        let ours = g.apply(grid[i]);
        assert!((ours - torch_tanh[i]).abs() <= TORCH_TOL, "x = {}", grid[i]);
        worst = worst.max((ours - exact[i]).abs());
    }
    assert!(worst < GELU_APPROXIMATION, "{worst}");
    assert!(worst > 1e-4, "the approximation is not exact: {worst}");
}

#[test]
fn matches_pytorch_float64() {
    let r = json(include_str!("../reference/ffn.json"));
    let lin1 = Linear::new(matrix(&r["w1"]), row(&r["b1"])).unwrap();
    let lin2 = Linear::new(matrix(&r["w2"]), row(&r["b2"])).unwrap();
    let x = matrix(&r["x"]);
    for (activation, key) in [
        (Activation::Relu, "relu_output"),
        (Activation::GeluTanh, "gelu_tanh_output"),
    ] {
        let ffn =
            FeedForward::new(lin1.clone(), lin2.clone(), activation).unwrap();
        let y = ffn.forward(&x).unwrap().output;
        assert_close(&y, &matrix(&r[key]), TORCH_TOL, TORCH_TOL, key);
    }
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    let err = FeedForward::new(
        layer(2, 3, &[0.0; 6], &[0.0; 3]),
        layer(2, 2, &[0.0; 4], &[0.0; 2]),
        Activation::Relu,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "W_2: expected shape (3, 2) (d_ff, d_model from W_1), got shape (2, 2)"
    );
    let ffn = FeedForward::new(
        layer(2, 3, &[0.0; 6], &[0.0; 3]),
        layer(3, 2, &[0.0; 6], &[0.0; 2]),
        Activation::Relu,
    )
    .unwrap();
    let err = ffn.forward(&DMatrix::zeros(4, 3)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "X: expected 2 columns (d_model, the rows of W_1), got 3 columns"
    );
    let err = Linear::new(DMatrix::<f64>::zeros(2, 3), DMatrix::zeros(1, 2))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "b: expected 3 entries (d_out, the columns of W), got 2 entries"
    );
}
