//! Exercise 4.4: top-p (nucleus) sampling.
//!
//! Write [`top_p`]: keep the fewest most probable tokens of `q` whose
//! probabilities sum to at least `p` (the nucleus), set every other
//! probability to 0 and renormalize. The exercise page (chapter 4,
//! „Aufgaben“ / "Exercises") says more. Run
//! `cargo xtask exercise ch04-4` to test it.

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
/// `q` empty (`Error::Empty`), or `p` outside `(0, 1]`
/// (`Error::Domain`).
pub fn top_p(q: &DVector<f64>, p: f64) -> Result<DVector<f64>, Error> {
    todo!("exercise 4.4: top-p sampling")
}
