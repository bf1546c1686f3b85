//! The registry of formulas and listings (`src/registry/*.toml`, one file
//! per chapter).
//!
//! Every formula that the book states as a result exists once, here, and
//! both languages use it through `{{#formula id}}`. Every formula names the
//! listing that implements it; every listing names its file, its anchor and
//! the tests that check it.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;
use serde::Deserialize;

use crate::problem::Problem;

/// Where the registry lives, relative to the book root.
pub const REGISTRY_DIR: &str = "src/registry";

/// A formula of the book.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Formula {
    /// The LaTeX, without delimiters and without `\tag`.
    pub tex: String,
    /// The id of the listing that implements it.
    pub listing: String,
}

/// A piece of Rust code shown in the book.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listing {
    /// The source file, relative to the book root.
    pub file: PathBuf,
    /// The anchor: the code between `// ANCHOR: name` and
    /// `// ANCHOR_END: name`.
    pub anchor: String,
    /// The tests that check it, as `path/to/file.rs::test_function`.
    pub tests: Vec<String>,
}

/// A figure: its drawing function (`xtask/src/figures/`) and the listing
/// whose output it plots.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FigureEntry {
    /// The id of the listing whose output the figure plots.
    pub listing: String,
}

/// The formulas, listings and figures of the book.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    /// Formulas by id.
    #[serde(default)]
    pub formula: BTreeMap<String, Formula>,
    /// Listings by id.
    #[serde(default)]
    pub listing: BTreeMap<String, Listing>,
    /// Figures by id.
    #[serde(default)]
    pub figure: BTreeMap<String, FigureEntry>,
}

impl Registry {
    /// Reads every `*.toml` file of the registry of the book at `root` and
    /// checks that every listing, anchor and test it names exists.
    pub fn load(root: &Path) -> Result<Registry, Vec<Problem>> {
        let dir = root.join(REGISTRY_DIR);
        let mut files: Vec<PathBuf> = fs::read_dir(&dir)
            .map_err(|e| {
                vec![Problem::new(REGISTRY_DIR, format!("cannot read: {e}"))]
            })?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        files.sort();
        let mut registry = Registry::default();
        let mut problems = Vec::new();
        for path in files {
            let name = format!(
                "{REGISTRY_DIR}/{}",
                path.file_name().unwrap().to_string_lossy()
            );
            let part: Registry = match fs::read_to_string(&path)
                .map_err(|e| format!("cannot read: {e}"))
                .and_then(|t| {
                    toml::from_str(&t).map_err(|e| format!("invalid: {e}"))
                }) {
                Ok(part) => part,
                Err(msg) => {
                    problems.push(Problem::new(&name, msg));
                    continue;
                }
            };
            problems.extend(part.validate(root, &name));
            for (id, f) in part.formula {
                if registry.formula.insert(id.clone(), f).is_some() {
                    problems.push(Problem::new(
                        &name,
                        format!("formula `{id}` is defined twice"),
                    ));
                }
            }
            for (id, f) in part.figure {
                if registry.figure.insert(id.clone(), f).is_some() {
                    problems.push(Problem::new(
                        &name,
                        format!("figure `{id}` is defined twice"),
                    ));
                }
            }
            for (id, l) in part.listing {
                if registry.listing.insert(id.clone(), l).is_some() {
                    problems.push(Problem::new(
                        &name,
                        format!("listing `{id}` is defined twice"),
                    ));
                }
            }
        }
        for (id, figure) in &registry.figure {
            if !registry.listing.contains_key(&figure.listing) {
                problems.push(Problem::new(
                    REGISTRY_DIR,
                    format!(
                        "figure `{id}` names listing `{}`, which is not in [listing]",
                        figure.listing
                    ),
                ));
            }
            if crate::figures::find(id).is_none() {
                problems.push(Problem::new(
                    REGISTRY_DIR,
                    format!(
                        "figure `{id}` is registered but no `figure!` in \
                         xtask/src/figures/ draws it"
                    ),
                ));
            }
        }
        for (id, formula) in &registry.formula {
            if !registry.listing.contains_key(&formula.listing) {
                problems.push(Problem::new(
                    REGISTRY_DIR,
                    format!(
                        "formula `{id}` names listing `{}`, which is not in [listing]",
                        formula.listing
                    ),
                ));
            }
        }
        if problems.is_empty() {
            Ok(registry)
        } else {
            Err(problems)
        }
    }

    /// The ids of the formulas that a listing implements.
    pub fn formulas_of(&self, listing: &str) -> Vec<&str> {
        self.formula
            .iter()
            .filter(|(_, f)| f.listing == listing)
            .map(|(id, _)| id.as_str())
            .collect()
    }

    fn validate(&self, root: &Path, file: &str) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut say = |msg: String| problems.push(Problem::new(file, msg));
        for (id, formula) in &self.formula {
            if formula.tex.contains("\\tag") {
                say(format!(
                    "formula `{id}`: leave out \\tag, the number is added by the build"
                ));
            }
        }
        for (id, listing) in &self.listing {
            if let Err(msg) = listing.code(root) {
                say(format!("listing `{id}`: {msg}"));
            }
            if listing.tests.is_empty() {
                say(format!(
                    "listing `{id}` has no test; name at least one in `tests`"
                ));
            }
            for test in &listing.tests {
                if let Err(msg) = check_test(root, test) {
                    say(format!("listing `{id}`: {msg}"));
                }
            }
        }
        problems
    }
}

impl Listing {
    /// The code between the listing's anchors, without nested anchor lines
    /// and with the common indentation removed.
    pub fn code(&self, root: &Path) -> Result<String, String> {
        let text = fs::read_to_string(root.join(&self.file))
            .map_err(|e| format!("cannot read {}: {e}", self.file.display()))?;
        extract_anchor(&text, &self.anchor).ok_or_else(|| {
            format!(
                "{} has no `// ANCHOR: {a}` ... `// ANCHOR_END: {a}`",
                self.file.display(),
                a = self.anchor
            )
        })
    }
}

impl Listing {
    /// What the book prints of the listing: its [`code`](Listing::code)
    /// with the doc sections for rustdoc left out (see [`printed`]).
    pub fn printed(&self, root: &Path) -> Result<String, String> {
        self.code(root).map(|code| printed(&code))
    }
}

/// The sections of a doc comment that rustdoc shows and the book does not
/// print: the page around the listing says where it is in the book, which
/// shapes go in and out, what goes wrong and how it is called.
pub const UNPRINTED_SECTIONS: [&str; 6] =
    ["Book", "Shapes", "Errors", "Example", "Examples", "Panics"];

/// The printed part of a listing's code: signature, body, comments, and of
/// each doc comment its summary, its formula (with the number the build
/// checks). The sections in [`UNPRINTED_SECTIONS`] and
/// every fenced block other than ```` ```text ```` (doctests) are left
/// out; so are blank doc lines that would then end a doc comment or stand
/// twice.
pub fn printed(code: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    // Inside a dropped section; inside a fence, and whether it is dropped.
    let mut dropping = false;
    let mut fence: Option<bool> = None;
    for line in code.lines() {
        let Some(doc) = doc_text(line) else {
            dropping = false;
            fence = None;
            trim_blank_doc_lines(&mut out);
            out.push(line);
            continue;
        };
        let doc = doc.trim_start();
        if let Some(drop) = fence {
            if doc.starts_with("```") {
                fence = None;
            }
            if !(drop || dropping) {
                out.push(line);
            }
            continue;
        }
        if let Some(info) = doc.strip_prefix("```") {
            let drop = !matches!(info.trim(), "text" | "math");
            fence = Some(drop);
            if !(drop || dropping) {
                out.push(line);
            }
            continue;
        }
        if let Some(heading) = doc.strip_prefix("# ") {
            dropping = UNPRINTED_SECTIONS.contains(&heading.trim());
        }
        if dropping {
            continue;
        }
        let blank = doc.is_empty();
        if blank && out.last().is_none_or(|l| is_blank_doc(l)) {
            continue;
        }
        out.push(line);
    }
    trim_blank_doc_lines(&mut out);
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// The text of a `///` or `//!` line after its marker.
fn doc_text(line: &str) -> Option<&str> {
    let t = line.trim_start();
    t.strip_prefix("///").or_else(|| t.strip_prefix("//!"))
}

fn is_blank_doc(line: &str) -> bool {
    doc_text(line).is_some_and(|d| d.trim().is_empty())
}

fn trim_blank_doc_lines(out: &mut Vec<&str>) {
    while out.last().is_some_and(|l| is_blank_doc(l)) {
        out.pop();
    }
}

/// The lines between `// ANCHOR: name` and `// ANCHOR_END: name`, as
/// rust-lang/book and mdBook's `{{#include file:name}}` understand them.
pub fn extract_anchor(text: &str, name: &str) -> Option<String> {
    static BEGIN: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^\s*//\s*ANCHOR:\s*([\w-]+)\s*$").unwrap()
    });
    static END: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^\s*//\s*ANCHOR_END:\s*([\w-]+)\s*$").unwrap()
    });
    let (begin, end) = (&*BEGIN, &*END);
    let mut inside = false;
    let mut lines = Vec::new();
    for line in text.lines() {
        if let Some(c) = begin.captures(line) {
            inside |= &c[1] == name;
            continue;
        }
        if let Some(c) = end.captures(line) {
            if &c[1] == name && inside {
                return Some(dedent(&lines));
            }
            continue;
        }
        if inside {
            lines.push(line);
        }
    }
    None
}

fn dedent(lines: &[&str]) -> String {
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out = String::new();
    for line in lines {
        out.push_str(line.get(indent..).unwrap_or("").trim_end());
        out.push('\n');
    }
    out
}

/// Checks that `path::name` is a function marked `#[test]` in that file.
fn check_test(root: &Path, test: &str) -> Result<(), String> {
    let (file, name) = test.rsplit_once("::").ok_or_else(|| {
        format!("test `{test}` is not of the form `path/to/file.rs::test_name`")
    })?;
    let text = fs::read_to_string(root.join(file))
        .map_err(|e| format!("test `{test}`: cannot read {file}: {e}"))?;
    // One pattern for all test functions, compiled once: building a
    // pattern per test took most of the time of loading the registry.
    static TEST_FN: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"#\[test\]\s*(?:#\[[^\]]*\]\s*)*fn\s+(\w+)\s*\(").unwrap()
    });
    if TEST_FN.captures_iter(&text).any(|c| &c[1] == name) {
        Ok(())
    } else {
        Err(format!("test `{test}`: no `#[test] fn {name}` in {file}"))
    }
}

#[cfg(test)]
mod tests {
    use super::printed;

    #[test]
    fn printed_keeps_summary_formula_and_code_and_drops_rustdoc_sections() {
        let code = "\
/// Adds one.
///
/// ```text
/// f(x) = x + 1                                                 (1.1)
/// ```
///
/// # Shapes
/// A scalar.
///
/// # Book
/// Formel (1.1) / formula (1.1).
///
/// # Errors
/// None.
///
/// # Example
/// ```
/// # use demo::f;
/// assert_eq!(f(1), 2);
/// ```
pub fn f(x: i32) -> i32 {
    // A short comment stays.
    x + 1
}
";
        assert_eq!(
            printed(code),
            "\
/// Adds one.
///
/// ```text
/// f(x) = x + 1                                                 (1.1)
/// ```
pub fn f(x: i32) -> i32 {
    // A short comment stays.
    x + 1
}
"
        );
    }

    #[test]
    fn printed_drops_a_doctest_outside_a_section_and_keeps_other_headings() {
        let code = "\
/// Summary.
///
/// ```
/// assert!(true);
/// ```
///
/// # Numerics
/// Why it is stable.
fn g() {}
";
        assert_eq!(
            printed(code),
            "/// Summary.\n///\n/// # Numerics\n/// Why it is stable.\nfn g() {}\n"
        );
    }
}
