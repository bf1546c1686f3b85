//! Adam (Kingma & Ba 2015) and AdamW, Adam with decoupled weight decay
//! (Loshchilov & Hutter 2019).
//!
//! Book: section „Adam und AdamW“ / "Adam and AdamW" of chapter 3.

use nalgebra::DMatrix;
use notation::{Error, Params, Real, lit};

use crate::optimizer::{
    Epsilon, Optimizer, check_decay, check_learning_rate, check_weight_decay,
    lr_and_steps, prepare_step,
};

/// How weight decay with factor λ enters an Adam step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WeightDecay<T> {
    /// No weight decay.
    None,
    /// L2 regularisation, coupled: `g_t ← g_t + λ θ_t` before the moments,
    /// so the decay is divided by `√v̂` like the gradient
    /// (`torch.optim.Adam(weight_decay = λ)`).
    L2(T),
    /// Decoupled weight decay, AdamW (3.13): `θ ← θ − η λ θ` beside the
    /// Adam step, not through the moments (`torch.optim.AdamW`).
    Decoupled(T),
}

/// The configuration of [`Adam`]. There is no `Default`: the place of ε
/// must be chosen, with [`AdamConfig::new`], [`AdamConfig::adamw`] or the
/// PyTorch presets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamConfig<T> {
    /// The learning rate η. Default `1e-3`, the value Kingma & Ba (2015)
    /// recommend and the default of `torch.optim.Adam` and `AdamW`.
    pub lr: T,
    /// The decay β₁ of the first moment, `0 ≤ β₁ < 1`. Default `0.9`
    /// (Kingma & Ba 2015; PyTorch's `betas[0]`).
    pub beta1: T,
    /// The decay β₂ of the second moment, `0 ≤ β₂ < 1`. Default `0.999`
    /// (Kingma & Ba 2015; PyTorch's `betas[1]`).
    pub beta2: T,
    /// ε and where it sits, formula (3.7). Kingma & Ba and PyTorch:
    /// `Outside(1e-8)`.
    pub eps: Epsilon<T>,
    /// Weight decay. Default [`WeightDecay::None`] for Adam;
    /// [`AdamConfig::adamw`] sets `Decoupled(0.01)`, the default of
    /// `torch.optim.AdamW`.
    pub weight_decay: WeightDecay<T>,
    /// Divide the moments by `1 − βᵗ` (3.11). Default `true`, as in the
    /// paper and PyTorch; `false` exists to show what the correction does.
    pub bias_correction: bool,
}

impl<T: Real> AdamConfig<T> {
    /// Adam with the defaults of Kingma & Ba (2015) (η = 1e-3, β₁ = 0.9,
    /// β₂ = 0.999) and the given ε and its place; no weight decay.
    pub fn new(eps: Epsilon<T>) -> Self {
        AdamConfig {
            lr: lit(1e-3),
            beta1: lit(0.9),
            beta2: lit(0.999),
            eps,
            weight_decay: WeightDecay::None,
            bias_correction: true,
        }
    }

    /// AdamW: [`AdamConfig::new`] with decoupled weight decay λ = 0.01,
    /// the default of `torch.optim.AdamW` (PyTorch 2.x documentation).
    pub fn adamw(eps: Epsilon<T>) -> Self {
        AdamConfig {
            weight_decay: WeightDecay::Decoupled(lit(0.01)),
            ..Self::new(eps)
        }
    }

    /// `torch.optim.Adam`'s defaults: ε = 1e-8 outside the root.
    pub fn pytorch() -> Self {
        Self::new(Epsilon::Outside(lit(1e-8)))
    }

    /// `torch.optim.AdamW`'s defaults: ε = 1e-8 outside the root, λ = 0.01.
    pub fn pytorch_adamw() -> Self {
        Self::adamw(Epsilon::Outside(lit(1e-8)))
    }
}

/// Adam, formulas (3.10) to (3.12), and AdamW (3.13); ε placed as the
/// configuration says (3.7), bias correction on unless switched off.
///
/// Implemented form (as in PyTorch, without `amsgrad`):
/// `θ ← θ − η m̂ / D_ε(v̂)` with `m̂ = m / (1 − β₁ᵗ)`,
/// `v̂ = v / (1 − β₂ᵗ)`; PyTorch computes the same quantity as
/// `(η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)`, which differs only in
/// rounding.
#[derive(Debug, Clone)]
pub struct Adam<T: Real> {
    config: AdamConfig<T>,
    /// First moments m, one matrix per parameter.
    m: Vec<DMatrix<T>>,
    /// Second moments v, one matrix per parameter.
    v: Vec<DMatrix<T>>,
    t: usize,
}

impl<T: Real> Adam<T> {
    /// An optimizer with this configuration.
    ///
    /// # Errors
    /// `lr` or ε is not in `(0, ∞)`, β₁ or β₂ is not in `[0, 1)`, or the
    /// weight-decay factor is negative or not finite.
    pub fn new(config: AdamConfig<T>) -> Result<Self, Error> {
        check_learning_rate(config.lr)?;
        check_decay("β₁", "0 ≤ β₁ < 1", config.beta1)?;
        check_decay("β₂", "0 ≤ β₂ < 1", config.beta2)?;
        config.eps.check()?;
        match config.weight_decay {
            WeightDecay::None => {}
            WeightDecay::L2(l) | WeightDecay::Decoupled(l) => {
                check_weight_decay(l)?
            }
        }
        Ok(Adam {
            config,
            m: Vec::new(),
            v: Vec::new(),
            t: 0,
        })
    }

    /// The bias-corrected moments `(m̂, v̂)` of parameter `i` after the last
    /// step (`None` before the first step).
    pub fn corrected_moments(
        &self,
        i: usize,
    ) -> Option<(DMatrix<T>, DMatrix<T>)> {
        let (c1, c2) = self.corrections(self.t);
        let (m, v) = (self.m.get(i)?, self.v.get(i)?);
        Some((m / c1, v / c2))
    }

    /// The effective learning rate `η / D_ε(v̂_t)` of every coordinate of
    /// parameter `i` after the last step (`None` before the first step):
    /// the factor in front of `m̂_t` in (3.12), as `η / D_ε(·)` is the
    /// factor in front of `g_t` in AdaGrad and RMSProp.
    pub fn effective_learning_rates(&self, i: usize) -> Option<DMatrix<T>> {
        let AdamConfig { lr, eps, .. } = self.config;
        let (_, v_hat) = self.corrected_moments(i)?;
        Some(v_hat.map(|v| lr / eps.denominator(v)))
    }

    /// `(1 − β₁ᵗ, 1 − β₂ᵗ)`, or `(1, 1)` without bias correction.
    fn corrections(&self, t: usize) -> (T, T) {
        let AdamConfig {
            beta1,
            beta2,
            bias_correction,
            ..
        } = self.config;
        if !bias_correction {
            return (T::one(), T::one());
        }
        let t: T = lit(t as f64);
        (T::one() - beta1.powf(t), T::one() - beta2.powf(t))
    }
}

impl<T: Real> Adam<T> {
    /// [`Optimizer::step`], faster: one pass over each parameter's
    /// contiguous storage with the per-step constants folded as PyTorch
    /// folds them, `θ ← θ − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)`,
    /// so that the loop has one division and one square root per
    /// coordinate and the compiler vectorizes it. Same checks, same state,
    /// the same numbers up to rounding.
    ///
    /// ```text
    /// (3.10) to (3.13), as in `step`
    /// ```
    ///
    /// # Book
    /// Formeln (3.10) bis (3.13) in Kapitel 3, „Adam und AdamW“ /
    /// formulas (3.10) to (3.13) in chapter 3, "Adam and AdamW" (the book
    /// shows `step`).
    ///
    /// # Errors
    /// Those of [`Optimizer::step`].
    pub fn step_fast(
        &mut self,
        params: &mut dyn Params<T>,
        grads: &dyn Params<T>,
    ) -> Result<(), Error> {
        let t = self.t + 1;
        let (consts, update) = self.fused_constants(t);
        let (mut params, grads) =
            prepare_step(params, grads, &mut [&mut self.m, &mut self.v])?;
        let tensors = params.iter_mut().zip(grads).zip(&mut self.m);
        for (((p, g), m), v) in tensors.zip(&mut self.v) {
            let pass = Pass {
                p: p.as_mut_slice(),
                g: g.as_slice(),
                m: m.as_mut_slice(),
                v: v.as_mut_slice(),
                consts,
                update,
            };
            machine::wide!(fused_loop::<T>(pass): Pass<'_, T> => ());
        }
        self.t = t;
        Ok(())
    }

    /// The constants of step `t` for [`fused_loop`]: `(β₁, β₂, λ of L2,
    /// shrink factor of AdamW)` and the update with the bias corrections
    /// folded in.
    fn fused_constants(&self, t: usize) -> ((T, T, T, T), Update<T>) {
        let cfg = self.config;
        let (c1, c2) = self.corrections(t);
        let one = T::one();
        // Neutral values where a kind of decay is off: g + 0·θ = g (θ
        // finite) and θ · 1 = θ exactly, so one loop serves all three kinds.
        let (l2, shrink) = match cfg.weight_decay {
            WeightDecay::None => (T::zero(), one),
            WeightDecay::L2(lambda) => (lambda, one),
            WeightDecay::Decoupled(lambda) => {
                (T::zero(), one - cfg.lr * lambda)
            }
        };
        let step_size = cfg.lr / c1;
        let update = match cfg.eps {
            Epsilon::Outside(e) => Update::Outside {
                step_size,
                inv_sqrt_c2: one / c2.sqrt(),
                eps: e,
            },
            Epsilon::Inside(e) => Update::Inside {
                step_size,
                inv_c2: one / c2,
                eps: e,
            },
        };
        ((cfg.beta1, cfg.beta2, l2, shrink), update)
    }
}

/// The step size `θ ← θ − update(m, v)` of one pass, with ε in either
/// place and the bias corrections folded in.
#[derive(Clone, Copy)]
enum Update<T> {
    /// `η/c₁ · m / (√v · 1/√c₂ + ε)`, PyTorch's form.
    Outside {
        step_size: T,
        inv_sqrt_c2: T,
        eps: T,
    },
    /// `η/c₁ · m / √(v/c₂ + ε)`, the source text's form.
    Inside { step_size: T, inv_c2: T, eps: T },
}

/// One parameter's slices and the step's constants `(β₁, β₂, λ of L2,
/// shrink factor of AdamW)`.
struct Pass<'a, T> {
    p: &'a mut [T],
    g: &'a [T],
    m: &'a mut [T],
    v: &'a mut [T],
    consts: (T, T, T, T),
    update: Update<T>,
}

/// One pass over a parameter's coordinates: the moments (3.10), decay,
/// and `θ ← θ − update(m, v)`. Plain slices and a closure without
/// branches: a loop the compiler vectorizes. Its square root and division
/// make it compute-bound at SSE2's four lanes (the default target), so
/// `step_fast` runs it through `machine::wide!`, compiled for AVX-512 or
/// AVX2 where the CPU has them; every lane computes the same IEEE
/// operations, so the numbers are the same to the bit.
#[inline(always)]
fn fused_loop<T: Real>(pass: Pass<'_, T>) {
    let Pass {
        p,
        g,
        m,
        v,
        consts,
        update,
    } = pass;
    match update {
        Update::Outside {
            step_size,
            inv_sqrt_c2,
            eps,
        } => fused_aligned(p, g, m, v, consts, |m, v| {
            step_size * m / (v.sqrt() * inv_sqrt_c2 + eps)
        }),
        Update::Inside {
            step_size,
            inv_c2,
            eps,
        } => fused_aligned(p, g, m, v, consts, |m, v| {
            step_size * m / (v * inv_c2 + eps).sqrt()
        }),
    }
}

#[inline(always)]
fn fused_aligned<T: Real>(
    p: &mut [T],
    g: &[T],
    m: &mut [T],
    v: &mut [T],
    consts: (T, T, T, T),
    update: impl Fn(T, T) -> T,
) {
    let n = p.len();
    let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
    // The first few coordinates on their own, so that the main loop
    // starts at a 64-byte boundary of θ: the allocator aligns large
    // blocks to 16 bytes only, and a 64-byte vector load that straddles
    // two cache lines costs two. m, v and g, allocated alike, usually
    // share θ's offset and so are aligned too.
    let head = p.as_ptr().align_offset(64).min(n);
    let (p0, p1) = p.split_at_mut(head);
    let (m0, m1) = m.split_at_mut(head);
    let (v0, v1) = v.split_at_mut(head);
    let (g0, g1) = g.split_at(head);
    fused_range(p0, g0, m0, v0, consts, &update);
    fused_range(p1, g1, m1, v1, consts, &update);
}

#[inline(always)]
fn fused_range<T: Real>(
    p: &mut [T],
    g: &[T],
    m: &mut [T],
    v: &mut [T],
    (beta1, beta2, l2, shrink): (T, T, T, T),
    update: &impl Fn(T, T) -> T,
) {
    let (one, n) = (T::one(), p.len());
    let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
    for i in 0..n {
        let g = g[i] + l2 * p[i];
        m[i] = beta1 * m[i] + (one - beta1) * g;
        v[i] = beta2 * v[i] + (one - beta2) * g * g;
        p[i] = p[i] * shrink - update(m[i], v[i]);
    }
}

impl<T: Real> Optimizer<T> for Adam<T> {
    // ANCHOR: adam_step
    /// One Adam or AdamW step, in one pass over the coordinates.
    ///
    /// ```text
    /// m_t = β₁ m_{t−1} + (1 − β₁) g_t,  v_t = β₂ v_{t−1} + (1 − β₂) g_t²
    ///                                                  (3.10), m_0 = v_0 = 0
    /// m̂_t = m_t / (1 − β₁ᵗ),  v̂_t = v_t / (1 − β₂ᵗ)                (3.11)
    /// θ_{t+1} = θ_t − η m̂_t / (√v̂_t + ε)          (3.12), D_ε of (3.7)
    /// θ_{t+1} = θ_t − η (m̂_t / (√v̂_t + ε) + λ θ_t)     (3.13), AdamW
    /// ```
    ///
    /// # Errors
    /// Those of [`Optimizer::step`], which gives the shapes too: mismatched
    /// shapes, NaN or ±∞ in a gradient.
    ///
    /// # Book
    /// Formeln (3.10) bis (3.13) in Kapitel 3, „Adam und AdamW“ /
    /// formulas (3.10) to (3.13) in chapter 3, "Adam and AdamW".
    fn step(
        &mut self,
        params: &mut dyn Params<T>,
        grads: &dyn Params<T>,
    ) -> Result<(), Error> {
        let AdamConfig {
            lr,
            beta1,
            beta2,
            eps,
            weight_decay,
            ..
        } = self.config;
        let (mut params, grads) =
            prepare_step(params, grads, &mut [&mut self.m, &mut self.v])?;
        let t = self.t + 1;
        // The corrections depend on t only: computed once per step.
        let (c1, c2) = self.corrections(t);
        let one = T::one();
        let tensors = params.iter_mut().zip(grads).zip(&mut self.m);
        for (((p, g), m), v) in tensors.zip(&mut self.v) {
            let coords = p.iter_mut().zip(g.iter()).zip(m.iter_mut());
            for (((theta, &g), m), v) in coords.zip(v.iter_mut()) {
                let g = match weight_decay {
                    WeightDecay::L2(lambda) => g + lambda * *theta,
                    _ => g,
                };
                if let WeightDecay::Decoupled(lambda) = weight_decay {
                    // AdamW: shrink θ directly, before the Adam step, as
                    // PyTorch does (its `param.mul_(1 − lr · λ)`).
                    *theta *= one - lr * lambda;
                }
                *m = beta1 * *m + (one - beta1) * g;
                *v = beta2 * *v + (one - beta2) * g * g;
                let (m_hat, v_hat) = (*m / c1, *v / c2);
                *theta -= lr * m_hat / eps.denominator(v_hat);
            }
        }
        self.t = t;
        Ok(())
    }
    // ANCHOR_END: adam_step

    lr_and_steps!();
}
