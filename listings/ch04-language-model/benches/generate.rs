//! `cargo bench -p ch04-language-model --bench generate`: generating text
//! with chapter 4's default model in f32 on one thread (V = 88, n_ctx =
//! 64, d_model = 64, h = 4, L = 2, d_ff = 256): as before the cache
//! (`before`: every token runs the book's `Model::forward` over its
//! window), without the KV cache (`generate_uncached`: every token reads
//! its window again with the fast layers) and with it (`generate`), for
//! 60 new tokens after a prompt of 4 (the window fills up to n_ctx = 64)
//! and for 300 (the program's default length; from the 61st token on the
//! window slides). The model is written to
//! `target/ch04-generate-bench.safetensors`, which `bench/compare.py`
//! loads into PyTorch (`reference/model.py`). Measurements, never test
//! assertions.

use std::path::PathBuf;
use std::time::Duration;

use ch04_language_model::checkpoint;
use ch04_language_model::corpus::Vocab;
use ch04_language_model::model::{Config, Model};
use ch04_language_model::sample::{
    generate, generate_uncached, next_distribution, sample_index,
};
use criterion::{Criterion, criterion_group, criterion_main};
use machine::cpu_time::{self, ThreadCpuTime};
use rand::Rng;

/// The sizes of the `train` command's defaults, with the vocabulary of
/// the book's prose (88 characters in the checkpoint of 2026-11-27).
const DEFAULT: Config = Config {
    vocab_size: 88,
    context: 64,
    d_model: 64,
    n_heads: 4,
    n_layers: 2,
    d_ff: 256,
};

/// Where `bench/compare.py` finds the model: the workspace's target
/// folder, or `CARGO_TARGET_DIR`.
fn checkpoint_path() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    target.join("ch04-generate-bench.safetensors")
}

/// `generate` as it was before the cache (commit 4091250).
fn generate_before(model: &Model<f32>, prompt: &[usize], n_new: usize) {
    let mut rng = ch02_transformer::random::rng(0);
    let mut tokens = prompt.to_vec();
    for _ in 0..n_new {
        let start = tokens.len().saturating_sub(model.config.context);
        let cache = model.forward(&tokens[start..]).unwrap();
        let last = cache.logits.row(cache.logits.nrows() - 1).transpose();
        let q = next_distribution(&last, 0.8, None).unwrap();
        let u: f64 = rng.random();
        tokens.push(sample_index(&q, u));
    }
}

fn bench_generate(c: &mut Criterion<ThreadCpuTime>) {
    let model = Model::<f32>::new(DEFAULT, 3).unwrap();
    // Any 88 distinct characters: the speed does not depend on the text.
    let chars: String = (0..DEFAULT.vocab_size as u32)
        .map(|i| char::from_u32(0x21 + i).unwrap())
        .collect();
    let vocab = Vocab::from_text(&chars).unwrap();
    checkpoint::save(&checkpoint_path(), &model, &vocab).unwrap();
    let prompt = [0, 1, 2, 3];
    let mut g = c.benchmark_group("generate");
    for n_new in [60, 300] {
        g.bench_function(format!("before/{n_new}"), |b| {
            b.iter(|| generate_before(&model, &prompt, n_new))
        });
        g.bench_function(format!("uncached/{n_new}"), |b| {
            b.iter(|| {
                generate_uncached(&model, &prompt, n_new, 0.8, None, 0).unwrap()
            })
        });
        g.bench_function(format!("cached/{n_new}"), |b| {
            b.iter(|| generate(&model, &prompt, n_new, 0.8, None, 0).unwrap())
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = cpu_time::config()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = bench_generate
}
criterion_main!(benches);
