//! Tests of exercise 3.8: clipping by the global norm, in closed form and
//! as invariants.

use genai_exercises::ch03_8::*;
use nalgebra::DMatrix;
use notation::Error;

/// A few roundings of values of order 1.
const TOL: f64 = 1e-14;

fn grads() -> Vec<DMatrix<f64>> {
    // Norm √(3² + 4²) = 5 from two matrices together.
    vec![
        DMatrix::from_row_slice(1, 2, &[3.0, 0.0]),
        DMatrix::from_row_slice(2, 1, &[0.0, -4.0]),
    ]
}

#[test]
fn the_norm_is_taken_over_all_matrices_together() {
    let mut g = grads();
    let norm = clip_grad_norm(&mut g, 1.0).unwrap();
    assert!((norm - 5.0).abs() <= TOL);
    // Clipped to 1: (3, 4)/5.
    assert!((g[0][(0, 0)] - 0.6).abs() <= TOL);
    assert!((g[1][(1, 0)] + 0.8).abs() <= TOL);
    assert_eq!(g[0][(0, 1)], 0.0);
}

#[test]
fn small_gradients_are_left_alone_bit_for_bit() {
    for c in [5.0, 5.5, 1e9] {
        let mut g = grads();
        let norm = clip_grad_norm(&mut g, c).unwrap();
        assert!((norm - 5.0).abs() <= TOL);
        assert_eq!(g, grads(), "c = {c}");
    }
}

#[test]
fn clipping_keeps_the_direction_and_reaches_the_bound() {
    let mut g: Vec<DMatrix<f64>> = (0..3)
        .map(|m| {
            DMatrix::from_fn(2, 3, |i, j| {
                (1.0 + m as f64 + 0.7 * i as f64 - 1.3 * j as f64).sin() * 10.0
            })
        })
        .collect();
    let original = g.clone();
    let before: f64 = original
        .iter()
        .map(|m| m.norm_squared())
        .sum::<f64>()
        .sqrt();
    let norm = clip_grad_norm(&mut g, 2.0).unwrap();
    assert!((norm - before).abs() <= TOL * before);
    let after: f64 = g.iter().map(|m| m.norm_squared()).sum::<f64>().sqrt();
    assert!((after - 2.0).abs() <= TOL);
    // Every entry scaled by the same factor 2 / ‖g‖.
    for (a, b) in g.iter().zip(&original) {
        assert!((a - b * (2.0 / before)).amax() <= TOL);
    }
}

#[test]
fn huge_and_tiny_gradients_do_not_overflow_or_underflow() {
    // Squares of 1e200 overflow f64; squares of 1e-200 underflow.
    let mut g = vec![DMatrix::from_row_slice(1, 2, &[3e200, 4e200])];
    let norm = clip_grad_norm(&mut g, 1.0).unwrap();
    assert!((norm / 5e200 - 1.0).abs() <= TOL);
    assert!((g[0][(0, 1)] - 0.8).abs() <= TOL);
    let mut g = vec![DMatrix::from_row_slice(1, 2, &[3e-200, 4e-200])];
    let norm = clip_grad_norm(&mut g, 1.0).unwrap();
    assert!((norm / 5e-200 - 1.0).abs() <= TOL);
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    for c in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let mut g = grads();
        assert!(matches!(
            clip_grad_norm(&mut g, c),
            Err(Error::Domain { .. })
        ));
        assert_eq!(g, grads());
    }
    let mut g = grads();
    g[1][(0, 0)] = f64::NAN;
    let copy = g.clone();
    assert!(matches!(
        clip_grad_norm(&mut g, 1.0),
        Err(Error::NotFinite { .. })
    ));
    // NaN ≠ NaN: compare the other entries.
    assert_eq!(g[0], copy[0]);
    assert_eq!(g[1][(1, 0)], copy[1][(1, 0)]);
    let mut none: Vec<DMatrix<f64>> = Vec::new();
    assert!(matches!(
        clip_grad_norm(&mut none, 1.0),
        Err(Error::Empty { .. })
    ));
}
