//! What the test files of chapter 2 share: the reading and comparing of
//! all listing crates (`testing`), and building chapter 2's layers from
//! the reference JSON written by the PyTorch scripts in `reference/`.

#![allow(dead_code, unused_imports)] // Each test file uses a different part.

use nalgebra::DMatrix;
use serde_json::Value;
pub use testing::{
    assert_close, json, matrix, max_abs_diff, number, optional_matrix, row,
    vector,
};

/// A seeded `(rows, cols)` matrix of N(0, 1) entries.
pub fn randn(seed: u64, rows: usize, cols: usize) -> DMatrix<f64> {
    ch02_transformer::random::normal(
        &mut ch02_transformer::random::rng(seed),
        rows,
        cols,
        1.0,
    )
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
