//! Tests of the linear layer, formula (2.1): a product by hand, the
//! row-by-row property, and bad shapes. Against PyTorch's nn.Linear it is
//! checked inside every reference test of the chapter (`tests/ffn.rs`,
//! `tests/multihead.rs`).

use ch02_transformer::linear::Linear;
use nalgebra::DMatrix;

#[test]
fn a_product_by_hand() {
    // x = (1, 2), W = ((1, 0, 2), (3, −1, 0)), b = (0.5, 0, −1):
    // x W = (1 + 6, −2, 2) = (7, −2, 2), plus b = (7.5, −2, 1).
    #[rustfmt::skip]
    let w = DMatrix::from_row_slice(2, 3, &[
        1.0,  0.0, 2.0,
        3.0, -1.0, 0.0,
    ]);
    let layer =
        Linear::new(w, DMatrix::from_row_slice(1, 3, &[0.5, 0.0, -1.0]))
            .unwrap();
    let x = DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 0.0, 0.0]);
    let y = layer.forward(&x).unwrap();
    // Exact: small integers and halves.
    assert_eq!(
        y.row(0).iter().copied().collect::<Vec<_>>(),
        [7.5, -2.0, 1.0]
    );
    // A zero token gives the bias.
    assert_eq!(y.row(1), layer.b.row(0));
}

#[test]
fn bad_shapes_are_refused() {
    let layer = Linear::without_bias(DMatrix::<f64>::zeros(4, 2)).unwrap();
    let err = layer.forward(&DMatrix::zeros(3, 3)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "X: expected 4 columns (d_in, the rows of W), got 3 columns"
    );
    assert!(Linear::without_bias(DMatrix::<f64>::zeros(0, 2)).is_err());
}
