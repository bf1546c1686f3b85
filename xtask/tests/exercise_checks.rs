//! The checks of the exercise pages and files (`xtask::exercises::check`)
//! on a small valid repository in a temporary folder, broken one thing at
//! a time: each mistake gives a message naming the file and the exercise.

use std::fs;
use std::path::Path;

use xtask::exercises::check;

const DE: &str = "# Aufgaben

## Aufgabe 1.1: Rechnen ★ {#ex-1-1}

*Rechnung* · {{#eq softmax}}

Berechne.

<details class=\"solution\">
<summary>Lösung</summary>

Es ist $1{,}5$.

</details>

## Aufgabe 1.2: Programmieren ★★ {#ex-1-2}

*Programmieren* · 

Schreibe es.

Code: `exercises/stubs/ch01_2.rs`, Test: `cargo xtask exercise ch01-2`

<details class=\"solution\">
<summary>Lösung</summary>

So.

</details>
";

const LIB: &str = "pub mod support;
#[cfg_attr(feature = \"stubs\", path = \"../stubs/ch01_2.rs\")]
#[cfg_attr(not(feature = \"stubs\"), path = \"../solutions/ch01_2.rs\")]
pub mod ch01_2;
";

/// The English page of [`DE`].
fn en() -> String {
    DE.replace("# Aufgaben", "# Exercises")
        .replace("## Aufgabe", "## Exercise")
        .replace("*Rechnung*", "*Computation*")
        .replace("*Programmieren*", "*Code*")
        .replace("Lösung", "Solution")
        .replace("1{,}5", "1.5")
}

struct Repo(tempfile::TempDir);

impl Repo {
    fn new() -> Repo {
        let repo = Repo(tempfile::tempdir().unwrap());
        repo.write("src/de/ch01/exercises.md", DE);
        repo.write("src/en/ch01/exercises.md", &en());
        repo.write("exercises/src/lib.rs", LIB);
        for f in [
            "stubs/ch01_2.rs",
            "solutions/ch01_2.rs",
            "tests/ch01_2.rs",
            "hints/de/ch01_2.md",
            "hints/en/ch01_2.md",
        ] {
            repo.write(&format!("exercises/{f}"), "// x\n");
        }
        repo
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.path().join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }

    fn replace(&self, rel: &str, from: &str, to: &str) {
        let p = self.path().join(rel);
        let text = fs::read_to_string(&p).unwrap();
        assert!(text.contains(from), "{rel} has no {from:?}");
        fs::write(p, text.replacen(from, to, 1)).unwrap();
    }

    fn problems(&self) -> String {
        check(self.path())
            .iter()
            .map(|p| format!("{p}\n"))
            .collect()
    }
}

fn assert_mentions(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(
            message.contains(part),
            "message does not mention {part:?}:\n{message}"
        );
    }
}

#[test]
fn the_valid_repository_passes() {
    assert_eq!(Repo::new().problems(), "");
}

#[test]
fn an_exercise_without_solution() {
    let r = Repo::new();
    r.replace(
        "src/en/ch01/exercises.md",
        "<details class=\"solution\">\n<summary>Solution</summary>\n\nEs ist $1.5$.\n\n</details>\n",
        "",
    );
    assert_mentions(
        &r.problems(),
        &["src/en/ch01/exercises.md:3", "exercise 1.1 has no solution"],
    );
}

#[test]
fn a_solution_without_exercise() {
    let r = Repo::new();
    r.replace(
        "src/de/ch01/exercises.md",
        "# Aufgaben\n",
        "# Aufgaben\n\n<details class=\"solution\">\n<summary>Lösung\
         </summary>\n\nx\n\n</details>\n",
    );
    assert_mentions(
        &r.problems(),
        &["src/de/ch01/exercises.md:3", "solution without an exercise"],
    );
}

#[test]
fn an_exercise_in_one_language_only() {
    let r = Repo::new();
    let de = format!(
        "{DE}\n## Aufgabe 1.3: Neu ★ {{#ex-1-3}}\n\n*Herleitung* · \n\n\
         <details class=\"solution\">\n<summary>Lösung</summary>\n\nx\n\n\
         </details>\n"
    );
    r.write("src/de/ch01/exercises.md", &de);
    assert_mentions(
        &r.problems(),
        &["src/en/ch01/exercises.md", "exercise 1.3 is missing"],
    );
}

#[test]
fn a_bad_star_count() {
    let r = Repo::new();
    r.replace("src/de/ch01/exercises.md", "Rechnen ★ {", "Rechnen ★★★★ {");
    assert_mentions(
        &r.problems(),
        &["src/de/ch01/exercises.md:3", "exercise 1.1 has 4 stars"],
    );
    let r = Repo::new();
    r.replace("src/en/ch01/exercises.md", "★★ {#ex-1-2}", "{#ex-1-2}");
    assert_mentions(
        &r.problems(),
        &["src/en/ch01/exercises.md:16", "exercise 1.2 has 0 stars"],
    );
}

#[test]
fn a_missing_or_unknown_kind_line() {
    let r = Repo::new();
    r.replace(
        "src/de/ch01/exercises.md",
        "*Rechnung* · {{#eq softmax}}\n",
        "",
    );
    assert_mentions(
        &r.problems(),
        &["src/de/ch01/exercises.md", "exercise 1.1 has no kind line"],
    );
    let r = Repo::new();
    r.replace("src/en/ch01/exercises.md", "*Computation*", "*Rechnung*");
    assert_mentions(
        &r.problems(),
        &[
            "src/en/ch01/exercises.md:5",
            "exercise 1.1: unknown kind `Rechnung`",
        ],
    );
}

#[test]
fn a_missing_stub_solution_test_or_module() {
    for file in ["stubs", "solutions", "tests"] {
        let r = Repo::new();
        fs::remove_file(r.path().join(format!("exercises/{file}/ch01_2.rs")))
            .unwrap();
        assert_mentions(
            &r.problems(),
            &[
                "src/de/ch01/exercises.md:16",
                "code exercise 1.2",
                &format!("exercises/{file}/ch01_2.rs is missing"),
            ],
        );
    }
    let r = Repo::new();
    r.replace("exercises/src/lib.rs", "pub mod ch01_2;", "");
    assert_mentions(
        &r.problems(),
        &[
            "exercises/src/lib.rs",
            "code exercise 1.2",
            "`pub mod ch01_2;`",
        ],
    );
}

#[test]
fn a_stub_that_no_page_names() {
    let r = Repo::new();
    r.write("exercises/stubs/ch01_7.rs", "// x\n");
    assert_mentions(
        &r.problems(),
        &[
            "exercises/stubs/ch01_7.rs",
            "no exercise page names this stub",
        ],
    );
}

#[test]
fn a_code_line_with_the_wrong_file_or_kind() {
    let r = Repo::new();
    r.replace(
        "src/de/ch01/exercises.md",
        "stubs/ch01_2.rs",
        "stubs/ch01_3.rs",
    );
    assert_mentions(
        &r.problems(),
        &["src/de/ch01/exercises.md:22", "exercise 1.2: its code is"],
    );
    let r = Repo::new();
    r.replace(
        "src/de/ch01/exercises.md",
        "*Programmieren*",
        "*Herleitung*",
    );
    assert_mentions(
        &r.problems(),
        &[
            "src/en/ch01/exercises.md:16",
            "exercise 1.2",
            "has another kind",
        ],
    );
}

#[test]
fn a_solution_block_without_blank_lines_or_closing_tag() {
    let r = Repo::new();
    r.replace(
        "src/de/ch01/exercises.md",
        "<summary>Lösung</summary>\n\nEs",
        "<summary>Lösung</summary>\nEs",
    );
    assert_mentions(
        &r.problems(),
        &["src/de/ch01/exercises.md:11", "a blank line must follow"],
    );
    let r = Repo::new();
    r.replace("src/de/ch01/exercises.md", "So.\n\n</details>", "So.\n");
    assert_mentions(
        &r.problems(),
        &["src/de/ch01/exercises.md:24", "not closed"],
    );
}

#[test]
fn numbering_and_headings() {
    let r = Repo::new();
    r.replace(
        "src/de/ch01/exercises.md",
        "Aufgabe 1.2: Programmieren ★★ {#ex-1-2}",
        "Aufgabe 1.3: Programmieren ★★ {#ex-1-3}",
    );
    assert_mentions(
        &r.problems(),
        &["src/de/ch01/exercises.md:16", "expected number 1.2"],
    );
    let r = Repo::new();
    r.replace(
        "src/de/ch01/exercises.md",
        "## Aufgabe 1.1: Rechnen ★ {#ex-1-1}",
        "## Aufgabe 1.1 Rechnen ★",
    );
    assert_mentions(
        &r.problems(),
        &[
            "src/de/ch01/exercises.md:3",
            "exercise heading not of the form",
        ],
    );
}

#[test]
fn unknown_ids_list_the_ones_that_exist() {
    let r = Repo::new();
    let e = xtask::exercises::resolve(r.path(), "ch09-1").unwrap_err();
    assert_mentions(&e.to_string(), &["no code exercise `ch09-1`", "ch01-2"]);
    assert_eq!(
        xtask::exercises::resolve(r.path(), "1.2").unwrap(),
        "ch01_2"
    );
    assert_eq!(
        xtask::exercises::resolve(r.path(), "ch01-2").unwrap(),
        "ch01_2"
    );
}

#[test]
fn the_book_s_exercise_pages_and_files_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let problems: String =
        check(root).iter().map(|p| format!("  {p}\n")).collect();
    assert!(problems.is_empty(), "exercises:\n{problems}");
}

#[test]
fn a_level_three_exercise_right_under_the_title() {
    let r = Repo::new();
    r.replace(
        "src/de/ch01/exercises.md",
        "## Aufgabe 1.1",
        "### Aufgabe 1.1",
    );
    assert_mentions(
        &r.problems(),
        &[
            "src/de/ch01/exercises.md:3",
            "exercise 1.1",
            "skips level 2",
        ],
    );
    // Below a level-2 section, level 3 is right.
    r.replace(
        "src/de/ch01/exercises.md",
        "# Aufgaben\n",
        "# Aufgaben\n\n## Teil A\n",
    );
    assert_eq!(r.problems(), "");
}
