//! Checkpoints in the safetensors format: every parameter as a named
//! `F32` tensor in row-major order, the sizes and the vocabulary as
//! metadata, so that the weights open in PyTorch (`safetensors.torch`)
//! and other tools.
//!
//! Book: section „Das Programm“ / "The program" of chapter 4.

use std::collections::HashMap;
use std::path::Path;

use nalgebra::DMatrix;
use notation::{ParamsExt, Real, lit};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::corpus::Vocab;
use crate::error::LmError;
use crate::model::{Config, Model};

/// The value of the metadata key `format`; a file without it is not one
/// of ours.
pub const FORMAT: &str = "genai-book/ch04-language-model/1";

fn err(path: &Path, reason: impl Into<String>) -> LmError {
    LmError::Checkpoint {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

/// Writes `model` and `vocab` to `path` (the parent folder is created).
///
/// # Errors
/// The vocabulary does not have the model's `V` characters, or the file
/// cannot be written.
pub fn save<T: Real>(
    path: &Path,
    model: &Model<T>,
    vocab: &Vocab,
) -> Result<(), LmError> {
    let c = model.config;
    if vocab.len() != c.vocab_size {
        return Err(err(
            path,
            format!(
                "the vocabulary has {} characters, the model V = {}",
                vocab.len(),
                c.vocab_size
            ),
        ));
    }
    let params = model.named_params();
    // safetensors stores row-major bytes; nalgebra stores columns, so the
    // matrix is read row by row here.
    let bytes: Vec<Vec<u8>> = params
        .iter()
        .map(|(_, m)| {
            let mut b = Vec::with_capacity(4 * m.len());
            for r in 0..m.nrows() {
                for x in m.row(r).iter() {
                    let x: f64 = (*x).into();
                    b.extend((x as f32).to_le_bytes());
                }
            }
            b
        })
        .collect();
    let mut tensors = Vec::with_capacity(params.len());
    for ((name, m), b) in params.iter().zip(&bytes) {
        // Vectors are stored as vectors, matrices as matrices.
        let shape = if m.nrows() == 1 && name != "tok_emb" {
            vec![m.ncols()]
        } else {
            vec![m.nrows(), m.ncols()]
        };
        let view = TensorView::new(Dtype::F32, shape, b)
            .map_err(|e| err(path, e.to_string()))?;
        tensors.push((name.clone(), view));
    }
    let chars: String = vocab.chars().iter().collect();
    let metadata: HashMap<String, String> = [
        ("format", FORMAT.to_string()),
        ("vocab", serde_json::to_string(&chars).expect("a string")),
        ("context", c.context.to_string()),
        ("d_model", c.d_model.to_string()),
        ("n_heads", c.n_heads.to_string()),
        ("n_layers", c.n_layers.to_string()),
        ("d_ff", c.d_ff.to_string()),
        ("activation", "gelu_tanh".into()),
        ("norm_position", "pre".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let data = safetensors::serialize(tensors, Some(metadata))
        .map_err(|e| err(path, e.to_string()))?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| LmError::Io {
            path: parent.display().to_string(),
            source,
        })?;
    }
    std::fs::write(path, data).map_err(|source| LmError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Reads a model and its vocabulary from `path`.
///
/// # Errors
/// The file is missing or not a safetensors file of this program; a
/// size in the metadata is missing or invalid; a tensor is missing, not
/// `F32`, or has another shape than the sizes say.
pub fn load<T: Real>(path: &Path) -> Result<(Model<T>, Vocab), LmError> {
    let data = std::fs::read(path).map_err(|e| {
        err(
            path,
            format!("cannot be read ({e}); train a model first with `train`"),
        )
    })?;
    let (_, header) = SafeTensors::read_metadata(&data)
        .map_err(|e| err(path, format!("not a safetensors file: {e}")))?;
    let meta = header.metadata().clone().unwrap_or_default();
    if meta.get("format").map(String::as_str) != Some(FORMAT) {
        return Err(err(
            path,
            format!(
                "metadata `format` is {:?}, expected {FORMAT:?}",
                meta.get("format")
            ),
        ));
    }
    let size = |key: &str| -> Result<usize, LmError> {
        meta.get(key)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| err(path, format!("metadata `{key}` missing")))
    };
    let chars: String = meta
        .get("vocab")
        .and_then(|v| serde_json::from_str(v).ok())
        .ok_or_else(|| err(path, "metadata `vocab` missing"))?;
    let vocab = Vocab::from_chars(chars.chars().collect())
        .map_err(|e| err(path, e.to_string()))?;
    let config = Config {
        vocab_size: vocab.len(),
        context: size("context")?,
        d_model: size("d_model")?,
        n_heads: size("n_heads")?,
        n_layers: size("n_layers")?,
        d_ff: size("d_ff")?,
    };
    config.check().map_err(|e| err(path, e.to_string()))?;
    let st = SafeTensors::deserialize(&data)
        .map_err(|e| err(path, format!("not a safetensors file: {e}")))?;
    // The architecture names every tensor and fixes its shape.
    let mut model =
        Model::blank(config).map_err(|e| err(path, e.to_string()))?;
    for (name, p) in model.named_params_mut() {
        let (r, k) = p.shape();
        let t = st.tensor(&name).map_err(|_| {
            err(path, format!("tensor `{name}` missing for this config"))
        })?;
        if t.dtype() != Dtype::F32 {
            return Err(err(
                path,
                format!("tensor `{name}` is {:?}, expected F32", t.dtype()),
            ));
        }
        let n: usize = t.shape().iter().product();
        if n != r * k || t.shape().len() > 2 {
            return Err(err(
                path,
                format!(
                    "tensor `{name}` has shape {:?}, but the metadata \
                     (V = {}, d_model = {}, d_ff = {}) need ({r}, {k})",
                    t.shape(),
                    config.vocab_size,
                    config.d_model,
                    config.d_ff
                ),
            ));
        }
        let values: Vec<T> = t
            .data()
            .chunks_exact(4)
            .map(|b| {
                let x = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                lit::<T>(f64::from(x))
            })
            .collect();
        *p = DMatrix::from_row_slice(r, k, &values);
    }
    Ok((model, vocab))
}
