//! Spelling of the prose in both languages, checked by hunspell with
//! Debian's dictionaries (`apt-get install hunspell hunspell-de-de
//! hunspell-en-us`) and the project's word lists in `tests/spelling/`.
//!
//! Code, math, URLs, HTML tags and directives are removed first; figure
//! captions are prose and stay. In the glossary, the first column is
//! German and the second English, in both books; the third, the
//! definition, is in the page's language.
//!
//! It needs hunspell, so it is ignored by a plain `cargo test` and run by
//! `cargo test -- --include-ignored` (as `.ci/run` does), where a missing
//! dictionary is a failure that names the packages.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::LazyLock;

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

static INLINE_CODE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"`[^`]*`").unwrap());
static DISPLAY_MATH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)\$\$.*?\$\$").unwrap());
/// Inline math, with a suffix written onto it ("$i$-th", "$i$-te").
static INLINE_MATH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\$[^$]*\$(?:-\p{L}+)?").unwrap());
static DIRECTIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\{\{#(figure)\s+\S+|\{\{#\w+\s+[^}]*\}\}|\}\}").unwrap()
});
static URL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"https?://\S+|\]\([^)]*\)").unwrap());
static TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<[^>]+>").unwrap());
/// A word: letters, with inner hyphens or apostrophes.
static WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\p{L}+(?:['’-]\p{L}+)*").unwrap());
/// Tokens that are identifiers, paths or numbers, not words.
static TECHNICAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\S*[0-9_/\\:=]\S*|\b[a-z]+[A-Z]\w*").unwrap()
});

/// An element in the other language, `<cite lang="en">Layer
/// Normalization</cite>` on a German page: its text is checked with the
/// dictionary of its `lang`.
static LANG_ELEMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?s)<(?:cite|span|i|em|q)\s+lang="(de|en)"[^>]*>(.*?)</(?:cite|span|i|em|q)>"#,
    )
    .unwrap()
});

/// The prose lines of one Markdown file, with code and math removed and
/// line numbers kept.
fn prose(file: &str, lang: &str, text: &str) -> Vec<Line> {
    // Blank out display math across lines, keeping the line breaks.
    let text = DISPLAY_MATH.replace_all(text, |c: &regex::Captures| {
        c[0].chars().filter(|&ch| ch == '\n').collect::<String>()
    });
    let is_glossary = file.ends_with("glossary.md");
    let mut lines = Vec::new();
    // Text marked with another language goes to that dictionary, line by
    // line, and is blanked out of the page's own lines.
    for c in LANG_ELEMENT.captures_iter(&text) {
        let inner = c.get(2).unwrap();
        let first = text[..inner.start()].matches('\n').count();
        for (k, part) in inner.as_str().split('\n').enumerate() {
            lines.push(Line {
                file: file.to_string(),
                number: first + k + 1,
                dictionary: dictionary(&c[1]),
                text: words(&clean(part)),
            });
        }
    }
    let text = LANG_ELEMENT.replace_all(&text, |c: &regex::Captures| {
        let breaks: String = c[0].chars().filter(|&ch| ch == '\n').collect();
        format!(" {breaks}")
    });
    let mut in_fence = false;
    for (i, raw) in text.lines().enumerate() {
        if raw.trim_start().starts_with("```")
            || raw.trim_start().starts_with("~~~")
        {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        let clean = clean(raw);
        let cells: Vec<&str> = clean.split('|').collect();
        if is_glossary && cells.len() >= 4 {
            // The definition (third column) is prose of the page's language.
            let definition = if cells.len() >= 5 { cells[3] } else { "" };
            for (cell, dict) in [
                (cells[1], "de_DE"),
                (cells[2], "en_US"),
                (definition, dictionary(lang)),
            ] {
                lines.push(Line {
                    file: file.to_string(),
                    number: i + 1,
                    dictionary: dict,
                    text: words(cell),
                });
            }
            continue;
        }
        lines.push(Line {
            file: file.to_string(),
            number: i + 1,
            dictionary: dictionary(lang),
            text: words(&clean),
        });
    }
    lines
}

/// One line with code, math, directives, links, tags and identifiers
/// removed.
fn clean(raw: &str) -> String {
    let mut clean = INLINE_CODE.replace_all(raw, " ").into_owned();
    clean = INLINE_MATH.replace_all(&clean, " ").into_owned();
    clean = DIRECTIVE.replace_all(&clean, " ").into_owned();
    clean = URL.replace_all(&clean, " ").into_owned();
    clean = TAG.replace_all(&clean, " ").into_owned();
    TECHNICAL.replace_all(&clean, " ").into_owned()
}

/// The words of a cleaned line: single letters are symbols (x, ε), and an
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
    let all: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(all[0], "Die hat und");
    assert_eq!(lines[4].number, 5);
    assert_eq!(all[4], "siehe Link fett");
    assert_eq!(all[5], "Eine Kurve");
}

#[test]
fn text_marked_with_another_language_goes_to_its_dictionary() {
    let text = "# Literatur\n\nBa (2016): <cite lang=\"en\">Layer\nNormalization</cite>. Preprint.\n";
    let lines = prose("src/de/references.md", "de", text);
    let de: Vec<(usize, &str)> = lines
        .iter()
        .filter(|l| l.dictionary == "de_DE")
        .map(|l| (l.number, l.text.as_str()))
        .collect();
    let en: Vec<(usize, &str)> = lines
        .iter()
        .filter(|l| l.dictionary == "en_US")
        .map(|l| (l.number, l.text.as_str()))
        .collect();
    assert_eq!(en, [(3, "Layer"), (4, "Normalization")]);
    assert_eq!(de[2], (3, "Ba"));
    assert_eq!(de[3], (4, "Preprint"));
}
