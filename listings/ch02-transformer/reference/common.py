"""What the reference scripts of chapter 2 share.

The book's convention is y = x W + b with W of shape (in, out). PyTorch's
nn.Linear stores its weight as (out, in) and computes x W_torch^T + b, so
W_torch = W_book^T: every weight below is generated in the book's
convention, written to the JSON as is, and handed to PyTorch transposed.
"""

import json
import pathlib

import numpy as np
import torch

torch.set_default_dtype(torch.float64)


def rows(t):
    """A tensor or array as a list of rows; infinities become strings."""
    if isinstance(t, torch.Tensor):
        t = t.detach().numpy()
    t = np.asarray(t, dtype=np.float64)
    if t.ndim == 1:
        return [x if np.isfinite(x) else str(x) for x in t.tolist()]
    return [rows(r) for r in t]


def linear_params(rng, d_in, d_out):
    """W (d_in, d_out) and b (d_out,) in the book's convention, scaled like
    PyTorch's default initialisation (uniform, bound 1/sqrt(d_in)) but
    drawn from the seeded NumPy generator."""
    bound = 1.0 / np.sqrt(d_in)
    w = rng.uniform(-bound, bound, size=(d_in, d_out))
    b = rng.uniform(-bound, bound, size=(d_out,))
    return w, b


def set_linear(layer, w, b):
    """Puts the book's (W, b) into an nn.Linear: weight = W^T."""
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(w.T))
        layer.bias.copy_(torch.tensor(b))


def mha_params(rng, d_model):
    """W_Q, W_K, W_V, W_O with their biases, each W (d_model, d_model)."""
    return {
        name: dict(zip(("w", "b"), linear_params(rng, d_model, d_model)))
        for name in ("w_q", "w_k", "w_v", "w_o")
    }


def set_mha(mha, p):
    """Puts the book's weights into an nn.MultiheadAttention.

    in_proj_weight has shape (3 d_model, d_model) and holds the rows
    [W_Q^T; W_K^T; W_V^T]: PyTorch computes q = x in_proj_weight[:d]^T + b,
    which is x W_Q + b_Q. in_proj_bias is [b_Q; b_K; b_V]. out_proj is an
    nn.Linear with weight W_O^T. PyTorch then splits q into heads by
    columns, head i taking columns i*d_k .. (i+1)*d_k, as the book does.
    """
    with torch.no_grad():
        mha.in_proj_weight.copy_(
            torch.tensor(np.concatenate([p[n]["w"].T for n in ("w_q", "w_k", "w_v")]))
        )
        mha.in_proj_bias.copy_(
            torch.tensor(np.concatenate([p[n]["b"] for n in ("w_q", "w_k", "w_v")]))
        )
    set_linear(mha.out_proj, p["w_o"]["w"], p["w_o"]["b"])


def mha_json(p):
    return {n: {"w": rows(p[n]["w"]), "b": rows(p[n]["b"])} for n in p}


def causal(n):
    return np.triu(np.full((n, n), float("-inf")), k=1)


def write(script, data):
    """Writes data as JSON next to the script, named like it."""
    data["source"] = data.get("source", "") + " float64, torch " + torch.__version__
    path = pathlib.Path(script).with_suffix(".json")
    path.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {path}")


def block_params(rng, d_model, d_ff):
    """The parameters of one encoder block in the book's convention."""
    w1, b1 = linear_params(rng, d_model, d_ff)
    w2, b2 = linear_params(rng, d_ff, d_model)
    # gamma and beta away from 1 and 0, so that a swapped gamma shows.
    return {
        "attention": mha_params(rng, d_model),
        "norm1": {"gamma": 1.0 + 0.2 * rng.normal(size=d_model), "beta": 0.1 * rng.normal(size=d_model)},
        "ffn": {"lin1": {"w": w1, "b": b1}, "lin2": {"w": w2, "b": b2}},
        "norm2": {"gamma": 1.0 + 0.2 * rng.normal(size=d_model), "beta": 0.1 * rng.normal(size=d_model)},
    }


def set_norm(ln, p):
    with torch.no_grad():
        ln.weight.copy_(torch.tensor(p["gamma"]))
        ln.bias.copy_(torch.tensor(p["beta"]))


def set_encoder_layer(layer, p):
    """Puts the book's block parameters into an nn.TransformerEncoderLayer."""
    set_mha(layer.self_attn, p["attention"])
    set_norm(layer.norm1, p["norm1"])
    set_norm(layer.norm2, p["norm2"])
    set_linear(layer.linear1, p["ffn"]["lin1"]["w"], p["ffn"]["lin1"]["b"])
    set_linear(layer.linear2, p["ffn"]["lin2"]["w"], p["ffn"]["lin2"]["b"])


def to_json(p):
    """Nested parameters as JSON (arrays as rows)."""
    if isinstance(p, dict):
        return {k: to_json(v) for k, v in p.items()}
    return rows(p)
