//! Spelling of the prose in both languages, checked by hunspell with
//! Debian's dictionaries (`apt-get install hunspell hunspell-de-de
//! hunspell-en-us`) and the project's word lists in `tests/spelling/`.
//!
//! Code, math, URLs, HTML tags and directives are removed first, by the
//! book's one Markdown stripper (chapter 4's `markdown` module); figure
//! captions are prose and stay. In the glossary, the first column is
//! German and the second English, in both books; the third, the
//! definition, is in the page's language.
//!
//! It needs hunspell, so it is ignored by a plain `cargo test` and run by
//! `cargo test -- --include-ignored` (as `.ci/run` does), where a missing
//! dictionary is a failure that names the packages.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::LazyLock;

use ch04_language_model::markdown;
use genai_book::{read, root};
use regex::Regex;

/// One line of prose to check, with where it came from.
struct Line {
    file: String,
    number: usize,
    dictionary: &'static str,
    text: String,
}

fn dictionary(lang: &str) -> &'static str {
    match lang {
        "de" => "de_DE",
        _ => "en_US",
    }
}

/// A suffix written onto a formula: `-th` of "$i$-th".
static MATH_SUFFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^-\p{L}+").unwrap());
/// A word: letters, with inner hyphens or apostrophes.
static WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\p{L}+(?:['’-]\p{L}+)*").unwrap());
/// Tokens that are identifiers, paths or numbers, not words.
static TECHNICAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\S*[0-9_/\\:=]\S*|\b[a-z]+[A-Z]\w*").unwrap()
});

/// The prose lines of one Markdown file, as chapter 4's stripper
/// ([`markdown::pieces`]) finds them: code, math, URLs, tags and
/// directives removed, figure captions kept, line numbers from the byte
/// ranges. Text in an element with `lang` (`<cite lang="en">Layer
/// Normalization</cite>` on a German page) goes to that dictionary.
fn prose(file: &str, lang: &str, text: &str) -> Vec<Line> {
    let is_glossary = file.ends_with("glossary.md");
    let starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let line_of = |at: usize| starts.partition_point(|&s| s <= at);
    let mut lines: BTreeMap<(usize, &'static str), String> = BTreeMap::new();
    let mut after_math = false;
    for piece in markdown::pieces(text, true) {
        let dict = match (piece.lang, piece.cell) {
            (Some(l), _) => dictionary(l),
            // The glossary's first column is German, its second English.
            (None, Some(0)) if is_glossary => "de_DE",
            (None, Some(1)) if is_glossary => "en_US",
            _ => dictionary(lang),
        };
        let mut part = match piece.kind {
            // A suffix written onto a formula ("$i$-th", "$x$-Achse") is
            // not a word of its own.
            markdown::Kind::Text if after_math => {
                MATH_SUFFIX.replace(&piece.text, " ").into_owned()
            }
            markdown::Kind::Text => piece.text.clone(),
            _ => " ".to_string(),
        };
        after_math = piece.kind == markdown::Kind::Math;
        // Pieces are apart: table cells, a link's text and the colon
        // after it (`[Notation](notation.md):`).
        part.insert(0, ' ');
        let first = line_of(piece.range.start);
        for (k, segment) in part.split('\n').enumerate() {
            let line = lines.entry((first + k, dict)).or_default();
            line.push_str(segment);
        }
    }
    lines
        .into_iter()
        .map(|((number, dictionary), line)| Line {
            file: file.to_string(),
            number,
            dictionary,
            text: words(&TECHNICAL.replace_all(&line, " ")),
        })
        .collect()
}

/// The words of a line without technical tokens: single letters are symbols (x, ε), and an
/// English possessive is checked as its noun.
fn words(t: &str) -> String {
    WORD.find_iter(t)
        .map(|m| m.as_str())
        .filter(|w| w.chars().count() > 1)
        .map(|w| w.trim_end_matches("'s").trim_end_matches("’s"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `hunspell -a` on the lines and returns the unknown words of each.
fn unknown_words(
    dict: &str,
    words: &Path,
    lines: &[&Line],
) -> Vec<Vec<String>> {
    let mut child = Command::new("hunspell")
        .args(["-a", "-i", "utf-8", "-d", dict, "-p"])
        .arg(words)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("hunspell runs");
    {
        let mut stdin = child.stdin.take().unwrap();
        for line in lines {
            // `^` makes hunspell read the rest as text, never as a command.
            writeln!(stdin, "^{}", line.text.replace('\n', " ")).unwrap();
        }
    }
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "hunspell failed for {dict}");
    let text = String::from_utf8(output.stdout).unwrap();
    // After the banner, one block per input line, each ending in a blank
    // line; `&` and `#` lines name unknown words.
    let mut blocks = text.split('\n').skip(1);
    let mut result = Vec::new();
    for _ in lines {
        let mut unknown = Vec::new();
        for l in blocks.by_ref() {
            if l.is_empty() {
                break;
            }
            if l.starts_with('&') || l.starts_with('#') {
                unknown.push(
                    l.split_whitespace().nth(1).unwrap_or("").to_string(),
                );
            }
        }
        result.push(unknown);
    }
    result
}

fn markdown_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            markdown_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "md") {
            out.push(p);
        }
    }
}

fn has_hunspell() -> bool {
    let ok = |d: &str| {
        Command::new("hunspell")
            .args(["-d", d, "-l"])
            .stdin(Stdio::null())
            .output()
            .is_ok_and(|o| o.status.success())
    };
    ok("de_DE") && ok("en_US")
}

#[test]
#[ignore = "needs hunspell; apt-get install hunspell hunspell-de-de hunspell-en-us"]
fn prose_in_both_languages_is_spelled_correctly() {
    assert!(
        has_hunspell(),
        "spelling test needs hunspell with de_DE and en_US: \
         apt-get install hunspell hunspell-de-de hunspell-en-us"
    );
    let root = root();
    let mut lines = Vec::new();
    for lang in ["de", "en"] {
        let mut files = Vec::new();
        markdown_files(&root.join("src").join(lang), &mut files);
        for file in files {
            let rel = file.strip_prefix(&root).unwrap().display().to_string();
            lines.extend(prose(&rel, lang, &read(&file)));
        }
    }
    let mut problems = BTreeSet::new();
    for (dict, words) in [
        ("de_DE", "tests/spelling/words-de.txt"),
        ("en_US", "tests/spelling/words-en.txt"),
    ] {
        let batch: Vec<&Line> =
            lines.iter().filter(|l| l.dictionary == dict).collect();
        let unknown = unknown_words(dict, &root.join(words), &batch);
        for (line, words) in batch.iter().zip(unknown) {
            for word in words {
                problems.insert(format!(
                    "{}:{}: {word} ({dict})",
                    line.file, line.number
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} unknown word(s); fix them or add real terms to tests/spelling/words-*.txt:\n{}",
        problems.len(),
        problems.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn code_math_and_urls_are_not_prose() {
    let text = "Die `softmax` hat $e^x$ und\n$$\nx\n$$\nsiehe https://a.b/c [Link](x.md) {{#eq softmax}} <b>fett</b> f64 w_q\n{{#figure f Eine Kurve $T$.}}\n";
    let lines = prose("src/de/x.md", "de", text);
    let words: Vec<(usize, &str)> = lines
        .iter()
        .filter(|l| !l.text.is_empty())
        .map(|l| (l.number, l.text.as_str()))
        .collect();
    assert_eq!(
        words,
        [
            (1, "Die hat und"),
            (5, "siehe Link fett"),
            (6, "Eine Kurve")
        ]
    );
}

#[test]
fn text_marked_with_another_language_goes_to_its_dictionary() {
    let text = "# Literatur\n\nBa (2016): <cite lang=\"en\">Layer\nNormalization</cite>. Preprint.\n";
    let lines = prose("src/de/references.md", "de", text);
    let de: Vec<(usize, &str)> = lines
        .iter()
        .filter(|l| l.dictionary == "de_DE" && !l.text.is_empty())
        .map(|l| (l.number, l.text.as_str()))
        .collect();
    let en: Vec<(usize, &str)> = lines
        .iter()
        .filter(|l| l.dictionary == "en_US")
        .map(|l| (l.number, l.text.as_str()))
        .collect();
    assert_eq!(en, [(3, "Layer"), (4, "Normalization")]);
    assert_eq!(de, [(1, "Literatur"), (3, "Ba"), (4, "Preprint")]);
}
