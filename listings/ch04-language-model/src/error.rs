//! The errors of this chapter's program: those of the math (the
//! `notation` crate's [`Error`]) and those of files, corpora,
//! vocabularies and checkpoints.

use notation::Error;

/// Why the language model refused its input.
#[derive(Debug, thiserror::Error)]
pub enum LmError {
    /// Bad input to a formula (shapes, domains), from the listings.
    #[error(transparent)]
    Math(#[from] Error),
    /// The corpus holds no text to learn from.
    #[error("the corpus is empty: {0}")]
    EmptyCorpus(String),
    /// The corpus is too short to be split into training and validation.
    #[error("the corpus is too short: {0}")]
    ShortCorpus(String),
    /// A character that the model's vocabulary does not contain.
    #[error(
        "character {ch:?} at position {position} of the {what} is not in \
         the vocabulary ({size} characters seen in training)"
    )]
    OutOfVocabulary {
        /// What was being encoded (`"prompt"`).
        what: &'static str,
        /// The offending character.
        ch: char,
        /// Its position (in characters, from 0).
        position: usize,
        /// The size of the vocabulary.
        size: usize,
    },
    /// A checkpoint that is missing, unreadable or does not fit.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: String,
        /// The error of the operating system.
        source: std::io::Error,
    },
}
