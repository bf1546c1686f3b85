//! Peak memory of attention, fused (`attention_blocked_fast`) and unfused
//! (`attention_fast`, and `attention_fast_cached` with
//! `attention_backward_fast` for the backward pass), measured by a
//! counting global allocator: the most bytes live at once during the call,
//! beyond its arguments (`Q`, `K`, `V`, the mask, `∂L/∂O`), in f32.
//! `bench/compare.py` runs it for its table; one JSON object per line.
//!
//! ```console
//! cargo run --release -p ch02-transformer --example attention_memory -- 4096 [--causal] [--no-unfused-backward]
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use ch02_transformer::attention::{
    attention_backward_fast, attention_fast, attention_output_fast,
};
use ch02_transformer::blocked::{
    attention_blocked_backward_fast, attention_blocked_fast,
};
use ch02_transformer::mask::causal_mask;
use ch02_transformer::random::{normal, rng};
use nalgebra::DMatrix;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

struct Counting;

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counters only observe. The program runs on one thread.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live =
            LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The most bytes live at once while `f` runs, beyond those live before
/// (its result included).
fn peak_of<R>(f: impl FnOnce() -> R) -> usize {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let result = f();
    let peak = PEAK.load(Ordering::Relaxed) - before;
    drop(result);
    peak
}

/// Queries and keys per block, as in the criterion benchmark.
const BLOCK: usize = 128;
const D_K: usize = 64;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args
        .first()
        .and_then(|a| a.parse().ok())
        .expect("usage: attention_memory N [--causal] [--no-unfused-backward]");
    let causal = args.iter().any(|a| a == "--causal");
    let unfused_backward = !args.iter().any(|a| a == "--no-unfused-backward");
    let randn = |seed, rows, cols| -> DMatrix<f32> {
        normal(&mut rng(seed), rows, cols, 1.0).map(|x| x as f32)
    };
    let (q, k, v, g) = (
        randn(1, n, D_K),
        randn(2, n, D_K),
        randn(3, n, D_K),
        randn(4, n, D_K),
    );
    let mask = causal.then(|| causal_mask::<f32>(n).unwrap());
    let m = mask.as_ref();
    let fused = peak_of(|| attention_blocked_fast(&q, &k, &v, m, BLOCK));
    let fused_bwd = peak_of(|| {
        let f = attention_blocked_fast(&q, &k, &v, m, BLOCK).unwrap();
        attention_blocked_backward_fast(&q, &k, &v, m, &f, &g, BLOCK)
    });
    let unfused = peak_of(|| attention_output_fast(&q, &k, &v, m));
    let unfused_bwd = if unfused_backward {
        let peak = peak_of(|| {
            let f = attention_fast(&q, &k, &v, m).unwrap();
            attention_backward_fast(&q, &k, &v, &f, &g)
        });
        peak.to_string()
    } else {
        "null".to_string()
    };
    println!(
        "{{\"n\": {n}, \"causal\": {causal}, \"fused\": {fused}, \
         \"fused_fwd_bwd\": {fused_bwd}, \"unfused\": {unfused}, \
         \"unfused_fwd_bwd\": {unfused_bwd}}}"
    );
}
