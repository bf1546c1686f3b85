//! Sampling (4.6) and checkpoints: reproducible text, save/load, and
//! clear errors for bad checkpoints and prompts.

use std::collections::HashMap;

use approx::assert_relative_eq;
use ch04_language_model::LmError;
use ch04_language_model::checkpoint::{FORMAT, load, save};
use ch04_language_model::corpus::Vocab;
use ch04_language_model::model::{Config, Model};
use ch04_language_model::sample::{generate, next_distribution, sample_index};
use nalgebra::dvector;
use safetensors::tensor::{Dtype, TensorView};

/// Sums and ratios of a few probabilities: rounding only.
const TOL: f64 = 1e-12;

const SMALL: Config = Config {
    vocab_size: 8,
    context: 8,
    d_model: 8,
    n_heads: 2,
    n_layers: 1,
    d_ff: 16,
};

#[test]
fn top_k_keeps_the_k_largest_and_renormalizes() {
    let z = dvector![1.0_f64, 3.0, 2.0, 0.0];
    let q = next_distribution(&z, 1.0, Some(2)).unwrap();
    assert_eq!(q[0], 0.0);
    assert_eq!(q[3], 0.0);
    // The two kept keep their ratio e^(3−2).
    assert_relative_eq!(q[1] / q[2], 1f64.exp(), epsilon = TOL);
    assert_relative_eq!(q.sum(), 1.0, epsilon = TOL);
    // k ≥ V and no k are the plain softmax with temperature (1.16).
    let all = next_distribution(&z, 0.5, Some(4)).unwrap();
    assert_eq!(all, next_distribution(&z, 0.5, None).unwrap());
    assert!(next_distribution(&z, 1.0, Some(0)).is_err());
    assert!(next_distribution(&z, 0.0, None).is_err());
}

#[test]
fn inverse_transform_sampling_picks_the_right_interval() {
    let q = dvector![0.25_f64, 0.0, 0.5, 0.25];
    assert_eq!(sample_index(&q, 0.0), 0);
    assert_eq!(sample_index(&q, 0.2499), 0);
    assert_eq!(sample_index(&q, 0.25), 2);
    assert_eq!(sample_index(&q, 0.7499), 2);
    assert_eq!(sample_index(&q, 0.9999), 3);
}

#[test]
fn save_load_generate_gives_the_same_text_for_the_same_seed() {
    let vocab = Vocab::from_text("abcdefgh").unwrap();
    let model = Model::<f32>::new(SMALL, 4).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/model.safetensors");
    save(&path, &model, &vocab).unwrap();
    let (loaded, vocab2) = load::<f32>(&path).unwrap();
    assert_eq!(vocab2, vocab);
    assert_eq!(loaded, model, "f32 weights survive the file exactly");
    let prompt = vocab.encode("abc", "prompt").unwrap();
    let a = generate(&model, &prompt, 40, 0.8, Some(5), 9).unwrap();
    let b = generate(&loaded, &prompt, 40, 0.8, Some(5), 9).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.len(), 43);
    assert_eq!(&a[..3], &prompt[..]);
    let c = generate(&loaded, &prompt, 40, 0.8, Some(5), 10).unwrap();
    assert_ne!(a, c, "another seed, another text");
}

#[test]
fn a_missing_checkpoint_says_what_to_do() {
    let e = load::<f32>(std::path::Path::new("/nonexistent/m.safetensors"))
        .unwrap_err();
    let text = e.to_string();
    assert!(text.starts_with("checkpoint /nonexistent/m.safetensors"));
    assert!(text.contains("train a model first with `train`"), "{text}");
}

#[test]
fn a_file_that_is_not_a_checkpoint_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.safetensors");
    std::fs::write(&path, b"hello").unwrap();
    let e = load::<f32>(&path).unwrap_err();
    assert!(e.to_string().contains("not a safetensors file"), "{e}");
}

#[test]
fn a_checkpoint_of_another_configuration_is_refused() {
    // Weights of a model with d_model = 8, metadata claiming 16.
    let vocab = Vocab::from_text("abcdefgh").unwrap();
    let model = Model::<f32>::new(SMALL, 4).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    save(&path, &model, &vocab).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let tensors: Vec<(String, TensorView)> = st.tensors();
    let meta: HashMap<String, String> = [
        ("format", FORMAT),
        ("vocab", "\"abcdefgh\""),
        ("context", "8"),
        ("d_model", "16"),
        ("n_heads", "2"),
        ("n_layers", "1"),
        ("d_ff", "16"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let other = dir.path().join("other.safetensors");
    let data = safetensors::serialize(tensors, Some(meta)).unwrap();
    std::fs::write(&other, data).unwrap();
    let e = load::<f32>(&other).unwrap_err();
    assert!(matches!(e, LmError::Checkpoint { .. }));
    assert!(
        e.to_string().contains(
            "tensor `tok_emb` has shape [8, 8], but the metadata \
             (V = 8, d_model = 16, d_ff = 16) need (8, 16)"
        ),
        "{e}"
    );
    // A tensor of another type is named too.
    let f64_bytes = vec![0u8; 8 * 8 * 8];
    let view = TensorView::new(Dtype::F64, vec![8, 8], &f64_bytes).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors: Vec<(String, TensorView)> = st
        .tensors()
        .into_iter()
        .filter(|(n, _)| n != "tok_emb")
        .collect();
    tensors.push(("tok_emb".into(), view));
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let data =
        safetensors::serialize(tensors, header.metadata().clone()).unwrap();
    std::fs::write(&other, data).unwrap();
    let e = load::<f32>(&other).unwrap_err();
    assert!(
        e.to_string().contains("`tok_emb` is F64, expected F32"),
        "{e}"
    );
}

#[test]
fn an_empty_prompt_is_refused() {
    let model = Model::<f32>::new(SMALL, 4).unwrap();
    let e = generate(&model, &[], 5, 1.0, None, 0).unwrap_err();
    assert!(e.to_string().contains("prompt is empty"), "{e}");
}
