//! Tests of the backward passes, formulas (2.18) to (2.23): every
//! gradient against central finite differences of the forward pass, and
//! against `torch.autograd` in float64 (`reference/gradients.py` wrote
//! `reference/gradients.json`), plus the invariants the derivations give.
//!
//! Every check uses the scalar loss `L = Σ G ⊙ Y` with a fixed random `G`
//! of the output's shape, so that `∂L/∂Y = G`.

mod common;

use ch01_probability::softmax::{softmax_rows, softmax_rows_backward};
use ch02_transformer::attention::{attention, attention_backward};
use ch02_transformer::block::{EncoderBlock, NormPosition};
use ch02_transformer::ffn::{Activation, FeedForward};
use ch02_transformer::layer_norm::{LayerNorm, PYTORCH_EPS};
use ch02_transformer::linear::Linear;
use ch02_transformer::mask::causal_mask;
use ch02_transformer::multihead::MultiHeadAttention;
use ch02_transformer::random;
use common::{assert_close, json, matrix, row, vector};
use nalgebra::DMatrix;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

/// The step of the central difference (f(x + h) − f(x − h)) / 2h. Its
/// error is h²/6 · f''' (truncation) plus about ε·|L|/h (rounding, with
/// ε = 2.2e-16); h = 1e-5 makes both about 1e-11 for the losses here,
/// which are of order 1 to 10.
const FD_STEP: f64 = 1e-5;

/// Finite differences agree with the analytic gradient to 1e-7 relative
/// (absolute below 1): 1000× the expected error above, while a missing
/// term or a wrong sign in a backward pass is an error of order 0.01 to 1.
const FD_TOL: f64 = 1e-7;

/// Against torch.autograd: the same formulas in float64 in another order
/// of summation; gradients of order 1 agree to a few ulps, and the
/// layer norms divide by σ ≈ 1, so they do not grow.
const AUTOGRAD_TOL: f64 = 1e-12;

/// A step of h in one input or parameter moves a hidden unit of the FFN
/// by at most about 10·h here (weights and inputs of order 1, ≤ 12 terms);
/// a unit further than this from the ReLU's kink at 0 cannot cross it.
const KINK_DISTANCE: f64 = 100.0 * FD_STEP;

/// `Σ G ⊙ Y`.
fn loss(g: &DMatrix<f64>, y: &DMatrix<f64>) -> f64 {
    g.component_mul(y).sum()
}

/// Compares `analytic` with central differences of `f` at `at`, entry by
/// entry.
fn fd_check(
    name: &str,
    analytic: &DMatrix<f64>,
    at: &DMatrix<f64>,
    f: impl Fn(&DMatrix<f64>) -> f64,
) {
    assert_eq!(analytic.shape(), at.shape(), "{name}: shapes differ");
    for idx in 0..at.len() {
        let mut plus = at.clone();
        plus[idx] += FD_STEP;
        let mut minus = at.clone();
        minus[idx] -= FD_STEP;
        let fd = (f(&plus) - f(&minus)) / (2.0 * FD_STEP);
        let an = analytic[idx];
        assert!(
            (fd - an).abs() <= FD_TOL * (1.0 + an.abs()),
            "{name}[{idx}]: analytic {an}, finite difference {fd}"
        );
    }
}

/// A row (a bias, `γ`, `β`) as a one-column matrix, and back.
fn col(v: &DMatrix<f64>) -> DMatrix<f64> {
    v.transpose()
}

fn uncol(m: &DMatrix<f64>) -> DMatrix<f64> {
    m.transpose()
}

/// Finite-difference check of one parameter of a model: `$field` names
/// the parameter inside `m` (a matrix, or with `vec` a vector).
macro_rules! fd_param {
    ($name:expr, $model:expr, $analytic:expr, $loss:expr, |$m:ident| $field:expr) => {{
        let model = $model;
        let loss = $loss;
        fd_check(
            $name,
            $analytic,
            &{
                let $m = model;
                $field.clone()
            },
            |p| {
                let mut $m = model.clone();
                $field = p.clone();
                loss(&$m)
            },
        );
    }};
    (vec $name:expr, $model:expr, $analytic:expr, $loss:expr, |$m:ident| $field:expr) => {{
        let model = $model;
        let loss = $loss;
        fd_check(
            $name,
            &col($analytic),
            &{
                let $m = model;
                col(&$field)
            },
            |p| {
                let mut $m = model.clone();
                $field = uncol(p);
                loss(&$m)
            },
        );
    }};
}

fn random_linear(
    rng: &mut ChaCha8Rng,
    d_in: usize,
    d_out: usize,
) -> Linear<f64> {
    Linear::new(
        random::normal(rng, d_in, d_out, 1.0 / (d_in as f64).sqrt()),
        uncol(&random::normal(rng, d_out, 1, 0.3)),
    )
    .unwrap()
}

fn random_mha(
    rng: &mut ChaCha8Rng,
    d: usize,
    h: usize,
) -> MultiHeadAttention<f64> {
    MultiHeadAttention::new(
        h,
        random_linear(rng, d, d),
        random_linear(rng, d, d),
        random_linear(rng, d, d),
        random_linear(rng, d, d),
    )
    .unwrap()
}

fn random_norm(rng: &mut ChaCha8Rng, d: usize) -> LayerNorm<f64> {
    LayerNorm::new(
        uncol(&random::normal(rng, d, 1, 0.3)).add_scalar(1.0),
        uncol(&random::normal(rng, d, 1, 0.3)),
        PYTORCH_EPS,
    )
    .unwrap()
}

#[test]
fn linear_backward_matches_finite_differences() {
    let mut rng = random::rng(61);
    let layer = random_linear(&mut rng, 4, 3);
    let x = random::normal(&mut rng, 5, 4, 1.0);
    let g = random::normal(&mut rng, 5, 3, 1.0);
    let grads = layer.backward(&x, &g).unwrap();
    let l = |layer: &Linear<f64>, x: &DMatrix<f64>| {
        loss(&g, &layer.forward(x).unwrap())
    };
    fd_check("dX", &grads.d_x, &x, |x| l(&layer, x));
    fd_param!("dW", &layer, &grads.d_w, |m: &Linear<f64>| l(m, &x), |m| m
        .w);
    fd_param!(vec "db", &layer, &grads.d_b, |m: &Linear<f64>| l(m, &x), |m| m.b);
}

#[test]
fn softmax_backward_matches_finite_differences_and_ignores_constant_shifts() {
    let mut rng = random::rng(62);
    let s = random::normal(&mut rng, 3, 5, 2.0);
    let g = random::normal(&mut rng, 3, 5, 1.0);
    let p = softmax_rows(&s).unwrap();
    let d_s = softmax_rows_backward(&p, &g).unwrap();
    fd_check("dS", &d_s, &s, |s| loss(&g, &softmax_rows(s).unwrap()));
    // Each row of ∂L/∂S sums to 0: adding c to a row of S changes nothing.
    for row in d_s.row_iter() {
        assert!(row.sum().abs() < 1e-15, "{}", row.sum());
    }
    // A gradient that is constant along a row gives ∂L/∂S = 0.
    let flat = DMatrix::from_fn(3, 5, |i, _| i as f64 + 1.0);
    let d_s = softmax_rows_backward(&p, &flat).unwrap();
    assert!(d_s.amax() < 1e-15, "{d_s}");
}

#[test]
fn attention_backward_matches_finite_differences() {
    let mut rng = random::rng(63);
    let (n, d_k, d_v) = (5, 3, 2);
    let q = random::normal(&mut rng, n, d_k, 1.0);
    let k = random::normal(&mut rng, n, d_k, 1.0);
    let v = random::normal(&mut rng, n, d_v, 1.0);
    let g = random::normal(&mut rng, n, d_v, 1.0);
    for mask in [None, Some(causal_mask(n).unwrap())] {
        let m = mask.as_ref();
        let fwd = attention(&q, &k, &v, m).unwrap();
        let grads = attention_backward(&q, &k, &v, &fwd, &g).unwrap();
        let l = |q: &DMatrix<f64>, k: &DMatrix<f64>, v: &DMatrix<f64>| {
            loss(&g, &attention(q, k, v, m).unwrap().output)
        };
        fd_check("dQ", &grads.d_q, &q, |q| l(q, &k, &v));
        fd_check("dK", &grads.d_k, &k, |k| l(&q, k, &v));
        fd_check("dV", &grads.d_v, &v, |v| l(&q, &k, v));
        if m.is_some() {
            // The last key is seen by the last query only.
            let only_last =
                g.row(n - 1).transpose() * fwd.weights[(n - 1, n - 1)];
            let d_v_last = grads.d_v.row(n - 1).transpose();
            assert!((d_v_last - only_last).amax() < 1e-15);
        }
    }
}

#[test]
fn layer_norm_backward_matches_finite_differences() {
    let mut rng = random::rng(64);
    let (n, d) = (4, 6);
    let ln = random_norm(&mut rng, d);
    let x = random::normal(&mut rng, n, d, 2.0).add_scalar(1.0);
    let g = random::normal(&mut rng, n, d, 1.0);
    let cache = ln.forward(&x).unwrap();
    let grads = ln.backward(&cache, &g).unwrap();
    let l = |ln: &LayerNorm<f64>, x: &DMatrix<f64>| {
        loss(&g, &ln.forward(x).unwrap().output)
    };
    fd_check("dX", &grads.d_x, &x, |x| l(&ln, x));
    fd_param!(vec "dγ", &ln, &grads.d_gamma, |m: &LayerNorm<f64>| l(m, &x), |m| m.gamma);
    fd_param!(vec "dβ", &ln, &grads.d_beta, |m: &LayerNorm<f64>| l(m, &x), |m| m.beta);
    // LN ignores a shift of a token, so each row of ∂L/∂X sums to 0.
    for row in grads.d_x.row_iter() {
        assert!(row.sum().abs() < 1e-14, "{}", row.sum());
    }
}

#[test]
fn ffn_backward_matches_finite_differences() {
    let mut rng = random::rng(65);
    let (n, d, d_ff) = (4, 3, 6);
    for activation in [Activation::Relu, Activation::GeluTanh] {
        let ffn = FeedForward::new(
            random_linear(&mut rng, d, d_ff),
            random_linear(&mut rng, d_ff, d),
            activation,
        )
        .unwrap();
        let x = random::normal(&mut rng, n, d, 1.0);
        let g = random::normal(&mut rng, n, d, 1.0);
        let cache = ffn.forward(&x).unwrap();
        let grads = ffn.backward(&x, &cache, &g).unwrap();
        // Finite differences across a ReLU kink would be wrong; no hidden
        // unit may lie within the step of 0.
        assert!(cache.hidden.iter().all(|h| h.abs() > KINK_DISTANCE));
        let l = |f: &FeedForward<f64>, x: &DMatrix<f64>| {
            loss(&g, &f.forward(x).unwrap().output)
        };
        type F = FeedForward<f64>;
        fd_check("dX", &grads.d_x, &x, |x| l(&ffn, x));
        fd_param!("dW1", &ffn, &grads.lin1.d_w, |m: &F| l(m, &x), |m| m.lin1.w);
        fd_param!(vec "db1", &ffn, &grads.lin1.d_b, |m: &F| l(m, &x), |m| m.lin1.b);
        fd_param!("dW2", &ffn, &grads.lin2.d_w, |m: &F| l(m, &x), |m| m.lin2.w);
        fd_param!(vec "db2", &ffn, &grads.lin2.d_b, |m: &F| l(m, &x), |m| m.lin2.b);
    }
}

#[test]
fn multihead_backward_matches_finite_differences() {
    let mut rng = random::rng(66);
    let (n_q, n_k, d, h) = (3, 4, 6, 3);
    let mha = random_mha(&mut rng, d, h);
    let x_q = random::normal(&mut rng, n_q, d, 1.0);
    let x_kv = random::normal(&mut rng, n_k, d, 1.0);
    let g = random::normal(&mut rng, n_q, d, 1.0);
    let cache = mha.forward(&x_q, &x_kv, None).unwrap();
    let grads = mha.backward(&x_q, &x_kv, &cache, &g).unwrap();
    type M = MultiHeadAttention<f64>;
    let l = |m: &M, x_q: &DMatrix<f64>, x_kv: &DMatrix<f64>| {
        loss(&g, &m.forward(x_q, x_kv, None).unwrap().output)
    };
    fd_check("dX_q", &grads.d_x_q, &x_q, |x| l(&mha, x, &x_kv));
    fd_check("dX_kv", &grads.d_x_kv, &x_kv, |x| l(&mha, &x_q, x));
    let lm = |m: &M| l(m, &x_q, &x_kv);
    fd_param!("dW_Q", &mha, &grads.w_q.d_w, lm, |m| m.w_q.w);
    fd_param!("dW_K", &mha, &grads.w_k.d_w, lm, |m| m.w_k.w);
    fd_param!("dW_V", &mha, &grads.w_v.d_w, lm, |m| m.w_v.w);
    fd_param!("dW_O", &mha, &grads.w_o.d_w, lm, |m| m.w_o.w);
    fd_param!(vec "db_Q", &mha, &grads.w_q.d_b, lm, |m| m.w_q.b);
    fd_param!(vec "db_K", &mha, &grads.w_k.d_b, lm, |m| m.w_k.b);
    fd_param!(vec "db_V", &mha, &grads.w_v.d_b, lm, |m| m.w_v.b);
    fd_param!(vec "db_O", &mha, &grads.w_o.d_b, lm, |m| m.w_o.b);
    // Softmax rows ignore a shift, and b_K shifts every score of a query
    // by the same amount: its gradient is 0.
    assert!(grads.w_k.d_b.amax() < 1e-14, "{}", grads.w_k.d_b);
}

/// Checks every gradient of `block` at `x` against finite differences.
fn fd_check_block(
    block: &EncoderBlock<f64>,
    x: &DMatrix<f64>,
    g: &DMatrix<f64>,
) {
    let mask = causal_mask(x.nrows()).unwrap();
    let cache = block.forward(x, Some(&mask)).unwrap();
    let gr = block.backward(&cache, g).unwrap();
    type B = EncoderBlock<f64>;
    let l = |b: &B, x: &DMatrix<f64>| {
        loss(g, &b.forward(x, Some(&mask)).unwrap().output)
    };
    let lb = |b: &B| l(b, x);
    fd_check("dX", &gr.d_x, x, |x| l(block, x));
    let a = &gr.attention;
    fd_param!("dW_Q", block, &a.w_q.d_w, lb, |m| m.attention.w_q.w);
    fd_param!("dW_K", block, &a.w_k.d_w, lb, |m| m.attention.w_k.w);
    fd_param!("dW_V", block, &a.w_v.d_w, lb, |m| m.attention.w_v.w);
    fd_param!("dW_O", block, &a.w_o.d_w, lb, |m| m.attention.w_o.w);
    fd_param!(vec "db_Q", block, &a.w_q.d_b, lb, |m| m.attention.w_q.b);
    fd_param!(vec "db_V", block, &a.w_v.d_b, lb, |m| m.attention.w_v.b);
    fd_param!(vec "db_O", block, &a.w_o.d_b, lb, |m| m.attention.w_o.b);
    fd_param!(vec "dγ1", block, &gr.norm1.d_gamma, lb, |m| m.norm1.gamma);
    fd_param!(vec "dβ1", block, &gr.norm1.d_beta, lb, |m| m.norm1.beta);
    fd_param!("dW1", block, &gr.ffn.lin1.d_w, lb, |m| m.ffn.lin1.w);
    fd_param!(vec "db1", block, &gr.ffn.lin1.d_b, lb, |m| m.ffn.lin1.b);
    fd_param!("dW2", block, &gr.ffn.lin2.d_w, lb, |m| m.ffn.lin2.w);
    fd_param!(vec "db2", block, &gr.ffn.lin2.d_b, lb, |m| m.ffn.lin2.b);
    fd_param!(vec "dγ2", block, &gr.norm2.d_gamma, lb, |m| m.norm2.gamma);
    fd_param!(vec "dβ2", block, &gr.norm2.d_beta, lb, |m| m.norm2.beta);
    let hidden = &cache.ffn.hidden;
    let nearest = hidden.iter().map(|h| h.abs()).fold(f64::INFINITY, f64::min);
    assert!(
        nearest > KINK_DISTANCE,
        "a hidden unit is {nearest} from the kink"
    );
}

#[test]
fn block_backward_matches_finite_differences() {
    let mut rng = random::rng(67);
    let (n, d, h) = (4, 6, 2);
    for position in [NormPosition::Post, NormPosition::Pre] {
        let block = EncoderBlock::new(
            random_mha(&mut rng, d, h),
            random_norm(&mut rng, d),
            FeedForward::new(
                random_linear(&mut rng, d, 2 * d),
                random_linear(&mut rng, 2 * d, d),
                Activation::Relu,
            )
            .unwrap(),
            random_norm(&mut rng, d),
            position,
        )
        .unwrap();
        let x = random::normal(&mut rng, n, d, 1.0);
        let g = random::normal(&mut rng, n, d, 1.0);
        fd_check_block(&block, &x, &g);
    }
}

fn close(ours: &DMatrix<f64>, torch: &Value, name: &str) {
    assert_close(ours, &matrix(torch), AUTOGRAD_TOL, AUTOGRAD_TOL, name);
}

fn close_v(ours: &DMatrix<f64>, torch: &Value, name: &str) {
    close(
        &col(ours),
        &Value::Array(
            vector(torch)
                .iter()
                .map(|x| Value::from(vec![*x]))
                .collect(),
        ),
        name,
    );
}

#[test]
fn matches_torch_autograd_float64() {
    let r = json(include_str!("../reference/gradients.json"));
    // Attention with a causal mask.
    let c = &r["attention"];
    let (q, k, v) = (matrix(&c["q"]), matrix(&c["k"]), matrix(&c["v"]));
    let mask = matrix(&c["mask"]);
    let fwd = attention(&q, &k, &v, Some(&mask)).unwrap();
    let gr = attention_backward(&q, &k, &v, &fwd, &matrix(&c["g"])).unwrap();
    close(&gr.d_q, &c["d_q"], "attention dQ");
    close(&gr.d_k, &c["d_k"], "attention dK");
    close(&gr.d_v, &c["d_v"], "attention dV");
    // Layer norm.
    let c = &r["layer_norm"];
    let ln =
        LayerNorm::new(row(&c["gamma"]), row(&c["beta"]), PYTORCH_EPS).unwrap();
    let cache = ln.forward(&matrix(&c["x"])).unwrap();
    let gr = ln.backward(&cache, &matrix(&c["g"])).unwrap();
    close(&gr.d_x, &c["d_x"], "LN dX");
    close_v(&gr.d_gamma, &c["d_gamma"], "LN dγ");
    close_v(&gr.d_beta, &c["d_beta"], "LN dβ");
    // Feed-forward networks.
    for (key, activation) in [
        ("ffn_relu", Activation::Relu),
        ("ffn_gelu_tanh", Activation::GeluTanh),
    ] {
        let c = &r[key];
        let ffn = FeedForward::new(
            common::linear(&c["lin1"]),
            common::linear(&c["lin2"]),
            activation,
        )
        .unwrap();
        let x = matrix(&c["x"]);
        let cache = ffn.forward(&x).unwrap();
        let gr = ffn.backward(&x, &cache, &matrix(&c["g"])).unwrap();
        close(&gr.d_x, &c["d_x"], key);
        close(&gr.lin1.d_w, &c["d_w1"], key);
        close_v(&gr.lin1.d_b, &c["d_b1"], key);
        close(&gr.lin2.d_w, &c["d_w2"], key);
        close_v(&gr.lin2.d_b, &c["d_b2"], key);
    }
    // Multi-head self-attention with a causal mask.
    let c = &r["multihead"];
    let mha =
        common::mha(&c["params"], c["n_heads"].as_u64().unwrap() as usize);
    let x = matrix(&c["x"]);
    let mask = matrix(&c["mask"]);
    let cache = mha.forward(&x, &x, Some(&mask)).unwrap();
    let gr = mha.backward(&x, &x, &cache, &matrix(&c["g"])).unwrap();
    close(&(&gr.d_x_q + &gr.d_x_kv), &c["d_x"], "MHA dX");
    let p = &c["d_params"];
    for (name, lg) in [
        ("w_q", &gr.w_q),
        ("w_k", &gr.w_k),
        ("w_v", &gr.w_v),
        ("w_o", &gr.w_o),
    ] {
        close(&lg.d_w, &p[name]["w"], name);
        close_v(&lg.d_b, &p[name]["b"], name);
    }
    // Whole blocks, post-LN and pre-LN.
    for (key, position) in [
        ("block_post_ln", NormPosition::Post),
        ("block_pre_ln", NormPosition::Pre),
    ] {
        let c = &r[key];
        let block = common::block(
            &c["params"],
            c["n_heads"].as_u64().unwrap() as usize,
            position,
        );
        let cache = block.forward(&matrix(&c["x"]), None).unwrap();
        close(&cache.output, &c["output"], key);
        let gr = block.backward(&cache, &matrix(&c["g"])).unwrap();
        close(&gr.d_x, &c["d_x"], key);
        let p = &c["d_params"];
        let a = &gr.attention;
        for (name, lg) in [
            ("w_q", &a.w_q),
            ("w_k", &a.w_k),
            ("w_v", &a.w_v),
            ("w_o", &a.w_o),
        ] {
            close(&lg.d_w, &p["attention"][name]["w"], name);
            close_v(&lg.d_b, &p["attention"][name]["b"], name);
        }
        close_v(&gr.norm1.d_gamma, &p["norm1"]["gamma"], "γ1");
        close_v(&gr.norm1.d_beta, &p["norm1"]["beta"], "β1");
        close_v(&gr.norm2.d_gamma, &p["norm2"]["gamma"], "γ2");
        close_v(&gr.norm2.d_beta, &p["norm2"]["beta"], "β2");
        close(&gr.ffn.lin1.d_w, &p["ffn"]["lin1"]["w"], "W1");
        close_v(&gr.ffn.lin1.d_b, &p["ffn"]["lin1"]["b"], "b1");
        close(&gr.ffn.lin2.d_w, &p["ffn"]["lin2"]["w"], "W2");
        close_v(&gr.ffn.lin2.d_b, &p["ffn"]["lin2"]["b"], "b2");
    }
}

#[test]
fn backward_refuses_gradients_of_the_wrong_shape() {
    let layer = Linear::without_bias(DMatrix::<f64>::zeros(3, 2)).unwrap();
    let err = layer
        .backward(&DMatrix::zeros(4, 3), &DMatrix::zeros(4, 3))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "∂L/∂Y: expected shape (4, 2) (n tokens, d_out), got shape (4, 3)"
    );
    let p = DMatrix::from_element(2, 2, 0.5);
    let err = softmax_rows_backward(&p, &DMatrix::zeros(2, 3)).unwrap_err();
    assert!(err.to_string().starts_with("∂L/∂P: expected shape (2, 2)"));
    let ln = LayerNorm::<f64>::identity(3).unwrap();
    let cache = ln.forward(&DMatrix::zeros(2, 3)).unwrap();
    let err = ln.backward(&cache, &DMatrix::zeros(3, 3)).unwrap_err();
    assert!(err.to_string().starts_with("∂L/∂Y: expected shape (2, 3)"));
}
