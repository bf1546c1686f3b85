//! Figures of chapter 1, „Wahrscheinlichkeitsmodelle“ / "Probability
//! models".

use anyhow::Result;
use ch01_probability::cross_entropy::cross_entropy_with_logits;
use ch01_probability::iris::{Comparison, compare_with_smartcore, load_iris};
use ch01_probability::mle::{
    Variance, bernoulli_log_likelihood, bernoulli_mle, gaussian_mle,
    gaussian_nll,
};
use ch01_probability::regression::GradientDescent;
use ch01_probability::softmax::softmax_with_temperature;
use nalgebra::DVector;
use plotters::prelude::*;

use super::style::{
    FONT, PALETTE, SIZE, Scale, chart, legend, line_key, mesh, number_fixed,
    number_trimmed, plot_err, render,
};
use super::{Figure, figure};
use crate::lang::Lang;

/// The figures of this chapter.
pub const FIGURES: &[Figure] = &[
    figure! {
        id: "bernoulli_likelihood",
        alt: [
            "Zwei Liniendiagramme über θ von 0 bis 1 für 7 Erfolge in 10 \
             Würfen: links die Likelihood L(θ), ein Buckel mit Maximum bei \
             θ = 0,7; rechts die Log-Likelihood, eine nach unten offene \
             Kurve mit demselben Maximum.",
            "Two line charts against θ from 0 to 1 for 7 successes in 10 \
             tosses: on the left the likelihood L(θ), a hump with its \
             maximum at θ = 0.7; on the right the log-likelihood, a \
             downward-opening curve with the same maximum.",
        ],
        draw: bernoulli_likelihood,
    },
    figure! {
        id: "gaussian_nll",
        alt: [
            "Höhenlinien der negativen Log-Likelihood über μ (waagrecht) und \
             σ (senkrecht) für die Kelchblattlänge der 50 Setosa-Blüten; \
             die Linien umschließen ein Kreuz bei der \
             Maximum-Likelihood-Schätzung μ̂ ≈ \
             {{#value ch01.setosa_sepal_mu}}, σ̂ ≈ \
             {{#value ch01.setosa_sepal_sigma}}.",
            "Contour lines of the negative log-likelihood as a \
             function of μ (horizontal) and σ (vertical) for the sepal \
             length of the 50 setosa flowers; the lines surround a cross \
             at the maximum likelihood estimate μ̂ ≈ \
             {{#value ch01.setosa_sepal_mu}}, σ̂ ≈ \
             {{#value ch01.setosa_sepal_sigma}}.",
        ],
        draw: gaussian_nll_contours,
    },
    figure! {
        id: "softmax_temperature",
        alt: [
            "Liniendiagramm: Wahrscheinlichkeiten der Softmax über der \
             Temperatur T von 0,1 bis 10 (logarithmisch) für vier feste \
             Logits; bei kleinem T erhält der größte Logit fast alles, bei \
             großem T nähern sich alle vier Werte 1/4.",
            "Line chart: softmax probabilities as a function of the \
             temperature T from 0.1 to 10 (logarithmic axis) for four fixed \
             logits; at small T the largest logit takes almost all the \
             probability, and at large T all four approach 1/4.",
        ],
        draw: softmax_temperature,
    },
    figure! {
        id: "cross_entropy_loss",
        alt: [
            "Liniendiagramm des Verlusts −log q über der Wahrscheinlichkeit \
             q der wahren Klasse von 0 bis 1: sehr groß nahe q = 0, 0,69 \
             bei q = 0,5 und 0 bei q = 1.",
            "Line chart of the loss −log q against the probability q of \
             the true class, from 0 to 1: very large near q = 0, 0.69 at \
             q = 0.5 and 0 at q = 1.",
        ],
        draw: cross_entropy_loss,
    },
    figure! {
        id: "regression_training",
        alt: [
            "Liniendiagramm: das Ziel J der Softmax-Regression auf den \
             Iris-Daten fällt von log 3 ≈ {{#value ch01.log3}} bei Epoche \
             0 auf etwa {{#value ch01.iris_objective_short}} \
             und erreicht nach einigen hundert Epochen die gestrichelte \
             Linie des Werts von smartcore.",
            "Line chart: the objective J of softmax regression on the iris \
             data falls from log 3 ≈ {{#value ch01.log3}} at epoch 0 to \
             about {{#value ch01.iris_objective_short}}, \
             reaching the dashed line that marks smartcore's value after a \
             few hundred epochs.",
        ],
        draw: regression_training,
    },
];

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
        let mut chart = chart(
            root,
            64,
            (0.1f64..10.0)
                .log_scale()
                .with_key_points(vec![0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0]),
            0.0..1.0,
        )?;
        mesh(
            &mut chart,
            Scale::Full,
            lang.pick("Temperatur T", "temperature T"),
            lang.pick("Wahrscheinlichkeit", "probability"),
        )
        .x_label_formatter(&|t| number_trimmed(*t, 2, lang))
        .y_label_formatter(&|p| number_trimmed(*p, 2, lang))
        .draw()
        .map_err(plot_err)?;
        for (i, (&z_i, color)) in LOGITS.iter().zip(PALETTE).enumerate() {
            let points = temps.iter().zip(&probs).map(|(&t, p)| (t, p[i]));
            let k = SUBSCRIPTS[i];
            let label =
                format!("p{k} (z{k} = {})", number_trimmed(z_i, 2, lang));
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(3)))
                .map_err(plot_err)?
                .label(label)
                .legend(line_key(color.stroke_width(3)));
        }
        // T = 1 is the plain softmax (1.15).
        chart
            .draw_series(LineSeries::new(
                [(1.0, 0.0), (1.0, 1.0)],
                BLACK.mix(0.5).stroke_width(1),
            ))
            .map_err(plot_err)?;
        legend(&mut chart, Scale::Full, SeriesLabelPosition::UpperRight)
    })
}

/// The Bernoulli example of the book: 7 successes in 10 tosses.
const FLIPS: [bool; 10] = [
    true, false, true, true, false, true, true, true, false, true,
];

/// Likelihood (1.1) and log-likelihood (1.4) of the Bernoulli example over
/// θ, side by side, with the estimate (1.5) marked.
fn bernoulli_likelihood(lang: Lang) -> Result<String> {
    let theta_hat: f64 = bernoulli_mle(&FLIPS)?;
    let thetas: Vec<f64> = (1..400).map(|k| f64::from(k) / 400.0).collect();
    let log_l = thetas
        .iter()
        .map(|&t| bernoulli_log_likelihood(t, &FLIPS))
        .collect::<Result<Vec<_>, _>>()?;
    let best = bernoulli_log_likelihood(theta_hat, &FLIPS)?;
    render(SIZE, |root| {
        let (left, right) = root.split_horizontally(SIZE.0 / 2);
        let panels = [
            (left, "L(θ) · 10³", true, 0.0..0.0025),
            (right, "log L(θ)", false, -14.0..-5.0),
        ];
        for (area, label, exp, y_range) in panels {
            let mut chart = ChartBuilder::on(&area)
                .margin(14)
                .x_label_area_size(44)
                .y_label_area_size(64)
                .build_cartesian_2d(0.0..1.0, y_range.clone())
                .map_err(plot_err)?;
            mesh(&mut chart, Scale::Panel, "θ", label)
                .x_labels(6)
                .y_labels(6)
                .x_label_formatter(&|t| number_trimmed(*t, 2, lang))
                .y_label_formatter(&|v| {
                    if exp {
                        number_trimmed(v * 1000.0, 2, lang)
                    } else {
                        number_trimmed(*v, 2, lang)
                    }
                })
                .draw()
                .map_err(plot_err)?;
            let value = |l: f64| if exp { l.exp() } else { l };
            let points = thetas
                .iter()
                .zip(&log_l)
                .map(|(&t, &l)| (t, value(l)))
                .filter(|(_, v)| y_range.contains(v));
            chart
                .draw_series(LineSeries::new(
                    points,
                    PALETTE[0].stroke_width(3),
                ))
                .map_err(plot_err)?;
            // The estimate θ̂ = k/N: a vertical line and a dot.
            chart
                .draw_series(LineSeries::new(
                    [(theta_hat, y_range.start), (theta_hat, value(best))],
                    BLACK.mix(0.5).stroke_width(1),
                ))
                .map_err(plot_err)?;
            chart
                .draw_series([Circle::new(
                    (theta_hat, value(best)),
                    5,
                    PALETTE[1].filled(),
                )])
                .map_err(plot_err)?;
            let text = format!("θ̂ = {}", number_trimmed(theta_hat, 2, lang));
            chart
                .draw_series([Text::new(
                    text,
                    (theta_hat - 0.3, value(best)),
                    (FONT, 15),
                )])
                .map_err(plot_err)?;
        }
        Ok(())
    })
}

/// The sepal lengths of the setosa flowers, μ̂ and σ̂.
pub(crate) type Setosa = (DVector<f64>, f64, f64);

/// The data of figure `gaussian_nll`, computed once per build (its alt
/// text states the estimate): the sepal lengths of the 50 setosa
/// flowers and their estimate (1.8), `(samples, μ̂, σ̂)`.
pub(crate) fn setosa_sepal() -> Result<&'static Setosa> {
    static DATA: std::sync::OnceLock<Result<Setosa, String>> =
        std::sync::OnceLock::new();
    DATA.get_or_init(|| {
        let (x, y) = load_iris();
        let setosa: Vec<f64> = (0..y.len())
            .filter(|&i| y[i] == 0)
            .map(|i| x[(i, 0)])
            .collect();
        let samples = DVector::from_vec(setosa);
        let (mu_hat, var_hat) =
            gaussian_mle(&samples, Variance::MaximumLikelihood)
                .map_err(|e| e.to_string())?;
        Ok((samples, mu_hat, var_hat.sqrt()))
    })
    .as_ref()
    .map_err(|e| anyhow::anyhow!("{e}"))
}

/// Contour lines of the Gaussian NLL (1.7) over (μ, σ) for the sepal
/// length of the 50 setosa flowers, with the estimate (1.8) marked.
fn gaussian_nll_contours(lang: Lang) -> Result<String> {
    let (samples, mu_hat, sigma_hat) = setosa_sepal()?;
    let (mu_hat, sigma_hat) = (*mu_hat, *sigma_hat);
    let (min_nll, _, _) = gaussian_nll(mu_hat, sigma_hat, samples)?;
    let (mu_range, sigma_range) = (4.75..5.25, 0.22..0.62);
    let (nx, ny) = (120, 100);
    let at = |i: usize, j: usize| {
        let mu = mu_range.start
            + (mu_range.end - mu_range.start) * i as f64 / nx as f64;
        let sigma = sigma_range.start
            + (sigma_range.end - sigma_range.start) * j as f64 / ny as f64;
        (mu, sigma)
    };
    let mut grid = vec![vec![0.0; ny + 1]; nx + 1];
    for (i, column) in grid.iter_mut().enumerate() {
        for (j, value) in column.iter_mut().enumerate() {
            let (mu, sigma) = at(i, j);
            *value = gaussian_nll(mu, sigma, samples)?.0 - min_nll;
        }
    }
    // Levels above the minimum, doubling: NLL − NLL(μ̂, σ̂) = 0.5, 1, 2, ...
    let levels = [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0];
    render(SIZE, |root| {
        let mut chart = chart(root, 64, mu_range.clone(), sigma_range.clone())?;
        mesh(
            &mut chart,
            Scale::Full,
            lang.pick("Mittelwert μ (cm)", "mean μ (cm)"),
            lang.pick("Standardabweichung σ (cm)", "standard deviation σ (cm)"),
        )
        .x_label_formatter(&|v| number_trimmed(*v, 2, lang))
        .y_label_formatter(&|v| number_trimmed(*v, 2, lang))
        .draw()
        .map_err(plot_err)?;
        for (n, &level) in levels.iter().enumerate() {
            let color = PALETTE[0].mix(1.0 - 0.1 * n as f64);
            let segments = contour_segments(&grid, level, &at);
            chart
                .draw_series(segments.into_iter().map(|(a, b)| {
                    PathElement::new([a, b], color.stroke_width(2))
                }))
                .map_err(plot_err)?;
        }
        chart
            .draw_series([Cross::new(
                (mu_hat, sigma_hat),
                7,
                PALETTE[1].stroke_width(3),
            )])
            .map_err(plot_err)?;
        let label = format!(
            "μ̂ = {}, σ̂ = {}",
            number_trimmed(mu_hat, 2, lang),
            number_trimmed(sigma_hat, 2, lang)
        );
        chart
            .draw_series([Text::new(
                label,
                (mu_hat + 0.015, sigma_hat - 0.02),
                (FONT, 15),
            )])
            .map_err(plot_err)?;
        Ok(())
    })
}

/// The segments where a grid of values crosses `level` (marching squares:
/// in every cell, linear interpolation along the edges whose ends lie on
/// different sides of the level).
fn contour_segments(
    grid: &[Vec<f64>],
    level: f64,
    at: &dyn Fn(usize, usize) -> (f64, f64),
) -> Vec<((f64, f64), (f64, f64))> {
    let mut segments = Vec::new();
    for i in 0..grid.len() - 1 {
        for j in 0..grid[0].len() - 1 {
            // The cell's corners in order around it.
            let corners = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)];
            let mut crossings = Vec::new();
            for e in 0..4 {
                let (a, b) = (corners[e], corners[(e + 1) % 4]);
                let (va, vb) = (grid[a.0][a.1], grid[b.0][b.1]);
                if (va < level) != (vb < level) {
                    let t = (level - va) / (vb - va);
                    let (pa, pb) = (at(a.0, a.1), at(b.0, b.1));
                    crossings.push((
                        pa.0 + t * (pb.0 - pa.0),
                        pa.1 + t * (pb.1 - pa.1),
                    ));
                }
            }
            for pair in crossings.chunks_exact(2) {
                segments.push((pair[0], pair[1]));
            }
        }
    }
    segments
}

/// The loss (1.18) of two classes whose logits give the true class
/// probability q, over q: the curve −log q.
fn cross_entropy_loss(lang: Lang) -> Result<String> {
    let qs: Vec<f64> = (1..=500).map(|k| f64::from(k) / 500.0).collect();
    let mut points = Vec::with_capacity(qs.len());
    for &q in &qs {
        // Logits (log q, log(1 − q)) give softmax = (q, 1 − q).
        let z = DVector::from_row_slice(&[q.ln(), (1.0 - q).ln()]);
        let (loss, _) = cross_entropy_with_logits(&z, 0)?;
        points.push((q, loss));
    }
    render(SIZE, |root| {
        let mut chart = chart(root, 64, 0.0..1.0, 0.0..5.0)?;
        mesh(
            &mut chart,
            Scale::Full,
            lang.pick(
                "Wahrscheinlichkeit q der wahren Klasse",
                "probability q of the true class",
            ),
            lang.pick("Verlust −log q (nats)", "loss −log q (nats)"),
        )
        .x_label_formatter(&|v| number_trimmed(*v, 2, lang))
        .y_label_formatter(&|v| number_trimmed(*v, 2, lang))
        .draw()
        .map_err(plot_err)?;
        chart
            .draw_series(LineSeries::new(
                points.into_iter().filter(|&(_, l)| l <= 5.0),
                PALETTE[0].stroke_width(3),
            ))
            .map_err(plot_err)?;
        for q in [0.1, 0.5, 0.9] {
            let loss = -f64::ln(q);
            chart
                .draw_series([Circle::new((q, loss), 5, PALETTE[1].filled())])
                .map_err(plot_err)?;
            let text = format!(
                "q = {}: {}",
                number_trimmed(q, 2, lang),
                number_trimmed(loss, 2, lang)
            );
            chart
                .draw_series([Text::new(
                    text,
                    (q + 0.02, loss + 0.3),
                    (FONT, 15),
                )])
                .map_err(plot_err)?;
        }
        Ok(())
    })
}

/// The objective (1.22) per epoch of gradient descent (1.24) on iris, with
/// smartcore's objective as a dashed reference line.
/// The data of figure `regression_training`, computed once per build (the
/// page's table and the alt text state its numbers): our softmax
/// regression on the iris data next to smartcore's.
pub(crate) fn iris_regression() -> Result<&'static Comparison> {
    static DATA: std::sync::OnceLock<Result<Comparison, String>> =
        std::sync::OnceLock::new();
    DATA.get_or_init(|| {
        compare_with_smartcore(&GradientDescent::default())
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| anyhow::anyhow!("{e}"))
}

fn regression_training(lang: Lang) -> Result<String> {
    let c = iris_regression()?;
    let reference = c.objective.1;
    let last = c.history.len() as f64;
    render(SIZE, |root| {
        let mut chart = chart(
            root,
            64,
            (1.0..last)
                .log_scale()
                .with_key_points(vec![1.0, 10.0, 100.0, 1000.0]),
            0.0..1.2,
        )?;
        mesh(
            &mut chart,
            Scale::Full,
            lang.pick("Epoche + 1", "epoch + 1"),
            lang.pick("Ziel J (nats)", "objective J (nats)"),
        )
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| number_trimmed(*v, 2, lang))
        .draw()
        .map_err(plot_err)?;
        let points = c
            .history
            .iter()
            .enumerate()
            .map(|(e, &j)| (e as f64 + 1.0, j));
        chart
            .draw_series(LineSeries::new(points, PALETTE[0].stroke_width(3)))
            .map_err(plot_err)?
            .label(lang.pick(
                "Gradientenabstieg (Listing)",
                "gradient descent (listing)",
            ))
            .legend(line_key(PALETTE[0].stroke_width(3)));
        // A dashed line: short segments of the reference value.
        let dashes = (0..40).map(|k| {
            let a = 10f64.powf(f64::from(k) * last.log10() / 40.0);
            let b = 10f64.powf((f64::from(k) + 0.5) * last.log10() / 40.0);
            PathElement::new(
                [(a, reference), (b, reference)],
                PALETTE[1].stroke_width(2),
            )
        });
        chart
            .draw_series(dashes)
            .map_err(plot_err)?
            .label(format!(
                "smartcore LogisticRegression: J = {}",
                number_fixed(reference, 4, lang)
            ))
            .legend(line_key(PALETTE[1].stroke_width(2)));
        legend(&mut chart, Scale::Full, SeriesLabelPosition::UpperRight)
    })
}
