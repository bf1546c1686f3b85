//! Exercise 2.7 / Aufgabe 2.7: the backward pass of masked attention.
//!
//! Reference solution: the forward pass of the listing for `P`, then
//! formulas (2.19) and (2.20), written out.

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
    let p = attention(q, k, v, mask)?.weights;
    if d_out.shape() != (q.nrows(), v.ncols()) {
        return Err(Error::Shape {
            what: "∂L/∂O",
            expected: format!("({}, {}), n_q × d_v", q.nrows(), v.ncols()),
            got: format!("{:?}", d_out.shape()),
        });
    }
    let scale = 1.0 / (q.ncols() as f64).sqrt();
    let d_v = p.transpose() * d_out;
    let d_p = d_out * v.transpose();
    // (2.19): a masked entry has P_ij = 0, so its ∂L/∂S_ij is 0 as well;
    // the mask needs no extra care.
    let mut d_s = p.component_mul(&d_p);
    for (mut row, p_row) in d_s.row_iter_mut().zip(p.row_iter()) {
        let inner = row.sum();
        row -= p_row * inner;
    }
    let d_q = &d_s * k * scale;
    let d_k = d_s.transpose() * q * scale;
    Ok(Grads { d_q, d_k, d_v })
}
