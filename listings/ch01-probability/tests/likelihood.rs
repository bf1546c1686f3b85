//! Tests of the likelihood listings, formulas (1.1) to (1.3): closed forms,
//! invariants, the underflow that motivates the logarithm, and float64
//! reference values from PyTorch (`reference/likelihood.py` wrote
//! `reference/likelihood.json`).

use approx::assert_relative_eq;
use ch01_probability::Error;
use ch01_probability::likelihood::{
    likelihood, log_likelihood, negative_log_likelihood, underflow_demo,
};
use nalgebra::DVector;
use serde::Deserialize;
use testing::{CLOSED_FORM_TOL, TORCH_TOL};

fn v(x: &[f64]) -> DVector<f64> {
    DVector::from_row_slice(x)
}

#[test]
fn closed_form_products_and_sums() {
    // 0.5 · 0.25 · 0.8 = 0.1 and log 0.1 = −2.302585...
    let p = v(&[0.5, 0.25, 0.8]);
    assert_relative_eq!(likelihood(&p).unwrap(), 0.1, max_relative = 1e-15);
    assert_relative_eq!(
        log_likelihood(&p).unwrap(),
        0.1_f64.ln(),
        max_relative = CLOSED_FORM_TOL
    );
    assert_relative_eq!(
        negative_log_likelihood(&p).unwrap(),
        -(0.1_f64.ln()),
        max_relative = CLOSED_FORM_TOL
    );
    // A model that is sure of every sample has L = 1 and NLL = 0.
    assert_eq!(likelihood(&v(&[1.0; 4])).unwrap(), 1.0);
    assert_eq!(negative_log_likelihood(&v(&[1.0; 4])).unwrap(), 0.0);
    // A sample the model calls impossible makes L = 0 and NLL = +∞.
    assert_eq!(likelihood(&v(&[0.5, 0.0])).unwrap(), 0.0);
    assert_eq!(
        negative_log_likelihood(&v(&[0.5, 0.0])).unwrap(),
        f64::INFINITY
    );
}

#[test]
fn log_of_likelihood_is_log_likelihood_and_order_does_not_matter() {
    let p = v(&[0.9, 0.05, 0.3, 0.7, 0.2]);
    let log_l = log_likelihood(&p).unwrap();
    assert_relative_eq!(
        likelihood(&p).unwrap().ln(),
        log_l,
        max_relative = CLOSED_FORM_TOL
    );
    // Independent samples: reordering them changes nothing.
    let reversed = DVector::from_iterator(5, p.iter().rev().copied());
    assert_relative_eq!(
        log_likelihood(&reversed).unwrap(),
        log_l,
        max_relative = CLOSED_FORM_TOL
    );
    // Every probability ≤ 1 makes every term ≤ 0: NLL ≥ 0.
    assert!(negative_log_likelihood(&p).unwrap() >= 0.0);
}

#[test]
fn product_of_two_thousand_halves_underflows_but_log_sum_does_not() {
    let demo = underflow_demo(2000, 0.5).unwrap();
    assert_eq!(demo.product, 0.0);
    // 2^-1074 is the smallest positive f64; 2^-1075 rounds to 0.
    assert_eq!(demo.zero_after, Some(1075));
    assert_relative_eq!(
        demo.log_sum,
        2000.0 * 0.5_f64.ln(),
        max_relative = 1e-12 // 2000 additions, each rounded by ≤ 1 ulp
    );
    // The listing `likelihood` underflows the same way.
    let p = v(&[0.5; 2000]);
    assert_eq!(likelihood(&p).unwrap(), 0.0);
    assert!(log_likelihood(&p).unwrap().is_finite());
    // 3000 samples at probability 0.7 each: the product gets stuck at the
    // smallest positive f64, 2^-1074 (0.7 · 2^-1074 rounds back up to it),
    // while the true value is e^(3000 · log 0.7) ≈ 10^-465.
    let demo = underflow_demo(3000, 0.7).unwrap();
    assert_eq!(demo.product, f64::from_bits(1));
    assert_eq!(demo.zero_after, None);
    assert_relative_eq!(
        demo.log_sum / 10_f64.ln(),
        3000.0 * 0.7_f64.log10(),
        max_relative = 1e-12 // 3000 additions, each rounded by ≤ 1 ulp
    );
    assert!(demo.log_sum / 10_f64.ln() < -464.0);
    // Few samples do not underflow.
    assert_eq!(underflow_demo(10, 0.5).unwrap().zero_after, None);
}

#[derive(Deserialize)]
struct Reference {
    cases: Vec<Case>,
    underflow: UnderflowCase,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    p: Vec<f64>,
    likelihood: f64,
    log_likelihood: f64,
}

#[derive(Deserialize)]
struct UnderflowCase {
    n: usize,
    p: f64,
    product: f64,
    log_sum: f64,
}

#[test]
fn matches_pytorch_float64() {
    let text = include_str!("../reference/likelihood.json");
    let r: Reference = testing::reference(text);
    assert!(r.cases.len() >= 4);
    for case in &r.cases {
        let p = v(&case.p);
        let l = likelihood(&p).unwrap();
        assert_relative_eq!(l, case.likelihood, max_relative = TORCH_TOL);
        let log_l = log_likelihood(&p).unwrap();
        assert!(
            (log_l - case.log_likelihood).abs()
                <= TORCH_TOL * case.log_likelihood.abs(),
            "{}: {log_l} vs {}",
            case.name,
            case.log_likelihood
        );
    }
    let u = &r.underflow;
    let demo = underflow_demo(u.n, u.p).unwrap();
    assert_eq!(demo.product, u.product);
    assert_relative_eq!(demo.log_sum, u.log_sum, max_relative = 1e-12);
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    let empty = DVector::<f64>::zeros(0);
    assert_eq!(
        likelihood(&empty),
        Err(Error::Empty {
            what: "model probabilities P(x_i; θ)"
        })
    );
    let err = log_likelihood(&v(&[0.5, -0.1])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "a model probability P(x_i; θ) = -0.1, but it must satisfy \
         P(x_i; θ) ≥ 0"
    );
    let err = likelihood(&v(&[f64::NAN])).unwrap_err();
    assert!(err.to_string().contains("entry 0 is NaN"), "{err}");
    assert!(underflow_demo(0, 0.5).is_err());
    for p in [0.0, -0.5, 1.5, f64::NAN] {
        let err = underflow_demo(10, p).unwrap_err();
        assert!(err.to_string().starts_with("probability p = "), "{err}");
    }
}
