//! How far each function of chapter 2 is from PyTorch, in float64 and in
//! float32, shared by `tests/deviations.rs` (which checks the deviations
//! against named tolerances) and the book's build (`xtask`, which shows
//! them as the table `{{#table ch02.deviations}}` on the page „Gradienten
//! rückwärts“ / "Gradients backward"). Both include this file with
//! `#[path]`; it reads `deviations.json`, written by `deviations.py`.
//!
//! The listings run in `f64` and in `f32` on the same inputs as PyTorch
//! (inputs rounded to float32 so that both precisions start from the same
//! numbers), and every result is compared with PyTorch's result in the
//! same precision.

use ch02_transformer::attention::{attention, attention_backward};
use ch02_transformer::block::{EncoderBlock, NormPosition};
use ch02_transformer::encoder_decoder::DecoderBlock;
use ch02_transformer::ffn::{Activation, FeedForward};
use ch02_transformer::layer_norm::{LayerNorm, PYTORCH_EPS};
use ch02_transformer::linear::{Linear, LinearGrads};
use ch02_transformer::multihead::{MultiHeadAttention, MultiHeadGrads};
use ch02_transformer::{Real, lit};
use nalgebra::DMatrix;
use serde_json::Value;
use testing::{json, matrix, max_abs_diff, row, vector};

/// One row of the table: the largest absolute and relative deviation of
/// a function (over all its results), in `f64` against PyTorch's
/// `float64`, in `f32` against PyTorch's `float32`, and in `f32` against
/// PyTorch's `float64`; with the result where each relative one occurs.
#[derive(Clone, Debug)]
pub struct Row {
    /// The function, as named in the test's output.
    pub name: &'static str,
    pub f64_abs: f64,
    pub f64_rel: f64,
    pub f64_where: String,
    pub f32_abs: f64,
    pub f32_rel: f64,
    pub f32_where: String,
    pub f32_exact_abs: f64,
    pub f32_exact_rel: f64,
    pub f32_exact_where: String,
}

/// The deviations of every function of chapter 2, in the order of the
/// book's table.
pub fn table() -> Vec<Row> {
    let f64_rows = results::<f64>("float64");
    let f32_rows = results::<f32>("float32");
    // Our f32 against PyTorch's f64: how far f32 is from the (nearly)
    // exact result at all, for scale.
    let f32_exact_rows = results::<f32>("float64");
    f64_rows
        .iter()
        .zip(&f32_rows)
        .zip(&f32_exact_rows)
        .map(|(((name, p64), (_, p32)), (_, px))| {
            let (a64, r64, w64) = deviation(p64);
            let (a32, r32, w32) = deviation(p32);
            let (ax, rx, wx) = deviation(px);
            Row {
                name,
                f64_abs: a64,
                f64_rel: r64,
                f64_where: w64,
                f32_abs: a32,
                f32_rel: r32,
                f32_where: w32,
                f32_exact_abs: ax,
                f32_exact_rel: rx,
                f32_exact_where: wx,
            }
        })
        .collect()
}

fn mat<T: Real>(v: &Value) -> DMatrix<T> {
    matrix(v).map(lit)
}

/// A list as a row (a bias, `γ`, `β`).
fn vec<T: Real>(v: &Value) -> DMatrix<T> {
    row(v).map(lit)
}

/// Back to f64 for the comparison (exact for f32).
fn f64_of<T: Real>(m: &DMatrix<T>) -> DMatrix<f64> {
    m.map(|x| x.into())
}

fn col<T: Real>(v: &DMatrix<T>) -> DMatrix<f64> {
    DMatrix::from_iterator(v.len(), 1, v.iter().map(|&x| x.into()))
}

fn linear<T: Real>(v: &Value) -> Linear<T> {
    Linear::new(mat(&v["w"]), vec(&v["b"])).unwrap()
}

fn mha<T: Real>(v: &Value, n_heads: usize) -> MultiHeadAttention<T> {
    let l = |name: &str| linear(&v[name]);
    MultiHeadAttention::new(n_heads, l("w_q"), l("w_k"), l("w_v"), l("w_o"))
        .unwrap()
}

fn layer_norm<T: Real>(v: &Value) -> LayerNorm<T> {
    let eps = lit(PYTORCH_EPS);
    LayerNorm::new(vec(&v["gamma"]), vec(&v["beta"]), eps).unwrap()
}

fn ffn<T: Real>(v: &Value) -> FeedForward<T> {
    FeedForward::new(linear(&v["lin1"]), linear(&v["lin2"]), Activation::Relu)
        .unwrap()
}

fn position(c: &Value) -> NormPosition {
    if c["norm_first"].as_bool().unwrap() {
        NormPosition::Pre
    } else {
        NormPosition::Post
    }
}

/// Named results of one function: ours and PyTorch's, both as f64.
pub type Pairs = Vec<(String, DMatrix<f64>, DMatrix<f64>)>;

/// Adds the gradients of a linear layer, named `name.w` and `name.b`.
fn linear_pairs<T: Real>(
    out: &mut Pairs,
    name: &str,
    ours: &LinearGrads<T>,
    torch: &Value,
) {
    out.push((format!("{name}.w"), f64_of(&ours.d_w), matrix(&torch["w"])));
    let b = DMatrix::from_column_slice(
        ours.d_b.len(),
        1,
        vector(&torch["b"]).as_slice(),
    );
    out.push((format!("{name}.b"), col(&ours.d_b), b));
}

fn mha_pairs<T: Real>(
    out: &mut Pairs,
    prefix: &str,
    g: &MultiHeadGrads<T>,
    t: &Value,
) {
    linear_pairs(out, &format!("{prefix}w_q"), &g.w_q, &t["w_q"]);
    linear_pairs(out, &format!("{prefix}w_k"), &g.w_k, &t["w_k"]);
    linear_pairs(out, &format!("{prefix}w_v"), &g.w_v, &t["w_v"]);
    linear_pairs(out, &format!("{prefix}w_o"), &g.w_o, &t["w_o"]);
}

fn vector_pair(out: &mut Pairs, name: &str, ours: DMatrix<f64>, torch: &Value) {
    let t = vector(torch);
    out.push((
        name.into(),
        ours,
        DMatrix::from_column_slice(t.len(), 1, t.as_slice()),
    ));
}

/// Forward results and gradients of every function in precision `T`,
/// each with PyTorch's result in the same precision (`dtype`).
pub fn results<T: Real>(dtype: &str) -> Vec<(&'static str, Pairs)> {
    let r = json(include_str!("deviations.json"));
    let mut rows: Vec<(&'static str, Pairs)> = Vec::new();
    let out = |ours: &DMatrix<T>, t: &Value| -> Pairs {
        vec![("output".into(), f64_of(ours), matrix(&t["output"]))]
    };

    // Attention (2.4) with a causal mask, and its backward pass (2.20).
    let c = &r["attention"];
    let t = &c[dtype];
    let (q, k, v) = (mat::<T>(&c["q"]), mat::<T>(&c["k"]), mat::<T>(&c["v"]));
    let mask = mat::<T>(&c["mask"]);
    let fwd = attention(&q, &k, &v, Some(&mask)).unwrap();
    rows.push(("attention", out(&fwd.output, t)));
    let g = attention_backward(&q, &k, &v, &fwd, &mat(&c["g"])).unwrap();
    let tg = &t["grads"];
    rows.push((
        "attention backward",
        vec![
            ("d_q".into(), f64_of(&g.d_q), matrix(&tg["d_q"])),
            ("d_k".into(), f64_of(&g.d_k), matrix(&tg["d_k"])),
            ("d_v".into(), f64_of(&g.d_v), matrix(&tg["d_v"])),
        ],
    ));

    // Multi-head self-attention (2.7), (2.8) and its backward pass.
    let c = &r["multihead"];
    let t = &c[dtype];
    let m = mha::<T>(&c["params"], c["n_heads"].as_u64().unwrap() as usize);
    let x = mat::<T>(&c["x"]);
    let fwd = m.forward(&x, &x, None).unwrap();
    rows.push(("multi-head attention", out(&fwd.output, t)));
    let g = m.backward(&x, &x, &fwd, &mat(&c["g"])).unwrap();
    let mut pairs: Pairs = vec![(
        "d_x".into(),
        f64_of(&(&g.d_x_q + &g.d_x_kv)),
        matrix(&t["grads"]["d_x"]),
    )];
    mha_pairs(&mut pairs, "", &g, &t["grads"]["params"]);
    rows.push(("multi-head attention backward", pairs));

    // Feed-forward network (2.9) and its backward pass (2.22).
    let c = &r["ffn"];
    let t = &c[dtype];
    let f = ffn::<T>(c);
    let x = mat::<T>(&c["x"]);
    let fwd = f.forward(&x).unwrap();
    rows.push(("FFN (ReLU)", out(&fwd.output, t)));
    let g = f.backward(&x, &fwd, &mat(&c["g"])).unwrap();
    let tg = &t["grads"];
    let mut pairs: Pairs =
        vec![("d_x".into(), f64_of(&g.d_x), matrix(&tg["d_x"]))];
    pairs.push(("d_w1".into(), f64_of(&g.lin1.d_w), matrix(&tg["d_w1"])));
    vector_pair(&mut pairs, "d_b1", col(&g.lin1.d_b), &tg["d_b1"]);
    pairs.push(("d_w2".into(), f64_of(&g.lin2.d_w), matrix(&tg["d_w2"])));
    vector_pair(&mut pairs, "d_b2", col(&g.lin2.d_b), &tg["d_b2"]);
    rows.push(("FFN backward", pairs));

    // Layer normalization (2.11) and its backward pass (2.21).
    let c = &r["layer_norm"];
    let t = &c[dtype];
    let ln = layer_norm::<T>(c);
    let x = mat::<T>(&c["x"]);
    let fwd = ln.forward(&x).unwrap();
    rows.push(("layer norm", out(&fwd.output, t)));
    let g = ln.backward(&fwd, &mat(&c["g"])).unwrap();
    let tg = &t["grads"];
    let mut pairs: Pairs =
        vec![("d_x".into(), f64_of(&g.d_x), matrix(&tg["d_x"]))];
    vector_pair(&mut pairs, "d_gamma", col(&g.d_gamma), &tg["d_gamma"]);
    vector_pair(&mut pairs, "d_beta", col(&g.d_beta), &tg["d_beta"]);
    rows.push(("layer norm backward", pairs));

    // Encoder blocks, post-LN and pre-LN, and their backward passes.
    for (key, name, back) in [
        (
            "block_post_ln",
            "encoder block post-LN",
            "encoder block post-LN backward",
        ),
        (
            "block_pre_ln",
            "encoder block pre-LN",
            "encoder block pre-LN backward",
        ),
    ] {
        let c = &r[key];
        let t = &c[dtype];
        let p = &c["params"];
        let n_heads = c["n_heads"].as_u64().unwrap() as usize;
        let block = EncoderBlock::new(
            mha::<T>(&p["attention"], n_heads),
            layer_norm(&p["norm1"]),
            ffn(&p["ffn"]),
            layer_norm(&p["norm2"]),
            position(c),
        )
        .unwrap();
        let fwd = block.forward(&mat(&c["x"]), None).unwrap();
        rows.push((name, out(&fwd.output, t)));
        let g = block.backward(&fwd, &mat(&c["g"])).unwrap();
        let tg = &t["grads"];
        let mut pairs: Pairs =
            vec![("d_x".into(), f64_of(&g.d_x), matrix(&tg["d_x"]))];
        mha_pairs(&mut pairs, "attention.", &g.attention, &tg["attention"]);
        for (n, ours, torch) in [
            ("norm1", &g.norm1, &tg["norm1"]),
            ("norm2", &g.norm2, &tg["norm2"]),
        ] {
            let gamma = format!("{n}.gamma");
            vector_pair(
                &mut pairs,
                &gamma,
                col(&ours.d_gamma),
                &torch["gamma"],
            );
            let beta = format!("{n}.beta");
            vector_pair(&mut pairs, &beta, col(&ours.d_beta), &torch["beta"]);
        }
        linear_pairs(&mut pairs, "ffn.lin1", &g.ffn.lin1, &tg["ffn"]["lin1"]);
        linear_pairs(&mut pairs, "ffn.lin2", &g.ffn.lin2, &tg["ffn"]["lin2"]);
        rows.push((back, pairs));
    }

    // Decoder layers (2.16), post-LN and pre-LN (forward only: the book
    // derives no backward pass for the decoder).
    for (key, name) in [
        ("decoder_post_ln", "decoder layer post-LN"),
        ("decoder_pre_ln", "decoder layer pre-LN"),
    ] {
        let c = &r[key];
        let p = &c["params"];
        let n_heads = c["n_heads"].as_u64().unwrap() as usize;
        let block = DecoderBlock::<T> {
            self_attention: mha(&p["attention"], n_heads),
            norm1: layer_norm(&p["norm1"]),
            cross_attention: mha(&p["cross_attention"], n_heads),
            norm2: layer_norm(&p["norm2"]),
            ffn: ffn(&p["ffn"]),
            norm3: layer_norm(&p["norm3"]),
            norm_position: position(c),
        };
        let fwd = block
            .forward(&mat(&c["y"]), &mat(&c["memory"]), None)
            .unwrap();
        rows.push((name, out(&fwd.output, &c[dtype])));
    }
    rows
}

/// The largest absolute and relative deviation over all results of one
/// function, and the name of the result where the relative one occurs.
pub fn deviation(pairs: &Pairs) -> (f64, f64, String) {
    let mut worst = (0.0_f64, 0.0_f64, String::new());
    for (name, ours, torch) in pairs {
        assert_eq!(ours.shape(), torch.shape(), "{name}: shapes differ");
        let abs = max_abs_diff(ours, torch);
        worst.0 = worst.0.max(abs);
        // ∂L/∂b_K is exactly 0: b_K adds q·b_K to every score of a row,
        // and the softmax ignores a constant added to a row. Both sides
        // give rounding noise there (≈ 1e-16), which has no scale to be
        // relative to; it counts for the absolute deviation only.
        if name.ends_with("w_k.b") {
            continue;
        }
        let rel = abs / torch.amax();
        if rel >= worst.1 {
            worst.1 = rel;
            worst.2 = name.clone();
        }
    }
    worst
}
