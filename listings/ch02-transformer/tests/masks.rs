//! Tests of the masks, formulas (2.4) to (2.6): their entries, the causal
//! property (a later token changes no earlier output), padding, the fully
//! masked row, and bad masks. The PyTorch comparison of masked attention
//! is in `tests/attention.rs::matches_pytorch_float64` (cases `causal_5`
//! and `padding_last_two_keys`).

mod common;

use ch02_transformer::Error;
use ch02_transformer::attention::attention;
use ch02_transformer::linear::Linear;
use ch02_transformer::mask::{causal_mask, padding_mask};
use ch02_transformer::random;
use nalgebra::DMatrix;

const INF: f64 = f64::INFINITY;

#[test]
fn causal_mask_is_zero_on_and_below_the_diagonal() {
    let m: DMatrix<f64> = causal_mask(3).unwrap();
    #[rustfmt::skip]
    let expected = DMatrix::from_row_slice(3, 3, &[
        0.0, -INF, -INF,
        0.0,  0.0, -INF,
        0.0,  0.0,  0.0,
    ]);
    assert_eq!(m, expected);
    let m: DMatrix<f32> = causal_mask(2).unwrap();
    assert_eq!(m[(0, 1)], f32::NEG_INFINITY);
}

#[test]
fn masked_keys_get_weight_exactly_zero() {
    let mut rng = random::rng(11);
    let x = random::normal(&mut rng, 4, 3, 3.0);
    let a = attention(&x, &x, &x, Some(&causal_mask(4).unwrap())).unwrap();
    for i in 0..4 {
        for j in 0..4 {
            assert_eq!(a.weights[(i, j)] == 0.0, j > i, "({i}, {j})");
        }
        let sum: f64 = a.weights.row(i).sum();
        assert!((sum - 1.0).abs() <= 1e-15, "row {i} sums to {sum}");
    }
    // The first token can only attend to itself: its output is its value.
    assert_eq!(a.output.row(0), x.row(0));
}

#[test]
fn changing_a_later_token_changes_no_earlier_output() {
    // Causal self-attention with projections, Q = X W_Q etc.
    let mut rng = random::rng(12);
    let (n, d) = (6, 4);
    let w = |rng: &mut _| {
        Linear::without_bias(random::normal(rng, d, d, 0.5)).unwrap()
    };
    let (w_q, w_k, w_v) = (w(&mut rng), w(&mut rng), w(&mut rng));
    let x = random::normal(&mut rng, n, d, 1.0);
    let mask = causal_mask(n).unwrap();
    let run = |x: &DMatrix<f64>| {
        let (q, k, v) = (
            w_q.forward(x).unwrap(),
            w_k.forward(x).unwrap(),
            w_v.forward(x).unwrap(),
        );
        attention(&q, &k, &v, Some(&mask)).unwrap().output
    };
    let before = run(&x);
    for t in 0..n {
        let mut changed = x.clone();
        changed.row_mut(t).fill(100.0);
        let after = run(&changed);
        for i in 0..n {
            // Bit for bit: the masked weights are exactly 0, so an
            // earlier row computes the same numbers in the same order.
            assert_eq!(
                before.row(i) == after.row(i),
                i < t,
                "changing token {t} and looking at output {i}"
            );
        }
    }
}

#[test]
fn padding_is_ignored_whatever_it_holds() {
    let mut rng = random::rng(13);
    let q = random::normal(&mut rng, 2, 3, 1.0);
    let mut k = random::normal(&mut rng, 4, 3, 1.0);
    let mut v = random::normal(&mut rng, 4, 2, 1.0);
    let mask = padding_mask(2, &[true, true, false, false]).unwrap();
    let a = attention(&q, &k, &v, Some(&mask)).unwrap();
    // The same as attention over the first two keys only.
    let short = attention(
        &q,
        &k.rows(0, 2).into_owned(),
        &v.rows(0, 2).into_owned(),
        None,
    )
    .unwrap();
    common::assert_close(&a.output, &short.output, 0.0, 1e-15, "padding");
    k.row_mut(3).fill(1e6);
    v.row_mut(2).fill(-1e6);
    let b = attention(&q, &k, &v, Some(&mask)).unwrap();
    assert_eq!(a.output, b.output);
    // Causal and padding masks combine by addition.
    let both = causal_mask::<f64>(3).unwrap()
        + padding_mask(3, &[true, false, true]).unwrap();
    assert_eq!(both[(2, 1)], -INF);
    assert_eq!(both[(2, 2)], 0.0);
    assert_eq!(both[(1, 1)], -INF);
}

#[test]
fn a_fully_masked_row_is_refused() {
    // PyTorch 2.5+ returns zeros for such a row (attention.json records
    // it); the listing refuses it, because no distribution over zero keys
    // exists and a silent zero would hide the mistake.
    let r = common::json(include_str!("../reference/attention.json"));
    let torch_row = &r["torch_fully_masked_row_output"];
    assert!(common::vector(torch_row).iter().all(|&o| o == 0.0));

    let q = DMatrix::from_element(2, 2, 1.0);
    let k = DMatrix::from_element(3, 2, 1.0);
    let v = DMatrix::from_element(3, 1, 1.0);
    let mut mask = DMatrix::zeros(2, 3);
    mask.row_mut(1).fill(-INF);
    // A domain error, as chapter 1's softmax gives for a row of −∞.
    let err = attention(&q, &k, &v, Some(&mask)).unwrap_err();
    assert_eq!(
        err,
        Error::Domain {
            what: "a row of mask M",
            requirement: "at least one entry > −∞ (a key to attend to)",
            value: f64::NEG_INFINITY,
        }
    );
    let err = padding_mask::<f64>(2, &[false, false]).unwrap_err();
    assert!(matches!(err, Error::Domain { value: 0.0, .. }), "{err:?}");
    assert!(err.to_string().contains("all keys are padding"), "{err}");
}

#[test]
fn bad_masks_are_refused_with_a_clear_error() {
    let q = DMatrix::<f64>::zeros(2, 4);
    let k = DMatrix::<f64>::zeros(3, 4);
    let v = DMatrix::<f64>::zeros(3, 1);
    let mask = causal_mask(3).unwrap();
    let err = attention(&q, &k, &v, Some(&mask)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "mask M: expected shape (2, 3) (n_q queries, n_k keys), \
         got shape (3, 3)"
    );
    let mut mask = DMatrix::zeros(2, 3);
    mask[(0, 2)] = f64::NAN;
    let err = attention(&q, &k, &v, Some(&mask)).unwrap_err();
    assert!(
        err.to_string().starts_with("mask M: entry 2 is NaN"),
        "{err}"
    );
    mask[(0, 2)] = INF;
    let err = attention(&q, &k, &v, Some(&mask)).unwrap_err();
    assert!(
        err.to_string().starts_with("mask M: entry 2 is inf"),
        "{err}"
    );
    assert!(causal_mask::<f64>(0).is_err());
    assert!(padding_mask::<f64>(0, &[true]).is_err());
}
