//! Caches for `cargo xtask serve`: rendered formulas and drawn figures are
//! kept between rebuilds, so that editing a page's prose redraws nothing.
//!
//! `cargo xtask book` and `cargo xtask pdf` use no cache: the published
//! book is always built from scratch.
//!
//! Figures are also kept on disk (in `target/`, never in `book/`), keyed by
//! a hash of everything that produces them: the figure code, the sources of
//! the listing crates it calls, `Cargo.lock`, and for chapter 4 the corpus
//! snapshot that its build-time model is trained on. A figure whose inputs did
//! not change is read back instead of drawn again, also after `serve`
//! restarts itself with a recompiled binary.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Result;
use sha2::{Digest, Sha256};

use crate::figures::Figure;
use crate::lang::Lang;

/// What `serve` keeps between rebuilds.
pub struct Cache {
    /// KaTeX's HTML by (display mode, TeX).
    katex: Mutex<HashMap<(bool, String), String>>,
    /// SVG by (figure id, language).
    figures: Mutex<HashMap<(&'static str, Lang), String>>,
    /// The folder of the figures kept on disk.
    dir: PathBuf,
    /// The repository whose figure code this binary was compiled from.
    repo: PathBuf,
    /// The hash of a figure's inputs, by the file that draws it.
    keys: Mutex<HashMap<&'static str, String>>,
}

impl Cache {
    /// An empty cache that keeps figures in `dir`; `repo` is the
    /// repository the running binary was built from.
    pub fn new(repo: &Path, dir: &Path) -> Result<Cache> {
        fs::create_dir_all(dir)?;
        Ok(Cache {
            katex: Mutex::new(HashMap::new()),
            figures: Mutex::new(HashMap::new()),
            dir: dir.to_path_buf(),
            repo: repo.to_path_buf(),
            keys: Mutex::new(HashMap::new()),
        })
    }

    /// KaTeX's rendering of `tex`, rendered by `render` only the first time.
    pub fn katex<E>(
        &self,
        tex: &str,
        display: bool,
        render: impl FnOnce() -> Result<String, E>,
    ) -> Result<String, E> {
        let key = (display, tex.to_string());
        if let Some(html) = self.katex.lock().unwrap().get(&key) {
            return Ok(html.clone());
        }
        let html = render()?;
        self.katex.lock().unwrap().insert(key, html.clone());
        Ok(html)
    }

    /// The figure in `lang`: from memory, from disk if its inputs have not
    /// changed, or drawn (and then kept in both).
    pub fn figure(
        &self,
        figure: &'static Figure,
        lang: Lang,
    ) -> Result<String> {
        let id = (figure.id, lang);
        if let Some(svg) = self.figures.lock().unwrap().get(&id) {
            return Ok(svg.clone());
        }
        let key = self.inputs_hash(figure.source)?;
        let file =
            self.dir
                .join(format!("{}-{}-{key}.svg", figure.id, lang.code()));
        let svg = match fs::read_to_string(&file) {
            Ok(svg) => svg,
            Err(_) => {
                let svg = (figure.draw)(lang)?;
                // Write under a temporary name first: a half-written file
                // must never be read back as a figure.
                let tmp =
                    file.with_extension(format!("{}.tmp", std::process::id()));
                fs::write(&tmp, &svg)?;
                fs::rename(&tmp, &file)?;
                svg
            }
        };
        self.figures.lock().unwrap().insert(id, svg.clone());
        Ok(svg)
    }

    /// The hash of the inputs of the figures drawn in `source`
    /// (`xtask/src/figures/ch02.rs`), computed once per process.
    fn inputs_hash(&self, source: &'static str) -> Result<String> {
        if let Some(key) = self.keys.lock().unwrap().get(source) {
            return Ok(key.clone());
        }
        let mut hasher = Sha256::new();
        for file in figure_inputs(&self.repo, source)? {
            let rel = file.strip_prefix(&self.repo).unwrap_or(&file);
            hasher.update(rel.to_string_lossy().as_bytes());
            hasher.update([0]);
            hasher.update(fs::read(&file)?);
            hasher.update([0]);
        }
        let key: String = hasher.finalize()[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.keys.lock().unwrap().insert(source, key.clone());
        Ok(key)
    }
}

/// The files whose contents decide what the figures of `source` look
/// like, sorted: the figure code, the listing crates of that chapter and
/// the chapters before it (chapter NN may call any of them), the notation
/// crate, `Cargo.lock`, and for chapter 4 the corpus snapshot (the German
/// prose as `cargo xtask measure --snapshot` saved it), which its
/// build-time model is trained on.
pub fn figure_inputs(repo: &Path, source: &str) -> Result<Vec<PathBuf>> {
    let chapter: u32 = Path::new(source)
        .file_stem()
        .and_then(|s| s.to_str())
        .and_then(|s| s.strip_prefix("ch"))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("`{source}` is not a chapter's file"))?;
    let mut files = vec![
        repo.join(source),
        repo.join("xtask/src/figures/mod.rs"),
        repo.join("xtask/src/figures/style.rs"),
        repo.join("xtask/src/lang.rs"),
        repo.join("Cargo.lock"),
    ];
    for entry in fs::read_dir(repo.join("listings"))? {
        let dir = entry?.path();
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let wanted = name == "notation"
            || name
                .strip_prefix("ch")
                .and_then(|n| n.get(..2))
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| n <= chapter);
        if wanted {
            files.push(dir.join("Cargo.toml"));
            crate::files::walk(&dir.join("src"), &mut |p| {
                files.push(p.to_path_buf())
            });
        }
    }
    if chapter == 4 {
        files.push(repo.join(crate::measure::SNAPSHOT));
    }
    files.retain(|f| f.is_file());
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap()
            .into()
    }

    #[test]
    fn a_chapter_depends_on_its_own_and_earlier_listings_only() {
        let files =
            figure_inputs(&repo(), "xtask/src/figures/ch02.rs").unwrap();
        let has = |part: &str| {
            files.iter().any(|f| f.to_string_lossy().contains(part))
        };
        assert!(has("xtask/src/figures/ch02.rs"));
        assert!(has("listings/ch01-probability/src/"));
        assert!(has("listings/ch02-transformer/src/"));
        assert!(has("listings/notation/src/"));
        assert!(!has("listings/ch03-optimization/"));
        assert!(!has("src/de/"));
        let ch4 = figure_inputs(&repo(), "xtask/src/figures/ch04.rs").unwrap();
        assert!(ch4.iter().any(|f| f.ends_with(crate::measure::SNAPSHOT)));
        // Editing a page does not redraw chapter 4's figures.
        assert!(!ch4.iter().any(|f| f.to_string_lossy().contains("src/de/")));
    }

    #[test]
    fn katex_renders_once() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(&repo(), dir.path()).unwrap();
        let mut calls = 0;
        for _ in 0..3 {
            let html = cache
                .katex("x^2", false, || {
                    calls += 1;
                    Ok::<_, ()>("<span>x²</span>".to_string())
                })
                .unwrap();
            assert_eq!(html, "<span>x²</span>");
        }
        assert_eq!(calls, 1);
    }
}
