//! Exercise 2.7 / Aufgabe 2.7: the backward pass of masked attention.
//!
//! Forward, with a mask `M` (entries `0` or `−∞`), formula (2.4):
//!
//! ```text
//! S = Q Kᵀ / √d_k + M,   P = softmax(S) (row by row),   O = P V
//! ```
//!
//! Given `∂L/∂O`, compute `∂L/∂Q`, `∂L/∂K` and `∂L/∂V` with formulas
//! (2.19) and (2.20), derived in exercise 2.4:
//!
//! ```text
//! ∂L/∂V = Pᵀ ∂L/∂O,   ∂L/∂P = ∂L/∂O Vᵀ,
//! ∂L/∂S_ij = P_ij (∂L/∂P_ij − Σ_k P_ik ∂L/∂P_ik),
//! ∂L/∂Q = ∂L/∂S K / √d_k,   ∂L/∂K = (∂L/∂S)ᵀ Q / √d_k
//! ```
//!
//! You may compute the forward pass with
//! `ch02_transformer::attention::attention` (it returns `P` as
//! `weights`); write the backward pass yourself, without the listing's
//! `attention_backward` or `softmax_rows_backward`: the tests compare
//! with them.

use ch02_transformer::attention::attention;
use nalgebra::DMatrix;
use notation::Error;

/// The gradients of a scalar loss with respect to `Q`, `K` and `V`.
#[derive(Clone, Debug, PartialEq)]
pub struct Grads {
    /// `∂L/∂Q`, shape `(n_q, d_k)`.
    pub d_q: DMatrix<f64>,
    /// `∂L/∂K`, shape `(n_k, d_k)`.
    pub d_k: DMatrix<f64>,
    /// `∂L/∂V`, shape `(n_k, d_v)`.
    pub d_v: DMatrix<f64>,
}

/// The backward pass of `Attention(Q, K, V; M)` from `d_out = ∂L/∂O`.
///
/// # Shapes
/// `q`: `(n_q, d_k)`, `k`: `(n_k, d_k)`, `v`: `(n_k, d_v)`, `mask`:
/// `(n_q, n_k)`, `d_out`: `(n_q, d_v)`.
///
/// # Errors
/// Those of the forward pass (`attention`), and `d_out` not of shape
/// `(n_q, d_v)` ([`Error::Shape`]).
pub fn masked_attention_backward(
    q: &DMatrix<f64>,
    k: &DMatrix<f64>,
    v: &DMatrix<f64>,
    mask: Option<&DMatrix<f64>>,
    d_out: &DMatrix<f64>,
) -> Result<Grads, Error> {
    todo!("forward for P, then ∂L/∂V, ∂L/∂P, ∂L/∂S, ∂L/∂Q, ∂L/∂K")
}
