//! What of a Markdown page is prose: one stripper, shared by the corpus
//! ([`crate::corpus::prose`]), the spelling test and the build's checks
//! (numbers typed in, captions as plain text).
//!
//! Formulas are taken out first, as the book's renderer (mdbook-katex)
//! does before Markdown is parsed: `$$…$$` and `$…$` outside code, even
//! where a formula goes on over a line that starts with `- `. Then
//! pulldown-cmark parses the page, with the options mdBook uses.
//!
//! A page becomes a list of [`Piece`]s, each with the bytes of the page
//! it came from: text (of paragraphs, headings, list items, link texts,
//! table cells), formulas, inline code, HTML tags and the ends of
//! paragraphs. Code blocks, images, autolinks and heading ids
//! are dropped, and so are the book's directives (`{{#eq id}}`,
//! `{{#value id}}`), except, if asked, the caption of a figure
//! (`{{#figure id Caption}}`).

use std::ops::Range;

use pulldown_cmark::{Event, LinkType, Options, Parser, Tag, TagEnd};

/// What a piece of a page is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Running text.
    Text,
    /// The TeX of a formula, inline or displayed, without its `$`.
    Math,
    /// Inline code, without its backticks.
    Code,
    /// An HTML tag or comment.
    Tag,
    /// The end of a paragraph: a blank line, or a table's start or end.
    Break,
}

/// A piece of a page: its kind, its text and where it is on the page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece<'a> {
    /// What the piece is.
    pub kind: Kind,
    /// Its text: as on the page, but with escapes and entities resolved
    /// and a line break inside a paragraph as a space.
    pub text: String,
    /// The bytes of the page it came from.
    pub range: Range<usize>,
    /// The column of the table cell it is in, from 0.
    pub cell: Option<usize>,
    /// The language of the HTML element it is in (`<cite lang="en">`).
    pub lang: Option<&'a str>,
}

/// The pieces of `markdown`, in order. With `captions`, the caption of a
/// figure directive is kept (without its nested directives); otherwise
/// every directive is dropped whole.
pub fn pieces(markdown: &str, captions: bool) -> Vec<Piece<'_>> {
    let formulas = formulas(markdown);
    // The page with each formula's bytes (but not its line breaks) as
    // `M`: a letter that is no Markdown markup, with the same offsets.
    let mut masked = markdown.as_bytes().to_vec();
    for f in &formulas {
        for b in &mut masked[f.clone()] {
            if *b != b'\n' {
                *b = b'M';
            }
        }
    }
    let masked = String::from_utf8(masked).unwrap_or_default();
    let mut out: Vec<Piece> = Vec::new();
    let mut walk = Walk {
        markdown,
        out: &mut out,
        cell: None,
        elements: Vec::new(),
    };
    // Inside a code block, an image or an autolink: nothing is prose.
    let mut hidden = 0usize;
    // Open links: whether each is an autolink (`<https://…>`), hidden.
    let mut links: Vec<bool> = Vec::new();
    // Where the last piece ended; a blank line after it ends a paragraph.
    let mut cursor = 0;
    // Inside an HTML comment, which may span several events.
    let mut comment = false;
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES;
    for (event, range) in Parser::new_ext(&masked, options).into_offset_iter() {
        let autolink = matches!(
            event,
            Event::Start(Tag::Link {
                link_type: LinkType::Autolink | LinkType::Email,
                ..
            })
        );
        let hides = autolink
            || matches!(
                event,
                Event::Start(
                    Tag::CodeBlock(_)
                        | Tag::Image { .. }
                        | Tag::MetadataBlock(_)
                )
            );
        let leaf = !matches!(event, Event::Start(_) | Event::End(_));
        if hidden == 0 && (leaf || hides) {
            let gap = cursor.min(range.start)..range.start;
            if blank_line(markdown, gap.clone()) {
                walk.push(Kind::Break, "", range.start..range.start);
            } else if let Some(nl) = markdown[gap.clone()].rfind('\n') {
                // Lines of a paragraph, or of a list, join with a space.
                let nl = gap.start + nl;
                walk.push(Kind::Text, " ", nl..nl + 1);
            }
            cursor = range.end;
        }
        match event {
            Event::Start(Tag::Link { .. }) => {
                links.push(autolink);
                hidden += usize::from(autolink);
            }
            Event::End(TagEnd::Link) => {
                hidden -= usize::from(links.pop().unwrap_or(false));
            }
            _ if hides => hidden += 1,
            Event::End(
                TagEnd::CodeBlock | TagEnd::Image | TagEnd::MetadataBlock(_),
            ) => hidden -= 1,
            _ if hidden > 0 => {}
            Event::Start(Tag::Table(_)) | Event::End(TagEnd::Table) => {
                walk.cell = None;
                walk.push(Kind::Break, "", range.start..range.start);
            }
            Event::Start(Tag::TableHead | Tag::TableRow) => walk.cell = None,
            Event::Start(Tag::TableCell) => {
                walk.cell = Some(walk.cell.map_or(0, |c| c + 1));
            }
            Event::Text(t) if *t == masked[range.clone()] => {
                walk.text(range, &formulas);
            }
            Event::Text(t) => walk.push(Kind::Text, &t, range),
            Event::SoftBreak | Event::HardBreak => {
                walk.push(Kind::Text, " ", range);
            }
            Event::Code(t) => walk.push(Kind::Code, &t, range),
            Event::InlineHtml(_) | Event::Html(_) => {
                walk.html(range, &mut comment, &formulas);
            }
            _ => {}
        }
    }
    drop_directives(out, captions)
}

/// The walk over a page's events: where it is, and what it has found.
struct Walk<'a, 'o> {
    markdown: &'a str,
    out: &'o mut Vec<Piece<'a>>,
    cell: Option<usize>,
    /// Open inline HTML elements: their names and languages.
    elements: Vec<(&'a str, Option<&'a str>)>,
}

impl<'a> Walk<'a, '_> {
    fn push(&mut self, kind: Kind, text: &str, range: Range<usize>) {
        self.out.push(Piece {
            kind,
            text: text.to_string(),
            range,
            cell: self.cell,
            lang: self.elements.iter().rev().find_map(|e| e.1),
        });
    }

    /// The bytes `range` of the page, text as written: the formulas in
    /// it become [`Kind::Math`], the rest [`Kind::Text`].
    fn text(&mut self, range: Range<usize>, formulas: &[Range<usize>]) {
        let mut at = range.start;
        for f in formulas {
            if f.end <= at || f.start >= range.end {
                continue;
            }
            if f.start > at {
                self.push(Kind::Text, &self.markdown[at..f.start], at..f.start);
            }
            // The TeX without its dollars, as far as it lies in `range`.
            let dollars = if self.markdown[f.clone()].starts_with("$$") {
                2
            } else {
                1
            };
            let start = at.max(f.start + dollars);
            let end = range.end.min(f.end - dollars).max(start);
            self.push(Kind::Math, &self.markdown[start..end], start..end);
            at = range.end.min(f.end);
        }
        if at < range.end {
            self.push(Kind::Text, &self.markdown[at..range.end], at..range.end);
        }
    }

    /// HTML: tags and comments are [`Kind::Tag`], the text between
    /// them is kept; an element's `lang` applies to what it holds.
    fn html(
        &mut self,
        range: Range<usize>,
        comment: &mut bool,
        formulas: &[Range<usize>],
    ) {
        let mut i = range.start;
        while i < range.end {
            let rest = &self.markdown[i..range.end];
            let end = if *comment || rest.starts_with("<!--") {
                let close = rest.find("-->").map(|e| e + 3);
                *comment = close.is_none();
                close.unwrap_or(rest.len())
            } else if rest.starts_with('<') {
                rest.find('>').map_or(rest.len(), |e| e + 1)
            } else {
                let text = rest.find('<').unwrap_or(rest.len());
                self.text(i..i + text, formulas);
                i += text;
                continue;
            };
            let tag = &self.markdown[i..i + end];
            self.push(Kind::Tag, tag, i..i + end);
            self.track(tag);
            i += end;
        }
    }

    /// Follows opening and closing inline HTML tags, with their `lang`.
    fn track(&mut self, tag: &'a str) {
        let name_of = |t: &'a str| {
            let end = t
                .find(|c: char| !c.is_ascii_alphanumeric())
                .unwrap_or(t.len());
            &t[..end]
        };
        if let Some(rest) = tag.strip_prefix("</") {
            let name = name_of(rest);
            if let Some(i) = self.elements.iter().rposition(|e| e.0 == name) {
                self.elements.truncate(i);
            }
        } else if let Some(rest) = tag.strip_prefix('<') {
            let name = name_of(rest);
            let lang = rest
                .split_once("lang=\"")
                .and_then(|(_, l)| l.split_once('"'))
                .map(|(l, _)| l);
            if !name.is_empty() && !tag.ends_with("/>") {
                self.elements.push((name, lang));
            }
        }
    }
}

/// The formulas of `markdown` with their dollars, as mdbook-katex finds
/// them before Markdown is parsed: outside fenced and inline code, `$$`
/// to the next `$$`, else `$` to the next `$`; `\$` is a dollar sign.
pub fn formulas(markdown: &str) -> Vec<Range<usize>> {
    let fences = fenced(markdown);
    let mut found = Vec::new();
    let mut i = 0;
    while i < markdown.len() {
        if let Some(f) = fences.iter().find(|f| f.contains(&i)) {
            i = f.end;
            continue;
        }
        // Nothing runs on into the next fenced block.
        let limit = fences
            .iter()
            .find(|f| f.start > i)
            .map_or(markdown.len(), |f| f.start);
        let rest = &markdown[i..limit];
        let char_len = |s: &str| s.chars().next().map_or(1, char::len_utf8);
        if let Some(escaped) = rest.strip_prefix('\\') {
            i += 1 + char_len(escaped);
        } else if rest.starts_with('`') {
            // A code span ends at as many backticks as it starts with.
            let ticks =
                &rest[..rest.len() - rest.trim_start_matches('`').len()];
            let n = ticks.len();
            let close = rest[n..]
                .match_indices(ticks)
                .find(|&(k, _)| !rest[n + k + n..].starts_with('`'));
            i += close.map_or(n, |(k, _)| n + k + n);
        } else if rest.starts_with('$') {
            let delim = if rest.starts_with("$$") { "$$" } else { "$" };
            let body = &rest[delim.len()..];
            match find_unescaped(body, delim) {
                Some(k) if k > 0 => {
                    let end = i + delim.len() + k + delim.len();
                    found.push(i..end);
                    i = end;
                }
                _ => i += delim.len(),
            }
        } else {
            i += char_len(rest);
        }
    }
    found
}

/// The fenced code blocks of `markdown` (``` or ~~~), whole lines.
fn fenced(markdown: &str) -> Vec<Range<usize>> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, &str)> = None;
    let mut at = 0;
    for line in markdown.split_inclusive('\n') {
        let t = line.trim();
        let run = t.len() - t.trim_start_matches(['`', '~']).len();
        let fence = &t[..run];
        let one_kind = fence.bytes().all(|b| Some(b) == fence.bytes().next());
        match open {
            Some((start, o)) if fence.starts_with(o) && one_kind => {
                blocks.push(start..at + line.len());
                open = None;
            }
            None if run >= 3 && one_kind => open = Some((at, fence)),
            _ => {}
        }
        at += line.len();
    }
    if let Some((start, _)) = open {
        blocks.push(start..markdown.len());
    }
    blocks
}

/// Where `delim` next stands in `text`, not escaped by a backslash.
fn find_unescaped(text: &str, delim: &str) -> Option<usize> {
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        if let Some(escaped) = rest.strip_prefix('\\') {
            i += 1 + escaped.chars().next().map_or(1, char::len_utf8);
        } else if rest.starts_with(delim) {
            return Some(i);
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    None
}

/// Whether the bytes `gap` of `markdown` hold a blank line.
fn blank_line(markdown: &str, gap: Range<usize>) -> bool {
    let at_line_start =
        gap.start == 0 || markdown.as_bytes()[gap.start - 1] == b'\n';
    let mut lines: Vec<&str> = markdown[gap].split('\n').collect();
    // The last line is never whole; the first only if the gap starts a
    // line.
    lines.pop();
    let mut whole = lines.iter().skip(usize::from(!at_line_start));
    whole.any(|l| l.trim().is_empty())
}

/// Removes the book's directives (`{{#name ...}}`, perhaps nested) from
/// the pieces; with `captions`, keeps a figure's caption.
fn drop_directives<'a>(
    pieces: Vec<Piece<'a>>,
    captions: bool,
) -> Vec<Piece<'a>> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    // In the caption of a figure (at depth 1): its text is kept.
    let mut caption = false;
    for piece in pieces {
        let keep = depth == 0 || (depth == 1 && caption);
        if piece.kind != Kind::Text || !piece.text.contains(['{', '}']) {
            if keep || piece.kind == Kind::Break {
                out.push(piece);
            }
            continue;
        }
        let text = piece.text.as_str();
        // The text kept since `from`, pushed when a directive starts or
        // ends.
        let mut from = 0;
        let mut i = 0;
        let flush = |from: usize, to: usize, out: &mut Vec<Piece<'a>>| {
            if from < to {
                let start = (piece.range.start + from).min(piece.range.end);
                let end = (piece.range.start + to).min(piece.range.end);
                out.push(Piece {
                    text: text[from..to].to_string(),
                    range: start..end,
                    ..piece.clone()
                });
            }
        };
        while i < text.len() {
            let rest = &text[i..];
            let kept = depth == 0 || (depth == 1 && caption);
            if let Some(after) = rest.strip_prefix("{{#") {
                if kept {
                    flush(from, i, &mut out);
                }
                depth += 1;
                let name_len = after
                    .find(|c: char| !c.is_alphanumeric())
                    .unwrap_or(after.len());
                i += 3 + name_len;
                if depth == 1 && captions && &after[..name_len] == "figure" {
                    // The caption follows the id and the spaces around it.
                    let id = text[i..].trim_start();
                    let id_end = id
                        .find(|c: char| c.is_whitespace() || c == '}')
                        .unwrap_or(id.len());
                    i = text.len() - id[id_end..].trim_start().len();
                    caption = true;
                }
                from = i;
            } else if depth > 0 && rest.starts_with("}}") {
                if kept {
                    flush(from, i, &mut out);
                }
                depth -= 1;
                caption &= depth > 0;
                i += 2;
                from = i;
            } else {
                i += rest.chars().next().map_or(1, char::len_utf8);
            }
        }
        if depth == 0 || (depth == 1 && caption) {
            flush(from, text.len(), &mut out);
        }
    }
    out
}
