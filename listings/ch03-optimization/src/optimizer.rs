//! The one interface of all optimizers, the two conventions for ε, and the
//! checks every optimizer makes before it touches a parameter.
//!
//! Book: section „Optimierungsalgorithmen“ / "Optimization algorithms" of
//! chapter 3.

use nalgebra::DMatrix;
use notation::{Error, Params, ParamsExt, Real};

// ANCHOR: optimizer
/// One step of an iterative minimiser: what every optimizer of chapter 3
/// offers.
///
/// An optimizer is built from its configuration struct (one per method,
/// with documented defaults). It keeps state per parameter matrix (the
/// momentum buffer, AdaGrad's sum of squares, Adam's two moments); the
/// state is created, filled with zeros, at the first step and keeps the
/// shapes of that step.
///
/// # Book
/// Kapitel 3, „Optimierungsalgorithmen“ / chapter 3, "Optimization
/// algorithms".
pub trait Optimizer<T: Real> {
    /// Moves every parameter matrix of `params` one step using its
    /// gradient, the matrix at the same place in `grads`, in place: the
    /// matrices stay where they are (in a list, a layer, a model), and
    /// after the first step, which creates the state, nothing but two lists
    /// of references is allocated.
    ///
    /// # Shapes
    /// Walked in the order of [`Params`], `grads` has as many matrices as
    /// `params`, each of the same shape (`params[i]` and `grads[i]` below);
    /// after the first step, `params` keeps the shapes it had then.
    ///
    /// # Errors
    /// A different number of matrices, a shape mismatch, or a gradient entry
    /// that is NaN or infinite. Everything is checked before anything is
    /// changed: after an error, parameters and state are as they were, and
    /// the step is not counted.
    fn step(
        &mut self,
        params: &mut dyn Params<T>,
        grads: &dyn Params<T>,
    ) -> Result<(), Error>;

    /// The learning rate η that the next step uses.
    fn learning_rate(&self) -> T;

    /// Sets η for the next steps (a schedule calls this before each step).
    ///
    /// # Errors
    /// `lr` is not a positive finite number.
    fn set_learning_rate(&mut self, lr: T) -> Result<(), Error>;

    /// The number of steps taken so far (`t` after step `t`).
    fn steps(&self) -> usize;
}
// ANCHOR_END: optimizer

// ANCHOR: epsilon
/// Where the small constant ε sits in the denominator of AdaGrad, RMSProp
/// and Adam; the value of ε comes with its place.
///
/// ```text
/// D_ε(s) = √(s + ε)    Inside   (the source text's AdaGrad and RMSProp)
/// D_ε(s) = √s + ε      Outside  (PyTorch; Kingma & Ba's Adam)    (3.7)
/// ```
///
/// For `s ≫ ε²` (and `s ≫ ε`) both are `√s`; they differ when `s` is
/// small: in the first steps and for tiny gradients. At `s = 0`,
/// `Inside` gives `√ε` and `Outside` gives `ε`, so the largest possible
/// step factor `1 / D_ε(s)` is `1/√ε` or `1/ε`.
///
/// # Book
/// Formel (3.7) in Kapitel 3, „AdaGrad und RMSProp“ / formula (3.7) in
/// chapter 3, "AdaGrad and RMSProp".
///
/// # Example
/// ```
/// use ch03_optimization::Epsilon;
///
/// let s = 1e-4_f64; // a mean square gradient of 1e-4, so √s = 0.01
/// let inside = Epsilon::Inside(1e-4).denominator(s);
/// let outside = Epsilon::Outside(1e-4).denominator(s);
/// assert!((inside - 0.014142).abs() < 1e-6); // √(2e-4)
/// assert!((outside - 0.0101).abs() < 1e-12); // 0.01 + 1e-4
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Epsilon<T> {
    /// `√(s + ε)`, as the source text writes AdaGrad and RMSProp.
    Inside(T),
    /// `√s + ε`, as PyTorch implements AdaGrad, RMSProp, Adam and AdamW.
    Outside(T),
}

impl<T: Real> Epsilon<T> {
    /// The denominator `D_ε(s)` of formula (3.7) for a (mean) square `s`.
    #[inline]
    pub fn denominator(self, s: T) -> T {
        match self {
            Epsilon::Inside(eps) => (s + eps).sqrt(),
            Epsilon::Outside(eps) => s.sqrt() + eps,
        }
    }
}
// ANCHOR_END: epsilon

impl<T: Real> Epsilon<T> {
    /// The value of ε, wherever it sits.
    pub fn value(self) -> T {
        match self {
            Epsilon::Inside(eps) | Epsilon::Outside(eps) => eps,
        }
    }

    /// Checks `0 < ε < ∞`; with ε = 0 a coordinate whose gradients were
    /// all zero would compute 0 / 0.
    pub(crate) fn check(self) -> Result<(), Error> {
        positive_finite("epsilon ε", "0 < ε < ∞", self.value())
    }
}

/// Checks the learning rate: `0 < η < ∞` (NaN is refused too).
pub(crate) fn check_learning_rate<T: Real>(lr: T) -> Result<(), Error> {
    positive_finite("learning rate η", "0 < η < ∞", lr)
}

/// The accessors of [`Optimizer`] that read the learning rate and the step
/// count, written once for every optimizer of this crate: each keeps η in
/// `self.config.lr` and the number of steps in `self.t`.
macro_rules! lr_and_steps {
    () => {
        fn learning_rate(&self) -> T {
            self.config.lr
        }

        fn set_learning_rate(&mut self, lr: T) -> Result<(), Error> {
            $crate::optimizer::check_learning_rate(lr)?;
            self.config.lr = lr;
            Ok(())
        }

        fn steps(&self) -> usize {
            self.t
        }
    };
}
pub(crate) use lr_and_steps;

/// Checks a decay factor (β₁, β₂, γ, the momentum factor β): `0 ≤ β < 1`.
pub(crate) fn check_decay<T: Real>(
    what: &'static str,
    requirement: &'static str,
    beta: T,
) -> Result<(), Error> {
    // Written so that NaN, for which every comparison is false, fails.
    if beta >= T::zero() && beta < T::one() {
        Ok(())
    } else {
        Err(Error::Domain {
            what,
            requirement,
            value: beta.into(),
        })
    }
}

/// Checks a weight-decay factor: `0 ≤ λ < ∞`.
pub(crate) fn check_weight_decay<T: Real>(lambda: T) -> Result<(), Error> {
    if lambda >= T::zero() && lambda.is_finite() {
        Ok(())
    } else {
        Err(Error::Domain {
            what: "weight decay λ",
            requirement: "0 ≤ λ < ∞",
            value: lambda.into(),
        })
    }
}

fn positive_finite<T: Real>(
    what: &'static str,
    requirement: &'static str,
    x: T,
) -> Result<(), Error> {
    if x > T::zero() && x.is_finite() {
        Ok(())
    } else {
        Err(Error::Domain {
            what,
            requirement,
            value: x.into(),
        })
    }
}

/// The parameter matrices of one step (writable) and their gradients, in
/// the order of their traversal.
pub(crate) type StepLists<'a, T> =
    (Vec<&'a mut DMatrix<T>>, Vec<&'a DMatrix<T>>);

/// Checks one step's input before anything changes: as many gradients as
/// parameters, equal shapes, the shapes of the state (if it exists), and
/// finite gradients. Creates zero state matrices at the first step.
/// Returns the parameter matrices (writable) and the gradients, in the
/// order of their traversal ([`Params`]), as two lists of references:
/// nothing is copied.
///
/// Every vector in `states` (one per kind of state, e.g. `m` and `v`)
/// holds one matrix per parameter, or nothing before the first step.
pub(crate) fn prepare_step<'a, T: Real>(
    params: &'a mut dyn Params<T>,
    grads: &'a dyn Params<T>,
    states: &mut [&mut Vec<DMatrix<T>>],
) -> Result<StepLists<'a, T>, Error> {
    let (params, grads) = (params.params_mut(), grads.params());
    check_grads(&params, &grads)?;
    for state in states.iter() {
        if state.is_empty() {
            continue;
        }
        if state.len() != params.len() {
            return Err(Error::Shape {
                what: "params",
                expected: format!(
                    "{} matrices, as at the first step",
                    state.len()
                ),
                got: format!("{}", params.len()),
            });
        }
        for (i, (s, p)) in state.iter().zip(&params).enumerate() {
            if s.shape() != p.shape() {
                return Err(Error::Shape {
                    what: "params",
                    expected: format!(
                        "params[{i}] of shape {:?}, as at the first step",
                        s.shape()
                    ),
                    got: format!("{:?}", p.shape()),
                });
            }
        }
    }
    for state in states.iter_mut() {
        if state.is_empty() {
            state.extend(
                // Large state in 2 MiB pages, as PyTorch's allocator
                // gives its tensors (see `machine::zeros_in_large_pages`).
                params.iter().map(|p| {
                    machine::zeros_in_large_pages(p.nrows(), p.ncols())
                }),
            );
        }
    }
    Ok((params, grads))
}

/// As many gradients as parameters, of equal shapes, all entries finite.
pub(crate) fn check_grads<T: Real>(
    params: &[&mut DMatrix<T>],
    grads: &[&DMatrix<T>],
) -> Result<(), Error> {
    if params.is_empty() {
        return Err(Error::Empty { what: "params" });
    }
    if grads.len() != params.len() {
        return Err(Error::Shape {
            what: "grads",
            expected: format!("{} matrices, one per parameter", params.len()),
            got: format!("{}", grads.len()),
        });
    }
    let mut offset = 0;
    for (i, (p, g)) in params.iter().zip(grads).enumerate() {
        if p.shape() != g.shape() {
            return Err(Error::Shape {
                what: "grads",
                expected: format!(
                    "grads[{i}] of shape {:?} like params[{i}]",
                    p.shape()
                ),
                got: format!("{:?}", g.shape()),
            });
        }
        // NaN or ±∞ would spread into the state (Adam's v, AdaGrad's G)
        // and poison every later step, so the step is refused instead.
        // A branch-free pass over the contiguous storage first (it runs
        // at memory speed); the position is searched only if it fails.
        if all_finite(g.as_slice()) {
            offset += g.len();
            continue;
        }
        if let Some(k) = g.iter().position(|x| !x.is_finite()) {
            // nalgebra stores column by column; report the position row by
            // row, as the book writes matrices.
            let (r, c) = (k % g.nrows(), k / g.nrows());
            return Err(Error::NotFinite {
                what: "gradients (entries counted row by row through grads)",
                index: offset + r * g.ncols() + c,
                value: g[(r, c)].into(),
            });
        }
        offset += g.len();
    }
    Ok(())
}

/// Whether every entry is finite, in one vectorizable pass: `x − x` is 0
/// for a finite `x` and NaN for NaN and ±∞, and NaN survives the sums.
/// Sixteen separate sums, so the compiler may keep them in vector lanes.
// `x − x` is the point here, not a slip.
#[allow(clippy::eq_op)]
fn all_finite<T: Real>(xs: &[T]) -> bool {
    machine::wide!(all_finite_kernel::<T>(xs): &[T] => bool)
}

/// The body of [`all_finite`], compiled for wide vectors.
#[allow(clippy::eq_op)]
#[inline(always)]
fn all_finite_kernel<T: Real>(xs: &[T]) -> bool {
    const LANES: usize = 16;
    // The first entries on their own, so that the main loop reads whole
    // 64-byte cache lines (see `fused_aligned` in adam.rs).
    let (head, body) = xs.split_at(xs.as_ptr().align_offset(64).min(xs.len()));
    let mut acc = [T::zero(); LANES];
    let mut chunks = body.chunks_exact(LANES);
    for c in &mut chunks {
        for l in 0..LANES {
            acc[l] += c[l] - c[l];
        }
    }
    let rest = head.iter().chain(chunks.remainder()).map(|&x| x - x);
    let total = rest.chain(acc).fold(T::zero(), |a, b| a + b);
    total == T::zero()
}
