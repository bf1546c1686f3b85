//! What the answer tests share: finding the solution of exercise `N.M`
//! on its page in both languages and checking that it states a number
//! that a test computed (`tests/answers_chNN.rs`).

use std::path::{Path, PathBuf};

/// The two languages of the book, with their decimal separator.
const LANGS: [(&str, char); 2] = [("de", ','), ("en", '.')];

/// The repository root (this crate lives one folder below it).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the exercises crate has a parent folder")
        .to_path_buf()
}

/// The exercise page of `chapter` in `lang` (`de` or `en`).
pub fn page_path(lang: &str, chapter: u32) -> PathBuf {
    repo_root()
        .join("src")
        .join(lang)
        .join(format!("ch{chapter:02}"))
        .join("exercises.md")
}

/// Splits an id `"N.M"` into chapter and number.
///
/// # Panics
/// If `id` is not of the form `N.M` with two numbers.
pub fn parse_id(id: &str) -> (u32, u32) {
    let parsed = id
        .split_once('.')
        .and_then(|(n, m)| Some((n.parse().ok()?, m.parse().ok()?)));
    parsed.unwrap_or_else(|| panic!("exercise id {id:?} is not N.M"))
}

/// The text inside the solution block (`<details class="solution">` …
/// `</details>`) of the exercise whose heading ends in `{#ex-N-M}`.
///
/// # Errors
/// No heading with that anchor, or no solution block before the next
/// heading.
pub fn solution_block(page: &str, id: &str) -> Result<String, String> {
    let (n, m) = parse_id(id);
    let anchor = format!("{{#ex-{n}-{m}}}");
    let lines: Vec<&str> = page.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with('#') && l.trim_end().ends_with(&anchor))
        .ok_or_else(|| format!("no heading with {anchor}"))?;
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.starts_with('#'))
        .map_or(lines.len(), |i| start + 1 + i);
    let section = &lines[start + 1..end];
    let open = section
        .iter()
        .position(|l| l.trim_start().starts_with("<details class=\"solution\""))
        .ok_or_else(|| format!("exercise {id} has no solution block"))?;
    let close = section[open..]
        .iter()
        .position(|l| l.trim() == "</details>")
        .ok_or_else(|| format!("the solution of {id} has no </details>"))?;
    Ok(section[open + 1..open + close].join("\n"))
}

/// The ways `value`, rounded to `decimals` places, may be written on a
/// page whose decimal separator is `sep`: `2,773` and `2{,}773` (TeX in
/// German math), `2.773`; a minus as `-` or `−`.
pub fn spellings(value: f64, decimals: usize, sep: char) -> Vec<String> {
    let plain = format!("{:.*}", decimals, value.abs());
    let mut bodies = vec![plain.replace('.', &sep.to_string())];
    if sep == ',' && decimals > 0 {
        bodies.push(plain.replace('.', "{,}"));
    }
    // A value that rounds to zero has no sign.
    let negative =
        value < 0.0 && plain.chars().any(|c| c.is_ascii_digit() && c != '0');
    if !negative {
        return bodies;
    }
    bodies
        .iter()
        .flat_map(|b| [format!("-{b}"), format!("−{b}")])
        .collect()
}

/// Whether `text` holds `number` standing alone: no digit (nor a decimal
/// separator with a digit) right before or after it.
pub fn contains_number(text: &str, number: &str) -> bool {
    let continues = |s: &str| {
        let s = s
            .strip_prefix("{,}")
            .or_else(|| s.strip_prefix(['.', ',']))
            .unwrap_or(s);
        s.starts_with(|c: char| c.is_ascii_digit())
    };
    let ends_number = |s: &str| {
        let s = s
            .strip_suffix("{,}")
            .or_else(|| s.strip_suffix(['.', ',']))
            .unwrap_or(s);
        s.ends_with(|c: char| c.is_ascii_digit())
    };
    text.match_indices(number).any(|(i, _)| {
        let before = &text[..i];
        let after = &text[i + number.len()..];
        let starts_with_digit =
            number.starts_with(|c: char| c.is_ascii_digit());
        let glued_before = starts_with_digit && ends_number(before);
        !glued_before && !continues(after)
    })
}

/// Asserts that the solution of exercise `id` (`"N.M"`) states `value`
/// rounded to `decimals` places, in both languages, each in its own
/// format (German `2,773`, English `2.773`).
///
/// # Panics
/// If a page, the exercise or its solution block is missing, or a
/// solution does not state the number; the message names the file.
pub fn assert_answer(id: &str, value: f64, decimals: usize) {
    assert!(
        value.is_finite(),
        "exercise {id}: the answer {value} is not finite"
    );
    let (chapter, _) = parse_id(id);
    for (lang, sep) in LANGS {
        let path = page_path(lang, chapter);
        let page = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let block = solution_block(&page, id)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let wanted = spellings(value, decimals, sep);
        assert!(
            wanted.iter().any(|w| contains_number(&block, w)),
            "{}: the solution of exercise {id} does not state {} \
             (the value {value} rounded to {decimals} places)",
            path.display(),
            wanted.join(" or ")
        );
    }
}

/// [`assert_answer`] for an integer.
pub fn assert_answer_int(id: &str, n: i64) {
    assert_answer(id, n as f64, 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_per_language() {
        assert_eq!(spellings(2.77259, 3, '.'), ["2.773"]);
        assert_eq!(spellings(2.77259, 3, ','), ["2,773", "2{,}773"]);
        assert_eq!(spellings(-0.5, 1, '.'), ["-0.5", "−0.5"]);
        assert_eq!(spellings(-0.0001, 2, '.'), ["0.00"]);
        assert_eq!(spellings(256.0, 0, ','), ["256"]);
    }

    #[test]
    fn numbers_stand_alone() {
        assert!(contains_number("so $\\approx 2{,}773$.", "2{,}773"));
        assert!(contains_number("is 2.773, which", "2.773"));
        assert!(!contains_number("is 12.773", "2.773"));
        assert!(!contains_number("is 2.7731", "2.773"));
        assert!(!contains_number("is 2,77{,}3", "2,77"));
        assert!(!contains_number("is 3.5", "3"));
        assert!(contains_number("$-3$ and", "-3"));
        assert!(!contains_number("1,256", "256"));
    }

    const PAGE: &str = "# Aufgaben\n\n### Aufgabe 4.1: A ★ {#ex-4-1}\n\n\
        *Rechnung* · \n\nText 1,5\n\n<details class=\"solution\">\n\
        <summary>Lösung</summary>\n\nIt is $2{,}5$.\n\n</details>\n\n\
        ### Aufgabe 4.2: B ★★ {#ex-4-2}\n\nNo solution here.\n";

    #[test]
    fn finds_the_solution_of_the_exercise() {
        let block = solution_block(PAGE, "4.1").unwrap();
        assert!(block.contains("2{,}5"));
        assert!(!block.contains("1,5"), "the task text is not the solution");
        let missing = solution_block(PAGE, "4.2").unwrap_err();
        assert!(missing.contains("no solution block"), "{missing}");
        assert!(solution_block(PAGE, "4.3").is_err());
    }
}
