//! The course handout: one HTML document per language, made from the same
//! sources and preprocessors as the web book, printed to an A4 PDF by
//! headless Chromium.

use std::collections::{HashMap, HashSet};
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

use crate::build::{CheckedKatex, KATEX_THEME, build_book};
use crate::config::language_config;
use crate::lang::Lang;
use crate::preprocess::Literate;
use crate::problem::to_error;
use crate::registry::Registry;

mod index;

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

/// How often a handout is printed at most before its page numbers must
/// have settled (two printings are the rule; see [`Handout::print`]).
const MAX_PRINTINGS: usize = 4;

/// The id of the index's heading in the handout.
const INDEX_ID: &str = "handout-index";

/// The title of the handout's index.
pub fn index_title(lang: Lang) -> &'static str {
    lang.pick("Stichwortverzeichnis", "Index")
}

/// Builds the web book (for its fonts and KaTeX stylesheet), then both
/// handouts, `out/pdf/handout-de.pdf` and `out/pdf/handout-en.pdf`, which
/// leave out the exercises' solutions, and the solutions booklets
/// `out/pdf/solutions-de.pdf` and `out/pdf/solutions-en.pdf`: every
/// exercise page with its solutions. Returns the handouts, then the
/// booklets.
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
    let handouts = Lang::ALL
        .map(|lang| Handout::load(root, out, lang, &registry))
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
    // The two languages are printed side by side.
    std::thread::scope(|scope| {
        let chromium = &chromium;
        let pdf_dir = &pdf_dir;
        let handout_pdfs = handouts.iter().map(|handout| {
            let pdf =
                pdf_dir.join(format!("handout-{}.pdf", handout.lang.code()));
            scope.spawn(move || handout.print(chromium, &pdf).map(|()| pdf))
        });
        let booklets = handouts.iter().map(|handout| {
            scope.spawn(move || handout.print_solutions(chromium, pdf_dir))
        });
        let printing: Vec<_> = handout_pdfs.chain(booklets).collect();
        printing
            .into_iter()
            .map(|p| p.join().expect("a printing thread panicked"))
            .collect()
    })
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

/// A heading of the handout: its id and its text.
struct Heading {
    id: String,
    text: String,
}

/// A page of the book rendered for the handout.
struct RenderedPage {
    slug: String,
    number: Option<String>,
    title: String,
    depth: usize,
    html: String,
    /// The id of the page's title (its first heading); the table of
    /// contents links to it and reads its page from the PDF.
    title_id: String,
    /// Its headings of level 1 and 2.
    headings: Vec<Heading>,
    glossary: bool,
    /// An exercise page (`chNN/exercises.md`), with solutions.
    exercises: bool,
}

/// An entry of the index with the pattern that finds it and the id of its
/// defining section.
struct IndexEntry {
    term: index::Term,
    regex: Regex,
    main: Option<String>,
}

/// The page numbers the handout prints: the page of every heading the
/// table of contents lists (by id) and the pages of every index entry.
#[derive(Debug, Default, PartialEq)]
struct Numbers {
    toc: HashMap<String, usize>,
    index: Vec<index::Pages>,
}

/// The handout of one language, rendered, waiting for its page numbers.
struct Handout {
    lang: Lang,
    html_path: PathBuf,
    head: String,
    title_page: String,
    pages: Vec<RenderedPage>,
    index: Vec<IndexEntry>,
}

impl Handout {
    /// Renders every page of the book in `lang` and reads the index
    /// terms from its glossary.
    fn load(
        root: &Path,
        out: &Path,
        lang: Lang,
        registry: &Registry,
    ) -> Result<Handout> {
        let pages = load_pages(root, lang, registry)?;
        let slugs: HashMap<PathBuf, String> = pages
            .iter()
            .map(|p| (p.path.clone(), p.slug.clone()))
            .collect();

        let web = out.join(lang.code());
        let fonts_css = find_file(&web.join("fonts"), "fonts-", ".css")?;
        let katex_css =
            find_file(&web.join(KATEX_THEME), "katex-", ".min.css")?;
        let rel =
            |p: &Path| format!("../{}", p.strip_prefix(out).unwrap().display());
        let title = lang.pick(
            "Theorie (Mathematik) hinter Generativer KI",
            "The Mathematics behind Generative AI",
        );
        let head = format!(
            "<!DOCTYPE html>\n<html lang=\"{code}\">\n<head>\n<meta charset=\"utf-8\">\n\
             <title>{title}</title>\n\
             <link rel=\"stylesheet\" href=\"{fonts}\">\n\
             <link rel=\"stylesheet\" href=\"{katex}\">\n\
             <link rel=\"stylesheet\" href=\"handout.css\">\n\
             </head>\n<body>\n",
            code = lang.code(),
            fonts = rel(&fonts_css),
            katex = rel(&katex_css),
        );

        let rendered: Vec<RenderedPage> = pages
            .iter()
            .map(|page| {
                let (html, headings) = render_markdown(page, &slugs);
                let title_id = headings.first().map_or_else(
                    || format!("page-{}", page.slug),
                    |h| h.id.clone(),
                );
                RenderedPage {
                    slug: page.slug.clone(),
                    number: page.number.clone(),
                    title: page.title.clone(),
                    depth: page.depth,
                    html,
                    title_id,
                    headings,
                    glossary: is_glossary(&page.path),
                    exercises: page
                        .path
                        .file_name()
                        .is_some_and(|n| n == crate::exercises::PAGE),
                }
            })
            .collect();

        let mut index = Vec::new();
        if let Some(glossary) = pages.iter().find(|p| is_glossary(&p.path)) {
            for term in index::glossary_terms(&glossary.markdown, lang) {
                let regex = index::term_regex(&term.forms, lang);
                let main = defining_section(
                    &term, &regex, glossary, &slugs, &rendered,
                );
                index.push(IndexEntry { term, regex, main });
            }
        }
        Ok(Handout {
            lang,
            html_path: out
                .join("pdf")
                .join(format!("handout-{}.html", lang.code())),
            head,
            title_page: title_page(root, lang),
            pages: rendered,
            index,
        })
    }

    /// Prints the handout to `pdf` until its page numbers are those of
    /// the PDF: the first printing has none, each next one those read
    /// from the printing before. Numbers that do not move the text (the
    /// contents fit on their page; the index comes last) settle after two
    /// printings.
    fn print(&self, chromium: &Path, pdf: &Path) -> Result<()> {
        let mut numbers = Numbers::default();
        for _ in 0..MAX_PRINTINGS {
            fs::write(&self.html_path, self.html(&numbers))?;
            print_pdf(chromium, &self.html_path, pdf)?;
            let printed = self.numbers(&index::Layout::read(pdf)?)?;
            if printed == numbers {
                return Ok(());
            }
            numbers = printed;
        }
        bail!(
            "the page numbers of {} did not settle after {MAX_PRINTINGS} \
             printings",
            pdf.display()
        )
    }

    /// The handout's HTML with `numbers` filled in.
    fn html(&self, numbers: &Numbers) -> String {
        let mut html = self.head.clone();
        html.push_str(&self.title_page);
        html.push_str(&self.table_of_contents(numbers));
        for page in &self.pages {
            let class = if page.depth == 1 {
                "page chapter"
            } else {
                "page"
            };
            html.push_str(&format!(
                "<section class=\"{class}\" id=\"page-{}\">\n",
                page.slug
            ));
            // The handout leaves the solutions to the booklet.
            html.push_str(&without_solutions(&page.html, self.lang));
            html.push_str("</section>\n");
        }
        html.push_str(&self.index_html(numbers));
        html.push_str("</body>\n</html>\n");
        html
    }

    /// Prints the solutions booklet `solutions-<lang>.pdf` into
    /// `pdf_dir`: a title page and every exercise page, solutions open.
    fn print_solutions(
        &self,
        chromium: &Path,
        pdf_dir: &Path,
    ) -> Result<PathBuf> {
        let code = self.lang.code();
        let html_path = pdf_dir.join(format!("solutions-{code}.html"));
        let pdf = pdf_dir.join(format!("solutions-{code}.pdf"));
        let mut html = self.head.clone();
        html.push_str(&format!(
            "<section class=\"title-page\">\n<p class=\"title\">{}</p>\n\
             <p class=\"subtitle\">{}</p>\n</section>\n",
            self.lang
                .pick("Lösungen zu den Aufgaben", "Solutions to the exercises"),
            self.lang.pick(
                "Theorie (Mathematik) hinter Generativer KI",
                "The Mathematics behind Generative AI"
            ),
        ));
        for page in self.pages.iter().filter(|p| p.exercises) {
            html.push_str(&format!(
                "<section class=\"page chapter\" id=\"page-{}\">\n",
                page.slug
            ));
            html.push_str(&page.html.replace(SOLUTION_OPEN, SOLUTION_OPENED));
            html.push_str("</section>\n");
        }
        html.push_str("</body>\n</html>\n");
        fs::write(&html_path, unlink_missing(&html))?;
        print_pdf(chromium, &html_path, &pdf)?;
        Ok(pdf)
    }

    fn table_of_contents(&self, numbers: &Numbers) -> String {
        let mut toc = format!(
            "<nav class=\"toc\">\n<h1 class=\"toc-title\">{}</h1>\n<ul>\n",
            self.lang.pick("Inhalt", "Contents")
        );
        let entries = self
            .pages
            .iter()
            .map(|p| {
                (p.depth, p.number.as_deref(), p.title.as_str(), &*p.title_id)
            })
            .chain([(1, None, index_title(self.lang), INDEX_ID)]);
        for (depth, number, title, id) in entries {
            let number = number.map_or(String::new(), |n| {
                format!("<span class=\"toc-number\">{n}</span>")
            });
            let page =
                numbers.toc.get(id).map_or(String::new(), usize::to_string);
            toc.push_str(&format!(
                "<li class=\"toc-depth-{depth}\"><a href=\"#{id}\">{number}\
                 <span class=\"toc-title\">{}</span>\
                 <span class=\"toc-leader\"></span>\
                 <span class=\"toc-page\">{page}</span></a></li>\n",
                escape(title)
            ));
        }
        toc.push_str("</ul>\n</nav>\n");
        toc
    }

    /// The index: entries under their initial letter, each with its pages;
    /// the page of the defining section in bold, linked to it.
    fn index_html(&self, numbers: &Numbers) -> String {
        let mut html = format!(
            "<section class=\"page chapter index\">\n<h1 id=\"{INDEX_ID}\">{}</h1>\n\
             <div class=\"index-columns\">\n",
            index_title(self.lang)
        );
        let mut letter = None;
        for (i, entry) in self.index.iter().enumerate() {
            // The first printing has no numbers yet; later ones leave out
            // a term that occurs nowhere.
            let pages = numbers.index.get(i);
            if pages.is_some_and(index::Pages::is_empty) {
                continue;
            }
            let initial = index::initial(&entry.term.label);
            if letter != Some(initial) {
                letter = Some(initial);
                html.push_str(&format!(
                    "<div class=\"index-letter\">{initial}</div>\n"
                ));
            }
            let mut items: Vec<(usize, String)> = Vec::new();
            let main = pages.and_then(|p| p.main);
            if let Some(id) = &entry.main {
                // Placeholder in the first printing: the link must exist
                // for the PDF to say where its target is.
                let n = main.map_or("0".to_string(), |n| n.to_string());
                items.push((
                    main.unwrap_or(0),
                    format!("<a href=\"#{id}\"><strong>{n}</strong></a>"),
                ));
            }
            for &(a, b) in pages.map_or(&[][..], |p| &p.ranges) {
                let text = if a == b {
                    a.to_string()
                } else {
                    format!("{a}–{b}")
                };
                items.push((a, text));
            }
            items.sort_by_key(|(p, _)| *p);
            let list: Vec<String> = items.into_iter().map(|(_, t)| t).collect();
            let all = pages.map_or(Vec::new(), index::Pages::all);
            html.push_str(&format!(
                "<p class=\"index-entry\" data-forms=\"{forms}\" data-pages=\"{all}\" \
                 data-main=\"{main}\">{label}<span class=\"index-pages\"> {list}</span></p>\n",
                forms = escape(&entry.term.forms.join("|")).replace('"', "&quot;"),
                all = all
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(" "),
                main = main.map_or(String::new(), |n| n.to_string()),
                label = escape(&entry.term.label),
                list = list.join(", "),
            ));
        }
        html.push_str("</div>\n</section>\n");
        html
    }

    /// Reads the page numbers from a printed PDF.
    fn numbers(&self, layout: &index::Layout) -> Result<Numbers> {
        let page_of = |id: &str| {
            layout.dests.get(id).copied().with_context(|| {
                format!("the printed handout has no link target {id:?}")
            })
        };
        let mut toc = HashMap::new();
        for page in &self.pages {
            toc.insert(page.title_id.clone(), page_of(&page.title_id)?);
        }
        let index_start = page_of(INDEX_ID)?;
        toc.insert(INDEX_ID.to_string(), index_start);

        // Terms are searched on the pages of the book, not on the
        // glossary's (which lists them all).
        let first = self.pages.first().map_or(1, |p| toc[&p.title_id]);
        let starts: Vec<usize> =
            self.pages.iter().map(|p| toc[&p.title_id]).collect();
        let mut skipped = Vec::new();
        for (i, page) in self.pages.iter().enumerate() {
            if page.glossary {
                let end = starts.get(i + 1).map_or(index_start, |&s| s);
                skipped.push(starts[i]..end);
            }
        }
        let searched: Vec<usize> = (first..index_start)
            .filter(|p| !skipped.iter().any(|r| r.contains(p)))
            .collect();

        let mut pages = Vec::new();
        for entry in &self.index {
            let main = match &entry.main {
                Some(id) => Some(page_of(id)?),
                None => None,
            };
            pages.push(index::Pages::find(
                &entry.regex,
                layout,
                &searched,
                main,
            ));
        }
        Ok(Numbers { toc, index: pages })
    }
}

fn is_glossary(path: &Path) -> bool {
    path == Path::new("glossary.md")
}

/// The id of the section where an index term is defined: the glossary
/// row's first link into the handout, else the first heading (level 1
/// or 2) that names the term, else none.
fn defining_section(
    term: &index::Term,
    regex: &Regex,
    glossary: &HandoutPage,
    slugs: &HashMap<PathBuf, String>,
    pages: &[RenderedPage],
) -> Option<String> {
    let ids: HashSet<&str> = pages
        .iter()
        .flat_map(|p| p.headings.iter().map(|h| h.id.as_str()))
        .collect();
    for link in &term.links {
        let target = rewrite_link(link, &glossary.path, slugs);
        let Some(id) = target.strip_prefix('#') else {
            continue;
        };
        if let Some(slug) = id.strip_prefix("page-") {
            // A link to a page means the page's title.
            let prefix = format!("{slug}--");
            if let Some(page) =
                pages.iter().find(|p| p.title_id.starts_with(&prefix))
            {
                return Some(page.title_id.clone());
            }
        } else if ids.contains(id)
            || ["eq-", "lst-", "fig-"].iter().any(|p| id.starts_with(p))
        {
            return Some(id.to_string());
        }
    }
    pages
        .iter()
        .filter(|p| !p.glossary)
        .flat_map(|p| &p.headings)
        .find(|h| regex.is_match(&h.text))
        .map(|h| h.id.clone())
}

/// Every page of the book in `lang`, preprocessed.
fn load_pages(
    root: &Path,
    lang: Lang,
    registry: &Registry,
) -> Result<Vec<HandoutPage>> {
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
    Ok(book
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
        .collect())
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

/// How a solution block starts in the rendered HTML of a page.
const SOLUTION_OPEN: &str = "<details class=\"solution\">";
/// The same block, opened (in the solutions booklet).
const SOLUTION_OPENED: &str = "<details class=\"solution\" open>";

/// `html` with every link to an id it does not hold (a formula of the
/// handout, referred to from the booklet) turned into plain text.
fn unlink_missing(html: &str) -> String {
    static ID: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"\sid="([^"]+)""#).unwrap());
    static LINK: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r##"(?s)<a\s[^>]*href="#([^"]+)"[^>]*>(.*?)</a>"##).unwrap()
    });
    let ids: HashSet<&str> = ID
        .captures_iter(html)
        .map(|c| c.get(1).unwrap().as_str())
        .collect();
    LINK.replace_all(html, |c: &regex::Captures| {
        if ids.contains(&c[1]) {
            c[0].to_string()
        } else {
            format!("<span class=\"xref\">{}</span>", &c[2])
        }
    })
    .into_owned()
}

/// `html` with every solution block (`<details class="solution">` …
/// `</details>`) replaced by a note that the booklet has it.
pub fn without_solutions(html: &str, lang: Lang) -> String {
    static BLOCK: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"(?s)<details class="solution">.*?</details>"#).unwrap()
    });
    let note = format!(
        "<p class=\"solution-elsewhere\">{}</p>",
        lang.pick(
            "Die Lösung steht im Lösungsheft.",
            "The solution is in the solutions booklet."
        )
    );
    BLOCK.replace_all(html, note.as_str()).into_owned()
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
/// pages turned into links inside the document. Returns the HTML and the
/// headings of level 1 and 2.
fn render_markdown(
    page: &HandoutPage,
    slugs: &HashMap<PathBuf, String>,
) -> (String, Vec<Heading>) {
    let mut headings = Vec::new();
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
                if *level <= HeadingLevel::H2 {
                    headings.push(Heading {
                        id: id.clone(),
                        text: text.clone(),
                    });
                }
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
    (html, headings)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handout_leaves_out_solutions_and_says_where_they_are() {
        let html = "<p>Task.</p>\n<details class=\"solution\">\n\
                    <summary>Lösung</summary>\n<p>Secret 42.</p>\n\
                    </details>\n<p>Next.</p>";
        let out = without_solutions(html, Lang::De);
        assert!(!out.contains("Secret") && !out.contains("<details"));
        assert!(out.contains("Task.") && out.contains("Next."));
        assert!(out.contains("Lösungsheft"));
    }

    #[test]
    fn links_to_ids_outside_the_booklet_become_text() {
        let html = "<h2 id=\"a\">A</h2><a href=\"#a\">here</a> \
                    <a class=\"eq-ref\" href=\"#eq-x\">(1.2)</a>";
        let out = unlink_missing(html);
        assert!(out.contains("<a href=\"#a\">here</a>"));
        assert!(out.contains("<span class=\"xref\">(1.2)</span>"));
        assert!(!out.contains("#eq-x"));
    }
}
