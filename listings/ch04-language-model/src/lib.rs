//! Listings of chapter 4, „Alles zusammen: ein kleines Sprachmodell“ /
//! "Putting it together: a small language model".
//!
//! A character-level language model trained on the German prose of this
//! book, assembled from the listings of the earlier chapters: the
//! softmax, cross-entropy and maximum-likelihood counts of chapter 1, the
//! transformer block with its backward pass of chapter 2, Adam(W) and the
//! warm-up schedule of chapter 3. What this crate adds is only what those
//! chapters do not have: the corpus, count baselines with smoothing, the
//! token embedding and its gradient, the whole model's parameter list,
//! the training loop, sampling with a key-value cache and checkpoints.

pub mod batch;
pub mod checkpoint;
pub mod corpus;
pub mod error;
pub mod kv_cache;
pub mod markdown;
pub mod model;
pub mod ngram;
pub mod sample;
pub mod train;

pub use error::LmError;
// The nalgebra of the listings, so that a user of this crate need not
// pin the same version.
pub use nalgebra;
pub use notation::{Error, Real, lit};
