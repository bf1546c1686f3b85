//! Tests of exercise 2.7: the backward pass of masked attention against
//! the listing, central finite differences and what the causal mask
//! implies.

use ch02_transformer::attention::{attention, attention_backward};
use ch02_transformer::mask::causal_mask;
use genai_exercises::ch02_7::*;
use nalgebra::DMatrix;
use notation::Error;

/// The same products as the listing in maybe another order: a few ulps of
/// entries of order 1.
const LISTING_TOL: f64 = 1e-13;

/// Central differences with h = 1e-5 on a loss of order 1: truncation and
/// rounding about 1e-10 each (see the book's section on gradients);
/// a missing term or a wrong sign gives errors of 0.01 to 1.
const FD_TOL: f64 = 1e-7;

/// A deterministic matrix with entries in [−1.5, 1.5].
fn mat(rows: usize, cols: usize, seed: f64) -> DMatrix<f64> {
    DMatrix::from_fn(rows, cols, |i, j| {
        1.5 * (seed + 1.3 * i as f64 + 0.7 * j as f64 + 0.1 * (i * j) as f64)
            .sin()
    })
}

fn inputs() -> (DMatrix<f64>, DMatrix<f64>, DMatrix<f64>, DMatrix<f64>) {
    let n = 4;
    (
        mat(n, 3, 0.1),
        mat(n, 3, 1.7),
        mat(n, 2, 2.9),
        mat(n, 2, 4.1),
    )
}

/// `L = Σ G ⊙ O`, so that `∂L/∂O = G`.
fn loss(
    q: &DMatrix<f64>,
    k: &DMatrix<f64>,
    v: &DMatrix<f64>,
    mask: Option<&DMatrix<f64>>,
    g: &DMatrix<f64>,
) -> f64 {
    attention(q, k, v, mask)
        .unwrap()
        .output
        .component_mul(g)
        .sum()
}

#[test]
fn agrees_with_the_listing_with_and_without_mask() {
    let (q, k, v, g) = inputs();
    let causal = causal_mask::<f64>(4).unwrap();
    for mask in [None, Some(&causal)] {
        let got = masked_attention_backward(&q, &k, &v, mask, &g).unwrap();
        let fwd = attention(&q, &k, &v, mask).unwrap();
        let want = attention_backward(&q, &k, &v, &fwd, &g).unwrap();
        assert!((&got.d_q - &want.d_q).amax() <= LISTING_TOL);
        assert!((&got.d_k - &want.d_k).amax() <= LISTING_TOL);
        assert!((&got.d_v - &want.d_v).amax() <= LISTING_TOL);
    }
}

#[test]
fn agrees_with_central_differences_under_a_causal_mask() {
    let (q, k, v, g) = inputs();
    let mask = causal_mask::<f64>(4).unwrap();
    let got = masked_attention_backward(&q, &k, &v, Some(&mask), &g).unwrap();
    let h = 1e-5;
    for which in 0..3 {
        let analytic = [&got.d_q, &got.d_k, &got.d_v][which];
        let base = [&q, &k, &v][which];
        for idx in 0..base.len() {
            let mut args = [q.clone(), k.clone(), v.clone()];
            args[which][idx] += h;
            let plus = loss(&args[0], &args[1], &args[2], Some(&mask), &g);
            args[which][idx] -= 2.0 * h;
            let minus = loss(&args[0], &args[1], &args[2], Some(&mask), &g);
            let fd = (plus - minus) / (2.0 * h);
            let a = analytic[idx];
            assert!(
                (a - fd).abs() <= FD_TOL * (1.0 + a.abs()),
                "argument {which}, entry {idx}: {a} vs {fd}"
            );
        }
    }
}

#[test]
fn the_first_query_sees_only_the_first_key() {
    // With a causal mask, query 1 attends to key 1 alone: P_11 = 1, so
    // ∂L/∂S of row 1 is 0 and a loss on output row 1 reaches only V_1.
    let (q, k, v, _) = inputs();
    let mask = causal_mask::<f64>(4).unwrap();
    let mut g = DMatrix::zeros(4, 2);
    g[(0, 0)] = 1.0;
    g[(0, 1)] = -2.0;
    let got = masked_attention_backward(&q, &k, &v, Some(&mask), &g).unwrap();
    assert_eq!(got.d_q.amax(), 0.0);
    assert_eq!(got.d_k.amax(), 0.0);
    assert_eq!(got.d_v.row(0), g.row(0));
    assert_eq!(got.d_v.rows(1, 3).amax(), 0.0);
}

#[test]
fn later_keys_get_no_gradient_from_earlier_queries() {
    // A loss on the outputs of queries 1 and 2 only: keys and values 3 and
    // 4 are masked for them, so their gradients are exactly 0.
    let (q, k, v, mut g) = inputs();
    let mask = causal_mask::<f64>(4).unwrap();
    g.rows_mut(2, 2).fill(0.0);
    let got = masked_attention_backward(&q, &k, &v, Some(&mask), &g).unwrap();
    assert_eq!(got.d_k.rows(2, 2).amax(), 0.0);
    assert_eq!(got.d_v.rows(2, 2).amax(), 0.0);
    assert!(got.d_k.rows(0, 2).amax() > 0.0);
}

#[test]
fn bad_shapes_are_refused() {
    let (q, k, v, _) = inputs();
    let wrong = DMatrix::zeros(4, 3);
    assert!(matches!(
        masked_attention_backward(&q, &k, &v, None, &wrong),
        Err(Error::Shape { .. })
    ));
    let short_k = DMatrix::zeros(4, 2);
    assert!(masked_attention_backward(&q, &short_k, &v, None, &wrong).is_err());
}
