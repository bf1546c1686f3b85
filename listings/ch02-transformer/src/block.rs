//! The transformer block: multi-head self-attention and the feed-forward
//! network, each wrapped in a residual connection and a layer
//! normalization, either after the addition (post-LN, the original) or
//! before the sublayer (pre-LN, most current models).
//!
//! Book: section „Der Transformer-Block“ / "The transformer block" of
//! chapter 2.

use nalgebra::DMatrix;
use notation::{Error, Real};

use crate::ffn::{FeedForward, FeedForwardCache};
use crate::layer_norm::{LayerNorm, LayerNormCache};
use crate::multihead::{MultiHeadAttention, MultiHeadCache};
use crate::shape;

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

/// Everything the forward pass computed, kept for the backward pass.
#[derive(Clone, Debug, PartialEq)]
pub struct EncoderBlockCache<T: Real> {
    /// The block's input `X`.
    pub x: DMatrix<T>,
    /// Pre-LN only: `LN_1(X)`, the input of the attention.
    pub norm1: LayerNormCache<T>,
    /// The attention sublayer.
    pub attention: MultiHeadCache<T>,
    /// Pre-LN only: `LN_2(Z)`, the input of the feed-forward network.
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
        shape::len("γ of LN_1", &norm1.gamma, d, meaning)?;
        shape::len("γ of LN_2", &norm2.gamma, d, meaning)?;
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
        match self.norm_position {
            NormPosition::Post => {
                let attention = self.attention.forward(x, x, mask)?;
                // Residual: the sublayer adds to its input, then LN.
                let norm1 = self.norm1.forward(&(x + &attention.output))?;
                let z = norm1.output.clone();
                let ffn = self.ffn.forward(&z)?;
                let norm2 = self.norm2.forward(&(&z + &ffn.output))?;
                let output = norm2.output.clone();
                let x = x.clone();
                Ok(EncoderBlockCache {
                    x,
                    norm1,
                    attention,
                    norm2,
                    ffn,
                    z,
                    output,
                })
            }
            NormPosition::Pre => {
                // LN first; the residual path X → Z → Y carries X itself.
                let norm1 = self.norm1.forward(x)?;
                let u = &norm1.output;
                let attention = self.attention.forward(u, u, mask)?;
                let z = x + &attention.output;
                let norm2 = self.norm2.forward(&z)?;
                let ffn = self.ffn.forward(&norm2.output)?;
                let output = &z + &ffn.output;
                let x = x.clone();
                Ok(EncoderBlockCache {
                    x,
                    norm1,
                    attention,
                    norm2,
                    ffn,
                    z,
                    output,
                })
            }
        }
    }
}
// ANCHOR_END: block
