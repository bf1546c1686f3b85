//! Listings of chapter 2, „Transformer-Architektur“ / "Transformer
//! architecture".
//!
//! One module per formula family, forward and backward. The conventions
//! are those of the `notation` crate: a token is a row, a linear layer is
//! `y = x W + b` with `W` of shape `(d_in, d_out)`, `Q = X W_Q`.
//!
//! Next to the readable passes that the book shows stand their `*_fast`
//! twins (`attention_fast`, `LayerNorm::forward_fast`, ...): the same
//! arguments, the same result type, the same mathematics arranged for
//! speed. Each kernel lives next to its concept (the attention kernels in
//! `attention::kernel`, the linear and GELU kernels in [`linear`] and
//! [`ffn`]); below them are [`primitives`] (a vectorizable exponential,
//! the row softmax of a column-major block) and [`gemm`] (the products).
//! Tests swap each pair and check that both agree; `cargo bench` times
//! them.

pub mod attention;
pub mod block;
pub mod blocked;
pub mod encoder_decoder;
pub mod example;
pub mod ffn;
pub mod gemm;
pub mod layer_norm;
pub mod linear;
pub mod mask;
pub mod multihead;
pub mod positional;
pub mod primitives;
pub mod random;
pub mod scaling;

// The nalgebra of the listings, so that a user of this crate need not
// pin the same version.
pub use nalgebra;
pub use notation::{Error, Real, lit};
