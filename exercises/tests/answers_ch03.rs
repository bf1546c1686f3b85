//! The numbers that the solutions of chapter 3's exercises state,
//! computed with the listings of chapter 3 and looked up in both
//! languages' solution blocks.

use ch03_optimization::adagrad::{AdaGrad, AdaGradConfig};
use ch03_optimization::adam::{Adam, AdamConfig};
use ch03_optimization::quadratic::Quadratic;
use ch03_optimization::schedule::WarmupCosine;
use ch03_optimization::sgd::{Sgd, SgdConfig};
use ch03_optimization::{Epsilon, Optimizer};
use genai_exercises::support::{assert_answer, assert_answer_int};
use nalgebra::DMatrix;

/// The first step `t` with `1 − βᵗ ≥ 0.99`.
fn first_step_with_correction_above(beta: f64, level: f64) -> i64 {
    let mut t = 1;
    while 1.0 - beta.powi(t) < level {
        t += 1;
    }
    i64::from(t)
}

#[test]
fn exercise_3_1_adams_moments() {
    // A constant gradient: m̂_t = g and v̂_t = g² in every step.
    let g = DMatrix::from_row_slice(1, 2, &[0.3, -2.0]);
    let mut adam = Adam::new(AdamConfig::pytorch()).unwrap();
    let mut theta = DMatrix::from_row_slice(1, 2, &[1.0, 1.0]);
    for _ in 0..20 {
        adam.step(&mut theta, &g).unwrap();
        let (m_hat, v_hat) = adam.corrected_moments(0).unwrap();
        assert!((&m_hat - &g).amax() <= 1e-15);
        // 1 − β₂ᵗ for small t is a difference of nearly equal numbers, and
        // the recursion and the power round differently: about 1e-13
        // relative, of values up to 4.
        assert!((&v_hat - g.component_mul(&g)).amax() <= 1e-12);
    }
    // Without correction the first step is (1 − β₁)/√(1 − β₂) η.
    let mut config = AdamConfig::pytorch();
    config.bias_correction = false;
    let mut plain = Adam::new(config).unwrap();
    let mut theta = DMatrix::from_row_slice(1, 1, &[0.0]);
    plain
        .step(&mut theta, &DMatrix::from_row_slice(1, 1, &[1.0]))
        .unwrap();
    let factor = -theta[(0, 0)] / config.lr;
    let want = 0.1 / 0.001_f64.sqrt();
    // ε = 1e-8 next to √(1 − β₂) ≈ 0.03 changes the factor by 3e-7.
    assert!((factor - want).abs() < 1e-6, "{factor}");
    assert_answer("3.1", want, 4); // 3.1623
    let (t1, t2) = (
        first_step_with_correction_above(0.9, 0.99),
        first_step_with_correction_above(0.999, 0.99),
    );
    assert_answer_int("3.1", t1); // 44
    assert_answer_int("3.1", t2); // 4603
    assert_answer("3.1", 0.01_f64.ln() / 0.9_f64.ln(), 2); // 43.71
    assert_answer("3.1", 0.01_f64.ln() / 0.999_f64.ln(), 2); // 4602.87
}

/// `|θ_1 − θ_0| / η` after the first step of `opt` with gradient `g`.
fn first_step_fraction(opt: &mut dyn Optimizer<f64>, g: f64) -> f64 {
    let mut theta = DMatrix::from_row_slice(1, 1, &[0.0]);
    opt.step(&mut theta, &DMatrix::from_row_slice(1, 1, &[g]))
        .unwrap();
    theta[(0, 0)].abs() / opt.learning_rate()
}

#[test]
fn exercise_3_2_where_epsilon_sits() {
    let (g, eps) = (1e-5, 1e-8);
    let inside = Epsilon::Inside(eps);
    let outside = Epsilon::Outside(eps);
    assert_answer("3.2", inside.denominator(g * g) * 1e4, 3); // 1.005 · 10⁻⁴
    let mut fractions = Vec::new();
    for e in [inside, outside] {
        let a = first_step_fraction(
            &mut AdaGrad::new(AdaGradConfig::new(e)).unwrap(),
            g,
        );
        let b =
            first_step_fraction(&mut Adam::new(AdamConfig::new(e)).unwrap(), g);
        assert!((a - b).abs() <= 1e-12, "{a} vs {b}");
        assert!((a - g / e.denominator(g * g)).abs() <= 1e-12);
        fractions.push(a);
    }
    assert_answer("3.2", fractions[0], 4); // 0.0995
    assert_answer("3.2", fractions[1], 4); // 0.9990
    // ε inside that gives the step of ε = 1e-8 outside.
    let eps_in = 2.0 * g * eps + eps * eps;
    let step_in = g / Epsilon::Inside(eps_in).denominator(g * g);
    assert!((step_in - fractions[1]).abs() <= 1e-12);
    assert_answer("3.2", eps_in * 1e13, 3); // 2.001 · 10⁻¹³
    assert_answer("3.2", 1.0 + 1e-8 / g, 3); // 1.001
    assert_answer("3.2", 1.01, 2);
}

#[test]
fn exercise_3_3_stability_of_gradient_descent() {
    let q = Quadratic::diagonal(&[0.5, 2.0, 10.0], &[0.0, 0.0, 0.0]).unwrap();
    assert_answer("3.3", q.max_stable_learning_rate(), 1); // 0.2
    let eta = q.best_learning_rate();
    assert_answer("3.3", eta, 4); // 0.1905
    assert_answer("3.3", 10.5, 1);
    let rho = q.contraction_factor(eta);
    assert!((rho - 19.0 / 21.0).abs() < 1e-15);
    assert_answer("3.3", rho, 4); // 0.9048
    for a in [0.5, 2.0, 10.0] {
        assert_answer("3.3", 1.0 - eta * a, 4); // 0.9048, 0.6190, −0.9048
    }
    assert_answer_int("3.3", 20); // κ
    let bound = 1e-6_f64.ln() / rho.ln();
    assert_answer("3.3", bound, 2); // 138.04
    assert_answer_int("3.3", bound.ceil() as i64); // 139
    let rho_01 = q.contraction_factor(0.1);
    assert_answer("3.3", rho_01, 2); // 0.95
    assert_answer("3.3", 1.0 - 0.1 * 2.0, 1); // 0.8
    let bound = 1e-6_f64.ln() / rho_01.ln();
    assert_answer("3.3", bound, 2); // 269.34
    assert_answer_int("3.3", bound.ceil() as i64); // 270
    // The listing's gradient descent reaches 1e-6 of the start in 139
    // steps at the best rate, but not in 138.
    let start = DMatrix::from_row_slice(1, 3, &[1.0, 1.0, 1.0]);
    let run = |steps: usize, eta: f64| {
        let mut opt = Sgd::new(SgdConfig {
            lr: eta,
            momentum: 0.0,
        })
        .unwrap();
        let mut theta = start.clone();
        for _ in 0..steps {
            let g = q.gradient(&theta).unwrap();
            opt.step(&mut theta, &g).unwrap();
        }
        theta.amax()
    };
    assert!(run(139, eta) <= 1e-6);
    assert!(run(138, eta) > 1e-6);
    assert!(run(270, 0.1) <= 1e-6);
    assert!(run(269, 0.1) > 1e-6);
}

#[test]
fn exercise_3_4_two_adagrad_steps() {
    let mut opt = AdaGrad::new(AdaGradConfig {
        lr: 0.1,
        eps: Epsilon::Outside(1e-10),
    })
    .unwrap();
    let mut theta = DMatrix::from_row_slice(1, 2, &[1.0, -2.0]);
    opt.step(&mut theta, &DMatrix::from_row_slice(1, 2, &[0.3, -4.0]))
        .unwrap();
    // ε = 1e-10 next to √G ≥ 0.3 moves θ by at most 4e-11.
    for (got, want) in theta.iter().zip([0.9_f64, -1.9]) {
        assert!((got - want).abs() < 1e-10);
        assert_answer("3.4", want, 1);
    }
    assert_answer("3.4", 0.09, 2);
    opt.step(&mut theta, &DMatrix::from_row_slice(1, 2, &[0.4, 3.0]))
        .unwrap();
    for (got, want) in theta.iter().zip([0.82_f64, -1.96]) {
        assert!((got - want).abs() < 1e-10);
        assert_answer("3.4", want, 2);
    }
    let rates = opt.effective_learning_rates(0).unwrap();
    for ((got, want), decimals) in rates.iter().zip([0.2_f64, 0.02]).zip([1, 2])
    {
        assert!((got - want).abs() < 1e-9);
        assert_answer("3.4", want, decimals);
    }
    assert_answer("3.4", 0.25, 2);
    assert_answer("3.4", 0.4_f64.powi(2), 2); // 0.16
    assert_answer("3.4", 0.3, 1); // √0.09
    assert_answer_int("3.4", 16);
    assert_answer_int("3.4", 25);
}

#[test]
fn exercise_3_5_stability_of_momentum() {
    let (beta, a) = (0.9, 10.0);
    let bound = 2.0 * (1.0 + beta) / a;
    assert_answer("3.5", bound, 2); // 0.38
    assert_answer("3.5", 2.0 / a, 1); // 0.2
    // The listing's momentum on ½ a θ²: below the bound it converges,
    // above it diverges.
    let q = Quadratic::diagonal(&[a], &[0.0]).unwrap();
    let run = |eta: f64| {
        let mut opt = Sgd::new(SgdConfig {
            lr: eta,
            momentum: beta,
        })
        .unwrap();
        let mut theta = DMatrix::from_row_slice(1, 1, &[1.0]);
        for _ in 0..2000 {
            let g = q.gradient(&theta).unwrap();
            opt.step(&mut theta, &g).unwrap();
        }
        theta[(0, 0)].abs()
    };
    assert!(run(0.99 * bound) < 1e-3);
    assert!(run(1.01 * bound) > 1e3);
    // Beyond the gradient-descent bound 2/a, still stable.
    assert!(run(0.3) < 1e-6);
}

#[test]
fn exercise_3_6_warmup_cosine() {
    let s = WarmupCosine::new(1e-3, 1e-5, 100, 1000).unwrap();
    assert_answer("3.6", s.learning_rate(50).unwrap(), 4); // 0.0005
    assert_answer("3.6", s.learning_rate(100).unwrap(), 3); // 0.001
    assert_answer("3.6", s.learning_rate(550).unwrap(), 6); // 0.000505
    assert_answer("3.6", s.learning_rate(775).unwrap() * 1e4, 4); // 1.5498 · 10⁻⁴
    assert_answer("3.6", s.learning_rate(1000).unwrap(), 5); // 0.00001
    assert_answer("3.6", (3.0 * std::f64::consts::FRAC_PI_4).cos(), 4); // −0.7071
    assert_answer("3.6", 0.5 * (1e-3 - 1e-5), 6); // 0.000495
    let share = 100.0 * s.learning_rate(775).unwrap() / 1e-3;
    assert_answer_int("3.6", share.round() as i64); // 15 %
}
