//! The `*_fast` variants are twins of the readable listings: the same
//! arguments and the same result type, so each test calls both with the
//! same inputs and compares the results within a stated tolerance, and
//! the errors for bad input.

mod common;
use common::{max_abs_diff as max_diff, randn};

use ch02_transformer::Error;
use ch02_transformer::attention::{
    attention, attention_backward, attention_backward_fast, attention_fast,
    attention_output, attention_output_fast,
};
use ch02_transformer::ffn::{Activation, FeedForward};
use ch02_transformer::gemm;
use ch02_transformer::layer_norm::LayerNorm;
use ch02_transformer::linear::Linear;
use ch02_transformer::mask::{causal_mask, padding_mask};
use ch02_transformer::multihead::MultiHeadAttention;
use ch02_transformer::primitives::exp_f32;
use nalgebra::{DMatrix, DVector};

/// f64: the fast and readable forms differ only in the order of sums
/// (softmax denominators, the products, the division by the row sums
/// after instead of before P V), a few ulp of results of size about 1.
const F64_TOL: f64 = 1e-12;
/// f32: besides the order of sums, the vectorized exp is within 2 ulp of
/// `f32::exp`; over a few hundred keys that stays far below 1e-5 for
/// outputs of size about 1, while a wrong mask or block changes them by
/// 1e-2 and more.
const F32_TOL: f64 = 1e-5;
/// The vectorized exp against `f32::exp`, relative: 2 ulp of f32
/// (ulp = 2⁻²³ ≈ 1.2e-7 relative).
const EXP_REL_TOL: f32 = 2.0 * f32::EPSILON;

fn to_f32(m: &DMatrix<f64>) -> DMatrix<f32> {
    m.map(|x| x as f32)
}

fn to_f64(m: &DMatrix<f32>) -> DMatrix<f64> {
    m.map(f64::from)
}

#[test]
fn exp_f32_within_two_ulp_of_std_exp() {
    for i in 0..=200_000 {
        let x = -87.0 * i as f32 / 200_000.0;
        let (ours, std) = (exp_f32(x), x.exp());
        assert!(
            ((ours - std) / std).abs() <= EXP_REL_TOL,
            "exp({x}): {ours} vs {std}"
        );
    }
    assert_eq!(exp_f32(0.0), 1.0);
    assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
}

/// Queries across several blocks of 128 (and a partial last block), keys
/// fewer than queries, and the masks: none, causal, padding.
#[test]
fn attention_output_fast_agrees_with_attention_output() {
    let (n_q, n_k, d_k, d_v) = (300, 200, 16, 24);
    let q = randn(1, n_q, d_k) * 2.0;
    let k = randn(2, n_k, d_k);
    let v = randn(3, n_k, d_v);
    let is_token: Vec<bool> = (0..n_k).map(|j| j % 7 != 3).collect();
    let pad = padding_mask::<f64>(n_q, &is_token).unwrap();
    let pad32 = to_f32(&pad);
    for (mask, mask32) in [(None, None), (Some(&pad), Some(&pad32))] {
        let slow = attention_output(&q, &k, &v, mask).unwrap();
        let fast = attention_output_fast(&q, &k, &v, mask).unwrap();
        assert!(max_diff(&slow, &fast) < F64_TOL);
        let (q32, k32, v32) = (to_f32(&q), to_f32(&k), to_f32(&v));
        let fast32 = attention_output_fast(&q32, &k32, &v32, mask32).unwrap();
        assert!(max_diff(&slow, &to_f64(&fast32)) < F32_TOL);
    }
}

#[test]
fn causal_fast_agrees_with_causal_mask() {
    let (n, d_k) = (260, 32);
    let (q, k, v) = (randn(4, n, d_k), randn(5, n, d_k), randn(6, n, d_k));
    let mask = causal_mask::<f64>(n).unwrap();
    let slow = attention_output(&q, &k, &v, Some(&mask)).unwrap();
    let fast = attention_output_fast(&q, &k, &v, Some(&mask)).unwrap();
    assert!(max_diff(&slow, &fast) < F64_TOL);
    // A mask that is causal but for one entry takes the general path.
    let mut almost = mask.clone();
    almost[(n - 1, 0)] = -1.0;
    let slow_almost = attention_output(&q, &k, &v, Some(&almost)).unwrap();
    let fast_almost = attention_output_fast(&q, &k, &v, Some(&almost)).unwrap();
    assert!(max_diff(&slow_almost, &fast_almost) < F64_TOL);
    assert!(max_diff(&slow_almost, &slow) > 1e-6);
    let (q32, k32, v32) = (to_f32(&q), to_f32(&k), to_f32(&v));
    let mask32 = causal_mask::<f32>(n).unwrap();
    let fast32 =
        attention_output_fast(&q32, &k32, &v32, Some(&mask32)).unwrap();
    assert!(max_diff(&slow, &to_f64(&fast32)) < F32_TOL);
    // The first query sees only the first key: its output is v_0 exactly.
    assert_eq!(fast.row(0), v.row(0));
}

#[test]
fn attention_fast_refuses_what_attention_refuses() {
    let q = randn(7, 4, 3);
    let k = randn(8, 5, 3);
    let v = randn(9, 5, 2);
    let narrow = randn(10, 5, 2);
    let fast = |q: &DMatrix<f64>, k: &DMatrix<f64>, v: &DMatrix<f64>| {
        attention_output_fast(q, k, v, None).unwrap_err()
    };
    let slow = |q: &DMatrix<f64>, k: &DMatrix<f64>, v: &DMatrix<f64>| {
        attention(q, k, v, None).unwrap_err()
    };
    assert_eq!(fast(&q, &narrow, &v), slow(&q, &narrow, &v));
    assert_eq!(fast(&q, &k, &q), slow(&q, &k, &q));
    let empty = DMatrix::<f64>::zeros(0, 3);
    assert_eq!(fast(&empty, &k, &v), slow(&empty, &k, &v));
    // A mask of the wrong shape, and one that hides every key from query 2.
    let square = causal_mask::<f64>(4).unwrap();
    let mut blind = DMatrix::zeros(4, 5);
    blind.row_mut(2).fill(f64::NEG_INFINITY);
    // Two bad entries: the one first in reading order (row 1) is reported
    // by both, although the fast check reads column by column.
    let mut nan = DMatrix::zeros(4, 5);
    nan[(2, 0)] = f64::NAN;
    nan[(1, 4)] = f64::INFINITY;
    for m in [&square, &blind, &nan] {
        let expected = attention(&q, &k, &v, Some(m)).unwrap_err();
        let out = attention_output_fast(&q, &k, &v, Some(m)).unwrap_err();
        assert_eq!(out, expected);
        let cached = attention_fast(&q, &k, &v, Some(m)).unwrap_err();
        assert_eq!(cached, expected);
    }
    assert!(matches!(
        attention(&q, &k, &v, Some(&nan)).unwrap_err(),
        Error::NotFinite { index: 9, .. }
    ));
    // NaN in Q: the readable version meets it as a bad score.
    let mut bad = q.clone();
    bad[(1, 2)] = f64::NAN;
    assert!(matches!(
        fast(&bad, &k, &v),
        Error::NotFinite {
            what: "Q",
            index: 5,
            ..
        }
    ));
    assert!(attention(&bad, &k, &v, None).is_err());
}

fn linear(seed: u64, d_in: usize, d_out: usize) -> Linear<f64> {
    let w = randn(seed, d_in, d_out) / (d_in as f64).sqrt();
    let b = randn(seed + 1, d_out, 1).transpose();
    Linear::new(w, b).unwrap()
}

#[test]
fn multihead_fast_twins_agree() {
    let (n, d_model, h) = (150, 48, 4);
    let mha = MultiHeadAttention::new(
        h,
        linear(11, d_model, d_model),
        linear(13, d_model, d_model),
        linear(15, d_model, d_model),
        linear(17, d_model, d_model),
    )
    .unwrap();
    let x = randn(19, n, d_model);
    let mask = causal_mask::<f64>(n).unwrap();
    // Self-attention with and without the causal mask; cross-attention
    // with fewer keys than queries.
    let x_kv = randn(21, 70, d_model);
    for (x_kv, m) in [(&x, None), (&x, Some(&mask)), (&x_kv, None)] {
        let slow = mha.forward(&x, x_kv, m).unwrap();
        let fast = mha.forward_fast(&x, x_kv, m).unwrap();
        assert!(max_diff(&slow.output, &fast.output) < F64_TOL);
        assert!(max_diff(&slow.concat, &fast.concat) < F64_TOL);
        for (s, f) in slow.heads.iter().zip(&fast.heads) {
            assert!(max_diff(&s.weights, &f.weights) < F64_TOL);
        }
        let out = mha.output(&x, x_kv, m).unwrap();
        let out_fast = mha.output_fast(&x, x_kv, m).unwrap();
        assert_eq!(out, slow.output);
        assert!(max_diff(&out, &out_fast) < F64_TOL);
    }
    let wrong = randn(23, n, d_model + 1);
    let expected = mha.forward(&wrong, &x, None).unwrap_err();
    assert_eq!(mha.forward_fast(&wrong, &x, None).unwrap_err(), expected);
    assert_eq!(mha.output_fast(&wrong, &x, None).unwrap_err(), expected);
    let short = causal_mask::<f64>(n - 1).unwrap();
    let expected = mha.forward(&x, &x, Some(&short)).unwrap_err();
    let fast = mha.output_fast(&x, &x, Some(&short)).unwrap_err();
    assert_eq!(fast, expected);
}

/// ReLU: bias and activation in another order of memory, not of
/// arithmetic: with nalgebra's product the numbers are the same to the
/// last bit; with the `blas` feature the products sum in OpenBLAS's order.
#[test]
fn relu_ffn_fast_is_exact() {
    let ffn = FeedForward::new(
        linear(31, 24, 96),
        linear(33, 96, 24),
        Activation::Relu,
    )
    .unwrap();
    let x = randn(35, 40, 24);
    let (fast, slow) =
        (ffn.forward_fast(&x).unwrap(), ffn.forward(&x).unwrap());
    if gemm::BACKEND == "nalgebra" {
        assert_eq!(fast, slow);
    } else {
        assert!(max_diff(&fast.output, &slow.output) < F64_TOL);
    }
    let bad = randn(35, 40, 23);
    assert_eq!(
        ffn.forward_fast(&bad).unwrap_err(),
        ffn.forward(&bad).unwrap_err()
    );
}

/// GELU: `x · σ(2u)` instead of `x/2 · (1 + tanh u)`; in f64 the same
/// within rounding, in f32 (with the polynomial exp) within f32 rounding
/// of the f64 values, forward and backward, also far out on both sides.
#[test]
fn gelu_ffn_fast_agrees_forward_and_backward() {
    let ffn = FeedForward::new(
        linear(31, 24, 96),
        linear(33, 96, 24),
        Activation::GeluTanh,
    )
    .unwrap();
    // Hidden values up to about ±15: deep in both tails of the GELU.
    let x = randn(35, 40, 24) * 4.0;
    let d_y = randn(36, 40, 24);
    let (fast, slow) =
        (ffn.forward_fast(&x).unwrap(), ffn.forward(&x).unwrap());
    assert!(slow.hidden.amax() > 10.0);
    assert!(max_diff(&fast.activated, &slow.activated) < F64_TOL);
    assert!(max_diff(&fast.output, &slow.output) < F64_TOL);
    let g_slow = ffn.backward(&x, &slow, &d_y).unwrap();
    let g_fast = ffn.backward_fast(&x, &fast, &d_y).unwrap();
    assert!(max_diff(&g_fast.d_x, &g_slow.d_x) < F64_TOL);
    assert!(max_diff(&g_fast.lin1.d_w, &g_slow.lin1.d_w) < F64_TOL);
    assert!(max_diff(&g_fast.lin2.d_w, &g_slow.lin2.d_w) < F64_TOL);
    let ffn32 = FeedForward::new(
        Linear::new(to_f32(&ffn.lin1.w), ffn.lin1.b.map(|b| b as f32)).unwrap(),
        Linear::new(to_f32(&ffn.lin2.w), ffn.lin2.b.map(|b| b as f32)).unwrap(),
        Activation::GeluTanh,
    )
    .unwrap();
    // Relative to the values' size (up to about 60 here).
    let (x32, d_y32) = (to_f32(&x), to_f32(&d_y));
    let fast32 = ffn32.forward_fast(&x32).unwrap();
    let scale = slow.output.amax();
    assert!(max_diff(&to_f64(&fast32.output), &slow.output) < F32_TOL * scale);
    let g32 = ffn32.backward_fast(&x32, &fast32, &d_y32).unwrap();
    let scale = g_slow.d_x.amax();
    assert!(max_diff(&to_f64(&g32.d_x), &g_slow.d_x) < F32_TOL * scale);
    assert_eq!(
        ffn.backward_fast(&x, &fast, &randn(1, 40, 25)).unwrap_err(),
        ffn.backward(&x, &slow, &randn(1, 40, 25)).unwrap_err()
    );
}

#[test]
fn linear_fast_twins_agree() {
    let lin = linear(51, 30, 20);
    let (x, d_y) = (randn(52, 70, 30), randn(53, 70, 20));
    let (slow, fast) =
        (lin.forward(&x).unwrap(), lin.forward_fast(&x).unwrap());
    assert!(max_diff(&slow, &fast) < F64_TOL);
    let narrow = randn(55, 70, 29);
    assert_eq!(
        lin.forward_fast(&narrow).unwrap_err(),
        lin.forward(&narrow).unwrap_err()
    );
    let (slow, fast) = (
        lin.backward(&x, &d_y).unwrap(),
        lin.backward_fast(&x, &d_y).unwrap(),
    );
    assert!(max_diff(&slow.d_x, &fast.d_x) < F64_TOL);
    assert!(max_diff(&slow.d_w, &fast.d_w) < F64_TOL);
    assert!(max_diff(&slow.d_b, &fast.d_b) < F64_TOL);
    let bad = randn(54, 70, 21);
    assert_eq!(
        lin.backward_fast(&x, &bad).unwrap_err(),
        lin.backward(&x, &bad).unwrap_err()
    );
}

#[test]
fn layer_norm_backward_fast_agrees() {
    let d = 48;
    let gamma = randn(61, d, 1).transpose();
    let beta = randn(62, d, 1).transpose();
    let ln = LayerNorm::new(gamma, beta, 1e-5).unwrap();
    let (x, d_y) = (randn(63, 300, d) * 3.0, randn(64, 300, d));
    let cache = ln.forward(&x).unwrap();
    let (slow, fast) = (
        ln.backward(&cache, &d_y).unwrap(),
        ln.backward_fast(&cache, &d_y).unwrap(),
    );
    assert!(max_diff(&slow.d_x, &fast.d_x) < F64_TOL);
    assert!(max_diff(&slow.d_gamma, &fast.d_gamma) < F64_TOL);
    assert!(max_diff(&slow.d_beta, &fast.d_beta) < F64_TOL);
    let bad = randn(65, 300, d + 1);
    assert_eq!(
        ln.backward_fast(&cache, &bad).unwrap_err(),
        ln.backward(&cache, &bad).unwrap_err()
    );
}

#[test]
fn layer_norm_fast_agrees_with_forward() {
    let d = 64;
    let gamma = randn(41, d, 1).transpose();
    let beta = randn(42, d, 1).transpose();
    let ln = LayerNorm::new(gamma, beta, 1e-5).unwrap();
    // Tokens far from 0, where the order of the two passes matters.
    let x = randn(43, 90, d).add_scalar(1e4);
    let (slow, fast) = (ln.forward(&x).unwrap(), ln.forward_fast(&x).unwrap());
    assert!(max_diff(&slow.output, &fast.output) < F64_TOL);
    assert!(max_diff(&slow.x_hat, &fast.x_hat) < F64_TOL);
    let inv =
        |c: &DVector<f64>| DMatrix::from_column_slice(c.len(), 1, c.as_slice());
    assert!(max_diff(&inv(&slow.inv_std), &inv(&fast.inv_std)) < F64_TOL);
    let bad = randn(44, 3, d - 1);
    assert_eq!(
        ln.forward_fast(&bad).unwrap_err(),
        ln.forward(&bad).unwrap_err()
    );
}

/// `attention_fast` and `attention_backward_fast` against their readable
/// twins: S, P, O and the three gradients, without a mask, causal, and
/// with a padding mask.
#[test]
fn attention_and_backward_fast_agree() {
    let (n, d_k, d_v) = (40, 8, 12);
    let (q, k, v) = (randn(71, n, d_k), randn(72, n, d_k), randn(73, n, d_v));
    let d_out = randn(74, n, d_v);
    let causal = causal_mask::<f64>(n).unwrap();
    let is_token: Vec<bool> = (0..n).map(|j| j % 5 != 2).collect();
    let pad = padding_mask::<f64>(n, &is_token).unwrap();
    for mask in [None, Some(&causal), Some(&pad)] {
        let slow = attention(&q, &k, &v, mask).unwrap();
        let fast = attention_fast(&q, &k, &v, mask).unwrap();
        // −∞ entries of S compare as equal; the others within rounding.
        let finite =
            |m: &DMatrix<f64>| m.map(|x| if x.is_finite() { x } else { 0.0 });
        assert!(
            max_diff(&finite(&slow.scores), &finite(&fast.scores)) < F64_TOL
        );
        assert!(max_diff(&slow.weights, &fast.weights) < F64_TOL);
        assert!(max_diff(&slow.output, &fast.output) < F64_TOL);
        let g_slow = attention_backward(&q, &k, &v, &slow, &d_out).unwrap();
        let g_fast =
            attention_backward_fast(&q, &k, &v, &fast, &d_out).unwrap();
        assert!(max_diff(&g_slow.d_q, &g_fast.d_q) < F64_TOL);
        assert!(max_diff(&g_slow.d_k, &g_fast.d_k) < F64_TOL);
        assert!(max_diff(&g_slow.d_v, &g_fast.d_v) < F64_TOL);
    }
    let wrong = randn(75, n, d_v + 1);
    let fwd = attention(&q, &k, &v, None).unwrap();
    assert_eq!(
        attention_backward_fast(&q, &k, &v, &fwd, &wrong).unwrap_err(),
        attention_backward(&q, &k, &v, &fwd, &wrong).unwrap_err()
    );
    assert_eq!(
        attention_fast(&q, &randn(76, n, d_k + 1), &v, None).unwrap_err(),
        attention(&q, &randn(76, n, d_k + 1), &v, None).unwrap_err()
    );
}
