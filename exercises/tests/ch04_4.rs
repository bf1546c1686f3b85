//! Tests of exercise 4.4 (top-p sampling); they run against the stub
//! with `cargo xtask exercise ch04-4`.

use approx::assert_relative_eq;
use genai_exercises::ch04_4::*;
use nalgebra::DVector;
use notation::Error;
use testing::CLOSED_FORM_TOL;

fn q() -> DVector<f64> {
    DVector::from_vec(vec![0.15, 0.5, 0.05, 0.3])
}

#[test]
fn keeps_the_fewest_tokens_that_reach_p() {
    // 0.5 + 0.3 = 0.8 < 0.9 ≤ 0.8 + 0.15: the nucleus is {1, 3, 0}.
    let out = top_p(&q(), 0.9).unwrap();
    let expected = DVector::from_vec(vec![0.15, 0.5, 0.0, 0.3]) / 0.95;
    assert_relative_eq!(out, expected, max_relative = CLOSED_FORM_TOL);
}

#[test]
fn small_p_keeps_only_the_most_probable_token() {
    let out = top_p(&q(), 0.1).unwrap();
    assert_eq!(out, DVector::from_vec(vec![0.0, 1.0, 0.0, 0.0]));
}

#[test]
fn p_one_keeps_the_distribution() {
    let out = top_p(&q(), 1.0).unwrap();
    assert_relative_eq!(out, q(), max_relative = CLOSED_FORM_TOL);
}

#[test]
fn the_result_is_a_distribution_and_ties_keep_the_lower_index() {
    let q = DVector::from_vec(vec![0.25, 0.25, 0.25, 0.25]);
    let out = top_p(&q, 0.5).unwrap();
    assert_relative_eq!(out.sum(), 1.0, max_relative = CLOSED_FORM_TOL);
    assert_eq!(out, DVector::from_vec(vec![0.5, 0.5, 0.0, 0.0]));
}

#[test]
fn bad_p_and_empty_q_are_errors() {
    for p in [0.0, -0.5, 1.5, f64::NAN] {
        assert!(
            matches!(top_p(&q(), p), Err(Error::Domain { .. })),
            "p = {p}"
        );
    }
    let empty = DVector::<f64>::zeros(0);
    assert!(matches!(top_p(&empty, 0.5), Err(Error::Empty { .. })));
}
