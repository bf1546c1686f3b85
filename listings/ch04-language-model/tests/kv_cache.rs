//! The KV cache (4.7): the logits of full recomputation at every
//! position, the text of full recomputation for every seed, the sliding
//! window beyond `n_ctx`, and clear errors for bad input.

use ch04_language_model::kv_cache::KvCache;
use ch04_language_model::model::{Config, Model};
use ch04_language_model::sample::{
    generate, generate_uncached, next_distribution, sample_index,
};
use nalgebra::{DMatrix, DVector};
use notation::Real;
use rand::Rng;

/// f64: the cache computes the same sums as the full pass, but a query
/// row times `Kᵀ` alone instead of inside the product of whole matrices,
/// so the order of additions may differ: a few ulps (1.1e-16) of the
/// logits, which are of order 1 to 10.
const F64_TOL: f64 = 1e-12;
/// f32 (the program's type): the same reordering with ulps of 6e-8,
/// through 2 blocks of sums over up to d_ff = 32 terms; relative to the
/// largest logit.
const F32_TOL: f64 = 1e-5;

/// Two blocks and two heads, a context short enough to slide often in a
/// test.
const SMALL: Config = Config {
    vocab_size: 11,
    context: 9,
    d_model: 8,
    n_heads: 2,
    n_layers: 2,
    d_ff: 32,
};

/// `generate` as it was before the cache (the code of commit 4091250):
/// every token runs the book's [`Model::forward`] over its window.
fn generate_before<T: Real>(
    model: &Model<T>,
    prompt: &[usize],
    n_new: usize,
    temperature: T,
    top_k: Option<usize>,
    seed: u64,
) -> Vec<usize> {
    let mut rng = ch02_transformer::random::rng(seed);
    let mut tokens = prompt.to_vec();
    for _ in 0..n_new {
        let start = tokens.len().saturating_sub(model.config.context);
        let cache = model.forward(&tokens[start..]).unwrap();
        let last = cache.logits.row(cache.logits.nrows() - 1).transpose();
        let q = next_distribution(&last, temperature, top_k).unwrap();
        let u: f64 = rng.random();
        tokens.push(sample_index(&q, u));
    }
    tokens
}

fn random_tokens(n: usize, v: usize, seed: u64) -> Vec<usize> {
    let mut rng = ch02_transformer::random::rng(seed);
    (0..n).map(|_| rng.random_range(0..v)).collect()
}

/// The largest difference of `a` and `b`, relative to the largest entry
/// of `b` (at least 1).
fn rel_diff<T: Real>(a: &DVector<T>, b: &DVector<T>) -> f64 {
    let scale = b.iter().fold(1.0_f64, |m, &x| m.max(x.into().abs()));
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (x.into() - y.into()).abs())
        .fold(0.0, f64::max)
        / scale
}

/// Reads `tokens` one by one into the cache and compares every logit
/// vector with the last row of the full forward pass over the prefix.
fn cached_against_full<T: Real>(model: &Model<T>, tokens: &[usize]) -> f64 {
    let mut cache = KvCache::new(model);
    let mut worst = 0.0_f64;
    for t in 0..tokens.len() {
        let z = model.forward_cached(&mut cache, tokens[t]).unwrap();
        let full = model.forward(&tokens[..=t]).unwrap().logits;
        let z_full = full.row(t).transpose();
        worst = worst.max(rel_diff(&z, &z_full));
        assert_eq!(cache.len(), t + 1);
    }
    worst
}

#[test]
fn cached_logits_equal_full_recomputation_at_every_position() {
    for seed in 0..4 {
        let tokens = random_tokens(SMALL.context, SMALL.vocab_size, seed);
        let model = Model::<f64>::new(SMALL, seed).unwrap();
        let err = cached_against_full(&model, &tokens);
        assert!(err < F64_TOL, "f64, seed {seed}: {err:e}");
        let model = Model::<f32>::new(SMALL, seed).unwrap();
        let err = cached_against_full(&model, &tokens);
        assert!(err < F32_TOL, "f32, seed {seed}: {err:e}");
    }
}

#[test]
fn cached_logits_are_exact_for_sizes_off_the_vector_width() {
    // d_k = 3 and d_model = 6 (not multiples of the 4 columns and 8
    // lanes the row products take at a time), d_ff = 30, V = 13: every
    // remainder path of the one-row kernels.
    let odd = Config {
        vocab_size: 13,
        context: 11,
        d_model: 6,
        n_heads: 2,
        n_layers: 3,
        d_ff: 30,
    };
    let tokens = random_tokens(odd.context, odd.vocab_size, 7);
    let model = Model::<f64>::new(odd, 7).unwrap();
    let err = cached_against_full(&model, &tokens);
    assert!(err < F64_TOL, "f64: {err:e}");
    // `prefill` of every window length, short (token by token) and long
    // (the fast layers, the last block for the last row alone).
    let mut cache = KvCache::new(&model);
    for n in 1..=odd.context {
        let z = model.prefill(&mut cache, &tokens[..n]).unwrap();
        let full = model.forward(&tokens[..n]).unwrap().logits;
        let err = rel_diff(&z, &full.row(n - 1).transpose());
        assert!(err < F64_TOL, "prefill of {n} tokens: {err:e}");
    }
    let model = Model::<f32>::new(odd, 7).unwrap();
    let err = cached_against_full(&model, &tokens);
    assert!(err < F32_TOL, "f32: {err:e}");
}

#[test]
fn prefill_keeps_the_keys_and_values_of_the_forward_pass() {
    let model = Model::<f64>::new(SMALL, 5).unwrap();
    let tokens = random_tokens(6, SMALL.vocab_size, 5);
    let mut cache = KvCache::new(&model);
    let z = model.prefill(&mut cache, &tokens).unwrap();
    let full = model.forward(&tokens).unwrap();
    assert_eq!(cache.len(), 6);
    // The fast layers sum in another order than the book's: rounding.
    let close = |a: DMatrix<f64>, b: &DMatrix<f64>, what: &str| {
        let err = (a - b).amax();
        assert!(err < F64_TOL, "{what}: {err:e}");
    };
    for (l, block) in full.blocks.iter().enumerate() {
        close(
            cache.keys(l),
            &block.attention.k,
            &format!("K of block {l}"),
        );
        close(cache.values(l), &block.attention.v, &format!("V of {l}"));
    }
    assert!(rel_diff(&z, &full.logits.row(5).transpose()) < F64_TOL);
    // Token by token, the cache holds the same keys and values.
    let mut one_by_one = KvCache::new(&model);
    for &x in &tokens {
        model.forward_cached(&mut one_by_one, x).unwrap();
    }
    for l in 0..SMALL.n_layers {
        close(cache.keys(l), &one_by_one.keys(l), &format!("K, {l}"));
        close(cache.values(l), &one_by_one.values(l), &format!("V, {l}"));
    }
    // A new prefill starts from an empty cache.
    model.prefill(&mut cache, &tokens[..2]).unwrap();
    assert_eq!(cache.len(), 2);
    let two = model.forward(&tokens[..2]).unwrap();
    close(
        cache.keys(1),
        &two.blocks[1].attention.k,
        "K after 2 tokens",
    );
}

#[test]
fn generate_with_the_cache_writes_the_text_of_before() {
    // Prompts shorter and longer than n_ctx = 9, and enough new tokens
    // for the window to slide many times; the text of the code before
    // the cache, of `generate` and of `generate_uncached`.
    for seed in 0..6 {
        let n = 1 + 3 * seed as usize;
        let prompt = random_tokens(n, SMALL.vocab_size, seed);
        let model = Model::<f64>::new(SMALL, seed).unwrap();
        for top_k in [None, Some(3)] {
            let before = generate_before(&model, &prompt, 40, 0.8, top_k, seed);
            let cached = generate(&model, &prompt, 40, 0.8, top_k, seed);
            let uncached =
                generate_uncached(&model, &prompt, 40, 0.8, top_k, seed);
            let what = format!("f64, seed {seed}, top-k {top_k:?}");
            assert_eq!(cached.unwrap(), before, "{what}");
            assert_eq!(uncached.unwrap(), before, "{what}");
        }
        let model = Model::<f32>::new(SMALL, seed).unwrap();
        let before = generate_before(&model, &prompt, 40, 1.0, None, seed);
        let cached = generate(&model, &prompt, 40, 1.0, None, seed).unwrap();
        assert_eq!(cached, before, "f32, seed {seed}");
    }
}

#[test]
fn beyond_n_ctx_only_the_last_n_ctx_tokens_count() {
    let model = Model::<f64>::new(SMALL, 2).unwrap();
    let n_ctx = SMALL.context;
    // A prompt of 3 n_ctx tokens continues as its last n_ctx tokens do:
    // the same random numbers, the same window, the same text.
    let long = random_tokens(3 * n_ctx, SMALL.vocab_size, 8);
    let a = generate(&model, &long, 30, 0.8, None, 4).unwrap();
    let b = generate(&model, &long[2 * n_ctx..], 30, 0.8, None, 4).unwrap();
    assert_eq!(a[3 * n_ctx..], b[n_ctx..]);
    // The cache itself refuses an (n_ctx + 1)-th token; the window has
    // to be read again (`prefill`), and a longer one is refused.
    let mut cache = KvCache::new(&model);
    model.prefill(&mut cache, &long[..n_ctx]).unwrap();
    let e = model.forward_cached(&mut cache, 0).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "KV cache: expected at most n_ctx = {n_ctx} tokens, got a \
             token at position {n_ctx}"
        )
    );
    assert!(model.prefill(&mut cache, &long[..n_ctx + 1]).is_err());
}

#[test]
fn bad_input_is_refused_with_a_clear_message() {
    let model = Model::<f32>::new(SMALL, 1).unwrap();
    let e = generate(&model, &[], 5, 1.0, None, 0).unwrap_err();
    assert!(e.to_string().contains("prompt is empty"), "{e}");
    // A token outside the vocabulary, even far before the window and
    // even when nothing is to be generated.
    let mut prompt = vec![0; 3 * SMALL.context];
    prompt[2] = 11;
    for n_new in [0, 5] {
        let e = generate(&model, &prompt, n_new, 1.0, None, 0).unwrap_err();
        assert_eq!(
            e.to_string(),
            "prompt: expected indices below V = 11, got 11 at position 2"
        );
    }
    let mut cache = KvCache::new(&model);
    let e = model.forward_cached(&mut cache, 11).unwrap_err();
    assert!(e.to_string().contains("an index below V = 11"), "{e}");
    assert!(cache.is_empty(), "a refused token leaves the cache alone");
    // A cache made for another model.
    let other = Model::<f32>::new(
        Config {
            d_model: 4,
            ..SMALL
        },
        1,
    )
    .unwrap();
    let mut wrong = KvCache::new(&other);
    let e = model.forward_cached(&mut wrong, 0).unwrap_err();
    assert_eq!(
        e.to_string(),
        "KV cache: expected a cache made by KvCache::new for this model, \
         got the cache of another model"
    );
    // Even one of a model with the same sizes and weights.
    let twin = model.clone();
    let mut twins = KvCache::new(&twin);
    assert!(model.forward_cached(&mut twins, 0).is_err());
}

#[test]
fn the_cache_holds_two_rows_of_d_k_per_block_head_and_token() {
    let model = Model::<f32>::new(SMALL, 1).unwrap();
    let cache = KvCache::new(&model);
    let d_k = SMALL.d_model / SMALL.n_heads;
    let per = SMALL.n_layers * SMALL.n_heads * SMALL.context;
    assert_eq!(cache.capacity(), SMALL.context);
    assert_eq!(cache.n_entries(), per * 2 * d_k);
}
