//! Each kind of mistake an author can make fails the build or the checks
//! with a message that names the file and the thing that is wrong.
//!
//! Every test starts from `Fixture::new()`, a small valid book, breaks one
//! thing, and checks the message.

use genai_book::Fixture;

/// Asserts that `message` contains every one of `parts`.
fn assert_mentions(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(
            message.contains(part),
            "message does not mention {part:?}:\n{message}"
        );
    }
}

fn problems(list: Vec<xtask::problem::Problem>) -> String {
    list.iter().map(|p| format!("{p}\n")).collect()
}

#[test]
fn the_unbroken_fixture_builds_and_passes_every_check() {
    let f = Fixture::new();
    let out = f.build().unwrap_or_else(|e| panic!("{e}"));
    assert!(out.join("de/ch01.html").is_file());
    assert!(out.join("en/ch01.html").is_file());
    assert_eq!(problems(xtask::checks::parity(f.path())), "");
    assert_eq!(problems(xtask::checks::formulas(f.path())), "");
}

#[test]
fn an_unknown_formula_id_names_page_line_and_id() {
    let f = Fixture::new();
    f.replace("src/de/ch01.md", "{{#formula half}}", "{{#formula hlaf}}");
    let e = f.build_error();
    assert_mentions(
        &e,
        &["src/de/ch01.md:3", "no formula `hlaf` in src/registry"],
    );
}

#[test]
fn an_unknown_eq_reference_is_reported() {
    let f = Fixture::new();
    f.replace("src/en/ch01.md", "{{#eq half}}", "{{#eq whole}}");
    assert_mentions(
        &f.build_error(),
        &["src/en/ch01.md:5", "no formula `whole`"],
    );
}

#[test]
fn an_unknown_figure_names_page_and_figure() {
    let f = Fixture::new();
    f.replace(
        "src/de/ch01.md",
        "{{#figure softmax_temperature",
        "{{#figure softmax_temprature",
    );
    assert_mentions(
        &f.build_error(),
        &["src/de/ch01.md:9", "no figure `softmax_temprature`"],
    );
}

#[test]
fn an_unknown_directive_is_reported() {
    let f = Fixture::new();
    f.replace("src/de/ch01.md", "{{#listing half}}", "{{#lsting half}}");
    assert_mentions(
        &f.build_error(),
        &["src/de/ch01.md:7", "unknown directive `{{#lsting}}`"],
    );
}

#[test]
fn a_missing_anchor_names_the_listing_file_and_anchor() {
    let f = Fixture::new();
    f.replace(
        "listings/demo.rs",
        "// ANCHOR_END: half",
        "// ANCHOR_END: hal",
    );
    let e = f.build_error();
    assert_mentions(
        &e,
        &[
            "src/registry/ch01.toml",
            "listing `half`",
            "listings/demo.rs has no `// ANCHOR: half`",
        ],
    );
    assert_mentions(
        &problems(xtask::checks::formulas(f.path())),
        &["listings/demo.rs has no `// ANCHOR: half`"],
    );
}

#[test]
fn a_listing_without_tests_or_with_a_missing_test_is_reported() {
    let f = Fixture::new();
    f.replace(
        "src/registry/ch01.toml",
        r#"tests = ["listings/demo.rs::half_is_a_half"]"#,
        "tests = []",
    );
    assert_mentions(&f.build_error(), &["listing `half` has no test"]);

    let f = Fixture::new();
    f.replace("listings/demo.rs", "#[test]\n", "");
    assert_mentions(
        &f.build_error(),
        &["no `#[test] fn half_is_a_half` in listings/demo.rs"],
    );
}

#[test]
fn a_formula_without_listing_is_reported() {
    let f = Fixture::new();
    f.replace(
        "src/registry/ch01.toml",
        "listing = \"half\"",
        "listing = \"third\"",
    );
    assert_mentions(
        &f.build_error(),
        &["formula `half` names listing `third`, which is not in [listing]"],
    );
}

#[test]
fn a_formula_placed_twice_is_reported_as_a_duplicate_number() {
    let f = Fixture::new();
    f.replace("src/de/ch01.md", "See", "{{#formula half}}\n\nSee");
    assert_mentions(
        &f.build_error(),
        &[
            "src/de/ch01.md:5",
            "formula `half` is placed twice (first as (1.1)",
        ],
    );
}

#[test]
fn a_registry_formula_on_no_page_is_reported() {
    let f = Fixture::new();
    f.replace(
        "src/registry/ch01.toml",
        "[listing.half]",
        "[formula.orphan]\ntex = 'x'\nlisting = \"half\"\n\n[listing.half]",
    );
    assert_mentions(
        &f.build_error(),
        &["formula `orphan` is in the registry but on no page"],
    );
}

#[test]
fn a_listing_whose_doc_does_not_cite_its_number_is_reported() {
    let f = Fixture::new();
    f.replace("listings/demo.rs", "formula (1.1)", "formula (2.1)");
    assert_mentions(
        &f.build_error(),
        &["listings/demo.rs", "must cite formula `half` as (1.1)"],
    );
}

#[test]
fn a_citation_only_in_the_unprinted_book_section_is_reported() {
    // `# Book` stays in rustdoc but is not printed, so the number must
    // stand in the part the reader sees.
    let f = Fixture::new();
    f.replace(
        "listings/demo.rs",
        "/// One half, formula (1.1).\n",
        "/// One half.\n///\n/// # Book\n/// Formula (1.1).\n",
    );
    assert_mentions(
        &f.build_error(),
        &["listings/demo.rs", "must cite formula `half` as (1.1)"],
    );
}

#[test]
fn a_page_missing_in_one_language_names_the_page() {
    let f = Fixture::new();
    f.write("src/de/extra.md", "# Extra\n");
    f.replace(
        "src/de/SUMMARY.md",
        "- [Kapitel](ch01.md)",
        "- [Kapitel](ch01.md)\n- [Extra](extra.md)",
    );
    let p = problems(xtask::checks::parity(f.path()));
    assert_mentions(
        &p,
        &["src/en/extra.md: page is missing: src/de/extra.md exists"],
    );
    assert_mentions(&p, &["src/en/SUMMARY.md: the chapter tree differs"]);
}

#[test]
fn a_page_named_in_summary_but_missing_fails_the_build() {
    let f = Fixture::new();
    f.replace("src/en/SUMMARY.md", "(ch01.md)", "(ch1.md)");
    assert_mentions(&f.build_error(), &["English", "ch1.md"]);
}

#[test]
fn a_different_sequence_of_formulas_and_figures_is_reported() {
    let f = Fixture::new();
    f.replace(
        "src/en/ch01.md",
        "{{#figure softmax_temperature Caption $T$.}}",
        "",
    );
    let p = problems(xtask::checks::parity(f.path()));
    assert_mentions(
        &p,
        &[
            "src/en/ch01.md",
            "German has [{{#formula half}}, {{#listing half}}, {{#figure softmax_temperature}}], English has [{{#formula half}}, {{#listing half}}]",
        ],
    );
}

#[test]
fn bad_latex_in_a_page_names_the_page_and_katex_message() {
    let f = Fixture::new();
    f.replace("src/de/intro.md", "$x^2$", r"$\fracc{1}{2}$");
    assert_mentions(
        &f.build_error(),
        &[
            "src/de/intro.md:3",
            r"bad LaTeX `\fracc{1}{2}`",
            "Undefined control sequence",
        ],
    );
}

#[test]
fn bad_latex_in_a_registry_formula_names_the_page() {
    let f = Fixture::new();
    f.replace("src/registry/ch01.toml", r"\frac{1}{2}", r"\frac{1}{2");
    assert_mentions(
        &f.build_error(),
        &[
            "src/de/ch01.md",
            "bad LaTeX in formula `half` (src/registry)",
        ],
    );
}

#[test]
fn a_resource_from_another_host_is_refused() {
    let f = Fixture::new();
    f.replace(
        "src/en/intro.md",
        "Text",
        "<img src=\"https://example.org/a.png\" alt=\"a\">\n\nText",
    );
    assert_mentions(
        &f.build_error(),
        &[
            "en/intro.html",
            "<img> loads `https://example.org/a.png` from another host",
        ],
    );

    let f = Fixture::new();
    f.write(
        "theme/book.css",
        "@import \"https://example.org/font.css\";\n",
    );
    assert_mentions(
        &f.build_error(),
        &[
            "de/theme/book-",
            "loads `https://example.org/font.css` from another host",
        ],
    );
}

#[test]
fn katex_settings_that_would_hide_problems_are_refused() {
    // Without no-css, mdbook-katex links its stylesheet from a CDN.
    let f = Fixture::new();
    f.replace("book.toml", "no-css = true", "no-css = false");
    assert_mentions(&f.build_error(), &["no-css = true"]);
    // A wrong type would make mdbook-katex silently use its defaults.
    let f = Fixture::new();
    f.replace("book.toml", "no-css = true", "no-css = \"yes\"");
    assert_mentions(
        &f.build_error(),
        &["[preprocessor.katex]", "invalid type"],
    );
    // With throw-on-error, mdbook-katex would only log bad LaTeX; the
    // strict check before it still fails the build.
    let f = Fixture::new();
    f.replace(
        "book.toml",
        "throw-on-error = false",
        "throw-on-error = true",
    );
    f.replace("src/en/intro.md", "$x^2$", "$x^{2$");
    assert_mentions(
        &f.build_error(),
        &["src/en/intro.md:3", "bad LaTeX `x^{2`"],
    );
}

#[test]
fn a_broken_internal_link_is_reported() {
    let f = Fixture::new();
    f.replace(
        "src/de/intro.md",
        "Text",
        "[weiter](ch01.md#nirgends) und [fort](fehlt.md)\n\nText",
    );
    let e = f.build_error();
    assert_mentions(
        &e,
        &[
            "src/de/intro.md (built as de/intro.html): broken link `ch01.html#nirgends`: no element with id `nirgends`",
        ],
    );
    assert_mentions(&e, &["broken link `fehlt.html`: no such file"]);
}

#[test]
fn a_skipped_heading_level_is_reported() {
    let f = Fixture::new();
    f.replace("src/en/intro.md", "Text", "### Too deep\n\nText");
    let out = f.build().unwrap();
    let p = problems(xtask::checks::page_structure(&out));
    assert_mentions(&p, &["en/intro.html: heading h3 `Too deep` follows h1"]);
}

#[test]
fn math_is_never_read_as_markdown() {
    // KaTeX draws \tilde with a `~`: twice on a line, Markdown would make
    // strikethrough of the text between them; a `|` would split a table.
    let f = Fixture::new();
    f.replace(
        "src/de/intro.md",
        "Text $x^2$.",
        "Text $\\tilde x$ und $\\tilde y$.\n\n| a | b |\n|---|---|\n| $\\lvert g \\rvert$ | $x_1$ |",
    );
    let out = f.build().unwrap();
    let html = genai_book::read(&out.join("de/intro.html"));
    assert!(!html.contains("<del>"), "math became strikethrough");
    let doc = scraper::Html::parse_document(&html);
    let cells = scraper::Selector::parse("td").unwrap();
    assert_eq!(doc.select(&cells).count(), 2, "math split a table cell");
}

/// Gives the fixture a references page in both languages with one entry,
/// cited from the chapter page.
fn with_references(f: &Fixture) {
    for (lang, intro, chapter, title) in [
        ("de", "Einleitung", "Kapitel", "Literatur"),
        ("en", "Introduction", "Chapter", "References"),
    ] {
        f.write(
            &format!("src/{lang}/SUMMARY.md"),
            &format!(
                "# Summary\n\n[{intro}](intro.md)\n\n- [{chapter}](ch01.md)\n\n[{title}](references.md)\n"
            ),
        );
        f.write(
            &format!("src/{lang}/references.md"),
            &format!(
                "# {title}\n\n- <span id=\"ref-vaswani2017\"></span>Vaswani, A. et al. (2017): Attention Is All You Need.\n"
            ),
        );
        f.replace(
            &format!("src/{lang}/ch01.md"),
            "See {{#eq half}}.",
            "See {{#eq half}} and\n[Vaswani et al. 2017](references.md#ref-vaswani2017).",
        );
    }
}

#[test]
fn a_cited_entry_builds_and_its_link_resolves() {
    let f = Fixture::new();
    with_references(&f);
    let out = f.build().unwrap_or_else(|e| panic!("{e}"));
    let html = genai_book::read(&out.join("en/ch01.html"));
    assert!(html.contains("href=\"references.html#ref-vaswani2017\""));
    assert_eq!(problems(xtask::citations::check(f.path())), "");
}

#[test]
fn a_citation_without_entry_names_page_line_and_id() {
    let f = Fixture::new();
    with_references(&f);
    f.replace("src/de/ch01.md", "#ref-vaswani2017", "#ref-vaswani2071");
    let e = f.build_error();
    assert_mentions(
        &e,
        &[
            "src/de/ch01.md:6: citation `ref-vaswani2071` has no entry in src/de/references.md",
            // The entry is then cited nowhere in German.
            "src/de/references.md:3: entry `ref-vaswani2017` is cited nowhere",
        ],
    );
}

#[test]
fn an_entry_that_nothing_cites_names_the_references_page_and_line() {
    let f = Fixture::new();
    with_references(&f);
    f.replace(
        "src/en/ch01.md",
        "[Vaswani et al. 2017](references.md#ref-vaswani2017)",
        "no citation",
    );
    assert_mentions(
        &f.build_error(),
        &["src/en/references.md:3: entry `ref-vaswani2017` is cited nowhere"],
    );
}

#[test]
fn an_author_and_year_without_link_is_reported() {
    let f = Fixture::new();
    with_references(&f);
    f.replace(
        "src/en/intro.md",
        "Text",
        "As Vaswani et al. (2017) show, text",
    );
    assert_mentions(
        &f.build_error(),
        &[
            "src/en/intro.md:3: `Vaswani et al. (2017` cites `ref-vaswani2017` without a link",
        ],
    );
}

#[test]
fn an_entry_in_one_language_only_is_reported() {
    let f = Fixture::new();
    with_references(&f);
    f.replace(
        "src/de/references.md",
        "Need.\n",
        "Need.\n- <span id=\"ref-kingma2015\"></span>Kingma, D. P.; Ba, J. (2015): Adam.\n",
    );
    f.replace(
        "src/de/intro.md",
        "Text",
        "[Kingma und Ba 2015](references.md#ref-kingma2015)",
    );
    assert_mentions(
        &f.build_error(),
        &[
            "src/en/references.md: entry `ref-kingma2015` is only in the German references page",
        ],
    );
}

#[test]
fn an_unknown_value_id_names_page_line_and_id() {
    let f = Fixture::new();
    f.replace(
        "src/de/ch01.md",
        "{{#eq half}}",
        "{{#eq half}} {{#value ch01.nothing}}",
    );
    assert_mentions(
        &f.build_error(),
        &["src/de/ch01.md:5", "no value `ch01.nothing`"],
    );
}

#[test]
fn an_unknown_value_in_a_caption_names_page_line_and_id() {
    let f = Fixture::new();
    f.replace(
        "src/en/ch01.md",
        "Caption $T$.",
        "Caption {{#value ch01.nothing}} and {{#eq half}}.",
    );
    assert_mentions(
        &f.build_error(),
        &["src/en/ch01.md:9", "unknown id `ch01.nothing`"],
    );
}

#[test]
fn a_value_shown_as_a_table_is_refused() {
    let f = Fixture::new();
    for page in ["src/de/ch01.md", "src/en/ch01.md"] {
        f.replace(
            page,
            "{{#eq half}}",
            "{{#eq half}}\n\n{{#table ch01.log3}}\n",
        );
    }
    assert_mentions(
        &f.build_error(),
        &[
            "src/de/ch01.md:7",
            "`{{#table ch01.log3}}`",
            "is not a table",
        ],
    );
}
