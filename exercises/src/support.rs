//! What the tests of the exercises share: checking that a number a
//! solution states is the number a test computes.
//!
//! Minimal version from the content branch; the infrastructure branch
//! provides the full one with the same functions.

use std::path::{Path, PathBuf};

/// The repository root (the parent of this crate).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate lies in the repository")
        .to_path_buf()
}

/// The solution block of exercise `id` (`"1.3"`) on the page of `lang`.
fn solution(lang: &str, id: &str) -> (String, String) {
    let (chapter, number) = id.split_once('.').expect("an id like 1.3");
    let chapter: u32 = chapter.parse().expect("a chapter number");
    let file = format!("src/{lang}/ch{chapter:02}/exercises.md");
    let text = std::fs::read_to_string(root().join(&file))
        .unwrap_or_else(|e| panic!("{file}: cannot read: {e}"));
    let anchor = format!("{{#ex-{chapter}-{number}}}");
    let start = text
        .find(&anchor)
        .unwrap_or_else(|| panic!("{file}: no exercise {id} ({anchor})"));
    let rest = &text[start..];
    let open = rest
        .find("<details class=\"solution\">")
        .unwrap_or_else(|| {
            panic!("{file}: exercise {id} has no solution block")
        });
    let close = rest[open..]
        .find("</details>")
        .unwrap_or_else(|| panic!("{file}: exercise {id}: unclosed solution"));
    (file, rest[open..open + close].to_string())
}

/// Whether `needle` occurs in `hay` with no digit right before or after.
fn contains_alone(hay: &str, needle: &str) -> bool {
    let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
    hay.match_indices(needle).any(|(i, m)| {
        !digit(hay[..i].chars().next_back())
            && !digit(hay[i + m.len()..].chars().next())
    })
}

/// Asserts that the solution of exercise `id` states `text` (German with
/// a decimal comma, in math also `{,}`; English with a point), with `-`
/// or `−` as minus sign.
fn assert_states(id: &str, english: &str) {
    let german = english.replace('.', ",");
    let german_math = english.replace('.', "{,}");
    for (lang, forms) in [
        ("de", vec![german, german_math]),
        ("en", vec![english.to_string()]),
    ] {
        let (file, block) = solution(lang, id);
        let mut forms = forms;
        let minus: Vec<String> = forms
            .iter()
            .filter(|f| f.starts_with('-'))
            .map(|f| f.replacen('-', "−", 1))
            .collect();
        forms.extend(minus);
        assert!(
            forms.iter().any(|f| contains_alone(&block, f)),
            "{file}: the solution of exercise {id} does not state {}",
            forms.join(" or ")
        );
    }
}

/// Asserts that the solution of exercise `id` states `value` rounded to
/// `decimals` places, in both languages.
pub fn assert_answer(id: &str, value: f64, decimals: usize) {
    assert!(value.is_finite(), "exercise {id}: the value is {value}");
    assert_states(id, &format!("{value:.decimals$}"));
}

/// Asserts that the solution of exercise `id` states the integer `n`, in
/// both languages.
pub fn assert_answer_int(id: &str, n: i64) {
    assert_states(id, &n.to_string());
}
