// Real-browser checks of the built book, in headless Chromium (Debian's
// package, never a downloaded browser), every page of both languages:
//
// - no console error, no failed request, no request to another host;
// - KaTeX's fonts are loaded, display formulas have a plausible size;
// - every figure is present with a non-zero size;
// - the language switch leads to the same page in the other language;
// - the search finds the chapter's key words in both languages;
// - axe-core finds no violation of impact "serious" or "critical";
// - a screenshot of each chapter's first page goes to book/screenshots/;
// - at phone width (390 px): no sideways scrolling of the page, formula
//   numbers clear of their formulas, wide content in scroll boxes, figure
//   labels of at least 9 px or the figure at full size on a tap;
// - in the dark theme "coal": axe finds no text with too little contrast;
// - exercise pages: every solution is closed when the page loads; a click
//   on one opens it, and its formulas are rendered by KaTeX and visible.
//
// Usage (from the repository root, after `cargo xtask book`):
//   npm ci --prefix tests/browser && node tests/browser/check.mjs book
//
// Without Chromium it prints SKIPPED and exits 0, except when CI is set:
// then a missing browser is a failure.

import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const AXE = require.resolve("axe-core/axe.min.js");

const book = path.resolve(process.argv[2] ?? "book");
const executable = process.env.CHROMIUM ?? "/usr/bin/chromium";

// The key words of each chapter: the search must find each in its chapter.
const SEARCHES = {
  de: [
    ["Kreuzentropie", "ch01"],
    ["Münzwurf", "ch01"],
    ["Verhältnissen", "ch01"],
    ["Normierung", "ch01"],
    ["Aufmerksamkeit", "ch02"],
    ["Lernrate", "ch03"],
    // Exercise pages are in the search index too.
    ["Nucleus", "ch04"],
  ],
  en: [
    ["cross-entropy", "ch01"],
    ["attention", "ch02"],
    ["learning rate", "ch03"],
    ["nucleus", "ch04"],
  ],
};

// Display formulas: taller than a line of text, shorter than a screen.
const FORMULA_HEIGHT = [12, 600];
// Figures: at least this many CSS pixels wide and high.
const FIGURE_MIN = [200, 100];

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css",
  ".js": "text/javascript",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".woff2": "font/woff2",
  ".woff": "font/woff",
  ".ttf": "font/ttf",
  ".json": "application/json",
};

function fail(message) {
  console.error(`error: ${message}`);
  process.exit(1);
}

if (!fs.existsSync(executable)) {
  const msg = `Chromium not found at ${executable}: apt-get install chromium`;
  if (process.env.CI) fail(msg);
  console.log(`SKIPPED: ${msg}`);
  process.exit(0);
}
if (!fs.existsSync(path.join(book, "de", "index.html"))) {
  fail(`no built book in ${book}: run cargo xtask book first`);
}

/** Every HTML page of one language, relative to the book folder. */
function pages(lang) {
  const out = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith(".html")) out.push(path.relative(book, full));
    }
  };
  walk(path.join(book, lang));
  // mdBook's 404 page is served by a web server at its root, and toc.html
  // is the sidebar's frame for readers without JavaScript.
  return out
    .filter((p) => !p.endsWith("404.html") && !p.endsWith("toc.html"))
    .sort();
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, "http://localhost");
  let file = path.join(book, decodeURIComponent(url.pathname));
  if (!file.startsWith(book)) {
    res.writeHead(403).end();
    return;
  }
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) {
    file = path.join(file, "index.html");
  }
  if (!fs.existsSync(file)) {
    res.writeHead(404).end();
    return;
  }
  const type = TYPES[path.extname(file)] ?? "application/octet-stream";
  res.writeHead(200, { "content-type": type });
  fs.createReadStream(file).pipe(res);
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const origin = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: executable,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const problems = [];
const screenshots = path.join(book, "screenshots");
fs.mkdirSync(screenshots, { recursive: true });
let checked = 0;

/** Opens `rel` in `ctx` and waits until it and its fonts are loaded. */
async function visit(ctx, rel) {
  const page = await ctx.newPage();
  await page.goto(`${origin}/${rel}`, { waitUntil: "load" });
  await page.evaluate(() => document.fonts.ready);
  return page;
}

/** The chapter ("ch02") whose first page `rel` is, or null. */
function chapterStart(rel) {
  return rel.match(/^(de|en)\/(ch\d+)\/index\.html$/)?.[2] ?? null;
}

/** Opens a page and records every console error and bad request. */
async function open(rel) {
  const page = await context.newPage();
  const say = (msg) => problems.push(`${rel}: ${msg}`);
  page.on("console", (m) => m.type() === "error" && say(`console error: ${m.text()}`));
  page.on("pageerror", (e) => say(`script error: ${e.message}`));
  page.on("requestfailed", (r) => say(`request failed: ${r.url()} (${r.failure()?.errorText})`));
  page.on("response", (r) => r.status() >= 400 && say(`HTTP ${r.status()} for ${r.url()}`));
  page.on("request", (r) => {
    const url = new URL(r.url());
    if (url.origin !== origin && url.protocol !== "data:" && url.protocol !== "about:") {
      say(`request to another host: ${r.url()}`);
    }
  });
  await page.goto(`${origin}/${rel}`, { waitUntil: "load" });
  await page.evaluate(() => document.fonts.ready);
  return { page, say };
}

for (const lang of ["de", "en"]) {
  const other = lang === "de" ? "en" : "de";
  for (const rel of pages(lang)) {
    const { page, say } = await open(rel);
    checked += 1;

    const facts = await page.evaluate(() => {
      const box = (el) => {
        const r = el.getBoundingClientRect();
        return [r.width, r.height];
      };
      return {
        lang: document.documentElement.lang,
        katex: document.querySelectorAll(".katex").length,
        katexFonts: [...document.fonts].filter(
          (f) => f.family.replace(/"/g, "").startsWith("KaTeX_") && f.status === "loaded",
        ).length,
        displays: [...document.querySelectorAll(".katex-display")].map(box),
        figures: [...document.querySelectorAll("figure.figure")].map((f) => ({
          id: f.id,
          svg: f.querySelector("svg") ? box(f.querySelector("svg")) : null,
          title: f.querySelector("svg title")?.textContent ?? "",
          desc: f.querySelector("svg desc")?.textContent ?? "",
          caption: f.querySelector("figcaption")?.textContent ?? "",
        })),
        switchHref: document.querySelector(".lang-switch a")?.getAttribute("href"),
      };
    });

    if (facts.lang !== lang) say(`<html lang="${facts.lang}">, expected "${lang}"`);
    if (facts.katex > 0 && facts.katexFonts === 0) say("no KaTeX font loaded");
    for (const [w, h] of facts.displays) {
      if (h < FORMULA_HEIGHT[0] || h > FORMULA_HEIGHT[1] || w < 20) {
        say(`display formula of implausible size ${w}×${h}`);
      }
    }
    for (const f of facts.figures) {
      if (!f.svg) say(`figure ${f.id} has no SVG`);
      else if (f.svg[0] < FIGURE_MIN[0] || f.svg[1] < FIGURE_MIN[1]) {
        say(`figure ${f.id} is ${f.svg[0]}×${f.svg[1]}`);
      }
      if (!f.title.trim() || !f.desc.trim()) say(`figure ${f.id} lacks an SVG title or desc`);
      if (!f.caption.trim()) say(`figure ${f.id} has no caption`);
    }
    const isMdbookIndex = rel === `${lang}/index.html`;
    if (!facts.switchHref) {
      say("no language switch");
    } else {
      const target = new URL(facts.switchHref, `${origin}/${rel}`).pathname;
      // mdBook writes the first page twice: as itself and as index.html.
      const expected = isMdbookIndex ? null : `/${other}/${rel.slice(3)}`;
      if (expected && target !== expected) say(`language switch leads to ${target}, expected ${expected}`);
      if (!fs.existsSync(path.join(book, decodeURIComponent(target)))) {
        say(`language switch leads to missing ${target}`);
      }
    }

    await page.addScriptTag({ path: AXE });
    const violations = await page.evaluate(async () => {
      const result = await window.axe.run(document, { resultTypes: ["violations"] });
      return result.violations
        .filter((v) => v.impact === "serious" || v.impact === "critical")
        .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join("; ")})`);
    });
    for (const v of violations) say(`axe: ${v}`);

    const chapter = chapterStart(rel);
    if (chapter) {
      await page.screenshot({ path: path.join(screenshots, `${lang}-${chapter}.png`), fullPage: true });
    }
    await page.close();
  }

  for (const [term, chapter] of SEARCHES[lang]) {
    if (!fs.existsSync(path.join(book, lang, chapter))) {
      console.log(`SKIPPED search for "${term}": ${lang}/${chapter} is not in the book yet`);
      continue;
    }
    const { page, say } = await open(`${lang}/index.html`);
    await page.click("#mdbook-search-toggle");
    // mdBook's search listens to key presses, so type like a reader.
    await page.locator("#mdbook-searchbar").pressSequentially(term);
    const hrefs = await page
      .waitForSelector("#mdbook-searchresults li a", { timeout: 5000 })
      .then(() => page.$$eval("#mdbook-searchresults li a", (as) => as.map((a) => a.getAttribute("href"))))
      .catch(() => []);
    // The glossary lists every term, so a hit there is right but not
    // enough: the first hit outside the glossary must be in the chapter.
    const hit = hrefs.find((h) => !h.startsWith("glossary.html"));
    if (!hit) say(`search for "${term}" finds nothing outside the glossary`);
    else if (!hit.includes(`${chapter}/`)) {
      say(`search for "${term}": first hit ${hit} is not in ${chapter}`);
    }
    await page.close();
  }
}

// Exercise pages: each solution (<details class="solution">) is closed on
// load, and one click on its summary opens it with its KaTeX visible.
let exercisePages = 0;
for (const lang of ["de", "en"]) {
  for (const rel of pages(lang).filter((p) => p.endsWith("/exercises.html"))) {
    const { page, say } = await open(rel);
    const solutions = page.locator("details.solution");
    const n = await solutions.count();
    if (n === 0) continue;
    exercisePages += 1;
    const openOnLoad = await solutions.evaluateAll((ds) => ds.filter((d) => d.open).length);
    if (openOnLoad > 0) say(`${openOnLoad} of ${n} solutions are open on load`);
    // The first solution with a formula: hidden, then opened by a click.
    const withMath = solutions.filter({ has: page.locator(".katex") }).first();
    if ((await withMath.count()) === 0) {
      say("no solution holds a rendered formula (.katex)");
      await page.close();
      continue;
    }
    const math = withMath.locator(".katex").first();
    if (await math.isVisible()) say("a formula of a closed solution is visible");
    await withMath.locator("summary").click();
    const opened = await withMath.evaluate((d) => d.open);
    if (!opened) say("a click on the summary does not open the solution");
    const box = await math.boundingBox();
    if (!(await math.isVisible()) || !box || box.width < 2 || box.height < 5) {
      say(`the opened solution's formula is not visible (box ${JSON.stringify(box)})`);
    }
    const raw = await withMath.evaluate((d) => /\$[^$]+\$/.test(d.innerText));
    if (raw) say("the opened solution shows raw TeX ($…$)");
    await page.close();
  }
}
if (exercisePages === 0) problems.push("no exercise page with a solution found");

// The same pages on a phone (390×844 CSS pixels): the page never scrolls
// sideways, no formula number is drawn over its formula, and whatever is
// wider than the column (a formula, a table, a listing) scrolls inside a
// box of its own. A screenshot of each chapter's first page goes beside
// the desktop ones.
const PHONE = { width: 390, height: 844 };
// The smallest label of a figure a reader must be able to read, in CSS
// pixels as shown (or the figure opens at full size on a tap).
const MIN_LABEL_PX = 9;
const phone = await browser.newContext({ viewport: PHONE });
for (const lang of ["de", "en"]) {
  for (const rel of pages(lang)) {
    if (rel.endsWith("print.html")) continue;
    const page = await visit(phone, rel);
    const say = (msg) => problems.push(`${rel} at ${PHONE.width} px: ${msg}`);
    const found = await page.evaluate(() => {
      const out = [];
      const vw = window.innerWidth;
      const docWidth = document.documentElement.scrollWidth;
      if (docWidth > vw + 1) out.push(`the page is ${docWidth} px wide`);
      const meets = (a, b) =>
        a.left < b.right - 0.5 && b.left < a.right - 0.5 &&
        a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
      for (const d of document.querySelectorAll(".katex-display")) {
        const tag = d.querySelector(".tag");
        if (!tag) continue;
        const t = tag.getBoundingClientRect();
        const hit = [...d.querySelectorAll(".katex-html > .base")].some((b) =>
          meets(t, b.getBoundingClientRect()),
        );
        const id = d.closest(".formula")?.id ?? "a formula";
        if (hit) out.push(`the number ${tag.textContent} is drawn over ${id}`);
      }
      const scrolls = (el) => {
        for (let e = el; e && e !== document.body; e = e.parentElement) {
          if (["auto", "scroll", "hidden"].includes(getComputedStyle(e).overflowX)) return true;
        }
        return false;
      };
      const wide = "main table, main pre, main .katex-display, main figure, main p, main li";
      for (const el of document.querySelectorAll(wide)) {
        if (el.getBoundingClientRect().right > vw + 1 && !scrolls(el)) {
          out.push(`<${el.tagName.toLowerCase()} class="${el.className}"> runs past the edge`);
        }
      }
      return out;
    });
    for (const msg of found) say(msg);

    // Figures: labels of at least MIN_LABEL_PX as shown, or the figure
    // opens at full size on a tap.
    const figures = await page.$$("figure.figure svg.plot");
    for (const svg of figures) {
      const smallest = () =>
        svg.evaluate((el) => {
          const scale = el.getBoundingClientRect().width / el.viewBox.baseVal.width;
          const sizes = [...el.querySelectorAll("text")].map(
            (t) => parseFloat(getComputedStyle(t).fontSize) * scale,
          );
          return sizes.length ? Math.min(...sizes) : Infinity;
        });
      if ((await smallest()) >= MIN_LABEL_PX) continue;
      await svg.scrollIntoViewIfNeeded();
      await svg.click();
      const after = await smallest();
      const id = await svg.evaluate((el) => el.closest("figure").id);
      if (after < MIN_LABEL_PX) {
        say(`figure ${id}: labels ${after.toFixed(1)} px even after a tap`);
      }
      await svg.click();
    }

    const chapter = chapterStart(rel);
    if (chapter) {
      await page.screenshot({
        path: path.join(screenshots, `${lang}-${chapter}-phone.png`),
        fullPage: true,
      });
    }
    await page.close();
  }
}

// A dark theme: every page in mdBook's "coal" theme, where axe checks the
// contrast of all text (formulas, listings, captions, links, sidebar).
const DARK = "coal";
const dark = await browser.newContext({ viewport: { width: 1280, height: 900 } });
await dark.addInitScript((theme) => localStorage.setItem("mdbook-theme", theme), DARK);
for (const lang of ["de", "en"]) {
  for (const rel of pages(lang)) {
    if (rel.endsWith("print.html")) continue;
    const page = await visit(dark, rel);
    const theme = await page.evaluate(() => document.documentElement.className);
    if (!theme.split(" ").includes(DARK)) {
      problems.push(`${rel}: theme ${DARK} not applied (class "${theme}")`);
    }
    await page.addScriptTag({ path: AXE });
    const low = await page.evaluate(async () => {
      const result = await window.axe.run(document, { runOnly: ["color-contrast"] });
      return result.violations.flatMap((v) =>
        v.nodes.slice(0, 3).map((n) => `${n.target.join(" ")}: ${n.any[0]?.message ?? v.help}`),
      );
    });
    for (const v of low) problems.push(`${rel} in theme ${DARK}: ${v}`);
    if (chapterStart(rel) === "ch02") {
      await page.screenshot({ path: path.join(screenshots, `${lang}-ch02-${DARK}.png`) });
    }
    await page.close();
  }
}

await browser.close();
server.close();

if (problems.length > 0) {
  console.error(`${problems.length} problem(s) in the browser:`);
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}
console.log(`browser checks: ${checked} pages, 0 problems; screenshots in ${screenshots}`);
