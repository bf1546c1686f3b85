//! `cargo bench -p ch03-optimization`: one Adam step in f32 on one thread
//! over 10⁶ and 10⁷ parameters, the shapes that `bench/compare.py` also
//! times with PyTorch's fused Adam. Measurements, never test assertions.

use machine::cpu_time::{ThreadCpuTime, config};

use ch03_optimization::Optimizer;
use ch03_optimization::adam::{Adam, AdamConfig};
use criterion::{Criterion, criterion_group, criterion_main};
use nalgebra::DMatrix;

/// Parameters and gradients as one row of `n` entries each, with values
/// spread over a few orders of magnitude (no subnormal or zero gradients,
/// which some CPUs handle more slowly).
fn problem(n: usize) -> (Vec<DMatrix<f32>>, Vec<DMatrix<f32>>) {
    // In 2 MiB pages, like PyTorch's tensors and like the optimizer's own
    // state (see `machine::zeros_in_large_pages`).
    let mut p = machine::zeros_in_large_pages(1, n);
    let mut g = machine::zeros_in_large_pages(1, n);
    for (j, (p_j, g_j)) in p.iter_mut().zip(g.iter_mut()).enumerate() {
        *p_j = ((j % 1000) as f32 - 500.0) * 1e-3;
        *g_j = ((j % 997) as f32 + 1.0) * 1e-4;
    }
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
/// bandwidth that issue 9's bound for the Adam step uses; and two finer
/// measures of the same memory (see below).
fn bench_copy(c: &mut Criterion<ThreadCpuTime>) {
    let mut g = c.benchmark_group("memory");
    let n = 10_000_000;
    // In 2 MiB pages, as the Adam benchmark above.
    let large = |value: f32| {
        let mut m = machine::zeros_in_large_pages::<f32>(1, n);
        m.fill(value);
        m
    };
    let src = large(1.0);
    let mut dst = large(0.0);
    g.bench_function("copy/floats=1e7", |b| {
        b.iter(|| {
            dst.as_mut_slice()
                .copy_from_slice(std::hint::black_box(src.as_slice()));
            std::hint::black_box(&mut dst);
        })
    });
    // One read of 10⁷ floats, as the finiteness check of `step` and
    // `step_fast` makes over the gradients before anything changes.
    g.bench_function("read/floats=1e7", |b| {
        b.iter(|| {
            // Exponent bits all set: NaN or ±∞. Integer ORs vectorize.
            let src = std::hint::black_box(src.as_slice());
            src.iter().fold(0_u32, |acc, &x| {
                acc | u32::from((x.to_bits() >> 23) & 0xff == 0xff)
            })
        })
    });
    // The memory traffic of an Adam step without its arithmetic: read
    // four streams (θ, g, m, v), write three (θ, m, v), 28 bytes per
    // parameter, with one multiply-add each; in 2 MiB pages as above, and
    // once more in ordinary 4 KiB pages, to show what the page size is
    // worth.
    let (mut p, gr, mut m, mut v) = (large(1.0), large(1e-3), large(0.0), dst);
    g.bench_function("adam_traffic/floats=1e7", |b| {
        b.iter(|| traffic(&mut p, &gr, &mut m, &mut v))
    });
    let small = |value: f32| DMatrix::from_element(1, n, value);
    let (mut p, gr, mut m, mut v) =
        (small(1.0), small(1e-3), small(0.0), small(0.0));
    g.bench_function("adam_traffic_4k_pages/floats=1e7", |b| {
        b.iter(|| traffic(&mut p, &gr, &mut m, &mut v))
    });
    g.finish();
}

/// One pass with the memory traffic of an Adam step.
fn traffic(
    p: &mut DMatrix<f32>,
    gr: &DMatrix<f32>,
    m: &mut DMatrix<f32>,
    v: &mut DMatrix<f32>,
) {
    let gr = std::hint::black_box(gr.as_slice());
    let (p, m, v) = (p.as_mut_slice(), m.as_mut_slice(), v.as_mut_slice());
    for (((p, &g), m), v) in
        p.iter_mut().zip(gr).zip(m.iter_mut()).zip(v.iter_mut())
    {
        *m = *m * 0.5 + g;
        *v = *v * 0.5 + g;
        *p -= *m * *v;
    }
    std::hint::black_box((p, m, v));
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_adam, bench_copy
}
criterion_main!(benches);
