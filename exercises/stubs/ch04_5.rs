//! Exercise 4.5: clipping the gradients by their global norm.
//!
//! Write [`clip_grad_norm`]: compute the norm of all gradients together
//! (every entry of every matrix), and if it exceeds `max_norm`, scale
//! every matrix by the same factor so that the norm becomes `max_norm`.
//! Walk the matrices with `visit_params` and `visit_params_mut` of the
//! trait `Params`. The exercise page (chapter 4, „Aufgaben“ /
//! "Exercises") says more. Run `cargo xtask exercise ch04-5` to test it.

use notation::{Error, Params};

/// Scales all gradient matrices of `grads` by one common factor so that
/// their global norm is at most `max_norm`, and returns the global norm
/// before clipping.
///
/// ```text
/// ‖g‖ = sqrt(Σ_matrices Σ_entries g²),   g ← g · min(1, c / ‖g‖)
/// ```
///
/// # Errors
/// `max_norm` not a positive finite number (`Error::Domain`).
pub fn clip_grad_norm<P: Params<f64> + ?Sized>(
    grads: &mut P,
    max_norm: f64,
) -> Result<f64, Error> {
    todo!("exercise 4.5: clipping by the global norm")
}
