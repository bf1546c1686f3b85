//! Figures of chapter 3, „Optimierungsalgorithmen“ / "Optimization
//! algorithms".

use std::sync::OnceLock;

use anyhow::{Result, anyhow};
use ch01_probability::iris::{K, load_iris, standardize};
use ch01_probability::regression::{SoftmaxRegression, loss_and_gradient};
use ch03_optimization::adagrad::{AdaGrad, AdaGradConfig};
use ch03_optimization::adam::{Adam, AdamConfig};
use ch03_optimization::quadratic::Quadratic;
use ch03_optimization::rmsprop::{RmsProp, RmsPropConfig};
use ch03_optimization::rosenbrock::Rosenbrock;
use ch03_optimization::schedule::WarmupCosine;
use ch03_optimization::sgd::{Sgd, SgdConfig};
use ch03_optimization::{Epsilon, Optimizer};
use nalgebra::DMatrix;
use plotters::prelude::*;

use super::style::{
    FONT, PALETTE, SIZE, Scale, axes, chart, dash_key, legend, line_key, mesh,
    number_trimmed, plot_err, render,
};
use super::{Figure, figure};
use crate::lang::Lang;

/// The figures of this chapter.
pub const FIGURES: &[Figure] = &[
    figure! {
        id: "gd_learning_rates",
        alt: [
            "Liniendiagramm mit logarithmischer Achse: Verlust über 100 \
             Schritten des Gradientenabstiegs für vier Lernraten; drei \
             Kurven fallen, am schnellsten die für η = 0,18, die Kurve für \
             η = 0,202 knapp über der Grenze 0,2 steigt.",
            "Line chart with a logarithmic y-axis: the loss during 100 \
             steps of gradient descent for four learning rates; three \
             curves fall, the one for η = 0.18 fastest, while the curve for \
             η = 0.202, just above the bound 0.2, rises.",
        ],
        draw: gd_learning_rates,
    },
    figure! {
        id: "adaptive_step_sizes",
        alt: [
            "Liniendiagramm mit logarithmischer Achse: effektive Lernraten \
             zweier Koordinaten über 300 Schritte für AdaGrad, RMSProp und \
             Adam; AdaGrads Kurven fallen nur, RMSProps Kurve der steilen \
             Koordinate steigt nach Schritt 100 um zwei Größenordnungen \
             und liegt ab etwa Schritt 225 weniger als 1 % unter der Rate \
             der flachen; Adams steile Koordinate steigt nur von 0,01 auf \
             0,018, seine flache liegt vom ersten Schritt an bei 1.",
            "Line chart with a logarithmic y-axis: effective learning rates \
             of two coordinates during 300 steps of AdaGrad, RMSProp and \
             Adam. AdaGrad's curves only fall. After step 100, RMSProp's \
             curve for the steep coordinate rises by two orders of \
             magnitude and from about step 225 is within 1% of the flat \
             coordinate's rate; Adam's steep coordinate rises only from \
             0.01 to 0.018, its flat coordinate is at 1 from the first \
             step.",
        ],
        draw: adaptive_step_sizes,
    },
    figure! {
        id: "optimizer_paths",
        alt: [
            "Höhenlinien einer langgestreckten Quadratischen mit den Wegen \
             von fünf Optimierern vom Start links oben zum Minimum im \
             Ursprung.",
            "Contour plot of an elongated quadratic with the paths of five \
             optimizers from the start at the upper left toward the minimum \
             at the origin.",
        ],
        draw: optimizer_paths,
    },
    figure! {
        id: "rosenbrock_paths",
        alt: [
            "Höhenlinien der Rosenbrock-Funktion mit ihrem gebogenen Tal und \
             die Wege von fünf Optimierern vom Start links oben durch das \
             Tal zum Minimum bei (1, 1).",
            "Contour plot of the Rosenbrock function, with its curved \
             valley, and the paths of five optimizers from the start at the \
             upper left through the valley toward the minimum at (1, 1).",
        ],
        draw: rosenbrock_paths,
    },
    figure! {
        id: "optimizer_losses",
        alt: [
            "Zwei Liniendiagramme mit logarithmischer Achse: Verlust über \
             den Schritten für fünf Optimierer, links auf der \
             quadratischen Funktion, rechts auf der Rosenbrock-Funktion.",
            "Two line charts with a logarithmic y-axis: the loss of five \
             optimizers as a function of the step, on the quadratic \
             function (left) and on the Rosenbrock function (right).",
        ],
        draw: optimizer_losses,
    },
    figure! {
        id: "adam_bias_correction",
        alt: [
            "Liniendiagramm: Schrittweite von Adam geteilt durch η über 100 \
             Schritte; mit Bias-Korrektur bleibt sie bei etwa 1, ohne \
             Korrektur beginnt sie bei 3,2, steigt bis etwa 6,6 und fällt \
             dann langsam.",
            "Line chart: Adam's step size divided by η during 100 steps; \
             with bias correction it stays at about 1; without it, it starts \
             at 3.2, rises to about 6.6 and then falls slowly.",
        ],
        draw: adam_bias_correction,
    },
    figure! {
        id: "iris_training",
        alt: [
            "Liniendiagramm mit logarithmischer Achse: mittlere NLL der \
             Softmax-Regression auf den Iris-Daten über 100 Epochen für \
             fünf Optimierer.",
            "Line chart with a logarithmic y-axis: average NLL of the \
             softmax regression on the iris data during 100 epochs for five \
             optimizers.",
        ],
        draw: iris_training,
    },
    figure! {
        id: "warmup_schedule",
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
/// the stability bound 2/a_max = 0.2 of formula (3.2).
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
        let mut chart =
            chart(root, 72, 0u32..steps, (y_min..y_max).log_scale())?;
        mesh(
            &mut chart,
            Scale::Full,
            lang.pick("Schritt t", "step t"),
            lang.pick("Verlust L(θ_t)", "loss L(θ_t)"),
        )
        .y_label_formatter(&|y| power_of_ten(*y))
        .draw()
        .map_err(plot_err)?;
        for ((eta, rho, losses), color) in curves.iter().zip(PALETTE) {
            let label = format!(
                "η = {}  (ρ = {})",
                number_trimmed(*eta, 3, lang),
                number_trimmed(*rho, 2, lang)
            );
            chart
                .draw_series(LineSeries::new(
                    losses.iter().map(|&(t, l)| (t, l)),
                    color.stroke_width(3),
                ))
                .map_err(plot_err)?
                .label(label)
                .legend(line_key(color.stroke_width(3)));
        }
        legend(&mut chart, Scale::Full, SeriesLabelPosition::LowerLeft)
    })
}

/// The number of steps of `adaptive_step_sizes`.
const ADAPTIVE_STEPS: u32 = 300;

/// The names of the methods in `adaptive_step_sizes`, in the order of
/// [`adaptive_rates`].
const ADAPTIVE_NAMES: [&str; 3] = ["AdaGrad", "RMSProp", "Adam"];

/// A curve over the steps: `(t, value)` for t = 1, 2, ….
pub(crate) type Curve = Vec<(u32, f64)>;

/// The effective learning rates of `adaptive_step_sizes`:
/// `rates[method][coordinate]` is `[(t, η_eff)]` for AdaGrad (3.6),
/// RMSProp (3.9) and Adam (3.12), each with η = 0.01 and ε = 1e-8 outside
/// the root, for a steep coordinate whose gradients drop from 1 to 0.01
/// after 100 steps and a flat coordinate with gradients 0.01 throughout.
/// For AdaGrad and RMSProp η_eff is the factor η / D_ε(·) in front of
/// g_t, for Adam the factor η / D_ε(v̂_t) in front of m̂_t.
pub(crate) fn adaptive_rates() -> Result<&'static [[Curve; 2]]> {
    static RATES: OnceLock<Result<Vec<[Curve; 2]>, String>> = OnceLock::new();
    RATES
        .get_or_init(|| adaptive_rates_once().map_err(|e| format!("{e:#}")))
        .as_ref()
        .map(Vec::as_slice)
        .map_err(|e| anyhow!("{e}"))
}

fn adaptive_rates_once() -> Result<Vec<[Curve; 2]>> {
    let eps = Epsilon::Outside(1e-8);
    let lr = 0.01;
    let mut adagrad = AdaGrad::new(AdaGradConfig { lr, eps })?;
    let mut rmsprop = RmsProp::new(RmsPropConfig {
        lr,
        gamma: 0.9,
        eps,
    })?;
    let mut adam = Adam::new(AdamConfig {
        lr,
        ..AdamConfig::new(eps)
    })?;
    let mut params = vec![vec![row(&[0.0, 0.0])]; 3];
    let mut rates = vec![[Vec::new(), Vec::new()]; 3];
    for t in 1..=ADAPTIVE_STEPS {
        let steep = if t <= 100 { 1.0 } else { 0.01 };
        let g = [row(&[steep, 0.01])];
        adagrad.step(&mut params[0], &g)?;
        rmsprop.step(&mut params[1], &g)?;
        adam.step(&mut params[2], &g)?;
        let now = [
            adagrad.effective_learning_rates(0),
            rmsprop.effective_learning_rates(0),
            adam.effective_learning_rates(0),
        ];
        for (k, m) in now.into_iter().enumerate() {
            let m = m.ok_or_else(|| anyhow!("no rates after a step"))?;
            for c in 0..2 {
                rates[k][c].push((t, m[c]));
            }
        }
    }
    Ok(rates)
}

/// Effective learning rates of AdaGrad, RMSProp and Adam, see
/// [`adaptive_rates`].
fn adaptive_step_sizes(lang: Lang) -> Result<String> {
    let rates = adaptive_rates()?;
    let steps = ADAPTIVE_STEPS;

    // Taller than usual, with two empty decades at the bottom: room for
    // the legend of six curves below AdaGrad's steep coordinate.
    render((SIZE.0, 480), |root| {
        let mut chart =
            chart(root, 72, 0u32..steps, (1e-5f64..10.0).log_scale())?;
        mesh(
            &mut chart,
            Scale::Full,
            lang.pick("Schritt t", "step t"),
            lang.pick("effektive Lernrate", "effective learning rate"),
        )
        .y_label_formatter(&|y| power_of_ten(*y))
        .draw()
        .map_err(plot_err)?;
        let coords = [
            lang.pick("steile Koordinate", "steep coordinate"),
            lang.pick("flache Koordinate", "flat coordinate"),
        ];
        for (k, name) in ADAPTIVE_NAMES.iter().enumerate() {
            let color = PALETTE[k];
            for (c, coord) in coords.iter().enumerate() {
                let label = format!("{name}, {coord}");
                let points = rates[k][c].clone();
                let style = color.stroke_width(3);
                if c == 0 {
                    chart
                        .draw_series(LineSeries::new(points, style))
                        .map_err(plot_err)?
                        .label(label)
                        .legend(line_key(style));
                } else {
                    chart
                        .draw_series(DashedLineSeries::new(points, 8, 5, style))
                        .map_err(plot_err)?
                        .label(label)
                        .legend(dash_key(style));
                }
            }
        }
        legend(&mut chart, Scale::Full, SeriesLabelPosition::LowerRight)
    })
}

/// An optimizer with its name in the page's language.
type Named = (String, Box<dyn Optimizer<f64>>);

/// The five methods with the learning rates of the figure on the
/// quadratic ½(θ₁² + 20 θ₂²) (chosen by hand, stated in its caption).
fn quadratic_optimizers(lang: Lang) -> Result<Vec<Named>> {
    let eps = Epsilon::Outside(1e-8);
    Ok(vec![
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
    ])
}

/// The first 60 steps of every optimizer on ½(θ₁² + 20 θ₂²), over
/// contour lines (ellipses) of the loss.
fn optimizer_paths(lang: Lang) -> Result<String> {
    let q = Quadratic::diagonal(&[1.0, 20.0], &[0.0, 0.0])?;
    let start = [-4.0, 1.5];
    let steps = 60;
    let optimizers = quadratic_optimizers(lang)?;
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
        let mut chart = chart(root, 56, x_range.clone(), y_range.clone())?;
        mesh(&mut chart, Scale::Full, "θ₁", "θ₂")
            .x_label_formatter(&|x| number_trimmed(*x, 1, lang))
            .y_label_formatter(&|y| number_trimmed(*y, 1, lang))
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
            for piece in pieces_inside(ellipse, &x_range, &y_range) {
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
                .legend(line_key(color.stroke_width(3)));
            chart
                .draw_series(
                    inside.iter().map(|&p| Circle::new(p, 2, color.filled())),
                )
                .map_err(plot_err)?;
        }
        chart
            .draw_series([Cross::new((0.0, 0.0), 6, BLACK.stroke_width(2))])
            .map_err(plot_err)?;
        legend(&mut chart, Scale::Full, SeriesLabelPosition::UpperRight)
    })
}

/// The warm-up cosine schedule (3.14) over 1000 steps.
fn warmup_schedule(lang: Lang) -> Result<String> {
    let schedule = WarmupCosine::new(1e-3, 1e-5, 100, 1000)?;
    let points = (1..=1000u32)
        .map(|t| Ok((t, schedule.learning_rate(t as usize)?)))
        .collect::<Result<Vec<_>>>()?;

    render(SIZE, |root| {
        let mut chart = chart(root, 80, 0u32..1000, 0.0..1.1e-3)?;
        mesh(
            &mut chart,
            Scale::Full,
            lang.pick("Schritt t", "step t"),
            lang.pick("Lernrate η_t", "learning rate η_t"),
        )
        .y_label_formatter(&|y| number_trimmed(*y, 4, lang))
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

/// The start of every run on the Rosenbrock function.
pub(crate) const ROSENBROCK_START: [f64; 2] = [-1.5, 2.0];

/// The number of steps on the Rosenbrock function.
const ROSENBROCK_STEPS: usize = 3000;

/// The five methods with the learning rates for the Rosenbrock function,
/// each the best of a few values tried by hand (stated in the captions).
/// Gradient descent's η = 0.001 is about 2/a_max ≈ 0.00096 of the
/// Hessian at the start (a_max ≈ 2092), where the valley is steepest
/// across; larger values jump far out of the valley in the first steps.
fn rosenbrock_optimizers(lang: Lang) -> Result<Vec<Named>> {
    let eps = Epsilon::Outside(1e-8);
    Ok(vec![
        (
            lang.pick("Gradientenabstieg", "gradient descent")
                .to_string(),
            Box::new(Sgd::new(SgdConfig {
                lr: 1e-3,
                momentum: 0.0,
            })?),
        ),
        (
            "Momentum".to_string(),
            Box::new(Sgd::new(SgdConfig {
                lr: 1e-3,
                momentum: 0.9,
            })?),
        ),
        (
            "AdaGrad".to_string(),
            Box::new(AdaGrad::new(AdaGradConfig { lr: 0.3, eps })?),
        ),
        (
            "RMSProp".to_string(),
            Box::new(RmsProp::new(RmsPropConfig {
                lr: 3e-3,
                gamma: 0.9,
                eps,
            })?),
        ),
        (
            "Adam".to_string(),
            Box::new(Adam::new(AdamConfig {
                lr: 0.05,
                ..AdamConfig::new(eps)
            })?),
        ),
    ])
}

/// One optimizer's run: its name, the points θ_0, θ_1, … and the losses
/// L(θ_0), L(θ_1), ….
struct Run {
    name: String,
    path: Vec<(f64, f64)>,
    losses: Vec<f64>,
}

/// Runs every optimizer `steps` steps from `start` on a loss of two
/// parameters given by its value and gradient.
fn run_all(
    optimizers: Vec<Named>,
    start: [f64; 2],
    steps: usize,
    loss: impl Fn(&DMatrix<f64>) -> Result<f64>,
    gradient: impl Fn(&DMatrix<f64>) -> Result<DMatrix<f64>>,
) -> Result<Vec<Run>> {
    let mut runs = Vec::new();
    for (name, mut opt) in optimizers {
        let mut params = vec![row(&start)];
        let mut path = vec![(start[0], start[1])];
        let mut losses = vec![loss(&params[0])?];
        for _ in 0..steps {
            let g = gradient(&params[0])?;
            opt.step(&mut params, &[g])?;
            path.push((params[0][0], params[0][1]));
            losses.push(loss(&params[0])?);
        }
        runs.push(Run { name, path, losses });
    }
    Ok(runs)
}

/// The runs of every optimizer on the Rosenbrock function.
fn rosenbrock_runs(lang: Lang) -> Result<Vec<Run>> {
    run_all(
        rosenbrock_optimizers(lang)?,
        ROSENBROCK_START,
        ROSENBROCK_STEPS,
        |p| Ok(Rosenbrock::classic().loss(p)?),
        |p| Ok(Rosenbrock::classic().gradient(p)?),
    )
}

/// The parts of a curve inside a rectangle, as separate pieces, so that no
/// chord joins where the curve leaves and re-enters it.
fn pieces_inside(
    points: impl IntoIterator<Item = (f64, f64)>,
    x_range: &std::ops::Range<f64>,
    y_range: &std::ops::Range<f64>,
) -> Vec<Vec<(f64, f64)>> {
    let mut pieces: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current = Vec::new();
    for (x, y) in points {
        if x_range.contains(&x) && y_range.contains(&y) {
            current.push((x, y));
        } else if !current.is_empty() {
            pieces.push(std::mem::take(&mut current));
        }
    }
    pieces.push(current);
    pieces.retain(|p| p.len() > 1);
    pieces
}

/// A path without points closer than `gap` to the last one kept (the end
/// point is always kept): thousands of tiny steps make a large SVG and
/// look the same.
fn thin(path: &[(f64, f64)], gap: f64) -> Vec<(f64, f64)> {
    let mut kept: Vec<(f64, f64)> = Vec::new();
    for (i, &(x, y)) in path.iter().enumerate() {
        let far = kept
            .last()
            .is_none_or(|&(a, b)| (x - a).hypot(y - b) >= gap);
        if far || i + 1 == path.len() {
            kept.push((x, y));
        }
    }
    kept
}

/// The steps of the Rosenbrock paths figure: after 1000 steps the
/// methods stand at different places in the valley.
const ROSENBROCK_PATH_STEPS: usize = 1000;

/// The paths of every optimizer over the first 1000 steps on the
/// Rosenbrock function, over contour lines at log-spaced levels.
fn rosenbrock_paths(lang: Lang) -> Result<String> {
    let runs = rosenbrock_runs(lang)?;
    let (x_range, y_range) = (-2.0..2.0, -1.0..3.0);

    render((720, 480), |root| {
        let mut chart = chart(root, 56, x_range.clone(), y_range.clone())?;
        mesh(&mut chart, Scale::Full, "x", "y")
            .x_label_formatter(&|x| number_trimmed(*x, 1, lang))
            .y_label_formatter(&|y| number_trimmed(*y, 1, lang))
            .disable_mesh()
            .draw()
            .map_err(plot_err)?;
        // The level set f = c is the closed curve x = 1 − √c cos φ,
        // y = x² + (√c/10) sin φ: then (1 − x)² = c cos² φ and
        // 100 (y − x²)² = c sin² φ. Only the φ with −2 ≤ x ≤ 2 are
        // sampled, an upper (sin φ ≥ 0) and a lower branch.
        for k in -2..=7 {
            let c = 10f64.powf(f64::from(k) / 2.0);
            let r = c.sqrt();
            let phi_a = (3.0 / r).min(1.0).acos();
            let phi_b = (-1.0 / r).max(-1.0).acos();
            for sign in [1.0, -1.0] {
                let branch = (0..=300).map(|i| {
                    let s = f64::from(i) / 300.0;
                    let phi = phi_a + (phi_b - phi_a) * s;
                    let x = 1.0 - r * phi.cos();
                    (x, x * x + sign * r / 10.0 * phi.sin())
                });
                for piece in pieces_inside(branch, &x_range, &y_range) {
                    chart
                        .draw_series(LineSeries::new(
                            piece,
                            BLACK.mix(0.25).stroke_width(1),
                        ))
                        .map_err(plot_err)?;
                }
            }
        }
        for (run, color) in runs.iter().zip(PALETTE) {
            let shown = &run.path[..=ROSENBROCK_PATH_STEPS];
            let path = thin(shown, 0.01);
            let mut first = true;
            for piece in pieces_inside(path, &x_range, &y_range) {
                let series = chart
                    .draw_series(LineSeries::new(piece, color.stroke_width(2)))
                    .map_err(plot_err)?;
                if std::mem::take(&mut first) {
                    series
                        .label(run.name.clone())
                        .legend(line_key(color.stroke_width(3)));
                }
            }
        }
        // The end points on top of all paths, outlined to stand out.
        for (run, color) in runs.iter().zip(PALETTE) {
            let end = run.path[ROSENBROCK_PATH_STEPS];
            chart
                .draw_series([
                    Circle::new(end, 6, color.filled()),
                    Circle::new(end, 6, BLACK.stroke_width(1)),
                ])
                .map_err(plot_err)?;
        }
        let [sx, sy] = ROSENBROCK_START;
        chart
            .draw_series([Circle::new((sx, sy), 5, BLACK.stroke_width(2))])
            .map_err(plot_err)?;
        chart
            .draw_series([Cross::new((1.0, 1.0), 7, BLACK.stroke_width(2))])
            .map_err(plot_err)?;
        legend(&mut chart, Scale::Full, SeriesLabelPosition::LowerRight)
    })
}

/// The loss over the steps of every optimizer, on the quadratic of
/// `optimizer_paths` (left) and on the Rosenbrock function (right).
fn optimizer_losses(lang: Lang) -> Result<String> {
    let q = Quadratic::diagonal(&[1.0, 20.0], &[0.0, 0.0])?;
    let quadratic = run_all(
        quadratic_optimizers(lang)?,
        [-4.0, 1.5],
        200,
        |p| Ok(q.loss(p)?),
        |p| Ok(q.gradient(p)?),
    )?;
    let rosenbrock = rosenbrock_runs(lang)?;
    let (y_min, y_max) = (1e-16, 1e3);
    let panels = [
        (
            lang.pick("quadratisch, κ = 20", "quadratic, κ = 20"),
            quadratic,
        ),
        ("Rosenbrock", rosenbrock),
    ];

    render((720, 420), |root| {
        let areas = root.split_evenly((1, 2));
        for (p, (area, (title, runs))) in areas.iter().zip(&panels).enumerate()
        {
            let steps = runs[0].losses.len() - 1;
            let mut chart = ChartBuilder::on(area)
                .margin(12)
                .caption(*title, (FONT, 17))
                .x_label_area_size(44)
                .y_label_area_size(if p == 0 { 64 } else { 52 })
                .build_cartesian_2d(0..steps, (y_min..y_max).log_scale())
                .map_err(plot_err)?;
            // The panels share the y axis: only the left one describes it.
            let mut mesh = axes(&mut chart, Scale::Panel);
            mesh.x_desc(lang.pick("Schritt t", "step t"))
                .x_labels(5)
                .y_label_formatter(&|y| power_of_ten(*y));
            if p == 0 {
                mesh.y_desc(lang.pick("Verlust L(θ_t)", "loss L(θ_t)"));
            }
            mesh.draw().map_err(plot_err)?;
            // Every step at the start, every 5th later: the same curve
            // with fewer points.
            for (run, color) in runs.iter().zip(PALETTE) {
                let points = run
                    .losses
                    .iter()
                    .enumerate()
                    .filter(|&(t, &l)| {
                        (t < 100 || t % 5 == 0 || t == steps) && l >= y_min
                    })
                    .map(|(t, &l)| (t, l.min(y_max)));
                chart
                    .draw_series(LineSeries::new(points, color.stroke_width(2)))
                    .map_err(plot_err)?
                    .label(run.name.clone())
                    .legend(line_key(color.stroke_width(3)));
            }
            if p == 1 {
                legend(
                    &mut chart,
                    Scale::Panel,
                    SeriesLabelPosition::LowerLeft,
                )?;
            }
        }
        Ok(())
    })
}

/// A small deterministic generator (xorshift64, Marsaglia 2003) for the
/// noisy gradients of `adam_bias_correction`: uniform numbers in [0, 1).
struct XorShift(u64);

impl XorShift {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The number of steps of `adam_bias_correction`.
const BIAS_STEPS: usize = 100;

/// One curve of `adam_bias_correction`: (with bias correction, noisy
/// gradient, (t, |θ_t − θ_{t−1}| / η) for t = 1, 2, …).
pub(crate) type BiasCurve = (bool, bool, Vec<(usize, f64)>);

/// The data of `adam_bias_correction`, computed once per build (the
/// caption states its numbers): Adam's steps with and without bias
/// correction, for a constant and a noisy gradient.
pub(crate) fn bias_curves() -> Result<&'static [BiasCurve]> {
    static CURVES: OnceLock<Result<Vec<BiasCurve>, String>> = OnceLock::new();
    CURVES
        .get_or_init(|| bias_curves_once().map_err(|e| format!("{e:#}")))
        .as_ref()
        .map(Vec::as_slice)
        .map_err(|e| anyhow!("{e}"))
}

fn bias_curves_once() -> Result<Vec<BiasCurve>> {
    let eta = 1e-3;
    let mut noise = XorShift(0x2545_f491_4f6c_dd1d);
    let noisy: Vec<f64> = (0..BIAS_STEPS)
        .map(|_| 1.0 + 4.0 * noise.next_f64() - 2.0)
        .collect();
    let constant = vec![1.0; BIAS_STEPS];
    let mut curves = Vec::new();
    for (gradients, dashed) in [(&constant, false), (&noisy, true)] {
        for bias_correction in [true, false] {
            let mut adam = Adam::new(AdamConfig {
                lr: eta,
                bias_correction,
                ..AdamConfig::new(Epsilon::Outside(1e-8))
            })?;
            let mut params = vec![row(&[0.0])];
            let mut steps = Vec::new();
            for (t, &g) in gradients.iter().enumerate() {
                let before = params[0][0];
                adam.step(&mut params, &[row(&[g])])?;
                steps.push((t + 1, (params[0][0] - before).abs() / eta));
            }
            curves.push((bias_correction, dashed, steps));
        }
    }

    Ok(curves)
}

/// The step sizes |θ_t − θ_{t−1}| / η of Adam with and without bias
/// correction (3.11) on one parameter, for a constant gradient 1 and for
/// noisy gradients 1 + u_t with u_t uniform in [−2, 2].
fn adam_bias_correction(lang: Lang) -> Result<String> {
    let curves = bias_curves()?;
    render(SIZE, |root| {
        let mut chart = chart(root, 56, 0..BIAS_STEPS, 0.0..7.0)?;
        mesh(
            &mut chart,
            Scale::Full,
            lang.pick("Schritt t", "step t"),
            lang.pick("Schrittweite |Δθ_t| / η", "step size |Δθ_t| / η"),
        )
        .y_label_formatter(&|y| number_trimmed(*y, 1, lang))
        .draw()
        .map_err(plot_err)?;
        for (bias_correction, dashed, steps) in curves {
            let color = if *bias_correction {
                PALETTE[0]
            } else {
                PALETTE[1]
            };
            let label = format!(
                "{}, {}",
                if *bias_correction {
                    lang.pick("mit Korrektur", "with correction")
                } else {
                    lang.pick("ohne Korrektur", "without correction")
                },
                if *dashed {
                    lang.pick("verrauschter Gradient", "noisy gradient")
                } else {
                    lang.pick("konstanter Gradient", "constant gradient")
                }
            );
            let style = color.stroke_width(if *dashed { 2 } else { 3 });
            let points = steps.clone();
            if *dashed {
                chart
                    .draw_series(DashedLineSeries::new(points, 6, 4, style))
                    .map_err(plot_err)?
                    .label(label)
                    .legend(dash_key(style));
            } else {
                chart
                    .draw_series(LineSeries::new(points, style))
                    .map_err(plot_err)?
                    .label(label)
                    .legend(line_key(style));
            }
        }
        legend(&mut chart, Scale::Full, SeriesLabelPosition::UpperRight)
    })
}

/// The number of epochs of `iris_training`.
const IRIS_EPOCHS: usize = 100;

/// The iris losses, computed once for both languages: an epoch costs
/// about 2 ms in a dev build (the generic code is instantiated in xtask,
/// unoptimized), 100 epochs of five methods about a second.
static IRIS_LOSSES: OnceLock<Vec<Vec<f64>>> = OnceLock::new();

/// The average NLL (1.22) of chapter 1's softmax regression on the
/// standardized iris data before every epoch (and after the last), for
/// each method of this chapter, full batch, from zero parameters; the
/// methods in the order of [`quadratic_optimizers`].
pub(crate) fn iris_losses() -> Result<&'static [Vec<f64>]> {
    if let Some(losses) = IRIS_LOSSES.get() {
        return Ok(losses);
    }
    let (x, y) = load_iris();
    let x = standardize(&x)?;
    let eps = Epsilon::Outside(1e-8);
    let optimizers: Vec<Box<dyn Optimizer<f64>>> = vec![
        Box::new(Sgd::new(SgdConfig {
            lr: 1.0,
            momentum: 0.0,
        })?),
        Box::new(Sgd::new(SgdConfig {
            lr: 0.1,
            momentum: 0.9,
        })?),
        Box::new(AdaGrad::new(AdaGradConfig { lr: 0.5, eps })?),
        Box::new(RmsProp::new(RmsPropConfig {
            lr: 0.03,
            gamma: 0.9,
            eps,
        })?),
        Box::new(Adam::new(AdamConfig {
            lr: 0.05,
            ..AdamConfig::new(eps)
        })?),
    ];
    let mut runs = Vec::new();
    for mut opt in optimizers {
        // The optimizers update W (d, K) and the bias row b (1, K) of
        // chapter 1's model in place.
        let mut model = SoftmaxRegression::zeros(x.ncols(), K);
        let mut losses = Vec::with_capacity(IRIS_EPOCHS + 1);
        for epoch in 0..=IRIS_EPOCHS {
            let (nll, grad_w, grad_b) = loss_and_gradient(&model, &x, &y, 0.0)?;
            losses.push(nll);
            if epoch < IRIS_EPOCHS {
                opt.step(&mut model, &[grad_w, grad_b])?;
            }
        }
        runs.push(losses);
    }
    Ok(IRIS_LOSSES.get_or_init(|| runs))
}

/// Training curves of the softmax regression of chapter 1 on iris with
/// every optimizer of this chapter.
fn iris_training(lang: Lang) -> Result<String> {
    let losses = iris_losses()?;
    let names = [
        lang.pick("Gradientenabstieg", "gradient descent"),
        "Momentum",
        "AdaGrad",
        "RMSProp",
        "Adam",
    ];
    let (y_min, y_max) = (0.08, 1.3);

    render(SIZE, |root| {
        let mut chart =
            chart(root, 72, 0..IRIS_EPOCHS, (y_min..y_max).log_scale())?;
        mesh(
            &mut chart,
            Scale::Full,
            lang.pick("Epoche", "epoch"),
            lang.pick("mittlere NLL", "average NLL"),
        )
        // Only some of the log axis' key points get a label: the others
        // would overlap near the top.
        .y_label_formatter(&|y| {
            let labeled = [0.1_f64, 0.2, 0.3, 0.5, 1.0];
            if labeled.iter().any(|l| (y / l - 1.0).abs() < 1e-6) {
                number_trimmed(*y, 1, lang)
            } else {
                String::new()
            }
        })
        .draw()
        .map_err(plot_err)?;
        for ((name, losses), color) in names.iter().zip(losses).zip(PALETTE) {
            let points = losses
                .iter()
                .enumerate()
                .map(|(t, &l)| (t, l.clamp(y_min, y_max)));
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(3)))
                .map_err(plot_err)?
                .label(*name)
                .legend(line_key(color.stroke_width(3)));
        }
        legend(&mut chart, Scale::Full, SeriesLabelPosition::UpperRight)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recursions of ≤ 300 steps: rounding grows like t ulp, and
    /// 1 − β₂ᵗ loses up to 10 bits in the first steps (β₂ = 0.999).
    const RATE_TOL: f64 = 1e-12;

    /// `x` is `shown` rounded to `decimals` decimals, as a caption prints it.
    fn rounds_to(x: f64, shown: f64, decimals: i32) -> bool {
        (x - shown).abs() <= 0.5 * 10f64.powi(-decimals)
    }

    #[test]
    fn adaptive_step_sizes_has_the_numbers_of_its_caption() {
        let rates = adaptive_rates().unwrap();
        // rates[method][coordinate], methods AdaGrad, RMSProp, Adam.
        let at = |k: usize, c: usize, t: u32| rates[k][c][t as usize - 1].1;
        let eta = 0.01;
        for t in 1..=ADAPTIVE_STEPS {
            // Adam, flat: a constant gradient g has v̂_t = g² (3.11).
            let flat = eta / (0.01 + 1e-8);
            assert!((at(2, 1, t) / flat - 1.0).abs() < RATE_TOL, "t = {t}");
            if t <= 100 {
                // Adam, steep: v̂_t = 1 while the gradient is 1.
                let steep = eta / (1.0 + 1e-8);
                assert!((at(2, 0, t) / steep - 1.0).abs() < RATE_TOL);
            }
        }
        // RMSProp, flat: η / √(1 − γ) at t = 1, near 1 by t = 50.
        assert!(rounds_to(at(1, 1, 1), 3.16, 2));
        assert!(rounds_to(at(1, 1, 50), 1.003, 3));
        // Steep coordinate after the switch: Adam's rate grows slowly,
        // RMSProp's is back near η / 0.01 = 1.
        assert!(rounds_to(at(2, 0, 200), 0.0145, 4));
        assert!(rounds_to(at(2, 0, 300), 0.0182, 4));
        assert!(rounds_to(at(1, 0, 200), 0.89, 2));
        assert!(rounds_to(at(1, 0, 300), 1.0, 3));
    }

    #[test]
    fn adaptive_step_sizes_caption_meeting_point_is_computed() {
        // The caption: RMSProp's two coordinates are within 1 % of each
        // other from t ≈ 225 on, and still 4 % apart at t = 210.
        let rates = adaptive_rates().unwrap();
        let gap = |t: usize| {
            let (steep, flat) = (rates[1][0][t - 1].1, rates[1][1][t - 1].1);
            (steep / flat - 1.0).abs()
        };
        let first = (1..=ADAPTIVE_STEPS as usize)
            .find(|&t| (t..=ADAPTIVE_STEPS as usize).all(|u| gap(u) < 0.01))
            .unwrap();
        assert_eq!(first, 225);
        assert!(rounds_to(gap(210) * 100.0, 4.0, 0), "{}", gap(210));
    }
}
