//! `cargo bench -p ch04-language-model`: one training step of chapter 4's
//! model in f32 on one thread — 16 windows of 64 characters through
//! forward and backward, then one AdamW step, by the book's
//! `Trainer::step` and by `Trainer::step_fast` — with the sizes of the
//! `train` command's defaults (V = 87, n_ctx = 64, d_model = 64, h = 4,
//! L = 2, d_ff = 256). `bench/compare.py` times the same step in PyTorch.
//! Measurements, never test assertions.

use std::time::Duration;

use machine::cpu_time::{self, ThreadCpuTime};

use ch04_language_model::model::{Config, Model};
use ch04_language_model::train::{TrainConfig, Trainer};
use criterion::{Criterion, criterion_group, criterion_main};
use rand::Rng;

/// The vocabulary size of the book's German prose (chapter 4, "Results").
const V: usize = 87;

fn bench_train_step(c: &mut Criterion<ThreadCpuTime>) {
    let config = Config {
        vocab_size: V,
        context: 64,
        d_model: 64,
        n_heads: 4,
        n_layers: 2,
        d_ff: 256,
    };
    let model = Model::<f32>::new(config, 1).unwrap();
    // Many steps, so that the schedule never runs out while criterion
    // repeats the step; the speed does not depend on the learning rate.
    let train = TrainConfig {
        steps: usize::MAX / 2,
        ..TrainConfig::default()
    };
    let mut trainer = Trainer::new(model.clone(), train).unwrap();
    let mut fast = Trainer::new(model, train).unwrap();
    // Random characters: the speed does not depend on the text.
    let mut rng = ch02_transformer::random::rng(7);
    let data: Vec<usize> =
        (0..20_000).map(|_| rng.random_range(0..V)).collect();
    let mut g = c.benchmark_group("train_step");
    g.bench_function("readable/B=16,n=64,d=64,h=4,L=2,d_ff=256", |b| {
        b.iter(|| trainer.step(&data).unwrap())
    });
    g.bench_function("fast/B=16,n=64,d=64,h=4,L=2,d_ff=256", |b| {
        b.iter(|| fast.step_fast(&data).unwrap())
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = cpu_time::config()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = bench_train_step
}
criterion_main!(benches);
