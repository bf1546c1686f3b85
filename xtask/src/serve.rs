//! `cargo xtask serve`: builds the book, serves it on 127.0.0.1, watches
//! the sources, rebuilds what changed and reloads the page open in the
//! browser.
//!
//! - A page's prose: only its language is built again; formulas and
//!   figures come from the [`Cache`], so that takes well under a second.
//! - Rust code (a listing, the figure code, `Cargo.lock`): `cargo build
//!   --package xtask` recompiles what depends on the change, and `serve`
//!   starts the new binary in its own place (same port), which reads the
//!   figures whose inputs did not change back from the disk cache.
//! - A failed build (bad LaTeX, an unknown id, a broken link, a compiler
//!   error) is printed in the terminal and shown on the page; the last good
//!   build stays served.
//!
//! Each build goes to a new folder under `target/xtask-serve/site-PORT/`, never
//! to `book/`: the script that reloads the page is added to each HTML page
//! as it is served, so no built file contains it.

use std::collections::BTreeSet;
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, anyhow};
use notify::{EventKind, RecursiveMode, Watcher as _};
use tiny_http::{Header, Request, Response, Server};

use crate::build::{build_language_with, copy_dir, landing_page, with_source};
use crate::cache::Cache;
use crate::checks;
use crate::lang::Lang;
use crate::problem::{into_result, to_error};
use crate::registry::Registry;

/// What `cargo xtask serve` was asked to do.
#[derive(Clone, Debug)]
pub struct Options {
    /// The book root: `book.toml`, `src/`, `theme/`, `listings/`.
    pub root: PathBuf,
    /// The repository the running binary was built from (where `cargo
    /// build` recompiles it).
    pub repo: PathBuf,
    /// The languages to build.
    pub langs: Vec<Lang>,
    /// The port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
}

/// The path under which the reload script and the build state are served.
const SERVE_PATH: &str = "/__serve";

/// How often the page asks whether a new build is there, in milliseconds.
const POLL_MS: u32 = 250;

/// The build being served and the last error.
struct State {
    /// Names this process and build: the page reloads when it changes.
    version: String,
    /// The folder with `de/`, `en/` and `index.html` of the last good build.
    site: Option<PathBuf>,
    /// Why the last build failed, if it did.
    error: Option<String>,
}

/// Builds, serves and rebuilds until the process is stopped (Ctrl-C).
pub fn serve(options: Options) -> Result<()> {
    // The binary to restart with after recompiling; asked for first, before
    // a rebuild can replace the file.
    let exe = std::env::current_exe()?;
    let work = target_dir(&options.repo).join("xtask-serve");
    let cache = Arc::new(Cache::new(&options.repo, &work.join("figures"))?);
    let server = Server::http(("127.0.0.1", options.port))
        .map_err(|e| anyhow!("cannot listen on port {}: {e}", options.port))?;
    let port = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| anyhow!("the server has no IP address"))?
        .port();
    // One folder per port, so that two servers never share one; a folder
    // left by a restart on this port or a crash is cleared.
    let sites = work.join(format!("site-{port}"));
    let _ = fs::remove_dir_all(&sites);
    fs::create_dir_all(&sites)?;
    let started = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let state = Arc::new(Mutex::new(State {
        version: format!("{started}-0"),
        site: None,
        error: None,
    }));
    {
        let state = Arc::clone(&state);
        std::thread::spawn(move || {
            for request in server.incoming_requests() {
                let state = Arc::clone(&state);
                std::thread::spawn(move || respond(request, &state));
            }
        });
    }
    let stopped = sites.clone();
    // Ctrl-C, and a plain `kill` (SIGTERM) too.
    ctrlc::set_handler(move || {
        let _ = fs::remove_dir_all(&stopped);
        eprintln!("\nstopped");
        std::process::exit(0);
    })
    .context("cannot catch Ctrl-C")?;

    // Watch before the first build, so that no change made while it runs
    // is missed.
    let (tx, rx) = mpsc::channel::<Vec<PathBuf>>();
    let mut watcher = notify::recommended_watcher(
        move |res: notify::Result<notify::Event>| {
            // Reading a file is an event too (the build reads every page
            // and listing); only changes count.
            if let Ok(event) = res
                && !matches!(event.kind, EventKind::Access(_))
            {
                let _ = tx.send(event.paths);
            }
        },
    )?;
    for dir in ["src", "theme", "listings", "xtask/src"] {
        let path = options.root.join(dir);
        if path.is_dir() {
            watcher.watch(&path, RecursiveMode::Recursive)?;
        }
    }
    // The root itself, not recursively: book.toml, Cargo.lock.
    watcher.watch(&options.root, RecursiveMode::NonRecursive)?;

    let mut builder = Builder {
        options: options.clone(),
        cache,
        sites,
        generation: 0,
        current: None,
    };
    let start = Instant::now();
    let result = builder.build(&options.langs);
    publish(&state, &builder, result, start, "start", started);
    println!(
        "serving http://127.0.0.1:{port}/{}/index.html (Ctrl-C stops)",
        options.langs[0].code()
    );

    let own_code = options.root == options.repo;
    while let Ok(mut paths) = rx.recv() {
        // An editor's save is several events; collect them, and what else
        // arrived while the last build ran.
        while let Ok(more) = rx.recv_timeout(Duration::from_millis(30)) {
            paths.extend(more);
        }
        let change = classify(&options.root, &paths);
        if change.is_empty() {
            continue;
        }
        let start = Instant::now();
        if change.code && own_code {
            match recompile(&options.repo, &exe) {
                Ok(true) => restart(&exe, port),
                Ok(false) => {}
                Err(e) => {
                    let msg = format!("{e:#}");
                    eprintln!("error: {msg}");
                    let mut s = state.lock().unwrap();
                    s.error = Some(msg);
                    continue;
                }
            }
        }
        let langs: Vec<Lang> = if change.code || change.all {
            options.langs.clone()
        } else {
            options
                .langs
                .iter()
                .copied()
                .filter(|l| change.langs.contains(l.code()))
                .collect()
        };
        let what = change.describe();
        let result = builder.build(&langs);
        publish(&state, &builder, result, start, &what, started);
    }
    Ok(())
}

/// Records the outcome of a build and says so in the terminal.
fn publish(
    state: &Mutex<State>,
    builder: &Builder,
    result: Result<()>,
    start: Instant,
    what: &str,
    started: u128,
) {
    let mut s = state.lock().unwrap();
    match result {
        Ok(()) => {
            s.site = builder.current.clone();
            s.error = None;
            s.version = format!("{started}-{}", builder.generation);
            eprintln!(
                "built in {:.2} s ({what})",
                start.elapsed().as_secs_f64()
            );
        }
        Err(e) => {
            let msg = format!("{e:#}");
            eprintln!(
                "error after {:.2} s ({what}); still serving the last good \
                 build:\n{msg}",
                start.elapsed().as_secs_f64()
            );
            s.error = Some(msg);
        }
    }
}

/// Builds into a new folder per build and keeps the last good one.
struct Builder {
    options: Options,
    cache: Arc<Cache>,
    sites: PathBuf,
    generation: u64,
    /// The folder of the last good build.
    current: Option<PathBuf>,
}

impl Builder {
    /// Builds `langs` into a new folder; the other languages are taken from
    /// the last good build. Leaves `current` alone when the build fails.
    fn build(&mut self, langs: &[Lang]) -> Result<()> {
        // Without a good build to take the other language from, build all.
        let langs = match self.current {
            Some(_) => langs.to_vec(),
            None => self.options.langs.clone(),
        };
        let langs = langs.as_slice();
        self.generation += 1;
        let out = self.sites.join(self.generation.to_string());
        let result = self.build_into(&out, langs);
        match result {
            Ok(()) => {
                if let Some(old) = self.current.replace(out) {
                    // The previous build may still be read by a request in
                    // flight; the one before it is safe to remove.
                    self.remove_older_than(&old);
                }
                Ok(())
            }
            Err(e) => {
                let _ = fs::remove_dir_all(&out);
                Err(e)
            }
        }
    }

    fn build_into(&self, out: &Path, langs: &[Lang]) -> Result<()> {
        let root = &self.options.root;
        let registry = Registry::load(root).map_err(|p| to_error(&p))?;
        // With one language only, the link to the other one would lead
        // nowhere.
        let switch = self.options.langs.len() > 1;
        for &lang in langs {
            build_language_with(
                root,
                out,
                lang,
                &registry,
                switch,
                Some(Arc::clone(&self.cache)),
            )?;
        }
        for &lang in &self.options.langs {
            if langs.contains(&lang) {
                continue;
            }
            let previous = self.current.as_ref().ok_or_else(|| {
                anyhow!("no earlier build of {}", lang.name())
            })?;
            copy_dir(&previous.join(lang.code()), &out.join(lang.code()))?;
        }
        let landing = match self.options.langs.as_slice() {
            [only] => format!(
                "<!DOCTYPE html>\n<meta http-equiv=\"refresh\" \
                 content=\"0; url={0}/index.html\">\n\
                 <a href=\"{0}/index.html\">{1}</a>\n",
                only.code(),
                only.name()
            ),
            _ => landing_page(),
        };
        fs::write(out.join("index.html"), landing)?;
        let changed = self.changed_files(out);
        let problems = checks::site_files(out, &changed)
            .into_iter()
            .map(|p| with_source(root, p))
            .collect();
        into_result(problems).context("the built book has problems")
    }

    /// The files of the new build at `out` that differ from the last good
    /// build (all of them for the first build), for the site check. The
    /// full check, `print.html` included, is `cargo xtask book`'s.
    fn changed_files(&self, out: &Path) -> Vec<PathBuf> {
        let mut files = Vec::new();
        crate::files::walk(out, &mut |p| files.push(p.to_path_buf()));
        let Some(previous) = &self.current else {
            return files;
        };
        files.retain(|file| {
            let name = file.file_name().and_then(|n| n.to_str());
            if name == Some("print.html") {
                return false;
            }
            let Ok(rel) = file.strip_prefix(out) else {
                return true;
            };
            match (fs::read(file), fs::read(previous.join(rel))) {
                (Ok(new), Ok(old)) => new != old,
                _ => true,
            }
        });
        files
    }

    fn remove_older_than(&self, keep: &Path) {
        let Ok(entries) = fs::read_dir(&self.sites) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if Some(&path) != self.current.as_ref() && path != keep {
                let _ = fs::remove_dir_all(path);
            }
        }
    }
}

/// What a batch of changed files asks for.
#[derive(Debug, Default, PartialEq)]
struct Change {
    /// Languages whose pages changed (`de`, `en`).
    langs: BTreeSet<String>,
    /// Something both languages use changed (registry, macros, theme,
    /// `book.toml`).
    all: bool,
    /// Rust code or its manifest changed: recompile first.
    code: bool,
    /// The changed files, relative to the root.
    files: Vec<PathBuf>,
}

impl Change {
    fn is_empty(&self) -> bool {
        self.langs.is_empty() && !self.all && !self.code
    }

    fn describe(&self) -> String {
        let mut names: Vec<String> =
            self.files.iter().map(|f| f.display().to_string()).collect();
        names.sort();
        names.dedup();
        if names.len() > 3 {
            let n = names.len() - 3;
            names.truncate(3);
            names.push(format!("{n} more"));
        }
        names.join(", ")
    }
}

/// Sorts the changed `paths` into what has to be rebuilt. Editors' backup
/// and swap files and everything under `target/` and `book/` are ignored.
fn classify(root: &Path, paths: &[PathBuf]) -> Change {
    let mut change = Change::default();
    for path in paths {
        let Ok(rel) = path.strip_prefix(root) else {
            continue;
        };
        let name = rel.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.')
            || name.starts_with('#')
            || name.ends_with('~')
            || name.ends_with(".swp")
            || name.ends_with(".tmp")
        {
            continue;
        }
        let parts: Vec<&str> = rel.iter().filter_map(|p| p.to_str()).collect();
        let relevant = match parts.as_slice() {
            ["book.toml"] => {
                change.all = true;
                true
            }
            ["Cargo.toml"] | ["Cargo.lock"] => {
                change.code = true;
                true
            }
            ["src", lang, _, ..] if Lang::from_code(lang).is_some() => {
                change.langs.insert(lang.to_string());
                true
            }
            ["src", ..] | ["theme", ..] => {
                change.all = true;
                true
            }
            ["listings", ..] | ["xtask", ..]
                if name.ends_with(".rs") || name == "Cargo.toml" =>
            {
                change.code = true;
                true
            }
            _ => false,
        };
        if relevant {
            change.files.push(rel.to_path_buf());
        }
    }
    change
}

/// Runs `cargo build --package xtask`; `true` when the binary changed.
fn recompile(repo: &Path, exe: &Path) -> Result<bool> {
    let before = fs::metadata(exe).and_then(|m| m.modified()).ok();
    eprintln!("recompiling: cargo build --package xtask");
    let start = Instant::now();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["build", "--package", "xtask", "--color", "never"])
        .current_dir(repo)
        .output()
        .context("cannot run cargo")?;
    if !output.status.success() {
        let log = String::from_utf8_lossy(&output.stderr);
        // The compiler's messages, without cargo's progress lines.
        let messages: Vec<&str> = log
            .lines()
            .filter(|l| {
                !l.trim_start().starts_with("Compiling")
                    && !l.trim_start().starts_with("Building")
            })
            .collect();
        return Err(anyhow!(
            "cargo build --package xtask failed:\n{}",
            messages.join("\n")
        ));
    }
    let after = fs::metadata(exe).and_then(|m| m.modified()).ok();
    eprintln!("recompiled in {:.1} s", start.elapsed().as_secs_f64());
    Ok(before != after)
}

/// Replaces this process with the recompiled binary, on the same port.
fn restart(exe: &Path, port: u16) -> ! {
    eprintln!("restarting with the recompiled binary");
    let mut cmd = Command::new(exe);
    // The same arguments as this process, with the port it got (a free
    // one may have been picked).
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--port" {
            args.next();
        } else if !arg.starts_with("--port=") {
            cmd.arg(arg);
        }
    }
    cmd.args(["--port", &port.to_string()]);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        let e = cmd.exec();
        eprintln!("error: cannot restart {}: {e}", exe.display());
        std::process::exit(1);
    }
    #[cfg(not(unix))]
    {
        // Without exec, start the new binary once this one has let go of
        // the port.
        drop(cmd.spawn());
        std::process::exit(0);
    }
}

/// The cargo target folder of `repo`.
fn target_dir(repo: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => repo.join("target"),
    }
}

/// Answers one request: the reload script, the build state, or a file of
/// the last good build (HTML pages with the reload script added).
fn respond(request: Request, state: &Mutex<State>) {
    let url = request.url().split(['?', '#']).next().unwrap_or("/");
    let url = percent_encoding::percent_decode_str(url)
        .decode_utf8_lossy()
        .into_owned();
    let (version, site, error) = {
        let s = state.lock().unwrap();
        (s.version.clone(), s.site.clone(), s.error.clone())
    };
    let response = if url == format!("{SERVE_PATH}/state") {
        text(
            format!("{version}\n{}", error.unwrap_or_default()),
            "text/plain",
        )
    } else if url == format!("{SERVE_PATH}/reload.js") {
        text(reload_script(), "text/javascript")
    } else {
        match site.and_then(|site| resolve(&site, &url)) {
            Some(file) => file_response(&file, &version),
            None => not_found(&url, error.as_deref()),
        }
    };
    let _ = request.respond(response);
}

/// The file that `url` names inside `site`, if there is one; a folder
/// stands for its `index.html`. Never leaves `site`.
fn resolve(site: &Path, url: &str) -> Option<PathBuf> {
    let mut path = site.to_path_buf();
    for part in url.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            p => path.push(p),
        }
    }
    if path.is_dir() {
        path.push("index.html");
    }
    path.is_file().then_some(path)
}

type Reply = Response<std::io::Cursor<Vec<u8>>>;

fn text(body: String, mime: &str) -> Reply {
    Response::from_data(body.into_bytes())
        .with_header(header("Content-Type", &format!("{mime}; charset=utf-8")))
        .with_header(header("Cache-Control", "no-store"))
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes())
        .expect("header names and values are ASCII")
}

fn file_response(file: &Path, version: &str) -> Reply {
    let mut bytes = Vec::new();
    if fs::File::open(file)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .is_err()
    {
        return not_found(&file.display().to_string(), None);
    }
    let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
    if ext == "html" {
        let html = String::from_utf8_lossy(&bytes);
        bytes = with_reload_script(&html, version).into_bytes();
    }
    Response::from_data(bytes)
        .with_header(header("Content-Type", mime(ext)))
        .with_header(header("Cache-Control", "no-store"))
}

fn not_found(url: &str, error: Option<&str>) -> Reply {
    let note = match error {
        Some(e) => format!("\n\nThe last build failed:\n{e}"),
        None => String::new(),
    };
    text(format!("not found: {url}{note}"), "text/plain").with_status_code(404)
}

/// `html` with the reload script before `</body>`, told the version it
/// shows.
pub fn with_reload_script(html: &str, version: &str) -> String {
    let tag = format!(
        "<script src=\"{SERVE_PATH}/reload.js\" data-version=\"{version}\"></script>\n"
    );
    match html.rfind("</body>") {
        Some(pos) => format!("{}{tag}{}", &html[..pos], &html[pos..]),
        None => format!("{html}{tag}"),
    }
}

/// The script added to each page in serve mode: asks every `POLL_MS` for
/// the build state, reloads the page (at the same scroll position) when a
/// new build is there, and shows the last build's error over the page.
fn reload_script() -> String {
    format!(
        r#"// Added by `cargo xtask serve`; not part of the published book.
(function () {{
  const me = document.currentScript;
  const shown = me.dataset.version;
  const key = "xtask-serve-scroll:" + location.pathname;
  const y = sessionStorage.getItem(key);
  if (y !== null) {{
    sessionStorage.removeItem(key);
    window.addEventListener("load", () => window.scrollTo(0, Number(y)));
  }}
  let box = null;
  function show(error) {{
    if (!error) {{
      if (box) {{ box.remove(); box = null; }}
      return;
    }}
    if (!box) {{
      box = document.createElement("pre");
      box.id = "xtask-serve-error";
      box.setAttribute("role", "alert");
      box.style.cssText = "position:fixed;left:1em;right:1em;bottom:1em;" +
        "max-height:50vh;overflow:auto;z-index:1000;margin:0;padding:1em;" +
        "background:#fff0f0;color:#600;border:2px solid #c00;" +
        "font-size:14px;white-space:pre-wrap";
      document.body.appendChild(box);
    }}
    box.textContent = "Build failed; this page shows the last good build.\n\n" + error;
  }}
  async function poll() {{
    try {{
      const r = await fetch("{SERVE_PATH}/state", {{ cache: "no-store" }});
      const body = await r.text();
      const nl = body.indexOf("\n");
      const version = body.slice(0, nl);
      if (version !== shown) {{
        sessionStorage.setItem(key, String(window.scrollY));
        location.reload();
        return;
      }}
      show(body.slice(nl + 1));
    }} catch (e) {{
      // The server is restarting; ask again.
    }}
    setTimeout(poll, {POLL_MS});
  }}
  poll();
}})();
"#
    )
}

/// The media type for a file extension.
fn mime(ext: &str) -> &'static str {
    match ext {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_sorted_by_what_they_rebuild() {
        let root = Path::new("/r");
        let c = |paths: &[&str]| {
            let paths: Vec<PathBuf> =
                paths.iter().map(|p| root.join(p)).collect();
            classify(root, &paths)
        };
        let de = c(&["src/de/ch01/softmax.md"]);
        assert_eq!(de.langs, BTreeSet::from(["de".to_string()]));
        assert!(!de.all && !de.code);
        assert!(c(&["src/registry/ch01.toml"]).all);
        assert!(c(&["theme/book.css"]).all);
        assert!(c(&["book.toml"]).all);
        assert!(c(&["listings/ch02-transformer/src/attention.rs"]).code);
        assert!(c(&["xtask/src/figures/ch01.rs"]).code);
        assert!(c(&["Cargo.lock"]).code);
        assert!(c(&["src/de/ch01/.softmax.md.swp"]).is_empty());
        assert!(c(&["src/de/ch01/softmax.md~"]).is_empty());
        assert!(c(&["target/debug/xtask", "book/de/index.html"]).is_empty());
        assert!(c(&["listings/ch01-probability/reference/x.json"]).is_empty());
    }

    #[test]
    fn urls_stay_inside_the_site() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("de")).unwrap();
        fs::write(dir.path().join("de/index.html"), "x").unwrap();
        assert_eq!(
            resolve(dir.path(), "/de/"),
            Some(dir.path().join("de/index.html"))
        );
        assert_eq!(resolve(dir.path(), "/de/../../etc/passwd"), None);
        assert_eq!(resolve(dir.path(), "/nope.html"), None);
    }

    #[test]
    fn the_reload_script_goes_before_the_end_of_the_body() {
        let html =
            with_reload_script("<html><body><p>x</p></body></html>", "7-2");
        assert!(html.ends_with(
            "<p>x</p><script src=\"/__serve/reload.js\" \
             data-version=\"7-2\"></script>\n</body></html>"
        ));
    }
}
