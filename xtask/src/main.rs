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
    /// Checks the sources without building: language parity and formulas.
    Check,
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
        Command::Check => {
            let mut problems = xtask::checks::parity(&root);
            problems.extend(xtask::checks::formulas(&root));
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
