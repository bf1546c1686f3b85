//! The course handouts: A4, every chapter title and formula number, no
//! KaTeX error, every font embedded, a sane number of pages, and no page
//! left less than half full in the middle of a chapter.
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
    assert_eq!(pdfs.len(), 2);

    for (lang, pdf) in Lang::ALL.into_iter().zip(&pdfs) {
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
