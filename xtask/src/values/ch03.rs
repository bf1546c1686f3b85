//! Values of chapter 3: results that the optimizer figures' captions
//! state, from the same data the figures draw (computed once per build).

use anyhow::{Result, anyhow};
use nalgebra::Matrix2;

use super::{Digits, Entry, Value};
use crate::figures::ch03::{bias_curves, iris_losses};

/// The values of chapter 3.
pub const VALUES: &[Entry] = &[
    // Adam without bias correction, constant gradient: the first step
    // and the largest, in units of η.
    Entry {
        id: "ch03.adam_uncorrected_first",
        compute: || Ok(Value::Tex(uncorrected()?[0].1, Digits::Decimals(2))),
    },
    Entry {
        id: "ch03.adam_uncorrected_max",
        compute: || Ok(Value::Tex(largest()?.1, Digits::Decimals(1))),
    },
    Entry {
        id: "ch03.adam_uncorrected_max_t",
        compute: || Ok(Value::Count(largest()?.0 as u64)),
    },
    Entry {
        id: "ch03.rosenbrock_stable_lr",
        compute: || {
            Ok(Value::Tex(
                2.0 / rosenbrock_start_curvature(),
                Digits::Significant(2),
            ))
        },
    },
    Entry {
        id: "ch03.iris_nll_lowest",
        compute: || Ok(Value::Tex(final_nll()?.0, Digits::Decimals(2))),
    },
    Entry {
        id: "ch03.iris_nll_highest",
        compute: || Ok(Value::Tex(final_nll()?.1, Digits::Decimals(2))),
    },
];

/// Adam's steps without bias correction for a constant gradient.
fn uncorrected() -> Result<&'static [(usize, f64)]> {
    bias_curves()?
        .iter()
        .find(|(correction, noisy, _)| !correction && !noisy)
        .map(|(_, _, steps)| steps.as_slice())
        .ok_or_else(|| anyhow!("no curve without bias correction"))
}

/// The largest step without bias correction: (t, step / η).
fn largest() -> Result<(usize, f64)> {
    uncorrected()?
        .iter()
        .copied()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .ok_or_else(|| anyhow!("no steps"))
}

/// The largest eigenvalue of the Hessian of the Rosenbrock function
/// f = (1 − x)² + 100 (y − x²)² at the figures' start.
fn rosenbrock_start_curvature() -> f64 {
    let [x, y] = crate::figures::ch03::ROSENBROCK_START;
    let h = Matrix2::new(
        2.0 - 400.0 * (y - x * x) + 800.0 * x * x,
        -400.0 * x,
        -400.0 * x,
        200.0,
    );
    h.symmetric_eigenvalues().max()
}

/// The lowest and highest average NLL of the five methods after the last
/// epoch of figure `iris_training`.
fn final_nll() -> Result<(f64, f64)> {
    let last: Vec<f64> = iris_losses()?
        .iter()
        .filter_map(|run| run.last().copied())
        .collect();
    let lo = last.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = last.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Ok((lo, hi))
}
