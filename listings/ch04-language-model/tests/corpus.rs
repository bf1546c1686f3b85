//! The corpus: what is kept of a page, the split, the vocabulary.

use ch04_language_model::LmError;
use ch04_language_model::corpus::{Vocab, load_prose, prose, split};

#[test]
fn prose_drops_code_math_directives_html_and_tables() {
    let page = "# Titel\n\nEin Satz mit $x^2$ und `code`.\n\n\
                ```rust\nfn main() { let a = \"$\"; }\n```\n\n\
                $$\na = b\n$$\n\n{{#formula softmax}}\n\n\
                <span class=\"x\">Text</span> und [ein Link](a.md).\n\n\
                | de | en |\n|---|---|\n| Wort | word |\n\n\
                - ein *Punkt*\n  über zwei Zeilen\n";
    let text = prose(page);
    assert_eq!(
        text,
        "Titel\nEin Satz mit und.\nText und ein Link.\n\
         ein Punkt über zwei Zeilen\n"
    );
}

#[test]
fn directives_nested_in_a_caption_are_removed_with_it() {
    let page = "Vor {{#figure f Kurve {{#eq softmax}} mit {{#value a.b}}.}} \
                nach {{#value ch04.v}} Zeichen.\n";
    assert_eq!(prose(page), "Vor nach Zeichen.\n");
}

#[test]
fn inline_math_over_a_line_break_is_removed() {
    let text = prose("Mit $a +\nb$ gilt es.\n");
    assert_eq!(text, "Mit gilt es.\n");
}

#[test]
fn a_formula_going_on_over_a_line_that_looks_like_a_list_item_is_math() {
    // mdbook-katex takes formulas out before Markdown is parsed, so the
    // `- ` here is part of the formula, not a list item.
    let text = prose("Also $a\n- b$ gilt, und $$c\n+ d$$ auch.\n");
    assert_eq!(text, "Also gilt, und auch.\n");
}

#[test]
fn quotes_in_list_items_numbers_in_text_and_parentheses_in_links() {
    // The regex stripper kept the `> ` of the quote, took `0. ` for a
    // list marker and cut the link target at its first `)`.
    let page = "1. > Ein Zitat.\n\nerhält die Wahrscheinlichkeit\n\
                0. Kommt es vor\n\n[doi:10.1/a(64)b](https://x.org/a(64)b).\n";
    assert_eq!(
        prose(page),
        "Ein Zitat.\nerhält die Wahrscheinlichkeit 0. Kommt es vor\n\
         doi:10.1/a(64)b.\n"
    );
}

#[test]
fn heading_ids_code_in_formulas_and_escaped_dollars() {
    let page = "## Aufgabe 1.1 {#ex-1-1}\n\n`$x$` kostet \\$5 und $y$.\n";
    assert_eq!(prose(page), "Aufgabe 1.1\nkostet $5 und.\n");
}

#[test]
fn split_never_overlaps_and_covers_the_text() {
    let text: String = (0..2345)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let s = split(&text, 100, 4).unwrap();
    let mut owner = vec![0u8; text.chars().count()];
    for r in &s.train_ranges {
        r.clone().for_each(|i| owner[i] += 1);
    }
    for r in &s.valid_ranges {
        r.clone().for_each(|i| owner[i] += 10);
    }
    // Every character in exactly one of the two texts.
    assert!(owner.iter().all(|&o| o == 1 || o == 10));
    assert_eq!(s.train.chars().count() + s.valid.chars().count(), 2345);
    // Every 4th piece is held out: pieces 3, 7, 11, ... of 24 pieces.
    assert_eq!(s.valid_ranges.len(), 6);
    assert_eq!(s.valid_ranges[0], 300..400);
    // The texts are the pieces themselves.
    let chars: Vec<char> = text.chars().collect();
    let valid: String = s
        .valid_ranges
        .iter()
        .flat_map(|r| chars[r.clone()].iter())
        .collect();
    assert_eq!(valid, s.valid);
}

#[test]
fn split_of_the_book_is_deterministic_and_disjoint() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../src/de");
    let text = load_prose(&dir).unwrap();
    let a = split(&text, 2000, 10).unwrap();
    let b = split(&text, 2000, 10).unwrap();
    assert_eq!(a, b);
    for v in &a.valid_ranges {
        for t in &a.train_ranges {
            assert!(v.end <= t.start || t.end <= v.start, "{v:?} {t:?}");
        }
    }
    assert!(!a.valid.is_empty() && a.train.len() > 5 * a.valid.len());
}

#[test]
fn too_short_a_corpus_is_refused() {
    let e = split("abc", 2, 3).unwrap_err();
    assert!(matches!(e, LmError::ShortCorpus(_)), "{e}");
    assert!(e.to_string().contains("3 characters"), "{e}");
}

#[test]
fn an_empty_corpus_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.md"), "```\ncode only\n```\n$$x$$\n")
        .unwrap();
    let e = load_prose(dir.path()).unwrap_err();
    assert!(matches!(e, LmError::EmptyCorpus(_)), "{e}");
    assert!(
        e.to_string().contains("no prose in 1 Markdown files"),
        "{e}"
    );
}

#[test]
fn vocabulary_encodes_decodes_and_names_unknown_characters() {
    let v = Vocab::from_text("hallo welt").unwrap();
    assert_eq!(v.chars(), &[' ', 'a', 'e', 'h', 'l', 'o', 't', 'w']);
    let tokens = v.encode("hallo", "prompt").unwrap();
    assert_eq!(tokens, vec![3, 1, 4, 4, 5]);
    assert_eq!(v.decode(&tokens), "hallo");
    let e = v.encode("hallo!", "prompt").unwrap_err();
    assert_eq!(
        e.to_string(),
        "character '!' at position 5 of the prompt is not in the \
         vocabulary (8 characters seen in training)"
    );
}
