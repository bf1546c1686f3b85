//! Tests of the transformer block, formulas (2.12) and (2.13): what is
//! left when both sublayers output 0, normalised outputs in post-LN, the
//! causal property through a whole block, and float64 reference values
//! from `nn.TransformerEncoderLayer` with `norm_first=False` and `True`
//! (`reference/block.py` wrote `reference/block.json`).

mod common;

use ch02_transformer::block::{EncoderBlock, NormPosition};
use ch02_transformer::ffn::{Activation, FeedForward};
use ch02_transformer::layer_norm::LayerNorm;
use ch02_transformer::linear::Linear;
use ch02_transformer::mask::causal_mask;
use ch02_transformer::multihead::MultiHeadAttention;
use ch02_transformer::random;
use common::{assert_close, json, matrix, optional_matrix};
use nalgebra::DMatrix;
use notation::ParamsExt;
use rand_chacha::ChaCha8Rng;
use testing::CLOSED_FORM_TOL;

/// Against PyTorch: attention, FFN and two layer norms in float64, each
/// a few ulps; the norms divide by σ ≈ 1, so errors do not grow.
const TORCH_TOL: f64 = 1e-12;

fn random_linear(
    rng: &mut ChaCha8Rng,
    d_in: usize,
    d_out: usize,
) -> Linear<f64> {
    let sigma = 1.0 / (d_in as f64).sqrt();
    Linear::new(
        random::normal(rng, d_in, d_out, sigma),
        random::normal(rng, d_out, 1, 0.1).transpose(),
    )
    .unwrap()
}

fn random_block(
    rng: &mut ChaCha8Rng,
    d: usize,
    h: usize,
    position: NormPosition,
) -> EncoderBlock<f64> {
    let mha = MultiHeadAttention::new(
        h,
        random_linear(rng, d, d),
        random_linear(rng, d, d),
        random_linear(rng, d, d),
        random_linear(rng, d, d),
    )
    .unwrap();
    let ffn = FeedForward::new(
        random_linear(rng, d, 2 * d),
        random_linear(rng, 2 * d, d),
        Activation::Relu,
    )
    .unwrap();
    let ln = || LayerNorm::identity(d).unwrap();
    EncoderBlock::new(mha, ln(), ffn, ln(), position).unwrap()
}

#[test]
fn with_silent_sublayers_only_the_norms_or_the_identity_remain() {
    let mut rng = random::rng(51);
    let (n, d) = (4, 6);
    let x = random::normal(&mut rng, n, d, 2.0);
    for position in [NormPosition::Post, NormPosition::Pre] {
        let mut block = random_block(&mut rng, d, 2, position);
        // W_O = 0, b_O = 0 and W_2 = 0, b_2 = 0: both sublayers output 0.
        block.attention.w_o =
            Linear::without_bias(DMatrix::zeros(d, d)).unwrap();
        block.ffn.lin2 =
            Linear::without_bias(DMatrix::zeros(2 * d, d)).unwrap();
        let y = block.forward(&x, None).unwrap().output;
        let expected = match position {
            // Y = LN_2(LN_1(X)) = LN(X): normalising twice changes little
            // (only ε acts twice), computed here with the same listing.
            NormPosition::Post => {
                let ln = LayerNorm::identity(d).unwrap();
                let once = ln.forward(&x).unwrap().output;
                ln.forward(&once).unwrap().output
            }
            // Y = X: the residual path carries the input through.
            NormPosition::Pre => x.clone(),
        };
        assert_close(&y, &expected, CLOSED_FORM_TOL, CLOSED_FORM_TOL, "silent");
    }
}

#[test]
fn post_ln_outputs_are_normalised_pre_ln_outputs_are_not() {
    let mut rng = random::rng(52);
    let (n, d) = (5, 8);
    let x = random::normal(&mut rng, n, d, 1.0).add_scalar(5.0);
    let post = random_block(&mut rng, d, 4, NormPosition::Post);
    let y = post.forward(&x, None).unwrap().output;
    for row in y.row_iter() {
        // γ = 1, β = 0: the last operation is LN, mean 0, variance ≈ 1.
        assert!(row.mean().abs() < 1e-15);
        let var = row.add_scalar(-row.mean()).norm_squared() / d as f64;
        assert!((var - 1.0).abs() < 1e-4, "{var}");
    }
    let pre = random_block(&mut rng, d, 4, NormPosition::Pre);
    let y = pre.forward(&x, None).unwrap().output;
    // Pre-LN adds to X, whose tokens have mean about 5: it stays.
    assert!(y.row_iter().all(|row| row.mean() > 3.0), "{y}");
}

#[test]
fn a_causal_block_keeps_earlier_outputs_when_later_tokens_change() {
    let mut rng = random::rng(53);
    let (n, d) = (5, 4);
    let mask = causal_mask(n).unwrap();
    for position in [NormPosition::Post, NormPosition::Pre] {
        let block = random_block(&mut rng, d, 2, position);
        let x = random::normal(&mut rng, n, d, 1.0);
        let before = block.forward(&x, Some(&mask)).unwrap().output;
        for t in 0..n {
            let mut changed = x.clone();
            changed.row_mut(t).fill(-3.0);
            let after = block.forward(&changed, Some(&mask)).unwrap().output;
            for i in 0..n {
                assert_eq!(before.row(i) == after.row(i), i < t, "{t}, {i}");
            }
        }
    }
}

#[test]
fn matches_pytorch_encoder_layer_float64() {
    let r = json(include_str!("../reference/block.json"));
    let cases = r["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let position = if c["norm_first"].as_bool().unwrap() {
            NormPosition::Pre
        } else {
            NormPosition::Post
        };
        let n_heads = c["n_heads"].as_u64().unwrap() as usize;
        let block = common::block(&c["params"], n_heads, position);
        let mask = optional_matrix(&c["mask"]);
        let y = block.forward(&matrix(&c["x"]), mask.as_ref()).unwrap();
        assert_close(
            &y.output,
            &matrix(&c["output"]),
            TORCH_TOL,
            TORCH_TOL,
            name,
        );
    }
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    let mut rng = random::rng(54);
    let block = random_block(&mut rng, 4, 2, NormPosition::Post);
    let err = EncoderBlock::new(
        block.attention.clone(),
        LayerNorm::identity(3).unwrap(),
        block.ffn.clone(),
        block.norm2.clone(),
        NormPosition::Post,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "γ of LN_1: expected 4 entries (d_model of the attention), got 3 entries"
    );
    let err = block.forward(&DMatrix::zeros(3, 5), None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "X_q: expected 4 columns (d_model), got 5 columns"
    );
    let err = block
        .forward(&DMatrix::zeros(3, 4), Some(&causal_mask(2).unwrap()))
        .unwrap_err();
    assert!(err.to_string().starts_with("mask M: expected shape (3, 3)"));
}

/// The stacked windows and the windows one by one differ only in the
/// order of the sums (and the fast kernels): a few ulps of numbers of
/// order 1 to 10.
const WINDOWS_TOL: f64 = 1e-12;

#[test]
fn stacked_windows_equal_the_windows_one_by_one() {
    let mut rng = random::rng(91);
    let (b, n, d, h) = (3, 5, 8, 2);
    let block = random_block(&mut rng, d, h, NormPosition::Pre);
    let x = random::normal(&mut rng, b * n, d, 1.0);
    let d_y = random::normal(&mut rng, b * n, d, 1.0);
    let mask = causal_mask::<f64>(n).unwrap();
    let stacked = block.forward_windows(&x, n, Some(&mask)).unwrap();
    let grads = block.backward_windows(&stacked, &d_y).unwrap();
    let mut sums: Vec<DMatrix<f64>> =
        grads.params().iter().map(|g| g.map(|_| 0.0)).collect();
    for w in 0..b {
        let rows = |m: &DMatrix<f64>| m.rows(w * n, n).into_owned();
        let one = block.forward(&rows(&x), Some(&mask)).unwrap();
        let out = &one.output;
        assert_close(&rows(&stacked.output), out, WINDOWS_TOL, 0.0, "Y");
        let g = block.backward(&one, &rows(&d_y)).unwrap();
        assert_close(&rows(&grads.d_x), &g.d_x, WINDOWS_TOL, 0.0, "∂L/∂X");
        for (sum, g) in sums.iter_mut().zip(g.params()) {
            *sum += g;
        }
    }
    // Every parameter's gradient is the sum over the windows; the names
    // come from the one traversal.
    for ((name, g), sum) in grads.named_params().into_iter().zip(&sums) {
        assert_close(g, sum, WINDOWS_TOL, 0.0, &name);
    }
}

#[test]
fn stacked_windows_refuse_post_ln_and_partial_windows() {
    let mut rng = random::rng(92);
    let post = random_block(&mut rng, 8, 2, NormPosition::Post);
    let x = random::normal(&mut rng, 10, 8, 1.0);
    let causal = causal_mask::<f64>(5).unwrap();
    let mask = Some(&causal);
    let err = post.forward_windows(&x, 5, mask).unwrap_err();
    assert_eq!(
        err.to_string(),
        "norm position of the block: expected pre-LN (2.13) for stacked \
         windows, got post-LN (2.12); use forward and backward per window"
    );
    let pre = random_block(&mut rng, 8, 2, NormPosition::Pre);
    let err = pre.forward_windows(&x, 3, mask).unwrap_err();
    assert_eq!(
        err.to_string(),
        "stacked windows X: expected a multiple of the window length n = 3, \
         got 10 rows"
    );
    assert!(pre.forward_windows(&x, 0, mask).is_err());
    // A cache of a pre-LN block does not make a post-LN block's backward.
    let cache = pre.forward_windows(&x, 5, mask).unwrap();
    assert!(post.backward_windows(&cache, &x).is_err());
}
