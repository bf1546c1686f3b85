//! The glossary (`src/{de,en}/glossary.md`): every term has a definition
//! of one sentence in both languages and a link to the place where the
//! book introduces it, and that link leads to an existing page and anchor.
//!
//! The glossary is a Markdown table per chapter with three columns: the
//! German term, the English term, the definition in the page's language.
//! On the German page the German term is the link, on the English page the
//! English one. Both pages list the same terms in the same order.
//!
//! A link's anchor may be `eq-ID`, `lst-ID` or `fig-ID` (a formula,
//! listing or figure placed on the target page) or the id mdBook gives a
//! heading of that page. The built-site check (`xtask::checks::site`)
//! checks the same links again in the HTML; this check runs on the
//! sources and names the glossary's line.

use std::collections::HashSet;
use std::fs;
use std::path::Path;
use std::sync::LazyLock;

use genai_book::{assert_no_problems, root};
use regex::Regex;
use xtask::directives::{self, Kind};
use xtask::problem::Problem;

/// A cell that is exactly one Markdown link `[text](target)`.
static LINK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\[([^\]]+)\]\(([^)\s]+)\)$").unwrap());
/// Inline math, removed before the sentence check (`$1.5$` is no period).
static MATH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\$[^$]*\$").unwrap());
/// The end of one sentence and the start of another.
static SECOND_SENTENCE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[.!?]\s+\p{Lu}").unwrap());
/// An ATX heading.
static HEADING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^#{1,6}\s+(.+?)\s*#*\s*$").unwrap());

/// One row of a glossary table.
#[derive(Debug)]
struct Row {
    line: usize,
    german: String,
    english: String,
    definition: String,
}

/// The languages, the column that holds the link on their page, and the
/// glossary file relative to the book root.
const LANGS: [(&str, usize); 2] = [("de", 0), ("en", 1)];

fn glossary_file(lang: &str) -> String {
    format!("src/{lang}/glossary.md")
}

/// The term rows of a glossary: every table line except header and
/// separator (the first two lines of each table).
fn rows(text: &str, file: &str, problems: &mut Vec<Problem>) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut in_table = 0;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if !t.starts_with('|') {
            in_table = 0;
            continue;
        }
        in_table += 1;
        if in_table <= 2 {
            continue;
        }
        // Math may hold a `|`; no definition should, so split the line as
        // written and let a wrong cell count show the mistake.
        let cells: Vec<String> = t
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect();
        if cells.len() != 3 {
            problems.push(Problem::at(
                file,
                i + 1,
                format!(
                    "a glossary row needs 3 cells (German, English, \
                     definition), got {}",
                    cells.len()
                ),
            ));
            continue;
        }
        rows.push(Row {
            line: i + 1,
            german: cells[0].clone(),
            english: cells[1].clone(),
            definition: cells[2].clone(),
        });
    }
    rows
}

/// The text of a cell, without the link around it.
fn plain(cell: &str) -> &str {
    LINK.captures(cell)
        .map_or(cell, |c| c.get(1).unwrap().as_str())
}

/// The id mdBook gives a heading with this text (mdbook-html's
/// `id_from_content`): lower case; letters, digits, `_` and `-` kept;
/// white space turned into `-`; everything else dropped.
fn heading_id(text: &str) -> String {
    text.trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                Some(c)
            } else if c.is_whitespace() {
                Some('-')
            } else {
                None
            }
        })
        .collect()
}

/// The anchors a page offers: the ids of its headings (made unique as
/// mdBook does, `x`, `x-1`, ...) and `eq-`, `lst-`, `fig-` ids of what it
/// places.
fn anchors(page: &str) -> HashSet<String> {
    let mut ids = HashSet::new();
    let mut in_fence = false;
    for line in page.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        if let Some(c) = HEADING.captures(line) {
            // An explicit id (`### Title {#ex-4-1}`) is the heading's id.
            if let Some(id) = c[1]
                .strip_suffix('}')
                .and_then(|t| t.rsplit_once("{#"))
                .map(|(_, id)| id)
            {
                ids.insert(id.to_string());
                continue;
            }
            // Inline code and emphasis marks are not part of the text.
            let text: String =
                c[1].chars().filter(|ch| !"`*_".contains(*ch)).collect();
            let id = heading_id(&text);
            let mut unique = id.clone();
            let mut n = 1;
            while !ids.insert(unique.clone()) {
                unique = format!("{id}-{n}");
                n += 1;
            }
        }
    }
    if let Ok(found) = directives::parse(page) {
        for d in found {
            let prefix = match d.kind {
                Kind::Formula => "eq",
                Kind::Listing => "lst",
                Kind::Figure => "fig",
                Kind::Eq | Kind::Value | Kind::Table => continue,
            };
            ids.insert(format!("{prefix}-{}", d.id));
        }
    }
    ids
}

/// Checks the link of one row: a page of the same book, and an anchor on
/// it if one is given.
fn check_link(
    root: &Path,
    lang: &str,
    file: &str,
    row: &Row,
    cell: &str,
    problems: &mut Vec<Problem>,
) {
    let Some(link) = LINK.captures(cell) else {
        problems.push(Problem::at(
            file,
            row.line,
            format!(
                "the term `{cell}` needs a link to where the book \
                 introduces it: [{cell}](page.md#anchor)"
            ),
        ));
        return;
    };
    let target = &link[2];
    let (path, fragment) = target.split_once('#').unwrap_or((target, ""));
    let page_file = root.join("src").join(lang).join(path);
    if path.is_empty() || !path.ends_with(".md") {
        problems.push(Problem::at(
            file,
            row.line,
            format!("link `{target}` must name a page (`chNN/page.md`)"),
        ));
        return;
    }
    let Ok(page) = fs::read_to_string(&page_file) else {
        problems.push(Problem::at(
            file,
            row.line,
            format!("broken link `{target}`: no page src/{lang}/{path}"),
        ));
        return;
    };
    if !fragment.is_empty() && !anchors(&page).contains(fragment) {
        problems.push(Problem::at(
            file,
            row.line,
            format!(
                "broken link `{target}`: src/{lang}/{path} has no heading, \
                 formula, listing or figure with id `{fragment}`"
            ),
        ));
    }
}

/// Every problem of the glossaries under `root`, with file and line.
fn check(root: &Path) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut tables = Vec::new();
    for (lang, link_column) in LANGS {
        let file = glossary_file(lang);
        let Ok(text) = fs::read_to_string(root.join(&file)) else {
            problems.push(Problem::new(&file, "the glossary is missing"));
            tables.push(Vec::new());
            continue;
        };
        let rows = rows(&text, &file, &mut problems);
        if rows.is_empty() {
            problems.push(Problem::new(&file, "the glossary has no terms"));
        }
        for row in &rows {
            for (cell, what) in
                [(&row.german, "German term"), (&row.english, "English term")]
            {
                if plain(cell).is_empty() {
                    problems.push(Problem::at(
                        &file,
                        row.line,
                        format!("the {what} is empty"),
                    ));
                }
            }
            let term = plain(if link_column == 0 {
                &row.german
            } else {
                &row.english
            });
            let definition = MATH.replace_all(&row.definition, "x");
            let definition = definition.trim();
            if definition.is_empty() {
                problems.push(Problem::at(
                    &file,
                    row.line,
                    format!("`{term}` has no definition"),
                ));
            } else if !definition.ends_with('.') {
                problems.push(Problem::at(
                    &file,
                    row.line,
                    format!(
                        "the definition of `{term}` must be a sentence \
                         ending in a period"
                    ),
                ));
            } else if SECOND_SENTENCE.is_match(definition) {
                problems.push(Problem::at(
                    &file,
                    row.line,
                    format!(
                        "the definition of `{term}` must be one sentence, \
                         not several"
                    ),
                ));
            }
            let cell = [&row.german, &row.english][link_column];
            check_link(root, lang, &file, row, cell, &mut problems);
        }
        tables.push(rows);
    }
    // The same terms, in the same order, in both books.
    let (de, en) = (&tables[0], &tables[1]);
    let en_file = glossary_file("en");
    for i in 0..de.len().max(en.len()) {
        match (de.get(i), en.get(i)) {
            (Some(d), Some(e))
                if plain(&d.german) != plain(&e.german)
                    || plain(&d.english) != plain(&e.english) =>
            {
                problems.push(Problem::at(
                    &en_file,
                    e.line,
                    format!(
                        "row {} is `{} / {}` here but `{} / {}` in \
                         src/de/glossary.md:{}; both books list the same \
                         terms in the same order",
                        i + 1,
                        plain(&e.german),
                        plain(&e.english),
                        plain(&d.german),
                        plain(&d.english),
                        d.line
                    ),
                ));
                break;
            }
            (Some(d), None) => {
                problems.push(Problem::at(
                    glossary_file("de"),
                    d.line,
                    format!(
                        "`{}` has no row in src/en/glossary.md",
                        plain(&d.german)
                    ),
                ));
                break;
            }
            (None, Some(e)) => {
                problems.push(Problem::at(
                    &en_file,
                    e.line,
                    format!(
                        "`{}` has no row in src/de/glossary.md",
                        plain(&e.english)
                    ),
                ));
                break;
            }
            _ => {}
        }
    }
    problems
}

#[test]
fn every_term_has_a_definition_in_both_languages_and_a_working_link() {
    assert_no_problems("glossary", &check(&root()));
}

#[test]
fn the_core_terms_are_in_the_glossary() {
    let text = fs::read_to_string(root().join(glossary_file("de"))).unwrap();
    let mut problems = Vec::new();
    let terms: Vec<String> = rows(&text, "src/de/glossary.md", &mut problems)
        .iter()
        .map(|r| plain(&r.german).to_string())
        .collect();
    for core in [
        "Token",
        "Verlustfunktion",
        "Gradient",
        "Aktivierungsfunktion",
        "ReLU",
        "GELU",
        "Hesse-Matrix",
        "Erwartungswert",
        "Varianz",
        "Dropout",
    ] {
        assert!(
            terms.iter().any(|t| t == core),
            "the glossary lacks the core term `{core}`"
        );
    }
}

// Bad input: a small book in a temporary folder, broken one way at a time.

const PAGE: &str = "# Seite\n\n## Eine Überschrift\n\n{{#formula half}}\n\n## Eine Überschrift\n";

const DE: &str = "# Glossar\n\n## Kapitel 1\n\n\
| Deutsch | English | Bedeutung |\n|---|---|---|\n\
| [Hälfte](ch01/page.md#eq-half) | half | Einer von zwei gleichen Teilen. |\n\
| [Kopf](ch01/page.md#eine-überschrift-1) | head | Ein Teil von $x$. |\n";

const EN: &str = "# Glossary\n\n## Chapter 1\n\n\
| Deutsch | English | Meaning |\n|---|---|---|\n\
| Hälfte | [half](ch01/page.md#eq-half) | One of two equal parts. |\n\
| Kopf | [head](ch01/page.md) | A part of $x$. |\n";

/// A temporary book root with both glossaries and one target page.
fn fixture(de: &str, en: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (lang, glossary) in [("de", de), ("en", en)] {
        let src = dir.path().join("src").join(lang);
        fs::create_dir_all(src.join("ch01")).unwrap();
        fs::write(src.join("glossary.md"), glossary).unwrap();
        fs::write(src.join("ch01/page.md"), PAGE).unwrap();
    }
    dir
}

fn messages(de: &str, en: &str) -> String {
    let dir = fixture(de, en);
    check(dir.path()).iter().map(|p| format!("{p}\n")).collect()
}

/// Asserts that `message` contains every one of `parts`.
fn assert_mentions(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(
            message.contains(part),
            "message does not mention {part:?}:\n{message}"
        );
    }
}

#[test]
fn the_unbroken_fixture_passes() {
    assert_eq!(messages(DE, EN), "");
}

#[test]
fn a_term_without_a_definition_in_one_language_names_file_and_line() {
    let en = EN.replace("One of two equal parts.", "");
    assert_mentions(
        &messages(DE, &en),
        &["src/en/glossary.md:7:", "`half` has no definition"],
    );
    let de = DE.replace("Ein Teil von $x$.", " ");
    assert_mentions(
        &messages(&de, EN),
        &["src/de/glossary.md:8:", "`Kopf` has no definition"],
    );
}

#[test]
fn a_definition_of_two_sentences_or_none_is_refused() {
    let de = DE.replace("Ein Teil von $x$.", "Ein Teil. Noch einer.");
    assert_mentions(
        &messages(&de, EN),
        &["src/de/glossary.md:8:", "one sentence"],
    );
    let en = EN.replace("One of two equal parts.", "half of it");
    assert_mentions(
        &messages(DE, &en),
        &["src/en/glossary.md:7:", "ending in a period"],
    );
}

#[test]
fn a_term_missing_in_one_language_is_named() {
    let en =
        EN.replace("| Kopf | [head](ch01/page.md) | A part of $x$. |\n", "");
    assert_mentions(
        &messages(DE, &en),
        &[
            "src/de/glossary.md:8:",
            "`Kopf` has no row in src/en/glossary.md",
        ],
    );
    let en = EN.replace("| Kopf |", "| Kopp |");
    assert_mentions(
        &messages(DE, &en),
        &["src/en/glossary.md:8:", "`Kopp / head`", "`Kopf / head`"],
    );
}

#[test]
fn a_term_without_a_link_or_with_a_broken_one_names_file_and_line() {
    let de = DE.replace("[Kopf](ch01/page.md#eine-überschrift-1)", "Kopf");
    assert_mentions(
        &messages(&de, EN),
        &["src/de/glossary.md:8:", "`Kopf` needs a link"],
    );
    let en = EN.replace("ch01/page.md#eq-half", "ch01/pgae.md#eq-half");
    assert_mentions(
        &messages(DE, &en),
        &["src/en/glossary.md:7:", "no page src/en/ch01/pgae.md"],
    );
    let de = DE.replace("#eq-half", "#eq-whole");
    assert_mentions(
        &messages(&de, EN),
        &[
            "src/de/glossary.md:7:",
            "no heading, formula, listing or figure with id `eq-whole`",
        ],
    );
    let de = DE.replace("#eine-überschrift-1", "#eine-überschrift-2");
    assert_mentions(
        &messages(&de, EN),
        &["src/de/glossary.md:8:", "`eine-überschrift-2`"],
    );
}

#[test]
fn a_row_with_a_missing_column_is_refused() {
    let de =
        DE.replace("| half | Einer von zwei gleichen Teilen. |", "| half |");
    assert_mentions(
        &messages(&de, EN),
        &["src/de/glossary.md:7:", "needs 3 cells", "got 2"],
    );
}
