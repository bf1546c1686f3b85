//! Tests of exercise 1.7: `log_softmax_rows` against chapter 1's
//! `log_softmax`, its invariants and its stability.

use ch01_probability::cross_entropy::log_softmax;
use genai_exercises::ch01_7::*;
use nalgebra::{DMatrix, DVector};
use notation::Error;

/// The same formula as the listing, but maybe summed in another order: a
/// few ulps of values of order 1 to 1000.
const TOL: f64 = 1e-12;

#[rustfmt::skip]
fn logits() -> DMatrix<f64> {
    DMatrix::from_row_slice(4, 3, &[
        2.0, 1.0, 0.0,
        -0.5, 3.25, 0.125,
        0.0, 0.0, 0.0,
        10.0, -4.0, 7.5,
    ])
}

#[test]
fn every_row_is_the_listings_log_softmax() {
    let z = logits();
    let got = log_softmax_rows(&z).unwrap();
    assert_eq!(got.shape(), z.shape());
    for i in 0..z.nrows() {
        let want = log_softmax(&z.row(i).transpose()).unwrap();
        for j in 0..z.ncols() {
            assert!(
                (got[(i, j)] - want[j]).abs() <= TOL,
                "entry ({i}, {j}): {} instead of {}",
                got[(i, j)],
                want[j]
            );
        }
    }
}

#[test]
fn exp_of_each_row_sums_to_one_and_equal_logits_give_log_of_one_over_k() {
    let z = logits();
    let got = log_softmax_rows(&z).unwrap();
    for (i, row) in got.row_iter().enumerate() {
        let sum: f64 = row.iter().map(|x| x.exp()).sum();
        assert!((sum - 1.0).abs() <= TOL, "row {i} sums to {sum}");
        assert!(row.iter().all(|&x| x <= 0.0), "row {i} has an entry > 0");
    }
    // Row 2 has three equal logits: log(1/3) each.
    for j in 0..3 {
        assert!((got[(2, j)] + 3.0_f64.ln()).abs() <= TOL);
    }
}

#[test]
fn shifting_a_row_changes_nothing() {
    let z = logits();
    let mut shifted = z.clone();
    for (i, mut row) in shifted.row_iter_mut().enumerate() {
        row.add_scalar_mut(1000.0 * (i as f64 - 1.5));
    }
    let a = log_softmax_rows(&z).unwrap();
    let b = log_softmax_rows(&shifted).unwrap();
    // A shift of up to 1500 costs the last digits of z_ij − m: about
    // 1500 · 2.2e-16 ≈ 3e-13.
    assert!((a - b).amax() <= 1e-11);
}

#[test]
fn huge_logits_and_minus_infinity_are_handled() {
    let z = DMatrix::from_row_slice(
        2,
        3,
        &[1000.0, 0.0, -1000.0, 0.0, f64::NEG_INFINITY, 0.0],
    );
    let got = log_softmax_rows(&z).unwrap();
    // log softmax(1000, 0, −1000) = (−log(1 + e^−1000 + e^−2000), −1000, −2000)
    // up to rounding: the first entry is −1e-434 ≈ 0.
    assert_eq!(got[(0, 0)], 0.0);
    assert_eq!(got[(0, 1)], -1000.0);
    assert_eq!(got[(0, 2)], -2000.0);
    assert_eq!(got[(1, 1)], f64::NEG_INFINITY);
    assert!((got[(1, 0)] + 2.0_f64.ln()).abs() <= TOL);
    assert!((got[(1, 2)] + 2.0_f64.ln()).abs() <= TOL);
}

#[test]
fn f32_works_and_keeps_its_digits() {
    let z = logits().map(|x| x as f32);
    let got = log_softmax_rows(&z).unwrap();
    let want = log_softmax_rows(&logits()).unwrap();
    // f32: a few ulps (1.2e-7) of values up to about 14.
    for (a, b) in got.iter().zip(want.iter()) {
        assert!((f64::from(*a) - b).abs() <= 1e-5);
    }
}

#[test]
fn bad_input_is_refused() {
    let empty = DMatrix::<f64>::zeros(0, 3);
    assert!(matches!(log_softmax_rows(&empty), Err(Error::Empty { .. })));
    let nan = DMatrix::from_row_slice(1, 2, &[0.0, f64::NAN]);
    assert!(matches!(
        log_softmax_rows(&nan),
        Err(Error::NotFinite { .. })
    ));
    let inf = DMatrix::from_row_slice(1, 2, &[f64::INFINITY, 0.0]);
    assert!(matches!(
        log_softmax_rows(&inf),
        Err(Error::NotFinite { .. })
    ));
    let dead = DMatrix::from_row_slice(
        2,
        2,
        &[0.0, 1.0, f64::NEG_INFINITY, f64::NEG_INFINITY],
    );
    assert!(matches!(log_softmax_rows(&dead), Err(Error::Domain { .. })));
    // A single row is a matrix with one row: the same as the vector form.
    let one = DMatrix::from_row_slice(1, 3, &[0.5, -1.0, 2.0]);
    let v = log_softmax(&DVector::from_row_slice(&[0.5, -1.0, 2.0])).unwrap();
    let got = log_softmax_rows(&one).unwrap();
    assert!(
        (got.transpose() - DMatrix::from_column_slice(3, 1, v.as_slice()))
            .amax()
            <= TOL
    );
}
