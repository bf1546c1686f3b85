//! Tests of the sinusoidal positional encoding, formula (2.15), and of
//! the property that makes it necessary, formula (2.14): self-attention
//! without it is permutation-equivariant. Reference values from
//! `reference/positional.py` (`reference/positional.json`).

mod common;

use ch02_transformer::attention::attention;
use ch02_transformer::linear::Linear;
use ch02_transformer::multihead::MultiHeadAttention;
use ch02_transformer::positional::sinusoidal;
use ch02_transformer::random;
use common::{assert_close, json, matrix};
use nalgebra::DMatrix;

/// sin and cos of angles up to 50 rad in f64: the angle is exact to an
/// ulp of 50 (7e-15), so the values are too; libm and PyTorch agree to
/// that.
const TRIG_TOL: f64 = 1e-13;

/// Permuting the rows changes the order of summation over the keys (in
/// the softmax and in P V); outputs are sums of terms of order 1, so they
/// agree to a few ulps of 1, absolute.
const PERMUTATION_TOL: f64 = 1e-14;

#[test]
fn position_zero_and_the_first_pair() {
    let pe: DMatrix<f64> = sinusoidal(10, 8).unwrap();
    // pos = 0: every sine is 0, every cosine 1.
    for j in 0..8 {
        assert_eq!(pe[(0, j)], if j % 2 == 0 { 0.0 } else { 1.0 });
    }
    // i = 0 has ω = 1: the first two columns are sin(pos) and cos(pos).
    for pos in 0..10 {
        let p = pos as f64;
        assert!((pe[(pos, 0)] - p.sin()).abs() <= TRIG_TOL);
        assert!((pe[(pos, 1)] - p.cos()).abs() <= TRIG_TOL);
    }
    // The last pair has ω = 10000^(−6/8): at pos 9 it has barely turned.
    let omega = 10000f64.powf(-6.0 / 8.0);
    assert!((pe[(9, 6)] - (9.0 * omega).sin()).abs() <= TRIG_TOL);
}

#[test]
fn a_shift_by_k_positions_is_a_rotation_of_every_pair() {
    // (sin((p+k)ω), cos((p+k)ω)) is (sin pω, cos pω) turned by kω: the
    // encoding of p + k is a linear function of that of p, the same for
    // every p. This is why Vaswani et al. chose it.
    let (n, d, k) = (40, 12, 7);
    let pe: DMatrix<f64> = sinusoidal(n, d).unwrap();
    for i in 0..d / 2 {
        let omega = 10000f64.powf(-2.0 * i as f64 / d as f64);
        let (s, c) = ((k as f64 * omega).sin(), (k as f64 * omega).cos());
        for p in 0..n - k {
            let (sp, cp) = (pe[(p, 2 * i)], pe[(p, 2 * i + 1)]);
            // Unit length: every pair lies on the unit circle.
            assert!((sp * sp + cp * cp - 1.0).abs() <= TRIG_TOL);
            let rotated_sin = sp * c + cp * s;
            let rotated_cos = cp * c - sp * s;
            assert!((pe[(p + k, 2 * i)] - rotated_sin).abs() <= TRIG_TOL);
            assert!((pe[(p + k, 2 * i + 1)] - rotated_cos).abs() <= TRIG_TOL);
        }
    }
}

#[test]
fn matches_pytorch_float64() {
    let r = json(include_str!("../reference/positional.json"));
    for c in r["cases"].as_array().unwrap() {
        let n = c["n"].as_u64().unwrap() as usize;
        let d = c["d_model"].as_u64().unwrap() as usize;
        let pe = sinusoidal(n, d).unwrap();
        assert_close(&pe, &matrix(&c["pe"]), TRIG_TOL, 0.0, "positional");
    }
}

/// The rows of `x` in the order `perm`: row i of the result is row
/// perm[i] of x, i.e. Π X for the permutation matrix Π.
fn permute(x: &DMatrix<f64>, perm: &[usize]) -> DMatrix<f64> {
    DMatrix::from_fn(x.nrows(), x.ncols(), |i, j| x[(perm[i], j)])
}

#[test]
fn self_attention_without_positions_is_permutation_equivariant() {
    let mut rng = random::rng(71);
    let (n, d, h) = (6, 8, 2);
    let lin = |rng: &mut _| {
        Linear::new(
            random::normal(rng, d, d, 0.4),
            random::normal(rng, d, 1, 0.1).transpose(),
        )
        .unwrap()
    };
    let mha = MultiHeadAttention::new(
        h,
        lin(&mut rng),
        lin(&mut rng),
        lin(&mut rng),
        lin(&mut rng),
    )
    .unwrap();
    let x = random::normal(&mut rng, n, d, 1.0);
    let perm = [3, 0, 5, 1, 4, 2];
    let y = mha.forward(&x, &x, None).unwrap().output;
    // (2.14): MultiHead(Π X) = Π MultiHead(X). Shuffled tokens give the
    // same outputs, shuffled the same way: the order is invisible.
    let x_perm = permute(&x, &perm);
    let y_perm = mha.forward(&x_perm, &x_perm, None).unwrap().output;
    assert_close(
        &y_perm,
        &permute(&y, &perm),
        PERMUTATION_TOL,
        PERMUTATION_TOL,
        "Π",
    );
    // Plain attention too.
    let a = attention(&x, &x, &x, None).unwrap().output;
    let a_perm = attention(&x_perm, &x_perm, &x_perm, None).unwrap().output;
    assert_close(
        &a_perm,
        &permute(&a, &perm),
        PERMUTATION_TOL,
        PERMUTATION_TOL,
        "Π",
    );

    // With positional encodings added, position 0 of the shuffled input is
    // a different vector than before: the outputs change, not just move.
    let pe = sinusoidal(n, d).unwrap();
    let with_pe = mha.forward(&(&x + &pe), &(&x + &pe), None).unwrap();
    let shuffled = &x_perm + &pe;
    let with_pe_perm = mha.forward(&shuffled, &shuffled, None).unwrap();
    let moved = permute(&with_pe.output, &perm);
    let gap = common::max_abs_diff(&with_pe_perm.output, &moved);
    assert!(gap > 1e-2, "positions had no effect: {gap}");
}

#[test]
fn bad_input_is_refused() {
    let err = sinusoidal::<f64>(0, 4).unwrap_err();
    assert!(err.to_string().starts_with("positional encoding"), "{err}");
    assert!(sinusoidal::<f64>(3, 0).is_err());
}
