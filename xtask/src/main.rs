//! `cargo xtask`: builds the book.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// Builds "Theorie (Mathematik) hinter Generativer KI" in both languages.
#[derive(Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Builds the German book into book/de, the English one into book/en,
    /// and book/index.html, then checks links and offline use.
    Book {
        /// Output folder.
        #[arg(long, default_value = "book")]
        out: PathBuf,
    },
    /// Builds the course handouts book/pdf/handout-de.pdf and
    /// book/pdf/handout-en.pdf with headless Chromium.
    Pdf {
        /// Output folder of the book; the PDFs go to its pdf/ folder.
        #[arg(long, default_value = "book")]
        out: PathBuf,
    },
    /// Checks the sources without building: language parity, formulas,
    /// citations and exercises.
    Check,
    /// Trains chapter 4's model on the committed corpus snapshot and
    /// writes its numbers to listings/ch04-language-model/measured.json.
    Measure {
        /// First write a new snapshot of the German prose (src/de).
        #[arg(long)]
        snapshot: bool,
    },
    /// Runs the tests of the code exercises against your stubs in
    /// exercises/stubs/ and shows which are done and the next one to do.
    Exercise {
        /// One exercise (`ch04-4`); default all.
        id: Option<String>,
        /// Show the hint of the first exercise not done.
        #[arg(long)]
        hint: bool,
        /// The language of the hint (de or en); default from $LANG.
        #[arg(long, value_parser = ["de", "en"])]
        lang: Option<String>,
    },
    /// Builds the book, serves it on 127.0.0.1 and rebuilds what changed
    /// whenever a source changes; the open page reloads itself.
    Serve {
        /// Build only this language (de or en); default both.
        #[arg(long, value_parser = ["de", "en"])]
        lang: Option<String>,
        /// The port; by default a free one, printed at the start.
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// The book root to build (default: this repository).
        #[arg(long)]
        root: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .init();
    // The repository root: xtask lives one folder below it.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask has a parent folder")
        .to_path_buf();
    let cli = Cli::parse();
    let start = Instant::now();
    let result = match cli.command {
        Command::Book { out } => {
            let out = if out.is_absolute() {
                out
            } else {
                root.join(out)
            };
            xtask::build::build_book(&root, &out).map(|()| {
                format!(
                    "built {} and {} in {:.1} s; open {}",
                    out.join("de").display(),
                    out.join("en").display(),
                    start.elapsed().as_secs_f64(),
                    out.join("index.html").display()
                )
            })
        }
        Command::Pdf { out } => {
            let out = if out.is_absolute() {
                out
            } else {
                root.join(out)
            };
            xtask::handout::build_pdfs(&root, &out).map(|pdfs| {
                let list: Vec<String> =
                    pdfs.iter().map(|p| p.display().to_string()).collect();
                format!(
                    "printed {} in {:.1} s",
                    list.join(" and "),
                    start.elapsed().as_secs_f64()
                )
            })
        }
        Command::Serve {
            lang,
            port,
            root: book,
        } => {
            let langs =
                match lang.as_deref().and_then(xtask::lang::Lang::from_code) {
                    Some(l) => vec![l],
                    None => xtask::lang::Lang::ALL.to_vec(),
                };
            let book_root = match book {
                Some(b) => std::path::absolute(b).unwrap_or_default(),
                None => root.clone(),
            };
            xtask::serve::serve(xtask::serve::Options {
                root: book_root,
                repo: root.clone(),
                langs,
                port,
            })
            .map(|()| "stopped".to_string())
        }
        Command::Measure { snapshot } => {
            xtask::measure::measure(&root, snapshot).map(|m| {
                format!(
                    "wrote {} in {:.1} s (training {:.1} s, {:.0} tokens/s)",
                    xtask::measure::RESULTS,
                    start.elapsed().as_secs_f64(),
                    m.results.train_seconds,
                    m.results.tokens_per_second
                )
            })
        }
        Command::Exercise { id, hint, lang } => xtask::exercises::command(
            &root,
            id.as_deref(),
            hint,
            xtask::exercises::hint_lang(lang.as_deref()),
        ),
        Command::Check => {
            let mut problems = xtask::checks::parity(&root);
            problems.extend(xtask::checks::formulas(&root));
            problems.extend(xtask::citations::check(&root));
            problems.extend(xtask::exercises::check(&root));
            xtask::problem::into_result(problems)
                .map(|()| "sources are consistent".to_string())
        }
    };
    match result {
        Ok(msg) => {
            eprintln!("{msg}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
