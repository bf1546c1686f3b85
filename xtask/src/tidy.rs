//! A tidy rule for numbers: a number with three or more significant
//! digits in a page's prose, a figure's caption or a figure's alt text
//! must come from a directive (`{{#value}}`, `{{#table}}`), or be listed
//! in [`ALLOWED`] with a one-line reason (a physical or mathematical
//! constant, a year, a default cited from a paper, a value of a
//! derivation worked by hand and checked by a named test).
//!
//! Code (fenced or inline), directives other than a figure's caption,
//! link targets, HTML tags and heading ids are not prose and are skipped
//! (chapter 4's stripper finds them); math is prose with symbols and is
//! checked. `references.md` holds
//! bibliographic data (years, volumes, pages), not results, and is
//! skipped. The exercise pages (`exercises.md`) are skipped too: their
//! numbers are the givens of a task, chosen by hand, and the results of
//! its worked solution, which `exercises/tests/answers_chNN.rs` asserts
//! in both languages (a number in a solution that no answer test names
//! is not caught here).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::LazyLock;

use ch04_language_model::markdown;
use regex::Regex;

use crate::lang::Lang;
use crate::problem::Problem;

/// The allow-list, relative to the repository root: one number a line as
/// the English page writes it without grouping (`1386.29`), then ` | `
/// and the reason; `#` starts a comment.
pub const ALLOWED: &str = "xtask/numbers-allowed.txt";

/// The number of significant digits of a number as written: leading
/// zeros never count, trailing zeros of an integer do not (`2000` has
/// one), those after a decimal point do (`0.60` has two).
pub fn significant_digits(number: &str) -> usize {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_start_matches('0');
    if number.contains('.') {
        digits.len()
    } else {
        digits.trim_end_matches('0').len()
    }
}

/// `number` as written in `lang`, in the allow-list's form: grouping
/// removed, decimal point.
pub fn normalize(number: &str, lang: Lang) -> String {
    let n: String = number
        .replace("\\,", "")
        .chars()
        .filter(|c| !matches!(c, '\u{202f}' | ' ' | '\u{a0}'))
        .collect();
    static GROUPED: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^\d{1,3}(?:\.\d{3})+$").unwrap());
    match lang {
        // `1.000` groups thousands; `1.18` (a formula's number, a
        // version) keeps its point.
        Lang::De if n.contains(',') || GROUPED.is_match(&n) => {
            n.replace('.', "").replace(',', ".")
        }
        Lang::De => n,
        Lang::En => n.replace(',', ""),
    }
}

/// Numbers in running text: digits, perhaps grouped (narrow or plain
/// space, TeX's thin space `\,`, comma, point) and with a decimal part. A match that touches a
/// letter or `_` (`f64`, `ch04`, `W_1`) is part of a name and skipped.
static NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\d+(?:(?:[\u{202f} ]|\\,)\d{3}\b)*(?:(?:\{,\}|[.,])\d+)*")
        .unwrap()
});

/// Exponents and indices in math: `10^{-13}`, `x_{12}` are notation, not
/// quantities typed in.
static INDICES: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[\^_]\{[^}]*\}|[\^_]-?\d+").unwrap());

/// The numbers with three or more significant digits in `text`, with
/// the byte offset of each.
pub fn numbers(text: &str, lang: Lang) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for m in NUMBER.find_iter(text) {
        let before = text[..m.start()].chars().next_back();
        let after = text[m.end()..].chars().next();
        let name = |c: Option<char>| {
            c.is_some_and(|c| c.is_alphabetic() || c == '_' || c == '\\')
        };
        if name(before) || name(after) {
            continue;
        }
        let number = m.as_str().replace("{,}", ",");
        // A trailing `.` or `,` is punctuation, and a list like `1, 2`
        // is two numbers: the regex only takes separators before digits.
        if significant_digits(&normalize(&number, lang)) >= 3 {
            found.push((m.start(), number));
        }
    }
    found
}

/// Blanks out (keeping line breaks and length) what is not prose, as
/// chapter 4's stripper ([`markdown::pieces`]) finds it: code, directives
/// (a figure's caption stays, without its nested directives), link
/// targets, HTML tags, heading ids; and in formulas, exponents and
/// indices.
pub fn prose_only(page: &str) -> String {
    let mut text: Vec<u8> = page
        .bytes()
        .map(|b| if b == b'\n' { b } else { b' ' })
        .collect();
    for piece in markdown::pieces(page, true) {
        let r = piece.range;
        let prose =
            matches!(piece.kind, markdown::Kind::Text | markdown::Kind::Math);
        if prose
            && !piece.text.trim().is_empty()
            && page.is_char_boundary(r.start)
            && page.is_char_boundary(r.end)
        {
            text[r.clone()].copy_from_slice(&page.as_bytes()[r]);
        }
    }
    let text = String::from_utf8_lossy(&text).into_owned();
    INDICES
        .replace_all(&text, |c: &regex::Captures| " ".repeat(c[0].len()))
        .into_owned()
}

/// The allow-list: number → reason.
///
/// # Errors
/// A line without ` | ` and a reason, or a number listed twice.
pub fn allowed(root: &Path) -> Result<BTreeMap<String, String>, Vec<Problem>> {
    let text = std::fs::read_to_string(root.join(ALLOWED)).unwrap_or_default();
    let mut list = BTreeMap::new();
    let mut problems = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once(" | ") {
            Some((n, reason)) if !reason.trim().is_empty() => {
                if list
                    .insert(n.trim().to_string(), reason.trim().to_string())
                    .is_some()
                {
                    problems.push(Problem::at(
                        ALLOWED,
                        i + 1,
                        format!("`{}` is listed twice", n.trim()),
                    ));
                }
            }
            _ => problems.push(Problem::at(
                ALLOWED,
                i + 1,
                "expected `number | reason`",
            )),
        }
    }
    if problems.is_empty() {
        Ok(list)
    } else {
        Err(problems)
    }
}

/// Every number with three or more significant digits in the pages'
/// prose, captions and the figures' alt texts that is neither from a
/// directive nor in the allow-list; and every allow-list entry that no
/// page uses any more.
pub fn check(root: &Path) -> Vec<Problem> {
    let allowed = match allowed(root) {
        Ok(a) => a,
        Err(p) => return p,
    };
    let mut used = std::collections::BTreeSet::new();
    let mut problems = Vec::new();
    let mut look = |file: &str,
                    line_of: &dyn Fn(usize) -> usize,
                    text: &str,
                    lang: Lang| {
        for (pos, number) in numbers(text, lang) {
            let key = normalize(&number, lang);
            if allowed.contains_key(&key) {
                used.insert(key);
            } else {
                problems.push(Problem::at(
                    file,
                    line_of(pos),
                    format!(
                        "the number {number} is typed in: take it from the \
                         code with `{{{{#value id}}}}` (xtask/src/values/), \
                         or add `{key} | reason` to {ALLOWED}"
                    ),
                ));
            }
        }
    };
    for lang in Lang::ALL {
        let dir = root.join("src").join(lang.code());
        let mut pages = Vec::new();
        crate::files::walk(&dir, &mut |p| {
            if p.extension().is_some_and(|e| e == "md")
                && p.file_name().is_some_and(|n| {
                    n != "SUMMARY.md"
                        && n != "references.md"
                        && n != "exercises.md"
                })
            {
                pages.push(p.to_path_buf());
            }
        });
        pages.sort();
        for page in pages {
            let Ok(source) = std::fs::read_to_string(&page) else {
                continue;
            };
            let rel = page.strip_prefix(root).unwrap_or(&page);
            let file = rel.display().to_string();
            let text = prose_only(&source);
            look(
                &file,
                &|pos| crate::problem::line_of(&text, pos),
                &text,
                lang,
            );
        }
        for figure in crate::figures::all() {
            let alt = prose_only(figure.alt(lang));
            let file =
                format!("{} (alt text of `{}`)", figure.source, figure.id);
            look(&file, &|_| 1, &alt, lang);
        }
    }
    for key in allowed.keys() {
        if !used.contains(key) {
            problems.push(Problem::new(
                ALLOWED,
                format!("`{key}` is allowed but no page writes it any more; remove it"),
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn significant_digits_are_counted_as_written() {
        assert_eq!(significant_digits("2000"), 1);
        assert_eq!(significant_digits("106591"), 6);
        assert_eq!(significant_digits("0.60"), 2);
        assert_eq!(significant_digits("0.00098"), 2);
        assert_eq!(significant_digits("24.7"), 3);
        assert_eq!(significant_digits("1075"), 4);
    }

    #[test]
    fn numbers_are_found_per_language_and_names_skipped() {
        let de = "Von 106\u{202f}591 Zeichen, 96 500 davon; $0{,}693$ nats, \
                  f64 und ch04, 2000 Schritte, 6,6 und (1.18), $16\\,384$.";
        let found: Vec<String> = numbers(de, Lang::De)
            .into_iter()
            .map(|(_, n)| normalize(&n, Lang::De))
            .collect();
        assert_eq!(found, ["106591", "96500", "0.693", "1.18", "16384"]);
        let en = "Of 106,591 characters, 0.693 nats; 1, 2 and 3.";
        let found: Vec<String> = numbers(en, Lang::En)
            .into_iter()
            .map(|(_, n)| normalize(&n, Lang::En))
            .collect();
        assert_eq!(found, ["106591", "0.693"]);
    }

    #[test]
    fn code_directives_and_links_are_not_prose() {
        let page = "a `x = 1234` b {{#value ch04.v}} [c](../x/1999.md)\n\
                    ```\n12345\n```\n\
                    {{#figure f Kurve mit 3,21 und {{#eq e}} 4567.}}\n";
        let text = prose_only(page);
        assert_eq!(text.len(), page.len());
        let found: Vec<String> = numbers(&text, Lang::De)
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        assert_eq!(found, ["3,21", "4567"]);
    }

    /// The rule itself: every number of three or more significant digits
    /// in the book is computed or allowed with a reason.
    #[test]
    fn typed_in_numbers_are_allowed_with_a_reason() {
        let root = crate::measure::repo_root();
        let problems = check(&root);
        assert!(
            problems.is_empty(),
            "{}",
            crate::problem::to_error(&problems)
        );
    }
}
