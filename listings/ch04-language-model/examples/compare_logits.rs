//! Compares our logits with PyTorch's for a checkpoint:
//! `python3 reference/model.py CHECKPOINT --out logits.json`, then
//! `cargo run --release -p ch04-language-model --example compare_logits --
//! CHECKPOINT logits.json` prints the largest deviation.

use ch04_language_model::checkpoint::load;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, checkpoint, json] = &args[..] else {
        return Err("usage: compare_logits CHECKPOINT LOGITS.json".into());
    };
    let (model, _) = load::<f64>(std::path::Path::new(checkpoint))?;
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json)?)?;
    let tokens: Vec<usize> =
        serde_json::from_value(reference["tokens"].clone())?;
    let logits: Vec<Vec<f64>> =
        serde_json::from_value(reference["logits"].clone())?;
    let ours = model.forward(&tokens)?.logits;
    let mut max = 0.0_f64;
    for (t, row) in logits.iter().enumerate() {
        for (c, &z) in row.iter().enumerate() {
            max = max.max((ours[(t, c)] - z).abs());
        }
    }
    let scale = ours.amax();
    println!(
        "{} positions × {} logits: largest |ours − PyTorch| = {max:.3e} \
         (largest |logit| {scale:.2})",
        ours.nrows(),
        ours.ncols()
    );
    Ok(())
}
