//! The key-value cache: generating one more token costs one row of work
//! per block instead of a pass over the whole window.
//!
//! Book: section „Der KV-Cache“ / "The KV cache" of chapter 4,
//! „Text erzeugen“ / "Generating text".

use std::any::Any;

use ch02_transformer::attention::attention_output_fast;
use ch02_transformer::block::NormPosition;
use ch02_transformer::layer_norm::LayerNorm;
use ch02_transformer::linear::Linear;
use ch02_transformer::mask::causal_mask;
use ch02_transformer::primitives::exp_f32;
use nalgebra::{DMatrix, DVector};
use notation::{Error, Real, lit};

use crate::model::Model;

/// The keys and values of every block for the tokens read so far: row
/// `j` of block `l`'s `K` is `k_j = u_j W_K + b_K` of the token at
/// position `j`, all heads side by side (head `i` in the columns
/// `i·d_k .. (i+1)·d_k`, as in chapter 2's `K = U W_K`); likewise `V`.
///
/// The memory is allocated once for `n_ctx` tokens: `2 · n_layers ·
/// n_ctx · d_model` numbers, `2 · d_k` per block, head and token. The
/// cache borrows the model it is made for and keeps, once, the weights of
/// its linear layers transposed (`row_times`), so that the product of a
/// single row reads the weights in the order they are stored; while the
/// cache lives, the model cannot change.
///
/// nalgebra stores a matrix column by column, so each column of `K` and
/// `V` holds one feature of all tokens contiguously: a query's scores
/// `K q` run down the `d_k` columns of its head, and the output `pᵀ V` is
/// `d_k` dot products with contiguous columns. Appending a token writes
/// one number into each of the `d_model` columns, which costs little
/// beside the products.
#[derive(Clone)]
pub struct KvCache<'m, T: Real> {
    /// The model the cache is made for.
    model: &'m Model<T>,
    /// Per block: its six linear layers, laid out for one row.
    layers: Vec<BlockRows<'m, T>>,
    /// The output layer, laid out for one row.
    head: RowLayer<'m, T>,
    /// Per block: `K`, shape `(n_ctx, d_model)`; rows `0 .. len` hold
    /// the keys of the tokens read so far.
    k: Vec<DMatrix<T>>,
    /// Per block: `V`, shape `(n_ctx, d_model)`, filled like `k`.
    v: Vec<DMatrix<T>>,
    /// The number `t` of tokens read: the next token has position `t`.
    len: usize,
    /// The rows of one token on its way through a block, allocated once.
    row: RowBuffers<T>,
}

/// A linear layer `x W + b` (2.1) with `Wᵀ` beside it: nalgebra stores
/// `Wᵀ` column by column, that is row `i` of `W` contiguously, and
/// `x W = Σ_i x_i W[i, ·]` adds whole rows of `W` into the output.
#[derive(Clone)]
struct RowLayer<'m, T: Real> {
    /// The layer, for its bias `b`.
    layer: &'m Linear<T>,
    /// `Wᵀ`, shape `(d_out, d_in)`.
    w_t: DMatrix<T>,
}

impl<'m, T: Real> RowLayer<'m, T> {
    fn new(layer: &'m Linear<T>) -> Self {
        RowLayer {
            layer,
            w_t: layer.w.transpose(),
        }
    }
}

/// The linear layers of one block, laid out for one row.
#[derive(Clone)]
struct BlockRows<'m, T: Real> {
    q: RowLayer<'m, T>,
    k: RowLayer<'m, T>,
    v: RowLayer<'m, T>,
    o: RowLayer<'m, T>,
    ff1: RowLayer<'m, T>,
    ff2: RowLayer<'m, T>,
}

/// The rows that [`Model::forward_cached`] computes for one token, kept
/// in the cache so that a token allocates nothing.
#[derive(Clone, Debug, PartialEq)]
struct RowBuffers<T: Real> {
    /// The token's row `x` at the input of a block, `(1, d_model)`.
    x: DMatrix<T>,
    /// `LN_1(x)` or `LN_2(z)`, `(1, d_model)`.
    u: DMatrix<T>,
    /// The query `q_t`, `(1, d_model)`.
    q: DMatrix<T>,
    /// The key `k_t`, then the value `v_t`, `(1, d_model)`.
    kv: DMatrix<T>,
    /// The heads side by side, `(1, d_model)`.
    concat: DMatrix<T>,
    /// `z = x + concat W_O + b_O`, `(1, d_model)`.
    z: DMatrix<T>,
    /// The feed-forward network's hidden row, `(1, d_ff)`.
    hidden: DMatrix<T>,
    /// A head's scores and weights, `(1, n_ctx)`.
    p: DMatrix<T>,
}

impl<T: Real> std::fmt::Debug for KvCache<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvCache")
            .field("len", &self.len)
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}

impl<'m, T: Real> KvCache<'m, T> {
    /// An empty cache for `model`: room for `n_ctx` tokens in every block.
    pub fn new(model: &'m Model<T>) -> Self {
        let c = model.config;
        let empty = || DMatrix::zeros(c.context, c.d_model);
        let row = RowLayer::new;
        let layers = model.blocks.iter().map(|b| BlockRows {
            q: row(&b.attention.w_q),
            k: row(&b.attention.w_k),
            v: row(&b.attention.w_v),
            o: row(&b.attention.w_o),
            ff1: row(&b.ffn.lin1),
            ff2: row(&b.ffn.lin2),
        });
        KvCache {
            model,
            layers: layers.collect(),
            head: row(&model.head),
            k: (0..c.n_layers).map(|_| empty()).collect(),
            v: (0..c.n_layers).map(|_| empty()).collect(),
            len: 0,
            row: RowBuffers {
                x: DMatrix::zeros(1, c.d_model),
                u: DMatrix::zeros(1, c.d_model),
                q: DMatrix::zeros(1, c.d_model),
                kv: DMatrix::zeros(1, c.d_model),
                concat: DMatrix::zeros(1, c.d_model),
                z: DMatrix::zeros(1, c.d_model),
                hidden: DMatrix::zeros(1, c.d_ff),
                p: DMatrix::zeros(1, c.context),
            },
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
    /// Checks that `cache` was made for this model, has room for
    /// one more token, and that `token` is below `V`.
    fn check_cache(
        &self,
        cache: &KvCache<'_, T>,
        token: usize,
    ) -> Result<(), Error> {
        let c = self.config;
        if !std::ptr::eq(cache.model, self) {
            return Err(Error::Config {
                what: "KV cache",
                expected: "a cache made by KvCache::new for this model".into(),
                got: "the cache of another model".into(),
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
    /// arrives. Every product is one row times a matrix, `row_times`;
    /// the rows live in buffers of the cache, allocated once.
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
        cache: &mut KvCache<'_, T>,
        token: usize,
    ) -> Result<DVector<T>, Error> {
        self.check_cache(cache, token)?;
        let t = cache.len;
        // x_t = E[x_t] + PE[t]: one row (4.4).
        let x = &mut cache.row.x;
        x.copy_from(&self.embedding.row(token));
        *x += self.positions.row(t);
        self.blocks_on_row(cache, 0);
        Ok(self.logits_of_row(cache))
    }

    /// Blocks `first..` of the model on the row `x` (in the cache's
    /// buffer) of position `t = cache.len()`; afterwards the cache holds
    /// `t + 1` tokens and `x` the row after the last block.
    fn blocks_on_row(&self, cache: &mut KvCache<'_, T>, first: usize) {
        let t = cache.len;
        let KvCache {
            k,
            v,
            row: r,
            layers,
            ..
        } = cache;
        let blocks = self.blocks.iter().zip(layers.iter());
        for (l, (block, w)) in blocks.enumerate().skip(first) {
            let a = &block.attention;
            layer_norm_row(&block.norm1, &r.x, &mut r.u); // x_t of (4.7)
            row_times(&w.q, &r.u, &mut r.q);
            // Append k_t and v_t as row t.
            row_times(&w.k, &r.u, &mut r.kv);
            k[l].row_mut(t).copy_from(&r.kv);
            row_times(&w.v, &r.u, &mut r.kv);
            v[l].row_mut(t).copy_from(&r.kv);
            let d_k = a.d_k();
            for c in (0..a.n_heads).map(|i| i * d_k) {
                // Head i: columns c .. c + d_k of q_t and of rows 0..=t
                // of K and V; row t of the causal mask is 0 for them all.
                attend_one(
                    &r.q.as_slice()[c..c + d_k],
                    (&k[l], &v[l], c, t + 1),
                    &mut r.p,
                    &mut r.concat.as_mut_slice()[c..c + d_k],
                );
            }
            // The rest of the pre-LN block (2.13), for row t alone.
            row_times(&w.o, &r.concat, &mut r.z);
            r.z += &r.x;
            layer_norm_row(&block.norm2, &r.z, &mut r.u);
            row_times(&w.ff1, &r.u, &mut r.hidden);
            block.ffn.activation.apply_fast(&mut r.hidden);
            row_times(&w.ff2, &r.hidden, &mut r.x);
            r.x += &r.z;
        }
        cache.len = t + 1;
    }

    /// The logits `LN_f(x) W + b` of the row `x` in the cache's buffer.
    fn logits_of_row(&self, cache: &mut KvCache<'_, T>) -> DVector<T> {
        let r = &mut cache.row;
        layer_norm_row(&self.norm_f, &r.x, &mut r.u);
        let r = &cache.row;
        let mut z = DMatrix::zeros(1, self.config.vocab_size);
        row_times(&cache.head, &r.u, &mut z);
        DVector::from_column_slice(z.as_slice())
    }
}

// ANCHOR_END: kv_cache

/// One query `q` (`d_k` entries) against the first `n` keys and values in
/// the head's columns `c .. c + d_k` of `K` and `V`: writes
/// `softmax(K q / √d_k)ᵀ V` into `out`. `p` (`n_ctx` entries) holds the
/// scores, then the weights. Every loop runs down a column of `K` or `V`,
/// which nalgebra stores contiguously.
fn attend_one<T: Real>(
    q: &[T],
    head: Head<'_, T>,
    p: &mut DMatrix<T>,
    out: &mut [T],
) {
    let args = (q, head, &mut p.as_mut_slice()[..head.3], out);
    machine::wide!(attend_kernel::<T>(args): AttendArgs<'_, T> => ());
}

/// `K`, `V`, the head's first column `c` and the number `n` of tokens.
type Head<'a, T> = (&'a DMatrix<T>, &'a DMatrix<T>, usize, usize);

/// The query, the head, the scores (`n` entries) and the output.
type AttendArgs<'a, T> = (&'a [T], Head<'a, T>, &'a mut [T], &'a mut [T]);

/// The body of [`attend_one`] for `machine::wide!`.
#[inline(always)]
fn attend_kernel<T: Real>((q, (k, v, c, n), p, out): AttendArgs<'_, T>) {
    let rows = k.nrows();
    // Scores K q, accumulated column by column of K.
    p.fill(T::zero());
    for (j, &q_j) in q.iter().enumerate() {
        let k_j = &k.as_slice()[(c + j) * rows..][..n];
        for (s, &k_sj) in p.iter_mut().zip(k_j) {
            *s += q_j * k_sj;
        }
    }
    // The softmax of the scores divided by √d_k, largest score first.
    let scale = T::one() / lit::<T>(q.len() as f64).sqrt();
    let max = lane_max(p);
    for s in p.iter_mut() {
        *s = exp_non_positive((*s - max) * scale);
    }
    let inv = T::one() / lane_sum(p, |x| x);
    // Output pᵀ V: dot products with four columns of V at a time.
    let p: &[T] = p;
    let mut outs = out.chunks_exact_mut(4);
    let mut j = c;
    for o4 in &mut outs {
        let dots = dot4(p, &v.as_slice()[j * rows..], rows);
        for (o, d) in o4.iter_mut().zip(dots) {
            *o = d * inv;
        }
        j += 4;
    }
    for o in outs.into_remainder() {
        *o = dot(p, &v.as_slice()[j * rows..][..n]) * inv;
        j += 1;
    }
}

/// `eˣ` for `x ≤ 0`: chapter 2's vectorizable [`exp_f32`] in f32 (the
/// softmax of its fast attention), the library's `exp` otherwise. The
/// type test is decided at compile time.
#[inline(always)]
fn exp_non_positive<T: Real>(x: T) -> T {
    let mut y = x;
    if let Some(y32) = (&mut y as &mut dyn Any).downcast_mut::<f32>() {
        *y32 = exp_f32(*y32);
        return y;
    }
    x.exp()
}

/// One row of layer normalization (2.11), `(x − μ)/√(σ² + ε) ⊙ γ + β`,
/// written into `y`: [`LayerNorm::forward`] for a single token, mean
/// first, then the squares.
fn layer_norm_row<T: Real>(
    ln: &LayerNorm<T>,
    x: &DMatrix<T>,
    y: &mut DMatrix<T>,
) {
    machine::wide!(
        layer_norm_kernel::<T>((ln, x.as_slice(), y.as_mut_slice())):
            (&LayerNorm<T>, &[T], &mut [T]) => ()
    );
}

/// The body of [`layer_norm_row`] for `machine::wide!`.
#[inline(always)]
fn layer_norm_kernel<T: Real>((ln, x, y): (&LayerNorm<T>, &[T], &mut [T])) {
    let d = lit::<T>(x.len() as f64);
    let mu = lane_sum(x, |x| x) / d;
    let var = lane_sum(x, |x| (x - mu) * (x - mu)) / d;
    let r = (var + ln.eps).sqrt().recip();
    let params = ln.gamma.iter().zip(ln.beta.iter());
    for ((y, &x), (&g, &b)) in y.iter_mut().zip(x).zip(params) {
        *y = (x - mu) * r * g + b;
    }
}

/// Chapter 2's linear layer `x W + b` (2.1) for one row `x`, written into
/// the row `y`: `y = b + Σ_i x_i W[i, ·]`, a sum of the rows of `W`, read
/// contiguously from the columns of `Wᵀ`. The outputs are summed in
/// blocks of [`OUT`] held in vector registers while the rows go by, so
/// no sum runs across a vector; compiled for the widest vectors of the
/// CPU.
fn row_times<T: Real>(
    lin: &RowLayer<'_, T>,
    x: &DMatrix<T>,
    y: &mut DMatrix<T>,
) {
    let (w_t, b) = (lin.w_t.as_slice(), lin.layer.b.as_slice());
    let args = (x.as_slice(), w_t, b, y.as_mut_slice());
    machine::wide!(row_kernel::<T>(args): RowArgs<'_, T> => ());
}

/// `x`, `Wᵀ`, `b` and `y` of [`row_times`].
type RowArgs<'a, T> = (&'a [T], &'a [T], &'a [T], &'a mut [T]);

/// Outputs of [`row_times`] summed at once: 64 numbers, eight vector
/// registers of f32 under AVX2.
const OUT: usize = 64;

/// The body of [`row_times`] for `machine::wide!`: blocks of [`OUT`]
/// outputs, then of [`LANES`], then one by one. Every output is
/// `b_j + x_0 W_0j + x_1 W_1j + …` in this order, on every path.
#[inline(always)]
fn row_kernel<T: Real>((x, w_t, b, y): RowArgs<'_, T>) {
    y.copy_from_slice(b);
    let mut o = 0;
    while o + OUT <= y.len() {
        add_rows::<T, OUT>(x, w_t, o, y);
        o += OUT;
    }
    while o + LANES <= y.len() {
        add_rows::<T, LANES>(x, w_t, o, y);
        o += LANES;
    }
    while o < y.len() {
        add_rows::<T, 1>(x, w_t, o, y);
        o += 1;
    }
}

/// Adds `Σ_i x_i W[i, o .. o + N]` to `y[o .. o + N]`, the `N` sums kept
/// in registers.
#[inline(always)]
fn add_rows<T: Real, const N: usize>(
    x: &[T],
    w_t: &[T],
    o: usize,
    y: &mut [T],
) {
    let d_out = y.len();
    let y_n = &mut y[o..o + N];
    let mut acc: [T; N] = std::array::from_fn(|l| y_n[l]);
    for (&x_i, w_i) in x.iter().zip(w_t.chunks_exact(d_out)) {
        let w_n = &w_i[o..o + N];
        for l in 0..N {
            acc[l] += x_i * w_n[l];
        }
    }
    y_n.copy_from_slice(&acc);
}

/// Lanes of partial sums: 8 numbers side by side, one vector register of
/// f32 under AVX2.
const LANES: usize = 8;

/// The dot products of `x` with the four columns that start at `w4[0]`,
/// `w4[stride]`, `w4[2·stride]`, `w4[3·stride]`, each with [`LANES`]
/// partial sums.
#[inline(always)]
fn dot4<T: Real>(x: &[T], w4: &[T], stride: usize) -> [T; 4] {
    let n = x.len();
    let whole = n / LANES * LANES;
    let mut acc = [[T::zero(); LANES]; 4];
    for i in (0..whole).step_by(LANES) {
        let xs = &x[i..i + LANES];
        for (j, acc_j) in acc.iter_mut().enumerate() {
            let ws = &w4[j * stride + i..j * stride + i + LANES];
            for l in 0..LANES {
                acc_j[l] += xs[l] * ws[l];
            }
        }
    }
    let mut out = [T::zero(); 4];
    for (j, o) in out.iter_mut().enumerate() {
        let col = &w4[j * stride..j * stride + n];
        let tail = (whole..n).fold(T::zero(), |s, i| s + x[i] * col[i]);
        *o = acc[j].iter().fold(tail, |s, &a| s + a);
    }
    out
}

/// `Σ_i a_i b_i` with [`LANES`] partial sums side by side, which the
/// compiler keeps in a vector register.
#[inline(always)]
fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    let mut acc = [T::zero(); LANES];
    let (mut ca, mut cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    for (x, y) in (&mut ca).zip(&mut cb) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    let rest = ca.remainder().iter().zip(cb.remainder());
    let tail = rest.fold(T::zero(), |s, (&x, &y)| s + x * y);
    acc.iter().fold(tail, |s, &a| s + a)
}

/// `max_i a_i` (of a non-empty `a`) with [`LANES`] partial maxima side
/// by side.
#[inline(always)]
fn lane_max<T: Real>(a: &[T]) -> T {
    let mut acc = [a[0]; LANES];
    let mut chunks = a.chunks_exact(LANES);
    for x in &mut chunks {
        for i in 0..LANES {
            acc[i] = acc[i].max(x[i]);
        }
    }
    let tail = chunks.remainder().iter().fold(a[0], |m, &x| m.max(x));
    acc.iter().fold(tail, |m, &x| m.max(x))
}

/// `Σ_i f(a_i)` with [`LANES`] partial sums side by side.
#[inline(always)]
fn lane_sum<T: Real>(a: &[T], f: impl Fn(T) -> T) -> T {
    let mut acc = [T::zero(); LANES];
    let mut chunks = a.chunks_exact(LANES);
    for x in &mut chunks {
        for i in 0..LANES {
            acc[i] += f(x[i]);
        }
    }
    let tail = chunks.remainder().iter().fold(T::zero(), |s, &x| s + f(x));
    acc.iter().fold(tail, |s, &a| s + a)
}

/// Windows of at most this many tokens [`Model::prefill`] reads token by
/// token.
pub const SHORT_WINDOW: usize = 5;

impl<T: Real> Model<T> {
    /// Reads `tokens` into an emptied `cache` in one pass over the whole
    /// window and returns the logits of the token after the last one:
    /// [`Model::forward`]'s last row, and the keys and values that
    /// [`Model::forward_cached`] would have appended token by token.
    /// Computed with chapter 2's `*_fast` layers and `attention_output_fast`
    /// with the causal mask. Of the last block only the keys and values
    /// of all rows are needed (for the cache); its attention, feed-forward
    /// network, the final norm and the output layer run for the last row
    /// alone, the only one that generating needs (rows are independent
    /// there, so this is exact). A window of at most [`SHORT_WINDOW`]
    /// tokens is read token by token with [`Model::forward_cached`].
    ///
    /// # Errors
    /// Those of [`Model::forward`]; a cache not made for this model.
    pub fn prefill(
        &self,
        cache: &mut KvCache<'_, T>,
        tokens: &[usize],
    ) -> Result<DVector<T>, Error> {
        cache.clear();
        self.check_cache(cache, 0)?;
        self.check_tokens(tokens)?;
        let (n, d) = (tokens.len(), self.config.d_model);
        if n <= SHORT_WINDOW {
            // Chapter 2's products of so few rows copy both operands (see
            // `gemm`): token by token through the cache is faster.
            let mut z = DVector::zeros(0);
            for &x in tokens {
                z = self.forward_cached(cache, x)?;
            }
            return Ok(z);
        }
        let mut x = DMatrix::from_fn(n, d, |t, j| {
            self.embedding[(tokens[t], j)] + self.positions[(t, j)]
        });
        let mask = causal_mask(n)?;
        let last = self.blocks.len() - 1;
        for (l, block) in self.blocks.iter().enumerate() {
            let a = &block.attention;
            let d_k = a.d_k();
            let u = block.norm1.forward_fast(&x)?.output;
            let k = a.w_k.forward_fast(&u)?;
            let v = a.w_v.forward_fast(&u)?;
            cache.k[l].rows_mut(0, n).copy_from(&k);
            cache.v[l].rows_mut(0, n).copy_from(&v);
            if l == last {
                break;
            }
            let q = a.w_q.forward_fast(&u)?;
            let mut concat = DMatrix::zeros(n, d);
            for i in 0..a.n_heads {
                let cols =
                    |m: &DMatrix<T>| m.columns(i * d_k, d_k).into_owned();
                let (q_i, k_i, v_i) = (cols(&q), cols(&k), cols(&v));
                let head =
                    attention_output_fast(&q_i, &k_i, &v_i, Some(&mask))?;
                concat.columns_mut(i * d_k, d_k).copy_from(&head);
            }
            let z = &x + a.w_o.forward_fast(&concat)?;
            let w = block.norm2.forward_fast(&z)?.output;
            x = &z + &block.ffn.forward_fast(&w)?.output;
        }
        // The last block for the last row: rows 0 .. n−1 are in the cache.
        cache.len = n - 1;
        cache.row.x.copy_from(&x.rows(n - 1, 1));
        self.blocks_on_row(cache, last);
        Ok(self.logits_of_row(cache))
    }
}
