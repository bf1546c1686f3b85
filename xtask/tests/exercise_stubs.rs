//! Every code exercise's tests fail on its untouched stub: a test that
//! passes on `todo!()` cannot tell a solved exercise from an unsolved
//! one. One cargo command builds all exercise tests with the feature
//! `stubs` (into `target/exercises`, as `cargo xtask exercise` does), then
//! each exercise's test binary runs.
//!
//! A stub that differs from the committed one (`git diff HEAD`: a student
//! at work) is left out, with a note; without git every stub counts as
//! untouched.

use std::path::PathBuf;
use std::process::Command;

use xtask::exercises::{Outcome, run_stubs, stub_stems};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The committed stubs that differ from `HEAD` (a new stub that git does
/// not know yet is checked).
fn changed_stubs() -> Vec<String> {
    let out = Command::new("git")
        .current_dir(root())
        .args(["diff", "--name-only", "HEAD", "--", "exercises/stubs"])
        .output();
    let Some(out) = out.ok().filter(|o| o.status.success()) else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|path| {
            let name = path.rsplit('/').next()?;
            Some(name.strip_suffix(".rs")?.to_string())
        })
        .collect()
}

#[test]
fn every_exercise_fails_on_its_untouched_stub() {
    let root = root();
    let stems = stub_stems(&root);
    assert!(!stems.is_empty(), "no code exercises in exercises/stubs/");
    let changed = changed_stubs();
    let results = run_stubs(&root, &stems).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(results.len(), stems.len());
    let mut passing = Vec::new();
    for (stem, outcome) in &results {
        if changed.contains(stem) {
            eprintln!(
                "note: exercises/stubs/{stem}.rs is changed; not checked"
            );
            continue;
        }
        match outcome {
            Outcome::Done => passing.push(stem.clone()),
            Outcome::NotDone { counts, .. } => {
                // Every test of the exercise fails on the stub, not only
                // one: a test that passes on `todo!()` checks nothing.
                if let Some((failed, total)) = counts {
                    assert_eq!(
                        failed,
                        total,
                        "exercises/tests/{stem}.rs: {} of {total} tests pass \
                         on the untouched stub",
                        total - failed
                    );
                }
            }
        }
    }
    assert!(
        passing.is_empty(),
        "the tests of these exercises pass on their untouched stubs: {}",
        passing.join(", ")
    );
}
