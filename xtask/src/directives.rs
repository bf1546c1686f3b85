//! The book's own directives in the Markdown sources.
//!
//! | directive                     | becomes                                  |
//! |-------------------------------|------------------------------------------|
//! | `{{#formula id}}`             | the numbered formula and its listing link |
//! | `{{#listing id}}`             | the listing's code with a caption        |
//! | `{{#figure id Caption text}}` | the figure (inline SVG) with its caption |
//! | `{{#eq id}}`                  | a link "(1.2)" to a formula              |
//! | `{{#value id}}`               | a computed number or short text          |
//! | `{{#table id}}`               | a computed short table                   |
//!
//! A figure's caption may hold `{{#eq}}` and `{{#value}}` directives.
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
    /// A computed number or short text (`xtask/src/values/`).
    Value,
    /// A computed short table (`xtask/src/values/`).
    Table,
}

impl Kind {
    /// The directive's name as written in the sources.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Formula => "formula",
            Kind::Listing => "listing",
            Kind::Figure => "figure",
            Kind::Eq => "eq",
            Kind::Value => "value",
            Kind::Table => "table",
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

/// The start of a directive: `{{#name`, perhaps escaped as `\{{#name`.
static OPENING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\\)?\{\{#([A-Za-z_]+)").unwrap());

/// The end of the directive whose name ends at `from`: the `}}` that
/// closes it, skipping directives nested in it (a figure's caption may
/// hold `{{#eq id}}`). Returns the byte offset just after it.
fn closing(text: &str, from: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 1;
    let mut i = from;
    while i + 1 < bytes.len() {
        match &bytes[i..i + 2] {
            b"{{" => {
                depth += 1;
                i += 2;
            }
            b"}}" => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// Finds the book's directives in `text`, in order; directives nested in
/// a figure's caption stay in its `rest`.
///
/// Returns the line and message of each malformed or unknown directive as
/// an error.
pub fn parse(text: &str) -> Result<Vec<Directive>, Vec<(usize, String)>> {
    let fences = fenced_ranges(text);
    let mut found = Vec::new();
    let mut errors = Vec::new();
    let mut pos = 0;
    while let Some(c) = OPENING.captures_at(text, pos) {
        let head = c.get(0).unwrap();
        let start = head.start();
        let line = crate::problem::line_of(text, start);
        let Some(end) = closing(text, head.end()) else {
            errors.push((
                line,
                format!("`{{{{#{}` is never closed with `}}}}`", &c[2]),
            ));
            break;
        };
        pos = end;
        if c.get(1).is_some() || fences.iter().any(|f| f.contains(&start)) {
            // Escaped or in code: not a directive, but what it encloses
            // is not one either.
            continue;
        }
        let name = &c[2];
        let kind = match name {
            "formula" => Kind::Formula,
            "listing" => Kind::Listing,
            "figure" => Kind::Figure,
            "eq" => Kind::Eq,
            "value" => Kind::Value,
            "table" => Kind::Table,
            _ if MDBOOK_DIRECTIVES.contains(&name) => continue,
            _ => {
                errors.push((
                    line,
                    format!(
                        "unknown directive `{{{{#{name}}}}}`; known are \
                         formula, listing, figure, eq, value, table"
                    ),
                ));
                continue;
            }
        };
        let inner = text[head.end()..end - 2].trim();
        let (id, rest) = inner
            .split_once(char::is_whitespace)
            .map_or((inner, ""), |(id, rest)| (id, rest.trim()));
        if id.is_empty() || id.contains(['{', '}']) {
            errors.push((line, format!("`{{{{#{name}}}}}` needs an id")));
            continue;
        }
        if kind != Kind::Figure && !rest.is_empty() {
            errors.push((
                line,
                format!("`{{{{#{name} {id}}}}}` takes only an id"),
            ));
            continue;
        }
        found.push(Directive {
            kind,
            id: id.to_string(),
            rest: rest.to_string(),
            range: start..end,
            line,
        });
    }
    if errors.is_empty() {
        Ok(found)
    } else {
        Err(errors)
    }
}

/// The directives nested in a figure's caption: only `{{#eq}}` and
/// `{{#value}}` may stand there. `line` is the caption's line in the page.
pub fn parse_caption(
    caption: &str,
    line: usize,
) -> Result<Vec<Directive>, Vec<(usize, String)>> {
    let found = parse(caption).map_err(|errors| {
        errors
            .into_iter()
            .map(|(l, msg)| (line + l - 1, msg))
            .collect::<Vec<_>>()
    })?;
    let mut errors = Vec::new();
    let mut ok = Vec::new();
    for mut d in found {
        d.line += line - 1;
        if matches!(d.kind, Kind::Eq | Kind::Value) {
            ok.push(d);
        } else {
            errors.push((
                d.line,
                format!(
                    "`{{{{#{} {}}}}}` cannot stand in a caption; only eq and \
                     value can",
                    d.kind.name(),
                    d.id
                ),
            ));
        }
    }
    if errors.is_empty() {
        Ok(ok)
    } else {
        Err(errors)
    }
}

/// Byte ranges of fenced code blocks (``` or ~~~).
pub fn fenced_ranges(text: &str) -> Vec<Range<usize>> {
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

    #[test]
    fn captions_may_nest_eq_and_value() {
        let text = "x\n{{#figure f Nach {{#eq softmax}} fällt \
                    {{#value ch04.loss}} ab.}} und {{#value a.b}}\n";
        let d = parse(text).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].kind, Kind::Figure);
        assert_eq!(
            d[0].rest,
            "Nach {{#eq softmax}} fällt {{#value ch04.loss}} ab."
        );
        assert_eq!((d[1].kind, d[1].id.as_str()), (Kind::Value, "a.b"));
        let inner = parse_caption(&d[0].rest, d[0].line).unwrap();
        assert_eq!(inner.len(), 2);
        assert_eq!((inner[0].kind, inner[0].line), (Kind::Eq, 2));
        assert_eq!(inner[1].id, "ch04.loss");
        let bad = parse_caption("a {{#table t}}", 7).unwrap_err();
        assert_eq!(bad[0].0, 7);
        assert!(bad[0].1.contains("cannot stand in a caption"));
    }

    #[test]
    fn values_and_tables_take_only_an_id() {
        let d = parse("{{#value ch04.v}} {{#table ch02.deviations}}").unwrap();
        assert_eq!((d[0].kind, d[1].kind), (Kind::Value, Kind::Table));
        let e = parse("{{#value ch04.v extra}}\n{{#value a").unwrap_err();
        assert!(e[0].1.contains("takes only an id"));
        assert!(e[1].1.contains("never closed"));
    }
}
