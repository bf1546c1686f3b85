//! Exercise 4.4: top-p (nucleus) sampling.
//!
//! Reference solution; the student's version is `stubs/ch04_4.rs`.

use nalgebra::DVector;
use notation::Error;

/// The distribution `q` restricted to its nucleus: the fewest most
/// probable tokens whose probabilities sum to at least `p`, renormalized;
/// every other token gets probability 0.
///
/// ```text
/// q'_c = q_c / Σ_{c' ∈ N} q_{c'}  if c ∈ N,  else 0
/// ```
///
/// Tokens are taken in order of falling probability; among equal
/// probabilities the lower index comes first.
///
/// # Errors
/// `q` empty, or `p` outside `(0, 1]`.
// ANCHOR: top_p
pub fn top_p(q: &DVector<f64>, p: f64) -> Result<DVector<f64>, Error> {
    if q.is_empty() {
        return Err(Error::Empty { what: "q" });
    }
    if !(p > 0.0 && p <= 1.0) {
        return Err(Error::Domain {
            what: "top-p",
            requirement: "0 < p ≤ 1",
            value: p,
        });
    }
    // Indices by falling probability; a stable sort keeps ties in order.
    let mut order: Vec<usize> = (0..q.len()).collect();
    order.sort_by(|&a, &b| q[b].total_cmp(&q[a]));
    let mut out = DVector::zeros(q.len());
    let mut mass = 0.0;
    for &c in &order {
        out[c] = q[c];
        mass += q[c];
        if mass >= p {
            break;
        }
    }
    Ok(out / mass)
}
// ANCHOR_END: top_p
