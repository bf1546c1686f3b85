//! The corpus: the German prose of this book, its split into training and
//! validation text, and the character vocabulary.
//!
//! Book: section „Die Daten: dieses Buch“ / "The data: this book" of
//! chapter 4.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::Path;

use crate::error::LmError;
use crate::markdown::{self, Kind};

// ANCHOR: prose
/// The prose of one Markdown page: code, math, directives, HTML and
/// tables removed, Markdown markup stripped, each paragraph on one line.
///
/// # Book
/// Kapitel 4, „Die Daten: dieses Buch“ / chapter 4, "The data: this
/// book".
pub fn prose(markdown: &str) -> String {
    let mut out = String::new();
    let mut paragraph = String::new();
    for piece in markdown::pieces(markdown, false) {
        match piece.kind {
            // Tables (the glossary) are lists of terms, not prose.
            Kind::Text if piece.cell.is_none() => {
                paragraph.push_str(&piece.text);
            }
            Kind::Break => end_paragraph(&mut paragraph, &mut out),
            _ => paragraph.push(' '),
        }
    }
    end_paragraph(&mut paragraph, &mut out);
    out
}

/// Appends `paragraph` to `out` as one line and empties it.
fn end_paragraph(paragraph: &mut String, out: &mut String) {
    let start = out.len();
    for word in paragraph.split_whitespace() {
        // No space before punctuation where a formula was removed.
        let glued = word.starts_with([',', '.', ';', ':', '!', '?', ')']);
        if out.len() > start && !glued {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.len() > start {
        out.push('\n');
    }
    paragraph.clear();
}
// ANCHOR_END: prose

/// The prose of every Markdown page in `dir` (recursively, in sorted
/// order, without `SUMMARY.md`), joined.
///
/// # Errors
/// The folder cannot be read, or it holds no prose at all.
pub fn load_prose(dir: &Path) -> Result<String, LmError> {
    let mut files = Vec::new();
    collect_markdown(dir, &mut files)?;
    files.sort();
    let mut text = String::new();
    for file in &files {
        let page =
            std::fs::read_to_string(file).map_err(|source| LmError::Io {
                path: file.display().to_string(),
                source,
            })?;
        text.push_str(&prose(&page));
    }
    if text.trim().is_empty() {
        return Err(LmError::EmptyCorpus(format!(
            "no prose in {} Markdown files under {}",
            files.len(),
            dir.display()
        )));
    }
    Ok(text)
}

fn collect_markdown(
    dir: &Path,
    files: &mut Vec<std::path::PathBuf>,
) -> Result<(), LmError> {
    let io = |source| LmError::Io {
        path: dir.display().to_string(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            collect_markdown(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "md")
            && path.file_name().is_some_and(|n| n != "SUMMARY.md")
        {
            files.push(path);
        }
    }
    Ok(())
}

/// The committed snapshot of the book's German prose that the program
/// and `cargo xtask measure` train on, relative to this crate. It is
/// written by `cargo xtask measure --snapshot`, so that editing a page
/// does not change the corpus that the chapter's numbers describe.
pub const SNAPSHOT: &str = "corpus/prose-de.txt";

/// The split of the program and of the book's measurement: pieces of
/// `PIECE` characters, every `EVERY`-th held out for validation.
pub const PIECE: usize = 2000;
/// See [`PIECE`].
pub const EVERY: usize = 10;

/// The corpus at `path`: a text file as it is (a snapshot written by
/// [`load_prose`]), or the prose of the Markdown pages in a folder.
///
/// # Errors
/// The path cannot be read, or it holds no text.
pub fn load(path: &Path) -> Result<String, LmError> {
    if path.is_dir() {
        return load_prose(path);
    }
    let text = std::fs::read_to_string(path).map_err(|source| LmError::Io {
        path: path.display().to_string(),
        source,
    })?;
    if text.trim().is_empty() {
        return Err(LmError::EmptyCorpus(format!(
            "{} holds no text",
            path.display()
        )));
    }
    Ok(text)
}

/// Training and validation text, and where each validation piece came
/// from.
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    /// The training text: every piece not held out, in order.
    pub train: String,
    /// The validation text: the held-out pieces, in order.
    pub valid: String,
    /// The character ranges of the corpus that went into `train`.
    pub train_ranges: Vec<Range<usize>>,
    /// The character ranges of the corpus that went into `valid`.
    pub valid_ranges: Vec<Range<usize>>,
}

// ANCHOR: split
/// Splits `text` into pieces of `piece` characters and holds out every
/// `every`-th piece (pieces `every − 1`, `2·every − 1`, …) for validation.
///
/// The split is deterministic, and every character belongs to exactly one
/// of the two texts: no validation character is ever trained on. Holding
/// out pieces from all over the book, rather than its last pages, makes
/// the validation text read like the training text.
///
/// # Book
/// Kapitel 4, „Die Daten: dieses Buch“ / chapter 4, "The data: this
/// book".
///
/// # Errors
/// `piece = 0` or `every < 2`, or `text` is too short to give a piece to
/// each side.
pub fn split(text: &str, piece: usize, every: usize) -> Result<Split, LmError> {
    if piece == 0 || every < 2 {
        return Err(LmError::ShortCorpus(format!(
            "pieces of {piece} characters, every {every}-th held out: \
             need piece ≥ 1 and every ≥ 2"
        )));
    }
    let chars: Vec<char> = text.chars().collect();
    if chars.len() < piece * (every - 1) + 1 {
        return Err(LmError::ShortCorpus(format!(
            "{} characters, but pieces of {piece} with every {every}-th \
             held out need at least {}",
            chars.len(),
            piece * (every - 1) + 1
        )));
    }
    let mut s = Split {
        train: String::new(),
        valid: String::new(),
        train_ranges: Vec::new(),
        valid_ranges: Vec::new(),
    };
    for (i, start) in (0..chars.len()).step_by(piece).enumerate() {
        let range = start..(start + piece).min(chars.len());
        let part: String = chars[range.clone()].iter().collect();
        if i % every == every - 1 {
            s.valid.push_str(&part);
            s.valid_ranges.push(range);
        } else {
            s.train.push_str(&part);
            s.train_ranges.push(range);
        }
    }
    Ok(s)
}
// ANCHOR_END: split

/// The characters a model knows, sorted; a character's index is its
/// token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vocab {
    chars: Vec<char>,
}

impl Vocab {
    /// The distinct characters of `text`, sorted by code point.
    ///
    /// # Errors
    /// `text` is empty.
    pub fn from_text(text: &str) -> Result<Self, LmError> {
        let set: BTreeSet<char> = text.chars().collect();
        if set.is_empty() {
            return Err(LmError::EmptyCorpus(
                "no characters to build a vocabulary from".into(),
            ));
        }
        Ok(Vocab {
            chars: set.into_iter().collect(),
        })
    }

    /// The vocabulary with exactly these characters (sorted, distinct).
    ///
    /// # Errors
    /// `chars` is empty, unsorted or has a repeated character.
    pub fn from_chars(chars: Vec<char>) -> Result<Self, LmError> {
        if chars.is_empty() || chars.windows(2).any(|w| w[0] >= w[1]) {
            return Err(LmError::EmptyCorpus(
                "a vocabulary needs distinct characters in sorted order".into(),
            ));
        }
        Ok(Vocab { chars })
    }

    /// The number of characters `V`.
    pub fn len(&self) -> usize {
        self.chars.len()
    }

    /// Never true: a vocabulary has at least one character.
    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// The characters, sorted.
    pub fn chars(&self) -> &[char] {
        &self.chars
    }

    /// The tokens of `text`.
    ///
    /// # Errors
    /// A character of `text` is not in the vocabulary; `what` names the
    /// text in the message (`"prompt"`).
    pub fn encode(
        &self,
        text: &str,
        what: &'static str,
    ) -> Result<Vec<usize>, LmError> {
        text.chars()
            .enumerate()
            .map(|(position, ch)| {
                self.chars.binary_search(&ch).map_err(|_| {
                    LmError::OutOfVocabulary {
                        what,
                        ch,
                        position,
                        size: self.len(),
                    }
                })
            })
            .collect()
    }

    /// The text of `tokens` (each must be `< V`).
    pub fn decode(&self, tokens: &[usize]) -> String {
        tokens.iter().map(|&t| self.chars[t]).collect()
    }
}
