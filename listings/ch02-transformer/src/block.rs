//! The transformer block: multi-head self-attention and the feed-forward
//! network, each wrapped in a residual connection and a layer
//! normalization, either after the addition (post-LN, the original) or
//! before the sublayer (pre-LN, most current models).
//!
//! Book: section „Der Transformer-Block“ / "The transformer block" of
//! chapter 2.

use nalgebra::DMatrix;
use notation::{Error, Real, shape};

use crate::attention::{Attention, attention_backward_fast, attention_fast};
use crate::ffn::{FeedForward, FeedForwardCache, FeedForwardGrads};
use crate::layer_norm::{LayerNorm, LayerNormCache, LayerNormGrads};
use crate::multihead::{MultiHeadAttention, MultiHeadCache, MultiHeadGrads};

/// Where the layer normalization sits; chosen explicitly, because the
/// source text (and Vaswani et al. 2017) and most current models differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NormPosition {
    /// `LN(x + Sublayer(x))`: the original transformer, and PyTorch's
    /// `norm_first=False`.
    Post,
    /// `x + Sublayer(LN(x))`: GPT-2 and most current models, and
    /// PyTorch's `norm_first=True`.
    Pre,
}

/// One encoder block (with a causal mask it is also the block of a
/// decoder-only model such as GPT).
#[derive(Clone, Debug, PartialEq)]
pub struct EncoderBlock<T: Real> {
    /// Multi-head self-attention.
    pub attention: MultiHeadAttention<T>,
    /// The layer normalization of the attention sublayer.
    pub norm1: LayerNorm<T>,
    /// The position-wise feed-forward network.
    pub ffn: FeedForward<T>,
    /// The layer normalization of the feed-forward sublayer.
    pub norm2: LayerNorm<T>,
    /// Post-LN or pre-LN.
    pub norm_position: NormPosition,
}

// The parameters in the order of the computation of a pre-LN block (2.13).
notation::params!(EncoderBlock<T> {
    "ln1" => norm1,
    "attn" => attention,
    "ln2" => norm2,
    "ffn" => ffn,
});

/// Everything the forward pass computed, kept for the backward pass.
#[derive(Clone, Debug, PartialEq)]
pub struct EncoderBlockCache<T: Real> {
    /// The block's input `X`.
    pub x: DMatrix<T>,
    /// LN₁'s forward pass: of `X` (pre-LN) or of `X + MultiHead(X)`
    /// (post-LN).
    pub norm1: LayerNormCache<T>,
    /// The attention sublayer.
    pub attention: MultiHeadCache<T>,
    /// LN₂'s forward pass: of `Z` (pre-LN) or of `Z + FFN(Z)` (post-LN).
    pub norm2: LayerNormCache<T>,
    /// The feed-forward sublayer.
    pub ffn: FeedForwardCache<T>,
    /// `Z`, the output of the first sublayer (after its norm in post-LN).
    pub z: DMatrix<T>,
    /// The block's output `Y`, shape `(n, d_model)`.
    pub output: DMatrix<T>,
}

impl<T: Real> EncoderBlock<T> {
    /// A block from its parts.
    ///
    /// # Errors
    /// The parts do not agree on `d_model`.
    pub fn new(
        attention: MultiHeadAttention<T>,
        norm1: LayerNorm<T>,
        ffn: FeedForward<T>,
        norm2: LayerNorm<T>,
        norm_position: NormPosition,
    ) -> Result<Self, Error> {
        let d = attention.d_model();
        let meaning = "d_model of the attention";
        shape::row("γ of LN_1", &norm1.gamma, d, meaning)?;
        shape::row("γ of LN_2", &norm2.gamma, d, meaning)?;
        shape::rows("W_1 of the FFN", &ffn.lin1.w, d, meaning)?;
        Ok(EncoderBlock {
            attention,
            norm1,
            ffn,
            norm2,
            norm_position,
        })
    }
}

// ANCHOR: block
impl<T: Real> EncoderBlock<T> {
    /// The block applied to the tokens `x`, with an optional mask for the
    /// self-attention (padding, or causal in a decoder-only model).
    ///
    /// ```text
    /// post-LN:  Z = LN_1(X + MultiHead(X)),   Y = LN_2(Z + FFN(Z))  (2.12)
    /// pre-LN:   Z = X + MultiHead(LN_1(X)),   Y = Z + FFN(LN_2(Z))  (2.13)
    /// ```
    ///
    /// # Shapes
    /// `x`: `(n, d_model)`, `mask`: `(n, n)` → `(n, d_model)`.
    ///
    /// # Book
    /// Formeln (2.12) und (2.13) in Kapitel 2, „Der Transformer-Block“ /
    /// formulas (2.12) and (2.13) in chapter 2, "The transformer block".
    ///
    /// # Errors
    /// Those of the parts: `x` without `d_model` columns, a mask of
    /// another shape than `(n, n)`.
    pub fn forward(
        &self,
        x: &DMatrix<T>,
        mask: Option<&DMatrix<T>>,
    ) -> Result<EncoderBlockCache<T>, Error> {
        let (norm1, attention, z, norm2, ffn, y) = match self.norm_position {
            NormPosition::Post => {
                let attention = self.attention.forward(x, x, mask)?;
                // Residual: the sublayer adds to its input, then LN.
                let norm1 = self.norm1.forward(&(x + &attention.output))?;
                let z = norm1.output.clone();
                let ffn = self.ffn.forward(&z)?;
                let norm2 = self.norm2.forward(&(&z + &ffn.output))?;
                let y = norm2.output.clone();
                (norm1, attention, z, norm2, ffn, y)
            }
            NormPosition::Pre => {
                // LN first; the residual path X → Z → Y carries X itself.
                let norm1 = self.norm1.forward(x)?;
                let u = &norm1.output;
                let attention = self.attention.forward(u, u, mask)?;
                let z = x + &attention.output;
                let norm2 = self.norm2.forward(&z)?;
                let ffn = self.ffn.forward(&norm2.output)?;
                let y = &z + &ffn.output;
                (norm1, attention, z, norm2, ffn, y)
            }
        };
        Ok(EncoderBlockCache {
            x: x.clone(),
            norm1,
            attention,
            norm2,
            ffn,
            z,
            output: y,
        })
    }
}
// ANCHOR_END: block

/// The gradients of a scalar loss with respect to the block's input and
/// all its parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct EncoderBlockGrads<T: Real> {
    /// `∂L/∂X`, shape `(n, d_model)`.
    pub d_x: DMatrix<T>,
    /// The attention's parameters.
    pub attention: MultiHeadGrads<T>,
    /// `γ`, `β` of `LN_1`.
    pub norm1: LayerNormGrads<T>,
    /// The feed-forward network's parameters.
    pub ffn: FeedForwardGrads<T>,
    /// `γ`, `β` of `LN_2`.
    pub norm2: LayerNormGrads<T>,
}

notation::params!(EncoderBlockGrads<T> {
    "ln1" => norm1,
    "attn" => attention,
    "ln2" => norm2,
    "ffn" => ffn,
});

// ANCHOR: block_backward
impl<T: Real> EncoderBlock<T> {
    /// Backward pass of the block, (2.12) or (2.13), from `d_y = ∂L/∂Y`.
    /// A residual connection `R = X + F(X)` passes the gradient on twice,
    /// unchanged and through the sublayer:
    ///
    /// ```text
    /// ∂L/∂X = ∂L/∂R + J_F(X)ᵀ ∂L/∂R                                  (2.23)
    /// ```
    ///
    /// # Shapes
    /// `d_y`: `(n, d_model)` → `d_x`: `(n, d_model)`.
    ///
    /// # Book
    /// Formel (2.23) in Kapitel 2, „Rückwärts: die Gradienten“ / formula
    /// (2.23) in chapter 2, "Backward: the gradients".
    ///
    /// # Errors
    /// `d_y` does not have the shape of the output in `cache`.
    pub fn backward(
        &self,
        cache: &EncoderBlockCache<T>,
        d_y: &DMatrix<T>,
    ) -> Result<EncoderBlockGrads<T>, Error> {
        shape::shape("∂L/∂Y", d_y, cache.output.shape(), "n, d_model")?;
        let x = &cache.x;
        let (d_x, attention, norm1, ffn, norm2) = match self.norm_position {
            NormPosition::Post => {
                // Y = LN_2(R_2), R_2 = Z + FFN(Z).
                let norm2 = self.norm2.backward(&cache.norm2, d_y)?;
                let d_r2 = &norm2.d_x;
                let ffn = self.ffn.backward(&cache.z, &cache.ffn, d_r2)?;
                let d_z = d_r2 + &ffn.d_x;
                // Z = LN_1(R_1), R_1 = X + MultiHead(X, X).
                let norm1 = self.norm1.backward(&cache.norm1, &d_z)?;
                let d_r1 = &norm1.d_x;
                let attention =
                    self.attention.backward(x, x, &cache.attention, d_r1)?;
                let d_x = d_r1 + &attention.d_x_q + &attention.d_x_kv;
                (d_x, attention, norm1, ffn, norm2)
            }
            NormPosition::Pre => {
                // Y = Z + FFN(LN_2(Z)).
                let w = &cache.norm2.output;
                let ffn = self.ffn.backward(w, &cache.ffn, d_y)?;
                let norm2 = self.norm2.backward(&cache.norm2, &ffn.d_x)?;
                let d_z = d_y + &norm2.d_x;
                // Z = X + MultiHead(LN_1(X)).
                let u = &cache.norm1.output;
                let attention =
                    self.attention.backward(u, u, &cache.attention, &d_z)?;
                let d_u = &attention.d_x_q + &attention.d_x_kv;
                let norm1 = self.norm1.backward(&cache.norm1, &d_u)?;
                let d_x = &d_z + &norm1.d_x;
                (d_x, attention, norm1, ffn, norm2)
            }
        };
        Ok(EncoderBlockGrads {
            d_x,
            attention,
            norm1,
            ffn,
            norm2,
        })
    }
}
// ANCHOR_END: block_backward

/// `(Q_i, K_i, V_i)` of one head of one window, each `(n, d_k)`.
type Head<T> = (DMatrix<T>, DMatrix<T>, DMatrix<T>);

/// What [`EncoderBlock::forward_windows`] computed, kept for
/// [`EncoderBlock::backward_windows`].
#[derive(Clone, Debug, PartialEq)]
pub struct WindowsCache<T: Real> {
    /// `n`, the rows of one window.
    pub window: usize,
    /// `LN_1(X)` of all windows.
    pub norm1: LayerNormCache<T>,
    /// Window `w`, head `i` at `w · h + i`: its `(Q_i, K_i, V_i)` and its
    /// attention.
    pub heads: Vec<(Head<T>, Attention<T>)>,
    /// `Concat(head_1, …, head_h)` of all windows.
    pub concat: DMatrix<T>,
    /// `LN_2(Z)` of all windows.
    pub norm2: LayerNormCache<T>,
    /// The feed-forward network on `LN_2(Z)`.
    pub ffn: FeedForwardCache<T>,
    /// The block's output `Y` of all windows, `(B·n, d_model)`.
    pub output: DMatrix<T>,
}

/// Rows `w·n .. (w+1)·n` and columns `i·d_k .. (i+1)·d_k`: head `i` of
/// window `w`.
fn part<T: Real>(
    m: &DMatrix<T>,
    (w, n): (usize, usize),
    (i, d_k): (usize, usize),
) -> DMatrix<T> {
    m.view((w * n, i * d_k), (n, d_k)).into_owned()
}

impl<T: Real> EncoderBlock<T> {
    /// A pre-LN block (2.13) applied to `B` windows of `n` tokens each,
    /// stacked as the rows of `x` (`B·n` rows): the layer norms, the
    /// projections and the feed-forward network, which treat every token
    /// on its own, run once on all rows; the attention runs window by
    /// window and head by head, with `mask` inside every window. The same
    /// numbers as [`forward`](Self::forward) on each window, computed
    /// with the `*_fast` variants. For training on minibatches (chapter 4).
    ///
    /// # Shapes
    /// `x`: `(B·n, d_model)`, `mask`: `(n, n)` (the same for every window)
    /// → output
    /// `(B·n, d_model)`.
    ///
    /// # Errors
    /// A post-LN block (its backward pass through the stacked windows is
    /// not written; [`forward`](Self::forward) and
    /// [`backward`](Self::backward) handle it window by window); `n = 0`
    /// or `B·n` rows not a multiple of `n`; those of the parts.
    pub fn forward_windows(
        &self,
        x: &DMatrix<T>,
        n: usize,
        mask: Option<&DMatrix<T>>,
    ) -> Result<WindowsCache<T>, Error> {
        self.check_windows(x, n)?;
        let a = &self.attention;
        let (h, d_k) = (a.n_heads, a.d_k());
        let norm1 = self.norm1.forward_fast(x)?;
        let u = &norm1.output;
        let (q, k, v) = (
            a.w_q.forward_fast(u)?,
            a.w_k.forward_fast(u)?,
            a.w_v.forward_fast(u)?,
        );
        let b = x.nrows() / n;
        let mut heads = Vec::with_capacity(b * h);
        let mut concat = DMatrix::zeros(x.nrows(), a.d_model());
        for w in 0..b {
            for i in 0..h {
                let at = ((w, n), (i, d_k));
                let (qi, ki, vi) = (
                    part(&q, at.0, at.1),
                    part(&k, at.0, at.1),
                    part(&v, at.0, at.1),
                );
                let head = attention_fast(&qi, &ki, &vi, mask)?;
                concat
                    .view_mut((w * n, i * d_k), (n, d_k))
                    .copy_from(&head.output);
                heads.push(((qi, ki, vi), head));
            }
        }
        let z = x + a.w_o.forward_fast(&concat)?;
        let norm2 = self.norm2.forward_fast(&z)?;
        let ffn = self.ffn.forward_fast(&norm2.output)?;
        let output = &z + &ffn.output;
        Ok(WindowsCache {
            window: n,
            norm1,
            heads,
            concat,
            norm2,
            ffn,
            output,
        })
    }

    /// The backward pass of [`forward_windows`](Self::forward_windows)
    /// from `d_y = ∂L/∂Y` of all windows: the gradients of
    /// [`backward`](Self::backward) (2.23), summed over the windows.
    ///
    /// # Errors
    /// A post-LN block; `d_y` does not have the shape of the output.
    pub fn backward_windows(
        &self,
        c: &WindowsCache<T>,
        d_y: &DMatrix<T>,
    ) -> Result<EncoderBlockGrads<T>, Error> {
        self.check_windows(&c.output, c.window)?;
        shape::shape("∂L/∂Y", d_y, c.output.shape(), "B·n, d_model")?;
        let a = &self.attention;
        let (h, d_k, n) = (a.n_heads, a.d_k(), c.window);
        // Y = Z + FFN(LN_2(Z)).
        let ffn = self.ffn.backward_fast(&c.norm2.output, &c.ffn, d_y)?;
        let norm2 = self.norm2.backward_fast(&c.norm2, &ffn.d_x)?;
        let d_z = d_y + &norm2.d_x;
        // Z = X + MultiHead(LN_1(X)): through W_O, the heads, W_Q, W_K, W_V.
        let w_o = a.w_o.backward_fast(&c.concat, &d_z)?;
        let (rows, cols) = c.concat.shape();
        let mut d_q = DMatrix::zeros(rows, cols);
        let mut d_k_all = DMatrix::zeros(rows, cols);
        let mut d_v = DMatrix::zeros(rows, cols);
        for w in 0..rows / n {
            for i in 0..h {
                let ((q, k, v), head) = &c.heads[w * h + i];
                let d_head = part(&w_o.d_x, (w, n), (i, d_k));
                let g = attention_backward_fast(q, k, v, head, &d_head)?;
                let at = ((w * n, i * d_k), (n, d_k));
                d_q.view_mut(at.0, at.1).copy_from(&g.d_q);
                d_k_all.view_mut(at.0, at.1).copy_from(&g.d_k);
                d_v.view_mut(at.0, at.1).copy_from(&g.d_v);
            }
        }
        let u = &c.norm1.output;
        let w_q = a.w_q.backward_fast(u, &d_q)?;
        let w_k = a.w_k.backward_fast(u, &d_k_all)?;
        let w_v = a.w_v.backward_fast(u, &d_v)?;
        let d_x_kv = &w_k.d_x + &w_v.d_x;
        let d_u = &w_q.d_x + &d_x_kv;
        let norm1 = self.norm1.backward_fast(&c.norm1, &d_u)?;
        let attention = MultiHeadGrads {
            d_x_q: w_q.d_x.clone(),
            d_x_kv,
            w_q,
            w_k,
            w_v,
            w_o,
        };
        Ok(EncoderBlockGrads {
            d_x: &d_z + &norm1.d_x,
            attention,
            norm1,
            ffn,
            norm2,
        })
    }

    /// A pre-LN block and whole windows of `n ≥ 1` rows.
    fn check_windows(&self, x: &DMatrix<T>, n: usize) -> Result<(), Error> {
        if self.norm_position != NormPosition::Pre {
            return Err(Error::Config {
                what: "norm position of the block",
                expected: "pre-LN (2.13) for stacked windows".into(),
                got: "post-LN (2.12); use forward and backward per window"
                    .into(),
            });
        }
        if n == 0 || !x.nrows().is_multiple_of(n) {
            return Err(Error::Shape {
                what: "stacked windows X",
                expected: format!("a multiple of the window length n = {n}"),
                got: format!("{} rows", x.nrows()),
            });
        }
        Ok(())
    }
}
