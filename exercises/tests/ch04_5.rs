//! Tests of exercise 4.5 (clipping by the global norm); they run against
//! the stub with `cargo xtask exercise ch04-5`.

use approx::assert_relative_eq;
use ch04_language_model::model::{Config, Model};
use genai_exercises::ch04_5::*;
use nalgebra::DMatrix;
use notation::{Error, ParamsExt};
use testing::CLOSED_FORM_TOL;

/// The global norm of all matrices.
fn global_norm(grads: &[&DMatrix<f64>]) -> f64 {
    grads.iter().map(|g| g.norm_squared()).sum::<f64>().sqrt()
}

fn example() -> Vec<DMatrix<f64>> {
    // Norm sqrt(3² + 4² + 12²) = 13.
    vec![
        DMatrix::from_row_slice(1, 2, &[3.0, 4.0]),
        DMatrix::from_row_slice(1, 1, &[12.0]),
    ]
}

#[test]
fn scales_all_matrices_by_one_factor() {
    let mut grads = example();
    let norm = clip_grad_norm(&mut grads, 6.5).unwrap();
    assert_relative_eq!(norm, 13.0, max_relative = CLOSED_FORM_TOL);
    assert_relative_eq!(
        grads[0],
        DMatrix::from_row_slice(1, 2, &[1.5, 2.0]),
        max_relative = CLOSED_FORM_TOL
    );
    assert_relative_eq!(grads[1][(0, 0)], 6.0, max_relative = CLOSED_FORM_TOL);
}

#[test]
fn small_gradients_stay_as_they_are() {
    let mut grads = example();
    let norm = clip_grad_norm(&mut grads, 20.0).unwrap();
    assert_relative_eq!(norm, 13.0, max_relative = CLOSED_FORM_TOL);
    assert_eq!(grads, example());
}

#[test]
fn clips_the_gradients_of_the_language_model() {
    let config = Config {
        vocab_size: 5,
        context: 4,
        d_model: 8,
        n_heads: 2,
        n_layers: 1,
        d_ff: 16,
    };
    let model = Model::<f64>::new(config, 7).unwrap();
    let (_, mut grads) =
        model.loss_and_grads(&[0, 1, 2, 3], &[1, 2, 3, 4]).unwrap();
    let before = global_norm(&grads.params());
    let c = before / 4.0;
    let returned = clip_grad_norm(&mut grads, c).unwrap();
    assert_relative_eq!(returned, before, max_relative = CLOSED_FORM_TOL);
    assert_relative_eq!(
        global_norm(&grads.params()),
        c,
        max_relative = CLOSED_FORM_TOL
    );
}

#[test]
fn bad_max_norm_is_an_error() {
    for c in [0.0, -1.0, f64::INFINITY, f64::NAN] {
        let mut grads = example();
        assert!(
            matches!(clip_grad_norm(&mut grads, c), Err(Error::Domain { .. })),
            "c = {c}"
        );
    }
}
