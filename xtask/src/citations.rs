//! Citations and the references page.
//!
//! A citation is a Markdown link to an entry of the references page,
//! `[Vaswani et al. 2017](../references.md#ref-vaswani2017)`; an entry is
//! an element with an id that starts with `ref-` on that page,
//! `<span id="ref-vaswani2017"></span>`. The check fails on a citation
//! whose id has no entry, on an entry that no other page cites, on an
//! entry that one language has and the other has not, and on an author
//! and year written in the text without the link (for an entry
//! `ref-<surname><year>`: the surname, capitalized, followed by the year
//! within a few words, as in "Kingma und Ba 2015" or "Polyaks *Heavy
//! Ball* (1964)").

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use crate::files::walk;
use crate::lang::Lang;
use crate::problem::{Problem, line_of};

/// The page that holds the entries, relative to `src/<lang>/`.
pub const REFERENCES: &str = "references.md";

/// How far after a surname the year of an unlinked citation may stand.
const YEAR_WINDOW: usize = 40;

static LINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\[([^\]]*)\]\(([^)\s]*)\)|href=\x22([^\x22]*)\x22").unwrap()
});
static ENTRY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"\bid="(ref-[^"]+)""#).unwrap());
static ENTRY_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^ref-([a-z]+)(\d{4})$").unwrap());
static CODE_SPAN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"`[^`\n]*`").unwrap());

/// Checks both languages of the book at `root`.
pub fn check(root: &Path) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut entries = Vec::new();
    for lang in Lang::ALL {
        let src = format!("src/{}", lang.code());
        let dir = root.join(&src);
        let mut pages = Vec::new();
        walk(&dir, &mut |path| {
            if path.extension().is_some_and(|e| e == "md") {
                let rel = path.strip_prefix(&dir).unwrap();
                let rel = rel.to_string_lossy().replace('\\', "/");
                pages.push((rel, fs::read_to_string(path).unwrap_or_default()));
            }
        });
        let (found, mut p) = check_pages(&src, &pages);
        problems.append(&mut p);
        entries.push((src, found));
    }
    if let [(_, de), (en_src, en)] = entries.as_slice() {
        let de: BTreeSet<&String> = de.keys().collect();
        let en: BTreeSet<&String> = en.keys().collect();
        for (id, only) in de
            .difference(&en)
            .map(|id| (id, "German"))
            .chain(en.difference(&de).map(|id| (id, "English")))
        {
            problems.push(Problem::new(
                format!("{en_src}/{REFERENCES}"),
                format!(
                    "entry `{id}` is only in the {only} references page; \
                     both languages list the same works"
                ),
            ));
        }
    }
    problems
}

/// Checks the pages of one language, given as (path below `src`, text).
/// Returns the entries of the references page (id and line) and the
/// problems found.
pub fn check_pages(
    src: &str,
    pages: &[(String, String)],
) -> (BTreeMap<String, usize>, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut entries: BTreeMap<String, usize> = BTreeMap::new();
    let refs_file = format!("{src}/{REFERENCES}");
    if let Some((_, text)) = pages.iter().find(|(p, _)| p == REFERENCES) {
        for m in ENTRY.captures_iter(text) {
            let id = m[1].to_string();
            let line = line_of(text, m.get(0).unwrap().start());
            if let Some(first) = entries.insert(id.clone(), line) {
                entries.insert(id.clone(), first);
                problems.push(Problem::at(
                    &refs_file,
                    line,
                    format!(
                        "entry `{id}` is there twice (first on line {first})"
                    ),
                ));
            }
        }
    }
    let mut cited: BTreeSet<String> = BTreeSet::new();
    for (page, text) in pages {
        if page == REFERENCES {
            continue;
        }
        let file = format!("{src}/{page}");
        let mut masked = mask_code(text);
        for link in LINK.captures_iter(&masked.clone()) {
            let whole = link.get(0).unwrap();
            let dest = link.get(2).or(link.get(3)).unwrap().as_str();
            let Some((path, id)) = dest.split_once('#') else {
                continue;
            };
            if path.rsplit('/').next() != Some(REFERENCES) {
                continue;
            }
            let line = line_of(text, whole.start());
            if entries.contains_key(id) {
                cited.insert(id.to_string());
            } else {
                problems.push(Problem::at(
                    &file,
                    line,
                    format!(
                        "citation `{id}` has no entry in {refs_file} \
                         (an element with id=\"{id}\")"
                    ),
                ));
            }
            blank(&mut masked, whole.start(), whole.end());
        }
        problems.extend(unlinked(&file, text, &masked, &entries));
    }
    for (id, line) in &entries {
        if !cited.contains(id) {
            problems.push(Problem::at(
                &refs_file,
                *line,
                format!(
                    "entry `{id}` is cited nowhere: no page links to \
                     {REFERENCES}#{id}"
                ),
            ));
        }
    }
    (entries, problems)
}

/// Author–year citations in `masked` (the page with code and linked
/// citations blanked out) whose entry exists but which have no link.
fn unlinked(
    file: &str,
    text: &str,
    masked: &str,
    entries: &BTreeMap<String, usize>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    for id in entries.keys() {
        let Some(name) = ENTRY_NAME.captures(id) else {
            continue;
        };
        let mut surname = name[1].to_string();
        surname[..1].make_ascii_uppercase();
        let year = &name[2];
        let author = Regex::new(&format!(r"\b{surname}\w*")).unwrap();
        let year_re = Regex::new(&format!(r"\b{year}\b")).unwrap();
        for m in author.find_iter(masked) {
            let rest = &masked[m.end()..];
            let mut end = rest.len().min(YEAR_WINDOW);
            while !rest.is_char_boundary(end) {
                end -= 1;
            }
            let window = &rest[..end];
            let window = window.split("\n\n").next().unwrap_or("");
            if let Some(y) = year_re.find(window) {
                let cited = &masked[m.start()..m.end() + y.end()];
                problems.push(Problem::at(
                    file,
                    line_of(text, m.start()),
                    format!(
                        "`{}` cites `{id}` without a link: write it as \
                         [{}](…/{REFERENCES}#{id})",
                        cited.split_whitespace().collect::<Vec<_>>().join(" "),
                        cited.split_whitespace().collect::<Vec<_>>().join(" "),
                    ),
                ));
            }
        }
    }
    problems
}

/// `text` with fenced code blocks and inline code replaced by spaces, so
/// that offsets and line numbers stay the same.
fn mask_code(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_fence = false;
    for line in text.split_inclusive('\n') {
        let fence = line.trim_start().starts_with("```");
        if in_fence || fence {
            out.push_str(&blanked(line));
        } else {
            out.push_str(
                &CODE_SPAN
                    .replace_all(line, |c: &regex::Captures| blanked(&c[0])),
            );
        }
        if fence {
            in_fence = !in_fence;
        }
    }
    out
}

/// Spaces for every character except line breaks, byte for byte.
fn blanked(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c == '\n' {
                "\n".to_string()
            } else {
                " ".repeat(c.len_utf8())
            }
        })
        .collect()
}

fn blank(text: &mut String, start: usize, end: usize) {
    let replacement = blanked(&text[start..end]);
    text.replace_range(start..end, &replacement);
}

#[cfg(test)]
mod tests {
    use super::*;

    const REFS: &str = "# Literatur\n\n\
        - <span id=\"ref-kingma2015\"></span>Kingma, D. P.; Ba, J. (2015): Adam.\n\
        - <span id=\"ref-vaswani2017\"></span>Vaswani, A. et al. (2017): Attention.\n";

    fn run(pages: &[(&str, &str)]) -> Vec<String> {
        let pages: Vec<(String, String)> = pages
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect();
        check_pages("src/de", &pages)
            .1
            .iter()
            .map(|p| p.to_string())
            .collect()
    }

    #[test]
    fn linked_citations_of_every_entry_pass() {
        let page = "# Adam\n\nAdam ([Kingma und Ba 2015](../references.md#ref-kingma2015))\n\
                    folgt [Vaswani et al.\n2017](../references.md#ref-vaswani2017).\n";
        assert_eq!(
            run(&[("references.md", REFS), ("ch03/adam.md", page)]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_citation_without_entry_names_page_line_and_id() {
        let page = "# Adam\n\n[Kingma und Ba 2015](../references.md#ref-kingma2015),\n\
                    [Vaswani et al. 2017](../references.md#ref-vaswani2017),\n\
                    [Duchi et al. 2011](../references.md#ref-duchi2011).\n";
        let p = run(&[("references.md", REFS), ("ch03/adam.md", page)]);
        assert_eq!(
            p,
            [
                "src/de/ch03/adam.md:5: citation `ref-duchi2011` has no entry in \
              src/de/references.md (an element with id=\"ref-duchi2011\")"
            ]
        );
    }

    #[test]
    fn an_entry_nothing_cites_names_its_line() {
        let page = "# Adam\n\n[Kingma und Ba 2015](../references.md#ref-kingma2015).\n";
        let p = run(&[("references.md", REFS), ("ch03/adam.md", page)]);
        assert_eq!(
            p,
            [
                "src/de/references.md:4: entry `ref-vaswani2017` is cited nowhere: \
              no page links to references.md#ref-vaswani2017"
            ]
        );
    }

    #[test]
    fn author_and_year_without_link_are_reported_but_code_is_not() {
        let page = "# Adam\n\n[Kingma und Ba 2015](../references.md#ref-kingma2015)\n\
                    und Vaswani et al. (2017)\nmit `Vaswani 2017` im Code.\n\n\
                    ```text\nVaswani 2017\n```\n\
                    Vaswani et al. vermuten etwas, und erst viel weiter hinten steht 2017.\n\n\
                    Vaswani\n\n2017 steht erst im nächsten Absatz.\n";
        let p = run(&[("references.md", REFS), ("ch03/adam.md", page)]);
        assert_eq!(p.len(), 2, "{p:#?}");
        assert!(p[0].starts_with(
            "src/de/ch03/adam.md:4: `Vaswani et al. (2017` cites `ref-vaswani2017` without a link"
        ));
        assert!(p[1].contains("entry `ref-vaswani2017` is cited nowhere"));
    }

    #[test]
    fn a_page_without_references_page_may_not_cite() {
        let page =
            "# Adam\n\n[Kingma und Ba 2015](../references.md#ref-kingma2015)\n";
        let p = run(&[("ch03/adam.md", page)]);
        assert_eq!(p.len(), 1);
        assert!(p[0].contains(
            "src/de/ch03/adam.md:3: citation `ref-kingma2015` has no entry"
        ));
        assert_eq!(
            run(&[("intro.md", "# Intro\n\nText.\n")]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_duplicate_entry_is_reported() {
        let refs =
            format!("{REFS}- <span id=\"ref-kingma2015\"></span>Again.\n");
        let page = "[a 2015](references.md#ref-kingma2015) [b 2017](references.md#ref-vaswani2017)";
        let p = run(&[("references.md", &refs), ("x.md", page)]);
        assert_eq!(
            p,
            [
                "src/de/references.md:5: entry `ref-kingma2015` is there twice (first on line 3)"
            ]
        );
    }
}
