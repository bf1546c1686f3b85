//! Exercise 4.5: clipping the gradients by their global norm.
//!
//! Reference solution; the student's version is `stubs/ch04_5.rs`.

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
/// `max_norm` not a positive finite number.
// ANCHOR: clip_grad_norm
pub fn clip_grad_norm<P: Params<f64> + ?Sized>(
    grads: &mut P,
    max_norm: f64,
) -> Result<f64, Error> {
    if !(max_norm > 0.0 && max_norm.is_finite()) {
        return Err(Error::Domain {
            what: "max_norm",
            requirement: "0 < c < ∞",
            value: max_norm,
        });
    }
    let mut squares = 0.0;
    grads.visit_params(&mut |_, g| squares += g.norm_squared());
    let norm = squares.sqrt();
    if norm > max_norm {
        // One factor for all matrices keeps the direction of the step.
        let scale = max_norm / norm;
        grads.visit_params_mut(&mut |_, g| *g *= scale);
    }
    Ok(norm)
}
// ANCHOR_END: clip_grad_norm
