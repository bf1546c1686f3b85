//! The decoder-only transformer: token embedding, sinusoidal positions,
//! pre-LN blocks with causal self-attention, a final layer norm and a
//! linear layer to the logits. Every piece except the embedding comes
//! from chapters 1 and 2.
//!
//! Book: section „Das Modell“ / "The model" of chapter 4.

use ch01_probability::cross_entropy::cross_entropy_rows;
use ch02_transformer::block::{
    EncoderBlock, EncoderBlockCache, EncoderBlockGrads, NormPosition,
};
use ch02_transformer::ffn::{Activation, FeedForward};
use ch02_transformer::layer_norm::{LayerNorm, LayerNormCache, LayerNormGrads};
use ch02_transformer::linear::{Linear, LinearGrads};
use ch02_transformer::mask::causal_mask;
use ch02_transformer::multihead::MultiHeadAttention;
use ch02_transformer::positional::sinusoidal;
use ch02_transformer::random::{normal, rng};
use nalgebra::DMatrix;
use notation::{Error, Params, ParamsExt, Real, lit};

/// The sizes of a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// `V`, the number of characters.
    pub vocab_size: usize,
    /// `n_ctx`, the longest sequence the model reads at once.
    pub context: usize,
    /// `d_model`, the width of every token's vector.
    pub d_model: usize,
    /// `h`, the number of attention heads (a divisor of `d_model`).
    pub n_heads: usize,
    /// The number of transformer blocks.
    pub n_layers: usize,
    /// `d_ff`, the hidden width of the feed-forward networks.
    pub d_ff: usize,
}

impl Config {
    /// The program's default model (chapter 4, „Training“ / "Training"):
    /// `n_ctx = 64`, `d_model = 64`, 4 heads, 2 blocks, `d_ff = 256`;
    /// `vocab_size` is set from the corpus.
    pub const PROGRAM: Config = Config {
        vocab_size: 0,
        context: 64,
        d_model: 64,
        n_heads: 4,
        n_layers: 2,
        d_ff: 256,
    };

    /// Checks that every size is positive and `h` divides `d_model`.
    ///
    /// # Errors
    /// A size is 0, or `n_heads` does not divide `d_model`.
    pub fn check(&self) -> Result<(), Error> {
        let sizes = [
            ("vocabulary size V", self.vocab_size),
            ("context n_ctx", self.context),
            ("d_model", self.d_model),
            ("n_heads", self.n_heads),
            ("n_layers", self.n_layers),
            ("d_ff", self.d_ff),
        ];
        for (what, n) in sizes {
            if n == 0 {
                return Err(Error::Domain {
                    what,
                    requirement: "≥ 1",
                    value: 0.0,
                });
            }
        }
        if !self.d_model.is_multiple_of(self.n_heads) {
            return Err(Error::Config {
                what: "n_heads",
                expected: format!("a divisor of d_model = {}", self.d_model),
                got: format!("{}", self.n_heads),
            });
        }
        Ok(())
    }

    /// The name and shape of every parameter matrix, in the order of the
    /// model's traversal ([`Params`]): the shapes of [`Model::blank`].
    /// Vectors (biases, `γ`, `β`) are one row. Empty if the sizes fail
    /// [`Config::check`].
    pub fn parameter_shapes(&self) -> Vec<(String, (usize, usize))> {
        Model::<f64>::blank(*self)
            .map(|m| m.param_shapes())
            .unwrap_or_default()
    }

    /// The number of trainable numbers.
    pub fn n_parameters(&self) -> usize {
        self.parameter_shapes()
            .iter()
            .map(|(_, (r, c))| r * c)
            .sum()
    }
}

/// The language model. The feed-forward networks use the tanh GELU of
/// GPT-2 (2.10); the blocks are pre-LN (2.13).
#[derive(Clone, Debug, PartialEq)]
pub struct Model<T: Real> {
    /// The sizes.
    pub config: Config,
    /// The token embedding `E`, shape `(V, d_model)`: row `c` is the
    /// vector of character `c`.
    pub embedding: DMatrix<T>,
    /// The sinusoidal positional encodings (2.15) of positions
    /// `0 .. n_ctx`, shape `(n_ctx, d_model)`; fixed, not trained.
    pub positions: DMatrix<T>,
    /// The transformer blocks of chapter 2, pre-LN.
    pub blocks: Vec<EncoderBlock<T>>,
    /// The final layer normalization.
    pub norm_f: LayerNorm<T>,
    /// The linear layer to the logits, `W` of shape `(d_model, V)`.
    pub head: Linear<T>,
}

// ANCHOR: model_params
// The names are those of the checkpoint: `tok_emb`, `blocks.0.ln1.gamma`,
// `blocks.0.attn.w_q`, ..., `ln_f.beta`, `head.w`, `head.b`.
notation::params!(Model<T> {
    "tok_emb" => embedding,
    "blocks" => blocks,
    "ln_f" => norm_f,
    "head" => head,
});
// ANCHOR_END: model_params

/// Everything the forward pass computed, kept for the backward pass.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelCache<T: Real> {
    /// The input tokens.
    pub tokens: Vec<usize>,
    /// One cache per block.
    pub blocks: Vec<EncoderBlockCache<T>>,
    /// The final layer normalization.
    pub norm_f: LayerNormCache<T>,
    /// The logits, shape `(n, V)`: row `t` scores the token after `t`.
    pub logits: DMatrix<T>,
}

/// The gradients of a scalar loss with respect to every parameter, and
/// (through [`Params`]) the same names and order as the parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelGrads<T: Real> {
    /// `∂L/∂E`, shape `(V, d_model)`.
    pub embedding: DMatrix<T>,
    /// One per block, in the order of the blocks.
    pub blocks: Vec<EncoderBlockGrads<T>>,
    /// The final layer normalization.
    pub norm_f: LayerNormGrads<T>,
    /// The output layer.
    pub head: LinearGrads<T>,
}

// The gradients, named and ordered as the parameters of the model.
notation::params!(ModelGrads<T> {
    "tok_emb" => embedding,
    "blocks" => blocks,
    "ln_f" => norm_f,
    "head" => head,
});

/// The gradient matrices, in the order of the model's parameters.
impl<'a, T: Real> IntoIterator for &'a ModelGrads<T> {
    type Item = &'a DMatrix<T>;
    type IntoIter = std::vec::IntoIter<&'a DMatrix<T>>;

    fn into_iter(self) -> Self::IntoIter {
        self.params().into_iter()
    }
}

impl<T: Real> Model<T> {
    /// A model with random weights, reproducible with `seed`: embedding
    /// entries N(0, 1) (as `torch.nn.Embedding`), weights of a linear
    /// layer with `d_in` inputs N(0, 1/d_in) (so that a layer keeps the
    /// variance of its input), biases 0, `γ = 1`, `β = 0`.
    ///
    /// # Errors
    /// `config` fails [`Config::check`].
    pub fn new(config: Config, seed: u64) -> Result<Self, Error> {
        let mut model = Model::blank(config)?;
        let mut r = rng(seed);
        model.visit_params_mut(&mut |name, p| {
            let (rows, cols) = p.shape();
            if name == "tok_emb" {
                *p = normal(&mut r, rows, cols, 1.0).map(lit);
            } else if rows > 1 {
                let std = 1.0 / (rows as f64).sqrt();
                *p = normal(&mut r, rows, cols, std).map(lit);
            }
            // Rows (biases, γ, β) keep the values of `blank`.
        });
        Ok(model)
    }

    /// The model with every weight and bias 0, `γ = 1` and `β = 0`: the
    /// architecture, which fixes the name and shape of every parameter;
    /// [`Model::new`] fills in random weights, a checkpoint its own.
    ///
    /// # Errors
    /// `config` fails [`Config::check`].
    pub fn blank(config: Config) -> Result<Self, Error> {
        config.check()?;
        let (v, d, f) = (config.vocab_size, config.d_model, config.d_ff);
        let linear = |d_in, d_out| {
            Linear::new(DMatrix::zeros(d_in, d_out), DMatrix::zeros(1, d_out))
        };
        let mut blocks = Vec::with_capacity(config.n_layers);
        for _ in 0..config.n_layers {
            let (w_q, w_k) = (linear(d, d)?, linear(d, d)?);
            let (w_v, w_o) = (linear(d, d)?, linear(d, d)?);
            let attention =
                MultiHeadAttention::new(config.n_heads, w_q, w_k, w_v, w_o)?;
            let ffn = FeedForward::new(
                linear(d, f)?,
                linear(f, d)?,
                Activation::GeluTanh,
            )?;
            blocks.push(EncoderBlock::new(
                attention,
                LayerNorm::identity(d)?,
                ffn,
                LayerNorm::identity(d)?,
                NormPosition::Pre,
            )?);
        }
        Ok(Model {
            config,
            embedding: DMatrix::zeros(v, d),
            positions: sinusoidal(config.context, d)?,
            blocks,
            norm_f: LayerNorm::identity(d)?,
            head: linear(d, v)?,
        })
    }
}

impl<T: Real> Model<T> {
    /// Checks a window of tokens: `1 ≤ n ≤ n_ctx` indices below `V`.
    pub(crate) fn check_tokens(&self, tokens: &[usize]) -> Result<(), Error> {
        let (n, c) = (tokens.len(), self.config);
        if n == 0 {
            return Err(Error::Empty { what: "tokens" });
        }
        if n > c.context {
            return Err(Error::Shape {
                what: "tokens",
                expected: format!("at most n_ctx = {} tokens", c.context),
                got: format!("{n} tokens"),
            });
        }
        if let Some(i) = tokens.iter().position(|&t| t >= c.vocab_size) {
            return Err(Error::Index {
                what: "tokens",
                expected: format!("indices below V = {}", c.vocab_size),
                got: format!("{} at position {i}", tokens[i]),
            });
        }
        Ok(())
    }
}

// ANCHOR: model_forward
impl<T: Real> Model<T> {
    /// The logits of the next token after each position of `tokens`.
    ///
    /// ```text
    /// X⁽⁰⁾ = E[x_1..x_n] + PE[0..n]                                (4.4)
    /// X⁽ˡ⁾ = Block_l(X⁽ˡ⁻¹⁾; M_causal),  l = 1, …, n_layers  (2.13), (2.5)
    /// Z = LN(X⁽ⁿ_layers⁾) W_out + 1 b_out,  P(x_{t+1} | x_{≤t}) = softmax(z_t)
    /// ```
    ///
    /// Row `t` of `E[x_1..x_n]` is row `x_t` of the embedding `E`; the
    /// causal mask (2.5) lets position `t` see positions `≤ t` only, so
    /// row `t` of `Z` depends on `x_1 … x_t` alone.
    ///
    /// # Shapes
    /// `tokens`: `1 ≤ n ≤ n_ctx` indices below `V` → logits `(n, V)`.
    ///
    /// # Book
    /// Formel (4.4) in Kapitel 4, „Das Modell“ / formula (4.4) in
    /// chapter 4, "The model".
    ///
    /// # Errors
    /// `tokens` is empty, longer than `n_ctx`, or holds an index `≥ V`.
    pub fn forward(&self, tokens: &[usize]) -> Result<ModelCache<T>, Error> {
        self.check_tokens(tokens)?;
        let (n, c) = (tokens.len(), self.config);
        // The embedding is a table lookup: row x_t of E for token t.
        let mut h = DMatrix::from_fn(n, c.d_model, |t, j| {
            self.embedding[(tokens[t], j)] + self.positions[(t, j)]
        });
        let mask = causal_mask::<T>(n)?;
        let mut blocks = Vec::with_capacity(self.blocks.len());
        for block in &self.blocks {
            let cache = block.forward(&h, Some(&mask))?;
            h = cache.output.clone();
            blocks.push(cache);
        }
        let norm_f = self.norm_f.forward(&h)?;
        let logits = self.head.forward(&norm_f.output)?;
        Ok(ModelCache {
            tokens: tokens.to_vec(),
            blocks,
            norm_f,
            logits,
        })
    }
}
// ANCHOR_END: model_forward

// ANCHOR: model_backward
impl<T: Real> Model<T> {
    /// The gradients of every parameter from `d_logits = ∂L/∂Z`: back
    /// through the output layer (2.18), the final norm (2.21), the blocks
    /// in reverse order (2.23), and into the embedding.
    ///
    /// ```text
    /// ∂L/∂E_c = Σ_{t : x_t = c} ∂L/∂X⁽⁰⁾_t                          (4.5)
    /// ```
    ///
    /// A lookup copies row `c` of `E` to every position holding `c`, so
    /// its gradient adds the gradients of those positions; rows of
    /// characters that do not occur get 0. The positional encodings are
    /// fixed and need no gradient.
    ///
    /// # Shapes
    /// `d_logits`: `(n, V)` like the cache's logits.
    ///
    /// # Book
    /// Formel (4.5) in Kapitel 4, „Das Modell“ / formula (4.5) in
    /// chapter 4, "The model".
    ///
    /// # Errors
    /// `d_logits` does not have the shape of the logits.
    pub fn backward(
        &self,
        cache: &ModelCache<T>,
        d_logits: &DMatrix<T>,
    ) -> Result<ModelGrads<T>, Error> {
        if d_logits.shape() != cache.logits.shape() {
            return Err(Error::Shape {
                what: "∂L/∂Z",
                expected: format!("shape {:?}", cache.logits.shape()),
                got: format!("shape {:?}", d_logits.shape()),
            });
        }
        let head = self.head.backward(&cache.norm_f.output, d_logits)?;
        let norm_f = self.norm_f.backward(&cache.norm_f, &head.d_x)?;
        let mut d_h = norm_f.d_x.clone();
        let mut blocks = Vec::with_capacity(self.blocks.len());
        for (block, c) in self.blocks.iter().zip(&cache.blocks).rev() {
            let g = block.backward(c, &d_h)?;
            d_h = g.d_x.clone();
            blocks.push(g);
        }
        blocks.reverse();
        let mut embedding = DMatrix::zeros(self.config.vocab_size, d_h.ncols());
        for (t, &x_t) in cache.tokens.iter().enumerate() {
            let mut e_row = embedding.row_mut(x_t);
            e_row += d_h.row(t);
        }
        Ok(ModelGrads {
            embedding,
            blocks,
            norm_f,
            head,
        })
    }
}
// ANCHOR_END: model_backward

// ANCHOR: sequence_loss
impl<T: Real> Model<T> {
    /// The average cross-entropy of predicting `targets[t]` from
    /// `tokens[..=t]`, and its gradient for every parameter.
    ///
    /// ```text
    /// J = −(1/n) Σ_t log P(x_{t+1} | x_{≤t}) = (1/n) Σ_t ℓ(z_t, x_{t+1})
    /// ```
    ///
    /// This is the negative log-likelihood (1.3) of the autoregressive
    /// factorization (4.1) per token; `ℓ` and its gradient
    /// `softmax(z) − e_y` are (1.18) and (1.19) of chapter 1.
    ///
    /// # Shapes
    /// `tokens`, `targets`: `n` indices each, `1 ≤ n ≤ n_ctx`.
    ///
    /// # Book
    /// Kapitel 4, „Training“ / chapter 4, "Training".
    ///
    /// # Errors
    /// Those of [`Model::forward`]; `targets` of another length or with an
    /// index `≥ V`.
    pub fn loss_and_grads(
        &self,
        tokens: &[usize],
        targets: &[usize],
    ) -> Result<(T, ModelGrads<T>), Error> {
        let cache = self.forward(tokens)?;
        let (loss, d_logits) = cross_entropy_rows(&cache.logits, targets)?;
        let grads = self.backward(&cache, &d_logits)?;
        Ok((loss, grads))
    }

    /// The average cross-entropy (nats per token) without gradients.
    ///
    /// # Errors
    /// As [`Model::loss_and_grads`].
    pub fn loss(
        &self,
        tokens: &[usize],
        targets: &[usize],
    ) -> Result<T, Error> {
        let cache = self.forward(tokens)?;
        Ok(cross_entropy_rows(&cache.logits, targets)?.0)
    }
}
// ANCHOR_END: sequence_loss
