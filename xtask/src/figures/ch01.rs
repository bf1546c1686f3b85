//! Figures of chapter 1, „Wahrscheinlichkeitsmodelle“ / "Probability
//! models".

use anyhow::Result;
use ch01_probability::softmax::softmax_with_temperature;
use nalgebra::DVector;
use plotters::prelude::*;

use super::Figure;
use super::style::{FONT, PALETTE, SIZE, plot_err, render};
use crate::lang::Lang;

/// The figures of this chapter.
pub const FIGURES: &[Figure] = &[Figure {
    id: "softmax_temperature",
    source: "xtask/src/figures/ch01.rs",
    function: "softmax_temperature",
    listing: "softmax_temperature",
    alt: [
        "Liniendiagramm: Wahrscheinlichkeiten der Softmax über der Temperatur \
         T von 0,1 bis 10 (logarithmisch) für vier feste Logits; bei kleinem \
         T erhält der größte Logit fast alles, bei großem T nähern sich alle \
         vier Werte 1/4.",
        "Line chart: softmax probabilities over the temperature T from 0.1 to \
         10 (logarithmic) for four fixed logits; at small T the largest \
         logit takes almost everything, at large T all four approach 1/4.",
    ],
    draw: softmax_temperature,
}];

/// The logits of the softmax figures.
pub const LOGITS: [f64; 4] = [2.0, 1.0, 0.5, -1.0];

/// Subscript digits for legend labels such as p₁.
const SUBSCRIPTS: [char; 4] = ['₁', '₂', '₃', '₄'];

/// Softmax of fixed logits as a function of the temperature, formula (1.16).
fn softmax_temperature(lang: Lang) -> Result<String> {
    let z = DVector::from_row_slice(&LOGITS);
    // 241 temperatures, evenly spaced in log T from 0.1 to 10.
    let temps: Vec<f64> = (0..=240)
        .map(|k| 10f64.powf(-1.0 + 2.0 * f64::from(k) / 240.0))
        .collect();
    let probs = temps
        .iter()
        .map(|&t| softmax_with_temperature(&z, t))
        .collect::<Result<Vec<_>, _>>()?;

    render(SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(
                (0.1f64..10.0)
                    .log_scale()
                    .with_key_points(vec![0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0]),
                0.0..1.0,
            )
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc(lang.pick("Temperatur T", "temperature T"))
            .y_desc(lang.pick("Wahrscheinlichkeit", "probability"))
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .x_label_formatter(&|t| format_number(*t, lang))
            .y_label_formatter(&|p| format_number(*p, lang))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(plot_err)?;
        for (i, (&z_i, color)) in LOGITS.iter().zip(PALETTE).enumerate() {
            let points = temps.iter().zip(&probs).map(|(&t, p)| (t, p[i]));
            let k = SUBSCRIPTS[i];
            let label = format!("p{k} (z{k} = {})", format_number(z_i, lang));
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(3)))
                .map_err(plot_err)?
                .label(label)
                .legend(move |(x, y)| {
                    PathElement::new(
                        [(x, y), (x + 20, y)],
                        color.stroke_width(3),
                    )
                });
        }
        // T = 1 is the plain softmax (1.15).
        chart
            .draw_series(LineSeries::new(
                [(1.0, 0.0), (1.0, 1.0)],
                BLACK.mix(0.5).stroke_width(1),
            ))
            .map_err(plot_err)?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font((FONT, 15))
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.4))
            .draw()
            .map_err(plot_err)?;
        Ok(())
    })
}

/// A number as the page's language writes it: `0,5` in German, `0.5` in
/// English, without trailing zeros.
fn format_number(x: f64, lang: Lang) -> String {
    let text = format!("{:.2}", x);
    let text = text.trim_end_matches('0').trim_end_matches('.').to_string();
    let text = if text == "-0" { "0".to_string() } else { text };
    match lang {
        Lang::De => text.replace('.', ","),
        Lang::En => text,
    }
}
