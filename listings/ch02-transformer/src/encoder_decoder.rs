//! The encoder-decoder transformer: an encoder stack reads the source
//! sequence, a decoder stack with masked self-attention and
//! cross-attention to the encoder's output writes the target sequence,
//! and a final linear layer with a softmax gives the distribution of the
//! next token.
//!
//! Book: section „Encoder und Decoder“ / "Encoder and decoder" of
//! chapter 2.

use ch01_probability::softmax::softmax_rows;
use nalgebra::DMatrix;
use notation::{Error, Real, lit, shape};
use rand_chacha::ChaCha8Rng;

use crate::block::{EncoderBlock, NormPosition};
use crate::ffn::{Activation, FeedForward, FeedForwardCache};
use crate::layer_norm::LayerNorm;
use crate::linear::Linear;
use crate::mask::causal_mask;
use crate::multihead::{MultiHeadAttention, MultiHeadCache};
use crate::positional::sinusoidal;
use crate::random;

/// One decoder block: masked self-attention, cross-attention to the
/// encoder's output (the "memory"), feed-forward network; each with a
/// residual connection and a layer normalization.
#[derive(Clone, Debug, PartialEq)]
pub struct DecoderBlock<T: Real> {
    /// Masked (causal) multi-head self-attention.
    pub self_attention: MultiHeadAttention<T>,
    /// Its layer normalization.
    pub norm1: LayerNorm<T>,
    /// Multi-head cross-attention: queries from the decoder, keys and
    /// values from the encoder's output.
    pub cross_attention: MultiHeadAttention<T>,
    /// Its layer normalization.
    pub norm2: LayerNorm<T>,
    /// The position-wise feed-forward network.
    pub ffn: FeedForward<T>,
    /// Its layer normalization.
    pub norm3: LayerNorm<T>,
    /// Post-LN (the original) or pre-LN.
    pub norm_position: NormPosition,
}

notation::params!(DecoderBlock<T> {
    "self_attn" => self_attention,
    "ln1" => norm1,
    "cross_attn" => cross_attention,
    "ln2" => norm2,
    "ffn" => ffn,
    "ln3" => norm3,
});

/// What the decoder block computed.
#[derive(Clone, Debug, PartialEq)]
pub struct DecoderBlockCache<T: Real> {
    /// The masked self-attention.
    pub self_attention: MultiHeadCache<T>,
    /// The cross-attention; its heads' weights show which source tokens
    /// each target token looked at.
    pub cross_attention: MultiHeadCache<T>,
    /// The feed-forward network.
    pub ffn: FeedForwardCache<T>,
    /// The block's output, shape `(n_tgt, d_model)`.
    pub output: DMatrix<T>,
}

// ANCHOR: decoder_block
impl<T: Real> DecoderBlock<T> {
    /// The decoder block applied to the target tokens `y` (already
    /// embedded), attending to the encoder's output `memory`.
    ///
    /// ```text
    /// Z_1 = LN_1(Y + MultiHead(Y, Y, Y; M_causal))
    /// Z_2 = LN_2(Z_1 + MultiHead(Z_1, X_enc, X_enc))                 (2.16)
    /// Out = LN_3(Z_2 + FFN(Z_2))
    /// ```
    ///
    /// (post-LN; pre-LN puts each `LN` on the sublayer's input instead,
    /// as in (2.13), and leaves the memory `X_enc` as it is.)
    ///
    /// # Shapes
    /// `y`: `(n_tgt, d_model)`, `memory` `X_enc`: `(n_src, d_model)`,
    /// `memory_mask`: `(n_tgt, n_src)` → `(n_tgt, d_model)`.
    ///
    /// # Book
    /// Formel (2.16) in Kapitel 2, „Encoder und Decoder“ / formula (2.16)
    /// in chapter 2, "Encoder and decoder".
    ///
    /// # Errors
    /// Those of the parts: widths other than `d_model`, a memory mask of
    /// another shape.
    pub fn forward(
        &self,
        y: &DMatrix<T>,
        memory: &DMatrix<T>,
        memory_mask: Option<&DMatrix<T>>,
    ) -> Result<DecoderBlockCache<T>, Error> {
        shape::non_empty("target Y", y)?;
        // Token t may not look at later target tokens: they are what the
        // decoder is asked to predict.
        let causal = causal_mask(y.nrows())?;
        let ln = |norm: &LayerNorm<T>, x: &DMatrix<T>| -> Result<_, Error> {
            Ok(norm.forward(x)?.output)
        };
        match self.norm_position {
            NormPosition::Post => {
                let sa = self.self_attention.forward(y, y, Some(&causal))?;
                let z1 = ln(&self.norm1, &(y + &sa.output))?;
                let ca =
                    self.cross_attention.forward(&z1, memory, memory_mask)?;
                let z2 = ln(&self.norm2, &(&z1 + &ca.output))?;
                let ffn = self.ffn.forward(&z2)?;
                let output = ln(&self.norm3, &(&z2 + &ffn.output))?;
                Ok(DecoderBlockCache {
                    self_attention: sa,
                    cross_attention: ca,
                    ffn,
                    output,
                })
            }
            NormPosition::Pre => {
                let u = ln(&self.norm1, y)?;
                let sa = self.self_attention.forward(&u, &u, Some(&causal))?;
                let z1 = y + &sa.output;
                let u = ln(&self.norm2, &z1)?;
                let ca =
                    self.cross_attention.forward(&u, memory, memory_mask)?;
                let z2 = &z1 + &ca.output;
                let ffn = self.ffn.forward(&ln(&self.norm3, &z2)?)?;
                let output = &z2 + &ffn.output;
                Ok(DecoderBlockCache {
                    self_attention: sa,
                    cross_attention: ca,
                    ffn,
                    output,
                })
            }
        }
    }
}
// ANCHOR_END: decoder_block

/// An encoder-decoder transformer as in Vaswani et al. (2017), without
/// dropout and with separate input and output embeddings.
#[derive(Clone, Debug, PartialEq)]
pub struct Transformer<T: Real> {
    /// Source embeddings, one row per source token id: `(V_src, d_model)`.
    pub src_embedding: DMatrix<T>,
    /// Target embeddings: `(V_tgt, d_model)`.
    pub tgt_embedding: DMatrix<T>,
    /// The encoder stack.
    pub encoder: Vec<EncoderBlock<T>>,
    /// The decoder stack.
    pub decoder: Vec<DecoderBlock<T>>,
    /// The final linear layer: `W_out` `(d_model, V_tgt)`, `b_out`.
    pub output: Linear<T>,
}

notation::params!(Transformer<T> {
    "src_emb" => src_embedding,
    "tgt_emb" => tgt_embedding,
    "encoder" => encoder,
    "decoder" => decoder,
    "output" => output,
});

/// What a forward pass of the whole model computed.
#[derive(Clone, Debug, PartialEq)]
pub struct TransformerOutput<T: Real> {
    /// The embedded source `E_src[x]·√d_model + PE`, `(n_src, d_model)`.
    pub src_input: DMatrix<T>,
    /// The encoder's output `X_enc` ("memory"), `(n_src, d_model)`.
    pub memory: DMatrix<T>,
    /// Each decoder block's output (the last is the decoder's output).
    pub decoder: Vec<DecoderBlockCache<T>>,
    /// The logits `D W_out + 1 b_out`, `(n_tgt, |𝒱_tgt|)`.
    pub logits: DMatrix<T>,
    /// Row `t`: the distribution of target token `t + 1`, `(n_tgt, V_tgt)`.
    pub probabilities: DMatrix<T>,
}

/// The sizes of a model for [`Transformer::random`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Source vocabulary size `V_src`.
    pub src_vocab: usize,
    /// Target vocabulary size `V_tgt`.
    pub tgt_vocab: usize,
    /// Model width `d_model`.
    pub d_model: usize,
    /// Number of heads `h`.
    pub n_heads: usize,
    /// Hidden width of the feed-forward networks `d_ff`.
    pub d_ff: usize,
    /// Number of encoder blocks and of decoder blocks `n_layers`.
    pub n_layers: usize,
}

impl Config {
    /// The toy model of chapter 2, „Ein vollständiger Vorwärtsdurchlauf“ /
    /// "A complete forward pass": `V_src = 10`, `V_tgt = 9`,
    /// `d_model = 8`, 2 heads, `d_ff = 16`, 2 blocks each. Its figure and
    /// its tests use it.
    pub const TOY: Config = Config {
        src_vocab: 10,
        tgt_vocab: 9,
        d_model: 8,
        n_heads: 2,
        d_ff: 16,
        n_layers: 2,
    };
}

/// Embeds token ids: row `t` is `E[tokens[t]] · √d_model + PE(t)`, as in
/// Vaswani et al. (2017), section 3.4.
pub fn embed<T: Real>(
    what: &'static str,
    embedding: &DMatrix<T>,
    tokens: &[usize],
) -> Result<DMatrix<T>, Error> {
    if tokens.is_empty() {
        return Err(Error::Empty { what });
    }
    let vocab = embedding.nrows();
    if let Some(t) = tokens.iter().position(|&id| id >= vocab) {
        return Err(Error::Index {
            what,
            expected: format!("token ids below the vocabulary size {vocab}"),
            got: format!("id {} at position {t}", tokens[t]),
        });
    }
    let d = embedding.ncols();
    let scale = lit::<T>(d as f64).sqrt();
    let pe = sinusoidal::<T>(tokens.len(), d)?;
    Ok(DMatrix::from_fn(tokens.len(), d, |t, j| {
        embedding[(tokens[t], j)] * scale + pe[(t, j)]
    }))
}

// ANCHOR: transformer
impl<T: Real> Transformer<T> {
    /// One complete forward pass: the source tokens through the encoder,
    /// the target tokens through the decoder (attending to the encoder's
    /// output), and the distribution of the next target token at every
    /// position.
    ///
    /// ```text
    /// X_enc = Encoder(E_src[x] √d_model + PE)
    /// D = Decoder(E_tgt[y] √d_model + PE, X_enc)
    /// P(y_{t+1} | y_1..y_t, x) = softmax(D_t W_out + b_out)          (2.17)
    /// ```
    ///
    /// # Shapes
    /// `src`: `n_src` token ids, `tgt`: `n_tgt` token ids →
    /// probabilities `(n_tgt, V_tgt)`.
    ///
    /// # Book
    /// Formel (2.17) in Kapitel 2, „Encoder und Decoder“ / formula (2.17)
    /// in chapter 2, "Encoder and decoder".
    ///
    /// # Errors
    /// An empty sequence or a token id outside the vocabulary.
    pub fn forward(
        &self,
        src: &[usize],
        tgt: &[usize],
    ) -> Result<TransformerOutput<T>, Error> {
        let src_input = embed("source tokens", &self.src_embedding, src)?;
        let mut memory = src_input.clone();
        for block in &self.encoder {
            memory = block.forward(&memory, None)?.output;
        }
        let mut y = embed("target tokens", &self.tgt_embedding, tgt)?;
        let mut decoder = Vec::with_capacity(self.decoder.len());
        for block in &self.decoder {
            let cache = block.forward(&y, &memory, None)?;
            y = cache.output.clone();
            decoder.push(cache);
        }
        let logits = self.output.forward(&y)?;
        let probabilities = softmax_rows(&logits)?;
        Ok(TransformerOutput {
            src_input,
            memory,
            decoder,
            logits,
            probabilities,
        })
    }
}
// ANCHOR_END: transformer

impl Transformer<f64> {
    /// A post-LN model of the sizes in `config` with random weights from
    /// `seed`: `W` entries N(0, 1/d_in), small biases, `γ = 1`, `β = 0`,
    /// embeddings N(0, 1/d_model). Untrained, but every number in it is
    /// reproducible.
    ///
    /// # Errors
    /// Sizes that do not fit (e.g. `d_model` not divisible by `n_heads`).
    pub fn random(config: &Config, seed: u64) -> Result<Self, Error> {
        let c = *config;
        let mut rng = random::rng(seed);
        let d = c.d_model;
        let emb_sigma = 1.0 / (d as f64).sqrt();
        let src_embedding = random::normal(&mut rng, c.src_vocab, d, emb_sigma);
        let tgt_embedding = random::normal(&mut rng, c.tgt_vocab, d, emb_sigma);
        let mut encoder = Vec::new();
        for _ in 0..c.n_layers {
            encoder.push(EncoderBlock::new(
                random_mha(&mut rng, d, c.n_heads)?,
                LayerNorm::identity(d)?,
                random_ffn(&mut rng, d, c.d_ff)?,
                LayerNorm::identity(d)?,
                NormPosition::Post,
            )?);
        }
        let mut decoder = Vec::new();
        for _ in 0..c.n_layers {
            decoder.push(DecoderBlock {
                self_attention: random_mha(&mut rng, d, c.n_heads)?,
                norm1: LayerNorm::identity(d)?,
                cross_attention: random_mha(&mut rng, d, c.n_heads)?,
                norm2: LayerNorm::identity(d)?,
                ffn: random_ffn(&mut rng, d, c.d_ff)?,
                norm3: LayerNorm::identity(d)?,
                norm_position: NormPosition::Post,
            });
        }
        let output = random_linear(&mut rng, d, c.tgt_vocab)?;
        Ok(Transformer {
            src_embedding,
            tgt_embedding,
            encoder,
            decoder,
            output,
        })
    }
}

fn random_linear(
    rng: &mut ChaCha8Rng,
    d_in: usize,
    d_out: usize,
) -> Result<Linear<f64>, Error> {
    let w = random::normal(rng, d_in, d_out, 1.0 / (d_in as f64).sqrt());
    let b = random::normal(rng, d_out, 1, 0.02);
    Linear::new(w, b.transpose())
}

fn random_mha(
    rng: &mut ChaCha8Rng,
    d: usize,
    h: usize,
) -> Result<MultiHeadAttention<f64>, Error> {
    MultiHeadAttention::new(
        h,
        random_linear(rng, d, d)?,
        random_linear(rng, d, d)?,
        random_linear(rng, d, d)?,
        random_linear(rng, d, d)?,
    )
}

fn random_ffn(
    rng: &mut ChaCha8Rng,
    d: usize,
    d_ff: usize,
) -> Result<FeedForward<f64>, Error> {
    FeedForward::new(
        random_linear(rng, d, d_ff)?,
        random_linear(rng, d_ff, d)?,
        Activation::Relu,
    )
}

/// The first decoder's cross-attention weights, averaged over heads:
/// row `t` says how much target token `t` looked at each source token.
pub fn mean_cross_attention<T: Real>(
    out: &TransformerOutput<T>,
) -> Option<DMatrix<T>> {
    let heads = &out.decoder.first()?.cross_attention.heads;
    let mut mean = heads.first()?.weights.clone() * T::zero();
    for h in heads {
        mean += &h.weights;
    }
    Some(mean / lit::<T>(heads.len() as f64))
}
