"""Reference gradients for the backward passes of chapter 2, computed by
torch.autograd in float64.

Run from the repository root:

    python3 listings/ch02-transformer/reference/gradients.py

It rewrites gradients.json; listings/ch02-transformer/tests/backward.rs
compares against it. Every case uses the scalar loss

    L = sum(G * Y),

with Y the output of the layer and G a fixed random matrix of Y's shape,
so that dL/dY = G: the gradients below are the backward pass applied to G.

Gradients of weights are reported in the book's convention (W of shape
(in, out)); PyTorch's weight is W^T, so its gradient is transposed back.
For nn.MultiheadAttention the gradient of in_proj_weight (3d, d) is split
into its three row blocks and each is transposed: dW_Q, dW_K, dW_V.
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
    to_json,
    write,
)

RNG = np.random.default_rng(20240607)


def leaf(a):
    return torch.tensor(a, requires_grad=True)


def attention_case():
    n_q, n_k, d_k, d_v = 4, 4, 3, 2
    q, k, v = (leaf(RNG.normal(size=s)) for s in [(n_q, d_k), (n_k, d_k), (n_k, d_v)])
    mask = causal(4)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=torch.tensor(mask))
    g = RNG.normal(size=out.shape)
    (out * torch.tensor(g)).sum().backward()
    return {
        "q": rows(q), "k": rows(k), "v": rows(v), "mask": rows(mask), "g": rows(g),
        "d_q": rows(q.grad), "d_k": rows(k.grad), "d_v": rows(v.grad),
    }


def layer_norm_case():
    n, d = 3, 5
    x = leaf(RNG.normal(size=(n, d)) * 2.0 + 0.5)
    gamma, beta = leaf(1.0 + 0.3 * RNG.normal(size=d)), leaf(0.2 * RNG.normal(size=d))
    y = F.layer_norm(x, (d,), gamma, beta, eps=1e-5)
    g = RNG.normal(size=y.shape)
    (y * torch.tensor(g)).sum().backward()
    return {
        "x": rows(x), "gamma": rows(gamma), "beta": rows(beta), "g": rows(g),
        "d_x": rows(x.grad), "d_gamma": rows(gamma.grad), "d_beta": rows(beta.grad),
    }


def ffn_case(approximate):
    n, d, d_ff = 4, 3, 6
    w1, b1 = linear_params(RNG, d, d_ff)
    w2, b2 = linear_params(RNG, d_ff, d)
    lin1, lin2 = torch.nn.Linear(d, d_ff), torch.nn.Linear(d_ff, d)
    set_linear(lin1, w1, b1)
    set_linear(lin2, w2, b2)
    x = leaf(RNG.normal(size=(n, d)))
    h = lin1(x)
    a = F.relu(h) if approximate is None else F.gelu(h, approximate=approximate)
    y = lin2(a)
    g = RNG.normal(size=y.shape)
    (y * torch.tensor(g)).sum().backward()
    return {
        "lin1": {"w": rows(w1), "b": rows(b1)},
        "lin2": {"w": rows(w2), "b": rows(b2)},
        "x": rows(x), "g": rows(g), "d_x": rows(x.grad),
        "d_w1": rows(lin1.weight.grad.T), "d_b1": rows(lin1.bias.grad),
        "d_w2": rows(lin2.weight.grad.T), "d_b2": rows(lin2.bias.grad),
    }


def mha_grads(mha):
    d = mha.embed_dim
    w, b = mha.in_proj_weight.grad, mha.in_proj_bias.grad
    out = {}
    for i, name in enumerate(("w_q", "w_k", "w_v")):
        out[name] = {"w": rows(w[i * d:(i + 1) * d].T), "b": rows(b[i * d:(i + 1) * d])}
    out["w_o"] = {"w": rows(mha.out_proj.weight.grad.T), "b": rows(mha.out_proj.bias.grad)}
    return out


def mha_case():
    n, d, h = 4, 6, 3
    p = mha_params(RNG, d)
    mha = torch.nn.MultiheadAttention(d, h, bias=True, batch_first=True)
    set_mha(mha, p)
    x = leaf(RNG.normal(size=(n, d)))
    mask = causal(n)
    y, _ = mha(x[None], x[None], x[None], attn_mask=torch.tensor(mask), need_weights=False)
    y = y[0]
    g = RNG.normal(size=y.shape)
    (y * torch.tensor(g)).sum().backward()
    return {
        "n_heads": h, "params": to_json(p), "x": rows(x), "mask": rows(mask),
        "g": rows(g), "d_x": rows(x.grad), "d_params": mha_grads(mha),
    }


def block_case(norm_first):
    n, d, h, d_ff = 4, 6, 2, 12
    p = block_params(RNG, d, d_ff)
    layer = torch.nn.TransformerEncoderLayer(
        d, h, dim_feedforward=d_ff, dropout=0.0, activation="relu",
        batch_first=True, norm_first=norm_first, layer_norm_eps=1e-5,
    )
    set_encoder_layer(layer, p)
    x = leaf(RNG.normal(size=(n, d)))
    y = layer(x[None])[0]
    g = RNG.normal(size=y.shape)
    (y * torch.tensor(g)).sum().backward()
    d_params = {
        "attention": mha_grads(layer.self_attn),
        "norm1": {"gamma": rows(layer.norm1.weight.grad), "beta": rows(layer.norm1.bias.grad)},
        "norm2": {"gamma": rows(layer.norm2.weight.grad), "beta": rows(layer.norm2.bias.grad)},
        "ffn": {
            "lin1": {"w": rows(layer.linear1.weight.grad.T), "b": rows(layer.linear1.bias.grad)},
            "lin2": {"w": rows(layer.linear2.weight.grad.T), "b": rows(layer.linear2.bias.grad)},
        },
    }
    return {
        "norm_first": norm_first, "n_heads": h, "params": to_json(p),
        "x": rows(x), "g": rows(g), "output": rows(y), "d_x": rows(x.grad),
        "d_params": d_params,
    }


def main() -> None:
    write(
        __file__,
        {
            "source": "torch.autograd of L = sum(G * Y),",
            "attention": attention_case(),
            "layer_norm": layer_norm_case(),
            "ffn_relu": ffn_case(None),
            "ffn_gelu_tanh": ffn_case("tanh"),
            "multihead": mha_case(),
            "block_post_ln": block_case(False),
            "block_pre_ln": block_case(True),
        },
    )


if __name__ == "__main__":
    main()
