//! Exercise 3.8 / Aufgabe 3.8: clipping gradients by their global norm.
//!
//! Before an optimizer's step, large gradients are often scaled down so
//! that the norm of *all* gradients together is at most `c`
//! (PyTorch: `torch.nn.utils.clip_grad_norm_`):
//!
//! ```text
//! ‖g‖ = √(Σ_matrices Σ_entries g²),   g ← g · c / ‖g‖   if ‖g‖ > c
//! ```
//!
//! Every matrix is scaled by the same factor, so the direction of the
//! whole gradient is kept; gradients with `‖g‖ ≤ c` stay as they are,
//! bit for bit. Return `‖g‖` before clipping (to log it). Refuse a `c`
//! that is not a positive finite number, and gradients with a NaN or an
//! infinite entry, without changing anything.

use nalgebra::DMatrix;
use notation::{Error, Params, ParamsExt};

/// Scales all gradient matrices in `grads` by one factor so that their
/// global norm is at most `max_norm`; returns the norm before.
///
/// # Errors
/// `max_norm` is not in `(0, ∞)` ([`Error::Domain`]); `grads` has no
/// matrices ([`Error::Empty`]); an entry is NaN or infinite
/// ([`Error::NotFinite`]).
pub fn clip_grad_norm(
    grads: &mut dyn Params<f64>,
    max_norm: f64,
) -> Result<f64, Error> {
    todo!("the global norm, then one common factor if it exceeds max_norm")
}
