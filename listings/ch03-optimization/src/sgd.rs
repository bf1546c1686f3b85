//! Gradient descent, stochastic or not, with and without momentum.
//!
//! Book: section „Gradientenabstieg“ / "Gradient descent" of chapter 3.

use nalgebra::DMatrix;
use notation::{Error, Params, Real, lit};

use crate::optimizer::{
    Optimizer, check_decay, check_learning_rate, lr_and_steps, prepare_step,
};

/// The configuration of [`Sgd`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SgdConfig<T> {
    /// The learning rate η. Default `1e-3`, the default of
    /// `torch.optim.SGD` (PyTorch 2.x documentation).
    pub lr: T,
    /// The momentum factor β, `0 ≤ β < 1`; `0` is plain gradient descent (3.1).
    /// Default `0`, as in `torch.optim.SGD`.
    pub momentum: T,
}

impl<T: Real> Default for SgdConfig<T> {
    fn default() -> Self {
        SgdConfig {
            lr: lit(1e-3),
            momentum: T::zero(),
        }
    }
}

/// Gradient descent (3.1), with momentum (3.4) if `momentum > 0`.
///
/// The momentum form is PyTorch's (`dampening = 0`, no Nesterov): the
/// buffer sums gradients, `d_t = β d_{t−1} + g_t` (the code's `b`), and the
/// step is `η d_t`. For a constant η this is Polyak's heavy ball
/// `θ_{t+1} = θ_t − η g_t + β (θ_t − θ_{t−1})`.
#[derive(Debug, Clone)]
pub struct Sgd<T: Real> {
    config: SgdConfig<T>,
    /// The momentum buffers b, one per parameter (empty without momentum).
    buffers: Vec<DMatrix<T>>,
    t: usize,
}

impl<T: Real> Sgd<T> {
    /// An optimizer with this configuration.
    ///
    /// # Errors
    /// `lr` is not in `(0, ∞)`, or `momentum` is not in `[0, 1)`.
    pub fn new(config: SgdConfig<T>) -> Result<Self, Error> {
        check_learning_rate(config.lr)?;
        check_decay("momentum μ", "0 ≤ μ < 1", config.momentum)?;
        Ok(Sgd {
            config,
            buffers: Vec::new(),
            t: 0,
        })
    }

    /// The configuration (with the current learning rate).
    pub fn config(&self) -> &SgdConfig<T> {
        &self.config
    }
}

impl<T: Real> Optimizer<T> for Sgd<T> {
    // ANCHOR: sgd_step
    /// One step of gradient descent (3.1) or, with `β > 0`, of gradient
    /// descent with momentum (3.4):
    ///
    /// ```text
    /// θ_{t+1} = θ_t − η g_t                          (3.1), β = 0
    /// d_t = β d_{t−1} + g_t,  θ_{t+1} = θ_t − η d_t  (3.4), d_0 = 0
    /// ```
    ///
    /// # Errors
    /// Those of [`Optimizer::step`], which gives the shapes too: mismatched
    /// shapes, NaN or ±∞ in a gradient.
    ///
    /// # Book
    /// Formeln (3.1) und (3.4) in Kapitel 3, „Gradientenabstieg“ /
    /// formulas (3.1) and (3.4) in chapter 3, "Gradient descent".
    fn step(
        &mut self,
        params: &mut dyn Params<T>,
        grads: &dyn Params<T>,
    ) -> Result<(), Error> {
        let SgdConfig { lr, momentum } = self.config;
        if momentum == T::zero() {
            let (mut params, grads) = prepare_step(params, grads, &mut [])?;
            for (p, g) in params.iter_mut().zip(grads) {
                // One pass, in place: θ ← θ − η g.
                p.zip_apply(g, |theta, g| *theta -= lr * g);
            }
        } else {
            let (mut params, grads) =
                prepare_step(params, grads, &mut [&mut self.buffers])?;
            for ((p, g), b) in
                params.iter_mut().zip(grads).zip(&mut self.buffers)
            {
                for ((theta, &g), b) in
                    p.iter_mut().zip(g.iter()).zip(b.iter_mut())
                {
                    *b = momentum * *b + g;
                    *theta -= lr * *b;
                }
            }
        }
        self.t += 1;
        Ok(())
    }
    // ANCHOR_END: sgd_step

    lr_and_steps!();
}
