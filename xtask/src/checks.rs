//! Checks of the book's sources and of the built site. Each returns the
//! problems it found; `cargo test` and `cargo xtask book` fail on any.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use mdbook_driver::MDBook;
use regex::Regex;
use scraper::{Html, Selector};

use crate::config::language_config;
use crate::directives::{self, Kind};
use crate::files::walk;
use crate::lang::Lang;
use crate::preprocess::{Page, number, pages};
use crate::problem::Problem;
use crate::registry::Registry;

/// The pages of one language as mdBook reads them (with chapter numbers).
pub fn load_pages(root: &Path, lang: Lang) -> Result<Vec<Page>, Problem> {
    let src = format!("src/{}", lang.code());
    let config = language_config(root, Path::new("book"), lang)
        .map_err(|e| Problem::new("book.toml", format!("{e:#}")))?;
    let book = MDBook::load_with_config(root, config).map_err(|e| {
        Problem::new(format!("{src}/SUMMARY.md"), format!("{e:#}"))
    })?;
    Ok(pages(&book.book))
}

/// Both languages have the same pages in the same tree, and each page
/// places the same formulas, listings and figures in the same order.
pub fn parity(root: &Path) -> Vec<Problem> {
    let mut problems = Vec::new();
    let [de, en] =
        Lang::ALL.map(|l| markdown_files(&root.join("src").join(l.code())));
    for (missing_in, present, absent) in
        [(Lang::En, &de, &en), (Lang::De, &en, &de)]
    {
        for file in present.difference(absent) {
            problems.push(Problem::new(
                format!("src/{}/{}", missing_in.code(), file.display()),
                format!(
                    "page is missing: src/{}/{} exists, its translation does not",
                    missing_in.other().code(),
                    file.display()
                ),
            ));
        }
    }
    let [de_tree, en_tree] = Lang::ALL.map(|l| summary_tree(root, l));
    if de_tree != en_tree {
        let at = de_tree.iter().zip(&en_tree).position(|(a, b)| a != b);
        let (a, b) = match at {
            Some(i) => (de_tree[i].clone(), en_tree[i].clone()),
            None => (
                de_tree.get(en_tree.len()).cloned().unwrap_or_default(),
                en_tree.get(de_tree.len()).cloned().unwrap_or_default(),
            ),
        };
        problems.push(Problem::new(
            "src/en/SUMMARY.md",
            format!(
                "the chapter tree differs from src/de/SUMMARY.md: `{b}` in \
                 English where German has `{a}`"
            ),
        ));
    }
    for file in de.intersection(&en) {
        let seq = |lang: Lang| -> Result<Vec<String>, Problem> {
            let rel = format!("src/{}/{}", lang.code(), file.display());
            let text = fs::read_to_string(root.join(&rel))
                .map_err(|e| Problem::new(&rel, format!("cannot read: {e}")))?;
            let found = directives::parse(&text).map_err(|errors| {
                let (line, msg) = errors[0].clone();
                Problem::at(&rel, line, msg)
            })?;
            Ok(found
                .into_iter()
                // Translations may order references and values in a
                // sentence differently.
                .filter(|d| !matches!(d.kind, Kind::Eq | Kind::Value))
                .map(|d| format!("{{{{#{} {}}}}}", d.kind.name(), d.id))
                .collect())
        };
        match (seq(Lang::De), seq(Lang::En)) {
            (Ok(a), Ok(b)) if a != b => problems.push(Problem::new(
                format!("src/en/{}", file.display()),
                format!(
                    "formulas, listings and figures differ from the German \
                     page: German has [{}], English has [{}]",
                    a.join(", "),
                    b.join(", ")
                ),
            )),
            (Err(p), _) | (_, Err(p)) => problems.push(p),
            _ => {}
        }
    }
    problems
}

fn markdown_files(dir: &Path) -> BTreeSet<PathBuf> {
    let mut files = BTreeSet::new();
    walk(dir, &mut |path| {
        if path.extension().is_some_and(|e| e == "md") {
            files.insert(path.strip_prefix(dir).unwrap().to_path_buf());
        }
    });
    files
}

/// The structure of a SUMMARY.md: indentation and target of each entry,
/// and separators, with the titles (which are translated) left out.
fn summary_tree(root: &Path, lang: Lang) -> Vec<String> {
    static ENTRY: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(\s*)(?:[-*]\s*)?\[[^\]]*\]\(([^)]*)\)").unwrap()
    });
    let text = fs::read_to_string(
        root.join("src").join(lang.code()).join("SUMMARY.md"),
    )
    .unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            if let Some(c) = ENTRY.captures(line) {
                Some(format!("{}{}", c[1].len(), &c[2]))
            } else if line.trim_start().starts_with("---") {
                Some("---".into())
            } else if line.starts_with('#') && !line.starts_with("# Summary") {
                Some("# part".into())
            } else {
                None
            }
        })
        .collect()
}

/// The registry is valid, every formula and listing is placed once per
/// language, and every listing's documentation cites its formula numbers.
pub fn formulas(root: &Path) -> Vec<Problem> {
    let registry = match Registry::load(root) {
        Ok(r) => r,
        Err(problems) => return problems,
    };
    let mut problems = Vec::new();
    let mut numbered: Vec<HashMap<String, String>> = Vec::new();
    for lang in Lang::ALL {
        match load_pages(root, lang) {
            Err(p) => problems.push(p),
            Ok(pages) => match number(root, lang, &registry, &pages) {
                Ok(n) => numbered.push(
                    n.formulas
                        .into_iter()
                        .map(|(id, t)| (id, t.number))
                        .collect(),
                ),
                Err(mut p) => problems.append(&mut p),
            },
        }
    }
    if let [de, en] = numbered.as_slice() {
        for (id, number) in de {
            if en.get(id) != Some(number) {
                problems.push(Problem::new(
                    "src/en",
                    format!(
                        "formula `{id}` is ({number}) in German but {:?} in English",
                        en.get(id)
                    ),
                ));
            }
        }
    }
    problems
}

/// The widest printed line of a listing, in characters: the PDF's code
/// blocks fit 80 columns (rustfmt.toml sets the same width).
pub const PRINTED_WIDTH: usize = 80;

/// What the printed listings consist of, line by line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrintedLines {
    /// Listings counted.
    pub listings: usize,
    /// `///` and `//!` lines.
    pub doc: usize,
    /// Lines of code: neither blank nor a comment.
    pub code: usize,
    /// `//` comments.
    pub comments: usize,
}

/// Counts the lines of every listing as the book prints it (see
/// [`crate::registry::printed`]).
pub fn printed_lines(root: &Path) -> Result<PrintedLines, Vec<Problem>> {
    let registry = Registry::load(root)?;
    let mut count = PrintedLines::default();
    for listing in registry.listing.values() {
        let text = listing.printed(root).map_err(|msg| {
            vec![Problem::new(listing.file.display().to_string(), msg)]
        })?;
        count.listings += 1;
        for line in text.lines().map(str::trim) {
            if line.starts_with("///") || line.starts_with("//!") {
                count.doc += 1;
            } else if line.starts_with("//") {
                count.comments += 1;
            } else if !line.is_empty() {
                count.code += 1;
            }
        }
    }
    Ok(count)
}

/// Tidy rules for what the book prints of each listing: no line wider than
/// [`PRINTED_WIDTH`], and no doctest (a doc comment's fenced block other
/// than ```` ```text ````), which belongs in rustdoc.
pub fn listings(root: &Path) -> Vec<Problem> {
    let registry = match Registry::load(root) {
        Ok(r) => r,
        Err(problems) => return problems,
    };
    let mut problems = Vec::new();
    for (id, listing) in &registry.listing {
        let file = listing.file.display().to_string();
        let Ok(text) = listing.printed(root) else {
            continue;
        };
        let mut in_fence = false;
        for (i, line) in text.lines().enumerate() {
            let width = line.chars().count();
            if width > PRINTED_WIDTH {
                problems.push(Problem::new(
                    &file,
                    format!(
                        "listing `{id}`, printed line {}: {width} columns, \
                         more than {PRINTED_WIDTH}",
                        i + 1
                    ),
                ));
            }
            let doc = line.trim_start();
            let Some(info) = doc
                .strip_prefix("///")
                .or_else(|| doc.strip_prefix("//!"))
                .and_then(|d| d.trim_start().strip_prefix("```"))
            else {
                continue;
            };
            if !in_fence && !matches!(info.trim(), "text" | "math") {
                problems.push(Problem::new(
                    &file,
                    format!(
                        "listing `{id}`, printed line {}: a doctest is \
                         printed; keep it under `# Example`",
                        i + 1
                    ),
                ));
            }
            in_fence = !in_fence;
        }
    }
    problems
}

/// Elements whose `src` or `href` makes the browser load something.
const LOADING: &str = "link[href], script[src], img[src], iframe[src], \
                       source[src], video[src], audio[src], embed[src], \
                       image[href], use[href], object[data]";

/// The built site at `out`: no HTML, CSS or JS file loads anything from
/// another host, and every internal link and `#anchor` resolves.
pub fn site(out: &Path) -> Vec<Problem> {
    let mut files = Vec::new();
    walk(out, &mut |p| files.push(p.to_path_buf()));
    site_files(out, &files)
}

/// The checks of [`site`] for `files` of the site at `out` only; their
/// links are resolved against the whole site. `cargo xtask serve` checks
/// the pages that a rebuild changed.
pub fn site_files(out: &Path, files: &[PathBuf]) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut ids: HashMap<PathBuf, HashSet<String>> = HashMap::new();
    let rel = |p: &Path| p.strip_prefix(out).unwrap_or(p).display().to_string();
    let loading = Selector::parse(LOADING).unwrap();
    let anchors = Selector::parse("a[href]").unwrap();

    for file in files {
        let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
        let Ok(text) = fs::read_to_string(file) else {
            continue;
        };
        match ext {
            "css" => {
                for url in css_urls(&text) {
                    if is_remote(&url) {
                        problems.push(Problem::new(
                            rel(file),
                            format!("loads `{url}` from another host"),
                        ));
                    } else if !url.starts_with("data:") {
                        check_link(out, file, &url, &mut ids, &mut problems);
                    }
                }
            }
            "js" => {
                for url in js_resource_urls(&text) {
                    problems.push(Problem::new(
                        rel(file),
                        format!("loads `{url}` from another host"),
                    ));
                }
            }
            "html" => {
                let doc = Html::parse_document(&text);
                // A page with <base href> (mdBook's 404 page) resolves its
                // links against the web server's root, not its own folder.
                let has_base = doc
                    .select(&Selector::parse("base[href]").unwrap())
                    .next()
                    .is_some();
                for el in doc.select(&loading) {
                    let attr = ["src", "href", "data"]
                        .into_iter()
                        .find_map(|a| el.value().attr(a))
                        .unwrap_or("");
                    if is_remote(attr) {
                        problems.push(Problem::new(
                            rel(file),
                            format!(
                                "<{}> loads `{attr}` from another host",
                                el.value().name()
                            ),
                        ));
                    } else if !has_base {
                        check_link(out, file, attr, &mut ids, &mut problems);
                    }
                }
                for url in css_urls(&text) {
                    if is_remote(&url) {
                        problems.push(Problem::new(
                            rel(file),
                            format!(
                                "inline style loads `{url}` from another host"
                            ),
                        ));
                    }
                }
                if has_base {
                    continue;
                }
                for el in doc.select(&anchors) {
                    let href = el.value().attr("href").unwrap_or("");
                    if !is_remote(href) {
                        check_link(out, file, href, &mut ids, &mut problems);
                    }
                }
            }
            _ => {}
        }
    }
    problems
}

fn is_remote(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    lower.starts_with("http:")
        || lower.starts_with("https:")
        || lower.starts_with("//")
}

/// The targets of `url(...)` and `@import` in CSS text.
fn css_urls(text: &str) -> Vec<String> {
    static URL: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r#"url\(\s*['"]?([^'")]+)['"]?\s*\)|@import\s+['"]([^'"]+)['"]"#,
        )
        .unwrap()
    });
    URL.captures_iter(text)
        .filter_map(|c| c.get(1).or(c.get(2)))
        .map(|m| m.as_str().trim().to_string())
        .collect()
}

/// Resource references to other hosts in JavaScript: assignments to
/// `src`/`href`, `url(...)` and `@import` with an absolute http(s) URL.
fn js_resource_urls(text: &str) -> Vec<String> {
    static RESOURCE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r#"(?:\bsrc\s*=\s*|\bhref\s*=\s*|url\(\s*|@import\s+)['"]?((?:https?:)?//[^'")\s]+)"#,
        )
        .unwrap()
    });
    RESOURCE
        .captures_iter(text)
        .map(|c| c[1].to_string())
        .collect()
}

/// Checks that an internal link from `file` resolves to an existing file
/// and, for `#anchor`, to an element with that id.
fn check_link(
    out: &Path,
    file: &Path,
    link: &str,
    ids: &mut HashMap<PathBuf, HashSet<String>>,
    problems: &mut Vec<Problem>,
) {
    let link = link.trim();
    if link.is_empty()
        || link == "#"
        || ["mailto:", "javascript:", "data:", "tel:"]
            .iter()
            .any(|s| link.starts_with(s))
    {
        return;
    }
    let (path, fragment) = match link.split_once('#') {
        Some((p, f)) => (p, Some(f)),
        None => (link, None),
    };
    let path = path.split('?').next().unwrap_or("");
    let mut target = if path.is_empty() {
        file.to_path_buf()
    } else {
        file.parent().unwrap().join(path)
    };
    if path.ends_with('/') || target.is_dir() {
        target = target.join("index.html");
    }
    let rel = file.strip_prefix(out).unwrap_or(file).display().to_string();
    let Ok(target) = target.canonicalize() else {
        problems.push(Problem::new(
            rel,
            format!("broken link `{link}`: no such file"),
        ));
        return;
    };
    let Some(fragment) = fragment.filter(|f| !f.is_empty()) else {
        return;
    };
    if target.extension().is_none_or(|e| e != "html") {
        return;
    }
    let known = ids.entry(target.clone()).or_insert_with(|| {
        let text = fs::read_to_string(&target).unwrap_or_default();
        let doc = Html::parse_document(&text);
        let sel = Selector::parse("[id], a[name]").unwrap();
        doc.select(&sel)
            .flat_map(|el| [el.value().attr("id"), el.value().attr("name")])
            .flatten()
            .map(str::to_string)
            .collect()
    });
    let fragment = percent_encoding::percent_decode_str(fragment)
        .decode_utf8_lossy()
        .into_owned();
    if !known.contains(&fragment) {
        problems.push(Problem::new(
            rel,
            format!("broken link `{link}`: no element with id `{fragment}`"),
        ));
    }
}

/// Headings of every built page do not skip levels (an `h2` may follow an
/// `h1`, an `h4` may not follow an `h2`), so that readers with a screen
/// reader can navigate by headings; and every page declares its language.
pub fn page_structure(out: &Path) -> Vec<Problem> {
    let mut problems = Vec::new();
    let heading =
        Selector::parse("main h1, main h2, main h3, main h4, main h5, main h6")
            .unwrap();
    let html_el = Selector::parse("html").unwrap();
    let mut files = Vec::new();
    walk(out, &mut |p| {
        if p.extension().is_some_and(|e| e == "html") {
            files.push(p.to_path_buf());
        }
    });
    for file in files {
        let rel = file
            .strip_prefix(out)
            .unwrap_or(&file)
            .display()
            .to_string();
        let doc = Html::parse_document(
            &fs::read_to_string(&file).unwrap_or_default(),
        );
        let lang = doc
            .select(&html_el)
            .next()
            .and_then(|h| h.value().attr("lang"))
            .unwrap_or("");
        if lang.is_empty() {
            problems.push(Problem::new(
                &rel,
                "the page declares no language (<html lang>)",
            ));
        }
        let mut last = 0;
        for h in doc.select(&heading) {
            let level: usize = h.value().name()[1..].parse().unwrap_or(1);
            if level > last + 1 {
                let text: String = h.text().collect();
                problems.push(Problem::new(
                    &rel,
                    format!("heading h{level} `{}` follows h{last}: a level is skipped", text.trim()),
                ));
            }
            last = level;
        }
    }
    problems
}
