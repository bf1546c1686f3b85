//! The command-line program of chapter 4: `train` a character-level
//! transformer on the book's German prose, `generate` text from a
//! checkpoint.
//!
//! ```console
//! cargo run --release -p ch04-language-model -- train
//! cargo run --release -p ch04-language-model -- generate --prompt "Die "
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Result, anyhow};
use ch01_probability::cross_entropy::perplexity;
use ch04_language_model::checkpoint;
use ch04_language_model::corpus::{EVERY, PIECE, SNAPSHOT, Vocab, load, split};
use ch04_language_model::model::{Config, Model};
use ch04_language_model::ngram::{Bigram, Unigram};
use ch04_language_model::sample::generate;
use ch04_language_model::train::{TrainConfig, Trainer, evaluate};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

/// The committed snapshot of the book's German prose.
fn default_corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(SNAPSHOT)
}

const DEFAULT_CHECKPOINT: &str = "target/ch04-language-model.safetensors";

#[derive(Parser)]
#[command(about = "A small character-level language model (chapter 4)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Trains a model on the book's German prose and saves a checkpoint.
    Train(TrainArgs),
    /// Continues a prompt with a trained model.
    Generate(GenerateArgs),
}

#[derive(Args)]
struct TrainArgs {
    /// The text to learn from: a text file (by default the committed
    /// snapshot of the book's prose) or a folder of Markdown pages.
    #[arg(long, default_value_os_t = default_corpus())]
    corpus: PathBuf,
    /// Where to write the checkpoint (safetensors).
    #[arg(long, default_value = DEFAULT_CHECKPOINT)]
    out: PathBuf,
    /// Context length n_ctx (characters the model reads at once).
    #[arg(long, default_value_t = Config::PROGRAM.context)]
    context: usize,
    /// Width d_model of the token vectors.
    #[arg(long, default_value_t = Config::PROGRAM.d_model)]
    d_model: usize,
    /// Number of attention heads (must divide d_model).
    #[arg(long, default_value_t = Config::PROGRAM.n_heads)]
    heads: usize,
    /// Number of transformer blocks.
    #[arg(long, default_value_t = Config::PROGRAM.n_layers)]
    layers: usize,
    /// Hidden width d_ff of the feed-forward networks.
    #[arg(long, default_value_t = Config::PROGRAM.d_ff)]
    d_ff: usize,
    /// Optimizer steps.
    #[arg(long, default_value_t = TrainConfig::default().steps)]
    steps: usize,
    /// Windows of n_ctx characters per step.
    #[arg(long, default_value_t = TrainConfig::default().batch_size)]
    batch_size: usize,
    /// Peak learning rate of AdamW (warm-up, then cosine decay).
    #[arg(long, default_value_t = TrainConfig::default().lr)]
    lr: f64,
    /// Warm-up steps.
    #[arg(long, default_value_t = TrainConfig::default().warmup)]
    warmup: usize,
    /// Decoupled weight decay λ (0: plain Adam).
    #[arg(long, default_value_t = TrainConfig::default().weight_decay)]
    weight_decay: f64,
    /// Seed of the weights and the batches.
    #[arg(long, default_value_t = TrainConfig::default().seed)]
    seed: u64,
    /// Add-k smoothing constant of the count baselines.
    #[arg(long, default_value_t = 1.0)]
    smoothing: f64,
    /// Compute the validation loss every this many steps.
    #[arg(long, default_value_t = 100)]
    eval_every: usize,
    /// Also write the measured numbers to this JSON file (used by
    /// `cargo xtask measure`).
    #[arg(long)]
    report: Option<PathBuf>,
}

#[derive(Args)]
struct GenerateArgs {
    /// The checkpoint written by `train`.
    #[arg(long, default_value = DEFAULT_CHECKPOINT)]
    checkpoint: PathBuf,
    /// The text to continue (characters from the training vocabulary).
    #[arg(long, default_value = "Die ")]
    prompt: String,
    /// Temperature T > 0 of the softmax (1.16): lower is more cautious.
    #[arg(long, default_value_t = 0.8)]
    temperature: f32,
    /// Sample only from the K most likely characters.
    #[arg(long)]
    top_k: Option<usize>,
    /// Number of characters to generate.
    #[arg(long, default_value_t = 300)]
    length: usize,
    /// Seed of the sampling: the same seed gives the same text.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Train(args) => train(args),
        Command::Generate(args) => generate_text(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The message and its causes on one line, without a backtrace.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn train(a: TrainArgs) -> Result<()> {
    let text = load(&a.corpus)?;
    let parts = split(&text, PIECE, EVERY)?;
    let vocab = Vocab::from_text(&text)?;
    let train_tokens = vocab.encode(&parts.train, "training text")?;
    let valid_tokens = vocab.encode(&parts.valid, "validation text")?;
    println!(
        "corpus {}: {} characters of prose, V = {} distinct; training {}, \
         validation {} characters",
        a.corpus.display(),
        text.chars().count(),
        vocab.len(),
        train_tokens.len(),
        valid_tokens.len()
    );
    let v = vocab.len();
    let unigram = Unigram::fit(&train_tokens, v, a.smoothing)?;
    let bigram = Bigram::fit(&train_tokens, v, a.smoothing)?;
    let ce_uni = unigram.cross_entropy(&valid_tokens)?;
    let ce_bi = bigram.cross_entropy(&valid_tokens)?;

    let config = Config {
        vocab_size: v,
        context: a.context,
        d_model: a.d_model,
        n_heads: a.heads,
        n_layers: a.layers,
        d_ff: a.d_ff,
    };
    let tc = TrainConfig {
        steps: a.steps,
        batch_size: a.batch_size,
        lr: a.lr,
        warmup: a.warmup,
        weight_decay: a.weight_decay,
        seed: a.seed,
    };
    let model = Model::<f32>::new(config, a.seed)?;
    println!(
        "model: {} parameters, n_ctx = {}, d_model = {}, h = {}, L = {}, \
         d_ff = {}; {} steps of {} windows",
        config.n_parameters(),
        a.context,
        a.d_model,
        a.heads,
        a.layers,
        a.d_ff,
        a.steps,
        a.batch_size
    );
    let mut trainer = Trainer::new(model, tc)?;
    let bar = ProgressBar::new(a.steps as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} steps  {msg}  [{elapsed} < {eta}]",
        )
        .expect("a valid template"),
    );
    let tokens_per_step = (a.batch_size * a.context) as f64;
    let (mut train_time, mut valid_loss) = (0.0, f64::NAN);
    for step in 1..=a.steps {
        let start = Instant::now();
        let loss: f64 = trainer.step_fast(&train_tokens)?.into();
        train_time += start.elapsed().as_secs_f64();
        if step % a.eval_every.max(1) == 0 || step == a.steps {
            valid_loss = evaluate(&trainer.model, &valid_tokens, 64)?;
        }
        bar.set_message(format!(
            "loss {loss:.3}  val {valid_loss:.3}  {:.0} tokens/s",
            tokens_per_step * step as f64 / train_time
        ));
        bar.inc(1);
    }
    bar.finish();
    let tokens_per_second = tokens_per_step * a.steps as f64 / train_time;
    let ce_model = evaluate(&trainer.model, &valid_tokens, usize::MAX)?;
    println!("validation cross-entropy (nats per character) and perplexity:");
    for (name, ce) in [
        (format!("unigram, add-{}", a.smoothing), ce_uni),
        (format!("bigram, add-{}", a.smoothing), ce_bi),
        ("transformer".to_string(), ce_model),
    ] {
        println!("  {name:<20} {ce:.4}  {:>7.2}", perplexity(ce)?);
    }
    println!("training: {tokens_per_second:.0} tokens/s (one thread)");
    if let Some(path) = &a.report {
        let report = serde_json::json!({
            "corpus_chars": text.chars().count(),
            "train_chars": train_tokens.len(),
            "valid_chars": valid_tokens.len(),
            "vocab_size": v,
            "n_parameters": config.n_parameters(),
            "ce_unigram": ce_uni,
            "ce_bigram": ce_bi,
            "ce_model": ce_model,
            "train_seconds": train_time,
            "tokens_per_second": tokens_per_second,
        });
        std::fs::write(path, format!("{report:#}\n"))?;
    }
    checkpoint::save(&a.out, &trainer.model, &vocab)?;
    println!("saved {}", a.out.display());
    Ok(())
}

fn generate_text(a: GenerateArgs) -> Result<()> {
    let (model, vocab) = checkpoint::load::<f32>(&a.checkpoint)?;
    let prompt = vocab.encode(&a.prompt, "prompt").map_err(|e| {
        anyhow!(
            "{e}; the model knows only these characters: {:?}",
            vocab.chars().iter().collect::<String>()
        )
    })?;
    let tokens =
        generate(&model, &prompt, a.length, a.temperature, a.top_k, a.seed)?;
    println!("{}", vocab.decode(&tokens));
    Ok(())
}
