//! What the tests of the listing crates share (a dev-dependency of each):
//! the tolerances that most comparisons use, reading the reference JSON
//! that the PyTorch scripts in each crate's `reference/` write, and
//! comparing numbers and matrices with a message that names the entry.
//!
//! A test whose comparison needs another tolerance declares it next to
//! the test, with its reason.

use approx::relative_eq;
use nalgebra::{DMatrix, DVector};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Closed forms: a few roundings of at most half an ulp (1.1e-16) each,
/// relative to values of order 1.
pub const CLOSED_FORM_TOL: f64 = 1e-14;

/// Against PyTorch in float64: the same formula, but libm's and torch's
/// `exp`/`log` may differ by an ulp and sums run in another order; a few
/// ulps of values of order 1.
pub const TORCH_TOL: f64 = 1e-13;

/// The reference JSON `text` (from `include_str!`) as the test's type.
pub fn reference<T: DeserializeOwned>(text: &str) -> T {
    serde_json::from_str(text).expect("the reference JSON is valid")
}

/// The reference JSON `text` as an untyped value.
pub fn json(text: &str) -> Value {
    reference(text)
}

/// A number of the JSON; the scripts write ±∞ and NaN as strings.
pub fn number(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap(),
        Value::String(s) => s.parse().expect("a number written as string"),
        other => panic!("not a number: {other}"),
    }
}

/// A matrix written as a list of rows.
pub fn matrix(v: &Value) -> DMatrix<f64> {
    let rows = v.as_array().expect("a list of rows");
    let n = rows.len();
    let flat: Vec<f64> = rows
        .iter()
        .flat_map(|r| r.as_array().expect("a row").iter().map(number))
        .collect();
    let m = flat.len().checked_div(n).unwrap_or(0);
    DMatrix::from_row_slice(n, m, &flat)
}

/// An optional matrix (JSON `null` is none).
pub fn optional_matrix(v: &Value) -> Option<DMatrix<f64>> {
    (!v.is_null()).then(|| matrix(v))
}

/// A vector written as a list.
pub fn vector(v: &Value) -> DVector<f64> {
    let xs: Vec<f64> =
        v.as_array().expect("a list").iter().map(number).collect();
    DVector::from_vec(xs)
}

/// A list as a row, shape `(1, n)`: a bias, `γ` or `β`.
pub fn row(v: &Value) -> DMatrix<f64> {
    let v = vector(v);
    DMatrix::from_row_slice(1, v.len(), v.as_slice())
}

/// `|a − b| ≤ tol · max(|a|, |b|, 1)`: relative for large values,
/// absolute below 1 (where a relative bound on a value near 0 would ask
/// for more digits than the computation has).
pub fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * a.abs().max(b.abs()).max(1.0)
}

/// Asserts `|a − b| ≤ abs + rel · |b|` entry by entry and names the entry
/// and the case on failure.
pub fn assert_close(
    a: &DMatrix<f64>,
    b: &DMatrix<f64>,
    abs: f64,
    rel: f64,
    case: &str,
) {
    assert_eq!(a.shape(), b.shape(), "{case}: shapes differ");
    for i in 0..a.nrows() {
        for j in 0..a.ncols() {
            let (x, y) = (a[(i, j)], b[(i, j)]);
            assert!(
                relative_eq!(x, y, epsilon = abs, max_relative = rel),
                "{case}: entry ({i}, {j}) is {x}, expected {y}"
            );
        }
    }
}

/// The largest `|a − b|` over all entries.
pub fn max_abs_diff(a: &DMatrix<f64>, b: &DMatrix<f64>) -> f64 {
    assert_eq!(a.shape(), b.shape());
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_matrices_and_closeness() {
        let v = json(r#"{"m": [[1, 2, 3], [4, "inf", "NaN"]], "n": null}"#);
        let m = matrix(&v["m"]);
        assert_eq!(m.shape(), (2, 3));
        assert_eq!(m[(0, 2)], 3.0);
        assert_eq!(m[(1, 1)], f64::INFINITY);
        assert!(m[(1, 2)].is_nan());
        assert!(optional_matrix(&v["n"]).is_none());
        assert!(close(1e6, 1e6 + 0.5, 1e-6));
        assert!(!close(1e6, 1e6 + 2.0, 1e-6));
        assert!(close(0.0, 1e-7, 1e-6) && !close(0.0, 1e-5, 1e-6));
    }
}
