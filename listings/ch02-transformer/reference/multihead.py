"""Reference values for multi-head attention, computed by PyTorch's
nn.MultiheadAttention in float64.

Run from the repository root:

    python3 listings/ch02-transformer/reference/multihead.py

It rewrites multihead.json; listings/ch02-transformer/tests/multihead.rs
compares against it. How the book's W_Q, W_K, W_V, W_O (shape
(d_model, d_model), y = x W + b) map onto in_proj_weight and out_proj is
explained in common.py (set_mha).
"""

import numpy as np
import torch

from common import causal, mha_json, mha_params, rows, set_mha, write

RNG = np.random.default_rng(20240603)


def run(p, d_model, n_heads, x_q, x_kv, mask):
    mha = torch.nn.MultiheadAttention(
        d_model, n_heads, bias=True, batch_first=True, dropout=0.0
    )
    set_mha(mha, p)
    mha.eval()
    out, weights = mha(
        torch.tensor(x_q)[None],
        torch.tensor(x_kv)[None],
        torch.tensor(x_kv)[None],
        attn_mask=None if mask is None else torch.tensor(mask),
        need_weights=True,
        average_attn_weights=False,
    )
    return out[0], weights[0]


def main() -> None:
    cases = []
    for name, d_model, n_heads, n_q, n_k, masked, cross in [
        ("self_d8_h2", 8, 2, 5, 5, False, False),
        ("self_causal_d8_h4", 8, 4, 5, 5, True, False),
        ("cross_d6_h3", 6, 3, 3, 4, False, True),
        ("one_head_d4", 4, 1, 3, 3, False, False),
    ]:
        p = mha_params(RNG, d_model)
        x_q = RNG.normal(size=(n_q, d_model))
        x_kv = RNG.normal(size=(n_k, d_model)) if cross else x_q
        mask = causal(n_q) if masked else None
        out, weights = run(p, d_model, n_heads, x_q, x_kv, mask)
        cases.append(
            {
                "name": name,
                "n_heads": n_heads,
                "params": mha_json(p),
                "x_q": rows(x_q),
                "x_kv": rows(x_kv),
                "mask": None if mask is None else rows(mask),
                "weights": [rows(w) for w in weights],
                "output": rows(out),
            }
        )
    write(__file__, {"source": "torch.nn.MultiheadAttention,", "cases": cases})


if __name__ == "__main__":
    main()
