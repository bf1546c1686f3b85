//! What all figures share: size, colours, fonts, and the SVG canvas.

use anyhow::{Result, anyhow};
use plotters::chart::MeshStyle;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
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

/// How large a chart's text is: on a full-width chart, or on one of two
/// panels side by side (one pixel smaller, so that the panels' tick labels
/// do not crowd).
#[derive(Clone, Copy)]
pub enum Scale {
    /// A chart as wide as the figure.
    Full,
    /// One of two charts side by side.
    Panel,
}

impl Scale {
    /// The size of tick labels and legend entries in pixels.
    fn label(self) -> i32 {
        match self {
            Scale::Full => 15,
            Scale::Panel => 14,
        }
    }

    /// The size of axis descriptions in pixels.
    fn desc(self) -> i32 {
        match self {
            Scale::Full => 17,
            Scale::Panel => 16,
        }
    }
}

/// A cartesian chart over the ranges `X` and `Y`, as [`chart`] builds it.
pub type Chart<'c, DB, X, Y> = ChartContext<
    'c,
    DB,
    Cartesian2d<
        <X as AsRangedCoord>::CoordDescType,
        <Y as AsRangedCoord>::CoordDescType,
    >,
>;

/// The book's usual full-width chart on `area`: a margin of 16 pixels, 48
/// pixels below the plot for the x tick labels and `y_label_area` pixels
/// left of it for the y tick labels (wider where they are longer).
pub fn chart<'c, DB: DrawingBackend, X: AsRangedCoord, Y: AsRangedCoord>(
    area: &DrawingArea<DB, Shift>,
    y_label_area: u32,
    x: X,
    y: Y,
) -> Result<Chart<'c, DB, X, Y>> {
    ChartBuilder::on(area)
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(y_label_area)
        .build_cartesian_2d(x, y)
        .map_err(plot_err)
}

/// The axes of a chart in the book's fonts, without the light grid lines;
/// the caller adds descriptions and tick formatters and calls `draw`.
pub fn axes<'a, 'b, DB, X, Y>(
    chart: &'b mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    scale: Scale,
) -> MeshStyle<'a, 'b, X, Y, DB>
where
    DB: DrawingBackend,
    X: Ranged + ValueFormatter<X::ValueType>,
    Y: Ranged + ValueFormatter<Y::ValueType>,
{
    let mut mesh = chart.configure_mesh();
    mesh.label_style((FONT, scale.label()))
        .axis_desc_style((FONT, scale.desc()))
        .light_line_style(WHITE.mix(0.0));
    mesh
}

/// [`axes`] with the descriptions of both axes; the caller adds tick
/// formatters and calls `draw`.
pub fn mesh<'a, 'b, DB, X, Y>(
    chart: &'b mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    scale: Scale,
    x_desc: &str,
    y_desc: &str,
) -> MeshStyle<'a, 'b, X, Y, DB>
where
    DB: DrawingBackend,
    X: Ranged + ValueFormatter<X::ValueType>,
    Y: Ranged + ValueFormatter<Y::ValueType>,
{
    let mut mesh = axes(chart, scale);
    mesh.x_desc(x_desc).y_desc(y_desc);
    mesh
}

/// Draws the legend of a chart in the book's style: a white, slightly
/// transparent box with a grey border at `position`.
pub fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    scale: Scale,
    position: SeriesLabelPosition,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(position)
        .label_font((FONT, scale.label()))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.4))
        .draw()
        .map_err(plot_err)
}

/// The legend key of a solid line: a stroke 20 pixels long in `style`.
pub fn line_key(
    style: impl Into<ShapeStyle>,
) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    key(style.into(), 20)
}

/// The legend key of a dashed line: one dash, 8 pixels long, in `style`.
pub fn dash_key(
    style: impl Into<ShapeStyle>,
) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    key(style.into(), 8)
}

fn key(
    style: ShapeStyle,
    length: i32,
) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new([(x, y), (x + length, y)], style)
}
