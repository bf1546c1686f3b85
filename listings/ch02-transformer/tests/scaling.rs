//! Tests of the √d_k experiment, formula (2.3): the measured variance of
//! q·k is d_k, after scaling it is 1, and without scaling the softmax
//! saturates as d_k grows.

use ch02_transformer::scaling::scaling_experiment;

/// Samples per d_k: 200 queries × 100 keys = 20000 dot products.
const N_QUERIES: usize = 200;
const N_KEYS: usize = 100;

/// The sample variance of n values of q·k (d_k terms of products of two
/// N(0, 1)) has a relative standard error of √((2 + 6/d_k)/n) ≤ 0.02 for
/// n = 20000 (fourth moment 3d_k² + 6d_k). The keys are shared between
/// queries, which correlates the samples; 0.15 allows for that and is
/// still far below the factor d_k that a missing scale would show.
const STAT_TOL: f64 = 0.15;

#[test]
fn the_variance_of_q_dot_k_is_d_k_and_one_after_scaling() {
    for (seed, d_k) in [1, 4, 16, 64, 256].into_iter().enumerate() {
        let s =
            scaling_experiment(d_k, N_QUERIES, N_KEYS, seed as u64).unwrap();
        let rel = (s.var_unscaled / d_k as f64 - 1.0).abs();
        assert!(rel < STAT_TOL, "d_k = {d_k}: variance {}", s.var_unscaled);
        assert!((s.var_scaled - 1.0).abs() < STAT_TOL, "{}", s.var_scaled);
        // Scaling divides every score by √d_k, the variance by d_k.
        let ratio = s.var_unscaled / s.var_scaled;
        assert!((ratio - d_k as f64).abs() < 1e-9 * d_k as f64, "{ratio}");
    }
}

#[test]
fn without_scaling_the_softmax_saturates() {
    let small = scaling_experiment(1, N_QUERIES, N_KEYS, 9).unwrap();
    let large = scaling_experiment(512, N_QUERIES, N_KEYS, 9).unwrap();
    // d_k = 512 unscaled: score spread √512 ≈ 23, the top key takes
    // nearly everything.
    assert!(large.max_weight_unscaled > 0.9, "{large:?}");
    // Scaled, the peak does not depend on d_k beyond sampling noise.
    let diff = (large.max_weight_scaled - small.max_weight_scaled).abs();
    assert!(diff < 0.05, "{small:?} {large:?}");
    assert!(large.max_weight_scaled < 0.3, "{large:?}");
}

#[test]
fn bad_sizes_are_refused() {
    assert!(scaling_experiment(0, 10, 10, 0).is_err());
    assert!(scaling_experiment(4, 1, 10, 0).is_err());
}
