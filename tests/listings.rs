//! Tidy rules for the listings as the book prints them: at most 80
//! columns, no doctest (it stays in rustdoc, under `# Example`), and more
//! code than documentation.

use genai_book::{assert_no_problems, root};

#[test]
fn printed_listings_fit_80_columns_and_print_no_doctest() {
    assert_no_problems("printed listings", &xtask::checks::listings(&root()));
}

#[test]
fn printed_listings_are_mostly_code() {
    let lines = xtask::checks::printed_lines(&root())
        .unwrap_or_else(|p| panic!("{} problem(s), first: {}", p.len(), p[0]));
    println!("{lines:?}");
    // The page around a listing explains it; what is printed is signature,
    // body, short comments, the summary line and the formula. Before the
    // rustdoc sections were left out, doc lines were 81 % of code lines.
    assert!(
        2 * lines.doc <= lines.code,
        "{} printed doc lines against {} lines of code in {} listings: \
         the doc comments print more than a summary and the formula",
        lines.doc,
        lines.code,
        lines.listings
    );
}
