//! `cargo bench -p ch03-optimization`: one Adam step in f32 on one thread
//! over 10⁶ and 10⁷ parameters, the shapes that `bench/compare.py` also
//! times with PyTorch's fused Adam. Measurements, never test assertions.

use std::time::Duration;

#[path = "../../ch02-transformer/benches/support/cpu_time.rs"]
mod cpu_time;
use cpu_time::ThreadCpuTime;

use ch03_optimization::Optimizer;
use ch03_optimization::adam::{Adam, AdamConfig};
use criterion::{Criterion, criterion_group, criterion_main};
use nalgebra::DMatrix;

/// Parameters and gradients as one row of `n` entries each, with values
/// spread over a few orders of magnitude (no subnormal or zero gradients,
/// which some CPUs handle more slowly).
fn problem(n: usize) -> (Vec<DMatrix<f32>>, Vec<DMatrix<f32>>) {
    let p = DMatrix::from_fn(1, n, |_, j| ((j % 1000) as f32 - 500.0) * 1e-3);
    let g = DMatrix::from_fn(1, n, |_, j| ((j % 997) as f32 + 1.0) * 1e-4);
    (vec![p], vec![g])
}

fn bench_adam(c: &mut Criterion<ThreadCpuTime>) {
    let mut g = c.benchmark_group("adam");
    for (n, label) in [(1_000_000, "1e6"), (10_000_000, "1e7")] {
        let (mut params, grads) = problem(n);
        let mut adam = Adam::new(AdamConfig::pytorch()).unwrap();
        // The first step creates the state; time the steps after it.
        adam.step(&mut params, &grads).unwrap();
        g.bench_function(format!("readable/params={label}"), |b| {
            b.iter(|| adam.step(&mut params, &grads).unwrap())
        });
        g.bench_function(format!("fast/params={label}"), |b| {
            b.iter(|| adam.step_fast(&mut params, &grads).unwrap())
        });
    }
    g.finish();
}

/// A copy of 10⁷ f32 (40 MB read, 40 MB written): the measured memory
/// bandwidth that bounds the Adam step from below.
fn bench_copy(c: &mut Criterion<ThreadCpuTime>) {
    let mut g = c.benchmark_group("memory");
    let n = 10_000_000;
    let src = vec![1.0_f32; n];
    let mut dst = vec![0.0_f32; n];
    g.bench_function("copy/floats=1e7", |b| {
        b.iter(|| {
            dst.copy_from_slice(std::hint::black_box(&src));
            std::hint::black_box(&mut dst);
        })
    });
    g.finish();
}

fn config() -> Criterion<ThreadCpuTime> {
    Criterion::default()
        .with_measurement(ThreadCpuTime)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_adam, bench_copy
}
criterion_main!(benches);
