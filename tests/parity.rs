//! Both languages have the same pages, chapter tree and sequence of
//! formulas, listings and figures on every page.

use genai_book::{assert_no_problems, root};

#[test]
fn german_and_english_books_have_the_same_structure() {
    assert_no_problems("language parity", &xtask::checks::parity(&root()));
}
