//! Tests of the decoder block (2.16) and the complete encoder-decoder
//! forward pass (2.17): distributions over the vocabulary, the causal
//! property through the whole model, the encoder's reach, and float64
//! reference values from `nn.TransformerDecoderLayer` and a model
//! assembled from PyTorch layers (`reference/encoder_decoder.py` wrote
//! `reference/encoder_decoder.json`).

mod common;

use ch02_transformer::block::NormPosition;
use ch02_transformer::encoder_decoder::{
    Config, DecoderBlock, Transformer, mean_cross_attention,
};
use common::{assert_close, json, layer_norm, matrix};
use serde_json::Value;

/// Against PyTorch: two to four blocks of float64 operations, each a few
/// ulps; the layer norms keep activations of order 1.
const TORCH_TOL: f64 = 1e-12;

/// Probabilities over 6 to 10 tokens sum to 1 up to one rounding each.
const SUM_TOL: f64 = 1e-15;

const TOY: Config = Config::TOY;

fn decoder_block(p: &Value, position: NormPosition) -> DecoderBlock<f64> {
    DecoderBlock {
        self_attention: common::mha(&p["attention"], 2),
        norm1: layer_norm(&p["norm1"]),
        cross_attention: common::mha(&p["cross_attention"], 2),
        norm2: layer_norm(&p["norm2"]),
        ffn: common::ffn(&p["ffn"]),
        norm3: layer_norm(&p["norm3"]),
        norm_position: position,
    }
}

fn tokens(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_u64().unwrap() as usize)
        .collect()
}

#[test]
fn matches_pytorch_decoder_layer_float64() {
    let r = json(include_str!("../reference/encoder_decoder.json"));
    for c in r["decoder_layers"].as_array().unwrap() {
        let position = if c["norm_first"].as_bool().unwrap() {
            NormPosition::Pre
        } else {
            NormPosition::Post
        };
        let block = decoder_block(&c["params"], position);
        let out = block
            .forward(&matrix(&c["y"]), &matrix(&c["memory"]), None)
            .unwrap();
        let name = format!("{position:?}");
        assert_close(
            &out.output,
            &matrix(&c["output"]),
            TORCH_TOL,
            TORCH_TOL,
            &name,
        );
    }
}

#[test]
fn matches_pytorch_encoder_decoder_float64() {
    let r = json(include_str!("../reference/encoder_decoder.json"));
    let m = &r["model"];
    let model = Transformer {
        src_embedding: matrix(&m["src_embedding"]),
        tgt_embedding: matrix(&m["tgt_embedding"]),
        encoder: m["encoder"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| common::block(p, 2, NormPosition::Post))
            .collect(),
        decoder: m["decoder"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| decoder_block(p, NormPosition::Post))
            .collect(),
        output: common::linear(&m["output"]),
    };
    let out = model
        .forward(&tokens(&m["src"]), &tokens(&m["tgt"]))
        .unwrap();
    assert_close(
        &out.memory,
        &matrix(&m["memory"]),
        TORCH_TOL,
        TORCH_TOL,
        "memory",
    );
    assert_close(
        &out.logits,
        &matrix(&m["logits"]),
        TORCH_TOL,
        TORCH_TOL,
        "logits",
    );
    let p = matrix(&m["probabilities"]);
    assert_close(
        &out.probabilities,
        &p,
        TORCH_TOL,
        TORCH_TOL,
        "probabilities",
    );
}

#[test]
fn every_position_gets_a_distribution_over_the_vocabulary() {
    let model = Transformer::random(&TOY, 2017).unwrap();
    let (src, tgt) = ([3, 1, 4, 1, 5], [0, 2, 6]);
    let out = model.forward(&src, &tgt).unwrap();
    assert_eq!(out.memory.shape(), (5, 8));
    assert_eq!(out.logits.shape(), (3, 9));
    for row in out.probabilities.row_iter() {
        assert!(row.iter().all(|&p| p > 0.0 && p < 1.0));
        assert!((row.sum() - 1.0).abs() <= SUM_TOL);
    }
    let cross = mean_cross_attention(&out).unwrap();
    assert_eq!(cross.shape(), (3, 5));
    for row in cross.row_iter() {
        assert!((row.sum() - 1.0).abs() <= SUM_TOL);
    }
}

#[test]
fn later_target_tokens_do_not_change_earlier_predictions() {
    let model = Transformer::random(&TOY, 7).unwrap();
    let src = [3, 1, 4, 1, 5];
    let before = model.forward(&src, &[0, 2, 6, 8]).unwrap().probabilities;
    let after = model.forward(&src, &[0, 2, 1, 1]).unwrap().probabilities;
    // Tokens 2 and 3 changed: rows 0 and 1 are the same bit for bit.
    assert_eq!(before.rows(0, 2), after.rows(0, 2));
    assert_ne!(before.row(2), after.row(2));
    // A source token is seen by every target position (no mask there).
    let other = model.forward(&[3, 1, 4, 1, 9], &[0, 2, 6, 8]).unwrap();
    for t in 0..4 {
        assert_ne!(before.row(t), other.probabilities.row(t), "row {t}");
    }
}

#[test]
fn bad_tokens_are_refused_with_a_clear_error() {
    let model = Transformer::random(&TOY, 1).unwrap();
    let err = model.forward(&[1, 2, 10], &[0]).unwrap_err();
    assert!(matches!(err, ch02_transformer::Error::Index { .. }));
    assert_eq!(
        err.to_string(),
        "source tokens: expected token ids below the vocabulary size 10, \
         got id 10 at position 2"
    );
    let err = model.forward(&[1], &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "target tokens is empty; it needs at least one element"
    );
    let bad = Config { n_heads: 3, ..TOY };
    let err = Transformer::random(&bad, 1).unwrap_err();
    assert!(matches!(err, ch02_transformer::Error::Config { .. }));
    assert_eq!(
        err.to_string(),
        "n_heads: expected a divisor of d_model = 8, got 3"
    );
}
