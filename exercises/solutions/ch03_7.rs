//! Exercise 3.7 / Aufgabe 3.7: Nesterov momentum as an `Optimizer`.
//!
//! Reference solution, in PyTorch's form:
//! `d_t = β d_{t−1} + g_t`, `θ_{t+1} = θ_t − η (g_t + β d_t)`.

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

fn check_lr(lr: f64) -> Result<(), Error> {
    if lr > 0.0 && lr.is_finite() {
        Ok(())
    } else {
        Err(Error::Domain {
            what: "learning rate η",
            requirement: "0 < η < ∞",
            value: lr,
        })
    }
}

impl Nesterov {
    /// An optimizer with this configuration.
    ///
    /// # Errors
    /// `lr` is not in `(0, ∞)` or `momentum` not in `[0, 1)`
    /// ([`Error::Domain`]).
    pub fn new(config: NesterovConfig) -> Result<Self, Error> {
        check_lr(config.lr)?;
        // Written so that NaN fails too.
        if !(config.momentum >= 0.0 && config.momentum < 1.0) {
            return Err(Error::Domain {
                what: "momentum β",
                requirement: "0 ≤ β < 1",
                value: config.momentum,
            });
        }
        Ok(Nesterov {
            config,
            buffers: Vec::new(),
            t: 0,
        })
    }
}

impl Optimizer<f64> for Nesterov {
    fn step(
        &mut self,
        params: &mut dyn Params<f64>,
        grads: &dyn Params<f64>,
    ) -> Result<(), Error> {
        let (mut params, grads) = (params.params_mut(), grads.params());
        // Everything is checked before anything changes.
        if params.is_empty() {
            return Err(Error::Empty { what: "params" });
        }
        if grads.len() != params.len() {
            return Err(Error::Shape {
                what: "grads",
                expected: format!("{} matrices", params.len()),
                got: format!("{}", grads.len()),
            });
        }
        for (i, (p, g)) in params.iter().zip(&grads).enumerate() {
            if p.shape() != g.shape() {
                return Err(Error::Shape {
                    what: "grads",
                    expected: format!("grads[{i}] of shape {:?}", p.shape()),
                    got: format!("{:?}", g.shape()),
                });
            }
            if let Some(b) = self.buffers.get(i)
                && b.shape() != p.shape()
            {
                return Err(Error::Shape {
                    what: "params",
                    expected: format!(
                        "params[{i}] of shape {:?}, as at the first step",
                        b.shape()
                    ),
                    got: format!("{:?}", p.shape()),
                });
            }
            if let Some(k) = g.iter().position(|x| !x.is_finite()) {
                return Err(Error::NotFinite {
                    what: "gradients",
                    index: k,
                    value: g[k],
                });
            }
        }
        if !self.buffers.is_empty() && self.buffers.len() != params.len() {
            return Err(Error::Shape {
                what: "params",
                expected: format!(
                    "{} matrices, as at the first step",
                    self.buffers.len()
                ),
                got: format!("{}", params.len()),
            });
        }
        if self.buffers.is_empty() {
            self.buffers = params
                .iter()
                .map(|p| DMatrix::zeros(p.nrows(), p.ncols()))
                .collect();
        }
        let NesterovConfig { lr, momentum } = self.config;
        for ((p, g), d) in params.iter_mut().zip(grads).zip(&mut self.buffers) {
            for ((theta, &g), d) in p.iter_mut().zip(g.iter()).zip(d.iter_mut())
            {
                *d = momentum * *d + g;
                *theta -= lr * (g + momentum * *d);
            }
        }
        self.t += 1;
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.config.lr
    }

    fn set_learning_rate(&mut self, lr: f64) -> Result<(), Error> {
        check_lr(lr)?;
        self.config.lr = lr;
        Ok(())
    }

    fn steps(&self) -> usize {
        self.t
    }
}
