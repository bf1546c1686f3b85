//! The one Markdown stripper: pieces, their kinds and where they are.

use ch04_language_model::markdown::{Kind, formulas, pieces};

#[test]
fn every_piece_points_at_its_bytes_of_the_page() {
    let page = "# Kopf\n\nEin *Satz* mit $x^2$,\n`code` und <cite lang=\"en\">\
                Layer Norm</cite>.\n";
    for p in pieces(page, false) {
        if matches!(p.kind, Kind::Text | Kind::Math) && p.text.trim() != "" {
            assert_eq!(&page[p.range.clone()], p.text, "{p:?}");
        }
    }
    let math: Vec<_> = pieces(page, false)
        .into_iter()
        .filter(|p| p.kind == Kind::Math)
        .map(|p| p.text)
        .collect();
    assert_eq!(math, ["x^2"]);
    let english: Vec<_> = pieces(page, false)
        .into_iter()
        .filter(|p| p.lang == Some("en") && p.kind == Kind::Text)
        .map(|p| p.text)
        .collect();
    assert_eq!(english, ["Layer Norm"]);
}

#[test]
fn formulas_are_found_before_markdown_and_not_in_code() {
    let page = "Mit $a\n- b$ und `$c$`, \\$5, $$d$$.\n```\n$e$\n```\n";
    let found: Vec<&str> =
        formulas(page).into_iter().map(|r| &page[r]).collect();
    assert_eq!(found, ["$a\n- b$", "$$d$$"]);
    // The `- ` is inside the formula: no list item, no TeX as text.
    let text: Vec<String> = pieces(page, false)
        .into_iter()
        .filter(|p| p.kind == Kind::Text && p.text.trim() != "")
        .map(|p| p.text)
        .collect();
    assert_eq!(text.concat(), "Mit  und , $5, .");
}

#[test]
fn table_cells_are_numbered_and_captions_kept_on_request() {
    let page = "| de | en |\n|---|---|\n| Wort | word |\n\n\
                {{#figure f Eine Kurve {{#eq e}} mit $T$.}}\n";
    let cells: Vec<(Option<usize>, String)> = pieces(page, false)
        .into_iter()
        .filter(|p| p.kind == Kind::Text && p.text.trim() != "")
        .map(|p| (p.cell, p.text))
        .collect();
    assert_eq!(
        cells,
        [
            (Some(0), "de".to_string()),
            (Some(1), "en".to_string()),
            (Some(0), "Wort".to_string()),
            (Some(1), "word".to_string()),
        ]
    );
    let caption: String = pieces(page, true)
        .into_iter()
        .filter(|p| p.cell.is_none() && p.kind != Kind::Break)
        .map(|p| p.text)
        .collect();
    assert_eq!(caption, "Eine Kurve  mit T.");
}
