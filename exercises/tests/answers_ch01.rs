//! The numbers that the solutions of chapter 1's exercises state,
//! computed with the listings of chapter 1 (or, where no listing has the
//! formula, from the formula in the solution) and looked up in both
//! languages' solution blocks.

use ch01_probability::cross_entropy::{
    cross_entropy_with_logits, log_sum_exp, perplexity,
};
use ch01_probability::entropy::{cross_entropy, entropy, kl_divergence};
use ch01_probability::softmax::softmax;
use genai_exercises::support::{assert_answer, assert_answer_int};
use nalgebra::dvector;

/// `log(x!)`.
fn log_factorial(x: u32) -> f64 {
    (2..=x).map(|k| f64::from(k).ln()).sum()
}

#[test]
fn exercise_1_1_poisson_mle() {
    let x = [2_u32, 0, 3, 1, 4];
    let n = x.len() as f64;
    let s: f64 = x.iter().map(|&x| f64::from(x)).sum();
    let theta = s / n;
    assert_eq!(theta, 2.0);
    assert_answer_int("1.1", 2);
    assert_answer_int("1.1", 288);
    let log_fact: f64 = x.iter().map(|&x| log_factorial(x)).sum();
    assert!((log_fact - 288.0_f64.ln()).abs() < 1e-12);
    let nll = n * theta - s * theta.ln() + log_fact;
    // The same NLL from the probabilities themselves.
    let direct: f64 = x
        .iter()
        .map(|&k| {
            let fact: f64 = (1..=k).map(f64::from).product();
            -(theta.powi(k as i32) * (-theta).exp() / fact).ln()
        })
        .sum();
    assert!((nll - direct).abs() < 1e-12);
    assert_answer("1.1", s * theta.ln(), 4); // 6.9315
    assert_answer("1.1", log_fact, 4); // 5.6630
    assert_answer("1.1", nll, 4); // 8.7315
}

#[test]
fn exercise_1_2_cross_entropy_of_one_prediction() {
    let z = dvector![2.0_f64, 1.0, 0.0];
    for z_i in [2.0_f64, 1.0] {
        assert_answer("1.2", z_i.exp(), 4); // 7.3891, 2.7183
    }
    let sum: f64 = z.iter().map(|z| z.exp()).sum();
    assert_answer("1.2", sum, 4); // 11.1073
    let lse = log_sum_exp(&z).unwrap();
    assert_answer("1.2", lse, 4); // 2.4076
    let p = softmax(&z).unwrap();
    for p_i in p.iter() {
        assert_answer("1.2", *p_i, 4); // 0.6652, 0.2447, 0.0900
    }
    // The middle class is y = 2 in the book, index 1 in the code.
    let (loss, grad) = cross_entropy_with_logits(&z, 1).unwrap();
    assert_answer("1.2", loss, 4); // 1.4076
    for g_i in grad.iter() {
        assert_answer("1.2", *g_i, 4); // 0.6652, −0.7553, 0.0900
    }
    assert_answer("1.2", perplexity(loss).unwrap(), 4); // 4.0862
}

#[test]
fn exercise_1_3_kl_is_not_symmetric() {
    let p = dvector![0.5_f64, 0.5];
    let q = dvector![0.9_f64, 0.1];
    let pq = kl_divergence(&p, &q).unwrap();
    let qp = kl_divergence(&q, &p).unwrap();
    assert!((pq - (5.0_f64 / 3.0).ln()).abs() < 1e-15);
    assert_answer("1.3", pq, 4); // 0.5108
    assert_answer("1.3", qp, 4); // 0.3681
    assert_answer("1.3", 1.8_f64.ln(), 4); // 0.5878
    assert_answer("1.3", 5.0_f64.ln(), 4); // 1.6094
    let certain = dvector![1.0_f64, 0.0];
    assert_eq!(kl_divergence(&p, &certain).unwrap(), f64::INFINITY);
    let back = kl_divergence(&certain, &p).unwrap();
    assert_answer("1.3", back, 4); // 0.6931
}

#[test]
fn exercise_1_5_exponential_distribution() {
    let x = [0.5_f64, 1.5, 2.0, 4.0];
    let n = x.len() as f64;
    let s: f64 = x.iter().sum();
    let theta = n / s;
    assert_answer("1.5", theta, 1); // 0.5
    // The NLL from the densities themselves.
    let nll: f64 = x.iter().map(|x| -(theta * (-theta * x).exp()).ln()).sum();
    assert!((nll - (4.0 * 2.0_f64.ln() + 4.0)).abs() < 1e-12);
    assert_answer("1.5", nll, 4); // 6.7726
    assert_answer_int("1.5", (1.0 / theta) as i64); // 2 minutes
}

#[test]
fn exercise_1_6_entropy_and_perplexity() {
    let p = dvector![0.5_f64, 0.25, 0.25];
    let h = entropy(&p).unwrap();
    assert_answer("1.6", h, 4); // 1.0397
    assert_answer("1.6", h / 2.0_f64.ln(), 1); // 1.5 bits
    assert_answer("1.6", perplexity(h).unwrap(), 4); // 2.8284
    let q = dvector![1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0];
    let hpq = cross_entropy(&p, &q).unwrap();
    assert_answer("1.6", hpq, 4); // 1.0986
    assert_answer_int("1.6", perplexity(hpq).unwrap().round() as i64); // 3
    assert!((perplexity(hpq).unwrap() - 3.0).abs() < 1e-14);
    assert_answer("1.6", kl_divergence(&p, &q).unwrap(), 4); // 0.0589
}

#[test]
fn exercise_1_8_newton_from_a_relative_error_of_0_96() {
    // |e_{t+1}| / θ̂ = (|e_t| / θ̂)²: ten squarings of 0.96.
    let mut r = 0.96_f64;
    for _ in 0..10 {
        r *= r;
    }
    assert!(r < 1e-18, "{r}");
    assert_answer("1.8", 0.96, 2);
}
