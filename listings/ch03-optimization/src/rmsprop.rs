//! RMSProp: AdaGrad with a moving average instead of a sum (Hinton,
//! Srivastava & Swersky 2012, lecture 6e of "Neural Networks for Machine
//! Learning").
//!
//! Book: section „AdaGrad und RMSProp“ / "AdaGrad and RMSProp" of
//! chapter 3.

use nalgebra::DMatrix;
use notation::{Error, Params, Real, lit};

use crate::optimizer::{
    Epsilon, Optimizer, check_decay, check_learning_rate, lr_and_steps,
    prepare_step,
};

/// The configuration of [`RmsProp`]. There is no `Default`: the place of ε
/// must be chosen, with [`RmsPropConfig::new`] or
/// [`RmsPropConfig::pytorch`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RmsPropConfig<T> {
    /// The learning rate η. `new` sets `0.01`, the default of
    /// `torch.optim.RMSprop` (PyTorch 2.x documentation).
    pub lr: T,
    /// The decay factor γ of the moving average, `0 ≤ γ < 1`. `new` sets
    /// `0.99`, PyTorch's default for the same factor, which it calls
    /// `alpha`; Hinton's lecture suggests 0.9.
    pub gamma: T,
    /// ε and where it sits, formula (3.7). PyTorch: `Outside(1e-8)`.
    pub eps: Epsilon<T>,
}

impl<T: Real> RmsPropConfig<T> {
    /// η = 0.01 and γ = 0.99 (PyTorch's defaults) with the given ε and its
    /// place.
    pub fn new(eps: Epsilon<T>) -> Self {
        RmsPropConfig {
            lr: lit(0.01),
            gamma: lit(0.99),
            eps,
        }
    }

    /// `torch.optim.RMSprop`'s defaults: η = 0.01, γ = `alpha` = 0.99,
    /// ε = 1e-8 outside the root (PyTorch 2.x documentation).
    pub fn pytorch() -> Self {
        Self::new(Epsilon::Outside(lit(1e-8)))
    }
}

/// RMSProp, formulas (3.8) and (3.9), with ε placed as the configuration
/// says (3.7). Without momentum and not centred (PyTorch's
/// `momentum = 0`, `centered = False`).
#[derive(Debug, Clone)]
pub struct RmsProp<T: Real> {
    config: RmsPropConfig<T>,
    /// The moving averages v of g² (the source's E[g²]), one per parameter.
    averages: Vec<DMatrix<T>>,
    t: usize,
}

impl<T: Real> RmsProp<T> {
    /// An optimizer with this configuration.
    ///
    /// # Errors
    /// `lr` or ε is not in `(0, ∞)`, or γ is not in `[0, 1)`.
    pub fn new(config: RmsPropConfig<T>) -> Result<Self, Error> {
        check_learning_rate(config.lr)?;
        check_decay("decay factor γ", "0 ≤ γ < 1", config.gamma)?;
        config.eps.check()?;
        Ok(RmsProp {
            config,
            averages: Vec::new(),
            t: 0,
        })
    }

    /// The effective learning rate `η / D_ε(v_t)` of every coordinate
    /// of parameter `i` (`None` before the first step).
    pub fn effective_learning_rates(&self, i: usize) -> Option<DMatrix<T>> {
        let RmsPropConfig { lr, eps, .. } = self.config;
        let avg = self.averages.get(i)?;
        Some(avg.map(|s| lr / eps.denominator(s)))
    }
}

impl<T: Real> Optimizer<T> for RmsProp<T> {
    // ANCHOR: rmsprop_step
    /// One RMSProp step: a moving average of the squared gradient replaces
    /// AdaGrad's sum, so old gradients are forgotten.
    ///
    /// ```text
    /// v_t = γ v_{t−1} + (1 − γ) g_t²,  v_0 = 0                     (3.8)
    /// θ_{t+1} = θ_t − η g_t / D_ε(v_t)                             (3.9)
    /// ```
    ///
    /// Everything is per coordinate; `D_ε` is formula (3.7).
    ///
    /// # Errors
    /// Those of [`Optimizer::step`], which gives the shapes too: mismatched
    /// shapes, NaN or ±∞ in a gradient.
    ///
    /// # Book
    /// Formeln (3.8) und (3.9) in Kapitel 3, „AdaGrad und RMSProp“ /
    /// formulas (3.8) and (3.9) in chapter 3, "AdaGrad and RMSProp".
    fn step(
        &mut self,
        params: &mut dyn Params<T>,
        grads: &dyn Params<T>,
    ) -> Result<(), Error> {
        let RmsPropConfig { lr, gamma, eps } = self.config;
        let (mut params, grads) =
            prepare_step(params, grads, &mut [&mut self.averages])?;
        for ((p, g), avg) in
            params.iter_mut().zip(grads).zip(&mut self.averages)
        {
            for ((theta, &g), avg) in
                p.iter_mut().zip(g.iter()).zip(avg.iter_mut())
            {
                *avg = gamma * *avg + (T::one() - gamma) * g * g;
                *theta -= lr * g / eps.denominator(*avg);
            }
        }
        self.t += 1;
        Ok(())
    }
    // ANCHOR_END: rmsprop_step

    lr_and_steps!();
}
