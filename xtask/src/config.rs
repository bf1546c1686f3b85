//! The mdBook configuration of each language, read from `book.toml`. Used
//! by the build and by the checks of the sources, which the build runs
//! (so it sits below both, and neither imports the other back).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use mdbook_driver::config::Config;

use crate::lang::Lang;

/// The mdBook configuration of one language: `book.toml` with the source
/// folder, build folder, language and title of that language.
pub fn language_config(root: &Path, out: &Path, lang: Lang) -> Result<Config> {
    let file = root.join("book.toml");
    let mut config = Config::from_disk(&file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let key = format!("preprocessor.literate.title.{}", lang.code());
    let title: String = config
        .get(&key)
        .map_err(|e| anyhow!("book.toml: {key}: {e}"))?
        .ok_or_else(|| {
            anyhow!("book.toml: no {key} (the title in {})", lang.name())
        })?;
    config.book.title = Some(title);
    config.book.language = Some(lang.code().to_string());
    config.book.src = PathBuf::from("src").join(lang.code());
    config.build.build_dir = out.join(lang.code());
    Ok(config)
}
