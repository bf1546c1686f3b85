//! What all figures share: size, colours, fonts, and the SVG canvas.

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::lang::Lang;

/// The size of a full-width figure in pixels (it scales with the page).
pub const SIZE: (u32, u32) = (720, 400);

/// The colour-blind-safe palette of Okabe and Ito (2008), "Color Universal
/// Design", in the order the figures use it.
pub const PALETTE: [RGBColor; 6] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(230, 159, 0),   // orange
    RGBColor(86, 180, 233),  // sky blue
];

/// The font of labels, resolved by the reader's browser.
pub const FONT: &str = "sans-serif";

/// Draws on an SVG canvas of `size` and returns the SVG text.
pub fn render(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Result<()>,
) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
        draw(&root)?;
        root.present().map_err(|e| anyhow!("{e}"))?;
    }
    Ok(svg)
}

/// Turns a plotters error into an `anyhow` error.
pub fn plot_err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("plotters: {e:?}")
}

/// A number with exactly `digits` decimals, as the page's language writes
/// it: `0,50` in German, `0.50` in English.
pub fn number_fixed(x: f64, digits: usize, lang: Lang) -> String {
    let text = format!("{x:.digits$}");
    match lang {
        Lang::De => text.replace('.', ","),
        Lang::En => text,
    }
}

/// A number with at most `digits` decimals and no trailing zeros, as the
/// page's language writes it: `0,5` in German, `0.5` in English.
pub fn number_trimmed(x: f64, digits: usize, lang: Lang) -> String {
    let text = format!("{x:.digits$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    let text = if text == "-0" { "0".to_string() } else { text };
    match lang {
        Lang::De => text.replace('.', ","),
        Lang::En => text,
    }
}
