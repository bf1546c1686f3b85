//! Walking the book's folders; used by the checks, the build and the
//! figure cache, below all of them.

use std::fs;
use std::path::{Path, PathBuf};

/// Visits every file below `dir`, in sorted order.
pub fn walk(dir: &Path, visit: &mut dyn FnMut(&Path)) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            walk(&path, visit);
        } else {
            visit(&path);
        }
    }
}
