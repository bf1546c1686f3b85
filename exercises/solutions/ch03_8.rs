//! Exercise 3.8 / Aufgabe 3.8: clipping gradients by their global norm.
//!
//! Reference solution: one pass for the norm, a second for the scaling.

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
    if !(max_norm > 0.0 && max_norm.is_finite()) {
        return Err(Error::Domain {
            what: "max_norm c",
            requirement: "0 < c < ∞",
            value: max_norm,
        });
    }
    let mut matrices: Vec<&mut DMatrix<f64>> = grads.params_mut();
    if matrices.is_empty() {
        return Err(Error::Empty { what: "grads" });
    }
    let mut offset = 0;
    for g in &matrices {
        if let Some(k) = g.iter().position(|x| !x.is_finite()) {
            return Err(Error::NotFinite {
                what: "gradients (entries counted through all matrices)",
                index: offset + k,
                value: g[k],
            });
        }
        offset += g.len();
    }
    // The squares of entries around 1e200 overflow f64, those around
    // 1e-200 underflow; dividing by the largest magnitude first keeps
    // every square in [0, 1].
    let largest = matrices.iter().map(|g| g.amax()).fold(0.0_f64, f64::max);
    let norm = if largest == 0.0 {
        0.0
    } else {
        let sum: f64 = matrices
            .iter()
            .map(|g| g.iter().map(|x| (x / largest).powi(2)).sum::<f64>())
            .sum();
        largest * sum.sqrt()
    };
    if norm > max_norm {
        let factor = max_norm / norm;
        for g in matrices.iter_mut() {
            **g *= factor;
        }
    }
    Ok(norm)
}
