//! Seeded random matrices for tests and figures.
//!
//! The generator is ChaCha8 with a fixed seed, so every run (and every
//! build of the book's figures) sees the same numbers.

use nalgebra::DMatrix;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// A reproducible random number generator.
pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// A `(rows, cols)` matrix of independent N(0, σ²) entries.
pub fn normal(
    rng: &mut ChaCha8Rng,
    rows: usize,
    cols: usize,
    sigma: f64,
) -> DMatrix<f64> {
    DMatrix::from_fn(rows, cols, |_, _| {
        let z: f64 = StandardNormal.sample(rng);
        sigma * z
    })
}
