//! AdaGrad: a learning rate per coordinate, shrinking with the sum of the
//! squared gradients (Duchi, Hazan & Singer 2011).
//!
//! Book: section „AdaGrad und RMSProp“ / "AdaGrad and RMSProp" of
//! chapter 3.

use nalgebra::DMatrix;
use notation::{Error, Params, Real, lit};

use crate::optimizer::{
    Epsilon, Optimizer, check_learning_rate, lr_and_steps, prepare_step,
};

/// The configuration of [`AdaGrad`]. There is no `Default`: the place of ε
/// must be chosen, with [`AdaGradConfig::new`] or
/// [`AdaGradConfig::pytorch`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdaGradConfig<T> {
    /// The learning rate η. `new` sets `0.01`, the default of
    /// `torch.optim.Adagrad` (PyTorch 2.x documentation).
    pub lr: T,
    /// ε and where it sits, formula (3.7). PyTorch: `Outside(1e-10)`.
    pub eps: Epsilon<T>,
}

impl<T: Real> AdaGradConfig<T> {
    /// η = 0.01 (PyTorch's default) with the given ε and its place.
    pub fn new(eps: Epsilon<T>) -> Self {
        AdaGradConfig { lr: lit(0.01), eps }
    }

    /// `torch.optim.Adagrad`'s defaults: η = 0.01, ε = 1e-10 outside the
    /// root (PyTorch 2.x documentation).
    pub fn pytorch() -> Self {
        Self::new(Epsilon::Outside(lit(1e-10)))
    }
}

/// AdaGrad, formulas (3.5) and (3.6), with ε placed as the configuration
/// says (3.7). Without learning-rate decay and with a zero initial
/// accumulator (PyTorch's `lr_decay = 0`, `initial_accumulator_value = 0`).
#[derive(Debug, Clone)]
pub struct AdaGrad<T: Real> {
    config: AdaGradConfig<T>,
    /// The sums of squared gradients G, one matrix per parameter.
    sums: Vec<DMatrix<T>>,
    t: usize,
}

impl<T: Real> AdaGrad<T> {
    /// An optimizer with this configuration.
    ///
    /// # Errors
    /// `lr` or ε is not in `(0, ∞)`.
    pub fn new(config: AdaGradConfig<T>) -> Result<Self, Error> {
        check_learning_rate(config.lr)?;
        config.eps.check()?;
        Ok(AdaGrad {
            config,
            sums: Vec::new(),
            t: 0,
        })
    }

    /// The effective learning rate `η / D_ε(G_t)` of every coordinate of
    /// parameter `i` (`None` before the first step). It never grows.
    pub fn effective_learning_rates(&self, i: usize) -> Option<DMatrix<T>> {
        let AdaGradConfig { lr, eps } = self.config;
        let sum = self.sums.get(i)?;
        Some(sum.map(|g| lr / eps.denominator(g)))
    }
}

impl<T: Real> Optimizer<T> for AdaGrad<T> {
    // ANCHOR: adagrad_step
    /// One AdaGrad step: accumulate the squared gradient per coordinate,
    /// then divide the step by the root of the sum.
    ///
    /// ```text
    /// G_{t,i} = G_{t−1,i} + g_{t,i}²,  G_0 = 0                     (3.5)
    /// θ_{t+1,i} = θ_{t,i} − η g_{t,i} / D_ε(G_{t,i})               (3.6)
    /// D_ε(s) = √(s + ε) (Inside) or √s + ε (Outside)              (3.7)
    /// ```
    ///
    /// # Errors
    /// Those of [`Optimizer::step`], which gives the shapes too: mismatched
    /// shapes, NaN or ±∞ in a gradient.
    ///
    /// # Book
    /// Formeln (3.5) und (3.6) in Kapitel 3, „AdaGrad und RMSProp“ /
    /// formulas (3.5) and (3.6) in chapter 3, "AdaGrad and RMSProp".
    fn step(
        &mut self,
        params: &mut dyn Params<T>,
        grads: &dyn Params<T>,
    ) -> Result<(), Error> {
        let AdaGradConfig { lr, eps } = self.config;
        let (mut params, grads) =
            prepare_step(params, grads, &mut [&mut self.sums])?;
        for ((p, g), sum) in params.iter_mut().zip(grads).zip(&mut self.sums) {
            // One pass over the coordinates, in place, no temporaries.
            for ((theta, &g), sum) in
                p.iter_mut().zip(g.iter()).zip(sum.iter_mut())
            {
                *sum += g * g;
                *theta -= lr * g / eps.denominator(*sum);
            }
        }
        self.t += 1;
        Ok(())
    }
    // ANCHOR_END: adagrad_step

    lr_and_steps!();
}
