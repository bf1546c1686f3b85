//! Generating text: the next character's distribution with a temperature
//! and top-k, sampled one character at a time.
//!
//! Book: section „Text erzeugen“ / "Generating text" of chapter 4.

use ch01_probability::softmax::softmax_with_temperature;
use nalgebra::DVector;
use notation::{Error, Real};
use rand::Rng;

use crate::kv_cache::KvCache;
use crate::model::Model;

// ANCHOR: next_distribution
/// The distribution of the next token from its logits `z`, with
/// temperature `T` (1.16) and, optionally, only the `k` largest logits.
///
/// ```text
/// q_c ∝ exp(z_c / T) if z_c is among the k largest, else q_c = 0   (4.6)
/// ```
///
/// Top-k sets the other logits to `−∞`, which the softmax of chapter 1
/// turns into probability 0. Ties at the `k`-th value are all kept.
///
/// # Shapes
/// `z`: `V` logits → `V` probabilities.
///
/// # Book
/// Formel (4.6) in Kapitel 4, „Text erzeugen“ / formula (4.6) in
/// chapter 4, "Generating text".
///
/// # Errors
/// `T` not a positive finite number, `k = 0`, or the softmax's errors.
pub fn next_distribution<T: Real>(
    z: &DVector<T>,
    temperature: T,
    top_k: Option<usize>,
) -> Result<DVector<T>, Error> {
    let mut z = z.clone();
    if let Some(k) = top_k {
        if k == 0 {
            return Err(Error::Domain {
                what: "top-k",
                requirement: "k ≥ 1",
                value: 0.0,
            });
        }
        if k < z.len() {
            let mut sorted: Vec<T> = z.iter().copied().collect();
            sorted.sort_by(|a, b| {
                b.partial_cmp(a).unwrap_or(std::cmp::Ordering::Equal)
            });
            let kth = sorted[k - 1];
            let minus_inf = T::min_value().unwrap() * (T::one() + T::one());
            z.apply(|z_c| {
                if *z_c < kth {
                    *z_c = minus_inf
                }
            });
        }
    }
    softmax_with_temperature(&z, temperature)
}
// ANCHOR_END: next_distribution

/// The index `c` with `F(c−1) ≤ u < F(c)`, `F` the cumulative sum of
/// `q`: a draw from `q` for `u` uniform in `[0, 1)` (inverse transform).
pub fn sample_index<T: Real>(q: &DVector<T>, u: f64) -> usize {
    let mut cumulative = 0.0;
    for (c, &q_c) in q.iter().enumerate() {
        cumulative += Into::<f64>::into(q_c);
        if u < cumulative {
            return c;
        }
    }
    // Rounding may leave the sum a hair below 1: take the last token
    // with positive probability.
    q.iter()
        .rposition(|&q_c| q_c > T::zero())
        .unwrap_or(q.len() - 1)
}

// ANCHOR: generate
/// Continues `prompt` by `n_new` tokens, each drawn from (4.6) given the
/// last `n_ctx` tokens: ancestral sampling from the factorization (4.1).
/// The same `seed` gives the same text.
///
/// The prompt is read in one pass; after that each new token costs one
/// row of work per block with the KV cache (4.7). When the window is full
/// and slides on by a token, every position changes, and with it every
/// cached key and value (the positional encodings are absolute): the
/// cache is then filled again from the new window.
///
/// # Book
/// Formel (4.7) in Kapitel 4, „Text erzeugen“ / formula (4.7) in
/// chapter 4, "Generating text".
///
/// # Errors
/// An empty prompt, a token `≥ V`, or the errors of
/// [`next_distribution`].
pub fn generate<T: Real>(
    model: &Model<T>,
    prompt: &[usize],
    n_new: usize,
    temperature: T,
    top_k: Option<usize>,
    seed: u64,
) -> Result<Vec<usize>, Error> {
    let n_ctx = model.config.context;
    let mut cache = KvCache::new(model);
    let sampling = (temperature, top_k, seed);
    sample_tokens(model, prompt, n_new, sampling, |tokens| {
        if cache.is_empty() || cache.len() == n_ctx {
            // The first window, or a window that slid: read it whole.
            let start = tokens.len().saturating_sub(n_ctx);
            model.prefill(&mut cache, &tokens[start..])
        } else {
            // One more token: one row of work per block.
            model.forward_cached(&mut cache, tokens[tokens.len() - 1])
        }
    })
}

/// The loop of ancestral sampling: `logits(tokens)` gives the logits of
/// the token after `tokens`, (4.6) its distribution with the
/// `(temperature, top_k, seed)` of `sampling`, and a draw from it is
/// appended, `n_new` times.
fn sample_tokens<T: Real>(
    model: &Model<T>,
    prompt: &[usize],
    n_new: usize,
    (temperature, top_k, seed): (T, Option<usize>, u64),
    mut logits: impl FnMut(&[usize]) -> Result<DVector<T>, Error>,
) -> Result<Vec<usize>, Error> {
    check_prompt(model, prompt)?;
    let mut rng = ch02_transformer::random::rng(seed);
    let mut tokens = prompt.to_vec();
    for _ in 0..n_new {
        let z = logits(&tokens)?;
        let q = next_distribution(&z, temperature, top_k)?;
        let u: f64 = rng.random();
        tokens.push(sample_index(&q, u));
    }
    Ok(tokens)
}
// ANCHOR_END: generate

/// [`generate`] without keeping the cache from one token to the next:
/// every token reads its whole window again ([`Model::prefill`], the
/// forward pass with chapter 2's fast layers). The same text for the
/// same seed; kept to time the cache against.
///
/// # Errors
/// Those of [`generate`].
pub fn generate_uncached<T: Real>(
    model: &Model<T>,
    prompt: &[usize],
    n_new: usize,
    temperature: T,
    top_k: Option<usize>,
    seed: u64,
) -> Result<Vec<usize>, Error> {
    let n_ctx = model.config.context;
    let mut cache = KvCache::new(model);
    let sampling = (temperature, top_k, seed);
    sample_tokens(model, prompt, n_new, sampling, |tokens| {
        let start = tokens.len().saturating_sub(n_ctx);
        model.prefill(&mut cache, &tokens[start..])
    })
}

/// A prompt holds at least one token, and every token is below `V`.
fn check_prompt<T: Real>(
    model: &Model<T>,
    prompt: &[usize],
) -> Result<(), Error> {
    if prompt.is_empty() {
        return Err(Error::Empty { what: "prompt" });
    }
    let v = model.config.vocab_size;
    if let Some(i) = prompt.iter().position(|&x| x >= v) {
        return Err(Error::Index {
            what: "prompt",
            expected: format!("indices below V = {v}"),
            got: format!("{} at position {i}", prompt[i]),
        });
    }
    Ok(())
}
