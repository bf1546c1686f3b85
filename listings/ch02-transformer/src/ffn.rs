//! The position-wise feed-forward network: two linear layers with a
//! nonlinearity between them, applied to every token (row) on its own.
//!
//! Book: section „Feed-Forward-Netzwerk“ / "Feed-forward network" of
//! chapter 2.

use std::any::Any;

use nalgebra::DMatrix;
use notation::{Error, Real, lit, shape};

use crate::linear::Linear;
use crate::primitives::exp_f32;

/// The nonlinearity between the two layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// `max(0, x)`, as in Vaswani et al. (2017).
    Relu,
    /// The tanh approximation of the GELU of Hendrycks & Gimpel (2016),
    /// as in GPT-2; PyTorch's `F.gelu(x, approximate="tanh")`.
    GeluTanh,
}

// ANCHOR: activation
impl Activation {
    /// The activation of one number.
    ///
    /// ```text
    /// ReLU(x) = max(0, x)
    /// GELU(x) ≈ x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³)))       (2.10)
    /// ```
    ///
    /// # Book
    /// Formel (2.10) in Kapitel 2, „Feed-Forward-Netzwerk“ / formula
    /// (2.10) in chapter 2, "Feed-forward network".
    pub fn apply<T: Real>(self, x: T) -> T {
        match self {
            Activation::Relu => x.max(T::zero()),
            Activation::GeluTanh => {
                let (half, one) = (lit::<T>(0.5), T::one());
                let (u, _) = gelu_inner(x);
                half * x * (one + u.tanh())
            }
        }
    }

    /// Its derivative, for the backward pass. At the kink `x = 0` of the
    /// ReLU we take 0, as PyTorch does.
    pub fn derivative<T: Real>(self, x: T) -> T {
        match self {
            Activation::Relu => {
                if x > T::zero() {
                    T::one()
                } else {
                    T::zero()
                }
            }
            Activation::GeluTanh => {
                let (half, one) = (lit::<T>(0.5), T::one());
                let (u, du) = gelu_inner(x);
                let t = u.tanh();
                half * (one + t) + half * x * (one - t * t) * du
            }
        }
    }
}

/// `u = √(2/π) · (x + 0.044715 x³)`, the argument of tanh in the GELU,
/// and its derivative `du/dx`.
fn gelu_inner<T: Real>(x: T) -> (T, T) {
    let (c, three) = (lit::<T>(0.044715), lit::<T>(3.0));
    let sqrt_2_over_pi = (T::two_pi().recip() * lit::<T>(4.0)).sqrt();
    let u = sqrt_2_over_pi * (x + c * x * x * x);
    let du = sqrt_2_over_pi * (T::one() + three * c * x * x);
    (u, du)
}
// ANCHOR_END: activation

impl Activation {
    /// [`apply`](Self::apply) to every entry of `h`, in place, as
    /// [`FeedForward::forward_fast`] computes it: the tanh GELU as
    /// `x · σ(2u)` with one exponential per entry and no library tanh,
    /// compiled for wide vectors in f32. The same numbers for ReLU, the
    /// same within rounding for GELU. For callers that apply the
    /// activation to a buffer of their own (chapter 4's KV cache).
    pub fn apply_fast<T: Real>(self, h: &mut DMatrix<T>) {
        if self == Activation::Relu {
            h.apply(|x| *x = self.apply(*x));
            return;
        }
        let any: &mut dyn Any = &mut *h;
        if let Some(h32) = any.downcast_mut::<DMatrix<f32>>() {
            machine::wide!(
                gelu_f32((h32.as_mut_slice(), false)): (&mut [f32], bool) => ()
            );
            return;
        }
        h.apply(|x| *x = gelu_and_derivative(*x, |y: T| y.exp()).0);
    }
}

/// The feed-forward network `FFN(x) = act(x W_1 + b_1) W_2 + b_2`.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedForward<T: Real> {
    /// The first layer, `W_1`: `(d_model, d_ff)`, `b_1`: `d_ff`.
    pub lin1: Linear<T>,
    /// The second layer, `W_2`: `(d_ff, d_model)`, `b_2`: `d_model`.
    pub lin2: Linear<T>,
    /// The nonlinearity between them.
    pub activation: Activation,
}

notation::params!(FeedForward<T> {
    "w_1" => lin1.w, "b_1" => lin1.b,
    "w_2" => lin2.w, "b_2" => lin2.b,
});

/// Everything the forward pass computed, kept for the backward pass.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedForwardCache<T: Real> {
    /// `U = X W_1 + 1 b_1`, shape `(n, d_ff)`.
    pub hidden: DMatrix<T>,
    /// `act(U)`, the activations, shape `(n, d_ff)`.
    pub activated: DMatrix<T>,
    /// `Y = A W_2 + 1 b_2ᵀ`, shape `(n, d_model)`.
    pub output: DMatrix<T>,
}

impl<T: Real> FeedForward<T> {
    /// The network from its two layers.
    ///
    /// # Errors
    /// `W_2` does not map the `d_ff` outputs of `W_1` back to `d_model`.
    pub fn new(
        lin1: Linear<T>,
        lin2: Linear<T>,
        activation: Activation,
    ) -> Result<Self, Error> {
        let (d_model, d_ff) = (lin1.d_in(), lin1.d_out());
        shape::shape(
            "W_2",
            &lin2.w,
            (d_ff, d_model),
            "d_ff, d_model from W_1",
        )?;
        Ok(FeedForward {
            lin1,
            lin2,
            activation,
        })
    }
}

// ANCHOR: ffn
impl<T: Real> FeedForward<T> {
    /// Applies the network to every token (row) of `x` independently.
    ///
    /// ```text
    /// FFN(x) = max(0, x W_1 + b_1) W_2 + b_2                        (2.9)
    /// ```
    ///
    /// # Shapes
    /// `x`: `(n, d_model)` → hidden `(n, d_ff)` → output `(n, d_model)`.
    ///
    /// # Book
    /// Formel (2.9) in Kapitel 2, „Feed-Forward-Netzwerk“ / formula (2.9)
    /// in chapter 2, "Feed-forward network".
    ///
    /// # Errors
    /// `x` is empty or does not have `d_model` columns.
    pub fn forward(
        &self,
        x: &DMatrix<T>,
    ) -> Result<FeedForwardCache<T>, Error> {
        shape::non_empty("X", x)?;
        shape::cols("X", x, self.lin1.d_in(), "d_model, the rows of W_1")?;
        let hidden = self.lin1.forward(x)?;
        let activated = hidden.map(|h| self.activation.apply(h));
        let output = self.lin2.forward(&activated)?;
        Ok(FeedForwardCache {
            hidden,
            activated,
            output,
        })
    }
}
// ANCHOR_END: ffn

impl<T: Real> FeedForward<T> {
    /// [`forward`](Self::forward), faster: biases added column by column
    /// (see [`Linear::forward_fast`]), and the tanh GELU in the form
    /// `x/2 · (1 + tanh u) = x · σ(2u)`, `σ(z) = 1/(1 + e⁻ᶻ)`, one
    /// exponential per entry without a call to the library's tanh, which
    /// the compiler vectorizes in f32. The same cache; the same numbers
    /// for ReLU, the same within rounding for GELU.
    ///
    /// # Errors
    /// Those of [`forward`](Self::forward).
    pub fn forward_fast(
        &self,
        x: &DMatrix<T>,
    ) -> Result<FeedForwardCache<T>, Error> {
        shape::non_empty("X", x)?;
        shape::cols("X", x, self.lin1.d_in(), "d_model, the rows of W_1")?;
        let hidden = self.lin1.forward_fast(x)?;
        let activated = activate(self.activation, &hidden, false);
        let output = self.lin2.forward_fast(&activated)?;
        Ok(FeedForwardCache {
            hidden,
            activated,
            output,
        })
    }
}

/// The gradients of a scalar loss with respect to the input and the
/// parameters of the feed-forward network.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedForwardGrads<T: Real> {
    /// `∂L/∂X`, shape `(n, d_model)`.
    pub d_x: DMatrix<T>,
    /// `∂L/∂W_1`, `∂L/∂b_1` (and `∂L/∂H W_1ᵀ` as `d_x`).
    pub lin1: crate::linear::LinearGrads<T>,
    /// `∂L/∂W_2`, `∂L/∂b_2` (and `∂L/∂A` as `d_x`).
    pub lin2: crate::linear::LinearGrads<T>,
}

notation::params!(FeedForwardGrads<T> {
    "w_1" => lin1.d_w, "b_1" => lin1.d_b,
    "w_2" => lin2.d_w, "b_2" => lin2.d_b,
});

// ANCHOR: ffn_backward
impl<T: Real> FeedForward<T> {
    /// Backward pass of (2.9): two linear layers (2.18) and, between
    /// them, the derivative of the activation, element by element.
    ///
    /// ```text
    /// ∂L/∂A = ∂L/∂Y W_2ᵀ,   ∂L/∂H = ∂L/∂A ⊙ 1[H > 0],
    /// ∂L/∂X = ∂L/∂H W_1ᵀ,   ∂L/∂W_1 = Xᵀ ∂L/∂H,   ∂L/∂W_2 = Aᵀ ∂L/∂Y   (2.22)
    /// ```
    ///
    /// # Shapes
    /// `x`: `(n, d_model)`, `d_y`: `(n, d_model)` → `d_x`: `(n, d_model)`.
    ///
    /// # Book
    /// Formel (2.22) in Kapitel 2, „Rückwärts: die Gradienten“ / formula
    /// (2.22) in chapter 2, "Backward: the gradients".
    ///
    /// # Errors
    /// `x`, `cache` or `d_y` do not fit the network.
    pub fn backward(
        &self,
        x: &DMatrix<T>,
        cache: &FeedForwardCache<T>,
        d_y: &DMatrix<T>,
    ) -> Result<FeedForwardGrads<T>, Error> {
        let lin2 = self.lin2.backward(&cache.activated, d_y)?;
        // The activation acts on each entry alone: its Jacobian is
        // diagonal, and the product with it is element-wise.
        let act_prime = cache.hidden.map(|h| self.activation.derivative(h));
        let d_hidden = lin2.d_x.component_mul(&act_prime);
        let lin1 = self.lin1.backward(x, &d_hidden)?;
        Ok(FeedForwardGrads {
            d_x: lin1.d_x.clone(),
            lin1,
            lin2,
        })
    }
}
// ANCHOR_END: ffn_backward

impl<T: Real> FeedForward<T> {
    /// [`backward`](Self::backward), faster: the linear layers by
    /// [`Linear::backward_fast`], and the GELU's derivative as in
    /// [`forward_fast`](Self::forward_fast).
    ///
    /// # Errors
    /// Those of [`backward`](Self::backward).
    pub fn backward_fast(
        &self,
        x: &DMatrix<T>,
        cache: &FeedForwardCache<T>,
        d_y: &DMatrix<T>,
    ) -> Result<FeedForwardGrads<T>, Error> {
        let lin2 = self.lin2.backward_fast(&cache.activated, d_y)?;
        let act_prime = activate(self.activation, &cache.hidden, true);
        let d_hidden = lin2.d_x.component_mul(&act_prime);
        let lin1 = self.lin1.backward_fast(x, &d_hidden)?;
        Ok(FeedForwardGrads {
            d_x: lin1.d_x.clone(),
            lin1,
            lin2,
        })
    }
}

/// The tanh GELU (2.10) and its derivative at `x`, in the form
/// `x/2 · (1 + tanh u) = x · σ(2u)` with `σ(z) = 1 / (1 + e⁻ᶻ)`: one
/// exponential of a non-positive number, `e = exp(−|2u|)`, and no tanh,
/// so that a loop of them is vectorized. `σ(2u) = 1/(1 + e)` for `u ≥ 0`,
/// `e/(1 + e)` for `u < 0`; `σ'(z) = σ(z)(1 − σ(z)) = e/(1 + e)²`.
#[inline(always)]
fn gelu_and_derivative<T: Real>(x: T, exp: impl Fn(T) -> T) -> (T, T) {
    let (one, two) = (T::one(), T::one() + T::one());
    let (u, du) = gelu_inner(x);
    let z = two * u;
    let e = exp(-z.abs());
    let inv = one / (one + e);
    let s = if z >= T::zero() { inv } else { e * inv };
    let ds = e * inv * inv;
    (x * s, s + x * ds * two * du)
}

/// `act(H)` (`derivative = false`) or `act'(H)` (`true`), entry by
/// entry: ReLU as in [`Activation`]; the tanh
/// GELU by [`gelu_and_derivative`], with [`exp_f32`] in f32, compiled for
/// wide vectors.
fn activate<T: Real>(
    act: Activation,
    h: &DMatrix<T>,
    derivative: bool,
) -> DMatrix<T> {
    if act == Activation::Relu {
        return if derivative {
            h.map(|x| act.derivative(x))
        } else {
            h.map(|x| act.apply(x))
        };
    }
    let mut out = h.clone();
    let any: &mut dyn Any = &mut out;
    if let Some(out32) = any.downcast_mut::<DMatrix<f32>>() {
        machine::wide!(
            gelu_f32((out32.as_mut_slice(), derivative)):
                (&mut [f32], bool) => ()
        );
        return out;
    }
    for x in out.as_mut_slice() {
        let (value, slope) = gelu_and_derivative(*x, |y: T| y.exp());
        *x = if derivative { slope } else { value };
    }
    out
}

/// GELU (or its derivative) of every entry of `xs`, in place, in f32 with
/// [`exp_f32`]: the loop [`activate`] compiles for wide vectors.
#[inline(always)]
fn gelu_f32((xs, derivative): (&mut [f32], bool)) {
    for x in xs {
        let (value, slope) = gelu_and_derivative(*x, exp_f32);
        *x = if derivative { slope } else { value };
    }
}
