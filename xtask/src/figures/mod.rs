//! The book's figures: one function per figure, drawn with `plotters` from
//! the listings' own output when the book is built.
//!
//! Every figure is an SVG string, deterministic (fixed size, fixed data,
//! seeded randomness where there is any), with labels in the page's
//! language. Pages place a figure with `{{#figure id Caption}}`.

use anyhow::Result;

use crate::lang::Lang;

pub(crate) mod ch01;
mod ch02;
pub(crate) mod ch03;
pub(crate) mod ch04;
mod style;

/// A figure that the book can show. Write it with [`figure!`], which
/// takes the file and the function's name from the code.
pub struct Figure {
    /// The id used in `{{#figure id ...}}`, registered with its listing
    /// in `src/registry/chNN.toml` as `[figure.id]`.
    pub id: &'static str,
    /// The file that draws it, relative to the repository root
    /// (`file!()`).
    pub source: &'static str,
    /// The function in that file (`stringify!` of `draw`).
    pub function: &'static str,
    /// A short text alternative: what the figure shows (de, en); it may
    /// hold `{{#value id}}` and `{{#eq id}}`.
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

/// A [`Figure`] whose `source` and `function` come from the code: the
/// file it is written in and the name of its drawing function.
macro_rules! figure {
    (id: $id:literal, alt: [$de:expr, $en:expr $(,)?], draw: $draw:ident $(,)?) => {
        $crate::figures::Figure {
            id: $id,
            source: file!(),
            function: stringify!($draw),
            alt: [$de, $en],
            draw: $draw,
        }
    };
}
pub(crate) use figure;

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

#[cfg(test)]
mod tests {
    /// Every figure drawn in the code is registered in the book's
    /// `src/registry/` (a book may register only the figures it places;
    /// this one places them all).
    #[test]
    fn every_figure_is_registered() {
        let root = crate::measure::repo_root();
        let registry = crate::registry::Registry::load(&root).unwrap();
        for f in super::all() {
            assert!(
                registry.figure.contains_key(f.id),
                "figure `{}` ({}) is drawn but not registered: add \
                 [figure.{}] with its listing to src/registry/chNN.toml",
                f.id,
                f.source,
                f.id
            );
        }
    }

    /// `file!()` names the file relative to the repository root, and that
    /// file defines the drawing function.
    #[test]
    fn sources_and_functions_come_from_the_code() {
        let root = crate::measure::repo_root();
        for f in super::all() {
            let code = std::fs::read_to_string(root.join(f.source))
                .unwrap_or_else(|e| panic!("{}: {e}", f.source));
            assert!(
                code.contains(&format!("fn {}(", f.function)),
                "{} does not define `{}`",
                f.source,
                f.function
            );
        }
    }
}
