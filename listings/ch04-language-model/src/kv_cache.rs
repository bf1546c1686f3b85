//! The key-value cache: generating one more token costs one row of work
//! per block instead of a pass over the whole window.
//!
//! Book: section „Der KV-Cache“ / "The KV cache" of chapter 4,
//! „Text erzeugen“ / "Generating text".

use ch01_probability::softmax::softmax;
use ch02_transformer::attention::attention_output_fast;
use ch02_transformer::block::NormPosition;
use ch02_transformer::linear::Linear;
use ch02_transformer::mask::causal_mask;
use nalgebra::{DMatrix, DVector};
use notation::{Error, Real, lit};

use crate::model::Model;

/// The keys and values of every block for the tokens read so far: row
/// `j` of block `l`'s `K` is `k_j = u_j W_K + b_K` of the token at
/// position `j`, all heads side by side (head `i` in the columns
/// `i·d_k .. (i+1)·d_k`, as in chapter 2's `K = U W_K`); likewise `V`.
///
/// The memory is allocated once for `n_ctx` tokens: `2 · n_layers ·
/// n_ctx · d_model` numbers, `2 · d_k` per block, head and token.
#[derive(Clone, Debug, PartialEq)]
pub struct KvCache<T: Real> {
    /// Per block: `K`, shape `(n_ctx, d_model)`; rows `0 .. len` hold
    /// the keys of the tokens read so far.
    k: Vec<DMatrix<T>>,
    /// Per block: `V`, shape `(n_ctx, d_model)`, filled like `k`.
    v: Vec<DMatrix<T>>,
    /// The number `t` of tokens read: the next token has position `t`.
    len: usize,
}

impl<T: Real> KvCache<T> {
    /// An empty cache for `model`: room for `n_ctx` tokens in every block.
    pub fn new(model: &Model<T>) -> Self {
        let c = model.config;
        let empty = || DMatrix::zeros(c.context, c.d_model);
        KvCache {
            k: (0..c.n_layers).map(|_| empty()).collect(),
            v: (0..c.n_layers).map(|_| empty()).collect(),
            len: 0,
        }
    }

    /// The number of tokens read so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// No token read yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The most tokens the cache holds, `n_ctx`.
    pub fn capacity(&self) -> usize {
        self.k.first().map_or(0, |k| k.nrows())
    }

    /// Forgets every token (the memory stays allocated).
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// The keys of block `l` of the tokens read, shape `(len, d_model)`.
    ///
    /// # Panics
    /// `l` is not a block of the model.
    pub fn keys(&self, l: usize) -> DMatrix<T> {
        self.k[l].rows(0, self.len).into_owned()
    }

    /// The values of block `l` of the tokens read, shape `(len, d_model)`.
    ///
    /// # Panics
    /// `l` is not a block of the model.
    pub fn values(&self, l: usize) -> DMatrix<T> {
        self.v[l].rows(0, self.len).into_owned()
    }

    /// The number of entries the cache holds when full,
    /// `2 · n_layers · n_ctx · d_model`.
    pub fn n_entries(&self) -> usize {
        self.k.iter().chain(&self.v).map(|m| m.len()).sum()
    }
}

impl<T: Real> Model<T> {
    /// Checks that `cache` was made for this model's sizes, has room for
    /// one more token, and that `token` is below `V`.
    fn check_cache(
        &self,
        cache: &KvCache<T>,
        token: usize,
    ) -> Result<(), Error> {
        let c = self.config;
        let fits = cache.k.len() == c.n_layers
            && cache.v.len() == c.n_layers
            && cache
                .k
                .iter()
                .chain(&cache.v)
                .all(|m| m.shape() == (c.context, c.d_model));
        if !fits {
            return Err(Error::Config {
                what: "KV cache",
                expected: format!(
                    "{} blocks of (n_ctx, d_model) = ({}, {})",
                    c.n_layers, c.context, c.d_model
                ),
                got: format!(
                    "{} blocks of {:?}",
                    cache.k.len(),
                    cache.k.first().map(|m| m.shape())
                ),
            });
        }
        if cache.len >= c.context {
            return Err(Error::Shape {
                what: "KV cache",
                expected: format!("at most n_ctx = {} tokens", c.context),
                got: format!("a token at position {}", cache.len),
            });
        }
        if token >= c.vocab_size {
            return Err(Error::Index {
                what: "token",
                expected: format!("an index below V = {}", c.vocab_size),
                got: format!("{token} at position {}", cache.len),
            });
        }
        if self
            .blocks
            .iter()
            .any(|b| b.norm_position != NormPosition::Pre)
        {
            return Err(Error::Config {
                what: "blocks",
                expected: "pre-LN blocks (2.13), as Model::new makes".into(),
                got: "a post-LN block".into(),
            });
        }
        Ok(())
    }
}

// ANCHOR: kv_cache
impl<T: Real> Model<T> {
    /// Reads one more token `x_t` at position `t = cache.len()`: its row
    /// goes through every block, where its key and value are appended to
    /// the cache and its query attends to all cached keys. Returns the
    /// logits `z_t` of the next token, the last row of [`Model::forward`]
    /// on all tokens read.
    ///
    /// ```text
    /// K_i,≤t = [K_i,≤t−1; x_t W_i^K],  V_i,≤t = [V_i,≤t−1; x_t W_i^V]
    /// head_i(x_t) = softmax(x_t W_i^Q K_i,≤tᵀ / √d_k) V_i,≤t       (4.7)
    /// ```
    ///
    /// `x_t` is the token's row after `LN_1`; the projections add their
    /// biases. Row `t` of the causal mask (2.5) is 0 for every key
    /// `j ≤ t`, so the one query needs no mask; rows `j < t` of `K` and
    /// `V` depend on `x_1 … x_j` alone and do not change when `x_t`
    /// arrives. The head's scores `K q_iᵀ / √d_k` and output `Vᵀ p` are
    /// products of a matrix and a vector; a linear layer on the one row is
    /// `(Wᵀ xᵀ)ᵀ`, see [`linear_row`].
    ///
    /// # Shapes
    /// One token → logits `(V)`; per block the work is one row:
    /// `u_t`, `q_t`, `k_t`, `v_t`: `(1, d_model)`.
    ///
    /// # Book
    /// Formel (4.7) in Kapitel 4, „Text erzeugen“ / formula (4.7) in
    /// chapter 4, "Generating text".
    ///
    /// # Errors
    /// The cache is full (`n_ctx` tokens) or not made for this model;
    /// `token ≥ V`; a post-LN block.
    pub fn forward_cached(
        &self,
        cache: &mut KvCache<T>,
        token: usize,
    ) -> Result<DVector<T>, Error> {
        self.check_cache(cache, token)?;
        let (t, d) = (cache.len, self.config.d_model);
        // x_t = E[x_t] + PE[t]: one row (4.4).
        let mut x = DMatrix::from_fn(1, d, |_, j| {
            self.embedding[(token, j)] + self.positions[(t, j)]
        });
        for (l, block) in self.blocks.iter().enumerate() {
            let a = &block.attention;
            let u = block.norm1.forward(&x)?.output; // x_t of (4.7)
            let q = linear_row(&a.w_q, &u);
            // Append k_t and v_t as row t.
            cache.k[l].row_mut(t).copy_from(&linear_row(&a.w_k, &u));
            cache.v[l].row_mut(t).copy_from(&linear_row(&a.w_v, &u));
            let mut concat = DMatrix::zeros(1, d);
            let d_k = a.d_k();
            let scale = T::one() / lit::<T>(d_k as f64).sqrt();
            for i in 0..a.n_heads {
                // Head i: its columns of q_t and of rows 0..=t of K, V.
                let c = i * d_k;
                let q_i = q.columns(c, d_k).row(0).transpose();
                let k_i = cache.k[l].view((0, c), (t + 1, d_k));
                let v_i = cache.v[l].view((0, c), (t + 1, d_k));
                // Row t of the causal mask is 0 for every key j ≤ t.
                let p = softmax(&((k_i * q_i) * scale))?;
                concat.columns_mut(c, d_k).tr_copy_from(&v_i.tr_mul(&p));
            }
            // The rest of the pre-LN block (2.13), for row t alone.
            let z = &x + linear_row(&a.w_o, &concat);
            let w = block.norm2.forward(&z)?.output;
            let f = &block.ffn;
            let hidden = linear_row(&f.lin1, &w).map(|h| f.activation.apply(h));
            x = &z + linear_row(&f.lin2, &hidden);
        }
        cache.len = t + 1;
        let u = self.norm_f.forward(&x)?.output;
        let z = linear_row(&self.head, &u);
        Ok(z.row(0).transpose())
    }
}
// ANCHOR_END: kv_cache

/// Chapter 2's linear layer `x W + b` (2.1) for one row `x`, computed as
/// `(Wᵀ xᵀ)ᵀ + b`: each entry is the dot product of `x` with a column of
/// `W`, which nalgebra stores contiguously. (`x * W` on a single row takes
/// nalgebra's path for small products, several times slower.)
pub fn linear_row<T: Real>(lin: &Linear<T>, x: &DMatrix<T>) -> DMatrix<T> {
    lin.w.tr_mul(&x.transpose()).transpose() + &lin.b
}

impl<T: Real> Model<T> {
    /// Reads `tokens` into an emptied `cache` in one pass over the whole
    /// window and returns the logits of the token after the last one:
    /// [`Model::forward`]'s last row, and the keys and values that
    /// [`Model::forward_cached`] would have appended token by token.
    /// Computed with chapter 2's `*_fast` layers and `attention_output_fast`
    /// with the causal mask; the final norm and the output layer only for the
    /// last row, the only one that generating needs.
    ///
    /// # Errors
    /// Those of [`Model::forward`]; a cache not made for this model.
    pub fn prefill(
        &self,
        cache: &mut KvCache<T>,
        tokens: &[usize],
    ) -> Result<DVector<T>, Error> {
        cache.clear();
        self.check_cache(cache, 0)?;
        self.check_tokens(tokens)?;
        let (n, d) = (tokens.len(), self.config.d_model);
        let mut x = DMatrix::from_fn(n, d, |t, j| {
            self.embedding[(tokens[t], j)] + self.positions[(t, j)]
        });
        let mask = causal_mask(n)?;
        for (l, block) in self.blocks.iter().enumerate() {
            let a = &block.attention;
            let d_k = a.d_k();
            let u = block.norm1.forward_fast(&x)?.output;
            let q = a.w_q.forward_fast(&u)?;
            let k = a.w_k.forward_fast(&u)?;
            let v = a.w_v.forward_fast(&u)?;
            let mut concat = DMatrix::zeros(n, d);
            for i in 0..a.n_heads {
                let cols =
                    |m: &DMatrix<T>| m.columns(i * d_k, d_k).into_owned();
                let (q_i, k_i, v_i) = (cols(&q), cols(&k), cols(&v));
                let head =
                    attention_output_fast(&q_i, &k_i, &v_i, Some(&mask))?;
                concat.columns_mut(i * d_k, d_k).copy_from(&head);
            }
            cache.k[l].rows_mut(0, n).copy_from(&k);
            cache.v[l].rows_mut(0, n).copy_from(&v);
            let z = &x + a.w_o.forward_fast(&concat)?;
            let w = block.norm2.forward_fast(&z)?.output;
            x = &z + &block.ffn.forward_fast(&w)?.output;
        }
        cache.len = n;
        let last = x.rows(n - 1, 1).into_owned();
        let u = self.norm_f.forward(&last)?.output;
        Ok(linear_row(&self.head, &u).row(0).transpose())
    }
}
