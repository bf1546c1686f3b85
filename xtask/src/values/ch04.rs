//! Values of chapter 4: the corpus snapshot and the measured run of the
//! program (`listings/ch04-language-model/measured.json`, written by
//! `cargo xtask measure`, checked against the snapshot and the
//! configuration before any number is taken from it).

use std::collections::BTreeSet;

use anyhow::Result;
use ch01_probability::cross_entropy::perplexity;
use ch04_language_model::corpus::{Vocab, load, split};
use ch04_language_model::model::Config;
use ch04_language_model::train::TrainConfig;

use super::{Digits, Entry, Table, Value, date, header, text, words};
use crate::measure::{Measured, SNAPSHOT, committed, repo_root};

/// The values of chapter 4.
pub const VALUES: &[Entry] = &[
    // The KV cache of the program's model (page „Text erzeugen“ /
    // "Generating text"): entries and KiB in f32 of a full window.
    Entry {
        id: "ch04.kv_cache_entries",
        compute: || {
            Ok(Value::Tex(kv_cache_entries()? as f64, Digits::Decimals(0)))
        },
    },
    Entry {
        id: "ch04.kv_cache_kib",
        compute: || Ok(Value::Count((kv_cache_entries()? * 4 / 1024) as u64)),
    },
    Entry {
        id: "ch04.snapshot_chars",
        compute: || Ok(Value::Count(m()?.snapshot.chars as u64)),
    },
    Entry {
        id: "ch04.snapshot_date",
        compute: || date(&m()?.snapshot.made),
    },
    Entry {
        id: "ch04.snapshot_file",
        compute: || Ok(text(SNAPSHOT)),
    },
    Entry {
        id: "ch04.vocab_size",
        compute: || Ok(Value::Count(m()?.results.vocab_size as u64)),
    },
    Entry {
        id: "ch04.vocab_pairs",
        compute: || {
            let v = m()?.results.vocab_size as u64;
            Ok(Value::Count(v * v))
        },
    },
    Entry {
        id: "ch04.bigram_pairs_seen",
        compute: bigram_pairs_seen,
    },
    Entry {
        id: "ch04.train_chars",
        compute: || Ok(Value::Count(m()?.results.train_chars as u64)),
    },
    Entry {
        id: "ch04.valid_chars",
        compute: || Ok(Value::Count(m()?.results.valid_chars as u64)),
    },
    Entry {
        id: "ch04.n_parameters",
        compute: || Ok(Value::Count(m()?.results.n_parameters as u64)),
    },
    // The configuration of the PyTorch comparison (page „Das Modell“ /
    // "The model"): the `TINY` model of `tests/model.rs`.
    Entry {
        id: "ch04.reference_parameters",
        compute: || {
            let c = Config {
                vocab_size: 5,
                context: 6,
                d_model: 8,
                n_heads: 2,
                n_layers: 2,
                d_ff: 12,
            };
            Ok(Value::Count(c.n_parameters() as u64))
        },
    },
    Entry {
        id: "ch04.predicted_chars",
        compute: || Ok(Value::Count(predicted_chars())),
    },
    Entry {
        id: "ch04.epochs",
        compute: || {
            let train = m()?.results.train_chars as f64;
            Ok(Value::Number(
                predicted_chars() as f64 / train,
                Digits::Decimals(1),
            ))
        },
    },
    Entry {
        id: "ch04.ce_uniform",
        compute: || Ok(ce(uniform()?)),
    },
    Entry {
        id: "ch04.ppl_uniform",
        compute: || Ok(Value::Count(m()?.results.vocab_size as u64)),
    },
    Entry {
        id: "ch04.ce_unigram",
        compute: || Ok(ce(m()?.results.ce_unigram)),
    },
    Entry {
        id: "ch04.ppl_unigram",
        compute: || ppl(m()?.results.ce_unigram),
    },
    Entry {
        id: "ch04.ce_bigram",
        compute: || Ok(ce(m()?.results.ce_bigram)),
    },
    Entry {
        id: "ch04.ppl_bigram",
        compute: || ppl(m()?.results.ce_bigram),
    },
    Entry {
        id: "ch04.ce_model",
        compute: || Ok(ce(m()?.results.ce_model)),
    },
    Entry {
        id: "ch04.ppl_model",
        compute: || ppl(m()?.results.ce_model),
    },
    Entry {
        id: "ch04.baselines",
        compute: baselines,
    },
    Entry {
        id: "ch04.results",
        compute: results,
    },
    Entry {
        id: "ch04.sample_text",
        compute: || Ok(text(&sample_html(&m()?.sample.text))),
    },
    Entry {
        id: "ch04.run_predicted_chars",
        compute: || {
            let (t, c) = (
                crate::figures::ch04::RUN_TRAIN,
                crate::figures::ch04::RUN_MODEL,
            );
            Ok(Value::Count((t.steps * t.batch_size * c.context) as u64))
        },
    },
    Entry {
        id: "ch04.sample_prompt",
        compute: || Ok(text(&m()?.sample.prompt)),
    },
    Entry {
        id: "ch04.sample_seed",
        compute: || Ok(Value::Count(m()?.sample.seed)),
    },
    Entry {
        id: "ch04.sample_temperature",
        compute: || {
            Ok(Value::Number(m()?.sample.temperature, Digits::Decimals(1)))
        },
    },
    Entry {
        id: "ch04.train_seconds",
        compute: || {
            Ok(Value::Number(
                m()?.results.train_seconds,
                Digits::Decimals(0),
            ))
        },
    },
    Entry {
        id: "ch04.tokens_per_second",
        compute: || {
            // Three significant digits: the timing varies by more than 1 %.
            let r = m()?.results.tokens_per_second;
            let step = 10f64.powi(r.log10().floor() as i32 - 2);
            Ok(Value::Number(
                (r / step).round() * step,
                Digits::Decimals(0),
            ))
        },
    },
    Entry {
        id: "ch04.cpu",
        compute: || Ok(text(&m()?.machine.cpu)),
    },
    Entry {
        id: "ch04.measured_date",
        compute: || date(&m()?.machine.date),
    },
];

/// The sample for a `<pre>` block: lines of at most 72 characters broken
/// at spaces, `&`, `<` and `>` escaped.
fn sample_html(sample: &str) -> String {
    let mut lines = vec![String::new()];
    for word in sample.split(' ') {
        let last = lines.last_mut().unwrap();
        if !last.is_empty()
            && last.chars().count() + 1 + word.chars().count() > 72
        {
            lines.push(word.to_string());
        } else {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    lines
        .join("\n")
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The entries of a full KV cache of the program's model, as
/// `KvCache::n_entries` counts them.
fn kv_cache_entries() -> Result<usize> {
    use ch04_language_model::kv_cache::KvCache;
    use ch04_language_model::model::Model;
    let config = Config {
        vocab_size: m()?.results.vocab_size,
        ..Config::PROGRAM
    };
    let model =
        Model::<f32>::new(config, 0).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(KvCache::new(&model).n_entries())
}

fn m() -> Result<&'static Measured> {
    committed()
}

/// Characters predicted in training: steps × windows × context.
fn predicted_chars() -> u64 {
    let t = TrainConfig::default();
    (t.steps * t.batch_size * Config::PROGRAM.context) as u64
}

/// The uniform guess: log V nats per character.
fn uniform() -> Result<f64> {
    Ok((m()?.results.vocab_size as f64).ln())
}

/// A cross-entropy in nats per character, two decimals.
fn ce(x: f64) -> Value {
    Value::Number(x, Digits::Decimals(2))
}

/// The perplexity of a cross-entropy, by the listing of chapter 1.
fn ppl(x: f64) -> Result<Value> {
    Ok(Value::Number(perplexity(x)?, Digits::Decimals(1)))
}

/// The header of the tables of models: model, cross-entropy, perplexity.
fn model_header() -> Vec<[String; 2]> {
    header(&[
        ("Modell", "model"),
        (
            "Kreuzentropie (nats/Zeichen)",
            "cross-entropy (nats/character)",
        ),
        ("Perplexität", "perplexity"),
    ])
}

/// A row of a table of models: the model's name, its cross-entropy `x`
/// and the perplexity of `x`.
fn model_row(model: Value, x: f64) -> Result<Vec<Value>> {
    Ok(vec![model, ce(x), ppl(x)?])
}

/// The distinct pairs of neighbouring characters in the training text of
/// the snapshot.
fn bigram_pairs_seen() -> Result<Value> {
    let text = load(&repo_root().join(SNAPSHOT))?;
    let parts = split(
        &text,
        ch04_language_model::corpus::PIECE,
        ch04_language_model::corpus::EVERY,
    )?;
    let vocab = Vocab::from_text(&text)?;
    let tokens = vocab.encode(&parts.train, "training text")?;
    let pairs: BTreeSet<(usize, usize)> =
        tokens.windows(2).map(|w| (w[0], w[1])).collect();
    Ok(Value::Count(pairs.len() as u64))
}

/// The count baselines on the validation text (page „Zählen als
/// Maßstab“ / "Counting as a baseline").
fn baselines() -> Result<Value> {
    let r = &m()?.results;
    Ok(Value::Table(Table {
        header: model_header(),
        rows: vec![
            vec![
                words(
                    r"gleichverteilt, $\log \lvert \Vocab \rvert$",
                    r"uniform, $\log \lvert \Vocab \rvert$",
                ),
                ce(uniform()?),
                Value::Count(r.vocab_size as u64),
            ],
            model_row(words("Unigramm", "unigram"), r.ce_unigram)?,
            model_row(words("Bigramm", "bigram"), r.ce_bigram)?,
        ],
    }))
}

/// The measured run against the count baselines (page „Das Programm“ /
/// "The program").
fn results() -> Result<Value> {
    let r = &m()?.results;
    let params = Value::Count(r.n_parameters as u64);
    Ok(Value::Table(Table {
        header: model_header(),
        rows: vec![
            model_row(
                words("Unigramm, add-1", "unigram, add-1"),
                r.ce_unigram,
            )?,
            model_row(words("Bigramm, add-1", "bigram, add-1"), r.ce_bigram)?,
            model_row(
                Value::Words([
                    format!(
                        "Transformer, {} Parameter",
                        params
                            .inline(crate::lang::Lang::De)
                            .unwrap_or_default()
                    ),
                    format!(
                        "transformer, {} parameters",
                        params
                            .inline(crate::lang::Lang::En)
                            .unwrap_or_default()
                    ),
                ]),
                r.ce_model,
            )?,
        ],
    }))
}
