//! Multi-head attention: `h` attentions side by side on `h` slices of the
//! projected queries, keys and values, joined and projected once more.
//!
//! Book: section „Multi-Head-Attention“ / "Multi-head attention" of
//! chapter 2.

use nalgebra::DMatrix;
use notation::{Error, Real, shape};

use crate::attention::kernel::{Cols, attend};
use crate::attention::{
    Attention, attention, attention_backward, attention_fast,
};
use crate::linear::{Linear, LinearGrads};
use crate::mask::check_mask;

/// The parameters of multi-head attention with `h = n_heads` heads of
/// width `d_k = d_v = d_model / h`, as in Vaswani et al. (2017).
///
/// The per-head projections `W_i^Q` (shape `(d_model, d_k)`) are the
/// column blocks `i·d_k .. (i+1)·d_k` of `w_q` (shape
/// `(d_model, d_model)`); likewise for `W_i^K`, `W_i^V`. Multiplying by all
/// of `W_Q` at once and slicing afterwards gives the same numbers as `h`
/// separate products.
#[derive(Clone, Debug, PartialEq)]
pub struct MultiHeadAttention<T: Real> {
    /// The number of heads `h`.
    pub n_heads: usize,
    /// Queries: `W_Q` `(d_model, d_model)` with bias `b_Q`.
    pub w_q: Linear<T>,
    /// Keys: `W_K` `(d_model, d_model)` with bias `b_K`.
    pub w_k: Linear<T>,
    /// Values: `W_V` `(d_model, d_model)` with bias `b_V`.
    pub w_v: Linear<T>,
    /// Output: `W_O` `(h·d_v, d_model) = (d_model, d_model)` with bias
    /// `b_O`.
    pub w_o: Linear<T>,
}

notation::params!(MultiHeadAttention<T> {
    "w_q" => w_q.w, "b_q" => w_q.b,
    "w_k" => w_k.w, "b_k" => w_k.b,
    "w_v" => w_v.w, "b_v" => w_v.b,
    "w_o" => w_o.w, "b_o" => w_o.b,
});

/// Everything the forward pass computed, kept for the backward pass.
#[derive(Clone, Debug, PartialEq)]
pub struct MultiHeadCache<T: Real> {
    /// `Q = X_q W_Q + 1 b_Qᵀ`, shape `(n_q, d_model)`.
    pub q: DMatrix<T>,
    /// `K = X_kv W_K + 1 b_Kᵀ`, shape `(n_k, d_model)`.
    pub k: DMatrix<T>,
    /// `V = X_kv W_V + 1 b_Vᵀ`, shape `(n_k, d_model)`.
    pub v: DMatrix<T>,
    /// One attention per head; head `i` has output `(n_q, d_v)`.
    pub heads: Vec<Attention<T>>,
    /// `Concat(head_1, ..., head_h)`, shape `(n_q, d_model)`.
    pub concat: DMatrix<T>,
    /// The result `Concat(...) W_O + 1 b_Oᵀ`, shape `(n_q, d_model)`.
    pub output: DMatrix<T>,
}

impl<T: Real> MultiHeadAttention<T> {
    /// Multi-head attention from its four linear layers.
    ///
    /// # Errors
    /// `n_heads = 0`; `d_model` (the rows of `W_Q`) not divisible by
    /// `n_heads`; a weight matrix that is not `(d_model, d_model)`.
    pub fn new(
        n_heads: usize,
        w_q: Linear<T>,
        w_k: Linear<T>,
        w_v: Linear<T>,
        w_o: Linear<T>,
    ) -> Result<Self, Error> {
        let d_model = w_q.d_in();
        if n_heads == 0 || !d_model.is_multiple_of(n_heads) {
            return Err(Error::Config {
                what: "n_heads",
                expected: format!("a divisor of d_model = {d_model}"),
                got: format!("{n_heads}"),
            });
        }
        let square = (d_model, d_model);
        let meaning = "d_model × d_model, d_model from W_Q";
        shape::shape("W_Q", &w_q.w, square, meaning)?;
        shape::shape("W_K", &w_k.w, square, meaning)?;
        shape::shape("W_V", &w_v.w, square, meaning)?;
        shape::shape("W_O", &w_o.w, square, meaning)?;
        Ok(MultiHeadAttention {
            n_heads,
            w_q,
            w_k,
            w_v,
            w_o,
        })
    }

    /// The model width `d_model`.
    pub fn d_model(&self) -> usize {
        self.w_q.d_in()
    }

    /// The width of one head, `d_k = d_v = d_model / h`.
    pub fn d_k(&self) -> usize {
        self.d_model() / self.n_heads
    }
}

// ANCHOR: multihead
impl<T: Real> MultiHeadAttention<T> {
    /// Multi-head attention of the queries from `x_q` over the keys and
    /// values from `x_kv`: self-attention when both are the same `X`,
    /// cross-attention when `x_kv` is the encoder's output.
    ///
    /// ```text
    /// MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W_O          (2.7)
    /// head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V)                 (2.8)
    /// MultiHead(Π X) = Π MultiHead(X)   (self-attention, no mask)   (2.14)
    /// ```
    ///
    /// # Shapes
    /// `x_q`: `(n_q, d_model)`, `x_kv`: `(n_k, d_model)`, `mask`:
    /// `(n_q, n_k)`. Per head: `Q_i`: `(n_q, d_k)`, `K_i`: `(n_k, d_k)`,
    /// `V_i`: `(n_k, d_k)`, `head_i`: `(n_q, d_k)`. Concatenated:
    /// `(n_q, h·d_k) = (n_q, d_model)`; output `(n_q, d_model)`.
    ///
    /// # Book
    /// Formeln (2.7), (2.8) und (2.14) in Kapitel 2,
    /// „Multi-Head-Attention“ und „Positionskodierung“ / formulas (2.7),
    /// (2.8) and (2.14) in chapter 2, "Multi-head attention" and
    /// "Positional encoding".
    ///
    /// # Errors
    /// `x_q` or `x_kv` empty or without `d_model` columns; those of
    /// [`attention`] for the mask.
    pub fn forward(
        &self,
        x_q: &DMatrix<T>,
        x_kv: &DMatrix<T>,
        mask: Option<&DMatrix<T>>,
    ) -> Result<MultiHeadCache<T>, Error> {
        let (d_model, d_k) = (self.d_model(), self.d_k());
        shape::non_empty("X_q", x_q)?;
        shape::non_empty("X_kv", x_kv)?;
        shape::cols("X_q", x_q, d_model, "d_model")?;
        shape::cols("X_kv", x_kv, d_model, "d_model")?;
        // All heads' projections in one product each: the columns
        // i·d_k .. (i+1)·d_k of Q are X_q W_i^Q.
        let q = self.w_q.forward(x_q)?;
        let k = self.w_k.forward(x_kv)?;
        let v = self.w_v.forward(x_kv)?;
        let mut heads = Vec::with_capacity(self.n_heads);
        let mut concat = DMatrix::zeros(x_q.nrows(), d_model);
        for i in 0..self.n_heads {
            let cols = |m: &DMatrix<T>| m.columns(i * d_k, d_k).into_owned();
            let head = attention(&cols(&q), &cols(&k), &cols(&v), mask)?;
            concat.columns_mut(i * d_k, d_k).copy_from(&head.output);
            heads.push(head);
        }
        let output = self.w_o.forward(&concat)?;
        Ok(MultiHeadCache {
            q,
            k,
            v,
            heads,
            concat,
            output,
        })
    }
}
// ANCHOR_END: multihead

impl<T: Real> MultiHeadAttention<T> {
    /// [`forward`](Self::forward), computed with the fast variants: the
    /// projections by [`Linear::forward_fast`], each head by
    /// [`attention_fast`]. The same arguments and the same cache.
    ///
    /// # Errors
    /// Those of [`forward`](Self::forward) and [`attention_fast`].
    pub fn forward_fast(
        &self,
        x_q: &DMatrix<T>,
        x_kv: &DMatrix<T>,
        mask: Option<&DMatrix<T>>,
    ) -> Result<MultiHeadCache<T>, Error> {
        let (q, k, v) = self.project_fast(x_q, x_kv)?;
        let d_k = self.d_k();
        let head = |i: usize| {
            let cols = |m: &DMatrix<T>| m.columns(i * d_k, d_k).into_owned();
            attention_fast(&cols(&q), &cols(&k), &cols(&v), mask)
        };
        let heads =
            (0..self.n_heads).map(head).collect::<Result<Vec<_>, _>>()?;
        let mut concat = DMatrix::zeros(x_q.nrows(), self.d_model());
        for (i, h) in heads.iter().enumerate() {
            concat.columns_mut(i * d_k, d_k).copy_from(&h.output);
        }
        let output = self.w_o.forward_fast(&concat)?;
        let cache = MultiHeadCache {
            heads,
            concat,
            output,
            q,
            k,
            v,
        };
        Ok(cache)
    }

    /// The output of [`forward`](Self::forward) alone, without the cache:
    /// what inference needs, where no backward pass follows.
    ///
    /// # Errors
    /// Those of [`forward`](Self::forward).
    pub fn output(
        &self,
        x_q: &DMatrix<T>,
        x_kv: &DMatrix<T>,
        mask: Option<&DMatrix<T>>,
    ) -> Result<DMatrix<T>, Error> {
        Ok(self.forward(x_q, x_kv, mask)?.output)
    }

    /// [`output`](Self::output), computed faster: each head reads its
    /// columns of `Q`, `K`, `V` in place (no copies) and writes into its
    /// columns of `Concat(...)` with the kernel of
    /// [`attention_output_fast`](crate::attention::attention_output_fast);
    /// biases are added column by column.
    ///
    /// ```text
    /// MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W_O          (2.7)
    /// ```
    ///
    /// # Errors
    /// Those of [`forward`](Self::forward) and
    /// [`attention_fast`](crate::attention::attention_fast).
    pub fn output_fast(
        &self,
        x_q: &DMatrix<T>,
        x_kv: &DMatrix<T>,
        mask: Option<&DMatrix<T>>,
    ) -> Result<DMatrix<T>, Error> {
        let d_k = self.d_k();
        let (q, k, v) = self.project_fast(x_q, x_kv)?;
        let kind = check_mask(mask, (x_q.nrows(), x_kv.nrows()))?;
        shape::finite("Q = X_q W_Q + b_Q", &q)?;
        shape::finite("K = X_kv W_K + b_K", &k)?;
        let n_q = x_q.nrows();
        let mut concat = DMatrix::zeros(n_q, self.d_model());
        for (i, out) in concat
            .as_mut_slice()
            .chunks_exact_mut(n_q * d_k)
            .enumerate()
        {
            let c0 = i * d_k;
            attend(
                Cols::block(&q, c0, d_k),
                Cols::block(&k, c0, d_k),
                Cols::block(&v, c0, d_k),
                kind,
                out,
                n_q,
            );
        }
        self.w_o.forward_fast(&concat)
    }

    /// `Q`, `K`, `V` of all heads by [`Linear::forward_fast`], after
    /// checking that `x_q` and `x_kv` are not empty and have `d_model`
    /// columns.
    #[allow(clippy::type_complexity)]
    fn project_fast(
        &self,
        x_q: &DMatrix<T>,
        x_kv: &DMatrix<T>,
    ) -> Result<(DMatrix<T>, DMatrix<T>, DMatrix<T>), Error> {
        let d_model = self.d_model();
        shape::non_empty("X_q", x_q)?;
        shape::non_empty("X_kv", x_kv)?;
        shape::cols("X_q", x_q, d_model, "d_model")?;
        shape::cols("X_kv", x_kv, d_model, "d_model")?;
        let q = self.w_q.forward_fast(x_q)?;
        let k = self.w_k.forward_fast(x_kv)?;
        let v = self.w_v.forward_fast(x_kv)?;
        Ok((q, k, v))
    }
}

/// The gradients of a scalar loss with respect to the inputs and the
/// parameters of multi-head attention.
#[derive(Clone, Debug, PartialEq)]
pub struct MultiHeadGrads<T: Real> {
    /// `∂L/∂X_q`, shape `(n_q, d_model)`.
    pub d_x_q: DMatrix<T>,
    /// `∂L/∂X_kv`, shape `(n_k, d_model)`. In self-attention `X_q` and
    /// `X_kv` are the same `X`, and `∂L/∂X = d_x_q + d_x_kv`.
    pub d_x_kv: DMatrix<T>,
    /// Gradients of `W_Q`, `b_Q`.
    pub w_q: LinearGrads<T>,
    /// Gradients of `W_K`, `b_K`.
    pub w_k: LinearGrads<T>,
    /// Gradients of `W_V`, `b_V`.
    pub w_v: LinearGrads<T>,
    /// Gradients of `W_O`, `b_O`.
    pub w_o: LinearGrads<T>,
}

notation::params!(MultiHeadGrads<T> {
    "w_q" => w_q.d_w, "b_q" => w_q.d_b,
    "w_k" => w_k.d_w, "b_k" => w_k.d_b,
    "w_v" => w_v.d_w, "b_v" => w_v.d_b,
    "w_o" => w_o.d_w, "b_o" => w_o.d_b,
});

// ANCHOR: multihead_backward
impl<T: Real> MultiHeadAttention<T> {
    /// Backward pass of (2.7) and (2.8): through `W_O` by (2.18), split
    /// by head, through each head's attention by (2.20), joined again,
    /// and through `W_Q`, `W_K`, `W_V` by (2.18).
    ///
    /// # Shapes
    /// `x_q`: `(n_q, d_model)`, `x_kv`: `(n_k, d_model)`, `d_out`:
    /// `(n_q, d_model)`.
    ///
    /// # Book
    /// Kapitel 2, „Rückwärts: die Gradienten“ / chapter 2, "Backward: the
    /// gradients".
    ///
    /// # Errors
    /// The arguments do not fit the forward pass `cache`.
    pub fn backward(
        &self,
        x_q: &DMatrix<T>,
        x_kv: &DMatrix<T>,
        cache: &MultiHeadCache<T>,
        d_out: &DMatrix<T>,
    ) -> Result<MultiHeadGrads<T>, Error> {
        let d_k = self.d_k();
        let w_o = self.w_o.backward(&cache.concat, d_out)?;
        // ∂L/∂Concat, split by columns: head i gets its d_k columns.
        let mut d_q = DMatrix::zeros(cache.q.nrows(), cache.q.ncols());
        let mut d_k_all = DMatrix::zeros(cache.k.nrows(), cache.k.ncols());
        let mut d_v = DMatrix::zeros(cache.v.nrows(), cache.v.ncols());
        for (i, head) in cache.heads.iter().enumerate() {
            let cols = |m: &DMatrix<T>| m.columns(i * d_k, d_k).into_owned();
            let g = attention_backward(
                &cols(&cache.q),
                &cols(&cache.k),
                &cols(&cache.v),
                head,
                &cols(&w_o.d_x),
            )?;
            d_q.columns_mut(i * d_k, d_k).copy_from(&g.d_q);
            d_k_all.columns_mut(i * d_k, d_k).copy_from(&g.d_k);
            d_v.columns_mut(i * d_k, d_k).copy_from(&g.d_v);
        }
        let w_q = self.w_q.backward(x_q, &d_q)?;
        let w_k = self.w_k.backward(x_kv, &d_k_all)?;
        let w_v = self.w_v.backward(x_kv, &d_v)?;
        Ok(MultiHeadGrads {
            d_x_q: w_q.d_x.clone(),
            // K and V both come from X_kv: their gradients add.
            d_x_kv: &w_k.d_x + &w_v.d_x,
            w_q,
            w_k,
            w_v,
            w_o,
        })
    }
}
// ANCHOR_END: multihead_backward
