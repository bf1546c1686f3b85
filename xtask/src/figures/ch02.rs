//! Figures of chapter 2, „Transformer-Architektur“ / "Transformer
//! architecture".

use anyhow::{Result, anyhow};
use ch02_transformer::blocked::working_set;
use ch02_transformer::encoder_decoder::{Config, Transformer};
use ch02_transformer::example;
use ch02_transformer::positional::sinusoidal;
use ch02_transformer::scaling::{ScalingStats, scaling_experiment};
use nalgebra::DMatrix;
use plotters::coord::Shift;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::{
    FONT, PALETTE, SIZE, Scale, chart, dash_key, legend, line_key, mesh,
    number_fixed, number_trimmed, plot_err, render,
};
use super::{Figure, figure};
use crate::lang::Lang;

/// The figures of this chapter.
pub const FIGURES: &[Figure] = &[
    figure! {
        id: "sentence_attention",
        alt: [
            "Heatmap 6 mal 6 der Attention-Gewichte im Satz „Die Katze \
             sitzt auf der Matte“, Zeilen sind die fragenden Wörter, \
             Spalten die Wörter, auf die geachtet wird. Die größten \
             Gewichte: Die auf Katze, Katze auf sitzt, sitzt auf Katze, auf \
             und der auf Matte, Matte auf sitzt.",
            "Six-by-six heat map of the attention weights in the sentence \
             \"The cat sits on the mat\"; rows are the attending words, \
             columns the words attended to. The largest weights: The to cat, \
             cat to sits, sits to cat, on and the to mat, mat to sits.",
        ],
        draw: sentence_attention,
    },
    figure! {
        id: "dot_product_variance",
        alt: [
            "Doppelt logarithmisches Diagramm: gemessene Varianz des \
             Skalarprodukts q·k für d_k von 1 bis 1024. Ohne Skalierung \
             liegen die Punkte auf der Geraden Varianz = d_k, mit Skalierung \
             durch Wurzel d_k bleiben sie bei 1.",
            "Log-log plot of the measured variance of the dot product q·k \
             for d_k from 1 to 1024. Without scaling, the points lie on the \
             line variance = d_k; with scaling by the square root of d_k, \
             they stay at 1.",
        ],
        draw: dot_product_variance,
    },
    figure! {
        id: "softmax_saturation",
        alt: [
            "Liniendiagramm: mittleres größtes Attention-Gewicht über d_k. \
             Ohne Skalierung steigt es gegen 1, mit Skalierung bleibt es \
             nahezu konstant.",
            "Line chart of the mean largest attention weight as a function \
             of d_k. Without scaling, it rises towards 1; with scaling, it \
             stays nearly constant.",
        ],
        draw: softmax_saturation,
    },
    figure! {
        id: "transformer_diagram",
        alt: [
            "Blockdiagramm des Transformers: links der Encoder aus \
             Multi-Head-Attention, Add & Norm, Feed-Forward, Add & Norm; \
             rechts der Decoder aus maskierter Multi-Head-Attention, Add & \
             Norm, Multi-Head-Attention über die Encoder-Ausgabe, Add & Norm, \
             Feed-Forward, Add & Norm; darüber Linear und Softmax. Die \
             Layer-Normalisierung steht jeweils nach der Addition.",
            "Block diagram of the transformer. On the left, the encoder: \
             multi-head attention, Add & Norm, feed-forward, Add & Norm. On \
             the right, the decoder: masked multi-head attention, Add & \
             Norm, multi-head attention over the encoder output, Add & Norm, \
             feed-forward, Add & Norm, with linear and softmax on top. Layer \
             normalization always comes after the addition.",
        ],
        draw: transformer_diagram,
    },
    figure! {
        id: "positional_encoding",
        alt: [
            "Heatmap der sinusförmigen Positionskodierung: 64 Positionen \
             mal 64 Merkmale. Links wechseln die Farben schnell von Zeile \
             zu Zeile, nach rechts immer langsamer.",
            "Heat map of the sinusoidal positional encoding: 64 positions \
             by 64 features. On the left the colors change quickly from row \
             to row, and more and more slowly towards the right.",
        ],
        draw: positional_encoding,
    },
    figure! {
        id: "toy_forward",
        alt: [
            "Drei Heatmaps des Spielzeugmodells: eine 3×3-Matrix der \
             maskierten Multi-Head-Attention mit Nullen über der \
             Diagonale, eine 3×5-Matrix der Kreuzaufmerksamkeit und eine \
             3×9-Matrix der Wahrscheinlichkeiten des nächsten Tokens.",
            "Three heat maps of the toy model: a 3×3 matrix of masked \
             multi-head attention weights with zeros above the diagonal, a \
             3×5 matrix of cross-attention weights, and a 3×9 matrix of \
             next-token probabilities.",
        ],
        draw: toy_forward,
    },
    figure! {
        id: "attention_memory",
        alt: [
            "Doppelt logarithmisches Diagramm des Spitzenspeichers der \
             Attention in f32 über der Länge n der Folge, d = 64. Ohne \
             Blöcke wächst der Speicher für S und P mit n², um den Faktor 4 \
             je Verdopplung von n; in Blöcken von 128 bleibt er fast \
             konstant und liegt unter dem Speicher für Q, K, V und O, der \
             mit n wächst.",
            "Log-log plot of the peak memory of attention in f32 against \
             the sequence length n, d = 64. Without blocks, the memory for \
             S and P grows with n², by a factor of 4 each time n doubles; \
             in blocks of 128 it stays nearly constant, below the memory \
             for Q, K, V and O, which grows with n.",
        ],
        draw: attention_memory,
    },
];

/// A curve of a √d_k figure: its label, what it plots, its colour.
type Series<'a> = (&'a str, fn(&ScalingStats) -> f64, RGBColor);

/// The key widths of the √d_k figures: 1, 2, 4, ..., 1024.
fn widths() -> Vec<usize> {
    (0..=10).map(|k| 1 << k).collect()
}

/// The experiment behind both √d_k figures, formula (2.3).
fn experiment(n_keys: usize) -> Result<Vec<ScalingStats>> {
    widths()
        .into_iter()
        .map(|d_k| {
            scaling_experiment(d_k, 200, n_keys, d_k as u64)
                .map_err(|e| anyhow!("{e}"))
        })
        .collect()
}

/// The measured variance of q·k over d_k, with and without scaling.
fn dot_product_variance(lang: Lang) -> Result<String> {
    let stats = experiment(100)?;
    render(SIZE, |root| {
        let mut chart = chart(
            root,
            64,
            (0.8f64..1300.0).log_scale(),
            (0.3f64..3000.0).log_scale(),
        )?;
        // The prediction Var = d_k.
        let prediction = (
            [(1.0, 1.0), (1024.0, 1024.0)],
            lang.pick("Vorhersage d_k", "prediction d_k"),
        );
        let series: [Series; 2] = [
            (
                lang.pick("q · k (ohne Skalierung)", "q · k (unscaled)"),
                |s| s.var_unscaled,
                PALETTE[1],
            ),
            (
                lang.pick("q · k / √d_k", "q · k / √d_k"),
                |s| s.var_scaled,
                PALETTE[0],
            ),
        ];
        let y_desc = lang.pick("Varianz von q · k", "variance of q · k");
        scaling_chart(&mut chart, lang, y_desc, &stats, prediction, series)
    })
}

/// The mean largest attention weight over d_k, with and without scaling.
fn softmax_saturation(lang: Lang) -> Result<String> {
    let n_keys = 16;
    let stats = experiment(n_keys)?;
    render(SIZE, |root| {
        let mut chart =
            chart(root, 64, (0.8f64..1300.0).log_scale(), 0.0..1.0)?;
        let uniform = 1.0 / n_keys as f64;
        let uniform = (
            [(0.8, uniform), (1300.0, uniform)],
            lang.pick("Gleichverteilung 1/16", "uniform 1/16"),
        );
        let series: [Series; 2] = [
            (
                lang.pick("ohne Skalierung", "unscaled"),
                |s| s.max_weight_unscaled,
                PALETTE[1],
            ),
            (
                lang.pick("mit 1/√d_k", "with 1/√d_k"),
                |s| s.max_weight_scaled,
                PALETTE[0],
            ),
        ];
        let y_desc =
            lang.pick("mittleres größtes Gewicht", "mean largest weight");
        scaling_chart(&mut chart, lang, y_desc, &stats, uniform, series)
    })
}

/// Draws a √d_k figure on `chart`: the axes (d_k across, `y_desc` up),
/// the `reference` line (its two end points and its label) dashed, every
/// measured series as a line with a dot at each width, and the legend.
fn scaling_chart<'a, X, Y>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
    lang: Lang,
    y_desc: &str,
    stats: &[ScalingStats],
    (ends, label): ([(f64, f64); 2], &str),
    series: [Series; 2],
) -> Result<()>
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let x_desc = lang.pick("Breite d_k der Keys", "key width d_k");
    mesh(chart, Scale::Full, x_desc, y_desc)
        .x_label_formatter(&|x| number_trimmed(*x, 2, lang))
        .y_label_formatter(&|y| number_trimmed(*y, 2, lang))
        .draw()
        .map_err(plot_err)?;
    chart
        .draw_series(DashedLineSeries::new(
            ends,
            6,
            4,
            BLACK.mix(0.5).stroke_width(1),
        ))
        .map_err(plot_err)?
        .label(label)
        .legend(line_key(BLACK.mix(0.5)));
    for (label, get, color) in series {
        let points: Vec<(f64, f64)> =
            stats.iter().map(|s| (s.d_k as f64, get(s))).collect();
        line_with_dots(chart, &points, color, label)?;
    }
    legend(chart, Scale::Full, SeriesLabelPosition::UpperLeft)
}

/// A measured series: a line through `points` in `color`, labelled for the
/// legend, with a dot at every measured point.
fn line_with_dots<'a, X, Y>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
    points: &[(f64, f64)],
    color: RGBColor,
    label: &str,
) -> Result<()>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    chart
        .draw_series(LineSeries::new(
            points.iter().copied(),
            color.stroke_width(2),
        ))
        .map_err(plot_err)?
        .label(label)
        .legend(line_key(color.stroke_width(3)));
    chart
        .draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))
        .map_err(plot_err)?;
    Ok(())
}

/// The sinusoidal positional encodings as a heat map, formula (2.15).
fn positional_encoding(lang: Lang) -> Result<String> {
    let (n, d) = (64, 64);
    let pe: DMatrix<f64> = sinusoidal(n, d).map_err(|e| anyhow!("{e}"))?;
    render((720, 560), |root| {
        let (plot, bar) = root.split_horizontally(640);
        heat_map(
            &plot,
            &pe,
            (-1.0, 1.0),
            diverging,
            lang.pick("Merkmal j", "feature j"),
            lang.pick("Position pos", "position pos"),
            None,
            8,
        )?;
        color_bar(&bar, (-1.0, 1.0), diverging, lang)
    })
}

/// The toy model's forward pass: masked self-attention, cross-attention
/// and next-token probabilities, formulas (2.16) and (2.17).
fn toy_forward(lang: Lang) -> Result<String> {
    let model =
        Transformer::random(&Config::TOY, 2017).map_err(|e| anyhow!("{e}"))?;
    let out = model
        .forward(&[3, 1, 4, 1, 5], &[0, 2, 6])
        .map_err(|e| anyhow!("{e}"))?;
    let first = out.decoder.first().ok_or_else(|| anyhow!("no decoder"))?;
    let mean = |heads: &[ch02_transformer::attention::Attention<f64>]| {
        let mut m = heads[0].weights.clone();
        for h in &heads[1..] {
            m += &h.weights;
        }
        m / heads.len() as f64
    };
    let self_attn = mean(&first.self_attention.heads);
    let cross = mean(&first.cross_attention.heads);
    render((720, 300), |root| {
        let panels = root.split_by_breakpoints([200, 400], [] as [u32; 0]);
        let (target, source, token) = (
            lang.pick("Zieltoken t", "target token t"),
            lang.pick("Quelltoken", "source token"),
            lang.pick("nächstes Token", "next token"),
        );
        heat_map(
            &panels[0],
            &self_attn,
            (0.0, 1.0),
            sequential,
            lang.pick("Zieltoken", "target token"),
            target,
            Some(lang),
            1,
        )?;
        heat_map(
            &panels[1],
            &cross,
            (0.0, 1.0),
            sequential,
            source,
            target,
            Some(lang),
            1,
        )?;
        heat_map(
            &panels[2],
            &out.probabilities,
            (0.0, 1.0),
            sequential,
            token,
            target,
            Some(lang),
            1,
        )
    })
}

/// The attention weights of the hand-made example sentence, formula (2.2)
/// with the features and `W_Q` of `ch02_transformer::example`.
fn sentence_attention(lang: Lang) -> Result<String> {
    let p = example::sentence_attention()
        .map_err(|e| anyhow!("{e}"))?
        .weights;
    let tokens = match lang {
        Lang::De => example::TOKENS_DE,
        Lang::En => example::TOKENS_EN,
    };
    let n = tokens.len();
    render((720, 520), |root| {
        let (plot, bar) = root.split_horizontally(640);
        let mut chart = ChartBuilder::on(&plot)
            .margin(10)
            .margin_left(40)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..n as f64, n as f64..0.0)
            .map_err(plot_err)?;
        // Labels only at the middle of each cell: the token there.
        let token = |v: f64| -> String {
            let k = v.floor();
            if (v - k - 0.5).abs() < 1e-9 && (k as usize) < n {
                tokens[k as usize].to_string()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(lang.pick(
                "Key: das Wort, auf das geachtet wird",
                "key: the word attended to",
            ))
            .y_desc(
                lang.pick(
                    "Query: das fragende Wort",
                    "query: the attending word",
                ),
            )
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 14))
            .x_labels(2 * n + 1)
            .y_labels(2 * n + 1)
            .x_label_formatter(&|v| token(*v))
            .y_label_formatter(&|v| token(*v))
            .draw()
            .map_err(plot_err)?;
        let cells = (0..n).flat_map(|i| (0..n).map(move |j| (i, j)));
        chart
            .draw_series(cells.map(|(i, j)| {
                let (x, y) = (j as f64, i as f64);
                Rectangle::new(
                    [(x, y), (x + 1.0, y + 1.0)],
                    sequential(p[(i, j)]).filled(),
                )
            }))
            .map_err(plot_err)?;
        cell_values(&mut chart, &p, 14, lang)?;
        color_bar(&bar, (0.0, 1.0), sequential, lang)
    })
}

/// A heat map of `m` (row 0 at the top) with values mapped by `color`
/// from the range `(lo, hi)`; with `numbers`, each cell shows its value.
#[allow(clippy::too_many_arguments)]
fn heat_map(
    area: &DrawingArea<SVGBackend, Shift>,
    m: &DMatrix<f64>,
    (lo, hi): (f64, f64),
    color: fn(f64) -> RGBColor,
    x_desc: &str,
    y_desc: &str,
    numbers: Option<Lang>,
    label_step: usize,
) -> Result<()> {
    let (rows, cols) = (m.nrows() as f64, m.ncols() as f64);
    let mut chart = ChartBuilder::on(area)
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(44)
        .build_cartesian_2d(0.0..cols, rows..0.0)
        .map_err(plot_err)?;
    let index = |v: f64| -> String {
        let k = v.floor();
        if (v - k - 0.5).abs() < 1e-9 && (k as usize).is_multiple_of(label_step)
        {
            format!("{}", k as usize)
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .x_labels(m.ncols() * 2 + 1)
        .y_labels(m.nrows() * 2 + 1)
        .x_label_formatter(&|v| index(*v))
        .y_label_formatter(&|v| index(*v))
        .draw()
        .map_err(plot_err)?;
    let cells =
        (0..m.nrows()).flat_map(|i| (0..m.ncols()).map(move |j| (i, j)));
    chart
        .draw_series(cells.map(|(i, j)| {
            let t = ((m[(i, j)] - lo) / (hi - lo)).clamp(0.0, 1.0);
            let (x, y) = (j as f64, i as f64);
            Rectangle::new([(x, y), (x + 1.0, y + 1.0)], color(t).filled())
        }))
        .map_err(plot_err)?;
    if let Some(lang) = numbers {
        cell_values(&mut chart, m, 12, lang)?;
    }
    Ok(())
}

/// Writes every value of `m` into its cell of a heat map (cell `(i, j)`
/// spans `j..j + 1` across and `i..i + 1` down), two decimals in `size`
/// pixels: white on the dark cells (values above 0.6), black elsewhere.
fn cell_values<'a, X, Y>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
    m: &DMatrix<f64>,
    size: u32,
    lang: Lang,
) -> Result<()>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let style =
        TextStyle::from((FONT, size)).pos(Pos::new(HPos::Center, VPos::Center));
    for i in 0..m.nrows() {
        for j in 0..m.ncols() {
            let v = m[(i, j)];
            let ink = if v > 0.6 { WHITE } else { BLACK };
            chart
                .draw_series(std::iter::once(Text::new(
                    number_fixed(v, 2, lang),
                    (j as f64 + 0.5, i as f64 + 0.5),
                    style.color(&ink),
                )))
                .map_err(plot_err)?;
        }
    }
    Ok(())
}

/// A vertical colour bar for the range `(lo, hi)`.
fn color_bar(
    area: &DrawingArea<SVGBackend, Shift>,
    (lo, hi): (f64, f64),
    color: fn(f64) -> RGBColor,
    lang: Lang,
) -> Result<()> {
    let mut chart = ChartBuilder::on(area)
        .margin_top(10)
        .margin_bottom(50)
        .margin_right(8)
        .y_label_area_size(36)
        .build_cartesian_2d(0.0..1.0, lo..hi)
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_labels(5)
        .label_style((FONT, 13))
        .y_label_formatter(&|v| number_trimmed(*v, 2, lang))
        .draw()
        .map_err(plot_err)?;
    let steps = 100;
    chart
        .draw_series((0..steps).map(|k| {
            let a = lo + (hi - lo) * k as f64 / steps as f64;
            let b = lo + (hi - lo) * (k + 1) as f64 / steps as f64;
            let t = (k as f64 + 0.5) / steps as f64;
            Rectangle::new([(0.0, a), (1.0, b)], color(t).filled())
        }))
        .map_err(plot_err)?;
    Ok(())
}

/// Blue (0) – white (0.5) – vermillion (1).
fn diverging(t: f64) -> RGBColor {
    let (blue, red) = (PALETTE[0], PALETTE[1]);
    if t < 0.5 {
        mix(blue, RGBColor(255, 255, 255), t * 2.0)
    } else {
        mix(RGBColor(255, 255, 255), red, (t - 0.5) * 2.0)
    }
}

/// White (0) – blue (1).
fn sequential(t: f64) -> RGBColor {
    mix(RGBColor(255, 255, 255), RGBColor(8, 48, 107), t)
}

fn mix(a: RGBColor, b: RGBColor, t: f64) -> RGBColor {
    let f = |x: u8, y: u8| {
        (f64::from(x) + (f64::from(y) - f64::from(x)) * t).round() as u8
    };
    RGBColor(f(a.0, b.0), f(a.1, b.1), f(a.2, b.2))
}

/// One box of the architecture diagram.
struct Box2 {
    label: String,
    /// Centre x, top y, width, height (pixels).
    x: i32,
    y: i32,
    w: i32,
    h: i32,
    fill: RGBColor,
}

impl Box2 {
    fn top(&self) -> (i32, i32) {
        (self.x, self.y)
    }
    fn bottom(&self) -> (i32, i32) {
        (self.x, self.y + self.h)
    }
    /// The middle of the left (`side < 0`) or right (`side > 0`) edge.
    fn side_mid(&self, side: i32) -> (i32, i32) {
        (self.x + side.signum() * self.w / 2, self.y + self.h / 2)
    }
}

/// The architecture of Vaswani et al. (2017) with post-LN, drawn from
/// boxes and arrows (the structure of the listings `block`,
/// `decoder_block` and `transformer`).
fn transformer_diagram(lang: Lang) -> Result<String> {
    let t = |de: &str, en: &str| lang.pick(de, en).to_string();
    let attn = mix(PALETTE[4], RGBColor(255, 255, 255), 0.55);
    let norm = mix(PALETTE[2], RGBColor(255, 255, 255), 0.6);
    let ffn = mix(PALETTE[5], RGBColor(255, 255, 255), 0.5);
    let emb = mix(PALETTE[3], RGBColor(255, 255, 255), 0.55);
    let out = mix(PALETTE[0], RGBColor(255, 255, 255), 0.6);
    let (w, h) = (200, 30);
    let mk = |label: String, x: i32, y: i32, fill: RGBColor| Box2 {
        label,
        x,
        y,
        w,
        h,
        fill,
    };
    let (xe, xd) = (210, 520);
    // Encoder, from the bottom up.
    let e_emb = mk(t("Eingabe-Einbettung", "Input embedding"), xe, 590, emb);
    let e_mha = mk(
        t("Multi-Head-Attention", "Multi-head attention"),
        xe,
        450,
        attn,
    );
    let e_an1 = mk(t("Add & Norm", "Add & Norm"), xe, 400, norm);
    let e_ffn = mk(t("Feed-Forward", "Feed-forward"), xe, 330, ffn);
    let e_an2 = mk(t("Add & Norm", "Add & Norm"), xe, 280, norm);
    // Decoder, from the bottom up.
    let d_emb = mk(t("Ausgabe-Einbettung", "Output embedding"), xd, 590, emb);
    let d_mha = mk(
        t(
            "Maskierte Multi-Head-Attention",
            "Masked multi-head attention",
        ),
        xd,
        450,
        attn,
    );
    let d_an1 = mk(t("Add & Norm", "Add & Norm"), xd, 400, norm);
    let d_cross = mk(
        t("Multi-Head-Attention", "Multi-head attention"),
        xd,
        330,
        attn,
    );
    let d_an2 = mk(t("Add & Norm", "Add & Norm"), xd, 280, norm);
    let d_ffn = mk(t("Feed-Forward", "Feed-forward"), xd, 210, ffn);
    let d_an3 = mk(t("Add & Norm", "Add & Norm"), xd, 160, norm);
    let lin = mk(t("Linear", "Linear"), xd, 100, out);
    let soft = mk(t("Softmax", "Softmax"), xd, 55, out);

    render((720, 700), |root| {
        let text = |s: &str, (x, y): (i32, i32), size: i32| -> Result<()> {
            let style = TextStyle::from((FONT, size as f64))
                .pos(Pos::new(HPos::Center, VPos::Center));
            root.draw(&Text::new(s.to_string(), (x, y), style))
                .map_err(plot_err)
        };
        let arrow = |points: Vec<(i32, i32)>| -> Result<()> {
            root.draw(&PathElement::new(points.clone(), BLACK.stroke_width(2)))
                .map_err(plot_err)?;
            // The head points along the last segment.
            let (a, b) = (points[points.len() - 2], points[points.len() - 1]);
            let (dx, dy) = ((b.0 - a.0).signum(), (b.1 - a.1).signum());
            let (px, py) = (-dy, dx);
            let head = vec![
                b,
                (b.0 - 8 * dx + 5 * px, b.1 - 8 * dy + 5 * py),
                (b.0 - 8 * dx - 5 * px, b.1 - 8 * dy - 5 * py),
            ];
            root.draw(&Polygon::new(head, BLACK.filled()))
                .map_err(plot_err)
        };
        let draw_box = |b: &Box2| -> Result<()> {
            let (x0, y0) = (b.x - b.w / 2, b.y);
            let (x1, y1) = (b.x + b.w / 2, b.y + b.h);
            root.draw(&Rectangle::new([(x0, y0), (x1, y1)], b.fill.filled()))
                .map_err(plot_err)?;
            root.draw(&Rectangle::new(
                [(x0, y0), (x1, y1)],
                BLACK.stroke_width(1),
            ))
            .map_err(plot_err)?;
            text(&b.label, (b.x, b.y + b.h / 2), 14)
        };
        // The two stacks, each repeated n_layers times.
        for (x, top, bottom) in [(xe, 262, 500), (xd, 142, 500)] {
            root.draw(&Rectangle::new(
                [(x - 125, top), (x + 125, bottom)],
                RGBColor(240, 240, 240).filled(),
            ))
            .map_err(plot_err)?;
            root.draw(&Rectangle::new(
                [(x - 125, top), (x + 125, bottom)],
                BLACK.mix(0.5).stroke_width(1),
            ))
            .map_err(plot_err)?;
        }
        text("n_layers ×", (xe - 163, 380), 15)?;
        text("× n_layers", (xd + 163, 320), 15)?;
        text(&t("Encoder", "Encoder"), (xe - 165, 275), 16)?;
        text(&t("Decoder", "Decoder"), (xd + 165, 155), 16)?;
        // Tokens and positional encoding.
        text(&t("Eingabe-Tokens", "Input tokens"), (xe, 672), 14)?;
        text(
            &t(
                "Ausgabe-Tokens (um eins verschoben)",
                "Output tokens (shifted right)",
            ),
            (xd, 672),
            14,
        )?;
        for (x, e) in [(xe, &e_emb), (xd, &d_emb)] {
            arrow(vec![(x, 660), e.bottom()])?;
            // ⊕ with the positional encoding.
            root.draw(&Circle::new((x, 540), 11, BLACK.stroke_width(2)))
                .map_err(plot_err)?;
            text("+", (x, 539), 20)?;
            arrow(vec![e.top(), (x, 551)])?;
            root.draw(&Circle::new((x - 62, 540), 14, BLACK.stroke_width(1)))
                .map_err(plot_err)?;
            // A small sine wave in the circle stands for the encoding.
            let wave: Vec<(i32, i32)> = (0..=20)
                .map(|k| {
                    let u = f64::from(k) / 20.0;
                    let y = 540.0 - 6.0 * (u * std::f64::consts::TAU).sin();
                    (x - 72 + k, y.round() as i32)
                })
                .collect();
            root.draw(&PathElement::new(wave, BLACK.stroke_width(1)))
                .map_err(plot_err)?;
            arrow(vec![(x - 48, 540), (x - 12, 540)])?;
        }
        text(&t("Positions-", "Positional"), (xe - 62 - 62, 532), 13)?;
        text(&t("kodierung", "encoding"), (xe - 62 - 62, 548), 13)?;
        text(&t("Positions-", "Positional"), (xd - 62 - 62, 532), 13)?;
        text(&t("kodierung", "encoding"), (xd - 62 - 62, 548), 13)?;
        // Inside the stacks: the sublayers and the residual connections.
        // A residual connection: from the sublayer's input, around it on
        // the `side` (−1 left, +1 right), into its Add & Norm.
        let residual =
            |from_y: i32, x: i32, side: i32, to: &Box2| -> Result<()> {
                let edge = x + side * 112;
                root.draw(&Circle::new((x, from_y), 3, BLACK.filled()))
                    .map_err(plot_err)?;
                let end = to.side_mid(side);
                arrow(vec![(x, from_y), (edge, from_y), (edge, end.1), end])
            };
        for b in [&e_emb, &e_mha, &e_an1, &e_ffn, &e_an2] {
            draw_box(b)?;
        }
        arrow(vec![(xe, 529), (xe, 500), e_mha.bottom()])?;
        residual(490, xe, -1, &e_an1)?;
        arrow(vec![e_mha.top(), e_an1.bottom()])?;
        arrow(vec![e_an1.top(), e_ffn.bottom()])?;
        residual(380, xe, -1, &e_an2)?;
        arrow(vec![e_ffn.top(), e_an2.bottom()])?;
        for b in [
            &d_emb, &d_mha, &d_an1, &d_cross, &d_an2, &d_ffn, &d_an3, &lin,
            &soft,
        ] {
            draw_box(b)?;
        }
        // The decoder's residual connections run on the right, so that
        // the encoder's output can enter from the left without crossing.
        arrow(vec![(xd, 529), (xd, 500), d_mha.bottom()])?;
        residual(490, xd, 1, &d_an1)?;
        arrow(vec![d_mha.top(), d_an1.bottom()])?;
        // The queries of cross-attention come from the decoder.
        arrow(vec![
            d_an1.top(),
            (xd, 386),
            (xd + 40, 386),
            (xd + 40, d_cross.bottom().1),
        ])?;
        residual(393, xd, 1, &d_an2)?;
        arrow(vec![d_cross.top(), d_an2.bottom()])?;
        arrow(vec![d_an2.top(), d_ffn.bottom()])?;
        residual(260, xd, 1, &d_an3)?;
        arrow(vec![d_ffn.top(), d_an3.bottom()])?;
        arrow(vec![d_an3.top(), lin.bottom()])?;
        arrow(vec![lin.top(), soft.bottom()])?;
        arrow(vec![soft.top(), (xd, 32)])?;
        text(
            &t("Ausgabewahrscheinlichkeiten", "Output probabilities"),
            (xd, 18),
            14,
        )?;
        // The encoder's output H feeds keys and values of cross-attention.
        arrow(vec![
            e_an2.top(),
            (xe, 240),
            (xd - 160, 240),
            (xd - 160, 372),
            (xd - 40, 372),
            (xd - 40, d_cross.bottom().1),
        ])?;
        text("K, V", (xd - 75, 356), 13)?;
        text("Q", (xd + 52, 374), 13)?;
        text("X_enc", (xe + 24, 232), 14)?;
        Ok(())
    })
}

/// The block size and value width of [`attention_memory`], as in the
/// page's worked count.
const MEMORY_BLOCK: usize = 128;
const MEMORY_D: usize = 64;

/// `2ˣ` bytes as the page's language writes them: `512 KiB`, `32 GiB`.
fn bytes_label(log2: f64, lang: Lang) -> String {
    let e = log2.round() as i32;
    if (log2 - f64::from(e)).abs() > 1e-9 {
        return String::new();
    }
    let (unit, rest) = match e {
        ..10 => ("B", e),
        10..20 => ("KiB", e - 10),
        20..30 => ("MiB", e - 20),
        _ => ("GiB", e - 30),
    };
    format!("{} {unit}", number_trimmed(2f64.powi(rest), 0, lang))
}

/// `2ˣ` with digits grouped by three as the page's language does:
/// `16 384` (narrow space) in German, `16,384` in English.
fn power_of_two_label(log2: f64, lang: Lang) -> String {
    let e = log2.round() as i32;
    if (log2 - f64::from(e)).abs() > 1e-9 {
        return String::new();
    }
    let digits = (1u64 << e).to_string();
    let sep = lang.pick("\u{202f}", ",");
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push_str(sep);
        }
        out.push(ch);
    }
    out
}

/// Peak memory of attention in f32 against n, without and with blocks,
/// formulas (2.25), (2.26): the bytes of the matrices each holds beyond its
/// arguments and output (`working_set`), and those of `Q`, `K`, `V`, `O`.
/// Both axes in powers of two.
fn attention_memory(lang: Lang) -> Result<String> {
    let exps: Vec<u32> = (8..=16).collect();
    let log2 = |bytes: usize| (bytes as f64).log2();
    let (mut unfused, mut fused, mut args) = (vec![], vec![], vec![]);
    for &e in &exps {
        let n = 1usize << e;
        let w = working_set::<f32>(n, n, MEMORY_D, MEMORY_BLOCK);
        let x = f64::from(e);
        unfused.push((x, log2(w.unfused)));
        fused.push((x, log2(w.fused)));
        args.push((x, log2(4 * n * MEMORY_D * std::mem::size_of::<f32>())));
    }
    render(SIZE, |root| {
        let mut chart = chart(root, 84, 7.8f64..16.2, 15.5f64..36.5)?;
        mesh(
            &mut chart,
            Scale::Full,
            lang.pick("Länge n der Folge", "sequence length n"),
            lang.pick("Spitzenspeicher", "peak memory"),
        )
        .x_labels(9)
        .y_labels(11)
        .x_label_formatter(&|x| power_of_two_label(*x, lang))
        .y_label_formatter(&|y| bytes_label(*y, lang))
        .draw()
        .map_err(plot_err)?;
        chart
            .draw_series(DashedLineSeries::new(
                args.clone(),
                6,
                4,
                BLACK.mix(0.5).stroke_width(1),
            ))
            .map_err(plot_err)?
            .label(lang.pick("Q, K, V und O", "Q, K, V and O"))
            .legend(dash_key(BLACK.mix(0.5)));
        let series = [
            (
                lang.pick("ohne Blöcke: S und P", "unblocked: S and P"),
                &unfused,
                PALETTE[1],
            ),
            (
                lang.pick("in Blöcken von b = 128", "in blocks of b = 128"),
                &fused,
                PALETTE[0],
            ),
        ];
        for (label, points, color) in series {
            line_with_dots(&mut chart, points, color, label)?;
        }
        legend(&mut chart, Scale::Full, SeriesLabelPosition::UpperLeft)
    })
}
