//! Measured tables of `bench/compare.py`: fused attention (chapter 2,
//! „Attention in Blöcken“ / "Attention in blocks") and generation with
//! and without the KV cache (chapter 4, „Text erzeugen“ / "Generating
//! text"). The script writes them with raw numbers (seconds, bytes,
//! tokens per second), the machine, the date and the load:
//!
//! ```console
//! python3 bench/compare.py --only generation,blocked --json bench/results
//! ```
//!
//! The pages name the tables and the circumstances of the run; the numbers
//! change only when a new run is committed.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::Value as Json;

use super::{Digits, Entry, Table, Value, date, format_number, header, words};
use crate::lang::Lang::{De, En};
use crate::measure::repo_root;

/// The values of the measured tables.
pub const VALUES: &[Entry] = &[
    Entry {
        id: "ch02.bench_blocked_time",
        compute: || blocked_time(false),
    },
    Entry {
        id: "ch02.bench_blocked_time_causal",
        compute: || blocked_time(true),
    },
    Entry {
        id: "ch02.bench_blocked_memory",
        compute: blocked_memory,
    },
    Entry {
        id: "ch02.bench_blocked_date",
        compute: || date(&run("blocked")?.date),
    },
    Entry {
        id: "ch02.bench_blocked_machine",
        compute: || machine(&run("blocked")?),
    },
    Entry {
        id: "ch02.bench_blocked_load",
        compute: || load(&run("blocked")?),
    },
    Entry {
        id: "ch02.bench_blocked_n_max",
        compute: || Ok(Value::Count(largest_n()?)),
    },
    Entry {
        id: "ch02.bench_blocked_peak_fused_max",
        compute: || peak_at_largest_n("peak_ours_fused"),
    },
    Entry {
        id: "ch02.bench_blocked_peak_numpy_max",
        compute: || peak_at_largest_n("peak_numpy"),
    },
    Entry {
        id: "ch04.bench_generation",
        compute: generation,
    },
    Entry {
        id: "ch04.bench_generation_speedup_growing",
        compute: || speedup(false),
    },
    Entry {
        id: "ch04.bench_generation_speedup_sliding",
        compute: || speedup(true),
    },
    Entry {
        id: "ch04.bench_generation_date",
        compute: || date(&run("generation")?.date),
    },
    Entry {
        id: "ch04.bench_generation_machine",
        compute: || machine(&run("generation")?),
    },
    Entry {
        id: "ch04.bench_generation_load",
        compute: || load(&run("generation")?),
    },
];

/// One table as `bench/compare.py --json` writes it.
#[derive(Deserialize)]
struct Run {
    date: String,
    machine: Machine,
    versions: Versions,
    load_average_1min: Load,
    rows: Vec<Row>,
}

#[derive(Deserialize)]
struct Machine {
    cpu: String,
    cores: u32,
    vector: Vec<String>,
}

#[derive(Deserialize)]
struct Versions {
    pytorch: Option<String>,
    numpy: String,
}

#[derive(Deserialize)]
struct Load {
    before: f64,
    after: f64,
}

/// A row of a table: its cells by column key.
type Row = serde_json::Map<String, Json>;

/// Where the committed tables are.
pub const RESULTS: &str = "bench/results";

fn run(table: &str) -> Result<Run> {
    let path: PathBuf = repo_root().join(RESULTS).join(format!("{table}.json"));
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "{} is missing: run `python3 bench/compare.py --only {table} \
             --json {RESULTS}`",
            path.display()
        )
    })?;
    serde_json::from_str(&text).with_context(|| {
        format!("{} is not a table of compare.py", path.display())
    })
}

/// The CPU, its vector extensions, the cores, the peers' versions:
/// „AMD EPYC (AVX2, FMA), 2 Kerne; PyTorch 2.15.0, NumPy 2.4.6“.
fn machine(run: &Run) -> Result<Value> {
    let m = &run.machine;
    let vector = if m.vector.is_empty() {
        String::new()
    } else {
        format!(" ({})", m.vector.join(", "))
    };
    let torch = run
        .versions
        .pytorch
        .as_ref()
        .map(|v| format!("PyTorch {v}, "))
        .unwrap_or_default();
    let peers = format!("{torch}NumPy {}", run.versions.numpy);
    Ok(words(
        &format!("{}{vector}, {} Kerne; {peers}", m.cpu, m.cores),
        &format!("{}{vector}, {} cores; {peers}", m.cpu, m.cores),
    ))
}

/// The 1-minute load average before and after the run: „0,4 vorher, 1,1
/// nachher“.
fn load(run: &Run) -> Result<Value> {
    let l = &run.load_average_1min;
    let f = |x: f64, lang| format_number(x, Digits::Decimals(1), lang);
    Ok(words(
        &format!("{} vorher, {} nachher", f(l.before, De), f(l.after, De)),
        &format!("{} before, {} after", f(l.before, En), f(l.after, En)),
    ))
}

/// A number of a row; `Missing` where nothing was measured.
fn cell(row: &Row, key: &str, make: fn(f64) -> Value) -> Result<Value> {
    match row.get(key) {
        None => bail!("a row has no column `{key}`"),
        Some(Json::Null) => Ok(Value::Missing),
        Some(x) => x
            .as_f64()
            .map(make)
            .with_context(|| format!("column `{key}` holds {x}, not a number")),
    }
}

/// Whether a row of fused attention has the causal mask.
fn causal(row: &Row) -> Result<bool> {
    row.get("causal")
        .and_then(Json::as_bool)
        .context("no `causal`")
}

/// The pass and n of a row of fused attention.
fn blocked_labels(row: &Row) -> Result<Vec<Value>> {
    let pass = row
        .get("pass")
        .and_then(Json::as_str)
        .context("no `pass`")?;
    let n = row.get("n").and_then(Json::as_u64).context("no `n`")?;
    Ok(vec![
        match pass {
            "fwd" => words("vorwärts", "forward"),
            "fwd+bwd" => words("vor- und rückwärts", "forward and backward"),
            other => bail!("unknown pass `{other}`"),
        },
        Value::Count(n),
    ])
}

/// The four measured columns of fused attention: (key, de, en).
const BLOCKED_COLUMNS: [(&str, &str, &str); 4] = [
    ("ours_fused", "in Blöcken", "fused"),
    ("ours_unfused", "ohne Blöcke", "unfused"),
    ("pytorch", "PyTorch", "PyTorch"),
    ("numpy", "NumPy", "NumPy"),
];

/// A column of a table: its key in the JSON, its title (de, en) and how
/// its numbers are shown.
type Column<'a> = (&'a str, (&'a str, &'a str), fn(f64) -> Value);

/// Pass, n and the four measured columns of the rows of fused attention
/// with (or without) the causal mask; `prefix` picks time (`""`) or peak
/// memory (`"peak_"`), `last` adds a column.
fn blocked_table(
    with_mask: bool,
    (prefix, make): (&str, fn(f64) -> Value),
    last: Option<Column<'_>>,
) -> Result<Value> {
    let mut rows = Vec::new();
    for row in run("blocked")?.rows {
        if causal(&row)? != with_mask {
            continue;
        }
        let mut cells = blocked_labels(&row)?;
        for (key, _, _) in BLOCKED_COLUMNS {
            cells.push(cell(&row, &format!("{prefix}{key}"), make)?);
        }
        if let Some((key, _, make)) = last {
            cells.push(cell(&row, key, make)?);
        }
        rows.push(cells);
    }
    if rows.is_empty() {
        bail!("no row with causal = {with_mask}");
    }
    let mut columns = vec![("Durchlauf", "pass"), ("$n$", "$n$")];
    columns.extend(BLOCKED_COLUMNS.map(|(_, de, en)| (de, en)));
    columns.extend(last.map(|(_, title, _)| title));
    Ok(Value::Table(Table {
        header: header(&columns),
        rows,
    }))
}

/// Time of fused attention against the unfused version and the peers,
/// without the mask or with the causal mask, and ours over the best peer.
fn blocked_time(with_mask: bool) -> Result<Value> {
    let ratio = |x| Value::Number(x, Digits::Decimals(2));
    let last = (
        "fused_over_best",
        ("÷ bester", "÷ best"),
        ratio as fn(_) -> _,
    );
    blocked_table(with_mask, ("", Value::Seconds), Some(last))
}

/// Peak memory beyond the inputs, for the rows without a mask (the causal
/// mask does not change what a call holds).
fn blocked_memory() -> Result<Value> {
    blocked_table(false, ("peak_", Value::Bytes), None)
}

/// The largest n of the table of fused attention.
fn largest_n() -> Result<u64> {
    let rows = run("blocked")?.rows;
    let ns = rows.iter().filter_map(|r| r.get("n")?.as_u64());
    ns.max().context("no row with `n`")
}

/// A peak memory of the forward pass without a mask at the largest n.
fn peak_at_largest_n(key: &str) -> Result<Value> {
    let n = largest_n()?;
    let rows = run("blocked")?.rows;
    let row = rows.iter().find(|r| {
        r.get("n").and_then(Json::as_u64) == Some(n)
            && r.get("pass").and_then(Json::as_str) == Some("fwd")
            && r.get("causal").and_then(Json::as_bool) == Some(false)
    });
    cell(
        row.context("no forward row at the largest n")?,
        key,
        Value::Bytes,
    )
}

/// How many times as fast generating is with the cache: in the run with
/// the fewest new tokens (the window still grows) or with the most (it
/// slides).
fn speedup(sliding: bool) -> Result<Value> {
    let rows = run("generation")?.rows;
    let n_new = |r: &&Row| r.get("new_tokens").and_then(Json::as_u64);
    let row = if sliding {
        rows.iter().max_by_key(n_new)
    } else {
        rows.iter().min_by_key(n_new)
    };
    let make = |x| Value::Number(x, Digits::Decimals(1));
    cell(row.context("no row")?, "cache_speedup", make)
}

/// Tokens per second with and without the cache, ours and PyTorch's.
fn generation() -> Result<Value> {
    let rate = |x: f64| Value::Number(x, Digits::Decimals(0));
    let mut rows = Vec::new();
    for row in run("generation")?.rows {
        let n = row
            .get("new_tokens")
            .and_then(Json::as_u64)
            .context("no `new_tokens`")?;
        let mut cells = vec![Value::Count(n)];
        for key in [
            "ours_uncached",
            "ours_cached",
            "pytorch_uncached",
            "pytorch_cached",
        ] {
            cells.push(cell(&row, key, rate)?);
        }
        cells.push(cell(&row, "cache_speedup", |x| {
            Value::Number(x, Digits::Decimals(1))
        })?);
        rows.push(cells);
    }
    Ok(Value::Table(Table {
        header: header(&[
            ("neue Zeichen", "new characters"),
            ("wir, ohne Cache", "ours, no cache"),
            ("wir, mit Cache", "ours, cache"),
            ("PyTorch, ohne Cache", "PyTorch, no cache"),
            ("PyTorch, mit Cache", "PyTorch, cache"),
            ("wir: mit ÷ ohne", "ours: cache ÷ none"),
        ]),
        rows,
    }))
}
