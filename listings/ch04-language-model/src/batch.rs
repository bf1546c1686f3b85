//! The loss and gradients of a whole minibatch at once: the fast form of
//! [`Model::loss_and_grads`] that [`Trainer::step_fast`] uses.
//!
//! The book's training step (`Trainer::step`) sends one window after the
//! other through [`Model::forward`] and [`Model::backward`]: `n × d_model`
//! matrices, small products. Here the `B` windows of a minibatch are
//! stacked into one `(B·n) × d_model` matrix, so that every layer that
//! treats tokens one at a time — layer norms, the projections `W_Q`,
//! `W_K`, `W_V`, `W_O`, the feed-forward networks, the output layer, the
//! cross-entropy — runs once on `B·n` rows, with chapter 2's `*_fast`
//! forward and backward passes. Only the attention itself is
//! computed window by window and head by head, with the causal mask, by
//! chapter 2's [`attention_fast_cached`] and [`attention_backward_fast`]
//! (the fast forms of `attention` and `attention_backward`). The mathematics
//! is that of [`Model::loss_and_grads`], averaged over the windows; a test
//! checks that both agree.
//!
//! [`Trainer::step_fast`]: crate::train::Trainer::step_fast

use ch01_probability::cross_entropy::cross_entropy_rows;
use ch02_transformer::attention::{
    Attention, attention_backward_fast, attention_fast_cached,
};
use ch02_transformer::block::{EncoderBlock, EncoderBlockGrads};
use ch02_transformer::fast::FastMask;
use ch02_transformer::ffn::FeedForwardCache;
use ch02_transformer::layer_norm::LayerNormCache;
use ch02_transformer::multihead::MultiHeadGrads;
use nalgebra::DMatrix;
use notation::{Error, Real};

use crate::model::{Model, ModelGrads};

/// What the forward pass of one pre-LN block over the stacked windows
/// keeps for its backward pass.
struct BlockCache<T: Real> {
    /// `LN_1(X)`.
    norm1: LayerNormCache<T>,
    /// Window `w`, head `i` at `w · h + i`: its `(Q_i, K_i, V_i)`, each
    /// `(n, d_k)`, and its attention.
    heads: Vec<(Head<T>, Attention<T>)>,
    /// `Concat(head_1, …, head_h)` of all windows.
    concat: DMatrix<T>,
    /// `LN_2(Z)`.
    norm2: LayerNormCache<T>,
    /// The feed-forward network on `LN_2(Z)`.
    ffn: FeedForwardCache<T>,
}

/// `(Q_i, K_i, V_i)` of one head of one window.
type Head<T> = (DMatrix<T>, DMatrix<T>, DMatrix<T>);

/// Rows `w·n .. (w+1)·n` and columns `i·d_k .. (i+1)·d_k`: head `i` of
/// window `w`.
fn part<T: Real>(
    m: &DMatrix<T>,
    w: usize,
    n: usize,
    i: usize,
    d_k: usize,
) -> DMatrix<T> {
    m.view((w * n, i * d_k), (n, d_k)).into_owned()
}

/// The pre-LN block (2.13) on the stacked windows `x`, each of `n` rows,
/// with the causal mask (2.5) inside every window.
fn block_forward<T: Real>(
    block: &EncoderBlock<T>,
    x: &DMatrix<T>,
    n: usize,
) -> Result<(DMatrix<T>, BlockCache<T>), Error> {
    let a = &block.attention;
    let (h, d_k) = (a.n_heads, a.d_k());
    let norm1 = block.norm1.forward_fast(x)?;
    let u = &norm1.output;
    let (q, k, v) = (
        a.w_q.forward_fast(u)?,
        a.w_k.forward_fast(u)?,
        a.w_v.forward_fast(u)?,
    );
    let mut heads = Vec::with_capacity(x.nrows() / n * h);
    let mut concat = DMatrix::zeros(x.nrows(), a.d_model());
    for w in 0..x.nrows() / n {
        for i in 0..h {
            let (qi, ki, vi) = (
                part(&q, w, n, i, d_k),
                part(&k, w, n, i, d_k),
                part(&v, w, n, i, d_k),
            );
            let head = attention_fast_cached(&qi, &ki, &vi, FastMask::Causal)?;
            concat
                .view_mut((w * n, i * d_k), (n, d_k))
                .copy_from(&head.output);
            heads.push(((qi, ki, vi), head));
        }
    }
    let z = x + a.w_o.forward_fast(&concat)?;
    let norm2 = block.norm2.forward_fast(&z)?;
    let ffn = block.ffn.forward_fast(&norm2.output)?;
    let y = &z + &ffn.output;
    let cache = BlockCache {
        norm1,
        heads,
        concat,
        norm2,
        ffn,
    };
    Ok((y, cache))
}

/// The backward pass of [`block_forward`] from `d_y = ∂L/∂Y`, as
/// `EncoderBlock::backward` (2.23) and `MultiHeadAttention::backward`
/// compute it for one window.
fn block_backward<T: Real>(
    block: &EncoderBlock<T>,
    c: &BlockCache<T>,
    n: usize,
    d_y: &DMatrix<T>,
) -> Result<EncoderBlockGrads<T>, Error> {
    let a = &block.attention;
    let (h, d_k) = (a.n_heads, a.d_k());
    // Y = Z + FFN(LN_2(Z)).
    let ffn = block.ffn.backward_fast(&c.norm2.output, &c.ffn, d_y)?;
    let norm2 = block.norm2.backward_fast(&c.norm2, &ffn.d_x)?;
    let d_z = d_y + &norm2.d_x;
    // Z = X + MultiHead(LN_1(X)): through W_O, the heads, W_Q, W_K, W_V.
    let w_o = a.w_o.backward_fast(&c.concat, &d_z)?;
    let shape = c.concat.shape();
    let mut d_q = DMatrix::zeros(shape.0, shape.1);
    let mut d_k_all = DMatrix::zeros(shape.0, shape.1);
    let mut d_v = DMatrix::zeros(shape.0, shape.1);
    for w in 0..d_y.nrows() / n {
        for i in 0..h {
            let ((q, k, v), head) = &c.heads[w * h + i];
            let d_head = part(&w_o.d_x, w, n, i, d_k);
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
    let norm1 = block.norm1.backward_fast(&c.norm1, &d_u)?;
    let d_x = &d_z + &norm1.d_x;
    let attention = MultiHeadGrads {
        d_x_q: w_q.d_x.clone(),
        d_x_kv,
        w_q,
        w_k,
        w_v,
        w_o,
    };
    Ok(EncoderBlockGrads {
        d_x,
        attention,
        norm1,
        ffn,
        norm2,
    })
}

impl<T: Real> Model<T> {
    /// The average cross-entropy over all predictions of `windows` (pairs
    /// of tokens and targets, all of the same length) and its gradient:
    /// the mean of [`Model::loss_and_grads`] over the windows, computed
    /// with the windows stacked (see the module documentation).
    ///
    /// # Errors
    /// `windows` is empty or its windows differ in length; those of
    /// [`Model::loss_and_grads`] for a window.
    pub fn batch_loss_and_grads(
        &self,
        windows: &[(&[usize], &[usize])],
    ) -> Result<(T, Vec<DMatrix<T>>), Error> {
        let Some(&(first, _)) = windows.first() else {
            return Err(Error::Empty { what: "windows" });
        };
        let n = first.len();
        for (w, (x, y)) in windows.iter().enumerate() {
            if x.len() != n || y.len() != n {
                return Err(Error::Shape {
                    what: "windows",
                    expected: format!(
                        "{n} tokens and {n} targets in every window, as in \
                         the first"
                    ),
                    got: format!(
                        "{} tokens and {} targets in window {w}",
                        x.len(),
                        y.len()
                    ),
                });
            }
        }
        // Each window's tokens are checked as the forward pass checks
        // them; the embedding rows (4.4) are stacked.
        let d = self.config.d_model;
        let mut h = DMatrix::zeros(windows.len() * n, d);
        let mut targets = Vec::with_capacity(windows.len() * n);
        for (w, (x, y)) in windows.iter().enumerate() {
            self.check_tokens(x)?;
            for (t, &x_t) in x.iter().enumerate() {
                for j in 0..d {
                    h[(w * n + t, j)] =
                        self.embedding[(x_t, j)] + self.positions[(t, j)];
                }
            }
            targets.extend_from_slice(y);
        }
        let mut caches = Vec::with_capacity(self.blocks.len());
        for block in &self.blocks {
            let (y, cache) = block_forward(block, &h, n)?;
            h = y;
            caches.push(cache);
        }
        let norm_f = self.norm_f.forward_fast(&h)?;
        let logits = self.head.forward_fast(&norm_f.output)?;
        // The mean over all B·n predictions: with windows of equal length
        // the mean of the windows' means.
        let (loss, d_logits) = cross_entropy_rows(&logits, &targets)?;
        let head = self.head.backward_fast(&norm_f.output, &d_logits)?;
        let norm_f = self.norm_f.backward_fast(&norm_f, &head.d_x)?;
        let mut d_h = norm_f.d_x.clone();
        let mut blocks = Vec::with_capacity(self.blocks.len());
        for (block, c) in self.blocks.iter().zip(&caches).rev() {
            let g = block_backward(block, c, n, &d_h)?;
            d_h = g.d_x.clone();
            blocks.push(g);
        }
        blocks.reverse();
        // (4.5): a lookup's gradient adds up over the positions.
        let mut embedding = DMatrix::zeros(self.config.vocab_size, d);
        for (w, (x, _)) in windows.iter().enumerate() {
            for (t, &x_t) in x.iter().enumerate() {
                let mut e_row = embedding.row_mut(x_t);
                e_row += d_h.row(w * n + t);
            }
        }
        let grads = ModelGrads {
            embedding,
            blocks,
            norm_f,
            head,
        };
        Ok((loss, grads.flatten()))
    }
}
