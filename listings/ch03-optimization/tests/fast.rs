//! `Adam::step_fast` takes the steps that `Optimizer::step` takes: same
//! parameters within rounding, same state, same errors.

use ch03_optimization::adam::{Adam, AdamConfig, WeightDecay};
use ch03_optimization::{Epsilon, Error, Optimizer};
use nalgebra::DMatrix;

/// f64: the fast step folds the bias corrections into two constants
/// (PyTorch's arrangement), which changes each update by a few ulp;
/// after 60 steps of size about η = 1e-3 on parameters of size about 1
/// that is below 1e-14, far below a wrong formula's 1e-4.
const F64_TOL: f64 = 1e-12;
/// f32: the same few ulp, with ulp = 1.2e-7 relative.
const F32_TOL: f32 = 1e-5;

/// Two parameter matrices (a weight and a bias row) and gradients that
/// change from step to step.
fn problem(step: usize) -> (Vec<DMatrix<f64>>, Vec<DMatrix<f64>>) {
    let p = vec![
        DMatrix::from_fn(7, 5, |i, j| (i as f64 - 3.0) * 0.3 + j as f64 * 0.1),
        DMatrix::from_fn(1, 5, |_, j| j as f64 * 0.2 - 0.5),
    ];
    let s = step as f64;
    let g = vec![
        DMatrix::from_fn(7, 5, |i, j| ((i * 5 + j) as f64 + s).sin() * 0.1),
        DMatrix::from_fn(1, 5, |_, j| (j as f64 * 0.7 - s).cos() * 1e-3),
    ];
    (p, g)
}

fn configs() -> Vec<AdamConfig<f64>> {
    let mut out = Vec::new();
    for eps in [Epsilon::Outside(1e-8), Epsilon::Inside(1e-8)] {
        for wd in [
            WeightDecay::None,
            WeightDecay::L2(0.1),
            WeightDecay::Decoupled(0.01),
        ] {
            for bias_correction in [true, false] {
                out.push(AdamConfig {
                    weight_decay: wd,
                    bias_correction,
                    ..AdamConfig::new(eps)
                });
            }
        }
    }
    out
}

#[test]
fn step_fast_agrees_with_step_f64() {
    for config in configs() {
        let (mut slow_p, _) = problem(0);
        let mut fast_p = slow_p.clone();
        let mut slow = Adam::new(config).unwrap();
        let mut fast = Adam::new(config).unwrap();
        for t in 0..60 {
            let (_, g) = problem(t);
            slow.step(&mut slow_p, &g).unwrap();
            fast.step_fast(&mut fast_p, &g).unwrap();
        }
        assert_eq!(fast.steps(), slow.steps());
        for (a, b) in slow_p.iter().zip(&fast_p) {
            let diff = (a - b).abs().max();
            assert!(diff < F64_TOL, "{config:?}: {diff}");
        }
        let (ms, vs) = slow.corrected_moments(0).unwrap();
        let (mf, vf) = fast.corrected_moments(0).unwrap();
        // Alike, up to the rounding that L2 decay brings in through θ.
        assert!((ms - mf).abs().max() < F64_TOL, "{config:?}");
        assert!((vs - vf).abs().max() < F64_TOL, "{config:?}");
    }
}

#[test]
fn step_fast_agrees_with_step_f32() {
    let config = AdamConfig::<f32>::pytorch_adamw();
    let (p, _) = problem(0);
    let mut slow_p: Vec<_> = p.iter().map(|m| m.map(|x| x as f32)).collect();
    let mut fast_p = slow_p.clone();
    let (mut slow, mut fast) =
        (Adam::new(config).unwrap(), Adam::new(config).unwrap());
    for t in 0..60 {
        let (_, g) = problem(t);
        let g: Vec<_> = g.iter().map(|m| m.map(|x| x as f32)).collect();
        slow.step(&mut slow_p, &g).unwrap();
        fast.step_fast(&mut fast_p, &g).unwrap();
    }
    for (a, b) in slow_p.iter().zip(&fast_p) {
        assert!((a - b).abs().max() < F32_TOL);
    }
}

#[test]
fn step_fast_refuses_what_step_refuses() {
    let (mut p, mut g) = problem(0);
    g[1][(0, 3)] = f64::NAN;
    let before = p.clone();
    let mut adam = Adam::new(AdamConfig::pytorch()).unwrap();
    let fast_err = adam.step_fast(&mut p, &g).unwrap_err();
    let slow_err = adam.step(&mut p, &g).unwrap_err();
    // (NaN ≠ NaN, so the errors are compared as text.)
    assert_eq!(fast_err.to_string(), slow_err.to_string());
    assert!(matches!(fast_err, Error::NotFinite { index: 38, .. }));
    assert_eq!(p, before, "nothing changed");
    assert_eq!(adam.steps(), 0);
}
