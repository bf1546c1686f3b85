//! `gemm::matmul`, the product behind the fast variants, equals
//! nalgebra's `A B` — to the bit with nalgebra's own product (the default),
//! within rounding with the `blas` feature (OpenBLAS sums in another
//! order). Run both: `cargo test -p ch02-transformer` and
//! `cargo test -p ch02-transformer --features blas`.

mod common;
use common::{max_abs_diff as max_diff, randn};

use ch02_transformer::gemm::{self, BLAS_MIN, matmul};

/// f64 products of length ≤ 300 with N(0, 1) entries: sums in another
/// order differ by a few ulp of results of size about √300 ≈ 17.
const F64_TOL: f64 = 1e-12;
/// The same in f32 (ulp 2⁻²³ ≈ 1.2e-7 relative), against the f64 product.
const F32_TOL: f64 = 1e-4;

/// Shapes below, at and above the size where the `blas` feature hands
/// the product to OpenBLAS, square and not.
fn shapes() -> Vec<(usize, usize, usize)> {
    let s = BLAS_MIN;
    vec![
        (3, 4, 5),
        (s, s, s),
        (s + 1, s + 1, s + 1),
        (64, 17, 130),
        (300, 65, 33),
        (129, 257, 100),
    ]
}

#[test]
fn matmul_equals_nalgebra_product_f64() {
    for (i, (m, k, n)) in shapes().into_iter().enumerate() {
        let a = randn(2 * i as u64, m, k);
        let b = randn(2 * i as u64 + 1, k, n);
        let (ours, theirs) = (matmul(&a, &b), &a * &b);
        if gemm::BACKEND == "nalgebra" {
            assert_eq!(ours, theirs, "{m}×{k}×{n}");
        } else {
            let d = max_diff(&ours, &theirs);
            assert!(d < F64_TOL, "{m}×{k}×{n}: {d:e}");
        }
    }
}

#[test]
fn matmul_equals_nalgebra_product_f32() {
    for (i, (m, k, n)) in shapes().into_iter().enumerate() {
        let a = randn(20 + 2 * i as u64, m, k);
        let b = randn(21 + 2 * i as u64, k, n);
        let (a32, b32) = (a.map(|x| x as f32), b.map(|x| x as f32));
        let ours = matmul(&a32, &b32).map(f64::from);
        let exact = a32.map(f64::from) * b32.map(f64::from);
        let d = max_diff(&ours, &exact);
        assert!(d < F32_TOL, "{m}×{k}×{n}: {d:e}");
        if gemm::BACKEND == "nalgebra" {
            assert_eq!(matmul(&a32, &b32), &a32 * &b32, "{m}×{k}×{n}");
        }
    }
}

#[test]
#[should_panic(expected = "matmul: A has 4 columns, B has 5 rows")]
fn matmul_refuses_mismatched_shapes() {
    matmul(&randn(1, 3, 4), &randn(2, 5, 6));
}
