//! The primitives below the `*_fast` kernels of attention, the
//! feed-forward network and layer normalization: a vectorizable `f32`
//! exponential and the row softmax of a block stored column by column,
//! both compiled for the widest vectors of the CPU through
//! `machine::wide!`. They import nothing of this crate: the kernels call
//! down into them, never the other way.

use std::any::Any;

use notation::{Real, lit};

/// `−∞` in `T`.
pub(crate) fn neg_inf<T: Real>() -> T {
    lit::<T>(f64::NEG_INFINITY)
}

/// Softmax along each row of the `rows × cols` block stored column by
/// column at the start of `buf` (entry `(r, j)` at `j · rows + r`), but
/// not yet divided by the row sums: afterwards entry `(r, j)` holds
/// `exp(s_rj − max_r)` and `stats[rows + r]` holds `1 / Σ_j exp(s_rj −
/// max_r)`. `stats` (`2 · rows` numbers) keeps the running maxima and sums
/// of all rows, updated one column at a time, so that every loop runs
/// down a contiguous column and is vectorized across the rows.
// A `Vec`, not a slice: only a sized type can be downcast to f32.
#[allow(clippy::ptr_arg)]
pub(crate) fn softmax_rows_unscaled<T: Real>(
    buf: &mut Vec<T>,
    stats: &mut Vec<T>,
    rows: usize,
    cols: usize,
) {
    let (any_buf, any_stats): (&mut dyn Any, &mut dyn Any) = (buf, stats);
    if let (Some(buf), Some(stats)) = (
        any_buf.downcast_mut::<Vec<f32>>(),
        any_stats.downcast_mut::<Vec<f32>>(),
    ) {
        let (max, sum) = stats.split_at_mut(rows);
        let args = (&mut buf[..rows * cols], max, &mut sum[..rows]);
        machine::wide!(
            softmax_f32(args): (&mut [f32], &mut [f32], &mut [f32]) => ()
        );
        return;
    }
    let (max, sum) = stats.split_at_mut(rows);
    softmax_block(&mut buf[..rows * cols], max, &mut sum[..rows], |x: T| {
        x.exp()
    });
}

/// The body of [`softmax_rows_unscaled`] for any exponential `exp`.
#[inline(always)]
fn softmax_block<T: Real>(
    s: &mut [T],
    max: &mut [T],
    sum: &mut [T],
    exp: impl Fn(T) -> T,
) {
    let rows = max.len();
    // Subtract each row's maximum first, as in chapter 1's softmax.
    max.fill(neg_inf());
    for col in s.chunks_exact(rows) {
        for (m, &x) in max.iter_mut().zip(col) {
            *m = m.max(x);
        }
    }
    sum.fill(T::zero());
    for col in s.chunks_exact_mut(rows) {
        for ((x, &m), acc) in col.iter_mut().zip(&*max).zip(sum.iter_mut()) {
            *x = exp(*x - m);
            *acc += *x;
        }
    }
    sum.iter_mut().for_each(|x| *x = T::one() / *x);
}

/// [`softmax_block`] in f32 with [`exp_f32`], for `machine::wide!`:
/// compiled for the widest vectors the CPU has, the same numbers to the
/// bit.
#[inline(always)]
fn softmax_f32((s, max, sum): (&mut [f32], &mut [f32], &mut [f32])) {
    softmax_block(s, max, sum, exp_f32)
}

/// `eˣ` for `x ≤ 0` in f32, within 2 ulp of `f32::exp`, and exactly 0 for
/// `x = −∞` (a masked key). Cody–Waite reduction `x = k ln 2 + r`,
/// `|r| ≤ ln 2 / 2`, a degree-6 polynomial for `eʳ` (the coefficients of
/// Cephes' `expf`), and `2ᵏ` built from its exponent bits; no branch and
/// no library call, so the loop around it is vectorized.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    // Below ln(2⁻¹²⁶) the result would be subnormal: it is flushed to 0.
    const LOW: f32 = -87.33;
    const MAGIC: f32 = 12_582_912.0; // 1.5 · 2²³: adding it rounds to integers
    let xc = x.clamp(LOW, 0.0);
    let t = xc * std::f32::consts::LOG2_E + MAGIC;
    let k = t - MAGIC;
    let r = xc - k * 0.693_359_4 + k * 2.121_944_4e-4;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 0.166_666_65;
    p = p * r + 0.5;
    let e_r = p * r * r + r + 1.0;
    let k_int = t.to_bits() as i32 - MAGIC.to_bits() as i32;
    let two_k = f32::from_bits(((k_int + 127) as u32) << 23);
    // All bits cleared below LOW: a mask, not a branch, so it vectorizes.
    let keep = ((x >= LOW) as u32).wrapping_neg();
    f32::from_bits((e_r * two_k).to_bits() & keep)
}
