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

/// The formulas and listings of the book.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    /// Formulas by id.
    #[serde(default)]
    pub formula: BTreeMap<String, Formula>,
    /// Listings by id.
    #[serde(default)]
    pub listing: BTreeMap<String, Listing>,
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
            for (id, l) in part.listing {
                if registry.listing.insert(id.clone(), l).is_some() {
                    problems.push(Problem::new(
                        &name,
                        format!("listing `{id}` is defined twice"),
                    ));
                }
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
