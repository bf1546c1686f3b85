//! How far each function of chapter 2 is from PyTorch, in float64 and in
//! float32: the listings run in `f64` and in `f32` on the same inputs as
//! PyTorch (`reference/deviations.py` wrote `reference/deviations.json`,
//! with inputs rounded to float32 so that both precisions start from the
//! same numbers), and every result is compared with PyTorch's result in
//! the same precision.
//!
//! `cargo test -p ch02-transformer --test deviations -- --nocapture`
//! prints the table of the largest deviations; the book computes the same
//! table from `reference/deviations.rs` when it is built.
//!
//! The relative deviation of a result is `max |ours − torch|` divided by
//! `max |torch|` over the same tensor (relative to the largest entry, so
//! that entries near 0 do not blow it up); for a backward pass it is the
//! largest over all its gradients (except `∂L/∂b_K`, which is 0 in exact
//! arithmetic, see [`deviation`]).

#[path = "../reference/deviations.rs"]
mod deviations;

/// float64 against float64: the same operations in another order of
/// summation (and PyTorch's own exp and sqrt); results and gradients of
/// order 1 to 10 agree to a few ulps (2.2e-16 each), through at most three
/// layers (measured: at most 2e-15).
const F64_ABS_TOL: f64 = 1e-13;
/// The same bound relative to the largest entry.
const F64_REL_TOL: f64 = 1e-13;

/// float32 against float32 (and our f32 against PyTorch's f64): the same
/// few ulps, now of 1.2e-7; one block sums over at most 16 terms per
/// product and chains about ten products, so errors up to some 1e-6 are
/// expected (measured: at most 8e-7); 2e-5 leaves a margin and still
/// catches any real error (a wrong term is of order 0.01 to 1).
const F32_ABS_TOL: f64 = 2e-5;
/// The same bound relative to the largest entry.
const F32_REL_TOL: f64 = 2e-5;

#[test]
fn deviations_from_pytorch_in_float64_and_float32() {
    println!(
        "\n| function | f64: max abs | f64: max rel | f32: max abs | \
         f32: max rel | f32 vs torch f64: max rel |"
    );
    println!("|---|---|---|---|---|---|");
    for r in deviations::table() {
        let name = r.name;
        let (a64, r64, w64) = (r.f64_abs, r.f64_rel, &r.f64_where);
        let (a32, r32, w32) = (r.f32_abs, r.f32_rel, &r.f32_where);
        let (ax, rx, wx) =
            (r.f32_exact_abs, r.f32_exact_rel, &r.f32_exact_where);
        println!(
            "| {name} | {a64:.1e} | {r64:.1e} | {a32:.1e} | {r32:.1e} | \
             {rx:.1e} |"
        );
        assert!(
            a64 <= F64_ABS_TOL && r64 <= F64_REL_TOL,
            "{name} in f64: abs {a64:e}, rel {r64:e} (at {w64})"
        );
        assert!(
            a32 <= F32_ABS_TOL && r32 <= F32_REL_TOL,
            "{name} in f32: abs {a32:e}, rel {r32:e} (at {w32})"
        );
        assert!(
            ax <= F32_ABS_TOL && rx <= F32_REL_TOL,
            "{name} in f32 against f64: abs {ax:e}, rel {rx:e} (at {wx})"
        );
    }
}
