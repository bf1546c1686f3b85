//! Tests of the entropy listings, formulas (1.10) to (1.14): closed forms,
//! invariants (KL ≥ 0 and = 0 only for p = q, cross-entropy ≥ entropy, the
//! decomposition (1.13), average NLL = cross-entropy with the empirical
//! distribution), and float64 reference values from PyTorch
//! (`reference/entropy.py` wrote `reference/entropy.json`).

use approx::assert_relative_eq;
use ch01_probability::Error;
use ch01_probability::check::sum_tolerance;
use ch01_probability::entropy::{
    average_nll, cross_entropy, empirical_distribution, entropy, kl_divergence,
};
use nalgebra::DVector;
use serde::Deserialize;
use testing::{CLOSED_FORM_TOL, TORCH_TOL};

/// KL of the pair "close" (3.3e-14) against its exact value: the
/// remaining cancellation between terms of size 1e-7 costs up to
/// ε · 1e-7 / 3e-14 ≈ 1e-9 relative.
const TINY_KL_TOL: f64 = 1e-8;

fn v(x: &[f64]) -> DVector<f64> {
    DVector::from_row_slice(x)
}

/// A few distributions over 4 classes for the invariants.
fn distributions() -> Vec<DVector<f64>> {
    vec![
        v(&[0.25, 0.25, 0.25, 0.25]),
        v(&[0.7, 0.1, 0.1, 0.1]),
        v(&[0.0, 0.5, 0.5, 0.0]),
        v(&[0.4, 0.3, 0.2, 0.1]),
        v(&[1.0, 0.0, 0.0, 0.0]),
    ]
}

#[test]
fn closed_form_entropies() {
    // Uniform over K: log K. A certain outcome: 0. A fair coin: log 2.
    for k in [1, 2, 5, 1000] {
        let p = DVector::from_element(k, 1.0 / k as f64);
        let h = entropy(&p).unwrap();
        // A sum of K terms, each rounded by about one ulp of its value.
        let tol = k as f64 * f64::EPSILON * (k as f64).ln().max(1.0);
        assert!((h - (k as f64).ln()).abs() <= tol, "K = {k}: {h}");
    }
    assert_eq!(entropy(&v(&[0.0, 1.0, 0.0])).unwrap(), 0.0);
    // H(p, q) for a one-hot p is −log q_y: the loss of one sample.
    let q = v(&[0.2, 0.5, 0.3]);
    assert_relative_eq!(
        cross_entropy(&v(&[0.0, 1.0, 0.0]), &q).unwrap(),
        -(0.5_f64.ln()),
        max_relative = CLOSED_FORM_TOL
    );
    // A model that gives a possible class probability 0: H = KL = +∞.
    let p = v(&[0.5, 0.5]);
    let q = v(&[1.0, 0.0]);
    assert_eq!(cross_entropy(&p, &q).unwrap(), f64::INFINITY);
    assert_eq!(kl_divergence(&p, &q).unwrap(), f64::INFINITY);
    // ... but a class that p never produces may get q = 0.
    assert_eq!(kl_divergence(&q, &q).unwrap(), 0.0);
}

#[test]
fn kl_is_nonnegative_and_zero_only_for_equal_distributions() {
    let all = distributions();
    for p in &all {
        assert_eq!(kl_divergence(p, p).unwrap(), 0.0);
        for q in &all {
            let kl = kl_divergence(p, q).unwrap();
            if p != q {
                assert!(kl > 0.0, "KL({p}, {q}) = {kl}");
            }
            // Cross-entropy ≥ entropy (Gibbs' inequality).
            let h_pq = cross_entropy(p, q).unwrap();
            assert!(h_pq >= entropy(p).unwrap());
        }
    }
    // KL is not symmetric.
    let (p, q) = (&all[1], &all[3]);
    let (a, b) = (kl_divergence(p, q).unwrap(), kl_divergence(q, p).unwrap());
    assert!((a - b).abs() > 0.01, "{a} {b}");
}

#[test]
fn cross_entropy_is_entropy_plus_kl() {
    let all = distributions();
    for p in &all {
        for q in &all {
            let h_pq = cross_entropy(p, q).unwrap();
            let sum = entropy(p).unwrap() + kl_divergence(p, q).unwrap();
            if h_pq.is_finite() {
                assert!((h_pq - sum).abs() <= CLOSED_FORM_TOL * 10.0);
            } else {
                assert_eq!(sum, f64::INFINITY);
            }
        }
    }
}

#[test]
fn average_nll_is_cross_entropy_with_the_empirical_distribution() {
    let y = [0, 2, 2, 1, 0, 2, 3, 2, 0, 2, 1, 2];
    let p_hat: DVector<f64> = empirical_distribution(&y, 4).unwrap();
    for q in [v(&[0.2, 0.1, 0.45, 0.25]), v(&[0.25; 4])] {
        let nll = average_nll(&q, &y).unwrap();
        let h = cross_entropy(&p_hat, &q).unwrap();
        assert_relative_eq!(nll, h, max_relative = CLOSED_FORM_TOL);
    }
    // Minimizing over q: the minimum is at q = p̂, where the average NLL
    // equals the entropy of p̂ (KL = 0).
    let at_min = average_nll(&p_hat, &y).unwrap();
    assert_relative_eq!(
        at_min,
        entropy(&p_hat).unwrap(),
        max_relative = CLOSED_FORM_TOL
    );
}

#[derive(Deserialize)]
struct Reference {
    pairs: Vec<Pair>,
    nll: NllCase,
}

#[derive(Deserialize)]
struct Pair {
    name: String,
    p: Vec<f64>,
    q: Vec<f64>,
    entropy_p: f64,
    cross_entropy: f64,
    kl: f64,
    kl_exact: f64,
}

#[derive(Deserialize)]
struct NllCase {
    y: Vec<usize>,
    q: Vec<f64>,
    average_nll: f64,
}

#[test]
fn matches_pytorch_float64() {
    let text = include_str!("../reference/entropy.json");
    let r: Reference = testing::reference(text);
    assert!(r.pairs.len() >= 5);
    for c in &r.pairs {
        let (p, q) = (v(&c.p), v(&c.q));
        let name = &c.name;
        assert_relative_eq!(
            entropy(&p).unwrap(),
            c.entropy_p,
            max_relative = TORCH_TOL
        );
        assert_relative_eq!(
            cross_entropy(&p, &q).unwrap(),
            c.cross_entropy,
            max_relative = TORCH_TOL
        );
        let kl = kl_divergence(&p, &q).unwrap();
        if name == "close" {
            // torch's p·(log p − log q) is off by 0.08% here (3.3307e-14
            // instead of 3.3333e-14); compare with the exact value.
            assert_relative_eq!(kl, c.kl_exact, max_relative = TINY_KL_TOL);
        } else {
            assert_relative_eq!(kl, c.kl, max_relative = TORCH_TOL);
            assert_relative_eq!(kl, c.kl_exact, max_relative = TORCH_TOL);
        }
    }
    let n = &r.nll;
    assert_relative_eq!(
        average_nll(&v(&n.q), &n.y).unwrap(),
        n.average_nll,
        max_relative = TORCH_TOL
    );
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    // The stated tolerance on Σ p = 1 is √ε.
    assert_eq!(sum_tolerance::<f64>(), f64::EPSILON.sqrt());
    let err = entropy(&v(&[0.5, 0.4])).unwrap_err();
    assert!(matches!(err, Error::Sum { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "distribution p: entries sum to 0.9, but a distribution sums to 1 \
         (within 1.5e-8)"
    );
    // Within the tolerance is accepted: rounding is not a mistake.
    assert!(entropy(&v(&[0.5, 0.5 + 1e-12])).is_ok());
    let err = cross_entropy(&v(&[1.0]), &v(&[1.5, -0.5])).unwrap_err();
    // A negative probability is outside the domain, as in
    // `likelihood` (not a shape).
    assert!(matches!(err, Error::Domain { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "model q = -0.5, but it must satisfy every entry ≥ 0"
    );
    let err = kl_divergence(&v(&[1.0]), &v(&[0.5, 0.5])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "model q: expected 1 entries like p, got 2 entries"
    );
    assert!(entropy(&DVector::<f64>::zeros(0)).is_err());
    let err = average_nll(&v(&[0.5, 0.5]), &[0, 2]).unwrap_err();
    assert!(err.to_string().contains("got y_1 = 2"), "{err}");
    assert!(average_nll(&v(&[0.5, 0.5]), &[]).is_err());
}
