//! Computed numbers for the pages: `{{#value id}}` and `{{#table id}}`.
//!
//! A page never types a number that the code computes. It names the value
//! (`{{#value ch04.corpus_chars}}`), and the build takes it from a
//! function in `values/chNN.rs`, which calls the listings, the figure
//! data or the committed results of `cargo xtask measure`. Each value is
//! computed once per process (both languages and the handout share it)
//! and formatted per language: `106 591` and `2,44` in German (a narrow
//! no-break space groups the thousands from five digits on), `106,591`
//! and `2.44` in English.
//!
//! An unknown id, or a number that is NaN or infinite, fails the build
//! with the page, line and id.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

use anyhow::Result;

use crate::lang::Lang;

mod bench;
mod ch01;
mod ch02;
mod ch03;
mod ch04;

/// How many digits a number shows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Digits {
    /// This many decimals: `Decimals(2)` writes 2.4412 as `2.44`.
    Decimals(usize),
    /// This many significant digits: `Significant(2)` writes 0.000123 as
    /// `0.00012` and 24.71 as `25`.
    Significant(usize),
}

/// A computed value as a page shows it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A real number with its precision.
    Number(f64, Digits),
    /// A number in scientific notation with this many significant digits,
    /// as TeX to stand between `$…$`: `5{,}0 \cdot 10^{-9}` in German,
    /// `5.0 \cdot 10^{-9}` in English.
    Scientific(f64, usize),
    /// A real number as TeX, to stand between `$…$`: `3{,}16` in German
    /// (the braces keep KaTeX from spacing the comma as punctuation),
    /// `3.16` in English, thousands grouped with `\,`.
    Tex(f64, Digits),
    /// A count (characters, parameters, steps), grouped by thousands.
    Count(u64),
    /// A text that reads the same in both languages (a sample of the
    /// model, a commit, a CPU's name).
    Text(String),
    /// A text in each language (de, en), such as a date.
    Words([String; 2]),
    /// A time in seconds, written with three significant digits in µs,
    /// ms or s: `6,30 ms`, `56,3 µs`.
    Seconds(f64),
    /// A size in bytes, written with three significant digits in KiB,
    /// MiB or GiB: `453 KiB`, `1,00 GiB`.
    Bytes(f64),
    /// A table cell where nothing was measured: `–`.
    Missing,
    /// A short table: a header row and rows of cells.
    Table(Table),
}

/// A short table whose cells are values.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// The column titles (de, en).
    pub header: Vec<[String; 2]>,
    /// The rows.
    pub rows: Vec<Vec<Value>>,
}

/// A date as the pages write it: `27. November 2026`, `27 November 2026`.
pub fn date(iso: &str) -> Result<Value> {
    const MONTHS: [[&str; 2]; 12] = [
        ["Januar", "January"],
        ["Februar", "February"],
        ["März", "March"],
        ["April", "April"],
        ["Mai", "May"],
        ["Juni", "June"],
        ["Juli", "July"],
        ["August", "August"],
        ["September", "September"],
        ["Oktober", "October"],
        ["November", "November"],
        ["Dezember", "December"],
    ];
    let parts: Vec<u32> = iso
        .get(..10)
        .unwrap_or(iso)
        .split('-')
        .map(|p| p.parse())
        .collect::<Result<_, _>>()
        .map_err(|_| anyhow::anyhow!("`{iso}` is not a date YYYY-MM-DD"))?;
    let [y, m, d] = parts[..] else {
        anyhow::bail!("`{iso}` is not a date YYYY-MM-DD");
    };
    let month = MONTHS
        .get(m.wrapping_sub(1) as usize)
        .ok_or_else(|| anyhow::anyhow!("`{iso}` has no month {m}"))?;
    Ok(Value::Words([
        format!("{d}. {} {y}", month[0]),
        format!("{d} {} {y}", month[1]),
    ]))
}

/// One value the pages may name.
pub struct Entry {
    /// The id, `chNN.name`.
    pub id: &'static str,
    /// Computes the value.
    pub compute: fn() -> Result<Value>,
}

/// The values of each chapter.
static CHAPTERS: &[&[Entry]] = &[
    ch01::VALUES,
    ch02::VALUES,
    ch03::VALUES,
    ch04::VALUES,
    bench::VALUES,
];

/// Every value the pages may name.
pub fn all() -> impl Iterator<Item = &'static Entry> {
    CHAPTERS.iter().flat_map(|values| values.iter())
}

/// Whether a value with this id exists.
pub fn exists(id: &str) -> bool {
    all().any(|e| e.id == id)
}

type Slot = Arc<OnceLock<Result<Value, String>>>;

/// The value `id`, computed the first time it is asked for.
///
/// # Errors
/// No value has this id, its computation failed, or a number in it is NaN
/// or infinite.
pub fn get(id: &str) -> Result<Value, String> {
    static MEMO: LazyLock<Mutex<HashMap<&'static str, Slot>>> =
        LazyLock::new(|| Mutex::new(HashMap::new()));
    let entry = all().find(|e| e.id == id).ok_or_else(|| {
        format!("no value `{id}` in xtask/src/values/ (unknown id)")
    })?;
    // The lock is held only to find the slot: a value may ask for another.
    let slot = MEMO.lock().unwrap().entry(entry.id).or_default().clone();
    slot.get_or_init(|| {
        let value = (entry.compute)().map_err(|e| {
            format!("value `{id}` could not be computed: {e:#}")
        })?;
        check_finite(&value).map_err(|what| {
            format!("value `{id}` is {what}; expected a finite number")
        })?;
        Ok(value)
    })
    .clone()
}

/// `Err("NaN")` or `Err("infinite")` if a number in `value` is not finite.
fn check_finite(value: &Value) -> Result<(), &'static str> {
    match value {
        Value::Number(x, _)
        | Value::Tex(x, _)
        | Value::Scientific(x, _)
        | Value::Seconds(x)
        | Value::Bytes(x)
            if x.is_nan() =>
        {
            Err("NaN")
        }
        Value::Number(x, _)
        | Value::Tex(x, _)
        | Value::Scientific(x, _)
        | Value::Seconds(x)
        | Value::Bytes(x)
            if x.is_infinite() =>
        {
            Err("infinite")
        }
        Value::Table(t) => t.rows.iter().flatten().try_for_each(check_finite),
        _ => Ok(()),
    }
}

/// The narrow no-break space that groups thousands in German.
pub const THIN: char = '\u{202f}';

/// `x` with `digits`, as `lang` writes it.
pub fn format_number(x: f64, digits: Digits, lang: Lang) -> String {
    let decimals = match digits {
        Digits::Decimals(d) => d,
        Digits::Significant(s) if x == 0.0 => s.saturating_sub(1),
        Digits::Significant(s) => {
            let magnitude = x.abs().log10().floor() as i64;
            (s as i64 - 1 - magnitude).max(0) as usize
        }
    };
    let text = format!("{:.*}", decimals, x.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let negative = x < 0.0 && text.chars().any(|c| ('1'..='9').contains(&c));
    let mut out = String::new();
    if negative {
        out.push('−');
    }
    out.push_str(&group(int, lang));
    if !frac.is_empty() {
        out.push(lang_decimal(lang));
        out.push_str(frac);
    }
    out
}

fn lang_decimal(lang: Lang) -> char {
    match lang {
        Lang::De => ',',
        Lang::En => '.',
    }
}

/// `x` in scientific notation as TeX, with `sig` significant digits.
pub fn scientific(x: f64, sig: usize, lang: Lang) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let text = format!("{:.*e}", sig.saturating_sub(1), x);
    let (mantissa, exp) = text.split_once('e').unwrap_or((&text, "0"));
    let mantissa = match lang {
        Lang::De => mantissa.replace('.', "{,}"),
        Lang::En => mantissa.to_string(),
    };
    if exp == "0" {
        mantissa
    } else {
        format!("{mantissa} \\cdot 10^{{{exp}}}")
    }
}

/// `x` in the largest of `units` (name, size) that it reaches (the last
/// one if none), with three significant digits and a no-break space
/// before the unit.
fn with_unit(x: f64, units: &[(&str, f64)], lang: Lang) -> String {
    let (name, size) = units
        .iter()
        .find(|(_, size)| x.abs() >= *size)
        .or(units.last())
        .copied()
        .unwrap_or(("", 1.0));
    let number = format_number(x / size, Digits::Significant(3), lang);
    format!("{number}\u{a0}{name}")
}

/// The digits of an integer grouped by thousands: in German with a narrow
/// no-break space from five digits on (`2000`, `10 000`), in English with
/// a comma from four (`2,000`).
pub fn group(int: &str, lang: Lang) -> String {
    let (sep, from) = match lang {
        Lang::De => (THIN, 5),
        Lang::En => (',', 4),
    };
    if int.len() < from {
        return int.to_string();
    }
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

impl Value {
    /// The value as `lang` writes it in running text.
    ///
    /// # Errors
    /// The value is a table, which only `{{#table}}` can show.
    pub fn inline(&self, lang: Lang) -> Result<String, String> {
        Ok(match self {
            Value::Number(x, d) => format_number(*x, *d, lang),
            Value::Scientific(x, sig) => scientific(*x, *sig, lang),
            Value::Tex(x, d) => format_number(*x, *d, lang)
                .replace(',', "{,}")
                .replace(THIN, "\\,")
                .replace('−', "-"),
            Value::Count(n) => group(&n.to_string(), lang),
            Value::Text(t) => t.clone(),
            Value::Words(w) => lang.pick(&w[0], &w[1]).to_string(),
            Value::Seconds(x) => with_unit(
                *x,
                &[("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)],
                lang,
            ),
            Value::Bytes(x) => with_unit(
                *x,
                &[
                    ("GiB", 1024.0 * 1024.0 * 1024.0),
                    ("MiB", 1024.0 * 1024.0),
                    ("KiB", 1024.0),
                    ("B", 1.0),
                ],
                lang,
            ),
            Value::Missing => "–".to_string(),
            Value::Table(_) => {
                return Err("is a table: show it with `{{#table}}`".into());
            }
        })
    }

    /// The value as a Markdown table in `lang`.
    ///
    /// # Errors
    /// The value is not a table.
    pub fn table(&self, lang: Lang) -> Result<String, String> {
        let Value::Table(t) = self else {
            return Err("is not a table: show it with `{{#value}}`".into());
        };
        let cell = |s: String| s.replace('|', "\\|");
        let mut out = String::new();
        let header: Vec<&str> =
            t.header.iter().map(|h| lang.pick(&h[0], &h[1])).collect();
        out.push_str(&format!("| {} |\n", header.join(" | ")));
        // Columns of numbers are right-aligned, so that their digits line
        // up.
        let align: String = (0..header.len())
            .map(|c| match t.rows.first().and_then(|r| r.get(c)) {
                Some(
                    Value::Number(..)
                    | Value::Count(_)
                    | Value::Seconds(_)
                    | Value::Bytes(_)
                    | Value::Missing,
                ) => "--:|",
                _ => "---|",
            })
            .collect();
        out.push_str(&format!("|{align}\n"));
        for row in &t.rows {
            let cells = row
                .iter()
                .map(|v| v.inline(lang).map(cell))
                .collect::<Result<Vec<_>, _>>()?;
            out.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        Ok(out)
    }
}

/// A text cell that is the same in both languages.
pub fn text(t: &str) -> Value {
    Value::Text(t.to_string())
}

/// A text cell in each language.
pub fn words(de: &str, en: &str) -> Value {
    Value::Words([de.to_string(), en.to_string()])
}

/// A table header from (de, en) pairs.
pub fn header(columns: &[(&str, &str)]) -> Vec<[String; 2]> {
    columns
        .iter()
        .map(|(de, en)| [de.to_string(), en.to_string()])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_the_language() {
        let x = 2.4412;
        assert_eq!(format_number(x, Digits::Decimals(2), Lang::De), "2,44");
        assert_eq!(format_number(x, Digits::Decimals(2), Lang::En), "2.44");
        assert_eq!(
            format_number(24.71, Digits::Significant(2), Lang::En),
            "25"
        );
        assert_eq!(
            format_number(0.000_123_4, Digits::Significant(2), Lang::De),
            "0,00012"
        );
        assert_eq!(format_number(-0.5, Digits::Decimals(1), Lang::De), "−0,5");
        // Rounded to zero: no minus sign.
        assert_eq!(format_number(-0.001, Digits::Decimals(1), Lang::En), "0.0");
        assert_eq!(
            format_number(12345.678, Digits::Decimals(1), Lang::De),
            "12\u{202f}345,7"
        );
    }

    #[test]
    fn numbers_in_math_are_tex() {
        let v = Value::Tex(3.1623, Digits::Decimals(2));
        assert_eq!(v.inline(Lang::De).unwrap(), "3{,}16");
        assert_eq!(v.inline(Lang::En).unwrap(), "3.16");
        let big = Value::Tex(-12345.0, Digits::Decimals(0));
        assert_eq!(big.inline(Lang::De).unwrap(), r"-12\,345");
    }

    #[test]
    fn scientific_numbers_are_tex() {
        assert_eq!(scientific(4.97e-9, 2, Lang::De), r"5{,}0 \cdot 10^{-9}");
        assert_eq!(scientific(3.41e-8, 2, Lang::En), r"3.4 \cdot 10^{-8}");
        assert_eq!(scientific(2.5, 2, Lang::En), "2.5");
    }

    #[test]
    fn thousands_are_grouped_per_language() {
        assert_eq!(group("2000", Lang::De), "2000");
        assert_eq!(group("2000", Lang::En), "2,000");
        assert_eq!(group("106591", Lang::De), "106\u{202f}591");
        assert_eq!(group("106591", Lang::En), "106,591");
        assert_eq!(group("1234567", Lang::En), "1,234,567");
        assert_eq!(group("999", Lang::En), "999");
    }

    #[test]
    fn times_and_sizes_take_their_unit() {
        let cases = [
            (Value::Seconds(6.2977e-3), "6,30\u{a0}ms", "6.30\u{a0}ms"),
            (Value::Seconds(56.31e-6), "56,3\u{a0}µs", "56.3\u{a0}µs"),
            (Value::Seconds(1.64296), "1,64\u{a0}s", "1.64\u{a0}s"),
            (Value::Bytes(464_384.0), "454\u{a0}KiB", "454\u{a0}KiB"),
            (Value::Bytes(1073741824.0), "1,00\u{a0}GiB", "1.00\u{a0}GiB"),
            (Value::Bytes(512.0), "512\u{a0}B", "512\u{a0}B"),
            (Value::Missing, "–", "–"),
        ];
        for (v, de, en) in cases {
            assert_eq!(v.inline(Lang::De).unwrap(), de, "{v:?}");
            assert_eq!(v.inline(Lang::En).unwrap(), en, "{v:?}");
        }
        assert_eq!(
            check_finite(&Value::Seconds(f64::INFINITY)),
            Err("infinite")
        );
    }

    #[test]
    fn dates_are_written_per_language() {
        let d = date("2026-11-27T23:59:00Z").unwrap();
        assert_eq!(d.inline(Lang::De).unwrap(), "27. November 2026");
        assert_eq!(d.inline(Lang::En).unwrap(), "27 November 2026");
        assert!(date("2026-13-01").is_err());
        assert!(date("yesterday").is_err());
    }

    #[test]
    fn nan_and_infinity_are_refused() {
        assert_eq!(
            check_finite(&Value::Number(f64::NAN, Digits::Decimals(1))),
            Err("NaN")
        );
        let table = Value::Table(Table {
            header: header(&[("a", "a")]),
            rows: vec![vec![Value::Number(f64::INFINITY, Digits::Decimals(1))]],
        });
        assert_eq!(check_finite(&table), Err("infinite"));
        assert_eq!(check_finite(&Value::Count(3)), Ok(()));
    }

    #[test]
    fn unknown_ids_are_named() {
        let err = get("ch99.nothing").unwrap_err();
        assert!(err.contains("ch99.nothing"), "{err}");
    }

    #[test]
    fn tables_render_per_language_and_refuse_inline_use() {
        let t = Value::Table(Table {
            header: header(&[("Modell", "model"), ("CE", "CE")]),
            rows: vec![vec![
                words("Bigramm", "bigram"),
                Value::Number(2.4412, Digits::Decimals(2)),
            ]],
        });
        assert_eq!(
            t.table(Lang::De).unwrap(),
            "| Modell | CE |\n|---|--:|\n| Bigramm | 2,44 |\n"
        );
        assert!(t.inline(Lang::En).is_err());
        assert!(Value::Count(3).table(Lang::En).is_err());
    }

    /// Every registered value computes to something finite, and ids are
    /// unique and named after their chapter.
    #[test]
    fn every_value_computes() {
        let mut seen = std::collections::HashSet::new();
        for e in all() {
            assert!(seen.insert(e.id), "value `{}` registered twice", e.id);
            assert!(
                e.id.starts_with("ch") && e.id.contains('.'),
                "value id `{}` is not `chNN.name`",
                e.id
            );
            get(e.id).unwrap();
        }
    }
}
