//! Tests of the softmax listings, formulas (1.15) and (1.16): closed forms,
//! invariants, and float64 reference values from PyTorch
//! (`reference/softmax.py` wrote `reference/softmax.json`).

use approx::assert_relative_eq;
use ch01_probability::Error;
use ch01_probability::softmax::{
    softmax, softmax_rows, softmax_rows_backward, softmax_with_temperature,
};
use nalgebra::{DMatrix, DVector, dvector};
use serde::Deserialize;
use testing::{CLOSED_FORM_TOL, TORCH_TOL};

/// Sums of K ≤ 5 probabilities: K roundings of at most one ulp each.
const SUM_TOL: f64 = 1e-15;

fn v(x: &[f64]) -> DVector<f64> {
    DVector::from_row_slice(x)
}

#[test]
fn softmax_of_log_weights_normalises_the_weights() {
    // softmax(log w)_i = w_i / Σ_j w_j for positive weights w.
    let w = [1.0, 2.0, 3.0, 4.0];
    let p = softmax(&v(&w).map(f64::ln)).unwrap();
    for (p_i, w_i) in p.iter().zip(w) {
        assert_relative_eq!(*p_i, w_i / 10.0, max_relative = CLOSED_FORM_TOL);
    }
    // Equal logits give the uniform distribution.
    let p = softmax(&v(&[0.7; 5])).unwrap();
    for p_i in p.iter() {
        assert_relative_eq!(*p_i, 0.2, max_relative = CLOSED_FORM_TOL);
    }
}

#[test]
fn two_classes_give_the_logistic_sigmoid() {
    // softmax(a, b)_1 = 1 / (1 + exp(−(a − b))) = σ(a − b).
    for (a, b) in [(0.0_f64, 0.0_f64), (2.0, -1.0), (-3.5, 4.0), (30.0, 29.0)] {
        let p = softmax(&dvector![a, b]).unwrap();
        let sigmoid = 1.0 / (1.0 + (b - a).exp());
        assert_relative_eq!(p[0], sigmoid, max_relative = CLOSED_FORM_TOL);
    }
}

#[test]
fn probabilities_are_positive_and_sum_to_one() {
    for z in [
        vec![0.3, -1.2, 2.5, 0.0],
        vec![-700.0, 700.0],
        vec![1e-9, -1e-9, 0.0],
    ] {
        let p = softmax(&v(&z)).unwrap();
        assert!(p.iter().all(|&p_i| (0.0..=1.0).contains(&p_i)), "{p}");
        assert_relative_eq!(p.sum(), 1.0, max_relative = SUM_TOL);
        // The largest logit gets the largest probability.
        assert_eq!(p.argmax().0, v(&z).argmax().0);
    }
    // Row by row: every row is a distribution, equal to the vector softmax.
    #[rustfmt::skip]
    let s = DMatrix::from_row_slice(2, 3, &[
        1.0, 2.0, 3.0,
        -5.0, 0.0, 5.0,
    ]);
    let p = softmax_rows(&s).unwrap();
    for i in 0..2 {
        assert_relative_eq!(p.row(i).sum(), 1.0, max_relative = SUM_TOL);
        let expected = softmax(&s.row(i).transpose()).unwrap();
        assert_eq!(p.row(i).transpose(), expected);
    }
}

#[test]
fn shifting_all_logits_changes_nothing() {
    let z = v(&[0.5, -0.25, 1.5]);
    let p = softmax(&z).unwrap();
    for c in [-1000.0, -3.0, 7.0, 1000.0] {
        let shifted = softmax(&z.add_scalar(c)).unwrap();
        for (a, b) in p.iter().zip(shifted.iter()) {
            assert_relative_eq!(*a, *b, max_relative = CLOSED_FORM_TOL);
        }
    }
}

#[test]
fn huge_and_minus_infinite_logits_are_handled() {
    // exp(1000) overflows f64; the listing never computes it.
    let p = softmax(&v(&[1000.0, 1000.0])).unwrap();
    assert_eq!(p, v(&[0.5, 0.5]));
    // −∞ is a masked entry: probability exactly 0, the rest renormalised.
    let p = softmax(&v(&[0.0, f64::NEG_INFINITY, 0.0])).unwrap();
    assert_eq!(p, v(&[0.5, 0.0, 0.5]));
    // f32 works the same way.
    let p = softmax(&DVector::from_row_slice(&[100.0_f32, 100.0])).unwrap();
    assert_eq!(p[0], 0.5_f32);
}

#[test]
fn temperature_one_is_plain_softmax() {
    let z = v(&[2.0, 1.0, 0.5, -1.0]);
    assert_eq!(
        softmax_with_temperature(&z, 1.0).unwrap(),
        softmax(&z).unwrap()
    );
}

#[test]
fn low_temperature_approaches_one_hot_high_approaches_uniform() {
    let z = v(&[2.0, 1.0, 0.5, -1.0]);
    let cold = softmax_with_temperature(&z, 0.01).unwrap();
    // At T = 0.01 the runner-up trails by (2 − 1) / 0.01 = 100 nats.
    assert_relative_eq!(cold[0], 1.0, max_relative = CLOSED_FORM_TOL);
    let hot = softmax_with_temperature(&z, 1e6).unwrap();
    for p_i in hot.iter() {
        // The logits differ by at most 3, so at T = 1e6 each probability is
        // 1/4 · (1 + O(3e-6)).
        assert_relative_eq!(*p_i, 0.25, max_relative = 1e-5);
    }
    // Entropy grows with the temperature: the distribution flattens.
    let entropy = |p: &DVector<f64>| -p.iter().map(|q| q * q.ln()).sum::<f64>();
    let mut last = 0.0;
    for t in [0.25, 0.5, 1.0, 2.0, 4.0] {
        let h = entropy(&softmax_with_temperature(&z, t).unwrap());
        assert!(h > last, "entropy {h} at T = {t} is not above {last}");
        last = h;
    }
}

#[derive(Deserialize)]
struct Reference {
    vectors: Vec<VectorCase>,
    temperature: Vec<TemperatureCase>,
    rows: RowsCase,
}

#[derive(Deserialize)]
struct VectorCase {
    name: String,
    logits: Vec<f64>,
    probabilities: Vec<f64>,
}

#[derive(Deserialize)]
struct TemperatureCase {
    logits: Vec<f64>,
    temperature: f64,
    probabilities: Vec<f64>,
}

#[derive(Deserialize)]
struct RowsCase {
    logits: Vec<Vec<f64>>,
    probabilities: Vec<Vec<f64>>,
}

fn reference() -> Reference {
    let text = include_str!("../reference/softmax.json");
    testing::reference(text)
}

fn assert_close(ours: &DVector<f64>, torch: &[f64], case: &str) {
    assert_eq!(ours.len(), torch.len(), "{case}");
    for (a, b) in ours.iter().zip(torch) {
        assert_relative_eq!(*a, *b, max_relative = TORCH_TOL);
    }
}

#[test]
fn matches_pytorch_float64() {
    let r = reference();
    assert!(r.vectors.len() >= 5 && r.temperature.len() >= 5);
    for case in &r.vectors {
        let p = softmax(&v(&case.logits)).unwrap();
        assert_close(&p, &case.probabilities, &case.name);
    }
    for case in &r.temperature {
        let p = softmax_with_temperature(&v(&case.logits), case.temperature)
            .unwrap();
        assert_close(&p, &case.probabilities, "temperature");
    }
    let n = r.rows.logits.len();
    let flat: Vec<f64> = r.rows.logits.concat();
    let p = softmax_rows(&DMatrix::from_row_slice(n, flat.len() / n, &flat))
        .unwrap();
    for (i, row) in r.rows.probabilities.iter().enumerate() {
        assert_close(&p.row(i).transpose(), row, "rows");
    }
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    let empty = DVector::<f64>::zeros(0);
    assert_eq!(softmax(&empty), Err(Error::Empty { what: "logits z" }));
    let err = softmax(&v(&[0.0, f64::NAN])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "logits z: entry 1 is NaN, which is not allowed here"
    );
    let err = softmax(&v(&[f64::INFINITY, 0.0])).unwrap_err();
    assert!(err.to_string().contains("entry 0 is inf"), "{err}");
    let err = softmax(&v(&[f64::NEG_INFINITY; 2])).unwrap_err();
    assert!(err.to_string().contains("at least one entry > −∞"), "{err}");
    for t in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let err = softmax_with_temperature(&v(&[1.0]), t).unwrap_err();
        assert!(err.to_string().starts_with("temperature T = "), "{err}");
    }
    let err = softmax_rows(&DMatrix::<f64>::zeros(0, 3)).unwrap_err();
    assert_eq!(err, Error::Empty { what: "matrix S" });
    let err = softmax_rows(&DMatrix::from_row_slice(1, 2, &[1.0, f64::NAN]));
    assert!(err.unwrap_err().to_string().starts_with("a row of S"));
}

/// Central differences, step 1e-6: truncation O(h²) ≈ 1e-12, rounding
/// ε·|L|/h ≈ 1e-10 for losses of order 1; 1e-8 absolute on gradient
/// entries of order 0.1 to 1 catches any wrong sign or missing term.
const FD_STEP: f64 = 1e-6;
const FD_TOL: f64 = 1e-8;

/// The softmax backward (2.19) against central differences of the loss
/// `L(S) = Σ_ij G_ij softmax(S)_ij` for a general upstream gradient `G`
/// (then `∂L/∂P = G`), including a masked (−∞) score.
#[test]
fn softmax_backward_matches_finite_differences() {
    #[rustfmt::skip]
    let s = DMatrix::from_row_slice(3, 4, &[
        0.3, -1.2, 2.0, 0.5,
        1.0, 1.0, 1.0, f64::NEG_INFINITY,
        -0.7, 0.1, 4.0, -2.5,
    ]);
    #[rustfmt::skip]
    let g = DMatrix::from_row_slice(3, 4, &[
        1.0, -0.5, 0.25, 2.0,
        -1.5, 0.3, 0.7, 9.0,
        0.2, 0.2, -3.0, 1.1,
    ]);
    let loss = |s: &DMatrix<f64>| softmax_rows(s).unwrap().dot(&g);
    let p = softmax_rows(&s).unwrap();
    let d_s = softmax_rows_backward(&p, &g).unwrap();
    for i in 0..3 {
        for j in 0..4 {
            if s[(i, j)] == f64::NEG_INFINITY {
                // A masked score has weight 0 and gets no gradient.
                assert_eq!(d_s[(i, j)], 0.0);
                continue;
            }
            let (mut up, mut down) = (s.clone(), s.clone());
            up[(i, j)] += FD_STEP;
            down[(i, j)] -= FD_STEP;
            let fd = (loss(&up) - loss(&down)) / (2.0 * FD_STEP);
            assert!((d_s[(i, j)] - fd).abs() < FD_TOL, "({i}, {j})");
        }
    }
    // Shift invariance of the softmax: each row of ∂L/∂S sums to 0.
    for row in d_s.row_iter() {
        assert!(row.sum().abs() < CLOSED_FORM_TOL);
    }
    let err = softmax_rows_backward(&p, &DMatrix::zeros(3, 3)).unwrap_err();
    assert!(matches!(err, Error::Shape { .. }), "{err}");
}
