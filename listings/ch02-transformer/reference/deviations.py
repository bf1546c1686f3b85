"""Reference values in float64 AND float32 for every function of chapter 2,
so that the tests can state how far the listings are from PyTorch in each
precision.

Run from the repository root:

    python3 listings/ch02-transformer/reference/deviations.py

It rewrites deviations.json; listings/ch02-transformer/tests/deviations.rs
compares the listings in f64 against the "float64" results and in f32
against the "float32" results, and prints a table of the largest
deviations (cargo test -p ch02-transformer --test deviations --
--nocapture).

Every input and parameter is drawn from a seeded NumPy generator and then
rounded to float32, so that both precisions start from exactly the same
numbers (a float32 value is exact in float64 and in JSON). PyTorch then
runs each function twice, once with float64 and once with float32 tensors
(modules converted with .to(dtype)); the float32 results are written as
the float64 numbers they are exactly.

Each backward pass uses the scalar loss L = sum(G * Y) with a fixed
random G, so the gradients are the backward pass applied to G (as in
gradients.py). The forward passes run with gradients enabled and dropout
0.0, so PyTorch takes its ordinary (not the fused inference) path.
Weights are in the book's convention and mapped as in common.py.
"""

import numpy as np
import torch
import torch.nn.functional as F

from common import (
    block_params,
    causal,
    linear_params,
    mha_params,
    rows,
    set_encoder_layer,
    set_linear,
    set_mha,
    set_norm,
    to_json,
    write,
)

RNG = np.random.default_rng(20240610)
N, N_SRC, D, H, D_FF = 6, 5, 8, 2, 16
DTYPES = {"float64": torch.float64, "float32": torch.float32}


def r32(p):
    """Rounds arrays (also nested in dicts) to float32 values, kept as
    float64 arrays."""
    if isinstance(p, dict):
        return {k: r32(v) for k, v in p.items()}
    if isinstance(p, tuple):
        return tuple(r32(v) for v in p)
    return np.asarray(p, dtype=np.float32).astype(np.float64)


def normal(*shape):
    return r32(RNG.normal(size=shape))


def leaf(a, dtype):
    return torch.tensor(a, dtype=dtype, requires_grad=True)


def mha_grads(mha):
    """Gradients of an nn.MultiheadAttention in the book's convention."""
    d = mha.embed_dim
    w, b = mha.in_proj_weight.grad, mha.in_proj_bias.grad
    out = {}
    for i, name in enumerate(("w_q", "w_k", "w_v")):
        out[name] = {"w": rows(w[i * d:(i + 1) * d].T), "b": rows(b[i * d:(i + 1) * d])}
    out["w_o"] = {"w": rows(mha.out_proj.weight.grad.T), "b": rows(mha.out_proj.bias.grad)}
    return out


def attention_case():
    q, k, v = normal(N, 4), normal(N, 4), normal(N, 3)
    mask = causal(N)
    g = normal(N, 3)
    case = {"q": rows(q), "k": rows(k), "v": rows(v), "mask": rows(mask), "g": rows(g)}
    for name, dt in DTYPES.items():
        tq, tk, tv = leaf(q, dt), leaf(k, dt), leaf(v, dt)
        out = F.scaled_dot_product_attention(tq, tk, tv, attn_mask=torch.tensor(mask, dtype=dt))
        (out * torch.tensor(g, dtype=dt)).sum().backward()
        case[name] = {
            "output": rows(out),
            "grads": {"d_q": rows(tq.grad), "d_k": rows(tk.grad), "d_v": rows(tv.grad)},
        }
    return case


def multihead_case():
    p = r32(mha_params(RNG, D))
    x, g = normal(N, D), normal(N, D)
    case = {"n_heads": H, "params": to_json(p), "x": rows(x), "g": rows(g)}
    for name, dt in DTYPES.items():
        mha = torch.nn.MultiheadAttention(D, H, bias=True, batch_first=True)
        set_mha(mha, p)
        mha = mha.to(dt)
        tx = leaf(x, dt)
        y = mha(tx[None], tx[None], tx[None], need_weights=False)[0][0]
        (y * torch.tensor(g, dtype=dt)).sum().backward()
        case[name] = {
            "output": rows(y),
            "grads": {"d_x": rows(tx.grad), "params": mha_grads(mha)},
        }
    return case


def ffn_case():
    w1, b1 = r32(linear_params(RNG, D, D_FF))
    w2, b2 = r32(linear_params(RNG, D_FF, D))
    x, g = normal(N, D), normal(N, D)
    case = {
        "lin1": {"w": rows(w1), "b": rows(b1)}, "lin2": {"w": rows(w2), "b": rows(b2)},
        "x": rows(x), "g": rows(g),
    }
    for name, dt in DTYPES.items():
        lin1, lin2 = torch.nn.Linear(D, D_FF), torch.nn.Linear(D_FF, D)
        set_linear(lin1, w1, b1)
        set_linear(lin2, w2, b2)
        lin1, lin2 = lin1.to(dt), lin2.to(dt)
        tx = leaf(x, dt)
        y = lin2(F.relu(lin1(tx)))
        (y * torch.tensor(g, dtype=dt)).sum().backward()
        case[name] = {
            "output": rows(y),
            "grads": {
                "d_x": rows(tx.grad),
                "d_w1": rows(lin1.weight.grad.T), "d_b1": rows(lin1.bias.grad),
                "d_w2": rows(lin2.weight.grad.T), "d_b2": rows(lin2.bias.grad),
            },
        }
    return case


def layer_norm_case():
    x = r32(RNG.normal(size=(N, D)) * 2.0 + 0.5)
    gamma, beta = r32(1.0 + 0.3 * RNG.normal(size=D)), r32(0.2 * RNG.normal(size=D))
    g = normal(N, D)
    case = {"x": rows(x), "gamma": rows(gamma), "beta": rows(beta), "g": rows(g)}
    for name, dt in DTYPES.items():
        tx, tg, tb = leaf(x, dt), leaf(gamma, dt), leaf(beta, dt)
        y = F.layer_norm(tx, (D,), tg, tb, eps=1e-5)
        (y * torch.tensor(g, dtype=dt)).sum().backward()
        case[name] = {
            "output": rows(y),
            "grads": {"d_x": rows(tx.grad), "d_gamma": rows(tg.grad), "d_beta": rows(tb.grad)},
        }
    return case


def block_case(norm_first):
    p = r32(block_params(RNG, D, D_FF))
    x, g = normal(N, D), normal(N, D)
    case = {"norm_first": norm_first, "n_heads": H, "params": to_json(p), "x": rows(x), "g": rows(g)}
    for name, dt in DTYPES.items():
        layer = torch.nn.TransformerEncoderLayer(
            D, H, dim_feedforward=D_FF, dropout=0.0, activation="relu",
            batch_first=True, norm_first=norm_first, layer_norm_eps=1e-5,
        )
        set_encoder_layer(layer, p)
        layer = layer.to(dt)
        tx = leaf(x, dt)
        y = layer(tx[None])[0]
        (y * torch.tensor(g, dtype=dt)).sum().backward()
        case[name] = {
            "output": rows(y),
            "grads": {
                "d_x": rows(tx.grad),
                "attention": mha_grads(layer.self_attn),
                "norm1": {"gamma": rows(layer.norm1.weight.grad), "beta": rows(layer.norm1.bias.grad)},
                "norm2": {"gamma": rows(layer.norm2.weight.grad), "beta": rows(layer.norm2.bias.grad)},
                "ffn": {
                    "lin1": {"w": rows(layer.linear1.weight.grad.T), "b": rows(layer.linear1.bias.grad)},
                    "lin2": {"w": rows(layer.linear2.weight.grad.T), "b": rows(layer.linear2.bias.grad)},
                },
            },
        }
    return case


def decoder_case(norm_first):
    p = r32(block_params(RNG, D, D_FF))
    p["cross_attention"] = r32(mha_params(RNG, D))
    p["norm3"] = r32({"gamma": 1.0 + 0.2 * RNG.normal(size=D), "beta": 0.1 * RNG.normal(size=D)})
    y, memory = normal(N, D), normal(N_SRC, D)
    case = {"norm_first": norm_first, "n_heads": H, "params": to_json(p), "y": rows(y), "memory": rows(memory)}
    for name, dt in DTYPES.items():
        layer = torch.nn.TransformerDecoderLayer(
            D, H, dim_feedforward=D_FF, dropout=0.0, activation="relu",
            batch_first=True, norm_first=norm_first, layer_norm_eps=1e-5,
        )
        set_mha(layer.self_attn, p["attention"])
        set_mha(layer.multihead_attn, p["cross_attention"])
        set_norm(layer.norm1, p["norm1"])
        set_norm(layer.norm2, p["norm2"])
        set_norm(layer.norm3, p["norm3"])
        set_linear(layer.linear1, p["ffn"]["lin1"]["w"], p["ffn"]["lin1"]["b"])
        set_linear(layer.linear2, p["ffn"]["lin2"]["w"], p["ffn"]["lin2"]["b"])
        layer = layer.to(dt)
        ty = leaf(y, dt)
        out = layer(
            ty[None], torch.tensor(memory, dtype=dt)[None],
            tgt_mask=torch.tensor(causal(N), dtype=dt),
        )[0]
        case[name] = {"output": rows(out)}
    return case


def main() -> None:
    torch.manual_seed(0)  # only the unused default initialisation draws
    write(
        __file__,
        {
            "source": "PyTorch on the same float32-rounded inputs, in float32 and",
            "attention": attention_case(),
            "multihead": multihead_case(),
            "ffn": ffn_case(),
            "layer_norm": layer_norm_case(),
            "block_post_ln": block_case(False),
            "block_pre_ln": block_case(True),
            "decoder_post_ln": decoder_case(False),
            "decoder_pre_ln": decoder_case(True),
        },
    )


if __name__ == "__main__":
    main()
