//! The whole model against PyTorch: `reference/model.py` loads
//! `reference/tiny.safetensors` (written by the example
//! `reference_checkpoint`), computes logits, loss and every gradient in
//! float64 with autograd, and writes `reference/model.json`.

use std::path::Path;

use ch04_language_model::checkpoint::load;
use serde_json::Value;

/// Both sides compute in f64 from the same f32 weights; only the order of
/// the floating-point operations differs (a few hundred operations per
/// number, each with relative rounding 1.1e-16).
const LOGIT_TOL: f64 = 1e-12;
/// Gradients pass back through two blocks and a softmax: a little more
/// rounding than the forward pass.
const GRAD_TOL: f64 = 1e-11;

fn reference() -> Value {
    testing::reference(include_str!("../reference/model.json"))
}

fn indices(v: &Value) -> Vec<usize> {
    serde_json::from_value(v.clone()).unwrap()
}

fn rows(v: &Value) -> Vec<Vec<f64>> {
    serde_json::from_value(v.clone()).unwrap()
}

#[test]
fn logits_loss_and_gradients_match_pytorch() {
    let r = reference();
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("reference")
        .join(r["checkpoint"].as_str().unwrap());
    let (model, _) = load::<f64>(&path).unwrap();
    let (x, y) = (indices(&r["tokens"]), indices(&r["targets"]));
    let logits = model.forward(&x).unwrap().logits;
    let mut max_dev = 0.0_f64;
    for (t, row) in rows(&r["logits"]).iter().enumerate() {
        for (c, &z) in row.iter().enumerate() {
            max_dev = max_dev.max((logits[(t, c)] - z).abs());
        }
    }
    assert!(max_dev < LOGIT_TOL, "largest logit deviation {max_dev:e}");
    let (loss, grads) = model.loss_and_grads(&x, &y).unwrap();
    let torch_loss = r["loss"].as_f64().unwrap();
    assert!((loss - torch_loss).abs() < LOGIT_TOL, "{loss} {torch_loss}");
    let names = model.config.parameter_shapes();
    for ((name, _), g) in names.iter().zip(&grads) {
        let torch = rows(&r["grads"][name]);
        for (i, row) in torch.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                let d = (g[(i, j)] - v).abs();
                assert!(d < GRAD_TOL, "{name}[{i},{j}]: {} vs {v}", g[(i, j)]);
            }
        }
    }
}
