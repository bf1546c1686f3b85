//! The `literate` preprocessor: numbers the formulas, listings and figures
//! of one language, expands the book's directives and adds the link to the
//! same page in the other language.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use ch04_language_model::markdown;
use mdbook_preprocessor::book::{Book, BookItem};
use mdbook_preprocessor::{Preprocessor, PreprocessorContext};
use regex::Regex;

use crate::cache::Cache;
use crate::directives::{self, Directive, Kind};
use crate::figures;
use crate::lang::Lang;
use crate::problem::{Problem, into_result, to_error};
use crate::registry::Registry;

/// One page of a book, as the numbering needs it.
#[derive(Clone, Debug)]
pub struct Page {
    /// The page's path relative to the language folder (`ch01/index.md`).
    pub path: PathBuf,
    /// The page's title as SUMMARY.md gives it.
    pub title: String,
    /// The number of the chapter it belongs to: `NN` for pages in a folder
    /// (or named) `chNN`, none for the other pages.
    pub chapter: Option<u32>,
    /// The Markdown source.
    pub content: String,
}

/// Where a numbered thing ended up.
#[derive(Clone, Debug)]
pub struct Target {
    /// Its number, `1.2`.
    pub number: String,
    /// The page it is on, relative to the language folder.
    pub page: PathBuf,
}

/// The numbers of everything numbered in one language of the book.
#[derive(Clone, Debug, Default)]
pub struct Numbers {
    /// Formulas by id.
    pub formulas: HashMap<String, Target>,
    /// Listings by id.
    pub listings: HashMap<String, Target>,
    /// Figures by id.
    pub figures: HashMap<String, Target>,
}

/// The formula's TeX with its decimal numbers written as the page's
/// language writes them: `0.044715` stays in English and becomes
/// `0{,}044715` in German (the braces keep KaTeX from spacing the comma as
/// punctuation). The registry holds one TeX for both languages.
pub fn localize_decimals(tex: &str, lang: Lang) -> String {
    static DECIMAL: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(\d)\.(\d)").unwrap());
    match lang {
        Lang::En => tex.to_string(),
        Lang::De => DECIMAL.replace_all(tex, "$1{,}$2").into_owned(),
    }
}

/// The pages of `book` in reading order (drafts left out).
pub fn pages(book: &Book) -> Vec<Page> {
    book.iter()
        .filter_map(|item| match item {
            BookItem::Chapter(ch) => {
                let path = ch.path.clone()?;
                Some(Page {
                    chapter: chapter_of(&path),
                    title: ch.name.clone(),
                    path,
                    content: ch.content.clone(),
                })
            }
            _ => None,
        })
        .collect()
}

/// The chapter of a page from its path: `ch03/adam.md` and `ch03.md` are in
/// chapter 3. Taking the number from the folder, not from the position in
/// SUMMARY.md, keeps formula numbers stable while chapters are added.
pub fn chapter_of(path: &Path) -> Option<u32> {
    let first = path.components().next()?.as_os_str().to_str()?;
    let digits: String = first
        .strip_prefix("ch")?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Numbers formulas, listings and figures chapter by chapter, in reading
/// order, and checks that every directive names something that exists,
/// that nothing is placed twice, that everything in the registry is placed,
/// and that each listing's documentation cites its formulas' numbers.
pub fn number(
    root: &Path,
    lang: Lang,
    registry: &Registry,
    pages: &[Page],
) -> Result<Numbers, Vec<Problem>> {
    let mut numbers = Numbers::default();
    let mut problems = Vec::new();
    let mut counters: HashMap<(u32, Kind), u32> = HashMap::new();
    let src = format!("src/{}", lang.code());

    for page in pages {
        let file = format!("{src}/{}", page.path.display());
        let found = match directives::parse(&page.content) {
            Ok(found) => found,
            Err(errors) => {
                for (line, msg) in errors {
                    problems.push(Problem::at(&file, line, msg));
                }
                continue;
            }
        };
        for d in found {
            let (table, exists) = match d.kind {
                Kind::Formula => (
                    &mut numbers.formulas,
                    registry.formula.contains_key(&d.id),
                ),
                Kind::Listing => (
                    &mut numbers.listings,
                    registry.listing.contains_key(&d.id),
                ),
                Kind::Figure => (
                    &mut numbers.figures,
                    figures::find(&d.id).is_some()
                        && registry.figure.contains_key(&d.id),
                ),
                Kind::Value | Kind::Table => {
                    if !crate::values::exists(&d.id) {
                        problems.push(Problem::at(
                            &file,
                            d.line,
                            format!(
                                "`{{{{#{} {}}}}}`: no value `{}` in \
                                 xtask/src/values/",
                                d.kind.name(),
                                d.id,
                                d.id
                            ),
                        ));
                    }
                    continue;
                }
                Kind::Eq => {
                    if !registry.formula.contains_key(&d.id) {
                        problems.push(Problem::at(
                            &file,
                            d.line,
                            format!(
                                "`{{{{#eq {}}}}}`: no formula `{}` in {}",
                                d.id,
                                d.id,
                                crate::registry::REGISTRY_DIR
                            ),
                        ));
                    }
                    continue;
                }
            };
            if d.kind == Kind::Figure {
                match directives::parse_caption(&d.rest, d.line) {
                    Ok(inner) => {
                        for i in inner {
                            let known = match i.kind {
                                Kind::Eq => {
                                    registry.formula.contains_key(&i.id)
                                }
                                _ => crate::values::exists(&i.id),
                            };
                            if !known {
                                problems.push(Problem::at(
                                    &file,
                                    i.line,
                                    format!(
                                        "`{{{{#{} {}}}}}` in the caption of \
                                         figure `{}`: unknown id `{}`",
                                        i.kind.name(),
                                        i.id,
                                        d.id,
                                        i.id
                                    ),
                                ));
                            }
                        }
                    }
                    Err(errors) => {
                        for (line, msg) in errors {
                            problems.push(Problem::at(&file, line, msg));
                        }
                    }
                }
            }
            if !exists {
                let place = match d.kind {
                    Kind::Figure => format!(
                        "xtask/src/figures (a `figure!`) registered in {} \
                         (`[figure.{}]`)",
                        crate::registry::REGISTRY_DIR,
                        d.id
                    ),
                    _ => crate::registry::REGISTRY_DIR.to_string(),
                };
                problems.push(Problem::at(
                    &file,
                    d.line,
                    format!(
                        "`{{{{#{} {}}}}}`: no {} `{}` in {place}",
                        d.kind.name(),
                        d.id,
                        d.kind.name(),
                        d.id
                    ),
                ));
                continue;
            }
            let Some(chapter) = page.chapter else {
                problems.push(Problem::at(
                    &file,
                    d.line,
                    format!(
                        "`{{{{#{} {}}}}}` stands outside a chapter folder \
                         `chNN/`; numbered things belong in chapters",
                        d.kind.name(),
                        d.id
                    ),
                ));
                continue;
            };
            if let Some(before) = table.get(&d.id) {
                problems.push(Problem::at(
                    &file,
                    d.line,
                    format!(
                        "{} `{}` is placed twice (first as ({}) in {src}/{}); \
                         refer to it with `{{{{#eq {}}}}}` or a link instead",
                        d.kind.name(),
                        d.id,
                        before.number,
                        before.page.display(),
                        d.id
                    ),
                ));
                continue;
            }
            let counter = counters.entry((chapter, d.kind)).or_insert(0);
            *counter += 1;
            table.insert(
                d.id.clone(),
                Target {
                    number: format!("{chapter}.{counter}"),
                    page: page.path.clone(),
                },
            );
        }
    }

    for id in registry.formula.keys() {
        if !numbers.formulas.contains_key(id) {
            problems.push(Problem::new(
                &src,
                format!("formula `{id}` is in the registry but on no page"),
            ));
        }
    }
    for (id, listing) in &registry.listing {
        if !numbers.listings.contains_key(id) {
            problems.push(Problem::new(
                &src,
                format!("listing `{id}` is in the registry but on no page"),
            ));
        }
        // The printed listing points back to its formulas.
        let Ok(code) = listing.printed(root) else {
            continue;
        };
        for formula in registry.formulas_of(id) {
            let Some(target) = numbers.formulas.get(formula) else {
                continue;
            };
            let cite = format!("({})", target.number);
            if !code.contains(&cite) {
                problems.push(Problem::new(
                    listing.file.display().to_string(),
                    format!(
                        "the printed part of listing `{id}` (anchor `{}`) \
                         must cite formula `{formula}` as {cite} (in its \
                         summary or formula block: `# Book` is not printed)",
                        listing.anchor
                    ),
                ));
            }
        }
    }

    if problems.is_empty() {
        Ok(numbers)
    } else {
        Err(problems)
    }
}

/// The relative link from page `from` to `to` (both relative to the
/// language folder), with `.md` turned into `.html`.
pub fn relative_link(from: &Path, to: &Path) -> String {
    let depth = from.components().count().saturating_sub(1);
    let mut link = "../".repeat(depth);
    link.push_str(&html_path(to));
    link
}

/// The HTML file of a Markdown page, with forward slashes.
pub fn html_path(page: &Path) -> String {
    page.with_extension("html")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// The preprocessor for one language of the book.
pub struct Literate {
    /// The book root (where `book.toml` is).
    pub root: PathBuf,
    /// The language being built.
    pub lang: Lang,
    /// The registry of formulas and listings.
    pub registry: Registry,
    /// Whether to add the link to the other language (not in the handout).
    pub language_switch: bool,
    /// Figures kept between rebuilds (`cargo xtask serve` only).
    pub cache: Option<Arc<Cache>>,
}

impl Preprocessor for Literate {
    fn name(&self) -> &str {
        "literate"
    }

    fn run(
        &self,
        _ctx: &PreprocessorContext,
        mut book: Book,
    ) -> mdbook_preprocessor::errors::Result<Book> {
        let numbers =
            number(&self.root, self.lang, &self.registry, &pages(&book))
                .map_err(|p| to_error(&p))?;
        let mut problems = Vec::new();
        book.for_each_chapter_mut(|ch| {
            let Some(path) = ch.path.clone() else { return };
            match self.expand(&path, &ch.content, &numbers) {
                Ok(content) => ch.content = content,
                Err(mut p) => problems.append(&mut p),
            }
        });
        into_result(problems)?;
        Ok(book)
    }
}

impl Literate {
    /// Expands the directives of one page and adds the language switch.
    fn expand(
        &self,
        page: &Path,
        content: &str,
        numbers: &Numbers,
    ) -> Result<String, Vec<Problem>> {
        let file = format!("src/{}/{}", self.lang.code(), page.display());
        let found = directives::parse(content).map_err(|errors| {
            errors
                .into_iter()
                .map(|(line, msg)| Problem::at(&file, line, msg))
                .collect::<Vec<_>>()
        })?;
        let mut out = String::with_capacity(content.len() * 2);
        if self.language_switch {
            out.push_str(&self.language_switch(page));
        }
        let mut last = 0;
        let mut problems = Vec::new();
        for d in &found {
            out.push_str(&content[last..d.range.start]);
            match self.render(page, d, numbers) {
                Ok(html) => out.push_str(&html),
                Err(msg) => problems.push(Problem::at(&file, d.line, msg)),
            }
            last = d.range.end;
        }
        out.push_str(&content[last..]);
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(problems)
        }
    }

    /// A caption or alt text with its `{{#eq}}` and `{{#value}}`
    /// directives expanded: formula numbers as links (`linked`) or as
    /// plain "(1.2)", values formatted for the page's language.
    fn inline_text(
        &self,
        page: &Path,
        text: &str,
        line: usize,
        numbers: &Numbers,
        linked: bool,
    ) -> Result<String, String> {
        let inner = directives::parse_caption(text, line).map_err(|e| {
            e.into_iter().map(|(_, m)| m).collect::<Vec<_>>().join("; ")
        })?;
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for d in &inner {
            out.push_str(&text[last..d.range.start]);
            match d.kind {
                Kind::Eq if !linked => {
                    let target =
                        numbers.formulas.get(&d.id).ok_or_else(|| {
                            format!("formula `{}` is placed on no page", d.id)
                        })?;
                    out.push_str(&format!("({})", target.number));
                }
                _ => out.push_str(&self.render(page, d, numbers)?),
            }
            last = d.range.end;
        }
        out.push_str(&text[last..]);
        Ok(out)
    }

    fn language_switch(&self, page: &Path) -> String {
        let other = self.lang.other();
        // From book/de/a/b.html to book/en/a/b.html: up to book/, then down.
        let up = "../".repeat(page.components().count());
        format!(
            "<p class=\"lang-switch\"><a href=\"{up}{code}/{html}\" \
             hreflang=\"{code}\" lang=\"{code}\">{name}</a></p>\n\n",
            code = other.code(),
            html = html_path(page),
            name = other.name(),
        )
    }

    fn link(
        &self,
        page: &Path,
        target: &Target,
        prefix: &str,
        id: &str,
    ) -> String {
        let href = if target.page == page {
            String::new()
        } else {
            relative_link(page, &target.page)
        };
        format!("{href}#{prefix}-{id}")
    }

    fn render(
        &self,
        page: &Path,
        d: &Directive,
        numbers: &Numbers,
    ) -> Result<String, String> {
        let lang = self.lang;
        match d.kind {
            Kind::Value => crate::values::get(&d.id)
                .and_then(|v| v.inline(lang))
                .map_err(|e| format!("`{{{{#value {}}}}}`: {e}", d.id)),
            Kind::Table => crate::values::get(&d.id)
                .and_then(|v| v.table(lang))
                .map(|t| format!("\n{t}\n"))
                .map_err(|e| format!("`{{{{#table {}}}}}`: {e}", d.id)),
            Kind::Eq => {
                let target = numbers.formulas.get(&d.id).ok_or_else(|| {
                    format!(
                        "formula `{}` is referenced but placed on no page",
                        d.id
                    )
                })?;
                Ok(format!(
                    "<a class=\"eq-ref\" href=\"{}\">({})</a>",
                    self.link(page, target, "eq", &d.id),
                    target.number
                ))
            }
            Kind::Formula => {
                let formula = &self.registry.formula[&d.id];
                let number = &numbers.formulas[&d.id].number;
                let listing = &self.registry.listing[&formula.listing];
                let lst = &numbers.listings[&formula.listing];
                Ok(format!(
                    "<div class=\"formula\" id=\"eq-{id}\">\n\n$$\n{tex} \\tag{{{number}}}\n$$\n\n\
                     <p class=\"formula-source\">{word} <a href=\"{href}\">{lst_no}</a>: \
                     <code>{anchor}</code> {in_} <code>{file}</code></p>\n</div>\n",
                    id = d.id,
                    tex = localize_decimals(formula.tex.trim(), lang),
                    word = lang
                        .pick("Umgesetzt in Listing", "Implemented in Listing"),
                    href = self.link(page, lst, "lst", &formula.listing),
                    lst_no = lst.number,
                    anchor = listing.anchor,
                    in_ = lang.pick("in", "in"),
                    file = listing.file.display(),
                ))
            }
            Kind::Listing => {
                let listing = &self.registry.listing[&d.id];
                let number = &numbers.listings[&d.id].number;
                let code = listing.printed(&self.root)?;
                let mut formulas = Vec::new();
                for f in self.registry.formulas_of(&d.id) {
                    let target = &numbers.formulas[f];
                    formulas.push(format!(
                        "<a href=\"{}\">({})</a>",
                        self.link(page, target, "eq", f),
                        target.number
                    ));
                }
                let implements = if formulas.is_empty() {
                    String::new()
                } else {
                    format!(
                        " · {} {}",
                        lang.pick("Formel", "formula"),
                        formulas.join(", ")
                    )
                };
                let mut tests = String::new();
                let mut by_file: Vec<(&str, Vec<&str>)> = Vec::new();
                for t in &listing.tests {
                    let (file, name) = t.rsplit_once("::").unwrap_or(("", t));
                    match by_file.iter_mut().find(|(f, _)| *f == file) {
                        Some((_, names)) => names.push(name),
                        None => by_file.push((file, vec![name])),
                    }
                }
                for (file, names) in by_file {
                    let names: Vec<String> = names
                        .iter()
                        .map(|n| format!("<code>{n}</code>"))
                        .collect();
                    let _ = write!(
                        tests,
                        "<br>{} <code>{file}</code>: {}",
                        lang.pick("Getestet in", "Tested in"),
                        names.join(", ")
                    );
                }
                let fence = if code.contains("```") { "````" } else { "```" };
                Ok(format!(
                    "<figure class=\"listing\" id=\"lst-{id}\">\n\
                     <figcaption><a href=\"#lst-{id}\"><strong>Listing {number}</strong></a>: \
                     <code>{file}</code>, <code>{anchor}</code>{implements}{tests}</figcaption>\n\n\
                     {fence}rust\n{code}{fence}\n\n</figure>\n",
                    id = d.id,
                    file = listing.file.display(),
                    anchor = listing.anchor,
                ))
            }
            Kind::Figure => {
                let figure = figures::find(&d.id).expect("checked by number()");
                let number = &numbers.figures[&d.id].number;
                let svg = match &self.cache {
                    Some(cache) => cache.figure(figure, lang),
                    None => (figure.draw)(lang),
                }
                .map_err(|e| {
                    format!("figure `{}` could not be drawn: {e:#}", d.id)
                })?;
                if d.rest.is_empty() {
                    return Err(format!(
                        "`{{{{#figure {}}}}}` needs a caption after the id",
                        d.id
                    ));
                }
                let macros = read_macros(&self.root);
                let caption =
                    self.inline_text(page, &d.rest, d.line, numbers, true)?;
                let plain_caption =
                    self.inline_text(page, &d.rest, d.line, numbers, false)?;
                let alt = self
                    .inline_text(page, figure.alt(lang), d.line, numbers, false)
                    .map_err(|e| {
                        format!("the alt text of figure `{}`: {e}", d.id)
                    })?;
                let svg =
                    accessible_svg(&svg, &d.id, &alt, &plain_caption, &macros);
                let listing = &self.registry.figure[&d.id].listing;
                let source = match numbers.listings.get(listing) {
                    Some(target) => format!(
                        " <a href=\"{}\">Listing {}</a>",
                        self.link(page, target, "lst", listing),
                        target.number
                    ),
                    None => format!(" <code>{listing}</code>"),
                };
                Ok(format!(
                    "<figure class=\"figure\" id=\"fig-{id}\">\n{svg}\n\
                     <figcaption><strong>{word} {number}:</strong> {caption} \
                     <span class=\"figure-source\">{drawn} <code>{function}</code> \
                     {in_} <code>{file}</code> {from}{source}.</span></figcaption>\n\
                     </figure>\n",
                    id = d.id,
                    word = lang.pick("Abbildung", "Figure"),
                    caption = caption,
                    drawn = lang.pick("Gezeichnet von", "Drawn by"),
                    function = figure.function,
                    in_ = lang.pick("in", "in"),
                    file = figure.source,
                    from = lang.pick("mit", "with"),
                ))
            }
        }
    }
}

/// Makes a plotters SVG fit to inline in HTML: no XML prolog, one line
/// (so that Markdown does not split it), scalable, and accessible: role
/// `img`, named by a `<title>` (the text alternative, what the figure
/// shows) and described by a `<desc>` (the caption as plain text).
fn accessible_svg(
    svg: &str,
    id: &str,
    alt: &str,
    caption: &str,
    macros: &[(String, String)],
) -> String {
    let escape = |t: &str| {
        t.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let plain = plain_text(caption, macros);
    let start = svg.find("<svg").unwrap_or(0);
    let svg = svg[start..].replacen(
        "<svg ",
        &format!(
            "<svg role=\"img\" aria-labelledby=\"fig-{id}-title\" \
             aria-describedby=\"fig-{id}-desc\" class=\"plot\" "
        ),
        1,
    );
    let svg = match svg.find('>') {
        Some(end) => format!(
            "{}><title id=\"fig-{id}-title\">{}</title>\
             <desc id=\"fig-{id}-desc\">{}</desc>{}",
            &svg[..end],
            escape(alt),
            escape(plain.trim()),
            &svg[end + 1..]
        ),
        None => svg,
    };
    svg.lines().map(str::trim).collect::<Vec<_>>().join(" ")
}

/// The KaTeX macros of `src/macros.txt` as (name, replacement) pairs.
fn read_macros(root: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root.join("src/macros.txt"))
        .unwrap_or_default();
    let mut macros: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    // Longest names first, so that `\vz` is not read as `\v` + `z`.
    macros.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
    macros
}

/// A caption as plain text, for the SVG's `<desc>`: its Markdown stripped
/// by chapter 4's stripper ([`markdown::pieces`]), its math as words.
fn plain_text(caption: &str, macros: &[(String, String)]) -> String {
    let mut out = String::new();
    for piece in markdown::pieces(caption, false) {
        match piece.kind {
            markdown::Kind::Text | markdown::Kind::Code => {
                out.push_str(&piece.text);
            }
            markdown::Kind::Math => {
                out.push_str(&tex_words(&piece.text, macros))
            }
            markdown::Kind::Tag | markdown::Kind::Break => out.push(' '),
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// TeX as readable words: macros expanded, braces removed, formatting
/// commands dropped, other commands (`\sigma`) kept as words.
fn tex_words(tex: &str, macros: &[(String, String)]) -> String {
    const FORMATTING: [&str; 10] = [
        "mathbf",
        "mathrm",
        "mathit",
        "operatorname",
        "text",
        "boldsymbol",
        "left",
        "right",
        "quad",
        "qquad",
    ];
    let mut text = tex.to_string();
    for (name, replacement) in macros {
        text = text.replace(name.as_str(), replacement);
    }
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' | '}' => {}
            '\\' => {
                let mut word = String::new();
                while let Some(&n) = chars.peek().filter(|n| n.is_alphabetic())
                {
                    word.push(n);
                    chars.next();
                }
                if word.is_empty() {
                    // `\ ` (a space), `\,` and friends: a space.
                    chars.next();
                    out.push(' ');
                } else if !FORMATTING.contains(&word.as_str()) {
                    out.push_str(&word);
                }
            }
            _ => out.push(c),
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caption_as_plain_text_has_no_markup_and_its_math_as_words() {
        let macros = [(r"\vx".to_string(), r"\mathbf{x}".to_string())];
        let caption = "Kurve `f32` über $\\sigma(\\vx)$, **fett**, \
                       <i>kursiv</i> und [ein Link](a.md).";
        assert_eq!(
            plain_text(caption, &macros),
            "Kurve f32 über sigma(x), fett, kursiv und ein Link."
        );
    }

    #[test]
    fn decimals_follow_the_language() {
        let tex = r"\tanh(x + 0.044715\, x^3) + 2.5";
        assert_eq!(localize_decimals(tex, Lang::En), tex);
        assert_eq!(
            localize_decimals(tex, Lang::De),
            r"\tanh(x + 0{,}044715\, x^3) + 2{,}5"
        );
        // No digit on both sides, no decimal: left alone.
        assert_eq!(localize_decimals(r"x_{1}.\ 3", Lang::De), r"x_{1}.\ 3");
    }
}
