//! The book's own directives in the Markdown sources.
//!
//! | directive                     | becomes                                  |
//! |-------------------------------|------------------------------------------|
//! | `{{#formula id}}`             | the numbered formula and its listing link |
//! | `{{#listing id}}`             | the listing's code with a caption        |
//! | `{{#figure id Caption text}}` | the figure (inline SVG) with its caption |
//! | `{{#eq id}}`                  | a link "(1.2)" to a formula              |
//!
//! mdBook's own `{{#include ...}}` and friends are left alone. A directive
//! inside a fenced code block, or written `\{{#...}}`, is not expanded.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

/// What a directive asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A numbered display formula.
    Formula,
    /// A listing from `listings/`.
    Listing,
    /// A figure drawn at build time.
    Figure,
    /// A reference to a formula's number.
    Eq,
}

impl Kind {
    /// The directive's name as written in the sources.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Formula => "formula",
            Kind::Listing => "listing",
            Kind::Figure => "figure",
            Kind::Eq => "eq",
        }
    }
}

/// One directive found in a page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    /// What it asks for.
    pub kind: Kind,
    /// The id of the formula, listing or figure.
    pub id: String,
    /// The rest of the directive (the caption of a figure), trimmed.
    pub rest: String,
    /// Where it stands in the page, in bytes.
    pub range: Range<usize>,
    /// The 1-based line where it starts.
    pub line: usize,
}

/// mdBook's own directives, which its `links` preprocessor expands.
const MDBOOK_DIRECTIVES: [&str; 4] =
    ["include", "rustdoc_include", "playground", "title"];

static DIRECTIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?s)(\\)?\{\{#([A-Za-z_]+)(?:\s+([^\s}]+))?(.*?)\}\}").unwrap()
});

/// Finds the book's directives in `text`, in order.
///
/// Returns the line and message of each malformed or unknown directive as
/// an error.
pub fn parse(text: &str) -> Result<Vec<Directive>, Vec<(usize, String)>> {
    let fences = fenced_ranges(text);
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for c in DIRECTIVE.captures_iter(text) {
        let all = c.get(0).unwrap();
        let line = crate::problem::line_of(text, all.start());
        if c.get(1).is_some() || fences.iter().any(|f| f.contains(&all.start()))
        {
            continue;
        }
        let name = &c[2];
        let kind = match name {
            "formula" => Kind::Formula,
            "listing" => Kind::Listing,
            "figure" => Kind::Figure,
            "eq" => Kind::Eq,
            _ if MDBOOK_DIRECTIVES.contains(&name) => continue,
            _ => {
                errors.push((
                    line,
                    format!(
                        "unknown directive `{{{{#{name}}}}}`; known are \
                         formula, listing, figure, eq"
                    ),
                ));
                continue;
            }
        };
        let Some(id) = c.get(3) else {
            errors.push((line, format!("`{{{{#{name}}}}}` needs an id")));
            continue;
        };
        let rest = c.get(4).map_or("", |m| m.as_str()).trim().to_string();
        if kind != Kind::Figure && !rest.is_empty() {
            errors.push((
                line,
                format!("`{{{{#{name} {}}}}}` takes only an id", id.as_str()),
            ));
            continue;
        }
        found.push(Directive {
            kind,
            id: id.as_str().to_string(),
            rest,
            range: all.range(),
            line,
        });
    }
    if errors.is_empty() {
        Ok(found)
    } else {
        Err(errors)
    }
}

/// Byte ranges of fenced code blocks (``` or ~~~).
fn fenced_ranges(text: &str) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut open: Option<(usize, String)> = None;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let fence: String = trimmed
            .chars()
            .take_while(|&ch| ch == '`' || ch == '~')
            .collect();
        match &open {
            None if fence.len() >= 3 => open = Some((pos, fence)),
            Some((start, f))
                if fence.len() >= f.len()
                    && fence.starts_with(&f[..1])
                    && trimmed.trim() == fence =>
            {
                ranges.push(*start..pos + line.len());
                open = None;
            }
            _ => {}
        }
        pos += line.len();
    }
    if let Some((start, _)) = open {
        ranges.push(start..text.len());
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_directives_in_order_with_lines() {
        let text = "a\n{{#formula softmax}}\n{{#figure t Die Kurve $T$.}}\n";
        let d = parse(text).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(
            (d[0].kind, d[0].id.as_str(), d[0].line),
            (Kind::Formula, "softmax", 2)
        );
        assert_eq!(
            (d[1].kind, d[1].rest.as_str()),
            (Kind::Figure, "Die Kurve $T$.")
        );
    }

    #[test]
    fn skips_code_escapes_and_mdbook_directives() {
        let text = "```md\n{{#formula x}}\n```\n\\{{#formula y}}\n{{#include a.rs:b}}\n";
        assert_eq!(parse(text).unwrap(), vec![]);
    }

    #[test]
    fn rejects_unknown_directives_and_missing_ids() {
        let errors = parse("x\n{{#formla a}}\n{{#listing}}\n").unwrap_err();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].0, 2);
        assert!(errors[0].1.contains("unknown directive `{{#formla}}`"));
        assert!(errors[1].1.contains("needs an id"));
    }
}
