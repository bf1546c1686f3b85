//! Listings of chapter 2, „Transformer-Architektur“ / "Transformer
//! architecture".
//!
//! One module per formula family, forward and backward. The conventions
//! are those of the `notation` crate: a token is a row, a linear layer is
//! `y = x W + b` with `W` of shape `(d_in, d_out)`, `Q = X W_Q`.
//!
//! Next to the readable forward passes that the book shows stand `*_fast`
//! variants (`attention_fast`, `MultiHeadAttention::forward_fast`, ...)
//! with the same mathematics arranged for speed (see [`fast`]); tests check
//! that both agree, and `cargo bench` times them.

pub mod attention;
pub mod block;
pub mod blocked;
pub mod encoder_decoder;
pub mod example;
pub mod fast;
pub mod ffn;
pub mod gemm;
pub mod layer_norm;
pub mod linear;
pub mod mask;
pub mod multihead;
pub mod positional;
pub mod random;
pub mod scaling;
mod shape;

// The nalgebra of the listings, so that a user of this crate need not
// pin the same version.
pub use nalgebra;
pub use notation::{Error, Real, lit};
