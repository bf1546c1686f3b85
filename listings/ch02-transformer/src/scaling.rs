//! Why the scores are divided by √d_k: an experiment with random queries
//! and keys, measured rather than only derived.
//!
//! Book: section „Skalierte Skalarprodukt-Attention“ / "Scaled
//! dot-product attention" of chapter 2.

use ch01_probability::softmax::softmax_rows;
use nalgebra::DMatrix;
use notation::Error;

use crate::random;

/// What [`scaling_experiment`] measured for one `d_k`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScalingStats {
    /// The key width `d_k`.
    pub d_k: usize,
    /// Sample variance of `q · k` (expected: `d_k`).
    pub var_unscaled: f64,
    /// Sample variance of `q · k / √d_k` (expected: 1).
    pub var_scaled: f64,
    /// Mean over queries of the largest attention weight, without scaling.
    pub max_weight_unscaled: f64,
    /// The same with scaling.
    pub max_weight_scaled: f64,
}

// ANCHOR: dot_product_variance
/// Draws `n_queries` queries and `n_keys` keys with independent N(0, 1)
/// entries and measures the variance of their dot products, with and
/// without the factor `1/√d_k`, and how peaked the softmax of each
/// query's scores is.
///
/// ```text
/// E[q · k] = 0,   Var(q · k) = Σ_i E[q_i²] E[k_i²] = d_k          (2.3)
/// ```
///
/// # Book
/// Formel (2.3) in Kapitel 2, „Skalierte Skalarprodukt-Attention“ /
/// formula (2.3) in chapter 2, "Scaled dot-product attention".
///
/// # Errors
/// A size of 0, or fewer than 2 queries (a variance needs two samples).
pub fn scaling_experiment(
    d_k: usize,
    n_queries: usize,
    n_keys: usize,
    seed: u64,
) -> Result<ScalingStats, Error> {
    if d_k == 0 || n_keys == 0 || n_queries < 2 {
        return Err(Error::Empty {
            what: "scaling experiment (d_k, n_keys ≥ 1, n_queries ≥ 2)",
        });
    }
    let mut rng = random::rng(seed);
    let q = random::normal(&mut rng, n_queries, d_k, 1.0);
    let k = random::normal(&mut rng, n_keys, d_k, 1.0);
    let scores = &q * k.transpose();
    let scaled = &scores / (d_k as f64).sqrt();
    Ok(ScalingStats {
        d_k,
        var_unscaled: sample_variance(&scores),
        var_scaled: sample_variance(&scaled),
        max_weight_unscaled: mean_max_weight(&scores)?,
        max_weight_scaled: mean_max_weight(&scaled)?,
    })
}
// ANCHOR_END: dot_product_variance

/// The unbiased sample variance of all entries (mean subtracted first).
fn sample_variance(s: &DMatrix<f64>) -> f64 {
    let mean = s.mean();
    s.map(|x| (x - mean) * (x - mean)).sum() / (s.len() - 1) as f64
}

/// The mean over rows of the largest softmax weight of the row.
fn mean_max_weight(s: &DMatrix<f64>) -> Result<f64, Error> {
    let p = softmax_rows(s)?;
    Ok(p.row_iter().map(|row| row.max()).sum::<f64>() / p.nrows() as f64)
}
