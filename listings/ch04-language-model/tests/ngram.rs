//! The count baselines: add-k smoothing (4.2), (4.3) and their
//! cross-entropy.

use approx::assert_relative_eq;
use ch01_probability::mle::categorical_mle;
use ch04_language_model::ngram::{Bigram, Unigram};
use nalgebra::DVector;

/// Sums of a few probabilities: a few ulps of rounding.
const SUM_TOL: f64 = 1e-12;

#[test]
fn add_k_by_hand() {
    // "abba" over V = 3: counts a 2, b 2, c 0; N = 4.
    let u = Unigram::fit(&[0, 1, 1, 0], 3, 1.0).unwrap();
    // (2 + 1) / (4 + 3), (2 + 1) / 7, (0 + 1) / 7.
    assert_relative_eq!(u.probs[0], 3.0 / 7.0, epsilon = SUM_TOL);
    assert_relative_eq!(u.probs[2], 1.0 / 7.0, epsilon = SUM_TOL);
    // Pairs ab, bb, ba: row a: n_ab = 1 → (0+1, 1+1, 0+1) / (1 + 3).
    let b = Bigram::fit(&[0, 1, 1, 0], 3, 1.0).unwrap();
    assert_relative_eq!(b.probs[(0, 1)], 2.0 / 4.0, epsilon = SUM_TOL);
    assert_relative_eq!(b.probs[(0, 0)], 1.0 / 4.0, epsilon = SUM_TOL);
    // Row c was never followed by anything: uniform.
    assert_relative_eq!(b.probs[(2, 2)], 1.0 / 3.0, epsilon = SUM_TOL);
}

#[test]
fn k_zero_is_the_maximum_likelihood_estimate_of_chapter_1() {
    let tokens = [0, 2, 2, 1, 2, 0, 3, 2];
    let u = Unigram::fit(&tokens, 5, 0.0).unwrap();
    let mle: DVector<f64> = categorical_mle(&tokens, 5).unwrap();
    assert_relative_eq!(u.probs, mle, epsilon = SUM_TOL);
}

#[test]
fn rows_are_distributions_and_large_k_tends_to_uniform() {
    let tokens = [0, 1, 2, 1, 0, 1, 1, 1, 2];
    for k in [0.0, 0.1, 1.0, 1e6] {
        let b = Bigram::fit(&tokens, 4, k).unwrap();
        for row in b.probs.row_iter() {
            assert_relative_eq!(row.sum(), 1.0, epsilon = SUM_TOL);
        }
    }
    // k → ∞ washes out the counts: every probability → 1/V.
    let u = Unigram::fit(&tokens, 4, 1e12).unwrap();
    assert_relative_eq!(u.probs[3], 0.25, epsilon = 1e-10);
}

#[test]
fn cross_entropy_of_a_deterministic_text() {
    // "abab...": the bigram with k = 0 predicts every character for sure.
    let tokens: Vec<usize> = (0..20).map(|i| i % 2).collect();
    let b = Bigram::fit(&tokens, 2, 0.0).unwrap();
    assert_eq!(b.cross_entropy(&tokens).unwrap(), 0.0);
    // The unigram sees two equally frequent characters: log 2 nats.
    let u = Unigram::fit(&tokens, 2, 0.0).unwrap();
    assert_relative_eq!(
        u.cross_entropy(&tokens).unwrap(),
        2f64.ln(),
        epsilon = SUM_TOL
    );
}

#[test]
fn unseen_pair_is_infinite_without_smoothing_and_finite_with_it() {
    let train = [0, 1, 0, 1];
    let valid = [1, 1];
    let b0 = Bigram::fit(&train, 2, 0.0).unwrap();
    assert_eq!(b0.cross_entropy(&valid).unwrap(), f64::INFINITY);
    let b1 = Bigram::fit(&train, 2, 1.0).unwrap();
    assert!(b1.cross_entropy(&valid).unwrap().is_finite());
}

#[test]
fn bad_input_is_refused() {
    let e = Unigram::fit(&[0, 5], 3, 1.0).unwrap_err();
    assert!(
        matches!(e, ch04_language_model::Error::Index { .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("5 at position 1"), "{e}");
    let e = Bigram::fit(&[0, 1], 3, -1.0).unwrap_err();
    assert!(e.to_string().contains("smoothing constant k"), "{e}");
    assert!(Unigram::fit(&[0], 3, 1.0).is_err());
}
