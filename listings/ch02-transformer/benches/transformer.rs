//! `cargo bench -p ch02-transformer`: the forward passes of chapter 2 in
//! f32 on one thread, at the shapes that `bench/compare.py` also times in
//! PyTorch and NumPy. The results are measurements, never test assertions.
//! Times are the CPU time of the benchmark's thread (see `machine::cpu_time`).
//!
//! Benchmark ids are `group/variant/shape`; `bench/compare.py` reads them
//! from criterion's `estimates.json` files. Built with `--features blas`,
//! the fast variants are timed as `fast_blas` (their large products go to
//! OpenBLAS, on one thread) and the readable ones, which that feature does
//! not change, are skipped.

use std::time::Duration;

use machine::cpu_time::{self, ThreadCpuTime};

use ch02_transformer::attention::{
    attention_backward_fast, attention_fast, attention_output,
    attention_output_fast,
};
use ch02_transformer::blocked::{
    attention_blocked_backward_fast, attention_blocked_fast,
};
use ch02_transformer::ffn::{Activation, FeedForward};
use ch02_transformer::gemm;
use ch02_transformer::layer_norm::LayerNorm;
use ch02_transformer::linear::Linear;
use ch02_transformer::mask::causal_mask;
use ch02_transformer::multihead::MultiHeadAttention;
use ch02_transformer::random::{normal, rng};
use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use nalgebra::DMatrix;

/// A seeded `(rows, cols)` matrix of N(0, σ²) entries in f32.
fn randn(seed: u64, rows: usize, cols: usize, sigma: f64) -> DMatrix<f32> {
    normal(&mut rng(seed), rows, cols, sigma).map(|x| x as f32)
}

/// A linear layer `d_in → d_out` with the usual 1/√d_in scale.
fn linear(seed: u64, d_in: usize, d_out: usize) -> Linear<f32> {
    let w = randn(seed, d_in, d_out, 1.0 / (d_in as f64).sqrt());
    let b = randn(seed + 1, d_out, 1, 0.1).transpose();
    Linear::new(w, b).unwrap()
}

const D_K: usize = 64;

/// The variant name of the fast forms in this build.
const FAST: &str = if cfg!(feature = "blas") {
    "fast_blas"
} else {
    "fast"
};

/// Whether this build times the readable forms too (not with `blas`).
const READABLE: bool = !cfg!(feature = "blas");

/// `A B` of two `n × n` matrices, f32 and f64: nalgebra's `&a * &b` in the
/// default build, `gemm::matmul` (OpenBLAS) with the `blas` feature.
fn bench_gemm(c: &mut Criterion<ThreadCpuTime>) {
    let mut g = c.benchmark_group("gemm");
    let backend = if cfg!(feature = "blas") {
        "openblas"
    } else {
        "nalgebra"
    };
    for n in [128, 512, 1024] {
        let (a, b) = (randn(40, n, n, 1.0), randn(41, n, n, 1.0));
        let (a64, b64) = (a.map(f64::from), b.map(f64::from));
        g.bench_function(format!("{backend}/f32,n={n}"), |bench| {
            bench.iter(|| gemm::matmul(&a, &b))
        });
        g.bench_function(format!("{backend}/f64,n={n}"), |bench| {
            bench.iter(|| gemm::matmul(&a64, &b64))
        });
    }
    g.finish();
}

fn bench_attention(c: &mut Criterion<ThreadCpuTime>) {
    let mut g = c.benchmark_group("attention");
    for n in [128, 512, 1024] {
        let q = randn(1, n, D_K, 1.0);
        let k = randn(2, n, D_K, 1.0);
        let v = randn(3, n, D_K, 1.0);
        let mask = causal_mask::<f32>(n).unwrap();
        if READABLE {
            g.bench_function(format!("readable/n={n}"), |b| {
                b.iter(|| attention_output(&q, &k, &v, None).unwrap())
            });
            g.bench_function(format!("readable_causal/n={n}"), |b| {
                b.iter(|| attention_output(&q, &k, &v, Some(&mask)).unwrap())
            });
        }
        g.bench_function(format!("{FAST}/n={n}"), |b| {
            b.iter(|| attention_output_fast(&q, &k, &v, None).unwrap())
        });
        g.bench_function(format!("{FAST}_causal/n={n}"), |b| {
            b.iter(|| attention_output_fast(&q, &k, &v, Some(&mask)).unwrap())
        });
    }
    g.finish();
}

/// Queries and keys per block of the fused attention (`attention_blocked`
/// and `bench/compare.py` use the same).
const BLOCK: usize = 128;

/// Fused (blocked) attention against the unfused fast attention, forward
/// and forward + backward, `d_k = 64`, with and without the causal mask.
/// At n = 16384 the unfused forward + backward is left out: it holds four
/// `n × n` matrices (S, P, ∂L/∂P, ∂L/∂S), 4 GiB in f32. At n = 16384 a
/// call takes about a second, so each of the ten samples there is one
/// call (flat sampling) and the six timings of that size stay within
/// about two and a half minutes.
fn bench_attention_blocked(c: &mut Criterion<ThreadCpuTime>) {
    let mut g = c.benchmark_group("attention_blocked");
    for n in [1024, 4096, 16384] {
        if n > 4096 {
            g.sampling_mode(SamplingMode::Flat)
                .sample_size(10)
                .warm_up_time(Duration::from_millis(1))
                .measurement_time(Duration::from_secs(1));
        }
        let q = randn(1, n, D_K, 1.0);
        let k = randn(2, n, D_K, 1.0);
        let v = randn(3, n, D_K, 1.0);
        let d_out = randn(4, n, D_K, 1.0);
        let mask = causal_mask::<f32>(n).unwrap();
        for (variant, m) in [("", None), ("causal_", Some(&mask))] {
            g.bench_function(format!("{FAST}_fused_{variant}n={n}"), |b| {
                b.iter(|| attention_blocked_fast(&q, &k, &v, m, BLOCK).unwrap())
            });
            g.bench_function(
                format!("{FAST}_fused_fwd_bwd_{variant}n={n}"),
                |b| {
                    b.iter(|| {
                        let f = attention_blocked_fast(&q, &k, &v, m, BLOCK)
                            .unwrap();
                        attention_blocked_backward_fast(
                            &q, &k, &v, m, &f, &d_out, BLOCK,
                        )
                        .unwrap()
                    })
                },
            );
            g.bench_function(format!("{FAST}_unfused_{variant}n={n}"), |b| {
                b.iter(|| attention_output_fast(&q, &k, &v, m).unwrap())
            });
            if n <= 4096 {
                let id = format!("{FAST}_unfused_fwd_bwd_{variant}n={n}");
                g.bench_function(id, |b| {
                    b.iter(|| {
                        let f = attention_fast(&q, &k, &v, m).unwrap();
                        attention_backward_fast(&q, &k, &v, &f, &d_out).unwrap()
                    })
                });
            }
        }
    }
    g.finish();
}

const N: usize = 512;
const D_MODEL: usize = 512;

fn bench_multihead(c: &mut Criterion<ThreadCpuTime>) {
    let mut g = c.benchmark_group("multihead");
    let mha = MultiHeadAttention::new(
        8,
        linear(10, D_MODEL, D_MODEL),
        linear(12, D_MODEL, D_MODEL),
        linear(14, D_MODEL, D_MODEL),
        linear(16, D_MODEL, D_MODEL),
    )
    .unwrap();
    let x = randn(18, N, D_MODEL, 1.0);
    if READABLE {
        g.bench_function("readable/n=512,d=512,h=8", |b| {
            b.iter(|| mha.output(&x, &x, None).unwrap())
        });
    }
    g.bench_function(format!("{FAST}/n=512,d=512,h=8"), |b| {
        b.iter(|| mha.output_fast(&x, &x, None).unwrap())
    });
    g.finish();
}

fn bench_ffn(c: &mut Criterion<ThreadCpuTime>) {
    let mut g = c.benchmark_group("ffn");
    let ffn = FeedForward::new(
        linear(20, D_MODEL, 4 * D_MODEL),
        linear(22, 4 * D_MODEL, D_MODEL),
        Activation::Relu,
    )
    .unwrap();
    let x = randn(24, N, D_MODEL, 1.0);
    if READABLE {
        g.bench_function("readable/n=512,512-2048-512", |b| {
            b.iter(|| ffn.forward(&x).unwrap())
        });
    }
    g.bench_function(format!("{FAST}/n=512,512-2048-512"), |b| {
        b.iter(|| ffn.forward_fast(&x).unwrap())
    });
    g.finish();
}

fn bench_layer_norm(c: &mut Criterion<ThreadCpuTime>) {
    let mut g = c.benchmark_group("layer_norm");
    let ln = LayerNorm::new(
        randn(30, D_MODEL, 1, 1.0).transpose(),
        randn(31, D_MODEL, 1, 1.0).transpose(),
        1e-5,
    )
    .unwrap();
    let x = randn(32, N, D_MODEL, 1.0);
    if READABLE {
        g.bench_function("readable/n=512,d=512", |b| {
            b.iter(|| ln.forward(&x).unwrap())
        });
    }
    g.bench_function(format!("{FAST}/n=512,d=512"), |b| {
        b.iter(|| ln.forward_fast(&x).unwrap())
    });
    g.finish();
}

fn config() -> Criterion<ThreadCpuTime> {
    // One thread on both sides; the thread CPU time would not count the
    // time of OpenBLAS's other threads.
    #[cfg(feature = "blas")]
    gemm::set_blas_threads(1);
    cpu_time::config()
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_gemm, bench_attention, bench_attention_blocked,
        bench_multihead, bench_ffn, bench_layer_norm
}
criterion_main!(benches);
