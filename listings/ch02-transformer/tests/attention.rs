//! Tests of scaled dot-product attention, formula (2.2): closed forms,
//! invariants, stability, and float64 reference values from PyTorch
//! (`reference/attention.py` wrote `reference/attention.json`).

mod common;

use ch02_transformer::Error;
use ch02_transformer::attention::attention;
use ch02_transformer::random;
use common::{assert_close, json, matrix};
use nalgebra::DMatrix;
use testing::{CLOSED_FORM_TOL, TORCH_TOL};

/// Scores near 750 are exact only to an ulp of 750 (1.1e-13); that
/// absolute error of a score is a relative error of its weight.
const LARGE_SCORE_TOL: f64 = 1e-12;

/// Row sums of at most 8 weights: one rounding per addition.
const SUM_TOL: f64 = 1e-15;

fn m(rows: usize, cols: usize, entries: &[f64]) -> DMatrix<f64> {
    DMatrix::from_row_slice(rows, cols, entries)
}

#[test]
fn two_keys_by_hand() {
    // d_k = 1, q = 2, keys 1 and 0: scores 2 and 0, weights
    // e²/(e² + 1) and 1/(e² + 1); the output mixes the values 10 and 20.
    let q = m(1, 1, &[2.0]);
    let k = m(2, 1, &[1.0, 0.0]);
    let v = m(2, 1, &[10.0, 20.0]);
    let a = attention(&q, &k, &v, None).unwrap();
    let w0 = 2f64.exp() / (2f64.exp() + 1.0);
    assert_close(
        &a.weights,
        &m(1, 2, &[w0, 1.0 - w0]),
        0.0,
        CLOSED_FORM_TOL,
        "w",
    );
    let expected = 10.0 * w0 + 20.0 * (1.0 - w0);
    assert_close(&a.output, &m(1, 1, &[expected]), 0.0, CLOSED_FORM_TOL, "o");
    // d_k = 4: the score is divided by √4 = 2.
    let q = m(1, 4, &[1.0, 1.0, 1.0, 1.0]);
    let k = m(2, 4, &[1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
    let a = attention(&q, &k, &v, None).unwrap();
    assert_close(&a.scores, &m(1, 2, &[2.0, 0.0]), 0.0, CLOSED_FORM_TOL, "s");
}

#[test]
fn a_single_key_or_equal_scores_give_the_value_or_the_mean() {
    // One key: the only weight is 1, the output is that key's value.
    let q = m(2, 3, &[0.3, -1.0, 2.0, 5.0, 5.0, 5.0]);
    let k = m(1, 3, &[1.0, 2.0, 3.0]);
    let v = m(1, 2, &[7.0, -7.0]);
    let a = attention(&q, &k, &v, None).unwrap();
    assert_close(
        &a.output,
        &m(2, 2, &[7.0, -7.0, 7.0, -7.0]),
        0.0,
        CLOSED_FORM_TOL,
        "one key",
    );
    // A zero query scores 0 against every key: uniform weights, the mean.
    let q = m(1, 3, &[0.0, 0.0, 0.0]);
    let k = m(
        4,
        3,
        &[1.0, 2.0, 3.0, -1.0, 0.5, 2.0, 9.0, 9.0, 9.0, 0.0, 0.0, 1.0],
    );
    let v = m(4, 1, &[1.0, 2.0, 3.0, 6.0]);
    let a = attention(&q, &k, &v, None).unwrap();
    assert_close(&a.weights, &m(1, 4, &[0.25; 4]), 0.0, CLOSED_FORM_TOL, "w");
    assert_close(&a.output, &m(1, 1, &[3.0]), 0.0, CLOSED_FORM_TOL, "mean");
}

#[test]
fn weights_are_distributions_and_outputs_lie_between_the_values() {
    let mut rng = random::rng(7);
    for (n_q, n_k, d_k, d_v) in [(1, 1, 1, 1), (3, 5, 4, 2), (6, 6, 8, 8)] {
        let q = random::normal(&mut rng, n_q, d_k, 2.0);
        let k = random::normal(&mut rng, n_k, d_k, 2.0);
        let v = random::normal(&mut rng, n_k, d_v, 1.0);
        let a = attention(&q, &k, &v, None).unwrap();
        assert_eq!(a.weights.shape(), (n_q, n_k));
        assert_eq!(a.output.shape(), (n_q, d_v));
        for row in a.weights.row_iter() {
            assert!(row.iter().all(|&p| (0.0..=1.0).contains(&p)));
            assert!((row.sum() - 1.0).abs() <= SUM_TOL, "{row}");
        }
        // Each output is a convex combination of the values, so each of
        // its coordinates lies between the smallest and largest value.
        for j in 0..d_v {
            let (lo, hi) = (v.column(j).min(), v.column(j).max());
            for i in 0..n_q {
                let o = a.output[(i, j)];
                assert!(lo - SUM_TOL <= o && o <= hi + SUM_TOL, "{o}");
            }
        }
    }
}

#[test]
fn the_example_sentence_attends_to_the_intended_words() {
    use ch02_transformer::example::{LINK, PHRASE, sentence_attention};
    let p = sentence_attention().unwrap().weights;
    // Die → Katze, Katze → sitzt, sitzt → Katze, auf → Matte,
    // der → Matte, Matte → sitzt: what the features and W_Q were made for.
    let intended = [1, 2, 1, 5, 5, 2];
    for (i, &j) in intended.iter().enumerate() {
        let (best, _) = p
            .row(i)
            .iter()
            .enumerate()
            .fold((0, f64::MIN), |b, (k, &w)| if w > b.1 { (k, w) } else { b });
        assert_eq!(best, j, "row {i}: {}", p.row(i));
    }
    // By hand for „Die“: q = LINK·noun + PHRASE·subject, so the scores
    // against Die, Katze, sitzt, auf, der, Matte are PHRASE, LINK + PHRASE,
    // 0, 0, 0, LINK, each divided by √6.
    let e = |s: f64| (s / 6.0_f64.sqrt()).exp();
    let total = e(PHRASE) + e(LINK + PHRASE) + 3.0 + e(LINK);
    let expected = e(LINK + PHRASE) / total;
    assert!(
        (p[(0, 1)] - expected).abs() < CLOSED_FORM_TOL,
        "{} vs {expected}",
        p[(0, 1)]
    );
}

#[test]
fn scores_near_750_do_not_overflow() {
    // exp(742) is +∞ in f64; a naive softmax would give ∞/∞ = NaN.
    let q = m(1, 2, &[30.0, 25.0]);
    let k = m(2, 2, &[25.0, 12.0, 24.0, 13.0]);
    let v = m(2, 1, &[1.0, -1.0]);
    let a = attention(&q, &k, &v, None).unwrap();
    assert!(a.scores[(0, 0)] > 740.0);
    assert!(a.scores[(0, 0)].exp().is_infinite());
    assert!(a.output.iter().all(|o| o.is_finite()));
    // The weights depend only on the score difference (1050 − 1045)/√2.
    let d = 5.0 / 2f64.sqrt();
    let w0 = 1.0 / (1.0 + (-d).exp());
    // The small weight directly, not as 1 − w0 (that would cancel).
    let w1 = 1.0 / (1.0 + d.exp());
    assert_close(&a.weights, &m(1, 2, &[w0, w1]), 0.0, LARGE_SCORE_TOL, "w");
}

#[test]
fn f32_works_the_same_way() {
    let q = DMatrix::from_row_slice(1, 2, &[30.0_f32, 25.0]);
    let k = DMatrix::from_row_slice(2, 2, &[30.0_f32, 25.0, 30.0, 25.0]);
    let v = DMatrix::from_row_slice(2, 1, &[1.0_f32, 3.0]);
    let a = attention(&q, &k, &v, None).unwrap();
    assert_eq!(a.output[(0, 0)], 2.0);
}

#[test]
fn matches_pytorch_float64() {
    let r = json(include_str!("../reference/attention.json"));
    let cases = r["cases"].as_array().unwrap();
    assert!(cases.len() >= 4);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let mask = (!c["mask"].is_null()).then(|| matrix(&c["mask"]));
        let a = attention(
            &matrix(&c["q"]),
            &matrix(&c["k"]),
            &matrix(&c["v"]),
            mask.as_ref(),
        )
        .unwrap();
        assert_close(
            &a.weights,
            &matrix(&c["weights"]),
            TORCH_TOL,
            TORCH_TOL,
            name,
        );
        assert_close(
            &a.output,
            &matrix(&c["output"]),
            TORCH_TOL,
            TORCH_TOL,
            name,
        );
    }
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    let q = DMatrix::<f64>::zeros(2, 4);
    let k = DMatrix::<f64>::zeros(3, 3);
    let v = DMatrix::<f64>::zeros(3, 2);
    let err = attention(&q, &k, &v, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "K: expected 4 columns (d_k, the columns of Q), got 3 columns"
    );
    let k = DMatrix::<f64>::zeros(3, 4);
    let v = DMatrix::<f64>::zeros(2, 2);
    let err = attention(&q, &k, &v, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "V: expected 3 rows (n_k, the rows of K), got 2 rows"
    );
    let empty = DMatrix::<f64>::zeros(0, 4);
    let err = attention(&empty, &k, &v, None).unwrap_err();
    assert_eq!(err, Error::Empty { what: "Q" });
    let q = m(1, 1, &[f64::NAN]);
    let one = m(1, 1, &[1.0]);
    let err = attention(&q, &one, &one, None).unwrap_err();
    assert!(err.to_string().contains("NaN"), "{err}");
}
