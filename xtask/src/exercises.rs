//! The exercises at the end of every chapter (`src/{de,en}/chNN/exercises.md`)
//! and the code exercises in `exercises/` (see `exercises/README.md`):
//! the checks of the pages and files, and `cargo xtask exercise`, which
//! runs the tests of the code exercises against the student's stubs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::LazyLock;

use anyhow::{Context, Result, bail};
use regex::Regex;

use crate::lang::Lang;
use crate::problem::Problem;

/// The file name of an exercise page inside a chapter folder.
pub const PAGE: &str = "exercises.md";

/// Where `cargo xtask exercise` builds, apart from the workspace's own
/// `target/debug`, so that it never waits for another cargo command.
pub const TARGET_DIR: &str = "target/exercises";

/// The three kinds of exercise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Pen and paper.
    Derivation,
    /// Numbers, by hand or with a calculator.
    Computation,
    /// Rust, in `exercises/stubs/`.
    Code,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Derivation, Kind::Computation, Kind::Code];

    /// The word on the kind line of a page in `lang`.
    pub fn word(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Kind::Derivation, Lang::De) => "Herleitung",
            (Kind::Computation, Lang::De) => "Rechnung",
            (Kind::Code, Lang::De) => "Programmieren",
            (Kind::Derivation, Lang::En) => "Derivation",
            (Kind::Computation, Lang::En) => "Computation",
            (Kind::Code, Lang::En) => "Code",
        }
    }

    fn from_word(word: &str, lang: Lang) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.word(lang) == word)
    }
}

/// The heading word of an exercise and the summary of its solution.
fn words(lang: Lang) -> (&'static str, &'static str) {
    match lang {
        Lang::De => ("Aufgabe", "Lösung"),
        Lang::En => ("Exercise", "Solution"),
    }
}

/// One exercise as its page states it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exercise {
    /// Chapter and number: exercise `N.M`.
    pub id: (u32, u32),
    /// The 1-based line of its heading.
    pub line: usize,
    /// The number of stars, 1 to 3.
    pub stars: usize,
    /// Its kind, if the kind line names one.
    pub kind: Option<Kind>,
    /// The file stem `chNN_M` of its code, if it has a `Code:` line.
    pub code: Option<String>,
    /// How many solution blocks it has (exactly one is right).
    pub solutions: usize,
}

impl Exercise {
    /// `N.M`.
    pub fn name(&self) -> String {
        format!("{}.{}", self.id.0, self.id.1)
    }
}

static HEADING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^###?\s+(\S+)\s+(\d+)\.(\d+):\s+(.*?)\s*(★*)\s*\{#ex-(\d+)-(\d+)\}\s*$",
    )
    .unwrap()
});
static KIND_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\*([A-Za-zäöüÄÖÜ]+)\* ·( \{\{#eq [A-Za-z0-9_]+\}\}(, \{\{#eq [A-Za-z0-9_]+\}\})*)?\s*$")
        .unwrap()
});
static CODE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^Code: `exercises/stubs/(ch\d\d_\d+)\.rs`, Test: `cargo xtask exercise (ch\d\d-\d+)`\s*$",
    )
    .unwrap()
});

/// The exercises of one page, and what is wrong with it (`(line, message)`).
/// `chapter` is the number of the page's chapter folder, `lang` its
/// language.
pub fn parse_page(
    text: &str,
    chapter: u32,
    lang: Lang,
) -> (Vec<Exercise>, Vec<(usize, String)>) {
    let (word, summary) = words(lang);
    let mut exercises: Vec<Exercise> = Vec::new();
    let mut errors = Vec::new();
    // Whether the exercise last pushed is still open (no other heading
    // came since).
    let mut open = false;
    let mut in_details: Option<usize> = None;
    let lines: Vec<&str> = text.lines().collect();
    let mut in_fence = false;
    // Whether a level-2 heading came before (an exercise at level 3 needs
    // one, or the page skips a level).
    let mut seen_h2 = false;
    for (i, raw) in lines.iter().enumerate() {
        let n = i + 1;
        let line = raw.trim_end();
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        }
        if in_fence {
            continue;
        }
        if line.starts_with('#') {
            if let Some(start) = in_details {
                errors.push((
                    start,
                    "solution block not closed with `</details>` before \
                     the next heading"
                        .to_string(),
                ));
                in_details = None;
            }
            open = false;
            let h2_before = seen_h2;
            seen_h2 |= line.starts_with("## ");
            let Some(c) = HEADING.captures(line) else {
                let level = line.starts_with("## ") || line.starts_with("### ");
                let exercise_like = line.contains("{#ex-")
                    || line
                        .trim_start_matches('#')
                        .trim_start()
                        .starts_with(&format!("{word} "));
                if level && exercise_like {
                    errors.push((
                        n,
                        format!(
                            "exercise heading not of the form `## {word} \
                             N.M: Title ★★ {{#ex-N-M}}`"
                        ),
                    ));
                }
                continue;
            };
            let num = |k: usize| c[k].parse::<u32>().unwrap_or(0);
            let id = (num(2), num(3));
            let name = format!("{}.{}", id.0, id.1);
            if &c[1] != word {
                errors.push((
                    n,
                    format!(
                        "exercise {name}: the heading says `{}`, a page in \
                         this language says `{word}`",
                        &c[1]
                    ),
                ));
            }
            if (num(6), num(7)) != id {
                errors.push((
                    n,
                    format!(
                        "exercise {name}: its anchor is {{#ex-{}-{}}}, \
                         expected {{#ex-{}-{}}}",
                        &c[6], &c[7], id.0, id.1
                    ),
                ));
            }
            if id.0 != chapter {
                errors.push((
                    n,
                    format!(
                        "exercise {name} stands on the page of chapter \
                         {chapter}"
                    ),
                ));
            }
            let expected = exercises.len() as u32 + 1;
            if id.1 != expected {
                errors.push((
                    n,
                    format!(
                        "exercise {name}: expected number {chapter}.\
                         {expected} (exercises are numbered 1, 2, 3 … in \
                         order)"
                    ),
                ));
            }
            if line.starts_with("### ") && !h2_before {
                errors.push((
                    n,
                    format!(
                        "exercise {name}: a level-3 heading right under the \
                         page's title skips level 2; write `## {word} …`"
                    ),
                ));
            }
            let stars = c[5].chars().count();
            if !(1..=3).contains(&stars) {
                errors.push((
                    n,
                    format!(
                        "exercise {name} has {stars} stars; give it 1 to 3 \
                         (★) before its anchor"
                    ),
                ));
            }
            // The kind line: the next line that is not blank.
            let next = lines[i + 1..]
                .iter()
                .position(|l| !l.trim().is_empty())
                .map(|j| (i + 1 + j + 1, lines[i + 1 + j].trim_end()));
            let kind = match next.and_then(|(_, l)| KIND_LINE.captures(l)) {
                Some(k) => {
                    let kind = Kind::from_word(&k[1], lang);
                    if kind.is_none() {
                        let known: Vec<String> = Kind::ALL
                            .iter()
                            .map(|k| format!("*{}*", k.word(lang)))
                            .collect();
                        errors.push((
                            next.map_or(n, |(l, _)| l),
                            format!(
                                "exercise {name}: unknown kind `{}`; one of {}",
                                &k[1],
                                known.join(", ")
                            ),
                        ));
                    }
                    kind
                }
                None => {
                    errors.push((
                        next.map_or(n, |(l, _)| l),
                        format!(
                            "exercise {name} has no kind line after its \
                             heading (`*{}* · {{{{#eq id}}}}, …`)",
                            Kind::Derivation.word(lang)
                        ),
                    ));
                    None
                }
            };
            exercises.push(Exercise {
                id,
                line: n,
                stars,
                kind,
                code: None,
                solutions: 0,
            });
            open = true;
            continue;
        }
        let trimmed = line.trim_start();
        if trimmed.starts_with("<details") {
            if !trimmed.starts_with("<details class=\"solution\">") {
                continue;
            }
            if let Some(start) = in_details {
                errors.push((
                    start,
                    "solution block not closed before the next one".into(),
                ));
            }
            in_details = Some(n);
            match exercises.last_mut().filter(|_| open) {
                Some(e) => e.solutions += 1,
                None => errors.push((
                    n,
                    "solution without an exercise: no exercise heading \
                     (`### …{#ex-N-M}`) before it"
                        .into(),
                )),
            }
            let want = format!("<summary>{summary}</summary>");
            if lines.get(i + 1).map(|l| l.trim()) != Some(want.as_str()) {
                errors.push((
                    n + 1,
                    format!("the solution block's next line must be `{want}`"),
                ));
            } else if lines.get(i + 2).is_some_and(|l| !l.trim().is_empty()) {
                errors.push((
                    n + 2,
                    "a blank line must follow the summary (else mdBook \
                     leaves the Markdown and math inside unrendered)"
                        .into(),
                ));
            }
            continue;
        }
        if trimmed == "</details>" {
            match in_details.take() {
                Some(_) => {
                    if i > 0 && !lines[i - 1].trim().is_empty() {
                        errors.push((
                            n,
                            "a blank line must precede `</details>`".into(),
                        ));
                    }
                }
                None => errors.push((n, "`</details>` without a block".into())),
            }
            continue;
        }
        if line.starts_with("Code:") {
            let Some(c) = CODE_LINE.captures(line) else {
                errors.push((
                    n,
                    "code line not of the form ``Code: \
                     `exercises/stubs/chNN_M.rs`, Test: `cargo xtask \
                     exercise chNN-M` ``"
                        .into(),
                ));
                continue;
            };
            let Some(e) = exercises.last_mut().filter(|_| open) else {
                errors.push((n, "code line outside an exercise".into()));
                continue;
            };
            let stem = format!("ch{:02}_{}", e.id.0, e.id.1);
            let id = stem.replace('_', "-");
            if c[1] != stem || c[2] != id {
                errors.push((
                    n,
                    format!(
                        "exercise {}: its code is `exercises/stubs/{stem}.rs`, \
                         tested by `cargo xtask exercise {id}`",
                        e.name()
                    ),
                ));
            }
            e.code = Some(stem);
        }
    }
    if let Some(start) = in_details {
        errors.push((
            start,
            "solution block not closed with `</details>`".into(),
        ));
    }
    for e in &exercises {
        let name = e.name();
        match e.solutions {
            1 => {}
            0 => errors.push((
                e.line,
                format!("exercise {name} has no solution (`<details class=\"solution\">`)"),
            )),
            k => errors.push((
                e.line,
                format!("exercise {name} has {k} solution blocks; give it one"),
            )),
        }
        if (e.kind == Some(Kind::Code)) != e.code.is_some() {
            errors.push((
                e.line,
                format!(
                    "exercise {name}: a `*{}*` exercise has a `Code:` line, \
                     and only it",
                    Kind::Code.word(lang)
                ),
            ));
        }
    }
    (exercises, errors)
}

/// The chapter folders `chNN` of `src/<lang>`, by number.
fn chapters(root: &Path, lang: Lang) -> BTreeMap<u32, PathBuf> {
    let mut found = BTreeMap::new();
    let Ok(entries) = fs::read_dir(root.join("src").join(lang.code())) else {
        return found;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(n) = name.strip_prefix("ch").and_then(|n| n.parse().ok())
            && entry.path().is_dir()
        {
            found.insert(n, entry.path());
        }
    }
    found
}

/// The code exercises' file stems (`ch04_4`) that have a stub, in order.
pub fn stub_stems(root: &Path) -> Vec<String> {
    let mut stems: Vec<(u32, u32, String)> = Vec::new();
    if let Ok(entries) = fs::read_dir(root.join("exercises/stubs")) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(stem) = name.strip_suffix(".rs")
                && let Some(id) = parse_stem(stem)
            {
                stems.push((id.0, id.1, stem.to_string()));
            }
        }
    }
    stems.sort();
    stems.into_iter().map(|(_, _, s)| s).collect()
}

/// `chNN_M` or `chNN-M` → `(N, M)`.
fn parse_stem(stem: &str) -> Option<(u32, u32)> {
    let rest = stem.strip_prefix("ch")?;
    let (n, m) = rest.split_once(['_', '-'])?;
    if n.len() != 2 {
        return None;
    }
    Some((n.parse().ok()?, m.parse().ok()?))
}

/// Checks every exercise page and the code exercises' files: see the
/// module documentation and `exercises/README.md`.
pub fn check(root: &Path) -> Vec<Problem> {
    let mut problems = Vec::new();
    // Per language: chapter → exercises.
    let mut found: BTreeMap<&str, BTreeMap<u32, (String, Vec<Exercise>)>> =
        BTreeMap::new();
    for lang in Lang::ALL {
        for (chapter, dir) in chapters(root, lang) {
            let rel = format!("src/{}/ch{chapter:02}/{PAGE}", lang.code());
            let Ok(text) = fs::read_to_string(dir.join(PAGE)) else {
                problems.push(Problem::new(
                    &rel,
                    format!("chapter {chapter} has no exercise page"),
                ));
                continue;
            };
            let (exercises, errors) = parse_page(&text, chapter, lang);
            for (line, msg) in errors {
                problems.push(Problem::at(&rel, line, msg));
            }
            found
                .entry(lang.code())
                .or_default()
                .insert(chapter, (rel, exercises));
        }
    }
    let empty = BTreeMap::new();
    let de = found.get("de").unwrap_or(&empty);
    let en = found.get("en").unwrap_or(&empty);
    // The same exercises in both languages.
    for (chapter, (de_file, de_ex)) in de {
        let Some((en_file, en_ex)) = en.get(chapter) else {
            continue; // parity reports the missing page
        };
        let index = |list: &[Exercise]| -> BTreeMap<(u32, u32), Exercise> {
            list.iter().map(|e| (e.id, e.clone())).collect()
        };
        let (d, e) = (index(de_ex), index(en_ex));
        for (only, file, other) in [(&d, en_file, &e), (&e, de_file, &d)] {
            for (id, ex) in only {
                if !other.contains_key(id) {
                    problems.push(Problem::new(
                        file.as_str(),
                        format!(
                            "exercise {} is missing: the other language has \
                             it (line {})",
                            ex.name(),
                            ex.line
                        ),
                    ));
                }
            }
        }
        for (id, a) in &d {
            let Some(b) = e.get(id) else { continue };
            let what = if a.stars != b.stars {
                Some(format!(
                    "{} stars in German, {} in English",
                    a.stars, b.stars
                ))
            } else if a.kind != b.kind {
                Some("another kind than in German".to_string())
            } else if a.code != b.code {
                Some("another code file than in German".to_string())
            } else {
                None
            };
            if let Some(what) = what {
                problems.push(Problem::at(
                    en_file.as_str(),
                    b.line,
                    format!("exercise {} has {what}", b.name()),
                ));
            }
        }
    }
    // The code exercises' files.
    let lib_rel = "exercises/src/lib.rs";
    let lib = fs::read_to_string(root.join(lib_rel)).unwrap_or_default();
    let mut named = BTreeSet::new();
    for (file, exercises) in de.values() {
        for ex in exercises {
            let Some(stem) = &ex.code else { continue };
            named.insert(stem.clone());
            let name = ex.name();
            for path in [
                format!("exercises/stubs/{stem}.rs"),
                format!("exercises/solutions/{stem}.rs"),
                format!("exercises/tests/{stem}.rs"),
                format!("exercises/hints/de/{stem}.md"),
                format!("exercises/hints/en/{stem}.md"),
            ] {
                if !root.join(&path).is_file() {
                    problems.push(Problem::at(
                        file.as_str(),
                        ex.line,
                        format!("code exercise {name}: {path} is missing"),
                    ));
                }
            }
            for line in [
                format!(
                    "#[cfg_attr(feature = \"stubs\", path = \"../stubs/{stem}.rs\")]"
                ),
                format!(
                    "#[cfg_attr(not(feature = \"stubs\"), path = \"../solutions/{stem}.rs\")]"
                ),
                format!("pub mod {stem};"),
            ] {
                if !lib.lines().any(|l| l.trim() == line) {
                    problems.push(Problem::new(
                        lib_rel,
                        format!(
                            "code exercise {name} ({file}): the line `{line}` \
                             is missing"
                        ),
                    ));
                }
            }
        }
    }
    for stem in stub_stems(root) {
        if !named.contains(&stem) {
            problems.push(Problem::new(
                format!("exercises/stubs/{stem}.rs"),
                "no exercise page names this stub in a `Code:` line",
            ));
        }
    }
    problems
}

/// How a code exercise fared against the student's stub.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// All its tests pass.
    Done,
    /// Some fail; the test binary's output.
    NotDone {
        /// `(failed, total)`, if the output says.
        counts: Option<(usize, usize)>,
        /// What the tests printed.
        output: String,
    },
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Done => write!(f, "done"),
            Outcome::NotDone {
                counts: Some((failed, total)),
                ..
            } => write!(f, "not done ({failed} of {total} tests fail)"),
            Outcome::NotDone { .. } => write!(f, "not done"),
        }
    }
}

/// Turns what a user typed (`ch04-4`, `ch04_4`, `4.4`) into a stem
/// `ch04_4` that exists, or an error listing the ids that do.
pub fn resolve(root: &Path, id: &str) -> Result<String> {
    let stems = stub_stems(root);
    let parsed = parse_stem(id).or_else(|| {
        let (n, m) = id.split_once('.')?;
        Some((n.parse().ok()?, m.parse().ok()?))
    });
    if let Some((n, m)) = parsed {
        let stem = format!("ch{n:02}_{m}");
        if stems.contains(&stem) {
            return Ok(stem);
        }
    }
    let ids: Vec<String> = stems.iter().map(|s| s.replace('_', "-")).collect();
    bail!(
        "no code exercise `{id}`; the code exercises are: {}",
        if ids.is_empty() {
            "none".to_string()
        } else {
            ids.join(", ")
        }
    )
}

/// Builds the tests of the exercises `stems` against the stubs (feature
/// `stubs`, into [`TARGET_DIR`]) with one cargo command and runs each
/// exercise's test binary. Never writes to the stubs.
///
/// # Errors
/// Cargo cannot be started, or the stubs do not compile (the error holds
/// the compiler's messages).
pub fn run_stubs(
    root: &Path,
    stems: &[String],
) -> Result<Vec<(String, Outcome)>> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args([
            "test",
            "--package",
            "genai-exercises",
            "--features",
            "stubs",
        ])
        .args(["--no-run", "--message-format=json-render-diagnostics"])
        .arg("--target-dir")
        .arg(root.join(TARGET_DIR));
    for stem in stems {
        cmd.args(["--test", stem]);
    }
    let out = cmd.output().context("cannot run cargo")?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!(
            "the exercises do not compile with the stubs in \
             exercises/stubs/ (fix the first error, then run again):\n{stderr}"
        );
    }
    // The test executables, by target name.
    let mut executables = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] == "compiler-artifact"
            && msg["target"]["kind"][0] == "test"
            && let (Some(name), Some(exe)) =
                (msg["target"]["name"].as_str(), msg["executable"].as_str())
        {
            executables.insert(name.to_string(), PathBuf::from(exe));
        }
    }
    let mut results = Vec::new();
    for stem in stems {
        let exe = executables.get(stem).with_context(|| {
            format!("cargo built no test `{stem}` (exercises/tests/{stem}.rs)")
        })?;
        let run = Command::new(exe)
            .current_dir(root.join("exercises"))
            .env("RUST_BACKTRACE", "0")
            .output()
            .with_context(|| format!("cannot run {}", exe.display()))?;
        let outcome = if run.status.success() {
            Outcome::Done
        } else {
            let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
            Outcome::NotDone {
                counts: counts(&stdout),
                output: stdout,
            }
        };
        results.push((stem.clone(), outcome));
    }
    Ok(results)
}

/// `(failed, total)` from the test harness's last line
/// `test result: FAILED. 1 passed; 3 failed; 0 ignored; …`.
fn counts(output: &str) -> Option<(usize, usize)> {
    static RESULT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"test result: \w+\. (\d+) passed; (\d+) failed").unwrap()
    });
    let c = RESULT.captures_iter(output).last()?;
    let (passed, failed): (usize, usize) =
        (c[1].parse().ok()?, c[2].parse().ok()?);
    Some((failed, passed + failed))
}

/// The language of the hints: `de` or `en` if given, else from `$LANG`
/// (`en…` gives English), else German.
pub fn hint_lang(given: Option<&str>) -> Lang {
    given.and_then(Lang::from_code).unwrap_or_else(|| {
        match std::env::var("LANG") {
            Ok(l) if l.starts_with("en") => Lang::En,
            _ => Lang::De,
        }
    })
}

/// `cargo xtask exercise [ID] [--hint]`: runs one exercise or all against
/// the stubs, prints done / not done per exercise, the first not done
/// with its test output, and its hint if asked. `Ok` when all are done.
pub fn command(
    root: &Path,
    id: Option<&str>,
    hint: bool,
    lang: Lang,
) -> Result<String> {
    let stems = match id {
        Some(id) => vec![resolve(root, id)?],
        None => stub_stems(root),
    };
    if stems.is_empty() {
        bail!("no code exercises in exercises/stubs/");
    }
    eprintln!("building the exercises against exercises/stubs/ …");
    let results = run_stubs(root, &stems)?;
    for (stem, outcome) in &results {
        println!("{:<8} {outcome}", stem.replace('_', "-"));
    }
    let done = results.iter().filter(|(_, o)| *o == Outcome::Done).count();
    let Some((stem, Outcome::NotDone { output, .. })) =
        results.iter().find(|(_, o)| *o != Outcome::Done)
    else {
        return Ok(format!("{done} of {} done", results.len()));
    };
    let (n, m) = parse_stem(stem).unwrap_or_default();
    println!(
        "\nnext: {} — exercise {n}.{m} in src/{}/ch{n:02}/{PAGE}; edit \
         exercises/stubs/{stem}.rs\n",
        stem.replace('_', "-"),
        lang.code()
    );
    // The harness's list of failures, without the per-test noise.
    let summary = output
        .split_once("\nfailures:\n")
        .map_or(output.as_str(), |(_, rest)| rest);
    let shown: Vec<&str> = summary.lines().take(40).collect();
    println!("{}", shown.join("\n"));
    if hint {
        let path = root
            .join("exercises/hints")
            .join(lang.code())
            .join(format!("{stem}.md"));
        let text = fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        println!("\nhint ({}):\n{}", path.display(), text.trim_end());
    } else {
        println!("\n(`cargo xtask exercise --hint` shows a hint)");
    }
    bail!(
        "{done} of {} done; next: {}",
        results.len(),
        stem.replace('_', "-")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_come_from_the_last_result_line() {
        let out = "running 3 tests\n…\ntest result: FAILED. 1 passed; 2 \
                   failed; 0 ignored; 0 measured; 0 filtered out";
        assert_eq!(counts(out), Some((2, 3)));
        assert_eq!(counts("nothing"), None);
    }

    #[test]
    fn stems_parse_in_both_spellings() {
        assert_eq!(parse_stem("ch04_5"), Some((4, 5)));
        assert_eq!(parse_stem("ch04-12"), Some((4, 12)));
        assert_eq!(parse_stem("ch4-1"), None);
        assert_eq!(parse_stem("lib"), None);
    }
}
