//! The course handouts: A4, every chapter title and formula number, no
//! KaTeX error, every font embedded, a sane number of pages.
//!
//! Needs Chromium and poppler-utils (`apt-get install chromium
//! poppler-utils`). Without them the test says so and is skipped, except
//! under CI (`CI` set), where `.ci/run` installs them and a missing tool
//! is a failure.

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
    if !missing.is_empty() {
        let msg = format!(
            "handout test needs {}: apt-get install chromium poppler-utils",
            missing.join(" and ")
        );
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        eprintln!("SKIPPED: {msg}");
        return;
    }

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
