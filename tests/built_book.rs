//! The built book: both languages, rendered math, numbered formulas with
//! their listings, figures in the page's language, working links, nothing
//! loaded from another host.

use std::path::Path;

use genai_book::{assert_no_problems, build_into_temp, read};
use scraper::{Html, Selector};

fn select<'a>(doc: &'a Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
    doc.select(&Selector::parse(css).unwrap()).collect()
}

fn text(el: &scraper::ElementRef) -> String {
    el.text().collect()
}

#[test]
fn the_book_builds_in_both_languages_and_passes_its_checks() {
    // build_book refuses broken links and remote resources itself (see
    // tests/bad_input.rs); the heading levels are checked here.
    let (_dir, out) = build_into_temp();
    assert_no_problems("page structure", &xtask::checks::page_structure(&out));

    let index = read(&out.join("index.html"));
    assert!(index.contains("url=de/index.html"), "index leads to German");
    assert!(
        index.contains("href=\"en/index.html\""),
        "index offers English"
    );

    for (lang, other, labels) in [
        (
            "de",
            "en",
            ["Temperatur T", "Wahrscheinlichkeit", "Abbildung 1.3"],
        ),
        ("en", "de", ["temperature T", "probability", "Figure 1.3"]),
    ] {
        let page = out.join(lang).join("ch01/softmax.html");
        let html = read(&page);
        let doc = Html::parse_document(&html);
        assert_eq!(
            select(&doc, "html")[0].value().attr("lang"),
            Some(lang),
            "{lang}: html lang"
        );
        // The formula is rendered by KaTeX, numbered, and links to its
        // listing on the same page.
        let formula = &select(&doc, "#eq-softmax")[0];
        assert!(!select(&doc, "#eq-softmax .katex-display").is_empty());
        assert!(text(formula).contains("(1.15)"), "{lang}: number (1.15)");
        let link = &select(&doc, "#eq-softmax .formula-source a")[0];
        assert_eq!(link.value().attr("href"), Some("#lst-softmax"));
        // The listing shows the code between the anchors.
        let listing = text(&select(&doc, "#lst-softmax")[0]);
        assert!(listing.contains("pub fn softmax<T: Real>"), "{lang}");
        assert!(!listing.contains("ANCHOR"), "{lang}: anchor lines hidden");
        // The figure is an inline SVG with a text alternative and labels
        // in the page's language.
        let figure = &select(&doc, "#fig-softmax_temperature")[0];
        assert!(!select(&doc, "#fig-softmax_temperature svg title").is_empty());
        let figure_text = text(figure);
        for label in labels {
            assert!(
                figure_text.contains(label),
                "{lang}: figure lacks {label:?}"
            );
        }
        // No formula was left unrendered or rendered as an error.
        assert!(!html.contains("katex-error"), "{lang}: KaTeX error");
        assert!(!html.contains("$$"), "{lang}: unrendered $$");
        // The notes for programmers are an aside under its label, and the
        // heading, list and math inside it are rendered.
        let label = match lang {
            "de" => "Für Programmierende",
            _ => "For programmers",
        };
        let aside = &select(&doc, ".aside.programmers")[0];
        assert_eq!(
            text(&select(&doc, ".aside.programmers > .aside-label")[0]),
            label
        );
        assert!(
            !select(&doc, ".aside.programmers > h2").is_empty(),
            "{lang}"
        );
        assert!(
            !select(&doc, ".aside.programmers li strong").is_empty(),
            "{lang}"
        );
        assert!(
            !select(&doc, ".aside.programmers .katex").is_empty(),
            "{lang}"
        );
        assert!(
            !text(aside).contains('$'),
            "{lang}: unrendered math in aside"
        );
        // The KaTeX stylesheet is the book's own.
        assert!(html.contains("theme/katex/katex"), "{lang}: KaTeX CSS");
        // The language switch leads to the same page in the other language.
        let switch = &select(&doc, ".lang-switch a")[0];
        let href = switch.value().attr("href").unwrap();
        let target = page.parent().unwrap().join(href);
        assert_eq!(
            target.canonicalize().unwrap(),
            out.join(other)
                .join("ch01/softmax.html")
                .canonicalize()
                .unwrap()
        );
    }
    assert_every_page_switches_language(&out);
}

/// Every page of each language has a switch to the same path in the other.
fn assert_every_page_switches_language(out: &Path) {
    for lang in ["de", "en"] {
        for page in [
            "introduction",
            "notation",
            "ch01/index",
            "ch01/softmax",
            "glossary",
        ] {
            let file = out.join(lang).join(format!("{page}.html"));
            let doc = Html::parse_document(&read(&file));
            let switches = select(&doc, ".lang-switch a");
            assert_eq!(switches.len(), 1, "{}", file.display());
            let href = switches[0].value().attr("href").unwrap();
            assert!(href.ends_with(&format!("/{page}.html")), "{href}");
        }
    }
}

#[test]
fn two_builds_give_identical_figures() {
    for figure in xtask::figures::all() {
        for lang in xtask::lang::Lang::ALL {
            let a = (figure.draw)(lang).unwrap();
            let b = (figure.draw)(lang).unwrap();
            assert!(a.starts_with("<svg"), "{}: not an SVG", figure.id);
            assert_eq!(a, b, "figure {} differs between two draws", figure.id);
        }
    }
}
