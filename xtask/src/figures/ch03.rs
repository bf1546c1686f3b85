//! Figures of chapter 3, „Optimierungsalgorithmen“ / "Optimization
//! algorithms".

use anyhow::Result;
use ch03_optimization::adagrad::{AdaGrad, AdaGradConfig};
use ch03_optimization::adam::{Adam, AdamConfig};
use ch03_optimization::quadratic::Quadratic;
use ch03_optimization::rmsprop::{RmsProp, RmsPropConfig};
use ch03_optimization::schedule::WarmupCosine;
use ch03_optimization::sgd::{Sgd, SgdConfig};
use ch03_optimization::{Epsilon, Optimizer};
use nalgebra::DMatrix;
use plotters::prelude::*;

use super::Figure;
use super::style::{FONT, PALETTE, SIZE, plot_err, render};
use crate::lang::Lang;

/// The figures of this chapter.
pub const FIGURES: &[Figure] = &[
    Figure {
        id: "gd_learning_rates",
        source: "xtask/src/figures/ch03.rs",
        function: "gd_learning_rates",
        listing: "stability",
        alt: [
            "Liniendiagramm mit logarithmischer Achse: Verlust über 100 \
             Schritten des Gradientenabstiegs für vier Lernraten; drei \
             Kurven fallen, am schnellsten die für η = 0,18, die Kurve für \
             η = 0,202 knapp über der Grenze 0,2 steigt.",
            "Line chart with logarithmic axis: loss over 100 steps of \
             gradient descent for four learning rates; three curves fall, \
             fastest the one for η = 0.18, the curve for η = 0.202 just \
             above the bound 0.2 rises.",
        ],
        draw: gd_learning_rates,
    },
    Figure {
        id: "adaptive_step_sizes",
        source: "xtask/src/figures/ch03.rs",
        function: "adaptive_step_sizes",
        listing: "adagrad",
        alt: [
            "Liniendiagramm mit logarithmischer Achse: effektive Lernraten \
             zweier Koordinaten über 300 Schritte für AdaGrad und RMSProp; \
             AdaGrads Kurven fallen nur, RMSProps Kurve der steilen \
             Koordinate steigt nach Schritt 100 um zwei Größenordnungen.",
            "Line chart with logarithmic axis: effective learning rates of \
             two coordinates over 300 steps for AdaGrad and RMSProp; \
             AdaGrad's curves only fall, RMSProp's curve of the steep \
             coordinate rises by two orders of magnitude after step 100.",
        ],
        draw: adaptive_step_sizes,
    },
    Figure {
        id: "optimizer_paths",
        source: "xtask/src/figures/ch03.rs",
        function: "optimizer_paths",
        listing: "optimizer",
        alt: [
            "Höhenlinien einer langgestreckten Quadratischen mit den Wegen \
             von fünf Optimierern vom Start links oben zum Minimum im \
             Ursprung.",
            "Contour lines of an elongated quadratic with the paths of five \
             optimizers from the start at the upper left to the minimum at \
             the origin.",
        ],
        draw: optimizer_paths,
    },
    Figure {
        id: "warmup_schedule",
        source: "xtask/src/figures/ch03.rs",
        function: "warmup_schedule",
        listing: "warmup_cosine",
        alt: [
            "Liniendiagramm: Die Lernrate steigt in 100 Schritten linear bis \
             0,001 und fällt danach bis Schritt 1000 wie ein halber Kosinus \
             auf 0,00001.",
            "Line chart: the learning rate rises linearly to 0.001 in 100 \
             steps and then falls like half a cosine to 0.00001 by step \
             1000.",
        ],
        draw: warmup_schedule,
    },
];

/// A number as the page's language writes it (`0,5` or `0.5`), with at
/// most `digits` decimals and no trailing zeros.
fn format_number(x: f64, digits: usize, lang: Lang) -> String {
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

/// A power of ten as `10^k` with a superscript exponent.
fn power_of_ten(x: f64) -> String {
    const SUPERSCRIPTS: [char; 10] =
        ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    let k = x.log10().round() as i32;
    let digits: String = k
        .unsigned_abs()
        .to_string()
        .chars()
        .map(|c| SUPERSCRIPTS[c.to_digit(10).unwrap_or(0) as usize])
        .collect();
    let sign = if k < 0 { "⁻" } else { "" };
    format!("10{sign}{digits}")
}

fn row(x: &[f64]) -> DMatrix<f64> {
    DMatrix::from_row_slice(1, x.len(), x)
}

/// Loss of gradient descent on ½(θ₁² + 10 θ₂²) for learning rates around
/// the stability bound 2/λ_max = 0.2 of formula (3.2).
fn gd_learning_rates(lang: Lang) -> Result<String> {
    let q = Quadratic::diagonal(&[1.0, 10.0], &[0.0, 0.0])?;
    let steps = 100;
    let (y_min, y_max) = (1e-16, 1e3);
    let mut curves = Vec::new();
    for eta in [0.05, 0.18, 0.198, 0.202] {
        let mut opt = Sgd::new(SgdConfig {
            lr: eta,
            momentum: 0.0,
        })?;
        let mut params = vec![row(&[1.0, 1.0])];
        let mut losses = vec![(0u32, q.loss(&params[0])?)];
        for t in 1..=steps {
            let g = q.gradient(&params[0])?;
            opt.step(&mut params, &[g])?;
            losses.push((t, q.loss(&params[0])?));
        }
        // Leave out what falls below the axis.
        losses.retain(|&(_, l)| l >= y_min);
        curves.push((eta, q.contraction_factor(eta), losses));
    }

    render(SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d(0u32..steps, (y_min..y_max).log_scale())
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc(lang.pick("Schritt t", "step t"))
            .y_desc(lang.pick("Verlust L(θ_t)", "loss L(θ_t)"))
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .y_label_formatter(&|y| power_of_ten(*y))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(plot_err)?;
        for ((eta, rho, losses), color) in curves.iter().zip(PALETTE) {
            let label = format!(
                "η = {}  (ρ = {})",
                format_number(*eta, 3, lang),
                format_number(*rho, 2, lang)
            );
            chart
                .draw_series(LineSeries::new(
                    losses.iter().map(|&(t, l)| (t, l)),
                    color.stroke_width(3),
                ))
                .map_err(plot_err)?
                .label(label)
                .legend(move |(x, y)| {
                    PathElement::new(
                        [(x, y), (x + 20, y)],
                        color.stroke_width(3),
                    )
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerLeft)
            .label_font((FONT, 15))
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.4))
            .draw()
            .map_err(plot_err)?;
        Ok(())
    })
}

/// Effective learning rates η / D_ε(·) of AdaGrad (3.6) and RMSProp (3.9)
/// for a steep coordinate whose gradients drop from 1 to 0.01 after 100
/// steps and a flat coordinate with gradients 0.01 throughout.
fn adaptive_step_sizes(lang: Lang) -> Result<String> {
    let eps = Epsilon::Outside(1e-8);
    let steps = 300u32;
    let mut adagrad = AdaGrad::new(AdaGradConfig { lr: 0.01, eps })?;
    let mut rmsprop = RmsProp::new(RmsPropConfig {
        lr: 0.01,
        gamma: 0.9,
        eps,
    })?;
    let (mut p, mut q) = (vec![row(&[0.0, 0.0])], vec![row(&[0.0, 0.0])]);
    // rates[optimizer][coordinate] = [(t, η_eff)].
    let mut rates = vec![vec![Vec::new(), Vec::new()]; 2];
    for t in 1..=steps {
        let steep = if t <= 100 { 1.0 } else { 0.01 };
        let g = row(&[steep, 0.01]);
        adagrad.step(&mut p, std::slice::from_ref(&g))?;
        rmsprop.step(&mut q, &[g])?;
        let a = adagrad.effective_learning_rates(0).unwrap_or_default();
        let r = rmsprop.effective_learning_rates(0).unwrap_or_default();
        for (k, m) in [a, r].iter().enumerate() {
            for c in 0..2 {
                rates[k][c].push((t, m[c]));
            }
        }
    }

    render(SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d(0u32..steps, (1e-4f64..10.0).log_scale())
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc(lang.pick("Schritt t", "step t"))
            .y_desc(lang.pick("effektive Lernrate", "effective learning rate"))
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .y_label_formatter(&|y| power_of_ten(*y))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(plot_err)?;
        let names = ["AdaGrad", "RMSProp"];
        let coords = [
            lang.pick("steile Koordinate", "steep coordinate"),
            lang.pick("flache Koordinate", "flat coordinate"),
        ];
        for (k, name) in names.iter().enumerate() {
            let color = PALETTE[k];
            for (c, coord) in coords.iter().enumerate() {
                let label = format!("{name}, {coord}");
                let points = rates[k][c].clone();
                let style = color.stroke_width(3);
                let series = if c == 0 {
                    chart.draw_series(LineSeries::new(points, style))
                } else {
                    chart
                        .draw_series(DashedLineSeries::new(points, 8, 5, style))
                };
                series
                    .map_err(plot_err)?
                    .label(label)
                    .legend(move |(x, y)| {
                        if c == 0 {
                            PathElement::new([(x, y), (x + 20, y)], style)
                        } else {
                            PathElement::new([(x, y), (x + 8, y)], style)
                        }
                    });
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .label_font((FONT, 15))
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.4))
            .draw()
            .map_err(plot_err)?;
        Ok(())
    })
}

/// The first 60 steps of every optimizer on ½(θ₁² + 20 θ₂²), over
/// contour lines (ellipses) of the loss.
fn optimizer_paths(lang: Lang) -> Result<String> {
    let q = Quadratic::diagonal(&[1.0, 20.0], &[0.0, 0.0])?;
    let start = [-4.0, 1.5];
    let steps = 60;
    let eps = Epsilon::Outside(1e-8);
    let optimizers: Vec<(String, Box<dyn Optimizer<f64>>)> = vec![
        (
            lang.pick("Gradientenabstieg", "gradient descent")
                .to_string(),
            Box::new(Sgd::new(SgdConfig {
                lr: 0.09,
                momentum: 0.0,
            })?),
        ),
        (
            "Momentum".to_string(),
            Box::new(Sgd::new(SgdConfig {
                lr: 0.02,
                momentum: 0.8,
            })?),
        ),
        (
            "AdaGrad".to_string(),
            Box::new(AdaGrad::new(AdaGradConfig { lr: 1.0, eps })?),
        ),
        (
            "RMSProp".to_string(),
            Box::new(RmsProp::new(RmsPropConfig {
                lr: 0.05,
                gamma: 0.9,
                eps,
            })?),
        ),
        (
            "Adam".to_string(),
            Box::new(Adam::new(AdamConfig {
                lr: 0.2,
                ..AdamConfig::new(eps)
            })?),
        ),
    ];
    let mut paths = Vec::new();
    for (name, mut opt) in optimizers {
        let mut params = vec![row(&start)];
        let mut path = vec![(start[0], start[1])];
        for _ in 0..steps {
            let g = q.gradient(&params[0])?;
            opt.step(&mut params, &[g])?;
            path.push((params[0][0], params[0][1]));
        }
        paths.push((name, path));
    }
    let (x_range, y_range) = (-5.0..1.5, -2.0..2.0);

    render(SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(56)
            .build_cartesian_2d(x_range.clone(), y_range.clone())
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc("θ₁")
            .y_desc("θ₂")
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .x_label_formatter(&|x| format_number(*x, 1, lang))
            .y_label_formatter(&|y| format_number(*y, 1, lang))
            .disable_mesh()
            .draw()
            .map_err(plot_err)?;
        // Contours L = c are ellipses θ₁ = √(2c) cos φ, θ₂ = √(2c/20) sin φ.
        for c in [0.05_f64, 0.2, 0.5, 1.0, 2.0, 4.0, 8.0, 14.0, 22.0] {
            let ellipse = (0..=400).map(|k| {
                let phi = std::f64::consts::TAU * f64::from(k) / 400.0;
                let r = (2.0 * c).sqrt();
                (r * phi.cos(), r / 20f64.sqrt() * phi.sin())
            });
            // Draw the parts inside the plot area as separate pieces, so
            // that no chord joins where the ellipse leaves the area.
            let mut pieces: Vec<Vec<(f64, f64)>> = Vec::new();
            let mut current = Vec::new();
            for (x, y) in ellipse {
                if x_range.contains(&x) && y_range.contains(&y) {
                    current.push((x, y));
                } else if !current.is_empty() {
                    pieces.push(std::mem::take(&mut current));
                }
            }
            pieces.push(current);
            for piece in pieces.into_iter().filter(|p| p.len() > 1) {
                chart
                    .draw_series(LineSeries::new(
                        piece,
                        BLACK.mix(0.25).stroke_width(1),
                    ))
                    .map_err(plot_err)?;
            }
        }
        for ((name, path), color) in paths.iter().zip(PALETTE) {
            let inside: Vec<(f64, f64)> = path
                .iter()
                .copied()
                .take_while(|(x, y)| x_range.contains(x) && y_range.contains(y))
                .collect();
            chart
                .draw_series(LineSeries::new(
                    inside.clone(),
                    color.stroke_width(2),
                ))
                .map_err(plot_err)?
                .label(name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(
                        [(x, y), (x + 20, y)],
                        color.stroke_width(3),
                    )
                });
            chart
                .draw_series(
                    inside.iter().map(|&p| Circle::new(p, 2, color.filled())),
                )
                .map_err(plot_err)?;
        }
        chart
            .draw_series([Cross::new((0.0, 0.0), 6, BLACK.stroke_width(2))])
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

/// The warm-up cosine schedule (3.14) over 1000 steps.
fn warmup_schedule(lang: Lang) -> Result<String> {
    let schedule = WarmupCosine::new(1e-3, 1e-5, 100, 1000)?;
    let points = (1..=1000u32)
        .map(|t| Ok((t, schedule.learning_rate(t as usize)?)))
        .collect::<Result<Vec<_>>>()?;

    render(SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d(0u32..1000, 0.0..1.1e-3)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .x_desc(lang.pick("Schritt t", "step t"))
            .y_desc(lang.pick("Lernrate η_t", "learning rate η_t"))
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .y_label_formatter(&|y| format_number(*y, 4, lang))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(plot_err)?;
        chart
            .draw_series(LineSeries::new(points, PALETTE[0].stroke_width(3)))
            .map_err(plot_err)?;
        // The end of the warm-up, t = T_w = 100.
        chart
            .draw_series(LineSeries::new(
                [(100, 0.0), (100, 1.1e-3)],
                BLACK.mix(0.5).stroke_width(1),
            ))
            .map_err(plot_err)?;
        Ok(())
    })
}
