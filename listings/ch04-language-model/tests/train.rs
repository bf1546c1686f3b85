//! Training: a tiny model learns a short repeated string.

use ch04_language_model::corpus::Vocab;
use ch04_language_model::model::{Config, Model};
use ch04_language_model::train::{TrainConfig, Trainer, evaluate};

/// The string the model learns, repeated. After the first few characters
/// of a window each next character is determined by the ones before it,
/// so the achievable loss is near 0.
const TEXT: &str = "ein kleines sprachmodell. ";

/// After `STEPS` steps the loss must be below this: a little over 1/20 of
/// the uniform guess log V = log 16 ≈ 2.77 nats (`TEXT` has 16 distinct
/// characters).
const LOSS_BOUND: f64 = 0.15;
const STEPS: usize = 150;

#[test]
fn loss_on_a_repeated_string_falls_below_the_bound() {
    let text = TEXT.repeat(20);
    let vocab = Vocab::from_text(&text).unwrap();
    let data = vocab.encode(&text, "text").unwrap();
    let config = Config {
        vocab_size: vocab.len(),
        context: 16,
        d_model: 16,
        n_heads: 2,
        n_layers: 1,
        d_ff: 32,
    };
    let model = Model::<f64>::new(config, 1).unwrap();
    let start = evaluate(&model, &data, usize::MAX).unwrap();
    let tc = TrainConfig {
        steps: STEPS,
        batch_size: 4,
        lr: 1e-2,
        warmup: 10,
        weight_decay: 0.0,
        seed: 1,
    };
    let mut trainer = Trainer::new(model, tc).unwrap();
    for _ in 0..STEPS {
        trainer.step(&data).unwrap();
    }
    let end = evaluate(&trainer.model, &data, usize::MAX).unwrap();
    eprintln!("loss {start:.4} → {end:.4} after {STEPS} steps");
    assert_eq!(trainer.steps_taken(), STEPS);
    assert!(start > 2.0, "initial loss {start}");
    assert!(end < LOSS_BOUND, "loss {start} → {end} after {STEPS} steps");
}
