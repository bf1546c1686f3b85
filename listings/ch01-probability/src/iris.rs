//! The real example of chapter 1: Fisher's iris data (150 flowers, 4
//! measurements, 3 species), as shipped by `smartcore`, fitted by our
//! softmax regression and compared with smartcore's own
//! `LogisticRegression` and `GaussianNB`.
//!
//! Book: section „Softmax-Regression“ / "Softmax regression" of
//! chapter 1.

use nalgebra::{DMatrix, DVector};
use notation::Error;
use smartcore::linalg::basic::arrays::Array;
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::logistic_regression::{
    LogisticRegression, LogisticRegressionParameters,
};
use smartcore::naive_bayes::gaussian::{GaussianNB, GaussianNBParameters};

use crate::cross_entropy::cross_entropy_rows;
use crate::mle::{Variance, gaussian_mle};
use crate::regression::{GradientDescent, SoftmaxRegression, fit};
use crate::softmax::softmax_rows;

/// The number of species in the iris data.
pub const K: usize = 3;

// ANCHOR: iris_data
/// The iris data: `X` of shape `(150, 4)` in centimetres (one flower per
/// row) and the species `0, 1, 2` (setosa, versicolor, virginica).
///
/// smartcore stores the measurements as `f32`; they are widened to `f64`
/// exactly, so both sides of every comparison see the same numbers.
pub fn load_iris() -> (DMatrix<f64>, Vec<usize>) {
    let data = smartcore::dataset::iris::load_dataset();
    let x = DMatrix::from_row_slice(
        data.num_samples,
        data.num_features,
        &data.data.iter().map(|&v| f64::from(v)).collect::<Vec<_>>(),
    );
    let y = data.target.iter().map(|&t| t as usize).collect();
    (x, y)
}

/// Every column shifted to mean 0 and scaled to standard deviation 1 (the
/// maximum-likelihood σ̂ of (1.8)), so that one learning rate suits all
/// features.
///
/// # Errors
/// `x` has no rows, or a column is constant.
pub fn standardize(x: &DMatrix<f64>) -> Result<DMatrix<f64>, Error> {
    let mut out = x.clone();
    for mut col in out.column_iter_mut() {
        let (mean, var) =
            gaussian_mle(&col.clone_owned(), Variance::MaximumLikelihood)?;
        if var == 0.0 {
            return Err(Error::Domain {
                what: "variance of a feature",
                requirement: "σ̂² > 0 (a constant column cannot be scaled)",
                value: var,
            });
        }
        col.apply(|v| *v = (*v - mean) / var.sqrt());
    }
    Ok(out)
}
// ANCHOR_END: iris_data

// ANCHOR: iris_comparison
/// Our regression next to smartcore's on the same standardized data.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Our model after gradient descent.
    pub ours: SoftmaxRegression<f64>,
    /// Our objective (1.22) per epoch.
    pub history: Vec<f64>,
    /// smartcore's model, converted to `W` (shape `(4, 3)`) and `b`.
    pub smartcore: SoftmaxRegression<f64>,
    /// Fraction of the 150 flowers classified correctly: ours, smartcore.
    pub accuracy: (f64, f64),
    /// The average NLL (without penalty): ours, smartcore.
    pub nll: (f64, f64),
    /// The objective (1.22) with penalty: ours, smartcore.
    pub objective: (f64, f64),
    /// The largest difference between a probability of ours and the same
    /// probability of smartcore's, over all 150 × 3.
    pub max_probability_difference: f64,
}

/// Fits both models on the standardized iris data: ours with `config`,
/// smartcore's `LogisticRegression` (L-BFGS) with `α = N · config.l2`,
/// which minimizes the same objective (see [`GradientDescent::l2`]).
///
/// # Errors
/// Those of [`fit`]; smartcore's failures are reported as a shape error.
pub fn compare_with_smartcore(
    config: &GradientDescent,
) -> Result<Comparison, Error> {
    let (x_raw, y) = load_iris();
    let x = standardize(&x_raw)?;
    let n = x.nrows();
    let (ours, history) = fit(&x, &y, K, config)?;

    let alpha = config.l2 * n as f64;
    let smartcore = fit_smartcore(&x, &y, alpha)?;

    let evaluate = |m: &SoftmaxRegression<f64>| -> Result<_, Error> {
        let (nll, _) = cross_entropy_rows(&m.logits(&x)?, &y)?;
        let penalty = 0.5 * config.l2 * m.w.norm_squared();
        let predicted = m.predict(&x)?;
        let hits = predicted.iter().zip(&y).filter(|(a, b)| a == b).count();
        Ok((hits as f64 / n as f64, nll, nll + penalty))
    };
    let (acc_o, nll_o, obj_o) = evaluate(&ours)?;
    let (acc_s, nll_s, obj_s) = evaluate(&smartcore)?;
    let p_o = softmax_rows(&ours.logits(&x)?)?;
    let p_s = softmax_rows(&smartcore.logits(&x)?)?;
    let max_probability_difference = (p_o - p_s).amax();
    Ok(Comparison {
        ours,
        history,
        smartcore,
        accuracy: (acc_o, acc_s),
        nll: (nll_o, nll_s),
        objective: (obj_o, obj_s),
        max_probability_difference,
    })
}

/// smartcore's `LogisticRegression` with penalty `alpha`, converted to
/// our `W`, `b`. It minimizes `Σ_i ℓ_i + (α/2) ‖W‖²` (the bias is not
/// penalized) with L-BFGS from zero, stopping when the largest gradient
/// entry is below 1e-8 or after 1000 iterations.
///
/// # Errors
/// smartcore's failures, as [`Error::Failed`].
pub fn fit_smartcore(
    x: &DMatrix<f64>,
    y: &[usize],
    alpha: f64,
) -> Result<SoftmaxRegression<f64>, Error> {
    let failed = |e: smartcore::error::Failed| Error::Failed {
        what: "smartcore LogisticRegression",
        reason: e.to_string(),
    };
    let x_sc = to_dense(x).map_err(failed)?;
    let y_sc: Vec<u32> = y.iter().map(|&c| c as u32).collect();
    let params = LogisticRegressionParameters::default().with_alpha(alpha);
    let lr = LogisticRegression::fit(&x_sc, &y_sc, params).map_err(failed)?;
    // smartcore stores coefficients as (K, d), one row per class, and
    // intercepts as (K, 1); our W is (d, K).
    let (k, d) = lr.coefficients().shape();
    let w = DMatrix::from_fn(d, k, |i, j| *lr.coefficients().get((j, i)));
    let b = DMatrix::from_fn(1, k, |_, j| *lr.intercept().get((j, 0)));
    Ok(SoftmaxRegression { w, b })
}
// ANCHOR_END: iris_comparison

// ANCHOR: iris_gaussian
/// Per-class Gaussian maximum-likelihood estimates (1.8) of every
/// feature, next to the means and variances of smartcore's `GaussianNB`.
#[derive(Debug, Clone)]
pub struct GaussianComparison {
    /// Our `μ̂`, shape `(K, d)`: row = species, column = feature.
    pub mean: DMatrix<f64>,
    /// Our `σ̂²` (divided by `N_k`), shape `(K, d)`.
    pub variance: DMatrix<f64>,
    /// smartcore's `theta()`, shape `(K, d)`.
    pub smartcore_mean: DMatrix<f64>,
    /// smartcore's `var()`, shape `(K, d)`.
    pub smartcore_variance: DMatrix<f64>,
}

/// Fits a normal distribution to every feature of every species of the
/// raw iris data with [`gaussian_mle`], and `GaussianNB` to the same data.
///
/// # Errors
/// smartcore's failures, as [`Error::Failed`].
pub fn compare_gaussian_nb() -> Result<GaussianComparison, Error> {
    let (x, y) = load_iris();
    let d = x.ncols();
    let mut mean = DMatrix::zeros(K, d);
    let mut variance = DMatrix::zeros(K, d);
    for class in 0..K {
        let rows: Vec<usize> =
            (0..y.len()).filter(|&i| y[i] == class).collect();
        for j in 0..d {
            let samples = DVector::from_fn(rows.len(), |r, _| x[(rows[r], j)]);
            let (m, v) = gaussian_mle(&samples, Variance::MaximumLikelihood)?;
            mean[(class, j)] = m;
            variance[(class, j)] = v;
        }
    }
    let failed = |e: smartcore::error::Failed| Error::Failed {
        what: "smartcore GaussianNB",
        reason: e.to_string(),
    };
    let x_sc = to_dense(&x).map_err(failed)?;
    let y_sc: Vec<u32> = y.iter().map(|&c| c as u32).collect();
    let nb = GaussianNB::fit(&x_sc, &y_sc, GaussianNBParameters::default())
        .map_err(failed)?;
    let table = |t: &Vec<Vec<f64>>| DMatrix::from_fn(K, d, |c, j| t[c][j]);
    Ok(GaussianComparison {
        mean,
        variance,
        smartcore_mean: table(nb.theta()),
        smartcore_variance: table(nb.var()),
    })
}
// ANCHOR_END: iris_gaussian

/// A nalgebra matrix as smartcore's row-by-row `DenseMatrix`.
fn to_dense(
    x: &DMatrix<f64>,
) -> Result<DenseMatrix<f64>, smartcore::error::Failed> {
    let rows: Vec<Vec<f64>> =
        x.row_iter().map(|r| r.iter().copied().collect()).collect();
    DenseMatrix::from_2d_vec(&rows)
}
