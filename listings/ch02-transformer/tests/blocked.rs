//! Tests of attention in blocks, formulas (2.24) to (2.27): the online
//! softmax equals the softmax; the blocked forward and backward passes
//! equal `attention` and `attention_backward` for block sizes that divide
//! `n` and that do not, with and without masks; the backward pass against
//! central finite differences; bad input; and the fast twins, which take
//! the same arguments and return the same type, can be swapped in.

mod common;
use common::{assert_close, max_abs_diff, randn};

use ch01_probability::softmax::softmax;
use ch02_transformer::Error;
use ch02_transformer::attention::{
    AttentionGrads, attention, attention_backward,
};
use ch02_transformer::blocked::{
    BlockedAttention, attention_blocked, attention_blocked_backward,
    attention_blocked_backward_fast, attention_blocked_fast, online_softmax,
    working_set,
};
use ch02_transformer::mask::{causal_mask, padding_mask};
use nalgebra::{DMatrix, DVector};

/// f64: blocked and unblocked attention differ only in the order of the
/// sums (the softmax's denominator and `P V` summed block by block, each
/// block rescaled by `exp(m_old − m_new)`), a few ulp of results of size
/// about 1; a wrong rescaling factor or a lost block changes them by 1e-2
/// and more.
const F64_TOL: f64 = 1e-12;
/// f32: the same, with ulp = 1.2e-7 and, in the fast variant, the
/// vectorized exponential (within 2 ulp of `f32::exp`); over at most a
/// few dozen keys here that stays below 1e-5 for results of size about 1.
const F32_TOL: f64 = 1e-5;
/// The step of the central difference; its error is about h² f'''/6 plus
/// ε·|L|/h, both about 1e-11 for the losses here (of order 1 to 10), as in
/// `tests/backward.rs`.
const FD_STEP: f64 = 1e-5;
/// Finite differences agree with the analytic gradient to 1e-7 relative
/// (absolute below 1): 1000× the expected error, while a missing term of
/// the backward pass (such as `D_i`) is an error of order 0.01 to 1.
const FD_TOL: f64 = 1e-7;

type Forward<T> = fn(
    &DMatrix<T>,
    &DMatrix<T>,
    &DMatrix<T>,
    Option<&DMatrix<T>>,
    usize,
) -> Result<BlockedAttention<T>, Error>;

type Backward<T> = fn(
    &DMatrix<T>,
    &DMatrix<T>,
    &DMatrix<T>,
    Option<&DMatrix<T>>,
    &BlockedAttention<T>,
    &DMatrix<T>,
    usize,
) -> Result<AttentionGrads<T>, Error>;

/// The readable listing and its fast twin: one function-pointer type
/// each, so that this array only compiles if their signatures agree.
const FORWARD: [(&str, Forward<f64>); 2] = [
    ("readable", attention_blocked),
    ("fast", attention_blocked_fast),
];
const BACKWARD: [(&str, Backward<f64>); 2] = [
    ("readable", attention_blocked_backward),
    ("fast", attention_blocked_backward_fast),
];
const FORWARD32: [(&str, Forward<f32>); 2] = [
    ("readable", attention_blocked),
    ("fast", attention_blocked_fast),
];
const BACKWARD32: [(&str, Backward<f32>); 2] = [
    ("readable", attention_blocked_backward),
    ("fast", attention_blocked_backward_fast),
];

/// `(n_q, n_k, block)`: blocks that divide `n` (16 by 4), that do not
/// (13 by 4, the last block has one row), a block of 1, blocks of `n`
/// and larger than `n`, and fewer queries than keys and vice versa.
const CASES: [(usize, usize, usize); 8] = [
    (13, 13, 4),
    (16, 16, 4),
    (13, 13, 1),
    (13, 13, 13),
    (13, 13, 20),
    (7, 11, 3),
    (11, 7, 5),
    (40, 40, 16),
];

fn to_f32(m: &DMatrix<f64>) -> DMatrix<f32> {
    m.map(|x| x as f32)
}

fn to_f64(m: &DMatrix<f32>) -> DMatrix<f64> {
    m.map(f64::from)
}

/// The causal pattern (2.5) for `n_q` queries and `n_k` keys, also when
/// `n_q ≠ n_k`: query `i` sees the keys `j ≤ i`.
fn causal_pattern(n_q: usize, n_k: usize) -> DMatrix<f64> {
    DMatrix::from_fn(
        n_q,
        n_k,
        |i, j| {
            if j <= i { 0.0 } else { f64::NEG_INFINITY }
        },
    )
}

/// The masks of a case. The fast variants recognize the causal mask and
/// apply it by index ("causal"); every other mask takes the path that
/// adds it block by block: padding, the causal mask with one more key
/// hidden by padding, and the causal mask with a finite bias on one entry
/// below the diagonal (causal in shape, but not the causal mask, so it
/// must not be applied by index).
fn masks(n_q: usize, n_k: usize) -> Vec<(&'static str, Option<DMatrix<f64>>)> {
    // Key 0 is padding: for block 1 the first block of keys is hidden.
    let is_token: Vec<bool> = (0..n_k).map(|j| j % 3 != 0).collect();
    let causal = causal_pattern(n_q, n_k);
    // Key 1 is padding here: key 0 stays, the only key query 0 sees.
    let is_token_1: Vec<bool> = (0..n_k).map(|j| j != 1).collect();
    let causal_padding = &causal + padding_mask(n_q, &is_token_1).unwrap();
    let mut biased = causal.clone();
    biased[(n_q - 1, 0)] = -1.5;
    vec![
        ("none", None),
        ("padding", Some(padding_mask(n_q, &is_token).unwrap())),
        ("causal", Some(causal)),
        ("causal + padding", Some(causal_padding)),
        ("causal + bias", Some(biased)),
    ]
}

/// Inputs of a case; `Q` scaled by 3 so that the weights are far from
/// uniform and the running maximum changes from block to block.
fn inputs(
    seed: u64,
    n_q: usize,
    n_k: usize,
) -> (DMatrix<f64>, DMatrix<f64>, DMatrix<f64>, DMatrix<f64>) {
    let (d_k, d_v) = (8, 5);
    let q = randn(seed, n_q, d_k) * 3.0;
    let k = randn(seed + 1, n_k, d_k);
    let v = randn(seed + 2, n_k, d_v);
    let g = randn(seed + 3, n_q, d_v);
    (q, k, v, g)
}

/// `log Σ_j exp(S_ij)` of every row of `s`, by chapter 1's stable form.
fn row_lse(s: &DMatrix<f64>) -> DVector<f64> {
    DVector::from_iterator(
        s.nrows(),
        s.row_iter().map(|row| {
            let m = row.max();
            m + row.map(|x| (x - m).exp()).sum().ln()
        }),
    )
}

#[test]
fn online_softmax_equals_softmax() {
    let z = randn(1, 23, 1).column(0) * 4.0;
    let mut with_masked = z.clone();
    for j in [0, 1, 2, 3, 9, 22] {
        with_masked[j] = f64::NEG_INFINITY; // the whole first block of 4
    }
    let large = z.map(|x| x * 200.0); // scores near ±750: exp would overflow
    for z in [z, with_masked, large] {
        let expected = softmax(&z).unwrap();
        for block in [1, 2, 4, 5, 22, 23, 100] {
            let p = online_softmax(&z, block).unwrap();
            let diff = (&p - &expected).amax();
            assert!(diff < F64_TOL, "block {block}: {diff}");
            assert!((p.sum() - 1.0).abs() < F64_TOL);
        }
    }
    // A closed form: softmax(log x) = x / Σ x, here in blocks of 2.
    let x = DVector::from_vec(vec![1.0, 2.0, 3.0, 4.0, 10.0]);
    let p = online_softmax(&x.map(f64::ln), 2).unwrap();
    assert!((p - &x / x.sum()).amax() < F64_TOL);
}

#[test]
fn online_softmax_refuses_what_softmax_refuses() {
    let z = DVector::from_vec(vec![0.0_f64, 1.0]);
    assert!(matches!(
        online_softmax(&z, 0),
        Err(Error::Domain {
            what: "block size",
            ..
        })
    ));
    let empty = DVector::<f64>::zeros(0);
    assert!(matches!(
        online_softmax(&empty, 2),
        Err(Error::Empty { .. })
    ));
    for bad in [f64::NAN, f64::INFINITY] {
        let z = DVector::from_vec(vec![0.0, bad, 1.0]);
        assert!(matches!(
            online_softmax(&z, 2),
            Err(Error::NotFinite { index: 1, .. })
        ));
        assert!(softmax(&z).is_err());
    }
    let masked = DVector::from_element(3, f64::NEG_INFINITY);
    assert!(matches!(
        online_softmax(&masked, 2),
        Err(Error::Shape { .. })
    ));
    assert!(softmax(&masked).is_err());
}

#[test]
fn blocked_forward_equals_attention_f64() {
    for (seed, &(n_q, n_k, block)) in CASES.iter().enumerate() {
        let (q, k, v, _) = inputs(10 * seed as u64, n_q, n_k);
        for (name, mask) in masks(n_q, n_k) {
            let m = mask.as_ref();
            let reference = attention(&q, &k, &v, m).unwrap();
            let lse = row_lse(&reference.scores);
            for (variant, forward) in FORWARD {
                let ours = forward(&q, &k, &v, m, block).unwrap();
                let case = format!(
                    "{variant}, n_q={n_q}, n_k={n_k}, block={block}, mask {name}"
                );
                assert_close(
                    &ours.output,
                    &reference.output,
                    F64_TOL,
                    0.0,
                    &case,
                );
                let lse_diff = (&ours.lse - &lse).amax();
                assert!(lse_diff < F64_TOL, "{case}: LSE off by {lse_diff}");
            }
        }
    }
}

#[test]
fn blocked_forward_equals_attention_f32() {
    for (seed, &(n_q, n_k, block)) in CASES.iter().enumerate() {
        let (q, k, v, _) = inputs(10 * seed as u64, n_q, n_k);
        let (q, k, v) = (to_f32(&q), to_f32(&k), to_f32(&v));
        for (name, mask) in masks(n_q, n_k) {
            let mask = mask.as_ref().map(to_f32);
            let reference = attention(&q, &k, &v, mask.as_ref()).unwrap();
            for (variant, forward) in FORWARD32 {
                let ours = forward(&q, &k, &v, mask.as_ref(), block).unwrap();
                let case = format!(
                    "{variant}, n_q={n_q}, n_k={n_k}, block={block}, mask {name}"
                );
                let diff = max_abs_diff(
                    &to_f64(&ours.output),
                    &to_f64(&reference.output),
                );
                assert!(diff < F32_TOL, "{case}: {diff}");
            }
        }
    }
}

#[test]
fn blocked_backward_equals_attention_backward_f64() {
    for (seed, &(n_q, n_k, block)) in CASES.iter().enumerate() {
        let (q, k, v, g) = inputs(10 * seed as u64 + 5, n_q, n_k);
        for (name, mask) in masks(n_q, n_k) {
            let m = mask.as_ref();
            let fwd = attention(&q, &k, &v, m).unwrap();
            let expected = attention_backward(&q, &k, &v, &fwd, &g).unwrap();
            for ((variant, forward), (_, backward)) in
                FORWARD.iter().zip(BACKWARD)
            {
                let ours = forward(&q, &k, &v, m, block).unwrap();
                let grads = backward(&q, &k, &v, m, &ours, &g, block).unwrap();
                let case = format!(
                    "{variant}, n_q={n_q}, n_k={n_k}, block={block}, mask {name}"
                );
                assert_close(
                    &grads.d_q,
                    &expected.d_q,
                    F64_TOL,
                    0.0,
                    &format!("{case}: dQ"),
                );
                assert_close(
                    &grads.d_k,
                    &expected.d_k,
                    F64_TOL,
                    0.0,
                    &format!("{case}: dK"),
                );
                assert_close(
                    &grads.d_v,
                    &expected.d_v,
                    F64_TOL,
                    0.0,
                    &format!("{case}: dV"),
                );
            }
        }
    }
}

#[test]
fn blocked_backward_equals_attention_backward_f32() {
    for (seed, &(n_q, n_k, block)) in CASES.iter().enumerate() {
        let (q, k, v, g) = inputs(10 * seed as u64 + 5, n_q, n_k);
        let (q, k, v, g) = (to_f32(&q), to_f32(&k), to_f32(&v), to_f32(&g));
        for (name, mask) in masks(n_q, n_k) {
            let mask = mask.as_ref().map(to_f32);
            let m = mask.as_ref();
            let fwd = attention(&q, &k, &v, m).unwrap();
            let expected = attention_backward(&q, &k, &v, &fwd, &g).unwrap();
            for ((variant, forward), (_, backward)) in
                FORWARD32.iter().zip(BACKWARD32)
            {
                let ours = forward(&q, &k, &v, m, block).unwrap();
                let grads = backward(&q, &k, &v, m, &ours, &g, block).unwrap();
                for (which, a, b) in [
                    ("dQ", &grads.d_q, &expected.d_q),
                    ("dK", &grads.d_k, &expected.d_k),
                    ("dV", &grads.d_v, &expected.d_v),
                ] {
                    let diff = max_abs_diff(&to_f64(a), &to_f64(b));
                    assert!(
                        diff < F32_TOL,
                        "{variant}, n_q={n_q}, n_k={n_k}, block={block}, mask {name}: {which} off by {diff}"
                    );
                }
            }
        }
    }
}

/// The causal pattern of these tests is `causal_mask` where it is square.
#[test]
fn the_causal_pattern_is_the_causal_mask() {
    assert_eq!(causal_pattern(9, 9), causal_mask::<f64>(9).unwrap());
}

/// Causal: the first query sees only the first key, so its output is
/// `v_0` exactly (weight exp(0)/1 = 1), in both variants.
#[test]
fn the_first_causal_query_returns_the_first_value() {
    let (q, k, v, _) = inputs(7, 9, 9);
    let mask = causal_mask::<f64>(9).unwrap();
    for (variant, forward) in FORWARD {
        let out = forward(&q, &k, &v, Some(&mask), 4).unwrap().output;
        assert_eq!(out.row(0), v.row(0), "{variant}");
    }
}

/// `Σ G ⊙ O` with a fixed `G`, so that `∂L/∂O = G`.
fn loss(g: &DMatrix<f64>, o: &DMatrix<f64>) -> f64 {
    g.component_mul(o).sum()
}

fn fd_check(
    name: &str,
    analytic: &DMatrix<f64>,
    at: &DMatrix<f64>,
    f: impl Fn(&DMatrix<f64>) -> f64,
) {
    for idx in 0..at.len() {
        let (mut plus, mut minus) = (at.clone(), at.clone());
        plus[idx] += FD_STEP;
        minus[idx] -= FD_STEP;
        let fd = (f(&plus) - f(&minus)) / (2.0 * FD_STEP);
        let an = analytic[idx];
        assert!(
            (fd - an).abs() <= FD_TOL * (1.0 + an.abs()),
            "{name}[{idx}]: analytic {an}, finite difference {fd}"
        );
    }
}

#[test]
fn blocked_backward_matches_finite_differences() {
    let (n, block) = (7, 3);
    let (q, k, v, g) = inputs(70, n, n);
    let q = q / 3.0;
    for mask in [None, Some(causal_mask(n).unwrap())] {
        let m = mask.as_ref();
        for ((variant, forward), (_, backward)) in FORWARD.iter().zip(BACKWARD)
        {
            let fwd = forward(&q, &k, &v, m, block).unwrap();
            let grads = backward(&q, &k, &v, m, &fwd, &g, block).unwrap();
            let l = |q: &DMatrix<f64>, k: &DMatrix<f64>, v: &DMatrix<f64>| {
                loss(&g, &forward(q, k, v, m, block).unwrap().output)
            };
            fd_check(&format!("{variant} dQ"), &grads.d_q, &q, |q| {
                l(q, &k, &v)
            });
            fd_check(&format!("{variant} dK"), &grads.d_k, &k, |k| {
                l(&q, k, &v)
            });
            fd_check(&format!("{variant} dV"), &grads.d_v, &v, |v| {
                l(&q, &k, v)
            });
        }
    }
}

/// `D_i = Σ_c ∂L/∂O_ic O_ic` equals `Σ_j P_ij ∂L/∂P_ij`, the row sums the
/// unblocked backward pass takes over all keys (2.27).
#[test]
fn d_i_from_the_output_equals_the_row_sums_of_p_times_dp() {
    let (q, k, v, g) = inputs(80, 6, 9);
    let fwd = attention(&q, &k, &v, None).unwrap();
    let d_p = &g * v.transpose();
    let from_p = fwd.weights.component_mul(&d_p).column_sum();
    let from_o = g.component_mul(&fwd.output).column_sum();
    assert!((from_p - from_o).amax() < F64_TOL);
}

#[test]
fn bad_input_is_refused_with_the_errors_of_attention() {
    let (q, k, v, g) = inputs(90, 4, 5);
    let narrow = randn(95, 5, 3);
    let square = causal_mask::<f64>(4).unwrap();
    let mut blind = DMatrix::zeros(4, 5);
    blind.row_mut(2).fill(f64::NEG_INFINITY);
    for (variant, forward) in FORWARD {
        // Block size 0.
        assert!(
            matches!(
                forward(&q, &k, &v, None, 0),
                Err(Error::Domain {
                    what: "block size",
                    ..
                })
            ),
            "{variant}"
        );
        // K without the d_k columns of Q, V without the n_k rows of K.
        let expected = attention(&q, &narrow, &v, None).unwrap_err();
        assert_eq!(forward(&q, &narrow, &v, None, 2).unwrap_err(), expected);
        let expected = attention(&q, &k, &q, None).unwrap_err();
        assert_eq!(forward(&q, &k, &q, None, 2).unwrap_err(), expected);
        let empty = DMatrix::<f64>::zeros(0, 8);
        let expected = attention(&empty, &k, &v, None).unwrap_err();
        assert_eq!(forward(&empty, &k, &v, None, 2).unwrap_err(), expected);
        // A mask of the wrong size, and a query that sees no key: refused
        // as `attention` refuses them (no NaN row in the output).
        let expected = attention(&q, &k, &v, Some(&square)).unwrap_err();
        assert_eq!(
            forward(&q, &k, &v, Some(&square), 2).unwrap_err(),
            expected
        );
        let expected = attention(&q, &k, &v, Some(&blind)).unwrap_err();
        assert_eq!(forward(&q, &k, &v, Some(&blind), 2).unwrap_err(), expected);
        assert!(matches!(expected, Error::Domain { .. }));
        // A NaN in Q is named, not passed on as a NaN output.
        let mut bad = q.clone();
        bad[(1, 2)] = f64::NAN;
        assert!(matches!(
            forward(&bad, &k, &v, None, 2),
            Err(Error::NotFinite {
                what: "Q",
                index: 10,
                ..
            })
        ));
    }
    let fwd = attention_blocked(&q, &k, &v, None, 2).unwrap();
    let short = BlockedAttention {
        output: fwd.output.clone(),
        lse: fwd.lse.rows(0, 3).into_owned(),
    };
    for (variant, backward) in BACKWARD {
        let wrong_g = g.columns(0, 2).into_owned();
        assert!(
            matches!(
                backward(&q, &k, &v, None, &fwd, &wrong_g, 2),
                Err(Error::Shape {
                    what: "∂L/∂O", ..
                })
            ),
            "{variant}"
        );
        assert!(matches!(
            backward(&q, &k, &v, None, &short, &g, 2),
            Err(Error::Shape {
                what: "log-sum-exp LSE",
                ..
            })
        ));
        assert!(matches!(
            backward(&q, &k, &v, None, &fwd, &g, 0),
            Err(Error::Domain {
                what: "block size",
                ..
            })
        ));
    }
}

/// The fast twins give the readable results on a larger case with
/// several blocks and a partial last block, in f64 and f32.
#[test]
fn readable_and_fast_can_be_swapped() {
    let (n, block) = (150, 32);
    let (q, k, v, g) = inputs(100, n, n);
    let mask = causal_mask::<f64>(n).unwrap();
    for m in [None, Some(&mask)] {
        let [(_, fwd_a), (_, fwd_b)] = FORWARD;
        let [(_, bwd_a), (_, bwd_b)] = BACKWARD;
        let (a, b) = (
            fwd_a(&q, &k, &v, m, block).unwrap(),
            fwd_b(&q, &k, &v, m, block).unwrap(),
        );
        assert!(max_abs_diff(&a.output, &b.output) < F64_TOL);
        assert!((&a.lse - &b.lse).amax() < F64_TOL);
        let ga = bwd_a(&q, &k, &v, m, &a, &g, block).unwrap();
        let gb = bwd_b(&q, &k, &v, m, &a, &g, block).unwrap();
        assert!(max_abs_diff(&ga.d_q, &gb.d_q) < F64_TOL);
        assert!(max_abs_diff(&ga.d_k, &gb.d_k) < F64_TOL);
        assert!(max_abs_diff(&ga.d_v, &gb.d_v) < F64_TOL);
        let (q32, k32, v32) = (to_f32(&q), to_f32(&k), to_f32(&v));
        let m32 = m.map(to_f32);
        let [(_, f32_a), (_, f32_b)] = FORWARD32;
        let a32 = f32_a(&q32, &k32, &v32, m32.as_ref(), block).unwrap();
        let b32 = f32_b(&q32, &k32, &v32, m32.as_ref(), block).unwrap();
        assert!(max_abs_diff(&to_f64(&a32.output), &a.output) < F32_TOL);
        assert!(max_abs_diff(&to_f64(&b32.output), &a.output) < F32_TOL);
    }
}

/// The counts behind the figure: at n = 4096, d = 64 in f32 the unfused
/// attention holds S and P, 2 · 4096² · 4 bytes = 128 MiB; blocks of 128
/// hold 2 · 128² + 128 · 64 + 2 · 128 + 4096 numbers.
#[test]
fn working_set_counts() {
    let w = working_set::<f32>(4096, 4096, 64, 128);
    assert_eq!(w.unfused, 128 << 20);
    assert_eq!(w.fused, (2 * 128 * 128 + 128 * 64 + 2 * 128 + 4096) * 4);
    // The page's worked count: 128 + 32 + 1 + 16 KiB.
    assert_eq!(w.fused, 177 << 10);
    // Doubling n quadruples the one and adds n_q numbers to the other.
    let w2 = working_set::<f32>(8192, 8192, 64, 128);
    assert_eq!(w2.unfused, 4 * w.unfused);
    assert_eq!(w2.fused - w.fused, 4096 * 4);
}
