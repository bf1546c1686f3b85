//! `cargo xtask serve` on a copy of the book: a page edited in the copy is
//! served again within seconds; a page with bad LaTeX is reported while
//! the last good page stays served; Ctrl-C stops the server cleanly.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long the first build of one language may take in a debug build
/// (figures included, on a loaded machine of two cores).
const FIRST_BUILD: Duration = Duration::from_secs(300);
/// How long a page edit may take to be served (the issue asks for about
/// a second; this allows for a busy machine).
const REBUILD: Duration = Duration::from_secs(30);

/// A copy of the book's sources (not `target/`, not `book/`).
fn copy_of_the_book() -> tempfile::TempDir {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for part in ["src", "theme", "listings"] {
        xtask::build::copy_dir(&repo.join(part), &dir.path().join(part))
            .unwrap();
    }
    std::fs::copy(repo.join("book.toml"), dir.path().join("book.toml"))
        .unwrap();
    dir
}

/// The server, stopped with Ctrl-C (SIGINT) when dropped.
struct Serve {
    child: Child,
    port: u16,
}

impl Serve {
    fn start(root: &Path) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["serve", "--lang", "de", "--root"])
            .arg(root)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let line = rx
            .recv_timeout(FIRST_BUILD)
            .expect("serve printed no address");
        // "serving http://127.0.0.1:PORT/de/index.html (Ctrl-C stops)"
        let port = line
            .split("127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        Serve { child, port }
    }

    /// GET `path`: (status code, body).
    fn get(&self, path: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        let status = reply
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = reply.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        (status, body.to_string())
    }

    /// Waits until `f` holds for the answer to GET `path`.
    fn wait_for(&self, path: &str, what: &str, f: impl Fn(&str) -> bool) {
        let start = Instant::now();
        loop {
            let (_, body) = self.get(path);
            if f(&body) {
                eprintln!("{what}: {:.2} s", start.elapsed().as_secs_f64());
                return;
            }
            assert!(
                start.elapsed() < REBUILD,
                "{what}: not within {REBUILD:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains(from), "{} has no {from:?}", file.display());
    std::fs::write(file, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn an_edited_page_is_served_again_and_bad_latex_keeps_the_old_page() {
    let book = copy_of_the_book();
    let serve = Serve::start(book.path());
    let page = "/de/ch01/softmax.html";
    let (status, html) = serve.get(page);
    assert_eq!(status, 200);
    assert!(html.contains("/__serve/reload.js"), "reload script added");
    assert!(!html.contains("Ein frisch eingefügter Satz"));
    let (status, script) = serve.get("/__serve/reload.js");
    assert_eq!(status, 200);
    assert!(script.contains("location.reload()"));

    // A sentence added to the page's prose is served again.
    let md = book.path().join("src/de/ch01/softmax.md");
    let text = std::fs::read_to_string(&md).unwrap();
    std::fs::write(&md, format!("{text}\nEin frisch eingefügter Satz.\n"))
        .unwrap();
    serve.wait_for(page, "edit served", |b| {
        b.contains("Ein frisch eingefügter Satz")
    });

    // Bad LaTeX: the error is reported, the last good page stays served.
    edit(&md, "Ein frisch eingefügter Satz.", "Kaputt: $\\frac{1}{$.");
    serve.wait_for("/__serve/state", "error reported", |b| {
        b.contains("bad LaTeX") && b.contains("src/de/ch01/softmax.md")
    });
    let (status, html) = serve.get(page);
    assert_eq!(status, 200);
    assert!(
        html.contains("Ein frisch eingefügter Satz"),
        "old page kept"
    );
    assert!(!html.contains("Kaputt"));

    // Fixed again: the error goes away and the new text is served.
    edit(&md, "Kaputt: $\\frac{1}{$.", "Wieder heil: $\\frac{1}{2}$.");
    serve.wait_for(page, "fix served", |b| b.contains("Wieder heil"));
    let (_, state) = serve.get("/__serve/state");
    assert_eq!(state.lines().nth(1).unwrap_or(""), "", "error cleared");
}

#[test]
fn an_unknown_id_and_a_broken_link_are_reported() {
    let book = copy_of_the_book();
    let serve = Serve::start(book.path());
    let md = book.path().join("src/de/ch01/softmax.md");
    let text = std::fs::read_to_string(&md).unwrap();
    std::fs::write(&md, format!("{text}\n{{{{#eq no_such_formula}}}}\n"))
        .unwrap();
    serve.wait_for("/__serve/state", "unknown id reported", |b| {
        b.contains("no_such_formula")
    });
    std::fs::write(&md, format!("{text}\n[weg](nirgends.md)\n")).unwrap();
    serve.wait_for("/__serve/state", "broken link reported", |b| {
        b.contains("nirgends")
    });
    let (status, _) = serve.get("/de/ch01/softmax.html");
    assert_eq!(status, 200, "the last good build is still served");
}
