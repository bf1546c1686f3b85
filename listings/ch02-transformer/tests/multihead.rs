//! Tests of multi-head attention, formulas (2.7) and (2.8): the one-head
//! and identity cases in closed form, the shapes at every step, and
//! float64 reference values from `nn.MultiheadAttention`
//! (`reference/multihead.py` wrote `reference/multihead.json`).

mod common;

use ch02_transformer::attention::attention;
use ch02_transformer::linear::Linear;
use ch02_transformer::mask::causal_mask;
use ch02_transformer::multihead::MultiHeadAttention;
use ch02_transformer::random;
use common::{assert_close, json, matrix, optional_matrix};
use nalgebra::DMatrix;
use testing::{CLOSED_FORM_TOL, TORCH_TOL};

fn identity(d: usize) -> Linear<f64> {
    Linear::without_bias(DMatrix::identity(d, d)).unwrap()
}

fn identity_mha(d: usize, h: usize) -> MultiHeadAttention<f64> {
    MultiHeadAttention::new(
        h,
        identity(d),
        identity(d),
        identity(d),
        identity(d),
    )
    .unwrap()
}

#[test]
fn one_head_with_identity_weights_is_plain_attention() {
    let mut rng = random::rng(21);
    let x = random::normal(&mut rng, 4, 6, 1.0);
    let mha = identity_mha(6, 1);
    let ours = mha.forward(&x, &x, None).unwrap();
    let plain = attention(&x, &x, &x, None).unwrap();
    assert_close(&ours.output, &plain.output, 0.0, CLOSED_FORM_TOL, "h = 1");
}

#[test]
fn each_head_attends_with_its_own_slice_of_columns() {
    // With identity weights, head i is attention on columns
    // i·d_k .. (i+1)·d_k of X, and the output is their concatenation.
    let mut rng = random::rng(22);
    let (n, d, h) = (5, 6, 3);
    let x = random::normal(&mut rng, n, d, 1.5);
    let mha = identity_mha(d, h);
    let cache = mha.forward(&x, &x, None).unwrap();
    let d_k = d / h;
    for i in 0..h {
        let xi = x.columns(i * d_k, d_k).into_owned();
        let head = attention(&xi, &xi, &xi, None).unwrap();
        let got = cache.output.columns(i * d_k, d_k).into_owned();
        assert_close(&got, &head.output, 0.0, CLOSED_FORM_TOL, "head");
    }
}

#[test]
fn shapes_at_every_step() {
    let mut rng = random::rng(23);
    let (n_q, n_k, d, h) = (3, 7, 8, 4);
    let w = |rng: &mut _| {
        Linear::new(
            random::normal(rng, d, d, 0.3),
            random::normal(rng, d, 1, 0.1).transpose(),
        )
        .unwrap()
    };
    let mha = MultiHeadAttention::new(
        h,
        w(&mut rng),
        w(&mut rng),
        w(&mut rng),
        w(&mut rng),
    )
    .unwrap();
    let x_q = random::normal(&mut rng, n_q, d, 1.0);
    let x_kv = random::normal(&mut rng, n_k, d, 1.0);
    let c = mha.forward(&x_q, &x_kv, None).unwrap();
    assert_eq!(mha.d_k(), 2);
    assert_eq!(
        (c.q.shape(), c.k.shape(), c.v.shape()),
        ((3, 8), (7, 8), (7, 8))
    );
    assert_eq!(c.heads.len(), h);
    for head in &c.heads {
        assert_eq!(head.weights.shape(), (n_q, n_k));
        assert_eq!(head.output.shape(), (n_q, 2));
    }
    assert_eq!(c.concat.shape(), (n_q, d));
    assert_eq!(c.output.shape(), (n_q, d));
}

#[test]
fn matches_pytorch_multihead_attention_float64() {
    let r = json(include_str!("../reference/multihead.json"));
    let cases = r["cases"].as_array().unwrap();
    assert!(cases.len() >= 4);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let n_heads = c["n_heads"].as_u64().unwrap() as usize;
        let mha = common::mha(&c["params"], n_heads);
        let mask = optional_matrix(&c["mask"]);
        let ours = mha
            .forward(&matrix(&c["x_q"]), &matrix(&c["x_kv"]), mask.as_ref())
            .unwrap();
        assert_close(
            &ours.output,
            &matrix(&c["output"]),
            TORCH_TOL,
            TORCH_TOL,
            name,
        );
        let torch_weights = c["weights"].as_array().unwrap();
        assert_eq!(torch_weights.len(), n_heads);
        for (head, w) in ours.heads.iter().zip(torch_weights) {
            assert_close(&head.weights, &matrix(w), TORCH_TOL, TORCH_TOL, name);
        }
    }
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    let err = MultiHeadAttention::new(
        4,
        identity(6),
        identity(6),
        identity(6),
        identity(6),
    )
    .unwrap_err();
    assert!(matches!(err, ch02_transformer::Error::Config { .. }));
    assert_eq!(
        err.to_string(),
        "n_heads: expected a divisor of d_model = 6, got 4"
    );
    let err = MultiHeadAttention::new(
        2,
        identity(6),
        identity(4),
        identity(6),
        identity(6),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "W_K: expected shape (6, 6) (d_model × d_model, d_model from W_Q), \
         got shape (4, 4)"
    );
    let mha = identity_mha(6, 2);
    let x = DMatrix::<f64>::zeros(3, 6);
    let err = mha.forward(&DMatrix::zeros(3, 5), &x, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "X_q: expected 6 columns (d_model), got 5 columns"
    );
    let mask = causal_mask(4).unwrap();
    let err = mha.forward(&x, &x, Some(&mask)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "mask M: expected shape (3, 3) (n_q queries, n_k keys), got shape (4, 4)"
    );
}
