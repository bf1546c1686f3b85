//! The numbers that the solutions of chapter 4's exercises state,
//! computed with the listings and the reference solutions, and found in
//! both languages' solution blocks (`assert_answer`).

use ch01_probability::cross_entropy::perplexity;
use ch01_probability::entropy::{average_nll, entropy};
use ch01_probability::softmax::softmax_with_temperature;
use ch04_language_model::corpus::Vocab;
use ch04_language_model::ngram::{Bigram, Unigram};
use genai_exercises::ch04_4::top_p;
use genai_exercises::ch04_5::clip_grad_norm;
use genai_exercises::support::{assert_answer, assert_answer_int};
use nalgebra::{DMatrix, DVector};

#[test]
fn exercise_4_1_uniform_and_coin_models() {
    // The uniform model over 64 characters, scored on any character.
    let q = DVector::from_element(64, 1.0 / 64.0);
    let nll = average_nll(&q, &[0, 17, 63]).unwrap();
    assert_answer("4.1", nll, 3);
    assert_answer_int("4.1", perplexity(nll).unwrap().round() as i64);
    assert_answer_int("4.1", (nll / 2f64.ln()).round() as i64);
    // The model that gives the right character 1/2.
    let half = DVector::from_vec(vec![0.5, 0.5]);
    let nll = average_nll(&half, &[0, 1, 1]).unwrap();
    assert_answer("4.1", nll, 3);
}

#[test]
fn exercise_4_2_entropy_at_two_temperatures() {
    let z = DVector::from_vec(vec![2.0, 1.0, 0.0]);
    for t in [1.0, 2.0] {
        let q = softmax_with_temperature(&z, t).unwrap();
        for &q_c in q.iter() {
            assert_answer("4.2", q_c, 3);
        }
        assert_answer("4.2", entropy(&q).unwrap(), 3);
    }
    // The limit T → ∞ is the entropy of the uniform distribution.
    let uniform = DVector::from_element(3, 1.0 / 3.0);
    assert_answer("4.2", entropy(&uniform).unwrap(), 3);
}

#[test]
fn exercise_4_3_bigram_of_abracadabra() {
    let text = "abracadabra";
    let vocab = Vocab::from_text(text).unwrap();
    let v = vocab.len();
    let tokens = vocab.encode(text, "text").unwrap();
    let index = |c: char| vocab.chars().iter().position(|&x| x == c).unwrap();
    let (a, b, r) = (index('a'), index('b'), index('r'));
    let plain = Bigram::fit(&tokens, v, 0.0).unwrap();
    let laplace = Bigram::fit(&tokens, v, 1.0).unwrap();
    assert_answer_int("4.3", laplace.probs.len() as i64);
    assert_answer_int("4.3", (v * (v - 1)) as i64);
    assert_answer("4.3", plain.probs[(a, b)], 1);
    assert_answer("4.3", laplace.probs[(a, b)], 3);
    assert_answer("4.3", laplace.probs[(a, r)], 3);
    let unigram = Unigram::fit(&tokens, v, 1.0).unwrap();
    assert_answer("4.3", unigram.probs[a], 3);
}

#[test]
fn exercise_4_4_nucleus_of_the_example() {
    let q = DVector::from_vec(vec![0.5, 0.3, 0.15, 0.05]);
    let out = top_p(&q, 0.9).unwrap();
    for &q_c in out.iter().take(3) {
        assert_answer("4.4", q_c, 3);
    }
    assert_eq!(out[3], 0.0, "the fourth character is left out");
}

#[test]
fn exercise_4_5_clipping_the_example() {
    let mut grads = vec![
        DMatrix::from_row_slice(1, 2, &[3.0, 4.0]),
        DMatrix::from_row_slice(1, 1, &[12.0]),
    ];
    let norm = clip_grad_norm(&mut grads, 6.5).unwrap();
    assert_answer_int("4.5", norm.round() as i64);
    assert_answer("4.5", 6.5 / norm, 1);
    assert_answer("4.5", grads[0][(0, 0)], 1);
    assert_answer("4.5", grads[0][(0, 1)], 0);
    assert_answer("4.5", grads[1][(0, 0)], 0);
}
