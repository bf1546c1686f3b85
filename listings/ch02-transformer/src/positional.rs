//! Sinusoidal positional encoding: attention alone is blind to the order
//! of the tokens, so each position gets a fixed vector added to its token.
//!
//! Book: section „Positionskodierung“ / "Positional encoding" of
//! chapter 2.

use nalgebra::DMatrix;
use notation::{Error, Real, lit};

// ANCHOR: positional
/// The sinusoidal positional encodings of Vaswani et al. (2017) for
/// positions `0 .. n` and `d_model` features.
///
/// ```text
/// PE(pos, 2i)     = sin(pos / 10000^(2i / d_model))                (2.15)
/// PE(pos, 2i + 1) = cos(pos / 10000^(2i / d_model))
/// ```
///
/// Feature pair `i` turns with the angular frequency
/// `ω_i = 10000^(−2i/d_model)`, from one radian per position (`i = 0`)
/// down to about 1/10000. For odd `d_model` the last column is a sine.
///
/// # Shapes
/// `n` positions, `d_model` features → `(n, d_model)`.
///
/// # Book
/// Formel (2.15) in Kapitel 2, „Positionskodierung“ / formula (2.15) in
/// chapter 2, "Positional encoding".
///
/// # Errors
/// `n = 0` or `d_model = 0`.
pub fn sinusoidal<T: Real>(
    n: usize,
    d_model: usize,
) -> Result<DMatrix<T>, Error> {
    if n == 0 || d_model == 0 {
        return Err(Error::Empty {
            what: "positional encoding (n positions, d_model features)",
        });
    }
    let base = lit::<T>(10000.0);
    let d = lit::<T>(d_model as f64);
    Ok(DMatrix::from_fn(n, d_model, |pos, j| {
        let two_i = lit::<T>((j - j % 2) as f64);
        // ω_i = 10000^(−2i/d) = exp(−(2i/d) ln 10000), computed directly.
        let omega = (-(two_i / d) * base.ln()).exp();
        let angle = lit::<T>(pos as f64) * omega;
        if j % 2 == 0 { angle.sin() } else { angle.cos() }
    }))
}
// ANCHOR_END: positional
