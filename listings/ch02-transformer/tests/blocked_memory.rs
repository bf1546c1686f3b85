//! Attention in blocks needs memory `O(n·d)`: a counting global allocator
//! measures the peak of the bytes each call holds at once, beyond its
//! arguments. For the blocked forward passes that peak, less the output
//! and the log-sum-exps, is the same for every `n` (one block of scores,
//! one of output, the statistics; `working_set` counts it); for
//! `attention` it grows with `n²`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use ch02_transformer::attention::attention;
use ch02_transformer::blocked::{
    attention_blocked, attention_blocked_fast, working_set,
};
use ch02_transformer::random::{normal, rng};
use nalgebra::DMatrix;

thread_local! {
    // Per thread, so that tests running in parallel do not disturb each
    // other. `const` initialisation does not allocate.
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

struct Counting;

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counters only observe.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = LIVE.try_with(|live| {
            live.set(live.get() + layout.size());
            let _ = PEAK.try_with(|p| p.set(p.get().max(live.get())));
        });
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _ = LIVE.try_with(|live| {
            live.set(live.get().saturating_sub(layout.size()))
        });
        // SAFETY: `ptr` was allocated by `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The most bytes live at once while `f` runs, beyond those live before.
fn peak_of<R>(f: impl FnOnce() -> R) -> usize {
    let before = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(before));
    let result = f();
    let peak = PEAK.with(Cell::get) - before;
    drop(result);
    peak
}

fn randn(seed: u64, rows: usize, cols: usize) -> DMatrix<f32> {
    normal(&mut rng(seed), rows, cols, 1.0).map(|x| x as f32)
}

const D: usize = 64;
const BLOCK: usize = 64;

/// `(peak of attention, peak of attention_blocked, of its fast twin)` in
/// bytes at `n` queries and keys.
fn peaks(n: usize) -> (usize, usize, usize) {
    let (q, k, v) = (randn(1, n, D), randn(2, n, D), randn(3, n, D));
    (
        peak_of(|| attention(&q, &k, &v, None).unwrap()),
        peak_of(|| attention_blocked(&q, &k, &v, None, BLOCK).unwrap()),
        peak_of(|| attention_blocked_fast(&q, &k, &v, None, BLOCK).unwrap()),
    )
}

#[test]
fn blocked_attention_holds_o_of_n_d_and_attention_o_of_n_squared() {
    let returned = |n: usize| (n * D + n) * 4; // O and LSE in f32
    let (small, large) = (256, 1024);
    let (u_s, r_s, f_s) = peaks(small);
    let (u_l, r_l, f_l) = peaks(large);
    // Unfused: at least S and P, 2 n² floats, and from n = 256 to 1024 it
    // grows by at least the growth of S and P.
    let s_and_p = |n| working_set::<f32>(n, n, D, BLOCK).unfused;
    assert!(u_s >= s_and_p(small) && u_l >= s_and_p(large));
    assert!(
        u_l - u_s >= s_and_p(large) - s_and_p(small),
        "unfused: {u_s} then {u_l} bytes"
    );
    // Blocked: besides what it returns, the same bytes at both sizes (the
    // blocks are the same), and not far above the count of the figure;
    // temporaries of nalgebra's products and `matrixmultiply`'s packing
    // buffers make up the rest.
    let counted = working_set::<f32>(large, large, D, BLOCK).fused;
    for (name, at_small, at_large) in
        [("readable", r_s, r_l), ("fast", f_s, f_l)]
    {
        let (extra_s, extra_l) =
            (at_small - returned(small), at_large - returned(large));
        assert_eq!(
            extra_s, extra_l,
            "{name}: {at_small} then {at_large} bytes"
        );
        assert!(
            at_large <= 4 * counted + returned(large),
            "{name}: {at_large} bytes held, {counted} counted"
        );
        assert!(at_large * 20 < u_l, "{name}: {at_large} vs {u_l} bytes");
    }
}
