//! The conventions of the book, stated once for all listings.
//!
//! The notation page of the book (`src/de/notation.md`,
//! `src/en/notation.md`) says the same in prose:
//!
//! - A sample or a token is a **row**. A sequence of `n` tokens with `d`
//!   features each is a matrix `X` with shape `(n, d)`.
//! - A linear layer is `y = x W + b` with `W` of shape `(in, out)`, so that
//!   `Y = X W + 1 b` maps every row at once; queries are `Q = X W_Q`.
//! - Identifiers mirror the symbols of the book: `w_q` for `W_Q`, `d_k` for
//!   `d_k`, `n_heads` for `h`.
//! - Probabilities and logits are column vectors `DVector<T>` when there is
//!   one distribution, and rows of a `DMatrix<T>` when there are many.
//!
//! Every listing reports bad input through [`Error`], with a message that
//! names the argument and what was wrong, instead of returning a silently
//! wrong number or panicking deep inside `nalgebra`.

pub mod params;

pub use params::{Params, ParamsExt};

/// Why a listing refused its input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// An argument that must hold at least one element was empty.
    #[error("{what} is empty; it needs at least one element")]
    Empty {
        /// The argument, in words (`"logits z"`).
        what: &'static str,
    },
    /// An argument has the wrong shape.
    #[error("{what}: expected {expected}, got {got}")]
    Shape {
        /// The argument, in words.
        what: &'static str,
        /// The shape that was expected (`"4 columns"`).
        expected: String,
        /// The shape that was given (`"3 columns"`).
        got: String,
    },
    /// An entry is NaN or infinite where that is not allowed.
    #[error("{what}: entry {index} is {value}, which is not allowed here")]
    NotFinite {
        /// The argument, in words.
        what: &'static str,
        /// The position of the first offending entry.
        index: usize,
        /// The entry itself.
        value: f64,
    },
    /// A value is outside the domain of the formula.
    #[error("{what} = {value}, but it must satisfy {requirement}")]
    Domain {
        /// The argument, in words.
        what: &'static str,
        /// The condition it must meet (`"T > 0"`).
        requirement: &'static str,
        /// The value that was given.
        value: f64,
    },
    /// The entries of a distribution do not sum to 1.
    #[error(
        "{what}: entries sum to {got}, but a distribution sums to 1 \
         (within {tolerance:.1e})"
    )]
    Sum {
        /// The argument, in words.
        what: &'static str,
        /// The sum of its entries.
        got: f64,
        /// How far from 1 the sum may be.
        tolerance: f64,
    },
    /// An index (a class, a token, a sample) is outside its range.
    #[error("{what}: expected {expected}, got {got}")]
    Index {
        /// The argument, in words.
        what: &'static str,
        /// The range it must lie in (`"indices below V = 5"`).
        expected: String,
        /// The index that was given, with its position (`"y_3 = 7"`).
        got: String,
    },
    /// Settings that do not fit together (a number of heads that does not
    /// divide the model width).
    #[error("{what}: expected {expected}, got {got}")]
    Config {
        /// The setting, in words.
        what: &'static str,
        /// What it must be (`"a divisor of d_model = 8"`).
        expected: String,
        /// What it was.
        got: String,
    },
    /// A library that a listing compares itself with failed.
    #[error("{what} failed: {reason}")]
    Failed {
        /// The library and its function.
        what: &'static str,
        /// Its own message.
        reason: String,
    },
}

/// The scalar type of the listings: `f64` for the book and its reference
/// tests, `f32` where speed matters. Every `Real` converts losslessly to
/// `f64`, which the error messages use.
pub trait Real: nalgebra::RealField + Copy + Into<f64> {}

impl<T: nalgebra::RealField + Copy + Into<f64>> Real for T {}

/// The number `x` as the scalar type `T` of a listing: the one way the
/// listings write a literal (`lit::<T>(0.5)`) or turn a count into a
/// scalar (`lit::<T>(n as f64)`). Rounds to the nearest `T`; exact for
/// `f64` and for counts below 2²⁴ in `f32`.
#[inline(always)]
pub fn lit<T: Real>(x: f64) -> T {
    nalgebra::convert(x)
}

pub mod shape;

// The nalgebra of the listings, for users of this crate and of the
// chapters.
pub use nalgebra;
