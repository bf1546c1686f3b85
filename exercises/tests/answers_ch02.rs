//! The numbers that the solutions of chapter 2's exercises state,
//! computed with the listings of chapter 2 and looked up in both
//! languages' solution blocks.

use ch02_transformer::attention::attention;
use ch02_transformer::block::{EncoderBlock, NormPosition};
use ch02_transformer::ffn::{Activation, FeedForward};
use ch02_transformer::layer_norm::LayerNorm;
use ch02_transformer::linear::Linear;
use ch02_transformer::mask::causal_mask;
use ch02_transformer::multihead::MultiHeadAttention;
use genai_exercises::support::{assert_answer, assert_answer_int};
use nalgebra::DMatrix;
use notation::ParamsExt;

#[test]
fn exercise_2_1_why_one_over_sqrt_d_k() {
    let d_k = 64.0_f64;
    assert_answer_int("2.1", d_k.sqrt() as i64); // 8
    assert_answer_int("2.1", 2 * d_k.sqrt() as i64); // 16
    assert_answer("2.1", 16.0_f64.exp() / 1e6, 1); // 8.9 · 10⁶
    assert_answer("2.1", 2.0_f64.exp(), 2); // 7.39
    // The ratio of two softmax weights is e^Δ, from the listing itself.
    let q = DMatrix::from_row_slice(1, 1, &[1.0]);
    let k = DMatrix::from_row_slice(2, 1, &[16.0, 0.0]);
    let v = DMatrix::from_row_slice(2, 1, &[0.0, 0.0]);
    let p = attention(&q, &k, &v, None).unwrap().weights;
    assert!((p[(0, 0)] / p[(0, 1)] / 16.0_f64.exp() - 1.0).abs() < 1e-12);
}

#[test]
fn exercise_2_2_layer_norm_by_hand() {
    let x = DMatrix::from_row_slice(1, 3, &[1.0, 2.0, 6.0]);
    let gamma = DMatrix::from_row_slice(1, 3, &[1.0, 0.5, 2.0]);
    let beta = DMatrix::from_row_slice(1, 3, &[0.0, 1.0, -1.0]);
    let eps = 1e-5;
    let ln = LayerNorm::new(gamma, beta, eps).unwrap();
    let cache = ln.forward(&x).unwrap();
    assert_answer_int("2.2", 3); // μ
    let var = 14.0_f64 / 3.0;
    assert_answer("2.2", var, 4); // 4.6667
    assert!((1.0 / cache.inv_std[0] - (var + eps).sqrt()).abs() < 1e-14);
    assert_answer("2.2", 1.0 / cache.inv_std[0], 4); // 2.1602
    for j in 0..3 {
        assert_answer("2.2", cache.x_hat[(0, j)], 4);
        assert_answer("2.2", cache.output[(0, j)], 4);
    }
    // ε changes √(σ² + ε) by about ε / (2σ²) ≈ 1e-6, relatively.
    let rel = ((var + eps).sqrt() - var.sqrt()) / var.sqrt();
    assert!((rel / (eps / (2.0 * var)) - 1.0).abs() < 1e-4);
    assert!(rel < 1.1e-6 && rel > 1e-6);
}

/// A linear layer `d_in → d_out` with zero weights: only its shapes count.
fn linear(d_in: usize, d_out: usize) -> Linear<f64> {
    Linear::new(DMatrix::zeros(d_in, d_out), DMatrix::zeros(1, d_out)).unwrap()
}

fn block(d: usize, d_ff: usize, h: usize) -> EncoderBlock<f64> {
    let attention = MultiHeadAttention::new(
        h,
        linear(d, d),
        linear(d, d),
        linear(d, d),
        linear(d, d),
    )
    .unwrap();
    let ffn =
        FeedForward::new(linear(d, d_ff), linear(d_ff, d), Activation::Relu)
            .unwrap();
    EncoderBlock::new(
        attention,
        LayerNorm::identity(d).unwrap(),
        ffn,
        LayerNorm::identity(d).unwrap(),
        NormPosition::Post,
    )
    .unwrap()
}

#[test]
fn exercise_2_3_parameters_of_a_block() {
    let (d, d_ff) = (512_i64, 2048_i64);
    let mha = 4 * d * d + 4 * d;
    let ffn = 2 * d * d_ff + d_ff + d;
    let norms = 4 * d;
    let total = mha + ffn + norms;
    for n in [
        4 * d * d,
        4 * d,
        mha,
        2 * d * d_ff,
        d_ff,
        d,
        ffn,
        norms,
        total,
    ] {
        assert_answer_int("2.3", n);
    }
    assert_answer("2.3", ffn as f64 / total as f64, 4); // 0.6661
    // The listing's block, counted through its one traversal, for several
    // numbers of heads: h does not matter.
    for h in [1, 8, 16] {
        let b = block(512, 2048, h);
        assert_eq!(b.n_params() as i64, total, "h = {h}");
    }
}

#[test]
fn exercise_2_5_variance_of_the_residual_stream() {
    let layers = 12;
    let var = 1 + 2 * layers;
    assert_answer_int("2.5", var); // 25
    assert_answer_int("2.5", (var as f64).sqrt() as i64); // 5
    assert_answer_int("2.5", layers); // 12
}

#[test]
fn exercise_2_6_causal_attention_by_hand() {
    let q = DMatrix::from_row_slice(3, 1, &[1.0, 2.0, 3.0]);
    let v = DMatrix::from_row_slice(3, 1, &[10.0, 20.0, 30.0]);
    let mask = causal_mask::<f64>(3).unwrap();
    let a = attention(&q, &q, &v, Some(&mask)).unwrap();
    assert_eq!(a.weights[(0, 0)], 1.0);
    assert_eq!(a.output[(0, 0)], 10.0);
    for (i, j) in [(1, 0), (1, 1), (2, 0), (2, 1), (2, 2)] {
        assert_answer("2.6", a.weights[(i, j)], 4);
    }
    assert_answer("2.6", a.output[(1, 0)], 4); // 18.8080
    assert_answer("2.6", a.output[(2, 0)], 4); // 29.4797
    let sum = 1.0 + (-3.0_f64).exp() + (-6.0_f64).exp();
    assert_answer("2.6", sum, 4); // 1.0523
    assert_eq!(a.weights[(0, 1)], 0.0);
    assert_eq!(a.weights[(1, 2)], 0.0);
}

#[test]
fn exercise_2_8_spacing_of_f64_near_1e16() {
    // "two numbers around 10^16 whose spacing in f64 is already 2"
    assert_eq!(1e16_f64.next_up() - 1e16, 2.0);
    assert_answer_int("2.8", 2);
}
