//! `cargo xtask measure`: chapter 4's expensive numbers, measured once and
//! committed.
//!
//! Training the chapter's model takes minutes, too long for every build.
//! This command trains it with the program's defaults (the release build
//! of `ch04-language-model train`) on the committed corpus snapshot, lets
//! it generate the sample text of the chapter, and writes everything to
//! [`RESULTS`], together with what it was measured on: the SHA-256 of the
//! snapshot and of the configuration, and, for the timings, the CPU and
//! the date. The book reads that file through `{{#value ch04.…}}`;
//! [`load`] refuses it when the snapshot or the configuration changed
//! since, so `cargo test` and `cargo xtask book` fail with "run `cargo
//! xtask measure`" instead of describing another corpus.
//!
//! `cargo xtask measure --snapshot` first writes a new snapshot of the
//! German prose (`src/de`) to [`SNAPSHOT`].

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use ch04_language_model::corpus::{self, EVERY, PIECE};
use ch04_language_model::model::Config;
use ch04_language_model::train::TrainConfig;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The corpus snapshot, relative to the repository root.
pub const SNAPSHOT: &str = "listings/ch04-language-model/corpus/prose-de.txt";

/// The results file, relative to the repository root.
pub const RESULTS: &str = "listings/ch04-language-model/measured.json";

/// The sample the chapter prints: prompt, seed, temperature and length.
const SAMPLE_PROMPT: &str = "Die Softmax ";
const SAMPLE_SEED: u64 = 1;
const SAMPLE_TEMPERATURE: f64 = 0.8;
const SAMPLE_LENGTH: usize = 110;
/// Validation loss printed every this many steps (does not change the
/// result, only what the program prints while it trains).
const EVAL_EVERY: usize = 100;
/// Add-k smoothing of the count baselines.
const SMOOTHING: f64 = 1.0;

/// The snapshot the numbers were measured on.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Snapshot {
    /// Its file, relative to the repository root.
    pub file: String,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    /// Its length in characters.
    pub chars: usize,
    /// The day it was made (YYYY-MM-DD).
    pub made: String,
}

/// What the program reported (`train --report`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Results {
    /// Characters of the corpus, of the training and validation text.
    pub corpus_chars: usize,
    pub train_chars: usize,
    pub valid_chars: usize,
    /// V, the distinct characters.
    pub vocab_size: usize,
    /// Parameters of the transformer.
    pub n_parameters: usize,
    /// Validation cross-entropy in nats per character.
    pub ce_unigram: f64,
    pub ce_bigram: f64,
    pub ce_model: f64,
    /// Seconds spent in training steps, and characters predicted per
    /// second by them (one thread).
    pub train_seconds: f64,
    pub tokens_per_second: f64,
}

/// The generated sample.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Sample {
    pub prompt: String,
    pub seed: u64,
    pub temperature: f64,
    /// The prompt and its continuation.
    pub text: String,
}

/// Where and when the timings were taken.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Machine {
    /// The CPU's model name (`/proc/cpuinfo`).
    pub cpu: String,
    /// Threads the training used.
    pub threads: usize,
    /// When it was measured (UTC, ISO 8601).
    pub date: String,
    /// `rustc --version`.
    pub rustc: String,
    /// Wall-clock seconds of the `train` run, start to end.
    pub wall_seconds: f64,
}

/// The committed results file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Measured {
    pub snapshot: Snapshot,
    /// The configuration as measured: model, training, split, smoothing,
    /// sample; and its SHA-256.
    pub config: serde_json::Value,
    pub config_sha256: String,
    pub results: Results,
    pub sample: Sample,
    pub machine: Machine,
}

/// The configuration the program trains with by default, as JSON: the
/// numbers `measure` passes to the program, and whose hash the results
/// record.
pub fn config() -> serde_json::Value {
    let m = Config::PROGRAM;
    let t = TrainConfig::default();
    serde_json::json!({
        "model": {
            "context": m.context,
            "d_model": m.d_model,
            "n_heads": m.n_heads,
            "n_layers": m.n_layers,
            "d_ff": m.d_ff,
        },
        "train": {
            "steps": t.steps,
            "batch_size": t.batch_size,
            "lr": t.lr,
            "warmup": t.warmup,
            "weight_decay": t.weight_decay,
            "seed": t.seed,
        },
        "split": { "piece": PIECE, "every": EVERY },
        "smoothing": SMOOTHING,
        "sample": {
            "prompt": SAMPLE_PROMPT,
            "seed": SAMPLE_SEED,
            "temperature": SAMPLE_TEMPERATURE,
            "length": SAMPLE_LENGTH,
        },
    })
}

/// SHA-256 of `bytes`, hex.
pub fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks that `measured` was measured on `snapshot` (its bytes) with
/// `config`.
///
/// # Errors
/// The snapshot's or the configuration's hash differs; the message says
/// to run `cargo xtask measure`.
pub fn check(
    measured: &Measured,
    snapshot: &[u8],
    config: &serde_json::Value,
) -> Result<()> {
    let snap = sha256(snapshot);
    if measured.snapshot.sha256 != snap {
        bail!(
            "{RESULTS} was measured on a corpus snapshot with SHA-256 {}, \
             but {SNAPSHOT} now has {snap}: run `cargo xtask measure`",
            measured.snapshot.sha256
        );
    }
    let conf = sha256(config.to_string().as_bytes());
    if measured.config_sha256 != conf || &measured.config != config {
        bail!(
            "{RESULTS} was measured with another configuration (SHA-256 {}) \
             than chapter 4's program uses now ({conf}): run `cargo xtask \
             measure`",
            measured.config_sha256
        );
    }
    Ok(())
}

/// The committed results, checked against the snapshot and the
/// configuration.
///
/// # Errors
/// A file is missing or unreadable, or the results are stale.
pub fn load(root: &Path) -> Result<Measured> {
    let text =
        std::fs::read_to_string(root.join(RESULTS)).with_context(|| {
            format!("cannot read {RESULTS}: run `cargo xtask measure`")
        })?;
    let measured: Measured = serde_json::from_str(&text)
        .with_context(|| format!("{RESULTS} is malformed"))?;
    let snapshot = std::fs::read(root.join(SNAPSHOT))
        .with_context(|| format!("cannot read {SNAPSHOT}"))?;
    check(&measured, &snapshot, &config())?;
    Ok(measured)
}

/// The committed results of this repository, read and checked once per
/// process.
///
/// # Errors
/// As [`load`].
pub fn committed() -> Result<&'static Measured> {
    static CELL: std::sync::OnceLock<Result<Measured, String>> =
        std::sync::OnceLock::new();
    CELL.get_or_init(|| load(&repo_root()).map_err(|e| format!("{e:#}")))
        .as_ref()
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// The repository root: xtask lives one folder below it.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask has a parent folder")
        .to_path_buf()
}

/// Today's date and time in UTC, ISO 8601 (`2026-11-28T00:41:07Z`).
pub fn now_utc() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, name)| name.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

fn run(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Writes a new snapshot of the German prose if `snapshot`, then trains
/// and measures, and writes [`RESULTS`]. Returns the results.
///
/// # Errors
/// The program cannot be built or fails, or a file cannot be written.
pub fn measure(root: &Path, snapshot: bool) -> Result<Measured> {
    let snap_path = root.join(SNAPSHOT);
    let previous: Option<Measured> =
        std::fs::read_to_string(root.join(RESULTS))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
    if snapshot {
        let text = corpus::load_prose(&root.join("src/de"))?;
        std::fs::create_dir_all(snap_path.parent().unwrap())?;
        std::fs::write(&snap_path, &text)?;
        eprintln!(
            "wrote {SNAPSHOT}: {} characters of prose from src/de",
            text.chars().count()
        );
    }
    let bytes = std::fs::read(&snap_path).with_context(|| {
        format!("no snapshot {SNAPSHOT}: run `cargo xtask measure --snapshot`")
    })?;
    let snap_sha = sha256(&bytes);
    let made = match &previous {
        Some(p) if p.snapshot.sha256 == snap_sha && !snapshot => {
            p.snapshot.made.clone()
        }
        _ => now_utc()[..10].to_string(),
    };
    let config = config();

    eprintln!("building the release program of chapter 4 ...");
    run(Command::new(env!("CARGO")).current_dir(root).args([
        "build",
        "--release",
        "--quiet",
        "-p",
        "ch04-language-model",
    ]))?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from);
    let program = target.join("release/ch04-language-model");
    let dir = tempfile::tempdir()?;
    let checkpoint = dir.path().join("model.safetensors");
    let report = dir.path().join("report.json");
    let c = &config;
    let arg =
        |v: &serde_json::Value| v.to_string().trim_matches('"').to_string();
    eprintln!("training (this takes a few minutes) ...");
    let start = Instant::now();
    let out = run(Command::new(&program).args([
        "train".to_string(),
        "--corpus".into(),
        snap_path.display().to_string(),
        "--out".into(),
        checkpoint.display().to_string(),
        "--report".into(),
        report.display().to_string(),
        "--context".into(),
        arg(&c["model"]["context"]),
        "--d-model".into(),
        arg(&c["model"]["d_model"]),
        "--heads".into(),
        arg(&c["model"]["n_heads"]),
        "--layers".into(),
        arg(&c["model"]["n_layers"]),
        "--d-ff".into(),
        arg(&c["model"]["d_ff"]),
        "--steps".into(),
        arg(&c["train"]["steps"]),
        "--batch-size".into(),
        arg(&c["train"]["batch_size"]),
        "--lr".into(),
        arg(&c["train"]["lr"]),
        "--warmup".into(),
        arg(&c["train"]["warmup"]),
        "--weight-decay".into(),
        arg(&c["train"]["weight_decay"]),
        "--seed".into(),
        arg(&c["train"]["seed"]),
        "--smoothing".into(),
        arg(&c["smoothing"]),
        "--eval-every".into(),
        EVAL_EVERY.to_string(),
    ]))?;
    let wall_seconds = start.elapsed().as_secs_f64();
    eprint!("{out}");
    let results: Results =
        serde_json::from_str(&std::fs::read_to_string(&report)?)
            .context("the program's report is malformed")?;
    let text = run(Command::new(&program).args([
        "generate".to_string(),
        "--checkpoint".into(),
        checkpoint.display().to_string(),
        "--prompt".into(),
        SAMPLE_PROMPT.into(),
        "--seed".into(),
        SAMPLE_SEED.to_string(),
        "--temperature".into(),
        SAMPLE_TEMPERATURE.to_string(),
        "--length".into(),
        SAMPLE_LENGTH.to_string(),
    ]))?;
    let rustc = run(Command::new("rustc").arg("--version"))
        .unwrap_or_default()
        .trim()
        .to_string();
    let measured = Measured {
        snapshot: Snapshot {
            file: SNAPSHOT.into(),
            sha256: snap_sha,
            chars: String::from_utf8_lossy(&bytes).chars().count(),
            made,
        },
        config_sha256: sha256(config.to_string().as_bytes()),
        config,
        results,
        sample: Sample {
            prompt: SAMPLE_PROMPT.into(),
            seed: SAMPLE_SEED,
            temperature: SAMPLE_TEMPERATURE,
            text: text.trim_end_matches('\n').to_string(),
        },
        machine: Machine {
            cpu: cpu_model(),
            threads: 1,
            date: now_utc(),
            rustc,
            wall_seconds,
        },
    };
    let json = serde_json::to_string_pretty(&measured)?;
    std::fs::write(root.join(RESULTS), format!("{json}\n"))?;
    Ok(measured)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed results belong to the committed snapshot and the
    /// program's configuration: after a new snapshot or a changed default,
    /// this test fails until `cargo xtask measure` is run.
    #[test]
    fn committed_results_match_snapshot_and_configuration() {
        load(&repo_root()).unwrap();
    }

    #[test]
    fn a_changed_snapshot_or_configuration_is_stale() {
        let m = load(&repo_root()).unwrap();
        let snap = std::fs::read(repo_root().join(SNAPSHOT)).unwrap();
        let mut edited = snap.clone();
        edited.extend_from_slice(" Ein neuer Satz.".as_bytes());
        let e = check(&m, &edited, &config()).unwrap_err().to_string();
        assert!(e.contains("run `cargo xtask measure`"), "{e}");
        let mut other = config();
        other["model"]["d_ff"] = serde_json::json!(128);
        let e = check(&m, &snap, &other).unwrap_err().to_string();
        assert!(e.contains("run `cargo xtask measure`"), "{e}");
        check(&m, &snap, &config()).unwrap();
    }

    #[test]
    fn dates_are_utc_iso() {
        let now = now_utc();
        assert_eq!(now.len(), 20, "{now}");
        assert!(now.starts_with("20") && now.ends_with('Z'), "{now}");
    }
}
