//! Exercise 3.7 / Aufgabe 3.7: Nesterov momentum as an `Optimizer`.
//!
//! Momentum (3.4) steps with the buffer `d_t = β d_{t−1} + g_t`. Nesterov's
//! variant, in PyTorch's form (`torch.optim.SGD(nesterov=True)`,
//! `dampening = 0`), keeps the same buffer but steps with the gradient
//! plus the buffer once more multiplied by β:
//!
//! ```text
//! d_t = β d_{t−1} + g_t,   θ_{t+1} = θ_t − η (g_t + β d_t),   d_0 = 0
//! ```
//!
//! Implement it as chapter 3's `Optimizer`: state per parameter matrix,
//! created (zeros) at the first step; `step` checks everything before it
//! changes anything (as many gradients as parameters, equal shapes, the
//! shapes of the first step, finite gradients) and counts the step only
//! when it succeeds. The listing's helper `prepare_step` is private to
//! its crate: write the checks yourself, with `ParamsExt::params_mut` and
//! `ParamsExt::params`.

use ch03_optimization::Optimizer;
use nalgebra::DMatrix;
use notation::{Error, Params, ParamsExt};

/// The configuration of [`Nesterov`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NesterovConfig {
    /// The learning rate η, `0 < η < ∞`.
    pub lr: f64,
    /// The momentum factor β, `0 ≤ β < 1`.
    pub momentum: f64,
}

/// Gradient descent with Nesterov momentum.
#[derive(Debug, Clone)]
pub struct Nesterov {
    config: NesterovConfig,
    /// The buffers `d`, one per parameter matrix (empty before step 1).
    buffers: Vec<DMatrix<f64>>,
    /// Steps taken.
    t: usize,
}

impl Nesterov {
    /// An optimizer with this configuration.
    ///
    /// # Errors
    /// `lr` is not in `(0, ∞)` or `momentum` not in `[0, 1)`
    /// ([`Error::Domain`]).
    pub fn new(config: NesterovConfig) -> Result<Self, Error> {
        todo!("check η and β, start with no buffers and t = 0")
    }
}

impl Optimizer<f64> for Nesterov {
    fn step(
        &mut self,
        params: &mut dyn Params<f64>,
        grads: &dyn Params<f64>,
    ) -> Result<(), Error> {
        todo!("check, create the buffers at the first step, then d and θ")
    }

    fn learning_rate(&self) -> f64 {
        todo!()
    }

    fn set_learning_rate(&mut self, lr: f64) -> Result<(), Error> {
        todo!("refuse lr ≤ 0, NaN and ∞")
    }

    fn steps(&self) -> usize {
        todo!()
    }
}
