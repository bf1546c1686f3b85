//! A learning-rate schedule: linear warm-up, then cosine decay, as large
//! transformers are trained.
//!
//! Book: section „Adam und AdamW“ / "Adam and AdamW" of chapter 3.

use notation::{Error, Real, lit};

/// Linear warm-up over `warmup_steps` steps to `peak`, then a cosine
/// decay to `min` at `total_steps`, then constant `min`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WarmupCosine<T> {
    peak: T,
    min: T,
    warmup_steps: usize,
    total_steps: usize,
}

impl<T: Real> WarmupCosine<T> {
    /// The schedule with peak rate `peak`, final rate `min`, `warmup_steps`
    /// steps of warm-up and `total_steps` steps in all.
    ///
    /// # Errors
    /// Unless `0 < min ≤ peak < ∞` (η_min > 0: the optimizers refuse
    /// η = 0) and `warmup_steps < total_steps`.
    pub fn new(
        peak: T,
        min: T,
        warmup_steps: usize,
        total_steps: usize,
    ) -> Result<Self, Error> {
        if !(peak > T::zero() && peak.is_finite()) {
            return Err(Error::Domain {
                what: "peak learning rate η_max",
                requirement: "0 < η_max < ∞",
                value: peak.into(),
            });
        }
        if !(min > T::zero() && min <= peak) {
            return Err(Error::Domain {
                what: "final learning rate η_min",
                requirement: "0 < η_min ≤ η_max",
                value: min.into(),
            });
        }
        if warmup_steps >= total_steps {
            return Err(Error::Domain {
                what: "warm-up steps T_w",
                requirement: "T_w < T (the total number of steps)",
                value: warmup_steps as f64,
            });
        }
        Ok(WarmupCosine {
            peak,
            min,
            warmup_steps,
            total_steps,
        })
    }
}

// ANCHOR: warmup_cosine
impl<T: Real> WarmupCosine<T> {
    /// The learning rate of step `t = 1, 2, …`.
    ///
    /// ```text
    /// η_t = η_max · t / T_w                                 1 ≤ t ≤ T_w
    /// η_t = η_min + ½ (η_max − η_min) (1 + cos(π (t − T_w) / (T − T_w)))
    ///                                                       T_w < t ≤ T
    /// η_t = η_min                                           t > T   (3.14)
    /// ```
    ///
    /// # Book
    /// Formel (3.14) in Kapitel 3, „Adam und AdamW“ / formula (3.14) in
    /// chapter 3, "Adam and AdamW".
    ///
    /// # Errors
    /// `t = 0`: steps are counted from 1, as in Adam's `1 − βᵗ`.
    pub fn learning_rate(&self, t: usize) -> Result<T, Error> {
        let (t_w, t_total) = (self.warmup_steps, self.total_steps);
        if t == 0 {
            return Err(Error::Domain {
                what: "step t",
                requirement: "t ≥ 1",
                value: 0.0,
            });
        }
        if t <= t_w {
            return Ok(self.peak * lit::<T>(t as f64) / lit::<T>(t_w as f64));
        }
        if t >= t_total {
            return Ok(self.min);
        }
        // Progress through the decay, from 0 (just after warm-up) to 1.
        let progress =
            lit::<T>((t - t_w) as f64) / lit::<T>((t_total - t_w) as f64);
        let half: T = lit(0.5);
        let cosine = T::one() + (T::pi() * progress).cos();
        Ok(self.min + half * (self.peak - self.min) * cosine)
    }
}
// ANCHOR_END: warmup_cosine
