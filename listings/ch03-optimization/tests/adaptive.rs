//! Tests of AdaGrad (3.5), (3.6), the two places of ε (3.7) and RMSProp
//! (3.8), (3.9): closed forms, invariants and bad input, for both
//! conventions. The comparisons with `torch.optim.Adagrad/RMSprop` (ε
//! outside) and with the formula in NumPy (ε inside) are in
//! `tests/pytorch.rs`.

use approx::assert_relative_eq;
use ch03_optimization::adagrad::{AdaGrad, AdaGradConfig};
use ch03_optimization::rmsprop::{RmsProp, RmsPropConfig};
use ch03_optimization::{Epsilon, Optimizer};
use nalgebra::DMatrix;

/// One step computed two ways (the listing and the formula written out in
/// the test): a handful of roundings, ≤ 4 ulp relative.
const STEP_TOL: f64 = 1e-15;

/// Sums of t ≤ 100 squares or averages over t ≤ 100 steps: the relative
/// rounding error of the accumulator grows like t ulp.
const ACCUMULATED_TOL: f64 = 1e-13;

/// A fixed sequence of gradients with zeros, sign changes and magnitudes
/// from 1e-6 to 10 (no randomness: the tests must be reproducible).
fn gradient_sequence(steps: usize) -> Vec<[f64; 3]> {
    (0..steps)
        .map(|t| {
            let t = t as f64;
            [
                (0.7 * t).sin() * 10.0,
                if (t as usize).is_multiple_of(3) {
                    0.0
                } else {
                    1e-6 * t
                },
                (0.3 * t).cos() * (1.0 + t).recip(),
            ]
        })
        .collect()
}

fn row(x: &[f64]) -> DMatrix<f64> {
    DMatrix::from_row_slice(1, x.len(), x)
}

fn both(eps: f64) -> [Epsilon<f64>; 2] {
    [Epsilon::Inside(eps), Epsilon::Outside(eps)]
}

#[test]
fn epsilon_inside_and_outside_differ_for_small_squares() {
    // D_ε(s) = √(s + ε) or √s + ε, formula (3.7).
    assert_eq!(Epsilon::Inside(0.25).denominator(0.0), 0.5);
    assert_eq!(Epsilon::Outside(0.25).denominator(0.0), 0.25);
    assert_eq!(Epsilon::Inside(7.0).denominator(9.0), 4.0);
    assert_eq!(Epsilon::Outside(7.0).denominator(9.0), 10.0);
    // For s ≫ ε both are √s: s = 1, ε = 1e-8.
    let (inside, outside) = (
        Epsilon::Inside(1e-8).denominator(1.0),
        Epsilon::Outside(1e-8).denominator(1.0),
    );
    assert_relative_eq!(inside, 1.0 + 0.5e-8, max_relative = STEP_TOL);
    assert_relative_eq!(outside, 1.0 + 1e-8, max_relative = STEP_TOL);
    // The first AdaGrad step (G_1 = g²) is η g / D_ε(g²): for ε = 1e-8 and
    // g = 1e-5, outside it is η · 0.999, inside only η · 0.0995, because
    // √(g² + ε) ≈ √ε = 1e-4 ≫ |g|.
    for (eps, expected) in [
        (Epsilon::Outside(1e-8), 1e-5 / (1e-5 + 1e-8)),
        (Epsilon::Inside(1e-8), 1e-5 / (1e-10_f64 + 1e-8).sqrt()),
    ] {
        let mut opt = AdaGrad::new(AdaGradConfig { lr: 1.0, eps }).unwrap();
        let mut params = vec![row(&[0.0])];
        opt.step(&mut params, &[row(&[1e-5])]).unwrap();
        assert_relative_eq!(-params[0][0], expected, max_relative = STEP_TOL);
    }
    assert_relative_eq!(1e-5 / (1e-5 + 1e-8), 0.999, max_relative = 1e-5);
    assert_relative_eq!(
        1e-5 / (1e-10_f64 + 1e-8).sqrt(),
        0.0995,
        max_relative = 1e-3
    );
}

#[test]
fn adagrad_step_after_t_equal_gradients_is_eta_over_root_t() {
    // G_t = t c², so the t-th step is η c / D_ε(t c²) ≈ η / √t for
    // |c| ≫ ε: the rate decays like 1/√t whatever the gradient's size.
    for eps in both(1e-10) {
        for c in [3.0, -0.02] {
            let mut opt = AdaGrad::new(AdaGradConfig { lr: 0.1, eps }).unwrap();
            let mut params = vec![row(&[1.0])];
            for t in 1..=100 {
                let before = params[0][0];
                opt.step(&mut params, &[row(&[c])]).unwrap();
                let step = before - params[0][0];
                let t = f64::from(t);
                let expected = 0.1 * c / eps.denominator(t * c * c);
                assert_relative_eq!(
                    step,
                    expected,
                    max_relative = ACCUMULATED_TOL
                );
                // ε = 1e-10 against √t |c| ≥ 0.02 changes ≤ 1e-8 relative
                // outside; inside √(tc² + ε) = √t |c| (1 + ε/(2tc²)), ≤ 1.3e-7.
                assert_relative_eq!(
                    step.abs(),
                    0.1 / t.sqrt(),
                    max_relative = 2e-7
                );
            }
        }
    }
}

#[test]
fn adagrad_effective_rate_never_grows() {
    // η / D_ε(G_t) with G_t = G_{t−1} + g_t² ≥ G_{t−1}: it can only shrink,
    // whatever the gradients are, formula (3.5).
    for eps in both(1e-8) {
        let mut opt = AdaGrad::new(AdaGradConfig::new(eps)).unwrap();
        let mut params = vec![row(&[0.0, 0.0, 0.0])];
        let mut last = row(&[f64::INFINITY; 3]);
        for g in gradient_sequence(200) {
            opt.step(&mut params, &[row(&g)]).unwrap();
            let rates = opt.effective_learning_rates(0).unwrap();
            for (now, before) in rates.iter().zip(last.iter()) {
                assert!(now <= before, "{now} > {before} with {eps:?}");
            }
            last = rates;
        }
        // The coordinate that only sees zeros and tiny gradients keeps a
        // large rate; the big one a small rate.
        assert!(last[1] > 100.0 * last[0], "{last}");
    }
}

#[test]
fn rmsprop_average_of_a_constant_gradient_is_one_minus_gamma_to_the_t() {
    // E[g²]_t = (1 − γ^t) c² for g_t = c (geometric series, E[g²]_0 = 0),
    // so the step is η c / D_ε((1 − γ^t) c²), formulas (3.8), (3.9).
    for eps in both(1e-8) {
        let config = RmsPropConfig {
            lr: 0.01,
            gamma: 0.9,
            eps,
        };
        let mut opt = RmsProp::new(config).unwrap();
        let c = -2.0;
        let mut params = vec![row(&[0.0])];
        for t in 1..=100 {
            let before = params[0][0];
            opt.step(&mut params, &[row(&[c])]).unwrap();
            let s = (1.0 - 0.9_f64.powi(t)) * c * c;
            let expected = 0.01 * c / eps.denominator(s);
            assert_relative_eq!(
                before - params[0][0],
                expected,
                max_relative = ACCUMULATED_TOL
            );
            let rate = opt.effective_learning_rates(0).unwrap()[0];
            assert_relative_eq!(
                rate,
                0.01 / eps.denominator(s),
                max_relative = ACCUMULATED_TOL
            );
        }
        // The first step is η c / D_ε((1 − γ) c²) ≈ η sign(c) / √(1 − γ):
        // √10 ≈ 3.16 times η. Adam's bias correction removes this factor.
    }
}

#[test]
fn rmsprop_rate_recovers_when_gradients_shrink_adagrad_does_not() {
    // Ten steps with |g| = 10, then 200 steps with |g| = 0.01.
    let grads: Vec<f64> =
        (0..210).map(|t| if t < 10 { 10.0 } else { 0.01 }).collect();
    for eps in both(1e-8) {
        let mut adagrad = AdaGrad::new(AdaGradConfig::new(eps)).unwrap();
        let mut rmsprop = RmsProp::new(RmsPropConfig {
            gamma: 0.9,
            ..RmsPropConfig::new(eps)
        })
        .unwrap();
        let (mut p, mut q) = (vec![row(&[0.0])], vec![row(&[0.0])]);
        let mut rates = Vec::new();
        for &g in &grads {
            adagrad.step(&mut p, &[row(&[g])]).unwrap();
            rmsprop.step(&mut q, &[row(&[g])]).unwrap();
            rates.push((
                adagrad.effective_learning_rates(0).unwrap()[0],
                rmsprop.effective_learning_rates(0).unwrap()[0],
            ));
        }
        let (ada_10, rms_10) = rates[9];
        let (ada_end, rms_end) = rates[209];
        // AdaGrad remembers the large gradients forever: G ≥ 10 · 100.
        assert!(ada_end <= ada_10);
        assert!(ada_end < 0.01 / 1000f64.sqrt() * 1.000001);
        // RMSProp forgets them at 0.9 per step: E[g²] falls from
        // (1 − 0.9¹⁰) · 100 ≈ 65 to 1e-4, the rate grows √65 / 0.01 ≈ 800×.
        assert!(rms_end > 500.0 * rms_10, "{rms_end} vs {rms_10}");
        // Exactly: E_210 = 0.9²⁰⁰ E_10 + (1 − 0.9²⁰⁰) · 1e-4.
        let e_10 = (1.0 - 0.9_f64.powi(10)) * 100.0;
        let e_210 = 0.9_f64.powi(200) * e_10 + (1.0 - 0.9_f64.powi(200)) * 1e-4;
        assert_relative_eq!(
            rms_end,
            0.01 / eps.denominator(e_210),
            max_relative = ACCUMULATED_TOL
        );
    }
}

#[test]
fn adagrad_and_rmsprop_ignore_the_scale_of_the_gradient() {
    // Dividing by the root mean square makes the step invariant to
    // g → c g, as long as ε is negligible: here ε = 1e-30.
    let seq = gradient_sequence(50);
    for eps in both(1e-30) {
        let run = |scale: f64| {
            let mut ada = AdaGrad::new(AdaGradConfig::new(eps)).unwrap();
            let mut rms = RmsProp::new(RmsPropConfig::new(eps)).unwrap();
            let (mut p, mut q) = (vec![row(&[1.0; 3])], vec![row(&[1.0; 3])]);
            for g in &seq {
                let g = row(g) * scale;
                ada.step(&mut p, &g).unwrap();
                rms.step(&mut q, &[g]).unwrap();
            }
            (p.remove(0), q.remove(0))
        };
        let (p1, q1) = run(1.0);
        let (p2, q2) = run(1000.0);
        for (a, b) in p1.iter().zip(p2.iter()).chain(q1.iter().zip(q2.iter())) {
            assert_relative_eq!(*a, *b, max_relative = ACCUMULATED_TOL);
        }
    }
}

#[test]
fn a_large_epsilon_separates_the_conventions() {
    // With ε = 0.1 and gradients of size 0.1 the two forms take clearly
    // different paths: √(0.01 + 0.1) = 0.33 inside vs 0.1 + 0.1 = 0.2
    // outside in the first AdaGrad step.
    let mut paths = Vec::new();
    for eps in both(0.1) {
        let mut opt = AdaGrad::new(AdaGradConfig { lr: 0.1, eps }).unwrap();
        let mut params = vec![row(&[0.0])];
        opt.step(&mut params, &[row(&[0.1])]).unwrap();
        paths.push(-params[0][0]);
    }
    assert_relative_eq!(
        paths[0],
        0.01 / 0.11_f64.sqrt(),
        max_relative = STEP_TOL
    );
    assert_relative_eq!(paths[1], 0.01 / 0.2, max_relative = STEP_TOL);
    assert!(paths[1] > 1.5 * paths[0]);
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    for eps in [0.0, -1e-8, f64::NAN, f64::INFINITY] {
        for e in both(eps) {
            let err = AdaGrad::new(AdaGradConfig::new(e)).unwrap_err();
            assert!(err.to_string().starts_with("epsilon ε = "), "{err}");
            let err = RmsProp::new(RmsPropConfig::new(e)).unwrap_err();
            assert!(err.to_string().starts_with("epsilon ε = "), "{err}");
        }
    }
    let err = AdaGrad::new(AdaGradConfig {
        lr: -1.0,
        ..AdaGradConfig::pytorch()
    })
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "learning rate η = -1, but it must satisfy 0 < η < ∞"
    );
    for gamma in [1.0, -0.5, f64::NAN] {
        let err = RmsProp::new(RmsPropConfig {
            gamma,
            ..RmsPropConfig::pytorch()
        })
        .unwrap_err();
        assert!(err.to_string().contains("0 ≤ γ < 1"), "{err}");
    }
    let mut opt = RmsProp::new(RmsPropConfig::pytorch()).unwrap();
    let mut params = vec![row(&[1.0, 2.0])];
    let err = opt.step(&mut params, &[row(&[1.0])]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "grads: expected grads[0] of shape (1, 2) like params[0], got (1, 1)"
    );
    let err = opt.step(&mut params, &[row(&[f64::NAN, 0.0])]).unwrap_err();
    assert!(err.to_string().contains("entry 0 is NaN"), "{err}");
    assert_eq!(params[0], row(&[1.0, 2.0]));
    assert!(opt.effective_learning_rates(0).is_none());
    let mut opt = AdaGrad::new(AdaGradConfig::pytorch()).unwrap();
    let err = opt.step(&mut params, &[row(&[f64::INFINITY, 0.0])]);
    assert!(err.unwrap_err().to_string().contains("entry 0 is inf"));
    assert_eq!(opt.steps(), 0);
}
