//! What the book-level tests in `tests/` share.

use std::path::{Path, PathBuf};

/// The repository root, which is also the book root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Panics with every problem listed, one per line, if there are any.
pub fn assert_no_problems(what: &str, problems: &[xtask::problem::Problem]) {
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
        panic!("{what}: {} problem(s)\n{}", problems.len(), list.join("\n"));
    }
}

/// Builds the whole book into a fresh temporary folder and returns it.
pub fn build_into_temp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let out = dir.path().join("book");
    if let Err(e) = xtask::build::build_book(&root(), &out) {
        panic!("the book does not build:\n{e:#}");
    }
    (dir, out)
}

/// Reads a built file, with a clear message if it is missing.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}
