//! Every formula is tied to a listing that exists, has its anchors and
//! tests, cites the formula's number, and is placed once in each language
//! with the same number.

use genai_book::{assert_no_problems, root};

#[test]
fn every_formula_has_a_tested_listing_and_one_number() {
    assert_no_problems("formula coverage", &xtask::checks::formulas(&root()));
}
