//! Listings of chapter 3, „Optimierungsalgorithmen“ / "Optimization
//! algorithms".
//!
//! One module per formula family. Every optimizer implements the one
//! interface [`Optimizer`]: a configuration struct with documented
//! defaults, per-parameter state that is created at the first step, and
//! `step(&mut params, &grads)`. Parameters are anything that lists its
//! matrices through [`Params`]: a list of matrices (a weight matrix `W` of
//! shape `(in, out)` and a bias row `b` of shape `(1, out)`, say), a
//! single matrix, a layer of chapter 2 or a whole model; a single vector
//! is a matrix with one row.
//!
//! Each public function's documentation names the formula it implements by
//! its number in the book.

pub mod adagrad;
pub mod adam;
pub mod optimizer;
pub mod quadratic;
pub mod regression;
pub mod rmsprop;
pub mod rosenbrock;
pub mod schedule;
pub mod sgd;

// The nalgebra of the listings, so that a user of this crate need not
// pin the same version.
pub use nalgebra;
pub use notation::{Error, Params, ParamsExt, Real, lit};
pub use optimizer::{Epsilon, Optimizer};
