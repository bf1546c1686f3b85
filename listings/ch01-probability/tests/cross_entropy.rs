//! Tests of cross-entropy with logits, formulas (1.17) to (1.20): closed
//! forms, invariants, stability for huge and −∞ logits, finite-difference
//! checks of the gradient, and float64 reference values from PyTorch
//! (`reference/cross_entropy.py` wrote `reference/cross_entropy.json`).

use approx::assert_relative_eq;
use ch01_probability::Error;
use ch01_probability::cross_entropy::{
    cross_entropy_rows, cross_entropy_soft, cross_entropy_with_logits,
    log_softmax, log_softmax_backward, log_sum_exp, perplexity,
};
use ch01_probability::entropy::cross_entropy;
use ch01_probability::softmax::softmax;
use nalgebra::{DMatrix, DVector};
use serde::Deserialize;
use testing::{CLOSED_FORM_TOL, TORCH_TOL, close};

/// Central differences, step 1e-6: truncation O(h²) ≈ 1e-12, rounding
/// ε·|ℓ|/h ≈ 1e-10 for losses of order 1; 1e-7 absolute on gradient
/// entries in [−1, 1] catches any wrong sign or factor.
const FD_STEP: f64 = 1e-6;
const FD_TOL: f64 = 1e-7;

fn v(x: &[f64]) -> DVector<f64> {
    DVector::from_row_slice(x)
}

#[test]
fn closed_forms() {
    // Equal logits: every log-probability is −log K, the loss is log K,
    // the perplexity is K.
    let z = v(&[0.7; 4]);
    for l in log_softmax(&z).unwrap().iter() {
        assert_relative_eq!(
            *l,
            -(4.0_f64.ln()),
            max_relative = CLOSED_FORM_TOL
        );
    }
    let (loss, _) = cross_entropy_with_logits(&z, 2).unwrap();
    assert_relative_eq!(loss, 4.0_f64.ln(), max_relative = CLOSED_FORM_TOL);
    assert_relative_eq!(perplexity(loss).unwrap(), 4.0, max_relative = 1e-14);
    // log_softmax(log w) = log(w / Σ w) for positive weights.
    let w = [1.0, 2.0, 3.0, 4.0];
    let l = log_softmax(&v(&w).map(f64::ln)).unwrap();
    for (l_i, w_i) in l.iter().zip(w) {
        assert_relative_eq!(*l_i, (w_i / 10.0).ln(), max_relative = 1e-14);
    }
    // LSE of two equal logits a: a + log 2.
    assert_relative_eq!(
        log_sum_exp(&v(&[3.0, 3.0])).unwrap(),
        3.0 + 2.0_f64.ln(),
        max_relative = CLOSED_FORM_TOL
    );
}

#[test]
fn invariants_of_log_softmax_and_the_gradient() {
    let z = v(&[0.3, -1.2, 2.5, 0.0]);
    let l = log_softmax(&z).unwrap();
    // exp(log_softmax) is the softmax and sums to 1.
    let p = softmax(&z).unwrap();
    for (a, b) in l.map(f64::exp).iter().zip(p.iter()) {
        assert_relative_eq!(*a, *b, max_relative = CLOSED_FORM_TOL);
    }
    // Shift invariance, as for the softmax.
    let shifted = log_softmax(&z.add_scalar(1000.0)).unwrap();
    for (a, b) in l.iter().zip(shifted.iter()) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}"); // ulp of 1000
    }
    for y in 0..4 {
        let (loss, grad) = cross_entropy_with_logits(&z, y).unwrap();
        // The loss is the cross-entropy between one-hot e_y and softmax.
        let mut e_y = DVector::zeros(4);
        e_y[y] = 1.0;
        assert_relative_eq!(
            loss,
            cross_entropy(&e_y, &p).unwrap(),
            max_relative = CLOSED_FORM_TOL
        );
        // The gradient sums to 0 (softmax sums to 1, e_y sums to 1), and
        // only the true class has a negative entry.
        assert!(grad.sum().abs() < 1e-15);
        for (j, g) in grad.iter().enumerate() {
            assert_eq!(*g < 0.0, j == y);
        }
    }
}

#[test]
fn huge_and_minus_infinite_logits_are_stable() {
    let (loss, grad) =
        cross_entropy_with_logits(&v(&[1000.0, 1000.0]), 0).unwrap();
    assert_relative_eq!(loss, 2.0_f64.ln(), max_relative = CLOSED_FORM_TOL);
    assert_eq!(grad, v(&[-0.5, 0.5]));
    // A masked class: log-probability −∞, probability 0, gradient 0.
    let z = v(&[0.0, f64::NEG_INFINITY, 0.0]);
    let l = log_softmax(&z).unwrap();
    assert_eq!(l[1], f64::NEG_INFINITY);
    let (loss, grad) = cross_entropy_with_logits(&z, 0).unwrap();
    assert_relative_eq!(loss, 2.0_f64.ln(), max_relative = CLOSED_FORM_TOL);
    assert_eq!(grad[1], 0.0);
    // The true class masked: infinite loss, a finite gradient.
    let (loss, grad) = cross_entropy_with_logits(&z, 1).unwrap();
    assert_eq!(loss, f64::INFINITY);
    assert!(grad.iter().all(|g| g.is_finite()));
    // A class 800 below the maximum: softmax underflows to 0, so the naive
    // −log(softmax) would be +∞; the listing gives the true ≈ 803.
    let z = v(&[0.0, -800.0, 3.0]);
    assert_eq!(softmax(&z).unwrap()[1], 0.0);
    let (loss, _) = cross_entropy_with_logits(&z, 1).unwrap();
    assert!((loss - 803.048_587_351_573_7).abs() < 1e-10, "{loss}");
}

#[test]
fn gradient_matches_finite_differences() {
    let loss = |z: &DVector<f64>, y| cross_entropy_with_logits(z, y).unwrap().0;
    for (z, y) in [
        (v(&[0.3, -1.2, 2.5, 0.0]), 1),
        (v(&[1000.0, 999.0, 990.0]), 0),
        (v(&[-3.0, 4.0]), 0),
    ] {
        let (_, grad) = cross_entropy_with_logits(&z, y).unwrap();
        for j in 0..z.len() {
            let mut plus = z.clone();
            plus[j] += FD_STEP;
            let mut minus = z.clone();
            minus[j] -= FD_STEP;
            let fd = (loss(&plus, y) - loss(&minus, y)) / (2.0 * FD_STEP);
            assert!((grad[j] - fd).abs() < FD_TOL, "{j}: {} vs {fd}", grad[j]);
        }
    }
    // The batch gradient, entry by entry.
    #[rustfmt::skip]
    let z = DMatrix::from_row_slice(3, 3, &[
        0.5, -0.5, 1.0,
        2.0, 0.0, -2.0,
        0.1, 0.2, 0.3,
    ]);
    let y = [2, 0, 1];
    let (_, grad) = cross_entropy_rows(&z, &y).unwrap();
    for i in 0..3 {
        for j in 0..3 {
            let mut plus = z.clone();
            plus[(i, j)] += FD_STEP;
            let mut minus = z.clone();
            minus[(i, j)] -= FD_STEP;
            let fd = (cross_entropy_rows(&plus, &y).unwrap().0
                - cross_entropy_rows(&minus, &y).unwrap().0)
                / (2.0 * FD_STEP);
            assert!((grad[(i, j)] - fd).abs() < FD_TOL);
        }
    }
}

#[derive(Deserialize)]
struct Reference {
    cases: Vec<Case>,
    batch: Batch,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    z: Vec<Option<f64>>,
    y: usize,
    lse: f64,
    log_softmax: Vec<Option<f64>>,
    loss: f64,
    grad: Vec<f64>,
}

#[derive(Deserialize)]
struct Batch {
    z: Vec<Vec<f64>>,
    y: Vec<usize>,
    loss: f64,
    grad: Vec<Vec<f64>>,
    perplexity: f64,
}

/// JSON has no −∞; the script writes it as null.
fn with_inf(x: &[Option<f64>]) -> DVector<f64> {
    DVector::from_iterator(
        x.len(),
        x.iter().map(|x_i| x_i.unwrap_or(f64::NEG_INFINITY)),
    )
}

#[test]
fn matches_pytorch_float64() {
    let text = include_str!("../reference/cross_entropy.json");
    let r: Reference = testing::reference(text);
    assert!(r.cases.len() >= 5);
    for c in &r.cases {
        let z = with_inf(&c.z);
        assert!(
            close(log_sum_exp(&z).unwrap(), c.lse, TORCH_TOL),
            "{}",
            c.name
        );
        let l = log_softmax(&z).unwrap();
        for (a, b) in l.iter().zip(with_inf(&c.log_softmax).iter()) {
            assert!(
                a == b || close(*a, *b, TORCH_TOL),
                "{}: {a} vs {b}",
                c.name
            );
        }
        let (loss, grad) = cross_entropy_with_logits(&z, c.y).unwrap();
        assert!(close(loss, c.loss, TORCH_TOL), "{}", c.name);
        for (a, b) in grad.iter().zip(&c.grad) {
            assert!(close(*a, *b, TORCH_TOL), "{}: {a} vs {b}", c.name);
        }
    }
    let b = &r.batch;
    let flat = b.z.concat();
    let z = DMatrix::from_row_slice(b.z.len(), flat.len() / b.z.len(), &flat);
    let (loss, grad) = cross_entropy_rows(&z, &b.y).unwrap();
    assert!(close(loss, b.loss, TORCH_TOL));
    assert!(close(perplexity(loss).unwrap(), b.perplexity, TORCH_TOL));
    for (i, row) in b.grad.iter().enumerate() {
        for (j, g) in row.iter().enumerate() {
            assert!(close(grad[(i, j)], *g, TORCH_TOL));
        }
    }
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    let err = cross_entropy_with_logits(&v(&[1.0, 2.0]), 2).unwrap_err();
    assert!(matches!(err, Error::Index { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "class index y: expected class indices 0..2 (K = 2 classes), \
         got y_0 = 2"
    );
    assert!(log_softmax(&DVector::<f64>::zeros(0)).is_err());
    assert!(log_sum_exp(&v(&[f64::NAN])).is_err());
    let z = DMatrix::<f64>::zeros(2, 3);
    let err = cross_entropy_rows(&z, &[0]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "class indices y: expected 2 entries, one per row of Z, got 1 entries"
    );
    assert!(cross_entropy_rows(&DMatrix::<f64>::zeros(0, 3), &[]).is_err());
    assert!(cross_entropy_rows(&z, &[0, 3]).is_err());
    assert!(perplexity(-0.1).is_err());
    assert!(perplexity(f64::NAN).is_err());
}

/// The central difference of `f` at `z` along coordinate `j`.
fn central_difference(
    f: impl Fn(&DVector<f64>) -> f64,
    z: &DVector<f64>,
    j: usize,
) -> f64 {
    let (mut plus, mut minus) = (z.clone(), z.clone());
    plus[j] += FD_STEP;
    minus[j] -= FD_STEP;
    (f(&plus) - f(&minus)) / (2.0 * FD_STEP)
}

/// The log-softmax backward pass for a general upstream gradient `g`:
/// against central differences of `L(z) = gᵀ log softmax(z)`.
#[test]
fn log_softmax_backward_matches_finite_differences() {
    let z = v(&[0.3, -1.2, 2.5, 0.0, 1.1]);
    let g = v(&[1.0, -2.0, 0.5, 0.0, 3.0]);
    let log_p = log_softmax(&z).unwrap();
    let d_z = log_softmax_backward(&log_p, &g).unwrap();
    let loss = |z: &DVector<f64>| log_softmax(z).unwrap().dot(&g);
    for j in 0..z.len() {
        let fd = central_difference(loss, &z, j);
        assert!((d_z[j] - fd).abs() < FD_TOL, "{j}: {} vs {fd}", d_z[j]);
    }
    let err = log_softmax_backward(&log_p, &v(&[1.0])).unwrap_err();
    assert!(matches!(err, Error::Shape { .. }), "{err}");
}

/// Soft labels: a one-hot target gives the loss and gradient of the
/// class index; a general target matches central differences, and the
/// loss is H(p, softmax(z)) of chapter 1's entropy listing.
#[test]
fn soft_labels_agree_with_the_index_version_and_finite_differences() {
    let z = v(&[0.3, -1.2, 2.5, 0.0]);
    for y in 0..4 {
        let mut one_hot = DVector::zeros(4);
        one_hot[y] = 1.0;
        let (l_soft, g_soft) = cross_entropy_soft(&z, &one_hot).unwrap();
        let (l_idx, g_idx) = cross_entropy_with_logits(&z, y).unwrap();
        assert!(close(l_soft, l_idx, CLOSED_FORM_TOL));
        for (a, b) in g_soft.iter().zip(g_idx.iter()) {
            assert!(close(*a, *b, CLOSED_FORM_TOL));
        }
    }
    let p = v(&[0.1, 0.0, 0.6, 0.3]);
    let (loss, grad) = cross_entropy_soft(&z, &p).unwrap();
    let q = softmax(&z).unwrap();
    assert!(close(loss, cross_entropy(&p, &q).unwrap(), CLOSED_FORM_TOL));
    let f = |z: &DVector<f64>| cross_entropy_soft(z, &p).unwrap().0;
    for j in 0..z.len() {
        let fd = central_difference(f, &z, j);
        assert!((grad[j] - fd).abs() < FD_TOL, "{j}: {} vs {fd}", grad[j]);
    }
    // A class with target 0 and logit −∞ adds nothing (0 log 0 = 0).
    let masked = v(&[0.3, f64::NEG_INFINITY, 2.5, 0.0]);
    let (l_masked, _) = cross_entropy_soft(&masked, &p).unwrap();
    assert!(l_masked.is_finite());
}

#[test]
fn soft_labels_refuse_what_is_not_a_distribution() {
    let z = v(&[0.3, -1.2, 2.5]);
    let err = cross_entropy_soft(&z, &v(&[0.5, 0.6, -0.1])).unwrap_err();
    assert!(
        matches!(err, Error::Domain { value, .. } if value == -0.1),
        "{err}"
    );
    let err = cross_entropy_soft(&z, &v(&[0.5, 0.4, 0.0])).unwrap_err();
    assert!(matches!(err, Error::Sum { .. }), "{err}");
    let err = cross_entropy_soft(&z, &v(&[0.5, 0.5])).unwrap_err();
    assert!(matches!(err, Error::Shape { .. }), "{err}");
    let err = cross_entropy_soft(&z, &v(&[0.5, f64::NAN, 0.5])).unwrap_err();
    assert!(matches!(err, Error::NotFinite { index: 1, .. }), "{err}");
}
