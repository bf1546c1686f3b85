//! Builds both languages of the book with mdBook as a library.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use mdbook_driver::MDBook;
use mdbook_driver::config::Config;
use mdbook_katex::cfg::KatexConfig;
use mdbook_katex::preprocess::{Render, get_render_tasks};
use mdbook_preprocessor::book::Book;
use mdbook_preprocessor::{Preprocessor, PreprocessorContext};

use crate::cache::Cache;
use crate::checks;
use crate::config::language_config;
use crate::lang::Lang;
use crate::preprocess::Literate;
use crate::problem::{Problem, into_result, to_error};
use crate::registry::Registry;

/// The folder of the self-hosted KaTeX stylesheet and fonts, relative to
/// the book root.
pub const KATEX_THEME: &str = "theme/katex";

/// Reads `[preprocessor.katex]` and refuses settings that would let a
/// problem through unnoticed.
///
/// mdbook-katex falls back to its defaults when an option has the wrong
/// type, and its default links KaTeX's CSS from a CDN.
pub fn katex_config(root: &Path, config: &Config) -> Result<KatexConfig> {
    let raw: toml::Value = config
        .get("preprocessor.katex")
        .map_err(|e| anyhow!("book.toml: [preprocessor.katex]: {e}"))?
        .ok_or_else(|| anyhow!("book.toml: no [preprocessor.katex] table"))?;
    let katex: KatexConfig = raw
        .try_into()
        .map_err(|e| anyhow!("book.toml: [preprocessor.katex]: {e}"))?;
    if !katex.no_css {
        bail!(
            "book.toml: [preprocessor.katex] needs `no-css = true`: the book \
             serves KaTeX's stylesheet itself ({KATEX_THEME}), mdbook-katex \
             would link it from a CDN"
        );
    }
    if !katex.pre_render {
        bail!("book.toml: [preprocessor.katex] needs `pre-render = true`");
    }
    if let Some(macros) = &katex.macros
        && !root.join(macros).is_file()
    {
        bail!(
            "book.toml: [preprocessor.katex] macros file `{macros}` does not exist"
        );
    }
    Ok(katex)
}

/// The KaTeX step: renders every formula once, with mdbook-katex's
/// scanner and options but `throwOnError = true`, so that bad LaTeX fails
/// the build with the file, line and KaTeX's message, and protects the
/// rendered HTML from being read as Markdown.
///
/// Rendering through `mdbook_katex::preprocess::KatexProcessor` would not
/// do: KaTeX without `throwOnError` renders an unknown command as red text,
/// and mdbook-katex with it logs a warning and keeps the raw text; neither
/// stops a build. And the rendered HTML goes back into the Markdown, where
/// a `~` of `\tilde` or a `|` would start strikethrough or a table cell.
pub struct CheckedKatex {
    /// The language being built.
    pub lang: Lang,
    /// The registry, to name the formula behind an error.
    pub registry: Registry,
    /// Formulas kept between rebuilds (`cargo xtask serve` only).
    pub cache: Option<Arc<Cache>>,
}

impl Preprocessor for CheckedKatex {
    fn name(&self) -> &str {
        "katex"
    }

    fn run(
        &self,
        ctx: &PreprocessorContext,
        mut book: Book,
    ) -> mdbook_preprocessor::errors::Result<Book> {
        let mut strict = katex_config(&ctx.root, &ctx.config)?;
        strict.throw_on_error = true;
        let (inline, display) = strict.build_opts(&ctx.root);
        let extra = strict.build_extra_opts();
        let mut problems = Vec::new();
        book.for_each_chapter_mut(|ch| {
            let Some(path) = &ch.source_path else {
                return;
            };
            let file = format!("src/{}/{}", self.lang.code(), path.display());
            let source =
                fs::read_to_string(ctx.root.join(&file)).unwrap_or_default();
            let mut out = String::with_capacity(ch.content.len() * 4);
            for task in get_render_tasks(&ch.content, "", &extra) {
                let (item, opts, delimiter, is_display) = match task {
                    Render::Text(text) => {
                        out.push_str(text);
                        continue;
                    }
                    Render::InlineTask(item) => {
                        (item, &inline, &extra.inline_delimiter, false)
                    }
                    Render::DisplayTask(item) => {
                        (item, &display, &extra.block_delimiter, true)
                    }
                };
                let rendered = match &self.cache {
                    Some(cache) => cache.katex(item, is_display, || {
                        katex::render_with_opts(item, opts)
                    }),
                    None => katex::render_with_opts(item, opts),
                };
                match rendered {
                    Ok(html) => out.push_str(&protect_from_markdown(&html)),
                    Err(e) => {
                        problems.push(self.locate(
                            &file,
                            &source,
                            item,
                            &e.to_string(),
                        ));
                        out.push_str(&delimiter.left);
                        out.push_str(item);
                        out.push_str(&delimiter.right);
                    }
                }
            }
            ch.content = out;
        });
        into_result(problems)?;
        Ok(book)
    }
}

/// KaTeX's HTML on one line, with the characters that Markdown would act
/// on (`~ * _ | [ ] ` \`) in its text written as character references,
/// which the browser reads as the same characters.
pub fn protect_from_markdown(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + 16);
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            '\n' => {
                out.push(' ');
                continue;
            }
            '~' | '*' | '_' | '|' | '[' | ']' | '`' | '\\' if !in_tag => {
                out.push_str(&format!("&#{};", u32::from(c)));
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

impl CheckedKatex {
    /// Where a formula that KaTeX refused comes from: a line of the page,
    /// or a formula of the registry placed on that page.
    fn locate(
        &self,
        file: &str,
        source: &str,
        item: &str,
        message: &str,
    ) -> Problem {
        let message = message.trim_start_matches("js execution error: ");
        if let Some(pos) = source.find(item) {
            return Problem::at(
                file,
                crate::problem::line_of(source, pos),
                format!("bad LaTeX `{item}`: {message}"),
            );
        }
        let formula = self
            .registry
            .formula
            .iter()
            .find(|(_, f)| item.contains(f.tex.trim()));
        match formula {
            Some((id, _)) => Problem::new(
                file,
                format!(
                    "bad LaTeX in formula `{id}` ({}): {message}",
                    crate::registry::REGISTRY_DIR
                ),
            ),
            None => {
                Problem::new(file, format!("bad LaTeX `{item}`: {message}"))
            }
        }
    }
}

/// Builds one language into `out/<code>/`.
pub fn build_language(
    root: &Path,
    out: &Path,
    lang: Lang,
    registry: &Registry,
) -> Result<()> {
    build_language_with(root, out, lang, registry, true, None)
}

/// Builds one language into `out/<code>/`, with or without the link to
/// the other language, and with the caches of `cargo xtask serve`.
pub fn build_language_with(
    root: &Path,
    out: &Path,
    lang: Lang,
    registry: &Registry,
    language_switch: bool,
    cache: Option<Arc<Cache>>,
) -> Result<()> {
    let mut config = language_config(root, out, lang)?;
    katex_config(root, &config)?;
    if cache.is_some() {
        // `serve` builds drafts: no search index and no print page, the
        // two parts of mdBook's output that take long to write.
        config.set("output.html.search.enable", false)?;
        config.set("output.html.print.enable", false)?;
    }
    let mut book =
        MDBook::load_with_config(root, config).with_context(|| {
            format!(
                "cannot load the {} book (src/{})",
                lang.name(),
                lang.code()
            )
        })?;
    book.with_preprocessor(Literate {
        root: root.to_path_buf(),
        lang,
        registry: registry.clone(),
        language_switch,
        cache: cache.clone(),
    });
    book.with_preprocessor(CheckedKatex {
        lang,
        registry: registry.clone(),
        cache,
    });
    book.build()
        .with_context(|| format!("building the {} book failed", lang.name()))?;
    copy_dir(
        &root.join(KATEX_THEME).join("fonts"),
        &out.join(lang.code()).join(KATEX_THEME).join("fonts"),
    )?;
    repair_sidebar_toggle(&out.join(lang.code()))?;
    Ok(())
}

/// mdBook 0.5 gives the `<label>` that toggles the sidebar `aria-label`,
/// `aria-controls` and (from its script) `aria-expanded`, none of which
/// ARIA allows on a plain label (axe-core: aria-allowed-attr,
/// aria-prohibited-attr). The label acts as a button, so it says so with
/// `role="button"`, which allows all three.
fn repair_sidebar_toggle(dir: &Path) -> Result<()> {
    const LABEL: &str =
        r#"<label id="mdbook-sidebar-toggle" class="icon-button" "#;
    const FIXED: &str = r#"<label id="mdbook-sidebar-toggle" role="button" class="icon-button" "#;
    let mut files = Vec::new();
    crate::files::walk(dir, &mut |p| {
        if p.extension().is_some_and(|e| e == "html") {
            files.push(p.to_path_buf());
        }
    });
    for file in files {
        let html = fs::read_to_string(&file)?;
        if html.contains(LABEL) {
            fs::write(&file, html.replacen(LABEL, FIXED, 1))?;
        }
    }
    Ok(())
}

/// Builds both languages into `out/de/` and `out/en/`, writes `out/index.html`
/// and checks the result: no resource from another host, no broken link.
pub fn build_book(root: &Path, out: &Path) -> Result<()> {
    let registry = Registry::load(root).map_err(|p| to_error(&p))?;
    into_result(crate::citations::check(root)).context("citations")?;
    into_result(crate::exercises::check(root)).context("exercises")?;
    for lang in Lang::ALL {
        build_language(root, out, lang, &registry)?;
    }
    fs::write(out.join("index.html"), landing_page())?;
    let problems = checks::site(out)
        .into_iter()
        .map(|p| with_source(root, p))
        .collect();
    into_result(problems).context("the built book has problems")?;
    Ok(())
}

/// Names the Markdown source of a problem found in a built page
/// (`de/intro.html` comes from `src/de/intro.md`).
pub fn with_source(root: &Path, mut problem: Problem) -> Problem {
    let built = Path::new(&problem.file);
    let source = Path::new("src").join(built.with_extension("md"));
    if built.extension().is_some_and(|e| e == "html")
        && root.join(&source).is_file()
    {
        problem.file =
            format!("{} (built as {})", source.display(), problem.file);
    }
    problem
}

/// Copies the folder `from` with everything in it to `to`.
pub fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)
        .with_context(|| format!("cannot read {}", from.display()))?
    {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// `book/index.html`: leads to the German book and offers the English one.
pub fn landing_page() -> String {
    let de = Lang::De;
    let en = Lang::En;
    format!(
        r#"<!DOCTYPE html>
<html lang="{de_code}">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="0; url={de_code}/index.html">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Theorie (Mathematik) hinter Generativer KI · The Mathematics behind Generative AI</title>
</head>
<body>
<h1>Theorie (Mathematik) hinter Generativer KI</h1>
<p><a href="{de_code}/index.html" hreflang="{de_code}">{de_name}</a> (Original)</p>
<p lang="{en_code}"><a href="{en_code}/index.html" hreflang="{en_code}">{en_name}: The Mathematics behind Generative AI</a> (translation)</p>
</body>
</html>
"#,
        de_code = de.code(),
        de_name = de.name(),
        en_code = en.code(),
        en_name = en.name(),
    )
}
