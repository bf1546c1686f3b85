//! Problems found while building or checking the book.

use std::fmt;

/// One thing wrong with the book, located as precisely as possible.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The file, relative to the repository root (`src/de/intro.md`).
    pub file: String,
    /// The 1-based line in that file, when known.
    pub line: Option<usize>,
    /// What is wrong, in one sentence.
    pub message: String,
}

impl Problem {
    /// A problem with a whole file.
    pub fn new(file: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            file: file.into(),
            line: None,
            message: message.into(),
        }
    }

    /// A problem at a line of a file.
    pub fn at(
        file: impl Into<String>,
        line: usize,
        message: impl Into<String>,
    ) -> Self {
        Problem {
            file: file.into(),
            line: Some(line),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file, line, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Turns a list of problems into one error that lists them all, or `Ok`.
pub fn into_result(problems: Vec<Problem>) -> anyhow::Result<()> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(to_error(&problems))
    }
}

/// One error that lists all `problems`.
pub fn to_error(problems: &[Problem]) -> anyhow::Error {
    let mut text = format!("{} problem(s) found:", problems.len());
    for p in problems {
        text.push_str("\n  ");
        text.push_str(&p.to_string());
    }
    anyhow::anyhow!(text)
}

/// The 1-based line number of byte offset `pos` in `text`.
pub fn line_of(text: &str, pos: usize) -> usize {
    text[..pos].matches('\n').count() + 1
}
