//! Values of chapter 2: the table of deviations from PyTorch on the page
//! „Gradienten rückwärts“ / "Gradients backward", computed by the code
//! that `listings/ch02-transformer/tests/deviations.rs` checks.

use anyhow::{Result, bail};

use super::{Digits, Entry, Table, Value, header, words};

#[path = "../../../listings/ch02-transformer/reference/deviations.rs"]
#[allow(dead_code)]
mod deviations;

/// The values of chapter 2.
pub const VALUES: &[Entry] = &[
    Entry {
        id: "ch02.deviations",
        compute: deviation_table,
    },
    // The worked memory count of the page „Attention in Blöcken“ /
    // "Attention in blocks": n = 4096, d = 64, blocks of 128, f32.
    Entry {
        id: "ch02.working_set_unfused_mib",
        compute: || Ok(Value::Count(worked_example().unfused as u64 >> 20)),
    },
    Entry {
        id: "ch02.working_set_fused_kib",
        compute: || Ok(Value::Count(worked_example().fused as u64 >> 10)),
    },
];

/// The working set of the page's example; its sizes are typed on the page
/// (4096 = 2^12 tokens, d = 64, b = 128), its totals come from here.
fn worked_example() -> ch02_transformer::blocked::WorkingSet {
    ch02_transformer::blocked::working_set::<f32>(4096, 4096, 64, 128)
}

/// The functions of the table by the test's name: (de, en).
const NAMES: [(&str, &str, &str); 14] = [
    (
        "attention",
        "Attention, kausale Maske",
        "attention, causal mask",
    ),
    (
        "attention backward",
        "Attention, rückwärts",
        "attention, backward",
    ),
    (
        "multi-head attention",
        "Multi-Head-Attention",
        "multi-head attention",
    ),
    (
        "multi-head attention backward",
        "Multi-Head-Attention, rückwärts",
        "multi-head attention, backward",
    ),
    (
        "FFN (ReLU)",
        "Feed-Forward-Netzwerk (ReLU)",
        "feed-forward network (ReLU)",
    ),
    (
        "FFN backward",
        "Feed-Forward-Netzwerk, rückwärts",
        "feed-forward network, backward",
    ),
    ("layer norm", "Layer-Normalisierung", "layer normalization"),
    (
        "layer norm backward",
        "Layer-Normalisierung, rückwärts",
        "layer normalization, backward",
    ),
    (
        "encoder block post-LN",
        "Encoder-Block Post-LN",
        "encoder block post-LN",
    ),
    (
        "encoder block post-LN backward",
        "Encoder-Block Post-LN, rückwärts",
        "encoder block post-LN, backward",
    ),
    (
        "encoder block pre-LN",
        "Encoder-Block Pre-LN",
        "encoder block pre-LN",
    ),
    (
        "encoder block pre-LN backward",
        "Encoder-Block Pre-LN, rückwärts",
        "encoder block pre-LN, backward",
    ),
    (
        "decoder layer post-LN",
        "Decoder-Block Post-LN",
        "decoder block post-LN",
    ),
    (
        "decoder layer pre-LN",
        "Decoder-Block Pre-LN",
        "decoder block pre-LN",
    ),
];

/// The `f64` columns in units of 10⁻¹⁶, the `f32` ones in units of 10⁻⁷,
/// two significant digits each.
fn deviation_table() -> Result<Value> {
    let unit =
        |x: f64, scale: f64| Value::Number(x / scale, Digits::Significant(2));
    let mut rows = Vec::new();
    for r in deviations::table() {
        let Some((_, de, en)) = NAMES.iter().find(|(n, _, _)| *n == r.name)
        else {
            bail!(
                "the deviation table has a row `{}` without a name in the book",
                r.name
            );
        };
        rows.push(vec![
            words(de, en),
            unit(r.f64_abs, 1e-16),
            unit(r.f64_rel, 1e-16),
            unit(r.f32_abs, 1e-7),
            unit(r.f32_rel, 1e-7),
            unit(r.f32_exact_rel, 1e-7),
        ]);
    }
    Ok(Value::Table(Table {
        header: header(&[
            ("Funktion", "function"),
            (r"`f64`: $\Delta$", r"`f64`: $\Delta$"),
            (r"$\Delta_\text{rel}$", r"$\Delta_\text{rel}$"),
            (r"`f32`: $\Delta$", r"`f32`: $\Delta$"),
            (r"$\Delta_\text{rel}$", r"$\Delta_\text{rel}$"),
            (
                r"`f32` gegen `f64`: $\Delta_\text{rel}$",
                r"`f32` against `f64`: $\Delta_\text{rel}$",
            ),
        ]),
        rows,
    }))
}
