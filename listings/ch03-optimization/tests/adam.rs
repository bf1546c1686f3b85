//! Tests of Adam (3.10)–(3.12), AdamW (3.13) and the warm-up schedule
//! (3.14): closed forms, invariants and bad input. The comparison with
//! `torch.optim.Adam/AdamW` is in `tests/pytorch.rs`.

use approx::assert_relative_eq;
use ch03_optimization::adam::{Adam, AdamConfig, WeightDecay};
use ch03_optimization::schedule::WarmupCosine;
use ch03_optimization::{Epsilon, Optimizer};
use nalgebra::DMatrix;

/// One step computed two ways: a handful of roundings, ≤ 4 ulp relative.
const STEP_TOL: f64 = 1e-15;

/// Moving averages over t ≤ 100 steps: rounding grows like t ulp, and
/// 1 − βᵗ loses up to −log₂(1 − β₂) ≈ 10 bits of relative accuracy in the
/// first steps (1 − 0.999 = 1e-3 computed from 0.999).
const ACCUMULATED_TOL: f64 = 1e-12;

fn row(x: &[f64]) -> DMatrix<f64> {
    DMatrix::from_row_slice(1, x.len(), x)
}

fn adam(config: AdamConfig<f64>) -> Adam<f64> {
    Adam::new(config).unwrap()
}

#[test]
fn first_step_moves_each_coordinate_by_about_eta() {
    // m̂_1 = g, v̂_1 = g² (3.11), so the first step is η g / D_ε(g²):
    // η sign(g) up to ε, whatever the size of g.
    let g = [1e-3, -0.5, 20.0, -1e4];
    for eps in [Epsilon::Outside(1e-8), Epsilon::Inside(1e-8)] {
        let mut opt = adam(AdamConfig {
            lr: 0.1,
            ..AdamConfig::new(eps)
        });
        let mut params = vec![row(&[0.0; 4])];
        opt.step(&mut params, &[row(&g)]).unwrap();
        for (theta, g) in params[0].iter().zip(g) {
            let expected = -0.1 * g / eps.denominator(g * g);
            assert_relative_eq!(
                *theta,
                expected,
                max_relative = ACCUMULATED_TOL
            );
            // |g| ≥ 1e-3: ε = 1e-8 changes the step by ≤ 1e-5 outside and
            // ≤ ε / (2 g²) = 5e-3 inside.
            assert_relative_eq!(*theta, -0.1 * g.signum(), max_relative = 5e-3);
        }
    }
}

#[test]
fn bias_correction_makes_a_constant_gradient_unbiased() {
    // For g_t = c: m_t = (1 − β₁ᵗ) c and v_t = (1 − β₂ᵗ) c², the formula
    // E[m_t] = (1 − β₁ᵗ) E[g] for a constant "distribution". After the
    // correction m̂_t = c and v̂_t = c² exactly, in every step.
    let c = -0.3;
    let mut opt = adam(AdamConfig::pytorch());
    let mut params = vec![row(&[0.0])];
    for _ in 1..=100 {
        let before = params[0][0];
        opt.step(&mut params, &[row(&[c])]).unwrap();
        let (m_hat, v_hat) = opt.corrected_moments(0).unwrap();
        assert_relative_eq!(m_hat[0], c, max_relative = ACCUMULATED_TOL);
        assert_relative_eq!(v_hat[0], c * c, max_relative = ACCUMULATED_TOL);
        let step = before - params[0][0];
        assert_relative_eq!(
            step,
            1e-3 * c / (c.abs() + 1e-8),
            max_relative = ACCUMULATED_TOL
        );
    }
}

#[test]
fn without_bias_correction_the_first_steps_are_too_large() {
    // m_1 = (1 − β₁) g, v_1 = (1 − β₂) g²: the step is
    // η (1 − β₁) / √(1 − β₂) = η · 0.1 / 0.0316 ≈ 3.16 η instead of η.
    let g = 0.5;
    let mut opt = adam(AdamConfig {
        bias_correction: false,
        ..AdamConfig::pytorch()
    });
    let mut params = vec![row(&[0.0])];
    opt.step(&mut params, &[row(&[g])]).unwrap();
    let expected = 1e-3 * 0.1 * g / ((0.001_f64).sqrt() * g + 1e-8);
    assert_relative_eq!(
        -params[0][0],
        expected,
        max_relative = ACCUMULATED_TOL
    );
    assert_relative_eq!(
        -params[0][0] / 1e-3,
        10f64.sqrt(),
        max_relative = 1e-6
    );
}

#[test]
fn moments_are_exponential_averages_of_the_gradients() {
    // Unrolling (3.10): m_t = (1 − β₁) Σ_k β₁^{t−k} g_k, and likewise v_t
    // with g_k². Checked on a fixed sequence with signs and zeros.
    let grads: Vec<f64> =
        (0..30).map(|k| ((k * 7 % 11) as f64 - 5.0) / 3.0).collect();
    let (b1, b2) = (0.9_f64, 0.999_f64);
    let mut opt = adam(AdamConfig::pytorch());
    let mut params = vec![row(&[0.0])];
    for (t, g) in grads.iter().enumerate() {
        opt.step(&mut params, &[row(&[*g])]).unwrap();
        let t = t + 1;
        let m: f64 = (1..=t)
            .map(|k| (1.0 - b1) * b1.powi((t - k) as i32) * grads[k - 1])
            .sum();
        let v: f64 = (1..=t)
            .map(|k| {
                (1.0 - b2) * b2.powi((t - k) as i32) * grads[k - 1].powi(2)
            })
            .sum();
        let (m_hat, v_hat) = opt.corrected_moments(0).unwrap();
        let c1 = 1.0 - b1.powi(t as i32);
        let c2 = 1.0 - b2.powi(t as i32);
        // m can cancel to near 0 (signs alternate): compare absolutely on
        // the scale of the gradients (≤ 5/3).
        assert_relative_eq!(m_hat[0], m / c1, epsilon = ACCUMULATED_TOL);
        assert_relative_eq!(v_hat[0], v / c2, max_relative = ACCUMULATED_TOL);
    }
}

/// θ stays below 2 in magnitude: the difference θ_t − θ_{t+1} of two
/// rounded parameters is off by a few ulp of 2 (4.4e-16 each), absolutely.
const THETA_TOL: f64 = 1e-15;

#[test]
fn effective_rate_is_eta_over_root_v_hat_and_remembers_large_gradients() {
    // The rate η / D_ε(v̂_t) times m̂_t is the step (3.12). For gradients 1
    // in steps 1 to 100 and 0.01 afterwards, unrolling (3.10) gives
    // v_t = 1 − β₂ᵗ up to t = 100 and
    // v_t = β₂^{t−100} (1 − β₂¹⁰⁰) + (1 − β₂^{t−100}) · 10⁻⁴ after it.
    let b2 = 0.999_f64;
    for eps in [Epsilon::Outside(1e-8), Epsilon::Inside(1e-8)] {
        let mut opt = adam(AdamConfig {
            lr: 0.01,
            ..AdamConfig::new(eps)
        });
        assert!(opt.effective_learning_rates(0).is_none());
        let mut params = vec![row(&[0.0])];
        let mut rates = Vec::new();
        for t in 1..=300 {
            let g = if t <= 100 { 1.0 } else { 0.01 };
            let before = params[0][0];
            opt.step(&mut params, &[row(&[g])]).unwrap();
            let rate = opt.effective_learning_rates(0).unwrap()[0];
            let (m_hat, _) = opt.corrected_moments(0).unwrap();
            assert_relative_eq!(
                before - params[0][0],
                rate * m_hat[0],
                epsilon = THETA_TOL
            );
            let v = if t <= 100 {
                1.0 - b2.powi(t)
            } else {
                b2.powi(t - 100) * (1.0 - b2.powi(100))
                    + (1.0 - b2.powi(t - 100)) * 1e-4
            };
            let v_hat = v / (1.0 - b2.powi(t));
            assert_relative_eq!(
                rate,
                0.01 / eps.denominator(v_hat),
                max_relative = ACCUMULATED_TOL
            );
            rates.push(rate);
        }
        // While the gradient is constant, v̂_t = 1 and the rate is η; 200
        // steps after the gradients shrank a hundredfold, it has not even
        // doubled (RMSProp with γ = 0.9 is back at η / 0.01 = 100 η).
        assert_relative_eq!(rates[99], 0.01, max_relative = 1e-7);
        assert!(rates[299] > rates[100] && rates[299] < 0.02, "{rates:?}");
    }
}

#[test]
fn adam_ignores_the_scale_of_the_gradient() {
    // m̂ / √v̂ does not change under g → c g (c > 0) when ε is negligible:
    // the trajectories for c = 1 and c = 1e4 agree.
    let grads: Vec<[f64; 2]> = (0..50)
        .map(|k| [(0.5 * k as f64).sin(), 1e-3 * (k as f64 - 20.0)])
        .collect();
    let run = |scale: f64| {
        let mut opt = adam(AdamConfig::new(Epsilon::Outside(1e-30)));
        let mut params = vec![row(&[1.0, -1.0])];
        for g in &grads {
            opt.step(&mut params, &[row(g) * scale]).unwrap();
        }
        params.remove(0)
    };
    let (a, b) = (run(1.0), run(1e4));
    for (x, y) in a.iter().zip(b.iter()) {
        assert_relative_eq!(*x, *y, max_relative = ACCUMULATED_TOL);
    }
}

#[test]
fn adamw_decays_weights_directly_adam_l2_through_the_gradient() {
    // With zero loss gradients, AdamW only shrinks: θ_t = (1 − ηλ)ᵗ θ_0,
    // formula (3.13), since m = v = 0 and 0 / D_ε(0) = 0.
    let (lr, lambda) = (0.01, 0.1);
    let mut opt = adam(AdamConfig {
        lr,
        weight_decay: WeightDecay::Decoupled(lambda),
        ..AdamConfig::pytorch()
    });
    let mut params = vec![row(&[2.0, -3.0])];
    for t in 1..=100 {
        opt.step(&mut params, &[row(&[0.0, 0.0])]).unwrap();
        let factor = (1.0 - lr * lambda).powi(t);
        assert_relative_eq!(
            params[0][0],
            2.0 * factor,
            max_relative = ACCUMULATED_TOL
        );
        assert_relative_eq!(
            params[0][1],
            -3.0 * factor,
            max_relative = ACCUMULATED_TOL
        );
    }
    // Coupled L2 feeds λθ through Adam's normalisation: the first step is
    // η λθ / (|λθ| + ε) ≈ η sign(θ) = ±0.01, whatever λ is; AdamW's first
    // step is η λ θ = 0.002 and −0.003 here.
    let mut l2 = adam(AdamConfig {
        lr,
        weight_decay: WeightDecay::L2(lambda),
        ..AdamConfig::pytorch()
    });
    let mut params = vec![row(&[2.0, -3.0])];
    l2.step(&mut params, &[row(&[0.0, 0.0])]).unwrap();
    assert_relative_eq!(
        params[0][0],
        2.0 - lr * 0.2 / (0.2 + 1e-8),
        max_relative = STEP_TOL
    );
    assert_relative_eq!(
        params[0][1],
        -3.0 + lr * 0.3 / (0.3 + 1e-8),
        max_relative = STEP_TOL
    );
}

#[test]
fn l2_weight_decay_is_adam_on_the_regularised_gradient() {
    // WeightDecay::L2(λ) equals plain Adam fed with g + λθ.
    let lambda = 0.05;
    let mut with_l2 = adam(AdamConfig {
        lr: 0.01,
        weight_decay: WeightDecay::L2(lambda),
        ..AdamConfig::pytorch()
    });
    let mut plain = adam(AdamConfig {
        lr: 0.01,
        ..AdamConfig::pytorch()
    });
    let (mut p, mut q) = (vec![row(&[1.0, -0.5])], vec![row(&[1.0, -0.5])]);
    for k in 0..40 {
        let g = row(&[(k as f64).cos(), 0.1]);
        with_l2.step(&mut p, &g).unwrap();
        let regularised = &g + &q[0] * lambda;
        plain.step(&mut q, &[regularised]).unwrap();
        // The same operations in the same order: identical numbers.
        assert_eq!(p, q);
    }
}

#[test]
fn warmup_rises_linearly_then_decays_like_a_cosine() {
    let s = WarmupCosine::new(1e-3, 1e-5, 100, 1000).unwrap();
    // η_t = η_max t / T_w during warm-up, (3.14).
    assert_relative_eq!(
        s.learning_rate(1).unwrap(),
        1e-5,
        max_relative = STEP_TOL
    );
    assert_relative_eq!(
        s.learning_rate(50).unwrap(),
        5e-4,
        max_relative = STEP_TOL
    );
    assert_eq!(s.learning_rate(100).unwrap(), 1e-3);
    // Half-way through the decay cos(π/2) = 0: the mean of both ends.
    assert_relative_eq!(
        s.learning_rate(550).unwrap(),
        (1e-3 + 1e-5) / 2.0,
        max_relative = STEP_TOL
    );
    assert_eq!(s.learning_rate(1000).unwrap(), 1e-5);
    assert_eq!(s.learning_rate(5000).unwrap(), 1e-5);
    // Rising during warm-up, falling after, never outside [η_min, η_max].
    let rates: Vec<f64> =
        (1..=1100).map(|t| s.learning_rate(t).unwrap()).collect();
    for t in 1..rates.len() {
        if t < 100 {
            assert!(rates[t] > rates[t - 1]);
        } else {
            assert!(rates[t] <= rates[t - 1]);
        }
        assert!((1e-5..=1e-3).contains(&rates[t]));
    }
    // The schedule drives an optimizer through set_learning_rate.
    let mut opt = adam(AdamConfig::pytorch_adamw());
    let mut params = vec![row(&[1.0])];
    for t in 1..=3 {
        opt.set_learning_rate(s.learning_rate(t).unwrap()).unwrap();
        opt.step(&mut params, &[row(&[1.0])]).unwrap();
    }
    assert_relative_eq!(opt.learning_rate(), 3e-5, max_relative = STEP_TOL);
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    for beta1 in [1.0, -0.1, f64::NAN] {
        let err = Adam::new(AdamConfig {
            beta1,
            ..AdamConfig::pytorch()
        })
        .unwrap_err();
        assert!(err.to_string().starts_with("β₁ = "), "{err}");
        assert!(err.to_string().contains("0 ≤ β₁ < 1"), "{err}");
    }
    let err = Adam::new(AdamConfig {
        beta2: 1.0,
        ..AdamConfig::pytorch()
    })
    .unwrap_err();
    assert_eq!(err.to_string(), "β₂ = 1, but it must satisfy 0 ≤ β₂ < 1");
    for lr in [0.0, -1e-3, f64::NAN] {
        let err = Adam::new(AdamConfig {
            lr,
            ..AdamConfig::pytorch()
        })
        .unwrap_err();
        assert!(err.to_string().starts_with("learning rate η"), "{err}");
    }
    for wd in [WeightDecay::L2(-0.1), WeightDecay::Decoupled(f64::INFINITY)] {
        let err = Adam::new(AdamConfig {
            weight_decay: wd,
            ..AdamConfig::pytorch()
        })
        .unwrap_err();
        assert!(err.to_string().contains("0 ≤ λ < ∞"), "{err}");
    }
    let err = Adam::new(AdamConfig::new(Epsilon::Inside(0.0))).unwrap_err();
    assert!(err.to_string().starts_with("epsilon ε = 0"), "{err}");

    let mut opt = adam(AdamConfig::pytorch());
    let mut params = vec![row(&[1.0, 2.0])];
    let err = opt.step(&mut params, &[row(&[0.0, f64::NAN])]).unwrap_err();
    assert!(err.to_string().contains("entry 1 is NaN"), "{err}");
    assert_eq!(params[0], row(&[1.0, 2.0]));
    assert_eq!(opt.steps(), 0);
    assert!(opt.corrected_moments(0).is_none());

    let err = WarmupCosine::new(1e-3, 0.0, 10, 100).unwrap_err();
    assert!(err.to_string().contains("0 < η_min ≤ η_max"), "{err}");
    let err = WarmupCosine::new(1e-3, 1e-2, 10, 100).unwrap_err();
    assert!(err.to_string().contains("0 < η_min ≤ η_max"), "{err}");
    let err = WarmupCosine::new(-1.0, 1e-5, 10, 100).unwrap_err();
    assert!(err.to_string().contains("0 < η_max < ∞"), "{err}");
    let err = WarmupCosine::new(1e-3, 1e-5, 100, 100).unwrap_err();
    assert!(err.to_string().contains("T_w < T"), "{err}");
    let s = WarmupCosine::new(1e-3, 1e-5, 10, 100).unwrap();
    assert_eq!(
        s.learning_rate(0).unwrap_err().to_string(),
        "step t = 0, but it must satisfy t ≥ 1"
    );
}
