//! What the test files share: reading the reference JSON written by the
//! PyTorch scripts in `reference/`, and comparing matrices.

#![allow(dead_code)] // Each test file uses a different part of this.

use approx::relative_eq;
use nalgebra::{DMatrix, DVector};
use serde_json::Value;

/// Parses the reference JSON `text` (from `include_str!`).
pub fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("the reference JSON is valid")
}

/// A number of the JSON; the scripts write ±∞ and NaN as strings.
pub fn number(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap(),
        Value::String(s) => s.parse().expect("a number written as string"),
        other => panic!("not a number: {other}"),
    }
}

/// A matrix written as a list of rows.
pub fn matrix(v: &Value) -> DMatrix<f64> {
    let rows = v.as_array().expect("a list of rows");
    let n = rows.len();
    let flat: Vec<f64> = rows
        .iter()
        .flat_map(|r| r.as_array().expect("a row").iter().map(number))
        .collect();
    let m = flat.len().checked_div(n).unwrap_or(0);
    DMatrix::from_row_slice(n, m, &flat)
}

/// A vector written as a list.
pub fn vector(v: &Value) -> DVector<f64> {
    let xs: Vec<f64> =
        v.as_array().expect("a list").iter().map(number).collect();
    DVector::from_vec(xs)
}

/// A list as a row, shape `(1, n)`: a bias, `γ` or `β`.
pub fn row(v: &Value) -> DMatrix<f64> {
    let v = vector(v);
    DMatrix::from_row_slice(1, v.len(), v.as_slice())
}

/// Asserts `|a − b| ≤ abs + rel · |b|` entry by entry and names the entry
/// and the case on failure.
pub fn assert_close(
    a: &DMatrix<f64>,
    b: &DMatrix<f64>,
    abs: f64,
    rel: f64,
    case: &str,
) {
    assert_eq!(a.shape(), b.shape(), "{case}: shapes differ");
    for i in 0..a.nrows() {
        for j in 0..a.ncols() {
            let (x, y) = (a[(i, j)], b[(i, j)]);
            assert!(
                relative_eq!(x, y, epsilon = abs, max_relative = rel),
                "{case}: entry ({i}, {j}) is {x}, expected {y}"
            );
        }
    }
}

/// A seeded `(rows, cols)` matrix of N(0, 1) entries.
pub fn randn(seed: u64, rows: usize, cols: usize) -> DMatrix<f64> {
    ch02_transformer::random::normal(
        &mut ch02_transformer::random::rng(seed),
        rows,
        cols,
        1.0,
    )
}

/// The largest `|a − b|` over all entries.
pub fn max_abs_diff(a: &DMatrix<f64>, b: &DMatrix<f64>) -> f64 {
    assert_eq!(a.shape(), b.shape());
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// A linear layer written as `{"w": rows, "b": list}` (book convention).
pub fn linear(v: &Value) -> ch02_transformer::linear::Linear<f64> {
    ch02_transformer::linear::Linear::new(matrix(&v["w"]), row(&v["b"]))
        .unwrap()
}

/// Multi-head attention written as `{"w_q": .., "w_k": .., ...}`.
pub fn mha(
    v: &Value,
    n_heads: usize,
) -> ch02_transformer::multihead::MultiHeadAttention<f64> {
    ch02_transformer::multihead::MultiHeadAttention::new(
        n_heads,
        linear(&v["w_q"]),
        linear(&v["w_k"]),
        linear(&v["w_v"]),
        linear(&v["w_o"]),
    )
    .unwrap()
}

/// An optional matrix (JSON `null` is none).
pub fn optional_matrix(v: &Value) -> Option<DMatrix<f64>> {
    (!v.is_null()).then(|| matrix(v))
}

/// Layer normalization written as `{"gamma": .., "beta": ..}`, ε = 10⁻⁵.
pub fn layer_norm(v: &Value) -> ch02_transformer::layer_norm::LayerNorm<f64> {
    ch02_transformer::layer_norm::LayerNorm::new(
        row(&v["gamma"]),
        row(&v["beta"]),
        ch02_transformer::layer_norm::PYTORCH_EPS,
    )
    .unwrap()
}

/// A ReLU feed-forward network written as `{"lin1": .., "lin2": ..}`.
pub fn ffn(v: &Value) -> ch02_transformer::ffn::FeedForward<f64> {
    ch02_transformer::ffn::FeedForward::new(
        linear(&v["lin1"]),
        linear(&v["lin2"]),
        ch02_transformer::ffn::Activation::Relu,
    )
    .unwrap()
}

/// An encoder block written by `reference/common.py` (`block_params`).
pub fn block(
    v: &Value,
    n_heads: usize,
    position: ch02_transformer::block::NormPosition,
) -> ch02_transformer::block::EncoderBlock<f64> {
    ch02_transformer::block::EncoderBlock::new(
        mha(&v["attention"], n_heads),
        layer_norm(&v["norm1"]),
        ffn(&v["ffn"]),
        layer_norm(&v["norm2"]),
        position,
    )
    .unwrap()
}
