//! A hand-made example sentence for attention: six tokens with features
//! that a reader can check, and query weights that say which feature looks
//! for which. Nothing here is trained; the example shows what the
//! attention formula does with vectors that mean something, and the
//! figure of the section draws its weights.
//!
//! Book: section „Skalierte Skalarprodukt-Attention“ / "Scaled dot-product
//! attention" of chapter 2 (figure `sentence_attention`).

use nalgebra::DMatrix;
use notation::Error;

use crate::attention::{Attention, attention};

/// The sentence in German, one token per word.
pub const TOKENS_DE: [&str; 6] =
    ["Die", "Katze", "sitzt", "auf", "der", "Matte"];

/// The same sentence in English; word `i` plays the role of German word
/// `i`, so the same vectors serve both.
pub const TOKENS_EN: [&str; 6] = ["The", "cat", "sits", "on", "the", "mat"];

/// The names of the six features (columns of `X`), in English.
pub const FEATURES: [&str; 6] =
    ["article", "noun", "verb", "preposition", "subject", "place"];

/// How strongly a word looks for the word it belongs to (a link between
/// two features), and for words of its own phrase.
pub const LINK: f64 = 6.0;
/// See [`LINK`].
pub const PHRASE: f64 = 3.0;

/// The token features `X` (6 × 6), one row per word: its word class
/// (article, noun, verb, preposition) and its phrase ("Die Katze" is the
/// subject, "auf der Matte" the place).
#[rustfmt::skip]
pub fn features() -> DMatrix<f64> {
    DMatrix::from_row_slice(6, 6, &[
    //  art  noun verb prep subj place
        1.0, 0.0, 0.0, 0.0, 1.0, 0.0, // Die / The
        0.0, 1.0, 0.0, 0.0, 1.0, 0.0, // Katze / cat
        0.0, 0.0, 1.0, 0.0, 0.0, 0.0, // sitzt / sits
        0.0, 0.0, 0.0, 1.0, 0.0, 1.0, // auf / on
        1.0, 0.0, 0.0, 0.0, 0.0, 1.0, // der / the
        0.0, 1.0, 0.0, 0.0, 0.0, 1.0, // Matte / mat
    ])
}

/// The query weights `W_Q` (6 × 6): row `a`, column `b` says how much a
/// word with feature `a` looks for a word with feature `b`. An article
/// looks for a noun, a noun for the verb, the verb for a noun of the
/// subject, a preposition for a noun, and each phrase for itself.
pub fn w_q() -> DMatrix<f64> {
    let (art, noun, verb, prep, subj, place) = (0, 1, 2, 3, 4, 5);
    let mut w = DMatrix::zeros(6, 6);
    w[(art, noun)] = LINK;
    w[(noun, verb)] = LINK;
    w[(verb, noun)] = LINK;
    w[(verb, subj)] = PHRASE;
    w[(prep, noun)] = LINK;
    w[(subj, subj)] = PHRASE;
    w[(place, place)] = PHRASE;
    w
}

/// Self-attention of the example sentence with `Q = X W_Q`, `K = X`
/// (`W_K = I`: a key simply shows the word's features) and `V = X`,
/// computed by [`attention`], formula (2.2).
///
/// # Errors
/// None in practice; the shapes are fixed.
pub fn sentence_attention() -> Result<Attention<f64>, Error> {
    let x = features();
    let q = &x * w_q();
    attention(&q, &x, &x, None)
}
