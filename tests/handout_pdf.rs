//! The course handouts: A4, every chapter title and formula number, no
//! KaTeX error, every font embedded, a sane number of pages, no page left
//! less than half full in the middle of a chapter, and the page numbers of
//! the contents and the index as the PDF has them. The handouts leave out
//! the exercises' solutions; the solutions booklets hold them.
//!
//! Needs Chromium and poppler-utils (`apt-get install chromium
//! poppler-utils`), so it is ignored by a plain `cargo test` and run by
//! `cargo test -- --include-ignored` (as `.ci/run` does), where a missing
//! tool is a failure that names the package.

use std::process::Command;

use genai_book::root;
use xtask::lang::Lang;

fn has(tool: &str) -> bool {
    Command::new(tool).arg("-v").output().is_ok()
}

fn run(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool}: {e}"));
    assert!(out.status.success(), "{tool} {args:?} failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[ignore = "needs chromium and poppler-utils; apt-get install chromium poppler-utils"]
fn handouts_are_a4_complete_and_embed_all_fonts() {
    let missing: Vec<&str> = [
        ("chromium", xtask::handout::find_chromium().is_some()),
        (
            "poppler-utils",
            has("pdftotext") && has("pdffonts") && has("pdfinfo"),
        ),
    ]
    .into_iter()
    .filter(|(_, present)| !present)
    .map(|(name, _)| name)
    .collect();
    assert!(
        missing.is_empty(),
        "handout test needs {}: apt-get install chromium poppler-utils",
        missing.join(" and ")
    );

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("book");
    let pdfs = xtask::handout::build_pdfs(&root(), &out)
        .unwrap_or_else(|e| panic!("{e:#}"));
    // The two handouts, then the two solutions booklets.
    assert_eq!(pdfs.len(), 4);
    for (lang, i) in Lang::ALL.into_iter().zip(0..) {
        check_solutions(lang, &pdfs[i], &pdfs[i + 2], &out);
    }

    for (lang, pdf) in Lang::ALL.into_iter().zip(&pdfs[..2]) {
        let pdf = pdf.to_str().unwrap();
        let info = run("pdfinfo", &[pdf]);
        assert!(info.contains("(A4)"), "{pdf} is not A4:\n{info}");
        let pages: usize = info
            .lines()
            .find_map(|l| l.strip_prefix("Pages:"))
            .and_then(|n| n.trim().parse().ok())
            .expect("pdfinfo gives the page count");

        let book_pages = xtask::checks::load_pages(&root(), lang).unwrap();
        // Title page, contents, at least one page per page of the book; a
        // page of the book that needs more than 30 printed pages would be
        // a layout bug.
        assert!(
            (book_pages.len() + 2..=30 * book_pages.len()).contains(&pages),
            "{pdf}: {pages} pages for {} pages of the book",
            book_pages.len()
        );

        let text = run("pdftotext", &[pdf, "-"]);
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for page in &book_pages {
            assert!(text.contains(&page.title), "{pdf} lacks {:?}", page.title);
        }
        let registry = xtask::registry::Registry::load(&root()).unwrap();
        let numbers =
            xtask::preprocess::number(&root(), lang, &registry, &book_pages)
                .unwrap();
        for (id, target) in &numbers.formulas {
            let number = format!("({})", target.number);
            assert!(
                text.contains(&number),
                "{pdf} lacks formula {id} {number}"
            );
        }
        for bad in ["KaTeX parse error", "ParseError", "$$"] {
            assert!(!text.contains(bad), "{pdf} contains {bad:?}");
        }
        // Navigation of the web book stays out of the handout.
        let html = genai_book::read(
            &out.join(format!("pdf/handout-{}.html", lang.code())),
        );
        for nav in ["lang-switch", "sidebar", "menu-bar", "nav-chapters"] {
            assert!(!html.contains(nav), "handout HTML contains {nav}");
        }

        check_page_numbers(lang, pdf, &out, &book_pages);

        let short = half_empty_pages(pdf, pages, &book_pages);
        assert!(
            short.is_empty(),
            "{pdf}: pages less than half full in mid-chapter: {short:?}"
        );

        let fonts = run("pdffonts", &[pdf]);
        let rows: Vec<&str> = fonts.lines().skip(2).collect();
        assert!(!rows.is_empty(), "{pdf} has no fonts");
        for row in rows {
            // Columns: name type encoding emb sub uni object ID; the type
            // may hold a space ("CID TrueType"), so read from the right.
            let cols: Vec<&str> = row.split_whitespace().collect();
            let emb = cols[cols.len() - 5];
            assert_eq!(emb, "yes", "{pdf}: font not embedded: {row}");
        }
    }
}

/// Text of a PDF or HTML reduced to its lower-case letters: line breaks,
/// hyphenation and spacing differ between the two.
fn letters(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphabetic())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The solutions in the booklet's HTML (`details.solution`): their
/// number, the pieces of running text between formulas and code (as
/// [`letters`], at least 40 letters, so that they occur nowhere else), and
/// the paragraphs and list items without a formula, whose text
/// `pdftotext` gives in order (it reorders the text around KaTeX's
/// positioned boxes).
fn solution_texts(html: &str) -> (usize, Vec<String>, Vec<String>) {
    use scraper::{CaseSensitivity::CaseSensitive, ElementRef, Html, Node};
    let doc = Html::parse_document(html);
    let sel = |s: &str| scraper::Selector::parse(s).unwrap();
    let is_math =
        |e: &scraper::node::Element| e.has_class("katex", CaseSensitive);
    let mut runs = Vec::new();
    let mut plain = Vec::new();
    let blocks: Vec<ElementRef> =
        doc.select(&sel("details.solution")).collect();
    for block in &blocks {
        let mut run = String::new();
        for node in block.descendants() {
            let skipped = node.ancestors().any(|a| {
                a.value().as_element().is_some_and(|e| {
                    is_math(e) || e.name() == "pre" || e.name() == "summary"
                })
            });
            match node.value() {
                Node::Text(t) if !skipped => run.push_str(t),
                Node::Element(e)
                    if is_math(e) || ["pre", "p", "li"].contains(&e.name()) =>
                {
                    runs.push(letters(&run));
                    run.clear();
                }
                _ => {}
            }
        }
        runs.push(letters(&run));
        for para in block.select(&sel("p, li")) {
            let has_math = para.select(&sel(".katex, p, li")).next().is_some();
            if !has_math {
                plain.push(letters(&para.text().collect::<String>()));
            }
        }
    }
    runs.retain(|p| p.chars().count() >= 40);
    plain.retain(|p| p.chars().count() >= 40);
    (blocks.len(), runs, plain)
}

/// The handout of `lang` holds no solution, its solutions booklet every
/// one.
fn check_solutions(
    lang: Lang,
    handout: &std::path::Path,
    booklet: &std::path::Path,
    out: &std::path::Path,
) {
    let code = lang.code();
    assert!(
        booklet.ends_with(format!("solutions-{code}.pdf")),
        "{} is not the solutions booklet of {code}",
        booklet.display()
    );
    // As many solutions, all open, as the exercise pages have.
    let sources: usize = xtask::checks::load_pages(&root(), lang)
        .unwrap()
        .iter()
        .filter(|p| p.path.ends_with("exercises.md"))
        .map(|p| p.content.matches("<details class=\"solution\">").count())
        .sum();
    let html =
        genai_book::read(&out.join(format!("pdf/solutions-{code}.html")));
    let (blocks, runs, plain) = solution_texts(&html);
    assert_eq!(blocks, sources, "solutions-{code}.html: solution blocks");
    assert!(sources > 0, "no solutions in the {code} exercise pages");
    assert_eq!(
        html.matches("<details class=\"solution\" open>").count(),
        sources,
        "solutions-{code}.html: every solution is open"
    );
    let handout_html =
        genai_book::read(&out.join(format!("pdf/handout-{code}.html")));
    assert!(
        !handout_html.contains("<details"),
        "handout-{code}.html contains a solution block"
    );
    assert!(!runs.is_empty() && !plain.is_empty());
    let handout_text =
        letters(&run("pdftotext", &[handout.to_str().unwrap(), "-"]));
    let booklet_text =
        letters(&run("pdftotext", &[booklet.to_str().unwrap(), "-"]));
    for text in &runs {
        assert!(
            !handout_text.contains(text.as_str()),
            "handout-{code}.pdf contains solution text {text:?}"
        );
    }
    for text in &plain {
        assert!(
            booklet_text.contains(text.as_str()),
            "solutions-{code}.pdf lacks solution text {text:?}"
        );
    }
    // The booklet is only the exercises: far shorter than the handout.
    assert!(booklet_text.len() * 3 < handout_text.len());
}

/// How far down the text area a page must be filled: a page less full
/// than this is "half empty".
const MIN_FILL: f64 = 0.5;
/// The handout's page margins (theme/handout.css, `@page`) in mm: the
/// text area is measured between them, so the page number in the bottom
/// margin does not count.
const PAGE_MM: f64 = 297.0;
const TOP_MM: f64 = 22.0;
const BOTTOM_MM: f64 = 24.0;
/// A row of the rendered page holds print when one of its pixels is
/// darker than this (0 black, 255 white; light grey backgrounds of
/// listings count).
const INK: u8 = 250;

/// The pages (1-based) of `pdf` that are filled less than [`MIN_FILL`]
/// and are not allowed to be: allowed are the title page and contents,
/// the page before a chapter starts (a chapter starts on a new page), and
/// the last page. Each page is rendered by `pdftoppm` at 24 dpi in grey,
/// and its fill is the lowest row with print, as a fraction of the text
/// area.
fn half_empty_pages(
    pdf: &str,
    pages: usize,
    book_pages: &[xtask::preprocess::Page],
) -> Vec<(usize, String)> {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("p");
    run(
        "pdftoppm",
        &["-r", "24", "-gray", pdf, prefix.to_str().unwrap()],
    );
    let mut images: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    images.sort();
    assert_eq!(images.len(), pages, "pdftoppm gave one image per page");

    // A chapter (a page of the book at the top level of SUMMARY.md) starts
    // on a new page, whose first line is its title.
    let chapters: Vec<&str> = book_pages
        .iter()
        .filter(|p| {
            p.path.parent().is_none_or(|d| d.as_os_str().is_empty())
                || p.path.file_name().is_some_and(|n| n == "index.md")
        })
        .map(|p| p.title.as_str())
        // The index, after the glossary, starts on a new page too.
        .chain(Lang::ALL.map(xtask::handout::index_title))
        .collect();
    let starts_chapter = |page: usize| {
        let p = page.to_string();
        let text = run("pdftotext", &["-f", &p, "-l", &p, pdf, "-"]);
        let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        let first = first.split_whitespace().collect::<Vec<_>>().join(" ");
        chapters.iter().any(|t| first.ends_with(t))
    };
    let starts: Vec<bool> = (1..=pages).map(starts_chapter).collect();
    let first_chapter = starts.iter().position(|&s| s).unwrap_or(0) + 1;

    let mut short = Vec::new();
    for (i, image) in images.iter().enumerate() {
        let page = i + 1;
        let allowed = page < first_chapter
            || page == pages
            || starts.get(page).copied().unwrap_or(false);
        if allowed {
            continue;
        }
        let fill = fill_of(&std::fs::read(image).unwrap());
        if fill < MIN_FILL {
            short.push((page, format!("{:.0} % full", fill * 100.0)));
        }
    }
    short
}

/// How far down the text area a page in binary PGM (`P5`) has print.
fn fill_of(pgm: &[u8]) -> f64 {
    // Header: "P5", width, height, maximum value, each followed by
    // whitespace, then one byte per pixel.
    let mut fields = Vec::new();
    let mut pos = 0;
    while fields.len() < 4 {
        while pgm[pos].is_ascii_whitespace() {
            pos += 1;
        }
        let start = pos;
        while !pgm[pos].is_ascii_whitespace() {
            pos += 1;
        }
        fields.push(std::str::from_utf8(&pgm[start..pos]).unwrap());
    }
    assert_eq!(fields[0], "P5", "pdftoppm -gray writes binary PGM");
    let width: usize = fields[1].parse().unwrap();
    let height: usize = fields[2].parse().unwrap();
    let pixels = &pgm[pos + 1..];
    let px_per_mm = height as f64 / PAGE_MM;
    let top = (TOP_MM * px_per_mm) as usize;
    let bottom = height - (BOTTOM_MM * px_per_mm) as usize;
    let has_ink =
        |y: usize| pixels[y * width..(y + 1) * width].iter().any(|&v| v < INK);
    let last = (top..bottom).rev().find(|&y| has_ink(y)).unwrap_or(top);
    (last - top) as f64 / (bottom - top) as f64
}

#[test]
fn the_fill_of_a_page_is_read_from_its_image() {
    // 10 × 100 pixels of A4 proportions: a text area from row 7 to row 91.
    let (w, h) = (10, 100);
    let mut pgm = format!("P5\n{w} {h}\n255\n").into_bytes();
    let mut pixels = vec![255u8; w * h];
    pixels[50 * w + 3] = 0; // print in row 50
    pixels[95 * w + 5] = 0; // the page number, below the text area
    pgm.extend(&pixels);
    let fill = fill_of(&pgm);
    let top = (TOP_MM * h as f64 / PAGE_MM) as usize;
    let bottom = h - (BOTTOM_MM * h as f64 / PAGE_MM) as usize;
    let expected = (50 - top) as f64 / (bottom - top) as f64;
    assert!((fill - expected).abs() < 1e-12, "{fill} vs {expected}");
    assert!(fill > 0.4 && fill < 0.6);
}

/// The text of every page of `pdf` (index 0 is page 1) as `pdftotext
/// -layout` reads it (line by line as printed), whitespace collapsed and
/// words broken at a hyphen joined again.
fn page_texts(pdf: &str) -> Vec<String> {
    let broken = regex::Regex::new(r"(\p{L})-\s+(\p{L})").unwrap();
    let text = run("pdftotext", &["-layout", "-enc", "UTF-8", pdf, "-"]);
    let mut pages: Vec<String> = text
        .split('\x0c')
        .map(|p| {
            let p = p.split_whitespace().collect::<Vec<_>>().join(" ");
            broken.replace_all(&p, "$1-$2").into_owned()
        })
        .collect();
    pages.pop(); // after the last form feed
    pages
}

fn unescape(html: &str) -> String {
    html.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The table of contents and the index give the pages on which things
/// are printed: every entry of the contents, as the PDF prints it, names
/// the page where its heading is printed and no earlier page after the
/// contents; every page an index entry lists holds the term, and its page
/// in bold is the page of a heading.
fn check_page_numbers(
    lang: Lang,
    pdf: &str,
    out: &std::path::Path,
    book_pages: &[xtask::preprocess::Page],
) {
    let texts = page_texts(pdf);
    let html = genai_book::read(
        &out.join(format!("pdf/handout-{}.html", lang.code())),
    );
    let tags = regex::Regex::new(r"<[^>]*>").unwrap();
    let plain = |s: &str| {
        let s = unescape(&tags.replace_all(s, ""));
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    };

    // The contents, as the HTML has them: number, title, page.
    let toc_entry = regex::Regex::new(
        "<li class=\"toc-depth-\\d\"><a href=\"#([^\"]*)\">\
         (?:<span class=\"toc-number\">([^<]*)</span>)?\
         <span class=\"toc-title\">([^<]*)</span>\
         <span class=\"toc-leader\"></span>\
         <span class=\"toc-page\">(\\d+)</span>",
    )
    .unwrap();
    let toc: Vec<(String, String, usize)> = toc_entry
        .captures_iter(&html)
        .map(|c| {
            let number = c.get(2).map_or("", |m| m.as_str()).to_string();
            (number, unescape(&c[3]), c[4].parse().unwrap())
        })
        .collect();
    assert_eq!(
        toc.len(),
        book_pages.len() + 1,
        "{pdf}: the contents list every page of the book and the index"
    );
    let contents_page = 1 + texts
        .iter()
        .position(|t| t.starts_with(lang.pick("Inhalt", "Contents")))
        .expect("a page of contents");
    // The contents may take more than one page: they end where the first
    // page they list begins.
    let first_listed = toc.iter().map(|(_, _, p)| *p).min().unwrap();
    assert!(
        first_listed > contents_page,
        "{pdf}: the contents list a page before them"
    );
    let contents = texts[contents_page - 1..first_listed - 1].join(" ");
    let mut last = contents_page;
    for (number, title, page) in &toc {
        // As printed: number, title, page number.
        let line = format!("{number} {title} {page}");
        assert!(
            contents.contains(line.trim()),
            "{pdf}: the contents do not print {line:?}"
        );
        // The heading as printed: number and title.
        let heading = format!("{number} {title}");
        let heading = heading.trim();
        let found = |p: usize| texts[p - 1].contains(heading);
        assert!(
            *page >= last && *page <= texts.len() && found(*page),
            "{pdf}: the contents put {heading:?} on page {page}, which does \
             not show it"
        );
        if !number.is_empty() {
            let earlier: Vec<usize> =
                (contents_page + 1..*page).filter(|&p| found(p)).collect();
            assert!(
                earlier.is_empty(),
                "{pdf}: {heading:?} is printed on page(s) {earlier:?}, before \
                 page {page} that the contents give"
            );
        }
        last = *page;
    }
    let index_title = xtask::handout::index_title(lang);
    let (_, _, index_page) =
        toc.iter().find(|(_, t, _)| t == index_title).unwrap();
    assert!(texts[index_page - 1].starts_with(index_title));

    // The index, as the HTML has it: forms searched, pages, bold page.
    let index_entry = regex::Regex::new(
        "<p class=\"index-entry\" data-forms=\"([^\"]*)\" \
         data-pages=\"([^\"]*)\" data-main=\"([^\"]*)\">(.*?)</p>",
    )
    .unwrap();
    // The index is set in two columns, which `pdftotext` without
    // `-layout` reads one after the other; entries are compared without
    // spaces and hyphens, which it drops or adds where a line breaks.
    let canonical = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect()
    };
    let first = index_page.to_string();
    let index_text = canonical(&run(
        "pdftotext",
        &["-enc", "UTF-8", "-f", &first, pdf, "-"],
    ));
    let main_link =
        regex::Regex::new("<a href=\"#([^\"]*)\"><strong>").unwrap();
    // `pdfinfo -dests`: page, destination, then the name in quotes.
    let dests: std::collections::HashMap<String, usize> =
        run("pdfinfo", &["-dests", pdf])
            .lines()
            .filter_map(|l| {
                let page = l.split_whitespace().next()?.parse().ok()?;
                let name = l.rsplit_once('"')?.0.rsplit_once('"')?.1;
                Some((name.to_string(), page))
            })
            .collect();
    let mut entries = 0;
    let mut with_main = 0;
    for c in index_entry.captures_iter(&html) {
        entries += 1;
        let forms: Vec<String> =
            unescape(&c[1]).split('|').map(str::to_lowercase).collect();
        let pages: Vec<usize> = c[2]
            .split_whitespace()
            .map(|p| p.parse().unwrap())
            .collect();
        let main: Option<usize> = c[3].parse().ok();
        let printed = plain(&c[4]);
        assert!(
            !pages.is_empty(),
            "{pdf}: index entry {printed:?} has no page"
        );
        assert!(
            index_text.contains(&canonical(&printed)),
            "{pdf}: the index does not print {printed:?}"
        );
        for &p in &pages {
            assert!(p < *index_page, "{pdf}: {printed:?} lists page {p}");
            if Some(p) == main {
                continue;
            }
            // Every word of one of the term's forms, endings aside.
            let text = texts[p - 1].to_lowercase();
            assert!(
                forms
                    .iter()
                    .any(|f| f.split_whitespace().all(|w| text.contains(w))),
                "{pdf}: index entry {printed:?} lists page {p}, which does \
                 not contain {forms:?}"
            );
        }
        if let Some(main) = main {
            // The bold page links to the defining section, and the PDF
            // puts that link's target on that page.
            with_main += 1;
            let id = &main_link.captures(&c[4]).unwrap()[1];
            assert_eq!(
                dests.get(&percent_encode(id)),
                Some(&main),
                "{pdf}: {printed:?} gives page {main} for #{id}"
            );
        }
    }
    // The glossary has some seventy rows; most name a section.
    assert!(entries >= 50, "{pdf}: only {entries} index entries");
    assert!(with_main >= 20, "{pdf}: only {with_main} defining pages");

    // "On which page does layer normalization start?": the contents give
    // the page of its section, and the index's bold page for it (where the
    // glossary's link points: its formula) lies in that section.
    let (term, section) = match lang {
        Lang::De => (
            "Layer-Normalisierung",
            "Residualverbindungen und Layer-Normalisierung",
        ),
        Lang::En => (
            "layer normalization",
            "Residual connections and layer normalization",
        ),
    };
    let at = toc
        .iter()
        .position(|(_, t, _)| t == section)
        .unwrap_or_else(|| panic!("{pdf}: no section {section:?}"));
    let (start, next) = (toc[at].2, toc[at + 1].2);
    let entry = index_entry
        .captures_iter(&html)
        .find(|c| plain(&c[4]).starts_with(&format!("{term} ")))
        .unwrap_or_else(|| panic!("{pdf}: no index entry {term:?}"));
    let bold: usize = entry[3].parse().unwrap();
    assert!(
        (start..=next).contains(&bold),
        "{pdf}: the index's bold page for {term:?} is {bold}, outside its \
         section (pages {start} to {next})"
    );
}

/// An id as Chromium names its PDF destination: UTF-8, percent-encoded
/// beyond ASCII.
fn percent_encode(id: &str) -> String {
    id.bytes()
        .map(|b| {
            if b.is_ascii() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
