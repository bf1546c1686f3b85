//! Input checks shared by the listings: distributions and class indices.

use nalgebra::DVector;
use notation::{Error, Real};

/// How far the sum of a distribution may be from 1: `√ε` of the scalar
/// type (1.5e-8 for `f64`, 3.5e-4 for `f32`). Rounding in a sum of even a
/// million probabilities stays far below it (about `10^6 · ε`, 2e-10 in
/// `f64`), while a real mistake (a missing class, a typo) is far above.
pub fn sum_tolerance<T: Real>() -> T {
    T::default_epsilon().sqrt()
}

/// Checks that `p` is a probability distribution: not empty, every entry
/// finite and ≥ 0, and `|Σ p_i − 1| ≤ √ε` (see [`sum_tolerance`]).
pub fn check_distribution<T: Real>(
    what: &'static str,
    p: &DVector<T>,
) -> Result<(), Error> {
    check_non_negative(p, what, (what, "every entry ≥ 0"))?;
    let sum = p.sum();
    if (sum - T::one()).abs() > sum_tolerance::<T>() {
        return Err(Error::Sum {
            what,
            got: sum.into(),
            tolerance: sum_tolerance::<T>().into(),
        });
    }
    Ok(())
}

/// Checks that `p` has at least one entry and that every entry is a
/// finite number ≥ 0. `what` names `p` in the errors; `(entry,
/// requirement)` name one entry and the bound it must satisfy in the error
/// for a negative entry.
pub fn check_non_negative<T: Real>(
    p: &DVector<T>,
    what: &'static str,
    (entry, requirement): (&'static str, &'static str),
) -> Result<(), Error> {
    if p.is_empty() {
        return Err(Error::Empty { what });
    }
    for (index, &p_i) in p.iter().enumerate() {
        let value: f64 = p_i.into();
        if !value.is_finite() {
            return Err(Error::NotFinite { what, index, value });
        }
        if value < 0.0 {
            return Err(Error::Domain {
                what: entry,
                requirement,
                value,
            });
        }
    }
    Ok(())
}

/// Checks that every class index in `y` is below `k`, and that there is at
/// least one.
pub fn check_classes(
    what: &'static str,
    y: &[usize],
    k: usize,
) -> Result<(), Error> {
    if y.is_empty() {
        return Err(Error::Empty { what });
    }
    if let Some((i, &y_i)) = y.iter().enumerate().find(|&(_, &y_i)| y_i >= k) {
        return Err(Error::Index {
            what,
            expected: format!("class indices 0..{k} (K = {k} classes)"),
            got: format!("y_{i} = {y_i}"),
        });
    }
    Ok(())
}
