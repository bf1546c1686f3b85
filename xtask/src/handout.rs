//! The course handout: one HTML document per language, made from the same
//! sources and preprocessors as the web book, printed to an A4 PDF by
//! headless Chromium.

use std::collections::HashMap;
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::sync::LazyLock;

use anyhow::{Context, Result, bail};
use mdbook_driver::MDBook;
use mdbook_driver::builtin_renderers::MarkdownRenderer;
use mdbook_preprocessor::book::BookItem;
use pulldown_cmark::{
    CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd,
};
use regex::Regex;

use crate::build::{CheckedKatex, KATEX_THEME, build_book, language_config};
use crate::lang::Lang;
use crate::preprocess::Literate;
use crate::problem::to_error;
use crate::registry::Registry;

/// The stylesheet of the handout, relative to the book root.
pub const HANDOUT_CSS: &str = "theme/handout.css";

/// The Chromium flags of a headless print without network or profile.
const CHROMIUM_FLAGS: [&str; 10] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-pdf-header-footer",
    "--generate-pdf-document-outline",
    // Lets web fonts and layout settle before printing.
    "--virtual-time-budget=20000",
];

/// Finds Chromium: `$CHROMIUM`, else `chromium` or `chromium-browser` on
/// the PATH.
pub fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|n| dir.join(n)))
        .find(|p| p.is_file())
}

/// Builds the web book (for its fonts and KaTeX stylesheet), then both
/// handouts: `out/pdf/handout-de.pdf` and `out/pdf/handout-en.pdf`.
pub fn build_pdfs(root: &Path, out: &Path) -> Result<Vec<PathBuf>> {
    let Some(chromium) = find_chromium() else {
        bail!(
            "Chromium is not installed; the handout is printed by headless \
             Chromium. Install it with `apt-get install chromium` (Debian \
             package `chromium`), or set CHROMIUM to its path."
        );
    };
    build_book(root, out)?;
    let registry = Registry::load(root).map_err(|p| to_error(&p))?;
    let pdf_dir = out.join("pdf");
    fs::create_dir_all(&pdf_dir)?;
    fs::copy(root.join(HANDOUT_CSS), pdf_dir.join("handout.css"))
        .with_context(|| format!("cannot copy {HANDOUT_CSS}"))?;
    let mut pdfs = Vec::new();
    for lang in Lang::ALL {
        let html = write_handout_html(root, out, lang, &registry)?;
        let pdf = pdf_dir.join(format!("handout-{}.pdf", lang.code()));
        print_pdf(&chromium, &html, &pdf)?;
        pdfs.push(pdf);
    }
    Ok(pdfs)
}

fn print_pdf(chromium: &Path, html: &Path, pdf: &Path) -> Result<()> {
    let profile = tempfile::tempdir()?;
    let _ = fs::remove_file(pdf);
    let output = Command::new(chromium)
        .args(CHROMIUM_FLAGS)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .with_context(|| format!("cannot run {}", chromium.display()))?;
    if !output.status.success() || !pdf.is_file() {
        bail!(
            "Chromium did not print {}:\n{}",
            pdf.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// One page of the book, preprocessed, as the handout needs it.
struct HandoutPage {
    path: PathBuf,
    slug: String,
    number: Option<String>,
    title: String,
    depth: usize,
    markdown: String,
}

/// Writes `out/pdf/handout-<lang>.html` and returns its path.
pub fn write_handout_html(
    root: &Path,
    out: &Path,
    lang: Lang,
    registry: &Registry,
) -> Result<PathBuf> {
    let scratch = tempfile::tempdir()?;
    let config = language_config(root, scratch.path(), lang)?;
    let mut book = MDBook::load_with_config(root, config)?;
    book.with_preprocessor(Literate {
        root: root.to_path_buf(),
        lang,
        registry: registry.clone(),
        language_switch: false,
        cache: None,
    });
    book.with_preprocessor(CheckedKatex {
        lang,
        registry: registry.clone(),
        cache: None,
    });
    let (book, _) = book.preprocess_book(&MarkdownRenderer::new())?;
    let pages: Vec<HandoutPage> = book
        .iter()
        .filter_map(|item| match item {
            BookItem::Chapter(ch) => {
                let path = ch.path.clone()?;
                Some(HandoutPage {
                    slug: slug(&path),
                    number: ch.number.as_ref().map(|n| {
                        n.iter()
                            .map(u32::to_string)
                            .collect::<Vec<_>>()
                            .join(".")
                    }),
                    depth: ch.number.as_ref().map_or(1, |n| n.len()),
                    title: ch.name.clone(),
                    markdown: ch.content.clone(),
                    path,
                })
            }
            _ => None,
        })
        .collect();
    let slugs: HashMap<PathBuf, String> = pages
        .iter()
        .map(|p| (p.path.clone(), p.slug.clone()))
        .collect();

    let web = out.join(lang.code());
    let fonts_css = find_file(&web.join("fonts"), "fonts-", ".css")?;
    let katex_css = find_file(&web.join(KATEX_THEME), "katex-", ".min.css")?;
    let rel =
        |p: &Path| format!("../{}", p.strip_prefix(out).unwrap().display());

    let mut body = String::new();
    body.push_str(&title_page(root, lang));
    body.push_str(&table_of_contents(&pages, lang));
    for page in &pages {
        let class = if page.depth == 1 {
            "page chapter"
        } else {
            "page"
        };
        body.push_str(&format!(
            "<section class=\"{class}\" id=\"page-{}\">\n",
            page.slug
        ));
        body.push_str(&render_markdown(page, &slugs));
        body.push_str("</section>\n");
    }
    let title = lang.pick(
        "Theorie (Mathematik) hinter Generativer KI",
        "The Mathematics behind Generative AI",
    );
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"{code}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{title}</title>\n\
         <link rel=\"stylesheet\" href=\"{fonts}\">\n\
         <link rel=\"stylesheet\" href=\"{katex}\">\n\
         <link rel=\"stylesheet\" href=\"handout.css\">\n\
         </head>\n<body>\n{body}</body>\n</html>\n",
        code = lang.code(),
        fonts = rel(&fonts_css),
        katex = rel(&katex_css),
    );
    let path = out
        .join("pdf")
        .join(format!("handout-{}.html", lang.code()));
    fs::create_dir_all(path.parent().unwrap())?;
    fs::write(&path, html)?;
    Ok(path)
}

/// The one file in `dir` whose name starts with `prefix` and ends with
/// `suffix` (mdBook adds a content hash in between).
fn find_file(dir: &Path, prefix: &str, suffix: &str) -> Result<PathBuf> {
    fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(prefix) && name.ends_with(suffix)
        })
        .with_context(|| format!("no {prefix}*{suffix} in {}", dir.display()))
}

fn slug(page: &Path) -> String {
    page.with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// The id mdBook gives a heading: lower case, letters, digits, `-` and
/// `_` kept, spaces turned into `-`, everything else dropped.
fn heading_id(text: &str) -> String {
    text.chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                Some(c.to_lowercase().collect::<String>())
            } else if c.is_whitespace() {
                Some("-".to_string())
            } else {
                None
            }
        })
        .collect()
}

fn title_page(root: &Path, lang: Lang) -> String {
    let version = Command::new("git")
        .args(["log", "-1", "--format=%cs %h"])
        .current_dir(root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .map(|s| match s.split_once(' ') {
            Some((date, hash)) => {
                format!(
                    "{} {date} · {} {hash}",
                    lang.pick("Stand", "As of"),
                    "Version"
                )
            }
            None => s,
        })
        .unwrap_or_else(|| format!("Version {}", env!("CARGO_PKG_VERSION")));
    format!(
        "<section class=\"title-page\">\n\
         <p class=\"title\">{title}</p>\n\
         <p class=\"subtitle\">{subtitle}</p>\n\
         <p class=\"language\">{language}</p>\n\
         <p class=\"version\">{version}</p>\n\
         </section>\n",
        title = lang.pick(
            "Theorie (Mathematik) hinter Generativer KI",
            "The Mathematics behind Generative AI"
        ),
        subtitle = lang.pick(
            "Kursunterlage: Wahrscheinlichkeitsmodelle, Transformer, Optimierung",
            "Course handout: probability models, transformers, optimization"
        ),
        language = lang.pick(
            "Deutsch (Original)",
            "English (translated from the German original)"
        ),
    )
}

fn table_of_contents(pages: &[HandoutPage], lang: Lang) -> String {
    let mut toc = format!(
        "<nav class=\"toc\">\n<h1 class=\"toc-title\">{}</h1>\n<ul>\n",
        lang.pick("Inhalt", "Contents")
    );
    for page in pages {
        let number = page.number.as_deref().map_or(String::new(), |n| {
            format!("<span class=\"toc-number\">{n}</span> ")
        });
        toc.push_str(&format!(
            "<li class=\"toc-depth-{}\"><a href=\"#page-{}\">{number}{}</a></li>\n",
            page.depth,
            page.slug,
            escape(&page.title)
        ));
    }
    toc.push_str("</ul>\n</nav>\n");
    toc
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

static HREF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"href="([^"]*)""#).unwrap());

/// Renders one page's Markdown to HTML, with heading ids made unique in
/// the document, the page number before its title, and links to other
/// pages turned into links inside the document.
fn render_markdown(
    page: &HandoutPage,
    slugs: &HashMap<PathBuf, String>,
) -> String {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES;
    let events: Vec<Event> = Parser::new_ext(&page.markdown, options).collect();
    let mut out_events = Vec::with_capacity(events.len());
    let mut i = 0;
    while i < events.len() {
        match &events[i] {
            Event::Start(Tag::Heading {
                level,
                id: explicit,
                classes,
                attrs,
            }) => {
                let mut text = String::new();
                let mut j = i + 1;
                while j < events.len()
                    && !matches!(events[j], Event::End(TagEnd::Heading(_)))
                {
                    if let Event::Text(t) | Event::Code(t) = &events[j] {
                        text.push_str(t);
                    }
                    j += 1;
                }
                let id = match explicit {
                    Some(id) => format!("{}--{id}", page.slug),
                    None => format!("{}--{}", page.slug, heading_id(&text)),
                };
                out_events.push(Event::Start(Tag::Heading {
                    level: *level,
                    id: Some(CowStr::from(id)),
                    classes: classes.clone(),
                    attrs: attrs.clone(),
                }));
                if *level == HeadingLevel::H1
                    && let Some(n) = &page.number
                {
                    out_events.push(Event::Html(CowStr::from(format!(
                        "<span class=\"section-number\">{n}</span> "
                    ))));
                }
            }
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                out_events.push(Event::Start(Tag::Link {
                    link_type: *link_type,
                    dest_url: CowStr::from(rewrite_link(
                        dest_url, &page.path, slugs,
                    )),
                    title: title.clone(),
                    id: id.clone(),
                }));
            }
            Event::Html(html) | Event::InlineHtml(html) => {
                let rewritten =
                    HREF.replace_all(html, |c: &regex::Captures| {
                        format!(
                            "href=\"{}\"",
                            rewrite_link(&c[1], &page.path, slugs)
                        )
                    });
                let event = match &events[i] {
                    Event::Html(_) => {
                        Event::Html(CowStr::from(rewritten.into_owned()))
                    }
                    _ => {
                        Event::InlineHtml(CowStr::from(rewritten.into_owned()))
                    }
                };
                out_events.push(event);
            }
            other => out_events.push(other.clone()),
        }
        i += 1;
    }
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, out_events.into_iter());
    html
}

/// A link as it must read inside the one-document handout.
fn rewrite_link(
    link: &str,
    page: &Path,
    slugs: &HashMap<PathBuf, String>,
) -> String {
    let lower = link.to_ascii_lowercase();
    if lower.starts_with("http:")
        || lower.starts_with("https:")
        || lower.starts_with("mailto:")
    {
        return link.to_string();
    }
    let (path, fragment) = link.split_once('#').unwrap_or((link, ""));
    let target = if path.is_empty() {
        page.to_path_buf()
    } else {
        let joined = page.parent().unwrap_or(Path::new("")).join(path);
        normalize(&joined).with_extension("md")
    };
    let Some(slug) = slugs.get(&target) else {
        return link.to_string();
    };
    if fragment.is_empty() {
        format!("#page-{slug}")
    } else if ["eq-", "lst-", "fig-", "ref-"]
        .iter()
        .any(|p| fragment.starts_with(p))
    {
        // Formula, listing, figure and reference ids are unique in the
        // whole book.
        format!("#{fragment}")
    } else {
        format!("#{slug}--{fragment}")
    }
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}
