//! One meaning per symbol: the pages `Symbole` / `Symbols`
//! (`src/de/symbols.md`, `src/en/symbols.md`) list every macro of
//! `src/macros.txt` and every symbol of a numbered formula that can be
//! recognized mechanically: Greek letters, capital Latin letters (and
//! capital words such as `PE`) outside `\text`, `\mathrm` and
//! `\operatorname`, and `\mathcal` / `\mathbb` letters. Lowercase Latin
//! letters are left out: most of them are indices, local to their formula.
//!
//! A failure names the file and line of the symbol that is missing.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use genai_book::{read, root};
use regex::Regex;

const PAGES: [&str; 2] = ["src/de/symbols.md", "src/en/symbols.md"];

const GREEK: [&str; 35] = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "varepsilon",
    "zeta",
    "eta",
    "theta",
    "vartheta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "pi",
    "rho",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "varphi",
    "chi",
    "psi",
    "omega",
    "Gamma",
    "Delta",
    "Theta",
    "Lambda",
    "Xi",
    "Pi",
    "Sigma",
    "Phi",
    "Omega",
];

/// `\text{...}`, `\mathrm{...}` and `\operatorname{...}`: names and words,
/// not symbols.
static WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\\(?:text|mathrm|operatorname)\s*\{[^{}]*\}").unwrap()
});
static COMMAND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\\(mathcal|mathbb)\s*\{(.)\}|\\([A-Za-z]+)").unwrap()
});
static CAPITAL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\\[A-Za-z]+|([A-Za-z]+)").unwrap());
/// The first cell of a table row that starts with math: the symbol column.
static SYMBOL_CELL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^\| (\$[^|]*\$) \|").unwrap());

/// The macros of `src/macros.txt`: (line number, name, replacement).
fn macros() -> Vec<(usize, String, String)> {
    let text = read(&root().join("src/macros.txt"));
    let mut macros: Vec<(usize, String, String)> = text
        .lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let (name, replacement) = l.split_once(':')?;
            Some((
                i + 1,
                name.trim().to_string(),
                replacement.trim().to_string(),
            ))
        })
        .collect();
    assert!(!macros.is_empty(), "src/macros.txt defines no macro");
    // Longest names first, so that `\vbeta` is not read as `\vb` + `eta`.
    macros.sort_by_key(|(_, name, _)| std::cmp::Reverse(name.len()));
    macros
}

/// TeX with the book's macros replaced by their definitions.
fn expand(tex: &str, macros: &[(usize, String, String)]) -> String {
    let mut out = tex.to_string();
    for (_, name, replacement) in macros {
        // The name must not go on with a letter (`\vd` is not `\vdots`);
        // the `regex` crate has no look-ahead, so the next character is
        // matched and put back, and two uses in a row need a second pass.
        let re = Regex::new(&format!(r"{}([^A-Za-z]|$)", regex::escape(name)))
            .unwrap();
        loop {
            let next = re
                .replace_all(&out, |c: &regex::Captures| {
                    format!("{replacement}{}", &c[1])
                })
                .into_owned();
            if next == out {
                break;
            }
            out = next;
        }
    }
    out
}

/// The recognizable symbols of (expanded) TeX.
fn symbols(tex: &str) -> BTreeSet<String> {
    let tex = WORDS.replace_all(tex, " ");
    let mut found = BTreeSet::new();
    for c in COMMAND.captures_iter(&tex) {
        if let (Some(kind), Some(letter)) = (c.get(1), c.get(2)) {
            found.insert(format!("\\{}{{{}}}", kind.as_str(), letter.as_str()));
        } else if let Some(name) = c.get(3)
            && GREEK.contains(&name.as_str())
        {
            found.insert(format!("\\{}", name.as_str()));
        }
    }
    // Letters inside `\mathcal{..}` and `\mathbb{..}` are counted above.
    let plain = COMMAND.replace_all(&tex, " ");
    for c in CAPITAL.captures_iter(&plain) {
        if let Some(word) = c.get(1)
            && word
                .as_str()
                .starts_with(|ch: char| ch.is_ascii_uppercase())
        {
            found.insert(word.as_str().to_string());
        }
    }
    found
}

/// The symbol column of a symbols page, as one string of TeX.
fn symbol_column(page: &str) -> String {
    let text = read(&root().join(page));
    let cells: Vec<&str> = SYMBOL_CELL
        .captures_iter(&text)
        .map(|c| c.get(1).unwrap().as_str())
        .collect();
    assert!(
        cells.len() > 20,
        "{page}: expected a table of symbols, found {} rows",
        cells.len()
    );
    cells.join(" ")
}

#[test]
fn every_macro_is_explained_on_the_symbols_page() {
    let mut problems = Vec::new();
    for page in PAGES {
        let column = symbol_column(page);
        let listed: BTreeSet<&str> = COMMAND
            .captures_iter(&column)
            .filter_map(|c| c.get(3).map(|m| m.as_str()))
            .collect();
        for (line, name, _) in macros() {
            if !listed.contains(name.trim_start_matches('\\')) {
                problems.push(format!(
                    "src/macros.txt:{line}: macro `{name}` is not in the symbol column of {page}"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_symbol_of_a_numbered_formula_is_on_the_symbols_page() {
    let macros = macros();
    let listed: Vec<(&str, BTreeSet<String>)> = PAGES
        .iter()
        .map(|page| (*page, symbols(&expand(&symbol_column(page), &macros))))
        .collect();
    let registry = xtask::registry::Registry::load(&root())
        .unwrap_or_else(|p| panic!("the registry does not load: {p:?}"));
    assert!(
        registry.formula.len() > 50,
        "the registry lost its formulas"
    );
    let mut problems = Vec::new();
    for (id, formula) in &registry.formula {
        for symbol in symbols(&expand(&formula.tex, &macros)) {
            for (page, symbols) in &listed {
                if !symbols.contains(&symbol) {
                    problems.push(format!(
                        "{}: formula `{id}` uses `{symbol}`, which is not in the symbol column of {page}",
                        where_defined(id)
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn both_languages_list_the_same_symbols() {
    let [de, en] = PAGES.map(symbol_column);
    assert_eq!(
        de, en,
        "src/de/symbols.md and src/en/symbols.md list different symbols, or in another order"
    );
}

#[test]
fn the_recognizer_finds_what_it_should_and_skips_words() {
    let macros = macros();
    let found = symbols(&expand(
        r"\Lik(\vtheta) = \operatorname{NLL} + \mathrm{PE} + PE_{t} W_Q \mathbb{1}[U > 0] \text{Kopf}",
        &macros,
    ));
    let expected: BTreeSet<String> = [
        r"\mathcal{L}",
        r"\theta",
        "PE",
        "W",
        "Q",
        r"\mathbb{1}",
        "U",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(found, expected);
    // A symbol missing from a page is reported: `X` is not in this column.
    assert!(!symbols("$\\vtheta$ $W$").contains("X"));
}

/// `src/registry/chNN.toml:LINE` of a formula, for the messages.
fn where_defined(id: &str) -> String {
    let dir = root().join("src/registry");
    let header = format!("[formula.{id}]");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("src/registry")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    for file in files {
        let text = read(&file);
        if let Some(line) = text.lines().position(|l| l.trim() == header) {
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            return format!("src/registry/{name}:{}", line + 1);
        }
    }
    format!("src/registry (formula `{id}`)")
}
