//! Writes `reference/tiny.safetensors`, the small model whose logits and
//! gradients `reference/model.py` recomputes with PyTorch:
//! `cargo run -p ch04-language-model --example reference_checkpoint`.

use ch04_language_model::checkpoint::save;
use ch04_language_model::corpus::Vocab;
use ch04_language_model::model::{Config, Model};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let vocab = Vocab::from_text(" abcdeilmnst")?;
    let config = Config {
        vocab_size: vocab.len(),
        context: 8,
        d_model: 8,
        n_heads: 2,
        n_layers: 2,
        d_ff: 16,
    };
    let model = Model::<f32>::new(config, 2024)?;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("reference/tiny.safetensors");
    save(&path, &model, &vocab)?;
    println!("wrote {}", path.display());
    Ok(())
}
