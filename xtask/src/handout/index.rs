//! The handout's index (Stichwortverzeichnis): its terms come from the
//! glossary, its page numbers from the printed PDF.
//!
//! Chromium has no `target-counter()`, so the handout is printed, the page
//! of every heading is read back from the PDF (`pdfinfo -dests`) and the
//! text of every page with `pdftotext`, and the handout is printed again
//! with the numbers filled in (see [`super::build_pdfs`]).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Command;
use std::sync::LazyLock;

use anyhow::{Context, Result, bail};
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use regex::Regex;

use crate::lang::Lang;

/// An index entry lists at most this many page ranges (besides the page
/// of the term's defining section): those where the term occurs most.
pub const MAX_RANGES: usize = 8;

/// One entry of the index: a term of the glossary in one language.
#[derive(Clone, Debug, PartialEq)]
pub struct Term {
    /// The headword as printed, such as `finite Differenzen (zentral)`.
    pub label: String,
    /// The forms searched for on the pages: the term without its
    /// qualifiers, plus alternative names given in parentheses after it
    /// (`KL-Divergenz`, `MLE`).
    pub forms: Vec<String>,
    /// Links of the glossary row (into the book), the first one that
    /// leads to a section of the handout marks the defining section.
    pub links: Vec<String>,
}

/// Reads the index terms from the glossary page's Markdown: every table
/// (one per chapter) but the general one, German term in the first
/// column, English term in the second. A cell may list variants
/// separated by commas (`Encoder, Decoder`), each its own entry; a row
/// whose chapter column (`Kapitel` / `Chapter`), if there is one, is `–`
/// is left out, like the table of general words.
pub fn glossary_terms(markdown: &str, lang: Lang) -> Vec<Term> {
    let column = match lang {
        Lang::De => 0,
        Lang::En => 1,
    };
    let mut terms: Vec<Term> = Vec::new();
    for (head, rows) in tables(markdown) {
        let chapter = head.iter().position(|c| {
            let t = c.text.trim().to_lowercase();
            t == "kapitel" || t == "chapter"
        });
        for row in rows {
            let Some(cell) = row.get(column) else {
                continue;
            };
            if let Some(c) = chapter.and_then(|c| row.get(c))
                && matches!(c.text.trim(), "–" | "-" | "—")
            {
                continue;
            }
            let links: Vec<String> =
                row.iter().flat_map(|c| c.links.iter().cloned()).collect();
            for variant in split_top_level(&cell.text) {
                let Some(term) = parse_variant(&variant, links.clone()) else {
                    continue;
                };
                match terms.iter_mut().find(|t| t.label == term.label) {
                    Some(t) => {
                        for f in term.forms {
                            if !t.forms.contains(&f) {
                                t.forms.push(f);
                            }
                        }
                    }
                    None => terms.push(term),
                }
            }
        }
    }
    terms.sort_by_cached_key(|t| sort_key(&t.label));
    terms
}

#[derive(Default)]
struct Cell {
    text: String,
    links: Vec<String>,
}

/// A table of the glossary: its head row and body rows.
type Table = (Vec<Cell>, Vec<Vec<Cell>>);

/// The tables of `markdown` with their head and body rows, except those
/// under a heading "Allgemein" / "General": general words of the book
/// (such as "Abbildung" / "figure") that would list nearly every page.
fn tables(markdown: &str) -> Vec<Table> {
    let mut tables = Vec::new();
    let mut head = Vec::new();
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    let mut in_table = false;
    let mut in_head = false;
    let mut in_heading = false;
    let mut heading = String::new();
    for event in Parser::new_ext(markdown, Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::Heading { .. }) => {
                in_heading = true;
                heading.clear();
            }
            Event::End(TagEnd::Heading(_)) => in_heading = false,
            Event::Text(t) if in_heading => heading.push_str(&t),
            Event::Start(Tag::Table(_)) => in_table = true,
            Event::End(TagEnd::Table) => {
                in_table = false;
                let table =
                    (std::mem::take(&mut head), std::mem::take(&mut rows));
                if !matches!(heading.trim(), "Allgemein" | "General") {
                    tables.push(table);
                }
            }
            Event::Start(Tag::TableHead) => in_head = true,
            Event::End(TagEnd::TableHead) => in_head = false,
            Event::Start(Tag::TableRow) => rows.push(Vec::new()),
            Event::Start(Tag::TableCell) if in_table => {
                if in_head {
                    head.push(Cell::default());
                } else if let Some(row) = rows.last_mut() {
                    row.push(Cell::default());
                }
            }
            Event::Text(t) | Event::Code(t) if in_table => {
                let cell = if in_head {
                    head.last_mut()
                } else {
                    rows.last_mut().and_then(|r| r.last_mut())
                };
                if let Some(cell) = cell {
                    cell.text.push_str(&t);
                }
            }
            Event::Start(Tag::Link { dest_url, .. })
                if in_table && !in_head =>
            {
                if let Some(cell) = rows.last_mut().and_then(|r| r.last_mut()) {
                    cell.links.push(dest_url.to_string());
                }
            }
            _ => {}
        }
    }
    tables
}

/// Splits at commas outside parentheses.
fn split_top_level(text: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(String::new());
                continue;
            }
            _ => {}
        }
        parts.last_mut().unwrap().push(c);
    }
    parts
        .into_iter()
        .map(|p| collapse(&p))
        .filter(|p| !p.is_empty())
        .collect()
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One variant of a glossary cell as an index term. Parentheses before
/// the term are qualifiers and move behind it (`(central) finite
/// differences` is listed as `finite differences (central)`); a
/// parenthesis after it is searched for as another name of the term when
/// it reads as one: several words, a hyphenated word or an abbreviation
/// (`(KL-Divergenz)`, `(Weight Decay)`, `(MLE)`), not a single qualifying
/// word (`(Schätzer)`, `(zentral)`).
fn parse_variant(variant: &str, links: Vec<String>) -> Option<Term> {
    static PAREN: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\(([^()]*)\)").unwrap());
    let main = collapse(&PAREN.replace_all(variant, " "));
    if main.is_empty() {
        return None;
    }
    let main_at = variant.find(main.split(' ').next()?)?;
    let mut forms = vec![main.clone()];
    let mut before = Vec::new();
    let mut after = Vec::new();
    for m in PAREN.captures_iter(variant) {
        let whole = m.get(0).unwrap();
        let inner = collapse(&m[1]);
        if whole.start() < main_at {
            before.push(inner);
            continue;
        }
        after.push(inner.clone());
        for alt in split_top_level(&inner) {
            let abbreviation = alt.chars().count() >= 2
                && alt.chars().all(|c| c.is_alphabetic() && c.is_uppercase());
            if (alt.contains(' ') || alt.contains('-') || abbreviation)
                && !forms.contains(&alt)
            {
                forms.push(alt);
            }
        }
    }
    let mut label = main;
    for q in before.iter().chain(&after) {
        label.push_str(&format!(" ({q})"));
    }
    Some(Term {
        label,
        forms,
        links,
    })
}

/// The key the index is sorted by: lower case, umlauts as their base
/// letter, `ß` as `ss`.
pub fn sort_key(label: &str) -> String {
    label
        .chars()
        .flat_map(|c| c.to_lowercase())
        .map(|c| match c {
            'ä' => "a".to_string(),
            'ö' => "o".to_string(),
            'ü' => "u".to_string(),
            'ß' => "ss".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// The letter an entry is filed under.
pub fn initial(label: &str) -> char {
    sort_key(label)
        .chars()
        .find(|c| c.is_alphanumeric())
        .map_or('#', |c| c.to_ascii_uppercase())
}

/// The pattern that finds a term's forms in a page's text: whole words,
/// any case, each word with the endings of its language (`Maske`,
/// `Masken`; `empirische`, `empirischen`; `logit`, `logits`).
pub fn term_regex(forms: &[String], lang: Lang) -> Regex {
    let ending = match lang {
        Lang::De => "(?:e|n|en|s|es|er|ern|em|r|m|ns)?",
        Lang::En => "(?:s|es|'s)?",
    };
    let alternatives: Vec<String> = forms
        .iter()
        .map(|form| {
            form.split_whitespace()
                .map(|w| format!("{}{ending}", regex::escape(w)))
                .collect::<Vec<_>>()
                .join(r"\s+")
        })
        .collect();
    Regex::new(&format!(r"(?i)\b(?:{})\b", alternatives.join("|"))).unwrap()
}

/// What the printed PDF says about itself: the page of every link target
/// and the text of every page.
pub struct Layout {
    /// Link target (`id` of an element) to its page, 1-based.
    pub dests: HashMap<String, usize>,
    /// The text of each page (index 0 is page 1), with lines broken at a
    /// hyphen joined again (keeping the hyphen: the handout breaks lines
    /// only at spaces and hyphens) and whitespace collapsed.
    pub pages: Vec<String>,
}

impl Layout {
    /// Reads `pdf` with `pdfinfo -dests` and `pdftotext`.
    pub fn read(pdf: &Path) -> Result<Layout> {
        let dests = parse_dests(&poppler("pdfinfo", &["-dests"], pdf)?);
        // `-layout`: without it, pdftotext joins a word broken at a
        // hyphen (`Layer-` `Normalisierung` becomes `LayerNormalisierung`).
        let text = poppler("pdftotext", &["-layout", "-enc", "UTF-8"], pdf)?;
        let mut pages: Vec<String> =
            text.split('\x0c').map(page_text).collect();
        // pdftotext ends every page with a form feed.
        if pages.last().is_some_and(|p| p.is_empty()) {
            pages.pop();
        }
        Ok(Layout { dests, pages })
    }
}

fn poppler(tool: &str, args: &[&str], pdf: &Path) -> Result<String> {
    let mut command = Command::new(tool);
    command.args(args).arg(pdf);
    if tool == "pdftotext" {
        command.arg("-");
    }
    let output = command.output().with_context(|| {
        format!(
            "cannot run {tool}: the handout's page numbers are read from the \
             PDF with poppler-utils; install it with `apt-get install \
             poppler-utils`"
        )
    })?;
    if !output.status.success() {
        bail!(
            "{tool} failed on {}:\n{}",
            pdf.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Parses `pdfinfo -dests`: a head line, then `page [ destination ] "name"`;
/// Chromium writes a name as its id percent-encoded in UTF-8.
pub fn parse_dests(listing: &str) -> HashMap<String, usize> {
    listing
        .lines()
        .filter_map(|line| {
            let page = line.split_whitespace().next()?.parse().ok()?;
            let name = line.rsplit_once('"')?.0.rsplit_once('"')?.1;
            Some((percent_decode(name), page))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A page's text as the index searches it.
pub fn page_text(raw: &str) -> String {
    static BROKEN: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(\p{L})-\n\s*(\p{L})").unwrap());
    let text = raw.replace('\u{2019}', "'");
    collapse(&BROKEN.replace_all(&text, "$1-$2"))
}

/// The pages of one index entry: page ranges where the term occurs, and
/// the page where its defining section starts (printed in bold).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pages {
    /// Ranges `(first, last)`, sorted, not containing `main`.
    pub ranges: Vec<(usize, usize)>,
    /// The page of the defining section.
    pub main: Option<usize>,
}

impl Pages {
    /// The pages where `regex` matches among `searched` (1-based page
    /// numbers of `layout`), at most [`MAX_RANGES`] ranges, those with the
    /// most occurrences, plus `main`.
    pub fn find(
        regex: &Regex,
        layout: &Layout,
        searched: &[usize],
        main: Option<usize>,
    ) -> Pages {
        let counts: BTreeMap<usize, usize> = searched
            .iter()
            .filter_map(|&p| {
                let n = regex.find_iter(layout.pages.get(p - 1)?).count();
                (n > 0 && Some(p) != main).then_some((p, n))
            })
            .collect();
        // Consecutive pages form a range; `main` splits a range.
        let mut ranges: Vec<((usize, usize), usize)> = Vec::new();
        for (&page, &n) in &counts {
            match ranges.last_mut() {
                Some(((_, last), total))
                    if *last + 1 == page && Some(*last + 1) != main =>
                {
                    *last = page;
                    *total += n;
                }
                _ => ranges.push(((page, page), n)),
            }
        }
        if ranges.len() > MAX_RANGES {
            // Most occurrences first, earlier pages first among equals.
            ranges.sort_by_key(|&((first, _), total)| {
                (std::cmp::Reverse(total), first)
            });
            ranges.truncate(MAX_RANGES);
        }
        let mut ranges: Vec<(usize, usize)> =
            ranges.into_iter().map(|(r, _)| r).collect();
        ranges.sort();
        Pages { ranges, main }
    }

    /// Every page listed, `main` included, in order.
    pub fn all(&self) -> Vec<usize> {
        let mut all: Vec<usize> = self
            .ranges
            .iter()
            .flat_map(|&(a, b)| a..=b)
            .chain(self.main)
            .collect();
        all.sort();
        all
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty() && self.main.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GLOSSARY: &str = "# Glossar\n\n\
        | Deutsch | English | Kapitel |\n|---|---|---|\n\
        | Abbildung | figure | – |\n\
        | Kullback-Leibler-Divergenz (KL-Divergenz) | Kullback-Leibler divergence (KL divergence) | 1 |\n\
        | erwartungstreu (Schätzer) | unbiased (estimator) | 1 |\n\
        | Encoder, Decoder | encoder, decoder | 2 |\n\
        | finite Differenzen (zentral) | (central) finite differences | 2 |\n\
        | Maske (kausale Maske, Padding-Maske) | mask (causal mask, padding mask) | 2 |\n\
        | Maximum-Likelihood-Schätzung (MLE) | maximum likelihood estimation (MLE) | [1.2](ch01/mle.md) |\n";

    fn labels(lang: Lang) -> Vec<String> {
        glossary_terms(GLOSSARY, lang)
            .into_iter()
            .map(|t| t.label)
            .collect()
    }

    #[test]
    fn glossary_rows_become_sorted_entries_in_each_language() {
        assert_eq!(
            labels(Lang::De),
            [
                "Decoder",
                "Encoder",
                "erwartungstreu (Schätzer)",
                "finite Differenzen (zentral)",
                "Kullback-Leibler-Divergenz (KL-Divergenz)",
                "Maske (kausale Maske, Padding-Maske)",
                "Maximum-Likelihood-Schätzung (MLE)",
            ]
        );
        assert_eq!(
            labels(Lang::En),
            [
                "decoder",
                "encoder",
                "finite differences (central)",
                "Kullback-Leibler divergence (KL divergence)",
                "mask (causal mask, padding mask)",
                "maximum likelihood estimation (MLE)",
                "unbiased (estimator)",
            ]
        );
    }

    #[test]
    fn alternative_names_are_searched_qualifiers_are_not() {
        let terms = glossary_terms(GLOSSARY, Lang::De);
        let forms = |label: &str| {
            terms
                .iter()
                .find(|t| t.label == label)
                .unwrap()
                .forms
                .clone()
        };
        assert_eq!(
            forms("Kullback-Leibler-Divergenz (KL-Divergenz)"),
            ["Kullback-Leibler-Divergenz", "KL-Divergenz"]
        );
        assert_eq!(forms("erwartungstreu (Schätzer)"), ["erwartungstreu"]);
        assert_eq!(
            forms("Maske (kausale Maske, Padding-Maske)"),
            ["Maske", "kausale Maske", "Padding-Maske"]
        );
        assert_eq!(
            forms("Maximum-Likelihood-Schätzung (MLE)"),
            ["Maximum-Likelihood-Schätzung", "MLE"]
        );
        let mle = terms
            .iter()
            .find(|t| t.forms.iter().any(|f| f == "MLE"))
            .unwrap();
        assert_eq!(mle.links, ["ch01/mle.md"]);
    }

    #[test]
    fn terms_match_whole_words_with_their_endings() {
        let forms =
            |f: &[&str]| f.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let de = term_regex(&forms(&["empirische Verteilung"]), Lang::De);
        assert!(de.is_match("der empirischen Verteilung folgt"));
        assert!(de.is_match("Empirische\nVerteilung"));
        assert!(!de.is_match("empirische Verteilungsfunktion"));
        let mask = term_regex(&forms(&["Maske"]), Lang::De);
        assert!(mask.is_match("zwei Masken"));
        assert!(mask.is_match("die Padding-Maske"));
        let moment = term_regex(&forms(&["Moment"]), Lang::De);
        assert!(!moment.is_match("Momentum"));
        let en = term_regex(&forms(&["logit"]), Lang::En);
        assert!(en.is_match("the Logits are"));
        assert!(!en.is_match("logistic"));
    }

    #[test]
    fn pages_are_ranges_split_at_the_defining_page_and_capped() {
        let page = |s: &str| page_text(s);
        let layout = Layout {
            dests: HashMap::new(),
            pages: ["x", "Entropie", "Entropie", "Entropie", "-", "Entropie"]
                .map(page)
                .to_vec(),
        };
        let re = term_regex(&["Entropie".to_string()], Lang::De);
        let all: Vec<usize> = (1..=6).collect();
        let pages = Pages::find(&re, &layout, &all, None);
        assert_eq!(pages.ranges, [(2, 4), (6, 6)]);
        let pages = Pages::find(&re, &layout, &all, Some(3));
        assert_eq!(pages.ranges, [(2, 2), (4, 4), (6, 6)]);
        assert_eq!(pages.all(), [2, 3, 4, 6]);
        // Only the pages searched count (the glossary's are not).
        let pages = Pages::find(&re, &layout, &[1, 2], None);
        assert_eq!(pages.ranges, [(2, 2)]);

        let many: Vec<String> = (0..2 * MAX_RANGES + 2)
            .map(|i| {
                let n = if i % 2 == 1 { 0 } else { 1 + i / 4 };
                "Entropie ".repeat(n)
            })
            .collect();
        let layout = Layout {
            dests: HashMap::new(),
            pages: many.iter().map(|p| page(p)).collect(),
        };
        let all: Vec<usize> = (1..=many.len()).collect();
        let pages = Pages::find(&re, &layout, &all, None);
        assert_eq!(pages.ranges.len(), MAX_RANGES);
        // Of the two pages with the fewest occurrences (one each), the
        // later one is left out.
        assert_eq!(pages.ranges[..2], [(1, 1), (5, 5)]);
    }

    #[test]
    fn dests_and_page_text_are_read_as_poppler_writes_them() {
        let dests = parse_dests(
            "Page  Destination                 Name\n   \
             3 [ XYZ    0  842 null      ] \"page-introduction\"\n  \
             12 [ XYZ    0  208 null      ] \"ch01-mle--maximum-likelihood\"\n  \
             40 [ XYZ    0  428 null      ] \"ch01--erkl%C3%A4rt\"\n",
        );
        assert_eq!(dests["ch01--erklärt"], 40);
        assert_eq!(dests["page-introduction"], 3);
        assert_eq!(dests["ch01-mle--maximum-likelihood"], 12);
        assert_eq!(
            page_text("die Layer-\nNormalisierung,  Bessel\u{2019}s\n"),
            "die Layer-Normalisierung, Bessel's"
        );
    }
}
