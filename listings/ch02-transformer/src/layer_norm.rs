//! Layer normalization over the features of each token.
//!
//! Book: section „Residualverbindungen und Layer-Normalisierung“ /
//! "Residual connections and layer normalization" of chapter 2.

use nalgebra::{DMatrix, DVector};
use notation::{Error, Real, lit, shape};

use crate::linear::row_sum;

/// PyTorch's default `eps` of `nn.LayerNorm`. Ba et al. (2016) and
/// Vaswani et al. (2017) do not fix a value; with this one our numbers
/// match PyTorch's.
pub const PYTORCH_EPS: f64 = 1e-5;

/// Layer normalization with learned scale `γ` and shift `β`.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerNorm<T: Real> {
    /// The scale `γ`, a row of `d` entries (ones at initialisation).
    pub gamma: DMatrix<T>,
    /// The shift `β`, a row of `d` entries (zeros at initialisation).
    pub beta: DMatrix<T>,
    /// The `ε > 0` added to the variance.
    pub eps: T,
}

notation::params!(LayerNorm<T> { "gamma" => gamma, "beta" => beta });

/// Everything the forward pass computed, kept for the backward pass.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerNormCache<T: Real> {
    /// The normalised tokens `x̂ = (x − μ) / √(σ² + ε)`, shape `(n, d)`.
    pub x_hat: DMatrix<T>,
    /// `1 / √(σ² + ε)` of every token, `n` entries.
    pub inv_std: DVector<T>,
    /// `γ ⊙ x̂ + β`, shape `(n, d)`.
    pub output: DMatrix<T>,
}

impl<T: Real> LayerNormCache<T> {
    /// The check of both backward passes: an upstream gradient `∂L/∂Y` of
    /// the shape of the forward output, `(n, d)`.
    fn check_upstream(&self, d_y: &DMatrix<T>) -> Result<(), Error> {
        shape::shape("∂L/∂Y", d_y, self.x_hat.shape(), "n tokens, d")
    }
}

impl<T: Real> LayerNorm<T> {
    /// Layer normalization with the given `γ`, `β` and `ε`.
    ///
    /// # Errors
    /// `γ` empty or not a row, `β` not a row of the same length, `ε` not a
    /// positive finite number (with `ε = 0` a constant token would be
    /// divided by 0).
    pub fn new(
        gamma: DMatrix<T>,
        beta: DMatrix<T>,
        eps: T,
    ) -> Result<Self, Error> {
        if gamma.is_empty() {
            return Err(Error::Empty { what: "γ" });
        }
        shape::row("γ", &gamma, gamma.len(), "d, the entries of γ")?;
        shape::row("β", &beta, gamma.len(), "d, the entries of γ")?;
        if !(eps > T::zero() && eps.is_finite()) {
            return Err(Error::Domain {
                what: "ε",
                requirement: "0 < ε < ∞",
                value: eps.into(),
            });
        }
        Ok(LayerNorm { gamma, beta, eps })
    }

    /// `γ = 1`, `β = 0` and PyTorch's `ε = 10⁻⁵`, as at initialisation.
    pub fn identity(d: usize) -> Result<Self, Error> {
        let eps = lit::<T>(PYTORCH_EPS);
        let (gamma, beta) =
            (DMatrix::repeat(1, d, T::one()), DMatrix::zeros(1, d));
        LayerNorm::new(gamma, beta, eps)
    }
}

// ANCHOR: layer_norm
impl<T: Real> LayerNorm<T> {
    /// Normalises every token (row) of `x` to mean 0 and variance about 1
    /// over its `d` features, then scales by `γ` and shifts by `β`.
    ///
    /// ```text
    /// LN(x) = γ ⊙ (x − μ) / √(σ² + ε) + β,                          (2.11)
    ///   μ = (1/d) Σ_j x_j,   σ² = (1/d) Σ_j (x_j − μ)²
    /// ```
    ///
    /// # Shapes
    /// `x`: `(n, d)` → `(n, d)`; `γ`, `β`: `d` entries.
    ///
    /// # Book
    /// Formel (2.11) in Kapitel 2, „Residualverbindungen und
    /// Layer-Normalisierung“ / formula (2.11) in chapter 2, "Residual
    /// connections and layer normalization".
    ///
    /// # Errors
    /// `x` is empty or does not have `d` columns.
    pub fn forward(&self, x: &DMatrix<T>) -> Result<LayerNormCache<T>, Error> {
        shape::non_empty("X", x)?;
        let d = self.gamma.len();
        shape::cols("X", x, d, "d, the entries of γ")?;
        let d_t = lit::<T>(d as f64);
        let mut x_hat = x.clone();
        let mut inv_std = DVector::zeros(x.nrows());
        for (i, mut row) in x_hat.row_iter_mut().enumerate() {
            let mu = row.sum() / d_t;
            // Subtract the mean first, then square: the textbook shortcut
            // E[x²] − μ² cancels catastrophically for tokens far from 0
            // (at 10⁴ in f32 it loses every digit of a variance of 1).
            row.add_scalar_mut(-mu);
            let var = row.norm_squared() / d_t;
            let r = (var + self.eps).sqrt().recip();
            row *= r;
            inv_std[i] = r;
        }
        let mut output = x_hat.clone();
        for mut row in output.row_iter_mut() {
            row.component_mul_assign(&self.gamma);
            row += &self.beta;
        }
        Ok(LayerNormCache {
            x_hat,
            inv_std,
            output,
        })
    }
}
// ANCHOR_END: layer_norm

impl<T: Real> LayerNorm<T> {
    /// [`forward`](Self::forward), faster: the means and variances of all
    /// tokens are accumulated together, column by column, in the order in
    /// which nalgebra stores `X`, instead of one strided row at a time.
    /// Mean first, then squares, as in `forward`.
    ///
    /// # Errors
    /// Those of [`forward`](Self::forward).
    pub fn forward_fast(
        &self,
        x: &DMatrix<T>,
    ) -> Result<LayerNormCache<T>, Error> {
        shape::non_empty("X", x)?;
        let d = self.gamma.len();
        shape::cols("X", x, d, "d, the entries of γ")?;
        let (x_hat, inv_std, output) = machine::wide!(
            forward_kernel::<T>((x, &self.gamma, &self.beta, self.eps)):
                (&DMatrix<T>, &DMatrix<T>, &DMatrix<T>, T)
                => (DMatrix<T>, DVector<T>, DMatrix<T>)
        );
        Ok(LayerNormCache {
            x_hat,
            inv_std,
            output,
        })
    }
}

/// The gradients of a scalar loss with respect to the input and the
/// parameters of a layer normalization.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerNormGrads<T: Real> {
    /// `∂L/∂X`, shape `(n, d)`.
    pub d_x: DMatrix<T>,
    /// `∂L/∂γ`, a row of `d` entries.
    pub d_gamma: DMatrix<T>,
    /// `∂L/∂β`, a row of `d` entries.
    pub d_beta: DMatrix<T>,
}

notation::params!(LayerNormGrads<T> { "gamma" => d_gamma, "beta" => d_beta });

// ANCHOR: layer_norm_backward
impl<T: Real> LayerNorm<T> {
    /// Backward pass of (2.11), token by token, from `d_y = ∂L/∂Y`.
    ///
    /// ```text
    /// ∂L/∂β = Σ_tokens ∂L/∂y,   ∂L/∂γ = Σ_tokens ∂L/∂y ⊙ x̂,
    /// g = γ ⊙ ∂L/∂y,
    /// ∂L/∂x = (g − mean(g) − x̂ · mean(g ⊙ x̂)) / √(σ² + ε)           (2.21)
    /// ```
    ///
    /// The two means are what `μ` and `σ²` contribute: both depend on
    /// every feature of the token.
    ///
    /// # Shapes
    /// `d_y`: `(n, d)` → `d_x`: `(n, d)`, `d_gamma`, `d_beta`: `d`.
    ///
    /// # Book
    /// Formel (2.21) in Kapitel 2, „Rückwärts: die Gradienten“ / formula
    /// (2.21) in chapter 2, "Backward: the gradients".
    ///
    /// # Errors
    /// `d_y` does not have the shape of the forward output.
    pub fn backward(
        &self,
        cache: &LayerNormCache<T>,
        d_y: &DMatrix<T>,
    ) -> Result<LayerNormGrads<T>, Error> {
        cache.check_upstream(d_y)?;
        let x_hat = &cache.x_hat;
        let d_t = lit::<T>(x_hat.ncols() as f64);
        let d_beta = row_sum(d_y);
        let d_gamma = row_sum(&d_y.component_mul(x_hat));
        let mut d_x = d_y.clone();
        for (i, mut row) in d_x.row_iter_mut().enumerate() {
            row.component_mul_assign(&self.gamma);
            let xh = x_hat.row(i);
            let mean_g = row.sum() / d_t;
            let mean_gx = row.dot(&xh) / d_t;
            row.add_scalar_mut(-mean_g);
            row -= xh * mean_gx;
            row *= cache.inv_std[i];
        }
        Ok(LayerNormGrads {
            d_x,
            d_gamma,
            d_beta,
        })
    }
}
// ANCHOR_END: layer_norm_backward

impl<T: Real> LayerNorm<T> {
    /// [`backward`](Self::backward), faster: the sums over features of
    /// every token (`mean(g)`, `mean(g ⊙ x̂)`) are accumulated together,
    /// column by column, in the order in which nalgebra stores the
    /// matrices, instead of one strided row at a time; compiled for wide
    /// vectors. The same formula (2.21).
    ///
    /// # Errors
    /// Those of [`backward`](Self::backward).
    pub fn backward_fast(
        &self,
        cache: &LayerNormCache<T>,
        d_y: &DMatrix<T>,
    ) -> Result<LayerNormGrads<T>, Error> {
        cache.check_upstream(d_y)?;
        let args = (&cache.x_hat, d_y, &self.gamma, &cache.inv_std);
        let (d_x, d_gamma, d_beta) = machine::wide!(
            backward_kernel::<T>(args):
                (&DMatrix<T>, &DMatrix<T>, &DMatrix<T>, &DVector<T>)
                => (DMatrix<T>, DMatrix<T>, DMatrix<T>)
        );
        Ok(LayerNormGrads {
            d_x,
            d_gamma,
            d_beta,
        })
    }
}

/// The body of [`LayerNorm::forward_fast`], for `machine::wide!`.
#[inline(always)]
#[allow(clippy::type_complexity)]
fn forward_kernel<T: Real>(
    (x, gamma, beta, eps): (&DMatrix<T>, &DMatrix<T>, &DMatrix<T>, T),
) -> (DMatrix<T>, DVector<T>, DMatrix<T>) {
    let d = gamma.len();
    let n = x.nrows();
    let d_inv = T::one() / lit::<T>(d as f64);
    let mut mu = vec![T::zero(); n];
    for col in x.as_slice().chunks_exact(n) {
        mu.iter_mut().zip(col).for_each(|(m, &x)| *m += x);
    }
    mu.iter_mut().for_each(|m| *m *= d_inv);
    // Two reading passes (sums, then squares), then one pass
    // that writes x̂ and the output.
    let mut var = vec![T::zero(); n];
    for col in x.as_slice().chunks_exact(n) {
        for ((&x, &m), s) in col.iter().zip(&mu).zip(&mut var) {
            let c = x - m;
            *s += c * c;
        }
    }
    let inv_std = DVector::from_iterator(
        n,
        var.iter().map(|&s| (s * d_inv + eps).sqrt().recip()),
    );
    let mut x_hat = DMatrix::zeros(n, d);
    let mut output = DMatrix::zeros(n, d);
    let cols = x.as_slice().chunks_exact(n);
    let xh_cols = x_hat.as_mut_slice().chunks_exact_mut(n);
    let out_cols = output.as_mut_slice().chunks_exact_mut(n);
    for (j, ((x, xh), y)) in cols.zip(xh_cols).zip(out_cols).enumerate() {
        let (g, b) = (gamma[j], beta[j]);
        let stats = mu.iter().zip(inv_std.as_slice());
        for (((&x, xh), y), (&m, &r)) in x.iter().zip(xh).zip(y).zip(stats) {
            *xh = (x - m) * r;
            *y = *xh * g + b;
        }
    }
    (x_hat, inv_std, output)
}

/// The body of [`LayerNorm::backward_fast`], for `machine::wide!`.
#[inline(always)]
#[allow(clippy::type_complexity)]
fn backward_kernel<T: Real>(
    (x_hat, d_y, gamma, inv_std): (
        &DMatrix<T>,
        &DMatrix<T>,
        &DMatrix<T>,
        &DVector<T>,
    ),
) -> (DMatrix<T>, DMatrix<T>, DMatrix<T>) {
    let (n, d) = x_hat.shape();
    let d_inv = T::one() / lit::<T>(d as f64);
    let mut d_gamma = DMatrix::zeros(1, d);
    let mut d_beta = DMatrix::zeros(1, d);
    let mut mean_g = vec![T::zero(); n];
    let mut mean_gx = vec![T::zero(); n];
    let cols = d_y.as_slice().chunks_exact(n);
    let xh_cols = x_hat.as_slice().chunks_exact(n);
    for (j, (dy, xh)) in cols.zip(xh_cols).enumerate() {
        let gamma = gamma[j];
        let (mut sb, mut sg) = (T::zero(), T::zero());
        for (((&dy, &xh), mg), mgx) in
            dy.iter().zip(xh).zip(&mut mean_g).zip(&mut mean_gx)
        {
            sb += dy;
            sg += dy * xh;
            let g = dy * gamma;
            *mg += g;
            *mgx += g * xh;
        }
        d_beta[j] = sb;
        d_gamma[j] = sg;
    }
    mean_g.iter_mut().for_each(|m| *m *= d_inv);
    mean_gx.iter_mut().for_each(|m| *m *= d_inv);
    let mut d_x = DMatrix::zeros(n, d);
    let cols = d_y.as_slice().chunks_exact(n);
    let xh_cols = x_hat.as_slice().chunks_exact(n);
    let dx_cols = d_x.as_mut_slice().chunks_exact_mut(n);
    for (j, ((dy, xh), dx)) in cols.zip(xh_cols).zip(dx_cols).enumerate() {
        let gamma = gamma[j];
        let stats = mean_g.iter().zip(&mean_gx).zip(inv_std.iter());
        for (((dx, &dy), &xh), ((&mg, &mgx), &r)) in
            dx.iter_mut().zip(dy).zip(xh).zip(stats)
        {
            *dx = (dy * gamma - mg - xh * mgx) * r;
        }
    }
    (d_x, d_gamma, d_beta)
}
