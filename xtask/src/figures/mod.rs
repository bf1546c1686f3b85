//! The book's figures: one function per figure, drawn with `plotters` from
//! the listings' own output when the book is built.
//!
//! Every figure is an SVG string, deterministic (fixed size, fixed data,
//! seeded randomness where there is any), with labels in the page's
//! language. Pages place a figure with `{{#figure id Caption}}`.

use anyhow::Result;

use crate::lang::Lang;

mod ch01;
mod ch02;
mod ch03;
mod ch04;
mod style;

/// A figure that the book can show.
pub struct Figure {
    /// The id used in `{{#figure id ...}}`.
    pub id: &'static str,
    /// The file that draws it, relative to the repository root.
    pub source: &'static str,
    /// The function in that file.
    pub function: &'static str,
    /// The listing (registry id) whose output it plots.
    pub listing: &'static str,
    /// A short text alternative: what the figure shows (de, en).
    pub alt: [&'static str; 2],
    /// Draws the figure as SVG with labels in `lang`.
    pub draw: fn(Lang) -> Result<String>,
}

impl Figure {
    /// The text alternative in `lang`.
    pub fn alt(&self, lang: Lang) -> &'static str {
        lang.pick(self.alt[0], self.alt[1])
    }
}

/// The figures of each chapter; a new chapter adds its module here.
static CHAPTERS: &[&[Figure]] =
    &[ch01::FIGURES, ch02::FIGURES, ch03::FIGURES, ch04::FIGURES];

/// Every figure of the book.
pub fn all() -> impl Iterator<Item = &'static Figure> {
    CHAPTERS.iter().flat_map(|figures| figures.iter())
}

/// The figure with this id.
pub fn find(id: &str) -> Option<&'static Figure> {
    all().find(|f| f.id == id)
}
