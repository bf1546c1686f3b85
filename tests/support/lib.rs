//! What the book-level tests in `tests/` share.

use std::path::{Path, PathBuf};

/// The repository root, which is also the book root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Panics with every problem listed, one per line, if there are any.
pub fn assert_no_problems(what: &str, problems: &[xtask::problem::Problem]) {
    if !problems.is_empty() {
        let list: Vec<String> =
            problems.iter().map(|p| format!("  {p}")).collect();
        panic!("{what}: {} problem(s)\n{}", problems.len(), list.join("\n"));
    }
}

/// Builds the whole book into a fresh temporary folder and returns it.
pub fn build_into_temp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let out = dir.path().join("book");
    if let Err(e) = xtask::build::build_book(&root(), &out) {
        panic!("the book does not build:\n{e:#}");
    }
    (dir, out)
}

/// Reads a built file, with a clear message if it is missing.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A small, valid book in a temporary folder, built with the real
/// `book.toml`, theme and build code, for tests that break one thing at a
/// time and check the message.
pub struct Fixture {
    dir: tempfile::TempDir,
}

impl Default for Fixture {
    fn default() -> Self {
        Self::new()
    }
}

impl Fixture {
    /// A book with one numbered chapter holding one formula, its listing,
    /// a formula reference and a figure, in both languages.
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("temporary folder");
        let fixture = Fixture { dir };
        let real = root();
        fixture.write("book.toml", &read(&real.join("book.toml")));
        fixture.write("src/macros.txt", &read(&real.join("src/macros.txt")));
        fixture.write("theme/book.css", &read(&real.join("theme/book.css")));
        fixture.write(
            "theme/figure-zoom.js",
            &read(&real.join("theme/figure-zoom.js")),
        );
        let katex = xtask::build::KATEX_THEME;
        xtask::build::copy_dir(&real.join(katex), &fixture.path().join(katex))
            .expect("copy KaTeX theme");
        fixture.write(
            "src/registry/ch01.toml",
            r#"
[formula.half]
tex = '''\frac{1}{2}'''
listing = "half"

[figure.softmax_temperature]
listing = "half"

[listing.half]
file = "listings/demo.rs"
anchor = "half"
tests = ["listings/demo.rs::half_is_a_half"]
"#,
        );
        fixture.write(
            "listings/demo.rs",
            "// ANCHOR: half\n/// One half, formula (1.1).\npub fn half() -> f64 {\n    0.5\n}\n// ANCHOR_END: half\n\n#[test]\nfn half_is_a_half() {\n    assert_eq!(half(), 0.5);\n}\n",
        );
        for (lang, intro, chapter) in [
            ("de", "Einleitung", "Kapitel"),
            ("en", "Introduction", "Chapter"),
        ] {
            fixture.write(
                &format!("src/{lang}/SUMMARY.md"),
                &format!("# Summary\n\n[{intro}](intro.md)\n\n- [{chapter}](ch01.md)\n"),
            );
            fixture.write(
                &format!("src/{lang}/intro.md"),
                &format!("# {intro}\n\nText $x^2$.\n"),
            );
            fixture.write(
                &format!("src/{lang}/ch01.md"),
                &format!(
                    "# {chapter}\n\n{{{{#formula half}}}}\n\nSee {{{{#eq half}}}}.\n\n{{{{#listing half}}}}\n\n{{{{#figure softmax_temperature Caption $T$.}}}}\n"
                ),
            );
        }
        fixture
    }

    /// The fixture's root folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file of the fixture, creating its folder.
    pub fn write(&self, rel: &str, content: &str) {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    /// Replaces `from` with `to` in a file of the fixture; panics if `from`
    /// is not there, so that a test cannot silently break nothing.
    pub fn replace(&self, rel: &str, from: &str, to: &str) {
        let text = read(&self.path().join(rel));
        assert!(text.contains(from), "{rel} does not contain {from:?}");
        self.write(rel, &text.replacen(from, to, 1));
    }

    /// Builds the fixture; the error message on failure.
    pub fn build(&self) -> Result<PathBuf, String> {
        let out = self.path().join("book");
        xtask::build::build_book(self.path(), &out)
            .map(|()| out)
            .map_err(|e| format!("{e:#}"))
    }

    /// The build's error message; panics if the build succeeds.
    pub fn build_error(&self) -> String {
        match self.build() {
            Ok(_) => panic!("the fixture built, but it should have failed"),
            Err(e) => e,
        }
    }
}
