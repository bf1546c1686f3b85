//! Count models of characters: unigram and bigram, fitted by maximum
//! likelihood with add-k (Laplace) smoothing. They are the baselines the
//! transformer has to beat.
//!
//! Book: section „Zählmodelle als Messlatte“ / "Count models as a
//! baseline" of chapter 4.

use ch01_probability::entropy::average_nll;
use nalgebra::{DMatrix, DVector};
use notation::Error;

/// Checks the tokens and the smoothing constant shared by both models.
fn check(tokens: &[usize], v: usize, k: f64) -> Result<(), Error> {
    if tokens.len() < 2 {
        return Err(Error::Empty {
            what: "tokens (at least 2 are needed)",
        });
    }
    if v == 0 {
        return Err(Error::Empty {
            what: "vocabulary (V characters)",
        });
    }
    if let Some(i) = tokens.iter().position(|&t| t >= v) {
        return Err(Error::Index {
            what: "tokens",
            expected: format!("indices below V = {v}"),
            got: format!("{} at position {i}", tokens[i]),
        });
    }
    if !(k >= 0.0 && k.is_finite()) {
        return Err(Error::Domain {
            what: "smoothing constant k",
            requirement: "0 ≤ k < ∞",
            value: k,
        });
    }
    Ok(())
}

/// A unigram model: every character is drawn independently from one
/// categorical distribution.
#[derive(Clone, Debug, PartialEq)]
pub struct Unigram {
    /// `P(c)` for each of the `V` characters.
    pub probs: DVector<f64>,
}

/// A bigram model: each character depends on the one before it.
#[derive(Clone, Debug, PartialEq)]
pub struct Bigram {
    /// Row `b` holds `P(c | b)` for each `c`; shape `(V, V)`.
    pub probs: DMatrix<f64>,
}

// ANCHOR: add_k
impl Unigram {
    /// Maximum likelihood with add-k smoothing: `k` imagined extra
    /// occurrences of every character.
    ///
    /// ```text
    /// P(c) = (n_c + k) / (N + k |𝒱|)                               (4.2)
    /// ```
    ///
    /// `n_c` counts character `c` among the `N` tokens, `|𝒱|` is the size
    /// of the vocabulary `𝒱`. `k = 0` is the plain maximum-likelihood estimate
    /// (1.6); `k = 1` is Laplace's rule of succession.
    ///
    /// # Shapes
    /// `tokens`: `N ≥ 2` indices below `v` → `V` probabilities.
    ///
    /// # Book
    /// Formel (4.2) in Kapitel 4, „Zählmodelle als Messlatte“ / formula
    /// (4.2) in chapter 4, "Count models as a baseline".
    ///
    /// # Errors
    /// Fewer than 2 tokens, a token `≥ v`, or `k` negative or not finite.
    pub fn fit(tokens: &[usize], v: usize, k: f64) -> Result<Self, Error> {
        check(tokens, v, k)?;
        let mut counts = DVector::<f64>::zeros(v);
        for &t in tokens {
            counts[t] += 1.0;
        }
        let n = tokens.len() as f64;
        Ok(Unigram {
            probs: counts.add_scalar(k) / (n + k * v as f64),
        })
    }
}

impl Bigram {
    /// Maximum likelihood of each conditional distribution, with add-k
    /// smoothing in every row.
    ///
    /// ```text
    /// P(c | b) = (n_bc + k) / (n_b + k V)                          (4.3)
    /// ```
    ///
    /// `n_bc` counts the pairs "`b` followed by `c`", `n_b = Σ_c n_bc`.
    /// With `k = 0` a character never seen before another gets
    /// probability 0 there, and a single such pair in the validation text
    /// makes its cross-entropy infinite; `k > 0` prevents that. A row
    /// whose `b` was never followed by anything (`n_b = 0`) is uniform
    /// for `k > 0` and, for `k = 0`, is set uniform too (no data, no
    /// preference).
    ///
    /// # Shapes
    /// `tokens`: `N ≥ 2` indices below `v` → `(V, V)` probabilities.
    ///
    /// # Book
    /// Formel (4.3) in Kapitel 4, „Zählmodelle als Messlatte“ / formula
    /// (4.3) in chapter 4, "Count models as a baseline".
    ///
    /// # Errors
    /// As [`Unigram::fit`].
    pub fn fit(tokens: &[usize], v: usize, k: f64) -> Result<Self, Error> {
        check(tokens, v, k)?;
        let mut counts = DMatrix::<f64>::zeros(v, v);
        for pair in tokens.windows(2) {
            counts[(pair[0], pair[1])] += 1.0;
        }
        for mut row in counts.row_iter_mut() {
            let n_b = row.sum();
            if n_b + k * v as f64 == 0.0 {
                row.fill(1.0 / v as f64);
            } else {
                row.add_scalar_mut(k);
                row /= n_b + k * v as f64;
            }
        }
        Ok(Bigram { probs: counts })
    }
}
// ANCHOR_END: add_k

// ANCHOR: baseline_cross_entropy
impl Unigram {
    /// The cross-entropy in nats per character of `tokens[1..]`: the
    /// average negative log-likelihood (1.14) of each character. The
    /// first character is skipped so that all models are scored on the
    /// same characters (the bigram needs a predecessor).
    ///
    /// # Errors
    /// Fewer than 2 tokens, or a token `≥ V`.
    pub fn cross_entropy(&self, tokens: &[usize]) -> Result<f64, Error> {
        check(tokens, self.probs.len(), 0.0)?;
        average_nll(&self.probs, &tokens[1..])
    }
}

impl Bigram {
    /// The cross-entropy in nats per character of `tokens[1..]`, each
    /// predicted from the one before it:
    /// `−(1/(N−1)) Σ_t log P(x_t | x_{t−1})`.
    ///
    /// # Errors
    /// Fewer than 2 tokens, or a token `≥ V`.
    pub fn cross_entropy(&self, tokens: &[usize]) -> Result<f64, Error> {
        check(tokens, self.probs.nrows(), 0.0)?;
        let sum: f64 = tokens
            .windows(2)
            .map(|p| -self.probs[(p[0], p[1])].ln())
            .sum();
        Ok(sum / (tokens.len() - 1) as f64)
    }
}
// ANCHOR_END: baseline_cross_entropy
