//! Listings of chapter 1, „Wahrscheinlichkeitsmodelle“ / "Probability
//! models".
//!
//! One module per formula family. Each public function's documentation
//! names the formula it implements by its number in the book.

pub mod check;
pub mod cross_entropy;
pub mod entropy;
pub mod iris;
pub mod likelihood;
pub mod mle;
pub mod regression;
pub mod softmax;

// The nalgebra of the listings, so that a user of this crate need not
// pin the same version.
pub use nalgebra;
pub use notation::{Error, Real, lit};
