//! Tests of exercise 1.8: the Poisson NLL against the probabilities
//! themselves, its derivative against finite differences, the fit against
//! the closed form.

use genai_exercises::ch01_8::*;
use notation::Error;

/// Sums of a few dozen logarithms of order 1 to 10.
const TOL: f64 = 1e-12;

const COUNTS: [u32; 8] = [2, 0, 3, 1, 4, 2, 5, 3];

/// `P(x; θ) = θ^x e^(−θ) / x!`, computed directly.
fn pmf(x: u32, theta: f64) -> f64 {
    let factorial: f64 = (1..=x).map(f64::from).product();
    theta.powi(x as i32) * (-theta).exp() / factorial
}

#[test]
fn nll_is_minus_the_log_of_the_product_of_the_probabilities() {
    for theta in [0.5, 2.5, 7.0] {
        let (nll, _) = poisson_nll(&COUNTS, theta).unwrap();
        let product: f64 = COUNTS.iter().map(|&x| pmf(x, theta)).product();
        assert!(
            (nll + product.ln()).abs() <= TOL * nll.abs().max(1.0),
            "θ = {theta}: NLL {nll}, −log Π P = {}",
            -product.ln()
        );
    }
}

#[test]
fn derivative_matches_central_differences() {
    // h = 1e-5: truncation h² NLL'''/6 and rounding ε |NLL| / h are both
    // about 1e-10 here; 1e-6 leaves room and still catches a wrong term.
    let h = 1e-5;
    for theta in [0.7, 2.5, 6.0] {
        let (_, d) = poisson_nll(&COUNTS, theta).unwrap();
        let (plus, _) = poisson_nll(&COUNTS, theta + h).unwrap();
        let (minus, _) = poisson_nll(&COUNTS, theta - h).unwrap();
        let fd = (plus - minus) / (2.0 * h);
        assert!((d - fd).abs() <= 1e-6, "θ = {theta}: {d} vs {fd}");
    }
}

#[test]
fn the_mle_is_the_mean_and_beats_every_other_rate() {
    let theta_hat = poisson_mle(&COUNTS).unwrap();
    assert_eq!(theta_hat, 20.0 / 8.0);
    let (best, d) = poisson_nll(&COUNTS, theta_hat).unwrap();
    assert!(d.abs() <= TOL, "NLL'(θ̂) = {d}");
    for k in 1..100 {
        let theta = 0.06 * k as f64;
        if (theta - theta_hat).abs() < 1e-9 {
            continue;
        }
        let (nll, _) = poisson_nll(&COUNTS, theta).unwrap();
        assert!(nll > best, "θ = {theta} has NLL {nll} ≤ {best}");
    }
}

#[test]
fn newton_converges_quadratically_to_the_closed_form() {
    let theta_hat = 2.5;
    // One step: θ_1 − θ̂ = −(θ_0 − θ̂)² / θ̂ exactly (up to rounding).
    for theta0 in [0.1, 1.0, 2.4, 4.0, 4.9] {
        let theta1 = poisson_newton(&COUNTS, theta0, 1).unwrap();
        let want = theta_hat - (theta0 - theta_hat).powi(2) / theta_hat;
        assert!((theta1 - want).abs() <= TOL, "θ_0 = {theta0}");
        // From anywhere in (0, 2θ̂): at θ̂ after 12 steps.
        let theta = poisson_newton(&COUNTS, theta0, 12).unwrap();
        assert!((theta - theta_hat).abs() <= TOL, "θ_0 = {theta0}: {theta}");
    }
    // Zero steps return the start.
    assert_eq!(poisson_newton(&COUNTS, 1.5, 0).unwrap(), 1.5);
}

#[test]
fn bad_input_is_refused() {
    assert!(matches!(poisson_nll(&[], 1.0), Err(Error::Empty { .. })));
    assert!(matches!(poisson_mle(&[]), Err(Error::Empty { .. })));
    for theta in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            poisson_nll(&COUNTS, theta),
            Err(Error::Domain { .. })
        ));
    }
    for theta0 in [0.0, 5.0, 6.0, -1.0, f64::NAN] {
        assert!(matches!(
            poisson_newton(&COUNTS, theta0, 3),
            Err(Error::Domain { .. })
        ));
    }
    assert!(matches!(
        poisson_newton(&[0, 0, 0], 1.0, 3),
        Err(Error::Domain { .. })
    ));
    assert!(matches!(
        poisson_newton(&[], 1.0, 3),
        Err(Error::Empty { .. })
    ));
}
