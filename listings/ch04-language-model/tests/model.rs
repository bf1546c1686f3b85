//! The whole model: gradient check, causality, shapes and bad input, and
//! PyTorch's logits for the same weights.

use ch04_language_model::model::{Config, Model};
use notation::ParamsExt;

/// A model small enough to check every one of its parameters.
const TINY: Config = Config {
    vocab_size: 5,
    context: 6,
    d_model: 8,
    n_heads: 2,
    n_layers: 2,
    d_ff: 12,
};

/// Central differences with this step have truncation error O(h²) ≈ 1e-10
/// and rounding error O(ε/h) ≈ 1e-11 in f64.
const FD_STEP: f64 = 1e-5;
/// Agreement of analytic and finite-difference gradients, relative to the
/// largest gradient entry of the parameter (the two error terms above).
const FD_TOL: f64 = 1e-6;

#[test]
fn gradient_of_the_whole_model_matches_finite_differences() {
    let model = Model::<f64>::new(TINY, 7).unwrap();
    let x = [0, 3, 1, 4, 4, 2];
    let y = [3, 1, 4, 4, 2, 0];
    let (_, grads) = model.loss_and_grads(&x, &y).unwrap();
    let names = TINY.parameter_shapes();
    // The loss with entry (r, c) of parameter i moved by h.
    let loss_at = |i: usize, r: usize, c: usize, h: f64| {
        let mut moved = model.clone();
        moved.params_mut()[i][(r, c)] += h;
        moved.loss(&x, &y).unwrap()
    };
    let mut checked = 0;
    for (i, ((name, _), g)) in names.iter().zip(&grads).enumerate() {
        let scale = g.amax().max(1e-3);
        for r in 0..g.nrows() {
            for c in 0..g.ncols() {
                let (plus, minus) =
                    (loss_at(i, r, c, FD_STEP), loss_at(i, r, c, -FD_STEP));
                let fd = (plus - minus) / (2.0 * FD_STEP);
                let err = (fd - g[(r, c)]).abs() / scale;
                assert!(
                    err < FD_TOL,
                    "{name}[{r},{c}]: analytic {} vs numeric {fd}",
                    g[(r, c)]
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, TINY.n_parameters());
}

#[test]
fn embedding_rows_of_absent_characters_get_no_gradient() {
    let model = Model::<f64>::new(TINY, 3).unwrap();
    let (_, grads) = model.loss_and_grads(&[0, 1, 0], &[1, 0, 1]).unwrap();
    for c in 2..TINY.vocab_size {
        assert!(grads.embedding.row(c).iter().all(|&g| g == 0.0));
    }
    assert!(grads.embedding.row(0).iter().any(|&g| g != 0.0));
}

#[test]
fn a_later_token_changes_no_earlier_logits() {
    let model = Model::<f64>::new(TINY, 11).unwrap();
    let a = model.forward(&[1, 2, 3, 4, 0]).unwrap().logits;
    let b = model.forward(&[1, 2, 3, 0, 2]).unwrap().logits;
    // Rows 0..3 see only the first three tokens, which are the same.
    assert_eq!(a.rows(0, 3), b.rows(0, 3));
    assert_ne!(a.row(3), b.row(3));
}

#[test]
fn parameters_and_gradients_share_one_traversal_and_are_counted() {
    let model = Model::<f64>::new(TINY, 5).unwrap();
    let (_, grads) = model.loss_and_grads(&[0, 1, 2], &[1, 2, 3]).unwrap();
    // The same names in the same order, the same shapes.
    assert_eq!(model.param_shapes(), grads.param_shapes());
    assert_eq!(model.param_shapes(), TINY.parameter_shapes());
    let names: Vec<String> = model
        .param_shapes()
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(
        names[..3],
        ["tok_emb", "blocks.0.ln1.gamma", "blocks.0.ln1.beta"]
    );
    assert_eq!(names[3..5], ["blocks.0.attn.w_q", "blocks.0.attn.b_q"]);
    assert_eq!(names[names.len() - 2..], ["head.w", "head.b"]);
    // Every parameter is writable through the traversal, in place.
    let mut moved = model.clone();
    moved.params_mut()[2][(0, 1)] = 0.5;
    assert_eq!(moved.blocks[0].norm1.beta[(0, 1)], 0.5);
    // V·d + L·(2d + 4(d² + d) + 2d + d·d_ff + d_ff + d_ff·d + d) + 2d
    // + d·V + V.
    let (v, d, f) = (5, 8, 12);
    let block = 2 * d + 4 * (d * d + d) + 2 * d + d * f + f + f * d + d;
    assert_eq!(TINY.n_parameters(), v * d + 2 * block + 2 * d + d * v + v);
}

#[test]
fn bad_input_is_refused_with_its_shape() {
    let model = Model::<f64>::new(TINY, 5).unwrap();
    let e = model.forward(&[0; 7]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "tokens: expected at most n_ctx = 6 tokens, got 7 tokens"
    );
    let e = model.forward(&[0, 5]).unwrap_err();
    assert!(
        matches!(e, ch04_language_model::Error::Index { .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("5 at position 1"), "{e}");
    assert!(model.forward(&[]).is_err());
    let bad = Config { n_heads: 3, ..TINY };
    let e = Model::<f64>::new(bad, 1).unwrap_err();
    assert!(
        matches!(e, ch04_language_model::Error::Config { .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("a divisor of d_model = 8"), "{e}");
    assert!(!TINY.parameter_shapes().is_empty());
    assert!(bad.parameter_shapes().is_empty());
}
